//! One engine batch of a tree restore: the staged stubs rebuilt by the engine on a
//! [`StagedVolume`], each rebuilt file finished (read-only bit, times), and what the batch
//! adds to the report. It borrows nothing of the run that staged it, so that the run can stage
//! the next batch, and rebuild it, while this one is rebuilt (see `Run::place_and_rebuild`).

use std::hash::BuildHasher;
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
    /// Its files' names. A file that [`Names::holds`] is not staged into this batch but
    /// starts the next: the engine rebuilds one file per name in a batch, so two spellings of
    /// one name (a case-sensitive source can hold both) would both be reported restored from
    /// one of them, the other's bytes lost; one after the other, the second meets the first's
    /// file and the overwrite policy applies. Taken out when the batch is rebuilt, for
    /// [`meets`].
    pub(super) names: Names,
}

impl Batch {
    /// Adds stub `path` with its source times and attributes.
    pub(super) fn push(&mut self, path: WinPath, stub: Stub, times: (Times, u32)) {
        self.names.insert(&path);
        self.stubs.push((path, stub));
        self.times.push(times);
    }

    pub(super) fn len(&self) -> usize {
        self.stubs.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.stubs.is_empty()
    }
}

/// Paths by the hash of their form without temporary-name suffixes ([`untemporary`]), which
/// compares names case-insensitively: whether a path may be one of them, in any case and with
/// any such suffixes, with nothing allocated a path. Two paths with one hash make a false
/// "may", which only makes the placing wait or ends a run or a batch early.
#[derive(Default)]
pub(super) struct Names {
    keys: HashSet<u64>,
    hasher: foldhash::fast::RandomState,
}

impl Names {
    pub(super) fn insert(&mut self, path: &WinPath) {
        self.keys.insert(self.key(path));
    }

    pub(super) fn holds(&self, path: &WinPath) -> bool {
        !self.keys.is_empty() && self.keys.contains(&self.key(path))
    }

    fn key(&self, path: &WinPath) -> u64 {
        self.hasher.hash_one(&*untemporary(path))
    }
}

/// Whether `path` may be one of `running`'s names ([`Batch::names`] of the batch the engine
/// is rebuilding) once temporary-name suffixes are taken off, in any case. Such an entry is placed
/// only once that batch is over, for it could meet the batch's temporary file while it is
/// written:
/// - a file named like a temporary sibling (`a.bin.rehydrate~0` while the engine rebuilds
///   `a.bin` in that file), or a file whose own temporary sibling could take the name of one
///   of the batch's files (`a.bin` beside a rebuilt `A.BIN.rehydrate~0`): it would be refused
///   as open, kept out as a conflict, or renamed over by the other;
/// - one name in two spellings (a source on a case-sensitive file system can hold both): the
///   two renames into place would race for the name.
///
/// (One of the batch's folders in another spelling meets nothing: a folder is swept of
/// leftover temporary files only the first time the restore meets it, see `Run::place_dir`.)
///
/// Placed after the batch, it meets at most the file in place, and the overwrite policy
/// applies. Two files of one parallel run are kept apart the same way.
pub(super) fn meets(running: Option<&Names>, path: &WinPath) -> bool {
    running.is_some_and(|names| names.holds(path))
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
pub(super) mod tests {
    use super::*;

    /// A batch of stubs (with nothing in them) at `paths`.
    pub(in crate::tree) fn batch(paths: &[&str]) -> Batch {
        let mut batch = Batch::default();
        for p in paths {
            let stub = Stub {
                reparse: Vec::new(),
                attributes: 0,
                logical: 0,
                times: (None, None),
            };
            batch.push(WinPath::new(p).unwrap(), stub, ((None, None), 0));
        }
        batch
    }

    /// Two spellings of one name, a temporary sibling's name, and not another name or an empty
    /// batch.
    #[test]
    fn a_batch_holds_its_names_in_any_spelling_and_their_temporary_siblings() {
        let staged = batch(&["\\Data\\a.bin", "\\x.bin"]);
        let holds = |p: &str| staged.names.holds(&WinPath::new(p).unwrap());
        assert!(holds("\\DATA\\A.BIN"));
        assert!(holds("\\data\\a.bin.REHYDRATE~2"));
        assert!(holds("\\X.BIN"));
        assert!(!holds("\\data\\b.bin"));
        assert!(!holds("\\data"));
        assert!(!batch(&[]).names.holds(&WinPath::new("\\x.bin").unwrap()));
    }

    #[test]
    fn a_file_meets_a_batch_that_names_it_in_any_case() {
        let running = batch(&["\\Data\\a.bin", "\\Data\\b.bin"]).names;
        assert!(meets_it(&running, "\\DATA\\B.BIN"));
        assert!(!meets_it(&running, "\\x.bin"));
        assert!(!meets_it(&running, "\\Data\\c.bin"));
        assert!(!meets(None, &WinPath::new("\\Data\\a.bin").unwrap()));
    }

    fn meets_it(running: &Names, path: &str) -> bool {
        meets(Some(running), &WinPath::new(path).unwrap())
    }

    /// A file named like a temporary sibling of the batch's, either way round and in any case.
    #[test]
    fn a_file_meets_a_batch_whose_temporary_names_it_could_take() {
        let running = batch(&["\\d\\a.bin", "\\d\\x.rehydrate~0"]).names;
        assert!(meets_it(&running, "\\d\\A.BIN.REHYDRATE~0"));
        assert!(meets_it(&running, "\\d\\a.bin.rehydrate~3.rehydrate~12"));
        assert!(meets_it(&running, "\\D\\X"));
        assert!(!meets_it(&running, "\\d\\a.bin.rehydrate~"));
        assert!(!meets_it(&running, "\\d\\a.bin.rehydrate~1x"));
        assert!(!meets_it(&running, "\\e\\a.bin.rehydrate~0"));
        assert_eq!(
            untemporary(&WinPath::new("\\.rehydrate~0").unwrap()).to_string(),
            "\\.rehydrate~0"
        );
    }
}
