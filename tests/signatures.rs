//! OpenPGP verification end to end: keys made by gpg in temporary homes,
//! clear-signed Gentoo-style DIGESTS, Ubuntu-style SHA256SUMS + .gpg,
//! detached signatures over the input, and the real binary judging them.
//!
//! gpg is only the test's signing tool; ociimport verifies in pure Rust.
//! Without gpg the tests pass without checking anything, except under CI,
//! where they fail.

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
    assert!(
        text.contains(&format!(
            "  signed:  rootfs.tar, rootfs.tar.DIGESTS by {both}\n"
        )),
        "{text}"
    );
    let o = f.run(&["inspect", "gentoo", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["layers"][0]["provenance"]["signer"], both);

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
