//! An image index: the layout's `index.json` and the indexes it may nest.
//!
//! `index.json` is judged as an image index plus its ref names (each valid,
//! none shared); a nested index's ref names mean nothing and are not judged.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::descriptor::Descriptor;
use super::media_type::{DOCKER_LIST, OCI_INDEX};
use super::platform::platform_label;
use super::ref_name::{REF_NAME, ref_name, validate_tag};
use super::{Finding, Judged, Place, check_schema_version, descriptor_at, parse_json};
use crate::error::{Error, Result};

/// What an image index lists.
#[derive(Clone, Debug, Default)]
pub struct Index {
    /// `manifests`, in order.
    pub entries: Vec<Entry>,
}

/// One descriptor of an index's `manifests`.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The descriptor, when its digest and size are usable.
    pub descriptor: Option<Descriptor>,
    /// The ref name annotation, when it is a string (valid or not).
    pub ref_name: Option<String>,
    /// `io.containerd.image.name`, the image's fully qualified name, when
    /// it is a string.
    pub name: Option<String>,
    /// `os/architecture[/variant]` of its platform, if it has one.
    pub platform: Option<String>,
}

/// Judge a nested image index (a blob an index or `index.json` points to).
pub fn judge(v: &Value) -> Judged<Index> {
    judge_as(v, false)
}

/// Judge the layout's `index.json`: an image index whose ref names must
/// be valid and distinct.
pub fn judge_layout(v: &Value) -> Judged<Index> {
    judge_as(v, true)
}

fn judge_as(v: &Value, layout: bool) -> Judged<Index> {
    let mut problems = Vec::new();
    let Some(list) = document(v, &mut problems) else {
        return Judged::none(problems);
    };
    let entries: Vec<Entry> = list
        .iter()
        .enumerate()
        .map(|(i, d)| entry(i, d, layout, &mut problems))
        .collect();
    if layout {
        shared_ref_names(&entries, &mut problems);
    }
    let annotations = super::annotations::findings(v, super::annotations::Site::Other);
    problems.extend(annotations.into_iter().map(Finding::rule));
    if problems.is_empty()
        && let Err(e) = serde_json::from_value::<oci_spec::image::ImageIndex>(v.clone())
    {
        // Our checks found nothing: let the library's own parser have the last word.
        problems.push(Finding {
            place: Place::Schema,
            ..Finding::doc(format!("not an OCI image index: {e}"))
        });
    }
    Judged {
        value: Some(Index { entries }),
        problems,
    }
}

/// The fields of the index itself; returns `manifests`.
fn document<'v>(v: &'v Value, problems: &mut Vec<Finding>) -> Option<&'v Vec<Value>> {
    if !v.is_object() {
        problems.push(Finding::doc("not a JSON object"));
        return None;
    }
    check_schema_version(v, problems);
    if let Some(mt) = v.get("mediaType")
        && mt.as_str() != Some(OCI_INDEX)
        && mt.as_str() != Some(DOCKER_LIST)
    {
        problems.push(Finding::doc(format!(
            "mediaType is {mt}, expected {OCI_INDEX:?}"
        )));
    }
    match v.get("manifests") {
        Some(Value::Array(a)) => Some(a),
        Some(_) => {
            problems.push(Finding::doc("manifests is not an array"));
            None
        }
        None => {
            problems.push(Finding::doc("has no manifests array"));
            None
        }
    }
}

fn entry(i: usize, d: &Value, layout: bool, problems: &mut Vec<Finding>) -> Entry {
    let name = if layout {
        judge_ref_name(i, d, problems)
    } else {
        ref_name(d).map(str::to_string)
    };
    consumer_rules(i, d, problems);
    Entry {
        descriptor: descriptor_at(d, Place::Entry(i), problems),
        ref_name: name,
        name: d
            .get("annotations")
            .and_then(|a| a.get(super::reference::CONTAINERD_NAME))
            .and_then(Value::as_str)
            .map(str::to_string),
        platform: platform_label(d),
    }
}

/// A descriptor's platform names and reserved annotations, as the
/// consumers that select by platform and read the keys take them.
fn consumer_rules(i: usize, d: &Value, problems: &mut Vec<Finding>) {
    // Named by the digest of what the descriptor describes.
    let digest = d.get("digest").and_then(Value::as_str).map(str::to_string);
    let at = |message: String| Finding {
        place: Place::Entry(i),
        digest: digest.clone(),
        ..Finding::rule(message)
    };
    if let Some(p) = d.get("platform") {
        let name = |k: &str| p.get(k).and_then(Value::as_str);
        if let (Some(os), Some(arch)) = (name("os"), name("architecture")) {
            for (field, b) in super::platform::platform_breaches(os, arch, name("variant")) {
                problems.push(at(b.finding(&format!("platform.{field}"))));
            }
        }
    }
    // A ref name on an index's descriptor is judged as a tag, in
    // index.json only (a nested index's are ignored, as consumers do).
    let found = super::annotations::findings(d, super::annotations::Site::IndexDescriptor);
    problems.extend(found.into_iter().map(at));
}

fn judge_ref_name(i: usize, d: &Value, problems: &mut Vec<Finding>) -> Option<String> {
    let at = |message: String| Finding {
        place: Place::Entry(i),
        ..Finding::doc(message)
    };
    match d.get("annotations").and_then(|a| a.get(REF_NAME)) {
        None => None,
        Some(Value::String(s)) => {
            if let Err(e) = validate_tag(s) {
                problems.push(at(format!("ref name: {e}")));
            }
            Some(s.clone())
        }
        Some(other) => {
            problems.push(at(format!("ref name annotation {other} is not a string")));
            None
        }
    }
}

/// A ref name on several descriptors: consumers pick one arbitrarily.
fn shared_ref_names(entries: &[Entry], problems: &mut Vec<Finding>) {
    let mut names: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        if let Some(n) = &e.ref_name {
            names.entry(n).or_default().push(i);
        }
    }
    for (name, at) in names.into_iter().filter(|(_, at)| at.len() > 1) {
        let list: Vec<String> = at.iter().map(|i| format!("manifests[{i}]")).collect();
        problems.push(Finding {
            place: Place::RefName(name.to_string()),
            ..Finding::doc(format!(
                "ref name is used by {} descriptors in index.json ({}); consumers pick one arbitrarily",
                at.len(),
                list.join(", ")
            ))
        });
    }
}

/// Parse an existing `index.json` (at `path`, for errors), refusing it on
/// any problem [`judge_layout`] finds: an import must not extend a layout
/// it could not read back.
pub fn parse_index(path: &Path, bytes: &[u8]) -> Result<Map<String, Value>> {
    let v = parse_json(bytes).map_err(|r| bad(path, r))?;
    judge_layout(&v).strict().map_err(|r| bad(path, r))?;
    match v {
        Value::Object(map) => Ok(map),
        // judge_layout refuses anything else.
        _ => Err(bad(path, "not a JSON object".into())),
    }
}

fn bad(path: &Path, reason: String) -> Error {
    Error::BadLayout {
        path: path.to_path_buf(),
        reason,
    }
}

/// The annotation naming the manifest an untagged `index.json` entry is
/// about (its subject), as Docker's attestation storage names it.
pub const SUBJECT: &str = "vnd.docker.reference.digest";

/// A change to `index.json`: descriptors to name under tags (each replacing
/// what its tag named), and untagged descriptors (attestations, referrers)
/// that are about a subject manifest.
///
/// The rule for untagged entries: after the change, an untagged entry whose
/// [`SUBJECT`] is no longer in the layout (not the digest of an entry of
/// `index.json`, nor of a manifest an image index there lists) is dropped
/// with it. Entries without a [`SUBJECT`] are never dropped: nothing says
/// what they belong to.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct IndexChange {
    /// `(tag, descriptor)`, in order.
    pub tagged: Vec<(String, Value)>,
    /// Untagged descriptors; each must carry a [`SUBJECT`] annotation.
    pub untagged: Vec<Value>,
}

impl IndexChange {
    /// Name `descriptor` `tag`.
    pub fn tag(tag: &str, descriptor: Value) -> Self {
        IndexChange {
            tagged: vec![(tag.to_string(), descriptor)],
            untagged: Vec::new(),
        }
    }

    /// Also add `descriptor` untagged, about `subject` (a manifest digest):
    /// the [`SUBJECT`] annotation is set on it.
    pub fn with_untagged(mut self, mut descriptor: Value, subject: &str) -> Self {
        if let Some(d) = descriptor.as_object_mut() {
            let annotations = d
                .entry("annotations")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(a) = annotations.as_object_mut() {
                a.insert(SUBJECT.into(), Value::from(subject));
            }
        }
        self.untagged.push(descriptor);
        self
    }

    /// Apply the change to the `manifests` of an `index.json`; `nested`
    /// says whether a digest is listed by an image index among the entries.
    fn apply(self, manifests: &mut Vec<Value>, nested: Nested<'_>) {
        for (tag, descriptor) in self.tagged {
            manifests.retain(|d| ref_name(d) != Some(tag.as_str()));
            manifests.push(descriptor);
        }
        for d in self.untagged {
            let digest = d.get("digest").cloned();
            manifests.retain(|m| ref_name(m).is_some() || m.get("digest") != digest.as_ref());
            manifests.push(d);
        }
        let entries = manifests.clone();
        let present = |s: &str| {
            entries
                .iter()
                .any(|d| d.get("digest").and_then(Value::as_str) == Some(s))
                || nested(&entries, s)
        };
        manifests.retain(|d| match subject(d) {
            Some(s) if ref_name(d).is_none() => present(s),
            _ => true,
        });
    }
}

/// Whether a digest is listed by an image index among `index.json`'s
/// entries (the first argument): what only the layout's blobs can tell.
pub type Nested<'a> = &'a dyn Fn(&[Value], &str) -> bool;

/// The [`SUBJECT`] annotation of a descriptor.
fn subject(d: &Value) -> Option<&str> {
    d.get("annotations")?.get(SUBJECT)?.as_str()
}

/// The new `index.json` bytes: `existing` (`None` when there is no index
/// yet; `path` names it in errors) with `descriptor` added under `tag`.
///
/// An existing entry with the same ref name is dropped; every other
/// descriptor, annotation and unknown field is kept as it was. Pure, so it
/// can be tested and fuzzed without a file system.
pub fn merge_index_bytes(
    path: &Path,
    existing: Option<&[u8]>,
    descriptor: Value,
    tag: &str,
) -> Result<Vec<u8>> {
    apply_index_change(
        path,
        existing,
        IndexChange::tag(tag, descriptor),
        &|_, _| false,
    )
}

/// The new `index.json` bytes: `existing` (as in [`merge_index_bytes`])
/// with `change` applied; `nested` says whether a digest is listed by an
/// image index of the layout (for [`IndexChange`]'s rule). Pure.
pub fn apply_index_change(
    path: &Path,
    existing: Option<&[u8]>,
    change: IndexChange,
    nested: Nested<'_>,
) -> Result<Vec<u8>> {
    let mut index = match existing {
        Some(bytes) => parse_index(path, bytes)?,
        None => empty_index(),
    };
    let Some(Value::Array(manifests)) = index.get_mut("manifests") else {
        return Err(bad(path, "index.json has no manifests array".into()));
    };
    change.apply(manifests, nested);
    serde_json::to_vec(&Value::Object(index)).map_err(|e| Error::Spec {
        what: "index.json",
        reason: e.to_string(),
    })
}

/// An image index with no manifests.
pub fn empty_index() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("schemaVersion".into(), Value::from(2));
    m.insert("mediaType".into(), Value::from(OCI_INDEX));
    m.insert("manifests".into(), Value::Array(Vec::new()));
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn desc(hex: char, tag: &str) -> Value {
        json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{}", hex.to_string().repeat(64)),
            "size": 10,
            "annotations": {REF_NAME: tag}
        })
    }

    fn rendered(j: &Judged<Index>) -> Vec<String> {
        j.problems.iter().map(Finding::to_string).collect()
    }

    /// Tagged and untagged entries: an untagged entry stays while its
    /// subject is in the layout and goes with it.
    #[test]
    fn untagged_entries_follow_their_subject() {
        let path = Path::new("index.json");
        let untagged = |hex: char| {
            let mut d = desc(hex, "");
            d.as_object_mut().unwrap().remove("annotations");
            d
        };
        let a = desc('a', "v1");
        let a_digest = a["digest"].as_str().unwrap().to_string();
        let change = IndexChange::tag("v1", a).with_untagged(untagged('c'), &a_digest);
        let bytes = apply_index_change(path, None, change, &|_, _| false).unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        let m = v["manifests"].as_array().unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1]["annotations"][SUBJECT], Value::from(a_digest.clone()));
        assert!(ref_name(&m[1]).is_none());
        // The same untagged entry again is not listed twice.
        let again = IndexChange::tag("v2", desc('d', "v2")).with_untagged(untagged('c'), &a_digest);
        let bytes = apply_index_change(path, Some(&bytes), again, &|_, _| false).unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["manifests"].as_array().unwrap().len(), 3);
        // v1 moves away from a: the entry about a goes, unless an image index lists a.
        let moved = |nested: Nested<'_>| {
            let bytes = apply_index_change(
                path,
                Some(&bytes),
                IndexChange::tag("v1", desc('b', "v1")),
                nested,
            )
            .unwrap();
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            v["manifests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["digest"].as_str().unwrap()[7..8].to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(moved(&|_, _| false), ["d", "b"]);
        assert_eq!(moved(&|_, d| d == a_digest), ["d", "c", "b"]);
        // An untagged entry with no subject is never dropped.
        let plain = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [untagged('e')]}))
        .unwrap();
        let bytes = apply_index_change(
            path,
            Some(&plain),
            IndexChange::tag("x", desc('f', "x")),
            &|_, _| false,
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["manifests"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn a_good_index_has_no_problems() {
        let v = json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [desc('a', "one"), desc('b', "two")]});
        let j = judge_layout(&v);
        assert!(j.problems.is_empty(), "{:?}", j.problems);
        let entries = j.value.unwrap().entries;
        assert_eq!(entries[1].ref_name.as_deref(), Some("two"));
        assert_eq!(entries[0].descriptor.as_ref().map(|d| d.size), Some(10));
    }

    #[test]
    fn document_fields() {
        assert_eq!(rendered(&judge(&json!([]))), ["not a JSON object"]);
        let j = judge(&json!({"schemaVersion": 1, "mediaType": "x/y", "manifests": {}}));
        assert!(j.value.is_none());
        assert_eq!(
            rendered(&j),
            [
                "schemaVersion is 1, expected 2",
                "mediaType is \"x/y\", expected \"application/vnd.oci.image.index.v1+json\"",
                "manifests is not an array"
            ]
        );
        assert_eq!(
            rendered(&judge(&json!({"mediaType": DOCKER_LIST}))),
            ["has no schemaVersion", "has no manifests array"]
        );
    }

    #[test]
    fn ref_names_are_judged_only_in_index_json() {
        let mut bad = desc('b', "bad tag");
        bad["platform"] = json!({"os": "linux", "architecture": "amd64"});
        let v = json!({"schemaVersion": 2, "manifests": [
            desc('a', "x"), bad, desc('c', "x"),
            {"mediaType": OCI_INDEX, "digest": "sha256:zz", "size": 1,
             "annotations": {REF_NAME: 7}}]});
        let j = judge_layout(&v);
        assert_eq!(
            rendered(&j),
            [
                "manifests[1]: ref name: \"bad tag\" is not a valid OCI ref name (letters and digits, separated by one of - . _ : @ + or --, components joined by /)",
                "manifests[3]: ref name annotation 7 is not a string",
                "manifests[3]: invalid digest \"sha256:zz\": sha256 needs 64 hex digits, found 2",
                "tag x: ref name is used by 2 descriptors in index.json (manifests[0], manifests[2]); consumers pick one arbitrarily",
            ]
        );
        assert_eq!(j.problems[1].digest, None);
        assert_eq!(j.problems[2].digest.as_deref(), Some("sha256:zz"));
        let entries = j.value.unwrap().entries;
        assert_eq!(entries[1].platform.as_deref(), Some("linux/amd64"));
        assert!(entries[3].descriptor.is_none());
        // A nested index: the same descriptors, only the digest is a problem.
        assert_eq!(
            rendered(&judge(&v)),
            ["manifests[3]: invalid digest \"sha256:zz\": sha256 needs 64 hex digits, found 2"]
        );
    }

    #[test]
    fn oci_spec_has_the_last_word() {
        let v = json!({"schemaVersion": 2, "manifests": [], "annotations": {"a": 1}});
        let j = judge(&v);
        assert_eq!(j.problems.len(), 1);
        assert_eq!(j.problems[0].place, Place::Schema);
        assert!(
            j.problems[0]
                .message
                .starts_with("not an OCI image index: ")
        );
    }

    #[test]
    fn parse_and_merge() {
        let path = Path::new("index.json");
        let e = parse_index(path, b"{").unwrap_err().to_string();
        assert!(e.starts_with("index.json: not valid JSON: "), "{e}");
        let e = parse_index(
            path,
            br#"{"schemaVersion":2,"manifests":[{"digest":"sha256:zz"}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("manifests[0]: descriptor has no mediaType"),
            "{e}"
        );
        let first = merge_index_bytes(path, None, desc('a', "one"), "one").unwrap();
        let second = merge_index_bytes(path, Some(&first), desc('b', "two"), "two").unwrap();
        let third = merge_index_bytes(path, Some(&second), desc('c', "one"), "one").unwrap();
        let m = parse_index(path, &third).unwrap();
        assert_eq!(m["mediaType"], OCI_INDEX);
        let tags: Vec<&str> = m["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(ref_name)
            .collect();
        assert_eq!(tags, ["two", "one"]);
    }
}
