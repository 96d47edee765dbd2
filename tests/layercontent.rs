//! Layer contents the consumers refuse or read their own way (issue 22): a
//! `security.capability` xattr the kernel refuses, and bsdtar's PAX GNU
//! sparse files.
//!
//! Tools: podman, bsdtar, umoci. When `CI` is set a missing tool fails the
//! test, naming the tool; otherwise that part is skipped, saying so.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::*;
use serde_json::json;

/// `usr/bin/ping` with `SCHILY.xattr.security.capability` = `cap`, as
/// GNU tar and bsdtar write file capabilities.
fn tar_with_capability(cap: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for d in ["usr/", "usr/bin/"] {
        let mut h = tar_header(0, 0o755);
        h.set_entry_type(tar::EntryType::Directory);
        b.append_data(&mut h, d, std::io::empty()).unwrap();
    }
    b.append_pax_extensions([("SCHILY.xattr.security.capability", cap)])
        .unwrap();
    let data = b"#!/bin/sh\necho pong\n";
    let mut h = tar_header(data.len() as u64, 0o755);
    b.append_data(&mut h, "usr/bin/ping", &data[..]).unwrap();
    b.into_inner().unwrap()
}

/// A vfs_cap_data of `len` bytes with `magic` (cap_net_raw permitted).
fn capability(magic: u32, len: usize) -> Vec<u8> {
    let mut v = magic.to_le_bytes().to_vec();
    v.extend((1u32 << 13).to_le_bytes());
    v.resize(len, 0);
    v
}

/// Replace the only layer of `layout` (tag `t`) by the uncompressed `tar`,
/// with a manifest, config and index.json that agree: a layout another
/// tool could have written.
fn swap_layer(layout: &Path, tar: &[u8]) {
    let put = |bytes: &[u8]| {
        let d = sha256(bytes);
        fs::write(blob_path(layout, &d), bytes).unwrap();
        (d, bytes.len())
    };
    let mut index = read_json(&layout.join("index.json"));
    let md = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let mut m = read_json(&blob_path(layout, &md));
    let cd = m["config"]["digest"].as_str().unwrap().to_string();
    let mut config = read_json(&blob_path(layout, &cd));
    config["rootfs"]["diff_ids"][0] = json!(sha256(tar));
    let (cd, cs) = put(&serde_json::to_vec(&config).unwrap());
    let (ld, ls) = put(tar);
    m["config"]["digest"] = json!(cd);
    m["config"]["size"] = json!(cs);
    m["layers"][0] = json!({
        "mediaType": "application/vnd.oci.image.layer.v1.tar",
        "digest": ld,
        "size": ls,
    });
    let (md, ms) = put(&serde_json::to_vec(&m).unwrap());
    index["manifests"][0]["digest"] = json!(md);
    index["manifests"][0]["size"] = json!(ms);
    fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
}

/// `podman pull oci:NAME:t` in `dir` (podman names the image after NAME,
/// so it must be a plain lowercase name); the image is removed again.
fn podman_pull(dir: &Path, name: &str) -> Run {
    let o = run_cmd(Command::new("podman").current_dir(dir).args([
        "pull",
        "-q",
        &format!("oci:{name}:t"),
    ]));
    if o.status.success() {
        let _ = Command::new("podman")
            .args(["rmi", "-f", o.out().trim()])
            .output();
    }
    o
}

/// An invalid `security.capability` (8 bytes with the v2 magic, which
/// needs 20) is refused at import, with `--normalize` too, in one line
/// naming the entry; verify finds it in a layout made by anyone, naming
/// the layer; and podman, the consumer, fails on that layout while it
/// pulls the valid value ociimport accepts.
#[test]
fn an_invalid_file_capability_is_refused_and_found() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let bad = tar_with_capability(&capability(0x0200_0000, 8));
    let good = tar_with_capability(&capability(0x0200_0000, 20));
    fs::write(d.join("bad.tar"), &bad).unwrap();
    fs::write(d.join("good.tar"), &good).unwrap();
    let line = "ociimport: error: bad.tar: entry 'usr/bin/ping' has a security.capability xattr the kernel refuses (8 bytes, magic 0x02000000; valid: 20 bytes v2 or 24 bytes v3): podman fails with \"lsetxattr: invalid argument\"; setcap the file again or remove the xattr (at uncompressed byte 2048)\n";
    for extra in [&[][..], &["--normalize"][..]] {
        let mut args = vec!["bad.tar", "-o", "refused", "--arch", "amd64"];
        args.extend(extra);
        let o = run(d, &args).exits(1);
        assert_eq!(o.err(), line, "{}", o.context());
        assert!(!d.join("refused").exists());
    }
    for layout in ["good", "bad"] {
        run(
            d,
            &["good.tar", "-q", "-o", layout, "-t", "t", "--arch", "amd64"],
        )
        .succeeds();
    }
    swap_layer(&d.join("bad"), &bad);
    let o = run(d, &["verify", "bad"]).exits(1);
    let layer = format!("sha256:{}", sha256_hex(&bad));
    assert_eq!(
        o.out().lines().next(),
        Some(
            format!(
                "tag t: layer 1 ({layer}): a consumer cannot unpack this layer: {} (at uncompressed byte 2048)",
                &line["ociimport: error: bad.tar: ".len()..line.len() - " (at uncompressed byte 2048)\n".len()]
            )
            .as_str()
        ),
        "{}",
        o.context()
    );
    run(d, &["verify", "good"]).succeeds();
    if have("podman") {
        let _storage = storage_lock();
        podman_pull(d, "good").succeeds();
        let o = podman_pull(d, "bad").exits(125);
        assert!(
            o.err()
                .contains("lsetxattr /usr/bin/ping: invalid argument"),
            "{}",
            o.context()
        );
    }
}
