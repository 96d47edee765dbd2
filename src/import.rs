//! The import pipeline: one pass over each input, three digests, then an
//! atomic publish.
//!
//! ```text
//!  decode thread                                  main thread
//!  file ─ count ─ sha256(input) ─┬─ [tap: blob]   ┌─ sha256 (DiffID)
//!                                └─ decoder ──────┼─ tar scanner (+observers)
//!                      bounded queue of chunks ──▶└─ encoder ─ sha256+size ─ blob temp file
//! ```
//! For a passthrough layer (gzip/zstd input kept as is) the tap writes the
//! raw input to the blob and there is no encoder. Nothing is published until
//! every input has been read to its end and found sound.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use crate::change;
use crate::checksums::{self, Expected, MultiHasher};
use crate::lint::Lint;
use crate::platform::{PlatformObserver, PlatformTally};

use crate::compress::{self, Compression, DecodeOptions, Decoder, Encoder};
use crate::digest::Blob;
use crate::error::{Error, IoContext, Result, classify, mark};
use crate::hashing::{CountReader, HashReader, Sha256Counter, TapReader};
use crate::image::{self, ImageMeta, LayerRef, Platform};
use crate::layout::{BlobWriter, Layout, PendingBlob};
use crate::report::{ImportReport, LayerReport};
use crate::tarscan::TarScanner;

/// Size of the chunks passed from the decoder to the hashing/encoding side.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the threads: memory stays bounded whatever the input size.
const QUEUE: usize = 8;

/// Where an input comes from.
#[derive(Clone, Debug)]
pub enum InputSource {
    /// A file.
    Path(PathBuf),
    /// Standard input.
    Stdin,
}

impl InputSource {
    /// From a command-line argument (`-` is stdin).
    pub fn from_arg(arg: &str) -> Self {
        if arg == "-" {
            InputSource::Stdin
        } else {
            InputSource::Path(PathBuf::from(arg))
        }
    }

    /// The name shown to the user.
    pub fn display(&self) -> String {
        match self {
            InputSource::Path(p) => p.display().to_string(),
            InputSource::Stdin => "-".to_string(),
        }
    }

    /// The base name used for history and checksum-file lookups.
    pub fn base_name(&self) -> String {
        match self {
            InputSource::Path(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string()),
            InputSource::Stdin => "stdin".to_string(),
        }
    }

    fn path_for_errors(&self) -> PathBuf {
        match self {
            InputSource::Path(p) => p.clone(),
            InputSource::Stdin => PathBuf::from("<stdin>"),
        }
    }

    fn open(&self) -> Result<Box<dyn Read + Send>> {
        match self {
            InputSource::Path(p) => Ok(Box::new(File::open(p).at(p)?)),
            InputSource::Stdin => Ok(Box::new(io::stdin())),
        }
    }
}

/// The layer compression the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LayerCompression {
    /// Keep gzip/zstd input as is; encode anything else as gzip.
    #[default]
    Auto,
    /// Always gzip.
    Gzip,
    /// Always zstd.
    Zstd,
    /// Uncompressed tar.
    None,
}

/// Everything an import needs besides its inputs.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The layout directory.
    pub output: PathBuf,
    /// Ref name for the new manifest.
    pub tag: String,
    /// Layer compression.
    pub compression: LayerCompression,
    /// Compression level for gzip (1-9) or zstd (1-22).
    pub level: Option<i32>,
    /// Normalized RFC 3339 `created`, from `--created`.
    pub created: Option<String>,
    /// `SOURCE_DATE_EPOCH`, if set.
    pub source_date_epoch: Option<String>,
    /// Platform overrides.
    pub arch: Option<String>,
    /// OS override.
    pub os: Option<String>,
    /// Variant override.
    pub variant: Option<String>,
    /// Worker threads for decoding/encoding.
    pub threads: u32,
    /// `--change` instructions (podman/docker syntax), in order.
    pub changes: Vec<String>,
    /// Labels (`--label KEY=VALUE`), taken literally and applied after the changes.
    pub labels: BTreeMap<String, String>,
    /// History comment for the layers.
    pub message: Option<String>,
    /// Manifest annotations.
    pub annotations: BTreeMap<String, String>,
    /// `--expect ALGO:HEX` for a single input.
    pub expect: Option<Expected>,
    /// A checksum file (its name and text) listing the inputs by base name.
    pub checksum_file: Option<(String, String)>,
    /// Cap on the uncompressed bytes of each input.
    pub max_size: Option<u64>,
    /// Refuse path hazards instead of warning.
    pub strict: bool,
    /// Shared progress state for a display.
    pub progress: Option<Arc<Progress>>,
}

/// What an import is doing, for a progress display polling from another thread.
#[derive(Debug, Default)]
pub struct Progress {
    /// Input bytes read in the current input.
    pub bytes: Arc<AtomicU64>,
    /// Size of the current input, 0 when unknown (a pipe).
    pub total: AtomicU64,
    /// What is happening now, e.g. "reading rootfs.tar.xz (1/2)".
    pub phase: Mutex<String>,
}

impl Progress {
    fn set_phase(&self, phase: String) {
        if let Ok(mut p) = self.phase.lock() {
            *p = phase;
        }
    }
}

impl ImportOptions {
    /// Defaults for writing into `output`.
    pub fn new(output: impl Into<PathBuf>) -> Self {
        Self {
            output: output.into(),
            tag: "latest".into(),
            compression: LayerCompression::Auto,
            level: None,
            created: None,
            source_date_epoch: None,
            arch: None,
            os: None,
            variant: None,
            threads: std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .try_into()
                .unwrap_or(1),
            changes: Vec::new(),
            labels: BTreeMap::new(),
            message: None,
            annotations: BTreeMap::new(),
            expect: None,
            checksum_file: None,
            max_size: None,
            strict: false,
            progress: None,
        }
    }
}

/// The default output directory for an input: its file name without
/// `.tar.*`, `.tgz`, `.txz`, ... (in the current directory).
pub fn default_output(input: &Path) -> PathBuf {
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    let lower = name.to_ascii_lowercase();
    const SUFFIXES: [&str; 14] = [
        ".tar.gz",
        ".tar.xz",
        ".tar.zst",
        ".tar.zstd",
        ".tar.bz2",
        ".tgz",
        ".txz",
        ".tzst",
        ".tbz2",
        ".tbz",
        ".tar",
        ".gz",
        ".xz",
        ".zst",
    ];
    for s in SUFFIXES {
        if lower.len() > s.len() && lower.ends_with(s) {
            return PathBuf::from(&name[..name.len() - s.len()]);
        }
    }
    // No archive extension: never reuse the input's own name.
    PathBuf::from(format!("{name}.oci"))
}

/// Validate an OCI ref name (`org.opencontainers.image.ref.name` grammar).
pub fn validate_tag(tag: &str) -> std::result::Result<(), String> {
    // ref ::= component ("/" component)*; component ::= alphanum (separator alphanum)*
    // separator ::= [-._:@+] | "--"
    let ok = !tag.is_empty()
        && tag.split('/').all(|c| {
            let b = c.as_bytes();
            if b.is_empty()
                || !b[0].is_ascii_alphanumeric()
                || !b[b.len() - 1].is_ascii_alphanumeric()
            {
                return false;
            }
            let mut prev_sep = 0usize;
            for &ch in b {
                if ch.is_ascii_alphanumeric() {
                    prev_sep = 0;
                } else if b"-._:@+".contains(&ch) {
                    prev_sep += 1;
                    // Only "--" may be a two-character separator.
                    if prev_sep > 2 || (prev_sep == 2 && ch != b'-') {
                        return false;
                    }
                } else {
                    return false;
                }
            }
            true
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{tag:?} is not a valid OCI ref name (letters and digits, separated by one of - . _ : @ + or --, components joined by /)"
        ))
    }
}

/// The result of reading one input.
struct LayerOutcome {
    report: LayerReport,
    blob: PendingBlob,
    /// The layer's encoding (its media type follows from it).
    format: Compression,
    /// Newest entry mtime, for the default `created`.
    newest_mtime: Option<i64>,
}

/// Import `inputs` as the layers of one image into the layout `opts.output`.
///
/// On any error the layout is left as it was: no new blob, no temp file, no index change.
pub fn import(inputs: &[InputSource], opts: &ImportOptions) -> Result<ImportReport> {
    if inputs.is_empty() {
        return Err(Error::Usage("no input given".into()));
    }
    validate_tag(&opts.tag).map_err(Error::Usage)?;
    if let Some(p) = &opts.progress {
        p.set_phase("starting".into());
    }
    if opts.expect.is_some() && inputs.len() > 1 {
        return Err(Error::Usage(
            "--expect applies to a single input; use --checksums for several".into(),
        ));
    }
    // Check what can be checked before any input is read.
    let config = image_config(opts)?;
    if opts.checksum_file.is_some() && inputs.iter().any(|i| matches!(i, InputSource::Stdin)) {
        return Err(Error::Usage(
            "standard input has no name to look up in --checksums; use --expect ALGO:HEX".into(),
        ));
    }
    let layout = Layout::open_or_create(&opts.output)?;
    match import_into(&layout, inputs, opts, config) {
        Ok(r) => Ok(r),
        Err(e) => {
            layout.abandon();
            Err(e)
        }
    }
}

fn import_into(
    layout: &Layout,
    inputs: &[InputSource],
    opts: &ImportOptions,
    config: oci_spec::image::Config,
) -> Result<ImportReport> {
    // One tally for all inputs: the layers vote together on the platform.
    let mut tally = PlatformTally::new();
    let mut outcomes = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        if let Some(p) = &opts.progress {
            p.set_phase(format!(
                "reading {} ({}/{})",
                input.base_name(),
                i + 1,
                inputs.len()
            ));
        }
        let expected = expected_checksums(input, opts)?;
        outcomes.push(import_layer(layout, input, opts, &mut tally, &expected)?);
    }
    if let Some(p) = &opts.progress {
        p.set_phase("publishing".into());
    }

    let mut warnings = Vec::new();
    let platform = decide_platform(opts, &tally, &mut warnings);
    let (created, created_source) = created_time(opts, &outcomes)?;
    let layers: Vec<LayerRef> = outcomes
        .iter()
        .map(|o| LayerRef {
            media_type: image::layer_media_type(o.format),
            digest: o.report.digest.to_string(),
            size: o.report.size,
            diff_id: o.report.diff_id.to_string(),
            created_by: format!(
                "ociimport {} {}",
                env!("CARGO_PKG_VERSION"),
                input_base(&o.report.input)
            ),
            comment: opts.message.clone(),
        })
        .collect();
    let meta = ImageMeta {
        platform: platform.clone(),
        created: created.clone(),
        config: Some(config),
        annotations: opts.annotations.clone(),
    };
    let config = image::config_json(&meta, &layers)?;
    let config_blob = layout.blob_from_bytes(&config)?;
    let config_ref = blob_ref(config_blob.measured());
    let manifest = image::manifest_json(&config_ref, &layers, &meta.annotations)?;
    let manifest_blob = layout.blob_from_bytes(&manifest)?;
    let manifest_ref = blob_ref(manifest_blob.measured());

    let mut reports = Vec::new();
    let mut blobs = Vec::new();
    for o in outcomes {
        for w in &o.report.warnings {
            warnings.push(format!("{}: {w}", o.report.input));
        }
        reports.push(o.report);
        blobs.push(o.blob);
    }
    blobs.push(config_blob);
    blobs.push(manifest_blob);
    layout.check_index()?;
    layout.publish(blobs)?;
    let desc = image::index_descriptor(&manifest_ref, &opts.tag, &platform)?;
    layout.add_to_index(desc, &opts.tag)?;

    Ok(ImportReport {
        layout: opts.output.display().to_string(),
        format: "oci".into(),
        tag: opts.tag.clone(),
        manifest: manifest_ref,
        config: config_ref,
        platform,
        created,
        created_source,
        layers: reports,
        warnings,
    })
}

fn input_base(input: &str) -> String {
    InputSource::from_arg(input).base_name()
}

fn blob_ref(m: &Blob) -> Blob {
    Blob {
        digest: m.digest.clone(),
        size: m.size,
    }
}

/// `--created`, else `SOURCE_DATE_EPOCH`, else the newest entry's mtime.
fn created_time(opts: &ImportOptions, outcomes: &[LayerOutcome]) -> Result<(String, String)> {
    if let Some(c) = &opts.created {
        return Ok((c.clone(), "--created".into()));
    }
    if let Some(s) = &opts.source_date_epoch {
        let secs: i64 = s.trim().parse().map_err(|_| {
            Error::Usage(format!(
                "SOURCE_DATE_EPOCH={s:?} is not a whole number of seconds since 1970"
            ))
        })?;
        let t = image::format_unix(secs)
            .ok_or_else(|| Error::Usage(format!("SOURCE_DATE_EPOCH={s} is out of range")))?;
        return Ok((t, "SOURCE_DATE_EPOCH".into()));
    }
    let newest = outcomes
        .iter()
        .filter_map(|o| o.newest_mtime)
        .max()
        .unwrap_or(0);
    let t = image::format_unix(newest.max(0)).unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
    Ok((t, "newest entry".into()))
}

/// The image's execution defaults: `--change` instructions applied in
/// order, then podman import's default PATH unless an ENV set one.
fn image_config(opts: &ImportOptions) -> Result<oci_spec::image::Config> {
    let mut config = oci_spec::image::Config::default();
    for c in &opts.changes {
        change::apply_change(&mut config, c)?;
    }
    if !opts.labels.is_empty() {
        let mut labels = config.labels().clone().unwrap_or_default();
        for (k, v) in &opts.labels {
            labels.insert(k.clone(), v.clone());
        }
        config.set_labels(Some(labels));
    }
    change::ensure_default_path(&mut config);
    Ok(config)
}

/// The platform: flags win; else what the rootfs's ELF files say; else the host.
fn decide_platform(
    opts: &ImportOptions,
    tally: &PlatformTally,
    warnings: &mut Vec<String>,
) -> Platform {
    let os = opts.os.clone().unwrap_or_else(|| "linux".into());
    let detected = tally.result();
    if let Some(arch) = &opts.arch {
        // Keep the detected variant when the flag only confirms the architecture.
        let variant = opts.variant.clone().or_else(|| {
            detected
                .filter(|d| &d.architecture == arch)
                .and_then(|d| d.variant)
        });
        return Platform {
            os,
            architecture: arch.clone(),
            variant,
        };
    }
    match detected {
        Some(d) => {
            if let Some(c) = &d.conflict {
                warnings.push(format!(
                    "executables of several architectures: {} ({} file(s), e.g. {}) and {} ({} file(s), e.g. {}); using {}",
                    d.architecture,
                    d.files,
                    c.winner_example,
                    c.other_architecture,
                    c.other_files,
                    c.other_example,
                    d.architecture
                ));
            }
            Platform {
                os,
                architecture: d.architecture,
                variant: opts.variant.clone().or(d.variant),
            }
        }
        None => {
            let host = crate::platform::host_architecture();
            warnings.push(format!(
                "no ELF executables found under bin, sbin, usr/bin, usr/sbin or lib*; using the host architecture {host} (set --arch to choose)"
            ));
            Platform {
                os,
                architecture: host.to_string(),
                variant: opts.variant.clone(),
            }
        }
    }
}

/// The checksums `input` must match: `--expect`, and/or its entries in `--checksums`.
fn expected_checksums(input: &InputSource, opts: &ImportOptions) -> Result<Vec<Expected>> {
    let mut expected = Vec::new();
    if let Some(e) = &opts.expect {
        expected.push(e.clone());
    }
    if let Some((file, text)) = &opts.checksum_file {
        if matches!(input, InputSource::Stdin) {
            return Err(Error::Usage(
                "standard input has no name to look up in --checksums; use --expect ALGO:HEX"
                    .into(),
            ));
        }
        let found =
            checksums::parse_checksum_file(text, file, &input.base_name()).map_err(|source| {
                Error::Checksum {
                    input: input.display(),
                    source,
                }
            })?;
        expected.extend(found);
    }
    Ok(expected)
}

/// What the decode thread hands back when the input is exhausted.
struct DecodeEnd {
    input: Blob,
    passthrough: Option<PendingBlob>,
    /// Digests of the raw input for the checksums it must match.
    computed: Option<Vec<(checksums::Algorithm, String)>>,
}

/// Read one input completely and write its layer blob to a temp file.
fn import_layer(
    layout: &Layout,
    input: &InputSource,
    opts: &ImportOptions,
    tally: &mut PlatformTally,
    expected: &[Expected],
) -> Result<LayerOutcome> {
    let name = input.display();
    let src_path = input.path_for_errors();
    let progress = opts.progress.clone().unwrap_or_default();
    progress.bytes.store(0, Ordering::Relaxed);
    let total = match input {
        InputSource::Path(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
        InputSource::Stdin => 0,
    };
    progress.total.store(total, Ordering::Relaxed);
    // One count of the input read so far: the progress display shows it and
    // decode errors report it as the offset.
    let counter = progress.bytes.clone();
    let raw = CountReader::new(
        PathErrors::new(input.open()?, src_path.clone()),
        counter.clone(),
    );
    let mut hashed = HashReader::new(raw);

    // Sniff the format from the first bytes (they stay in the hash and are replayed).
    let mut head = Vec::with_capacity(compress::SNIFF_LEN);
    (&mut hashed)
        .take(compress::SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| {
            classify(e, |e| Error::Io {
                path: src_path.clone(),
                source: e,
            })
        })?;
    if head.is_empty() {
        return Err(Error::EmptyInput { input: name });
    }
    let format = compress::detect(&head).ok_or_else(|| Error::UnknownFormat {
        input: name.clone(),
        magic: compress::describe_unknown(&head),
    })?;

    let target = match (opts.compression, format) {
        (LayerCompression::Auto, Compression::Gzip | Compression::Zstd) => format,
        (LayerCompression::Auto, _) => Compression::Gzip,
        (LayerCompression::Gzip, _) => Compression::Gzip,
        (LayerCompression::Zstd, _) => Compression::Zstd,
        (LayerCompression::None, _) => Compression::None,
    };
    // Same format and no level asked for: keep the input's bytes as the blob.
    let passthrough =
        target == format && (opts.level.is_none() || opts.compression == LayerCompression::Auto);
    let mut level_warning = None;
    if let Some(level) = opts.level {
        if target == Compression::Gzip && !passthrough && !(1..=9).contains(&level) {
            return Err(Error::Usage(format!(
                "--level {level} is out of range 1..=9 for the gzip layer made from {name} ({format} input)"
            )));
        }
        if passthrough {
            level_warning = Some(format!(
                "--level {level} not applied: the {format} input is kept as the layer as is (use --compression {format} to re-encode it)"
            ));
        }
    }
    let passthrough_blob = if passthrough {
        Some(layout.blob_writer()?)
    } else {
        None
    };
    let encode_blob = if passthrough {
        None
    } else {
        Some(layout.blob_writer()?)
    };

    // liblzma's threaded decoder splits multi-block files (xz -T0, pixz) across
    // threads and decodes single-block files on one, as before.
    let decode_opts = DecodeOptions {
        xz_threads: opts.threads.max(1),
        ..DecodeOptions::default()
    };

    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(QUEUE);
    // Chunks go back to the decoder once consumed, so the steady state
    // allocates (and zero-fills) nothing.
    let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(QUEUE + 2);
    let mut diff = Sha256Counter::new();
    let mut scanner = TarScanner::new((PlatformObserver::new(), Lint::new()));
    let checksum_tap = if expected.is_empty() {
        None
    } else {
        Some(MultiHasher::new(expected))
    };
    let mut encoder = match encode_blob {
        Some(w) => Some(
            Encoder::new(target, w, opts.level, opts.threads).map_err(|e| Error::Io {
                path: layout.root().to_path_buf(),
                source: e,
            })?,
        ),
        None => None,
    };
    let name_ref = &name;
    let counter_ref = &counter;

    let decoded = std::thread::scope(|s| -> Result<DecodeEnd> {
        let decoder = s.spawn(move || -> Result<Option<DecodeEnd>> {
            let replay = Cursor::new(head).chain(hashed);
            let tapped = TapReader::new(
                replay,
                Tap {
                    blob: passthrough_blob,
                    checksums: checksum_tap,
                },
            );
            let decode_err = |e: io::Error| {
                classify(e, |e| Error::Decode {
                    input: name_ref.clone(),
                    format: format.name(),
                    offset: counter_ref.load(Ordering::Relaxed),
                    reason: e.to_string(),
                })
            };
            let mut dec = Decoder::new(format, tapped, decode_opts).map_err(decode_err)?;
            loop {
                let mut buf = free_rx.try_recv().unwrap_or_default();
                buf.resize(CHUNK, 0);
                let mut filled = 0;
                // Fill whole chunks so the consumer does fewer, larger writes.
                while filled < CHUNK {
                    let n = match dec.read(&mut buf[filled..]) {
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(decode_err(e)),
                    };
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                if filled == 0 {
                    break;
                }
                buf.truncate(filled);
                if tx.send(buf).is_err() {
                    // The consumer stopped: its error is the one to report.
                    return Ok(None);
                }
            }
            drop(tx);
            let tapped = dec.into_inner();
            let (mut replay, mut tap) = tapped.finish();
            // The decoder said "end": make sure nothing at all follows.
            let mut probe = [0u8; 1];
            let extra = replay.read(&mut probe).map_err(decode_err)?;
            if extra != 0 {
                return Err(Error::Decode {
                    input: name_ref.clone(),
                    format: format.name(),
                    offset: counter_ref.load(Ordering::Relaxed),
                    reason: "data follows the end of the compressed stream".into(),
                });
            }
            let (_, hashed) = replay.into_inner();
            let (_, input_measured) = hashed.finish();
            let computed = tap.checksums.take().map(|h| h.finish());
            let passthrough = tap.blob.take().map(|b| b.finish()).transpose()?;
            Ok(Some(DecodeEnd {
                input: input_measured,
                passthrough,
                computed,
            }))
        });

        // Consumer: the same bytes feed the DiffID, the tar scanner and the encoder.
        let consumed = (|| -> Result<()> {
            for chunk in rx.iter() {
                diff.update(&chunk);
                if let Some(limit) = opts.max_size
                    && diff.size() > limit
                {
                    return Err(Error::TooLarge {
                        input: name_ref.clone(),
                        limit,
                    });
                }
                scanner.feed(&chunk).map_err(|e| Error::Tar {
                    input: name_ref.clone(),
                    offset: e.offset,
                    reason: e.reason,
                })?;
                if let Some(enc) = encoder.as_mut() {
                    enc.write_all(&chunk).map_err(|e| {
                        classify(e, |e| Error::Io {
                            path: layout.root().to_path_buf(),
                            source: e,
                        })
                    })?;
                }
                // A full return queue just means the decoder has enough spares.
                let _ = free_tx.try_send(chunk);
            }
            Ok(())
        })();
        // Stop the producer promptly if we failed.
        drop(rx);
        let decoded = match decoder.join() {
            Ok(r) => r,
            Err(_) => Err(Error::Io {
                path: src_path.clone(),
                source: io::Error::other("the decoder thread failed"),
            }),
        };
        // A decode error is the root cause of everything after it; the
        // producer only stops early (None) because the consumer failed.
        match (decoded?, consumed) {
            (Some(d), Ok(())) => Ok(d),
            (_, Err(e)) => Err(e),
            (None, Ok(())) => Err(Error::Io {
                path: src_path.clone(),
                source: io::Error::other("the decoder stopped before the end of the input"),
            }),
        }
    })?;
    let mut verified = Vec::new();
    if let Some(computed) = &decoded.computed {
        checksums::check(expected, computed).map_err(|source| Error::Checksum {
            input: name.clone(),
            source,
        })?;
        for e in expected {
            verified.push(format!("{} ({})", e.algorithm, e.source));
        }
    }

    let (summary, (platform, lint)) = scanner.finish().map_err(|e| Error::Tar {
        input: name.clone(),
        offset: e.offset,
        reason: e.reason,
    })?;
    tally.merge(platform.into_tally());
    let findings = lint.into_findings();
    if opts.strict {
        let problems = findings.strict_violations();
        if !problems.is_empty() {
            return Err(Error::Strict {
                input: name,
                problems,
            });
        }
    }
    let newest_mtime = summary.newest_mtime;
    let mut layer_warnings = summary.warnings;
    layer_warnings.extend(level_warning);
    layer_warnings.extend(findings.warnings());
    let diff_id = diff.finish();
    let blob = match (decoded.passthrough, encoder) {
        (Some(b), _) => b,
        (None, Some(enc)) => {
            let w: BlobWriter = enc.finish().map_err(|e| {
                classify(e, |e| Error::Io {
                    path: layout.root().to_path_buf(),
                    source: e,
                })
            })?;
            w.finish()?
        }
        (None, None) => {
            return Err(Error::Io {
                path: layout.root().to_path_buf(),
                source: io::Error::other("no layer blob was written"),
            });
        }
    };
    let m = blob.measured().clone();
    Ok(LayerOutcome {
        report: LayerReport {
            input: name,
            input_compression: format,
            input_digest: decoded.input.digest,
            input_size: decoded.input.size,
            media_type: image::layer_media_type(target).to_string(),
            digest: m.digest,
            size: m.size,
            diff_id: diff_id.digest,
            uncompressed_size: diff_id.size,
            entries: summary.entries,
            passthrough,
            checksums_verified: verified,
            warnings: layer_warnings,
        },
        blob,
        format: target,
        newest_mtime,
    })
}

/// What the raw input bytes are copied into on the decode side, as they pass.
#[derive(Default)]
struct Tap {
    /// The passthrough layer blob.
    blob: Option<BlobWriter>,
    /// Hashers for `--expect`/`--checksums`.
    checksums: Option<MultiHasher>,
}

impl Write for Tap {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(h) = self.checksums.as_mut() {
            h.update(buf);
        }
        if let Some(b) = self.blob.as_mut() {
            b.write_all(buf)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        match self.blob.as_mut() {
            Some(b) => b.flush(),
            None => Ok(()),
        }
    }
}

/// Tags read errors with the input's path, so they are not mistaken for corrupt data.
struct PathErrors<R> {
    inner: R,
    path: PathBuf,
}

impl<R> PathErrors<R> {
    fn new(inner: R, path: PathBuf) -> Self {
        Self { inner, path }
    }
}

impl<R: Read> Read for PathErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| mark(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_output_strips_archive_extensions() {
        for (input, want) in [
            ("stage3-amd64-openrc.tar.xz", "stage3-amd64-openrc"),
            (
                "/tmp/alpine-minirootfs-3.20.0-x86_64.tar.gz",
                "alpine-minirootfs-3.20.0-x86_64",
            ),
            ("rootfs.tgz", "rootfs"),
            ("rootfs.TXZ", "rootfs"),
            ("root.tar.zst", "root"),
            ("root.tar", "root"),
            ("rootfs.img", "rootfs.img.oci"),
        ] {
            assert_eq!(
                default_output(Path::new(input)),
                PathBuf::from(want),
                "{input}"
            );
        }
    }

    #[test]
    fn tag_grammar() {
        for ok in [
            "latest", "v1.0", "a/b/c", "x--y", "1.0-rc1", "my_tag:9", "a+b@c",
        ] {
            assert!(validate_tag(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "x-", "a//b", "a..b", "a b", "a/", "ä", "x---y"] {
            assert!(validate_tag(bad).is_err(), "{bad}");
        }
    }
}
