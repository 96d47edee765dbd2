//! pacman's local database `var/lib/pacman/local/NAME-VERSION/desc`
//! (libalpm's `be_local.c`, the format `alpm-db-desc(5)` describes): one
//! file per package, sections headed `%FIELD%` on their own line, each
//! value on the lines below, a blank line ending the section. Multi-valued
//! fields (`%LICENSE%`, `%DEPENDS%`) have one value per line.

use super::osrelease::OsRelease;
use super::purl::{self, Purl};
use super::{Package, person};

/// The package one `desc` file describes.
pub(crate) fn parse(text: &str, os: &OsRelease) -> Result<Package, String> {
    let sections = sections(text)?;
    let get = |key: &str| sections.iter().find(|(k, _)| *k == key).map(|(_, v)| v);
    let first = |key: &str| {
        get(key)
            .and_then(|v| v.first().copied())
            .unwrap_or_default()
    };
    let name = first("%NAME%");
    if name.is_empty() {
        return Err("no %NAME% section".to_string());
    }
    let version = first("%VERSION%");
    let licenses = get("%LICENSE%").cloned().unwrap_or_default();
    let purl = Purl {
        kind: "alpm",
        namespace: Some(purl::vendor(os, "arch")),
        name: name.to_lowercase(),
        version,
        qualifiers: vec![
            ("arch", first("%ARCH%").to_string()),
            ("distro", purl::distro(os)),
        ],
    }
    .render();
    Ok(Package {
        name: name.to_string(),
        version: version.to_string(),
        purl,
        license: join_licenses(&licenses),
        supplier: person(first("%PACKAGER%")),
    })
}

/// The `%FIELD%` sections and their value lines.
fn sections(text: &str) -> Result<Vec<(&str, Vec<&str>)>, String> {
    let mut out: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut open = false;
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() {
            open = false;
        } else if !open && line.len() > 2 && line.starts_with('%') && line.ends_with('%') {
            out.push((line, Vec::new()));
            open = true;
        } else if let (true, Some((_, values))) = (open, out.last_mut()) {
            values.push(line);
        } else {
            return Err(format!("line {} is outside any %FIELD% section", n + 1));
        }
    }
    Ok(out)
}

/// Several licenses (one per line) all apply: `A AND B`, each compound one
/// in parentheses.
pub(crate) fn join_licenses(licenses: &[&str]) -> Option<String> {
    let parts: Vec<String> = licenses
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            if l.contains(' ') && licenses.len() > 1 {
                format!("({l})")
            } else {
                l.to_string()
            }
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

#[cfg(test)]
mod tests {
    use super::super::osrelease;
    use super::*;

    #[test]
    fn multi_line_fields_and_packager() {
        let os = osrelease::parse("NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n");
        let desc = "%NAME%\nlibxcrypt\n\n%VERSION%\n4.4.36-2\n\n%BASE%\nlibxcrypt\n\n%DESC%\nModern library\n\n\
                    %ARCH%\nx86_64\n\n%PACKAGER%\nDavid Runge <dvzrv@archlinux.org>\n\n%LICENSE%\nGPL\nLGPL-2.1-or-later OR MIT\n\n\
                    %DEPENDS%\nglibc\n\n";
        let p = parse(desc, &os).unwrap();
        assert_eq!(p.name, "libxcrypt");
        assert_eq!(p.version, "4.4.36-2");
        assert_eq!(
            p.purl,
            "pkg:alpm/arch/libxcrypt@4.4.36-2?arch=x86_64&distro=arch"
        );
        assert_eq!(
            p.license.as_deref(),
            Some("GPL AND (LGPL-2.1-or-later OR MIT)")
        );
        assert_eq!(
            p.supplier.as_deref(),
            Some("Person: David Runge (dvzrv@archlinux.org)")
        );
    }

    #[test]
    fn epoch_version_and_errors() {
        let os = OsRelease::default();
        let p = parse("%NAME%\nfoo\n\n%VERSION%\n1:2.0-1\n", &os).unwrap();
        assert_eq!(p.purl, "pkg:alpm/arch/foo@1:2.0-1");
        assert_eq!(
            parse("%VERSION%\n1\n", &os).unwrap_err(),
            "no %NAME% section"
        );
        assert_eq!(
            parse("junk\n", &os).unwrap_err(),
            "line 1 is outside any %FIELD% section"
        );
    }
}
