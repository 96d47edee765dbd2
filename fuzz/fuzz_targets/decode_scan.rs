//! The body and its properties are `ociimport::fuzzing::decode_scan` (src/fuzzing.rs),
//! where `cargo test` also runs this target's seeds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ociimport::fuzzing::decode_scan(data));
