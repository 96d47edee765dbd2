//! Reliability: what happens to a layout when the import is killed,
//! interrupted, runs out of disk, is refused by the file system, is fed a
//! decompression bomb or hostile tar headers, or runs 16 at a time.
//!
//! Every promise here is listed in docs/reliability.md with the numbers of
//! the last run. Tests that take more than a few seconds run only with
//! `OCIIMPORT_SLOW_TESTS=1` (`.ci/run` sets it); tests that mount file
//! systems or change user need root, and skip without it unless `CI` is set
//! (CI runs as root), in which case they fail.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;

const TEMP_PREFIX: &str = ".ociimport-tmp-";
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Import testdata/rootfs.tar quietly into `layout` under `tag`.
fn import_fixture(layout: &Path, tag: &str) -> Run {
    run(
        Path::new("."),
        &[
            testdata("rootfs.tar").to_str().unwrap(),
            "-q",
            "-o",
            layout.to_str().unwrap(),
            "-t",
            tag,
        ],
    )
}

// ---------------------------------------------------------------- gating

/// Slow fault-injection tests run only when asked to.
fn slow_tests(test: &str) -> bool {
    if std::env::var("OCIIMPORT_SLOW_TESTS").as_deref() == Ok("1") {
        return true;
    }
    eprintln!("skipped {test}: a slow test; set OCIIMPORT_SLOW_TESTS=1 to run it (.ci/run does)");
    false
}

/// Tests that mount file systems or switch users need root. Outside CI they
/// skip without it; under CI (which runs as root) skipping would hide a
/// broken promise, so they fail.
fn root_or_skip(test: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} needs root, and CI must run it: run the tests as root"
    );
    eprintln!("skipped {test}: needs root (mounts a tmpfs or switches user); CI runs it");
    false
}

// ---------------------------------------------------------------- data

/// SplitMix64: a tiny deterministic generator, so every input is
/// reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
}

const WORDS: [&str; 16] = [
    "root", "usr", "lib", "share", "locale", "pkg", "config", "kernel", "module", "bin", "doc",
    "python", "gentoo", "alpine", "stage3", "openrc",
];

/// Content that is partly random (incompressible) and partly text
/// (compressible), like a real rootfs.
fn content(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let piece = (1 + rng.below(16 * 1024) as usize).min(len - out.len());
        if rng.below(2) == 0 {
            let start = out.len();
            out.resize(start + piece, 0);
            rng.fill(&mut out[start..]);
        } else {
            let end = out.len() + piece;
            while out.len() < end {
                let w = WORDS[rng.below(WORDS.len() as u64) as usize];
                out.extend_from_slice(w.as_bytes());
                out.push(if rng.below(8) == 0 { b'\n' } else { b' ' });
            }
            out.truncate(end);
        }
    }
    out
}

/// A tar of about `total` bytes of files of 4 KiB to 1 MiB, from `seed`.
fn generated_tar(seed: u64, total: usize) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut b = tar::Builder::new(Vec::with_capacity(total + (1 << 20)));
    let mut written = 0usize;
    let mut i = 0u32;
    while written < total {
        let len = (4096 + rng.below(1 << 20) as usize).min(total - written + 1);
        let data = content(&mut rng, len);
        let mut h = tar_header(len as u64, 0o644);
        let path = format!("usr/share/data/d{:02}/file-{i:05}.bin", i % 37);
        b.append_data(&mut h, path, &data[..]).expect("tar");
        written += len + 512;
        i += 1;
    }
    b.into_inner().expect("tar")
}

/// A tar with `entries` small files under deep directories (up to 24
/// levels, paths up to ~500 bytes, so GNU long-name records too) streamed to `path`.
fn many_entries_tar(path: &Path, entries: u32, seed: u64) -> u64 {
    let f = fs::File::create(path).expect("create tar");
    let mut b = tar::Builder::new(std::io::BufWriter::with_capacity(1 << 20, f));
    let mut rng = Rng(seed);
    let mut buf = vec![0u8; 4096];
    for i in 0..entries {
        let depth = 1 + (i % 24) as usize;
        let mut p = String::new();
        for d in 0..depth {
            p.push_str(&format!("level-{d:02}-{}/", WORDS[d % WORDS.len()]));
        }
        p.push_str(&format!("f{i}"));
        let len = rng.below(1200) as usize;
        rng.fill(&mut buf[..len]);
        let mut h = tar_header(len as u64, 0o644);
        b.append_data(&mut h, &p, &buf[..len]).expect("tar");
    }
    let w = b.into_inner().expect("tar");
    let f = w.into_inner().expect("flush");
    f.sync_all().ok();
    fs::metadata(path).expect("stat").len()
}

// ---------------------------------------------------------------- layout checks

fn temps_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(TEMP_PREFIX))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn blob_names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir.join("blobs/sha256"))
        .expect("blobs/sha256")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

fn tags(dir: &Path) -> BTreeSet<String> {
    let index: Value =
        serde_json::from_slice(&fs::read(dir.join("index.json")).expect("index.json"))
            .expect("index.json is JSON");
    index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|d| {
            d["annotations"][REF_NAME]
                .as_str()
                .expect("ref name")
                .to_string()
        })
        .collect()
}

/// What a consumer needs, allowing our temp files (a crashed or running
/// import may leave them): `oci-layout`; `index.json` parses; every blob
/// file hashes to its name; every descriptor reachable from `index.json`
/// names an existing blob of the stated size; nothing else in the root.
/// Returns the descriptors checked and the temp files present.
fn check_consistent(dir: &Path) -> (usize, Vec<String>) {
    assert_eq!(
        fs::read(dir.join("oci-layout")).expect("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#
    );
    for name in blob_names(dir) {
        let data = fs::read(dir.join("blobs/sha256").join(&name)).expect("blob");
        assert_eq!(
            sha256(&data),
            format!("sha256:{name}"),
            "{}: blob {name} does not match its name",
            dir.display()
        );
    }
    let index: Value =
        serde_json::from_slice(&fs::read(dir.join("index.json")).expect("index.json"))
            .expect("index.json is JSON");
    assert_eq!(index["schemaVersion"], 2);
    let mut checked = 0;
    let sized = |d: &Value| -> Vec<u8> {
        let bytes = blob(dir, d["digest"].as_str().expect("digest"));
        assert_eq!(bytes.len() as u64, d["size"].as_u64().expect("size"));
        bytes
    };
    for m in index["manifests"].as_array().expect("manifests") {
        let manifest: Value = serde_json::from_slice(&sized(m)).expect("manifest JSON");
        sized(&manifest["config"]);
        checked += 2;
        for l in manifest["layers"].as_array().expect("layers") {
            sized(l);
            checked += 1;
        }
    }
    let mut temps = Vec::new();
    for e in fs::read_dir(dir).expect("layout dir") {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        if name.starts_with(TEMP_PREFIX) {
            temps.push(name);
        } else {
            assert!(
                ["oci-layout", "index.json", "blobs"].contains(&name.as_str()),
                "{}: unexpected file {name}",
                dir.display()
            );
        }
    }
    (checked, temps)
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let dest = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

/// A layout holding one small image tagged `old` (from testdata/rootfs.tar).
fn base_layout(dir: &Path) {
    run(
        Path::new("."),
        &[
            testdata("rootfs.tar").to_str().expect("utf-8 path"),
            "-q",
            "-o",
            dir.to_str().expect("utf-8 path"),
            "-t",
            "old",
            "--created",
            "@0",
        ],
    )
    .succeeds();
}

fn ociimport<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> Command {
    ociimport_in(Path::new("."), args)
}

fn send(child: &Child, signal: i32) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits");
    // SAFETY: kill(2) on our own child's pid; no memory is involved.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(rc, 0, "kill({pid}, {signal})");
}

/// Wait for `cond`, polling, for at most `limit`.
fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    cond()
}

fn wait_timeout(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ociimport did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn read_all(r: Option<impl Read>) -> String {
    let mut s = String::new();
    if let Some(mut r) = r {
        r.read_to_string(&mut s).expect("read child output");
    }
    s
}

/// Temp files in `dir` whose name says they belong to `pid`.
fn temps_of(dir: &Path, pid: u32) -> Vec<String> {
    let prefix = format!("{TEMP_PREFIX}{pid}-");
    temps_in(dir)
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

// ---------------------------------------------------------------- 1. SIGKILL

/// The versions of a layout that an interrupted trial may leave.
struct Versions {
    /// The old `index.json`; `None` for a first import (no layout before).
    old_index: Option<Vec<u8>>,
    /// `index.json` after a complete run.
    new_index: Vec<u8>,
    /// Blob names of the base layout and of the completed import.
    allowed_blobs: BTreeSet<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KillMode {
    /// After a random delay up to a little more than a full import.
    Random,
    /// Within the first 20 ms: opening the layout, cleaning stale temps.
    Early,
    /// 0-1.5 ms after the first new blob appears: inside the commit.
    Commit,
}

/// What a killed trial left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Left {
    /// First import: the directory was not created yet.
    Nothing,
    /// First import: blobs/, an empty index.json, no oci-layout yet (not a
    /// layout; the next run takes it as fresh).
    Skeleton,
    /// The old layout (for a first import: a valid layout with no image).
    Old,
    /// The old index, but the new blobs already renamed in: killed inside
    /// the commit.
    OldWithNewBlobs,
    /// The new layout.
    New,
}

fn count_blobs(dir: &Path) -> usize {
    fs::read_dir(dir.join("blobs/sha256")).map_or(0, |rd| rd.count())
}

/// Check what a killed run left in `dir` and say which version it is.
fn classify(dir: &Path, v: &Versions, base_blobs: &BTreeSet<String>, context: &str) -> Left {
    let first = v.old_index.is_none();
    if !dir.exists() {
        assert!(first, "{context}: the layout disappeared");
        return Left::Nothing;
    }
    if !dir.join("oci-layout").exists() {
        assert!(first, "{context}: oci-layout disappeared");
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            match name.as_str() {
                "blobs" => assert_eq!(count_blobs(dir), 0, "{context}: blobs before the marker"),
                "index.json" => {
                    let index: Value = serde_json::from_slice(&fs::read(e.path()).unwrap())
                        .unwrap_or_else(|err| panic!("{context}: index.json: {err}"));
                    assert_eq!(index["manifests"], serde_json::json!([]), "{context}");
                }
                n => assert!(n.starts_with(TEMP_PREFIX), "{context}: unexpected {n}"),
            }
        }
        return Left::Skeleton;
    }
    let (_, _) = check_consistent(dir);
    let names = blob_names(dir);
    for b in &names {
        assert!(v.allowed_blobs.contains(b), "{context}: unknown blob {b}");
    }
    assert!(
        base_blobs.is_subset(&names),
        "{context}: a blob of the old image disappeared"
    );
    let index = fs::read(dir.join("index.json")).unwrap();
    if index == v.new_index {
        return Left::New;
    }
    match &v.old_index {
        Some(old) => assert!(
            &index == old,
            "{context}: index.json is neither the old nor the new version"
        ),
        None => assert_eq!(
            tags(dir),
            BTreeSet::new(),
            "{context}: neither empty nor new"
        ),
    }
    if names.len() > base_blobs.len() {
        Left::OldWithNewBlobs
    } else {
        Left::Old
    }
}

#[test]
fn sigkill_at_random_moments_leaves_the_old_or_the_new_layout() {
    if !slow_tests("sigkill_at_random_moments_leaves_the_old_or_the_new_layout") {
        return;
    }
    let trials: u64 = std::env::var("OCIIMPORT_KILL_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let base_seed: u64 = std::env::var("OCIIMPORT_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!(
        "sigkill: {trials} trials, base seed {base_seed} (rerun: OCIIMPORT_KILL_SEED={base_seed})"
    );
    let tmp = tempfile::tempdir().unwrap();
    let tar = generated_tar(7, 32 << 20);
    // Two paths through the pipeline: gzip kept as is (the raw input is
    // the blob), xz re-encoded to gzip (the encoder writes the blob).
    let inputs = [("gz", gzip_level(&tar, 1)), ("xz", xz_preset(&tar, 0))];
    let base = tmp.path().join("base");
    base_layout(&base);
    let old_index = fs::read(base.join("index.json")).unwrap();
    let base_blobs = blob_names(&base);

    // (input, into the base layout or a new one) -> versions, time of a full run.
    let mut plans = Vec::new();
    for (name, bytes) in &inputs {
        let input = tmp.path().join(format!("input.tar.{name}"));
        fs::write(&input, bytes).unwrap();
        for first in [false, true] {
            // A complete run gives the new version and the time a run takes.
            let reference = tmp.path().join(format!("reference-{name}-{first}"));
            if !first {
                copy_dir(&base, &reference);
            }
            let start = Instant::now();
            run_cmd(&mut ociimport(child_args(&input, &reference))).succeeds();
            let took = start.elapsed();
            check_layout(&reference);
            let mut allowed_blobs = if first {
                BTreeSet::new()
            } else {
                base_blobs.clone()
            };
            allowed_blobs.extend(blob_names(&reference));
            println!(
                "sigkill: {name} input {} bytes ({} MiB of tar){}: a full import takes {took:?}",
                bytes.len(),
                tar.len() >> 20,
                if first { " into a new layout" } else { "" }
            );
            let versions = Versions {
                old_index: (!first).then(|| old_index.clone()),
                new_index: fs::read(reference.join("index.json")).unwrap(),
                allowed_blobs,
            };
            fs::remove_dir_all(&reference).unwrap();
            plans.push((input.clone(), versions, took));
        }
    }

    let mut killed = 0;
    let mut finished = 0;
    let mut with_temps = 0;
    let mut stale_removed = 0;
    let mut first_imports = 0;
    let mut by_mode: BTreeMap<String, u32> = BTreeMap::new();
    let mut by_left: BTreeMap<String, u32> = BTreeMap::new();
    let no_blobs = BTreeSet::new();
    for trial in 0..trials {
        let seed = base_seed.wrapping_add(trial);
        let mut rng = Rng(seed);
        // A quarter of the trials are first imports (no layout before).
        let first = rng.below(4) == 0;
        let input_choice = rng.below(inputs.len() as u64) as usize;
        let (input, versions, took) = &plans[input_choice * 2 + usize::from(first)];
        let mode = match rng.below(10) {
            0..=5 => KillMode::Random,
            6 => KillMode::Early,
            _ => KillMode::Commit,
        };
        let dir = tmp.path().join(format!("trial-{trial}"));
        let base_count = if first {
            0
        } else {
            copy_dir(&base, &dir);
            base_blobs.len()
        };

        let mut child = ociimport(child_args(input, &dir))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = match mode {
            KillMode::Random => {
                let limit = took.as_micros() as u64 * 11 / 10;
                let d = Duration::from_micros(rng.below(limit));
                std::thread::sleep(d);
                d
            }
            KillMode::Early => {
                let d = Duration::from_micros(rng.below(20_000));
                std::thread::sleep(d);
                d
            }
            KillMode::Commit => {
                let start = Instant::now();
                let limit = *took * 3 + Duration::from_secs(5);
                // Spin: the commit lasts about a millisecond.
                while start.elapsed() < limit
                    && child.try_wait().unwrap().is_none()
                    && count_blobs(&dir) == base_count
                {
                    std::hint::spin_loop();
                }
                let extra = rng.below(1500);
                if extra > 0 {
                    std::thread::sleep(Duration::from_micros(extra));
                }
                start.elapsed()
            }
        };
        let _ = child.kill();
        let status = child.wait().unwrap();
        let was_killed = status.code().is_none();
        if was_killed {
            killed += 1;
        } else {
            assert_eq!(status.code(), Some(0), "trial {trial} (seed {seed}) failed");
            finished += 1;
        }
        *by_mode.entry(format!("{mode:?}")).or_default() += 1;
        first_imports += usize::from(first);

        // The layout is old or new, never anything else.
        let context = format!(
            "trial {trial} (seed {seed}, {}{mode:?}, {delay:?})",
            if first { "first import, " } else { "" }
        );
        let base_set = if first { &no_blobs } else { &base_blobs };
        let left = classify(&dir, versions, base_set, &context);
        let temps = temps_in(&dir);
        with_temps += usize::from(!temps.is_empty());
        *by_left.entry(format!("{left:?}")).or_default() += 1;
        println!(
            "sigkill: {context}: {}, left {left:?}, {} temp file(s)",
            if was_killed { "killed" } else { "finished" },
            temps.len()
        );

        // The next run removes the dead run's temp files and works.
        import_fixture(&dir, "next").succeeds();
        assert_eq!(temps_in(&dir), Vec::<String>::new(), "{context}");
        stale_removed += temps.len();
        check_layout(&dir);
        let mut want: BTreeSet<String> = ["next".to_string()].into();
        if !first {
            want.insert("old".into());
        }
        if left == Left::New {
            want.insert("new".into());
        }
        assert_eq!(tags(&dir), want, "{context}");
        fs::remove_dir_all(&dir).unwrap();
    }
    println!(
        "sigkill summary: {trials} trials (base seed {base_seed}), {first_imports} of them first \
         imports: {killed} killed, {finished} finished before the kill; left {by_left:?}; \
         {with_temps} left temp files ({stale_removed} removed by the next run); modes {by_mode:?}"
    );
    assert!(
        killed > 0 && with_temps > 0,
        "the kills never hit a running import"
    );
}

fn child_args(input: &Path, dir: &Path) -> Vec<String> {
    let dir = dir.display().to_string();
    let mut v = vec![input.display().to_string()];
    v.extend(["-q", "-o", &dir, "-t", "new", "--created", "@1700000000"].map(String::from));
    v
}

// ------------------------------------------------- 1b. stale vs live temp files

#[test]
fn the_next_run_removes_stale_temp_files_but_never_live_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("img");
    base_layout(&layout);
    let tar = generated_tar(11, 6 << 20);
    let gz = gzip_level(&tar, 1);
    let input = tmp.path().join("big.tar.gz");
    fs::write(&input, &gz).unwrap();

    // A dead run: killed while its temp file exists.
    let mut dead = ociimport(["-", "-q", "-o", layout.to_str().unwrap(), "-t", "dead"])
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut dead_in = dead.stdin.take().unwrap();
    dead_in.write_all(&gz[..1 << 20]).unwrap();
    let dead_pid = dead.id();
    assert!(
        wait_for(Duration::from_secs(10), || !temps_of(&layout, dead_pid)
            .is_empty()),
        "the first import never created its temp file"
    );
    dead.kill().unwrap();
    dead.wait().unwrap();
    drop(dead_in);
    let stale = temps_of(&layout, dead_pid);
    assert!(!stale.is_empty());

    // A live run, stopped mid-stream by a slow pipe.
    let mut live = ociimport(["-", "-q", "-o", layout.to_str().unwrap(), "-t", "live"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut live_in = live.stdin.take().unwrap();
    live_in.write_all(&gz[..1 << 20]).unwrap();
    let live_pid = live.id();
    assert!(
        wait_for(Duration::from_secs(10), || !temps_of(&layout, live_pid)
            .is_empty()),
        "the live import never created its temp file"
    );
    // The live run opened the layout after the dead one died, so it
    // removed the stale file itself; make another to see the third run do it.
    let planted = format!("{TEMP_PREFIX}4194304-9-deadbeef");
    fs::write(layout.join(&planted), b"left by a run that died").unwrap();
    let live_temps = temps_of(&layout, live_pid);

    // A third run, to completion.
    import_fixture(&layout, "third").succeeds();
    for s in &stale {
        assert!(!layout.join(s).exists(), "stale {s} survived");
    }
    assert!(!layout.join(&planted).exists(), "stale {planted} survived");
    for t in &live_temps {
        assert!(
            layout.join(t).exists(),
            "the third run removed {t}, a live import's temp file"
        );
    }

    // The live import finishes normally, with its blob intact.
    live_in.write_all(&gz[1 << 20..]).unwrap();
    drop(live_in);
    let status = wait_timeout(&mut live, Duration::from_secs(60));
    let err = read_all(live.stderr.take());
    assert_eq!(status.code(), Some(0), "{err}");
    assert_eq!(check_layout(&layout), 9);
    assert_eq!(
        tags(&layout),
        ["old", "live", "third"].map(String::from).into()
    );
}

/// A first import (the directory does not exist yet) killed mid-stream
/// leaves a valid, empty layout plus its temp file; the next run removes
/// the temp file and imports into it.
#[test]
fn a_killed_first_import_leaves_a_valid_empty_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("new");
    let gz = gzip_level(&generated_tar(13, 4 << 20), 1);
    let mut child = ociimport(["-", "-q", "-o", layout.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&gz[..gz.len() / 2]).unwrap();
    let pid = child.id();
    assert!(
        wait_for(Duration::from_secs(10), || !temps_of(&layout, pid)
            .is_empty()),
        "no temp file appeared"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdin);
    let (checked, temps) = check_consistent(&layout);
    assert_eq!(checked, 0, "no image yet");
    assert_eq!(temps, temps_of(&layout, pid));
    assert_eq!(tags(&layout), BTreeSet::new());
    assert_eq!(blob_names(&layout), BTreeSet::new());
    run_cmd(&mut ociimport(["verify", layout.to_str().unwrap()])).succeeds();

    run(
        tmp.path(),
        &[
            testdata("rootfs.tar").to_str().unwrap(),
            "-q",
            "-o",
            layout.to_str().unwrap(),
        ],
    )
    .succeeds();
    assert_eq!(check_layout(&layout), 3);
    assert_eq!(tags(&layout), ["latest".to_string()].into());
}

/// How the run that created the layout ends.
#[derive(Clone, Copy, Debug)]
enum FirstEnds {
    /// Its input is not an archive: exit 1.
    Fails,
    /// SIGINT while it waits for input: exit 130.
    Interrupted,
}

/// Two first imports into one new directory: the one that created it ends
/// (fails, or is interrupted) while the other has opened it but written
/// nothing yet (it waits for its input, a FIFO). The first must not remove
/// the layout the other run has open; the other run's image lands.
fn first_import_ends_while_another_has_the_layout_open(how: FirstEnds) {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("shared");
    let out = layout.to_str().unwrap();
    let fifo = tmp.path().join("second.tar");
    let c_fifo = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: mkfifo(3) with a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) }, 0, "mkfifo");

    let mut first = ociimport(["-", "-q", "-o", out, "-t", "first"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(10), || layout
            .join("oci-layout")
            .exists()),
        "the first run made no layout"
    );
    let mut second = ociimport([fifo.to_str().unwrap(), "-q", "-o", out, "-t", "second"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A writer's non-blocking open succeeds once the reader is inside its
    // open(2): the second run has opened the layout (that comes first) and
    // now waits for its input.
    let open_writer = || {
        fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .ok()
    };
    let mut writer = None;
    assert!(
        wait_for(Duration::from_secs(10), || {
            writer = open_writer();
            writer.is_some()
        }),
        "the second run never opened its input"
    );
    assert_eq!(temps_of(&layout, second.id()), Vec::<String>::new());

    // Kept open (the run waits for more) until it is meant to end.
    let mut first_in = first.stdin.take();
    let (code, said) = match how {
        FirstEnds::Fails => {
            let mut input = first_in.take().unwrap();
            input.write_all(b"garbagegarbage").unwrap();
            drop(input);
            (1, "unrecognised input format")
        }
        FirstEnds::Interrupted => {
            send(&first, libc::SIGINT);
            (130, "interrupted")
        }
    };
    let status = wait_timeout(&mut first, Duration::from_secs(30));
    drop(first_in);
    let err = read_all(first.stderr.take());
    assert_eq!(status.code(), Some(code), "{how:?}: {err}");
    assert!(err.contains(said), "{how:?}: {err}");
    assert!(
        layout.join("oci-layout").exists(),
        "{how:?}: layout removed"
    );

    let mut writer = writer.unwrap();
    // Blocking writes from here: the fixture is larger than a pipe buffer.
    // SAFETY: fcntl(2) on a descriptor `writer` owns.
    let rc = unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&writer), libc::F_SETFL, 0) };
    assert_eq!(rc, 0, "fcntl");
    // A run that failed has closed its end: its exit status says why.
    let _ = writer.write_all(&rootfs_tar());
    drop(writer);
    let status = wait_timeout(&mut second, Duration::from_secs(30));
    let err = read_all(second.stderr.take());
    assert_eq!(status.code(), Some(0), "{how:?}: {err}");
    assert_eq!(check_layout(&layout), 3);
    assert_eq!(tags(&layout), ["second".to_string()].into());
    assert_eq!(check_consistent(&layout), (3, Vec::new()));
}

#[test]
fn a_failed_first_import_leaves_a_layout_another_run_has_open() {
    first_import_ends_while_another_has_the_layout_open(FirstEnds::Fails);
}

#[test]
fn an_interrupted_first_import_leaves_a_layout_another_run_has_open() {
    first_import_ends_while_another_has_the_layout_open(FirstEnds::Interrupted);
}

// ---------------------------------------------------------------- 2. SIGINT / SIGTERM

#[test]
fn sigint_and_sigterm_remove_temp_files_and_leave_the_layout_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let tar = generated_tar(3, 4 << 20);
    let gz = gzip_level(&tar, 1);
    // gzip input is kept as the blob (written on the decode side); plain tar
    // is encoded (written by the encoder).
    let cases: [(i32, i32, &str, &[u8], bool); 4] = [
        (libc::SIGINT, 130, "SIGINT", &gz, false),
        (libc::SIGTERM, 143, "SIGTERM", &tar, false),
        (libc::SIGTERM, 143, "SIGTERM", &gz, true),
        (libc::SIGINT, 130, "SIGINT", &tar, true),
    ];
    for (i, (signal, code, name, input, fresh)) in cases.into_iter().enumerate() {
        let layout = tmp.path().join(format!("img-{i}"));
        if !fresh {
            base_layout(&layout);
        }
        let before = snapshot(&layout);
        let mut child = ociimport(["-", "-o", layout.to_str().unwrap(), "-t", "new"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // Half the input, then nothing: the import waits mid-stream.
        stdin.write_all(&input[..input.len() / 2]).unwrap();
        let pid = child.id();
        assert!(
            wait_for(Duration::from_secs(10), || !temps_of(&layout, pid)
                .is_empty()),
            "case {i}: no temp file appeared"
        );
        // Let it write into the temp file for a moment.
        std::thread::sleep(Duration::from_millis(50));
        send(&child, signal);
        let status = wait_timeout(&mut child, Duration::from_secs(10));
        drop(stdin);
        let err = read_all(child.stderr.take());
        let out = read_all(child.stdout.take());
        assert_eq!(status.code(), Some(code), "case {i}: {err}");
        assert_eq!(
            err,
            format!("ociimport: interrupted ({name}); temporary files removed, layout unchanged\n"),
            "case {i}"
        );
        assert_eq!(out, "", "case {i}");
        if fresh {
            assert!(
                !layout.exists(),
                "case {i}: the interrupted import left the new directory {}",
                layout.display()
            );
        } else {
            assert_eq!(temps_in(&layout), Vec::<String>::new(), "case {i}");
            assert_eq!(snapshot(&layout), before, "case {i}: layout changed");
        }
    }
}

// ---------------------------------------------------------------- 3. file system faults

/// A tmpfs mounted for the duration of a test (lazily unmounted on drop,
/// even if the test panics).
struct Mount {
    dir: PathBuf,
}

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Mount {
        fs::create_dir_all(dir).unwrap();
        run_ok(
            Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755")])
                .arg("tmpfs")
                .arg(dir),
        );
        Mount {
            dir: dir.to_path_buf(),
        }
    }

    fn remount_read_only(&self) {
        run_ok(
            Command::new("mount")
                .args(["-o", "remount,ro"])
                .arg(&self.dir),
        );
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Fill the file system of `dir` completely, then free `free` bytes.
fn leave_free(dir: &Path, free: u64) {
    let filler = dir.join("filler");
    let mut f = fs::File::create(&filler).unwrap();
    let chunk = vec![0x5a; 64 * 1024];
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling {}: {e}", dir.display()),
        }
    }
    let len = f.metadata().unwrap().len();
    f.set_len(len.saturating_sub(free)).unwrap();
}

fn one_line(err: &str) -> bool {
    err.lines().count() == 1
}

#[test]
fn a_full_disk_is_refused_cleanly_and_the_layout_is_unchanged() {
    if !root_or_skip("a_full_disk_is_refused_cleanly_and_the_layout_is_unchanged") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("mnt");
    let mount = Mount::tmpfs(&mnt, "2m");
    let layout = mnt.join("img");
    base_layout(&layout);
    let before = snapshot(&layout);

    // 4 MiB of random file content: incompressible, cannot fit in 2 MiB.
    let mut rng = Rng(5);
    let mut data = vec![0u8; 4 << 20];
    rng.fill(&mut data);
    let mut b = tar::Builder::new(Vec::new());
    b.append_data(
        &mut tar_header(data.len() as u64, 0o644),
        "random.bin",
        &data[..],
    )
    .unwrap();
    let tar = b.into_inner().unwrap();
    let gz = tmp.path().join("big.tar.gz");
    fs::write(&gz, gzip_level(&tar, 1)).unwrap();
    let plain = tmp.path().join("big.tar");
    fs::write(&plain, &tar).unwrap();
    // Passthrough (gzip kept), encoded (plain → gzip), and uncompressed.
    for args in [
        vec![gz.to_str().unwrap()],
        vec![plain.to_str().unwrap()],
        vec![plain.to_str().unwrap(), "--compression", "none"],
    ] {
        let mut full = args.clone();
        full.extend(["-o", layout.to_str().unwrap(), "-t", "big"]);
        let o = run(tmp.path(), &full)
            .refused("No space left on device")
            .says(layout.to_str().unwrap());
        let err = stderr(&o);
        assert!(one_line(&err), "{args:?}: {err}");
        assert_eq!(snapshot(&layout), before, "{args:?}: layout changed");
        assert_eq!(temps_in(&layout), Vec::<String>::new(), "{args:?}");
    }

    // The disk fills up at every possible point of a small import: each run
    // either succeeds completely or fails with the layout unchanged.
    let small = testdata("rootfs.tar");
    let (mut ok, mut refused) = (0, 0);
    for free_kib in (0..=200).step_by(8) {
        let _ = fs::remove_file(mnt.join("filler"));
        leave_free(&mnt, free_kib * 1024);
        let before = snapshot(&layout);
        let tag = format!("t{free_kib}");
        let o = run(
            tmp.path(),
            &[
                small.to_str().unwrap(),
                "-q",
                "-o",
                layout.to_str().unwrap(),
                "-t",
                &tag,
                "--created",
                &format!("@{free_kib}"),
            ],
        );
        let err = stderr(&o);
        match o.status.code() {
            Some(0) => {
                ok += 1;
                assert!(tags(&layout).contains(&tag), "{free_kib} KiB free");
            }
            Some(1) => {
                refused += 1;
                o.refused("No space left on device").one_line();
                assert_eq!(snapshot(&layout), before, "{free_kib} KiB free");
            }
            other => panic!("{free_kib} KiB free: exit {other:?}: {err}"),
        }
        assert_eq!(temps_in(&layout), Vec::<String>::new(), "{free_kib} KiB");
        fs::remove_file(mnt.join("filler")).unwrap();
        check_layout(&layout);
    }
    println!("full disk sweep: {ok} imports fitted, {refused} refused cleanly");
    assert!(ok > 0 && refused > 0, "the sweep missed the boundary");
    drop(mount);
}

#[test]
fn a_read_only_layout_is_refused_cleanly() {
    if !root_or_skip("a_read_only_layout_is_refused_cleanly") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("mnt");
    let mount = Mount::tmpfs(&mnt, "8m");
    let layout = mnt.join("img");
    base_layout(&layout);
    // A stale temp file, which the refused run cannot remove either.
    let stale = layout.join(format!("{TEMP_PREFIX}4194304-1-1"));
    fs::write(&stale, b"x").unwrap();
    mount.remount_read_only();
    let before = snapshot(&layout);
    for (what, layout_arg) in [
        ("existing layout", layout.clone()),
        ("new layout", mnt.join("new")),
    ] {
        let o = run(
            tmp.path(),
            &[
                testdata("rootfs.tar").to_str().unwrap(),
                "-o",
                layout_arg.to_str().unwrap(),
            ],
        )
        .refused("Read-only file system")
        .says(layout_arg.to_str().unwrap());
        let err = stderr(&o);
        assert!(one_line(&err), "{what}: {err}");
    }
    assert_eq!(snapshot(&layout), before);
    assert!(!mnt.join("new").exists());
    drop(mount);
}

#[test]
fn permission_denied_is_refused_cleanly() {
    if !root_or_skip("permission_denied_is_refused_cleanly") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // tempdir is 0700; the unprivileged user must reach the input.
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let layout = tmp.path().join("img");
    base_layout(&layout);
    let input = tmp.path().join("rootfs.tar");
    fs::copy(testdata("rootfs.tar"), &input).unwrap();
    fs::set_permissions(&input, fs::Permissions::from_mode(0o644)).unwrap();
    // The checkout may be where the unprivileged user cannot reach (/root).
    let exe = tmp.path().join("ociimport");
    // Copied by cp, not by this process: a child that another test thread
    // forks while our copy is open for writing would hold that descriptor
    // until its exec, and executing the copy would then fail (ETXTBSY).
    run_ok(Command::new("cp").arg(bin()).arg(&exe));
    fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).unwrap();
    let before = snapshot(&layout);
    // Into the existing layout, and into a new one.
    for target in [layout.clone(), tmp.path().join("new")] {
        run_cmd(
            Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&exe)
                .arg(&input)
                .arg("-o")
                .arg(&target)
                .current_dir("/")
                .env_remove("SOURCE_DATE_EPOCH"),
        )
        .refused("Permission denied")
        .says(target.to_str().unwrap())
        .one_line();
    }
    assert_eq!(snapshot(&layout), before);
    assert!(!tmp.path().join("new").exists());
}

// ---------------------------------------------------------------- 4. bombs, hostile headers, memory

/// `VmHWM` (peak resident set) of a live process, in KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Run a child to its end and return the run (its stderr; stdout is not
/// kept) and its peak resident memory in KiB (`None` if it exited before
/// the first reading).
///
/// The peak is `VmHWM` polled every millisecond until the child exits, not
/// `ru_maxrss` from `wait4`: Linux folds the pre-exec address space into
/// `ru_maxrss` (`exec_mmap`), which for a vfork/posix_spawn child is this
/// test process's, so the number would measure the test, not ociimport.
/// After exec the child has a fresh address space, and `VmHWM` is the high
/// water mark of that one alone. Growth in the last millisecond is missed.
fn run_measured(mut cmd: Command) -> (Run, Option<u64>) {
    let err_path = std::env::temp_dir().join(format!(
        "ociimport-stderr-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let err_file = fs::File::create(&err_path).unwrap();
    // spawn() returns once the child has exec'd, so every reading below is
    // of ociimport's own address space.
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err_file)
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let stderr = fs::read(&err_path).unwrap_or_default();
    let _ = fs::remove_file(&err_path);
    let output = std::process::Output {
        status,
        stdout: Vec::new(),
        stderr,
    };
    (Run::of(&cmd, output), (peak > 0).then_some(peak))
}

/// ociimport with its address space capped at 2 GiB: an attempt to allocate
/// what a hostile header claims (GiBs) fails and aborts the process.
fn ociimport_capped<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> Command {
    use std::os::unix::process::CommandExt;
    let mut c = ociimport(args);
    // SAFETY: setrlimit is async-signal-safe and touches no memory of ours.
    unsafe {
        c.pre_exec(|| {
            let cap = libc::rlimit {
                rlim_cur: 2 << 30,
                rlim_max: 2 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &cap) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    c
}

/// A 1 GiB tar (one file of zeros) as 64 concatenated xz streams of 16 MiB:
/// ~160 KB. The importer decodes every stream, so all of it counts.
fn xz_bomb() -> Vec<u8> {
    const STREAM: usize = 16 << 20;
    let mut h = tar_header((1u64 << 30) - 2048, 0o644);
    h.set_path("zeros").unwrap();
    h.set_cksum();
    let zeros = vec![0u8; 1 << 20];
    let encode = |first: Option<&[u8]>| -> Vec<u8> {
        let mut e = liblzma::write::XzEncoder::new(Vec::new(), 0);
        let mut left = STREAM;
        if let Some(b) = first {
            e.write_all(b).unwrap();
            left -= b.len();
        }
        while left > 0 {
            let n = left.min(zeros.len());
            e.write_all(&zeros[..n]).unwrap();
            left -= n;
        }
        e.finish().unwrap()
    };
    let mut out = encode(Some(h.as_bytes()));
    let rest = encode(None);
    for _ in 1..64 {
        out.extend_from_slice(&rest);
    }
    out
}

/// The same 1 GiB as gzip members and as zstd frames.
fn other_bombs() -> Vec<(&'static str, Vec<u8>)> {
    let mut h = tar_header((1u64 << 30) - 2048, 0o644);
    h.set_path("zeros").unwrap();
    h.set_cksum();
    let mut first = h.as_bytes().to_vec();
    first.resize(16 << 20, 0);
    let zeros = vec![0u8; 16 << 20];
    let mut gz = gzip_level(&first, 9);
    let gz_rest = gzip_level(&zeros, 9);
    let mut zst = zstd::encode_all(&first[..], 3).unwrap();
    let zst_rest = zstd::encode_all(&zeros[..], 3).unwrap();
    for _ in 1..64 {
        gz.extend_from_slice(&gz_rest);
        zst.extend_from_slice(&zst_rest);
    }
    vec![("gzip", gz), ("zstd", zst)]
}

#[test]
fn decompression_bombs_stop_at_max_size_and_publish_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("img");
    base_layout(&layout);
    let before = snapshot(&layout);
    let mut bombs = vec![("xz", xz_bomb())];
    bombs.extend(other_bombs());
    for (format, bomb) in bombs {
        assert!(
            bomb.len() < 2 << 20,
            "{format} bomb is {} bytes",
            bomb.len()
        );
        let input = tmp.path().join(format!("bomb.tar.{format}"));
        fs::write(&input, &bomb).unwrap();
        let start = Instant::now();
        let (measured, peak_kib) = run_measured(ociimport_capped([
            input.to_str().unwrap(),
            "-o",
            layout.to_str().unwrap(),
            "--max-size",
            "64M",
        ]));
        let took = start.elapsed();
        measured
            .refused("exceeds --max-size 67108864 bytes")
            .one_line();
        assert_eq!(snapshot(&layout), before, "{format}: layout changed");
        println!(
            "bomb {format}: {} bytes → refused after {took:?}, peak RSS {peak_kib:?} KiB",
            bomb.len(),
        );
        // Decoding 64 MiB of zeros takes well under a second; decoding the
        // whole GiB would take many. Generous for a loaded CI machine.
        assert!(took < Duration::from_secs(20), "{format}: took {took:?}");
        // Nothing decoded is kept: memory is the pipeline's, not the bomb's.
        let peak_kib = peak_kib.expect("a run of this length is observed");
        assert!(
            peak_kib < 128 * 1024,
            "{format}: peak RSS {peak_kib} KiB for a 64 MiB limit"
        );
    }
}

/// A header asking for an xz dictionary over the decoder's fixed 1 GiB
/// memory limit (as `xz --lzma2=dict=1536MiB` writes) is refused as what it
/// is, not as corrupt data, naming what to do; and what it names works.
#[test]
fn an_xz_dictionary_over_the_memory_limit_is_refused_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    base_layout(&tmp.path().join("img"));
    let tar = rootfs_tar();
    // One block, its header after the 12-byte stream header: size, flags,
    // LZMA2's id, one property byte (the dictionary size; 37 means
    // 1536 MiB), padding, CRC32. The data itself needs no more than 1 MiB.
    let mut xz = xz_preset(&tar, 1);
    assert_eq!(xz[12..16], [0x02, 0x00, 0x21, 0x01]);
    xz[16] = 37;
    let crc = crc32fast::hash(&xz[12..20]);
    xz[20..24].copy_from_slice(&crc.to_le_bytes());
    fs::write(tmp.path().join("big.tar.xz"), &xz).unwrap();
    // One thread: liblzma's stream decoder; more: its threaded decoder.
    for threads in ["1", "2"] {
        refused_into_img_and_fresh(
            tmp.path(),
            &["big.tar.xz", "--threads", threads],
            &["ociimport: error: big.tar.xz: the xz data needs more than 1024 MiB of memory to decode, ociimport's fixed limit for xz (its dictionary is that large); decompress it where more memory is allowed (xz -d) and import the tar\n".into()],
        );
    }
    if have("xz") {
        let plain = filter_through(tmp.path(), "xz", &["-dc"], &xz);
        assert_eq!(plain, tar);
        fs::write(tmp.path().join("big.tar"), &plain).unwrap();
        run(tmp.path(), &["big.tar", "-q", "-o", "img", "-t", "big"]).succeeds();
    }
}

/// One 512-byte tar header with a valid checksum.
fn raw_header(name: &str, kind: u8, size_field: &[u8; 12]) -> [u8; 512] {
    let mut b = [0u8; 512];
    b[..name.len()].copy_from_slice(name.as_bytes());
    b[100..108].copy_from_slice(b"0000644\0");
    b[108..116].copy_from_slice(b"0000000\0");
    b[116..124].copy_from_slice(b"0000000\0");
    b[124..136].copy_from_slice(size_field);
    b[136..148].copy_from_slice(b"14524000000\0");
    b[156] = kind;
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    b[148..156].copy_from_slice(b"        ");
    let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
    let field = format!("{sum:06o}\0 ");
    b[148..156].copy_from_slice(field.as_bytes());
    b
}

fn pad512(data: &[u8]) -> Vec<u8> {
    let mut v = data.to_vec();
    v.resize(data.len().div_ceil(512) * 512, 0);
    v
}

/// A PAX extended-header entry holding `records` (each "key=value").
fn pax_entry(records: &[&str]) -> Vec<u8> {
    let mut data = Vec::new();
    for r in records {
        // "<len> <key>=<value>\n", where <len> counts its own digits too.
        let body = r.len() + 2;
        let mut len = body + body.to_string().len();
        if len.to_string().len() != body.to_string().len() {
            len += 1;
        }
        data.extend(format!("{len} {r}\n").into_bytes());
    }
    let size: [u8; 12] = format!("{:011o}\0", data.len())
        .into_bytes()
        .try_into()
        .expect("12 bytes");
    [raw_header("pax", b'x', &size).to_vec(), pad512(&data)].concat()
}

/// The GNU base-256 encoding of `n` in a 12-byte size field.
fn base256(n: u64) -> [u8; 12] {
    let mut f = [0u8; 12];
    f[0] = 0x80;
    f[4..].copy_from_slice(&n.to_be_bytes());
    f
}

#[test]
fn hostile_tar_metadata_is_refused_without_allocating() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("img");
    base_layout(&layout);
    let before = snapshot(&layout);
    let tail = [0u8; 4096];
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "pax-8gib",
            [&raw_header("pax", b'x', b"77777777777\0")[..], &tail].concat(),
            "tar metadata record of 8589934591 bytes exceeds the limit",
        ),
        (
            "gnu-longname-2^62",
            [
                &raw_header("././@LongLink", b'L', &base256(1 << 62))[..],
                &tail,
            ]
            .concat(),
            "tar metadata record of 4611686018427387904 bytes exceeds the limit",
        ),
        (
            "gnu-longlink-just-over",
            [
                &raw_header("././@LongLink", b'K', b"00004000001\0")[..],
                &tail,
            ]
            .concat(),
            "tar metadata record of 1048577 bytes exceeds the limit",
        ),
        (
            "pax-record-length-absurd",
            [
                raw_header("pax", b'x', b"00000000034\0").to_vec(),
                pad512(b"99999999999999999999 path=x\n"),
                tail.to_vec(),
            ]
            .concat(),
            "malformed PAX header",
        ),
        (
            "pax-size-override-absurd",
            [
                pax_entry(&["size=18446744073709551615"]),
                raw_header("huge", b'0', b"00000000000\0").to_vec(),
                tail.to_vec(),
            ]
            .concat(),
            "ends inside entry",
        ),
    ];
    for (name, tar, want) in cases {
        let input = tmp.path().join(format!("{name}.tar"));
        fs::write(&input, &tar).unwrap();
        // Under a 2 GiB address-space cap: allocating what the header
        // claims would abort the process (no exit code) instead of exit 1.
        let (measured, peak_kib) = run_measured(ociimport_capped([
            input.to_str().unwrap(),
            "-o",
            layout.to_str().unwrap(),
        ]));
        measured
            .refused(want)
            .says(&format!("{name}.tar"))
            .one_line();
        // A run this short may end before the first reading; the cap holds anyway.
        if let Some(kib) = peak_kib {
            assert!(
                kib < 64 * 1024,
                "{name}: peak RSS {kib} KiB: something was allocated for the header"
            );
        }
        println!("hostile {name}: refused, peak RSS {peak_kib:?} KiB");
        assert_eq!(snapshot(&layout), before, "{name}");
    }
}

#[test]
fn memory_stays_flat_as_archives_grow_tenfold() {
    if !slow_tests("memory_stays_flat_as_archives_grow_tenfold") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut peaks = Vec::new();
    for (entries, label) in [(10_000u32, "small"), (100_000, "large")] {
        let input = tmp.path().join(format!("{label}.tar"));
        let size = many_entries_tar(&input, entries, 1);
        let out = tmp.path().join(label);
        let start = Instant::now();
        let (measured, peak_kib) = run_measured(ociimport([
            input.to_str().unwrap(),
            "-q",
            "-o",
            out.to_str().unwrap(),
            "--level",
            "1",
        ]));
        measured.succeeds();
        let peak_kib = peak_kib.expect("a run of seconds is observed");
        let o = run(Path::new("."), &["verify", out.to_str().unwrap()]);
        if o.status.code() != Some(2) {
            // `verify` exists: the layer must check out.
            o.succeeds();
        }
        check_layout(&out);
        println!(
            "memory: {label}: {entries} entries, {} MiB tar, peak RSS {} KiB, {:?}",
            size >> 20,
            peak_kib,
            start.elapsed()
        );
        peaks.push((size, peak_kib));
        fs::remove_file(&input).unwrap();
        fs::remove_dir_all(&out).unwrap();
    }
    let (small_size, small) = peaks[0];
    let (large_size, large) = peaks[1];
    assert!(large_size > small_size * 9, "inputs not 10x apart");
    assert!(
        (large as f64) < 1.5 * small as f64 + 8.0 * 1024.0,
        "peak RSS grew from {small} KiB to {large} KiB for a 10x larger archive"
    );
}

/// A tar of one file of `size` random (incompressible) bytes, streamed to `path`.
fn one_big_file_tar(path: &Path, size: u64, seed: u64) {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, fs::File::create(path).unwrap());
    let mut h = tar_header(size, 0o644);
    h.set_path("big.bin").unwrap();
    h.set_cksum();
    w.write_all(h.as_bytes()).unwrap();
    let mut rng = Rng(seed);
    let mut buf = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        rng.fill(&mut buf[..n]);
        w.write_all(&buf[..n]).unwrap();
        left -= n as u64;
    }
    let pad = (512 - size % 512) % 512 + 1024;
    w.write_all(&vec![0u8; pad as usize]).unwrap();
    w.into_inner().unwrap().sync_all().unwrap();
}

/// An oci-archive is read in place, a layer streamed from it: verify and
/// inspect of an archive with a 200 MiB layer stay far below its size.
#[test]
fn a_large_archive_is_verified_in_constant_memory() {
    if !slow_tests("a_large_archive_is_verified_in_constant_memory") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("big.tar");
    one_big_file_tar(&input, 200 << 20, 7);
    let archive = tmp.path().join("img.tar");
    run_ok(&mut ociimport([
        input.to_str().unwrap(),
        "-q",
        "--level",
        "1",
        "--format",
        "oci-archive",
        "-o",
        archive.to_str().unwrap(),
    ]));
    fs::remove_file(&input).unwrap();
    let size = fs::metadata(&archive).unwrap().len();
    assert!(size > 200 << 20, "archive of {size} bytes");
    let shown = archive.to_str().unwrap();
    for cmd in ["verify", "inspect"] {
        let start = Instant::now();
        let (measured, peak_kib) = run_measured(ociimport([cmd, shown]));
        measured.succeeds();
        let peak_kib = peak_kib.expect("a run of seconds is observed");
        println!(
            "in place: {cmd} of a {} MiB archive: peak RSS {peak_kib} KiB, {:?}",
            size >> 20,
            start.elapsed()
        );
        assert!(
            peak_kib < 64 * 1024,
            "{cmd}: peak RSS {peak_kib} KiB for a {size}-byte archive"
        );
    }
    let r = run(tmp.path(), &["verify", "img.tar"]).succeeds();
    assert_eq!(
        r.out(),
        "OK: img.tar checked: 1 manifest, 0 image indexes, 3 blobs, 1 layer\n"
    );
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
}

// ---------------------------------------------------------------- 5. fuzz findings

/// Found by the `index_merge` fuzz target (crash-149c21ec…): an import
/// rewrote a number in an existing index.json one ULP off
/// (7.777777777777779e86 for 7.777777777777778e86), because serde_json
/// parses floats exactly only with its `float_roundtrip` feature. Other
/// tools' fields must survive an import as the same numbers.
#[test]
fn numbers_in_an_existing_index_survive_an_import() {
    // The fuzzer's input, as found.
    let found = br#"{"schemaVersion": 2, "{cen": 777777777777777777777777777777777777777777777777777777777777777777777777777777777777772, "{ce": "ap.pli%\"oc\"zhi%c\"", "manifests": []}"#;
    let descriptor = serde_json::json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": format!("sha256:{}", "a".repeat(64)),
        "size": 404,
        "annotations": {REF_NAME: "fuzz"}
    });
    let merged = ociimport::spec::index::merge_index_bytes(
        Path::new("index.json"),
        Some(found),
        descriptor,
        "fuzz",
    )
    .unwrap();
    let merged: Value = serde_json::from_slice(&merged).unwrap();
    // Rust's own parser rounds correctly: the reference value.
    let want: f64 =
        "777777777777777777777777777777777777777777777777777777777777777777777777777777777777772"
            .parse()
            .unwrap();
    assert_eq!(merged["{cen"].as_f64(), Some(want));
    assert_eq!(merged["{ce"], r#"ap.pli%"oc"zhi%c""#);

    // Through the binary, with numbers that fast float parsers get wrong.
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("img");
    base_layout(&layout);
    let numbers = [
        "777777777777777777777777777777777777777777777777777777777777777777777777777777777777772",
        "1e23",
        "8.98846567431158e307",
        "2.2250738585072011e-308",
        "4.9e-324",
        "0.30000000000000004",
        "9007199254740993",
        "123456789012345678901234567890",
    ];
    let index_path = layout.join("index.json");
    let mut text = String::from_utf8(fs::read(&index_path).unwrap()).unwrap();
    let at = text.rfind('}').unwrap();
    text.insert_str(at, &format!(r#","x-numbers":[{}]"#, numbers.join(",")));
    fs::write(&index_path, &text).unwrap();
    import_fixture(&layout, "next").succeeds();
    let index: Value = serde_json::from_slice(&fs::read(&index_path).unwrap()).unwrap();
    let kept = index["x-numbers"].as_array().unwrap();
    assert_eq!(kept.len(), numbers.len());
    for (n, v) in numbers.iter().zip(kept) {
        match n.parse::<u64>() {
            Ok(int) => assert_eq!(v.as_u64(), Some(int), "{n}"),
            Err(_) => assert_eq!(v.as_f64(), Some(n.parse::<f64>().unwrap()), "{n}"),
        }
    }
    assert_eq!(tags(&layout), ["old", "next"].map(String::from).into());
}

/// An index.json the merge refuses: the import is refused naming the
/// entry, and no blob is published either.
#[test]
fn an_index_json_the_merge_refuses_publishes_no_blob() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("r.tar"), rootfs_tar()).unwrap();
    run(tmp.path(), &["r.tar", "--json", "-q", "-o", "bad"]).report();
    std::fs::write(
        tmp.path().join("bad/index.json"),
        br#"{"schemaVersion":2,"manifests":[{"digest":"sha256:zz"}]}"#,
    )
    .unwrap();
    let before = snapshot(&tmp.path().join("bad"));
    std::fs::write(tmp.path().join("z.tar.gz"), gzip_bytes(&rootfs_tar())).unwrap();
    run(tmp.path(), &["z.tar.gz", "-o", "bad", "-t", "other"]).refused("manifests[0]");
    assert_eq!(snapshot(&tmp.path().join("bad")), before);
}

// ---------------------------------------------------------------- 6. stress

#[test]
fn sixteen_imports_while_a_verifier_loops() {
    if !slow_tests("sixteen_imports_while_a_verifier_loops") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("shared");
    base_layout(&layout);
    let tar = generated_tar(21, 8 << 20);
    let inputs: Vec<PathBuf> = (0..4)
        .map(|i| {
            // Four distinct inputs (two formats), each imported four times.
            let p = tmp
                .path()
                .join(format!("in{i}.tar.{}", ["gz", "xz"][i % 2]));
            let mut t = tar.clone();
            t.extend(vec![0u8; 512 * (i + 2)]);
            let bytes = if i % 2 == 0 {
                gzip_level(&t, 1)
            } else {
                xz_preset(&t, 0)
            };
            fs::write(&p, bytes).unwrap();
            p
        })
        .collect();
    let has_verify = ociimport(["verify", "--help"])
        .output()
        .is_ok_and(|o| o.status.success());
    let done = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicUsize::new(0));
    // Besides `verify`, the test's own checks, in-process, in a loop.
    let checker = {
        let (done, layout) = (done.clone(), layout.clone());
        std::thread::spawn(move || {
            let mut n = 0usize;
            while !done.load(Ordering::Relaxed) {
                check_consistent(&layout);
                n += 1;
            }
            n
        })
    };
    let verifier = {
        let (done, rounds, layout) = (done.clone(), rounds.clone(), layout.clone());
        std::thread::spawn(move || {
            let mut problems = Vec::new();
            while !done.load(Ordering::Relaxed) {
                if has_verify {
                    let o = ociimport(["verify", layout.to_str().unwrap()])
                        .output()
                        .unwrap();
                    if o.status.code() != Some(0) {
                        problems.push(format!(
                            "{}{}",
                            String::from_utf8_lossy(&o.stdout),
                            String::from_utf8_lossy(&o.stderr)
                        ));
                    }
                } else {
                    // No verify subcommand: the same checks in-process.
                    check_consistent(&layout);
                }
                rounds.fetch_add(1, Ordering::Relaxed);
            }
            problems
        })
    };
    let start = Instant::now();
    let imports = (0..16)
        .map(|i| {
            let (tag, created) = (format!("t{i}"), format!("@{i}"));
            ociimport([
                inputs[i % 4].to_str().unwrap(),
                "-q",
                "-o",
                layout.to_str().unwrap(),
                "-t",
                &tag,
                "--created",
                &created,
                "--threads",
                "1",
            ])
        })
        .collect();
    for run in run_together(imports) {
        run.succeeds();
    }
    let took = start.elapsed();
    done.store(true, Ordering::Relaxed);
    let problems = verifier.join().expect("verifier thread");
    let checks = checker
        .join()
        .expect("a consistency check failed during the imports");
    let rounds = rounds.load(Ordering::Relaxed);
    let how = if has_verify {
        ""
    } else {
        " (in-process; no verify subcommand)"
    };
    println!(
        "stress: 16 imports in {took:?}; {rounds} verify rounds{how} and {checks} in-process \
         checks ran meanwhile; {} problems reported",
        problems.len()
    );
    assert_eq!(problems, Vec::<String>::new());
    assert!(rounds > 1 && checks > 1, "the verifiers hardly ran");
    let mut want: BTreeSet<String> = (0..16).map(|i| format!("t{i}")).collect();
    want.insert("old".into());
    assert_eq!(tags(&layout), want);
    // old: 3 blobs; 16 images: 16 configs + 16 manifests + 4 layers.
    assert_eq!(check_layout(&layout), 3 + 16 * 3);
    assert_eq!(blob_names(&layout).len(), 3 + 32 + 4);
    if has_verify {
        run_cmd(&mut ociimport(["verify", layout.to_str().unwrap()])).succeeds();
    }
}
