//! What the fuzz targets drive: format detection and decoding, the tar
//! scanner with the platform observer, the checksum-file parser and the
//! `index.json` merge. Behind the `fuzzing` feature so that the crate's
//! public surface stays small.

pub use crate::checksums::{parse_checksum_file, parse_expect};
pub use crate::compress::{DecodeOptions, Decoder, SNIFF_LEN, describe_unknown, detect};
pub use crate::platform::{PlatformObserver, PlatformTally};
pub use crate::spec::index::{merge_index_bytes, parse_index};
pub use crate::tarscan::{TarError, TarScanner, TarSummary};
