//! The software bill of materials (`--sbom`): the packages the rootfs's own
//! package databases record, read from the tar stream as it passes
//! ([`PackageScan`] is an observer of the tar scanner), written as an SPDX
//! 2.3 document ([`spdx_document`]).
//!
//! The databases read (module, path in the rootfs, purl type):
//! - `dpkg`: `var/lib/dpkg/status` and `var/lib/dpkg/status.d/*`, `pkg:deb`;
//! - `apk`: `lib/apk/db/installed` (or `usr/lib/apk/db/installed`), `pkg:apk`;
//! - `pacman`: `var/lib/pacman/local/*/desc`, `pkg:alpm`;
//! - `portage`: `var/db/pkg/CATEGORY/PF/`, `pkg:ebuild` (as syft emits it);
//! - `rpm`: `var/lib/rpm/rpmdb.sqlite`, `usr/lib/sysimage/rpm/rpmdb.sqlite`,
//!   `pkg:rpm` (Berkeley DB `Packages` and ndb `Packages.db`: a warning);
//! - `xbps`: `var/db/xbps/pkgdb-*.plist`, `pkg:generic` (no xbps type exists);
//! - `osrelease`: `etc/os-release`, else `usr/lib/os-release`: the operating
//!   system, the purls' namespace and `distro` qualifier.
//!
//! A database that is found but not read (a form not supported, damaged,
//! over the memory cap) is a warning naming it; a rootfs without any is a
//! warning too: the SBOM is never silently empty.

use std::io::Read;

use crate::error::{Error, Result};
use crate::tarscan::{EntryHeader, EntryObserver, TarScanner};

mod apk;
mod capture;
mod dpkg;
mod osrelease;
mod pacman;
mod portage;
mod purl;
mod rpm;
mod spdx;
mod xbps;

pub use capture::MEMORY_CAP;
use capture::{Captures, Content, Kind};
use osrelease::OsRelease;

/// One installed package, as its database records it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Package {
    /// The package's name (portage: `CATEGORY/PN`).
    pub name: String,
    /// The version exactly as the database writes it (dpkg and rpm with
    /// the epoch: `1:2.36-9`, `1:5.2.26-3.fc40`).
    pub version: String,
    /// The package URL (purl), canonical form.
    pub purl: String,
    /// The license as the database records it (an SPDX expression or not;
    /// [`spdx_document`] turns it into a valid one).
    pub license: Option<String>,
    /// Who supplies it, SPDX form: `Person: NAME (EMAIL)` for a maintainer
    /// or packager, `Organization: NAME` for an rpm vendor.
    pub supplier: Option<String>,
}

/// What a scan found: packages, the operating system, which databases it
/// read and what it could not read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Inventory {
    /// Every package, sorted.
    pub packages: Vec<Package>,
    /// `etc/os-release` (or `usr/lib/os-release`) fields, in file order.
    pub os_release: Vec<(String, String)>,
    /// The databases read, one line each: the path in the rootfs (or its
    /// pattern and how many files matched) and how many packages it lists.
    pub covered: Vec<String>,
    /// One line per database that was found but not read, naming it and
    /// saying why; or, when there is no database at all, one line saying so.
    pub warnings: Vec<String>,
}

/// Collects the package databases as the tar stream passes.
#[derive(Debug, Default)]
pub struct PackageScan {
    captures: Captures,
}

impl PackageScan {
    /// A scan that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ends the scan: parses what was captured (problems become warnings),
    /// and removes any spooled file.
    pub fn finish(self) -> Inventory {
        let mut c = self.captures;
        let os = os_release(&c);
        let mut inv = Inventory {
            os_release: os.0.clone(),
            warnings: std::mem::take(&mut c.warnings),
            ..Inventory::default()
        };
        read_files(&c, &os, &mut inv);
        read_portage(&c, &mut inv);
        for (path, what) in &c.unreadable {
            inv.warnings.push(format!("{path}: not read: {what}"));
        }
        if inv.covered.is_empty() && inv.warnings.is_empty() {
            inv.warnings.push(
                "no package database found in the rootfs (dpkg, apk, pacman, portage, rpm, xbps): the SBOM lists no packages"
                    .to_string(),
            );
        }
        inv.packages.sort();
        inv.warnings.sort();
        inv
    }
}

impl EntryObserver for PackageScan {
    fn entry(&mut self, header: &EntryHeader) -> bool {
        self.captures.entry(header)
    }
    fn content(&mut self, data: &[u8]) -> bool {
        self.captures.content(data)
    }
    fn end_entry(&mut self) {
        self.captures.end_entry();
    }
}

/// The os-release fields: `etc/os-release` unless it is a symlink or
/// missing, then `usr/lib/os-release` (where the symlink usually points).
fn os_release(c: &Captures) -> OsRelease {
    let etc = c.files.get("etc/os-release").filter(|_| !c.os_release_link);
    let usr = c.files.get("usr/lib/os-release");
    match etc.or(usr) {
        Some((_, Content::Memory(bytes))) => osrelease::parse(&String::from_utf8_lossy(bytes)),
        _ => OsRelease::default(),
    }
}

/// Parse every captured database file.
fn read_files(c: &Captures, os: &OsRelease, inv: &mut Inventory) {
    let mut groups: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for (path, (kind, content)) in &c.files {
        if path == "usr/lib/apk/db/installed" && c.files.contains_key("lib/apk/db/installed") {
            // Both as regular files: apk uses /lib's, the other is a leftover.
            continue;
        }
        let result = match (kind, content) {
            (Kind::OsReleaseEtc | Kind::OsReleaseUsr | Kind::PortageLicense, _) => continue,
            (Kind::RpmSqlite, Content::Spooled(spool)) => rpm::read(spool.file.path(), os),
            (_, Content::Memory(bytes)) => text_database(*kind, bytes, os),
            (_, Content::Spooled(_)) => continue,
        };
        match result {
            Ok(pkgs) => {
                let n = pkgs.len();
                inv.packages.extend(pkgs);
                match group(*kind) {
                    Some(pattern) => {
                        let g = groups.entry(pattern).or_default();
                        g.0 += 1;
                        g.1 += n;
                    }
                    None => inv.covered.push(format!("{path} ({} packages)", n)),
                }
            }
            Err(reason) => inv.warnings.push(format!("{path}: not read: {reason}")),
        }
    }
    for (pattern, (files, n)) in groups {
        inv.covered
            .push(format!("{pattern} ({files} files, {n} packages)"));
    }
}

/// Databases of one file per package are reported as one pattern.
fn group(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::DpkgStatusD => Some("var/lib/dpkg/status.d/*"),
        Kind::Pacman => Some("var/lib/pacman/local/*/desc"),
        _ => None,
    }
}

/// One text database's packages.
fn text_database(
    kind: Kind,
    bytes: &[u8],
    os: &OsRelease,
) -> std::result::Result<Vec<Package>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text ({e})"))?;
    match kind {
        Kind::Dpkg | Kind::DpkgStatusD => dpkg::parse(text, os),
        Kind::Apk => apk::parse(text, os),
        Kind::Pacman => pacman::parse(text, os).map(|p| vec![p]),
        Kind::Xbps => xbps::parse(text, os),
        _ => Ok(Vec::new()),
    }
}

/// The portage packages, one per `var/db/pkg/CATEGORY/PF/` directory.
fn read_portage(c: &Captures, inv: &mut Inventory) {
    if c.portage.is_empty() {
        return;
    }
    let mut n = 0;
    for (category, pf) in &c.portage {
        let license_path = format!("var/db/pkg/{category}/{pf}/LICENSE");
        let license = match c.files.get(&license_path) {
            Some((_, Content::Memory(b))) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        };
        match portage::package(category, pf, license.as_deref()) {
            Ok(p) => {
                inv.packages.push(p);
                n += 1;
            }
            Err(reason) => inv
                .warnings
                .push(format!("var/db/pkg/{category}/{pf}/: not read: {reason}")),
        }
    }
    inv.covered.push(format!("var/db/pkg/*/*/ ({n} packages)"));
}

/// `Name <email>` (or a bare name) as SPDX's `Person: Name (email)`.
pub(crate) fn person(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    Some(match raw.split_once('<') {
        Some((name, rest)) => {
            let email = rest.trim_end().trim_end_matches('>').trim();
            format!("Person: {} ({email})", name.trim())
        }
        None => format!("Person: {raw}"),
    })
}

/// Scan an uncompressed tar stream for package databases only: what an
/// import with `--sbom` finds, for tests and tools. `name` names the stream
/// in errors.
pub fn scan_packages(name: &str, mut reader: impl Read) -> Result<Inventory> {
    let mut scanner = TarScanner::new(PackageScan::new());
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(Error::Io {
                    path: name.into(),
                    source,
                });
            }
        };
        scanner.feed(&buf[..n]).map_err(|e| tar_error(name, e))?;
    }
    let (_, scan) = scanner.finish().map_err(|e| tar_error(name, e))?;
    Ok(scan.finish())
}

fn tar_error(name: &str, e: crate::tarscan::TarError) -> Error {
    Error::Tar {
        input: name.to_string(),
        offset: e.offset,
        reason: e.reason,
    }
}

/// The SPDX 2.3 JSON document for `inventory`, describing the image
/// `subject` (its name) created at `created` (RFC 3339): deterministic, so
/// the same input gives the same bytes.
pub fn spdx_document(inventory: &Inventory, subject: &str, created: &str) -> serde_json::Value {
    spdx::document(inventory, subject, created)
}
