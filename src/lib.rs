//! ociimport turns rootfs tarballs (gzip, xz, zstd, bzip2 or plain tar) into
//! OCI image layouts in one streaming pass.
//!
//! The pipeline, one module per stage:
//! - [`compress`]: detect the input format by magic bytes, decode it
//!   completely, encode the layer deterministically;
//! - [`hashing`]: adapters that hash or count exactly the bytes that pass;
//! - [`tarscan`]: inspect the tar stream as it passes (no file contents kept);
//! - [`image`]: the image config and manifest, built with `oci-spec`;
//! - [`layout`]: blobs and `index.json`, published atomically under a lock;
//! - [`mod@import`]: the pipeline that ties them together;
//! - [`platform`]: the image platform, from the ELF headers in the rootfs;
//! - [`checksums`]: the input checked against `--expect`/`--checksums` as it streams;
//! - `signature`: OpenPGP signatures over checksum files and inputs
//!   ([`Keyring`], `--keyring`);
//! - [`change`]: `--change` instructions for the image config;
//! - [`pargz`]: parallel gzip whose bytes do not depend on the thread count;
//! - [`spec`]: the OCI documents' rules, one judgement per document;
//! - [`verify`], [`inspect`], [`lint`]: checking layouts and archives
//!   (layer blobs measured by one shared streaming scan);
//! - [`archive`]: `--format oci-archive`;
//! - [`report`]: what the import reports;
//! - [`fetch`]: inputs and checksum files by http(s) URL, resumed across failures.
//!
//! ```no_run
//! use ociimport::{import, ImportOptions, InputSource};
//! let opts = ImportOptions::new("./stage3");
//! let report = import(&[InputSource::from_arg("stage3-amd64.tar.xz")], &opts)?;
//! println!("{}", report.manifest.digest);
//! # Ok::<(), ociimport::Error>(())
//! ```

pub mod archive;
pub mod error;
pub mod fetch;
pub mod import;
pub mod inspect;
pub mod report;
pub mod spec;
pub mod verify;

mod change;
mod checksums;
mod compress;
mod digest;
mod fsutil;
mod hashing;
mod image;
mod layerscan;
mod layout;
mod lint;
mod normalize;
mod pargz;
mod platform;
mod signature;
mod tarscan;

/// Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`); not a stable API.
#[cfg(feature = "fuzzing")]
pub mod fuzzing;

pub use change::ChangeError;
pub use checksums::{Algorithm, ChecksumError, Expected, parse_expect};
pub use compress::Compression;
pub use digest::{Blob, Digest};
pub use error::{Error, Result};
pub use image::{Layer, Platform, parse_created};
pub use import::{ImportOptions, InputSource, LayerCompression, import};
pub use layout::{Cleanup, remove_registered_temps};
pub use report::ImportReport;
pub use signature::{Keyring, read_small_source};
