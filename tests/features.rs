//! End-to-end tests of the features added on top of the core import:
//! platform detection from ELF headers, `--change`/`--label`/`--annotation`/
//! `--message`, several inputs, checksum verification (`--expect`,
//! `--checksums`), options with standard input, `--format oci-archive` and
//! `--max-size`. Every test runs the real binary in a temporary directory.

use std::path::Path;

use crate::common::*;
use serde_json::{Value, json};

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A little-endian Elf64 file: the 64-byte header (magic, EI_CLASS=ELFCLASS64,
/// EI_DATA=ELFDATA2LSB, e_type, e_machine, e_version) followed by some bytes.
fn elf64(machine: u16, e_type: u16) -> Vec<u8> {
    let mut h = elf64_header(machine, e_type);
    h.extend((0..400u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8));
    h
}

/// A deterministic tar of `files` (parent directories added first), mode
/// 0755, owner 0:0, mtime [`MTIME`].
fn make_tar(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut t = Tar::with_parents();
    for (path, data) in files {
        t.file(path, data, 0o755);
    }
    t.finish()
}

/// 300 KB of non-ELF bytes, so the ELF files after it straddle the
/// pipeline's chunk boundaries.
fn filler() -> Vec<u8> {
    (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_246_822_519) >> 13) as u8)
        .collect()
}

fn arm64_rootfs() -> Vec<u8> {
    make_tar(&[
        ("usr/lib/big.bin", filler()),
        ("bin/busybox", elf64(EM_AARCH64, ET_EXEC)),
        ("usr/bin/env", elf64(EM_AARCH64, ET_EXEC)),
        ("lib/ld-linux-aarch64.so.1", elf64(EM_AARCH64, ET_EXEC)),
        ("etc/hostname", b"arm64box\n".to_vec()),
    ])
}

/// A JSON blob of `layout`.
fn json_blob(layout: &Path, digest: &Value) -> Value {
    serde_json::from_slice(&blob(layout, digest.as_str().expect("digest string")))
        .expect("blob is JSON")
}

/// The image config of a report's import.
fn config_of(layout: &Path, r: &Value) -> Value {
    json_blob(layout, &r["config"]["digest"])
}

fn manifest_of(layout: &Path, r: &Value) -> Value {
    json_blob(layout, &r["manifest"]["digest"])
}

/// Run `args` plus `--json` in `dir` and return the output and its report.
fn import(dir: &Path, args: &[&str]) -> (Run, Value) {
    let mut all = args.to_vec();
    all.push("--json");
    let o = run(dir, &all);
    let r = report(&o);
    (o, r)
}

/// A directory with the fixture as `rootfs.tar.xz` and an existing layout
/// `img` made from it; returns the xz bytes.
fn with_existing_layout(dir: &Path) -> Vec<u8> {
    let xz = xz_bytes(&rootfs_tar());
    std::fs::write(dir.join("rootfs.tar.xz"), &xz).unwrap();
    import(dir, &["rootfs.tar.xz", "-q", "-o", "img", "-t", "old"]);
    xz
}

// ---------------------------------------------------------------- platform

#[test]
fn platform_arm64_is_detected_from_elf_headers_in_the_same_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let tar = arm64_rootfs();
    std::fs::write(tmp.path().join("arm.tar.xz"), xz_bytes(&tar)).unwrap();
    let (o, r) = import(tmp.path(), &["arm.tar.xz", "-o", "arm"]);
    let layout = tmp.path().join("arm");
    assert_eq!(
        r["platform"],
        json!({"os": "linux", "architecture": "arm64", "variant": "v8"})
    );
    let cfg = config_of(&layout, &r);
    assert_eq!(cfg["architecture"], "arm64");
    assert_eq!(cfg["variant"], "v8");
    assert_eq!(cfg["os"], "linux");
    // The same pass also produced the layer: its DiffID is the tar's.
    assert_eq!(cfg["rootfs"]["diff_ids"], json!([sha256(&tar)]));
    assert_eq!(r["layers"][0]["entries"], 11u64, "6 directories, 5 files");
    // index.json carries the platform too.
    let index = read_json(&layout.join("index.json"));
    assert_eq!(
        index["manifests"][0]["platform"],
        json!({"os": "linux", "architecture": "arm64", "variant": "v8"})
    );
    assert_eq!(r["warnings"], serde_json::json!([]), "{r}");
    let err = stderr(&o);
    assert!(!err.contains("warning"), "{err}");
    assert!(
        err.contains("(linux/arm64/v8, created 2023-11-14T22:13:20Z)"),
        "{err}"
    );
    assert_eq!(check_layout(&layout), 3);
}

#[test]
fn platform_riscv64_is_detected_without_variant() {
    let tmp = tempfile::tempdir().unwrap();
    let tar = make_tar(&[
        ("bin/busybox", elf64(EM_RISCV, ET_EXEC)),
        ("usr/bin/env", elf64(EM_RISCV, ET_EXEC)),
        ("lib/ld-linux-riscv64-lp64d.so.1", elf64(EM_RISCV, ET_EXEC)),
    ]);
    std::fs::write(tmp.path().join("rv.tar.gz"), gzip_bytes(&tar)).unwrap();
    let (_, r) = import(tmp.path(), &["rv.tar.gz", "-q", "-o", "rv"]);
    assert_eq!(
        r["platform"],
        json!({"os": "linux", "architecture": "riscv64"})
    );
    let cfg = config_of(&tmp.path().join("rv"), &r);
    assert_eq!(cfg["architecture"], "riscv64");
    assert!(cfg.get("variant").is_none(), "{cfg}");
    assert_eq!(r["warnings"], serde_json::json!([]), "{r}");
}

#[test]
fn platform_flags_override_detection() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("arm.tar"), arm64_rootfs()).unwrap();
    for (args, want) in [
        (
            vec!["--arch", "arm", "--variant", "v7"],
            json!({"os": "linux", "architecture": "arm", "variant": "v7"}),
        ),
        (
            vec!["--arch", "amd64"],
            json!({"os": "linux", "architecture": "amd64"}),
        ),
        // --variant alone keeps the detected architecture.
        (
            vec!["--variant", "v9"],
            json!({"os": "linux", "architecture": "arm64", "variant": "v9"}),
        ),
        (
            vec!["--os", "freebsd"],
            json!({"os": "freebsd", "architecture": "arm64", "variant": "v8"}),
        ),
    ] {
        let out = tmp.path().join("o");
        let _ = std::fs::remove_dir_all(&out);
        let mut all = vec!["arm.tar", "-q", "-o", "o"];
        all.extend_from_slice(&args);
        let (_, r) = import(tmp.path(), &all);
        assert_eq!(r["platform"], want, "{args:?}");
        let cfg = config_of(&out, &r);
        assert_eq!(cfg["architecture"], want["architecture"], "{args:?}");
        assert_eq!(cfg["os"], want["os"], "{args:?}");
        assert_eq!(cfg.get("variant"), want.get("variant"), "{args:?}");
        assert_eq!(r["warnings"], serde_json::json!([]), "{args:?}: {r}");
    }
}

#[test]
fn platform_without_elf_is_the_host_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    // ELF files only where they are not looked for, and an object file
    // (ET_REL) where they are: neither counts.
    let tar = make_tar(&[
        ("usr/local/bin/tool", elf64(EM_AARCH64, ET_EXEC)),
        ("opt/app/run", elf64(EM_RISCV, ET_EXEC)),
        ("bin/thing.o", elf64(EM_AARCH64, ET_REL)),
        ("bin/script", b"#!/bin/sh\necho hi\n".to_vec()),
    ]);
    std::fs::write(tmp.path().join("noelf.tar"), &tar).unwrap();
    std::fs::copy(testdata("rootfs.tar"), tmp.path().join("rootfs.tar")).unwrap();
    for input in ["noelf.tar", "rootfs.tar"] {
        let (o, r) = import(tmp.path(), &[input, "-o", &format!("{input}.oci")]);
        assert_eq!(
            r["platform"],
            json!({"os": "linux", "architecture": host_goarch()}),
            "{input}"
        );
        let cfg = config_of(&tmp.path().join(format!("{input}.oci")), &r);
        assert_eq!(cfg["architecture"], host_goarch(), "{input}");
        let err = stderr(&o);
        let warning = err
            .lines()
            .find(|l| l.contains("warning") && l.contains("no ELF executables"))
            .unwrap_or_else(|| panic!("{input}: no warning in {err}"));
        assert!(warning.contains(host_goarch()), "{warning}");
        assert_eq!(r["warnings"].as_array().map(Vec::len), Some(1), "{r}");
        assert!(
            r["warnings"][0]
                .as_str()
                .unwrap()
                .contains("no ELF executables"),
            "{r}"
        );
    }
    // --arch silences it.
    let o = run(tmp.path(), &["noelf.tar", "-o", "x", "--arch", "s390x"]).succeeds();
    assert!(!stderr(&o).contains("no ELF"), "{}", stderr(&o));
}

#[test]
fn platform_conflict_takes_the_majority_and_names_examples() {
    let tmp = tempfile::tempdir().unwrap();
    let tar = make_tar(&[
        ("usr/bin/qemu-x86_64-static", elf64(EM_X86_64, ET_EXEC)),
        ("bin/sh", elf64(EM_AARCH64, ET_EXEC)),
        ("bin/busybox", elf64(EM_AARCH64, ET_EXEC)),
        ("lib/ld-linux-aarch64.so.1", elf64(EM_AARCH64, ET_EXEC)),
    ]);
    std::fs::write(tmp.path().join("mixed.tar.gz"), gzip_bytes(&tar)).unwrap();
    let (o, r) = import(tmp.path(), &["mixed.tar.gz", "-o", "mixed"]);
    assert_eq!(
        r["platform"],
        json!({"os": "linux", "architecture": "arm64", "variant": "v8"})
    );
    let cfg = config_of(&tmp.path().join("mixed"), &r);
    assert_eq!(cfg["architecture"], "arm64");
    assert_eq!(cfg["variant"], "v8");
    let err = stderr(&o);
    let warning = err
        .lines()
        .find(|l| l.contains("warning") && l.contains("several architectures"))
        .unwrap_or_else(|| panic!("no conflict warning in {err}"));
    // Examples: the first path of each architecture.
    assert!(warning.contains("bin/busybox"), "{warning}");
    assert!(warning.contains("usr/bin/qemu-x86_64-static"), "{warning}");
    assert!(warning.contains("arm64 (3 file(s)"), "{warning}");
    assert!(warning.contains("amd64 (1 file(s)"), "{warning}");
    let w = r["warnings"].as_array().unwrap();
    assert_eq!(w.len(), 1, "{r}");
    assert!(
        w[0].as_str()
            .unwrap()
            .contains("usr/bin/qemu-x86_64-static")
    );
}

// ---------------------------------------------------------------- --change

#[test]
fn change_instructions_set_the_image_config() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(testdata("rootfs.tar"), tmp.path().join("rootfs.tar")).unwrap();
    let (_, r) = import(
        tmp.path(),
        &[
            "rootfs.tar",
            "-q",
            "-o",
            "img",
            "--change",
            r#"CMD ["/bin/sh", "-c", "echo hi"]"#,
            "--change",
            "ENTRYPOINT /usr/bin/tool --flag 'a b'",
            "--change",
            r#"ENV A=1 B="two words" C='single $quoted'"#,
            "-c",
            "ENV GREETING hello  big world",
            "--change",
            "EXPOSE 80 53/udp 8000-8001/tcp",
            "--change",
            "expose 443",
            "--change",
            r#"LABEL version=1.0 "description"="a test image""#,
            "--label",
            "maintainer=me@example.org",
            "--label",
            "version=2.0",
            "--change",
            "STOPSIGNAL term",
            "--change",
            "USER 1000:1000",
            "--change",
            r#"VOLUME ["/data", "/cache"]"#,
            "--change",
            "VOLUME /srv /data",
            "--change",
            "WORKDIR /app",
            "--change",
            "WORKDIR sub/../src",
            "--message",
            "imported by the features test",
            "--annotation",
            "org.opencontainers.image.source=https://example.org/src",
            "--annotation",
            "org.example.eq=a=b",
        ],
    );
    let layout = tmp.path().join("img");
    let cfg = config_of(&layout, &r);
    let c = &cfg["config"];
    assert_eq!(c["Cmd"], json!(["/bin/sh", "-c", "echo hi"]));
    assert_eq!(
        c["Entrypoint"],
        json!(["/bin/sh", "-c", "/usr/bin/tool --flag 'a b'"])
    );
    assert_eq!(
        c["Env"],
        json!([
            "A=1",
            "B=two words",
            "C=single $quoted",
            "GREETING=hello  big world",
            DEFAULT_PATH
        ])
    );
    assert_eq!(
        c["ExposedPorts"],
        json!({"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}, "443/tcp": {}})
    );
    assert_eq!(
        c["Labels"],
        json!({
            "version": "2.0",
            "description": "a test image",
            "maintainer": "me@example.org"
        })
    );
    assert_eq!(c["StopSignal"], "SIGTERM");
    assert_eq!(c["User"], "1000:1000");
    assert_eq!(c["Volumes"], json!({"/data": {}, "/cache": {}, "/srv": {}}));
    assert_eq!(c["WorkingDir"], "/app/src");
    // --message: the history comment.
    let history = cfg["history"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["comment"], "imported by the features test");
    assert_eq!(history[0]["created_by"], "ociimport 0.1.0 rootfs.tar");
    // --annotation: the manifest's annotations, beside the layer's provenance.
    let m = manifest_of(&layout, &r);
    assert_eq!(
        m["annotations"],
        json!({
            "org.opencontainers.image.source": "https://example.org/src",
            "org.example.eq": "a=b",
            "io.github.ociimport.layer.0.source": "rootfs.tar",
            "io.github.ociimport.layer.0.sha256": r["layers"][0]["input_digest"],
        })
    );
    assert_eq!(check_layout(&layout), 3);
}

#[test]
fn change_other_forms_and_env_path() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(testdata("rootfs.tar"), tmp.path().join("rootfs.tar")).unwrap();
    // Shell-form CMD, JSON ENTRYPOINT, podman's KEYWORD=arg, numeric signal,
    // an ENV that sets PATH.
    let (_, r) = import(
        tmp.path(),
        &[
            "rootfs.tar",
            "-q",
            "-o",
            "a",
            "--change",
            r#"CMD echo "$HOME" && exit 0"#,
            "--change",
            r#"ENTRYPOINT ["/bin/busybox", "sh"]"#,
            "--change",
            "USER=nobody",
            "--change",
            "STOPSIGNAL 9",
            "--change",
            "ENV PATH=/opt/bin:/bin LANG=C.UTF-8",
            "--change",
            r#"WORKDIR "/my dir""#,
        ],
    );
    let cfg = config_of(&tmp.path().join("a"), &r);
    let c = &cfg["config"];
    assert_eq!(
        c["Cmd"],
        json!(["/bin/sh", "-c", r#"echo "$HOME" && exit 0"#])
    );
    assert_eq!(c["Entrypoint"], json!(["/bin/busybox", "sh"]));
    assert_eq!(c["User"], "nobody");
    assert_eq!(c["StopSignal"], "9");
    assert_eq!(c["Env"], json!(["PATH=/opt/bin:/bin", "LANG=C.UTF-8"]));
    assert_eq!(c["WorkingDir"], "/my dir");
    // No --message: no comment; no --annotation: only the provenance annotations.
    assert!(cfg["history"][0].get("comment").is_none(), "{cfg}");
    let annotations = manifest_of(&tmp.path().join("a"), &r)["annotations"].clone();
    let keys: Vec<&String> = annotations.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "io.github.ociimport.layer.0.sha256",
            "io.github.ociimport.layer.0.source"
        ]
    );

    // Without any change the config holds just the default PATH.
    let (_, r) = import(tmp.path(), &["rootfs.tar", "-q", "-o", "b"]);
    let cfg = config_of(&tmp.path().join("b"), &r);
    assert_eq!(cfg["config"], json!({"Env": [DEFAULT_PATH]}));
}

#[test]
fn unsupported_or_invalid_changes_publish_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    with_existing_layout(tmp.path());
    let layout = tmp.path().join("img");
    let before = snapshot(&layout);
    assert!(!before.is_empty());
    for (change, want) in [
        ("RUN apt-get update", "unsupported --change instruction RUN"),
        ("COPY a /b", "unsupported --change instruction COPY"),
        ("EXPOSE 99999", "1-65535"),
        ("CMD [\"unterminated", "malformed JSON array"),
        ("STOPSIGNAL SIGFOO", "not a valid signal"),
    ] {
        for out in ["img", "fresh"] {
            run(
                tmp.path(),
                &[
                    "rootfs.tar.xz",
                    "-o",
                    out,
                    "--change",
                    "ENV A=1",
                    "--change",
                    change,
                ],
            )
            .fails()
            .says(want);
            assert_eq!(snapshot(&layout), before, "{change}: layout changed");
            assert!(!tmp.path().join("fresh").exists(), "{change}: created");
        }
    }
    // Malformed --label / --annotation.
    for (args, want) in [
        (vec!["--label", "novalue"], "expected KEY=VALUE"),
        (vec!["--annotation", "novalue"], "expected KEY=VALUE"),
        (vec!["--annotation", "=v"], "expected KEY=VALUE"),
    ] {
        let mut all = vec!["rootfs.tar.xz", "-o", "fresh"];
        all.extend_from_slice(&args);
        run(tmp.path(), &all).usage_error(want);
        assert!(!tmp.path().join("fresh").exists(), "{args:?}");
    }
    assert_eq!(snapshot(&layout), before);
}

// ---------------------------------------------------------------- several inputs

#[test]
fn several_inputs_become_layers_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let base = rootfs_tar();
    let overlay = make_tar(&[
        ("usr/bin/tool", elf64(EM_AARCH64, ET_EXEC)),
        ("etc/motd", b"overlay\n".to_vec()),
    ]);
    let base_xz = xz_bytes(&base);
    let overlay_gz = gzip_bytes(&overlay);
    std::fs::write(tmp.path().join("base.tar.xz"), &base_xz).unwrap();
    std::fs::write(tmp.path().join("overlay.tar.gz"), &overlay_gz).unwrap();
    let (o, r) = import(
        tmp.path(),
        &["base.tar.xz", "overlay.tar.gz", "-o", "stack", "-t", "two"],
    );
    let layout = tmp.path().join("stack");
    let layers = r["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    assert_eq!(layers[0]["input"], "base.tar.xz");
    assert_eq!(layers[0]["input_digest"], sha256(&base_xz).as_str());
    assert_eq!(layers[0]["input_size"], base_xz.len() as u64);
    assert_eq!(layers[0]["input_compression"], "xz");
    assert_eq!(layers[0]["diff_id"], sha256(&base).as_str());
    assert_eq!(layers[0]["entries"], ROOTFS_ENTRIES);
    assert_eq!(layers[1]["input"], "overlay.tar.gz");
    assert_eq!(layers[1]["input_digest"], sha256(&overlay_gz).as_str());
    assert_eq!(layers[1]["input_compression"], "gzip");
    assert_eq!(layers[1]["diff_id"], sha256(&overlay).as_str());
    assert_eq!(layers[1]["entries"], 5u64, "3 directories, 2 files");
    // The gzip layer is kept as is.
    assert_eq!(layers[1]["digest"], sha256(&overlay_gz).as_str());

    let m = manifest_of(&layout, &r);
    let ml = m["layers"].as_array().unwrap();
    assert_eq!(ml.len(), 2);
    for (desc, rep) in ml.iter().zip(layers) {
        assert_eq!(desc["digest"], rep["digest"]);
        assert_eq!(desc["size"], rep["size"]);
    }
    let cfg = config_of(&layout, &r);
    assert_eq!(
        cfg["rootfs"],
        json!({"type": "layers", "diff_ids": [sha256(&base), sha256(&overlay)]})
    );
    let history = cfg["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["created_by"], "ociimport 0.1.0 base.tar.xz");
    assert_eq!(history[1]["created_by"], "ociimport 0.1.0 overlay.tar.gz");
    // The ELF in the second layer decides the platform: layers vote together.
    assert_eq!(r["platform"]["architecture"], "arm64");
    assert!(stderr(&o).contains("imported 2 layer(s)"), "{}", stderr(&o));
    // One manifest in the index, 1 manifest + 1 config + 2 layers.
    assert_eq!(
        read_json(&layout.join("index.json"))["manifests"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(check_layout(&layout), 4);

    // --expect names one input; several are a usage error.
    run(
        tmp.path(),
        &[
            "base.tar.xz",
            "overlay.tar.gz",
            "-o",
            "bad",
            "--expect",
            &format!("sha256:{}", sha256_hex(&base_xz)),
        ],
    )
    .usage_error("--expect applies to a single input");
    assert!(!tmp.path().join("bad").exists());

    // --checksums checks each input against its own entry.
    std::fs::write(
        tmp.path().join("SHA256SUMS"),
        format!(
            "{}  base.tar.xz\n{}  overlay.tar.gz\n",
            sha256_hex(&base_xz),
            sha256_hex(&overlay_gz)
        ),
    )
    .unwrap();
    let (_, r) = import(
        tmp.path(),
        &[
            "base.tar.xz",
            "overlay.tar.gz",
            "-q",
            "-o",
            "checked",
            "--checksums",
            "SHA256SUMS",
        ],
    );
    for l in r["layers"].as_array().unwrap() {
        assert_eq!(l["checksums_verified"], json!(["sha256 (SHA256SUMS)"]));
    }
}

// ---------------------------------------------------------------- checksums

/// The summary says what was verified, after the layer's lines; nothing
/// when nothing was checked. `--json` is unchanged.
#[test]
fn summary_says_what_was_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let xz = with_existing_layout(tmp.path());
    let plain = run(tmp.path(), &["rootfs.tar.xz", "-o", "plain"]).succeeds();
    assert!(!plain.err().contains("verified"), "{}", plain.err());
    let expect = format!("sha512:{}", sha512_hex(&xz));
    let o = run(
        tmp.path(),
        &["rootfs.tar.xz", "-o", "checked", "--expect", &expect],
    )
    .succeeds();
    let err = o.err();
    let lines: Vec<&str> = err.lines().collect();
    let diff_id = lines
        .iter()
        .position(|l| l.starts_with("  diff_id   "))
        .unwrap();
    assert_eq!(lines[diff_id + 1], "  verified  sha512 (--expect)", "{err}");
    let sums = format!("{}  rootfs.tar.xz\n", sha256_hex(&xz));
    std::fs::write(tmp.path().join("SHA256SUMS"), sums).unwrap();
    let o = run(
        tmp.path(),
        &[
            "rootfs.tar.xz",
            "-o",
            "sums",
            "--expect",
            &expect,
            "--checksums",
            "SHA256SUMS",
        ],
    )
    .succeeds();
    let err = o.err();
    let line = err.lines().find(|l| l.starts_with("  verified")).unwrap();
    assert_eq!(
        line, "  verified  sha512 (--expect), sha256 (SHA256SUMS)",
        "{err}"
    );
}

#[test]
fn expect_sha256_sha512_and_blake2b512() {
    let tmp = tempfile::tempdir().unwrap();
    let xz = with_existing_layout(tmp.path());
    // Without a check nothing is reported as verified.
    let (_, r) = import(tmp.path(), &["rootfs.tar.xz", "-q", "-o", "plain"]);
    assert_eq!(
        r["layers"][0]["checksums_verified"],
        serde_json::json!([]),
        "{r}"
    );
    for (algo, hexd) in [
        ("sha256", sha256_hex(&xz)),
        ("sha512", sha512_hex(&xz)),
        ("blake2b512", blake2b512_hex(&xz)),
        // Any case.
        ("SHA256", sha256_hex(&xz).to_uppercase()),
    ] {
        let out = format!("exp-{algo}");
        let (_, r) = import(
            tmp.path(),
            &[
                "rootfs.tar.xz",
                "-q",
                "-o",
                &out,
                "--expect",
                &format!("{algo}:{hexd}"),
            ],
        );
        assert_eq!(
            r["layers"][0]["checksums_verified"],
            json!([format!("{} (--expect)", algo.to_lowercase())]),
            "{algo}"
        );
        assert_eq!(r["layers"][0]["input_digest"], sha256(&xz).as_str());
        assert_eq!(check_layout(&tmp.path().join(&out)), 3, "{algo}");
    }
    // Bad values are usage errors.
    for (bad, want) in [
        (
            "md5:900150983cd24fb0d6963f7d28e17f72",
            "unsupported checksum algorithm",
        ),
        ("sha256:abc", "64 hex digits, got 3"),
        ("deadbeef", "is not ALGO:HEX"),
    ] {
        run(tmp.path(), &["rootfs.tar.xz", "-o", "bad", "--expect", bad]).usage_error(want);
        assert!(!tmp.path().join("bad").exists());
    }
}

#[test]
fn checksum_files_of_every_style() {
    let tmp = tempfile::tempdir().unwrap();
    let xz = with_existing_layout(tmp.path());
    let (s256, s512, b2) = (sha256_hex(&xz), sha512_hex(&xz), blake2b512_hex(&xz));
    let other = sha256_hex(b"other");
    let other512 = sha512_hex(b"other");
    let other_b2 = blake2b512_hex(b"other");
    let digests = format!(
        "-----BEGIN PGP SIGNED MESSAGE-----\n\
         Hash: SHA512\n\
         \n\
         # BLAKE2B HASH\n\
         {b2}  rootfs.tar.xz\n\
         # SHA512 HASH\n\
         {s512}  rootfs.tar.xz\n\
         # BLAKE2B HASH\n\
         {other_b2}  rootfs.tar.xz.CONTENTS.gz\n\
         # SHA512 HASH\n\
         {other512}  rootfs.tar.xz.CONTENTS.gz\n\
         -----BEGIN PGP SIGNATURE-----\n\
         \n\
         iQIzBAEBCgAdFiEEexample\n\
         =abcd\n\
         -----END PGP SIGNATURE-----\n"
    );
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "SHA256SUMS",
            format!("{other}  other.tar.xz\n{s256}  rootfs.tar.xz\n"),
            vec!["sha256 (SHA256SUMS)"],
        ),
        (
            "SHA256SUMS.binary",
            format!("{other}  other.tar.xz\n{s256} *./dl/rootfs.tar.xz\n"),
            vec!["sha256 (SHA256SUMS.binary)"],
        ),
        (
            "CHECKSUM.bsd",
            format!("SHA512 (other.tar.xz) = {other512}\nSHA512 (rootfs.tar.xz) = {s512}\n"),
            vec!["sha512 (CHECKSUM.bsd)"],
        ),
        (
            "rootfs.tar.xz.DIGESTS",
            digests,
            vec![
                "blake2b512 (rootfs.tar.xz.DIGESTS)",
                "sha512 (rootfs.tar.xz.DIGESTS)",
            ],
        ),
        (
            "rootfs.tar.xz.sha256",
            format!("{s256}\n"),
            vec!["sha256 (rootfs.tar.xz.sha256)"],
        ),
    ];
    for (file, text, want) in cases {
        std::fs::write(tmp.path().join(file), &text).unwrap();
        let out = format!("sums-{file}");
        let (_, r) = import(
            tmp.path(),
            &["rootfs.tar.xz", "-q", "-o", &out, "--checksums", file],
        );
        assert_eq!(r["layers"][0]["checksums_verified"], json!(want), "{file}");
        assert_eq!(check_layout(&tmp.path().join(&out)), 3, "{file}");
    }
    // An input and a checksum file in another directory: looked up by base name.
    std::fs::create_dir(tmp.path().join("dl")).unwrap();
    std::fs::write(tmp.path().join("dl/rootfs.tar.xz"), &xz).unwrap();
    std::fs::write(
        tmp.path().join("dl/SHA512SUMS"),
        format!("{other512}  other.tar.xz\n{s512}  rootfs.tar.xz\n"),
    )
    .unwrap();
    let (_, r) = import(
        tmp.path(),
        &[
            "dl/rootfs.tar.xz",
            "-q",
            "-o",
            "subdir",
            "--checksums",
            "dl/SHA512SUMS",
        ],
    );
    assert_eq!(
        r["layers"][0]["checksums_verified"],
        json!(["sha512 (dl/SHA512SUMS)"])
    );
    // --expect and --checksums together: both are checked.
    let (_, r) = import(
        tmp.path(),
        &[
            "rootfs.tar.xz",
            "-q",
            "-o",
            "both",
            "--checksums",
            "SHA256SUMS",
            "--expect",
            &format!("blake2b512:{b2}"),
        ],
    );
    assert_eq!(
        r["layers"][0]["checksums_verified"],
        json!(["blake2b512 (--expect)", "sha256 (SHA256SUMS)"])
    );
}

#[test]
fn checksum_mismatch_or_unlisted_input_publishes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let xz = with_existing_layout(tmp.path());
    let gz = gzip_bytes(&rootfs_tar());
    std::fs::write(tmp.path().join("rootfs.tar.gz"), &gz).unwrap();
    let layout = tmp.path().join("img");
    let before = snapshot(&layout);
    let wrong256 = sha256_hex(b"not the input");
    let wrong_b2 = blake2b512_hex(b"not the input");
    std::fs::write(
        tmp.path().join("WRONG.DIGESTS"),
        format!(
            "# BLAKE2B HASH\n{wrong_b2}  rootfs.tar.xz\n# SHA512 HASH\n{}  rootfs.tar.xz\n",
            sha512_hex(&xz)
        ),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("SHA256SUMS"),
        format!("{}  other.tar.xz\n", sha256_hex(&xz)),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("GZ.SUMS"),
        format!("{wrong256}  rootfs.tar.gz\n"),
    )
    .unwrap();
    let expect_wrong = format!("sha256:{wrong256}");
    let cases: Vec<(Vec<&str>, Vec<String>)> = vec![
        (
            vec!["rootfs.tar.xz", "--expect", &expect_wrong],
            vec![
                "sha256 mismatch".into(),
                format!("expected {wrong256}"),
                format!("found {}", sha256_hex(&xz)),
                "--expect".into(),
            ],
        ),
        (
            vec!["rootfs.tar.xz", "--checksums", "WRONG.DIGESTS"],
            vec![
                "blake2b512 mismatch".into(),
                "WRONG.DIGESTS".into(),
                format!("found {}", blake2b512_hex(&xz)),
            ],
        ),
        (
            vec!["rootfs.tar.xz", "--checksums", "SHA256SUMS"],
            vec!["SHA256SUMS does not list rootfs.tar.xz".into()],
        ),
        // A passthrough layer (gzip kept as is) is refused all the same.
        (
            vec!["rootfs.tar.gz", "--checksums", "GZ.SUMS"],
            vec![
                "sha256 mismatch".into(),
                format!("found {}", sha256_hex(&gz)),
            ],
        ),
        (
            vec!["rootfs.tar.xz", "--checksums", "MISSING.SUMS"],
            vec!["MISSING.SUMS: No such file".into()],
        ),
    ];
    for (args, wants) in cases {
        refused_into_img_and_fresh(tmp.path(), &args, &wants);
    }
    // A lone digest with no file name cannot say which of two inputs it is for.
    std::fs::write(
        tmp.path().join("BARE.sha256"),
        format!("{}\n", sha256_hex(&xz)),
    )
    .unwrap();
    run(
        tmp.path(),
        &[
            "rootfs.tar.xz",
            "rootfs.tar.gz",
            "--checksums",
            "BARE.sha256",
            "-o",
            "img",
        ],
    ).usage_error("BARE.sha256 holds a digest with no file name, which cannot say which of the 2 inputs it is for");
    assert_eq!(snapshot(&layout), before);
}

/// The SHA-1 of `data` in hex.
fn sha1_hex(data: &[u8]) -> String {
    use sha1::Digest;
    hex(&sha1::Sha1::digest(data))
}

/// A Gentoo-style DIGESTS file: every algorithm a file lists for the input
/// and ociimport can compute is checked, weak ones too (a wrong SHA-1 beside
/// a right SHA-512 is refused); one it cannot compute gets a warning; weak
/// ones alone verify nothing.
#[test]
fn digests_files_check_every_algorithm_they_list() {
    let tmp = tempfile::tempdir().unwrap();
    let xz = with_existing_layout(tmp.path());
    let (s512, sha1) = (sha512_hex(&xz), sha1_hex(&xz));
    let wrong_sha1 = sha1_hex(b"not the input");
    let digests = |sha1: &str, extra: &str| {
        format!(
            "# SHA512 HASH\n{s512}  rootfs.tar.xz\n# SHA1 HASH\n{sha1}  rootfs.tar.xz\n{extra}\
             # SHA512 HASH\n{}  rootfs.tar.xz.CONTENTS.gz\n",
            sha512_hex(b"contents")
        )
    };
    let file = "rootfs.tar.xz.DIGESTS";
    std::fs::write(tmp.path().join(file), digests(&wrong_sha1, "")).unwrap();
    refused_into_img_and_fresh(
        tmp.path(),
        &["rootfs.tar.xz", "--checksums", file],
        &[format!(
            "ociimport: error: rootfs.tar.xz: sha1 mismatch for the input (from {file}): expected {wrong_sha1}, found {sha1}\n"
        )],
    );

    std::fs::write(tmp.path().join(file), digests(&sha1, "")).unwrap();
    // --arch: the fixture has no ELF files, which would warn too.
    let args = ["rootfs.tar.xz", "--arch", "amd64", "--checksums", file];
    let (o, r) = import(tmp.path(), &[&args[..], &["-o", "both"]].concat());
    assert_eq!(
        r["layers"][0]["checksums_verified"],
        json!([format!("sha512 ({file})"), format!("sha1 ({file})")])
    );
    assert!(!o.err().contains("warning"), "{}", o.err());

    // An algorithm ociimport cannot compute is named, not dropped silently.
    let whirlpool = format!("# WHIRLPOOL HASH\n{}  rootfs.tar.xz\n", sha512_hex(b"?"));
    std::fs::write(tmp.path().join(file), digests(&sha1, &whirlpool)).unwrap();
    let (o, r) = import(tmp.path(), &[&args[..], &["-o", "whirl"]].concat());
    let warning = format!(
        "rootfs.tar.xz: {file} also lists a WHIRLPOOL digest, an algorithm ociimport cannot compute: not checked"
    );
    assert_eq!(r["warnings"], json!([warning]));
    let err = o.err();
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(lines, [format!("ociimport: warning: {warning}")], "{err}");
    assert_eq!(check_layout(&tmp.path().join("whirl")), 3);

    // MD5 and SHA-1 alone verify nothing, even when they match.
    std::fs::write(
        tmp.path().join("WEAK"),
        format!("SHA1 (rootfs.tar.xz) = {sha1}\n{whirlpool}"),
    )
    .unwrap();
    refused_into_img_and_fresh(
        tmp.path(),
        &["rootfs.tar.xz", "--checksums", "WEAK"],
        &["ociimport: error: rootfs.tar.xz: WEAK lists rootfs.tar.xz only with sha1, too weak to verify it (collisions can be made); use a checksum file with sha256, sha512 or blake2b512, or --expect\n".into()],
    );
}

// ---------------------------------------------------------------- stdin

#[test]
fn stdin_works_with_options() {
    let tmp = tempfile::tempdir().unwrap();
    let tar = rootfs_tar();
    let xz = xz_bytes(&tar);
    std::fs::write(
        tmp.path().join("SHA256SUMS"),
        format!("{}  stdin\n{}  -\n", sha256_hex(&xz), sha256_hex(&xz)),
    )
    .unwrap();
    // --checksums has no name to look up for stdin: usage error.
    run_in(
        tmp.path(),
        &["-", "-o", "c", "--checksums", "SHA256SUMS"],
        Some(&xz),
        &[],
    )
    .usage_error("--checksums")
    .says("--expect");
    assert!(!tmp.path().join("c").exists());

    // --expect, --change, --label and --message apply to stdin.
    let o = run_in(
        tmp.path(),
        &[
            "-",
            "-q",
            "--json",
            "-o",
            "e",
            "--expect",
            &format!("sha512:{}", sha512_hex(&xz)),
            "--change",
            r#"CMD ["/bin/hello"]"#,
            "--label",
            "from=stdin",
            "-m",
            "piped",
        ],
        Some(&xz),
        &[],
    );
    let r = report(&o);
    let layer = &r["layers"][0];
    assert_eq!(layer["input"], "-");
    assert_eq!(layer["input_digest"], sha256(&xz).as_str());
    assert_eq!(layer["diff_id"], sha256(&tar).as_str());
    assert_eq!(layer["checksums_verified"], json!(["sha512 (--expect)"]));
    let cfg = config_of(&tmp.path().join("e"), &r);
    assert_eq!(cfg["config"]["Cmd"], json!(["/bin/hello"]));
    assert_eq!(cfg["config"]["Labels"], json!({"from": "stdin"}));
    assert_eq!(cfg["history"][0]["comment"], "piped");
    assert_eq!(cfg["history"][0]["created_by"], "ociimport 0.1.0 stdin");
    assert_eq!(check_layout(&tmp.path().join("e")), 3);

    // A wrong --expect on stdin: refused, nothing created.
    run_in(
        tmp.path(),
        &[
            "-",
            "-o",
            "w",
            "--expect",
            &format!("sha256:{}", sha256_hex(b"nope")),
        ],
        Some(&xz),
        &[],
    )
    .refused("sha256 mismatch");
    assert!(!tmp.path().join("w").exists());

    // stdin as the second of two inputs, and twice.
    std::fs::write(tmp.path().join("first.tar"), &tar).unwrap();
    let o = run_in(
        tmp.path(),
        &["first.tar", "-", "-q", "--json", "-o", "two"],
        Some(&xz),
        &[],
    );
    let r = report(&o);
    assert_eq!(r["layers"][1]["input"], "-");
    assert_eq!(r["layers"][1]["input_digest"], sha256(&xz).as_str());
    run_in(tmp.path(), &["-", "-", "-o", "dup"], Some(&xz), &[]).usage_error("only once");
}

// ---------------------------------------------------------------- oci-archive

/// Entry names of an archive, checking every header is normalized.
fn archive_names(bytes: &[u8]) -> Vec<String> {
    let mut ar = tar::Archive::new(bytes);
    let mut names = Vec::new();
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        let h = e.header();
        let name = e.path().unwrap().display().to_string();
        assert_eq!(h.mtime().unwrap(), 0, "{name}");
        assert_eq!(h.uid().unwrap(), 0, "{name}");
        assert_eq!(h.gid().unwrap(), 0, "{name}");
        let dir = h.entry_type() == tar::EntryType::Directory;
        assert_eq!(dir, name.ends_with('/'), "{name}");
        assert_eq!(h.mode().unwrap(), if dir { 0o755 } else { 0o644 }, "{name}");
        names.push(name);
    }
    names
}

fn expected_archive_names(r: &Value) -> Vec<String> {
    let mut blobs: Vec<String> = [
        &r["manifest"]["digest"],
        &r["config"]["digest"],
        &r["layers"][0]["digest"],
    ]
    .iter()
    .map(|d| {
        format!(
            "blobs/sha256/{}",
            d.as_str().unwrap().strip_prefix("sha256:").unwrap()
        )
    })
    .collect();
    blobs.sort();
    let mut names = vec!["blobs/".to_string(), "blobs/sha256/".to_string()];
    names.extend(blobs);
    names.push("index.json".into());
    // Docker's manifest.json, beside the layout.
    names.push("manifest.json".into());
    names.push("oci-layout".into());
    names
}

#[test]
fn oci_archive_to_a_file_is_deterministic_and_a_valid_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let tar = arm64_rootfs();
    std::fs::write(tmp.path().join("arm.tar.xz"), xz_bytes(&tar)).unwrap();
    let args = |out: &'static str| {
        vec![
            "arm.tar.xz",
            "-q",
            "--format",
            "oci-archive",
            "-o",
            out,
            "-t",
            "v1",
            "--change",
            "CMD [\"/bin/busybox\"]",
        ]
    };
    let (_, r) = import(tmp.path(), &args("x.tar"));
    let (_, r2) = import(tmp.path(), &args("y.tar"));
    assert_eq!(r["layout"], "x.tar");
    assert_eq!(r["manifest"], r2["manifest"]);
    let x = std::fs::read(tmp.path().join("x.tar")).unwrap();
    let y = std::fs::read(tmp.path().join("y.tar")).unwrap();
    assert_eq!(sha256(&x), sha256(&y), "two runs differ");
    assert_eq!(x, y);
    let names = archive_names(&x);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries are sorted");
    assert_eq!(names, expected_archive_names(&r));
    no_temp_files(tmp.path());

    // Its contents are a sound layout holding what the report says.
    let unpacked = tmp.path().join("unpacked");
    tar::Archive::new(&x[..]).unpack(&unpacked).unwrap();
    assert_eq!(check_layout(&unpacked), 3);
    let index = read_json(&unpacked.join("index.json"));
    assert_eq!(index["manifests"][0]["digest"], r["manifest"]["digest"]);
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        "v1"
    );
    let cfg = config_of(&unpacked, &r);
    assert_eq!(cfg["architecture"], "arm64");
    assert_eq!(cfg["config"]["Cmd"], json!(["/bin/busybox"]));
    assert_eq!(cfg["rootfs"]["diff_ids"], json!([sha256(&tar)]));

    // Default name: the input's name plus .oci.tar.
    run(tmp.path(), &["arm.tar.xz", "-q", "--format", "oci-archive"]).succeeds();
    let default = std::fs::read(tmp.path().join("arm.oci.tar")).unwrap();
    assert_eq!(archive_names(&default).len(), 8);

    // A refused input writes no archive and leaves no temp directory.
    std::fs::write(tmp.path().join("bad.tar.xz"), &x[..100]).unwrap();
    run(
        tmp.path(),
        &["bad.tar.xz", "--format", "oci-archive", "-o", "z.tar"],
    )
    .exits(1);
    assert!(!tmp.path().join("z.tar").exists());
    no_temp_files(tmp.path());
    // And a refused import keeps an existing archive as it was.
    run(
        tmp.path(),
        &["bad.tar.xz", "--format", "oci-archive", "-o", "x.tar"],
    )
    .exits(1);
    assert_eq!(std::fs::read(tmp.path().join("x.tar")).unwrap(), x);
}

#[test]
fn oci_archive_to_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let tar = rootfs_tar();
    let gz = gzip_bytes(&tar);
    std::fs::write(tmp.path().join("rootfs.tar.gz"), &gz).unwrap();
    let args = ["rootfs.tar.gz", "--format", "oci-archive", "-o", "-"];
    let a = run(tmp.path(), &args).succeeds();
    let b = run(tmp.path(), &args).succeeds();
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout, "two runs differ");
    // The summary goes to stderr, naming the destination.
    assert!(
        stderr(&a).contains("imported 1 layer(s) into -"),
        "{}",
        stderr(&a)
    );
    // Same bytes as the archive written to a file.
    run(
        tmp.path(),
        &[
            "rootfs.tar.gz",
            "-q",
            "--format",
            "oci-archive",
            "-o",
            "f.tar",
        ],
    )
    .succeeds();
    assert_eq!(std::fs::read(tmp.path().join("f.tar")).unwrap(), a.stdout);

    let names = archive_names(&a.stdout);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    let unpacked = tmp.path().join("u");
    tar::Archive::new(&a.stdout[..]).unpack(&unpacked).unwrap();
    assert_eq!(check_layout(&unpacked), 3);
    // The gzip input is the layer, byte for byte.
    assert!(unpacked.join("blobs/sha256").join(sha256_hex(&gz)).exists());
    let index = read_json(&unpacked.join("index.json"));
    let manifest = json_blob(&unpacked, &index["manifests"][0]["digest"]);
    let cfg = json_blob(&unpacked, &manifest["config"]["digest"]);
    assert_eq!(cfg["rootfs"]["diff_ids"], json!([sha256(&tar)]));

    // stdin in, archive out.
    let o = run_in(
        tmp.path(),
        &["-", "-q", "--format", "oci-archive", "-o", "-"],
        Some(&gz),
        &[],
    )
    .succeeds();
    let names = archive_names(&o.stdout);
    assert_eq!(names.len(), 8, "{names:?}");
    // The same layer blob (the gzip input); the config differs only in its
    // history line, which names stdin.
    assert!(
        names.contains(&format!("blobs/sha256/{}", sha256_hex(&gz))),
        "{names:?}"
    );

    // Usage errors around -o -.
    for (extra, want) in [
        (vec![], "needs --format oci-archive"),
        (
            vec!["--format", "oci-archive", "--json"],
            "both want standard output",
        ),
    ] {
        let mut all = vec!["rootfs.tar.gz", "-o", "-"];
        all.extend_from_slice(&extra);
        let o = run(tmp.path(), &all).exits(2);
        assert!(o.stdout.is_empty(), "{extra:?}");
        assert!(stderr(&o).contains(want), "{extra:?}: {}", stderr(&o));
    }
}

// ---------------------------------------------------------------- --max-size

#[test]
fn max_size_caps_the_uncompressed_stream() {
    let tmp = tempfile::tempdir().unwrap();
    with_existing_layout(tmp.path());
    let tar = rootfs_tar();
    std::fs::write(tmp.path().join("rootfs.tar.gz"), gzip_bytes(&tar)).unwrap();
    let layout = tmp.path().join("img");
    let before = snapshot(&layout);
    let exact = tar.len().to_string();
    let one_less = (tar.len() - 1).to_string();
    for (input, limit) in [
        ("rootfs.tar.xz", "1K"),
        ("rootfs.tar.gz", "1k"),
        ("rootfs.tar.xz", one_less.as_str()),
    ] {
        for out in ["img", "fresh"] {
            run(tmp.path(), &[input, "-o", out, "--max-size", limit])
                .refused("--max-size")
                .says(input);
            assert_eq!(snapshot(&layout), before, "{input} {limit}");
            assert!(!tmp.path().join("fresh").exists(), "{input} {limit}");
        }
    }
    let o = run(
        tmp.path(),
        &["rootfs.tar.xz", "-o", "x", "--max-size", "1K"],
    );
    assert!(
        stderr(&o).contains("--max-size 1024 bytes"),
        "{}",
        stderr(&o)
    );
    for (limit, out) in [("8G", "big"), (exact.as_str(), "exact")] {
        let (_, r) = import(
            tmp.path(),
            &["rootfs.tar.xz", "-q", "-o", out, "--max-size", limit],
        );
        assert_eq!(r["layers"][0]["uncompressed_size"], tar.len() as u64);
        assert_eq!(check_layout(&tmp.path().join(out)), 3, "{limit}");
    }
    for bad in ["8X", "lots", "99999999999T"] {
        run(tmp.path(), &["rootfs.tar.xz", "-o", "b", "--max-size", bad]).usage_error("--max-size");
        assert!(!tmp.path().join("b").exists());
    }
}

// ---------------------------------------------------------------- known bugs

/// `--label KEY=VALUE` is documented as KEY=VALUE, but the value is re-lexed
/// as Dockerfile `LABEL` syntax: spaces split it, quotes and backslashes vanish.
#[test]
fn label_values_are_taken_literally() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(testdata("rootfs.tar"), tmp.path().join("rootfs.tar")).unwrap();
    let (_, r) = import(
        tmp.path(),
        &[
            "rootfs.tar",
            "-q",
            "-o",
            "img",
            "--label",
            "description=my image",
            "--label",
            r#"quoted="x""#,
            "--label",
            r"path=C:\dir",
        ],
    );
    let cfg = config_of(&tmp.path().join("img"), &r);
    assert_eq!(
        cfg["config"]["Labels"],
        json!({"description": "my image", "quoted": "\"x\"", "path": "C:\\dir"})
    );
    // Without `=` it is not KEY=VALUE.
    run(tmp.path(), &["rootfs.tar", "-o", "nokv", "--label", "k v"]).exits(2);
}

/// The summary's "use it" lines name the `oci:` transport, which wants a
/// layout directory; an archive is `oci-archive:`.
#[test]
fn archive_summary_names_the_oci_archive_transport() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(testdata("rootfs.tar"), tmp.path().join("rootfs.tar")).unwrap();
    let o = run(
        tmp.path(),
        &["rootfs.tar", "--format", "oci-archive", "-o", "x.tar"],
    )
    .succeeds();
    let err = stderr(&o);
    assert!(
        err.contains("podman load -i x.tar") || err.contains("oci-archive:x.tar"),
        "{err}"
    );
    assert!(!err.contains("oci:x.tar"), "{err}");
}

/// On a terminal (a pty made by `script`), a progress bar with the phase,
/// bytes and size is drawn on stderr; `-q` draws none.
#[test]
fn progress_bar_on_a_terminal_only() {
    let script = std::path::Path::new("/usr/bin/script");
    if !script.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs `script` (bsdutils)"
        );
        eprintln!("skipped: /usr/bin/script (bsdutils) is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // ~48 MiB of incompressible bytes, so the import lasts several redraws.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let data: Vec<u8> = (0..48 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_path("usr/big.bin").unwrap();
    h.set_cksum();
    b.append(&h, &data[..]).unwrap();
    std::fs::write(tmp.path().join("big.tar"), b.into_inner().unwrap()).unwrap();
    let shown = |out: &str, extra: &str| {
        let cmd = format!(
            "{} big.tar -o {out} --threads 1 --compression none {extra}",
            bin().display()
        );
        run_ok(
            std::process::Command::new(script)
                .args(["-qec", &cmd, "/dev/null"])
                .current_dir(tmp.path()),
        )
        .out()
    };
    let tty = shown("out", "");
    assert!(tty.contains("reading big.tar (1/1)"), "{tty}");
    assert!(tty.contains("/48.00 MiB"), "{tty}");
    let quiet = shown("quiet", "-q");
    assert!(!quiet.contains("reading big.tar"), "{quiet}");
    assert!(!quiet.contains("MiB"), "{quiet}");
    // Not a terminal: no bar either, only the summary.
    let o = run(
        tmp.path(),
        &["big.tar", "-o", "piped", "--compression", "none"],
    );
    assert!(!stderr(&o).contains("reading big.tar"), "{}", stderr(&o));
}

/// A local checksum file is read under a cap, not whole (issue 24 point 8):
/// one over 64 MiB is refused naming it, before any input is read.
#[test]
fn an_oversized_local_checksum_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("r.tar"), rootfs_tar()).unwrap();
    let big = std::fs::File::create(tmp.path().join("SHA256SUMS")).unwrap();
    big.set_len((64 << 20) + 1).unwrap();
    let o = run(
        tmp.path(),
        &["r.tar", "--checksums", "SHA256SUMS", "-o", "img"],
    )
    .refused("SHA256SUMS: larger than 64 MiB, too large for a checksum file");
    assert_eq!(o.err().lines().count(), 1, "{}", o.err());
    assert!(!tmp.path().join("img").exists());
}

/// A rootfs wrapped in a top-level directory (an Arch bootstrap's
/// `root.x86_64/`): no executable at the root's bin/lib paths, but some one
/// level down, so the warning names `--strip-components 1` (issue 23 point
/// 4); unwrapped, the platform is detected and nothing is said.
#[test]
fn a_wrapped_rootfs_suggests_strip_components() {
    let tmp = tempfile::tempdir().unwrap();
    let elf = elf64_exec(EM_AARCH64);
    let mut t = Tar::new();
    t.dir("root.x86_64", 0o755)
        .dir("root.x86_64/bin", 0o755)
        .file("root.x86_64/bin/sh", &elf, 0o755)
        .file("version", b"2024.01.01\n", 0o644);
    std::fs::write(tmp.path().join("arch.tar"), t.finish()).unwrap();
    let o = run(tmp.path(), &["arch.tar", "-o", "img"]).succeeds();
    let host = host_goarch();
    assert!(
        o.err().contains(&format!(
            "ociimport: warning: no ELF executables found under bin, sbin, usr/bin, usr/sbin or lib*, but root.x86_64/bin/sh is one: if the rootfs is wrapped in root.x86_64/, unwrap it with --strip-components 1; using the host architecture {host} (set --arch to choose)\n"
        )),
        "{}",
        o.context()
    );
    let o = run(
        tmp.path(),
        &[
            "arch.tar",
            "-o",
            "img2",
            "--strip-components",
            "1",
            "--json",
        ],
    )
    .succeeds();
    assert!(!o.err().contains("warning"), "{}", o.context());
    assert_eq!(report(&o)["platform"]["architecture"], "arm64");

    // `tar -C dir -cf - .` names it ./root.x86_64/…: GNU tar, bsdtar and
    // ociimport count the `.`, so the hint says 2, and 2 unwraps it.
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(tree.join("root.x86_64/bin")).unwrap();
    std::fs::write(tree.join("root.x86_64/bin/sh"), &elf).unwrap();
    let made = std::process::Command::new("tar")
        .arg("-C")
        .arg(&tree)
        .arg("-cf")
        .arg(tmp.path().join("dot.tar"))
        .arg(".")
        .status()
        .unwrap();
    assert!(made.success());
    let o = run(tmp.path(), &["dot.tar", "-o", "img3"]).succeeds();
    assert!(
        o.err().contains(
            "but ./root.x86_64/bin/sh is one: if the rootfs is wrapped in root.x86_64/, unwrap it with --strip-components 2;"
        ),
        "{}",
        o.context()
    );
    let args = ["dot.tar", "-o", "img4", "--strip-components", "2", "--json"];
    let o = run(tmp.path(), &args).succeeds();
    assert!(!o.err().contains("warning"), "{}", o.context());
    assert_eq!(report(&o)["platform"]["architecture"], "arm64");
}
