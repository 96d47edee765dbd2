//! `--normalize`: the archive rewritten as one canonical tar stream, between
//! the decoder and the DiffID hasher.
//!
//! The input is read by the tar scanner with [`Policy::Normalize`]
//! (concatenated archives merged, PAX global headers folded into the entries
//! they govern, bytes after the last archive dropped); every entry it
//! reports is written again here:
//! - a ustar header when everything fits, with a PAX header before it only
//!   for what ustar cannot hold and for records such as xattrs, keys sorted;
//! - types 0 (regular), 1-6 only: GNU sparse files (old type 'S', PAX
//!   `GNU.sparse.*`) expanded by the scanner, contiguous files as regular files, dump directories as directories, volume labels
//!   and Solaris/star records dropped ([`Fix`]);
//! - mode without type bits, whole-second mtime clamped to
//!   `SOURCE_DATE_EPOCH`/`--created` when set, no atime or ctime;
//! - `--strip-components N` as GNU tar: N leading components removed from
//!   names and hard-link targets, entries with nothing left dropped;
//! - directories named with a trailing slash; two zero blocks at the end.
//!
//! So the same entries in the same order give the same bytes, and the same
//! DiffID, whichever tar wrote them.
//!
//! [`Policy::Normalize`]: crate::tarscan::Policy::Normalize

use std::io::{self, Write};

use tar::EntryType;

use crate::tarscan::{EntryHeader, EntryObserver, Fix};

const BLOCK: usize = 512;
const ZEROS: [u8; 8192] = [0; 8192];
/// Largest value of an 8-byte octal ustar field (7 digits).
const MAX_OCTAL_7: u64 = 0o7_777_777;
/// Largest value of a 12-byte octal ustar field (11 digits).
const MAX_OCTAL_11: u64 = 0o77_777_777_777;

/// What the rewrite does beyond the canonical form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct NormalizeOptions {
    /// Clamp mtimes to this (`SOURCE_DATE_EPOCH` or `--created`).
    pub clamp_mtime: Option<i64>,
    /// Leading path components to remove (`--strip-components`).
    pub strip_components: u32,
}

/// The canonical writer, fed by the scanner as an observer.
pub(crate) struct Rewriter<W: Write> {
    out: W,
    opts: NormalizeOptions,
    /// Content bytes written for the current entry (for its padding).
    content: u64,
    /// The first failure (a write, or an entry that cannot be rewritten);
    /// the scanner is told to stop offering content, the caller reports it.
    error: Option<io::Error>,
}

impl<W: Write> Rewriter<W> {
    pub(crate) fn new(out: W, opts: NormalizeOptions) -> Self {
        Rewriter {
            out,
            opts,
            content: 0,
            error: None,
        }
    }

    /// The first error, if any (checked after every feed).
    pub(crate) fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    /// Write the end-of-archive marker; the writer back.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.write_all(&[0; 2 * BLOCK])?;
        Ok(self.out)
    }

    fn fail(&mut self, e: io::Error) -> bool {
        if self.error.is_none() {
            self.error = Some(e);
        }
        false
    }

    /// The entry's name and link target after `--strip-components`; `None`:
    /// nothing is left of the name, so the entry is dropped.
    fn names(&self, h: &EntryHeader, kind: EntryType) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
        let n = self.opts.strip_components;
        let Some(path) = strip(&h.path, n) else {
            return Ok(None);
        };
        let shown = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        if n > 0 && path.split(|&b| b == b'/').any(|c| c == b"..") {
            // "x/../e" stripped of "x" would point outside the image.
            return Err(invalid(format!(
                "entry '{}' would become '{}' after --strip-components {n}, a path outside the image (GNU tar refuses such names too)",
                shown(&h.path),
                shown(&path)
            )));
        }
        let original = h.link.clone().unwrap_or_default();
        let link = match kind {
            EntryType::Link => strip(&original, n).ok_or_else(|| {
                invalid(format!(
                    "hard link '{}' has no target left after --strip-components {n} ('{}')",
                    shown(&h.path),
                    shown(&original)
                ))
            })?,
            EntryType::Symlink => original,
            _ => Vec::new(),
        };
        Ok(Some((path, link)))
    }

    /// Write `h` canonically; false if its content is not wanted.
    fn start(&mut self, h: &EntryHeader) -> io::Result<bool> {
        let Some(kind) = canonical_kind(h) else {
            return Ok(false);
        };
        let Some((mut path, link)) = self.names(h, kind)? else {
            return Ok(false);
        };
        if kind == EntryType::Directory && !path.ends_with(b"/") {
            path.push(b'/');
        }
        // A sparse file comes expanded from the scanner: its size is the
        // expanded file's.
        let size = if kind == EntryType::Regular {
            h.size
        } else {
            0
        };
        let mtime = match self.opts.clamp_mtime {
            Some(c) => h.mtime.min(c),
            None => h.mtime,
        };
        let fields = Fields {
            path,
            link,
            kind,
            size,
            mode: h.mode & 0o7777,
            mtime,
            uid: h.uid,
            gid: h.gid,
            uname: h.uname.clone(),
            gname: h.gname.clone(),
            device: h.device.unwrap_or((0, 0)),
        };
        write_entry_header(&mut self.out, &fields, &kept_records(&h.pax, kind))?;
        self.content = 0;
        Ok(size > 0)
    }

    fn copy(&mut self, data: &[u8]) -> io::Result<()> {
        self.content += data.len() as u64;
        self.out.write_all(data)
    }

    fn end(&mut self) -> io::Result<()> {
        if self.error.is_some() {
            // Whatever went wrong, nothing more is written for this entry.
            return Ok(());
        }
        let pad = (BLOCK as u64 - self.content % BLOCK as u64) % BLOCK as u64;
        zeros(&mut self.out, pad)
    }
}

impl<W: Write> EntryObserver for Rewriter<W> {
    fn entry(&mut self, header: &EntryHeader) -> bool {
        if self.error.is_some() {
            return false;
        }
        match self.start(header) {
            Ok(wanted) => wanted,
            Err(e) => self.fail(e),
        }
    }

    fn content(&mut self, data: &[u8]) -> bool {
        match self.copy(data) {
            Ok(()) => true,
            Err(e) => self.fail(e),
        }
    }

    fn end_entry(&mut self) {
        if let Err(e) = self.end() {
            self.fail(e);
        }
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

fn zeros(out: &mut impl Write, mut n: u64) -> io::Result<()> {
    while n > 0 {
        let k = usize::try_from(n).unwrap_or(usize::MAX).min(ZEROS.len());
        out.write_all(&ZEROS[..k])?;
        n -= k as u64;
    }
    Ok(())
}

/// The PAX records a canonical entry keeps: extended attributes, the only
/// ones the consumers apply (Go's archive/tar reads `SCHILY.xattr.*`), so
/// bsdtar's `LIBARCHIVE.xattr.*` copies, ACLs and other tars' private
/// records go; and none on a hard link, whose attributes are its target's
/// (bsdtar repeats them there, GNU tar does not).
fn kept_records(pax: &[(Vec<u8>, Vec<u8>)], kind: EntryType) -> Vec<(Vec<u8>, Vec<u8>)> {
    if kind == EntryType::Link {
        return Vec::new();
    }
    pax.iter()
        .filter(|(k, _)| k.starts_with(b"SCHILY.xattr."))
        .cloned()
        .collect()
}

/// The canonical type of an entry; `None`: it is dropped.
fn canonical_kind(h: &EntryHeader) -> Option<EntryType> {
    match h.fix {
        Some(Fix::Drop | Fix::Fold | Fix::AsPax | Fix::Impossible) => None,
        Some(Fix::Expand | Fix::AsRegular) => Some(EntryType::Regular),
        Some(Fix::AsDirectory) => Some(EntryType::Directory),
        None => match h.kind.as_byte() {
            0 | b'0' => Some(EntryType::Regular),
            b'1'..=b'6' => Some(h.kind),
            _ => None,
        },
    }
}

/// `path` without its first `n` components, GNU tar's way: leading slashes
/// removed, "." counts as a component; `None` if nothing is left.
fn strip(path: &[u8], n: u32) -> Option<Vec<u8>> {
    if n == 0 {
        return Some(path.to_vec());
    }
    let mut rest = path;
    for _ in 0..n {
        while let [b'/', tail @ ..] = rest {
            rest = tail;
        }
        let end = rest.iter().position(|&b| b == b'/')?;
        rest = &rest[end..];
    }
    while let [b'/', tail @ ..] = rest {
        rest = tail;
    }
    (!rest.is_empty()).then(|| rest.to_vec())
}

/// The values of one canonical entry.
struct Fields {
    path: Vec<u8>,
    link: Vec<u8>,
    kind: EntryType,
    size: u64,
    mode: u32,
    mtime: i64,
    uid: u64,
    gid: u64,
    uname: Vec<u8>,
    gname: Vec<u8>,
    device: (u32, u32),
}

/// A PAX header (if needed) and the ustar header of `f`.
fn write_entry_header(
    out: &mut impl Write,
    f: &Fields,
    extra: &[(Vec<u8>, Vec<u8>)],
) -> io::Result<()> {
    let mut records: Vec<(Vec<u8>, Vec<u8>)> = extra.to_vec();
    let split = split_path(&f.path);
    if split.is_none() {
        records.push((b"path".to_vec(), f.path.clone()));
    }
    if f.link.len() > 100 {
        records.push((b"linkpath".to_vec(), f.link.clone()));
    }
    let numbers = [
        ("size", f.size, MAX_OCTAL_11),
        ("uid", f.uid, MAX_OCTAL_7),
        ("gid", f.gid, MAX_OCTAL_7),
    ];
    for (key, v, max) in numbers {
        if v > max {
            records.push((key.as_bytes().to_vec(), v.to_string().into_bytes()));
        }
    }
    if !(0..=MAX_OCTAL_11 as i64).contains(&f.mtime) {
        records.push((b"mtime".to_vec(), f.mtime.to_string().into_bytes()));
    }
    for (key, v) in [("uname", &f.uname), ("gname", &f.gname)] {
        if v.len() > 32 {
            records.push((key.as_bytes().to_vec(), v.clone()));
        }
    }
    if !records.is_empty() {
        records.sort();
        records.dedup_by(|a, b| a.0 == b.0);
        let body = pax_body(&records);
        let mut h = [0u8; BLOCK];
        put(&mut h[0..100], b"././@PaxHeader");
        octal(&mut h[100..108], 0o644);
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], body.len() as u64);
        octal(&mut h[136..148], 0);
        h[156] = b'x';
        finish_ustar(&mut h);
        out.write_all(&h)?;
        out.write_all(&body)?;
        zeros(out, ((BLOCK - body.len() % BLOCK) % BLOCK) as u64)?;
    }
    out.write_all(&ustar_header(f, split))
}

/// "LEN KEY=VALUE\n" records, LEN counting the whole record.
fn pax_body(records: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in records {
        let rest = k.len() + v.len() + 3; // ' ', '=', '\n'
        let mut len = rest + 1;
        while len != rest + len.to_string().len() {
            len = rest + len.to_string().len();
        }
        body.extend(len.to_string().as_bytes());
        body.push(b' ');
        body.extend(k);
        body.push(b'=');
        body.extend(v);
        body.push(b'\n');
    }
    body
}

/// (prefix, name) for ustar, or `None` if the path does not fit.
fn split_path(path: &[u8]) -> Option<(&[u8], &[u8])> {
    if path.len() <= 100 {
        return Some((&[], path));
    }
    // Split at a slash so that the name holds at most 100 bytes and the
    // prefix at most 155; the latest such slash keeps the name shortest.
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    (0..trimmed.len())
        .rev()
        .filter(|&i| trimmed[i] == b'/')
        .map(|i| (&path[..i], &path[i + 1..]))
        .find(|(p, n)| p.len() <= 155 && n.len() <= 100 && !n.is_empty())
}

fn ustar_header(f: &Fields, split: Option<(&[u8], &[u8])>) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    let (prefix, name) = split.unwrap_or((&[], &f.path[..f.path.len().min(100)]));
    put(&mut h[0..100], name);
    octal(&mut h[100..108], u64::from(f.mode));
    octal(&mut h[108..116], f.uid.min(MAX_OCTAL_7));
    octal(&mut h[116..124], f.gid.min(MAX_OCTAL_7));
    octal(&mut h[124..136], f.size.min(MAX_OCTAL_11));
    octal(
        &mut h[136..148],
        u64::try_from(f.mtime).unwrap_or(0).min(MAX_OCTAL_11),
    );
    h[156] = f.kind.as_byte();
    put(&mut h[157..257], &f.link[..f.link.len().min(100)]);
    put(&mut h[265..297], &f.uname[..f.uname.len().min(32)]);
    put(&mut h[297..329], &f.gname[..f.gname.len().min(32)]);
    if matches!(f.kind, EntryType::Char | EntryType::Block) {
        octal(&mut h[329..337], u64::from(f.device.0).min(MAX_OCTAL_7));
        octal(&mut h[337..345], u64::from(f.device.1).min(MAX_OCTAL_7));
    }
    put(&mut h[345..500], prefix);
    finish_ustar(&mut h);
    h
}

/// Magic, version and checksum.
fn finish_ustar(h: &mut [u8; BLOCK]) {
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    octal(&mut h[148..155], u64::from(sum));
    h[155] = b' ';
}

fn put(field: &mut [u8], value: &[u8]) {
    field[..value.len()].copy_from_slice(value);
}

/// Zero-padded octal digits filling the field but its last byte, a NUL.
fn octal(field: &mut [u8], v: u64) {
    let digits = field.len() - 1;
    let s = format!("{v:0digits$o}");
    let s = &s.as_bytes()[s.len().saturating_sub(digits)..];
    field[..digits].copy_from_slice(s);
    field[digits] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tarscan::{Policy, TarScanner};

    fn normalize(input: &[u8], opts: NormalizeOptions) -> Result<Vec<u8>, String> {
        let mut s = TarScanner::with_policy(Rewriter::new(Vec::new(), opts), Policy::Normalize);
        for c in input.chunks(777) {
            s.feed(c).map_err(|e| e.reason)?;
        }
        let (_, mut w) = s.finish().map_err(|e| e.reason)?;
        if let Some(e) = w.take_error() {
            return Err(e.to_string());
        }
        w.finish().map_err(|e| e.to_string())
    }

    /// (path, type, data) of every entry, read back with the tar crate.
    fn entries(tar: &[u8]) -> Vec<(String, u8, Vec<u8>)> {
        let mut a = tar::Archive::new(tar);
        let mut out = Vec::new();
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            io::Read::read_to_end(&mut e, &mut data).unwrap();
            let p = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            out.push((p, e.header().entry_type().as_byte(), data));
        }
        out
    }

    fn gnu_archive(entries: &[(&str, EntryType, &[u8])], mtime: u64) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (p, t, d) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*t);
            h.set_size(d.len() as u64);
            h.set_mode(0o100644);
            h.set_mtime(mtime);
            h.set_uid(1000);
            h.set_gid(1000);
            h.set_username("user").unwrap();
            b.append_data(&mut h, p, *d).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn canonical_form_is_the_same_whichever_way_the_input_was_written() {
        let entries_a = [
            ("etc/", EntryType::Directory, &b""[..]),
            ("etc/hostname", EntryType::Regular, b"box\n"),
        ];
        let gnu = gnu_archive(&entries_a, 1_700_000_000);
        // The same entries as ustar with a directory without its slash, a
        // mode with type bits, and record padding after the marker.
        let mut b = tar::Builder::new(Vec::new());
        for (p, t, d) in entries_a {
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(t);
            h.set_size(d.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(1_700_000_000);
            h.set_uid(1000);
            h.set_gid(1000);
            h.set_username("user").unwrap();
            b.append_data(&mut h, p.trim_end_matches('/'), d).unwrap();
        }
        let mut ustar = b.into_inner().unwrap();
        ustar.extend([0u8; 8192]);
        let a = normalize(&gnu, NormalizeOptions::default()).unwrap();
        let b = normalize(&ustar, NormalizeOptions::default()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 3 * BLOCK + 2 * BLOCK);
        assert_eq!(
            entries(&a),
            vec![
                ("etc/".into(), b'5', vec![]),
                ("etc/hostname".into(), b'0', b"box\n".to_vec())
            ]
        );
        // Our output is already canonical.
        assert_eq!(normalize(&a, NormalizeOptions::default()).unwrap(), a);
    }

    #[test]
    fn concatenated_archives_merge_and_trailing_bytes_go() {
        let mut cat = gnu_archive(&[("a", EntryType::Regular, b"1")], 5);
        cat.extend(gnu_archive(&[("b", EntryType::Regular, b"2")], 5));
        cat.extend(b"trailing garbage, a pixz index perhaps");
        let out = normalize(&cat, NormalizeOptions::default()).unwrap();
        let names: Vec<String> = entries(&out).into_iter().map(|e| e.0).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn mtime_clamp_and_strip_components() {
        let tar = gnu_archive(
            &[
                ("root.x86_64/", EntryType::Directory, b""),
                (
                    "root.x86_64/etc/os-release",
                    EntryType::Regular,
                    b"ID=arch\n",
                ),
                ("pkglist.x86_64.txt", EntryType::Regular, b"pacman\n"),
            ],
            2_000_000_000,
        );
        let opts = NormalizeOptions {
            clamp_mtime: Some(1_000),
            strip_components: 1,
        };
        let out = normalize(&tar, opts).unwrap();
        let mut a = tar::Archive::new(&out[..]);
        let got: Vec<(String, u64)> = a
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                    e.header().mtime().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, [("etc/os-release".to_string(), 1_000)]);
    }

    #[test]
    fn a_hard_link_left_without_a_target_is_refused() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(EntryType::Link);
        h.set_size(0);
        b.append_link(&mut h, "top/link", "f1").unwrap();
        let tar = b.into_inner().unwrap();
        let opts = NormalizeOptions {
            clamp_mtime: None,
            strip_components: 1,
        };
        let e = normalize(&tar, opts).unwrap_err();
        assert_eq!(
            e,
            "hard link 'top/link' has no target left after --strip-components 1 ('f1')"
        );
    }

    #[test]
    fn stripping_never_makes_a_path_climb_out() {
        // The tar crate will not write such a name: set the field itself.
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..6].copy_from_slice(b"x/../e");
        h.set_size(1);
        h.set_mode(0o644);
        h.set_cksum();
        let mut b = tar::Builder::new(Vec::new());
        b.append(&h, &b"e"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let opts = NormalizeOptions {
            clamp_mtime: None,
            strip_components: 1,
        };
        let e = normalize(&tar, opts).unwrap_err();
        assert!(e.contains("would become '../e'"), "{e}");
    }

    #[test]
    fn strip_like_gnu_tar() {
        assert_eq!(strip(b"a/b/c", 1).unwrap(), b"b/c");
        assert_eq!(strip(b"./a/b", 1).unwrap(), b"a/b");
        assert_eq!(strip(b"/a//b", 1).unwrap(), b"b");
        assert_eq!(strip(b"a/b/", 1).unwrap(), b"b/");
        assert_eq!(strip(b"a/", 1), None);
        assert_eq!(strip(b"a", 1), None);
        assert_eq!(strip(b"a/b", 2), None);
    }

    #[test]
    fn long_names_big_ids_and_xattrs_get_a_sorted_pax_header() {
        let long = format!("{}/{}", "d".repeat(160), "f".repeat(120));
        let f = Fields {
            path: long.clone().into_bytes(),
            link: Vec::new(),
            kind: EntryType::Regular,
            size: 3,
            mode: 0o644,
            mtime: -5,
            uid: 1 << 30,
            gid: 0,
            uname: b"u".to_vec(),
            gname: b"g".to_vec(),
            device: (0, 0),
        };
        let mut out = Vec::new();
        let extra = vec![(b"SCHILY.xattr.user.x".to_vec(), b"1".to_vec())];
        write_entry_header(&mut out, &f, &extra).unwrap();
        out.extend(b"abc");
        zeros(&mut out, 509 + 1024).unwrap();
        let body = String::from_utf8_lossy(&out[BLOCK..2 * BLOCK]).into_owned();
        let keys: Vec<&str> = body
            .lines()
            .filter_map(|l| {
                l.split_once(' ')
                    .map(|(_, kv)| kv.split('=').next().unwrap_or(""))
            })
            .collect();
        assert_eq!(keys, ["SCHILY.xattr.user.x", "mtime", "path", "uid"]);
        let mut a = tar::Archive::new(&out[..]);
        let e = a.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(e.path_bytes().as_ref(), long.as_bytes());
        assert_eq!(e.header().uid().unwrap(), 1 << 30);
        assert!(pax_body(&[(b"k".to_vec(), b"v".repeat(95))]).starts_with(b"102 k="));
    }
}
