//! Detect the image platform (GOARCH and variant) from the ELF binaries of a
//! rootfs while its tar stream goes by.
//!
//! The caller asks [`is_candidate`] for every regular file, feeds the content
//! of each candidate to an [`ElfSniffer`] chunk by chunk, and adds what the
//! sniffer found to a [`PlatformTally`], whose [`PlatformTally::result`] is
//! the majority platform.
//!
//! Everything here works in constant memory per file and gives the same
//! answer whatever the chunk sizes are: the sniffer is a byte-driven state
//! machine whose only buffers are the ELF header and a ten-byte carry-over.

use std::collections::BTreeMap;
use std::fmt;

/// Whether a tar entry path is worth sniffing: an executable directory
/// (`bin/`, `sbin/`, `usr/bin/`, `usr/sbin/`, at any depth below them) or the
/// dynamic loader in a `lib*` directory (`lib*/` or `usr/lib*/`, directly or
/// one multiarch directory deeper, e.g. `lib/x86_64-linux-gnu/`).
///
/// A leading `./` or `/`, repeated slashes and `.` components are ignored.
pub fn is_candidate(path: &str) -> bool {
    let mut comps = path.split('/').filter(|c| !c.is_empty() && *c != ".");
    match comps.next() {
        Some("bin" | "sbin") => comps.next().is_some(),
        Some("usr") => match comps.next() {
            Some("bin" | "sbin") => comps.next().is_some(),
            Some(dir) if dir.starts_with("lib") => loader_below_lib(comps),
            _ => false,
        },
        Some(dir) if dir.starts_with("lib") => loader_below_lib(comps),
        _ => false,
    }
}

/// `rest` are the components after a `lib*` directory. Debian-likes keep the
/// real loader one level down (`lib/<triplet>/`) and only symlink it from
/// `lib64/`, so one intermediate directory is allowed; deeper trees are
/// typically cross sysroots or debug files that say nothing about the image.
fn loader_below_lib<'a>(rest: impl Iterator<Item = &'a str>) -> bool {
    let rest: [Option<&str>; 3] = {
        let mut it = rest;
        [it.next(), it.next(), it.next()]
    };
    match rest {
        [Some(name), None, None] | [Some(_), Some(name), None] => is_loader_name(name),
        _ => false,
    }
}

/// Matches `ld(64)?(-anything)?.so(.N)*`: `ld-linux-x86-64.so.2`,
/// `ld-musl-x86_64.so.1`, `ld-linux.so.2`, `ld.so.1`, `ld64.so.2` and the
/// versioned real file of old glibc, `ld-2.28.so`.
fn is_loader_name(name: &str) -> bool {
    let mut stem = name;
    // Strip the trailing `.N` version suffixes.
    while let Some((head, tail)) = stem.rsplit_once('.') {
        if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            stem = head;
        } else {
            break;
        }
    }
    let Some(stem) = stem.strip_suffix(".so") else {
        return false;
    };
    let rest = stem
        .strip_prefix("ld64")
        .or_else(|| stem.strip_prefix("ld"));
    match rest {
        Some("") => true,
        Some(r) => r.len() > 1 && r.starts_with('-'),
        None => false,
    }
}

/// The platform one ELF file was built for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfPlatform {
    /// GOARCH name, e.g. `amd64`, `arm64`, `arm`, `ppc64le`.
    pub architecture: String,
    /// Architecture variant: `v8` for arm64, `v5`..`v8` for 32-bit arm when
    /// the file carries ARM build attributes, otherwise `None`.
    pub variant: Option<String>,
}

impl fmt::Display for ElfPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.variant {
            Some(v) => write!(f, "{}/{}", self.architecture, v),
            None => f.write_str(&self.architecture),
        }
    }
}

const ELF_MAGIC: [u8; 4] = [0x7f, b'E', b'L', b'F'];
const ELFCLASS32: u8 = 1;
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const ELFDATA2MSB: u8 = 2;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const EM_386: u16 = 3;
const EM_MIPS: u16 = 8;
const EM_PPC64: u16 = 21;
const EM_S390: u16 = 22;
const EM_ARM: u16 = 40;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const EM_RISCV: u16 = 243;
const EM_LOONGARCH: u16 = 258;
/// MIPS n32 ABI: a 32-bit ELF that needs a 64-bit CPU.
const EF_MIPS_ABI2: u32 = 0x20;
/// Bytes needed to know magic, class and data encoding.
const IDENT_LEN: usize = 6;

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

/// Sniffs one file's content for its ELF platform, fed chunk by chunk.
#[derive(Debug)]
pub struct ElfSniffer {
    header: [u8; 64],
    header_len: usize,
    big_endian: bool,
    platform: Option<ElfPlatform>,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Collecting the ELF header.
    Header,
    /// 32-bit ARM: looking for the `.ARM.attributes` content.
    Scan(Scanner),
    /// Inside the `aeabi` attributes subsection.
    Attr(AttrParser),
    /// Nothing more to learn.
    Done,
}

impl Default for ElfSniffer {
    fn default() -> Self {
        Self::new()
    }
}

impl ElfSniffer {
    /// A sniffer for a new file.
    pub fn new() -> Self {
        ElfSniffer {
            header: [0; 64],
            header_len: 0,
            big_endian: false,
            platform: None,
            state: State::Header,
        }
    }

    /// Feed the next chunk of the file's content (any size, in order).
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match &mut self.state {
                State::Done => return,
                State::Header => {
                    let used = self.feed_header(data);
                    data = &data[used..];
                }
                State::Scan(scanner) => match scanner.find(data, self.big_endian) {
                    Some((after, len)) => {
                        self.state = State::Attr(AttrParser::new(len, self.big_endian));
                        data = &data[after..];
                    }
                    None => return,
                },
                State::Attr(parser) => {
                    let mut outcome = None;
                    let mut used = data.len();
                    for (i, &b) in data.iter().enumerate() {
                        match parser.step(b) {
                            Step::More => {}
                            other => {
                                outcome = Some(other);
                                used = i + 1;
                                break;
                            }
                        }
                    }
                    data = &data[used..];
                    match outcome {
                        None | Some(Step::More) => {}
                        Some(Step::Arch(arch)) => {
                            if let Some(p) = &mut self.platform {
                                p.variant = arm_variant(arch).map(str::to_owned);
                            }
                            self.state = State::Done;
                        }
                        Some(Step::NoArch) => self.state = State::Done,
                        // Random bytes that looked like the pattern: resume
                        // scanning after them.
                        Some(Step::Bogus) => self.state = State::Scan(Scanner::default()),
                    }
                }
            }
        }
    }

    /// Whether feeding more content could change the result. `false` once
    /// the file is known not to be a usable ELF, or everything is known.
    pub fn wants_more(&self) -> bool {
        !matches!(self.state, State::Done)
    }

    /// The platform found, or `None` for a non-ELF, truncated or unknown
    /// ELF file.
    pub fn finish(self) -> Option<ElfPlatform> {
        self.platform
    }

    /// Consumes header bytes from `data`, returning how many were used.
    fn feed_header(&mut self, data: &[u8]) -> usize {
        let mut used = 0;
        while used < data.len() {
            let need = if self.header_len < IDENT_LEN {
                IDENT_LEN
            } else if self.header[4] == ELFCLASS64 {
                64
            } else {
                52
            };
            let take = (need - self.header_len).min(data.len() - used);
            self.header[self.header_len..self.header_len + take]
                .copy_from_slice(&data[used..used + take]);
            self.header_len += take;
            used += take;

            // Reject non-ELF content as early as possible.
            let magic_len = self.header_len.min(ELF_MAGIC.len());
            if self.header[..magic_len] != ELF_MAGIC[..magic_len] {
                self.state = State::Done;
                return used;
            }
            if self.header_len == IDENT_LEN {
                let class_ok = matches!(self.header[4], ELFCLASS32 | ELFCLASS64);
                let data_ok = matches!(self.header[5], ELFDATA2LSB | ELFDATA2MSB);
                if !class_ok || !data_ok {
                    self.state = State::Done;
                    return used;
                }
                self.big_endian = self.header[5] == ELFDATA2MSB;
            } else if self.header_len == need {
                self.parse_header();
                return used;
            }
        }
        used
    }

    /// Decides the platform from the complete header and the next state.
    fn parse_header(&mut self) {
        let h = &self.header;
        let is64 = h[4] == ELFCLASS64;
        let be = self.big_endian;
        let e_type = read_u16(h[16], h[17], be);
        let e_machine = read_u16(h[18], h[19], be);
        let flags_at = if is64 { 48 } else { 36 };
        let e_flags = read_u32(
            [
                h[flags_at],
                h[flags_at + 1],
                h[flags_at + 2],
                h[flags_at + 3],
            ],
            be,
        );
        self.state = State::Done;
        // Object files and core dumps are not what the image runs.
        if e_type != ET_EXEC && e_type != ET_DYN {
            return;
        }
        let Some(arch) = goarch(e_machine, is64, be, e_flags) else {
            return;
        };
        let variant = (arch == "arm64").then(|| "v8".to_owned());
        if arch == "arm" {
            self.state = State::Scan(Scanner::default());
        }
        self.platform = Some(ElfPlatform {
            architecture: arch.to_owned(),
            variant,
        });
    }
}

/// GOARCH for an ELF machine, class and byte order; `None` for machines with
/// no Linux GOARCH (e.g. 32-bit ppc, riscv32, s390).
fn goarch(machine: u16, is64: bool, be: bool, flags: u32) -> Option<&'static str> {
    let arch = match (machine, is64) {
        (EM_X86_64, _) => "amd64", // 32-bit here is x32, which needs an amd64 CPU
        (EM_386, false) => "386",
        (EM_AARCH64, _) => "arm64", // 32-bit here is ILP32 on an arm64 CPU
        (EM_ARM, false) => "arm",
        (EM_PPC64, true) if be => "ppc64",
        (EM_PPC64, true) => "ppc64le",
        (EM_S390, true) => "s390x",
        (EM_RISCV, true) => "riscv64",
        (EM_LOONGARCH, true) => "loong64",
        (EM_MIPS, true) if be => "mips64",
        (EM_MIPS, true) => "mips64le",
        // n32 binaries only run on 64-bit MIPS CPUs.
        (EM_MIPS, false) if flags & EF_MIPS_ABI2 != 0 && be => "mips64",
        (EM_MIPS, false) if flags & EF_MIPS_ABI2 != 0 => "mips64le",
        (EM_MIPS, false) if be => "mips",
        (EM_MIPS, false) => "mipsle",
        _ => return None,
    };
    Some(arch)
}

/// The OCI variant for an ARM EABI `Tag_CPU_arch` value.
fn arm_variant(cpu_arch: u64) -> Option<&'static str> {
    match cpu_arch {
        1..=5 => Some("v5"),
        6..=9 | 11 | 12 => Some("v6"),
        10 | 13 => Some("v7"),
        14.. => Some("v8"),
        0 => None,
    }
}

fn read_u16(a: u8, b: u8, be: bool) -> u16 {
    if be {
        u16::from_be_bytes([a, b])
    } else {
        u16::from_le_bytes([a, b])
    }
}

fn read_u32(b: [u8; 4], be: bool) -> u32 {
    if be {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

/// Sliding-window search for `A <u32 len> aeabi\0`, carrying the last
/// [`CARRY_LEN`] bytes over chunk boundaries.
#[derive(Debug, Default)]
struct Scanner {
    carry: [u8; CARRY_LEN],
    carry_len: usize,
}

impl Scanner {
    /// Finds the first plausible pattern in `carry ++ data`. Returns the index
    /// in `data` just after the pattern and the subsection length, or `None`
    /// after remembering the tail of the data for the next chunk.
    fn find(&mut self, data: &[u8], be: bool) -> Option<(usize, u32)> {
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
enum Step {
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
struct AttrParser {
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
    fn new(subsection_len: u32, big_endian: bool) -> Self {
        AttrParser {
            big_endian,
            // The length counts itself and the vendor name (the scanner
            // guarantees it is at least ATTR_MIN_LEN).
            sub_left: u64::from(subsection_len).saturating_sub(4 + ATTR_VENDOR.len() as u64),
            file_left: 0,
            step: AttrStep::SubTag(Uleb::default()),
        }
    }

    fn step(&mut self, b: u8) -> Step {
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

/// Majority vote of the platforms found across a rootfs's ELF files.
#[derive(Clone, Debug, Default)]
pub struct PlatformTally {
    by_arch: BTreeMap<String, ArchVotes>,
}

#[derive(Clone, Debug, Default)]
struct ArchVotes {
    files: u64,
    /// Files per known variant; files without a variant are not counted.
    variants: BTreeMap<String, u64>,
    /// The smallest path seen, so the example does not depend on the order
    /// files are added.
    example: String,
}

/// The platform detected for a rootfs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detected {
    /// The majority GOARCH.
    pub architecture: String,
    /// The majority variant among the files of that architecture that have
    /// one (files without a variant do not vote).
    pub variant: Option<String>,
    /// How many ELF files have the winning architecture.
    pub files: u64,
    /// How many ELF files were counted in total, all architectures.
    pub total_files: u64,
    /// Set when files disagree on the architecture.
    pub conflict: Option<Conflict>,
}

/// Files of more than one architecture were found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// A file of the winning architecture.
    pub winner_example: String,
    /// The runner-up architecture.
    pub other_architecture: String,
    /// A file of the runner-up architecture.
    pub other_example: String,
    /// How many files have the runner-up architecture.
    pub other_files: u64,
}

impl PlatformTally {
    /// An empty tally.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one ELF file.
    pub fn add(&mut self, path: &str, p: ElfPlatform) {
        let path = normalize_path(path);
        let votes = self.by_arch.entry(p.architecture).or_default();
        votes.files += 1;
        if let Some(v) = p.variant {
            *votes.variants.entry(v).or_insert(0) += 1;
        }
        if votes.example.is_empty() || path < votes.example.as_str() {
            votes.example = path.to_owned();
        }
    }

    /// Adds the votes of `other`, as if its files had been added to this
    /// tally: the result does not depend on the order of merging.
    pub fn merge(&mut self, other: PlatformTally) {
        for (arch, theirs) in other.by_arch {
            let ours = self.by_arch.entry(arch).or_default();
            ours.files += theirs.files;
            for (variant, n) in theirs.variants {
                *ours.variants.entry(variant).or_insert(0) += n;
            }
            if ours.example.is_empty() || theirs.example < ours.example {
                ours.example = theirs.example;
            }
        }
    }

    /// The majority platform, or `None` if no ELF file was counted.
    ///
    /// Ties go to the alphabetically first architecture (and variant), so the
    /// answer never depends on the host or on insertion order.
    pub fn result(&self) -> Option<Detected> {
        let mut ranked: Vec<(&String, &ArchVotes)> = self.by_arch.iter().collect();
        // BTreeMap order is by name, and the sort is stable, so equal counts
        // keep alphabetical order.
        ranked.sort_by_key(|(_, votes)| std::cmp::Reverse(votes.files));
        let (arch, votes) = *ranked.first()?;
        let variant = votes
            .variants
            .iter()
            .fold(None::<(&String, u64)>, |best, (v, &n)| match best {
                Some((_, bn)) if bn >= n => best,
                _ => Some((v, n)),
            })
            .map(|(v, _)| v.clone());
        let conflict = ranked.get(1).map(|(other, ov)| Conflict {
            winner_example: votes.example.clone(),
            other_architecture: (*other).clone(),
            other_example: ov.example.clone(),
            other_files: ov.files,
        });
        Some(Detected {
            architecture: arch.clone(),
            variant,
            files: votes.files,
            total_files: self.by_arch.values().map(|v| v.files).sum(),
            conflict,
        })
    }
}

/// Strips `./` and `/` prefixes so examples read like rootfs paths.
fn normalize_path(path: &str) -> &str {
    let mut p = path;
    loop {
        if let Some(rest) = p.strip_prefix("./") {
            p = rest;
        } else if let Some(rest) = p.strip_prefix('/') {
            p = rest;
        } else {
            return p;
        }
    }
}

/// The host's architecture as a GOARCH name (the default when nothing is
/// detected). Unknown Rust architectures are returned unchanged.
pub fn host_architecture() -> &'static str {
    let little = cfg!(target_endian = "little");
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" if little => "ppc64le",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "loongarch64" => "loong64",
        "mips" | "mips32r6" if little => "mipsle",
        "mips" | "mips32r6" => "mips",
        "mips64" | "mips64r6" if little => "mips64le",
        "mips64" | "mips64r6" => "mips64",
        other => other,
    }
}

/// Feeds candidate executables of the tar stream to an [`ElfSniffer`] and
/// counts what they say in its own [`PlatformTally`], as the archive streams by.
#[derive(Debug, Default)]
pub struct PlatformObserver {
    tally: PlatformTally,
    current: Option<(String, ElfSniffer)>,
}

impl PlatformObserver {
    /// An observer with an empty tally.
    pub fn new() -> Self {
        Self::default()
    }

    /// The tally of the files seen (merge tallies with [`PlatformTally::merge`]
    /// to vote across several layers).
    pub fn into_tally(self) -> PlatformTally {
        self.tally
    }
}

impl crate::tarscan::EntryObserver for PlatformObserver {
    fn entry(&mut self, h: &crate::tarscan::EntryHeader) -> bool {
        self.current = None;
        let regular = matches!(h.kind, tar::EntryType::Regular | tar::EntryType::Continuous);
        if !regular || h.size == 0 {
            return false;
        }
        let path = String::from_utf8_lossy(&h.path);
        if !is_candidate(&path) {
            return false;
        }
        self.current = Some((path.into_owned(), ElfSniffer::new()));
        true
    }

    fn content(&mut self, data: &[u8]) -> bool {
        match self.current.as_mut() {
            Some((_, s)) => {
                s.feed(data);
                s.wants_more()
            }
            None => false,
        }
    }

    fn end_entry(&mut self) {
        if let Some((path, s)) = self.current.take()
            && let Some(p) = s.finish()
        {
            self.tally.add(&path, p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal executable ELF header (rest of the file zeros).
    fn elf_header(is64: bool, be: bool, machine: u16, flags: u32) -> Vec<u8> {
        let size = if is64 { 64 } else { 52 };
        let mut h = vec![0u8; size];
        h[..4].copy_from_slice(&ELF_MAGIC);
        h[4] = if is64 { ELFCLASS64 } else { ELFCLASS32 };
        h[5] = if be { ELFDATA2MSB } else { ELFDATA2LSB };
        h[6] = 1; // EI_VERSION
        let put16 = |h: &mut Vec<u8>, at: usize, v: u16| {
            let b = if be { v.to_be_bytes() } else { v.to_le_bytes() };
            h[at..at + 2].copy_from_slice(&b);
        };
        put16(&mut h, 16, ET_DYN);
        put16(&mut h, 18, machine);
        let flags_at = if is64 { 48 } else { 36 };
        let f = if be {
            flags.to_be_bytes()
        } else {
            flags.to_le_bytes()
        };
        h[flags_at..flags_at + 4].copy_from_slice(&f);
        h
    }

    /// `.ARM.attributes` content as GNU as lays it out, with
    /// Tag_conformance first (as binutils emits it).
    fn arm_attributes(cpu_name: &str, cpu_arch: u8, be: bool) -> Vec<u8> {
        let mut file = Vec::new();
        file.push(67); // Tag_conformance, NTBS
        file.extend_from_slice(b"2.09\0");
        file.push(5); // Tag_CPU_name
        file.extend_from_slice(cpu_name.as_bytes());
        file.push(0);
        file.push(6); // Tag_CPU_arch
        file.push(cpu_arch);
        file.extend_from_slice(&[7, b'A', 8, 1, 9, 2]); // profile, ARM/Thumb ISA
        let u32b = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut sub = Vec::new();
        sub.extend_from_slice(b"aeabi\0");
        sub.push(1); // Tag_File
        sub.extend_from_slice(&u32b(file.len() as u32 + 5));
        sub.extend_from_slice(&file);
        let mut out = vec![b'A'];
        out.extend_from_slice(&u32b(sub.len() as u32 + 4));
        out.extend_from_slice(&sub);
        out
    }

    /// An ARM executable: header, "code" (including decoys), attributes,
    /// then trailing section headers.
    fn arm_file(cpu_name: &str, cpu_arch: u8) -> Vec<u8> {
        let mut f = elf_header(false, false, EM_ARM, 0x0500_0400);
        f.extend((0..3000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        // A symbol name that mentions aeabi must not be taken for the section.
        f.extend_from_slice(b"__aeabi_idiv\0__aeabi_uidiv\0A\0\0\0\0aeabi");
        f.extend_from_slice(&arm_attributes(cpu_name, cpu_arch, false));
        f.extend_from_slice(&[0xAA; 200]);
        f
    }

    fn sniff_chunks(data: &[u8], chunk: usize) -> Option<ElfPlatform> {
        let mut s = ElfSniffer::new();
        for c in data.chunks(chunk) {
            if !s.wants_more() {
                break;
            }
            s.feed(c);
        }
        s.finish()
    }

    /// Sniffs with several chunkings and checks they all agree.
    fn sniff(data: &[u8]) -> Option<ElfPlatform> {
        let whole = sniff_chunks(data, data.len().max(1));
        for chunk in [1, 2, 3, 7, 11, 64, 4096] {
            assert_eq!(sniff_chunks(data, chunk), whole, "chunk size {chunk}");
        }
        whole
    }

    fn plat(arch: &str, variant: Option<&str>) -> Option<ElfPlatform> {
        Some(ElfPlatform {
            architecture: arch.to_owned(),
            variant: variant.map(str::to_owned),
        })
    }

    #[test]
    fn candidates() {
        for p in [
            "bin/sh",
            "./bin/busybox",
            "/usr/bin/env",
            "usr/sbin/nologin",
            "sbin/init",
            "./usr/bin/x86_64-linux-gnu/helper",
            "lib/ld-linux-aarch64.so.1",
            "lib64/ld-linux-x86-64.so.2",
            "./lib/ld-musl-x86_64.so.1",
            "lib/ld-linux-armhf.so.3",
            "usr/lib/ld-linux-riscv64-lp64d.so.1",
            "/usr/lib64/ld-linux-x86-64.so.2",
            "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            "usr/lib/x86_64-linux-gnu/ld-2.31.so",
            "lib/ld64.so.1",
            "lib64/ld64.so.2",
            "lib/ld.so.1",
            "lib/ld-linux.so.2",
            ".//usr//bin/./ls",
        ] {
            assert!(is_candidate(p), "{p}");
        }
        for p in [
            "bin",
            "bin/",
            "./usr/bin",
            "etc/passwd",
            "usr/local/bin/tool",
            "usr/share/bin/x",
            "lib/libc.so.6",
            "lib/x86_64-linux-gnu/libc.so.6",
            "etc/ld.so.cache",
            "lib/ld.so.cache",
            "lib/ldconfig",
            "lib/ld-",
            "usr/lib/a/b/ld-linux-x86-64.so.2",
            "usr/ld-linux-x86-64.so.2",
            "home/bin/x",
            "",
            "/",
        ] {
            assert!(!is_candidate(p), "{p}");
        }
    }

    #[test]
    fn arm64() {
        assert_eq!(
            sniff(&elf_header(true, false, EM_AARCH64, 0)),
            plat("arm64", Some("v8"))
        );
    }

    #[test]
    fn riscv64_amd64_386_s390x_loong64() {
        assert_eq!(
            sniff(&elf_header(true, false, EM_RISCV, 5)),
            plat("riscv64", None)
        );
        assert_eq!(
            sniff(&elf_header(true, false, EM_X86_64, 0)),
            plat("amd64", None)
        );
        assert_eq!(
            sniff(&elf_header(false, false, EM_386, 0)),
            plat("386", None)
        );
        assert_eq!(
            sniff(&elf_header(true, true, EM_S390, 0)),
            plat("s390x", None)
        );
        assert_eq!(
            sniff(&elf_header(true, false, EM_LOONGARCH, 0x43)),
            plat("loong64", None)
        );
    }

    #[test]
    fn ppc64_endianness() {
        assert_eq!(
            sniff(&elf_header(true, false, EM_PPC64, 2)),
            plat("ppc64le", None)
        );
        assert_eq!(
            sniff(&elf_header(true, true, EM_PPC64, 1)),
            plat("ppc64", None)
        );
    }

    #[test]
    fn mips_family() {
        assert_eq!(
            sniff(&elf_header(false, true, EM_MIPS, 0x7000_1007)),
            plat("mips", None)
        );
        assert_eq!(
            sniff(&elf_header(false, false, EM_MIPS, 0x7000_1007)),
            plat("mipsle", None)
        );
        assert_eq!(
            sniff(&elf_header(true, false, EM_MIPS, 0x8000_0007)),
            plat("mips64le", None)
        );
        assert_eq!(
            sniff(&elf_header(true, true, EM_MIPS, 0)),
            plat("mips64", None)
        );
        // n32: 32-bit ELF needing a 64-bit CPU.
        assert_eq!(
            sniff(&elf_header(false, true, EM_MIPS, EF_MIPS_ABI2)),
            plat("mips64", None)
        );
    }

    #[test]
    fn non_arm_stops_after_header() {
        let mut s = ElfSniffer::new();
        let h = elf_header(true, false, EM_X86_64, 0);
        s.feed(&h[..63]);
        assert!(s.wants_more());
        s.feed(&h[63..]);
        assert!(!s.wants_more());
    }

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

    #[test]
    fn not_elf() {
        let mut s = ElfSniffer::new();
        s.feed(b"#!/bin/sh\necho hi\n");
        assert!(!s.wants_more());
        assert_eq!(s.finish(), None);
        assert_eq!(sniff(b"\x7fELX and more bytes here"), None);
        // Bad class byte.
        let mut h = elf_header(true, false, EM_X86_64, 0);
        h[4] = 3;
        assert_eq!(sniff(&h), None);
        // Relocatable object: not something the image runs.
        let mut o = elf_header(true, false, EM_X86_64, 0);
        o[16] = 1;
        assert_eq!(sniff(&o), None);
        // Unknown machine.
        assert_eq!(sniff(&elf_header(true, false, 0x9026, 0)), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn truncated_header() {
        let h = elf_header(true, false, EM_AARCH64, 0);
        assert_eq!(sniff(&h[..40]), None);
        let mut s = ElfSniffer::new();
        s.feed(&h[..63]);
        assert!(s.wants_more());
        assert_eq!(s.finish(), None);
    }

    fn p(arch: &str, variant: Option<&str>) -> ElfPlatform {
        ElfPlatform {
            architecture: arch.to_owned(),
            variant: variant.map(str::to_owned),
        }
    }

    #[test]
    fn tally_majority_and_conflict() {
        let mut t = PlatformTally::new();
        assert_eq!(t.result(), None);
        t.add("./usr/bin/qemu-x86_64-static", p("amd64", None));
        t.add("./bin/sh", p("arm", Some("v7")));
        t.add("./bin/ls", p("arm", Some("v7")));
        t.add("./usr/bin/old", p("arm", Some("v6")));
        t.add("./lib/ld-linux-armhf.so.3", p("arm", None));
        let d = t.result().unwrap();
        assert_eq!(
            d,
            Detected {
                architecture: "arm".into(),
                variant: Some("v7".into()),
                files: 4,
                total_files: 5,
                conflict: Some(Conflict {
                    winner_example: "bin/ls".into(),
                    other_architecture: "amd64".into(),
                    other_example: "usr/bin/qemu-x86_64-static".into(),
                    other_files: 1,
                }),
            }
        );
    }

    #[test]
    fn tally_ties_are_deterministic() {
        let mut a = PlatformTally::new();
        a.add("bin/a", p("s390x", None));
        a.add("bin/b", p("arm64", Some("v8")));
        let mut b = PlatformTally::new();
        b.add("bin/b", p("arm64", Some("v8")));
        b.add("bin/a", p("s390x", None));
        let (ra, rb) = (a.result().unwrap(), b.result().unwrap());
        assert_eq!(ra, rb);
        assert_eq!(ra.architecture, "arm64");
        assert_eq!(ra.conflict.unwrap().other_architecture, "s390x");

        let mut v = PlatformTally::new();
        v.add("bin/x", p("arm", Some("v7")));
        v.add("bin/y", p("arm", Some("v6")));
        assert_eq!(v.result().unwrap().variant.as_deref(), Some("v6"));
    }

    #[test]
    fn tally_single_arch_has_no_conflict() {
        let mut t = PlatformTally::new();
        t.add("/bin/busybox", p("riscv64", None));
        let d = t.result().unwrap();
        assert_eq!(
            (d.architecture.as_str(), d.variant, d.files),
            ("riscv64", None, 1)
        );
        assert_eq!(d.conflict, None);
    }

    #[test]
    fn host_arch_is_goarch() {
        let h = host_architecture();
        assert!(!h.is_empty());
        if cfg!(target_arch = "x86_64") {
            assert_eq!(h, "amd64");
        }
        if cfg!(target_arch = "aarch64") {
            assert_eq!(h, "arm64");
        }
    }

    #[test]
    fn display() {
        assert_eq!(p("arm", Some("v7")).to_string(), "arm/v7");
        assert_eq!(p("amd64", None).to_string(), "amd64");
    }

    #[test]
    fn merged_tallies_vote_as_one() {
        let files = [
            ("./bin/sh", p("arm", Some("v7"))),
            ("usr/bin/qemu", p("amd64", None)),
            ("bin/ls", p("arm", Some("v6"))),
            ("/bin/aa", p("arm", Some("v6"))),
            ("usr/bin/zz", p("amd64", None)),
        ];
        let mut all = PlatformTally::new();
        for (path, plat) in &files {
            all.add(path, plat.clone());
        }
        // Any split, merged either way round, gives the same verdict.
        for cut in 0..=files.len() {
            let (mut a, mut b) = (PlatformTally::new(), PlatformTally::new());
            for (i, (path, plat)) in files.iter().enumerate() {
                let t = if i < cut { &mut a } else { &mut b };
                t.add(path, plat.clone());
            }
            let mut ab = PlatformTally::new();
            ab.merge(a);
            ab.merge(b);
            assert_eq!(ab.result(), all.result(), "cut {cut}");
        }
        let d = all.result().unwrap();
        assert_eq!(
            (d.variant.as_deref(), d.files, d.total_files),
            (Some("v6"), 3, 5)
        );
        assert_eq!(d.conflict.unwrap().winner_example, "bin/aa");
    }

    #[test]
    fn observer_sniffs_candidates_and_gives_its_tally_back() {
        let mut b = tar::Builder::new(Vec::new());
        let arm = arm_file("7-A", 10);
        let x86 = elf_header(true, false, EM_X86_64, 0);
        for (path, data) in [
            ("./bin/sh", &arm[..]),
            ("./etc/not-a-candidate", &x86[..]),
            ("./usr/bin/env", &arm[..]),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o755);
            b.append_data(&mut h, path, data).unwrap();
        }
        let tar = b.into_inner().unwrap();
        for chunk in [1, 333, 1 << 20] {
            let mut s = crate::tarscan::TarScanner::new(PlatformObserver::new());
            for c in tar.chunks(chunk) {
                s.feed(c).unwrap();
            }
            let (_, observer) = s.finish().unwrap();
            let d = observer.into_tally().result().unwrap();
            assert_eq!(d.architecture, "arm", "chunk {chunk}");
            assert_eq!((d.variant.as_deref(), d.total_files), (Some("v7"), 2));
            assert_eq!(d.conflict, None);
        }
    }
}
