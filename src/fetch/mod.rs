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
//! Parts: `client` (one request: TLS roots, proxy, redirects, failures
//! sorted into transient or final), `resume` (the [`HttpInput`] reader:
//! retries, resuming, versions). URLs are cut in one place, the crate's
//! `url` module, whose [`is_url`], [`public_url`] and [`base_name`] are
//! re-exported here.

mod client;
mod resume;

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, IoContext, Result};

pub use crate::url::{base_name, is_url, public_url};
pub use resume::HttpInput;

/// At most this many redirects per request (curl's and browsers' order of magnitude).
pub const MAX_REDIRECTS: u32 = 10;

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
