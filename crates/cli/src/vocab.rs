//! The one vocabulary of the command line: `--source` names what a command reads and `--to`
//! what it writes. Older spellings (a positional input, `--input`, `--backup`, `--out`,
//! `-o/--output`, `--backup-dir`) stay accepted as hidden aliases so scripts keep working.

use std::path::PathBuf;

use crate::Failure;

/// The input given as `--source` or, in the older spelling, as a (hidden) positional argument.
/// Clap makes exactly one of them required, so both missing is a usage error that cannot occur
/// from the command line; it is still reported, not assumed away.
pub(crate) fn source(
    flag: Option<PathBuf>,
    positional: Option<PathBuf>,
) -> Result<PathBuf, Failure> {
    flag.or(positional)
        .ok_or_else(|| Failure::usage("--source is required"))
}
