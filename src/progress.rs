//! The progress bar on stderr (binary only): polls the library's shared
//! [`Progress`] so the pipeline never waits on the terminal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use ociimport::import::Progress;

/// The bar on screen, if any: a line printed while it is drawn goes above it.
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Print `line` on stderr, above the progress bar if one is drawn.
pub fn say_above(line: &str) {
    let bar = SHOWN.lock().ok().and_then(|b| b.clone());
    match bar {
        Some(b) => b.suspend(|| crate::say(line)),
        None => crate::say(line),
    }
}

/// A running progress display.
pub struct Bar {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Bar {
    /// Start drawing `progress` on stderr.
    pub fn start(progress: Arc<Progress>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let bar = ProgressBar::new(0);
        if let Ok(mut shown) = SHOWN.lock() {
            *shown = Some(bar.clone());
        }
        let thread = std::thread::spawn(move || {
            let known = ProgressStyle::with_template(
                "{msg:30!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .map(|s| s.progress_chars("=> "))
            .ok();
            let unknown =
                ProgressStyle::with_template("{spinner} {msg:30!} {bytes} {bytes_per_sec}").ok();
            while !flag.load(Ordering::Relaxed) {
                let total = progress.total.load(Ordering::Relaxed);
                let style = if total > 0 {
                    known.clone()
                } else {
                    unknown.clone()
                };
                if let Some(s) = style {
                    bar.set_style(s);
                }
                bar.set_length(total);
                bar.set_position(progress.bytes.load(Ordering::Relaxed));
                if let Ok(p) = progress.phase.lock() {
                    bar.set_message(p.clone());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Remove the bar before the summary is printed.
    pub fn stop(mut self) {
        if let Ok(mut shown) = SHOWN.lock() {
            *shown = None;
        }
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
