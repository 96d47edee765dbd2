//! Odd files where ociimport writes or reads: FIFOs, character devices and
//! symbolic links at the archive output, a layout's files and temp names
//! (issue 24 points 1, 7 and 9; issue 23 point 2). Every run that could
//! hang is run under a timeout, so a hang fails the test.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, symlink};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::*;

/// How long a run may take before it counts as hung.
const HANG: Duration = Duration::from_secs(60);

/// Run `cmd` (no input, output captured); fail the test if it has not
/// exited within [`HANG`] (it is killed then).
#[track_caller]
fn within(cmd: &mut Command) -> Run {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(HANG) {
        Ok(out) => Run::of(cmd, out.unwrap()),
        Err(_) => {
            // SAFETY: kill has no memory preconditions; pid is our child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("`{}` hung for {HANG:?}", describe(cmd));
        }
    }
}

/// `ociimport ARGS` in `dir`, under the hang timeout.
#[track_caller]
fn oci(dir: &Path, args: &[&str]) -> Run {
    within(&mut ociimport_in(dir, args))
}

/// Make a FIFO at `path`.
fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: c is a valid NUL-terminated path.
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o644) },
        0,
        "mkfifo {path:?}"
    );
}

/// A directory with `rootfs.tar` in it.
fn with_rootfs() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("rootfs.tar"), rootfs_tar()).unwrap();
    tmp
}

/// The archive of `rootfs.tar` in `dir`, written to the regular file `name`.
fn archive_bytes(dir: &Path, name: &str) -> Vec<u8> {
    oci(
        dir,
        &["rootfs.tar", "-q", "--format", "oci-archive", "-o", name],
    )
    .succeeds();
    fs::read(dir.join(name)).unwrap()
}

// ------------------------------------------------ archive output (-o PATH)

#[test]
fn archive_into_a_fifo_reaches_its_reader() {
    let tmp = with_rootfs();
    let want = archive_bytes(tmp.path(), "file.tar");
    let fifo = tmp.path().join("pipe");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(fifo).unwrap())
    };
    oci(
        tmp.path(),
        &["rootfs.tar", "-q", "--format", "oci-archive", "-o", "pipe"],
    )
    .succeeds();
    let got = reader.join().unwrap();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the reader got other bytes than the file");
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    no_temp_files(tmp.path());
}

#[test]
fn archive_into_a_character_device_keeps_the_device() {
    if !is_root() {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"skipped: making a character device needs root\n",
        );
        return;
    }
    let tmp = with_rootfs();
    // A null device of our own (1:3), so a regression cannot replace /dev/null.
    let dev = tmp.path().join("null");
    let c = CString::new(dev.as_os_str().as_bytes()).unwrap();
    // SAFETY: c is a valid NUL-terminated path.
    let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    assert_eq!(made, 0, "mknod");
    oci(
        tmp.path(),
        &["rootfs.tar", "-q", "--format", "oci-archive", "-o", "null"],
    )
    .succeeds();
    let meta = fs::symlink_metadata(&dev).unwrap();
    assert!(meta.file_type().is_char_device(), "{meta:?}");
    no_temp_files(tmp.path());
}

#[test]
fn archive_onto_a_symlink_is_refused() {
    let tmp = with_rootfs();
    symlink("real.tar", tmp.path().join("link.tar")).unwrap();
    oci(
        tmp.path(),
        &["rootfs.tar", "--format", "oci-archive", "-o", "link.tar"],
    )
    .refused(
        "ociimport: error: link.tar: is a symbolic link (to real.tar); give its target as -o (or -o - for standard output)\n",
    )
    .one_line();
    let link = fs::symlink_metadata(tmp.path().join("link.tar")).unwrap();
    assert!(link.file_type().is_symlink());
    assert!(!tmp.path().join("real.tar").exists());
    no_temp_files(tmp.path());
}

#[test]
fn archive_never_replaces_a_file_the_import_reads() {
    let tmp = with_rootfs();
    let input = rootfs_tar();
    for force in [false, true] {
        let mut args = vec!["rootfs.tar", "--format", "oci-archive", "-o", "rootfs.tar"];
        if force {
            args.push("--force");
        }
        oci(tmp.path(), &args)
            .refused(
                "ociimport: error: rootfs.tar: is an input of this import and is never replaced, even with --force; choose another -o\n",
            )
            .one_line();
        assert!(fs::read(tmp.path().join("rootfs.tar")).unwrap() == input);
    }
    // The same file by another name (a symlink to the input, ./ in front).
    symlink("rootfs.tar", tmp.path().join("alias.tar")).unwrap();
    oci(
        tmp.path(),
        &[
            "alias.tar",
            "--format",
            "oci-archive",
            "-o",
            "./rootfs.tar",
            "--force",
        ],
    )
    .refused("./rootfs.tar: is an input of this import");
    // A checksum file given as the output by mistake.
    let sums = format!("{}  rootfs.tar\n", sha256_hex(&input));
    fs::write(tmp.path().join("SHA256SUMS"), &sums).unwrap();
    oci(
        tmp.path(),
        &[
            "rootfs.tar",
            "--checksums",
            "SHA256SUMS",
            "--format",
            "oci-archive",
            "-o",
            "SHA256SUMS",
            "--force",
        ],
    )
    .refused(
        "ociimport: error: SHA256SUMS: is the --checksums file of this import and is never replaced, even with --force; choose another -o\n",
    );
    assert_eq!(
        fs::read_to_string(tmp.path().join("SHA256SUMS")).unwrap(),
        sums
    );
    assert!(fs::read(tmp.path().join("rootfs.tar")).unwrap() == input);
    no_temp_files(tmp.path());
}

#[test]
fn archive_replaces_another_file_only_with_force() {
    let tmp = with_rootfs();
    let want = archive_bytes(tmp.path(), "want.tar");
    fs::write(tmp.path().join("notes.txt"), b"my notes\n").unwrap();
    // Refused before any input is read: the input is a FIFO nobody writes.
    mkfifo(&tmp.path().join("in.tar"));
    oci(
        tmp.path(),
        &["in.tar", "--format", "oci-archive", "-o", "notes.txt"],
    )
    .refused(
        "ociimport: error: notes.txt: exists and is not an OCI archive (no oci-layout entry); choose another -o, or give --force to replace it\n",
    )
    .one_line();
    assert_eq!(
        fs::read(tmp.path().join("notes.txt")).unwrap(),
        b"my notes\n"
    );
    oci(
        tmp.path(),
        &[
            "rootfs.tar",
            "-q",
            "--format",
            "oci-archive",
            "-o",
            "notes.txt",
            "--force",
        ],
    )
    .succeeds();
    assert!(fs::read(tmp.path().join("notes.txt")).unwrap() == want);
    no_temp_files(tmp.path());
}

#[test]
fn archive_replaces_an_oci_archive() {
    let tmp = with_rootfs();
    // An archive of another image (other tag), then this one over it.
    oci(
        tmp.path(),
        &[
            "rootfs.tar",
            "-q",
            "--format",
            "oci-archive",
            "-o",
            "a.tar",
            "-t",
            "old",
        ],
    )
    .succeeds();
    let old = fs::read(tmp.path().join("a.tar")).unwrap();
    let want = archive_bytes(tmp.path(), "want.tar");
    assert!(old != want);
    oci(
        tmp.path(),
        &["rootfs.tar", "-q", "--format", "oci-archive", "-o", "a.tar"],
    )
    .succeeds();
    assert!(fs::read(tmp.path().join("a.tar")).unwrap() == want);
    no_temp_files(tmp.path());
}
