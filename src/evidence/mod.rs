//! Signature evidence: what makes a `io.github.ociimport.layer.N.signer`
//! annotation re-checkable, so that it cannot be forged by editing a
//! manifest.
//!
//! When an import verified signatures, the files it verified (the signed
//! checksum file, the signature file, the signers' certificates cut to what
//! the check needs) are stored as blobs of an OCI 1.1 artifact manifest
//! ([`ARTIFACT_TYPE`]) whose `subject` is the image manifest, listed
//! untagged in `index.json` (see docs/design.md, "Signature evidence").
//! `verify` and `inspect` re-run the check from those bytes alone
//! (`recheck`): a signer annotation counts only when it passes.

mod recheck;

use serde_json::{Map, Value, json};

use crate::digest::Blob;
use crate::error::{Error, Result};
use crate::hashing::sha256_of;
use crate::report::VerifiedSignature;

pub(crate) use recheck::{Verdict, evidence_for, recheck};

/// Prefix of the annotations ociimport writes (see docs/design.md,
/// "Provenance"); `--annotation` may not use it, so they cannot be forged
/// by a flag (and `signer` ones are re-checked against the evidence).
pub const ANNOTATION_PREFIX: &str = "io.github.ociimport.";

/// The provenance annotation `key` of layer `index` (0-based, as in the
/// manifest's `layers`): `io.github.ociimport.layer.<index>.<key>`.
pub fn layer_annotation(index: usize, key: &str) -> String {
    format!("{ANNOTATION_PREFIX}layer.{index}.{key}")
}

/// The `artifactType` of an evidence manifest.
pub(crate) const ARTIFACT_TYPE: &str = "application/vnd.ociimport.evidence.v1+json";
/// The OCI empty descriptor's media type, for the evidence's config.
const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// Annotation on each evidence blob: the image layer (0-based) it vouches for.
const LAYER: &str = "io.github.ociimport.evidence.layer";
/// Annotation on each evidence blob: which of the layer's signatures (0-based,
/// in the order of its `signer` annotation) it belongs to.
const SIGNATURE: &str = "io.github.ociimport.evidence.signature";
/// Annotation on each evidence blob: what it is ([`Role`]).
const ROLE: &str = "io.github.ociimport.evidence.role";
/// The file name a blob had.
const TITLE: &str = "org.opencontainers.image.title";

/// What an evidence blob is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    /// A checksum file, with its detached signature beside it.
    Checksums,
    /// A checksum file that carries its own (clear-text) signature.
    ClearSigned,
    /// A detached signature: over the checksum file, or over the input itself
    /// when there is no checksum file.
    Signature,
    /// The signers' OpenPGP certificates, binary.
    Keys,
}

impl Role {
    const ALL: [Role; 4] = [
        Role::Checksums,
        Role::ClearSigned,
        Role::Signature,
        Role::Keys,
    ];

    fn name(self) -> &'static str {
        match self {
            Role::Checksums => "checksums",
            Role::ClearSigned => "clear-signed-checksums",
            Role::Signature => "signature",
            Role::Keys => "keys",
        }
    }

    fn media_type(self) -> &'static str {
        match self {
            Role::Checksums | Role::ClearSigned => "text/plain",
            Role::Signature => "application/pgp-signature",
            Role::Keys => "application/pgp-keys",
        }
    }

    fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// An artifact manifest, built (evidence here, attestations in
/// `crate::attest`): its bytes and its blobs' (each once, the config
/// included).
#[derive(Debug)]
pub(crate) struct Built {
    /// The manifest, JSON.
    pub(crate) manifest: Vec<u8>,
    /// Every blob it names, distinct.
    pub(crate) blobs: Vec<Vec<u8>>,
}

/// The evidence manifest about the image manifest `subject` whose layer `i`
/// was vouched for by `layers[i]`; `None` when no signature was verified.
/// Deterministic: the same signatures give the same bytes.
pub(crate) fn build(subject: &Blob, layers: &[&[VerifiedSignature]]) -> Result<Option<Built>> {
    let mut blobs: Vec<Vec<u8>> = vec![b"{}".to_vec()];
    let mut descriptors = Vec::new();
    for (i, sigs) in layers.iter().enumerate() {
        for (j, s) in sigs.iter().enumerate() {
            let e = &s.evidence;
            let mut add = |role: Role, title: &str, bytes: &[u8]| {
                descriptors.push(blob_descriptor(role, title, bytes, i, j));
                if !blobs.iter().any(|b| b == bytes) {
                    blobs.push(bytes.to_vec());
                }
            };
            match (&e.signed_file, &e.signature) {
                (Some(f), Some(sig)) => {
                    add(Role::Checksums, &s.file, f);
                    add(Role::Signature, &s.signature, sig);
                }
                (Some(f), None) => add(Role::ClearSigned, &s.file, f),
                (None, Some(sig)) => add(Role::Signature, &s.signature, sig),
                (None, None) => continue,
            }
            add(Role::Keys, &format!("{}.pgp", primary(&s.signer)), &e.certs);
        }
    }
    if descriptors.is_empty() {
        return Ok(None);
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": crate::spec::media_type::OCI_MANIFEST,
        "artifactType": ARTIFACT_TYPE,
        "config": {
            "mediaType": EMPTY_TYPE,
            "digest": sha256_of(b"{}").as_str(),
            "size": 2,
            "data": "e30=",
        },
        "layers": descriptors,
        "subject": {
            "mediaType": crate::spec::media_type::OCI_MANIFEST,
            "digest": subject.digest.as_str(),
            "size": subject.size,
        },
    });
    let manifest = serde_json::to_vec(&manifest).map_err(|e| Error::Spec {
        what: "evidence manifest",
        reason: e.to_string(),
    })?;
    Ok(Some(Built { manifest, blobs }))
}

/// The `index.json` entry of an evidence manifest (untagged; the caller
/// names its subject with [`crate::spec::index::IndexChange::with_untagged`]).
pub(crate) fn index_entry(manifest: &Blob) -> Value {
    json!({
        "mediaType": crate::spec::media_type::OCI_MANIFEST,
        "artifactType": ARTIFACT_TYPE,
        "digest": manifest.digest.as_str(),
        "size": manifest.size,
    })
}

/// The first fingerprint of a `signer` value: the primary key of its first signer.
fn primary(signer: &str) -> &str {
    let first = signer.split(", ").next().unwrap_or(signer);
    first.split('/').next().unwrap_or(first)
}

fn blob_descriptor(role: Role, title: &str, bytes: &[u8], layer: usize, sig: usize) -> Value {
    let mut annotations = Map::new();
    annotations.insert(LAYER.into(), Value::from(layer.to_string()));
    annotations.insert(SIGNATURE.into(), Value::from(sig.to_string()));
    annotations.insert(ROLE.into(), Value::from(role.name()));
    annotations.insert(TITLE.into(), Value::from(title));
    json!({
        "mediaType": role.media_type(),
        "digest": sha256_of(bytes).as_str(),
        "size": bytes.len(),
        "annotations": annotations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::SignatureEvidence;

    fn sig(file: &str, signed: Option<&[u8]>, signature: Option<&[u8]>) -> VerifiedSignature {
        VerifiedSignature {
            file: file.into(),
            signature: format!("{file}.gpg"),
            signer: "AB/CD".into(),
            evidence: SignatureEvidence {
                signed_file: signed.map(<[u8]>::to_vec),
                signature: signature.map(<[u8]>::to_vec),
                certs: b"key".to_vec(),
            },
        }
    }

    #[test]
    fn evidence_lists_each_file_once_per_claim_and_blobs_once() {
        let subject = Blob {
            digest: sha256_of(b"m"),
            size: 1,
        };
        let a = [sig("SUMS", Some(b"sums"), Some(b"sig"))];
        let b = [
            sig("SUMS", Some(b"sums"), None),
            sig("x.tar", None, Some(b"sig")),
        ];
        let built = build(&subject, &[&a, &[], &b]).unwrap().unwrap();
        let v: Value = serde_json::from_slice(&built.manifest).unwrap();
        assert_eq!(v["artifactType"], ARTIFACT_TYPE);
        assert_eq!(v["subject"]["digest"], subject.digest.as_str());
        assert_eq!(
            v["config"]["digest"],
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        let roles: Vec<String> = v["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                let a = &l["annotations"];
                format!(
                    "{}.{}.{} {} {}",
                    a[LAYER].as_str().unwrap(),
                    a[SIGNATURE].as_str().unwrap(),
                    a[ROLE].as_str().unwrap(),
                    l["mediaType"].as_str().unwrap(),
                    a[TITLE].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            roles,
            [
                "0.0.checksums text/plain SUMS",
                "0.0.signature application/pgp-signature SUMS.gpg",
                "0.0.keys application/pgp-keys AB.pgp",
                "2.0.clear-signed-checksums text/plain SUMS",
                "2.0.keys application/pgp-keys AB.pgp",
                "2.1.signature application/pgp-signature x.tar.gpg",
                "2.1.keys application/pgp-keys AB.pgp",
            ]
        );
        // {}, sums, sig, key: each once.
        assert_eq!(built.blobs.len(), 4);
        assert!(build(&subject, &[&[]]).unwrap().is_none());
        let again = build(&subject, &[&a, &[], &b]).unwrap().unwrap();
        assert_eq!(again.manifest, built.manifest);
    }
}
