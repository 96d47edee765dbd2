//! `ociimport gc`: remove the blobs of a layout that no `index.json` entry
//! reaches (a re-tagged image's old manifest, config and layers).
//!
//! What is reached: every descriptor of `index.json`, then, through each
//! image index and manifest it names (read through the layout's
//! reader, digest-checked), their entries, configs, layers, artifact
//! blobs and subjects. A document that cannot be read or judged stops the
//! run before anything is removed: what it names is not known.
//!
//! The safety rule: an import renames its blobs into `blobs/` before it
//! takes the layout lock to change `index.json`, so between the two they
//! are unreferenced. Every import holds a shared lock on `blobs/` from the
//! moment it opens the layout until it ends; gc takes that lock
//! exclusively (refusing, not waiting, when an import holds it) and then
//! the layout lock the index writers take, so no import of this program
//! is under way while it looks and removes. Writers that take neither
//! lock (`skopeo copy`, `umoci`) must not run at the same time. Each
//! removal is one `unlink`, so a crash leaves every reached blob in place.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::digest::{Blob, Digest};
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{self, DirLock};
use crate::layout::{Reader, bad};
use crate::report::human_size;
use crate::spec::descriptor;
use crate::spec::index::parse_index;
use crate::spec::media_type::{DocKind, doc_kind};

/// What [`gc`] removed (or, for a dry run, would remove).
#[derive(Clone, Debug, Default, Serialize)]
#[non_exhaustive]
pub struct GcReport {
    /// The layout directory.
    pub layout: PathBuf,
    /// Nothing was removed: `removed` lists what would be.
    pub dry_run: bool,
    /// The unreferenced blobs, by digest, with their sizes.
    pub removed: Vec<Blob>,
    /// The bytes they took (freed, unless a dry run).
    pub freed_bytes: u64,
    /// Blobs kept: those an `index.json` entry reaches.
    pub kept: u64,
}

impl GcReport {
    /// One line per blob, then a summary line.
    pub fn text(&self) -> String {
        let verb = if self.dry_run {
            "would remove"
        } else {
            "removed"
        };
        let mut out = String::new();
        for b in &self.removed {
            let _ = writeln!(out, "{verb} {} ({})", b.digest, human_size(b.size));
        }
        let freed = if self.dry_run { "would free" } else { "freed" };
        let _ = writeln!(
            out,
            "{}: {verb} {} unreferenced blob(s), {freed} {} ({} bytes); kept {} blob(s)",
            self.layout.display(),
            self.removed.len(),
            human_size(self.freed_bytes),
            self.freed_bytes,
            self.kept
        );
        out
    }
}

/// Remove the blobs of the layout at `dir` that no `index.json` entry
/// reaches (see the module documentation for the locking rule);
/// `dry_run` only lists them.
pub fn gc(dir: &Path, dry_run: bool) -> Result<GcReport> {
    let reader = Reader::open(dir)?;
    if reader.oci_layout_if_exists()?.is_none() {
        return Err(bad(
            dir,
            "not an OCI image layout (no oci-layout file); give ociimport gc the layout directory",
        ));
    }
    let blobs_dir = dir.join("blobs");
    let Some(_alone) = DirLock::try_exclusive(&blobs_dir).at(&blobs_dir)? else {
        return Err(Error::LayoutBusy { path: blobs_dir });
    };
    let _lock = DirLock::acquire(dir).at(dir)?;
    let reached = reachable(&reader).map_err(|e| {
        bad(
            dir,
            format!("{e}; gc removes nothing while a document is unreadable (ociimport verify lists the problems)"),
        )
    })?;
    let unreferenced = unreferenced_in(&reader, &reached)?;
    let mut report = GcReport {
        layout: dir.to_path_buf(),
        dry_run,
        freed_bytes: unreferenced.iter().map(|b| b.size).sum(),
        kept: reached_present(&reader, &reached),
        removed: Vec::new(),
    };
    for b in unreferenced {
        if !dry_run {
            let path = reader.blob_path(&b.digest);
            fs::remove_file(&path).at(&path)?;
        }
        report.removed.push(b);
    }
    if !dry_run && !report.removed.is_empty() {
        for alg in algorithm_dirs(&reader)? {
            fsutil::sync_dir(&alg).at(&alg)?;
        }
    }
    Ok(report)
}

/// The blob files of the layout that no `index.json` entry reaches, in
/// digest order; for `verify`'s note. `Err` when the reach cannot be
/// known (a document is missing or unreadable).
pub(crate) fn unreferenced(reader: &Reader) -> Result<Vec<Blob>> {
    let reached = reachable(reader)?;
    unreferenced_in(reader, &reached)
}

/// Every digest reached from `index.json`.
fn reachable(reader: &Reader) -> Result<BTreeSet<Digest>> {
    let path = reader.path("index.json");
    let index = Value::Object(parse_index(&path, &reader.index_json()?)?);
    let mut todo: Vec<Child> = children(&path, &index);
    let mut seen = BTreeSet::new();
    while let Some(Child {
        from,
        desc,
        subject,
    }) = todo.pop()
    {
        let judged = descriptor::judge(&desc).value.ok_or_else(|| {
            let what = descriptor::raw_digest(&desc).unwrap_or_else(|| desc.to_string());
            bad(
                &from,
                format!("names {what}, which is not a usable descriptor; run ociimport verify and repair it before gc"),
            )
        })?;
        if !seen.insert(judged.digest.clone()) || doc_kind(&judged.media_type) == DocKind::Other {
            continue;
        }
        let blob_path = reader.blob_path(&judged.digest);
        // A subject may live in another repository: followed only when here.
        if subject && !reader.has_blob(&judged.digest) {
            continue;
        }
        let doc = reader.json(&judged.blob())?;
        todo.extend(children(&blob_path, &doc));
    }
    Ok(seen)
}

/// A descriptor found in a document, to be followed.
struct Child {
    /// The file it was found in, for messages.
    from: PathBuf,
    /// The descriptor as written.
    desc: Value,
    /// Whether it is the document's `subject`.
    subject: bool,
}

/// The descriptors a document (or `index.json`) at `from` names:
/// `manifests`, `layers`, `blobs`, `config` and `subject`.
fn children(from: &Path, doc: &Value) -> Vec<Child> {
    let child = |desc: &Value, subject| Child {
        from: from.to_path_buf(),
        desc: desc.clone(),
        subject,
    };
    let mut out = Vec::new();
    for key in ["manifests", "layers", "blobs"] {
        if let Some(list) = doc.get(key).and_then(Value::as_array) {
            out.extend(list.iter().map(|d| child(d, false)));
        }
    }
    if let Some(c) = doc.get("config") {
        out.push(child(c, false));
    }
    if let Some(s) = doc.get("subject") {
        out.push(child(s, true));
    }
    out
}

/// The blob files under `blobs/ALGO/` whose digest `reached` lacks, in
/// digest order. Files whose name is not a digest are not ours: left alone.
fn unreferenced_in(reader: &Reader, reached: &BTreeSet<Digest>) -> Result<Vec<Blob>> {
    // An oci-archive (verify's note) lists its blobs itself.
    if let Some(blobs) = reader.archive_blobs() {
        return Ok(blobs
            .into_iter()
            .filter(|b| !reached.contains(&b.digest))
            .collect());
    }
    let mut out = Vec::new();
    for dir in algorithm_dirs(reader)? {
        let alg = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        for entry in fs::read_dir(&dir).at(&dir)? {
            let entry = entry.at(&dir)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(digest) = Digest::parse(&format!("{}:{name}", alg.as_deref().unwrap_or("")))
            else {
                continue;
            };
            let meta = entry.metadata().at(entry.path())?;
            if meta.is_file() && !reached.contains(&digest) {
                out.push(Blob {
                    digest,
                    size: meta.len(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.digest.cmp(&b.digest));
    Ok(out)
}

/// How many of the reached blobs are in the layout.
fn reached_present(reader: &Reader, reached: &BTreeSet<Digest>) -> u64 {
    reached
        .iter()
        .filter(|d| reader.blob_path(d).is_file())
        .count() as u64
}

/// The directories `blobs/ALGO/` of the layout.
fn algorithm_dirs(reader: &Reader) -> Result<Vec<PathBuf>> {
    let blobs = reader.path("blobs");
    let mut out = Vec::new();
    for entry in fs::read_dir(&blobs).at(&blobs)? {
        let entry = entry.at(&blobs)?;
        if entry.file_type().at(entry.path())?.is_dir() {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}
