//! Carrying out a tree plan: folders and links placed in walk order, plain files copied and
//! dedup files staged in parallel runs, the staged stubs rebuilt by the engine in batches of
//! up to [`TreeOptions::batch_files`] (each while the next is staged, two at a time; see
//! [`super::rebuild`] and `Run::place_and_rebuild`), then the folders' times and a sync.

use std::iter::Peekable;

use platform::{EntryKind, Source, SourceEntry, Volume, WinPath};
use rayon::prelude::*;

use super::progress::TreeProgress;
use super::rebuild::{Batch, Names, Rebuilder, Rebuilt, finish_restored, meets, set_times};
use super::{
    EntryResult, EntryStatus, Item, Overwrite, TreeError, TreeOptions, TreePlan, TreeReport,
};
use crate::MAX_FILES;
use crate::dry_run::dry_run;
use crate::engine::{Phase, RestoreOptions};
use crate::error::{FileError, Stage};
use crate::place::{Folders, Placed, Slot, copy_file, prepare_slot, stage_stub};
use crate::staged::{Stub, Times};
use crate::store::BackupStore;

/// Carries out `plan` (from [`plan_tree`](super::plan_tree) over the same `source` and
/// `opts`) into `dest`, or with [`TreeOptions::dry_run`] only reports what it would do, writing
/// nothing.
pub fn restore_planned(
    plan: TreePlan,
    source: &dyn Source,
    store: &dyn BackupStore,
    dest: &dyn Volume,
    opts: &TreeOptions,
) -> Result<TreeReport, TreeError> {
    let mut report = TreeReport {
        entries: plan.failed,
        dry_run: opts.dry_run,
        ..TreeReport::default()
    };
    let (items, total) = (plan.items, plan.total);
    let files_total = items
        .iter()
        .filter(|i| !matches!(i.entry.kind, EntryKind::Dir))
        .count() as u64;
    let progress = TreeProgress::new(opts.restore.progress.clone(), total, files_total);
    let tell = |bytes: u64, files: u64, phase: Phase| progress.add(bytes, files, phase);
    let engine_opts = [0, 1].map(|slot| progress.engine_options(&opts.restore, slot));
    if opts.dry_run {
        // Every byte compared: no chunk may become a hole that leaves a range unchecked.
        let [mut engine_opts, _] = engine_opts;
        engine_opts.sparse_zeros = false;
        // Its only report is of a compared batch, one at a time, in the first slot.
        let batch_done = |bytes: u64, files: u64, _: Phase| progress.batch_done(0, bytes, files);
        dry_run(
            items,
            source,
            store,
            dest,
            opts,
            &engine_opts,
            &mut report,
            &batch_done,
        );
        return Ok(report);
    }
    let run = Run {
        source,
        store,
        dest,
        opts,
        engine_opts,
        progress: &progress,
        tell: &tell,
        folders: Folders::default(),
        batch: Batch::default(),
        batch_files: opts.batch_files.clamp(1, MAX_FILES),
        dir_times: Vec::new(),
        report,
    };
    run.place_all(items)
}

/// A tree restore under way (not a dry run).
struct Run<'a> {
    source: &'a dyn Source,
    store: &'a dyn BackupStore,
    dest: &'a dyn Volume,
    opts: &'a TreeOptions,
    /// The engine's options for each of the two batches that may be rebuilt at once.
    engine_opts: [RestoreOptions; 2],
    /// The progress, where a rebuilt batch's figures are added.
    progress: &'a TreeProgress,
    /// Adds finished bytes and files to the progress and reports it.
    tell: &'a (dyn Fn(u64, u64, Phase) + Sync),
    folders: Folders,
    /// Dedup stubs staged for the engine's next batch, with their source times and attributes.
    batch: Batch,
    /// The most files a batch holds ([`TreeOptions::batch_files`], within `1..=MAX_FILES`).
    batch_files: usize,
    /// The times of every folder, set once each is complete (folders last, after their
    /// contents).
    dir_times: Vec<(WinPath, Times)>,
    report: TreeReport,
}

impl Run<'_> {
    /// Places every item in walk order, rebuilds the staged dedup files, sets the folders'
    /// times and syncs the destination.
    fn place_all(mut self, items: Vec<Item>) -> Result<TreeReport, TreeError> {
        let dest = self.dest;
        self.report.leftovers_removed.extend(crate::resume::sweep(
            self.source,
            dest,
            &WinPath::root(),
        ));
        // Files are staged (dedup) or copied (plain) in parallel, a run of consecutive files at
        // a time: per file that is a lookup of its slot, its reparse point or its bytes, and for
        // a copy the placement and times (many small files were bound by doing these one by
        // one). Folders, links and the engine's batches keep the walk's order.
        self.place_and_rebuild(items);
        // Deepest folders first: setting a folder's times after its last child is placed.
        for (path, times) in std::mem::take(&mut self.dir_times).into_iter().rev() {
            set_times(dest, &path, times);
        }
        (self.tell)(0, 0, Phase::Syncing);
        dest.sync_all().map_err(TreeError::Sync)?;
        Ok(self.report)
    }

    /// Places every item and rebuilds the batches of dedup files. Each full batch is rebuilt
    /// by the engine while the items after it are placed and the next batch staged; that next
    /// batch, once full, closed (see [`Batch::names`]) or the last, is rebuilt at once beside
    /// it, unless the placing stopped at an item that meets the running batch (see `meets`).
    /// Two engine batches and the staging share the workers, so that no one's serial
    /// stretches (an engine's start and end, the staging's bookkeeping) leave a core idle. At
    /// most two batches are rebuilt at a time: the batch after a pair is staged once both are
    /// done.
    fn place_and_rebuild(&mut self, items: Vec<Item>) {
        let mut items = items.into_iter().peekable();
        let engine_opts = self.engine_opts.clone();
        let [first_side, second_side] = [0, 1].map(|slot| Rebuilder {
            dest: self.dest,
            store: self.store,
            opts: &engine_opts[slot],
            overwrite: self.opts.overwrite,
        });
        let mut full: Option<Batch> = None;
        loop {
            // The names of the batch being rebuilt: an item that meets one of them is placed
            // only once that batch is over (see `meets`), so the next batch, when rebuilt
            // beside it, never names one of its files.
            let running = full.as_mut().map(|b| std::mem::take(&mut b.names));
            let (first, (stop, second)) = rayon::join(
                || full.take().map(|b| first_side.rebuild(b)),
                || {
                    let stop = self.place_until_full(&mut items, running.as_ref());
                    let beside = running.is_some() && stop != Stop::Running;
                    let rebuilt = (beside && !self.batch.is_empty())
                        .then(|| second_side.rebuild(std::mem::take(&mut self.batch)));
                    (stop, rebuilt)
                },
            );
            for (slot, rebuilt) in [first, second].into_iter().enumerate() {
                if let Some(r) = rebuilt {
                    self.report_rebuilt(r, slot);
                }
            }
            let closed = stop == Stop::Staged && !self.batch.is_empty();
            if closed || self.batch.len() >= self.batch_files {
                full = Some(std::mem::take(&mut self.batch));
            } else if items.peek().is_none() {
                break;
            }
        }
        if !self.batch.is_empty() {
            let r = first_side.rebuild(std::mem::take(&mut self.batch));
            self.report_rebuilt(r, 0);
        }
    }

    /// Places the items in walk order until the batch is full or none is left, or until the
    /// next item meets the `running` batch (see [`meets`]) or the batch being staged (see
    /// [`Batch::names`]); that item is left in `items`.
    fn place_until_full(
        &mut self,
        items: &mut Peekable<std::vec::IntoIter<Item>>,
        running: Option<&Names>,
    ) -> Stop {
        while self.batch.len() < self.batch_files {
            let staged = &self.batch.names;
            let Some(item) = items.next_if(|i| !meets(running, &i.path) && !staged.holds(&i.path))
            else {
                return match items.peek() {
                    None => Stop::Full,
                    Some(i) if meets(running, &i.path) => Stop::Running,
                    Some(_) => Stop::Staged,
                };
            };
            match &item.entry.kind {
                EntryKind::Dir => self.place_dir(&item),
                EntryKind::Symlink { target } => self.place_symlink(&item, target),
                EntryKind::File => self.place_files(item, items, running),
                EntryKind::Unsupported(why) => self.report.entries.push(EntryResult::failed(
                    item.path.to_string(),
                    FileError::Unsupported(why.clone()),
                )),
            }
        }
        Stop::Full
    }

    /// Adds a rebuilt batch to the report and its bytes and files to the progress, in place
    /// of what its engine `slot` last reported.
    fn report_rebuilt(&mut self, rebuilt: Rebuilt, slot: usize) {
        let (logical, files) = (rebuilt.logical, rebuilt.files);
        rebuilt.report_into(&mut self.report);
        self.progress.batch_done(slot, logical, files);
    }

    /// Makes folder `item` and, the first time this restore meets it, sweeps it of leftover
    /// temporary files. Only then: met again in another spelling (a case-sensitive source can
    /// hold `\DATA\SUB` and `\data\sub`, one folder here, the second listed after the whole
    /// of `\DATA`), the folder holds what this restore put there, plain files with temporary
    /// names among them and the engine's temporary files under way, and a second sweep deleted
    /// them.
    fn place_dir(&mut self, item: &Item) {
        match self.folders.make(self.dest, &item.path) {
            Ok(first) => {
                if first {
                    self.report.leftovers_removed.extend(crate::resume::sweep(
                        self.source,
                        self.dest,
                        &item.path,
                    ));
                }
                self.dir_times
                    .push((item.path.clone(), times_of(&item.entry)));
            }
            Err(e) => self.report.entries.push(EntryResult::failed(
                item.path.to_string(),
                FileError::platform(Stage::Placing, e),
            )),
        }
    }

    fn place_symlink(&mut self, item: &Item, target: &str) {
        let (dest, path) = (self.dest, item.path.to_string());
        // A link already there is never replaced (its target cannot be compared without
        // following it).
        let r = prepare_slot(dest, &self.folders, &item.path).and_then(|slot| match slot {
            Slot::Free => dest.create_symlink(&item.path, target).map(|()| true),
            _ => Ok(false),
        });
        self.report.entries.push(match r {
            Ok(true) => EntryResult::done(path, EntryStatus::Copied, 0),
            Ok(false) => EntryResult::placed(&item.path, EntryStatus::Copied, Placed::Conflict),
            Err(e) => EntryResult::failed(path, FileError::platform(Stage::Placing, e)),
        });
    }

    /// Places file `item` and the files right after it (see [`take_run`]), in parallel.
    fn place_files(
        &mut self,
        item: Item,
        items: &mut Peekable<std::vec::IntoIter<Item>>,
        running: Option<&Names>,
    ) {
        let room = self.batch_files - self.batch.len();
        let run = take_run(item, items, room, running, &self.batch.names);
        let (source, dest, policy, tell) = (self.source, self.dest, self.opts.overwrite, self.tell);
        let folders = &self.folders;
        let placed: Vec<FilePlaced> = run
            .par_iter()
            .map(|item| place_file(source, dest, folders, item, policy, tell))
            .collect();
        for (item, p) in run.into_iter().zip(placed) {
            match p {
                FilePlaced::Staged(stub) => {
                    let times = (times_of(&item.entry), item.entry.attributes);
                    self.batch.push(item.path, stub, times);
                }
                FilePlaced::Done(e) => self.report.entries.push(e),
            }
        }
    }
}

/// File `first` and the files right after it in `items`, up to `room` files, for one
/// parallel run. The run ends before a file that meets the `running` batch, or another file of
/// the run (see [`meets`]), or one of the batch being staged (its [`Batch::names`],
/// `staged`): those are placed after it, one run after the other.
fn take_run(
    first: Item,
    items: &mut Peekable<std::vec::IntoIter<Item>>,
    room: usize,
    running: Option<&Names>,
    staged: &Names,
) -> Vec<Item> {
    let mut names = Names::default();
    names.insert(&first.path);
    let mut run = vec![first];
    while run.len() < room
        && let Some(next) = items.next_if(|i| {
            matches!(i.entry.kind, EntryKind::File)
                && !meets(running, &i.path)
                && !staged.holds(&i.path)
                && !names.holds(&i.path)
        })
    {
        names.insert(&next.path);
        run.push(next);
    }
    run
}

/// Why the placing of items stopped (see `Run::place_until_full`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The batch is full, or no item is left.
    Full,
    /// The next item meets the running batch: it is placed once that batch is over, and the
    /// batch being staged is filled then.
    Running,
    /// The next item meets the batch being staged: that batch is closed (rebuilt as if full)
    /// and the item goes to the next.
    Staged,
}

/// What became of one file of a run: a stub staged for the engine, or its entry (copied, in
/// conflict, or failed).
enum FilePlaced {
    Staged(Stub),
    Done(EntryResult),
}

/// Stages a dedup file, or copies a plain one (with its times), for the parallel runs of
/// [`restore_planned`].
fn place_file(
    source: &dyn Source,
    dest: &dyn Volume,
    folders: &Folders,
    item: &Item,
    policy: Overwrite,
    tell: &(dyn Fn(u64, u64, Phase) + Sync),
) -> FilePlaced {
    let path = item.path.to_string();
    if item.entry.reparse.is_some() {
        let staged = stage_stub(source, dest, folders, item, policy);
        if !matches!(staged, Ok(Some(_))) {
            tell(0, 1, Phase::Copying);
        }
        return match staged {
            Ok(Some(stub)) => FilePlaced::Staged(stub),
            Ok(None) => FilePlaced::Done(EntryResult::placed(
                &item.path,
                EntryStatus::Restored,
                Placed::Conflict,
            )),
            Err(e) => FilePlaced::Done(EntryResult::failed(path, e)),
        };
    }
    let copied = copy_file(source, dest, folders, item, policy);
    if !matches!(copied, Ok(Placed::Written { .. })) {
        tell(0, 1, Phase::Copying);
    }
    FilePlaced::Done(match copied {
        Ok(placed) => {
            if let Placed::Written { bytes, .. } = placed {
                finish_restored(
                    dest,
                    &item.path,
                    times_of(&item.entry),
                    item.entry.attributes,
                );
                tell(bytes, 1, Phase::Copying);
            }
            EntryResult::placed(&item.path, EntryStatus::Copied, placed)
        }
        Err(e) => EntryResult::failed(path, e),
    })
}

fn times_of(e: &SourceEntry) -> Times {
    (e.modified, e.accessed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(path: &str, kind: EntryKind) -> Item {
        let path = WinPath::new(path).unwrap();
        Item {
            entry: SourceEntry {
                name: path.file_name().unwrap_or_default().to_owned(),
                kind,
                len: 0,
                attributes: 0,
                modified: None,
                accessed: None,
                reparse: None,
            },
            path,
            dedup: false,
            logical: None,
        }
    }

    /// The paths of the runs `take_run` makes of `paths` (files, `\` at the end a folder),
    /// beside a batch running with files `running`, up to `room` files a run; a folder is a
    /// run of its own here (in a restore it is placed apart, as the runs are).
    fn runs(paths: &[&str], room: usize, running: &[&str]) -> Vec<Vec<String>> {
        runs_staged(paths, room, running, &[])
    }

    /// [`runs`], with a batch being staged that holds stubs `staged`.
    fn runs_staged(
        paths: &[&str],
        room: usize,
        running: &[&str],
        staged: &[&str],
    ) -> Vec<Vec<String>> {
        let batch = |paths| super::super::rebuild::tests::batch(paths).names;
        let (running, staged) = (batch(running), batch(staged));
        let mut items = paths
            .iter()
            .map(|p| match p.strip_suffix('\\') {
                Some(dir) => item(dir, EntryKind::Dir),
                None => item(p, EntryKind::File),
            })
            .collect::<Vec<_>>()
            .into_iter()
            .peekable();
        let mut out = Vec::new();
        while let Some(first) = items.next() {
            let run = if matches!(first.entry.kind, EntryKind::Dir) {
                vec![first]
            } else {
                take_run(first, &mut items, room, Some(&running), &staged)
            };
            out.push(run.iter().map(|i| i.path.to_string()).collect());
        }
        out
    }

    #[test]
    fn a_run_takes_consecutive_files_up_to_its_room() {
        let paths = ["\\a", "\\b", "\\d\\", "\\d\\c", "\\d\\e", "\\d\\f"];
        assert_eq!(
            runs(&paths, 2, &[]),
            [
                vec!["\\a", "\\b"],
                vec!["\\d"],
                vec!["\\d\\c", "\\d\\e"],
                vec!["\\d\\f"]
            ]
        );
    }

    /// A file named like another of the run's temporary sibling (either way round, in any
    /// case), or one name in two spellings, starts a run of its own.
    #[test]
    fn a_run_ends_before_a_file_named_like_one_of_its_own() {
        let paths = [
            "\\NOTE.TXT.rehydrate~0",
            "\\note.txt",
            "\\other",
            "\\OTHER",
            "\\x.rehydrate~1",
            "\\y",
        ];
        assert_eq!(
            runs(&paths, 100, &[]),
            [
                vec!["\\NOTE.TXT.rehydrate~0"],
                vec!["\\note.txt", "\\other"],
                vec!["\\OTHER", "\\x.rehydrate~1", "\\y"],
            ]
        );
    }

    /// In a restore a file that meets the running batch stops the placing (see
    /// `place_until_full`); a run that reaches one ends before it.
    #[test]
    fn a_run_ends_before_a_file_named_like_one_of_the_running_batch() {
        let paths = ["\\a", "\\b.bin.REHYDRATE~0", "\\c"];
        assert_eq!(
            runs(&paths, 100, &["\\B.BIN"]),
            [vec!["\\a"], vec!["\\b.bin.REHYDRATE~0", "\\c"]]
        );
    }

    /// A file of the batch being staged in another spelling, or named like its temporary
    /// sibling, ends a run.
    #[test]
    fn a_run_ends_before_a_file_the_staged_batch_holds() {
        let paths = ["\\a", "\\B.BIN", "\\c", "\\b.bin.rehydrate~0"];
        assert_eq!(
            runs_staged(&paths, 100, &[], &["\\b.bin"]),
            [
                vec!["\\a"],
                vec!["\\B.BIN", "\\c"],
                vec!["\\b.bin.rehydrate~0"]
            ]
        );
    }
}
