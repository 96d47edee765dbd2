//! `--format oci-archive`: the layout as one deterministic tar, for
//! `podman load` and `skopeo copy oci-archive:`.
//!
//! The import runs into a private temporary layout; the archive is then
//! written from it with sorted entries, mtime 0 and owner 0:0, so the same
//! input gives the same archive bytes. The temporary layout is removed on
//! every path.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, PathErrors, Result, classify};
use crate::output::Output;
use crate::report::Report;

/// Run `build` into a private temporary layout, then write that layout and
/// what `build` reported as an archive to `output` (a file, replaced
/// atomically, or standard output); returns the report.
pub(crate) fn via_archive(
    output: &Output,
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
            Output::Archive(p) => {
                let tmp = work.path.join("archive.tar");
                let mut f = File::create(&tmp).at(&tmp)?;
                write(&layout, &report, &mut f)?;
                f.sync_all().at(&tmp)?;
                fs::rename(&tmp, p).at(p)?;
            }
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

/// Write the layout at `layout`, which holds what `report` describes, as
/// an OCI archive to `out`. The report is what later archive forms (a
/// Docker `manifest.json`) are made from.
pub(crate) fn write(layout: &Path, _report: &Report, out: &mut dyn Write) -> Result<()> {
    write_oci_archive(layout, out)
}

/// Write the layout at `layout` as a deterministic tar to `out`.
pub(crate) fn write_oci_archive(layout: &Path, out: &mut dyn Write) -> Result<()> {
    let mut paths = Vec::new();
    collect(layout, Path::new(""), &mut paths)?;
    paths.sort();
    let mut b = tar::Builder::new(out);
    for rel in paths {
        let full = layout.join(&rel);
        let meta = fs::metadata(&full).at(&full)?;
        let mut h = tar::Header::new_ustar();
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        if meta.is_dir() {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            let mut name = rel.clone().into_os_string();
            name.push("/");
            b.append_data(&mut h, PathBuf::from(name), io::empty())
                .map_err(|e| classify(e, |e| io_error(&full, e)))?;
        } else {
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
            h.set_size(meta.len());
            let f = File::open(&full).at(&full)?;
            b.append_data(&mut h, &rel, f)
                .map_err(|e| classify(e, |e| io_error(&full, e)))?;
        }
    }
    b.finish()
        .map_err(|e| classify(e, |e| io_error(layout, e)))?;
    Ok(())
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
    fn archive_is_sorted_and_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let l = dir.path();
        fs::create_dir_all(l.join("blobs/sha256")).unwrap();
        fs::write(l.join("oci-layout"), b"{}").unwrap();
        fs::write(l.join("index.json"), b"[]").unwrap();
        fs::write(l.join("blobs/sha256/bb"), b"b").unwrap();
        fs::write(l.join("blobs/sha256/aa"), b"a").unwrap();
        let mut one = Vec::new();
        write_oci_archive(l, &mut one).unwrap();
        let mut two = Vec::new();
        write_oci_archive(l, &mut two).unwrap();
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
