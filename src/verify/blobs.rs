//! The blob cache of `verify`: each blob (a file, or an archive's entry)
//! is read once (through the layout's [`Reader`]), whatever the number of
//! descriptors pointing to it, and what was found is kept.

use std::collections::HashMap;
use std::rc::Rc;

use crate::compress::Compression;
use crate::digest::{Blob, Digest};
use crate::error::{Error, Result};
use crate::hashing::sha256_of;
use crate::layerscan::{LayerScan, scan_layer};
use crate::layout::{Presence, Reader};
use crate::spec::descriptor::Descriptor;

/// What reading a blob file found.
#[derive(Clone, Debug)]
pub(super) enum BlobState {
    Missing,
    NotAFile,
    /// A symbolic link (to this target): not followed, never read.
    Link(String),
    Unreadable(String),
    Read(Blob),
}

/// What reading a layer blob found.
pub(super) enum LayerRead {
    /// The file could not be scanned; its state says why.
    Unusable(BlobState),
    /// The file could not be opened.
    Failed(String),
    /// The scan (kept for the next descriptor of the same layer).
    Scanned(LayerScan),
}

/// Blobs read so far, by digest.
pub(super) struct BlobCache<'a> {
    reader: &'a Reader,
    /// Whole small blobs (manifests, configs, indexes).
    json: HashMap<Digest, Rc<Vec<u8>>>,
    /// Every blob read.
    states: HashMap<Digest, BlobState>,
    /// Layer scans, by digest and the compression its media type declared.
    layers: HashMap<(Digest, Compression), LayerScan>,
    /// Distinct blob files read.
    pub(super) read: u64,
    /// Distinct layers decoded.
    pub(super) decoded: u64,
    /// `--max-size`: the most bytes a layer may decode to.
    pub(super) max_size: Option<u64>,
}

impl<'a> BlobCache<'a> {
    pub(super) fn new(reader: &'a Reader) -> Self {
        BlobCache {
            reader,
            json: HashMap::new(),
            states: HashMap::new(),
            layers: HashMap::new(),
            read: 0,
            decoded: 0,
            max_size: None,
        }
    }

    /// A small JSON blob, read whole once.
    pub(super) fn json(&mut self, digest: &Digest) -> BlobState {
        if let Some(s) = self.states.get(digest) {
            return s.clone();
        }
        let state = self
            .stat(digest)
            .unwrap_or_else(|| match self.reader.blob_bytes(digest) {
                Ok(bytes) => {
                    self.read += 1;
                    let m = Blob {
                        digest: sha256_of(&bytes),
                        size: bytes.len() as u64,
                    };
                    self.json.insert(digest.clone(), Rc::new(bytes));
                    BlobState::Read(m)
                }
                Err(Error::BadLayout { reason, .. }) => BlobState::Unreadable(format!(
                    "{reason}: too large for a manifest, config or index"
                )),
                Err(e) => BlobState::Unreadable(e.to_string()),
            });
        self.states.insert(digest.clone(), state.clone());
        state
    }

    /// The bytes of a blob [`BlobCache::json`] found readable.
    pub(super) fn json_bytes(&mut self, digest: &Digest) -> Result<Rc<Vec<u8>>> {
        if let Some(b) = self.json.get(digest) {
            return Ok(b.clone());
        }
        // Read earlier as a layer or plain blob: read it whole now.
        let b = Rc::new(self.reader.blob_bytes(digest)?);
        self.json.insert(digest.clone(), b.clone());
        Ok(b)
    }

    /// A blob checked only for presence, digest and size.
    pub(super) fn plain(&mut self, digest: &Digest) -> BlobState {
        if let Some(s) = self.states.get(digest) {
            return s.clone();
        }
        let state = self
            .stat(digest)
            .unwrap_or_else(|| match self.reader.measure(digest) {
                Ok(m) => {
                    self.read += 1;
                    BlobState::Read(m)
                }
                Err(e) => BlobState::Unreadable(e.to_string()),
            });
        self.states.insert(digest.clone(), state.clone());
        state
    }

    /// A layer blob, decoded once per declared compression.
    pub(super) fn layer(&mut self, digest: &Digest, expected: Compression) -> LayerRead {
        let key = (digest.clone(), expected);
        if let Some(scan) = self.layers.get(&key) {
            return LayerRead::Scanned(scan.clone());
        }
        if let Some(state) = self.stat(digest) {
            return LayerRead::Unusable(state);
        }
        let scan = match scan_layer(self.reader, digest, Some(expected), self.max_size) {
            Ok(s) => s,
            Err(e) => return LayerRead::Failed(format!("cannot read the blob: {e}")),
        };
        if !self.states.contains_key(digest) {
            self.read += 1;
        }
        self.decoded += 1;
        self.states
            .insert(digest.clone(), BlobState::Read(scan.blob.clone()));
        self.layers.insert(key, scan.clone());
        LayerRead::Scanned(scan)
    }

    /// Missing / not a file / a link, from the entry itself (a link is not
    /// followed), before any read.
    fn stat(&self, digest: &Digest) -> Option<BlobState> {
        match self.reader.presence(digest) {
            Presence::File => None,
            Presence::Link(target) => Some(BlobState::Link(target)),
            Presence::Other => Some(BlobState::NotAFile),
            Presence::Missing => Some(BlobState::Missing),
            Presence::Unreadable(e) => Some(BlobState::Unreadable(e)),
        }
    }
}

/// What a blob's state says about the descriptor that points to it, and
/// whether the blob can be used at all.
pub(super) fn judge_blob(desc: &Descriptor, state: &BlobState) -> (Vec<String>, bool) {
    let rel = desc.digest.blob_rel();
    match state {
        BlobState::Missing => {
            let hint = if desc.has_urls {
                " (the descriptor lists external urls: a non-distributable blob that was not copied into the layout)"
            } else {
                ""
            };
            (vec![format!("blob {rel} is missing{hint}")], false)
        }
        BlobState::NotAFile => (vec![format!("{rel} is not a regular file")], false),
        BlobState::Link(target) => (
            vec![format!(
                "{rel} is a symbolic link (to {target}), not a regular file; a layout holds its blobs themselves: replace it with the blob"
            )],
            false,
        ),
        BlobState::Unreadable(e) => (vec![format!("cannot read the blob: {e}")], false),
        BlobState::Read(m) => {
            let mut why = Vec::new();
            if m.digest != desc.digest {
                why.push(format!(
                    "blob content does not match its digest: {rel} hashes to {}",
                    m.digest
                ));
            }
            if m.size != desc.size {
                why.push(format!(
                    "size mismatch: the descriptor says {} bytes, the blob has {}",
                    desc.size, m.size
                ));
            }
            (why, true)
        }
    }
}
