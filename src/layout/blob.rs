//! Blobs on their way into a layout: streamed into a locked temp file, then
//! held complete and fsynced until the commit renames them into place.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::registry::{create_temp, remove_temp};
use crate::digest::Blob;
use crate::error::{Error, IoContext, Result, mark};
use crate::hashing::HashWriter;

/// A blob being streamed into a temporary file of the layout.
pub(crate) struct BlobWriter {
    out: Option<HashWriter<BufWriter<File>>>,
    path: PathBuf,
}

impl BlobWriter {
    /// Create the temp file `path`, registered and locked: a later run's
    /// stale-file sweep skips a file whose lock is held.
    pub(crate) fn create(path: PathBuf) -> Result<BlobWriter> {
        let file = create_temp(&path)?;
        if let Err(e) = file.lock() {
            remove_temp(&path);
            return Err(Error::Io { path, source: e });
        }
        Ok(BlobWriter {
            out: Some(HashWriter::new(BufWriter::with_capacity(1 << 20, file))),
            path,
        })
    }

    /// The temporary file's path.
    pub(crate) fn temp_path(&self) -> &Path {
        &self.path
    }

    /// Flush and fsync; the blob is complete but not yet published.
    pub(crate) fn finish(mut self) -> Result<PendingBlob> {
        let Some(out) = self.out.take() else {
            return Err(Error::Io {
                path: self.path.clone(),
                source: io::Error::other("blob writer already finished"),
            });
        };
        let (buf, blob) = out.finish();
        let file = buf.into_inner().map_err(|e| Error::Io {
            path: self.path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().at(&self.path)?;
        Ok(PendingBlob {
            temp: std::mem::take(&mut self.path),
            blob,
            _lock: file,
            published: false,
        })
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.out.as_mut() {
            Some(o) => o.write(buf).map_err(|e| mark(&self.path, e)),
            None => Err(io::Error::other("blob writer already finished")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.out.as_mut() {
            Some(o) => o.flush().map_err(|e| mark(&self.path, e)),
            None => Ok(()),
        }
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // Cleanup only: an unfinished blob is never published.
        if !self.path.as_os_str().is_empty() {
            remove_temp(&self.path);
        }
    }
}

/// A complete blob waiting in a temp file for [`super::Layout::publish`].
pub(crate) struct PendingBlob {
    pub(super) temp: PathBuf,
    blob: Blob,
    _lock: File,
    pub(super) published: bool,
}

impl PendingBlob {
    /// Digest and size of the blob.
    pub(crate) fn blob(&self) -> &Blob {
        &self.blob
    }
}

impl Drop for PendingBlob {
    fn drop(&mut self) {
        if !self.published {
            remove_temp(&self.temp);
        }
    }
}
