//! The image's name and the output an import may write: the repository
//! filled in from the input when `-t` gives none, and the files an archive
//! output must never replace.

use std::path::PathBuf;

use super::{ImportOptions, InputSource};
use crate::error::{Error, Result};
use crate::naming::{Reference, default_repository, parse_repository};
use crate::output::Output;

/// `opts` with the repository filled in (the default when none is given)
/// and fully qualified.
pub(super) fn named(inputs: &[InputSource], opts: &ImportOptions) -> ImportOptions {
    let repository = opts.repository.clone().unwrap_or_else(|| {
        let input = match inputs.first() {
            Some(InputSource::Path(p)) => Some(p.display().to_string()),
            Some(InputSource::Url(u)) => Some(u.clone()),
            Some(InputSource::Stdin) | None => None,
        };
        let output = match &opts.output {
            Output::Layout(p) | Output::Archive(p) => Some(p.as_path()),
            Output::Stdout => None,
        };
        default_repository(input.as_deref(), output)
    });
    let mut named = opts.clone();
    // check_request parsed it; a default is valid by construction.
    named.repository =
        Some(parse_repository(&repository).map_or(repository, |(d, p)| format!("{d}/{p}")));
    named
}

/// The image's fully qualified name: the repository and the tag.
pub(crate) fn reference(opts: &ImportOptions) -> Result<Reference> {
    let repository = opts.repository.as_deref().unwrap_or("image");
    crate::naming::parse_reference(&format!("{repository}:{}", opts.tag)).map_err(Error::Usage)
}

/// Refuse an archive output path that [`import`](super::import) would refuse (a symbolic
/// link, a file this import reads, an existing file that is not an OCI
/// archive without `opts.force`), without reading anything: for a caller
/// that reads other files (a checksum file over the network) before it
/// calls [`import`](super::import), which judges the path again.
pub fn check_output(inputs: &[InputSource], opts: &ImportOptions) -> Result<()> {
    match &opts.output {
        Output::Archive(p) => archive_guard(inputs, opts).judge(p).map(|_| ()),
        Output::Layout(_) | Output::Stdout => Ok(()),
    }
}

/// The files an archive output must never replace: every local file this
/// import reads.
pub(super) fn archive_guard(inputs: &[InputSource], opts: &ImportOptions) -> crate::archive::Guard {
    let mut read: Vec<(PathBuf, String)> = inputs
        .iter()
        .filter_map(|i| match i {
            InputSource::Path(p) => Some((p.clone(), "an input".to_string())),
            InputSource::Stdin => Some(("/dev/stdin".into(), "standard input".to_string())),
            InputSource::Url(_) => None,
        })
        .collect();
    let named = [
        (
            opts.checksum_file.as_ref().map(|c| &c.0),
            "the --checksums file",
        ),
        (
            opts.checksums_signature.as_ref().map(|c| &c.0),
            "the --checksums-signature file",
        ),
    ];
    for (name, what) in named {
        read.extend(name.map(|n| (PathBuf::from(n), what.to_string())));
    }
    for (name, _) in &opts.signatures {
        read.push((PathBuf::from(name), "a --signature file".into()));
    }
    read.extend(opts.read_files.iter().cloned());
    crate::archive::Guard {
        read,
        force: opts.force,
    }
}
