//! URL inputs against a local HTTP/1.1 server with injected faults (and a
//! local HTTPS server with a test CA): resume, retries, refusals, and that
//! every refusal leaves an existing layout byte-identical.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use ociimport::report::human_size;

use crate::common::{
    Run, blob, check_layout, describe, gzip_bytes, hex_of, ociimport_in, report, run_cmd, sha256,
    snapshot, testdata,
};

/// What the server saw of one request.
#[derive(Clone, Debug)]
struct Seen {
    /// `GET /path HTTP/1.1`.
    line: String,
    /// Header names in lower case.
    headers: BTreeMap<String, String>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// How to answer one request.
#[derive(Clone, Debug, Default)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Send only this many body bytes, then close (or stall).
    cut: Option<usize>,
    /// After the cut, keep the connection open and silent for this long.
    stall: Option<Duration>,
    /// Send the body in pieces of this many bytes, pausing this long before each.
    drip: Option<(usize, Duration)>,
}

impl Reply {
    fn status(status: u16) -> Self {
        Reply {
            status,
            ..Reply::default()
        }
    }

    fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
}

/// One version of a file, served honouring Range and If-Range (by ETag or date).
#[derive(Clone)]
struct File {
    bytes: Vec<u8>,
    etag: Option<String>,
    date: Option<String>,
}

impl File {
    fn new(bytes: Vec<u8>, etag: &str) -> Self {
        File {
            bytes,
            etag: Some(format!("\"{etag}\"")),
            date: Some("Tue, 14 Nov 2023 22:13:20 GMT".into()),
        }
    }

    fn validators(&self, mut r: Reply) -> Reply {
        if let Some(e) = &self.etag {
            r = r.header("ETag", e);
        }
        if let Some(d) = &self.date {
            r = r.header("Last-Modified", d);
        }
        r.header("Accept-Ranges", "bytes")
    }

    /// The whole file.
    fn full(&self) -> Reply {
        let mut r = self.validators(Reply::status(200));
        r.body = self.bytes.clone();
        r
    }

    /// What a correct server answers: 206 when Range applies and If-Range
    /// (if any) names this version, else 200.
    fn serve(&self, req: &Seen) -> Reply {
        let start = req
            .header("range")
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|s| s.parse::<usize>().ok());
        let if_range_ok = match req.header("if-range") {
            None => true,
            Some(v) => Some(v) == self.etag.as_deref() || Some(v) == self.date.as_deref(),
        };
        match start {
            Some(s) if if_range_ok && s < self.bytes.len() => self.partial(s),
            _ => self.full(),
        }
    }

    /// 206 from `start`, whatever the request's If-Range says.
    fn partial(&self, start: usize) -> Reply {
        let len = self.bytes.len();
        let mut r = self
            .validators(Reply::status(206))
            .header("Content-Range", &format!("bytes {start}-{}/{len}", len - 1));
        r.body = self.bytes[start..].to_vec();
        r
    }

    fn range_start(req: &Seen) -> Option<usize> {
        req.header("range")?
            .strip_prefix("bytes=")?
            .strip_suffix('-')?
            .parse()
            .ok()
    }
}

type Handler = dyn Fn(usize, &Seen) -> Reply + Send + Sync;

/// A local HTTP/1.1 server (HTTPS with `tls`): each request answered by
/// the handler with its index, each seen request logged. Threads are
/// detached; they end with the test process.
struct Server {
    addr: SocketAddr,
    https: bool,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn start(handler: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> Self {
        Self::start_with(Arc::new(handler), None)
    }

    fn start_with(handler: Arc<Handler>, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let https = tls.is_some();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (handler, log, tls) = (handler.clone(), log.clone(), tls.clone());
                std::thread::spawn(move || match tls {
                    None => handle(stream, &*handler, &log),
                    Some(cfg) => {
                        let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                            return;
                        };
                        handle(rustls::StreamOwned::new(conn, stream), &*handler, &log);
                    }
                });
            }
        });
        Server { addr, https, seen }
    }

    fn url(&self, path: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("log").clone()
    }
}

/// Read one request head, log it, answer it, close.
fn handle<S: Read + Write>(stream: S, handler: &Handler, log: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || line.is_empty() {
        return;
    }
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let seen = Seen {
        line: line.trim_end().to_string(),
        headers,
    };
    let index = {
        let mut l = log.lock().expect("log");
        l.push(seen.clone());
        l.len() - 1
    };
    let mut stream = reader.into_inner();
    // As a proxy: open the tunnel, then serve the request inside it.
    if seen.line.starts_with("CONNECT ") {
        if stream
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .is_ok()
        {
            handle(stream, handler, log);
        }
        return;
    }
    let reply = handler(index, &seen);
    let mut head = format!("HTTP/1.1 {} X\r\n", reply.status);
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        reply.body.len()
    ));
    let body = &reply.body[..reply.cut.unwrap_or(reply.body.len())];
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let (piece, pause) = reply.drip.unwrap_or((body.len().max(1), Duration::ZERO));
    for chunk in body.chunks(piece) {
        std::thread::sleep(pause);
        // The client gone (refused too slow): stop.
        if stream.write_all(chunk).is_err() || stream.flush().is_err() {
            return;
        }
    }
    let _ = stream.flush();
    if let Some(d) = reply.stall {
        std::thread::sleep(d);
    }
}

/// A tar of a few MB (mostly incompressible), so that 40 % is well inside
/// the stream, and its gzip.
fn fixture() -> (Vec<u8>, Vec<u8>) {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append_data(&mut h, path, data).expect("tar append");
    };
    add("etc/os-release", b"ID=ociimport-test\n");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..3 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    add("usr/share/noise.bin", &noise);
    let tar = b.into_inner().expect("tar");
    let gz = gzip_bytes(&tar);
    (tar, gz)
}

/// Run ociimport in `cwd` with no proxy settings, plus `env`.
fn run(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    run_cmd(&mut without_proxies(cwd, args, env))
}

/// How long a run that must end on its own may take before it counts as
/// hung: far above what it needs, so that only a hang trips it.
const HANG: Duration = Duration::from_secs(120);

/// [`run`], failing the test (and killing the run) if it has not ended
/// within [`HANG`].
#[track_caller]
fn run_within(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = without_proxies(cwd, args, env);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn ociimport");
    let pid = i32::try_from(child.id()).expect("pid");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(HANG) {
        Ok(out) => Run::of(&cmd, out.expect("wait")),
        Err(_) => {
            // SAFETY: kill has no memory preconditions; pid is our child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("`{}` still running after {HANG:?}", describe(&cmd));
        }
    }
}

/// `ociimport ARGS` in `cwd` with no proxy settings, plus `env`.
fn without_proxies(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = ociimport_in(cwd, args);
    for v in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ] {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        // An empty value unsets the variable.
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    cmd
}

/// Import `url` into `dir/out` (fixed platform), expecting success; the report.
fn import_ok(dir: &Path, url: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![url, "-o", "out", "--json", "--arch", "amd64"];
    args.extend(extra);
    let out = run(dir, &args, &[]);
    let r = report(&out);
    check_layout(&dir.join("out"));
    r
}

/// A layout `dir/out` made from the committed fixture, and its snapshot.
fn existing_layout(dir: &Path) -> BTreeMap<PathBuf, String> {
    let fixture = testdata("rootfs.tar");
    run(
        dir,
        &[
            fixture.to_str().expect("utf-8"),
            "-o",
            "out",
            "--arch",
            "amd64",
        ],
        &[],
    )
    .succeeds();
    snapshot(&dir.join("out"))
}

/// Import `url` into the existing `dir/out`, expecting a refusal: exit 1,
/// one line naming the URL (after the retry notices, if any), and the
/// layout untouched. Returns the line.
fn refused(dir: &Path, url: &str, extra: &[&str], env: &[(&str, &str)]) -> String {
    refused_after(dir, url, extra, env).1
}

/// [`refused`], returning the retry notices too.
fn refused_after(
    dir: &Path,
    url: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Vec<String>, String) {
    let before = existing_layout(dir);
    let mut args = vec![url, "-o", "out", "--arch", "amd64"];
    args.extend(extra);
    let out = run(dir, &args, env).exits(1);
    let (notices, err) = notices_and_error(&out);
    assert!(err.contains(url), "{}", out.context());
    assert_eq!(snapshot(&dir.join("out")), before, "layout changed");
    (notices, err)
}

/// The stderr of a failed run: the retry notices, then exactly one error line.
#[track_caller]
fn notices_and_error(out: &Run) -> (Vec<String>, String) {
    let mut lines: Vec<String> = out.err().lines().map(str::to_string).collect();
    let err = lines.pop().unwrap_or_default();
    assert!(err.starts_with("ociimport: error: "), "{}", out.context());
    for l in &lines {
        let notice = l.starts_with("ociimport: http") && l.contains("retry ");
        assert!(notice, "not a retry notice: {l:?}: {}", out.context());
    }
    (lines, err)
}

fn layer(r: &serde_json::Value) -> &serde_json::Value {
    &r["layers"][0]
}

/// The digests that prove the layer is the served file, whole, once.
fn assert_layer_is(r: &serde_json::Value, tar: &[u8], gz: &[u8]) {
    let l = layer(r);
    assert_eq!(l["diff_id"], sha256(tar));
    assert_eq!(l["input_digest"], sha256(gz));
    assert_eq!(l["input_size"], gz.len() as u64);
    assert_eq!(l["digest"], sha256(gz), "gzip input kept as is");
}

#[test]
fn download_streams_as_served_with_identity_encoding() {
    let (tar, gz) = fixture();
    let file = File::new(gz.clone(), "v1");
    let server = Server::start(move |_, req| file.serve(req));
    let dir = tempfile::tempdir().expect("tempdir");
    // No -o: the layout is named after the URL's last segment, without the
    // query. Credentials and the query (a presigned URL's token) are never
    // shown or recorded.
    let url = server
        .url("/pub/big.tar.gz?token=x")
        .replacen("http://", "http://user:s3cret@", 1);
    let out = run(dir.path(), &[&url, "--json", "--arch", "amd64"], &[]);
    let r = report(&out);
    assert_layer_is(&r, &tar, &gz);
    let public = server.url("/pub/big.tar.gz");
    assert_eq!(layer(&r)["input"], public.as_str());
    assert_eq!(layer(&r)["source"], public.as_str());
    check_layout(&dir.path().join("big"));
    // Nothing printed or written holds them: every file of the layout,
    // the report and the summary.
    let layout = dir.path().join("big");
    let mut everything = [out.stdout.clone(), out.stderr.clone()].concat();
    everything.extend(std::fs::read(layout.join("index.json")).unwrap());
    for e in std::fs::read_dir(layout.join("blobs/sha256")).unwrap() {
        everything.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    let text = String::from_utf8_lossy(&everything);
    assert!(!text.contains("s3cret") && !text.contains("token"));
    assert!(
        text.contains(&format!(
            "\"io.github.ociimport.layer.0.source\":\"{public}\""
        )),
        "the manifest records the public URL"
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].line, "GET /pub/big.tar.gz?token=x HTTP/1.1");
    assert_eq!(seen[0].header("accept-encoding"), Some("identity"));
    assert_eq!(seen[0].header("range"), None);
}

/// A server of `gz` whose first response breaks off at 40 % (after
/// stalling for `stall`, if given), honouring Range requests or not; and
/// where it breaks off.
fn breaks_off_once(gz: &[u8], stall: Option<Duration>, ranges: bool) -> (Server, usize) {
    let cut = gz.len() * 2 / 5;
    let file = File::new(gz.to_vec(), "v1");
    let server = Server::start(move |i, req| {
        let mut r = if ranges { file.serve(req) } else { file.full() };
        if i == 0 {
            r.cut = Some(cut);
            r.stall = stall;
        }
        r
    });
    (server, cut)
}

/// The notice of the first retry of a download that broke off (`why`) at
/// byte `cut` of `len`.
fn resuming(url: &str, why: &str, cut: usize, len: usize) -> String {
    format!(
        "ociimport: {url}: {why} at {} of {}; resuming, retry 1/5 in 1 s",
        human_size(cut as u64),
        human_size(len as u64)
    )
}

/// How the refusal of a download under `--speed-limit 100 --speed-time 2`
/// ends, after the figures measured.
const TOO_SLOW_TAIL: &str = ", under --speed-limit 100 bytes/s for --speed-time 2 s; check the server or the network, or lower --speed-limit (0 turns the check off)";

/// Two requests reached `server`, the second resuming at `cut`; its request.
fn resumed_at(server: &Server, cut: usize) -> Seen {
    let mut seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(
        seen[1].header("range"),
        Some(format!("bytes={cut}-").as_str())
    );
    seen.remove(1)
}

#[test]
fn dropped_connection_resumes_with_range_and_if_range() {
    let (tar, gz) = fixture();
    let (server, cut) = breaks_off_once(&gz, None, true);
    let dir = tempfile::tempdir().expect("tempdir");
    let url = server.url("/big.tar.gz");
    let out = run(
        dir.path(),
        &[&url, "-o", "out", "--json", "--arch", "amd64"],
        &[],
    );
    let r = report(&out);
    assert_layer_is(&r, &tar, &gz);
    // The break is said as it happens, where it happened.
    let notice = resuming(&url, "connection closed", cut, gz.len());
    assert_eq!(
        out.err().lines().next(),
        Some(notice.as_str()),
        "{}",
        out.context()
    );
    let second = resumed_at(&server, cut);
    assert_eq!(second.header("if-range"), Some("\"v1\""));
    let warnings = layer(&r)["warnings"].to_string();
    assert!(
        warnings.contains(&format!("broke off at byte {cut}")),
        "{warnings}"
    );
}

#[test]
fn stalled_connection_times_out_and_resumes() {
    let (tar, gz) = fixture();
    let (server, cut) = breaks_off_once(&gz, Some(Duration::from_secs(20)), true);
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let url = server.url("/big.tar.gz");
    let args = [
        &url,
        "-o",
        "out",
        "--json",
        "--arch",
        "amd64",
        "--timeout",
        "1",
    ];
    let out = run(dir.path(), &args, &[]);
    let r = report(&out);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_layer_is(&r, &tar, &gz);
    resumed_at(&server, cut);
    let notice = resuming(&url, "no data within --timeout", cut, gz.len());
    assert_eq!(
        out.err().lines().next(),
        Some(notice.as_str()),
        "{}",
        out.context()
    );
}

#[test]
fn service_unavailable_twice_is_retried() {
    let (tar, gz) = fixture();
    let file = File::new(gz.clone(), "v1");
    let server = Server::start(move |i, req| match i {
        // The first names its own (zero) delay, the second gets the backoff.
        0 => Reply::status(503).header("Retry-After", "0"),
        1 => Reply::status(503),
        _ => file.serve(req),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let r = import_ok(dir.path(), &server.url("/big.tar.gz"), &[]);
    assert_layer_is(&r, &tar, &gz);
    assert_eq!(server.seen().len(), 3);
}

#[test]
fn retries_exhausted_is_refused() {
    let server = Server::start(|_, _| Reply::status(503).header("Retry-After", "0"));
    let dir = tempfile::tempdir().expect("tempdir");
    let url = server.url("/big.tar.gz");
    let (notices, err) = refused_after(dir.path(), &url, &["--retries", "2"], &[]);
    // Each retry is said as it happens, with the server's own delay.
    let notice = |n| {
        format!(
            "ociimport: {url}: the server answered HTTP 503 Service Unavailable; retry {n}/2 in 0 s"
        )
    };
    assert_eq!(notices, [notice(1), notice(2)]);
    assert!(err.contains("after 2 retries"), "{err}");
    assert!(err.contains("HTTP 503 Service Unavailable"), "{err}");
    assert_eq!(server.seen().len(), 3);
}

#[test]
fn ignored_range_skips_the_prefix_of_the_same_version() {
    let (tar, gz) = fixture();
    let (server, cut) = breaks_off_once(&gz, None, false);
    let dir = tempfile::tempdir().expect("tempdir");
    let r = import_ok(dir.path(), &server.url("/big.tar.gz"), &[]);
    assert_layer_is(&r, &tar, &gz);
    resumed_at(&server, cut);
}

/// The file is replaced after the first 40 %: `server` answers the second
/// request from the new version.
fn changed_server(v2: File, honour_if_range: bool, v1: File) -> Server {
    let cut = v1.bytes.len() * 2 / 5;
    Server::start(move |i, req| {
        if i == 0 {
            let mut r = v1.full();
            r.cut = Some(cut);
            return r;
        }
        match File::range_start(req) {
            Some(s) if !honour_if_range => v2.partial(s),
            _ => v2.serve(req),
        }
    })
}

#[test]
fn content_changed_between_requests_is_refused() {
    let (_, gz) = fixture();
    let mut other = gz.clone();
    other[100_000] ^= 1;
    let dir = tempfile::tempdir().expect("tempdir");
    // A correct server: If-Range does not match, so 200 with the new file.
    let server = changed_server(
        File::new(other.clone(), "v2"),
        true,
        File::new(gz.clone(), "v1"),
    );
    let url = server.url("/big.tar.gz");
    let err = refused(dir.path(), &url, &[], &[]);
    assert!(err.contains("changed on the server"), "{err}");
    assert!(err.contains("ETag \"v1\" became \"v2\""), "{err}");
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].header("if-range"), Some("\"v1\""));
    // A server that ignores If-Range: 206 of the new version.
    let server = changed_server(
        File::new(other.clone(), "v2"),
        false,
        File::new(gz.clone(), "v1"),
    );
    let err = refused(dir.path(), &server.url("/big.tar.gz"), &[], &[]);
    assert!(err.contains("changed on the server"), "{err}");
    // Dates only: If-Range carries the Last-Modified date.
    let dated = |bytes: Vec<u8>, date: &str| File {
        bytes,
        etag: None,
        date: Some(date.into()),
    };
    let server = changed_server(
        dated(other, "Wed, 15 Nov 2023 10:00:00 GMT"),
        true,
        dated(gz, "Tue, 14 Nov 2023 22:13:20 GMT"),
    );
    let err = refused(dir.path(), &server.url("/big.tar.gz"), &[], &[]);
    assert!(err.contains("Last-Modified"), "{err}");
    assert_eq!(
        server.seen()[1].header("if-range"),
        Some("Tue, 14 Nov 2023 22:13:20 GMT")
    );
}

#[test]
fn a_server_without_validators_is_not_resumed() {
    let (_, gz) = fixture();
    let cut = gz.len() * 2 / 5;
    let server = Server::start(move |_, _| Reply {
        status: 200,
        body: gz.clone(),
        cut: Some(cut),
        ..Reply::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let err = refused(dir.path(), &server.url("/big.tar.gz"), &[], &[]);
    assert!(err.contains("cannot be resumed"), "{err}");
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn not_found_is_refused_naming_url_and_status() {
    let server = Server::start(|_, _| Reply::status(404));
    let dir = tempfile::tempdir().expect("tempdir");
    let url = server.url("/missing.tar.gz");
    let err = refused(dir.path(), &url, &[], &[]);
    assert!(err.contains("HTTP 404 Not Found; check the URL"), "{err}");
    assert_eq!(server.seen().len(), 1, "a 404 is not retried");
}

#[test]
fn content_encoding_gzip_does_not_change_the_bytes_hashed() {
    let (tar, gz) = fixture();
    let file = File::new(gz.clone(), "v1");
    let server = Server::start(move |_, req| file.serve(req).header("Content-Encoding", "gzip"));
    let dir = tempfile::tempdir().expect("tempdir");
    let r = import_ok(dir.path(), &server.url("/big.tar.gz"), &[]);
    assert_layer_is(&r, &tar, &gz);
    assert_eq!(layer(&r)["input_compression"], "gzip");
}

#[test]
fn redirects_are_followed_up_to_ten() {
    let (tar, gz) = fixture();
    let file = File::new(gz.clone(), "v1");
    let server = Arc::new(Mutex::new(String::new()));
    let base = server.clone();
    let srv = Server::start(move |_, req| {
        let path = req.line.split(' ').nth(1).unwrap_or("").to_string();
        let to = |loc: String| Reply::status(302).header("Location", &loc);
        match path.as_str() {
            "/a/start" => to("next".into()),  // relative
            "/a/next" => to("/b/abs".into()), // absolute path
            "/b/abs" => to(format!("{}/c/big.tar.gz", base.lock().expect("base"))), // absolute URL
            "/c/big.tar.gz" => file.serve(req),
            p if p.starts_with("/loop/") => {
                let n: u32 = p[6..].parse().unwrap_or(0);
                to(format!("/loop/{}", n + 1))
            }
            _ => Reply::status(404),
        }
    });
    *server.lock().expect("base") = format!("http://{}", srv.addr);
    let dir = tempfile::tempdir().expect("tempdir");
    let r = import_ok(dir.path(), &srv.url("/a/start"), &[]);
    assert_layer_is(&r, &tar, &gz);
    let lines: Vec<String> = srv.seen().iter().map(|s| s.line.clone()).collect();
    assert_eq!(
        lines,
        [
            "GET /a/start HTTP/1.1",
            "GET /a/next HTTP/1.1",
            "GET /b/abs HTTP/1.1",
            "GET /c/big.tar.gz HTTP/1.1"
        ]
    );
    let err = refused(dir.path(), &srv.url("/loop/0"), &[], &[]);
    assert!(err.contains("more than 10 redirects"), "{err}");
    let loops = srv
        .seen()
        .iter()
        .filter(|s| s.line.contains("/loop/"))
        .count();
    assert_eq!(loops, 11, "the first request and 10 redirects");
}

#[test]
fn checksum_file_by_url() {
    let (tar, gz) = fixture();
    let sums = format!("{}  big.tar.gz\n", &sha256(&gz)[7..]);
    let file = File::new(gz.clone(), "v1");
    let server = Server::start(move |_, req| {
        if req.line.contains("SHA256SUMS") {
            File::new(sums.clone().into_bytes(), "s").full()
        } else if req.line.contains("WRONGSUMS") {
            File::new(
                format!("{}  big.tar.gz\n", "0".repeat(64)).into_bytes(),
                "w",
            )
            .full()
        } else {
            file.serve(req)
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    // Named without its credentials and query, like the input.
    let sums_url = server
        .url("/SHA256SUMS?token=x")
        .replacen("http://", "http://user:s3cret@", 1);
    let r = import_ok(
        dir.path(),
        &server.url("/big.tar.gz"),
        &["--checksums", &sums_url],
    );
    assert_layer_is(&r, &tar, &gz);
    assert_eq!(
        layer(&r)["checksums_verified"],
        serde_json::json!([format!("sha256 ({})", server.url("/SHA256SUMS"))])
    );
    let wrong = server
        .url("/WRONGSUMS?token=x")
        .replacen("http://", "http://user:s3cret@", 1);
    let err = refused(
        dir.path(),
        &server.url("/big.tar.gz"),
        &["--checksums", &wrong],
        &[],
    );
    assert!(err.contains("mismatch"), "{err}");
    assert!(err.contains(&server.url("/WRONGSUMS")), "{err}");
    assert!(!err.contains("s3cret") && !err.contains("token"), "{err}");
}

#[test]
fn proxy_comes_from_the_environment() {
    let (tar, gz) = fixture();
    let file = File::new(gz.clone(), "v1");
    // The "proxy" tunnels to itself: it sees the CONNECT and the request inside.
    let proxy = Server::start(move |_, req| file.serve(req));
    let dir = tempfile::tempdir().expect("tempdir");
    let proxy_url = proxy.url("");
    let url = "http://rootfs.example.invalid/big.tar.gz";
    let args = [url, "-o", "out", "--json", "--arch", "amd64"];
    let r = report(&run(dir.path(), &args, &[("http_proxy", &proxy_url)]));
    assert_layer_is(&r, &tar, &gz);
    let lines: Vec<String> = proxy.seen().iter().map(|s| s.line.clone()).collect();
    assert_eq!(
        lines,
        [
            "CONNECT rootfs.example.invalid:80 HTTP/1.1",
            "GET /big.tar.gz HTTP/1.1"
        ]
    );
    // NO_PROXY exempts a host: it is reached directly, the proxy sees nothing more.
    let file = File::new(gz.clone(), "v1");
    let direct = Server::start(move |_, req| file.serve(req));
    let direct_url = direct.url("/big.tar.gz");
    let out = run(
        dir.path(),
        &[&direct_url, "-o", "out2", "--json", "--arch", "amd64"],
        &[
            ("http_proxy", &proxy_url),
            ("NO_PROXY", "localhost,127.0.0.1"),
        ],
    );
    assert_layer_is(&report(&out), &tar, &gz);
    assert_eq!(direct.seen().len(), 1);
    assert_eq!(proxy.seen().len(), 2);

    // A proxy setting that is not a URL is refused, not bypassed.
    let url = direct.url("/big.tar.gz");
    let err = refused(dir.path(), &url, &[], &[("http_proxy", "ht!tp://[bad")]);
    assert_eq!(
        err.trim_end(),
        format!(
            "ociimport: error: {url}: http_proxy=ht!tp://[bad: not a proxy URL (invalid proxy url); fix or unset it"
        )
    );
    assert_eq!(direct.seen().len(), 1, "nothing went around the proxy");
}

/// A test CA and a certificate for 127.0.0.1 signed by it: the server's
/// rustls config and the CA's PEM.
fn test_pki() -> (Arc<rustls::ServerConfig>, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ociimport test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("ca key"))
        .expect("ca cert");
    let key = KeyPair::generate().expect("server key");
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("server params")
        .signed_by(&key, &ca)
        .expect("server cert");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server config");
    (Arc::new(config), ca.pem())
}

#[test]
fn https_with_a_private_ca_needs_ssl_cert_file() {
    let (tar, gz) = fixture();
    let (tls, ca_pem) = test_pki();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).expect("write ca");
    let plain = Server::start(|_, _| Reply::status(500));
    let plain_url = plain.url("/big.tar.gz");
    let file = File::new(gz.clone(), "v1");
    let handler: Arc<Handler> = Arc::new(move |_, req: &Seen| {
        if req.line.contains("/downgrade") {
            Reply::status(301).header("Location", &plain_url)
        } else {
            file.serve(req)
        }
    });
    let server = Server::start_with(handler, Some(tls));
    let url = server.url("/big.tar.gz");
    let ca_env = [
        ("SSL_CERT_FILE", ca.to_str().expect("utf-8")),
        ("SSL_CERT_DIR", ""),
    ];
    let args = [url.as_str(), "-o", "out", "--json", "--arch", "amd64"];
    let r = report(&run(dir.path(), &args, &ca_env));
    assert_layer_is(&r, &tar, &gz);
    assert_eq!(server.seen().len(), 1);
    // Without the CA (the system's roots only) the server is not trusted.
    let err = refused(
        dir.path(),
        &url,
        &[],
        &[("SSL_CERT_FILE", ""), ("SSL_CERT_DIR", "")],
    );
    assert!(
        err.contains("TLS") && err.contains("SSL_CERT_FILE"),
        "{err}"
    );
    assert_eq!(
        server.seen().len(),
        1,
        "no request over an untrusted connection"
    );
    // https → http is never followed.
    let down = server.url("/downgrade");
    let err = refused(dir.path(), &down, &[], &ca_env);
    assert!(
        err.contains("never drops from https to plain http"),
        "{err}"
    );
    assert!(plain.seen().is_empty());
}

/// A URL on 127.0.0.1 whose port nobody listens on (bound, then released).
fn closed_port_url(userinfo: &str, path: &str) -> (String, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    (
        format!("http://{userinfo}{addr}{path}"),
        format!("http://{addr}{}", path.split('?').next().unwrap_or(path)),
    )
}

#[test]
fn connection_refused_is_retried_then_refused() {
    // Credentials and the query never show; each retry is said as it happens.
    let (url, shown) = closed_port_url("u:S3cret@", "/big.tar.gz?token=S3cret");
    let dir = tempfile::tempdir().expect("tempdir");
    let args = [
        url.as_str(),
        "-o",
        "out",
        "--arch",
        "amd64",
        "--retries",
        "2",
    ];
    let out = run_within(dir.path(), &args, &[]).exits(1);
    let retry = |n| format!("ociimport: {shown}: connection refused; retry {n}/2 in 1 s");
    let error = format!(
        "ociimport: error: {shown}: download failed after 2 retries: connection refused; check the network or the server, or raise --retries/--timeout"
    );
    assert_eq!(
        out.err().lines().collect::<Vec<_>>(),
        [retry(1), retry(2), error.clone()],
        "{}",
        out.context()
    );
    // -q keeps the error and nothing else.
    let quiet = [&args[..], &["-q"]].concat();
    let out = run_within(dir.path(), &quiet, &[]).exits(1);
    assert_eq!(out.err(), format!("{error}\n"));
    assert!(!dir.path().join("out").exists());
}

#[test]
fn connection_refused_with_default_retries_ends_after_five() {
    // The default schedule: five retries, each after a short pause (the
    // test only checks that the run ends and how often it retried).
    let (url, shown) = closed_port_url("", "/big.tar.gz");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_within(dir.path(), &[&url, "-o", "out"], &[]).exits(1);
    let (notices, err) = notices_and_error(&out);
    let want: Vec<String> = (1..=5)
        .map(|n| format!("ociimport: {shown}: connection refused; retry {n}/5 in 1 s"))
        .collect();
    assert_eq!(notices, want);
    assert!(err.contains("after 5 retries: connection refused"), "{err}");
}

/// A server of `file` that sends `piece` bytes after each `pause`.
fn dripping(file: File, piece: usize, pause: Duration) -> Server {
    Server::start(move |_, req| Reply {
        drip: Some((piece, pause)),
        ..file.serve(req)
    })
}

#[test]
fn a_dripping_server_is_refused_by_the_speed_rule() {
    // A byte every 300 ms: every read succeeds, so no --timeout ever fires.
    let (_, gz) = fixture();
    let len = gz.len() as u64;
    let server = dripping(File::new(gz, "v1"), 1, Duration::from_millis(300));
    let dir = tempfile::tempdir().expect("tempdir");
    let url = server.url("/big.tar.gz");
    let args = [
        url.as_str(),
        "-o",
        "out",
        "--arch",
        "amd64",
        "--speed-limit",
        "100",
        "--speed-time",
        "2",
    ];
    let out = run_within(dir.path(), &args, &[]).exits(1).one_line();
    let err = out.err();
    let (head, tail) = (
        format!("ociimport: error: {url}: download too slow: "),
        format!(" of {}{TOO_SLOW_TAIL}\n", human_size(len)),
    );
    assert!(err.starts_with(&head) && err.ends_with(&tail), "{err}");
    assert!(err.len() < 300, "{err}");
    assert_eq!(server.seen().len(), 1, "too slow is not retried");
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_server_dripping_the_part_to_skip_is_refused_too() {
    // The retry gets a 200 of the whole file (Range ignored) whose first
    // 40 %, already handed out, must be read and dropped: a byte at a time.
    let (_, gz) = fixture();
    let (cut, len) = (gz.len() * 2 / 5, gz.len());
    let file = File::new(gz, "v1");
    let server = Server::start(move |i, _| {
        let mut r = file.full();
        match i {
            0 => r.cut = Some(cut),
            _ => r.drip = Some((1, Duration::from_millis(300))),
        }
        r
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let url = server.url("/big.tar.gz");
    let args = [&url, "-o", "out", "--arch", "amd64"];
    let slow = ["--speed-limit", "100", "--speed-time", "2"];
    let out = run_within(dir.path(), &[&args[..], &slow].concat(), &[]).exits(1);
    let (notices, err) = notices_and_error(&out);
    assert_eq!(notices, [resuming(&url, "connection closed", cut, len)]);
    let tail = format!(
        " of waiting at {} of {}{TOO_SLOW_TAIL}",
        human_size(cut as u64),
        human_size(len as u64)
    );
    assert!(
        err.starts_with(&format!("ociimport: error: {url}: download too slow: "))
            && err.ends_with(&tail),
        "{err}"
    );
    assert_eq!(server.seen().len(), 2, "too slow is not retried");
}

#[test]
fn headers_dripped_forever_end_at_the_timeout() {
    // A server that never finishes its response head, one byte every
    // 200 ms: every read succeeds, so only a bound on the whole head ends it.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let _ = stream.read(&mut [0u8; 4096]);
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nX-Drip: ");
                while stream.write_all(b"a").is_ok() {
                    std::thread::sleep(Duration::from_millis(200));
                }
            });
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("http://{addr}/big.tar.gz");
    let args = [&url, "-o", "out", "--timeout", "1", "--retries", "0"];
    let out = run_within(dir.path(), &args, &[]).exits(1);
    assert_eq!(
        out.err(),
        format!(
            "ociimport: error: {url}: download failed after 0 retries: no answer within 1 s (receive response); check the network or the server, or raise --retries/--timeout\n"
        )
    );
}

#[test]
fn a_slow_but_steady_server_is_not_too_slow() {
    // 16 KiB every 100 ms (~160 KiB/s) against a 32 KiB/s limit over 1 s:
    // only the time spent waiting for data counts, and it is fast enough.
    let tar = std::fs::read(testdata("rootfs.tar")).expect("rootfs.tar");
    let server = dripping(
        File::new(tar.clone(), "v1"),
        16 << 10,
        Duration::from_millis(100),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let args = ["--speed-limit", "32K", "--speed-time", "1"];
    let r = import_ok(dir.path(), &server.url("/rootfs.tar"), &args);
    assert_eq!(layer(&r)["diff_id"], sha256(&tar));
    assert_eq!(server.seen().len(), 1);
}

/// What `--max-time` refusals end with.
const MAX_TIME_TAIL: &str = "; raise --max-time or check the server or the network";

#[test]
fn max_time_ends_a_steady_download_at_the_deadline() {
    // 16 KiB every 100 ms: above any --speed-limit here, but the whole
    // file needs about 1.5 s, over a --max-time of 1 s.
    let tar = std::fs::read(testdata("rootfs.tar")).expect("rootfs.tar");
    let len = tar.len() as u64;
    let server = dripping(File::new(tar, "v1"), 16 << 10, Duration::from_millis(100));
    let dir = tempfile::tempdir().expect("tempdir");
    let url = server.url("/rootfs.tar");
    let args = [
        url.as_str(),
        "-o",
        "out",
        "--arch",
        "amd64",
        "--max-time",
        "1",
    ];
    let out = run_within(dir.path(), &args, &[]).exits(1).one_line();
    let err = out.err();
    let head = format!("ociimport: error: {url}: download would take longer than --max-time 1 s (");
    let tail = format!(" read of {}){MAX_TIME_TAIL}\n", human_size(len));
    assert!(err.starts_with(&head) && err.ends_with(&tail), "{err}");
    assert!(err.len() < 300, "{err}");
    assert_eq!(server.seen().len(), 1, "a deadline is not retried");
    assert!(!dir.path().join("out").exists());
}

#[test]
fn max_time_stops_retrying_before_the_deadline() {
    // A refused port is retried after 1 s: with --max-time 3, two retries
    // fit (they start at about 1 s and 2 s), a third would end past it. On
    // a loaded machine the second may already not fit: one or two notices,
    // never the five --retries allows.
    let (url, shown) = closed_port_url("", "/big.tar.gz");
    let dir = tempfile::tempdir().expect("tempdir");
    let args = [
        url.as_str(),
        "-o",
        "out",
        "--arch",
        "amd64",
        "--max-time",
        "3",
    ];
    let out = run_within(dir.path(), &args, &[]).exits(1);
    let (notices, err) = notices_and_error(&out);
    let want: Vec<String> = (1..=2)
        .map(|n| format!("ociimport: {shown}: connection refused; retry {n}/5 in 1 s"))
        .collect();
    assert!(
        !notices.is_empty() && want.starts_with(&notices),
        "{}",
        out.context()
    );
    assert_eq!(
        err,
        format!(
            "ociimport: error: {shown}: download would take longer than --max-time 3 s with the next retry (0 B read){MAX_TIME_TAIL}"
        )
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_port_outside_1_to_65535_is_refused_before_any_connection() {
    // The "proxy" is where a request would go if the port were dropped
    // (ureq takes an unparsable port as the default one): it must see nothing.
    let proxy = Server::start(|_, _| Reply::status(200));
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [("http_proxy", proxy.url(""))];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for (url, shown) in [
        (
            "http://user:S3cretPW@127.0.0.1:99999/big.tar.gz",
            "http://127.0.0.1:99999/big.tar.gz",
        ),
        (
            "http://127.0.0.1:8o/big.tar.gz",
            "http://127.0.0.1:8o/big.tar.gz",
        ),
    ] {
        let hint = if url.contains('@') {
            " (a user name or password holding '/', '?', '#' or '@' must be percent-encoded)"
        } else {
            ""
        };
        let err = run(dir.path(), &[url, "-o", "out", "--arch", "amd64"], &env)
            .exits(1)
            .one_line()
            .err();
        assert_eq!(
            err.trim_end(),
            format!(
                "ociimport: error: {shown}: the port is not a number from 1 to 65535{hint}; fix the URL"
            )
        );
        assert!(err.len() < 300, "{err}");
    }
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_keyring_over_plain_http_is_refused_before_any_request() {
    let server = Server::start(|_, _| Reply::status(200));
    let dir = tempfile::tempdir().expect("tempdir");
    let input = testdata("rootfs.tar");
    let input = input.to_str().expect("utf-8");
    for scheme in ["http", "HTTP"] {
        // Named as given, without its query.
        let shown = server.url("/release.asc").replacen("http", scheme, 1);
        let key = format!("{shown}?t=1");
        let args = [
            input,
            "-o",
            "out",
            "--keyring",
            &key,
            "--signature",
            "x.asc",
        ];
        let err = run(dir.path(), &args, &[]).exits(1).one_line().err();
        assert_eq!(
            err.trim_end(),
            format!(
                "ociimport: error: {shown}: a keyring is never fetched over plain http, where anyone on the network path could supply the trust anchor; use an https:// URL or a local file"
            )
        );
        assert!(err.len() < 300, "{err}");
    }
    assert!(server.seen().is_empty(), "{:?}", server.seen());
    assert!(!dir.path().join("out").exists());
}

/// Arguments, environment, and what stderr must say.
type SecretCase = (Vec<String>, Vec<(&'static str, String)>, String);

#[test]
fn passwords_and_proxy_credentials_never_print() {
    let server = Server::start(|_, req| {
        if req.line.contains("/moved") {
            let to = "http://u:S3cret@127.0.0.1:99999/elsewhere?t=S3cret";
            Reply::status(302).header("Location", to)
        } else {
            Reply::status(404)
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let input = testdata("rootfs.tar");
    let input = input.to_str().expect("utf-8");
    let hostport = server.addr.to_string();
    let with = |userinfo: &str, path: &str| format!("http://{userinfo}@{hostport}{path}");
    let mut cases: Vec<SecretCase> = Vec::new();
    // Raw and percent-encoded '/', '?' and '#' in the password: input,
    // --checksums, and a redirect's target.
    for userinfo in [
        "u:S3cret/x",
        "u:S3cret?x",
        "u:S3cret#x",
        "u:S3cret%2Fx",
        "u:S3cret%3Fx",
        "u:S3cret%23x",
    ] {
        let url = with(userinfo, "/missing.tar");
        cases.push((vec![url.clone()], vec![], format!("{hostport}/missing.tar")));
        let sums = with(userinfo, "/SUMS");
        cases.push((
            vec![input.into(), "--checksums".into(), sums],
            vec![],
            format!("{hostport}/SUMS"),
        ));
    }
    cases.push((
        vec![with("u:S3cret", "/moved")],
        vec![],
        "redirected to http://127.0.0.1:99999/elsewhere".into(),
    ));
    // A proxy setting without a scheme, not a URL: shown without its user info.
    cases.push((
        vec![server.url("/missing.tar")],
        vec![("http_proxy", "alice:S3cretPW@[bad".into())],
        "http_proxy=[bad: not a proxy URL".into(),
    ));
    for (args, env, says) in cases {
        let mut argv: Vec<&str> = args.iter().map(String::as_str).collect();
        argv.extend(["-o", "out", "--arch", "amd64"]);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let err = run(dir.path(), &argv, &env)
            .exits(1)
            .one_line()
            .says(&says)
            .err();
        assert!(!err.contains("S3cret"), "{argv:?}: {err}");
    }
}

#[test]
fn a_proxy_without_a_scheme_is_an_http_proxy() {
    let (tar, gz) = fixture();
    let file = File::new(gz.clone(), "v1");
    let proxy = Server::start(move |_, req| file.serve(req));
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = format!("alice:S3cretPW@{}/", proxy.addr);
    let url = "http://rootfs.example.invalid/big.tar.gz";
    let args = [url, "-o", "out", "--json", "--arch", "amd64"];
    let out = run(dir.path(), &args, &[("http_proxy", &spec)]);
    assert_layer_is(&report(&out), &tar, &gz);
    assert!(!out.err().contains("S3cret"), "{}", out.err());
    let seen = proxy.seen();
    assert_eq!(seen[0].line, "CONNECT rootfs.example.invalid:80 HTTP/1.1");
    // alice:S3cretPW, as curl sends it.
    assert_eq!(
        seen[0].header("proxy-authorization"),
        Some("Basic YWxpY2U6UzNjcmV0UFc=")
    );
}

#[test]
fn a_relative_redirect_loses_its_dot_segments() {
    let (tar, gz) = fixture();
    let file = File::new(gz.clone(), "v1");
    let srv = Server::start(move |_, req| match req.line.split(' ').nth(1) {
        Some("/a/b/start") => Reply::status(302).header("Location", "../x/./big.tar.gz"),
        Some("/a/x/big.tar.gz") => file.serve(req),
        _ => Reply::status(404),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let r = import_ok(dir.path(), &srv.url("/a/b/start"), &[]);
    assert_layer_is(&r, &tar, &gz);
    let lines: Vec<String> = srv.seen().iter().map(|s| s.line.clone()).collect();
    assert_eq!(
        lines,
        ["GET /a/b/start HTTP/1.1", "GET /a/x/big.tar.gz HTTP/1.1"]
    );
}

/// Only http and https URLs are read: any other `SCHEME://` input, checksum,
/// keyring or signature file is a usage error naming the scheme (not "No
/// such file or directory"), shown without credentials, and nothing is
/// written.
#[test]
fn other_url_schemes_are_refused_naming_the_scheme() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("rootfs.tar"), crate::common::rootfs_tar()).unwrap();
    let msg = |url: &str, scheme: &str| {
        format!(
            "error: {url}: {scheme} URLs are not read (only http and https URLs are read); \
             download it and give the file's path"
        )
    };
    for (args, want) in [
        (
            vec![
                "ftp://user:secret@example.org/rootfs.tar.xz?t=1",
                "-o",
                "img",
            ],
            msg("ftp://example.org/rootfs.tar.xz", "ftp"),
        ),
        (
            vec!["file:///srv/rootfs.tar", "-o", "img"],
            msg("file:///srv/rootfs.tar", "file"),
        ),
        (
            vec![
                "rootfs.tar",
                "-o",
                "img",
                "--checksums",
                "FTP://example.org/SHA256SUMS",
            ],
            msg("FTP://example.org/SHA256SUMS", "FTP"),
        ),
        (
            vec![
                "rootfs.tar",
                "-o",
                "img",
                "--keyring",
                "s3://bucket/key.gpg",
            ],
            msg("s3://bucket/key.gpg", "s3"),
        ),
        (
            vec![
                "rootfs.tar",
                "-o",
                "img",
                "--keyring",
                "k.gpg",
                "--signature",
                "sftp://h/rootfs.tar.asc",
            ],
            msg("sftp://h/rootfs.tar.asc", "sftp"),
        ),
        (
            vec![
                "rootfs.tar",
                "-o",
                "img",
                "--checksums",
                "SUMS",
                "--keyring",
                "k.gpg",
                "--checksums-signature",
                "git+ssh://h/SUMS.gpg",
            ],
            msg("git+ssh://h/SUMS.gpg", "git+ssh"),
        ),
    ] {
        let o = run(dir, &args, &[]).usage_error(&want);
        let err = o.err();
        assert_eq!(err.lines().next(), Some(want.as_str()), "{err}");
        assert!(want.len() < 300);
        assert!(
            !err.contains("secret") && !err.contains("No such file"),
            "{err}"
        );
        assert!(!dir.join("img").exists(), "{args:?}");
    }
}

/// `--provenance` records a URL input by its public URL: no user,
/// password or query in any blob (issue 20 point 3).
#[test]
fn provenance_records_the_public_url_only() {
    let (tar, gz) = fixture();
    let file = File::new(gz.clone(), "v1");
    let server = Server::start(move |_, req| file.serve(req));
    let dir = tempfile::tempdir().expect("tempdir");
    let url = server
        .url("/pub/big.tar.gz?token=x")
        .replacen("http://", "http://user:s3cret@", 1);
    let args = [
        &url,
        "-o",
        "out",
        "--json",
        "--arch",
        "amd64",
        "--provenance",
        "--sbom",
    ];
    let r = report(&run(dir.path(), &args, &[]));
    assert_layer_is(&r, &tar, &gz);
    let layout = dir.path().join("out");
    run_cmd(&mut ociimport_in(dir.path(), ["verify", "out"])).succeeds();
    let attestation: serde_json::Value =
        serde_json::from_slice(&blob(&layout, r["attestation"]["digest"].as_str().unwrap()))
            .unwrap();
    let statement: serde_json::Value = serde_json::from_slice(&blob(
        &layout,
        attestation["layers"][1]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    let public = server.url("/pub/big.tar.gz");
    let def = &statement["predicate"]["buildDefinition"];
    assert_eq!(
        def["resolvedDependencies"],
        serde_json::json!([{"uri": public, "digest": {"sha256": hex_of(&sha256(&gz))}}])
    );
    assert_eq!(
        def["externalParameters"]["inputs"],
        serde_json::json!([public])
    );
    let mut everything = std::fs::read(layout.join("index.json")).unwrap();
    for e in std::fs::read_dir(layout.join("blobs/sha256")).unwrap() {
        everything.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    let text = String::from_utf8_lossy(&everything);
    assert!(!text.contains("s3cret") && !text.contains("token") && !text.contains("user:"));
}

mod jobs;
