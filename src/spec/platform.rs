//! An image's platform: how it is written (`os/architecture[/variant]`),
//! read from a descriptor, and when two platforms are the same one.

use serde::Serialize;
use serde_json::Value;

/// The platform an image is for, with GOARCH/GOOS names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Platform {
    /// GOOS, e.g. `linux`.
    pub os: String,
    /// GOARCH, e.g. `amd64`.
    pub architecture: String,
    /// e.g. `v8` for arm64, `v7` for arm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl std::fmt::Display for Platform {
    /// `os/architecture[/variant]`, as podman and skopeo write it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// What makes two platforms the same one (see [`Platform::key`]).
pub type PlatformKey = (String, String, String);

impl Platform {
    /// A descriptor's `platform`, if it names an os and an architecture.
    pub fn of_descriptor(d: &Value) -> Option<Platform> {
        let p = d.get("platform")?;
        let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
        Some(Platform {
            os: s("os")?,
            architecture: s("architecture")?,
            variant: s("variant"),
        })
    }

    /// os, architecture and variant, where a missing variant is the default
    /// one (arm64 is v8, amd64 v1), as containerd and podman match them.
    pub fn key(&self) -> PlatformKey {
        let variant = match (self.architecture.as_str(), self.variant.as_deref()) {
            ("arm64", None | Some("")) => "v8",
            ("amd64", Some("v1")) => "",
            (_, v) => v.unwrap_or(""),
        };
        (
            self.os.clone(),
            self.architecture.clone(),
            variant.to_string(),
        )
    }
}

/// `os/architecture[/variant]` of a descriptor's platform, `?` for a
/// missing os or architecture; `None` without a platform.
pub fn platform_label(d: &Value) -> Option<String> {
    let p = d.get("platform")?;
    let s = |k: &str| p.get(k).and_then(Value::as_str);
    let platform = Platform {
        os: s("os").unwrap_or("?").into(),
        architecture: s("architecture").unwrap_or("?").into(),
        variant: s("variant").map(str::to_string),
    };
    Some(platform.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plat(os: &str, arch: &str, variant: Option<&str>) -> Platform {
        Platform {
            os: os.into(),
            architecture: arch.into(),
            variant: variant.map(str::to_string),
        }
    }

    #[test]
    fn default_variants_are_the_same_platform() {
        let key = |a, v| plat("linux", a, v).key();
        assert_eq!(key("arm64", None), key("arm64", Some("v8")));
        assert_eq!(key("amd64", Some("v1")), key("amd64", None));
        assert_ne!(key("arm", Some("v7")), key("arm", Some("v6")));
        assert_ne!(key("arm64", None), key("amd64", None));
    }

    #[test]
    fn written_and_read_as_podman_writes_them() {
        assert_eq!(
            plat("linux", "arm64", Some("v8")).to_string(),
            "linux/arm64/v8"
        );
        assert_eq!(plat("linux", "amd64", None).to_string(), "linux/amd64");
        let d = json!({"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}});
        assert_eq!(platform_label(&d), Some("linux/arm64/v8".into()));
        assert_eq!(
            Platform::of_descriptor(&d),
            Some(plat("linux", "arm64", Some("v8")))
        );
        let partial = json!({"platform": {"architecture": "riscv64"}});
        assert_eq!(platform_label(&partial), Some("?/riscv64".into()));
        assert_eq!(Platform::of_descriptor(&partial), None);
        assert_eq!(platform_label(&json!({})), None);
    }
}
