//! Resolving an import's arguments: what clap cannot check alone, the
//! small files read before anything is written, and the library's options.

use super::{FormatArg, ImportArgs};
use crate::Failure;
use ociimport::fetch::{self, HttpOptions};
use ociimport::naming::{default_output, parse_tag_arg};
use ociimport::output::OutputSpec;
use ociimport::{ImportOptions, InputSource, Keyring, LayerCompression, Output, read_small_source};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    let (path, tag, archive, repository) = output_and_name(&args)?;
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
        speed_limit: args.speed_limit,
        speed_time: Duration::from_secs(args.speed_time),
        max_time: (args.max_time > 0).then(|| Duration::from_secs(args.max_time)),
        // Retries are said as they happen, above the progress bar.
        notices: if args.quiet {
            fetch::Notices::default()
        } else {
            fetch::Notices::new(|line| crate::progress::say_above(&format!("ociimport: {line}")))
        },
        ..HttpOptions::default()
    };
    let checksum_file = args
        .checksums
        .as_deref()
        .map(|c| read_checksums(c, &http))
        .transpose()?;
    let signed = read_signature_sources(&args, &http)?;
    let (json, quiet) = (args.json, args.quiet);
    let mut opts = options(args, repository, output, compression, checksum_file);
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

/// What `-o`, `-t` and `--format` say together: the output path (if
/// given), the tag, whether an archive is written, and the repository `-t`
/// named (fully qualified), if any.
fn output_and_name(
    args: &ImportArgs,
) -> Result<(Option<PathBuf>, String, bool, Option<String>), Failure> {
    let archive = args.format == FormatArg::OciArchive;
    // -t TAG or -t NAME[:TAG]: clap checked it.
    let named = args
        .tag
        .as_deref()
        .map(parse_tag_arg)
        .transpose()
        .map_err(Failure::Usage)?;
    let (repository, given_tag) = named.map_or((None, None), |n| (n.repository, n.tag));
    // -o oci:DIR[:TAG] and -o oci-archive:FILE[:TAG], as skopeo reads them.
    let Some(o) = args.output.as_deref().and_then(Path::to_str) else {
        let tag = given_tag.unwrap_or_else(|| "latest".into());
        return Ok((args.output.clone(), tag, archive, repository));
    };
    let spec = OutputSpec::parse(o);
    if let (Some(t), Some(ot), Some(typed)) = (&given_tag, &spec.tag, &args.tag)
        && t != ot
    {
        // Named as typed: -t NAME:TAG, not the TAG it ends in.
        return Err(Failure::Usage(format!(
            "two tags: -t {typed} and -o {o}; give the tag once"
        )));
    }
    let (p, t, a) = spec.resolve(given_tag.as_deref(), archive)?;
    Ok((Some(p), t, a, repository))
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
pub(super) fn read_checksums(name: &str, http: &HttpOptions) -> Result<(String, String), Failure> {
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
    repository: Option<String>,
    output: Output,
    compression: LayerCompression,
    checksum_file: Option<(String, String)>,
) -> ImportOptions {
    let mut opts = ImportOptions::new(output);
    opts.index = args.index;
    opts.sbom = args.sbom;
    opts.provenance = args.provenance;
    opts.tag = args
        .tag
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "latest".into());
    opts.repository = repository;
    opts.docker_platform = args.docker_platform;
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
    opts.jobs = args.jobs.and_then(|j| usize::try_from(j).ok());
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
