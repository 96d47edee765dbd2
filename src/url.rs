//! Where a file argument points, cut in one place: whether it is an
//! http(s) URL, its public form (no credentials, no query), its host, a
//! redirect resolved against it, and the base name that inputs, checksum
//! files and signatures are known by.
//!
//! A leaf module (no `crate::` imports), so that `checksums`, `fetch` and
//! `import` can all share the base-name rule without a module cycle.

use std::path::Path;

/// Whether a command-line argument names an `http://` or `https://` URL.
pub fn is_url(arg: &str) -> bool {
    scheme_of(arg).is_some()
}

/// `"http"` or `"https"` (lower case) if `url` starts with one of them.
pub(crate) fn scheme_of(url: &str) -> Option<&'static str> {
    let (scheme, rest) = url.split_once("://")?;
    if rest.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("https") {
        Some("https")
    } else if scheme.eq_ignore_ascii_case("http") {
        Some("http")
    } else {
        None
    }
}

/// A URL cut into the parts every function here needs: the scheme (if
/// any), the authority (with any user info) and the host and port without
/// it, and the path without query or fragment.
struct UrlParts<'a> {
    scheme: Option<&'a str>,
    authority: &'a str,
    hostport: &'a str,
    path: &'a str,
}

/// The one place a URL is cut into parts.
fn split_url(url: &str) -> UrlParts<'_> {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    UrlParts {
        scheme,
        authority,
        hostport: authority.rsplit('@').next().unwrap_or(authority),
        path,
    }
}

/// `url` as it may be shown and recorded: scheme, host, port and path,
/// without credentials (`user:password@`) and without the query and
/// fragment, where presigned URLs carry their tokens.
///
/// A password holding a raw `/`, `?` or `#` ends the authority early (RFC
/// 3986), leaving its rest and the `@` in the path, query or fragment. Such
/// an authority has no `@` and no valid port, so when it is malformed and
/// an `@` follows, everything up to the last `@` is taken as credentials
/// and not shown: a secret is never echoed, even in a malformed URL.
pub fn public_url(url: &str) -> String {
    let parts = split_url(url);
    let Some(scheme) = parts.scheme else {
        return url.to_string();
    };
    if port_problem(parts.hostport).is_some()
        && !parts.authority.contains('@')
        && let Some((_, after)) = url.rsplit_once('@')
    {
        return public_url(&format!("{scheme}://{after}"));
    }
    format!("{scheme}://{}{}", parts.hostport, parts.path)
}

/// A proxy setting (`http_proxy` and friends) as it may be shown: without
/// its user info, whether or not it names a scheme (everything up to the
/// last `@` is taken as credentials).
pub(crate) fn public_proxy(spec: &str) -> String {
    if spec.contains("://") {
        return public_url(spec);
    }
    spec.rsplit_once('@').map_or(spec, |(_, h)| h).to_string()
}

/// `message` (a library's error text) with every occurrence of the URLs
/// in `urls` replaced by its public form, so that no credentials or query
/// reach a message through text we did not write.
pub(crate) fn scrub(message: &str, urls: &[&str]) -> String {
    let mut out = message.to_string();
    for url in urls {
        if !url.is_empty() {
            out = out.replace(url, &public_url(url));
        }
    }
    out
}

/// Why `url` cannot be requested, checked before any connection as curl
/// does: a port that is not a number from 1 to 65535 (an HTTP library
/// would quietly use the scheme's default port and send the credentials
/// there). The reason names neither the port nor any credentials, since a
/// port that is not a number is often the start of a password holding a
/// raw `/`, `?` or `#`.
pub(crate) fn request_problem(url: &str) -> Option<String> {
    let parts = split_url(url);
    let problem = port_problem(parts.hostport)?;
    let hint = if url.contains('@') {
        " (a user name or password holding '/', '?', '#' or '@' must be percent-encoded)"
    } else {
        ""
    };
    Some(format!("{problem}{hint}; fix the URL"))
}

/// What is wrong with the `host[:port]` of an authority, if anything: the
/// port must be empty (the scheme's default) or a number from 1 to 65535.
fn port_problem(hostport: &str) -> Option<&'static str> {
    let port = if let Some(v6) = hostport.strip_prefix('[') {
        match v6.split_once(']') {
            Some((_, "")) => return None,
            Some((_, rest)) => match rest.strip_prefix(':') {
                Some(port) => port,
                None => return Some("the port is not a number from 1 to 65535"),
            },
            None => return Some("the IPv6 address has no closing ']'"),
        }
    } else {
        hostport.split_once(':')?.1
    };
    let valid = port.is_empty()
        || (port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p)));
    (!valid).then_some("the port is not a number from 1 to 65535")
}

/// The file name an argument stands for: the one rule for inputs, checksum
/// and signature files, and the names a checksum file lists. A URL's last
/// path segment without query or fragment, percent-decoded (its host if the
/// path is empty); a path's last component; the whole name if it has none
/// (`..`).
pub fn base_name(name: &str) -> String {
    if is_url(name) {
        url_base_name(name)
    } else {
        path_base_name(Path::new(name))
    }
}

/// [`base_name`] of a path that is not text (a file input).
pub(crate) fn path_base_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The file name a URL stands for: its last path segment, percent-decoded;
/// the host if the path is empty.
fn url_base_name(url: &str) -> String {
    // Of the public form, so that a malformed URL's credentials never
    // become a name.
    let public = public_url(url);
    let parts = split_url(&public);
    match parts.path.split('/').rev().find(|s| !s.is_empty()) {
        Some(s) => percent_decode(s).unwrap_or_else(|| s.to_string()),
        None => parts.hostport.to_string(),
    }
}

/// `%XX` decoding; `None` if the result would not be a plain file name.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let name = String::from_utf8(out).ok()?;
    (!name.contains(['/', '\0'])).then_some(name)
}

/// The host of `url`, lower case, without port, brackets or user info.
pub(crate) fn host_of(url: &str) -> String {
    let hostport = split_url(url).hostport;
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next().unwrap_or(v6)
    } else {
        hostport.split(':').next().unwrap_or(hostport)
    };
    host.to_ascii_lowercase()
}

/// Resolve a `Location` against the URL it came from (RFC 3986 §5.2, with
/// its dot-segment removal, as curl and browsers do: `../x` from `/a/b/c`
/// is `/a/x`, never a request for `/a/b/../x`).
pub(crate) fn resolve(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let parts = split_url(base);
    let (scheme, authority, path) = (parts.scheme.unwrap_or("http"), parts.authority, parts.path);
    if let Some(net) = location.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    if location.starts_with('?') {
        return format!("{scheme}://{authority}{path}{location}");
    }
    let cut = location.find(['?', '#']).unwrap_or(location.len());
    let (loc_path, rest) = location.split_at(cut);
    let merged = if loc_path.starts_with('/') {
        loc_path.to_string()
    } else {
        let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
        format!("{dir}{loc_path}")
    };
    format!(
        "{scheme}://{authority}{}{rest}",
        remove_dot_segments(&merged)
    )
}

/// RFC 3986 §5.2.4 on an absolute path: `.` segments go, `..` removes the
/// segment before it (never above the root); a trailing `.` or `..` leaves
/// the path ending in `/`.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *seg {
            "." | ".." => {
                if *seg == ".." {
                    out.pop();
                }
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_carry_no_credentials_or_query() {
        for (url, want) in [
            (
                "https://user:pw@example.org:8443/a/b.tar.gz?X-Amz-Signature=s#frag",
                "https://example.org:8443/a/b.tar.gz",
            ),
            ("http://example.org", "http://example.org"),
            ("http://tok@example.org?x=1", "http://example.org"),
            (
                "http://example.org/p@th/f.tar",
                "http://example.org/p@th/f.tar",
            ),
        ] {
            assert_eq!(public_url(url), want, "{url}");
        }
    }

    #[test]
    fn passwords_with_delimiters_never_show() {
        for (url, want) in [
            ("http://u:pa/ss@h:8/x", "http://h:8/x"),
            ("http://u:pa?ss@h/x?q", "http://h/x"),
            ("http://u:pa#ss@h/x", "http://h/x"),
            ("http://u:pa%2Fss%23@h:99999/x", "http://h:99999/x"),
            ("http://h:8080/p@th", "http://h:8080/p@th"),
        ] {
            assert_eq!(public_url(url), want, "{url}");
        }
    }

    #[test]
    fn proxies_and_library_messages_lose_their_credentials() {
        assert_eq!(
            public_proxy("alice:S3cretPW@127.0.0.1:3128/"),
            "127.0.0.1:3128/"
        );
        assert_eq!(public_proxy("http://a:S3/c@h:1"), "http://h:1");
        assert_eq!(public_proxy("socks5://a:S3@h:1/"), "socks5://h:1/");
        assert_eq!(public_proxy("h:3128"), "h:3128");
        assert_eq!(
            scrub(
                "bad uri: http://a:S3@h/x?t=1 is missing host",
                &["http://a:S3@h/x?t=1"]
            ),
            "bad uri: http://h/x is missing host"
        );
    }

    #[test]
    fn ports_outside_1_to_65535_are_refused_before_any_request() {
        for url in [
            "http://u:p@127.0.0.1:99999/x",
            "http://h:0/",
            "http://h:8o/",
            "http://h:-1/",
            "http://h:1:2/",
            "http://u:Zq/ss@h/x",
            "http://[::1]x/",
            "http://[::1:80/",
        ] {
            let why = request_problem(url).unwrap_or_default();
            assert!(why.ends_with("; fix the URL"), "{url}: {why}");
            assert!(!why.contains("Zq") && !why.contains("999"), "{why}");
        }
        for url in [
            "http://h/",
            "http://h:/",
            "https://h:65535/x",
            "http://[::1]:1/",
            "http://[::1]/",
            "http://u:p@h:80",
            "http://h/a:99999",
        ] {
            assert_eq!(request_problem(url), None, "{url}");
        }
    }

    #[test]
    fn urls_are_recognised_by_scheme() {
        assert!(is_url("https://example.org/a.tar.xz"));
        assert!(is_url("HTTP://example.org/"));
        assert!(!is_url("ftp://example.org/a"));
        assert!(!is_url("./https://x"));
        assert!(!is_url("http://"));
        assert!(!is_url("rootfs.tar"));
    }

    #[test]
    fn base_name_is_the_last_segment_without_query() {
        assert_eq!(
            base_name("https://h/d/alpine.tar.gz?sig=1#f"),
            "alpine.tar.gz"
        );
        assert_eq!(
            base_name("https://h/d/stage3%2Bx.tar.xz"),
            "stage3+x.tar.xz"
        );
        assert_eq!(base_name("https://h/d/dir/"), "dir");
        assert_eq!(base_name("https://user@host:8080"), "host:8080");
        assert_eq!(base_name("https://h/a%2Fb"), "a%2Fb");
        assert_eq!(base_name("https://u:S3#cret@h"), "h");
    }

    #[test]
    fn locations_resolve_against_the_current_url() {
        let base = "https://h:1/a/b/c.tar?x=1";
        assert_eq!(resolve(base, "http://o/p"), "http://o/p");
        assert_eq!(resolve(base, "//o/p"), "https://o/p");
        assert_eq!(resolve(base, "/p/q"), "https://h:1/p/q");
        assert_eq!(resolve(base, "d.tar"), "https://h:1/a/b/d.tar");
        assert_eq!(resolve(base, "?y=2"), "https://h:1/a/b/c.tar?y=2");
        assert_eq!(resolve("http://h", "x"), "http://h/x");
        assert_eq!(resolve(base, "../x"), "https://h:1/a/x");
        assert_eq!(resolve(base, "../../../x?q=/../"), "https://h:1/x?q=/../");
        assert_eq!(resolve(base, "./d/./e/../f"), "https://h:1/a/b/d/f");
        assert_eq!(resolve(base, "/p/../q"), "https://h:1/q");
        assert_eq!(resolve(base, ".."), "https://h:1/a/");
        assert_eq!(resolve(base, "."), "https://h:1/a/b/");
        assert_eq!(resolve(base, "d/"), "https://h:1/a/b/d/");
    }

    #[test]
    fn hosts_lose_port_brackets_and_user_info() {
        assert_eq!(host_of("https://u:p@[::1]:8443/x"), "::1");
        assert_eq!(host_of("http://Example.ORG:80?q"), "example.org");
    }

    #[test]
    fn paths_and_urls_share_one_base_name_rule() {
        assert_eq!(base_name("dir/a.tar"), "a.tar");
        assert_eq!(base_name("/dl/rootfs.tar.xz"), "rootfs.tar.xz");
        assert_eq!(base_name("./a (1).tar"), "a (1).tar");
        assert_eq!(base_name("a.tar"), "a.tar");
        assert_eq!(base_name(".."), "..");
        assert_eq!(base_name("a%2Bb.tar"), "a%2Bb.tar");
        assert_eq!(path_base_name(Path::new("x/SHA256SUMS")), "SHA256SUMS");
    }
}
