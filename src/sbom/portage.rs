//! Portage's installed-package database `var/db/pkg/CATEGORY/PF/` (the
//! "VDB"; the Package Manager Specification names `PF` = `PN-PVR`): one
//! directory per package, its files (`CONTENTS`, `SLOT`, `LICENSE`, ...)
//! each holding one variable.
//!
//! The name is `CATEGORY/PN` and the version `PVR` split off `PF` by the
//! PMS version syntax (`1.2.3b_rc1_p2-r1`), as syft's portage cataloger
//! does; the purl is what syft emits, `pkg:ebuild/CATEGORY/PN@PVR` (the
//! purl specification has no portage type; `ebuild` is the type proposed
//! for it, and the category is the namespace). `LICENSE` holds Gentoo's
//! license syntax (`A || ( B C ) flag? ( D )`): like syft, the licenses
//! outside `||` groups all apply, one of each `||` group's applies, and
//! USE-conditional ones are left out of the expression.

use super::Package;
use super::purl::Purl;

/// The package for the directory `CATEGORY/PF`, with its `LICENSE` text.
pub(crate) fn package(category: &str, pf: &str, license: Option<&str>) -> Result<Package, String> {
    let (pn, pvr) = split_pf(pf)
        .ok_or_else(|| format!("{pf:?} is not NAME-VERSION in the PMS version syntax"))?;
    let purl = Purl {
        kind: "ebuild",
        namespace: Some(category.to_string()),
        name: pn.to_string(),
        version: pvr,
        qualifiers: Vec::new(),
    }
    .render();
    Ok(Package {
        name: format!("{category}/{pn}"),
        version: pvr.to_string(),
        purl,
        license: license.and_then(expression),
        supplier: None,
    })
}

/// `PF` split into `PN` and `PVR` at the first `-` that starts a version.
pub(crate) fn split_pf(pf: &str) -> Option<(&str, &str)> {
    pf.match_indices('-')
        .map(|(i, _)| (&pf[..i], &pf[i + 1..]))
        .find(|(pn, pvr)| !pn.is_empty() && valid_pvr(pvr))
}

/// PMS 3.2: `\d+(\.\d+)*[a-z]?(_(alpha|beta|pre|rc|p)\d*)*(-r\d+)?`.
fn valid_pvr(pvr: &str) -> bool {
    let pv = match pvr.rsplit_once("-r") {
        Some((pv, r)) if !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()) => pv,
        _ => pvr,
    };
    let mut parts = pv.split('_');
    let Some(numbers) = parts.next() else {
        return false;
    };
    let numbers = numbers
        .strip_suffix(|c: char| c.is_ascii_lowercase())
        .unwrap_or(numbers);
    let numeric = numbers
        .split('.')
        .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    numeric
        && parts.all(|s| {
            ["alpha", "beta", "pre", "rc", "p"].iter().any(|k| {
                s.strip_prefix(k)
                    .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
            })
        })
}

/// A license expression from Gentoo's `LICENSE` syntax (see the module).
pub(crate) fn expression(text: &str) -> Option<String> {
    let (mut all, mut any) = (Vec::new(), Vec::new());
    // The kind of group each open parenthesis started.
    let mut groups: Vec<Group> = Vec::new();
    let mut next = Group::Plain;
    for token in text.split_whitespace() {
        match token {
            "||" => next = Group::AnyOf,
            "(" => groups.push(std::mem::replace(&mut next, Group::Plain)),
            ")" => {
                groups.pop();
            }
            t if t.ends_with('?') => next = Group::Conditional,
            t => {
                if groups.contains(&Group::Conditional) {
                    continue;
                }
                if groups.contains(&Group::AnyOf) {
                    any.push(t);
                } else {
                    all.push(t);
                }
            }
        }
    }
    let mut expr = all.join(" AND ");
    if !any.is_empty() {
        let alternatives = any.join(" OR ");
        expr = if expr.is_empty() {
            alternatives
        } else {
            format!("{expr} AND ({alternatives})")
        };
    }
    (!expr.is_empty()).then_some(expr)
}

/// What an open parenthesis in `LICENSE` groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    Plain,
    AnyOf,
    Conditional,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pf_splits_at_the_version() {
        assert_eq!(split_pf("gperf-3.1-r1"), Some(("gperf", "3.1-r1")));
        assert_eq!(
            split_pf("font-adobe-100dpi-1.0.3"),
            Some(("font-adobe-100dpi", "1.0.3"))
        );
        assert_eq!(
            split_pf("openssl-3.3.2_p20240101_rc1-r12"),
            Some(("openssl", "3.3.2_p20240101_rc1-r12"))
        );
        assert_eq!(split_pf("tzdata-2024a"), Some(("tzdata", "2024a")));
        assert_eq!(split_pf("audio-0-r2"), Some(("audio", "0-r2")));
        assert_eq!(split_pf("noversion"), None);
        assert_eq!(split_pf("bad-1.x"), None);
    }

    #[test]
    fn package_name_version_purl() {
        let p = package("dev-util", "gperf-3.1-r1", Some("GPL-2+\n")).unwrap();
        assert_eq!(p.name, "dev-util/gperf");
        assert_eq!(p.version, "3.1-r1");
        assert_eq!(p.purl, "pkg:ebuild/dev-util/gperf@3.1-r1");
        assert_eq!(p.license.as_deref(), Some("GPL-2+"));
        assert_eq!(
            package("x", "y", None).unwrap_err(),
            "\"y\" is not NAME-VERSION in the PMS version syntax"
        );
    }

    #[test]
    fn gentoo_license_syntax() {
        assert_eq!(
            expression("MIT || ( GPL-2 BSD ) ssl? ( OpenSSL )").as_deref(),
            Some("MIT AND (GPL-2 OR BSD)")
        );
        assert_eq!(
            expression("|| ( Apache-2.0 MIT )").as_deref(),
            Some("Apache-2.0 OR MIT")
        );
        assert_eq!(expression("  \n"), None);
    }
}
