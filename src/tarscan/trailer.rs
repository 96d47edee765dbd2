//! What follows a tar archive's end-of-archive marker.
//!
//! Consumers hash everything up to the end of the decompressed stream into
//! the DiffID but unpack nothing after the marker. Zeros (record padding)
//! are harmless; pixz, which makes every Gentoo stage3, appends its file
//! index there; another archive (`cat a.tar b.tar`) would never be unpacked.

/// pixz's file index magic (`PIXZ_INDEX_MAGIC` 0xDBAE14D62E324CA6, little endian).
const PIXZ_MAGIC: [u8; 8] = [0xa6, 0x4c, 0x32, 0x2e, 0xd6, 0x14, 0xae, 0xdb];
const BLOCK: usize = 512;
/// Longest name a pixz index entry may hold before it is taken for something else.
const MAX_PIXZ_NAME: u64 = 1 << 16;

/// What follows the end-of-archive marker.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub enum Trailer {
    /// Nothing.
    #[default]
    Nothing,
    /// Only zero bytes.
    Zeros,
    /// Zeros, then a complete pixz file index of `bytes` bytes.
    PixzIndex {
        /// Length of the index.
        bytes: u64,
    },
    /// Another tar header, at `offset` of the decompressed stream.
    Archive {
        /// Where its header starts.
        offset: u64,
    },
    /// Anything else.
    Other,
}

/// The pixz index parser: (name, NUL, u64 offset)*, ending with an empty
/// name whose offset is where the index starts.
#[derive(Debug, Clone)]
struct Pixz {
    start: u64,
    /// Bytes of the current name (`None`: reading the 8 offset bytes).
    name_len: Option<u64>,
    offset: [u8; 8],
    filled: usize,
    last_was_empty: bool,
    /// The terminating entry was read; nothing may follow.
    done: bool,
    bytes: u64,
}

impl Pixz {
    fn feed(&mut self, data: &[u8]) -> bool {
        for &b in data {
            self.bytes += 1;
            if self.done {
                return false;
            }
            match self.name_len {
                Some(n) if b == 0 => {
                    self.last_was_empty = n == 0;
                    self.name_len = None;
                    self.filled = 0;
                }
                Some(n) if n >= MAX_PIXZ_NAME => return false,
                Some(n) => self.name_len = Some(n + 1),
                None => {
                    self.offset[self.filled] = b;
                    self.filled += 1;
                    if self.filled == 8 {
                        let at = u64::from_le_bytes(self.offset);
                        if self.last_was_empty {
                            if at != self.start {
                                return false;
                            }
                            self.done = true;
                        }
                        self.name_len = Some(0);
                    }
                }
            }
        }
        true
    }
}

/// Classifies the bytes after the marker as they stream by, in constant memory.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrailerScan {
    seen: bool,
    /// The first non-zero block, being collected: its start and bytes.
    block: Option<(u64, Vec<u8>)>,
    pixz: Option<Pixz>,
    verdict: Option<Trailer>,
}

impl TrailerScan {
    /// Bytes at stream offset `at`; returns the verdict once it is known to
    /// be another archive (the caller may refuse or resume at once).
    pub(crate) fn feed(&mut self, mut data: &[u8], mut at: u64) -> Option<Trailer> {
        self.seen |= !data.is_empty();
        while !data.is_empty() {
            if let Some(p) = self.pixz.as_mut() {
                if !p.feed(data) {
                    self.pixz = None;
                    self.verdict = Some(Trailer::Other);
                }
                return None;
            }
            if self.verdict.is_some() {
                return None;
            }
            match self.block.as_mut() {
                None => {
                    let i = data.iter().position(|&b| b != 0)?;
                    let first = at + i as u64;
                    let start = first - first % BLOCK as u64;
                    let zeros = (first - start) as usize;
                    self.block = Some((start, vec![0; zeros]));
                    data = &data[i..];
                    at = first;
                }
                Some((start, block)) => {
                    let n = (BLOCK - block.len()).min(data.len());
                    block.extend_from_slice(&data[..n]);
                    data = &data[n..];
                    at += n as u64;
                    if block.len() == BLOCK {
                        let (start, block) = (*start, std::mem::take(block));
                        if let Some(v) = self.judge_block(start, &block) {
                            return Some(v);
                        }
                    }
                }
            }
        }
        None
    }

    /// The first non-zero block is complete.
    fn judge_block(&mut self, start: u64, block: &[u8]) -> Option<Trailer> {
        if let Ok(b) = <&[u8; BLOCK]>::try_from(block)
            && super::checksum_ok(b)
        {
            let v = Trailer::Archive { offset: start };
            self.verdict = Some(v.clone());
            return Some(v);
        }
        if block.starts_with(&PIXZ_MAGIC) {
            let mut p = Pixz {
                start,
                name_len: Some(0),
                offset: [0; 8],
                filled: 0,
                last_was_empty: false,
                done: false,
                bytes: PIXZ_MAGIC.len() as u64,
            };
            if p.feed(&block[PIXZ_MAGIC.len()..]) {
                self.pixz = Some(p);
                return None;
            }
        }
        self.verdict = Some(Trailer::Other);
        None
    }

    /// The stream has ended.
    pub(crate) fn finish(mut self) -> Trailer {
        // A short trailer never filled its first block: judge what there is.
        if self.verdict.is_none()
            && self.pixz.is_none()
            && let Some((start, block)) = self.block.take()
            && self.judge_block(start, &block).is_none()
            && self.pixz.is_none()
        {
            self.verdict = Some(Trailer::Other);
        }
        if let Some(v) = self.verdict {
            return v;
        }
        match (self.pixz, self.block) {
            (Some(p), _) if p.done => Trailer::PixzIndex { bytes: p.bytes },
            (Some(_), _) | (None, Some(_)) => Trailer::Other,
            (None, None) if self.seen => Trailer::Zeros,
            (None, None) => Trailer::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(data: &[u8], start: u64, chunk: usize) -> Trailer {
        let mut t = TrailerScan::default();
        let mut at = start;
        for c in data.chunks(chunk.max(1)) {
            if let Some(v) = t.feed(c, at) {
                return v;
            }
            at += c.len() as u64;
        }
        t.finish()
    }

    /// A pixz index for an input of `total` bytes (the index's own offset).
    fn pixz_index(total: u64) -> Vec<u8> {
        let mut v = PIXZ_MAGIC.to_vec();
        for (name, off) in [("./", 0u64), ("./etc/os-release", 512)] {
            v.extend(name.as_bytes());
            v.push(0);
            v.extend(off.to_le_bytes());
        }
        v.push(0);
        v.extend(total.to_le_bytes());
        v
    }

    #[test]
    fn zeros_pixz_archive_other_any_chunking() {
        let start = 10_240;
        for chunk in [1, 7, 512, 4096] {
            assert_eq!(classify(&[0; 9000], start, chunk), Trailer::Zeros);
            assert_eq!(classify(&[], start, chunk), Trailer::Nothing);
            let mut pixz = vec![0u8; 1024];
            let idx = pixz_index(start + 1024);
            pixz.extend(&idx);
            assert_eq!(
                classify(&pixz, start, chunk),
                Trailer::PixzIndex {
                    bytes: idx.len() as u64
                },
                "chunk {chunk}"
            );
            // Wrong terminating offset, or bytes after the index: something else.
            let mut bad = vec![0u8; 1024];
            bad.extend(pixz_index(start));
            assert_eq!(classify(&bad, start, chunk), Trailer::Other);
            let mut more = pixz.clone();
            more.push(1);
            assert_eq!(classify(&more, start, chunk), Trailer::Other);
            assert_eq!(classify(b"garbage", start, chunk), Trailer::Other);
        }
    }

    #[test]
    fn another_archive_is_found_at_its_header() {
        let mut h = tar::Header::new_ustar();
        h.set_path("b/file").unwrap();
        h.set_size(0);
        h.set_cksum();
        let mut data = vec![0u8; 1024];
        data.extend(h.as_bytes());
        for chunk in [1, 100, 2048] {
            assert_eq!(
                classify(&data, 512, chunk),
                Trailer::Archive { offset: 512 + 1024 }
            );
        }
    }
}
