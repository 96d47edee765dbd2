//! Layer contents the consumers refuse or read their own way (issue 22): a
//! `security.capability` xattr the kernel refuses, and the PAX GNU sparse
//! files bsdtar and GNU tar write for any file with holes.
//!
//! Tools: podman, bsdtar, GNU tar, umoci, /bin/busybox (busybox-static).
//! When `CI` is set a missing tool fails the test, naming the tool;
//! otherwise that part is skipped, saying so.

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

/// Debian's static busybox: an ELF that podman can run.
const BUSYBOX: &str = "/bin/busybox";

/// sha256 of `var/lastlog` as [`sparse_tree`] makes it: 2 MiB + 3 bytes,
/// "middle" at 700000 and "end" at the end, zeros (holes) elsewhere.
const LASTLOG_SHA256: &str = "8aaf263940cdf4563220c08f618be417c658e0532a161d7a3dca484fbc698a46";

/// `dir/root`: busybox with a 1 MiB hole appended as `bin/busybox` (an ELF
/// stored sparse, and the only executable, so the architecture can only
/// come from it) and a `var/lastlog` with holes; every mtime the same.
/// `dir/list` names the entries. False (skipped, said) without busybox;
/// under `CI` that fails.
fn sparse_tree(dir: &Path) -> bool {
    if !Path::new(BUSYBOX).exists() {
        assert!(
            !in_ci(),
            "{BUSYBOX} is required in CI (apt-get install busybox-static)"
        );
        eprintln!("SKIPPED part of a test: no {BUSYBOX} (busybox-static)");
        return false;
    }
    run_ok(Command::new("sh").current_dir(dir).args([
        "-c",
        "mkdir -p root/bin root/var && cp /bin/busybox root/bin/busybox && \
         truncate -s +1M root/bin/busybox && truncate -s 2M root/var/lastlog && \
         printf middle | dd of=root/var/lastlog bs=1 seek=700000 conv=notrunc 2>/dev/null && \
         printf end >> root/var/lastlog && \
         find root -exec touch -h -d @1700000000 {} + && \
         printf 'bin\\nbin/busybox\\nvar\\nvar/lastlog\\n' > list",
    ]));
    let lastlog = fs::read(dir.join("root/var/lastlog")).unwrap();
    assert_eq!(
        (lastlog.len(), sha256_hex(&lastlog).as_str()),
        (2_097_155, LASTLOG_SHA256)
    );
    true
}

/// The sparse archives the real tools write from [`sparse_tree`]: file
/// name, and a record only that format has.
fn sparse_archives(dir: &Path) -> Vec<(String, &'static str)> {
    let mut made = Vec::new();
    let sh = |script: &str| run_ok(Command::new("sh").current_dir(dir).args(["-c", script]));
    if have("bsdtar") {
        // bsdtar writes any file with holes as PAX sparse 1.0.
        sh("bsdtar -cf bsdtar.tar -n -C root -T list");
        made.push(("bsdtar.tar".to_string(), "GNU.sparse.major=1\n"));
    }
    if have("tar") {
        for (v, record) in [
            ("0.0", "GNU.sparse.offset="),
            ("0.1", "GNU.sparse.map="),
            ("1.0", "GNU.sparse.major=1\n"),
        ] {
            let file = format!("gnu-{v}.tar");
            sh(&format!(
                "tar --format=posix --sparse --sparse-version={v} --no-recursion -C root -T list -cf {file}"
            ));
            made.push((file, record));
        }
    }
    made
}

/// `podman pull oci:NAME:t` in `dir`, then in a container of the image:
/// the sha256 and size of `/bin/busybox` and `/var/lastlog`. The image is
/// removed again.
fn podman_sums(dir: &Path, name: &str) -> String {
    let pulled = run_cmd(Command::new("podman").current_dir(dir).args([
        "pull",
        "-q",
        &format!("oci:{name}:t"),
    ]))
    .succeeds();
    let id = pulled.out().trim().to_string();
    let o = run_cmd(
        Command::new("podman")
            .args(["run", "--rm", "--runtime", "runc", "--network", "none"])
            .args([
                "--ulimit",
                "nofile=1024:1024",
                "--ulimit",
                "nproc=1024:1024",
            ])
            .args([&id, "/bin/busybox", "sh", "-c"])
            .arg(
                "sha256sum /bin/busybox /var/lastlog && stat -c '%s %n' /bin/busybox /var/lastlog",
            ),
    );
    let _ = Command::new("podman").args(["rmi", "-f", &id]).output();
    o.succeeds().out()
}

/// A file with holes, as bsdtar and GNU tar (PAX sparse 0.0, 0.1 and 1.0)
/// write it, is imported without `--normalize` and kept byte for byte (the
/// DiffID is the sha256 of the tar as written); every observer sees it
/// expanded by its real name, so the architecture comes from the sparse
/// busybox (no "no ELF executables" warning); verify passes; and umoci and
/// podman (Go's archive/tar, which expands these formats) unpack the
/// expanded files.
#[test]
fn sparse_files_are_kept_as_written_and_read_expanded() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    if !sparse_tree(d) {
        return;
    }
    let busybox = fs::read(d.join("root/bin/busybox")).unwrap();
    let expected = format!(
        "{}  /bin/busybox\n{LASTLOG_SHA256}  /var/lastlog\n{} /bin/busybox\n2097155 /var/lastlog\n",
        sha256_hex(&busybox),
        busybox.len()
    );
    for (i, (file, record)) in sparse_archives(d).into_iter().enumerate() {
        let tar = fs::read(d.join(&file)).unwrap();
        // The tool wrote sparse entries: the holes are not in the tar.
        assert!(
            tar.windows(record.len()).any(|w| w == record.as_bytes()),
            "{file} has no {record:?} record"
        );
        assert!(tar.len() < busybox.len(), "{file}: {} bytes", tar.len());
        let layout = format!("sparse{i}");
        let o = run(d, &[&file, "-o", &layout, "-t", "t", "--json"]);
        let r = o.report();
        let layer = &r["layers"][0];
        assert_eq!(layer["diff_id"], sha256(&tar), "{file}");
        assert_eq!(layer["entries"], 4, "{file}");
        assert_eq!(r["platform"]["architecture"], host_goarch(), "{file}");
        assert_eq!(r["warnings"], json!([]), "{file}: {}", o.context());
        assert_eq!(layer["warnings"], json!([]), "{file}");
        assert_eq!(
            layer["notes"],
            json!([
                "2 sparse file(s) (PAX GNU.sparse records) kept as written; Go's archive/tar (podman, docker, containerd, umoci, skopeo), GNU tar and bsdtar all expand them"
            ]),
            "{file}"
        );
        run(d, &["verify", &layout]).succeeds();
        // --normalize still writes them expanded, as regular files.
        let n = run(
            d,
            &[
                &file,
                "-o",
                "normalized",
                "-t",
                &layout,
                "--json",
                "--normalize",
            ],
        )
        .report();
        assert_eq!(
            n["layers"][0]["notes"],
            json!(["2 sparse file(s) (PAX GNU.sparse records) written expanded"]),
            "{file}"
        );
        assert_eq!(n["platform"]["architecture"], host_goarch(), "{file}");
        if have("umoci") {
            let bundle = d.join(format!("bundle{i}"));
            let mut cmd = Command::new("umoci");
            cmd.arg("unpack");
            if !is_root() {
                cmd.arg("--rootless");
            }
            run_ok(
                cmd.arg("--image")
                    .arg(format!("{}:t", d.join(&layout).display()))
                    .arg(&bundle),
            );
            let got = fs::read(bundle.join("rootfs/bin/busybox")).unwrap();
            assert_eq!(
                sha256(&got),
                sha256(&busybox),
                "{file}: umoci's bin/busybox"
            );
            let got = fs::read(bundle.join("rootfs/var/lastlog")).unwrap();
            assert_eq!(
                (got.len(), sha256_hex(&got)),
                (2_097_155, LASTLOG_SHA256.to_string()),
                "{file}: umoci's var/lastlog"
            );
        }
        if have("podman") {
            let _storage = storage_lock();
            assert_eq!(podman_sums(d, &layout), expected, "{file}");
        }
    }
}

/// PAX sparse records that Go's archive/tar (every consumer) reads
/// differently from GNU tar are refused in one line naming the entry and
/// Go, with `--normalize` too, and verify finds them; umoci shows what Go
/// does: an unknown version unpacked as a plain file under its placeholder
/// name, a 0.x map without `numblocks` an invalid header.
#[test]
fn sparse_records_go_reads_differently_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let tar = |records: &[(&str, &str)], kind: tar::EntryType| {
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions(records.iter().map(|(k, v)| (*k, v.as_bytes())))
            .unwrap();
        let mut h = tar_header(3, 0o644);
        h.set_entry_type(kind);
        b.append_data(&mut h, "GNUSparseFile.0/lastlog", &b"abc"[..])
            .unwrap();
        b.into_inner().unwrap()
    };
    let named = [
        ("GNU.sparse.name", "var/lastlog"),
        ("GNU.sparse.realsize", "9"),
    ];
    let cases = [
        (
            tar(
                &[
                    ("GNU.sparse.major", "2"),
                    ("GNU.sparse.minor", "0"),
                    named[0],
                    named[1],
                ],
                tar::EntryType::Regular,
            ),
            "entry 'var/lastlog' is a PAX GNU sparse file of unknown format 2.0: Go's archive/tar (podman, docker, umoci) reads it as a plain file, GNU tar and bsdtar as a sparse one; re-create the archive with bsdtar or GNU tar",
        ),
        (
            tar(
                &[("GNU.sparse.size", "9"), ("GNU.sparse.map", "0,3")],
                tar::EntryType::Regular,
            ),
            "entry 'GNUSparseFile.0/lastlog' is a PAX GNU sparse file whose GNU.sparse.numblocks is missing or does not match its map: Go's archive/tar (podman, docker, umoci) fails on it; re-create the archive with bsdtar or GNU tar",
        ),
    ];
    for (i, (bytes, reason)) in cases.iter().enumerate() {
        let file = format!("odd{i}.tar");
        fs::write(d.join(&file), bytes).unwrap();
        for extra in [&[][..], &["--normalize"][..]] {
            let mut args = vec![file.as_str(), "-o", "refused", "--arch", "amd64"];
            args.extend(extra);
            let o = run(d, &args).exits(1);
            assert_eq!(
                o.err(),
                format!("ociimport: error: {file}: {reason} (at uncompressed byte 1024)\n"),
                "{}",
                o.context()
            );
            assert!(!d.join("refused").exists());
        }
        // What umoci (Go's archive/tar) makes of such a layer, and verify
        // finds it in a layout made by anyone.
        let layout = format!("odd{i}");
        let good = tar_with_capability(&capability(0x0200_0000, 20));
        fs::write(d.join("good.tar"), &good).unwrap();
        run(
            d,
            &[
                "good.tar", "-q", "-o", &layout, "-t", "t", "--arch", "amd64",
            ],
        )
        .succeeds();
        swap_layer(&d.join(&layout), bytes);
        let o = run(d, &["verify", &layout]).exits(1);
        assert!(o.out().contains(reason), "{}", o.context());
        if have("umoci") {
            let bundle = d.join(format!("bundle{i}"));
            let mut cmd = Command::new("umoci");
            cmd.arg("unpack");
            if !is_root() {
                cmd.arg("--rootless");
            }
            let image = format!("{}:t", d.join(&layout).display());
            let o = run_cmd(cmd.arg("--image").arg(image).arg(&bundle));
            if i == 0 {
                // The unknown version: a plain file under its placeholder name.
                o.succeeds();
                let plain = bundle.join("rootfs/GNUSparseFile.0/lastlog");
                assert_eq!(fs::read(plain).unwrap(), b"abc");
            } else {
                assert!(
                    o.err().contains("archive/tar: invalid tar header"),
                    "{}",
                    o.context()
                );
            }
        }
    }
}

/// The old GNU sparse format (type 'S', `tar --format=gnu --sparse`) is
/// different: Go's archive/tar expands it but keeps type 'S', which podman
/// ("unhandled tar header type 83") and umoci ("unknown typeflag") fail
/// on. So it stays refused at import (tests/normalize.rs) and verify
/// finds it in a layout made by anyone, as the consumers do.
#[test]
fn an_old_gnu_sparse_file_fails_the_consumers_and_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    if !sparse_tree(d) || !have("tar") {
        return;
    }
    run_ok(Command::new("sh").current_dir(d).args([
        "-c",
        "tar --format=gnu --sparse --no-recursion -C root -T list -cf old.tar",
    ]));
    let old = fs::read(d.join("old.tar")).unwrap();
    let good = tar_with_capability(&capability(0x0200_0000, 20));
    fs::write(d.join("good.tar"), &good).unwrap();
    run(
        d,
        &[
            "good.tar",
            "-q",
            "-o",
            "oldsparse",
            "-t",
            "t",
            "--arch",
            "amd64",
        ],
    )
    .succeeds();
    swap_layer(&d.join("oldsparse"), &old);
    let o = run(d, &["verify", "oldsparse"]).exits(1);
    assert_eq!(
        o.out().lines().next(),
        Some(format!(
            "tag t: layer 1 (sha256:{}): a consumer cannot unpack this layer: entry 'bin/busybox' is an old GNU sparse file (type 'S'): podman, buildah and docker fail on it (\"unhandled tar header type\"), umoci too (\"unknown typeflag\"); --normalize rewrites it as a regular file (at uncompressed byte 512)",
            sha256_hex(&old)
        ).as_str()),
        "{}",
        o.context()
    );
    if have("umoci") {
        let mut cmd = Command::new("umoci");
        cmd.arg("unpack");
        if !is_root() {
            cmd.arg("--rootless");
        }
        let o = run_cmd(
            cmd.arg("--image")
                .arg(format!("{}:t", d.join("oldsparse").display()))
                .arg(d.join("bundle")),
        );
        assert!(
            o.err().contains("bin/busybox: unknown typeflag '\\x53'"),
            "{}",
            o.context()
        );
    }
    if have("podman") {
        let _storage = storage_lock();
        let o = podman_pull(d, "oldsparse").exits(125);
        assert!(
            o.err().contains("unhandled tar header type 83"),
            "{}",
            o.context()
        );
    }
}
