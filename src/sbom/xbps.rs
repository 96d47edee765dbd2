//! xbps's package database `var/db/xbps/pkgdb-0.38.plist` (Void Linux): an
//! XML property list (Apple's plist DTD, as libxbps writes it through
//! proplib) whose top dictionary maps each package name to a dictionary
//! with `pkgver` (`NAME-VERSION_REVISION`), `architecture`, `license`,
//! `state` (`installed`, `unpacked`, `half-removed`, ...), `license` (a
//! comma-separated list, all applying: joined with `AND`); keys starting
//! with `_` (`_XBPS_ALTERNATIVES_`) are not packages.
//!
//! Neither the purl specification nor syft or trivy have an xbps type; the
//! purl is `pkg:generic/void/NAME@VERSION_REVISION?arch=...&distro=...`,
//! the specification's type for packages without one of their own.
//!
//! The reader below covers the plist subset proplib writes: `dict`, `key`,
//! `array`, `string`, `integer`, `bool` (`true`/`false`), `data`, `date`;
//! the XML declaration, DOCTYPE and comments; the five predefined entities
//! and numeric character references.

use super::Package;
use super::osrelease::OsRelease;
use super::purl::{self, Purl};

/// A plist value.
#[derive(Debug, PartialEq)]
pub(crate) enum Value {
    /// `<dict>`.
    Dict(Vec<(String, Value)>),
    /// `<array>`.
    Array(Vec<Value>),
    /// `<string>`, `<integer>`, `<data>`, `<date>` text; `<true/>`, `<false/>`.
    Text(String),
}

impl Value {
    fn get(&self, key: &str) -> Option<&str> {
        match self {
            Value::Dict(entries) => {
                entries
                    .iter()
                    .find(|(k, _)| k == key)
                    .and_then(|(_, v)| match v {
                        Value::Text(t) => Some(t.as_str()),
                        _ => None,
                    })
            }
            _ => None,
        }
    }
}

/// The installed packages in an xbps pkgdb.
pub(crate) fn parse(text: &str, os: &OsRelease) -> Result<Vec<Package>, String> {
    let Value::Dict(entries) = plist(text)? else {
        return Err("the plist's top value is not a <dict>".to_string());
    };
    let mut packages = Vec::new();
    for (name, props) in &entries {
        if name.starts_with('_') || props.get("state").is_some_and(|s| s != "installed") {
            continue;
        }
        let pkgver = props
            .get("pkgver")
            .ok_or_else(|| format!("package {name:?} has no pkgver"))?;
        let version = pkgver
            .strip_prefix(name.as_str())
            .and_then(|v| v.strip_prefix('-'))
            .ok_or_else(|| format!("package {name:?}: pkgver {pkgver:?} is not {name}-VERSION"))?;
        let purl = Purl {
            kind: "generic",
            namespace: Some(purl::vendor(os, "void")),
            name: name.clone(),
            version,
            qualifiers: vec![
                (
                    "arch",
                    props.get("architecture").unwrap_or_default().to_string(),
                ),
                ("distro", purl::distro(os)),
            ],
        }
        .render();
        packages.push(Package {
            name: name.clone(),
            version: version.to_string(),
            purl,
            license: props
                .get("license")
                .and_then(|l| super::pacman::join_licenses(&l.split(',').collect::<Vec<_>>())),
            supplier: props.get("maintainer").and_then(super::person),
        });
    }
    Ok(packages)
}

/// Parse a whole XML plist into its top value.
pub(crate) fn plist(text: &str) -> Result<Value, String> {
    let mut tokens = Tokens { rest: text };
    loop {
        match tokens.next()? {
            Some(Token::Open("plist")) => break,
            Some(Token::Text(t)) if t.trim().is_empty() => {}
            other => return Err(format!("expected <plist>, found {}", show(other.as_ref()))),
        }
    }
    let value = value(&mut tokens, None)?;
    match tokens.skip_space()? {
        Some(Token::Close("plist")) => Ok(value),
        other => Err(format!("expected </plist>, found {}", show(other.as_ref()))),
    }
}

/// Nesting deeper than this is refused (pkgdb nests three levels).
const MAX_DEPTH: usize = 64;

/// The next value; `first` is its opening token if already read.
fn value<'a>(tokens: &mut Tokens<'a>, first: Option<Token<'a>>) -> Result<Value, String> {
    value_at(tokens, first, 0)
}

fn value_at<'a>(
    tokens: &mut Tokens<'a>,
    first: Option<Token<'a>>,
    depth: usize,
) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("nested deeper than {MAX_DEPTH} levels"));
    }
    let token = match first {
        Some(t) => Some(t),
        None => tokens.skip_space()?,
    };
    match token {
        Some(Token::Empty("string" | "data" | "date" | "key")) => Ok(Value::Text(String::new())),
        Some(Token::Empty(t @ ("true" | "false"))) => Ok(Value::Text(t.to_string())),
        Some(Token::Empty("dict")) => Ok(Value::Dict(Vec::new())),
        Some(Token::Empty("array")) => Ok(Value::Array(Vec::new())),
        Some(Token::Open("dict")) => dict(tokens, depth),
        Some(Token::Open("array")) => {
            let mut items = Vec::new();
            loop {
                match tokens.skip_space()? {
                    Some(Token::Close("array")) => return Ok(Value::Array(items)),
                    t @ Some(_) => items.push(value_at(tokens, t, depth + 1)?),
                    None => return Err("the file ends inside an <array>".to_string()),
                }
            }
        }
        Some(Token::Open(tag @ ("string" | "integer" | "data" | "date" | "real"))) => {
            text(tokens, tag)
        }
        other => Err(format!("expected a value, found {}", show(other.as_ref()))),
    }
}

fn dict(tokens: &mut Tokens<'_>, depth: usize) -> Result<Value, String> {
    let mut entries = Vec::new();
    loop {
        let key = match tokens.skip_space()? {
            Some(Token::Close("dict")) => return Ok(Value::Dict(entries)),
            Some(Token::Open("key")) => match text(tokens, "key")? {
                Value::Text(k) => k,
                _ => String::new(),
            },
            other => {
                return Err(format!(
                    "expected <key> in a <dict>, found {}",
                    show(other.as_ref())
                ));
            }
        };
        let v = value_at(tokens, None, depth + 1)?;
        entries.push((key, v));
    }
}

/// The text of an element up to its closing tag.
fn text(tokens: &mut Tokens<'_>, tag: &str) -> Result<Value, String> {
    let mut out = String::new();
    loop {
        match tokens.next()? {
            Some(Token::Text(t)) => out.push_str(&unescape(t)?),
            Some(Token::Close(t)) if t == tag => return Ok(Value::Text(out)),
            other => return Err(format!("expected </{tag}>, found {}", show(other.as_ref()))),
        }
    }
}

/// XML's predefined entities and character references.
fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find(';')
            .ok_or_else(|| format!("unterminated entity in {text:?}"))?;
        let entity = &rest[i + 1..i + end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => entity
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                .and_then(|n| n.ok())
                .and_then(char::from_u32)
                .ok_or_else(|| format!("unknown entity &{entity};"))?,
        };
        out.push(c);
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// One piece of XML.
#[derive(Debug, PartialEq)]
enum Token<'a> {
    Open(&'a str),
    Close(&'a str),
    Empty(&'a str),
    Text(&'a str),
}

fn show(token: Option<&Token<'_>>) -> String {
    match token {
        None => "the end of the file".to_string(),
        Some(Token::Open(t)) => format!("<{t}>"),
        Some(Token::Close(t)) => format!("</{t}>"),
        Some(Token::Empty(t)) => format!("<{t}/>"),
        Some(Token::Text(t)) => format!("text {:?}", t.chars().take(40).collect::<String>()),
    }
}

/// The XML tokenizer: tags (attributes ignored) and text; declarations,
/// DOCTYPE and comments skipped.
struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn next(&mut self) -> Result<Option<Token<'a>>, String> {
        loop {
            if self.rest.is_empty() {
                return Ok(None);
            }
            if let Some(after) = self.rest.strip_prefix("<!--") {
                let end = after.find("-->").ok_or("unterminated comment")?;
                self.rest = &after[end + 3..];
                continue;
            }
            if self.rest.starts_with("<?") || self.rest.starts_with("<!") {
                let end = self.rest.find('>').ok_or("unterminated declaration")?;
                self.rest = &self.rest[end + 1..];
                continue;
            }
            if let Some(after) = self.rest.strip_prefix('<') {
                let end = after.find('>').ok_or("unterminated tag")?;
                let inner = &after[..end];
                self.rest = &after[end + 1..];
                let name = |s: &'a str| s.split_whitespace().next().unwrap_or_default();
                return Ok(Some(if let Some(n) = inner.strip_prefix('/') {
                    Token::Close(name(n))
                } else if let Some(n) = inner.strip_suffix('/') {
                    Token::Empty(name(n))
                } else {
                    Token::Open(name(inner))
                }));
            }
            let end = self.rest.find('<').unwrap_or(self.rest.len());
            let (t, rest) = self.rest.split_at(end);
            self.rest = rest;
            return Ok(Some(Token::Text(t)));
        }
    }

    /// The next token that is not whitespace text.
    fn skip_space(&mut self) -> Result<Option<Token<'a>>, String> {
        loop {
            match self.next()? {
                Some(Token::Text(t)) if t.trim().is_empty() => {}
                other => return Ok(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::osrelease;
    use super::*;

    pub(crate) const PKGDB: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple Computer//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>_XBPS_ALTERNATIVES_</key>
	<dict>
		<key>sh</key>
		<array>
			<string>bash</string>
		</array>
	</dict>
	<key>bash</key>
	<dict>
		<key>architecture</key>
		<string>x86_64</string>
		<key>automatic-install</key>
		<true/>
		<key>installed_size</key>
		<integer>8052867</integer>
		<key>license</key>
		<string>GPL-3.0-or-later</string>
		<key>pkgver</key>
		<string>bash-5.2.021_1</string>
		<key>short_desc</key>
		<string>GNU Bourne Again Shell &amp; more &#x263A;</string>
		<key>state</key>
		<string>installed</string>
		<!-- a comment -->
	</dict>
	<key>half</key>
	<dict>
		<key>pkgver</key>
		<string>half-1.0_1</string>
		<key>state</key>
		<string>unpacked</string>
	</dict>
</dict>
</plist>
"#;

    #[test]
    fn pkgdb_installed_packages() {
        let os = osrelease::parse("NAME=\"Void\"\nID=\"void\"\n");
        let pkgs = parse(PKGDB, &os).unwrap();
        assert_eq!(pkgs.len(), 1);
        assert_eq!(pkgs[0].name, "bash");
        assert_eq!(pkgs[0].version, "5.2.021_1");
        assert_eq!(
            pkgs[0].purl,
            "pkg:generic/void/bash@5.2.021_1?arch=x86_64&distro=void"
        );
        assert_eq!(pkgs[0].license.as_deref(), Some("GPL-3.0-or-later"));
    }

    #[test]
    fn entities_and_errors() {
        let v =
            plist("<plist><dict><key>a</key><string>x &amp; &#9786; &lt;</string></dict></plist>")
                .unwrap();
        assert_eq!(v.get("a"), Some("x & \u{263A} <"));
        let os = OsRelease::default();
        assert_eq!(
            parse("<plist><dict><key>a</key>", &os).unwrap_err(),
            "expected a value, found the end of the file"
        );
        assert_eq!(
            parse("garbage", &os).unwrap_err(),
            "expected <plist>, found text \"garbage\""
        );
        assert_eq!(
            parse("<plist><dict><key>a</key><dict><key>pkgver</key><string>b-1</string></dict></dict></plist>", &os)
                .unwrap_err(),
            "package \"a\": pkgver \"b-1\" is not a-VERSION"
        );
    }
}
