//! Real tarballs, real consumers (issue 11): archives made by GNU tar, bsdtar,
//! git, Python and pixz. Entries that a consumer cannot unpack, or unpacks
//! differently, are refused by default naming the entry, the consumer and
//! `--normalize`; `--normalize` rewrites them into one canonical stream whose
//! DiffID does not depend on the tar that wrote the entries;
//! `--strip-components` unwraps an Arch-style bootstrap.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use crate::common::*;

fn sh(dir: &Path, script: &str) {
    run_ok(Command::new("sh").current_dir(dir).args(["-c", script]));
}

/// A small rootfs under `dir/root` with a symlink, a hard link and a sparse
/// file, every mtime the same; `dir/list` names its entries in one order.
fn make_tree(dir: &Path) {
    sh(
        dir,
        "mkdir -p root/etc root/usr/bin root/var && cd root && \
         printf 'ID=test\\n' > etc/os-release && printf 'box\\n' > etc/hostname && \
         printf '#!/bin/sh\\n' > usr/bin/tool && chmod 755 usr/bin/tool && \
         ln usr/bin/tool usr/bin/tool-link && ln -s tool usr/bin/tool-sym && \
         truncate -s 2M var/sparse && printf 'middle' | dd of=var/sparse bs=1 seek=700000 conv=notrunc 2>/dev/null && \
         printf 'end' >> var/sparse && \
         find . -exec touch -h -d @1700000000 {} +",
    );
    fs::write(
        dir.join("list"),
        "etc\netc/hostname\netc/os-release\nusr\nusr/bin\nusr/bin/tool\nusr/bin/tool-link\nusr/bin/tool-sym\nvar\nvar/sparse\n",
    )
    .unwrap();
}

/// Every path under `root` with what it is: a file's mode and sha256, a
/// symlink's target, a directory's mode; hard-linked files share a content
/// line, and which paths share an inode is listed too.
fn tree(root: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut inodes: std::collections::BTreeMap<u64, Vec<String>> = Default::default();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let m = fs::symlink_metadata(&p).unwrap();
            let mode = m.mode() & 0o7777;
            if m.file_type().is_symlink() {
                out.push(format!("{rel} -> {}", fs::read_link(&p).unwrap().display()));
            } else if m.is_dir() {
                out.push(format!("{rel}/ {mode:o}"));
                stack.push(p);
            } else {
                out.push(format!("{rel} {mode:o} {}", sha256(&fs::read(&p).unwrap())));
                if m.nlink() > 1 {
                    inodes.entry(m.ino()).or_default().push(rel);
                }
            }
        }
    }
    for mut names in inodes.into_values() {
        names.sort();
        out.push(format!("linked: {}", names.join(" = ")));
    }
    out.sort();
    out
}

/// Import `file` (in `dir`) with `extra` flags; the layer's report.
fn import(dir: &Path, file: &str, out: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![file, "-o", out, "--json", "--arch", "amd64", "-t", "t"];
    args.extend(extra);
    let o = run(dir, &args);
    report(&o)["layers"][0].clone()
}

/// The refusal of `file` without `--normalize`: exit 1, one line naming the
/// entry and the fix; an existing layout unchanged and no new one made.
fn refused(dir: &Path, file: &str, needles: &[&str]) {
    let base = dir.join("base");
    if !base.exists() {
        run(
            dir,
            &[
                testdata("rootfs.tar").to_str().unwrap(),
                "-o",
                "base",
                "-q",
                "--arch",
                "amd64",
            ],
        )
        .succeeds();
    }
    let before = snapshot(&base);
    for out in ["base", "fresh"] {
        let mut o = run(dir, &[file, "-o", out, "--arch", "amd64"])
            .exits(1)
            .one_line()
            .says(&format!("{file}: "));
        for n in needles {
            o = o.says(n);
        }
    }
    assert_eq!(snapshot(&base), before, "{file}: the layout changed");
    assert!(!dir.join("fresh").exists(), "{file}: a layout was made");
}

/// The (name, type, size, sha256) of every entry of an uncompressed tar.
fn listing(tar: &[u8]) -> Vec<(String, u8, u64, String)> {
    let mut a = tar::Archive::new(tar);
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            (
                name,
                e.header().entry_type().as_byte(),
                data.len() as u64,
                sha256(&data),
            )
        })
        .collect()
}

/// The decompressed layer of tag `t` in `layout`.
fn layer_tar(layout: &Path) -> Vec<u8> {
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let m = index["manifests"][0]["digest"].as_str().unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&blob(layout, m)).unwrap();
    let layer = &manifest["layers"][0];
    let blob = blob(layout, layer["digest"].as_str().unwrap());
    if layer["mediaType"].as_str().unwrap().ends_with("+zstd") {
        return zstd::decode_all(&blob[..]).unwrap();
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&blob[..])
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn entries_consumers_disagree_on_are_refused_naming_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    make_tree(d);
    if have("tar") {
        sh(
            d,
            "tar --format=gnu -S --no-recursion -C root -T list -cf gnu-sparse.tar",
        );
        refused(
            d,
            "gnu-sparse.tar",
            &[
                "entry 'var/sparse' is an old GNU sparse file (type 'S')",
                "unhandled tar header type",
                "--normalize",
            ],
        );
        sh(
            d,
            "tar --format=gnu --label=VOLUME --no-recursion -C root -T list -cf label.tar",
        );
        refused(
            d,
            "label.tar",
            &[
                "entry 'VOLUME' is a GNU volume label (type 'V')",
                "--normalize drops it",
            ],
        );
        sh(
            d,
            "tar -C root -cf a.tar etc && tar -C root -cf b.tar usr && cat a.tar b.tar > ab.tar",
        );
        refused(
            d,
            "ab.tar",
            &[
                "another tar archive follows the end-of-archive marker",
                "--normalize merges",
            ],
        );
    }
    if have("git") {
        sh(
            d,
            "cd root && git init -q && git add -A && git -c user.email=t@e -c user.name=t commit -qm x && git archive --format=tar HEAD > ../git.tar",
        );
        refused(
            d,
            "git.tar",
            &[
                "entry 'pax_global_header' is a PAX global header (type 'g')",
                "umoci",
                "--normalize folds",
            ],
        );
    }
    if have("python3") {
        // Python's tarfile writes a global header for pax_headers.
        sh(
            d,
            "python3 -c \"import tarfile; t=tarfile.open('py-global.tar','w',format=tarfile.PAX_FORMAT,pax_headers={'comment':'built by python'}); t.add('root/etc/hostname', arcname='etc/hostname'); t.close()\"",
        );
        refused(
            d,
            "py-global.tar",
            &["is a PAX global header (type 'g')", "--normalize folds"],
        );
    }
    // bsdtar's PAX sparse files are accepted as written: every consumer
    // expands them (tests/layercontent.rs).
}

/// The same entries in the same order, written by five tars, give one DiffID.
#[test]
fn normalize_gives_one_diffid_whichever_tar_wrote_the_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    make_tree(d);
    let mut made = Vec::new();
    if have("tar") {
        sh(
            d,
            "tar --format=gnu --no-recursion -C root -T list -cf gnu.tar",
        );
        sh(
            d,
            "tar --format=gnu -S --no-recursion -C root -T list -cf gnu-sparse.tar",
        );
        sh(
            d,
            "tar --format=posix -S --no-recursion -C root -T list -cf posix-sparse.tar",
        );
        made.extend(["gnu.tar", "gnu-sparse.tar", "posix-sparse.tar"]);
    }
    if have("bsdtar") {
        sh(d, "bsdtar -cf bsd.tar -n -C root -T list");
        made.push("bsd.tar");
    }
    sh(
        d,
        "python3 -c \"import tarfile; t=tarfile.open('py.tar','w',format=tarfile.PAX_FORMAT); [t.add('root/'+n.strip(), arcname=n.strip(), recursive=False) for n in open('list')]; t.close()\"",
    );
    made.push("py.tar");
    let mut diff_ids = Vec::new();
    for (i, f) in made.iter().enumerate() {
        let l = import(d, f, &format!("n{i}"), &["--normalize"]);
        assert_eq!(l["passthrough"], false, "{f}");
        assert_eq!(
            l["input_digest"],
            sha256(&fs::read(d.join(f)).unwrap()).as_str()
        );
        diff_ids.push((f.to_string(), l["diff_id"].as_str().unwrap().to_string()));
    }
    let first = &diff_ids[0].1;
    for (f, id) in &diff_ids {
        assert_eq!(id, first, "{f} normalizes differently: {diff_ids:?}");
    }
    // And what it is: canonical entries, the sparse file expanded.
    let entries = listing(&layer_tar(&d.join("n0")));
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "etc/",
            "etc/hostname",
            "etc/os-release",
            "usr/",
            "usr/bin/",
            "usr/bin/tool",
            "usr/bin/tool-link",
            "usr/bin/tool-sym",
            "var/",
            "var/sparse"
        ]
    );
    let sparse = fs::read(d.join("root/var/sparse")).unwrap();
    assert_eq!(
        entries[9],
        (
            "var/sparse".into(),
            b'0',
            sparse.len() as u64,
            sha256(&sparse)
        )
    );
    assert_eq!(entries[6].1, b'1', "the hard link stays a hard link");
}

/// An old-style entry (type '\0') named `dir/` is a directory to Go, GNU
/// tar, bsdtar and Python alike: accepted, and --normalize writes a
/// directory. A '0' entry named `dir/` is a directory to GNU tar and bsdtar
/// but a file to Go: refused, and --normalize writes a directory.
#[test]
fn entries_named_like_directories_are_read_as_the_consumers_do() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::write(d.join("old.tar"), with_type(0, "old/", b"")).unwrap();
    fs::write(d.join("reg.tar"), with_type(b'0', "reg/", b"")).unwrap();
    let o = run(
        d,
        &["old.tar", "-o", "old", "--arch", "amd64", "--json", "-q"],
    )
    .succeeds();
    assert_eq!(report(&o)["layers"][0]["entries"], 3);
    refused(
        d,
        "reg.tar",
        &[
            "entry 'etc/reg/' is a regular file named like a directory (type '0')",
            "Go's archive/tar (podman, docker, umoci) as a file",
            "--normalize rewrites it as a directory",
        ],
    );
    for (file, dir) in [("old.tar", "etc/old/"), ("reg.tar", "etc/reg/")] {
        let out = format!("{file}.normalized");
        import(d, file, &out, &["--normalize"]);
        let types: Vec<(String, u8)> = listing(&layer_tar(&d.join(&out)))
            .into_iter()
            .map(|e| (e.0, e.1))
            .collect();
        assert_eq!(
            types,
            [
                ("etc/".to_string(), b'5'),
                (dir.to_string(), b'5'),
                ("etc/f".to_string(), b'0')
            ],
            "{file}"
        );
    }
}

/// A tar of `etc/`, an entry `etc/NAME` of raw type byte `t` holding
/// `data`, and `etc/f`.
fn with_type(t: u8, name: &str, data: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_ustar();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    b.append_data(&mut dir, "etc/", &[][..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_path(format!("etc/{name}")).unwrap();
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.as_old_mut().linkflag = [t];
    h.set_cksum();
    b.append(&h, data).unwrap();
    let mut f = tar::Header::new_ustar();
    f.set_mode(0o644);
    f.set_size(3);
    b.append_data(&mut f, "etc/f", &b"abc"[..]).unwrap();
    b.into_inner().unwrap()
}

/// A symlink header that claims data: Go readers would extract the "data"
/// as entries we never saw, so the archive is refused.
#[test]
fn a_symlink_that_claims_data_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("hidden.tar"), symlink_claiming_data()).unwrap();
    run(tmp.path(), &["hidden.tar", "-o", "h"]).refused("claims 1024 bytes of data");
    assert!(!tmp.path().join("h").exists());
}

/// Every entry type the consumers cannot unpack, end to end: refused
/// naming the entry, its type and what --normalize does; and --normalize
/// does it (or refuses too, where no rewrite keeps the meaning).
#[test]
fn every_type_consumers_cannot_unpack_is_refused_and_normalized() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // (type, what the refusal says, what --normalize leaves of etc/x)
    type Left = Option<(&'static str, u8)>;
    let cases: [(u8, &str, Left); 8] = [
        (b'A', "--normalize drops it", None),
        (b'E', "--normalize drops it", None),
        (b'I', "--normalize drops it", None),
        (b'X', "--normalize reads it as a PAX extended header", None),
        (
            b'7',
            "--normalize rewrites it as a regular file",
            Some(("etc/x", b'0')),
        ),
        (
            b'D',
            "--normalize rewrites it as a directory",
            Some(("etc/x/", b'5')),
        ),
        (b'M', "--normalize cannot keep its meaning either", None),
        (b'N', "--normalize cannot keep its meaning either", None),
    ];
    for (t, fix, left) in cases {
        let file = format!("type-{}.tar", t as char);
        // An 'X' header's content is PAX records; the others' is data.
        let data: &[u8] = if t == b'X' { b"15 uname=alice\n" } else { b"" };
        fs::write(d.join(&file), with_type(t, "x", data)).unwrap();
        let kind = format!("(type '{}')", t as char);
        refused(d, &file, &["entry 'etc/x' is ", &kind, fix]);
        let out = format!("n-{}", t as char);
        let o = run(
            d,
            &[&file, "-o", &out, "--arch", "amd64", "--normalize", "-q"],
        );
        if fix.contains("cannot keep") {
            o.exits(1);
            continue;
        }
        o.succeeds();
        let entries: Vec<(String, u8)> = listing(&layer_tar(&d.join(&out)))
            .into_iter()
            .map(|e| (e.0, e.1))
            .collect();
        let mut want = vec![("etc/".to_string(), b'5')];
        if let Some((name, kind)) = left {
            want.push((name.to_string(), kind));
        }
        want.push(("etc/f".to_string(), b'0'));
        assert_eq!(entries, want, "{file}");
    }
}

/// Extended attributes (what `security.capability` rides on) survive
/// --normalize, and GNU tar and bsdtar give one DiffID although bsdtar also
/// writes LIBARCHIVE.xattr.* copies and repeats the records on hard links.
#[test]
fn normalize_keeps_xattrs_alike_from_gnu_tar_and_bsdtar() {
    if !have("tar") || !have("bsdtar") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    sh(
        d,
        "mkdir root && printf 'cap\\n' > root/f && ln root/f root/g && printf 'f\\ng\\n' > list",
    );
    let set = Command::new("python3")
        .current_dir(d)
        .args([
            "-c",
            "import os; os.setxattr('root/f', 'user.test', b'value')",
        ])
        .status()
        .unwrap();
    if !set.success() {
        assert!(!in_ci(), "user xattrs are needed in CI (setxattr failed)");
        return;
    }
    sh(
        d,
        "tar --format=posix --xattrs --no-recursion -C root -T list -cf gnu.tar && bsdtar -cf bsd.tar -n -C root -T list",
    );
    let gnu = import(d, "gnu.tar", "xg", &["--normalize"]);
    let bsd = import(d, "bsd.tar", "xb", &["--normalize"]);
    assert_eq!(gnu["diff_id"], bsd["diff_id"], "{gnu} vs {bsd}");
    let tar = layer_tar(&d.join("xb"));
    let mut a = tar::Archive::new(&tar[..]);
    let mut records = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let keys: Vec<String> = e
            .pax_extensions()
            .unwrap()
            .into_iter()
            .flatten()
            .map(|x| x.unwrap().key().unwrap().to_string())
            .collect();
        records.push((name, keys));
    }
    assert_eq!(
        records,
        [
            ("f".to_string(), vec!["SCHILY.xattr.user.test".to_string()]),
            ("g".to_string(), vec![])
        ]
    );
}

#[test]
fn normalize_merges_concatenated_archives_and_folds_global_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    make_tree(d);
    sh(
        d,
        "tar -C root -cf a.tar etc && tar -C root -cf b.tar usr && cat a.tar b.tar > ab.tar && printf 'trailing' >> ab.tar",
    );
    let l = import(d, "ab.tar", "ab", &["--normalize"]);
    assert_eq!(l["entries"], 8, "{l}");
    let dropped = "bytes after the last archive are not tar (not all zero) and were dropped";
    assert!(l["warnings"].to_string().contains(dropped), "{l}");
    // A second archive 7 bytes off the block grid cannot be found: what is
    // dropped is said in a warning, not only in a note.
    sh(
        d,
        "cat a.tar > off.tar && head -c 7 /dev/zero >> off.tar && cat b.tar >> off.tar",
    );
    let l = import(d, "off.tar", "off", &["--normalize"]);
    assert_eq!(l["entries"], 3, "{l}");
    assert!(l["warnings"].to_string().contains(dropped), "{l}");
    let l = import(d, "off.tar", "off-kept", &[]);
    assert!(
        l["warnings"]
            .to_string()
            .contains("follow the end-of-archive marker and not all are zero"),
        "{l}"
    );
    if have("git") {
        sh(
            d,
            "cd root && git init -q && git add -A && git -c user.email=t@e -c user.name=t commit -qm x && git archive --format=tar HEAD > ../git.tar",
        );
        import(d, "git.tar", "git", &["--normalize"]);
        let types: Vec<u8> = listing(&layer_tar(&d.join("git")))
            .iter()
            .map(|e| e.1)
            .collect();
        assert!(!types.contains(&b'g'), "{types:?}");
        assert!(types.iter().all(|t| b"0125".contains(t)), "{types:?}");
    }
}

/// pixz (every Gentoo stage3) appends its file index after the tar: noted in
/// the report, not warned about; the DiffID covers it, as every consumer's does.
#[test]
fn a_pixz_index_is_noted_not_warned_about() {
    if !have("pixz") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    make_tree(d);
    sh(
        d,
        "tar --no-recursion -C root -T list -cf s.tar && pixz < s.tar > stage3.tar.xz && xz -dc stage3.tar.xz > decoded",
    );
    let decoded = fs::read(d.join("decoded")).unwrap();
    assert!(
        decoded.len() > fs::read(d.join("s.tar")).unwrap().len(),
        "pixz wrote an index"
    );
    let o = run(
        d,
        &["stage3.tar.xz", "-o", "px", "--json", "--arch", "amd64"],
    );
    let err = stderr(&o);
    assert!(!err.contains("end-of-archive"), "{err}");
    let l = report(&o)["layers"][0].clone();
    assert_eq!(l["diff_id"], sha256(&decoded).as_str());
    assert_eq!(l["warnings"], serde_json::json!([]));
    assert!(
        l["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("a pixz file index ("),
        "{l}"
    );
}

/// An Arch bootstrap: zstd -19 --long, the rootfs under root.x86_64/ beside
/// pkglist and version files. --strip-components 1 keeps just the rootfs,
/// hard-link targets stripped too; SOURCE_DATE_EPOCH clamps the mtimes and
/// the input's own checksum is still checked.
#[test]
fn strip_components_unwraps_an_arch_bootstrap() {
    if !have("zstd") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    make_tree(d);
    sh(
        d,
        "mkdir boot && mv root boot/root.x86_64 && printf 'pacman\\n' > boot/pkglist.x86_64.txt && printf '2024.01.01\\n' > boot/version && \
         tar -C boot -cf - root.x86_64 pkglist.x86_64.txt version | zstd -q -19 --long -o arch.tar.zst",
    );
    let input = fs::read(d.join("arch.tar.zst")).unwrap();
    let expect = sha256(&input);
    let o = run_in(
        d,
        &[
            "arch.tar.zst",
            "-o",
            "arch",
            "--json",
            "--arch",
            "amd64",
            "--strip-components",
            "1",
            "--expect",
            &expect,
        ],
        None,
        &[("SOURCE_DATE_EPOCH", "1600000000")],
    );
    let l = report(&o)["layers"][0].clone();
    assert_eq!(l["checksums_verified"][0], "sha256 (--expect)");
    assert_eq!(l["passthrough"], false);
    let tar = layer_tar(&d.join("arch"));
    let mut a = tar::Archive::new(&tar[..]);
    let mut names = Vec::new();
    let mut links = 0;
    for e in a.entries().unwrap() {
        let e = e.unwrap();
        assert_eq!(e.header().mtime().unwrap(), 1_600_000_000, "clamped");
        if e.header().entry_type() == tar::EntryType::Link {
            // GNU tar links whichever of the pair it met second to the first.
            let target = e.link_name_bytes().unwrap().into_owned();
            assert!(
                target == b"usr/bin/tool" || target == b"usr/bin/tool-link",
                "{}",
                String::from_utf8_lossy(&target)
            );
            links += 1;
        }
        names.push(String::from_utf8_lossy(&e.path_bytes()).into_owned());
    }
    assert_eq!(links, 1, "the hard link, its target stripped");
    assert!(names.contains(&"etc/os-release".to_string()), "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| !n.starts_with("root.x86_64") && !n.contains("pkglist") && n != "version"),
        "{names:?}"
    );
    // A wrong checksum still refuses the input with --normalize.
    run(
        d,
        &[
            "arch.tar.zst",
            "-o",
            "arch2",
            "--normalize",
            "--expect",
            &sha256(b"x"),
        ],
    )
    .exits(1);
    assert!(!d.join("arch2").exists());
}

/// What --normalize writes is read by the consumers: umoci unpacks the
/// expanded sparse file byte for byte, podman pulls the image.
#[test]
fn consumers_read_the_normalized_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    make_tree(d);
    if !have("tar") {
        return;
    }
    sh(
        d,
        "tar --format=gnu -S --no-recursion -C root -T list -cf gnu-sparse.tar",
    );
    import(d, "gnu-sparse.tar", "ociimport-test-norm", &["--normalize"]);
    if have("umoci") {
        let mut cmd = Command::new("umoci");
        cmd.arg("unpack");
        if !is_root() {
            cmd.arg("--rootless");
        }
        run_ok(
            cmd.arg("--image")
                .arg(format!("{}:t", d.join("ociimport-test-norm").display()))
                .arg(d.join("bundle")),
        );
        // Entry by entry: what umoci unpacked is the tree tar read from.
        assert_eq!(tree(&d.join("bundle/rootfs")), tree(&d.join("root")));
    }
    if have("skopeo") {
        run_ok(Command::new("skopeo").current_dir(d).args([
            "copy",
            "oci:ociimport-test-norm:t",
            "docker-archive:norm-docker.tar:norm:t",
        ]));
    }
    if have("podman") {
        let _storage = storage_lock();
        let o = run_ok(Command::new("podman").current_dir(d).args([
            "pull",
            "-q",
            "oci:ociimport-test-norm:t",
        ]));
        let id = o.out().trim().to_string();
        let _ = Command::new("podman").args(["rmi", "-f", &id]).output();
    }
}
