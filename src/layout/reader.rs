//! The read side of a layout: where its files are, how much of them is
//! read, and reads checked against the descriptor that names them.
//!
//! `verify`, `inspect` and the `--index` merge read through a [`Reader`],
//! so the limits, the digest check and the error that names the file are
//! the same everywhere; what they visit is walked by [`super::walk`].

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest as _, Sha512};

use crate::digest::{Blob, Digest, hex};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::hashing::{HashReader, sha256_of};
use crate::spec;

/// Largest manifest, config or nested index read (they are read whole).
///
/// Registries refuse manifests over 4 MiB; configs with long histories
/// reach a few hundred KiB. Anything larger is not a real document.
pub(crate) const MAX_JSON_BLOB: u64 = 16 << 20;
/// Largest `index.json` read: one descriptor per tag, so it can be big.
pub(crate) const MAX_INDEX_JSON: u64 = 64 << 20;
/// Largest `oci-layout` read: one short JSON object.
pub(crate) const MAX_OCI_LAYOUT: u64 = 64 * 1024;
/// How deep image indexes may nest below `index.json` before we stop following.
pub(crate) const MAX_INDEX_DEPTH: usize = 4;

/// A layout directory opened for reading (whoever wrote it).
#[derive(Clone, Debug)]
pub(crate) struct Reader {
    root: PathBuf,
}

impl Reader {
    /// A reader over `root`, taken as it is (a layout this run has open).
    pub(crate) fn new(root: &Path) -> Reader {
        Reader {
            root: root.to_path_buf(),
        }
    }

    /// A reader over `root`, which must be an existing directory.
    pub(crate) fn open(root: &Path) -> Result<Reader> {
        let meta = fs::metadata(root).at(root)?;
        if !meta.is_dir() {
            return Err(bad(root, "not a directory, so not an OCI image layout"));
        }
        Ok(Reader::new(root))
    }

    /// The layout directory.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// A file at the top of the layout (`index.json`, `oci-layout`).
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Where the blob `digest` lives.
    pub(crate) fn blob_path(&self, digest: &Digest) -> PathBuf {
        digest.blob_path(&self.root)
    }

    /// `oci-layout`, whole, capped at [`MAX_OCI_LAYOUT`].
    pub(crate) fn oci_layout(&self) -> Result<Vec<u8>> {
        read_small(&self.path("oci-layout"), MAX_OCI_LAYOUT)
    }

    /// `index.json`, whole, capped at [`MAX_INDEX_JSON`].
    pub(crate) fn index_json(&self) -> Result<Vec<u8>> {
        read_small(&self.path("index.json"), MAX_INDEX_JSON)
    }

    /// `oci-layout` as [`Reader::oci_layout`], or `None` if there is none.
    pub(crate) fn oci_layout_if_exists(&self) -> Result<Option<Vec<u8>>> {
        if_exists(read_small(&self.path("oci-layout"), MAX_OCI_LAYOUT))
    }

    /// `index.json` as [`Reader::index_json`], or `None` if there is none.
    pub(crate) fn index_json_if_exists(&self) -> Result<Option<Vec<u8>>> {
        if_exists(read_small(&self.path("index.json"), MAX_INDEX_JSON))
    }

    /// A JSON blob's bytes as they are, capped at [`MAX_JSON_BLOB`] and not
    /// checked: for `verify`, which reports each mismatch itself.
    pub(crate) fn blob_bytes(&self, digest: &Digest) -> Result<Vec<u8>> {
        read_small(&self.blob_path(digest), MAX_JSON_BLOB)
    }

    /// Digest and size of a whole blob file, streamed (any size).
    pub(crate) fn measure(&self, digest: &Digest) -> Result<Blob> {
        let path = self.blob_path(digest);
        let f = open(&path)?;
        let mut r = HashReader::new(f);
        io::copy(&mut r, &mut io::sink()).at(&path)?;
        Ok(r.finish().1)
    }

    /// A JSON blob's bytes, capped at [`MAX_JSON_BLOB`], refused unless
    /// they hash to `blob`'s digest and have its size.
    pub(crate) fn blob(&self, blob: &Blob) -> Result<Vec<u8>> {
        let path = self.blob_path(&blob.digest);
        let bytes = read_small(&path, MAX_JSON_BLOB)?;
        let found = digest_as(&blob.digest, &bytes)?;
        if found != blob.digest {
            return Err(Error::DigestMismatch {
                path,
                expected: blob.digest.clone(),
                found,
            });
        }
        if bytes.len() as u64 != blob.size {
            return Err(bad(
                &path,
                format!(
                    "has {} bytes where its descriptor says {}; run ociimport verify on the layout",
                    bytes.len(),
                    blob.size
                ),
            ));
        }
        Ok(bytes)
    }

    /// A JSON document of the layout, checked as [`Reader::blob`] and parsed.
    pub(crate) fn json(&self, blob: &Blob) -> Result<Value> {
        let bytes = self.blob(blob)?;
        spec::parse_json(&bytes).map_err(|e| bad(&self.blob_path(&blob.digest), e))
    }
}

/// `bytes` hashed with the algorithm of `like` (the layout may hold sha512 blobs).
fn digest_as(like: &Digest, bytes: &[u8]) -> Result<Digest> {
    match like.algorithm() {
        "sha512" => Ok(Digest::parse(&format!(
            "sha512:{}",
            hex(&Sha512::digest(bytes))
        ))?),
        _ => Ok(sha256_of(bytes)),
    }
}

/// The error for a layout file that is there but wrong: `path: reason`.
pub(crate) fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::BadLayout {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// A read's bytes, or `None` if the file does not exist.
fn if_exists(read: Result<Vec<u8>>) -> Result<Option<Vec<u8>>> {
    match read {
        Ok(bytes) => Ok(Some(bytes)),
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Open a file of the layout for reading: only a regular file, never
/// through a symbolic link at its end and never waiting on a FIFO
/// ([`fsutil::open_regular`]); anything else is refused naming it.
pub(crate) fn open(path: &Path) -> Result<File> {
    fsutil::open_regular(path).map_err(|e| match e.kind() {
        io::ErrorKind::InvalidInput => bad(
            path,
            format!("{e}; a layout holds regular files only: replace it with the file itself"),
        ),
        _ => Error::Io {
            path: path.to_path_buf(),
            source: e,
        },
    })
}

/// Read a whole small file (a manifest, a config) from the layout, refusing
/// large ones and anything but a regular file ([`open`]).
pub(crate) fn read_small(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let f = open(path)?;
    let mut buf = Vec::new();
    f.take(limit + 1).read_to_end(&mut buf).at(path)?;
    if buf.len() as u64 > limit {
        return Err(bad(path, format!("larger than {limit} bytes")));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout_with(bytes: &[u8]) -> (tempfile::TempDir, Reader, Blob) {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        let blob = Blob {
            digest: sha256_of(bytes),
            size: bytes.len() as u64,
        };
        fs::write(blob.digest.blob_path(dir.path()), bytes).unwrap();
        let r = Reader::open(dir.path()).unwrap();
        (dir, r, blob)
    }

    #[test]
    fn checked_reads_refuse_wrong_content_and_size() {
        let (_dir, r, blob) = layout_with(br#"{"a":1}"#);
        assert_eq!(r.json(&blob).unwrap()["a"], 1);
        assert_eq!(r.measure(&blob.digest).unwrap(), blob);
        // Same name, other content: the digest is checked first.
        fs::write(r.blob_path(&blob.digest), br#"{"a":2}"#).unwrap();
        let e = r.json(&blob).unwrap_err();
        assert!(matches!(e, Error::DigestMismatch { .. }), "{e}");
        assert!(e.to_string().contains("run ociimport verify"), "{e}");
        // The unchecked read still gives the bytes (verify judges them itself).
        assert_eq!(r.blob_bytes(&blob.digest).unwrap(), br#"{"a":2}"#);
        let (_dir, r, mut blob) = layout_with(b"[]");
        blob.size = 3;
        let e = r.blob(&blob).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "has 2 bytes where its descriptor says 3; run ociimport verify on the layout"
            ),
            "{e}"
        );
    }

    #[test]
    fn sha512_blobs_are_checked_with_sha512() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("blobs/sha512")).unwrap();
        let bytes = b"{}";
        let blob = Blob {
            digest: Digest::parse(&format!("sha512:{}", hex(&Sha512::digest(bytes)))).unwrap(),
            size: 2,
        };
        fs::write(blob.digest.blob_path(dir.path()), bytes).unwrap();
        let r = Reader::new(dir.path());
        assert!(r.json(&blob).unwrap().is_object());
        fs::write(blob.digest.blob_path(dir.path()), b"[]").unwrap();
        assert!(matches!(r.json(&blob), Err(Error::DigestMismatch { .. })));
    }

    #[test]
    fn reads_are_capped_and_name_the_file() {
        let (dir, r, _) = layout_with(b"{}");
        fs::write(dir.path().join("index.json"), b"{}").unwrap();
        assert_eq!(r.index_json().unwrap(), b"{}");
        let e = read_small(&r.path("index.json"), 1)
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("index.json: larger than 1 bytes"), "{e}");
        let e = r.oci_layout().unwrap_err().to_string();
        assert!(e.contains("oci-layout"), "{e}");
        let file = r.path("index.json");
        let e = Reader::open(&file).unwrap_err().to_string();
        assert!(
            e.ends_with("not a directory, so not an OCI image layout"),
            "{e}"
        );
    }
}
