//! Provenance: the signature policy of an import (`policy`: which
//! signatures must exist and verify, checked before reading where it can
//! be) and the annotations that record where each layer came from
//! (`annotations`). Both speak only the scheme-neutral
//! [`crate::signature`] types.

mod annotations;
mod policy;

pub use annotations::{ANNOTATION_PREFIX, layer_annotation, source_name};
pub(crate) use annotations::{LayerOrigin, annotations};
pub(crate) use policy::{InputSignature, Sums, check_options, checked_sums, input_signatures};
