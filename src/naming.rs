//! Naming rules, in one place for the hints and the writers: the default
//! output name of an input, the tags OCI ref names and Docker accept, and
//! the repository names podman and Docker derive from a path.

use std::path::{Path, PathBuf};

pub use crate::spec::ref_name::validate_tag;

/// The default output directory for an input: its file name without the
/// archive suffix of any input format (`.tar.gz`, `.tgz`, `.txz`, ...; see
/// [`crate::compress::INPUT_FORMATS`]), in the current directory.
pub fn default_output(input: &Path) -> PathBuf {
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    match crate::compress::format::archive_suffix(&name) {
        Some(s) => PathBuf::from(&name[..name.len() - s.len()]),
        // No archive extension: never reuse the input's own name.
        None => PathBuf::from(format!("{name}.oci")),
    }
}

/// Whether podman can name an image after this layout path: `localhost/`
/// plus the path without leading slashes must be a valid reference.
pub(crate) fn podman_can_name(layout: &str) -> bool {
    let path = layout.trim_start_matches('/');
    !path.is_empty() && path.len() <= 200 && path.split('/').all(is_path_component)
}

/// A docker reference path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: &u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(&b[0]) || !alnum(&b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(&b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(&b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// A valid lowercase repository name from the path's last component.
pub(crate) fn repository_name(path: &str) -> String {
    let base = Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let mut out = String::new();
    for ch in base.chars() {
        let keep = ch.is_ascii_lowercase() || ch.is_ascii_digit();
        if keep {
            out.push(ch);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "image".into()
    } else {
        out.chars().take(64).collect()
    }
}

/// The tag if docker accepts it as one (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`), else `latest`.
pub(crate) fn docker_tag(tag: &str) -> &str {
    let b = tag.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|x| x.is_ascii_alphanumeric() || b"_.-".contains(x));
    if ok { tag } else { "latest" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_names_only_valid_lowercase_paths() {
        for ok in ["rootfs", "/tmp/x/img", "a.b/c_d/e--f", "stage3-amd64"] {
            assert!(podman_can_name(ok), "{ok}");
        }
        for bad in [
            "Rootfs-Base",
            "./rootfs",
            "x y/img",
            "a/../b",
            "-x",
            "a_",
            "",
        ] {
            assert!(!podman_can_name(bad), "{bad}");
        }
    }

    #[test]
    fn names_and_tags() {
        assert_eq!(repository_name("Rootfs_Base 2"), "rootfs-base-2");
        assert_eq!(repository_name("/x/ÄÖ"), "image");
        assert_eq!(docker_tag("3.20"), "3.20");
        assert_eq!(docker_tag("a/b"), "latest");
        assert_eq!(docker_tag(".x"), "latest");
    }

    #[test]
    fn default_output_strips_archive_extensions() {
        for (input, want) in [
            ("stage3-amd64-openrc.tar.xz", "stage3-amd64-openrc"),
            (
                "/tmp/alpine-minirootfs-3.20.0-x86_64.tar.gz",
                "alpine-minirootfs-3.20.0-x86_64",
            ),
            ("rootfs.tgz", "rootfs"),
            ("rootfs.TXZ", "rootfs"),
            ("root.tar.zst", "root"),
            ("root.tar", "root"),
            ("rootfs.img", "rootfs.img.oci"),
        ] {
            assert_eq!(
                default_output(Path::new(input)),
                PathBuf::from(want),
                "{input}"
            );
        }
    }
}
