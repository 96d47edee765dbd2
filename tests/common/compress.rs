//! Compressed inputs, made with the same libraries a user's tools use.

use std::io::Write;

/// `data` as one gzip member at `level`.
pub fn gzip_level(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

/// `data` as one gzip member at level 6 (gzip's default).
pub fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    gzip_level(data, 6)
}

/// A gzip member of `data` named `name`, with FHCRC set and the header CRC
/// that RFC 1952 asks for (over the whole header), as flate2 checks it.
pub fn gzip_fhcrc_named(data: &[u8], name: &str) -> Vec<u8> {
    let mut e = flate2::GzBuilder::new()
        .filename(name)
        .write(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("gzip");
    let mut gz = e.finish().expect("gzip");
    gz[3] |= 0x02;
    let end = 10 + gz[10..].iter().position(|&b| b == 0).expect("name") + 1;
    let crc = crc32fast::hash(&gz[..end]) as u16;
    gz.splice(end..end, crc.to_le_bytes());
    gz
}

fn xz_with(data: &[u8], stream: liblzma::stream::Stream) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
    e.write_all(data).expect("xz");
    e.finish().expect("xz")
}

/// `data` as one xz stream at `preset` (CRC64 check).
pub fn xz_preset(data: &[u8], preset: u32) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), preset);
    e.write_all(data).expect("xz");
    e.finish().expect("xz")
}

/// `data` as one xz stream at preset 6 (xz's default).
pub fn xz_bytes(data: &[u8]) -> Vec<u8> {
    xz_preset(data, 6)
}

/// `data` as one bzip2 stream at level 9 (bzip2's default).
pub fn bzip2_bytes(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(9));
    e.write_all(data).expect("bzip2");
    e.finish().expect("bzip2")
}

/// `data` as one zstd frame at level 3 (zstd's default).
pub fn zstd_bytes(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).expect("zstd")
}

/// `data` in `format`, as a user's tool writes it by default. The match is
/// exhaustive: a format added to the library's table does not compile here
/// until the tests can make it.
pub fn encode(format: ociimport::Compression, data: &[u8]) -> Vec<u8> {
    use ociimport::Compression as C;
    match format {
        C::Gzip => gzip_bytes(data),
        C::Xz => xz_bytes(data),
        C::Zstd => zstd_bytes(data),
        C::Bzip2 => bzip2_bytes(data),
        C::None => data.to_vec(),
    }
}

/// A compression variant of a tar.
pub struct Variant {
    /// What the variant is called in messages.
    pub name: &'static str,
    /// The compressed bytes.
    pub bytes: Vec<u8>,
    /// `--compression auto` keeps these bytes as the layer.
    pub passthrough: bool,
    /// The report's `input_compression`.
    pub format: &'static str,
}

/// Every framing of `tar` the importer reads: several members, blocks,
/// streams and frames, padding, filters and skippable frames.
pub fn variants(tar: &[u8]) -> Vec<Variant> {
    let half = tar.len() / 2;
    let mut multi_gz = gzip_bytes(&tar[..half]);
    multi_gz.extend(gzip_bytes(&tar[half..]));

    let multi_block_xz = {
        let s = liblzma::stream::MtStreamBuilder::new()
            .threads(2)
            .block_size(32 * 1024)
            .preset(6)
            .check(liblzma::stream::Check::Crc32)
            .encoder()
            .expect("mt xz");
        xz_with(tar, s)
    };
    let mut concat_xz = xz_bytes(&tar[..half]);
    concat_xz.extend([0u8; 8]); // stream padding
    concat_xz.extend(xz_with(
        &tar[half..],
        liblzma::stream::Stream::new_easy_encoder(1, liblzma::stream::Check::Sha256).expect("xz"),
    ));
    let bcj_xz = {
        let mut filters = liblzma::stream::Filters::new();
        filters.x86();
        filters.lzma2(&liblzma::stream::LzmaOptions::new_preset(6).expect("preset"));
        let s = liblzma::stream::Stream::new_stream_encoder(&filters, liblzma::stream::Check::None)
            .expect("bcj");
        xz_with(tar, s)
    };
    // A skippable frame between two frames: every consumer reads it as we do.
    let skippable = [0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, b's', b'k', b'i', b'p'];
    let mut zstd_frames = zstd_bytes(&tar[..half]);
    zstd_frames.extend(skippable);
    zstd_frames.extend(zstd_bytes(&tar[half..]));
    // One first (as pzstd writes): containers/image takes it for a plain tar.
    let mut zstd_skippable_first = skippable.to_vec();
    zstd_skippable_first.extend(zstd_bytes(tar));
    let mut multi_bz2 = bzip2_bytes(&tar[..half]);
    multi_bz2.extend(bzip2_bytes(&tar[half..]));

    let v = |name, bytes, passthrough, format| Variant {
        name,
        bytes,
        passthrough,
        format,
    };
    // One plain variant per row of the format table, whatever it holds.
    let mut all: Vec<Variant> = ociimport::INPUT_FORMATS
        .iter()
        .map(|f| {
            let kept = ociimport::LayerEncoding::of_input(f.compression)
                .is_some_and(|e| e != ociimport::LayerEncoding::None);
            v(f.name, encode(f.compression, tar), kept, f.name)
        })
        .collect();
    all.extend([
        v("multi-member-gzip", multi_gz, true, "gzip"),
        v("multi-block-xz", multi_block_xz, false, "xz"),
        v("concatenated-xz", concat_xz, false, "xz"),
        v("bcj-xz", bcj_xz, false, "xz"),
        v("zstd-frames-skippable", zstd_frames, true, "zstd"),
        v("zstd-skippable-first", zstd_skippable_first, false, "zstd"),
        v("multi-stream-bzip2", multi_bz2, false, "bzip2"),
    ]);
    all
}
