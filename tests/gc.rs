//! Re-tagging and `ociimport gc`: the summary names the manifest a tag
//! moved from; gc removes exactly the blobs no index.json entry reaches
//! (listing them and the bytes freed), keeps everything a tag reaches
//! (an image index of two platforms included), leaves a layout that
//! `verify` and skopeo accept; `--dry-run` removes nothing; `verify`
//! notes the unreferenced blobs without failing.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::common::*;
use serde_json::Value;

/// The inputs: two amd64 rootfs (an image and its successor) and an
/// amd64/arm64 pair for an index.
fn fixtures() -> PlatformInputs {
    PlatformInputs::new(&[
        ("old.tar", EM_X86_64, "old.tar"),
        ("new.tar", EM_X86_64, "new.tar"),
        ("amd64.tar", EM_X86_64, "amd64.tar"),
        ("arm64.tar", EM_AARCH64, "arm64.tar"),
    ])
}

/// An import with `--json --created @0`; its stderr and report.
trait Import {
    fn import(&self, args: &[&str]) -> (String, Value);
}

impl Import for PlatformInputs {
    fn import(&self, args: &[&str]) -> (String, Value) {
        let r = self.import_json(args);
        (r.err(), r.report())
    }
}

/// The digests of an image report's manifest, config and layers.
fn image_blobs(r: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    out.insert(r["manifest"]["digest"].as_str().unwrap().to_string());
    out.insert(r["config"]["digest"].as_str().unwrap().to_string());
    for l in r["layers"].as_array().unwrap() {
        out.insert(l["digest"].as_str().unwrap().to_string());
    }
    out
}

/// Every blob file of `layout`, by digest.
fn blob_files(layout: &Path) -> BTreeSet<String> {
    std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .map(|e| format!("sha256:{}", e.unwrap().file_name().to_string_lossy()))
        .collect()
}

fn size_of(layout: &Path, digest: &str) -> u64 {
    std::fs::metadata(blob_path(layout, digest)).unwrap().len()
}

#[test]
fn retag_names_the_manifest_the_tag_moved_from() {
    let f = fixtures();
    let (err, first) = f.import(&["old.tar", "-o", "L"]);
    assert!(!err.contains("retagged"), "{err}");
    assert!(first.get("retagged_from").is_none(), "{first}");
    // The same image again: the tag does not move.
    let (err, _) = f.import(&["old.tar", "-o", "L"]);
    assert!(!err.contains("retagged"), "{err}");
    let (err, second) = f.import(&["new.tar", "-o", "L"]);
    let old = first["manifest"]["digest"].as_str().unwrap();
    let line = format!(
        "\n  retagged  latest moved from {old} (still in blobs/; ociimport gc L removes it when nothing else names it)\n"
    );
    assert!(err.contains(&line), "{err}");
    assert_eq!(second["retagged_from"], old);
    // An index moved by an --index import names the index it replaced.
    let (_, idx) = f.import(&["--index", "amd64.tar", "-o", "L", "-t", "multi"]);
    let (err, _) = f.import(&["--index", "arm64.tar", "-o", "L", "-t", "multi"]);
    let old = idx["index"]["digest"].as_str().unwrap();
    assert!(
        err.contains(&format!(
            "  retagged  multi moved from {old} (still in blobs/;"
        )),
        "{err}"
    );
}

#[test]
fn gc_removes_exactly_what_no_tag_reaches() {
    let f = fixtures();
    let layout = f.path("L");
    let (_, old) = f.import(&["old.tar", "-o", "L"]);
    let (_, multi) = f.import(&[
        "--index",
        "amd64.tar",
        "arm64.tar",
        "-o",
        "L",
        "-t",
        "multi",
    ]);
    assert_eq!(multi["platforms"].as_array().unwrap().len(), 2);
    f.import(&["new.tar", "-o", "L"]);
    // A stray blob nothing names, as a killed writer might leave.
    let stray = b"stray bytes".to_vec();
    std::fs::write(blob_path(&layout, &sha256(&stray)), &stray).unwrap();
    let mut want = image_blobs(&old);
    want.insert(sha256(&stray));
    let before = blob_files(&layout);
    let freed: u64 = want.iter().map(|d| size_of(&layout, d)).sum();

    // verify: a note, not a problem.
    let text = f.run(&["verify", "L"]).succeeds().out();
    assert!(text.starts_with("OK: "), "{text}");
    let mut note =
        "note: 4 blobs that no index.json entry reaches (ociimport gc L removes them):\n"
            .to_string();
    for d in &want {
        note.push_str(&format!("  {d} ({} B)\n", size_of(&layout, d)));
    }
    assert!(text.ends_with(&note), "{text}");
    let v = f.run(&["verify", "--json", "L"]).succeeds().json();
    let listed: BTreeSet<String> = v["unreferenced"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["digest"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, want);

    // --dry-run lists, removes nothing.
    let snap = snapshot(&layout);
    let dry = f.run(&["gc", "--dry-run", "--json", "L"]).succeeds().json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(removed(&dry), want);
    assert_eq!(dry["freed_bytes"], freed);
    assert_eq!(snapshot(&layout), snap);

    let sizes: Vec<u64> = want.iter().map(|d| size_of(&layout, d)).collect();
    let out = f.run(&["gc", "L"]).succeeds().out();
    let mut expected = String::new();
    for (d, size) in want.iter().zip(&sizes) {
        expected.push_str(&format!("removed {d} ({size} B)\n"));
    }
    let kept = before.len() - want.len();
    expected.push_str(&format!(
        "L: removed 4 unreferenced blob(s), freed {} ({freed} bytes); kept {kept} blob(s)\n",
        human(freed)
    ));
    assert_eq!(out, expected);
    let after = blob_files(&layout);
    assert_eq!(after, before.difference(&want).cloned().collect());

    // Still valid, every tag whole: verify, skopeo, both platforms.
    let text = f.run(&["verify", "L"]).succeeds().out();
    assert!(
        text.starts_with("OK: ") && !text.contains("note:"),
        "{text}"
    );
    let v = f.run(&["verify", "--json", "L"]).succeeds().json();
    assert!(v.get("unreferenced").is_none(), "{v}");
    for image in multi["images"].as_array().unwrap() {
        assert!(image_blobs(image).is_subset(&after), "{image}");
    }
    for tag in ["latest", "multi"] {
        let r = format!("oci:{}:{tag}", layout.display());
        run_ok(Command::new("skopeo").args(["inspect", "--raw"]).arg(&r));
    }
    let latest = format!("oci:{}:latest", layout.display());
    run_ok(Command::new("skopeo").arg("inspect").arg(&latest));

    // Nothing left to remove.
    let again = f.run(&["gc", "--json", "L"]).succeeds().json();
    assert_eq!(again["removed"], serde_json::json!([]));
    assert_eq!(again["freed_bytes"], 0);
}

fn removed(report: &Value) -> BTreeSet<String> {
    report["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["digest"].as_str().unwrap().to_string())
        .collect()
}

fn human(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}

#[test]
fn gc_refuses_what_is_not_a_layout() {
    let f = fixtures();
    std::fs::create_dir(f.path("plain")).unwrap();
    f.run(&["gc", "plain"])
        .refused("ociimport: error: plain: not an OCI image layout (no oci-layout file); give ociimport gc the layout directory")
        .one_line();
}

#[test]
fn gc_refuses_while_an_import_has_the_layout_open() {
    let f = fixtures();
    f.import(&["old.tar", "-o", "L"]);
    // What an import holds while it writes: a shared lock on blobs/.
    let mut holder = Command::new("flock")
        .args(["-s", "L/blobs", "sh", "-c", "touch locked; sleep 30"])
        .current_dir(f.dir())
        .spawn()
        .unwrap();
    while !f.path("locked").exists() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let r = f.run(&["gc", "L"]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    r.refused("ociimport: error: L/blobs: an import has this layout open; run ociimport gc again when it has finished")
        .one_line();
    assert_eq!(blob_files(&f.path("L")).len(), 3);
}

#[test]
fn gc_has_its_man_page_and_completions() {
    let f = fixtures();
    let page = f.run(&["man", "gc"]).succeeds().out();
    assert!(page.contains(".TH ociimport-gc"), "{page}");
    assert!(page.contains("dry\\-run"), "{page}");
    let main = f.run(&["man"]).succeeds().out();
    assert!(main.contains("ociimport\\-gc(1)"), "{main}");
    let bash = f.run(&["completions", "bash"]).succeeds().out();
    assert!(bash.contains("cmd=\"ociimport__subcmd__gc\""), "{bash}");
    assert!(bash.contains("--dry-run"), "{bash}");
}

#[test]
fn gc_removes_nothing_when_a_document_is_missing() {
    let f = fixtures();
    let layout = f.path("L");
    f.import(&["old.tar", "-o", "L"]);
    let (_, new) = f.import(&["new.tar", "-o", "L"]);
    let manifest = new["manifest"]["digest"].as_str().unwrap();
    std::fs::remove_file(blob_path(&layout, manifest)).unwrap();
    let snap = snapshot(&layout);
    let hex = hex_of(manifest);
    f.run(&["gc", "L"])
        .refused(&format!("ociimport: error: L: L/blobs/sha256/{hex}: No such file or directory (os error 2); gc removes nothing while a document is unreadable (ociimport verify lists the problems)"))
        .one_line();
    assert_eq!(snapshot(&layout), snap);
}
