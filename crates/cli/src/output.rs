//! Printing to stdout that ends quietly on a closed pipe (`rehydrate … | head -1`), as ripgrep
//! and git do: the first write that finds the pipe closed marks stdout closed, later output is
//! dropped, and the command's exit code stays what its work decided. Never a panic.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

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
