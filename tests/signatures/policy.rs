//! The OpenPGP policy against gpg's own verdicts (issue 24, points 4, 11,
//! 12): extended expiry, usage flags dropped later, critical notations,
//! signatures dated in the future, secret keys given as keyrings, and
//! damaged armor, each made with real gpg in a temporary home.

use std::path::Path;
use std::process::Command;

use super::{Fixture, Gpg};
use crate::common::*;

impl Gpg {
    /// `gpg --verify SIG FILE` in this home: its exit code.
    fn verify(&self, sig: &Path, file: &Path) -> Option<i32> {
        Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args(["--batch", "--verify"])
            .args([sig, file])
            .output()
            .unwrap()
            .status
            .code()
    }

    /// A detached binary signature of `file` into `sig`; `extra` goes first.
    fn sign(&self, file: &Path, sig: &Path, extra: &[&str]) {
        let _ = std::fs::remove_file(sig);
        let mut args = extra.to_vec();
        args.extend(["--detach-sign", "-o", sig.to_str().unwrap()]);
        args.push(file.to_str().unwrap());
        self.run(&args);
    }
}

/// A directory holding `rootfs.tar`.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rootfs.tar"), rootfs_tar()).unwrap();
    dir
}

/// ociimport of `rootfs.tar` into a fresh `img` with `keyring` and `sig`.
fn import(dir: &Path, keyring: &str, sig: &str) -> Run {
    let _ = std::fs::remove_dir_all(dir.join("img"));
    run(
        dir,
        &[
            "rootfs.tar",
            "-q",
            // -q still prints warnings: no guessed architecture.
            "--arch",
            "amd64",
            "-o",
            "img",
            "--keyring",
            keyring,
            "--signature",
            sig,
        ],
    )
}

/// Gentoo extends its release key's expiry regularly; gpg then replaces
/// the self-signature, and the signatures made under the old one stay good.
#[test]
fn a_key_whose_expiry_was_extended_keeps_its_older_signatures_good() {
    let Some(gpg) = Gpg::new() else { return };
    let dir = workdir();
    let fpr = gpg.plain(
        "Ext <ext@example.org>",
        "ed25519",
        "1y",
        &["--faked-system-time", "20240101T000000"],
    );
    let (tar, sig) = (dir.path().join("rootfs.tar"), dir.path().join("old.sig"));
    gpg.sign(&tar, &sig, &["--faked-system-time", "20240601T000000"]);
    // Before the extension the key has expired (gpg counts 1y as 365 days: 2024-12-31): refused.
    gpg.export(&dir.path().join("before.gpg"), false);
    import(dir.path(), "before.gpg", "old.sig")
        .refused(&format!(
            "rootfs.tar: OpenPGP signature old.sig by {fpr}: the key expired on 2024-12-31T00:00:00Z"
        ))
        .one_line();
    gpg.run(&["--quick-set-expire", &fpr, "2y"]);
    gpg.export(&dir.path().join("extended.gpg"), false);
    assert_eq!(gpg.verify(&sig, &tar), Some(0), "gpg --verify disagrees");
    let o = import(dir.path(), "extended.gpg", "old.sig").succeeds();
    assert_eq!(o.err(), "", "{}", o.context());
    check_layout(&dir.path().join("img"));
}

/// A signing subkey re-bound without its sign flag: gpg says "Wrong key
/// usage", and so do we, rather than blaming the primary key.
#[test]
fn a_subkey_no_longer_marked_for_signing_is_refused_saying_so() {
    let Some(gpg) = Gpg::new() else { return };
    let dir = workdir();
    let (primary, sub) = gpg.gentoo_like();
    let (tar, sig) = (dir.path().join("rootfs.tar"), dir.path().join("r.sig"));
    gpg.sign(&tar, &sig, &[]);
    // The binding signature must be newer than the first (1 s resolution).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // Toggle S off, A on (a subkey needs some usage), then save.
    let script = b"key 1\nchange-usage\nS\nA\nQ\nsave\n";
    run_ok_input(
        Command::new("gpg")
            .env("GNUPGHOME", gpg.home.path())
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(["--command-fd", "0", "--expert", "--edit-key", &primary]),
        script,
    );
    gpg.export(&dir.path().join("k.gpg"), false);
    assert_eq!(gpg.verify(&sig, &tar), Some(2), "gpg --verify disagrees");
    import(dir.path(), "k.gpg", "r.sig")
        .refused(&format!(
            "ociimport: error: rootfs.tar: OpenPGP signature r.sig by {primary}/{sub}: the signing subkey {sub} is not marked for signing\n"
        ))
        .one_line();
}

/// gpgv calls a signature with a critical notation it does not know BAD
/// ("unknown critical bit"); a notation not marked critical is ignored.
#[test]
fn a_critical_notation_is_bad_and_a_plain_one_is_ignored() {
    let Some(gpg) = Gpg::new() else { return };
    let dir = workdir();
    let fpr = gpg.plain("N <n@example.org>", "ed25519", "never", &[]);
    gpg.export(&dir.path().join("k.gpg"), false);
    let tar = dir.path().join("rootfs.tar");
    let critical = dir.path().join("critical.sig");
    gpg.sign(&tar, &critical, &["--sig-notation", "!foo@example.org=bar"]);
    let plain = dir.path().join("plain.sig");
    gpg.sign(&tar, &plain, &["--sig-notation", "foo@example.org=bar"]);
    assert_eq!(
        gpg.verify(&critical, &tar),
        Some(1),
        "gpg --verify disagrees"
    );
    assert_eq!(gpg.verify(&plain, &tar), Some(0), "gpg --verify disagrees");
    import(dir.path(), "k.gpg", "critical.sig")
        .refused(&format!(
            "ociimport: error: rootfs.tar: OpenPGP signature critical.sig by {fpr}: BAD signature: it carries the notation foo@example.org, marked critical, which ociimport does not know (gpgv refuses it too)\n"
        ))
        .one_line();
    let o = import(dir.path(), "k.gpg", "plain.sig").succeeds();
    assert_eq!(o.err(), "", "{}", o.context());
}

/// A signature dated a year ahead is refused (gpg 2.2 accepts it); one a
/// few minutes ahead is within the 30-minute allowance for clock skew.
#[test]
fn a_signature_dated_in_the_future_is_refused_beyond_clock_skew() {
    let Some(gpg) = Gpg::new() else { return };
    let dir = workdir();
    // The key must exist before the signatures: make it an hour back.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let back = (now - 3600).to_string();
    let fpr = gpg.plain(
        "F <f@example.org>",
        "ed25519",
        "never",
        &["--faked-system-time", &back],
    );
    gpg.export(&dir.path().join("k.gpg"), false);
    let tar = dir.path().join("rootfs.tar");
    let year = (now + 366 * 86400).to_string();
    gpg.sign(
        &tar,
        &dir.path().join("future.sig"),
        &["--faked-system-time", &year],
    );
    let minutes = (now + 300).to_string();
    gpg.sign(
        &tar,
        &dir.path().join("skewed.sig"),
        &["--faked-system-time", &minutes],
    );
    let o = import(dir.path(), "k.gpg", "future.sig")
        .exits(1)
        .one_line();
    let line = o.err();
    let want_start = format!(
        "ociimport: error: rootfs.tar: OpenPGP signature future.sig by {fpr}: the signature is dated "
    );
    assert!(line.starts_with(&want_start), "{}", o.context());
    assert!(
        line.ends_with(", in the future; check this machine's clock\n"),
        "{}",
        o.context()
    );
    let o = import(dir.path(), "k.gpg", "skewed.sig").succeeds();
    assert_eq!(o.err(), "", "{}", o.context());
}

/// gpgv reads public keys only; a secret key as --keyring is refused, the
/// line saying how to export the public key.
#[test]
fn a_secret_key_is_refused_as_a_keyring() {
    let Some(gpg) = Gpg::new() else { return };
    let dir = workdir();
    let fpr = gpg.plain("S <s@example.org>", "ed25519", "never", &[]);
    let secret = gpg.run(&["--export-secret-keys", "--armor"]);
    assert!(secret.starts_with(b"-----BEGIN PGP PRIVATE KEY BLOCK-----"));
    std::fs::write(dir.path().join("secret.asc"), secret).unwrap();
    let (tar, sig) = (dir.path().join("rootfs.tar"), dir.path().join("r.sig"));
    gpg.sign(&tar, &sig, &[]);
    import(dir.path(), "secret.asc", "r.sig")
        .refused(&format!(
            "ociimport: error: secret.asc: holds a secret key; give --keyring its public key only: gpg --export --armor {fpr}\n"
        ))
        .one_line();
    assert!(!dir.path().join("img").exists());
}

/// `text` with line `n` (1-based) replaced by `f(line)`, or dropped if `None`.
fn edit_line(text: &str, n: usize, f: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    for (i, l) in text.lines().enumerate() {
        let l = if i + 1 == n {
            f(l)
        } else {
            Some(l.to_string())
        };
        if let Some(l) = l {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}

/// 1-based number of the first line of `text` that `p` holds for.
fn line_of(text: &str, p: impl Fn(&str) -> bool) -> usize {
    text.lines().position(p).unwrap() + 1
}

/// The damaged copies of an armored signature `text`, each with the end of
/// the refusal line expected.
fn damaged(text: &str) -> Vec<(&'static str, String, String)> {
    let begin = line_of(text, |l| {
        l.starts_with("-----BEGIN PGP ") && l != "-----BEGIN PGP SIGNED MESSAGE-----"
    });
    let data = begin + 2;
    let crc = line_of(text, |l| l.starts_with('=') && l.len() == 5);
    let end = line_of(text, |l| l.starts_with("-----END PGP "));
    let end_line = text.lines().nth(end - 1).unwrap();
    let bad64 = edit_line(text, data, |l| Some(format!("!{}", &l[1..])));
    let badcrc = edit_line(text, crc, |l| {
        Some(if l == "=AAAA" { "=AAAB" } else { "=AAAA" }.into())
    });
    let crcline = edit_line(text, crc, |_| Some("=A!".into()));
    let noend = edit_line(text, end, |_| None);
    // The last data line and the checksum gone: the packet is cut short.
    let truncated = edit_line(&edit_line(text, crc, |_| None), crc - 1, |_| None);
    vec![
        (
            "bad-base64",
            bad64,
            format!("line {data}: '!' is not base64: the armored block was damaged"),
        ),
        (
            "bad-crc",
            badcrc,
            format!(
                "the armored block on line {begin} does not match its checksum line: it was damaged or altered"
            ),
        ),
        (
            "crc-line",
            crcline,
            format!("line {crc}: malformed armor checksum line (= and 4 base64 characters)"),
        ),
        (
            "no-end",
            noend,
            format!("no {end_line} line: the file is cut short"),
        ),
        (
            "truncated",
            truncated,
            "the OpenPGP data is cut short or damaged".into(),
        ),
    ]
}

/// Damaged armor, clear-signed or detached, is refused in one line under
/// 300 characters naming the file; rpgp's byte dumps never show.
#[test]
fn damaged_armor_is_refused_in_one_line_naming_the_file() {
    let Some(f) = Fixture::new() else { return };
    let clear = std::fs::read_to_string(f.path("rootfs.tar.DIGESTS")).unwrap();
    let detached = std::fs::read_to_string(f.path("rootfs.tar.asc")).unwrap();
    let sets = [
        ("DIGESTS", "--checksums", clear.as_str()),
        ("asc", "--signature", detached.as_str()),
    ];
    for (suffix, option, text) in sets {
        for (what, bytes, want) in damaged(text) {
            let name = format!("{what}.{suffix}");
            std::fs::write(f.path(&name), bytes).unwrap();
            let o = f
                .run(&[
                    "rootfs.tar",
                    "-o",
                    "img",
                    "--keyring",
                    "release.asc",
                    option,
                    &name,
                ])
                .exits(1)
                .one_line();
            let line = o.err();
            let prefix = match option {
                "--checksums" => format!(
                    "ociimport: error: {name}: OpenPGP signature by unknown: malformed clear-signed message: "
                ),
                _ if what == "truncated" => format!(
                    "ociimport: error: {name}: OpenPGP signature by unknown: not an OpenPGP signature: "
                ),
                _ => format!(
                    "ociimport: error: {name}: OpenPGP signature by unknown: malformed armor: "
                ),
            };
            assert!(
                line.starts_with(&format!("{prefix}{want}")),
                "{what}: {}",
                o.context()
            );
            assert!(line.len() < 300, "{what}: {} chars: {line}", line.len());
            assert!(!f.path("img").exists());
        }
    }
    // The keyring's armor is checked the same way (the last case, cut
    // short, depends on where the key's packets end: left out).
    let key = std::fs::read_to_string(f.path("release.asc")).unwrap();
    for (what, bytes, want) in damaged(&key).into_iter().take(4) {
        let name = format!("{what}.key");
        std::fs::write(f.path(&name), bytes).unwrap();
        let args = [
            "rootfs.tar",
            "-o",
            "img",
            "--keyring",
            &name,
            "--signature",
            "rootfs.tar.asc",
        ];
        let o = f.run(&args).exits(1).one_line();
        let line = o.err();
        let whole = format!("ociimport: error: {name}: malformed armor: {want}\n");
        assert_eq!(line, whole, "{what}: {}", o.context());
        assert!(line.len() < 300, "{what}: {} chars: {line}", line.len());
    }
    // A binary keyring cut short: rpgp's own error, without its Debug dump.
    let key = std::fs::read(f.path("release.gpg")).unwrap();
    std::fs::write(f.path("cut.gpg"), &key[..key.len() / 2]).unwrap();
    let args = [
        "rootfs.tar",
        "-o",
        "img",
        "--keyring",
        "cut.gpg",
        "--signature",
        "rootfs.tar.asc",
    ];
    let o = f.run(&args).exits(1).one_line();
    let line = o.err();
    assert!(
        line.starts_with("ociimport: error: cut.gpg: not an OpenPGP certificate: "),
        "{line}"
    );
    assert!(
        line.ends_with("the OpenPGP data is cut short or damaged\n"),
        "{line}"
    );
    assert!(line.len() < 300, "{} chars: {line}", line.len());
}

/// An unsigned clear-signed-message header placed before the real signed
/// message: which text is signed would be a guess, so it is refused.
#[test]
fn two_signed_message_headers_are_refused_as_ambiguous() {
    let Some(f) = Fixture::new() else { return };
    let real = std::fs::read_to_string(f.path("rootfs.tar.DIGESTS")).unwrap();
    let fake = format!(
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n{}\n{real}",
        super::digests("rootfs.tar", &sha512_hex(b"not the input"))
    );
    std::fs::write(f.path("two.DIGESTS"), fake).unwrap();
    // The fake header, its hash line, an empty line, 4 lines of digests and
    // an empty line come first.
    let second = 8 + line_of(&real, |l| l == "-----BEGIN PGP SIGNED MESSAGE-----");
    f.run(&["rootfs.tar", "-o", "img", "--keyring", "release.asc", "--checksums", "two.DIGESTS"])
        .refused(&format!(
            "ociimport: error: two.DIGESTS: holds 2 clear-signed message headers (lines 1 and {second}), so which text is signed is ambiguous; use the file as its publisher signed it\n"
        ))
        .one_line();
    assert!(!f.path("img").exists());
    // Unverified (no --keyring), the digests are not taken from either.
    f.run(&["rootfs.tar", "-o", "img", "--checksums", "two.DIGESTS"])
        .refused(&format!(
            "ociimport: error: rootfs.tar: malformed checksum in two.DIGESTS line {second}: a second -----BEGIN PGP SIGNED MESSAGE----- line, so which text is signed is ambiguous; use the file as its publisher signed it\n"
        ))
        .one_line();
    assert!(!f.path("img").exists());
}
