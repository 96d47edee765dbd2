//! The signature policy of an import: which signatures must exist and
//! verify (`--keyring`, `--checksums-signature`, `--signature`), and what is
//! checked before any input is read.
//!
//! Everything here that can be decided before an input is read is decided
//! before the layout is opened; an input's own signature is checked when
//! its stream has ended, before anything is published.

use super::annotations;
use crate::checksums::{self, ChecksumError, Listing};
use crate::error::{Error, Result};
use crate::import::{ImportOptions, InputSource};
use crate::report::VerifiedSignature;
use crate::signature::{
    DetachedSignatures, Refusal, SignatureEvidence, Verified, signed_file_name, verify_clear_signed,
};
use crate::url::base_name;

/// Refuses signature options that do not make sense together.
pub(crate) fn check_options(inputs: &[InputSource], opts: &ImportOptions) -> Result<()> {
    let wants_keyring = !opts.signatures.is_empty() || opts.checksums_signature.is_some();
    if wants_keyring && opts.keyring.is_none() {
        return Err(Error::Usage(
            "--signature and --checksums-signature need --keyring (the certificates the signatures must come from)".into(),
        ));
    }
    if opts.checksums_signature.is_some() && opts.checksum_file.is_none() {
        return Err(Error::Usage(
            "--checksums-signature is a signature over the --checksums file; give --checksums too"
                .into(),
        ));
    }
    if let Some(k) = &opts.keyring {
        if k.is_empty() {
            return Err(Error::Usage("--keyring holds no certificate".into()));
        }
        if opts.signatures.is_empty() && opts.checksum_file.is_none() {
            return Err(Error::Usage(
                "--keyring given, but nothing to verify: add --signature, or a signed --checksums file".into(),
            ));
        }
    }
    if opts.signatures.len() > inputs.len() {
        return Err(Error::Usage(
            "more --signature files than inputs (one per input)".into(),
        ));
    }
    annotations::refuse_reserved(&opts.annotations)
}

/// The `--checksums` file, checked, ready to look inputs up in.
pub(crate) struct Sums<'a> {
    name: &'a str,
    /// What to parse: the verified signed text, or the whole file.
    text: String,
    /// Where `text` starts in the file when it is a verified signed text.
    first_line: Option<usize>,
    /// Who signed the file, when a signature was verified.
    signed: Option<VerifiedSignature>,
    /// Said once per import: a signature that was not checked.
    pub(crate) warning: Option<String>,
}

impl Sums<'_> {
    /// What the file lists for `input_base_name`.
    pub(crate) fn expected(&self, input_base_name: &str) -> Result<Listing, ChecksumError> {
        match self.first_line {
            Some(first) => {
                checksums::parse_verified_text(&self.text, first, self.name, input_base_name)
            }
            None => checksums::parse_checksum_file(&self.text, self.name, input_base_name),
        }
    }

    /// The checksum file as given.
    pub(crate) fn name(&self) -> &str {
        self.name
    }

    /// Whether the file is one digest with no file name: then it answers for
    /// any name, even one no line could hold.
    fn names_no_file(&self) -> bool {
        self.expected("\0").is_ok()
    }

    /// The signature that vouches for the checksums, if one was verified.
    pub(crate) fn signed(&self) -> Option<&VerifiedSignature> {
        self.signed.as_ref()
    }
}

/// Reads and, with `--keyring`, verifies the `--checksums` file. With a
/// keyring the file must be signed: clear-signed (only the signed text is
/// used) or by `--checksums-signature`. A file holding only a digest with
/// no file name (Debian's `.sha256`) is for one input only.
pub(crate) fn checked_sums<'a>(
    opts: &'a ImportOptions,
    inputs: &[InputSource],
) -> Result<Option<Sums<'a>>> {
    let sums = read_sums(opts)?;
    if inputs.len() > 1
        && let Some(s) = &sums
        && s.names_no_file()
    {
        return Err(Error::Usage(format!(
            "{} holds a digest with no file name, which cannot say which of the {} inputs it is for; import them one at a time, or use a checksum file that names its files",
            s.name,
            inputs.len()
        )));
    }
    Ok(sums)
}

fn read_sums(opts: &ImportOptions) -> Result<Option<Sums<'_>>> {
    let Some((name, text)) = &opts.checksum_file else {
        return Ok(None);
    };
    let refused = |signature: Option<&str>, r: Refusal| Error::Signature {
        file: name.clone(),
        signature: signature.map(str::to_string),
        signer: r.signer,
        reason: r.reason,
    };
    let mut sums = Sums {
        name,
        text: text.clone(),
        first_line: None,
        signed: None,
        warning: None,
    };
    let Some(keyring) = &opts.keyring else {
        if checksums::is_clear_signed(text) {
            sums.warning = Some(format!(
                "{name} is clear-signed, but its signature was not checked (give --keyring to verify it)"
            ));
        }
        return Ok(Some(sums));
    };
    let (signature, verified, sig_bytes) = match &opts.checksums_signature {
        Some((sig_name, bytes)) => {
            let sigs = DetachedSignatures::parse(bytes)
                .map_err(|reason| refused(Some(sig_name), Refusal::unknown(reason)))?;
            let v = sigs
                .verify_bytes(keyring, text.as_bytes())
                .map_err(|r| refused(Some(sig_name), r))?;
            (sig_name.clone(), v, Some(bytes.clone()))
        }
        None if !checksums::is_clear_signed(text) => {
            let why = "not signed; give its detached signature with --checksums-signature (with --keyring every checksum file must be signed)";
            return Err(refused(None, Refusal::none(why)));
        }
        None => {
            let signed = verify_clear_signed(keyring, text).map_err(|r| refused(None, r))?;
            sums.text = signed.text;
            sums.first_line = Some(signed.first_line);
            (name.clone(), signed.verified, None)
        }
    };
    let evidence = SignatureEvidence {
        signed_file: Some(text.as_bytes().to_vec()),
        signature: sig_bytes,
        certs: verified.certs.clone(),
    };
    sums.signed = Some(verified_signature(name, &signature, &verified, evidence));
    Ok(Some(sums))
}

fn verified_signature(
    file: &str,
    signature: &str,
    v: &Verified,
    evidence: SignatureEvidence,
) -> VerifiedSignature {
    VerifiedSignature {
        file: base_name(file),
        signature: base_name(signature),
        signer: v.signer(),
        evidence,
    }
}

/// A detached signature over one input, parsed.
#[derive(Clone, Debug)]
pub(crate) struct InputSignature {
    /// The signature file as given.
    pub(crate) name: String,
    /// Its signatures.
    pub(crate) sigs: DetachedSignatures,
    /// The file's bytes, stored as evidence once it verified.
    pub(crate) bytes: Vec<u8>,
}

impl InputSignature {
    /// What the report and the annotations say once it verified.
    pub(crate) fn verified(&self, input: &str, v: &Verified) -> VerifiedSignature {
        let evidence = SignatureEvidence {
            signed_file: None,
            signature: Some(self.bytes.clone()),
            certs: v.certs.clone(),
        };
        verified_signature(input, &self.name, v, evidence)
    }
}

/// Pairs each `--signature` with its input: the only input, or the one
/// whose base name the signature's name extends (`INPUT.asc`, `.sig`, `.gpg`).
pub(crate) fn input_signatures(
    inputs: &[InputSource],
    opts: &ImportOptions,
) -> Result<Vec<Option<InputSignature>>> {
    let mut out: Vec<Option<InputSignature>> = vec![None; inputs.len()];
    for (name, bytes) in &opts.signatures {
        let base = base_name(name);
        let stem = signed_file_name(&base);
        let index = if inputs.len() == 1 {
            Some(0)
        } else {
            inputs.iter().position(|i| i.base_name() == stem)
        };
        let Some(slot) = index.and_then(|i| out.get_mut(i)) else {
            return Err(Error::Usage(format!(
                "--signature {name} matches no input: with several inputs, name it after its input (INPUT.asc or INPUT.sig)"
            )));
        };
        if slot.is_some() {
            return Err(Error::Usage(format!(
                "two --signature files for the same input ({name})"
            )));
        }
        let sigs = DetachedSignatures::parse(bytes).map_err(|reason| Error::Signature {
            file: name.clone(),
            signature: None,
            signer: "unknown".into(),
            reason,
        })?;
        *slot = Some(InputSignature {
            name: name.clone(),
            sigs,
            bytes: bytes.clone(),
        });
    }
    // With --keyring the user asked for verified inputs: one that nothing
    // would verify (no signature, no signed checksums file) is refused
    // rather than imported quietly beside verified ones.
    if opts.keyring.is_some() && opts.checksum_file.is_none() {
        let unsigned = inputs.iter().zip(&out).find(|(_, s)| s.is_none());
        if let Some((input, _)) = unsigned {
            return Err(Error::Usage(format!(
                "--keyring given, but nothing verifies {}: add --signature {}.asc (or .sig), or a signed --checksums file",
                input.display(),
                input.base_name()
            )));
        }
    }
    Ok(out)
}
