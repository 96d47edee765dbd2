//! The one walk over a layout's documents: from a descriptor (an entry of
//! `index.json`) through image indexes to manifests, then each manifest's
//! config and layers.
//!
//! The walk fixes the order and judges each document with [`crate::spec`];
//! a [`Visitor`] reads (through [`super::Reader`]), decides what to follow
//! and what a problem means: `verify` records it against its object and
//! goes on, `inspect` stops at the first.

use serde_json::Value;

use crate::spec::Judged;
use crate::spec::config::{self, Config};
use crate::spec::descriptor::Descriptor;
use crate::spec::index::{self, Index};
use crate::spec::manifest::{self, Manifest};
use crate::spec::media_type::{DocKind, ManifestType, doc_kind};

/// Which document a descriptor is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Doc {
    /// An image index, `depth` levels below `index.json` (0 for its entries).
    Index {
        /// Levels of image index above it.
        depth: usize,
    },
    /// An image manifest (or an artifact's).
    Manifest,
    /// An image config.
    Config,
}

/// A blob the walk reaches but does not read as a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// What a descriptor of an unknown media type points to.
    Blob,
    /// The config of a manifest that is not an image's.
    Config,
    /// Layer `i` (from 0) of a manifest that is not an image's.
    Layer(usize),
}

/// What a walk does at each node; the walk calls these in document order.
pub(crate) trait Visitor {
    /// Where a node was reached from (a label, a tag).
    type Scope;
    /// Why the walk ends early.
    type Stop;
    /// What is kept between entering a descriptor and leaving it.
    type Mark;
    /// What is kept about a manifest while its config and layers are visited.
    type Image;

    /// About to follow `desc`: `None` skips it (seen already, over budget).
    fn enter(
        &mut self,
        scope: &Self::Scope,
        desc: &Descriptor,
    ) -> Result<Option<Self::Mark>, Self::Stop>;
    /// Done with `desc` and everything below it.
    fn leave(&mut self, scope: &Self::Scope, desc: &Descriptor, mark: Self::Mark);
    /// The document `desc` points to, read and parsed; `None` when unusable.
    fn document(
        &mut self,
        scope: &Self::Scope,
        doc: Doc,
        desc: &Descriptor,
    ) -> Result<Option<Value>, Self::Stop>;
    /// An image index, judged; its entries are then offered to [`Visitor::entry`].
    fn index(
        &mut self,
        scope: &Self::Scope,
        desc: &Descriptor,
        value: &Value,
        judged: &Judged<Index>,
    ) -> Result<(), Self::Stop>;
    /// Entry `j` of the index `desc`: the scope to follow it in, `None` to skip it.
    fn entry(
        &mut self,
        scope: &Self::Scope,
        desc: &Descriptor,
        judged: &Judged<Index>,
        j: usize,
    ) -> Result<Option<Self::Scope>, Self::Stop>;
    /// A manifest, judged: `Some` to go on to its config and layers.
    fn manifest(
        &mut self,
        scope: &Self::Scope,
        desc: &Descriptor,
        value: &Value,
        judged: &Judged<Manifest>,
    ) -> Result<Option<Self::Image>, Self::Stop>;
    /// An image's config, judged (`None` when it could not be read).
    fn config(
        &mut self,
        scope: &Self::Scope,
        image: &mut Self::Image,
        desc: &Descriptor,
        judged: Option<Judged<Config>>,
    ) -> Result<(), Self::Stop>;
    /// Layer `i` (from 0) of an image, `None` where its descriptor is unusable.
    fn layer(
        &mut self,
        scope: &Self::Scope,
        image: &mut Self::Image,
        manifest: &Judged<Manifest>,
        i: usize,
        desc: Option<&Descriptor>,
    ) -> Result<(), Self::Stop>;
    /// Done with an image's config and layers.
    fn image(&mut self, scope: &Self::Scope, image: Self::Image) -> Result<(), Self::Stop>;
    /// A blob that is not a document: checked, not read as one.
    fn blob(
        &mut self,
        scope: &Self::Scope,
        part: Part,
        desc: &Descriptor,
    ) -> Result<(), Self::Stop>;
}

/// Follow `desc`, an entry of `index.json`, and everything below it.
pub(crate) fn follow<V: Visitor>(
    v: &mut V,
    scope: &V::Scope,
    desc: &Descriptor,
) -> Result<(), V::Stop> {
    descend(v, scope, desc, 0)
}

fn descend<V: Visitor>(
    v: &mut V,
    scope: &V::Scope,
    desc: &Descriptor,
    depth: usize,
) -> Result<(), V::Stop> {
    let Some(mark) = v.enter(scope, desc)? else {
        return Ok(());
    };
    match doc_kind(&desc.media_type) {
        DocKind::Manifest(kind) => visit_manifest(v, scope, desc, kind)?,
        DocKind::Index => visit_index(v, scope, desc, depth)?,
        // Unknown media types must be ignored by consumers; their blob can still be checked.
        DocKind::Other => v.blob(scope, Part::Blob, desc)?,
    }
    v.leave(scope, desc, mark);
    Ok(())
}

fn visit_index<V: Visitor>(
    v: &mut V,
    scope: &V::Scope,
    desc: &Descriptor,
    depth: usize,
) -> Result<(), V::Stop> {
    let Some(value) = v.document(scope, Doc::Index { depth }, desc)? else {
        return Ok(());
    };
    let judged = index::judge(&value);
    v.index(scope, desc, &value, &judged)?;
    let count = judged.value.as_ref().map_or(0, |i| i.entries.len());
    for j in 0..count {
        let Some(child_scope) = v.entry(scope, desc, &judged, j)? else {
            continue;
        };
        let child = judged
            .value
            .as_ref()
            .and_then(|i| i.entries.get(j))
            .and_then(|e| e.descriptor.as_ref());
        if let Some(child) = child {
            descend(v, &child_scope, child, depth + 1)?;
        }
    }
    Ok(())
}

fn visit_manifest<V: Visitor>(
    v: &mut V,
    scope: &V::Scope,
    desc: &Descriptor,
    kind: ManifestType,
) -> Result<(), V::Stop> {
    let Some(value) = v.document(scope, Doc::Manifest, desc)? else {
        return Ok(());
    };
    let judged = manifest::judge(&value, kind);
    let Some(mut image) = v.manifest(scope, desc, &value, &judged)? else {
        return Ok(());
    };
    let Some(m) = &judged.value else {
        return v.image(scope, image);
    };
    let layers = m.layers.as_deref().unwrap_or_default();
    if !m.is_image() {
        // Signatures, attestations, other artifacts: only blobs.
        if let Some(c) = &m.config {
            v.blob(scope, Part::Config, c)?;
        }
        for (i, d) in layers.iter().enumerate() {
            if let Some(d) = d {
                v.blob(scope, Part::Layer(i), d)?;
            }
        }
        return v.image(scope, image);
    }
    if let Some(c) = &m.config {
        let doc = v.document(scope, Doc::Config, c)?;
        let judged_config = doc.map(|d| config::judge(&d, layers.len()));
        v.config(scope, &mut image, c, judged_config)?;
    }
    for (i, d) in layers.iter().enumerate() {
        v.layer(scope, &mut image, &judged, i, d.as_ref())?;
    }
    v.image(scope, image)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use serde_json::json;

    use super::*;
    use crate::digest::Blob;
    use crate::hashing::sha256_of;
    use crate::layout::Reader;
    use crate::spec::media_type::{OCI_CONFIG, OCI_INDEX, OCI_MANIFEST};

    /// Writes each event, reading documents through the checked read.
    struct Recorder<'a> {
        reader: &'a Reader,
        events: Vec<String>,
    }

    impl Visitor for Recorder<'_> {
        type Scope = String;
        type Stop = crate::error::Error;
        type Mark = ();
        type Image = ();

        fn enter(&mut self, scope: &String, _: &Descriptor) -> crate::Result<Option<()>> {
            self.events.push(format!("enter {scope}"));
            Ok(Some(()))
        }
        fn leave(&mut self, scope: &String, _: &Descriptor, (): ()) {
            self.events.push(format!("leave {scope}"));
        }
        fn document(
            &mut self,
            _: &String,
            doc: Doc,
            d: &Descriptor,
        ) -> crate::Result<Option<Value>> {
            self.events.push(format!("{doc:?}"));
            self.reader.json(&d.blob()).map(Some)
        }
        fn index(
            &mut self,
            s: &String,
            _: &Descriptor,
            _: &Value,
            _: &Judged<Index>,
        ) -> crate::Result<()> {
            self.events.push(format!("index {s}"));
            Ok(())
        }
        fn entry(
            &mut self,
            s: &String,
            _: &Descriptor,
            _: &Judged<Index>,
            j: usize,
        ) -> crate::Result<Option<String>> {
            Ok(Some(format!("{s}/{j}")))
        }
        fn manifest(
            &mut self,
            s: &String,
            _: &Descriptor,
            _: &Value,
            _: &Judged<Manifest>,
        ) -> crate::Result<Option<()>> {
            self.events.push(format!("manifest {s}"));
            Ok(Some(()))
        }
        fn config(
            &mut self,
            s: &String,
            (): &mut (),
            _: &Descriptor,
            j: Option<Judged<Config>>,
        ) -> crate::Result<()> {
            let os = j.and_then(|j| j.value).and_then(|c| c.os);
            self.events.push(format!("config {s} {os:?}"));
            Ok(())
        }
        fn layer(
            &mut self,
            s: &String,
            (): &mut (),
            _: &Judged<Manifest>,
            i: usize,
            d: Option<&Descriptor>,
        ) -> crate::Result<()> {
            self.events.push(format!("layer {s} {i} {}", d.is_some()));
            Ok(())
        }
        fn image(&mut self, s: &String, (): ()) -> crate::Result<()> {
            self.events.push(format!("image {s}"));
            Ok(())
        }
        fn blob(&mut self, s: &String, part: Part, _: &Descriptor) -> crate::Result<()> {
            self.events.push(format!("blob {s} {part:?}"));
            Ok(())
        }
    }

    fn put(root: &std::path::Path, media_type: &str, v: &Value) -> (Value, Descriptor) {
        let bytes = serde_json::to_vec(v).unwrap();
        let blob = Blob {
            digest: sha256_of(&bytes),
            size: bytes.len() as u64,
        };
        fs::write(blob.digest.blob_path(root), &bytes).unwrap();
        let d = json!({"mediaType": media_type, "digest": blob.digest.as_str(), "size": blob.size});
        let desc = crate::spec::descriptor::judge(&d).strict().unwrap();
        (d, desc)
    }

    /// Index → manifests in order → config, then layers (an unusable one
    /// offered as `None`); unknown media types and artifacts' blobs as blobs.
    #[test]
    fn walks_in_document_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        let (config, _) = put(root, OCI_CONFIG, &json!({"os": "linux"}));
        let (layer, _) = put(root, "application/vnd.oci.image.layer.v1.tar", &json!(1));
        let bad_layer = json!({"mediaType": "x", "digest": "md5:1", "size": 1});
        let image = json!({"schemaVersion": 2, "config": config, "layers": [layer, bad_layer]});
        let (image, _) = put(root, OCI_MANIFEST, &image);
        let (other, _) = put(root, "application/x-other", &json!({}));
        let art_config = json!({"mediaType": "application/x-art", "digest": config["digest"], "size": config["size"]});
        let art = json!({"schemaVersion": 2, "config": art_config, "layers": [layer]});
        let (art, _) = put(root, OCI_MANIFEST, &art);
        let index = json!({"schemaVersion": 2, "manifests": [image, other, art]});
        let (_, index) = put(root, OCI_INDEX, &index);
        let reader = Reader::new(root);
        let mut r = Recorder {
            reader: &reader,
            events: Vec::new(),
        };
        follow(&mut r, &"t".to_string(), &index).unwrap();
        let want = [
            "enter t",
            "Index { depth: 0 }",
            "index t",
            "enter t/0",
            "Manifest",
            "manifest t/0",
            "Config",
            "config t/0 Some(\"linux\")",
            "layer t/0 0 true",
            "layer t/0 1 false",
            "image t/0",
            "leave t/0",
            "enter t/1",
            "blob t/1 Blob",
            "leave t/1",
            "enter t/2",
            "Manifest",
            "manifest t/2",
            "blob t/2 Config",
            "blob t/2 Layer(0)",
            "image t/2",
            "leave t/2",
            "leave t",
        ];
        assert_eq!(r.events, want);
    }
}
