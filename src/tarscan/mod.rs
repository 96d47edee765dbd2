//! Tar inspection as the bytes pass: a push-model scanner fed with the
//! decompressed stream, chunk by chunk.
//!
//! The scanner never buffers file contents. It is a sink rather than a
//! reader so that the DiffID hasher, the scanner and the layer encoder all
//! see the very same `buf[..n]` of one read. Two layers do the work, the way
//! flate2 splits `GzHeaderParser` from `GzState`:
//!
//! - framing (`Framing`) knows only 512-byte blocks: header blocks, content
//!   and metadata records of a given size, padding, the end-of-archive
//!   marker, and so where the stream stopped (at an entry boundary, after the
//!   marker, or inside something);
//! - interpretation (`Interpreter`) knows what a header means: the `tar`
//!   crate's [`tar::Header`] parsed, PAX (`x`) and GNU long-name (`L`/`K`)
//!   records applied to the entry they precede, and the refusal rules.
//!
//! [`TarScanner`] glues them: it feeds the framing, hands complete header
//! blocks and records to the interpreter, tells the framing what follows,
//! and shows entries to its [`EntryObserver`], which it holds by value and
//! gives back from [`TarScanner::finish`].

use tar::{EntryType, Header};

/// Tar block size.
const BLOCK: usize = 512;

/// 9999-12-31T23:59:59Z, the last second RFC 3339 can write.
const MAX_RFC3339_SECS: i64 = 253_402_300_799;

/// Largest PAX or GNU long-name record we accept. Real ones are a few hundred
/// bytes; anything larger is hostile or broken and is refused before any
/// allocation of its size.
pub const MAX_META_RECORD: u64 = 1 << 20;

mod hazard;
mod trailer;

pub use hazard::Fix;
pub use trailer::Trailer;

/// How the scanner treats entries that consumers unpack differently.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// Refuse them, and anything after the end marker that is another
    /// archive: what a layer must be for every consumer.
    #[default]
    ConsumerSafe,
    /// Read what `--normalize` can rewrite ([`Fix`]): sparse files, global
    /// headers, concatenated archives; drop bytes after the last archive.
    Normalize,
}

/// A region of an old GNU sparse file: `len` stored bytes at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SparseChunk {
    /// Offset in the expanded file.
    pub offset: u64,
    /// Bytes stored for it.
    pub len: u64,
}

/// The map of a GNU sparse file (old type 'S', or PAX GNU.sparse records).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SparseMap {
    /// Size of the expanded file.
    pub real_size: u64,
    /// The stored regions, in stream order.
    pub chunks: Vec<SparseChunk>,
    /// PAX sparse format 1.0: the map is at the start of the content (decimal
    /// lines, padded to a block), not in the header.
    pub map_in_content: bool,
}

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
    /// The sparse map of an old GNU sparse file.
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
pub trait EntryObserver {
    /// A new entry starts. Return true to receive its content.
    fn entry(&mut self, header: &EntryHeader) -> bool;
    /// Content bytes of the current entry, in order. Return false to stop receiving.
    fn content(&mut self, data: &[u8]) -> bool;
    /// The current entry's content is complete, or no longer wanted.
    fn end_entry(&mut self) {}
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
    /// What those bytes are.
    pub trailer: Trailer,
    /// Warnings for the user (accepted oddities).
    pub warnings: Vec<String>,
    /// Facts worth reporting that are no cause for concern.
    pub notes: Vec<String>,
}

/// The streaming tar scanner, showing entries to an observer `O` (`()` for none).
pub struct TarScanner<O = ()> {
    framing: Framing,
    headers: Interpreter,
    /// The entry whose content is passing, named if the stream stops inside it.
    current: Option<EntryHeader>,
    observer: O,
    /// Whether the observer still wants the current entry's content.
    watching: bool,
}

impl<O: EntryObserver + Default> Default for TarScanner<O> {
    fn default() -> Self {
        Self::new(O::default())
    }
}

impl<O: EntryObserver> TarScanner<O> {
    /// A consumer-safe scanner at the start of an archive, showing its
    /// entries to `observer`.
    pub fn new(observer: O) -> Self {
        Self::with_policy(observer, Policy::ConsumerSafe)
    }

    /// A scanner with the given [`Policy`].
    pub fn with_policy(observer: O, policy: Policy) -> Self {
        Self {
            framing: Framing {
                policy,
                ..Framing::default()
            },
            headers: Interpreter {
                policy,
                ..Interpreter::default()
            },
            current: None,
            observer,
            watching: false,
        }
    }

    /// Decompressed bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.framing.offset
    }

    /// The observer, while the scan goes on.
    pub fn observer_mut(&mut self) -> &mut O {
        &mut self.observer
    }

    /// Feed the next bytes of the decompressed stream. After an error the
    /// scanner stays failed: every later call returns the same error.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), TarError> {
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
                    if let Some(entry) = &self.current {
                        self.watching = self.observer.entry(entry);
                    }
                    self.start_content(size);
                }
            }
            Event::Content { bytes, last } => {
                self.offer(bytes);
                if last {
                    self.end_entry();
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
                if sparse_ext {
                    // Shown once its extension blocks have completed the map.
                    self.current = Some(*entry);
                    self.framing.state = Frame::SparseExt { size };
                } else {
                    self.watching = self.observer.entry(&entry);
                    self.current = Some(*entry);
                    self.start_content(size);
                }
            }
        }
        Ok(())
    }

    fn start_content(&mut self, size: u64) {
        if size == 0 {
            self.end_entry();
            self.framing.state = Frame::Header;
        } else {
            self.framing.expect_content(size);
        }
    }

    /// A metadata record is complete; its errors are reported where it ends.
    fn end_record(&mut self) -> Result<(), TarError> {
        self.headers.end_record().map_err(|reason| TarError {
            offset: self.framing.offset,
            reason,
        })
    }

    fn offer(&mut self, data: &[u8]) {
        if self.watching && !self.observer.content(data) {
            // It has seen enough: finish it now rather than at the entry's end.
            self.observer.end_entry();
            self.watching = false;
        }
    }

    fn end_entry(&mut self) {
        if self.watching {
            self.observer.end_entry();
            self.watching = false;
        }
        self.current = None;
    }

    /// The stream has ended: decide whether it ended cleanly, and give the
    /// observer back.
    pub fn finish(self) -> Result<(TarSummary, O), TarError> {
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

// ---------------------------------------------------------------------------
// Framing: blocks, sizes and where the stream stopped.
// ---------------------------------------------------------------------------

/// Where the stream is in the block structure of an archive.
#[derive(Debug)]
enum Frame {
    /// Collecting a header block.
    Header,
    /// Collecting a GNU old-style sparse extension block; `size` content
    /// bytes follow the last one.
    SparseExt { size: u64 },
    /// Inside an entry's content.
    Content { remaining: u64, pad: u64 },
    /// Inside a PAX or GNU long-name record's content.
    Record { remaining: u64, pad: u64 },
    /// Skipping padding after content or a record.
    Pad { remaining: u64 },
    /// After the end-of-archive marker.
    End,
    /// Normalizing: after the last archive; the rest is not tar and is dropped.
    Dropped,
    /// Refused: the scanner stays failed with this error.
    Failed(TarError),
}

/// What the framing hands on; complete blocks are read with [`Framing::block`].
#[derive(Debug, PartialEq, Eq)]
enum Event<'a> {
    /// A complete header block, not a zero block, starting at `start`.
    Header { start: u64 },
    /// A complete sparse extension block.
    SparseExt { size: u64 },
    /// Content bytes of the current entry; `last` when they complete it.
    Content { bytes: &'a [u8], last: bool },
    /// Bytes of the current metadata record; `last` when they complete it.
    Record { bytes: &'a [u8], last: bool },
}

/// Where the stream stopped, when that is not a refusal in itself.
#[derive(Debug, PartialEq, Eq)]
enum Stop {
    /// After the end-of-archive marker.
    Marker,
    /// At an entry boundary, with `zero_blocks` (0 or 1) of the marker seen.
    Boundary { zero_blocks: u8 },
    /// Inside the current entry's content, `remaining` bytes short.
    InsideContent { remaining: u64 },
}

/// The block-level state machine: consumes bytes, counts the offset, and
/// reports complete blocks and content as [`Event`]s.
#[derive(Debug)]
struct Framing {
    offset: u64,
    state: Frame,
    block: [u8; BLOCK],
    filled: usize,
    zero_blocks: u8,
    trailing_bytes: u64,
    trailing_nonzero: bool,
    policy: Policy,
    /// What follows the marker (consumer-safe policy).
    trailer: trailer::TrailerScan,
    /// Normalizing: an end marker was seen (another archive may follow).
    ended: bool,
}

impl Default for Framing {
    fn default() -> Self {
        Self {
            offset: 0,
            state: Frame::Header,
            block: [0; BLOCK],
            filled: 0,
            zero_blocks: 0,
            trailing_bytes: 0,
            trailing_nonzero: false,
            policy: Policy::ConsumerSafe,
            trailer: trailer::TrailerScan::default(),
            ended: false,
        }
    }
}

impl Framing {
    /// The last complete block (valid after a `Header` or `SparseExt` event).
    fn block(&self) -> &[u8; BLOCK] {
        &self.block
    }

    /// Content of `size` (> 0) bytes follows.
    fn expect_content(&mut self, size: u64) {
        self.state = Frame::Content {
            remaining: size,
            pad: padding(size),
        };
    }

    /// A metadata record of `size` bytes follows.
    fn expect_record(&mut self, size: u64) {
        self.state = if size == 0 {
            // An empty record is applied at once; only its (empty) padding is
            // left, which the next byte, if any, ends.
            Frame::Pad { remaining: 0 }
        } else {
            Frame::Record {
                remaining: size,
                pad: padding(size),
            }
        };
    }

    /// Consumes `data` up to the next event; `None` once it is used up.
    fn next<'a>(&mut self, data: &mut &'a [u8]) -> Result<Option<Event<'a>>, TarError> {
        while !data.is_empty() {
            match &mut self.state {
                Frame::Failed(e) => return Err(e.clone()),
                Frame::End | Frame::Dropped => {
                    if matches!(self.state, Frame::End)
                        && let Some(Trailer::Archive { offset }) =
                            self.trailer.feed(data, self.offset)
                    {
                        return Err(TarError {
                            offset,
                            reason: "another tar archive follows the end-of-archive marker (as `cat a.tar b.tar` makes); consumers stop at the first marker and would never unpack its entries; --normalize merges the archives".into(),
                        });
                    }
                    self.trailing_bytes += data.len() as u64;
                    if !self.trailing_nonzero && data.iter().any(|&b| b != 0) {
                        self.trailing_nonzero = true;
                    }
                    self.offset += data.len() as u64;
                    *data = &[];
                }
                Frame::Content { remaining, pad } | Frame::Record { remaining, pad } => {
                    let bytes = take(data, remaining);
                    let (last, pad) = (*remaining == 0, *pad);
                    self.offset += bytes.len() as u64;
                    let event = if matches!(self.state, Frame::Content { .. }) {
                        Event::Content { bytes, last }
                    } else {
                        Event::Record { bytes, last }
                    };
                    if last {
                        // Content without padding ends on a block boundary,
                        // where a stream may also end (without the marker); a
                        // record must still be followed by its entry.
                        let content = matches!(event, Event::Content { .. });
                        self.state = if pad == 0 && content {
                            Frame::Header
                        } else {
                            Frame::Pad { remaining: pad }
                        };
                    }
                    return Ok(Some(event));
                }
                Frame::Pad { remaining } => {
                    let n = take(data, remaining).len();
                    self.offset += n as u64;
                    if *remaining == 0 {
                        self.state = Frame::Header;
                    }
                }
                Frame::Header | Frame::SparseExt { .. } => {
                    let n = (BLOCK - self.filled).min(data.len());
                    self.block[self.filled..self.filled + n].copy_from_slice(&data[..n]);
                    self.filled += n;
                    *data = &data[n..];
                    self.offset += n as u64;
                    if self.filled == BLOCK {
                        self.filled = 0;
                        if let Some(event) = self.block_complete()? {
                            return Ok(Some(event));
                        }
                    }
                }
            }
        }
        Ok(None)
    }

    /// A block is complete. Zero header blocks are the end marker, which is
    /// framing's business; anything else is handed on.
    fn block_complete(&mut self) -> Result<Option<Event<'static>>, TarError> {
        if let Frame::SparseExt { size } = self.state {
            return Ok(Some(Event::SparseExt { size }));
        }
        let start = self.offset - BLOCK as u64;
        if self.block.iter().all(|&b| b == 0) {
            self.zero_blocks = self.zero_blocks.saturating_add(1);
            if self.zero_blocks == 2 {
                match self.policy {
                    Policy::ConsumerSafe => self.state = Frame::End,
                    // Another archive may follow: keep reading headers.
                    Policy::Normalize => self.ended = true,
                }
            }
            return Ok(None);
        }
        if self.policy == Policy::Normalize {
            if (self.ended || self.zero_blocks > 0) && !checksum_ok(&self.block) {
                // Not another archive: whatever follows the last one is dropped.
                self.state = Frame::Dropped;
                self.trailing_bytes += BLOCK as u64;
                self.trailing_nonzero = true;
                return Ok(None);
            }
            // Archives are merged: lone or paired zero blocks between them vanish.
            self.zero_blocks = 0;
            self.ended = false;
            return Ok(Some(Event::Header { start }));
        }
        if self.zero_blocks == 1 {
            return Err(TarError {
                offset: start,
                reason: "a zero block is followed by more headers; readers disagree on where such an archive ends, so it is refused".into(),
            });
        }
        Ok(Some(Event::Header { start }))
    }

    /// Where the stream stopped; an error if that is no place to stop.
    fn finish(&self) -> Result<Stop, TarError> {
        let refuse = |reason: String| {
            Err(TarError {
                offset: self.offset,
                reason,
            })
        };
        match &self.state {
            Frame::Failed(e) => Err(e.clone()),
            Frame::End | Frame::Dropped => Ok(Stop::Marker),
            Frame::Header if self.filled == 0 => {
                if self.offset == 0 {
                    return refuse("the decompressed stream is empty".into());
                }
                if self.ended {
                    return Ok(Stop::Marker);
                }
                Ok(Stop::Boundary {
                    zero_blocks: self.zero_blocks.min(1),
                })
            }
            Frame::Header if self.ended => Ok(Stop::Marker),
            Frame::Header => refuse(format!(
                "the tar archive ends inside a header block ({} of 512 bytes)",
                self.filled
            )),
            Frame::Content { remaining, .. } => Ok(Stop::InsideContent {
                remaining: *remaining,
            }),
            Frame::Pad { .. } => refuse(
                "the tar archive ends inside the padding of an entry; the input is truncated"
                    .into(),
            ),
            Frame::Record { .. } | Frame::SparseExt { .. } => refuse(
                "the tar archive ends inside a metadata record; the input is truncated".into(),
            ),
        }
    }
}

/// Splits off up to `*remaining` bytes from the front of `data`, counting them down.
fn take<'a>(data: &mut &'a [u8], remaining: &mut u64) -> &'a [u8] {
    let n = usize::try_from(*remaining)
        .unwrap_or(usize::MAX)
        .min(data.len());
    *remaining -= n as u64;
    let (head, rest) = data.split_at(n);
    *data = rest;
    head
}

/// Padding after `size` bytes of content to the next block boundary.
fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

// ---------------------------------------------------------------------------
// Interpretation: what a header means.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MetaKind {
    Pax,
    GlobalPax,
    LongName,
    LongLink,
}

impl MetaKind {
    /// The metadata record kind of a type byte, if it is one under `policy`.
    fn of(t: u8, policy: Policy) -> Option<Self> {
        match t {
            b'x' => Some(MetaKind::Pax),
            b'L' => Some(MetaKind::LongName),
            b'K' => Some(MetaKind::LongLink),
            b'g' if policy == Policy::Normalize => Some(MetaKind::GlobalPax),
            b'X' if policy == Policy::Normalize => Some(MetaKind::Pax),
            _ => None,
        }
    }
}

/// Overrides that the preceding metadata records set for the next entry.
#[derive(Debug, Default)]
struct Pending {
    path: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    size: Option<u64>,
    mtime: Option<i64>,
    uid: Option<u64>,
    gid: Option<u64>,
    uname: Option<Vec<u8>>,
    gname: Option<Vec<u8>>,
    /// Records not resolved into a field.
    other: Vec<(Vec<u8>, Vec<u8>)>,
    /// A `GNU.sparse.*` record was seen.
    gnu_sparse: bool,
    /// What the `GNU.sparse.*` records said.
    pax_sparse: PaxSparse,
}

/// PAX GNU sparse records (formats 0.0, 0.1 and 1.0).
#[derive(Debug, Default, Clone)]
struct PaxSparse {
    major: Option<u64>,
    minor: Option<u64>,
    name: Option<Vec<u8>>,
    real_size: Option<u64>,
    /// 0.1's `GNU.sparse.map`, or 0.0's offset/numbytes records, flattened.
    map: Vec<u64>,
}

impl PaxSparse {
    /// Record one `GNU.sparse.*` key.
    fn apply(&mut self, key: &[u8], value: &[u8]) {
        let number = || std::str::from_utf8(value).ok()?.parse::<u64>().ok();
        match key {
            b"GNU.sparse.major" => self.major = number(),
            b"GNU.sparse.minor" => self.minor = number(),
            b"GNU.sparse.name" => self.name = Some(value.to_vec()),
            b"GNU.sparse.realsize" | b"GNU.sparse.size" => self.real_size = number(),
            b"GNU.sparse.offset" | b"GNU.sparse.numbytes" => self.map.extend(number()),
            b"GNU.sparse.map" => self.map.extend(
                String::from_utf8_lossy(value)
                    .split(',')
                    .filter_map(|n| n.trim().parse::<u64>().ok()),
            ),
            _ => {}
        }
    }

    /// The map these records describe.
    fn map(&self) -> Result<SparseMap, String> {
        let real_size = self
            .real_size
            .ok_or("a PAX GNU sparse file without GNU.sparse.realsize")?;
        let map_in_content = (self.major, self.minor) == (Some(1), Some(0));
        if !map_in_content && !self.map.len().is_multiple_of(2) {
            return Err("a PAX GNU sparse map with an odd number of values".into());
        }
        let chunks = self
            .map
            .chunks_exact(2)
            .map(|c| SparseChunk {
                offset: c[0],
                len: c[1],
            })
            .collect();
        Ok(SparseMap {
            real_size,
            chunks,
            map_in_content,
        })
    }
}

/// What a header block means.
#[derive(Debug)]
enum Meaning {
    /// A metadata record of `size` bytes follows.
    Record { size: u64 },
    /// An archive member; `sparse_ext` when GNU sparse extension blocks
    /// come before its content.
    Entry {
        entry: Box<EntryHeader>,
        sparse_ext: bool,
    },
}

/// Interprets header blocks and metadata records; its errors are reasons,
/// to which the scanner adds the offset.
#[derive(Debug, Default)]
struct Interpreter {
    policy: Policy,
    pending: Pending,
    /// Records of PAX global headers seen so far (normalizing), applied to
    /// every later entry below its own records.
    global: Pending,
    /// The metadata record being collected, and its kind.
    record: Vec<u8>,
    record_kind: Option<MetaKind>,
    entries: u64,
    newest_mtime: Option<i64>,
}

impl Interpreter {
    /// What the header block at `start` means.
    fn header(&mut self, block: &[u8; BLOCK], start: u64) -> Result<Meaning, String> {
        let header = Header::from_byte_slice(block);
        if !checksum_ok(block) {
            return Err(if start == 0 {
                "the decompressed stream is not a tar archive (the first block is not a valid tar header)".to_string()
            } else {
                "corrupt tar header (bad checksum)".to_string()
            });
        }
        let t = header.entry_type().as_byte();
        let stored = match header.entry_size() {
            Ok(size) => size,
            // GNU tar leaves a volume label's size field blank.
            Err(_) if t == b'V' && block[124..136].iter().all(|&b| b == 0 || b == b' ') => 0,
            Err(e) => return Err(format!("corrupt tar header: {e}")),
        };
        if let Some(kind) = MetaKind::of(t, self.policy) {
            if stored > MAX_META_RECORD {
                return Err(format!(
                    "tar metadata record of {stored} bytes exceeds the limit of {MAX_META_RECORD} bytes"
                ));
            }
            self.record.clear();
            self.record_kind = Some(kind);
            return Ok(Meaning::Record { size: stored });
        }
        let entry = self.entry(header, stored)?;
        self.count(&entry);
        let sparse_ext = entry.sparse.is_some() && header.as_gnu().is_some_and(|g| g.is_extended());
        Ok(Meaning::Entry {
            entry: Box::new(entry),
            sparse_ext,
        })
    }

    /// The member a header describes, with the pending overrides applied.
    fn entry(&mut self, header: &Header, stored: u64) -> Result<EntryHeader, String> {
        let own = std::mem::take(&mut self.pending);
        let mut path = own
            .path
            .clone()
            .unwrap_or_else(|| header.path_bytes().into_owned());
        // The raw type byte: tar-rs reads the old-style '\0' as '0', but
        // with a name ending in '/' Go, GNU tar, bsdtar and Python all read
        // a directory.
        let raw_type = header.as_old().linkflag[0];
        let kind = if raw_type == 0 && path.ends_with(b"/") {
            EntryType::Directory
        } else {
            header.entry_type()
        };
        let pax_sparse = own.gnu_sparse || self.global.gnu_sparse;
        if pax_sparse && let Some(name) = &own.pax_sparse.name {
            // The real name, not the GNUSparseFile.NNN placeholder.
            path.clone_from(name);
        }
        let fix = self.judge(raw_type, &path, pax_sparse)?;
        let mut sparse = sparse_map(header)?;
        if pax_sparse {
            // Normalizing (judge refused it otherwise): the real map.
            sparse = Some(own.pax_sparse.map()?);
        }
        let size = own.size.unwrap_or(stored);
        header_only_claims_no_data(kind, &path, size)?;
        let g = &self.global;
        let mtime = own
            .mtime
            .or(g.mtime)
            .unwrap_or_else(|| header_mtime(header));
        // The entry's own records win over global ones with the same key.
        let mut pax: Vec<(Vec<u8>, Vec<u8>)> = g
            .other
            .iter()
            .filter(|(k, _)| !own.other.iter().any(|(o, _)| o == k))
            .cloned()
            .collect();
        pax.extend(own.other);
        Ok(EntryHeader {
            link: own
                .link
                .or_else(|| header.link_name_bytes().map(|l| l.into_owned())),
            kind,
            size,
            mode: header.mode().unwrap_or(0),
            mtime,
            uid: own
                .uid
                .or(g.uid)
                .unwrap_or_else(|| header.uid().unwrap_or(0)),
            gid: own
                .gid
                .or(g.gid)
                .unwrap_or_else(|| header.gid().unwrap_or(0)),
            uname: own.uname.or_else(|| g.uname.clone()).unwrap_or_else(|| {
                header
                    .username_bytes()
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default()
            }),
            gname: own.gname.or_else(|| g.gname.clone()).unwrap_or_else(|| {
                header
                    .groupname_bytes()
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default()
            }),
            device: device_numbers(header),
            pax,
            sparse,
            fix,
            path,
        })
    }

    /// Whether the entry is one consumers disagree on: refused, or (when
    /// normalizing) what the rewrite does with it.
    fn judge(&self, t: u8, path: &[u8], gnu_sparse: bool) -> Result<Option<Fix>, String> {
        let hazard = if gnu_sparse {
            Some(hazard::pax_sparse())
        } else {
            hazard::of_type(t, path)
        };
        match hazard {
            None => Ok(None),
            Some(h) if self.policy == Policy::Normalize && h.fix != Fix::Impossible => {
                Ok(Some(h.fix))
            }
            Some(h) => Err(h.refusal(path)),
        }
    }

    /// Counts a member for the summary.
    fn count(&mut self, entry: &EntryHeader) {
        self.entries += 1;
        // A single absurd mtime (base-256 or PAX) must not push `created`
        // beyond what RFC 3339 can express; such entries do not vote.
        if (0..=MAX_RFC3339_SECS).contains(&entry.mtime) {
            let m = entry.mtime;
            self.newest_mtime = Some(self.newest_mtime.map_or(m, |n| n.max(m)));
        }
    }

    /// More bytes of the current metadata record.
    fn record_bytes(&mut self, bytes: &[u8]) {
        self.record.extend_from_slice(bytes);
    }

    /// The current metadata record is complete: keep its overrides for the next entry.
    fn end_record(&mut self) -> Result<(), String> {
        let record = std::mem::take(&mut self.record);
        match self.record_kind.take() {
            Some(MetaKind::LongName) => self.pending.path = Some(trim_nul(&record).to_vec()),
            Some(MetaKind::LongLink) => self.pending.link = Some(trim_nul(&record).to_vec()),
            Some(MetaKind::Pax) => apply_pax(&mut self.pending, &record)?,
            Some(MetaKind::GlobalPax) => {
                apply_pax(&mut self.global, &record)?;
                // A global header's path or size would name no one entry.
                self.global.path = None;
                self.global.link = None;
                self.global.size = None;
            }
            None => {}
        }
        Ok(())
    }
}

/// A link, directory, device or FIFO header must claim no data.
fn header_only_claims_no_data(kind: EntryType, path: &[u8], size: u64) -> Result<(), String> {
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
        let name = String::from_utf8_lossy(path);
        return Err(format!(
            "entry '{name}' is a {kind:?} header that claims {size} bytes of data; consumers disagree on whether to skip them, so the archive is refused"
        ));
    }
    Ok(())
}

/// Most bytes of PAX records kept for one entry (its own and global ones),
/// and most sparse regions of one file: bounds on memory, far above what
/// real archives hold.
const MAX_KEPT_RECORDS: usize = 4 << 20;
const MAX_SPARSE_REGIONS: usize = 1 << 20;

/// A header's mtime, negative ones (GNU base-256) included: the `tar` crate
/// reads the field as unsigned.
fn header_mtime(header: &Header) -> i64 {
    let field = &header.as_bytes()[136..148];
    if field[0] & 0x80 != 0 {
        // Base-256, two's complement, big endian; the top byte's flag bit is
        // the sign's extension.
        let negative = field[0] & 0x40 != 0;
        let mut v: i64 = if negative { -1 } else { 0 };
        for (i, &b) in field.iter().enumerate() {
            let b = if i == 0 {
                b & 0x7f | if negative { 0x80 } else { 0 }
            } else {
                b
            };
            v = v.wrapping_shl(8) | i64::from(b);
        }
        return v;
    }
    header
        .mtime()
        .map(|m| i64::try_from(m).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Apply one PAX record block to `p`: the fields it resolves, and the rest kept.
fn apply_pax(p: &mut Pending, record: &[u8]) -> Result<(), String> {
    let kept: usize = p.other.iter().map(|(k, v)| k.len() + v.len()).sum();
    if kept + record.len() > MAX_KEPT_RECORDS {
        return Err(format!(
            "PAX records for one entry exceed {} MiB",
            MAX_KEPT_RECORDS >> 20
        ));
    }
    if p.pax_sparse.map.len() > 2 * MAX_SPARSE_REGIONS {
        return Err("a PAX sparse map with more than a million regions".into());
    }
    for ext in tar::PaxExtensions::new(record) {
        let ext = ext.map_err(|e| format!("malformed PAX header: {e}"))?;
        let value = ext.value_bytes();
        let key = ext.key_bytes();
        let number = || {
            std::str::from_utf8(value)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
        };
        match key {
            b"path" => p.path = Some(value.to_vec()),
            b"linkpath" => p.link = Some(value.to_vec()),
            b"size" => p.size = Some(number().ok_or("malformed PAX size record")?),
            b"uid" => p.uid = number(),
            b"gid" => p.gid = number(),
            b"uname" => p.uname = Some(value.to_vec()),
            b"gname" => p.gname = Some(value.to_vec()),
            b"mtime" => {
                // "1700000000.123456789": keep whole seconds.
                let s = String::from_utf8_lossy(value);
                if let Ok(m) = s.split('.').next().unwrap_or("").parse::<i64>() {
                    p.mtime = Some(m);
                }
            }
            // Access and change times, comments and charsets change nothing
            // that is unpacked.
            b"atime" | b"ctime" | b"comment" | b"charset" | b"hdrcharset" => {}
            k if k.starts_with(b"GNU.sparse.") => {
                p.gnu_sparse = true;
                p.pax_sparse.apply(k, value);
            }
            _ => {
                p.other.retain(|(k, _)| k.as_slice() != key);
                p.other.push((key.to_vec(), value.to_vec()));
            }
        }
    }
    Ok(())
}

/// Device numbers of a character or block device header.
fn device_numbers(header: &Header) -> Option<(u32, u32)> {
    if !matches!(header.entry_type(), EntryType::Char | EntryType::Block) {
        return None;
    }
    let major = header.device_major().ok().flatten().unwrap_or(0);
    let minor = header.device_minor().ok().flatten().unwrap_or(0);
    Some((major, minor))
}

/// The sparse map in an old GNU sparse header (more chunks may follow in
/// extension blocks).
fn sparse_map(header: &Header) -> Result<Option<SparseMap>, String> {
    if header.entry_type() != EntryType::GNUSparse {
        return Ok(None);
    }
    let Some(gnu) = header.as_gnu() else {
        return Err("an old GNU sparse header that is not in GNU format".into());
    };
    let real_size = gnu
        .real_size()
        .map_err(|e| format!("corrupt GNU sparse header: {e}"))?;
    let mut map = SparseMap {
        real_size,
        chunks: Vec::new(),
        map_in_content: false,
    };
    for chunk in gnu.sparse.iter() {
        let (Some(offset), Some(len)) =
            (sparse_number(&chunk.offset), sparse_number(&chunk.numbytes))
        else {
            return Err("corrupt GNU sparse map".into());
        };
        if offset == 0 && len == 0 {
            break;
        }
        map.chunks.push(SparseChunk { offset, len });
    }
    Ok(Some(map))
}

/// The chunks of a GNU sparse extension block (21 entries of two 12-byte numbers).
fn sparse_ext_chunks(block: &[u8; BLOCK], into: &mut SparseMap) -> Result<(), String> {
    for e in block[..504].chunks_exact(24) {
        let (Some(offset), Some(len)) = (sparse_number(&e[..12]), sparse_number(&e[12..])) else {
            return Err("corrupt GNU sparse extension block".into());
        };
        if offset == 0 && len == 0 {
            break;
        }
        if into.chunks.len() >= MAX_SPARSE_REGIONS {
            return Err("a GNU sparse map with more than a million regions".into());
        }
        into.chunks.push(SparseChunk { offset, len });
    }
    Ok(())
}

/// A NUL/space-terminated octal field (empty: 0).
/// A sparse-map number: octal, or base-256 (GNU tar writes offsets and
/// lengths of 8 GiB and more that way); `None` if neither, or negative.
fn sparse_number(field: &[u8]) -> Option<u64> {
    if let [first, rest @ ..] = field
        && first & 0x80 != 0
    {
        if first & 0x40 != 0 {
            return None;
        }
        return rest.iter().try_fold(u64::from(first & 0x3f), |v, &b| {
            v.checked_mul(256).map(|v| v | u64::from(b))
        });
    }
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|&b| b != 0 && b != b' ')
        .collect();
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(std::str::from_utf8(&digits).ok()?, 8).ok()
}

/// Byte 504 of a GNU sparse extension block says whether another follows.
fn sparse_continues(block: &[u8; BLOCK]) -> bool {
    block[504] != 0
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

    /// Drives the framing alone, answering each header as a plain file of
    /// the size in its `size` field would (no interpretation).
    fn frame_events(data: &[u8], chunk: usize) -> (Vec<String>, Result<Stop, TarError>) {
        let mut f = Framing::default();
        let mut log = Vec::new();
        for mut c in data.chunks(chunk) {
            while let Some(event) = f.next(&mut c).unwrap() {
                match event {
                    Event::Header { start } => {
                        let size = Header::from_byte_slice(f.block()).size().unwrap();
                        log.push(format!("header@{start}"));
                        if size > 0 {
                            f.expect_content(size);
                        }
                    }
                    Event::Content { bytes, last } => {
                        // Merge chunk-dependent runs so the log is comparable.
                        match log.last_mut() {
                            Some(l) if l.starts_with("content ") && !l.ends_with("end") => {
                                let n: usize = l[8..].parse().unwrap();
                                *l = format!("content {}", n + bytes.len());
                            }
                            _ => log.push(format!("content {}", bytes.len())),
                        }
                        if last {
                            let l = log.last_mut().unwrap();
                            *l = format!("{l} end");
                        }
                    }
                    other => log.push(format!("{other:?}")),
                }
            }
        }
        (log, f.finish())
    }

    #[test]
    fn framing_events_and_stops_do_not_depend_on_chunking() {
        let tar = archive(&[("a", b"hello"), ("b", &[7u8; 1024]), ("c", b"")]);
        let want = vec![
            "header@0",
            "content 5 end",
            "header@1024",
            "content 1024 end",
            "header@2560",
        ];
        for chunk in [1, 100, 512, 4096] {
            let (log, stop) = frame_events(&tar, chunk);
            assert_eq!(log, want, "chunk {chunk}");
            assert_eq!(stop, Ok(Stop::Marker));
        }
        // Cut inside b's content, at its last header, after one zero block.
        let (_, stop) = frame_events(&tar[..1536 + 100], 64);
        assert_eq!(stop, Ok(Stop::InsideContent { remaining: 924 }));
        let (_, stop) = frame_events(&tar[..3072], 64);
        assert_eq!(stop, Ok(Stop::Boundary { zero_blocks: 0 }));
        let (_, stop) = frame_events(&tar[..3584], 64);
        assert_eq!(stop, Ok(Stop::Boundary { zero_blocks: 1 }));
        let (_, stop) = frame_events(&tar[..1030], 64);
        assert_eq!(stop.unwrap_err().offset, 1030);
    }

    #[test]
    fn framing_refuses_headers_after_one_zero_block() {
        let one = archive(&[("a", b"hello")]);
        let mut tar = one[..1024].to_vec();
        tar.extend_from_slice(&[0u8; 512]);
        tar.extend_from_slice(&one);
        let mut f = Framing::default();
        let mut data = &tar[..];
        assert_eq!(f.next(&mut data), Ok(Some(Event::Header { start: 0 })));
        f.expect_content(5);
        assert!(matches!(
            f.next(&mut data),
            Ok(Some(Event::Content { last: true, .. }))
        ));
        let e = f.next(&mut data).unwrap_err();
        assert_eq!(e.offset, 1536);
        assert!(e.reason.contains("zero block is followed"), "{}", e.reason);
    }

    #[test]
    fn interpreter_applies_records_to_the_next_entry_only() {
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions([
            ("path", b"long/pax/name".as_slice()),
            ("size", b"3".as_slice()),
            ("mtime", b"1700000000.75".as_slice()),
        ])
        .unwrap();
        let tar = b.into_inner().unwrap();
        let block = |at: usize| -> [u8; BLOCK] { tar[at..at + BLOCK].try_into().unwrap() };
        let mut i = Interpreter::default();
        let Ok(Meaning::Record { size }) = i.header(&block(0), 0) else {
            panic!("a PAX header is a record");
        };
        let record = &tar[BLOCK..BLOCK + usize::try_from(size).unwrap()];
        // Split as the framing may deliver it.
        i.record_bytes(&record[..10]);
        i.record_bytes(&record[10..]);
        i.end_record().unwrap();

        let mut h = Header::new_ustar();
        h.set_path("short").unwrap();
        h.set_size(0);
        h.set_mtime(5);
        h.set_cksum();
        let Ok(Meaning::Entry { entry, sparse_ext }) = i.header(h.as_bytes(), 4096) else {
            panic!("a file header is an entry");
        };
        assert!(!sparse_ext);
        assert_eq!(entry.path, b"long/pax/name");
        assert_eq!((entry.size, entry.mtime), (3, 1_700_000_000));
        // GNU base-256 for a time before 1970.
        let mut old = Header::new_gnu();
        old.set_path("old").unwrap();
        old.set_size(0);
        old.as_mut_bytes()[136..148].copy_from_slice(&{
            let mut f = [0xffu8; 12];
            f[4..].copy_from_slice(&(-315_619_200i64).to_be_bytes());
            f
        });
        old.set_cksum();
        assert_eq!(header_mtime(&old), -315_619_200);
        // The overrides were used up.
        let Ok(Meaning::Entry { entry, .. }) = i.header(h.as_bytes(), 8192) else {
            panic!("a file header is an entry");
        };
        assert_eq!(
            (&entry.path[..], entry.size, entry.mtime),
            (&b"short"[..], 0, 5)
        );
        assert_eq!((i.entries, i.newest_mtime), (2, Some(1_700_000_000)));
    }

    #[test]
    fn interpreter_refusals_are_reasons_without_offsets() {
        let mut i = Interpreter::default();
        let mut h = Header::new_ustar();
        h.set_path("f").unwrap();
        h.set_size(1);
        h.set_cksum();
        let mut bad: [u8; BLOCK] = *h.as_bytes();
        bad[0] ^= 1;
        assert!(i.header(&bad, 0).unwrap_err().contains("not a tar archive"));
        assert_eq!(
            i.header(&bad, 512).unwrap_err(),
            "corrupt tar header (bad checksum)"
        );
        i.record_kind = Some(MetaKind::Pax);
        i.record_bytes(b"9 size=x\n");
        assert_eq!(i.end_record().unwrap_err(), "malformed PAX size record");
        assert_eq!(i.entries, 0);
    }

    /// A header named `path` whose raw type byte is `t`.
    fn typed(t: u8, path: &str) -> [u8; BLOCK] {
        let mut h = Header::new_ustar();
        h.set_path(path).unwrap();
        h.set_size(0);
        h.set_mode(0o755);
        h.as_old_mut().linkflag = [t];
        h.set_cksum();
        *h.as_bytes()
    }

    #[test]
    fn a_name_ending_in_a_slash_is_a_directory_only_for_old_style_entries() {
        let mut i = Interpreter::default();
        match i.header(&typed(0, "etc/dir/"), 0).unwrap() {
            Meaning::Entry { entry, .. } => assert_eq!(entry.kind, EntryType::Directory),
            other => panic!("{other:?}"),
        }
        let e = i.header(&typed(b'0', "etc/dir/"), 512).unwrap_err();
        assert!(
            e.starts_with("entry 'etc/dir/' is a regular file named like a directory"),
            "{e}"
        );
        match i.header(&typed(0, "etc/file"), 1024).unwrap() {
            Meaning::Entry { entry, .. } => assert_eq!(entry.kind, EntryType::Regular),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sparse_numbers_are_octal_or_base_256() {
        assert_eq!(sparse_number(b"00000001000\0"), Some(0o1000));
        assert_eq!(sparse_number(b"\0\0\0\0"), Some(0));
        // 9 GiB, as GNU tar writes offsets of 8 GiB and more.
        let mut field = [0u8; 12];
        field[0] = 0x80;
        field[4..].copy_from_slice(&(9u64 << 30).to_be_bytes());
        assert_eq!(sparse_number(&field), Some(9 << 30));
        field[0] = 0xff;
        assert_eq!(sparse_number(&field), None, "negative");
        assert_eq!(sparse_number(b"12x"), None);
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
}
