//! What `verify` and `inspect` are pointed at: the `DIR[:TAG]`,
//! `oci:DIR[:TAG]`, `FILE` and `oci-archive:FILE[:TAG]` arguments, where
//! the command line meets the layout.
//!
//! An oci-archive is read in place ([`super::tarindex`]): nothing is
//! extracted, and messages name the archive and the entry.

use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::spec::ref_name::validate_tag;

use super::Reader;

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

    /// The layout to read: the directory, or the archive read in place
    /// (indexed now; nothing is extracted).
    pub(crate) fn reader(&self) -> Result<Reader> {
        match self.is_archive() {
            true => Reader::open_archive(&self.dir),
            false => Reader::open(&self.dir),
        }
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
