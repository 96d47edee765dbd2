//! SIGINT and SIGTERM (binary only): remove this run's temporary files,
//! say so in one line, and exit with the shell's code for the signal.
//!
//! A thread waits on [`signal_hook::iterator::Signals`]: the actual signal
//! handler only writes to a pipe, and everything else (removing files,
//! printing, exiting) runs on an ordinary thread, where it is allowed. The
//! library's registry of live temp files
//! ([`ociimport::layout::remove_registered_temps`]) makes sure nothing the
//! run wrote survives, and lets a commit already in progress finish first.

use std::io::IsTerminal;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The exit status for `signal`: 128 + its number, as shells report it.
fn exit_code(signal: i32) -> i32 {
    128 + signal
}

fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "signal",
    }
}

/// Catch SIGINT and SIGTERM for the rest of the process's life.
///
/// If the handler cannot be installed the default action stays (the process
/// dies at once); the next run removes the temp files it left, so this only
/// warns.
pub fn install() {
    let mut signals = match Signals::new([SIGINT, SIGTERM]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ociimport: warning: cannot catch SIGINT/SIGTERM: {e}");
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let cleanup = ociimport::layout::remove_registered_temps();
                // A progress bar may be on the current line.
                let clear = if std::io::stderr().is_terminal() {
                    "\r\x1b[2K"
                } else {
                    ""
                };
                if cleanup.published.is_empty() {
                    eprintln!(
                        "{clear}ociimport: interrupted ({}); temporary files removed, layout unchanged",
                        name(signal)
                    );
                } else {
                    let layouts: Vec<String> = cleanup
                        .published
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect();
                    eprintln!(
                        "{clear}ociimport: interrupted ({}) after the image was published to {}; temporary files removed",
                        name(signal),
                        layouts.join(", ")
                    );
                }
                std::process::exit(exit_code(signal));
            }
        });
    if let Err(e) = spawned {
        eprintln!("ociimport: warning: cannot catch SIGINT/SIGTERM: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_the_shells() {
        assert_eq!(exit_code(SIGINT), 130);
        assert_eq!(exit_code(SIGTERM), 143);
        assert_eq!(name(SIGINT), "SIGINT");
        assert_eq!(name(SIGTERM), "SIGTERM");
    }
}
