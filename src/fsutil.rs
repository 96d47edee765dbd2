//! Filesystem primitives: temp-file names, exclusive creation, directory
//! fsync, a directory lock released on drop, opening a file only if it is a
//! regular one (never following a link, never waiting on a FIFO).
//!
//! A leaf module (std only), so that the error type can recognise our temp
//! files without depending on the layout code. Functions return plain
//! `io::Result`; callers attach the path with `IoContext::at`.

use std::fs::{File, FileType, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
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

/// Open `path` for reading only if it is a regular file: a symbolic link
/// at its end is not followed (`O_NOFOLLOW`) and a FIFO does not block the
/// open (`O_NONBLOCK`); the type is then checked on the open descriptor.
/// Anything else is an `InvalidInput` error saying what it is
/// ("is a FIFO, not a regular file"); see [`not_regular`].
pub(crate) fn open_regular(path: &Path) -> io::Result<File> {
    let f = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(not_regular("a symbolic link"));
        }
        Err(e) => return Err(e),
    };
    let ft = f.metadata()?.file_type();
    if !ft.is_file() {
        return Err(not_regular(kind_of(ft)));
    }
    Ok(f)
}

/// The error of [`open_regular`] for a file of another `kind`.
fn not_regular(kind: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("is {kind}, not a regular file"),
    )
}

/// What a file of type `ft` is, for messages: "a FIFO", "a directory".
pub(crate) fn kind_of(ft: FileType) -> &'static str {
    if ft.is_file() {
        "a regular file"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
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
    fn create_new_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        create_new(&p).unwrap();
        let e = create_new(&p).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        sync_dir(dir.path()).unwrap();
    }

    #[test]
    fn open_regular_opens_only_regular_files_and_never_waits() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        assert!(open_regular(&file).is_ok());
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: c is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        for (path, want) in [
            (&fifo, "is a FIFO, not a regular file"),
            (&link, "is a symbolic link, not a regular file"),
            (
                &dir.path().to_path_buf(),
                "is a directory, not a regular file",
            ),
        ] {
            let e = open_regular(path).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{path:?}");
            assert_eq!(e.to_string(), want);
        }
        let e = open_regular(&dir.path().join("none")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
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
