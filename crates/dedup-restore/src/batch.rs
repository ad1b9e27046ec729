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
    let report = in_batches(paths, |batch| {
        match restore_files(volume, batch, store, DEDUP_RECONSTRUCT_UNOPTIMIZED, opts) {
            Ok(r) => Ok::<_, std::convert::Infallible>(r),
            // Batches are within MAX_FILES and the flag is the one accepted, so this is not
            // reached; if it were, each file of the batch says why.
            Err(e) => {
                let e = FileError::Call(e);
                Ok(RestoreReport {
                    result: e.hresult(),
                    files: batch
                        .iter()
                        .map(|p| FileResult {
                            path: p.clone(),
                            result: e.hresult(),
                            error: Some(e.clone()),
                            logical_size: 0,
                        })
                        .collect(),
                    stats: RestoreStats::default(),
                })
            }
        }
    });
    match report {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// Runs `restore` over `paths` in slices of at most [`MAX_FILES`] and merges the reports (also
/// for implementations of the `RestoreFiles` contract other than ours, such as Microsoft's).
/// The first call that fails as a whole ends the run with its error.
pub fn in_batches<E>(
    paths: &[WinPath],
    mut restore: impl FnMut(&[WinPath]) -> Result<RestoreReport, E>,
) -> Result<RestoreReport, E> {
    let mut files = Vec::with_capacity(paths.len());
    let mut stats = RestoreStats::default();
    for batch in paths.chunks(MAX_FILES) {
        let r = restore(batch)?;
        files.extend(r.files);
        add(&mut stats, &r.stats);
    }
    Ok(RestoreReport {
        result: overall(&files),
        files,
        stats,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_merge_reports_in_order() {
        let paths: Vec<WinPath> = (0..MAX_FILES + 3)
            .map(|i| WinPath::new(&format!("f{i}")).unwrap())
            .collect();
        let mut calls = 0;
        let r = in_batches(&paths, |b| {
            calls += 1;
            assert!(b.len() <= MAX_FILES);
            Ok::<_, ()>(RestoreReport {
                result: Hresult::S_OK,
                files: b
                    .iter()
                    .map(|p| FileResult {
                        path: p.clone(),
                        result: if calls == 2 {
                            Hresult::DDP_E_FILE_CORRUPT
                        } else {
                            Hresult::S_OK
                        },
                        error: None,
                        logical_size: 1,
                    })
                    .collect(),
                stats: RestoreStats {
                    reads: 1,
                    bytes_restored: b.len() as u64,
                    ..RestoreStats::default()
                },
            })
        })
        .unwrap();
        assert_eq!(calls, 2);
        assert_eq!(r.files.len(), paths.len());
        assert_eq!(r.files[MAX_FILES].path, paths[MAX_FILES]);
        assert_eq!(r.stats.reads, 2);
        assert_eq!(r.stats.bytes_restored, paths.len() as u64);
        assert_eq!(r.result, Hresult::DDP_E_JOB_COMPLETED_PARTIAL_SUCCESS);
        let mut n = 0;
        let e = in_batches(&paths, |_| {
            n += 1;
            Err::<RestoreReport, _>("refused")
        });
        assert_eq!((e.unwrap_err(), n), ("refused", 1));
    }
}
