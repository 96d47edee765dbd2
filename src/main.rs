//! The `ociimport` command: parses arguments, calls the library, prints.
//!
//! Every run ends in [`finish`], the one place that prints an error and
//! picks the exit status (see [`Failure::status`]).

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

mod cli;
mod progress;
mod signals;

use cli::{Cli, Command, Import};

/// Exit status: success, including a reader closing standard output early.
const SUCCESS: u8 = 0;
/// Exit status: an input or layout refused, a check failed, an I/O error.
const REFUSED: u8 = 1;
/// Exit status: bad usage.
const USAGE: u8 = 2;
/// Exit status: the import was published, but its `--json` report could
/// not be written. Not 1, which says nothing changed, and a script that
/// retried on it would import again.
const UNREPORTED: u8 = 3;

/// How a run ends when it does not simply succeed.
#[derive(Debug)]
pub enum Failure {
    /// clap's verdict on the arguments: an error, or `--help`/`--version`.
    Clap(clap::Error),
    /// Arguments that parse but do not make sense together.
    Usage(String),
    /// An input or layout refused, or an I/O error.
    Refused(anyhow::Error),
    /// `verify` found problems; its report (on stdout) already says which.
    ChecksFailed,
    /// Writing to standard output failed; a reader that went away
    /// (`| head`) is no error.
    Stdout(io::Error),
    /// The import was published (and stays so), but writing its `--json`
    /// report to standard output failed (not a reader that went away).
    Unreported {
        /// `the image`, or `the image index`.
        what: &'static str,
        /// The layout or archive it was published to.
        layout: String,
        /// The tag it was published under.
        tag: String,
        /// Why the report could not be written.
        error: io::Error,
    },
    /// SIGINT or SIGTERM: this run's temporary files have been removed.
    Interrupted {
        /// The signal number.
        signal: i32,
        /// Layouts the image had already been published to.
        published: Vec<PathBuf>,
    },
}

impl From<ociimport::Error> for Failure {
    fn from(e: ociimport::Error) -> Self {
        match e {
            ociimport::Error::Usage(msg) => Failure::Usage(msg),
            // A refused --change is a mistake on the command line.
            e @ ociimport::Error::Change(_) => Failure::Usage(e.to_string()),
            // So is a URL of a scheme that is not read (ftp://, file://).
            e @ ociimport::Error::UnsupportedScheme { .. } => Failure::Usage(e.to_string()),
            e => Failure::Refused(e.into()),
        }
    }
}

impl Failure {
    /// The exit status; `--help`'s "Exit status" text documents this table.
    fn status(&self) -> u8 {
        match self {
            Failure::Clap(e) if !e.use_stderr() => SUCCESS,
            Failure::Clap(_) | Failure::Usage(_) => USAGE,
            Failure::Refused(_) | Failure::ChecksFailed => REFUSED,
            Failure::Stdout(e) if e.kind() == io::ErrorKind::BrokenPipe => SUCCESS,
            Failure::Stdout(_) => REFUSED,
            Failure::Unreported { .. } => UNREPORTED,
            // 128 + the signal, as shells report a process the signal killed.
            Failure::Interrupted { signal, .. } => u8::try_from(128 + signal).unwrap_or(REFUSED),
        }
    }

    /// Tell the user, on stderr.
    fn print(&self) {
        match self {
            Failure::Clap(e) => {
                // Nowhere left to report if stderr (or stdout for --help) is closed.
                let _ = e.print();
            }
            Failure::Usage(msg) => {
                let _ = cli::usage_error(msg).print();
            }
            Failure::Refused(e) => say(&format!("ociimport: error: {}", message(e))),
            Failure::ChecksFailed => {}
            Failure::Stdout(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
            Failure::Stdout(e) => say(&format!("ociimport: error: writing to stdout: {e}")),
            Failure::Unreported {
                what,
                layout,
                tag,
                error,
            } => say(&format!(
                "ociimport: error: {what} was published to {layout} as {tag}, but the --json report could not be written to standard output: {error}; it stays published (ociimport inspect {layout}:{tag} describes it)"
            )),
            Failure::Interrupted { signal, published } => {
                say(&signals::message(*signal, published));
            }
        }
    }
}

/// Print how the run ended and return its exit status: the one place that
/// does either.
pub fn finish(result: Result<(), Failure>) -> u8 {
    match result {
        Ok(()) => SUCCESS,
        Err(failure) => {
            failure.print();
            failure.status()
        }
    }
}

/// `e` and its causes on one line, leaving out a cause whose text the
/// message already contains (the library's errors repeat their source).
fn message(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// One line on stderr. `eprintln!` would panic if stderr is closed; then
/// there is nobody to tell anyway.
fn say(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Run, then exit with the status [`finish`] picked.
fn main() -> ExitCode {
    ExitCode::from(finish(run()))
}

/// Parse the arguments and run what they ask for.
fn run() -> Result<(), Failure> {
    let cli = Cli::try_parse().map_err(Failure::Clap)?;
    match cli.command {
        Some(Command::Completions { shell }) => write_stdout(&cli::completions(shell)),
        Some(Command::Man { page }) => {
            let page = cli::man_page(page).map_err(|e| Failure::Refused(e.into()))?;
            write_stdout(&page)
        }
        Some(Command::Verify {
            target,
            json,
            max_size,
        }) => run_verify(&target, json, max_size),
        Some(Command::Inspect {
            target,
            json,
            max_size,
            packages: false,
        }) => run_inspect(&target, json, max_size),
        Some(Command::Inspect {
            target,
            json,
            max_size,
            packages: true,
        }) => run_packages(&target, json, max_size),
        Some(Command::Gc { dir, dry_run, json }) => {
            let report = ociimport::gc::gc(&dir, dry_run)?;
            if json {
                print_json(&report)
            } else {
                write_stdout(report.text().as_bytes())
            }
        }
        None => run_import(cli::resolve(cli.import)?),
    }
}

/// Write `bytes` to stdout and flush, so a failure shows here and not in
/// the silent flush at exit.
fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(Failure::Stdout)
}

/// `value` as pretty JSON and a newline on stdout.
fn print_json<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)
        .map_err(io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush())
        .map_err(Failure::Stdout)
}

/// `ociimport verify`: the report on stdout, the verdict in the exit status.
fn run_verify(target: &str, json: bool, max_size: Option<u64>) -> Result<(), Failure> {
    // Nothing is written (an archive is read in place): no signal handling.
    let opts = ociimport::verify::VerifyOptions::with_max_size(max_size);
    let report = ociimport::verify::verify_target_with(&ociimport::Target::parse(target), &opts)?;
    let printed = if json {
        print_json(&report)
    } else {
        write_stdout(report.text().as_bytes())
    };
    match printed {
        // A failed check is reported by the exit status even when the
        // reader went away; any other write error is worth its message.
        Err(Failure::Stdout(e)) if e.kind() == io::ErrorKind::BrokenPipe && !report.ok() => {
            Err(Failure::ChecksFailed)
        }
        Err(e) => Err(e),
        Ok(()) if !report.ok() => Err(Failure::ChecksFailed),
        Ok(()) => Ok(()),
    }
}

/// `ociimport inspect`: the images on stdout.
fn run_inspect(target: &str, json: bool, max_size: Option<u64>) -> Result<(), Failure> {
    let target = ociimport::Target::parse(target);
    let images = ociimport::inspect::inspect_target_limited(&target, max_size)?;
    if json {
        print_json(&images)
    } else {
        write_stdout(ociimport::inspect::text(&images).as_bytes())
    }
}

/// `ociimport inspect --packages`: each image's SBOM packages on stdout.
fn run_packages(target: &str, json: bool, max_size: Option<u64>) -> Result<(), Failure> {
    let target = ociimport::Target::parse(target);
    let images = ociimport::inspect::packages_target(&target, max_size)?;
    if json {
        print_json(&images)
    } else {
        write_stdout(ociimport::inspect::packages_text(&images).as_bytes())
    }
}

/// The import: progress and summary on stderr, `--json` report on stdout.
fn run_import(mut import: Import) -> Result<(), Failure> {
    // From here on files are written: SIGINT/SIGTERM remove them before exiting.
    signals::install();
    let bar = (!import.quiet && io::stderr().is_terminal()).then(|| {
        let p = Arc::new(ociimport::import::Progress::default());
        import.opts.progress = Some(p.clone());
        progress::Bar::start(p)
    });
    let result = ociimport::import(&import.inputs, &import.opts);
    if let Some(b) = bar {
        b.stop();
    }
    let report = result?;
    // -q hides the summary and the progress only: a warning is something
    // the user must see even in a script.
    for w in report.warnings() {
        say(&format!("ociimport: warning: {w}"));
    }
    if !import.quiet {
        say(&report.summary());
    }
    if import.json {
        // The tag is committed by now: a report that cannot be written must
        // not read as a refusal (nothing changed, safe to retry).
        print_json(&report).map_err(|f| match f {
            Failure::Stdout(error) if error.kind() != io::ErrorKind::BrokenPipe => {
                Failure::Unreported {
                    what: match &report {
                        ociimport::Report::Index(_) => "the image index",
                        _ => "the image",
                    },
                    layout: report.layout().to_string(),
                    tag: report.tag().to_string(),
                    error,
                }
            }
            f => f,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses() {
        let interrupted = |signal| Failure::Interrupted {
            signal,
            published: Vec::new(),
        };
        assert_eq!(interrupted(signal_hook::consts::SIGINT).status(), 130);
        assert_eq!(interrupted(signal_hook::consts::SIGTERM).status(), 143);
        assert_eq!(Failure::Usage(String::new()).status(), USAGE);
        assert_eq!(Failure::ChecksFailed.status(), REFUSED);
        let refused = ociimport::Error::EmptyInput { input: "x".into() };
        assert_eq!(Failure::from(refused).status(), REFUSED);
        let usage = ociimport::Error::Usage("u".into());
        assert_eq!(Failure::from(usage).status(), USAGE);
        let pipe = io::Error::from(io::ErrorKind::BrokenPipe);
        assert_eq!(Failure::Stdout(pipe).status(), SUCCESS);
        let full = io::Error::from(io::ErrorKind::StorageFull);
        assert_eq!(Failure::Stdout(full).status(), REFUSED);
        let unreported = Failure::Unreported {
            what: "the image",
            layout: "img".into(),
            tag: "latest".into(),
            error: io::Error::from(io::ErrorKind::StorageFull),
        };
        assert_eq!(unreported.status(), UNREPORTED);
        let clap_status = |args: &[&str]| match Cli::try_parse_from(args) {
            Ok(_) => None,
            Err(e) => Some(Failure::Clap(e).status()),
        };
        assert_eq!(clap_status(&["ociimport", "--help"]), Some(SUCCESS));
        assert_eq!(clap_status(&["ociimport", "--bogus"]), Some(USAGE));
    }

    #[test]
    fn messages_do_not_repeat_their_causes() {
        let io = io::Error::new(io::ErrorKind::NotFound, "gone");
        let e = anyhow::Error::from(ociimport::Error::Io {
            path: "f".into(),
            source: io,
        });
        assert_eq!(message(&e), "f: gone");
        let e = anyhow::Error::from(io::Error::other("inner")).context("outer");
        assert_eq!(message(&e), "outer: inner");
    }
}
