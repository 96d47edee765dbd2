//! Where an input comes from, and the one place that turns what went wrong
//! while reading it into the error the user sees.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::checksums::ChecksumError;
use crate::compress::{self, Compression};
use crate::error::{DecodeFailure, Error, IoContext, PathErrors, Result, classify};
use crate::fetch::{self, HttpInput, HttpOptions};
use crate::tarscan::TarError;

/// Where an input comes from.
#[derive(Clone, Debug)]
pub enum InputSource {
    /// A file.
    Path(PathBuf),
    /// Standard input.
    Stdin,
    /// An `http://` or `https://` URL, downloaded as it is read.
    Url(String),
}

/// Refuse `arg` if it is a URL of a scheme other than http and https
/// (`ftp://...`, `file://...`): it would otherwise be read as a file name
/// and refused as missing. Anything that is not `SCHEME://...` is a path.
pub fn refuse_unread_scheme(arg: &str) -> Result<()> {
    let Some((scheme, rest)) = arg.split_once("://") else {
        return Ok(());
    };
    let mut chars = scheme.chars();
    let is_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !is_scheme || fetch::is_url(arg) {
        return Ok(());
    }
    // Shown without credentials, query or fragment, as http URLs are.
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    Err(Error::UnsupportedScheme {
        url: format!("{scheme}://{rest}"),
        scheme: scheme.to_string(),
    })
}

/// An input opened for reading.
pub(crate) struct Opened {
    /// Its bytes; read errors carry its name.
    pub(crate) reader: PathErrors<Box<dyn Read + Send>>,
    /// Its size if known (a file, a URL with a Content-Length), else 0.
    pub(crate) len: u64,
    /// What happened while it was read (a download's resumptions).
    pub(crate) notes: Option<Arc<Mutex<Vec<String>>>>,
}

impl InputSource {
    /// From a command-line argument (`-` is stdin).
    pub fn from_arg(arg: &str) -> Self {
        if arg == "-" {
            InputSource::Stdin
        } else if fetch::is_url(arg) {
            InputSource::Url(arg.to_string())
        } else {
            InputSource::Path(PathBuf::from(arg))
        }
    }

    /// The name shown to the user.
    pub fn display(&self) -> String {
        match self {
            InputSource::Path(p) => p.display().to_string(),
            InputSource::Stdin => "-".to_string(),
            InputSource::Url(u) => fetch::public_url(u),
        }
    }

    /// The base name used for history and checksum-file lookups
    /// ([`crate::fetch::base_name`]'s rule; `stdin` for standard input).
    pub fn base_name(&self) -> String {
        match self {
            InputSource::Path(p) => crate::url::path_base_name(p),
            InputSource::Stdin => "stdin".to_string(),
            InputSource::Url(u) => crate::url::base_name(u),
        }
    }

    /// The path errors name.
    pub(crate) fn path_for_errors(&self) -> PathBuf {
        match self {
            InputSource::Path(p) => p.clone(),
            InputSource::Stdin => PathBuf::from("<stdin>"),
            InputSource::Url(u) => PathBuf::from(fetch::public_url(u)),
        }
    }

    /// Whether it can be read a second time (a file or a URL, not a pipe).
    pub(crate) fn can_reread(&self) -> bool {
        !matches!(self, InputSource::Stdin)
    }

    /// Open it (a URL: its first response is in); read errors come back
    /// marked with its name, so that they are never mistaken for corrupt data.
    pub(crate) fn open(&self, http: &HttpOptions) -> Result<Opened> {
        let (inner, len, notes): (Box<dyn Read + Send>, u64, _) = match self {
            InputSource::Path(p) => {
                let f = File::open(p).at(p)?;
                let len = f.metadata().map_or(0, |m| m.len());
                (Box::new(f), len, None)
            }
            InputSource::Stdin => (Box::new(io::stdin()), 0, None),
            InputSource::Url(u) => {
                let h = HttpInput::open(u, http)?;
                let (len, notes) = (h.len().unwrap_or(0), h.notes());
                (Box::new(h), len, Some(notes))
            }
        };
        Ok(Opened {
            reader: PathErrors {
                inner,
                path: self.path_for_errors(),
            },
            len,
            notes,
        })
    }
}

/// Builds every error about one input: its name, the layout it goes to,
/// and how far it was read (decode errors report that offset).
#[derive(Clone, Debug)]
pub(crate) struct InputErrors {
    name: String,
    path: PathBuf,
    layout: PathBuf,
    read: Arc<AtomicU64>,
}

impl InputErrors {
    pub(crate) fn new(input: &InputSource, layout: PathBuf, read: Arc<AtomicU64>) -> Self {
        InputErrors {
            name: input.display(),
            path: input.path_for_errors(),
            layout,
            read,
        }
    }

    /// The input's name as the user gave it.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Reading the input failed (not its content: the file or the pipe).
    pub(crate) fn read(&self, e: io::Error) -> Error {
        classify(e, |source| Error::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// The decoder refused the data (unless the error is a marked I/O error
    /// of the input or a blob file, which keeps its path).
    pub(crate) fn decode(&self, format: Compression, e: io::Error) -> Error {
        classify(e, |e| {
            let input = self.name.clone();
            match DecodeFailure::of(&e) {
                DecodeFailure::UnsafeFraming(u) => Error::UnsafeFraming {
                    input,
                    reason: u.0.clone(),
                },
                DecodeFailure::TrailingData(t) => Error::TrailingData {
                    input,
                    format: format.name(),
                    offset: t.offset,
                },
                DecodeFailure::Zstd(refusal) => Error::Zstd {
                    input,
                    refusal: refusal.clone(),
                },
                DecodeFailure::XzMemLimit(m) => Error::XzMemLimit {
                    input,
                    limit: m.limit,
                },
                // `classify` has taken marked read errors already.
                DecodeFailure::Read | DecodeFailure::Corrupt => self.corrupt(format, e.to_string()),
            }
        })
    }

    /// Bytes follow the end of the compressed stream.
    pub(crate) fn trailing(&self, format: Compression) -> Error {
        self.corrupt(
            format,
            "data follows the end of the compressed stream".into(),
        )
    }

    fn corrupt(&self, format: Compression, reason: String) -> Error {
        Error::Decode {
            input: self.name.clone(),
            format: format.name(),
            offset: self.read.load(Ordering::Relaxed),
            reason,
        }
    }

    /// Writing into the layout failed.
    pub(crate) fn layout(&self, e: io::Error) -> Error {
        classify(e, |source| Error::Io {
            path: self.layout.clone(),
            source,
        })
    }

    /// The tar scanner refused the stream.
    pub(crate) fn tar(&self, e: TarError) -> Error {
        Error::Tar {
            input: self.name.clone(),
            offset: e.offset,
            reason: e.reason,
        }
    }

    /// The input is empty.
    pub(crate) fn empty(&self) -> Error {
        Error::EmptyInput {
            input: self.name.clone(),
        }
    }

    /// The first bytes match no supported format.
    pub(crate) fn unknown_format(&self, head: &[u8]) -> Error {
        Error::UnknownFormat {
            input: self.name.clone(),
            magic: compress::describe_unknown(head),
        }
    }

    /// The uncompressed stream outgrew `--max-size`.
    pub(crate) fn too_large(&self, limit: u64) -> Error {
        Error::TooLarge {
            input: self.name.clone(),
            limit,
        }
    }

    /// The input failed a checksum, or the checksum file does not list it.
    pub(crate) fn checksum(&self, source: ChecksumError) -> Error {
        Error::Checksum {
            input: self.name.clone(),
            source,
        }
    }

    /// The input's detached signature (`signature`, the file's name) was refused.
    pub(crate) fn signature(&self, signature: &str, r: crate::signature::Refusal) -> Error {
        Error::Signature {
            file: self.name.clone(),
            signature: Some(signature.to_string()),
            signer: r.signer,
            reason: r.reason,
        }
    }

    /// `--strict` refused the archive's path hazards.
    pub(crate) fn strict(&self, problems: Vec<String>) -> Error {
        Error::Strict {
            input: self.name.clone(),
            problems,
        }
    }

    /// A pipeline thread died or stopped early, which no input should cause.
    pub(crate) fn pipeline(&self, what: &str) -> Error {
        Error::Io {
            path: self.path.clone(),
            source: io::Error::other(what.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_scheme_urls_other_than_http_are_refused() {
        for path in [
            "rootfs.tar",
            "./ftp://x",
            "dir/a://b",
            "C:/x",
            "1ab://x",
            "-",
            "",
        ] {
            assert!(refuse_unread_scheme(path).is_ok(), "{path}");
        }
        for url in ["http://h/a.tar", "HTTPS://h/a.tar"] {
            assert!(refuse_unread_scheme(url).is_ok(), "{url}");
        }
        let e = refuse_unread_scheme("ftp://u:p@h/a@b/c.tar#f").unwrap_err();
        assert!(
            matches!(&e, Error::UnsupportedScheme { url, scheme }
                if url == "ftp://h/a@b/c.tar" && scheme == "ftp"),
            "{e:?}"
        );
    }
}
