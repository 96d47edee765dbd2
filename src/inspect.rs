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
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::compress::{Compression, LayerEncoding};
use crate::digest::{Blob, Digest};
use crate::error::{Error, Result};
use crate::evidence::{self, Verdict};
use crate::image::Platform;
use crate::layerscan::{LayerScan, over_max_size, scan_layer};
use crate::layout::walk::{self, Doc, Part, Visitor};
use crate::layout::{MAX_INDEX_DEPTH, Reader, Target, bad};
use crate::report::human_size;
use crate::spec::descriptor::Descriptor;
use crate::spec::media_type::{ManifestType, is_image_config, layer_encoding};
use crate::spec::ref_name::validate_tag;
use crate::spec::{self, Judged, Place, config, index, manifest};

/// One layer, as measured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
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
    /// With a `signer` annotation: whether it was re-checked against the
    /// signature evidence stored in the layout (the annotation alone proves
    /// nothing: anyone who can write the layout can write it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// With a `signer` annotation: what the re-check found, one line
    /// (`FILE by FINGERPRINT` when verified, else why not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_check: Option<String>,
}

/// One image manifest of the layout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ImageInfo {
    /// The ref name in `index.json` through which the image was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The image's fully qualified name (`io.containerd.image.name` of
    /// that `index.json` entry), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
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

/// [`inspect`] of what a [`Target`] names: a layout directory, or an
/// oci-archive (read in place, nothing extracted); errors name the
/// archive and its entries.
pub fn inspect_target(target: &Target) -> Result<Vec<ImageInfo>> {
    inspect_target_limited(target, None)
}

/// [`inspect_target`] refusing a layer that decodes to more than `max_size`
/// bytes ([`inspect_limited`]).
pub fn inspect_target_limited(target: &Target, max_size: Option<u64>) -> Result<Vec<ImageInfo>> {
    inspect_reader(&target.reader()?, target.tag(), max_size)
}

/// Describe the images of the layout at `layout`, or only those reached through `tag`.
///
/// An image index is descended into (up to four levels), giving one
/// [`ImageInfo`] per platform. Manifests that are not images (signatures,
/// attestations) are skipped. A layout too damaged to measure (a missing or
/// undecodable blob, a document that does not parse or does not match its
/// descriptor's digest and size) is an error naming the file.
pub fn inspect(layout: &Path, tag: Option<&str>) -> Result<Vec<ImageInfo>> {
    inspect_limited(layout, tag, None)
}

/// [`inspect`], refusing a layer that decodes to more than `max_size` bytes
/// (`--max-size`; `None`: no limit) with an error naming its digest.
pub fn inspect_limited(
    layout: &Path,
    tag: Option<&str>,
    max_size: Option<u64>,
) -> Result<Vec<ImageInfo>> {
    inspect_reader(&Reader::open(layout)?, tag, max_size)
}

/// [`inspect`] of the layout `reader` reads.
fn inspect_reader(
    reader: &Reader,
    tag: Option<&str>,
    max_size: Option<u64>,
) -> Result<Vec<ImageInfo>> {
    if let Some(t) = tag {
        validate_tag(t).map_err(Error::Usage)?;
    }
    // Not judged here (verify does), but a marker that is not a regular
    // file (a FIFO, a link) is refused as verify and import refuse it.
    reader.oci_layout_if_exists()?;
    let index_path = reader.path("index.json");
    let bytes = reader.index_json()?;
    let v = spec::parse_json(&bytes).map_err(|e| bad(&index_path, e))?;
    // Judged as an image index, refused on any problem that leaves it
    // unreadable; ref names, platform names and annotations are listed as
    // they are (`verify` judges them).
    let entries = index::judge(&v)
        .readable()
        .map_err(|e| bad(&index_path, e))?
        .entries;
    let mut ins = Inspector {
        reader,
        layers: HashMap::new(),
        seen: HashSet::new(),
        out: Vec::new(),
        max_size,
        index_entries: match v.get("manifests") {
            Some(Value::Array(m)) => m.clone(),
            _ => Vec::new(),
        },
    };
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
        let reach = Reach {
            tag: name.map(str::to_string),
            name: e.name.clone(),
            via: None,
        };
        walk::follow(&mut ins, &reach, desc)?;
    }
    let out = ins.out;
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
        if let Some(name) = &img.name {
            let _ = writeln!(out, "name:      {name}");
        }
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
            provenance_text(&mut out, l);
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

/// The provenance lines of one layer: where it came from and who signed
/// it, as far as the stored evidence shows.
fn provenance_text(out: &mut String, l: &LayerInfo) {
    let p = &l.provenance;
    if let Some(source) = p.get("source") {
        let _ = writeln!(out, "  source:  {source}");
    }
    if let Some(digest) = p.get("sha256") {
        let _ = writeln!(out, "  input:   {digest}");
    }
    if let Some(check) = &l.signature_check {
        let label = if l.verified == Some(true) {
            "signed: "
        } else {
            "signer: "
        };
        let _ = writeln!(out, "  {label} {check}");
    }
}

/// `verified` and `signature_check` of a layer from its re-check's verdict.
fn signature_check(verdict: Option<&Verdict>) -> (Option<bool>, Option<String>) {
    let (ok, line) = match verdict {
        None => return (None, None),
        Some(Verdict::Checked {
            signer,
            file,
            unchecked,
        }) => {
            let also = unchecked.as_ref().map_or(String::new(), |w| {
                format!(" (another signature cannot be re-checked: {w})")
            });
            (true, format!("{file} by {signer}{also}"))
        }
        Some(Verdict::Unverifiable(why)) => {
            (false, format!("annotation cannot be re-checked: {why}"))
        }
        Some(Verdict::Failed(why)) => (
            false,
            format!("annotation NOT backed by a signature in the layout: {why}"),
        ),
    };
    (Some(ok), Some(line))
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

/// What `inspect` does at each node of the layout's walk.
struct Inspector<'a> {
    reader: &'a Reader,
    /// Layer measurements by digest and declared compression: shared layers are decoded once.
    layers: HashMap<(Digest, Option<Compression>), LayerScan>,
    /// Documents already described, by digest and tag: an index that lists a
    /// child many times (nested) must not multiply the work or the output.
    seen: HashSet<(Digest, Option<String>)>,
    /// The images described so far, in walk order.
    out: Vec<ImageInfo>,
    /// `index.json`'s `manifests` as written: where signature evidence is found.
    index_entries: Vec<Value>,
    /// `--max-size`: the most bytes a layer may decode to.
    max_size: Option<u64>,
}

/// How an image was reached: the tag in `index.json`, the image index.
struct Reach {
    tag: Option<String>,
    name: Option<String>,
    via: Option<Blob>,
}

/// An image being described while its config and layers are visited.
struct Building {
    info: ImageInfo,
    /// The manifest blob, which errors about its descriptors name.
    path: PathBuf,
    /// How many layers the manifest lists; `None` without a `layers` array.
    layer_count: Option<usize>,
    /// The config's DiffIDs as written.
    diff_ids: Vec<Option<String>>,
    /// The re-check of each signed layer's signer annotation, by layer (from 0).
    signatures: BTreeMap<usize, Verdict>,
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

impl Visitor for Inspector<'_> {
    type Scope = Reach;
    /// The first thing that keeps an image from being measured.
    type Stop = Error;
    type Mark = ();
    type Image = Building;

    /// Once per document and tag.
    fn enter(&mut self, scope: &Reach, desc: &Descriptor) -> Result<Option<()>> {
        let key = (desc.digest.clone(), scope.tag.clone());
        Ok(self.seen.insert(key).then_some(()))
    }

    fn leave(&mut self, _: &Reach, _: &Descriptor, (): ()) {}

    /// Read through the digest check: a document edited in place is refused.
    fn document(&mut self, _: &Reach, doc: Doc, desc: &Descriptor) -> Result<Option<Value>> {
        let v = self.reader.json(&desc.blob())?;
        if let Doc::Index { depth } = doc
            && depth >= MAX_INDEX_DEPTH
        {
            return Err(bad(
                &self.reader.blob_path(&desc.digest),
                format!("image indexes nest deeper than {MAX_INDEX_DEPTH} levels"),
            ));
        }
        Ok(Some(v))
    }

    fn index(
        &mut self,
        _: &Reach,
        desc: &Descriptor,
        _: &Value,
        judged: &Judged<index::Index>,
    ) -> Result<()> {
        match &judged.value {
            Some(_) => Ok(()),
            None => Err(bad(
                &self.reader.blob_path(&desc.digest),
                "an image index without a manifests array",
            )),
        }
    }

    fn entry(
        &mut self,
        scope: &Reach,
        desc: &Descriptor,
        judged: &Judged<index::Index>,
        j: usize,
    ) -> Result<Option<Reach>> {
        let child = judged
            .value
            .as_ref()
            .and_then(|i| i.entries.get(j))
            .and_then(|e| e.descriptor.as_ref());
        let why = || judged.reasons_at(&Place::Entry(j));
        let path = self.reader.blob_path(&desc.digest);
        usable(child, &path, "descriptor", why)?;
        Ok(Some(Reach {
            tag: scope.tag.clone(),
            name: scope.name.clone(),
            via: Some(desc.blob()),
        }))
    }

    /// Only images are described: a manifest whose config is not an image
    /// config (a signature, an attestation) is skipped.
    fn manifest(
        &mut self,
        scope: &Reach,
        desc: &Descriptor,
        value: &Value,
        judged: &Judged<manifest::Manifest>,
    ) -> Result<Option<Building>> {
        let path = self.reader.blob_path(&desc.digest);
        let m = match &judged.value {
            Some(m) if m.has_config => m,
            _ => return Err(bad(&path, "manifest has no config")),
        };
        let why = || judged.reasons_at(&Place::Config);
        let config_desc = usable(m.config.as_ref(), &path, "config", why)?;
        if !is_image_config(&config_desc.media_type) {
            return Ok(None);
        }
        let info = ImageInfo {
            tag: scope.tag.clone(),
            name: scope.name.clone(),
            index: scope.via.clone(),
            manifest: desc.blob(),
            media_type: m.kind,
            platform: Platform {
                os: String::new(),
                architecture: String::new(),
                variant: None,
            },
            created: None,
            config: config_desc.blob(),
            annotations: annotations(value),
            layers: Vec::new(),
            warnings: Vec::new(),
        };
        Ok(Some(Building {
            info,
            path,
            layer_count: m.layers.as_ref().map(Vec::len),
            diff_ids: Vec::new(),
            signatures: evidence::recheck(
                self.reader,
                &evidence::evidence_for(&self.index_entries, &desc.digest),
                &desc.digest,
                value,
            )
            .into_iter()
            .collect(),
        }))
    }

    fn config(
        &mut self,
        _: &Reach,
        image: &mut Building,
        desc: &Descriptor,
        judged: Option<Judged<config::Config>>,
    ) -> Result<()> {
        let config = judged.and_then(|j| j.value).unwrap_or_default();
        let Some(layers) = image.layer_count else {
            return Err(bad(&image.path, "manifest has no layers array"));
        };
        if config.diff_ids_written.len() != layers {
            image.info.warnings.push(format!(
                "config {} lists {} DiffIDs for {} layers",
                self.reader.blob_path(&desc.digest).display(),
                config.diff_ids_written.len(),
                layers
            ));
        }
        image.info.platform = Platform {
            os: config.os.unwrap_or_default(),
            architecture: config.architecture.unwrap_or_default(),
            variant: config.variant,
        };
        image.info.created = config.created;
        image.diff_ids = config.diff_ids_written;
        Ok(())
    }

    /// Measure layer `i` (from 0).
    fn layer(
        &mut self,
        _: &Reach,
        image: &mut Building,
        judged: &Judged<manifest::Manifest>,
        i: usize,
        desc: Option<&Descriptor>,
    ) -> Result<()> {
        let Some(m) = &judged.value else {
            return Ok(());
        };
        let n = i + 1;
        let why = || judged.reasons_at(&Place::Layer(i));
        let ld = usable(desc, &image.path, &format!("layer {n}"), why)?;
        let expected = layer_encoding(&ld.media_type, m.kind).map(LayerEncoding::format);
        let scan = self.scan(ld, expected)?;
        let (Some(diff), Some(entries)) = (&scan.diff_id, scan.entries) else {
            // scan() refuses layers that did not decode to a complete tar.
            return Ok(());
        };
        let want = image.diff_ids.get(i).and_then(Option::as_ref);
        let warnings = layer_warnings(n, ld, expected, &scan, diff, want);
        image.info.warnings.extend(warnings);
        let provenance = layer_provenance(&image.info.annotations, i);
        let (verified, signature_check) = signature_check(image.signatures.get(&i));
        image.info.layers.push(LayerInfo {
            media_type: ld.media_type.clone(),
            digest: ld.digest.clone(),
            size: ld.size,
            uncompressed_size: diff.size,
            diff_id: diff.digest.clone(),
            entries,
            provenance,
            verified,
            signature_check,
        });
        Ok(())
    }

    fn image(&mut self, _: &Reach, image: Building) -> Result<()> {
        self.out.push(image.info);
        Ok(())
    }

    /// Blobs that are not documents describe no image.
    fn blob(&mut self, _: &Reach, _: Part, _: &Descriptor) -> Result<()> {
        Ok(())
    }
}

impl Inspector<'_> {
    /// Decode a layer (once per digest), refusing one that is not a complete tar.
    fn scan(&mut self, ld: &Descriptor, expected: Option<Compression>) -> Result<LayerScan> {
        let key = (ld.digest.clone(), expected);
        if let Some(s) = self.layers.get(&key) {
            return Ok(s.clone());
        }
        let path = self.reader.blob_path(&ld.digest);
        let scan = scan_layer(self.reader, &ld.digest, expected, self.max_size)?;
        if let Some(limit) = scan.over_max_size {
            let why = format!("layer {} {}", ld.digest, over_max_size(limit));
            return Err(bad(path.as_path(), why));
        }
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
    use std::fs;

    #[test]
    fn text_lists_every_pinnable_fact() {
        let img = ImageInfo {
            tag: Some("latest".into()),
            name: Some("docker.io/library/x:latest".into()),
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
                verified: Some(true),
                signature_check: Some("SHA256SUMS by ABCD".into()),
            }],
            annotations: BTreeMap::from([("org.example.a".into(), "b".into())]),
            warnings: vec![],
        };
        let t = text(std::slice::from_ref(&img));
        for want in [
            "tag:       latest\nname:      docker.io/library/x:latest\n",
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

    /// A config edited in place (platform and created changed, digest not)
    /// is refused, naming the blob, where it used to be shown as it is;
    /// a manifest off by its size likewise.
    #[test]
    fn a_document_that_does_not_match_its_descriptor_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("img");
        let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rootfs.tar");
        let inputs = [crate::InputSource::from_arg(input.to_str().unwrap())];
        crate::import(&inputs, &crate::ImportOptions::new(&out)).unwrap();
        let images = inspect(&out, Some("latest")).unwrap();
        assert_eq!(images.len(), 1);

        let config = images[0].config.digest.blob_path(&out);
        let mut v: Value = serde_json::from_slice(&fs::read(&config).unwrap()).unwrap();
        v["architecture"] = "s390x".into();
        v["created"] = "2001-01-01T00:00:00Z".into();
        fs::write(&config, serde_json::to_vec(&v).unwrap()).unwrap();
        let e = inspect(&out, None).unwrap_err();
        assert!(
            matches!(&e, Error::DigestMismatch { path, .. } if *path == config),
            "{e}"
        );
        assert!(e.to_string().contains("run ociimport verify"), "{e}");

        // The manifest's descriptor in index.json off by one byte.
        let index = out.join("index.json");
        let mut v: Value = serde_json::from_slice(&fs::read(&index).unwrap()).unwrap();
        let size = v["manifests"][0]["size"].as_u64().unwrap();
        v["manifests"][0]["size"] = (size + 1).into();
        fs::write(&index, serde_json::to_vec(&v).unwrap()).unwrap();
        let e = inspect(&out, None).unwrap_err().to_string();
        let manifest = images[0].manifest.digest.blob_path(&out);
        assert!(e.starts_with(&manifest.display().to_string()), "{e}");
        assert!(
            e.contains(&format!(
                "has {size} bytes where its descriptor says {}",
                size + 1
            )),
            "{e}"
        );
    }
}
