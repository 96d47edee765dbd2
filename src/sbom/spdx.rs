//! The SPDX 2.3 JSON document (<https://spdx.github.io/spdx-spec/v2.3/>).
//!
//! Deterministic: packages in the inventory's sorted order, SPDX IDs made
//! from the package's purl (a hash, so they are stable and unique),
//! `created` the image's creation time, and `documentNamespace` derived
//! from a SHA-256 of the document's content and subject. The operating
//! system (os-release) is the described package (`DESCRIBES`), and
//! `CONTAINS` every package. Licenses: a valid SPDX expression is kept as
//! the database writes it; anything else becomes a `LicenseRef-` declared
//! in `hasExtractedLicensingInfos` with the database's text; none is
//! `NOASSERTION`.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::{Inventory, Package};
use crate::digest::hex;

/// The document for `inventory` (see [`super::spdx_document`]).
pub(crate) fn document(inventory: &Inventory, subject: &str, created: &str) -> Value {
    let os = super::osrelease::OsRelease(inventory.os_release.clone());
    let mut refs = LicenseRefs::default();
    let mut ids = BTreeMap::new();
    let mut packages = vec![os_package(&os, subject)];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": OS_ID,
    })];
    for p in &inventory.packages {
        let id = unique_id(&mut ids, p);
        packages.push(package(p, &id, &mut refs));
        relationships.push(json!({
            "spdxElementId": OS_ID,
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": id,
        }));
    }
    let mut doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": subject,
        "creationInfo": {
            "created": spdx_time(created),
            "creators": [format!("Tool: ociimport-{}", env!("CARGO_PKG_VERSION"))],
        },
        "comment": coverage(inventory),
        "packages": packages,
        "relationships": relationships,
    });
    if !refs.0.is_empty() {
        doc["hasExtractedLicensingInfos"] = refs
            .0
            .iter()
            .map(|(text, id)| json!({"licenseId": id, "extractedText": text, "name": text}))
            .collect();
    }
    let digest = hex(&Sha256::digest(doc.to_string().as_bytes()));
    doc["documentNamespace"] = json!(format!("https://ociimport.invalid/spdx/{digest}"));
    doc
}

/// The described package's SPDX ID.
const OS_ID: &str = "SPDXRef-OperatingSystem";

/// The operating system package, from os-release (or the subject's name
/// when there is none).
fn os_package(os: &super::osrelease::OsRelease, subject: &str) -> Value {
    let mut p = json!({
        "SPDXID": OS_ID,
        "name": os.get("ID").unwrap_or(subject),
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "supplier": "NOASSERTION",
        "primaryPackagePurpose": "OPERATING-SYSTEM",
    });
    if let Some(v) = os.get("VERSION_ID") {
        p["versionInfo"] = json!(v);
    }
    match os.get("PRETTY_NAME").or_else(|| os.get("NAME")) {
        Some(pretty) => p["description"] = json!(pretty),
        None => p["comment"] = json!("the rootfs has no etc/os-release or usr/lib/os-release"),
    }
    p
}

/// One package's entry.
fn package(p: &Package, id: &str, refs: &mut LicenseRefs) -> Value {
    json!({
        "SPDXID": id,
        "name": p.name,
        "versionInfo": p.version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": p.license.as_deref().map(str::trim).filter(|l| !l.is_empty())
            .map_or_else(|| "NOASSERTION".to_string(), |l| refs.expression(l)),
        "copyrightText": "NOASSERTION",
        "supplier": p.supplier.as_deref().unwrap_or("NOASSERTION"),
        "externalRefs": [{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": p.purl,
        }],
    })
}

/// `SPDXRef-Package-<type>-<name>-<hash of the purl>`, with `-2`, `-3`...
/// for a purl seen again (the same package in two databases).
fn unique_id(seen: &mut BTreeMap<String, u32>, p: &Package) -> String {
    let kind = p
        .purl
        .strip_prefix("pkg:")
        .and_then(|r| r.split('/').next())
        .unwrap_or("unknown");
    let name: String = p
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let hash = hex(&Sha256::digest(p.purl.as_bytes()));
    let base = format!("SPDXRef-Package-{kind}-{name}-{}", &hash[..16]);
    let n = seen.entry(base.clone()).or_insert(0);
    *n += 1;
    if *n == 1 { base } else { format!("{base}-{n}") }
}

/// Licenses that are not SPDX expressions, by text, with their `LicenseRef-`.
#[derive(Default)]
struct LicenseRefs(BTreeMap<String, String>);

impl LicenseRefs {
    /// A valid SPDX expression for `license`.
    fn expression(&mut self, license: &str) -> String {
        let license = license.trim();
        if valid_spdx(license) {
            return license.to_string();
        }
        let next = self.0.len();
        self.0
            .entry(license.to_string())
            .or_insert_with(|| {
                let slug: String = license
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '.' {
                            c
                        } else {
                            '-'
                        }
                    })
                    .take(64)
                    .collect();
                format!("LicenseRef-{next}-{slug}")
            })
            .clone()
    }
}

/// Whether `text` is an SPDX license expression of listed identifiers
/// (deprecated ones included: they are still on the list).
pub(crate) fn valid_spdx(text: &str) -> bool {
    let mode = spdx::ParseMode {
        allow_deprecated: true,
        allow_postfix_plus_on_gpl: true,
        ..spdx::ParseMode::STRICT
    };
    !text.contains("LicenseRef-")
        && !text.contains("DocumentRef-")
        && spdx::Expression::parse_mode(text, mode).is_ok()
}

/// SPDX's time form, `YYYY-MM-DDThh:mm:ssZ` (UTC, no fraction), from RFC 3339.
fn spdx_time(created: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(created)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        })
        .unwrap_or_else(|_| created.to_string())
}

/// The document's comment: which databases it covers, which it could not read.
fn coverage(inventory: &Inventory) -> String {
    let mut text = if inventory.covered.is_empty() {
        "Packages from no package database: none found in the rootfs.".to_string()
    } else {
        format!(
            "Packages from the rootfs's package databases: {}.",
            inventory.covered.join("; ")
        )
    };
    if !inventory.warnings.is_empty() {
        text.push_str(" Not read: ");
        text.push_str(&inventory.warnings.join("; "));
        text.push('.');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licenses_valid_kept_others_referenced() {
        assert!(valid_spdx("MIT AND (GPL-2.0-or-later OR Apache-2.0)"));
        assert!(valid_spdx("GPL-2.0+"));
        assert!(valid_spdx("GPL-2.0-or-later WITH Classpath-exception-2.0"));
        assert!(!valid_spdx("GPLv2+"));
        assert!(!valid_spdx("custom:foo"));
        assert!(!valid_spdx("LicenseRef-x"));
        let mut refs = LicenseRefs::default();
        assert_eq!(refs.expression("MIT"), "MIT");
        assert_eq!(
            refs.expression("GPLv2+ and LGPLv2+"),
            "LicenseRef-0-GPLv2--and-LGPLv2-"
        );
        assert_eq!(refs.expression("GPL-2"), "LicenseRef-1-GPL-2");
        assert_eq!(
            refs.expression("GPLv2+ and LGPLv2+"),
            "LicenseRef-0-GPLv2--and-LGPLv2-"
        );
    }

    #[test]
    fn times_are_spdx_form() {
        assert_eq!(
            spdx_time("2024-05-01T10:20:30.123+02:00"),
            "2024-05-01T08:20:30Z"
        );
        assert_eq!(spdx_time("1970-01-01T00:00:00Z"), "1970-01-01T00:00:00Z");
    }
}
