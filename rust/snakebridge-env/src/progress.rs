//! Progress of long steps: a spinner on a terminal, plain lines otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Reports steps on stderr.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    quiet: bool,
    terminal: bool,
}

/// One running step; [`Step::done`] ends it.
pub struct Step {
    bar: Option<ProgressBar>,
    message: String,
    start: Instant,
    progress: Progress,
}

impl Progress {
    /// Spinners when stderr is a terminal; nothing at all when `quiet`.
    pub fn new(quiet: bool) -> Progress {
        Progress {
            quiet,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Starts a step.
    pub fn step(&self, message: impl Into<String>) -> Step {
        let message = message.into();
        let bar = (!self.quiet && self.terminal).then(|| {
            let bar = ProgressBar::new_spinner().with_message(message.clone());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Step {
            bar,
            message,
            start: Instant::now(),
            progress: *self,
        }
    }

    /// A line of its own.
    pub fn note(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }
}

impl Step {
    /// Ends the step with its duration.
    pub fn done(self) {
        let line = format!(
            "==> {} ({:.2} s)",
            self.message,
            self.start.elapsed().as_secs_f64()
        );
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.progress.note(&line);
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
