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
use crate::error::Result;

/// Most downloads in flight by default: enough for a distribution's
/// architectures from one mirror, few enough not to be rude to it.
const NETWORK_CAP: usize = 8;

/// The default `--jobs` for `inputs` on a machine of `cores` cores.
///
/// A URL is network-bound: its pipeline waits on the link, so every one
/// (up to [`NETWORK_CAP`]) runs at once. A local file is CPU-bound and its
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

/// The cancel flag the inputs of one import share.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cancel(Arc<AtomicBool>);

impl Cancel {
    fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
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
        if self.cancel.is_set() {
            // Never reported: the input that failed first is.
            return Err(io::Error::other("cancelled: another input failed"));
        }
        self.inner.read(buf)
    }
}

/// Run `read(i, cancel)` for every `i < count`, at most `jobs` at a time,
/// and return the results in index order. The first error cancels the
/// rest and is returned; later errors (the cancelled inputs') are dropped.
pub(crate) fn read_all<T, F>(count: usize, jobs: usize, read: F) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(usize, &Cancel) -> Result<T> + Sync,
{
    let cancel = Cancel::default();
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<T>>> = Mutex::new((0..count).map(|_| None).collect());
    let first: Mutex<Option<crate::error::Error>> = Mutex::new(None);
    let worker = || {
        while !cancel.is_set() {
            let i = next.fetch_add(1, Ordering::SeqCst);
            if i >= count {
                break;
            }
            let result = read(i, &cancel);
            let mut slots = slots.lock().unwrap_or_else(|p| p.into_inner());
            match result {
                Ok(t) => slots[i] = Some(t),
                Err(e) => {
                    let mut first = first.lock().unwrap_or_else(|p| p.into_inner());
                    if first.is_none() {
                        *first = Some(e);
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
    if let Some(e) = first.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let slots = slots.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(slots.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
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
