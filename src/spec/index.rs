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
    Entry {
        descriptor: descriptor_at(d, Place::Entry(i), problems),
        ref_name: name,
        platform: platform_label(d),
    }
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
    let mut index = match existing {
        Some(bytes) => parse_index(path, bytes)?,
        None => empty_index(),
    };
    let Some(Value::Array(manifests)) = index.get_mut("manifests") else {
        return Err(bad(path, "index.json has no manifests array".into()));
    };
    manifests.retain(|d| ref_name(d) != Some(tag));
    manifests.push(descriptor);
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
