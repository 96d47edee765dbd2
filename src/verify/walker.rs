//! The walker of `verify`: from `oci-layout` and `index.json` down every
//! descriptor, each document checked once (see [`MAX_VISITS`]), every
//! problem reported against the object it concerns.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io;
use std::path::Path;
use std::rc::Rc;

use super::blobs::{BlobCache, BlobState, LayerRead, judge_blob};
use super::{IndexListing, MAX_INDEX_DEPTH, MAX_INDEX_JSON, PlatformEntry, Problem, VerifyReport};
use crate::compress::Compression;
use crate::digest::Digest;
use crate::error::Error;
use crate::layerscan::{LayerScan, what_data};
use crate::layout::read_small;
use crate::spec::descriptor::{Descriptor, raw_digest};
use crate::spec::index::{self, Entry};
use crate::spec::media_type::{DocKind, ManifestType, layer_compression, not_a_layer_type};
use crate::spec::oci_layout::layout_version_problem;
use crate::spec::platform::platform_label;
use crate::spec::{self, Finding, Place, config, manifest};

/// Descriptors `verify` follows before it stops with a problem.
const MAX_VISITS: usize = 100_000;

/// Check the layout at `root` (which exists and is a directory).
pub(super) fn run(root: &Path, tag: Option<&str>) -> VerifyReport {
    let mut c = Checker {
        root,
        report: VerifyReport {
            layout: root.to_path_buf(),
            tag: tag.map(str::to_string),
            ..VerifyReport::default()
        },
        cache: BlobCache::new(root),
        manifests_seen: HashSet::new(),
        indexes_seen: HashSet::new(),
        checked: HashMap::new(),
        visits: 0,
    };
    c.check_oci_layout();
    c.check_index_json(tag);
    c.report.blobs = c.cache.read;
    c.report.layers = c.cache.decoded;
    c.report
}

struct Checker<'a> {
    root: &'a Path,
    report: VerifyReport,
    cache: BlobCache<'a>,
    manifests_seen: HashSet<Digest>,
    indexes_seen: HashSet<Digest>,
    /// Documents already checked (digest, size, media type) → where first
    /// seen and whether that check found problems. An index may list the
    /// same child many times, nested: each is checked once, so a small
    /// hostile layout cannot multiply the work.
    checked: HashMap<(Digest, u64, String), (String, bool)>,
    /// Descriptors followed so far, against [`MAX_VISITS`].
    visits: usize,
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
    fn findings(&mut self, found: Vec<Finding>, at: impl Fn(&Finding) -> (String, Option<String>)) {
        for f in found {
            let (object, digest) = at(&f);
            self.report.problems.push(Problem {
                object,
                digest,
                message: f.message,
            });
        }
    }

    /// Read a layout file that must exist, reporting why it cannot be read.
    fn read_layout_file(&mut self, name: &str, limit: u64, missing: &str) -> Option<Vec<u8>> {
        match read_small(&self.root.join(name), limit) {
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
        let Some(bytes) = self.read_layout_file("oci-layout", 64 * 1024, missing) else {
            return;
        };
        if let Some(problem) = layout_version_problem(&bytes) {
            self.problem("oci-layout", None, problem);
        }
    }

    fn check_index_json(&mut self, tag: Option<&str>) {
        const OBJ: &str = "index.json";
        let missing = "missing: the layout lists no images";
        let Some(bytes) = self.read_layout_file(OBJ, MAX_INDEX_JSON, missing) else {
            return;
        };
        let v = match spec::parse_json(&bytes) {
            Ok(v) => v,
            Err(e) => return self.problem(OBJ, None, e),
        };
        // Every descriptor and ref name is judged, whatever the tag asked
        // for: a broken or duplicate entry elsewhere is a problem of the layout.
        let mut judged = index::judge_layout(&v);
        let path = self.root.join(OBJ);
        for f in judged
            .problems
            .iter_mut()
            .filter(|f| f.place == Place::Schema)
        {
            // The parser's verdict names the file, as the importer's does.
            f.message = format!("{}: {}", path.display(), f.message);
        }
        self.findings(judged.problems, |f| match &f.place {
            Place::Entry(i) => (format!("{OBJ} manifests[{i}]"), f.digest.clone()),
            Place::RefName(n) => (format!("tag {n}"), None),
            _ => (OBJ.into(), None),
        });
        let Some(index) = judged.value else {
            return;
        };
        self.follow_tags(&index.entries, tag);
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
            self.check_entry(&scope, desc, 0);
        }
    }

    /// Check what a descriptor points to, once per document and within the budget.
    fn check_entry(&mut self, scope: &str, desc: &Descriptor, depth: usize) {
        let key = (desc.digest.clone(), desc.size, desc.media_type.clone());
        if let Some((first, bad)) = self.checked.get(&key).cloned() {
            if bad {
                let message =
                    format!("the same document as {first}, which has problems (see above)");
                self.problem(scope, Some(desc.digest.as_str()), message);
            }
            return;
        }
        self.visits += 1;
        if self.visits == MAX_VISITS + 1 {
            let message = format!("more than {MAX_VISITS} descriptors; the rest were not checked");
            self.problem(scope, Some(desc.digest.as_str()), message);
        }
        if self.visits > MAX_VISITS {
            return;
        }
        let before = self.report.problems.len();
        match crate::spec::media_type::doc_kind(&desc.media_type) {
            DocKind::Manifest(kind) => self.check_manifest(scope, desc, kind),
            DocKind::Index => self.check_nested_index(scope, desc, depth),
            // Unknown media types must be ignored by consumers; their blob can still be checked.
            DocKind::Other => self.check_blob(&format!("{scope}: blob"), desc),
        }
        let bad = self.report.problems.len() > before;
        self.checked.insert(key, (scope.to_string(), bad));
    }

    fn check_nested_index(&mut self, scope: &str, desc: &Descriptor, depth: usize) {
        let object = format!("{scope}: index");
        let digest = desc.digest.as_str();
        if depth >= MAX_INDEX_DEPTH {
            let message =
                format!("image indexes nest deeper than {MAX_INDEX_DEPTH} levels; not followed");
            return self.problem(&object, Some(digest), message);
        }
        let Some(bytes) = self.json_blob(&object, desc) else {
            return;
        };
        if self.indexes_seen.insert(desc.digest.clone()) {
            self.report.indexes += 1;
        }
        let Some(v) = self.parse_json(&object, desc, &bytes) else {
            return;
        };
        let judged = index::judge(&v);
        let entries = judged.value.map(|i| i.entries).unwrap_or_default();
        self.report.image_indexes.push(IndexListing {
            object: scope.to_string(),
            digest: digest.to_string(),
            manifests: v
                .get("manifests")
                .and_then(serde_json::Value::as_array)
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
        let label = |j: usize| match entries.get(j).and_then(|e| e.platform.as_deref()) {
            Some(p) => format!("{scope}, manifests[{j}] ({p})"),
            None => format!("{scope}, manifests[{j}]"),
        };
        self.findings(judged.problems, |f| match f.place {
            Place::Entry(j) => (label(j), f.digest.clone()),
            _ => (object.clone(), Some(digest.to_string())),
        });
        for (j, e) in entries.iter().enumerate() {
            if let Some(child) = &e.descriptor {
                self.check_entry(&label(j), child, depth + 1);
            }
        }
    }

    /// Parse a document's bytes, reporting invalid JSON against `object`.
    fn parse_json(
        &mut self,
        object: &str,
        desc: &Descriptor,
        bytes: &[u8],
    ) -> Option<serde_json::Value> {
        spec::parse_json(bytes)
            .map_err(|e| self.problem(object, Some(desc.digest.as_str()), e))
            .ok()
    }

    fn check_manifest(&mut self, scope: &str, desc: &Descriptor, kind: ManifestType) {
        let object = format!("{scope}: manifest");
        let Some(bytes) = self.json_blob(&object, desc) else {
            return;
        };
        if self.manifests_seen.insert(desc.digest.clone()) {
            self.report.manifests += 1;
        }
        let Some(v) = self.parse_json(&object, desc, &bytes) else {
            return;
        };
        let judged = manifest::judge(&v, kind);
        let digest = desc.digest.as_str();
        self.findings(judged.problems, |f| match f.place {
            Place::Config => (format!("{scope}: config"), f.digest.clone()),
            Place::Layer(i) => (format!("{scope}: layer {}", i + 1), f.digest.clone()),
            _ => (object.clone(), Some(digest.to_string())),
        });
        if let Some(m) = judged.value {
            self.check_image(scope, &m);
        }
    }

    /// The config and layers of a manifest.
    fn check_image(&mut self, scope: &str, m: &manifest::Manifest) {
        let config_obj = format!("{scope}: config");
        let layers = m.layers.as_deref().unwrap_or_default();
        let is_image = m.is_image();
        let diff_ids = match &m.config {
            Some(c) if is_image => self.check_config(&config_obj, c, layers.len()),
            Some(c) => {
                self.check_blob(&config_obj, c);
                None
            }
            None => None,
        };
        for (i, d) in layers.iter().enumerate() {
            let Some(d) = d else { continue };
            let lobj = format!("{scope}: layer {}", i + 1);
            if !is_image {
                self.check_blob(&lobj, d);
                continue;
            }
            match layer_compression(&d.media_type, m.kind) {
                Some(c) => {
                    let diff_id = diff_ids
                        .as_ref()
                        .and_then(|ids| ids.get(i).cloned().flatten());
                    self.check_layer(&lobj, d, c, diff_id.as_ref());
                }
                None => {
                    let message = not_a_layer_type(&d.media_type, m.kind);
                    self.problem(&lobj, Some(d.digest.as_str()), message);
                    self.check_blob(&lobj, d);
                }
            }
        }
    }

    /// Check an image config; returns its diff_ids (None where unusable).
    fn check_config(
        &mut self,
        object: &str,
        desc: &Descriptor,
        layers: usize,
    ) -> Option<Vec<Option<Digest>>> {
        let bytes = self.json_blob(object, desc)?;
        let v = self.parse_json(object, desc, &bytes)?;
        let judged = config::judge(&v, layers);
        let digest = desc.digest.as_str();
        self.findings(judged.problems, |_| {
            (object.to_string(), Some(digest.to_string()))
        });
        judged.value.and_then(|c| c.diff_ids)
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
