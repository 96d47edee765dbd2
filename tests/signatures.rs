//! OpenPGP verification end to end: keys made by gpg in temporary homes,
//! clear-signed Gentoo-style DIGESTS, Ubuntu-style SHA256SUMS + .gpg,
//! detached signatures over the input, and the real binary judging them.
//!
//! gpg is only the test's signing tool; ociimport verifies in pure Rust.
//! Without gpg the tests pass without checking anything, except under CI,
//! where they fail.

mod policy;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use serde_json::{Value, json};

/// A GnuPG home of its own; its agent is stopped when dropped.
struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    /// A fresh home, or `None` (outside CI) when gpg is not installed.
    fn new() -> Option<Gpg> {
        let found = Command::new("gpg")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            assert!(
                std::env::var_os("CI").is_none(),
                "gpg is needed for tests/signatures.rs (apt-get install gnupg)"
            );
            eprintln!("skipped: gpg not found");
            return None;
        }
        Some(Gpg {
            home: tempfile::Builder::new().prefix("g").tempdir().unwrap(),
        })
    }

    /// Runs gpg non-interactively in this home; returns stdout.
    fn run(&self, args: &[&str]) -> Vec<u8> {
        run_ok(
            Command::new("gpg")
                .env("GNUPGHOME", self.home.path())
                .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
                .args(args),
        )
        .output
        .stdout
    }

    /// Fingerprints of every key and subkey, primary first.
    fn fingerprints(&self) -> Vec<String> {
        let out = self.run(&["--with-colons", "--list-keys"]);
        String::from_utf8_lossy(&out)
            .lines()
            .filter_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_string())
            .collect()
    }

    /// A primary key that only certifies and a signing subkey, as Gentoo's
    /// release key has; returns (primary, subkey) fingerprints.
    fn gentoo_like(&self) -> (String, String) {
        self.run(&[
            "--quick-gen-key",
            "Release <release@example.org>",
            "ed25519",
            "cert",
            "never",
        ]);
        let primary = self.fingerprints().remove(0);
        self.run(&["--quick-add-key", &primary, "ed25519", "sign", "never"]);
        let sub = self.fingerprints().remove(1);
        (primary, sub)
    }

    /// One key that signs itself; returns its fingerprint. `extra` goes
    /// before the command (e.g. `--faked-system-time`).
    fn plain(&self, name: &str, algo: &str, expire: &str, extra: &[&str]) -> String {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(["--quick-gen-key", name, algo, "sign", expire]);
        self.run(&args);
        self.fingerprints().remove(0)
    }

    /// Writes the certificates to `path`, armored or binary.
    fn export(&self, path: &Path, armor: bool) {
        let mut args = vec!["--export"];
        if armor {
            args.push("--armor");
        }
        std::fs::write(path, self.run(&args)).unwrap();
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "all"])
            .output();
    }
}

/// A Gentoo `.DIGESTS` body listing `name` with `sha512`.
fn digests(name: &str, sha512: &str) -> String {
    let other = sha512_hex(b"other");
    format!("# SHA512 HASH\n{sha512}  {name}\n# SHA512 HASH\n{other}  {name}.CONTENTS.gz\n")
}

/// The directory with the input `rootfs.tar`, the signer's keyring
/// `release.asc` (armored) and `release.gpg` (binary), `rootfs.tar.DIGESTS`
/// (clear-signed, SHA-512 digest algorithm), `rootfs.tar.asc` (armored
/// detached), `SHA256SUMS` + `SHA256SUMS.gpg` (binary detached).
struct Fixture {
    dir: tempfile::TempDir,
    signer: Gpg,
    primary: String,
    subkey: String,
    tar: Vec<u8>,
}

impl Fixture {
    fn new() -> Option<Fixture> {
        let signer = Gpg::new()?;
        let (primary, subkey) = signer.gentoo_like();
        let dir = tempfile::tempdir().unwrap();
        let tar = rootfs_tar();
        let f = Fixture {
            dir,
            signer,
            primary,
            subkey,
            tar,
        };
        std::fs::write(f.path("rootfs.tar"), &f.tar).unwrap();
        f.signer.export(&f.path("release.asc"), true);
        f.signer.export(&f.path("release.gpg"), false);
        let sha512 = sha512_hex(&f.tar);
        f.clearsign("rootfs.tar.DIGESTS", &digests("rootfs.tar", &sha512));
        f.detach_sign("rootfs.tar", "rootfs.tar.asc", true);
        let sums = format!("{}  rootfs.tar\n", sha256_hex(&f.tar));
        std::fs::write(f.path("SHA256SUMS"), sums).unwrap();
        f.detach_sign("SHA256SUMS", "SHA256SUMS.gpg", false);
        Some(f)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn clearsign(&self, name: &str, text: &str) {
        let plain = self.path(&format!("{name}.plain"));
        std::fs::write(&plain, text).unwrap();
        let out = self.path(name);
        let _ = std::fs::remove_file(&out);
        self.signer.run(&[
            "--digest-algo",
            "SHA512",
            "--clearsign",
            "-o",
            out.to_str().unwrap(),
            plain.to_str().unwrap(),
        ]);
    }

    fn detach_sign(&self, file: &str, sig: &str, armor: bool) {
        let out = self.path(sig);
        let _ = std::fs::remove_file(&out);
        let mut args = vec!["--digest-algo", "SHA256", "--detach-sign", "-o"];
        args.push(out.to_str().unwrap());
        if armor {
            args.push("--armor");
        }
        let input = self.path(file);
        args.push(input.to_str().unwrap());
        self.signer.run(&args);
    }

    fn run(&self, args: &[&str]) -> Run {
        run(self.dir.path(), args)
    }

    /// `PRIMARY/SUBKEY`, as ociimport names a subkey signer.
    fn signer_name(&self) -> String {
        format!("{}/{}", self.primary, self.subkey)
    }
}

fn manifest(layout: &Path, r: &Value) -> Value {
    let digest = r["manifest"]["digest"].as_str().unwrap();
    serde_json::from_slice(&blob(layout, digest)).unwrap()
}

#[test]
fn good_signatures_verify_and_are_recorded() {
    let Some(f) = Fixture::new() else { return };
    let signer = f.signer_name();
    let digest = sha256(&f.tar);
    // Gentoo: clear-signed DIGESTS and the input's own .asc, armored keyring.
    let args = [
        "rootfs.tar",
        "-o",
        "gentoo",
        "--keyring",
        "release.asc",
        "--checksums",
        "rootfs.tar.DIGESTS",
        "--signature",
        "rootfs.tar.asc",
        "--json",
    ];
    let o = f.run(&args);
    let r = report(&o);
    assert!(
        !stderr(&o).contains("warning: rootfs.tar.DIGESTS"),
        "{}",
        stderr(&o)
    );
    let layer = &r["layers"][0];
    assert_eq!(
        layer["checksums_verified"],
        json!(["sha512 (rootfs.tar.DIGESTS)"])
    );
    assert_eq!(
        layer["signatures_verified"],
        json!([
            {"file": "rootfs.tar", "signature": "rootfs.tar.asc", "signer": signer},
            {"file": "rootfs.tar.DIGESTS", "signature": "rootfs.tar.DIGESTS", "signer": signer},
        ])
    );
    assert_eq!(layer["source"], "rootfs.tar");
    let layout = f.path("gentoo");
    check_layout(&layout);
    let m = manifest(&layout, &r);
    let both = format!("{signer}, {signer}");
    assert_eq!(
        m["annotations"],
        json!({
            "io.github.ociimport.layer.0.source": "rootfs.tar",
            "io.github.ociimport.layer.0.sha256": digest,
            "io.github.ociimport.layer.0.signer": both,
            "io.github.ociimport.layer.0.signed-file": "rootfs.tar, rootfs.tar.DIGESTS",
        })
    );
    // Deterministic: the same input and flags give the same manifest.
    let again = f.run(&[&args[..2], &["gentoo2"], &args[3..]].concat());
    assert_eq!(report(&again)["manifest"], r["manifest"]);

    // inspect shows the provenance, as text and JSON.
    let o = f.run(&["inspect", "gentoo"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("  source:  rootfs.tar\n"), "{text}");
    assert!(text.contains(&format!("  input:   {digest}\n")), "{text}");
    // Only what the stored evidence re-checks: the signature over the
    // input cannot be, as the layer is the input recompressed.
    assert!(
        text.contains(&format!(
            "  signed:  rootfs.tar.DIGESTS by {signer} (another signature cannot be re-checked: the signature is over the input rootfs.tar, which the layout does not hold (the layer was recompressed))\n"
        )),
        "{text}"
    );
    let o = f.run(&["inspect", "gentoo", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["layers"][0]["provenance"]["signer"], both);
    assert_eq!(v[0]["layers"][0]["verified"], true);
    // The input kept as the layer (passthrough): its signature re-checks too.
    let kept = [&args[..2], &["kept", "--compression", "none"], &args[3..]].concat();
    f.run(&kept).succeeds();
    f.run(&["verify", "kept"]).succeeds();
    let text = f.run(&["inspect", "kept"]).succeeds().out();
    assert!(
        text.contains(&format!(
            "  signed:  rootfs.tar, rootfs.tar.DIGESTS by {both}\n"
        )),
        "{text}"
    );

    // Ubuntu: SHA256SUMS with a binary detached signature, binary keyring.
    let o = f.run(&[
        "rootfs.tar",
        "-o",
        "ubuntu",
        "--keyring",
        "release.gpg",
        "--checksums",
        "SHA256SUMS",
        "--checksums-signature",
        "SHA256SUMS.gpg",
        "--json",
    ]);
    let r = report(&o);
    assert_eq!(
        r["layers"][0]["checksums_verified"],
        json!(["sha256 (SHA256SUMS)"])
    );
    assert_eq!(
        r["layers"][0]["signatures_verified"],
        json!([{"file": "SHA256SUMS", "signature": "SHA256SUMS.gpg", "signer": signer}])
    );

    // The summary says it: the checksum file and algorithm, the signer.
    let verified_line = |o: &Run, want: String| {
        let err = stderr(o);
        let line = err.lines().find(|l| l.starts_with("  verified"));
        assert_eq!(line, Some(want.as_str()), "{err}");
    };
    verified_line(
        &o,
        format!("  verified  sha256 (SHA256SUMS), signed by {signer} (SHA256SUMS.gpg)"),
    );
    let o = f.run(&[
        "rootfs.tar",
        "-o",
        "gentoo-summary",
        "--keyring",
        "release.asc",
        "--signature",
        "rootfs.tar.asc",
    ]);
    verified_line(
        &o,
        format!("  verified  signed by {signer} (rootfs.tar.asc)"),
    );

    // Two inputs, a signature for one: the other would be imported
    // unverified beside it, so nothing is imported.
    std::fs::write(f.path("second.tar"), &f.tar).unwrap();
    let o = f
        .run(&[
            "rootfs.tar",
            "second.tar",
            "-o",
            "partial",
            "--keyring",
            "release.asc",
            "--signature",
            "rootfs.tar.asc",
        ])
        .exits(2);
    assert_eq!(
        stderr(&o).lines().next().unwrap_or_default(),
        "error: --keyring given, but nothing verifies second.tar: add --signature second.tar.asc (or .sig), or a signed --checksums file"
    );
    assert!(!f.path("partial").exists());
}

#[test]
fn only_the_signed_text_of_a_clear_signed_file_counts() {
    let Some(f) = Fixture::new() else { return };
    let right = sha512_hex(&f.tar);
    let wrong = sha512_hex(b"not the input");
    let signed_ok = std::fs::read_to_string(f.path("rootfs.tar.DIGESTS")).unwrap();
    // Correct signed hash, a wrong one in unsigned text after the block: accepted.
    let trailing_wrong = format!("{signed_ok}{}", digests("rootfs.tar", &wrong));
    std::fs::write(f.path("trailing-wrong.DIGESTS"), trailing_wrong).unwrap();
    let o = f.run(&[
        "rootfs.tar",
        "-o",
        "ok",
        "--keyring",
        "release.asc",
        "--checksums",
        "trailing-wrong.DIGESTS",
        "--json",
    ]);
    assert_eq!(
        report(&o)["layers"][0]["checksums_verified"],
        json!(["sha512 (trailing-wrong.DIGESTS)"])
    );

    // Wrong signed hash, the correct one slipped in after the block: refused.
    f.clearsign("signed-wrong.DIGESTS", &digests("rootfs.tar", &wrong));
    let signed_wrong = std::fs::read_to_string(f.path("signed-wrong.DIGESTS")).unwrap();
    let slipped = format!("{signed_wrong}{}", digests("rootfs.tar", &right));
    std::fs::write(f.path("slipped.DIGESTS"), slipped).unwrap();
    f.run(&[
        "rootfs.tar",
        "-o",
        "bad",
        "--keyring",
        "release.asc",
        "--checksums",
        "slipped.DIGESTS",
    ])
    .refused(&format!("expected {wrong}"));
    assert!(!f.path("bad").exists());

    // Without --keyring the clear-signed file is used, with a warning.
    f.run(&[
        "rootfs.tar",
        "-o",
        "nokeys",
        "--checksums",
        "rootfs.tar.DIGESTS",
    ])
    .succeeds()
    .says(
        "ociimport: warning: rootfs.tar.DIGESTS is clear-signed, but its signature was not checked",
    );
}

/// `-q` hides the summary and the progress, not warnings (issue 22): the
/// unchecked clear-signed file is said, and it is all that is said.
#[test]
fn quiet_still_prints_warnings() {
    let Some(f) = Fixture::new() else { return };
    let o = f
        .run(&[
            "rootfs.tar",
            "-q",
            "--arch",
            "amd64",
            "-o",
            "quiet",
            "--checksums",
            "rootfs.tar.DIGESTS",
        ])
        .succeeds();
    assert_eq!(
        stderr(&o),
        "ociimport: warning: rootfs.tar.DIGESTS is clear-signed, but its signature was not checked (give --keyring to verify it)\n"
    );
}

/// The refusal cases: arguments, and what the one line of stderr must say.
fn refusal_cases(
    f: &Fixture,
    missing: &str,
    expired: &str,
    revoked: &str,
) -> Vec<(Vec<String>, Vec<String>)> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let signer = f.signer_name();
    vec![
        (
            s(&[
                "tampered.tar",
                "--keyring",
                "release.asc",
                "--signature",
                "tampered.tar.asc",
            ]),
            vec![
                "tampered.tar: OpenPGP signature tampered.tar.asc by".into(),
                signer.clone(),
                "BAD signature".into(),
            ],
        ),
        (
            s(&[
                "rootfs.tar",
                "--keyring",
                "other.asc",
                "--signature",
                "rootfs.tar.asc",
            ]),
            vec![f.subkey.clone(), "not in --keyring".into()],
        ),
        (
            s(&[
                "rootfs.tar",
                "--keyring",
                "other.asc",
                "--checksums",
                "rootfs.tar.DIGESTS",
            ]),
            vec![
                "rootfs.tar.DIGESTS: OpenPGP signature by".into(),
                f.subkey.clone(),
                "not in --keyring".into(),
            ],
        ),
        (
            s(&[
                "rootfs.tar",
                "--keyring",
                "expired.gpg",
                "--signature",
                "expired.sig",
            ]),
            vec![expired.into(), "expired on 2020-01-03".into()],
        ),
        (
            s(&[
                "rootfs.tar",
                "--keyring",
                "revoked.gpg",
                "--signature",
                "revoked.sig",
            ]),
            vec![revoked.into(), "revoked".into()],
        ),
        (
            s(&[
                "rootfs.tar",
                "--keyring",
                "release.asc",
                "--checksums",
                "SHA256SUMS",
            ]),
            vec!["SHA256SUMS: not signed".into()],
        ),
        (
            s(&[
                "rootfs.tar",
                "--keyring",
                "release.asc",
                "--checksums",
                "SHA256SUMS",
                "--checksums-signature",
                "rootfs.tar.asc",
            ]),
            vec![
                "SHA256SUMS: OpenPGP signature rootfs.tar.asc by".into(),
                "BAD signature".into(),
            ],
        ),
        (
            s(&[
                "rootfs.tar",
                "--keyring",
                "release.asc",
                "--signature",
                "SHA256SUMS",
            ]),
            vec!["SHA256SUMS: OpenPGP signature by unknown: not an OpenPGP signature".into()],
        ),
        (
            s(&[
                "rootfs.tar",
                "--keyring",
                "SHA256SUMS",
                "--signature",
                "rootfs.tar.asc",
            ]),
            vec!["SHA256SUMS: holds no OpenPGP certificate".into()],
        ),
        (
            s(&[
                "rootfs.tar",
                "--keyring",
                "release.asc",
                "--signature",
                missing,
            ]),
            vec!["No such file".into()],
        ),
    ]
}

#[test]
fn refusals_publish_nothing_and_leave_the_layout_unchanged() {
    let Some(f) = Fixture::new() else { return };
    // A signature over the input, then the input changed (still a valid tar).
    // More zero blocks after the end marker: still a sound tar, other bytes.
    let mut tampered = f.tar.clone();
    tampered.extend_from_slice(&[0; 1024]);
    std::fs::write(f.path("tampered.tar"), &f.tar).unwrap();
    f.detach_sign("tampered.tar", "tampered.tar.asc", true);
    std::fs::write(f.path("tampered.tar"), &tampered).unwrap();
    // Someone else's key.
    let other = Gpg::new().unwrap();
    other.plain("Other <other@example.org>", "ed25519", "never", &[]);
    other.export(&f.path("other.asc"), true);
    // A key that expired in 2020; the signature was made while it was valid.
    let old = Gpg::new().unwrap();
    let expired = old.plain(
        "Old <old@example.org>",
        "ed25519",
        "2d",
        &["--faked-system-time", "20200101T000000"],
    );
    old.export(&f.path("expired.gpg"), false);
    let input = f.path("rootfs.tar");
    let sig = f.path("expired.sig");
    old.run(&[
        "--faked-system-time",
        "20200101T120000",
        "--detach-sign",
        "-o",
        sig.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    // A key revoked with its revocation certificate.
    let gone = Gpg::new().unwrap();
    let revoked = gone.plain("Gone <gone@example.org>", "rsa2048", "never", &[]);
    let sig = f.path("revoked.sig");
    gone.run(&[
        "--detach-sign",
        "-o",
        sig.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    let cert = gone
        .home
        .path()
        .join(format!("openpgp-revocs.d/{revoked}.rev"));
    let cert = std::fs::read_to_string(cert)
        .unwrap()
        .replace(":-----BEGIN", "-----BEGIN");
    std::fs::write(f.path("revocation.asc"), cert).unwrap();
    gone.run(&["--import", f.path("revocation.asc").to_str().unwrap()]);
    gone.export(&f.path("revoked.gpg"), false);

    // An existing layout, to be left as it is.
    f.run(&["rootfs.tar", "-q", "-o", "img"]).succeeds();
    let layout = f.path("img");
    let before = snapshot(&layout);
    for (args, wants) in refusal_cases(&f, "missing.asc", &expired, &revoked) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused_into_img_and_fresh(f.dir.path(), &args, &wants);
    }
    assert_eq!(snapshot(&layout), before);
}

#[test]
fn misused_signature_options_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("rootfs.tar"), rootfs_tar()).unwrap();
    std::fs::write(tmp.path().join("x.asc"), "not read").unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["--signature", "x.asc"], "need --keyring"),
        (&["--checksums-signature", "x.asc"], "need --keyring"),
        (
            &["--annotation", "io.github.ociimport.layer.0.signer=me"],
            "set by ociimport only",
        ),
        (
            &["--annotation", "io.github.ociimport.x=y", "--label", "a=b"],
            "set by ociimport only",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["rootfs.tar", "-o", "img"];
        args.extend_from_slice(extra);
        run(tmp.path(), &args).usage_error(want);
        assert!(!tmp.path().join("img").exists(), "{extra:?}");
    }
}

/// A signature file of many copies is refused before the input is hashed
/// once per copy (issue 24 point 8).
#[test]
fn a_signature_file_of_many_copies_is_refused() {
    let Some(f) = Fixture::new() else { return };
    let one = std::fs::read(f.path("SHA256SUMS.gpg")).unwrap();
    std::fs::write(f.path("many.gpg"), one.repeat(9)).unwrap();
    let o = f
        .run(&[
            "rootfs.tar",
            "--keyring",
            "release.gpg",
            "--signature",
            "many.gpg",
            "-o",
            "img",
        ])
        .refused("many.gpg: OpenPGP signature by unknown: holds 9 signatures, more than the 8 ociimport checks (one per signer); use the file the publisher signed");
    assert_eq!(o.err().lines().count(), 1, "{}", o.err());
    assert!(!f.path("img").exists());
}

// ---------------------------------------------------------------------------
// signature evidence: signer annotations are re-checked, not trusted
// ---------------------------------------------------------------------------

const EVIDENCE: &str = "application/vnd.ociimport.evidence.v1+json";
const SUBJECT: &str = "vnd.docker.reference.digest";

/// Stores `bytes` as a blob of `layout`; returns its descriptor fields.
fn put_blob(layout: &Path, bytes: &[u8]) -> (String, u64) {
    let d = sha256(bytes);
    std::fs::write(blob_path(layout, &d), bytes).unwrap();
    (d, bytes.len() as u64)
}

/// Rewrites `index.json` entry `i` to point to `v`, stored as a new blob.
fn republish(layout: &Path, i: usize, v: &Value) -> String {
    let (d, size) = put_blob(layout, &serde_json::to_vec(v).unwrap());
    let path = layout.join("index.json");
    let mut idx = read_json(&path);
    idx["manifests"][i]["digest"] = json!(d);
    idx["manifests"][i]["size"] = json!(size);
    std::fs::write(&path, serde_json::to_vec(&idx).unwrap()).unwrap();
    d
}

/// The Ubuntu-style import (SHA256SUMS + binary SHA256SUMS.gpg) into `out`;
/// returns the manifest digest.
fn ubuntu_import(f: &Fixture, out: &str) -> String {
    let o = f.run(&[
        "rootfs.tar",
        "-o",
        out,
        "--keyring",
        "release.gpg",
        "--checksums",
        "SHA256SUMS",
        "--checksums-signature",
        "SHA256SUMS.gpg",
        "--json",
    ]);
    report(&o)["manifest"]["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `verify` of `layout` fails with exit 1 and exactly `problem` before its summary.
#[track_caller]
fn verify_fails_with(f: &Fixture, layout: &str, problem: &str) {
    assert!(
        problem.len() < 300,
        "{} characters: {problem}",
        problem.len()
    );
    let o = f.run(&["verify", layout]).exits(1);
    let out = o.out();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first().copied(), Some(problem), "{out}");
    assert!(
        lines
            .get(1)
            .is_some_and(|l| l.starts_with("FAILED: 1 problem;")),
        "{out}"
    );
}

#[test]
fn signed_imports_store_evidence_that_verify_and_inspect_recheck() {
    let Some(f) = Fixture::new() else { return };
    let signer = f.signer_name();
    let manifest = ubuntu_import(&f, "ubuntu");
    let layout = f.path("ubuntu");
    check_layout(&layout);
    // index.json: the tag, then the evidence, untagged, about the image.
    let idx = read_json(&layout.join("index.json"));
    let entries = idx["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["digest"], manifest.as_str());
    let e = &entries[1];
    assert_eq!(e["artifactType"], EVIDENCE);
    assert_eq!(e["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(e["annotations"], json!({ SUBJECT: manifest }));
    let ev: Value = serde_json::from_slice(&blob(&layout, e["digest"].as_str().unwrap())).unwrap();
    assert_eq!(ev["artifactType"], EVIDENCE);
    assert_eq!(ev["subject"]["digest"], manifest.as_str());
    assert_eq!(
        ev["config"],
        json!({"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(b"{}"), "size": 2, "data": "e30="})
    );
    let blobs = ev["layers"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = blobs
        .iter()
        .map(|b| {
            (
                b["mediaType"].as_str().unwrap(),
                b["annotations"]["org.opencontainers.image.title"]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect();
    let key_title = format!("{}.pgp", f.primary);
    assert_eq!(
        kinds,
        [
            ("text/plain", "SHA256SUMS"),
            ("application/pgp-signature", "SHA256SUMS.gpg"),
            ("application/pgp-keys", key_title.as_str()),
        ]
    );
    // The files as they were given, byte for byte.
    for (b, file) in blobs.iter().zip(["SHA256SUMS", "SHA256SUMS.gpg"]) {
        assert_eq!(b["digest"], sha256(&std::fs::read(f.path(file)).unwrap()));
    }
    // The key: the signer's certificate, primary and signing subkey.
    let key = blob_path(&layout, blobs[2]["digest"].as_str().unwrap());
    let shown = f
        .signer
        .run(&["--with-colons", "--show-keys", key.to_str().unwrap()]);
    let fprs: Vec<String> = String::from_utf8_lossy(&shown)
        .lines()
        .filter_map(|l| l.strip_prefix("fpr:"))
        .map(|l| l.trim_matches(':').to_string())
        .collect();
    assert_eq!(fprs, [f.primary.clone(), f.subkey.clone()]);

    // verify re-checks it; inspect says who signed, as text and JSON.
    let o = f.run(&["verify", "ubuntu"]).succeeds();
    assert!(
        o.out().starts_with("OK: ubuntu checked: 2 manifests, "),
        "{}",
        o.out()
    );
    let text = f.run(&["inspect", "ubuntu"]).succeeds().out();
    assert!(
        text.contains(&format!("\n  signed:  SHA256SUMS by {signer}\n")),
        "{text}"
    );
    let v = f.run(&["inspect", "ubuntu", "--json"]).succeeds().json();
    assert_eq!(v[0]["layers"][0]["verified"], true);
    assert_eq!(v.as_array().unwrap().len(), 1, "the evidence is no image");

    // Byte-reproducible: the same inputs and flags give the same layout.
    ubuntu_import(&f, "ubuntu2");
    assert_eq!(snapshot(&layout), snapshot(&f.path("ubuntu2")));

    // gc keeps the evidence: nothing is unreferenced, nothing goes.
    let before = snapshot(&layout);
    f.run(&["gc", "ubuntu"]).succeeds();
    assert_eq!(snapshot(&layout), before);
    f.run(&["verify", "ubuntu"]).succeeds();
}

#[test]
fn a_hand_added_signer_annotation_fails_verify_and_inspect_does_not_trust_it() {
    let Some(f) = Fixture::new() else { return };
    f.run(&["rootfs.tar", "-o", "forged"]).succeeds();
    let layout = f.path("forged");
    let idx = read_json(&layout.join("index.json"));
    let d = idx["manifests"][0]["digest"].as_str().unwrap();
    let mut m: Value = serde_json::from_slice(&blob(&layout, d)).unwrap();
    let a = m["annotations"].as_object_mut().unwrap();
    a.insert(
        "io.github.ociimport.layer.0.signer".into(),
        json!(f.signer_name()),
    );
    a.insert(
        "io.github.ociimport.layer.0.signed-file".into(),
        json!("SHA256SUMS"),
    );
    let forged = republish(&layout, 0, &m);
    verify_fails_with(
        &f,
        "forged",
        &format!(
            "tag latest: manifest ({forged}): layer.0.signer NOT backed by signature evidence: no evidence manifest in index.json has it as subject (ociimport stores one when it verifies a signature)"
        ),
    );
    let text = f.run(&["inspect", "forged"]).succeeds().out();
    assert!(!text.contains("signed:"), "{text}");
    assert!(
        text.contains("\n  signer:  annotation NOT backed by a signature in the layout: no evidence manifest in index.json has it as subject (ociimport stores one when it verifies a signature)\n"),
        "{text}"
    );
    let v = f.run(&["inspect", "forged", "--json"]).succeeds().json();
    assert_eq!(v[0]["layers"][0]["verified"], false);

    // The same claim moved onto a signed image's evidence-less copy: the
    // evidence of another manifest does not count.
    let manifest = ubuntu_import(&f, "moved");
    let layout = f.path("moved");
    let mut m: Value = serde_json::from_slice(&blob(&layout, &manifest)).unwrap();
    m["annotations"]["org.example.changed"] = json!("1");
    let changed = republish(&layout, 0, &m);
    verify_fails_with(
        &f,
        "moved",
        &format!(
            "tag latest: manifest ({changed}): layer.0.signer NOT backed by signature evidence: no evidence manifest in index.json has it as subject (ociimport stores one when it verifies a signature)"
        ),
    );
}

#[test]
fn evidence_with_a_tampered_checksum_file_fails_verify() {
    let Some(f) = Fixture::new() else { return };
    let manifest = ubuntu_import(&f, "tampered");
    let layout = f.path("tampered");
    let idx = read_json(&layout.join("index.json"));
    let ev_digest = idx["manifests"][1]["digest"].as_str().unwrap();
    let mut ev: Value = serde_json::from_slice(&blob(&layout, ev_digest)).unwrap();
    // Another digest for rootfs.tar, as if the list had been edited.
    let sums = format!("{}  rootfs.tar\n", sha256_hex(b"something else"));
    let (d, size) = put_blob(&layout, sums.as_bytes());
    ev["layers"][0]["digest"] = json!(d);
    ev["layers"][0]["size"] = json!(size);
    republish(&layout, 1, &ev);
    verify_fails_with(
        &f,
        "tampered",
        &format!(
            "tag latest: manifest ({manifest}): layer.0.signer NOT backed by signature evidence: SHA256SUMS.gpg by {}: BAD signature: the signed data does not match it",
            f.signer_name()
        ),
    );
    let v = f.run(&["inspect", "tampered", "--json"]).succeeds().json();
    assert_eq!(v[0]["layers"][0]["verified"], false);
}

#[test]
fn index_imports_attach_evidence_per_platform_and_retagging_lets_gc_drop_it() {
    let Some(f) = Fixture::new() else { return };
    for (name, machine) in [("amd64.tar", 62u16), ("arm64.tar", 183)] {
        std::fs::write(f.path(name), platform_rootfs(machine, name)).unwrap();
    }
    let sums: String = ["amd64.tar", "arm64.tar"]
        .iter()
        .map(|n| format!("{}  {n}\n", sha256_hex(&std::fs::read(f.path(n)).unwrap())))
        .collect();
    std::fs::write(f.path("SUMS"), sums).unwrap();
    f.detach_sign("SUMS", "SUMS.gpg", false);
    let o = f.run(&[
        "--index",
        "amd64.tar",
        "arm64.tar",
        "-o",
        "multi",
        "--keyring",
        "release.gpg",
        "--checksums",
        "SUMS",
        "--checksums-signature",
        "SUMS.gpg",
        "--json",
    ]);
    let r = report(&o);
    let layout = f.path("multi");
    let idx = read_json(&layout.join("index.json"));
    let entries = idx["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{idx}");
    let images = r["images"].as_array().unwrap();
    for (img, e) in images.iter().zip(&entries[1..]) {
        assert_eq!(e["artifactType"], EVIDENCE);
        assert_eq!(e["digest"], img["evidence"]["digest"]);
        assert_eq!(e["annotations"][SUBJECT], img["manifest"]["digest"]);
    }
    f.run(&["verify", "multi"]).succeeds();
    let v = f.run(&["inspect", "multi", "--json"]).succeeds().json();
    let verified: Vec<&Value> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["layers"][0]["verified"])
        .collect();
    assert_eq!(verified, [&json!(true), &json!(true)]);

    // The tag moved to an unsigned image: the old images' evidence leaves
    // index.json with them, and gc removes its blobs (each image's
    // evidence manifest; the shared {}, SUMS, SUMS.gpg and key once).
    f.run(&["amd64.tar", "-o", "multi"]).succeeds();
    let idx = read_json(&layout.join("index.json"));
    assert_eq!(idx["manifests"].as_array().unwrap().len(), 1, "{idx}");
    let v = f.run(&["gc", "multi", "--json"]).succeeds().json();
    let removed: Vec<&str> = v["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["digest"].as_str().unwrap())
        .collect();
    for img in images {
        assert!(removed.contains(&img["evidence"]["digest"].as_str().unwrap()));
    }
    assert!(removed.contains(&sha256(&std::fs::read(f.path("SUMS")).unwrap()).as_str()));
    f.run(&["verify", "multi"]).succeeds();
}

/// Consumers address images by tag, so the untagged evidence entry changes
/// nothing for them; a reader given no tag (podman load) cannot choose on
/// the OCI side of a signed archive, and the summary's hints leave it out.
#[test]
fn signed_layouts_and_archives_stay_readable_by_tag() {
    let Some(f) = Fixture::new() else { return };
    let manifest = ubuntu_import(&f, "consumer");
    let signed = [
        "rootfs.tar",
        "--keyring",
        "release.gpg",
        "--checksums",
        "SHA256SUMS",
        "--checksums-signature",
        "SHA256SUMS.gpg",
    ];
    let o = f.run(&[&signed[..], &["-o", "oci-archive:signed.tar:v1"]].concat());
    let err = o.err();
    assert!(
        err.contains(
            "skopeo copy oci-archive:signed.tar:v1 containers-storage:docker.io/library/rootfs:v1"
        ),
        "{err}"
    );
    assert!(!err.contains("podman load"), "{err}");
    assert!(err.contains("docker load -i signed.tar"), "{err}");
    if have("skopeo") {
        for r in ["oci:consumer:latest", "oci-archive:signed.tar:v1"] {
            let o = run_ok(
                Command::new("skopeo")
                    .current_dir(f.dir.path())
                    .args(["inspect", r]),
            );
            let v: Value = serde_json::from_slice(&o.output.stdout).unwrap();
            assert_eq!(v["Digest"], manifest.as_str(), "{r}");
        }
    }
    if have("umoci") {
        let o = run_ok(
            Command::new("umoci")
                .current_dir(f.dir.path())
                .args(["ls", "--layout", "consumer"]),
        );
        assert_eq!(String::from_utf8_lossy(&o.output.stdout), "latest\n");
    }
    if have("podman") {
        let _lock = storage_lock();
        // podman load cannot take the OCI side (two manifests, no tag), so
        // it falls back to manifest.json, the docker-archive side, and names
        // the image localhost/…, not docker.io/library/… as from an
        // unsigned archive: hence the skopeo hint, which keeps the name.
        let o = run_ok(Command::new("podman").current_dir(f.dir.path()).args([
            "load",
            "-i",
            "signed.tar",
        ]));
        assert_eq!(o.out(), "Loaded image: localhost/rootfs:v1\n");
        run_ok(Command::new("podman").args(["rmi", "localhost/rootfs:v1"]));
    }
}

/// `--provenance` of a signed import: the dependency names the checksum
/// file it was checked against and the signers; the signature evidence
/// still hangs off the image manifest (untagged in index.json) and
/// re-checks, and both verify (issue 20 points 3 and 7).
#[test]
fn provenance_records_what_the_input_was_checked_against() {
    let Some(f) = Fixture::new() else { return };
    let signer = f.signer_name();
    let args = [
        "rootfs.tar",
        "-o",
        "signed",
        "--keyring",
        "release.asc",
        "--checksums",
        "rootfs.tar.DIGESTS",
        "--signature",
        "rootfs.tar.asc",
        "--provenance",
        "--sbom",
        "--json",
    ];
    let r = report(&f.run(&args));
    let layout = f.path("signed");
    let attestation: Value =
        serde_json::from_slice(&blob(&layout, r["attestation"]["digest"].as_str().unwrap()))
            .unwrap();
    let statement: Value = serde_json::from_slice(&blob(
        &layout,
        attestation["layers"][1]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    let def = &statement["predicate"]["buildDefinition"];
    assert_eq!(
        def["resolvedDependencies"],
        json!([{
            "name": "rootfs.tar",
            "digest": {"sha256": hex_of(&sha256(&f.tar))},
            "annotations": {
                "checksums": [{"algorithm": "sha512", "file": "rootfs.tar.DIGESTS"}],
                "signatures": [
                    {"file": "rootfs.tar", "signature": "rootfs.tar.asc", "signer": signer},
                    {"file": "rootfs.tar.DIGESTS", "signature": "rootfs.tar.DIGESTS", "signer": signer},
                ],
            },
        }])
    );
    assert_eq!(def["externalParameters"]["checksums"], "rootfs.tar.DIGESTS");
    // The evidence is about the image manifest, untagged beside the tag's index.
    let idx = read_json(&layout.join("index.json"));
    let entries = idx["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{idx}");
    assert_eq!(entries[0]["digest"], r["index"]["digest"]);
    assert_eq!(entries[1]["digest"], r["evidence"]["digest"]);
    assert_eq!(
        entries[1]["annotations"]["vnd.docker.reference.digest"],
        r["manifest"]["digest"]
    );
    f.run(&["verify", "signed"]).succeeds();
    let text = f.run(&["inspect", "signed"]).succeeds().out();
    assert!(
        text.contains(&format!("  signed:  rootfs.tar.DIGESTS by {signer}")),
        "{text}"
    );
}
