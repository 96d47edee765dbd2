//! Framing: 512-byte blocks, content and record sizes, padding, the
//! end-of-archive marker, and so where the stream stopped. It knows nothing
//! of what a header means; [`super::TarScanner`] tells it what follows.

use tar::Header;

use super::trailer::{self, Trailer};
use super::{BLOCK, Policy, TarError};

/// Where the stream is in the block structure of an archive.
#[derive(Debug)]
pub(super) enum Frame {
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
pub(super) enum Event<'a> {
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
pub(super) enum Stop {
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
pub(super) struct Framing {
    pub(super) offset: u64,
    pub(super) state: Frame,
    pub(super) block: [u8; BLOCK],
    pub(super) filled: usize,
    zero_blocks: u8,
    pub(super) trailing_bytes: u64,
    pub(super) trailing_nonzero: bool,
    pub(super) policy: Policy,
    /// What follows the marker (consumer-safe policy).
    pub(super) trailer: trailer::TrailerScan,
    /// Normalizing: an end marker was seen (another archive may follow).
    pub(super) ended: bool,
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
    /// Framing at the start of an archive, under `policy`.
    pub(super) fn new(policy: Policy) -> Self {
        Self {
            policy,
            ..Self::default()
        }
    }

    /// The last complete block (valid after a `Header` or `SparseExt` event).
    pub(super) fn block(&self) -> &[u8; BLOCK] {
        &self.block
    }

    /// Content of `size` (> 0) bytes follows.
    pub(super) fn expect_content(&mut self, size: u64) {
        self.state = Frame::Content {
            remaining: size,
            pad: padding(size),
        };
    }

    /// A metadata record of `size` bytes follows.
    pub(super) fn expect_record(&mut self, size: u64) {
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
    pub(super) fn next<'a>(&mut self, data: &mut &'a [u8]) -> Result<Option<Event<'a>>, TarError> {
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
    pub(super) fn finish(&self) -> Result<Stop, TarError> {
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
    use crate::tarscan::tests::archive;

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
}
