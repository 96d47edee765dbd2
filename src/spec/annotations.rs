//! Annotation and label keys under the reserved `org.opencontainers.`
//! prefix: only the keys the OCI specifications define, each with a value
//! of its kind (annotations.md; config.md makes `Labels` follow the same
//! rules).

use super::Breach;
use super::config::time_breach;
use super::ref_name::{REF_NAME, validate_tag};
use crate::digest::Digest;

/// The prefix annotations.md reserves for the OCI specifications' own keys.
pub const RESERVED_PREFIX: &str = "org.opencontainers.";

/// Where an annotation is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    /// An image manifest's `annotations` (`--annotation`).
    Manifest,
    /// An image config's `Labels` (`--label`, `LABEL`): a label may carry
    /// any defined key, the ref name included (Ubuntu's images do).
    Label,
    /// A descriptor in an image index: in `index.json` the ref name
    /// belongs there and is judged as a tag, not here.
    IndexDescriptor,
    /// Anywhere else (an image index, a descriptor in one).
    Other,
}

/// What a defined key's value must be; an empty value is always allowed
/// (annotations.md: "it MAY be an empty string").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Any string.
    Free,
    /// An RFC 3339 date-time.
    Time,
    /// A digest (descriptor.md).
    Digest,
    /// A ref name (annotations.md grammar).
    RefName,
    /// `true`.
    True,
}

/// The keys the OCI specifications define: annotations.md, conversion.md
/// (the runtime annotations a converter derives from the config, which a
/// label may set), and the distribution-spec's referrers filter.
const DEFINED: &[(&str, Kind)] = &[
    ("org.opencontainers.image.created", Kind::Time),
    ("org.opencontainers.image.authors", Kind::Free),
    ("org.opencontainers.image.url", Kind::Free),
    ("org.opencontainers.image.documentation", Kind::Free),
    ("org.opencontainers.image.source", Kind::Free),
    ("org.opencontainers.image.version", Kind::Free),
    ("org.opencontainers.image.revision", Kind::Free),
    ("org.opencontainers.image.vendor", Kind::Free),
    ("org.opencontainers.image.licenses", Kind::Free),
    (REF_NAME, Kind::RefName),
    ("org.opencontainers.image.title", Kind::Free),
    ("org.opencontainers.image.description", Kind::Free),
    ("org.opencontainers.image.base.digest", Kind::Digest),
    ("org.opencontainers.image.base.name", Kind::Free),
    ("org.opencontainers.image.referrer.subject", Kind::Digest),
    ("org.opencontainers.image.referrer.convert", Kind::True),
    ("org.opencontainers.image.os", Kind::Free),
    ("org.opencontainers.image.architecture", Kind::Free),
    ("org.opencontainers.image.variant", Kind::Free),
    ("org.opencontainers.image.os.version", Kind::Free),
    ("org.opencontainers.image.os.features", Kind::Free),
    ("org.opencontainers.image.author", Kind::Free),
    ("org.opencontainers.image.stopSignal", Kind::Free),
    ("org.opencontainers.image.exposedPorts", Kind::Free),
    ("org.opencontainers.referrers.filtersApplied", Kind::Free),
];

/// What annotations.md (and image-layout.md, for the ref name) refuses in
/// `key=value` written at `site`; keys outside [`RESERVED_PREFIX`] are free.
pub fn breach(key: &str, value: &str, site: Site) -> Option<Breach> {
    if !key.starts_with(RESERVED_PREFIX) {
        return None;
    }
    let Some((_, kind)) = DEFINED.iter().find(|(k, _)| *k == key) else {
        return Some(Breach {
            why: format!(
                "{key} is not a key the OCI specifications define, and annotations.md reserves the {RESERVED_PREFIX} prefix for those"
            ),
            consumers: "tools that read the reserved keys may give it a meaning it does not have"
                .into(),
            fix: "use your own reverse-domain prefix, e.g. com.example.".into(),
        });
    };
    if *kind == Kind::RefName && matches!(site, Site::Manifest | Site::Other) {
        let here = if site == Site::Manifest {
            "in a manifest"
        } else {
            "anywhere else"
        };
        return Some(Breach {
            why: format!(
                "{key} is only valid on the descriptors of index.json (annotations.md, image-layout.md), not {here}"
            ),
            consumers: "skopeo, umoci and podman take the tag from index.json and ignore it".into(),
            fix: "name the image with --tag".into(),
        });
    }
    if value.is_empty() || (*kind == Kind::RefName && site == Site::IndexDescriptor) {
        return None;
    }
    let wrong = |what: &str, fix: &str| Breach {
        why: format!("the value {value:?} of {key} is not {what} (annotations.md)"),
        consumers: "tools that read the key fail on or misread it".into(),
        fix: fix.into(),
    };
    match kind {
        Kind::Free => None,
        Kind::Time => time_breach(value).map(|_| {
            wrong(
                "an RFC 3339 time with a four-digit year and seconds 00-59",
                "e.g. 2024-05-01T12:00:00Z",
            )
        }),
        Kind::Digest => Digest::parse(value)
            .err()
            .map(|_| wrong("a digest", "e.g. sha256: and 64 lowercase hex digits")),
        Kind::RefName => validate_tag(value).err().map(|_| {
            wrong(
                "a ref name",
                "letters and digits, separated by - . _ : @ + or --",
            )
        }),
        Kind::True => (value != "true").then(|| wrong("true", "set it to true or leave it out")),
    }
}

/// The findings about the `annotations` of a document or descriptor `v`
/// written at `site`.
pub fn findings(v: &serde_json::Value, site: Site) -> Vec<String> {
    let map = v.get("annotations").and_then(serde_json::Value::as_object);
    map.into_iter()
        .flatten()
        .filter_map(|(k, val)| {
            let b = breach(k, val.as_str()?, site)?;
            Some(b.finding(&format!("annotation {k}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_defined_keys_with_their_values() {
        assert_eq!(breach("com.example.x", "anything", Site::Manifest), None);
        assert_eq!(
            breach("org.opencontainers.image.title", "t", Site::Manifest),
            None
        );
        assert_eq!(
            breach("org.opencontainers.image.created", "", Site::Manifest),
            None
        );
        assert_eq!(
            breach(REF_NAME, "ubuntu", Site::Label),
            None,
            "ubuntu's images carry it as a label"
        );
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            breach("org.opencontainers.image.base.digest", &d, Site::Manifest),
            None
        );
        assert_eq!(
            breach("org.opencontainers.image.foo", "x", Site::Label)
                .unwrap()
                .usage("--label org.opencontainers.image.foo=x"),
            "--label org.opencontainers.image.foo=x: org.opencontainers.image.foo is not a key the OCI specifications define, and annotations.md reserves the org.opencontainers. prefix for those; use your own reverse-domain prefix, e.g. com.example."
        );
        assert_eq!(
            breach(
                "org.opencontainers.image.created",
                "notadate",
                Site::Manifest
            )
            .unwrap()
            .why,
            "the value \"notadate\" of org.opencontainers.image.created is not an RFC 3339 time with a four-digit year and seconds 00-59 (annotations.md)"
        );
        assert_eq!(
            breach(
                "org.opencontainers.image.base.digest",
                "nope",
                Site::Manifest
            )
            .unwrap()
            .why,
            "the value \"nope\" of org.opencontainers.image.base.digest is not a digest (annotations.md)"
        );
        assert!(breach(REF_NAME, "v1", Site::Manifest).is_some());
        assert!(breach(REF_NAME, "a b", Site::Label).is_some());
        assert!(
            breach(
                "org.opencontainers.image.referrer.convert",
                "yes",
                Site::Other
            )
            .is_some()
        );
    }
}
