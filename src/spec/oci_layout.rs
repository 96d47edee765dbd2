//! The `oci-layout` marker file.

use serde_json::Value;

/// The `oci-layout` file's content, as written.
pub const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// What is wrong with an `oci-layout` file's content, if anything: the one
/// judgement shared by the importer (which refuses) and `verify` (which reports).
pub fn layout_version_problem(bytes: &[u8]) -> Option<String> {
    let v = match super::parse_json(bytes) {
        Ok(v) => v,
        Err(e) => return Some(e),
    };
    match v.get("imageLayoutVersion") {
        Some(Value::String(s)) if s == "1.0.0" => None,
        Some(other) => Some(format!("imageLayoutVersion is {other}, expected \"1.0.0\"")),
        None => Some("has no imageLayoutVersion".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(layout_version_problem(OCI_LAYOUT), None);
        assert_eq!(
            layout_version_problem(br#"{"imageLayoutVersion":"2.0.0"}"#).as_deref(),
            Some("imageLayoutVersion is \"2.0.0\", expected \"1.0.0\"")
        );
        assert_eq!(
            layout_version_problem(br#"{"imageLayoutVersion":1}"#).as_deref(),
            Some("imageLayoutVersion is 1, expected \"1.0.0\"")
        );
        assert_eq!(
            layout_version_problem(b"{}").as_deref(),
            Some("has no imageLayoutVersion")
        );
        assert!(layout_version_problem(b"nope").is_some_and(|p| p.starts_with("not valid JSON: ")));
    }
}
