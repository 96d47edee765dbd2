//! Tar inspection as the bytes pass: a push-model scanner fed with the
//! decompressed stream, chunk by chunk.
//!
//! The scanner never buffers file contents. It is a sink rather than a
//! reader so that the DiffID hasher, the scanner and the layer encoder all
//! see the very same `buf[..n]` of one read. Two layers do the work, the way
//! flate2 splits `GzHeaderParser` from `GzState`:
//!
//! - framing (`framing.rs`) knows only 512-byte blocks: header blocks,
//!   content and metadata records of a given size, padding, the
//!   end-of-archive marker, and so where the stream stopped (at an entry
//!   boundary, after the marker, or inside something);
//! - interpretation (`interpret.rs`) knows what a header means: the `tar`
//!   crate's [`tar::Header`] parsed, PAX (`x`) and GNU long-name (`L`/`K`)
//!   records applied to the entry they precede, and the refusal rules
//!   (`hazard.rs`), with sparse maps read in `sparse.rs`.
//!
//! What follows the end-of-archive marker is judged in `trailer.rs`.
//!
//! [`TarScanner`] glues them: it feeds the framing, hands complete header
//! blocks and records to the interpreter, tells the framing what follows,
//! and shows entries to its [`EntryObserver`], which it holds by value and
//! gives back from [`TarScanner::finish`].

use tar::EntryType;

/// Tar block size.
const BLOCK: usize = 512;

/// Largest PAX or GNU long-name record we accept. Real ones are a few hundred
/// bytes; anything larger is hostile or broken and is refused before any
/// allocation of its size.
pub(crate) const MAX_META_RECORD: u64 = 1 << 20;

mod framing;
mod hazard;
mod interpret;
pub(crate) mod path;
mod sparse;
mod trailer;

pub(crate) use framing::checksum_ok;
use framing::{Event, Frame, Framing, Stop};
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub use hazard::Fix;
use interpret::{Interpreter, Meaning};
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub use sparse::SparseMap;
use sparse::{Expander, Piece, sparse_continues, sparse_ext_chunks};
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub use trailer::Trailer;

/// How the scanner treats entries that consumers unpack differently.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Policy {
    /// Refuse them, and anything after the end marker that is another
    /// archive: what a layer must be for every consumer.
    #[default]
    ConsumerSafe,
    /// Read what `--normalize` can rewrite ([`Fix`]): sparse files, global
    /// headers, concatenated archives; drop bytes after the last archive.
    Normalize,
}

/// One archive member as seen by observers, after PAX/GNU overrides.
#[derive(Debug, Clone)]
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct EntryHeader {
    /// Path bytes as stored (not necessarily UTF-8).
    pub path: Vec<u8>,
    /// Link target for symlinks and hardlinks.
    pub link: Option<Vec<u8>>,
    /// Entry type.
    pub kind: EntryType,
    /// Content bytes: for a sparse file, of the expanded file observers
    /// are shown (its stored bytes and holes, as every consumer unpacks it).
    pub size: u64,
    /// Permission bits and type bits as stored.
    pub mode: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Owner, after PAX overrides.
    pub uid: u64,
    /// Group, after PAX overrides.
    pub gid: u64,
    /// Owner name, after PAX overrides.
    pub uname: Vec<u8>,
    /// Group name, after PAX overrides.
    pub gname: Vec<u8>,
    /// Device numbers of character and block devices.
    pub device: Option<(u32, u32)>,
    /// PAX records that are not resolved into the fields above (xattrs,
    /// ACLs, ...), global ones first, in the order they came.
    pub pax: Vec<(Vec<u8>, Vec<u8>)>,
    /// The sparse map of a GNU sparse file (old type 'S', or PAX
    /// `GNU.sparse.*` records); observers are shown it expanded.
    pub sparse: Option<SparseMap>,
    /// What `--normalize` must do with it, if consumers disagree on it.
    pub fix: Option<Fix>,
}

/// Something that wants to look at entries as they stream by (platform
/// detection, lint), held by the scanner and given back by
/// [`TarScanner::finish`].
///
/// The scanner offers an entry's content while `entry`, then `content`,
/// answer true, and calls `end_entry` once when the content ends or is no
/// longer wanted. Observers combine as a pair `(A, B)`, which wants content
/// while either member does: a member can therefore be offered content, and
/// `end_entry`, for an entry it declined or stopped wanting, and must ignore
/// them (returning false). The pair keeps no state of its own, so the scanner
/// holds any combination by value.
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub trait EntryObserver {
    /// A new entry starts. Return true to receive its content.
    fn entry(&mut self, header: &EntryHeader) -> bool;
    /// Content bytes of the current entry, in order. Return false to stop receiving.
    fn content(&mut self, data: &[u8]) -> bool;
    /// The current entry's content is complete, or no longer wanted.
    fn end_entry(&mut self) {}
    /// A hole of `len` zero bytes in a sparse file's content. By default
    /// the zeros are offered as content; an observer that learns nothing
    /// from a run of zeros overrides it, so that a hostile map's terabyte
    /// hole costs nothing. Return false to stop receiving.
    fn hole(&mut self, mut len: u64) -> bool {
        while len > 0 {
            let k = usize::try_from(len).unwrap_or(usize::MAX).min(ZEROS.len());
            if !self.content(&ZEROS[..k]) {
                return false;
            }
            len -= k as u64;
        }
        true
    }
}

/// No observer: the scanner only checks the archive.
impl EntryObserver for () {
    fn entry(&mut self, _: &EntryHeader) -> bool {
        false
    }
    fn content(&mut self, _: &[u8]) -> bool {
        false
    }
}

/// An observer that may be absent (`--sbom`'s package scan): absent, it
/// wants nothing and costs a branch per entry.
impl<T: EntryObserver> EntryObserver for Option<T> {
    fn entry(&mut self, header: &EntryHeader) -> bool {
        self.as_mut().is_some_and(|o| o.entry(header))
    }
    fn content(&mut self, data: &[u8]) -> bool {
        self.as_mut().is_some_and(|o| o.content(data))
    }
    fn end_entry(&mut self) {
        if let Some(o) = self {
            o.end_entry();
        }
    }
    fn hole(&mut self, len: u64) -> bool {
        self.as_mut().is_some_and(|o| o.hole(len))
    }
}

/// Both observers see every entry.
impl<A: EntryObserver, B: EntryObserver> EntryObserver for (A, B) {
    fn entry(&mut self, header: &EntryHeader) -> bool {
        // Both must see the header, so no short-circuit.
        let a = self.0.entry(header);
        let b = self.1.entry(header);
        a | b
    }
    fn content(&mut self, data: &[u8]) -> bool {
        let a = self.0.content(data);
        let b = self.1.content(data);
        a | b
    }
    fn end_entry(&mut self) {
        self.0.end_entry();
        self.1.end_entry();
    }
    fn hole(&mut self, len: u64) -> bool {
        let a = self.0.hole(len);
        let b = self.1.hole(len);
        a | b
    }
}

/// Zeros for the holes of sparse files.
pub(crate) static ZEROS: [u8; 8192] = [0; 8192];

/// Hand `piece` of the current entry's content to `observer` while it
/// wants it (`watching`).
fn hand_on<O: EntryObserver>(observer: &mut O, watching: &mut bool, piece: Piece<'_>) {
    let wants = match piece {
        _ if !*watching => return,
        Piece::Data(data) => observer.content(data),
        Piece::Zeros(n) => observer.hole(n),
    };
    if !wants {
        // It has seen enough: finish it now rather than at the entry's end.
        observer.end_entry();
        *watching = false;
    }
}

/// Why the decompressed stream was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct TarError {
    /// Offset in the decompressed stream.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

/// What the scan found, once the stream ended cleanly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct TarSummary {
    /// Archive members (PAX/GNU metadata records not counted).
    pub entries: u64,
    /// Newest modification time among the entries.
    pub newest_mtime: Option<i64>,
    /// Whether the two zero blocks that end an archive were present.
    pub end_marker: bool,
    /// Bytes after the end-of-archive marker (record padding, usually zeros).
    pub trailing_bytes: u64,
    /// Whether any of those trailing bytes were non-zero.
    pub trailing_nonzero: bool,
    /// What those bytes are.
    pub trailer: Trailer,
    /// Warnings for the user (accepted oddities).
    pub warnings: Vec<String>,
    /// Facts worth reporting that are no cause for concern.
    pub notes: Vec<String>,
}

/// The streaming tar scanner, showing entries to an observer `O` (`()` for none).
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct TarScanner<O = ()> {
    framing: Framing,
    headers: Interpreter,
    /// The entry whose content is passing, named if the stream stops inside it.
    current: Option<EntryHeader>,
    observer: O,
    /// Whether the observer still wants the current entry's content.
    watching: bool,
    /// The current entry's expansion, if it is a sparse file.
    expander: Option<Expander>,
    /// PAX sparse files seen, for a note.
    sparse_files: u64,
}

impl<O: EntryObserver + Default> Default for TarScanner<O> {
    fn default() -> Self {
        Self::new(O::default())
    }
}

impl<O: EntryObserver> TarScanner<O> {
    /// A consumer-safe scanner at the start of an archive, showing its
    /// entries to `observer`.
    pub(crate) fn new(observer: O) -> Self {
        Self::with_policy(observer, Policy::ConsumerSafe)
    }

    /// A scanner with the given [`Policy`].
    pub(crate) fn with_policy(observer: O, policy: Policy) -> Self {
        Self {
            framing: Framing::new(policy),
            headers: Interpreter::new(policy),
            current: None,
            observer,
            watching: false,
            expander: None,
            sparse_files: 0,
        }
    }

    /// Decompressed bytes consumed so far.
    pub(crate) fn offset(&self) -> u64 {
        self.framing.offset
    }

    /// The observer, while the scan goes on.
    pub(crate) fn observer_mut(&mut self) -> &mut O {
        &mut self.observer
    }

    /// Feed the next bytes of the decompressed stream. After an error the
    /// scanner stays failed: every later call returns the same error.
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> Result<(), TarError> {
        if let Frame::Failed(e) = &self.framing.state {
            return Err(e.clone());
        }
        loop {
            let handled = match self.framing.next(&mut data) {
                Ok(None) => return Ok(()),
                Ok(Some(event)) => self.handle(event),
                Err(e) => Err(e),
            };
            if let Err(e) = handled {
                self.framing.state = Frame::Failed(e.clone());
                return Err(e);
            }
        }
    }

    fn handle(&mut self, event: Event<'_>) -> Result<(), TarError> {
        match event {
            Event::Header { start } => self.header(start)?,
            Event::SparseExt { size } => {
                let block = self.framing.block();
                if let Some(map) = self.current.as_mut().and_then(|c| c.sparse.as_mut()) {
                    sparse_ext_chunks(block, map).map_err(|reason| TarError {
                        offset: self.framing.offset - BLOCK as u64,
                        reason,
                    })?;
                }
                if !sparse_continues(block) {
                    // The map is complete: now the observer may see the entry.
                    self.show()?;
                    self.start_content(size)?;
                }
            }
            Event::Content { bytes, last } => {
                self.offer(bytes)?;
                if last {
                    self.end_entry()?;
                }
            }
            Event::Record { bytes, last } => {
                self.headers.record_bytes(bytes);
                if last {
                    self.end_record()?;
                }
            }
        }
        Ok(())
    }

    /// A non-zero header block is complete: interpret it and tell the
    /// framing what follows.
    fn header(&mut self, start: u64) -> Result<(), TarError> {
        let meaning = self
            .headers
            .header(self.framing.block(), start)
            .map_err(|reason| TarError {
                offset: start,
                reason,
            })?;
        match meaning {
            Meaning::Record { size } => {
                if size == 0 {
                    self.end_record()?;
                }
                self.framing.expect_record(size);
            }
            Meaning::Entry { entry, sparse_ext } => {
                let size = entry.size;
                self.current = Some(*entry);
                if sparse_ext {
                    // Shown once its extension blocks have completed the map.
                    self.framing.state = Frame::SparseExt { size };
                } else {
                    self.show()?;
                    self.start_content(size)?;
                }
            }
        }
        Ok(())
    }

    /// Show the current entry to the observer: a sparse file as the
    /// regular file every consumer unpacks, its content expanded as it
    /// passes.
    fn show(&mut self) -> Result<(), TarError> {
        let Some(entry) = &self.current else {
            return Ok(());
        };
        let Some(map) = &entry.sparse else {
            self.watching = self.observer.entry(entry);
            return Ok(());
        };
        let x = Expander::new(map.clone()).map_err(|r| self.sparse_error(r))?;
        let mut shown = entry.clone();
        shown.size = x.real_size();
        shown.kind = EntryType::Regular;
        if entry.kind != EntryType::GNUSparse {
            self.sparse_files += 1;
        }
        self.expander = Some(x);
        self.watching = self.observer.entry(&shown);
        Ok(())
    }

    /// A sparse file's map or content is broken: the refusal names it.
    fn sparse_error(&self, reason: String) -> TarError {
        let name = self.current.as_ref().map_or(String::new(), |c| {
            String::from_utf8_lossy(&c.path).into_owned()
        });
        TarError {
            offset: self.framing.offset,
            reason: format!(
                "entry '{name}' is a sparse file with {reason}; every consumer fails on it (Go's archive/tar: \"invalid header\" or \"unreferenced file data\")"
            ),
        }
    }

    fn start_content(&mut self, size: u64) -> Result<(), TarError> {
        if size == 0 {
            self.end_entry()?;
            self.framing.state = Frame::Header;
        } else {
            self.framing.expect_content(size);
        }
        Ok(())
    }

    /// A metadata record is complete; its errors are reported where it ends.
    fn end_record(&mut self) -> Result<(), TarError> {
        self.headers.end_record().map_err(|reason| TarError {
            offset: self.framing.offset,
            reason,
        })
    }

    fn offer(&mut self, data: &[u8]) -> Result<(), TarError> {
        let (observer, watching) = (&mut self.observer, &mut self.watching);
        let mut out = |p: Piece<'_>| hand_on(observer, watching, p);
        match self.expander.as_mut() {
            Some(x) => x.feed(data, &mut out).map_err(|r| self.sparse_error(r)),
            None => {
                out(Piece::Data(data));
                Ok(())
            }
        }
    }

    fn end_entry(&mut self) -> Result<(), TarError> {
        if let Some(mut x) = self.expander.take() {
            let (observer, watching) = (&mut self.observer, &mut self.watching);
            let mut out = |p: Piece<'_>| hand_on(observer, watching, p);
            x.finish(&mut out).map_err(|r| self.sparse_error(r))?;
        }
        if self.watching {
            self.observer.end_entry();
            self.watching = false;
        }
        self.current = None;
        Ok(())
    }

    /// The stream has ended: decide whether it ended cleanly, and give the
    /// observer back.
    pub(crate) fn finish(self) -> Result<(TarSummary, O), TarError> {
        let at = self.framing.offset;
        let mut warnings = Vec::new();
        match self.framing.finish()? {
            Stop::Marker => {}
            Stop::Boundary { zero_blocks } => {
                let how = if zero_blocks == 1 {
                    "ends after one zero block instead of two"
                } else {
                    "ends at an entry boundary without the end-of-archive marker"
                };
                warnings.push(format!("the tar archive {how}; accepted"));
            }
            Stop::InsideContent { remaining } => {
                let (path, size) = self.current.as_ref().map_or((String::new(), 0), |c| {
                    (String::from_utf8_lossy(&c.path).into_owned(), c.size)
                });
                return Err(TarError {
                    offset: at,
                    reason: format!(
                        "the tar archive ends inside entry '{path}' ({} of {size} bytes present); the input is truncated",
                        size.saturating_sub(remaining)
                    ),
                });
            }
        }
        if self.headers.entries == 0 {
            return Err(TarError {
                offset: at,
                reason: "the tar archive has no entries".into(),
            });
        }
        let f = self.framing;
        let trailer = f.trailer.finish();
        let mut notes = Vec::new();
        let dropped = f.trailing_bytes + f.filled as u64;
        // Normalizing, bytes after an end marker are held as a partial block.
        let nonzero = f.trailing_nonzero || f.block[..f.filled].iter().any(|&b| b != 0);
        match (&trailer, f.policy) {
            (Trailer::PixzIndex { bytes }, Policy::Normalize) => notes.push(format!(
                "a pixz file index ({bytes} bytes) after the last archive was dropped"
            )),
            // Data, perhaps another archive not aligned to 512 bytes: say so.
            (_, Policy::Normalize) if nonzero => warnings.push(format!(
                "{dropped} bytes after the last archive are not tar (not all zero) and were dropped; if they hold more entries, re-create the input"
            )),
            (_, Policy::Normalize) if f.filled > 0 => notes.push(format!(
                "{dropped} zero bytes after the last archive were dropped"
            )),
            (Trailer::PixzIndex { bytes }, _) => notes.push(format!(
                "a pixz file index ({bytes} bytes) follows the end-of-archive marker; like every consumer, the DiffID covers it"
            )),
            _ if f.trailing_nonzero => warnings.push(format!(
                "{} bytes follow the end-of-archive marker and not all are zero; they are kept in the layer",
                f.trailing_bytes
            )),
            _ => {}
        }
        if self.sparse_files > 0 {
            let n = self.sparse_files;
            notes.push(if f.policy == Policy::Normalize {
                format!("{n} sparse file(s) (PAX GNU.sparse records) written expanded")
            } else {
                format!(
                    "{n} sparse file(s) (PAX GNU.sparse records) kept as written; Go's archive/tar (podman, docker, containerd, umoci, skopeo), GNU tar and bsdtar all expand them"
                )
            });
        }
        let summary = TarSummary {
            entries: self.headers.entries,
            newest_mtime: self.headers.newest_mtime,
            end_marker: matches!(f.state, Frame::End | Frame::Dropped) || f.ended,
            trailing_bytes: f.trailing_bytes,
            trailing_nonzero: f.trailing_nonzero,
            trailer,
            warnings,
            notes,
        };
        Ok((summary, self.observer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tar::Header;

    pub(super) fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (i, (path, data)) in entries.iter().enumerate() {
            let mut h = Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(1_000 + i as u64);
            h.set_entry_type(EntryType::Regular);
            b.append_data(&mut h, path, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn scan_in_chunks(data: &[u8], chunk: usize) -> Result<TarSummary, TarError> {
        let mut s = TarScanner::new(());
        for c in data.chunks(chunk) {
            s.feed(c)?;
        }
        s.finish().map(|(sum, _)| sum)
    }

    #[test]
    fn counts_entries_any_chunking() {
        let long = "d/".repeat(80) + "file";
        let tar = archive(&[("a", b"hello"), (&long, &[7u8; 1000]), ("empty", b"")]);
        for chunk in [1, 7, 512, 513, 100_000] {
            let s = scan_in_chunks(&tar, chunk).unwrap();
            assert_eq!(s.entries, 3, "chunk {chunk}");
            assert!(s.end_marker);
            assert_eq!(s.newest_mtime, Some(1002));
            // tar::Builder writes exactly the two zero blocks.
            assert_eq!(s.trailing_bytes, 0);
        }
    }

    #[derive(Default)]
    struct Paths(Vec<String>);
    impl EntryObserver for Paths {
        fn entry(&mut self, h: &EntryHeader) -> bool {
            self.0.push(String::from_utf8_lossy(&h.path).into_owned());
            false
        }
        fn content(&mut self, _: &[u8]) -> bool {
            false
        }
    }

    #[test]
    fn gnu_long_names_and_pax_paths_are_followed() {
        let long = "x".repeat(150);
        let mut tar = archive(&[(&long, b"abc")]);
        // Also a PAX path override.
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions([("path", b"pax/path/name".as_slice())])
            .unwrap();
        let mut h = Header::new_ustar();
        h.set_size(2);
        h.set_path("short").unwrap();
        h.set_cksum();
        b.append(&h, &b"hi"[..]).unwrap();
        let pax = b.into_inner().unwrap();
        tar.truncate(tar.len() - 1024);
        tar.extend_from_slice(&pax);

        let mut s = TarScanner::new(Paths::default());
        s.feed(&tar).unwrap();
        let (sum, seen) = s.finish().unwrap();
        assert_eq!(sum.entries, 2);
        assert_eq!(seen.0, vec![long, "pax/path/name".to_string()]);
    }

    #[test]
    fn trailing_bytes_after_marker_are_counted() {
        let mut tar = archive(&[("a", b"hello")]);
        tar.extend_from_slice(&[0u8; 8192]);
        let s = scan_in_chunks(&tar, 4096).unwrap();
        assert_eq!(s.trailing_bytes, 8192);
        assert!(s.warnings.is_empty());
        tar.extend_from_slice(b"junk");
        let s = scan_in_chunks(&tar, 4096).unwrap();
        assert_eq!(s.trailing_bytes, 8196);
        assert!(s.trailing_nonzero);
        assert_eq!(s.warnings.len(), 1);
    }

    #[test]
    fn missing_end_marker_is_accepted_with_warning() {
        let tar = archive(&[("a", b"hello")]);
        let s = scan_in_chunks(&tar[..tar.len() - 1024], 100).unwrap();
        assert!(!s.end_marker);
        assert_eq!(s.entries, 1);
        assert!(s.warnings[0].contains("without the end-of-archive marker"));
        let s = scan_in_chunks(&tar[..tar.len() - 512], 100).unwrap();
        assert!(s.warnings[0].contains("one zero block"));
        // Cut right after content that fills whole blocks: the same verdict.
        let tar = archive(&[("a", &[7u8; 1024])]);
        let cut = &tar[..512 + 1024];
        for chunk in [1, 512, 4096] {
            let s = scan_in_chunks(cut, chunk).unwrap();
            assert_eq!(s.entries, 1);
            assert!(s.warnings[0].contains("without the end-of-archive marker"));
        }
    }

    #[test]
    fn truncated_inside_entry_is_refused() {
        let tar = archive(&[("a", &[1u8; 2000])]);
        let e = scan_in_chunks(&tar[..512 + 1000], 300).unwrap_err();
        assert_eq!(e.offset, 1512);
        assert!(
            e.reason
                .contains("inside entry 'a' (1000 of 2000 bytes present)"),
            "{}",
            e.reason
        );
        let e = scan_in_chunks(&tar[..100], 300).unwrap_err();
        assert!(
            e.reason.contains("inside a header block (100 of 512"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn not_a_tar_and_corrupt_header() {
        let e = scan_in_chunks(&[b'x'; 2048], 512).unwrap_err();
        assert_eq!(e.offset, 0);
        assert!(e.reason.contains("not a tar archive"));
        let mut tar = archive(&[("a", b"hello"), ("b", b"x")]);
        tar[1024 + 10] ^= 0x55; // second header
        let e = scan_in_chunks(&tar, 512).unwrap_err();
        assert_eq!(e.offset, 1024);
        assert!(e.reason.contains("bad checksum"));
    }

    #[test]
    fn empty_and_entryless_are_refused() {
        assert!(scan_in_chunks(&[], 1).unwrap_err().reason.contains("empty"));
        let e = scan_in_chunks(&[0u8; 10240], 512).unwrap_err();
        assert!(e.reason.contains("no entries"));
    }

    #[test]
    fn zero_block_then_header_is_ambiguous() {
        let one = archive(&[("a", b"hello")]);
        let mut tar = one[..one.len() - 1024].to_vec();
        tar.extend_from_slice(&[0u8; 512]);
        tar.extend_from_slice(&one);
        let e = scan_in_chunks(&tar, 512).unwrap_err();
        assert!(e.reason.contains("zero block is followed"));
    }

    #[test]
    fn absurd_pax_record_is_refused_without_allocation() {
        let mut h = Header::new_ustar();
        h.set_entry_type(EntryType::XHeader);
        h.set_size(1 << 40);
        h.set_path("pax").unwrap();
        h.set_cksum();
        let e = scan_in_chunks(h.as_bytes(), 512).unwrap_err();
        assert!(e.reason.contains("exceeds the limit"), "{}", e.reason);
    }

    #[test]
    fn header_only_types_with_data_are_refused() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = Header::new_ustar();
        h.set_entry_type(EntryType::Symlink);
        h.set_path("link").unwrap();
        h.set_link_name("target").unwrap();
        h.set_size(512);
        h.set_cksum();
        b.append(&h, &[0u8; 512][..]).unwrap();
        let tar = b.into_inner().unwrap();
        let e = scan_in_chunks(&tar, 512).unwrap_err();
        assert_eq!(e.offset, 0);
        assert!(
            e.reason
                .contains("'link' is a Symlink header that claims 512 bytes"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn absurd_mtimes_do_not_vote_for_created() {
        let mut b = tar::Builder::new(Vec::new());
        for (name, mtime) in [("a", 1_700_000_000u64), ("b", 99_999_999_999_999)] {
            let mut h = Header::new_gnu();
            h.set_size(0);
            h.set_mtime(mtime);
            h.set_path(name).unwrap();
            h.set_cksum();
            b.append(&h, &b""[..]).unwrap();
        }
        let s = scan_in_chunks(&b.into_inner().unwrap(), 512).unwrap();
        assert_eq!(s.newest_mtime, Some(1_700_000_000));
    }

    #[test]
    fn pax_size_override_is_used_for_skipping() {
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions([("size", b"3".as_slice())])
            .unwrap();
        let mut h = Header::new_ustar();
        h.set_size(0); // the PAX record wins
        h.set_path("f").unwrap();
        h.set_cksum();
        b.append(&h, &b""[..]).unwrap();
        let mut tar = b.into_inner().unwrap();
        // Insert 3 content bytes + padding after the ustar header.
        let end = tar.len() - 1024;
        let mut data = vec![b'a', b'b', b'c'];
        data.resize(512, 0);
        tar.splice(end..end, data);
        let s = scan_in_chunks(&tar, 512).unwrap();
        assert_eq!(s.entries, 1);
        assert!(s.end_marker);
    }

    #[test]
    fn a_failed_scanner_stays_failed_with_its_error() {
        let mut tar = archive(&[("a", b"hello"), ("b", b"x")]);
        tar[1024 + 10] ^= 0x55;
        let mut s = TarScanner::new(());
        let e = s.feed(&tar).unwrap_err();
        assert_eq!(e.offset, 1024);
        // Good bytes later change nothing.
        assert_eq!(s.feed(&archive(&[("c", b"")])), Err(e.clone()));
        assert_eq!(s.feed(&[]), Err(e.clone()));
        assert_eq!(s.finish().map(|(sum, _)| sum), Err(e));
    }

    /// Records the calls it receives; wants at most `limit` content bytes
    /// of entries whose path starts with `prefix`, and, as the trait asks,
    /// ignores calls for entries it does not want.
    #[derive(Default)]
    struct Calls {
        prefix: &'static str,
        limit: usize,
        wanted: bool,
        active: bool,
        seen: usize,
        log: Vec<String>,
    }
    impl EntryObserver for Calls {
        fn entry(&mut self, h: &EntryHeader) -> bool {
            let path = String::from_utf8_lossy(&h.path).into_owned();
            self.wanted = path.starts_with(self.prefix);
            self.active = self.wanted;
            self.seen = 0;
            self.log.push(format!("entry {path} {}", self.wanted));
            self.wanted
        }
        fn content(&mut self, data: &[u8]) -> bool {
            if self.wanted {
                self.seen += data.len();
                self.wanted = self.seen < self.limit;
            }
            self.wanted
        }
        fn end_entry(&mut self) {
            if self.active {
                self.log.push(format!("end {}", self.seen));
            }
            self.active = false;
            self.wanted = false;
        }
    }

    fn calls(prefix: &'static str, limit: usize) -> Calls {
        Calls {
            prefix,
            limit,
            ..Calls::default()
        }
    }

    #[test]
    fn observers_are_given_back_and_pairs_see_every_entry() {
        let tar = archive(&[("a", &[1u8; 3000]), ("b", &[2u8; 100])]);
        for chunk in [1, 512, 100_000] {
            let mut s = TarScanner::new((calls("a", usize::MAX), calls("", 50)));
            for c in tar.chunks(chunk) {
                s.feed(c).unwrap();
            }
            let (sum, (a, any)) = s.finish().unwrap();
            assert_eq!(sum.entries, 2);
            // `a` gets all of its entry although `any` stopped early, and
            // nothing of the entry it declined.
            assert_eq!(a.log, ["entry a true", "end 3000", "entry b false"]);
            // `any` is ended once per entry, having counted at least its
            // limit (how much more depends on the chunk size).
            assert_eq!(any.log.len(), 4, "{:?}", any.log);
            assert_eq!(
                (&any.log[0][..], &any.log[2][..]),
                ("entry a true", "entry b true")
            );
            for end in [&any.log[1], &any.log[3]] {
                let n: usize = end.strip_prefix("end ").unwrap().parse().unwrap();
                assert!((50..=3000).contains(&n), "{end}");
            }
        }
        // Alone, an observer that has seen enough is ended at once.
        let mut s = TarScanner::new(calls("", 50));
        s.feed(&tar[..600]).unwrap();
        s.feed(&tar[600..]).unwrap();
        let (_, only) = s.finish().unwrap();
        assert_eq!(
            only.log,
            ["entry a true", "end 88", "entry b true", "end 100"]
        );
    }

    /// Every entry as observers see it: path, type, size and content.
    #[derive(Default)]
    struct Files(Vec<(String, EntryType, u64, Vec<u8>)>);
    impl EntryObserver for Files {
        fn entry(&mut self, h: &EntryHeader) -> bool {
            let path = String::from_utf8_lossy(&h.path).into_owned();
            self.0.push((path, h.kind, h.size, Vec::new()));
            true
        }
        fn content(&mut self, data: &[u8]) -> bool {
            if let Some(f) = self.0.last_mut() {
                f.3.extend_from_slice(data);
            }
            true
        }
    }

    /// `records` then a regular file `GNUSparseFile.0/f` storing `stored`.
    fn pax_sparse_tar(records: &[(&str, &str)], kind: EntryType, stored: &[u8]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions(records.iter().map(|(k, v)| (*k, v.as_bytes())))
            .unwrap();
        let mut h = Header::new_ustar();
        h.set_size(stored.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(kind);
        b.append_data(&mut h, "GNUSparseFile.0/f", stored).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn observers_see_a_pax_sparse_file_by_its_real_name_expanded() {
        let v01 = [
            ("GNU.sparse.major", "0"),
            ("GNU.sparse.minor", "1"),
            ("GNU.sparse.name", "var/lastlog"),
            ("GNU.sparse.size", "9"),
            // Go takes GNU.sparse.size when both are present.
            ("GNU.sparse.realsize", "99"),
            ("GNU.sparse.numblocks", "2"),
            ("GNU.sparse.map", "1,2,6,1"),
        ];
        let mut v10 = b"2\n1\n2\n6\n1\n".to_vec();
        v10.resize(BLOCK, 0);
        v10.extend(b"abc");
        let one = [
            ("GNU.sparse.major", "1"),
            ("GNU.sparse.minor", "0"),
            ("GNU.sparse.name", "var/lastlog"),
            ("GNU.sparse.realsize", "9"),
        ];
        for tar in [
            pax_sparse_tar(&v01, EntryType::Regular, b"abc"),
            pax_sparse_tar(&one, EntryType::Regular, &v10),
        ] {
            for chunk in [1, 512, 100_000] {
                let mut s = TarScanner::new(Files::default());
                for c in tar.chunks(chunk) {
                    s.feed(c).unwrap();
                }
                let (sum, files) = s.finish().unwrap();
                assert_eq!(
                    files.0,
                    [(
                        "var/lastlog".to_string(),
                        EntryType::Regular,
                        9,
                        b"\0ab\0\0\0c\0\0".to_vec()
                    )]
                );
                assert_eq!(
                    sum.notes,
                    [
                        "1 sparse file(s) (PAX GNU.sparse records) kept as written; Go's archive/tar (podman, docker, containerd, umoci, skopeo), GNU tar and bsdtar all expand them"
                    ]
                );
            }
        }
        // Go fails on a sparse map on a header-only entry ("invalid header").
        let tar = pax_sparse_tar(&v01[..5], EntryType::Symlink, b"");
        let e = scan_in_chunks(&tar, 512).unwrap_err();
        assert_eq!(
            e.reason,
            "entry 'var/lastlog' has PAX GNU.sparse records on a Symlink entry: Go's archive/tar (podman, docker, umoci) fails on it or ignores them; re-create the archive with bsdtar or GNU tar"
        );
        // More stored bytes than the map covers: Go's "unreferenced file data".
        let tar = pax_sparse_tar(&v01, EntryType::Regular, b"abcd");
        let e = scan_in_chunks(&tar, 512).unwrap_err();
        assert!(
            e.reason
                .starts_with("entry 'var/lastlog' is a sparse file with more data than its map; every consumer fails on it"),
            "{e:?}"
        );
    }
}
