//! The body and its properties are `ociimport::fuzzing::checksum_file` (src/fuzzing.rs),
//! where `cargo test` also runs this target's seeds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ociimport::fuzzing::checksum_file(data));
