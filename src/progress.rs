//! The progress bars on stderr (binary only): one per input in flight
//! (several with `--jobs`), else one line saying what the import does; a
//! thread polls the library's shared [`Progress`] so the pipeline never
//! waits on the terminal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use ociimport::import::{InputProgress, Progress};

/// The bars on screen, if any: a line printed while they are drawn goes above them.
static SHOWN: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Print `line` on stderr, above the progress bars if any are drawn.
pub fn say_above(line: &str) {
    let bars = SHOWN.lock().ok().and_then(|b| b.clone());
    match bars {
        Some(b) => b.suspend(|| crate::say(line)),
        None => crate::say(line),
    }
}

/// The two looks of a bar: size known, size unknown (a pipe).
struct Styles {
    known: Option<ProgressStyle>,
    unknown: Option<ProgressStyle>,
}

impl Styles {
    fn new() -> Self {
        let known = ProgressStyle::with_template(
            "{msg:30!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .map(|s| s.progress_chars("=> "))
        .ok();
        let unknown =
            ProgressStyle::with_template("{spinner} {msg:30!} {bytes} {bytes_per_sec}").ok();
        Self { known, unknown }
    }

    /// Bring `bar` up to date with `input`.
    fn show(&self, bar: &ProgressBar, input: &InputProgress) {
        let total = input.total.load(Ordering::Relaxed);
        let style = if total > 0 {
            &self.known
        } else {
            &self.unknown
        };
        if let Some(s) = style {
            bar.set_style(s.clone());
        }
        bar.set_length(total);
        bar.set_position(input.bytes.load(Ordering::Relaxed));
    }
}

/// One poll: a bar per input in flight (new ones added, finished ones
/// removed), and the phase line only while no input is.
fn refresh(
    multi: &MultiProgress,
    bars: &mut Vec<(Arc<InputProgress>, ProgressBar)>,
    phase: &ProgressBar,
    progress: &Progress,
    styles: &Styles,
) {
    let now: Vec<Arc<InputProgress>> = progress
        .inputs
        .lock()
        .map(|v| v.clone())
        .unwrap_or_default();
    // The phase line goes first: a bar added below draws at once.
    let message = match now.is_empty() {
        true => progress.phase.lock().map(|p| p.clone()).unwrap_or_default(),
        false => String::new(),
    };
    phase.set_message(message);
    bars.retain(|(input, bar)| {
        let live = now.iter().any(|n| Arc::ptr_eq(n, input));
        if !live {
            bar.finish_and_clear();
            multi.remove(bar);
        }
        live
    });
    for input in now {
        if !bars.iter().any(|(i, _)| Arc::ptr_eq(i, &input)) {
            // Styled before it is added, so no frame shows the default style.
            let bar = ProgressBar::new(0).with_message(input.phase.clone());
            styles.show(&bar, &input);
            bars.push((input, multi.add(bar)));
        }
    }
    for (input, bar) in bars.iter() {
        styles.show(bar, input);
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
        let multi = MultiProgress::new();
        if let Ok(mut shown) = SHOWN.lock() {
            *shown = Some(multi.clone());
        }
        let thread = std::thread::spawn(move || {
            let styles = Styles::new();
            let phase = ProgressBar::new(0);
            if let Ok(s) = ProgressStyle::with_template("{msg}") {
                phase.set_style(s);
            }
            let phase = multi.add(phase);
            let mut bars = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                refresh(&multi, &mut bars, &phase, &progress, &styles);
                std::thread::sleep(Duration::from_millis(100));
            }
            for (_, bar) in &bars {
                bar.finish_and_clear();
            }
            phase.finish_and_clear();
            let _ = multi.clear();
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
