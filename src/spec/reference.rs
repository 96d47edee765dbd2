//! Image references (`[HOST[:PORT]/]PATH[:TAG]`), as the distribution
//! reference grammar (docker/distribution `reference/regexp.go`) and
//! Docker's normalization (`reference/normalize.go`) read them: what
//! `-t NAME:TAG` takes, what `io.containerd.image.name` holds and what
//! Docker's `manifest.json` lists in `RepoTags`.

use std::fmt;

/// The annotation containerd (`ctr images import`, kind, k3s), Docker's
/// containerd image store and podman name an imported image by: the fully
/// qualified reference.
pub const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// The registry a reference without a host names.
const DOCKER_HUB: &str = "docker.io";

/// The longest repository name (host and path) the grammar allows.
const MAX_NAME_LEN: usize = 255;

/// A fully qualified image reference: registry host, repository path and tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// `docker.io`, `registry.example.org:5000`, ...
    pub domain: String,
    /// `library/alpine`, `ns/name`, ...
    pub path: String,
    /// The tag (`[\w][\w.-]{0,127}`).
    pub tag: String,
}

impl Reference {
    /// `domain/path` (the repository, fully qualified).
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// Docker's short ("familiar") form: `docker.io/library/x:1` is `x:1`,
    /// `docker.io/ns/x:1` is `ns/x:1`; other registries are kept.
    pub fn familiar(&self) -> String {
        if self.domain != DOCKER_HUB {
            return self.to_string();
        }
        // `library/a/b` is not shortened, as Docker does not shorten it.
        let path = match self.path.strip_prefix("library/") {
            Some(rest) if !rest.contains('/') => rest,
            _ => &self.path,
        };
        format!("{path}:{}", self.tag)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}:{}", self.domain, self.path, self.tag)
    }
}

/// Parse a repository name (`[HOST[:PORT]/]PATH`, no tag) into its fully
/// qualified domain and path: `x` is `docker.io` and `library/x`, `ns/x`
/// is `docker.io` and `ns/x`. Upper case is refused in the path (with the
/// lower-case name as the fix), and in a first component that is not a
/// host (no `.` or `:`, not `localhost`).
pub fn parse_repository(name: &str) -> Result<(String, String), String> {
    if name.contains('@') {
        return Err(format!(
            "{name:?} holds a digest (@); a digest names content, it cannot be given: give NAME:TAG"
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "the repository name is {} characters long; at most {MAX_NAME_LEN} are allowed",
            name.len()
        ));
    }
    let (domain, path) = match name.split_once('/') {
        Some((first, rest)) if is_host_like(first) => {
            if !valid_domain(first) {
                return Err(format!(
                    "{first:?} is not a registry host (letters, digits, -, ., an optional :PORT)"
                ));
            }
            (first.to_string(), rest.to_string())
        }
        _ => (DOCKER_HUB.to_string(), name.to_string()),
    };
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        let lower = name.to_ascii_lowercase();
        return Err(format!(
            "{name:?}: repository names are lower case; give {lower:?}"
        ));
    }
    if path.is_empty() || !path.split('/').all(valid_path_component) {
        return Err(format!(
            "{name:?} is not a valid repository name (lower-case letters and digits, separated by ., _, __ or -, components joined by /)"
        ));
    }
    let path = if domain == DOCKER_HUB && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    Ok((domain, path))
}

/// Parse `NAME[:TAG]` (`latest` when no tag is given) into a fully
/// qualified reference; digests are refused.
pub fn parse_reference(s: &str) -> Result<Reference, String> {
    if s.contains('@') {
        return Err(format!(
            "{s:?} holds a digest (@); a digest names content, it cannot be given as a name: give NAME:TAG"
        ));
    }
    // A ':' after the last '/' starts the tag; one before it is a port.
    let last_slash = s.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match s[last_slash..].rfind(':') {
        Some(i) => (&s[..last_slash + i], &s[last_slash + i + 1..]),
        None => (s, "latest"),
    };
    if !valid_tag(tag) {
        return Err(format!(
            "{tag:?} is not a valid tag (letters, digits, _, . and -, not starting with . or -, at most 128)"
        ));
    }
    let (domain, path) = parse_repository(name)?;
    Ok(Reference {
        domain,
        path,
        tag: tag.to_string(),
    })
}

/// A Docker tag: `[\w][\w.-]{0,127}`.
pub fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|x| x.is_ascii_alphanumeric() || b"_.-".contains(x))
}

/// Whether Docker reads the first component as a registry host: it holds
/// `.` or `:`, or is `localhost` (or a bracketed IPv6 address). Docker also
/// takes an upper-case first component for a host; it is refused here as
/// upper case instead, which is what a user writing `MyOrg/app` meant.
fn is_host_like(first: &str) -> bool {
    first.contains(['.', ':']) || first == "localhost" || first.starts_with('[')
}

/// `host[:port]`: domain components joined by `.`, or a bracketed IPv6 address.
fn valid_domain(d: &str) -> bool {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        let Some((addr, after)) = rest.split_once(']') else {
            return false;
        };
        let ipv6 = !addr.is_empty()
            && addr.contains(':')
            && addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        if !ipv6 {
            return false;
        }
        match after {
            "" => return true,
            a => ("x", a.strip_prefix(':')),
        }
    } else {
        match d.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    port_ok && host.split('.').all(valid_domain_component)
}

/// `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`.
fn valid_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
}

/// A path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
pub fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: &u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(&b[0]) || !alnum(&b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(&b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(&b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// A valid one-component repository name made from any text (a file's
/// base name): lower case, runs of other characters (and separators that
/// are not valid) as one `-`, no separator at either end, at most 128
/// characters; `image` when nothing is left.
pub fn repository_from(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::new();
    let mut sep = String::new();
    for ch in lower.chars() {
        if ch.is_ascii_lowercase() || ch.is_ascii_digit() {
            if !out.is_empty() && !sep.is_empty() {
                let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
                out.push_str(if ok { &sep } else { "-" });
            }
            sep.clear();
            out.push(ch);
        } else if ch == '.' || ch == '_' || ch == '-' {
            sep.push(ch);
        } else {
            sep.push('!');
        }
    }
    let out: String = out.chars().take(128).collect();
    let out = out.trim_end_matches(['.', '_', '-']);
    if out.is_empty() {
        "image".into()
    } else {
        out.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_as_docker_normalizes_them() {
        for (given, full, familiar) in [
            ("x", "docker.io/library/x:latest", "x:latest"),
            ("x:1", "docker.io/library/x:1", "x:1"),
            (
                "bartest/busy:1.0",
                "docker.io/bartest/busy:1.0",
                "bartest/busy:1.0",
            ),
            ("a/b/c:v_2", "docker.io/a/b/c:v_2", "a/b/c:v_2"),
            ("docker.io/library/x:1", "docker.io/library/x:1", "x:1"),
            ("docker.io/x", "docker.io/library/x:latest", "x:latest"),
            ("docker.io/ns/x:1", "docker.io/ns/x:1", "ns/x:1"),
            (
                "registry.example.org/ns/name:tag",
                "registry.example.org/ns/name:tag",
                "registry.example.org/ns/name:tag",
            ),
            (
                "localhost:5000/x",
                "localhost:5000/x:latest",
                "localhost:5000/x:latest",
            ),
            ("localhost/x:2", "localhost/x:2", "localhost/x:2"),
            (
                "Reg.Example:443/a__b.c-d--e:T.1",
                "Reg.Example:443/a__b.c-d--e:T.1",
                "Reg.Example:443/a__b.c-d--e:T.1",
            ),
            ("[::1]:5000/x:1", "[::1]:5000/x:1", "[::1]:5000/x:1"),
            ("my_tag:9", "docker.io/library/my_tag:9", "my_tag:9"),
        ] {
            let r = parse_reference(given).unwrap_or_else(|e| panic!("{given}: {e}"));
            assert_eq!(r.to_string(), full, "{given}");
            assert_eq!(r.familiar(), familiar, "{given}");
        }
    }

    #[test]
    fn invalid_references_are_refused_with_the_reason() {
        for (given, why) in [
            (
                "Busy:1",
                r#""Busy": repository names are lower case; give "busy""#,
            ),
            (
                "ns/Busy:1",
                r#""ns/Busy": repository names are lower case; give "ns/busy""#,
            ),
            (
                "x@sha256:0123",
                r#""x@sha256:0123" holds a digest (@); a digest names content, it cannot be given as a name: give NAME:TAG"#,
            ),
            (
                "x:.1",
                r#"".1" is not a valid tag (letters, digits, _, . and -, not starting with . or -, at most 128)"#,
            ),
            (
                "x:",
                r#""" is not a valid tag (letters, digits, _, . and -, not starting with . or -, at most 128)"#,
            ),
            (
                "a//b:1",
                r#""a//b" is not a valid repository name (lower-case letters and digits, separated by ., _, __ or -, components joined by /)"#,
            ),
            (
                "-x:1",
                r#""-x" is not a valid repository name (lower-case letters and digits, separated by ., _, __ or -, components joined by /)"#,
            ),
            (
                "a..b:1",
                r#""a..b" is not a valid repository name (lower-case letters and digits, separated by ., _, __ or -, components joined by /)"#,
            ),
            (
                "a___b:1",
                r#""a___b" is not a valid repository name (lower-case letters and digits, separated by ., _, __ or -, components joined by /)"#,
            ),
            (
                "bad_host.io:x/y:1",
                r#""bad_host.io:x" is not a registry host (letters, digits, -, ., an optional :PORT)"#,
            ),
            (
                "reg.io/:1",
                r#""reg.io/" is not a valid repository name (lower-case letters and digits, separated by ., _, __ or -, components joined by /)"#,
            ),
        ] {
            assert_eq!(parse_reference(given), Err(why.to_string()), "{given}");
        }
        let long = format!("{}:1", "a".repeat(256));
        assert_eq!(
            parse_reference(&long),
            Err("the repository name is 256 characters long; at most 255 are allowed".into())
        );
        assert!(parse_reference(&format!("x:{}", "t".repeat(129))).is_err());
        assert!(parse_reference(&format!("x:{}", "t".repeat(128))).is_ok());
    }

    #[test]
    fn repositories_from_file_names() {
        for (text, want) in [
            ("rootfs", "rootfs"),
            (
                "alpine-minirootfs-3.20.0-x86_64",
                "alpine-minirootfs-3.20.0-x86_64",
            ),
            ("Rootfs_Base 2", "rootfs_base-2"),
            ("stage3--amd64", "stage3--amd64"),
            ("a.-b", "a-b"),
            ("a___b", "a-b"),
            ("..x..", "x"),
            ("ÄÖ", "image"),
            ("", "image"),
            ("rootfs.img.oci", "rootfs.img.oci"),
        ] {
            let got = repository_from(text);
            assert_eq!(got, want, "{text}");
            assert!(parse_repository(&got).is_ok(), "{got}");
        }
        assert_eq!(repository_from(&"a".repeat(300)).len(), 128);
    }
}
