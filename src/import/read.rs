//! Reading one input: a single pass through the pipeline, checked against
//! its expected checksums and signature, judged (`Verdict`) into the layer
//! it becomes; and the options that pass derives from the import's.

use std::sync::atomic::Ordering;

use super::input::InputErrors;
use super::jobs::{Cancel, CancelReader};
use super::pipeline::{Consumed, Consumer, Produced, Producer, Sink};
use super::plan::LayerPlan;
use super::provenance::{InputSignature, Sums};
use super::{
    ImportOptions, InputProgress, InputSource, ReadLayer, pipeline, provenance, stdin_has_no_name,
};
use crate::checksums::{self, Expected, MultiHasher};
use crate::compress::{self, Compression, DecodeOptions};
use crate::error::{Error, Result};
use crate::hashing::{CountReader, HashReader, Sha256Counter};
use crate::image::Layer;
use crate::layout::{Layout, PendingBlob};
use crate::lint::{Lint, LintFindings};
use crate::normalize::NormalizeOptions;
use crate::platform::{PlatformObserver, PlatformTally};
use crate::report::VerifiedSignature;
use crate::report::{InputReport, LayerReport};
use crate::sbom::PackageScan;
use crate::signature::{Keyring, SignatureHasher};
use crate::tarscan::{TarError, TarScanner};

/// `SOURCE_DATE_EPOCH`'s seconds.
pub(super) fn source_date_epoch(s: &str) -> Result<i64> {
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

/// The checksums `input` must match: `--expect`, and/or its entries in
/// `--checksums`; and a warning for each algorithm `--checksums` lists for
/// it that cannot be computed, so none is dropped silently.
pub(super) fn expected_checksums(
    input: &InputSource,
    opts: &ImportOptions,
    sums: Option<&Sums<'_>>,
) -> Result<(Vec<Expected>, Vec<String>)> {
    let mut expected = Vec::new();
    let mut warnings = Vec::new();
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
        expected.extend(found.expected);
        let listed = match found.unchecked.as_slice() {
            [] => None,
            [one] => Some(format!("a {one} digest, an algorithm")),
            many => Some(format!("{} digests, algorithms", many.join(", "))),
        };
        if let Some(listed) = listed {
            warnings.push(format!(
                "{} also lists {listed} ociimport cannot compute: not checked",
                sums.name()
            ));
        }
    }
    Ok((expected, warnings))
}

/// Read one input completely and write its layer blob to a temp file.
///
/// A gzip member a consumer would read differently may come anywhere in the
/// input; if it comes after the layer was begun as the input's own bytes, a
/// file is read again (a URL downloaded again) and re-encoded (standard
/// input cannot be).
pub(super) fn read_layer(
    layout: &Layout,
    input: &InputSource,
    opts: &ImportOptions,
    tally: &mut PlatformTally,
    checks: &InputChecks<'_>,
) -> Result<ReadLayer> {
    match read_layer_once(layout, input, opts, tally, checks, None) {
        // A failed attempt added no votes: the tally is merged only on success.
        Err(Error::UnsafeFraming { reason, .. }) if input.can_reread() => {
            read_layer_once(layout, input, opts, tally, checks, Some(reason))
        }
        r => r,
    }
}

/// What one input's raw bytes are checked against as they stream, what
/// stops them, and where their progress shows.
pub(super) struct InputChecks<'a> {
    pub(super) expected: &'a [Expected],
    pub(super) signature: Option<&'a InputSignature>,
    /// Set when another input of the import failed.
    pub(super) cancel: &'a Cancel,
    /// This input's progress; its byte count is also the offset errors name.
    pub(super) progress: &'a InputProgress,
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
    let progress = checks.progress;
    progress.bytes.store(0, Ordering::Relaxed);
    progress.total.store(0, Ordering::Relaxed);
    if checks.cancel.stops() {
        return Err(cancelled(input));
    }
    let opened = input.open(&stoppable(&opts.http, checks.cancel))?;
    progress.total.store(opened.len, Ordering::Relaxed);
    // One count of the input read so far: the progress display shows it and
    // decode errors report it as the offset.
    let errors = InputErrors::new(input, layout.root().to_path_buf(), progress.bytes.clone());
    let signature = match checks.signature {
        Some(s) => Some(s.sigs.hasher().map_err(|r| errors.signature(&s.name, r))?),
        None => None,
    };
    // Inside the name marking: a cancelled read is a read error of this input.
    let mut reader = opened.reader;
    reader.inner = Box::new(CancelReader::new(reader.inner, checks.cancel.clone()));
    let mut raw = HashReader::new(CountReader::new(reader, progress.bytes.clone()));
    let (format, head) = pipeline::sniff(&mut raw, &errors)?;
    let plan = layer_plan(opts, format, &head, errors.name(), reencode)?;
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
        scanner: TarScanner::new((
            (PlatformObserver::new(), Lint::new()),
            opts.sbom.then(PackageScan::new),
        )),
        max_size: opts.max_size,
    };
    let (produced, mut consumed, blob) = sink.run(producer, consumer, &errors)?;
    let ((platform, lint), packages) = std::mem::take(&mut consumed.observers);
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
    if let Some(inv) = packages.map(PackageScan::finish) {
        // A package database that could not be read is said, naming it.
        layer.report.warnings.extend(inv.warnings.iter().cloned());
        layer.inventory = Some(inv);
    }
    tally.merge(platform.into_tally());
    if let Some(notes) = opened.notes.and_then(|n| n.lock().ok().map(|n| n.clone())) {
        layer.report.warnings.extend(notes);
    }
    Ok(layer)
}

/// `http` whose retries and their waits end as soon as another input fails.
fn stoppable(http: &crate::fetch::HttpOptions, cancel: &Cancel) -> crate::fetch::HttpOptions {
    let cancel = cancel.clone();
    crate::fetch::HttpOptions {
        stop: crate::fetch::Stop::new(move || cancel.stops()),
        ..http.clone()
    }
}

/// The error of an input that never began because another had failed:
/// never reported, as the first failure is.
fn cancelled(input: &InputSource) -> Error {
    Error::Io {
        path: input.path_for_errors(),
        source: std::io::Error::other("cancelled: another input failed"),
    }
}

/// What `input`'s layer will be, given its format and first bytes;
/// `reencode`: why its bytes cannot be the layer, found on an earlier pass.
fn layer_plan(
    opts: &ImportOptions,
    format: Compression,
    head: &[u8],
    name: &str,
    reencode: Option<String>,
) -> Result<LayerPlan> {
    let rewrite = opts.normalize || opts.strip_components > 0;
    let plan = LayerPlan::new(opts.compression, opts.level, format, name, rewrite)?;
    let why = reencode.or_else(|| {
        compress::framing::passthrough_problems(format, head)
            .into_iter()
            .next()
    });
    Ok(match why {
        Some(why) => plan.reencode(&why),
        None => plan,
    })
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
        let seen = produced.normalized.as_ref().unwrap_or(&consumed.summary);
        if format == Compression::None && !seen.end_marker {
            // A compressed input's own end proves it whole; a plain tar cut
            // at an entry boundary (a pipe or download broken off) looks
            // exactly like one that lacks the marker.
            return Err(self.errors.tar(TarError {
                offset: produced.input.size,
                reason: "the uncompressed tar ends without its end-of-archive marker, as one cut off in transit does; fetch it again (or append two 512-byte zero blocks if it really ends there)".into(),
            }));
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
            inventory: None,
            checked: self
                .expected
                .iter()
                .map(|e| (e.algorithm.to_string(), e.source.clone()))
                .collect(),
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
