//! The checksum-file formats: coreutils `SUMS` lines (escaped names
//! included), BSD/`--tag` and OpenSSL lines, Gentoo `# ALGO HASH` blocks and
//! one-line files, each entry matched on its base name ([`crate::url::base_name`]).

use super::armor::{second_signed_header, signed_body};
use super::{Algorithm, ChecksumError, Expected, validate_hex};
use crate::url::base_name;

/// The algorithm stated for a digest by its surroundings, if any.
#[derive(Clone, Debug)]
enum Label {
    /// Nothing says: infer from the hex length.
    Unlabelled,
    /// A supported algorithm.
    Known(Algorithm),
    /// An algorithm this module cannot check, as written.
    Unsupported(String),
}

impl Label {
    fn from_name(name: &str) -> Self {
        match Algorithm::from_name(name) {
            Some(a) => Label::Known(a),
            None => Label::Unsupported(name.to_owned()),
        }
    }
}

/// One `digest name` entry as read from a line, before validation.
struct Entry<'a> {
    label: Label,
    hex: &'a str,
    /// `None` for a bare digest line (or coreutils' `-` for stdin).
    name: Option<String>,
}

/// What a checksum file lists for one input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct Listing {
    /// The digests to check, in the file's order, each once; at least one
    /// is of a strong algorithm (not [`Algorithm::is_weak`]).
    pub expected: Vec<Expected>,
    /// The algorithms the file also lists for the input that cannot be
    /// computed, as written (`WHIRLPOOL`), each once: not checked, so the
    /// caller warns about them.
    pub unchecked: Vec<String>,
}

/// Reads the expected digests for `input_base_name` from a checksum file's text.
///
/// `checksum_file` names the file in errors and in [`Expected::source`]; its
/// base name also serves as a hint: an unlabelled 128-hex digest in a file
/// whose name mentions `b2sum` or `blake2` (Arch's `b2sums.txt`, `B2SUMS`) is
/// BLAKE2b-512, elsewhere it is SHA-512; 64 hex digits are SHA-256, 40
/// SHA-1 and 32 MD5.
///
/// Entries are matched on base name, so `./name` and `dir/name` both match
/// `name`. Every digest listed for the input in an algorithm that can be
/// computed is returned (deduplicated), and all must be checked; the names
/// of the others come back in [`Listing::unchecked`]. Malformed lines for
/// other files are ignored; a malformed digest for the input is an error,
/// as is an input listed only with weak algorithms (MD5, SHA-1) or ones
/// that cannot be computed, not listed at all, or listed twice with
/// different digests of one algorithm. A bare `hex` line counts
/// only when it is the file's sole entry (one-line `.sha256` files). A file
/// with two `-----BEGIN PGP SIGNED MESSAGE-----` lines is refused.
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub fn parse_checksum_file(
    text: &str,
    checksum_file: &str,
    input_base_name: &str,
) -> Result<Listing, ChecksumError> {
    if let Some(line) = second_signed_header(text) {
        return Err(ChecksumError::Malformed {
            origin: checksum_file.to_string(),
            line: Some(line),
            detail: "a second -----BEGIN PGP SIGNED MESSAGE----- line, so which text is signed is ambiguous; use the file as its publisher signed it".into(),
        });
    }
    parse_lines(signed_body(text), checksum_file, input_base_name)
}

/// Like [`parse_checksum_file`], for text whose OpenPGP signature has been
/// verified ([`crate::signature::verify_clear_signed`]): every line is read,
/// numbered from `first_line` (where the signed text starts in the file),
/// and no armor is looked for, so nothing but the signed text can count.
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub fn parse_verified_text(
    signed_text: &str,
    first_line: usize,
    checksum_file: &str,
    input_base_name: &str,
) -> Result<Listing, ChecksumError> {
    let lines = signed_text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + first_line, l))
        .collect();
    parse_lines(lines, checksum_file, input_base_name)
}

/// [`parse_checksum_file`] over numbered lines.
fn parse_lines(
    lines: Vec<(usize, &str)>,
    checksum_file: &str,
    input_base_name: &str,
) -> Result<Listing, ChecksumError> {
    let wanted = base_name(input_base_name);
    let mut found = Found {
        checksum_file,
        wanted: &wanted,
        hint: file_name_hint(checksum_file),
        expected: Vec::new(),
        unsupported: Vec::new(),
    };
    let mut named_entries = 0usize;
    let mut bare: Vec<(usize, Entry<'_>)> = Vec::new();
    // A Gentoo `# ALGO HASH` header labels every entry until the next header.
    let mut block = Label::Unlabelled;

    for (line_no, line) in lines {
        let line = line.trim_end();
        if line.trim_start().is_empty() {
            continue;
        }
        if let Some(comment) = line.trim_start().strip_prefix('#') {
            if let Some(algo) = gentoo_header(comment) {
                block = Label::from_name(algo);
            }
            continue;
        }
        let Some(entry) = parse_line(line, &block) else {
            continue;
        };
        match &entry.name {
            None => bare.push((line_no, entry)),
            Some(name) => {
                named_entries += 1;
                if !wanted.is_empty() && base_name(name) == wanted {
                    found.take(entry, line_no)?;
                }
            }
        }
    }

    // A lone digest with no name can only be about the input; alongside
    // named entries, or several of them, it is ambiguous and ignored.
    if named_entries == 0
        && bare.len() == 1
        && let Some((line_no, entry)) = bare.pop()
    {
        found.take(entry, line_no)?;
    }
    found.finish()
}

/// The digests collected for the input so far.
struct Found<'a> {
    checksum_file: &'a str,
    wanted: &'a str,
    hint: Option<Algorithm>,
    expected: Vec<Expected>,
    /// Algorithms the input is listed with that cannot be computed, as
    /// written, each once (compared ignoring case).
    unsupported: Vec<String>,
}

impl Found<'_> {
    /// Validates an entry known to be about the input and records it.
    fn take(&mut self, entry: Entry<'_>, line_no: usize) -> Result<(), ChecksumError> {
        let malformed = |detail: String| ChecksumError::Malformed {
            origin: self.checksum_file.to_owned(),
            line: Some(line_no),
            detail,
        };
        let algorithm = match entry.label {
            Label::Known(a) => a,
            Label::Unsupported(name) => {
                if !self
                    .unsupported
                    .iter()
                    .any(|u| u.eq_ignore_ascii_case(&name))
                {
                    self.unsupported.push(name);
                }
                return Ok(());
            }
            Label::Unlabelled => infer_algorithm(entry.hex, self.hint).map_err(malformed)?,
        };
        let hex = validate_hex(algorithm, entry.hex).map_err(malformed)?;
        match self.expected.iter().find(|e| e.algorithm == algorithm) {
            Some(e) if e.hex == hex => {}
            // Two different files with the same base name (say per-architecture
            // directories): no input can match both, and we cannot tell which
            // one is meant.
            Some(_) => {
                return Err(ChecksumError::Ambiguous {
                    checksum_file: self.checksum_file.to_owned(),
                    name: self.wanted.to_owned(),
                    algorithm,
                });
            }
            None => self.expected.push(Expected {
                algorithm,
                hex,
                source: self.checksum_file.to_owned(),
            }),
        }
        Ok(())
    }

    /// The digests found, or why they cannot verify the input.
    fn finish(self) -> Result<Listing, ChecksumError> {
        if self.expected.iter().any(|e| !e.algorithm.is_weak()) {
            return Ok(Listing {
                expected: self.expected,
                unchecked: self.unsupported,
            });
        }
        if !self.expected.is_empty() {
            let weak: Vec<&str> = self.expected.iter().map(|e| e.algorithm.name()).collect();
            return Err(ChecksumError::WeakOnly {
                checksum_file: self.checksum_file.to_owned(),
                name: self.wanted.to_owned(),
                algorithms: weak.join(" and "),
            });
        }
        if let Some(algorithm) = self.unsupported.into_iter().next() {
            return Err(ChecksumError::UnknownAlgorithm {
                algorithm,
                origin: self.checksum_file.to_owned(),
            });
        }
        Err(ChecksumError::NotListed {
            checksum_file: self.checksum_file.to_owned(),
            name: self.wanted.to_owned(),
        })
    }
}

/// Picks the algorithm of an unlabelled digest from its length and the file-name hint.
fn infer_algorithm(hex: &str, hint: Option<Algorithm>) -> Result<Algorithm, String> {
    if let Some(bad) = hex.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!("digest contains non-hex character {bad:?}"));
    }
    if hint == Some(Algorithm::Blake2b512) {
        // b2sum's other lengths are unlabelled too; don't mistake them for SHA.
        return if hex.len() == 128 {
            Ok(Algorithm::Blake2b512)
        } else {
            Err(format!(
                "{} hex digits is not a BLAKE2b-512 digest (128 hex digits)",
                hex.len()
            ))
        };
    }
    match hex.len() {
        64 => Ok(Algorithm::Sha256),
        128 => Ok(Algorithm::Sha512),
        // As `sha1sum`/`md5sum` print them (SHA1SUMS, MD5SUMS): checked
        // beside a strong digest, refused alone.
        40 => Ok(Algorithm::Sha1),
        32 => Ok(Algorithm::Md5),
        n => Err(format!(
            "{n} hex digits match no supported algorithm (sha256: 64, sha512: 128, sha1: 40, md5: 32)"
        )),
    }
}

/// Reads the algorithm hint from the checksum file's base name.
fn file_name_hint(checksum_file: &str) -> Option<Algorithm> {
    let name = base_name(checksum_file).to_ascii_lowercase();
    if name.contains("b2sum") || name.contains("blake2") {
        Some(Algorithm::Blake2b512)
    } else {
        None
    }
}

/// Recognises a Gentoo block header (`# SHA512 HASH`), given the text after `#`.
fn gentoo_header(comment: &str) -> Option<&str> {
    let mut words = comment.split_whitespace();
    let algo = words.next()?;
    let hash = words.next()?;
    (hash.eq_ignore_ascii_case("HASH") && words.next().is_none()).then_some(algo)
}

/// Parses one non-comment line as a BSD tag or SUMS entry.
///
/// Returns `None` for lines that are neither; those are not entries at all.
fn parse_line<'a>(line: &'a str, block: &Label) -> Option<Entry<'a>> {
    // coreutils marks a line whose name needed escaping with a leading `\`.
    let (line, escaped) = match line.strip_prefix('\\') {
        Some(rest) => (rest, true),
        None => (line, false),
    };
    if let Some(entry) = parse_tag_line(line, escaped) {
        return Some(entry);
    }
    parse_sums_line(line, escaped, block)
}

/// `ALGO (name) = hex` (coreutils/BSD) or `ALGO(name)= hex` (OpenSSL).
fn parse_tag_line(line: &str, escaped: bool) -> Option<Entry<'_>> {
    let open = line.find('(')?;
    let algo = line[..open].trim_end();
    let algo_ok = !algo.is_empty()
        && algo
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !algo_ok {
        return None;
    }
    // The name may itself contain `)`, so the digest follows the last `)`
    // that is followed by `=`.
    let rest = &line[open + 1..];
    let close = rest.rfind(')')?;
    let name = &rest[..close];
    // Whatever follows `=` is the digest; a bad one is reported if the entry
    // turns out to be the input's.
    let hex = rest[close + 1..].trim_start().strip_prefix('=')?.trim();
    Some(Entry {
        label: Label::from_name(algo),
        hex,
        name: Some(unescape_name(name, escaped)),
    })
}

/// `hex  name`, `hex *name`, `hex name` or a bare `hex`.
fn parse_sums_line<'a>(line: &'a str, escaped: bool, block: &Label) -> Option<Entry<'a>> {
    let line = line.trim_start();
    let (hex, name) = match line.find([' ', '\t']) {
        Some(i) => {
            // coreutils: one separator, then ` ` (text) or `*` (binary) mode.
            let rest = &line[i + 1..];
            let rest = rest
                .strip_prefix(' ')
                .or_else(|| rest.strip_prefix('*'))
                .unwrap_or(rest);
            (&line[..i], Some(rest))
        }
        None => {
            // A lone token is only an entry if it looks like a digest.
            if !line.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            (line, None)
        }
    };
    let name = match name {
        // `-` is what sha256sum prints for stdin: no usable name.
        Some("-" | "") | None => None,
        Some(n) => Some(unescape_name(n, escaped)),
    };
    Some(Entry {
        label: block.clone(),
        hex,
        name,
    })
}

/// Undoes coreutils' name escaping (`\\`, `\n`, `\r`) when the line was marked.
fn unescape_name(name: &str, escaped: bool) -> String {
    if !escaped {
        return name.to_owned();
    }
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksums::tests::{
        B2_ABC, B2_EMPTY, SHA256_ABC, SHA256_EMPTY, SHA512_ABC, SHA512_EMPTY, STAGE3, all_of, exp,
    };
    use crate::checksums::{MultiHasher, check, is_clear_signed};

    const SHA1_ABC: &str = "a9993e364706816aba3e25717850c26c9cd0d89d";
    const MD5_ABC: &str = "900150983cd24fb0d6963f7d28e17f72";

    /// The digests [`parse_checksum_file`] finds.
    fn expected_of(text: &str, file: &str, input: &str) -> Result<Vec<Expected>, ChecksumError> {
        parse_checksum_file(text, file, input).map(|l| l.expected)
    }

    /// The digests [`parse_verified_text`] finds.
    fn verified_expected_of(
        text: &str,
        first_line: usize,
        file: &str,
        input: &str,
    ) -> Result<Vec<Expected>, ChecksumError> {
        parse_verified_text(text, first_line, file, input).map(|l| l.expected)
    }

    #[test]
    fn sums_file_text_and_binary_mode_and_paths() {
        let text = format!(
            "{SHA256_EMPTY}  other.tar.gz\n\
             not a checksum line at all\n\
             {SHA256_ABC} *./rootfs.tar.xz\n"
        );
        let got = expected_of(&text, "SHA256SUMS", "rootfs.tar.xz").unwrap();
        assert_eq!(got, vec![exp(Algorithm::Sha256, SHA256_ABC, "SHA256SUMS")]);
        check(&got, &all_of(b"abc")).unwrap();

        // Path in the file, text-mode separator, CRLF line ends, uppercase hex.
        let text = format!(
            "{}  images/2024/rootfs.tar.xz\r\n",
            SHA512_ABC.to_uppercase()
        );
        let got = expected_of(&text, "SHA512SUMS", "rootfs.tar.xz").unwrap();
        assert_eq!(got, vec![exp(Algorithm::Sha512, SHA512_ABC, "SHA512SUMS")]);
        // The caller may pass a path as the input name.
        let got = expected_of(&text, "SHA512SUMS", "/dl/rootfs.tar.xz").unwrap();
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn sums_file_infers_algorithm_from_length_and_file_name() {
        let text = format!("{SHA256_ABC}  a.tar\n{SHA512_ABC}  a.tar\n");
        let got = expected_of(&text, "CHECKSUMS", "a.tar").unwrap();
        assert_eq!(
            got,
            vec![
                exp(Algorithm::Sha256, SHA256_ABC, "CHECKSUMS"),
                exp(Algorithm::Sha512, SHA512_ABC, "CHECKSUMS"),
            ]
        );
        // Arch publishes b2sums.txt in plain `b2sum` format.
        let text = format!("{B2_ABC}  archlinux-bootstrap-x86_64.tar.zst\n");
        let got = expected_of(
            &text,
            "/tmp/b2sums.txt",
            "archlinux-bootstrap-x86_64.tar.zst",
        )
        .unwrap();
        assert_eq!(got[0].algorithm, Algorithm::Blake2b512);
        check(&got, &all_of(b"abc")).unwrap();
    }

    #[test]
    fn bsd_tag_lines() {
        let text = format!(
            "SHA256 (other) = {SHA256_EMPTY}\n\
             SHA256 (./a (1).tar) = {SHA256_ABC}\n\
             SHA512 (a (1).tar) = {SHA512_ABC}\n\
             BLAKE2b (a (1).tar) = {B2_ABC}\n\
             BLAKE2b-512 (a (1).tar) = {B2_ABC}\n\
             MD5 (a (1).tar) = 900150983cd24fb0d6963f7d28e17f72\n\
             SHA2-256(a (1).tar)= {SHA256_ABC}\n"
        );
        let got = expected_of(&text, "CHECKSUM", "a (1).tar").unwrap();
        // Duplicates collapse; MD5 is checked too, beside the strong ones.
        assert_eq!(
            got,
            vec![
                exp(Algorithm::Sha256, SHA256_ABC, "CHECKSUM"),
                exp(Algorithm::Sha512, SHA512_ABC, "CHECKSUM"),
                exp(Algorithm::Blake2b512, B2_ABC, "CHECKSUM"),
                exp(Algorithm::Md5, MD5_ABC, "CHECKSUM"),
            ]
        );
        check(&got, &all_of(b"abc")).unwrap();
    }

    #[test]
    fn only_unsupported_algorithm_is_an_error() {
        let text = format!("WHIRLPOOL (a.tar) = {SHA512_ABC}\n");
        match expected_of(&text, "CHECKSUM", "a.tar") {
            Err(ChecksumError::UnknownAlgorithm { algorithm, origin }) => {
                assert_eq!(algorithm, "WHIRLPOOL");
                assert_eq!(origin, "CHECKSUM");
            }
            other => panic!("{other:?}"),
        }
        // A length that fits no algorithm is malformed.
        let text = format!("{}  a.tar\n", &SHA256_ABC[..48]);
        let err = expected_of(&text, "SUMS", "a.tar").unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed checksum in SUMS line 1: 48 hex digits match no supported algorithm (sha256: 64, sha512: 128, sha1: 40, md5: 32)"
        );
    }

    #[test]
    fn weak_algorithms_alone_verify_nothing() {
        for (text, algorithms) in [
            (format!("MD5 (a.tar) = {MD5_ABC}\n"), "md5"),
            // `md5sum` and `sha1sum` output: told by their length.
            (format!("{MD5_ABC}  a.tar\n"), "md5"),
            (format!("{SHA1_ABC} *a.tar\n"), "sha1"),
            (
                format!("# SHA1 HASH\n{SHA1_ABC}  a.tar\n# MD5 HASH\n{MD5_ABC}  a.tar\n"),
                "sha1 and md5",
            ),
            // One that cannot be computed does not help either.
            (
                format!("SHA1 (a.tar) = {SHA1_ABC}\nWHIRLPOOL (a.tar) = {SHA512_ABC}\n"),
                "sha1",
            ),
        ] {
            let err = parse_checksum_file(&text, "CHECKSUM", "a.tar").unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "CHECKSUM lists a.tar only with {algorithms}, too weak to verify it (collisions can be made); use a checksum file with sha256, sha512 or blake2b512, or --expect"
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn weak_digests_beside_a_strong_one_are_checked() {
        // Gentoo's older DIGESTS files: MD5, SHA1, SHA512 and WHIRLPOOL blocks.
        let digests = |sha1: &str| {
            format!(
                "# MD5 HASH\n{MD5_ABC}  a.tar\n# SHA1 HASH\n{sha1}  a.tar\n\
                 # SHA512 HASH\n{SHA512_ABC}  a.tar\n# WHIRLPOOL HASH\n{SHA512_EMPTY}  a.tar\n\
                 # whirlpool HASH\n{SHA512_EMPTY}  a.tar\n"
            )
        };
        // Unlabelled, as `sha256sum` and `sha1sum` print them, in one file.
        let text = format!("{SHA256_ABC}  a.tar\n{SHA1_ABC}  a.tar\n");
        assert_eq!(
            expected_of(&text, "SUMS", "a.tar").unwrap(),
            vec![
                exp(Algorithm::Sha256, SHA256_ABC, "SUMS"),
                exp(Algorithm::Sha1, SHA1_ABC, "SUMS"),
            ]
        );
        let listing = parse_checksum_file(&digests(SHA1_ABC), "a.DIGESTS", "a.tar").unwrap();
        assert_eq!(
            listing.expected,
            vec![
                exp(Algorithm::Md5, MD5_ABC, "a.DIGESTS"),
                exp(Algorithm::Sha1, SHA1_ABC, "a.DIGESTS"),
                exp(Algorithm::Sha512, SHA512_ABC, "a.DIGESTS"),
            ]
        );
        assert_eq!(listing.unchecked, vec!["WHIRLPOOL".to_owned()]);
        check(&listing.expected, &all_of(b"abc")).unwrap();
        // A wrong SHA-1 beside a right SHA-512 is a mismatch.
        let sha1_empty = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
        let listing = parse_checksum_file(&digests(sha1_empty), "a.DIGESTS", "a.tar").unwrap();
        let err = check(&listing.expected, &all_of(b"abc")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "sha1 mismatch for the input (from a.DIGESTS): expected {sha1_empty}, found {SHA1_ABC}"
            )
        );
    }

    fn gentoo_digests(blake: &str, sha512: &str) -> String {
        format!(
            "-----BEGIN PGP SIGNED MESSAGE-----\n\
             Hash: SHA512\n\
             \n\
             # BLAKE2B HASH\n\
             {blake}  {STAGE3}\n\
             # SHA512 HASH\n\
             {sha512}  {STAGE3}\n\
             # BLAKE2B HASH\n\
             {B2_EMPTY}  {STAGE3}.CONTENTS.gz\n\
             # SHA512 HASH\n\
             {SHA512_EMPTY}  {STAGE3}.CONTENTS.gz\n\
             -----BEGIN PGP SIGNATURE-----\n\
             \n\
             iQIzBAEBCgAdFiEE...\n\
             {SHA512_EMPTY}  {STAGE3}\n\
             -----END PGP SIGNATURE-----\n"
        )
    }

    #[test]
    fn gentoo_digests_clear_signed_two_algorithms() {
        let text = gentoo_digests(B2_ABC, SHA512_ABC);
        let file = format!("{STAGE3}.DIGESTS");
        let got = expected_of(&text, &file, STAGE3).unwrap();
        // Same length, told apart only by the block headers; the line inside
        // the signature armour is not read.
        assert_eq!(
            got,
            vec![
                exp(Algorithm::Blake2b512, B2_ABC, &file),
                exp(Algorithm::Sha512, SHA512_ABC, &file),
            ]
        );
        check(&got, &all_of(b"abc")).unwrap();

        let contents = format!("{STAGE3}.CONTENTS.gz");
        let got = expected_of(&text, &file, &contents).unwrap();
        assert_eq!(got.len(), 2);
        check(&got, &all_of(b"")).unwrap();
    }

    #[test]
    fn gentoo_digests_mismatch_in_one_algorithm() {
        // The BLAKE2b entry is really the digest of something else.
        let text = gentoo_digests(B2_EMPTY, SHA512_ABC);
        let got = expected_of(&text, "DIGESTS", STAGE3).unwrap();
        let computed = MultiHasher::new(&got);
        let mut computed = computed;
        computed.update(b"abc");
        match check(&got, &computed.finish()) {
            Err(ChecksumError::Mismatch {
                algorithm,
                expected,
                found,
                origin,
            }) => {
                assert_eq!(algorithm, Algorithm::Blake2b512);
                assert_eq!(expected, B2_EMPTY);
                assert_eq!(found, B2_ABC);
                assert_eq!(origin, "DIGESTS");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn gentoo_unsupported_block_and_dash_escapes() {
        let text = format!(
            "-----BEGIN PGP SIGNED MESSAGE-----\n\
             Hash: SHA256\n\
             \n\
             - # SHA256 HASH\n\
             {SHA256_ABC}  ./a.tar\n\
             # WHIRLPOOL HASH\n\
             {SHA512_EMPTY}  a.tar\n\
             -----BEGIN PGP SIGNATURE-----\n\
             xx\n\
             -----END PGP SIGNATURE-----\n"
        );
        let got = parse_checksum_file(&text, "a.tar.DIGESTS", "a.tar").unwrap();
        assert_eq!(
            got.expected,
            vec![exp(Algorithm::Sha256, SHA256_ABC, "a.tar.DIGESTS")]
        );
        assert_eq!(got.unchecked, vec!["WHIRLPOOL".to_owned()]);
    }

    #[test]
    fn one_line_files() {
        let got = expected_of(&format!("{SHA256_ABC}\n"), "x.tar.sha256", "x.tar").unwrap();
        assert_eq!(
            got,
            vec![exp(Algorithm::Sha256, SHA256_ABC, "x.tar.sha256")]
        );
        // No trailing newline, hex and name.
        let got = expected_of(&format!("{SHA512_ABC}  x.tar"), "x.tar.sha512", "x.tar").unwrap();
        assert_eq!(got[0].algorithm, Algorithm::Sha512);
        // Output of `sha256sum < x.tar`.
        let got = expected_of(&format!("{SHA256_ABC}  -\n"), "x.sha256", "x.tar").unwrap();
        assert_eq!(got.len(), 1);
        // A bare digest next to named entries is ambiguous and does not count.
        let text = format!("{SHA256_ABC}\n{SHA256_EMPTY}  y.tar\n");
        assert!(matches!(
            expected_of(&text, "SUMS", "x.tar"),
            Err(ChecksumError::NotListed { .. })
        ));
    }

    #[test]
    fn debian_bare_hex_sha256() {
        // Debian publishes `.sha256` files holding only the digest: with or
        // without a newline, CRLF, upper case; the algorithm comes from its length.
        for text in [
            SHA256_ABC.to_string(),
            format!("{SHA256_ABC}\n"),
            format!("{}\r\n", SHA256_ABC.to_uppercase()),
            format!("\n  {SHA256_ABC}  \n\n"),
        ] {
            let got = expected_of(&text, "debian.tar.xz.sha256", "debian.tar.xz").unwrap();
            assert_eq!(
                got,
                vec![exp(Algorithm::Sha256, SHA256_ABC, "debian.tar.xz.sha256")],
                "{text:?}"
            );
        }
    }

    #[test]
    fn verified_text_is_read_whole_and_numbered_from_its_place() {
        // Verified text has no armor left; an armor-like line in it is
        // signed content, not a marker.
        let text = format!("# SHA256 HASH\n{}  a.tar\n", &SHA256_ABC[..60]);
        let err = verified_expected_of(&text, 4, "A.DIGESTS", "a.tar").unwrap_err();
        assert!(
            matches!(err, ChecksumError::Malformed { line: Some(5), .. }),
            "{err:?}"
        );
        let text = format!("-----BEGIN PGP SIGNATURE-----\n{SHA256_ABC}  a.tar\n");
        assert_eq!(
            verified_expected_of(&text, 4, "A", "a.tar").unwrap().len(),
            1
        );
        assert!(is_clear_signed(&gentoo_digests(B2_ABC, SHA512_ABC)));
        assert!(!is_clear_signed(&text));
    }

    #[test]
    fn coreutils_escaped_names() {
        let text = format!("\\{SHA256_ABC}  dir/a\\\\b\\nc.tar\n");
        let got = expected_of(&text, "SHA256SUMS", "a\\b\nc.tar").unwrap();
        assert_eq!(got.len(), 1);
        let text = format!("\\SHA256 (a\\\\b.tar) = {SHA256_ABC}\n");
        let got = expected_of(&text, "SHA256SUMS", "a\\b.tar").unwrap();
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn missing_entry_names_file_and_input() {
        let text = format!("{SHA256_ABC}  other.tar\n{SHA256_ABC}  a.tar.CONTENTS.gz\n");
        let err = expected_of(&text, "SHA256SUMS", "dir/a.tar").unwrap_err();
        match &err {
            ChecksumError::NotListed {
                checksum_file,
                name,
            } => {
                assert_eq!(checksum_file, "SHA256SUMS");
                assert_eq!(name, "a.tar");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(err.to_string(), "SHA256SUMS does not list a.tar");
        assert!(matches!(
            expected_of("", "SHA256SUMS", "a.tar"),
            Err(ChecksumError::NotListed { .. })
        ));
    }

    #[test]
    fn malformed_entries() {
        // Malformed lines for other files are ignored...
        let text = format!(
            "zz  other.tar\n{}  short.tar\nSHA256 (x) = nothex\n{SHA256_ABC}  a.tar\n",
            &SHA256_ABC[..10]
        );
        assert_eq!(expected_of(&text, "SUMS", "a.tar").unwrap().len(), 1);
        // ...but not for the input.
        let text = format!("{SHA256_ABC}  b.tar\n{}  a.tar\n", &SHA256_ABC[..63]);
        let err = expected_of(&text, "SUMS", "a.tar").unwrap_err();
        assert!(
            matches!(&err, ChecksumError::Malformed { origin, line: Some(2), .. } if origin == "SUMS"),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("malformed checksum in SUMS line 2:"),
            "{err}"
        );
        let text = format!("SHA256 (a.tar) = {}x\n", &SHA256_ABC[..63]);
        assert!(matches!(
            expected_of(&text, "SUMS", "a.tar"),
            Err(ChecksumError::Malformed { .. })
        ));
        // Wrong length for the block's algorithm.
        let text = format!("# SHA256 HASH\n{SHA512_ABC}  a.tar\n");
        assert!(matches!(
            expected_of(&text, "DIGESTS", "a.tar"),
            Err(ChecksumError::Malformed { .. })
        ));
        // b2sum with a non-default length.
        let text = format!("{SHA256_ABC}  a.tar\n");
        assert!(matches!(
            expected_of(&text, "B2SUMS", "a.tar"),
            Err(ChecksumError::Malformed { .. })
        ));
    }

    #[test]
    fn same_base_name_with_different_digests_is_ambiguous() {
        let text = format!("{SHA256_ABC}  amd64/rootfs.tar\n{SHA256_EMPTY}  arm64/rootfs.tar\n");
        match expected_of(&text, "SHA256SUMS", "rootfs.tar") {
            Err(ChecksumError::Ambiguous {
                checksum_file,
                name,
                algorithm,
            }) => {
                assert_eq!(checksum_file, "SHA256SUMS");
                assert_eq!(name, "rootfs.tar");
                assert_eq!(algorithm, Algorithm::Sha256);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tag_line_with_empty_digest_is_malformed() {
        let err = expected_of("SHA256 (a.tar) =\n", "SUMS", "a.tar").unwrap_err();
        assert!(err.to_string().contains("64 hex digits, got 0"), "{err}");
        let err = expected_of("SHA512 (a.tar) = ab cd\n", "SUMS", "a.tar").unwrap_err();
        assert!(err.to_string().contains("non-hex character ' '"), "{err}");
    }
}
