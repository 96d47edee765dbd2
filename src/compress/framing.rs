//! Which compressed framing the consumers decode exactly as we do, so that
//! the input's bytes may be kept as the layer blob.
//!
//! The rules, with their sources, are in docs/design.md ("Passthrough:
//! framing the consumers read as we do"). In short: podman, buildah and
//! skopeo detect the compression by the magic at offset 0 and decode gzip
//! with klauspost/pgzip, whose header CRC covers only the first 10 bytes and
//! whose name and comment buffers hold 511 bytes; zstd is detected only by
//! the frame magic, and the zstd CLI (used by containers/storage when
//! installed) refuses windows over 128 MiB.

use std::fmt;

/// gzip FLG bits (RFC 1952).
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const FRESERVED: u8 = 0xe0;
/// Go's compress/gzip and klauspost's readers keep names and comments in a 512-byte buffer.
const MAX_GO_STRING: usize = 511;
/// The longest gzip header we look at: fixed part, a full FEXTRA, a name
/// and a comment at the consumers' limit, and the header CRC.
pub(crate) const MAX_GZIP_HEADER: usize = 10 + 2 + 65535 + 2 * (MAX_GO_STRING + 2) + 2;

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// The zstd CLI's default window limit (`--memory=128MB`).
pub(crate) const MAX_ZSTD_WINDOW: u64 = 128 << 20;

/// A layer the consumers would read differently: why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnsafeFraming(pub String);

impl fmt::Display for UnsafeFraming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnsafeFraming {}

/// What the bytes at a gzip member boundary are.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum GzipHeader {
    /// Not all of the header is in the bytes given.
    Incomplete,
    /// Not a gzip member (the decoder will say what is wrong).
    NotGzip,
    /// A complete header of `len` bytes; what the consumers would make of it.
    Complete {
        /// Header length in bytes.
        len: usize,
        /// Why a consumer would fail on it (empty: safe).
        problems: Vec<String>,
    },
}

/// Judge the gzip member header at the start of `h`.
pub(crate) fn gzip_header(h: &[u8]) -> GzipHeader {
    if h.len() < 10 {
        return if h.len() >= 3 && h[..3] != [0x1f, 0x8b, 8] {
            GzipHeader::NotGzip
        } else {
            GzipHeader::Incomplete
        };
    }
    if h[..3] != [0x1f, 0x8b, 8] {
        return GzipHeader::NotGzip;
    }
    let flg = h[3];
    let mut problems = Vec::new();
    if flg & FRESERVED != 0 {
        problems.push(format!(
            "a gzip member header sets reserved flag bits ({:#04x}), which gzip and pigz refuse",
            flg & FRESERVED
        ));
    }
    let mut pos = 10;
    if flg & FEXTRA != 0 {
        let Some(x) = h.get(pos..pos + 2) else {
            return GzipHeader::Incomplete;
        };
        pos += 2 + usize::from(u16::from_le_bytes([x[0], x[1]]));
    }
    for (bit, what) in [(FNAME, "file name"), (FCOMMENT, "comment")] {
        if flg & bit == 0 {
            continue;
        }
        let Some(rest) = h.get(pos..) else {
            return GzipHeader::Incomplete;
        };
        let Some(n) = rest.iter().position(|&b| b == 0) else {
            if rest.len() > MAX_GO_STRING {
                // Too long for the consumers whatever its end: judged now,
                // without reading up to flate2's own 64 KiB limit.
                problems.push(format!(
                    "a gzip member header holds a {what} of more than {} bytes; Go's and klauspost's gzip readers (podman, skopeo, umoci, docker) stop at {MAX_GO_STRING}",
                    rest.len()
                ));
                return GzipHeader::Complete {
                    len: h.len(),
                    problems,
                };
            }
            return GzipHeader::Incomplete;
        };
        if n > MAX_GO_STRING {
            problems.push(format!(
                "a gzip member header holds a {what} of {n} bytes; Go's and klauspost's gzip readers (podman, skopeo, umoci, docker) stop at {MAX_GO_STRING}"
            ));
        }
        pos += n + 1;
    }
    if flg & FHCRC != 0 {
        pos += 2;
        if flg & (FEXTRA | FNAME | FCOMMENT) != 0 {
            problems.push(
                "a gzip member header has a header CRC (FHCRC) with a name, comment or extra field; klauspost/pgzip (podman, buildah, skopeo) checks it over the first 10 bytes only and fails with \"gzip: invalid header\"".into(),
            );
        }
    }
    if h.len() < pos {
        return GzipHeader::Incomplete;
    }
    GzipHeader::Complete { len: pos, problems }
}

/// Why the input starting with `head` (all of its first gzip header; see
/// [`MAX_GZIP_HEADER`]) could not be kept as a layer blob; empty: it can,
/// as far as its start shows (later gzip members are judged as they come).
pub(crate) fn passthrough_problems(format: super::Compression, head: &[u8]) -> Vec<String> {
    match format {
        super::Compression::Gzip => match gzip_header(head) {
            GzipHeader::Complete { problems, .. } => problems,
            // Cut short or not gzip: the decoder refuses it.
            _ => Vec::new(),
        },
        super::Compression::Zstd => zstd_start(head),
        _ => Vec::new(),
    }
}

/// Whether `head` holds all of the first gzip header (or can never hold it).
pub(crate) fn gzip_head_complete(head: &[u8]) -> bool {
    gzip_header(head) != GzipHeader::Incomplete || head.len() >= MAX_GZIP_HEADER
}

/// What a zstd frame header says about decoding the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ZstdFrameHeader {
    /// The window the decoder needs, when the header bytes reach that far.
    pub(crate) window: Option<u64>,
    /// The dictionary id, when the frame names one.
    pub(crate) dictionary: Option<u32>,
    /// The reserved bit is set.
    pub(crate) reserved: bool,
}

/// The frame header at the start of `head` (at most 18 bytes are needed);
/// `None` if `head` does not start with the zstd frame magic.
pub(crate) fn zstd_frame_header(head: &[u8]) -> Option<ZstdFrameHeader> {
    let fhd = *head.strip_prefix(&ZSTD_MAGIC)?.first()?;
    let le = |b: &[u8]| b.iter().rev().fold(0u64, |v, &x| v << 8 | u64::from(x));
    let single_segment = fhd & 0x20 != 0;
    let dict_len = [0usize, 1, 2, 4][usize::from(fhd & 3)];
    let mut pos = 5;
    let mut window = None;
    if !single_segment {
        if let Some(&wd) = head.get(pos) {
            let base = 1u64 << (10 + u64::from(wd >> 3));
            window = Some(base + (base / 8) * u64::from(wd & 7));
        }
        pos += 1;
    }
    let dictionary = head
        .get(pos..pos + dict_len)
        .map(le)
        .filter(|&d| d != 0)
        .and_then(|d| u32::try_from(d).ok());
    if single_segment {
        pos += dict_len;
        let fcs_len = [1usize, 2, 4, 8][usize::from(fhd >> 6)];
        if let Some(f) = head.get(pos..pos + fcs_len) {
            let v = le(f);
            window = Some(if fcs_len == 2 { v + 256 } else { v });
        }
    }
    Some(ZstdFrameHeader {
        window,
        dictionary,
        reserved: fhd & 0x08 != 0,
    })
}

/// Why the zstd stream starting with `head` could not be kept as a layer
/// (empty: it can). Needs the first frame header (at most 18 bytes).
pub(crate) fn zstd_start(head: &[u8]) -> Vec<String> {
    if !head.starts_with(&ZSTD_MAGIC) {
        return vec![
            "the zstd data starts with a skippable frame (as pzstd writes it); containers/image and containers/storage detect zstd only by the frame magic at offset 0 and would take the layer for an uncompressed tar".into(),
        ];
    }
    let Some(h) = zstd_frame_header(head) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    if h.reserved {
        problems.push("the zstd frame header sets its reserved bit".into());
    }
    if h.dictionary.is_some() {
        problems.push(
            "the zstd frame needs a dictionary, which the consumers' decoders do not have".into(),
        );
    }
    if let Some(w) = h.window.filter(|&w| w > MAX_ZSTD_WINDOW) {
        problems.push(format!(
            "the zstd frame has a {} MiB window; the zstd CLI (used by containers/storage) refuses more than 128 MiB",
            w >> 20
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gz_header(flg: u8, extra: &[u8], name: &[u8], comment: &[u8], crc: bool) -> Vec<u8> {
        let mut h = vec![0x1f, 0x8b, 8, flg, 0, 0, 0, 0, 0, 3];
        if flg & FEXTRA != 0 {
            h.extend((extra.len() as u16).to_le_bytes());
            h.extend(extra);
        }
        if flg & FNAME != 0 {
            h.extend(name);
            h.push(0);
        }
        if flg & FCOMMENT != 0 {
            h.extend(comment);
            h.push(0);
        }
        if crc {
            h.extend([0xab, 0xcd]);
        }
        h
    }

    #[test]
    fn gzip_headers_the_consumers_read_like_we_do() {
        // gzip -9n, gzip with a name, bgzip's BC extra field, FHCRC alone.
        for (h, len) in [
            (gz_header(0, b"", b"", b"", false), 10),
            (gz_header(FNAME, b"", b"rootfs.tar", b"", false), 21),
            (
                gz_header(FEXTRA, b"BC\x02\x00\xff\x00", b"", b"", false),
                18,
            ),
            (gz_header(FHCRC, b"", b"", b"", true), 12),
        ] {
            assert_eq!(
                gzip_header(&h),
                GzipHeader::Complete {
                    len,
                    problems: vec![]
                },
                "{h:02x?}"
            );
        }
    }

    #[test]
    fn gzip_headers_a_consumer_fails_on() {
        let one = |h: Vec<u8>, needle: &str| match gzip_header(&h) {
            GzipHeader::Complete { len, problems } => {
                assert_eq!(len, h.len());
                assert_eq!(problems.len(), 1, "{problems:?}");
                assert!(problems[0].contains(needle), "{problems:?}");
            }
            other => panic!("{other:?}"),
        };
        one(gz_header(FHCRC | FNAME, b"", b"a", b"", true), "FHCRC");
        one(gz_header(0x20, b"", b"", b"", false), "reserved");
        one(
            gz_header(FNAME, b"", &[b'n'; 512], b"", false),
            "file name of 512",
        );
        one(
            gz_header(FCOMMENT, b"", b"", &[b'c'; 600], false),
            "comment of 600",
        );
        // 511 is still fine.
        assert!(matches!(
            gzip_header(&gz_header(FNAME, b"", &[b'n'; 511], b"", false)),
            GzipHeader::Complete { problems, .. } if problems.is_empty()
        ));
    }

    #[test]
    fn gzip_header_needs_all_its_bytes() {
        let h = gz_header(FEXTRA | FNAME, &[7; 300], b"name", b"", false);
        for cut in [0, 2, 9, 11, 200, h.len() - 1] {
            assert_eq!(gzip_header(&h[..cut]), GzipHeader::Incomplete, "{cut}");
        }
        assert!(matches!(gzip_header(&h), GzipHeader::Complete { .. }));
        assert_eq!(gzip_header(b"PK\x03\x04 not gzip"), GzipHeader::NotGzip);
        assert_eq!(gzip_header(&[0; 10]), GzipHeader::NotGzip);
    }

    #[test]
    fn zstd_starts() {
        let plain = zstd::encode_all(&b"hello"[..], 3).unwrap();
        assert_eq!(zstd_start(&plain), Vec::<String>::new());
        let mut skippable = vec![0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4];
        skippable.extend(&plain);
        assert!(zstd_start(&skippable)[0].contains("skippable frame"));
        // Window descriptor 0x88: 2^(10+17) = 128 MiB is fine; 0x90 (256 MiB) is not.
        let frame = |wd: u8| vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, wd];
        assert!(zstd_start(&frame(0x88)).is_empty());
        assert!(zstd_start(&frame(0x90))[0].contains("256 MiB window"));
        // A dictionary id (flag 1: one byte).
        assert!(zstd_start(&[0x28, 0xb5, 0x2f, 0xfd, 0x01, 0x58, 0x07])[0].contains("dictionary"));
        // Single segment with a 3 GiB content size (8-byte field).
        let mut big = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
        big.extend((3u64 << 30).to_le_bytes());
        assert!(zstd_start(&big)[0].contains("3072 MiB window"));
    }
}
