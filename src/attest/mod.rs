//! Attestations (`--sbom`, `--provenance`): in-toto statements about an
//! image manifest, stored as Docker's attestation storage describes
//! (docs.docker.com, build/metadata/attestations/attestation-storage).
//!
//! Each image gets one attestation manifest: an OCI image manifest whose
//! config is a minimal image config (`unknown/unknown`, only there for
//! registries that want one) and whose layers are the statements
//! ([`IN_TOTO`], each annotated with its [`PREDICATE_TYPE`]). The image
//! index the tag names lists it after the images, with platform
//! `unknown/unknown` and the annotations [`REFERENCE_TYPE`] =
//! [`ATTESTATION_MANIFEST`] and [`REFERENCE_DIGEST`] = the image manifest's
//! digest, which is also every statement's subject. See docs/design.md,
//! "Attestations".
//!
//! Deterministic: the same image and inputs give the same bytes (no clock,
//! no random identifiers; times are the image's `created`).

pub(crate) mod check;
mod provenance;

use serde_json::{Value, json};

use crate::digest::Blob;
use crate::error::{Error, Result};
use crate::hashing::sha256_of;
use crate::image::Platform;
use crate::naming::Reference;
use crate::sbom::Inventory;
use crate::spec::media_type::{OCI_CONFIG, OCI_MANIFEST};

pub(crate) use provenance::{Dependency, Invocation};

pub(crate) use crate::spec::media_type::IN_TOTO;
/// The layer annotation naming the statement's predicate type.
pub(crate) const PREDICATE_TYPE: &str = "in-toto.io/predicate-type";
pub(crate) use crate::spec::index::{ATTESTATION_MANIFEST, REFERENCE_TYPE};
/// The index annotation naming the image manifest an attestation is about.
pub(crate) const REFERENCE_DIGEST: &str = crate::spec::index::SUBJECT;
/// The in-toto statement type written.
pub(crate) const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// The earlier statement type BuildKit wrote; read, never written.
pub(crate) const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";
/// The SBOM's predicate type (SPDX 2.3 JSON).
pub(crate) const SPDX: &str = "https://spdx.dev/Document";
/// The provenance's predicate type.
pub(crate) const SLSA_V1: &str = "https://slsa.dev/provenance/v1";

/// What the attestations of one image are about and made of.
pub(crate) struct Subject<'a> {
    /// The image manifest.
    pub(crate) manifest: &'a Blob,
    /// Its name, fully qualified.
    pub(crate) name: &'a Reference,
    /// Its platform.
    pub(crate) platform: &'a Platform,
    /// The image's `created` (RFC 3339): the time every document states.
    pub(crate) created: &'a str,
}

/// The attestation manifest and its config and statements, as the
/// evidence artifact is built.
pub(crate) use crate::evidence::Built;

/// The attestation manifest about `subject`: the SBOM of `inventory` when
/// given, the provenance of `invocation` when given (in that order).
pub(crate) fn build(
    subject: &Subject<'_>,
    inventory: Option<&Inventory>,
    invocation: Option<&Invocation<'_>>,
) -> Result<Built> {
    let mut statements = Vec::new();
    if let Some(inv) = inventory {
        let name = subject.name.to_string();
        let doc = crate::sbom::spdx_document(inv, &name, subject.created);
        statements.push((SPDX, statement(subject, SPDX, doc)?));
    }
    if let Some(inv) = invocation {
        let predicate = provenance::predicate(inv);
        statements.push((SLSA_V1, statement(subject, SLSA_V1, predicate)?));
    }
    let diff_ids: Vec<String> = statements
        .iter()
        .map(|(_, b)| sha256_of(b).to_string())
        .collect();
    // A valid image config, as Docker's storage asks, saying nothing.
    let config = to_bytes(
        &json!({
            "architecture": "unknown",
            "os": "unknown",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }),
        "attestation config",
    )?;
    let layers: Vec<Value> = statements
        .iter()
        .map(|(kind, b)| {
            json!({
                "mediaType": IN_TOTO,
                "digest": sha256_of(b).as_str(),
                "size": b.len(),
                "annotations": {PREDICATE_TYPE: kind},
            })
        })
        .collect();
    let manifest = to_bytes(
        &json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": OCI_CONFIG,
                "digest": sha256_of(&config).as_str(),
                "size": config.len(),
            },
            "layers": layers,
        }),
        "attestation manifest",
    )?;
    let mut blobs = vec![config];
    blobs.extend(statements.into_iter().map(|(_, b)| b));
    Ok(Built { manifest, blobs })
}

/// An in-toto v1 statement of `predicate` about the image.
fn statement(subject: &Subject<'_>, kind: &str, predicate: Value) -> Result<Vec<u8>> {
    let hex = subject
        .manifest
        .digest
        .as_str()
        .strip_prefix("sha256:")
        .unwrap_or_default();
    to_bytes(
        &json!({
            "_type": STATEMENT_V1,
            "subject": [{
                "name": subject_name(subject.name, subject.platform),
                "digest": {"sha256": hex},
            }],
            "predicateType": kind,
            "predicate": predicate,
        }),
        "in-toto statement",
    )
}

/// The statement's subject name, as BuildKit writes it: a purl of type
/// docker (`pkg:docker/NAMESPACE/NAME@TAG?platform=OS%2FARCH`), the registry
/// as `repository_url` unless it is Docker Hub.
pub(crate) fn subject_name(name: &Reference, platform: &Platform) -> String {
    let platform = platform.to_string().replace('/', "%2F");
    let mut purl = format!("pkg:docker/{}@{}?platform={platform}", name.path, name.tag);
    if name.domain != crate::spec::reference::DOCKER_HUB {
        purl.push_str(&format!("&repository_url={}", name.domain));
    }
    purl
}

/// The image index entry of the attestation manifest `manifest` about the
/// image manifest `subject`.
pub(crate) fn index_entry(manifest: &Blob, subject: &Blob) -> Value {
    json!({
        "mediaType": OCI_MANIFEST,
        "digest": manifest.digest.as_str(),
        "size": manifest.size,
        "platform": {"architecture": "unknown", "os": "unknown"},
        "annotations": {
            REFERENCE_TYPE: ATTESTATION_MANIFEST,
            REFERENCE_DIGEST: subject.digest.as_str(),
        },
    })
}

/// Whether an index entry is an attestation manifest (by its annotation).
pub(crate) fn is_attestation_entry(d: &Value) -> bool {
    d.get("annotations")
        .and_then(|a| a.get(REFERENCE_TYPE))
        .and_then(Value::as_str)
        == Some(ATTESTATION_MANIFEST)
}

/// The image manifest an attestation entry is about.
pub(crate) fn entry_subject(d: &Value) -> Option<&str> {
    d.get("annotations")?.get(REFERENCE_DIGEST)?.as_str()
}

fn to_bytes(v: &Value, what: &'static str) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| Error::Spec {
        what,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject_parts() -> (Blob, Reference, Platform) {
        let manifest = Blob {
            digest: sha256_of(b"m"),
            size: 1,
        };
        let name = crate::naming::parse_reference("quay.io/ns/x:1.0").unwrap();
        let platform = Platform {
            os: "linux".into(),
            architecture: "arm64".into(),
            variant: Some("v8".into()),
        };
        (manifest, name, platform)
    }

    /// Statements name the image manifest, layers their predicate type;
    /// the config's diff_ids are the statements'; the same input, the same bytes.
    #[test]
    fn attestation_manifest_shape() {
        let (manifest, name, platform) = subject_parts();
        let subject = Subject {
            manifest: &manifest,
            name: &name,
            platform: &platform,
            created: "2024-01-01T00:00:00Z",
        };
        let built = build(&subject, Some(&Inventory::default()), None).unwrap();
        let m: Value = serde_json::from_slice(&built.manifest).unwrap();
        assert_eq!(m["layers"][0]["mediaType"], IN_TOTO);
        assert_eq!(m["layers"][0]["annotations"][PREDICATE_TYPE], SPDX);
        assert_eq!(m["layers"].as_array().unwrap().len(), 1);
        let st: Value = serde_json::from_slice(&built.blobs[1]).unwrap();
        assert_eq!(st["_type"], STATEMENT_V1);
        assert_eq!(st["predicateType"], SPDX);
        assert_eq!(
            st["subject"][0]["name"],
            "pkg:docker/ns/x@1.0?platform=linux%2Farm64%2Fv8&repository_url=quay.io"
        );
        assert_eq!(
            format!(
                "sha256:{}",
                st["subject"][0]["digest"]["sha256"].as_str().unwrap()
            ),
            manifest.digest.as_str()
        );
        let c: Value = serde_json::from_slice(&built.blobs[0]).unwrap();
        assert_eq!(
            c["rootfs"]["diff_ids"][0],
            sha256_of(&built.blobs[1]).as_str()
        );
        assert_eq!(m["config"]["digest"], sha256_of(&built.blobs[0]).as_str());
        let again = build(&subject, Some(&Inventory::default()), None).unwrap();
        assert_eq!(again.manifest, built.manifest);
        let e = index_entry(&manifest, &manifest);
        assert!(is_attestation_entry(&e));
        assert_eq!(entry_subject(&e), Some(manifest.digest.as_str()));
        assert_eq!(e["platform"]["os"], "unknown");
    }
}
