//! The low-speed rule, as curl's `--speed-limit`/`--speed-time`: a server
//! that sends a byte every few seconds makes every read succeed, so no
//! per-read timeout ever fires; averaging over a window catches it.
//!
//! Only the time spent waiting inside the body's reads counts: while the
//! pipeline is busy (decoding, encoding, writing) the socket buffers, and
//! a slow consumer must not make the server look slow.

use std::time::Duration;

/// A window of waiting that brought too few bytes.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct TooSlow {
    /// Bytes that arrived in the window.
    pub bytes: u64,
    /// Time spent waiting for them.
    pub waited: Duration,
}

/// The running window of one connection.
#[derive(Debug)]
pub(super) struct SpeedCheck {
    /// Bytes per second; 0 turns the check off.
    limit: u64,
    window: Duration,
    waited: Duration,
    bytes: u64,
}

impl SpeedCheck {
    pub(super) fn new(limit: u64, window: Duration) -> Self {
        SpeedCheck {
            limit,
            window,
            waited: Duration::ZERO,
            bytes: 0,
        }
    }

    /// Start over: a new connection gets a fresh window.
    pub(super) fn restart(&mut self) {
        self.waited = Duration::ZERO;
        self.bytes = 0;
    }

    /// `bytes` arrived after waiting `waited`; once a window's worth of
    /// waiting has passed, its average must reach the limit.
    pub(super) fn record(&mut self, bytes: u64, waited: Duration) -> Result<(), TooSlow> {
        if self.limit == 0 {
            return Ok(());
        }
        self.waited = self.waited.saturating_add(waited);
        self.bytes = self.bytes.saturating_add(bytes);
        if self.waited < self.window {
            return Ok(());
        }
        // Integer milliseconds: bytes/s < limit <=> bytes*1000 < limit*ms.
        let needed = u128::from(self.limit) * self.waited.as_millis();
        let slow = u128::from(self.bytes) * 1000 < needed;
        let seen = TooSlow {
            bytes: self.bytes,
            waited: self.waited,
        };
        self.restart();
        if slow { Err(seen) } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_drip_fails_once_the_window_has_passed() {
        let mut c = SpeedCheck::new(100, 2 * S);
        // One byte a second: under 100 B/s, refused after 2 s of waiting.
        assert_eq!(c.record(1, S), Ok(()));
        assert_eq!(
            c.record(1, S),
            Err(TooSlow {
                bytes: 2,
                waited: 2 * S
            })
        );
    }

    #[test]
    fn enough_bytes_pass_and_start_a_new_window() {
        let mut c = SpeedCheck::new(100, 2 * S);
        assert_eq!(c.record(200, 2 * S), Ok(()), "exactly the limit passes");
        // The next window is judged on its own: a burst does not carry over.
        assert_eq!(c.record(0, S), Ok(()));
        assert_eq!(
            c.record(1, S),
            Err(TooSlow {
                bytes: 1,
                waited: 2 * S
            })
        );
    }

    #[test]
    fn a_restart_forgets_the_window_and_zero_turns_it_off() {
        let mut c = SpeedCheck::new(100, 2 * S);
        assert_eq!(c.record(1, S), Ok(()));
        c.restart();
        // Without the restart this would be 2 bytes in 2 s.
        assert_eq!(c.record(1, S), Ok(()));
        let mut off = SpeedCheck::new(0, 2 * S);
        assert_eq!(off.record(0, 100 * S), Ok(()));
    }
}
