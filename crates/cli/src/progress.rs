//! The progress line of `restore`, `verify`, `demo` and `vss restore` (drawn by indicatif), on
//! stderr and only when stderr is a terminal (never with `--quiet`): the phase, files done of
//! all, bytes done of all (the units of the final summary), percent, rate and time left,
//! fitted to the terminal's width by leaving out the least useful fields first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dedup_restore::{Progress, ProgressFn};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::units::size as human;

/// A progress line labelled `label`.
pub(crate) struct Bar(ProgressBar);

impl Bar {
    /// A line for `label` (hidden when stderr is not a terminal, and with `--quiet`).
    pub(crate) fn new(label: &'static str) -> Self {
        let target = if crate::output::quiet() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(
            ProgressStyle::with_template("{msg}").unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(label);
        Self(bar)
    }

    /// A callback for the engine's progress.
    pub(crate) fn callback(&self) -> ProgressFn {
        let bar = self.0.clone();
        let started = Instant::now();
        Arc::new(move |p: Progress| {
            if bar.is_hidden() {
                return;
            }
            let width = terminal_width().unwrap_or(80);
            bar.set_message(line(&bar.prefix(), &p, started.elapsed(), width));
        })
    }

    /// Clears the line.
    pub(crate) fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// The width of the terminal on stderr.
#[cfg(unix)]
fn terminal_width() -> Option<usize> {
    rustix::termios::tcgetwinsize(std::io::stderr())
        .ok()
        .map(|w| usize::from(w.ws_col))
        .filter(|&w| w > 0)
}

/// The width of the terminal on stderr (not asked on this host: 80).
#[cfg(not(unix))]
fn terminal_width() -> Option<usize> {
    None
}

/// The progress line at `width` columns: `restore rebuilding  1200/20000 files  12.00 MiB /
/// 1.00 GiB  1%  0.25 GiB/s  ETA 3m58s`; the ETA, then the rate, then the byte counts are left
/// out when the line would be wider.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
pub(crate) fn line(label: &str, p: &Progress, elapsed: Duration, width: usize) -> String {
    let secs = elapsed.as_secs_f64();
    let percent = (p.bytes_done.min(p.bytes_total).saturating_mul(100))
        .checked_div(p.bytes_total)
        .unwrap_or(100);
    let rate = if secs > 0.0 {
        p.bytes_done as f64 / secs
    } else {
        0.0
    };
    let left = p.bytes_total.saturating_sub(p.bytes_done);
    let eta = if rate > 0.0 {
        format!("ETA {}", clock((left as f64 / rate).ceil() as u64))
    } else {
        "ETA -".to_owned()
    };
    let head = format!(
        "{label} {:<10} {}/{} files",
        p.phase.name(),
        p.files_done,
        p.files_total
    );
    let bytes = format!(
        "{} / {}  {percent}%",
        human(p.bytes_done),
        human(p.bytes_total)
    );
    let rate = format!("{:.2} GiB/s", rate / f64::from(1u32 << 30));
    // Widest first; the first that fits is drawn.
    let choices = [
        format!("{head}  {bytes}  {rate}  {eta}"),
        format!("{head}  {bytes}  {rate}"),
        format!("{head}  {bytes}"),
        head.clone(),
    ];
    choices
        .into_iter()
        .find(|c| c.chars().count() <= width)
        .unwrap_or_else(|| head.chars().take(width).collect())
}

/// `45s`, `3m58s`, `2h05m`.
fn clock(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::line;
    use dedup_restore::{Phase, Progress};
    use std::time::Duration;

    fn sample() -> Progress {
        Progress {
            bytes_done: 268_435_456,
            bytes_total: 1_073_741_824,
            files_done: 5_000,
            files_total: 20_000,
            phase: Phase::Rebuilding,
        }
    }

    #[test]
    fn the_line_has_phase_files_bytes_percent_rate_and_eta() {
        assert_eq!(
            line("restore", &sample(), Duration::from_secs(2), 100),
            "restore rebuilding 5000/20000 files  256.00 MiB / 1.00 GiB  25%  0.12 GiB/s  ETA 6s"
        );
    }

    #[test]
    fn a_narrow_terminal_drops_eta_then_rate_then_bytes() {
        let p = sample();
        let at = |w| line("restore", &p, Duration::from_secs(2), w);
        assert_eq!(
            at(80),
            "restore rebuilding 5000/20000 files  256.00 MiB / 1.00 GiB  25%  0.12 GiB/s"
        );
        assert_eq!(
            at(73),
            "restore rebuilding 5000/20000 files  256.00 MiB / 1.00 GiB  25%"
        );
        assert_eq!(at(40), "restore rebuilding 5000/20000 files");
        assert_eq!(at(10), "restore re");
        for w in [10, 40, 73, 80, 100] {
            assert!(at(w).chars().count() <= w, "{w}");
        }
    }

    #[test]
    fn before_any_byte_the_eta_is_unknown_and_long_runs_read_in_hours() {
        let mut p = sample();
        p.bytes_done = 0;
        p.phase = Phase::Copying;
        assert!(line("verify", &p, Duration::ZERO, 200).ends_with("0.00 GiB/s  ETA -"));
        p.bytes_done = 1_000_000;
        assert!(line("restore", &p, Duration::from_secs(10), 200).ends_with("ETA 2h58m"));
    }
}
