//! What Docker's loader needs beside the OCI layout in an archive: the
//! `manifest.json` `docker save` writes since Docker 25 (moby
//! `image/tarexport/save.go`), and which platform of an `--index` archive
//! it tags.
//!
//! Docker's classic image store (every Docker up to 28, and 29 on upgraded
//! hosts) loads an archive only through `manifest.json`
//! (`image/tarexport/load.go`): without it, it falls back to the legacy
//! format and fails. Each entry names a config and the layers in order, as
//! paths in the archive: the layout's own blobs, so no blob is copied. The
//! layers are the compressed blobs; the loader decompresses them
//! (`DecompressStream`: gzip always, zstd since Docker 23.0) and checks
//! each against the config's `diff_ids`. `LayerSources` is written by
//! `docker save` only for foreign (non-distributable) layers, which an
//! import never makes.
//!
//! The classic store keeps one image per tag, so an image index is tagged
//! for one platform: this machine's by default, `--docker-platform` another;
//! when this machine's is not in the index, the first input's, with a
//! warning. The other platforms stay in the index for containerd, podman
//! and skopeo, which read `index.json`.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::naming::parse_reference;
use crate::output::Output;
use crate::report::{ImportReport, Report};

/// The name of Docker's manifest in an archive.
pub(crate) const MANIFEST_JSON: &str = "manifest.json";

/// One entry of `manifest.json`, with moby's field names.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub(crate) struct ManifestItem {
    /// `blobs/sha256/HEX` of the config.
    #[serde(rename = "Config")]
    pub(crate) config: String,
    /// The image's names, in Docker's familiar form (`x:1`, `ns/x:1`).
    #[serde(rename = "RepoTags")]
    pub(crate) repo_tags: Vec<String>,
    /// `blobs/sha256/HEX` of each layer, in order.
    #[serde(rename = "Layers")]
    pub(crate) layers: Vec<String>,
}

/// The `manifest.json` bytes for what `report` wrote: one entry, for the
/// image, or for an index's image of [`crate::report::IndexReport::docker_platform`].
pub(crate) fn manifest_json(report: &Report) -> Result<Vec<u8>> {
    let (image, name) = match report {
        Report::Image(r) => (&**r, &r.name),
        Report::Index(r) => {
            let chosen = r
                .images
                .iter()
                .find(|i| Some(i.platform.to_string()) == r.docker_platform)
                .or_else(|| r.images.first())
                .ok_or_else(|| spec("the image index lists no image of this import"))?;
            (chosen, &r.name)
        }
    };
    let item = item(image, name)?;
    let mut bytes = serde_json::to_vec(&[item]).map_err(|e| spec(&e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn item(image: &ImportReport, name: &str) -> Result<ManifestItem> {
    let familiar = parse_reference(name).map_err(|e| spec(&e))?.familiar();
    Ok(ManifestItem {
        config: image.config.digest.blob_rel(),
        repo_tags: vec![familiar],
        layers: image
            .layers
            .iter()
            .map(|l| l.layer.blob.digest.blob_rel())
            .collect(),
    })
}

fn spec(reason: &str) -> Error {
    Error::Spec {
        what: "manifest.json",
        reason: reason.to_string(),
    }
}

/// This machine's platform, as an image names it (`linux/amd64`).
pub(crate) fn host_platform() -> String {
    format!("linux/{}", crate::platform::host_architecture())
}

/// Refuse `--docker-platform` where it means nothing (without `--index`
/// or without an archive output) or when it is not `OS/ARCH[/VARIANT]`.
pub(crate) fn check_platform_option(
    docker_platform: Option<&str>,
    index: bool,
    output: &Output,
) -> Result<()> {
    let Some(p) = docker_platform else {
        return Ok(());
    };
    if !index || matches!(output, Output::Layout(_)) {
        return Err(Error::Usage(format!(
            "--docker-platform {p} chooses the platform docker load tags in an --index archive: give --index and --format oci-archive, or drop it"
        )));
    }
    let parts: Vec<&str> = p.split('/').collect();
    let ok = (2..=3).contains(&parts.len())
        && parts.iter().all(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "--docker-platform {p:?} is not OS/ARCH[/VARIANT]: give e.g. linux/arm64 or linux/arm/v7"
        )))
    }
}

/// Choose the platform an `--index` archive's `manifest.json` tags and
/// record it in the report: `--docker-platform` (refused when the index
/// lacks it), else this machine's, else the first input's with a warning.
pub(crate) fn choose_platform(report: &mut Report, wanted: Option<&str>) -> Result<()> {
    let Report::Index(r) = report else {
        return Ok(());
    };
    let ours: Vec<String> = r.images.iter().map(|i| i.platform.to_string()).collect();
    let host = host_platform();
    // A platform given with its variant must match it; without, any variant does.
    let matches = |want: &str, have: &str| have == want || have.starts_with(&format!("{want}/"));
    let chosen = match wanted {
        Some(w) => ours
            .iter()
            .find(|p| matches(w, p))
            .cloned()
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--docker-platform {w}: the index holds {}; choose one of them",
                    ours.join(", ")
                ))
            })?,
        None => match ours.iter().find(|p| matches(&host, p)) {
            Some(p) => p.clone(),
            None => {
                let first = ours
                    .first()
                    .cloned()
                    .ok_or_else(|| spec("the image index lists no image of this import"))?;
                r.warnings.push(format!(
                    "docker load tags {first} (the first input's image; this machine's {host} is not in the index): --docker-platform chooses another"
                ));
                first
            }
        },
    };
    r.docker_platform = Some(chosen);
    Ok(())
}

/// The warning for zstd layers in an archive, when there are any.
pub(crate) fn zstd_warning(report: &mut Report) {
    let zstd = |i: &ImportReport| {
        i.layers
            .iter()
            .any(|l| l.layer.encoding == crate::compress::LayerEncoding::Zstd)
    };
    let line = "zstd layers: Docker before 23.0 cannot load this archive (archive/tar: invalid tar header); give --compression gzip for it".to_string();
    match report {
        Report::Image(r) if zstd(r) => r.warnings.push(line),
        Report::Index(r) if r.images.iter().any(zstd) => r.warnings.push(line),
        Report::Image(_) | Report::Index(_) => {}
    }
}
