//! The import report: what `--json` prints and what the summary shows.

pub(crate) mod hints;
mod index;

use serde::Serialize;

use crate::compress::Compression;
use crate::digest::{Blob, Digest};
use crate::image::{Layer, Platform};
use crate::output::Output;
pub use crate::output::OutputFormat;
pub use index::IndexReport;

/// What an import wrote: one image, or (`--index`) an image index.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Report {
    /// One image, tagged.
    Image(Box<ImportReport>),
    /// An image index of one image per platform, tagged.
    Index(Box<IndexReport>),
}

impl Report {
    /// Every warning, each image's prefixed by its platform in an index.
    pub fn warnings(&self) -> Vec<String> {
        match self {
            Report::Image(r) => r.warnings.clone(),
            Report::Index(r) => r
                .images
                .iter()
                .flat_map(|i| {
                    i.warnings
                        .iter()
                        .map(move |w| format!("{}: {w}", i.platform))
                })
                .chain(r.warnings.iter().cloned())
                .collect(),
        }
    }

    /// The short human summary printed on stderr.
    pub fn summary(&self) -> String {
        match self {
            Report::Image(r) => r.summary(),
            Report::Index(r) => r.summary(),
        }
    }

    /// Where it was written: the layout directory, the archive file, or
    /// `-` for standard output.
    pub fn layout(&self) -> &str {
        match self {
            Report::Image(r) => &r.layout,
            Report::Index(r) => &r.layout,
        }
    }

    /// The ref name it was published under.
    pub fn tag(&self) -> &str {
        match self {
            Report::Image(r) => &r.tag,
            Report::Index(r) => &r.tag,
        }
    }

    /// The digest the tag names: the image manifest, or the image index.
    pub fn digest(&self) -> &Digest {
        match self {
            Report::Image(r) => &r.manifest.digest,
            Report::Index(r) => &r.index.digest,
        }
    }

    /// Name `output` as what was written, in this report and every image's.
    pub(crate) fn set_output(&mut self, output: &Output) {
        let (name, format) = (output.display(), output.format());
        match self {
            Report::Image(r) => {
                r.layout = name;
                r.format = format;
            }
            Report::Index(r) => {
                for img in &mut r.images {
                    img.layout.clone_from(&name);
                    img.format = format;
                }
                r.layout = name;
                r.format = format;
            }
        }
    }
}

/// The "use it" lines under a summary: the first labelled, the rest aligned under it.
fn push_hints(out: &mut String, hints: &[String]) {
    for (i, h) in hints.iter().enumerate() {
        out.push_str(if i == 0 {
            "  use it:   "
        } else {
            "\n            "
        });
        out.push_str(h);
    }
}

/// The input of one layer, as given.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct InputReport {
    /// The input as the user named it (`-` for stdin).
    pub name: String,
    /// Compression detected on the input.
    pub compression: Compression,
    /// sha256 and size of the input bytes.
    pub blob: Blob,
}

/// An OpenPGP signature that was verified for a layer's input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VerifiedSignature {
    /// Base name of the file that was signed: the input itself, or the
    /// checksum file its digest was checked against.
    pub file: String,
    /// Base name of the signature file (the checksum file itself when clear-signed).
    pub signature: String,
    /// The signer's fingerprint (uppercase hex), `PRIMARY/SUBKEY` when a subkey signed.
    pub signer: String,
    /// What the layout stores so that the claim can be re-checked (not in `--json`).
    #[serde(skip)]
    pub(crate) evidence: crate::signature::SignatureEvidence,
}

/// One layer of the import: a view of the input and the [`Layer`] made from it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LayerReport {
    /// Where the layer came from.
    pub input: InputReport,
    /// The layer.
    pub layer: Layer,
    /// Archive members.
    pub entries: u64,
    /// The input bytes were kept as the blob, unchanged.
    pub passthrough: bool,
    /// Checksums of the input that were verified, e.g. `sha512 (DIGESTS)`.
    pub checksums_verified: Vec<String>,
    /// OpenPGP signatures that vouch for the input: its own, then its checksum file's.
    pub signatures_verified: Vec<VerifiedSignature>,
    /// Where the layer came from, as the manifest records it: the input's
    /// base name (or URL), `-` for standard input.
    pub source: String,
    /// Warnings about this input (accepted oddities).
    pub warnings: Vec<String>,
    /// Facts about this input that need no action (a pixz index after the archive).
    pub notes: Vec<String>,
}

impl LayerReport {
    /// What was verified of this layer's input, for the summary:
    /// `sha256 (SHA256SUMS), signed by FINGERPRINT (SHA256SUMS.asc)`.
    fn verified_line(&self) -> Option<String> {
        let signed = self
            .signatures_verified
            .iter()
            .map(|s| format!("signed by {} ({})", s.signer, s.signature));
        let all: Vec<String> = self
            .checksums_verified
            .iter()
            .cloned()
            .chain(signed)
            .collect();
        (!all.is_empty()).then(|| all.join(", "))
    }
}

/// The `--json` form of a layer: flat, with the keys scripts already read.
#[derive(Serialize)]
struct LayerJson<'a> {
    input: &'a str,
    input_compression: Compression,
    input_digest: &'a Digest,
    input_size: u64,
    media_type: String,
    digest: &'a Digest,
    size: u64,
    diff_id: &'a Digest,
    uncompressed_size: u64,
    entries: u64,
    passthrough: bool,
    checksums_verified: &'a [String],
    signatures_verified: &'a [VerifiedSignature],
    source: &'a str,
    warnings: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
}

impl Serialize for LayerReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        LayerJson {
            input: &self.input.name,
            input_compression: self.input.compression,
            input_digest: &self.input.blob.digest,
            input_size: self.input.blob.size,
            media_type: self.layer.media_type().to_string(),
            digest: &self.layer.blob.digest,
            size: self.layer.blob.size,
            diff_id: &self.layer.diff_id.digest,
            uncompressed_size: self.layer.diff_id.size,
            entries: self.entries,
            passthrough: self.passthrough,
            checksums_verified: &self.checksums_verified,
            signatures_verified: &self.signatures_verified,
            source: &self.source,
            warnings: &self.warnings,
            notes: &self.notes,
        }
        .serialize(s)
    }
}

/// Where the config's `created` came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CreatedSource {
    /// `--created`.
    #[serde(rename = "--created")]
    Flag,
    /// The `SOURCE_DATE_EPOCH` environment variable.
    #[serde(rename = "SOURCE_DATE_EPOCH")]
    SourceDateEpoch,
    /// The newest entry mtime in the archives.
    #[serde(rename = "newest entry")]
    NewestEntry,
}

/// The whole import.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct ImportReport {
    /// The layout directory (or the archive file, `-` for stdout).
    pub layout: String,
    /// A layout directory or an archive.
    pub format: OutputFormat,
    /// The ref name given to the manifest.
    pub tag: String,
    /// The image's fully qualified name (`docker.io/library/x:TAG`), as
    /// `io.containerd.image.name` holds it.
    pub name: String,
    /// The manifest blob.
    pub manifest: Blob,
    /// The config blob.
    pub config: Blob,
    /// The image platform.
    pub platform: Platform,
    /// The config's created time.
    pub created: String,
    /// Where `created` came from.
    pub created_source: CreatedSource,
    /// Layers, in order.
    pub layers: Vec<LayerReport>,
    /// Warnings for the whole import.
    pub warnings: Vec<String>,
    /// What the tag named before this import, when it named another
    /// manifest or index (still in `blobs/` until `ociimport gc`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retagged_from: Option<Digest>,
    /// The evidence manifest of the verified signatures (an untagged
    /// `index.json` entry whose subject is `manifest`), when any verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Blob>,
}

/// The summary line of a tag that moved: `  retagged  TAG moved from DIGEST (...)`.
pub(crate) fn retag_line(layout: &str, tag: &str, from: Option<&Digest>) -> String {
    match from {
        Some(d) => format!(
            "  retagged  {tag} moved from {d} (still in blobs/; ociimport gc {} removes it when nothing else names it)\n",
            hints::shell_quote(layout)
        ),
        None => String::new(),
    }
}

pub use crate::units::human_size;

impl ImportReport {
    /// The short human summary printed on stderr.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let plat = &self.platform;
        out.push_str(&format!(
            "imported {} layer(s) into {} as {} ({plat}, created {})\n",
            self.layers.len(),
            self.layout,
            self.tag,
            self.created
        ));
        out.push_str(&format!(
            "  manifest  {} ({})\n",
            self.manifest.digest,
            human_size(self.manifest.size)
        ));
        out.push_str(&format!("  name      {}\n", self.name));
        let from = self.retagged_from.as_ref();
        out.push_str(&retag_line(&self.layout, &self.tag, from));
        for l in &self.layers {
            let what = l.input.compression.info().noun;
            let how = if l.passthrough {
                format!("{what} input kept as is")
            } else {
                format!("from {what} input of {}", human_size(l.input.blob.size))
            };
            out.push_str(&format!(
                "  layer     {} ({}, {how})\n",
                l.layer.blob.digest,
                human_size(l.layer.blob.size)
            ));
            let entries = if l.entries == 1 { "entry" } else { "entries" };
            out.push_str(&format!(
                "  diff_id   {} ({}, {} {entries})\n",
                l.layer.diff_id.digest,
                human_size(l.layer.diff_id.size),
                l.entries
            ));
            if let Some(verified) = l.verified_line() {
                out.push_str(&format!("  verified  {verified}\n"));
            }
        }
        let inputs: Vec<&str> = self.layers.iter().map(|l| l.input.name.as_str()).collect();
        let hints = match self.format {
            OutputFormat::OciArchive => {
                hints::for_archive(&self.layout, &self.name, &self.tag, self.evidence.is_some())
            }
            OutputFormat::Oci => {
                let zstd = self
                    .layers
                    .iter()
                    .any(|l| l.layer.encoding == crate::compress::LayerEncoding::Zstd);
                hints::for_layout(&self.layout, &self.tag, &inputs, zstd)
            }
        };
        push_hints(&mut out, &hints);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_in_binary_units() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 << 30), "3.0 GiB");
    }
}
