//! The `--checksums` parser (SHA256SUMS, BSD tags, Gentoo .DIGESTS, one-line
//! .sha256) and the `--expect` parser, on arbitrary text.
//!
//! Properties: whatever is returned is usable, i.e. non-empty, lowercase hex
//! of the algorithm's length, without duplicates; `--expect` round-trips
//! through its display form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ociimport::fuzzing::{parse_checksum_file, parse_expect};

const FILES: [&str; 6] = [
    "SHA256SUMS",
    "stage3-amd64-openrc-20240101T170000Z.tar.xz.DIGESTS",
    "rootfs.tar.xz.sha256",
    "b2sums.txt",
    "CHECKSUM",
    "SHA512SUMS.asc",
];
const INPUTS: [&str; 5] = [
    "rootfs.tar.xz",
    "stage3-amd64-openrc-20240101T170000Z.tar.xz",
    "a (1).tar",
    "/dl/alpine-minirootfs-3.20.0-x86_64.tar.gz",
    "x",
];

fn well_formed(hex: &str, len: usize) -> bool {
    hex.len() == len
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fuzz_target!(|data: &[u8]| {
    let (sel, rest) = match data.split_first() {
        Some((s, r)) => (*s, r),
        None => (0, data),
    };
    let file = FILES[usize::from(sel & 0x0f) % FILES.len()];
    let input = INPUTS[usize::from(sel >> 4) % INPUTS.len()];
    let text = String::from_utf8_lossy(rest);

    if let Ok(found) = parse_checksum_file(&text, file, input).map(|l| l.expected) {
        assert!(
            found.iter().any(|e| !e.algorithm.is_weak()),
            "Ok without a strong digest to check"
        );
        for (i, e) in found.iter().enumerate() {
            assert!(well_formed(&e.hex, e.algorithm.hex_len()), "{e:?}");
            assert_eq!(e.source, file);
            assert!(!found[..i].contains(e), "duplicate {e:?}");
        }
    }

    if let Ok(e) = parse_expect(&text) {
        assert!(well_formed(&e.hex, e.algorithm.hex_len()), "{e:?}");
        let again = parse_expect(&e.to_string()).map(|a| (a.algorithm, a.hex));
        assert_eq!(again.ok(), Some((e.algorithm, e.hex.clone())));
    }
});
