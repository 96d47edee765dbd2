//! The one table of formats: what an input may be (its magic, file name
//! suffixes and names; the decoder is chosen by an exhaustive match in
//! [`super::Decoder::new`]) and what a layer blob may be encoded as (media
//! type and level range, by exhaustive matches).
//!
//! Every list of formats in messages, `--help`, the docs and the tests comes
//! from here: adding a variant to [`Compression`] fails to compile until its
//! row exists, and `tests` check the prose in README.md, the crate docs and
//! Cargo.toml against [`supported_short`].

use std::fmt;
use std::ops::RangeInclusive;

use oci_spec::image::MediaType;
use serde::Serialize;

use super::SNIFF_LEN;

/// The format of an input (or of a layer blob being read back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// gzip (RFC 1952), possibly multi-member.
    Gzip,
    /// xz, possibly several streams with padding.
    Xz,
    /// Zstandard, possibly several frames.
    Zstd,
    /// bzip2, possibly several streams.
    Bzip2,
    /// An uncompressed tar archive.
    None,
}

/// One row of the input table.
#[derive(Debug)]
pub struct InputFormat {
    /// The format.
    pub compression: Compression,
    /// Lowercase name, as on the command line and in `--json` (`none` for tar).
    pub name: &'static str,
    /// How a summary names an input of this format ("gzip", "uncompressed tar").
    pub noun: &'static str,
    /// How a list of supported formats names it ("gzip", "plain tar").
    pub short: &'static str,
    /// How a refusal names bytes of this format ("gzip data").
    pub data: &'static str,
    /// File name suffixes of such inputs, for the default output name.
    pub suffixes: &'static [&'static str],
    /// Whether a stream's first bytes (up to 512, one tar header block) are this format.
    pub magic: fn(&[u8]) -> bool,
}

/// Every input format, in the order `detect` tries them: a tar header
/// first (a member named "BZh9…" is still a tar, while compressed data
/// practically never carries a valid tar checksum).
pub static INPUT_FORMATS: [InputFormat; 5] = [
    InputFormat {
        compression: Compression::None,
        name: "none",
        noun: "uncompressed tar",
        short: "plain tar",
        data: "an uncompressed tar archive",
        suffixes: &[".tar"],
        magic: looks_like_tar,
    },
    InputFormat {
        compression: Compression::Gzip,
        name: "gzip",
        noun: "gzip",
        short: "gzip",
        data: "gzip data",
        suffixes: &[".tar.gz", ".tgz", ".gz"],
        magic: |h| h.starts_with(&[0x1f, 0x8b]),
    },
    InputFormat {
        compression: Compression::Xz,
        name: "xz",
        noun: "xz",
        short: "xz",
        data: "xz data",
        suffixes: &[".tar.xz", ".txz", ".xz"],
        magic: |h| h.starts_with(XZ_MAGIC),
    },
    InputFormat {
        compression: Compression::Zstd,
        name: "zstd",
        noun: "zstd",
        short: "zstd",
        data: "zstd data",
        suffixes: &[".tar.zst", ".tar.zstd", ".tzst", ".zst", ".zstd"],
        magic: is_zstd,
    },
    InputFormat {
        compression: Compression::Bzip2,
        name: "bzip2",
        noun: "bzip2",
        short: "bzip2",
        data: "bzip2 data",
        suffixes: &[".tar.bz2", ".tbz2", ".tbz", ".bz2"],
        magic: |h| h.len() >= 4 && h.starts_with(b"BZh") && (b'1'..=b'9').contains(&h[3]),
    },
];

pub(crate) const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];

/// A zstd frame, or a skippable frame (magic 0x184D2A5?) that may begin a
/// zstd stream.
fn is_zstd(h: &[u8]) -> bool {
    h.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || (h.len() >= 4 && h[0] & 0xf0 == 0x50 && h[1..4] == [0x2a, 0x4d, 0x18])
}

/// A first block that is a tar header with a valid checksum (the scanner's
/// own test), or all zeros: an archive that starts with the end marker is
/// left to the tar scanner to refuse with a precise message.
fn looks_like_tar(head: &[u8]) -> bool {
    match head.get(..SNIFF_LEN).map(<&[u8; SNIFF_LEN]>::try_from) {
        Some(Ok(b)) => b.iter().all(|&x| x == 0) || crate::tarscan::checksum_ok(b),
        _ => false,
    }
}

impl Compression {
    /// This format's row of [`INPUT_FORMATS`].
    pub fn info(self) -> &'static InputFormat {
        let row = match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Xz => 2,
            Compression::Zstd => 3,
            Compression::Bzip2 => 4,
        };
        &INPUT_FORMATS[row]
    }

    /// Lowercase name, as used on the command line and in reports.
    pub fn name(self) -> &'static str {
        self.info().name
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Identify the format of a stream from its first bytes (up to 512, one tar header block).
///
/// Never looks at a file name. Returns `None` for anything unsupported.
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub fn detect(head: &[u8]) -> Option<Compression> {
    INPUT_FORMATS
        .iter()
        .find(|f| (f.magic)(head))
        .map(|f| f.compression)
}

/// The file name suffix of an input that names an archive format (the
/// longest that matches, case-insensitively), e.g. `.tar.xz`.
pub(crate) fn archive_suffix(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    INPUT_FORMATS
        .iter()
        .flat_map(|f| f.suffixes.iter().copied())
        .filter(|s| lower.len() > s.len() && lower.ends_with(s))
        .max_by_key(|s| s.len())
}

/// The supported formats in a sentence: the compressed ones by their short
/// names in table order, then the uncompressed one as `tar` names it.
fn sentence(tar: impl Fn(&InputFormat) -> &'static str) -> String {
    let compressed: Vec<&str> = INPUT_FORMATS
        .iter()
        .filter(|f| f.compression != Compression::None)
        .map(|f| f.short)
        .collect();
    format!(
        "{} or {}",
        compressed.join(", "),
        tar(Compression::None.info())
    )
}

/// "gzip, xz, zstd, bzip2 or an uncompressed tar archive", for refusals.
pub(crate) fn supported_data() -> String {
    sentence(|f| f.data)
}

/// "gzip, xz, zstd, bzip2 or plain tar", for `--help` and the docs.
pub fn supported_short() -> String {
    sentence(|f| f.short)
}

/// Formats an input may be that we do not read, by their magic, and what
/// to do about them: the second half of the format table, for refusals.
pub(crate) static FOREIGN_FORMATS: [(&[u8], &str); 6] = [
    (b"PK\x03\x04", "a zip archive"),
    (
        &[0x04, 0x22, 0x4d, 0x18],
        "lz4 data: decompress it first (lz4 -dc)",
    ),
    (b"LZIP", "lzip data: decompress it first (lzip -dc)"),
    (
        &[0x1f, 0x9d],
        "Unix compress data: decompress it first (gzip -dc)",
    ),
    (b"QFI\xfb", "a qcow2 disk image, not a tarball"),
    (
        &[0x5d, 0x00, 0x00],
        "legacy lzma data: decompress it first (xz -dc)",
    ),
];

/// The encoding of a layer blob: what an OCI layer media type can declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerEncoding {
    /// `application/vnd.oci.image.layer.v1.tar+gzip`.
    Gzip,
    /// `application/vnd.oci.image.layer.v1.tar+zstd`.
    Zstd,
    /// `application/vnd.oci.image.layer.v1.tar`.
    None,
}

impl LayerEncoding {
    /// Every layer encoding, in the order `--help` lists them.
    pub const ALL: [LayerEncoding; 3] = [
        LayerEncoding::Gzip,
        LayerEncoding::Zstd,
        LayerEncoding::None,
    ];

    /// The input format a blob of this encoding is decoded as.
    pub fn format(self) -> Compression {
        match self {
            LayerEncoding::Gzip => Compression::Gzip,
            LayerEncoding::Zstd => Compression::Zstd,
            LayerEncoding::None => Compression::None,
        }
    }

    /// The layer encoding an input of `format` can be kept as, if any.
    pub fn of_input(format: Compression) -> Option<LayerEncoding> {
        match format {
            Compression::Gzip => Some(LayerEncoding::Gzip),
            Compression::Zstd => Some(LayerEncoding::Zstd),
            Compression::None => Some(LayerEncoding::None),
            Compression::Xz | Compression::Bzip2 => None,
        }
    }

    /// Lowercase name, as on the command line and in reports.
    pub fn name(self) -> &'static str {
        self.format().name()
    }

    /// The OCI layer media type of a blob of this encoding.
    pub fn media_type(self) -> MediaType {
        match self {
            LayerEncoding::Gzip => MediaType::ImageLayerGzip,
            LayerEncoding::Zstd => MediaType::ImageLayerZstd,
            LayerEncoding::None => MediaType::ImageLayer,
        }
    }

    /// The levels its encoder accepts; `None` for an uncompressed layer.
    pub fn level_range(self) -> Option<RangeInclusive<i32>> {
        match self {
            LayerEncoding::Gzip => Some(1..=9),
            LayerEncoding::Zstd => Some(1..=22),
            LayerEncoding::None => None,
        }
    }
}

impl fmt::Display for LayerEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_in_place_and_names_unique() {
        for (i, f) in INPUT_FORMATS.iter().enumerate() {
            assert!(std::ptr::eq(f.compression.info(), &INPUT_FORMATS[i]));
            assert!(f.suffixes.iter().all(|s| s.starts_with('.')));
        }
        let mut names: Vec<_> = INPUT_FORMATS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), INPUT_FORMATS.len());
    }

    #[test]
    fn sentences() {
        assert_eq!(
            supported_data(),
            "gzip, xz, zstd, bzip2 or an uncompressed tar archive"
        );
        assert_eq!(supported_short(), "gzip, xz, zstd, bzip2 or plain tar");
    }

    #[test]
    fn longest_suffix_wins() {
        assert_eq!(archive_suffix("stage3.TAR.XZ"), Some(".tar.xz"));
        assert_eq!(archive_suffix("a.tar"), Some(".tar"));
        assert_eq!(archive_suffix("a.tbz"), Some(".tbz"));
        assert_eq!(archive_suffix("arch.tar.zstd"), Some(".tar.zstd"));
        assert_eq!(archive_suffix(".tar"), None);
        assert_eq!(archive_suffix("rootfs"), None);
    }

    #[test]
    fn layer_encodings() {
        for e in LayerEncoding::ALL {
            assert_eq!(LayerEncoding::of_input(e.format()), Some(e));
        }
        assert_eq!(LayerEncoding::of_input(Compression::Xz), None);
        assert_eq!(
            LayerEncoding::Zstd.media_type().to_string(),
            "application/vnd.oci.image.layer.v1.tar+zstd"
        );
        assert_eq!(LayerEncoding::Gzip.level_range(), Some(1..=9));
        assert_eq!(LayerEncoding::None.level_range(), None);
    }

    /// The prose lists in the docs and the package description say what the table says.
    #[test]
    fn docs_list_the_table() {
        let root = env!("CARGO_MANIFEST_DIR");
        let short = supported_short();
        for file in ["src/lib.rs", "Cargo.toml", "README.md"] {
            let text = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
            let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                flat.contains(&format!("({short})")),
                "{file} should list the formats as ({short})"
            );
        }
    }
}
