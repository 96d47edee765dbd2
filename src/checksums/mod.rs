//! Verifying an input against `--expect ALGO:HEX` or a distribution's checksum file.
//!
//! The digests are computed by [`MultiHasher`] over the raw input bytes as
//! they stream past, so verification costs no extra read of the input. This
//! module never opens files: the caller hands over the checksum file's text.
//!
//! Supported checksum file formats, all matched on the input's base name:
//!
//! * coreutils `SHA256SUMS` style: `hex  name` and `hex *name`, including
//!   coreutils' backslash-escaped names;
//! * coreutils `--tag` / BSD style: `SHA256 (name) = hex`, `SHA512 (...)`,
//!   `BLAKE2b (...)`, `BLAKE2b-512 (...)`, and OpenSSL's `SHA2-256(name)= hex`;
//! * Gentoo `.DIGESTS`: blocks headed `# SHA512 HASH`, `# BLAKE2B HASH`,
//!   `# SHA256 HASH`, each followed by `hex  name` lines;
//! * one-line `.sha256` / `.sha512` files holding just `hex` or `hex  name`.
//!
//! Every digest a file lists for the input in an algorithm that can be
//! computed (sha256, sha512, blake2b512, sha1, md5) is checked, and all must
//! match. At least one must be of a strong algorithm: MD5 and SHA-1 alone
//! are refused ([`ChecksumError::WeakOnly`]). Algorithms that cannot be
//! computed are handed back by name ([`Listing::unchecked`]) for a warning.
//!
//! Any of these may be wrapped in a PGP clear-signed message; only the signed
//! body is read. The signature itself is *not* verified here: with
//! `--keyring`, [`crate::signature`] verifies it and [`parse_verified_text`]
//! reads exactly the text it returns.

//!
//! Parts: `formats` (the checksum-file formats, matched on base names),
//! `armor` (the signed body of a clear-signed file, read without verifying
//! it), `hasher` ([`MultiHasher`]); here: the algorithms, `--expect` and
//! the check itself.

mod armor;
mod formats;
mod hasher;

use std::fmt;

#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub use armor::is_clear_signed;
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub use formats::{Listing, parse_checksum_file, parse_verified_text};
pub(crate) use hasher::MultiHasher;

/// A digest algorithm that can be checked.
///
/// MD5 and SHA-1 are computed only to check what a checksum file lists
/// beside a strong algorithm: collisions can be made for both, so neither
/// verifies an input on its own ([`Algorithm::is_weak`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// SHA-256 (64 hex digits).
    Sha256,
    /// SHA-512 (128 hex digits).
    Sha512,
    /// BLAKE2b with a 512-bit output (128 hex digits), as `b2sum` prints by default.
    Blake2b512,
    /// SHA-1 (40 hex digits): weak, checked only beside a strong algorithm.
    Sha1,
    /// MD5 (32 hex digits): weak, checked only beside a strong algorithm.
    Md5,
}

impl Algorithm {
    /// Every algorithm that can be computed, in the order the input hasher reports them.
    pub const ALL: [Algorithm; 5] = [
        Algorithm::Sha256,
        Algorithm::Sha512,
        Algorithm::Blake2b512,
        Algorithm::Sha1,
        Algorithm::Md5,
    ];

    /// The canonical lowercase name: `sha256`, `sha512`, `blake2b512`, `sha1` or `md5`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
            Algorithm::Blake2b512 => "blake2b512",
            Algorithm::Sha1 => "sha1",
            Algorithm::Md5 => "md5",
        }
    }

    /// Number of hex digits in a digest of this algorithm.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 | Algorithm::Blake2b512 => 128,
            Algorithm::Sha1 => 40,
            Algorithm::Md5 => 32,
        }
    }

    /// Whether collisions can be made for it (MD5, SHA-1): such a digest is
    /// checked when listed, but an input listed only with weak algorithms
    /// is refused, and `--expect` does not take them.
    pub fn is_weak(self) -> bool {
        matches!(self, Algorithm::Sha1 | Algorithm::Md5)
    }

    /// Looks up an algorithm by any of the names tools print for it,
    /// case-insensitively, ignoring `-` and `_`: `sha256`, `SHA-256`,
    /// `SHA2-256`, `sha512`, `BLAKE2b`, `BLAKE2b-512`, `blake2b512`, `b2`,
    /// `SHA1`, `SHA-1`, `MD5`.
    ///
    /// Returns `None` for anything else, including algorithms this module
    /// cannot compute (`BLAKE2b-256`, `WHIRLPOOL`, ...).
    pub fn from_name(name: &str) -> Option<Self> {
        let norm: String = name
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match norm.as_str() {
            "sha256" | "sha2256" => Some(Algorithm::Sha256),
            "sha512" | "sha2512" => Some(Algorithm::Sha512),
            // Bare BLAKE2b is what coreutils `b2sum --tag` prints for the
            // default 512-bit length; other lengths carry a suffix.
            "blake2b" | "blake2b512" | "b2" => Some(Algorithm::Blake2b512),
            "sha1" => Some(Algorithm::Sha1),
            "md5" => Some(Algorithm::Md5),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One digest the input must have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// The algorithm the digest was made with.
    pub algorithm: Algorithm,
    /// The digest as lowercase hex, exactly [`Algorithm::hex_len`] digits.
    pub hex: String,
    /// Where the digest came from: `--expect` or the checksum file's name.
    pub source: String,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

/// Everything that can go wrong while reading expected digests or checking them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChecksumError {
    /// The input's digest differs from the expected one.
    ///
    /// The origin field is not called `source` because thiserror would take
    /// a field of that name for the underlying error.
    #[error(
        "{algorithm} mismatch for the input (from {origin}): expected {expected}, found {found}"
    )]
    Mismatch {
        /// The algorithm that disagreed.
        algorithm: Algorithm,
        /// The digest that was expected (lowercase hex).
        expected: String,
        /// The digest that was computed (lowercase hex).
        found: String,
        /// Where the expected digest came from: `--expect` or the checksum file's name.
        origin: String,
    },

    /// The checksum file has no entry for the input.
    #[error("{checksum_file} does not list {name}")]
    NotListed {
        /// The checksum file's name as the caller gave it.
        checksum_file: String,
        /// The base name that was looked for.
        name: String,
    },

    /// The expected digest for the input is not well-formed hex of the right length,
    /// or an `--expect` value is not `ALGO:HEX`.
    #[error("malformed checksum in {origin}{}: {detail}", line_suffix(*.line))]
    Malformed {
        /// `--expect` or the checksum file's name.
        origin: String,
        /// 1-based line number in the checksum file, if it came from one.
        line: Option<usize>,
        /// What is wrong with it.
        detail: String,
    },

    /// The algorithm named cannot verify an input: one this module cannot
    /// compute, or (`--expect`) a weak one.
    #[error(
        "unsupported checksum algorithm `{algorithm}` in {origin} (supported: sha256, sha512, blake2b512)"
    )]
    UnknownAlgorithm {
        /// The algorithm's name as written.
        algorithm: String,
        /// `--expect` or the checksum file's name.
        origin: String,
    },

    /// The checksum file lists the input only with weak algorithms (MD5,
    /// SHA-1), which cannot verify it: collisions can be made for both.
    #[error(
        "{checksum_file} lists {name} only with {algorithms}, too weak to verify it (collisions can be made); use a checksum file with sha256, sha512 or blake2b512, or --expect"
    )]
    WeakOnly {
        /// The checksum file's name as the caller gave it.
        checksum_file: String,
        /// The base name that was looked for.
        name: String,
        /// The weak algorithms listed, e.g. `md5` or `md5 and sha1`.
        algorithms: String,
    },

    /// The checksum file lists the input's base name more than once with
    /// different digests of one algorithm (e.g. files of the same name in
    /// different directories), so it cannot say which one the input must have.
    #[error(
        "{checksum_file} lists {name} more than once with different {algorithm} digests; use --expect instead"
    )]
    Ambiguous {
        /// The checksum file's name as the caller gave it.
        checksum_file: String,
        /// The base name that was looked for.
        name: String,
        /// The algorithm with conflicting digests.
        algorithm: Algorithm,
    },

    /// The check was given no computed digest for an expected algorithm:
    /// the hasher was built from a different set of expectations.
    #[error("no {algorithm} digest was computed for the input (needed by {origin})")]
    NotComputed {
        /// The algorithm with no computed digest.
        algorithm: Algorithm,
        /// Where the expectation came from.
        origin: String,
    },
}

/// Formats an optional line number for an error message.
fn line_suffix(line: Option<usize>) -> String {
    line.map(|n| format!(" line {n}")).unwrap_or_default()
}

/// Parses `--expect ALGO:HEX`, e.g. `sha256:ba78…15ad`.
///
/// The algorithm name is case-insensitive (see [`Algorithm::from_name`]);
/// the hex may be in either case and is returned lowercased.
pub fn parse_expect(s: &str) -> Result<Expected, ChecksumError> {
    const ORIGIN: &str = "--expect";
    let malformed = |detail: String| ChecksumError::Malformed {
        origin: ORIGIN.to_owned(),
        line: None,
        detail,
    };
    let s = s.trim();
    let Some((algo, hex)) = s.split_once(':') else {
        return Err(malformed(format!(
            "`{s}` is not ALGO:HEX (e.g. sha256:<64 hex digits>)"
        )));
    };
    // A weak digest alone verifies nothing, and `--expect` is one digest.
    let algorithm = Algorithm::from_name(algo.trim())
        .filter(|a| !a.is_weak())
        .ok_or_else(|| ChecksumError::UnknownAlgorithm {
            algorithm: algo.trim().to_owned(),
            origin: ORIGIN.to_owned(),
        })?;
    let hex = validate_hex(algorithm, hex.trim()).map_err(malformed)?;
    Ok(Expected {
        algorithm,
        hex,
        source: ORIGIN.to_owned(),
    })
}

/// Checks that `hex` is a well-formed `algorithm` digest and lowercases it.
pub(super) fn validate_hex(algorithm: Algorithm, hex: &str) -> Result<String, String> {
    if let Some(bad) = hex.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!(
            "{algorithm} digest contains non-hex character {bad:?}"
        ));
    }
    if hex.len() != algorithm.hex_len() {
        return Err(format!(
            "{algorithm} digest must be {} hex digits, got {}",
            algorithm.hex_len(),
            hex.len()
        ));
    }
    Ok(hex.to_ascii_lowercase())
}

/// Checks every expectation against the computed digests.
///
/// Returns the first mismatch, or [`ChecksumError::NotComputed`] if an
/// expected algorithm was not computed. An empty `expected` always passes.
pub(crate) fn check(
    expected: &[Expected],
    computed: &[(Algorithm, String)],
) -> Result<(), ChecksumError> {
    for e in expected {
        let Some((_, found)) = computed.iter().find(|(a, _)| *a == e.algorithm) else {
            return Err(ChecksumError::NotComputed {
                algorithm: e.algorithm,
                origin: e.source.clone(),
            });
        };
        if !found.eq_ignore_ascii_case(&e.hex) {
            return Err(ChecksumError::Mismatch {
                algorithm: e.algorithm,
                expected: e.hex.clone(),
                found: found.to_ascii_lowercase(),
                origin: e.source.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const SHA256_ABC: &str =
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    pub(super) const SHA256_EMPTY: &str =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    pub(super) const SHA512_ABC: &str = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                              2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
    pub(super) const SHA512_EMPTY: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
                                47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
    pub(super) const B2_ABC: &str = "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1\
                          7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923";
    pub(super) const B2_EMPTY: &str = "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419\
                            d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce";

    pub(super) const STAGE3: &str = "stage3-amd64-openrc-20240101T170000Z.tar.xz";

    pub(super) fn all_of(data: &[u8]) -> Vec<(Algorithm, String)> {
        let mut h = MultiHasher::with_algorithms(Algorithm::ALL);
        h.update(data);
        h.finish()
    }

    pub(super) fn exp(algorithm: Algorithm, hex: &str, source: &str) -> Expected {
        Expected {
            algorithm,
            hex: hex.to_owned(),
            source: source.to_owned(),
        }
    }

    #[test]
    fn algorithm_names() {
        assert_eq!(Algorithm::Sha256.to_string(), "sha256");
        assert_eq!(Algorithm::Sha512.to_string(), "sha512");
        assert_eq!(Algorithm::Blake2b512.to_string(), "blake2b512");
        for (name, a) in [
            ("SHA256", Algorithm::Sha256),
            ("sha-256", Algorithm::Sha256),
            ("SHA2-256", Algorithm::Sha256),
            ("Sha512", Algorithm::Sha512),
            ("BLAKE2b", Algorithm::Blake2b512),
            ("BLAKE2B-512", Algorithm::Blake2b512),
            ("blake2b512", Algorithm::Blake2b512),
        ] {
            assert_eq!(Algorithm::from_name(name), Some(a), "{name}");
        }
        for (name, a) in [
            ("SHA1", Algorithm::Sha1),
            ("sha-1", Algorithm::Sha1),
            ("MD5", Algorithm::Md5),
        ] {
            assert_eq!(Algorithm::from_name(name), Some(a), "{name}");
            assert!(a.is_weak(), "{name}");
        }
        assert!(!Algorithm::Sha256.is_weak());
        for name in ["sha", "BLAKE2b-256", "blake2s256", "whirlpool", ""] {
            assert_eq!(Algorithm::from_name(name), None, "{name}");
        }
    }

    #[test]
    fn parse_expect_accepts_any_case() {
        let e = parse_expect(&format!("SHA256:{}", SHA256_ABC.to_uppercase())).unwrap();
        assert_eq!(e, exp(Algorithm::Sha256, SHA256_ABC, "--expect"));
        assert_eq!(e.to_string(), format!("sha256:{SHA256_ABC}"));
        let e = parse_expect(&format!("blake2b512:{B2_ABC}")).unwrap();
        assert_eq!(e.algorithm, Algorithm::Blake2b512);
        let e = parse_expect(&format!(" sha512:{SHA512_ABC}\n")).unwrap();
        assert_eq!(e.algorithm, Algorithm::Sha512);
    }

    #[test]
    fn parse_expect_rejects_bad_values() {
        assert!(matches!(
            parse_expect(SHA256_ABC),
            Err(ChecksumError::Malformed { line: None, .. })
        ));
        // Weak algorithms are computed for checksum files, never taken alone.
        let sha1 = format!("sha1:{}", &SHA256_ABC[..40]);
        assert!(matches!(
            parse_expect(&sha1),
            Err(ChecksumError::UnknownAlgorithm { .. })
        ));
        match parse_expect(&format!("md5:{}", &SHA256_ABC[..32])) {
            Err(ChecksumError::UnknownAlgorithm { algorithm, origin }) => {
                assert_eq!(algorithm, "md5");
                assert_eq!(origin, "--expect");
            }
            other => panic!("{other:?}"),
        }
        // Right length for sha512, wrong for sha256.
        let err = parse_expect(&format!("sha256:{SHA512_ABC}")).unwrap_err();
        assert!(err.to_string().contains("64 hex digits, got 128"), "{err}");
        let bad = format!("sha256:{}g", &SHA256_ABC[..63]);
        let err = parse_expect(&bad).unwrap_err();
        assert!(err.to_string().contains("non-hex"), "{err}");
        assert!(parse_expect("sha256:").is_err());
        assert!(parse_expect("").is_err());
    }

    #[test]
    fn check_reports_mismatch_and_missing_digest() {
        let expected = [parse_expect(&format!("sha256:{SHA256_EMPTY}")).unwrap()];
        let err = check(&expected, &all_of(b"abc")).unwrap_err();
        match &err {
            ChecksumError::Mismatch {
                algorithm,
                expected,
                found,
                origin,
            } => {
                assert_eq!(*algorithm, Algorithm::Sha256);
                assert_eq!(expected, SHA256_EMPTY);
                assert_eq!(found, SHA256_ABC);
                assert_eq!(origin, "--expect");
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("sha256 mismatch"), "{err}");
        let only_sha512 = {
            let mut h = MultiHasher::with_algorithms([Algorithm::Sha512]);
            h.update(b"");
            h.finish()
        };
        assert!(matches!(
            check(&expected, &only_sha512),
            Err(ChecksumError::NotComputed {
                algorithm: Algorithm::Sha256,
                ..
            })
        ));
        check(&[], &[]).unwrap();
    }
}
