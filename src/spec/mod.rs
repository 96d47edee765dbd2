//! The OCI image-spec rules, one file per document: what a layout's
//! documents must look like, judged once, here, for every reader.
//!
//! Each judgement is a pure function over a [`serde_json::Value`] that
//! returns the value it could read and every problem it found
//! ([`Judged`]). The importer refuses a document with any problem,
//! `verify` lists the problems, `inspect` reads the values.
//!
//! - [`media_type`]: the media types and what each one means;
//! - [`descriptor`]: a descriptor's fields;
//! - [`index`]: `index.json` and nested image indexes (and the merge that
//!   adds a tag to `index.json`);
//! - [`manifest`]: an image manifest;
//! - [`config`]: an image configuration;
//! - [`oci_layout`]: the `oci-layout` marker file;
//! - [`platform`]: an image's platform, how it is written and matched;
//! - [`ref_name`]: the ref-name (tag) annotation and its grammar;
//! - [`reference`](mod@reference): image references (`NAME:TAG`) and the
//!   `io.containerd.image.name` annotation;
//! - [`annotations`]: the keys reserved under `org.opencontainers.` and
//!   their values, for annotations and labels alike.
//!
//! A rule that a value typed by a user can break returns a [`Breach`]: the
//! importer refuses the option with it, `verify` reports it as a finding.

use std::fmt;

use serde_json::Value;

pub mod annotations;
pub mod config;
pub mod descriptor;
pub mod index;
pub mod manifest;
pub mod media_type;
pub mod oci_layout;
pub mod platform;
pub mod ref_name;
pub mod reference;

/// A value one of the spec's rules refuses: said one way to the user who
/// typed it ([`Breach::usage`]), another in `verify`'s finding about a
/// document ([`Breach::finding`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breach {
    /// The value and the rule it breaks, with the spec file it comes from.
    pub why: String,
    /// Who fails on it (or what it misleads).
    pub consumers: String,
    /// The accepted forms, or the fix.
    pub fix: String,
}

impl Breach {
    /// The usage error for `given` (e.g. `--arch x86_64`).
    pub fn usage(&self, given: &str) -> String {
        format!("{given}: {}; {}", self.why, self.fix)
    }

    /// `verify`'s finding about `field` of a document.
    pub fn finding(&self, field: &str) -> String {
        format!("{field}: {}; {}", self.why, self.consumers)
    }
}

/// Where in a document a problem was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// The document as a whole, found by a field check.
    Document,
    /// The document as a whole, found by `oci-spec`'s parser: the last
    /// gate, run only when every field check passed.
    Schema,
    /// The descriptor `manifests[i]` of an image index.
    Entry(usize),
    /// A ref name shared by several descriptors of `index.json`.
    RefName(String),
    /// A manifest's config descriptor.
    Config,
    /// A manifest's layer descriptor `i`, counted from 0.
    Layer(usize),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Document | Place::Schema => Ok(()),
            Place::Entry(i) => write!(f, "manifests[{i}]"),
            Place::RefName(n) => write!(f, "tag {n}"),
            Place::Config => f.write_str("config"),
            Place::Layer(i) => write!(f, "layer {}", i + 1),
        }
    }
}

/// One problem found in a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Where it is.
    pub place: Place,
    /// The digest of the descriptor at `place`, as written (it may be
    /// invalid: that can be the problem).
    pub digest: Option<String>,
    /// What is wrong.
    pub message: String,
    /// A value consumers refuse in a document that can still be read (a
    /// [`Breach`]): `verify` fails on it, but `inspect` can describe the
    /// document ([`Judged::readable`]).
    pub rule: bool,
}

impl Finding {
    /// A problem of the document as a whole.
    pub(crate) fn doc(message: impl Into<String>) -> Self {
        Finding {
            place: Place::Document,
            digest: None,
            message: message.into(),
            rule: false,
        }
    }

    /// A [`Breach`] in the document.
    pub(crate) fn rule(message: impl Into<String>) -> Self {
        Finding {
            rule: true,
            ..Finding::doc(message)
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            Place::Document | Place::Schema => f.write_str(&self.message),
            _ => write!(f, "{}: {}", self.place, self.message),
        }
    }
}

/// What judging a document found: the value it could read, and every problem.
#[derive(Clone, Debug)]
pub struct Judged<T> {
    /// The document's content, when it could be read at all (it may still
    /// have problems).
    pub value: Option<T>,
    /// Every problem, in document order.
    pub problems: Vec<Finding>,
}

impl<T> Judged<T> {
    /// A judgement that found `problems` and could read nothing.
    pub(crate) fn none(problems: Vec<Finding>) -> Self {
        Judged {
            value: None,
            problems,
        }
    }

    /// The value if there is no problem, else every problem on one line.
    pub fn strict(self) -> Result<T, String> {
        match self.value {
            Some(v) if self.problems.is_empty() => Ok(v),
            _ => Err(summary(&self.problems)),
        }
    }

    /// The value if every problem has `rule` set: what can be
    /// described even though verify fails on it; else every problem on
    /// one line.
    pub fn readable(self) -> Result<T, String> {
        match self.value {
            Some(v) if self.problems.iter().all(|f| f.rule) => Ok(v),
            _ => Err(summary(&self.problems)),
        }
    }

    /// The problems at `place`, on one line.
    pub fn reasons_at(&self, place: &Place) -> String {
        let at: Vec<&str> = self
            .problems
            .iter()
            .filter(|f| &f.place == place)
            .map(|f| f.message.as_str())
            .collect();
        at.join("; ")
    }
}

/// Problems on one line, each with its place.
pub fn summary(problems: &[Finding]) -> String {
    let all: Vec<String> = problems.iter().map(Finding::to_string).collect();
    all.join("; ")
}

/// Parse a document's bytes as JSON.
pub fn parse_json(bytes: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))
}

/// `schemaVersion` must be 2, in manifests and indexes alike.
fn check_schema_version(v: &Value, problems: &mut Vec<Finding>) {
    match v.get("schemaVersion") {
        Some(n) if n.as_u64() == Some(2) => {}
        Some(n) => problems.push(Finding::doc(format!("schemaVersion is {n}, expected 2"))),
        None => problems.push(Finding::doc("has no schemaVersion")),
    }
}

/// The descriptor at `v`, its problems moved to `place`.
fn descriptor_at(
    v: &Value,
    place: Place,
    problems: &mut Vec<Finding>,
) -> Option<descriptor::Descriptor> {
    let judged = descriptor::judge(v);
    problems.extend(judged.problems.into_iter().map(|f| Finding {
        place: place.clone(),
        ..f
    }));
    judged.value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_findings_leave_a_document_readable() {
        let judged = |problems| Judged {
            value: Some(1),
            problems,
        };
        assert_eq!(judged(vec![Finding::rule("r")]).readable(), Ok(1));
        assert_eq!(judged(vec![Finding::rule("r")]).strict(), Err("r".into()));
        let both = vec![Finding::rule("r"), Finding::doc("d")];
        assert_eq!(judged(both).readable(), Err("r; d".into()));
    }

    #[test]
    fn findings_render_with_their_place() {
        let j: Judged<()> = Judged::none(vec![
            Finding::doc("not a JSON object"),
            Finding {
                place: Place::Entry(2),
                digest: None,
                message: "descriptor has no size".into(),
                rule: false,
            },
            Finding {
                place: Place::Layer(0),
                digest: None,
                message: "x".into(),
                rule: false,
            },
        ]);
        assert_eq!(j.reasons_at(&Place::Entry(2)), "descriptor has no size");
        assert_eq!(
            j.strict().unwrap_err(),
            "not a JSON object; manifests[2]: descriptor has no size; layer 1: x"
        );
        assert_eq!(parse_json(b"{}").unwrap(), serde_json::json!({}));
        assert!(
            parse_json(b"{")
                .unwrap_err()
                .starts_with("not valid JSON: ")
        );
    }
}
