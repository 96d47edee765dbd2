//! Docker's `manifest.json` beside a layout (what `docker save` writes
//! since Docker 25, and ociimport's archives): each entry must name the
//! config and layers of an image manifest `index.json` reaches, and its
//! `RepoTags` the name `index.json` gives that image, or `docker load`
//! would load another image, or under another name, than containerd,
//! podman and skopeo read from the same archive.
//!
//! A pure function of the two files' bytes and a blob lookup, so it is
//! tested without a layout and runs on whatever reads the archive.

use serde_json::Value;

use super::Problem;
use crate::digest::Digest;
use crate::layout::MAX_INDEX_DEPTH;
use crate::naming::parse_reference;
use crate::spec::media_type::{DocKind, doc_kind};
use crate::spec::ref_name::ref_name;
use crate::spec::reference::CONTAINERD_NAME;

/// The most descriptors followed from `index.json` to find the images.
const MAX_DESCRIPTORS: usize = 10_000;

/// Where the file is, in problems.
const OBJ: &str = "manifest.json";

/// An entry of `manifest.json`, as Docker reads it (`RepoTags` may be null).
#[derive(serde::Deserialize)]
struct ManifestItem {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// An image manifest `index.json` reaches, as `manifest.json` names one.
struct Image {
    config: String,
    layers: Vec<String>,
    /// `io.containerd.image.name` of the `index.json` entry that reaches it.
    name: Option<String>,
    /// The ref name (tag) of that entry.
    tag: Option<String>,
}

/// Check `manifest` (the bytes of `manifest.json`) against `index_json`;
/// `blob` reads a blob of the layout (`None`: absent or unreadable, which
/// the rest of verify reports). Problems name `manifest.json[N]`.
pub(crate) fn check_manifest_json(
    manifest: &[u8],
    index_json: &[u8],
    blob: &dyn Fn(&Digest) -> Option<Vec<u8>>,
) -> Vec<Problem> {
    let problem = |object: String, message: String| Problem {
        object,
        digest: None,
        message,
    };
    let items: Vec<ManifestItem> = match serde_json::from_slice(manifest) {
        Ok(items) => items,
        Err(e) => {
            return vec![problem(
                OBJ.into(),
                format!("not Docker's manifest.json (a list of {{Config, RepoTags, Layers}}): {e}"),
            )];
        }
    };
    // A broken index.json is reported by the rest of verify.
    let Ok(index) = serde_json::from_slice::<Value>(index_json) else {
        return Vec::new();
    };
    let images = images(&index, blob);
    let mut problems = Vec::new();
    for (k, item) in items.iter().enumerate() {
        let object = format!("{OBJ}[{k}]");
        let found: Vec<&Image> = images
            .iter()
            .filter(|i| i.config == item.config && i.layers == item.layers)
            .collect();
        if found.is_empty() {
            problems.push(problem(
                object,
                format!(
                    "Config {} and its {} layer(s) are not those of any image manifest index.json lists: docker load would load another image than containerd and podman",
                    item.config,
                    item.layers.len()
                ),
            ));
            continue;
        }
        for t in item.repo_tags.iter().flatten() {
            if let Some(message) = repo_tag_problem(t, &found) {
                problems.push(problem(object.clone(), message));
            }
        }
    }
    problems
}

/// What is wrong with the `RepoTags` entry `t` of an image reached as `found`.
fn repo_tag_problem(t: &str, found: &[&Image]) -> Option<String> {
    let full = match parse_reference(t) {
        Ok(r) => r,
        Err(e) => return Some(format!("RepoTags {t:?}: {e}")),
    };
    let names: Vec<&str> = found.iter().filter_map(|i| i.name.as_deref()).collect();
    let ok = if names.is_empty() {
        // Tag-only entries (an older layout): the tag must be the ref name.
        found.iter().any(|i| i.tag.as_deref() == Some(&full.tag))
    } else {
        names.contains(&full.to_string().as_str())
    };
    if ok {
        return None;
    }
    let given = if names.is_empty() {
        let tags: Vec<&str> = found.iter().filter_map(|i| i.tag.as_deref()).collect();
        format!("the tag {}", tags.join(", "))
    } else {
        format!("{} ({CONTAINERD_NAME})", names.join(", "))
    };
    Some(format!(
        "RepoTags {t} is {full}, but index.json names that image {given}: docker load would name it otherwise than containerd and podman"
    ))
}

/// Every image manifest `index.json` reaches (through image indexes, at
/// most [`MAX_INDEX_DEPTH`] deep), with the names of its entry.
fn images(index: &Value, blob: &dyn Fn(&Digest) -> Option<Vec<u8>>) -> Vec<Image> {
    let mut out = Vec::new();
    let mut budget = MAX_DESCRIPTORS;
    let entries = index.get("manifests").and_then(Value::as_array);
    for d in entries.into_iter().flatten() {
        let name = d
            .get("annotations")
            .and_then(|a| a.get(CONTAINERD_NAME))
            .and_then(Value::as_str)
            .map(str::to_string);
        let tag = ref_name(d).map(str::to_string);
        let names = (name, tag);
        follow(d, &names, 0, blob, &mut budget, &mut out);
    }
    out
}

fn follow(
    d: &Value,
    names: &(Option<String>, Option<String>),
    depth: usize,
    blob: &dyn Fn(&Digest) -> Option<Vec<u8>>,
    budget: &mut usize,
    out: &mut Vec<Image>,
) {
    if *budget == 0 || depth > MAX_INDEX_DEPTH {
        return;
    }
    *budget -= 1;
    let media_type = d.get("mediaType").and_then(Value::as_str).unwrap_or("");
    let Some(doc) = d
        .get("digest")
        .and_then(Value::as_str)
        .and_then(|s| Digest::parse(s).ok())
        .and_then(|digest| blob(&digest))
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    else {
        return;
    };
    match doc_kind(media_type) {
        DocKind::Manifest(_) => {
            let rel = |v: &Value| {
                v.get("digest")
                    .and_then(Value::as_str)
                    .and_then(|s| Digest::parse(s).ok())
                    .map(|d| d.blob_rel())
            };
            let layers = doc.get("layers").and_then(Value::as_array);
            let (Some(config), Some(layers)) = (
                doc.get("config").and_then(rel),
                layers.map(|l| l.iter().filter_map(rel).collect()),
            ) else {
                return;
            };
            out.push(Image {
                config,
                layers,
                name: names.0.clone(),
                tag: names.1.clone(),
            });
        }
        DocKind::Index => {
            let children = doc.get("manifests").and_then(Value::as_array);
            for c in children.into_iter().flatten() {
                follow(c, names, depth + 1, blob, budget, out);
            }
        }
        DocKind::Other => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    const C: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const L: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    const M: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
    const X: &str = "sha256:4444444444444444444444444444444444444444444444444444444444444444";

    fn check(manifest: Value, annotations: Value) -> Vec<String> {
        let index = json!({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": M, "size": 1, "annotations": annotations}]});
        let m = json!({"config": {"digest": C}, "layers": [{"digest": L}]});
        let blobs = HashMap::from([(M.to_string(), serde_json::to_vec(&m).unwrap())]);
        let read = |d: &Digest| blobs.get(d.as_str()).cloned();
        check_manifest_json(
            &serde_json::to_vec(&manifest).unwrap(),
            &serde_json::to_vec(&index).unwrap(),
            &read,
        )
        .into_iter()
        .map(|p| format!("{}: {}", p.object, p.message))
        .collect()
    }

    fn item(config: &str, tags: &[&str]) -> Value {
        let hex = |d: &str| format!("blobs/sha256/{}", &d[7..]);
        json!([{"Config": hex(config), "RepoTags": tags, "Layers": [hex(L)]}])
    }

    #[test]
    fn manifest_json_must_match_index_json() {
        let named = json!({CONTAINERD_NAME: "docker.io/library/x:1",
            "org.opencontainers.image.ref.name": "1"});
        assert!(check(item(C, &["x:1"]), named.clone()).is_empty());
        assert!(check(item(C, &["docker.io/library/x:1"]), named.clone()).is_empty());
        assert!(check(item(C, &[]), named.clone()).is_empty());
        assert_eq!(
            check(item(X, &["x:1"]), named.clone()),
            [
                "manifest.json[0]: Config blobs/sha256/4444444444444444444444444444444444444444444444444444444444444444 and its 1 layer(s) are not those of any image manifest index.json lists: docker load would load another image than containerd and podman"
            ]
        );
        assert_eq!(
            check(item(C, &["x:2"]), named),
            [
                "manifest.json[0]: RepoTags x:2 is docker.io/library/x:2, but index.json names that image docker.io/library/x:1 (io.containerd.image.name): docker load would name it otherwise than containerd and podman"
            ]
        );
        // A layout with tag-only entries: the tag must agree.
        let tag_only = json!({"org.opencontainers.image.ref.name": "1"});
        assert!(check(item(C, &["anything:1"]), tag_only.clone()).is_empty());
        assert_eq!(
            check(item(C, &["x:2"]), tag_only),
            [
                "manifest.json[0]: RepoTags x:2 is docker.io/library/x:2, but index.json names that image the tag 1: docker load would name it otherwise than containerd and podman"
            ]
        );
        assert_eq!(
            check(json!({"Config": 1}), json!({})),
            [
                "manifest.json: not Docker's manifest.json (a list of {Config, RepoTags, Layers}): invalid type: map, expected a sequence at line 1 column 0"
            ]
        );
    }
}
