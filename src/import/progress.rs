//! What an import is doing, for a progress display on another thread:
//! the phase, and each input in flight with its byte counts.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

/// What an import is doing, for a progress display polling from another thread.
#[derive(Debug, Default)]
pub struct Progress {
    /// What is happening besides reading inputs, e.g. "publishing".
    pub phase: Mutex<String>,
    /// The inputs being read now, in the order they were begun (several
    /// with `--jobs`).
    pub inputs: Mutex<Vec<Arc<InputProgress>>>,
}

/// One input being read.
#[derive(Debug, Default)]
pub struct InputProgress {
    /// What is being done, e.g. "reading rootfs.tar.xz (1/2)".
    pub phase: String,
    /// Input bytes read so far.
    pub bytes: Arc<AtomicU64>,
    /// Its size, 0 when unknown (a pipe).
    pub total: AtomicU64,
}

impl Progress {
    pub(super) fn set_phase(&self, phase: String) {
        if let Ok(mut p) = self.phase.lock() {
            *p = phase;
        }
    }

    /// Show `input` until the returned guard is dropped.
    pub(super) fn begin(self: &Arc<Self>, input: Arc<InputProgress>) -> InFlight {
        if let Ok(mut v) = self.inputs.lock() {
            v.push(input.clone());
        }
        InFlight {
            progress: self.clone(),
            input,
        }
    }
}

/// An input shown as in flight; dropping it takes it off the display.
pub(super) struct InFlight {
    progress: Arc<Progress>,
    input: Arc<InputProgress>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut v) = self.progress.inputs.lock() {
            v.retain(|i| !Arc::ptr_eq(i, &self.input));
        }
    }
}
