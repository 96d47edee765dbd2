//! OpenPGP behind the signature facade: certificates (`--keyring`),
//! detached signatures and clear-signed files.
//!
//! Built on the pure-Rust `pgp` crate (rpgp) for parsing and the public-key
//! arithmetic. rpgp checks one signature against one key; the policy of which
//! key may make which signature is here (key validity in `validity`):
//!
//! * the signer is found by the signature's issuer fingerprint or key ID,
//!   among the primary keys and subkeys of every certificate in the keyring;
//! * as in GnuPG, a primary key is what its newest self-signature (user ID
//!   certification or direct-key signature) that verifies and is not dated
//!   after now says, a subkey what its newest such binding signature says;
//!   that binding must grant the signing flag and carry the embedded
//!   back-signature a signing subkey needs. A key whose expiry was extended
//!   later thus keeps its older signatures good;
//! * the key must be valid both when the signature was made and now: not
//!   expired, not revoked. "Now" matters because the signature's creation time
//!   is chosen by whoever holds the secret key, so a leaked expired key could
//!   otherwise backdate signatures. A revocation marked "superseded" or
//!   "retired" spares signatures made before it; any other revocation voids
//!   them all. A re-check of evidence stored at import ([`Clock`]) uses the
//!   stored key at the signature's time only: the import checked "now";
//! * only SHA-2 and SHA-3 digests are accepted (MD5, SHA-1, RIPEMD-160 are
//!   refused), and the signature itself must not have expired;
//! * as gpgv, a critical notation or subpacket not understood here makes the
//!   signature BAD; a signature dated beyond `validity::CLOCK_SKEW` (30 min) ahead is
//!   refused; armor is checked (base64, END line, checksum) before rpgp
//!   reads it (`armor`); the keyring takes public keys only.
//!
//! A file may carry several signatures (Ubuntu signs `SHA256SUMS` with two
//! keys): it is accepted if one of them verifies with a valid key from the
//! keyring and none made by a key of the keyring is cryptographically bad.

mod armor;
mod validity;

use std::fmt;
use std::io::Read;

use digest::DynDigest;
use pgp::composed::{
    CleartextSignedMessage, Deserializable, DetachedSignature, PublicOrSecret, SignedPublicKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::line_writer::LineBreak;
use pgp::normalize_lines::NormalizedReader;
use pgp::packet::{Signature, SignatureType, SignatureVersionSpecific};
use pgp::types::{KeyDetails, KeyVersion, VerifyingKey};

use super::{Refusal, SignedText, Verified};

/// The OpenPGP certificates of a keyring.
#[derive(Clone, Debug, Default)]
pub(super) struct Certificates {
    certs: Vec<SignedPublicKey>,
}

impl Certificates {
    /// Adds every certificate in `bytes`: binary (`gpg --export`) or armored
    /// (`gpg --export --armor`), one or several, in one or several armor
    /// blocks. A secret key is refused. Returns how many certificates were
    /// added; an error says why `bytes` is not a keyring.
    pub(super) fn add(&mut self, bytes: &[u8]) -> Result<usize, String> {
        if bytes.len() >= 12 && &bytes[8..12] == b"KBXf" {
            return Err(
                "a GnuPG keybox, not OpenPGP certificates; export them with gpg --export".into(),
            );
        }
        let before = self.certs.len();
        match bytes.first() {
            None => return Err("empty file".into()),
            Some(b) if b & 0x80 != 0 => self.add_packets(bytes)?,
            Some(_) => {
                let text = String::from_utf8_lossy(bytes);
                armor::check_all(&text, 1, "-----BEGIN PGP ")
                    .map_err(|e| format!("malformed armor: {e}"))?;
                for block in armor_blocks(&text, "-----BEGIN PGP ") {
                    let (keys, _) = PublicOrSecret::from_armor_many(block.as_bytes())
                        .map_err(|e| format!("not an OpenPGP certificate: {}", short(&e)))?;
                    for k in keys {
                        self.push(k)?;
                    }
                }
            }
        }
        match self.certs.len() - before {
            0 => Err("holds no OpenPGP certificate".into()),
            n => Ok(n),
        }
    }

    fn add_packets(&mut self, bytes: &[u8]) -> Result<(), String> {
        let keys = PublicOrSecret::from_bytes_many(bytes)
            .map_err(|e| format!("not an OpenPGP certificate: {}", short(&e)))?;
        for k in keys {
            self.push(k)?;
        }
        Ok(())
    }

    fn push(&mut self, key: pgp::errors::Result<PublicOrSecret>) -> Result<(), String> {
        let cert = match key.map_err(|e| format!("not an OpenPGP certificate: {}", short(&e)))? {
            PublicOrSecret::Public(k) => k,
            // gpgv reads public keys only. A secret key here is a mistake
            // that spreads it (to CI logs, to image builders): refuse it.
            PublicOrSecret::Secret(k) => {
                return Err(format!(
                    "holds a secret key; give --keyring its public key only: gpg --export --armor {}",
                    fingerprint_hex(&k.primary_key)
                ));
            }
        };
        self.certs.push(cert);
        Ok(())
    }

    /// Number of certificates.
    pub(super) fn len(&self) -> usize {
        self.certs.len()
    }

    /// Whether the keyring holds no certificate.
    pub(super) fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// The primary fingerprints, uppercase hex, in the order they were added.
    pub(super) fn fingerprints(&self) -> Vec<String> {
        self.certs
            .iter()
            .map(|c| fingerprint_hex(&c.primary_key))
            .collect()
    }
}

/// The parts of `text` from each line starting with `begin` up to and
/// including the next `-----END ` line (text between blocks is ignored).
fn armor_blocks<'a>(text: &'a str, begin: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut start = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if start.is_none() && trimmed.starts_with(begin) {
            start = Some(offset);
        } else if let Some(s) = start
            && trimmed.starts_with("-----END ")
        {
            out.push(&text[s..offset + line.len()]);
            start = None;
        }
        offset += line.len();
    }
    out
}

/// One or more detached OpenPGP signatures, parsed (armored `.asc` or
/// binary `.sig`/`.gpg`).
#[derive(Clone, Debug)]
pub(super) struct Signatures {
    sigs: Vec<Signature>,
}

/// The most signatures one detached signature file may hold: publishers
/// sign with one key, sometimes two or three.
const MAX_SIGNATURES: usize = 8;

impl Signatures {
    /// Parses a detached signature file; it must hold at least one binary or
    /// text data signature and nothing else.
    pub(super) fn parse(bytes: &[u8]) -> Result<Self, String> {
        if bytes.is_empty() {
            return Err("empty file".into());
        }
        if bytes.first().is_some_and(|b| b & 0x80 == 0) {
            armor::check_all(&String::from_utf8_lossy(bytes), 1, "-----BEGIN PGP ")
                .map_err(|e| format!("malformed armor: {e}"))?;
        }
        let (found, _) = DetachedSignature::from_reader_many(bytes)
            .map_err(|e| format!("not an OpenPGP signature: {}", short(&e)))?;
        let mut sigs = Vec::new();
        for s in found {
            let s = s.map_err(|e| format!("not an OpenPGP signature: {}", short(&e)))?;
            match s.signature.typ() {
                Some(SignatureType::Binary | SignatureType::Text) => sigs.push(s.signature),
                other => {
                    return Err(format!(
                        "holds a {other:?} signature, not a signature over a file"
                    ));
                }
            }
        }
        if sigs.is_empty() {
            return Err("holds no OpenPGP signature".into());
        }
        // Each signature costs a hash of the whole input: a file of
        // hundreds of copies would multiply the work before any refusal.
        if sigs.len() > MAX_SIGNATURES {
            return Err(format!(
                "holds {} signatures, more than the {MAX_SIGNATURES} ociimport checks (one per signer); use the file the publisher signed",
                sigs.len()
            ));
        }
        Ok(Signatures { sigs })
    }

    /// Verifies the signatures over `data`, which is in memory (a checksum file).
    pub(super) fn verify_bytes(
        &self,
        keyring: &Certificates,
        data: &[u8],
        clock: Clock,
    ) -> Result<Verified, Refusal> {
        let mut hashed = Vec::new();
        for sig in &self.sigs {
            let mut h = start_hash(sig)?;
            let text = sig.typ() == Some(SignatureType::Text);
            let mut feed = |r: &mut dyn Read| {
                let mut buf = Vec::new();
                r.read_to_end(&mut buf)
                    .map(|_| h.update(&buf))
                    .map_err(|e| Refusal::new(signer_of(sig), e.to_string()))
            };
            if text {
                feed(&mut NormalizedReader::new(data, LineBreak::Crlf))?;
            } else {
                feed(&mut &data[..])?;
            }
            hashed.push((sig, finish_hash(sig, h)?));
        }
        judge(keyring, &hashed, clock)
    }

    /// A hasher to feed the signed file through as it streams.
    ///
    /// A text-mode signature would need the stream's line ends normalised;
    /// inputs are binary archives, so it is refused here rather than
    /// verified over the wrong bytes.
    pub(super) fn hasher(&self) -> Result<Hasher, Refusal> {
        let mut parts = Vec::new();
        for sig in &self.sigs {
            if sig.typ() != Some(SignatureType::Binary) {
                return Err(Refusal::new(
                    signer_of(sig),
                    "a text-mode signature cannot cover a binary archive (expected gpg --detach-sign)",
                ));
            }
            parts.push((sig.clone(), start_hash(sig)?));
        }
        Ok(Hasher { parts })
    }
}

/// One digest state per OpenPGP signature over a file that streams past.
pub(super) struct Hasher {
    parts: Vec<(Signature, Box<dyn DynDigest + Send>)>,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher")
            .field("signatures", &self.parts.len())
            .finish()
    }
}

impl Hasher {
    /// Feeds the next bytes of the signed file.
    pub(super) fn update(&mut self, buf: &[u8]) {
        for (_, h) in &mut self.parts {
            h.update(buf);
        }
    }

    /// Checks the signatures over everything fed, against `keyring`.
    pub(super) fn finish(self, keyring: &Certificates, clock: Clock) -> Result<Verified, Refusal> {
        let mut hashed = Vec::new();
        for (sig, h) in self.parts {
            let digest = finish_hash(&sig, h)?;
            hashed.push((sig, digest));
        }
        let refs: Vec<(&Signature, Vec<u8>)> = hashed.iter().map(|(s, d)| (s, d.clone())).collect();
        judge(keyring, &refs, clock)
    }
}

/// Verifies the first clear-signed message in `text` (a Gentoo `.DIGESTS`
/// file, `latest-stage3-*.txt`) and returns only what was signed. Text
/// before `-----BEGIN PGP SIGNED MESSAGE-----` and after the signature
/// block is not part of the result.
pub(super) fn verify_clear_signed(
    keyring: &Certificates,
    text: &str,
    clock: Clock,
) -> Result<SignedText, Refusal> {
    let not_signed = || Refusal::none("not an OpenPGP clear-signed message");
    let (header_line, start) = clear_signed_start(text)?;
    let rest = text.get(start..).unwrap_or_default();
    let malformed = |e: String| Refusal::unknown(format!("malformed clear-signed message: {e}"));
    armor::check_first(rest, header_line, "-----BEGIN PGP SIGNATURE-----").map_err(malformed)?;
    let block = *armor_blocks(rest, BEGIN_SIGNED)
        .first()
        .ok_or_else(not_signed)?;
    // The armor headers (`Hash: SHA512`) end at the first empty line.
    let headers = block
        .lines()
        .skip(1)
        .take_while(|l| !l.trim_end().is_empty())
        .count();
    let (msg, _) = CleartextSignedMessage::from_string(block).map_err(|e| malformed(short(&e)))?;
    if msg.signatures().is_empty() {
        return Err(not_signed());
    }
    let signed = msg.signed_text();
    let mut hashed = Vec::new();
    for sig in msg.signatures() {
        let mut h = start_hash(sig)?;
        h.update(signed.as_bytes());
        hashed.push((sig, finish_hash(sig, h)?));
    }
    let verified = judge(keyring, &hashed, clock)?;
    Ok(SignedText {
        text: signed.replace("\r\n", "\n"),
        first_line: header_line + headers + 2,
        verified,
    })
}

const BEGIN_SIGNED: &str = "-----BEGIN PGP SIGNED MESSAGE-----";

/// Where the one clear-signed message in `text` starts: its line number and
/// byte offset. Two headers are refused: which message counts would be a
/// guess (an unsigned one placed first could pass for the signed one).
fn clear_signed_start(text: &str) -> Result<(usize, usize), Refusal> {
    let mut found = Vec::new();
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if line.starts_with(BEGIN_SIGNED) {
            found.push((i + 1, offset));
        }
        offset += line.len();
    }
    match found.as_slice() {
        [] => Err(Refusal::none("not an OpenPGP clear-signed message")),
        [one] => Ok(*one),
        [a, b, ..] => Err(Refusal::none(format!(
            "holds {} clear-signed message headers (lines {} and {}), so which text is signed is ambiguous; use the file as its publisher signed it",
            found.len(),
            a.0,
            b.0
        ))),
    }
}

/// An rpgp error as one short line: its first line, without the dump of
/// what a parser could not read (`Error { input: [105, 72, ...`,
/// `IO { source: Custom { ... } }`).
fn short(e: &impl fmt::Display) -> String {
    const CUT: &str = "the OpenPGP data is cut short or damaged";
    let text = e.to_string();
    let line = text.lines().next().unwrap_or_default();
    let line = line.split(" Error(").next().unwrap_or_default();
    let line = line.split(" {").next().unwrap_or_default();
    let line: String = line.chars().take(120).collect();
    // rpgp reports data that ends inside a packet as an I/O error.
    if let Some(io) = line.strip_prefix("IO error: ") {
        return format!("{CUT} ({io})");
    }
    match line.strip_suffix(": IO") {
        Some(what) => format!("{what}: {CUT}"),
        None => line,
    }
}

/// When a key must be valid for a signature, besides when it signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Clock {
    /// Also now: an import, where the signature's time is the signer's say-so.
    Now,
    /// Only when it signed: a re-check of evidence stored at import, with the
    /// key as it was then (a key that expired since does not void it).
    SignatureTime,
}

impl Clock {
    /// "Now" for `sig`, in seconds since 1970 as OpenPGP counts them.
    fn at(self, sig: &Signature) -> u32 {
        match self {
            Clock::Now => pgp::types::Timestamp::now().as_secs(),
            Clock::SignatureTime => sig.created().map_or(0, |t| t.as_secs()),
        }
    }
}

/// A digest state for `sig`, salted for v6 signatures; refuses weak or
/// unknown digest algorithms.
fn start_hash(sig: &Signature) -> Result<Box<dyn DynDigest + Send>, Refusal> {
    let refuse = |why: String| Refusal::new(signer_of(sig), why);
    let config = sig
        .config()
        .ok_or_else(|| refuse(format!("unsupported signature version {:?}", sig.version())))?;
    match config.hash_alg {
        HashAlgorithm::Sha256
        | HashAlgorithm::Sha384
        | HashAlgorithm::Sha512
        | HashAlgorithm::Sha224
        | HashAlgorithm::Sha3_256
        | HashAlgorithm::Sha3_512 => {}
        other => {
            return Err(refuse(format!(
                "made with the {other:?} digest, which is too weak to rely on"
            )));
        }
    }
    let mut h = config
        .hash_alg
        .new_hasher()
        .map_err(|e| refuse(short(&e)))?;
    if let SignatureVersionSpecific::V6 { salt } = &config.version_specific {
        if config.hash_alg.salt_len() != Some(salt.len()) {
            return Err(refuse("malformed v6 signature: wrong salt length".into()));
        }
        h.update(salt);
    }
    Ok(h)
}

/// Completes the digest of the signed data with the signature's own
/// hashed fields and trailer, as OpenPGP defines it.
fn finish_hash(sig: &Signature, mut h: Box<dyn DynDigest + Send>) -> Result<Vec<u8>, Refusal> {
    let refuse = |e: pgp::errors::Error| Refusal::new(signer_of(sig), short(&e));
    let config = sig
        .config()
        .ok_or_else(|| Refusal::new(signer_of(sig), "unsupported signature version"))?;
    let len = config.hash_signature_data(&mut h).map_err(refuse)?;
    h.update(&config.trailer(len).map_err(refuse)?);
    Ok(h.finalize().to_vec())
}

/// Who a signature says made it: its issuer fingerprint, else its key ID.
fn signer_of(sig: &Signature) -> String {
    if let Some(fp) = sig.issuer_fingerprint().first() {
        return format!("{fp:X}");
    }
    match sig.issuer_key_id().first() {
        Some(id) => format!("key ID {}", id.to_string().to_ascii_uppercase()),
        None => "unknown".into(),
    }
}

fn fingerprint_hex(key: &impl KeyDetails) -> String {
    format!("{:X}", key.fingerprint())
}

/// The verdict over a file's signatures, each with the digest computed for it.
fn judge(
    keyring: &Certificates,
    hashed: &[(&Signature, Vec<u8>)],
    clock: Clock,
) -> Result<Verified, Refusal> {
    let mut signers = Vec::new();
    let mut certs = Vec::new();
    let mut invalid = None;
    let mut unknown = Vec::new();
    for (sig, digest) in hashed {
        let candidates = candidates(keyring, sig);
        if candidates.is_empty() {
            unknown.push(signer_of(sig));
            continue;
        }
        let mut outcome = None;
        for cand in &candidates {
            match cand.check(sig, digest, clock.at(sig)) {
                Ok(name) => {
                    certs.extend(cand.minimal_cert()?);
                    outcome = Some(Ok(name));
                    break;
                }
                Err(r) => outcome = outcome.or(Some(Err(r))),
            }
        }
        match outcome {
            Some(Ok(name)) => signers.push(name),
            Some(Err(Checked::Bad(r))) => return Err(r),
            Some(Err(Checked::Invalid(r))) => invalid = invalid.or(Some(r)),
            None => {}
        }
    }
    if !signers.is_empty() {
        return Ok(Verified { signers, certs });
    }
    if let Some(r) = invalid {
        return Err(r);
    }
    Err(Refusal::new(
        if unknown.is_empty() {
            "unknown".to_string()
        } else {
            unknown.join(", ")
        },
        "signed by a key that is not in --keyring",
    ))
}

/// Why one candidate key did not vouch for a signature.
enum Checked {
    /// The signature does not verify: the data or the signature was changed.
    Bad(Refusal),
    /// The signature verifies but the key may not make it (expired, revoked, ...).
    Invalid(Refusal),
}

/// A key of the keyring that a signature names as its issuer.
struct Candidate<'a> {
    cert: &'a SignedPublicKey,
    /// `None`: the primary key; else the index of the subkey.
    subkey: Option<usize>,
}

/// Every primary key or subkey whose fingerprint or key ID the signature names.
fn candidates<'a>(keyring: &'a Certificates, sig: &Signature) -> Vec<Candidate<'a>> {
    let fps = sig.issuer_fingerprint();
    let ids = sig.issuer_key_id();
    let named = |k: &dyn KeyDetails| {
        fps.iter().any(|f| **f == k.fingerprint()) || ids.iter().any(|i| **i == k.legacy_key_id())
    };
    let mut out = Vec::new();
    for cert in &keyring.certs {
        if named(&cert.primary_key) {
            out.push(Candidate { cert, subkey: None });
        }
        for (i, sub) in cert.public_subkeys.iter().enumerate() {
            if named(&sub.key) {
                out.push(Candidate {
                    cert,
                    subkey: Some(i),
                });
            }
        }
    }
    out
}

impl Candidate<'_> {
    /// `PRIMARY` or `PRIMARY/SUBKEY`.
    fn name(&self) -> String {
        let primary = fingerprint_hex(&self.cert.primary_key);
        match self.subkey.and_then(|i| self.cert.public_subkeys.get(i)) {
            Some(s) => format!("{primary}/{}", fingerprint_hex(&s.key)),
            None => primary,
        }
    }

    /// Verifies `sig` (whose data hashed to `digest`) with this key, then
    /// whether the key was and is valid for it.
    fn check(&self, sig: &Signature, digest: &[u8], now: u32) -> Result<String, Checked> {
        let name = self.name();
        let bad = |why: &str| Checked::Bad(Refusal::new(name.clone(), why.to_string()));
        let (Some(config), Some(bytes)) = (sig.config(), sig.signature()) else {
            return Err(bad("unsupported signature version"));
        };
        let v6_sig = matches!(config.version_specific, SignatureVersionSpecific::V6 { .. });
        let v6_key = self.key_version() == KeyVersion::V6;
        if v6_sig != v6_key {
            return Err(bad("signature and key versions do not match"));
        }
        const MISMATCH: &str = "BAD signature: the signed data does not match it";
        if sig.signed_hash_value().map(|v| v.to_vec()) != digest.get(..2).map(<[u8]>::to_vec) {
            return Err(bad(MISMATCH));
        }
        let verified = match self.subkey.and_then(|i| self.cert.public_subkeys.get(i)) {
            Some(s) => s.key.verify(config.hash_alg, digest, bytes),
            None => self.cert.primary_key.verify(config.hash_alg, digest, bytes),
        };
        verified.map_err(|_| bad(MISMATCH))?;
        // GnuPG calls a signature with a critical part it does not know BAD.
        if let Some(what) = validity::unknown_critical(sig) {
            return Err(bad(&format!(
                "BAD signature: it carries {what}, marked critical, which ociimport does not know (gpgv refuses it too)"
            )));
        }
        let invalid = |why: String| Checked::Invalid(Refusal::new(name.clone(), why));
        let made = sig
            .created()
            .map(|t| t.as_secs())
            .ok_or_else(|| invalid("the signature has no creation time".into()))?;
        if u64::from(made) > u64::from(now) + u64::from(validity::CLOCK_SKEW) {
            return Err(invalid(format!(
                "the signature is dated {}, in the future; check this machine's clock",
                date(made, 0)
            )));
        }
        if let Some(d) = sig.signature_expiration_time().map(|d| d.as_secs())
            && d != 0
            && u64::from(made) + u64::from(d) <= u64::from(now)
        {
            return Err(invalid(format!(
                "the signature expired on {}",
                date(made, d)
            )));
        }
        validity::check(self.cert, self.subkey, made, now).map_err(invalid)?;
        Ok(name)
    }

    /// The certificate as far as this signature needs it, binary: the
    /// primary key, its revocations, direct-key signatures and user IDs with
    /// their self-signatures only, and the signing subkey with its
    /// signatures. What a re-check of the signature needs, and nothing of
    /// the keyring's third-party certifications or other subkeys.
    fn minimal_cert(&self) -> Result<Vec<u8>, Refusal> {
        use pgp::ser::Serialize as _;
        let cert = self.cert;
        let primary = &cert.primary_key;
        let users = cert
            .details
            .users
            .iter()
            .map(|u| pgp::types::SignedUser {
                id: u.id.clone(),
                signatures: u
                    .signatures
                    .iter()
                    .filter(|s| self_issued(s, primary))
                    .cloned()
                    .collect(),
            })
            .filter(|u| !u.signatures.is_empty())
            .collect();
        let details = pgp::composed::SignedKeyDetails {
            revocation_signatures: cert.details.revocation_signatures.clone(),
            direct_signatures: cert.details.direct_signatures.clone(),
            users,
            user_attributes: Vec::new(),
        };
        let subkeys = self
            .subkey
            .and_then(|i| cert.public_subkeys.get(i))
            .cloned()
            .into_iter()
            .collect();
        let minimal = SignedPublicKey {
            primary_key: primary.clone(),
            details,
            public_subkeys: subkeys,
        };
        minimal
            .to_bytes()
            .map_err(|e| Refusal::new(self.name(), format!("cannot export the key: {e}")))
    }

    fn key_version(&self) -> KeyVersion {
        match self.subkey.and_then(|i| self.cert.public_subkeys.get(i)) {
            Some(s) => s.key.version(),
            None => self.cert.primary_key.version(),
        }
    }
}

/// Whether `sig` names `primary` as its issuer (a self-signature).
fn self_issued(sig: &Signature, primary: &impl KeyDetails) -> bool {
    sig.issuer_fingerprint()
        .iter()
        .any(|f| **f == primary.fingerprint())
        || sig
            .issuer_key_id()
            .iter()
            .any(|i| **i == primary.legacy_key_id())
}

/// `start + secs` as an RFC 3339 date, for messages.
fn date(start: u32, secs: u32) -> String {
    let t = i64::from(start) + i64::from(secs);
    crate::image::format_unix(t).unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn armor_blocks_are_split_and_surroundings_ignored() {
        let text = "junk\n-----BEGIN PGP PUBLIC KEY BLOCK-----\nA\n-----END PGP PUBLIC KEY BLOCK-----\nmid\n-----BEGIN PGP PUBLIC KEY BLOCK-----\nB\n-----END PGP PUBLIC KEY BLOCK-----\ntail";
        let blocks = armor_blocks(text, "-----BEGIN PGP ");
        assert_eq!(blocks.len(), 2);
        assert!(blocks[0].starts_with("-----BEGIN") && blocks[0].contains("A\n"));
        assert!(blocks[1].ends_with("-----END PGP PUBLIC KEY BLOCK-----\n"));
        assert!(armor_blocks("no armor", "-----BEGIN PGP ").is_empty());
    }

    #[test]
    fn rpgp_errors_are_shortened_to_one_line() {
        let dump = "IO error: failed reading: armor footer Error(Error { input: [105, 72, 33], code: MapRes })";
        assert_eq!(
            short(&dump),
            "the OpenPGP data is cut short or damaged (failed reading: armor footer)"
        );
        let assertion =
            "assertion failed: `(left == right)`\n  left: `A`,\n right: `B`: invalid block type";
        assert_eq!(short(&assertion), "assertion failed: `(left == right)`");
        assert_eq!(short(&"x".repeat(500)).len(), 120);
        let debug = r#"error while parsing composed key: IO { source: Custom { kind: Other, error: "PacketBodyReader errored" }, backtrace: Some(..) }"#;
        assert_eq!(
            short(&debug),
            "error while parsing composed key: the OpenPGP data is cut short or damaged"
        );
    }

    #[test]
    fn two_clear_signed_headers_are_ambiguous() {
        let text =
            "-----BEGIN PGP SIGNED MESSAGE-----\n\nfake\n-----BEGIN PGP SIGNED MESSAGE-----\n";
        let r = clear_signed_start(text).unwrap_err();
        assert!(
            r.reason
                .starts_with("holds 2 clear-signed message headers (lines 1 and 4)"),
            "{r}"
        );
        assert_eq!(
            clear_signed_start("a\n-----BEGIN PGP SIGNED MESSAGE-----\n"),
            Ok((2, 2))
        );
    }
}
