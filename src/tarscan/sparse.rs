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
    major: Option<u64>,
    minor: Option<u64>,
    pub(super) name: Option<Vec<u8>>,
    real_size: Option<u64>,
    /// 0.1's `GNU.sparse.map`, or 0.0's offset/numbytes records, flattened.
    pub(super) map: Vec<u64>,
}

impl PaxSparse {
    /// Record one `GNU.sparse.*` key.
    pub(super) fn apply(&mut self, key: &[u8], value: &[u8]) {
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
    pub(super) fn map(&self) -> Result<SparseMap, String> {
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
}
