//! What `verify` and `inspect` are pointed at: the `DIR[:TAG]`,
//! `oci:DIR[:TAG]`, `FILE` and `oci-archive:FILE[:TAG]` arguments, where
//! the command line meets the layout.
//!
//! An oci-archive is read from a private temporary directory (its
//! `oci-layout`, `index.json` and `blobs/ALG/HEX` regular files copied
//! there, nothing else), registered for signal cleanup and removed when the
//! [`Opened`] layout is dropped; messages name the archive, not the copy.

use std::fs;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::spec::ref_name::validate_tag;

use super::reader::bad;
use super::registry;

/// A layout directory or an oci-archive file to read and, optionally, the
/// tag in it to read.
///
/// Parsed from `DIR[:TAG]`, `oci:DIR[:TAG]`, `FILE` or
/// `oci-archive:FILE[:TAG]` (see [`Target::parse`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    dir: PathBuf,
    tag: Option<String>,
    /// Given as `oci-archive:`: an archive, whatever the path is.
    archive: bool,
}

impl Target {
    /// Split a `[oci:|oci-archive:]PATH[:TAG]` argument.
    ///
    /// The rule, in order:
    /// 1. if the whole argument names an existing directory or file, it is
    ///    `PATH` (no tag), so a path whose name contains `:` is always reachable;
    /// 2. a leading `oci:` (a layout) or `oci-archive:` (an archive) is dropped,
    ///    and the rest is split as follows;
    /// 3. for each `:` from the right, if what follows is a valid ref
    ///    name and what precedes names an existing path, that is the split
    ///    (so a tag may itself contain `:` when `PATH` does not);
    /// 4. otherwise, if what follows the last `:` is a valid ref name and what
    ///    precedes is not empty, split there (the path does not exist, and
    ///    the error will name it without the tag);
    /// 5. otherwise the whole (rest of the) argument is `PATH`.
    ///
    /// An existing regular file is read as an oci-archive.
    pub fn parse(arg: &str) -> Target {
        if Path::new(arg).exists() {
            return Target::new(arg, None, false);
        }
        if let Some(rest) = arg.strip_prefix("oci-archive:") {
            return Target {
                archive: true,
                ..Target::split(rest)
            };
        }
        Target::split(arg.strip_prefix("oci:").unwrap_or(arg))
    }

    /// Rules 3 to 5 of [`Target::parse`].
    fn split(arg: &str) -> Target {
        if Path::new(arg).exists() {
            return Target::new(arg, None, false);
        }
        let splits: Vec<usize> = arg.match_indices(':').map(|(i, _)| i).rev().collect();
        for &i in &splits {
            let (dir, tag) = (&arg[..i], &arg[i + 1..]);
            if !dir.is_empty() && validate_tag(tag).is_ok() && Path::new(dir).exists() {
                return Target::new(dir, Some(tag), false);
            }
        }
        if let Some(&i) = splits.first() {
            let (dir, tag) = (&arg[..i], &arg[i + 1..]);
            if !dir.is_empty() && validate_tag(tag).is_ok() {
                return Target::new(dir, Some(tag), false);
            }
        }
        Target::new(arg, None, false)
    }

    fn new(dir: &str, tag: Option<&str>, archive: bool) -> Target {
        Target {
            dir: PathBuf::from(dir),
            tag: tag.map(str::to_string),
            archive,
        }
    }

    /// The layout directory or archive file, as given.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The tag, if one was given.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// Whether the target is an oci-archive: given as `oci-archive:`, or an
    /// existing file that is not a directory.
    pub fn is_archive(&self) -> bool {
        self.archive || fs::metadata(&self.dir).is_ok_and(|m| !m.is_dir())
    }

    /// The layout to read: the directory itself, or an archive's files in a
    /// private temporary directory (removed when the result is dropped).
    pub(crate) fn open(&self) -> Result<Opened> {
        if !self.is_archive() {
            return Ok(Opened {
                layout: self.dir.clone(),
                archive: None,
            });
        }
        // Copies left by runs that died (kill -9) go first.
        let tmp = std::env::temp_dir();
        super::clean_stale_temps_in(&tmp);
        let work = fsutil::temp_path(&tmp, "-read");
        registry::register_temp(&work)?;
        let opened = Opened {
            layout: work.clone(),
            archive: Some(self.dir.clone()),
        };
        fs::create_dir(&work).at(&work)?;
        unpack(&self.dir, &work)?;
        Ok(opened)
    }
}

impl FromStr for Target {
    /// Never returned: what cannot be read is refused when it is read
    /// ([`crate::verify::verify_target`], [`crate::inspect::inspect_target`]).
    type Err = Error;

    /// [`Target::parse`].
    fn from_str(arg: &str) -> Result<Target, Error> {
        Ok(Target::parse(arg))
    }
}

/// A [`Target`] ready to read: a layout directory, and for an archive, the
/// archive it came from (its temporary copy removed on drop).
#[derive(Debug)]
pub(crate) struct Opened {
    layout: PathBuf,
    archive: Option<PathBuf>,
}

impl Opened {
    /// The layout directory to read.
    pub(crate) fn layout(&self) -> &Path {
        &self.layout
    }

    /// How reports name the layout: the directory, or the archive file.
    pub(crate) fn shown(&self) -> &Path {
        self.archive.as_deref().unwrap_or(&self.layout)
    }

    /// `text` with the temporary copy's path replaced by the archive's.
    pub(crate) fn relabel(&self, text: &str) -> String {
        match &self.archive {
            Some(a) => text.replace(&self.layout.display().to_string(), &a.display().to_string()),
            None => text.to_string(),
        }
    }

    /// `path` inside the temporary copy as `ARCHIVE/REL`.
    fn relabel_path(&self, path: PathBuf) -> PathBuf {
        match (&self.archive, path.strip_prefix(&self.layout)) {
            (Some(a), Ok(rel)) => a.join(rel),
            _ => path,
        }
    }

    /// An error of reading the copy, naming the archive instead.
    pub(crate) fn relabel_error(&self, e: Error) -> Error {
        match e {
            Error::BadLayout { path, reason } => Error::BadLayout {
                path: self.relabel_path(path),
                reason: self.relabel(&reason),
            },
            Error::Io { path, source } => Error::Io {
                path: self.relabel_path(path),
                source,
            },
            Error::DigestMismatch {
                path,
                expected,
                found,
            } => Error::DigestMismatch {
                path: self.relabel_path(path),
                expected,
                found,
            },
            other => other,
        }
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        if self.archive.is_some() {
            let _ = fs::remove_dir_all(&self.layout);
            registry::unregister_temp(&self.layout);
        }
    }
}

/// Where an archive entry goes in the copy, or `None` for an entry that is
/// no part of a layout (skipped).
fn destination(archive: &Path, name: &str, into: &Path) -> Result<Option<PathBuf>> {
    let name = name.trim_start_matches("./");
    // manifest.json: Docker's, which verify checks against index.json.
    if name == "oci-layout" || name == "index.json" || name == "manifest.json" {
        return Ok(Some(into.join(name)));
    }
    let Some(rest) = name.strip_prefix("blobs/") else {
        return Ok(None);
    };
    let Some((alg, hex)) = rest.split_once('/') else {
        return Ok(None);
    };
    if hex.is_empty() || hex == "/" {
        return Ok(None);
    }
    match Digest::parse(&format!("{alg}:{hex}")) {
        Ok(d) => Ok(Some(d.blob_path(into))),
        Err(e) => Err(bad(
            archive,
            format!(
                "entry {name} is not a blob (blobs/ALGORITHM/HEX): {e}; write the archive again with ociimport --format oci-archive or skopeo copy"
            ),
        )),
    }
}

/// Copy an entry's bytes, naming the archive on a read error and the copy
/// on a write error (a full `$TMPDIR`).
fn copy(from: &mut impl Read, archive: &Path, to: &mut impl Write, dest: &Path) -> Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            read => read.at(archive)?,
        };
        if n == 0 {
            return Ok(());
        }
        to.write_all(&buf[..n]).at(dest)?;
    }
}

/// Copy the layout files of the tar `archive` into `into`.
fn unpack(archive: &Path, into: &Path) -> Result<()> {
    let f = fsutil::open_regular(archive).map_err(|e| match e.kind() {
        io::ErrorKind::InvalidInput => bad(
            archive,
            format!("{e}; give an OCI layout directory or an oci-archive file"),
        ),
        _ => Error::Io {
            path: archive.to_path_buf(),
            source: e,
        },
    })?;
    let not_tar = |e: io::Error| {
        bad(
            archive,
            format!(
                "not an oci-archive (a tar of an OCI layout): {e}; give an OCI layout directory or an oci-archive file"
            ),
        )
    };
    let mut tar = tar::Archive::new(BufReader::new(f));
    let mut found = false;
    for entry in tar.entries().map_err(not_tar)? {
        let mut entry = entry.map_err(not_tar)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(dest) = destination(archive, &name, into)? else {
            continue;
        };
        let kind = entry.header().entry_type();
        if !kind.is_file() {
            return Err(bad(
                archive,
                format!(
                    "entry {name} is not a regular file ({kind:?}); an oci-archive holds the layout's files themselves: write it again with ociimport --format oci-archive or skopeo copy"
                ),
            ));
        }
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).at(parent)?;
        }
        let mut out = match fsutil::create_new(&dest) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(bad(
                    archive,
                    format!(
                        "entry {name} appears twice, so readers may disagree on it; write the archive again with ociimport --format oci-archive or skopeo copy"
                    ),
                ));
            }
            other => other.at(&dest)?,
        };
        copy(&mut entry, archive, &mut out, &dest)?;
        found |= name.trim_start_matches("./") == "index.json";
    }
    if !found {
        return Err(bad(
            archive,
            "not an oci-archive: its tar holds no index.json; give an OCI layout directory or an oci-archive file (ociimport --format oci-archive, skopeo copy ... oci-archive:FILE)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// [`Target::parse`] as the pair the rule speaks of.
    fn parse_target(arg: &str) -> (PathBuf, Option<String>) {
        let t: Target = arg.parse().unwrap();
        (t.dir().to_path_buf(), t.tag().map(str::to_string))
    }

    #[test]
    fn target_rule() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().to_str().unwrap().to_string();
        // 1. The whole argument is an existing directory, even with a colon.
        let colon = format!("{base}/img:v1");
        fs::create_dir(&colon).unwrap();
        assert_eq!(parse_target(&colon), (PathBuf::from(&colon), None));
        // 2. DIR exists and the rest is a tag; a tag may contain ':'.
        let img = format!("{base}/img");
        fs::create_dir(&img).unwrap();
        assert_eq!(
            parse_target(&format!("{img}:latest")),
            (PathBuf::from(&img), Some("latest".into()))
        );
        assert_eq!(
            parse_target(&format!("{img}:a:b")),
            (PathBuf::from(&img), Some("a:b".into()))
        );
        // 2 beats 1 only when 1 does not apply: img:v1 exists, so img:v1:x is (img:v1, x).
        assert_eq!(
            parse_target(&format!("{colon}:x")),
            (PathBuf::from(&colon), Some("x".into()))
        );
        // 3. Nothing exists: split at the last ':' when a valid tag follows.
        assert_eq!(
            parse_target(&format!("{base}/none:t1")),
            (PathBuf::from(format!("{base}/none")), Some("t1".into()))
        );
        // 4. Otherwise the whole string.
        for whole in [
            format!("{base}/none:"),
            format!("{base}/none:-bad"),
            format!("{base}/plain"),
        ] {
            assert_eq!(
                parse_target(&whole),
                (PathBuf::from(&whole), None),
                "{whole}"
            );
        }
        assert_eq!(parse_target(":t"), (PathBuf::from(":t"), None));
        // oci: and oci-archive: are dropped, then the same rule; an existing
        // file is a path like a directory.
        assert_eq!(
            parse_target(&format!("oci:{img}:v2")),
            (PathBuf::from(&img), Some("v2".into()))
        );
        assert_eq!(
            parse_target(&format!("oci:{img}")),
            (PathBuf::from(&img), None)
        );
        let file = format!("{base}/a.tar");
        fs::write(&file, b"").unwrap();
        assert_eq!(
            parse_target(&format!("{file}:v1")),
            (PathBuf::from(&file), Some("v1".into()))
        );
        let t = Target::parse(&format!("oci-archive:{base}/none.tar:v1"));
        assert!(t.is_archive());
        assert_eq!(
            (t.dir(), t.tag()),
            (Path::new(&format!("{base}/none.tar")), Some("v1"))
        );
        assert!(Target::parse(&file).is_archive());
        assert!(!Target::parse(&img).is_archive());
    }
}
