//! The software bill of materials (`--sbom`): the packages the rootfs's own
//! package databases record, read from the tar stream as it passes
//! ([`PackageScan`] is an [`EntryObserver`]), written as an SPDX 2.3
//! document ([`spdx_document`]).
//!
//! Skeleton: the seam between the scan (this module) and the attestation
//! writer. The database readers land here.

use crate::tarscan::{EntryHeader, EntryObserver};

/// One installed package, as its database records it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Package {
    /// The package's name.
    pub(crate) name: String,
    /// The version exactly as the database writes it.
    pub(crate) version: String,
    /// The package URL (purl).
    pub(crate) purl: String,
    /// The SPDX license expression, when the database records one.
    pub(crate) license: Option<String>,
    /// Who supplies it (maintainer, packager), when recorded.
    pub(crate) supplier: Option<String>,
}

/// What a scan found: packages, the operating system, which databases it
/// read and what it could not read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Inventory {
    /// Every package, sorted.
    pub(crate) packages: Vec<Package>,
    /// `etc/os-release` (or `usr/lib/os-release`) fields, when present.
    pub(crate) os_release: Vec<(String, String)>,
    /// The database files read (paths in the rootfs).
    pub(crate) covered: Vec<String>,
    /// One line per database that was found but not read, naming it.
    pub(crate) warnings: Vec<String>,
}

/// Collects the package databases as the tar stream passes.
#[derive(Debug, Default)]
pub(crate) struct PackageScan {
    inventory: Inventory,
}

impl PackageScan {
    /// A scan that has seen nothing yet.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Ends the scan: parses what was captured.
    pub(crate) fn finish(self) -> Inventory {
        self.inventory
    }
}

impl EntryObserver for PackageScan {
    fn entry(&mut self, _header: &EntryHeader) -> bool {
        false
    }
    fn content(&mut self, _data: &[u8]) -> bool {
        false
    }
}

/// The SPDX 2.3 JSON document for `inventory`, describing the image
/// `subject` (its name) created at `created` (RFC 3339): deterministic, so
/// the same input gives the same bytes.
pub(crate) fn spdx_document(
    inventory: &Inventory,
    subject: &str,
    created: &str,
) -> serde_json::Value {
    serde_json::json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": subject,
        "creationInfo": {"created": created, "creators": ["Tool: ociimport"]},
        "packages": inventory.packages.iter().map(|p| serde_json::json!({"name": p.name, "versionInfo": p.version})).collect::<Vec<_>>(),
    })
}
