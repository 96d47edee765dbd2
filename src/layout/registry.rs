//! The process-wide registry of what this run has in flight (temp files,
//! layouts being created, commits under way), so that a SIGINT/SIGTERM
//! handler can undo it: [`remove_registered_temps`].

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::error::{Error, IoContext, Result};
use crate::fsutil;

/// What this process has in flight.
struct Registry {
    /// Temp files (or directories) that exist and are not yet published.
    temps: Vec<PathBuf>,
    /// Layouts this process is creating.
    fresh: Vec<Fresh>,
    /// Commits under way (blob renames and `index.json` updates).
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
/// A layout this process is creating.
struct Fresh {
    root: PathBuf,
    /// Directory levels this run made (the root and missing parents).
    created_dirs: usize,
    /// Our shared lock on its `blobs/` while it is open: kept here so the
    /// interrupt cleanup can let go of it before asking whether another run
    /// has the layout open too.
    open: Option<fsutil::DirLock>,
}

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
pub(crate) fn create_temp(path: &Path) -> Result<File> {
    let mut reg = registry();
    if reg.closed {
        return Err(interrupted(path));
    }
    let file = fsutil::create_new(path).at(path)?;
    reg.temps.push(path.to_path_buf());
    Ok(file)
}

/// Forget a temp path that was renamed away.
pub(crate) fn forget_temp(path: &Path) {
    let mut reg = registry();
    if let Some(i) = reg.temps.iter().position(|p| p == path) {
        reg.temps.swap_remove(i);
    }
}

/// Remove a temp file of ours and forget it.
pub(crate) fn remove_temp(path: &Path) {
    let mut reg = registry();
    let _ = fs::remove_file(path);
    if let Some(i) = reg.temps.iter().position(|p| p == path) {
        reg.temps.swap_remove(i);
    }
}

/// Register a temporary file or directory created outside this module (an
/// archive's work directory) so that [`remove_registered_temps`] removes it.
/// Returns an error if the process is being interrupted.
pub(crate) fn register_temp(path: &Path) -> Result<()> {
    let mut reg = registry();
    if reg.closed {
        return Err(interrupted(path));
    }
    reg.temps.push(path.to_path_buf());
    Ok(())
}

/// Undo [`register_temp`] (the caller removed or kept the path).
pub(crate) fn unregister_temp(path: &Path) {
    forget_temp(path);
}

/// Record a layout this run is creating, so an interrupt removes it again.
pub(crate) fn register_fresh(root: &Path, created_dirs: usize) {
    registry().fresh.push(Fresh {
        root: root.to_path_buf(),
        created_dirs,
        open: None,
    });
}

/// Keep `lock` (our shared lock on the fresh layout's `blobs/`) until the
/// layout is forgotten or abandoned; `Err(lock)` if `root` is not registered.
pub(crate) fn hold_fresh_open(
    root: &Path,
    lock: fsutil::DirLock,
) -> std::result::Result<(), fsutil::DirLock> {
    match registry().fresh.iter_mut().find(|f| f.root == root) {
        Some(f) => {
            f.open = Some(lock);
            Ok(())
        }
        None => Err(lock),
    }
}

/// Let go of our lock on the fresh layout at `root`, so that only other
/// runs' locks keep it from being removed.
pub(crate) fn release_fresh_lock(root: &Path) {
    if let Some(f) = registry().fresh.iter_mut().find(|f| f.root == root) {
        f.open = None;
    }
}

/// The fresh layout at `root` is no longer this run's to remove.
pub(crate) fn forget_fresh(root: &Path) {
    let mut reg = registry();
    if let Some(i) = reg.fresh.iter().position(|f| f.root == root) {
        reg.fresh.swap_remove(i);
    }
}

/// A commit under way: while one lives, [`remove_registered_temps`] waits
/// rather than interrupting half-way. Ends when dropped.
#[derive(Debug)]
pub(crate) struct CommitToken {
    root: PathBuf,
}

impl CommitToken {
    /// Start a commit on the layout at `root`, unless the process is being interrupted.
    pub(crate) fn begin(root: &Path) -> Result<CommitToken> {
        let mut reg = registry();
        if reg.closed {
            return Err(interrupted(root));
        }
        reg.committing += 1;
        Ok(CommitToken {
            root: root.to_path_buf(),
        })
    }

    /// The layout's `index.json` now lists the new image.
    pub(crate) fn published(&self) {
        let mut reg = registry();
        if !reg.published.contains(&self.root) {
            reg.published.push(self.root.clone());
        }
    }
}

impl Drop for CommitToken {
    fn drop(&mut self) {
        let mut reg = registry();
        reg.committing = reg.committing.saturating_sub(1);
        COMMIT_ENDED.notify_all();
    }
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
    for f in std::mem::take(&mut reg.fresh) {
        // Our lock goes first: only another run's keeps the layout.
        drop(f.open);
        super::abandon_fresh(&f.root, f.created_dirs);
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::Path;
    use std::process::Command;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::layout::Layout;
    use crate::spec::ref_name::REF_NAME;

    const CHILD: &str = "layout::registry::tests::registry_child";

    /// The registry behind the SIGINT/SIGTERM cleanup. `remove_registered_temps`
    /// closes the process-wide registry for good, so each scenario runs in a
    /// child process (this test binary again, running only `registry_child`).
    #[test]
    fn interrupt_cleanup_removes_temps_and_waits_for_a_commit() {
        for scenario in ["streaming", "commit"] {
            let tmp = tempfile::tempdir().unwrap();
            let o = Command::new(std::env::current_exe().unwrap())
                .args(["--exact", CHILD, "--nocapture", "--test-threads=1"])
                .env("OCIIMPORT_REGISTRY_CHILD", scenario)
                .env("OCIIMPORT_REGISTRY_DIR", tmp.path())
                .output()
                .unwrap();
            let out = String::from_utf8_lossy(&o.stdout);
            assert!(
                o.status.success(),
                "{scenario}: {out}{}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert!(
                out.contains(&format!("registry scenario {scenario}: ok")),
                "{scenario}: the child did not run the scenario: {out}"
            );
        }
    }

    fn temps_in(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| crate::fsutil::is_temp_name(n))
            .collect();
        v.sort();
        v
    }

    fn tags(dir: &Path) -> Vec<String> {
        let v: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join("index.json")).unwrap()).unwrap();
        v["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["annotations"][REF_NAME].as_str().unwrap().to_string())
            .collect()
    }

    fn descriptor(digest: &str, tag: &str) -> serde_json::Value {
        serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": 2,
            "annotations": {REF_NAME: tag}
        })
    }

    /// The child side of the test above; does nothing unless that test started it.
    #[test]
    fn registry_child() {
        let Ok(scenario) = std::env::var("OCIIMPORT_REGISTRY_CHILD") else {
            return;
        };
        let dir = PathBuf::from(std::env::var_os("OCIIMPORT_REGISTRY_DIR").unwrap());
        match scenario.as_str() {
            "streaming" => streaming(&dir),
            "commit" => commit(&dir),
            other => panic!("unknown scenario {other}"),
        }
        println!("registry scenario {scenario}: ok");
    }

    /// A fresh layout with a blob half written: the cleanup removes the
    /// temp file and the layout directory it created.
    fn streaming(dir: &Path) {
        let root = dir.join("fresh");
        let layout = Layout::open_or_create(&root).unwrap();
        let mut w = layout.blob_writer().unwrap();
        w.write_all(b"half a layer").unwrap();
        assert!(w.temp_path().exists());
        let cleanup = remove_registered_temps();
        assert_eq!(cleanup.removed, 1);
        assert!(cleanup.published.is_empty());
        assert!(!w.temp_path().exists());
        assert!(!root.exists(), "the new layout directory was left");
        // Nothing new can start once interrupted.
        let e = layout
            .blob_writer()
            .err()
            .expect("a writer after the cleanup");
        assert!(e.to_string().contains("interrupted"), "{e}");
    }

    /// Interrupted between publish and the index change: the cleanup waits for
    /// the commit, then reports the layout as published.
    fn commit(dir: &Path) {
        let root = dir.join("img");
        let layout = Layout::open_or_create(&root).unwrap();
        let old = layout.blob_from_bytes(b"[]").unwrap();
        let old_digest = old.blob().digest.to_string();
        let commit = layout.publish(vec![old]).unwrap();
        commit
            .apply(crate::layout::IndexChange::tag(
                "old",
                descriptor(&old_digest, "old"),
            ))
            .unwrap();
        let layout = Layout::open_or_create(&root).unwrap();
        let mut w = layout.blob_writer().unwrap();
        w.write_all(b"{}").unwrap();
        let pending = w.finish().unwrap();
        let digest = pending.blob().digest.to_string();
        let mut spare = layout.blob_writer().unwrap();
        spare.write_all(b"never published").unwrap();
        let commit = layout.publish(vec![pending]).unwrap();
        let finished = Arc::new(AtomicBool::new(false));
        let cleaner = {
            let finished = finished.clone();
            std::thread::spawn(move || {
                let c = remove_registered_temps();
                finished.store(true, Ordering::SeqCst);
                c
            })
        };
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            !finished.load(Ordering::SeqCst),
            "the cleanup did not wait for the commit"
        );
        commit
            .apply(crate::layout::IndexChange::tag(
                "committed",
                descriptor(&digest, "committed"),
            ))
            .unwrap();
        let cleanup = cleaner.join().unwrap();
        assert_eq!(cleanup.published, vec![root.clone()]);
        assert_eq!(cleanup.removed, 1, "the unpublished writer's temp file");
        assert!(!spare.temp_path().exists());
        assert_eq!(temps_in(&root), Vec::<String>::new());
        assert_eq!(tags(&root), ["old", "committed"]);
        // And no further commit can start.
        assert!(layout.publish(Vec::new()).is_err());
    }
}
