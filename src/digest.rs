//! Digests and blobs: the one "digest and size" type of the crate.
//!
//! A [`Digest`] is validated when it is made, so it can always become a
//! path under `blobs/`: a digest such as `sha256:../../etc/passwd` never
//! gets that far.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// A digest string that is not `sha256:<64 lowercase hex>` or
/// `sha512:<128 lowercase hex>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid digest {digest:?}: {reason}")]
pub struct InvalidDigest {
    /// The offending string.
    pub digest: String,
    /// Why it was refused.
    pub reason: String,
}

type Result<T> = std::result::Result<T, InvalidDigest>;

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// A validated content digest: `sha256:<64 lowercase hex>` or `sha512:<128 lowercase hex>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub(crate) String);

impl Digest {
    /// Parse and validate `algorithm:hex`.
    ///
    /// Only the algorithms a layout can hold blobs for are accepted, with
    /// their exact lowercase-hex length.
    pub fn parse(digest: &str) -> Result<Self> {
        validate_digest(digest)?;
        Ok(Digest(digest.to_string()))
    }

    /// The digest of a finished SHA-256 hasher's output.
    pub(crate) fn sha256(raw: &[u8]) -> Self {
        Digest(format!("sha256:{}", hex(raw)))
    }

    /// The whole digest, `algorithm:hex`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The algorithm, e.g. `sha256`.
    pub fn algorithm(&self) -> &str {
        self.0.split_once(':').map_or("", |(a, _)| a)
    }

    /// The hex value.
    pub fn hex(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, h)| h)
    }

    /// Where the blob with this digest lives in the layout at `root`.
    pub fn blob_path(&self, root: &Path) -> PathBuf {
        root.join("blobs").join(self.algorithm()).join(self.hex())
    }

    /// `blobs/ALGO/HEX`, relative to the layout root, for messages.
    pub fn blob_rel(&self) -> String {
        format!("blobs/{}/{}", self.algorithm(), self.hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Digest {
    type Err = InvalidDigest;
    fn from_str(s: &str) -> Result<Self> {
        Digest::parse(s)
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Digest {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Digest {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Bytes addressed by their digest: a layer blob, a config, a manifest, or
/// an uncompressed tar stream (a DiffID and its length).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Blob {
    /// The digest of the bytes.
    pub digest: Digest,
    /// How many bytes.
    pub size: u64,
}

/// Split and validate `algorithm:hex` (see [`Digest::parse`]).
pub(crate) fn validate_digest(digest: &str) -> Result<(&str, &str)> {
    let bad = |reason: &str| InvalidDigest {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_well_formed() {
        let d = format!("sha256:{}", "0a".repeat(32));
        assert_eq!(validate_digest(&d).unwrap(), ("sha256", &d[7..]));
        let parsed = Digest::parse(&d).unwrap();
        assert_eq!(parsed.algorithm(), "sha256");
        assert_eq!(parsed.hex(), &d[7..]);
        assert_eq!(
            parsed.blob_path(Path::new("/l")),
            PathBuf::from(format!("/l/blobs/sha256/{}", &d[7..]))
        );
        assert_eq!(serde_json::to_string(&parsed).unwrap(), format!("\"{d}\""));
        let d = format!("sha512:{}", "f".repeat(128));
        assert_eq!(Digest::parse(&d).unwrap().algorithm(), "sha512");
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
            assert!(Digest::parse(d).is_err(), "{d}");
        }
        let e = validate_digest("sha256:../../etc/passwd").unwrap_err();
        assert!(e.to_string().contains("needs 64 hex digits"), "{e}");
    }
}
