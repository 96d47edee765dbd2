//! rpm's sqlite database (`rpmdb.sqlite`, rpm 4.16 and later, the default
//! on Fedora 33+, RHEL 9, openSUSE): table `Packages (hnum, blob)`, each
//! blob one package's header in rpm's header format
//! (<https://rpm-software-management.github.io/rpm/manual/format_header.html>):
//! a big-endian index count and data length, then 16-byte index entries
//! (tag, type, offset, count) and the data store they point into.
//!
//! The version is `[EPOCH:]VERSION-RELEASE` as `rpm -q` shows it with an
//! epoch; the purl follows the purl specification's rpm type: version
//! `VERSION-RELEASE`, `epoch` and `arch` qualifiers, the os-release `ID` as
//! namespace. `gpg-pubkey` pseudo-packages are listed, as `rpm -qa` lists
//! them.

use std::path::Path;

use super::Package;
use super::osrelease::OsRelease;
use super::purl::{self, Purl};

const NAME: i32 = 1000;
const VERSION: i32 = 1001;
const RELEASE: i32 = 1002;
const EPOCH: i32 = 1003;
const VENDOR: i32 = 1011;
const LICENSE: i32 = 1014;
const ARCH: i32 = 1022;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_I18NSTRING: u32 = 9;

/// Headers larger than this are refused (rpm's own limit is 256 MiB of data;
/// real headers are tens of KiB, so a count this high means damage).
const MAX_INDEX: usize = 1 << 20;

/// The packages in the sqlite database at `path` (a spooled copy).
pub(crate) fn read(path: &Path, os: &OsRelease) -> Result<Vec<Package>, String> {
    use rusqlite::{Connection, OpenFlags};
    // immutable: read only, no -wal or -shm files next to the spool.
    let escaped: String = path
        .display()
        .to_string()
        .chars()
        .map(|c| match c {
            '%' => "%25".to_string(),
            '?' => "%3f".to_string(),
            '#' => "%23".to_string(),
            c => c.to_string(),
        })
        .collect();
    let uri = format!("file:{escaped}?immutable=1");
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let db = Connection::open_with_flags(&uri, flags).map_err(|e| format!("sqlite: {e}"))?;
    let mut query = db
        .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
        .map_err(|e| format!("sqlite: {e}"))?;
    let rows = query
        .query_map([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
        })
        .map_err(|e| format!("sqlite: {e}"))?;
    let mut packages = Vec::new();
    for row in rows {
        let (hnum, blob) = row.map_err(|e| format!("sqlite: {e}"))?;
        let header = Header::parse(&blob).map_err(|e| format!("package header {hnum}: {e}"))?;
        packages.push(
            header
                .package(os)
                .map_err(|e| format!("package header {hnum}: {e}"))?,
        );
    }
    Ok(packages)
}

/// A parsed header blob: its index entries and data store.
#[derive(Debug)]
pub(crate) struct Header<'a> {
    entries: Vec<(i32, u32, usize)>,
    data: &'a [u8],
}

impl<'a> Header<'a> {
    /// Parse a header blob (no leading magic, as the database stores it).
    pub(crate) fn parse(blob: &'a [u8]) -> Result<Self, String> {
        let word = |at: usize| -> Option<u32> {
            blob.get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes)
        };
        let (Some(il), Some(dl)) = (word(0), word(4)) else {
            return Err(format!("{} bytes, too short for a header", blob.len()));
        };
        let (il, dl) = (il as usize, dl as usize);
        let start = 8 + il * 16;
        if il > MAX_INDEX || start + dl > blob.len() {
            return Err(format!(
                "{il} index entries and {dl} data bytes do not fit its {} bytes",
                blob.len()
            ));
        }
        let mut entries = Vec::with_capacity(il);
        for i in 0..il {
            let at = 8 + i * 16;
            let (tag, kind, offset) = (word(at), word(at + 4), word(at + 8));
            if let (Some(tag), Some(kind), Some(offset)) = (tag, kind, offset) {
                entries.push((tag as i32, kind, offset as usize));
            }
        }
        Ok(Header {
            entries,
            data: &blob[start..start + dl],
        })
    }

    /// A string tag's value.
    pub(crate) fn string(&self, tag: i32) -> Result<Option<&'a str>, String> {
        let Some(&(_, kind, offset)) = self.entries.iter().find(|(t, _, _)| *t == tag) else {
            return Ok(None);
        };
        if kind != TYPE_STRING && kind != TYPE_I18NSTRING {
            return Err(format!("tag {tag} has type {kind}, not a string"));
        }
        let bytes = self
            .data
            .get(offset..)
            .ok_or_else(|| format!("tag {tag} points past the data"))?;
        let end = bytes
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| format!("tag {tag}'s string is not terminated"))?;
        std::str::from_utf8(&bytes[..end])
            .map(Some)
            .map_err(|_| format!("tag {tag}'s string is not UTF-8"))
    }

    /// An INT32 tag's (first) value.
    pub(crate) fn int32(&self, tag: i32) -> Result<Option<u32>, String> {
        let Some(&(_, kind, offset)) = self.entries.iter().find(|(t, _, _)| *t == tag) else {
            return Ok(None);
        };
        if kind != TYPE_INT32 {
            return Err(format!("tag {tag} has type {kind}, not INT32"));
        }
        self.data
            .get(offset..offset + 4)
            .and_then(|b| b.try_into().ok())
            .map(|b| Some(u32::from_be_bytes(b)))
            .ok_or_else(|| format!("tag {tag} points past the data"))
    }

    /// The package this header describes.
    pub(crate) fn package(&self, os: &OsRelease) -> Result<Package, String> {
        let name = self.string(NAME)?.ok_or("no NAME tag")?;
        let version = self.string(VERSION)?.unwrap_or_default();
        let release = self.string(RELEASE)?.unwrap_or_default();
        let epoch = self.int32(EPOCH)?;
        let vr = format!("{version}-{release}");
        let purl = Purl {
            kind: "rpm",
            namespace: os.get("ID").map(str::to_lowercase),
            name: name.to_string(),
            version: &vr,
            qualifiers: vec![
                ("arch", self.string(ARCH)?.unwrap_or_default().to_string()),
                ("epoch", epoch.map(|e| e.to_string()).unwrap_or_default()),
                ("distro", purl::distro(os)),
            ],
        }
        .render();
        Ok(Package {
            name: name.to_string(),
            version: epoch.map_or(vr.clone(), |e| format!("{e}:{vr}")),
            purl,
            license: self
                .string(LICENSE)?
                .filter(|l| !l.is_empty())
                .map(str::to_string),
            supplier: self
                .string(VENDOR)?
                .filter(|v| !v.trim().is_empty())
                .map(|v| format!("Organization: {}", v.trim())),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::osrelease;
    use super::*;

    /// A header blob with the given string and INT32 tags.
    pub(crate) fn blob(strings: &[(i32, &str)], ints: &[(i32, u32)]) -> Vec<u8> {
        let (mut index, mut data) = (Vec::new(), Vec::new());
        for (tag, value) in strings {
            index.push((*tag, TYPE_STRING, data.len()));
            data.extend_from_slice(value.as_bytes());
            data.push(0);
        }
        for (tag, value) in ints {
            while data.len() % 4 != 0 {
                data.push(0);
            }
            index.push((*tag, TYPE_INT32, data.len()));
            data.extend_from_slice(&value.to_be_bytes());
        }
        let mut out = Vec::new();
        out.extend_from_slice(&(index.len() as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        for (tag, kind, offset) in index {
            out.extend_from_slice(&tag.to_be_bytes());
            out.extend_from_slice(&kind.to_be_bytes());
            out.extend_from_slice(&(offset as u32).to_be_bytes());
            out.extend_from_slice(&1u32.to_be_bytes());
        }
        out.extend_from_slice(&data);
        out
    }

    #[test]
    fn header_with_epoch() {
        let b = blob(
            &[
                (NAME, "bash"),
                (VERSION, "5.2.26"),
                (RELEASE, "3.fc40"),
                (ARCH, "x86_64"),
                (LICENSE, "GPL-3.0-or-later"),
                (VENDOR, "Fedora Project"),
            ],
            &[(EPOCH, 1)],
        );
        let os = osrelease::parse("ID=fedora\nVERSION_ID=40\n");
        let p = Header::parse(&b).unwrap().package(&os).unwrap();
        assert_eq!(p.version, "1:5.2.26-3.fc40");
        assert_eq!(
            p.purl,
            "pkg:rpm/fedora/bash@5.2.26-3.fc40?arch=x86_64&distro=fedora-40&epoch=1"
        );
        assert_eq!(p.license.as_deref(), Some("GPL-3.0-or-later"));
        assert_eq!(p.supplier.as_deref(), Some("Organization: Fedora Project"));
    }

    #[test]
    fn damaged_headers_are_errors() {
        assert_eq!(
            Header::parse(&[0, 0, 0]).unwrap_err(),
            "3 bytes, too short for a header"
        );
        let mut b = blob(&[(NAME, "x")], &[]);
        b.truncate(b.len() - 1);
        assert_eq!(
            Header::parse(&b).unwrap_err(),
            "1 index entries and 2 data bytes do not fit its 25 bytes"
        );
        let b = blob(&[(VERSION, "1")], &[]);
        assert_eq!(
            Header::parse(&b)
                .unwrap()
                .package(&OsRelease::default())
                .unwrap_err(),
            "no NAME tag"
        );
    }
}
