//! The checks of `verify`, as a visitor of the layout's one walk
//! ([`crate::layout::walk`]): from `oci-layout` and `index.json` down every
//! descriptor, each document checked once (see [`MAX_VISITS`]), every
//! problem reported against the object it concerns.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::convert::Infallible;
use std::io;
use std::rc::Rc;

use serde_json::Value;

use super::blobs::{BlobCache, BlobState, LayerRead, judge_blob};
use super::{IndexListing, PlatformEntry, Problem, VerifyReport};
use crate::compress::{Compression, LayerEncoding};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::evidence::{self, Verdict};
use crate::layerscan::{LayerScan, what_data};
use crate::layout::walk::{self, Doc, Part, Visitor};
use crate::layout::{MAX_INDEX_DEPTH, Reader};
use crate::spec::config::Config;
use crate::spec::descriptor::{Descriptor, raw_digest};
use crate::spec::index::{self, Entry, Index};
use crate::spec::manifest::Manifest;
use crate::spec::media_type::{layer_encoding, not_a_layer_type};
use crate::spec::oci_layout::layout_version_problem;
use crate::spec::platform::platform_label;
use crate::spec::{self, Finding, Judged, Place};

/// Descriptors `verify` follows before it stops with a problem.
const MAX_VISITS: usize = 100_000;

/// Check the layout `reader` reads (which exists and is a directory).
/// Layers may decode to at most `max_size` bytes.
pub(super) fn run(reader: &Reader, tag: Option<&str>, max_size: Option<u64>) -> VerifyReport {
    let mut c = Checker {
        reader,
        report: VerifyReport {
            layout: reader.root().to_path_buf(),
            tag: tag.map(str::to_string),
            ..VerifyReport::default()
        },
        cache: BlobCache::new(reader),
        manifests_seen: HashSet::new(),
        indexes_seen: HashSet::new(),
        checked: HashMap::new(),
        visits: 0,
        index_entries: Vec::new(),
    };
    c.cache.max_size = max_size;
    c.check_oci_layout();
    c.check_index_json(tag);
    c.check_manifest_json();
    c.report.blobs = c.cache.read;
    c.report.layers = c.cache.decoded;
    c.report
}

/// A document already checked: digest, size and media type.
type DocKey = (Digest, u64, String);

struct Checker<'a> {
    reader: &'a Reader,
    report: VerifyReport,
    cache: BlobCache<'a>,
    manifests_seen: HashSet<Digest>,
    indexes_seen: HashSet<Digest>,
    /// Documents already checked → where first seen and whether that check
    /// found problems. An index may list the same child many times, nested:
    /// each is checked once, so a small hostile layout cannot multiply the work.
    checked: HashMap<DocKey, (String, bool)>,
    /// Descriptors followed so far, against [`MAX_VISITS`].
    visits: usize,
    /// `index.json`'s `manifests` as written: where signature evidence is found.
    index_entries: Vec<Value>,
}

impl Checker<'_> {
    fn problem(&mut self, object: &str, digest: Option<&str>, message: impl Into<String>) {
        self.report.problems.push(Problem {
            object: object.to_string(),
            digest: digest.map(str::to_string),
            message: message.into(),
        });
    }

    /// Report a judgement's findings; `at` names the object and digest of each.
    fn findings(&mut self, found: &[Finding], at: impl Fn(&Finding) -> (String, Option<String>)) {
        for f in found {
            let (object, digest) = at(f);
            self.report.problems.push(Problem {
                object,
                digest,
                message: f.message.clone(),
            });
        }
    }

    /// A layout file that must exist, as read; reports why it could not be.
    fn layout_file(&mut self, name: &str, read: Result<Vec<u8>>, missing: &str) -> Option<Vec<u8>> {
        match read {
            Ok(b) => Some(b),
            Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                self.problem(name, None, missing);
                None
            }
            Err(e) => {
                self.problem(name, None, format!("cannot be read: {e}"));
                None
            }
        }
    }

    fn check_oci_layout(&mut self) {
        let missing = "missing: this directory is not an OCI image layout";
        let read = self.reader.oci_layout();
        let Some(bytes) = self.layout_file("oci-layout", read, missing) else {
            return;
        };
        if let Some(problem) = layout_version_problem(&bytes) {
            self.problem("oci-layout", None, problem);
        }
    }

    fn check_index_json(&mut self, tag: Option<&str>) {
        const OBJ: &str = "index.json";
        let missing = "missing: the layout lists no images";
        let read = self.reader.index_json();
        let Some(bytes) = self.layout_file(OBJ, read, missing) else {
            return;
        };
        let v = match spec::parse_json(&bytes) {
            Ok(v) => v,
            Err(e) => return self.problem(OBJ, None, e),
        };
        // Every descriptor and ref name is judged, whatever the tag asked
        // for: a broken or duplicate entry elsewhere is a problem of the layout.
        let mut judged = index::judge_layout(&v);
        let path = self.reader.path(OBJ);
        for f in judged
            .problems
            .iter_mut()
            .filter(|f| f.place == Place::Schema)
        {
            // The parser's verdict names the file, as the importer's does.
            f.message = format!("{}: {}", path.display(), f.message);
        }
        self.findings(&judged.problems, |f| match &f.place {
            Place::Entry(i) => (format!("{OBJ} manifests[{i}]"), f.digest.clone()),
            Place::RefName(n) => (format!("tag {n}"), None),
            _ => (OBJ.into(), None),
        });
        let Some(index) = judged.value else {
            return;
        };
        if let Some(Value::Array(entries)) = v.get("manifests") {
            self.index_entries.clone_from(entries);
        }
        self.follow_tags(&index.entries, tag);
    }

    /// Docker's `manifest.json`, when the layout (an archive) has one,
    /// against `index.json` ([`super::docker`]).
    fn check_manifest_json(&mut self) {
        let manifest = match self.reader.manifest_json_if_exists() {
            Ok(Some(b)) => b,
            Ok(None) => return,
            Err(e) => {
                let message = format!("cannot be read: {e}");
                return self.problem(crate::docker::MANIFEST_JSON, None, message);
            }
        };
        // Missing or unreadable, index.json is reported already.
        let Ok(index_json) = self.reader.index_json() else {
            return;
        };
        let reader = self.reader;
        let blob = |d: &Digest| reader.blob_bytes(d).ok();
        let found = super::docker::check_manifest_json(&manifest, &index_json, &blob);
        self.report.problems.extend(found);
    }

    /// Follow the entries of `index.json` that `tag` selects (all when `None`).
    fn follow_tags(&mut self, entries: &[Entry], tag: Option<&str>) {
        let selected: Vec<(usize, &Entry)> = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| tag.is_none() || e.ref_name.as_deref() == tag)
            .collect();
        if let (Some(t), true) = (tag, selected.is_empty()) {
            let names: BTreeSet<&str> = entries
                .iter()
                .filter_map(|e| e.ref_name.as_deref())
                .collect();
            let known: Vec<&str> = names.into_iter().take(20).collect();
            let known = if known.is_empty() {
                "the layout has no tags".to_string()
            } else {
                format!("tags: {}", known.join(", "))
            };
            let message = format!("not found in index.json ({known})");
            return self.problem(&format!("tag {t}"), None, message);
        }
        for (i, e) in selected {
            let Some(desc) = &e.descriptor else { continue };
            let scope = match &e.ref_name {
                Some(n) => format!("tag {n}"),
                None => format!("index.json manifests[{i}]"),
            };
            let Ok(()) = walk::follow(self, &scope, desc);
        }
    }

    /// Parse a document's bytes, reporting invalid JSON against `object`.
    fn parse_json(&mut self, object: &str, desc: &Descriptor, bytes: &[u8]) -> Option<Value> {
        spec::parse_json(bytes)
            .map_err(|e| self.problem(object, Some(desc.digest.as_str()), e))
            .ok()
    }

    /// Whether the blob can be checked: only sha256 can.
    fn checkable(&mut self, object: &str, desc: &Descriptor) -> bool {
        if desc.digest.algorithm() == "sha256" {
            return true;
        }
        let message = "only sha256 digests can be verified; this blob was not checked";
        self.problem(object, Some(desc.digest.as_str()), message);
        false
    }

    /// Report what a blob's state says about the descriptor that points to it.
    /// Returns false when the blob cannot be used at all.
    fn compare(&mut self, object: &str, desc: &Descriptor, state: &BlobState) -> bool {
        let (why, usable) = judge_blob(desc, state);
        for w in why {
            self.problem(object, Some(desc.digest.as_str()), w);
        }
        usable
    }

    /// A small JSON blob, read whole once; problems about it are reported per reference.
    fn json_blob(&mut self, object: &str, desc: &Descriptor) -> Option<Rc<Vec<u8>>> {
        if !self.checkable(object, desc) {
            return None;
        }
        let state = self.cache.json(&desc.digest);
        if !self.compare(object, desc, &state) {
            return None;
        }
        match self.cache.json_bytes(&desc.digest) {
            Ok(b) => Some(b),
            Err(e) => {
                let message = format!("cannot read the blob: {e}");
                self.problem(object, Some(desc.digest.as_str()), message);
                None
            }
        }
    }

    /// A blob checked only for presence, digest and size.
    fn check_blob(&mut self, object: &str, desc: &Descriptor) {
        if self.checkable(object, desc) {
            let state = self.cache.plain(&desc.digest);
            self.compare(object, desc, &state);
        }
    }

    /// Re-checks the manifest's signer annotations against the evidence
    /// stored beside it: one that is not backed is a problem.
    fn recheck_signers(&mut self, object: &str, desc: &Descriptor, value: &Value) {
        let evidence = evidence::evidence_for(&self.index_entries, &desc.digest);
        let digest = Some(desc.digest.as_str().to_string());
        for (i, verdict) in evidence::recheck(self.reader, &evidence, &desc.digest, value) {
            // Short: the reason may hold a subkey fingerprint and a file name.
            let key = format!("layer.{i}.signer");
            let (list, message) = match verdict {
                Verdict::Checked {
                    unchecked: None, ..
                } => continue,
                Verdict::Checked {
                    unchecked: Some(why),
                    ..
                }
                | Verdict::Unverifiable(why) => (
                    &mut self.report.warnings,
                    format!("{key} cannot be re-checked: {why}"),
                ),
                Verdict::Failed(why) => (
                    &mut self.report.problems,
                    format!("{key} NOT backed by signature evidence: {why}"),
                ),
            };
            list.push(Problem {
                object: object.to_string(),
                digest: digest.clone(),
                message,
            });
        }
    }

    fn check_layer(
        &mut self,
        object: &str,
        desc: &Descriptor,
        expected: Compression,
        diff_id: Option<&Digest>,
    ) {
        if !self.checkable(object, desc) {
            return;
        }
        let scan = match self.cache.layer(&desc.digest, expected) {
            LayerRead::Scanned(scan) => scan,
            LayerRead::Unusable(state) => {
                self.compare(object, desc, &state);
                return;
            }
            LayerRead::Failed(message) => {
                return self.problem(object, Some(desc.digest.as_str()), message);
            }
        };
        self.compare(object, desc, &BlobState::Read(scan.blob.clone()));
        let digest = Some(desc.digest.as_str());
        for p in layer_problems(desc, expected, &scan, diff_id) {
            self.problem(object, digest, p);
        }
        for w in scan.warnings {
            self.report.warnings.push(Problem {
                object: object.to_string(),
                digest: digest.map(str::to_string),
                message: w,
            });
        }
    }
}

impl Visitor for Checker<'_> {
    /// The label problems are reported under: `tag latest`, `index.json
    /// manifests[2]`, `tag multi, manifests[1] (linux/arm64)`.
    type Scope = String;
    /// `verify` never stops: every problem is reported.
    type Stop = Infallible;
    /// The document's key and the problem count when it was entered.
    type Mark = (DocKey, usize);
    /// The image's DiffIDs, once its config was read.
    type Image = Option<Vec<Option<Digest>>>;

    /// Once per document and within the budget.
    fn enter(
        &mut self,
        scope: &String,
        desc: &Descriptor,
    ) -> Result<Option<Self::Mark>, Infallible> {
        let key = (desc.digest.clone(), desc.size, desc.media_type.clone());
        if let Some((first, bad)) = self.checked.get(&key).cloned() {
            if bad {
                let message =
                    format!("the same document as {first}, which has problems (see above)");
                self.problem(scope, Some(desc.digest.as_str()), message);
            }
            return Ok(None);
        }
        self.visits += 1;
        if self.visits == MAX_VISITS + 1 {
            let message = format!("more than {MAX_VISITS} descriptors; the rest were not checked");
            self.problem(scope, Some(desc.digest.as_str()), message);
        }
        if self.visits > MAX_VISITS {
            return Ok(None);
        }
        Ok(Some((key, self.report.problems.len())))
    }

    fn leave(&mut self, scope: &String, _: &Descriptor, (key, before): Self::Mark) {
        let bad = self.report.problems.len() > before;
        self.checked.insert(key, (scope.clone(), bad));
    }

    fn document(
        &mut self,
        scope: &String,
        doc: Doc,
        desc: &Descriptor,
    ) -> Result<Option<Value>, Infallible> {
        let object = match doc {
            Doc::Index { .. } => format!("{scope}: index"),
            Doc::Manifest => format!("{scope}: manifest"),
            Doc::Config => format!("{scope}: config"),
        };
        if let Doc::Index { depth } = doc
            && depth >= MAX_INDEX_DEPTH
        {
            let message =
                format!("image indexes nest deeper than {MAX_INDEX_DEPTH} levels; not followed");
            self.problem(&object, Some(desc.digest.as_str()), message);
            return Ok(None);
        }
        let Some(bytes) = self.json_blob(&object, desc) else {
            return Ok(None);
        };
        // Counted once read, whether or not they parse.
        let seen = match doc {
            Doc::Index { .. } => Some((&mut self.indexes_seen, &mut self.report.indexes)),
            Doc::Manifest => Some((&mut self.manifests_seen, &mut self.report.manifests)),
            Doc::Config => None,
        };
        if let Some((seen, count)) = seen
            && seen.insert(desc.digest.clone())
        {
            *count += 1;
        }
        Ok(self.parse_json(&object, desc, &bytes))
    }

    fn index(
        &mut self,
        scope: &String,
        desc: &Descriptor,
        value: &Value,
        judged: &Judged<Index>,
    ) -> Result<(), Infallible> {
        let object = format!("{scope}: index");
        let digest = desc.digest.as_str();
        self.report.image_indexes.push(IndexListing {
            object: scope.to_string(),
            digest: digest.to_string(),
            manifests: value
                .get("manifests")
                .and_then(Value::as_array)
                .map(|m| {
                    m.iter()
                        .map(|d| PlatformEntry {
                            platform: platform_label(d),
                            digest: raw_digest(d),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        });
        self.findings(&judged.problems, |f| match f.place {
            Place::Entry(j) => (entry_label(scope, judged, j), f.digest.clone()),
            _ => (object.clone(), Some(digest.to_string())),
        });
        Ok(())
    }

    fn entry(
        &mut self,
        scope: &String,
        _: &Descriptor,
        judged: &Judged<Index>,
        j: usize,
    ) -> Result<Option<String>, Infallible> {
        Ok(Some(entry_label(scope, judged, j)))
    }

    fn manifest(
        &mut self,
        scope: &String,
        desc: &Descriptor,
        value: &Value,
        judged: &Judged<Manifest>,
    ) -> Result<Option<Self::Image>, Infallible> {
        let object = format!("{scope}: manifest");
        let digest = desc.digest.as_str();
        self.findings(&judged.problems, |f| match f.place {
            Place::Config => (format!("{scope}: config"), f.digest.clone()),
            Place::Layer(i) => (format!("{scope}: layer {}", i + 1), f.digest.clone()),
            _ => (object.clone(), Some(digest.to_string())),
        });
        self.recheck_signers(&object, desc, value);
        Ok(judged.value.as_ref().map(|_| None))
    }

    fn config(
        &mut self,
        scope: &String,
        image: &mut Self::Image,
        desc: &Descriptor,
        judged: Option<Judged<Config>>,
    ) -> Result<(), Infallible> {
        let Some(judged) = judged else {
            return Ok(());
        };
        let object = format!("{scope}: config");
        let digest = desc.digest.as_str();
        self.findings(&judged.problems, |_| {
            (object.clone(), Some(digest.to_string()))
        });
        *image = judged.value.and_then(|c| c.diff_ids);
        Ok(())
    }

    fn layer(
        &mut self,
        scope: &String,
        image: &mut Self::Image,
        manifest: &Judged<Manifest>,
        i: usize,
        desc: Option<&Descriptor>,
    ) -> Result<(), Infallible> {
        let (Some(d), Some(m)) = (desc, &manifest.value) else {
            return Ok(());
        };
        let lobj = format!("{scope}: layer {}", i + 1);
        match layer_encoding(&d.media_type, m.kind).map(LayerEncoding::format) {
            Some(c) => {
                let diff_id = image.as_ref().and_then(|ids| ids.get(i).cloned().flatten());
                self.check_layer(&lobj, d, c, diff_id.as_ref());
            }
            None => {
                let message = not_a_layer_type(&d.media_type, m.kind);
                self.problem(&lobj, Some(d.digest.as_str()), message);
                self.check_blob(&lobj, d);
            }
        }
        Ok(())
    }

    fn image(&mut self, _: &String, _: Self::Image) -> Result<(), Infallible> {
        Ok(())
    }

    fn blob(&mut self, scope: &String, part: Part, desc: &Descriptor) -> Result<(), Infallible> {
        let object = match part {
            Part::Blob => format!("{scope}: blob"),
            Part::Config => format!("{scope}: config"),
            Part::Layer(i) => format!("{scope}: layer {}", i + 1),
        };
        self.check_blob(&object, desc);
        Ok(())
    }
}

/// How entry `j` of an image index reached through `scope` is named.
fn entry_label(scope: &str, judged: &Judged<Index>, j: usize) -> String {
    let platform = judged
        .value
        .as_ref()
        .and_then(|i| i.entries.get(j))
        .and_then(|e| e.platform.as_deref());
    match platform {
        Some(p) => format!("{scope}, manifests[{j}] ({p})"),
        None => format!("{scope}, manifests[{j}]"),
    }
}

/// What a layer's scan says against its descriptor and the config's DiffID.
fn layer_problems(
    desc: &Descriptor,
    expected: Compression,
    scan: &LayerScan,
    diff_id: Option<&Digest>,
) -> Vec<String> {
    let mut out = Vec::new();
    match scan.detected {
        Some(found) if found != expected => out.push(format!(
            "media type {:?} says {}, but the blob is {}; consumers will fail to decode it",
            desc.media_type,
            what_data(expected),
            what_data(found)
        )),
        None if expected != Compression::None => out.push(format!(
            "media type {:?} says {}, but the blob is not (first bytes: {})",
            desc.media_type,
            what_data(expected),
            scan.head
        )),
        _ => {}
    }
    out.extend(scan.problems.iter().cloned());
    match (diff_id, &scan.diff_id) {
        (Some(want), Some(_)) if want.algorithm() != "sha256" => out.push(format!(
            "DiffID {want} uses an algorithm other than sha256; it was not checked"
        )),
        (Some(want), Some(got)) if got.digest != *want => out.push(format!(
            "DiffID mismatch: the config lists {want}, the decompressed layer hashes to {}",
            got.digest
        )),
        _ => {}
    }
    out
}
