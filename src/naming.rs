//! Naming rules, in one place for the hints and the writers: the default
//! output name of an input, the tags OCI ref names and Docker accept, and
//! the repository names podman and Docker derive from a path.

use std::path::{Path, PathBuf};

pub use crate::spec::ref_name::validate_tag;
pub use crate::spec::reference::{Reference, parse_reference, parse_repository, repository_from};

use crate::spec::ref_name::validate_new_tag;
use crate::spec::reference::{valid_path_component, valid_tag};

/// What `-t/--tag` gives: a tag alone (`1.0`: no `/`, `:` or `@`, as
/// before), or an image reference (`NAME:TAG`, `HOST[:PORT]/NS/NAME:TAG`,
/// `NS/NAME` for `:latest`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TagArg {
    /// The repository, fully qualified (`docker.io/library/x`), when a
    /// reference was given.
    pub repository: Option<String>,
    /// The tag, when one was given.
    pub tag: Option<String>,
}

/// Read a `-t/--tag` value: a word without `/`, `:` or `@` is a tag (so
/// `-t openrc` names the layout's tag as it always did; a one-component
/// repository is given with its tag, `-t busybox:latest`); anything else
/// is a reference, checked against the distribution reference grammar.
pub fn parse_tag_arg(s: &str) -> std::result::Result<TagArg, String> {
    if !s.contains(['/', ':', '@']) {
        validate_import_tag(s)?;
        return Ok(TagArg {
            repository: None,
            tag: Some(s.to_string()),
        });
    }
    let r = parse_reference(s)?;
    let after_slash = s.rsplit('/').next().unwrap_or(s);
    Ok(TagArg {
        repository: Some(r.repository()),
        tag: after_slash.contains(':').then_some(r.tag),
    })
}

/// Validate a tag an import writes: a new OCI ref name that is also a
/// Docker tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`), since the image's
/// name (`io.containerd.image.name`, Docker's `RepoTags`) ends in it.
pub fn validate_import_tag(tag: &str) -> std::result::Result<(), String> {
    validate_new_tag(tag)?;
    if valid_tag(tag) {
        Ok(())
    } else {
        Err(format!(
            "{tag:?} is not a Docker tag (letters, digits, _, . and -, not starting with . or -): Docker, containerd and podman could not name the image; choose another --tag"
        ))
    }
}

/// The repository an import is named after when `-t` gives none: the
/// first input's base name without its archive suffix (as
/// [`default_output`] names the layout), made a valid repository name;
/// for standard input, the output's base name; `image` when neither has one.
pub fn default_repository(input: Option<&str>, output: Option<&Path>) -> String {
    let stem = |name: &str| match crate::compress::format::archive_suffix(name) {
        Some(s) => name[..name.len() - s.len()].to_string(),
        None => name.to_string(),
    };
    let from_input = input.and_then(|i| {
        // A URL's last path segment, a path's file name.
        let i = i.split(['?', '#']).next().unwrap_or(i);
        i.rsplit('/').find(|s| !s.is_empty()).map(stem)
    });
    let from_output = || {
        output
            .and_then(Path::file_name)
            .map(|n| stem(&n.to_string_lossy()))
            .map(|n| n.trim_end_matches(".oci").to_string())
    };
    repository_from(&from_input.or_else(from_output).unwrap_or_default())
}

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
    !path.is_empty() && path.len() <= 200 && path.split('/').all(valid_path_component)
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
    fn tag_arguments_are_tags_or_references() {
        let arg = |r: Option<&str>, t: Option<&str>| TagArg {
            repository: r.map(str::to_string),
            tag: t.map(str::to_string),
        };
        for (given, want) in [
            ("1.0", arg(None, Some("1.0"))),
            ("openrc", arg(None, Some("openrc"))),
            (
                "busybox:latest",
                arg(Some("docker.io/library/busybox"), Some("latest")),
            ),
            (
                "bartest/busy:1.0",
                arg(Some("docker.io/bartest/busy"), Some("1.0")),
            ),
            ("bartest/busy", arg(Some("docker.io/bartest/busy"), None)),
            ("localhost:5000/x", arg(Some("localhost:5000/x"), None)),
            (
                "reg.example.org/ns/n:t",
                arg(Some("reg.example.org/ns/n"), Some("t")),
            ),
        ] {
            assert_eq!(parse_tag_arg(given), Ok(want), "{given}");
        }
        assert_eq!(
            parse_tag_arg("a+b"),
            Err("\"a+b\" is not a Docker tag (letters, digits, _, . and -, not starting with . or -): Docker, containerd and podman could not name the image; choose another --tag".into())
        );
        assert_eq!(
            parse_tag_arg("Bar/busy:1"),
            Err("\"Bar/busy\": repository names are lower case; give \"bar/busy\"".into())
        );
        assert!(parse_tag_arg("x@sha256:00").is_err());
        assert!(
            parse_tag_arg("bad tag")
                .unwrap_err()
                .contains("not a valid OCI ref name")
        );
    }

    #[test]
    fn default_repositories() {
        fn p(s: &str) -> Option<&Path> {
            Some(Path::new(s))
        }
        for (input, output, want) in [
            (
                Some("alpine-minirootfs-3.20.0-x86_64.tar.gz"),
                None,
                "alpine-minirootfs-3.20.0-x86_64",
            ),
            (Some("/tmp/Rootfs Base.TGZ"), p("out"), "rootfs-base"),
            (Some("rootfs.img"), None, "rootfs.img"),
            (
                Some("https://example.org/a/stage3.tar.xz?x=1"),
                None,
                "stage3",
            ),
            (None, p("/tmp/My.oci"), "my"),
            (None, p("dir/img.tar"), "img"),
            (None, None, "image"),
            (Some("-"), None, "image"),
        ] {
            assert_eq!(
                default_repository(input, output),
                want,
                "{input:?} {output:?}"
            );
        }
    }

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
