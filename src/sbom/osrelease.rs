//! `os-release(5)`: shell-like `KEY=value` lines, values optionally quoted
//! with `"` or `'`, backslash escapes inside double quotes, `#` comments.

/// The fields of an os-release file, in file order (a later duplicate wins
/// in [`OsRelease::get`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct OsRelease(pub(crate) Vec<(String, String)>);

impl OsRelease {
    /// The value of `key`, if set and not empty.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// Parse os-release text; lines that are not assignments are ignored, as
/// systemd does.
pub(crate) fn parse(text: &str) -> OsRelease {
    let mut fields = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        fields.push((key.to_string(), unquote(raw.trim())));
    }
    OsRelease(fields)
}

/// A value without its quotes; `\"`, `\\`, `\$` and `` \` `` unescaped in
/// double quotes.
fn unquote(raw: &str) -> String {
    if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return inner.to_string();
    }
    let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return raw.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(n @ ('"' | '\\' | '$' | '`'))) => {
                out.push(n);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_unquoted_and_escaped_values() {
        let os = parse(
            "# comment\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n\
             VERSION_ID='12'\nNAME=\"say \\\"hi\\\"\"\nnot an assignment\nEMPTY=\n",
        );
        assert_eq!(
            os.get("PRETTY_NAME"),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(os.get("ID"), Some("debian"));
        assert_eq!(os.get("VERSION_ID"), Some("12"));
        assert_eq!(os.get("NAME"), Some("say \"hi\""));
        assert_eq!(os.get("EMPTY"), None);
        assert_eq!(os.0.len(), 5);
    }
}
