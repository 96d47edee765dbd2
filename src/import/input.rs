//! Where an input comes from, and the one place that turns what went wrong
//! while reading it into the error the user sees.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::checksums::ChecksumError;
use crate::compress::{self, Compression};
use crate::error::{Error, IoContext, PathErrors, Result, classify};
use crate::tarscan::TarError;

/// Where an input comes from.
#[derive(Clone, Debug)]
pub enum InputSource {
    /// A file.
    Path(PathBuf),
    /// Standard input.
    Stdin,
}

impl InputSource {
    /// From a command-line argument (`-` is stdin).
    pub fn from_arg(arg: &str) -> Self {
        if arg == "-" {
            InputSource::Stdin
        } else {
            InputSource::Path(PathBuf::from(arg))
        }
    }

    /// The name shown to the user.
    pub fn display(&self) -> String {
        match self {
            InputSource::Path(p) => p.display().to_string(),
            InputSource::Stdin => "-".to_string(),
        }
    }

    /// The base name used for history and checksum-file lookups.
    pub fn base_name(&self) -> String {
        match self {
            InputSource::Path(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string()),
            InputSource::Stdin => "stdin".to_string(),
        }
    }

    /// The path errors name.
    pub(crate) fn path_for_errors(&self) -> PathBuf {
        match self {
            InputSource::Path(p) => p.clone(),
            InputSource::Stdin => PathBuf::from("<stdin>"),
        }
    }

    /// Its size if known (a file), for the progress display.
    pub(crate) fn len(&self) -> u64 {
        match self {
            InputSource::Path(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
            InputSource::Stdin => 0,
        }
    }

    /// Open it; read errors come back marked with its path, so that they
    /// are never mistaken for corrupt data.
    pub(crate) fn open(&self) -> Result<PathErrors<Box<dyn Read + Send>>> {
        let inner: Box<dyn Read + Send> = match self {
            InputSource::Path(p) => Box::new(File::open(p).at(p)?),
            InputSource::Stdin => Box::new(io::stdin()),
        };
        Ok(PathErrors {
            inner,
            path: self.path_for_errors(),
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
            match e
                .get_ref()
                .and_then(|i| i.downcast_ref::<compress::UnsafeFraming>())
            {
                Some(u) => Error::UnsafeFraming {
                    input: self.name.clone(),
                    reason: u.0.clone(),
                },
                None => self.corrupt(format, e.to_string()),
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
