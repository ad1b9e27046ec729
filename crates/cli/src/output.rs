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
