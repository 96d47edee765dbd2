//! `inspect --packages`: the packages each image's SBOM attestation lists.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use super::{ImageInfo, inspect_reader};
use crate::digest::{Blob, Digest};
use crate::error::Result;
use crate::image::Platform;
use crate::layout::{Reader, Target};

/// One package of an image's SBOM (`inspect --packages`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PackageInfo {
    /// The package's name.
    pub name: String,
    /// Its version, as its database writes it.
    pub version: String,
    /// Its package URL, when the SBOM has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// The SBOM packages of one image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ImagePackages {
    /// The ref name the image was found through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The image manifest's digest.
    pub manifest: Digest,
    /// Its platform.
    pub platform: Platform,
    /// The SBOM statement's blob; `None` when the image has no SBOM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sbom: Option<Digest>,
    /// Its packages, in the SBOM's order.
    pub packages: Vec<PackageInfo>,
}

/// The packages the SBOM attestation of each image of `target` lists
/// (`inspect --packages`); an image without one has none and no `sbom`.
/// The images are inspected as [`super::inspect_target_limited`] does, with
/// `max_size`.
pub fn packages_target(target: &Target, max_size: Option<u64>) -> Result<Vec<ImagePackages>> {
    let reader = target.reader()?;
    let images = inspect_reader(&reader, target.tag(), max_size)?;
    images
        .iter()
        .map(|img| image_packages(&reader, img))
        .collect()
}

fn image_packages(reader: &Reader, img: &ImageInfo) -> Result<ImagePackages> {
    let sbom = img
        .attestations
        .iter()
        .flat_map(|a| &a.statements)
        .find(|s| s.predicate_type == crate::attest::SPDX);
    let mut packages = Vec::new();
    if let Some(s) = sbom {
        let blob = Blob {
            digest: s.digest.clone(),
            size: s.size,
        };
        let statement = reader.json(&blob)?;
        packages = spdx_packages(&statement);
    }
    Ok(ImagePackages {
        tag: img.tag.clone(),
        manifest: img.manifest.digest.clone(),
        platform: img.platform.clone(),
        sbom: sbom.map(|s| s.digest.clone()),
        packages,
    })
}

/// An SPDX statement's packages: name, versionInfo and the purl external
/// reference; not what the document describes (the operating system, or
/// the image), which contains them.
fn spdx_packages(statement: &Value) -> Vec<PackageInfo> {
    let doc = statement.get("predicate").unwrap_or(&Value::Null);
    let list = doc
        .get("packages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let described = described(doc);
    let s = |p: &Value, k: &str| {
        p.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    list.iter()
        .filter(|p| !described.contains(&s(p, "SPDXID")))
        .map(|p| PackageInfo {
            name: s(p, "name"),
            version: s(p, "versionInfo"),
            purl: p
                .get("externalRefs")
                .and_then(Value::as_array)
                .and_then(|refs| {
                    refs.iter()
                        .find(|r| r.get("referenceType").and_then(Value::as_str) == Some("purl"))
                })
                .and_then(|r| r.get("referenceLocator"))
                .and_then(Value::as_str)
                .map(str::to_string),
        })
        .collect()
}

/// The SPDX IDs the document describes (`documentDescribes`, or a
/// `DESCRIBES` relationship of the document).
fn described(doc: &Value) -> Vec<String> {
    let id = doc.get("SPDXID").and_then(Value::as_str);
    let listed = doc
        .get("documentDescribes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    let related = doc
        .get("relationships")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| {
            r.get("spdxElementId").and_then(Value::as_str) == id
                && r.get("relationshipType").and_then(Value::as_str) == Some("DESCRIBES")
        })
        .filter_map(|r| r.get("relatedSpdxElement").and_then(Value::as_str));
    listed.chain(related).map(str::to_string).collect()
}

/// Human-readable rendering of [`packages_target`]'s result: per image a
/// header line, then one `NAME VERSION PURL` line per package.
pub fn packages_text(images: &[ImagePackages]) -> String {
    let mut out = String::new();
    for img in images {
        let tag = img.tag.as_deref().unwrap_or("(untagged)");
        let what = match &img.sbom {
            Some(d) => format!("{} package(s), SBOM {d}", img.packages.len()),
            None => "no SBOM attestation (import with --sbom)".into(),
        };
        let _ = writeln!(out, "# {tag} {} {}: {what}", img.platform, img.manifest);
        for p in &img.packages {
            let purl = p.purl.as_deref().unwrap_or("-");
            let _ = writeln!(out, "{}\t{}\t{purl}", p.name, p.version);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Name, versionInfo and the purl external reference, as SPDX 2.3 writes them.
    #[test]
    fn spdx_packages_are_read_with_their_purl() {
        let statement = json!({"predicate": {"SPDXID": "SPDXRef-DOCUMENT",
            "relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                               "relatedSpdxElement": "SPDXRef-OperatingSystem"}],
            "packages": [
            {"SPDXID": "SPDXRef-OperatingSystem", "name": "debian", "versionInfo": "12"},
            {"name": "bash", "versionInfo": "5.2.15-2+b2", "externalRefs": [
                {"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "cpe:2.3:a"},
                {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                 "referenceLocator": "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12"}]},
            {"name": "local", "versionInfo": "1"},
        ]}});
        assert_eq!(
            spdx_packages(&statement),
            [
                PackageInfo {
                    name: "bash".into(),
                    version: "5.2.15-2+b2".into(),
                    purl: Some(
                        "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12".into()
                    ),
                },
                PackageInfo {
                    name: "local".into(),
                    version: "1".into(),
                    purl: None,
                },
            ]
        );
        let text = packages_text(&[ImagePackages {
            tag: Some("1".into()),
            manifest: crate::hashing::sha256_of(b"m"),
            platform: Platform {
                os: "linux".into(),
                architecture: "amd64".into(),
                variant: None,
            },
            sbom: Some(crate::hashing::sha256_of(b"s")),
            packages: spdx_packages(&statement),
        }]);
        let lines: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(
            lines,
            [
                "bash\t5.2.15-2+b2\tpkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12",
                "local\t1\t-"
            ]
        );
    }
}
