//! The bodies of the fuzz targets in `fuzz/`: each target there is one line
//! calling the function of its name here. They live in the crate so that
//! they compile with it and reach its internals without widening the
//! public API, and so that `cargo test` runs every committed seed (and cut
//! and flipped variants of it) through them: a target that no longer builds
//! or a seed that trips a property fails the ordinary test run.
//!
//! Each function checks its properties with `assert!`: a failed property is
//! a crash the fuzzer must report, which is why panics are allowed here.
#![allow(clippy::panic)] // fuzz properties fail by panicking, on purpose

use std::io::Read;
use std::path::Path;

use serde_json::{Value, json};

use crate::checksums::{is_clear_signed, parse_checksum_file, parse_expect, parse_verified_text};
use crate::compress::{DecodeOptions, Decoder, SNIFF_LEN, describe_unknown, detect};
use crate::platform::PlatformObserver;
use crate::signature::{DetachedSignatures, Keyring, verify_clear_signed};
use crate::spec::index::{merge_index_bytes, parse_index};
use crate::spec::ref_name::REF_NAME;
use crate::tarscan::{TarError, TarScanner, TarSummary};

/// Decoded bytes `decode_scan` examines per input: enough for many
/// entries, small enough that a bomb cannot make one run slow.
const MAX_DECODED: usize = 4 << 20;

fn scan(data: &[u8], chunk: usize) -> Result<TarSummary, TarError> {
    let mut s = TarScanner::new(PlatformObserver::new());
    for piece in data.chunks(chunk.max(1)) {
        if s.feed(piece).is_err() {
            break;
        }
    }
    s.finish().map(|(summary, observer)| {
        // The tally must be readable whatever the observer saw.
        let _ = observer.into_tally().result();
        summary
    })
}

/// Arbitrary bytes through what an input goes through: format detection,
/// the decoder of the detected format, the streaming tar scanner and the
/// platform observer.
///
/// Properties besides "no crash, no hang, bounded memory": the scanner's
/// verdict (summary or error, with its offset) does not depend on how the
/// stream is cut into chunks; a summary never counts more entries than
/// 512-byte blocks seen.
pub fn decode_scan(data: &[u8]) {
    let head = &data[..data.len().min(SNIFF_LEN)];
    let _ = describe_unknown(head);

    let whole = scan(data, usize::MAX);
    let cut = 1 + usize::from(data.first().copied().unwrap_or(0)) % 700;
    let split = scan(data, cut);
    assert_eq!(whole, split, "chunking changed the verdict (chunk {cut})");
    if let Ok(s) = &whole {
        assert!(s.entries <= data.len() as u64 / 512);
    }

    let Some(format) = detect(head) else {
        return;
    };
    // Production decode options (xz: one thread, 1 GiB memory limit).
    let Ok(mut dec) = Decoder::new(format, data, DecodeOptions::default()) else {
        return;
    };
    let mut decoded = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while decoded.len() < MAX_DECODED {
        match dec.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => decoded.extend_from_slice(&buf[..n]),
        }
    }
    let whole = scan(&decoded, usize::MAX);
    let split = scan(&decoded, 4096 + cut);
    assert_eq!(whole, split, "chunking changed the verdict on decoded data");
}

fn well_formed(hex: &str, len: usize) -> bool {
    hex.len() == len
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

const CHECKSUM_FILES: [&str; 6] = [
    "SHA256SUMS",
    "stage3-amd64-openrc-20240101T170000Z.tar.xz.DIGESTS",
    "rootfs.tar.xz.sha256",
    "b2sums.txt",
    "CHECKSUM",
    "SHA512SUMS.asc",
];
const CHECKSUM_INPUTS: [&str; 5] = [
    "rootfs.tar.xz",
    "stage3-amd64-openrc-20240101T170000Z.tar.xz",
    "a (1).tar",
    "/dl/alpine-minirootfs-3.20.0-x86_64.tar.gz",
    "x",
];

/// The `--checksums` parser (SHA256SUMS, BSD tags, Gentoo .DIGESTS,
/// one-line .sha256) and the `--expect` parser, on arbitrary text; the
/// first byte picks the file and input names.
///
/// Properties: whatever is returned is usable (lowercase hex of the
/// algorithm's length, at least one strong digest, no duplicates);
/// `--expect` round-trips through its display form.
pub fn checksum_file(data: &[u8]) {
    let (sel, rest) = match data.split_first() {
        Some((s, r)) => (*s, r),
        None => (0, data),
    };
    let file = CHECKSUM_FILES[usize::from(sel & 0x0f) % CHECKSUM_FILES.len()];
    let input = CHECKSUM_INPUTS[usize::from(sel >> 4) % CHECKSUM_INPUTS.len()];
    let text = String::from_utf8_lossy(rest);

    if let Ok(listing) = parse_checksum_file(&text, file, input) {
        check_listing(&listing.expected, file);
    }
    if let Ok(e) = parse_expect(&text) {
        assert!(well_formed(&e.hex, e.algorithm.hex_len()), "{e:?}");
        let again = parse_expect(&e.to_string()).map(|a| (a.algorithm, a.hex));
        assert_eq!(again.ok(), Some((e.algorithm, e.hex.clone())));
    }
}

fn check_listing(found: &[crate::checksums::Expected], file: &str) {
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

/// Clear-signed checksum files and detached signatures, on arbitrary
/// bytes: the OpenPGP parsing (armor included) and the parser of verified
/// text.
///
/// Properties: nothing panics; with an empty keyring nothing verifies;
/// whatever the verified-text parser returns is usable; text without any
/// armor reads the same through both parsers.
pub fn signed_checksums(data: &[u8]) {
    const INPUT: &str = "stage3-amd64-openrc-20240101T170000Z.tar.xz";
    const FILE: &str = "stage3-amd64-openrc-20240101T170000Z.tar.xz.DIGESTS";
    let text = String::from_utf8_lossy(data);
    let empty = Keyring::new();

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
    if let Ok(listing) = parse_verified_text(&text, 4, FILE, INPUT) {
        check_listing(&listing.expected, FILE);
    }
    if !is_clear_signed(&text) && !text.contains("-----BEGIN PGP") && !text.starts_with('\u{feff}')
    {
        let a = parse_checksum_file(&text, FILE, INPUT).map_err(|e| e.to_string());
        let b = parse_verified_text(&text, 1, FILE, INPUT).map_err(|e| e.to_string());
        assert_eq!(a, b);
    }
}

/// An existing `index.json` read and merged the way an import does, on
/// arbitrary bytes.
///
/// Properties: the merge accepts exactly what `parse_index` accepts; what
/// it writes is accepted again (one import can never make the layout
/// unusable for the next); the new tag appears exactly once, last; every
/// other descriptor and top-level field is kept as it was.
pub fn index_merge(data: &[u8]) {
    const TAG: &str = "fuzz";
    let tag_of = |d: &Value| {
        d.get("annotations")?
            .get(REF_NAME)?
            .as_str()
            .map(String::from)
    };
    let path = Path::new("index.json");
    let descriptor = json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": format!("sha256:{}", "a".repeat(64)),
        "size": 404,
        "annotations": {REF_NAME: TAG},
        "platform": {"architecture": "amd64", "os": "linux"}
    });
    let parsed = parse_index(path, data);
    let merged = merge_index_bytes(path, Some(data), descriptor.clone(), TAG);
    let (old, out) = match (parsed, merged) {
        (Ok(old), Ok(out)) => (old, out),
        (Err(_), Err(_)) => return,
        (p, m) => panic!(
            "parse_index and the merge disagree: {:?} vs {:?}",
            p.map(|_| ()),
            m.map(|_| ())
        ),
    };
    let new = match parse_index(path, &out) {
        Ok(n) => n,
        Err(e) => panic!("the merged index.json is refused: {e}"),
    };
    let (Some(Value::Array(before)), Some(Value::Array(after))) =
        (old.get("manifests"), new.get("manifests"))
    else {
        panic!("manifests array lost");
    };
    let kept: Vec<&Value> = before
        .iter()
        .filter(|d| tag_of(d).as_deref() != Some(TAG))
        .collect();
    assert_eq!(after.len(), kept.len() + 1);
    assert_eq!(after.last(), Some(&descriptor));
    assert_eq!(after[..kept.len()].iter().collect::<Vec<_>>(), kept);
    for (k, v) in &old {
        if k != "manifests" {
            assert_eq!(new.get(k), Some(v), "top-level field {k} changed");
        }
    }
    assert_eq!(old.len(), new.len());
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::PathBuf;

    /// Every seed of `target`, and from each: cut at a third, a half and
    /// one byte short, and with its middle byte flipped.
    fn seeds_and_variants(target: &str) -> Vec<(String, Vec<u8>)> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/seeds")
            .join(target);
        let mut names: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        assert!(names.len() >= 3, "{}: too few seeds", dir.display());
        let mut out = Vec::new();
        for p in names {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let seed = fs::read(&p).unwrap();
            let n = seed.len();
            for cut in [n / 3, n / 2, n.saturating_sub(1)] {
                out.push((format!("{name} cut at {cut}"), seed[..cut].to_vec()));
            }
            if n > 0 {
                let mut flipped = seed.clone();
                flipped[n / 2] ^= 0x55;
                out.push((format!("{name} flipped at {}", n / 2), flipped));
            }
            out.push((name, seed));
        }
        out
    }

    fn run_all(target: &str, body: fn(&[u8])) {
        for (name, data) in seeds_and_variants(target) {
            let ok = std::panic::catch_unwind(|| body(&data)).is_ok();
            assert!(ok, "fuzz target {target} failed on {name}");
        }
    }

    #[test]
    fn the_decode_scan_seeds_pass() {
        run_all("decode_scan", super::decode_scan);
    }

    #[test]
    fn the_checksum_file_seeds_pass() {
        run_all("checksum_file", super::checksum_file);
    }

    #[test]
    fn the_signed_checksums_seeds_pass() {
        run_all("signed_checksums", super::signed_checksums);
    }

    #[test]
    fn the_index_merge_seeds_pass() {
        run_all("index_merge", super::index_merge);
    }

    /// The properties can fail: a listing without a strong digest is
    /// caught, so the seed tests are not vacuous.
    #[test]
    fn a_property_failure_is_a_panic() {
        let r = std::panic::catch_unwind(|| super::check_listing(&[], "f"));
        assert!(r.is_err());
    }
}
