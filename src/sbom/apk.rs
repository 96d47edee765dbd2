//! apk's database `lib/apk/db/installed` (apk-tools v2, the "installed
//! database" of <https://wiki.alpinelinux.org/wiki/Apk_spec>): one record
//! per package, records separated by a blank line, every line a one-letter
//! key, a colon and the value: `P:` name, `V:` version, `A:` arch, `L:`
//! license, `m:` maintainer, `o:` origin (the source package).
//!
//! Corners, as syft's and trivy's parsers handle them: the last record may
//! end without a newline or blank line; file (`F:`, `R:`, `Z:`, ...) lines
//! repeat within a record and are ignored here; a value may contain colons.

use super::osrelease::OsRelease;
use super::purl::{self, Purl};
use super::{Package, person};

/// The packages in an apk installed database.
pub(crate) fn parse(text: &str, os: &OsRelease) -> Result<Vec<Package>, String> {
    let mut packages = Vec::new();
    let mut record: Vec<(u8, &str)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() {
            finish(&mut record, &mut packages, os)?;
            continue;
        }
        match line.as_bytes() {
            [key, b':', ..] => record.push((*key, &line[2..])),
            _ => return Err(format!("line {} is not a `K:value` line", n + 1)),
        }
    }
    finish(&mut record, &mut packages, os)?;
    Ok(packages)
}

/// Turn a complete record into a package.
fn finish(
    record: &mut Vec<(u8, &str)>,
    out: &mut Vec<Package>,
    os: &OsRelease,
) -> Result<(), String> {
    if record.is_empty() {
        return Ok(());
    }
    let get = |key: u8| record.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let Some(name) = get(b'P') else {
        return Err(format!(
            "a record has no P: (name) line ({} lines)",
            record.len()
        ));
    };
    let version = get(b'V').unwrap_or_default();
    let origin = get(b'o').filter(|o| *o != name).unwrap_or_default();
    let purl = Purl {
        kind: "apk",
        namespace: Some(purl::vendor(os, "alpine")),
        name: name.to_lowercase(),
        version,
        qualifiers: vec![
            ("arch", get(b'A').unwrap_or_default().to_string()),
            ("distro", purl::distro(os)),
            ("upstream", origin.to_string()),
        ],
    }
    .render();
    out.push(Package {
        name: name.to_string(),
        version: version.to_string(),
        purl,
        license: get(b'L').filter(|l| !l.is_empty()).map(str::to_string),
        supplier: get(b'm').and_then(person),
    });
    record.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::osrelease;
    use super::*;

    #[test]
    fn records_with_origin_license_and_no_trailing_newline() {
        let os = osrelease::parse("ID=alpine\nVERSION_ID=3.20.3\n");
        let db = "C:Q1abc=\nP:musl\nV:1.2.5-r0\nA:x86_64\nL:MIT\nm:Natanael Copa <ncopa@alpinelinux.org>\no:musl\nF:lib\nR:ld-musl-x86_64.so.1\n\n\
                  P:musl-utils\nV:1.2.5-r0\nA:x86_64\nL:MIT AND BSD-2-Clause AND GPL-2.0-or-later\no:musl\nT:a: colon";
        let pkgs = parse(db, &os).unwrap();
        assert_eq!(pkgs.len(), 2);
        assert_eq!(
            pkgs[0].purl,
            "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3"
        );
        assert_eq!(
            pkgs[1].purl,
            "pkg:apk/alpine/musl-utils@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3&upstream=musl"
        );
        assert_eq!(
            pkgs[1].license.as_deref(),
            Some("MIT AND BSD-2-Clause AND GPL-2.0-or-later")
        );
        assert_eq!(
            pkgs[0].supplier.as_deref(),
            Some("Person: Natanael Copa (ncopa@alpinelinux.org)")
        );
    }

    #[test]
    fn garbage_is_an_error() {
        let os = OsRelease::default();
        assert_eq!(
            parse("P:x\nnot apk\n", &os).unwrap_err(),
            "line 2 is not a `K:value` line"
        );
        assert_eq!(
            parse("V:1\n", &os).unwrap_err(),
            "a record has no P: (name) line (1 lines)"
        );
    }
}
