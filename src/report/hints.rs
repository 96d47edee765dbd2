//! The "use it" lines of the summary: commands that work exactly as
//! printed, in the directory the import ran in.
//!
//! podman names an image pulled from `oci:DIR:TAG` `localhost/DIR` (the
//! path, never the tag), and refuses a path that is not a valid repository
//! name (upper case, spaces, `./`). Such layouts get a skopeo copy into
//! containers-storage under a name that is valid instead. The docker-archive
//! file is never one of the inputs and never an existing file.
//!
//! Whether a file exists is asked through an injected function (`Exists`),
//! so the rules are tested without looking at the working directory.

use std::path::Path;

/// Whether a file exists, relative to the directory the hints are run in.
type Exists<'a> = &'a dyn Fn(&Path) -> bool;

/// The file system of the working directory.
fn on_disk(p: &Path) -> bool {
    p.exists()
}

use crate::naming::{docker_tag, podman_can_name, repository_name};

/// The commands for a layout directory at `layout` tagged `tag`, made from
/// `inputs`; `zstd`: a layer is zstd, which a docker-archive cannot hold
/// (skopeo: "zstd compression is not supported for docker images", with
/// any `--dest-compress-format`), so no docker-archive command is printed.
pub(crate) fn for_layout(layout: &str, tag: &str, inputs: &[&str], zstd: bool) -> Vec<String> {
    let mut hints = layout_hints(layout, tag, inputs, &on_disk);
    if zstd {
        hints.truncate(1);
    }
    hints
}

/// [`for_layout`] with the existence check given.
fn layout_hints(layout: &str, tag: &str, inputs: &[&str], exists: Exists<'_>) -> Vec<String> {
    let oci = shell_quote(&format!("oci:{layout}:{tag}"));
    let name = repository_name(layout);
    let docker_tag = docker_tag(tag);
    let first = if podman_can_name(layout) {
        format!("podman pull {oci}")
    } else {
        format!("skopeo copy {oci} containers-storage:localhost/{name}:{docker_tag}")
    };
    let file = archive_file(&name, inputs, exists);
    vec![
        first,
        format!(
            "skopeo copy {oci} docker-archive:{}:{name}:{docker_tag}",
            shell_quote(&file)
        ),
    ]
}

/// The commands for an image index of several platforms: one platform into
/// podman, every platform into one archive file.
pub(crate) fn for_index(layout: &str, tag: &str, arch: &str, inputs: &[&str]) -> Vec<String> {
    index_hints(layout, tag, arch, inputs, &on_disk)
}

/// [`for_index`] with the existence check given.
fn index_hints(
    layout: &str,
    tag: &str,
    arch: &str,
    inputs: &[&str],
    exists: Exists<'_>,
) -> Vec<String> {
    let oci = shell_quote(&format!("oci:{layout}:{tag}"));
    let name = repository_name(layout);
    let first = if podman_can_name(layout) {
        format!("podman pull --arch {arch} {oci}")
    } else {
        format!(
            "skopeo copy --override-arch {arch} {oci} containers-storage:localhost/{name}:{}",
            docker_tag(tag)
        )
    };
    let file = free_file(&format!("{name}-index"), ".tar", inputs, exists);
    vec![
        first,
        format!(
            "skopeo copy --all {oci} {}",
            shell_quote(&format!("oci-archive:{file}:{tag}"))
        ),
    ]
}

/// The commands for an OCI archive written to `file` (`-`: standard
/// output) holding the image `name` tagged `tag`. The archive holds
/// Docker's `manifest.json` and names the image in
/// `io.containerd.image.name`, so each loader names it as `-t` did (or
/// after the input): never `localhost/latest:latest`. `evidence`:
/// `index.json` also lists signature evidence, and podman load, which takes
/// no tag, cannot choose on the OCI side and names the image from
/// `manifest.json` as `localhost/…`; skopeo copy by tag keeps the name.
pub(crate) fn for_archive(file: &str, name: &str, tag: &str, evidence: bool) -> Vec<String> {
    if file == "-" {
        return vec![if evidence {
            format!(
                "pipe standard output into docker load, or save it as FILE, then skopeo copy oci-archive:FILE:{tag} containers-storage:{name} (podman load would name it localhost/…: the archive also holds signature evidence)"
            )
        } else {
            "pipe standard output into docker load or podman load".into()
        }];
    }
    let quoted = shell_quote(file);
    let podman = if evidence {
        format!(
            "skopeo copy {} containers-storage:{name}",
            shell_quote(&format!("oci-archive:{file}:{tag}"))
        )
    } else {
        format!("podman load -i {quoted}")
    };
    vec![
        format!("docker load -i {quoted}"),
        podman,
        format!("ctr images import {quoted}"),
    ]
}

/// `NAME-docker.tar`, or with a number, so that it is neither an input nor
/// a file that exists (skopeo would refuse to write over it).
fn archive_file(name: &str, inputs: &[&str], exists: Exists<'_>) -> String {
    free_file(&format!("{name}-docker"), ".tar", inputs, exists)
}

/// `STEM.EXT`, or `STEM-N.EXT`: neither an input nor an existing file.
fn free_file(stem: &str, ext: &str, inputs: &[&str], exists: Exists<'_>) -> String {
    let taken = |f: &str| {
        exists(Path::new(f))
            || inputs
                .iter()
                .any(|i| Path::new(i) == Path::new(f) || Path::new(i).ends_with(f))
    };
    let mut file = format!("{stem}{ext}");
    let mut n = 2;
    while taken(&file) && n < 1000 {
        file = format!("{stem}-{n}{ext}");
        n += 1;
    }
    file
}

/// `s` as one shell word.
pub(crate) fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@+=".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nothing exists: the hints do not depend on the working directory.
    fn none(_: &Path) -> bool {
        false
    }

    #[test]
    fn layout_hints() {
        let h = super::layout_hints("rootfs", "latest", &["/elsewhere/rootfs.tar"], &none);
        assert_eq!(h[0], "podman pull oci:rootfs:latest");
        assert_eq!(
            h[1],
            "skopeo copy oci:rootfs:latest docker-archive:rootfs-docker.tar:rootfs:latest"
        );
        // A zstd layout gets no docker-archive command: skopeo cannot write one.
        let h = for_layout("rootfs", "latest", &[], true);
        assert_eq!(h, ["podman pull oci:rootfs:latest"]);
        let h = super::layout_hints("Rootfs-Base", "v1", &["Rootfs-Base.tar.gz"], &none);
        assert_eq!(
            h[0],
            "skopeo copy oci:Rootfs-Base:v1 containers-storage:localhost/rootfs-base:v1"
        );
        let h = super::layout_hints("my dir/img", "a/b", &[], &none);
        assert_eq!(
            h[0],
            "skopeo copy 'oci:my dir/img:a/b' containers-storage:localhost/img:latest"
        );
        // The README's quick start run twice: the first archive exists.
        let first = |p: &Path| p == Path::new("rootfs-docker.tar");
        let h = super::layout_hints("rootfs", "latest", &["testdata/rootfs.tar"], &first);
        assert_eq!(
            h[1],
            "skopeo copy oci:rootfs:latest docker-archive:rootfs-docker-2.tar:rootfs:latest"
        );
    }

    #[test]
    fn index_hints() {
        let h = super::index_hints("gentoo", "openrc", "arm64", &[], &none);
        assert_eq!(h[0], "podman pull --arch arm64 oci:gentoo:openrc");
        assert_eq!(
            h[1],
            "skopeo copy --all oci:gentoo:openrc oci-archive:gentoo-index.tar:openrc"
        );
        let h = super::index_hints("Gentoo", "a/b", "riscv64", &["gentoo-index.tar"], &none);
        assert_eq!(
            h[0],
            "skopeo copy --override-arch riscv64 oci:Gentoo:a/b containers-storage:localhost/gentoo:latest"
        );
        assert_eq!(
            h[1],
            "skopeo copy --all oci:Gentoo:a/b oci-archive:gentoo-index-2.tar:a/b"
        );
        let taken = |p: &Path| p == Path::new("gentoo-index.tar");
        let h = super::index_hints("gentoo", "openrc", "arm64", &[], &taken);
        assert_eq!(
            h[1],
            "skopeo copy --all oci:gentoo:openrc oci-archive:gentoo-index-2.tar:openrc"
        );
    }

    #[test]
    fn archive_file_is_never_an_input() {
        assert_eq!(
            archive_file("rootfs", &["x.tar"], &none),
            "rootfs-docker.tar"
        );
        assert_eq!(
            archive_file("rootfs", &["rootfs-docker.tar"], &none),
            "rootfs-docker-2.tar"
        );
        assert_eq!(
            archive_file("rootfs", &["/d/rootfs-docker.tar"], &none),
            "rootfs-docker-2.tar"
        );
        let two =
            |p: &Path| p == Path::new("rootfs-docker.tar") || p == Path::new("rootfs-docker-2.tar");
        assert_eq!(archive_file("rootfs", &[], &two), "rootfs-docker-3.tar");
    }

    #[test]
    fn archive_hints() {
        assert_eq!(
            for_archive("my img.tar", "docker.io/library/img:v1", "v1", false),
            [
                "docker load -i 'my img.tar'",
                "podman load -i 'my img.tar'",
                "ctr images import 'my img.tar'"
            ]
        );
        assert_eq!(
            for_archive("-", "docker.io/library/img:v1", "v1", false),
            ["pipe standard output into docker load or podman load"]
        );
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_quote("my dir"), "'my dir'");
        assert_eq!(shell_quote("./a-b_c"), "./a-b_c");
    }

    #[test]
    fn signed_archives_get_no_podman_load_hint() {
        assert_eq!(
            for_archive("img.tar", "docker.io/library/img:v1", "v1", true),
            [
                "docker load -i img.tar",
                "skopeo copy oci-archive:img.tar:v1 containers-storage:docker.io/library/img:v1",
                "ctr images import img.tar"
            ]
        );
        let piped = &for_archive("-", "docker.io/library/img:v1", "v1", true)[0];
        assert!(
            piped.contains("podman load would name it localhost/"),
            "{piped}"
        );
        assert!(
            piped.contains("containers-storage:docker.io/library/img:v1"),
            "{piped}"
        );
    }
}
