//! `--index`: each input its own single-layer image, for the platform found
//! in it, and the tag naming an OCI image index of them.
//!
//! The same guarantees as a single image: every input is read and verified,
//! and two inputs of one platform are refused, before anything is
//! published. The index is then built under the layout lock from what the
//! tag names at that moment (an index: its other platforms are kept; a
//! single manifest: it becomes an entry), so concurrent runs adding
//! platforms to one tag never lose each other's.

use std::path::Path;

use oci_spec::image::{ImageIndexBuilder, MediaType};
use serde::Serialize;
use serde_json::Value;

use super::{
    Checks, ImportOptions, InputSource, ReadLayer, assemble_image, check_request, decide_platform,
    image_config, provenance,
};
use crate::digest::{Blob, Digest};
use crate::error::{Error, Result};
use crate::image::{self, Platform};
use crate::layout::{Layout, PendingBlob, read_small};
use crate::platform::PlatformTally;
use crate::report::{ImportReport, OutputFormat, human_size};
use crate::spec::descriptor;
use crate::spec::media_type::{DocKind, OCI_MANIFEST, doc_kind};
use crate::spec::platform::{PlatformKey, platform_label};
use crate::spec::ref_name::REF_NAME;
use crate::verify::MAX_JSON_BLOB;

/// What an `--index` import wrote.
#[derive(Clone, Debug, Serialize)]
pub struct IndexReport {
    /// The layout directory (or the archive file, `-` for stdout).
    pub layout: String,
    /// A layout directory or an archive.
    pub format: OutputFormat,
    /// The ref name of the image index.
    pub tag: String,
    /// The image index blob `tag` names now.
    pub index: Blob,
    /// Every platform the index lists, in its order (`os/arch[/variant]`):
    /// this run's and those kept from the index `tag` named before.
    pub platforms: Vec<String>,
    /// This run's images, one per input, in input order; each is the
    /// report a single-image import gives.
    pub images: Vec<ImportReport>,
}

impl IndexReport {
    /// The short human summary printed on stderr.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "imported {} image(s) into {} as {} (image index of {})\n",
            self.images.len(),
            self.layout,
            self.tag,
            self.platforms.join(", ")
        );
        out.push_str(&format!(
            "  index     {} ({})\n",
            self.index.digest,
            human_size(self.index.size)
        ));
        for img in &self.images {
            let input = img.layers.first().map_or("", |l| l.input.name.as_str());
            out.push_str(&format!(
                "  image     {} {} (from {input}, created {})\n",
                img.manifest.digest, img.platform, img.created
            ));
        }
        if self.format == OutputFormat::Oci {
            let arch = self
                .images
                .first()
                .map_or("amd64", |i| i.platform.architecture.as_str());
            let inputs: Vec<&str> = self
                .images
                .iter()
                .flat_map(|i| i.layers.iter().map(|l| l.input.name.as_str()))
                .collect();
            let hints = crate::report::hints::for_index(&self.layout, &self.tag, arch, &inputs);
            for (i, h) in hints.iter().enumerate() {
                out.push_str(if i == 0 {
                    "  use it:   "
                } else {
                    "\n            "
                });
                out.push_str(h);
            }
        }
        out
    }
}

/// Import each of `inputs` as its own single-layer image into the layout
/// `opts.output`, and name an image index of them (merged with what
/// `opts.tag` names already) `opts.tag`.
///
/// `--arch`/`--variant` apply only when there is one input. Two inputs of
/// one platform are [`Error::Usage`], naming both. On any error the layout
/// is left as it was.
pub fn import_index(inputs: &[InputSource], opts: &ImportOptions) -> Result<IndexReport> {
    check_request(inputs, opts)?;
    if inputs.len() > 1 && (opts.arch.is_some() || opts.variant.is_some()) {
        return Err(Error::Usage(
            "--arch and --variant apply to a single input with --index; with several, each input's platform is detected from its ELF files (import one at a time with --index to set it)".into(),
        ));
    }
    let config = image_config(opts)?;
    let checks = Checks {
        sums: provenance::checked_sums(opts, inputs)?,
        signatures: provenance::input_signatures(inputs, opts)?,
    };
    let layout = Layout::open_or_create(&opts.output)?;
    match index_into(&layout, inputs, opts, &config, &checks) {
        Ok(r) => Ok(r),
        Err(e) => {
            layout.abandon();
            Err(e)
        }
    }
}

/// One input, read, with the platform it is for.
struct PlatformLayer {
    input: String,
    layer: ReadLayer,
    platform: Platform,
    warnings: Vec<String>,
}

fn index_into(
    layout: &Layout,
    inputs: &[InputSource],
    opts: &ImportOptions,
    config: &oci_spec::image::Config,
    checks: &Checks<'_>,
) -> Result<IndexReport> {
    let read = read_inputs(layout, inputs, opts, checks)?;
    if let Some(p) = &opts.progress {
        p.set_phase("publishing".into());
    }
    let mut images = Vec::new();
    let mut blobs = Vec::new();
    for r in read {
        let (report, b) = assemble_image(
            layout,
            opts,
            vec![r.layer],
            r.platform,
            config.clone(),
            r.warnings,
        )?;
        images.push(report);
        blobs.extend(b);
    }
    let (index, platforms) = publish_index(layout, &opts.tag, &images, blobs)?;
    Ok(IndexReport {
        layout: opts.output.display().to_string(),
        format: OutputFormat::Oci,
        tag: opts.tag.clone(),
        index,
        platforms,
        images,
    })
}

/// Read and verify every input, each with its own platform; a second
/// input of a platform is refused as soon as it is known.
fn read_inputs(
    layout: &Layout,
    inputs: &[InputSource],
    opts: &ImportOptions,
    checks: &Checks<'_>,
) -> Result<Vec<PlatformLayer>> {
    let mut read: Vec<PlatformLayer> = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        // Each input is its own image: its files alone decide its platform.
        let mut tally = PlatformTally::new();
        let layer = checks.read_input(layout, (i, input), inputs.len(), opts, &mut tally)?;
        let mut warnings = checks.warnings();
        let platform = decide_platform(opts, &tally, &mut warnings);
        refuse_duplicate(&read, &input.display(), &platform)?;
        read.push(PlatformLayer {
            input: input.display(),
            layer,
            platform,
            warnings,
        });
    }
    Ok(read)
}

/// Publish every blob, then, under the layout lock, the image index of
/// `images` merged with what `tag` names, named `tag`. Returns the index
/// blob and its platforms.
fn publish_index(
    layout: &Layout,
    tag: &str,
    images: &[ImportReport],
    blobs: Vec<PendingBlob>,
) -> Result<(Blob, Vec<String>)> {
    let new: Vec<Value> = images
        .iter()
        .map(|r| manifest_descriptor(&r.manifest, &r.platform))
        .collect();
    // Refuse what the tag names now before any blob moves; the merge that
    // counts is the one under the lock.
    build_index(layout.root(), layout.tagged_descriptor(tag)?.as_ref(), &new)?;
    let mut written = None;
    layout
        .publish(blobs)?
        .add_to_index_with(tag, |l, current| {
            let (bytes, platforms) = build_index(l.root(), current, &new)?;
            let blob = l.write_blob(&bytes)?;
            let desc = index_descriptor(&blob, tag)?;
            written = Some((blob, platforms));
            Ok(desc)
        })?;
    written.ok_or_else(|| Error::Spec {
        what: "image index",
        reason: "the index was not written".into(),
    })
}

/// Two inputs of one platform cannot both be in the index: usage, naming both.
fn refuse_duplicate(read: &[PlatformLayer], input: &str, platform: &Platform) -> Result<()> {
    let key = platform.key();
    match read.iter().find(|r| r.platform.key() == key) {
        Some(other) => Err(Error::Usage(format!(
            "{} and {input} are both {platform}: an image index holds one image per platform; leave one out, or import it under another tag",
            other.input
        ))),
        None => Ok(()),
    }
}

/// The key of a descriptor's `platform`, if it has one.
fn descriptor_key(d: &Value) -> Option<PlatformKey> {
    Platform::of_descriptor(d).map(|p| p.key())
}

/// A manifest's descriptor in the image index: media type, digest, size, platform.
fn manifest_descriptor(manifest: &Blob, platform: &Platform) -> Value {
    let mut d = serde_json::json!({
        "mediaType": OCI_MANIFEST,
        "digest": manifest.digest.as_str(),
        "size": manifest.size,
        "platform": {"os": platform.os, "architecture": platform.architecture},
    });
    if let Some(v) = &platform.variant {
        d["platform"]["variant"] = Value::from(v.as_str());
    }
    d
}

/// The image index's descriptor in `index.json`, named `tag`.
fn index_descriptor(index: &Blob, tag: &str) -> Result<Value> {
    let mut d = oci_spec::image::Descriptor::new(
        MediaType::ImageIndex,
        index.size,
        spec_digest(&index.digest)?,
    );
    d.set_annotations(Some(
        [(REF_NAME.to_string(), tag.to_string())]
            .into_iter()
            .collect(),
    ));
    serde_json::to_value(&d).map_err(|e| Error::Spec {
        what: "index descriptor",
        reason: e.to_string(),
    })
}

fn spec_digest(d: &Digest) -> Result<oci_spec::image::Digest> {
    d.as_str()
        .parse()
        .map_err(|e: oci_spec::OciSpecError| Error::Spec {
            what: "a digest",
            reason: e.to_string(),
        })
}

/// The image index bytes (canonical JSON) and its platforms: `new` plus
/// every entry of what `current` names (in the layout at `root`) whose
/// platform no new image has, sorted by os, architecture, variant (entries
/// without a platform last, as they were).
fn build_index(
    root: &Path,
    current: Option<&Value>,
    new: &[Value],
) -> Result<(Vec<u8>, Vec<String>)> {
    let (kept, annotations) = match current {
        Some(d) => existing_entries(root, d)?,
        None => (Vec::new(), None),
    };
    let new_keys: Vec<_> = new.iter().filter_map(descriptor_key).collect();
    let mut entries: Vec<Value> = kept
        .into_iter()
        .filter(|d| descriptor_key(d).is_none_or(|k| !new_keys.contains(&k)))
        .chain(new.iter().cloned())
        .collect();
    entries.sort_by_key(|d| (descriptor_key(d).is_none(), descriptor_key(d)));
    let platforms = entries.iter().filter_map(platform_label).collect();
    let manifests = entries
        .into_iter()
        .map(serde_json::from_value::<oci_spec::image::Descriptor>)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Spec {
            what: "image index",
            reason: format!("an entry of the existing index is not a descriptor: {e}"),
        })?;
    let mut b = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(manifests);
    if let Some(a) = annotations {
        b = b.annotations(a);
    }
    let index = b.build().map_err(|e| Error::Spec {
        what: "image index",
        reason: e.to_string(),
    })?;
    Ok((image::canonical_json(&index, "image index")?, platforms))
}

/// The string annotations of an index, kept when it is rebuilt.
type Annotations = std::collections::HashMap<String, String>;

/// The entries what `index.json` names the tag already contributes: an
/// index's manifests (and its annotations), or one manifest, with its
/// platform from the descriptor or else from its config.
fn existing_entries(root: &Path, d: &Value) -> Result<(Vec<Value>, Option<Annotations>)> {
    let index_json = root.join("index.json");
    let desc = descriptor::judge(d)
        .strict()
        .map_err(|reason| bad(&index_json, format!("the tagged descriptor: {reason}")))?;
    match doc_kind(&desc.media_type) {
        DocKind::Index => {
            let v = read_json(root, &desc.blob())?;
            let manifests = v
                .get("manifests")
                .and_then(Value::as_array)
                .cloned()
                .ok_or_else(|| {
                    bad(
                        &desc.digest.blob_path(root),
                        "has no manifests array".into(),
                    )
                })?;
            let annotations = v
                .get("annotations")
                .and_then(|a| serde_json::from_value(a.clone()).ok());
            Ok((manifests, annotations))
        }
        DocKind::Manifest(_) => {
            let mut entry = serde_json::json!({
                "mediaType": desc.media_type,
                "digest": desc.digest.as_str(),
                "size": desc.size,
            });
            entry["platform"] = match d.get("platform") {
                Some(p) => p.clone(),
                None => config_platform(root, &desc.blob())?,
            };
            Ok((vec![entry], None))
        }
        DocKind::Other => Err(bad(
            &index_json,
            format!(
                "the tag names a {} ({}), neither an image nor an image index; choose another --tag",
                desc.media_type, desc.digest
            ),
        )),
    }
}

/// The platform a manifest's config names, as a descriptor's `platform`.
fn config_platform(root: &Path, manifest: &Blob) -> Result<Value> {
    let m = read_json(root, manifest)?;
    let path = manifest.digest.blob_path(root);
    let config = m
        .get("config")
        .map(descriptor::judge)
        .and_then(|j| j.strict().ok())
        .ok_or_else(|| bad(&path, "has no usable config descriptor".into()))?;
    let c = read_json(root, &config.blob())?;
    let s = |k: &str| c.get(k).and_then(Value::as_str);
    let (Some(os), Some(arch)) = (s("os"), s("architecture")) else {
        return Err(bad(
            &config.digest.blob_path(root),
            "the config names no os and architecture, so the image cannot join an index by platform; re-import it or use another --tag".into(),
        ));
    };
    let mut p = serde_json::json!({"os": os, "architecture": arch});
    if let Some(v) = s("variant") {
        p["variant"] = Value::from(v);
    }
    Ok(p)
}

/// A JSON blob of the layout, checked against its digest.
fn read_json(root: &Path, blob: &Blob) -> Result<Value> {
    let path = blob.digest.blob_path(root);
    let bytes = read_small(&path, MAX_JSON_BLOB)?;
    let found = crate::hashing::sha256_of(&bytes);
    if found != blob.digest {
        return Err(Error::DigestMismatch {
            path,
            expected: blob.digest.clone(),
            found,
        });
    }
    if bytes.len() as u64 != blob.size {
        return Err(bad(
            &path,
            format!(
                "has {} bytes where its descriptor says {}; run ociimport verify on the layout",
                bytes.len(),
                blob.size
            ),
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| bad(&path, format!("not valid JSON: {e}")))
}

fn bad(path: &Path, reason: String) -> Error {
    Error::BadLayout {
        path: path.to_path_buf(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::media_type::OCI_INDEX;

    fn plat(arch: &str, variant: Option<&str>) -> Platform {
        Platform {
            os: "linux".into(),
            architecture: arch.into(),
            variant: variant.map(str::to_string),
        }
    }

    fn blob(c: char) -> Blob {
        Blob {
            digest: Digest::parse(&format!("sha256:{}", c.to_string().repeat(64))).unwrap(),
            size: 7,
        }
    }

    #[test]
    fn new_index_is_sorted_by_platform_and_canonical() {
        let dir = tempfile::tempdir().unwrap();
        let new = [
            manifest_descriptor(&blob('a'), &plat("riscv64", None)),
            manifest_descriptor(&blob('b'), &plat("amd64", None)),
            manifest_descriptor(&blob('c'), &plat("arm64", Some("v8"))),
        ];
        let (bytes, platforms) = build_index(dir.path(), None, &new).unwrap();
        assert_eq!(
            platforms,
            ["linux/amd64", "linux/arm64/v8", "linux/riscv64"]
        );
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["mediaType"], OCI_INDEX);
        assert_eq!(v["manifests"][1]["platform"]["variant"], "v8");
        let (again, _) = build_index(dir.path(), None, &new).unwrap();
        assert_eq!(bytes, again);
    }

    #[test]
    fn duplicates_name_both_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open_or_create(dir.path()).unwrap();
        let layer = ReadLayer {
            report: crate::report::LayerReport {
                input: crate::report::InputReport {
                    name: "a.tar".into(),
                    compression: crate::compress::Compression::None,
                    blob: blob('a'),
                },
                layer: crate::image::Layer {
                    compression: crate::compress::Compression::Gzip,
                    blob: blob('a'),
                    diff_id: blob('b'),
                },
                entries: 1,
                passthrough: false,
                checksums_verified: Vec::new(),
                signatures_verified: Vec::new(),
                source: "a.tar".into(),
                warnings: Vec::new(),
                notes: Vec::new(),
            },
            blob: layout.blob_from_bytes(b"x").unwrap(),
            base_name: "a.tar".into(),
            newest_mtime: None,
        };
        let read = [PlatformLayer {
            input: "a.tar".into(),
            layer,
            platform: plat("arm64", Some("v8")),
            warnings: Vec::new(),
        }];
        let e = refuse_duplicate(&read, "b.tar", &plat("arm64", None)).unwrap_err();
        assert!(matches!(e, Error::Usage(_)));
        let e = e.to_string();
        assert!(e.contains("a.tar and b.tar are both linux/arm64"), "{e}");
        assert!(refuse_duplicate(&read, "c.tar", &plat("amd64", None)).is_ok());
    }
}
