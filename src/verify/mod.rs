//! `ociimport verify`: check an OCI image layout end to end, whoever wrote it.
//!
//! Every check that fails becomes a [`Problem`] naming the object (tag,
//! manifest, config, layer N, with its digest) and what is wrong; only a
//! layout that cannot be examined at all (the directory does not exist) is an
//! error.
//!
//! The documents are judged by [`crate::spec`], which lists every problem
//! field by field and lets `oci-spec` have the last word; the checker
//! (`checker.rs`) visits what the layout's one walk reaches from
//! `index.json` (each document once, within a budget), and the blob cache
//! (`blobs.rs`) reads each blob once through the layout's reader, layers
//! through the scan it shares with `inspect` (`layerscan.rs`).

mod blobs;
mod checker;
mod docker;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::digest::Blob;
use crate::error::{Error, IoContext, Result};
use crate::layout::{Reader, Target};
use crate::report::human_size;
use crate::spec::ref_name::validate_tag;

/// One failed check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Problem {
    /// What it concerns: `oci-layout`, `index.json`, `index.json manifests[2]`,
    /// `tag latest: manifest`, `tag latest: config`, `tag latest: layer 1`
    /// (layers are numbered from 1, in manifest order), or for an image
    /// reached through an image index `tag multi, manifests[1] (linux/arm64): layer 1`.
    pub object: String,
    /// The digest of the object, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.digest {
            Some(d) => write!(f, "{} ({d}): {}", self.object, self.message),
            None => write!(f, "{}: {}", self.object, self.message),
        }
    }
}

/// The outcome of [`verify`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct VerifyReport {
    /// The layout directory.
    pub layout: PathBuf,
    /// The tag checked, or `None` for every manifest in the layout.
    pub tag: Option<String>,
    /// Failed checks, in the order found.
    pub problems: Vec<Problem>,
    /// Oddities that consumers accept (e.g. a tar without its end marker); they do not fail verification.
    pub warnings: Vec<Problem>,
    /// Distinct image manifests checked.
    pub manifests: u64,
    /// Distinct image indexes checked below `index.json`.
    pub indexes: u64,
    /// Distinct blob files read.
    pub blobs: u64,
    /// Distinct layers decoded.
    pub layers: u64,
    /// Each image index checked, with what it lists by platform.
    pub image_indexes: Vec<IndexListing>,
    /// Blob files that no `index.json` entry reaches (a note, not a
    /// problem: `ociimport gc` removes them); empty when the layout's
    /// reach cannot be known.
    pub unreferenced: Vec<Blob>,
}

/// An image index that was checked, and its entries by platform.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct IndexListing {
    /// How it was reached: `tag multi`, or a path through other indexes.
    pub object: String,
    /// The index blob's digest.
    pub digest: String,
    /// Its entries, in order.
    pub manifests: Vec<PlatformEntry>,
}

/// One entry of an image index.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PlatformEntry {
    /// `os/architecture[/variant]`, if the descriptor has a platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The descriptor's digest as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl VerifyReport {
    /// True when every check passed.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// One line per problem, then warnings, then a summary line.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for p in &self.problems {
            let _ = writeln!(out, "{p}");
        }
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        let what = match &self.tag {
            Some(t) => format!("{}:{t}", self.layout.display()),
            None => self.layout.display().to_string(),
        };
        let counts = format!(
            "{} checked: {}, {}, {}, {}",
            what,
            plural(self.manifests, "manifest"),
            plural(self.indexes, "image index"),
            plural(self.blobs, "blob"),
            plural(self.layers, "layer"),
        );
        if self.ok() {
            let _ = writeln!(out, "OK: {counts}");
        } else {
            let _ = writeln!(
                out,
                "FAILED: {}; {counts}",
                plural(self.problems.len() as u64, "problem")
            );
        }
        for i in &self.image_indexes {
            let _ = writeln!(out, "{}: image index {}", i.object, i.digest);
            for m in &i.manifests {
                let _ = writeln!(
                    out,
                    "  {:<16} {}",
                    m.platform.as_deref().unwrap_or("(no platform)"),
                    m.digest.as_deref().unwrap_or("?")
                );
            }
        }
        if !self.unreferenced.is_empty() {
            let _ = writeln!(
                out,
                "note: {} that no index.json entry reaches (ociimport gc {} removes them):",
                plural(self.unreferenced.len() as u64, "blob"),
                self.layout.display()
            );
            for b in &self.unreferenced {
                let _ = writeln!(out, "  {} ({})", b.digest, human_size(b.size));
            }
        }
        out
    }
}

fn plural(n: u64, what: &str) -> String {
    match (n, what) {
        (1, _) => format!("1 {what}"),
        (_, w) if w.ends_with('x') => format!("{n} {w}es"),
        _ => format!("{n} {what}s"),
    }
}

impl Serialize for VerifyReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        // A shadow struct so that `ok` is always derived from `problems`.
        #[derive(Serialize)]
        struct Out<'a> {
            layout: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            tag: &'a Option<String>,
            ok: bool,
            problems: &'a [Problem],
            warnings: &'a [Problem],
            manifests: u64,
            indexes: u64,
            blobs: u64,
            layers: u64,
            #[serde(skip_serializing_if = "<[IndexListing]>::is_empty")]
            image_indexes: &'a [IndexListing],
            #[serde(skip_serializing_if = "<[Blob]>::is_empty")]
            unreferenced: &'a [Blob],
        }
        Out {
            layout: self.layout.display().to_string(),
            tag: &self.tag,
            ok: self.ok(),
            problems: &self.problems,
            warnings: &self.warnings,
            manifests: self.manifests,
            indexes: self.indexes,
            blobs: self.blobs,
            layers: self.layers,
            image_indexes: &self.image_indexes,
            unreferenced: &self.unreferenced,
        }
        .serialize(s)
    }
}

/// How [`verify_with`] checks.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// The most bytes a layer may decode to (`--max-size`); a larger one is
    /// a problem and is not decoded further. `None`: no limit.
    pub max_size: Option<u64>,
}

impl VerifyOptions {
    /// Options with `--max-size` `max_size`.
    pub fn with_max_size(max_size: Option<u64>) -> Self {
        VerifyOptions { max_size }
    }
}

/// Check the layout at `layout`: every manifest, or only the one tagged `tag`.
///
/// `oci-layout` and every descriptor and ref name in `index.json` are
/// checked whatever `tag` says (a broken or duplicate entry is a problem of
/// the whole layout); `tag` limits which images are then followed. A manifest
/// reached through several tags is checked under each (its blobs are read
/// once), so each tag's problems are listed under its name.
///
/// Returns `Err` only when checking is impossible (the directory is missing
/// or unreadable) or `tag` is not a valid ref name; everything else is a
/// [`Problem`] in the report.
pub fn verify(layout: &Path, tag: Option<&str>) -> Result<VerifyReport> {
    verify_with(layout, tag, &VerifyOptions::default())
}

/// [`verify`] with options.
pub fn verify_with(layout: &Path, tag: Option<&str>, opts: &VerifyOptions) -> Result<VerifyReport> {
    let reader = Reader::open(layout)?;
    // Fail early, with the path, if the directory itself cannot be listed.
    fs::read_dir(layout).at(layout)?;
    verify_reader(&reader, tag, opts)
}

/// [`verify`] of what a [`Target`] names: a layout directory, or an
/// oci-archive (read in place, nothing extracted); the report and errors
/// name the archive and its entries.
pub fn verify_target(target: &Target) -> Result<VerifyReport> {
    verify_target_with(target, &VerifyOptions::default())
}

/// [`verify_target`] with options.
pub fn verify_target_with(target: &Target, opts: &VerifyOptions) -> Result<VerifyReport> {
    if !target.is_archive() {
        return verify_with(target.dir(), target.tag(), opts);
    }
    verify_reader(&target.reader()?, target.tag(), opts)
}

/// [`verify`] of the layout `reader` reads.
fn verify_reader(reader: &Reader, tag: Option<&str>, opts: &VerifyOptions) -> Result<VerifyReport> {
    if let Some(t) = tag {
        validate_tag(t).map_err(Error::Usage)?;
    }
    let mut report = checker::run(reader, tag, opts.max_size);
    // A note only: a layout whose documents cannot all be read has its
    // problems listed above, and no reach to judge blobs by.
    report.unreferenced = crate::gc::unreferenced(reader).unwrap_or_default();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_text_and_json() {
        let mut r = VerifyReport {
            layout: PathBuf::from("/x"),
            manifests: 1,
            blobs: 3,
            layers: 1,
            ..VerifyReport::default()
        };
        assert!(r.ok());
        assert!(
            r.text()
                .starts_with("OK: /x checked: 1 manifest, 0 image indexes, 3 blobs, 1 layer"),
            "{}",
            r.text()
        );
        r.problems.push(Problem {
            object: "tag latest: layer 1".into(),
            digest: Some("sha256:ab".into()),
            message: "blob blobs/sha256/ab is missing".into(),
        });
        let t = r.text();
        assert!(t.starts_with("tag latest: layer 1 (sha256:ab): blob blobs/sha256/ab is missing\nFAILED: 1 problem;"), "{t}");
        r.image_indexes.push(IndexListing {
            object: "tag multi".into(),
            digest: "sha256:cd".into(),
            manifests: vec![PlatformEntry {
                platform: Some("linux/arm64/v8".into()),
                digest: Some("sha256:ef".into()),
            }],
        });
        let t = r.text();
        assert!(
            t.ends_with("\ntag multi: image index sha256:cd\n  linux/arm64/v8   sha256:ef\n"),
            "{t}"
        );
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v["image_indexes"][0]["manifests"][0]["platform"],
            "linux/arm64/v8"
        );
        assert_eq!(v["ok"], false);
        assert_eq!(v["problems"][0]["object"], "tag latest: layer 1");
        assert_eq!(v["blobs"], 3);
    }
}
