//! An oci-archive read in place: one pass over its tar headers maps
//! `oci-layout`, `index.json` and `blobs/ALG/HEX` to byte ranges of the
//! archive file, and every read of the layout is a `pread` of one range.
//! Nothing is extracted, and a layer streams from the archive itself.
//!
//! What tar readers could disagree on is refused while indexing, naming the
//! archive and the entry: a layout name given twice (`index.json` and
//! `./index.json` are one name), an entry that is not a plain regular file
//! (links, sparse files), a name outside the archive's root, a compressed
//! archive, an entry cut short by the end of the file; a tar metadata
//! record (long name, pax header) over 1 MiB is refused before it is read.

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

/// Largest tar metadata record read (a GNU long name, a pax header, sparse
/// maps): the tar crate reads them whole, so a hostile size must not reach it.
const MAX_METADATA: u64 = 1 << 20;

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
                "{e}; give an OCI layout directory or the oci-archive file itself (it is read in place, seeking: not through a link, not from a FIFO; save a stream to a file first)"
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
    let mut tar = tar::Archive::new(Headers { file, read: 0 });
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

/// The archive as the tar crate walks it: entry data is skipped by seeking,
/// so what is read between two seeks is one header and the metadata
/// record it introduces, refused past [`MAX_METADATA`].
struct Headers<'a> {
    file: &'a File,
    /// Bytes read since the last seek.
    read: u64,
}

impl io::Read for Headers<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.read > MAX_METADATA + 512 {
            return Err(io::Error::other(format!(
                "a tar metadata record (long name, pax header) is larger than {MAX_METADATA} bytes"
            )));
        }
        let n = self.file.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl io::Seek for Headers<'_> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.read = 0;
        self.file.seek(pos)
    }
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
/// Docker's `manifest.json`, `blobs/ALG/HEX`, with any leading `./` dropped), or `None` for an entry
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
    // manifest.json: Docker's, which verify checks against index.json.
    if name == "oci-layout" || name == "index.json" || name == "manifest.json" {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashing::sha256_of;
    use std::io::Read;
    use std::path::PathBuf;
    use tar::EntryType;

    /// One tar entry, the name written as it is (the builder would refuse
    /// `..` and absolute names), the header size `size` (normally the data's).
    fn raw(name: &str, kind: EntryType, data: &[u8], size: u64) -> Vec<u8> {
        let mut h = tar::Header::new_ustar();
        h.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o644);
        if kind == EntryType::Symlink || kind == EntryType::Link {
            h.set_link_name("index.json").unwrap();
        }
        h.set_cksum();
        let mut out = h.as_bytes().to_vec();
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(512), 0);
        out
    }

    fn file(name: &str, data: &[u8]) -> Vec<u8> {
        raw(name, EntryType::Regular, data, data.len() as u64)
    }

    /// A pax header whose records describe the next entry.
    fn pax(records: &[(&str, &str)]) -> Vec<u8> {
        let mut body = Vec::new();
        for (k, v) in records {
            let rest = format!(" {k}={v}\n");
            let mut n = rest.len() + 1;
            while format!("{n}{rest}").len() != n {
                n += 1;
            }
            body.extend_from_slice(format!("{n}{rest}").as_bytes());
        }
        raw("PaxHeaders/x", EntryType::XHeader, &body, body.len() as u64)
    }

    fn archive(parts: &[Vec<u8>]) -> Vec<u8> {
        let mut out = parts.concat();
        out.extend_from_slice(&[0u8; 1024]);
        out
    }

    const LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

    fn write(dir: &Path, bytes: &[u8]) -> PathBuf {
        let p = dir.join("a.tar");
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn read(index: &Arc<TarIndex>, rel: &str) -> Vec<u8> {
        let mut out = Vec::new();
        index
            .open_entry(rel)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn entries_are_read_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let blob: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let d = sha256_of(&blob);
        let long = format!("./{}", d.blob_rel());
        let bytes = archive(&[
            raw("./", EntryType::Directory, b"", 0),
            file("./oci-layout", LAYOUT),
            raw("blobs/sha256/", EntryType::Directory, b"", 0),
            file(&long, &blob),
            // Not a layout file: skipped, whatever it is.
            raw("notes", EntryType::Symlink, b"", 0),
            file("index.json", b"{}"),
        ]);
        // A sha512 blob's name (141 bytes) needs a GNU long name record.
        let d512 = Digest::parse(&format!("sha512:{}", "ab".repeat(64))).unwrap();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        b.append_data(&mut h, d512.blob_rel(), &b"512"[..]).unwrap();
        let mut long = b.into_inner().unwrap();
        long.truncate(long.len() - 1024); // its end-of-archive marker
        assert_eq!(
            long.len(),
            4 * 512,
            "long name header and record, header, data"
        );
        let bytes = [long, bytes].concat();
        let path = write(dir.path(), &bytes);
        let index = Arc::new(TarIndex::open(&path).unwrap());
        assert_eq!(read(&index, &d512.blob_rel()), b"512");
        assert_eq!(read(&index, "oci-layout"), LAYOUT);
        assert_eq!(read(&index, "index.json"), b"{}");
        assert_eq!(read(&index, &d.blob_rel()), blob);
        assert!(index.open_entry("notes").is_none());
        assert_eq!(
            index.blobs().collect::<Vec<_>>(),
            [(d.clone(), 3000), (d512, 3)]
        );
        // Two readers of one archive do not share a file offset.
        let mut a = index.open_entry(&d.blob_rel()).unwrap();
        let mut b = index.open_entry("index.json").unwrap();
        let mut buf = [0u8; 10];
        a.read_exact(&mut buf).unwrap();
        assert_eq!(buf, blob[..10]);
        let mut whole = Vec::new();
        b.read_to_end(&mut whole).unwrap();
        assert_eq!(whole, b"{}");
        a.read_exact(&mut buf).unwrap();
        assert_eq!(buf, blob[10..20]);
        // The archive shrinks under the reader: an error, not a short blob.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(2048)
            .unwrap();
        let e = a.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(
            e.to_string(),
            "the archive now ends inside this entry (it was truncated while being read)"
        );
    }

    /// Each archive readers could read two ways is refused in one line
    /// naming the archive and the entry.
    #[test]
    fn ambiguous_or_unreadable_archives_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let blob = b"layer";
        let rel = sha256_of(blob).blob_rel();
        let index = file("index.json", b"{}");
        let blob_entry = file(&rel, blob);
        let fix = "write the archive again with ociimport --format oci-archive or skopeo copy";
        let give = "give an OCI layout directory or an oci-archive file";
        // A GNU header: the tar crate reads type S only from one.
        let mut h = tar::Header::new_gnu();
        h.set_path(&rel).unwrap();
        h.set_entry_type(EntryType::GNUSparse);
        h.set_size(0);
        h.as_gnu_mut().unwrap().set_real_size(0);
        h.set_cksum();
        let gnu_sparse = h.as_bytes().to_vec();
        let long_name = vec![b'a'; 2 << 20];
        let mut truncated = archive(&[index.clone(), file(&rel, &[7u8; 5000])]);
        truncated.truncate(3000);
        let cases: Vec<(&str, Vec<u8>, String)> = vec![
            (
                "duplicate",
                archive(&[
                    index.clone(),
                    blob_entry.clone(),
                    file(&format!("./{rel}"), blob),
                ]),
                format!("entry ./{rel} appears twice, so readers may disagree on it; {fix}"),
            ),
            (
                "duplicate index",
                archive(&[index.clone(), file("./index.json", b"[]")]),
                format!("entry ./index.json appears twice, so readers may disagree on it; {fix}"),
            ),
            (
                "hard link",
                archive(&[index.clone(), raw(&rel, EntryType::Link, b"", 0)]),
                format!(
                    "entry {rel} is not a regular file (Link); an oci-archive holds the layout's files themselves; {fix}"
                ),
            ),
            (
                "symlink",
                archive(&[index.clone(), raw(&rel, EntryType::Symlink, b"", 0)]),
                format!(
                    "entry {rel} is not a regular file (Symlink); an oci-archive holds the layout's files themselves; {fix}"
                ),
            ),
            (
                "gnu sparse",
                archive(&[index.clone(), gnu_sparse]),
                format!(
                    "entry {rel} is not a regular file (GNUSparse); an oci-archive holds the layout's files themselves; {fix}"
                ),
            ),
            (
                "pax sparse",
                archive(&[
                    index.clone(),
                    pax(&[("GNU.sparse.major", "1"), ("GNU.sparse.minor", "0")]),
                    blob_entry.clone(),
                ]),
                format!(
                    "entry {rel} is a sparse file (GNU.sparse records), whose bytes are not stored as they are read; {fix}"
                ),
            ),
            (
                "absolute",
                archive(&[file("/index.json", b"{}")]),
                format!(
                    "entry /index.json names a path outside the archive's root, which extractors treat differently; {fix}"
                ),
            ),
            (
                "dot-dot",
                archive(&[index.clone(), file("blobs/../index.json", b"{}")]),
                format!(
                    "entry blobs/../index.json names a path outside the archive's root, which extractors treat differently; {fix}"
                ),
            ),
            (
                "not a blob",
                archive(&[index.clone(), file("blobs/sha256/abc", b"")]),
                "entry blobs/sha256/abc is not a blob (blobs/ALGORITHM/HEX)".into(),
            ),
            (
                "cut short",
                truncated,
                format!(
                    "entry {rel} is cut short: the archive ends at byte 3000, before its 5000 bytes; {fix}"
                ),
            ),
            (
                "huge long name",
                archive(&[
                    raw("././@LongLink", EntryType::GNULongName, &long_name, 2 << 20),
                    index.clone(),
                ]),
                format!(
                    "not an oci-archive (a tar of an OCI layout): a tar metadata record (long name, pax header) is larger than 1048576 bytes; {give}"
                ),
            ),
            (
                "no index",
                archive(&[file("oci-layout", LAYOUT)]),
                format!("not an oci-archive: its tar holds no index.json; {give}"),
            ),
            (
                "not a tar",
                vec![b'x'; 2048],
                "not an oci-archive (a tar of an OCI layout): numeric field was not a number"
                    .into(),
            ),
        ];
        for (what, bytes, want) in cases {
            let path = write(dir.path(), &bytes);
            let e = TarIndex::open(&path).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("{}: {want}", path.display())),
                "{what}: {e}"
            );
            assert_eq!(e.lines().count(), 1, "{what}: {e}");
            assert!(e.len() < 300, "{what}: {e}");
        }
    }

    #[test]
    fn compressed_archives_and_fifos_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let tar = archive(&[file("index.json", b"{}")]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&tar[..], 1).unwrap();
        for (noun, bytes) in [("gzip", gz), ("zstd", zst)] {
            let path = write(dir.path(), &bytes);
            let e = TarIndex::open(&path).unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "{p}: is {noun}-compressed; an oci-archive is read in place, so it must be an uncompressed tar: decompress it first ({noun} -dc {p} > image.tar)",
                    p = path.display()
                )
            );
        }
        let fifo = dir.path().join("fifo.tar");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo(3) with a NUL-terminated path we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let e = TarIndex::open(&fifo).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: is a FIFO, not a regular file; give an OCI layout directory or the oci-archive file itself (it is read in place, seeking: not through a link, not from a FIFO; save a stream to a file first)",
                fifo.display()
            )
        );
    }
}
