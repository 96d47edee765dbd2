//! Tar entries that a consumer cannot unpack, or unpacks differently from
//! other readers, and what `--normalize` does with each.
//!
//! Sources (docs/design.md, "Tar entries the consumers disagree on"): Go's
//! archive/tar `reader.go` (what podman, skopeo, buildah, docker and umoci
//! read with), containers/storage and moby `createTarFile`/
//! `extractTarFileEntry` ("unhandled tar header type %d"), umoci
//! `UnpackEntry` ("unknown typeflag").

/// What `--normalize` makes of a hazardous entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub enum Fix {
    /// Old GNU sparse file: expanded to a regular file.
    Expand,
    /// PAX global header: its records are folded into the entries it governs.
    Fold,
    /// Not a file (a volume label, a Solaris/star ACL or inode record): dropped.
    Drop,
    /// Solaris extended header: read as a PAX extended header.
    AsPax,
    /// Contiguous file: a regular file.
    AsRegular,
    /// GNU dump directory, or an old-style regular entry named like a
    /// directory: a directory.
    AsDirectory,
    /// No rewrite can keep its meaning: refused even with `--normalize`.
    Impossible,
}

/// Why an entry is a hazard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Hazard {
    /// What the entry is, e.g. "an old GNU sparse file (type 'S')".
    pub what: String,
    /// What the consumers do with it.
    pub consumers: &'static str,
    /// What `--normalize` does.
    pub fix: Fix,
}

const UNHANDLED: &str = "podman, buildah and docker fail on it (\"unhandled tar header type\"), umoci too (\"unknown typeflag\")";

impl Hazard {
    /// The one-line refusal: the entry, the consumer that fails, and the fix.
    pub(super) fn refusal(&self, path: &[u8]) -> String {
        let name = String::from_utf8_lossy(path);
        let fix = match self.fix {
            Fix::Expand => "--normalize rewrites it as a regular file",
            Fix::Fold => "--normalize folds its records into the entries it governs",
            Fix::Drop => "--normalize drops it",
            Fix::AsPax => "--normalize reads it as a PAX extended header",
            Fix::AsRegular => "--normalize rewrites it as a regular file",
            Fix::AsDirectory => "--normalize rewrites it as a directory",
            Fix::Impossible => {
                "--normalize cannot keep its meaning either; re-create the archive with GNU tar --format=posix or bsdtar"
            }
        };
        format!("entry '{name}' is {}: {}; {fix}", self.what, self.consumers)
    }
}

/// The hazard of an entry of type byte `t` named `path`, if it is one.
pub(super) fn of_type(t: u8, path: &[u8]) -> Option<Hazard> {
    let (what, consumers, fix) = match t {
        b'0' if path.ends_with(b"/") => (
            "a regular file named like a directory",
            "GNU tar and bsdtar unpack it as a directory, Go's archive/tar (podman, docker, umoci) as a file",
            Fix::AsDirectory,
        ),
        b'0'..=b'6' | b'x' | b'L' | b'K' => return None,
        0 => return None,
        b'S' => ("an old GNU sparse file", UNHANDLED, Fix::Expand),
        b'g' => (
            "a PAX global header",
            "umoci fails on it (\"unknown typeflag\") and podman, docker and bsdtar ignore its records, which GNU tar applies",
            Fix::Fold,
        ),
        b'V' => ("a GNU volume label", UNHANDLED, Fix::Drop),
        b'A' | b'E' | b'I' => ("a Solaris/star extension record", UNHANDLED, Fix::Drop),
        b'X' => ("a Solaris extended header", UNHANDLED, Fix::AsPax),
        b'7' => ("a contiguous file", UNHANDLED, Fix::AsRegular),
        b'D' => ("a GNU dump directory", UNHANDLED, Fix::AsDirectory),
        b'M' => (
            "a GNU multi-volume continuation",
            UNHANDLED,
            Fix::Impossible,
        ),
        b'N' => ("an old GNU long-name record", UNHANDLED, Fix::Impossible),
        _ => ("of an unknown type", UNHANDLED, Fix::Impossible),
    };
    let shown = if t.is_ascii_graphic() {
        format!("'{}'", t as char)
    } else {
        format!("0x{t:02x}")
    };
    Some(Hazard {
        what: format!("{what} (type {shown})"),
        consumers,
        fix,
    })
}

/// The PAX record that Go's archive/tar, and so every consumer, turns into
/// the `security.capability` xattr. bsdtar's `LIBARCHIVE.xattr.*` copy is
/// applied by no consumer (and dropped by `--normalize`), so it is not judged.
const CAPABILITY: &[u8] = b"SCHILY.xattr.security.capability";

/// A `security.capability` value the kernel refuses, as a one-line refusal.
///
/// Linux's `cap_convert_nscap` (security/commoncap.c) takes only a
/// vfs_cap_data of 20 bytes with revision 2 or 24 bytes with revision 3
/// (linux/capability.h), the magic's only flag being the effective bit; any
/// other value, v1's 12 bytes included, is EINVAL, so podman, buildah and
/// docker fail to unpack the layer ("lsetxattr ...: invalid argument").
/// No rewrite can say which capabilities were meant, so `--normalize` does
/// not help: the fix is at the source.
pub(super) fn bad_capability(path: &[u8], pax: &[(Vec<u8>, Vec<u8>)]) -> Option<String> {
    let (_, value) = pax.iter().rev().find(|(k, _)| k == CAPABILITY)?;
    let magic = value
        .get(..4)
        .and_then(|m| <[u8; 4]>::try_from(m).ok())
        .map(u32::from_le_bytes);
    let sized = (value.len(), magic.map(|m| m & !1));
    if matches!(sized, (20, Some(0x0200_0000)) | (24, Some(0x0300_0000))) {
        return None;
    }
    let shown = match magic {
        Some(m) => format!("{} bytes, magic 0x{m:08x}", value.len()),
        None => format!("{} bytes", value.len()),
    };
    Some(format!(
        "entry '{}' has a security.capability xattr the kernel refuses ({shown}; valid: 20 bytes v2 or 24 bytes v3): podman fails with \"lsetxattr: invalid argument\"; setcap the file again or remove the xattr",
        String::from_utf8_lossy(path)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_types_are_no_hazard() {
        for t in [
            b'0', b'1', b'2', b'3', b'4', b'5', b'6', b'x', b'L', b'K', 0,
        ] {
            assert_eq!(of_type(t, b"etc/passwd"), None, "{t}");
        }
    }

    #[test]
    fn hazards_name_the_entry_the_consumer_and_the_fix() {
        let h = of_type(b'S', b"var/sparse").unwrap();
        assert_eq!(h.fix, Fix::Expand);
        let line = h.refusal(b"var/sparse");
        assert!(
            line.starts_with("entry 'var/sparse' is an old GNU sparse file (type 'S'): "),
            "{line}"
        );
        assert!(
            line.contains("unhandled tar header type") && line.contains("--normalize"),
            "{line}"
        );
        assert_eq!(of_type(b'g', b"pax_global_header").unwrap().fix, Fix::Fold);
        assert_eq!(of_type(b'V', b"label").unwrap().fix, Fix::Drop);
        assert_eq!(of_type(b'X', b"x").unwrap().fix, Fix::AsPax);
        assert_eq!(of_type(b'M', b"m").unwrap().fix, Fix::Impossible);
        // Read as a directory by all (see the scanner); '0' only by some.
        assert_eq!(of_type(0, b"dir/"), None);
        assert_eq!(of_type(b'0', b"dir/").unwrap().fix, Fix::AsDirectory);
        assert_eq!(
            of_type(b'Q', b"q").unwrap().what,
            "of an unknown type (type 'Q')"
        );
        assert_eq!(
            of_type(0x81, b"q").unwrap().what,
            "of an unknown type (type 0x81)"
        );
    }

    #[test]
    fn only_capabilities_the_kernel_takes_pass() {
        let cap = |v: Vec<u8>| vec![(CAPABILITY.to_vec(), v)];
        let v = |magic: u32, len: usize| {
            let mut b = magic.to_le_bytes().to_vec();
            b.resize(len, 0);
            b
        };
        for ok in [
            v(0x0200_0000, 20),
            v(0x0200_0001, 20),
            v(0x0300_0000, 24),
            v(0x0300_0001, 24),
        ] {
            assert_eq!(bad_capability(b"f", &cap(ok.clone())), None, "{ok:?}");
        }
        let line = bad_capability(b"usr/bin/ping", &cap(v(0x0200_0000, 8))).unwrap();
        assert_eq!(
            line,
            "entry 'usr/bin/ping' has a security.capability xattr the kernel refuses (8 bytes, magic 0x02000000; valid: 20 bytes v2 or 24 bytes v3): podman fails with \"lsetxattr: invalid argument\"; setcap the file again or remove the xattr"
        );
        // Room for "ociimport: error: FILE: " and the offset within 300.
        assert!(line.len() < 230, "{}", line.len());
        // v1 (the kernel no longer writes it), a flag other than effective,
        // v2's size with v3's magic, too short to hold a magic.
        for bad in [
            v(0x0100_0000, 12),
            v(0x0200_0002, 20),
            v(0x0300_0000, 20),
            v(0x0200_0000, 24),
            vec![2, 0],
            Vec::new(),
        ] {
            assert!(bad_capability(b"f", &cap(bad.clone())).is_some(), "{bad:?}");
        }
        assert_eq!(
            bad_capability(b"f", &cap(vec![1, 2, 3]))
                .unwrap()
                .split(" (")
                .nth(1),
            Some(
                "3 bytes; valid: 20 bytes v2 or 24 bytes v3): podman fails with \"lsetxattr: invalid argument\"; setcap the file again or remove the xattr"
            )
        );
        // Other xattrs, and bsdtar's private copy, are not judged.
        let other = vec![(b"LIBARCHIVE.xattr.security.capability".to_vec(), vec![1])];
        assert_eq!(bad_capability(b"f", &other), None);
    }
}
