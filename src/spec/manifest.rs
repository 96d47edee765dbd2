//! An image manifest (OCI, or Docker schema 2).

use serde_json::Value;

use super::descriptor::Descriptor;
use super::media_type::{ManifestType, is_image_config};
use super::{Finding, Judged, Place, check_schema_version, descriptor_at};

/// What a manifest lists.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The media type of the descriptor that pointed to it.
    pub kind: ManifestType,
    /// Whether it has a config descriptor at all.
    pub has_config: bool,
    /// The config descriptor, when usable.
    pub config: Option<Descriptor>,
    /// One per layer descriptor, `None` where unusable; `None` when there
    /// is no `layers` array.
    pub layers: Option<Vec<Option<Descriptor>>>,
}

impl Manifest {
    /// An image has an image config; anything else (signatures,
    /// attestations, other artifacts) only has blobs.
    pub fn is_image(&self) -> bool {
        self.config
            .as_ref()
            .is_some_and(|c| is_image_config(&c.media_type))
    }
}

/// Judge a manifest that a descriptor of media type `kind` pointed to.
pub fn judge(v: &Value, kind: ManifestType) -> Judged<Manifest> {
    let mut problems = Vec::new();
    if !v.is_object() {
        return Judged::none(vec![Finding::doc("not a JSON object")]);
    }
    check_schema_version(v, &mut problems);
    match v.get("mediaType").map(|m| (m, m.as_str())) {
        // OCI makes the field optional; Docker schema 2 requires it.
        None if !kind.is_docker() => {}
        Some((_, Some(mt))) if mt == kind.as_str() => {}
        other => {
            let found = other.map_or("absent".to_string(), |(m, _)| m.to_string());
            problems.push(Finding::doc(format!(
                "mediaType is {found} but the descriptor pointing to it says {:?}",
                kind.as_str()
            )));
        }
    }
    let config = match v.get("config") {
        Some(c) => descriptor_at(c, Place::Config, &mut problems),
        None => {
            problems.push(Finding::doc("has no config descriptor"));
            None
        }
    };
    let layers = match v.get("layers") {
        Some(Value::Array(a)) => Some(a),
        Some(_) => {
            problems.push(Finding::doc("layers is not an array"));
            None
        }
        None => {
            problems.push(Finding::doc("has no layers array"));
            None
        }
    };
    let layers = layers.map(|a| {
        a.iter()
            .enumerate()
            .map(|(i, l)| descriptor_at(l, Place::Layer(i), &mut problems))
            .collect()
    });
    let annotations = super::annotations::findings(v, super::annotations::Site::Manifest);
    problems.extend(annotations.into_iter().map(Finding::rule));
    if problems.is_empty()
        && let Err(e) = serde_json::from_value::<oci_spec::image::ImageManifest>(v.clone())
    {
        problems.push(Finding {
            place: Place::Schema,
            ..Finding::doc(format!("not an image manifest: {e}"))
        });
    }
    Judged {
        value: Some(Manifest {
            kind,
            has_config: v.get("config").is_some(),
            config,
            layers,
        }),
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::media_type::{DOCKER_MANIFEST, OCI_CONFIG};
    use serde_json::json;

    fn d(media_type: &str, hex: char) -> Value {
        json!({"mediaType": media_type,
               "digest": format!("sha256:{}", hex.to_string().repeat(64)), "size": 3})
    }

    fn rendered(j: &Judged<Manifest>) -> Vec<String> {
        j.problems.iter().map(Finding::to_string).collect()
    }

    #[test]
    fn a_good_manifest() {
        let v = json!({"schemaVersion": 2, "config": d(OCI_CONFIG, 'c'),
            "layers": [d("application/vnd.oci.image.layer.v1.tar+gzip", 'e')]});
        let j = judge(&v, ManifestType::Oci);
        assert!(j.problems.is_empty(), "{:?}", j.problems);
        let m = j.value.unwrap();
        assert!(m.is_image());
        assert_eq!(m.layers.map(|l| l.len()), Some(1));
    }

    #[test]
    fn every_problem_in_document_order() {
        assert_eq!(
            rendered(&judge(&json!("x"), ManifestType::Oci)),
            ["not a JSON object"]
        );
        let v = json!({"schemaVersion": "2", "mediaType": 7,
            "config": {"digest": "sha256:zz", "size": 1},
            "layers": [d("a/b", 'e'), {"size": -2}]});
        let j = judge(&v, ManifestType::Oci);
        assert_eq!(
            rendered(&j),
            [
                "schemaVersion is \"2\", expected 2",
                "mediaType is 7 but the descriptor pointing to it says \"application/vnd.oci.image.manifest.v1+json\"",
                "config: descriptor has no mediaType",
                "config: invalid digest \"sha256:zz\": sha256 needs 64 hex digits, found 2",
                "layer 2: descriptor has no mediaType",
                "layer 2: descriptor has no digest",
                "layer 2: size -2 is not a non-negative integer",
            ]
        );
        assert_eq!(j.problems[3].digest.as_deref(), Some("sha256:zz"));
        let m = j.value.unwrap();
        assert!(m.has_config && m.config.is_none() && !m.is_image());
        assert!(m.layers.is_some_and(|l| l[0].is_some() && l[1].is_none()));
    }

    #[test]
    fn docker_needs_its_media_type() {
        let v = json!({"schemaVersion": 2, "layers": {}});
        assert_eq!(
            rendered(&judge(&v, ManifestType::Docker)),
            [
                format!(
                    "mediaType is absent but the descriptor pointing to it says {DOCKER_MANIFEST:?}"
                ),
                "has no config descriptor".into(),
                "layers is not an array".into(),
            ]
        );
        let v = json!({"schemaVersion": 2, "config": d(OCI_CONFIG, 'c'), "layers": [],
            "annotations": {"a": 1}});
        let j = judge(&v, ManifestType::Oci);
        assert_eq!(j.problems.len(), 1);
        assert_eq!(j.problems[0].place, Place::Schema);
        assert!(j.problems[0].message.starts_with("not an image manifest: "));
    }
}
