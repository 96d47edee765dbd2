//! The machine the tests run on: root or not, CI or not, which tools exist,
//! and the one container storage they share.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::run::run_ok_input;

/// Whether the tests run as root (umoci then needs no --rootless; mounts
/// and user switches work).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Whether `CI` is set: tests needing a tool then fail rather than skip.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Whether `tool` runs (`tool --version`). Under CI a missing tool fails the
/// test; outside, the caller skips that part, and this says so.
pub fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        ok || !in_ci(),
        "{tool} is required in CI but was not found (.ci/run installs it)"
    );
    if !ok {
        // Straight to the process's stderr: libtest would swallow eprintln!
        // output of a passing test, and a silent skip looks like a pass.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED part of a test: {tool} is not installed (with CI set this fails instead)"
        );
    }
    ok
}

/// `tool args < input` in `dir`, as a user would pipe it: its stdout.
/// A missing tool or a failure panics naming the command.
#[track_caller]
pub fn filter_through(dir: &Path, tool: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    run_ok_input(Command::new(tool).args(args).current_dir(dir), input)
        .output
        .stdout
}

/// Podman, buildah and skopeo's containers-storage share one store; one
/// user of it at a time keeps the tests from tripping over storage locks.
pub fn storage_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The host's architecture as a GOARCH name (what ociimport falls back to,
/// and what podman runs).
pub fn host_goarch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    }
}
