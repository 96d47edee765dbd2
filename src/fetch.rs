//! Inputs and checksum files by URL: a blocking HTTP(S) body that streams
//! into the same single pass as a file, and resumes where it broke off.
//!
//! [`HttpInput`] is a [`Read`] that owns the whole download: redirects
//! (followed here, at most [`MAX_REDIRECTS`], never from https to http),
//! the status check, retries with backoff, and resuming with `Range` +
//! `If-Range` from the byte reached. It never hands out bytes of two
//! versions of the file: a resumed response must prove it continues the
//! same version (206 under `If-Range`, or a 200 whose validators and length
//! match, whose prefix is then skipped), or the download is refused with
//! [`Error::RemoteChanged`].
//!
//! Bodies are read as served (`Accept-Encoding: identity`, and ureq's gzip
//! feature is off), so the bytes hashed are the bytes of the file.

use std::io::{self, Read};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ureq::http::{HeaderMap, Response, StatusCode};
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::{Agent, Body, BodyReader, Proxy};

use crate::error::{Error, Result};

/// At most this many redirects per request (curl's and browsers' order of magnitude).
pub const MAX_REDIRECTS: u32 = 10;
/// The longest wait between two attempts, whatever the backoff or `Retry-After` say.
const MAX_DELAY: Duration = Duration::from_secs(60);

/// How downloads behave.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Connect timeout, and the longest a read may wait for data (`--timeout`).
    pub timeout: Duration,
    /// Attempts after a failure before giving up (`--retries`); the count
    /// starts again whenever a retry brought new bytes.
    pub retries: u32,
    /// The wait before the first retry; it doubles with each further one.
    pub backoff: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            retries: 5,
            backoff: Duration::from_secs(1),
        }
    }
}

/// Whether a command-line argument names an `http://` or `https://` URL.
pub fn is_url(arg: &str) -> bool {
    scheme_of(arg).is_some()
}

/// `"http"` or `"https"` (lower case) if `url` starts with one of them.
fn scheme_of(url: &str) -> Option<&'static str> {
    let (scheme, rest) = url.split_once("://")?;
    if rest.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("https") {
        Some("https")
    } else if scheme.eq_ignore_ascii_case("http") {
        Some("http")
    } else {
        None
    }
}

/// A URL cut as the functions below need it: the scheme (if any), the
/// host and port without credentials, and the path without query or
/// fragment.
struct UrlParts<'a> {
    scheme: Option<&'a str>,
    hostport: &'a str,
    path: &'a str,
}

fn split_url(url: &str) -> UrlParts<'_> {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    UrlParts {
        scheme,
        hostport: authority.rsplit('@').next().unwrap_or(authority),
        path,
    }
}

/// `url` as it may be shown and recorded: scheme, host, port and path,
/// without credentials (`user:password@`) and without the query and
/// fragment, where presigned URLs carry their tokens.
pub fn public_url(url: &str) -> String {
    match split_url(url) {
        UrlParts {
            scheme: Some(scheme),
            hostport,
            path,
        } => format!("{scheme}://{hostport}{path}"),
        _ => url.to_string(),
    }
}

/// The file name a URL stands for: its last path segment without query or
/// fragment, percent-decoded; the host if the path is empty.
pub fn base_name(url: &str) -> String {
    let parts = split_url(url);
    match parts.path.split('/').rev().find(|s| !s.is_empty()) {
        Some(s) => percent_decode(s).unwrap_or_else(|| s.to_string()),
        None => parts.hostport.to_string(),
    }
}

/// `%XX` decoding; `None` if the result would not be a plain file name.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let name = String::from_utf8(out).ok()?;
    (!name.contains(['/', '\0'])).then_some(name)
}

/// Fetch a small file (a checksum file, a signature) whole, refusing one
/// larger than `limit` bytes. Same redirects, retries and checks as an input.
pub fn fetch_small(url: &str, limit: u64, opts: &HttpOptions) -> Result<Vec<u8>> {
    let mut input = HttpInput::open(url, opts)?;
    let too_large = || Error::Http {
        url: public_url(url),
        status: None,
        reason: format!(
            "is larger than {limit} bytes, too large for this kind of file; check the URL"
        ),
    };
    if input.len().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut out = Vec::new();
    (&mut input)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| read_error(url, e))?;
    if out.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(out)
}

/// The structured error inside an `io::Error` from [`HttpInput::read`], or
/// the I/O error itself naming the URL.
fn read_error(url: &str, e: io::Error) -> Error {
    crate::error::classify(e, |source| Error::Io {
        path: url.into(),
        source,
    })
}

/// What identifies one version of the remote file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Validators {
    /// A strong ETag (weak ones cannot guard a range).
    etag: Option<String>,
    last_modified: Option<String>,
    length: Option<u64>,
}

impl Validators {
    fn from_headers(h: &HeaderMap) -> Self {
        let get = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        Validators {
            etag: get("etag").filter(|e| !e.starts_with("W/")),
            last_modified: get("last-modified"),
            length: get("content-length").and_then(|s| s.parse().ok()),
        }
    }

    /// The `If-Range` value: the strong ETag, else the date.
    fn if_range(&self) -> Option<&str> {
        self.etag.as_deref().or(self.last_modified.as_deref())
    }

    /// Whether `other` (a full response) is provably the same version.
    fn same_version(&self, other: &Validators) -> bool {
        let same_id = match (&self.etag, &self.last_modified) {
            (Some(e), _) => other.etag.as_ref() == Some(e),
            (None, Some(d)) => other.last_modified.as_ref() == Some(d),
            (None, None) => false,
        };
        same_id && self.length == other.length
    }

    /// How the two versions differ, for the error message.
    fn difference(&self, other: &Validators) -> String {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
        if self.etag.is_some() && self.etag != other.etag {
            format!("ETag {} became {}", show(&self.etag), show(&other.etag))
        } else if self.last_modified != other.last_modified {
            format!(
                "Last-Modified {} became {}",
                show(&self.last_modified),
                show(&other.last_modified)
            )
        } else {
            let len = |l: Option<u64>| l.map_or("unknown".into(), |n| n.to_string());
            format!("length {} became {}", len(self.length), len(other.length))
        }
    }
}

/// Why an attempt failed: worth another try, or final.
enum Failure {
    /// A dropped connection, a timeout, a 5xx: try again after a pause
    /// (the server's `Retry-After`, if it gave one).
    Transient(String, Option<Duration>),
    /// Refused for good.
    Final(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Final(e)
    }
}

/// The agent, and the system's root certificates loaded on first https use.
struct Client {
    agent: Agent,
    timeout: Duration,
    tls: OnceLock<std::result::Result<TlsConfig, String>>,
}

impl Client {
    fn new(opts: &HttpOptions) -> Self {
        let config = Agent::config_builder()
            // Statuses, redirects and proxies are decided here, per request.
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .accept_encoding("identity")
            .user_agent(concat!("ociimport/", env!("CARGO_PKG_VERSION")))
            .timeout_resolve(Some(opts.timeout))
            .timeout_connect(Some(opts.timeout))
            .timeout_per_read(Some(opts.timeout))
            .timeout_per_write(Some(opts.timeout))
            .build();
        Client {
            agent: Agent::new_with_config(config),
            timeout: opts.timeout,
            tls: OnceLock::new(),
        }
    }

    /// The TLS settings: the system's roots (honouring `SSL_CERT_FILE` and
    /// `SSL_CERT_DIR`), never a compiled-in list.
    fn tls(&self, url: &str) -> Result<TlsConfig> {
        self.tls
            .get_or_init(load_roots)
            .clone()
            .map_err(|reason| Error::Http {
                url: public_url(url),
                status: None,
                reason,
            })
    }

    /// GET `url` with `headers`, following redirects; the final URL and response.
    fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<(String, Response<Body>), Failure> {
        let mut current = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            let resp = self.get_once(url, &current, headers)?;
            if !resp.status().is_redirection() || resp.status() == StatusCode::NOT_MODIFIED {
                return Ok((current, resp));
            }
            let next = redirect_target(url, &current, &resp)?;
            current = next;
        }
        Err(Failure::Final(Error::Http {
            url: public_url(url),
            status: None,
            reason: format!("more than {MAX_REDIRECTS} redirects; check the URL"),
        }))
    }

    /// One request, no redirects; `url` is what the user gave, for errors.
    fn get_once(
        &self,
        url: &str,
        current: &str,
        headers: &[(&str, &str)],
    ) -> Result<Response<Body>, Failure> {
        let https = scheme_of(current) == Some("https");
        let mut req = self.agent.get(current);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let proxy = proxy_for(current).map_err(|reason| {
            Failure::Final(Error::Http {
                url: public_url(url),
                status: None,
                reason,
            })
        })?;
        let mut config = req.config().proxy(proxy);
        if https {
            config = config.tls_config(self.tls(url)?);
        }
        match config.build().call() {
            Ok(resp) => Ok(resp),
            Err(e) => Err(classify(url, current, e, self.timeout)),
        }
    }
}

/// Load the system's root certificates for rustls.
fn load_roots() -> std::result::Result<TlsConfig, String> {
    if let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty())
        && let Err(e) = std::fs::metadata(&file)
    {
        return Err(format!(
            "SSL_CERT_FILE={}: {e}; point it at a PEM file of trusted certificates",
            file.to_string_lossy()
        ));
    }
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        let why = found
            .errors
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return Err(format!(
            "no trusted root certificates found on this system{why}; install ca-certificates or set SSL_CERT_FILE"
        ));
    }
    let certs = found
        .certs
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    Ok(TlsConfig::builder()
        .root_certs(RootCerts::Specific(Arc::new(certs)))
        .build())
}

/// The proxy the environment names for `url` (curl's variables:
/// `https_proxy`/`HTTPS_PROXY` for https, `http_proxy`/`HTTP_PROXY` for
/// http, else `all_proxy`/`ALL_PROXY`), unless `NO_PROXY` exempts its host.
/// A setting that is not a proxy URL is refused rather than bypassed: a
/// network that needs the proxy must not be reached around it.
fn proxy_for(url: &str) -> std::result::Result<Option<Proxy>, String> {
    let var = |names: &[&'static str]| {
        names.iter().find_map(|n| {
            std::env::var(n)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|v| (*n, v))
        })
    };
    let host = host_of(url);
    let exempt =
        var(&["no_proxy", "NO_PROXY"]).is_some_and(|(_, list)| no_proxy_matches(&list, &host));
    if exempt {
        return Ok(None);
    }
    let scheme_vars: &[&str] = if scheme_of(url) == Some("https") {
        &["https_proxy", "HTTPS_PROXY"]
    } else {
        &["http_proxy", "HTTP_PROXY"]
    };
    let Some((name, spec)) = var(scheme_vars).or_else(|| var(&["all_proxy", "ALL_PROXY"])) else {
        return Ok(None);
    };
    Proxy::new(spec.trim()).map(Some).map_err(|e| {
        format!(
            "{name}={}: not a proxy URL ({e}); fix or unset it",
            public_url(spec.trim())
        )
    })
}

/// The host of `url`, lower case, without port, brackets or user info.
fn host_of(url: &str) -> String {
    let hostport = split_url(url).hostport;
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next().unwrap_or(v6)
    } else {
        hostport.split(':').next().unwrap_or(hostport)
    };
    host.to_ascii_lowercase()
}

/// `NO_PROXY` as curl reads it: `*`, or comma-separated names that match
/// the host itself and its subdomains (a leading `.` or `*.` is ignored).
fn no_proxy_matches(list: &str, host: &str) -> bool {
    list.split([',', ' ']).map(str::trim).any(|entry| {
        if entry == "*" {
            return true;
        }
        let name = entry.trim_start_matches("*.").trim_start_matches('.');
        let name = name.split(':').next().unwrap_or(name).to_ascii_lowercase();
        !name.is_empty() && (host == name || host.ends_with(&format!(".{name}")))
    })
}

/// Where a redirect response points, resolved against `current`; refused
/// if it leaves https for http or names no target.
fn redirect_target(url: &str, current: &str, resp: &Response<Body>) -> Result<String, Failure> {
    let status = resp.status();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| Error::Http {
            url: public_url(url),
            status: Some(status.as_u16()),
            reason: format!("{} redirect without a Location", status_text(status)),
        })?;
    let next = resolve(current, location);
    match (scheme_of(current), scheme_of(&next)) {
        (Some("https"), Some("http")) => Err(Failure::Final(Error::Http {
            url: public_url(url),
            status: Some(status.as_u16()),
            reason: format!(
                "redirected from https to {}: refused, a download never drops from https to plain http; use that URL directly if you trust it",
                public_url(&next)
            ),
        })),
        (_, Some(_)) => Ok(next),
        _ => Err(Failure::Final(Error::Http {
            url: public_url(url),
            status: Some(status.as_u16()),
            reason: format!(
                "redirected to {}, which is not an http(s) URL",
                public_url(&next)
            ),
        })),
    }
}

/// Resolve a `Location` against the URL it came from (RFC 3986 §5.2,
/// without dot-segment removal: servers resolve those themselves).
fn resolve(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    if let Some(net) = location.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let path = path.split(['?', '#']).next().unwrap_or("");
    if location.starts_with('?') {
        return format!("{scheme}://{authority}{path}{location}");
    }
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    format!("{scheme}://{authority}{dir}{location}")
}

/// Sort a transport error into worth-retrying or final.
fn classify(url: &str, current: &str, e: ureq::Error, timeout: Duration) -> Failure {
    let final_error = |reason: String| {
        Failure::Final(Error::Http {
            url: public_url(url),
            status: None,
            reason,
        })
    };
    let via = if current == url {
        String::new()
    } else {
        format!(" (redirected to {})", public_url(current))
    };
    match e {
        ureq::Error::Timeout(t) => Failure::Transient(
            format!("no answer within {}s ({t})", timeout.as_secs_f32()),
            None,
        ),
        ureq::Error::Io(io) if is_tls(&io) => final_error(format!("TLS{via}: {io}{TLS_HINT}")),
        ureq::Error::Io(io) => Failure::Transient(io.to_string(), None),
        ureq::Error::ConnectionFailed => Failure::Transient("connection failed".into(), None),
        ureq::Error::HostNotFound => final_error(format!(
            "host not found{via}; check the URL (and the proxy settings)"
        )),
        ureq::Error::Tls(m) => final_error(format!("TLS{via}: {m}{TLS_HINT}")),
        ureq::Error::Rustls(r) => final_error(format!("TLS{via}: {r}{TLS_HINT}")),
        other => final_error(format!("{other}{via}")),
    }
}

/// What to do about a certificate the system's roots do not trust.
const TLS_HINT: &str = "; if the server's certificate comes from a private CA, point SSL_CERT_FILE at that CA's certificate (PEM)";

/// Whether an I/O error is rustls refusing the handshake.
fn is_tls(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>())
}

/// "404 Not Found".
fn status_text(s: StatusCode) -> String {
    match s.canonical_reason() {
        Some(r) => format!("{} {r}", s.as_u16()),
        None => s.as_u16().to_string(),
    }
}

/// A download: a [`Read`] of the file's bytes, resumed across failures.
pub struct HttpInput {
    url: String,
    client: Client,
    opts: HttpOptions,
    /// Where the first response came from, after redirects: resumed there.
    location: String,
    first: Validators,
    body: Option<BodyReader<'static>>,
    /// Bytes handed out so far.
    delivered: u64,
    /// Failures since the last byte arrived.
    failures: u32,
    /// Why the body in use broke off, for the next attempt's messages.
    broken: Option<String>,
    /// What happened on the way (resumptions), for the import's warnings.
    notes: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for HttpInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpInput")
            .field("url", &self.url)
            .field("delivered", &self.delivered)
            .finish_non_exhaustive()
    }
}

impl HttpInput {
    /// Start downloading `url`: the first response must be a 200.
    pub fn open(url: &str, opts: &HttpOptions) -> Result<Self> {
        let mut input = HttpInput {
            url: url.to_string(),
            client: Client::new(opts),
            opts: opts.clone(),
            location: url.to_string(),
            first: Validators::default(),
            body: None,
            delivered: 0,
            failures: 0,
            broken: None,
            notes: Arc::new(Mutex::new(Vec::new())),
        };
        loop {
            let failure = match input.client.get(url, &[]) {
                Ok((location, resp)) if resp.status() == StatusCode::OK => {
                    input.location = location;
                    input.first = Validators::from_headers(resp.headers());
                    input.body = Some(resp.into_body().into_reader());
                    return Ok(input);
                }
                Ok((_, resp)) => input.status_failure(&resp),
                Err(f) => f,
            };
            input.pause(failure)?;
        }
    }

    /// The file's size, if the server said (`Content-Length`).
    pub fn len(&self) -> Option<u64> {
        self.first.length
    }

    /// Whether the server said the file is empty.
    pub fn is_empty(&self) -> bool {
        self.first.length == Some(0)
    }

    /// What happened on the way (one line per resumption), shared so it
    /// can be read after the reader has gone into the pipeline.
    pub fn notes(&self) -> Arc<Mutex<Vec<String>>> {
        self.notes.clone()
    }

    /// A response that is not what was asked for: a 5xx/429/408 is worth
    /// another try, anything else is final.
    fn status_failure(&self, resp: &Response<Body>) -> Failure {
        let s = resp.status();
        if s.is_server_error()
            || s == StatusCode::TOO_MANY_REQUESTS
            || s == StatusCode::REQUEST_TIMEOUT
        {
            let after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Failure::Transient(
                format!("the server answered HTTP {}", status_text(s)),
                after,
            );
        }
        let what = match s.as_u16() {
            404 | 410 => "check the URL",
            401 | 403 => "the server refuses access; check the URL",
            200..=299 => "expected 200 OK with the whole file",
            _ => "check the URL",
        };
        Failure::Final(Error::Http {
            url: public_url(&self.url),
            status: Some(s.as_u16()),
            reason: format!("the server answered HTTP {}; {what}", status_text(s)),
        })
    }

    /// Wait before the next attempt, or give up: after `--retries`
    /// consecutive failures, or at once for a final one.
    fn pause(&mut self, failure: Failure) -> Result<()> {
        let (why, after) = match failure {
            Failure::Final(e) => return Err(e),
            Failure::Transient(why, after) => (why, after),
        };
        self.failures += 1;
        if self.failures > self.opts.retries {
            let at = match self.first.length {
                Some(n) if self.delivered > 0 => format!(" at byte {} of {n}", self.delivered),
                _ if self.delivered > 0 => format!(" at byte {}", self.delivered),
                _ => String::new(),
            };
            return Err(Error::Http {
                url: public_url(&self.url),
                status: None,
                reason: format!(
                    "download failed{at} after {} retries: {why}; check the network or the server, or raise --retries/--timeout",
                    self.opts.retries
                ),
            });
        }
        let backoff = self
            .opts
            .backoff
            .saturating_mul(1 << (self.failures - 1).min(16));
        std::thread::sleep(after.unwrap_or(backoff).min(MAX_DELAY));
        Ok(())
    }

    /// Get a body that continues at `delivered`, retrying as allowed.
    fn resume(&mut self) -> Result<()> {
        let why = self
            .broken
            .take()
            .unwrap_or_else(|| "connection lost".into());
        let Some(if_range) = self.first.if_range().map(str::to_string) else {
            return Err(Error::Http {
                url: public_url(&self.url),
                status: None,
                reason: format!(
                    "the download broke off at byte {} ({why}) and the server gives neither a strong ETag nor a Last-Modified date, so it cannot be resumed without risking a mix of two versions; run the import again",
                    self.delivered
                ),
            });
        };
        self.pause(Failure::Transient(why.clone(), None))?;
        loop {
            let range = format!("bytes={}-", self.delivered);
            let headers = [("Range", range.as_str()), ("If-Range", if_range.as_str())];
            let failure = match self.client.get(&self.location, &headers) {
                Ok((_, resp)) => match self.continue_with(resp) {
                    Ok(()) => {
                        self.note(format!(
                            "the download broke off at byte {} ({why}); resumed",
                            self.delivered
                        ));
                        return Ok(());
                    }
                    Err(f) => f,
                },
                Err(f) => f,
            };
            self.pause(failure)?;
        }
    }

    /// Take a resumed response if it provably continues the same version.
    fn continue_with(&mut self, resp: Response<Body>) -> Result<(), Failure> {
        let now = Validators::from_headers(resp.headers());
        match resp.status() {
            StatusCode::PARTIAL_CONTENT => {
                self.check_range(&resp, &now)?;
                self.body = Some(resp.into_body().into_reader());
                Ok(())
            }
            // Range ignored (or If-Range did not match): the whole file again.
            StatusCode::OK => {
                if !self.first.same_version(&now) {
                    return Err(self.changed(&now));
                }
                let mut body = resp.into_body().into_reader();
                let skipped = io::copy(&mut (&mut body).take(self.delivered), &mut io::sink())
                    .map_err(|e| Failure::Transient(e.to_string(), None))?;
                if skipped < self.delivered {
                    return Err(Failure::Transient(
                        "connection lost while skipping the part already read".into(),
                        None,
                    ));
                }
                self.body = Some(body);
                Ok(())
            }
            StatusCode::RANGE_NOT_SATISFIABLE | StatusCode::PRECONDITION_FAILED => {
                Err(self.changed(&Validators::default()))
            }
            _ => Err(self.status_failure(&resp)),
        }
    }

    /// A 206 must start where we are, for the length we know, of the same version.
    fn check_range(&self, resp: &Response<Body>, now: &Validators) -> Result<(), Failure> {
        let changed_id =
            (self.first.etag.is_some() && now.etag.is_some() && now.etag != self.first.etag)
                || (self.first.last_modified.is_some()
                    && now.last_modified.is_some()
                    && now.last_modified != self.first.last_modified);
        if changed_id {
            return Err(self.changed(now));
        }
        let range = resp
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_content_range);
        match range {
            Some((start, total)) if start == self.delivered => match (total, self.first.length) {
                (Some(t), Some(l)) if t != l => Err(self.changed(&Validators {
                    length: Some(t),
                    ..self.first.clone()
                })),
                _ => Ok(()),
            },
            _ => Err(Failure::Final(Error::Http {
                url: public_url(&self.url),
                status: Some(206),
                reason: format!(
                    "asked to resume at byte {}, the server sent a range starting elsewhere ({}); run the import again",
                    self.delivered,
                    resp.headers()
                        .get("content-range")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("no Content-Range")
                ),
            })),
        }
    }

    fn changed(&self, now: &Validators) -> Failure {
        Failure::Final(Error::RemoteChanged {
            url: public_url(&self.url),
            reason: self.first.difference(now),
            offset: self.delivered,
        })
    }

    fn note(&self, line: String) {
        if let Ok(mut n) = self.notes.lock() {
            n.push(line);
        }
    }
}

/// `bytes START-END/TOTAL` → (START, TOTAL if not `*`).
fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let spec = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = spec.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((start.trim().parse().ok()?, total))
}

impl Read for HttpInput {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let Some(body) = self.body.as_mut() else {
                self.resume()
                    .map_err(|e| io::Error::other(crate::error::Carried(e)))?;
                continue;
            };
            match body.read(buf) {
                Ok(0) => match self.first.length {
                    Some(len) if self.delivered < len => {
                        self.broken = Some(format!(
                            "connection closed at byte {} of {len}",
                            self.delivered
                        ));
                    }
                    _ => return Ok(0),
                },
                Ok(n) => {
                    self.delivered += n as u64;
                    self.failures = 0;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => self.broken = Some(e.to_string()),
            }
            self.body = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_carry_no_credentials_or_query() {
        for (url, want) in [
            (
                "https://user:pw@example.org:8443/a/b.tar.gz?X-Amz-Signature=s#frag",
                "https://example.org:8443/a/b.tar.gz",
            ),
            ("http://example.org", "http://example.org"),
            ("http://tok@example.org?x=1", "http://example.org"),
            (
                "http://example.org/p@th/f.tar",
                "http://example.org/p@th/f.tar",
            ),
        ] {
            assert_eq!(public_url(url), want, "{url}");
        }
    }

    #[test]
    fn urls_are_recognised_by_scheme() {
        assert!(is_url("https://example.org/a.tar.xz"));
        assert!(is_url("HTTP://example.org/"));
        assert!(!is_url("ftp://example.org/a"));
        assert!(!is_url("./https://x"));
        assert!(!is_url("http://"));
        assert!(!is_url("rootfs.tar"));
    }

    #[test]
    fn base_name_is_the_last_segment_without_query() {
        assert_eq!(
            base_name("https://h/d/alpine.tar.gz?sig=1#f"),
            "alpine.tar.gz"
        );
        assert_eq!(
            base_name("https://h/d/stage3%2Bx.tar.xz"),
            "stage3+x.tar.xz"
        );
        assert_eq!(base_name("https://h/d/dir/"), "dir");
        assert_eq!(base_name("https://user@host:8080"), "host:8080");
        assert_eq!(base_name("https://h/a%2Fb"), "a%2Fb");
    }

    #[test]
    fn locations_resolve_against_the_current_url() {
        let base = "https://h:1/a/b/c.tar?x=1";
        assert_eq!(resolve(base, "http://o/p"), "http://o/p");
        assert_eq!(resolve(base, "//o/p"), "https://o/p");
        assert_eq!(resolve(base, "/p/q"), "https://h:1/p/q");
        assert_eq!(resolve(base, "d.tar"), "https://h:1/a/b/d.tar");
        assert_eq!(resolve(base, "?y=2"), "https://h:1/a/b/c.tar?y=2");
        assert_eq!(resolve("http://h", "x"), "http://h/x");
    }

    #[test]
    fn no_proxy_matches_hosts_and_subdomains() {
        assert!(no_proxy_matches(
            "localhost,.example.org",
            "mirror.example.org"
        ));
        assert!(no_proxy_matches("example.org", "example.org"));
        assert!(no_proxy_matches("*.example.org", "a.example.org"));
        assert!(no_proxy_matches("*", "anything"));
        assert!(no_proxy_matches("127.0.0.1:8080", "127.0.0.1"));
        assert!(!no_proxy_matches("example.org", "badexample.org"));
        assert!(!no_proxy_matches("", "x"));
        assert_eq!(host_of("https://u:p@[::1]:8443/x"), "::1");
        assert_eq!(host_of("http://Example.ORG:80?q"), "example.org");
    }

    #[test]
    fn content_range_parses() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some((100, Some(200)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }

    #[test]
    fn versions_compare_by_strong_etag_else_date_and_length() {
        let v = |etag: Option<&str>, date: Option<&str>, len| Validators {
            etag: etag.map(str::to_string),
            last_modified: date.map(str::to_string),
            length: len,
        };
        let a = v(Some("\"1\""), Some("d1"), Some(10));
        assert!(a.same_version(&v(Some("\"1\""), Some("d2"), Some(10))));
        assert!(!a.same_version(&v(Some("\"2\""), Some("d1"), Some(10))));
        assert!(!a.same_version(&v(Some("\"1\""), Some("d1"), Some(11))));
        let b = v(None, Some("d1"), Some(10));
        assert!(b.same_version(&v(None, Some("d1"), Some(10))));
        assert!(!b.same_version(&v(None, Some("d2"), Some(10))));
        assert!(!v(None, None, Some(10)).same_version(&v(None, None, Some(10))));
        assert_eq!(a.if_range(), Some("\"1\""));
        assert_eq!(b.if_range(), Some("d1"));
    }
}
