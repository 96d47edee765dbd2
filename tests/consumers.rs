//! Inputs made by the tools distributions use, whose framing some consumer
//! reads differently from us: they are re-encoded (with a warning) rather
//! than kept as the layer, and podman reads the result; common framing is
//! still kept byte for byte.

use std::path::Path;
use std::process::Command;

use crate::common::*;

/// Import `file` in `dir` as `-o out`, returning the layer's report.
fn import(dir: &Path, file: &str, out: &str) -> serde_json::Value {
    let o = run(dir, &[file, "-o", out, "--json", "--arch", "amd64"]);
    let r = report(&o);
    assert_eq!(r["layers"][0]["diff_id"], sha256(&rootfs_tar()).as_str());
    r["layers"][0].clone()
}

/// podman reads the image (its decoders, not ours, judge the layer).
fn podman_reads(dir: &Path, layout: &str) {
    if !have("podman") {
        return;
    }
    let _storage = storage_lock();
    // Relative: podman names the image after the path, which must be lowercase.
    let o = run_ok(Command::new("podman").current_dir(dir).args([
        "pull",
        "-q",
        &format!("oci:{layout}:latest"),
    ]));
    let id = o.out().trim().to_string();
    let _ = Command::new("podman").args(["rmi", "-f", &id]).output();
}

#[test]
fn pzstd_output_is_re_encoded_because_it_starts_with_a_skippable_frame() {
    if !have("pzstd") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pz = filter_through(tmp.path(), "pzstd", &["-q", "-c", "-p", "2"], &rootfs_tar());
    assert_eq!(
        &pz[..4],
        &[0x50, 0x2a, 0x4d, 0x18],
        "pzstd starts with a skippable frame"
    );
    std::fs::write(tmp.path().join("r.tar.zst"), &pz).unwrap();
    let l = import(tmp.path(), "r.tar.zst", "ociimport-test-pz");
    assert_eq!(l["passthrough"], false);
    assert_eq!(l["input_compression"], "zstd");
    assert_eq!(
        l["media_type"],
        "application/vnd.oci.image.layer.v1.tar+zstd"
    );
    assert_ne!(l["digest"], l["input_digest"]);
    let w = l["warnings"].to_string();
    assert!(
        w.contains("re-encoded as zstd") && w.contains("skippable frame"),
        "{w}"
    );
    let blob = blob(
        &tmp.path().join("ociimport-test-pz"),
        l["digest"].as_str().unwrap(),
    );
    assert_eq!(
        &blob[..4],
        &[0x28, 0xb5, 0x2f, 0xfd],
        "the layer starts with a zstd frame"
    );
    podman_reads(tmp.path(), "ociimport-test-pz");
}

#[test]
fn gzip_with_a_header_crc_and_a_name_is_re_encoded() {
    let tmp = tempfile::tempdir().unwrap();
    let gz = gzip_fhcrc_named(&rootfs_tar(), "rootfs.tar");
    std::fs::write(tmp.path().join("r.tar.gz"), &gz).unwrap();
    let l = import(tmp.path(), "r.tar.gz", "ociimport-test-crc");
    assert_eq!(l["passthrough"], false);
    assert_eq!(
        l["media_type"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let w = l["warnings"].to_string();
    assert!(
        w.contains("re-encoded as gzip") && w.contains("FHCRC"),
        "{w}"
    );
    let blob = blob(
        &tmp.path().join("ociimport-test-crc"),
        l["digest"].as_str().unwrap(),
    );
    assert_eq!(blob[3], 0, "our own gzip header sets no flags");
    podman_reads(tmp.path(), "ociimport-test-crc");
}

/// The second member is the unsafe one: a file is read again and
/// re-encoded; standard input cannot be, so it is refused and nothing is written.
#[test]
fn a_later_unsafe_gzip_member() {
    let tmp = tempfile::tempdir().unwrap();
    let tar = rootfs_tar();
    let mut gz = gzip_bytes(&tar[..100 * 1024]);
    gz.extend(gzip_fhcrc_named(&tar[100 * 1024..], "part2"));
    std::fs::write(tmp.path().join("two.tar.gz"), &gz).unwrap();
    let l = import(tmp.path(), "two.tar.gz", "two");
    assert_eq!(l["passthrough"], false);
    assert_eq!(l["input_digest"], sha256(&gz).as_str());
    assert!(l["warnings"].to_string().contains("gzip member 2: "), "{l}");
    check_layout(&tmp.path().join("two"));

    let before = snapshot(&tmp.path().join("two"));
    let o = run_in(
        tmp.path(),
        &["-", "-o", "two", "-t", "stdin"],
        Some(&gz),
        &[],
    )
    .exits(1);
    let err = stderr(&o);
    assert!(
        err.contains("-: gzip member 2: ") && err.contains("--compression gzip"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(snapshot(&tmp.path().join("two")), before);
}

/// What distributions publish is kept byte for byte: gzip -9n (Alpine),
/// pigz, zstd -19 --long (Arch), plain zstd.
#[test]
fn common_tools_framing_is_kept_as_is() {
    let tmp = tempfile::tempdir().unwrap();
    let tar = rootfs_tar();
    let mut made = vec![("gz", gzip_bytes(&tar))];
    for (tool, args, ext) in [
        ("gzip", &["-9n", "-c"][..], "gz"),
        ("pigz", &["-c", "-p", "2"][..], "gz"),
        ("zstd", &["-19", "--long", "-q", "-c"][..], "zst"),
        ("zstd", &["-q", "-c"][..], "zst"),
    ] {
        if have(tool) {
            made.push((ext, filter_through(tmp.path(), tool, args, &tar)));
        }
    }
    for (i, (ext, bytes)) in made.iter().enumerate() {
        let name = format!("r{i}.tar.{ext}");
        std::fs::write(tmp.path().join(&name), bytes).unwrap();
        let l = import(tmp.path(), &name, &format!("o{i}"));
        assert_eq!(l["passthrough"], true, "{name}: {l}");
        assert_eq!(l["digest"], sha256(bytes).as_str(), "{name}");
        assert_eq!(l["warnings"], serde_json::json!([]), "{name}");
        // Kept byte for byte, so the consumers must read it as it is.
        podman_reads(tmp.path(), &format!("o{i}"));
    }
}
