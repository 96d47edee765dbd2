//! Reading attestation manifests back: what `verify` checks (the subject is
//! in the index and the layout, every statement parses as in-toto and its
//! predicate type is the one its layer's annotation names) and what
//! `inspect` lists.

use serde::Serialize;
use serde_json::Value;

use super::{
    IN_TOTO, PREDICATE_TYPE, STATEMENT_V01, STATEMENT_V1, entry_subject, is_attestation_entry,
};
use crate::digest::{Blob, Digest};
use crate::layout::Reader;
use crate::spec::descriptor;

/// One statement of an attestation manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StatementInfo {
    /// The predicate type its layer's annotation names.
    pub predicate_type: String,
    /// The statement blob.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// What is wrong with the attestation entry `entry` of an index whose
/// `manifests` are `entries`, read through `reader`; empty when sound. The
/// manifest's own digest, size and blobs are the walk's to check.
pub(crate) fn problems(reader: &Reader, entries: &[Value], entry: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(subject) = entry_subject(entry) else {
        out.push(format!(
            "an attestation manifest without a {} annotation naming the image it is about",
            super::REFERENCE_DIGEST
        ));
        return out;
    };
    let listed = entries.iter().any(|e| {
        !is_attestation_entry(e) && e.get("digest").and_then(Value::as_str) == Some(subject)
    });
    if !listed {
        out.push(format!(
            "an attestation manifest about {subject}, which this index does not list"
        ));
    }
    match Digest::parse(subject) {
        Ok(d) if !reader.has_blob(&d) => out.push(format!(
            "an attestation manifest about {subject}, which is not in the layout"
        )),
        Ok(_) => {}
        Err(e) => out.push(format!(
            "its {} is not a digest: {e}",
            super::REFERENCE_DIGEST
        )),
    }
    let Some(manifest) = read_manifest(reader, entry) else {
        return out;
    };
    for (i, layer) in layers(&manifest).iter().enumerate() {
        if let Err(why) = check_statement(reader, layer, subject) {
            out.push(format!("statement {}: {why}", i + 1));
        }
    }
    out
}

/// The statements of the attestation manifest `entry` names; `None` when it
/// cannot be read (the walk reports why).
pub(crate) fn statements(reader: &Reader, entry: &Value) -> Option<(Blob, Vec<StatementInfo>)> {
    let desc = descriptor::judge(entry).strict().ok()?;
    let manifest = reader.json(&desc.blob()).ok()?;
    let list = layers(&manifest)
        .iter()
        .filter_map(|l| {
            let d = descriptor::judge(l).strict().ok()?;
            Some(StatementInfo {
                predicate_type: annotation(l).unwrap_or_default().to_string(),
                digest: d.digest,
                size: d.size,
            })
        })
        .collect();
    Some((desc.blob(), list))
}

fn read_manifest(reader: &Reader, entry: &Value) -> Option<Value> {
    let desc = descriptor::judge(entry).strict().ok()?;
    reader.json(&desc.blob()).ok()
}

/// The in-toto layers of a manifest (others are to be ignored).
fn layers(manifest: &Value) -> Vec<Value> {
    manifest
        .get("layers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|l| l.get("mediaType").and_then(Value::as_str) == Some(IN_TOTO))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

fn annotation(layer: &Value) -> Option<&str> {
    layer.get("annotations")?.get(PREDICATE_TYPE)?.as_str()
}

/// One statement layer: readable, an in-toto statement about `subject`
/// whose predicate type is the annotation's.
fn check_statement(reader: &Reader, layer: &Value, subject: &str) -> Result<(), String> {
    let named =
        annotation(layer).ok_or_else(|| format!("the layer has no {PREDICATE_TYPE} annotation"))?;
    let desc = descriptor::judge(layer).strict()?;
    let v = reader
        .json(&desc.blob())
        .map_err(|e| format!("{} cannot be read as JSON: {e}", desc.digest))?;
    let ty = v.get("_type").and_then(Value::as_str);
    if ty != Some(STATEMENT_V1) && ty != Some(STATEMENT_V01) {
        return Err(format!(
            "{}: _type is {}, not an in-toto statement ({STATEMENT_V1})",
            desc.digest,
            v.get("_type").map_or("absent".into(), Value::to_string)
        ));
    }
    let kind = v.get("predicateType").and_then(Value::as_str);
    if kind != Some(named) {
        return Err(format!(
            "{}: predicateType is {}, but the layer's {PREDICATE_TYPE} annotation says {named:?}",
            desc.digest,
            v.get("predicateType")
                .map_or("absent".into(), Value::to_string)
        ));
    }
    if !v.get("predicate").is_some_and(Value::is_object) {
        return Err(format!("{}: has no predicate object", desc.digest));
    }
    let hex = subject.strip_prefix("sha256:").unwrap_or(subject);
    let about = v.get("subject").and_then(Value::as_array).is_some_and(|s| {
        s.iter()
            .any(|x| x.pointer("/digest/sha256").and_then(Value::as_str) == Some(hex))
    });
    if !about {
        return Err(format!(
            "{}: its subject does not name {subject}, the image the index says it is about",
            desc.digest
        ));
    }
    Ok(())
}
