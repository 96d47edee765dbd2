//! End-to-end tests of the `ociimport` binary: every input variant, the
//! guarantees (DiffID, passthrough, reproducibility, nothing published on
//! refusal) and the command-line contract.

use std::path::Path;

use crate::common::*;

fn import_json(dir: &Path, input: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![input, "--json", "-q"];
    args.extend_from_slice(extra);
    report(&run(dir, &args))
}

#[test]
fn every_variant_yields_the_plain_tar_diffid_and_sound_blobs() {
    let tar = rootfs_tar();
    let want_diff = sha256(&tar);
    let tmp = tempfile::tempdir().unwrap();
    for v in variants(&tar) {
        let input = tmp.path().join(format!("{}.in", v.name));
        std::fs::write(&input, &v.bytes).unwrap();
        let out = tmp.path().join(format!("{}.oci", v.name));
        let r = import_json(
            tmp.path(),
            input.to_str().unwrap(),
            &["-o", out.to_str().unwrap()],
        );
        let l = &r["layers"][0];
        assert_eq!(l["diff_id"], want_diff.as_str(), "{}", v.name);
        assert_eq!(l["uncompressed_size"], tar.len() as u64, "{}", v.name);
        assert_eq!(l["entries"], ROOTFS_ENTRIES, "{}", v.name);
        assert_eq!(l["input_compression"], v.format, "{}", v.name);
        assert_eq!(l["input_digest"], sha256(&v.bytes).as_str(), "{}", v.name);
        assert_eq!(l["input_size"], v.bytes.len() as u64, "{}", v.name);
        assert_eq!(l["passthrough"], v.passthrough, "{}", v.name);
        if v.passthrough {
            assert_eq!(l["digest"], l["input_digest"], "{}", v.name);
            assert_eq!(l["size"], v.bytes.len() as u64, "{}", v.name);
        }
        let want_type = match v.format {
            "zstd" => "application/vnd.oci.image.layer.v1.tar+zstd",
            _ => "application/vnd.oci.image.layer.v1.tar+gzip",
        };
        assert_eq!(l["media_type"], want_type, "{}", v.name);
        // Layout-level checks: 1 manifest + 1 config + 1 layer.
        assert_eq!(check_layout(&out), 3, "{}", v.name);
        // The config's diff_ids are the DiffID we computed.
        let config = blob(&out, r["config"]["digest"].as_str().unwrap());
        let cfg: serde_json::Value = serde_json::from_slice(&config).unwrap();
        assert_eq!(cfg["rootfs"]["diff_ids"][0], want_diff.as_str());
        // The newest entry is var/newest at 1700000060.
        assert_eq!(cfg["created"], "2023-11-14T22:14:20Z");
        // And the blob really decodes to the tar.
        let layer = blob(&out, l["digest"].as_str().unwrap());
        let mut decoded = Vec::new();
        use std::io::Read;
        match v.format {
            "zstd" => {
                decoded = zstd::decode_all(&layer[..]).unwrap();
            }
            _ => {
                flate2::read::MultiGzDecoder::new(&layer[..])
                    .read_to_end(&mut decoded)
                    .unwrap();
            }
        }
        assert_eq!(sha256(&decoded), want_diff, "{}", v.name);
    }
}

#[test]
fn each_compression_choice_produces_that_encoding() {
    let tar = rootfs_tar();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("rootfs.tar.xz");
    std::fs::write(&input, xz_bytes(&tar)).unwrap();
    for (choice, media, magic) in [
        (
            "gzip",
            "application/vnd.oci.image.layer.v1.tar+gzip",
            &[0x1f, 0x8b][..],
        ),
        (
            "zstd",
            "application/vnd.oci.image.layer.v1.tar+zstd",
            &[0x28, 0xb5, 0x2f, 0xfd][..],
        ),
        ("none", "application/vnd.oci.image.layer.v1.tar", &tar[..4]),
    ] {
        let out = tmp.path().join(choice);
        let r = import_json(
            tmp.path(),
            "rootfs.tar.xz",
            &["-o", out.to_str().unwrap(), "--compression", choice],
        );
        let l = &r["layers"][0];
        assert_eq!(l["media_type"], media);
        assert_eq!(l["diff_id"], sha256(&tar).as_str());
        let b = blob(&out, l["digest"].as_str().unwrap());
        assert!(b.starts_with(magic), "{choice}");
        if choice == "none" {
            assert_eq!(b, tar);
        }
        check_layout(&out);
    }
    // gzip input re-encoded to zstd, zstd input re-encoded to gzip.
    std::fs::write(tmp.path().join("r.tar.gz"), gzip_bytes(&tar)).unwrap();
    let r = import_json(
        tmp.path(),
        "r.tar.gz",
        &["-o", "z", "--compression", "zstd"],
    );
    assert_eq!(r["layers"][0]["passthrough"], false);
    assert_eq!(
        r["layers"][0]["media_type"],
        "application/vnd.oci.image.layer.v1.tar+zstd"
    );
    assert_eq!(r["layers"][0]["diff_id"], sha256(&tar).as_str());
    // Same format and an explicit level: re-encoded at that level.
    let r = import_json(
        tmp.path(),
        "r.tar.gz",
        &["-o", "g1", "--compression", "gzip", "--level", "1"],
    );
    assert_eq!(r["layers"][0]["passthrough"], false);
}

#[test]
fn output_is_byte_identical_across_runs_and_thread_counts() {
    let tar = rootfs_tar();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("in.tar.xz"), xz_bytes(&tar)).unwrap();
    for comp in ["gzip", "zstd"] {
        let a = tmp.path().join(format!("a-{comp}"));
        let b = tmp.path().join(format!("b-{comp}"));
        for (dir, threads) in [(&a, "1"), (&b, "2")] {
            run(
                tmp.path(),
                &[
                    "in.tar.xz",
                    "-q",
                    "-o",
                    dir.to_str().unwrap(),
                    "--compression",
                    comp,
                    "--threads",
                    threads,
                ],
            )
            .succeeds();
        }
        let sa = snapshot(&a);
        assert_eq!(sa, snapshot(&b), "{comp}: runs differ");
        assert_eq!(
            sa.len(),
            7,
            "{comp}: oci-layout, index.json, blobs/, blobs/sha256/, 3 blobs"
        );
    }
}

#[test]
fn created_comes_from_flag_then_source_date_epoch_then_newest_entry() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(testdata("rootfs.tar"), tmp.path().join("rootfs.tar")).unwrap();
    let r = import_json(
        tmp.path(),
        "rootfs.tar",
        &["-o", "a", "--created", "2024-05-01T14:00:00+02:00"],
    );
    assert_eq!(r["created"], "2024-05-01T12:00:00Z");
    let o = run_in(
        tmp.path(),
        &["rootfs.tar", "-o", "b", "--json", "-q"],
        None,
        &[("SOURCE_DATE_EPOCH", "86400")],
    );
    assert_eq!(report(&o)["created"], "1970-01-02T00:00:00Z");
    let r = import_json(tmp.path(), "rootfs.tar", &["-o", "c", "--created", "@0"]);
    assert_eq!(r["created"], "1970-01-01T00:00:00Z");
    let r = import_json(tmp.path(), "rootfs.tar", &["-o", "d"]);
    assert_eq!(r["created"], "2023-11-14T22:14:20Z");
    assert_eq!(r["created_source"], "newest entry");
}

#[test]
fn default_output_is_the_input_name_without_extensions() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("stage3-amd64-openrc.tar.xz"),
        xz_bytes(&rootfs_tar()),
    )
    .unwrap();
    let o = run(tmp.path(), &["stage3-amd64-openrc.tar.xz"]).succeeds();
    let dir = tmp.path().join("stage3-amd64-openrc");
    assert_eq!(check_layout(&dir), 3);
    let err = stderr(&o);
    // The summary names the digests and the commands to use the output.
    assert!(
        err.contains("podman pull oci:stage3-amd64-openrc:latest"),
        "{err}"
    );
    assert!(
        err.contains("skopeo copy oci:stage3-amd64-openrc:latest"),
        "{err}"
    );
    assert!(err.contains("diff_id   sha256:"), "{err}");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        "latest"
    );
}

#[test]
fn stdin_input_in_one_pass() {
    let tar = rootfs_tar();
    let tmp = tempfile::tempdir().unwrap();
    for v in variants(&tar)
        .into_iter()
        .filter(|v| ["gzip", "multi-block-xz"].contains(&v.name))
    {
        let out = format!("stdin-{}", v.name);
        let o = run_in(
            tmp.path(),
            &["-", "-o", &out, "--json", "-q"],
            Some(&v.bytes),
            &[],
        );
        let r = report(&o);
        assert_eq!(r["layers"][0]["diff_id"], sha256(&tar).as_str());
        assert_eq!(r["layers"][0]["input"], "-");
        assert_eq!(r["layers"][0]["input_digest"], sha256(&v.bytes).as_str());
        check_layout(&tmp.path().join(&out));
    }
    // stdin without --output is a usage error.
    run_in(tmp.path(), &["-"], Some(b"x"), &[]).usage_error("needs --output");
}

#[test]
fn appending_keeps_other_tags_and_moves_an_existing_one() {
    let tar = rootfs_tar();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.tar"), &tar).unwrap();
    std::fs::write(tmp.path().join("b.tar.gz"), gzip_bytes(&tar)).unwrap();
    let a = import_json(tmp.path(), "a.tar", &["-o", "img", "-t", "one"]);
    let b = import_json(tmp.path(), "b.tar.gz", &["-o", "img", "-t", "two"]);
    let c = import_json(
        tmp.path(),
        "b.tar.gz",
        &["-o", "img", "-t", "one", "--created", "@5"],
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("img/index.json")).unwrap()).unwrap();
    let m = index["manifests"].as_array().unwrap();
    assert_eq!(m.len(), 2);
    let by_tag = |t: &str| {
        m.iter()
            .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == t)
            .map(|d| d["digest"].clone())
    };
    assert_eq!(by_tag("two"), Some(b["manifest"]["digest"].clone()));
    assert_eq!(by_tag("one"), Some(c["manifest"]["digest"].clone()));
    assert_ne!(a["manifest"]["digest"], c["manifest"]["digest"]);
    check_layout(&tmp.path().join("img"));
}

#[test]
fn refused_inputs_leave_the_layout_unchanged() {
    let tar = rootfs_tar();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("good.tar"), &tar).unwrap();
    let layout = tmp.path().join("img");
    import_json(tmp.path(), "good.tar", &["-o", layout.to_str().unwrap()]);
    let before = snapshot(&layout);

    let gz = gzip_bytes(&tar);
    let xz = xz_bytes(&tar);
    let zst = zstd_bytes(&tar);
    let bz = bzip2_bytes(&tar);
    let mut gz_bad_crc = gz.clone();
    let n = gz_bad_crc.len();
    gz_bad_crc[n - 8] ^= 0xff; // CRC32 in the trailer
    let mut xz_corrupt = xz.clone();
    let mid = xz_corrupt.len() / 2;
    xz_corrupt[mid] ^= 0x55;
    let with = |a: &[u8], b: &[u8]| [a, b].concat();
    let cut_tar = tar[..512 * 40 + 100].to_vec();
    let gz_then_garbage = format!(
        "the gzip data ends at input byte {0}, followed by bytes that are not gzip; if the archive is whole without them, import only the first {0} bytes (head -c {0})",
        gz.len()
    );
    // Made by the zstd CLI: from a pipe (size unknown) the window stays 2 GiB.
    let long31 = zstd_cli(tmp.path(), &["--long=31"], &tar);
    let dict = trained_dictionary(tmp.path(), &tar, 4242);
    let with_dict = zstd_cli(tmp.path(), &["-D", dict.to_str().unwrap()], &tar);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "input is empty"),
        (
            "unknown",
            b"PK\x03\x04 this is a zip".to_vec(),
            "unrecognised input format (first bytes: 50 4b 03 04",
        ),
        (
            "truncated-gzip",
            gz[..gz.len() / 2].to_vec(),
            "gzip data is corrupt or truncated",
        ),
        (
            "truncated-xz",
            xz[..xz.len() - 10].to_vec(),
            "xz data is corrupt or truncated",
        ),
        (
            "truncated-zstd",
            zst[..zst.len() - 10].to_vec(),
            "zstd data is corrupt or truncated",
        ),
        (
            "truncated-bzip2",
            bz[..bz.len() - 10].to_vec(),
            "bzip2 data is corrupt or truncated",
        ),
        (
            "bad-crc-gzip",
            gz_bad_crc,
            "gzip data is corrupt or truncated",
        ),
        ("corrupt-xz", xz_corrupt, "xz data is corrupt or truncated"),
        (
            "garbage-after-gzip",
            with(&gz, b"trailing garbage"),
            &gz_then_garbage,
        ),
        ("zeros-after-gzip", with(&gz, &[0; 512]), &gz_then_garbage),
        (
            "zstd-long31",
            long31.clone(),
            "the zstd frame needs a 2048 MiB window, more than the 128 MiB allowed; allow it with --zstd-max-window 2G (the layer is then re-encoded: consumers refuse such windows)",
        ),
        (
            "zstd-later-frame-long31",
            with(
                &zstd_bytes(&tar[..1024]),
                &zstd_cli(tmp.path(), &["--long=31"], &tar[1024..]),
            ),
            "a zstd frame needs a window larger than the 128 MiB allowed; allow it with --zstd-max-window 2G",
        ),
        (
            "zstd-dictionary",
            with_dict,
            "the zstd data was compressed with dictionary 4242, which the consumers do not have either; decompress it with its dictionary (zstd -d -D DICT) and import the tar",
        ),
        (
            "garbage-after-xz",
            with(&xz, b"junk"),
            "xz data is corrupt or truncated",
        ),
        (
            "garbage-after-zstd",
            with(&zst, b"junk"),
            "zstd data is corrupt or truncated",
        ),
        (
            "garbage-after-bzip2",
            with(&bz, b"junk"),
            "bzip2 data is corrupt or truncated",
        ),
        (
            "not-a-tar",
            gzip_bytes(&[b'x'; 4096]),
            "is not a tar archive",
        ),
        ("tar-cut-inside-entry", cut_tar.clone(), "ends inside entry"),
        (
            "gzip-tar-cut-inside-entry",
            gzip_bytes(&cut_tar),
            "ends inside entry",
        ),
    ];
    for (name, bytes, want) in cases {
        let input = tmp.path().join(name);
        std::fs::write(&input, &bytes).unwrap();
        run(tmp.path(), &[name, "-o", layout.to_str().unwrap()])
            .refused(want)
            .says(name)
            .one_line();
        assert_eq!(snapshot(&layout), before, "{name}: layout changed");
        // A refused input never creates a new layout either.
        let fresh = tmp.path().join(format!("fresh-{name}"));
        run(tmp.path(), &[name, "-o", fresh.to_str().unwrap()]).exits(1);
        assert!(
            !fresh.exists(),
            "{name}: a refused import created {}",
            fresh.display()
        );
    }
}

/// `zstd -q -c ARGS` over `data` on a pipe, as a user would run it.
fn zstd_cli(dir: &Path, args: &[&str], data: &[u8]) -> Vec<u8> {
    filter_through(dir, "zstd", &[&["-q", "-c"], args].concat(), data)
}

/// A dictionary trained by `zstd --train` on 1 KiB pieces of `data`, with id `id`.
fn trained_dictionary(dir: &Path, data: &[u8], id: u32) -> std::path::PathBuf {
    let samples = dir.join("samples");
    std::fs::create_dir_all(&samples).unwrap();
    for (i, piece) in data.chunks(1024).enumerate() {
        std::fs::write(samples.join(format!("{i:04}")), piece).unwrap();
    }
    let dict = dir.join("dict");
    // The zstd CLI: apt-get install zstd.
    run_ok(
        std::process::Command::new("zstd")
            .args(["-q", "--train", "-r"])
            .arg(&samples)
            .args(["--maxdict=8192", &format!("--dictID={id}"), "-o"])
            .arg(&dict),
    );
    assert_eq!(std::fs::read(&dict).unwrap()[4..8], id.to_le_bytes());
    dict
}

/// `--zstd-max-window` lets large-window frames decode; their layer is
/// re-encoded (first frame: planned; later frame: the file is read again),
/// and from a pipe, which cannot be read again, a later one is refused.
#[test]
fn a_larger_zstd_window_when_allowed_is_decoded_and_re_encoded() {
    let tar = rootfs_tar();
    let tmp = tempfile::tempdir().unwrap();
    let long31 = zstd_cli(tmp.path(), &["--long=31"], &tar);
    // The tar's second half in a second frame, with a 2 GiB window.
    let half = tar.len() / 2;
    let later = [
        zstd_cli(tmp.path(), &[], &tar[..half]),
        zstd_cli(tmp.path(), &["--long=31"], &tar[half..]),
    ]
    .concat();
    std::fs::write(tmp.path().join("long31.tar.zst"), &long31).unwrap();
    std::fs::write(tmp.path().join("later.tar.zst"), &later).unwrap();
    for (input, diff_id) in [
        ("long31.tar.zst", sha256(&tar)),
        ("later.tar.zst", sha256(&tar)),
    ] {
        let out = format!("{input}.oci");
        let o = run(
            tmp.path(),
            &[input, "--json", "-q", "--zstd-max-window", "2G", "-o", &out],
        )
        .succeeds();
        let r = report(&o);
        let l = &r["layers"][0];
        assert_eq!(l["diff_id"], diff_id.as_str(), "{input}");
        assert_eq!(l["passthrough"], false, "{input}");
        assert_eq!(
            l["input_digest"],
            sha256(&std::fs::read(tmp.path().join(input)).unwrap()).as_str()
        );
        let why = l["warnings"][0].as_str().unwrap_or_default();
        assert!(
            why.starts_with("re-encoded as zstd, not kept as is: ") && why.contains("window"),
            "{input}: the warning says why: {why}"
        );
        check_layout(&tmp.path().join(&out));
    }
    let o = run_in(
        tmp.path(),
        &["-", "-o", "piped", "--zstd-max-window", "2G"],
        Some(&later),
        &[],
    )
    .exits(1);
    let err = stderr(&o);
    assert_eq!(
        err.trim_end(),
        "ociimport: error: -: a zstd frame has a window over 128 MiB, which the zstd CLI (used by containers/storage) refuses; its bytes cannot be the layer as they are: use --compression gzip or --compression zstd to re-encode it"
    );
    assert!(!tmp.path().join("piped").exists());
    let o = run_in(
        tmp.path(),
        &[
            "-",
            "-q",
            "--json",
            "-o",
            "piped",
            "--zstd-max-window",
            "2G",
            "--compression",
            "gzip",
        ],
        Some(&later),
        &[],
    )
    .succeeds();
    assert_eq!(report(&o)["layers"][0]["diff_id"], sha256(&tar).as_str());

    // A limit set below the consumers' 128 MiB: the frame that needs 128 MiB
    // is kept as it is once allowed, so the hint promises no re-encoding.
    let long27 = zstd_cli(tmp.path(), &["--long=27"], &tar);
    std::fs::write(tmp.path().join("long27.tar.zst"), &long27).unwrap();
    let o = run(
        tmp.path(),
        &["long27.tar.zst", "-o", "l27", "--zstd-max-window", "64M"],
    )
    .exits(1);
    assert_eq!(
        stderr(&o).trim_end(),
        "ociimport: error: long27.tar.zst: the zstd frame needs a 128 MiB window, more than the 64 MiB allowed; allow it with --zstd-max-window 128M"
    );
    let o = run(tmp.path(), &["long27.tar.zst", "-o", "l27", "--json", "-q"]);
    assert_eq!(report(&o)["layers"][0]["passthrough"], true);
}

#[test]
fn tar_endings_and_trailing_bytes() {
    let tar = rootfs_tar();
    let tmp = tempfile::tempdir().unwrap();
    // Ends at an entry boundary without the two zero blocks: an
    // uncompressed tar is refused (a cut-off download looks the same),
    // with or without --normalize; compressed, its end vouches for it.
    let end = tar.len() - tar.iter().rev().take_while(|&&b| b == 0).count();
    let unmarked = tar[..end.div_ceil(512) * 512].to_vec();
    std::fs::write(tmp.path().join("unmarked.tar"), &unmarked).unwrap();
    let one_zero = [&unmarked[..], &[0u8; 512][..]].concat();
    std::fs::write(tmp.path().join("one-zero.tar"), &one_zero).unwrap();
    for (input, extra) in [
        ("unmarked.tar", None),
        ("unmarked.tar", Some("--normalize")),
        ("one-zero.tar", None),
    ] {
        let mut args = vec![input, "-o", "u"];
        args.extend(extra);
        let size = std::fs::metadata(tmp.path().join(input)).unwrap().len();
        let o = run(tmp.path(), &args).refused(&format!(
            "{input}: the uncompressed tar ends without its end-of-archive marker, as one cut off in transit does; fetch it again (or append two 512-byte zero blocks if it really ends there) (at uncompressed byte {size})"
        ));
        assert_eq!(o.err().lines().count(), 1, "{}", o.err());
        assert!(!tmp.path().join("u").exists());
    }
    std::fs::write(tmp.path().join("unmarked.tar.gz"), gzip_bytes(&unmarked)).unwrap();
    let o = run(tmp.path(), &["unmarked.tar.gz", "-o", "u", "--json"]);
    assert!(
        stderr(&o).contains("without the end-of-archive marker"),
        "{}",
        stderr(&o)
    );
    let r = report(&o);
    assert_eq!(r["layers"][0]["diff_id"], sha256(&unmarked).as_str());
    assert_eq!(r["layers"][0]["entries"], ROOTFS_ENTRIES);
    // Bytes after the marker belong to the stream and to its DiffID.
    let padded = [&tar[..], &[0u8; 10240][..], b"tail"].concat();
    std::fs::write(tmp.path().join("padded.tar.gz"), gzip_bytes(&padded)).unwrap();
    let o = run(tmp.path(), &["padded.tar.gz", "-o", "p", "--json"]);
    let r = report(&o);
    assert_eq!(r["layers"][0]["diff_id"], sha256(&padded).as_str());
    assert_eq!(r["layers"][0]["uncompressed_size"], padded.len() as u64);
    assert!(
        stderr(&o).contains("follow the end-of-archive marker"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn foreign_directories_and_bad_usage_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(testdata("rootfs.tar"), tmp.path().join("rootfs.tar")).unwrap();
    std::fs::create_dir(tmp.path().join("docs")).unwrap();
    std::fs::write(tmp.path().join("docs/notes.txt"), b"mine").unwrap();
    run(tmp.path(), &["rootfs.tar", "-o", "docs"]).refused("is not an OCI image layout");
    assert_eq!(
        std::fs::read_dir(tmp.path().join("docs")).unwrap().count(),
        1
    );
    // A file where the layout should be: said as such, and left alone.
    let o = run(tmp.path(), &["rootfs.tar", "-o", "docs/notes.txt"]).exits(1);
    assert_eq!(
        stderr(&o).trim_end(),
        "ociimport: error: docs/notes.txt: exists and is not a directory; choose another --output (an archive file needs --format oci-archive)"
    );
    assert_eq!(
        std::fs::read(tmp.path().join("docs/notes.txt")).unwrap(),
        b"mine"
    );

    for (args, want) in [
        (
            vec!["rootfs.tar", "-t", "bad tag"],
            "not a valid OCI ref name",
        ),
        (vec!["rootfs.tar", "--level", "0"], "out of range"),
        (
            vec!["rootfs.tar", "--compression", "none", "--level", "3"],
            "--level",
        ),
        (
            vec!["rootfs.tar", "--compression", "xz"],
            "invalid value 'xz'",
        ),
        (vec!["rootfs.tar", "--created", "yesterday"], "RFC 3339"),
    ] {
        run(tmp.path(), &args).usage_error(want);
    }
    run(tmp.path(), &["missing.tar.xz", "-o", "m"]).refused("missing.tar.xz: No such file");
    assert!(!tmp.path().join("m").exists());
}

#[test]
fn sixteen_concurrent_imports_keep_all_tags() {
    let tar = rootfs_tar();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("in.tar.gz"), gzip_bytes(&tar)).unwrap();
    let layout = tmp.path().join("shared");
    let imports = (0..16)
        .map(|i| {
            let (tag, created) = (format!("t{i}"), format!("@{i}"));
            ociimport_in(
                tmp.path(),
                [
                    "in.tar.gz",
                    "-q",
                    "-o",
                    "shared",
                    "-t",
                    &tag,
                    "--created",
                    &created,
                ],
            )
        })
        .collect();
    for run in run_together(imports) {
        run.succeeds();
    }
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let mut tags: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    tags.sort();
    let mut want: Vec<String> = (0..16).map(|i| format!("t{i}")).collect();
    want.sort();
    assert_eq!(tags, want);
    // 16 distinct configs/manifests (different created), one shared layer.
    assert_eq!(check_layout(&layout), 48);
    assert_eq!(
        std::fs::read_dir(layout.join("blobs/sha256"))
            .unwrap()
            .count(),
        33
    );
}

#[test]
fn help_shows_examples_and_completions_and_man_work() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(tmp.path(), &["--help"]).succeeds();
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("Examples:"), "{help}");
    assert!(help.contains("podman pull oci:"), "{help}");
    let o = run(tmp.path(), &["completions", "bash"]).succeeds();
    assert!(String::from_utf8_lossy(&o.stdout).contains("_ociimport()"));
    let o = run(tmp.path(), &["man"]).succeeds();
    assert!(String::from_utf8_lossy(&o.stdout).contains(".TH ociimport"));
}

#[test]
fn lint_warns_about_path_hazards_and_strict_refuses_them() {
    let tmp = tempfile::tempdir().unwrap();
    // A raw header with a `..` path: tar::Builder refuses to write one, so set the bytes.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(4);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    let name = b"../escape";
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_cksum();
    b.append(&h, &b"evil"[..]).unwrap();
    let mut h2 = tar::Header::new_ustar();
    h2.set_size(2);
    h2.set_path("usr/.wh.gone").unwrap();
    h2.set_cksum();
    b.append(&h2, &b"wh"[..]).unwrap();
    let hazard = b.into_inner().unwrap();
    std::fs::write(tmp.path().join("hazard.tar"), &hazard).unwrap();

    let o = run(tmp.path(), &["hazard.tar", "-o", "img", "--json"]);
    let err = stderr(&o);
    let r = report(&o);
    assert!(err.contains("../escape"), "{err}");
    assert!(err.contains(".wh.gone"), "{err}");
    assert_eq!(r["layers"][0]["entries"], 2);
    let before = snapshot(&tmp.path().join("img"));

    run(
        tmp.path(),
        &["hazard.tar", "-o", "img", "-t", "strict", "--strict"],
    )
    .refused("refused by --strict")
    .says("../escape");
    assert_eq!(snapshot(&tmp.path().join("img")), before);
    run(tmp.path(), &["hazard.tar", "-o", "fresh", "--strict"]).exits(1);
    assert!(!tmp.path().join("fresh").exists());
}

/// Parents created for a refused import are removed again.
#[test]
fn parents_made_for_a_refused_import_are_removed() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("hidden.tar"), symlink_claiming_data()).unwrap();
    run(tmp.path(), &["hidden.tar", "-o", "deep/a/b/c"]).exits(1);
    assert!(!tmp.path().join("deep").exists());
}

/// `--level` with `auto`: checked against the real target, ignored (with a
/// warning) for a layer kept as is.
#[test]
fn level_is_checked_against_the_layer_written() {
    let tar = rootfs_tar();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("z.tar.gz"), gzip_bytes(&tar)).unwrap();
    let o = run(
        tmp.path(),
        &["z.tar.gz", "-o", "lv", "--level", "9", "--json"],
    )
    .says("--level 9 not applied");
    assert_eq!(report(&o)["layers"][0]["passthrough"], true);
    std::fs::write(tmp.path().join("r.tar.xz"), xz_bytes(&tar)).unwrap();
    run(tmp.path(), &["r.tar.xz", "-o", "lv2", "--level", "15"]).usage_error("out of range 1..=9");
    assert!(!tmp.path().join("lv2").exists());
}

/// An index that lists the same child many times, nested, is checked and
/// described once per document, not once per path (30³ paths here).
#[test]
fn nested_fan_out_indexes_are_visited_once() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(testdata("rootfs.tar"), tmp.path().join("r.tar")).unwrap();
    let r = import_json(tmp.path(), "r.tar", &["-o", "fan", "--arch", "amd64"]);
    let layout = tmp.path().join("fan");
    let mut child = serde_json::json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": r["manifest"]["digest"],
        "size": r["manifest"]["size"],
    });
    for _ in 0..3 {
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": vec![child.clone(); 30],
        });
        let bytes = serde_json::to_vec(&index).unwrap();
        let digest = sha256(&bytes);
        std::fs::write(
            layout.join("blobs/sha256").join(&digest["sha256:".len()..]),
            &bytes,
        )
        .unwrap();
        child = serde_json::json!({
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": digest,
            "size": bytes.len(),
        });
    }
    child["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": "fan"});
    let top = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [child],
    });
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();

    let out = run(tmp.path(), &["verify", "fan"]).succeeds().out();
    assert!(out.contains("1 manifest, 3 image indexes"), "{out}");
    let o = run(tmp.path(), &["inspect", "fan", "--json"]).succeeds();
    let images: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(images.as_array().map(Vec::len), Some(1), "{images}");
}

/// Run ociimport in `cwd` with its stdout a pipe whose read end is closed
/// before it writes: every write gets EPIPE (Rust ignores SIGPIPE).
fn run_with_closed_stdout(cwd: &Path, args: &[&str]) -> Run {
    let mut cmd = ociimport_in(cwd, args);
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    Run::of(&cmd, child.wait_with_output().unwrap())
}

/// A layout made by importing testdata/rootfs.tar into `cwd/img`.
fn fixture_layout(cwd: &Path) -> std::path::PathBuf {
    std::fs::copy(testdata("rootfs.tar"), cwd.join("rootfs.tar")).unwrap();
    run(cwd, &["rootfs.tar", "-q", "-o", "img"]).succeeds();
    cwd.join("img")
}

/// `ociimport ... | head`: the reader going away is no error, as with
/// ripgrep and fd: exit 0 and nothing on stderr.
#[test]
fn closed_stdout_is_success_and_silent() {
    let tmp = tempfile::tempdir().unwrap();
    fixture_layout(tmp.path());
    let cases: [&[&str]; 9] = [
        &["inspect", "--json", "img"],
        &["inspect", "img"],
        &["man"],
        &["man", "verify"],
        &["completions", "bash"],
        &["verify", "img"],
        &["verify", "--json", "img"],
        // --arch: -q still prints warnings (the guessed architecture).
        &[
            "rootfs.tar",
            "-q",
            "--arch",
            "amd64",
            "-o",
            "img",
            "-t",
            "again",
            "--json",
        ],
        &["--help"],
    ];
    for args in cases {
        let o = run_with_closed_stdout(tmp.path(), args).succeeds();
        assert_eq!(stderr(&o), "", "{args:?}");
    }
    // The import in the list above did publish its tag.
    run(tmp.path(), &["verify", "img:again"]).succeeds();
}

/// A failed verification keeps its exit status when stdout is closed;
/// still no broken-pipe message.
#[test]
fn closed_stdout_keeps_verifys_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = fixture_layout(tmp.path());
    let r = import_json(tmp.path(), "rootfs.tar", &["-o", "img", "-t", "json"]);
    let layer = r["layers"][0]["digest"].as_str().unwrap();
    let path = layout.join("blobs/sha256").join(&layer["sha256:".len()..]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    run(tmp.path(), &["verify", "img"]).exits(1);
    for args in [&["verify", "img"][..], &["verify", "--json", "img"][..]] {
        let o = run_with_closed_stdout(tmp.path(), args).exits(1);
        assert_eq!(stderr(&o), "", "{args:?}");
    }
}

/// Run ociimport in `cwd` with its stdout `/dev/full`: every write gets
/// ENOSPC, as on a full disk.
fn run_with_full_stdout(cwd: &Path, args: &[&str]) -> Run {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut cmd = ociimport_in(cwd, args);
    let output = cmd
        .stdin(std::process::Stdio::null())
        .stdout(full)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    Run::of(&cmd, output)
}

/// `--json > /dev/full`: the tag is committed before the report is
/// written, so the run says the image WAS published, under which tag, and
/// exits 3 (not 1, "refused, nothing changed"); nothing is rolled back.
#[test]
fn a_full_stdout_after_publishing_says_the_tag_was_published() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = fixture_layout(tmp.path());
    let cases: [(&[&str], &str); 2] = [
        // --arch: -q still prints warnings (the guessed architecture).
        (&["--arch", "amd64", "-t", "full"], "the image"),
        (
            &["--index", "--arch", "amd64", "-t", "fullindex"],
            "the image index",
        ),
    ];
    for (extra, what) in cases {
        let tag = extra[extra.len() - 1];
        let args = [&["rootfs.tar", "-q", "--json", "-o", "img"][..], extra].concat();
        let o = run_with_full_stdout(tmp.path(), &args).exits(3);
        assert_eq!(
            stderr(&o),
            format!(
                "ociimport: error: {what} was published to img as {tag}, but the --json report could not be written to standard output: No space left on device (os error 28); it stays published (ociimport inspect img:{tag} describes it)\n"
            )
        );
        // Published whole: the layout verifies, and the tag names what the
        // same import reports when its report can be written.
        run(tmp.path(), &["verify", &format!("img:{tag}")]).succeeds();
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        let tagged: Vec<&serde_json::Value> = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
            .collect();
        assert_eq!(tagged.len(), 1, "{index}");
        let again = [&["rootfs.tar", "-q", "--json", "-o", "again"][..], extra].concat();
        let r = run(tmp.path(), &again).report();
        let digest = r.get("manifest").unwrap_or(&r["index"])["digest"].clone();
        assert_eq!(tagged[0]["digest"], digest, "{r}");
    }
}

/// Every `ociimport-NAME(1)` the main man page refers to is a page that
/// `ociimport man NAME` renders, titled with that name.
#[test]
fn every_man_page_reference_renders() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(tmp.path(), &["man"]).succeeds();
    // roff escapes the hyphen.
    let main = String::from_utf8_lossy(&o.stdout).replace("\\-", "-");
    let mut names: Vec<&str> = main
        .split("ociimport-")
        .skip(1)
        .filter_map(|rest| rest.split_once("(1)").map(|(name, _)| name))
        .filter(|name| name.chars().all(|c| c.is_ascii_lowercase()))
        .collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(
        names,
        ["completions", "gc", "inspect", "man", "verify"],
        "{main}"
    );
    for name in names {
        let o = run(tmp.path(), &["man", name]).succeeds();
        let page = String::from_utf8_lossy(&o.stdout).replace("\\-", "-");
        assert!(
            page.lines()
                .any(|l| l.starts_with(&format!(".TH ociimport-{name} 1 "))),
            "{name}: {page}"
        );
        assert!(
            page.contains(&format!("ociimport {name}")),
            "{name}: {page}"
        );
    }
}

#[test]
fn a_zero_zstd_window_and_overlong_tags_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(testdata("rootfs.tar"), tmp.path().join("rootfs.tar")).unwrap();
    run(tmp.path(), &["rootfs.tar", "-o", "z", "--zstd-max-window", "0"]).usage_error(
        "\"0\": no zstd frame has a window of 0 bytes; give the largest window to decode (e.g. 128M)",
    );
    let long = "t".repeat(129);
    run(tmp.path(), &["rootfs.tar", "-o", "t", "-t", &long]).usage_error(
        "\"tttttttttttttttt...\" is 129 characters long; a tag has at most 128 (Docker and registries refuse longer ones): choose a shorter --tag",
    );
    assert!(!tmp.path().join("z").exists() && !tmp.path().join("t").exists());
    // 128 characters are a tag Docker accepts.
    let ok = "t".repeat(128);
    run(
        tmp.path(),
        &["rootfs.tar", "-o", "t", "-t", &ok, "--arch", "amd64"],
    )
    .succeeds();
    let index = std::fs::read_to_string(tmp.path().join("t/index.json")).unwrap();
    assert!(index.contains(&format!("\"{ok}\"")), "{index}");
}

/// An empty --arch, --os or --variant is a usage error, not a config that
/// verify rejects (issue 24 point 13).
#[test]
fn empty_platform_flags_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("r.tar"), rootfs_tar()).unwrap();
    for flag in ["--arch", "--os", "--variant"] {
        run(tmp.path(), &["r.tar", "-o", "img", flag, ""]).usage_error(&format!(
            "{flag} is empty, which image-index.md's platform object does not allow (a name from its GOOS/GOARCH table and variant list, e.g. --arch amd64, --os linux, --variant v8): give one, or leave the flag out to detect it"
        ));
        assert!(!tmp.path().join("img").exists(), "{flag}");
    }
}
