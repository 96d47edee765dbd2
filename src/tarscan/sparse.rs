//! Sparse maps: the regions of a GNU sparse file, from an old GNU sparse
//! header and its extension blocks, or from PAX `GNU.sparse.*` records.

use tar::{EntryType, Header};

use super::BLOCK;

/// Most sparse regions of one file: a bound on memory, far above what real
/// archives hold.
pub(super) const MAX_SPARSE_REGIONS: usize = 1 << 20;

/// A region of an old GNU sparse file: `len` stored bytes at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct SparseChunk {
    /// Offset in the expanded file.
    pub offset: u64,
    /// Bytes stored for it.
    pub len: u64,
}

/// The map of a GNU sparse file (old type 'S', or PAX GNU.sparse records).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct SparseMap {
    /// Size of the expanded file.
    pub real_size: u64,
    /// The stored regions, in stream order.
    pub chunks: Vec<SparseChunk>,
    /// PAX sparse format 1.0: the map is at the start of the content (decimal
    /// lines, padded to a block), not in the header.
    pub map_in_content: bool,
}

/// PAX GNU sparse records (formats 0.0, 0.1 and 1.0).
#[derive(Debug, Default, Clone)]
pub(super) struct PaxSparse {
    /// The version records as written: Go compares them as strings.
    major: Option<Vec<u8>>,
    minor: Option<Vec<u8>>,
    pub(super) name: Option<Vec<u8>>,
    /// `GNU.sparse.size` (0.x) and `GNU.sparse.realsize` (1.0): Go takes
    /// the first if both are present. `Err` if not a decimal.
    size: Option<Result<u64, ()>>,
    real_size: Option<Result<u64, ()>>,
    /// `GNU.sparse.numblocks` (formats 0.0 and 0.1).
    blocks: Option<u64>,
    /// 0.1's `GNU.sparse.map`, or 0.0's offset/numbytes records, flattened.
    pub(super) map: Vec<u64>,
}

impl PaxSparse {
    /// Record one `GNU.sparse.*` key.
    pub(super) fn apply(&mut self, key: &[u8], value: &[u8]) {
        let number = || std::str::from_utf8(value).ok()?.parse::<u64>().ok();
        // Go reads an empty record as an absent one.
        let text = || (!value.is_empty()).then(|| value.to_vec());
        match key {
            b"GNU.sparse.major" => self.major = text(),
            b"GNU.sparse.minor" => self.minor = text(),
            b"GNU.sparse.name" => self.name = text(),
            b"GNU.sparse.size" => self.size = text().map(|_| number().ok_or(())),
            b"GNU.sparse.realsize" => self.real_size = text().map(|_| number().ok_or(())),
            b"GNU.sparse.numblocks" => self.blocks = number(),
            b"GNU.sparse.offset" | b"GNU.sparse.numbytes" => self.map.extend(number()),
            b"GNU.sparse.map" => self.map.extend(
                String::from_utf8_lossy(value)
                    .split(',')
                    .filter_map(|n| n.trim().parse::<u64>().ok()),
            ),
            _ => {}
        }
    }

    /// The map these records describe, if Go's archive/tar (which podman,
    /// docker, containerd and umoci read with) reads them as GNU tar does:
    /// formats 0.0, 0.1 (their map and `numblocks` in records) and 1.0 (its
    /// map at the start of the content). Go reads any other version as a
    /// plain file, and fails on a 0.x map without a matching `numblocks`.
    pub(super) fn map(&self) -> Result<SparseMap, String> {
        let map_in_content = match (self.major.as_deref(), self.minor.as_deref()) {
            (Some(b"1"), Some(b"0")) => true,
            (Some(b"0"), Some(b"0" | b"1")) => false,
            // 0.0 and 0.1 files may lack version records: Go then guesses
            // from the map.
            (None, None) if !self.map.is_empty() => false,
            (major, minor) => {
                let v = |n: Option<&[u8]>| {
                    n.map_or("none".to_string(), |n| {
                        String::from_utf8_lossy(n).into_owned()
                    })
                };
                return Err(format!(
                    "a PAX GNU sparse file of unknown format {}.{}: Go's archive/tar (podman, docker, umoci) reads it as a plain file, GNU tar and bsdtar as a sparse one; re-create the archive with bsdtar or GNU tar",
                    v(major),
                    v(minor)
                ));
            }
        };
        let real_size = match self.size.or(self.real_size) {
            Some(Ok(n)) => n,
            Some(Err(())) => {
                return Err("a PAX GNU sparse file whose size is not a decimal: Go's archive/tar (podman, docker, umoci) fails on it".into());
            }
            None => {
                return Err("a PAX GNU sparse file without GNU.sparse.size or GNU.sparse.realsize: Go's archive/tar (podman, docker, umoci) reads its stored bytes, GNU tar an expanded file".into());
            }
        };
        if !map_in_content
            && self.blocks.map(|b| b.saturating_mul(2)) != Some(self.map.len() as u64)
        {
            return Err("a PAX GNU sparse file whose GNU.sparse.numblocks is missing or does not match its map: Go's archive/tar (podman, docker, umoci) fails on it; re-create the archive with bsdtar or GNU tar".into());
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

/// Longest PAX sparse 1.0 map read from an entry's content.
const MAX_SPARSE_MAP: u64 = 16 << 20;

/// What an expansion hands on, in order: stored bytes, or a hole.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Piece<'a> {
    /// Bytes stored in the archive.
    Data(&'a [u8]),
    /// So many zero bytes.
    Zeros(u64),
}

/// A PAX sparse 1.0 map being read, one decimal line at a time.
#[derive(Debug, Default)]
struct MapText {
    numbers: Vec<u64>,
    line: Vec<u8>,
    consumed: u64,
}

/// A sparse file expanded as its stored regions stream by: what every
/// consumer unpacks (Go's archive/tar, GNU tar, bsdtar), so what observers
/// see. Its errors are reasons, to which the scanner adds the entry.
#[derive(Debug)]
pub(super) struct Expander {
    map: SparseMap,
    /// PAX sparse 1.0, while its map is being read from the content.
    map_text: Option<MapText>,
    /// Content bytes to skip (the 1.0 map's padding).
    skip: u64,
    /// Next chunk, and bytes left in the current one.
    next: usize,
    left: u64,
    /// Bytes of the expanded file handed on.
    written: u64,
}

impl Expander {
    /// The expansion of `map`; refused if its regions are out of order or
    /// beyond its size (checked before any zero is handed on, so a hostile
    /// map cannot make anyone write far beyond what it says).
    pub(super) fn new(map: SparseMap) -> Result<Self, String> {
        if !map.map_in_content {
            check_map(&map)?;
        }
        Ok(Self {
            map_text: map.map_in_content.then(MapText::default),
            map,
            skip: 0,
            next: 0,
            left: 0,
            written: 0,
        })
    }

    /// The expanded file's size.
    pub(super) fn real_size(&self) -> u64 {
        self.map.real_size
    }

    /// More stored content: its expansion handed to `out`.
    pub(super) fn feed(
        &mut self,
        mut data: &[u8],
        out: &mut impl FnMut(Piece<'_>),
    ) -> Result<(), String> {
        while !data.is_empty() {
            if self.map_text.is_some() {
                data = self.read_map(data)?;
                continue;
            }
            if self.skip > 0 {
                let n = usize::try_from(self.skip)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                self.skip -= n as u64;
                data = &data[n..];
                continue;
            }
            if self.left == 0 {
                let Some(chunk) = self.map.chunks.get(self.next) else {
                    return Err("more data than its map".into());
                };
                // check_map put the regions in order.
                if chunk.offset > self.written {
                    out(Piece::Zeros(chunk.offset - self.written));
                }
                self.written = chunk.offset;
                self.left = chunk.len;
                self.next += 1;
                continue;
            }
            let n = usize::try_from(self.left)
                .unwrap_or(usize::MAX)
                .min(data.len());
            out(Piece::Data(&data[..n]));
            self.left -= n as u64;
            self.written += n as u64;
            data = &data[n..];
        }
        Ok(())
    }

    /// The stored content has ended: the final hole handed to `out`.
    pub(super) fn finish(&mut self, out: &mut impl FnMut(Piece<'_>)) -> Result<(), String> {
        if self.map_text.is_some() {
            return Err("a map cut short by the end of its content".into());
        }
        let rest = self.map.chunks.get(self.next..).unwrap_or_default();
        if self.left > 0 || rest.iter().any(|c| c.len > 0) {
            return Err("less data than its map".into());
        }
        if self.map.real_size > self.written {
            out(Piece::Zeros(self.map.real_size - self.written));
        }
        self.written = self.map.real_size;
        Ok(())
    }

    /// PAX sparse 1.0: take map text from `data` until the map is complete
    /// (a count, then that many offset/size pairs, one decimal per line),
    /// then arrange to skip its padding to the next block. Returns the rest
    /// of `data`.
    fn read_map<'a>(&mut self, data: &'a [u8]) -> Result<&'a [u8], String> {
        let Some(text) = self.map_text.as_mut() else {
            return Ok(data);
        };
        for (i, &b) in data.iter().enumerate() {
            text.consumed += 1;
            if text.consumed > MAX_SPARSE_MAP {
                return Err("a map longer than 16 MiB".into());
            }
            if b != b'\n' {
                text.line.push(b);
                continue;
            }
            let n = std::str::from_utf8(&text.line)
                .ok()
                .and_then(|l| l.trim().parse::<u64>().ok())
                .ok_or("a map that is not decimal lines")?;
            text.line.clear();
            text.numbers.push(n);
            let (&count, pairs) = text.numbers.split_first().unwrap_or((&0, &[]));
            if (pairs.len() as u64) < count.saturating_mul(2) {
                continue;
            }
            self.map.chunks = pairs
                .chunks_exact(2)
                .map(|c| SparseChunk {
                    offset: c[0],
                    len: c[1],
                })
                .collect();
            check_map(&self.map)?;
            self.skip = (BLOCK as u64 - text.consumed % BLOCK as u64) % BLOCK as u64;
            self.map_text = None;
            return Ok(&data[i + 1..]);
        }
        Ok(&[])
    }
}

/// Regions in order, inside the file.
fn check_map(map: &SparseMap) -> Result<(), String> {
    let mut end = 0u64;
    for c in &map.chunks {
        match c.offset.checked_add(c.len) {
            Some(stop) if c.offset >= end && stop <= map.real_size => end = stop,
            _ => return Err("regions out of order or beyond its size".into()),
        }
    }
    Ok(())
}

/// The sparse map in an old GNU sparse header (more chunks may follow in
/// extension blocks).
pub(super) fn sparse_map(header: &Header) -> Result<Option<SparseMap>, String> {
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
pub(super) fn sparse_ext_chunks(block: &[u8; BLOCK], into: &mut SparseMap) -> Result<(), String> {
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
pub(super) fn sparse_continues(block: &[u8; BLOCK]) -> bool {
    block[504] != 0
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn map(chunks: &[(u64, u64)], real_size: u64, map_in_content: bool) -> SparseMap {
        SparseMap {
            real_size,
            chunks: chunks
                .iter()
                .map(|&(offset, len)| SparseChunk { offset, len })
                .collect(),
            map_in_content,
        }
    }

    /// The expansion of `stored` under `m`, fed in `chunk`-byte pieces.
    fn expand(m: SparseMap, stored: &[u8], chunk: usize) -> Result<Vec<u8>, String> {
        let mut x = Expander::new(m)?;
        let mut out = Vec::new();
        let mut put = |p: Piece<'_>| match p {
            Piece::Data(d) => out.extend_from_slice(d),
            Piece::Zeros(n) => out.resize(out.len() + n as usize, 0),
        };
        for c in stored.chunks(chunk) {
            x.feed(c, &mut put)?;
        }
        x.finish(&mut put)?;
        Ok(out)
    }

    #[test]
    fn hostile_sparse_maps_are_refused_before_any_zero_is_handed_on() {
        assert!(Expander::new(map(&[(0, 5), (10, 5)], 15, false)).is_ok());
        for bad in [
            map(&[(1_000_000_000_000_000, 1)], 10, false),
            map(&[(10, 5), (0, 5)], 15, false),
            map(&[(u64::MAX, 2)], u64::MAX, false),
        ] {
            assert_eq!(
                Expander::new(bad).unwrap_err(),
                "regions out of order or beyond its size"
            );
        }
    }

    #[test]
    fn expansion_fills_holes_any_chunking() {
        for chunk in [1, 3, 512, 4096] {
            let m = map(&[(2, 3), (8, 2), (12, 0)], 12, false);
            assert_eq!(expand(m, b"abcde", chunk).unwrap(), b"\0\0abc\0\0\0de\0\0");
            // PAX 1.0: the map, padded to a block, then the data.
            let mut stored = b"2\n2\n3\n8\n2\n".to_vec();
            stored.resize(BLOCK, 0);
            stored.extend(b"abcde");
            let m = map(&[], 12, true);
            assert_eq!(expand(m, &stored, chunk).unwrap(), b"\0\0abc\0\0\0de\0\0");
        }
        let m = || map(&[(2, 3)], 12, false);
        assert_eq!(
            expand(m(), b"abcdef", 7).unwrap_err(),
            "more data than its map"
        );
        assert_eq!(expand(m(), b"ab", 7).unwrap_err(), "less data than its map");
        let m = map(&[], 12, true);
        assert_eq!(
            expand(m, b"1\n2\n", 7).unwrap_err(),
            "a map cut short by the end of its content"
        );
        let m = map(&[], 12, true);
        assert_eq!(
            expand(m, b"1\nx\n", 7).unwrap_err(),
            "a map that is not decimal lines"
        );
    }

    #[test]
    fn pax_records_are_read_as_go_reads_them() {
        let records = |r: &[(&str, &str)]| {
            let mut p = PaxSparse::default();
            for (k, v) in r {
                p.apply(k.as_bytes(), v.as_bytes());
            }
            p.map()
        };
        let one = records(&[
            ("GNU.sparse.major", "1"),
            ("GNU.sparse.minor", "0"),
            ("GNU.sparse.realsize", "10"),
        ])
        .unwrap();
        assert!(one.map_in_content);
        let zero_one = records(&[
            ("GNU.sparse.major", "0"),
            ("GNU.sparse.minor", "1"),
            ("GNU.sparse.size", "10"),
            ("GNU.sparse.numblocks", "1"),
            ("GNU.sparse.map", "4,2"),
        ])
        .unwrap();
        assert_eq!(zero_one.chunks, [SparseChunk { offset: 4, len: 2 }]);
        // 0.0 without version records, its pairs one record each.
        let zero_zero = records(&[
            ("GNU.sparse.size", "10"),
            ("GNU.sparse.numblocks", "1"),
            ("GNU.sparse.offset", "4"),
            ("GNU.sparse.numbytes", "2"),
        ])
        .unwrap();
        assert_eq!(zero_zero.chunks, zero_one.chunks);
        let e = records(&[("GNU.sparse.major", "2"), ("GNU.sparse.minor", "0")]).unwrap_err();
        assert!(
            e.starts_with("a PAX GNU sparse file of unknown format 2.0: Go's archive/tar (podman, docker, umoci) reads it as a plain file"),
            "{e}"
        );
        let e = records(&[("GNU.sparse.name", "f")]).unwrap_err();
        assert!(e.contains("of unknown format none.none:"), "{e}");
        // Go compares the version records as strings.
        let e = records(&[("GNU.sparse.major", "01"), ("GNU.sparse.minor", "0")]).unwrap_err();
        assert!(e.contains("of unknown format 01.0:"), "{e}");
        let e = records(&[
            ("GNU.sparse.size", "ten"),
            ("GNU.sparse.realsize", "10"),
            ("GNU.sparse.numblocks", "0"),
            ("GNU.sparse.map", "0,0"),
        ])
        .unwrap_err();
        assert!(e.contains("whose size is not a decimal"), "{e}");
        let e = records(&[("GNU.sparse.size", "10"), ("GNU.sparse.map", "4,2")]).unwrap_err();
        assert!(e.contains("numblocks is missing or does not match"), "{e}");
    }
}
