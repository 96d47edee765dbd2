//! `--jobs`: independent inputs read at once, each in its own single
//! streaming pass, their results kept in argument order.
//!
//! The first input to fail sets a shared cancel flag; every other input's
//! reader checks it on each read and stops, so a failure never waits for
//! the others' downloads. Its error is the one returned; what the cancelled
//! inputs return is dropped with their temporary blobs.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::InputSource;
use crate::error::{Error, Result};

/// Most downloads in flight by default: enough for a distribution's
/// architectures from one mirror, few enough not to be rude to it.
const NETWORK_CAP: usize = 8;

/// The default `--jobs` for `inputs` on a machine of `cores` cores.
///
/// A URL is network-bound: its pipeline waits on the link, so every one
/// (up to 8) runs at once. A local file is CPU-bound and its
/// pipeline already keeps about two cores busy (decode; hash, scan and
/// encode), so local files alone run `cores / 2` at a time: one on two
/// cores, exactly today's order and speed.
pub fn default_jobs(inputs: &[InputSource], cores: usize) -> usize {
    let n = inputs.len().max(1);
    if inputs.iter().any(|i| matches!(i, InputSource::Url(_))) {
        n.min(NETWORK_CAP)
    } else {
        n.min((cores / 2).max(1))
    }
}

/// The cancel flag the inputs of one import share, as one input sees it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cancel {
    shared: Arc<AtomicBool>,
    /// This input stopped because of the flag: its error is not its own.
    tripped: Arc<AtomicBool>,
}

impl Cancel {
    /// The same flag, seen by another input.
    fn for_input(&self) -> Self {
        Cancel {
            shared: self.shared.clone(),
            tripped: Arc::default(),
        }
    }

    fn set(&self) {
        self.shared.store(true, Ordering::SeqCst);
    }

    fn is_set(&self) -> bool {
        self.shared.load(Ordering::SeqCst)
    }

    /// Whether this input must stop now; if so, it is marked as stopped by it.
    pub(crate) fn stops(&self) -> bool {
        let set = self.is_set();
        if set {
            self.tripped.store(true, Ordering::SeqCst);
        }
        set
    }

    fn tripped(&self) -> bool {
        self.tripped.load(Ordering::SeqCst)
    }
}

/// A reader that fails as soon as its import is cancelled.
pub(crate) struct CancelReader<R> {
    inner: R,
    cancel: Cancel,
}

impl<R> CancelReader<R> {
    pub(crate) fn new(inner: R, cancel: Cancel) -> Self {
        Self { inner, cancel }
    }
}

impl<R: Read> Read for CancelReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.stops() {
            // Never reported: the input that failed first is.
            return Err(io::Error::other("cancelled: another input failed"));
        }
        self.inner.read(buf)
    }
}

/// Run `read(i, cancel)` for every `i < count`, at most `jobs` at a time,
/// and return the results in index order. The first error cancels the
/// rest and is returned, with those of inputs that failed on their own
/// meanwhile ([`Error::Inputs`]); the cancelled inputs' are dropped.
pub(crate) fn read_all<T, F>(count: usize, jobs: usize, read: F) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(usize, &Cancel) -> Result<T> + Sync,
{
    let cancel = Cancel::default();
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<T>>> = Mutex::new((0..count).map(|_| None).collect());
    let failed: Mutex<Vec<Error>> = Mutex::new(Vec::new());
    let worker = || {
        while !cancel.is_set() {
            let i = next.fetch_add(1, Ordering::SeqCst);
            if i >= count {
                break;
            }
            let mine = cancel.for_input();
            let result = read(i, &mine);
            match result {
                Ok(t) => lock(&slots)[i] = Some(t),
                Err(e) => {
                    let mut failed = lock(&failed);
                    if failed.is_empty() || !mine.tripped() {
                        failed.push(e);
                        cancel.set();
                    }
                }
            }
        }
    };
    let workers = jobs.clamp(1, count.max(1));
    if workers == 1 {
        // Today's order exactly, on this thread.
        worker();
    } else {
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(worker);
            }
        });
    }
    let mut failed = failed.into_inner().unwrap_or_else(|p| p.into_inner());
    if !failed.is_empty() {
        let first = failed.remove(0);
        return Err(match failed.is_empty() {
            true => first,
            false => Error::Inputs {
                first: Box::new(first),
                others: failed,
            },
        });
    }
    let slots = slots.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(slots.into_iter().flatten().collect())
}

/// A lock a panicked worker may have poisoned: its data is still whole.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    #[test]
    fn results_come_in_index_order_whatever_finishes_first() {
        // All three wait for each other, then finish last-index first.
        let barrier = Barrier::new(3);
        let order = Mutex::new(Vec::new());
        let out = read_all(3, 3, |i, _| {
            barrier.wait();
            std::thread::sleep(std::time::Duration::from_millis(10 * (3 - i as u64)));
            order.lock().unwrap().push(i);
            Ok(i * 10)
        })
        .unwrap();
        assert_eq!(out, [0, 10, 20]);
        assert_eq!(*order.lock().unwrap(), [2, 1, 0]);
    }

    #[test]
    fn first_error_cancels_the_others_and_is_the_one_returned() {
        let barrier = Barrier::new(2);
        let e = read_all::<(), _>(2, 2, |i, cancel| {
            barrier.wait();
            if i == 1 {
                return Err(Error::Usage("input 1 failed".into()));
            }
            // Input 0 reads until it is cancelled.
            let mut r = CancelReader::new(io::repeat(0), cancel.clone());
            let mut buf = [0u8; 16];
            loop {
                if let Err(e) = r.read(&mut buf) {
                    return Err(Error::Usage(format!("input 0: {e}")));
                }
            }
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "input 1 failed");
    }

    #[test]
    fn inputs_that_fail_on_their_own_are_named_after_the_first() {
        let barrier = Barrier::new(2);
        let e = read_all::<(), _>(2, 2, |i, cancel| {
            barrier.wait();
            // Input 1 fails after input 0, on its own (not at a read).
            while i == 1 && !cancel.is_set() {
                std::thread::yield_now();
            }
            Err(Error::Usage(format!("input {i} failed")))
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "input 0 failed (also: input 1 failed)");
    }

    #[test]
    fn one_job_runs_in_argument_order_and_stops_at_the_first_error() {
        let seen = Mutex::new(Vec::new());
        let e = read_all(3, 1, |i, _| {
            seen.lock().unwrap().push(i);
            if i == 1 {
                Err(Error::Usage("stop".into()))
            } else {
                Ok(i)
            }
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "stop");
        assert_eq!(*seen.lock().unwrap(), [0, 1]);
    }

    #[test]
    fn default_jobs_fits_the_inputs() {
        let files: Vec<_> = (0..4)
            .map(|i| InputSource::Path(format!("{i}.tar").into()))
            .collect();
        assert_eq!(default_jobs(&files, 2), 1);
        assert_eq!(default_jobs(&files, 8), 4);
        assert_eq!(default_jobs(&files[..1], 8), 1);
        let mut urls = files.clone();
        urls.push(InputSource::Url("http://127.0.0.1/x.tar".into()));
        assert_eq!(default_jobs(&urls, 2), 5);
        let many: Vec<_> = (0..20)
            .map(|i| InputSource::Url(format!("http://127.0.0.1/{i}.tar")))
            .collect();
        assert_eq!(default_jobs(&many, 2), 8);
    }
}
