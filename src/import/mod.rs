//! The import pipeline: one pass over each input, three digests, then an
//! atomic publish.
//!
//! Named parts, in the order an input meets them:
//! - [`input`](self::InputSource): where the input comes from, and the one
//!   place that builds its errors;
//! - `plan`: what its layer will be (target encoding, passthrough, the
//!   `--level` rule);
//! - `pipeline`: the producer (decode thread, and the `--normalize`
//!   rewrite) and the consumer (DiffID, tar scanner, sink), and the sink
//!   that makes exactly one blob;
//! - `provenance`: where each layer came from, as manifest annotations;
//! - here: the image (config, manifest) and the publish, which happens only
//!   after every input was read to its end and found sound.

mod input;
mod multi;
mod pipeline;
mod plan;
mod provenance;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub use crate::report::IndexReport;
pub use input::InputSource;
pub use plan::LayerCompression;
pub use provenance::{ANNOTATION_PREFIX, layer_annotation, source_name};

use crate::change;
use crate::checksums::{self, Expected, MultiHasher};
use crate::compress::{self, Compression, DecodeOptions};
use crate::error::{Error, Result};
use crate::fetch::HttpOptions;
use crate::hashing::{CountReader, HashReader, Sha256Counter};
use crate::image::{self, History, ImageMeta, Layer, Platform};
use crate::layout::{IndexChange, Layout, PendingBlob};
use crate::lint::{Lint, LintFindings};
use crate::normalize::NormalizeOptions;
use crate::output::Output;
use crate::platform::{PlatformObserver, PlatformTally};
use crate::report::VerifiedSignature;
use crate::report::{CreatedSource, ImportReport, InputReport, LayerReport, OutputFormat, Report};
use crate::signature::{Keyring, SignatureHasher};
use crate::spec::ref_name::validate_tag;
use crate::tarscan::TarScanner;
use input::InputErrors;
use pipeline::{Consumed, Consumer, Produced, Producer, Sink};
use plan::LayerPlan;
use provenance::{InputSignature, LayerOrigin, Sums};

/// Everything an import needs besides its inputs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ImportOptions {
    /// Where the image goes: a layout directory, an archive file or standard output.
    pub output: Output,
    /// `--index`: each input its own single-layer image, for the platform
    /// found in it, and the tag naming an image index of them.
    pub index: bool,
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
    /// The trust anchors signatures must come from (`--keyring`). With
    /// it, the checksum file must be signed and its signature must verify.
    pub keyring: Option<Keyring>,
    /// A detached signature over the checksum file (its name and bytes).
    pub checksums_signature: Option<(String, Vec<u8>)>,
    /// Detached signatures over inputs (name and bytes), each matched to
    /// the only input or to the input whose name it extends (`INPUT.asc`).
    pub signatures: Vec<(String, Vec<u8>)>,
    /// Cap on the uncompressed bytes of each input.
    pub max_size: Option<u64>,
    /// The largest zstd window to decode (`--zstd-max-window`), in bytes.
    pub zstd_max_window: u64,
    /// Refuse path hazards instead of warning.
    pub strict: bool,
    /// Rewrite each archive canonically before it is hashed (`--normalize`).
    pub normalize: bool,
    /// Leading path components to remove (`--strip-components`; implies `normalize`).
    pub strip_components: u32,
    /// Shared progress state for a display.
    pub progress: Option<Arc<Progress>>,
    /// Timeouts and retries for URL inputs.
    pub http: HttpOptions,
}

impl ImportOptions {
    /// Defaults for writing into `output` (a path is a layout directory).
    pub fn new(output: impl Into<Output>) -> Self {
        Self {
            output: output.into(),
            index: false,
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
            keyring: None,
            checksums_signature: None,
            signatures: Vec::new(),
            max_size: None,
            zstd_max_window: DecodeOptions::default().zstd_max_window,
            strict: false,
            normalize: false,
            strip_components: 0,
            progress: None,
            http: HttpOptions::default(),
        }
    }
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

/// The result of reading one input.
struct ReadLayer {
    report: LayerReport,
    /// The input's [`InputSource::base_name`], for the history.
    base_name: String,
    blob: PendingBlob,
    /// Newest entry mtime, for the default `created`.
    newest_mtime: Option<i64>,
}

/// Refuse what can be refused before anything is read or written.
fn check_request(inputs: &[InputSource], opts: &ImportOptions) -> Result<()> {
    if inputs.is_empty() {
        return Err(Error::Usage("no input given".into()));
    }
    validate_tag(&opts.tag).map_err(Error::Usage)?;
    plan::check_level(opts.compression, opts.level)?;
    if opts.expect.is_some() && inputs.len() > 1 {
        return Err(Error::Usage(
            "--expect applies to a single input; use --checksums for several".into(),
        ));
    }
    if opts.checksum_file.is_some() && inputs.iter().any(|i| matches!(i, InputSource::Stdin)) {
        return Err(stdin_has_no_name());
    }
    if opts.index && inputs.len() > 1 && (opts.arch.is_some() || opts.variant.is_some()) {
        return Err(Error::Usage(
            "--arch and --variant apply to a single input with --index; with several, each input's platform is detected from its ELF files (import one at a time with --index to set it)".into(),
        ));
    }
    provenance::check_options(inputs, opts)
}

fn stdin_has_no_name() -> Error {
    Error::Usage(
        "standard input has no name to look up in --checksums; use --expect ALGO:HEX".into(),
    )
}

/// Import `inputs` into `opts.output`: as the layers of one image, or with
/// `opts.index` each as its own image of an image index; the tag names it.
///
/// On any error the output is left as it was: no new blob, no temp file, no
/// index change, no archive.
pub fn import(inputs: &[InputSource], opts: &ImportOptions) -> Result<Report> {
    if let Some(p) = &opts.progress {
        p.set_phase("starting".into());
    }
    check_request(inputs, opts)?;
    let config = image_config(opts)?;
    // Signatures that can be checked before reading an input are, before
    // the layout is even opened.
    let checks = Checks {
        sums: provenance::checked_sums(opts, inputs)?,
        signatures: provenance::input_signatures(inputs, opts)?,
    };
    let write = |dir: &Path| {
        let layout = Layout::open_or_create(dir)?;
        let written = if opts.index {
            multi::index_into(&layout, inputs, opts, &config, &checks).map(Report::Index)
        } else {
            import_into(&layout, inputs, opts, config.clone(), &checks)
                .map(|r| Report::Image(Box::new(r)))
        };
        if written.is_err() {
            layout.abandon();
        }
        written
    };
    let mut report = match &opts.output {
        Output::Layout(dir) => write(dir)?,
        archive => crate::archive::via_archive(archive, write)?,
    };
    report.set_output(&opts.output);
    Ok(report)
}

/// What the inputs are checked against besides `--expect`.
struct Checks<'a> {
    /// The `--checksums` file, its signature verified when there is a keyring.
    sums: Option<Sums<'a>>,
    /// Each input's detached signature, if any.
    signatures: Vec<Option<InputSignature>>,
}

impl Checks<'_> {
    /// Read `input`, number `i` of `count`, as a layer (the progress display
    /// names it first), checked against its expected digests and its
    /// signature; a signed checksum file that vouched for it is recorded.
    fn read_input(
        &self,
        layout: &Layout,
        (i, input): (usize, &InputSource),
        count: usize,
        opts: &ImportOptions,
        tally: &mut PlatformTally,
    ) -> Result<ReadLayer> {
        if let Some(p) = &opts.progress {
            let verb = match input {
                InputSource::Url(_) => "downloading",
                _ => "reading",
            };
            p.set_phase(format!(
                "{verb} {} ({}/{})",
                input.base_name(),
                i + 1,
                count
            ));
        }
        let expected = expected_checksums(input, opts, self.sums.as_ref())?;
        let signature = self.signatures.get(i).and_then(Option::as_ref);
        let mut layer = read_layer(layout, input, opts, tally, &expected, signature)?;
        // Its digest was checked against the signed checksum file.
        if let Some(signed) = self.sums.as_ref().and_then(Sums::signed) {
            layer.report.signatures_verified.push(signed.clone());
        }
        Ok(layer)
    }

    /// Warnings about the checks themselves (a signature left unchecked).
    fn warnings(&self) -> Vec<String> {
        self.sums.iter().flat_map(|s| s.warning.clone()).collect()
    }
}

fn import_into(
    layout: &Layout,
    inputs: &[InputSource],
    opts: &ImportOptions,
    config: oci_spec::image::Config,
    checks: &Checks<'_>,
) -> Result<ImportReport> {
    // One tally for all inputs: the layers vote together on the platform.
    let mut tally = PlatformTally::new();
    let mut layers = Vec::new();
    for input in inputs.iter().enumerate() {
        layers.push(checks.read_input(layout, input, inputs.len(), opts, &mut tally)?);
    }
    if let Some(p) = &opts.progress {
        p.set_phase("publishing".into());
    }
    let mut warnings = checks.warnings();
    let platform = decide_platform(opts, &tally, &mut warnings);
    publish_image(layout, opts, layers, platform, config, warnings)
}

/// Build the config and manifest of `layers`, publish every blob, then name
/// the manifest in `index.json`.
fn publish_image(
    layout: &Layout,
    opts: &ImportOptions,
    layers: Vec<ReadLayer>,
    platform: Platform,
    config: oci_spec::image::Config,
    warnings: Vec<String>,
) -> Result<ImportReport> {
    let (report, blobs) = assemble_image(layout, opts, layers, platform, config, warnings)?;
    let desc = image::index_descriptor(&report.manifest, &opts.tag, &report.platform)?;
    layout
        .publish(blobs)?
        .apply(IndexChange::tag(&opts.tag, desc))?;
    Ok(report)
}

/// The config and manifest of `layers` as pending blobs (after the layers'
/// own), and the report of the image they make; nothing is published.
fn assemble_image(
    layout: &Layout,
    opts: &ImportOptions,
    layers: Vec<ReadLayer>,
    platform: Platform,
    config: oci_spec::image::Config,
    mut warnings: Vec<String>,
) -> Result<(ImportReport, Vec<PendingBlob>)> {
    let (created, created_source) = created_time(opts, &layers)?;
    let history: Vec<History> = layers
        .iter()
        .map(|l| History {
            created_by: format!("ociimport {} {}", env!("CARGO_PKG_VERSION"), l.base_name),
            comment: opts.message.clone(),
        })
        .collect();
    let image_layers: Vec<Layer> = layers.iter().map(|l| l.report.layer.clone()).collect();
    let origins: Vec<LayerOrigin<'_>> = layers
        .iter()
        .map(|l| LayerOrigin {
            source: &l.report.source,
            digest: l.report.input.blob.digest.as_str(),
            signatures: &l.report.signatures_verified,
        })
        .collect();
    let meta = ImageMeta {
        platform: platform.clone(),
        created: created.clone(),
        config: Some(config),
        annotations: provenance::annotations(&opts.annotations, &origins),
    };
    let config_blob =
        layout.blob_from_bytes(&image::config_json(&meta, &image_layers, &history)?)?;
    let config = config_blob.blob().clone();
    let manifest = image::manifest_json(&config, &image_layers, &meta.annotations)?;
    let manifest_blob = layout.blob_from_bytes(&manifest)?;
    let manifest = manifest_blob.blob().clone();

    let mut reports = Vec::new();
    let mut blobs = Vec::new();
    for l in layers {
        for w in &l.report.warnings {
            warnings.push(format!("{}: {w}", l.report.input.name));
        }
        reports.push(l.report);
        blobs.push(l.blob);
    }
    blobs.extend([config_blob, manifest_blob]);
    let report = ImportReport {
        layout: opts.output.display(),
        format: OutputFormat::Oci,
        tag: opts.tag.clone(),
        manifest,
        config,
        platform,
        created,
        created_source,
        layers: reports,
        warnings,
    };
    Ok((report, blobs))
}

/// `--created`, else `SOURCE_DATE_EPOCH`, else the newest entry's mtime.
fn created_time(opts: &ImportOptions, layers: &[ReadLayer]) -> Result<(String, CreatedSource)> {
    if let Some(c) = &opts.created {
        return Ok((c.clone(), CreatedSource::Flag));
    }
    if let Some(s) = &opts.source_date_epoch {
        let t = image::format_unix(source_date_epoch(s)?)
            .ok_or_else(|| Error::Usage(format!("SOURCE_DATE_EPOCH={s} is out of range")))?;
        return Ok((t, CreatedSource::SourceDateEpoch));
    }
    let newest = layers
        .iter()
        .filter_map(|o| o.newest_mtime)
        .max()
        .unwrap_or(0);
    let t = image::format_unix(newest.max(0)).unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
    Ok((t, CreatedSource::NewestEntry))
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

/// `SOURCE_DATE_EPOCH`'s seconds.
fn source_date_epoch(s: &str) -> Result<i64> {
    s.trim().parse().map_err(|_| {
        Error::Usage(format!(
            "SOURCE_DATE_EPOCH={s:?} is not a whole number of seconds since 1970"
        ))
    })
}

/// The rewrite stage's options, if the archive is to be normalized: mtimes
/// are clamped to `--created`, else `SOURCE_DATE_EPOCH`, when set.
fn normalize_options(opts: &ImportOptions) -> Result<Option<NormalizeOptions>> {
    if !opts.normalize && opts.strip_components == 0 {
        return Ok(None);
    }
    let clamp_mtime = match (&opts.created, &opts.source_date_epoch) {
        (Some(c), _) => Some(
            chrono::DateTime::parse_from_rfc3339(c)
                .map_err(|e| Error::Usage(format!("--created {c:?}: {e}")))?
                .timestamp(),
        ),
        (None, Some(s)) => Some(source_date_epoch(s)?),
        (None, None) => None,
    };
    Ok(Some(NormalizeOptions {
        clamp_mtime,
        strip_components: opts.strip_components,
    }))
}

/// The checksums `input` must match: `--expect`, and/or its entries in `--checksums`.
fn expected_checksums(
    input: &InputSource,
    opts: &ImportOptions,
    sums: Option<&Sums<'_>>,
) -> Result<Vec<Expected>> {
    let mut expected = Vec::new();
    if let Some(e) = &opts.expect {
        expected.push(e.clone());
    }
    if let Some(sums) = sums {
        if matches!(input, InputSource::Stdin) {
            return Err(stdin_has_no_name());
        }
        let found = sums
            .expected(&input.base_name())
            .map_err(|source| Error::Checksum {
                input: input.display(),
                source,
            })?;
        expected.extend(found);
    }
    Ok(expected)
}

/// Read one input completely and write its layer blob to a temp file.
///
/// A gzip member a consumer would read differently may come anywhere in the
/// input; if it comes after the layer was begun as the input's own bytes, a
/// file is read again (a URL downloaded again) and re-encoded (standard
/// input cannot be).
fn read_layer(
    layout: &Layout,
    input: &InputSource,
    opts: &ImportOptions,
    tally: &mut PlatformTally,
    expected: &[Expected],
    signature: Option<&InputSignature>,
) -> Result<ReadLayer> {
    let checks = InputChecks {
        expected,
        signature,
    };
    match read_layer_once(layout, input, opts, tally, &checks, None) {
        // A failed attempt added no votes: the tally is merged only on success.
        Err(Error::UnsafeFraming { reason, .. }) if input.can_reread() => {
            read_layer_once(layout, input, opts, tally, &checks, Some(reason))
        }
        r => r,
    }
}

/// What one input's raw bytes are checked against as they stream.
struct InputChecks<'a> {
    expected: &'a [Expected],
    signature: Option<&'a InputSignature>,
}

/// One pass over `input`; `reencode`: the reason its bytes cannot be the layer.
fn read_layer_once(
    layout: &Layout,
    input: &InputSource,
    opts: &ImportOptions,
    tally: &mut PlatformTally,
    checks: &InputChecks<'_>,
    reencode: Option<String>,
) -> Result<ReadLayer> {
    let expected = checks.expected;
    let progress = opts.progress.clone().unwrap_or_default();
    progress.bytes.store(0, Ordering::Relaxed);
    progress.total.store(0, Ordering::Relaxed);
    let opened = input.open(&opts.http)?;
    progress.total.store(opened.len, Ordering::Relaxed);
    // One count of the input read so far: the progress display shows it and
    // decode errors report it as the offset.
    let errors = InputErrors::new(input, layout.root().to_path_buf(), progress.bytes.clone());
    let signature = match checks.signature {
        Some(s) => Some(s.sigs.hasher().map_err(|r| errors.signature(&s.name, r))?),
        None => None,
    };
    let mut raw = HashReader::new(CountReader::new(opened.reader, progress.bytes.clone()));
    let (format, head) = pipeline::sniff(&mut raw, &errors)?;
    let rewrite = opts.normalize || opts.strip_components > 0;
    let mut plan = LayerPlan::new(opts.compression, opts.level, format, errors.name(), rewrite)?;
    let why = reencode.or_else(|| {
        compress::framing::passthrough_problems(format, &head)
            .into_iter()
            .next()
    });
    if let Some(why) = why {
        plan = plan.reencode(&why);
    }
    let sink = Sink::new(
        layout.blob_writer()?,
        plan.passthrough,
        plan.target,
        plan.level,
        opts.threads,
        &errors,
    )?;
    let producer = Producer {
        input: raw,
        head,
        format,
        // liblzma's threaded decoder splits multi-block files (xz -T0, pixz)
        // across threads and decodes single-block files on one.
        decode: DecodeOptions {
            xz_threads: opts.threads.max(1),
            consumer_safe: plan.passthrough,
            zstd_max_window: opts.zstd_max_window,
            ..DecodeOptions::default()
        },
        checksums: (!expected.is_empty()).then(|| MultiHasher::new(expected)),
        normalize: normalize_options(opts)?,
        signature,
    };
    let consumer = Consumer {
        diff: Sha256Counter::new(),
        scanner: TarScanner::new((PlatformObserver::new(), Lint::new())),
        max_size: opts.max_size,
    };
    let (produced, mut consumed, blob) = sink.run(producer, consumer, &errors)?;
    let (platform, lint) = std::mem::take(&mut consumed.observers);
    let findings = lint.into_findings();
    let verdict = Verdict {
        expected,
        signature: checks.signature.zip(opts.keyring.as_ref()),
        source: provenance::source_name(input),
        base_name: input.base_name(),
        strict: opts.strict,
        errors: &errors,
    };
    let mut layer = verdict.judge(produced, consumed, findings, plan, format, blob)?;
    tally.merge(platform.into_tally());
    if let Some(notes) = opened.notes.and_then(|n| n.lock().ok().map(|n| n.clone())) {
        layer.report.warnings.extend(notes);
    }
    Ok(layer)
}

/// What a fully read input must still pass before its layer may be published.
struct Verdict<'a> {
    expected: &'a [Expected],
    /// The input's detached signature and the keyring to check it with.
    signature: Option<(&'a InputSignature, &'a Keyring)>,
    /// [`source_name`] of the input.
    source: String,
    /// [`InputSource::base_name`] of the input.
    base_name: String,
    strict: bool,
    errors: &'a InputErrors,
}

impl Verdict<'_> {
    /// Check the input's checksums and `--strict`, and assemble the layer.
    fn judge(
        &self,
        produced: Produced,
        consumed: Consumed,
        findings: LintFindings,
        plan: LayerPlan,
        format: Compression,
        blob: PendingBlob,
    ) -> Result<ReadLayer> {
        let signatures_verified = self.check_signature(produced.signature)?;
        let mut verified = Vec::new();
        if let Some(computed) = &produced.checksums {
            checksums::check(self.expected, computed).map_err(|e| self.errors.checksum(e))?;
            verified.extend(
                self.expected
                    .iter()
                    .map(|e| format!("{} ({})", e.algorithm, e.source)),
            );
        }
        let problems = findings.strict_violations();
        if self.strict && !problems.is_empty() {
            return Err(self.errors.strict(problems));
        }
        let summary = consumed.summary;
        let mut warnings = summary.warnings;
        let mut notes = summary.notes;
        // With --normalize, what the input itself looked like.
        if let Some(input) = produced.normalized {
            warnings.extend(input.warnings);
            notes.extend(input.notes);
        }
        warnings.extend(plan.warning);
        warnings.extend(findings.warnings());
        Ok(ReadLayer {
            report: LayerReport {
                input: InputReport {
                    name: self.errors.name().to_string(),
                    compression: format,
                    blob: produced.input,
                },
                layer: Layer {
                    encoding: plan.target,
                    blob: blob.blob().clone(),
                    diff_id: consumed.diff_id,
                },
                entries: summary.entries,
                passthrough: plan.passthrough,
                checksums_verified: verified,
                signatures_verified,
                source: self.source.clone(),
                warnings,
                notes,
            },
            blob,
            base_name: self.base_name.clone(),
            newest_mtime: summary.newest_mtime,
        })
    }

    /// Checks the input's detached signature over the bytes that streamed.
    fn check_signature(&self, hashed: Option<SignatureHasher>) -> Result<Vec<VerifiedSignature>> {
        let (Some((sig, keyring)), Some(hashed)) = (self.signature, hashed) else {
            return Ok(Vec::new());
        };
        let v = hashed
            .finish(keyring)
            .map_err(|r| self.errors.signature(&sig.name, r))?;
        Ok(vec![sig.verified(self.errors.name(), &v)])
    }
}
