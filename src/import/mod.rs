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
//! - `provenance`: signature policy, and where each layer came from as
//!   manifest annotations;
//! - `read`: one input's pass, checked and judged into its layer;
//! - `multi`: `--index`, one image per input and an image index of them;
//! - here: the options, the one entry point ([`import()`]), the image (config, manifest) and the publish, which happens only
//!   after every input was read to its end and found sound.

mod attest;
mod choose;
mod input;
mod jobs;
mod multi;
mod pipeline;
mod plan;
mod progress;
mod provenance;
mod read;
mod rules;
mod target;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::report::IndexReport;
pub use input::{InputSource, refuse_unread_scheme};
pub use jobs::default_jobs;
pub use plan::LayerCompression;
pub use progress::{InputProgress, Progress};
pub use provenance::{ANNOTATION_PREFIX, layer_annotation, source_name};

use crate::change;
use crate::checksums::Expected;
use crate::compress::DecodeOptions;
use crate::digest::Blob;
use crate::error::{Error, Result};
use crate::fetch::HttpOptions;
use crate::image::{self, History, ImageMeta, Layer, Platform};
use crate::layout::{IndexChange, Layout, PendingBlob};
use crate::naming::{parse_repository, validate_import_tag};
use crate::output::Output;
use crate::platform::PlatformTally;
use crate::report::{CreatedSource, ImportReport, LayerReport, OutputFormat, Report};
use crate::signature::Keyring;
use choose::decide_platform;
use oci_spec::image::MediaType;
use provenance::{InputSignature, LayerOrigin, Sums};
use read::{expected_checksums, read_layer, source_date_epoch};
pub use target::check_output;
pub(crate) use target::reference;
use target::{archive_guard, named};

/// Everything an import needs besides its inputs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ImportOptions {
    /// Where the image goes: a layout directory, an archive file or standard output.
    pub output: Output,
    /// `--index`: each input its own single-layer image, for the platform
    /// found in it, and the tag naming an image index of them.
    pub index: bool,
    /// `--sbom`: attach an SPDX SBOM of the rootfs's packages as an in-toto
    /// attestation (Docker's attestation storage).
    pub sbom: bool,
    /// `--provenance`: attach SLSA v1 provenance as an in-toto attestation.
    pub provenance: bool,
    /// Ref name for the new manifest: the tag of the image's name.
    pub tag: String,
    /// The image's repository (`-t NAME:TAG`'s NAME: `x`, `ns/x`,
    /// `host:5000/ns/x`), written fully qualified in
    /// `io.containerd.image.name` and Docker's `manifest.json`; `None`:
    /// the first input's base name ([`crate::naming::default_repository`]).
    pub repository: Option<String>,
    /// `--docker-platform OS/ARCH[/VARIANT]`: the platform an `--index`
    /// archive's `manifest.json` tags for `docker load`; `None`: the
    /// platform of this machine.
    pub docker_platform: Option<String>,
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
    /// `--jobs N`: inputs read at once; `None`: [`default_jobs`].
    pub jobs: Option<usize>,
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
    /// `--force`: an archive output may replace an existing file that is
    /// not an OCI archive (never a file this import reads).
    pub force: bool,
    /// Further local files this import reads (the `--keyring` files), each
    /// with what it is ("a --keyring file"): an archive output never
    /// replaces them, as it never replaces an input, the checksum file or a
    /// signature file.
    pub read_files: Vec<(PathBuf, String)>,
}

impl ImportOptions {
    /// Defaults for writing into `output` (a path is a layout directory).
    pub fn new(output: impl Into<Output>) -> Self {
        Self {
            output: output.into(),
            index: false,
            sbom: false,
            provenance: false,
            tag: "latest".into(),
            repository: None,
            docker_platform: None,
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
            jobs: None,
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
            force: false,
            read_files: Vec::new(),
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
    /// With `--sbom`: the packages its databases record.
    inventory: Option<crate::sbom::Inventory>,
    /// The digests it was checked against: (algorithm, their source).
    checked: Vec<(String, String)>,
}

/// Refuse what can be refused before anything is read or written.
fn check_request(inputs: &[InputSource], opts: &ImportOptions) -> Result<()> {
    if inputs.is_empty() {
        return Err(Error::Usage("no input given".into()));
    }
    validate_import_tag(&opts.tag).map_err(Error::Usage)?;
    if let Some(r) = &opts.repository {
        parse_repository(r).map_err(|e| Error::Usage(format!("--tag: {e}")))?;
    }
    crate::docker::check_platform_option(
        opts.docker_platform.as_deref(),
        opts.index,
        &opts.output,
    )?;
    if opts.zstd_max_window == 0 {
        return Err(Error::Usage(
            "--zstd-max-window 0: no zstd frame has a window of 0 bytes; give the largest window to decode (e.g. 128M)".into(),
        ));
    }
    plan::check_level(opts.compression, opts.level)?;
    if opts.expect.is_some() && inputs.len() > 1 {
        return Err(Error::Usage(
            "--expect applies to a single input; use --checksums for several".into(),
        ));
    }
    if opts.checksum_file.is_some() && inputs.iter().any(|i| matches!(i, InputSource::Stdin)) {
        return Err(stdin_has_no_name());
    }
    for (flag, value) in [
        ("--arch", &opts.arch),
        ("--os", &opts.os),
        ("--variant", &opts.variant),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(Error::Usage(format!(
                "{flag} is empty, which image-index.md's platform object does not allow (a name from its GOOS/GOARCH table and variant list, e.g. --arch amd64, --os linux, --variant v8): give one, or leave the flag out to detect it"
            )));
        }
    }
    rules::check_platform_flags(opts)?;
    rules::check_source_date_epoch(opts)?;
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
    let named = named(inputs, opts);
    let opts = &named;
    // Where an archive goes is judged before any input is read.
    check_output(inputs, opts)?;
    let guard = archive_guard(inputs, opts);
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
            multi::index_into(&layout, inputs, opts, &config, &checks)
                .map(|r| Report::Index(Box::new(r)))
        } else {
            import_into(&layout, inputs, opts, config.clone(), &checks)
                .map(|r| Report::Image(Box::new(r)))
        };
        let written = written.and_then(|mut report| {
            if !matches!(opts.output, Output::Layout(_)) {
                crate::docker::choose_platform(&mut report, opts.docker_platform.as_deref())?;
                crate::docker::zstd_warning(&mut report);
            }
            Ok(report)
        });
        if written.is_err() {
            layout.abandon();
        }
        written
    };
    let mut report = match &opts.output {
        Output::Layout(dir) => write(dir)?,
        archive => crate::archive::via_archive(archive, &guard, write)?,
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
    /// names it), checked against its expected digests and its signature,
    /// with the platform votes of its files; a signed checksum file that
    /// vouched for it is recorded. `cancel` stops it when another input failed.
    fn read_input(
        &self,
        layout: &Layout,
        (i, input): (usize, &InputSource),
        count: usize,
        opts: &ImportOptions,
        cancel: &jobs::Cancel,
    ) -> Result<(ReadLayer, PlatformTally)> {
        let verb = match input {
            InputSource::Url(_) => "downloading",
            _ => "reading",
        };
        let shown = Arc::new(InputProgress {
            phase: format!("{verb} {} ({}/{})", input.base_name(), i + 1, count),
            ..InputProgress::default()
        });
        let _in_flight = opts.progress.as_ref().map(|p| p.begin(shown.clone()));
        let (expected, unchecked) = expected_checksums(input, opts, self.sums.as_ref())?;
        let signature = self.signatures.get(i).and_then(Option::as_ref);
        let checks = read::InputChecks {
            expected: &expected,
            signature,
            cancel,
            progress: &shown,
        };
        let mut tally = PlatformTally::new();
        let mut layer = read_layer(layout, input, opts, &mut tally, &checks)?;
        layer.report.warnings.extend(unchecked);
        // Its digest was checked against the signed checksum file.
        if let Some(signed) = self.sums.as_ref().and_then(Sums::signed) {
            layer.report.signatures_verified.push(signed.clone());
        }
        Ok((layer, tally))
    }

    /// Read every input, `opts.jobs` at a time, each with its own votes,
    /// in argument order whatever order they finish in.
    fn read_inputs(
        &self,
        layout: &Layout,
        inputs: &[InputSource],
        opts: &ImportOptions,
    ) -> Result<Vec<(ReadLayer, PlatformTally)>> {
        let jobs = opts.jobs.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            default_jobs(inputs, cores)
        });
        jobs::read_all(inputs.len(), jobs, |i, cancel| {
            self.read_input(layout, (i, &inputs[i]), inputs.len(), opts, cancel)
        })
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
    for (layer, votes) in checks.read_inputs(layout, inputs, opts)? {
        tally.merge(votes);
        layers.push(layer);
    }
    if let Some(p) = &opts.progress {
        p.set_phase("publishing".into());
    }
    let mut warnings = checks.warnings();
    let platform = decide_platform(opts, &tally, &mut warnings)?;
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
    let (mut report, mut blobs) = assemble_image(layout, opts, layers, platform, config, warnings)?;
    let name = reference(opts)?;
    let desc = match &report.attestation {
        // The tag names an index of the image and its attestations.
        Some(a) => {
            let index = attestation_index(&report, a)?;
            let pending = layout.blob_from_bytes(&index)?;
            let blob = pending.blob().clone();
            blobs.push(pending);
            let desc = image::descriptor(MediaType::ImageIndex, &blob, None, Some(&name))?;
            report.index = Some(blob);
            desc
        }
        None => image::index_descriptor(&report.manifest, &name, &report.platform)?,
    };
    let new = report
        .index
        .as_ref()
        .unwrap_or(&report.manifest)
        .digest
        .clone();
    layout.publish(blobs)?.apply_with(|_, current| {
        report.retagged_from = current.moved_from(&opts.tag, &new);
        Ok(with_evidence(IndexChange::tag(&opts.tag, desc), &report))
    })?;
    Ok(report)
}

/// The image index of one image and its attestation manifest `attestation`.
fn attestation_index(report: &ImportReport, attestation: &Blob) -> Result<Vec<u8>> {
    let entries = [
        image::descriptor(
            MediaType::ImageManifest,
            &report.manifest,
            Some(&report.platform),
            None,
        )?,
        crate::attest::index_entry(attestation, &report.manifest),
    ];
    multi::index_bytes(entries.to_vec(), None)
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
    let (config_blob, manifest_blob) =
        image_documents(layout, opts, &layers, &platform, config, &created)?;
    let config = config_blob.blob().clone();
    let manifest = manifest_blob.blob().clone();
    let (evidence, evidence_blobs) = evidence_blobs(layout, &manifest, &layers)?;
    let name = reference(opts)?;
    let subject = crate::attest::Subject {
        manifest: &manifest,
        name: &name,
        platform: &platform,
        created: &created,
    };
    let (attestation, attestation_blobs) =
        attest::attestation_blobs(layout, opts, &subject, &layers)?;
    if let (Some(_), Output::Layout(dir), false) = (&attestation, &opts.output, opts.index) {
        warnings.push(attest::umoci_warning(&dir.display().to_string(), &opts.tag));
    }

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
    blobs.extend(evidence_blobs);
    blobs.extend(attestation_blobs);
    let report = ImportReport {
        layout: opts.output.display(),
        format: OutputFormat::Oci,
        tag: opts.tag.clone(),
        name: name.to_string(),
        manifest,
        config,
        platform,
        created,
        created_source,
        layers: reports,
        warnings,
        retagged_from: None,
        evidence,
        attestation,
        index: None,
    };
    Ok((report, blobs))
}

/// The image's config and manifest (judged as `verify` judges them) as
/// pending blobs.
fn image_documents(
    layout: &Layout,
    opts: &ImportOptions,
    layers: &[ReadLayer],
    platform: &Platform,
    config: oci_spec::image::Config,
    created: &str,
) -> Result<(PendingBlob, PendingBlob)> {
    let history = history(opts, layers);
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
        created: created.to_string(),
        config: Some(config),
        annotations: provenance::annotations(&opts.annotations, &origins),
    };
    let config_blob = layout.blob_from_bytes(&own_document(
        "image config",
        image::config_json(&meta, &image_layers, &history)?,
        |v| {
            crate::spec::config::judge(v, image_layers.len())
                .strict()
                .map(drop)
        },
    )?)?;
    let config_desc = config_blob.blob().clone();
    let manifest = own_document(
        "image manifest",
        image::manifest_json(&config_desc, &image_layers, &meta.annotations)?,
        |v| {
            let kind = crate::spec::media_type::ManifestType::Oci;
            crate::spec::manifest::judge(v, kind).strict().map(drop)
        },
    )?;
    let manifest_blob = layout.blob_from_bytes(&manifest)?;
    Ok((config_blob, manifest_blob))
}

/// One history entry per layer: what made it, and the `--message`.
fn history(opts: &ImportOptions, layers: &[ReadLayer]) -> Vec<History> {
    layers
        .iter()
        .map(|l| History {
            created_by: format!("ociimport {} {}", env!("CARGO_PKG_VERSION"), l.base_name),
            comment: opts.message.clone(),
        })
        .collect()
}

/// The evidence manifest of the signatures verified for `layers`, about the
/// image `manifest`, and its blobs, pending; none when nothing was signed.
fn evidence_blobs(
    layout: &Layout,
    manifest: &Blob,
    layers: &[ReadLayer],
) -> Result<(Option<Blob>, Vec<PendingBlob>)> {
    let sigs: Vec<&[_]> = layers
        .iter()
        .map(|l| l.report.signatures_verified.as_slice())
        .collect();
    let Some(built) = crate::evidence::build(manifest, &sigs)? else {
        return Ok((None, Vec::new()));
    };
    let (blob, blobs) = artifact_blobs(layout, "evidence manifest", built)?;
    Ok((Some(blob), blobs))
}

/// An artifact manifest ours to check (evidence, attestations) and the
/// blobs it names, as pending blobs: its own last.
fn artifact_blobs(
    layout: &Layout,
    what: &'static str,
    built: crate::evidence::Built,
) -> Result<(Blob, Vec<PendingBlob>)> {
    let doc = own_document(what, built.manifest, |v| {
        let kind = crate::spec::media_type::ManifestType::Oci;
        crate::spec::manifest::judge(v, kind).strict().map(drop)
    })?;
    let mut blobs = Vec::new();
    for b in &built.blobs {
        blobs.push(layout.blob_from_bytes(b)?);
    }
    let m = layout.blob_from_bytes(&doc)?;
    let blob = m.blob().clone();
    blobs.push(m);
    Ok((blob, blobs))
}

/// `change` with the image's evidence manifest, if any, untagged about it.
fn with_evidence(change: IndexChange, report: &ImportReport) -> IndexChange {
    match &report.evidence {
        Some(e) => change.with_untagged(
            crate::evidence::index_entry(e),
            report.manifest.digest.as_str(),
        ),
        None => change,
    }
}

/// A document this import made, judged as `verify` judges it: the importer
/// never publishes what its own verify would reject.
fn own_document(
    what: &'static str,
    bytes: Vec<u8>,
    judge: impl Fn(&serde_json::Value) -> std::result::Result<(), String>,
) -> Result<Vec<u8>> {
    let value = serde_json::from_slice(&bytes).map_err(|e| Error::Spec {
        what,
        reason: e.to_string(),
    })?;
    judge(&value).map_err(|reason| Error::Spec { what, reason })?;
    Ok(bytes)
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
        rules::check_change(&config, c)?;
    }
    if !opts.labels.is_empty() {
        let mut labels = config.labels().clone().unwrap_or_default();
        for (k, v) in &opts.labels {
            rules::check_label(k, v)?;
            labels.insert(k.clone(), v.clone());
        }
        config.set_labels(Some(labels));
    }
    change::ensure_default_path(&mut config);
    Ok(config)
}
