//! The SBOM's package scan (issue 20, point 2), through the library entry
//! point `ociimport::sbom::scan_packages`: databases written by the tests in
//! each format's documented form, an rpm sqlite database made by Debian's
//! rpm, and (slow) a real Debian rootfs made by mmdebstrap, compared with
//! the package managers' own listing. Every SPDX document is validated by
//! spdx-tools (`pyspdxtools`).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use ociimport::sbom::{Inventory, scan_packages, spdx_document};

use crate::common::*;

const CREATED: &str = "2024-05-01T10:20:30Z";

/// Scan a tar held in memory.
fn scan(tar: &[u8]) -> Inventory {
    scan_packages("test.tar", tar).unwrap()
}

/// (name, version, purl) of every package.
fn listed(inv: &Inventory) -> Vec<(String, String, String)> {
    inv.packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.purl.clone()))
        .collect()
}

fn triples(want: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    want.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

/// Write `inv`'s SPDX document and have spdx-tools validate it (a missing
/// pyspdxtools fails under CI, as every required tool does).
fn validate(dir: &Path, inv: &Inventory, name: &str) -> serde_json::Value {
    let doc = spdx_document(inv, name, CREATED);
    let again = spdx_document(inv, name, CREATED);
    assert_eq!(
        doc.to_string(),
        again.to_string(),
        "the document is deterministic"
    );
    let path = dir.join(format!("{name}.spdx.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    if have("pyspdxtools") {
        let run = run_ok(Command::new("pyspdxtools").arg("-i").arg(&path));
        assert!(
            !run.out().contains("validation") && !run.err().contains("ValidationMessage"),
            "spdx-tools: {}",
            run.context()
        );
    }
    doc
}

/// The package entries' `licenseDeclared` by name.
fn declared(doc: &serde_json::Value, name: &str) -> String {
    doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .map(|p| p["licenseDeclared"].as_str().unwrap().to_string())
        .unwrap()
}

#[test]
fn apk_database_with_origin_and_no_trailing_newline() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Tar::with_parents();
    t.file("etc/os-release", b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n", 0o644);
    t.file(
        "./lib/apk/db/installed",
        b"C:Q1x=\nP:musl\nV:1.2.5-r0\nA:x86_64\nL:MIT\nm:Natanael Copa <ncopa@alpinelinux.org>\no:musl\nF:lib\nR:libc.musl-x86_64.so.1\n\n\
          P:ssl_client\nV:3.3.2-r1\nA:x86_64\nL:Apache-2.0 AND custom:x\no:openssl",
        0o644,
    );
    let inv = scan(&t.finish());
    assert_eq!(
        listed(&inv),
        triples(&[
            (
                "musl",
                "1.2.5-r0",
                "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3"
            ),
            (
                "ssl_client",
                "3.3.2-r1",
                "pkg:apk/alpine/ssl_client@3.3.2-r1?arch=x86_64&distro=alpine-3.20.3&upstream=openssl"
            ),
        ])
    );
    assert_eq!(inv.covered, ["lib/apk/db/installed (2 packages)"]);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    let doc = validate(dir.path(), &inv, "alpine");
    assert_eq!(declared(&doc, "musl"), "MIT");
    assert_eq!(
        declared(&doc, "ssl_client"),
        "LicenseRef-0-Apache-2.0-AND-custom-x"
    );
    assert_eq!(doc["packages"][0]["name"], "alpine");
    assert_eq!(doc["packages"][0]["versionInfo"], "3.20.3");
    assert_eq!(doc["creationInfo"]["created"], CREATED);
}

#[test]
fn pacman_desc_files_with_multi_line_licenses() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Tar::with_parents();
    t.file(
        "usr/lib/os-release",
        b"NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n",
        0o644,
    );
    t.symlink("etc/os-release", "../usr/lib/os-release");
    t.file("var/lib/pacman/local/ALPM_DB_VERSION", b"9\n", 0o644);
    t.file(
        "var/lib/pacman/local/bash-5.2.037-1/desc",
        b"%NAME%\nbash\n\n%VERSION%\n5.2.037-1\n\n%ARCH%\nx86_64\n\n%PACKAGER%\nTobias Powalowski <tpowa@archlinux.org>\n\n%LICENSE%\nGPL-3.0-or-later\n\n",
        0o644,
    );
    t.file(
        "var/lib/pacman/local/bash-5.2.037-1/files",
        b"%FILES%\nusr/bin/bash\n",
        0o644,
    );
    t.file(
        "var/lib/pacman/local/iana-etc-20241206-1/desc",
        b"%NAME%\niana-etc\n\n%VERSION%\n20241206-1\n\n%ARCH%\nany\n\n%LICENSE%\ncustom:none\nMIT\n",
        0o644,
    );
    let inv = scan(&t.finish());
    assert_eq!(
        listed(&inv),
        triples(&[
            (
                "bash",
                "5.2.037-1",
                "pkg:alpm/arch/bash@5.2.037-1?arch=x86_64&distro=arch"
            ),
            (
                "iana-etc",
                "20241206-1",
                "pkg:alpm/arch/iana-etc@20241206-1?arch=any&distro=arch"
            ),
        ])
    );
    assert_eq!(
        inv.covered,
        ["var/lib/pacman/local/*/desc (2 files, 2 packages)"]
    );
    assert_eq!(
        inv.os_release[1],
        ("ID".to_string(), "arch".to_string()),
        "the symlink is followed to usr/lib"
    );
    let doc = validate(dir.path(), &inv, "arch");
    assert_eq!(declared(&doc, "bash"), "GPL-3.0-or-later");
    assert_eq!(
        declared(&doc, "iana-etc"),
        "LicenseRef-0-custom-none-AND-MIT"
    );
    assert_eq!(
        doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "bash")
            .unwrap()["supplier"],
        "Person: Tobias Powalowski (tpowa@archlinux.org)"
    );
}

#[test]
fn portage_vdb_directories() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Tar::with_parents();
    t.file(
        "etc/os-release",
        b"NAME=Gentoo\nID=gentoo\nVERSION_ID=2.17\n",
        0o644,
    );
    for (pf, license) in [
        ("sys-apps/sed-4.9", "GPL-3+"),
        ("dev-libs/openssl-3.3.2-r1", "Apache-2.0"),
        ("acct-group/audio-0-r2", ""),
    ] {
        let base = format!("var/db/pkg/{pf}");
        t.file(&format!("{base}/CONTENTS"), b"obj /usr/bin/x 0 0\n", 0o644);
        t.file(&format!("{base}/SLOT"), b"0\n", 0o644);
        if !license.is_empty() {
            t.file(
                &format!("{base}/LICENSE"),
                format!("{license}\n").as_bytes(),
                0o644,
            );
        }
    }
    let inv = scan(&t.finish());
    assert_eq!(
        listed(&inv),
        triples(&[
            (
                "acct-group/audio",
                "0-r2",
                "pkg:ebuild/acct-group/audio@0-r2"
            ),
            (
                "dev-libs/openssl",
                "3.3.2-r1",
                "pkg:ebuild/dev-libs/openssl@3.3.2-r1"
            ),
            ("sys-apps/sed", "4.9", "pkg:ebuild/sys-apps/sed@4.9"),
        ])
    );
    assert_eq!(inv.covered, ["var/db/pkg/*/*/ (3 packages)"]);
    let doc = validate(dir.path(), &inv, "gentoo");
    assert_eq!(declared(&doc, "dev-libs/openssl"), "Apache-2.0");
    assert_eq!(declared(&doc, "sys-apps/sed"), "LicenseRef-0-GPL-3-");
    assert_eq!(declared(&doc, "acct-group/audio"), "NOASSERTION");
}

#[test]
fn distroless_status_d_stanzas() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Tar::with_parents();
    t.file("etc/os-release", b"PRETTY_NAME=\"Distroless\"\nNAME=\"Debian GNU/Linux\"\nID=\"debian\"\nVERSION_ID=\"12\"\n", 0o644);
    t.file(
        "var/lib/dpkg/status.d/base",
        b"Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\nMaintainer: Santiago Vila <sanvila@debian.org>\n\n\
          Package: netbase\nStatus: install ok installed\nVersion: 6.4\nArchitecture: all\nDescription: Basic TCP/IP networking system\n This package provides the necessary\n",
        0o644,
    );
    t.file(
        "var/lib/dpkg/status.d/base.md5sums",
        b"0123 etc/debian_version\n",
        0o644,
    );
    t.file(
        "var/lib/dpkg/status.d/tzdata",
        b"Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all",
        0o644,
    );
    let inv = scan(&t.finish());
    assert_eq!(
        listed(&inv),
        triples(&[
            (
                "base-files",
                "12.4+deb12u5",
                "pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12"
            ),
            (
                "netbase",
                "6.4",
                "pkg:deb/debian/netbase@6.4?arch=all&distro=debian-12"
            ),
            (
                "tzdata",
                "2024a-0+deb12u1",
                "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12"
            ),
        ])
    );
    assert_eq!(
        inv.covered,
        ["var/lib/dpkg/status.d/* (2 files, 3 packages)"]
    );
    validate(dir.path(), &inv, "distroless");
}

#[test]
fn xbps_pkgdb_plist() {
    let dir = tempfile::tempdir().unwrap();
    let pkgdb = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple Computer//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>_XBPS_ALTERNATIVES_</key>
	<dict>
		<key>sh</key>
		<array>
			<string>dash</string>
		</array>
	</dict>
	<key>dash</key>
	<dict>
		<key>architecture</key>
		<string>x86_64</string>
		<key>automatic-install</key>
		<true/>
		<key>license</key>
		<string>BSD-3-Clause</string>
		<key>pkgver</key>
		<string>dash-0.5.12_1</string>
		<key>state</key>
		<string>installed</string>
	</dict>
	<key>glibc</key>
	<dict>
		<key>architecture</key>
		<string>x86_64</string>
		<key>license</key>
		<string>GPL-2.0-or-later, LGPL-2.1-or-later, BSD-3-Clause</string>
		<key>pkgver</key>
		<string>glibc-2.39_2</string>
		<key>state</key>
		<string>installed</string>
	</dict>
</dict>
</plist>
"#;
    let mut t = Tar::with_parents();
    t.file(
        "etc/os-release",
        b"NAME=\"Void\"\nID=\"void\"\nDISTRIB_ID=\"void\"\n",
        0o644,
    );
    t.file("var/db/xbps/pkgdb-0.38.plist", pkgdb.as_bytes(), 0o644);
    let inv = scan(&t.finish());
    assert_eq!(
        listed(&inv),
        triples(&[
            (
                "dash",
                "0.5.12_1",
                "pkg:generic/void/dash@0.5.12_1?arch=x86_64&distro=void"
            ),
            (
                "glibc",
                "2.39_2",
                "pkg:generic/void/glibc@2.39_2?arch=x86_64&distro=void"
            ),
        ])
    );
    assert_eq!(inv.covered, ["var/db/xbps/pkgdb-0.38.plist (2 packages)"]);
    let doc = validate(dir.path(), &inv, "void");
    assert_eq!(declared(&doc, "dash"), "BSD-3-Clause");
    assert_eq!(
        declared(&doc, "glibc"),
        "GPL-2.0-or-later AND LGPL-2.1-or-later AND BSD-3-Clause"
    );
}

#[test]
fn corrupt_and_unreadable_databases_warn_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Tar::with_parents();
    t.file(
        "var/lib/dpkg/status",
        b"Package: a\n\x01\x02 garbage\n",
        0o644,
    );
    t.file("var/lib/rpm/Packages", &[0u8; 1024], 0o644);
    t.file(
        "usr/lib/sysimage/rpm/rpmdb.sqlite",
        b"not a database at all, just text",
        0o644,
    );
    t.file(
        "var/lib/pacman/local/x-1-1/desc",
        b"%NAME%\nx\n\n%VERSION%\n1-1\n",
        0o644,
    );
    let inv = scan(&t.finish());
    assert_eq!(
        inv.warnings,
        [
            "usr/lib/sysimage/rpm/rpmdb.sqlite: not read: sqlite: file is not a database",
            "var/lib/dpkg/status: not read: line 2 is not a `Field: value` line",
            "var/lib/rpm/Packages: not read: an rpm Berkeley DB database, which ociimport does not read",
        ]
    );
    assert_eq!(
        inv.covered,
        ["var/lib/pacman/local/*/desc (1 files, 1 packages)"]
    );
    let doc = validate(dir.path(), &inv, "corrupt");
    let comment = doc["comment"].as_str().unwrap();
    assert!(
        comment.contains("Not read: usr/lib/sysimage/rpm/rpmdb.sqlite: not read"),
        "{comment}"
    );
    assert!(
        comment.starts_with(
            "Packages from the rootfs's package databases: var/lib/pacman/local/*/desc"
        ),
        "{comment}"
    );
}

#[test]
fn a_rootfs_without_databases_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let inv = scan(&rootfs_tar());
    assert!(inv.packages.is_empty());
    assert_eq!(
        inv.warnings,
        [
            "no package database found in the rootfs (dpkg, apk, pacman, portage, rpm, xbps): the SBOM lists no packages"
        ]
    );
    let doc = validate(dir.path(), &inv, "bare");
    assert_eq!(
        doc["packages"].as_array().unwrap().len(),
        1,
        "the described package alone"
    );
    assert!(
        doc["comment"]
            .as_str()
            .unwrap()
            .starts_with("Packages from no package database: none found")
    );
}

/// A regular file entry with `path` stored exactly as given (the tar
/// crate's builder would normalise it).
fn raw_entry(path: &str, data: &[u8]) -> Vec<u8> {
    let mut h = tar_header(data.len() as u64, 0o644);
    h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

#[test]
fn later_entries_replace_earlier_ones_and_paths_are_normalised() {
    let mut tar = raw_entry("./etc/os-release", b"ID=alpine\nVERSION_ID=3.19\n");
    tar.extend(raw_entry("lib/apk/db/installed", b"P:old\nV:1\n"));
    tar.extend(raw_entry(
        "/lib//apk/./db/installed",
        b"P:new\nV:2\nA:aarch64\n",
    ));
    tar.extend([0u8; 1024]);
    let inv = scan(&tar);
    assert_eq!(
        listed(&inv),
        triples(&[(
            "new",
            "2",
            "pkg:apk/alpine/new@2?arch=aarch64&distro=alpine-3.19"
        )])
    );
}

#[test]
fn merged_usr_apk_database_and_a_leftover_beside_it() {
    let mut t = Tar::with_parents();
    t.symlink("lib", "usr/lib");
    t.file(
        "usr/lib/apk/db/installed",
        b"P:busybox\nV:1.37.0-r0\nA:x86_64\n",
        0o644,
    );
    let inv = scan(&t.finish());
    assert_eq!(inv.covered, ["usr/lib/apk/db/installed (1 packages)"]);
    let mut t = Tar::with_parents();
    t.file("lib/apk/db/installed", b"P:busybox\nV:1.37.0-r0\n", 0o644);
    t.file(
        "usr/lib/apk/db/installed",
        b"P:busybox\nV:1.36.1-r0\n",
        0o644,
    );
    let inv = scan(&t.finish());
    assert_eq!(inv.covered, ["lib/apk/db/installed (1 packages)"]);
    assert_eq!(
        listed(&inv),
        triples(&[("busybox", "1.37.0-r0", "pkg:apk/alpine/busybox@1.37.0-r0")])
    );
}

#[test]
fn documents_differ_by_subject_only_in_name_and_namespace() {
    let mut t = Tar::new();
    t.file("lib/apk/db/installed", b"P:a\nV:1\n", 0o644);
    let inv = scan(&t.finish());
    let a = spdx_document(&inv, "a:1", CREATED);
    let b = spdx_document(&inv, "b:1", CREATED);
    assert_ne!(a["documentNamespace"], b["documentNamespace"]);
    assert!(
        a["documentNamespace"]
            .as_str()
            .unwrap()
            .starts_with("https://ociimport.invalid/spdx/")
    );
    assert_eq!(
        a["packages"][0]["name"], "a:1",
        "no os-release: the subject names the system"
    );
    assert_eq!(a["packages"][1], b["packages"][1]);
}

// ------------------------------------------------------------------- rpm

/// A spec file for a noarch package with no files.
fn spec(name: &str, epoch: Option<u32>, version: &str, license: &str) -> String {
    let epoch = epoch.map(|e| format!("Epoch: {e}\n")).unwrap_or_default();
    format!(
        "Name: {name}\n{epoch}Version: {version}\nRelease: 3.test\nSummary: test package\nLicense: {license}\n\
         Vendor: ociimport tests\nBuildArch: noarch\n%description\ntest package\n%files\n"
    )
}

#[test]
fn rpm_sqlite_database_matches_rpm_qa() {
    if !have("rpmbuild") || !have("rpm") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().join("rpmbuild");
    let db = dir.path().join("db");
    std::fs::create_dir_all(&db).unwrap();
    let define_top = format!("_topdir {}", top.display());
    let mut rpms = Vec::new();
    for (name, epoch, version, license) in [
        ("alpha", None, "1.0", "MIT"),
        ("beta", Some(2), "0.9~rc1", "GPLv2+"),
        ("gamma-libs", None, "2024.1", "Apache-2.0 OR MIT"),
    ] {
        let spec_path = dir.path().join(format!("{name}.spec"));
        std::fs::write(&spec_path, spec(name, epoch, version, license)).unwrap();
        run_ok(
            Command::new("rpmbuild")
                .args(["-bb", "--define", &define_top])
                .arg(&spec_path),
        );
        rpms.push(
            top.join("RPMS/noarch")
                .join(format!("{name}-{version}-3.test.noarch.rpm")),
        );
    }
    let dbpath = format!("_dbpath {}", db.display());
    run_ok(
        Command::new("rpm")
            .args([
                "--define",
                "_db_backend sqlite",
                "--define",
                &dbpath,
                "--justdb",
                "--nodeps",
                "--ignorearch",
                "--ignoreos",
                "-i",
            ])
            .args(&rpms),
    );
    let qa = run_ok(Command::new("rpm").args([
        "--define",
        "_db_backend sqlite",
        "--define",
        &dbpath,
        "-qa",
        "--qf",
        "%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\n",
    ]))
    .out();
    let want: BTreeSet<String> = qa.lines().map(str::to_string).collect();
    assert_eq!(want.len(), 3, "{qa}");

    let mut t = Tar::with_parents();
    t.file("usr/lib/os-release", b"ID=fedora\nVERSION_ID=40\n", 0o644);
    t.file(
        "usr/lib/sysimage/rpm/rpmdb.sqlite",
        &std::fs::read(db.join("rpmdb.sqlite")).unwrap(),
        0o644,
    );
    let inv = scan(&t.finish());
    let got: BTreeSet<String> = inv
        .packages
        .iter()
        .map(|p| format!("{} {}", p.name, p.version))
        .collect();
    assert_eq!(got, want);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    assert_eq!(
        inv.covered,
        ["usr/lib/sysimage/rpm/rpmdb.sqlite (3 packages)"]
    );
    let beta = inv.packages.iter().find(|p| p.name == "beta").unwrap();
    assert_eq!(beta.version, "2:0.9~rc1-3.test");
    assert_eq!(
        beta.purl,
        "pkg:rpm/fedora/beta@0.9~rc1-3.test?arch=noarch&distro=fedora-40&epoch=2"
    );
    assert_eq!(
        beta.supplier.as_deref(),
        Some("Organization: ociimport tests")
    );
    let doc = validate(dir.path(), &inv, "fedora");
    assert_eq!(declared(&doc, "gamma-libs"), "Apache-2.0 OR MIT");
    assert_eq!(declared(&doc, "beta"), "LicenseRef-0-GPLv2-");
}

// ---------------------------------------------------------------- Debian

/// A real Debian rootfs (`mmdebstrap --variant=minbase bookworm`, from
/// Debian's mirror): the scan lists exactly what `dpkg-query` lists.
#[test]
fn debian_minbase_matches_dpkg_query() {
    if std::env::var("OCIIMPORT_SLOW_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: a slow test; set OCIIMPORT_SLOW_TESTS=1 to run it (.ci/run does)");
        return;
    }
    if !have("mmdebstrap") || !have("dpkg-query") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("bookworm.tar");
    run_ok(
        Command::new("mmdebstrap")
            .args(["--quiet", "--variant=minbase", "bookworm"])
            .arg(&tar),
    );
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    run_ok(
        Command::new("tar")
            .arg("-xf")
            .arg(&tar)
            .arg("-C")
            .arg(&root)
            .args(["./var/lib/dpkg", "./etc/os-release", "./usr/lib/os-release"]),
    );
    let admindir = root.join("var/lib/dpkg");
    let listed_by_dpkg = run_ok(
        Command::new("dpkg-query")
            .arg(format!("--admindir={}", admindir.display()))
            .args(["-W", "-f", "${db:Status-Status} ${Package} ${Version}\n"]),
    )
    .out();
    let want: BTreeSet<String> = listed_by_dpkg
        .lines()
        .filter_map(|l| l.strip_prefix("installed "))
        .map(str::to_string)
        .collect();
    assert!(want.len() > 50, "{listed_by_dpkg}");

    let inv = scan_packages("bookworm.tar", std::fs::File::open(&tar).unwrap()).unwrap();
    let got: BTreeSet<String> = inv
        .packages
        .iter()
        .map(|p| format!("{} {}", p.name, p.version))
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        inv.covered,
        [format!("var/lib/dpkg/status ({} packages)", want.len())]
    );
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    let libc = inv.packages.iter().find(|p| p.name == "libc6").unwrap();
    assert!(
        libc.purl.starts_with("pkg:deb/debian/libc6@"),
        "{}",
        libc.purl
    );
    assert!(
        libc.purl.ends_with("?arch=amd64&distro=debian-12"),
        "{}",
        libc.purl
    );
    validate(dir.path(), &inv, "bookworm");
}
