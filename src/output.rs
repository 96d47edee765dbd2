//! Where an import goes, as a value: a layout directory, an archive file,
//! or standard output. One [`crate::import()`] entry point takes it.

use std::path::{Path, PathBuf};

use serde::Serialize;

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

    /// The layout directory, for a layout output.
    pub fn layout_dir(&self) -> Option<&Path> {
        match self {
            Output::Layout(p) => Some(p),
            Output::Archive(_) | Output::Stdout => None,
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
        assert_eq!(l.layout_dir(), Some(Path::new("./img")));
        let a = Output::Archive("x.tar".into());
        assert_eq!(
            (a.display(), a.format()),
            ("x.tar".into(), OutputFormat::OciArchive)
        );
        assert_eq!(Output::Stdout.display(), "-");
        assert_eq!(Output::Stdout.layout_dir(), None);
    }
}
