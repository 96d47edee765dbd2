//! Package URLs (purl), built per the purl specification
//! (<https://github.com/package-url/purl-spec>, docs/standard): components
//! percent-encoded except the alphanumerics, `.-_~` and `:`; namespace and
//! name lowercased where the type says so (deb, apk, alpm, rpm namespace);
//! qualifiers sorted by key, empty values left out.

use super::osrelease::OsRelease;

/// A purl's parts, before encoding.
#[derive(Debug, Default)]
pub(crate) struct Purl<'a> {
    /// The type (`deb`, `rpm`, ...).
    pub(crate) kind: &'a str,
    /// The namespace, if any (vendor or category).
    pub(crate) namespace: Option<String>,
    /// The name.
    pub(crate) name: String,
    /// The version.
    pub(crate) version: &'a str,
    /// Qualifiers, in any order; empty values are dropped.
    pub(crate) qualifiers: Vec<(&'static str, String)>,
}

impl Purl<'_> {
    /// The canonical string form.
    pub(crate) fn render(mut self) -> String {
        let mut out = format!("pkg:{}/", self.kind);
        if let Some(ns) = self.namespace.as_deref().filter(|n| !n.is_empty()) {
            for segment in ns.split('/') {
                out.push_str(&encode(segment));
                out.push('/');
            }
        }
        out.push_str(&encode(&self.name));
        if !self.version.is_empty() {
            out.push('@');
            out.push_str(&encode(self.version));
        }
        self.qualifiers.retain(|(_, v)| !v.is_empty());
        self.qualifiers.sort();
        for (i, (key, value)) in self.qualifiers.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(key);
            out.push('=');
            out.push_str(&encode(value));
        }
        out
    }
}

/// Percent-encode one component: everything but the alphanumerics, `.-_~`
/// and `:` (which the specification says must never be encoded).
pub(crate) fn encode(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    for &b in component.as_bytes() {
        if b.is_ascii_alphanumeric() || b".-_~:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `distro` qualifier: `ID-VERSION_ID` (`debian-12`, `alpine-3.20.3`),
/// or `ID` alone when there is no `VERSION_ID` (Arch, Debian testing).
pub(crate) fn distro(os: &OsRelease) -> String {
    match (os.get("ID"), os.get("VERSION_ID")) {
        (Some(id), Some(v)) => format!("{}-{v}", id.to_lowercase()),
        (Some(id), None) => id.to_lowercase(),
        _ => String::new(),
    }
}

/// The vendor namespace: os-release `ID`, lowercased, else `fallback`.
pub(crate) fn vendor(os: &OsRelease, fallback: &str) -> String {
    os.get("ID")
        .map(str::to_lowercase)
        .unwrap_or_else(|| fallback.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_colon_and_punctuation_and_encodes_plus() {
        assert_eq!(encode("1:2.36-9+deb12u4"), "1:2.36-9%2Bdeb12u4");
        assert_eq!(encode("a b/c@d~e_f"), "a%20b%2Fc%40d~e_f");
        assert_eq!(encode("ü"), "%C3%BC");
    }

    #[test]
    fn qualifiers_are_sorted_and_empty_ones_dropped() {
        let p = Purl {
            kind: "rpm",
            namespace: Some("fedora".into()),
            name: "curl".into(),
            version: "7.50.3-1.fc25",
            qualifiers: vec![
                ("epoch", "1".into()),
                ("distro", "fedora-25".into()),
                ("arch", "i386".into()),
                ("upstream", String::new()),
            ],
        };
        assert_eq!(
            p.render(),
            "pkg:rpm/fedora/curl@7.50.3-1.fc25?arch=i386&distro=fedora-25&epoch=1"
        );
    }
}
