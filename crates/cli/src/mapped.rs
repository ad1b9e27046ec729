//! Read-only memory maps of input files.

use std::fs::File;
use std::path::Path;

use memmap2::Mmap;

use crate::Failure;

/// Maps `path` read-only.
pub(crate) fn map_file(path: &Path) -> Result<Mmap, Failure> {
    let file = File::open(path)
        .map_err(|e| Failure::usage(format!("{}: cannot open: {e}", path.display())))?;
    // SAFETY: the map is read-only and private to this process. If another process truncates
    // or rewrites the file while we hold the map, reads may fault or see changing bytes; the
    // tool documents that its inputs (backup copies) must not change while it runs. Every
    // structure read from the map is bounds-checked against the map's length, so changing
    // contents can only produce check failures, not out-of-bounds reads.
    #[allow(unsafe_code)]
    let map = unsafe { Mmap::map(&file) };
    map.map_err(|e| Failure::usage(format!("{}: cannot map: {e}", path.display())))
}
