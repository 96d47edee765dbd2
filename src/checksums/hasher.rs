//! The input's digests for `--expect` and `--checksums`, computed as its
//! raw bytes stream past.

use std::fmt;
use std::io;

use blake2::Blake2b512;
use md5::Md5;
use sha1::Sha1;
// sha1 and md-5 are RustCrypto's digest 0.10 line, sha2 and blake2 its 0.11.
use sha1::Digest as _;
use sha2::{Digest as _, Sha256, Sha512};

use super::{Algorithm, Expected};

/// Hashes a stream with exactly the algorithms a set of [`Expected`] needs.
///
/// Implements [`io::Write`] (never failing) so it can sit behind a tee/tap
/// adapter on the raw input.
#[derive(Clone, Default)]
pub(crate) struct MultiHasher {
    sha256: Option<Sha256>,
    sha512: Option<Sha512>,
    blake2b512: Option<Blake2b512>,
    sha1: Option<Sha1>,
    md5: Option<Md5>,
}

impl fmt::Debug for MultiHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiHasher")
            .field("algorithms", &self.algorithms())
            .finish()
    }
}

impl MultiHasher {
    /// A hasher for every algorithm that appears in `expected` (each once).
    pub(crate) fn new(expected: &[Expected]) -> Self {
        Self::with_algorithms(expected.iter().map(|e| e.algorithm))
    }

    /// A hasher for the given algorithms (duplicates are hashed once).
    pub(crate) fn with_algorithms(algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        let mut h = Self::default();
        for a in algorithms {
            match a {
                Algorithm::Sha256 => h.sha256 = Some(Sha256::new()),
                Algorithm::Sha512 => h.sha512 = Some(Sha512::new()),
                Algorithm::Blake2b512 => h.blake2b512 = Some(Blake2b512::new()),
                Algorithm::Sha1 => h.sha1 = Some(Sha1::new()),
                Algorithm::Md5 => h.md5 = Some(Md5::new()),
            }
        }
        h
    }

    /// The algorithms being computed, in [`Algorithm::ALL`] order.
    pub(crate) fn algorithms(&self) -> Vec<Algorithm> {
        let mut v = Vec::new();
        if self.sha256.is_some() {
            v.push(Algorithm::Sha256);
        }
        if self.sha512.is_some() {
            v.push(Algorithm::Sha512);
        }
        if self.blake2b512.is_some() {
            v.push(Algorithm::Blake2b512);
        }
        if self.sha1.is_some() {
            v.push(Algorithm::Sha1);
        }
        if self.md5.is_some() {
            v.push(Algorithm::Md5);
        }
        v
    }

    /// Feeds `data` to every enabled algorithm.
    pub(crate) fn update(&mut self, data: &[u8]) {
        if let Some(h) = &mut self.sha256 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha512 {
            h.update(data);
        }
        if let Some(h) = &mut self.blake2b512 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha1 {
            h.update(data);
        }
        if let Some(h) = &mut self.md5 {
            h.update(data);
        }
    }

    /// The digests of everything fed in, as lowercase hex, in [`Algorithm::ALL`] order.
    pub(crate) fn finish(self) -> Vec<(Algorithm, String)> {
        let mut v = Vec::new();
        if let Some(h) = self.sha256 {
            v.push((Algorithm::Sha256, crate::hashing::hex(&h.finalize())));
        }
        if let Some(h) = self.sha512 {
            v.push((Algorithm::Sha512, crate::hashing::hex(&h.finalize())));
        }
        if let Some(h) = self.blake2b512 {
            v.push((Algorithm::Blake2b512, crate::hashing::hex(&h.finalize())));
        }
        if let Some(h) = self.sha1 {
            v.push((Algorithm::Sha1, crate::hashing::hex(&h.finalize())));
        }
        if let Some(h) = self.md5 {
            v.push((Algorithm::Md5, crate::hashing::hex(&h.finalize())));
        }
        v
    }
}

impl io::Write for MultiHasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksums::check;
    use crate::checksums::tests::{
        B2_ABC, B2_EMPTY, SHA256_ABC, SHA256_EMPTY, SHA512_ABC, SHA512_EMPTY, all_of, exp,
    };
    use std::io::Write as _;

    #[test]
    fn known_digests_of_abc_and_empty() {
        assert_eq!(
            all_of(b"abc"),
            vec![
                (Algorithm::Sha256, SHA256_ABC.to_owned()),
                (Algorithm::Sha512, SHA512_ABC.to_owned()),
                (Algorithm::Blake2b512, B2_ABC.to_owned()),
                (
                    Algorithm::Sha1,
                    "a9993e364706816aba3e25717850c26c9cd0d89d".to_owned()
                ),
                (
                    Algorithm::Md5,
                    "900150983cd24fb0d6963f7d28e17f72".to_owned()
                ),
            ]
        );
        assert_eq!(
            all_of(b""),
            vec![
                (Algorithm::Sha256, SHA256_EMPTY.to_owned()),
                (Algorithm::Sha512, SHA512_EMPTY.to_owned()),
                (Algorithm::Blake2b512, B2_EMPTY.to_owned()),
                (
                    Algorithm::Sha1,
                    "da39a3ee5e6b4b0d3255bfef95601890afd80709".to_owned()
                ),
                (
                    Algorithm::Md5,
                    "d41d8cd98f00b204e9800998ecf8427e".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn hasher_computes_only_what_is_needed_and_streams_via_write() {
        let expected = [
            exp(Algorithm::Blake2b512, B2_ABC, "x"),
            exp(Algorithm::Blake2b512, B2_ABC, "y"),
        ];
        let mut h = MultiHasher::new(&expected);
        assert_eq!(h.algorithms(), vec![Algorithm::Blake2b512]);
        // Split writes must give the same digest as one update.
        h.write_all(b"a").unwrap();
        h.write_all(b"bc").unwrap();
        h.flush().unwrap();
        let computed = h.finish();
        assert_eq!(computed, vec![(Algorithm::Blake2b512, B2_ABC.to_owned())]);
        check(&expected, &computed).unwrap();
        assert!(MultiHasher::new(&[]).finish().is_empty());
    }
}
