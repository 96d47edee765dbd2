//! Interop tests: hand what `ociimport` writes to the real OCI consumers
//! (skopeo, umoci, podman + runc, buildah) and check what they read back.
//!
//! Each test builds its own rootfs fixture from the `busybox-static` binary
//! with the `tar` crate (deterministic headers: fixed mtime, owners, modes),
//! compresses it with the command-line tools (`gzip -n`, a multi-member gzip,
//! a multi-block `xz`, `zstd`, `bzip2`, or leaves it plain), runs the
//! `ociimport` binary with `--json`, and then checks every consumer against the
//! report and against the fixture itself.
//!
//! Shape of the matrix (CI has 2 cores and 90 minutes including compiling):
//! * skopeo (inspect, inspect --raw/--config, copy to docker-archive) and
//!   `umoci unpack` (tree compared entry by entry with the input archive) are
//!   cheap — well under a second per image — so they run for the full matrix:
//!   every input compression x every `--compression` choice (6 x 4 = 24 images).
//! * podman pull + run (and skopeo copy to containers-storage) are the slow,
//!   storage-locking part. What they can add over umoci is "does the container
//!   stack decode this layer and run it". That depends on the layer media type
//!   podman sees (tar+gzip, tar+zstd, tar), and on whether the blob is passed
//!   through from the input (gzip, multi-member gzip, zstd) or re-encoded (xz,
//!   bzip2, plain). So podman runs each input compression once with
//!   `--compression auto` (6 containers) and every other `--compression`
//!   choice once, on the xz input, whose layer is re-encoded for every choice
//!   (3 more containers): 9 containers prove what 24 would.
//!
//! Every image gets unique content (its `/etc/os-release` names the test run,
//! pid + time, and the case), so its diff_id and image ID are unique: podman
//! can never satisfy a pull by reusing a layer that another case or an earlier
//! run left in storage, and the `cat /etc/os-release` output proves which image
//! ran. Podman storage is shared by the whole machine, so podman, buildah and
//! containers-storage steps are serialized with a static Mutex, and every image
//! they add is removed by a Drop guard, also when the test fails.
//!
//! Tools: when `CI` is set a missing tool fails the test, naming the tool;
//! otherwise the test prints that it skipped, and why, and passes.
//! Debian packages: podman skopeo umoci runc buildah busybox-static gzip bzip2
//! xz-utils zstd docker-registry.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, Once, OnceLock, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::{
    EM_AARCH64, EM_RISCV, EM_X86_64, ET_EXEC, Run, bin, elf64_header, hex_of, host_goarch, in_ci,
    is_root, run_cmd, run_ok, run_ok_input, sha256, sha256_hex, stdout_json, storage_lock,
};
use serde_json::Value;

const CREATED: &str = "2024-01-02T03:04:05Z";
/// 2024-01-02T03:04:05Z as seconds, used as every fixture entry's mtime.
const MTIME: u64 = 1_704_164_645;
const TAG: &str = "interop";
const BUSYBOX: &str = "/bin/busybox";
const KNOWN_CONTENT: &[u8] = b"known content, checked by sha256 after unpacking\n";
const XATTR_VALUE: &str = "ociimport xattr value";
/// base64 of XATTR_VALUE, as umoci writes it in its mtree manifest.
const XATTR_VALUE_B64: &str = "b2NpaW1wb3J0IHhhdHRyIHZhbHVl";
const MT_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const MT_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
const MT_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const APT_HINT: &str = "apt-get install -y podman skopeo umoci runc buildah busybox-static gzip bzip2 xz-utils zstd docker-registry";

// ---------------------------------------------------------------------------
// small helpers: logging, tools, commands
// ---------------------------------------------------------------------------

/// Writes straight to the process's stderr, past libtest's output capture, so
/// skips and tool versions show in the CI log even for passing tests.
fn log(msg: &str) {
    let _ = writeln!(io::stderr(), "[interop] {msg}");
}

/// Logs a consumer quirk the first time it is met in this test binary.
fn log_quirk_once(msg: &str) {
    static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    if SEEN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(msg.to_string())
    {
        log(&format!("quirk: {msg}"));
    }
}

/// pid + time: unique per test run, lowercase so it can be part of an image name.
fn run_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!("{}-{}", std::process::id(), nanos)
    })
}

/// A name unique to this run and case; valid as a directory name and as an
/// image repository name (lowercase, digits, '-').
fn unique_name(label: &str) -> String {
    format!("ociimport-interop-{}-{}", run_id(), label)
}

fn tool_present(tool: &str) -> bool {
    match Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => panic!("cannot run `{tool} --version`: {e}"),
    }
}

/// True when /bin/busybox exists and is a static ELF (no PT_INTERP program
/// header): only a static busybox runs in a FROM-scratch style image.
fn static_busybox_present() -> bool {
    let Ok(elf) = fs::read(BUSYBOX) else {
        return false;
    };
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" || elf[5] != 1 {
        return false; // not a little-endian ELF
    }
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) as usize;
    let (phoff, phentsize, phnum) = match elf[4] {
        2 => (
            u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize,
            u16_at(0x36),
            u16_at(0x38),
        ),
        1 => (u32_at(0x1c), u16_at(0x2a), u16_at(0x2c)),
        _ => return false,
    };
    (0..phnum).all(|i| {
        let o = phoff + i * phentsize;
        o + 4 <= elf.len() && u32_at(o) != 3 // PT_INTERP
    })
}

fn first_line(out: &Output) -> String {
    let text = if out.stdout.is_empty() {
        &out.stderr
    } else {
        &out.stdout
    };
    String::from_utf8_lossy(text)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

fn tool_version(tool: &str) -> Option<String> {
    let out = Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    Some(first_line(&out))
}

/// Prints the version of every consumer once per test binary.
fn log_versions_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let mut line = String::from("tool versions:");
        for tool in [
            "podman", "skopeo", "umoci", "runc", "buildah", "gzip", "xz", "zstd", "bzip2",
        ] {
            let v = tool_version(tool).unwrap_or_else(|| "not installed".into());
            line.push_str(&format!("\n    {tool}: {v}"));
        }
        line.push_str(&format!(
            "\n    {BUSYBOX}: {}",
            if static_busybox_present() {
                "static"
            } else {
                "missing or not static"
            }
        ));
        log(&line);
    });
}

/// How the interop tests of this run went, for one summary line at the end.
#[derive(Default)]
struct Tally {
    finished: usize,
    /// Skipped tests, by what was missing.
    skipped: BTreeMap<String, Vec<String>>,
}

static TALLY: Mutex<Tally> = Mutex::new(Tally {
    finished: 0,
    skipped: BTreeMap::new(),
});

/// The `#[test]`s in this file, counted from its source so the total cannot go stale.
fn total_tests() -> usize {
    include_str!("interop.rs").matches("\n#[test]\nfn ").count()
}

/// Whether libtest was given a name filter (then not every test runs, and
/// each skip is logged on its own).
fn filtered_run() -> bool {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if matches!(
            a.as_str(),
            "--test-threads" | "--skip" | "--format" | "--color" | "-Z"
        ) {
            args.next();
        } else if !a.starts_with('-') {
            return true;
        }
    }
    false
}

/// Record one finished test (skipped: with what was missing); the last one
/// prints the summary.
fn finish_test(skipped: Option<(&str, String)>) {
    let mut t = TALLY.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((test, missing)) = skipped {
        if filtered_run() {
            log(&format!(
                "SKIPPED {test}: missing {missing} (set CI=1 to make this a failure)"
            ));
        }
        t.skipped.entry(missing).or_default().push(test.to_string());
    }
    t.finished += 1;
    if t.finished != total_tests() || filtered_run() {
        return;
    }
    let n: usize = t.skipped.values().map(Vec::len).sum();
    if n == 0 {
        log(&format!(
            "all {} interop tests ran against the real consumers",
            t.finished
        ));
        return;
    }
    let why: Vec<String> = t
        .skipped
        .iter()
        .map(|(missing, tests)| format!("{} for lack of {missing}", tests.len()))
        .collect();
    log(&format!(
        "SKIPPED {n} of {} interop tests (they passed without checking anything): {}; install: {APT_HINT}; with CI set they fail instead",
        t.finished,
        why.join(", ")
    ));
}

/// A test that is running; counted as finished when dropped (also on panic).
struct TestRun;

impl Drop for TestRun {
    fn drop(&mut self) {
        finish_test(None);
    }
}

/// Checks that every tool the test needs is there. Missing: panics naming the
/// tools under CI; otherwise records the skip and returns `None`.
fn require(test: &str, tools: &[&str]) -> Option<TestRun> {
    log_versions_once();
    let mut missing: Vec<String> = tools
        .iter()
        .filter(|t| !tool_present(t))
        .map(|t| t.to_string())
        .collect();
    if !static_busybox_present() {
        missing.push(format!("busybox-static ({BUSYBOX}, statically linked)"));
    }
    if missing.is_empty() {
        return Some(TestRun);
    }
    let missing = missing.join(", ");
    if in_ci() {
        panic!(
            "{test}: required tool(s) missing: {missing}; CI is set, so interop tests do not skip (install: {APT_HINT})"
        );
    }
    finish_test(Some((test, missing)));
    None
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {ptr} in {v}"))
}

fn u(v: &Value, ptr: &str) -> u64 {
    v.pointer(ptr)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no integer at {ptr} in {v}"))
}

fn oci_ref(layout: &Path, tag: &str) -> OsString {
    let mut r = OsString::from("oci:");
    r.push(layout.as_os_str());
    r.push(":");
    r.push(tag);
    r
}

fn image_ref(layout: &Path, tag: &str) -> OsString {
    let mut r = OsString::from(layout.as_os_str());
    r.push(":");
    r.push(tag);
    r
}

// ---------------------------------------------------------------------------
// the fixture
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Kind {
    Dir,
    File { sha256: String },
    Symlink { target: String },
    Hardlink { target: String },
}

#[derive(Debug, Clone)]
struct Expected {
    path: String,
    kind: Kind,
    mode: u32,
    uid: u64,
    gid: u64,
}

struct Fixture {
    tar: Vec<u8>,
    entries: Vec<Expected>,
    os_release: String,
}

struct FixtureBuilder {
    b: tar::Builder<Vec<u8>>,
    entries: Vec<Expected>,
}

fn header(
    kind: tar::EntryType,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    gnu: bool,
) -> tar::Header {
    let mut h = if gnu {
        tar::Header::new_gnu()
    } else {
        tar::Header::new_ustar()
    };
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(gid);
    h.set_size(size);
    h.set_mtime(MTIME);
    h
}

impl FixtureBuilder {
    fn dir(&mut self, path: &str) {
        let mut h = header(tar::EntryType::Directory, 0o755, 0, 0, 0, true);
        self.b
            .append_data(&mut h, format!("{path}/"), io::empty())
            .unwrap();
        self.entries.push(Expected {
            path: path.into(),
            kind: Kind::Dir,
            mode: 0o755,
            uid: 0,
            gid: 0,
        });
    }

    fn file(&mut self, path: &str, data: &[u8], mode: u32, uid: u64, gid: u64) {
        let mut h = header(
            tar::EntryType::Regular,
            mode,
            uid,
            gid,
            data.len() as u64,
            true,
        );
        // a GNU header: paths over 100 bytes get a GNU long-name ('L') entry
        self.b.append_data(&mut h, path, data).unwrap();
        self.push_file(path, data, mode, uid, gid);
    }

    /// A regular file whose path and/or xattrs travel in a PAX ('x') header
    /// before a ustar header.
    fn pax_file(&mut self, path: &str, placeholder: &str, pax: &[(&str, &[u8])], data: &[u8]) {
        let mut records: Vec<(&str, &[u8])> = pax.to_vec();
        if path != placeholder {
            records.push(("path", path.as_bytes()));
        }
        self.b.append_pax_extensions(records).unwrap();
        let mut h = header(
            tar::EntryType::Regular,
            0o644,
            0,
            0,
            data.len() as u64,
            false,
        );
        h.set_path(placeholder).unwrap();
        h.set_cksum();
        self.b.append(&h, data).unwrap();
        self.push_file(path, data, 0o644, 0, 0);
    }

    fn push_file(&mut self, path: &str, data: &[u8], mode: u32, uid: u64, gid: u64) {
        let kind = Kind::File {
            sha256: sha256_hex(data),
        };
        self.entries.push(Expected {
            path: path.into(),
            kind,
            mode,
            uid,
            gid,
        });
    }

    fn symlink(&mut self, path: &str, target: &str) {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0, 0, 0, true);
        self.b.append_link(&mut h, path, target).unwrap();
        let kind = Kind::Symlink {
            target: target.into(),
        };
        self.entries.push(Expected {
            path: path.into(),
            kind,
            mode: 0o777,
            uid: 0,
            gid: 0,
        });
    }

    fn hardlink(&mut self, path: &str, target: &str) {
        let t = self
            .entries
            .iter()
            .find(|e| e.path == target)
            .expect("hardlink target first")
            .clone();
        let mut h = header(tar::EntryType::Link, t.mode, t.uid, t.gid, 0, true);
        self.b.append_link(&mut h, path, target).unwrap();
        let kind = Kind::Hardlink {
            target: target.into(),
        };
        self.entries.push(Expected {
            path: path.into(),
            kind,
            mode: t.mode,
            uid: t.uid,
            gid: t.gid,
        });
    }
}

/// A runnable rootfs: static busybox, /bin/sh, applet links, os-release naming
/// `name`, a known file owned by 1000:1000, a symlink and a hardlink to it,
/// two paths over 100 bytes (GNU long name, PAX path) and a PAX xattr.
fn build_fixture(name: &str) -> Fixture {
    let busybox = fs::read(BUSYBOX).unwrap_or_else(|e| panic!("reading {BUSYBOX}: {e}"));
    let os_release = format!(
        "NAME=\"ociimport interop\"\nID=ociimport-interop\nVERSION_ID=\"{name}\"\nPRETTY_NAME=\"ociimport interop fixture {name}\"\n"
    );
    let long_dir = format!("data/{}/{}", "d".repeat(60), "e".repeat(60));
    let mut f = FixtureBuilder {
        b: tar::Builder::new(Vec::new()),
        entries: Vec::new(),
    };
    f.dir("bin");
    f.dir("etc");
    f.dir("data");
    f.dir(&format!("data/{}", "d".repeat(60)));
    f.dir(&long_dir);
    f.file("bin/busybox", &busybox, 0o755, 0, 0);
    f.symlink("bin/sh", "busybox");
    f.hardlink("bin/cat", "bin/busybox");
    f.hardlink("bin/echo", "bin/busybox");
    f.symlink("bin/ls", "busybox");
    f.symlink("bin/sha256sum", "/bin/busybox");
    f.file("etc/os-release", os_release.as_bytes(), 0o644, 0, 0);
    f.file("data/known.txt", KNOWN_CONTENT, 0o640, 1000, 1000);
    f.symlink("data/known-symlink", "known.txt");
    f.hardlink("data/known-hardlink", "data/known.txt");
    f.file("data/private.bin", &[0u8, 1, 2, 3, 255], 0o600, 0, 0);
    f.file("data/empty", b"", 0o644, 0, 0);
    f.file(
        &format!("{long_dir}/gnu-long-name.txt"),
        b"long name, GNU 'L' header\n",
        0o644,
        0,
        0,
    );
    f.pax_file(
        &format!("{long_dir}/pax-long-name.txt"),
        "data/pax-long-name.placeholder",
        &[],
        b"long name, PAX path record\n",
    );
    f.pax_file(
        "data/xattr.txt",
        "data/xattr.txt",
        &[("SCHILY.xattr.user.test", XATTR_VALUE.as_bytes())],
        b"this file has a user.test xattr\n",
    );
    let tar = f.b.into_inner().unwrap();
    assert!(long_dir.len() + "/gnu-long-name.txt".len() > 100);
    Fixture {
        tar,
        entries: f.entries,
        os_release,
    }
}

// ---------------------------------------------------------------------------
// input compressions and --compression choices
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Input {
    Gzip,
    GzipMultiMember,
    XzMultiBlock,
    Zstd,
    Bzip2,
    Plain,
}

impl Input {
    fn label(self) -> &'static str {
        match self {
            Input::Gzip => "gzip",
            Input::GzipMultiMember => "gzip-multi",
            Input::XzMultiBlock => "xz-multi",
            Input::Zstd => "zstd",
            Input::Bzip2 => "bzip2",
            Input::Plain => "plain",
        }
    }

    fn file_name(self) -> &'static str {
        match self {
            Input::Gzip => "rootfs.tar.gz",
            Input::GzipMultiMember => "rootfs-multi.tar.gz",
            Input::XzMultiBlock => "rootfs.tar.xz",
            Input::Zstd => "rootfs.tar.zst",
            Input::Bzip2 => "rootfs.tar.bz2",
            Input::Plain => "rootfs.tar",
        }
    }

    /// What the report's `input_compression` names.
    fn report_name(self) -> &'static str {
        match self {
            Input::Gzip | Input::GzipMultiMember => "gzip",
            Input::XzMultiBlock => "xz",
            Input::Zstd => "zstd",
            Input::Bzip2 => "bzip2",
            Input::Plain => "none",
        }
    }

    fn tool(self) -> &'static str {
        match self {
            Input::Gzip | Input::GzipMultiMember | Input::Plain => "gzip",
            Input::XzMultiBlock => "xz",
            Input::Zstd => "zstd",
            Input::Bzip2 => "bzip2",
        }
    }

    /// Compresses `tar` the way a user's tools would, into `dir`.
    fn compress(self, tar: &[u8], dir: &Path) -> PathBuf {
        let data = match self {
            Input::Gzip => {
                run_ok_input(Command::new("gzip").args(["-n", "-c"]), tar)
                    .output
                    .stdout
            }
            Input::GzipMultiMember => {
                let split = tar.len() / 2 + 777; // not on a tar block boundary
                let mut a = run_ok_input(Command::new("gzip").args(["-n", "-c"]), &tar[..split])
                    .output
                    .stdout;
                let b = run_ok_input(Command::new("gzip").args(["-n", "-c"]), &tar[split..])
                    .output
                    .stdout;
                a.extend_from_slice(&b);
                // a single-member decoder stops after the first member
                let mut first = Vec::new();
                flate2::read::GzDecoder::new(&a[..])
                    .read_to_end(&mut first)
                    .unwrap();
                assert_eq!(
                    first.len(),
                    split,
                    "the fixture must really be multi-member gzip"
                );
                a
            }
            Input::XzMultiBlock => {
                run_ok_input(
                    Command::new("xz").args(["-T2", "--block-size=262144", "-c"]),
                    tar,
                )
                .output
                .stdout
            }
            Input::Zstd => {
                run_ok_input(Command::new("zstd").args(["-q", "-c"]), tar)
                    .output
                    .stdout
            }
            Input::Bzip2 => {
                run_ok_input(Command::new("bzip2").args(["-c"]), tar)
                    .output
                    .stdout
            }
            Input::Plain => tar.to_vec(),
        };
        let path = dir.join(self.file_name());
        fs::write(&path, &data).unwrap();
        if self == Input::XzMultiBlock {
            let out = run_ok(Command::new("xz").arg("--robot").arg("--list").arg(&path));
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let blocks: u64 = text
                .lines()
                .find_map(|l| l.strip_prefix("file\t"))
                .and_then(|l| l.split('\t').nth(1))
                .and_then(|b| b.parse().ok())
                .unwrap_or_else(|| {
                    panic!("cannot read block count from `xz --robot --list`:\n{text}")
                });
            assert!(
                blocks >= 2,
                "the xz fixture must have several blocks, has {blocks}"
            );
        }
        path
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Choice {
    Auto,
    Gzip,
    Zstd,
    None,
}

const ALL_CHOICES: [Choice; 4] = [Choice::Auto, Choice::Gzip, Choice::Zstd, Choice::None];

impl Choice {
    fn arg(self) -> &'static str {
        match self {
            Choice::Auto => "auto",
            Choice::Gzip => "gzip",
            Choice::Zstd => "zstd",
            Choice::None => "none",
        }
    }

    fn media_type(self, input: Input) -> &'static str {
        match (self, input) {
            (Choice::Auto, Input::Zstd) => MT_ZSTD,
            (Choice::Auto, _) | (Choice::Gzip, _) => MT_GZIP,
            (Choice::Zstd, _) => MT_ZSTD,
            (Choice::None, _) => MT_TAR,
        }
    }

    /// Some(expected) where the CLI's contract fixes `passthrough`.
    fn passthrough(self, input: Input) -> Option<bool> {
        let input_is_output = match self.media_type(input) {
            MT_GZIP => matches!(input, Input::Gzip | Input::GzipMultiMember),
            MT_ZSTD => input == Input::Zstd,
            _ => input == Input::Plain,
        };
        match self {
            // "auto: gzip/zstd input kept as is, else gzip"
            Choice::Auto => Some(input_is_output),
            // a layer in another compression than the input cannot be the input
            _ if !input_is_output => Some(false),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// running ociimport and checking its own report
// ---------------------------------------------------------------------------

struct Image {
    layout: PathBuf,
    tag: String,
    report: Value,
    fixture: Fixture,
    media_type: &'static str,
}

impl Image {
    fn manifest_digest(&self) -> &str {
        s(&self.report, "/manifest/digest")
    }
    fn config_digest(&self) -> &str {
        s(&self.report, "/config/digest")
    }
    fn layer_digest(&self) -> &str {
        s(&self.report, "/layers/0/digest")
    }
    fn diff_id(&self) -> &str {
        s(&self.report, "/layers/0/diff_id")
    }
    fn blob(&self, digest: &str) -> Vec<u8> {
        crate::common::blob(&self.layout, digest)
    }
}

/// Runs `ociimport --json` on `input` into `layout` under `tag` and checks the
/// report against the input, the fixture and the blobs written.
fn import(
    layout: &Path,
    tag: &str,
    input_path: &Path,
    input: Input,
    choice: Choice,
    fixture: Fixture,
) -> Image {
    let mut cmd = Command::new(bin());
    cmd.arg("-o")
        .arg(layout)
        .args([
            "-t",
            tag,
            "--compression",
            choice.arg(),
            "--created",
            CREATED,
        ])
        .args(["--arch", host_goarch(), "--os", "linux", "--json"])
        .arg(input_path);
    let report = stdout_json(&mut cmd);
    let ctx = format!("{} --compression {}", input.label(), choice.arg());

    assert_eq!(s(&report, "/tag"), tag, "{ctx}: report tag");
    assert_eq!(
        fs::canonicalize(s(&report, "/layout")).unwrap(),
        fs::canonicalize(layout).unwrap(),
        "{ctx}: report layout"
    );
    assert_eq!(s(&report, "/platform/os"), "linux", "{ctx}");
    assert_eq!(s(&report, "/platform/architecture"), host_goarch(), "{ctx}");
    assert_eq!(s(&report, "/created"), CREATED, "{ctx}: report created");
    let layers = report["layers"]
        .as_array()
        .unwrap_or_else(|| panic!("{ctx}: no layers in {report}"));
    assert_eq!(layers.len(), 1, "{ctx}: one input, one layer");

    let input_bytes = fs::read(input_path).unwrap();
    let media_type = choice.media_type(input);
    assert_eq!(
        s(&report, "/layers/0/input_compression"),
        input.report_name(),
        "{ctx}"
    );
    assert_eq!(
        s(&report, "/layers/0/input_digest"),
        sha256(&input_bytes),
        "{ctx}"
    );
    assert_eq!(
        u(&report, "/layers/0/input_size"),
        input_bytes.len() as u64,
        "{ctx}"
    );
    assert_eq!(
        s(&report, "/layers/0/media_type"),
        media_type,
        "{ctx}: layer media type"
    );
    assert_eq!(
        s(&report, "/layers/0/diff_id"),
        sha256(&fixture.tar),
        "{ctx}: diff_id"
    );
    assert_eq!(
        u(&report, "/layers/0/uncompressed_size"),
        fixture.tar.len() as u64,
        "{ctx}"
    );
    assert_eq!(
        u(&report, "/layers/0/entries"),
        fixture.entries.len() as u64,
        "{ctx}: entries"
    );
    let passthrough = report
        .pointer("/layers/0/passthrough")
        .and_then(Value::as_bool)
        .unwrap_or_else(|| panic!("{ctx}: no passthrough bool in {report}"));
    if let Some(expected) = choice.passthrough(input) {
        assert_eq!(passthrough, expected, "{ctx}: passthrough");
    }

    let image = Image {
        layout: layout.to_path_buf(),
        tag: tag.into(),
        report,
        fixture,
        media_type,
    };
    // the blobs are what the report says
    for (what, ptr) in [
        ("manifest", "/manifest"),
        ("config", "/config"),
        ("layer", "/layers/0"),
    ] {
        let digest = s(&image.report, &format!("{ptr}/digest"));
        let blob = image.blob(digest);
        assert_eq!(
            sha256(&blob),
            digest,
            "{ctx}: {what} blob content vs its digest"
        );
        assert_eq!(
            blob.len() as u64,
            u(&image.report, &format!("{ptr}/size")),
            "{ctx}: {what} size"
        );
    }
    let layer = image.blob(image.layer_digest());
    if passthrough {
        assert_eq!(
            layer, input_bytes,
            "{ctx}: a passthrough layer is the input file byte for byte"
        );
    }
    // decode the layer with the reference command-line tool, not our decoder
    let decoded = match media_type {
        MT_GZIP => {
            run_ok_input(Command::new("gzip").args(["-d", "-c"]), &layer)
                .output
                .stdout
        }
        MT_ZSTD => {
            run_ok_input(Command::new("zstd").args(["-d", "-q", "-c"]), &layer)
                .output
                .stdout
        }
        _ => layer,
    };
    assert_eq!(
        sha256(&decoded),
        image.diff_id(),
        "{ctx}: layer decoded by the CLI tool vs diff_id"
    );
    image
}

// ---------------------------------------------------------------------------
// skopeo
// ---------------------------------------------------------------------------

fn skopeo_checks(img: &Image, scratch: &Path, archive_name: &str) {
    let r = oci_ref(&img.layout, &img.tag);
    let ctx = format!("skopeo, {}", r.to_string_lossy());

    let insp = stdout_json(Command::new("skopeo").arg("inspect").arg(&r));
    assert_eq!(s(&insp, "/Digest"), img.manifest_digest(), "{ctx}: Digest");
    assert_eq!(
        s(&insp, "/Architecture"),
        host_goarch(),
        "{ctx}: Architecture"
    );
    assert_eq!(s(&insp, "/Os"), "linux", "{ctx}: Os");
    assert_eq!(s(&insp, "/Created"), CREATED, "{ctx}: Created");
    assert_eq!(
        insp["Layers"],
        serde_json::json!([img.layer_digest()]),
        "{ctx}: Layers"
    );

    let raw = run_ok(Command::new("skopeo").args(["inspect", "--raw"]).arg(&r))
        .output
        .stdout;
    assert_eq!(
        sha256(&raw),
        img.manifest_digest(),
        "{ctx}: --raw manifest bytes vs digest"
    );
    let manifest: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(s(&manifest, "/config/digest"), img.config_digest(), "{ctx}");
    assert_eq!(s(&manifest, "/layers/0/mediaType"), img.media_type, "{ctx}");
    assert_eq!(
        manifest["layers"].as_array().map(Vec::len),
        Some(1),
        "{ctx}"
    );

    let raw_config = run_ok(
        Command::new("skopeo")
            .args(["inspect", "--config", "--raw"])
            .arg(&r),
    )
    .output
    .stdout;
    assert_eq!(
        sha256(&raw_config),
        img.config_digest(),
        "{ctx}: --config --raw bytes vs digest"
    );
    let config = stdout_json(Command::new("skopeo").args(["inspect", "--config"]).arg(&r));
    assert_eq!(
        config["rootfs"]["diff_ids"],
        serde_json::json!([img.diff_id()]),
        "{ctx}: diff_ids"
    );
    assert_eq!(s(&config, "/architecture"), host_goarch(), "{ctx}");
    assert_eq!(s(&config, "/os"), "linux", "{ctx}");
    assert_eq!(s(&config, "/created"), CREATED, "{ctx}");

    // docker-archive (what `docker load` reads): skopeo decodes the layer and
    // stores it uncompressed, so its bytes must hash to our diff_id.
    let archive = scratch.join("docker-archive.tar");
    let name = format!("localhost/{archive_name}:{}", img.tag);
    let mut dest = OsString::from("docker-archive:");
    dest.push(&archive);
    dest.push(":");
    dest.push(&name);
    let mut cmd = Command::new("skopeo");
    cmd.args(["copy", "--quiet"]).arg(&r).arg(&dest);
    let out = run_cmd(&mut cmd);
    if !out.status.success()
        && img.media_type == MT_ZSTD
        && String::from_utf8_lossy(&out.stderr)
            .contains("zstd compression is not supported for docker images")
    {
        // skopeo < 1.14 converts the manifest to Docker schema2 before it
        // decompresses, and schema2 has no zstd (containers/image#1260).
        // Copy a gzip re-encoding made by skopeo instead; the layer in the
        // archive must still hash to our diff_id.
        log_quirk_once(&format!(
            "{} cannot copy zstd layers to docker-archive; copying a gzip copy made by skopeo",
            tool_version("skopeo").unwrap_or_default()
        ));
        let (gz_layout, _) = skopeo_gzip_copy(img, scratch);
        run_ok(
            Command::new("skopeo")
                .args(["copy", "--quiet"])
                .arg(oci_ref(&gz_layout, &img.tag))
                .arg(&dest),
        );
    } else {
        out.succeeds();
    }
    let mut manifest_json = None;
    let mut files = std::collections::BTreeMap::new();
    let mut ar = tar::Archive::new(fs::File::open(&archive).unwrap());
    for entry in ar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if path == "manifest.json" {
            manifest_json = Some(serde_json::from_slice::<Value>(&data).unwrap());
        } else {
            files.insert(path, (sha256(&data), data.len() as u64));
        }
    }
    let dm = manifest_json.unwrap_or_else(|| panic!("{ctx}: docker-archive has no manifest.json"));
    assert_eq!(
        dm[0]["RepoTags"],
        serde_json::json!([name]),
        "{ctx}: docker-archive RepoTags"
    );
    let layer_files = dm[0]["Layers"]
        .as_array()
        .unwrap_or_else(|| panic!("{ctx}: {dm}"));
    assert_eq!(layer_files.len(), 1, "{ctx}: docker-archive layers");
    let (layer_sha, layer_len) = &files[layer_files[0].as_str().unwrap()];
    assert_eq!(
        layer_sha,
        img.diff_id(),
        "{ctx}: docker-archive layer vs diff_id"
    );
    assert_eq!(
        *layer_len,
        img.fixture.tar.len() as u64,
        "{ctx}: docker-archive layer size"
    );
    let (config_sha, _) = &files[s(&dm, "/0/Config")];
    assert_eq!(
        config_sha,
        img.config_digest(),
        "{ctx}: docker-archive config"
    );
    fs::remove_file(&archive).unwrap();
}

/// Workaround for consumers that predate zstd layers: skopeo decodes our
/// zstd layer and writes a gzip copy of the image (same config, same
/// diff_id) into `scratch/gzip-copy`. Returns that layout and its manifest digest.
fn skopeo_gzip_copy(img: &Image, scratch: &Path) -> (PathBuf, String) {
    let gz_layout = scratch.join("gzip-copy");
    let gz_ref = oci_ref(&gz_layout, &img.tag);
    if !gz_layout.exists() {
        run_ok(
            Command::new("skopeo")
                .args(["copy", "--quiet", "--dest-compress-format", "gzip"])
                .arg(oci_ref(&img.layout, &img.tag))
                .arg(&gz_ref),
        );
    }
    let raw = run_ok(
        Command::new("skopeo")
            .args(["inspect", "--raw"])
            .arg(&gz_ref),
    )
    .output
    .stdout;
    let m: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        s(&m, "/layers/0/mediaType"),
        MT_GZIP,
        "skopeo's gzip copy of {}",
        img.layout.display()
    );
    assert_eq!(
        s(&m, "/config/digest"),
        img.config_digest(),
        "skopeo's gzip copy keeps the config"
    );
    (gz_layout, sha256(&raw))
}

// ---------------------------------------------------------------------------
// umoci
// ---------------------------------------------------------------------------

fn umoci_unpack(layout: &Path, tag: &str, bundle: &Path) -> Run {
    let mut cmd = Command::new("umoci");
    cmd.arg("unpack");
    if !is_root() {
        cmd.arg("--rootless");
    }
    cmd.arg("--image").arg(image_ref(layout, tag)).arg(bundle);
    run_cmd(&mut cmd)
}

/// `umoci unpack`s the image and compares the bundle's rootfs with the
/// fixture entry by entry.
fn umoci_checks(img: &Image, scratch: &Path) {
    let bundle = scratch.join("bundle");
    let mut unpacked_manifest = img.manifest_digest().to_string();
    let mut out = umoci_unpack(&img.layout, &img.tag, &bundle);
    let umoci_zstd_refusal = format!("blob is not correct mediatype: {MT_ZSTD}");
    if !out.status.success()
        && img.media_type == MT_ZSTD
        && String::from_utf8_lossy(&out.stderr).contains(&umoci_zstd_refusal)
    {
        // umoci 0.4.x predates zstd layers (opencontainers/umoci#316). Let
        // skopeo decode our zstd layer and re-encode it as gzip, then unpack
        // that: the tree check still proves the zstd layer's content.
        log_quirk_once(&format!(
            "umoci cannot read zstd layers ({}); unpacking a gzip copy made by skopeo",
            tool_version("umoci").unwrap_or_default()
        ));
        let _ = fs::remove_dir_all(&bundle);
        let (gz_layout, gz_manifest) = skopeo_gzip_copy(img, scratch);
        unpacked_manifest = gz_manifest;
        out = umoci_unpack(&gz_layout, &img.tag, &bundle);
    }
    out.succeeds();

    // bundle layout: rootfs/, config.json, umoci.json, sha256_<manifest>.mtree
    let config: Value =
        serde_json::from_slice(&fs::read(bundle.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        s(&config, "/root/path"),
        "rootfs",
        "umoci bundle config.json"
    );
    let umoci_json: Value =
        serde_json::from_slice(&fs::read(bundle.join("umoci.json")).unwrap()).unwrap();
    assert_eq!(
        s(
            &umoci_json,
            "/from_descriptor_path/descriptor_walk/0/digest"
        ),
        unpacked_manifest,
        "umoci.json records the manifest it unpacked"
    );
    let mtree_path = bundle.join(format!("sha256_{}.mtree", hex_of(&unpacked_manifest)));
    let mtree =
        fs::read_to_string(&mtree_path).unwrap_or_else(|e| panic!("{}: {e}", mtree_path.display()));

    compare_tree(&bundle.join("rootfs"), &img.fixture, is_root());

    // the PAX xattr: umoci records xattrs it set in its mtree, base64-encoded
    let xattr_line = mtree
        .lines()
        .map(str::trim_start)
        .find(|l| l.starts_with("xattr.txt "))
        .unwrap_or_else(|| panic!("no xattr.txt in umoci's mtree:\n{mtree}"));
    assert!(
        xattr_line.contains(&format!("xattr.user.test={XATTR_VALUE_B64}")),
        "umoci did not set the PAX xattr user.test={XATTR_VALUE:?}: {xattr_line}"
    );
    fs::remove_dir_all(&bundle).unwrap();
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        out.insert(
            path.strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
        if entry.file_type().unwrap().is_dir() {
            walk(root, &path, out);
        }
    }
}

/// Compares an unpacked tree with the fixture: same paths, and for each its
/// type, mode, owner, link target and content sha256.
fn compare_tree(root: &Path, fx: &Fixture, check_owner: bool) {
    let mut actual = BTreeSet::new();
    walk(root, root, &mut actual);
    let expected: BTreeSet<String> = fx.entries.iter().map(|e| e.path.clone()).collect();
    let missing: Vec<_> = expected.difference(&actual).collect();
    let extra: Vec<_> = actual.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "unpacked tree differs: missing {missing:?}, extra {extra:?}"
    );

    for e in &fx.entries {
        let p = root.join(&e.path);
        let md = fs::symlink_metadata(&p).unwrap();
        let ctx = format!("unpacked {}", e.path);
        match &e.kind {
            Kind::Dir => assert!(
                md.is_dir(),
                "{ctx}: expected a directory, got {:?}",
                md.file_type()
            ),
            Kind::File { sha256 } => {
                assert!(
                    md.is_file(),
                    "{ctx}: expected a regular file, got {:?}",
                    md.file_type()
                );
                assert_eq!(
                    &sha256_hex(&fs::read(&p).unwrap()),
                    sha256,
                    "{ctx}: content"
                );
            }
            Kind::Symlink { target } => {
                assert!(
                    md.file_type().is_symlink(),
                    "{ctx}: expected a symlink, got {:?}",
                    md.file_type()
                );
                assert_eq!(
                    fs::read_link(&p).unwrap(),
                    Path::new(target),
                    "{ctx}: symlink target"
                );
            }
            Kind::Hardlink { target } => {
                let tmd = fs::symlink_metadata(root.join(target)).unwrap();
                assert!(
                    md.is_file(),
                    "{ctx}: expected a regular file, got {:?}",
                    md.file_type()
                );
                assert_eq!(
                    (md.dev(), md.ino()),
                    (tmd.dev(), tmd.ino()),
                    "{ctx}: not a hardlink of {target}"
                );
                assert!(md.nlink() >= 2, "{ctx}: link count {}", md.nlink());
            }
        }
        if !md.file_type().is_symlink() {
            assert_eq!(
                md.mode() & 0o7777,
                e.mode,
                "{ctx}: mode {:o}",
                md.mode() & 0o7777
            );
        }
        if check_owner {
            assert_eq!(
                (md.uid() as u64, md.gid() as u64),
                (e.uid, e.gid),
                "{ctx}: owner"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// podman
// ---------------------------------------------------------------------------

/// Removes, on drop, the images and working containers a test added.
#[derive(Default)]
struct StorageCleanup {
    images: Vec<String>,
    buildah_containers: Vec<String>,
}

impl Drop for StorageCleanup {
    fn drop(&mut self) {
        for c in self.buildah_containers.iter().rev() {
            let out = run_cmd(Command::new("buildah").arg("rm").arg(c));
            if !out.status.success() {
                log(&format!(
                    "cleanup: buildah rm {c}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
        for i in self.images.iter().rev() {
            let out = run_cmd(Command::new("podman").args(["rmi", "--force"]).arg(i));
            let err = String::from_utf8_lossy(&out.stderr);
            if !out.status.success() && !err.contains("image not known") {
                log(&format!("cleanup: podman rmi {i}: {}", err.trim()));
            }
        }
    }
}

/// `podman run` with the flags these machines need, printing /etc/os-release.
fn podman_run_cat_os_release(image: &str) -> Run {
    run_ok(
        Command::new("podman")
            .args(["run", "--rm", "--runtime", "runc", "--network", "none"])
            .args([
                "--ulimit",
                "nofile=1024:1024",
                "--ulimit",
                "nproc=1024:1024",
            ])
            .arg(image)
            .args(["/bin/sh", "-c", "cat /etc/os-release"]),
    )
}

fn podman_inspect(reference: &str) -> Value {
    let v = stdout_json(
        Command::new("podman")
            .args(["image", "inspect"])
            .arg(reference),
    );
    assert_eq!(
        v.as_array().map(Vec::len),
        Some(1),
        "podman image inspect {reference}: {v}"
    );
    v[0].clone()
}

/// `podman pull oci:` + tag + run + inspect. Podman 4.3 names an image pulled
/// from `oci:PATH:TAG` after PATH (`localhost/PATH:latest`, not after TAG),
/// and fails if PATH has characters not allowed in an image name (tempfile's
/// `.tmpAbC123`). So the pull runs in the layout's parent with a relative,
/// lowercase layout name, and the image is then used by ID and our own tag.
fn podman_checks(img: &Image, name: &str, cleanup: &mut StorageCleanup) {
    let parent = img.layout.parent().unwrap();
    let dir = img.layout.file_name().unwrap().to_str().unwrap();
    let ctx = format!("podman, {}:{}", img.layout.display(), img.tag);
    let config_hex = hex_of(img.config_digest()).to_string();

    let out = run_ok(
        Command::new("podman")
            .args(["pull", "--quiet"])
            .arg(format!("oci:{dir}:{}", img.tag))
            .current_dir(parent),
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    cleanup.images.push(id.clone());
    assert_eq!(
        id, config_hex,
        "{ctx}: podman pull prints the image ID, which is the config digest"
    );

    let local = format!("localhost/{name}:{}", img.tag);
    run_ok(Command::new("podman").arg("tag").arg(&id).arg(&local));
    cleanup.images.push(local.clone());

    let out = podman_run_cat_os_release(&local);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        img.fixture.os_release,
        "{ctx}: container output"
    );

    let insp = podman_inspect(&local);
    assert_eq!(s(&insp, "/Id"), config_hex, "{ctx}: Id");
    assert_eq!(s(&insp, "/Digest"), img.manifest_digest(), "{ctx}: Digest");
    assert_eq!(
        s(&insp, "/Architecture"),
        host_goarch(),
        "{ctx}: Architecture"
    );
    assert_eq!(s(&insp, "/Os"), "linux", "{ctx}: Os");
    assert_eq!(s(&insp, "/Created"), CREATED, "{ctx}: Created");
    assert_eq!(
        insp["RootFS"]["Layers"],
        serde_json::json!([img.diff_id()]),
        "{ctx}: RootFS.Layers"
    );
}

/// `skopeo copy oci:... containers-storage:...`, then remove it again so that
/// the podman pull after it decodes the layer itself instead of reusing it.
fn containers_storage_checks(img: &Image, name: &str, cleanup: &mut StorageCleanup) {
    let dest = format!("localhost/{name}-cs:{}", img.tag);
    cleanup.images.push(dest.clone());
    run_ok(
        Command::new("skopeo")
            .args(["copy", "--quiet"])
            .arg(oci_ref(&img.layout, &img.tag))
            .arg(format!("containers-storage:{dest}")),
    );
    let insp = podman_inspect(&dest);
    let config_hex = hex_of(img.config_digest());
    assert_eq!(s(&insp, "/Id"), config_hex, "containers-storage:{dest}: Id");
    assert_eq!(
        s(&insp, "/Digest"),
        img.manifest_digest(),
        "containers-storage:{dest}: Digest"
    );
    let out = run_ok(Command::new("podman").arg("rmi").arg(&dest));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("Deleted: {config_hex}")),
        "podman rmi {dest} must delete the image (and its layer), said:\n{text}"
    );
}

// ---------------------------------------------------------------------------
// the cases
// ---------------------------------------------------------------------------

/// One input compression through every `--compression` choice: skopeo and
/// umoci for each; podman (and containers-storage) for the choices in `podman`.
fn matrix(test: &str, input: Input, podman: &[Choice]) {
    let mut tools = vec![input.tool(), "gzip", "zstd", "skopeo", "umoci"];
    if !podman.is_empty() {
        tools.extend(["podman", "runc"]);
    }
    let Some(_run) = require(test, &tools) else {
        return;
    };
    for choice in ALL_CHOICES {
        let tmp = tempfile::Builder::new()
            .prefix("ociimport-interop-")
            .tempdir()
            .unwrap();
        let name = unique_name(&format!("{}-{}", input.label(), choice.arg()));
        let fixture = build_fixture(&name);
        let input_path = input.compress(&fixture.tar, tmp.path());
        let layout = tmp.path().join(&name);
        let img = import(&layout, TAG, &input_path, input, choice, fixture);
        skopeo_checks(&img, tmp.path(), &name);
        umoci_checks(&img, tmp.path());
        if podman.contains(&choice) {
            let _lock = storage_lock();
            let mut cleanup = StorageCleanup::default();
            containers_storage_checks(&img, &name, &mut cleanup);
            podman_checks(&img, &name, &mut cleanup);
        }
        log(&format!(
            "{test}: {} --compression {} -> {} ok{}",
            input.label(),
            choice.arg(),
            img.media_type,
            if podman.contains(&choice) {
                " (skopeo, umoci, podman)"
            } else {
                " (skopeo, umoci)"
            }
        ));
    }
}

#[test]
fn interop_gzip() {
    matrix("interop_gzip", Input::Gzip, &[Choice::Auto]);
}

#[test]
fn interop_gzip_multi_member() {
    matrix(
        "interop_gzip_multi_member",
        Input::GzipMultiMember,
        &[Choice::Auto],
    );
}

/// The one variant that runs podman for every --compression choice: xz is
/// re-encoded for every choice, so each choice's encoder is exercised.
#[test]
fn interop_xz_multi_block() {
    matrix("interop_xz_multi_block", Input::XzMultiBlock, &ALL_CHOICES);
}

#[test]
fn interop_zstd() {
    matrix("interop_zstd", Input::Zstd, &[Choice::Auto]);
}

#[test]
fn interop_bzip2() {
    matrix("interop_bzip2", Input::Bzip2, &[Choice::Auto]);
}

#[test]
fn interop_plain_tar() {
    matrix("interop_plain_tar", Input::Plain, &[Choice::Auto]);
}

/// Two inputs appended to one layout under two tags: each tag resolves to its
/// own image in skopeo and umoci, and both pull and run in podman.
#[test]
fn interop_two_tags_one_layout() {
    let test = "interop_two_tags_one_layout";
    let Some(_run) = require(
        test,
        &["gzip", "xz", "zstd", "skopeo", "umoci", "podman", "runc"],
    ) else {
        return;
    };
    let tmp = tempfile::Builder::new()
        .prefix("ociimport-interop-")
        .tempdir()
        .unwrap();
    let name = unique_name("two-tags");
    let layout = tmp.path().join(&name);
    let mut images = Vec::new();
    for (tag, input) in [("first", Input::Gzip), ("second", Input::XzMultiBlock)] {
        let fixture = build_fixture(&format!("{name}-{tag}"));
        let dir = tmp.path().join(tag);
        fs::create_dir(&dir).unwrap();
        let input_path = input.compress(&fixture.tar, &dir);
        images.push(import(
            &layout,
            tag,
            &input_path,
            input,
            Choice::Auto,
            fixture,
        ));
    }
    assert_ne!(images[0].manifest_digest(), images[1].manifest_digest());

    let index: Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let refs: Vec<(&str, &str)> = index["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("index.json: {index}"))
        .iter()
        .map(|m| {
            (
                s(m, "/annotations/org.opencontainers.image.ref.name"),
                s(m, "/digest"),
            )
        })
        .collect();
    assert_eq!(
        refs,
        vec![
            ("first", images[0].manifest_digest()),
            ("second", images[1].manifest_digest())
        ],
        "index.json after two imports"
    );

    for img in &images {
        let scratch = tmp.path().join(&img.tag);
        skopeo_checks(img, &scratch, &format!("{name}-{}", img.tag));
        umoci_checks(img, &scratch);
    }

    let _lock = storage_lock();
    let mut cleanup = StorageCleanup::default();
    for img in &images {
        podman_checks(img, &format!("{name}-{}", img.tag), &mut cleanup);
    }
    log(&format!(
        "{test}: tags first and second both pulled and ran"
    ));
}

/// `buildah from oci:DIR:TAG` makes a working container from our image.
#[test]
fn interop_buildah_from() {
    let test = "interop_buildah_from";
    let Some(_run) = require(test, &["gzip", "buildah", "podman"]) else {
        return;
    };
    let tmp = tempfile::Builder::new()
        .prefix("ociimport-interop-")
        .tempdir()
        .unwrap();
    let name = unique_name("buildah");
    let fixture = build_fixture(&name);
    let input_path = Input::Gzip.compress(&fixture.tar, tmp.path());
    let layout = tmp.path().join(&name);
    let img = import(
        &layout,
        TAG,
        &input_path,
        Input::Gzip,
        Choice::Auto,
        fixture,
    );

    let _lock = storage_lock();
    let mut cleanup = StorageCleanup::default();
    cleanup.images.push(hex_of(img.config_digest()).to_string());
    let container = format!("{name}-working-container");
    cleanup.buildah_containers.push(container.clone());
    // relative, lowercase layout path: buildah 1.28 names the image after it
    let out = run_ok(
        Command::new("buildah")
            .args(["from", "--quiet", "--name"])
            .arg(&container)
            .arg(format!("oci:{name}:{TAG}"))
            .current_dir(tmp.path()),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        container,
        "buildah from prints the container name"
    );
    let out = run_ok(
        Command::new("buildah")
            .args([
                "inspect",
                "--type",
                "container",
                "--format",
                "{{.FromImageID}}",
            ])
            .arg(&container),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        hex_of(img.config_digest()),
        "buildah FromImageID"
    );
    let out = run_ok(
        Command::new("buildah")
            .args([
                "inspect",
                "--type",
                "container",
                "--format",
                "{{.OCIv1.Architecture}} {{.OCIv1.OS}}",
            ])
            .arg(&container),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{} linux", host_goarch()),
        "buildah's view of the image platform"
    );
    log(&format!("{test}: buildah from oci:{name}:{TAG} ok"));
}

/// `--arch`/`--variant` for another machine: skopeo and podman report the
/// platform ociimport wrote (podman only warns about the mismatch on pull).
#[test]
fn interop_foreign_platform() {
    let test = "interop_foreign_platform";
    let Some(_run) = require(test, &["gzip", "skopeo", "podman"]) else {
        return;
    };
    let (arch, variant) = if host_goarch() == "arm64" {
        ("amd64", None)
    } else {
        ("arm64", Some("v8"))
    };
    let tmp = tempfile::Builder::new()
        .prefix("ociimport-interop-")
        .tempdir()
        .unwrap();
    let name = unique_name("foreign-platform");
    let fixture = build_fixture(&name);
    let input_path = Input::Gzip.compress(&fixture.tar, tmp.path());
    let layout = tmp.path().join(&name);
    let mut cmd = Command::new(bin());
    cmd.arg("-o")
        .arg(&layout)
        .args(["-t", TAG, "--created", CREATED, "--arch", arch, "--json"]);
    if let Some(v) = variant {
        cmd.args(["--variant", v]);
    }
    let report = stdout_json(cmd.arg(&input_path));
    assert_eq!(s(&report, "/platform/architecture"), arch);
    assert_eq!(
        report.pointer("/platform/variant").and_then(Value::as_str),
        variant
    );

    let r = oci_ref(&layout, TAG);
    let insp = stdout_json(Command::new("skopeo").arg("inspect").arg(&r));
    assert_eq!(
        s(&insp, "/Digest"),
        s(&report, "/manifest/digest"),
        "skopeo inspect Digest"
    );
    assert_eq!(
        s(&insp, "/Architecture"),
        arch,
        "skopeo inspect Architecture"
    );
    let config = stdout_json(Command::new("skopeo").args(["inspect", "--config"]).arg(&r));
    assert_eq!(s(&config, "/architecture"), arch, "config architecture");
    assert_eq!(
        config.get("variant").and_then(Value::as_str),
        variant,
        "config variant"
    );

    let _lock = storage_lock();
    let mut cleanup = StorageCleanup::default();
    let out = run_ok(
        Command::new("podman")
            .args(["pull", "--quiet"])
            .arg(format!("oci:{name}:{TAG}"))
            .current_dir(tmp.path()),
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    cleanup.images.push(id.clone());
    assert_eq!(
        id,
        hex_of(s(&report, "/config/digest")),
        "podman pull prints the config digest"
    );
    let insp = podman_inspect(&id);
    assert_eq!(
        s(&insp, "/Architecture"),
        arch,
        "podman image inspect Architecture"
    );
    assert_eq!(s(&insp, "/Os"), "linux", "podman image inspect Os");
    log(&format!(
        "{test}: linux/{arch}{} image inspected by skopeo and podman",
        variant.map(|v| format!("/{v}")).unwrap_or_default()
    ));
}

/// Logs the consumer versions and checks each prints a version.
#[test]
fn interop_tool_versions() {
    let tools = ["podman", "skopeo", "umoci", "runc", "buildah"];
    let Some(_run) = require("interop_tool_versions", &tools) else {
        return;
    };
    for (tool, prefix) in [
        ("podman", "podman version "),
        ("skopeo", "skopeo version "),
        ("umoci", "umoci version "),
        ("runc", "runc version "),
        ("buildah", "buildah version "),
    ] {
        let v = tool_version(tool).unwrap();
        let rest = v.strip_prefix(prefix).unwrap_or_else(|| {
            panic!("`{tool} --version` printed {v:?}, expected it to start with {prefix:?}")
        });
        assert!(
            rest.starts_with(|c: char| c.is_ascii_digit()),
            "{tool} version {rest:?}"
        );
    }
}

/// `--format oci-archive`: skopeo reads the archive, podman loads it from a
/// file and from a pipe, runs it, and a skopeo-written layout copied from it
/// passes `ociimport verify`.
#[test]
fn interop_oci_archive() {
    let test = "interop_oci_archive";
    let Some(_run) = require(test, &["gzip", "skopeo", "podman", "runc"]) else {
        return;
    };
    let tmp = tempfile::Builder::new()
        .prefix("ociimport-interop-")
        .tempdir()
        .unwrap();
    let name = unique_name("archive");
    let fixture = build_fixture(&name);
    let input_path = Input::Gzip.compress(&fixture.tar, tmp.path());
    let archive = tmp.path().join(format!("{name}.oci.tar"));
    let report = stdout_json(
        Command::new(bin())
            .arg(&input_path)
            .args(["--format", "oci-archive", "--json", "-q", "-t", &name])
            .args(["--created", CREATED])
            .arg("-o")
            .arg(&archive),
    );
    let manifest = s(&report, "/manifest/digest").to_string();
    let config_hex = hex_of(s(&report, "/config/digest")).to_string();
    assert_eq!(s(&report, "/format"), "oci-archive");

    // skopeo reads the archive and sees what we wrote.
    let reference = format!("oci-archive:{}:{name}", archive.display());
    let insp = stdout_json(Command::new("skopeo").arg("inspect").arg(&reference));
    assert_eq!(s(&insp, "/Digest"), manifest, "skopeo inspect {reference}");
    assert_eq!(
        insp["Layers"],
        serde_json::json!([s(&report, "/layers/0/digest")]),
        "skopeo inspect {reference}: layers"
    );
    // A layout written by skopeo from it passes our verify.
    let copied = tmp.path().join("copied");
    run_ok(
        Command::new("skopeo")
            .arg("copy")
            .arg(&reference)
            .arg(format!("oci:{}:{name}", copied.display())),
    );
    let out = run_ok(
        Command::new(bin())
            .arg("verify")
            .arg(format!("{}:{name}", copied.display())),
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("OK"),
        "verify of skopeo's copy: {}",
        String::from_utf8_lossy(&out.stdout)
    );

    let _lock = storage_lock();
    let mut cleanup = StorageCleanup::default();
    // podman load -i FILE names the image after io.containerd.image.name:
    // the input's base name and the tag.
    let out = run_ok(Command::new("podman").args(["load", "-i"]).arg(&archive));
    let loaded = String::from_utf8_lossy(&out.stdout).to_string();
    let local = format!("docker.io/library/rootfs:{name}");
    assert_eq!(input_path.file_name().unwrap(), "rootfs.tar.gz");
    assert_eq!(s(&report, "/name"), local);
    cleanup.images.push(local.clone());
    assert!(loaded.contains(&local), "podman load said: {loaded}");
    let insp = podman_inspect(&local);
    assert_eq!(s(&insp, "/Id"), config_hex, "podman load: image ID");
    assert_eq!(s(&insp, "/Created"), CREATED, "podman load: Created");
    let out = podman_run_cat_os_release(&local);
    assert_eq!(String::from_utf8_lossy(&out.stdout), fixture.os_release);
    run_ok(Command::new("podman").args(["rmi", "--force"]).arg(&local));

    // The same archive on a pipe: ociimport -o - | podman load.
    let piped = run_ok(
        Command::new(bin())
            .arg(&input_path)
            .args([
                "--format",
                "oci-archive",
                "-q",
                "-t",
                &name,
                "--created",
                CREATED,
            ])
            .args(["-o", "-"]),
    );
    assert_eq!(
        piped.stdout,
        fs::read(&archive).unwrap(),
        "the archive on stdout is the archive written to a file"
    );
    let out = run_ok_input(Command::new("podman").arg("load"), &piped.stdout);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&local),
        "podman load from a pipe: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let insp = podman_inspect(&local);
    assert_eq!(
        s(&insp, "/Id"),
        config_hex,
        "podman load from a pipe: image ID"
    );
    log(&format!(
        "{test}: skopeo inspect/copy, podman load -i and podman load < pipe passed"
    ));
}

/// The summary's "use it" lines, as printed.
fn printed_hints(stderr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_hints = false;
    for line in stderr.lines() {
        if let Some(cmd) = line.strip_prefix("  use it:   ") {
            in_hints = true;
            out.push(cmd.to_string());
        } else if in_hints && line.starts_with("            ") {
            out.push(line.trim().to_string());
        } else {
            in_hints = false;
        }
    }
    out
}

/// Every command the summary prints works as printed, run by `sh` in the
/// directory the import ran in, and none writes over an input: an
/// upper-case layout name (which `podman pull oci:` refuses to name), the
/// input in its own directory, a directory with a space, a ref name that
/// is not a docker tag, an archive, and an image index.
#[test]
fn interop_printed_hints_work_as_printed() {
    let test = "interop_printed_hints_work_as_printed";
    let Some(_run) = require(test, &["podman", "skopeo"]) else {
        return;
    };
    let tmp = tempfile::Builder::new()
        .prefix("ociimport-interop-")
        .tempdir()
        .unwrap();
    let id = run_id();
    let tar = fs::read(format!(
        "{}/testdata/rootfs.tar",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let upper = format!("Rootfs-Hint-{id}.tar");
    let lower = format!("hint-{id}.tar");
    for f in [&upper, &lower] {
        fs::write(tmp.path().join(f), &tar).unwrap();
    }
    let spaced = format!("hint dir {id}");
    let archive = format!("hint-archive-{id}.tar");
    let cases: Vec<Vec<String>> = vec![
        vec![upper.clone()],
        vec![lower.clone(), "-t".into(), "a/b".into()],
        vec![lower.clone(), "-o".into(), spaced, "-t".into(), "v2".into()],
        vec![
            lower.clone(),
            "--format".into(),
            "oci-archive".into(),
            "-o".into(),
            archive,
        ],
        // An archive named by -t NS/NAME:TAG, and an --index archive.
        vec![
            lower.clone(),
            "--format".into(),
            "oci-archive".into(),
            "-o".into(),
            format!("named-{id}.tar"),
            "-t".into(),
            format!("hintns/hint-{id}:v3"),
        ],
        vec![
            "--index".into(),
            lower.clone(),
            "--format".into(),
            "oci-archive".into(),
            "-o".into(),
            format!("index-archive-{id}.tar"),
        ],
        vec![
            "--index".into(),
            lower.clone(),
            "-o".into(),
            format!("Index-{id}"),
        ],
        // zstd layers: no docker-archive command (skopeo cannot write one),
        // only the podman pull.
        vec![
            lower.clone(),
            "--compression".into(),
            "zstd".into(),
            "-o".into(),
            format!("zstd-{id}"),
        ],
    ];
    let _lock = storage_lock();
    let mut cleanup = StorageCleanup::default();
    let mut ran = 0;
    for args in &cases {
        let err = run_ok(
            Command::new(bin())
                .current_dir(tmp.path())
                .args(args)
                .args(["--arch", host_goarch()]),
        )
        .err();
        let hints = printed_hints(&err);
        let zstd = args.iter().any(|a| a == "zstd");
        let archive = args.iter().any(|a| a == "oci-archive");
        let want = match (zstd, archive) {
            (true, _) => 1,
            (false, true) => 3,
            (false, false) => 2,
        };
        assert_eq!(hints.len(), want, "{args:?}: {err}");
        // The image's name, as the summary prints it.
        let name = err
            .lines()
            .find_map(|l| l.strip_prefix("  name      "))
            .unwrap_or_default()
            .to_string();
        for cmd in hints {
            // docker load and ctr images import run against the daemons
            // that tests/docker.rs starts.
            if cmd.starts_with("docker load -i ") || cmd.starts_with("ctr images import ") {
                assert!(archive, "{cmd} for a layout");
                continue;
            }
            assert!(!cmd.contains("REGISTRY"), "placeholder in {cmd}");
            for input in [&upper, &lower] {
                assert!(
                    !cmd.contains(&format!(":{input}:")),
                    "{cmd} names the input {input} as an output"
                );
            }
            let out = run_cmd(
                Command::new("sh")
                    .current_dir(tmp.path())
                    .args(["-c", &cmd]),
            )
            .succeeds();
            // The image each command made, for the cleanup and a check that it exists.
            for word in cmd.split_whitespace() {
                if let Some(name) = word.strip_prefix("containers-storage:") {
                    cleanup.images.push(name.to_string());
                    podman_inspect(name);
                }
            }
            if cmd.starts_with("podman ") {
                let said = String::from_utf8_lossy(&out.stdout).to_string();
                let loaded: Vec<String> = said
                    .lines()
                    .filter_map(|l| l.strip_prefix("Loaded image: "))
                    .map(str::to_string)
                    .collect();
                cleanup.images.extend(loaded.clone());
                if cmd.starts_with("podman load ") {
                    // The name -t gave (or the input's), never localhost/latest:latest.
                    assert_eq!(loaded, std::slice::from_ref(&name), "{cmd}: {said}");
                    let listed = run_ok(Command::new("podman").args([
                        "images",
                        "--format",
                        "{{.Repository}}:{{.Tag}}",
                    ]));
                    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
                    assert!(listed.lines().any(|l| l == name), "{name} not in {listed}");
                }
                if cmd.starts_with("podman pull ") {
                    cleanup.images.push(said.trim().to_string());
                }
            }
            ran += 1;
        }
        for input in [&upper, &lower] {
            assert_eq!(
                fs::read(tmp.path().join(input)).unwrap(),
                tar,
                "{input} was changed by the printed commands"
            );
        }
    }
    assert_eq!(ran, 12);
    log(&format!(
        "{test}: {ran} printed commands ran and worked (docker load and ctr images import run in tests/docker.rs)"
    ));
}

/// An Arch Linux bootstrap as archiso makes it (`bsdtar -cf - root.x86_64
/// pkglist.x86_64.txt version | zstd --long -19`), with a busybox-static
/// rootfs under `root.x86_64/`: `--strip-components 1` makes an image whose
/// `/bin/sh -c` runs in podman, with nothing of the wrapper left.
#[test]
fn interop_arch_bootstrap_strip_components() {
    let test = "interop_arch_bootstrap_strip_components";
    let Some(_run) = require(test, &["bsdtar", "zstd", "podman", "runc"]) else {
        return;
    };
    let tmp = tempfile::Builder::new()
        .prefix("ociimport-interop-")
        .tempdir()
        .unwrap();
    let d = tmp.path();
    let root = d.join("root.x86_64");
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::copy(BUSYBOX, root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    fs::hard_link(root.join("bin/busybox"), root.join("bin/cat")).unwrap();
    let os_release = "NAME=\"Arch Linux\"\nID=arch\n";
    fs::write(root.join("etc/os-release"), os_release).unwrap();
    fs::write(d.join("pkglist.x86_64.txt"), "busybox 1.36\n").unwrap();
    fs::write(d.join("version"), "2024.01.01\n").unwrap();
    run_ok(Command::new("sh").current_dir(d).args([
        "-c",
        "bsdtar -cf - root.x86_64 pkglist.x86_64.txt version | zstd -q -19 --long -o bootstrap.tar.zst",
    ]));

    let name = unique_name("arch");
    let report = stdout_json(
        Command::new(bin())
            .current_dir(d)
            .args([
                "bootstrap.tar.zst",
                "--strip-components",
                "1",
                "--json",
                "-q",
            ])
            .args(["-o", &name, "-t", "t"]),
    );
    // bin, bin/busybox, bin/sh, bin/cat, etc, etc/os-release: root.x86_64/
    // itself has nothing left, the two wrapper files are outside it.
    assert_eq!(u(&report, "/layers/0/entries"), 6, "{report}");
    assert_eq!(
        s(&report, "/platform/architecture"),
        host_goarch(),
        "{report}"
    );
    assert_eq!(
        report.pointer("/layers/0/passthrough"),
        Some(&Value::Bool(false)),
        "{report}"
    );

    let _storage = storage_lock();
    let mut cleanup = StorageCleanup::default();
    let out = run_ok(
        Command::new("podman")
            .args(["pull", "--quiet"])
            .arg(format!("oci:{name}:t"))
            .current_dir(d),
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    cleanup.images.push(id.clone());
    let out = podman_run_cat_os_release(&id);
    assert_eq!(String::from_utf8_lossy(&out.stdout), os_release);
    log(&format!("{test}: /bin/sh -c ran in the stripped bootstrap"));
}

// ---------------------------------------------------------------------------
// --index: multi-platform image indexes, in a layout and in a registry
// ---------------------------------------------------------------------------

/// A little-endian Elf64 executable header for ELF `machine`: enough for
/// platform detection; nothing in these images is ever executed.
fn fake_elf64(machine: u16) -> Vec<u8> {
    let mut h = elf64_header(machine, ET_EXEC);
    h.extend_from_slice(&[0x5a; 256]);
    h
}

/// A tiny rootfs for a foreign machine: a fake ELF `bin/busybox` and an
/// os-release naming `name` (unique, so no image is ever reused from storage).
fn foreign_rootfs(machine: u16, name: &str) -> Vec<u8> {
    let mut f = FixtureBuilder {
        b: tar::Builder::new(Vec::new()),
        entries: Vec::new(),
    };
    f.dir("bin");
    f.dir("etc");
    f.file("bin/busybox", &fake_elf64(machine), 0o755, 0, 0);
    let os_release = format!("ID=ociimport-interop\nVERSION_ID=\"{name}\"\n");
    f.file("etc/os-release", os_release.as_bytes(), 0o644, 0, 0);
    f.b.into_inner().unwrap()
}

/// The two foreign platforms beside the host's: (GOARCH, ELF machine, input name).
fn foreign_platforms() -> [(&'static str, u16, &'static str); 2] {
    if host_goarch() == "arm64" {
        [
            ("amd64", EM_X86_64, "amd64.tar"),
            ("riscv64", EM_RISCV, "riscv64.tar"),
        ]
    } else {
        [
            ("arm64", EM_AARCH64, "arm64.tar"),
            ("riscv64", EM_RISCV, "riscv64.tar"),
        ]
    }
}

/// An index of three platforms, the host's (runnable busybox fixture) and
/// two foreign ones, imported with one `ociimport --index` into `tmp/name`.
/// Returns the layout, the report and the host fixture's os-release.
fn import_index_fixture(tmp: &Path, name: &str) -> (PathBuf, Value, String) {
    let fixture = build_fixture(name);
    let host = tmp.join("host.tar");
    fs::write(&host, &fixture.tar).unwrap();
    let mut cmd = Command::new(bin());
    cmd.arg("--index").arg(&host);
    for (arch, machine, file) in foreign_platforms() {
        let path = tmp.join(file);
        fs::write(&path, foreign_rootfs(machine, &format!("{name}-{arch}"))).unwrap();
        cmd.arg(path);
    }
    let layout = tmp.join(name);
    cmd.arg("-o")
        .arg(&layout)
        .args(["-t", TAG, "--created", CREATED, "--json", "-q"]);
    let report = stdout_json(&mut cmd);
    assert_eq!(
        report["platforms"].as_array().map(Vec::len),
        Some(3),
        "{report}"
    );
    (layout, report, fixture.os_release)
}

/// The image of `arch` in an `--index` report.
fn index_image<'a>(report: &'a Value, arch: &str) -> &'a Value {
    report["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["platform"]["architecture"] == arch)
        .unwrap_or_else(|| panic!("no {arch} image in {report}"))
}

/// What `skopeo inspect --raw` printed is our image index: the same bytes
/// (by digest) and the platforms of the report.
fn assert_raw_is_our_index(raw: &[u8], report: &Value, ctx: &str) {
    assert_eq!(
        sha256(raw),
        s(report, "/index/digest"),
        "{ctx}: the index bytes are ours"
    );
    let v: Value = serde_json::from_slice(raw).unwrap();
    assert_eq!(
        s(&v, "/mediaType"),
        "application/vnd.oci.image.index.v1+json",
        "{ctx}"
    );
    let archs: BTreeSet<&str> = v["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    let mut want: BTreeSet<&str> = foreign_platforms().iter().map(|p| p.0).collect();
    want.insert(host_goarch());
    assert_eq!(archs, want, "{ctx}: platforms");
}

/// `podman pull --arch ARCH REFERENCE` (in `cwd`; without `--arch` when
/// `arch` is the host's), then `podman image inspect` shows that
/// architecture and the image is the one we wrote.
fn podman_pull_arch(
    reference: &str,
    extra: &[&str],
    cwd: &Path,
    arch: &str,
    image: &Value,
    cleanup: &mut StorageCleanup,
) {
    let mut cmd = Command::new("podman");
    cmd.args(["pull", "--quiet"]);
    if arch != host_goarch() {
        cmd.args(["--arch", arch]);
    }
    let out = run_ok(cmd.args(extra).arg(reference).current_dir(cwd));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    cleanup.images.push(id.clone());
    assert_eq!(
        id,
        hex_of(s(image, "/config/digest")),
        "podman pull --arch {arch} {reference}: the image ID is that platform's config digest"
    );
    let insp = podman_inspect(&id);
    assert_eq!(s(&insp, "/Architecture"), arch, "{reference}: Architecture");
    assert_eq!(s(&insp, "/Os"), "linux", "{reference}: Os");
}

/// `--index` with three platforms: skopeo reads the index, `copy --all`
/// carries it to a second layout that `ociimport verify` passes, podman
/// pulls each foreign platform by `--arch` and runs the host's, buildah
/// builds from the host's.
#[test]
fn interop_index_layout() {
    let test = "interop_index_layout";
    let Some(_run) = require(test, &["skopeo", "podman", "buildah", "runc"]) else {
        return;
    };
    let tmp = tempfile::Builder::new()
        .prefix("ociimport-interop-")
        .tempdir()
        .unwrap();
    let name = unique_name("index");
    let (layout, report, os_release) = import_index_fixture(tmp.path(), &name);

    let raw = run_ok(
        Command::new("skopeo")
            .args(["inspect", "--raw"])
            .arg(oci_ref(&layout, TAG)),
    );
    assert_raw_is_our_index(&raw.stdout, &report, "skopeo inspect --raw oci:");

    // skopeo copy --all to a second layout: every platform, the index intact.
    let copy = tmp.path().join("copy");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "--quiet", "--all"])
            .arg(oci_ref(&layout, TAG))
            .arg(oci_ref(&copy, TAG)),
    );
    let raw = run_ok(
        Command::new("skopeo")
            .args(["inspect", "--raw"])
            .arg(oci_ref(&copy, TAG)),
    );
    assert_raw_is_our_index(&raw.stdout, &report, "after skopeo copy --all");
    run_ok(Command::new(bin()).arg("verify").arg(&copy));

    let _lock = storage_lock();
    let mut cleanup = StorageCleanup::default();
    let reference = format!("oci:{name}:{TAG}");
    for (arch, _, _) in foreign_platforms() {
        let image = index_image(&report, arch);
        podman_pull_arch(&reference, &[], tmp.path(), arch, image, &mut cleanup);
    }
    // Without --arch podman picks the host's image, which runs.
    let host = index_image(&report, host_goarch());
    podman_pull_arch(
        &reference,
        &[],
        tmp.path(),
        host_goarch(),
        host,
        &mut cleanup,
    );
    let out = podman_run_cat_os_release(hex_of(s(host, "/config/digest")));
    assert_eq!(String::from_utf8_lossy(&out.stdout), os_release);

    let container = format!("{name}-working-container");
    cleanup.buildah_containers.push(container.clone());
    run_ok(
        Command::new("buildah")
            .args(["from", "--quiet", "--name"])
            .arg(&container)
            .arg(&reference)
            .current_dir(tmp.path()),
    );
    let out = run_ok(
        Command::new("buildah")
            .args(["inspect", "--type", "container", "--format"])
            .arg("{{.FromImageID}} {{.OCIv1.Architecture}}")
            .arg(&container),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{} {}", hex_of(s(host, "/config/digest")), host_goarch()),
        "buildah from picks the host's image of the index"
    );
    log(&format!(
        "{test}: skopeo, copy --all, podman pull --arch, buildah from: ok"
    ));
}

/// A `docker-registry serve` on 127.0.0.1 with its storage in a temp
/// directory; killed when dropped.
struct Registry {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("ociimport-registry-")
            .tempdir()
            .unwrap();
        // A free port: the kernel's pick, released for the registry to take.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("config.yml");
        let storage = dir.path().join("storage");
        fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                storage.display()
            ),
        )
        .unwrap();
        let log_path = dir.path().join("registry.log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&log_path).unwrap())
            .stderr(fs::File::create(dir.path().join("registry.err")).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start docker-registry: {e}"));
        let mut r = Registry {
            child,
            port,
            _dir: dir,
        };
        r.wait_ready();
        r
    }

    /// Until `GET /v2/` answers 200 (at most 30 s).
    fn wait_ready(&mut self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let err =
                    fs::read_to_string(self._dir.path().join("registry.err")).unwrap_or_default();
                panic!("docker-registry exited with {status} before it was ready:\n{err}");
            }
            if let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = c.write_all(b"GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
                let mut answer = String::new();
                let _ = c.read_to_string(&mut answer);
                if answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200") {
                    return;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "docker-registry on 127.0.0.1:{} not ready after 30 s",
                self.port
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The README's registry paragraph, proved: `skopeo copy --all` pushes the
/// layout's index to a real registry (Debian's docker-registry), `skopeo
/// inspect --raw` shows the same index, and `podman pull --arch` from the
/// registry gets each platform.
#[test]
fn interop_index_registry() {
    let test = "interop_index_registry";
    let Some(_run) = require(test, &["skopeo", "podman", "docker-registry"]) else {
        return;
    };
    let tmp = tempfile::Builder::new()
        .prefix("ociimport-interop-")
        .tempdir()
        .unwrap();
    let name = unique_name("registry");
    let (layout, report, _) = import_index_fixture(tmp.path(), &name);
    let registry = Registry::start();
    let remote = format!("127.0.0.1:{}/{name}:{TAG}", registry.port);
    run_ok(
        Command::new("skopeo")
            .args(["copy", "--quiet", "--all", "--dest-tls-verify=false"])
            .arg(oci_ref(&layout, TAG))
            .arg(format!("docker://{remote}")),
    );
    let raw = run_ok(
        Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{remote}")),
    );
    assert_raw_is_our_index(&raw.stdout, &report, "skopeo inspect --raw docker://");

    let _lock = storage_lock();
    let mut cleanup = StorageCleanup::default();
    for (arch, _, _) in foreign_platforms() {
        let image = index_image(&report, arch);
        podman_pull_arch(
            &remote,
            &["--tls-verify=false"],
            tmp.path(),
            arch,
            image,
            &mut cleanup,
        );
    }
    drop(registry);
    log(&format!(
        "{test}: skopeo copy --all to docker-registry, inspect --raw, podman pull --arch: ok"
    ));
}

// ---------------------------------------------------------------------------
// --sbom --provenance: Docker's attestation storage, in a layout and a registry
// ---------------------------------------------------------------------------

/// What `skopeo inspect --raw` printed is the index the import wrote: the
/// image (host platform) and its attestation manifest (unknown/unknown,
/// about the image).
fn assert_raw_is_attested_index(raw: &[u8], report: &Value, ctx: &str) {
    assert_eq!(
        sha256(raw),
        s(report, "/index/digest"),
        "{ctx}: index bytes"
    );
    let v: Value = serde_json::from_slice(raw).unwrap();
    let m = v["manifests"].as_array().unwrap();
    assert_eq!(m.len(), 2, "{ctx}: {v}");
    assert_eq!(m[0]["digest"], report["manifest"]["digest"], "{ctx}");
    assert_eq!(s(&m[0], "/platform/architecture"), host_goarch(), "{ctx}");
    assert_eq!(m[1]["digest"], report["attestation"]["digest"], "{ctx}");
    assert_eq!(s(&m[1], "/platform/os"), "unknown", "{ctx}");
    assert_eq!(
        s(&m[1], "/annotations/vnd.docker.reference.type"),
        "attestation-manifest",
        "{ctx}"
    );
    assert_eq!(
        m[1]["annotations"]["vnd.docker.reference.digest"], report["manifest"]["digest"],
        "{ctx}"
    );
}

/// `--sbom --provenance` with the consumers: podman pulls the host's image
/// from the index under the tag and runs it; skopeo copies image and
/// attestations (`--all`) to a registry (Debian's docker-registry) and
/// reads both back; umoci refuses the tag as ambiguous (it reads every
/// manifest of the index as a candidate) and unpacks the copy skopeo makes
/// of the host's image.
#[test]
fn interop_attestations() {
    let test = "interop_attestations";
    let Some(_run) = require(
        test,
        &["skopeo", "podman", "umoci", "runc", "docker-registry"],
    ) else {
        return;
    };
    let tmp = tempfile::Builder::new()
        .prefix("ociimport-interop-")
        .tempdir()
        .unwrap();
    let name = unique_name("attested");
    let fixture = build_fixture(&name);
    let input = tmp.path().join("host.tar");
    fs::write(&input, &fixture.tar).unwrap();
    let layout = tmp.path().join(&name);
    let report = stdout_json(
        Command::new(bin())
            .arg(&input)
            .arg("-o")
            .arg(&layout)
            .args(["-t", TAG, "--created", CREATED, "--json", "-q"])
            .args(["--sbom", "--provenance"]),
    );
    let raw = run_ok(
        Command::new("skopeo")
            .args(["inspect", "--raw"])
            .arg(oci_ref(&layout, TAG)),
    );
    assert_raw_is_attested_index(&raw.stdout, &report, "skopeo inspect --raw oci:");

    // The registry: every manifest travels, and reads back by digest.
    let registry = Registry::start();
    let remote = format!("127.0.0.1:{}/{name}", registry.port);
    run_ok(
        Command::new("skopeo")
            .args(["copy", "--quiet", "--all", "--dest-tls-verify=false"])
            .arg(oci_ref(&layout, TAG))
            .arg(format!("docker://{remote}:{TAG}")),
    );
    let raw = run_ok(
        Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{remote}:{TAG}")),
    );
    assert_raw_is_attested_index(&raw.stdout, &report, "skopeo inspect --raw docker://");
    let attestation = s(&report, "/attestation/digest");
    let raw = run_ok(
        Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{remote}@{attestation}")),
    );
    assert_eq!(
        sha256(&raw.stdout),
        attestation,
        "the attestation manifest, by digest"
    );
    drop(registry);

    // umoci: the tag names two manifests, which it calls ambiguous; the
    // host's image alone (skopeo copy without --all) unpacks.
    let bundle = tmp.path().join("bundle");
    let out = umoci_unpack(&layout, TAG, &bundle);
    assert!(!out.status.success(), "{}", out.context());
    assert!(
        out.err().contains(&format!("tag is ambiguous: {TAG}")),
        "{}",
        out.context()
    );
    // ...which the import said, naming the fix.
    let dir = layout.display();
    let said = format!(
        "umoci unpack --image {dir}:{TAG} refuses this tag (umoci 0.4.7: \"tag is ambiguous\"): it names an index of the image and its attestation manifest; for umoci, copy the image alone: skopeo copy oci:{dir}:{TAG} oci:OTHER:{TAG}"
    );
    assert_eq!(report["warnings"][0], said.as_str(), "{report}");
    let copy = tmp.path().join("copy");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "--quiet"])
            .arg(oci_ref(&layout, TAG))
            .arg(oci_ref(&copy, TAG)),
    );
    umoci_unpack(&copy, TAG, &bundle).succeeds();
    assert_eq!(
        fs::read_to_string(bundle.join("rootfs/etc/os-release")).unwrap(),
        fixture.os_release
    );

    // podman: the host's image of the index, which runs.
    let _lock = storage_lock();
    let mut cleanup = StorageCleanup::default();
    let reference = format!("oci:{name}:{TAG}");
    let pulled = run_ok(
        Command::new("podman")
            .args(["pull", "--quiet"])
            .arg(&reference)
            .current_dir(tmp.path()),
    );
    let id = pulled.out().trim().to_string();
    cleanup.images.push(id.clone());
    assert_eq!(
        id,
        hex_of(s(&report, "/config/digest")),
        "podman pull {reference}"
    );
    let ran = podman_run_cat_os_release(&id);
    assert_eq!(ran.out(), fixture.os_release);
    log(&format!(
        "{test}: skopeo inspect, copy --all to docker-registry, umoci (ambiguous tag; host copy unpacks), podman pull and run: ok"
    ));
}
