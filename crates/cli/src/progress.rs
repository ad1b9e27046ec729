//! The progress bar of `restore`, `verify`, `demo` and `vss restore` (indicatif), on stderr and
//! only when stderr is a terminal.

use std::sync::Arc;

use dedup_restore::{Progress, ProgressFn};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A byte-progress bar labelled `label`.
pub(crate) struct Bar(ProgressBar);

impl Bar {
    /// A bar for `label` (hidden when stderr is not a terminal, and with `--quiet`).
    pub(crate) fn new(label: &'static str) -> Self {
        let target = if crate::output::quiet() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(0), target);
        let style = ProgressStyle::with_template(
            "{prefix} [{bar:30}] {percent:>3}% {decimal_bytes} / {decimal_total_bytes} {decimal_bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("#>-");
        bar.set_style(style);
        bar.set_prefix(label);
        Self(bar)
    }

    /// A callback for the engine's progress.
    pub(crate) fn callback(&self) -> ProgressFn {
        let bar = self.0.clone();
        Arc::new(move |p: Progress| {
            bar.set_length(p.bytes_total);
            bar.set_position(p.bytes_done);
        })
    }

    /// Clears the bar.
    pub(crate) fn finish(&self) {
        self.0.finish_and_clear();
    }
}
