//! Filesystem primitives: temp-file names, exclusive creation, directory
//! fsync, a directory lock released on drop, reads that tolerate absence.
//!
//! A leaf module (std only), so that the error type can recognise our temp
//! files without depending on the layout code. Functions return plain
//! `io::Result`; callers attach the path with `IoContext::at`.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Prefix of our temporary files and work directories: `.ociimport-tmp-<pid>-...`.
pub(crate) const TEMP_PREFIX: &str = ".ociimport-tmp-";

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Whether a file name is one of our temp names.
pub(crate) fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX)
}

/// Whether `path`'s file name is one of our temp names.
pub(crate) fn is_temp_path(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| is_temp_name(&n.to_string_lossy()))
}

/// A fresh temp path in `dir`: `.ociimport-tmp-<pid>-<seq>-<nanos>` plus
/// `suffix`, unique within the process (the sequence number) and unlikely to
/// collide across processes (the pid, which a stale-file sweep also reads).
pub(crate) fn temp_path(dir: &Path, suffix: &str) -> PathBuf {
    let seq = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    dir.join(format!(
        "{TEMP_PREFIX}{}-{seq}-{nanos:08x}{suffix}",
        std::process::id()
    ))
}

/// The pid in a temp name, if it has one.
fn temp_owner(name: &str) -> Option<u32> {
    name.strip_prefix(TEMP_PREFIX)?
        .split('-')
        .next()?
        .parse()
        .ok()
}

/// Whether the process that made the temp file `name` may still run.
///
/// Our own pid counts as alive; without `/proc` another pid cannot be
/// checked and counts as dead (the file lock then decides).
pub(crate) fn temp_owner_alive(name: &str) -> bool {
    match temp_owner(name) {
        Some(pid) if pid == std::process::id() => true,
        Some(pid) => {
            Path::new("/proc/self").exists() && Path::new(&format!("/proc/{pid}")).exists()
        }
        None => false,
    }
}

/// Create `path`, failing if it exists.
pub(crate) fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// fsync a directory, so that renames into it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The whole file, or `None` if it does not exist.
pub(crate) fn read_if_exists(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// An exclusive `flock` on a directory, released when dropped.
///
/// The lock is on the directory itself, which is never renamed, so every
/// writer of the same layout meets the same lock.
#[derive(Debug)]
pub(crate) struct DirLock {
    file: File,
}

impl DirLock {
    /// Wait for the exclusive lock on `dir`.
    pub(crate) fn acquire(dir: &Path) -> io::Result<DirLock> {
        let file = File::open(dir)?;
        file.lock()?;
        Ok(DirLock { file })
    }

    /// Wait for a shared lock on `dir`: many holders, no exclusive one.
    pub(crate) fn shared(dir: &Path) -> io::Result<DirLock> {
        let file = File::open(dir)?;
        file.lock_shared()?;
        Ok(DirLock { file })
    }

    /// The exclusive lock on `dir` if nobody holds any lock on it now.
    pub(crate) fn try_exclusive(dir: &Path) -> io::Result<Option<DirLock>> {
        let file = File::open(dir)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(DirLock { file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Closing the descriptor releases the flock even if unlock fails.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_carry_the_pid_and_are_unique() {
        let dir = Path::new("/x");
        let a = temp_path(dir, "");
        let b = temp_path(dir, "-archive");
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(is_temp_name(&name), "{name}");
        assert!(is_temp_path(&a));
        assert!(!is_temp_path(Path::new("/x/index.json")));
        assert_eq!(temp_owner(&name), Some(std::process::id()));
        assert!(temp_owner_alive(&name));
        assert!(b.to_string_lossy().ends_with("-archive"));
        // pid 4194304 is above Linux's pid_max, so never alive.
        assert!(!temp_owner_alive(&format!("{TEMP_PREFIX}4194304-1-1")));
        assert!(!temp_owner_alive(&format!("{TEMP_PREFIX}x-1-1")));
    }

    #[test]
    fn create_new_is_exclusive_and_read_if_exists_tolerates_absence() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        assert_eq!(read_if_exists(&p).unwrap(), None);
        create_new(&p).unwrap();
        let e = create_new(&p).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(read_if_exists(&p).unwrap(), Some(Vec::new()));
        sync_dir(dir.path()).unwrap();
    }

    #[test]
    fn dir_lock_is_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let held = DirLock::acquire(dir.path()).unwrap();
        let other = File::open(dir.path()).unwrap();
        assert!(other.try_lock().is_err(), "lock not held");
        drop(held);
        assert!(other.try_lock().is_ok(), "lock not released");
        drop(other);
        // Shared holders keep an exclusive lock out, and only while they live.
        let a = DirLock::shared(dir.path()).unwrap();
        let b = DirLock::shared(dir.path()).unwrap();
        assert!(DirLock::try_exclusive(dir.path()).unwrap().is_none());
        drop((a, b));
        assert!(DirLock::try_exclusive(dir.path()).unwrap().is_some());
    }
}
