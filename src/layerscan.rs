//! Layer scanning shared by `verify` and `inspect`: one streaming pass over
//! a layer blob measures it, decodes it and reads it as tar.
//!
//! The blob goes file (or archive entry) → [`HashReader`] (blob digest) → [`Decoder`] →
//! DiffID hasher and [`TarScanner`], in constant memory; its digest and size
//! are final only after the file has been drained.

use std::io::{self, Cursor, Read};
use std::path::PathBuf;

use crate::compress::{self, Compression, DecodeOptions, Decoder};
use crate::digest::{Blob, Digest};
use crate::error::{DecodeFailure, Result, mark};
use crate::hashing::{HashReader, Sha256Counter, sha256_of};
use crate::layout::{LayoutFile, Reader};
use crate::tarscan::TarScanner;

/// Read size when streaming a blob.
const CHUNK: usize = 256 * 1024;

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
    /// The `--max-size` the decoded stream outgrew (decoding stopped there).
    pub(crate) over_max_size: Option<u64>,
}

/// What a compression means in a message.
pub(crate) fn what_data(c: Compression) -> &'static str {
    c.info().data
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

type Hashed = HashReader<Marked<LayoutFile>>;

/// Stream the layer blob `digest` of the layout `reader` reads once: hash
/// it, decode it as `expected` (or as what its first bytes are, if they say
/// otherwise), hash the result (DiffID) and scan it as tar, decoding at
/// most `max_size` bytes (`--max-size`: a small layer can decompress to
/// terabytes). `Err` only if the blob cannot be opened.
pub(crate) fn scan_layer(
    reader: &Reader,
    digest: &Digest,
    expected: Option<Compression>,
    max_size: Option<u64>,
) -> Result<LayerScan> {
    let mut hashed = HashReader::new(Marked {
        inner: reader.open_blob(digest)?,
        path: reader.blob_path(digest),
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
        over_max_size: None,
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
    Ok(decode(
        scan,
        format,
        head,
        hashed,
        (reader, digest),
        max_size,
    ))
}

/// Decode the blob (its first bytes in `head`, the rest in `hashed`) as
/// `format`, then drain what the decoder left.
fn decode(
    mut scan: LayerScan,
    format: Compression,
    head: Vec<u8>,
    hashed: Hashed,
    (reader, digest): (&Reader, &Digest),
    max_size: Option<u64>,
) -> LayerScan {
    let zstd_head = head.get(..32).unwrap_or(&head).to_vec();
    let replay = Cursor::new(head).chain(hashed);
    let mut dec = match Decoder::new(format, replay, DecodeOptions::default()) {
        Ok(d) => d,
        Err(e) => {
            scan.problems
                .push(format!("cannot start the {format} decoder: {e}"));
            // Decoder::new only fails before reading; the reader is lost with
            // it, so the blob is hashed again from the start.
            return rehash(scan, reader, digest);
        }
    };
    let mut diff = Sha256Counter::new();
    let mut scanner = TarScanner::new(());
    let tar_err = match pump(&mut dec, &mut diff, &mut scanner, format, max_size) {
        Ok(tar_err) => Some(tar_err),
        Err(problem) => {
            scan.problems.push(problem);
            scan.over_max_size = max_size.filter(|m| diff.size() > *m);
            None
        }
    };
    for p in dec.framing_problems(&zstd_head) {
        scan.problems
            .push(format!("consumers read this layer differently: {p}"));
    }
    let (mut rest, mut hashed) = match dec.into_inner() {
        Ok(inner) => inner.into_inner(),
        Err(e) => {
            scan.problems.push(format!("{}: {e}", what_data(format)));
            return rehash(scan, reader, digest);
        }
    };
    // Drain what the decoder left, so the blob digest covers the whole file.
    let left_in_head = io::copy(&mut rest, &mut io::sink()).unwrap_or(0);
    let extra = match io::copy(&mut hashed, &mut io::sink()) {
        Ok(n) => n + left_in_head,
        Err(e) => {
            scan.problems.push(format!("cannot read the blob: {e}"));
            scan.blob = hashed.finish().1;
            return scan;
        }
    };
    if let Some(tar_err) = tar_err {
        if extra > 0 {
            scan.problems.push(format!(
                "{extra} bytes follow the end of the {format} stream"
            ));
        }
        scan.diff_id = Some(diff.finish());
        judge_tar(&mut scan, tar_err, scanner);
    }
    finish_hash(scan, hashed)
}

/// Feed the decoded stream to the DiffID hasher and the tar scanner until
/// its end. `Ok` holds the tar scanner's first error, if any; `Err` says
/// why the stream did not decode to its end.
fn pump<R: Read>(
    dec: &mut Decoder<R>,
    diff: &mut Sha256Counter,
    scanner: &mut TarScanner<()>,
    format: Compression,
    max_size: Option<u64>,
) -> std::result::Result<Option<crate::tarscan::TarError>, String> {
    let mut tar_err = None;
    let mut buf = vec![0u8; CHUNK];
    loop {
        match dec.read(&mut buf) {
            Ok(0) => return Ok(tar_err),
            Ok(n) => {
                diff.update(&buf[..n]);
                if let Some(limit) = max_size
                    && diff.size() > limit
                {
                    return Err(over_max_size(limit));
                }
                if tar_err.is_none()
                    && let Err(e) = scanner.feed(&buf[..n])
                {
                    tar_err = Some(e);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(match DecodeFailure::of(&e) {
                    DecodeFailure::Read => format!("cannot read the blob: {e}"),
                    // Not corruption: bytes after the data, a window or
                    // dictionary the decoder was not given.
                    DecodeFailure::TrailingData(t) => format!(
                        "{} ends at byte {}, followed by bytes that are not {format}",
                        what_data(format),
                        t.offset
                    ),
                    DecodeFailure::Zstd(_) | DecodeFailure::XzMemLimit(_) => e.to_string(),
                    DecodeFailure::UnsafeFraming(_) | DecodeFailure::Corrupt => format!(
                        "{} is corrupt or truncated (after {} decoded bytes): {e}",
                        what_data(format),
                        diff.size()
                    ),
                });
            }
        }
    }
}

/// The problem of a layer that decodes to more than `--max-size`.
pub(crate) fn over_max_size(limit: u64) -> String {
    format!(
        "decompresses to more than --max-size {limit} bytes (decoding stopped there); raise --max-size if the layer is genuine"
    )
}

/// Whether the decoded stream was a complete tar archive.
fn judge_tar(
    scan: &mut LayerScan,
    tar_err: Option<crate::tarscan::TarError>,
    scanner: TarScanner<()>,
) {
    let e = match tar_err {
        Some(e) => e,
        None => match scanner.finish() {
            Ok((summary, _)) => {
                scan.entries = Some(summary.entries);
                scan.warnings = summary.warnings;
                return;
            }
            Err(e) => e,
        },
    };
    // An entry refused by the consumer-safety rules is whole, but unusable.
    let what = if e.reason.starts_with("entry '") {
        "a consumer cannot unpack this layer"
    } else {
        "the decompressed stream is not a complete tar archive"
    };
    scan.problems.push(format!(
        "{what}: {} (at uncompressed byte {})",
        e.reason, e.offset
    ));
}

/// Drain the rest of the blob through its hasher and record the digest.
fn finish_hash<R: Read>(mut scan: LayerScan, mut hashed: HashReader<R>) -> LayerScan {
    if let Err(e) = io::copy(&mut hashed, &mut io::sink()) {
        scan.problems.push(format!("cannot read the blob: {e}"));
    }
    scan.blob = hashed.finish().1;
    scan
}

fn rehash(scan: LayerScan, reader: &Reader, digest: &Digest) -> LayerScan {
    match reader.open_blob(digest) {
        Ok(f) => finish_hash(scan, HashReader::new(f)),
        Err(e) => {
            let mut scan = scan;
            scan.problems.push(format!("cannot read the blob: {e}"));
            scan
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

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
        // One name for every content below: the scan does not judge the digest.
        let reader = Reader::new(dir.path());
        let d = sha256_of(b"any");
        let p = d.blob_path(dir.path());
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, &gz).unwrap();
        let s = scan_layer(&reader, &d, Some(Compression::Gzip), None).unwrap();
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
        let s = scan_layer(&reader, &d, Some(Compression::Gzip), None).unwrap();
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
        let s = scan_layer(&reader, &d, Some(Compression::Gzip), None).unwrap();
        assert_eq!(s.blob.size, junk.len() as u64);
        assert_eq!(s.blob.digest, sha256_of(&junk));
        assert_eq!(
            s.problems,
            [format!(
                "gzip data ends at byte {}, followed by bytes that are not gzip",
                gz.len()
            )]
        );

        // A plain tar cut inside its entry.
        fs::write(&p, &tar[..600]).unwrap();
        let s = scan_layer(&reader, &d, Some(Compression::None), None).unwrap();
        assert!(
            s.problems[0].contains("not a complete tar archive"),
            "{:?}",
            s.problems
        );
        assert_eq!(s.blob.digest, sha256_of(&tar[..600]));
    }

    #[test]
    fn max_size_stops_decoding_a_bomb_and_still_hashes_the_blob() {
        let dir = tempfile::tempdir().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &vec![0u8; 4 << 20]).unwrap();
        let gz = gz.finish().unwrap();
        let reader = Reader::new(dir.path());
        let d = sha256_of(&gz);
        let p = d.blob_path(dir.path());
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, &gz).unwrap();
        let s = scan_layer(&reader, &d, Some(Compression::Gzip), Some(1 << 20)).unwrap();
        assert_eq!(s.problems, [over_max_size(1 << 20)]);
        assert_eq!(s.over_max_size, Some(1 << 20));
        assert!(s.diff_id.is_none());
        assert_eq!(s.blob.digest, d);
        // At or under the limit: decoded (4 MiB of zeros is a valid empty tar).
        let s = scan_layer(&reader, &d, Some(Compression::Gzip), Some(4 << 20)).unwrap();
        assert_eq!(s.over_max_size, None);
        assert_eq!(s.diff_id.map(|d| d.size), Some(4 << 20));
    }
}
