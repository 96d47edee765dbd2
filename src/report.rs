//! The import report: what `--json` prints and what the summary shows.

use serde::Serialize;

use crate::compress::Compression;
use crate::digest::Blob;
use crate::image::Platform;

/// One layer of the import.
#[derive(Clone, Debug, Serialize)]
pub struct LayerReport {
    /// The input as the user named it (`-` for stdin).
    pub input: String,
    /// Compression detected on the input.
    pub input_compression: Compression,
    /// sha256 of the input bytes as given.
    pub input_digest: crate::digest::Digest,
    /// Input bytes.
    pub input_size: u64,
    /// Layer media type.
    pub media_type: String,
    /// Layer blob digest.
    pub digest: crate::digest::Digest,
    /// Layer blob size.
    pub size: u64,
    /// sha256 of the uncompressed tar stream.
    pub diff_id: crate::digest::Digest,
    /// Bytes of the uncompressed tar stream.
    pub uncompressed_size: u64,
    /// Archive members.
    pub entries: u64,
    /// The input bytes were kept as the blob, unchanged.
    pub passthrough: bool,
    /// Checksums of the input that were verified, e.g. `sha512 (DIGESTS)`.
    pub checksums_verified: Vec<String>,
    /// Warnings about this input (accepted oddities).
    pub warnings: Vec<String>,
}

/// The whole import.
#[derive(Clone, Debug, Serialize)]
pub struct ImportReport {
    /// The layout directory (or the archive file, `-` for stdout).
    pub layout: String,
    /// `oci` for a layout directory, `oci-archive` for an archive.
    pub format: String,
    /// The ref name given to the manifest.
    pub tag: String,
    /// The manifest blob.
    pub manifest: Blob,
    /// The config blob.
    pub config: Blob,
    /// The image platform.
    pub platform: Platform,
    /// The config's created time.
    pub created: String,
    /// Where `created` came from: `--created`, `SOURCE_DATE_EPOCH` or `newest entry`.
    pub created_source: String,
    /// Layers, in order.
    pub layers: Vec<LayerReport>,
    /// Warnings for the whole import.
    pub warnings: Vec<String>,
}

/// Bytes in binary units, for humans.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Quote a path for a shell command line if it needs it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@+=".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

impl ImportReport {
    /// The short human summary printed on stderr.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let plat = match &self.platform.variant {
            Some(v) => format!("{}/{}/{}", self.platform.os, self.platform.architecture, v),
            None => format!("{}/{}", self.platform.os, self.platform.architecture),
        };
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
        for l in &self.layers {
            let what = match l.input_compression {
                Compression::None => "uncompressed tar".to_string(),
                c => c.to_string(),
            };
            let how = if l.passthrough {
                format!("{what} input kept as is")
            } else {
                format!("from {what} input of {}", human_size(l.input_size))
            };
            out.push_str(&format!(
                "  layer     {} ({}, {how})\n",
                l.digest,
                human_size(l.size)
            ));
            let entries = if l.entries == 1 { "entry" } else { "entries" };
            out.push_str(&format!(
                "  diff_id   {} ({}, {} {entries})\n",
                l.diff_id,
                human_size(l.uncompressed_size),
                l.entries
            ));
        }
        if self.format == "oci-archive" {
            if self.layout == "-" {
                out.push_str(
                    "  use it:   podman load < ARCHIVE, or skopeo copy oci-archive:ARCHIVE ...",
                );
            } else {
                let file = shell_quote(&self.layout);
                out.push_str(&format!("  use it:   podman load -i {file}\n"));
                out.push_str(&format!(
                    "            skopeo copy oci-archive:{file}:{} docker://REGISTRY/NAME:{}",
                    self.tag, self.tag
                ));
            }
            return out;
        }
        let dir = shell_quote(&self.layout);
        let reference = format!("oci:{dir}:{}", self.tag);
        out.push_str(&format!("  use it:   podman pull {reference}\n"));
        // docker-archive wants NAME:TAG; podman and docker want a lowercase name.
        let base = std::path::Path::new(&self.layout)
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .filter(|n| {
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            })
            .unwrap_or_else(|| "image".into());
        out.push_str(&format!(
            "            skopeo copy {reference} docker-archive:{base}.tar:{base}:{}",
            self.tag
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_quoting() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 << 30), "3.0 GiB");
        assert_eq!(shell_quote("./a-b_c"), "./a-b_c");
        assert_eq!(shell_quote("my dir"), "'my dir'");
    }
}
