//! ARM EABI build attributes: the `.ARM.attributes` section found by its
//! `aeabi` pattern as the content streams by, and parsed byte by byte for
//! `Tag_CPU_arch`, which gives the variant.

use super::elf::read_u32;

/// `A` (attributes format version), u32 length, then the `aeabi` vendor
/// name: the start of the `.ARM.attributes` section content.
const ATTR_PATTERN_LEN: usize = 11;
const ATTR_VENDOR: &[u8; 6] = b"aeabi\0";
/// Bytes kept across chunks so a pattern split between chunks is found.
const CARRY_LEN: usize = ATTR_PATTERN_LEN - 1;
/// Sanity bounds on the vendor subsection length, to reject random bytes that
/// happen to look like the pattern. Real ones are well under 1 KiB.
const ATTR_MIN_LEN: u32 = 4 + 6 + 5;
const ATTR_MAX_LEN: u32 = 1 << 20;
const TAG_FILE: u64 = 1;
const TAG_CPU_RAW_NAME: u64 = 4;
const TAG_CPU_NAME: u64 = 5;
const TAG_CPU_ARCH: u64 = 6;
const TAG_COMPATIBILITY: u64 = 32;
/// ULEB128 values longer than this cannot be a sane attribute.
const ULEB_MAX_BYTES: u8 = 10;

/// The OCI variant for an ARM EABI `Tag_CPU_arch` value.
pub(super) fn arm_variant(cpu_arch: u64) -> Option<&'static str> {
    match cpu_arch {
        1..=5 => Some("v5"),
        6..=9 | 11 | 12 => Some("v6"),
        10 | 13 => Some("v7"),
        14.. => Some("v8"),
        0 => None,
    }
}

/// Sliding-window search for `A <u32 len> aeabi\0`, carrying the last
/// [`CARRY_LEN`] bytes over chunk boundaries.
#[derive(Debug, Default)]
pub(super) struct Scanner {
    carry: [u8; CARRY_LEN],
    carry_len: usize,
}

impl Scanner {
    /// Finds the first plausible pattern in `carry ++ data`. Returns the index
    /// in `data` just after the pattern and the subsection length, or `None`
    /// after remembering the tail of the data for the next chunk.
    pub(super) fn find(&mut self, data: &[u8], be: bool) -> Option<(usize, u32)> {
        let carry_len = self.carry_len;
        let total = carry_len + data.len();
        let at = |i: usize| -> u8 {
            if i < carry_len {
                self.carry[i]
            } else {
                data[i - carry_len]
            }
        };
        let check = |s: usize| -> Option<u32> {
            if at(s) != b'A' || (0..ATTR_VENDOR.len()).any(|k| at(s + 5 + k) != ATTR_VENDOR[k]) {
                return None;
            }
            let len = read_u32([at(s + 1), at(s + 2), at(s + 3), at(s + 4)], be);
            (ATTR_MIN_LEN..=ATTR_MAX_LEN).contains(&len).then_some(len)
        };
        // Patterns starting in the carried bytes (and ending in `data`).
        for s in 0..carry_len {
            if s + ATTR_PATTERN_LEN > total {
                break;
            }
            if let Some(len) = check(s) {
                self.carry_len = 0;
                return Some((s + ATTR_PATTERN_LEN - carry_len, len));
            }
        }
        // Patterns entirely within `data`; jump between `A` bytes.
        let mut j = 0;
        while j + ATTR_PATTERN_LEN <= data.len() {
            let Some(off) = data[j..=data.len() - ATTR_PATTERN_LEN]
                .iter()
                .position(|&b| b == b'A')
            else {
                break;
            };
            j += off;
            if let Some(len) = check(carry_len + j) {
                self.carry_len = 0;
                return Some((j + ATTR_PATTERN_LEN, len));
            }
            j += 1;
        }
        // Keep the last bytes: a pattern may straddle this chunk's end.
        let keep = total.min(CARRY_LEN);
        let mut next = [0u8; CARRY_LEN];
        for (k, slot) in next.iter_mut().take(keep).enumerate() {
            *slot = at(total - keep + k);
        }
        self.carry = next;
        self.carry_len = keep;
        None
    }
}

/// Outcome of one byte of attribute parsing.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    More,
    /// Found Tag_CPU_arch with this value.
    Arch(u64),
    /// Well-formed attributes without Tag_CPU_arch.
    NoArch,
    /// Not actually an attributes section.
    Bogus,
}

/// Incremental ULEB128 decoder.
#[derive(Debug, Default, Clone, Copy)]
struct Uleb {
    value: u64,
    bytes: u8,
}

impl Uleb {
    /// Adds a byte; `Ok(Some(v))` when complete, `Err(())` when too long.
    fn push(&mut self, b: u8) -> Result<Option<u64>, ()> {
        if self.bytes >= ULEB_MAX_BYTES {
            return Err(());
        }
        let shift = 7 * u32::from(self.bytes);
        self.value |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
        self.bytes += 1;
        Ok((b & 0x80 == 0).then_some(self.value))
    }
}

/// Parses the `aeabi` vendor subsection, byte by byte.
#[derive(Debug)]
pub(super) struct AttrParser {
    big_endian: bool,
    /// Bytes left in the vendor subsection.
    sub_left: u64,
    /// Bytes left in the current Tag_File sub-subsection (when inside one).
    file_left: u64,
    step: AttrStep,
}

#[derive(Debug)]
enum AttrStep {
    /// Reading a sub-subsection tag (Tag_File, Tag_Section, Tag_Symbol).
    SubTag(Uleb),
    /// Reading a sub-subsection's u32 size.
    SubSize {
        tag: u64,
        tag_len: u8,
        buf: [u8; 4],
        n: u8,
    },
    /// Skipping a Tag_Section/Tag_Symbol sub-subsection.
    SkipSub(u64),
    /// Reading an attribute tag inside Tag_File.
    Tag(Uleb),
    /// Reading an attribute's ULEB128 value; `then_string` for
    /// Tag_compatibility, whose flag is followed by a string.
    Value {
        tag: u64,
        uleb: Uleb,
        then_string: bool,
    },
    /// Skipping a NUL-terminated string value.
    Ntbs,
}

impl AttrParser {
    pub(super) fn new(subsection_len: u32, big_endian: bool) -> Self {
        AttrParser {
            big_endian,
            // The length counts itself and the vendor name (the scanner
            // guarantees it is at least ATTR_MIN_LEN).
            sub_left: u64::from(subsection_len).saturating_sub(4 + ATTR_VENDOR.len() as u64),
            file_left: 0,
            step: AttrStep::SubTag(Uleb::default()),
        }
    }

    pub(super) fn step(&mut self, b: u8) -> Step {
        if self.sub_left == 0 {
            return Step::NoArch;
        }
        self.sub_left -= 1;
        let inside_file = matches!(
            self.step,
            AttrStep::Tag(_) | AttrStep::Value { .. } | AttrStep::Ntbs
        );
        if inside_file {
            // Sizes were validated against sub_left, so this cannot underflow;
            // saturate anyway rather than trust it.
            self.file_left = self.file_left.saturating_sub(1);
        }
        let result = self.advance(b);
        if result == Step::More {
            let file_done = inside_file && self.file_left == 0;
            if file_done || self.sub_left == 0 {
                // Tag_File ended (or the subsection did) without Tag_CPU_arch.
                return match self.step {
                    AttrStep::Tag(u) if u.bytes == 0 => Step::NoArch,
                    AttrStep::SubTag(u) if u.bytes == 0 => Step::NoArch,
                    _ => Step::Bogus,
                };
            }
        }
        result
    }

    /// A sub-subsection of `size` bytes (counting its tag of `tag_len`
    /// bytes and the size itself) starts: read Tag_File, skip the others.
    fn enter_sub(&mut self, tag: u64, tag_len: u8, size: u64) -> Step {
        let header = u64::from(tag_len) + 4;
        // The size covers the tag and itself and must fit the subsection.
        if size <= header || size - header > self.sub_left {
            return Step::Bogus;
        }
        let body = size - header;
        if tag == TAG_FILE {
            self.file_left = body;
            self.step = AttrStep::Tag(Uleb::default());
        } else {
            self.step = AttrStep::SkipSub(body);
        }
        Step::More
    }

    fn advance(&mut self, b: u8) -> Step {
        match &mut self.step {
            AttrStep::SubTag(uleb) => match uleb.push(b) {
                Err(()) => Step::Bogus,
                Ok(None) => Step::More,
                Ok(Some(tag @ 1..=3)) => {
                    let tag_len = uleb.bytes;
                    self.step = AttrStep::SubSize {
                        tag,
                        tag_len,
                        buf: [0; 4],
                        n: 0,
                    };
                    Step::More
                }
                Ok(Some(_)) => Step::Bogus,
            },
            AttrStep::SubSize {
                tag,
                tag_len,
                buf,
                n,
            } => {
                buf[usize::from(*n)] = b;
                *n += 1;
                if *n < 4 {
                    return Step::More;
                }
                let size = u64::from(read_u32(*buf, self.big_endian));
                let (tag, tag_len) = (*tag, *tag_len);
                self.enter_sub(tag, tag_len, size)
            }
            AttrStep::SkipSub(left) => {
                *left = left.saturating_sub(1);
                if *left == 0 {
                    self.step = AttrStep::SubTag(Uleb::default());
                }
                Step::More
            }
            AttrStep::Tag(uleb) => match uleb.push(b) {
                Err(()) => Step::Bogus,
                Ok(None) => Step::More,
                Ok(Some(tag)) => {
                    self.step = attr_value(tag);
                    Step::More
                }
            },
            AttrStep::Value {
                tag,
                uleb,
                then_string,
            } => match uleb.push(b) {
                Err(()) => Step::Bogus,
                Ok(None) => Step::More,
                Ok(Some(v)) => {
                    if *tag == TAG_CPU_ARCH {
                        return Step::Arch(v);
                    }
                    self.step = if *then_string {
                        AttrStep::Ntbs
                    } else {
                        AttrStep::Tag(Uleb::default())
                    };
                    Step::More
                }
            },
            AttrStep::Ntbs => {
                if b == 0 {
                    self.step = AttrStep::Tag(Uleb::default());
                }
                Step::More
            }
        }
    }
}

/// How the value of attribute `tag` is read.
fn attr_value(tag: u64) -> AttrStep {
    if is_string_attr(tag) {
        AttrStep::Ntbs
    } else {
        AttrStep::Value {
            tag,
            uleb: Uleb::default(),
            then_string: tag == TAG_COMPATIBILITY,
        }
    }
}

/// ARM EABI attribute value types: the CPU names are strings, tags up to 32
/// are ULEB128, and above 32 odd tags are strings (Tag_also_compatible_with,
/// Tag_conformance, which binutils emits first) and even ones ULEB128.
fn is_string_attr(tag: u64) -> bool {
    matches!(tag, TAG_CPU_RAW_NAME | TAG_CPU_NAME) || (tag > TAG_COMPATIBILITY && tag % 2 == 1)
}

#[cfg(test)]
mod tests {
    use crate::platform::ElfSniffer;
    use crate::platform::elf::EM_ARM;
    use crate::platform::tests::{arm_attributes, arm_file, elf_header, plat, sniff, sniff_chunks};

    #[test]
    fn armv7_and_armv6_any_chunking() {
        let v7 = arm_file("7-A", 10);
        let v6 = arm_file("6KZ", 7);
        // sniff() compares 1-byte, odd-sized and whole-file feeding.
        assert_eq!(sniff_chunks(&v7, 1), plat("arm", Some("v7")));
        assert_eq!(sniff_chunks(&v7, v7.len()), plat("arm", Some("v7")));
        assert_eq!(sniff(&v7), plat("arm", Some("v7")));
        assert_eq!(sniff(&v6), plat("arm", Some("v6")));
        assert_eq!(sniff(&arm_file("5TE", 4)), plat("arm", Some("v5")));
        assert_eq!(sniff(&arm_file("8-A", 14)), plat("arm", Some("v8")));
        assert_eq!(sniff(&arm_file("7E-M", 13)), plat("arm", Some("v7")));
    }

    #[test]
    fn arm_sniffer_stops_once_variant_known() {
        let f = arm_file("7-A", 10);
        let mut s = ElfSniffer::new();
        let mut fed = 0;
        for c in f.chunks(1) {
            if !s.wants_more() {
                break;
            }
            s.feed(c);
            fed += 1;
        }
        assert!(fed < f.len(), "stopped before the trailing bytes");
        assert_eq!(s.finish(), plat("arm", Some("v7")));
    }

    #[test]
    fn big_endian_arm_attributes() {
        let mut f = elf_header(false, true, EM_ARM, 0);
        f.extend_from_slice(&[0u8; 100]);
        f.extend_from_slice(&arm_attributes("6", 6, true));
        assert_eq!(sniff(&f), plat("arm", Some("v6")));
    }

    #[test]
    fn arm_without_attributes_has_no_variant() {
        let mut f = elf_header(false, false, EM_ARM, 0);
        f.extend_from_slice(&[0x41; 500]);
        f.extend_from_slice(b"A\x20\0\0\0aeabi\0\xff\xff"); // decoy cut short
        assert_eq!(sniff(&f), plat("arm", None));
    }

    #[test]
    fn arm_bogus_pattern_then_real_one() {
        let mut f = elf_header(false, false, EM_ARM, 0);
        // Pattern-shaped bytes whose sub-subsection tag is not 1..=3.
        f.extend_from_slice(b"A\x40\0\0\0aeabi\0\x09\0\0\0\0");
        f.extend_from_slice(&[0x11; 50]);
        f.extend_from_slice(&arm_attributes("7-A", 10, false));
        assert_eq!(sniff(&f), plat("arm", Some("v7")));
    }

    #[test]
    fn attributes_without_cpu_arch() {
        let mut f = elf_header(false, false, EM_ARM, 0);
        // Tag_File holding only Tag_CPU_name.
        let body = b"\x05X\0";
        let mut sub = b"aeabi\0\x01".to_vec();
        sub.extend_from_slice(&(5 + body.len() as u32).to_le_bytes());
        sub.extend_from_slice(body);
        let mut attrs = vec![b'A'];
        attrs.extend_from_slice(&(sub.len() as u32 + 4).to_le_bytes());
        attrs.extend_from_slice(&sub);
        f.extend_from_slice(&attrs);
        let mut s = ElfSniffer::new();
        s.feed(&f);
        assert!(!s.wants_more());
        assert_eq!(s.finish(), plat("arm", None));
    }
}
