//! The `ociimport` command: parses arguments, calls the library, prints.

use std::io::{IsTerminal, Write};

mod progress;
mod signals;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use ociimport::import::default_output;
use ociimport::spec::ref_name::validate_tag;
use ociimport::{Error, ImportOptions, InputSource, LayerCompression, image};

const EXAMPLES: &str = "\
Examples:
  ociimport stage3-amd64-openrc.tar.xz
      writes ./stage3-amd64-openrc (an OCI layout), tagged latest
  ociimport -o ./alpine -t 3.20 alpine-minirootfs-3.20.0-x86_64.tar.gz
  curl -sL https://example.org/rootfs.tar.zst | ociimport - -o ./img
  ociimport --compression zstd --created @0 --json rootfs.tar > report.json

Subcommands: verify DIR[:TAG], inspect DIR[:TAG], completions SHELL, man
(an input file named like a subcommand needs ./ in front).

Then:
  podman pull oci:./stage3-amd64-openrc:latest
  skopeo copy oci:./stage3-amd64-openrc:latest docker://registry.example/stage3:latest

Exit status: 0 imported, 1 input or layout refused / I/O error, 2 bad usage.";

/// Turn a rootfs tarball (gzip, xz, zstd, bzip2 or plain tar) into an OCI image layout.
#[derive(Parser, Debug)]
#[command(
    name = "ociimport",
    version,
    about,
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    import: ImportArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
    /// Check an OCI image layout (any writer's): digests, sizes, manifests, configs,
    /// and every layer decoded against its DiffID. Exit 0 if all checks pass, 1 if any fails.
    Verify {
        /// The layout, and optionally one tag: DIR or DIR:TAG (an existing DIR containing ':' is taken whole).
        #[arg(value_name = "DIR[:TAG]")]
        target: String,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Show what to pin or compare: tag, manifest digest, platform, created, and per layer
    /// media type, digest, compressed and uncompressed size, DiffID and entry count.
    Inspect {
        /// The layout, and optionally one tag: DIR or DIR:TAG.
        #[arg(value_name = "DIR[:TAG]")]
        target: String,
        /// Print the images as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Debug)]
struct ImportArgs {
    /// Rootfs tarball(s), one layer each, in order; `-` reads standard input (then --output is required).
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<String>,

    /// The OCI layout directory; created if missing, appended to if it is already a layout
    /// [default: the input's name without .tar.* in the current directory].
    #[arg(short, long, value_name = "DIR")]
    output: Option<PathBuf>,

    /// The ref name (org.opencontainers.image.ref.name) of the new manifest.
    #[arg(short, long, value_name = "NAME", default_value = "latest", value_parser = parse_tag)]
    tag: String,

    /// Layer compression: auto keeps gzip/zstd input as is and encodes anything else as gzip.
    #[arg(long, value_enum, default_value_t = CompressionArg::Auto)]
    compression: CompressionArg,

    /// Compression level for gzip (1-9, default 6) or zstd (1-22, default 3) output.
    #[arg(long, value_name = "N")]
    level: Option<i32>,

    /// The config's created time: RFC 3339 or @UNIX_SECONDS
    /// [default: $SOURCE_DATE_EPOCH, else the newest mtime in the archive].
    #[arg(long, value_name = "TIME", value_parser = image::parse_created)]
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
    expect: Option<ociimport::checksums::Expected>,

    /// A checksum file listing the inputs by base name: SHA256SUMS, BSD style,
    /// Gentoo .DIGESTS (clear-signed or not), or a one-line .sha256/.sha512.
    #[arg(long, value_name = "FILE")]
    checksums: Option<PathBuf>,

    /// Output format: an OCI layout directory, or an OCI archive (a tar of the layout;
    /// with -o - it goes to standard output).
    #[arg(long, value_enum, default_value_t = FormatArg::Oci)]
    format: FormatArg,

    /// Refuse archives with path hazards (.. components, absolute paths, duplicate paths,
    /// dangling hardlinks, whiteouts) instead of warning about them.
    #[arg(long)]
    strict: bool,

    /// Refuse an input whose uncompressed stream is larger than SIZE (bytes, or K/M/G/T).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_size: Option<u64>,

    /// Worker threads for decoding and encoding [default: available cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: Option<u32>,

    /// Print the import report as JSON on stdout.
    #[arg(long)]
    json: bool,

    /// No summary on stderr.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum FormatArg {
    /// An OCI image layout directory.
    Oci,
    /// A tar of the layout (podman load, skopeo copy oci-archive:, docker load).
    OciArchive,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CompressionArg {
    Auto,
    Gzip,
    Zstd,
    None,
}

fn parse_tag(s: &str) -> Result<String, String> {
    validate_tag(s).map(|()| s.to_string())
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?}: expected KEY=VALUE")),
    }
}

fn parse_expect(s: &str) -> Result<ociimport::checksums::Expected, String> {
    ociimport::checksums::parse_expect(s).map_err(|e| e.to_string())
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Completions { shell }) => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "ociimport", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Some(Command::Man) => {
            let man = clap_mangen::Man::new(Cli::command());
            match man.render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("ociimport: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Some(Command::Verify { target, json }) => run_verify(&target, json),
        Some(Command::Inspect { target, json }) => run_inspect(&target, json),
        None => run_import(cli.import),
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)
}

fn run_verify(target: &str, json: bool) -> ExitCode {
    let (dir, tag) = ociimport::verify::parse_target(target);
    match ociimport::verify::verify(&dir, tag.as_deref()) {
        Ok(report) => {
            let printed = if json {
                print_json(&report)
            } else {
                std::io::stdout().lock().write_all(report.text().as_bytes())
            };
            if let Err(e) = printed {
                eprintln!("ociimport: writing the report to stdout: {e}");
                return ExitCode::from(1);
            }
            if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(Error::Usage(msg)) => usage(&msg),
        Err(e) => {
            eprintln!("ociimport: error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run_inspect(target: &str, json: bool) -> ExitCode {
    let (dir, tag) = ociimport::verify::parse_target(target);
    match ociimport::inspect::inspect(&dir, tag.as_deref()) {
        Ok(images) => {
            let printed = if json {
                print_json(&images)
            } else {
                std::io::stdout()
                    .lock()
                    .write_all(ociimport::inspect::text(&images).as_bytes())
            };
            match printed {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("ociimport: writing to stdout: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Err(Error::Usage(msg)) => usage(&msg),
        Err(e) => {
            eprintln!("ociimport: error: {e}");
            ExitCode::from(1)
        }
    }
}

fn usage(msg: &str) -> ExitCode {
    let mut cmd = Cli::command();
    cmd.error(clap::error::ErrorKind::ArgumentConflict, msg)
        .print()
        .ok();
    ExitCode::from(2)
}

fn run_import(args: ImportArgs) -> ExitCode {
    let compression = match args.compression {
        CompressionArg::Auto => LayerCompression::Auto,
        CompressionArg::Gzip => LayerCompression::Gzip,
        CompressionArg::Zstd => LayerCompression::Zstd,
        CompressionArg::None => LayerCompression::None,
    };
    if let Some(level) = args.level {
        // With auto the output format depends on the input; the library
        // checks the level again once it knows (1-9 for gzip).
        let range = match compression {
            LayerCompression::Zstd | LayerCompression::Auto => 1..=22,
            LayerCompression::None => {
                return usage("--level makes no sense with --compression none");
            }
            LayerCompression::Gzip => 1..=9,
        };
        if !range.contains(&level) {
            return usage(&format!(
                "--level {level} is out of range {}..={} for this compression",
                range.start(),
                range.end()
            ));
        }
    }
    if args.inputs.iter().filter(|i| *i == "-").count() > 1 {
        return usage("standard input (-) can be given only once");
    }
    let archive = args.format == FormatArg::OciArchive;
    let output = match (&args.output, args.inputs.first()) {
        (Some(o), _) => o.clone(),
        (None, Some(first)) if first != "-" => {
            let d = default_output(std::path::Path::new(first));
            if archive {
                let mut name = d.into_os_string();
                name.push(".oci.tar");
                PathBuf::from(name)
            } else {
                d
            }
        }
        _ => return usage("reading standard input (-) needs --output DIR"),
    };
    let to_stdout = output.as_os_str() == "-";
    if to_stdout && !archive {
        return usage("--output - (an archive on stdout) needs --format oci-archive");
    }
    if to_stdout && args.json {
        return usage("--json and -o - both want standard output");
    }
    let checksum_file = match &args.checksums {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(text) => Some((p.display().to_string(), text)),
            Err(e) => {
                eprintln!("ociimport: error: {}: {e}", p.display());
                return ExitCode::from(1);
            }
        },
        None => None,
    };

    let mut opts = ImportOptions::new(output.clone());
    opts.tag = args.tag;
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
    opts.strict = args.strict;
    let inputs: Vec<InputSource> = args
        .inputs
        .iter()
        .map(|i| InputSource::from_arg(i))
        .collect();

    // From here on files are written: SIGINT/SIGTERM remove them before exiting.
    signals::install();
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let p = std::sync::Arc::new(ociimport::import::Progress::default());
        opts.progress = Some(p.clone());
        progress::Bar::start(p)
    });
    let result = if archive {
        let dest = if to_stdout {
            ociimport::archive::ArchiveDest::Stdout
        } else {
            ociimport::archive::ArchiveDest::File(output)
        };
        ociimport::archive::import_to_archive(&inputs, &opts, &dest)
    } else {
        ociimport::import(&inputs, &opts)
    };
    if let Some(b) = bar {
        b.stop();
    }

    match result {
        Ok(report) => {
            if !args.quiet {
                for w in &report.warnings {
                    eprintln!("ociimport: warning: {w}");
                }
                eprintln!("{}", report.summary());
            }
            if args.json {
                let mut out = std::io::stdout().lock();
                let written = serde_json::to_writer_pretty(&mut out, &report)
                    .map_err(std::io::Error::from)
                    .and_then(|()| writeln!(out));
                if let Err(e) = written {
                    eprintln!("ociimport: writing the report to stdout: {e}");
                    return ExitCode::from(1);
                }
            }
            ExitCode::SUCCESS
        }
        Err(Error::Usage(msg)) => usage(&msg),
        Err(e @ Error::Change(_)) => usage(&e.to_string()),
        Err(e) => {
            eprintln!("ociimport: error: {e}");
            ExitCode::from(1)
        }
    }
}
