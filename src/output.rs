//! Where an import goes, as a value: a layout directory, an archive file,
//! or standard output. One [`crate::import()`] entry point takes it.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::spec::ref_name::validate_new_tag;

/// What an import writes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// An OCI image layout directory, created or added to.
    Layout(PathBuf),
    /// An OCI archive file (`--format oci-archive -o FILE`): replaced
    /// atomically, or written in place if it is a FIFO or a character
    /// device; it holds this run's images only.
    Archive(PathBuf),
    /// An OCI archive on standard output (`--format oci-archive -o -`).
    Stdout,
}

impl Output {
    /// How reports and the summary name the output: the path, `-` for
    /// standard output.
    pub fn display(&self) -> String {
        match self {
            Output::Layout(p) | Output::Archive(p) => p.display().to_string(),
            Output::Stdout => "-".into(),
        }
    }

    /// The kind of output, as `--json` names it.
    pub fn format(&self) -> OutputFormat {
        match self {
            Output::Layout(_) => OutputFormat::Oci,
            Output::Archive(_) | Output::Stdout => OutputFormat::OciArchive,
        }
    }
}

impl From<PathBuf> for Output {
    fn from(p: PathBuf) -> Self {
        Output::Layout(p)
    }
}

impl From<&str> for Output {
    fn from(p: &str) -> Self {
        Output::Layout(p.into())
    }
}

impl From<&PathBuf> for Output {
    fn from(p: &PathBuf) -> Self {
        Output::Layout(p.clone())
    }
}

impl From<&Path> for Output {
    fn from(p: &Path) -> Self {
        Output::Layout(p.into())
    }
}

/// What `-o` names, read as skopeo reads its transports: `oci:DIR[:TAG]`
/// (a layout and a tag), `oci-archive:FILE[:TAG]` (an archive), or a plain
/// path (taken whole, even with a `:` in it).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutputSpec {
    /// The layout directory or archive file.
    pub path: PathBuf,
    /// The tag given after the path, if any.
    pub tag: Option<String>,
    /// `Some(true)` for `oci-archive:`, `Some(false)` for `oci:`, `None` for a plain path.
    pub archive: Option<bool>,
}

impl OutputSpec {
    /// Read an `-o` argument. An existing path is taken whole; after an
    /// `oci:` or `oci-archive:` prefix, the rest is split at its last `:`
    /// when what follows is a valid new tag and what precedes is not empty
    /// (and the rest is not itself an existing path).
    pub fn parse(arg: &str) -> OutputSpec {
        let plain = |p: &str, archive| OutputSpec {
            path: PathBuf::from(p),
            tag: None,
            archive,
        };
        if Path::new(arg).exists() {
            return plain(arg, None);
        }
        let (rest, archive) = if let Some(r) = arg.strip_prefix("oci-archive:") {
            (r, true)
        } else if let Some(r) = arg.strip_prefix("oci:") {
            (r, false)
        } else {
            return plain(arg, None);
        };
        if Path::new(rest).exists() {
            return plain(rest, Some(archive));
        }
        match rest.rsplit_once(':') {
            Some((path, tag)) if !path.is_empty() && validate_new_tag(tag).is_ok() => OutputSpec {
                path: PathBuf::from(path),
                tag: Some(tag.to_string()),
                archive: Some(archive),
            },
            _ => plain(rest, Some(archive)),
        }
    }
    /// Join the spec with `-t` (`tag`) and `--format oci-archive`
    /// (`format_archive`): the path, the tag (`latest` if none is given)
    /// and whether an archive is written. A tag given both ways that
    /// differ, or `oci:` with `--format oci-archive`, is a usage error.
    pub fn resolve(
        self,
        tag: Option<&str>,
        format_archive: bool,
    ) -> Result<(PathBuf, String, bool), crate::error::Error> {
        let usage = |m: String| crate::error::Error::Usage(m);
        if self.archive == Some(false) && format_archive {
            return Err(usage(format!(
                "-o oci:{} names a layout, but --format oci-archive writes an archive: give -o oci-archive:FILE or drop --format",
                self.path.display()
            )));
        }
        let prefix = if self.archive == Some(true) {
            "oci-archive"
        } else {
            "oci"
        };
        let tag = match (tag, self.tag) {
            (Some(t), Some(o)) if t != o => {
                return Err(usage(format!(
                    "two tags: -t {t} and -o {prefix}:{}:{o}; give the tag once",
                    self.path.display()
                )));
            }
            (_, Some(o)) => o,
            (Some(t), None) => t.to_string(),
            (None, None) => "latest".to_string(),
        };
        Ok((self.path, tag, format_archive || self.archive == Some(true)))
    }
}

/// What was written, as `--json` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum OutputFormat {
    /// An OCI layout directory.
    #[serde(rename = "oci")]
    Oci,
    /// A tar of the layout.
    #[serde(rename = "oci-archive")]
    OciArchive,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_formats() {
        let l = Output::from("./img");
        assert_eq!(
            (l.display(), l.format()),
            ("./img".into(), OutputFormat::Oci)
        );
        let a = Output::Archive("x.tar".into());
        assert_eq!(
            (a.display(), a.format()),
            ("x.tar".into(), OutputFormat::OciArchive)
        );
        assert_eq!(Output::Stdout.display(), "-");
    }

    #[test]
    fn output_specs_read_as_skopeo_reads_them() {
        let spec = |a: &str| {
            let s = OutputSpec::parse(a);
            (s.path.display().to_string(), s.tag, s.archive)
        };
        let t = |s: &str| Some(s.to_string());
        assert_eq!(
            spec("oci:./img:1.0"),
            ("./img".into(), t("1.0"), Some(false))
        );
        assert_eq!(spec("oci:img"), ("img".into(), None, Some(false)));
        assert_eq!(
            spec("oci-archive:a.tar:v2"),
            ("a.tar".into(), t("v2"), Some(true))
        );
        assert_eq!(
            spec("oci-archive:a.tar"),
            ("a.tar".into(), None, Some(true))
        );
        // A plain path is taken whole; so is a rest whose tag is not one.
        assert_eq!(spec("img:1.0"), ("img:1.0".into(), None, None));
        assert_eq!(spec("oci:img:-x"), ("img:-x".into(), None, Some(false)));
        assert_eq!(spec("oci::t"), (":t".into(), None, Some(false)));
        // An existing path containing ':' is reachable.
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("oci:x:y");
        std::fs::create_dir(&odd).unwrap();
        let odd = odd.display().to_string();
        assert_eq!(spec(&odd), (odd.clone(), None, None));
    }
}
