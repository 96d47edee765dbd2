//! Compression: detection by magic bytes, complete decoding, deterministic encoding.
//!
//! Decoders consume *everything*: every gzip member, every xz stream and its
//! padding, every zstd frame (skippable ones included) and every bzip2
//! stream, because that is what the consumers (Go's compress/gzip,
//! containers/image, umoci) do when they compute a DiffID. Stopping after the
//! first member would silently produce a different DiffID.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};

pub(crate) mod format;
pub(crate) mod framing;
mod gzip;
mod zstd_decode;

use format::XZ_MAGIC;
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub use format::detect;
pub use format::{Compression, INPUT_FORMATS, InputFormat, LayerEncoding};
pub(crate) use framing::UnsafeFraming;
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub use gzip::GzMembers;
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub use zstd_decode::ZstdDecoder;
pub use zstd_decode::{MAX_WINDOW as ZSTD_MAX_WINDOW, ZstdRefusal};

/// Bytes follow the end of the compressed data, from `offset` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TrailingData {
    /// Where the bytes that are not part of the compressed data start.
    pub offset: u64,
}

impl fmt::Display for TrailingData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the compressed data ends at byte {} and other bytes follow",
            self.offset
        )
    }
}

impl std::error::Error for TrailingData {}

/// The xz decoder's memory limit: fixed, far above what `xz -9` needs
/// (65 MiB), so a hostile header cannot make it reserve gigabytes.
pub(crate) const XZ_MEMLIMIT: u64 = 1 << 30;

/// An xz stream needs more memory to decode than the decoder may use
/// (liblzma's `LZMA_MEMLIMIT_ERROR`): not corrupt data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct XzMemLimit {
    /// The decoder's memory limit, in bytes.
    pub limit: u64,
}

impl fmt::Display for XzMemLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the xz data needs more than {} MiB of memory to decode, the decoder's fixed limit",
            self.limit >> 20
        )
    }
}

impl std::error::Error for XzMemLimit {}

/// How many leading bytes `detect` wants to see (one tar header block).
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub const SNIFF_LEN: usize = 512;

/// Name formats we recognise but cannot take, to make the refusal useful.
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub fn describe_unknown(head: &[u8]) -> String {
    let shown = &head[..head.len().min(8)];
    let hex: Vec<String> = shown.iter().map(|b| format!("{b:02x}")).collect();
    let text: String = shown
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    let guess = format::FOREIGN_FORMATS
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map_or(String::new(), |(_, what)| format!(", {what}"));
    format!("{} \"{}\"{}", hex.join(" "), text, guess)
}

/// Options for decoding.
#[derive(Clone, Copy, Debug)]
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct DecodeOptions {
    /// Threads for the xz decoder (1 = single-threaded).
    pub xz_threads: u32,
    /// Memory limit for the xz decoder, in bytes.
    pub xz_memlimit: u64,
    /// The input's bytes become the layer: refuse framing a consumer reads
    /// differently (an error carrying [`UnsafeFraming`]).
    pub consumer_safe: bool,
    /// The largest zstd window to decode, in bytes (rounded up to a power
    /// of two). The default, 128 MiB, is the zstd CLI's: a hostile frame
    /// header cannot make us reserve gigabytes.
    pub zstd_max_window: u64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            xz_threads: 1,
            xz_memlimit: XZ_MEMLIMIT,
            consumer_safe: false,
            zstd_max_window: framing::MAX_ZSTD_WINDOW,
        }
    }
}

/// A decoder for one of the supported formats that reads its input to the end.
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub enum Decoder<R: Read> {
    /// All gzip members.
    Gzip(Box<GzMembers<R>>),
    /// All xz streams.
    Xz(Box<MultiXzDecoder<R>>),
    /// All zstd frames.
    Zstd(Box<ZstdDecoder<R>>),
    /// All bzip2 streams.
    Bzip2(Box<bzip2::read::MultiBzDecoder<R>>),
    /// No compression.
    Plain(R),
}

impl<R: Read> Decoder<R> {
    /// A decoder for `format` over `inner`.
    pub(crate) fn new(format: Compression, inner: R, opts: DecodeOptions) -> io::Result<Self> {
        Ok(match format {
            Compression::Gzip => Decoder::Gzip(Box::new(GzMembers::new(inner, opts.consumer_safe))),
            Compression::Xz => Decoder::Xz(Box::new(MultiXzDecoder::new(inner, opts)?)),
            Compression::Zstd => Decoder::Zstd(Box::new(ZstdDecoder::new(inner, opts)?)),
            Compression::Bzip2 => Decoder::Bzip2(Box::new(bzip2::read::MultiBzDecoder::new(inner))),
            Compression::None => Decoder::Plain(inner),
        })
    }

    /// What the consumers would read differently in the framing seen so
    /// far: every gzip member header, or the start of a zstd stream.
    pub(crate) fn framing_problems(&self, head: &[u8]) -> Vec<String> {
        match self {
            Decoder::Gzip(d) => d.problems().to_vec(),
            Decoder::Zstd(_) => framing::zstd_start(head),
            _ => Vec::new(),
        }
    }

    /// The inner reader, once decoding is complete.
    pub(crate) fn into_inner(self) -> io::Result<R> {
        Ok(match self {
            Decoder::Gzip(d) => d.into_inner()?,
            Decoder::Xz(d) => d.into_inner(),
            Decoder::Zstd(d) => d.into_inner(),
            Decoder::Bzip2(d) => d.into_inner(),
            Decoder::Plain(r) => r,
        })
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Xz(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
            Decoder::Bzip2(d) => d.read(buf),
            Decoder::Plain(r) => r.read(buf),
        }
    }
}

/// Decodes every concatenated xz stream, checking the stream padding between them.
///
/// liblzma's `LZMA_CONCATENATED` flag does this for the single-threaded
/// decoder; the `liblzma` crate's multi-threaded decoder builder has no flags,
/// so with threads the streams are chained here, one decoder per stream, and
/// the padding rules (zero bytes, a multiple of four) are checked here.
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct MultiXzDecoder<R: Read> {
    reader: BufReader<R>,
    stream: liblzma::stream::Stream,
    opts: DecodeOptions,
    /// The current stream ended; padding or another stream may follow.
    between: bool,
    done: bool,
}

impl<R: Read> MultiXzDecoder<R> {
    fn stream(opts: DecodeOptions) -> io::Result<liblzma::stream::Stream> {
        let r = if opts.xz_threads > 1 {
            liblzma::stream::MtStreamBuilder::new()
                .threads(opts.xz_threads)
                .memlimit_threading(opts.xz_memlimit)
                .memlimit_stop(opts.xz_memlimit)
                .decoder()
        } else {
            // One thread: liblzma handles concatenation and padding itself.
            liblzma::stream::Stream::new_stream_decoder(
                opts.xz_memlimit,
                liblzma::stream::CONCATENATED,
            )
        };
        r.map_err(|e| io::Error::other(format!("cannot start the xz decoder: {e}")))
    }

    /// A decoder over `inner`.
    pub(crate) fn new(inner: R, opts: DecodeOptions) -> io::Result<Self> {
        Ok(Self {
            reader: BufReader::with_capacity(1 << 16, inner),
            stream: Self::stream(opts)?,
            opts,
            between: false,
            done: false,
        })
    }

    /// The inner reader.
    pub(crate) fn into_inner(self) -> R {
        self.reader.into_inner()
    }

    /// After one stream ended: skip padding; start the next stream if there is one.
    fn next_stream(&mut self) -> io::Result<bool> {
        let mut zeros: u64 = 0;
        let more = loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                break false;
            }
            let n = buf.iter().take_while(|&&b| b == 0).count();
            let rest = n < buf.len();
            self.reader.consume(n);
            zeros += n as u64;
            if rest {
                break true;
            }
        };
        if !zeros.is_multiple_of(4) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "xz stream padding is not a multiple of four bytes",
            ));
        }
        if !more {
            return Ok(false);
        }
        if !self.reader.fill_buf()?.starts_with(XZ_MAGIC) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "data after the last xz stream is neither padding nor another xz stream",
            ));
        }
        self.stream = Self::stream(self.opts)?;
        Ok(true)
    }
}

impl<R: Read> Read for MultiXzDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use liblzma::stream::{Action, Status};
        loop {
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            if self.between {
                self.between = false;
                if !self.next_stream()? {
                    self.done = true;
                    return Ok(0);
                }
            }
            let input = self.reader.fill_buf()?;
            let eof = input.is_empty();
            let (before_in, before_out) = (self.stream.total_in(), self.stream.total_out());
            let action = if eof { Action::Finish } else { Action::Run };
            let limit = self.opts.xz_memlimit;
            let status = self
                .stream
                .process(input, buf, action)
                .map_err(|e| match e {
                    liblzma::stream::Error::MemLimit => io::Error::other(XzMemLimit { limit }),
                    e => io::Error::new(io::ErrorKind::InvalidData, format!("xz: {e}")),
                })?;
            let consumed = (self.stream.total_in() - before_in) as usize;
            let produced = (self.stream.total_out() - before_out) as usize;
            self.reader.consume(consumed);
            if status == Status::StreamEnd {
                if self.opts.xz_threads > 1 {
                    self.between = true;
                } else {
                    self.done = true;
                }
                if produced > 0 {
                    return Ok(produced);
                }
                continue;
            }
            if produced > 0 {
                return Ok(produced);
            }
            if eof {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the xz data is truncated (premature end of input)",
                ));
            }
            if consumed == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "corrupt xz stream",
                ));
            }
        }
    }
}

/// Encoding of a layer blob.
pub(crate) enum Encoder<W: Write> {
    /// Parallel deterministic gzip.
    Gzip(Box<crate::pargz::ParGzEncoder<W>>),
    /// zstd with its own worker threads.
    Zstd(Box<zstd::stream::write::Encoder<'static, W>>),
    /// Uncompressed tar.
    Plain(W),
}

/// Default gzip level for layers. Measured on a 274 MiB rootfs tar with 2
/// threads: level 6 took half the CPU time of `pigz -6` for 1.6% more bytes;
/// matching pigz's size takes level 9, at 2.4 times the CPU of level 6.
/// See `docs/performance.md`.
pub(crate) const DEFAULT_GZIP_LEVEL: u32 = 6;
/// Default zstd level for layers.
pub(crate) const DEFAULT_ZSTD_LEVEL: i32 = 3;

impl<W: Write> Encoder<W> {
    /// An encoder producing `encoding` into `inner`.
    ///
    /// The output depends only on the input bytes and the level: the gzip
    /// header has mtime 0, no name and OS byte 255; zstd always runs in its
    /// multi-threaded mode (with at least one worker), whose output does not
    /// depend on the number of workers; gzip is [`crate::pargz`], whose output
    /// does not depend on its thread count either.
    pub(crate) fn new(
        encoding: LayerEncoding,
        inner: W,
        level: Option<i32>,
        threads: u32,
    ) -> io::Result<Self> {
        Ok(match encoding {
            LayerEncoding::Gzip => {
                let level = level.map_or(DEFAULT_GZIP_LEVEL, |l| l.clamp(1, 9) as u32);
                Encoder::Gzip(Box::new(crate::pargz::ParGzEncoder::new(
                    inner,
                    level,
                    threads.max(1) as usize,
                )))
            }
            LayerEncoding::Zstd => {
                let mut e =
                    zstd::stream::write::Encoder::new(inner, level.unwrap_or(DEFAULT_ZSTD_LEVEL))?;
                e.include_checksum(true)?;
                e.multithread(threads.max(1))?;
                Encoder::Zstd(Box::new(e))
            }
            LayerEncoding::None => Encoder::Plain(inner),
        })
    }

    /// Write the trailer and return the inner writer. Must be called: nothing is finished on Drop.
    pub(crate) fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
            Encoder::Plain(w) => Ok(w),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
            Encoder::Plain(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
            Encoder::Plain(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(format: Compression, data: &[u8], threads: u32) -> io::Result<Vec<u8>> {
        let opts = DecodeOptions {
            xz_threads: threads,
            ..DecodeOptions::default()
        };
        let mut d = Decoder::new(format, data, opts)?;
        let mut out = Vec::new();
        d.read_to_end(&mut out)?;
        Ok(out)
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = Encoder::new(LayerEncoding::Gzip, Vec::new(), None, 1).unwrap();
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn xz(data: &[u8]) -> Vec<u8> {
        let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn detects_by_magic() {
        assert_eq!(detect(&gz(b"x")), Some(Compression::Gzip));
        assert_eq!(detect(&xz(b"x")), Some(Compression::Xz));
        assert_eq!(
            detect(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Some(Compression::Zstd)
        );
        assert_eq!(
            detect(&[0x5e, 0x2a, 0x4d, 0x18, 0]),
            Some(Compression::Zstd)
        );
        assert_eq!(detect(b"BZh91AY&SY"), Some(Compression::Bzip2));
        assert_eq!(detect(b"BZhx"), None);
        assert_eq!(detect(b"PK\x03\x04rest"), None);
        let mut h = tar::Header::new_ustar();
        h.set_path("a").unwrap();
        h.set_cksum();
        assert_eq!(detect(h.as_bytes()), Some(Compression::None));
        let mut bad = *h.as_bytes();
        bad[0] = b'b';
        assert_eq!(detect(&bad), None);
        // A tar whose first member is named like bzip2 magic is a tar.
        let mut bz = tar::Header::new_ustar();
        bz.set_path("BZh9notes").unwrap();
        bz.set_cksum();
        assert_eq!(detect(bz.as_bytes()), Some(Compression::None));
        assert!(
            describe_unknown(b"PK\x03\x04abcd")
                .starts_with("50 4b 03 04 61 62 63 64 \"PK..abcd\", a zip")
        );
    }

    #[test]
    fn gzip_header_is_deterministic() {
        let a = gz(b"hello");
        assert_eq!(&a[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
        assert_eq!(a, gz(b"hello"));
    }

    #[test]
    fn multi_member_gzip_decodes_fully() {
        let mut data = gz(b"hello ");
        data.extend(gz(b"world"));
        assert_eq!(
            decode_all(Compression::Gzip, &data, 1).unwrap(),
            b"hello world"
        );
    }

    #[test]
    fn concatenated_xz_with_padding_decodes_fully_any_threads() {
        let mut data = xz(b"hello ");
        data.extend([0u8; 8]);
        data.extend(xz(b"world"));
        for t in [1, 2] {
            assert_eq!(
                decode_all(Compression::Xz, &data, t).unwrap(),
                b"hello world",
                "threads {t}"
            );
        }
        // Padding that is not a multiple of 4 is refused.
        let mut bad = xz(b"hello ");
        bad.extend([0u8; 3]);
        bad.extend(xz(b"world"));
        for t in [1, 2] {
            assert!(decode_all(Compression::Xz, &bad, t).is_err(), "threads {t}");
        }
        // Garbage after the last stream is refused.
        let mut junk = xz(b"hello");
        junk.extend(b"junk");
        for t in [1, 2] {
            assert!(
                decode_all(Compression::Xz, &junk, t).is_err(),
                "threads {t}"
            );
        }
    }

    /// `xz(data)` whose block header asks for dictionary size `code`
    /// (LZMA2's encoding: 37 is 1536 MiB). liblzma's single-threaded output
    /// has one block, its header right after the 12-byte stream header:
    /// size, flags, LZMA2's id, one property byte (the dictionary size),
    /// padding, CRC32.
    fn xz_with_dictionary(data: &[u8], code: u8) -> Vec<u8> {
        let mut xz = xz(data);
        assert_eq!(xz[12..16], [0x02, 0x00, 0x21, 0x01]);
        xz[16] = code;
        let crc = crc32fast::hash(&xz[12..20]);
        xz[20..24].copy_from_slice(&crc.to_le_bytes());
        xz
    }

    #[test]
    fn an_xz_dictionary_over_the_memory_limit_is_not_corruption() {
        // The patch itself makes a valid stream: 2 MiB decodes.
        let small = xz_with_dictionary(b"hello", 18);
        for t in [1, 2] {
            assert_eq!(decode_all(Compression::Xz, &small, t).unwrap(), b"hello");
        }
        let big = xz_with_dictionary(b"hello", 37);
        for t in [1, 2] {
            let e = decode_all(Compression::Xz, &big, t).unwrap_err();
            let m = e.get_ref().and_then(|i| i.downcast_ref::<XzMemLimit>());
            assert_eq!(m, Some(&XzMemLimit { limit: 1 << 30 }), "threads {t}: {e}");
            assert_eq!(
                e.to_string(),
                "the xz data needs more than 1024 MiB of memory to decode, the decoder's fixed limit"
            );
        }
    }

    #[test]
    fn truncated_inputs_are_errors() {
        let data = vec![42u8; 100_000];
        let g = gz(&data);
        assert!(decode_all(Compression::Gzip, &g[..g.len() - 4], 1).is_err());
        let x = xz(&data);
        for t in [1, 2] {
            assert!(decode_all(Compression::Xz, &x[..x.len() - 4], t).is_err());
        }
        let z = zstd::encode_all(&data[..], 3).unwrap();
        assert!(decode_all(Compression::Zstd, &z[..z.len() - 4], 1).is_err());
    }

    #[test]
    fn zstd_skippable_and_multiple_frames() {
        let mut data = vec![0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3];
        data.extend(zstd::encode_all(&b"hello "[..], 3).unwrap());
        data.extend([0x5f, 0x2a, 0x4d, 0x18, 0, 0, 0, 0]);
        data.extend(zstd::encode_all(&b"world"[..], 3).unwrap());
        assert_eq!(detect(&data), Some(Compression::Zstd));
        assert_eq!(
            decode_all(Compression::Zstd, &data, 1).unwrap(),
            b"hello world"
        );
    }

    #[test]
    fn zstd_output_same_for_any_thread_count() {
        let data: Vec<u8> = (0..3_000_000u32)
            .map(|i| (i % 251) as u8 ^ (i >> 13) as u8)
            .collect();
        let enc = |t| {
            let mut e = Encoder::new(LayerEncoding::Zstd, Vec::new(), None, t).unwrap();
            e.write_all(&data).unwrap();
            e.finish().unwrap()
        };
        let one = enc(1);
        assert_eq!(one, enc(2));
        assert_eq!(one, enc(4));
    }
}
