//! ASCII armor (RFC 9580, section 6) checked before rpgp reads it, so that a
//! damaged block is refused in one line that says which line is wrong, and
//! as strictly as gpgv: a character outside base64, a missing END line, a
//! checksum line that is malformed or does not match (gpgv: "CRC error").
//! rpgp alone accepts a wrong checksum and describes other damage with a
//! dump of the bytes it could not read.

/// Checks every armored block of `text` (lines starting with `begin`);
/// `first` is the line number, in the file, of `text`'s first line.
pub(super) fn check_all(text: &str, first: usize, begin: &str) -> Result<(), String> {
    let mut lines = numbered(text, first);
    while let Some((n, line)) = lines.next() {
        if line.starts_with(begin) {
            check_block(n, line, &mut lines)?;
        }
    }
    Ok(())
}

/// Checks the first armored block of `text` starting with `begin`, and
/// that there is one.
pub(super) fn check_first(text: &str, first: usize, begin: &str) -> Result<(), String> {
    let mut lines = numbered(text, first);
    while let Some((n, line)) = lines.next() {
        if line.starts_with(begin) {
            return check_block(n, line, &mut lines);
        }
    }
    Err(format!(
        "no {begin} line: the file is cut short or not signed"
    ))
}

/// The lines of `text`, trailing white space removed, with their numbers.
fn numbered(text: &str, first: usize) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(move |(i, l)| (first + i, l.trim_end()))
}

/// One block, from its BEGIN line (`n`, `begin`) through the END line the
/// label calls for, taken from `lines`.
fn check_block<'a>(
    n: usize,
    begin: &str,
    lines: &mut impl Iterator<Item = (usize, &'a str)>,
) -> Result<(), String> {
    let label = begin
        .strip_prefix("-----BEGIN ")
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or_else(|| format!("line {n}: malformed armor line"))?;
    let end = format!("-----END {label}-----");
    // Armor headers (`Hash: SHA512`, `Comment: ...`) up to an empty line.
    loop {
        match lines.next() {
            None => return Err(format!("no {end} line: the file is cut short")),
            Some((_, "")) => break,
            Some((_, l)) if l.contains(':') && !l.starts_with('-') => {}
            Some((m, _)) => {
                return Err(format!(
                    "line {m}: an armor header or the empty line after them was expected"
                ));
            }
        }
    }
    let mut data = Base64::default();
    let mut crc = None;
    for (m, line) in lines {
        if line == end {
            return finish(n, data, crc);
        }
        if line.starts_with("-----") {
            return Err(format!("line {m}: {end} was expected here"));
        }
        if crc.is_some() {
            return Err(format!(
                "line {m}: {end} was expected after the checksum line"
            ));
        }
        if let Some(sum) = line.strip_prefix('=') {
            crc = Some(checksum_line(m, sum)?);
        } else {
            data.line(m, line)?;
        }
    }
    Err(format!("no {end} line: the file is cut short"))
}

/// The armored block that starts on line `n` holds `data`, whose checksum
/// line said `crc` (the line is optional).
fn finish(n: usize, data: Base64, crc: Option<u32>) -> Result<(), String> {
    if data.bytes.is_empty() {
        return Err(format!("the armored block on line {n} holds no data"));
    }
    if data.bits != 0 && !data.padded {
        return Err(format!(
            "the armored block on line {n} ends in the middle of a base64 group: it is cut short"
        ));
    }
    match crc {
        Some(c) if c != crc24(&data.bytes) => Err(format!(
            "the armored block on line {n} does not match its checksum line: it was damaged or altered"
        )),
        _ => Ok(()),
    }
}

/// The CRC-24 of an armor checksum line `=XXXX` (given without the `=`).
fn checksum_line(n: usize, sum: &str) -> Result<u32, String> {
    let malformed =
        || format!("line {n}: malformed armor checksum line (= and 4 base64 characters)");
    if sum.len() != 4 {
        return Err(malformed());
    }
    let mut crc = 0u32;
    for c in sum.bytes() {
        crc = (crc << 6) | u32::from(sextet(c).ok_or_else(malformed)?);
    }
    Ok(crc)
}

/// Base64 being decoded, line by line.
#[derive(Default)]
struct Base64 {
    bytes: Vec<u8>,
    acc: u32,
    bits: u32,
    padded: bool,
}

impl Base64 {
    fn line(&mut self, n: usize, line: &str) -> Result<(), String> {
        for c in line.bytes() {
            if c == b'=' {
                self.padded = true;
                continue;
            }
            if self.padded {
                return Err(format!("line {n}: base64 continues after its padding (=)"));
            }
            let Some(v) = sextet(c) else {
                let shown = char::from(c);
                let shown = if shown.is_ascii_graphic() {
                    format!("'{shown}'")
                } else {
                    format!("byte 0x{c:02x}")
                };
                return Err(format!(
                    "line {n}: {shown} is not base64: the armored block was damaged"
                ));
            };
            self.acc = (self.acc << 6) | u32::from(v);
            self.bits += 6;
            if self.bits >= 8 {
                self.bits -= 8;
                // The byte is the top 8 of the bits held: truncation intended.
                self.bytes.push(((self.acc >> self.bits) & 0xff) as u8);
            }
        }
        Ok(())
    }
}

/// The value of one base64 character.
fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// The armor checksum (RFC 9580, section 6.1.1).
fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0x00B7_04CE;
    for &b in data {
        crc ^= u32::from(b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= 0x0186_4CFB;
            }
        }
    }
    crc & 0x00FF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "-----BEGIN PGP SIGNATURE-----\n\niHUEABYIAB0WIQQgY7UIbMtR0fJilTEc3XQocAkz4AUCaxHEGQAKCRAc3XQocAkz\n4A6aAP9CC5SJ+oGqIN0UxUBv2fKBYkIkahzwnptJXur925bKMQD/QY7Lkn3hBBpB\nSRGL3QwQ1t3Wg1SIsmGooTS6dpv8zwU=\n=Sqnr\n-----END PGP SIGNATURE-----\n";

    fn err(text: &str) -> String {
        check_all(text, 1, "-----BEGIN PGP ").unwrap_err()
    }

    #[test]
    fn a_sound_block_passes_and_damage_is_located() {
        assert_eq!(check_all(GOOD, 1, "-----BEGIN PGP "), Ok(()));
        assert_eq!(check_first(GOOD, 1, "-----BEGIN PGP SIGNATURE"), Ok(()));
        assert_eq!(
            check_all(&GOOD.replace("\n=Sqnr", ""), 1, "-----BEGIN PGP "),
            Ok(())
        );
        assert_eq!(
            err(&GOOD.replace("iHUE", "iH!E")),
            "line 3: '!' is not base64: the armored block was damaged"
        );
        assert_eq!(
            err(&GOOD.replace("=Sqnr", "=Sqns")),
            "the armored block on line 1 does not match its checksum line: it was damaged or altered"
        );
        assert_eq!(
            err(&GOOD.replace("=Sqnr", "=Sq!")),
            "line 6: malformed armor checksum line (= and 4 base64 characters)"
        );
        assert_eq!(
            err(GOOD.trim_end().rsplit_once('\n').unwrap().0),
            "no -----END PGP SIGNATURE----- line: the file is cut short"
        );
        assert_eq!(
            err(&GOOD.replace("-----END PGP SIGNATURE", "-----END PGP MESSAGE")),
            "line 7: -----END PGP SIGNATURE----- was expected here"
        );
        assert!(err(&GOOD.replace("\n\n", "\nnot a header\n")).starts_with("line 2: "));
        assert!(check_first("text\n", 1, "-----BEGIN PGP SIGNATURE").is_err());
    }

    #[test]
    fn crc24_matches_the_rfc() {
        // The CRC of no data is the initial value.
        assert_eq!(crc24(b""), 0x00B7_04CE);
        assert_eq!(checksum_line(1, "Sqnr"), Ok(0x4aa9eb));
    }
}
