//! The ELF sniffer: the header says the machine, class and byte order; a
//! 32-bit ARM file is then searched for its build attributes (`arm.rs`).

use std::fmt;

use super::arm::{AttrParser, Scanner, Step, arm_variant};

/// The platform one ELF file was built for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ElfPlatform {
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

pub(super) const ELF_MAGIC: [u8; 4] = [0x7f, b'E', b'L', b'F'];
pub(super) const ELFCLASS32: u8 = 1;
pub(super) const ELFCLASS64: u8 = 2;
pub(super) const ELFDATA2LSB: u8 = 1;
pub(super) const ELFDATA2MSB: u8 = 2;
const ET_EXEC: u16 = 2;
pub(super) const ET_DYN: u16 = 3;
const EM_386: u16 = 3;
const EM_MIPS: u16 = 8;
const EM_PPC64: u16 = 21;
const EM_S390: u16 = 22;
pub(super) const EM_ARM: u16 = 40;
pub(super) const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const EM_RISCV: u16 = 243;
const EM_LOONGARCH: u16 = 258;
/// MIPS n32 ABI: a 32-bit ELF that needs a 64-bit CPU.
const EF_MIPS_ABI2: u32 = 0x20;
/// Bytes needed to know magic, class and data encoding.
const IDENT_LEN: usize = 6;

/// Sniffs one file's content for its ELF platform, fed chunk by chunk.
#[derive(Debug)]
pub(crate) struct ElfSniffer {
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
    pub(crate) fn new() -> Self {
        ElfSniffer {
            header: [0; 64],
            header_len: 0,
            big_endian: false,
            platform: None,
            state: State::Header,
        }
    }

    /// Feed the next chunk of the file's content (any size, in order).
    pub(crate) fn feed(&mut self, mut data: &[u8]) {
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
    pub(crate) fn wants_more(&self) -> bool {
        !matches!(self.state, State::Done)
    }

    /// The platform found, or `None` for a non-ELF, truncated or unknown
    /// ELF file.
    pub(crate) fn finish(self) -> Option<ElfPlatform> {
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

fn read_u16(a: u8, b: u8, be: bool) -> u16 {
    if be {
        u16::from_be_bytes([a, b])
    } else {
        u16::from_le_bytes([a, b])
    }
}

pub(super) fn read_u32(b: [u8; 4], be: bool) -> u32 {
    if be {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::tests::{elf_header, p, plat, sniff};

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

    #[test]
    fn display() {
        assert_eq!(p("arm", Some("v7")).to_string(), "arm/v7");
        assert_eq!(p("amd64", None).to_string(), "amd64");
    }
}
