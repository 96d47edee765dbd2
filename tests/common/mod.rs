//! Shared helpers of the integration tests: running the binary and saying
//! what a run must do, fixtures, digests, and checking layouts byte by byte.

mod compress;
mod daemons;
mod layout;
mod run;
mod tars;
mod tools;

use std::path::{Path, PathBuf};

pub use compress::*;
pub use daemons::*;
pub use layout::*;
pub use run::*;
pub use tars::*;
pub use tools::*;

/// `testdata/<name>`.
pub fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// The committed rootfs fixture.
pub fn rootfs_tar() -> Vec<u8> {
    std::fs::read(testdata("rootfs.tar")).expect("testdata/rootfs.tar")
}

/// Entries in testdata/rootfs.tar (`tar -tf testdata/rootfs.tar | wc -l`).
pub const ROOTFS_ENTRIES: u64 = 25;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The sha256 of `data` in hex.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(data))
}

/// The sha256 digest of `data`: `sha256:HEX`.
pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(data))
}

/// The sha512 of `data` in hex.
pub fn sha512_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha512::digest(data))
}

/// The BLAKE2b-512 of `data` in hex.
pub fn blake2b512_hex(data: &[u8]) -> String {
    use blake2::Digest;
    hex(&blake2::Blake2b512::digest(data))
}
