//! A dry run of a restore plan ([`crate::TreeOptions::dry_run`]): what would be restored,
//! copied, skipped or in conflict, with the destination only read (existing dedup files of the
//! same size rebuilt and compared through a read-only [`CompareVolume`]).
//!
//! Entries of the plan that are one name in the destination (two spellings in a
//! case-sensitive source, `a.txt` and `A.TXT`) are reported as the real run places them, one
//! after the other: the later entry meets what the earlier one would have left there
//! ([`taken`]), not the destination as it is now.

mod taken;

use std::time::Instant;

use dedup_reparse::DedupReparse;
use platform::{EntryKind, Source, Volume, WinPath};

use crate::MAX_FILES;
use crate::batch::restore_in_place;
use crate::compare::CompareVolume;
use crate::engine::{Phase, RestoreOptions};
use crate::error::{FileError, Stage};
use crate::place::{Placed, Slot, by_size, existing_copy, read_stub};
use crate::staged::{StagedVolume, Stub};
use crate::store::BackupStore;
use crate::tree::{
    EntryResult, EntryStatus, Item, Overwrite, TreeOptions, TreeReport, engine_outcome,
};
use taken::{Earlier, Taken, not_a_folder};

/// A dry run of the plan's `items` (see [`TreeOptions::dry_run`]): `dest` is only read.
#[allow(clippy::too_many_arguments)]
pub(crate) fn dry_run(
    items: Vec<Item>,
    source: &dyn Source,
    store: &dyn BackupStore,
    dest: &dyn Volume,
    opts: &TreeOptions,
    engine_opts: &RestoreOptions,
    report: &mut TreeReport,
    tell: &dyn Fn(u64, u64, Phase),
) {
    let run = DryRun {
        source,
        store,
        dest,
        policy: opts.overwrite,
        engine_opts,
        tell,
    };
    // Dedup files whose existing file has the same size: rebuilt and compared, in batches.
    let mut batch: Vec<(WinPath, Stub)> = Vec::new();
    let mut taken = Taken::new(&items);
    run.sweep(&WinPath::root(), &mut taken, report);
    for item in items {
        run.entry(item, &mut taken, &mut batch, report);
    }
    run.compare(&mut batch, report);
}

/// What a dry run reads from and reports to.
struct DryRun<'a> {
    source: &'a dyn Source,
    store: &'a dyn BackupStore,
    dest: &'a dyn Volume,
    policy: Overwrite,
    engine_opts: &'a RestoreOptions,
    tell: &'a dyn Fn(u64, u64, Phase),
}

impl DryRun<'_> {
    /// Reports what would become of `item` (a dedup file over an existing one of its size is
    /// added to `batch` instead), and notes in `taken` what its name then holds.
    fn entry(
        &self,
        item: Item,
        taken: &mut Taken,
        batch: &mut Vec<(WinPath, Stub)>,
        report: &mut TreeReport,
    ) {
        if let Some(dir) = taken.blocked_above(&item.path) {
            return report.entries.push(not_a_folder(&item.path, dir));
        }
        let earlier = match &item.entry.kind {
            EntryKind::Dir => return self.folder(&item, taken, report),
            EntryKind::File | EntryKind::Symlink { .. } => taken.get(&item.path),
            EntryKind::Unsupported(why) => {
                let e = FileError::Unsupported(why.clone());
                return report
                    .entries
                    .push(EntryResult::failed(item.path.to_string(), e));
            }
        };
        // What a later entry of this name meets, once this one is placed (see below).
        let note = taken
            .follows(&item.path)
            .then(|| (item.path.clone(), Earlier::of(&item)));
        let deferred = if let Some(earlier) = earlier {
            report.entries.push(self.after(&item, earlier));
            false
        } else {
            // The real run never rebuilds one name twice in a batch (a stub whose name the
            // staged batch holds closes it), and the comparing volume holds one stub a name:
            // the comparison pending for another spelling is done first.
            if note.is_some() && batch.iter().any(|(p, _)| *p == item.path) {
                self.compare(batch, report);
            }
            let swept = taken.swept(&item.path);
            self.placed(item, swept, batch, report)
        };
        // The name holds this entry's bytes when it is written or skipped as identical, and,
        // under `IfChanged`, after a comparison either way; else what was there before.
        let fills = if deferred {
            self.policy == Overwrite::IfChanged
        } else {
            report.entries.last().is_some_and(|e| {
                matches!(
                    e.status,
                    EntryStatus::Restored | EntryStatus::Copied | EntryStatus::Skipped
                )
            })
        };
        if let (Some((path, earlier)), true) = (note, fills) {
            taken.put(&path, earlier);
        }
    }

    /// Reports what would become of file or link `item` at its name as the destination has
    /// it (free when the run's sweep removed a leftover there: `swept`); whether it was added
    /// to `batch` instead (a dedup file over an existing file of its size, compared once the
    /// batch is full).
    fn placed(
        &self,
        item: Item,
        swept: bool,
        batch: &mut Vec<(WinPath, Stub)>,
        report: &mut TreeReport,
    ) -> bool {
        let there = if swept {
            Ok(Slot::Free)
        } else {
            crate::place::slot(self.dest, &item.path)
        };
        let there = match there {
            Ok(s) => s,
            Err(e) => {
                let e = FileError::platform(Stage::Placing, e);
                report
                    .entries
                    .push(EntryResult::failed(item.path.to_string(), e));
                return false;
            }
        };
        match &item.entry.kind {
            EntryKind::Symlink { .. } => report.entries.push(match there {
                Slot::Free => EntryResult::done(item.path.to_string(), EntryStatus::Copied, 0),
                _ => EntryResult::placed(&item.path, EntryStatus::Copied, Placed::Conflict),
            }),
            _ if item.entry.reparse.is_some() => {
                return self.dedup_file(item, there, batch, report);
            }
            _ => report.entries.push(self.plain_file(&item, there)),
        }
        false
    }

    /// A dedup file: what would become of it, or (an existing file of the same size under a
    /// policy that compares) a stub added to `batch`, compared once the batch is full.
    fn dedup_file(
        &self,
        item: Item,
        there: Slot,
        batch: &mut Vec<(WinPath, Stub)>,
        report: &mut TreeReport,
    ) -> bool {
        let reparse = match read_stub(self.source, &item) {
            Ok(r) => r,
            Err(e) => {
                report
                    .entries
                    .push(EntryResult::failed(item.path.to_string(), e));
                return false;
            }
        };
        let logical = DedupReparse::parse(&reparse).map_or(0, |r| r.logical_size());
        let placed = match there {
            Slot::Free => Placed::Written {
                bytes: logical,
                replaced: false,
            },
            Slot::Other => Placed::Conflict,
            Slot::File(len) => {
                if let Some(p) = by_size(self.policy, len, logical) {
                    p
                } else {
                    let attributes = item.entry.attributes
                        & !platform::attr::REPARSE_POINT
                        & !platform::attr::DIRECTORY;
                    batch.push((
                        item.path,
                        Stub {
                            reparse,
                            attributes,
                            logical,
                            // Nothing is written: no times to give.
                            times: (None, None),
                        },
                    ));
                    if batch.len() == MAX_FILES {
                        self.compare(batch, report);
                    }
                    return true;
                }
            }
        };
        report.entries.push(EntryResult::placed(
            &item.path,
            EntryStatus::Restored,
            placed,
        ));
        false
    }

    /// A plain file: copied, skipped (an identical copy is there) or in conflict.
    fn plain_file(&self, item: &Item, there: Slot) -> EntryResult {
        let placed = match there {
            Slot::Free => Ok(Placed::Written {
                bytes: item.entry.len,
                replaced: false,
            }),
            Slot::Other => Ok(Placed::Conflict),
            Slot::File(len) => self
                .source
                .open_file(&item.path)
                .map_err(|e| FileError::platform(Stage::ReadingSource, e))
                .and_then(|src| existing_copy(src.as_ref(), self.dest, item, len, self.policy)),
        };
        match placed {
            Ok(p) => EntryResult::placed(&item.path, EntryStatus::Copied, p),
            Err(e) => EntryResult::failed(item.path.to_string(), e),
        }
    }

    /// Rebuilds the batch's dedup files through a read-only [`CompareVolume`] and reports each
    /// as identical (skipped), to be replaced, or in conflict.
    fn compare(&self, batch: &mut Vec<(WinPath, Stub)>, report: &mut TreeReport) {
        if batch.is_empty() {
            return;
        }
        let t = Instant::now();
        let logical: u64 = batch.iter().map(|(_, s)| s.logical).sum();
        let staged = std::mem::take(batch);
        let paths: Vec<WinPath> = staged.iter().map(|(p, _)| p.clone()).collect();
        let cmp = CompareVolume::new(self.dest);
        let volume = StagedVolume::new(&cmp, staged, Overwrite::Never);
        let r = restore_in_place(&volume, &paths, self.store, self.engine_opts);
        report.engine_time += t.elapsed();
        crate::batch::add(&mut report.stats, &r.stats);
        report.entries.extend(r.files.into_iter().map(|f| {
            let verdict = cmp.identical(&f.path);
            let path = f.path.clone();
            let mut e = engine_outcome(f);
            if e.status == EntryStatus::Restored {
                let placed = match verdict {
                    Some(true) => Placed::Skipped,
                    _ if self.policy == Overwrite::IfChanged => Placed::Written {
                        bytes: e.bytes,
                        replaced: true,
                    },
                    _ => Placed::Conflict,
                };
                e = EntryResult::placed(&path, EntryStatus::Restored, placed);
            }
            e
        }));
        (self.tell)(logical, paths.len() as u64, Phase::Copying);
    }
}
