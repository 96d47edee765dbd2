//! Digest strings: validated before they are ever used to build a path.

use crate::error::{Error, Result};

/// Split and validate `algorithm:hex`.
///
/// Only the algorithms a layout can hold blobs for are accepted (sha256,
/// sha512) with their exact lowercase-hex length, so a digest such as
/// `sha256:../../etc/passwd` can never become a path.
pub fn validate_digest(digest: &str) -> Result<(&str, &str)> {
    let bad = |reason: &str| Error::InvalidDigest {
        digest: digest.to_string(),
        reason: reason.to_string(),
    };
    let Some((algo, hex)) = digest.split_once(':') else {
        return Err(bad("missing ':' between algorithm and value"));
    };
    let want = match algo {
        "sha256" => 64,
        "sha512" => 128,
        _ => return Err(bad("unsupported algorithm (expected sha256 or sha512)")),
    };
    if hex.len() != want {
        return Err(bad(&format!(
            "{algo} needs {want} hex digits, found {}",
            hex.len()
        )));
    }
    if !hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(bad("value is not lowercase hex"));
    }
    Ok((algo, hex))
}

/// The path of the blob with `digest` in the layout at `root`, validating
/// the digest first so that it can never name anything outside `blobs/`.
pub fn blob_path(root: &std::path::Path, digest: &str) -> Result<std::path::PathBuf> {
    let (algo, hex) = validate_digest(digest)?;
    Ok(root.join("blobs").join(algo).join(hex))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_well_formed() {
        let d = format!("sha256:{}", "0a".repeat(32));
        assert_eq!(validate_digest(&d).unwrap(), ("sha256", &d[7..]));
        let d = format!("sha512:{}", "f".repeat(128));
        assert!(validate_digest(&d).is_ok());
    }

    #[test]
    fn refuses_traversal_and_malformed() {
        for d in [
            "sha256:../../etc/passwd",
            "sha256",
            "md5:abc",
            &format!("sha256:{}", "A".repeat(64)),
            &format!("sha256:{}", "a".repeat(63)),
            &format!("sha256:{}/", "a".repeat(63)),
        ] {
            assert!(validate_digest(d).is_err(), "{d}");
        }
        let e = validate_digest("sha256:../../etc/passwd").unwrap_err();
        assert!(e.to_string().contains("needs 64 hex digits"), "{e}");
    }
}
