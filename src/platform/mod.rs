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

use crate::tarscan::path::components;
use crate::tarscan::{EntryHeader, EntryObserver};

mod arm;
mod elf;
mod tally;

pub(crate) use elf::{ElfPlatform, ElfSniffer};
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub use tally::PlatformTally;
pub(crate) use tally::Wrapped;

/// Whether a tar entry path is worth sniffing: an executable directory
/// (`bin/`, `sbin/`, `usr/bin/`, `usr/sbin/`, at any depth below them) or the
/// dynamic loader in a `lib*` directory (`lib*/` or `usr/lib*/`, directly or
/// one multiarch directory deeper, e.g. `lib/x86_64-linux-gnu/`).
///
/// A leading `./` or `/`, repeated slashes and `.` components are ignored.
pub(crate) fn is_candidate(path: &str) -> bool {
    // Pieces of a `str` cut at '/' are `str` too: the fallback never applies.
    let mut comps = components(path.as_bytes()).map(|c| std::str::from_utf8(c).unwrap_or_default());
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

/// The host's architecture as a GOARCH name (the default when nothing is
/// detected). Unknown Rust architectures are returned unchanged.
pub(crate) fn host_architecture() -> &'static str {
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
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct PlatformObserver {
    tally: PlatformTally,
    /// The file being sniffed, and whether it lies one directory too deep
    /// (`TOP/bin/sh`): such a file is only evidence of a wrapped rootfs.
    current: Option<(String, ElfSniffer, bool)>,
    /// An executable found one directory too deep, e.g. `root.x86_64/bin/sh`.
    nested_example: Option<String>,
}

impl PlatformObserver {
    /// An observer with an empty tally.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The tally of the files seen (merge tallies with [`PlatformTally::merge`]
    /// to vote across several layers).
    pub(crate) fn into_tally(self) -> PlatformTally {
        let mut tally = self.tally;
        if let Some(example) = self.nested_example {
            let top = components(example.as_bytes()).next().unwrap_or_default();
            let top = String::from_utf8_lossy(top).into_owned();
            // Raw components up to the directory, `.` included.
            let strip = example
                .split('/')
                .filter(|c| !c.is_empty())
                .position(|c| c != ".")
                .map_or(1, |i| i + 1);
            tally.set_wrapped(Wrapped {
                top,
                example,
                strip,
            });
        }
        tally
    }
}

impl PlatformObserver {
    /// `path` without its first component, if that is a candidate.
    fn nested_candidate(path: &str) -> bool {
        let mut comps = components(path.as_bytes());
        comps.next().is_some() && is_candidate(&String::from_utf8_lossy(comps.rest()))
    }
}

impl EntryObserver for PlatformObserver {
    fn entry(&mut self, h: &EntryHeader) -> bool {
        self.current = None;
        let regular = matches!(h.kind, tar::EntryType::Regular | tar::EntryType::Continuous);
        if !regular || h.size == 0 {
            return false;
        }
        let path = String::from_utf8_lossy(&h.path);
        let nested = !is_candidate(&path);
        if nested && (self.nested_example.is_some() || !Self::nested_candidate(&path)) {
            return false;
        }
        self.current = Some((path.into_owned(), ElfSniffer::new(), nested));
        true
    }

    fn content(&mut self, data: &[u8]) -> bool {
        match self.current.as_mut() {
            Some((_, s, _)) => {
                s.feed(data);
                s.wants_more()
            }
            None => false,
        }
    }

    /// Zeros teach the sniffer nothing past the first few: they complete
    /// an ELF header (64 bytes at most) and cannot start the ARM attributes
    /// pattern (`A`, length, `aeabi`), so 128 of them say what the whole
    /// hole would. (Only a hole inside an attributes section, which no real
    /// file has, is read short.)
    fn hole(&mut self, len: u64) -> bool {
        let n = usize::try_from(len).unwrap_or(usize::MAX).min(128);
        self.content(&crate::tarscan::ZEROS[..n])
    }

    fn end_entry(&mut self) {
        if let Some((path, s, nested)) = self.current.take()
            && let Some(p) = s.finish()
        {
            if nested {
                self.nested_example = Some(path);
            } else {
                self.tally.add(&path, p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use elf::{
        ELF_MAGIC, ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, EM_ARM, EM_X86_64, ET_DYN,
    };

    /// A minimal executable ELF header (rest of the file zeros).
    pub(super) fn elf_header(is64: bool, be: bool, machine: u16, flags: u32) -> Vec<u8> {
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
    pub(super) fn arm_attributes(cpu_name: &str, cpu_arch: u8, be: bool) -> Vec<u8> {
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
    pub(super) fn arm_file(cpu_name: &str, cpu_arch: u8) -> Vec<u8> {
        let mut f = elf_header(false, false, EM_ARM, 0x0500_0400);
        f.extend((0..3000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        // A symbol name that mentions aeabi must not be taken for the section.
        f.extend_from_slice(b"__aeabi_idiv\0__aeabi_uidiv\0A\0\0\0\0aeabi");
        f.extend_from_slice(&arm_attributes(cpu_name, cpu_arch, false));
        f.extend_from_slice(&[0xAA; 200]);
        f
    }

    pub(super) fn sniff_chunks(data: &[u8], chunk: usize) -> Option<ElfPlatform> {
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
    pub(super) fn sniff(data: &[u8]) -> Option<ElfPlatform> {
        let whole = sniff_chunks(data, data.len().max(1));
        for chunk in [1, 2, 3, 7, 11, 64, 4096] {
            assert_eq!(sniff_chunks(data, chunk), whole, "chunk size {chunk}");
        }
        whole
    }

    pub(super) fn plat(arch: &str, variant: Option<&str>) -> Option<ElfPlatform> {
        Some(ElfPlatform {
            architecture: arch.to_owned(),
            variant: variant.map(str::to_owned),
        })
    }

    pub(super) fn p(arch: &str, variant: Option<&str>) -> ElfPlatform {
        ElfPlatform {
            architecture: arch.to_owned(),
            variant: variant.map(str::to_owned),
        }
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

    /// An ARM executable stored sparse, its attributes after a 1 TiB hole
    /// and a 1 TiB hole at the end (a hostile map, or a huge preallocated
    /// file): the sniffer sees 128 zeros of each hole, so the scan is as
    /// fast as the archive is small, and still finds the variant.
    #[test]
    fn a_sparse_executable_is_sniffed_without_walking_its_holes() {
        let arm = arm_file("7-A", 10);
        let (head, rest) = arm.split_at(52);
        let tib = 1u64 << 40;
        let map = format!("0,52,{tib},{}", rest.len());
        let real = (2 * tib + rest.len() as u64).to_string();
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions([
            ("GNU.sparse.major", b"0".as_slice()),
            ("GNU.sparse.minor", b"1"),
            ("GNU.sparse.name", b"bin/sh"),
            ("GNU.sparse.size", real.as_bytes()),
            ("GNU.sparse.numblocks", b"2"),
            ("GNU.sparse.map", map.as_bytes()),
        ])
        .unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(arm.len() as u64);
        h.set_mode(0o755);
        b.append_data(&mut h, "GNUSparseFile.0/sh", &[head, rest].concat()[..])
            .unwrap();
        let tar = b.into_inner().unwrap();
        let mut s = crate::tarscan::TarScanner::new(PlatformObserver::new());
        s.feed(&tar).unwrap();
        let (_, observer) = s.finish().unwrap();
        let d = observer.into_tally().result().unwrap();
        assert_eq!(
            (d.architecture.as_str(), d.variant.as_deref(), d.total_files),
            ("arm", Some("v7"), 1)
        );
    }
}
