//! A download as a [`Read`]: the status check, retries with backoff, and
//! resuming with `Range` + `If-Range` from the byte reached, never mixing
//! two versions of the file.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ureq::Body;
use ureq::BodyReader;
use ureq::http::{HeaderMap, Response, StatusCode};

use super::HttpOptions;
use super::client::{Client, Failure, Wait, io_text, status_text};
use super::speed::{SpeedCheck, TooSlow};
use crate::error::{Error, Result};
use crate::units::human_size;
use crate::url::public_url;

/// The longest wait a server's `Retry-After` gets.
const MAX_DELAY: Duration = Duration::from_secs(60);

/// The longest backoff: with the default 5 retries, 15 s of waiting in all.
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// The longest pause after a refused connection: with the default 5
/// retries, a port nobody listens on is reported after about 5 s.
const SHORT_DELAY: Duration = Duration::from_secs(1);

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
    /// The low-speed rule over the body in use.
    speed: SpeedCheck,
    /// When the download started, for `--max-time`.
    started: Instant,
}

impl std::fmt::Debug for HttpInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpInput")
            .field("url", &public_url(&self.url))
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
            speed: SpeedCheck::new(opts.speed_limit, opts.speed_time),
            started: Instant::now(),
        };
        loop {
            input.check_stop()?;
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
            input.pause(failure, false)?;
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
            let wait = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(Wait::Backoff, |s| Wait::Server(Duration::from_secs(s)));
            return Failure::Transient(
                format!("the server answered HTTP {}", status_text(s)),
                wait,
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

    /// Wait before the next attempt, saying so through the notices, or
    /// give up: after `--retries` consecutive failures, or at once for a
    /// final one. `resuming`: the attempt continues a broken body.
    fn pause(&mut self, failure: Failure, resuming: bool) -> Result<()> {
        let (why, wait) = match failure {
            Failure::Final(e) => return Err(e),
            Failure::Transient(why, wait) => (why, wait),
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
            .saturating_mul(1 << (self.failures - 1).min(16))
            .min(MAX_BACKOFF);
        let delay = match wait {
            Wait::Backoff => backoff,
            Wait::Short => backoff.min(SHORT_DELAY),
            Wait::Server(d) => d.min(MAX_DELAY),
        };
        self.check_max_time(delay)?;
        let at = match (self.delivered, self.first.length) {
            (0, _) if !resuming => String::new(),
            (d, Some(n)) => format!(" at {} of {}", human_size(d), human_size(n)),
            (d, None) => format!(" at {}", human_size(d)),
        };
        self.opts.notices.say(&format!(
            "{}: {why}{at}; {}retry {}/{} in {}",
            public_url(&self.url),
            if resuming { "resuming, " } else { "" },
            self.failures,
            self.opts.retries,
            seconds(delay)
        ));
        self.wait(delay)
    }

    /// Sleeps `delay` in short steps, ending early (with an error) when
    /// the caller says stop: a cancelled import must not sit out a backoff.
    fn wait(&self, delay: Duration) -> Result<()> {
        const STEP: Duration = Duration::from_millis(50);
        let until = Instant::now() + delay;
        loop {
            self.check_stop()?;
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(left.min(STEP));
        }
    }

    /// The error of a download its caller stopped.
    fn check_stop(&self) -> Result<()> {
        if !self.opts.stop.now() {
            return Ok(());
        }
        Err(Error::Http {
            url: public_url(&self.url),
            status: None,
            reason: "stopped: another input failed".into(),
        })
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
        self.pause(Failure::Transient(why.clone(), Wait::Backoff), true)?;
        loop {
            self.check_stop()?;
            let range = format!("bytes={}-", self.delivered);
            let headers = [("Range", range.as_str()), ("If-Range", if_range.as_str())];
            // The new connection gets a fresh window (a skipped prefix counts in it).
            self.speed.restart();
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
            self.pause(failure, true)?;
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
                self.skip_prefix(&mut body)?;
                self.body = Some(body);
                Ok(())
            }
            StatusCode::RANGE_NOT_SATISFIABLE | StatusCode::PRECONDITION_FAILED => {
                Err(self.changed(&Validators::default()))
            }
            _ => Err(self.status_failure(&resp)),
        }
    }

    /// Read and drop the `delivered` bytes already handed out, under the
    /// low-speed rule too: a server could drip them forever.
    fn skip_prefix(&mut self, body: &mut BodyReader<'static>) -> Result<(), Failure> {
        let mut buf = vec![0u8; 64 << 10];
        let mut left = self.delivered;
        while left > 0 {
            let want = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
            let started = Instant::now();
            let n = match body.read(&mut buf[..want]) {
                Ok(0) => {
                    return Err(Failure::Transient(
                        "connection lost while skipping the part already read".into(),
                        Wait::Backoff,
                    ));
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Failure::Transient(io_text(&e), Wait::Backoff)),
            };
            left -= n as u64;
            if let Err(slow) = self.speed.record(n as u64, started.elapsed()) {
                return Err(Failure::Final(self.too_slow(&slow)));
            }
            self.check_max_time(Duration::ZERO)
                .map_err(Failure::Final)?;
        }
        Ok(())
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

    /// The refusal of a download that stayed under `--speed-limit`.
    fn too_slow(&self, slow: &TooSlow) -> Error {
        let of = self
            .first
            .length
            .map(|n| format!(" of {}", human_size(n)))
            .unwrap_or_default();
        Error::Http {
            url: public_url(&self.url),
            status: None,
            reason: format!(
                "download too slow: {} in {} of waiting at {}{of}, under --speed-limit {} bytes/s for --speed-time {}; check the server or the network, or lower --speed-limit (0 turns the check off)",
                human_size(slow.bytes),
                seconds(slow.waited),
                human_size(self.delivered),
                self.opts.speed_limit,
                seconds(self.opts.speed_time),
            ),
        }
    }
}

impl HttpInput {
    /// Refuses the download if it would still run `more` from now past
    /// `--max-time`: a server that stays just above `--speed-limit`, or
    /// keeps failing and recovering, ends at the deadline the user chose.
    fn check_max_time(&self, more: Duration) -> Result<()> {
        let Some(max) = self.opts.max_time else {
            return Ok(());
        };
        if self.started.elapsed().saturating_add(more) <= max {
            return Ok(());
        }
        let of = self
            .first
            .length
            .map(|n| format!(" of {}", human_size(n)))
            .unwrap_or_default();
        let when = if more.is_zero() {
            ""
        } else {
            " with the next retry"
        };
        Err(Error::Http {
            url: public_url(&self.url),
            status: None,
            reason: format!(
                "download would take longer than --max-time {}{when} ({} read{of}); raise --max-time or check the server or the network",
                seconds(max),
                human_size(self.delivered),
            ),
        })
    }
}

/// A pause or a wait as the messages show it: "2 s", "0.5 s".
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
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
            let started = Instant::now();
            let read = body.read(buf);
            let waited = started.elapsed();
            match read {
                Ok(0) => match self.first.length {
                    Some(len) if self.delivered < len => {
                        self.broken = Some("connection closed".into());
                    }
                    _ => return Ok(0),
                },
                Ok(n) => {
                    self.delivered += n as u64;
                    self.failures = 0;
                    if let Err(slow) = self.speed.record(n as u64, waited) {
                        let e = self.too_slow(&slow);
                        return Err(io::Error::other(crate::error::Carried(e)));
                    }
                    self.check_max_time(Duration::ZERO)
                        .map_err(|e| io::Error::other(crate::error::Carried(e)))?;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => self.broken = Some(io_text(&e)),
            }
            self.body = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
