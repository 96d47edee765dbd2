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
    within_from(cmd, Stdio::null())
}

/// [`within`], with `stdin` as the run's standard input.
#[track_caller]
fn within_from(cmd: &mut Command, stdin: Stdio) -> Run {
    cmd.stdin(stdin)
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
    archive_of_rootfs(dir, name, &[]).succeeds();
    fs::read(dir.join(name)).unwrap()
}

/// `rootfs.tar` as an OCI archive to `out`, quietly, with `extra` arguments.
fn archive_of_rootfs(dir: &Path, out: &str, extra: &[&str]) -> Run {
    let mut args = vec!["rootfs.tar", "-q", "--format", "oci-archive", "-o", out];
    args.extend_from_slice(extra);
    oci(dir, &args)
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
    archive_of_rootfs(tmp.path(), "pipe", &[]).succeeds();
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
    archive_of_rootfs(tmp.path(), "null", &[]).succeeds();
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
    // Standard input redirected from the output file.
    let mut cmd = ociimport_in(
        tmp.path(),
        [
            "-",
            "--format",
            "oci-archive",
            "-o",
            "rootfs.tar",
            "--force",
        ],
    );
    let stdin = fs::File::open(tmp.path().join("rootfs.tar")).unwrap();
    within_from(&mut cmd, Stdio::from(stdin))
        .refused("ociimport: error: rootfs.tar: is standard input of this import and is never replaced, even with --force; choose another -o\n");
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
    archive_of_rootfs(tmp.path(), "notes.txt", &["--force"]).succeeds();
    assert!(fs::read(tmp.path().join("notes.txt")).unwrap() == want);
    no_temp_files(tmp.path());
}

#[test]
fn archive_replaces_an_oci_archive() {
    let tmp = with_rootfs();
    // An archive of another image (other tag), then this one over it.
    archive_of_rootfs(tmp.path(), "a.tar", &["-t", "old"]).succeeds();
    let old = fs::read(tmp.path().join("a.tar")).unwrap();
    let want = archive_bytes(tmp.path(), "want.tar");
    assert!(old != want);
    archive_of_rootfs(tmp.path(), "a.tar", &[]).succeeds();
    assert!(fs::read(tmp.path().join("a.tar")).unwrap() == want);
    no_temp_files(tmp.path());
}

// ------------------------------------------ stale-temp sweep, layout reads

/// A temp name of a run that died: pid 4194304 is above Linux's pid_max.
const STALE: &str = ".ociimport-tmp-4194304-1-1";

#[test]
fn a_fifo_named_like_a_stale_temp_hangs_no_import() {
    let tmp = with_rootfs();
    oci(tmp.path(), &["rootfs.tar", "-q", "-o", "img"]).succeeds();
    // In the layout: the sweep runs when the layout is opened.
    let in_layout = tmp.path().join("img").join(STALE);
    mkfifo(&in_layout);
    oci(tmp.path(), &["rootfs.tar", "-q", "-o", "img", "-t", "two"]).succeeds();
    // In $TMPDIR (where -o - works) and beside an archive file: the sweep
    // of an archive's work directories.
    let tmpdir = tmp.path().join("t");
    fs::create_dir(&tmpdir).unwrap();
    mkfifo(&tmpdir.join(STALE));
    mkfifo(&tmp.path().join(STALE));
    let mut cmd = ociimport_in(
        tmp.path(),
        ["rootfs.tar", "-q", "--format", "oci-archive", "-o", "-"],
    );
    cmd.env("TMPDIR", &tmpdir);
    let archive = within(&mut cmd).succeeds();
    assert!(!archive.stdout.is_empty());
    archive_of_rootfs(tmp.path(), "a.tar", &[]).succeeds();
    // Not ours (not a regular file): left alone.
    for fifo in [in_layout, tmpdir.join(STALE), tmp.path().join(STALE)] {
        assert!(
            fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(),
            "{fifo:?}"
        );
    }
}

#[test]
fn a_fifo_index_json_or_oci_layout_is_refused_not_waited_on() {
    let tmp = with_rootfs();
    oci(tmp.path(), &["rootfs.tar", "-q", "-o", "img"]).succeeds();
    for name in ["index.json", "oci-layout"] {
        let path = tmp.path().join("img").join(name);
        let kept = tmp.path().join("kept");
        fs::rename(&path, &kept).unwrap();
        mkfifo(&path);
        let line = format!(
            "img/{name}: is a FIFO, not a regular file; a layout holds regular files only: replace it with the file itself"
        );
        oci(tmp.path(), &["rootfs.tar", "-q", "-o", "img", "-t", "two"])
            .refused(&format!("ociimport: error: {line}\n"))
            .one_line();
        oci(tmp.path(), &["inspect", "img"])
            .refused(&format!("ociimport: error: {line}\n"))
            .one_line();
        let v = oci(tmp.path(), &["verify", "img"]).exits(1);
        assert!(
            v.out()
                .contains(&format!("{name}: cannot be read: {line}\n")),
            "{}",
            v.context()
        );
        fs::remove_file(&path).unwrap();
        fs::rename(&kept, &path).unwrap();
    }
    oci(tmp.path(), &["verify", "img"]).succeeds();
}

// ------------------------------------------------------------- symlinks

#[test]
fn import_refuses_blob_directories_that_are_symlinks() {
    let tmp = with_rootfs();
    let mut other = Tar::new();
    other.file("etc/x", b"x\n", 0o644);
    fs::write(tmp.path().join("other.tar"), other.finish()).unwrap();
    for (linked, target) in [
        ("blobs", "../elsewhere"),
        ("blobs/sha256", "../../elsewhere"),
    ] {
        let img = tmp.path().join("img");
        let _ = fs::remove_dir_all(&img);
        let elsewhere = tmp.path().join("elsewhere");
        let _ = fs::remove_dir_all(&elsewhere);
        oci(tmp.path(), &["rootfs.tar", "-q", "-o", "img"]).succeeds();
        fs::rename(img.join(linked), &elsewhere).unwrap();
        symlink(target, img.join(linked)).unwrap();
        let before = snapshot(&elsewhere);
        oci(tmp.path(), &["other.tar", "-q", "-o", "img", "-t", "two"])
            .refused(&format!(
                "ociimport: error: img/{linked}: is a symbolic link (to {target}); blobs are written inside the layout only: replace it with a directory\n"
            ))
            .one_line();
        assert_eq!(
            snapshot(&elsewhere),
            before,
            "{linked}: written through the link"
        );
    }
}

#[test]
fn verify_reports_a_symlinked_blob_without_reading_it() {
    let tmp = with_rootfs();
    let run = oci(tmp.path(), &["rootfs.tar", "-q", "-o", "img", "--json"]).succeeds();
    let layer = run.json()["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let blob = blob_path(&tmp.path().join("img"), &layer);
    let secret = b"not for the layout: a file outside it\n";
    let outside = tmp.path().join("outside");
    fs::write(&outside, secret).unwrap();
    fs::remove_file(&blob).unwrap();
    symlink(&outside, &blob).unwrap();
    let v = oci(tmp.path(), &["verify", "img"]).exits(1);
    let rel = format!("blobs/sha256/{}", hex_of(&layer));
    assert!(
        v.out().contains(&format!(
            "{rel} is a symbolic link (to {}), not a regular file; a layout holds its blobs themselves: replace it with the blob\n",
            outside.display()
        )),
        "{}",
        v.context()
    );
    let all = format!("{}{}", v.out(), v.err());
    assert!(
        !all.contains(&sha256_hex(secret)),
        "the target's digest: {all}"
    );
    assert!(
        !all.contains(&format!(" {} ", secret.len())),
        "the target's size: {all}"
    );
    assert!(
        !all.contains(&format!("has {}", secret.len())),
        "the target's size: {all}"
    );
    oci(tmp.path(), &["inspect", "img"])
        .refused(&format!(
            "ociimport: error: img/{rel}: is a symbolic link, not a regular file; a layout holds regular files only: replace it with the file itself\n"
        ))
        .one_line();
}
