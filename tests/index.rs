//! `--index`: one single-layer image per input, tagged as an OCI image
//! index by platform; adding, replacing and refusing platforms; `verify`,
//! `inspect` and `--format oci-archive` with indexes. The fixtures are tiny
//! rootfs tars whose only executables are fake but valid ELF headers for
//! amd64, arm64 and riscv64 (platform detection reads the headers alone).

use std::path::Path;

use crate::common::*;
use serde_json::Value;

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// The inputs: one rootfs per platform, and a second arm64 one.
fn fixtures() -> PlatformInputs {
    PlatformInputs::new(&[
        ("amd64.tar", EM_X86_64, "amd64.tar"),
        ("arm64.tar", EM_AARCH64, "arm64.tar"),
        ("riscv64.tar", EM_RISCV, "riscv64.tar"),
        ("arm64-new.tar", EM_AARCH64, "newer"),
    ])
}

/// An import with `--json --created @0`; its report.
trait Import {
    fn import(&self, args: &[&str]) -> Value;
}

impl Import for PlatformInputs {
    fn import(&self, args: &[&str]) -> Value {
        self.import_json(args).report()
    }
}

/// `ociimport verify` passes on the layout `dir` (relative to the fixtures).
fn verified(f: &PlatformInputs, dir: &str) {
    let text = f.run(&["verify", dir]).succeeds().out();
    assert!(text.starts_with("OK: "), "{text}");
}

/// The index blob `tag` names in `layout`'s index.json.
fn tagged_index(layout: &Path, tag: &str) -> Value {
    let idx = read_json(&layout.join("index.json"));
    let d = idx["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no {tag} in {idx}"))
        .clone();
    assert_eq!(d["mediaType"], OCI_INDEX, "{d}");
    serde_json::from_slice(&blob(layout, d["digest"].as_str().unwrap())).unwrap()
}

/// `os/arch[/variant]` -> manifest digest, in the index's order.
fn platforms(index: &Value) -> Vec<(String, String)> {
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let p = &m["platform"];
            let mut s = format!(
                "{}/{}",
                p["os"].as_str().unwrap(),
                p["architecture"].as_str().unwrap()
            );
            if let Some(v) = p["variant"].as_str() {
                s.push('/');
                s.push_str(v);
            }
            (s, m["digest"].as_str().unwrap().to_string())
        })
        .collect()
}

fn names(p: &[(String, String)]) -> Vec<&str> {
    p.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn three_platforms_in_one_run_make_one_sorted_index() {
    let f = fixtures();
    let r = f.import(&[
        "--index",
        "riscv64.tar",
        "amd64.tar",
        "arm64.tar",
        "-o",
        "L",
        "-t",
        "multi",
    ]);
    let layout = f.path("L");
    assert_eq!(r["tag"], "multi");
    assert_eq!(
        r["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64/v8", "linux/riscv64"])
    );
    // images: one per input, in input order, each a single-image report.
    let archs: Vec<&str> = r["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(archs, ["riscv64", "amd64", "arm64"]);
    assert_eq!(r["images"][2]["platform"]["variant"], "v8");
    assert_eq!(r["images"][0]["layers"].as_array().unwrap().len(), 1);
    // index.json: one descriptor, the index, named multi.
    let idx = read_json(&layout.join("index.json"));
    assert_eq!(idx["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(idx["manifests"][0]["digest"], r["index"]["digest"]);
    let index = tagged_index(&layout, "multi");
    assert_eq!(index["mediaType"], OCI_INDEX);
    assert_eq!(index["schemaVersion"], 2);
    let p = platforms(&index);
    assert_eq!(
        names(&p),
        ["linux/amd64", "linux/arm64/v8", "linux/riscv64"]
    );
    assert_eq!(
        p[0].1,
        r["images"][1]["manifest"]["digest"].as_str().unwrap()
    );
    for m in index["manifests"].as_array().unwrap() {
        assert_eq!(m["mediaType"], OCI_MANIFEST);
    }
    // Each config names its platform.
    let cfg: Value = serde_json::from_slice(&blob(
        &layout,
        r["images"][2]["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    assert_eq!(cfg["architecture"], "arm64");
    assert_eq!(cfg["variant"], "v8");
    verified(&f, "L");

    // The same inputs in another order give the same index, byte for byte.
    let again = f.import(&[
        "--index",
        "arm64.tar",
        "amd64.tar",
        "riscv64.tar",
        "-o",
        "L2",
        "-t",
        "multi",
    ]);
    assert_eq!(again["index"], r["index"]);
}

#[test]
fn later_runs_add_and_replace_platforms_and_keep_the_others() {
    let f = fixtures();
    let layout = f.path("L");
    let first = f.import(&[
        "--index",
        "amd64.tar",
        "arm64.tar",
        "-o",
        "L",
        "-t",
        "multi",
    ]);
    let before = platforms(&tagged_index(&layout, "multi"));
    // Another tag in the same layout is never touched.
    f.import(&["amd64.tar", "-o", "L", "-t", "other"]);
    // Add riscv64.
    let added = f.import(&["--index", "riscv64.tar", "-o", "L", "-t", "multi"]);
    assert_eq!(
        added["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64/v8", "linux/riscv64"])
    );
    let after_add = platforms(&tagged_index(&layout, "multi"));
    assert_eq!(after_add[0], before[0]);
    assert_eq!(after_add[1], before[1]);
    // Replace arm64 with a new image; amd64 and riscv64 stay as they were.
    let replaced = f.import(&["--index", "arm64-new.tar", "-o", "L", "-t", "multi"]);
    let after_replace = platforms(&tagged_index(&layout, "multi"));
    assert_eq!(
        names(&after_replace),
        ["linux/amd64", "linux/arm64/v8", "linux/riscv64"]
    );
    assert_eq!(after_replace[0], after_add[0]);
    assert_eq!(after_replace[2], after_add[2]);
    assert_ne!(after_replace[1].1, after_add[1].1);
    assert_eq!(
        after_replace[1].1,
        replaced["images"][0]["manifest"]["digest"]
            .as_str()
            .unwrap()
    );
    assert_ne!(first["index"], replaced["index"]);
    // Two tags, no duplicates: the index entry was replaced, not added.
    let idx = read_json(&layout.join("index.json"));
    assert_eq!(idx["manifests"].as_array().unwrap().len(), 2);
    verified(&f, "L");
}

#[test]
fn a_single_image_under_the_tag_joins_the_index() {
    let f = fixtures();
    let layout = f.path("L");
    let single = f.import(&["arm64.tar", "-o", "L", "-t", "t"]);
    f.import(&["--index", "amd64.tar", "riscv64.tar", "-o", "L", "-t", "t"]);
    let p = platforms(&tagged_index(&layout, "t"));
    assert_eq!(
        names(&p),
        ["linux/amd64", "linux/arm64/v8", "linux/riscv64"]
    );
    assert_eq!(p[1].1, single["manifest"]["digest"].as_str().unwrap());
    // A single image whose descriptor has no platform: read from its config.
    let idx_path = layout.join("index.json");
    f.import(&["riscv64.tar", "-o", "L", "-t", "bare"]);
    let mut idx = read_json(&idx_path);
    for d in idx["manifests"].as_array_mut().unwrap() {
        if d["annotations"]["org.opencontainers.image.ref.name"] == "bare" {
            d.as_object_mut().unwrap().remove("platform");
        }
    }
    std::fs::write(&idx_path, serde_json::to_vec(&idx).unwrap()).unwrap();
    f.import(&["--index", "amd64.tar", "-o", "L", "-t", "bare"]);
    let p = platforms(&tagged_index(&layout, "bare"));
    assert_eq!(names(&p), ["linux/amd64", "linux/riscv64"]);
}

#[test]
fn two_inputs_of_one_platform_are_refused_before_anything_is_written() {
    let f = fixtures();
    // A new layout: not even created.
    let out = f
        .run(&[
            "--index",
            "arm64.tar",
            "amd64.tar",
            "arm64-new.tar",
            "-o",
            "N",
            "-t",
            "t",
        ])
        .exits(2);
    let err = stderr(&out);
    assert!(
        err.contains("arm64.tar and arm64-new.tar are both linux/arm64/v8"),
        "{err}"
    );
    assert!(!f.path("N").exists());
    // An existing layout: byte for byte as it was, no temp file left.
    f.import(&["--index", "amd64.tar", "-o", "L", "-t", "t"]);
    let before = snapshot(&f.path("L"));
    f.run(&[
        "--index",
        "arm64.tar",
        "arm64-new.tar",
        "-o",
        "L",
        "-t",
        "t",
    ])
    .exits(2);
    assert_eq!(snapshot(&f.path("L")), before);
    // --arch names one platform, so it needs one input.
    f.run(&[
        "--index",
        "--arch",
        "arm64",
        "amd64.tar",
        "riscv64.tar",
        "-o",
        "L",
    ])
    .usage_error("--arch and --variant apply to a single input");
    assert_eq!(snapshot(&f.path("L")), before);
}

#[test]
fn arch_and_variant_set_the_platform_of_a_single_input() {
    let f = fixtures();
    let r = f.import(&[
        "--index",
        "--arch",
        "arm",
        "--variant",
        "v7",
        "amd64.tar",
        "-o",
        "L",
        "-t",
        "t",
    ]);
    assert_eq!(r["platforms"], serde_json::json!(["linux/arm/v7"]));
}

#[test]
fn verify_and_inspect_show_the_index_by_platform() {
    let f = fixtures();
    let r = f.import(&[
        "--index",
        "amd64.tar",
        "arm64.tar",
        "riscv64.tar",
        "-o",
        "L",
        "-t",
        "multi",
    ]);
    let index = r["index"]["digest"].as_str().unwrap();
    let text = f.run(&["verify", "L:multi"]).succeeds().out();
    assert!(
        text.contains(&format!("tag multi: image index {index}\n")),
        "{text}"
    );
    for (i, p) in ["linux/amd64", "linux/arm64/v8", "linux/riscv64"]
        .iter()
        .enumerate()
    {
        let digest = r["images"][i]["manifest"]["digest"].as_str().unwrap();
        assert!(text.contains(&format!("  {p:<16} {digest}\n")), "{text}");
    }
    let v: Value = serde_json::from_slice(&f.run(&["verify", "--json", "L"]).stdout).unwrap();
    assert_eq!(v["indexes"], 1);
    assert_eq!(
        v["image_indexes"][0]["manifests"][1]["platform"],
        "linux/arm64/v8"
    );

    let out = f.run(&["inspect", "--json", "L:multi"]);
    let images: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<(&str, &str)> = images
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["index"]["digest"], index);
            (
                i["platform"]["architecture"].as_str().unwrap(),
                i["manifest"]["digest"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[1],
        (
            "arm64",
            r["images"][1]["manifest"]["digest"].as_str().unwrap()
        )
    );
    let text = String::from_utf8_lossy(&f.run(&["inspect", "L:multi"]).stdout).into_owned();
    assert!(text.contains(&format!("index:     {index}")), "{text}");
    assert!(text.contains("platform:  linux/arm64/v8"), "{text}");
    assert!(text.contains("platform:  linux/riscv64"), "{text}");
}

#[test]
fn index_into_an_oci_archive() {
    let f = fixtures();
    let r = f.import(&[
        "--index",
        "--format",
        "oci-archive",
        "amd64.tar",
        "arm64.tar",
        "-o",
        "multi.oci.tar",
        "-t",
        "m",
    ]);
    assert_eq!(r["format"], "oci-archive");
    assert_eq!(r["layout"], "multi.oci.tar");
    assert_eq!(r["images"][0]["format"], "oci-archive");
    let mut a = tar::Archive::new(std::fs::File::open(f.path("multi.oci.tar")).unwrap());
    let dir = f.path("unpacked");
    a.unpack(&dir).unwrap();
    let p = platforms(&tagged_index(&dir, "m"));
    assert_eq!(names(&p), ["linux/amd64", "linux/arm64/v8"]);
    assert_eq!(
        read_json(&dir.join("index.json"))["manifests"][0]["digest"],
        r["index"]["digest"]
    );
    verified(&f, "unpacked");
}

/// Docker official-images' `oci-import` takes a layout with one manifest:
/// without `--index` every layout written is exactly that.
#[test]
fn without_index_a_layout_has_one_image_manifest() {
    let f = fixtures();
    let r = f.import(&["arm64.tar", "-o", "L", "-t", "latest"]);
    let idx = read_json(&f.path("L").join("index.json"));
    let m = idx["manifests"].as_array().unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["mediaType"], OCI_MANIFEST);
    assert_eq!(m[0]["digest"], r["manifest"]["digest"]);
    assert_eq!(m[0]["platform"]["architecture"], "arm64");
    assert!(r.get("images").is_none() && r.get("index").is_none());
}

/// The index is merged under the layout lock from what the tag names at
/// that moment: concurrent runs adding different platforms lose none.
#[test]
fn concurrent_runs_adding_platforms_keep_every_platform() {
    let f = fixtures();
    // The layout exists first, so no run races to create it.
    f.import(&["amd64.tar", "-o", "L", "-t", "other"]);
    for round in 0..3 {
        let tag = format!("multi{round}");
        let imports = ["amd64.tar", "arm64.tar", "riscv64.tar"]
            .iter()
            .map(|input| ociimport_in(f.dir(), ["--index", "-q", "-o", "L", "-t", &tag, input]))
            .collect();
        for run in run_together(imports) {
            run.succeeds();
        }
        let p = platforms(&tagged_index(&f.path("L"), &tag));
        assert_eq!(
            names(&p),
            ["linux/amd64", "linux/arm64/v8", "linux/riscv64"],
            "round {round}"
        );
    }
    verified(&f, "L");
}

/// A tag whose index cannot be read is refused before any blob moves,
/// naming the file, and the layout stays as it was.
#[test]
fn an_unreadable_index_under_the_tag_is_refused_with_nothing_published() {
    let f = fixtures();
    let r = f.import(&["--index", "amd64.tar", "-o", "L", "-t", "t"]);
    let digest = r["index"]["digest"].as_str().unwrap();
    let path = f
        .path("L")
        .join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").unwrap());
    std::fs::write(&path, b"{\"changed\":true}").unwrap();
    let before = snapshot(&f.path("L"));
    let out = f
        .run(&["--index", "arm64.tar", "-o", "L", "-t", "t"])
        .exits(1);
    let err = stderr(&out);
    let named = format!("L/blobs/sha256/{}", digest.strip_prefix("sha256:").unwrap());
    assert!(err.contains(&named), "{err}");
    let found = sha256(b"{\"changed\":true}");
    assert!(
        err.contains(&format!(
            "content does not match its digest: expected {digest}, found {found}"
        )),
        "{err}"
    );
    assert_eq!(snapshot(&f.path("L")), before);
}

/// An index under the tag with an entry whose manifest is gone: a new
/// platform is refused (the new index would carry the dangling entry over,
/// which verify rejects), and nothing changes.
#[test]
fn an_index_with_a_dangling_entry_is_not_carried_over() {
    let f = fixtures();
    let r = f.import(&["--index", "amd64.tar", "arm64.tar", "-o", "L", "-t", "t"]);
    let amd64 = r["images"][0]["manifest"]["digest"].as_str().unwrap();
    std::fs::remove_file(blob_path(&f.path("L"), amd64)).unwrap();
    let before = snapshot(&f.path("L"));
    let out = f
        .run(&["--index", "riscv64.tar", "-o", "L", "-t", "t"])
        .refused(&format!(
            "the image index the tag names lists \"{amd64}\", which is not in the layout; run ociimport verify on the layout, or use another --tag"
        ));
    assert_eq!(out.err().lines().count(), 1, "{}", out.err());
    assert_eq!(snapshot(&f.path("L")), before);
    // Replacing the platform whose entry dangles is fine: the entry goes.
    f.import(&["--index", "amd64.tar", "-o", "L", "-t", "t"]);
    verified(&f, "L");
}
