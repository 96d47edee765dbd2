//! Tar fixtures: deterministic headers, a builder, and ELF headers for
//! platform detection.

use std::collections::BTreeSet;

/// mtime of the entries the builders make (2023-11-14T22:13:20Z).
pub const MTIME: u64 = 1_700_000_000;

/// ELF e_type of an executable.
pub const ET_EXEC: u16 = 2;
/// ELF e_type of an object file (not an executable).
pub const ET_REL: u16 = 1;
/// ELF e_machine of amd64.
pub const EM_X86_64: u16 = 62;
/// ELF e_machine of arm64.
pub const EM_AARCH64: u16 = 183;
/// ELF e_machine of riscv64.
pub const EM_RISCV: u16 = 243;

/// A little-endian Elf64 header (64 bytes) of type `e_type` for ELF
/// `machine`: all that platform detection reads.
pub fn elf64_header(machine: u16, e_type: u16) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // ELFCLASS64
    h[5] = 1; // ELFDATA2LSB
    h[6] = 1; // EI_VERSION
    h[16..18].copy_from_slice(&e_type.to_le_bytes());
    h[18..20].copy_from_slice(&machine.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes()); // e_version
    h[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    h
}

/// A GNU header of `size` bytes and `mode`, owner 0:0, mtime [`MTIME`].
pub fn tar_header(size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(MTIME);
    h.set_uid(0);
    h.set_gid(0);
    h
}

/// A tar built entry by entry with [`tar_header`]s; with
/// [`Tar::with_parents`], each file's missing parent directories (mode
/// 0755) come first.
pub struct Tar {
    b: tar::Builder<Vec<u8>>,
    parents: Option<BTreeSet<String>>,
}

impl Default for Tar {
    fn default() -> Self {
        Self::new()
    }
}

impl Tar {
    /// An empty archive.
    pub fn new() -> Tar {
        Tar {
            b: tar::Builder::new(Vec::new()),
            parents: None,
        }
    }

    /// An empty archive that adds parent directories.
    pub fn with_parents() -> Tar {
        Tar {
            parents: Some(BTreeSet::new()),
            ..Tar::new()
        }
    }

    /// A directory `path` (written with a trailing `/`).
    pub fn dir(&mut self, path: &str, mode: u32) -> &mut Tar {
        let mut h = tar_header(0, mode);
        h.set_entry_type(tar::EntryType::Directory);
        let name = format!("{}/", path.trim_end_matches('/'));
        self.b
            .append_data(&mut h, name, std::io::empty())
            .expect("tar directory");
        self
    }

    /// A regular file `path` holding `data`.
    pub fn file(&mut self, path: &str, data: &[u8], mode: u32) -> &mut Tar {
        if let Some(seen) = &mut self.parents {
            let mut missing = Vec::new();
            let mut dir = String::new();
            for c in path
                .split('/')
                .collect::<Vec<_>>()
                .split_last()
                .map_or(&[][..], |p| p.1)
            {
                dir.push_str(c);
                dir.push('/');
                if seen.insert(dir.clone()) {
                    missing.push(dir.clone());
                }
            }
            for d in missing {
                self.dir(&d, 0o755);
            }
        }
        let mut h = tar_header(data.len() as u64, mode);
        h.set_entry_type(tar::EntryType::Regular);
        self.b.append_data(&mut h, path, data).expect("tar file");
        self
    }

    /// A symlink `path` to `target`.
    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Tar {
        let mut h = tar_header(0, 0o777);
        h.set_entry_type(tar::EntryType::Symlink);
        self.b
            .append_link(&mut h, path, target)
            .expect("tar symlink");
        self
    }

    /// The archive's bytes, end marker included.
    pub fn finish(self) -> Vec<u8> {
        self.b.into_inner().expect("tar")
    }
}

/// A tar whose one entry is a symlink header claiming 1024 bytes of data:
/// Go readers would extract the "data" as entries of their own.
pub fn symlink_claiming_data() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_path("link").expect("path");
    h.set_link_name("target").expect("link name");
    h.set_size(1024);
    h.set_cksum();
    b.append(&h, &[0u8; 1024][..]).expect("tar");
    b.into_inner().expect("tar")
}

/// A fake executable for `machine`: an Elf64 header, then some bytes.
pub fn elf64_exec(machine: u16) -> Vec<u8> {
    let mut h = elf64_header(machine, ET_EXEC);
    h.extend_from_slice(&[0x5a; 200]);
    h
}

/// A rootfs whose only executable is `bin/sh` for `machine`; `note` makes
/// its content (and digests) distinct.
pub fn platform_rootfs(machine: u16, note: &str) -> Vec<u8> {
    let mut t = Tar::new();
    t.file("bin/sh", &elf64_exec(machine), 0o755)
        .file("etc/note", note.as_bytes(), 0o644);
    t.finish()
}

/// A temporary directory of [`platform_rootfs`] inputs, where the runs go.
pub struct PlatformInputs {
    tmp: tempfile::TempDir,
}

impl PlatformInputs {
    /// Writes each `(file name, machine, note)`.
    pub fn new(inputs: &[(&str, u16, &str)]) -> Self {
        let f = PlatformInputs {
            tmp: tempfile::tempdir().expect("tempdir"),
        };
        for (name, machine, note) in inputs {
            std::fs::write(f.path(name), platform_rootfs(*machine, note)).expect("write");
        }
        f
    }

    /// The directory.
    pub fn dir(&self) -> &std::path::Path {
        self.tmp.path()
    }

    /// A path in the directory.
    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.tmp.path().join(name)
    }

    /// A successful import with `--json --created @0` and `args`.
    pub fn import_json(&self, args: &[&str]) -> crate::common::Run {
        let mut a = vec!["--json", "--created", "@0"];
        a.extend_from_slice(args);
        self.run(&a).succeeds()
    }

    /// ociimport with `args`, in the directory.
    pub fn run(&self, args: &[&str]) -> crate::common::Run {
        crate::common::run(self.tmp.path(), args)
    }
}
