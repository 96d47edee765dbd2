//! Names (issue 19): `-t TAG` or `-t NAME:TAG`, the default name, the two
//! `index.json` annotations, Docker's `manifest.json` in archives (exact,
//! deterministic, one platform for an `--index` archive), the zstd warning,
//! and `verify`/`inspect` of what carries names. Daemons (docker load, ctr
//! import) are exercised in `tests/docker.rs`; podman load in `interop`.

use std::path::Path;

use crate::common::*;
use serde_json::{Value, json};

const REF: &str = "org.opencontainers.image.ref.name";
const NAME: &str = "io.containerd.image.name";

/// The annotations of the only `index.json` entry of the layout `dir`.
fn annotations(dir: &Path) -> Value {
    let index = read_json(&dir.join("index.json"));
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1, "{index}");
    index["manifests"][0]["annotations"].clone()
}

/// `blobs/sha256/HEX` of a report digest.
fn rel(digest: &Value) -> String {
    format!("blobs/sha256/{}", hex_of(digest.as_str().unwrap()))
}

/// The bytes of entry `name` in the tar `archive`.
fn entry(archive: &[u8], name: &str) -> Option<Vec<u8>> {
    let mut ar = tar::Archive::new(archive);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_str() == Some(name) {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut out).unwrap();
            return Some(out);
        }
    }
    None
}

/// `archive` with entry `name` replaced by `bytes` (same order, same headers otherwise).
fn replace_entry(archive: &[u8], name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut ar = tar::Archive::new(archive);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let mut h = e.header().clone();
        let path = e.path().unwrap().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        if path.to_str() == Some(name) {
            data = bytes.to_vec();
            h.set_size(data.len() as u64);
        }
        b.append_data(&mut h, &path, &data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

fn setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("rootfs.tar"), rootfs_tar()).unwrap();
    tmp
}

#[test]
fn tags_and_references_name_the_image_in_index_json() {
    let tmp = setup();
    let d = tmp.path();
    let base = [
        "rootfs.tar",
        "-q",
        "--json",
        "--created",
        "@0",
        "--arch",
        "amd64",
    ];
    let cases: [(&[&str], &str, &str); 6] = [
        (&["-o", "a"], "a", "docker.io/library/rootfs:latest"),
        (
            &["-o", "b", "-t", "1.0"],
            "b",
            "docker.io/library/rootfs:1.0",
        ),
        (
            &["-o", "c", "-t", "bartest/busy:1.0"],
            "c",
            "docker.io/bartest/busy:1.0",
        ),
        (
            &["-o", "d", "-t", "busybox:2"],
            "d",
            "docker.io/library/busybox:2",
        ),
        (
            &["-o", "e", "-t", "registry.example.org:5000/ns/n"],
            "e",
            "registry.example.org:5000/ns/n:latest",
        ),
        (&["-o", "oci:f:v9"], "f", "docker.io/library/rootfs:v9"),
    ];
    for (args, dir, name) in cases {
        let mut a = base.to_vec();
        a.extend_from_slice(args);
        let r = run(d, &a).succeeds().report();
        assert_eq!(r["name"], name, "{args:?}");
        let tag = name.rsplit(':').next().unwrap();
        assert_eq!(r["tag"], tag, "{args:?}");
        // The ref name is the tag alone; the containerd name the reference.
        assert_eq!(
            annotations(&d.join(dir)),
            json!({REF: tag, NAME: name}),
            "{args:?}"
        );
        // oci:DIR:TAG finds it, and verify passes.
        let out = run(d, &["verify", &format!("oci:{dir}:{tag}")])
            .succeeds()
            .out();
        assert!(out.starts_with("OK: "), "{out}");
    }
    // The summary names it; inspect shows the name under the tag.
    let o = run(
        d,
        &[
            "rootfs.tar",
            "-o",
            "g",
            "-t",
            "bartest/busy:1.0",
            "--arch",
            "amd64",
        ],
    )
    .succeeds();
    assert!(
        o.err()
            .lines()
            .any(|l| l == "  name      docker.io/bartest/busy:1.0"),
        "{}",
        o.err()
    );
    let text = run(d, &["inspect", "g"]).succeeds().out();
    assert!(
        text.starts_with("tag:       1.0\nname:      docker.io/bartest/busy:1.0\nmanifest:  "),
        "{text}"
    );
}

#[test]
fn default_names_come_from_the_input_or_the_output() {
    let tmp = setup();
    let d = tmp.path();
    std::fs::copy(d.join("rootfs.tar"), d.join("Rootfs_Base 2.tar")).unwrap();
    let r = run(
        d,
        &["Rootfs_Base 2.tar", "-q", "--json", "-o", "x", "-t", "2.0"],
    )
    .succeeds()
    .report();
    assert_eq!(r["name"], "docker.io/library/rootfs_base-2:2.0");
    // Standard input: the output's base name.
    let tar = rootfs_tar();
    let o = run_in(
        d,
        &["-", "-q", "--json", "-o", "My.Image.oci"],
        Some(&tar),
        &[],
    )
    .succeeds();
    assert_eq!(o.report()["name"], "docker.io/library/my.image:latest");
    let o = run_in(
        d,
        &["-", "-q", "--format", "oci-archive", "-o", "-"],
        Some(&tar),
        &[],
    )
    .succeeds();
    let manifest: Value =
        serde_json::from_slice(&entry(&o.stdout, "manifest.json").unwrap()).unwrap();
    assert_eq!(manifest[0]["RepoTags"], json!(["image:latest"]));
}

#[test]
fn tag_arguments_are_checked_against_the_reference_grammar() {
    let tmp = setup();
    let d = tmp.path();
    for (tag, want) in [
        (
            "Bar/busy:1",
            "\"Bar/busy\": repository names are lower case; give \"bar/busy\"",
        ),
        (
            "busy@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "holds a digest (@); a digest names content, it cannot be given as a name: give NAME:TAG",
        ),
        (
            "a+b",
            "\"a+b\" is not a Docker tag (letters, digits, _, . and -, not starting with . or -): Docker, containerd and podman could not name the image; choose another --tag",
        ),
        ("x:.1", "\".1\" is not a valid tag"),
        ("a//b:1", "\"a//b\" is not a valid repository name"),
    ] {
        // clap's own form: the error line, then where --help is.
        let o = run(d, &["rootfs.tar", "-o", "img", "-t", tag]).usage_error(want);
        let first = o.err().lines().next().unwrap_or_default().to_string();
        assert!(
            first.starts_with(&format!(
                "error: invalid value '{tag}' for '--tag <TAG|NAME:TAG>': "
            )),
            "{first}"
        );
        assert!(!d.join("img").exists(), "{tag}");
    }
    run(d, &["rootfs.tar", "-o", "oci:img:2", "-t", "x:1"])
        .usage_error("two tags: -t x:1 and -o oci:img:2; give the tag once");
    run(d, &["rootfs.tar", "-o", "img", "--docker-platform", "linux/arm64"])
        .usage_error("--docker-platform linux/arm64 chooses the platform docker load tags in an --index archive: give --index and --format oci-archive, or drop it");
    run(
        d,
        &["--index", "rootfs.tar", "--format", "oci-archive", "-o", "i.tar", "--docker-platform", "arm64"],
    )
    .usage_error("--docker-platform \"arm64\" is not OS/ARCH[/VARIANT]: give e.g. linux/arm64 or linux/arm/v7");
}

#[test]
fn layouts_with_tag_only_entries_keep_working() {
    let tmp = setup();
    let d = tmp.path();
    run(
        d,
        &[
            "rootfs.tar",
            "-q",
            "-o",
            "old",
            "-t",
            "one",
            "--arch",
            "amd64",
        ],
    )
    .succeeds();
    // As an earlier ociimport wrote it: the tag alone.
    let path = d.join("old/index.json");
    let mut index = read_json(&path);
    index["manifests"][0]["annotations"] = json!({REF: "one"});
    std::fs::write(&path, serde_json::to_vec(&index).unwrap()).unwrap();
    run(
        d,
        &[
            "rootfs.tar",
            "-q",
            "-o",
            "old",
            "-t",
            "ns/x:two",
            "--arch",
            "amd64",
        ],
    )
    .succeeds();
    let index = read_json(&path);
    let notes: Vec<&Value> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["annotations"])
        .collect();
    assert_eq!(
        notes,
        [
            &json!({REF: "one"}),
            &json!({REF: "two", NAME: "docker.io/ns/x:two"})
        ]
    );
    assert!(
        run(d, &["verify", "old"])
            .succeeds()
            .out()
            .starts_with("OK: ")
    );
    let text = run(d, &["inspect", "old:one"]).succeeds().out();
    assert!(text.starts_with("tag:       one\nmanifest:  "), "{text}");
}

#[test]
fn archives_carry_docker_s_manifest_json_deterministically() {
    let tmp = setup();
    let d = tmp.path();
    let args = |out: &'static str| {
        vec![
            "rootfs.tar",
            "-q",
            "--json",
            "--created",
            "@0",
            "--arch",
            "amd64",
            "-t",
            "bartest/busy:1.0",
            "--format",
            "oci-archive",
            "-o",
            out,
        ]
    };
    let r = run(d, &args("x.tar")).succeeds().report();
    run(d, &args("y.tar")).succeeds();
    let x = std::fs::read(d.join("x.tar")).unwrap();
    assert_eq!(
        x,
        std::fs::read(d.join("y.tar")).unwrap(),
        "two runs differ"
    );
    let want = format!(
        "[{{\"Config\":\"{}\",\"RepoTags\":[\"bartest/busy:1.0\"],\"Layers\":[\"{}\"]}}]\n",
        rel(&r["config"]["digest"]),
        rel(&r["layers"][0]["digest"])
    );
    assert_eq!(
        String::from_utf8(entry(&x, "manifest.json").unwrap()).unwrap(),
        want
    );
    // Every entry once: the three blobs, no copy of a layer.
    let mut ar = tar::Archive::new(&x[..]);
    let names: Vec<String> = ar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names.len(), 8, "{names:?}");
    assert_eq!(names[5..], ["index.json", "manifest.json", "oci-layout"]);
    let unpacked = d.join("u");
    tar::Archive::new(&x[..]).unpack(&unpacked).unwrap();
    assert_eq!(
        annotations(&unpacked),
        json!({REF: "1.0", NAME: "docker.io/bartest/busy:1.0"})
    );
    // verify passes on the archive and on the unpacked layout with it.
    for target in ["x.tar", "u"] {
        let out = run(d, &["verify", target]).succeeds().out();
        assert!(out.starts_with("OK: "), "{out}");
    }
}

#[test]
fn verify_checks_manifest_json_against_index_json() {
    let tmp = setup();
    let d = tmp.path();
    let r = run(
        d,
        &[
            "rootfs.tar",
            "-q",
            "--json",
            "--arch",
            "amd64",
            "-t",
            "x:1",
            "--format",
            "oci-archive",
            "-o",
            "a.tar",
        ],
    )
    .succeeds()
    .report();
    let a = std::fs::read(d.join("a.tar")).unwrap();
    let layer = rel(&r["layers"][0]["digest"]);
    // Config pointing at the manifest blob instead of the config.
    let wrong = rel(&r["manifest"]["digest"]);
    let bad =
        format!("[{{\"Config\":\"{wrong}\",\"RepoTags\":[\"x:1\"],\"Layers\":[\"{layer}\"]}}]");
    std::fs::write(
        d.join("b.tar"),
        replace_entry(&a, "manifest.json", bad.as_bytes()),
    )
    .unwrap();
    let o = run(d, &["verify", "b.tar"]).exits(1);
    assert_eq!(
        o.out().lines().next().unwrap(),
        format!(
            "manifest.json[0]: Config {wrong} and its 1 layer(s) are not those of any image manifest index.json lists: docker load would load another image than containerd and podman"
        )
    );
    assert!(
        o.out().contains("FAILED: 1 problem; b.tar checked"),
        "{}",
        o.out()
    );
    // The right image under another name.
    let config = rel(&r["config"]["digest"]);
    let renamed =
        format!("[{{\"Config\":\"{config}\",\"RepoTags\":[\"x:2\"],\"Layers\":[\"{layer}\"]}}]");
    std::fs::write(
        d.join("c.tar"),
        replace_entry(&a, "manifest.json", renamed.as_bytes()),
    )
    .unwrap();
    let o = run(d, &["verify", "c.tar"]).exits(1);
    assert_eq!(
        o.out().lines().next().unwrap(),
        "manifest.json[0]: RepoTags x:2 is docker.io/library/x:2, but index.json names that image docker.io/library/x:1 (io.containerd.image.name): docker load would name it otherwise than containerd and podman"
    );
}

#[test]
fn index_archives_tag_one_platform_for_docker() {
    let f = PlatformInputs::new(&[
        ("amd64.tar", EM_X86_64, "amd64"),
        ("arm64.tar", EM_AARCH64, "arm64"),
        ("riscv64.tar", EM_RISCV, "riscv64"),
    ]);
    let config_of = |r: &Value, arch: &str| {
        let img = r["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["platform"]["architecture"] == arch)
            .unwrap_or_else(|| panic!("no {arch} image in {r}"));
        rel(&img["config"]["digest"])
    };
    let manifest_of = |file: &str| -> Value {
        let bytes = std::fs::read(f.path(file)).unwrap();
        serde_json::from_slice(&entry(&bytes, "manifest.json").unwrap()).unwrap()
    };
    let host = host_goarch();
    let both = [
        "--index",
        "amd64.tar",
        "arm64.tar",
        "--format",
        "oci-archive",
        "-t",
        "multi:1",
    ];
    let mut args = both.to_vec();
    args.extend(["-o", "default.tar"]);
    let r = f.import_json(&args).report();
    assert_eq!(r["name"], "docker.io/library/multi:1");
    if host == "amd64" || host == "arm64" {
        let variant = if host == "arm64" { "/v8" } else { "" };
        assert_eq!(r["docker_platform"], format!("linux/{host}{variant}"));
        let m = manifest_of("default.tar");
        assert_eq!(m.as_array().unwrap().len(), 1);
        assert_eq!(m[0]["Config"], config_of(&r, host));
        assert_eq!(m[0]["RepoTags"], json!(["multi:1"]));
    }
    // --docker-platform chooses another; both stay in the index.
    let mut args = both.to_vec();
    args.extend(["-o", "arm.tar", "--docker-platform", "linux/arm64"]);
    let r = f.import_json(&args).report();
    assert_eq!(r["docker_platform"], "linux/arm64/v8");
    assert_eq!(manifest_of("arm.tar")[0]["Config"], config_of(&r, "arm64"));
    assert_eq!(r["platforms"], json!(["linux/amd64", "linux/arm64/v8"]));
    let out = f.run(&["verify", "arm.tar"]).succeeds().out();
    assert!(out.starts_with("OK: "), "{out}");
    // A platform the index lacks is refused, and nothing is written.
    let mut args = both.to_vec();
    args.extend(["-o", "none.tar", "--docker-platform", "linux/s390x"]);
    f.run(&args)
        .usage_error("--docker-platform linux/s390x: the index holds linux/amd64, linux/arm64/v8; choose one of them");
    assert!(!f.path("none.tar").exists());
    // This machine's platform absent: the first input's, with a warning.
    if host != "riscv64" && host != "arm64" {
        let o = f
            .run(&[
                "--index",
                "riscv64.tar",
                "arm64.tar",
                "--format",
                "oci-archive",
                "-o",
                "away.tar",
                "--created",
                "@0",
            ])
            .succeeds();
        let want = format!(
            "ociimport: warning: docker load tags linux/riscv64 (the first input's image; this machine's linux/{host} is not in the index): --docker-platform chooses another"
        );
        assert!(o.err().lines().any(|l| l == want), "{}", o.err());
        assert!(
            o.err()
                .lines()
                .any(|l| l == "  docker    manifest.json tags linux/riscv64 for docker load"),
            "{}",
            o.err()
        );
    }
}

#[test]
fn zstd_archives_warn_about_docker_before_23() {
    let tmp = setup();
    let d = tmp.path();
    let want = "ociimport: warning: zstd layers: Docker before 23.0 cannot load this archive (archive/tar: invalid tar header); give --compression gzip for it";
    let o = run(
        d,
        &[
            "rootfs.tar",
            "--arch",
            "amd64",
            "--compression",
            "zstd",
            "--format",
            "oci-archive",
            "-o",
            "z.tar",
        ],
    )
    .succeeds();
    assert_eq!(
        o.err().lines().filter(|l| *l == want).count(),
        1,
        "{}",
        o.err()
    );
    // gzip archives and zstd layouts get no such warning.
    for args in [
        [
            "rootfs.tar",
            "--arch",
            "amd64",
            "--compression",
            "gzip",
            "--format",
            "oci-archive",
            "-o",
            "g.tar",
        ],
        [
            "rootfs.tar",
            "--arch",
            "amd64",
            "--compression",
            "zstd",
            "--format",
            "oci",
            "-o",
            "zdir",
        ],
    ] {
        let o = run(d, &args).succeeds();
        assert!(!o.err().contains("Docker before 23.0"), "{}", o.err());
    }
}
