//! An image's platform: how it is written (`os/architecture[/variant]`),
//! read from a descriptor, and when two platforms are the same one.

use serde::Serialize;
use serde_json::Value;

use super::Breach;

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

/// Go's GOOS names: what image-index.md's `os` values are.
const GOOS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "wasip1",
    "windows",
    "zos",
];

/// Go's GOARCH names (go/build's known list): what image-index.md's
/// `architecture` values are.
const GOARCH: &[&str] = &[
    "386",
    "amd64",
    "amd64p32",
    "arm",
    "armbe",
    "arm64",
    "arm64be",
    "loong64",
    "mips",
    "mipsle",
    "mips64",
    "mips64le",
    "mips64p32",
    "mips64p32le",
    "ppc",
    "ppc64",
    "ppc64le",
    "riscv",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm",
];

/// The GOARCH name of a kernel or distribution name (`uname -m`, Debian).
fn goarch_of(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if let Some(known) = GOARCH.iter().find(|g| **g == lower) {
        return Some(known);
    }
    Some(match lower.as_str() {
        "x86_64" | "x86-64" | "x64" => "amd64",
        "aarch64" => "arm64",
        "i386" | "i486" | "i586" | "i686" | "x86" => "386",
        "armhf" | "armel" | "armv5l" | "armv6l" | "armv7l" | "armv7" | "armv6" => "arm",
        "ppc64el" => "ppc64le",
        "loongarch64" => "loong64",
        _ => return None,
    })
}

/// An `architecture` that is not a GOARCH name.
pub fn arch_breach(name: &str) -> Option<Breach> {
    if GOARCH.contains(&name) {
        return None;
    }
    let fix = match goarch_of(name) {
        Some(g) => format!("use {g}, its GOARCH name"),
        None => "use a GOARCH name: amd64, arm64, arm, 386, ppc64le, s390x, riscv64, ...".into(),
    };
    Some(Breach {
        why: format!(
            "{name:?} is not a GOARCH name (image-index.md platform: architecture values are Go's GOARCH)"
        ),
        consumers: "podman, skopeo and containerd select images by GOARCH name and do not match it"
            .into(),
        fix,
    })
}

/// An `os` that is not a GOOS name.
pub fn os_breach(name: &str) -> Option<Breach> {
    if GOOS.contains(&name) {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    let fix = match GOOS.iter().find(|g| **g == lower) {
        Some(g) => format!("use {g}, its GOOS name"),
        None if lower == "macos" || lower == "osx" => "use darwin, its GOOS name".into(),
        None => "use a GOOS name: linux, windows, freebsd, ...".into(),
    };
    Some(Breach {
        why: format!(
            "{name:?} is not a GOOS name (image-index.md platform: os values are Go's GOOS)"
        ),
        consumers: "podman, skopeo and containerd select images by GOOS name and do not match it"
            .into(),
        fix,
    })
}

/// A `variant` that `architecture` cannot have: empty, or not one of the
/// image-index.md platform table's (arm v6, v7, v8; arm64 v8) or of the
/// values the consumers' matchers (containerd's platforms package, which
/// podman and Docker share) also know: arm v5 (Docker Hub's arm32v5),
/// arm64 v8.N, v9 and v9.N, amd64 v1 to v4 (GOAMD64). Other
/// architectures' variants are implementation-defined (image-index.md).
pub fn variant_breach(arch: &str, variant: &str) -> Option<Breach> {
    if variant.is_empty() {
        return Some(Breach {
            why: "the variant is empty (image-index.md platform: variant is left out, or names the CPU variant)".into(),
            consumers: "Go consumers (podman, skopeo, containerd) read it as no variant".into(),
            fix: "leave the variant out".into(),
        });
    }
    let arm64 = |v: &str| {
        let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
        matches!(major, "v8" | "v9")
            && !minor.is_empty()
            && minor.bytes().all(|b| b.is_ascii_digit())
    };
    let (ok, accepted) = match arch {
        "arm" => (
            matches!(variant, "v5" | "v6" | "v7" | "v8"),
            "v5, v6, v7 or v8",
        ),
        "arm64" => (
            arm64(variant),
            "v8 (or a later ARM version: v8.1, ..., v9, v9.1, ...)",
        ),
        "amd64" => (
            matches!(variant, "v1" | "v2" | "v3" | "v4"),
            "v1, v2, v3 or v4 (GOAMD64)",
        ),
        _ => (true, ""),
    };
    if ok {
        return None;
    }
    Some(Breach {
        why: format!("{variant:?} is not a variant of {arch} (image-index.md platform table)"),
        consumers: "podman and containerd match no CPU with it".into(),
        fix: format!("use {accepted}"),
    })
}

/// Every breach of a platform's names, in the order os, architecture, variant.
pub fn platform_breaches(
    os: &str,
    arch: &str,
    variant: Option<&str>,
) -> Vec<(&'static str, Breach)> {
    let mut out = Vec::new();
    out.extend(os_breach(os).map(|b| ("os", b)));
    out.extend(arch_breach(arch).map(|b| ("architecture", b)));
    out.extend(
        variant
            .and_then(|v| variant_breach(arch, v))
            .map(|b| ("variant", b)),
    );
    out
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

    #[test]
    fn names_are_goos_and_goarch() {
        assert_eq!(arch_breach("amd64"), None);
        assert_eq!(os_breach("linux"), None);
        assert_eq!(
            arch_breach("x86_64").unwrap().usage("--arch x86_64"),
            "--arch x86_64: \"x86_64\" is not a GOARCH name (image-index.md platform: architecture values are Go's GOARCH); use amd64, its GOARCH name"
        );
        assert_eq!(
            arch_breach("AMD64").unwrap().fix,
            "use amd64, its GOARCH name"
        );
        assert_eq!(
            arch_breach("aarch64").unwrap().fix,
            "use arm64, its GOARCH name"
        );
        assert!(
            arch_breach("vax")
                .unwrap()
                .fix
                .starts_with("use a GOARCH name: amd64")
        );
        assert_eq!(os_breach("Linux").unwrap().fix, "use linux, its GOOS name");
        assert_eq!(
            os_breach("Linux").unwrap().finding("os"),
            "os: \"Linux\" is not a GOOS name (image-index.md platform: os values are Go's GOOS); podman, skopeo and containerd select images by GOOS name and do not match it"
        );
    }

    #[test]
    fn variants_of_the_platform_table() {
        for (arch, v) in [
            ("arm", "v5"),
            ("arm", "v6"),
            ("arm", "v7"),
            ("arm", "v8"),
            ("arm64", "v8"),
            ("arm64", "v8.1"),
            ("arm64", "v9"),
            ("arm64", "v9.2"),
            ("amd64", "v3"),
            ("ppc64le", "power9"),
        ] {
            assert_eq!(variant_breach(arch, v), None, "{arch} {v}");
        }
        for (arch, v) in [
            ("arm", "v9"),
            ("arm", "v4"),
            ("arm64", "v7"),
            ("arm64", "v8."),
            ("arm64", "v10"),
            ("amd64", "v5"),
            ("riscv64", ""),
        ] {
            assert!(variant_breach(arch, v).is_some(), "{arch} {v}");
        }
        assert_eq!(
            variant_breach("arm", "v9").unwrap().usage("--variant v9"),
            "--variant v9: \"v9\" is not a variant of arm (image-index.md platform table); use v5, v6, v7 or v8"
        );
        assert_eq!(platform_breaches("linux", "arm", Some("")).len(), 1);
    }
}
