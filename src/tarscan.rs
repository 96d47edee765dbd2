//! Tar inspection as the bytes pass: a push-model scanner fed with the
//! decompressed stream, chunk by chunk.
//!
//! The scanner never buffers file contents. It parses each 512-byte header
//! with the `tar` crate's [`tar::Header`], follows PAX (`x`) and GNU long-name
//! (`L`/`K`) records, skips data by counting, and so knows, when the stream
//! ends, whether it ended at an entry boundary, after the end-of-archive
//! marker, or inside an entry. It is a sink rather than a reader so that the
//! DiffID hasher, the scanner and the layer encoder all see the very same
//! `buf[..n]` of one read.

use tar::{EntryType, Header};

/// Tar block size.
const BLOCK: usize = 512;

/// 9999-12-31T23:59:59Z, the last second RFC 3339 can write.
const MAX_RFC3339_SECS: i64 = 253_402_300_799;

/// Largest PAX or GNU long-name record we accept. Real ones are a few hundred
/// bytes; anything larger is hostile or broken and is refused before any
/// allocation of its size.
pub const MAX_META_RECORD: u64 = 1 << 20;

/// One archive member as seen by observers, after PAX/GNU overrides.
#[derive(Debug, Clone)]
pub struct EntryHeader {
    /// Path bytes as stored (not necessarily UTF-8).
    pub path: Vec<u8>,
    /// Link target for symlinks and hardlinks.
    pub link: Option<Vec<u8>>,
    /// Entry type.
    pub kind: EntryType,
    /// Content bytes that follow the header.
    pub size: u64,
    /// Permission bits and type bits as stored.
    pub mode: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Offset of the header in the decompressed stream.
    pub offset: u64,
}

/// Something that wants to look at entries as they stream by (platform
/// detection, lint). Content is offered only if `entry` returns true.
pub trait EntryObserver: Send {
    /// A new entry starts. Return true to receive its content.
    fn entry(&mut self, header: &EntryHeader) -> bool;
    /// Content bytes of the current entry, in order. Return false to stop receiving.
    fn content(&mut self, data: &[u8]) -> bool;
    /// The current entry's content is complete.
    fn end_entry(&mut self) {}
}

/// Why the decompressed stream was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarError {
    /// Offset in the decompressed stream.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

/// What the scan found, once the stream ended cleanly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    /// Warnings for the user (accepted oddities).
    pub warnings: Vec<String>,
}

#[derive(Debug)]
enum State {
    /// Collecting a header block.
    Header,
    /// Inside an entry's content.
    Data { remaining: u64, pad: u64 },
    /// Collecting a PAX or GNU long-name record's content.
    Meta {
        kind: MetaKind,
        remaining: u64,
        pad: u64,
    },
    /// Skipping padding after content.
    Pad { remaining: u64 },
    /// GNU old-style sparse extension header blocks.
    SparseExt { data: u64 },
    /// After the end-of-archive marker.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MetaKind {
    Pax,
    GlobalPax,
    LongName,
    LongLink,
}

/// Overrides that the preceding metadata records set for the next entry.
#[derive(Debug, Default)]
struct Pending {
    path: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    size: Option<u64>,
    mtime: Option<i64>,
}

/// The streaming tar scanner.
pub struct TarScanner {
    offset: u64,
    state: State,
    block: [u8; BLOCK],
    filled: usize,
    zero_blocks: u8,
    summary: TarSummary,
    pending: Pending,
    meta: Vec<u8>,
    current: Option<EntryHeader>,
    observers: Vec<Box<dyn EntryObserver>>,
    watching: Vec<bool>,
    error: Option<TarError>,
}

impl Default for TarScanner {
    fn default() -> Self {
        Self::new()
    }
}

impl TarScanner {
    /// A scanner at the start of an archive.
    pub fn new() -> Self {
        Self {
            offset: 0,
            state: State::Header,
            block: [0; BLOCK],
            filled: 0,
            zero_blocks: 0,
            summary: TarSummary::default(),
            pending: Pending::default(),
            meta: Vec::new(),
            current: None,
            observers: Vec::new(),
            watching: Vec::new(),
            error: None,
        }
    }

    /// Add an observer that sees every entry.
    pub fn observe(&mut self, observer: Box<dyn EntryObserver>) {
        self.observers.push(observer);
        self.watching.push(false);
    }

    /// Take the observers back (after `finish`).
    pub fn take_observers(&mut self) -> Vec<Box<dyn EntryObserver>> {
        self.watching.clear();
        std::mem::take(&mut self.observers)
    }

    /// Decompressed bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Entries seen so far.
    pub fn entries(&self) -> u64 {
        self.summary.entries
    }

    fn fail(&mut self, offset: u64, reason: String) -> TarError {
        let e = TarError { offset, reason };
        self.error = Some(e.clone());
        e
    }

    /// Feed the next bytes of the decompressed stream.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), TarError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        while !data.is_empty() {
            match &mut self.state {
                State::End => {
                    self.summary.trailing_bytes += data.len() as u64;
                    if !self.summary.trailing_nonzero && data.iter().any(|&b| b != 0) {
                        self.summary.trailing_nonzero = true;
                    }
                    self.offset += data.len() as u64;
                    return Ok(());
                }
                State::Data { remaining, pad } => {
                    let n = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(data.len());
                    *remaining -= n as u64;
                    let (remaining, pad) = (*remaining, *pad);
                    self.offer(&data[..n]);
                    data = &data[n..];
                    self.offset += n as u64;
                    if remaining == 0 {
                        self.end_entry();
                        self.state = State::Pad { remaining: pad };
                    }
                }
                State::Pad { remaining } => {
                    let n = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(data.len());
                    *remaining -= n as u64;
                    if *remaining == 0 {
                        self.state = State::Header;
                    }
                    data = &data[n..];
                    self.offset += n as u64;
                }
                State::Meta { remaining, pad, .. } => {
                    let n = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(data.len());
                    *remaining -= n as u64;
                    let done = *remaining == 0;
                    let pad = *pad;
                    self.meta.extend_from_slice(&data[..n]);
                    data = &data[n..];
                    self.offset += n as u64;
                    if done {
                        self.finish_meta()?;
                        self.state = State::Pad { remaining: pad };
                    }
                }
                State::Header | State::SparseExt { .. } => {
                    let n = (BLOCK - self.filled).min(data.len());
                    self.block[self.filled..self.filled + n].copy_from_slice(&data[..n]);
                    self.filled += n;
                    data = &data[n..];
                    self.offset += n as u64;
                    if self.filled == BLOCK {
                        self.filled = 0;
                        if matches!(self.state, State::Header) {
                            self.header_block()?;
                        } else {
                            self.sparse_block();
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn offer(&mut self, data: &[u8]) {
        for (obs, watching) in self.observers.iter_mut().zip(self.watching.iter_mut()) {
            if *watching && !obs.content(data) {
                // It has seen enough: finish it now rather than at the entry's end.
                obs.end_entry();
                *watching = false;
            }
        }
    }

    fn end_entry(&mut self) {
        for (obs, watching) in self.observers.iter_mut().zip(self.watching.iter_mut()) {
            if *watching {
                obs.end_entry();
                *watching = false;
            }
        }
        self.current = None;
    }

    fn header_block(&mut self) -> Result<(), TarError> {
        let start = self.offset - BLOCK as u64;
        if self.block.iter().all(|&b| b == 0) {
            self.zero_blocks += 1;
            if self.zero_blocks == 2 {
                self.summary.end_marker = true;
                self.state = State::End;
            }
            return Ok(());
        }
        if self.zero_blocks == 1 {
            return Err(self.fail(
                start,
                "a zero block is followed by more headers; readers disagree on where such an archive ends, so it is refused".into(),
            ));
        }
        let header = Header::from_byte_slice(&self.block);
        if !checksum_ok(&self.block) {
            let reason = if start == 0 {
                "the decompressed stream is not a tar archive (the first block is not a valid tar header)".to_string()
            } else {
                "corrupt tar header (bad checksum)".to_string()
            };
            return Err(self.fail(start, reason));
        }
        let kind = header.entry_type();
        let stored = match header.entry_size() {
            Ok(s) => s,
            Err(e) => return Err(self.fail(start, format!("corrupt tar header: {e}"))),
        };
        let meta_kind = match kind {
            EntryType::XHeader => Some(MetaKind::Pax),
            EntryType::XGlobalHeader => Some(MetaKind::GlobalPax),
            EntryType::GNULongName => Some(MetaKind::LongName),
            EntryType::GNULongLink => Some(MetaKind::LongLink),
            _ => None,
        };
        if let Some(mk) = meta_kind {
            if stored > MAX_META_RECORD {
                return Err(self.fail(
                    start,
                    format!(
                        "tar metadata record of {stored} bytes exceeds the limit of {MAX_META_RECORD} bytes"
                    ),
                ));
            }
            self.meta.clear();
            let pad = padding(stored);
            if stored == 0 {
                self.finish_meta_kind(mk)?;
                self.state = State::Pad { remaining: pad };
            } else {
                self.state = State::Meta {
                    kind: mk,
                    remaining: stored,
                    pad,
                };
            }
            return Ok(());
        }

        // A real entry: apply the pending overrides.
        let pending = std::mem::take(&mut self.pending);
        let size = pending.size.unwrap_or(stored);
        let path = pending
            .path
            .unwrap_or_else(|| header.path_bytes().into_owned());
        let link = pending
            .link
            .or_else(|| header.link_name_bytes().map(|l| l.into_owned()));
        let mtime = match pending.mtime {
            Some(m) => m,
            None => header
                .mtime()
                .map(|m| i64::try_from(m).unwrap_or(i64::MAX))
                .unwrap_or(0),
        };
        let mode = header.mode().unwrap_or(0);
        // Go's archive/tar (podman, skopeo, umoci, docker) and Python's
        // tarfile skip no data after a link, directory, device or FIFO header
        // whatever size it states; a reader that honours the size would skip
        // bytes the others read as entries. Such an archive means different
        // things to different consumers, so it is refused.
        let header_only = matches!(
            kind,
            EntryType::Link
                | EntryType::Symlink
                | EntryType::Directory
                | EntryType::Char
                | EntryType::Block
                | EntryType::Fifo
        );
        if header_only && size > 0 {
            let name = String::from_utf8_lossy(&path).into_owned();
            return Err(self.fail(
                start,
                format!(
                    "entry '{name}' is a {kind:?} header that claims {size} bytes of data; consumers disagree on whether to skip them, so the archive is refused"
                ),
            ));
        }
        let entry = EntryHeader {
            path,
            link,
            kind,
            size,
            mode,
            mtime,
            offset: start,
        };
        self.summary.entries += 1;
        // A single absurd mtime (base-256 or PAX) must not push `created`
        // beyond what RFC 3339 can express; such entries do not vote.
        if (0..=MAX_RFC3339_SECS).contains(&mtime) {
            self.summary.newest_mtime =
                Some(self.summary.newest_mtime.map_or(mtime, |m| m.max(mtime)));
        }
        for (obs, watching) in self.observers.iter_mut().zip(self.watching.iter_mut()) {
            *watching = obs.entry(&entry);
        }
        self.current = Some(entry);

        let is_old_sparse =
            kind == EntryType::GNUSparse && header.as_gnu().is_some_and(|g| g.is_extended());
        if is_old_sparse {
            self.state = State::SparseExt { data: size };
        } else {
            self.start_data(size);
        }
        Ok(())
    }

    fn start_data(&mut self, size: u64) {
        if size == 0 {
            self.end_entry();
            self.state = State::Header;
        } else {
            self.state = State::Data {
                remaining: size,
                pad: padding(size),
            };
        }
    }

    fn sparse_block(&mut self) {
        // Byte 504 of a GNU sparse extension block says whether another follows.
        let more = self.block[504] != 0;
        if !more && let State::SparseExt { data } = self.state {
            self.start_data(data);
        }
    }

    fn finish_meta(&mut self) -> Result<(), TarError> {
        let kind = match self.state {
            State::Meta { kind, .. } => kind,
            _ => return Ok(()),
        };
        self.finish_meta_kind(kind)
    }

    fn finish_meta_kind(&mut self, kind: MetaKind) -> Result<(), TarError> {
        let meta = std::mem::take(&mut self.meta);
        match kind {
            MetaKind::LongName => self.pending.path = Some(trim_nul(&meta).to_vec()),
            MetaKind::LongLink => self.pending.link = Some(trim_nul(&meta).to_vec()),
            MetaKind::GlobalPax => {}
            MetaKind::Pax => {
                for ext in tar::PaxExtensions::new(&meta) {
                    let ext = match ext {
                        Ok(e) => e,
                        Err(e) => {
                            let at = self.offset;
                            return Err(self.fail(at, format!("malformed PAX header: {e}")));
                        }
                    };
                    match ext.key_bytes() {
                        b"path" => self.pending.path = Some(ext.value_bytes().to_vec()),
                        b"linkpath" => self.pending.link = Some(ext.value_bytes().to_vec()),
                        b"size" => {
                            let parsed = std::str::from_utf8(ext.value_bytes())
                                .ok()
                                .and_then(|s| s.parse::<u64>().ok());
                            match parsed {
                                Some(s) => self.pending.size = Some(s),
                                None => {
                                    let at = self.offset;
                                    return Err(
                                        self.fail(at, "malformed PAX size record".to_string())
                                    );
                                }
                            }
                        }
                        b"mtime" => {
                            // "1700000000.123456789": keep whole seconds.
                            let s = String::from_utf8_lossy(ext.value_bytes());
                            let whole = s.split('.').next().unwrap_or("");
                            if let Ok(m) = whole.parse::<i64>() {
                                self.pending.mtime = Some(m);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// The stream has ended: decide whether it ended cleanly.
    pub fn finish(mut self) -> Result<(TarSummary, Vec<Box<dyn EntryObserver>>), TarError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let at = self.offset;
        let path = self
            .current
            .as_ref()
            .map(|c| String::from_utf8_lossy(&c.path).into_owned())
            .unwrap_or_default();
        match self.state {
            State::End => {}
            State::Header if self.filled == 0 => {
                if self.offset == 0 {
                    return Err(TarError {
                        offset: 0,
                        reason: "the decompressed stream is empty".into(),
                    });
                }
                if self.summary.entries == 0 {
                    return Err(TarError {
                        offset: at,
                        reason: "the tar archive has no entries".into(),
                    });
                }
                let how = if self.zero_blocks == 1 {
                    "ends after one zero block instead of two"
                } else {
                    "ends at an entry boundary without the end-of-archive marker"
                };
                self.summary
                    .warnings
                    .push(format!("the tar archive {how}; accepted"));
            }
            State::Header => {
                return Err(TarError {
                    offset: at,
                    reason: format!(
                        "the tar archive ends inside a header block ({} of 512 bytes)",
                        self.filled
                    ),
                });
            }
            State::Data { remaining, .. } => {
                let size = self.current.as_ref().map_or(0, |c| c.size);
                return Err(TarError {
                    offset: at,
                    reason: format!(
                        "the tar archive ends inside entry '{path}' ({} of {size} bytes present); the input is truncated",
                        size - remaining
                    ),
                });
            }
            State::Pad { .. } => {
                return Err(TarError {
                    offset: at,
                    reason: "the tar archive ends inside the padding of an entry; the input is truncated".into(),
                });
            }
            State::Meta { .. } | State::SparseExt { .. } => {
                return Err(TarError {
                    offset: at,
                    reason: "the tar archive ends inside a metadata record; the input is truncated"
                        .into(),
                });
            }
        }
        if self.summary.entries == 0 {
            return Err(TarError {
                offset: at,
                reason: "the tar archive has no entries".into(),
            });
        }
        if self.summary.trailing_nonzero {
            self.summary.warnings.push(format!(
                "{} bytes follow the end-of-archive marker and not all are zero; they are kept in the layer",
                self.summary.trailing_bytes
            ));
        }
        let observers = self.take_observers();
        Ok((self.summary, observers))
    }
}

/// Padding after `size` bytes of content to the next block boundary.
fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

fn trim_nul(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// The header checksum: the stored value must equal the byte sum with the
/// checksum field counted as spaces (unsigned, or signed as some old tars wrote).
pub(crate) fn checksum_ok(block: &[u8; BLOCK]) -> bool {
    let header = Header::from_byte_slice(block);
    let Ok(stored) = header.cksum() else {
        return false;
    };
    let mut unsigned: u32 = 0;
    let mut signed: i32 = 0;
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u32::from(b);
        signed += i32::from(b as i8);
    }
    stored == unsigned || i64::from(stored) == i64::from(signed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
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
        let mut s = TarScanner::new();
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

    struct Paths(std::sync::Arc<std::sync::Mutex<Vec<String>>>);
    impl EntryObserver for Paths {
        fn entry(&mut self, h: &EntryHeader) -> bool {
            if let Ok(mut v) = self.0.lock() {
                v.push(String::from_utf8_lossy(&h.path).into_owned());
            }
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

        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut s = TarScanner::new();
        s.observe(Box::new(Paths(seen.clone())));
        s.feed(&tar).unwrap();
        let (sum, _) = s.finish().unwrap();
        assert_eq!(sum.entries, 2);
        assert_eq!(
            *seen.lock().unwrap(),
            vec![long, "pax/path/name".to_string()]
        );
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
}
