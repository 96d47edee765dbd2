//! Reading what a run wrote: blobs, JSON, snapshots, and the checks a
//! consumer makes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::run::run;
use super::sha256;

/// The path of a blob of `layout` by digest.
pub fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    layout.join("blobs/sha256").join(hex_of(digest))
}

/// Read a blob of `layout` by digest.
pub fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    let p = blob_path(layout, digest);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading blob {}: {e}", p.display()))
}

/// The hex part of a `sha256:` digest.
pub fn hex_of(digest: &str) -> &str {
    digest
        .strip_prefix("sha256:")
        .unwrap_or_else(|| panic!("not a sha256 digest: {digest:?}"))
}

/// A JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `dir` with its content digest: a layout "snapshot".
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            let p = e.path();
            let rel = p.strip_prefix(dir).expect("prefix").to_path_buf();
            if e.file_type().expect("type").is_dir() {
                out.insert(rel, "dir".into());
                stack.push(p);
            } else {
                out.insert(rel, sha256(&std::fs::read(&p).expect("read")));
            }
        }
    }
    out
}

/// Check what a consumer checks: every blob file hashes to its name, and
/// every descriptor reachable from index.json points to an existing blob of
/// the stated size. Returns the number of descriptors checked.
pub fn check_layout(layout: &Path) -> usize {
    assert_eq!(
        std::fs::read(layout.join("oci-layout")).expect("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#
    );
    for e in std::fs::read_dir(layout.join("blobs/sha256")).expect("blobs dir") {
        let p = e.expect("entry").path();
        let name = p.file_name().expect("name").to_string_lossy().into_owned();
        let data = std::fs::read(&p).expect("blob");
        assert_eq!(
            sha256(&data),
            format!("sha256:{name}"),
            "blob {name} does not match its name"
        );
    }
    let index = read_json(&layout.join("index.json"));
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let mut checked = 0;
    for m in index["manifests"].as_array().expect("manifests") {
        let digest = m["digest"].as_str().expect("digest");
        let bytes = blob(layout, digest);
        assert_eq!(bytes.len() as u64, m["size"].as_u64().expect("size"));
        checked += 1;
        let manifest: serde_json::Value = serde_json::from_slice(&bytes).expect("manifest JSON");
        let config = &manifest["config"];
        let cbytes = blob(layout, config["digest"].as_str().expect("config digest"));
        assert_eq!(
            cbytes.len() as u64,
            config["size"].as_u64().expect("config size")
        );
        checked += 1;
        let layers = manifest["layers"].as_array().expect("layers");
        if m.get("artifactType").is_some() {
            // An artifact (signature evidence): blobs, no image config.
            for l in layers {
                let lb = blob(layout, l["digest"].as_str().expect("blob digest"));
                assert_eq!(lb.len() as u64, l["size"].as_u64().expect("blob size"));
                checked += 1;
            }
            continue;
        }
        let cfg: serde_json::Value = serde_json::from_slice(&cbytes).expect("config JSON");
        assert_eq!(
            cfg["rootfs"]["diff_ids"]
                .as_array()
                .expect("diff_ids")
                .len(),
            layers.len()
        );
        for l in layers {
            let lb = blob(layout, l["digest"].as_str().expect("layer digest"));
            assert_eq!(lb.len() as u64, l["size"].as_u64().expect("layer size"));
            checked += 1;
        }
    }
    no_temp_files(layout);
    checked
}

/// No temp file of ours is left in `dir`.
pub fn no_temp_files(dir: &Path) {
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        assert!(
            !name.starts_with(".ociimport-tmp-"),
            "temp file left: {name}"
        );
    }
}

/// `args` run in `dir` into the existing layout `dir/img` and into a new
/// `dir/fresh`: refused both times with exit 1 and one line on stderr
/// holding every `want`; `img` is left byte for byte, `fresh` never made.
#[track_caller]
pub fn refused_into_img_and_fresh(dir: &Path, args: &[&str], wants: &[String]) {
    let layout = dir.join("img");
    let before = snapshot(&layout);
    for out in ["img", "fresh"] {
        let mut all = args.to_vec();
        all.extend_from_slice(&["-o", out]);
        let mut o = run(dir, &all).exits(1).one_line();
        for want in wants {
            o = o.says(want);
        }
        assert_eq!(snapshot(&layout), before, "{args:?}: layout changed");
        assert!(
            !dir.join("fresh").exists(),
            "{args:?}: a new layout was created"
        );
    }
}
