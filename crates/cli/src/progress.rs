//! Progress bars on the terminal for long operations, behind the `domain::Progress` trait.

use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Mutex;

/// Draws one progress bar per stage on standard error; hidden when standard error is not a
/// terminal, so logs and pipes stay clean.
pub struct TerminalProgress {
    bar: Mutex<Option<ProgressBar>>,
}

impl TerminalProgress {
    /// A progress display with no stage started yet.
    pub fn new() -> Self {
        TerminalProgress {
            bar: Mutex::new(None),
        }
    }
}

impl Default for TerminalProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl domain::Progress for TerminalProgress {
    fn stage(&self, name: &str, total: u64) {
        let bar = if total == 0 {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::new(total)
        };
        let style = ProgressStyle::with_template(
            "{spinner} {msg:<28} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} ({per_sec})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(name.to_string());
        if let Ok(mut slot) = self.bar.lock()
            && let Some(old) = slot.replace(bar)
        {
            old.finish();
        }
    }

    fn inc(&self, n: u64) {
        if let Ok(slot) = self.bar.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish();
        }
    }
}
