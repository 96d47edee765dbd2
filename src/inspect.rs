//! `ociimport inspect`: what a user wants to pin or compare about the images
//! in a layout: tag, manifest digest, platform, created time, and per layer
//! its media type, digest, compressed and uncompressed size, DiffID and
//! entry count.
//!
//! The uncompressed size, DiffID and entry count are measured by decoding
//! each layer, streaming (the same single pass as `verify`), not copied from
//! the config: they describe the bytes that are really there. Where the
//! config or the descriptors disagree with what was measured, the image gets
//! a warning; `verify` explains in detail.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::compress::Compression;
use crate::digest::{Blob, Digest};
use crate::error::{Error, IoContext, Result};
use crate::image::Platform;
use crate::layerscan::{LayerScan, scan_layer};
use crate::layout::read_small;
use crate::report::human_size;
use crate::spec::descriptor::Descriptor;
use crate::spec::media_type::{
    DocKind, ManifestType, doc_kind, is_image_config, layer_compression,
};
use crate::spec::ref_name::validate_tag;
use crate::spec::{self, Judged, Place, config, index, manifest};
use crate::verify::{MAX_INDEX_DEPTH, MAX_INDEX_JSON, MAX_JSON_BLOB};

/// One layer, as measured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LayerInfo {
    /// Media type from the manifest.
    pub media_type: String,
    /// Blob digest from the manifest.
    pub digest: Digest,
    /// Blob size in bytes (compressed).
    pub size: u64,
    /// Bytes of the decompressed tar stream.
    pub uncompressed_size: u64,
    /// sha256 of the decompressed tar stream.
    pub diff_id: Digest,
    /// Tar entries (PAX/GNU metadata records not counted).
    pub entries: u64,
    /// Where the layer came from, from the manifest's
    /// `io.github.ociimport.layer.N.*` annotations: `source`, `sha256`,
    /// `signer`, `signed-file` (empty for layers not made by ociimport).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub provenance: BTreeMap<String, String>,
}

/// One image manifest of the layout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageInfo {
    /// The ref name in `index.json` through which the image was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The image index this manifest was reached through (multi-platform images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<Blob>,
    /// The manifest blob.
    pub manifest: Blob,
    /// The manifest's media type.
    pub media_type: ManifestType,
    /// The platform the config names.
    pub platform: Platform,
    /// The config's `created` time, if set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The config blob.
    pub config: Blob,
    /// The manifest's annotations (the provenance ones included).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Layers, base first.
    pub layers: Vec<LayerInfo>,
    /// Disagreements found while measuring (run `verify` for all checks).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Describe the images of the layout at `layout`, or only those reached through `tag`.
///
/// An image index is descended into (up to [`MAX_INDEX_DEPTH`] levels), giving
/// one [`ImageInfo`] per platform. Manifests that are not images (signatures,
/// attestations) are skipped. A layout too damaged to measure (a missing or
/// undecodable blob, a document that does not parse) is an error naming the file.
pub fn inspect(layout: &Path, tag: Option<&str>) -> Result<Vec<ImageInfo>> {
    let meta = fs::metadata(layout).at(layout)?;
    if !meta.is_dir() {
        return Err(Error::BadLayout {
            path: layout.to_path_buf(),
            reason: "not a directory, so not an OCI image layout".into(),
        });
    }
    if let Some(t) = tag {
        validate_tag(t).map_err(Error::Usage)?;
    }
    let index_path = layout.join("index.json");
    let bytes = read_small(&index_path, MAX_INDEX_JSON)?;
    let v = spec::parse_json(&bytes).map_err(|e| bad(&index_path, e))?;
    // Judged as an image index, refused on any problem; ref names are
    // listed as they are (`verify` judges them).
    let entries = index::judge(&v)
        .strict()
        .map_err(|e| bad(&index_path, e))?
        .entries;
    let mut ins = Inspector {
        root: layout,
        layers: HashMap::new(),
        seen: HashSet::new(),
    };
    let mut out = Vec::new();
    let mut found = false;
    for e in &entries {
        let name = e.ref_name.as_deref();
        if tag.is_some() && name != tag {
            continue;
        }
        found = true;
        let desc = usable(
            e.descriptor.as_ref(),
            &index_path,
            "descriptor",
            String::new,
        )?;
        ins.collect(desc, name, None, 0, &mut out)?;
    }
    if let Some(t) = tag
        && (!found || out.is_empty())
    {
        let tags: Vec<&str> = entries
            .iter()
            .filter_map(|e| e.ref_name.as_deref())
            .take(20)
            .collect();
        let reason = if found {
            format!("tag {t:?} names no image manifest")
        } else {
            format!("no manifest is tagged {t:?} (tags: {})", tags.join(", "))
        };
        return Err(Error::BadLayout {
            path: index_path,
            reason,
        });
    }
    Ok(out)
}

/// Human-readable rendering of [`inspect`]'s result.
pub fn text(images: &[ImageInfo]) -> String {
    let mut out = String::new();
    for (n, img) in images.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let tag = img.tag.as_deref().unwrap_or("(untagged)");
        let _ = writeln!(out, "tag:       {tag}");
        if let Some(i) = &img.index {
            let _ = writeln!(out, "index:     {} ({} bytes)", i.digest, i.size);
        }
        let _ = writeln!(
            out,
            "manifest:  {} ({} bytes, {})",
            img.manifest.digest, img.manifest.size, img.media_type
        );
        let _ = writeln!(out, "platform:  {}", img.platform);
        let _ = writeln!(
            out,
            "created:   {}",
            img.created.as_deref().unwrap_or("(not set)")
        );
        let _ = writeln!(
            out,
            "config:    {} ({} bytes)",
            img.config.digest, img.config.size
        );
        if img.layers.is_empty() {
            let _ = writeln!(out, "layers:    none");
        }
        for (i, l) in img.layers.iter().enumerate() {
            let _ = writeln!(out, "layer {}:   {}", i + 1, l.media_type);
            let _ = writeln!(out, "  digest:  {}", l.digest);
            let _ = writeln!(
                out,
                "  size:    {} compressed ({} bytes), {} uncompressed ({} bytes)",
                human_size(l.size),
                l.size,
                human_size(l.uncompressed_size),
                l.uncompressed_size
            );
            let _ = writeln!(out, "  diff_id: {}", l.diff_id);
            let _ = writeln!(out, "  entries: {}", l.entries);
            provenance_text(&mut out, &l.provenance);
        }
        // The provenance ones were shown with their layers.
        let others = img
            .annotations
            .iter()
            .filter(|(k, _)| !k.starts_with(crate::import::ANNOTATION_PREFIX));
        for (k, v) in others {
            let _ = writeln!(out, "annotation: {k}={v}");
        }
        for w in &img.warnings {
            let _ = writeln!(out, "warning:   {w}");
        }
    }
    out
}

/// The provenance lines of one layer: where it came from and who signed it.
fn provenance_text(out: &mut String, p: &BTreeMap<String, String>) {
    if let Some(source) = p.get("source") {
        let _ = writeln!(out, "  source:  {source}");
    }
    if let Some(digest) = p.get("sha256") {
        let _ = writeln!(out, "  input:   {digest}");
    }
    if let Some(signer) = p.get("signer") {
        let file = p.get("signed-file").map(String::as_str).unwrap_or("?");
        let _ = writeln!(out, "  signed:  {file} by {signer}");
    }
}

/// The manifest's string annotations.
fn annotations(m: &Value) -> BTreeMap<String, String> {
    m.get("annotations")
        .and_then(Value::as_object)
        .map(|a| {
            a.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Layer `index`'s `io.github.ociimport.layer.N.*` annotations, by their last part.
fn layer_provenance(
    annotations: &BTreeMap<String, String>,
    index: usize,
) -> BTreeMap<String, String> {
    let prefix = crate::import::layer_annotation(index, "");
    annotations
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v.clone())))
        .collect()
}

struct Inspector<'a> {
    root: &'a Path,
    /// Layer measurements by digest and declared compression: shared layers are decoded once.
    layers: HashMap<(Digest, Option<Compression>), LayerScan>,
    /// Documents already described, by digest and tag: an index that lists a
    /// child many times (nested) must not multiply the work or the output.
    seen: HashSet<(Digest, Option<String>)>,
}

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::BadLayout {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// A usable descriptor, or an error naming the document `from` that holds
/// it, `what` it is and `why` it cannot be used.
fn usable<'d>(
    d: Option<&'d Descriptor>,
    from: &Path,
    what: &str,
    why: impl FnOnce() -> String,
) -> Result<&'d Descriptor> {
    d.ok_or_else(|| bad(from, format!("{what}: {}", why())))
}

/// What a layer's measurement says against its descriptor and the config.
fn layer_warnings(
    n: usize,
    ld: &Descriptor,
    expected: Option<Compression>,
    scan: &LayerScan,
    diff: &Blob,
    want: Option<&String>,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if scan.blob.digest != ld.digest {
        warnings.push(format!("layer {n}: blob content does not match its digest"));
    }
    if scan.blob.size != ld.size {
        warnings.push(format!(
            "layer {n}: descriptor says {} bytes, the blob has {}",
            ld.size, scan.blob.size
        ));
    }
    match (expected, scan.detected) {
        (None, _) => warnings.push(format!(
            "layer {n}: {:?} is not a layer media type",
            ld.media_type
        )),
        (Some(e), Some(d)) if e != d => warnings.push(format!(
            "layer {n}: media type {:?} does not match the blob, which is {d} data",
            ld.media_type
        )),
        _ => {}
    }
    if let Some(want) = want
        && diff.digest.as_str() != want
    {
        warnings.push(format!(
            "layer {n}: the config's DiffID is {want}, the layer hashes to {}",
            diff.digest
        ));
    }
    warnings
}

impl Inspector<'_> {
    fn json(&self, desc: &Descriptor) -> Result<(PathBuf, Value)> {
        let path = desc.digest.blob_path(self.root);
        let bytes = read_small(&path, MAX_JSON_BLOB)?;
        let v = spec::parse_json(&bytes).map_err(|e| bad(&path, e))?;
        Ok((path, v))
    }

    fn collect(
        &mut self,
        desc: &Descriptor,
        tag: Option<&str>,
        via: Option<Blob>,
        depth: usize,
        out: &mut Vec<ImageInfo>,
    ) -> Result<()> {
        if !self
            .seen
            .insert((desc.digest.clone(), tag.map(str::to_string)))
        {
            return Ok(());
        }
        match doc_kind(&desc.media_type) {
            DocKind::Manifest(kind) => {
                if let Some(info) = self.image(desc, tag, via, kind)? {
                    out.push(info);
                }
            }
            DocKind::Index => self.index(desc, tag, depth, out)?,
            // Not an image: nothing to describe.
            DocKind::Other => {}
        }
        Ok(())
    }

    /// The images of a nested image index.
    fn index(
        &mut self,
        desc: &Descriptor,
        tag: Option<&str>,
        depth: usize,
        out: &mut Vec<ImageInfo>,
    ) -> Result<()> {
        let (path, v) = self.json(desc)?;
        if depth >= MAX_INDEX_DEPTH {
            return Err(bad(
                &path,
                format!("image indexes nest deeper than {MAX_INDEX_DEPTH} levels"),
            ));
        }
        let judged = index::judge(&v);
        let Some(idx) = &judged.value else {
            return Err(bad(&path, "an image index without a manifests array"));
        };
        let here = desc.blob();
        for (j, c) in idx.entries.iter().enumerate() {
            let why = || judged.reasons_at(&Place::Entry(j));
            let child = usable(c.descriptor.as_ref(), &path, "descriptor", why)?;
            self.collect(child, tag, Some(here.clone()), depth + 1, out)?;
        }
        Ok(())
    }

    fn image(
        &mut self,
        desc: &Descriptor,
        tag: Option<&str>,
        via: Option<Blob>,
        kind: ManifestType,
    ) -> Result<Option<ImageInfo>> {
        let (path, v) = self.json(desc)?;
        let judged = manifest::judge(&v, kind);
        let m = match &judged.value {
            Some(m) if m.has_config => m,
            _ => return Err(bad(&path, "manifest has no config")),
        };
        let why = || judged.reasons_at(&Place::Config);
        let config_desc = usable(m.config.as_ref(), &path, "config", why)?;
        if !is_image_config(&config_desc.media_type) {
            return Ok(None);
        }
        let (config_path, cv) = self.json(config_desc)?;
        let count = m.layers.as_ref().map_or(0, Vec::len);
        let config = config::judge(&cv, count).value.unwrap_or_default();
        let Some(layer_descs) = &m.layers else {
            return Err(bad(&path, "manifest has no layers array"));
        };
        let mut warnings = Vec::new();
        let annotations = annotations(&v);
        if config.diff_ids_written.len() != layer_descs.len() {
            warnings.push(format!(
                "config {} lists {} DiffIDs for {} layers",
                config_path.display(),
                config.diff_ids_written.len(),
                layer_descs.len()
            ));
        }
        let layers = self.measure(&path, &judged, &config, &annotations, &mut warnings)?;
        Ok(Some(ImageInfo {
            tag: tag.map(str::to_string),
            index: via,
            manifest: desc.blob(),
            media_type: kind,
            platform: Platform {
                os: config.os.unwrap_or_default(),
                architecture: config.architecture.unwrap_or_default(),
                variant: config.variant,
            },
            created: config.created,
            config: config_desc.blob(),
            annotations,
            layers,
            warnings,
        }))
    }

    /// Measure the layers of the manifest at `path`.
    fn measure(
        &mut self,
        path: &Path,
        judged: &Judged<manifest::Manifest>,
        config: &config::Config,
        annotations: &BTreeMap<String, String>,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<LayerInfo>> {
        let Some(m) = &judged.value else {
            return Ok(Vec::new());
        };
        let mut layers = Vec::new();
        for (i, l) in m.layers.iter().flatten().enumerate() {
            let n = i + 1;
            let why = || judged.reasons_at(&Place::Layer(i));
            let ld = usable(l.as_ref(), path, &format!("layer {n}"), why)?;
            let expected = layer_compression(&ld.media_type, m.kind);
            let scan = self.scan(ld, expected)?;
            let (Some(diff), Some(entries)) = (&scan.diff_id, scan.entries) else {
                // scan() refuses layers that did not decode to a complete tar.
                continue;
            };
            let want = config.diff_ids_written.get(i).and_then(Option::as_ref);
            warnings.extend(layer_warnings(n, ld, expected, &scan, diff, want));
            layers.push(LayerInfo {
                media_type: ld.media_type.clone(),
                digest: ld.digest.clone(),
                size: ld.size,
                uncompressed_size: diff.size,
                diff_id: diff.digest.clone(),
                entries,
                provenance: layer_provenance(annotations, i),
            });
        }
        Ok(layers)
    }

    /// Decode a layer (once per digest), refusing one that is not a complete tar.
    fn scan(&mut self, ld: &Descriptor, expected: Option<Compression>) -> Result<LayerScan> {
        let key = (ld.digest.clone(), expected);
        if let Some(s) = self.layers.get(&key) {
            return Ok(s.clone());
        }
        let path = ld.digest.blob_path(self.root);
        let scan = scan_layer(&path, expected)?;
        if scan.diff_id.is_none() || scan.entries.is_none() {
            let why = if scan.problems.is_empty() {
                format!("not {} data", expected.map_or("recognisable", |c| c.name()))
            } else {
                scan.problems.join("; ")
            };
            return Err(bad(
                path.as_path(),
                format!("{why} (run `ociimport verify` for every check)"),
            ));
        }
        self.layers.insert(key, scan.clone());
        Ok(scan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lists_every_pinnable_fact() {
        let img = ImageInfo {
            tag: Some("latest".into()),
            index: None,
            manifest: Blob {
                digest: Digest("sha256:m".into()),
                size: 400,
            },
            media_type: ManifestType::Oci,
            platform: Platform {
                os: "linux".into(),
                architecture: "arm64".into(),
                variant: Some("v8".into()),
            },
            created: Some("1970-01-01T00:00:00Z".into()),
            config: Blob {
                digest: Digest("sha256:c".into()),
                size: 300,
            },
            layers: vec![LayerInfo {
                media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
                digest: Digest("sha256:l".into()),
                size: 2048,
                uncompressed_size: 10240,
                diff_id: Digest("sha256:d".into()),
                entries: 7,
                provenance: BTreeMap::from([
                    ("source".into(), "rootfs.tar".into()),
                    ("sha256".into(), "sha256:i".into()),
                    ("signer".into(), "ABCD".into()),
                    ("signed-file".into(), "SHA256SUMS".into()),
                ]),
            }],
            annotations: BTreeMap::from([("org.example.a".into(), "b".into())]),
            warnings: vec![],
        };
        let t = text(std::slice::from_ref(&img));
        for want in [
            "tag:       latest\n",
            "manifest:  sha256:m (400 bytes, application/vnd.oci.image.manifest.v1+json)\n",
            "platform:  linux/arm64/v8\n",
            "created:   1970-01-01T00:00:00Z\n",
            "layer 1:   application/vnd.oci.image.layer.v1.tar+gzip\n",
            "(2048 bytes)",
            "(10240 bytes)",
            "  diff_id: sha256:d\n",
            "  entries: 7\n",
            "  source:  rootfs.tar\n",
            "  input:   sha256:i\n",
            "  signed:  SHA256SUMS by ABCD\n",
            "annotation: org.example.a=b\n",
        ] {
            assert!(t.contains(want), "{want:?} not in\n{t}");
        }
        let v = serde_json::to_value(&img).unwrap();
        assert_eq!(v["layers"][0]["uncompressed_size"], 10240);
        assert_eq!(v["platform"]["variant"], "v8");
        assert!(v.get("index").is_none());
        assert_eq!(v["layers"][0]["provenance"]["signer"], "ABCD");
    }

    #[test]
    fn missing_layout_and_unknown_tag_are_errors_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let e = inspect(&missing, None).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
        fs::write(
            dir.path().join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        fs::write(
            dir.path().join("index.json"),
            br#"{"schemaVersion":2,"manifests":[]}"#,
        )
        .unwrap();
        let e = inspect(dir.path(), Some("v1")).unwrap_err();
        assert!(
            e.to_string()
                .contains("index.json: no manifest is tagged \"v1\""),
            "{e}"
        );
        assert!(inspect(dir.path(), None).unwrap().is_empty());
    }
}
