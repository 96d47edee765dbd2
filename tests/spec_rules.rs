//! Issue 22: what the consumers refuse in a config, an annotation or a
//! platform is refused at import (exit 2, one line naming the value, the
//! rule and its spec file, and the fix; nothing written) and found by
//! `verify` in a layout made by hand, naming the document and the consumer.
//! Where a consumer is named, it is run on the same hand-made layout to
//! show it refuses what verify flags.
//!
//! Tools: when `CI` is set a missing tool fails the test, naming the tool;
//! otherwise the test prints that it skipped, and passes.
//! Debian packages: skopeo umoci podman.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use ociimport::verify::{VerifyReport, verify};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// fixtures
// ---------------------------------------------------------------------------

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    layout: PathBuf,
}

/// `testdata/rootfs.tar` imported as `img:latest` (amd64, created @0
/// unless `extra` says otherwise).
fn fixture(extra: &[&str]) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    fs::write(dir.join("r.tar"), rootfs_tar()).unwrap();
    let mut args = vec!["r.tar", "-o", "img", "--arch", "amd64", "-q"];
    if !extra.contains(&"--created") {
        args.extend_from_slice(&["--created", "@0"]);
    }
    args.extend_from_slice(extra);
    run(&dir, &args).succeeds();
    let layout = dir.join("img");
    Fixture {
        _tmp: tmp,
        dir,
        layout,
    }
}

fn put(layout: &Path, v: &Value) -> (String, u64) {
    let bytes = serde_json::to_vec(v).unwrap();
    let d = sha256(&bytes);
    fs::write(blob_path(layout, &d), &bytes).unwrap();
    (d, bytes.len() as u64)
}

fn doc(layout: &Path, d: &Value) -> Value {
    read_json(&blob_path(layout, d.as_str().unwrap()))
}

/// Rewrites the image of `index.json`'s first entry (an image manifest, or
/// an index of one) through `edit(index entry, manifest, config)`, keeping
/// every digest consistent; returns the digests of (manifest, config).
fn rewrite(f: &Fixture, edit: impl FnOnce(&mut Value, &mut Value, &mut Value)) -> (String, String) {
    let mut idx = read_json(&f.layout.join("index.json"));
    let top = &mut idx["manifests"][0];
    let nested = top["mediaType"] == "application/vnd.oci.image.index.v1+json";
    let mut inner = nested.then(|| doc(&f.layout, &top["digest"]));
    let entry = match inner.as_mut() {
        Some(i) => &mut i["manifests"][0],
        None => &mut *top,
    };
    let mut m = doc(&f.layout, &entry["digest"]);
    let mut c = doc(&f.layout, &m["config"]["digest"]);
    edit(entry, &mut m, &mut c);
    let (cd, cs) = put(&f.layout, &c);
    m["config"]["digest"] = json!(cd);
    m["config"]["size"] = json!(cs);
    let (md, ms) = put(&f.layout, &m);
    entry["digest"] = json!(md);
    entry["size"] = json!(ms);
    if let Some(i) = inner {
        let (id, is) = put(&f.layout, &i);
        top["digest"] = json!(id);
        top["size"] = json!(is);
    }
    fs::write(
        f.layout.join("index.json"),
        serde_json::to_vec(&idx).unwrap(),
    )
    .unwrap();
    (md, cd)
}

fn run_verify(layout: &Path) -> VerifyReport {
    let r = verify(layout, None).unwrap();
    eprintln!("{}", r.text());
    r
}

/// The report holds exactly the problems `want` (object, digest, message
/// start), and the CLI exits 1 on it.
#[track_caller]
fn assert_problems(f: &Fixture, want: &[(&str, &str, &str)]) {
    let r = run_verify(&f.layout);
    let got: Vec<(String, String, String)> = r
        .problems
        .iter()
        .map(|p| {
            (
                p.object.clone(),
                p.digest.clone().unwrap_or_default(),
                p.message.clone(),
            )
        })
        .collect();
    assert_eq!(got.len(), want.len(), "{}", r.text());
    for ((o, d, m), (wo, wd, wm)) in got.iter().zip(want) {
        assert_eq!((o.as_str(), d.as_str()), (*wo, *wd), "{}", r.text());
        assert_eq!(m, wm, "{}", r.text());
    }
    run(&f.dir, &["verify", f.layout.to_str().unwrap()]).exits(1);
}

const TIME_FIX: &str = "give a time from 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z (@-62167219200 to @253402300799)";
const NOT_RFC3339: &str = "is not an RFC 3339 time with a four-digit year (config.md created: a config-schema.json date-time)";
const LEAP: &str =
    "has second 60, a leap second (config.md created: Go's RFC 3339 parser takes seconds 00-59)";

// ---------------------------------------------------------------------------
// import refuses
// ---------------------------------------------------------------------------

/// Each value is refused with exit 2 and exactly this first line, into an
/// existing layout (left byte for byte) and into a new one (never made).
#[test]
fn import_refuses_what_consumers_refuse() {
    let f = fixture(&[]);
    let cases: Vec<(Vec<&str>, &str, String)> = vec![
        (vec!["--created", "@253402300800"], "", format!(
            "error: invalid value '@253402300800' for '--created <TIME>': \"@253402300800\" =: \"+10000-01-01T00:00:00Z\" {NOT_RFC3339}; {TIME_FIX}")),
        (vec!["--created", "@-62167219201"], "", format!(
            "error: invalid value '@-62167219201' for '--created <TIME>': \"@-62167219201\" =: \"-0001-12-31T23:59:59Z\" {NOT_RFC3339}; {TIME_FIX}")),
        (vec!["--created", "2016-12-31T23:59:60Z"], "", format!(
            "error: invalid value '2016-12-31T23:59:60Z' for '--created <TIME>': \"2016-12-31T23:59:60Z\" {LEAP}; use second 59, or the next second")),
        (vec![], "253402300800", format!(
            "error: SOURCE_DATE_EPOCH=253402300800: \"+10000-01-01T00:00:00Z\" {NOT_RFC3339}; {TIME_FIX}")),
        (vec![], "-62167219201", format!(
            "error: SOURCE_DATE_EPOCH=-62167219201: \"-0001-12-31T23:59:59Z\" {NOT_RFC3339}; {TIME_FIX}")),
        (vec!["--arch", "x86_64"], "", "error: --arch x86_64: \"x86_64\" is not a GOARCH name (image-index.md platform: architecture values are Go's GOARCH); use amd64, its GOARCH name".into()),
        (vec!["--arch", "AMD64"], "", "error: --arch AMD64: \"AMD64\" is not a GOARCH name (image-index.md platform: architecture values are Go's GOARCH); use amd64, its GOARCH name".into()),
        (vec!["--arch", "aarch64"], "", "error: --arch aarch64: \"aarch64\" is not a GOARCH name (image-index.md platform: architecture values are Go's GOARCH); use arm64, its GOARCH name".into()),
        (vec!["--os", "Linux"], "", "error: --os Linux: \"Linux\" is not a GOOS name (image-index.md platform: os values are Go's GOOS); use linux, its GOOS name".into()),
        (vec!["--variant", ""], "", "error: --variant is empty, which image-index.md's platform object does not allow (a name from its GOOS/GOARCH table and variant list, e.g. --arch amd64, --os linux, --variant v8): give one, or leave the flag out to detect it".into()),
        (vec!["--arch", "arm", "--variant", "v9"], "", "error: --variant v9: \"v9\" is not a variant of arm (image-index.md platform table); use v5, v6, v7 or v8".into()),
        (vec!["--arch", "arm64", "--variant", "v7"], "", "error: --variant v7: \"v7\" is not a variant of arm64 (image-index.md platform table); use v8 (or a later ARM version: v8.1, ..., v9, v9.1, ...)".into()),
        (vec!["-c", "USER a:b:c"], "", "error: invalid --change \"USER a:b:c\": \"a:b:c\" is none of config.md's User forms (user, uid, user:group, uid:gid, uid:group, user:gid); give a user or uid, optionally :group or :gid".into()),
        (vec!["-c", "VOLUME /data relative"], "", "error: invalid --change \"VOLUME /data relative\": \"relative\" is not an absolute path (config.md Volumes become mounts by conversion.md, and runtime-spec config.md requires an absolute mount destination); write /relative".into()),
        (vec!["--annotation", "org.opencontainers.image.nope=x"], "", "error: --annotation org.opencontainers.image.nope=x: org.opencontainers.image.nope is not a key the OCI specifications define, and annotations.md reserves the org.opencontainers. prefix for those; use your own reverse-domain prefix, e.g. com.example.".into()),
        (vec!["--annotation", "org.opencontainers.image.created=notadate"], "", "error: --annotation org.opencontainers.image.created=notadate: the value \"notadate\" of org.opencontainers.image.created is not an RFC 3339 time with a four-digit year and seconds 00-59 (annotations.md); e.g. 2024-05-01T12:00:00Z".into()),
        (vec!["--annotation", "org.opencontainers.image.base.digest=nope"], "", "error: --annotation org.opencontainers.image.base.digest=nope: the value \"nope\" of org.opencontainers.image.base.digest is not a digest (annotations.md); e.g. sha256: and 64 lowercase hex digits".into()),
        (vec!["--annotation", "org.opencontainers.image.ref.name=v1"], "", "error: --annotation org.opencontainers.image.ref.name=v1: org.opencontainers.image.ref.name is only valid on the descriptors of index.json (annotations.md, image-layout.md), not in a manifest; name the image with --tag".into()),
        (vec!["--annotation", "io.github.ociimport.x=y"], "", "error: --annotation io.github.ociimport.x: the io.github.ociimport. annotations record where the layers came from and are set by ociimport only".into()),
        (vec!["--label", "org.opencontainers.image.nope=x"], "", "error: --label org.opencontainers.image.nope=x: org.opencontainers.image.nope is not a key the OCI specifications define, and annotations.md reserves the org.opencontainers. prefix for those; use your own reverse-domain prefix, e.g. com.example.".into()),
        (vec!["-c", "LABEL org.opencontainers.image.created=2016-12-31T23:59:60Z"], "", "error: invalid --change \"LABEL org.opencontainers.image.created=2016-12-31T23:59:60Z\": the value \"2016-12-31T23:59:60Z\" of org.opencontainers.image.created is not an RFC 3339 time with a four-digit year and seconds 00-59 (annotations.md); e.g. 2024-05-01T12:00:00Z".into()),
    ];
    let before = snapshot(&f.layout);
    for (extra, epoch, want) in &cases {
        for out in ["img", "fresh"] {
            let mut args = vec!["r.tar", "-o", out];
            args.extend_from_slice(extra);
            let env: &[(&str, &str)] = if epoch.is_empty() {
                &[]
            } else {
                &[("SOURCE_DATE_EPOCH", epoch)]
            };
            let r = run_in(&f.dir, &args, None, env).exits(2);
            assert_eq!(r.err().lines().next(), Some(want.as_str()), "{extra:?}");
            assert_eq!(snapshot(&f.layout), before, "{extra:?}: layout changed");
            assert!(!f.dir.join("fresh").exists(), "{extra:?}: fresh made");
        }
    }
}

/// A `--variant` given without `--arch` is judged against the architecture
/// found in the input, before anything is published.
#[test]
fn variant_for_the_detected_architecture() {
    let p = PlatformInputs::new(&[("a.tar", EM_AARCH64, "a")]);
    let r = p.run(&["a.tar", "-o", "img", "--variant", "v7"]).exits(2);
    assert_eq!(
        r.err().lines().next(),
        Some(
            "error: --variant v7 (for arm64, found in the input): \"v7\" is not a variant of arm64 (image-index.md platform table); use v8 (or a later ARM version: v8.1, ..., v9, v9.1, ...)"
        )
    );
    assert!(!p.path("img").exists());
    let r = p.import_json(&["a.tar", "-o", "img", "--variant", "v9.2"]);
    assert_eq!(
        r.report()["platform"],
        json!({"architecture": "arm64", "os": "linux", "variant": "v9.2"})
    );
    assert!(run_verify(&p.path("img")).ok());
}

/// The accepted forms are written as given, and verify passes them.
#[test]
fn accepted_forms_pass() {
    let f = fixture(&[
        "--created",
        "9999-12-31T23:59:59Z",
        "-c",
        "USER app:1000",
        "-c",
        "VOLUME /data",
        "--annotation",
        "org.opencontainers.image.created=2024-05-01T12:00:00+02:00",
        "--annotation",
        "org.opencontainers.image.base.digest=",
        "--label",
        "org.opencontainers.image.ref.name=ubuntu",
    ]);
    let layout = f.layout.clone();
    let r = run_verify(&layout);
    assert!(r.ok(), "{}", r.text());
    let idx = read_json(&layout.join("index.json"));
    let m = doc(&layout, &idx["manifests"][0]["digest"]);
    let c = doc(&layout, &m["config"]["digest"]);
    assert_eq!(c["created"], "9999-12-31T23:59:59Z");
    assert_eq!(c["config"]["User"], "app:1000");
    assert_eq!(c["config"]["Volumes"], json!({"/data": {}}));
}

// ---------------------------------------------------------------------------
// verify finds, in layouts made by hand
// ---------------------------------------------------------------------------

#[test]
fn verify_finds_times_consumers_cannot_parse() {
    let f = fixture(&[]);
    let (_, cd) = rewrite(&f, |_, _, c| {
        c["created"] = json!("+10000-01-01T00:00:00Z");
        c["history"][0]["created"] = json!("2016-12-31T23:59:60Z");
    });
    assert_problems(
        &f,
        &[
            (
                "tag latest: config",
                &cd,
                &format!(
                    "created: \"+10000-01-01T00:00:00Z\" {NOT_RFC3339}; skopeo and umoci fail on it: parsing time ... cannot parse"
                ),
            ),
            (
                "tag latest: config",
                &cd,
                &format!(
                    "history[0].created: \"2016-12-31T23:59:60Z\" {LEAP}; skopeo and umoci fail on it: second out of range"
                ),
            ),
        ],
    );
    // The consumers the findings name fail on the same layout.
    let image = format!("{}:latest", f.layout.display());
    if have("skopeo") {
        let r = run_cmd(
            Command::new("skopeo")
                .args(["inspect", "--config"])
                .arg(format!("oci:{image}")),
        )
        .fails();
        assert!(
            r.err().contains("cannot parse \\\"+10000-01-01T00:00:00Z"),
            "{}",
            r.err()
        );
    }
    if have("umoci") {
        let r = run_cmd(
            Command::new("umoci")
                .args(["unpack", "--rootless", "--image", &image])
                .arg(f.dir.join("bundle")),
        )
        .fails();
        assert!(
            r.err().contains("cannot parse \"+10000-01-01T00:00:00Z"),
            "{}",
            r.err()
        );
    }
}

#[test]
fn verify_finds_leap_seconds_consumers_refuse() {
    let f = fixture(&[]);
    let (_, cd) = rewrite(&f, |_, _, c| c["created"] = json!("2016-12-31T23:59:60Z"));
    assert_problems(
        &f,
        &[(
            "tag latest: config",
            &cd,
            &format!(
                "created: \"2016-12-31T23:59:60Z\" {LEAP}; skopeo and umoci fail on it: second out of range"
            ),
        )],
    );
    let image = format!("{}:latest", f.layout.display());
    if have("skopeo") {
        let r = run_cmd(
            Command::new("skopeo")
                .args(["inspect", "--config"])
                .arg(format!("oci:{image}")),
        )
        .fails();
        assert!(r.err().contains("second out of range"), "{}", r.err());
    }
    if have("umoci") {
        let r = run_cmd(
            Command::new("umoci")
                .args(["unpack", "--rootless", "--image", &image])
                .arg(f.dir.join("bundle")),
        )
        .fails();
        assert!(r.err().contains("second out of range"), "{}", r.err());
    }
}

#[test]
fn verify_finds_user_volume_and_label_rules() {
    let f = fixture(&[]);
    let (_, cd) = rewrite(&f, |_, _, c| {
        c["config"]["User"] = json!("a:b:c");
        c["config"]["Volumes"] = json!({"/ok": {}, "relative": {}});
        c["config"]["Labels"] = json!({"org.opencontainers.image.nope": "x",
            "org.opencontainers.image.base.digest": "nope", "com.example.free": "x"});
    });
    assert_problems(
        &f,
        &[
            (
                "tag latest: config",
                &cd,
                "config.User: \"a:b:c\" is none of config.md's User forms (user, uid, user:group, uid:gid, uid:group, user:gid); podman run fails (it takes everything after the first : as the group) and so does containerd (invalid USER value)",
            ),
            (
                "tag latest: config",
                &cd,
                "config.Volumes: \"relative\" is not an absolute path (config.md Volumes become mounts by conversion.md, and runtime-spec config.md requires an absolute mount destination); a runtime bundle converted from it is invalid; Docker 20.10 and podman 4.3 mount it at /relative, Docker recording the destination \"relative\"",
            ),
            (
                "tag latest: config",
                &cd,
                "config.Labels org.opencontainers.image.base.digest: the value \"nope\" of org.opencontainers.image.base.digest is not a digest (annotations.md); tools that read the key fail on or misread it",
            ),
            (
                "tag latest: config",
                &cd,
                "config.Labels org.opencontainers.image.nope: org.opencontainers.image.nope is not a key the OCI specifications define, and annotations.md reserves the org.opencontainers. prefix for those; tools that read the reserved keys may give it a meaning it does not have",
            ),
        ],
    );
}

#[test]
fn verify_finds_platform_names_and_variants() {
    let f = fixture(&[]);
    let (_, cd) = rewrite(&f, |_, _, c| {
        c["architecture"] = json!("x86_64");
        c["os"] = json!("Linux");
        c["variant"] = json!("");
    });
    assert_problems(
        &f,
        &[
            (
                "tag latest: config",
                &cd,
                "os: \"Linux\" is not a GOOS name (image-index.md platform: os values are Go's GOOS); podman, skopeo and containerd select images by GOOS name and do not match it",
            ),
            (
                "tag latest: config",
                &cd,
                "architecture: \"x86_64\" is not a GOARCH name (image-index.md platform: architecture values are Go's GOARCH); podman, skopeo and containerd select images by GOARCH name and do not match it",
            ),
            (
                "tag latest: config",
                &cd,
                "variant: the variant is empty (image-index.md platform: variant is left out, or names the CPU variant); Go consumers (podman, skopeo, containerd) read it as no variant",
            ),
        ],
    );
}

#[test]
fn verify_finds_variants_outside_the_table() {
    let f = fixture(&[]);
    let (_, cd) = rewrite(&f, |_, _, c| {
        c["architecture"] = json!("arm");
        c["variant"] = json!("v9");
    });
    assert_problems(
        &f,
        &[(
            "tag latest: config",
            &cd,
            "variant: \"v9\" is not a variant of arm (image-index.md platform table); podman and containerd match no CPU with it",
        )],
    );
}

/// In an index: the descriptor's platform, as consumers select by it.
#[test]
fn verify_finds_index_platforms_podman_cannot_select() {
    let f = fixture(&["--index", "-t", "m"]);
    let (md, cd) = rewrite(&f, |e, _, c| {
        e["platform"]["architecture"] = json!("x86_64");
        c["architecture"] = json!("x86_64");
    });
    let arch = "architecture: \"x86_64\" is not a GOARCH name (image-index.md platform: architecture values are Go's GOARCH); podman, skopeo and containerd select images by GOARCH name and do not match it";
    let r = run_verify(&f.layout);
    assert_eq!(r.problems.len(), 2, "{}", r.text());
    assert_eq!(
        r.problems[0].digest.as_deref(),
        Some(md.as_str()),
        "{}",
        r.text()
    );
    assert_eq!(r.problems[0].object, "tag m, manifests[0] (linux/x86_64)");
    assert_eq!(
        r.problems[0].message,
        format!("platform.{arch}"),
        "{}",
        r.text()
    );
    assert_eq!(r.problems[1].digest.as_deref(), Some(cd.as_str()));
    assert_eq!(r.problems[1].message, arch);
    if have("podman") && have("skopeo") {
        let r = run_cmd(
            Command::new("skopeo")
                .args(["inspect", "--config"])
                .arg(format!("oci:{}:m", f.layout.display())),
        )
        .fails();
        assert!(
            r.err()
                .contains("no image found in image index for architecture amd64"),
            "{}",
            r.err()
        );
        // A relative path: podman names the image after it, and the
        // temporary directory's name has upper case letters.
        let r = run_cmd(
            Command::new("podman")
                .args(["pull", "-q", "oci:img:m"])
                .current_dir(&f.dir),
        )
        .exits(125);
        assert!(
            r.err()
                .contains("no image found in image index for architecture amd64"),
            "{}",
            r.err()
        );
    }
}

#[test]
fn verify_finds_reserved_annotations() {
    let f = fixture(&[]);
    let (md, _) = rewrite(&f, |_, m, _| {
        m["annotations"] = json!({
            "org.opencontainers.image.ref.name": "latest",
            "org.opencontainers.image.created": "notadate",
            "org.opencontainers.image.nope": "x",
        });
    });
    assert_problems(
        &f,
        &[
            (
                "tag latest: manifest",
                &md,
                "annotation org.opencontainers.image.created: the value \"notadate\" of org.opencontainers.image.created is not an RFC 3339 time with a four-digit year and seconds 00-59 (annotations.md); tools that read the key fail on or misread it",
            ),
            (
                "tag latest: manifest",
                &md,
                "annotation org.opencontainers.image.nope: org.opencontainers.image.nope is not a key the OCI specifications define, and annotations.md reserves the org.opencontainers. prefix for those; tools that read the reserved keys may give it a meaning it does not have",
            ),
            (
                "tag latest: manifest",
                &md,
                "annotation org.opencontainers.image.ref.name: org.opencontainers.image.ref.name is only valid on the descriptors of index.json (annotations.md, image-layout.md), not in a manifest; skopeo, umoci and podman take the tag from index.json and ignore it",
            ),
        ],
    );
    // index.json's own annotations and its descriptors' are judged too.
    let mut idx = read_json(&f.layout.join("index.json"));
    idx["annotations"] = json!({"org.opencontainers.image.ref.name": "x"});
    idx["manifests"][0]["annotations"]["org.opencontainers.image.referrer.convert"] = json!("yes");
    fs::write(
        f.layout.join("index.json"),
        serde_json::to_vec(&idx).unwrap(),
    )
    .unwrap();
    let r = run_verify(&f.layout);
    // inspect still describes what verify fails on.
    let v = run(&f.dir, &["inspect", "--json", "img"]).succeeds().json();
    assert_eq!(v[0]["manifest"]["digest"], json!(md));
    let lines = r.text();
    assert!(lines.contains("index.json: annotation org.opencontainers.image.ref.name: org.opencontainers.image.ref.name is only valid on the descriptors of index.json (annotations.md, image-layout.md), not anywhere else"), "{lines}");
    assert!(lines.contains("annotation org.opencontainers.image.referrer.convert: the value \"yes\" of org.opencontainers.image.referrer.convert is not true (annotations.md)"), "{lines}");
}

// ---------------------------------------------------------------------------
// Docker and containerd, on a busybox image made by hand (slow)
// ---------------------------------------------------------------------------

/// Whether the slow daemon test runs (as `tests/docker.rs` gates them).
fn daemon_test(test: &str) -> bool {
    if std::env::var("OCIIMPORT_SLOW_TESTS").as_deref() != Ok("1") {
        daemon_log(&format!(
            "skipped {test}: a slow test; set OCIIMPORT_SLOW_TESTS=1 to run it (.ci/run does)"
        ));
        return false;
    }
    let busybox = fs::metadata("/bin/busybox").is_ok();
    assert!(
        busybox || !in_ci(),
        "{test}: /bin/busybox is required in CI"
    );
    daemons_or_skip(test) && busybox
}

/// A busybox image whose config is edited by `edit`, as a docker-archive
/// (skopeo writes it) loaded into a fresh Docker as `bad:1`.
fn docker_with(edit: impl FnOnce(&mut Value)) -> (Fixture, Docker) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let mut t = Tar::with_parents();
    t.file("bin/busybox", &fs::read("/bin/busybox").unwrap(), 0o755)
        .symlink("bin/true", "busybox");
    fs::write(dir.join("r.tar"), t.finish()).unwrap();
    run(&dir, &["r.tar", "-o", "img", "--created", "@0", "-q"]).succeeds();
    let f = Fixture {
        _tmp: tmp,
        layout: dir.join("img"),
        dir,
    };
    rewrite(&f, |_, _, c| edit(c));
    run_ok(
        Command::new("skopeo")
            .args([
                "copy",
                "-q",
                "oci:img:latest",
                "docker-archive:bad.tar:bad:1",
            ])
            .current_dir(&f.dir),
    );
    let docker = Docker::start();
    run_ok(&mut docker.docker(&["load", "-i", f.dir.join("bad.tar").to_str().unwrap()]));
    (f, docker)
}

/// What the findings about `User` and `Volumes` say the consumers do:
/// podman run refuses `0:0:0` (it reads `0:0` as the group), Docker runs
/// it, and both mount a relative volume under `/`.
#[test]
fn consumers_run_user_and_volumes_as_the_findings_say() {
    if !daemon_test("consumers_run_user_and_volumes_as_the_findings_say") || !have("skopeo") {
        return;
    }
    let run_args = ["run", "--rm", "--network", "none", "bad:1"];
    let (f, docker) = docker_with(|c| c["config"]["User"] = json!("0:0:0"));
    run_ok(&mut docker.docker(&[&run_args[..], &["/bin/true"]].concat()));
    if have("podman") {
        let pulled = run_ok(
            Command::new("podman")
                .args(["pull", "-q", "oci:img:latest"])
                .current_dir(&f.dir),
        );
        let id = pulled.out().trim().to_string();
        let r = run_cmd(Command::new("podman").args([
            "run",
            "--rm",
            "--runtime",
            "runc",
            "--network",
            "none",
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
            &id,
            "/bin/true",
        ]));
        let _ = Command::new("podman").args(["rmi", "-f", &id]).output();
        assert!(
            r.err().contains("unable to get gid 0:0 from group file"),
            "{}",
            r.context()
        );
    }
    let (_f, docker) = docker_with(|c| c["config"]["Volumes"] = json!({"relative": {}}));
    let mounts = run_ok(
        &mut docker.docker(
            &[
                &run_args[..],
                &["/bin/busybox", "cut", "-d", " ", "-f", "2", "/proc/mounts"],
            ]
            .concat(),
        ),
    );
    assert!(
        mounts.out().lines().any(|l| l == "/relative"),
        "{}",
        mounts.context()
    );
}
