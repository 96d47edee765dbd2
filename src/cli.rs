//! The command line (binary only): the clap types, the value parsers, and the
//! resolution of [`ImportArgs`] into what the library takes ([`Import`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use ociimport::fetch::{self, HttpOptions};
use ociimport::naming::default_output;
use ociimport::output::OutputSpec;
use ociimport::spec::ref_name::validate_new_tag;
use ociimport::{ImportOptions, InputSource, Keyring, LayerCompression, Output, read_small_source};

use crate::Failure;

/// The text after `--help`'s options; keep the exit statuses in step with
/// [`Failure::status`].
const EXAMPLES: &str = "\
Examples:
  ociimport stage3-amd64-openrc.tar.xz
      writes ./stage3-amd64-openrc (an OCI layout), tagged latest
  ociimport -o ./alpine -t 3.20 alpine-minirootfs-3.20.0-x86_64.tar.gz
  ociimport https://example.org/releases/alpine-minirootfs-3.20.0-x86_64.tar.gz
      downloads, decodes, hashes and encodes in one pass into ./alpine-minirootfs-3.20.0-x86_64
      (a dropped connection is resumed; --timeout and --retries tune it)
  ociimport --checksums https://example.org/SHA256SUMS https://example.org/rootfs.tar.xz -o ./img
  curl -sL https://example.org/rootfs.tar.zst | ociimport - -o ./img
  ociimport --compression zstd --created @0 --json rootfs.tar > report.json
  ociimport --index rootfs-amd64.tar.xz rootfs-arm64.tar.xz -o ./img -t 1.0
      one image per platform (detected from the ELF files), tag 1.0 an image index of them;
      a later --index run into the same tag adds or replaces platforms

Subcommands: verify TARGET, inspect TARGET, gc DIR, completions SHELL, man
(an input file named like a subcommand needs ./ in front).

Then:
  podman pull oci:stage3-amd64-openrc:latest
  skopeo copy oci:stage3-amd64-openrc:latest docker://registry.example/stage3:latest

Exit status: 0 imported, 1 input or layout refused / I/O error, 2 bad usage,
130 interrupted by SIGINT, 143 by SIGTERM (temporary files removed).
A report, page or completion script cut short by its reader closing standard
output (| head) is not an error: 0 (verify: 1 if a check failed).";

/// `--help`'s first line, its format list from the format table.
fn about() -> String {
    format!(
        "Turn rootfs tarballs ({}) into OCI image layouts in one pass",
        ociimport::supported_formats()
    )
}

/// The command line: a subcommand, or an import.
#[derive(Parser, Debug)]
#[command(
    name = "ociimport",
    version,
    about = about(),
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// A subcommand; without one, the arguments describe an import.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The import's arguments.
    #[command(flatten)]
    pub import: ImportArgs,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man {
        /// Print this subcommand's page (ociimport-PAGE(1)) instead of the main one.
        #[arg(value_enum)]
        page: Option<ManPage>,
    },
    /// Check an OCI image layout (any writer's): digests, sizes, manifests, configs,
    /// and every layer decoded against its DiffID. Exit 0 if all checks pass, 1 if any fails.
    Verify {
        /// The layout or OCI archive, and optionally one tag: DIR[:TAG], oci:DIR[:TAG], FILE[:TAG]
        /// or oci-archive:FILE[:TAG] (an existing path containing ':' is taken whole).
        #[arg(value_name = "TARGET")]
        target: String,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Show what to pin or compare: tag, manifest digest, platform, created, and per layer
    /// media type, digest, compressed and uncompressed size, DiffID and entry count.
    Inspect {
        /// The layout or OCI archive, and optionally one tag: DIR[:TAG], oci:DIR[:TAG], FILE[:TAG]
        /// or oci-archive:FILE[:TAG].
        #[arg(value_name = "TARGET")]
        target: String,
        /// Print the images as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Remove the blobs of a layout that no index.json entry reaches (e.g. a re-tagged image's
    /// old manifest, config and layers), listing each and the bytes freed. Refused while an
    /// import has the layout open.
    Gc {
        /// The layout directory.
        dir: PathBuf,
        /// List what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// The subcommand pages `ociimport man` can print; the main page refers to
/// each as `ociimport-NAME(1)`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ManPage {
    /// ociimport-completions(1).
    Completions,
    /// ociimport-man(1).
    Man,
    /// ociimport-verify(1).
    Verify,
    /// ociimport-inspect(1).
    Inspect,
    /// ociimport-gc(1).
    Gc,
}

/// The import's arguments, as typed.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// Rootfs tarball(s), one layer each, in order: a file, an http:// or https:// URL
    /// (downloaded as it is read), or `-` for standard input (then --output is required).
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<String>,

    /// The OCI layout directory; created if missing, appended to if it is already a layout
    /// [default: the input's name without .tar.* in the current directory]. As skopeo reads
    /// it, oci:DIR[:TAG] is a layout and a tag, oci-archive:FILE[:TAG] an OCI archive.
    #[arg(short, long, value_name = "DIR")]
    output: Option<PathBuf>,

    /// The ref name (org.opencontainers.image.ref.name) of the new manifest [default: latest].
    #[arg(short, long, value_name = "NAME", value_parser = parse_tag)]
    tag: Option<String>,

    /// Layer compression: auto keeps gzip/zstd input as is and encodes anything else as gzip.
    #[arg(long, value_enum, default_value_t = CompressionArg::Auto)]
    compression: CompressionArg,

    /// Compression level for gzip (1-9, default 6) or zstd (1-22, default 3) output.
    #[arg(long, value_name = "N")]
    level: Option<i32>,

    /// The config's created time: RFC 3339 or @UNIX_SECONDS
    /// [default: $SOURCE_DATE_EPOCH, else the newest mtime in the archive].
    #[arg(long, value_name = "TIME", value_parser = ociimport::parse_created)]
    created: Option<String>,

    /// Architecture (GOARCH name: amd64, arm64, arm, 386, ppc64le, s390x, riscv64, ...).
    #[arg(long, value_name = "ARCH")]
    arch: Option<String>,

    /// Operating system (GOOS name).
    #[arg(long, value_name = "OS")]
    os: Option<String>,

    /// Architecture variant (e.g. v7 for arm, v8 for arm64).
    #[arg(long, value_name = "VARIANT")]
    variant: Option<String>,

    /// Apply a Dockerfile instruction to the image config (CMD, ENTRYPOINT, ENV, EXPOSE,
    /// LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR); repeatable, applied in order.
    #[arg(short = 'c', long = "change", value_name = "INSTRUCTION")]
    changes: Vec<String>,

    /// Set a label, value taken literally (like --change 'LABEL KEY=VALUE'); repeatable.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    labels: Vec<(String, String)>,

    /// Set a manifest annotation; repeatable.
    #[arg(long = "annotation", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    annotations: Vec<(String, String)>,

    /// The history comment of the layers.
    #[arg(short, long, value_name = "TEXT")]
    message: Option<String>,

    /// Expected checksum of the (single) input as given, e.g. sha256:HEX
    /// (sha256, sha512, blake2b512); checked as the input streams.
    #[arg(long, value_name = "ALGO:HEX", value_parser = parse_expect)]
    expect: Option<ociimport::Expected>,

    /// A checksum file (a path or an http(s) URL) listing the inputs by base name:
    /// SHA256SUMS, BSD style, Gentoo .DIGESTS (clear-signed or not), or a one-line .sha256/.sha512.
    #[arg(long, value_name = "FILE|URL")]
    checksums: Option<String>,

    /// For URLs: seconds to wait for a connection, and for data on an open one,
    /// before retrying.
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    timeout: u64,

    /// For URLs: retries after a dropped or stalled connection, a timeout or a 5xx/429
    /// answer, with backoff (1 s, doubling); a download resumes from the byte reached.
    /// The count starts again whenever a retry brings new bytes.
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(0..=100))]
    retries: u32,

    /// OpenPGP certificates (armored or binary, one or several per file) that signatures
    /// must come from; repeatable. With it a clear-signed --checksums file must verify and
    /// only its signed text is used; an unsigned one needs --checksums-signature; and every
    /// input must be verified, by a signed --checksums file or its own --signature.
    #[arg(long, value_name = "FILE|URL")]
    keyring: Vec<String>,

    /// A detached OpenPGP signature over the --checksums file (e.g. SHA256SUMS.gpg); needs --keyring.
    #[arg(long, value_name = "FILE|URL")]
    checksums_signature: Option<String>,

    /// A detached OpenPGP signature over an input (.asc, .sig), checked as the input streams;
    /// needs --keyring. Repeatable: with several inputs each is named INPUT.asc or INPUT.sig.
    #[arg(long = "signature", value_name = "FILE|URL")]
    signatures: Vec<String>,

    /// Output format: an OCI layout directory, or an OCI archive (a tar of the layout;
    /// with -o - it goes to standard output).
    #[arg(long, value_enum, default_value_t = FormatArg::Oci)]
    format: FormatArg,

    /// With --format oci-archive: replace an existing -o file that is not an OCI archive
    /// (an OCI archive is replaced without it). A file this import reads (an input,
    /// --checksums, --signature, --keyring) is never replaced.
    #[arg(long)]
    force: bool,

    /// Refuse archives with path hazards (.. components, absolute paths, duplicate paths,
    /// dangling hardlinks, whiteouts) instead of warning about them.
    #[arg(long)]
    strict: bool,

    /// Rewrite each archive as one canonical tar before it is hashed: headers
    /// re-serialised (ustar, PAX only for what ustar cannot hold), atime/ctime
    /// dropped, mtime clamped to --created/SOURCE_DATE_EPOCH, old GNU sparse
    /// files expanded, PAX global headers folded in, concatenated archives
    /// merged, bytes after the last archive dropped. The layer is always encoded.
    #[arg(long)]
    normalize: bool,

    /// Remove N leading path components from names and hard-link targets, as
    /// GNU tar does, dropping entries with nothing left (e.g. 1 for an Arch
    /// bootstrap's root.x86_64/); implies --normalize.
    #[arg(long, value_name = "N")]
    strip_components: Option<u32>,

    /// Refuse an input whose uncompressed stream is larger than SIZE (bytes, or K/M/G/T).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_size: Option<u64>,

    /// Decode zstd frames whose window is up to SIZE (rounded up to a power of two, at
    /// most 2G) [default: 128M, as zstd -d]. `zstd --long=31` output needs 2G; its layer
    /// is re-encoded, since the consumers refuse windows over 128M.
    #[arg(long, value_name = "SIZE", value_parser = parse_window)]
    zstd_max_window: Option<u64>,

    /// Worker threads for decoding and encoding [default: available cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: Option<u32>,

    /// Make each input its own single-layer image, for the platform detected in it
    /// (or --arch/--variant, with one input), and tag an OCI image index of them. An
    /// index already under the tag keeps its other platforms; an image of the same
    /// platform is replaced; a single image already under the tag joins the index.
    #[arg(long)]
    index: bool,

    /// Print the import report as JSON on stdout.
    #[arg(long)]
    json: bool,

    /// No summary on stderr.
    #[arg(short, long)]
    quiet: bool,
}

/// `--format`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum FormatArg {
    /// An OCI image layout directory.
    Oci,
    /// A tar of the layout (podman load, skopeo copy oci-archive:, docker load).
    OciArchive,
}

/// `--compression`.
// No doc comments on the variants: clap would list them in --help.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum CompressionArg {
    Auto,
    Gzip,
    Zstd,
    None,
}

impl From<CompressionArg> for LayerCompression {
    fn from(arg: CompressionArg) -> Self {
        match arg {
            CompressionArg::Auto => LayerCompression::Auto,
            CompressionArg::Gzip => LayerCompression::Gzip,
            CompressionArg::Zstd => LayerCompression::Zstd,
            CompressionArg::None => LayerCompression::None,
        }
    }
}

/// `--tag`: an OCI ref name, as long as Docker allows.
fn parse_tag(s: &str) -> Result<String, String> {
    validate_new_tag(s).map(|()| s.to_string())
}

/// `KEY=VALUE` with a non-empty key; the value may contain `=`.
fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?}: expected KEY=VALUE")),
    }
}

/// `--expect ALGO:HEX`.
fn parse_expect(s: &str) -> Result<ociimport::Expected, String> {
    ociimport::parse_expect(s).map_err(|e| e.to_string())
}

/// `--zstd-max-window`: a size libzstd can decode with.
fn parse_window(s: &str) -> Result<u64, String> {
    let n = parse_size(s)?;
    if n == 0 {
        return Err(format!(
            "{s:?}: no zstd frame has a window of 0 bytes; give the largest window to decode (e.g. 128M)"
        ));
    }
    if n > ociimport::ZSTD_MAX_WINDOW {
        return Err(format!("{s:?}: libzstd decodes windows of at most 2G"));
    }
    Ok(n)
}

/// `8G`, `512M`, `100k`, `12345` (binary units).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("{s:?}: unknown unit (use K, M, G or T)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a size such as 8G, 512M or 1048576"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?}: too large"))
}

/// An import, resolved from the command line: what to pass to the library
/// and what to print afterwards.
pub struct Import {
    /// The inputs, in layer order.
    pub inputs: Vec<InputSource>,
    /// The library's options, the output among them (without a progress
    /// display; main adds it).
    pub opts: ImportOptions,
    /// Print the report as JSON on stdout.
    pub json: bool,
    /// No summary, warnings or progress bar on stderr.
    pub quiet: bool,
}

/// Check what clap cannot check alone, read the checksum file, and build
/// the library's options.
pub fn resolve(mut args: ImportArgs) -> Result<Import, Failure> {
    let compression = LayerCompression::from(args.compression);
    if args.inputs.iter().filter(|i| *i == "-").count() > 1 {
        return Err(Failure::Usage(
            "standard input (-) can be given only once".into(),
        ));
    }
    refuse_unread_schemes(&args)?;
    let archive = args.format == FormatArg::OciArchive;
    // -o oci:DIR[:TAG] and -o oci-archive:FILE[:TAG], as skopeo reads them.
    let (path, tag, archive) = match args.output.as_deref().and_then(Path::to_str) {
        Some(o) => {
            let (p, t, a) = OutputSpec::parse(o).resolve(args.tag.as_deref(), archive)?;
            (Some(p), t, a)
        }
        None => (
            args.output.clone(),
            args.tag.clone().unwrap_or_else(|| "latest".into()),
            archive,
        ),
    };
    args.tag = Some(tag);
    let output = output_path(path.as_deref(), &args.inputs, archive)?;
    let to_stdout = output.as_os_str() == "-";
    if to_stdout && !archive {
        return Err(Failure::Usage(
            "--output - (an archive on stdout) needs --format oci-archive".into(),
        ));
    }
    if to_stdout && args.json {
        return Err(Failure::Usage(
            "--json and -o - both want standard output".into(),
        ));
    }
    let output = match (archive, to_stdout) {
        (false, _) => Output::Layout(output),
        (true, true) => Output::Stdout,
        (true, false) => Output::Archive(output),
    };
    let inputs: Vec<InputSource> = args
        .inputs
        .iter()
        .map(|i| InputSource::from_arg(i))
        .collect();
    // An -o the import would refuse is refused before anything is read.
    let mut early = ImportOptions::new(output.clone());
    early.force = args.force;
    early.read_files = read_files(&args);
    ociimport::import::check_output(&inputs, &early)?;
    let http = HttpOptions {
        timeout: Duration::from_secs(args.timeout),
        retries: args.retries,
        ..HttpOptions::default()
    };
    let checksum_file = args
        .checksums
        .as_deref()
        .map(|c| read_checksums(c, &http))
        .transpose()?;
    let signed = read_signature_sources(&args, &http)?;
    let (json, quiet) = (args.json, args.quiet);
    let mut opts = options(args, output, compression, checksum_file);
    opts.force = early.force;
    opts.read_files = early.read_files;
    opts.http = http;
    opts.keyring = signed.keyring;
    opts.checksums_signature = signed.checksums_signature;
    opts.signatures = signed.signatures;
    Ok(Import {
        inputs,
        opts,
        json,
        quiet,
    })
}

/// The local files given besides the inputs (checksum, signature and
/// keyring files), which an archive output must never replace.
fn read_files(args: &ImportArgs) -> Vec<(PathBuf, String)> {
    let named = [
        (
            args.checksums.iter().collect::<Vec<_>>(),
            "the --checksums file",
        ),
        (
            args.checksums_signature.iter().collect(),
            "the --checksums-signature file",
        ),
        (args.signatures.iter().collect(), "a --signature file"),
        (args.keyring.iter().collect(), "a --keyring file"),
    ];
    let mut files = Vec::new();
    for (names, what) in named {
        for n in names.into_iter().filter(|n| !fetch::is_url(n)) {
            files.push((PathBuf::from(n), what.to_string()));
        }
    }
    files
}

/// Refuse `ftp://`, `file://` and any other URL that is not http(s), among
/// the inputs and the checksum, keyring and signature files, before
/// anything is read.
fn refuse_unread_schemes(args: &ImportArgs) -> Result<(), Failure> {
    let files = args.inputs.iter().chain(&args.checksums);
    let files = files.chain(&args.keyring).chain(&args.checksums_signature);
    for arg in files.chain(&args.signatures) {
        ociimport::import::refuse_unread_scheme(arg)?;
    }
    Ok(())
}

/// `--output`, or the first input's name without its extensions (plus
/// `.oci.tar` for an archive); standard input has no name to borrow.
fn output_path(
    output: Option<&Path>,
    inputs: &[String],
    archive: bool,
) -> Result<PathBuf, Failure> {
    match (output, inputs.first()) {
        (Some(o), _) => Ok(o.to_path_buf()),
        (None, Some(first)) if first != "-" => {
            // A URL's name is its last path segment, without the query.
            let name = if fetch::is_url(first) {
                PathBuf::from(fetch::base_name(first))
            } else {
                PathBuf::from(first)
            };
            let dir = default_output(&name);
            if !archive {
                return Ok(dir);
            }
            let mut name = dir.into_os_string();
            name.push(".oci.tar");
            Ok(PathBuf::from(name))
        }
        _ => Err(Failure::Usage(
            "reading standard input (-) needs --output DIR".into(),
        )),
    }
}

/// How a file argument is named in messages, reports and annotations: a
/// URL without its credentials or query ([`fetch::public_url`]).
fn shown(arg: &str) -> String {
    if fetch::is_url(arg) {
        fetch::public_url(arg)
    } else {
        arg.to_string()
    }
}

/// The `--checksums` file (or URL) as (name, text), read through
/// [`fetch::read_small`] before any file is written so a typo in its name
/// costs nothing.
fn read_checksums(name: &str, http: &HttpOptions) -> Result<(String, String), Failure> {
    let cap = fetch::SmallFile {
        url_limit: CHECKSUM_FILE_LIMIT,
        // Local files get more room (a mirror-wide list), but never all memory.
        file_limit: Some((LOCAL_CHECKSUM_FILE_LIMIT, "a checksum file")),
    };
    let bytes = fetch::read_small(name, cap, http)?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok((shown(name), text)),
        Err(_) if fetch::is_url(name) => Err(Failure::Refused(anyhow::anyhow!(
            "{}: not a text file (invalid UTF-8); check the --checksums URL",
            shown(name)
        ))),
        // What `read_to_string` says, as this message always said.
        Err(_) => Err(Failure::Refused(anyhow::anyhow!(
            "{name}: stream did not contain valid UTF-8"
        ))),
    }
}

/// The largest checksum file fetched by URL: such files are kilobytes.
const CHECKSUM_FILE_LIMIT: u64 = 4 << 20;
/// The largest local checksum file read (issue 24 point 8: a 1.5 GiB one
/// took 3 GiB of memory).
const LOCAL_CHECKSUM_FILE_LIMIT: u64 = 64 << 20;

/// A file's name as given and its bytes.
type Named = (String, Vec<u8>);

/// The OpenPGP material of an import, read.
struct SignatureSources {
    keyring: Option<Keyring>,
    checksums_signature: Option<Named>,
    signatures: Vec<Named>,
}

/// `--keyring`, `--checksums-signature` and `--signature`, read (through
/// [`read_small_source`], up to 16 MiB) before any file is written.
fn read_signature_sources(
    args: &ImportArgs,
    http: &HttpOptions,
) -> Result<SignatureSources, Failure> {
    let read = |arg: &String| -> Result<Named, Failure> {
        Ok((shown(arg), read_small_source(arg, http)?))
    };
    let mut keyring = None;
    for arg in &args.keyring {
        if is_plain_http(arg) {
            return Err(Failure::from(ociimport::Error::Keyring {
                file: shown(arg),
                reason: "a keyring is never fetched over plain http, where anyone on the network path could supply the trust anchor; use an https:// URL or a local file".into(),
            }));
        }
        let (name, bytes) = read(arg)?;
        let k = keyring.get_or_insert_with(Keyring::new);
        k.add(&bytes)
            .map_err(|reason| Failure::from(ociimport::Error::Keyring { file: name, reason }))?;
    }
    let checksums_signature = args.checksums_signature.as_ref().map(read).transpose()?;
    let signatures = args.signatures.iter().map(read).collect::<Result<_, _>>()?;
    Ok(SignatureSources {
        keyring,
        checksums_signature,
        signatures,
    })
}

/// Whether `arg` is an `http://` URL (not https). Signatures and checksum
/// files may come that way, since the keyring verifies them; the keyring
/// itself may not.
fn is_plain_http(arg: &str) -> bool {
    fetch::is_url(arg)
        && !arg
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// The library's options from the arguments that map one to one.
fn options(
    args: ImportArgs,
    output: Output,
    compression: LayerCompression,
    checksum_file: Option<(String, String)>,
) -> ImportOptions {
    let mut opts = ImportOptions::new(output);
    opts.index = args.index;
    opts.tag = args
        .tag
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "latest".into());
    opts.compression = compression;
    opts.level = args.level;
    opts.created = args.created;
    opts.source_date_epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .filter(|s| !s.is_empty());
    opts.arch = args.arch;
    opts.os = args.os;
    opts.variant = args.variant;
    if let Some(t) = args.threads {
        opts.threads = t;
    }
    opts.changes = args.changes;
    opts.labels = args.labels.into_iter().collect();
    opts.annotations = args.annotations.into_iter().collect();
    opts.message = args.message;
    opts.expect = args.expect;
    opts.checksum_file = checksum_file;
    opts.max_size = args.max_size;
    if let Some(w) = args.zstd_max_window {
        opts.zstd_max_window = w;
    }
    opts.strict = args.strict;
    opts.normalize = args.normalize;
    opts.strip_components = args.strip_components.unwrap_or(0);
    opts
}

/// The shell completions, rendered in memory: clap_complete panics when
/// its writer fails, and a closed stdout must not panic.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "ociimport", &mut out);
    out
}

/// The main man page, or a subcommand's (`ociimport-verify(1)`, ...): the
/// pages the main page's SUBCOMMANDS section refers to.
pub fn man_page(page: Option<ManPage>) -> std::io::Result<Vec<u8>> {
    // As clap_mangen::generate_to does: no `help` subcommand in the pages,
    // so the main page refers to no ociimport-help(1).
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Building names the subcommands ociimport-verify, ... (their titles).
    cmd.build();
    let source = format!("ociimport {}", env!("CARGO_PKG_VERSION"));
    let man = match page {
        None => clap_mangen::Man::new(cmd),
        Some(page) => {
            let name = page
                .to_possible_value()
                .map(|v| v.get_name().to_string())
                .unwrap_or_default();
            let sub = cmd.find_subcommand(&name).cloned().ok_or_else(|| {
                std::io::Error::other(format!("no subcommand {name:?} for its man page"))
            })?;
            clap_mangen::Man::new(sub).source(source)
        }
    };
    let mut out = Vec::new();
    man.render(&mut out)?;
    Ok(out)
}

/// A usage error reported the way clap reports its own.
pub fn usage_error(msg: &str) -> clap::Error {
    Cli::command().error(clap::error::ErrorKind::ArgumentConflict, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("12345"), Ok(12345));
        assert_eq!(parse_size("100k"), Ok(100 << 10));
        assert_eq!(parse_size("8G"), Ok(8 << 30));
        assert!(parse_size("8X").is_err());
        assert!(parse_size("99999999T").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn key_value_needs_a_key_and_keeps_later_equals() {
        assert_eq!(
            parse_key_value("a=b=c"),
            Ok(("a".to_string(), "b=c".to_string()))
        );
        assert_eq!(parse_key_value("a="), Ok(("a".to_string(), String::new())));
        assert!(parse_key_value("=b").is_err());
        assert!(parse_key_value("ab").is_err());
    }

    #[test]
    fn local_checksum_files_are_refused_as_read_to_string_refused_them() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("SHA256SUMS");
        std::fs::write(&bad, b"\xff\xfe  a.tar\n").unwrap();
        for path in [bad, dir.path().join("missing"), dir.path().to_path_buf()] {
            let name = path.to_str().unwrap();
            let before = std::fs::read_to_string(name).unwrap_err();
            let Err(Failure::Refused(e)) = read_checksums(name, &HttpOptions::default()) else {
                panic!("{name} was read");
            };
            assert_eq!(crate::message(&e), format!("{name}: {before}"));
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
