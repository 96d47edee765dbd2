//! `--sbom` and `--provenance` for one image: its attestation manifest
//! (see [`crate::attest`]) from what the import read, as pending blobs.

use serde_json::{Map, Value};

use super::{ImportOptions, ReadLayer};
use crate::attest::{self, Dependency, Invocation, Subject};
use crate::digest::Blob;
use crate::error::Result;
use crate::layout::{Layout, PendingBlob};
use crate::sbom::Inventory;

/// The attestation manifest about the image `subject` made of `layers`,
/// and every blob it needs, pending; none without `--sbom` or `--provenance`.
pub(super) fn attestation_blobs(
    layout: &Layout,
    opts: &ImportOptions,
    subject: &Subject<'_>,
    layers: &[ReadLayer],
) -> Result<(Option<Blob>, Vec<PendingBlob>)> {
    if !opts.sbom && !opts.provenance {
        return Ok((None, Vec::new()));
    }
    let inventory = opts.sbom.then(|| image_inventory(layers));
    let dependencies: Vec<Dependency> = layers.iter().map(dependency).collect();
    let invocation = opts.provenance.then(|| Invocation {
        parameters: parameters(opts, layers),
        dependencies: &dependencies,
    });
    let built = attest::build(subject, inventory.as_ref(), invocation.as_ref())?;
    let (blob, blobs) = super::artifact_blobs(layout, "attestation manifest", built)?;
    Ok((Some(blob), blobs))
}

/// What umoci (0.4.7, tested) says of a tag naming an image and its
/// attestation manifest: the one consumer that cannot read it is named at
/// import, not left to be found later.
pub(super) fn umoci_warning(dir: &str, tag: &str) -> String {
    format!(
        "umoci unpack --image {dir}:{tag} refuses this tag (umoci 0.4.7: \"tag is ambiguous\"): it names an index of the image and its attestation manifest; for umoci, copy the image alone: skopeo copy oci:{dir}:{tag} oci:OTHER:{tag}"
    )
}

/// The image's packages: those of the topmost layer whose rootfs has a
/// package database (an upper layer's database replaces a lower one's, as
/// its file does in the image); the os-release of the topmost that has one.
fn image_inventory(layers: &[ReadLayer]) -> Inventory {
    let scanned: Vec<&Inventory> = layers.iter().filter_map(|l| l.inventory.as_ref()).collect();
    let mut out = scanned
        .iter()
        .rev()
        .find(|i| !i.covered.is_empty())
        .or(scanned.last())
        .map(|i| (*i).clone())
        .unwrap_or_default();
    if let Some(os) = scanned.iter().rev().find(|i| !i.os_release.is_empty()) {
        out.os_release.clone_from(&os.os_release);
    }
    // Every layer's unread databases are worth saying.
    for i in &scanned {
        for w in &i.warnings {
            if !out.warnings.contains(w) {
                out.warnings.push(w.clone());
            }
        }
    }
    out
}

/// One input as provenance records it.
fn dependency(l: &ReadLayer) -> Dependency {
    let r = &l.report;
    Dependency {
        source: r.source.clone(),
        sha256: r
            .input
            .blob
            .digest
            .as_str()
            .trim_start_matches("sha256:")
            .to_string(),
        checksums: l
            .checked
            .iter()
            .map(|(a, s)| (a.clone(), public_name(s)))
            .collect(),
        signatures: r
            .signatures_verified
            .iter()
            .map(|s| (s.file.clone(), s.signature.clone(), s.signer.clone()))
            .collect(),
    }
}

/// A file or URL as it may be recorded: a URL without credentials or
/// query, a file by its base name (its directory is this machine's).
fn public_name(s: &str) -> String {
    if s.contains("://") {
        crate::fetch::public_url(s)
    } else if s.starts_with("--") {
        s.to_string()
    } else {
        std::path::Path::new(s)
            .file_name()
            .map_or_else(|| s.to_string(), |n| n.to_string_lossy().into_owned())
    }
}

/// `externalParameters`: the flags that shape the image, as given; none
/// that only say where to write or how fast (output path, threads), no
/// credentials, keyring paths or URL user, password or query.
fn parameters(opts: &ImportOptions, layers: &[ReadLayer]) -> Value {
    let mut p = Map::new();
    let mut put = |k: &str, v: Value| {
        p.insert(k.into(), v);
    };
    let inputs: Vec<Value> = layers
        .iter()
        .map(|l| Value::from(l.report.source.clone()))
        .collect();
    put("inputs", Value::from(inputs));
    put("tag", Value::from(opts.tag.clone()));
    if let Some(r) = &opts.repository {
        put("repository", Value::from(r.clone()));
    }
    put(
        "compression",
        Value::from(format!("{:?}", opts.compression).to_lowercase()),
    );
    let optional = [
        ("level", opts.level.map(Value::from)),
        ("created", opts.created.clone().map(Value::from)),
        (
            "sourceDateEpoch",
            opts.source_date_epoch.clone().map(Value::from),
        ),
        ("arch", opts.arch.clone().map(Value::from)),
        ("os", opts.os.clone().map(Value::from)),
        ("variant", opts.variant.clone().map(Value::from)),
        ("message", opts.message.clone().map(Value::from)),
        (
            "checksums",
            opts.checksum_file
                .as_ref()
                .map(|(n, _)| public_name(n).into()),
        ),
        (
            "expect",
            opts.expect
                .as_ref()
                .map(|e| format!("{}:{}", e.algorithm, e.hex).into()),
        ),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            put(k, v);
        }
    }
    if !opts.changes.is_empty() {
        put("changes", Value::from(opts.changes.clone()));
    }
    let map = |m: &std::collections::BTreeMap<String, String>| {
        Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                .collect(),
        )
    };
    if !opts.labels.is_empty() {
        put("labels", map(&opts.labels));
    }
    if !opts.annotations.is_empty() {
        put("annotations", map(&opts.annotations));
    }
    for (k, on) in [
        ("index", opts.index),
        ("normalize", opts.normalize),
        ("strict", opts.strict),
        ("sbom", opts.sbom),
        ("provenance", opts.provenance),
    ] {
        if on {
            put(k, Value::from(true));
        }
    }
    if opts.strip_components > 0 {
        put("stripComponents", Value::from(opts.strip_components));
    }
    Value::Object(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_names_carry_no_secrets_or_local_directories() {
        assert_eq!(
            public_name("https://u:p@example.org/x/SUMS?token=1"),
            "https://example.org/x/SUMS"
        );
        assert_eq!(public_name("/home/me/dl/SHA256SUMS"), "SHA256SUMS");
        assert_eq!(public_name("--expect"), "--expect");
    }
}
