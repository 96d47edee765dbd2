//! An existing `index.json` read and merged the way an import does
//! (`spec::index::parse_index`, `spec::index::merge_index_bytes`), on arbitrary bytes.
//!
//! Properties: the merge accepts exactly what `parse_index` accepts; what
//! it writes is accepted again (so one import can never make the layout
//! unusable for the next); the new tag appears exactly once, last; every
//! other descriptor and top-level field is kept as it was.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ociimport::fuzzing::{merge_index_bytes, parse_index};
use ociimport::spec::ref_name::REF_NAME;
use serde_json::{Value, json};

const TAG: &str = "fuzz";

fn tag_of(d: &Value) -> Option<&str> {
    d.get("annotations")?.get(REF_NAME)?.as_str()
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new("index.json");
    let parsed = parse_index(path, data);
    let descriptor = json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": format!("sha256:{}", "a".repeat(64)),
        "size": 404,
        "annotations": {REF_NAME: TAG},
        "platform": {"architecture": "amd64", "os": "linux"}
    });
    let merged = merge_index_bytes(path, Some(data), descriptor.clone(), TAG);
    let (old, out) = match (parsed, merged) {
        (Ok(old), Ok(out)) => (old, out),
        (Err(_), Err(_)) => return,
        (p, m) => panic!(
            "parse_index and the merge disagree: {:?} vs {:?}",
            p.map(|_| ()),
            m.map(|_| ())
        ),
    };
    let new = match parse_index(path, &out) {
        Ok(n) => n,
        Err(e) => panic!(
            "the merged index.json is refused: {e}\n{}",
            String::from_utf8_lossy(&out)
        ),
    };
    let (Some(Value::Array(before)), Some(Value::Array(after))) =
        (old.get("manifests"), new.get("manifests"))
    else {
        panic!("manifests array lost");
    };
    let kept: Vec<&Value> = before.iter().filter(|d| tag_of(d) != Some(TAG)).collect();
    assert_eq!(after.len(), kept.len() + 1);
    assert_eq!(after.last(), Some(&descriptor));
    assert_eq!(after[..kept.len()].iter().collect::<Vec<_>>(), kept);
    for (k, v) in &old {
        if k != "manifests" {
            assert_eq!(new.get(k), Some(v), "top-level field {k} changed");
        }
    }
    assert_eq!(old.len(), new.len());
});
