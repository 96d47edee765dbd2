//! Docker, containerd's `ctr` (as kind and k3s import) and podman load the
//! OCI archives `ociimport` writes as they are, under the right names, and
//! run them (issue 19, point 6).
//!
//! Each test starts its own private daemons (tests/common/daemons.rs):
//! Debian's containerd 1.6 and dockerd 20.10 (classic image store, `vfs`),
//! so every test loads into an EMPTY store; Docker and containerd skip a
//! layer they already have, which would hide a broken blob. The rootfs is a
//! runnable busybox-static one built here, whose `/etc/note` names the case,
//! so the output of the container proves which image ran.
//!
//! Names, as issue 19 point 1 specifies: `-t bartest/busy:1.0` loads as
//! `bartest/busy:1.0` in Docker (`RepoTags`, familiar form) and as
//! `docker.io/bartest/busy:1.0` in ctr and podman (`io.containerd.image.name`);
//! without `-t` the repository is the input's base name, tag `latest`.
//!
//! Gated like the other slow tests (`OCIIMPORT_SLOW_TESTS=1`, which .ci/run
//! sets); they need root, and fail rather than skip under `CI`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{
    Containerd, Docker, EM_AARCH64, EM_X86_64, Run, Tar, daemon_log, daemons_or_skip, gzip_bytes,
    have, host_goarch, in_ci, platform_rootfs, run, run_cmd, run_cmd_input, run_ok,
};

const BUSYBOX: &str = "/bin/busybox";
/// The name the tests import under, and what each consumer calls it.
const TAG: &str = "bartest/busy:1.0";
const FULL: &str = "docker.io/bartest/busy:1.0";
const MT_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
const MT_INDEX: &str = "application/vnd.oci.image.index.v1+json";

// ---------------------------------------------------------------- set-up

/// Whether `test` runs: a slow test, root, the daemons and a static
/// busybox (under `CI` a missing piece fails instead).
fn daemon_test(test: &str) -> bool {
    if std::env::var("OCIIMPORT_SLOW_TESTS").as_deref() != Ok("1") {
        daemon_log(&format!(
            "skipped {test}: a slow test; set OCIIMPORT_SLOW_TESTS=1 to run it (.ci/run does)"
        ));
        return false;
    }
    daemons_or_skip(test) && busybox_present(test)
}

fn busybox_present(test: &str) -> bool {
    let ok = std::fs::metadata(BUSYBOX).is_ok();
    assert!(
        ok || !in_ci(),
        "{test}: {BUSYBOX} is required in CI (apt-get install busybox-static)"
    );
    if !ok {
        daemon_log(&format!("SKIPPED {test}: no {BUSYBOX} (busybox-static)"));
    }
    ok
}

/// A runnable rootfs: Debian's static busybox as /bin/busybox, `sh`, `echo`,
/// `cat` and `sleep` linked to it, and `/etc/note` holding `note`.
fn busybox_rootfs(note: &str) -> Vec<u8> {
    let busybox = std::fs::read(BUSYBOX).expect("reading /bin/busybox");
    let mut t = Tar::with_parents();
    t.file("bin/busybox", &busybox, 0o755)
        .symlink("bin/sh", "busybox")
        .symlink("bin/echo", "busybox")
        .symlink("bin/cat", "busybox")
        .symlink("bin/sleep", "busybox")
        .file("etc/note", format!("{note}\n").as_bytes(), 0o644);
    t.finish()
}

/// A scratch directory holding `busy.tar.gz`, a busybox rootfs noting `note`.
fn scratch(note: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        tmp.path().join("busy.tar.gz"),
        gzip_bytes(&busybox_rootfs(note)),
    )
    .expect("writing busy.tar.gz");
    tmp
}

/// `ociimport ARGS --created @0 -q` in `dir`, which must succeed; its stdout
/// (the archive with `-o -`).
fn ociimport(dir: &Path, args: &[&str]) -> Vec<u8> {
    let mut a = args.to_vec();
    a.extend(["--created", "@0", "-q"]);
    run(dir, &a).succeeds().output.stdout
}

/// A container name (ctr) unique on the machine: runc's state directory
/// (/run/containerd/runc/NAMESPACE/ID) is shared by every containerd.
fn container_id(test: &str) -> String {
    format!("oi-{}-{test}", std::process::id())
}

// ---------------------------------------------------------------- archives

/// The files of an OCI archive, by path.
fn archive_files(archive: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut a = tar::Archive::new(archive);
    for e in a.entries().expect("archive entries") {
        let mut e = e.expect("archive entry");
        let path = e.path().expect("entry path").to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("entry data");
        files.insert(path.trim_start_matches("./").to_string(), data);
    }
    files
}

fn blob_json(files: &BTreeMap<String, Vec<u8>>, digest: &str) -> Value {
    let path = format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"));
    let data = files
        .get(&path)
        .unwrap_or_else(|| panic!("no {path} in the archive"));
    serde_json::from_slice(data).expect("blob JSON")
}

/// What the consumers are checked against, read from the archive itself.
struct Image {
    /// The digest index.json's one entry names (a manifest or an index).
    top: String,
    /// Per platform architecture: manifest digest and config digest.
    platforms: BTreeMap<String, (String, String)>,
    /// Media types of the layers of every image.
    layer_types: Vec<String>,
}

fn image_of(archive: &[u8]) -> Image {
    let files = archive_files(archive);
    let index: Value = serde_json::from_slice(&files["index.json"]).expect("index.json");
    let entries = index["manifests"].as_array().expect("manifests");
    assert_eq!(entries.len(), 1, "one image in {index}");
    let top = entries[0]["digest"].as_str().expect("digest").to_string();
    let manifests: Vec<String> = if entries[0]["mediaType"] == MT_INDEX {
        let inner = blob_json(&files, &top);
        inner["manifests"]
            .as_array()
            .expect("manifests")
            .iter()
            .map(|m| m["digest"].as_str().expect("digest").to_string())
            .collect()
    } else {
        vec![top.clone()]
    };
    let mut image = Image {
        top,
        platforms: BTreeMap::new(),
        layer_types: Vec::new(),
    };
    for m in manifests {
        let manifest = blob_json(&files, &m);
        let config_digest = manifest["config"]["digest"].as_str().expect("config");
        let config = blob_json(&files, config_digest);
        let arch = config["architecture"].as_str().expect("architecture");
        image
            .platforms
            .insert(arch.to_string(), (m.clone(), config_digest.to_string()));
        for l in manifest["layers"].as_array().expect("layers") {
            image
                .layer_types
                .push(l["mediaType"].as_str().expect("mediaType").to_string());
        }
    }
    image
}

impl Image {
    /// Manifest and config digest of the host's platform.
    fn host(&self) -> &(String, String) {
        self.platforms
            .get(host_goarch())
            .unwrap_or_else(|| panic!("no {} image in {:?}", host_goarch(), self.platforms))
    }
}

// ---------------------------------------------------------------- consumers

/// `docker load` from `archive` on stdin; it must say `Loaded image: NAME`.
fn docker_load(docker: &Docker, archive: &[u8], name: &str) {
    let loaded = run_cmd_input(&mut docker.docker(&["load"]), archive).succeeds();
    assert_eq!(
        loaded.out(),
        format!("Loaded image: {name}\n"),
        "{}",
        loaded.context()
    );
}

/// Docker has `name` as the image whose ID is `config` (the classic store's
/// image ID is the config digest), for `arch`.
fn docker_has(docker: &Docker, name: &str, config: &str, arch: &str) {
    let format = "{{.Id}} {{.Architecture}} {{json .RepoTags}}";
    let inspect = run_ok(&mut docker.docker(&["image", "inspect", "--format", format, name]));
    assert_eq!(inspect.out(), format!("{config} {arch} [\"{name}\"]\n"));
}

/// `docker run --network none NAME /bin/sh -c 'echo ok; cat /etc/note'`
/// prints `ok` and `note`.
fn docker_runs(docker: &Docker, name: &str, note: &str) {
    let script = "echo ok; cat /etc/note";
    let args = [
        "run",
        "--rm",
        "--network",
        "none",
        name,
        "/bin/sh",
        "-c",
        script,
    ];
    let ran = run_ok(&mut docker.docker(&args));
    assert_eq!(ran.out(), format!("ok\n{note}\n"), "{}", ran.context());
}

/// `ctr images ls` in `ns`: per reference, (media type, digest, platforms).
fn ctr_images(c: &Containerd, ns: &str) -> BTreeMap<String, (String, String, String)> {
    let ls = run_ok(&mut c.ctr_in(ns, &["images", "ls"]));
    ls.out()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert!(f.len() >= 7, "unexpected `ctr images ls` line {l:?}");
            let (r, t, d, p) = (f[0], f[1], f[2], f[5]);
            (r.to_string(), (t.to_string(), d.to_string(), p.to_string()))
        })
        .collect()
}

/// `ctr run --snapshotter native --rm NAME ID /bin/sh -c …` in `ns` writes
/// `ok` and `note` to a bind-mounted file. Not its stdout: under load ctr
/// 1.6 can exit 0 before it has copied a short-lived task's output (seen
/// once in CI-like runs: empty stdout, exit 0).
fn ctr_runs(c: &Containerd, ns: &str, name: &str, test: &str, note: &str) {
    let id = container_id(test);
    let out = tempfile::tempdir().expect("tempdir");
    let mount = format!(
        "type=bind,src={},dst=/out,options=rbind:rw",
        out.path().display()
    );
    let script = "echo ok > /out/r; cat /etc/note >> /out/r";
    let args = [
        "run",
        "--snapshotter",
        "native",
        "--rm",
        "--mount",
        &mount,
        name,
        &id,
        "/bin/sh",
        "-c",
        script,
    ];
    let ran = run_ok(&mut c.ctr_in(ns, &args));
    let wrote = std::fs::read_to_string(out.path().join("r")).unwrap_or_default();
    assert_eq!(wrote, format!("ok\n{note}\n"), "{}", ran.context());
}

// ---------------------------------------------------------------- the harness

/// The harness itself, with what Docker 20.10 and ctr load today: an
/// ociimport layout copied by skopeo to a docker-archive. The daemons are
/// private and empty, and an image loads and runs in both.
#[test]
fn the_private_daemons_load_and_run_a_skopeo_docker_archive() {
    if !daemon_test("the_private_daemons_load_and_run_a_skopeo_docker_archive") || !have("skopeo") {
        return;
    }
    let note = "harness";
    let tmp = scratch(note);
    ociimport(tmp.path(), &["busy.tar.gz", "-o", "lay", "-t", "1.0"]);
    let docker_archive = format!("docker-archive:busy-docker.tar:{TAG}");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "-q", "oci:lay:1.0", &docker_archive])
            .current_dir(tmp.path()),
    );
    let archive = std::fs::read(tmp.path().join("busy-docker.tar")).expect("docker archive");
    let index: Value = crate::common::read_json(&tmp.path().join("lay/index.json"));
    let manifest_digest = index["manifests"][0]["digest"].as_str().expect("digest");
    let manifest = crate::common::read_json(&crate::common::blob_path(
        &tmp.path().join("lay"),
        manifest_digest,
    ));
    let config = manifest["config"]["digest"].as_str().expect("config");

    let docker = Docker::start();
    let dir = docker.containerd().dir().display().to_string();
    let info = run_ok(&mut docker.docker(&[
        "info",
        "--format",
        "{{.DockerRootDir}} {{.Driver}} {{.ServerVersion}}",
    ]));
    assert!(
        info.out().starts_with(&format!("{dir}/d-root vfs ")),
        "{}",
        info.context()
    );
    assert_eq!(run_ok(&mut docker.docker(&["images", "-qa"])).out(), "");
    docker_load(&docker, &archive, TAG);
    docker_has(&docker, TAG, config, host_goarch());
    docker_runs(&docker, TAG, note);

    let c = docker.containerd();
    assert!(ctr_images(c, "default").is_empty());
    run_ok(
        c.ctr(&["images", "import", "busy-docker.tar"])
            .current_dir(tmp.path()),
    );
    let images = ctr_images(c, "default");
    assert_eq!(images.keys().collect::<Vec<_>>(), [FULL]);
    ctr_runs(c, "default", FULL, "harness", note);

    // Dropping the daemons leaves no container, shim, mount or directory
    // behind, also with a container still running in each.
    let marker = format!("left-running-{}", container_id("harness"));
    let script = format!("sleep 600; : {marker}");
    let args = [
        "run",
        "-d",
        "--network",
        "none",
        TAG,
        "/bin/sh",
        "-c",
        &script,
    ];
    run_ok(&mut docker.docker(&args));
    let id = container_id("harness-left");
    let args = [
        "run",
        "-d",
        "--null-io",
        "--snapshotter",
        "native",
        FULL,
        &id,
        "/bin/sh",
        "-c",
        &script,
    ];
    run_ok(&mut c.ctr(&args));
    // `run -d` returns once runc started the task, maybe before its exec.
    let t0 = std::time::Instant::now();
    while crate::common::processes_with(&marker).len() < 2 {
        assert!(
            t0.elapsed().as_secs() < 30,
            "the two containers did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let dir = c.dir().to_path_buf();
    let t0 = std::time::Instant::now();
    drop(docker);
    daemon_log(&format!(
        "stopping both took {} ms",
        t0.elapsed().as_millis()
    ));
    assert_eq!(crate::common::processes_with(&marker), Vec::<i32>::new());
    assert_eq!(
        crate::common::processes_with(&dir.display().to_string()),
        Vec::<i32>::new()
    );
    assert_eq!(crate::common::mounts_under(&dir), Vec::<String>::new());
    assert!(!dir.exists(), "{} is left", dir.display());
}

// ---------------------------------------------------------------- Docker

/// `ociimport … -o - | docker load`, then `docker run`: the image is there
/// under the tag, its ID is the config digest, and it runs.
#[test]
fn docker_loads_an_archive_from_a_pipe_and_runs_it() {
    if !daemon_test("docker_loads_an_archive_from_a_pipe_and_runs_it") {
        return;
    }
    let note = "docker from a pipe";
    let tmp = scratch(note);
    let archive = ociimport(
        tmp.path(),
        &[
            "busy.tar.gz",
            "--format",
            "oci-archive",
            "-t",
            TAG,
            "-o",
            "-",
        ],
    );
    let image = image_of(&archive);
    let docker = Docker::start();
    docker_load(&docker, &archive, TAG);
    docker_has(&docker, TAG, &image.host().1, host_goarch());
    docker_runs(&docker, TAG, note);
}

/// Without `-t`, the archive loads as `INPUT-BASE-NAME:latest`.
#[test]
fn docker_loads_a_default_named_archive_under_the_inputs_name() {
    if !daemon_test("docker_loads_a_default_named_archive_under_the_inputs_name") {
        return;
    }
    let note = "default name";
    let tmp = scratch(note);
    ociimport(
        tmp.path(),
        &[
            "busy.tar.gz",
            "--format",
            "oci-archive",
            "-o",
            "busy.oci.tar",
        ],
    );
    let archive = std::fs::read(tmp.path().join("busy.oci.tar")).expect("archive");
    let image = image_of(&archive);
    let docker = Docker::start();
    let loaded = run_ok(
        docker
            .docker(&["load", "-i"])
            .arg(tmp.path().join("busy.oci.tar")),
    );
    assert_eq!(
        loaded.out(),
        "Loaded image: busy:latest\n",
        "{}",
        loaded.context()
    );
    docker_has(&docker, "busy:latest", &image.host().1, host_goarch());
    docker_runs(&docker, "busy:latest", note);
}

/// The input for the second platform of an index: arm64 on an amd64 host
/// (and amd64 elsewhere); it never runs.
fn other_platform() -> (u16, &'static str) {
    if host_goarch() == "amd64" {
        (EM_AARCH64, "arm64")
    } else {
        (EM_X86_64, "amd64")
    }
}

/// An `--index` archive of the busybox rootfs and another platform's.
fn index_archive(dir: &Path) -> Vec<u8> {
    let (machine, _) = other_platform();
    std::fs::write(dir.join("other.tar"), platform_rootfs(machine, "other")).expect("write");
    let args = [
        "--index",
        "busy.tar.gz",
        "other.tar",
        "--format",
        "oci-archive",
        "-t",
        TAG,
        "-o",
        "-",
    ];
    ociimport(dir, &args)
}

/// Docker's classic store keeps one image per tag: an `--index` archive
/// loads the host's platform (what the writing machine tags by default),
/// which runs.
#[test]
fn docker_loads_and_runs_the_tagged_platform_of_an_index_archive() {
    if !daemon_test("docker_loads_and_runs_the_tagged_platform_of_an_index_archive") {
        return;
    }
    let note = "docker index";
    let tmp = scratch(note);
    let archive = index_archive(tmp.path());
    let image = image_of(&archive);
    assert_eq!(image.platforms.len(), 2, "{:?}", image.platforms);
    let docker = Docker::start();
    docker_load(&docker, &archive, TAG);
    docker_has(&docker, TAG, &image.host().1, host_goarch());
    docker_runs(&docker, TAG, note);
}

/// Docker before 23.0 cannot decode zstd layers (its pkg/archive knows no
/// zstd): the limit ociimport warns about for zstd archives. Debian's 20.10
/// refuses the archive; a newer Docker loads and runs it.
#[test]
fn docker_before_23_refuses_a_zstd_archive() {
    if !daemon_test("docker_before_23_refuses_a_zstd_archive") {
        return;
    }
    let note = "docker zstd";
    let tmp = scratch(note);
    let args = [
        "busy.tar.gz",
        "--compression",
        "zstd",
        "--format",
        "oci-archive",
        "-t",
        TAG,
        "-o",
        "-",
    ];
    let archive = ociimport(tmp.path(), &args);
    assert_eq!(image_of(&archive).layer_types, [MT_ZSTD]);
    let docker = Docker::start();
    let version = run_ok(&mut docker.docker(&["version", "--format", "{{.Server.Version}}"])).out();
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .expect("server version");
    if major < 23 {
        run_cmd_input(&mut docker.docker(&["load"]), &archive)
            .exits(1)
            .says("archive/tar: invalid tar header");
    } else {
        docker_load(&docker, &archive, TAG);
        docker_runs(&docker, TAG, note);
    }
}

// ---------------------------------------------------------------- ctr

/// `ctr images import` names the image `docker.io/bartest/busy:1.0` (from
/// `io.containerd.image.name`; without it ctr makes `import-DATE:REF`), and
/// `ctr run` runs it.
#[test]
fn ctr_imports_an_archive_under_its_full_name_and_runs_it() {
    if !daemon_test("ctr_imports_an_archive_under_its_full_name_and_runs_it") {
        return;
    }
    let note = "ctr";
    let tmp = scratch(note);
    ociimport(
        tmp.path(),
        &[
            "busy.tar.gz",
            "--format",
            "oci-archive",
            "-t",
            TAG,
            "-o",
            "busy.oci.tar",
        ],
    );
    let archive = std::fs::read(tmp.path().join("busy.oci.tar")).expect("archive");
    let image = image_of(&archive);
    let c = Containerd::start();
    let mut import = c.ctr(&["images", "import", "busy.oci.tar"]);
    run_ok(import.current_dir(tmp.path()));
    let images = ctr_images(&c, "default");
    assert_eq!(images.keys().collect::<Vec<_>>(), [FULL], "{images:?}");
    assert_eq!(images[FULL].1, image.host().0, "{images:?}");
    ctr_runs(&c, "default", FULL, "ctr", note);
}

/// kind's import (`ctr -n k8s.io images import --all-platforms --digests`,
/// kind's `load docker-image`/`load image-archive`): the image is named
/// `docker.io/bartest/busy:1.0` where the kubelet looks for it, plus a
/// digest reference, and runs.
#[test]
fn ctr_imports_an_archive_with_kinds_flags_and_runs_it() {
    if !daemon_test("ctr_imports_an_archive_with_kinds_flags_and_runs_it") {
        return;
    }
    let note = "kind";
    let tmp = scratch(note);
    let archive = ociimport(
        tmp.path(),
        &[
            "busy.tar.gz",
            "--format",
            "oci-archive",
            "-t",
            TAG,
            "-o",
            "-",
        ],
    );
    let image = image_of(&archive);
    let c = Containerd::start();
    let kind = ["images", "import", "--all-platforms", "--digests", "-"];
    run_cmd_input(&mut c.ctr_in("k8s.io", &kind), &archive).succeeds();
    let images = ctr_images(&c, "k8s.io");
    let manifest = &image.host().0;
    assert_eq!(images.len(), 2, "{images:?}");
    let named = images.get(FULL).map(|i| &i.1);
    assert_eq!(named, Some(manifest), "{images:?}");
    let by_digest = images
        .keys()
        .find(|r| r.ends_with(&format!("@{manifest}")))
        .unwrap_or_else(|| panic!("no digest reference in {images:?}"));
    assert_eq!(images[by_digest].1, *manifest);
    ctr_runs(&c, "k8s.io", FULL, "kind", note);
}

/// An `--index` archive with kind's flags: one image, the index, listing
/// both platforms; the host's runs.
#[test]
fn ctr_imports_every_platform_of_an_index_archive() {
    if !daemon_test("ctr_imports_every_platform_of_an_index_archive") {
        return;
    }
    let note = "ctr index";
    let tmp = scratch(note);
    let archive = index_archive(tmp.path());
    let image = image_of(&archive);
    let c = Containerd::start();
    let kind = ["images", "import", "--all-platforms", "--digests", "-"];
    run_cmd_input(&mut c.ctr_in("k8s.io", &kind), &archive).succeeds();
    let images = ctr_images(&c, "k8s.io");
    let mut platforms = [
        ctr_platform(host_goarch()),
        ctr_platform(other_platform().1),
    ];
    platforms.sort();
    let want = (MT_INDEX.to_string(), image.top.clone(), platforms.join(","));
    assert_eq!(images.get(FULL), Some(&want), "{images:?}");
    ctr_runs(&c, "k8s.io", FULL, "ctr-index", note);
}

/// How `ctr images ls` shows a linux platform: containerd normalizes arm64
/// without a variant to `arm64/v8`.
fn ctr_platform(arch: &str) -> String {
    match arch {
        "arm64" => "linux/arm64/v8".to_string(),
        other => format!("linux/{other}"),
    }
}

/// zstd layers (which Docker before 23.0 cannot load) import and run in ctr.
#[test]
fn ctr_imports_and_runs_a_zstd_archive() {
    if !daemon_test("ctr_imports_and_runs_a_zstd_archive") {
        return;
    }
    let note = "zstd";
    let tmp = scratch(note);
    let args = [
        "busy.tar.gz",
        "--compression",
        "zstd",
        "--format",
        "oci-archive",
        "-t",
        TAG,
        "-o",
        "-",
    ];
    let archive = ociimport(tmp.path(), &args);
    let image = image_of(&archive);
    assert_eq!(image.layer_types, [MT_ZSTD]);
    let c = Containerd::start();
    run_cmd_input(&mut c.ctr(&["images", "import", "-"]), &archive).succeeds();
    let images = ctr_images(&c, "default");
    assert_eq!(images.keys().collect::<Vec<_>>(), [FULL], "{images:?}");
    assert_eq!(images[FULL].1, image.host().0, "{images:?}");
    ctr_runs(&c, "default", FULL, "zstd", note);
}

// ---------------------------------------------------------------- podman

/// `podman load -i` into an empty private store names the image
/// `docker.io/bartest/busy:1.0` (podman 4.x reads `io.containerd.image.name`
/// first; from the bare ref name it made `localhost/bartest/busy:1.0`), and
/// it runs.
#[test]
fn podman_loads_an_archive_under_its_full_name_and_runs_it() {
    let test = "podman_loads_an_archive_under_its_full_name_and_runs_it";
    if !daemon_test(test) || !have("podman") {
        return;
    }
    let note = "podman";
    let tmp = scratch(note);
    ociimport(
        tmp.path(),
        &[
            "busy.tar.gz",
            "--format",
            "oci-archive",
            "-t",
            TAG,
            "-o",
            "busy.oci.tar",
        ],
    );
    let archive = std::fs::read(tmp.path().join("busy.oci.tar")).expect("archive");
    let image = image_of(&archive);
    let store = tmp.path().join("store");
    let podman = |args: &[&str]| -> Run {
        let mut cmd = Command::new("podman");
        cmd.arg("--root")
            .arg(store.join("root"))
            .arg("--runroot")
            .arg(store.join("run"))
            .arg("--tmpdir")
            .arg(store.join("tmp"))
            .args(["--storage-driver", "vfs"])
            .args(args)
            .current_dir(tmp.path());
        run_cmd(&mut cmd).succeeds()
    };
    assert_eq!(
        podman(&["load", "-q", "-i", "busy.oci.tar"]).out(),
        format!("Loaded image: {FULL}\n")
    );
    let id = podman(&["image", "inspect", "--format", "{{.Id}}", FULL]).out();
    assert_eq!(format!("sha256:{}", id.trim()), image.host().1);
    // The sandbox's rlimits (docs/interop.md, last known problem).
    let ran = podman(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--runtime",
        "runc",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
        FULL,
        "/bin/sh",
        "-c",
        "echo ok; cat /etc/note",
    ]);
    assert_eq!(ran.out(), format!("ok\n{note}\n"));
}

/// `--sbom --provenance` archives (issue 20 point 7): `manifest.json`
/// names the image manifest, not the attestation manifest; docker load
/// and ctr import take the archive and run the image.
#[test]
fn docker_and_ctr_load_an_archive_with_attestations() {
    let test = "docker_and_ctr_load_an_archive_with_attestations";
    if !daemon_test(test) {
        return;
    }
    let note = "attested";
    let tmp = scratch(note);
    let args = [
        "busy.tar.gz",
        "--format",
        "oci-archive",
        "-t",
        TAG,
        "--sbom",
        "--provenance",
        "-o",
        "busy.oci.tar",
    ];
    ociimport(tmp.path(), &args);
    let archive = std::fs::read(tmp.path().join("busy.oci.tar")).expect("archive");
    let files = archive_files(&archive);
    let index: Value = serde_json::from_slice(&files["index.json"]).expect("index.json");
    let top = index["manifests"][0]["digest"].as_str().expect("digest");
    assert_eq!(index["manifests"][0]["mediaType"], MT_INDEX);
    let inner = blob_json(&files, top);
    let image = inner["manifests"][0]["digest"].as_str().expect("image");
    let attestation = &inner["manifests"][1];
    assert_eq!(
        attestation["annotations"]["vnd.docker.reference.digest"],
        image
    );
    let manifest_json: Value =
        serde_json::from_slice(&files["manifest.json"]).expect("manifest.json");
    let config = blob_json(&files, image)["config"]["digest"]
        .as_str()
        .expect("config")
        .to_string();
    assert_eq!(
        manifest_json[0]["Config"],
        format!("blobs/sha256/{}", config.trim_start_matches("sha256:"))
    );
    assert_eq!(manifest_json.as_array().map(Vec::len), Some(1));

    let docker = Docker::start();
    docker_load(&docker, &archive, TAG);
    docker_has(&docker, TAG, &config, host_goarch());
    docker_runs(&docker, TAG, note);

    let c = docker.containerd();
    let mut import = c.ctr(&["images", "import", "busy.oci.tar"]);
    run_ok(import.current_dir(tmp.path()));
    let images = ctr_images(c, "default");
    assert_eq!(images[FULL].1, top, "{images:?}");
    ctr_runs(c, "default", FULL, "attested", note);
}
