//! The image configuration and manifest, built with `oci-spec` and
//! serialized deterministically.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use oci_spec::image::{
    Arch, Config, Descriptor, Digest, HistoryBuilder, ImageConfigurationBuilder,
    ImageManifestBuilder, MediaType, Os, PlatformBuilder, RootFsBuilder,
};
use serde::Serialize;

use crate::compress::LayerEncoding;
use crate::digest::Blob;
use crate::error::{Error, Result};

pub use crate::spec::platform::Platform;

/// One layer of an image: its blob, the blob's encoding (which gives the
/// media type) and the uncompressed tar stream it decodes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// The blob's encoding.
    pub encoding: LayerEncoding,
    /// The layer blob.
    pub blob: Blob,
    /// sha256 and length of the uncompressed tar stream (the DiffID).
    pub diff_id: Blob,
}

impl Layer {
    /// The layer's media type.
    pub fn media_type(&self) -> MediaType {
        self.encoding.media_type()
    }
}

/// The history entry of one layer.
#[derive(Clone, Debug)]
pub(crate) struct History {
    /// What made the layer.
    pub created_by: String,
    /// The user's comment (`--message`).
    pub comment: Option<String>,
}

/// What the image config says besides its layers.
#[derive(Clone, Debug)]
pub(crate) struct ImageMeta {
    /// Platform.
    pub platform: Platform,
    /// RFC 3339 creation time.
    pub created: String,
    /// Execution defaults (Env, Cmd, ...), if any.
    pub config: Option<Config>,
    /// Manifest annotations.
    pub annotations: BTreeMap<String, String>,
}

fn spec_err(what: &'static str) -> impl Fn(oci_spec::OciSpecError) -> Error {
    move |e| Error::Spec {
        what,
        reason: e.to_string(),
    }
}

/// Serialize with sorted object keys, so maps (which `oci-spec` keeps in
/// `HashMap`s) come out in the same order on every run.
pub(crate) fn canonical_json<T: Serialize>(value: &T, what: &'static str) -> Result<Vec<u8>> {
    let v = serde_json::to_value(value).map_err(|e| Error::Spec {
        what,
        reason: e.to_string(),
    })?;
    serde_json::to_vec(&v).map_err(|e| Error::Spec {
        what,
        reason: e.to_string(),
    })
}

fn digest(d: &str) -> Result<Digest> {
    Digest::from_str(d).map_err(spec_err("a digest"))
}

/// The image configuration JSON.
pub(crate) fn config_json(
    meta: &ImageMeta,
    layers: &[Layer],
    history: &[History],
) -> Result<Vec<u8>> {
    let rootfs = RootFsBuilder::default()
        .typ("layers")
        .diff_ids(
            layers
                .iter()
                .map(|l| l.diff_id.digest.to_string())
                .collect::<Vec<_>>(),
        )
        .build()
        .map_err(spec_err("rootfs"))?;
    let mut entries = Vec::new();
    for l in history {
        let mut h = HistoryBuilder::default()
            .created(meta.created.clone())
            .created_by(l.created_by.clone());
        if let Some(c) = &l.comment {
            h = h.comment(c.clone());
        }
        entries.push(h.build().map_err(spec_err("history"))?);
    }
    let mut b = ImageConfigurationBuilder::default()
        .created(meta.created.clone())
        .architecture(Arch::from(meta.platform.architecture.as_str()))
        .os(Os::from(meta.platform.os.as_str()))
        .rootfs(rootfs)
        .history(entries);
    if let Some(v) = &meta.platform.variant {
        b = b.variant(v.clone());
    }
    if let Some(c) = &meta.config {
        b = b.config(c.clone());
    }
    let config = b.build().map_err(spec_err("image config"))?;
    canonical_json(&config, "image config")
}

/// The image manifest JSON.
pub(crate) fn manifest_json(
    config: &crate::digest::Blob,
    layers: &[Layer],
    annotations: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    let config = Descriptor::new(
        MediaType::ImageConfig,
        config.size,
        digest(config.digest.as_str())?,
    );
    let mut descs = Vec::new();
    for l in layers {
        descs.push(Descriptor::new(
            l.media_type(),
            l.blob.size,
            digest(l.blob.digest.as_str())?,
        ));
    }
    let mut b = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(config)
        .layers(descs);
    if !annotations.is_empty() {
        b = b.annotations(
            annotations
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
        );
    }
    let m = b.build().map_err(spec_err("image manifest"))?;
    canonical_json(&m, "image manifest")
}

/// A manifest's descriptor in `index.json`: named `name`, with its platform.
pub(crate) fn index_descriptor(
    manifest: &crate::digest::Blob,
    name: &crate::naming::Reference,
    platform: &Platform,
) -> Result<serde_json::Value> {
    descriptor(
        MediaType::ImageManifest,
        manifest,
        Some(platform),
        Some(name),
    )
}

/// The one way a descriptor is made: `blob` as `media_type`, with its
/// platform, and for `index.json` its name: the ref name is the tag alone
/// (so `oci:DIR:TAG` finds it), `io.containerd.image.name` the fully
/// qualified reference (what containerd, kind, k3s and podman name it by).
pub(crate) fn descriptor(
    media_type: MediaType,
    blob: &crate::digest::Blob,
    platform: Option<&Platform>,
    name: Option<&crate::naming::Reference>,
) -> Result<serde_json::Value> {
    let mut d = Descriptor::new(media_type, blob.size, digest(blob.digest.as_str())?);
    if let Some(platform) = platform {
        let mut p = PlatformBuilder::default()
            .architecture(Arch::from(platform.architecture.as_str()))
            .os(Os::from(platform.os.as_str()));
        if let Some(v) = &platform.variant {
            p = p.variant(v.clone());
        }
        d.set_platform(Some(p.build().map_err(spec_err("platform"))?));
    }
    if let Some(name) = name {
        d.set_annotations(Some(HashMap::from([
            (
                crate::spec::ref_name::REF_NAME.to_string(),
                name.tag.clone(),
            ),
            (
                crate::spec::reference::CONTAINERD_NAME.to_string(),
                name.to_string(),
            ),
        ])));
    }
    serde_json::to_value(&d).map_err(|e| Error::Spec {
        what: "index descriptor",
        reason: e.to_string(),
    })
}

/// Parse `--created`: RFC 3339 or `@UNIX_SECONDS`. Returns the normalized RFC 3339 string (UTC).
pub fn parse_created(s: &str) -> std::result::Result<String, String> {
    let t = if let Some(secs) = s.strip_prefix('@') {
        let n: i64 = secs
            .parse()
            .map_err(|_| format!("{s:?}: expected @ followed by whole seconds since 1970"))?;
        format_unix(n).ok_or_else(|| format!("{s:?}: out of range"))?
    } else {
        chrono::DateTime::parse_from_rfc3339(s)
            .map_err(|e| {
                format!(
                    "{s:?}: not an RFC 3339 time ({e}); e.g. 2024-05-01T12:00:00Z or @1714564800"
                )
            })?
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    };
    // chrono writes years past 9999 and leap seconds, which Go's parser
    // (skopeo, umoci, podman) refuses.
    match crate::spec::config::time_breach(&t) {
        Some(b) if t == s => Err(format!("{}; {}", b.why, b.fix)),
        Some(b) => Err(b.usage(&format!("{s:?} ="))),
        None => Ok(t),
    }
}

/// RFC 3339 (UTC, whole seconds) for a Unix time.
pub(crate) fn format_unix(secs: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer() -> Layer {
        let digest = |c: &str| crate::digest::Digest::parse(&format!("sha256:{}", c.repeat(64)));
        Layer {
            encoding: LayerEncoding::Gzip,
            blob: Blob {
                digest: digest("a").unwrap(),
                size: 10,
            },
            diff_id: Blob {
                digest: digest("b").unwrap(),
                size: 20,
            },
        }
    }

    fn history() -> History {
        History {
            created_by: "ociimport test".into(),
            comment: None,
        }
    }

    #[test]
    fn created_parsing() {
        assert_eq!(parse_created("@0").unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(
            parse_created("@1714564800").unwrap(),
            "2024-05-01T12:00:00Z"
        );
        assert_eq!(
            parse_created("2024-05-01T14:00:00+02:00").unwrap(),
            "2024-05-01T12:00:00Z"
        );
        assert!(parse_created("yesterday").unwrap_err().contains("RFC 3339"));
        assert!(parse_created("@x").is_err());
    }

    #[test]
    fn manifest_is_canonical_and_annotations_sorted() {
        let mut ann = BTreeMap::new();
        for k in ["z", "a", "m", "b", "y"] {
            ann.insert(format!("org.example.{k}"), k.to_string());
        }
        let config = crate::digest::Blob {
            digest: crate::digest::Digest::parse(&format!("sha256:{}", "c".repeat(64))).unwrap(),
            size: 5,
        };
        let m1 = manifest_json(&config, &[layer()], &ann).unwrap();
        let m2 = manifest_json(&config, &[layer()], &ann).unwrap();
        assert_eq!(m1, m2);
        let s = String::from_utf8(m1).unwrap();
        let pos: Vec<usize> = [
            "org.example.a",
            "org.example.b",
            "org.example.m",
            "org.example.y",
            "org.example.z",
        ]
        .iter()
        .map(|k| s.find(k).unwrap())
        .collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{s}");
        assert!(s.contains(r#""mediaType":"application/vnd.oci.image.layer.v1.tar+gzip""#));
        assert!(s.contains(r#""schemaVersion":2"#));
    }

    #[test]
    fn config_has_diff_ids_and_platform() {
        let meta = ImageMeta {
            platform: Platform {
                os: "linux".into(),
                architecture: "arm64".into(),
                variant: Some("v8".into()),
            },
            created: "2024-05-01T12:00:00Z".into(),
            config: None,
            annotations: BTreeMap::new(),
        };
        let c = config_json(&meta, &[layer()], &[history()]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&c).unwrap();
        assert_eq!(v["architecture"], "arm64");
        assert_eq!(v["variant"], "v8");
        assert_eq!(v["rootfs"]["type"], "layers");
        assert_eq!(
            v["rootfs"]["diff_ids"][0],
            format!("sha256:{}", "b".repeat(64))
        );
        assert_eq!(v["created"], "2024-05-01T12:00:00Z");
        assert_eq!(v["history"][0]["created_by"], "ociimport test");
    }
}
