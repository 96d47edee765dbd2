//! Every gzip member, each header judged as it is reached.
//!
//! Like flate2's `MultiGzDecoder`, but the member loop is ours: each member
//! is one `flate2::bufread::GzDecoder` over a reader that can show us the
//! next header first, so that a header a consumer would read differently
//! (see [`super::framing`]) is seen wherever it is in the stream.

use std::io::{self, BufRead, Read};

use super::TrailingData;
use super::framing::{GzipHeader, MAX_GZIP_HEADER, UnsafeFraming, gzip_header};

/// A buffered reader that can make sure the next `n` bytes are buffered.
pub(crate) struct Peek<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    /// Bytes consumed so far: the offset of the next one in the stream.
    consumed: u64,
}

impl<R: Read> Peek<R> {
    fn new(inner: R) -> Self {
        Peek {
            inner,
            buf: Vec::with_capacity(1 << 17),
            pos: 0,
            consumed: 0,
        }
    }

    /// At least `n` buffered bytes, or all that are left before the end.
    fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.buf.len() - self.pos < n {
            self.buf.drain(..self.pos);
            self.pos = 0;
            while self.buf.len() < n {
                let have = self.buf.len();
                self.buf.resize(have.max(n).max(1 << 16), 0);
                let got = loop {
                    match self.inner.read(&mut self.buf[have..]) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        r => break r,
                    }
                };
                let got = match got {
                    Ok(g) => g,
                    Err(e) => {
                        self.buf.truncate(have);
                        return Err(e);
                    }
                };
                self.buf.truncate(have + got);
                if got == 0 {
                    break;
                }
            }
        }
        Ok(&self.buf[self.pos..])
    }

    /// The inner reader; bytes still buffered are dropped, so call this at the end only.
    fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for Peek<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let b = self.fill_buf()?;
            let n = b.len().min(out.len());
            out[..n].copy_from_slice(&b[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Peek<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.peek(1)
    }

    fn consume(&mut self, amt: usize) {
        let amt = amt.min(self.buf.len() - self.pos);
        self.pos += amt;
        self.consumed += amt as u64;
    }
}

enum State<R> {
    /// Between members: the next header is judged before it is decoded.
    Boundary(Peek<R>),
    Member(Box<flate2::bufread::GzDecoder<Peek<R>>>),
    Done(Peek<R>),
    /// Only while switching states.
    Empty,
}

/// Decodes every gzip member of `R`.
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct GzMembers<R> {
    state: State<R>,
    members: u64,
    /// Headers a consumer reads differently, when not refused at once.
    problems: Vec<String>,
    /// Refuse (with [`UnsafeFraming`]) a header a consumer would read differently.
    consumer_safe: bool,
}

impl<R: Read> GzMembers<R> {
    /// A decoder over `inner`; with `consumer_safe`, a member header that a
    /// consumer reads differently is an error carrying [`UnsafeFraming`].
    pub(crate) fn new(inner: R, consumer_safe: bool) -> Self {
        GzMembers {
            state: State::Boundary(Peek::new(inner)),
            members: 0,
            problems: Vec::new(),
            consumer_safe,
        }
    }

    /// Member headers a consumer reads differently (when not refused at once).
    pub(crate) fn problems(&self) -> &[String] {
        &self.problems
    }

    /// The inner reader, once every member was decoded.
    pub(crate) fn into_inner(self) -> io::Result<R> {
        match self.state {
            State::Done(p) | State::Boundary(p) => Ok(p.into_inner()),
            State::Member(d) => Ok(d.into_inner().into_inner()),
            State::Empty => Err(io::Error::other("gzip decoder used after a failure")),
        }
    }

    /// At a boundary: end of input, or the next member (judged) begins.
    fn next_member(&mut self, mut peek: Peek<R>) -> io::Result<()> {
        let (end, judged, magic) = match peek.peek(MAX_GZIP_HEADER) {
            Ok(head) => (
                head.is_empty(),
                gzip_header(head),
                head.iter().zip([0x1f, 0x8b]).all(|(a, b)| *a == b),
            ),
            Err(e) => {
                self.state = State::Boundary(peek);
                return Err(e);
            }
        };
        if end && self.members > 0 {
            self.state = State::Done(peek);
            return Ok(());
        }
        if self.members > 0 && !magic {
            // Not a member: bytes after the gzip data. Say where they start,
            // which flate2's "invalid gzip header" does not.
            let offset = peek.consumed;
            self.state = State::Boundary(peek);
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                TrailingData { offset },
            ));
        }
        if let GzipHeader::Complete { problems, .. } = judged
            && let Some(p) = problems.into_iter().next()
        {
            let what = format!("gzip member {}: {p}", self.members + 1);
            if self.consumer_safe {
                self.state = State::Boundary(peek);
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    UnsafeFraming(what),
                ));
            }
            // A bomb of bad members must not grow the list without end.
            if self.problems.len() < 8 {
                self.problems.push(what);
            }
        }
        // Anything else (not gzip, cut short) is for flate2 to refuse.
        self.members += 1;
        self.state = State::Member(Box::new(flate2::bufread::GzDecoder::new(peek)));
        Ok(())
    }
}

impl<R: Read> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match std::mem::replace(&mut self.state, State::Empty) {
                State::Boundary(peek) => self.next_member(peek)?,
                State::Member(mut d) => match d.read(buf) {
                    Ok(0) => self.state = State::Boundary(d.into_inner()),
                    Ok(n) => {
                        self.state = State::Member(d);
                        return Ok(n);
                    }
                    Err(e) => {
                        self.state = State::Member(d);
                        return Err(e);
                    }
                },
                State::Done(p) => {
                    self.state = State::Done(p);
                    return Ok(0);
                }
                State::Empty => return Err(io::Error::other("gzip decoder used after a failure")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn member(data: &[u8], name: Option<&str>) -> Vec<u8> {
        let mut b = flate2::GzBuilder::new();
        if let Some(n) = name {
            b = b.filename(n);
        }
        let mut e = b.write(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn decode(data: &[u8], safe: bool) -> io::Result<Vec<u8>> {
        let mut d = GzMembers::new(data, safe);
        let mut out = Vec::new();
        d.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn every_member_is_decoded_in_small_reads() {
        let mut data = member(b"hello ", None);
        data.extend(member(b"world", Some("x")));
        data.extend(member(&[7u8; 300_000], None));
        let mut want = b"hello world".to_vec();
        want.extend([7u8; 300_000]);
        assert_eq!(decode(&data, true).unwrap(), want);
        let mut d = GzMembers::new(&data[..], true);
        let mut out: Vec<u8> = Vec::new();
        let mut buf = [0u8; 3];
        loop {
            let n = d.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend(&buf[..n]);
        }
        assert_eq!(out, want);
        assert_eq!(d.into_inner().unwrap().len(), 0, "everything consumed");
    }

    #[test]
    fn a_later_member_with_fhcrc_and_a_name_is_unsafe_only_when_asked() {
        let mut data = member(b"first", None);
        let mut second = member(b"second", Some("n"));
        // Set FHCRC and insert the (correct-for-flate2) CRC16 after the name.
        second[3] |= 0x02;
        let name_end = 10 + second[10..].iter().position(|&b| b == 0).unwrap() + 1;
        let crc = crc32fast::hash(&second[..name_end]) as u16;
        second.splice(name_end..name_end, crc.to_le_bytes());
        data.extend(&second);
        assert_eq!(decode(&data, false).unwrap(), b"firstsecond");
        let e = decode(&data, true).unwrap_err();
        let inner = e.get_ref().and_then(|i| i.downcast_ref::<UnsafeFraming>());
        assert!(inner.unwrap().0.starts_with("gzip member 2: "), "{e}");
    }

    #[test]
    fn garbage_after_the_last_member_and_truncation_are_errors() {
        let mut data = member(b"x", None);
        data.extend(member(b"y", None));
        let end = data.len() as u64;
        data.extend(b"garbage!garbage!");
        let e = decode(&data, false).unwrap_err();
        let t = e.get_ref().and_then(|i| i.downcast_ref::<TrailingData>());
        assert_eq!(t, Some(&TrailingData { offset: end }), "{e}");
        // A lone zero byte is not a member either.
        let e = decode(&[&member(b"x", None)[..], &[0]].concat(), false).unwrap_err();
        assert!(e.get_ref().is_some_and(|i| i.is::<TrailingData>()), "{e}");
        let whole = member(&[1u8; 1000], None);
        assert!(decode(&whole[..whole.len() - 3], false).is_err());
        assert!(decode(b"", false).is_err());
    }
}
