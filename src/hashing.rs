//! Stream adapters that hash or count exactly the bytes that pass through them.
//!
//! Modelled on flate2's `CrcReader`: each adapter wraps a reader or writer,
//! updates its state with `buf[..n]` where `n` is what the inner call really
//! moved, and gives the inner value back with `finish`. Nothing happens on
//! Drop, so a digest is only ever taken from a stream that was finished
//! explicitly.

use std::io::{self, Read, Write};

use sha2::{Digest as _, Sha256};

use crate::digest::{Blob, Digest};

pub(crate) use crate::digest::hex;

/// SHA-256 with a byte count, usable as a `Write` sink.
#[derive(Clone, Default)]
pub(crate) struct Sha256Counter {
    hasher: Sha256,
    size: u64,
}

impl Sha256Counter {
    /// A fresh hasher.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Hash `data`.
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.size += data.len() as u64;
    }

    /// Bytes hashed so far.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// The digest of everything hashed.
    pub(crate) fn finish(self) -> Blob {
        Blob {
            digest: Digest::sha256(&self.hasher.finalize()),
            size: self.size,
        }
    }
}

impl Write for Sha256Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// SHA-256 of a byte slice, as `sha256:<hex>`.
pub(crate) fn sha256_of(data: &[u8]) -> Digest {
    let mut h = Sha256Counter::new();
    h.update(data);
    h.finish().digest
}

/// A reader that hashes the bytes read through it.
pub(crate) struct HashReader<R> {
    inner: R,
    hash: Sha256Counter,
}

impl<R: Read> HashReader<R> {
    /// Wrap `inner`.
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            hash: Sha256Counter::new(),
        }
    }

    /// The inner reader and the digest of what was read.
    pub(crate) fn finish(self) -> (R, Blob) {
        (self.inner, self.hash.finish())
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// A writer that hashes and counts the bytes its inner writer accepted.
pub(crate) struct HashWriter<W> {
    inner: W,
    hash: Sha256Counter,
}

impl<W: Write> HashWriter<W> {
    /// Wrap `inner`.
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            hash: Sha256Counter::new(),
        }
    }

    /// The inner writer and the digest of what was written.
    pub(crate) fn finish(self) -> (W, Blob) {
        (self.inner, self.hash.finish())
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that copies every byte read through it into a `Write` tap.
///
/// Used to hand the raw input to the checksum verifier and, for passthrough
/// layers, to the blob writer, without a second read of the input.
pub(crate) struct TapReader<R, W> {
    inner: R,
    tap: W,
}

impl<R: Read, W: Write> TapReader<R, W> {
    /// Copy what is read from `inner` into `tap`.
    pub(crate) fn new(inner: R, tap: W) -> Self {
        Self { inner, tap }
    }

    /// The inner reader and the tap.
    pub(crate) fn finish(self) -> (R, W) {
        (self.inner, self.tap)
    }
}

impl<R: Read, W: Write> Read for TapReader<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.tap.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// A reader that counts the bytes it passes, publishing the count for a progress display.
pub(crate) struct CountReader<R> {
    inner: R,
    counter: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> CountReader<R> {
    /// Add every byte read to `counter`.
    pub(crate) fn new(inner: R, counter: std::sync::Arc<std::sync::atomic::AtomicU64>) -> Self {
        Self { inner, counter }
    }
}

impl<R: Read> Read for CountReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// A reader that returns at most 1 byte per call, to prove adapters hash `buf[..n]`.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    /// A writer that accepts at most 2 bytes per call.
    struct Sip(Vec<u8>);
    impl Write for Sip {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(2);
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn known_digests() {
        assert_eq!(sha256_of(b"abc"), ABC);
        assert_eq!(sha256_of(b""), EMPTY);
        assert_eq!(hex(&[0x00, 0xff, 0x1a]), "00ff1a");
    }

    #[test]
    fn hash_reader_hashes_only_what_passed() {
        let mut r = HashReader::new(Trickle(b"abc"));
        let mut out = [0u8; 16];
        let mut got = Vec::new();
        loop {
            let n = r.read(&mut out).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&out[..n]);
        }
        let (_, m) = r.finish();
        assert_eq!(m.digest, ABC);
        assert_eq!(m.size, 3);
        assert_eq!(got, b"abc");
    }

    #[test]
    fn hash_writer_hashes_only_what_was_accepted() {
        let mut w = HashWriter::new(Sip(Vec::new()));
        // A single write of 3 bytes only moves 2: the hash must cover exactly those.
        assert_eq!(w.write(b"abc").unwrap(), 2);
        w.write_all(b"c").unwrap();
        let (inner, m) = w.finish();
        assert_eq!(inner.0, b"abc");
        assert_eq!(m.digest, ABC);
        assert_eq!(m.size, 3);
    }

    #[test]
    fn tap_reader_copies_every_byte() {
        let mut t = TapReader::new(Trickle(b"abc"), Sha256Counter::new());
        let mut sink = Vec::new();
        io::copy(&mut t, &mut sink).unwrap();
        let (_, tap) = t.finish();
        assert_eq!(sink, b"abc");
        assert_eq!(tap.finish().digest, ABC);
    }

    #[test]
    fn count_reader_publishes_count() {
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut r = CountReader::new(&b"hello"[..], counter.clone());
        io::copy(&mut r, &mut io::sink()).unwrap();
        assert_eq!(counter.load(std::sync::atomic::Ordering::Relaxed), 5);
    }
}
