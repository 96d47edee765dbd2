//! The read side of a layout: where its files are, how much of them is
//! read, and reads checked against the descriptor that names them.
//!
//! `verify`, `inspect` and the `--index` merge read through a [`Reader`],
//! so the limits, the digest check and the error that names the file are
//! the same everywhere; what they visit is walked by [`super::walk`].
//! The layout is a directory or an oci-archive read in place
//! ([`super::tarindex`]); readers see the same files either way.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest as _, Sha512};

use crate::digest::{Blob, Digest, hex};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::hashing::{HashReader, sha256_of};
use crate::spec;

use super::tarindex::{EntryReader, TarIndex};

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

/// A layout opened for reading (whoever wrote it): a directory, or an
/// oci-archive read in place ([`TarIndex`]).
///
/// Files are named in messages as `ROOT/index.json`, `ROOT/blobs/ALG/HEX`,
/// where `ROOT` is the directory or the archive file as given.
#[derive(Clone, Debug)]
pub(crate) struct Reader {
    root: PathBuf,
    /// For an archive: where its layout files are.
    archive: Option<Arc<TarIndex>>,
}

/// A file of the layout open for reading: a regular file of the directory,
/// or an entry's bytes in the archive.
#[derive(Debug)]
pub(crate) enum LayoutFile {
    /// A file of a layout directory.
    File(File),
    /// An entry of an oci-archive.
    Entry(EntryReader),
}

impl Read for LayoutFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            LayoutFile::File(f) => f.read(buf),
            LayoutFile::Entry(e) => e.read(buf),
        }
    }
}

/// What is at a blob's name, before any read (a link is not followed).
#[derive(Clone, Debug)]
pub(crate) enum Presence {
    /// A regular file (an archive holds nothing else).
    File,
    Missing,
    /// A symbolic link, to this target.
    Link(String),
    /// A directory, a FIFO...
    Other,
    Unreadable(String),
}

impl Reader {
    /// A reader over the directory `root`, taken as it is (a layout this
    /// run has open).
    pub(crate) fn new(root: &Path) -> Reader {
        Reader {
            root: root.to_path_buf(),
            archive: None,
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

    /// A reader over the oci-archive file `path`, read in place: indexed
    /// now (what could be read two ways is refused), nothing extracted.
    pub(crate) fn open_archive(path: &Path) -> Result<Reader> {
        Ok(Reader {
            root: path.to_path_buf(),
            archive: Some(Arc::new(TarIndex::open(path)?)),
        })
    }

    /// The layout directory, or the archive file.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// A file at the top of the layout (`index.json`, `oci-layout`).
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Where the blob `digest` lives (in an archive: how messages name it).
    pub(crate) fn blob_path(&self, digest: &Digest) -> PathBuf {
        digest.blob_path(&self.root)
    }

    /// Open the layout file `rel` (`index.json`, `blobs/ALG/HEX`); a
    /// missing one is a `NotFound` I/O error naming it.
    fn open_rel(&self, rel: &str) -> Result<LayoutFile> {
        let path = self.root.join(rel);
        match &self.archive {
            None => open(&path).map(LayoutFile::File),
            Some(a) => a
                .open_entry(rel)
                .map(LayoutFile::Entry)
                .ok_or_else(|| Error::Io {
                    path,
                    source: io::Error::new(io::ErrorKind::NotFound, "no such entry in the archive"),
                }),
        }
    }

    /// The blob `digest`, open for a streamed read (a layer).
    pub(crate) fn open_blob(&self, digest: &Digest) -> Result<LayoutFile> {
        self.open_rel(&digest.blob_rel())
    }

    /// The layout file `rel`, whole, refused if larger than `limit`.
    fn read_rel(&self, rel: &str, limit: u64) -> Result<Vec<u8>> {
        read_capped(self.open_rel(rel)?, &self.root.join(rel), limit)
    }

    /// What is at the blob's name, without following a link.
    pub(crate) fn presence(&self, digest: &Digest) -> Presence {
        if let Some(a) = &self.archive {
            return match a.contains(&digest.blob_rel()) {
                true => Presence::File,
                false => Presence::Missing,
            };
        }
        let path = self.blob_path(digest);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => Presence::File,
            Ok(m) if m.is_symlink() => Presence::Link(
                fs::read_link(&path).map_or_else(|e| e.to_string(), |t| t.display().to_string()),
            ),
            Ok(_) => Presence::Other,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Presence::Missing,
            Err(e) => Presence::Unreadable(e.to_string()),
        }
    }

    /// Whether the blob `digest` is there (in a directory: anything at its
    /// name that leads to something).
    pub(crate) fn has_blob(&self, digest: &Digest) -> bool {
        match &self.archive {
            Some(a) => a.contains(&digest.blob_rel()),
            None => self.blob_path(digest).exists(),
        }
    }

    /// For an archive, every blob it holds, in digest order; `None` for a
    /// directory (whose listing is [`crate::gc`]'s business).
    pub(crate) fn archive_blobs(&self) -> Option<Vec<Blob>> {
        let a = self.archive.as_ref()?;
        Some(
            a.blobs()
                .map(|(digest, size)| Blob { digest, size })
                .collect(),
        )
    }

    /// `oci-layout`, whole, capped at [`MAX_OCI_LAYOUT`].
    pub(crate) fn oci_layout(&self) -> Result<Vec<u8>> {
        self.read_rel("oci-layout", MAX_OCI_LAYOUT)
    }

    /// `index.json`, whole, capped at [`MAX_INDEX_JSON`].
    pub(crate) fn index_json(&self) -> Result<Vec<u8>> {
        self.read_rel("index.json", MAX_INDEX_JSON)
    }

    /// `oci-layout` as [`Reader::oci_layout`], or `None` if there is none.
    pub(crate) fn oci_layout_if_exists(&self) -> Result<Option<Vec<u8>>> {
        if_exists(self.oci_layout())
    }

    /// `index.json` as [`Reader::index_json`], or `None` if there is none.
    pub(crate) fn index_json_if_exists(&self) -> Result<Option<Vec<u8>>> {
        if_exists(self.index_json())
    }

    /// Docker's `manifest.json` beside the layout (an archive's), capped
    /// at [`MAX_INDEX_JSON`], or `None` if there is none.
    pub(crate) fn manifest_json_if_exists(&self) -> Result<Option<Vec<u8>>> {
        if_exists(self.read_rel("manifest.json", MAX_INDEX_JSON))
    }

    /// A JSON blob's bytes as they are, capped at [`MAX_JSON_BLOB`] and not
    /// checked: for `verify`, which reports each mismatch itself.
    pub(crate) fn blob_bytes(&self, digest: &Digest) -> Result<Vec<u8>> {
        self.read_rel(&digest.blob_rel(), MAX_JSON_BLOB)
    }

    /// Digest and size of a whole blob, streamed (any size).
    pub(crate) fn measure(&self, digest: &Digest) -> Result<Blob> {
        let mut r = HashReader::new(self.open_blob(digest)?);
        io::copy(&mut r, &mut io::sink()).at(self.blob_path(digest))?;
        Ok(r.finish().1)
    }

    /// A JSON blob's bytes, capped at [`MAX_JSON_BLOB`], refused unless
    /// they hash to `blob`'s digest and have its size.
    pub(crate) fn blob(&self, blob: &Blob) -> Result<Vec<u8>> {
        let path = self.blob_path(&blob.digest);
        let bytes = self.blob_bytes(&blob.digest)?;
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
    read_capped(open(path)?, path, limit)
}

/// Read all of `f` (the file at `path`), refusing more than `limit` bytes.
fn read_capped(f: impl Read, path: &Path, limit: u64) -> Result<Vec<u8>> {
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
