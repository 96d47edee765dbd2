//! `--sbom` and `--provenance` (issue 20): attestation manifests as
//! Docker's attestation storage describes them, SLSA v1 provenance, the
//! same bytes on every run, and `verify`/`inspect` reading them back.
//! The consumers (podman, skopeo to a registry, umoci, docker, ctr) are in
//! `interop.rs` and `docker.rs`.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::*;

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const IN_TOTO: &str = "application/vnd.in-toto+json";
const PREDICATE: &str = "in-toto.io/predicate-type";
const SPDX: &str = "https://spdx.dev/Document";
const SLSA: &str = "https://slsa.dev/provenance/v1";
const REF_TYPE: &str = "vnd.docker.reference.type";
const REF_DIGEST: &str = "vnd.docker.reference.digest";

fn fixtures() -> PlatformInputs {
    PlatformInputs::new(&[
        ("amd64.tar", EM_X86_64, "amd64"),
        ("arm64.tar", EM_AARCH64, "arm64"),
    ])
}

/// The one `index.json` entry tagged `tag`.
fn tagged(layout: &Path, tag: &str) -> Value {
    let idx = read_json(&layout.join("index.json"));
    idx["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no {tag} in {idx}"))
        .clone()
}

fn json_blob(layout: &Path, digest: &str) -> Value {
    serde_json::from_slice(&blob(layout, digest)).unwrap()
}

/// Writes `v` as a blob; its descriptor fields (digest, size).
fn put(layout: &Path, v: &Value) -> (String, u64) {
    let bytes = serde_json::to_vec(v).unwrap();
    let digest = sha256(&bytes);
    std::fs::write(blob_path(layout, &digest), &bytes).unwrap();
    (digest, bytes.len() as u64)
}

/// Without either flag nothing changes: the tag names the image manifest,
/// and it is the same manifest the flags attest (the image is untouched).
#[test]
fn without_the_flags_the_tag_names_the_image_manifest_as_before() {
    let f = fixtures();
    let plain = f
        .import_json(&["amd64.tar", "-o", "plain", "-t", "1"])
        .report();
    let d = tagged(&f.path("plain"), "1");
    assert_eq!(d["mediaType"], OCI_MANIFEST);
    assert_eq!(d["digest"], plain["manifest"]["digest"]);
    assert!(plain.get("attestation").is_none(), "{plain}");
    assert!(plain.get("index").is_none(), "{plain}");
    let attested = f
        .import_json(&[
            "amd64.tar",
            "-o",
            "att",
            "-t",
            "1",
            "--sbom",
            "--provenance",
        ])
        .report();
    assert_eq!(attested["manifest"], plain["manifest"]);
    assert_eq!(attested["config"], plain["config"]);
}

/// The shape Docker's attestation storage gives: the tag names an index of
/// the image (with its platform) and an attestation manifest (unknown/unknown,
/// reference annotations) whose layers are in-toto statements about the image.
#[test]
fn sbom_and_provenance_are_stored_as_docker_attestations() {
    let f = fixtures();
    let r = f
        .import_json(&["amd64.tar", "-o", "L", "-t", "1", "--sbom", "--provenance"])
        .report();
    let layout = f.path("L");
    let manifest = r["manifest"]["digest"].as_str().unwrap();
    let attestation = r["attestation"]["digest"].as_str().unwrap();
    let d = tagged(&layout, "1");
    assert_eq!(d["mediaType"], OCI_INDEX);
    assert_eq!(d["digest"], r["index"]["digest"]);
    assert_eq!(
        d["annotations"]["io.containerd.image.name"],
        "docker.io/library/amd64:1"
    );
    let index = json_blob(&layout, d["digest"].as_str().unwrap());
    assert_eq!(
        index["manifests"],
        json!([
            {"mediaType": OCI_MANIFEST, "digest": manifest, "size": r["manifest"]["size"],
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": OCI_MANIFEST, "digest": attestation, "size": r["attestation"]["size"],
             "platform": {"architecture": "unknown", "os": "unknown"},
             "annotations": {REF_TYPE: "attestation-manifest", REF_DIGEST: manifest}},
        ])
    );
    let m = json_blob(&layout, attestation);
    let layers = m["layers"].as_array().unwrap();
    let kinds: Vec<&str> = layers
        .iter()
        .map(|l| {
            assert_eq!(l["mediaType"], IN_TOTO);
            l["annotations"][PREDICATE].as_str().unwrap()
        })
        .collect();
    assert_eq!(kinds, [SPDX, SLSA]);
    let config = json_blob(&layout, m["config"]["digest"].as_str().unwrap());
    assert_eq!(config["os"], "unknown");
    assert_eq!(config["architecture"], "unknown");
    for l in layers {
        let s = json_blob(&layout, l["digest"].as_str().unwrap());
        assert_eq!(s["_type"], "https://in-toto.io/Statement/v1");
        assert_eq!(s["predicateType"], l["annotations"][PREDICATE]);
        assert_eq!(
            s["subject"],
            json!([{"name": "pkg:docker/library/amd64@1?platform=linux%2Famd64",
                    "digest": {"sha256": hex_of(manifest)}}])
        );
    }
    let sbom = json_blob(&layout, layers[0]["digest"].as_str().unwrap());
    assert_eq!(sbom["predicate"]["spdxVersion"], "SPDX-2.3");
    assert_eq!(
        sbom["predicate"]["creationInfo"]["created"],
        "1970-01-01T00:00:00Z"
    );
    let prov = json_blob(&layout, layers[1]["digest"].as_str().unwrap())["predicate"].clone();
    let input = sha256(&std::fs::read(f.path("amd64.tar")).unwrap());
    assert_eq!(
        prov,
        json!({
            "buildDefinition": {
                "buildType": "https://ociimport.github.io/buildtypes/import/v1",
                "externalParameters": {
                    "compression": "auto", "created": "1970-01-01T00:00:00Z",
                    "inputs": ["amd64.tar"], "provenance": true, "sbom": true,
                    "repository": "docker.io/library/amd64", "tag": "1",
                },
                "resolvedDependencies": [{"name": "amd64.tar", "digest": {"sha256": hex_of(&input)}}],
            },
            "runDetails": {"builder": {
                "id": format!("pkg:cargo/ociimport@{}", env!("CARGO_PKG_VERSION")),
                "version": {"ociimport": env!("CARGO_PKG_VERSION")},
            }},
        })
    );
    let text = f.run(&["verify", "L"]).succeeds().out();
    assert!(
        text.starts_with("OK: L checked: 2 manifests, 1 image index, 8 blobs, 1 layer"),
        "{text}"
    );
}

/// `--provenance` alone: one statement, the provenance; the flags are recorded.
#[test]
fn provenance_alone_records_the_flags_that_shape_the_image() {
    let f = fixtures();
    let r = f
        .import_json(&[
            "amd64.tar",
            "-o",
            "L",
            "-t",
            "x/y:2",
            "--provenance",
            "--label",
            "a=b",
            "--compression",
            "zstd",
            "--normalize",
            "--threads",
            "1",
        ])
        .report();
    let layout = f.path("L");
    let m = json_blob(&layout, r["attestation"]["digest"].as_str().unwrap());
    assert_eq!(m["layers"].as_array().unwrap().len(), 1);
    assert_eq!(m["layers"][0]["annotations"][PREDICATE], SLSA);
    let s = json_blob(&layout, m["layers"][0]["digest"].as_str().unwrap());
    assert_eq!(
        s["predicate"]["buildDefinition"]["externalParameters"],
        json!({"compression": "zstd", "created": "1970-01-01T00:00:00Z", "inputs": ["amd64.tar"],
               "labels": {"a": "b"}, "normalize": true, "provenance": true,
               "repository": "docker.io/x/y", "tag": "2"})
    );
}

/// The same input and flags give the same bytes, attestations included,
/// whatever the directory or thread count.
#[test]
fn attestations_are_reproducible() {
    let f = fixtures();
    let args = |out: &'static str, threads: &'static str| {
        vec![
            "amd64.tar",
            "-o",
            out,
            "-t",
            "1",
            "--sbom",
            "--provenance",
            "--threads",
            threads,
        ]
    };
    f.import_json(&args("one", "1"));
    std::fs::create_dir(f.path("sub")).unwrap();
    std::fs::copy(f.path("amd64.tar"), f.path("sub/amd64.tar")).unwrap();
    let mut a = args("../two", "2");
    a[0] = "amd64.tar";
    run(
        &f.path("sub"),
        &[&["--created", "@0", "-q"], a.as_slice()].concat(),
    )
    .succeeds();
    let one = snapshot(&f.path("one"));
    assert!(one.len() > 10, "{one:?}");
    assert_eq!(one, snapshot(&f.path("two")));
}

/// `--index`: one attestation manifest per platform image, after the
/// images; a later run that replaces a platform drops that image's
/// attestation and keeps the other's.
#[test]
fn an_index_has_one_attestation_manifest_per_platform() {
    let f = fixtures();
    let r = f
        .import_json(&[
            "--index",
            "arm64.tar",
            "amd64.tar",
            "-o",
            "L",
            "-t",
            "m",
            "--sbom",
        ])
        .report();
    assert_eq!(r["platforms"], json!(["linux/amd64", "linux/arm64/v8"]));
    let layout = f.path("L");
    let index = json_blob(&layout, r["index"]["digest"].as_str().unwrap());
    let entries = index["manifests"].as_array().unwrap();
    let images: Vec<&Value> = r["images"].as_array().unwrap().iter().collect();
    let (arm, amd) = (images[0], images[1]);
    let summary: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            let about = e["annotations"][REF_DIGEST]
                .as_str()
                .unwrap_or("-")
                .to_string();
            (e["digest"].as_str().unwrap().to_string(), about)
        })
        .collect();
    let s = |v: &Value| v.as_str().unwrap().to_string();
    assert_eq!(
        summary,
        [
            (s(&amd["manifest"]["digest"]), "-".into()),
            (s(&arm["manifest"]["digest"]), "-".into()),
            (
                s(&amd["attestation"]["digest"]),
                s(&amd["manifest"]["digest"])
            ),
            (
                s(&arm["attestation"]["digest"]),
                s(&arm["manifest"]["digest"])
            ),
        ]
    );
    f.run(&["verify", "L"]).succeeds();
    // arm64 again, without attestations: its old attestation goes with it.
    let again = f
        .import_json(&[
            "--index",
            "arm64.tar",
            "-o",
            "L",
            "-t",
            "m",
            "--label",
            "v=2",
        ])
        .report();
    let index = json_blob(&layout, again["index"]["digest"].as_str().unwrap());
    let attestations: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["annotations"][REF_TYPE] == "attestation-manifest")
        .map(|e| e["annotations"][REF_DIGEST].as_str().unwrap())
        .collect();
    assert_eq!(attestations, [amd["manifest"]["digest"].as_str().unwrap()]);
    f.run(&["verify", "L"]).succeeds();
}

/// `inspect` lists the attestations of each image and `--packages` prints
/// the SBOM's packages (none in these rootfs, which have no database).
#[test]
fn inspect_lists_attestations_and_packages() {
    let f = fixtures();
    let r = f
        .import_json(&["amd64.tar", "-o", "L", "-t", "1", "--sbom", "--provenance"])
        .report();
    let text = f.run(&["inspect", "L:1"]).succeeds().out();
    let line = format!(
        "attestation: {} ({SPDX}, {SLSA})\n",
        r["attestation"]["digest"].as_str().unwrap()
    );
    assert!(text.contains(&line), "{text}");
    assert_eq!(
        text.matches("tag:       1\n").count(),
        1,
        "only the image: {text}"
    );
    let v = f.run(&["inspect", "L:1", "--json"]).succeeds().json();
    assert_eq!(v[0]["attestations"][0]["manifest"], r["attestation"]);
    assert_eq!(
        v[0]["attestations"][0]["statements"][1]["predicate_type"],
        SLSA
    );
    let packages = f.run(&["inspect", "L:1", "--packages"]).succeeds().out();
    let m = json_blob(&f.path("L"), r["attestation"]["digest"].as_str().unwrap());
    assert_eq!(
        packages,
        format!(
            "# 1 linux/amd64 {}: 0 package(s), SBOM {}\n",
            r["manifest"]["digest"].as_str().unwrap(),
            m["layers"][0]["digest"].as_str().unwrap()
        )
    );
    let v = f
        .run(&["inspect", "L:1", "--packages", "--json"])
        .succeeds()
        .json();
    assert_eq!(
        v,
        json!([{"tag": "1", "manifest": r["manifest"]["digest"],
                "platform": {"os": "linux", "architecture": "amd64"},
                "sbom": m["layers"][0]["digest"], "packages": []}])
    );
    f.import_json(&["amd64.tar", "-o", "L", "-t", "plain"]);
    let none = f
        .run(&["inspect", "L:plain", "--packages"])
        .succeeds()
        .out();
    assert_eq!(
        none,
        format!(
            "# plain linux/amd64 {}: no SBOM attestation (import with --sbom)\n",
            r["manifest"]["digest"].as_str().unwrap()
        )
    );
}

/// Rewrites the attestation entry of the index tagged `1` in `layout`:
/// `edit` changes the attestation manifest and the index entry.
fn tamper(layout: &Path, edit: impl Fn(&mut Value, &mut Value)) {
    let top = tagged(layout, "1");
    let mut index = json_blob(layout, top["digest"].as_str().unwrap());
    let mut entry = index["manifests"][1].clone();
    let mut m = json_blob(layout, entry["digest"].as_str().unwrap());
    edit(&mut m, &mut entry);
    let (d, size) = put(layout, &m);
    entry["digest"] = json!(d);
    entry["size"] = json!(size);
    index["manifests"][1] = entry;
    let (d, size) = put(layout, &index);
    let mut idx = read_json(&layout.join("index.json"));
    for e in idx["manifests"].as_array_mut().unwrap() {
        if e["annotations"]["org.opencontainers.image.ref.name"] == "1" {
            e["digest"] = json!(d);
            e["size"] = json!(size);
        }
    }
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
}

/// verify refuses an attestation whose statement is not of the type its
/// layer says, or that is about an image the index does not list.
#[test]
fn verify_checks_attestation_manifests() {
    let f = fixtures();
    let r = f
        .import_json(&["amd64.tar", "-o", "L", "-t", "1", "--sbom"])
        .report();
    let layout = f.path("L");
    let statement =
        json_blob(&layout, r["attestation"]["digest"].as_str().unwrap())["layers"][0]["digest"]
            .as_str()
            .unwrap()
            .to_string();
    tamper(&layout, |m, _| {
        m["layers"][0]["annotations"][PREDICATE] = json!("https://example.org/other");
    });
    let out = f.run(&["verify", "L"]).exits(1).out();
    let want = format!(
        "statement 1: {statement}: predicateType is \"{SPDX}\", but the layer's {PREDICATE} annotation says \"https://example.org/other\""
    );
    assert!(out.contains(&want), "{out}");
    assert!(
        out.contains("tag 1, manifests[1] (unknown/unknown): attestations"),
        "{out}"
    );

    let g = fixtures();
    g.import_json(&["amd64.tar", "-o", "L", "-t", "1", "--sbom"]);
    let config = r["config"]["digest"].as_str().unwrap().to_string();
    tamper(&g.path("L"), |_, e| {
        e["annotations"][REF_DIGEST] = json!(config)
    });
    let out = g.run(&["verify", "L"]).exits(1).out();
    for want in [
        format!("an attestation manifest about {config}, which this index does not list"),
        format!(
            "statement 1: {statement}: its subject does not name {config}, the image the index says it is about"
        ),
    ] {
        assert!(out.contains(&want), "{want}\n{out}");
    }
    let absent = format!("sha256:{}", "0".repeat(64));
    tamper(&g.path("L"), |_, e| {
        e["annotations"][REF_DIGEST] = json!(absent)
    });
    let out = g.run(&["verify", "L"]).exits(1).out();
    let want = format!("an attestation manifest about {absent}, which is not in the layout");
    assert!(out.contains(&want), "{out}");
}

/// The scan wired end to end: a dpkg database in the rootfs becomes the
/// SBOM's packages, which `inspect --packages` prints, and an SBOM of the
/// same rootfs twice is the same bytes.
#[test]
fn a_dpkg_database_reaches_the_sbom_and_inspect_packages() {
    let f = fixtures();
    let status = "Package: hello\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:2.10-3\nMaintainer: Jane <jane@example.org>\n\n";
    let os = "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
    let mut t = Tar::with_parents();
    t.file("bin/sh", &elf64_exec(EM_X86_64), 0o755)
        .file("etc/os-release", os.as_bytes(), 0o644)
        .file("var/lib/dpkg/status", status.as_bytes(), 0o644);
    std::fs::write(f.path("deb.tar"), t.finish()).unwrap();
    let r = f
        .import_json(&["deb.tar", "-o", "L", "-t", "1", "--sbom"])
        .report();
    let out = f.run(&["inspect", "L:1", "--packages"]).succeeds().out();
    let lines: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(
        lines,
        ["hello\t1:2.10-3\tpkg:deb/debian/hello@1:2.10-3?arch=amd64&distro=debian-12"],
        "{out}"
    );
    let again = f
        .import_json(&["deb.tar", "-o", "L2", "-t", "1", "--sbom"])
        .report();
    assert_eq!(again["attestation"], r["attestation"]);
}
