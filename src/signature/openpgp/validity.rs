//! Whether a key was valid (bound, not expired, not revoked, allowed to
//! sign) at a given time, and what makes a signature itself unusable (a
//! critical subpacket not understood, a date in the future).

use pgp::composed::SignedPublicKey;
use pgp::packet::{RevocationCode, Signature, SignatureType};
use pgp::types::{KeyDetails, Tag};

use super::date;

/// How far in the future a signature may be dated and still count: clocks
/// of signer and verifier differ a little (Sequoia allows the same 30 min).
pub(super) const CLOCK_SKEW: u32 = 30 * 60;

/// The first hashed subpacket of `sig` marked critical that is not
/// understood here, described: any notation (GnuPG knows only two, neither
/// used for release signing), or a subpacket type rpgp does not know.
pub(super) fn unknown_critical(sig: &Signature) -> Option<String> {
    use pgp::packet::SubpacketData;
    sig.config()?
        .hashed_subpackets()
        .filter(|p| p.is_critical)
        .find_map(|p| match &p.data {
            SubpacketData::Notation(n) => Some(format!(
                "the notation {}",
                String::from_utf8_lossy(&n.name)
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(64)
                    .collect::<String>()
            )),
            SubpacketData::Experimental(t, _) | SubpacketData::Other(t, _) => {
                Some(format!("subpacket type {t}"))
            }
            _ => None,
        })
}

/// Checks the key at the signature's time `made` and at `now`.
///
/// As in GnuPG, what a key is (its expiry, its usage flags) is what its
/// current self-signature says: the newest one that verifies and is not
/// dated after `now`. A signer who extends the expiry replaces the
/// self-signatures (`gpg --quick-set-expire`), so the ones in force when
/// older signatures were made may be gone; the current one still says
/// whether the key had expired at `made`.
pub(super) fn check(
    cert: &SignedPublicKey,
    subkey: Option<usize>,
    made: u32,
    now: u32,
) -> Result<(), String> {
    let primary = &cert.primary_key;
    primary_revoked(cert, made)?;
    let sig = newest_at(&primary_self_signatures(cert), now)
        .ok_or("the primary key has no valid self-signature")?;
    alive(primary.created_at().as_secs(), sig, made, now, "the key")?;
    let Some(i) = subkey else {
        if has_flags(sig) && !sig.key_flags().sign() {
            return Err("the primary key is not marked for signing".into());
        }
        return Ok(());
    };
    let Some(sub) = cert.public_subkeys.get(i) else {
        return Err("no such subkey".into());
    };
    let fpr = format!("{:X}", sub.key.fingerprint());
    subkey_revoked(cert, i, made)?;
    let b = newest_at(&subkey_bindings(cert, i), now)
        .ok_or_else(|| format!("the subkey {fpr} is not bound to its primary key"))?;
    if !b.key_flags().sign() {
        return Err(format!(
            "the signing subkey {fpr} is not marked for signing"
        ));
    }
    let backsig = b
        .embedded_signature()
        .is_some_and(|e| e.verify_primary_key_binding(&sub.key, primary).is_ok());
    if !backsig {
        return Err(format!(
            "the signing subkey {fpr} has no valid back-signature to its primary key"
        ));
    }
    alive(sub.key.created_at().as_secs(), b, made, now, "the subkey")
}

/// Refuses a key (created at `created`, current self-signature `sig`) that
/// did not exist yet at `made` (GnuPG: "time conflict"), or that had
/// expired by `made` or by `now`.
fn alive(created: u32, sig: &Signature, made: u32, now: u32, what: &str) -> Result<(), String> {
    if made < created {
        return Err(format!(
            "{what} was created on {}, after the signature",
            date(created, 0)
        ));
    }
    expired(created, sig, made, what)?;
    expired(created, sig, now, what)
}

/// Whether the signature carries a key-flags subpacket at all.
fn has_flags(sig: &Signature) -> bool {
    sig.config().is_some_and(|c| {
        c.hashed_subpackets()
            .any(|p| matches!(p.data, pgp::packet::SubpacketData::KeyFlags(_)))
    })
}

/// Self-signatures on the primary key that verify: user ID
/// certifications and direct-key signatures.
fn primary_self_signatures(cert: &SignedPublicKey) -> Vec<&Signature> {
    let key = &cert.primary_key;
    let mut out: Vec<&Signature> = Vec::new();
    for user in &cert.details.users {
        out.extend(user.signatures.iter().filter(|s| {
            s.typ() != Some(SignatureType::CertRevocation)
                && s.verify_certification(key, Tag::UserId, &user.id).is_ok()
        }));
    }
    out.extend(
        cert.details
            .direct_signatures
            .iter()
            .filter(|s| s.verify_key(key).is_ok()),
    );
    out
}

/// Binding signatures of subkey `i` that verify (the back-signature a
/// signing subkey needs is checked on the one in force, in [`check`]).
fn subkey_bindings(cert: &SignedPublicKey, i: usize) -> Vec<&Signature> {
    let Some(sub) = cert.public_subkeys.get(i) else {
        return Vec::new();
    };
    let primary = &cert.primary_key;
    sub.signatures
        .iter()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))
        .filter(|s| s.verify_subkey_binding(primary, &sub.key).is_ok())
        .collect()
}

/// The newest of `sigs` made at or before `t`.
fn newest_at<'a>(sigs: &[&'a Signature], t: u32) -> Option<&'a Signature> {
    sigs.iter()
        .copied()
        .filter_map(|s| s.created().map(|c| (c.as_secs(), s)))
        .filter(|(c, _)| *c <= t)
        .max_by_key(|(c, _)| *c)
        .map(|(_, s)| s)
}

/// Refuses a key (created at `created`) that `sig` says expired by `t`.
fn expired(created: u32, sig: &Signature, t: u32, what: &str) -> Result<(), String> {
    match sig.key_expiration_time().map(|d| d.as_secs()) {
        Some(d) if d != 0 && u64::from(created) + u64::from(d) <= u64::from(t) => {
            Err(format!("{what} expired on {}", date(created, d)))
        }
        _ => Ok(()),
    }
}

fn primary_revoked(cert: &SignedPublicKey, made: u32) -> Result<(), String> {
    let key = &cert.primary_key;
    let revocations = cert
        .details
        .revocation_signatures
        .iter()
        .filter(|s| s.verify_key(key).is_ok());
    revoked(revocations, made, "the key")
}

fn subkey_revoked(cert: &SignedPublicKey, i: usize, made: u32) -> Result<(), String> {
    let Some(sub) = cert.public_subkeys.get(i) else {
        return Ok(());
    };
    let revocations = sub.signatures.iter().filter(|s| {
        s.typ() == Some(SignatureType::SubkeyRevocation)
            && s.verify_subkey_binding(&cert.primary_key, &sub.key).is_ok()
    });
    revoked(revocations, made, "the subkey")
}

/// A revocation voids every signature, except that "superseded" and
/// "retired" spare those made before it (RFC 9580, 5.2.3.31).
fn revoked<'a>(
    revocations: impl Iterator<Item = &'a Signature>,
    made: u32,
    what: &str,
) -> Result<(), String> {
    for r in revocations {
        let at = r.created().map_or(0, |t| t.as_secs());
        let soft = matches!(
            r.revocation_reason_code(),
            Some(RevocationCode::KeySuperseded | RevocationCode::KeyRetired)
        );
        if !soft || made >= at {
            return Err(format!("{what} was revoked on {}", date(at, 0)));
        }
    }
    Ok(())
}
