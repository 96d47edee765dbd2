//! dpkg's database: `var/lib/dpkg/status` and distroless's
//! `var/lib/dpkg/status.d/*`, in deb822 form (`deb-control(5)`,
//! `dpkg-query(1)`).
//!
//! Corners, as dpkg writes them and syft and trivy read them: stanzas are
//! separated by blank lines (a line of only spaces or tabs counts as blank);
//! a line starting with a space or tab continues the previous field
//! (`Description`, `Conffiles`); a package counts when its `Status` says
//! `installed` in the third word with `ok` in the second (`install ok
//! installed`, and `hold ok installed` for a held package), not when it is
//! `config-files`, `half-installed`, `not-installed` or failed; a stanza
//! without `Status` (some distroless `status.d` files) counts as installed.
//! The `Version` is kept exactly, epoch included (`1:2.36-9+deb12u4`).

use super::osrelease::OsRelease;
use super::purl::{self, Purl};
use super::{Package, person};

/// The stanzas' fields, continuation lines folded into their field; a line
/// that is neither a field nor a continuation is an error naming it.
pub(crate) fn stanzas(text: &str) -> Result<Vec<Vec<(&str, String)>>, String> {
    let mut out = Vec::new();
    let mut fields: Vec<(&str, String)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !fields.is_empty() {
                out.push(std::mem::take(&mut fields));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
            continue;
        }
        match line.split_once(':') {
            Some((key, value)) if !key.trim().is_empty() => {
                fields.push((key.trim(), value.trim().to_string()));
            }
            _ => return Err(format!("line {} is not a `Field: value` line", n + 1)),
        }
    }
    if !fields.is_empty() {
        out.push(fields);
    }
    Ok(out)
}

/// The installed packages in dpkg status text.
pub(crate) fn parse(text: &str, os: &OsRelease) -> Result<Vec<Package>, String> {
    let mut packages = Vec::new();
    for stanza in stanzas(text)? {
        let get = |key: &str| {
            stanza
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
        };
        let Some(name) = get("Package") else {
            return Err(format!(
                "a stanza has no Package field ({} fields)",
                stanza.len()
            ));
        };
        if !get("Status").is_none_or(installed) {
            continue;
        }
        let version = get("Version").unwrap_or_default();
        let arch = get("Architecture").unwrap_or_default();
        packages.push(package(name, version, arch, get("Maintainer"), os));
    }
    Ok(packages)
}

/// Whether a `Status` value (`want flag state`) means installed.
fn installed(status: &str) -> bool {
    let words: Vec<&str> = status.split_whitespace().collect();
    matches!(words.as_slice(), [_, "ok", "installed"])
}

fn package(
    name: &str,
    version: &str,
    arch: &str,
    maintainer: Option<&str>,
    os: &OsRelease,
) -> Package {
    let purl = Purl {
        kind: "deb",
        namespace: Some(purl::vendor(os, "debian")),
        name: name.to_lowercase(),
        version,
        qualifiers: vec![("arch", arch.to_string()), ("distro", purl::distro(os))],
    }
    .render();
    Package {
        name: name.to_string(),
        version: version.to_string(),
        purl,
        license: None,
        supplier: maintainer.and_then(person),
    }
}

#[cfg(test)]
mod tests {
    use super::super::osrelease;
    use super::*;

    const STATUS: &str = "\
Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 .
 the system.
Conffiles:
 /etc/ld.so.conf 4317c6de8564b68d628c21efa96b37e4

Package: removed
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1
\t
Package: held
Status: hold ok installed
Architecture: all
Version: 1:2.0~rc1-3

Package: broken
Status: install reinstreq half-installed
Version: 3
";

    fn debian() -> OsRelease {
        osrelease::parse("ID=debian\nVERSION_ID=\"12\"\n")
    }

    #[test]
    fn installed_packages_with_epoch_and_continuations() {
        let pkgs = parse(STATUS, &debian()).unwrap();
        let got: Vec<(&str, &str, &str)> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.purl.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "libc6",
                    "2.36-9+deb12u4",
                    "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12"
                ),
                (
                    "held",
                    "1:2.0~rc1-3",
                    "pkg:deb/debian/held@1:2.0~rc1-3?arch=all&distro=debian-12"
                ),
            ]
        );
        assert_eq!(
            pkgs[0].supplier.as_deref(),
            Some("Person: GNU Libc Maintainers (debian-glibc@lists.debian.org)")
        );
    }

    #[test]
    fn continuation_lines_fold_into_their_field() {
        let s = stanzas(STATUS).unwrap();
        let desc = &s[0].iter().find(|(k, _)| *k == "Description").unwrap().1;
        assert_eq!(desc.lines().count(), 4);
        assert_eq!(s.len(), 4, "a line of a tab separates stanzas");
    }

    #[test]
    fn status_d_without_status_or_trailing_newline() {
        let pkgs = parse(
            "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64",
            &debian(),
        )
        .unwrap();
        assert_eq!(pkgs.len(), 1);
        assert_eq!(pkgs[0].version, "12.4+deb12u5");
    }

    #[test]
    fn a_stanza_without_package_is_an_error() {
        let err = parse("Version: 1\nStatus: install ok installed\n", &debian()).unwrap_err();
        assert_eq!(err, "a stanza has no Package field (2 fields)");
        let err = parse("Package: a\n\u{0}\u{1}garbage\n", &debian()).unwrap_err();
        assert_eq!(err, "line 2 is not a `Field: value` line");
    }
}
