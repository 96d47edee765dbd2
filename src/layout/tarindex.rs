//! An oci-archive read in place: one pass over its tar headers maps
//! `oci-layout`, `index.json` and `blobs/ALG/HEX` to byte ranges of the
//! archive file, and every read of the layout is a `pread` of one range.
//! Nothing is extracted, and a layer streams from the archive itself.
//!
//! What tar readers could disagree on is refused while indexing, naming the
//! archive and the entry: a layout name given twice (`index.json` and
//! `./index.json` are one name), an entry that is not a plain regular file
//! (links, sparse files), a name outside the archive's root, a compressed
//! archive, an entry cut short by the end of the file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use crate::compress::{self, Compression};
use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;

use super::reader::bad;

/// What a refusal tells the user to do about a badly formed archive.
const REWRITE: &str = "write the archive again with ociimport --format oci-archive or skopeo copy";
/// What a refusal tells the user who gave something that is no archive.
const GIVE: &str = "give an OCI layout directory or an oci-archive file";

/// Where an entry's bytes are in the archive file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: u64,
    len: u64,
}

/// An oci-archive file, open, with the byte range of each layout file in it.
#[derive(Debug)]
pub(crate) struct TarIndex {
    file: File,
    /// `oci-layout`, `index.json` and `blobs/ALG/HEX` (normalised names).
    entries: BTreeMap<String, Span>,
}

/// A layout file inside the archive: [`io::Read`] over its byte range.
#[derive(Debug)]
pub(crate) struct EntryReader {
    index: Arc<TarIndex>,
    pos: u64,
    end: u64,
}

impl io::Read for EntryReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end - self.pos).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        if want == 0 {
            return Ok(0);
        }
        // pread: no shared file offset, so readers of one archive never
        // disturb each other.
        let n = self.index.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive now ends inside this entry (it was truncated while being read)",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl TarIndex {
    /// Open and index the archive at `path` (messages name it as given).
    pub(crate) fn open(path: &Path) -> Result<TarIndex> {
        let file = open_archive(path)?;
        refuse_compressed(path, &file)?;
        let len = file.metadata().at(path)?.len();
        let entries = index_entries(path, &file, len)?;
        if !entries.contains_key("index.json") {
            return Err(bad(
                path,
                format!(
                    "not an oci-archive: its tar holds no index.json; {GIVE} (ociimport --format oci-archive, skopeo copy ... oci-archive:FILE)"
                ),
            ));
        }
        Ok(TarIndex { file, entries })
    }

    /// The layout file `rel` (`index.json`, `blobs/sha256/HEX`), if the
    /// archive holds it.
    pub(crate) fn open_entry(self: &Arc<Self>, rel: &str) -> Option<EntryReader> {
        let span = self.entries.get(rel)?;
        Some(EntryReader {
            index: Arc::clone(self),
            pos: span.start,
            end: span.start + span.len,
        })
    }

    /// Whether the archive holds the layout file `rel`.
    pub(crate) fn contains(&self, rel: &str) -> bool {
        self.entries.contains_key(rel)
    }

    /// Every blob in the archive, with its size.
    pub(crate) fn blobs(&self) -> impl Iterator<Item = (Digest, u64)> + '_ {
        self.entries
            .iter()
            .filter_map(|(rel, span)| Some((blob_digest(rel)?, span.len)))
    }
}

/// `blobs/ALG/HEX` as a digest (the index holds only valid ones).
fn blob_digest(rel: &str) -> Option<Digest> {
    let (alg, hex) = rel.strip_prefix("blobs/")?.split_once('/')?;
    Digest::parse(&format!("{alg}:{hex}")).ok()
}

/// The archive file itself: a regular file (seeking is what reading in
/// place needs), never through a symbolic link, never waiting on a FIFO.
fn open_archive(path: &Path) -> Result<File> {
    fsutil::open_regular(path).map_err(|e| match e.kind() {
        io::ErrorKind::InvalidInput => bad(
            path,
            format!(
                "{e}; an oci-archive is read in place, so give the file itself (save a stream to a file first), or {GIVE}"
            ),
        ),
        _ => Error::Io {
            path: path.to_path_buf(),
            source: e,
        },
    })
}

/// A compressed tar cannot be read in place: say so, with the command that
/// decompresses it.
fn refuse_compressed(path: &Path, file: &File) -> Result<()> {
    let mut head = vec![0u8; compress::SNIFF_LEN];
    let mut got = 0;
    while got < head.len() {
        match file.read_at(&mut head[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).at(path),
        }
    }
    head.truncate(got);
    match compress::detect(&head) {
        Some(c) if c != Compression::None => {
            let noun = c.info().noun;
            Err(bad(
                path,
                format!(
                    "is {noun}-compressed; an oci-archive is read in place, so it must be an uncompressed tar: decompress it first ({noun} -dc {} > image.tar)",
                    path.display()
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// One pass over the tar headers (entry data skipped by seeking): the
/// byte range of each layout file.
fn index_entries(path: &Path, file: &File, len: u64) -> Result<BTreeMap<String, Span>> {
    let not_tar = |e: io::Error| {
        bad(
            path,
            format!("not an oci-archive (a tar of an OCI layout): {e}; {GIVE}"),
        )
    };
    let mut tar = tar::Archive::new(file);
    let mut entries = BTreeMap::new();
    for entry in tar.entries_with_seek().map_err(not_tar)? {
        let mut entry = entry.map_err(not_tar)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(rel) = layout_name(path, &name)? else {
            continue;
        };
        let refuse = |why: &str| bad(path, format!("entry {name} {why}; {REWRITE}"));
        let kind = entry.header().entry_type();
        if !kind.is_file() {
            return Err(refuse(&format!(
                "is not a regular file ({kind:?}); an oci-archive holds the layout's files themselves"
            )));
        }
        if is_pax_sparse(&mut entry).map_err(not_tar)? {
            return Err(refuse(
                "is a sparse file (GNU.sparse records), whose bytes are not stored as they are read",
            ));
        }
        let span = Span {
            start: entry.raw_file_position(),
            len: entry.size(),
        };
        if span.start.checked_add(span.len).is_none_or(|end| end > len) {
            return Err(refuse(&format!(
                "is cut short: the archive ends at byte {len}, before its {} bytes",
                span.len
            )));
        }
        if entries.insert(rel, span).is_some() {
            return Err(refuse("appears twice, so readers may disagree on it"));
        }
    }
    Ok(entries)
}

/// Whether pax records describe the entry as a sparse file (format 0.x/1.0,
/// whose type flag is that of a regular file).
fn is_pax_sparse<R: io::Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<bool> {
    let Some(pax) = entry.pax_extensions()? else {
        return Ok(false);
    };
    for ext in pax {
        if ext?.key_bytes().starts_with(b"GNU.sparse.") {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The layout file an archive entry is (`oci-layout`, `index.json`,
/// `blobs/ALG/HEX`, with any leading `./` dropped), or `None` for an entry
/// that is no part of a layout (skipped). Names outside the root and files
/// under `blobs/ALG/` that are not blobs are refused.
fn layout_name(archive: &Path, name: &str) -> Result<Option<String>> {
    if name.starts_with('/') || name.split('/').any(|c| c == "..") {
        return Err(bad(
            archive,
            format!(
                "entry {name} names a path outside the archive's root, which extractors treat differently; {REWRITE}"
            ),
        ));
    }
    let name = name.trim_start_matches("./");
    if name == "oci-layout" || name == "index.json" {
        return Ok(Some(name.to_string()));
    }
    let Some(rest) = name.strip_prefix("blobs/") else {
        return Ok(None);
    };
    let Some((alg, hex)) = rest.split_once('/') else {
        return Ok(None);
    };
    if hex.is_empty() || hex == "/" {
        return Ok(None);
    }
    match Digest::parse(&format!("{alg}:{hex}")) {
        Ok(d) => Ok(Some(d.blob_rel())),
        Err(e) => Err(bad(
            archive,
            format!("entry {name} is not a blob (blobs/ALGORITHM/HEX): {e}; {REWRITE}"),
        )),
    }
}

