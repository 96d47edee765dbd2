//! `--format oci-archive`: the layout as one deterministic tar, with
//! Docker's `manifest.json` beside it, for `docker load`, `podman load`,
//! `ctr images import` and `skopeo copy oci-archive:`.
//!
//! The import runs into a private temporary layout; the archive is then
//! written from it with sorted entries, mtime 0 and owner 0:0, so the same
//! input gives the same archive bytes. The temporary layout is removed on
//! every path.
//!
//! Where the archive goes is judged before any input is read
//! ([`Guard::judge`]): absent or a regular file, it is written to a temp
//! file renamed over the path; a FIFO or a character device (a pipe,
//! `/dev/null`, a terminal) is opened and written in place, never replaced;
//! a symbolic link is refused (its target is to be given instead, so what is
//! written is what the user named). An existing regular file is replaced
//! only if it is an OCI archive (its tar holds `oci-layout`), or with
//! `--force`; a file this import reads (an input, a checksum, signature or
//! keyring file) is never replaced, not even with `--force`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, PathErrors, Result, classify};
use crate::output::Output;
use crate::report::Report;

/// How many tar headers are read to tell whether an existing file is an
/// OCI archive; `oci-layout` sorts last in ours, after every blob.
const MAX_ARCHIVE_HEADERS: usize = 1 << 16;

/// The files an archive output must never replace, and whether `--force`
/// lets it replace any other file.
#[derive(Debug)]
pub(crate) struct Guard {
    /// Files this import reads, each with what it is ("an input").
    pub(crate) read: Vec<(PathBuf, String)>,
    /// `--force`: replace an existing file that is not an OCI archive.
    pub(crate) force: bool,
}

/// How the archive reaches its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Destination {
    /// Absent or a regular file: a temp file renamed over it.
    Replace,
    /// A FIFO or a character device: opened and written in place.
    InPlace,
}

impl Guard {
    /// Judge `path` as the archive's destination: how it is written, or
    /// the refusal (one line naming it and the fix).
    pub(crate) fn judge(&self, path: &Path) -> Result<Destination> {
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Destination::Replace),
            Err(e) => return Err(io_error(path, e)),
        };
        if let Some((_, what)) = self.read.iter().find(|(p, _)| same_file(&meta, p)) {
            return Err(refused(
                path,
                format!(
                    "is {what} of this import and is never replaced, even with --force; choose another -o"
                ),
            ));
        }
        let ft = meta.file_type();
        if ft.is_symlink() {
            let target =
                fs::read_link(path).map_or_else(|_| "?".into(), |t| t.display().to_string());
            return Err(refused(
                path,
                format!(
                    "is a symbolic link (to {target}); give its target as -o (or -o - for standard output)"
                ),
            ));
        }
        if ft.is_fifo() || ft.is_char_device() {
            return Ok(Destination::InPlace);
        }
        if ft.is_dir() {
            return Err(refused(
                path,
                "is a directory; an OCI archive is a file: choose another -o, or drop --format oci-archive to write a layout there",
            ));
        }
        if !ft.is_file() {
            return Err(refused(
                path,
                "is not a regular file, FIFO or character device; choose another -o",
            ));
        }
        if self.force || is_oci_archive(path)? {
            return Ok(Destination::Replace);
        }
        Err(refused(
            path,
            "exists and is not an OCI archive (no oci-layout entry); choose another -o, or give --force to replace it",
        ))
    }
}

/// Whether the file `other` (followed if a link) is the one `meta` describes.
fn same_file(meta: &fs::Metadata, other: &Path) -> bool {
    fs::metadata(other).is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
}

/// Whether the regular file at `path` is a tar holding an `oci-layout`
/// entry, reading at most [`MAX_ARCHIVE_HEADERS`] headers (seeking over
/// the contents). A file that is not a tar is not an archive.
fn is_oci_archive(path: &Path) -> Result<bool> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .at(path)?;
    let mut ar = tar::Archive::new(f);
    let Ok(entries) = ar.entries_with_seek() else {
        return Ok(false);
    };
    for entry in entries.take(MAX_ARCHIVE_HEADERS) {
        let Ok(entry) = entry else {
            return Ok(false);
        };
        let name = entry.path_bytes();
        if matches!(&*name, b"oci-layout" | b"./oci-layout") {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The refusal of an archive output path.
fn refused(path: &Path, reason: impl Into<String>) -> Error {
    Error::OutputRefused {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Run `build` into a private temporary layout, then write that layout and
/// what `build` reported as an archive to `output` (a file, replaced
/// atomically, a FIFO or device written in place, or standard output);
/// returns the report. `guard` judges the path again before it is written.
pub(crate) fn via_archive(
    output: &Output,
    guard: &Guard,
    build: impl FnOnce(&Path) -> Result<Report>,
) -> Result<Report> {
    let parent = match output {
        Output::Archive(p) => p
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        Output::Layout(_) | Output::Stdout => std::env::temp_dir(),
    };
    let work = TempDir::new(&parent)?;
    let layout = work.path.join("layout");
    let result = build(&layout).and_then(|report| {
        match output {
            Output::Archive(p) => match guard.judge(p)? {
                Destination::Replace => {
                    let tmp = work.path.join("archive.tar");
                    let mut f = File::create(&tmp).at(&tmp)?;
                    write(&layout, &report, &mut f)?;
                    f.sync_all().at(&tmp)?;
                    fs::rename(&tmp, p).at(p)?;
                }
                Destination::InPlace => write_in_place(&layout, &report, p)?,
            },
            Output::Layout(_) | Output::Stdout => {
                let stdout = PathErrors {
                    inner: io::stdout().lock(),
                    path: PathBuf::from("standard output"),
                };
                let mut out = io::BufWriter::new(stdout);
                write(&layout, &report, &mut out)?;
                out.flush()
                    .map_err(|e| classify(e, |e| io_error("standard output", e)))?;
            }
        }
        Ok(report)
    });
    work.remove();
    result
}

/// Write the archive into the FIFO or character device at `path`, opened
/// (not created, not followed) and left in place.
fn write_in_place(layout: &Path, report: &Report, path: &Path) -> Result<()> {
    let f = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .at(path)?;
    let mut out = io::BufWriter::new(PathErrors {
        inner: f,
        path: path.to_path_buf(),
    });
    write(layout, report, &mut out)?;
    out.flush().map_err(|e| classify(e, |e| io_error(path, e)))
}

/// Write the layout at `layout`, which holds what `report` describes, as
/// an OCI archive to `out`, with Docker's `manifest.json` made from the
/// report (see [`crate::docker`]): what `docker save` writes since Docker
/// 25, which `docker load`, `podman load`, `ctr images import` and skopeo
/// all read.
pub(crate) fn write(layout: &Path, report: &Report, out: &mut dyn Write) -> Result<()> {
    let manifest = crate::docker::manifest_json(report)?;
    write_archive(layout, Some(&manifest), out)
}

/// Write the layout at `layout`, and `manifest` as `manifest.json` when
/// given, as a deterministic tar to `out`: entries sorted by path.
fn write_archive(layout: &Path, manifest: Option<&[u8]>, out: &mut dyn Write) -> Result<()> {
    let mut paths = Vec::new();
    collect(layout, Path::new(""), &mut paths)?;
    // A layout has no manifest.json of its own; ours is the only one.
    paths.retain(|p| p.as_os_str() != crate::docker::MANIFEST_JSON);
    if manifest.is_some() {
        paths.push(PathBuf::from(crate::docker::MANIFEST_JSON));
    }
    paths.sort();
    let mut b = tar::Builder::new(out);
    for rel in paths {
        if let (Some(bytes), true) = (manifest, rel.as_os_str() == crate::docker::MANIFEST_JSON) {
            let mut h = file_header(bytes.len() as u64);
            b.append_data(&mut h, &rel, bytes)
                .map_err(|e| classify(e, |e| io_error(layout.join(&rel), e)))?;
            continue;
        }
        let full = layout.join(&rel);
        let meta = fs::metadata(&full).at(&full)?;
        let mut h = file_header(meta.len());
        if meta.is_dir() {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            let mut name = rel.clone().into_os_string();
            name.push("/");
            b.append_data(&mut h, PathBuf::from(name), io::empty())
                .map_err(|e| classify(e, |e| io_error(&full, e)))?;
        } else {
            let f = File::open(&full).at(&full)?;
            b.append_data(&mut h, &rel, f)
                .map_err(|e| classify(e, |e| io_error(&full, e)))?;
        }
    }
    b.finish()
        .map_err(|e| classify(e, |e| io_error(layout, e)))?;
    Ok(())
}

/// The header of a regular file of `size` bytes: mode 0644, mtime 0, owner 0:0.
fn file_header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(size);
    h
}

/// An I/O error on `path`, for errors that carry no path of their own.
fn io_error(path: impl Into<PathBuf>, source: io::Error) -> Error {
    Error::Io {
        path: path.into(),
        source,
    }
}

fn collect(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let dir = root.join(rel);
    for e in fs::read_dir(&dir).at(&dir)? {
        let e = e.at(&dir)?;
        let name = e.file_name();
        // Our lock/temp files are not part of the image.
        if crate::fsutil::is_temp_name(&name.to_string_lossy()) {
            continue;
        }
        let r = rel.join(&name);
        let ft = e.file_type().at(e.path())?;
        out.push(r.clone());
        if ft.is_dir() {
            collect(root, &r, out)?;
        }
    }
    Ok(())
}

/// A private working directory, removed explicitly.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new(parent: &Path) -> Result<Self> {
        // Work directories of archive runs that died (kill -9) hold a whole
        // copy of their layers.
        crate::layout::clean_stale_temps_in(parent);
        let path = crate::fsutil::temp_path(parent, "-archive");
        // Registered first, so an interrupt removes it (and its layout) again.
        crate::layout::registry::register_temp(&path)?;
        if let Err(e) = fs::create_dir(&path).at(&path) {
            crate::layout::registry::unregister_temp(&path);
            return Err(e);
        }
        Ok(Self { path })
    }

    fn remove(self) {
        let _ = fs::remove_dir_all(&self.path);
        crate::layout::registry::unregister_temp(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_tar_holding_oci_layout_is_an_oci_archive() {
        let dir = tempfile::tempdir().unwrap();
        let l = dir.path().join("l");
        fs::create_dir_all(l.join("blobs/sha256")).unwrap();
        fs::write(l.join("index.json"), b"{}").unwrap();
        let file = dir.path().join("a.tar");
        let mut bytes = Vec::new();
        write_archive(&l, None, &mut bytes).unwrap();
        fs::write(&file, &bytes).unwrap();
        assert!(!is_oci_archive(&file).unwrap(), "a tar without oci-layout");
        fs::write(l.join("oci-layout"), b"{}").unwrap();
        bytes.clear();
        write_archive(&l, None, &mut bytes).unwrap();
        fs::write(&file, &bytes).unwrap();
        assert!(is_oci_archive(&file).unwrap());
        fs::write(&file, b"not a tar at all").unwrap();
        assert!(!is_oci_archive(&file).unwrap());
        let guard = Guard {
            read: vec![(file.clone(), "an input".into())],
            force: true,
        };
        let e = guard.judge(&file).unwrap_err().to_string();
        assert!(e.ends_with("a.tar: is an input of this import and is never replaced, even with --force; choose another -o"), "{e}");
        let absent = dir.path().join("new.tar");
        assert_eq!(guard.judge(&absent).unwrap(), Destination::Replace);
        let sock = dir.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        for (path, want) in [
            (
                &l,
                "l: is a directory; an OCI archive is a file: choose another -o, or drop --format oci-archive to write a layout there",
            ),
            (
                &sock,
                "sock: is not a regular file, FIFO or character device; choose another -o",
            ),
        ] {
            let e = guard.judge(path).unwrap_err().to_string();
            assert!(e.ends_with(want), "{e}");
        }
    }

    #[test]
    fn archive_is_sorted_and_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let l = dir.path();
        fs::create_dir_all(l.join("blobs/sha256")).unwrap();
        fs::write(l.join("oci-layout"), b"{}").unwrap();
        fs::write(l.join("index.json"), b"[]").unwrap();
        fs::write(l.join("blobs/sha256/bb"), b"b").unwrap();
        fs::write(l.join("blobs/sha256/aa"), b"a").unwrap();
        let mut one = Vec::new();
        write_archive(l, None, &mut one).unwrap();
        let mut two = Vec::new();
        write_archive(l, None, &mut two).unwrap();
        assert_eq!(one, two);
        let mut ar = tar::Archive::new(&one[..]);
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                assert_eq!(e.header().mtime().unwrap(), 0);
                assert_eq!(e.header().uid().unwrap(), 0);
                e.path().unwrap().display().to_string()
            })
            .collect();
        assert_eq!(
            names,
            [
                "blobs/",
                "blobs/sha256/",
                "blobs/sha256/aa",
                "blobs/sha256/bb",
                "index.json",
                "oci-layout"
            ]
        );
    }
}
