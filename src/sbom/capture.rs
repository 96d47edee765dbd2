//! Capturing package database files as the tar stream passes.
//!
//! Paths are read the way extractors place entries (`tarscan::path`: a
//! leading `./` or `/`, repeated slashes and `.` components do not matter).
//! Text databases are kept in memory, [`MEMORY_CAP`] bytes in all; an rpm
//! sqlite database is spooled to a temporary file (registered with the
//! layout's temp registry, so an interrupt removes it too; dropped, it is
//! removed). A later entry at the same path replaces an earlier one, as it
//! does on extraction.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use tar::EntryType;

use crate::layout::registry;
use crate::tarscan::EntryHeader;
use crate::tarscan::path::components;

/// Most bytes of text databases held in memory at once (64 MiB): a Debian
/// or Fedora desktop's `status` is a few MiB, all of pacman's `desc` files
/// together a few hundred KiB.
pub const MEMORY_CAP: u64 = 64 << 20;

/// What a captured file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// `etc/os-release`.
    OsReleaseEtc,
    /// `usr/lib/os-release`.
    OsReleaseUsr,
    /// `var/lib/dpkg/status`.
    Dpkg,
    /// `var/lib/dpkg/status.d/*` (distroless).
    DpkgStatusD,
    /// `lib/apk/db/installed` (`usr/lib/apk/db/installed` with a merged
    /// `/usr`, where `lib` is a symlink).
    Apk,
    /// `var/lib/pacman/local/*/desc`.
    Pacman,
    /// `var/db/pkg/CATEGORY/PF/LICENSE`.
    PortageLicense,
    /// `var/lib/rpm/rpmdb.sqlite`, `usr/lib/sysimage/rpm/rpmdb.sqlite`.
    RpmSqlite,
    /// `var/db/xbps/pkgdb-*.plist`.
    Xbps,
}

/// Where a path leads: a file to capture, a form we do not read, a portage
/// package directory, or nothing of interest.
#[derive(Debug, PartialEq, Eq)]
enum Role {
    Capture(Kind),
    Unreadable(&'static str),
    Portage(String, String),
    None,
}

/// A cheap test that rules out almost every entry before its path is
/// normalised: every path [`role`] knows contains one of these words.
fn maybe_database(path: &[u8]) -> bool {
    const WORDS: [&[u8]; 7] = [
        b"os-release",
        b"dpkg",
        b"apk",
        b"pacman",
        b"pkg",
        b"rpm",
        b"xbps",
    ];
    WORDS
        .iter()
        .any(|w| path.windows(w.len()).any(|win| win == *w))
}

/// Classify a rootfs path (components joined by `/`).
fn role(path: &str) -> Role {
    let parts: Vec<&str> = path.split('/').collect();
    let kind = match parts.as_slice() {
        ["etc", "os-release"] => Kind::OsReleaseEtc,
        ["usr", "lib", "os-release"] => Kind::OsReleaseUsr,
        ["var", "lib", "dpkg", "status"] => Kind::Dpkg,
        ["var", "lib", "dpkg", "status.d", f] if !f.ends_with(".md5sums") => Kind::DpkgStatusD,
        ["lib", "apk", "db", "installed"] | ["usr", "lib", "apk", "db", "installed"] => Kind::Apk,
        ["var", "lib", "pacman", "local", _, "desc"] => Kind::Pacman,
        ["var", "db", "pkg", c, pf, f] => {
            if *f == "LICENSE" {
                return Role::Capture(Kind::PortageLicense);
            }
            return Role::Portage((*c).to_string(), (*pf).to_string());
        }
        ["var", "lib", "rpm", "rpmdb.sqlite"]
        | ["usr", "lib", "sysimage", "rpm", "rpmdb.sqlite"] => Kind::RpmSqlite,
        ["var", "lib", "rpm", "Packages"] | ["usr", "lib", "sysimage", "rpm", "Packages"] => {
            return Role::Unreadable("an rpm Berkeley DB database, which ociimport does not read");
        }
        ["var", "lib", "rpm", "Packages.db"] | ["usr", "lib", "sysimage", "rpm", "Packages.db"] => {
            return Role::Unreadable("an rpm ndb database, which ociimport does not read");
        }
        ["var", "db", "xbps", f] if f.starts_with("pkgdb-") && f.ends_with(".plist") => Kind::Xbps,
        _ => return Role::None,
    };
    Role::Capture(kind)
}

/// A captured file's bytes.
#[derive(Debug)]
pub(crate) enum Content {
    /// Held in memory.
    Memory(Vec<u8>),
    /// Spooled to a temporary file.
    Spooled(Spool),
}

/// A temporary file holding a large database, removed when dropped (and
/// by the interrupt handler, through the temp registry).
#[derive(Debug)]
pub(crate) struct Spool {
    pub(crate) file: tempfile::NamedTempFile,
}

impl Drop for Spool {
    fn drop(&mut self) {
        registry::unregister_temp(self.file.path());
    }
}

/// The entry being captured.
#[derive(Debug)]
struct Current {
    path: String,
    kind: Kind,
    content: Content,
}

/// Everything captured from the stream.
#[derive(Debug, Default)]
pub(crate) struct Captures {
    /// Database files by rootfs path.
    pub(crate) files: BTreeMap<String, (Kind, Content)>,
    /// Regular files at database paths in forms not read: path, what it is.
    pub(crate) unreadable: BTreeMap<String, &'static str>,
    /// Portage package directories seen: (CATEGORY, PF).
    pub(crate) portage: BTreeSet<(String, String)>,
    /// Whether `etc/os-release` is a symlink (then `usr/lib/os-release` is read).
    pub(crate) os_release_link: bool,
    /// Files that could not be captured: one line each, naming them.
    pub(crate) warnings: Vec<String>,
    current: Option<Current>,
    memory: u64,
}

impl Captures {
    /// A new entry: whether its content is wanted.
    pub(crate) fn entry(&mut self, header: &EntryHeader) -> bool {
        self.current = None;
        if !maybe_database(&header.path) {
            return false;
        }
        let joined = components(&header.path).joined();
        let Ok(path) = String::from_utf8(joined) else {
            return false;
        };
        let role = role(&path);
        if role == Role::None {
            return false;
        }
        self.forget(&path);
        let regular = matches!(header.kind, EntryType::Regular | EntryType::Continuous);
        if path == "etc/os-release" {
            self.os_release_link = header.kind == EntryType::Symlink;
        }
        if !regular {
            return false;
        }
        match role {
            Role::Capture(kind) => self.start(path, kind, header.size),
            Role::Unreadable(what) => {
                self.unreadable.insert(path, what);
                false
            }
            Role::Portage(category, pf) => {
                self.portage.insert((category, pf));
                false
            }
            Role::None => false,
        }
    }

    /// An earlier entry at `path` is replaced: forget what it left.
    fn forget(&mut self, path: &str) {
        if let Some((_, Content::Memory(bytes))) = self.files.remove(path) {
            self.memory = self.memory.saturating_sub(bytes.len() as u64);
        }
        self.unreadable.remove(path);
    }

    /// Start capturing `path`, in memory or spooled.
    fn start(&mut self, path: String, kind: Kind, size: u64) -> bool {
        if let (Kind::PortageLicense, Role::Portage(c, pf)) = (kind, portage_dir(&path)) {
            self.portage.insert((c, pf));
        }
        let content = if kind == Kind::RpmSqlite {
            match spool() {
                Ok(spool) => Content::Spooled(spool),
                Err(reason) => {
                    self.warnings.push(format!("{path}: not read: {reason}"));
                    return false;
                }
            }
        } else {
            if size > MEMORY_CAP - self.memory {
                self.warnings.push(format!(
                    "{path}: not read: {size} bytes would pass the {} MiB held in memory for package databases",
                    MEMORY_CAP >> 20
                ));
                return false;
            }
            self.memory += size;
            Content::Memory(Vec::with_capacity(usize::try_from(size).unwrap_or(0)))
        };
        self.current = Some(Current {
            path,
            kind,
            content,
        });
        true
    }

    /// Content of the current entry.
    pub(crate) fn content(&mut self, data: &[u8]) -> bool {
        let Some(current) = &mut self.current else {
            return false;
        };
        let written = match &mut current.content {
            Content::Memory(buf) => {
                buf.extend_from_slice(data);
                Ok(())
            }
            Content::Spooled(spool) => spool.file.write_all(data),
        };
        if let Err(e) = written {
            let path = spool_path(current);
            self.warnings.push(format!(
                "{}: not read: writing it to the temporary file {path} failed: {e}",
                current.path
            ));
            self.current = None;
            return false;
        }
        true
    }

    /// The current entry is complete.
    pub(crate) fn end_entry(&mut self) {
        if let Some(current) = self.current.take() {
            self.files
                .insert(current.path, (current.kind, current.content));
        }
    }
}

/// The temporary file's path, for messages.
fn spool_path(current: &Current) -> String {
    match &current.content {
        Content::Spooled(s) => s.file.path().display().to_string(),
        Content::Memory(_) => String::new(),
    }
}

/// The portage directory a `LICENSE` path belongs to.
fn portage_dir(path: &str) -> Role {
    match path.split('/').collect::<Vec<_>>().as_slice() {
        ["var", "db", "pkg", c, pf, _] => Role::Portage((*c).to_string(), (*pf).to_string()),
        _ => Role::None,
    }
}

/// A new registered temporary file for a spooled database.
fn spool() -> Result<Spool, String> {
    let file = tempfile::Builder::new()
        .prefix(".ociimport-rpmdb-")
        .tempfile()
        .map_err(|e| {
            format!(
                "creating a temporary file in {} failed: {e}",
                std::env::temp_dir().display()
            )
        })?;
    registry::register_temp(file.path()).map_err(|e| e.to_string())?;
    Ok(Spool { file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_classified() {
        assert_eq!(role("var/lib/dpkg/status"), Role::Capture(Kind::Dpkg));
        assert_eq!(role("var/lib/dpkg/status-old"), Role::None);
        assert_eq!(
            role("var/lib/dpkg/status.d/libc6"),
            Role::Capture(Kind::DpkgStatusD)
        );
        assert_eq!(role("var/lib/dpkg/status.d/libc6.md5sums"), Role::None);
        assert_eq!(
            role("var/lib/pacman/local/bash-5.2-1/desc"),
            Role::Capture(Kind::Pacman)
        );
        assert_eq!(role("var/lib/pacman/local/bash-5.2-1/files"), Role::None);
        assert_eq!(role("usr/lib/apk/db/installed"), Role::Capture(Kind::Apk));
        assert_eq!(
            role("var/db/pkg/sys-apps/sed-4.9/CONTENTS"),
            Role::Portage("sys-apps".into(), "sed-4.9".into())
        );
        assert_eq!(
            role("var/db/pkg/sys-apps/sed-4.9/LICENSE"),
            Role::Capture(Kind::PortageLicense)
        );
        assert!(matches!(role("var/lib/rpm/Packages"), Role::Unreadable(_)));
        assert!(matches!(
            role("usr/lib/sysimage/rpm/Packages.db"),
            Role::Unreadable(_)
        ));
        assert_eq!(
            role("usr/lib/sysimage/rpm/rpmdb.sqlite"),
            Role::Capture(Kind::RpmSqlite)
        );
        assert_eq!(
            role("var/db/xbps/pkgdb-0.38.plist"),
            Role::Capture(Kind::Xbps)
        );
        assert_eq!(role("var/db/xbps/.bash-files.plist"), Role::None);
    }

    fn header(path: &str, size: u64) -> EntryHeader {
        EntryHeader {
            path: path.as_bytes().to_vec(),
            link: None,
            kind: EntryType::Regular,
            size,
            mode: 0o644,
            mtime: 0,
            uid: 0,
            gid: 0,
            uname: Vec::new(),
            gname: Vec::new(),
            device: None,
            pax: Vec::new(),
            sparse: None,
            fix: None,
        }
    }

    #[test]
    fn spooled_databases_are_removed_complete_or_not() {
        let mut c = Captures::default();
        assert!(c.entry(&header("var/lib/rpm/rpmdb.sqlite", 4)));
        assert!(c.content(b"data"));
        c.end_entry();
        let done = match &c.files["var/lib/rpm/rpmdb.sqlite"].1 {
            Content::Spooled(s) => s.file.path().to_path_buf(),
            Content::Memory(_) => panic!("not spooled"),
        };
        assert_eq!(std::fs::read(&done).unwrap(), b"data");
        // A stream that stops inside the next one leaves it current.
        assert!(c.entry(&header("./usr/lib/sysimage/rpm/rpmdb.sqlite", 8)));
        assert!(c.content(b"dat"));
        let partial = spool_path(c.current.as_ref().unwrap());
        drop(c);
        assert!(!done.exists(), "{}", done.display());
        assert!(!std::path::Path::new(&partial).exists(), "{partial}");
    }

    #[test]
    fn the_memory_cap_is_named_in_a_warning() {
        let mut c = Captures::default();
        assert!(!c.entry(&header("var/lib/dpkg/status", MEMORY_CAP + 1)));
        assert_eq!(
            c.warnings,
            [
                "var/lib/dpkg/status: not read: 67108865 bytes would pass the 64 MiB held in memory for package databases"
            ]
        );
        // A later, smaller entry at the same path is read.
        assert!(c.entry(&header("var/lib/dpkg/status", 3)));
    }
}
