//! The SLSA provenance v1 predicate (`--provenance`): how the image was
//! made (the buildType, documented in docs/design.md, "Attestations"), from
//! what (one resolved dependency per input, with what it was checked
//! against) and by what (ociimport and its version).

use serde_json::{Map, Value, json};

/// The `buildType` of an ociimport import: what `externalParameters` and
/// `resolvedDependencies` mean is documented in docs/design.md
/// ("Attestations"), under this URI.
pub(crate) const BUILD_TYPE: &str = "https://ociimport.github.io/buildtypes/import/v1";

/// `runDetails.builder.id`: ociimport and its version, as a purl (a URI).
pub(crate) fn builder_id() -> String {
    format!("pkg:cargo/ociimport@{}", env!("CARGO_PKG_VERSION"))
}

/// What went into one image.
#[derive(Clone, Debug)]
pub(crate) struct Invocation<'a> {
    /// The flags that shape the output (`externalParameters`); never a
    /// credential, a local directory or a URL's user, password or query.
    pub(crate) parameters: Value,
    /// One per input, in layer order.
    pub(crate) dependencies: &'a [Dependency],
}

/// One input, as given and as checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Dependency {
    /// Its public URL, or its base name (`-` for standard input).
    pub(crate) source: String,
    /// The sha256 (hex) of the input as given.
    pub(crate) sha256: String,
    /// The digests it was checked against: (algorithm, where the digest came
    /// from: the checksum file's name or `--expect`).
    pub(crate) checksums: Vec<(String, String)>,
    /// The signatures that vouched for it: (signed file, signature file,
    /// signer fingerprint).
    pub(crate) signatures: Vec<(String, String, String)>,
}

/// The predicate.
pub(super) fn predicate(inv: &Invocation<'_>) -> Value {
    json!({
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": inv.parameters,
            "resolvedDependencies": inv.dependencies.iter().map(dependency).collect::<Vec<_>>(),
        },
        "runDetails": {
            "builder": {
                "id": builder_id(),
                "version": {"ociimport": env!("CARGO_PKG_VERSION")},
            },
        },
    })
}

/// A ResourceDescriptor: `uri` for a URL, else `name`.
fn dependency(d: &Dependency) -> Value {
    let mut r = Map::new();
    let key = if d.source.contains("://") {
        "uri"
    } else {
        "name"
    };
    r.insert(key.into(), Value::from(d.source.clone()));
    r.insert("digest".into(), json!({"sha256": d.sha256}));
    let checksums: Vec<Value> = d
        .checksums
        .iter()
        .map(|(a, f)| json!({"algorithm": a, "file": f}))
        .collect();
    let signatures: Vec<Value> = d
        .signatures
        .iter()
        .map(|(f, s, k)| json!({"file": f, "signature": s, "signer": k}))
        .collect();
    let mut annotations = Map::new();
    if !checksums.is_empty() {
        annotations.insert("checksums".into(), Value::from(checksums));
    }
    if !signatures.is_empty() {
        annotations.insert("signatures".into(), Value::from(signatures));
    }
    if !annotations.is_empty() {
        r.insert("annotations".into(), Value::Object(annotations));
    }
    Value::Object(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_say_what_they_were_checked_against() {
        let deps = [
            Dependency {
                source: "https://example.org/r.tar.xz".into(),
                sha256: "ab".into(),
                checksums: vec![("sha256".into(), "https://example.org/SHA256SUMS".into())],
                signatures: vec![("SHA256SUMS".into(), "SHA256SUMS.gpg".into(), "FPR".into())],
            },
            Dependency {
                source: "local.tar".into(),
                sha256: "cd".into(),
                checksums: Vec::new(),
                signatures: Vec::new(),
            },
        ];
        let p = predicate(&Invocation {
            parameters: json!({"tag": "1"}),
            dependencies: &deps,
        });
        let r = &p["buildDefinition"]["resolvedDependencies"];
        assert_eq!(r[0]["uri"], "https://example.org/r.tar.xz");
        assert_eq!(r[0]["annotations"]["signatures"][0]["signer"], "FPR");
        assert_eq!(
            r[0]["annotations"]["checksums"][0]["file"],
            "https://example.org/SHA256SUMS"
        );
        assert_eq!(
            r[1],
            json!({"name": "local.tar", "digest": {"sha256": "cd"}})
        );
        assert_eq!(p["buildDefinition"]["buildType"], BUILD_TYPE);
        assert_eq!(
            p["runDetails"]["builder"]["id"],
            format!("pkg:cargo/ociimport@{}", env!("CARGO_PKG_VERSION"))
        );
    }
}
