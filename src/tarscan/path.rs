//! Where extractors put a tar entry: the one reading of entry paths that the
//! observers share (lint's duplicates and setuid places, platform's
//! candidates and examples).
//!
//! Empty and `.` components are ignored: a leading `./` or `/`, repeated
//! slashes and `/./` change nothing about where an entry lands. `..` is kept,
//! for callers to judge.

/// The components of a tar entry path, as extractors read them.
pub(crate) fn components(path: &[u8]) -> Components<'_> {
    Components { rest: path }
}

/// Iterator over the components of an entry path (see [`components`]).
#[derive(Clone, Debug)]
pub(crate) struct Components<'a> {
    rest: &'a [u8],
}

impl<'a> Components<'a> {
    /// The path from the next component on, as stored: a prefix of `./` and
    /// `/` removed, the rest untouched (how an entry reads as a rootfs path).
    pub(crate) fn rest(&self) -> &'a [u8] {
        skip_empty(self.rest)
    }

    /// The components joined by single slashes: the path where extractors
    /// put the entry (no leading, trailing or repeated slash, no `.`).
    pub(crate) fn joined(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.rest.len());
        for c in self {
            if !out.is_empty() {
                out.push(b'/');
            }
            out.extend_from_slice(c);
        }
        out
    }
}

impl<'a> Iterator for Components<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = skip_empty(self.rest);
        if rest.is_empty() {
            self.rest = rest;
            return None;
        }
        let end = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
        let (component, tail) = rest.split_at(end);
        self.rest = tail;
        Some(component)
    }
}

/// `path` without its leading empty and `.` components.
fn skip_empty(mut path: &[u8]) -> &[u8] {
    loop {
        match path {
            [b'/', tail @ ..] | [b'.', b'/', tail @ ..] => path = tail,
            [b'.'] => return &[],
            _ => return path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(path: &str) -> Vec<&str> {
        components(path.as_bytes())
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect()
    }

    #[test]
    fn empty_and_dot_components_are_ignored() {
        assert_eq!(parts("./usr//bin/./env"), ["usr", "bin", "env"]);
        assert_eq!(parts("/usr/bin/"), ["usr", "bin"]);
        assert_eq!(parts("a/../b"), ["a", "..", "b"]);
        assert_eq!(parts(".hidden/./."), [".hidden"]);
        assert!(parts("././/.").is_empty());
        assert!(parts("").is_empty());
    }

    #[test]
    fn joined_and_rest() {
        let joined = |p: &str| components(p.as_bytes()).joined();
        assert_eq!(joined("./usr//bin/./env/"), b"usr/bin/env");
        assert_eq!(joined("/"), b"");
        let rest = |p: &'static str| components(p.as_bytes()).rest();
        assert_eq!(rest("././/usr//bin/x"), b"usr//bin/x");
        assert_eq!(rest("/bin/sh"), b"bin/sh");
        assert_eq!(rest("..."), b"...");
        let mut c = components(b"./usr/./bin");
        assert_eq!(c.next(), Some(&b"usr"[..]));
        assert_eq!(c.rest(), b"bin");
    }
}
