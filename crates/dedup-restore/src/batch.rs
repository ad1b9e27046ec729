//! [`restore_in_place`]: `restore_files` over any number of paths, in calls of at most
//! [`MAX_FILES`] (the limit `RestoreFiles` itself has), with one merged report. Every caller
//! that restores more files than one call takes goes through here; none batches by itself.

use platform::{Volume, WinPath};

use crate::engine::{
    DEDUP_RECONSTRUCT_UNOPTIMIZED, FileResult, MAX_FILES, RestoreOptions, RestoreReport,
    RestoreStats, restore_files,
};
use crate::error::FileError;
use crate::hresult::Hresult;
use crate::store::BackupStore;

/// Restores `paths` where they are on `volume` (their dedup reparse points put back
/// beforehand), [`MAX_FILES`] per engine call, and merges the reports: one result per path in
/// order, counters summed, the overall HRESULT computed over all files as
/// [`RestoreReport::result`] describes. Runs on the current rayon pool.
pub fn restore_in_place(
    volume: &dyn Volume,
    paths: &[WinPath],
    store: &dyn BackupStore,
    opts: &RestoreOptions,
) -> RestoreReport {
    in_batches(paths, |batch| {
        restore_files(volume, batch, store, DEDUP_RECONSTRUCT_UNOPTIMIZED, opts)
    })
}

/// Runs `restore` over `paths` in slices of at most [`MAX_FILES`] and merges the reports (for
/// implementations of the `RestoreFiles` contract other than ours, such as Microsoft's). A
/// slice whose call is refused gives each of its paths that error.
pub fn in_batches<E>(
    paths: &[WinPath],
    mut restore: impl FnMut(&[WinPath]) -> Result<RestoreReport, E>,
) -> RestoreReport
where
    E: Into<FileError>,
{
    let mut files = Vec::with_capacity(paths.len());
    let mut stats = RestoreStats::default();
    for batch in paths.chunks(MAX_FILES) {
        match restore(batch) {
            Ok(r) => {
                files.extend(r.files);
                add(&mut stats, &r.stats);
            }
            Err(e) => {
                let e: FileError = e.into();
                files.extend(batch.iter().map(|p| FileResult {
                    path: p.clone(),
                    result: e.hresult(),
                    error: Some(e.clone()),
                    logical_size: 0,
                }));
            }
        }
    }
    RestoreReport {
        result: overall(&files),
        files,
        stats,
    }
}

/// The overall HRESULT of a set of file results ([`RestoreReport::result`]).
#[must_use]
pub fn overall(files: &[FileResult]) -> Hresult {
    let restored = files.iter().filter(|r| r.result == Hresult::S_OK).count();
    match files.iter().find(|r| !r.result.is_success()) {
        None if restored == 0 && !files.is_empty() => Hresult::S_FALSE,
        None => Hresult::S_OK,
        Some(_) if restored > 0 => Hresult::DDP_E_JOB_COMPLETED_PARTIAL_SUCCESS,
        Some(e) => e.result,
    }
}

/// Adds the counters of `s` to `sum`.
pub(crate) fn add(sum: &mut RestoreStats, s: &RestoreStats) {
    sum.reads += s.reads;
    sum.bytes_read += s.bytes_read;
    sum.chunks_decoded += s.chunks_decoded;
    sum.chunk_writes += s.chunk_writes;
    sum.bytes_restored += s.bytes_restored;
    sum.redirected += s.redirected;
    sum.found_by_scan += s.found_by_scan;
    sum.elapsed_us += s.elapsed_us;
}

impl From<crate::RestoreError> for FileError {
    fn from(e: crate::RestoreError) -> Self {
        Self::Call(e)
    }
}
