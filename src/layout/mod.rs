//! Writing an OCI image layout: blobs that appear only when complete, and an
//! `index.json` replaced atomically under a lock.
//!
//! Protocol, so that a crash or a refusal at any point leaves the layout as
//! it was and concurrent writers never lose a tag:
//! 0. A new layout gets `blobs/sha256/` and an empty `index.json` first and
//!    its `oci-layout` marker last (a failed first import removes the marker
//!    first), so a directory with the marker is always a valid layout.
//! 1. Blobs are streamed into temporary files in the layout's root
//!    (`.ociimport-tmp-*`, [`BlobWriter`]), each held under an exclusive
//!    `flock` while its writer lives, so a later run can tell a stale temp
//!    file (lock free) from a live one.
//! 2. Nothing is renamed into `blobs/sha256/` until every input of the
//!    import has been read, decoded and verified. Then [`Layout::publish`]
//!    renames each fsynced temp file to its digest and fsyncs the directory,
//!    returning a [`Commit`]: the only way to reach step 3, so the index can
//!    never name a blob that is not in place.
//! 3. [`Commit::apply_with`] locks the layout directory (`flock` on the
//!    directory, which is never renamed), re-reads `index.json`, merges,
//!    writes a temp file, fsyncs and renames it over the old one.
//! 4. Every temp file and new layout of the process is registered
//!    ([`registry`]), so that on SIGINT/SIGTERM
//!    [`remove_registered_temps`] undoes them; a commit (steps 2-3) already
//!    under way is allowed to finish first.
//!
//! The read side is beside it: [`Reader`] (capped and digest-checked reads,
//! the limits), [`walk`] (the one walk over the documents, with a visitor)
//! and [`Target`] (the `DIR[:TAG]` argument of `verify` and `inspect`),
//! which may name an oci-archive, read in place (`tarindex`).

mod blob;
mod reader;
pub(crate) mod registry;
mod target;
mod tarindex;
pub(crate) mod walk;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

pub(crate) use blob::{BlobWriter, PendingBlob};
pub(crate) use reader::{LayoutFile, MAX_INDEX_DEPTH, Presence, Reader, bad};
pub use registry::{Cleanup, remove_registered_temps};
pub use target::Target;

use crate::error::{Error, IoContext, Result};
use crate::fsutil::{self, DirLock, TEMP_PREFIX};
pub(crate) use crate::spec::index::IndexChange;
use crate::spec::index::{apply_index_change, empty_index, parse_index};
use crate::spec::oci_layout::{OCI_LAYOUT, layout_version_problem};
use registry::{CommitToken, create_temp, forget_temp, remove_temp};

/// An OCI image layout directory opened for appending.
#[derive(Debug)]
pub(crate) struct Layout {
    root: PathBuf,
    /// We made the directory (or found it empty): on failure we remove what we added.
    fresh: bool,
    /// Directory levels this run created: the root and any missing parents.
    created_dirs: usize,
    /// A shared lock on `blobs/` while this run has the layout open: a
    /// failed first import of another process removes a layout only when
    /// nobody holds one.
    opened: Option<DirLock>,
}

/// Blobs renamed into place, `index.json` not yet updated: the second half
/// of a publish. Dropping it without [`Commit::apply_with`] ends the
/// commit unpublished (the blobs stay, unreferenced, as after a crash).
#[must_use = "the image is not in index.json until apply"]
#[derive(Debug)]
pub(crate) struct Commit<'a> {
    layout: &'a Layout,
    token: CommitToken,
}

impl Layout {
    /// Open `root` as a layout, creating it if missing or empty.
    ///
    /// A directory that exists, is not empty and has no `oci-layout` file is
    /// refused: it is probably not meant to be written into.
    pub(crate) fn open_or_create(root: &Path) -> Result<Layout> {
        match Self::open_once(root) {
            // A concurrent first import failed and removed the layout between
            // our look and our lock: start again, as the first importer.
            Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                Self::open_once(root)
            }
            r => r,
        }
    }

    fn open_once(root: &Path) -> Result<Layout> {
        let created_dirs = create_root(root)?;
        check_blob_dirs(root)?;
        let marker = root.join("oci-layout");
        let reader = Reader::new(root);
        let fresh = match reader.oci_layout_if_exists()? {
            Some(bytes) => {
                check_layout_version(&marker, &bytes)?;
                false
            }
            None => {
                let empty = fs::read_dir(root).at(root)?.next().is_none();
                if empty || looks_like_our_fresh_layout(root)? {
                    true
                } else {
                    // A concurrent first import may have finished its
                    // skeleton (marker last) between our two looks.
                    let Some(bytes) = reader.oci_layout_if_exists()? else {
                        return Err(Error::NotALayout {
                            path: root.to_path_buf(),
                        });
                    };
                    check_layout_version(&marker, &bytes)?;
                    false
                }
            }
        };
        let mut layout = Layout {
            root: root.to_path_buf(),
            fresh,
            created_dirs,
            opened: None,
        };
        if fresh {
            layout.make_skeleton()?;
        } else {
            // An existing layout may lack the (empty) blob directory.
            let dir = layout.blobs_dir();
            fs::create_dir_all(&dir).at(&dir)?;
        }
        check_blob_dirs(root)?;
        let blobs = root.join("blobs");
        let lock = DirLock::shared(&blobs).at(&blobs)?;
        // Locked: from here no other run's failure removes it; check it is
        // still a layout (it may have gone just before).
        if !root.join("oci-layout").exists() {
            return Err(Error::Io {
                path: root.join("oci-layout"),
                source: io::Error::from(io::ErrorKind::NotFound),
            });
        }
        // A fresh layout's lock lives in the registry, which the interrupt
        // cleanup can reach (see `Fresh::open`).
        layout.opened = if fresh {
            registry::hold_fresh_open(root, lock).err()
        } else {
            Some(lock)
        };
        layout.clean_stale_temps();
        Ok(layout)
    }

    /// A new layout's `blobs/sha256/`, empty `index.json` and, last,
    /// `oci-layout`: a directory with the marker is always a complete
    /// layout, so a crash at any point leaves either a valid layout or a
    /// marker-less skeleton that the next run takes as fresh.
    fn make_skeleton(&self) -> Result<()> {
        // Registered before anything is written, so an interrupt removes it again.
        registry::register_fresh(&self.root, self.created_dirs);
        let blobs = self.blobs_dir();
        let marker = self.root.join("oci-layout");
        let made = fs::create_dir_all(&blobs)
            .at(&blobs)
            .and_then(|()| self.ensure_index())
            .and_then(|()| self.write_atomic(&marker, OCI_LAYOUT));
        if made.is_err() {
            abandon_fresh(&self.root, self.created_dirs);
        }
        made
    }

    /// The layout's root directory.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// `blobs/sha256`.
    pub(crate) fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs").join("sha256")
    }

    /// A new blob being written; it becomes visible only through [`Layout::publish`].
    pub(crate) fn blob_writer(&self) -> Result<BlobWriter> {
        BlobWriter::create(fsutil::temp_path(&self.root, ""))
    }

    /// A small blob (config, manifest) held in memory.
    pub(crate) fn blob_from_bytes(&self, bytes: &[u8]) -> Result<PendingBlob> {
        let mut w = self.blob_writer()?;
        let path = w.temp_path().to_path_buf();
        w.write_all(bytes).at(path)?;
        w.finish()
    }

    /// Check `index.json` (before anything is moved: a layout whose index
    /// the merge would refuse gets no blob), then move the finished blobs
    /// into `blobs/sha256/`, durably.
    ///
    /// An existing blob of the same digest is replaced by the new, verified
    /// bytes (an atomic rename), which also repairs one that was damaged.
    /// From here until the returned [`Commit`] ends,
    /// [`remove_registered_temps`] waits rather than interrupting half-way.
    pub(crate) fn publish(&self, blobs: Vec<PendingBlob>) -> Result<Commit<'_>> {
        self.check_index()?;
        let token = CommitToken::begin(&self.root)?;
        let dir = self.blobs_dir();
        for mut b in blobs {
            let dest = b.blob().digest.blob_path(&self.root);
            fs::rename(&b.temp, &dest).at(&dest)?;
            b.published = true;
            forget_temp(&b.temp);
        }
        fsutil::sync_dir(&dir).at(&dir)?;
        fsutil::sync_dir(&self.root).at(&self.root)?;
        Ok(Commit {
            layout: self,
            token,
        })
    }

    /// Write an empty `index.json` unless there is one, under the layout
    /// lock so that a concurrent import's index is never replaced.
    ///
    /// Counted as a commit: it holds the layout lock while it needs the
    /// registry, and the interrupt cleanup, which holds the registry and
    /// needs the layout lock, must wait for it rather than deadlock.
    fn ensure_index(&self) -> Result<()> {
        let _token = CommitToken::begin(&self.root)?;
        let _lock = DirLock::acquire(&self.root).at(&self.root)?;
        let path = self.root.join("index.json");
        match fs::symlink_metadata(&path) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let bytes =
                    serde_json::to_vec(&Value::Object(empty_index())).map_err(|e| Error::Spec {
                        what: "index.json",
                        reason: e.to_string(),
                    })?;
                self.write_atomic(&path, &bytes)
            }
            Err(e) => Err(Error::Io { path, source: e }),
        }
    }

    /// Refuse early (before any blob is published) an existing `index.json`
    /// that the merge would refuse; the merge re-reads it under the lock.
    fn check_index(&self) -> Result<()> {
        let path = self.root.join("index.json");
        match Reader::new(&self.root).index_json_if_exists()? {
            Some(bytes) => parse_index(&path, &bytes).map(|_| ()),
            None => Ok(()),
        }
    }

    /// Replace `dest` with `bytes` atomically: temp file, fsync, rename, fsync dir.
    pub(crate) fn write_atomic(&self, dest: &Path, bytes: &[u8]) -> Result<()> {
        let tmp = fsutil::temp_path(&self.root, "");
        let mut f = create_temp(&tmp)?;
        let res = (|| {
            f.lock().at(&tmp)?;
            f.write_all(bytes).at(&tmp)?;
            f.sync_all().at(&tmp)?;
            fs::rename(&tmp, dest).at(dest)
        })();
        match res {
            Ok(()) => forget_temp(&tmp),
            Err(e) => {
                remove_temp(&tmp);
                return Err(e);
            }
        }
        fsutil::sync_dir(&self.root).at(&self.root)
    }

    /// Undo what a failed import added: temp files go with their writers;
    /// a layout this run created is removed again if nothing else landed in it.
    pub(crate) fn abandon(mut self) {
        // Our own shared lock must not count as another run's.
        self.opened = None;
        if self.fresh {
            registry::release_fresh_lock(&self.root);
            abandon_fresh(&self.root, self.created_dirs);
        }
    }

    /// Remove temp files left by runs that died (their lock is free).
    pub(crate) fn clean_stale_temps(&self) {
        clean_stale_temps_in(&self.root);
    }
}

impl Commit<'_> {
    /// [`Commit::apply_with`] for a change that does not depend on what
    /// the index holds (the tests' shorthand).
    #[cfg(test)]
    pub(crate) fn apply(self, change: IndexChange) -> Result<()> {
        self.apply_with(|_, _| Ok(change))
    }

    /// Apply a change to `index.json` under the layout lock (see
    /// [`IndexChange`] for tagged and untagged entries): `build` gets the
    /// layout and the current `index.json` (what a tag names now, so the
    /// caller learns what it moves a tag from) and returns the change
    /// (writing any blob it names with [`Layout::write_blob`] first). So two
    /// runs adding platforms to one image index never lose each other's
    /// platform.
    ///
    /// Every other descriptor, annotation and unknown field is kept as it
    /// was. This ends the commit that [`Layout::publish`] started.
    pub(crate) fn apply_with<F>(self, build: F) -> Result<()>
    where
        F: FnOnce(&Layout, &CurrentIndex) -> Result<IndexChange>,
    {
        let root = &self.layout.root;
        let _lock = DirLock::acquire(root).at(root)?;
        let path = root.join("index.json");
        let existing = Reader::new(root).index_json_if_exists()?;
        let current = CurrentIndex(match &existing {
            Some(bytes) => Some(parse_index(&path, bytes)?),
            None => None,
        });
        let change = build(self.layout, &current)?;
        self.layout
            .write_index(&path, existing.as_deref(), change)?;
        self.token.published();
        Ok(())
    }
}

/// `index.json` as it is under the layout lock (none yet: `None`).
#[derive(Debug)]
pub(crate) struct CurrentIndex(Option<serde_json::Map<String, Value>>);

impl CurrentIndex {
    /// The descriptor the index names `tag`, if any.
    pub(crate) fn tagged(&self, tag: &str) -> Option<Value> {
        self.0.as_ref().and_then(|i| tagged(i, tag))
    }

    /// The digest `tag` names now, when it is not `new`: what a change
    /// naming `new` moves the tag from.
    pub(crate) fn moved_from(
        &self,
        tag: &str,
        new: &crate::digest::Digest,
    ) -> Option<crate::digest::Digest> {
        let old = self.tagged(tag)?;
        let old = crate::digest::Digest::parse(old.get("digest")?.as_str()?).ok()?;
        (old != *new).then_some(old)
    }
}

/// The descriptor an `index.json` (parsed) names `tag`, if any.
fn tagged(index: &serde_json::Map<String, Value>, tag: &str) -> Option<Value> {
    index
        .get("manifests")
        .and_then(Value::as_array)
        .and_then(|m| {
            m.iter()
                .find(|d| crate::spec::ref_name::ref_name(d) == Some(tag))
        })
        .cloned()
}

impl Layout {
    /// The descriptor `index.json` names `tag` now, read without the lock:
    /// for refusing early what [`Commit::apply_with`] would refuse.
    pub(crate) fn tagged_descriptor(&self, tag: &str) -> Result<Option<Value>> {
        let path = self.root.join("index.json");
        match Reader::new(&self.root).index_json_if_exists()? {
            Some(bytes) => Ok(tagged(&parse_index(&path, &bytes)?, tag)),
            None => Ok(None),
        }
    }

    /// Whether an image index among `entries` (of `index.json`) lists
    /// `digest`. An index blob that cannot be read lists nothing: the
    /// untagged entries about `digest` then go, as verify would find them
    /// dangling.
    fn lists(&self, entries: &[Value], digest: &str) -> bool {
        let reader = Reader::new(&self.root);
        let indexes = entries.iter().filter_map(|d| {
            let desc = crate::spec::descriptor::judge(d).strict().ok()?;
            let is_index = crate::spec::media_type::doc_kind(&desc.media_type)
                == crate::spec::media_type::DocKind::Index;
            is_index.then(|| desc.blob())
        });
        indexes
            .filter_map(|blob| reader.json(&blob).ok())
            .any(|index| {
                index
                    .get("manifests")
                    .and_then(Value::as_array)
                    .is_some_and(|m| {
                        m.iter()
                            .any(|d| d.get("digest").and_then(Value::as_str) == Some(digest))
                    })
            })
    }

    /// Write a small blob (a document built under the layout lock) to
    /// `blobs/sha256/` atomically and durably; returns its digest and size.
    pub(crate) fn write_blob(&self, bytes: &[u8]) -> Result<crate::digest::Blob> {
        let blob = crate::digest::Blob {
            digest: crate::hashing::sha256_of(bytes),
            size: bytes.len() as u64,
        };
        let dest = blob.digest.blob_path(&self.root);
        self.write_atomic(&dest, bytes)?;
        let dir = self.blobs_dir();
        fsutil::sync_dir(&dir).at(&dir)?;
        Ok(blob)
    }

    /// `existing` (the bytes read under the lock) with `change` applied, written.
    fn write_index(&self, path: &Path, existing: Option<&[u8]>, change: IndexChange) -> Result<()> {
        let nested = |entries: &[Value], digest: &str| self.lists(entries, digest);
        let bytes = apply_index_change(path, existing, change, &nested)?;
        // A concurrent first import may have removed oci-layout while
        // abandoning; make sure the layout is complete before publishing.
        let marker = self.root.join("oci-layout");
        if !marker.exists() {
            self.write_atomic(&marker, OCI_LAYOUT)?;
        }
        self.write_atomic(path, &bytes)
    }
}

impl Drop for Layout {
    fn drop(&mut self) {
        if self.fresh {
            registry::forget_fresh(&self.root);
        }
    }
}

/// Create `root` if missing; returns how many directory levels this made
/// (the root and missing parents), to remove exactly those if the import fails.
fn create_root(root: &Path) -> Result<usize> {
    match fs::metadata(root) {
        Ok(m) if !m.is_dir() => Err(Error::BadLayout {
            path: root.to_path_buf(),
            reason: "exists and is not a directory; choose another --output (an archive file needs --format oci-archive)".into(),
        }),
        Ok(_) => Ok(0),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let levels = root
                .ancestors()
                .filter(|a| !a.as_os_str().is_empty())
                .take_while(|a| !a.exists())
                .count();
            fs::create_dir_all(root).at(root)?;
            Ok(levels)
        }
        Err(e) => Err(Error::Io {
            path: root.to_path_buf(),
            source: e,
        }),
    }
}

/// Remove the temp files and work directories in `dir` left by runs that
/// died: a file whose lock is free and whose pid (in its name) is gone, a
/// directory (an archive's work area) whose pid is gone.
///
/// The type is taken from the directory entry (never following a link)
/// before anything is opened: a FIFO, link, socket or device that merely
/// has our name is not ours and is left alone, and a regular file is opened
/// with `O_NOFOLLOW | O_NONBLOCK`, so no name in a shared `$TMPDIR` can make
/// the sweep wait.
pub(crate) fn clean_stale_temps_in(dir: &Path) {
    let Ok(rd) = fs::read_dir(dir) else {
        return;
    };
    for entry in rd.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !fsutil::is_temp_name(&name) || fsutil::temp_owner_alive(&name) {
            continue;
        }
        let path = entry.path();
        let Ok(ft) = entry.file_type() else {
            continue;
        };
        if ft.is_dir() {
            let _ = fs::remove_dir_all(&path);
            continue;
        }
        // A live writer holds the lock; the pid check above closes the window
        // between a writer creating its file and locking it.
        if ft.is_file() && fsutil::open_regular(&path).is_ok_and(|f| f.try_lock().is_ok()) {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Refuse a layout whose `blobs/` or `blobs/sha256/` is a symbolic link
/// (or anything but a directory): blobs written through it would land
/// outside the layout. Absent is fine (they are made as directories).
fn check_blob_dirs(root: &Path) -> Result<()> {
    let blobs = root.join("blobs");
    for dir in [blobs.clone(), blobs.join("sha256")] {
        let ft = match fs::symlink_metadata(&dir) {
            Ok(m) => m.file_type(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(Error::Io {
                    path: dir,
                    source: e,
                });
            }
        };
        if ft.is_symlink() {
            let target =
                fs::read_link(&dir).map_or_else(|e| e.to_string(), |t| t.display().to_string());
            return Err(bad(
                &dir,
                format!(
                    "is a symbolic link (to {target}); blobs are written inside the layout only: replace it with a directory"
                ),
            ));
        }
        if !ft.is_dir() {
            return Err(bad(
                &dir,
                format!(
                    "is {}, not a directory; replace it with a directory",
                    fsutil::kind_of(ft)
                ),
            ));
        }
    }
    Ok(())
}

/// Remove a layout this run was creating, if nothing else landed in it:
/// no `index.json`, no blob, no other writer's temp file.
///
/// A layout another run has open (its shared lock on `blobs/`) is left
/// alone; the caller has let go of its own lock first.
pub(crate) fn abandon_fresh(root: &Path, created_dirs: usize) {
    let Ok(_lock) = DirLock::acquire(root) else {
        return;
    };
    let _alone = match DirLock::try_exclusive(&root.join("blobs")) {
        Ok(Some(l)) => Some(l),
        Ok(None) => return,
        // No blobs/ (a skeleton cut short): nobody can have it open.
        Err(_) => None,
    };
    let index = root.join("index.json");
    let blobs = root.join("blobs").join("sha256");
    let others = fs::read_dir(root)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .any(|e| fsutil::is_temp_name(&e.file_name().to_string_lossy()))
        })
        .unwrap_or(true);
    let blobs_empty = fs::read_dir(&blobs)
        .map(|mut rd| rd.next().is_none())
        .unwrap_or(false);
    if !lists_nothing(&index) || others || !blobs_empty {
        return;
    }
    // The marker goes first: without it the rest is not a layout.
    let _ = fs::remove_file(root.join("oci-layout"));
    let _ = fs::remove_file(&index);
    let _ = fs::remove_dir(&blobs);
    let _ = fs::remove_dir(root.join("blobs"));
    // The root and the parents this run made, innermost first;
    // remove_dir stops at the first that is not empty.
    for dir in root.ancestors().take(created_dirs) {
        if fs::remove_dir(dir).is_err() {
            break;
        }
    }
}

/// `index.json` is missing or lists no manifest: what a fresh layout starts with.
fn lists_nothing(index: &Path) -> bool {
    match reader::read_small(index, reader::MAX_INDEX_JSON) {
        Ok(bytes) => serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| {
                v.get("manifests")
                    .and_then(Value::as_array)
                    .map(Vec::is_empty)
            })
            .unwrap_or(false),
        Err(Error::Io { source, .. }) => source.kind() == io::ErrorKind::NotFound,
        Err(_) => false,
    }
}

fn looks_like_our_fresh_layout(root: &Path) -> Result<bool> {
    // Another importer may be creating this layout right now, or died
    // doing so: it has made blobs/, temp files and an empty index.json but
    // not yet written oci-layout, which comes last.
    for entry in fs::read_dir(root).at(root)? {
        let entry = entry.at(root)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = name == "blobs"
            || name.starts_with(TEMP_PREFIX)
            || (name == "index.json" && lists_nothing(&entry.path()));
        if !ours {
            return Ok(false);
        }
    }
    Ok(true)
}

fn check_layout_version(path: &Path, bytes: &[u8]) -> Result<()> {
    match layout_version_problem(bytes) {
        None => Ok(()),
        Some(reason) => Err(Error::BadLayout {
            path: path.to_path_buf(),
            reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ref_name::REF_NAME;
    use serde_json::json;

    fn desc(hex: char, tag: &str) -> Value {
        json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{}", hex.to_string().repeat(64)),
            "size": 10,
            "annotations": {REF_NAME: tag}
        })
    }

    #[test]
    fn new_layout_then_append_moves_tag_and_keeps_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("img");
        let l = Layout::open_or_create(&root).unwrap();
        assert_eq!(fs::read(root.join("oci-layout")).unwrap(), OCI_LAYOUT);
        l.publish(Vec::new())
            .unwrap()
            .apply(IndexChange::tag("one", desc('a', "one")))
            .unwrap();
        // An unknown top-level field and annotation survive.
        let p = root.join("index.json");
        let mut v: Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
        v["x-custom"] = json!({"keep": true});
        v["annotations"] = json!({"org.example": "1"});
        fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();

        let l = Layout::open_or_create(&root).unwrap();
        for (hex, tag) in [('b', "two"), ('c', "one")] {
            let commit = l.publish(Vec::new()).unwrap();
            commit.apply(IndexChange::tag(tag, desc(hex, tag))).unwrap();
        }
        let v: Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
        let m = v["manifests"].as_array().unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0]["annotations"][REF_NAME], "two");
        assert_eq!(m[1]["digest"], format!("sha256:{}", "c".repeat(64)));
        assert_eq!(v["x-custom"]["keep"], true);
        assert_eq!(v["annotations"]["org.example"], "1");
    }

    #[test]
    fn refuses_foreign_directory_and_bad_versions() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        assert!(matches!(
            Layout::open_or_create(dir.path()),
            Err(Error::NotALayout { .. })
        ));
        let d2 = tempfile::tempdir().unwrap();
        fs::write(
            d2.path().join("oci-layout"),
            br#"{"imageLayoutVersion":"2.0.0"}"#,
        )
        .unwrap();
        let e = Layout::open_or_create(d2.path()).unwrap_err();
        assert!(
            e.to_string()
                .contains("imageLayoutVersion is \"2.0.0\", expected \"1.0.0\""),
            "{e}"
        );
    }

    #[test]
    fn index_with_path_traversal_digest_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::open_or_create(dir.path()).unwrap();
        let bad = json!({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json",
             "digest": "sha256:../../etc/passwd", "size": 1}]});
        fs::write(
            dir.path().join("index.json"),
            serde_json::to_vec(&bad).unwrap(),
        )
        .unwrap();
        // Refused before any blob moves, and again by the merge under the lock.
        let b = l.blob_from_bytes(b"{}").unwrap();
        let digest = b.blob().digest.clone();
        let e = l.publish(vec![b]).unwrap_err();
        assert!(e.to_string().contains("manifests[0]"), "{e}");
        assert!(!digest.blob_path(l.root()).exists());
        let path = l.root().join("index.json");
        let existing = fs::read(&path).unwrap();
        let change = IndexChange::tag("x", desc('a', "x"));
        let e = l.write_index(&path, Some(&existing), change).unwrap_err();
        assert!(e.to_string().contains("manifests[0]"), "{e}");
    }

    #[test]
    fn abandoned_fresh_layout_disappears_and_temps_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("new");
        let l = Layout::open_or_create(&root).unwrap();
        let mut w = l.blob_writer().unwrap();
        w.write_all(b"data").unwrap();
        let pending = w.finish().unwrap();
        assert_eq!(pending.blob().digest, crate::hashing::sha256_of(b"data"));
        drop(pending);
        l.abandon();
        assert!(!root.exists());
    }

    #[test]
    fn publish_and_stale_temp_cleanup() {
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::open_or_create(dir.path()).unwrap();
        let b = l.blob_from_bytes(b"{}").unwrap();
        let digest = b.blob().digest.clone();
        let _ = l.publish(vec![b]).unwrap();
        let path = digest.blob_path(l.root());
        assert_eq!(fs::read(path).unwrap(), b"{}");
        // A stale temp (no lock held) is removed; a live one is not.
        // pid 4194304 is above Linux's pid_max, so never alive.
        let stale = dir.path().join(format!("{TEMP_PREFIX}4194304-2-3"));
        fs::write(&stale, b"x").unwrap();
        let live = l.blob_writer().unwrap();
        l.clean_stale_temps();
        assert!(!stale.exists());
        assert!(live.temp_path().exists());
    }
}
