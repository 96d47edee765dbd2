//! ociimport turns rootfs tarballs (gzip, xz, zstd, bzip2 or plain tar) into
//! OCI image layouts in one streaming pass.
//!
//! The pipeline, one module per concern (public ones linked):
//! - `fetch` ([`fetch`]): inputs and checksum files by http(s) URL, resumed
//!   across failures;
//! - `compress`: the one table of formats ([`INPUT_FORMATS`],
//!   [`LayerEncoding`]); detect the input format by magic bytes, decode it
//!   completely, judge whether consumers read its framing as we do
//!   (passthrough), encode the layer deterministically (with `pargz`);
//! - `hashing`: adapters that hash or count exactly the bytes that pass;
//! - `checksums`, `signature`: the input checked against `--expect`,
//!   `--checksums` and OpenPGP signatures ([`Keyring`]) as it streams;
//! - `tarscan`: the tar stream inspected as it passes, framing separate from
//!   header interpretation; entries consumers disagree on are refused;
//! - `normalize`: `--normalize`, the canonical rewrite before the DiffID;
//! - `platform`, `lint`: observers of the entries (ELF platform, path hazards);
//! - `image`, `change`: the image config and manifest, built with `oci-spec`;
//! - `layout` (over `fsutil`): blobs and `index.json`, published atomically
//!   under a lock, publish-then-index as a guard type; its read side (capped,
//!   digest-checked reads, one walk over the documents) and the `DIR[:TAG]`
//!   [`Target`] of `verify` and `inspect`;
//! - [`mod@import`]: the one entry point and the pipeline that ties them
//!   together (plan, producer, consumer, sink), into an [`Output`] (a
//!   layout, or `archive` for `--format oci-archive`), described by a
//!   [`Report`]; [`naming`]: default names, tags and repository names;
//! - [`spec`]: the OCI documents' rules, one judgement per document;
//! - [`verify`], [`inspect`]: checking any layout the way consumers do, with
//!   layer blobs measured by one shared streaming scan (`layerscan`);
//! - [`gc`]: removing the blobs no `index.json` entry reaches;
//! - [`sbom`]: the rootfs's package databases, read as the tar streams by,
//!   and the SPDX document of `--sbom`.
//!
//! ```no_run
//! use ociimport::{import, ImportOptions, InputSource};
//! let opts = ImportOptions::new("./stage3");
//! let report = import(&[InputSource::from_arg("stage3-amd64.tar.xz")], &opts)?;
//! println!("{}", report.digest());
//! # Ok::<(), ociimport::Error>(())
//! ```

#![warn(unreachable_pub)]
pub mod error;
pub mod fetch;
pub mod gc;
pub mod import;
pub mod inspect;
pub mod naming;
pub mod output;
pub mod report;
pub mod sbom;
pub mod spec;
pub mod verify;

mod archive;
mod attest;
mod change;
mod checksums;
mod compress;
mod digest;
mod docker;
mod evidence;
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
mod units;
mod url;

/// The fuzz targets' bodies (`fuzz/` calls them with feature `fuzzing`; `cargo test`
/// runs their seeds); not a stable API.
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;

pub use change::ChangeError;
pub use checksums::{Algorithm, ChecksumError, Expected, parse_expect};
pub use compress::format::supported_short as supported_formats;
pub use compress::{
    Compression, INPUT_FORMATS, InputFormat, LayerEncoding, ZSTD_MAX_WINDOW, ZstdRefusal,
};
pub use digest::{Blob, Digest, InvalidDigest};
pub use error::{Error, Result};
pub use image::{Layer, Platform, parse_created};
pub use import::{ImportOptions, InputSource, LayerCompression, import};
pub use layout::{Cleanup, Target, remove_registered_temps};
pub use output::Output;
pub use report::{ImportReport, IndexReport, Report};
pub use signature::{Keyring, read_small_source};
