//! zstd frames, decoded within the window the user allows, and refusals
//! that say what a frame needs instead of zstd's terse error names.

use std::fmt;
use std::io::{self, BufReader, Read};

use super::DecodeOptions;
use super::framing::{MAX_ZSTD_WINDOW, UnsafeFraming, zstd_frame_header};

/// The largest window libzstd decodes on 64-bit hosts (`ZSTD_WINDOWLOG_MAX_64`).
pub const MAX_WINDOW: u64 = 1 << 31;
/// The first frame header is at most this long.
const FRAME_HEADER_MAX: usize = 18;

/// zstd data that is not corrupt but cannot be decoded as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ZstdRefusal {
    /// A frame needs a larger window than allowed.
    Window {
        /// The window the frame needs, when it is the first frame.
        needed: Option<u64>,
        /// The largest window allowed, in bytes.
        allowed: u64,
    },
    /// A frame was compressed with a dictionary we do not have.
    Dictionary {
        /// The dictionary's id, when the first frame names it.
        id: Option<u32>,
    },
}

impl fmt::Display for ZstdRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZstdRefusal::Window {
                needed: Some(n),
                allowed,
            } => write!(
                f,
                "the zstd frame needs a {} window, more than the {} allowed",
                size(*n),
                size(*allowed)
            ),
            ZstdRefusal::Window {
                needed: None,
                allowed,
            } => write!(
                f,
                "a zstd frame needs a window larger than the {} allowed",
                size(*allowed)
            ),
            ZstdRefusal::Dictionary { id: Some(id) } => write!(
                f,
                "the zstd data was compressed with dictionary {id}, which the consumers do not have either"
            ),
            ZstdRefusal::Dictionary { id: None } => f.write_str(
                "the zstd data was compressed with a dictionary, which the consumers do not have either",
            ),
        }
    }
}

/// A window size in MiB, or KiB below one MiB, rounded up.
fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes.div_ceil(1 << 20))
    } else {
        format!("{} KiB", bytes.div_ceil(1 << 10))
    }
}

impl std::error::Error for ZstdRefusal {}

/// The smallest power of two that is at least `window`, as a window log,
/// within what libzstd accepts (1 KiB to [`MAX_WINDOW`]).
pub(super) fn window_log(window: u64) -> u32 {
    let log = 64 - window.saturating_sub(1).leading_zeros();
    log.clamp(10, MAX_WINDOW.trailing_zeros())
}

/// Keeps the first bytes that pass, for the frame header an error names.
struct HeadTap<R> {
    inner: R,
    head: [u8; FRAME_HEADER_MAX],
    len: usize,
}

impl<R: Read> Read for HeadTap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let take = n.min(FRAME_HEADER_MAX - self.len);
        self.head[self.len..self.len + take].copy_from_slice(&buf[..take]);
        self.len += take;
        Ok(n)
    }
}

/// Every zstd frame of `R`, with the window limit of [`DecodeOptions`].
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct ZstdDecoder<R: Read> {
    inner: zstd::stream::read::Decoder<'static, BufReader<HeadTap<R>>>,
    /// The limit the decoder was given, in bytes.
    limit: u64,
    /// The user's limit is above the consumers': a frame between the two
    /// makes the input unfit as a layer, not undecodable.
    consumers_limit_only: bool,
}

impl<R: Read> ZstdDecoder<R> {
    /// A decoder over `inner`. When the input's bytes become the layer
    /// (`consumer_safe`), frames are held to the consumers' window limit.
    pub(crate) fn new(inner: R, opts: DecodeOptions) -> io::Result<Self> {
        let tap = HeadTap {
            inner,
            head: [0; FRAME_HEADER_MAX],
            len: 0,
        };
        let mut d = zstd::stream::read::Decoder::new(tap)?;
        let user = 1u64 << window_log(opts.zstd_max_window);
        let consumers_limit_only = opts.consumer_safe && user > MAX_ZSTD_WINDOW;
        let limit = if consumers_limit_only {
            MAX_ZSTD_WINDOW
        } else {
            user
        };
        d.window_log_max(window_log(limit))?;
        Ok(ZstdDecoder {
            inner: d,
            limit,
            consumers_limit_only,
        })
    }

    /// The inner reader, once decoding is complete.
    pub(crate) fn into_inner(self) -> R {
        self.inner.finish().into_inner().inner
    }

    /// zstd's error names, for the two refusals that are not corruption,
    /// turned into what the frame needs.
    fn refusal(&self, e: io::Error) -> io::Error {
        let msg = e.to_string();
        let tap = self.inner.get_ref().get_ref();
        let first = zstd_frame_header(&tap.head[..tap.len]);
        let refusal = if msg.contains("Frame requires too much memory") {
            // The first frame's window, if that is the one refused.
            let needed = first.and_then(|h| h.window).filter(|&w| w > self.limit);
            if self.consumers_limit_only {
                return io::Error::new(
                    io::ErrorKind::InvalidData,
                    UnsafeFraming(format!(
                        "a zstd frame has a window over {} MiB, which the zstd CLI (used by containers/storage) refuses",
                        MAX_ZSTD_WINDOW >> 20
                    )),
                );
            }
            ZstdRefusal::Window {
                needed,
                allowed: self.limit,
            }
        } else if msg.contains("Dictionary mismatch") {
            ZstdRefusal::Dictionary {
                id: first.and_then(|h| h.dictionary),
            }
        } else {
            return e;
        };
        io::Error::new(io::ErrorKind::InvalidData, refusal)
    }
}

impl<R: Read> Read for ZstdDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| self.refusal(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(data: &[u8], opts: DecodeOptions) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        ZstdDecoder::new(data, opts)?.read_to_end(&mut out)?;
        Ok(out)
    }

    /// A frame with a 2 GiB window: `zstd --long=31` of a stream of unknown size.
    fn long31(data: &[u8]) -> Vec<u8> {
        let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        e.long_distance_matching(true).unwrap();
        e.window_log(31).unwrap();
        std::io::Write::write_all(&mut e, data).unwrap();
        e.finish().unwrap()
    }

    fn refusal(e: &io::Error) -> Option<&ZstdRefusal> {
        e.get_ref().and_then(|i| i.downcast_ref::<ZstdRefusal>())
    }

    #[test]
    fn small_limits_are_said_in_kib() {
        let r = ZstdRefusal::Window {
            needed: Some(8 << 20),
            allowed: 128 << 10,
        };
        assert_eq!(
            r.to_string(),
            "the zstd frame needs a 8 MiB window, more than the 128 KiB allowed"
        );
    }

    #[test]
    fn window_logs_round_up() {
        assert_eq!(window_log(128 << 20), 27);
        assert_eq!(window_log((128 << 20) + 1), 28);
        assert_eq!(window_log(1), 10);
        assert_eq!(window_log(u64::MAX), 31);
    }

    #[test]
    fn a_window_over_the_limit_says_what_it_needs_and_a_larger_limit_decodes_it() {
        let data = b"hello ".repeat(1000);
        let z = long31(&data);
        let e = decode(&z, DecodeOptions::default()).unwrap_err();
        assert_eq!(
            refusal(&e),
            Some(&ZstdRefusal::Window {
                needed: Some(1 << 31),
                allowed: 128 << 20
            })
        );
        assert_eq!(
            e.to_string(),
            "the zstd frame needs a 2048 MiB window, more than the 128 MiB allowed"
        );
        let opts = DecodeOptions {
            zstd_max_window: 2 << 30,
            ..DecodeOptions::default()
        };
        assert_eq!(decode(&z, opts).unwrap(), data);
        // Kept as the layer: the consumers' limit holds, and the frame makes
        // the input unfit as a layer rather than undecodable.
        let safe = DecodeOptions {
            consumer_safe: true,
            ..opts
        };
        let e = decode(&z, safe).unwrap_err();
        let u = e.get_ref().and_then(|i| i.downcast_ref::<UnsafeFraming>());
        assert!(u.is_some_and(|u| u.0.contains("over 128 MiB")), "{e}");
    }

    #[test]
    fn a_dictionary_frame_names_its_dictionary() {
        // A frame naming dictionary 7 (a one-byte id after the window
        // descriptor), as `zstd -D DICT` writes for a trained dictionary.
        let mut z = zstd::stream::encode_all(&b"abc".repeat(100)[..], 3).unwrap();
        assert_eq!(z[4] & 0x23, 0, "no dictionary id, not single-segment");
        z[4] |= 1;
        z.insert(6, 7);
        assert_eq!(zstd_frame_header(&z).and_then(|h| h.dictionary), Some(7));
        let e = decode(&z, DecodeOptions::default()).unwrap_err();
        assert_eq!(
            refusal(&e),
            Some(&ZstdRefusal::Dictionary { id: Some(7) }),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "the zstd data was compressed with dictionary 7, which the consumers do not have either"
        );
    }

    #[test]
    fn corruption_is_left_as_zstd_says_it() {
        let mut z = zstd::encode_all(&b"abc".repeat(100)[..], 3).unwrap();
        let n = z.len();
        z[n - 5] ^= 0xff;
        let e = decode(&z, DecodeOptions::default()).unwrap_err();
        assert!(refusal(&e).is_none(), "{e}");
    }
}
