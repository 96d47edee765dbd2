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
