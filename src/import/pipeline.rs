//! One input, one pass: a producer thread reads and decodes, a consumer
//! hashes, scans and encodes the very same chunks.
//!
//! ```text
//!  producer (decode thread)                          consumer
//!  input ─ count ─ sha256 ─┬─ tap: checksums,              ┌─ sha256 (DiffID)
//!                          │  signature, raw sink          │
//!                          └─ decoder ── chunks ──────────▶├─ tar scanner (+observers)
//!                              bounded queue, recycled     └─ decoded sink
//! ```
//! With `--normalize` the producer scans the decoded input itself and
//! sends the canonical rewrite instead (`send_normalized`); the consumer
//! is the same, and its scanner re-checks our output.
//! The [`Sink`] decides where the layer blob comes from: the raw input
//! (passthrough, written by the tap) or the encoder (fed by the consumer).
//! Either way exactly one blob comes out.

use std::io::{self, Cursor, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::input::InputErrors;
use crate::checksums::{Algorithm, MultiHasher};
use crate::compress::{self, Compression, DecodeOptions, Decoder, Encoder, LayerEncoding, framing};
use crate::digest::Blob;
use crate::error::{PathErrors, Result};
use crate::hashing::{CountReader, HashReader, Sha256Counter, TapReader};
use crate::layout::{BlobWriter, PendingBlob};
use crate::lint::Lint;
use crate::normalize::{NormalizeOptions, Rewriter};
use crate::platform::PlatformObserver;
use crate::sbom::PackageScan;
use crate::signature::SignatureHasher;
use crate::tarscan::{Policy, TarScanner, TarSummary};

/// Size of the chunks passed from the decoder to the consumer.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the threads: memory stays bounded whatever the input size.
const QUEUE: usize = 8;

/// The raw input as the producer reads it: counted (progress, error
/// offsets), hashed (the input's digest).
pub(crate) type RawInput = HashReader<CountReader<PathErrors<Box<dyn Read + Send>>>>;

/// The decode side: the input, its first bytes (already read to sniff the
/// format, replayed to the decoder), and the checksums it must match.
pub(crate) struct Producer {
    pub(crate) input: RawInput,
    pub(crate) head: Vec<u8>,
    pub(crate) format: Compression,
    pub(crate) decode: DecodeOptions,
    pub(crate) checksums: Option<MultiHasher>,
    /// Rewrite the archive canonically before it is hashed (`--normalize`).
    pub(crate) normalize: Option<NormalizeOptions>,
    /// The input's detached signature(s), hashed as the bytes pass.
    pub(crate) signature: Option<SignatureHasher>,
}

/// What the producer knows once the input is exhausted.
pub(crate) struct Produced {
    /// Digest and size of the input as given.
    pub(crate) input: Blob,
    /// Digests of the input for `--expect`/`--checksums`.
    pub(crate) checksums: Option<Vec<(Algorithm, String)>>,
    /// With `--normalize`: what the scan of the input (before the rewrite) found.
    pub(crate) normalized: Option<TarSummary>,
    /// The signature hashes over the whole input, still to be checked.
    pub(crate) signature: Option<SignatureHasher>,
}

/// What watches the entries as they pass: the platform vote and the lint.
pub(crate) type Observers = ((PlatformObserver, Lint), Option<PackageScan>);

/// The hashing side: DiffID, tar scanner, and the `--max-size` cap.
pub(crate) struct Consumer {
    pub(crate) diff: Sha256Counter,
    pub(crate) scanner: TarScanner<Observers>,
    pub(crate) max_size: Option<u64>,
}

/// What the consumer knows once the stream ended.
pub(crate) struct Consumed {
    /// sha256 and size of the uncompressed stream.
    pub(crate) diff_id: Blob,
    /// What the tar scanner found.
    pub(crate) summary: TarSummary,
    /// The observers, with what they saw.
    pub(crate) observers: Observers,
}

/// Where the layer blob comes from.
pub(crate) enum Sink {
    /// The input's own bytes, copied by the producer as they pass.
    Passthrough(BlobWriter),
    /// The decoded stream, encoded by the consumer.
    Encode(Encoder<BlobWriter>),
}

impl Sink {
    /// Open the sink a plan asks for.
    pub(crate) fn new(
        writer: BlobWriter,
        passthrough: bool,
        target: LayerEncoding,
        level: Option<i32>,
        threads: u32,
        errors: &InputErrors,
    ) -> Result<Sink> {
        if passthrough {
            return Ok(Sink::Passthrough(writer));
        }
        Encoder::new(target, writer, level, threads)
            .map(Sink::Encode)
            .map_err(|e| errors.layout(e))
    }

    /// Run the pipeline into this sink; returns what both sides learned and the finished blob.
    pub(crate) fn run(
        self,
        producer: Producer,
        consumer: Consumer,
        errors: &InputErrors,
    ) -> Result<(Produced, Consumed, PendingBlob)> {
        match self {
            Sink::Passthrough(w) => {
                let (p, c, w, _) = stream(producer, consumer, w, io::sink(), errors)?;
                Ok((p, c, w.finish()?))
            }
            Sink::Encode(enc) => {
                let (p, c, _, enc) = stream(producer, consumer, io::sink(), enc, errors)?;
                let w = enc.finish().map_err(|e| errors.layout(e))?;
                Ok((p, c, w.finish()?))
            }
        }
    }
}

/// Run producer and consumer side by side: the raw input also goes to
/// `raw`, the decoded stream also to `decoded`; both are handed back.
fn stream<R: Write + Send, D: Write>(
    producer: Producer,
    consumer: Consumer,
    raw: R,
    mut decoded: D,
    errors: &InputErrors,
) -> Result<(Produced, Consumed, R, D)> {
    let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
    // Chunks go back to the producer once consumed, so the steady state
    // allocates (and zero-fills) nothing.
    let (free_tx, free_rx) = sync_channel::<Vec<u8>>(QUEUE + 2);
    std::thread::scope(|s| {
        let decoder = s.spawn(|| producer.run(raw, tx, free_rx, errors));
        let consumed = consumer.run(&rx, &free_tx, &mut decoded, errors);
        // Stop the producer promptly if we failed.
        drop(rx);
        let produced = decoder
            .join()
            .unwrap_or_else(|_| Err(errors.pipeline("the decoder thread failed")));
        // A decode error is the root cause of everything after it; the
        // producer only stops early (None) because the consumer failed.
        match (produced?, consumed) {
            (Some((p, raw)), Ok(c)) => Ok((p, c, raw, decoded)),
            (_, Err(e)) => Err(e),
            (None, Ok(_)) => {
                Err(errors.pipeline("the decoder stopped before the end of the input"))
            }
        }
    })
}

/// What the raw input is copied into on the producer side, as it passes.
struct Tap<W> {
    raw: W,
    checksums: Option<MultiHasher>,
    signature: Option<SignatureHasher>,
}

impl<W: Write> Write for Tap<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(h) = self.checksums.as_mut() {
            h.update(buf);
        }
        if let Some(h) = self.signature.as_mut() {
            h.update(buf);
        }
        self.raw.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.raw.flush()
    }
}

impl Producer {
    /// Decode the whole input into chunks on `tx`. `Ok(None)`: the consumer
    /// hung up (its error is the one to report).
    fn run<W: Write>(
        self,
        raw: W,
        tx: SyncSender<Vec<u8>>,
        free: Receiver<Vec<u8>>,
        errors: &InputErrors,
    ) -> Result<Option<(Produced, W)>> {
        let format = self.format;
        let replay = Cursor::new(self.head).chain(self.input);
        let tap = Tap {
            raw,
            checksums: self.checksums,
            signature: self.signature,
        };
        let mut dec = Decoder::new(format, TapReader::new(replay, tap), self.decode)
            .map_err(|e| errors.decode(format, e))?;
        let sent = match self.normalize {
            None => send_decoded(&mut dec, &tx, &free, format, errors)?,
            Some(opts) => send_normalized(&mut dec, &tx, &free, format, opts, errors)?,
        };
        let Some(normalized) = sent else {
            // The consumer hung up: its error is the one to report.
            return Ok(None);
        };
        drop(tx);
        let tapped = dec.into_inner().map_err(|e| errors.decode(format, e))?;
        let (mut replay, tap) = tapped.finish();
        // The decoder said "end": make sure nothing at all follows.
        let mut probe = [0u8; 1];
        if replay
            .read(&mut probe)
            .map_err(|e| errors.decode(format, e))?
            != 0
        {
            return Err(errors.trailing(format));
        }
        let (_, input) = replay.into_inner().1.finish();
        let produced = Produced {
            input,
            checksums: tap.checksums.map(MultiHasher::finish),
            normalized,
            signature: tap.signature,
        };
        Ok(Some((produced, tap.raw)))
    }
}

/// The decoded stream as it is, in chunks. `Ok(None)`: the consumer hung up;
/// `Ok(Some(None))`: all sent.
fn send_decoded(
    dec: &mut impl Read,
    tx: &SyncSender<Vec<u8>>,
    free: &Receiver<Vec<u8>>,
    format: Compression,
    errors: &InputErrors,
) -> Result<Option<Option<TarSummary>>> {
    loop {
        let buf = fill_chunk(dec, free.try_recv().unwrap_or_default())
            .map_err(|e| errors.decode(format, e))?;
        if buf.is_empty() {
            return Ok(Some(None));
        }
        if tx.send(buf).is_err() {
            return Ok(None);
        }
    }
}

/// The decoded stream rewritten canonically, in chunks: the input is
/// scanned as it decodes and the rewriter writes into the chunks. Its
/// errors are the input's (tar refusals at input offsets).
fn send_normalized(
    dec: &mut impl Read,
    tx: &SyncSender<Vec<u8>>,
    free: &Receiver<Vec<u8>>,
    format: Compression,
    opts: NormalizeOptions,
    errors: &InputErrors,
) -> Result<Option<Option<TarSummary>>> {
    let mut sink = ChunkSink {
        tx,
        free,
        buf: Vec::new(),
        hung_up: false,
    };
    let mut scanner = TarScanner::with_policy(Rewriter::new(&mut sink, opts), Policy::Normalize);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match dec.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(errors.decode(format, e)),
        };
        let fed = scanner.feed(&buf[..n]).map_err(|e| errors.tar(e));
        if let Some(e) = scanner.observer_mut().take_error() {
            return rewrite_failed(e, scanner.offset(), errors);
        }
        fed?;
    }
    let end = scanner.offset();
    let (summary, rewriter) = scanner.finish().map_err(|e| errors.tar(e))?;
    let sink = match rewriter.finish() {
        Ok(sink) => sink,
        Err(e) => return rewrite_failed(e, end, errors),
    };
    if !sink.flush_chunk() {
        return Ok(None);
    }
    Ok(Some(Some(summary)))
}

/// The rewrite stopped: the consumer hung up, or an entry cannot be rewritten.
fn rewrite_failed(
    e: io::Error,
    offset: u64,
    errors: &InputErrors,
) -> Result<Option<Option<TarSummary>>> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return Ok(None);
    }
    Err(errors.tar(crate::tarscan::TarError {
        offset,
        reason: e.to_string(),
    }))
}

/// Collects written bytes into chunks for the consumer.
struct ChunkSink<'a> {
    tx: &'a SyncSender<Vec<u8>>,
    free: &'a Receiver<Vec<u8>>,
    buf: Vec<u8>,
    hung_up: bool,
}

impl ChunkSink<'_> {
    /// Send what is buffered; false if the consumer hung up.
    fn flush_chunk(&mut self) -> bool {
        if self.buf.is_empty() {
            return !self.hung_up;
        }
        let mut next = self.free.try_recv().unwrap_or_default();
        next.clear();
        let full = std::mem::replace(&mut self.buf, next);
        if self.tx.send(full).is_err() {
            self.hung_up = true;
        }
        !self.hung_up
    }
}

impl Write for ChunkSink<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.hung_up {
            return Err(io::Error::from(io::ErrorKind::BrokenPipe));
        }
        let n = (CHUNK - self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK && !self.flush_chunk() {
            return Err(io::Error::from(io::ErrorKind::BrokenPipe));
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Fill `buf` with up to one chunk from `dec`; empty at the end. Whole
/// chunks mean fewer, larger writes on the consumer side.
fn fill_chunk(dec: &mut impl Read, mut buf: Vec<u8>) -> io::Result<Vec<u8>> {
    buf.resize(CHUNK, 0);
    let mut filled = 0;
    while filled < CHUNK {
        match dec.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

impl Consumer {
    /// Feed every chunk to the DiffID, the scanner and `decoded`.
    fn run(
        mut self,
        rx: &Receiver<Vec<u8>>,
        free: &SyncSender<Vec<u8>>,
        decoded: &mut impl Write,
        errors: &InputErrors,
    ) -> Result<Consumed> {
        for chunk in rx.iter() {
            self.diff.update(&chunk);
            if let Some(limit) = self.max_size
                && self.diff.size() > limit
            {
                return Err(errors.too_large(limit));
            }
            self.scanner.feed(&chunk).map_err(|e| errors.tar(e))?;
            decoded.write_all(&chunk).map_err(|e| errors.layout(e))?;
            // A full return queue just means the producer has enough spares.
            let _ = free.try_send(chunk);
        }
        let (summary, observers) = self.scanner.finish().map_err(|e| errors.tar(e))?;
        Ok(Consumed {
            diff_id: self.diff.finish(),
            summary,
            observers,
        })
    }
}

/// Detect the format of `input` from its first bytes, which stay in its hash
/// and are handed back to be replayed to the decoder.
pub(crate) fn sniff(input: &mut RawInput, errors: &InputErrors) -> Result<(Compression, Vec<u8>)> {
    let mut head = Vec::with_capacity(compress::SNIFF_LEN);
    input
        .take(compress::SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| errors.read(e))?;
    if head.is_empty() {
        return Err(errors.empty());
    }
    let format = compress::detect(&head).ok_or_else(|| errors.unknown_format(&head))?;
    // The whole first gzip header, to judge it before choosing passthrough.
    while format == Compression::Gzip && !framing::gzip_head_complete(&head) {
        let want = framing::MAX_GZIP_HEADER - head.len();
        let got = (&mut *input)
            .take(want as u64)
            .read_to_end(&mut head)
            .map_err(|e| errors.read(e))?;
        if got == 0 {
            break;
        }
    }
    Ok((format, head))
}
