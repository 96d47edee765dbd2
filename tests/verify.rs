//! `verify` and `inspect` against real layouts: ones the `ociimport` binary
//! writes (then damaged in one precise way per test, keeping every other
//! digest consistent so that only the check under test can catch it), and
//! ones skopeo, umoci and buildah write.
//!
//! Tools: when `CI` is set a missing tool fails the test, naming the tool;
//! otherwise the test prints that it skipped, and passes.
//! Debian packages: skopeo umoci buildah.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use ociimport::inspect::inspect;
use ociimport::verify::{VerifyReport, verify};
use serde_json::{Value, json};

const REF: &str = "org.opencontainers.image.ref.name";
const MT_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

// ---------------------------------------------------------------------------
// fixtures
// ---------------------------------------------------------------------------

/// A small rootfs: 3 directories, 2 files, 1 symlink (6 entries).
fn rootfs(marker: &str) -> Vec<u8> {
    let release = format!("NAME=verify-test\nMARKER={marker}\n");
    let tool: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let mut t = Tar::new();
    t.dir("etc", 0o755)
        .dir("usr", 0o755)
        .dir("usr/bin", 0o755)
        .file("etc/os-release", release.as_bytes(), 0o644)
        .file("usr/bin/tool", &tool, 0o755)
        .symlink("bin", "usr/bin");
    t.finish()
}

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    layout: PathBuf,
    tar: Vec<u8>,
}

/// Import a fresh rootfs as `tag` (gzip layer) into a new layout.
fn fixture(tag: &str) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let layout = dir.join("img");
    let tar = rootfs(tag);
    import(&dir, &layout, tag, &tar, &[]);
    Fixture {
        _tmp: tmp,
        dir,
        layout,
        tar,
    }
}

fn import(dir: &Path, layout: &Path, tag: &str, tar: &[u8], extra: &[&str]) {
    let input = dir.join(format!("rootfs-{tag}.tar"));
    fs::write(&input, tar).unwrap();
    let mut args = vec![
        input.to_str().unwrap(),
        "-o",
        layout.to_str().unwrap(),
        "-t",
        tag,
        "--created",
        "@0",
        "-q",
    ];
    args.extend_from_slice(extra);
    run(dir, &args).succeeds();
}

fn write_json(path: &Path, v: &Value) {
    fs::write(path, serde_json::to_vec(v).unwrap()).unwrap();
}

/// Store `bytes` as a blob; returns (digest, size).
fn put_blob(layout: &Path, bytes: &[u8]) -> (String, u64) {
    let d = sha256(bytes);
    fs::write(blob_path(layout, &d), bytes).unwrap();
    (d, bytes.len() as u64)
}

fn index(f: &Fixture) -> Value {
    read_json(&f.layout.join("index.json"))
}

/// The manifest of index entry 0.
fn manifest(f: &Fixture) -> Value {
    let d = index(f)["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    read_json(&blob_path(&f.layout, &d))
}

/// Store `m` as the manifest of index entry 0, fixing the index descriptor.
fn republish_manifest(f: &Fixture, m: &Value) -> String {
    let (d, size) = put_blob(&f.layout, &serde_json::to_vec(m).unwrap());
    let mut idx = index(f);
    idx["manifests"][0]["digest"] = json!(d);
    idx["manifests"][0]["size"] = json!(size);
    write_json(&f.layout.join("index.json"), &idx);
    d
}

fn run_verify(layout: &Path, tag: Option<&str>) -> VerifyReport {
    let r = verify(layout, tag).unwrap();
    eprintln!("{}", r.text());
    r
}

/// The problem whose object is `object` and whose message contains `needle`.
fn assert_problem(r: &VerifyReport, object: &str, needle: &str) {
    assert!(!r.ok(), "expected a failure:\n{}", r.text());
    assert!(
        r.problems
            .iter()
            .any(|p| p.object == object && p.message.contains(needle)),
        "no problem on {object:?} containing {needle:?}:\n{}",
        r.text()
    );
    // The text names the object and the problem on one line.
    assert!(
        r.text()
            .lines()
            .any(|l| l.starts_with(object) && l.contains(needle)),
        "{}",
        r.text()
    );
}

// ---------------------------------------------------------------------------
// our own layouts
// ---------------------------------------------------------------------------

#[test]
fn fresh_import_passes_with_counts() {
    let f = fixture("latest");
    let r = run_verify(&f.layout, None);
    assert!(r.ok(), "{}", r.text());
    assert_eq!((r.manifests, r.indexes, r.blobs, r.layers), (1, 0, 3, 1));
    assert!(r.text().starts_with("OK: "), "{}", r.text());
    let by_tag = run_verify(&f.layout, Some("latest"));
    assert!(by_tag.ok());
    assert_eq!(by_tag.tag.as_deref(), Some("latest"));
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["problems"], json!([]));
    assert_eq!(v["layers"], 1);
}

/// zstd and uncompressed layers, and a multi-member gzip input kept as the
/// blob: every member must be decoded for the DiffID to match.
#[test]
fn every_layer_compression_passes() {
    let f = fixture("latest");
    import(
        &f.dir,
        &f.layout,
        "zstd",
        &rootfs("zstd"),
        &["--compression", "zstd"],
    );
    import(
        &f.dir,
        &f.layout,
        "plain",
        &rootfs("plain"),
        &["--compression", "none"],
    );
    let tar = rootfs("members");
    let (a, b) = tar.split_at(tar.len() / 2);
    let two = [gzip_level(a, 1), gzip_level(b, 1)].concat();
    let input = f.dir.join("members.tar.gz");
    fs::write(&input, &two).unwrap();
    let (input, layout) = (input.to_str().unwrap(), f.layout.to_str().unwrap());
    run(
        &f.dir,
        &[
            input,
            "-o",
            layout,
            "-t",
            "members",
            "--created",
            "@0",
            "-q",
        ],
    )
    .succeeds();
    let r = run_verify(&f.layout, None);
    assert!(r.ok(), "{}", r.text());
    assert_eq!((r.manifests, r.layers), (4, 4));
    let images = inspect(&f.layout, Some("members")).unwrap();
    assert_eq!(images[0].layers[0].digest.as_str(), sha256(&two));
    assert_eq!(images[0].layers[0].diff_id.as_str(), sha256(&tar));
    let media: Vec<String> = inspect(&f.layout, None)
        .unwrap()
        .iter()
        .map(|i| i.layers[0].media_type.clone())
        .collect();
    assert!(
        media.contains(&"application/vnd.oci.image.layer.v1.tar+zstd".to_string()),
        "{media:?}"
    );
    assert!(
        media.contains(&"application/vnd.oci.image.layer.v1.tar".to_string()),
        "{media:?}"
    );
}

#[test]
fn one_byte_changed_in_layer_blob() {
    let f = fixture("latest");
    let layer = manifest(&f)["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let p = blob_path(&f.layout, &layer);
    let mut bytes = fs::read(&p).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(&p, &bytes).unwrap();
    let r = run_verify(&f.layout, None);
    assert_problem(
        &r,
        "tag latest: layer 1",
        "blob content does not match its digest",
    );
    let p = r
        .problems
        .iter()
        .find(|p| p.message.contains("does not match its digest"))
        .unwrap();
    assert_eq!(p.digest.as_deref(), Some(layer.as_str()));
    assert!(p.message.contains(&sha256(&bytes)), "{}", p.message);
}

#[test]
fn missing_blob() {
    let f = fixture("latest");
    let layer = manifest(&f)["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    fs::remove_file(blob_path(&f.layout, &layer)).unwrap();
    let r = run_verify(&f.layout, None);
    let hex = layer.strip_prefix("sha256:").unwrap();
    assert_problem(
        &r,
        "tag latest: layer 1",
        &format!("blob blobs/sha256/{hex} is missing"),
    );
    assert_eq!(r.problems.len(), 1, "{}", r.text());

    // The config, too.
    let f = fixture("v2");
    let config = manifest(&f)["config"]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    fs::remove_file(blob_path(&f.layout, &config)).unwrap();
    let r = run_verify(&f.layout, None);
    assert_problem(&r, "tag v2: config", "is missing");
}

#[test]
fn descriptor_size_off_by_one() {
    let f = fixture("latest");
    let mut m = manifest(&f);
    let size = m["layers"][0]["size"].as_u64().unwrap();
    m["layers"][0]["size"] = json!(size + 1);
    republish_manifest(&f, &m);
    let r = run_verify(&f.layout, None);
    assert_problem(
        &r,
        "tag latest: layer 1",
        &format!(
            "size mismatch: the descriptor says {} bytes, the blob has {size}",
            size + 1
        ),
    );
    assert_eq!(r.problems.len(), 1, "{}", r.text());

    // The index descriptor's size of the manifest.
    let f = fixture("latest");
    let mut idx = index(&f);
    let size = idx["manifests"][0]["size"].as_u64().unwrap();
    idx["manifests"][0]["size"] = json!(size - 1);
    write_json(&f.layout.join("index.json"), &idx);
    let r = run_verify(&f.layout, None);
    assert_problem(&r, "tag latest: manifest", "size mismatch");
}

#[test]
fn config_diff_id_that_does_not_match_its_layer() {
    let f = fixture("latest");
    let mut m = manifest(&f);
    let config_digest = m["config"]["digest"].as_str().unwrap().to_string();
    let mut config = read_json(&blob_path(&f.layout, &config_digest));
    let wrong = sha256(b"not the layer");
    config["rootfs"]["diff_ids"][0] = json!(wrong);
    let (cd, cs) = put_blob(&f.layout, &serde_json::to_vec(&config).unwrap());
    m["config"]["digest"] = json!(cd);
    m["config"]["size"] = json!(cs);
    republish_manifest(&f, &m);
    let r = run_verify(&f.layout, None);
    assert_problem(
        &r,
        "tag latest: layer 1",
        &format!(
            "DiffID mismatch: the config lists {wrong}, the decompressed layer hashes to {}",
            sha256(&f.tar)
        ),
    );
    // Every blob is consistent: the DiffID check is the only one that fires.
    assert_eq!(r.problems.len(), 1, "{}", r.text());
}

#[test]
fn xz_blob_labelled_gzip() {
    let f = fixture("latest");
    let xz = xz_preset(&f.tar, 1);
    let (ld, ls) = put_blob(&f.layout, &xz);
    let mut m = manifest(&f);
    assert_eq!(m["layers"][0]["mediaType"], MT_GZIP);
    m["layers"][0]["digest"] = json!(ld);
    m["layers"][0]["size"] = json!(ls);
    republish_manifest(&f, &m);
    let r = run_verify(&f.layout, None);
    assert_problem(
        &r,
        "tag latest: layer 1",
        "says gzip data, but the blob is xz data; consumers will fail to decode it",
    );
    // Decoded as what it really is, its DiffID matches: that is the only problem.
    assert_eq!(r.problems.len(), 1, "{}", r.text());
    assert_eq!(r.problems[0].digest.as_deref(), Some(ld.as_str()));
}

#[test]
fn docker_layer_type_in_an_oci_manifest() {
    let f = fixture("latest");
    let mut m = manifest(&f);
    m["layers"][0]["mediaType"] = json!("application/vnd.docker.image.rootfs.diff.tar.gzip");
    republish_manifest(&f, &m);
    let r = run_verify(&f.layout, None);
    assert_problem(
        &r,
        "tag latest: layer 1",
        "media type \"application/vnd.docker.image.rootfs.diff.tar.gzip\" is not an OCI layer media type",
    );
    assert_eq!(r.problems.len(), 1, "{}", r.text());
}

#[test]
fn traversal_digest_in_index_json() {
    let f = fixture("latest");
    let mut idx = index(&f);
    let mut evil = idx["manifests"][0].clone();
    evil["digest"] = json!("sha256:../../etc/passwd");
    evil["annotations"][REF] = json!("evil");
    idx["manifests"].as_array_mut().unwrap().push(evil);
    write_json(&f.layout.join("index.json"), &idx);
    let r = run_verify(&f.layout, None);
    assert_problem(
        &r,
        "index.json manifests[1]",
        "invalid digest \"sha256:../../etc/passwd\"",
    );
    assert_problem(
        &r,
        "index.json manifests[1]",
        "sha256 needs 64 hex digits, found 16",
    );
    assert_eq!(r.problems.len(), 1, "{}", r.text());
    // The good entry was still checked in full.
    assert_eq!((r.manifests, r.layers), (1, 1));
}

#[test]
fn duplicate_ref_name() {
    let f = fixture("latest");
    let mut idx = index(&f);
    let copy = idx["manifests"][0].clone();
    idx["manifests"].as_array_mut().unwrap().push(copy);
    write_json(&f.layout.join("index.json"), &idx);
    let r = run_verify(&f.layout, None);
    assert_problem(
        &r,
        "tag latest",
        "ref name is used by 2 descriptors in index.json (manifests[0], manifests[1])",
    );
    assert_eq!(r.problems.len(), 1, "{}", r.text());
}

#[test]
fn bad_ref_name_and_unknown_tag() {
    let f = fixture("latest");
    let r = run_verify(&f.layout, Some("nope"));
    assert_problem(&r, "tag nope", "not found in index.json (tags: latest)");
    assert_eq!(r.manifests, 0);

    let mut idx = index(&f);
    idx["manifests"][0]["annotations"][REF] = json!("bad tag");
    write_json(&f.layout.join("index.json"), &idx);
    let r = run_verify(&f.layout, None);
    assert_problem(
        &r,
        "index.json manifests[0]",
        "\"bad tag\" is not a valid OCI ref name",
    );
}

#[test]
fn missing_layout_files_and_missing_dir() {
    let f = fixture("latest");
    fs::write(
        f.layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"2.0.0"}"#,
    )
    .unwrap();
    let r = run_verify(&f.layout, None);
    assert_problem(
        &r,
        "oci-layout",
        "imageLayoutVersion is \"2.0.0\", expected \"1.0.0\"",
    );
    fs::remove_file(f.layout.join("index.json")).unwrap();
    let r = run_verify(&f.layout, None);
    assert_problem(&r, "index.json", "missing");

    let missing = f.dir.join("does-not-exist");
    let e = verify(&missing, None).unwrap_err();
    assert!(e.to_string().contains("does-not-exist"), "{e}");
}

#[test]
fn truncated_layer_is_not_a_complete_stream() {
    // An uncompressed layer cut at an entry boundary would still be a tar:
    // cut inside the big file, and keep the digests consistent.
    let f = fixture("latest");
    let mut m = manifest(&f);
    let (ld, ls) = put_blob(&f.layout, &f.tar[..f.tar.len() - 20_000]);
    m["layers"][0]["mediaType"] = json!("application/vnd.oci.image.layer.v1.tar");
    m["layers"][0]["digest"] = json!(ld);
    m["layers"][0]["size"] = json!(ls);
    republish_manifest(&f, &m);
    let r = run_verify(&f.layout, None);
    assert_problem(
        &r,
        "tag latest: layer 1",
        "not a complete tar archive: the tar archive ends inside entry 'usr/bin/tool'",
    );
}

/// An image index (multi-platform) tagged in index.json is descended into,
/// and both platforms are checked and inspected.
#[test]
fn multi_platform_index_is_descended() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("img");
    import(
        tmp.path(),
        &layout,
        "amd",
        &rootfs("amd"),
        &["--arch", "amd64"],
    );
    import(
        tmp.path(),
        &layout,
        "arm",
        &rootfs("arm"),
        &["--arch", "arm64", "--variant", "v8"],
    );
    let idx = read_json(&layout.join("index.json"));
    let mut children = Vec::new();
    for d in idx["manifests"].as_array().unwrap() {
        let mut c = d.clone();
        c.as_object_mut().unwrap().remove("annotations");
        children.push(c);
    }
    let list = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": children,
    });
    let (ld, ls) = put_blob(&layout, &serde_json::to_vec(&list).unwrap());
    let top = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": ld, "size": ls, "annotations": {REF: "multi"}
    }]});
    write_json(&layout.join("index.json"), &top);

    let r = run_verify(&layout, Some("multi"));
    assert!(r.ok(), "{}", r.text());
    assert_eq!((r.manifests, r.indexes, r.layers, r.blobs), (2, 1, 2, 7));

    let images = inspect(&layout, Some("multi")).unwrap();
    assert_eq!(images.len(), 2);
    let platforms: Vec<String> = images
        .iter()
        .map(|i| format!("{}/{}", i.platform.os, i.platform.architecture))
        .collect();
    assert_eq!(platforms, vec!["linux/amd64", "linux/arm64"]);
    assert_eq!(images[1].platform.variant.as_deref(), Some("v8"));
    assert_eq!(
        images[0].index.as_ref().map(|i| i.digest.as_str()),
        Some(ld.as_str())
    );
    assert_eq!(images[0].tag.as_deref(), Some("multi"));

    // A broken layer inside the arm64 image is named through the index.
    let arm_manifest = read_json(&blob_path(&layout, children[1]["digest"].as_str().unwrap()));
    let layer = arm_manifest["layers"][0]["digest"].as_str().unwrap();
    fs::remove_file(blob_path(&layout, layer)).unwrap();
    let r = run_verify(&layout, None);
    assert_problem(
        &r,
        "tag multi, manifests[1] (linux/arm64/v8): layer 1",
        "is missing",
    );
}

#[test]
fn inspect_measures_layers() {
    let f = fixture("latest");
    let images = inspect(&f.layout, None).unwrap();
    assert_eq!(images.len(), 1);
    let img = &images[0];
    assert_eq!(img.tag.as_deref(), Some("latest"));
    assert_eq!(img.created.as_deref(), Some("1970-01-01T00:00:00Z"));
    assert_eq!(
        img.manifest.digest.as_str(),
        index(&f)["manifests"][0]["digest"]
    );
    assert_eq!(img.layers.len(), 1);
    let l = &img.layers[0];
    assert_eq!(l.media_type, MT_GZIP);
    assert_eq!(l.diff_id.as_str(), sha256(&f.tar));
    assert_eq!(l.uncompressed_size, f.tar.len() as u64);
    assert_eq!(l.entries, 6);
    assert_eq!(
        l.size,
        fs::metadata(blob_path(&f.layout, l.digest.as_str()))
            .unwrap()
            .len()
    );
    assert!(img.warnings.is_empty(), "{:?}", img.warnings);
    let text = ociimport::inspect::text(&images);
    assert!(
        text.contains(&format!("  diff_id: {}\n", sha256(&f.tar))),
        "{text}"
    );
    assert!(text.contains("  entries: 6\n"), "{text}");
}

// ---------------------------------------------------------------------------
// layouts written by other tools
// ---------------------------------------------------------------------------

#[test]
fn skopeo_copy_passes() {
    if !have("skopeo") {
        return;
    }
    let f = fixture("latest");
    let dst = f.dir.join("copied");
    run_ok(
        Command::new("skopeo")
            .arg("copy")
            .arg("-q")
            .arg(format!("oci:{}:latest", f.layout.display()))
            .arg(format!("oci:{}:t", dst.display())),
    );
    let r = run_verify(&dst, Some("t"));
    assert!(r.ok(), "{}", r.text());
    assert_eq!((r.manifests, r.layers), (1, 1));
    // skopeo writing a Docker schema 2 manifest into an OCI layout.
    run_ok(
        Command::new("skopeo")
            .args(["copy", "-q", "--format", "v2s2"])
            .arg(format!("oci:{}:latest", f.layout.display()))
            .arg(format!("oci:{}:docker", dst.display())),
    );
    let idx = read_json(&dst.join("index.json"));
    let docker = idx["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["annotations"][REF] == "docker")
        .unwrap();
    assert_eq!(
        docker["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let r = run_verify(&dst, None);
    assert!(r.ok(), "{}", r.text());
    assert_eq!(r.manifests, 2);
}

#[test]
fn umoci_layout_passes() {
    if !have("umoci") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("u");
    let bundle = tmp.path().join("bundle");
    let image = format!("{}:t", layout.display());
    run_ok(
        Command::new("umoci")
            .args(["init", "--layout"])
            .arg(&layout),
    );
    run_ok(Command::new("umoci").args(["new", "--image", &image]));
    run_ok(
        Command::new("umoci")
            .args(["unpack", "--rootless", "--image", &image])
            .arg(&bundle),
    );
    fs::write(bundle.join("rootfs/hello"), b"from umoci\n").unwrap();
    run_ok(
        Command::new("umoci")
            .args(["repack", "--image", &image])
            .arg(&bundle),
    );
    // A second layer added raw, from our fixture archive.
    let layer = tmp.path().join("layer.tar");
    fs::write(&layer, rootfs("umoci")).unwrap();
    run_ok(
        Command::new("umoci")
            .args(["raw", "add-layer", "--image", &image])
            .arg(&layer),
    );
    let r = run_verify(&layout, Some("t"));
    assert!(r.ok(), "{}", r.text());
    assert_eq!((r.manifests, r.layers), (1, 2));
    let images = inspect(&layout, Some("t")).unwrap();
    assert_eq!(images[0].layers.len(), 2);
    assert_eq!(images[0].layers[1].entries, 6);
}

#[test]
fn buildah_commit_passes() {
    if !have("buildah") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("b");
    let file = tmp.path().join("hello");
    fs::write(&file, b"from buildah\n").unwrap();
    let name = format!("ociimport-verify-{}", std::process::id());
    let _storage = storage_lock();
    run_ok(Command::new("buildah").args(["from", "--name", &name, "scratch"]));
    // Remove the working container whatever happens next.
    struct Rm(String);
    impl Drop for Rm {
        fn drop(&mut self) {
            let _ = Command::new("buildah").args(["rm", &self.0]).output();
        }
    }
    let _rm = Rm(name.clone());
    run_ok(
        Command::new("buildah")
            .args(["copy", &name])
            .arg(&file)
            .arg("/hello"),
    );
    run_ok(Command::new("buildah").args(["config", "--os", "linux", "--arch", "amd64", &name]));
    run_ok(
        Command::new("buildah")
            .args(["commit", "-q", &name])
            .arg(format!("oci:{}:t", layout.display())),
    );
    let r = run_verify(&layout, Some("t"));
    assert!(r.ok(), "{}", r.text());
    assert_eq!((r.manifests, r.layers), (1, 1));
}

// ---------------------------------------------------------------------------
// the command line
// ---------------------------------------------------------------------------

#[test]
fn cli_verify_and_inspect() {
    let f = fixture("latest");
    let target = format!("{}:latest", f.layout.display());
    let layout = f.layout.to_str().unwrap();
    let stdout = run(&f.dir, &["verify", &target]).succeeds().out();
    assert!(stdout.starts_with("OK: "), "{stdout}");

    let v = run(&f.dir, &["verify", "--json", layout]).succeeds().json();
    assert_eq!(
        (v["ok"].clone(), v["layers"].clone()),
        (json!(true), json!(1))
    );

    let v = run(&f.dir, &["inspect", "--json", &target])
        .succeeds()
        .json();
    assert_eq!(v[0]["layers"][0]["entries"], 6);
    assert_eq!(v[0]["layers"][0]["diff_id"], sha256(&f.tar));
    let out = run(&f.dir, &["inspect", &target]);
    assert!(out.out().contains("  entries: 6\n"));

    let layer = manifest(&f)["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    fs::remove_file(blob_path(&f.layout, &layer)).unwrap();
    let stdout = run(&f.dir, &["verify", &target]).exits(1).out();
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("tag latest: layer 1 (") && l.ends_with("is missing")),
        "{stdout}"
    );
    run(&f.dir, &["inspect", &target]).exits(1);

    let missing = f.dir.join("no-such-layout");
    run(&f.dir, &["verify", missing.to_str().unwrap()]).refused("no-such-layout");
}

/// Replace the layer of tag `latest` by `blob` (decoding to `tar`), with a
/// consistent manifest and config, as another tool would have written it.
fn replace_layer(f: &Fixture, blob_bytes: &[u8], tar: &[u8]) {
    let mut m = manifest(f);
    let (ld, ls) = put_blob(&f.layout, blob_bytes);
    m["layers"][0]["digest"] = json!(ld);
    m["layers"][0]["size"] = json!(ls);
    let config_digest = m["config"]["digest"].as_str().unwrap().to_string();
    let mut config = read_json(&blob_path(&f.layout, &config_digest));
    config["rootfs"]["diff_ids"][0] = json!(sha256(tar));
    let (cd, cs) = put_blob(&f.layout, &serde_json::to_vec(&config).unwrap());
    m["config"]["digest"] = json!(cd);
    m["config"]["size"] = json!(cs);
    republish_manifest(f, &m);
}

/// `f` with its layer replaced by `blob` (decoding to `tar`): verify
/// reports `needle` about that layer.
fn layer_problem(f: &Fixture, blob: &[u8], tar: &[u8], needle: &str) -> VerifyReport {
    replace_layer(f, blob, tar);
    let r = run_verify(&f.layout, None);
    assert_problem(&r, "tag latest: layer 1", needle);
    r
}

/// Layouts made by anyone: an entry a consumer cannot unpack (a PAX global
/// header, as git archive writes) and a gzip header pgzip refuses (FHCRC
/// with a name) are reported, each with every digest consistent.
#[test]
fn entries_and_framing_consumers_read_differently() {
    let f = fixture("latest");
    let mut b = tar::Builder::new(Vec::new());
    let mut g = tar::Header::new_ustar();
    g.set_entry_type(tar::EntryType::XGlobalHeader);
    let record = b"52 comment=0123456789012345678901234567890123456789\n";
    g.set_size(record.len() as u64);
    b.append_data(&mut g, "pax_global_header", &record[..])
        .unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_size(2);
    b.append_data(&mut h, "etc/motd", &b"hi"[..]).unwrap();
    let tar = b.into_inner().unwrap();
    layer_problem(
        &f,
        &gzip_bytes(&tar),
        &tar,
        "is a PAX global header (type 'g')",
    );

    let f = fixture("latest");
    let gz = gzip_fhcrc_named(&f.tar, "rootfs.tar");
    let tar = f.tar.clone();
    let r = layer_problem(
        &f,
        &gz,
        &tar,
        "consumers read this layer differently: gzip member 1",
    );
    assert_eq!(r.problems.len(), 1, "{}", r.text());

    // Zeros after the gzip data (tape-style padding): Go's reader fails.
    let f = fixture("latest");
    let mut gz = gzip_bytes(&f.tar);
    let end = gz.len();
    gz.extend([0u8; 1024]);
    let tar = f.tar.clone();
    layer_problem(
        &f,
        &gz,
        &tar,
        &format!("gzip data ends at byte {end}, followed by bytes that are not gzip"),
    );

    // Two archives one after the other (`cat a.tar b.tar`): the consumers
    // stop at the first end marker.
    let f = fixture("latest");
    let two = [&f.tar[..], &f.tar[..]].concat();
    layer_problem(
        &f,
        &gzip_bytes(&two),
        &two,
        "another tar archive follows the end-of-archive marker",
    );
}

// ---------------------------------------------------------------------------
// targets: DIR[:TAG], oci:DIR[:TAG], oci-archive FILE, oci-archive:FILE[:TAG]
// ---------------------------------------------------------------------------

/// `verify` and `inspect` read each form skopeo and podman users type; an
/// archive is read without leaving anything behind in `$TMPDIR`, and its
/// reports name the archive.
#[test]
fn verify_and_inspect_read_every_target_form() {
    let f = fixture("latest");
    let input = f.dir.join("rootfs-latest.tar");
    let input = input.to_str().unwrap();
    // -o oci-archive:FILE:TAG implies --format oci-archive.
    run(
        &f.dir,
        &[
            input,
            "-o",
            "oci-archive:img.tar:v1",
            "--created",
            "@0",
            "-q",
        ],
    )
    .succeeds();
    let tmp = f.dir.join("tmp");
    fs::create_dir(&tmp).unwrap();
    let env = [("TMPDIR", tmp.to_str().unwrap())];
    let cases = [
        (
            "img",
            "OK: img checked: 1 manifest, 0 image indexes, 3 blobs, 1 layer\n",
        ),
        (
            "img:latest",
            "OK: img:latest checked: 1 manifest, 0 image indexes, 3 blobs, 1 layer\n",
        ),
        (
            "oci:img",
            "OK: img checked: 1 manifest, 0 image indexes, 3 blobs, 1 layer\n",
        ),
        (
            "oci:img:latest",
            "OK: img:latest checked: 1 manifest, 0 image indexes, 3 blobs, 1 layer\n",
        ),
        (
            "img.tar",
            "OK: img.tar checked: 1 manifest, 0 image indexes, 3 blobs, 1 layer\n",
        ),
        (
            "img.tar:v1",
            "OK: img.tar:v1 checked: 1 manifest, 0 image indexes, 3 blobs, 1 layer\n",
        ),
        (
            "oci-archive:img.tar",
            "OK: img.tar checked: 1 manifest, 0 image indexes, 3 blobs, 1 layer\n",
        ),
        (
            "oci-archive:img.tar:v1",
            "OK: img.tar:v1 checked: 1 manifest, 0 image indexes, 3 blobs, 1 layer\n",
        ),
    ];
    let layout_json = run(&f.dir, &["inspect", "--json", "img"]).succeeds().out();
    let layout: Value = serde_json::from_str(&layout_json).unwrap();
    for (arg, want) in cases {
        let r = run_in(&f.dir, &["verify", arg], None, &env).succeeds();
        assert_eq!(r.out(), want, "verify {arg}");
        let r = run_in(&f.dir, &["inspect", "--json", arg], None, &env).succeeds();
        let v: Value = serde_json::from_str(&r.out()).unwrap();
        // The same input and --created: the same manifest, whichever form.
        assert_eq!(v[0]["manifest"], layout[0]["manifest"], "inspect {arg}");
        let tag = if arg.contains("tar") { "v1" } else { "latest" };
        assert_eq!(v[0]["tag"], tag, "inspect {arg}");
        assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0, "{arg} left a copy");
    }
    // A tag the archive does not hold is named with the archive, not the copy.
    run_in(&f.dir, &["inspect", "img.tar:nope"], None, &env)
        .refused("ociimport: error: img.tar/index.json: no manifest is tagged \"nope\" (tags: v1)");
    assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0);
}

/// Files that are not oci-archives are refused in one line naming them.
#[test]
fn targets_that_are_not_oci_archives_are_refused() {
    let f = fixture("latest");
    fs::write(f.dir.join("plain.tar"), &f.tar).unwrap();
    let fix = "give an OCI layout directory or an oci-archive file";
    for cmd in ["verify", "inspect"] {
        let r = run(&f.dir, &[cmd, "plain.tar"]).refused(&format!(
            "ociimport: error: plain.tar: not an oci-archive: its tar holds no index.json; {fix}"
        ));
        assert_eq!(r.err().lines().count(), 1, "{}", r.err());
    }
    let mut t = Tar::new();
    t.file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#, 0o644)
        .symlink("index.json", "/etc/passwd");
    fs::write(f.dir.join("link.tar"), t.finish()).unwrap();
    run(&f.dir, &["verify", "oci-archive:link.tar"]).refused(
        "ociimport: error: link.tar: entry index.json is not a regular file (Symlink); an oci-archive holds the layout's files themselves",
    );
    let mut t = Tar::new();
    t.file("index.json", b"{}", 0o644)
        .file("blobs/sha256/xyz", b"", 0o644);
    fs::write(f.dir.join("evil.tar"), t.finish()).unwrap();
    run(&f.dir, &["inspect", "evil.tar"]).refused(
        "ociimport: error: evil.tar: entry blobs/sha256/xyz is not a blob (blobs/ALGORITHM/HEX)",
    );
    run(&f.dir, &["verify", "oci-archive:missing.tar:v1"])
        .refused("ociimport: error: missing.tar: No such file or directory");
}

/// `-o oci:DIR:TAG` is a layout and a tag, as skopeo reads it; a second,
/// different tag is a usage error; `oci:` with `--format oci-archive` too.
#[test]
fn output_in_skopeo_form_names_a_layout_and_a_tag() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(dir.join("r.tar"), rootfs("x")).unwrap();
    run(dir, &["r.tar", "-o", "oci:./img:1.0", "-q"]).succeeds();
    run(dir, &["r.tar", "-o", "oci:img:1.0", "-t", "1.0", "-q"]).succeeds();
    run(dir, &["r.tar", "-o", "oci:img", "-q"]).succeeds();
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["img", "r.tar"]);
    let index = read_json(&dir.join("img/index.json"));
    let mut tags: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["annotations"][REF].as_str().unwrap())
        .collect();
    tags.sort();
    assert_eq!(tags, ["1.0", "latest"]);
    run(dir, &["r.tar", "-o", "oci:img:1.0", "-t", "2.0"])
        .usage_error("two tags: -t 2.0 and -o oci:img:1.0; give the tag once");
    run(dir, &["r.tar", "-o", "oci:img", "--format", "oci-archive"]).usage_error(
        "-o oci:img names a layout, but --format oci-archive writes an archive: give -o oci-archive:FILE or drop --format",
    );
    // oci-archive:FILE:TAG writes an archive holding that tag.
    run(dir, &["r.tar", "-o", "oci-archive:a.tar:2.0", "-q"]).succeeds();
    let r = run(dir, &["inspect", "--json", "a.tar"]).succeeds();
    let v: Value = serde_json::from_str(&r.out()).unwrap();
    assert_eq!(v[0]["tag"], "2.0");
}

/// skopeo's own oci-archive is read in every form.
#[test]
fn skopeo_oci_archive_is_read() {
    if !have("skopeo") {
        return;
    }
    let f = fixture("latest");
    run_ok(Command::new("skopeo").current_dir(&f.dir).args([
        "copy",
        "-q",
        "oci:img:latest",
        "oci-archive:s.tar:x",
    ]));
    for arg in ["s.tar", "s.tar:x", "oci-archive:s.tar:x"] {
        let r = run(&f.dir, &["verify", arg]).succeeds();
        let shown = arg.trim_start_matches("oci-archive:");
        assert_eq!(
            r.out(),
            format!("OK: {shown} checked: 1 manifest, 0 image indexes, 3 blobs, 1 layer\n")
        );
    }
    let r = run(&f.dir, &["inspect", "--json", "s.tar:x"]).succeeds();
    let v: Value = serde_json::from_str(&r.out()).unwrap();
    assert_eq!(v[0]["tag"], "x");
}

/// A small layer that decompresses to far more than it weighs (here 64 MiB
/// of zeros in a few KiB): with `--max-size`, verify fails on it and
/// inspect refuses it, each in one line naming the layer and the flag,
/// without decoding past the limit.
#[test]
fn max_size_stops_a_decompression_bomb() {
    let f = fixture("latest");
    let zeros = vec![0u8; 64 << 20];
    let bomb = gzip_level(&zeros, 1);
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    replace_layer(&f, &bomb, &zeros);
    let layer = sha256(&bomb);
    let layout = f.layout.to_str().unwrap();
    let why = "decompresses to more than --max-size 1048576 bytes (decoding stopped there); raise --max-size if the layer is genuine";
    let out = run(&f.dir, &["verify", layout, "--max-size", "1M"])
        .exits(1)
        .out();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(format!("tag latest: layer 1 ({layer}): {why}").as_str()),
        "{out}"
    );
    assert!(
        lines
            .get(1)
            .is_some_and(|l| l.starts_with("FAILED: 1 problem;")),
        "{out}"
    );
    let path = blob_path(&f.layout, &layer);
    run(&f.dir, &["inspect", layout, "--max-size", "1M"])
        .exits(1)
        .one_line()
        .says(&format!(
            "ociimport: error: {}: layer {layer} {why}",
            path.display()
        ));
    // Without the flag, as import: no limit, the whole stream is decoded
    // (to find it is no tar: zeros only).
    let out = run(&f.dir, &["verify", layout]).exits(1).out();
    assert_eq!(
        out.lines().next(),
        Some(format!("tag latest: layer 1 ({layer}): the decompressed stream is not a complete tar archive: the tar archive has no entries (at uncompressed byte 67108864)").as_str()),
        "{out}"
    );
}

/// `FILE` imported from the fixture's rootfs as an oci-archive tagged v1.
fn archive_of(f: &Fixture, file: &str) -> PathBuf {
    let input = f.dir.join("rootfs-latest.tar");
    let out = format!("oci-archive:{file}:v1");
    run(
        &f.dir,
        &[input.to_str().unwrap(), "-o", &out, "--created", "@0", "-q"],
    )
    .succeeds();
    f.dir.join(file)
}

/// Each regular file of a tar: name, where its data starts, its data.
fn tar_entries(bytes: &[u8]) -> Vec<(String, u64, Vec<u8>)> {
    let mut a = tar::Archive::new(bytes);
    a.entries()
        .unwrap()
        .map(Result::unwrap)
        .filter(|e| e.header().entry_type().is_file())
        .map(|mut e| {
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let pos = e.raw_file_position();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            (name, pos, data)
        })
        .collect()
}

/// An archive is read where it is: with `$TMPDIR` naming a directory that
/// does not exist (where the old temporary copy could not be made), verify
/// and inspect read it, and nothing appears in the directory around it.
#[test]
fn archives_are_read_in_place_without_tmpdir() {
    let f = fixture("latest");
    archive_of(&f, "img.tar");
    let before = snapshot(&f.dir);
    let nowhere = f.dir.join("no-such-dir");
    let env = [("TMPDIR", nowhere.to_str().unwrap())];
    let r = run_in(&f.dir, &["verify", "img.tar:v1"], None, &env).succeeds();
    assert_eq!(
        r.out(),
        "OK: img.tar:v1 checked: 1 manifest, 0 image indexes, 3 blobs, 1 layer\n"
    );
    let r = run_in(&f.dir, &["inspect", "--json", "img.tar"], None, &env).succeeds();
    let v: Value = serde_json::from_str(&r.out()).unwrap();
    assert_eq!(v[0]["tag"], "v1");
    assert_eq!(v[0]["layers"][0]["entries"], 6);
    assert!(!nowhere.exists());
    assert_eq!(snapshot(&f.dir), before);
}

/// A blob entry given twice is refused, in one line naming the archive and
/// the entry, by verify and inspect (the unit tests of `tarindex` give the
/// second copy as `./NAME`).
#[test]
fn archive_with_a_duplicated_blob_entry_is_refused() {
    let f = fixture("latest");
    let bytes = fs::read(archive_of(&f, "img.tar")).unwrap();
    let entries = tar_entries(&bytes);
    let (name, _, data) = entries
        .iter()
        .find(|(n, _, _)| n.starts_with("blobs/sha256/"))
        .unwrap();
    let mut t = Tar::new();
    for (n, _, d) in &entries {
        t.file(n, d, 0o644);
    }
    t.file(name, data, 0o644);
    fs::write(f.dir.join("dup.tar"), t.finish()).unwrap();
    for cmd in ["verify", "inspect"] {
        run(&f.dir, &[cmd, "dup.tar"])
            .refused(&format!(
                "ociimport: error: dup.tar: entry {name} appears twice, so readers may disagree on it; write the archive again with ociimport --format oci-archive or skopeo copy\n"
            ))
            .one_line();
    }
}

/// One byte of the layer changed inside the archive: verify reports the
/// layer with its digest and what the bytes hash to; inspect refuses it
/// naming the archive's entry.
#[test]
fn corrupt_blob_in_an_archive_is_reported_with_its_digest() {
    let f = fixture("latest");
    let path = archive_of(&f, "img.tar");
    let mut bytes = fs::read(&path).unwrap();
    let v: Value = serde_json::from_str(
        &run(&f.dir, &["inspect", "--json", "img.tar"])
            .succeeds()
            .out(),
    )
    .unwrap();
    let layer = v[0]["layers"][0]["digest"].as_str().unwrap().to_string();
    let hex = hex_of(&layer);
    let (_, pos, data) = tar_entries(&bytes)
        .into_iter()
        .find(|(n, _, _)| n.ends_with(hex))
        .unwrap();
    let mid = pos as usize + data.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(&path, &bytes).unwrap();
    let changed = &bytes[pos as usize..pos as usize + data.len()];
    let r = run(&f.dir, &["verify", "img.tar"]).exits(1);
    let line = format!(
        "tag v1: layer 1 ({layer}): blob content does not match its digest: blobs/sha256/{hex} hashes to {}",
        sha256(changed)
    );
    assert!(r.out().lines().any(|l| l == line), "{}", r.context());
    assert!(r.out().contains("FAILED: "), "{}", r.context());
    run(&f.dir, &["inspect", "img.tar"])
        .refused(&format!("ociimport: error: img.tar/blobs/sha256/{hex}: "))
        .one_line();
}

/// An archive is read in place, so it must be a seekable, uncompressed
/// file: a gzip-compressed archive and a FIFO are refused in one line that
/// says what to do, and the FIFO is not waited on.
#[test]
fn compressed_archives_and_fifos_are_refused() {
    let f = fixture("latest");
    let bytes = fs::read(archive_of(&f, "img.tar")).unwrap();
    fs::write(f.dir.join("img.tar.gz"), gzip_bytes(&bytes)).unwrap();
    for cmd in ["verify", "inspect"] {
        run(&f.dir, &[cmd, "img.tar.gz:v1"])
            .refused(
                "ociimport: error: img.tar.gz: is gzip-compressed; an oci-archive is read in place, so it must be an uncompressed tar: decompress it first (gzip -dc img.tar.gz > image.tar)\n",
            )
            .one_line();
    }
    let fifo = f.dir.join("fifo.tar");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) with a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    run(&f.dir, &["verify", "fifo.tar"])
        .refused(
            "ociimport: error: fifo.tar: is a FIFO, not a regular file; give an OCI layout directory or the oci-archive file itself (it is read in place, seeking: not through a link, not from a FIFO; save a stream to a file first)\n",
        )
        .one_line();
}
