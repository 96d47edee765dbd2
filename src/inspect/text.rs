//! `inspect`'s text output.

use std::fmt::Write as _;

use super::{ImageInfo, LayerInfo};
use crate::report::human_size;

/// Human-readable rendering of [`super::inspect`]'s result.
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
        for a in &img.attestations {
            let kinds: Vec<&str> = a
                .statements
                .iter()
                .map(|s| s.predicate_type.as_str())
                .collect();
            let _ = writeln!(
                out,
                "attestation: {} ({})",
                a.manifest.digest,
                kinds.join(", ")
            );
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
