//! Arbitrary bytes through what an input goes through: format detection,
//! the decoder of the detected format, the streaming tar scanner and the
//! platform observer.
//!
//! Properties checked besides "no crash, no hang, bounded memory":
//! - the scanner's verdict (summary or error, with its offset) does not
//!   depend on how the stream is cut into chunks;
//! - a summary never counts more entries than 512-byte blocks seen.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use ociimport::fuzzing::{
    DecodeOptions, Decoder, PlatformObserver, SNIFF_LEN, TarError, TarScanner, TarSummary,
    describe_unknown, detect,
};

/// Decoded bytes examined per input: enough for many entries, small enough
/// that a bomb cannot make one run slow.
const MAX_DECODED: usize = 4 << 20;

fn scan(data: &[u8], chunk: usize) -> Result<TarSummary, TarError> {
    let mut s = TarScanner::new(PlatformObserver::new());
    for piece in data.chunks(chunk.max(1)) {
        if s.feed(piece).is_err() {
            break;
        }
    }
    s.finish().map(|(summary, observer)| {
        // The tally must be readable whatever the observer saw.
        let _ = observer.into_tally().result();
        summary
    })
}

fuzz_target!(|data: &[u8]| {
    let head = &data[..data.len().min(SNIFF_LEN)];
    let _ = describe_unknown(head);

    // The raw bytes as a tar stream, cut two ways.
    let whole = scan(data, usize::MAX);
    let cut = 1 + usize::from(data.first().copied().unwrap_or(0)) % 700;
    let split = scan(data, cut);
    assert_eq!(whole, split, "chunking changed the verdict (chunk {cut})");
    if let Ok(s) = &whole {
        assert!(s.entries <= data.len() as u64 / 512);
    }

    let Some(format) = detect(head) else {
        return;
    };
    // Production decode options (xz: one thread, 1 GiB memory limit).
    let Ok(mut dec) = Decoder::new(format, data, DecodeOptions::default()) else {
        return;
    };
    let mut decoded = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while decoded.len() < MAX_DECODED {
        match dec.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => decoded.extend_from_slice(&buf[..n]),
        }
    }
    let whole = scan(&decoded, usize::MAX);
    let split = scan(&decoded, 4096 + cut);
    assert_eq!(whole, split, "chunking changed the verdict on decoded data");
});
