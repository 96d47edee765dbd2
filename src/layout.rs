//! Writing an OCI image layout: blobs that appear only when complete, and an
//! `index.json` replaced atomically under a lock.
//!
//! Protocol, so that a crash or a refusal at any point leaves the layout as
//! it was and concurrent writers never lose a tag:
//! 0. A new layout gets `blobs/sha256/` and an empty `index.json` first and
//!    its `oci-layout` marker last (a failed first import removes the marker
//!    first), so a directory with the marker is always a valid layout.
//! 1. Blobs are streamed into temporary files in the layout's root
//!    (`.ociimport-tmp-*`), each held under an exclusive `flock` while its
//!    writer lives, so a later run can tell a stale temp file (lock free)
//!    from a live one.
//! 2. Nothing is renamed into `blobs/sha256/` until every input of the
//!    import has been read, decoded and verified. Then each temp file is
//!    fsynced and renamed to its digest, and the directory fsynced.
//! 3. The layout directory itself is locked (`flock` on the directory, which
//!    is never renamed), `index.json` re-read, merged, written to a temp file,
//!    fsynced and renamed over the old one, and the lock released.
//! 4. Every temp file and new layout of the process is registered, so that
//!    on SIGINT/SIGTERM [`remove_registered_temps`] undoes them; a commit
//!    (steps 2-3) already under way is allowed to finish first.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use serde_json::{Map, Value};

use crate::digest::Blob;
use crate::error::{Error, IoContext, Result, mark};
use crate::hashing::HashWriter;
use crate::spec::index::{merge_index_bytes, parse_index};
use crate::spec::oci_layout::{OCI_LAYOUT, layout_version_problem};

/// Prefix of our temporary files in the layout root.
pub const TEMP_PREFIX: &str = ".ociimport-tmp-";

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// What this process has in flight, so that a signal handler can undo it
/// (see [`remove_registered_temps`]).
struct Registry {
    /// Temp files (or directories) that exist and are not yet published.
    temps: Vec<PathBuf>,
    /// Layouts this process is creating: (root, whether it made the directory).
    fresh: Vec<(PathBuf, usize)>,
    /// Layouts between the first blob rename and the `index.json` update.
    committing: usize,
    /// Layouts whose `index.json` this process has updated.
    published: Vec<PathBuf>,
    /// Set by [`remove_registered_temps`]: no new temp file or commit may start.
    closed: bool,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    temps: Vec::new(),
    fresh: Vec::new(),
    committing: 0,
    published: Vec::new(),
    closed: false,
});
/// Signalled when a commit ends.
static COMMIT_ENDED: Condvar = Condvar::new();

fn registry() -> MutexGuard<'static, Registry> {
    // The registry holds plain data; a panic elsewhere leaves it usable.
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

fn interrupted(path: &Path) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::Interrupted, "interrupted by a signal"),
    }
}

/// Create the temp file `path` (exclusively) and register it, atomically with
/// respect to [`remove_registered_temps`], so no temp file can appear after
/// the cleanup ran. The caller locks it.
fn create_temp(path: &Path) -> Result<File> {
    let mut reg = registry();
    if reg.closed {
        return Err(interrupted(path));
    }
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .at(path)?;
    reg.temps.push(path.to_path_buf());
    Ok(file)
}

/// Forget a temp path that was renamed or removed.
fn forget_temp(reg: &mut Registry, path: &Path) {
    if let Some(i) = reg.temps.iter().position(|p| p == path) {
        reg.temps.swap_remove(i);
    }
}

/// Remove a temp file of ours and forget it.
fn remove_temp(path: &Path) {
    let mut reg = registry();
    let _ = fs::remove_file(path);
    forget_temp(&mut reg, path);
}

/// Register a temporary file or directory created outside this module (for
/// example an archive's work directory) so that [`remove_registered_temps`]
/// removes it. Returns an error if the process is being interrupted.
pub fn register_temp(path: &Path) -> Result<()> {
    let mut reg = registry();
    if reg.closed {
        return Err(interrupted(path));
    }
    reg.temps.push(path.to_path_buf());
    Ok(())
}

/// Undo [`register_temp`] (the caller removed or kept the path).
pub fn unregister_temp(path: &Path) {
    forget_temp(&mut registry(), path);
}

/// What [`remove_registered_temps`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleanup {
    /// Temp files and directories removed.
    pub removed: usize,
    /// Layouts whose `index.json` this process updated before the cleanup
    /// (the import had already been published when the signal came).
    pub published: Vec<PathBuf>,
}

/// Remove every temp file this process has in flight, and every layout it
/// was creating and has not published, so that the process can exit at once
/// (on SIGINT/SIGTERM) leaving every layout as it was.
///
/// If a commit is in progress (blobs being renamed, `index.json` being
/// written under the layout lock) it is allowed to finish first: a commit is
/// short, interrupting it half-way would leave unreferenced blobs, and it
/// holds the layout lock that the cleanup of a new layout needs. Afterwards
/// no new temp file can be created and no commit can start in this process.
pub fn remove_registered_temps() -> Cleanup {
    let mut reg = registry();
    while reg.committing > 0 {
        reg = COMMIT_ENDED
            .wait(reg)
            .unwrap_or_else(PoisonError::into_inner);
    }
    reg.closed = true;
    let temps = std::mem::take(&mut reg.temps);
    let mut removed = 0;
    for t in &temps {
        let gone = match fs::symlink_metadata(t) {
            Ok(m) if m.is_dir() => fs::remove_dir_all(t).is_ok(),
            Ok(_) => fs::remove_file(t).is_ok(),
            Err(_) => false,
        };
        removed += usize::from(gone);
    }
    for (root, created_dir) in std::mem::take(&mut reg.fresh) {
        abandon_fresh(&root, created_dir);
    }
    Cleanup {
        removed,
        // A layout inside a removed temp directory was never the user's.
        published: reg
            .published
            .iter()
            .filter(|r| r.join("index.json").exists())
            .cloned()
            .collect(),
    }
}

/// An OCI image layout directory opened for appending.
#[derive(Debug)]
pub struct Layout {
    root: PathBuf,
    /// We made the directory (or found it empty): on failure we remove what we added.
    fresh: bool,
    /// Directory levels this run created: the root and any missing parents.
    created_dirs: usize,
    /// Between the first blob rename and the end of the `index.json` update.
    committing: AtomicBool,
}

impl Layout {
    /// Open `root` as a layout, creating it if missing or empty.
    ///
    /// A directory that exists, is not empty and has no `oci-layout` file is
    /// refused: it is probably not meant to be written into.
    pub fn open_or_create(root: &Path) -> Result<Layout> {
        let mut created_dir = 0usize;
        match fs::metadata(root) {
            Ok(m) if !m.is_dir() => {
                return Err(Error::NotALayout {
                    path: root.to_path_buf(),
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Count the levels that do not exist yet, to remove exactly
                // those again if this import fails.
                created_dir = root
                    .ancestors()
                    .filter(|a| !a.as_os_str().is_empty())
                    .take_while(|a| !a.exists())
                    .count();
                fs::create_dir_all(root).at(root)?;
            }
            Err(e) => {
                return Err(Error::Io {
                    path: root.to_path_buf(),
                    source: e,
                });
            }
        }
        let marker = root.join("oci-layout");
        let fresh = match fs::read(&marker) {
            Ok(bytes) => {
                check_layout_version(&marker, &bytes)?;
                false
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let empty = fs::read_dir(root).at(root)?.next().is_none();
                if !empty && !looks_like_our_fresh_layout(root)? {
                    return Err(Error::NotALayout {
                        path: root.to_path_buf(),
                    });
                }
                true
            }
            Err(e) => {
                return Err(Error::Io {
                    path: marker,
                    source: e,
                });
            }
        };
        let layout = Layout {
            root: root.to_path_buf(),
            fresh,
            created_dirs: created_dir,
            committing: AtomicBool::new(false),
        };
        let blobs = layout.blobs_dir();
        if fresh {
            // Registered before anything is written, so an interrupt removes it again.
            registry().fresh.push((root.to_path_buf(), created_dir));
            // The marker comes last: a directory with oci-layout is always a
            // complete layout (blobs/ and an index, perhaps empty), so a
            // crash at any point leaves either a valid layout or a
            // marker-less skeleton that the next run takes as fresh.
            let made = fs::create_dir_all(&blobs)
                .at(&blobs)
                .and_then(|()| layout.ensure_index())
                .and_then(|()| layout.write_atomic(&marker, OCI_LAYOUT));
            if let Err(e) = made {
                abandon_fresh(root, created_dir);
                return Err(e);
            }
        }
        fs::create_dir_all(&blobs).at(&blobs)?;
        layout.clean_stale_temps();
        Ok(layout)
    }

    /// The layout's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `blobs/sha256`.
    pub fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs").join("sha256")
    }

    fn temp_path(&self) -> PathBuf {
        let seq = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        self.root.join(format!(
            "{TEMP_PREFIX}{}-{seq}-{nanos:08x}",
            std::process::id()
        ))
    }

    /// A new blob being written; it becomes visible only through [`Layout::publish`].
    pub fn blob_writer(&self) -> Result<BlobWriter> {
        let path = self.temp_path();
        let file = create_temp(&path)?;
        // Held until the writer is dropped, so cleanup by other runs skips it.
        if let Err(e) = file.lock() {
            remove_temp(&path);
            return Err(Error::Io { path, source: e });
        }
        Ok(BlobWriter {
            out: Some(HashWriter::new(BufWriter::with_capacity(1 << 20, file))),
            path,
        })
    }

    /// A small blob (config, manifest) held in memory.
    pub fn blob_from_bytes(&self, bytes: &[u8]) -> Result<PendingBlob> {
        let mut w = self.blob_writer()?;
        w.write_all(bytes).map_err(|e| Error::Io {
            path: w.path.clone(),
            source: e,
        })?;
        w.finish()
    }

    /// Move finished blobs into `blobs/sha256/`, durably.
    ///
    /// An existing blob of the same digest is replaced by the new, verified
    /// bytes (an atomic rename), which also repairs one that was damaged.
    ///
    /// This starts the commit: from here until [`Layout::add_to_index`]
    /// returns (or the layout is dropped), [`remove_registered_temps`] waits
    /// rather than interrupting half-way.
    pub fn publish(&self, blobs: Vec<PendingBlob>) -> Result<()> {
        self.begin_commit()?;
        let dir = self.blobs_dir();
        for mut b in blobs {
            let dest = b.measured.digest.blob_path(&self.root);
            fs::rename(&b.temp, &dest).at(&dest)?;
            b.published = true;
            forget_temp(&mut registry(), &b.temp);
        }
        sync_dir(&dir)?;
        sync_dir(&self.root)
    }

    fn begin_commit(&self) -> Result<()> {
        let mut reg = registry();
        if reg.closed {
            return Err(interrupted(&self.root));
        }
        if !self.committing.swap(true, Ordering::SeqCst) {
            reg.committing += 1;
        }
        Ok(())
    }

    fn end_commit(&self, published: bool) {
        let mut reg = registry();
        if published && !reg.published.contains(&self.root) {
            reg.published.push(self.root.clone());
        }
        if self.committing.swap(false, Ordering::SeqCst) {
            reg.committing = reg.committing.saturating_sub(1);
            COMMIT_ENDED.notify_all();
        }
    }

    /// Add `descriptor` to `index.json` under `tag`, under the layout lock.
    ///
    /// An existing entry with the same ref name is replaced; every other
    /// descriptor, annotation and unknown field is kept as it was.
    ///
    /// This ends the commit that [`Layout::publish`] started.
    pub fn add_to_index(&self, descriptor: Value, tag: &str) -> Result<()> {
        let result = (|| {
            let lock = File::open(&self.root).at(&self.root)?;
            lock.lock().at(&self.root)?;
            let result = self.merge_index(descriptor, tag);
            // Closing the fd releases the flock even if unlock fails.
            let _ = lock.unlock();
            result
        })();
        self.end_commit(result.is_ok());
        result
    }

    fn merge_index(&self, descriptor: Value, tag: &str) -> Result<()> {
        let path = self.root.join("index.json");
        let existing = match fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::Io { path, source: e }),
        };
        let bytes = merge_index_bytes(&path, existing.as_deref(), descriptor, tag)?;
        // A concurrent first import may have removed oci-layout while
        // abandoning; make sure the layout is complete before publishing.
        let marker = self.root.join("oci-layout");
        if !marker.exists() {
            self.write_atomic(&marker, OCI_LAYOUT)?;
        }
        self.write_atomic(&path, &bytes)
    }

    /// Write an empty `index.json` unless there is one, under the layout
    /// lock so that a concurrent import's index is never replaced.
    ///
    /// Counted as a commit: it holds the layout lock while it needs the
    /// registry, and the interrupt cleanup, which holds the registry and
    /// needs the layout lock, must wait for it rather than deadlock.
    fn ensure_index(&self) -> Result<()> {
        self.begin_commit()?;
        let result = (|| {
            let lock = File::open(&self.root).at(&self.root)?;
            lock.lock().at(&self.root)?;
            let path = self.root.join("index.json");
            let result = match fs::symlink_metadata(&path) {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    serde_json::to_vec(&Value::Object(empty_index()))
                        .map_err(|e| Error::Spec {
                            what: "index.json",
                            reason: e.to_string(),
                        })
                        .and_then(|bytes| self.write_atomic(&path, &bytes))
                }
                Err(e) => Err(Error::Io { path, source: e }),
            };
            let _ = lock.unlock();
            result
        })();
        self.end_commit(false);
        result
    }

    /// Refuse early (before any blob is published) an existing `index.json`
    /// that the merge would refuse; the merge re-reads it under the lock.
    pub fn check_index(&self) -> Result<()> {
        let path = self.root.join("index.json");
        match fs::read(&path) {
            Ok(bytes) => parse_index(&path, &bytes).map(|_| ()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::Io { path, source: e }),
        }
    }

    /// Replace `dest` with `bytes` atomically: temp file, fsync, rename, fsync dir.
    pub fn write_atomic(&self, dest: &Path, bytes: &[u8]) -> Result<()> {
        let tmp = self.temp_path();
        let mut f = create_temp(&tmp)?;
        let res = (|| {
            f.lock().at(&tmp)?;
            f.write_all(bytes).at(&tmp)?;
            f.sync_all().at(&tmp)?;
            fs::rename(&tmp, dest).at(dest)
        })();
        match res {
            Ok(()) => forget_temp(&mut registry(), &tmp),
            Err(e) => {
                remove_temp(&tmp);
                return Err(e);
            }
        }
        sync_dir(&self.root)
    }

    /// Undo what a failed import added: temp files go with their writers;
    /// a layout this run created is removed again if nothing else landed in it.
    pub fn abandon(self) {
        if self.fresh {
            abandon_fresh(&self.root, self.created_dirs);
        }
    }

    /// Remove temp files left by runs that died (their lock is free).
    pub fn clean_stale_temps(&self) {
        clean_stale_temps_in(&self.root);
    }
}

/// Remove the temp files and work directories in `dir` left by runs that
/// died: a file whose lock is free and whose pid (in its name) is gone, a
/// directory (an archive's work area) whose pid is gone.
pub fn clean_stale_temps_in(dir: &Path) {
    let Ok(rd) = fs::read_dir(dir) else {
        return;
    };
    for entry in rd.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(TEMP_PREFIX) || owner_alive(&name) {
            continue;
        }
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = fs::remove_dir_all(&path);
            continue;
        }
        // A live writer holds the lock; the pid check above closes the window
        // between a writer creating its file and locking it.
        if OpenOptions::new()
            .read(true)
            .open(&path)
            .is_ok_and(|f| f.try_lock().is_ok())
        {
            let _ = fs::remove_file(&path);
        }
    }
}

impl Drop for Layout {
    fn drop(&mut self) {
        // A commit that never reached index.json (an error between publish
        // and add_to_index) must not make an interrupt wait forever.
        self.end_commit(false);
        if self.fresh {
            let mut reg = registry();
            if let Some(i) = reg.fresh.iter().position(|(r, _)| r == &self.root) {
                reg.fresh.swap_remove(i);
            }
        }
    }
}

/// Remove a layout this run was creating, if nothing else landed in it:
/// no `index.json`, no blob, no other writer's temp file.
fn abandon_fresh(root: &Path, created_dirs: usize) {
    let lock = match File::open(root) {
        Ok(f) => f,
        Err(_) => return,
    };
    if lock.lock().is_err() {
        return;
    }
    let index = root.join("index.json");
    if lists_nothing(&index) {
        let blobs = root.join("blobs").join("sha256");
        let others = fs::read_dir(root)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .any(|e| e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
            })
            .unwrap_or(true);
        let blobs_empty = fs::read_dir(&blobs)
            .map(|mut rd| rd.next().is_none())
            .unwrap_or(false);
        if !others && blobs_empty {
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
    }
    let _ = lock.unlock();
}

/// `index.json` is missing or lists no manifest: what a fresh layout starts with.
fn lists_nothing(index: &Path) -> bool {
    match fs::read(index) {
        Ok(bytes) => serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| {
                v.get("manifests")
                    .and_then(Value::as_array)
                    .map(Vec::is_empty)
            })
            .unwrap_or(false),
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    }
}

/// Whether the process that named a temp file `.ociimport-tmp-<pid>-...` still runs.
fn owner_alive(name: &str) -> bool {
    let pid = name
        .strip_prefix(TEMP_PREFIX)
        .and_then(|r| r.split('-').next())
        .and_then(|p| p.parse::<u32>().ok());
    match pid {
        Some(pid) if pid == std::process::id() => true,
        // Without /proc we cannot tell; the lock alone decides.
        Some(pid) => {
            Path::new("/proc/self").exists() && Path::new(&format!("/proc/{pid}")).exists()
        }
        None => false,
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

/// An image index with no manifests.
fn empty_index() -> Map<String, Value> {
    crate::spec::index::empty_index()
}

/// fsync a directory so that renames into it survive a crash.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

/// A blob being streamed into a temporary file of the layout.
pub struct BlobWriter {
    out: Option<HashWriter<BufWriter<File>>>,
    path: PathBuf,
}

impl BlobWriter {
    /// The temporary file's path.
    pub fn temp_path(&self) -> &Path {
        &self.path
    }

    /// Bytes written so far.
    pub fn count(&self) -> u64 {
        self.out.as_ref().map_or(0, |o| o.count())
    }

    /// Flush and fsync; the blob is complete but not yet published.
    pub fn finish(mut self) -> Result<PendingBlob> {
        let Some(out) = self.out.take() else {
            return Err(Error::Io {
                path: self.path.clone(),
                source: io::Error::other("blob writer already finished"),
            });
        };
        let (buf, measured) = out.finish();
        let file = buf.into_inner().map_err(|e| Error::Io {
            path: self.path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().at(&self.path)?;
        Ok(PendingBlob {
            temp: std::mem::take(&mut self.path),
            measured,
            _lock: file,
            published: false,
        })
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.out.as_mut() {
            Some(o) => o.write(buf).map_err(|e| mark(&self.path, e)),
            None => Err(io::Error::other("blob writer already finished")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.out.as_mut() {
            Some(o) => o.flush().map_err(|e| mark(&self.path, e)),
            None => Ok(()),
        }
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // Cleanup only: an unfinished blob is never published.
        if !self.path.as_os_str().is_empty() {
            remove_temp(&self.path);
        }
    }
}

/// A complete blob waiting in a temp file for [`Layout::publish`].
pub struct PendingBlob {
    temp: PathBuf,
    measured: Blob,
    _lock: File,
    published: bool,
}

impl PendingBlob {
    /// Digest and size of the blob.
    pub fn measured(&self) -> &Blob {
        &self.measured
    }
}

impl Drop for PendingBlob {
    fn drop(&mut self) {
        if !self.published {
            remove_temp(&self.temp);
        }
    }
}

/// Read a whole small file (a manifest, a config) from the layout, refusing large ones.
pub fn read_small(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let f = File::open(path).at(path)?;
    let mut buf = Vec::new();
    f.take(limit + 1).read_to_end(&mut buf).at(path)?;
    if buf.len() as u64 > limit {
        return Err(Error::BadLayout {
            path: path.to_path_buf(),
            reason: format!("larger than {limit} bytes"),
        });
    }
    Ok(buf)
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
        l.add_to_index(desc('a', "one"), "one").unwrap();
        // An unknown top-level field and annotation survive.
        let p = root.join("index.json");
        let mut v: Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
        v["x-custom"] = json!({"keep": true});
        v["annotations"] = json!({"org.example": "1"});
        fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();

        let l = Layout::open_or_create(&root).unwrap();
        l.add_to_index(desc('b', "two"), "two").unwrap();
        l.add_to_index(desc('c', "one"), "one").unwrap();
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
        let e = l.add_to_index(desc('a', "x"), "x").unwrap_err();
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
        assert_eq!(
            pending.measured().digest,
            crate::hashing::sha256_of(b"data")
        );
        drop(pending);
        l.abandon();
        assert!(!root.exists());
    }

    #[test]
    fn publish_and_stale_temp_cleanup() {
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::open_or_create(dir.path()).unwrap();
        let b = l.blob_from_bytes(b"{}").unwrap();
        let digest = b.measured().digest.clone();
        l.publish(vec![b]).unwrap();
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
