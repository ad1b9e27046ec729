//! Printing to stdout that ends quietly on a closed pipe (`rehydrate … | head -1`), as ripgrep
//! and git do: the first write that finds the pipe closed marks stdout closed, later output is
//! dropped, and the command's exit code stays what its work decided. Never a panic.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicI8, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// `-q` (-1), neither (0), `-v` (1): set once from the command line.
static VERBOSITY: AtomicI8 = AtomicI8::new(0);

/// Sets the verbosity from the global `-q/--quiet` and `-v/--verbose` flags.
pub(crate) fn set_verbosity(quiet: bool, verbose: bool) {
    let v = match (quiet, verbose) {
        (true, _) => -1,
        (false, true) => 1,
        (false, false) => 0,
    };
    VERBOSITY.store(v, Ordering::Relaxed);
}

/// `-q/--quiet`: no progress bar and no summary; what failed is still printed.
pub(crate) fn quiet() -> bool {
    VERBOSITY.load(Ordering::Relaxed) < 0
}

/// `-v/--verbose`: every file listed with what became of it.
pub(crate) fn verbose() -> bool {
    VERBOSITY.load(Ordering::Relaxed) > 0
}

/// Writes `text` to stdout; on a broken pipe, drops it and all later output. Other write
/// errors are dropped too (there is nowhere left to report them).
pub(crate) fn write_out(text: std::fmt::Arguments<'_>) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(text).and_then(|()| out.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        CLOSED.store(true, Ordering::Relaxed);
    }
}

/// `println!` that never panics on a closed pipe (see the module docs).
#[macro_export]
macro_rules! outln {
    () => { $crate::output::write_out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that never panics on a closed pipe.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write_out(format_args!($($arg)*)) };
}

/// A JSON document, pretty-printed, on stdout.
pub(crate) fn json<T: serde::Serialize + ?Sized>(doc: &T) {
    match serde_json::to_string_pretty(doc) {
        Ok(s) => write_out(format_args!("{s}\n")),
        Err(e) => write_out(format_args!("{{\"error\": \"{e}\"}}\n")),
    }
}

/// Whether output to a terminal is coloured: only on a terminal, and never when `NO_COLOR` is
/// set to anything but the empty string (<https://no-color.org>).
fn colour_wanted(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

/// `text` in red when stdout is a terminal that takes colour (failures).
pub(crate) fn red(text: &str) -> String {
    paint(text, "31")
}

/// `text` in yellow when stdout is a terminal that takes colour (conflicts).
pub(crate) fn yellow(text: &str) -> String {
    paint(text, "33")
}

fn paint(text: &str, code: &str) -> String {
    use std::io::IsTerminal as _;
    let no_color = std::env::var_os("NO_COLOR");
    if colour_wanted(std::io::stdout().is_terminal(), no_color.as_deref()) {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::colour_wanted;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_and_never_with_no_color() {
        assert!(colour_wanted(true, None));
        assert!(colour_wanted(true, Some(OsStr::new(""))));
        assert!(!colour_wanted(true, Some(OsStr::new("1"))));
        assert!(!colour_wanted(false, None));
    }
}
