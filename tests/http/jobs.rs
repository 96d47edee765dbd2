//! `--jobs`: several URL inputs downloaded together. A server that holds
//! each response until every request has arrived proves they are in flight
//! at once (no sleeps); completion order never changes the layout; the
//! first failure stops the others and leaves the layout as it was.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::{HANG, Reply, Server, existing_layout, run_within, without_proxies};
use crate::common::{
    EM_AARCH64, EM_RISCV, EM_X86_64, Tar, elf64_exec, gzip_bytes, sha256, snapshot,
};

/// How long the rendezvous waits for the other requests before it answers
/// 503: far above what they need, so only inputs read one after another
/// trip it.
const RENDEZVOUS: Duration = Duration::from_secs(30);

/// Holds every request until `n` have arrived; `missed` says one gave up.
struct Rendezvous {
    n: usize,
    arrived: Mutex<usize>,
    all_in: Condvar,
    missed: AtomicBool,
}

impl Rendezvous {
    fn new(n: usize) -> Arc<Self> {
        Arc::new(Rendezvous {
            n,
            arrived: Mutex::new(0),
            all_in: Condvar::new(),
            missed: AtomicBool::new(false),
        })
    }

    /// Count this request, then wait for the others; false on timeout.
    fn wait(&self) -> bool {
        let mut arrived = self.arrived.lock().expect("rendezvous");
        *arrived += 1;
        self.all_in.notify_all();
        let (arrived, t) = self
            .all_in
            .wait_timeout_while(arrived, RENDEZVOUS, |a| *a < self.n)
            .expect("rendezvous");
        drop(arrived);
        if t.timed_out() {
            self.missed.store(true, Ordering::SeqCst);
        }
        !t.timed_out()
    }
}

/// A gzip rootfs whose only executable is for `machine`, with `noise`
/// bytes of incompressible data so that a dripped download takes long.
fn rootfs_gz(machine: u16, noise: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ u64::from(machine);
    let data: Vec<u8> = (0..noise)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let mut t = Tar::new();
    t.file("bin/sh", &elf64_exec(machine), 0o755)
        .file("usr/share/noise.bin", &data, 0o644);
    gzip_bytes(&t.finish())
}

/// `/a.tar.gz`, `/b.tar.gz`, `/c.tar.gz`: amd64, arm64, riscv64.
fn three(noise: usize) -> BTreeMap<String, Vec<u8>> {
    [("a", EM_X86_64), ("b", EM_AARCH64), ("c", EM_RISCV)]
        .into_iter()
        .map(|(n, m)| (format!("/{n}.tar.gz"), rootfs_gz(m, noise)))
        .collect()
}

/// The path of a request line `GET /path HTTP/1.1`.
fn path_of(line: &str) -> &str {
    line.split(' ').nth(1).unwrap_or_default()
}

fn ok(body: &[u8]) -> Reply {
    Reply {
        status: 200,
        body: body.to_vec(),
        ..Reply::default()
    }
}

/// Serves `files`, each request held at `meet` first.
fn meeting_server(files: BTreeMap<String, Vec<u8>>, meet: Arc<Rendezvous>) -> Server {
    Server::start(move |_, req| {
        if !meet.wait() {
            return Reply::status(503);
        }
        files
            .get(path_of(&req.line))
            .map_or(Reply::status(404), |b| ok(b))
    })
}

fn urls(server: &Server, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| server.url(&format!("/{n}.tar.gz")))
        .collect()
}

/// `ociimport ARGS` in `dir` (within [`HANG`]), expecting success.
fn import(dir: &Path, args: &[String]) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_within(dir, &args, &[]).succeeds();
}

#[test]
fn index_of_three_urls_downloads_them_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    let meet = Rendezvous::new(3);
    let server = meeting_server(three(4096), meet.clone());
    let mut args = vec!["--index".to_string()];
    args.extend(urls(&server, &["c", "a", "b"]));
    args.extend(["-o", "out", "--retries", "0"].map(String::from));
    import(dir.path(), &args);
    assert!(
        !meet.missed.load(Ordering::SeqCst),
        "a request waited alone"
    );
    assert_eq!(server.seen().len(), 3);
    let out = dir.path().join("out");
    assert!(out.join("index.json").is_file());
}

#[test]
fn layers_of_one_image_download_together_in_argument_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = three(4096);
    let meet = Rendezvous::new(3);
    let server = meeting_server(files.clone(), meet.clone());
    let mut args = urls(&server, &["b", "c", "a"]);
    args.extend(["-o", "out", "--arch", "amd64", "--json", "--retries", "0"].map(String::from));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_within(dir.path(), &argv, &[]).succeeds();
    assert!(
        !meet.missed.load(Ordering::SeqCst),
        "a request waited alone"
    );
    let r: serde_json::Value = serde_json::from_str(&out.out()).expect("report");
    let digests: Vec<&str> = r["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l["input_digest"].as_str().expect("digest"))
        .collect();
    let want: Vec<String> = ["/b.tar.gz", "/c.tar.gz", "/a.tar.gz"]
        .iter()
        .map(|p| sha256(&files[*p]))
        .collect();
    assert_eq!(digests, want);
}

/// Serves `files`, the one `slow` names in 16 KiB pieces 5 ms apart.
fn slow_one(files: BTreeMap<String, Vec<u8>>, slow: Arc<Mutex<&'static str>>) -> Server {
    Server::start(move |_, req| {
        let path = path_of(&req.line);
        let mut r = files.get(path).map_or(Reply::status(404), |b| ok(b));
        if path == *slow.lock().expect("slow") {
            r.drip = Some((16 << 10, Duration::from_millis(5)));
        }
        r
    })
}

#[test]
fn completion_order_does_not_change_the_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = three(1 << 20);
    let mut layouts = Vec::new();
    // One server: the URLs (and so the layers' source annotations) stay the same.
    let slow = Arc::new(Mutex::new(""));
    let server = slow_one(files, slow.clone());
    for (i, (slowed, jobs)) in [("/a.tar.gz", "3"), ("/c.tar.gz", "3"), ("/b.tar.gz", "1")]
        .into_iter()
        .enumerate()
    {
        *slow.lock().expect("slow") = slowed;
        for index in [true, false] {
            let out = format!("out-{i}-{index}");
            let mut args = urls(&server, &["a", "b", "c"]);
            args.extend(["-o", &out, "--jobs", jobs].map(String::from));
            if index {
                args.push("--index".into());
            } else {
                args.extend(["--arch", "amd64"].map(String::from));
            }
            import(dir.path(), &args);
            layouts.push((index, snapshot(&dir.path().join(&out))));
        }
    }
    for (index, layout) in &layouts[2..] {
        let first = &layouts[usize::from(!*index)];
        assert_eq!(first.0, *index);
        assert_eq!(&first.1, layout, "layouts differ (index: {index})");
    }
}

/// How input `/b.tar.gz` fails while `/a` and `/c` are still downloading.
enum Failing {
    NotFound,
    Checksum,
    Truncated,
}

/// `/a` and `/c` dripped so slowly (over 200 s) that only cancelling them
/// ends the run within [`HANG`]; `/b` fails as `how` says.
fn failing_server(files: BTreeMap<String, Vec<u8>>, how: &'static Failing) -> Server {
    Server::start(move |_, req| {
        let path = path_of(&req.line);
        let body = files.get(path).cloned().unwrap_or_default();
        match (path, how) {
            ("/b.tar.gz", Failing::NotFound) => Reply::status(404),
            ("/b.tar.gz", Failing::Truncated) => Reply {
                cut: Some(body.len() / 2),
                ..ok(&body)
            },
            ("/b.tar.gz", Failing::Checksum) => ok(&body),
            _ => Reply {
                drip: Some((4 << 10, Duration::from_millis(300))),
                ..ok(&body)
            },
        }
    })
}

#[test]
fn a_failing_input_among_several_stops_the_others_and_changes_nothing() {
    let files = three(3 << 20);
    let cases: [(&'static Failing, &str); 3] = [
        (&Failing::NotFound, "404"),
        (&Failing::Checksum, "sha256 mismatch"),
        (&Failing::Truncated, "the download broke off at byte"),
    ];
    for (how, want) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let before = existing_layout(dir.path());
        let server = failing_server(files.clone(), how);
        let sums: String = files
            .iter()
            .map(|(p, b)| {
                let digest = if p == "/b.tar.gz" {
                    sha256(b"other")
                } else {
                    sha256(b)
                };
                format!("{}  {}\n", &digest["sha256:".len()..], &p[1..])
            })
            .collect();
        std::fs::write(dir.path().join("SUMS"), sums).expect("write SUMS");
        let mut args = vec!["--index".to_string()];
        args.extend(urls(&server, &["a", "b", "c"]));
        args.extend(["-o", "out", "--retries", "0"].map(String::from));
        if matches!(how, Failing::Checksum) {
            args.extend(["--checksums", "SUMS"].map(String::from));
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = run_within(dir.path(), &argv, &[]).exits(1);
        let err = run.err();
        let b = server.url("/b.tar.gz");
        assert_eq!(err.lines().count(), 1, "{}", run.context());
        assert!(
            err.starts_with(&format!("ociimport: error: {b}")),
            "{}",
            run.context()
        );
        assert!(err.contains(want), "{}", run.context());
        assert_eq!(snapshot(&dir.path().join("out")), before, "layout changed");
    }
}

#[test]
fn sigint_during_a_concurrent_import_leaves_the_layout_as_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    let before = existing_layout(dir.path());
    let server = failing_server(three(3 << 20), &Failing::Checksum);
    let u = urls(&server, &["a", "c"]);
    let mut cmd = without_proxies(dir.path(), &["--index", &u[0], &u[1], "-o", "out"], &[]);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let out = dir.path().join("out");
    let temps = || {
        std::fs::read_dir(&out)
            .map(|d| {
                d.flatten()
                    .filter(|e| {
                        e.file_name()
                            .to_string_lossy()
                            .starts_with(".ociimport-tmp-")
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    let start = Instant::now();
    // Both downloads under way, each writing its blob.
    while (server.seen().len() < 2 || temps() < 2) && start.elapsed() < HANG {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.seen().len(), 2, "both downloads should be under way");
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe { libc::kill(i32::try_from(child.id()).expect("pid"), libc::SIGINT) };
    let status = child.wait().expect("wait");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read");
    assert_eq!(status.code(), Some(130), "{err}");
    assert_eq!(
        err,
        "ociimport: interrupted (SIGINT); temporary files removed, layout unchanged\n"
    );
    assert_eq!(snapshot(&out), before, "layout changed");
}

#[test]
fn a_checksums_url_is_fetched_once_for_several_inputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = three(4096);
    let sums: String = files
        .iter()
        .map(|(p, b)| format!("{}  {}\n", &sha256(b)["sha256:".len()..], &p[1..]))
        .collect();
    files.insert("/SUMS".into(), sums.into_bytes());
    let server = Server::start(move |_, req| {
        files
            .get(path_of(&req.line))
            .map_or(Reply::status(404), |b| ok(b))
    });
    let mut args = vec!["--index".to_string()];
    args.extend(urls(&server, &["a", "b", "c"]));
    args.extend(["-o", "out", "--checksums"].map(String::from));
    args.push(server.url("/SUMS"));
    import(dir.path(), &args);
    let sums_requests = server
        .seen()
        .iter()
        .filter(|s| path_of(&s.line) == "/SUMS")
        .count();
    assert_eq!(sums_requests, 1);
    assert_eq!(server.seen().len(), 4);
}

#[test]
fn inputs_that_fail_on_their_own_are_all_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let before = existing_layout(dir.path());
    // Both requests held until both arrived, then both refused: each
    // input fails on its own, neither because the other stopped it.
    let meet = Rendezvous::new(2);
    let server = meeting_server(BTreeMap::new(), meet.clone());
    let u = urls(&server, &["a", "b"]);
    let args = ["--index", &u[0], &u[1], "-o", "out", "--retries", "0"];
    let run = run_within(dir.path(), &args, &[]).exits(1);
    let err = run.err();
    assert!(
        !meet.missed.load(Ordering::SeqCst),
        "a request waited alone"
    );
    assert_eq!(err.lines().count(), 1, "{}", run.context());
    assert!(err.contains(" (also: "), "{}", run.context());
    for url in &u {
        assert_eq!(err.matches(url.as_str()).count(), 1, "{}", run.context());
    }
    assert_eq!(snapshot(&dir.path().join("out")), before, "layout changed");
}

#[test]
fn a_failure_ends_the_others_retries_at_once() {
    // a answers 503 for ever (retried 5 times over 15 s by default), b 404
    // a moment later: a's retries stop with b's failure, after at most
    // the one request it had made.
    let server = Server::start(|_, seen| {
        if seen.line.starts_with("GET /b.tar.gz ") {
            std::thread::sleep(Duration::from_millis(300));
            return Reply::status(404);
        }
        Reply::status(503)
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let before = existing_layout(dir.path());
    let u = urls(&server, &["a", "b"]);
    let run = run_within(dir.path(), &["--index", &u[0], &u[1], "-o", "out"], &[]).exits(1);
    let err = run.err();
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("ociimport: error: {}: ", u[1])) && last.contains("404"),
        "{}",
        run.context()
    );
    let to_a = server
        .seen()
        .iter()
        .filter(|s| s.line.starts_with("GET /a.tar.gz "))
        .count();
    assert!(to_a <= 1, "a was retried {to_a} times: {}", run.context());
    assert_eq!(snapshot(&dir.path().join("out")), before, "layout changed");
}

#[test]
fn one_progress_bar_per_input_on_a_terminal_and_none_on_a_pipe() {
    // Every input dripped over about a second, so the bars are drawn while
    // all three are in flight; `script` gives the import a terminal.
    let files = three(256 << 10);
    let server = Server::start(move |_, req| {
        let mut r = files
            .get(path_of(&req.line))
            .map_or(Reply::status(404), |b| ok(b));
        r.drip = Some((16 << 10, Duration::from_millis(50)));
        r
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let u = urls(&server, &["a", "b", "c"]);
    let line = format!(
        "{} --index {} {} {} -o tty",
        crate::common::bin().display(),
        u[0],
        u[1],
        u[2]
    );
    let mut cmd = std::process::Command::new("script");
    cmd.current_dir(dir.path())
        .args(["-qfec", &line, "/dev/null"])
        .stdin(Stdio::null());
    for v in ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"] {
        cmd.env_remove(v);
    }
    let out = cmd.output().expect("script (bsdutils)");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    // A bar is the template's line: name, [bar], bytes/total, rate, ETA.
    let bars: Vec<&str> = shown
        .split(['\n', '\r'])
        .filter(|l| l.contains(" ETA "))
        .collect();
    for name in ["a.tar.gz", "b.tar.gz", "c.tar.gz"] {
        assert!(
            bars.iter().any(|l| l.contains(name)),
            "no bar for {name}: {shown}"
        );
    }
    // On a pipe: the summary only, no bar.
    let piped = run_within(
        dir.path(),
        &["--index", &u[0], &u[1], &u[2], "-o", "pipe"],
        &[],
    );
    assert!(!piped.err().contains(" ETA "), "{}", piped.context());
}
