//! An image configuration.

use serde_json::Value;

use super::{Finding, Judged, Place};
use crate::digest::Digest;

/// What a config says, as far as it could be read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `os`, if a string.
    pub os: Option<String>,
    /// `architecture`, if a string.
    pub architecture: Option<String>,
    /// `variant`, if a string.
    pub variant: Option<String>,
    /// `created`, if a string.
    pub created: Option<String>,
    /// `rootfs.diff_ids`, one per element, `None` where not a valid digest;
    /// `None` when `rootfs` or its `diff_ids` array is missing.
    pub diff_ids: Option<Vec<Option<Digest>>>,
    /// `rootfs.diff_ids` as written (each string, `None` where not a
    /// string), for messages that quote the config; empty when missing.
    pub diff_ids_written: Vec<Option<String>>,
}

/// Judge an image config for a manifest with `layers` layers.
pub fn judge(v: &Value, layers: usize) -> Judged<Config> {
    if !v.is_object() {
        return Judged::none(vec![Finding::doc("not a JSON object")]);
    }
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let rootfs_ids = v
        .get("rootfs")
        .and_then(|r| r.get("diff_ids"))
        .and_then(Value::as_array);
    let mut config = Config {
        os: text("os"),
        architecture: text("architecture"),
        variant: text("variant"),
        created: text("created"),
        diff_ids: None,
        diff_ids_written: rootfs_ids
            .map(|a| a.iter().map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
    };
    let mut problems = Vec::new();
    platform_fields(v, &mut problems);
    config.diff_ids = rootfs(v, layers, &mut problems);
    if config.diff_ids.is_some()
        && problems.is_empty()
        && let Err(e) = serde_json::from_value::<oci_spec::image::ImageConfiguration>(v.clone())
    {
        problems.push(Finding {
            place: Place::Schema,
            ..Finding::doc(format!("not an image configuration: {e}"))
        });
    }
    Judged {
        value: Some(config),
        problems,
    }
}

fn platform_fields(v: &Value, problems: &mut Vec<Finding>) {
    for field in ["architecture", "os"] {
        match v.get(field) {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(other) => problems.push(Finding::doc(format!(
                "{field} is {other}, not a platform name"
            ))),
            None => problems.push(Finding::doc(format!("has no {field}"))),
        }
    }
}

/// `rootfs`: its type and DiffIDs, one per layer.
fn rootfs(v: &Value, layers: usize, problems: &mut Vec<Finding>) -> Option<Vec<Option<Digest>>> {
    let Some(rootfs) = v.get("rootfs") else {
        problems.push(Finding::doc("has no rootfs"));
        return None;
    };
    match rootfs.get("type") {
        Some(Value::String(s)) if s == "layers" => {}
        Some(other) => problems.push(Finding::doc(format!(
            "rootfs.type is {other}, expected \"layers\""
        ))),
        None => problems.push(Finding::doc("has no rootfs.type")),
    }
    let ids = match rootfs.get("diff_ids") {
        Some(Value::Array(a)) => a,
        Some(_) => {
            problems.push(Finding::doc("rootfs.diff_ids is not an array"));
            return None;
        }
        None => {
            problems.push(Finding::doc("has no rootfs.diff_ids"));
            return None;
        }
    };
    if ids.len() != layers {
        let manifest_has = match layers {
            1 => "1 layer".to_string(),
            n => format!("{n} layers"),
        };
        problems.push(Finding::doc(format!(
            "rootfs.diff_ids lists {} DiffIDs but the manifest has {manifest_has}",
            ids.len()
        )));
    }
    let ids = ids.iter().enumerate().map(|(i, id)| match id.as_str() {
        Some(s) => Digest::parse(s)
            .map_err(|e| problems.push(Finding::doc(format!("rootfs.diff_ids[{i}]: {e}"))))
            .ok(),
        None => {
            problems.push(Finding::doc(format!(
                "rootfs.diff_ids[{i}] is not a string"
            )));
            None
        }
    });
    Some(ids.collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rendered(j: &Judged<Config>) -> Vec<String> {
        j.problems.iter().map(Finding::to_string).collect()
    }

    fn hex(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn a_good_config() {
        let v = json!({"architecture": "arm64", "os": "linux", "variant": "v8",
            "created": "1970-01-01T00:00:00Z",
            "rootfs": {"type": "layers", "diff_ids": [hex('d')]}});
        let j = judge(&v, 1);
        assert!(j.problems.is_empty(), "{:?}", j.problems);
        let c = j.value.unwrap();
        assert_eq!(c.variant.as_deref(), Some("v8"));
        assert_eq!(c.diff_ids, Some(vec![Digest::parse(&hex('d')).ok()]));
        assert_eq!(c.diff_ids_written, vec![Some(hex('d'))]);
    }

    #[test]
    fn every_problem_in_document_order() {
        assert_eq!(rendered(&judge(&json!(1), 0)), ["not a JSON object"]);
        let j = judge(&json!({"architecture": "", "rootfs": {"type": "x"}}), 0);
        assert_eq!(
            rendered(&j),
            [
                "architecture is \"\", not a platform name",
                "has no os",
                "rootfs.type is \"x\", expected \"layers\"",
                "has no rootfs.diff_ids",
            ]
        );
        assert_eq!(j.value.and_then(|c| c.diff_ids), None);
        let v = json!({"architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": ["sha256:zz", 3]}});
        let j = judge(&v, 1);
        assert_eq!(
            rendered(&j),
            [
                "rootfs.diff_ids lists 2 DiffIDs but the manifest has 1 layer",
                "rootfs.diff_ids[0]: invalid digest \"sha256:zz\": sha256 needs 64 hex digits, found 2",
                "rootfs.diff_ids[1] is not a string",
            ]
        );
        let c = j.value.unwrap();
        assert_eq!(c.diff_ids, Some(vec![None, None]));
        assert_eq!(c.diff_ids_written, vec![Some("sha256:zz".into()), None]);
        assert_eq!(
            rendered(&judge(&json!({"architecture": "a", "os": "b"}), 2)),
            ["has no rootfs"]
        );
    }

    #[test]
    fn oci_spec_has_the_last_word() {
        let v = json!({"architecture": "amd64", "os": "linux", "created": 5,
            "rootfs": {"type": "layers", "diff_ids": []}});
        let j = judge(&v, 0);
        assert_eq!(j.problems.len(), 1);
        assert_eq!(j.problems[0].place, Place::Schema);
        assert!(
            j.problems[0]
                .message
                .starts_with("not an image configuration: ")
        );
    }
}
