//! The library's error type: one structured variant per way an import can be refused.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in the library.
///
/// Every variant that concerns a file names it, so the binary can print one
/// line that tells the user which file and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation on `path` failed.
    #[error("{}", io_message(path, source))]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The input is empty (zero bytes).
    #[error("{input}: input is empty")]
    EmptyInput {
        /// The input's name as the user gave it.
        input: String,
    },

    /// The input's first bytes match no supported format.
    #[error(
        "{input}: unrecognised input format (first bytes: {magic}); supported: {}",
        crate::compress::format::supported_data()
    )]
    UnknownFormat {
        /// The input's name.
        input: String,
        /// The first bytes seen, as hex and printable text.
        magic: String,
    },

    /// The compressed input could not be decoded: truncated, corrupt or followed by garbage.
    #[error("{input}: {format} data is corrupt or truncated near input byte {offset}: {reason}")]
    Decode {
        /// The input's name.
        input: String,
        /// The compression format being decoded.
        format: &'static str,
        /// Compressed bytes consumed when the decoder failed.
        offset: u64,
        /// What the decoder reported.
        reason: String,
    },

    /// Bytes that are not compressed data follow the input's compressed data.
    #[error(
        "{input}: the {format} data ends at input byte {offset}, followed by bytes that are not {format}; if the archive is whole without them, import only the first {offset} bytes (head -c {offset})"
    )]
    TrailingData {
        /// The input's name.
        input: String,
        /// The compression format.
        format: &'static str,
        /// Where the bytes that follow start.
        offset: u64,
    },

    /// zstd data needs more than the decoder was given: a larger window or
    /// a dictionary.
    #[error("{input}: {refusal}; {}", zstd_hint(refusal))]
    Zstd {
        /// The input's name.
        input: String,
        /// What the data needs.
        refusal: crate::compress::ZstdRefusal,
    },

    /// xz data needs more memory to decode than the decoder's fixed limit
    /// (a dictionary that large): not corrupt, but not decoded here.
    #[error(
        "{input}: the xz data needs more than {} MiB of memory to decode, ociimport's fixed limit for xz (its dictionary is that large); decompress it where more memory is allowed (xz -d) and import the tar",
        limit >> 20
    )]
    XzMemLimit {
        /// The input's name.
        input: String,
        /// The decoder's memory limit, in bytes.
        limit: u64,
    },

    /// The input's framing is read differently by a consumer, so its bytes
    /// cannot be the layer, and it could not be read again to re-encode it.
    #[error(
        "{input}: {reason}; its bytes cannot be the layer as they are: use --compression gzip or --compression zstd to re-encode it"
    )]
    UnsafeFraming {
        /// The input's name.
        input: String,
        /// What a consumer would read differently.
        reason: String,
    },

    /// The decompressed stream is not a tar archive, or is a damaged one.
    #[error("{input}: {reason} (at uncompressed byte {offset})")]
    Tar {
        /// The input's name.
        input: String,
        /// Offset in the decompressed stream.
        offset: u64,
        /// What is wrong.
        reason: String,
    },

    /// A blob of the layout does not hash to the digest it is stored under.
    #[error(
        "{}: content does not match its digest: expected {expected}, found {found}; run ociimport verify on the layout",
        path.display()
    )]
    DigestMismatch {
        /// The blob file.
        path: PathBuf,
        /// The digest it is stored and referenced under.
        expected: crate::Digest,
        /// The digest of its content.
        found: crate::Digest,
    },

    /// A digest string is not of the form `sha256:<64 lowercase hex>`.
    #[error(transparent)]
    InvalidDigest(#[from] crate::digest::InvalidDigest),

    /// The output directory exists but is not an OCI image layout.
    #[error(
        "{path}: exists, is not empty and is not an OCI image layout (no oci-layout file); choose another --output"
    )]
    NotALayout {
        /// The directory.
        path: PathBuf,
    },

    /// `ociimport gc` found an import writing to the layout (it holds
    /// the lock on `blobs/`).
    #[error(
        "{}: an import has this layout open; run ociimport gc again when it has finished",
        path.display()
    )]
    LayoutBusy {
        /// The layout's `blobs/` directory.
        path: PathBuf,
    },

    /// An archive output path that must not be written: a symbolic link,
    /// a file this import reads, or a file that is not an OCI archive
    /// (without `--force`).
    #[error("{}: {reason}", path.display())]
    OutputRefused {
        /// The `-o` path.
        path: PathBuf,
        /// What it is and what to do instead.
        reason: String,
    },

    /// The existing layout is damaged or of an unsupported version.
    #[error("{path}: {reason}")]
    BadLayout {
        /// The file in the layout that is wrong.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// The options given do not make sense together.
    #[error("{0}")]
    Usage(String),

    /// Inputs read at once (`--jobs`) that each failed on their own: the
    /// first to fail, then the others (never those it cancelled).
    #[error("{first} (also: {})", others.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Inputs {
        /// The first input's error.
        first: Box<Error>,
        /// The others', in the order they failed.
        others: Vec<Error>,
    },

    /// A URL whose scheme is not read: only `http://` and `https://` are.
    #[error(
        "{url}: {scheme} URLs are not read (only http and https URLs are read); download it and give the file's path"
    )]
    UnsupportedScheme {
        /// The argument as given, without credentials, query or fragment.
        url: String,
        /// Its scheme, as given (`ftp`, `file`, ...).
        scheme: String,
    },

    /// The input failed its expected checksum, or the checksum file does not list it.
    #[error("{input}: {source}")]
    Checksum {
        /// The input's name.
        input: String,
        /// What failed.
        #[source]
        source: crate::checksums::ChecksumError,
    },

    /// An OpenPGP signature was refused: bad, made by a key not in
    /// `--keyring`, by an expired or revoked key, or malformed.
    #[error("{}", signature_message(file, signature.as_deref(), signer, reason))]
    Signature {
        /// The file that was signed (an input or a checksum file).
        file: String,
        /// The signature file, when it is not `file` itself (clear-signed).
        signature: Option<String>,
        /// The signer's fingerprint (uppercase hex), or its key ID, or `unknown`.
        signer: String,
        /// What is wrong.
        reason: String,
    },

    /// A `--keyring` file holds no usable OpenPGP certificate.
    #[error("{file}: {reason}")]
    Keyring {
        /// The keyring file as given.
        file: String,
        /// What is wrong.
        reason: String,
    },

    /// A `--change` instruction was refused.
    #[error(transparent)]
    Change(#[from] crate::change::ChangeError),

    /// `--strict` refused the archive because of path hazards.
    #[error("{input}: refused by --strict: {}", .problems.join("; "))]
    Strict {
        /// The input's name.
        input: String,
        /// One line per kind of hazard.
        problems: Vec<String>,
    },

    /// The uncompressed stream is larger than `--max-size`.
    #[error(
        "{input}: the uncompressed stream exceeds --max-size {limit} bytes; raise the limit if the input is genuine"
    )]
    TooLarge {
        /// The input's name.
        input: String,
        /// The limit in bytes.
        limit: u64,
    },

    /// Downloading a URL failed or was refused (status, redirect, TLS,
    /// retries exhausted).
    #[error("{url}: {reason}")]
    Http {
        /// The URL as given.
        url: String,
        /// The HTTP status that was refused, if it was a status.
        status: Option<u16>,
        /// What happened and what to do.
        reason: String,
    },

    /// The file at a URL changed on the server while it was being
    /// downloaded; its bytes were not mixed with the new version's.
    #[error(
        "{url}: the file changed on the server during the download ({reason}, after byte {offset}); nothing was imported: run the import again"
    )]
    RemoteChanged {
        /// The URL as given.
        url: String,
        /// How the versions differ (ETag, Last-Modified, length).
        reason: String,
        /// Bytes of the first version read when the change was noticed.
        offset: u64,
    },

    /// An OCI document could not be built or serialized.
    #[error("building {what}: {reason}")]
    Spec {
        /// Which document.
        what: &'static str,
        /// The underlying message.
        reason: String,
    },
}

/// `FILE: OpenPGP signature [SIGFILE] by SIGNER: REASON`, or `FILE: REASON`
/// when there is no signature at all.
fn signature_message(file: &str, signature: Option<&str>, signer: &str, reason: &str) -> String {
    let sig = signature.map(|s| format!(" {s}")).unwrap_or_default();
    if signer.is_empty() {
        format!("{file}{sig}: {reason}")
    } else {
        format!("{file}: OpenPGP signature{sig} by {signer}: {reason}")
    }
}

/// "PATH: error", except that a failure on one of our temp files names the
/// layout it belongs to, which is what the user knows.
fn io_message(path: &std::path::Path, source: &io::Error) -> String {
    let temp = crate::fsutil::is_temp_path(path);
    // An archive's temp file is written beside the archive, not in a layout.
    let what = if path.to_string_lossy().ends_with("-archive") {
        "writing the archive"
    } else {
        "writing into the layout"
    };
    match path.parent() {
        Some(dir) if temp => format!("{}: {what} ({}): {source}", dir.display(), path.display()),
        _ => format!("{}: {source}", path.display()),
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attach a path to an `io::Error`, the one way this crate reports I/O failures.
pub(crate) trait IoContext<T> {
    /// Wrap the error with the path it concerns.
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            path: path.into(),
            source,
        })
    }
}

/// An I/O error that already knows which file it concerns.
///
/// Decoders wrap the errors of the readers and writers under them in their
/// own `io::Error`s; carrying the path inside lets the pipeline tell "the
/// disk failed writing blob X" from "the xz data is corrupt".
#[derive(Debug)]
pub(crate) struct PathIoError {
    pub(crate) path: PathBuf,
    pub(crate) source: io::Error,
}

impl std::fmt::Display for PathIoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for PathIoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Wrap `source` so that it carries `path` through layers of adapters.
pub(crate) fn mark(path: &std::path::Path, source: io::Error) -> io::Error {
    io::Error::new(
        source.kind(),
        PathIoError {
            path: path.to_path_buf(),
            source,
        },
    )
}

/// A reader or writer whose errors carry `path` (see [`mark`]), so that
/// the adapters above it cannot make them look like corrupt data.
pub(crate) struct PathErrors<T> {
    pub(crate) inner: T,
    pub(crate) path: std::path::PathBuf,
}

impl<R: io::Read> io::Read for PathErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| mark(&self.path, e))
    }
}

impl<W: io::Write> io::Write for PathErrors<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| mark(&self.path, e))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| mark(&self.path, e))
    }
}

/// An [`Error`] travelling through `io::Error` layers (a download's
/// refusal inside decoders and counters), turned back into itself by
/// [`classify`].
#[derive(Debug)]
pub(crate) struct Carried(pub(crate) Error);

impl std::fmt::Display for Carried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Carried {}

/// The [`Error`] `err` carries (directly or under a path mark); else `err`
/// unchanged.
fn take_carried(err: io::Error) -> std::result::Result<Error, io::Error> {
    let marked = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<PathIoError>())
        .is_some_and(|p| p.source.get_ref().is_some_and(|r| r.is::<Carried>()));
    if marked {
        let kind = err.kind();
        return match err.into_inner().map(|i| i.downcast::<PathIoError>()) {
            Some(Ok(p)) => take_carried(p.source),
            _ => Err(io::Error::from(kind)),
        };
    }
    if err.get_ref().is_some_and(|r| r.is::<Carried>()) {
        return err.downcast::<Carried>().map(|r| r.0);
    }
    Err(err)
}

/// How to get past a zstd refusal.
fn zstd_hint(r: &crate::compress::ZstdRefusal) -> String {
    use crate::compress::{ZSTD_MAX_WINDOW, ZstdRefusal};
    match r {
        ZstdRefusal::Window {
            needed: Some(n), ..
        } if *n > ZSTD_MAX_WINDOW => format!(
            "libzstd decodes at most {} MiB windows: decompress it where more memory is allowed (zstd -d --memory=...) and import the tar",
            ZSTD_MAX_WINDOW >> 20
        ),
        ZstdRefusal::Window { needed, .. } => {
            let allow = needed.map_or(ZSTD_MAX_WINDOW, |n| n.next_power_of_two());
            let size = match allow {
                a if a >= 1 << 30 => format!("{}G", a >> 30),
                a if a >= 1 << 20 => format!("{}M", a >> 20),
                a => format!("{}K", a.div_ceil(1 << 10)),
            };
            // Over the consumers' 128 MiB the layer cannot be the input's bytes.
            let reencoded = if allow > crate::compress::framing::MAX_ZSTD_WINDOW {
                " (the layer is then re-encoded: consumers refuse such windows)"
            } else {
                ""
            };
            format!("allow it with --zstd-max-window {size}{reencoded}")
        }
        _ => "decompress it with its dictionary (zstd -d -D DICT) and import the tar".into(),
    }
}

/// If `err` carries a path (see [`mark`]), turn it into [`Error::Io`];
/// otherwise let `other` classify it.
pub(crate) fn classify(err: io::Error, other: impl FnOnce(io::Error) -> Error) -> Error {
    // A download's refusal is already the error to report.
    let err = match take_carried(err) {
        Ok(e) => return e,
        Err(err) => err,
    };
    if err
        .get_ref()
        .is_some_and(|e| e.downcast_ref::<PathIoError>().is_some())
    {
        let kind = err.kind();
        if let Some(inner) = err.into_inner()
            && let Ok(p) = inner.downcast::<PathIoError>()
        {
            return Error::Io {
                path: p.path,
                source: p.source,
            };
        }
        return other(io::Error::from(kind));
    }
    other(err)
}

/// What a decoder's read error means: the one reading of the error types
/// that travel inside `io::Error` out of the decoders, shared by the import
/// (which turns it into an [`Error`]) and the layer scan (a problem line).
#[derive(Debug)]
pub(crate) enum DecodeFailure<'a> {
    /// Reading the source failed (an error marked with its path by
    /// [`mark`]): not the data's fault.
    Read,
    /// The framing is one that consumers read differently.
    UnsafeFraming(&'a crate::compress::UnsafeFraming),
    /// Bytes follow the end of the compressed data.
    TrailingData(&'a crate::compress::TrailingData),
    /// A zstd frame needs a window or dictionary the decoder was not given.
    Zstd(&'a crate::compress::ZstdRefusal),
    /// An xz stream needs more memory than the decoder's limit.
    XzMemLimit(&'a crate::compress::XzMemLimit),
    /// Anything else: the data is corrupt or truncated.
    Corrupt,
}

impl<'a> DecodeFailure<'a> {
    /// What `e`, returned by a decoder's `read`, means.
    pub(crate) fn of(e: &'a io::Error) -> Self {
        let Some(inner) = e.get_ref() else {
            return DecodeFailure::Corrupt;
        };
        if inner.is::<PathIoError>() {
            DecodeFailure::Read
        } else if let Some(u) = inner.downcast_ref() {
            DecodeFailure::UnsafeFraming(u)
        } else if let Some(t) = inner.downcast_ref() {
            DecodeFailure::TrailingData(t)
        } else if let Some(r) = inner.downcast_ref() {
            DecodeFailure::Zstd(r)
        } else if let Some(m) = inner.downcast_ref() {
            DecodeFailure::XzMemLimit(m)
        } else {
            DecodeFailure::Corrupt
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::{TrailingData, UnsafeFraming, XzMemLimit, ZstdRefusal};

    #[test]
    fn decode_failures_are_read_once() {
        let read = mark(std::path::Path::new("in"), io::Error::other("gone"));
        assert!(matches!(DecodeFailure::of(&read), DecodeFailure::Read));
        let unsafe_framing = io::Error::other(UnsafeFraming("two headers".into()));
        assert!(matches!(
            DecodeFailure::of(&unsafe_framing),
            DecodeFailure::UnsafeFraming(u) if u.0 == "two headers"
        ));
        let trailing = io::Error::other(TrailingData { offset: 7 });
        assert!(matches!(
            DecodeFailure::of(&trailing),
            DecodeFailure::TrailingData(TrailingData { offset: 7 })
        ));
        let zstd = io::Error::other(ZstdRefusal::Dictionary { id: Some(3) });
        assert!(matches!(
            DecodeFailure::of(&zstd),
            DecodeFailure::Zstd(ZstdRefusal::Dictionary { id: Some(3) })
        ));
        let xz = io::Error::other(XzMemLimit { limit: 1 << 30 });
        assert!(matches!(
            DecodeFailure::of(&xz),
            DecodeFailure::XzMemLimit(XzMemLimit { limit }) if *limit == 1 << 30
        ));
        for corrupt in [
            io::Error::from(io::ErrorKind::UnexpectedEof),
            io::Error::new(io::ErrorKind::InvalidData, "bad block"),
        ] {
            assert!(matches!(
                DecodeFailure::of(&corrupt),
                DecodeFailure::Corrupt
            ));
        }
    }
}
