//! Re-checking a manifest's signer annotations from the evidence stored
//! beside it: the same signature checks as the import (`crate::signature`),
//! run on the stored files with the stored keys, at the time each signature
//! was made.

use std::collections::BTreeMap;
use std::io::Read;

use serde_json::Value;

use super::{ARTIFACT_TYPE, LAYER, ROLE, Role, SIGNATURE, TITLE, layer_annotation};
use crate::checksums::{self, Algorithm, ChecksumError, Expected, Listing};
use crate::digest::{Blob, Digest};
use crate::layout::Reader;
use crate::signature::{self, Clock, DetachedSignatures, Keyring, Verified};
use crate::spec::index::SUBJECT;

/// What the re-check of one layer's signer annotation found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The stored evidence verifies and agrees with the annotations: the
    /// re-checked signers and files (`unchecked`: why some signature could not be).
    Checked {
        /// Who signed, as the annotation writes it.
        signer: String,
        /// What was signed.
        file: String,
        /// Why a signature over the input itself could not be re-checked.
        unchecked: Option<String>,
    },
    /// The claim is a signature over the input itself, which the layout
    /// does not hold (the layer was recompressed): nothing to re-check it on.
    Unverifiable(String),
    /// No evidence, or evidence that does not check: why.
    Failed(String),
}

/// The evidence manifests `index.json` lists (its `manifests`, as written)
/// about `subject`: untagged entries of [`ARTIFACT_TYPE`] whose subject
/// annotation names it.
pub(crate) fn evidence_for(entries: &[Value], subject: &Digest) -> Vec<Blob> {
    entries
        .iter()
        .filter(|e| e.get("artifactType").and_then(Value::as_str) == Some(ARTIFACT_TYPE))
        .filter(|e| crate::spec::ref_name::ref_name(e).is_none())
        .filter(|e| {
            e.get("annotations")
                .and_then(|a| a.get(SUBJECT))
                .and_then(Value::as_str)
                == Some(subject.as_str())
        })
        .filter_map(|e| crate::spec::descriptor::judge(e).value)
        .map(|d| d.blob())
        .collect()
}

/// One stored file: its title and blob.
type Stored = (String, Blob);

/// The evidence of one signature: its files by role.
type Claim = BTreeMap<Role, Stored>;

/// Re-checks every `io.github.ociimport.layer.N.signer` annotation of the
/// image manifest `manifest` (its digest `digest`, parsed `value`) against
/// the evidence manifests `evidence` ([`evidence_for`]). Returns one verdict
/// per annotated layer N (0-based), in layer order.
pub(crate) fn recheck(
    reader: &Reader,
    evidence: &[Blob],
    digest: &Digest,
    value: &Value,
) -> Vec<(usize, Verdict)> {
    let annotations = value.get("annotations").and_then(Value::as_object);
    let layers = value.get("layers").and_then(Value::as_array);
    let annotated = |i: usize, key: &str| {
        annotations
            .and_then(|a| a.get(&layer_annotation(i, key)))
            .and_then(Value::as_str)
    };
    let prefix = layer_annotation(0, "");
    let prefix = prefix.trim_end_matches("0.");
    let mut signed: Vec<usize> = annotations
        .into_iter()
        .flat_map(|a| a.keys())
        .filter_map(|k| {
            k.strip_prefix(prefix)?
                .strip_suffix(".signer")?
                .parse()
                .ok()
        })
        .collect();
    signed.sort_unstable();
    if signed.is_empty() {
        return Vec::new();
    }
    let claims = match load(reader, evidence, digest) {
        Ok(c) => c,
        Err(why) => {
            return signed
                .into_iter()
                .map(|i| (i, Verdict::Failed(why.clone())))
                .collect();
        }
    };
    signed
        .into_iter()
        .map(|i| {
            let layer = Layer {
                signer: annotated(i, "signer").unwrap_or_default(),
                files: annotated(i, "signed-file").unwrap_or_default(),
                sha256: annotated(i, "sha256").unwrap_or_default(),
                source: annotated(i, "source").unwrap_or_default(),
                blob: layers
                    .and_then(|l| l.get(i))
                    .and_then(|d| crate::spec::descriptor::judge(d).value)
                    .map(|d| d.blob()),
            };
            let mine: Vec<&Claim> = claims
                .iter()
                .filter(|((l, _), _)| *l == i)
                .map(|(_, c)| c)
                .collect();
            (i, check_layer(reader, &layer, &mine))
        })
        .collect()
}

/// What the annotations say about one layer.
struct Layer<'a> {
    signer: &'a str,
    files: &'a str,
    sha256: &'a str,
    source: &'a str,
    /// The layer blob, when its descriptor is usable.
    blob: Option<Blob>,
}

/// The claims of the evidence manifests about `digest`, by (layer, signature).
fn load(
    reader: &Reader,
    evidence: &[Blob],
    digest: &Digest,
) -> Result<BTreeMap<(usize, usize), Claim>, String> {
    if evidence.is_empty() {
        return Err(
            "no evidence manifest in index.json has it as subject (ociimport stores one when it verifies a signature)".into(),
        );
    }
    let mut out: BTreeMap<(usize, usize), Claim> = BTreeMap::new();
    for e in evidence {
        let v = reader
            .json(e)
            .map_err(|err| format!("evidence manifest {}: {err}", e.digest))?;
        let subject = v.get("subject").and_then(|s| s.get("digest"));
        if v.get("artifactType").and_then(Value::as_str) != Some(ARTIFACT_TYPE)
            || subject.and_then(Value::as_str) != Some(digest.as_str())
        {
            return Err(format!(
                "evidence manifest {} is not an {ARTIFACT_TYPE} with this manifest as subject",
                e.digest
            ));
        }
        let blobs = v.get("layers").and_then(Value::as_array);
        for d in blobs.into_iter().flatten() {
            let Some((key, role, stored)) = stored_file(d) else {
                return Err(format!(
                    "evidence manifest {} has a blob without a usable layer, signature, role and title",
                    e.digest
                ));
            };
            out.entry(key).or_default().insert(role, stored);
        }
    }
    Ok(out)
}

/// An evidence blob's descriptor: (layer, signature), role, title and blob.
fn stored_file(d: &Value) -> Option<((usize, usize), Role, Stored)> {
    let a = d.get("annotations")?;
    let text = |k: &str| a.get(k).and_then(Value::as_str);
    let layer = text(LAYER)?.parse().ok()?;
    let sig = text(SIGNATURE)?.parse().ok()?;
    let role = Role::from_name(text(ROLE)?)?;
    let blob = crate::spec::descriptor::judge(d).value?.blob();
    Some(((layer, sig), role, (text(TITLE)?.to_string(), blob)))
}

/// Re-checks each stored signature of a layer; together they must name
/// the signers and files the annotations name.
fn check_layer(reader: &Reader, layer: &Layer<'_>, claims: &[&Claim]) -> Verdict {
    if claims.is_empty() {
        return Verdict::Failed("the evidence stores no signature for this layer".into());
    }
    let (mut signers, mut files, mut unchecked) = (Vec::new(), Vec::new(), None);
    for c in claims {
        match check_claim(reader, layer, c) {
            Ok((signer, file)) => {
                signers.push(signer);
                files.push(file);
            }
            Err(Verdict::Unverifiable(why)) => unchecked = Some(why),
            Err(v) => return v,
        }
    }
    let (signer, file) = (signers.join(", "), files.join(", "));
    let named = match unchecked {
        // Every signature re-checked: they are exactly what the annotations say.
        None => signer == layer.signer && file == layer.files,
        // Some could not be: those that were must be among what they say.
        Some(_) => {
            let among =
                |part: &str, all: &str| part.split(", ").all(|p| all.split(", ").any(|a| a == p));
            among(&signer, layer.signer) && among(&file, layer.files)
        }
    };
    if !named {
        return Verdict::Failed(format!(
            "the stored signatures verify as {file} signed by {signer}, not {} by {}",
            layer.files, layer.signer
        ));
    }
    if signers.is_empty() {
        return Verdict::Unverifiable(unchecked.unwrap_or_default());
    }
    Verdict::Checked {
        signer,
        file,
        unchecked,
    }
}

/// One stored signature, re-checked: its signer and the file it signed.
fn check_claim(reader: &Reader, layer: &Layer<'_>, c: &Claim) -> Result<(String, String), Verdict> {
    let failed = |why: String| Verdict::Failed(why);
    let read = |role: Role| -> Result<(String, Vec<u8>), Verdict> {
        let (title, blob) = c
            .get(&role)
            .ok_or_else(|| failed(format!("the evidence has no {} file", role.name())))?;
        let bytes = reader
            .blob(blob)
            .map_err(|e| failed(format!("stored {title}: {e}")))?;
        Ok((title.clone(), bytes))
    };
    let (_, certs) = read(Role::Keys)?;
    let mut keyring = Keyring::new();
    keyring
        .add(&certs)
        .map_err(|e| failed(format!("the stored key {e}")))?;
    let name = match layer.source {
        "-" => "stdin".to_string(),
        s => crate::url::base_name(s),
    };
    let refused = |file: &str, r: signature::Refusal| match r.signer.as_str() {
        "" => failed(format!("{file}: {}", r.reason)),
        by => failed(format!("{file} by {by}: {}", r.reason)),
    };
    if c.contains_key(&Role::ClearSigned) {
        let (title, bytes) = read(Role::ClearSigned)?;
        let text = String::from_utf8(bytes).map_err(|_| failed(format!("{title} is not UTF-8")))?;
        let signed = signature::verify_clear_signed_at(&keyring, &text, Clock::SignatureTime)
            .map_err(|r| refused(&title, r))?;
        let listed = checksums::parse_verified_text(&signed.text, signed.first_line, &title, &name);
        lists(&title, &name, layer.sha256, listed)?;
        return Ok((signed.verified.signer(), title));
    }
    let (sig_title, sig_bytes) = read(Role::Signature)?;
    let sigs =
        DetachedSignatures::parse(&sig_bytes).map_err(|e| failed(format!("{sig_title}: {e}")))?;
    if c.contains_key(&Role::Checksums) {
        let (title, bytes) = read(Role::Checksums)?;
        let v = sigs
            .verify_bytes_at(&keyring, &bytes, Clock::SignatureTime)
            .map_err(|r| refused(&sig_title, r))?;
        let text = String::from_utf8(bytes).map_err(|_| failed(format!("{title} is not UTF-8")))?;
        lists(
            &title,
            &name,
            layer.sha256,
            checksums::parse_checksum_file(&text, &title, &name),
        )?;
        return Ok((v.signer(), title));
    }
    let v = over_input(reader, layer, &sigs, &keyring).map_err(|r| match r {
        Err(v) => v,
        Ok(r) => refused(&sig_title, r),
    })?;
    Ok((v.signer(), name))
}

/// A detached signature over the input itself, re-checked over the layer
/// blob when the layer is the input unchanged (its digest is the input's).
fn over_input(
    reader: &Reader,
    layer: &Layer<'_>,
    sigs: &DetachedSignatures,
    keyring: &Keyring,
) -> Result<Verified, Result<signature::Refusal, Verdict>> {
    let blob = layer
        .blob
        .as_ref()
        .filter(|b| b.digest.as_str() == layer.sha256);
    let Some(blob) = blob else {
        return Err(Err(Verdict::Unverifiable(format!(
            "the signature is over the input {}, which the layout does not hold (the layer was recompressed)",
            layer.source
        ))));
    };
    let mut hasher = sigs.hasher().map_err(Ok)?;
    let path = reader.blob_path(&blob.digest);
    let io = |e: std::io::Error| Err(Verdict::Failed(format!("{}: {e}", path.display())));
    let mut f = reader
        .open_blob(&blob.digest)
        .map_err(|e| Err(Verdict::Failed(e.to_string())))?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    hasher.finish_at(keyring, Clock::SignatureTime).map_err(Ok)
}

/// Refuses a checksum file that does not list `name` with the annotated
/// sha256. One that lists only other digests for it (sha512, BLAKE2b) is
/// accepted: the import checked those against the input, which the layout
/// does not hold, so the sha256 cannot be matched to them here.
fn lists(
    title: &str,
    name: &str,
    sha256: &str,
    listed: Result<Listing, ChecksumError>,
) -> Result<(), Verdict> {
    let listed = listed
        .map_err(|e| Verdict::Failed(format!("{title}: {e}")))?
        .expected;
    let ours: Vec<&Expected> = listed
        .iter()
        .filter(|e| e.algorithm == Algorithm::Sha256)
        .collect();
    if ours.is_empty() || ours.iter().any(|e| format!("sha256:{}", e.hex) == sha256) {
        return Ok(());
    }
    let found: Vec<String> = ours.iter().map(|e| format!("sha256:{}", e.hex)).collect();
    Err(Verdict::Failed(format!(
        "{title} lists {} for {name}, not the annotated {sha256}",
        found.join(", ")
    )))
}
