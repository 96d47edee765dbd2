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
use serde_json::Value;

use super::{Checks, ImportOptions, InputSource, ReadLayer, assemble_image, decide_platform};
use crate::attest::{entry_subject, is_attestation_entry};
use crate::digest::{Blob, Digest};
use crate::error::{Error, Result};
use crate::image::{self, Platform};
use crate::layout::{IndexChange, Layout, PendingBlob, Reader, bad};
use crate::naming::Reference;
use crate::report::{ImportReport, IndexReport, OutputFormat};
use crate::spec::descriptor;
use crate::spec::media_type::{DocKind, doc_kind};
use crate::spec::platform::{PlatformKey, platform_label};

/// One input, read, with the platform it is for.
struct PlatformLayer {
    input: String,
    layer: ReadLayer,
    platform: Platform,
    warnings: Vec<String>,
}

/// Read each of `inputs` as its own single-layer image into `layout`, and
/// name an image index of them (merged with what `opts.tag` names already)
/// `opts.tag`. Two inputs of one platform are [`Error::Usage`], naming both.
pub(super) fn index_into(
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
    let name = super::reference(opts)?;
    let (index, platforms, retagged_from) = publish_index(layout, &name, &images, blobs)?;
    Ok(IndexReport {
        layout: opts.output.display(),
        format: OutputFormat::Oci,
        tag: opts.tag.clone(),
        name: name.to_string(),
        docker_platform: None,
        warnings: Vec::new(),
        index,
        platforms,
        images,
        retagged_from,
    })
}

/// Read and verify every input (`--jobs` at a time), each with its own
/// platform; a second input of a platform is refused, naming both.
fn read_inputs(
    layout: &Layout,
    inputs: &[InputSource],
    opts: &ImportOptions,
    checks: &Checks<'_>,
) -> Result<Vec<PlatformLayer>> {
    let mut read: Vec<PlatformLayer> = Vec::new();
    let layers = checks.read_inputs(layout, inputs, opts)?;
    for (input, (layer, tally)) in inputs.iter().zip(layers) {
        // Each input is its own image: its files alone decide its platform.
        let mut warnings = checks.warnings();
        let platform = decide_platform(opts, &tally, &mut warnings)?;
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
/// blob, its platforms and what the tag named before (when another).
fn publish_index(
    layout: &Layout,
    name: &Reference,
    images: &[ImportReport],
    blobs: Vec<PendingBlob>,
) -> Result<(Blob, Vec<String>, Option<Digest>)> {
    let mut new = images
        .iter()
        .map(|r| {
            image::descriptor(
                MediaType::ImageManifest,
                &r.manifest,
                Some(&r.platform),
                None,
            )
        })
        .collect::<Result<Vec<Value>>>()?;
    new.extend(images.iter().filter_map(|r| {
        r.attestation
            .as_ref()
            .map(|a| crate::attest::index_entry(a, &r.manifest))
    }));
    let tag = name.tag.as_str();
    // Refuse what the tag names now before any blob moves; the merge that
    // counts is the one under the lock.
    build_index(layout.root(), layout.tagged_descriptor(tag)?.as_ref(), &new)?;
    let mut written = None;
    layout.publish(blobs)?.apply_with(|l, current| {
        let (bytes, platforms) = build_index(l.root(), current.tagged(tag).as_ref(), &new)?;
        let blob = l.write_blob(&bytes)?;
        let desc = image::descriptor(MediaType::ImageIndex, &blob, None, Some(name))?;
        let from = current.moved_from(tag, &blob.digest);
        written = Some((blob, platforms, from));
        Ok(images.iter().fold(IndexChange::tag(tag, desc), |c, r| {
            super::with_evidence(c, r)
        }))
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
    let (old_attestations, kept): (Vec<Value>, Vec<Value>) =
        kept.into_iter().partition(is_attestation_entry);
    let (new_attestations, new): (Vec<Value>, Vec<Value>) =
        new.iter().cloned().partition(is_attestation_entry);
    let new_keys: Vec<_> = new.iter().filter_map(descriptor_key).collect();
    let kept: Vec<Value> = kept
        .into_iter()
        .filter(|d| descriptor_key(d).is_none_or(|k| !new_keys.contains(&k)))
        .collect();
    // A kept image keeps its attestations; a replaced one's go with it.
    let digest = |d: &Value| d.get("digest").and_then(Value::as_str).map(str::to_string);
    let kept_digests: Vec<String> = kept.iter().filter_map(digest).collect();
    let kept_attestations: Vec<Value> = old_attestations
        .into_iter()
        .filter(|a| entry_subject(a).is_some_and(|s| kept_digests.iter().any(|k| k == s)))
        .collect();
    check_kept(root, &[kept.as_slice(), &kept_attestations].concat())?;
    let mut entries: Vec<Value> = kept.into_iter().chain(new).collect();
    entries.sort_by_key(|d| (descriptor_key(d).is_none(), descriptor_key(d)));
    let platforms = entries.iter().filter_map(platform_label).collect();
    // Attestations after the images, in their subjects' order, as BuildKit lists them.
    let mut attestations: Vec<Value> = kept_attestations
        .into_iter()
        .chain(new_attestations)
        .collect();
    let position = |a: &Value| {
        entries
            .iter()
            .position(|e| digest(e).as_deref() == entry_subject(a))
    };
    attestations.sort_by_key(position);
    entries.extend(attestations);
    Ok((index_bytes(entries, annotations)?, platforms))
}

/// The image index of `entries` (descriptors, in order), with `annotations`: canonical JSON.
pub(super) fn index_bytes(
    entries: Vec<Value>,
    annotations: Option<Annotations>,
) -> Result<Vec<u8>> {
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
    image::canonical_json(&index, "image index")
}

/// The entries kept from the index the tag names must be what verify
/// accepts: a usable descriptor (sha256 or sha512 digest) whose document
/// is in the layout with its size and digest. A new index never carries
/// over a dangling or unreadable entry.
fn check_kept(root: &Path, kept: &[Value]) -> Result<()> {
    let reader = Reader::new(root);
    for d in kept {
        let shown = d.get("digest").map_or("?".into(), Value::to_string);
        let refuse = |reason: String| {
            bad(
                &reader.path("index.json"),
                format!(
                    "the image index the tag names lists {shown}, which {reason}; run ociimport verify on the layout, or use another --tag"
                ),
            )
        };
        let desc = descriptor::judge(d)
            .strict()
            .map_err(|r| refuse(format!("is not a usable descriptor ({r})")))?;
        let path = reader.blob_path(&desc.digest);
        if !path.is_file() {
            return Err(refuse("is not in the layout".into()));
        }
        reader
            .blob(&desc.blob())
            .map_err(|e| refuse(format!("cannot be read back ({e})")))?;
    }
    Ok(())
}

/// The string annotations of an index, kept when it is rebuilt.
type Annotations = std::collections::HashMap<String, String>;

/// The entries what `index.json` names the tag already contributes: an
/// index's manifests (and its annotations), or one manifest, with its
/// platform from the descriptor or else from its config.
fn existing_entries(root: &Path, d: &Value) -> Result<(Vec<Value>, Option<Annotations>)> {
    let reader = Reader::new(root);
    let index_json = reader.path("index.json");
    let desc = descriptor::judge(d)
        .strict()
        .map_err(|reason| bad(&index_json, format!("the tagged descriptor: {reason}")))?;
    match doc_kind(&desc.media_type) {
        DocKind::Index => {
            let v = reader.json(&desc.blob())?;
            let manifests = v
                .get("manifests")
                .and_then(Value::as_array)
                .cloned()
                .ok_or_else(|| bad(&reader.blob_path(&desc.digest), "has no manifests array"))?;
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
                None => config_platform(&reader, &desc.blob())?,
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
fn config_platform(reader: &Reader, manifest: &Blob) -> Result<Value> {
    let m = reader.json(manifest)?;
    let path = reader.blob_path(&manifest.digest);
    let config = m
        .get("config")
        .map(descriptor::judge)
        .and_then(|j| j.strict().ok())
        .ok_or_else(|| bad(&path, "has no usable config descriptor"))?;
    let c = reader.json(&config.blob())?;
    let s = |k: &str| c.get(k).and_then(Value::as_str);
    let (Some(os), Some(arch)) = (s("os"), s("architecture")) else {
        return Err(bad(
            &reader.blob_path(&config.digest),
            "the config names no os and architecture, so the image cannot join an index by platform; re-import it or use another --tag",
        ));
    };
    let mut p = serde_json::json!({"os": os, "architecture": arch});
    if let Some(v) = s("variant") {
        p["variant"] = Value::from(v);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {

    /// An entry kept from the index under the tag must be usable: an md5
    /// digest is refused, naming it.
    #[test]
    fn kept_entries_must_be_usable_descriptors() {
        let dir = tempfile::tempdir().unwrap();
        let md5 = serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "md5:d41d8cd98f00b204e9800998ecf8427e",
            "size": 2,
        });
        let e = check_kept(dir.path(), &[md5]).unwrap_err().to_string();
        assert!(
            e.contains(
                "lists \"md5:d41d8cd98f00b204e9800998ecf8427e\", which is not a usable descriptor"
            ),
            "{e}"
        );
        assert!(
            e.ends_with("run ociimport verify on the layout, or use another --tag"),
            "{e}"
        );
    }
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
            digest: crate::digest::Digest::parse(&format!("sha256:{}", c.to_string().repeat(64)))
                .unwrap(),
            size: 7,
        }
    }

    fn manifest_descriptor(m: &Blob, p: &Platform) -> Value {
        image::descriptor(MediaType::ImageManifest, m, Some(p), None).unwrap()
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
                    encoding: crate::compress::LayerEncoding::Gzip,
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
            inventory: None,
            checked: Vec::new(),
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
