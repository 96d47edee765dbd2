//! Shared helpers for the integration tests: fixtures, running the binary,
//! and checking layouts byte by byte.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sha2::{Digest, Sha256};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ociimport"))
}

/// `testdata/<name>`.
pub fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// The committed rootfs fixture.
pub fn rootfs_tar() -> Vec<u8> {
    std::fs::read(testdata("rootfs.tar")).expect("testdata/rootfs.tar")
}

/// Entries in testdata/rootfs.tar (`tar -tf testdata/rootfs.tar | wc -l`).
pub const ROOTFS_ENTRIES: u64 = 25;

pub fn sha256(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    let mut s = String::from("sha256:");
    for b in d.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Run ociimport with `args` in `cwd`, feeding `stdin`.
pub fn run_in(cwd: &Path, args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("SOURCE_DATE_EPOCH")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn ociimport");
    if let Some(data) = stdin {
        let mut si = child.stdin.take().expect("stdin");
        let data = data.to_vec();
        // Write from a thread so a child that exits early cannot deadlock us.
        std::thread::spawn(move || {
            let _ = si.write_all(&data);
        });
    }
    child.wait_with_output().expect("wait ociimport")
}

pub fn run(cwd: &Path, args: &[&str]) -> Output {
    run_in(cwd, args, None, &[])
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Parse the `--json` report of a successful run.
pub fn report(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "ociimport failed: {}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("--json output is JSON")
}

/// Every file under `dir` with its content digest: a layout "snapshot".
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            let p = e.path();
            if e.file_type().expect("type").is_dir() {
                out.insert(
                    p.strip_prefix(dir).expect("prefix").to_path_buf(),
                    "dir".into(),
                );
                stack.push(p);
            } else {
                let data = std::fs::read(&p).expect("read");
                out.insert(
                    p.strip_prefix(dir).expect("prefix").to_path_buf(),
                    sha256(&data),
                );
            }
        }
    }
    out
}

/// Read a blob of `layout` by digest.
pub fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
    std::fs::read(layout.join("blobs/sha256").join(hex)).expect("blob exists")
}

/// Check what a consumer checks: every blob file hashes to its name, and
/// every descriptor reachable from index.json points to an existing blob of
/// the stated size. Returns the number of descriptors checked.
pub fn check_layout(layout: &Path) -> usize {
    assert_eq!(
        std::fs::read(layout.join("oci-layout")).expect("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#
    );
    for e in std::fs::read_dir(layout.join("blobs/sha256")).expect("blobs dir") {
        let p = e.expect("entry").path();
        let name = p.file_name().expect("name").to_string_lossy().into_owned();
        let data = std::fs::read(&p).expect("blob");
        assert_eq!(
            sha256(&data),
            format!("sha256:{name}"),
            "blob {name} does not match its name"
        );
    }
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index.json"))
            .expect("index.json is JSON");
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let mut checked = 0;
    for m in index["manifests"].as_array().expect("manifests") {
        let digest = m["digest"].as_str().expect("digest");
        let bytes = blob(layout, digest);
        assert_eq!(bytes.len() as u64, m["size"].as_u64().expect("size"));
        checked += 1;
        let manifest: serde_json::Value = serde_json::from_slice(&bytes).expect("manifest JSON");
        let config = &manifest["config"];
        let cbytes = blob(layout, config["digest"].as_str().expect("config digest"));
        assert_eq!(
            cbytes.len() as u64,
            config["size"].as_u64().expect("config size")
        );
        checked += 1;
        let cfg: serde_json::Value = serde_json::from_slice(&cbytes).expect("config JSON");
        let layers = manifest["layers"].as_array().expect("layers");
        assert_eq!(
            cfg["rootfs"]["diff_ids"]
                .as_array()
                .expect("diff_ids")
                .len(),
            layers.len()
        );
        for l in layers {
            let lb = blob(layout, l["digest"].as_str().expect("layer digest"));
            assert_eq!(lb.len() as u64, l["size"].as_u64().expect("layer size"));
            checked += 1;
        }
    }
    // No temp files left behind.
    for e in std::fs::read_dir(layout).expect("layout dir") {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        assert!(
            !name.starts_with(".ociimport-tmp-"),
            "temp file left: {name}"
        );
    }
    checked
}

/// Compression variants of `tar`, made with the same libraries a user's tools use.
pub struct Variant {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    /// `--compression auto` keeps these bytes as the layer.
    pub passthrough: bool,
    pub format: &'static str,
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

fn xz_with(data: &[u8], stream: liblzma::stream::Stream) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
    e.write_all(data).expect("xz");
    e.finish().expect("xz")
}

fn xz(data: &[u8]) -> Vec<u8> {
    xz_with(
        data,
        liblzma::stream::Stream::new_easy_encoder(6, liblzma::stream::Check::Crc64).expect("xz"),
    )
}

fn bz2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(9));
    e.write_all(data).expect("bzip2");
    e.finish().expect("bzip2")
}

fn zstd_frame(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).expect("zstd")
}

pub fn variants(tar: &[u8]) -> Vec<Variant> {
    let half = tar.len() / 2;
    let mut multi_gz = gzip(&tar[..half]);
    multi_gz.extend(gzip(&tar[half..]));

    let multi_block_xz = {
        let s = liblzma::stream::MtStreamBuilder::new()
            .threads(2)
            .block_size(32 * 1024)
            .preset(6)
            .check(liblzma::stream::Check::Crc32)
            .encoder()
            .expect("mt xz");
        xz_with(tar, s)
    };
    let mut concat_xz = xz(&tar[..half]);
    concat_xz.extend([0u8; 8]); // stream padding
    concat_xz.extend(xz_with(
        &tar[half..],
        liblzma::stream::Stream::new_easy_encoder(1, liblzma::stream::Check::Sha256).expect("xz"),
    ));
    let bcj_xz = {
        let mut filters = liblzma::stream::Filters::new();
        filters.x86();
        filters.lzma2(&liblzma::stream::LzmaOptions::new_preset(6).expect("preset"));
        let s = liblzma::stream::Stream::new_stream_encoder(&filters, liblzma::stream::Check::None)
            .expect("bcj");
        xz_with(tar, s)
    };
    // A skippable frame between two frames: every consumer reads it as we do.
    let skippable = [0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, b's', b'k', b'i', b'p'];
    let mut zstd_frames = zstd_frame(&tar[..half]);
    zstd_frames.extend(skippable);
    zstd_frames.extend(zstd_frame(&tar[half..]));
    // One first (as pzstd writes): containers/image takes it for a plain tar.
    let mut zstd_skippable_first = skippable.to_vec();
    zstd_skippable_first.extend(zstd_frame(tar));
    let mut multi_bz2 = bz2(&tar[..half]);
    multi_bz2.extend(bz2(&tar[half..]));

    vec![
        Variant {
            name: "plain",
            bytes: tar.to_vec(),
            passthrough: false,
            format: "none",
        },
        Variant {
            name: "gzip",
            bytes: gzip(tar),
            passthrough: true,
            format: "gzip",
        },
        Variant {
            name: "multi-member-gzip",
            bytes: multi_gz,
            passthrough: true,
            format: "gzip",
        },
        Variant {
            name: "xz",
            bytes: xz(tar),
            passthrough: false,
            format: "xz",
        },
        Variant {
            name: "multi-block-xz",
            bytes: multi_block_xz,
            passthrough: false,
            format: "xz",
        },
        Variant {
            name: "concatenated-xz",
            bytes: concat_xz,
            passthrough: false,
            format: "xz",
        },
        Variant {
            name: "bcj-xz",
            bytes: bcj_xz,
            passthrough: false,
            format: "xz",
        },
        Variant {
            name: "zstd-frames-skippable",
            bytes: zstd_frames,
            passthrough: true,
            format: "zstd",
        },
        Variant {
            name: "zstd-skippable-first",
            bytes: zstd_skippable_first,
            passthrough: false,
            format: "zstd",
        },
        Variant {
            name: "multi-stream-bzip2",
            bytes: multi_bz2,
            passthrough: false,
            format: "bzip2",
        },
    ]
}

pub fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    gzip(data)
}
pub fn xz_bytes(data: &[u8]) -> Vec<u8> {
    xz(data)
}
pub fn bzip2_bytes(data: &[u8]) -> Vec<u8> {
    bz2(data)
}
pub fn zstd_bytes(data: &[u8]) -> Vec<u8> {
    zstd_frame(data)
}

/// Whether the tests run as root (umoci then needs no --rootless).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Whether `CI` is set: tests needing a tool then fail rather than skip.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Whether `tool` runs (`tool --version`). Under CI a missing tool fails the
/// test; outside, the caller skips that part, and this says so.
pub fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        ok || !in_ci(),
        "{tool} is required in CI but was not found (.ci/run installs it)"
    );
    if !ok {
        // Straight to the process's stderr: libtest would swallow eprintln!
        // output of a passing test, and a silent skip looks like a pass.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED part of a test: {tool} is not installed (with CI set this fails instead)"
        );
    }
    ok
}

/// `tool args < input` in `dir`, as a user would pipe it: its stdout.
/// A missing tool or a failure panics naming the command.
pub fn filter_through(dir: &Path, tool: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {tool}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    let data = input.to_vec();
    // Written from a thread: the tool may fill its stdout before reading all.
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().expect("wait");
    writer
        .join()
        .expect("writer thread")
        .expect("write to the tool");
    assert!(out.status.success(), "{tool} {args:?}");
    out.stdout
}

/// ELF e_type of an executable.
pub const ET_EXEC: u16 = 2;

/// A little-endian Elf64 header (64 bytes) of type `e_type` for ELF
/// `machine`: all that platform detection reads.
pub fn elf64_header(machine: u16, e_type: u16) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // ELFCLASS64
    h[5] = 1; // ELFDATA2LSB
    h[6] = 1; // EI_VERSION
    h[16..18].copy_from_slice(&e_type.to_le_bytes());
    h[18..20].copy_from_slice(&machine.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes()); // e_version
    h[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    h
}

/// `args` run in `dir` into the existing layout `dir/img` and into a new
/// `dir/fresh`: refused both times with exit 1 and one line on stderr
/// holding every `want`; `img` is left byte for byte, `fresh` never made.
pub fn refused_into_img_and_fresh(dir: &Path, args: &[&str], wants: &[String]) {
    let layout = dir.join("img");
    let before = snapshot(&layout);
    for out in ["img", "fresh"] {
        let mut all = args.to_vec();
        all.extend_from_slice(&["-o", out]);
        let o = run(dir, &all);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        for want in wants {
            assert!(
                err.contains(want.as_str()),
                "{args:?}: {want:?} not in {err}"
            );
        }
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert_eq!(snapshot(&layout), before, "{args:?}: layout changed");
        assert!(
            !dir.join("fresh").exists(),
            "{args:?}: a new layout was created"
        );
    }
}
