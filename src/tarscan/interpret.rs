//! Interpretation: what a header block means. The `tar` crate's
//! [`tar::Header`] parsed, PAX (`x`) and GNU long-name (`L`/`K`) records
//! applied to the entry they precede, and the refusal rules; its errors are
//! reasons, to which the scanner adds the offset.

use tar::{EntryType, Header};

use super::framing::checksum_ok;
use super::sparse::{MAX_SPARSE_REGIONS, PaxSparse, sparse_map};
use super::{BLOCK, EntryHeader, Fix, MAX_META_RECORD, Policy, SparseMap, hazard};

/// 9999-12-31T23:59:59Z, the last second RFC 3339 can write.
const MAX_RFC3339_SECS: i64 = 253_402_300_799;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MetaKind {
    Pax,
    GlobalPax,
    LongName,
    LongLink,
}

impl MetaKind {
    /// The metadata record kind of a type byte, if it is one under `policy`.
    fn of(t: u8, policy: Policy) -> Option<Self> {
        match t {
            b'x' => Some(MetaKind::Pax),
            b'L' => Some(MetaKind::LongName),
            b'K' => Some(MetaKind::LongLink),
            b'g' if policy == Policy::Normalize => Some(MetaKind::GlobalPax),
            b'X' if policy == Policy::Normalize => Some(MetaKind::Pax),
            _ => None,
        }
    }
}

/// Overrides that the preceding metadata records set for the next entry.
#[derive(Debug, Default)]
struct Pending {
    path: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    size: Option<u64>,
    mtime: Option<i64>,
    uid: Option<u64>,
    gid: Option<u64>,
    uname: Option<Vec<u8>>,
    gname: Option<Vec<u8>>,
    /// Records not resolved into a field.
    other: Vec<(Vec<u8>, Vec<u8>)>,
    /// A `GNU.sparse.*` record was seen.
    gnu_sparse: bool,
    /// What the `GNU.sparse.*` records said.
    pax_sparse: PaxSparse,
}

#[derive(Debug)]
pub(super) enum Meaning {
    /// A metadata record of `size` bytes follows.
    Record { size: u64 },
    /// An archive member; `sparse_ext` when GNU sparse extension blocks
    /// come before its content.
    Entry {
        entry: Box<EntryHeader>,
        sparse_ext: bool,
    },
}

/// Interprets header blocks and metadata records; its errors are reasons,
/// to which the scanner adds the offset.
#[derive(Debug, Default)]
pub(super) struct Interpreter {
    policy: Policy,
    pending: Pending,
    /// Records of PAX global headers seen so far (normalizing), applied to
    /// every later entry below its own records.
    global: Pending,
    /// The metadata record being collected, and its kind.
    record: Vec<u8>,
    record_kind: Option<MetaKind>,
    pub(super) entries: u64,
    pub(super) newest_mtime: Option<i64>,
}

impl Interpreter {
    /// An interpreter at the start of an archive, under `policy`.
    pub(super) fn new(policy: Policy) -> Self {
        Self {
            policy,
            ..Self::default()
        }
    }

    /// What the header block at `start` means.
    pub(super) fn header(&mut self, block: &[u8; BLOCK], start: u64) -> Result<Meaning, String> {
        let header = Header::from_byte_slice(block);
        if !checksum_ok(block) {
            return Err(if start == 0 {
                "the decompressed stream is not a tar archive (the first block is not a valid tar header)".to_string()
            } else {
                "corrupt tar header (bad checksum)".to_string()
            });
        }
        let t = header.entry_type().as_byte();
        let stored = match header.entry_size() {
            Ok(size) => size,
            // GNU tar leaves a volume label's size field blank.
            Err(_) if t == b'V' && block[124..136].iter().all(|&b| b == 0 || b == b' ') => 0,
            Err(e) => return Err(format!("corrupt tar header: {e}")),
        };
        if let Some(kind) = MetaKind::of(t, self.policy) {
            if stored > MAX_META_RECORD {
                return Err(format!(
                    "tar metadata record of {stored} bytes exceeds the limit of {MAX_META_RECORD} bytes"
                ));
            }
            self.record.clear();
            self.record_kind = Some(kind);
            return Ok(Meaning::Record { size: stored });
        }
        let entry = self.entry(header, stored)?;
        self.count(&entry);
        let sparse_ext = entry.sparse.is_some() && header.as_gnu().is_some_and(|g| g.is_extended());
        Ok(Meaning::Entry {
            entry: Box::new(entry),
            sparse_ext,
        })
    }

    /// The member a header describes, with the pending overrides applied.
    fn entry(&mut self, header: &Header, stored: u64) -> Result<EntryHeader, String> {
        let own = std::mem::take(&mut self.pending);
        let mut path = own
            .path
            .clone()
            .unwrap_or_else(|| header.path_bytes().into_owned());
        // The raw type byte: tar-rs reads the old-style '\0' as '0', but
        // with a name ending in '/' Go, GNU tar, bsdtar and Python all read
        // a directory.
        let raw_type = header.as_old().linkflag[0];
        let kind = if raw_type == 0 && path.ends_with(b"/") {
            EntryType::Directory
        } else {
            header.entry_type()
        };
        let pax_sparse = own.gnu_sparse || self.global.gnu_sparse;
        if pax_sparse && let Some(name) = &own.pax_sparse.name {
            // The real name, not the GNUSparseFile.NNN placeholder.
            path.clone_from(name);
        }
        let fix = self.judge(raw_type, &path)?;
        let sparse = if pax_sparse {
            Some(pax_sparse_map(&own.pax_sparse, kind, &path)?)
        } else {
            sparse_map(header)?
        };
        let size = own.size.unwrap_or(stored);
        header_only_claims_no_data(kind, &path, size)?;
        let g = &self.global;
        let mtime = own
            .mtime
            .or(g.mtime)
            .unwrap_or_else(|| header_mtime(header));
        // The entry's own records win over global ones with the same key.
        let mut pax: Vec<(Vec<u8>, Vec<u8>)> = g
            .other
            .iter()
            .filter(|(k, _)| !own.other.iter().any(|(o, _)| o == k))
            .cloned()
            .collect();
        pax.extend(own.other);
        if let Some(refusal) = hazard::bad_capability(&path, &pax) {
            return Err(refusal);
        }
        Ok(EntryHeader {
            link: own
                .link
                .or_else(|| header.link_name_bytes().map(|l| l.into_owned())),
            kind,
            size,
            mode: header.mode().unwrap_or(0),
            mtime,
            uid: own
                .uid
                .or(g.uid)
                .unwrap_or_else(|| header.uid().unwrap_or(0)),
            gid: own
                .gid
                .or(g.gid)
                .unwrap_or_else(|| header.gid().unwrap_or(0)),
            uname: own.uname.or_else(|| g.uname.clone()).unwrap_or_else(|| {
                header
                    .username_bytes()
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default()
            }),
            gname: own.gname.or_else(|| g.gname.clone()).unwrap_or_else(|| {
                header
                    .groupname_bytes()
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default()
            }),
            device: device_numbers(header),
            pax,
            sparse,
            fix,
            path,
        })
    }

    /// Whether the entry is one consumers disagree on: refused, or (when
    /// normalizing) what the rewrite does with it.
    fn judge(&self, t: u8, path: &[u8]) -> Result<Option<Fix>, String> {
        match hazard::of_type(t, path) {
            None => Ok(None),
            Some(h) if self.policy == Policy::Normalize && h.fix != Fix::Impossible => {
                Ok(Some(h.fix))
            }
            Some(h) => Err(h.refusal(path)),
        }
    }

    /// Counts a member for the summary.
    fn count(&mut self, entry: &EntryHeader) {
        self.entries += 1;
        // A single absurd mtime (base-256 or PAX) must not push `created`
        // beyond what RFC 3339 can express; such entries do not vote.
        if (0..=MAX_RFC3339_SECS).contains(&entry.mtime) {
            let m = entry.mtime;
            self.newest_mtime = Some(self.newest_mtime.map_or(m, |n| n.max(m)));
        }
    }

    /// More bytes of the current metadata record.
    pub(super) fn record_bytes(&mut self, bytes: &[u8]) {
        self.record.extend_from_slice(bytes);
    }

    /// The current metadata record is complete: keep its overrides for the next entry.
    pub(super) fn end_record(&mut self) -> Result<(), String> {
        let record = std::mem::take(&mut self.record);
        match self.record_kind.take() {
            Some(MetaKind::LongName) => self.pending.path = Some(trim_nul(&record).to_vec()),
            Some(MetaKind::LongLink) => self.pending.link = Some(trim_nul(&record).to_vec()),
            Some(MetaKind::Pax) => apply_pax(&mut self.pending, &record)?,
            Some(MetaKind::GlobalPax) => {
                apply_pax(&mut self.global, &record)?;
                // A global header's path or size would name no one entry.
                self.global.path = None;
                self.global.link = None;
                self.global.size = None;
            }
            None => {}
        }
        Ok(())
    }
}

/// A link, directory, device or FIFO header must claim no data.
/// The map of a PAX GNU sparse file named `path`. Every consumer expands
/// it as Go's archive/tar does (when the records say what Go reads): kept
/// as written, shown expanded.
fn pax_sparse_map(records: &PaxSparse, kind: EntryType, path: &[u8]) -> Result<SparseMap, String> {
    let name = String::from_utf8_lossy(path);
    if kind != EntryType::Regular {
        // Go fails on a link, directory or device with a sparse map
        // ("invalid header"), and reads a type 'S' by its old map.
        return Err(format!(
            "entry '{name}' has PAX GNU.sparse records on a {kind:?} entry: Go's archive/tar (podman, docker, umoci) fails on it or ignores them; re-create the archive with bsdtar or GNU tar"
        ));
    }
    records.map().map_err(|e| format!("entry '{name}' is {e}"))
}

fn header_only_claims_no_data(kind: EntryType, path: &[u8], size: u64) -> Result<(), String> {
    // Go's archive/tar (podman, skopeo, umoci, docker) and Python's
    // tarfile skip no data after a link, directory, device or FIFO header
    // whatever size it states; a reader that honours the size would skip
    // bytes the others read as entries. Such an archive means different
    // things to different consumers, so it is refused.
    let header_only = matches!(
        kind,
        EntryType::Link
            | EntryType::Symlink
            | EntryType::Directory
            | EntryType::Char
            | EntryType::Block
            | EntryType::Fifo
    );
    if header_only && size > 0 {
        let name = String::from_utf8_lossy(path);
        return Err(format!(
            "entry '{name}' is a {kind:?} header that claims {size} bytes of data; consumers disagree on whether to skip them, so the archive is refused"
        ));
    }
    Ok(())
}

/// Most bytes of PAX records kept for one entry (its own and global ones):
/// a bound on memory, far above what real archives hold.
const MAX_KEPT_RECORDS: usize = 4 << 20;

/// A header's mtime, negative ones (GNU base-256) included: the `tar` crate
/// reads the field as unsigned.
fn header_mtime(header: &Header) -> i64 {
    let field = &header.as_bytes()[136..148];
    if field[0] & 0x80 != 0 {
        // Base-256, two's complement, big endian; the top byte's flag bit is
        // the sign's extension.
        let negative = field[0] & 0x40 != 0;
        let mut v: i64 = if negative { -1 } else { 0 };
        for (i, &b) in field.iter().enumerate() {
            let b = if i == 0 {
                b & 0x7f | if negative { 0x80 } else { 0 }
            } else {
                b
            };
            v = v.wrapping_shl(8) | i64::from(b);
        }
        return v;
    }
    header
        .mtime()
        .map(|m| i64::try_from(m).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Apply one PAX record block to `p`: the fields it resolves, and the rest kept.
fn apply_pax(p: &mut Pending, record: &[u8]) -> Result<(), String> {
    let kept: usize = p.other.iter().map(|(k, v)| k.len() + v.len()).sum();
    if kept + record.len() > MAX_KEPT_RECORDS {
        return Err(format!(
            "PAX records for one entry exceed {} MiB",
            MAX_KEPT_RECORDS >> 20
        ));
    }
    if p.pax_sparse.map.len() > 2 * MAX_SPARSE_REGIONS {
        return Err("a PAX sparse map with more than a million regions".into());
    }
    for ext in tar::PaxExtensions::new(record) {
        let ext = ext.map_err(|e| format!("malformed PAX header: {e}"))?;
        let value = ext.value_bytes();
        let key = ext.key_bytes();
        let number = || {
            std::str::from_utf8(value)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
        };
        match key {
            b"path" => p.path = Some(value.to_vec()),
            b"linkpath" => p.link = Some(value.to_vec()),
            b"size" => p.size = Some(number().ok_or("malformed PAX size record")?),
            b"uid" => p.uid = number(),
            b"gid" => p.gid = number(),
            b"uname" => p.uname = Some(value.to_vec()),
            b"gname" => p.gname = Some(value.to_vec()),
            b"mtime" => {
                // "1700000000.123456789": keep whole seconds.
                let s = String::from_utf8_lossy(value);
                if let Ok(m) = s.split('.').next().unwrap_or("").parse::<i64>() {
                    p.mtime = Some(m);
                }
            }
            // Access and change times, comments and charsets change nothing
            // that is unpacked.
            b"atime" | b"ctime" | b"comment" | b"charset" | b"hdrcharset" => {}
            k if k.starts_with(b"GNU.sparse.") => {
                p.gnu_sparse = true;
                p.pax_sparse.apply(k, value);
            }
            _ => {
                p.other.retain(|(k, _)| k.as_slice() != key);
                p.other.push((key.to_vec(), value.to_vec()));
            }
        }
    }
    Ok(())
}

/// Device numbers of a character or block device header.
fn device_numbers(header: &Header) -> Option<(u32, u32)> {
    if !matches!(header.entry_type(), EntryType::Char | EntryType::Block) {
        return None;
    }
    let major = header.device_major().ok().flatten().unwrap_or(0);
    let minor = header.device_minor().ok().flatten().unwrap_or(0);
    Some((major, minor))
}

fn trim_nul(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreter_applies_records_to_the_next_entry_only() {
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions([
            ("path", b"long/pax/name".as_slice()),
            ("size", b"3".as_slice()),
            ("mtime", b"1700000000.75".as_slice()),
        ])
        .unwrap();
        let tar = b.into_inner().unwrap();
        let block = |at: usize| -> [u8; BLOCK] { tar[at..at + BLOCK].try_into().unwrap() };
        let mut i = Interpreter::default();
        let Ok(Meaning::Record { size }) = i.header(&block(0), 0) else {
            panic!("a PAX header is a record");
        };
        let record = &tar[BLOCK..BLOCK + usize::try_from(size).unwrap()];
        // Split as the framing may deliver it.
        i.record_bytes(&record[..10]);
        i.record_bytes(&record[10..]);
        i.end_record().unwrap();

        let mut h = Header::new_ustar();
        h.set_path("short").unwrap();
        h.set_size(0);
        h.set_mtime(5);
        h.set_cksum();
        let Ok(Meaning::Entry { entry, sparse_ext }) = i.header(h.as_bytes(), 4096) else {
            panic!("a file header is an entry");
        };
        assert!(!sparse_ext);
        assert_eq!(entry.path, b"long/pax/name");
        assert_eq!((entry.size, entry.mtime), (3, 1_700_000_000));
        // GNU base-256 for a time before 1970.
        let mut old = Header::new_gnu();
        old.set_path("old").unwrap();
        old.set_size(0);
        old.as_mut_bytes()[136..148].copy_from_slice(&{
            let mut f = [0xffu8; 12];
            f[4..].copy_from_slice(&(-315_619_200i64).to_be_bytes());
            f
        });
        old.set_cksum();
        assert_eq!(header_mtime(&old), -315_619_200);
        // The overrides were used up.
        let Ok(Meaning::Entry { entry, .. }) = i.header(h.as_bytes(), 8192) else {
            panic!("a file header is an entry");
        };
        assert_eq!(
            (&entry.path[..], entry.size, entry.mtime),
            (&b"short"[..], 0, 5)
        );
        assert_eq!((i.entries, i.newest_mtime), (2, Some(1_700_000_000)));
    }

    #[test]
    fn interpreter_refusals_are_reasons_without_offsets() {
        let mut i = Interpreter::default();
        let mut h = Header::new_ustar();
        h.set_path("f").unwrap();
        h.set_size(1);
        h.set_cksum();
        let mut bad: [u8; BLOCK] = *h.as_bytes();
        bad[0] ^= 1;
        assert!(i.header(&bad, 0).unwrap_err().contains("not a tar archive"));
        assert_eq!(
            i.header(&bad, 512).unwrap_err(),
            "corrupt tar header (bad checksum)"
        );
        i.record_kind = Some(MetaKind::Pax);
        i.record_bytes(b"9 size=x\n");
        assert_eq!(i.end_record().unwrap_err(), "malformed PAX size record");
        assert_eq!(i.entries, 0);
    }

    /// A header named `path` whose raw type byte is `t`.
    fn typed(t: u8, path: &str) -> [u8; BLOCK] {
        let mut h = Header::new_ustar();
        h.set_path(path).unwrap();
        h.set_size(0);
        h.set_mode(0o755);
        h.as_old_mut().linkflag = [t];
        h.set_cksum();
        *h.as_bytes()
    }

    #[test]
    fn a_name_ending_in_a_slash_is_a_directory_only_for_old_style_entries() {
        let mut i = Interpreter::default();
        match i.header(&typed(0, "etc/dir/"), 0).unwrap() {
            Meaning::Entry { entry, .. } => assert_eq!(entry.kind, EntryType::Directory),
            other => panic!("{other:?}"),
        }
        let e = i.header(&typed(b'0', "etc/dir/"), 512).unwrap_err();
        assert!(
            e.starts_with("entry 'etc/dir/' is a regular file named like a directory"),
            "{e}"
        );
        match i.header(&typed(0, "etc/file"), 1024).unwrap() {
            Meaning::Entry { entry, .. } => assert_eq!(entry.kind, EntryType::Regular),
            other => panic!("{other:?}"),
        }
    }
}
