//! Clear-signed checksum files and detached signatures, on arbitrary bytes:
//! the OpenPGP parsing (`signature::verify_clear_signed`,
//! `DetachedSignatures::parse`, `Keyring::add`) and the parser of verified
//! text (`checksums::parse_verified_text`).
//!
//! Properties: nothing panics; with an empty keyring nothing verifies; a
//! parsed signature never verifies against an empty keyring; whatever the
//! verified-text parser returns is usable (lowercase hex of the right
//! length, no duplicates).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ociimport::fuzzing::{
    DetachedSignatures, Keyring, is_clear_signed, parse_checksum_file, parse_verified_text,
    verify_clear_signed,
};

const INPUT: &str = "stage3-amd64-openrc-20240101T170000Z.tar.xz";
const FILE: &str = "stage3-amd64-openrc-20240101T170000Z.tar.xz.DIGESTS";

fn well_formed(hex: &str, len: usize) -> bool {
    hex.len() == len
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let empty = Keyring::new();

    // Nothing can verify without certificates; the parse must still not panic.
    assert!(verify_clear_signed(&empty, &text).is_err());
    if let Ok(sigs) = DetachedSignatures::parse(data) {
        assert!(sigs.verify_bytes(&empty, data).is_err());
        if let Ok(mut h) = sigs.hasher() {
            h.update(data);
            assert!(h.finish(&empty).is_err());
        }
    }
    let mut keyring = Keyring::new();
    if let Ok(n) = keyring.add(data) {
        assert_eq!(n, keyring.len());
        let _ = verify_clear_signed(&keyring, &text);
    }

    // The text a verification would hand over, parsed as such.
    if let Ok(found) = parse_verified_text(&text, 4, FILE, INPUT).map(|l| l.expected) {
        assert!(
            found.iter().any(|e| !e.algorithm.is_weak()),
            "Ok without a strong digest to check"
        );
        for (i, e) in found.iter().enumerate() {
            assert!(well_formed(&e.hex, e.algorithm.hex_len()), "{e:?}");
            assert!(!found[..i].contains(e), "duplicate {e:?}");
        }
    }
    // Text with no armor at all (and no byte-order mark) reads the same either way.
    if !is_clear_signed(&text) && !text.contains("-----BEGIN PGP") && !text.starts_with('\u{feff}') {
        let a = parse_checksum_file(&text, FILE, INPUT).map_err(|e| e.to_string());
        let b = parse_verified_text(&text, 1, FILE, INPUT).map_err(|e| e.to_string());
        assert_eq!(a, b);
    }
});
