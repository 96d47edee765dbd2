//! What `verify` and `inspect` are pointed at: the `DIR[:TAG]` argument,
//! where the command line meets the layout.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::Error;
use crate::spec::ref_name::validate_tag;

/// A layout to read and, optionally, the tag in it to read.
///
/// Parsed from `DIR[:TAG]` (see [`Target::parse`]). The fields are private
/// so that other places to read from (`oci:DIR[:TAG]`, an oci-archive
/// file) can be added beside the directory without breaking callers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    dir: PathBuf,
    tag: Option<String>,
}

impl Target {
    /// Split a `DIR[:TAG]` argument.
    ///
    /// The rule, in order:
    /// 1. if the whole argument names an existing directory, it is `DIR` (no tag),
    ///    so a directory whose name contains `:` is always reachable;
    /// 2. otherwise, for each `:` from the right, if what follows is a valid ref
    ///    name and what precedes names an existing directory, that is the split
    ///    (so a tag may itself contain `:` when `DIR` does not);
    /// 3. otherwise, if what follows the last `:` is a valid ref name and what
    ///    precedes is not empty, split there (the directory does not exist, and
    ///    the error will name it without the tag);
    /// 4. otherwise the whole argument is `DIR`.
    pub fn parse(arg: &str) -> Target {
        if Path::new(arg).is_dir() {
            return Target::new(arg, None);
        }
        let splits: Vec<usize> = arg.match_indices(':').map(|(i, _)| i).rev().collect();
        for &i in &splits {
            let (dir, tag) = (&arg[..i], &arg[i + 1..]);
            if !dir.is_empty() && validate_tag(tag).is_ok() && Path::new(dir).is_dir() {
                return Target::new(dir, Some(tag));
            }
        }
        if let Some(&i) = splits.first() {
            let (dir, tag) = (&arg[..i], &arg[i + 1..]);
            if !dir.is_empty() && validate_tag(tag).is_ok() {
                return Target::new(dir, Some(tag));
            }
        }
        Target::new(arg, None)
    }

    fn new(dir: &str, tag: Option<&str>) -> Target {
        Target {
            dir: PathBuf::from(dir),
            tag: tag.map(str::to_string),
        }
    }

    /// The layout directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The tag, if one was given.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }
}

impl FromStr for Target {
    /// Never returned today; the forms to come (an archive that is not
    /// one) will have reasons to refuse.
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
    }
}
