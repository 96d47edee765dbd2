//! The provenance annotations every image gets (`io.github.ociimport.*`):
//! where each layer came from and who signed it.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::import::InputSource;
use crate::report::VerifiedSignature;

pub use crate::evidence::{ANNOTATION_PREFIX, layer_annotation};

/// The name an input is recorded under: the URL it was downloaded from
/// (without credentials or query: [`crate::fetch::public_url`]), a
/// file's base name (its directory says nothing about where it came from),
/// `-` for standard input.
pub fn source_name(input: &InputSource) -> String {
    match input {
        InputSource::Url(url) => crate::fetch::public_url(url),
        InputSource::Path(_) => input.base_name(),
        InputSource::Stdin => "-".into(),
    }
}

/// Refuses `--annotation`s with reserved keys: under [`ANNOTATION_PREFIX`]
/// (only ociimport sets those), and under `org.opencontainers.` those
/// annotations.md does not define or whose values it refuses.
pub(crate) fn refuse_reserved(user: &BTreeMap<String, String>) -> Result<()> {
    use crate::spec::annotations::{Site, breach};
    for (k, v) in user {
        if k.starts_with(ANNOTATION_PREFIX) {
            return Err(Error::Usage(format!(
                "--annotation {k}: the {ANNOTATION_PREFIX} annotations record where the layers came from and are set by ociimport only"
            )));
        }
        if let Some(b) = breach(k, v, Site::Manifest) {
            return Err(Error::Usage(b.usage(&format!("--annotation {k}={v}"))));
        }
    }
    Ok(())
}

/// What the manifest records about one layer's origin.
pub(crate) struct LayerOrigin<'a> {
    /// [`source_name`] of the input.
    pub(crate) source: &'a str,
    /// The input's digest as given (`sha256:<hex>`).
    pub(crate) digest: &'a str,
    /// The signatures that vouched for it.
    pub(crate) signatures: &'a [VerifiedSignature],
}

/// The manifest's annotations: the user's, and per layer N
/// `io.github.ociimport.layer.N.source`, `.sha256`, and when signatures were
/// verified `.signer` and `.signed-file` (comma-separated, same order).
pub(crate) fn annotations(
    user: &BTreeMap<String, String>,
    layers: &[LayerOrigin<'_>],
) -> BTreeMap<String, String> {
    let mut out = user.clone();
    for (i, l) in layers.iter().enumerate() {
        out.insert(layer_annotation(i, "source"), l.source.to_string());
        out.insert(layer_annotation(i, "sha256"), l.digest.to_string());
        if l.signatures.is_empty() {
            continue;
        }
        let join = |f: fn(&VerifiedSignature) -> &str| {
            l.signatures.iter().map(f).collect::<Vec<_>>().join(", ")
        };
        out.insert(layer_annotation(i, "signer"), join(|s| &s.signer));
        out.insert(layer_annotation(i, "signed-file"), join(|s| &s.file));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_are_per_layer_and_keep_the_users() {
        let user = BTreeMap::from([("a".to_string(), "b".to_string())]);
        let sig = VerifiedSignature {
            file: "SHA256SUMS".into(),
            signature: "SHA256SUMS.gpg".into(),
            signer: "ABCD".into(),
            evidence: Default::default(),
        };
        let sigs = [sig];
        let layers = [
            LayerOrigin {
                source: "base.tar.xz",
                digest: "sha256:00",
                signatures: &sigs,
            },
            LayerOrigin {
                source: "-",
                digest: "sha256:11",
                signatures: &[],
            },
        ];
        let a = annotations(&user, &layers);
        assert_eq!(a["a"], "b");
        assert_eq!(a["io.github.ociimport.layer.0.source"], "base.tar.xz");
        assert_eq!(a["io.github.ociimport.layer.0.sha256"], "sha256:00");
        assert_eq!(a["io.github.ociimport.layer.0.signer"], "ABCD");
        assert_eq!(a["io.github.ociimport.layer.0.signed-file"], "SHA256SUMS");
        assert_eq!(a["io.github.ociimport.layer.1.source"], "-");
        assert!(!a.contains_key("io.github.ociimport.layer.1.signer"));
        assert_eq!(a.len(), 7);
    }
}
