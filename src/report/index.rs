//! The report of an `--index` import.

use serde::Serialize;

use super::{ImportReport, OutputFormat, human_size};
use crate::digest::{Blob, Digest};

/// What an `--index` import wrote.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct IndexReport {
    /// The layout directory (or the archive file, `-` for stdout).
    pub layout: String,
    /// A layout directory or an archive.
    pub format: OutputFormat,
    /// The ref name of the image index.
    pub tag: String,
    /// The index's fully qualified name (`docker.io/library/x:TAG`), as
    /// `io.containerd.image.name` holds it.
    pub name: String,
    /// In an archive: the platform its `manifest.json` tags for `docker load`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker_platform: Option<String>,
    /// Warnings about the whole index (each image's are in `images`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The image index blob `tag` names now.
    pub index: Blob,
    /// Every platform the index lists, in its order (`os/arch[/variant]`):
    /// this run's and those kept from the index `tag` named before.
    pub platforms: Vec<String>,
    /// This run's images, one per input, in input order; each is the
    /// report a single-image import gives.
    pub images: Vec<ImportReport>,
    /// The index or manifest the tag named before, when another.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retagged_from: Option<Digest>,
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
        out.push_str(&format!("  name      {}\n", self.name));
        if let Some(p) = &self.docker_platform {
            out.push_str(&format!(
                "  docker    manifest.json tags {p} for docker load\n"
            ));
        }
        let from = self.retagged_from.as_ref();
        out.push_str(&super::retag_line(&self.layout, &self.tag, from));
        for img in &self.images {
            let input = img.layers.first().map_or("", |l| l.input.name.as_str());
            out.push_str(&format!(
                "  image     {} {} (from {input}, created {})\n",
                img.manifest.digest, img.platform, img.created
            ));
        }
        if self.format == OutputFormat::OciArchive {
            let evidence = self.images.iter().any(|i| i.evidence.is_some());
            let hints = super::hints::for_archive(&self.layout, &self.name, &self.tag, evidence);
            super::push_hints(&mut out, &hints);
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
            let hints = super::hints::for_index(&self.layout, &self.tag, arch, &inputs);
            super::push_hints(&mut out, &hints);
        }
        out
    }
}
