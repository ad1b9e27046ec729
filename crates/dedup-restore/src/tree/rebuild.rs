//! One engine batch of a tree restore: the staged stubs rebuilt by the engine on a
//! [`StagedVolume`], each rebuilt file finished (read-only bit, times), and what the batch
//! adds to the report. It borrows nothing of the run that staged it, so that the run can stage
//! the next batch, and rebuild it, while this one is rebuilt (see `Run::place_and_rebuild`).

use std::time::{Duration, Instant};

use foldhash::HashSet;

use platform::{Access, Disposition, OpenOptions, ShareMode, Volume, WinPath, attr};
use rayon::prelude::*;

use super::{EntryResult, EntryStatus, Overwrite, TreeReport, engine_outcome};
use crate::batch::restore_in_place;
use crate::engine::{RestoreOptions, RestoreReport};
use crate::hresult::Hresult;
use crate::place::Placed;
use crate::resume::untemporary;
use crate::staged::{Met, StagedVolume, Stub, Times};
use crate::store::BackupStore;

/// Dedup stubs staged for one engine batch, with their source times and attributes.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) stubs: Vec<(WinPath, Stub)>,
    pub(super) times: Vec<(Times, u32)>,
}

impl Batch {
    pub(super) fn len(&self) -> usize {
        self.stubs.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.stubs.is_empty()
    }

    /// Its files' paths without temporary-name suffixes ([`untemporary`]; a set of
    /// `WinPath`s compares them case-insensitively).
    pub(super) fn names(&self) -> HashSet<WinPath> {
        self.stubs.iter().map(|(p, _)| untemporary(p)).collect()
    }

    /// Whether one of its files has a path in `names` once temporary-name suffixes are taken
    /// off (in any case). Two such batches are not rebuilt at once, for two reasons:
    /// - one name in two spellings (a source on a case-sensitive file system can hold both):
    ///   their renames into place would race for the name, where one after the other the
    ///   second meets the first's file and applies the overwrite policy;
    /// - a file named like another's temporary sibling (`a.bin` and `a.bin.rehydrate~0`): one
    ///   batch's rename could meet the other's temporary file while it is still written.
    pub(super) fn meets(&self, names: &HashSet<WinPath>) -> bool {
        self.stubs
            .iter()
            .any(|(p, _)| names.contains(&untemporary(p)))
    }
}

/// What the engine needs to rebuild a batch; shared by the batches of a run.
#[derive(Clone, Copy)]
pub(super) struct Rebuilder<'a> {
    pub(super) dest: &'a dyn Volume,
    pub(super) store: &'a dyn BackupStore,
    pub(super) opts: &'a RestoreOptions,
    pub(super) overwrite: Overwrite,
}

/// A rebuilt batch, for [`Rebuilt::report_into`].
pub(super) struct Rebuilt {
    report: RestoreReport,
    met: Met,
    /// Logical bytes and files of the batch (for the progress).
    pub(super) logical: u64,
    pub(super) files: u64,
    took: Duration,
}

impl Rebuilder<'_> {
    /// Rebuilds `batch` with the engine and finishes each rebuilt file that did not get its
    /// times through its handle (and each read-only one), in parallel.
    pub(super) fn rebuild(&self, batch: Batch) -> Rebuilt {
        let t = Instant::now();
        let logical: u64 = batch.stubs.iter().map(|(_, s)| s.logical).sum();
        let paths: Vec<WinPath> = batch.stubs.iter().map(|(p, _)| p.clone()).collect();
        let volume = StagedVolume::new(self.dest, batch.stubs, self.overwrite);
        let report = restore_in_place(&volume, &paths, self.store, self.opts);
        let took = t.elapsed();
        let met = volume.met();
        report
            .files
            .par_iter()
            .zip(&batch.times)
            .for_each(|(f, &(times, attributes))| {
                let key = &f.path;
                let finished = met.timed.contains(key) && attributes & attr::READONLY == 0;
                if f.result == Hresult::S_OK
                    && !finished
                    && !met.skipped.contains(key)
                    && !met.conflicts.contains(key)
                {
                    finish_restored(self.dest, &f.path, times, attributes);
                }
            });
        Rebuilt {
            report,
            met,
            logical,
            files: batch.times.len() as u64,
            took,
        }
    }
}

impl Rebuilt {
    /// Adds the batch's engine time, statistics and one entry per file to `report`.
    pub(super) fn report_into(self, report: &mut TreeReport) {
        report.engine_time += self.took;
        crate::batch::add(&mut report.stats, &self.report.stats);
        let met = self.met;
        report
            .entries
            .extend(self.report.files.into_iter().map(|f| {
                let kept = met.skipped.contains(&f.path);
                if met.conflicts.contains(&f.path) {
                    return EntryResult::placed(&f.path, EntryStatus::Restored, Placed::Conflict);
                }
                let replaced = met.replaced.contains(&f.path);
                let mut e = engine_outcome(f);
                if kept && e.status == EntryStatus::Restored {
                    e.status = EntryStatus::Skipped;
                    e.bytes = 0;
                }
                e.replaced = e.status == EntryStatus::Restored && replaced;
                e
            }));
    }
}

/// What a rebuilt or copied file gets once it is in place: `FILE_ATTRIBUTE_READONLY` when the
/// source file has it (kept off while the file is written: the engine refuses read-only stubs,
/// and a read-only temporary file could not be removed on failure), then its source times.
/// Best effort, like [`set_times`].
pub(super) fn finish_restored(dest: &dyn Volume, path: &WinPath, times: Times, attributes: u32) {
    if attributes & attr::READONLY != 0 {
        let write = OpenOptions::new(
            Access::READ_WRITE,
            ShareMode::READ,
            Disposition::OpenExisting,
        );
        if let Ok(h) = dest.open(path, write)
            && let Ok(now) = h.attributes()
        {
            let _ = h.set_attributes(now | attr::READONLY);
        }
    }
    set_times(dest, path, times);
}

/// Gives a placed file or folder its source times. Best effort: a destination that cannot
/// hold times (or refuses) keeps the restore time; the file's bytes are what is vouched for.
pub(super) fn set_times(dest: &dyn Volume, path: &WinPath, (modified, accessed): Times) {
    if modified.is_some() || accessed.is_some() {
        let _ = dest.set_times(path, modified, accessed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(paths: &[&str]) -> Batch {
        let stub = || Stub {
            reparse: Vec::new(),
            attributes: 0,
            logical: 0,
            times: (None, None),
        };
        Batch {
            stubs: paths
                .iter()
                .map(|p| (WinPath::new(p).unwrap(), stub()))
                .collect(),
            times: Vec::new(),
        }
    }

    #[test]
    fn a_batch_meets_another_that_names_one_of_its_files_in_any_case() {
        let running = batch(&["\\Data\\a.bin", "\\Data\\b.bin"]).names();
        assert!(batch(&["\\x.bin", "\\DATA\\B.BIN"]).meets(&running));
        assert!(!batch(&["\\x.bin", "\\Data\\c.bin"]).meets(&running));
        assert!(!batch(&[]).meets(&running));
    }

    /// A file named like another's temporary sibling, either way round and in any case.
    #[test]
    fn a_batch_meets_another_whose_temporary_names_it_could_take() {
        let running = batch(&["\\d\\a.bin", "\\d\\x.rehydrate~0"]).names();
        assert!(batch(&["\\d\\A.BIN.REHYDRATE~0"]).meets(&running));
        assert!(batch(&["\\d\\a.bin.rehydrate~3.rehydrate~12"]).meets(&running));
        assert!(batch(&["\\D\\X"]).meets(&running));
        assert!(!batch(&["\\d\\a.bin.rehydrate~"]).meets(&running));
        assert!(!batch(&["\\d\\a.bin.rehydrate~1x"]).meets(&running));
        assert!(!batch(&["\\e\\a.bin.rehydrate~0"]).meets(&running));
        assert_eq!(
            untemporary(&WinPath::new("\\.rehydrate~0").unwrap()).to_string(),
            "\\.rehydrate~0"
        );
    }
}
