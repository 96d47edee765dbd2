//! The `ociimport` command: parses arguments, calls the library, prints.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use ociimport::import::{default_output, validate_tag};
use ociimport::{Error, ImportOptions, InputSource, LayerCompression, image};

const EXAMPLES: &str = "\
Examples:
  ociimport stage3-amd64-openrc.tar.xz
      writes ./stage3-amd64-openrc (an OCI layout), tagged latest
  ociimport -o ./alpine -t 3.20 alpine-minirootfs-3.20.0-x86_64.tar.gz
  curl -sL https://example.org/rootfs.tar.zst | ociimport - -o ./img
  ociimport --compression zstd --created @0 --json rootfs.tar > report.json

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
        None => run_import(cli.import),
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
        let range = match compression {
            LayerCompression::Zstd => 1..=22,
            LayerCompression::None => {
                return usage("--level makes no sense with --compression none");
            }
            _ => 1..=9,
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
    let output = match (&args.output, args.inputs.first()) {
        (Some(o), _) => o.clone(),
        (None, Some(first)) if first != "-" => default_output(std::path::Path::new(first)),
        _ => return usage("reading standard input (-) needs --output DIR"),
    };
    if args.output.as_deref() == Some(std::path::Path::new("-")) {
        return usage("--output - (an archive on stdout) needs --format oci-archive");
    }

    let mut opts = ImportOptions::new(output);
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
    let inputs: Vec<InputSource> = args
        .inputs
        .iter()
        .map(|i| InputSource::from_arg(i))
        .collect();

    match ociimport::import(&inputs, &opts) {
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
        Err(e) => {
            eprintln!("ociimport: error: {e}");
            ExitCode::from(1)
        }
    }
}
