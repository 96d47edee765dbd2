//! A descriptor: media type, digest, size (and `urls`, `platform`).

use serde_json::Value;

use super::{Finding, Judged};
use crate::digest::{Blob, Digest};

/// A descriptor whose digest and size can be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// The media type; empty when missing (which is a problem).
    pub media_type: String,
    /// The validated digest.
    pub digest: Digest,
    /// The size in bytes.
    pub size: u64,
    /// Whether it lists external `urls` (a non-distributable blob).
    pub has_urls: bool,
}

impl Descriptor {
    /// Digest and size.
    pub fn blob(&self) -> Blob {
        Blob {
            digest: self.digest.clone(),
            size: self.size,
        }
    }
}

/// The `digest` field as written, for naming a descriptor in messages.
pub fn raw_digest(v: &Value) -> Option<String> {
    v.get("digest").and_then(Value::as_str).map(str::to_string)
}

/// Judge a descriptor's fields.
///
/// The value is there when digest and size are usable (the media type may
/// still be missing, which is one of the problems). Problems are at
/// [`super::Place::Document`] with the digest as written.
pub fn judge(v: &Value) -> Judged<Descriptor> {
    let mut why = Vec::new();
    if !v.is_object() {
        return Judged::none(vec![Finding::doc("descriptor is not a JSON object")]);
    }
    let media_type = match v.get("mediaType") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            why.push("mediaType is not a string".to_string());
            String::new()
        }
        None => {
            why.push("descriptor has no mediaType".into());
            String::new()
        }
    };
    let digest = match v.get("digest") {
        Some(Value::String(s)) => Digest::parse(s).map_err(|e| why.push(e.to_string())).ok(),
        Some(_) => {
            why.push("digest is not a string".into());
            None
        }
        None => {
            why.push("descriptor has no digest".into());
            None
        }
    };
    let size = match v.get("size") {
        Some(n) => n.as_u64().or_else(|| {
            why.push(format!("size {n} is not a non-negative integer"));
            None
        }),
        None => {
            why.push("descriptor has no size".into());
            None
        }
    };
    let has_urls = v
        .get("urls")
        .is_some_and(|u| u.as_array().is_some_and(|a| !a.is_empty()));
    let written = raw_digest(v);
    Judged {
        value: digest.zip(size).map(|(digest, size)| Descriptor {
            media_type,
            digest,
            size,
            has_urls,
        }),
        problems: why
            .into_iter()
            .map(|message| Finding {
                digest: written.clone(),
                ..Finding::doc(message)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::media_type::OCI_MANIFEST;
    use serde_json::json;

    fn messages(j: &Judged<Descriptor>) -> Vec<String> {
        j.problems.iter().map(|f| f.message.clone()).collect()
    }

    #[test]
    fn descriptor_fields_are_checked() {
        let j = judge(&json!({
            "mediaType": OCI_MANIFEST, "digest": "sha256:../../etc/passwd", "size": -1
        }));
        let why = messages(&j);
        assert!(j.value.is_none());
        assert_eq!(why.len(), 2, "{why:?}");
        assert!(why[0].contains("needs 64 hex digits"), "{}", why[0]);
        assert!(
            why[1].contains("size -1 is not a non-negative integer"),
            "{}",
            why[1]
        );
        assert_eq!(
            j.problems[0].digest.as_deref(),
            Some("sha256:../../etc/passwd")
        );
        let good = format!("sha256:{}", "a".repeat(64));
        let j = judge(&json!({"digest": good, "size": 3}));
        assert_eq!(
            messages(&j),
            vec!["descriptor has no mediaType".to_string()]
        );
        assert_eq!(
            j.value.map(|d| (d.digest.as_str().to_string(), d.size)),
            Some((good, 3))
        );
    }

    #[test]
    fn other_shapes() {
        let j = judge(&json!([1]));
        assert_eq!(messages(&j), vec!["descriptor is not a JSON object"]);
        let j = judge(&json!({"mediaType": 1, "digest": 2}));
        assert_eq!(
            messages(&j),
            vec![
                "mediaType is not a string",
                "digest is not a string",
                "descriptor has no size"
            ]
        );
        let d = judge(
            &json!({"mediaType": "x", "digest": format!("sha256:{}", "b".repeat(64)),
            "size": 1, "urls": ["https://example.com/b"]}),
        );
        assert!(d.value.is_some_and(|d| d.has_urls));
    }
}
