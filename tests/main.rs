//! The integration tests, one binary (each test binary links the whole
//! crate): every module runs the real `ociimport` binary, or the library,
//! against real files and, in `interop`, the real consumers.
//!
//! Run one module with `cargo test --test integration MODULE::`.
// Tests report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod attest;
mod cli;
mod consumers;
mod docker;
mod features;
mod gc;
mod house;
mod http;
mod index;
mod interop;
mod layercontent;
mod names;
mod normalize;
mod oddfiles;
mod readme;
mod reliability;
mod sbom;
mod signatures;
mod spec_rules;
mod verify;
