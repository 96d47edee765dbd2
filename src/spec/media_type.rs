//! Media types: the one table of what each media type means.

use serde::Serialize;

use crate::compress::LayerEncoding;

/// An OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// An OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// An OCI image configuration.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// A Docker schema 2 image manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// A Docker schema 2 manifest list (an image index).
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// A Docker schema 2 image configuration.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// An in-toto statement: the layers of an attestation manifest.
pub const IN_TOTO: &str = "application/vnd.in-toto+json";

/// What a descriptor's media type says the blob is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocKind {
    /// An image manifest.
    Manifest(ManifestType),
    /// An image index (OCI, or a Docker manifest list).
    Index,
    /// Anything else: only the blob itself can be checked.
    Other,
}

/// The two image manifest media types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ManifestType {
    /// [`OCI_MANIFEST`].
    Oci,
    /// [`DOCKER_MANIFEST`] (skopeo and buildah write it for `--format v2s2`).
    Docker,
}

impl ManifestType {
    /// The media type string.
    pub fn as_str(self) -> &'static str {
        match self {
            ManifestType::Oci => OCI_MANIFEST,
            ManifestType::Docker => DOCKER_MANIFEST,
        }
    }

    /// True for a Docker schema 2 manifest.
    pub fn is_docker(self) -> bool {
        self == ManifestType::Docker
    }
}

impl std::fmt::Display for ManifestType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ManifestType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What a media type names.
pub fn doc_kind(media_type: &str) -> DocKind {
    match media_type {
        OCI_MANIFEST => DocKind::Manifest(ManifestType::Oci),
        DOCKER_MANIFEST => DocKind::Manifest(ManifestType::Docker),
        OCI_INDEX | DOCKER_LIST => DocKind::Index,
        _ => DocKind::Other,
    }
}

/// Whether a config descriptor's media type makes the manifest an image
/// (anything else is an artifact: a signature, an attestation).
pub fn is_image_config(media_type: &str) -> bool {
    media_type == OCI_CONFIG || media_type == DOCKER_CONFIG
}

/// The encoding a layer media type declares, if it is a layer media type
/// allowed in a manifest of type `manifest`.
pub fn layer_encoding(media_type: &str, manifest: ManifestType) -> Option<LayerEncoding> {
    let docker = manifest.is_docker();
    match media_type {
        "application/vnd.oci.image.layer.v1.tar"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar" => Some(LayerEncoding::None),
        "application/vnd.oci.image.layer.v1.tar+gzip"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" => {
            Some(LayerEncoding::Gzip)
        }
        "application/vnd.oci.image.layer.v1.tar+zstd"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => {
            Some(LayerEncoding::Zstd)
        }
        // Docker schema 2 layer types, only in Docker manifests (skopeo and
        // buildah write these when asked for the v2s2 format).
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
        | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
            if docker =>
        {
            Some(LayerEncoding::Gzip)
        }
        "application/vnd.docker.image.rootfs.diff.tar" if docker => Some(LayerEncoding::None),
        _ => None,
    }
}

/// The problem with a layer whose media type is not a layer media type of
/// its manifest's kind.
pub fn not_a_layer_type(media_type: &str, manifest: ManifestType) -> String {
    let kind = if manifest.is_docker() {
        "a Docker schema 2"
    } else {
        "an OCI"
    };
    format!("media type {media_type:?} is not {kind} layer media type")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_media_types() {
        let oci = ManifestType::Oci;
        assert_eq!(
            layer_encoding("application/vnd.oci.image.layer.v1.tar+gzip", oci),
            Some(LayerEncoding::Gzip)
        );
        assert_eq!(
            layer_encoding(
                "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
                oci
            ),
            Some(LayerEncoding::Zstd)
        );
        assert_eq!(
            layer_encoding("application/vnd.oci.image.layer.v1.tar", oci),
            Some(LayerEncoding::None)
        );
        let docker = "application/vnd.docker.image.rootfs.diff.tar.gzip";
        assert_eq!(layer_encoding(docker, oci), None);
        assert_eq!(
            layer_encoding(docker, ManifestType::Docker),
            Some(LayerEncoding::Gzip)
        );
        assert_eq!(
            layer_encoding("application/vnd.oci.image.layer.v1.tar+xz", oci),
            None
        );
        assert_eq!(doc_kind(DOCKER_LIST), DocKind::Index);
        assert_eq!(
            doc_kind(DOCKER_MANIFEST),
            DocKind::Manifest(ManifestType::Docker)
        );
        assert_eq!(doc_kind("application/vnd.example+json"), DocKind::Other);
        assert_eq!(
            not_a_layer_type(docker, oci),
            format!("media type {docker:?} is not an OCI layer media type")
        );
    }

    #[test]
    fn manifest_type_serialises_as_its_media_type() {
        assert_eq!(
            serde_json::to_value(ManifestType::Docker).unwrap(),
            serde_json::json!(DOCKER_MANIFEST)
        );
        assert!(is_image_config(OCI_CONFIG) && is_image_config(DOCKER_CONFIG));
        assert!(!is_image_config("application/vnd.example+json"));
    }
}
