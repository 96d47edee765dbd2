//! Lint of rootfs entries during the import's single pass: entries that
//! extractors treat specially, or that are hazards, are counted by kind with
//! the first example kept.
//!
//! [`Lint`] is an [`EntryObserver`]; the scanner owns it while the stream
//! passes and gives it back from `finish`, and [`Lint::into_findings`] then
//! yields what it found:
//!
//! ```ignore
//! // (crate-internal modules: shown for the shape, compiled in the unit tests)
//! use crate::lint::Lint;
//! use crate::tarscan::TarScanner;
//! # let mut archive = tar::Builder::new(Vec::new());
//! # let mut header = tar::Header::new_gnu();
//! # header.set_size(2);
//! # archive.append_data(&mut header, "etc/motd", &b"hi"[..]).unwrap();
//! # let chunk = archive.into_inner().unwrap();
//! let mut scanner = TarScanner::new(Lint::new());
//! scanner.feed(&chunk).unwrap(); // for every chunk of the stream
//! let (_summary, lint) = scanner.finish().unwrap();
//! let findings = lint.into_findings();
//! assert!(findings.strict_violations().is_empty());
//! ```

use std::collections::HashSet;

use serde::Serialize;
use sha2::{Digest as _, Sha256};
use tar::EntryType;

use crate::tarscan::path::components;
use crate::tarscan::{EntryHeader, EntryObserver};

/// A kind of entry the lint reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum LintKind {
    /// A path with a `..` component: a careless extractor writes outside the root.
    ParentComponent,
    /// An absolute path (`/etc/passwd`): extracted relative to the root by some tools, not by others.
    AbsolutePath,
    /// The same path as an earlier entry (`./a`, `a` and `a/` are one path): which one wins depends on the extractor.
    Duplicate,
    /// A hard link whose target is not an earlier entry: extraction fails or links to something outside the layer.
    DanglingHardlink,
    /// A name starting with `.wh.`: layer extractors treat it as a whiteout and delete files.
    Whiteout,
    /// A character or block device node.
    DeviceNode,
    /// A setuid/setgid file outside `bin`, `sbin`, `usr/bin`, `usr/sbin`, `usr/lib*`.
    SetuidOutsideUsualPlaces,
    /// A file name that is not valid UTF-8.
    NonUtf8Name,
}

impl LintKind {
    /// Whether `--strict` refuses an archive with such entries: only the path
    /// hazards, which change what extraction produces.
    pub(crate) fn is_strict(self) -> bool {
        matches!(
            self,
            LintKind::ParentComponent
                | LintKind::AbsolutePath
                | LintKind::Duplicate
                | LintKind::DanglingHardlink
                | LintKind::Whiteout
        )
    }

    /// What the kind is, for a message.
    pub(crate) fn label(self) -> &'static str {
        match self {
            LintKind::ParentComponent => "paths with '..' components",
            LintKind::AbsolutePath => "absolute paths",
            LintKind::Duplicate => "paths that repeat an earlier entry",
            LintKind::DanglingHardlink => "hard links to no earlier entry",
            LintKind::Whiteout => "whiteout names (.wh.*), which layer extractors delete",
            LintKind::DeviceNode => "device nodes",
            LintKind::SetuidOutsideUsualPlaces => {
                "setuid/setgid files outside bin, sbin, usr/bin, usr/sbin, usr/lib*"
            }
            LintKind::NonUtf8Name => "names that are not valid UTF-8",
        }
    }
}

/// How many entries of one kind were seen, and the first of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Finding {
    /// The kind.
    pub kind: LintKind,
    /// Entries of this kind.
    pub count: u64,
    /// The first one's path as stored (non-UTF-8 bytes escaped as `\xNN`);
    /// for hard links `path -> target`.
    pub example: String,
}

/// Everything the lint found, one [`Finding`] per kind seen, in the order of [`LintKind`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct LintFindings {
    /// Kinds seen.
    pub kinds: Vec<Finding>,
}

impl LintFindings {
    /// True when nothing was found.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// Entries of `kind` seen.
    #[cfg(test)]
    pub(crate) fn count(&self, kind: LintKind) -> u64 {
        self.kinds
            .iter()
            .find(|f| f.kind == kind)
            .map_or(0, |f| f.count)
    }

    /// One line per kind: label, count and first example.
    pub(crate) fn warnings(&self) -> Vec<String> {
        self.kinds.iter().map(line).collect()
    }

    /// The lines of the kinds that `--strict` refuses (path hazards only).
    pub(crate) fn strict_violations(&self) -> Vec<String> {
        self.kinds
            .iter()
            .filter(|f| f.kind.is_strict())
            .map(line)
            .collect()
    }

    fn record(&mut self, kind: LintKind, example: impl FnOnce() -> String) {
        match self.kinds.iter_mut().find(|f| f.kind == kind) {
            Some(f) => f.count += 1,
            None => {
                self.kinds.push(Finding {
                    kind,
                    count: 1,
                    example: example(),
                });
                self.kinds.sort_by_key(|f| f.kind);
            }
        }
    }
}

fn line(f: &Finding) -> String {
    let entries = if f.count == 1 { "entry" } else { "entries" };
    format!(
        "{}: {} {entries}, first: {}",
        f.kind.label(),
        f.count,
        f.example
    )
}

/// The lint observer: give it to a [`crate::tarscan::TarScanner`].
#[derive(Debug, Default)]
pub(crate) struct Lint {
    /// 128-bit hashes of the normalised paths seen: 16 bytes per entry
    /// instead of the path; a false "duplicate" needs a collision, at odds
    /// of about n²/2¹²⁹ (≈10⁻²⁵ for ten million entries).
    seen: HashSet<u128>,
    findings: LintFindings,
}

impl Lint {
    /// A fresh lint.
    pub(crate) fn new() -> Lint {
        Lint::default()
    }

    /// What was found, once the scan is over.
    pub(crate) fn into_findings(self) -> LintFindings {
        self.findings
    }

    fn record(&mut self, kind: LintKind, example: impl FnOnce() -> String) {
        self.findings.record(kind, example);
    }
}

fn key(normalised: &[u8]) -> u128 {
    let d = Sha256::digest(normalised);
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    u128::from_le_bytes(k)
}

/// Printable form of a stored path.
fn show(path: &[u8]) -> String {
    match std::str::from_utf8(path) {
        Ok(s) => s.to_string(),
        Err(_) => path.escape_ascii().to_string(),
    }
}

/// Where setuid/setgid programs normally live.
fn usual_setuid_place(normalised: &[u8]) -> bool {
    let dir = match normalised.iter().rposition(|&b| b == b'/') {
        Some(i) => &normalised[..i],
        None => return false,
    };
    let mut parts = dir.split(|&b| b == b'/');
    match (parts.next(), parts.next()) {
        (Some(b"bin" | b"sbin"), None) => true,
        (Some(b"usr"), Some(b"bin" | b"sbin")) => parts.next().is_none(),
        // usr/lib, usr/lib64, usr/libexec, ... and anything below them.
        (Some(b"usr"), Some(p)) => p.starts_with(b"lib"),
        _ => false,
    }
}

impl EntryObserver for Lint {
    fn entry(&mut self, h: &EntryHeader) -> bool {
        let path = &h.path;
        // Where extractors put it; `..` is kept, and reported below.
        let norm = components(path).joined();
        if path.starts_with(b"/") {
            self.record(LintKind::AbsolutePath, || show(path));
        }
        if norm.split(|&b| b == b'/').any(|c| c == b"..") {
            self.record(LintKind::ParentComponent, || show(path));
        }
        if std::str::from_utf8(path).is_err() {
            self.record(LintKind::NonUtf8Name, || show(path));
        }
        let name = norm.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
        if name.starts_with(b".wh.") {
            self.record(LintKind::Whiteout, || show(path));
        }
        match h.kind {
            EntryType::Char | EntryType::Block => self.record(LintKind::DeviceNode, || show(path)),
            EntryType::Link => {
                let target = h.link.as_deref().unwrap_or(&[]);
                // Checked before this entry is added, so a link to itself dangles.
                if !self.seen.contains(&key(&components(target).joined())) {
                    self.record(LintKind::DanglingHardlink, || {
                        format!("{} -> {}", show(path), show(target))
                    });
                }
            }
            EntryType::Regular | EntryType::Continuous
                if h.mode & 0o6000 != 0 && !usual_setuid_place(&norm) =>
            {
                self.record(LintKind::SetuidOutsideUsualPlaces, || show(path));
            }
            _ => {}
        }
        if !self.seen.insert(key(&norm)) {
            self.record(LintKind::Duplicate, || show(path));
        }
        false
    }

    fn content(&mut self, _data: &[u8]) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tarscan::TarScanner;
    use tar::Header;

    /// A ustar entry with the name and link stored as given, byte for byte
    /// (tar::Builder refuses `..` and absolute paths, which we need).
    fn raw(name: &[u8], kind: EntryType, mode: u32, link: &[u8], data: &[u8]) -> Vec<u8> {
        let mut h = Header::new_ustar();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_mtime(0);
        h.set_entry_type(kind);
        h.set_cksum();
        let mut out = h.as_bytes().to_vec();
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    fn file(name: &str) -> Vec<u8> {
        raw(name.as_bytes(), EntryType::Regular, 0o644, b"", b"x")
    }

    fn lint(entries: &[Vec<u8>]) -> LintFindings {
        let mut tar: Vec<u8> = entries.concat();
        tar.extend_from_slice(&[0u8; 1024]);
        let mut s = TarScanner::new(Lint::new());
        // Odd chunks: the observer must not depend on how the stream is cut.
        for c in tar.chunks(700) {
            s.feed(c).unwrap();
        }
        let (summary, lint) = s.finish().unwrap();
        assert_eq!(summary.entries, entries.len() as u64);
        lint.into_findings()
    }

    fn only(f: &LintFindings, kind: LintKind, count: u64, example: &str) {
        assert_eq!(f.kinds.len(), 1, "{f:?}");
        assert_eq!(f.kinds[0].kind, kind);
        assert_eq!(f.kinds[0].count, count);
        assert_eq!(f.kinds[0].example, example);
    }

    #[test]
    fn clean_rootfs_has_no_findings() {
        let f = lint(&[
            raw(b"./", EntryType::Directory, 0o755, b"", b""),
            raw(b"./usr/", EntryType::Directory, 0o755, b"", b""),
            raw(b"./usr/bin/", EntryType::Directory, 0o755, b"", b""),
            raw(b"./usr/bin/su", EntryType::Regular, 0o4755, b"", b"elf"),
            raw(
                b"./usr/lib/dbus-1.0/dbus-daemon-launch-helper",
                EntryType::Regular,
                0o4754,
                b"",
                b"e",
            ),
            raw(
                b"./usr/bin/sudo",
                EntryType::Link,
                0o4755,
                b"./usr/bin/su",
                b"",
            ),
            raw(b"./bin", EntryType::Symlink, 0o777, b"usr/bin", b""),
            raw(
                b"./etc/localtime",
                EntryType::Symlink,
                0o777,
                b"/usr/share/zoneinfo/UTC",
                b"",
            ),
        ]);
        assert!(f.is_empty(), "{f:?}");
        assert!(f.warnings().is_empty());
    }

    #[test]
    fn parent_components() {
        let f = lint(&[file("../etc/passwd"), file("a/../../b"), file("a..b/c")]);
        only(&f, LintKind::ParentComponent, 2, "../etc/passwd");
        assert_eq!(
            f.strict_violations(),
            vec!["paths with '..' components: 2 entries, first: ../etc/passwd".to_string()]
        );
    }

    #[test]
    fn absolute_paths() {
        let f = lint(&[file("/etc/shadow"), file("etc/ok")]);
        only(&f, LintKind::AbsolutePath, 1, "/etc/shadow");
        assert_eq!(f.strict_violations().len(), 1);
    }

    #[test]
    fn duplicates_after_normalisation() {
        let f = lint(&[
            raw(b"./a/", EntryType::Directory, 0o755, b"", b""),
            raw(b"a", EntryType::Directory, 0o755, b"", b""),
            raw(b"a/", EntryType::Directory, 0o755, b"", b""),
            file("./a//b"),
            file("a/./b"),
            file("a/c"),
        ]);
        only(&f, LintKind::Duplicate, 3, "a");
        assert_eq!(f.count(LintKind::Duplicate), 3);
        assert!(
            f.strict_violations()[0].starts_with("paths that repeat an earlier entry: 3 entries")
        );
    }

    #[test]
    fn dangling_hardlinks() {
        let f = lint(&[
            file("./etc/a"),
            raw(b"./etc/b", EntryType::Link, 0o644, b"etc/a", b""), // fine: normalised target exists
            raw(b"./etc/c", EntryType::Link, 0o644, b"etc/later", b""),
            file("etc/later"),
            raw(b"self", EntryType::Link, 0o644, b"self", b""),
        ]);
        only(&f, LintKind::DanglingHardlink, 2, "./etc/c -> etc/later");
        assert_eq!(f.strict_violations().len(), 1);
    }

    #[test]
    fn whiteouts() {
        let f = lint(&[
            file("etc/.wh.passwd"),
            file("var/.wh..wh..opq"),
            file("etc/not.wh.x"),
        ]);
        only(&f, LintKind::Whiteout, 2, "etc/.wh.passwd");
        assert_eq!(f.strict_violations().len(), 1);
    }

    #[test]
    fn device_nodes_are_warnings_only() {
        let f = lint(&[
            raw(b"dev/null", EntryType::Char, 0o666, b"", b""),
            raw(b"dev/sda", EntryType::Block, 0o660, b"", b""),
            raw(b"dev/fifo", EntryType::Fifo, 0o660, b"", b""),
        ]);
        only(&f, LintKind::DeviceNode, 2, "dev/null");
        assert!(f.strict_violations().is_empty());
        assert_eq!(
            f.warnings(),
            vec!["device nodes: 2 entries, first: dev/null".to_string()]
        );
    }

    #[test]
    fn setuid_outside_usual_places_is_counted_only() {
        let f = lint(&[
            raw(b"usr/bin/passwd", EntryType::Regular, 0o4755, b"", b""),
            raw(b"sbin/unix_chkpwd", EntryType::Regular, 0o2755, b"", b""),
            raw(
                b"usr/libexec/x/helper",
                EntryType::Regular,
                0o4755,
                b"",
                b"",
            ),
            raw(b"home/user/rootshell", EntryType::Regular, 0o4755, b"", b""),
            raw(b"usr/bin/sub/odd", EntryType::Regular, 0o2711, b"", b""),
            raw(b"setuid-at-root", EntryType::Regular, 0o4755, b"", b""),
            // A setgid directory is ordinary (shared group directories).
            raw(b"var/mail/", EntryType::Directory, 0o2775, b"", b""),
        ]);
        only(
            &f,
            LintKind::SetuidOutsideUsualPlaces,
            3,
            "home/user/rootshell",
        );
        assert!(f.strict_violations().is_empty());
    }

    #[test]
    fn non_utf8_names() {
        let f = lint(&[
            raw(b"etc/caf\xe9", EntryType::Regular, 0o644, b"", b""),
            file("etc/café"),
        ]);
        only(&f, LintKind::NonUtf8Name, 1, "etc/caf\\xe9");
        assert!(f.strict_violations().is_empty());
    }

    #[test]
    fn several_kinds_in_order_and_serialisable() {
        let f = lint(&[
            raw(b"dev/tty", EntryType::Char, 0o666, b"", b""),
            file("/abs"),
            file("../up"),
        ]);
        let kinds: Vec<LintKind> = f.kinds.iter().map(|k| k.kind).collect();
        assert_eq!(
            kinds,
            vec![
                LintKind::ParentComponent,
                LintKind::AbsolutePath,
                LintKind::DeviceNode
            ]
        );
        assert_eq!(f.strict_violations().len(), 2);
        assert_eq!(f.warnings().len(), 3);
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["kinds"][0]["kind"], "parent-component");
        assert_eq!(v["kinds"][2]["count"], 1);
    }
}
