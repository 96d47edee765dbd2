//! SIGINT and SIGTERM (binary only): remove this run's temporary files,
//! say so in one line, and exit with the shell's code for the signal
//! (130, 143), both through [`crate::finish`].
//!
//! A thread waits on [`signal_hook::iterator::Signals`]: the actual signal
//! handler only writes to a pipe, and everything else (removing files,
//! printing, exiting) runs on an ordinary thread, where it is allowed. The
//! library's registry of live temp files
//! ([`ociimport::remove_registered_temps`]) makes sure nothing the
//! run wrote survives, and lets a commit already in progress finish first.

use std::io::IsTerminal;
use std::path::PathBuf;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::Failure;

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
            crate::say(&format!(
                "ociimport: warning: cannot catch SIGINT/SIGTERM: {e}"
            ));
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let cleanup = ociimport::remove_registered_temps();
                let status = crate::finish(Err(Failure::Interrupted {
                    signal,
                    published: cleanup.published,
                }));
                std::process::exit(i32::from(status));
            }
        });
    if let Err(e) = spawned {
        crate::say(&format!(
            "ociimport: warning: cannot catch SIGINT/SIGTERM: {e}"
        ));
    }
}

/// The one line that reports the interruption.
pub fn message(signal: i32, published: &[PathBuf]) -> String {
    // A progress bar may be on the current line.
    let clear = if std::io::stderr().is_terminal() {
        "\r\x1b[2K"
    } else {
        ""
    };
    if published.is_empty() {
        return format!(
            "{clear}ociimport: interrupted ({}); temporary files removed, layout unchanged",
            name(signal)
        );
    }
    let layouts: Vec<String> = published.iter().map(|p| p.display().to_string()).collect();
    format!(
        "{clear}ociimport: interrupted ({}) after the image was published to {}; temporary files removed",
        name(signal),
        layouts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_messages() {
        assert_eq!(name(SIGINT), "SIGINT");
        assert_eq!(name(SIGTERM), "SIGTERM");
        assert!(message(SIGTERM, &[]).ends_with(
            "ociimport: interrupted (SIGTERM); temporary files removed, layout unchanged"
        ));
        assert!(
            message(SIGINT, &[PathBuf::from("a"), PathBuf::from("b")]).ends_with(
                "(SIGINT) after the image was published to a, b; temporary files removed"
            )
        );
    }
}
