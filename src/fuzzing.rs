//! What the fuzz targets drive: format detection and decoding, the tar
//! scanner with the platform observer, the checksum-file parser, the
//! OpenPGP parsing and verification, and the `index.json` merge. Behind the `fuzzing` feature so that the crate's
//! public surface stays small.

pub use crate::checksums::{
    Listing, is_clear_signed, parse_checksum_file, parse_expect, parse_verified_text,
};
pub use crate::compress::{DecodeOptions, Decoder, SNIFF_LEN, describe_unknown, detect};
pub use crate::platform::{PlatformObserver, PlatformTally};
pub use crate::signature::{DetachedSignatures, Keyring, SignatureHasher, verify_clear_signed};
pub use crate::spec::index::{merge_index_bytes, parse_index};
pub use crate::tarscan::{TarError, TarScanner, TarSummary};
