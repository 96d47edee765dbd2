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
//!
//! Retries are announced as they happen through [`Notices`] (the library
//! never prints), and a download slower than `--speed-limit` for
//! `--speed-time` is refused, so a server that drips a byte now and then
//! cannot keep an import alive forever.
//!
//! Parts: `client` (one request: TLS roots, proxy, redirects, failures
//! sorted into transient or final), `resume` (the [`HttpInput`] reader:
//! retries, resuming, versions), `speed` (the low-speed rule). URLs are cut in one place, the crate's
//! `url` module, whose [`is_url`], [`public_url`] and [`base_name`] are
//! re-exported here.

mod client;
mod resume;
mod speed;

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, IoContext, Result};

pub use crate::url::{base_name, is_url, public_url};
pub use resume::HttpInput;

/// At most this many redirects per request (curl's and browsers' order of magnitude).
pub const MAX_REDIRECTS: u32 = 10;

/// How downloads behave.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Connect timeout, the longest wait for a response's headers, and the
    /// longest a read may wait for data (`--timeout`).
    pub timeout: Duration,
    /// Attempts after a failure before giving up (`--retries`); the count
    /// starts again whenever a retry brought new bytes.
    pub retries: u32,
    /// The wait before the first retry; it doubles with each further one,
    /// up to 4 s (a refused connection waits at most 1 s).
    pub backoff: Duration,
    /// The low-speed rule (`--speed-limit`, curl's option of that name):
    /// a download averaging fewer bytes per second than this over
    /// [`speed_time`](Self::speed_time) of waiting for data is refused; 0
    /// turns the rule off.
    pub speed_limit: u64,
    /// How long a download may stay under [`speed_limit`](Self::speed_limit)
    /// (`--speed-time`).
    pub speed_time: Duration,
    /// The longest a download may take in all, retries and waits included
    /// (`--max-time`, curl's option of that name); `None`: no limit. It is
    /// checked between reads, so it is exceeded by at most [`timeout`](Self::timeout).
    pub max_time: Option<Duration>,
    /// Where retries are announced as they happen; nowhere by default.
    pub notices: Notices,
    /// Asked before each attempt and during the waits between them: true
    /// ends the download at once (another input of the import failed).
    pub stop: Stop,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            retries: 5,
            backoff: Duration::from_secs(1),
            // A minute under 1 KiB/s: a mirror that is broken rather than
            // slow (an 8 kbit/s link still passes).
            speed_limit: 1024,
            speed_time: Duration::from_secs(60),
            max_time: None,
            notices: Notices::default(),
            stop: Stop::default(),
        }
    }
}

/// A callback for what a download does on the way (one line per retry,
/// without a program-name prefix), so that the caller decides where it
/// goes and whether it is shown.
#[derive(Clone, Default)]
pub struct Notices(Option<Arc<NoticeFn>>);

/// What [`Notices`] calls with each line.
type NoticeFn = dyn Fn(&str) + Send + Sync;

impl Notices {
    /// Send each line to `f`.
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Notices(Some(Arc::new(f)))
    }

    /// Tell the callback, if there is one.
    pub(crate) fn say(&self, line: &str) {
        if let Some(f) = &self.0 {
            f(line);
        }
    }
}

impl std::fmt::Debug for Notices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Notices(callback)"
        } else {
            "Notices(none)"
        })
    }
}

/// A callback a download asks whether to give up now, so that a caller
/// running several downloads can end the others' retries promptly; a read
/// already waiting on the socket still ends within `--timeout`.
#[derive(Clone, Default)]
pub struct Stop(Option<Arc<StopFn>>);

/// What [`Stop`] calls.
type StopFn = dyn Fn() -> bool + Send + Sync;

impl Stop {
    /// Ask `f`.
    pub fn new(f: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        Stop(Some(Arc::new(f)))
    }

    /// Whether the download must end now.
    pub(crate) fn now(&self) -> bool {
        self.0.as_ref().is_some_and(|f| f())
    }
}

impl std::fmt::Debug for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Stop(callback)"
        } else {
            "Stop(none)"
        })
    }
}

/// How large a file read whole by [`read_small`] may be.
#[derive(Clone, Copy, Debug)]
pub struct SmallFile {
    /// The most bytes a download may bring.
    pub url_limit: u64,
    /// The most bytes a local file may hold, and what such a file is in the
    /// refusal ("a keyring or signature"); `None` reads a local file whole.
    pub file_limit: Option<(u64, &'static str)>,
}

/// Reads a small file named on the command line (a checksum file, a
/// keyring, a signature) whole: the one place such an argument is opened,
/// as a path or as an `http(s)://` URL ([`fetch_small`]). Errors name the
/// path or the URL.
pub fn read_small(arg: &str, cap: SmallFile, http: &HttpOptions) -> Result<Vec<u8>> {
    if is_url(arg) {
        return fetch_small(arg, cap.url_limit, http);
    }
    let path = Path::new(arg);
    let Some((limit, what)) = cap.file_limit else {
        return std::fs::read(path).at(path);
    };
    let file = File::open(path).at(path)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .at(path)?;
    if bytes.len() as u64 > limit {
        return Err(Error::Io {
            path: path.to_path_buf(),
            source: io::Error::other(format!(
                "larger than {} MiB, too large for {what}",
                limit >> 20
            )),
        });
    }
    Ok(bytes)
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
        path: public_url(url).into(),
        source,
    })
}
