//! The ref-name annotation: how `index.json` names (tags) a manifest.

use serde_json::Value;

/// The annotation that names a manifest in `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The ref name (tag) annotation of an index descriptor, if it is a string.
pub fn ref_name(d: &Value) -> Option<&str> {
    d.get("annotations")?.get(REF_NAME)?.as_str()
}

/// Validate an OCI ref name (`org.opencontainers.image.ref.name` grammar).
pub fn validate_tag(tag: &str) -> std::result::Result<(), String> {
    // ref ::= component ("/" component)*; component ::= alphanum (separator alphanum)*
    // separator ::= [-._:@+] | "--"
    let ok = !tag.is_empty() && tag.split('/').all(valid_component);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{tag:?} is not a valid OCI ref name (letters and digits, separated by one of - . _ : @ + or --, components joined by /)"
        ))
    }
}

/// The longest tag an import writes: Docker and distribution refuse longer
/// ones (`[\w][\w.-]{0,127}`), so such a layout could not be pushed or loaded.
pub const MAX_NEW_TAG_LEN: usize = 128;

/// Validate a tag an import is about to write: an OCI ref name
/// ([`validate_tag`]) of at most [`MAX_NEW_TAG_LEN`] characters. Existing
/// layouts are judged by [`validate_tag`] alone.
pub fn validate_new_tag(tag: &str) -> std::result::Result<(), String> {
    if tag.len() > MAX_NEW_TAG_LEN {
        let start: String = tag.chars().take(16).collect();
        return Err(format!(
            "\"{start}...\" is {} characters long; a tag has at most {MAX_NEW_TAG_LEN} (Docker and registries refuse longer ones): choose a shorter --tag",
            tag.len()
        ));
    }
    validate_tag(tag)
}

fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut prev_sep = 0usize;
    for &ch in b {
        if ch.is_ascii_alphanumeric() {
            prev_sep = 0;
        } else if b"-._:@+".contains(&ch) {
            prev_sep += 1;
            // Only "--" may be a two-character separator.
            if prev_sep > 2 || (prev_sep == 2 && ch != b'-') {
                return false;
            }
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tag_grammar() {
        for ok in [
            "latest", "v1.0", "a/b/c", "x--y", "1.0-rc1", "my_tag:9", "a+b@c",
        ] {
            assert!(validate_tag(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "x-", "a//b", "a..b", "a b", "a/", "ä", "x---y"] {
            assert!(validate_tag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn new_tags_have_at_most_128_characters() {
        assert!(validate_new_tag(&"a".repeat(128)).is_ok());
        assert!(validate_tag(&"a".repeat(129)).is_ok());
        assert_eq!(
            validate_new_tag(&"a".repeat(129)),
            Err("\"aaaaaaaaaaaaaaaa...\" is 129 characters long; a tag has at most 128 (Docker and registries refuse longer ones): choose a shorter --tag".into())
        );
        assert!(validate_new_tag("a b").is_err());
    }

    #[test]
    fn ref_name_of_a_descriptor() {
        assert_eq!(
            ref_name(&json!({"annotations": {REF_NAME: "v1"}})),
            Some("v1")
        );
        assert_eq!(ref_name(&json!({"annotations": {REF_NAME: 1}})), None);
        assert_eq!(ref_name(&json!({})), None);
    }
}
