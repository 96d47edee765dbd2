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
//! - [`signature`]: OpenPGP signatures over checksum files and inputs (`--keyring`);
//! - [`change`]: `--change` instructions for the image config;
//! - [`pargz`]: parallel gzip whose bytes do not depend on the thread count;
//! - [`verify`], [`inspect`], [`lint`]: checking layouts and archives;
//! - [`archive`]: `--format oci-archive`;
//! - [`report`]: what the import reports.
//!
//! ```no_run
//! use ociimport::{import, ImportOptions, InputSource};
//! let opts = ImportOptions::new("./stage3");
//! let report = import(&[InputSource::from_arg("stage3-amd64.tar.xz")], &opts)?;
//! println!("{}", report.manifest.digest);
//! # Ok::<(), ociimport::Error>(())
//! ```

pub mod archive;
pub mod change;
pub mod checksums;
pub mod compress;
pub mod digest;
pub mod error;
mod fsutil;
pub mod hashing;
pub mod image;
pub mod import;
pub mod inspect;
pub mod layout;
pub mod lint;
pub mod pargz;
pub mod platform;
pub mod report;
pub mod signature;
pub mod tarscan;
pub mod verify;

pub use error::{Error, Result};
pub use import::{ImportOptions, InputSource, LayerCompression, import};
pub use report::ImportReport;
