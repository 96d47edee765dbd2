//! The signed body of an OpenPGP clear-signed checksum file, found by its
//! armor lines alone: what is read when the signature is not verified here
//! (verifying is [`crate::signature`]'s).

const BEGIN_SIGNED: &str = "-----BEGIN PGP SIGNED MESSAGE-----";

/// Whether `text` holds an OpenPGP clear-signed message (whose signed body
/// alone [`parse_checksum_file`] reads).
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub fn is_clear_signed(text: &str) -> bool {
    text.lines().any(|l| l.trim_end() == BEGIN_SIGNED)
}

/// The line number of a second `-----BEGIN PGP SIGNED MESSAGE-----` line,
/// if there is one: which text is signed would then be a guess (an unsigned
/// block placed first could pass for the signed one), as verifying says too.
pub(super) fn second_signed_header(text: &str) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with(BEGIN_SIGNED))
        .nth(1)
        .map(|(i, _)| i + 1)
}

/// The lines to parse, numbered from 1: the signed body of a PGP clear-signed
/// message with dash-escaping undone, or every line if the text is not signed.
pub(super) fn signed_body(text: &str) -> Vec<(usize, &str)> {
    const BEGIN_SIGNATURE: &str = "-----BEGIN PGP SIGNATURE-----";
    const END_SIGNATURE: &str = "-----END PGP SIGNATURE-----";

    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let signed = is_clear_signed(text);

    #[derive(PartialEq)]
    enum State {
        Outside,
        ArmorHeaders,
        Body,
        Signature,
    }
    let mut state = State::Outside;
    let mut out = Vec::new();
    for (n, line) in lines {
        let trimmed = line.trim_end();
        match state {
            State::Outside | State::Body if trimmed == BEGIN_SIGNATURE => {
                state = State::Signature;
            }
            State::Signature => {
                if trimmed == END_SIGNATURE {
                    state = State::Outside;
                }
            }
            State::Outside if trimmed == BEGIN_SIGNED => state = State::ArmorHeaders,
            // Unsigned text around a signed message is not trusted more than
            // the message, but it is not what was signed either: skip it.
            State::Outside if signed => {}
            State::Outside => out.push((n, line)),
            State::ArmorHeaders => {
                if trimmed.is_empty() {
                    state = State::Body;
                }
            }
            State::Body => out.push((n, line.strip_prefix("- ").unwrap_or(line))),
        }
    }
    out
}
