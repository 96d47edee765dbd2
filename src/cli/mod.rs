//! The command line (binary only): the clap types, the value parsers, and the
//! resolution of [`ImportArgs`] into what the library takes ([`Import`]).

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use ociimport::LayerCompression;

mod resolve;

pub use resolve::{Import, resolve};

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
  ociimport rootfs.tar.gz -t bartest/busy:1.0 --format oci-archive -o - | docker load
      an archive docker load, podman load and ctr images import name docker.io/bartest/busy:1.0

Subcommands: verify TARGET, inspect TARGET, gc DIR, completions SHELL, man
(an input file named like a subcommand needs ./ in front).

Then:
  podman pull oci:stage3-amd64-openrc:latest
  skopeo copy oci:stage3-amd64-openrc:latest docker://registry.example/stage3:latest

Exit status: 0 imported, 1 input or layout refused / I/O error, 2 bad usage,
3 imported and published, but the --json report could not be written (a full
disk, an I/O error; stderr names the layout and tag), 130 interrupted by SIGINT,
143 by SIGTERM (temporary files removed).
A report, page or completion script cut short by its reader closing standard
output (| head) is not an error: 0 (verify: 1 if a check failed).";

/// `verify --help`'s examples.
const VERIFY_EXAMPLES: &str = "\
Examples:
  ociimport verify ./stage3                 every tag of the layout
  ociimport verify ./stage3:openrc          one tag
  ociimport verify oci:./stage3:openrc      the same, as skopeo names it
  ociimport verify img.oci.tar --json       an OCI archive; the report as JSON";

/// `inspect --help`'s examples.
const INSPECT_EXAMPLES: &str = "\
Examples:
  ociimport inspect ./stage3                every image of the layout
  ociimport inspect ./gentoo:openrc --json  one tag (each platform of an index) as JSON
  ociimport inspect oci-archive:img.oci.tar:1.0";

/// `gc --help`'s examples.
const GC_EXAMPLES: &str = "\
Examples:
  ociimport gc ./stage3 --dry-run           list what would be removed
  ociimport gc ./stage3                     remove it, saying how many bytes were freed";

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
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify {
        /// The layout or OCI archive, and optionally one tag: DIR[:TAG], oci:DIR[:TAG], FILE[:TAG]
        /// or oci-archive:FILE[:TAG] (an existing path containing ':' is taken whole).
        #[arg(value_name = "TARGET")]
        target: String,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Fail a layer whose uncompressed stream is larger than SIZE (bytes, or K/M/G/T),
        /// as import's --max-size refuses an input; decoding stops there.
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_size: Option<u64>,
    },
    /// Show what to pin or compare: tag, manifest digest, platform, created, and per layer
    /// media type, digest, compressed and uncompressed size, DiffID and entry count.
    #[command(after_help = INSPECT_EXAMPLES)]
    Inspect {
        /// The layout or OCI archive, and optionally one tag: DIR[:TAG], oci:DIR[:TAG], FILE[:TAG]
        /// or oci-archive:FILE[:TAG].
        #[arg(value_name = "TARGET")]
        target: String,
        /// Print the images as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Refuse a layer whose uncompressed stream is larger than SIZE (bytes, or K/M/G/T),
        /// as import's --max-size refuses an input; decoding stops there.
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_size: Option<u64>,
        /// Print the packages of each image's SBOM attestation (--sbom): name, version and
        /// purl, one per line (with --json, as JSON).
        #[arg(long)]
        packages: bool,
    },
    /// Remove the blobs of a layout that no index.json entry reaches (e.g. a re-tagged image's
    /// old manifest, config and layers), listing each and the bytes freed. Refused while an
    /// import has the layout open.
    #[command(after_help = GC_EXAMPLES)]
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
    #[arg(short, long, value_name = "DIR", help_heading = "Output")]
    output: Option<PathBuf>,

    /// A tag (1.0), or the image's name: NAME:TAG, NS/NAME:TAG, HOST[:PORT]/NS/NAME:TAG
    /// (NS/NAME alone: :latest; a word without / or : is a tag) [default: latest, the name
    /// being the input's base name]. The layout's ref name is the tag; io.containerd.image.name
    /// and an archive's manifest.json hold the name (docker.io/library/NAME:TAG).
    #[arg(short, long, value_name = "TAG|NAME:TAG", value_parser = parse_tag, help_heading = "Output")]
    tag: Option<String>,

    /// In an --index archive, the platform whose image manifest.json tags for docker load
    /// (Docker's classic store keeps one image per tag) [default: this machine's, else the
    /// first input's]; every platform stays in index.json for containerd, podman and skopeo.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]", help_heading = "Output")]
    docker_platform: Option<String>,

    /// Layer compression: auto keeps gzip/zstd input as is and encodes anything else as gzip.
    #[arg(long, value_enum, default_value_t = CompressionArg::Auto, help_heading = "Layer")]
    compression: CompressionArg,

    /// Compression level for gzip (1-9, default 6) or zstd (1-22, default 3) output.
    #[arg(long, value_name = "N", help_heading = "Layer")]
    level: Option<i32>,

    /// The config's created time: RFC 3339 or @UNIX_SECONDS, years 0000-9999, no leap second
    /// [default: $SOURCE_DATE_EPOCH, else the newest mtime in the archive].
    #[arg(long, value_name = "TIME", value_parser = ociimport::parse_created, help_heading = "Image config")]
    created: Option<String>,

    /// Architecture (GOARCH name: amd64, arm64, arm, 386, ppc64le, s390x, riscv64, ...;
    /// x86_64, aarch64, AMD64 are refused, naming the GOARCH name).
    #[arg(long, value_name = "ARCH", help_heading = "Platform")]
    arch: Option<String>,

    /// Operating system (GOOS name: linux, windows, freebsd, ...).
    #[arg(long, value_name = "OS", help_heading = "Platform")]
    os: Option<String>,

    /// Architecture variant: arm v5, v6, v7, v8; arm64 v8, v8.N, v9, v9.N; amd64 v1-v4.
    #[arg(long, value_name = "VARIANT", help_heading = "Platform")]
    variant: Option<String>,

    /// Apply a Dockerfile instruction to the image config (CMD, ENTRYPOINT, ENV, EXPOSE,
    /// LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR); repeatable, applied in order.
    #[arg(
        short = 'c',
        long = "change",
        value_name = "INSTRUCTION",
        help_heading = "Image config"
    )]
    changes: Vec<String>,

    /// Set a label, value taken literally (like --change 'LABEL KEY=VALUE'); repeatable.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_key_value, help_heading = "Image config")]
    labels: Vec<(String, String)>,

    /// Set a manifest annotation; repeatable.
    #[arg(long = "annotation", value_name = "KEY=VALUE", value_parser = parse_key_value, help_heading = "Image config")]
    annotations: Vec<(String, String)>,

    /// The history comment of the layers.
    #[arg(short, long, value_name = "TEXT", help_heading = "Image config")]
    message: Option<String>,

    /// Expected checksum of the (single) input as given, e.g. sha256:HEX
    /// (sha256, sha512, blake2b512); checked as the input streams.
    #[arg(long, value_name = "ALGO:HEX", value_parser = parse_expect, help_heading = "Verification")]
    expect: Option<ociimport::Expected>,

    /// A checksum file (a path or an http(s) URL) listing the inputs by base name:
    /// SHA256SUMS, BSD style, Gentoo .DIGESTS (clear-signed or not), or a one-line .sha256/.sha512.
    /// Every sha256, sha512, blake2b512, sha1 and md5 digest listed for an input must match;
    /// sha1 and md5 alone are refused; other algorithms get a warning.
    #[arg(long, value_name = "FILE|URL", help_heading = "Verification")]
    checksums: Option<String>,

    /// For URLs: seconds to wait for a connection, for a response's headers, and for
    /// data on an open connection, before retrying.
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=86400), help_heading = "Download")]
    timeout: u64,

    /// For URLs: retries after a refused, dropped or stalled connection, a timeout or a
    /// 5xx/429 answer, each said on stderr, with backoff (1 s, doubling, at most 4 s; a
    /// refused connection 1 s); a download resumes from the byte reached. The count
    /// starts again whenever a retry brings new bytes.
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(0..=100), help_heading = "Download")]
    retries: u32,

    /// For URLs: refuse a download that averages fewer than SIZE bytes per second (or
    /// K/M) over --speed-time seconds of waiting for data, as curl's option of that
    /// name; 0 turns the check off.
    #[arg(long, value_name = "SIZE", default_value = "1K", value_parser = parse_size,
          help_heading = "Download")]
    speed_limit: u64,

    /// For URLs: how long a download may stay under --speed-limit.
    #[arg(long, value_name = "SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86400), help_heading = "Download")]
    speed_time: u64,

    /// For URLs: the longest a download may take in all, retries included, as curl's
    /// option of that name (checked between reads, so it may run over by --timeout);
    /// 0, the default, sets no limit.
    #[arg(long, value_name = "SECONDS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=2_592_000), help_heading = "Download")]
    max_time: u64,

    /// OpenPGP certificates (armored or binary, one or several per file) that signatures
    /// must come from; repeatable. With it a clear-signed --checksums file must verify and
    /// only its signed text is used; an unsigned one needs --checksums-signature; and every
    /// input must be verified, by a signed --checksums file or its own --signature.
    #[arg(long, value_name = "FILE|URL", help_heading = "Verification")]
    keyring: Vec<String>,

    /// A detached OpenPGP signature over the --checksums file (e.g. SHA256SUMS.gpg); needs --keyring.
    #[arg(long, value_name = "FILE|URL", help_heading = "Verification")]
    checksums_signature: Option<String>,

    /// A detached OpenPGP signature over an input (.asc, .sig), checked as the input streams;
    /// needs --keyring. Repeatable: with several inputs each is named INPUT.asc or INPUT.sig.
    #[arg(
        long = "signature",
        value_name = "FILE|URL",
        help_heading = "Verification"
    )]
    signatures: Vec<String>,

    /// Output format: an OCI layout directory, or an OCI archive (a tar of the layout;
    /// with -o - it goes to standard output).
    #[arg(long, value_enum, default_value_t = FormatArg::Oci, help_heading = "Output")]
    format: FormatArg,

    /// With --format oci-archive: replace an existing -o file that is not an OCI archive
    /// (an OCI archive is replaced without it). A file this import reads (an input,
    /// --checksums, --signature, --keyring) is never replaced.
    #[arg(long, help_heading = "Output")]
    force: bool,

    /// Refuse archives with path hazards (.. components, absolute paths, duplicate paths,
    /// dangling hardlinks, whiteouts) instead of warning about them.
    #[arg(long, help_heading = "Tar policy")]
    strict: bool,

    /// Rewrite each archive as one canonical tar before it is hashed: headers
    /// re-serialised (ustar, PAX only for what ustar cannot hold), atime/ctime
    /// dropped, mtime clamped to --created/SOURCE_DATE_EPOCH, old GNU sparse
    /// files expanded, PAX global headers folded in, concatenated archives
    /// merged, bytes after the last archive dropped. The layer is always encoded.
    #[arg(long, help_heading = "Tar policy")]
    normalize: bool,

    /// Remove N leading path components from names and hard-link targets, as
    /// GNU tar does, dropping entries with nothing left (e.g. 1 for an Arch
    /// bootstrap's root.x86_64/); implies --normalize.
    #[arg(long, value_name = "N", help_heading = "Tar policy")]
    strip_components: Option<u32>,

    /// Refuse an input whose uncompressed stream is larger than SIZE (bytes, or K/M/G/T).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Tar policy")]
    max_size: Option<u64>,

    /// Decode zstd frames whose window is up to SIZE (rounded up to a power of two, at
    /// most 2G) [default: 128M, as zstd -d]. `zstd --long=31` output needs 2G; its layer
    /// is re-encoded, since the consumers refuse windows over 128M.
    #[arg(long, value_name = "SIZE", value_parser = parse_window, help_heading = "Tar policy")]
    zstd_max_window: Option<u64>,

    /// Worker threads for decoding and encoding [default: available cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256), help_heading = "Layer")]
    threads: Option<u32>,

    /// Inputs read at once (the layers of an image, the platforms of --index), each in its
    /// own single pass [default: every input when one is a URL, up to 8; else half the cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64), help_heading = "Layer")]
    jobs: Option<u32>,

    /// Make each input its own single-layer image, for the platform detected in it
    /// (or --arch/--variant, with one input), and tag an OCI image index of them. An
    /// index already under the tag keeps its other platforms; an image of the same
    /// platform is replaced; a single image already under the tag joins the index.
    #[arg(long, help_heading = "Output")]
    index: bool,

    /// Attach an SPDX 2.3 software bill of materials (the packages the rootfs's
    /// package databases record) as an in-toto attestation: the tag then names an
    /// image index of the image and its attestation manifest (Docker's attestation storage).
    #[arg(long, help_heading = "Attestations")]
    sbom: bool,

    /// Attach SLSA v1 provenance (the inputs, their sha256, what they were verified
    /// against, the flags that shaped the image) as an in-toto attestation, stored as
    /// --sbom's is.
    #[arg(long, help_heading = "Attestations")]
    provenance: bool,

    /// Print the import report as JSON on stdout.
    #[arg(long, help_heading = "Output")]
    json: bool,

    /// No summary, retry messages or progress bar on stderr; warnings still print.
    #[arg(short, long, help_heading = "Output")]
    quiet: bool,
}

/// `--format`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum FormatArg {
    /// An OCI image layout directory.
    Oci,
    /// A tar of the layout with Docker's manifest.json (docker load, podman load, ctr images
    /// import, skopeo copy oci-archive:).
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

/// `--tag`: a tag, or an image reference (checked here, split in resolve).
fn parse_tag(s: &str) -> Result<String, String> {
    ociimport::naming::parse_tag_arg(s).map(|_| s.to_string())
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
    Ok(finish_page(&String::from_utf8_lossy(&out), page.is_none()).into_bytes())
}

/// What clap_mangen does not write: examples kept as typed (no filling,
/// no hyphenation, so they paste), and on the main page ENVIRONMENT and
/// SEE ALSO.
fn finish_page(roff: &str, main: bool) -> String {
    let mut out = String::new();
    for line in roff.lines() {
        if line == ".SH EXTRA" {
            out.push_str(".SH EXAMPLES\n.nf\n");
            continue;
        }
        if line.starts_with(".SH VERSION") {
            if roff.contains(".SH EXTRA") {
                out.push_str(".fi\n");
            }
            if main {
                out.push_str(MAN_ENVIRONMENT);
            }
        }
        out.push_str(line);
        out.push('\n');
        if line.starts_with(".TH ") {
            // No hyphenation, left-aligned: option names and paths stay whole.
            out.push_str(".nh\n.ad l\n");
        }
    }
    out
}

/// The main page's ENVIRONMENT and SEE ALSO sections (roff).
const MAN_ENVIRONMENT: &str = r#".SH ENVIRONMENT
.TP
.B SOURCE_DATE_EPOCH
The image's created time (seconds since 1970) when \-\-created is not given; with \-\-normalize it also clamps entry mtimes.
.TP
.B https_proxy, http_proxy, all_proxy, NO_PROXY
Proxies for URL inputs, checksum files and signatures, as curl reads them.
.TP
.B SSL_CERT_FILE, SSL_CERT_DIR
Root certificates for https instead of the system's.
.TP
.B TMPDIR
Where an archive written to standard output is assembled.
.SH "SEE ALSO"
ociimport\-verify(1), ociimport\-inspect(1), ociimport\-gc(1), podman\-pull(1), podman\-load(1), skopeo\-copy(1), umoci(1)
"#;

/// A usage error reported the way clap reports its own.
pub fn usage_error(msg: &str) -> clap::Error {
    Cli::command().error(clap::error::ErrorKind::ArgumentConflict, msg)
}

#[cfg(test)]
mod tests {

    #[test]
    fn man_pages_keep_examples_whole_and_name_the_environment() {
        let main = String::from_utf8(man_page(None).unwrap()).unwrap();
        assert!(main.contains(".nh\n.ad l\n"), "{main}");
        let examples = main.split(".SH EXAMPLES\n.nf\n").nth(1).unwrap();
        let examples = examples.split(".fi\n").next().unwrap();
        assert!(
            examples.contains(
                "  ociimport \\-o ./alpine \\-t 3.20 alpine\\-minirootfs\\-3.20.0\\-x86_64.tar.gz\n"
            ),
            "{examples}"
        );
        for word in [
            "SOURCE_DATE_EPOCH",
            "SSL_CERT_FILE",
            "NO_PROXY",
            ".SH \"SEE ALSO\"",
        ] {
            assert!(main.contains(word), "{word}");
        }
        let verify = String::from_utf8(man_page(Some(ManPage::Verify)).unwrap()).unwrap();
        assert!(verify.contains(".SH EXAMPLES\n.nf\n"), "{verify}");
        assert!(!verify.contains(".SH ENVIRONMENT"), "{verify}");
    }
    use super::resolve::read_checksums;
    use super::*;
    use crate::Failure;
    use ociimport::fetch::HttpOptions;

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
