//! Signatures, whatever their scheme: the trust anchors (`--keyring`), a
//! detached signature over a checksum file or over an input (hashed as the
//! input streams), a file that carries its own signature, and what a
//! verified signature vouches for.
//!
//! The import (options, the pipeline's tap, the verdict, provenance) sees
//! only the types here. Each scheme lives behind them in its own file and is
//! one variant of [`DetachedSignatures`] and [`SignatureHasher`] and one
//! field of [`Keyring`]; OpenPGP (`openpgp`) is the only one so far. A second
//! scheme (minisign, as Void Linux publishes) is a new file beside it, a
//! variant in each of those enums, a sniff in [`Keyring::add`] and
//! [`DetachedSignatures::parse`], and its suffix in [`signed_file_name`].

mod openpgp;

pub(crate) use openpgp::Clock;

use std::fmt;

use crate::fetch::{HttpOptions, SmallFile};

/// Upper bound on a keyring or signature file read into memory.
pub(crate) const MAX_SMALL_FILE: u64 = 16 << 20;

/// Reads a `--keyring`, `--signature` or `--checksums-signature` argument,
/// a file or an `http(s)://` URL of up to 16 MiB, through
/// [`crate::fetch::read_small`]; errors name the path or URL.
pub fn read_small_source(arg: &str, http: &HttpOptions) -> crate::Result<Vec<u8>> {
    let cap = SmallFile {
        url_limit: MAX_SMALL_FILE,
        file_limit: Some((MAX_SMALL_FILE, "a keyring or signature")),
    };
    crate::fetch::read_small(arg, cap, http)
}

/// Why a signature was refused: who made it (as far as known) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct Refusal {
    /// The signer's fingerprint (uppercase hex), `key ID <hex>` when the
    /// signature names only a key ID, or `unknown`.
    pub signer: String,
    /// What is wrong, one line.
    pub reason: String,
}

impl Refusal {
    /// A refusal whose signer is not known (`unknown`).
    pub(crate) fn unknown(reason: impl Into<String>) -> Self {
        Self::new("unknown", reason)
    }

    /// A refusal with no signer at all: the file is not signed.
    pub(crate) fn none(reason: impl Into<String>) -> Self {
        Self::new("", reason)
    }

    fn new(signer: impl Into<String>, reason: impl Into<String>) -> Self {
        Refusal {
            signer: signer.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "signature by {}: {}", self.signer, self.reason)
    }
}

/// The trust anchors signatures are checked against: OpenPGP certificates.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    openpgp: openpgp::Certificates,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every certificate in `bytes`: binary (`gpg --export`) or armored
    /// (`gpg --export --armor`), one or several, in one or several armor
    /// blocks. A secret key is refused (gpgv reads public keys only). Returns
    /// how many certificates were added; an error says why `bytes` is not a
    /// keyring.
    pub fn add(&mut self, bytes: &[u8]) -> Result<usize, String> {
        self.openpgp.add(bytes)
    }

    /// Number of certificates.
    pub fn len(&self) -> usize {
        self.openpgp.len()
    }

    /// Whether the keyring holds no certificate.
    pub fn is_empty(&self) -> bool {
        self.openpgp.is_empty()
    }

    /// The primary fingerprints, uppercase hex, in the order they were added.
    pub fn fingerprints(&self) -> Vec<String> {
        self.openpgp.fingerprints()
    }
}

/// What a verified signature vouches for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct Verified {
    /// Fingerprints (uppercase hex) of the keys whose signatures verified,
    /// primary key first when a subkey signed: `PRIMARY` or `PRIMARY/SUBKEY`.
    pub signers: Vec<String>,
    /// The certificates of those keys, binary OpenPGP, concatenated, each cut
    /// to what re-checking the signature needs (no third-party
    /// certifications, no other subkeys): the evidence stored in the layout.
    pub certs: Vec<u8>,
}

impl Verified {
    /// The signers joined with `, `.
    pub(crate) fn signer(&self) -> String {
        self.signers.join(", ")
    }
}

/// The bytes a verified signature is re-checked from, kept from the import.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SignatureEvidence {
    /// The signed checksum file, exact bytes; `None` when the input itself
    /// was signed.
    pub(crate) signed_file: Option<Vec<u8>>,
    /// The detached signature file, exact bytes; `None` when `signed_file`
    /// is clear-signed (it is its own signature).
    pub(crate) signature: Option<Vec<u8>>,
    /// The signers' certificates ([`Verified::certs`]).
    pub(crate) certs: Vec<u8>,
}

/// One or more detached signatures over one file, parsed.
#[derive(Clone, Debug)]
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct DetachedSignatures(Detached);

/// The scheme of a signature file.
#[derive(Clone, Debug)]
enum Detached {
    /// Armored `.asc` or binary `.sig`/`.gpg`.
    OpenPgp(openpgp::Signatures),
}

impl DetachedSignatures {
    /// Parses a detached signature file; it must hold at least one
    /// signature over a file and nothing else.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, String> {
        openpgp::Signatures::parse(bytes).map(|s| DetachedSignatures(Detached::OpenPgp(s)))
    }

    /// Verifies the signatures over `data`, which is in memory (a checksum file).
    pub(crate) fn verify_bytes(&self, keyring: &Keyring, data: &[u8]) -> Result<Verified, Refusal> {
        self.verify_bytes_at(keyring, data, Clock::Now)
    }

    /// [`DetachedSignatures::verify_bytes`], with the key's validity judged by `clock`.
    pub(crate) fn verify_bytes_at(
        &self,
        keyring: &Keyring,
        data: &[u8],
        clock: Clock,
    ) -> Result<Verified, Refusal> {
        match &self.0 {
            Detached::OpenPgp(s) => s.verify_bytes(&keyring.openpgp, data, clock),
        }
    }

    /// A hasher to feed the signed file through as it streams.
    pub(crate) fn hasher(&self) -> Result<SignatureHasher, Refusal> {
        match &self.0 {
            Detached::OpenPgp(s) => s.hasher().map(Hashing::OpenPgp).map(SignatureHasher),
        }
    }
}

/// The name of the file a detached signature file `name` is for: `name`
/// without a signature suffix (`.asc`, `.sig`, `.gpg`, `.sign`), or `name`
/// itself.
pub(crate) fn signed_file_name(name: &str) -> &str {
    [".asc", ".sig", ".gpg", ".sign"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(name)
}

/// Hashes a file for its detached signatures as it streams past, so
/// `--signature` costs no second read; [`SignatureHasher::finish`] then
/// checks the signatures. Memory is constant: one digest state per signature.
#[derive(Debug)]
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct SignatureHasher(Hashing);

/// The digest states of one scheme.
#[derive(Debug)]
enum Hashing {
    OpenPgp(openpgp::Hasher),
}

impl SignatureHasher {
    /// Feeds the next bytes of the signed file.
    pub(crate) fn update(&mut self, buf: &[u8]) {
        match &mut self.0 {
            Hashing::OpenPgp(h) => h.update(buf),
        }
    }

    /// Checks the signatures over everything fed, against `keyring`.
    pub(crate) fn finish(self, keyring: &Keyring) -> Result<Verified, Refusal> {
        self.finish_at(keyring, Clock::Now)
    }

    /// [`SignatureHasher::finish`], with the key's validity judged by `clock`.
    pub(crate) fn finish_at(self, keyring: &Keyring, clock: Clock) -> Result<Verified, Refusal> {
        match self.0 {
            Hashing::OpenPgp(h) => h.finish(&keyring.openpgp, clock),
        }
    }
}

/// A file that carries its own signature (an OpenPGP clear-signed
/// message), verified: the text that was signed (line ends `\n`,
/// dash-escaping undone) and who signed it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct SignedText {
    /// The signed text. Nothing outside the signed block is in it.
    pub text: String,
    /// 1-based line number, in the file, of the text's first line.
    pub first_line: usize,
    /// Who signed it.
    pub verified: Verified,
}

/// Verifies the first clear-signed message in `text` (a Gentoo `.DIGESTS`
/// file, `latest-stage3-*.txt`) and returns only what was signed. Text
/// before `-----BEGIN PGP SIGNED MESSAGE-----` and after the signature
/// block is not part of the result.
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub fn verify_clear_signed(keyring: &Keyring, text: &str) -> Result<SignedText, Refusal> {
    openpgp::verify_clear_signed(&keyring.openpgp, text, Clock::Now)
}

/// [`verify_clear_signed`], with the key's validity judged by `clock`.
pub(crate) fn verify_clear_signed_at(
    keyring: &Keyring,
    text: &str,
    clock: Clock,
) -> Result<SignedText, Refusal> {
    openpgp::verify_clear_signed(&keyring.openpgp, text, clock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_neither_a_keyring_nor_a_signature() {
        let mut k = Keyring::new();
        assert!(k.add(b"").is_err());
        assert!(k.add(b"hello").is_err());
        assert!(k.add(&[0x99, 0, 1, 2]).is_err());
        let mut kbx = vec![0u8; 32];
        kbx[8..12].copy_from_slice(b"KBXf");
        assert!(k.add(&kbx).unwrap_err().contains("keybox"));
        assert!(k.is_empty());
        assert!(DetachedSignatures::parse(b"").is_err());
        assert!(DetachedSignatures::parse(b"not a signature").is_err());
        assert!(DetachedSignatures::parse(&[0x89, 0x01]).is_err());
    }

    #[test]
    fn signature_files_name_the_file_they_sign() {
        assert_eq!(signed_file_name("a.tar.xz.asc"), "a.tar.xz");
        assert_eq!(signed_file_name("a.tar.sig"), "a.tar");
        assert_eq!(signed_file_name("SHA256SUMS.gpg"), "SHA256SUMS");
        assert_eq!(signed_file_name("a.tar.sign"), "a.tar");
        assert_eq!(signed_file_name("a.tar"), "a.tar");
    }

    #[test]
    fn unsigned_text_is_not_clear_signed() {
        let r = verify_clear_signed(&Keyring::new(), "abc  x.tar\n").unwrap_err();
        assert!(r.reason.contains("not an OpenPGP clear-signed"), "{r}");
    }
}
