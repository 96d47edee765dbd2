//! `ociimport verify`: check an OCI image layout end to end, whoever wrote it.
//!
//! Every check that fails becomes a [`Problem`] naming the object (tag,
//! manifest, config, layer N, with its digest) and what is wrong; only a
//! layout that cannot be examined at all (the directory does not exist) is an
//! error. Each blob is read once, streaming, in constant memory: a layer blob
//! goes file → [`HashReader`] (blob digest) → [`Decoder`] → DiffID hasher and
//! [`TarScanner`], and its digest and size are compared after the file has
//! been drained.
//!
//! Manifests, configs and indexes are checked field by field on the JSON so
//! that every problem gets its own line, then parsed with `oci-spec` as a
//! last gate for anything those checks do not know about.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::Serialize;
use serde_json::Value;

use crate::compress::{self, Compression, DecodeOptions, Decoder};
use crate::digest::Blob;
use crate::digest::validate_digest;
use crate::error::{Error, IoContext, PathIoError, Result, mark};
use crate::hashing::{HashReader, Sha256Counter, sha256_of};
use crate::import::validate_tag;
use crate::layout::{REF_NAME, parse_index, read_small};
use crate::tarscan::TarScanner;

/// Largest manifest, config or nested index read (they are read whole).
///
/// Registries refuse manifests over 4 MiB; configs with long histories
/// reach a few hundred KiB. Anything larger is not a real document.
pub const MAX_JSON_BLOB: u64 = 16 << 20;
/// Largest `index.json` read: one descriptor per tag, so it can be big.
pub const MAX_INDEX_JSON: u64 = 64 << 20;
/// How deep image indexes may nest below `index.json` before we stop following.
pub const MAX_INDEX_DEPTH: usize = 4;
/// Read size when streaming a blob.
const CHUNK: usize = 256 * 1024;

pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub(crate) const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub(crate) const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// One failed check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What it concerns: `oci-layout`, `index.json`, `index.json manifests[2]`,
    /// `tag latest: manifest`, `tag latest: config`, `tag latest: layer 1`
    /// (layers are numbered from 1, in manifest order), or for an image
    /// reached through an image index `tag multi, manifests[1] (linux/arm64): layer 1`.
    pub object: String,
    /// The digest of the object, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.digest {
            Some(d) => write!(f, "{} ({d}): {}", self.object, self.message),
            None => write!(f, "{}: {}", self.object, self.message),
        }
    }
}

/// The outcome of [`verify`].
#[derive(Clone, Debug, Default)]
pub struct VerifyReport {
    /// The layout directory.
    pub layout: PathBuf,
    /// The tag checked, or `None` for every manifest in the layout.
    pub tag: Option<String>,
    /// Failed checks, in the order found.
    pub problems: Vec<Problem>,
    /// Oddities that consumers accept (e.g. a tar without its end marker); they do not fail verification.
    pub warnings: Vec<Problem>,
    /// Distinct image manifests checked.
    pub manifests: u64,
    /// Distinct image indexes checked below `index.json`.
    pub indexes: u64,
    /// Distinct blob files read.
    pub blobs: u64,
    /// Distinct layers decoded.
    pub layers: u64,
}

impl VerifyReport {
    /// True when every check passed.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// One line per problem, then warnings, then a summary line.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for p in &self.problems {
            let _ = writeln!(out, "{p}");
        }
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        let what = match &self.tag {
            Some(t) => format!("{}:{t}", self.layout.display()),
            None => self.layout.display().to_string(),
        };
        let counts = format!(
            "{} checked: {}, {}, {}, {}",
            what,
            plural(self.manifests, "manifest"),
            plural(self.indexes, "image index"),
            plural(self.blobs, "blob"),
            plural(self.layers, "layer"),
        );
        if self.ok() {
            let _ = writeln!(out, "OK: {counts}");
        } else {
            let _ = writeln!(
                out,
                "FAILED: {}; {counts}",
                plural(self.problems.len() as u64, "problem")
            );
        }
        out
    }
}

fn plural(n: u64, what: &str) -> String {
    match (n, what) {
        (1, _) => format!("1 {what}"),
        (_, w) if w.ends_with('x') => format!("{n} {w}es"),
        _ => format!("{n} {what}s"),
    }
}

impl Serialize for VerifyReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        // A shadow struct so that `ok` is always derived from `problems`.
        #[derive(Serialize)]
        struct Out<'a> {
            layout: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            tag: &'a Option<String>,
            ok: bool,
            problems: &'a [Problem],
            warnings: &'a [Problem],
            manifests: u64,
            indexes: u64,
            blobs: u64,
            layers: u64,
        }
        Out {
            layout: self.layout.display().to_string(),
            tag: &self.tag,
            ok: self.ok(),
            problems: &self.problems,
            warnings: &self.warnings,
            manifests: self.manifests,
            indexes: self.indexes,
            blobs: self.blobs,
            layers: self.layers,
        }
        .serialize(s)
    }
}

/// Split a `DIR[:TAG]` argument.
///
/// The rule, in order:
/// 1. if the whole argument names an existing directory, it is `DIR` (no tag),
///    so a directory whose name contains `:` is always reachable;
/// 2. otherwise, for each `:` from the right, if what follows is a valid ref
///    name and what precedes names an existing directory, that is the split
///    (so a tag may itself contain `:` when `DIR` does not);
/// 3. otherwise, if what follows the last `:` is a valid ref name and what
///    precedes is not empty, split there (the directory does not exist, and
///    the error will name it without the tag);
/// 4. otherwise the whole argument is `DIR`.
pub fn parse_target(arg: &str) -> (PathBuf, Option<String>) {
    if Path::new(arg).is_dir() {
        return (PathBuf::from(arg), None);
    }
    let splits: Vec<usize> = arg.match_indices(':').map(|(i, _)| i).rev().collect();
    for &i in &splits {
        let (dir, tag) = (&arg[..i], &arg[i + 1..]);
        if !dir.is_empty() && validate_tag(tag).is_ok() && Path::new(dir).is_dir() {
            return (PathBuf::from(dir), Some(tag.to_string()));
        }
    }
    if let Some(&i) = splits.first() {
        let (dir, tag) = (&arg[..i], &arg[i + 1..]);
        if !dir.is_empty() && validate_tag(tag).is_ok() {
            return (PathBuf::from(dir), Some(tag.to_string()));
        }
    }
    (PathBuf::from(arg), None)
}

/// Check the layout at `layout`: every manifest, or only the one tagged `tag`.
///
/// `oci-layout` and every descriptor and ref name in `index.json` are
/// checked whatever `tag` says (a broken or duplicate entry is a problem of
/// the whole layout); `tag` limits which images are then followed. A manifest
/// reached through several tags is checked under each (its blobs are read
/// once), so each tag's problems are listed under its name.
///
/// Returns `Err` only when checking is impossible (the directory is missing
/// or unreadable) or `tag` is not a valid ref name; everything else is a
/// [`Problem`] in the report.
pub fn verify(layout: &Path, tag: Option<&str>) -> Result<VerifyReport> {
    let meta = fs::metadata(layout).at(layout)?;
    if !meta.is_dir() {
        return Err(Error::BadLayout {
            path: layout.to_path_buf(),
            reason: "not a directory, so not an OCI image layout".into(),
        });
    }
    // Fail early, with the path, if the directory itself cannot be listed.
    fs::read_dir(layout).at(layout)?;
    if let Some(t) = tag {
        validate_tag(t).map_err(Error::Usage)?;
    }
    let mut c = Checker::new(layout);
    c.report.tag = tag.map(str::to_string);
    c.check_oci_layout();
    c.check_index_json(tag);
    Ok(c.report)
}

// ---------------------------------------------------------------------------
// helpers shared with `inspect`
// ---------------------------------------------------------------------------

/// What a descriptor's media type says the blob is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DocKind {
    /// An image manifest (OCI, or Docker schema 2).
    Manifest { docker: bool },
    /// An image index (OCI, or a Docker manifest list).
    Index,
    /// Anything else: only the blob itself can be checked.
    Other,
}

pub(crate) fn doc_kind(media_type: &str) -> DocKind {
    match media_type {
        OCI_MANIFEST => DocKind::Manifest { docker: false },
        DOCKER_MANIFEST => DocKind::Manifest { docker: true },
        OCI_INDEX | DOCKER_LIST => DocKind::Index,
        _ => DocKind::Other,
    }
}

/// The compression a layer media type declares, if it is a layer media type
/// allowed in this kind of manifest.
pub(crate) fn layer_compression(media_type: &str, docker: bool) -> Option<Compression> {
    match media_type {
        "application/vnd.oci.image.layer.v1.tar"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar" => Some(Compression::None),
        "application/vnd.oci.image.layer.v1.tar+gzip"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" => Some(Compression::Gzip),
        "application/vnd.oci.image.layer.v1.tar+zstd"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => Some(Compression::Zstd),
        // Docker schema 2 layer types, only in Docker manifests (skopeo and
        // buildah write these when asked for the v2s2 format).
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
        | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
            if docker =>
        {
            Some(Compression::Gzip)
        }
        "application/vnd.docker.image.rootfs.diff.tar" if docker => Some(Compression::None),
        _ => None,
    }
}

/// What a compression means in a message.
fn what_data(c: Compression) -> &'static str {
    match c {
        Compression::Gzip => "gzip data",
        Compression::Xz => "xz data",
        Compression::Zstd => "zstd data",
        Compression::Bzip2 => "bzip2 data",
        Compression::None => "an uncompressed tar archive",
    }
}

pub(crate) use crate::digest::blob_path;

/// The blob's path relative to the layout, for messages.
fn blob_rel(digest: &str) -> String {
    match validate_digest(digest) {
        Ok((algo, hex)) => format!("blobs/{algo}/{hex}"),
        Err(_) => "blobs/?".into(),
    }
}

pub(crate) use crate::layout::ref_name;

/// `os/architecture[/variant]` of a descriptor's platform.
pub(crate) fn platform_label(d: &Value) -> Option<String> {
    let p = d.get("platform")?;
    let os = p.get("os").and_then(Value::as_str).unwrap_or("?");
    let arch = p.get("architecture").and_then(Value::as_str).unwrap_or("?");
    Some(match p.get("variant").and_then(Value::as_str) {
        Some(v) => format!("{os}/{arch}/{v}"),
        None => format!("{os}/{arch}"),
    })
}

/// A descriptor whose digest and size could be used.
#[derive(Clone, Debug)]
pub(crate) struct Desc {
    pub(crate) media_type: String,
    pub(crate) digest: String,
    pub(crate) size: u64,
    pub(crate) has_urls: bool,
}

/// Read a descriptor's fields, listing what is wrong with them.
///
/// Returns the descriptor if digest and size are usable (the media type may
/// still be missing, which is one of the reasons).
pub(crate) fn read_descriptor(v: &Value) -> (Option<Desc>, Vec<String>) {
    let mut why = Vec::new();
    if !v.is_object() {
        return (None, vec!["descriptor is not a JSON object".into()]);
    }
    let media_type = match v.get("mediaType") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            why.push("mediaType is not a string".into());
            String::new()
        }
        None => {
            why.push("descriptor has no mediaType".into());
            String::new()
        }
    };
    let digest = match v.get("digest") {
        Some(Value::String(s)) => match validate_digest(s) {
            Ok(_) => Some(s.clone()),
            Err(e) => {
                why.push(e.to_string());
                None
            }
        },
        Some(_) => {
            why.push("digest is not a string".into());
            None
        }
        None => {
            why.push("descriptor has no digest".into());
            None
        }
    };
    let size = match v.get("size") {
        Some(n) => match n.as_u64() {
            Some(s) => Some(s),
            None => {
                why.push(format!("size {n} is not a non-negative integer"));
                None
            }
        },
        None => {
            why.push("descriptor has no size".into());
            None
        }
    };
    let has_urls = v
        .get("urls")
        .is_some_and(|u| u.as_array().is_some_and(|a| !a.is_empty()));
    let desc = match (digest, size) {
        (Some(digest), Some(size)) => Some(Desc {
            media_type,
            digest,
            size,
            has_urls,
        }),
        _ => None,
    };
    (desc, why)
}

/// What streaming one layer blob found.
#[derive(Clone, Debug)]
pub(crate) struct LayerScan {
    /// Digest and size of the blob file's bytes.
    pub(crate) blob: Blob,
    /// What the first bytes look like.
    pub(crate) detected: Option<Compression>,
    /// The first bytes, described for messages.
    pub(crate) head: String,
    /// The format it was decoded as, if decoding was attempted.
    pub(crate) decoded_as: Option<Compression>,
    /// DiffID and uncompressed size, when decoding reached the end.
    pub(crate) diff_id: Option<Blob>,
    /// Entries, when the stream is a complete tar archive.
    pub(crate) entries: Option<u64>,
    /// Why the layer cannot be used (decoding, tar structure).
    pub(crate) problems: Vec<String>,
    /// Oddities consumers accept.
    pub(crate) warnings: Vec<String>,
}

/// Tags read errors with the blob's path, to tell them from corrupt data.
struct Marked<R> {
    inner: R,
    path: PathBuf,
}

impl<R: Read> Read for Marked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| mark(&self.path, e))
    }
}

fn is_read_error(e: &io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.downcast_ref::<PathIoError>().is_some())
}

/// Stream a layer blob once: hash it, decode it as `expected` (or as what its
/// first bytes are, if they say otherwise), hash the result (DiffID) and scan
/// it as tar. `Err` only if the file cannot be opened.
pub(crate) fn scan_layer(path: &Path, expected: Option<Compression>) -> Result<LayerScan> {
    let file = File::open(path).at(path)?;
    let mut hashed = HashReader::new(Marked {
        inner: file,
        path: path.to_path_buf(),
    });
    let mut scan = LayerScan {
        blob: Blob {
            digest: sha256_of(b""),
            size: 0,
        },
        detected: None,
        head: String::new(),
        decoded_as: None,
        diff_id: None,
        entries: None,
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    // The first bytes stay in the blob hash and are replayed to the decoder.
    let mut head = Vec::with_capacity(compress::SNIFF_LEN);
    if let Err(e) = (&mut hashed)
        .take(compress::SNIFF_LEN as u64)
        .read_to_end(&mut head)
    {
        scan.problems.push(format!("cannot read the blob: {e}"));
        return Ok(finish_hash(scan, hashed));
    }
    if head.is_empty() {
        scan.problems.push("the blob is empty".into());
        return Ok(finish_hash(scan, hashed));
    }
    scan.detected = compress::detect(&head);
    scan.head = compress::describe_unknown(&head);
    let format = match (scan.detected, expected) {
        (Some(d), _) => d,
        // An uncompressed tar whose first block is broken: let the scanner say how.
        (None, Some(Compression::None) | None) => Compression::None,
        (None, Some(_)) => return Ok(finish_hash(scan, hashed)),
    };
    scan.decoded_as = Some(format);

    let replay = Cursor::new(head).chain(hashed);
    let mut dec = match Decoder::new(format, replay, DecodeOptions::default()) {
        Ok(d) => d,
        Err(e) => {
            scan.problems
                .push(format!("cannot start the {format} decoder: {e}"));
            // Decoder::new only fails before reading; the reader is lost with
            // it, so the blob is hashed again from the start.
            return Ok(rehash(scan, path));
        }
    };
    let mut diff = Sha256Counter::new();
    let mut scanner = TarScanner::new(());
    let mut tar_err = None;
    let mut buf = vec![0u8; CHUNK];
    let complete = loop {
        match dec.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => {
                diff.update(&buf[..n]);
                if tar_err.is_none()
                    && let Err(e) = scanner.feed(&buf[..n])
                {
                    tar_err = Some(e);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                scan.problems.push(if is_read_error(&e) {
                    format!("cannot read the blob: {e}")
                } else {
                    format!(
                        "{} is corrupt or truncated (after {} decoded bytes): {e}",
                        what_data(format),
                        diff.size()
                    )
                });
                break false;
            }
        }
    };
    let (mut rest, mut hashed) = dec.into_inner().into_inner();
    // Drain what the decoder left, so the blob digest covers the whole file.
    let left_in_head = io::copy(&mut rest, &mut io::sink()).unwrap_or(0);
    let extra = match io::copy(&mut hashed, &mut io::sink()) {
        Ok(n) => n + left_in_head,
        Err(e) => {
            scan.problems.push(format!("cannot read the blob: {e}"));
            scan.blob = hashed.finish().1;
            return Ok(scan);
        }
    };
    if complete {
        if extra > 0 {
            scan.problems.push(format!(
                "{extra} bytes follow the end of the {format} stream"
            ));
        }
        scan.diff_id = Some(diff.finish());
        match tar_err {
            Some(e) => scan.problems.push(format!(
                "the decompressed stream is not a complete tar archive: {} (at uncompressed byte {})",
                e.reason, e.offset
            )),
            None => match scanner.finish() {
                Ok((summary, _)) => {
                    scan.entries = Some(summary.entries);
                    scan.warnings = summary.warnings;
                }
                Err(e) => scan.problems.push(format!(
                    "the decompressed stream is not a complete tar archive: {} (at uncompressed byte {})",
                    e.reason, e.offset
                )),
            },
        }
    }
    Ok(finish_hash(scan, hashed))
}

/// Drain the rest of the blob through its hasher and record the digest.
fn finish_hash<R: Read>(mut scan: LayerScan, mut hashed: HashReader<R>) -> LayerScan {
    if let Err(e) = io::copy(&mut hashed, &mut io::sink()) {
        scan.problems.push(format!("cannot read the blob: {e}"));
    }
    scan.blob = hashed.finish().1;
    scan
}

fn rehash(scan: LayerScan, path: &Path) -> LayerScan {
    match File::open(path) {
        Ok(f) => finish_hash(scan, HashReader::new(f)),
        Err(e) => {
            let mut scan = scan;
            scan.problems.push(format!("cannot read the blob: {e}"));
            scan
        }
    }
}

// ---------------------------------------------------------------------------
// the checker
// ---------------------------------------------------------------------------

/// What reading a blob file found, kept so that each blob is read once.
#[derive(Clone, Debug)]
enum BlobState {
    Missing,
    NotAFile,
    Unreadable(String),
    Read(Blob),
}

struct Checker<'a> {
    root: &'a Path,
    report: VerifyReport,
    /// Whole small blobs (manifests, configs, indexes), by digest.
    json: HashMap<String, Option<Rc<Vec<u8>>>>,
    /// Every blob read, by digest.
    blobs: HashMap<String, BlobState>,
    /// Layer scans, by digest and the compression its media type declared.
    layers: HashMap<(String, Compression), LayerScan>,
    manifests_seen: HashSet<String>,
    indexes_seen: HashSet<String>,
    /// Documents already checked (digest, size, media type) → where first
    /// seen and whether that check found problems. An index may list the
    /// same child many times, nested: each is checked once, so a small
    /// hostile layout cannot multiply the work.
    checked: HashMap<(String, u64, String), (String, bool)>,
    /// Descriptors followed so far, against [`MAX_VISITS`].
    visits: usize,
}

/// Descriptors `verify` follows before it stops with a problem.
const MAX_VISITS: usize = 100_000;

impl<'a> Checker<'a> {
    fn new(root: &'a Path) -> Self {
        Self {
            root,
            report: VerifyReport {
                layout: root.to_path_buf(),
                ..VerifyReport::default()
            },
            json: HashMap::new(),
            blobs: HashMap::new(),
            layers: HashMap::new(),
            manifests_seen: HashSet::new(),
            indexes_seen: HashSet::new(),
            checked: HashMap::new(),
            visits: 0,
        }
    }

    fn problem(&mut self, object: &str, digest: Option<&str>, message: impl Into<String>) {
        self.report.problems.push(Problem {
            object: object.to_string(),
            digest: digest.map(str::to_string),
            message: message.into(),
        });
    }

    fn warning(&mut self, object: &str, digest: Option<&str>, message: impl Into<String>) {
        self.report.warnings.push(Problem {
            object: object.to_string(),
            digest: digest.map(str::to_string),
            message: message.into(),
        });
    }

    fn check_oci_layout(&mut self) {
        let path = self.root.join("oci-layout");
        let bytes = match read_small(&path, 64 * 1024) {
            Ok(b) => b,
            Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                self.problem(
                    "oci-layout",
                    None,
                    "missing: this directory is not an OCI image layout",
                );
                return;
            }
            Err(e) => {
                self.problem("oci-layout", None, format!("cannot be read: {e}"));
                return;
            }
        };
        if let Some(problem) = crate::layout::layout_version_problem(&bytes) {
            self.problem("oci-layout", None, problem);
        }
    }

    fn check_index_json(&mut self, tag: Option<&str>) {
        const OBJ: &str = "index.json";
        let path = self.root.join(OBJ);
        let bytes = match read_small(&path, MAX_INDEX_JSON) {
            Ok(b) => b,
            Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                self.problem(OBJ, None, "missing: the layout lists no images");
                return;
            }
            Err(e) => {
                self.problem(OBJ, None, format!("cannot be read: {e}"));
                return;
            }
        };
        let before = self.report.problems.len();
        let Some(v) = self.parse_json(OBJ, None, &bytes) else {
            return;
        };
        let Some(entries) = self.index_doc(OBJ, None, &v) else {
            return;
        };

        // Check every descriptor and ref name, whatever the tag asked for:
        // a broken or duplicate entry elsewhere is a problem of the layout.
        let mut descs: Vec<(usize, Option<Desc>, Option<String>)> = Vec::new();
        let mut names: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, d) in entries.iter().enumerate() {
            let entry_obj = format!("{OBJ} manifests[{i}]");
            let name = match d.get("annotations").and_then(|a| a.get(REF_NAME)) {
                None => None,
                Some(Value::String(s)) => {
                    if let Err(e) = validate_tag(s) {
                        self.problem(&entry_obj, None, format!("ref name: {e}"));
                    }
                    names.entry(s.clone()).or_default().push(i);
                    Some(s.clone())
                }
                Some(other) => {
                    self.problem(
                        &entry_obj,
                        None,
                        format!("ref name annotation {other} is not a string"),
                    );
                    None
                }
            };
            let (desc, why) = read_descriptor(d);
            let digest = d.get("digest").and_then(Value::as_str);
            for w in why {
                self.problem(&entry_obj, digest, w);
            }
            descs.push((i, desc, name));
        }
        for (name, at) in &names {
            if at.len() > 1 {
                let list: Vec<String> = at.iter().map(|i| format!("manifests[{i}]")).collect();
                self.problem(
                    &format!("tag {name}"),
                    None,
                    format!(
                        "ref name is used by {} descriptors in index.json ({}); consumers pick one arbitrarily",
                        at.len(),
                        list.join(", ")
                    ),
                );
            }
        }
        if self.report.problems.len() == before {
            // Our checks found nothing: let the library's own parser have the last word.
            if let Err(e) = parse_index(&path, &bytes) {
                self.problem(OBJ, None, e.to_string());
            }
        }

        let selected: Vec<&(usize, Option<Desc>, Option<String>)> = match tag {
            Some(t) => descs
                .iter()
                .filter(|(_, _, n)| n.as_deref() == Some(t))
                .collect(),
            None => descs.iter().collect(),
        };
        if let (Some(t), true) = (tag, selected.is_empty()) {
            let known: Vec<&str> = names.keys().map(String::as_str).take(20).collect();
            let known = if known.is_empty() {
                "the layout has no tags".to_string()
            } else {
                format!("tags: {}", known.join(", "))
            };
            self.problem(
                &format!("tag {t}"),
                None,
                format!("not found in index.json ({known})"),
            );
            return;
        }
        for (i, desc, name) in selected {
            let Some(desc) = desc else { continue };
            let scope = match name {
                Some(n) => format!("tag {n}"),
                None => format!("{OBJ} manifests[{i}]"),
            };
            self.check_entry(&scope, desc, 0);
        }
    }

    /// Structural checks common to `index.json` and nested indexes; returns the manifests.
    fn index_doc(&mut self, object: &str, digest: Option<&str>, v: &Value) -> Option<Vec<Value>> {
        if !v.is_object() {
            self.problem(object, digest, "not a JSON object");
            return None;
        }
        match v.get("schemaVersion") {
            Some(n) if n.as_u64() == Some(2) => {}
            Some(n) => self.problem(object, digest, format!("schemaVersion is {n}, expected 2")),
            None => self.problem(object, digest, "has no schemaVersion"),
        }
        if let Some(mt) = v.get("mediaType")
            && mt.as_str() != Some(OCI_INDEX)
            && mt.as_str() != Some(DOCKER_LIST)
        {
            self.problem(
                object,
                digest,
                format!("mediaType is {mt}, expected {OCI_INDEX:?}"),
            );
        }
        match v.get("manifests") {
            Some(Value::Array(a)) => Some(a.clone()),
            Some(_) => {
                self.problem(object, digest, "manifests is not an array");
                None
            }
            None => {
                self.problem(object, digest, "has no manifests array");
                None
            }
        }
    }

    fn check_entry(&mut self, scope: &str, desc: &Desc, depth: usize) {
        let key = (desc.digest.clone(), desc.size, desc.media_type.clone());
        if let Some((first, bad)) = self.checked.get(&key).cloned() {
            if bad {
                self.problem(
                    scope,
                    Some(&desc.digest),
                    format!("the same document as {first}, which has problems (see above)"),
                );
            }
            return;
        }
        self.visits += 1;
        if self.visits == MAX_VISITS + 1 {
            self.problem(
                scope,
                Some(&desc.digest),
                format!("more than {MAX_VISITS} descriptors; the rest were not checked"),
            );
        }
        if self.visits > MAX_VISITS {
            return;
        }
        let before = self.report.problems.len();
        self.check_entry_once(scope, desc, depth);
        let bad = self.report.problems.len() > before;
        self.checked.insert(key, (scope.to_string(), bad));
    }

    fn check_entry_once(&mut self, scope: &str, desc: &Desc, depth: usize) {
        match doc_kind(&desc.media_type) {
            DocKind::Manifest { docker } => self.check_manifest(scope, desc, docker),
            DocKind::Index => self.check_nested_index(scope, desc, depth),
            // Unknown media types must be ignored by consumers; their blob can still be checked.
            DocKind::Other => {
                let obj = format!("{scope}: blob");
                self.check_blob(&obj, desc);
            }
        }
    }

    fn check_nested_index(&mut self, scope: &str, desc: &Desc, depth: usize) {
        let object = format!("{scope}: index");
        let digest = desc.digest.as_str();
        if depth >= MAX_INDEX_DEPTH {
            self.problem(
                &object,
                Some(digest),
                format!("image indexes nest deeper than {MAX_INDEX_DEPTH} levels; not followed"),
            );
            return;
        }
        let Some(bytes) = self.json_blob(&object, desc) else {
            return;
        };
        if self.indexes_seen.insert(desc.digest.clone()) {
            self.report.indexes += 1;
        }
        let before = self.report.problems.len();
        let Some(v) = self.parse_json(&object, Some(digest), &bytes) else {
            return;
        };
        let Some(entries) = self.index_doc(&object, Some(digest), &v) else {
            return;
        };
        let mut children = Vec::new();
        for (j, d) in entries.iter().enumerate() {
            let label = match platform_label(d) {
                Some(p) => format!("{scope}, manifests[{j}] ({p})"),
                None => format!("{scope}, manifests[{j}]"),
            };
            let (child, why) = read_descriptor(d);
            let child_digest = d.get("digest").and_then(Value::as_str);
            for w in why {
                self.problem(&label, child_digest, w);
            }
            if let Some(c) = child {
                children.push((label, c));
            }
        }
        if self.report.problems.len() == before
            && let Err(e) = serde_json::from_value::<oci_spec::image::ImageIndex>(v)
        {
            self.problem(
                &object,
                Some(digest),
                format!("not an OCI image index: {e}"),
            );
        }
        for (label, c) in children {
            self.check_entry(&label, &c, depth + 1);
        }
    }

    /// Parse a document's bytes, reporting invalid JSON against `object`.
    fn parse_json(&mut self, object: &str, digest: Option<&str>, bytes: &[u8]) -> Option<Value> {
        match serde_json::from_slice(bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                self.problem(object, digest, format!("not valid JSON: {e}"));
                None
            }
        }
    }

    fn check_manifest(&mut self, scope: &str, desc: &Desc, docker: bool) {
        let object = format!("{scope}: manifest");
        let digest = desc.digest.as_str();
        let Some(bytes) = self.json_blob(&object, desc) else {
            return;
        };
        if self.manifests_seen.insert(desc.digest.clone()) {
            self.report.manifests += 1;
        }
        let before = self.report.problems.len();
        let Some(v) = self.parse_json(&object, Some(digest), &bytes) else {
            return;
        };
        if !v.is_object() {
            self.problem(&object, Some(digest), "not a JSON object");
            return;
        }
        match v.get("schemaVersion") {
            Some(n) if n.as_u64() == Some(2) => {}
            Some(n) => self.problem(
                &object,
                Some(digest),
                format!("schemaVersion is {n}, expected 2"),
            ),
            None => self.problem(&object, Some(digest), "has no schemaVersion"),
        }
        match v.get("mediaType").map(|m| (m, m.as_str())) {
            // OCI makes the field optional; Docker schema 2 requires it.
            None if !docker => {}
            Some((_, Some(mt))) if mt == desc.media_type => {}
            other => {
                let found = other.map_or("absent".to_string(), |(m, _)| m.to_string());
                self.problem(
                    &object,
                    Some(digest),
                    format!(
                        "mediaType is {found} but the descriptor pointing to it says {:?}",
                        desc.media_type
                    ),
                );
            }
        }
        let config_obj = format!("{scope}: config");
        let config = match v.get("config") {
            Some(c) => {
                let (d, why) = read_descriptor(c);
                let cd = c.get("digest").and_then(Value::as_str);
                for w in why {
                    self.problem(&config_obj, cd, w);
                }
                d
            }
            None => {
                self.problem(&object, Some(digest), "has no config descriptor");
                None
            }
        };
        let layer_values: Vec<Value> = match v.get("layers") {
            Some(Value::Array(a)) => a.clone(),
            Some(_) => {
                self.problem(&object, Some(digest), "layers is not an array");
                Vec::new()
            }
            None => {
                self.problem(&object, Some(digest), "has no layers array");
                Vec::new()
            }
        };
        let mut layers = Vec::new();
        for (i, l) in layer_values.iter().enumerate() {
            let lobj = format!("{scope}: layer {}", i + 1);
            let (d, why) = read_descriptor(l);
            let ld = l.get("digest").and_then(Value::as_str);
            for w in why {
                self.problem(&lobj, ld, w);
            }
            layers.push((lobj, d));
        }
        if self.report.problems.len() == before
            && let Err(e) = serde_json::from_value::<oci_spec::image::ImageManifest>(v)
        {
            self.problem(&object, Some(digest), format!("not an image manifest: {e}"));
        }

        // An image has an image config; anything else (signatures,
        // attestations, other artifacts) only has blobs to check.
        let is_image = config
            .as_ref()
            .is_some_and(|c| c.media_type == OCI_CONFIG || c.media_type == DOCKER_CONFIG);
        let diff_ids = match &config {
            Some(c) if is_image => self.check_config(&config_obj, c, layers.len()),
            Some(c) => {
                self.check_blob(&config_obj, c);
                None
            }
            None => None,
        };
        for (i, (lobj, d)) in layers.iter().enumerate() {
            let Some(d) = d else { continue };
            if !is_image {
                self.check_blob(lobj, d);
                continue;
            }
            match layer_compression(&d.media_type, docker) {
                Some(c) => {
                    let diff_id = diff_ids
                        .as_ref()
                        .and_then(|ids| ids.get(i).cloned().flatten());
                    self.check_layer(lobj, d, c, diff_id.as_deref());
                }
                None => {
                    let kind = if docker {
                        "a Docker schema 2"
                    } else {
                        "an OCI"
                    };
                    self.problem(
                        lobj,
                        Some(&d.digest),
                        format!(
                            "media type {:?} is not {kind} layer media type",
                            d.media_type
                        ),
                    );
                    self.check_blob(lobj, d);
                }
            }
        }
    }

    /// Check an image config; returns its diff_ids (None where unusable).
    fn check_config(
        &mut self,
        object: &str,
        desc: &Desc,
        layers: usize,
    ) -> Option<Vec<Option<String>>> {
        let digest = desc.digest.as_str();
        let bytes = self.json_blob(object, desc)?;
        let before = self.report.problems.len();
        let v = self.parse_json(object, Some(digest), &bytes)?;
        if !v.is_object() {
            self.problem(object, Some(digest), "not a JSON object");
            return None;
        }
        for field in ["architecture", "os"] {
            match v.get(field) {
                Some(Value::String(s)) if !s.is_empty() => {}
                Some(other) => self.problem(
                    object,
                    Some(digest),
                    format!("{field} is {other}, not a platform name"),
                ),
                None => self.problem(object, Some(digest), format!("has no {field}")),
            }
        }
        let Some(rootfs) = v.get("rootfs") else {
            self.problem(object, Some(digest), "has no rootfs");
            return None;
        };
        match rootfs.get("type") {
            Some(Value::String(s)) if s == "layers" => {}
            Some(other) => self.problem(
                object,
                Some(digest),
                format!("rootfs.type is {other}, expected \"layers\""),
            ),
            None => self.problem(object, Some(digest), "has no rootfs.type"),
        }
        let ids = match rootfs.get("diff_ids") {
            Some(Value::Array(a)) => a,
            Some(_) => {
                self.problem(object, Some(digest), "rootfs.diff_ids is not an array");
                return None;
            }
            None => {
                self.problem(object, Some(digest), "has no rootfs.diff_ids");
                return None;
            }
        };
        if ids.len() != layers {
            self.problem(
                object,
                Some(digest),
                format!(
                    "rootfs.diff_ids lists {} DiffIDs but the manifest has {}",
                    ids.len(),
                    plural(layers as u64, "layer")
                ),
            );
        }
        let mut out = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            match id.as_str().map(|s| (s, validate_digest(s))) {
                Some((s, Ok(_))) => out.push(Some(s.to_string())),
                Some((_, Err(e))) => {
                    self.problem(object, Some(digest), format!("rootfs.diff_ids[{i}]: {e}"));
                    out.push(None);
                }
                None => {
                    self.problem(
                        object,
                        Some(digest),
                        format!("rootfs.diff_ids[{i}] is not a string"),
                    );
                    out.push(None);
                }
            }
        }
        if self.report.problems.len() == before
            && let Err(e) = serde_json::from_value::<oci_spec::image::ImageConfiguration>(v)
        {
            self.problem(
                object,
                Some(digest),
                format!("not an image configuration: {e}"),
            );
        }
        Some(out)
    }

    /// The blob's path, or a problem if it cannot be checked.
    fn usable_path(&mut self, object: &str, desc: &Desc) -> Option<PathBuf> {
        let path = match blob_path(self.root, &desc.digest) {
            Ok(p) => p,
            Err(e) => {
                self.problem(object, Some(&desc.digest), e.to_string());
                return None;
            }
        };
        if !desc.digest.starts_with("sha256:") {
            self.problem(
                object,
                Some(&desc.digest),
                "only sha256 digests can be verified; this blob was not checked",
            );
            return None;
        }
        Some(path)
    }

    /// Report what a blob's state says about the descriptor that points to it.
    /// Returns false when the blob cannot be used at all.
    fn compare(&mut self, object: &str, desc: &Desc, state: &BlobState) -> bool {
        let d = Some(desc.digest.as_str());
        match state {
            BlobState::Missing => {
                let hint = if desc.has_urls {
                    " (the descriptor lists external urls: a non-distributable blob that was not copied into the layout)"
                } else {
                    ""
                };
                self.problem(
                    object,
                    d,
                    format!("blob {} is missing{hint}", blob_rel(&desc.digest)),
                );
                false
            }
            BlobState::NotAFile => {
                self.problem(
                    object,
                    d,
                    format!("{} is not a regular file", blob_rel(&desc.digest)),
                );
                false
            }
            BlobState::Unreadable(e) => {
                self.problem(object, d, format!("cannot read the blob: {e}"));
                false
            }
            BlobState::Read(m) => {
                if m.digest.as_str() != desc.digest {
                    self.problem(
                        object,
                        d,
                        format!(
                            "blob content does not match its digest: {} hashes to {}",
                            blob_rel(&desc.digest),
                            m.digest
                        ),
                    );
                }
                if m.size != desc.size {
                    self.problem(
                        object,
                        d,
                        format!(
                            "size mismatch: the descriptor says {} bytes, the blob has {}",
                            desc.size, m.size
                        ),
                    );
                }
                true
            }
        }
    }

    /// Missing / not a file, from metadata, before any read.
    fn stat(&self, path: &Path) -> Option<BlobState> {
        match fs::metadata(path) {
            Ok(m) if m.is_file() => None,
            Ok(_) => Some(BlobState::NotAFile),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Some(BlobState::Missing),
            Err(e) => Some(BlobState::Unreadable(e.to_string())),
        }
    }

    /// A small JSON blob, read whole once; problems about it are reported per reference.
    fn json_blob(&mut self, object: &str, desc: &Desc) -> Option<Rc<Vec<u8>>> {
        let path = self.usable_path(object, desc)?;
        if !self.blobs.contains_key(&desc.digest) {
            let state = match self.stat(&path) {
                Some(s) => s,
                None => match read_small(&path, MAX_JSON_BLOB) {
                    Ok(bytes) => {
                        self.report.blobs += 1;
                        let m = Blob {
                            digest: sha256_of(&bytes),
                            size: bytes.len() as u64,
                        };
                        self.json.insert(desc.digest.clone(), Some(Rc::new(bytes)));
                        BlobState::Read(m)
                    }
                    Err(Error::BadLayout { reason, .. }) => BlobState::Unreadable(format!(
                        "{reason}: too large for a manifest, config or index"
                    )),
                    Err(e) => BlobState::Unreadable(e.to_string()),
                },
            };
            self.blobs.insert(desc.digest.clone(), state);
        }
        let state = self.blobs.get(&desc.digest).cloned()?;
        if !self.compare(object, desc, &state) {
            return None;
        }
        match self.json.get(&desc.digest) {
            Some(Some(b)) => Some(b.clone()),
            // Read earlier as a layer or plain blob: read it whole now.
            _ => match read_small(&path, MAX_JSON_BLOB) {
                Ok(b) => {
                    let b = Rc::new(b);
                    self.json.insert(desc.digest.clone(), Some(b.clone()));
                    Some(b)
                }
                Err(e) => {
                    self.problem(
                        object,
                        Some(&desc.digest),
                        format!("cannot read the blob: {e}"),
                    );
                    None
                }
            },
        }
    }

    /// A blob checked only for presence, digest and size.
    fn check_blob(&mut self, object: &str, desc: &Desc) {
        let Some(path) = self.usable_path(object, desc) else {
            return;
        };
        if !self.blobs.contains_key(&desc.digest) {
            let state = match self.stat(&path) {
                Some(s) => s,
                None => match hash_file(&path) {
                    Ok(m) => {
                        self.report.blobs += 1;
                        BlobState::Read(m)
                    }
                    Err(e) => BlobState::Unreadable(e.to_string()),
                },
            };
            self.blobs.insert(desc.digest.clone(), state);
        }
        if let Some(state) = self.blobs.get(&desc.digest).cloned() {
            self.compare(object, desc, &state);
        }
    }

    fn check_layer(
        &mut self,
        object: &str,
        desc: &Desc,
        expected: Compression,
        diff_id: Option<&str>,
    ) {
        let Some(path) = self.usable_path(object, desc) else {
            return;
        };
        let digest = desc.digest.as_str();
        let key = (desc.digest.clone(), expected);
        if !self.layers.contains_key(&key) {
            if let Some(state) = self.stat(&path) {
                self.compare(object, desc, &state);
                return;
            }
            let scan = match scan_layer(&path, Some(expected)) {
                Ok(s) => s,
                Err(e) => {
                    self.problem(object, Some(digest), format!("cannot read the blob: {e}"));
                    return;
                }
            };
            if !self.blobs.contains_key(&desc.digest) {
                self.report.blobs += 1;
            }
            self.report.layers += 1;
            self.blobs
                .insert(desc.digest.clone(), BlobState::Read(scan.blob.clone()));
            self.layers.insert(key.clone(), scan);
        }
        let Some(scan) = self.layers.get(&key).cloned() else {
            return;
        };
        self.compare(object, desc, &BlobState::Read(scan.blob.clone()));
        match scan.detected {
            Some(found) if found != expected => self.problem(
                object,
                Some(digest),
                format!(
                    "media type {:?} says {}, but the blob is {}; consumers will fail to decode it",
                    desc.media_type,
                    what_data(expected),
                    what_data(found)
                ),
            ),
            None if expected != Compression::None => self.problem(
                object,
                Some(digest),
                format!(
                    "media type {:?} says {}, but the blob is not (first bytes: {})",
                    desc.media_type,
                    what_data(expected),
                    scan.head
                ),
            ),
            _ => {}
        }
        for p in &scan.problems {
            self.problem(object, Some(digest), p.clone());
        }
        for w in &scan.warnings {
            self.warning(object, Some(digest), w.clone());
        }
        match (diff_id, &scan.diff_id) {
            (Some(want), Some(_)) if !want.starts_with("sha256:") => {
                self.problem(
                    object,
                    Some(digest),
                    format!(
                        "DiffID {want} uses an algorithm other than sha256; it was not checked"
                    ),
                );
            }
            (Some(want), Some(got)) if got.digest.as_str() != want => self.problem(
                object,
                Some(digest),
                format!(
                    "DiffID mismatch: the config lists {want}, the decompressed layer hashes to {}",
                    got.digest
                ),
            ),
            _ => {}
        }
    }
}

/// sha256 and size of a whole file, streaming.
fn hash_file(path: &Path) -> Result<Blob> {
    let f = File::open(path).at(path)?;
    let mut r = HashReader::new(f);
    io::copy(&mut r, &mut io::sink()).at(path)?;
    Ok(r.finish().1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_rule() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().to_str().unwrap().to_string();
        // 1. The whole argument is an existing directory, even with a colon.
        let colon = format!("{base}/img:v1");
        fs::create_dir(&colon).unwrap();
        assert_eq!(parse_target(&colon), (PathBuf::from(&colon), None));
        // 2. DIR exists and the rest is a tag; a tag may contain ':'.
        let img = format!("{base}/img");
        fs::create_dir(&img).unwrap();
        assert_eq!(
            parse_target(&format!("{img}:latest")),
            (PathBuf::from(&img), Some("latest".into()))
        );
        assert_eq!(
            parse_target(&format!("{img}:a:b")),
            (PathBuf::from(&img), Some("a:b".into()))
        );
        // 2 beats 1 only when 1 does not apply: img:v1 exists, so img:v1:x is (img:v1, x).
        assert_eq!(
            parse_target(&format!("{colon}:x")),
            (PathBuf::from(&colon), Some("x".into()))
        );
        // 3. Nothing exists: split at the last ':' when a valid tag follows.
        assert_eq!(
            parse_target(&format!("{base}/none:t1")),
            (PathBuf::from(format!("{base}/none")), Some("t1".into()))
        );
        // 4. Otherwise the whole string.
        for whole in [
            format!("{base}/none:"),
            format!("{base}/none:-bad"),
            format!("{base}/plain"),
        ] {
            assert_eq!(
                parse_target(&whole),
                (PathBuf::from(&whole), None),
                "{whole}"
            );
        }
        assert_eq!(parse_target(":t"), (PathBuf::from(":t"), None));
    }

    #[test]
    fn layer_media_types() {
        assert_eq!(
            layer_compression("application/vnd.oci.image.layer.v1.tar+gzip", false),
            Some(Compression::Gzip)
        );
        assert_eq!(
            layer_compression(
                "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
                false
            ),
            Some(Compression::Zstd)
        );
        assert_eq!(
            layer_compression("application/vnd.oci.image.layer.v1.tar", false),
            Some(Compression::None)
        );
        let docker = "application/vnd.docker.image.rootfs.diff.tar.gzip";
        assert_eq!(layer_compression(docker, false), None);
        assert_eq!(layer_compression(docker, true), Some(Compression::Gzip));
        assert_eq!(
            layer_compression("application/vnd.oci.image.layer.v1.tar+xz", false),
            None
        );
        assert_eq!(doc_kind(DOCKER_LIST), DocKind::Index);
        assert_eq!(
            doc_kind(DOCKER_MANIFEST),
            DocKind::Manifest { docker: true }
        );
        assert_eq!(doc_kind("application/vnd.example+json"), DocKind::Other);
    }

    #[test]
    fn descriptor_fields_are_checked() {
        let (d, why) = read_descriptor(&serde_json::json!({
            "mediaType": OCI_MANIFEST, "digest": "sha256:../../etc/passwd", "size": -1
        }));
        assert!(d.is_none());
        assert_eq!(why.len(), 2, "{why:?}");
        assert!(why[0].contains("needs 64 hex digits"), "{}", why[0]);
        assert!(
            why[1].contains("size -1 is not a non-negative integer"),
            "{}",
            why[1]
        );
        let good = format!("sha256:{}", "a".repeat(64));
        let (d, why) = read_descriptor(&serde_json::json!({"digest": good, "size": 3}));
        assert_eq!(why, vec!["descriptor has no mediaType".to_string()]);
        assert_eq!(d.map(|d| (d.digest, d.size)), Some((good, 3)));
    }

    fn tar_bytes() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(5);
        h.set_mode(0o644);
        h.set_mtime(0);
        b.append_data(&mut h, "etc/hello", &b"hello"[..]).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn scan_layer_measures_blob_and_diff_id_in_one_pass() {
        let dir = tempfile::tempdir().unwrap();
        let tar = tar_bytes();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        let p = dir.path().join("blob");
        fs::write(&p, &gz).unwrap();
        let s = scan_layer(&p, Some(Compression::Gzip)).unwrap();
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        assert_eq!(s.blob.digest, sha256_of(&gz));
        assert_eq!(s.blob.size, gz.len() as u64);
        assert_eq!(
            s.diff_id.as_ref().map(|m| m.digest.clone()),
            Some(sha256_of(&tar))
        );
        assert_eq!(s.diff_id.as_ref().map(|m| m.size), Some(tar.len() as u64));
        assert_eq!(s.entries, Some(1));

        // Truncated: decoding fails, yet the blob digest covers every byte.
        fs::write(&p, &gz[..gz.len() - 6]).unwrap();
        let s = scan_layer(&p, Some(Compression::Gzip)).unwrap();
        assert_eq!(s.blob.digest, sha256_of(&gz[..gz.len() - 6]));
        assert!(s.diff_id.is_none());
        assert!(
            s.problems[0].contains("gzip data is corrupt or truncated"),
            "{:?}",
            s.problems
        );

        // Garbage after the gzip member is refused (Go's reader refuses it too).
        let mut junk = gz.clone();
        junk.extend_from_slice(b"junk");
        fs::write(&p, &junk).unwrap();
        let s = scan_layer(&p, Some(Compression::Gzip)).unwrap();
        assert_eq!(s.blob.size, junk.len() as u64);
        assert_eq!(s.blob.digest, sha256_of(&junk));
        assert!(
            s.problems[0].starts_with("gzip data is corrupt or truncated"),
            "{:?}",
            s.problems
        );

        // A plain tar cut inside its entry.
        fs::write(&p, &tar[..600]).unwrap();
        let s = scan_layer(&p, Some(Compression::None)).unwrap();
        assert!(
            s.problems[0].contains("not a complete tar archive"),
            "{:?}",
            s.problems
        );
        assert_eq!(s.blob.digest, sha256_of(&tar[..600]));
    }

    #[test]
    fn report_text_and_json() {
        let mut r = VerifyReport {
            layout: PathBuf::from("/x"),
            manifests: 1,
            blobs: 3,
            layers: 1,
            ..VerifyReport::default()
        };
        assert!(r.ok());
        assert!(
            r.text()
                .starts_with("OK: /x checked: 1 manifest, 0 image indexes, 3 blobs, 1 layer"),
            "{}",
            r.text()
        );
        r.problems.push(Problem {
            object: "tag latest: layer 1".into(),
            digest: Some("sha256:ab".into()),
            message: "blob blobs/sha256/ab is missing".into(),
        });
        let t = r.text();
        assert!(t.starts_with("tag latest: layer 1 (sha256:ab): blob blobs/sha256/ab is missing\nFAILED: 1 problem;"), "{t}");
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["problems"][0]["object"], "tag latest: layer 1");
        assert_eq!(v["blobs"], 3);
    }
}
