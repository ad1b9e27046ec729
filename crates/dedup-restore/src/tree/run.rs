//! Carrying out a tree plan: folders and links placed in walk order, plain files copied and
//! dedup files staged in parallel runs, the staged stubs rebuilt by the engine in batches of
//! up to [`MAX_FILES`], then the folders' times and a sync.

use std::iter::Peekable;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use platform::{
    Access, Disposition, EntryKind, OpenOptions, ShareMode, Source, SourceEntry, Volume, WinPath,
    attr,
};
use rayon::prelude::*;

use super::{
    EntryResult, EntryStatus, Item, Overwrite, TreeError, TreeOptions, TreePlan, TreeReport,
    engine_outcome,
};
use crate::MAX_FILES;
use crate::batch::restore_in_place;
use crate::dry_run::dry_run;
use crate::engine::{Phase, Progress, ProgressFn, RestoreOptions};
use crate::error::{FileError, Stage};
use crate::hresult::Hresult;
use crate::place::{Folders, Placed, Slot, copy_file, prepare_slot, stage_stub};
use crate::staged::{StagedVolume, Stub, Times};
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
    // Bytes and files of the finished engine batches and of the files placed otherwise; the
    // engine's own progress is added to them while a batch runs.
    let done = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let tell = |bytes: u64, files: u64, phase: Phase| {
        let b = done.0.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let f = done.1.fetch_add(files, Ordering::Relaxed) + files;
        if let Some(p) = &opts.restore.progress {
            p(Progress {
                bytes_done: b,
                bytes_total: total,
                files_done: f,
                files_total,
                phase,
            });
        }
    };
    let mut engine_opts = engine_options(opts, &done, total, files_total);
    if opts.dry_run {
        // Every byte compared: no chunk may become a hole that leaves a range unchecked.
        engine_opts.sparse_zeros = false;
        dry_run(
            items,
            source,
            store,
            dest,
            opts,
            &engine_opts,
            &mut report,
            &tell,
        );
        return Ok(report);
    }
    let run = Run {
        source,
        store,
        dest,
        opts,
        engine_opts,
        tell: &tell,
        folders: Folders::default(),
        batch: Vec::new(),
        batch_times: Vec::new(),
        dir_times: Vec::new(),
        report,
    };
    run.place_all(items)
}

/// The engine's options for a tree: the tree's, with a progress callback that adds the
/// engine's figures to those of the batches and files already done (`done`).
fn engine_options(
    opts: &TreeOptions,
    done: &Arc<(AtomicU64, AtomicU64)>,
    total: u64,
    files_total: u64,
) -> RestoreOptions {
    let mut engine_opts = opts.restore.clone();
    if let Some(outer) = opts.restore.progress.clone() {
        let base = done.clone();
        let f: ProgressFn = Arc::new(move |p: Progress| {
            outer(Progress {
                bytes_done: base.0.load(Ordering::Relaxed) + p.bytes_done,
                bytes_total: total,
                files_done: base.1.load(Ordering::Relaxed) + p.files_done,
                files_total,
                phase: p.phase,
            });
        });
        engine_opts.progress = Some(f);
    }
    engine_opts
}

/// A tree restore under way (not a dry run).
struct Run<'a> {
    source: &'a dyn Source,
    store: &'a dyn BackupStore,
    dest: &'a dyn Volume,
    opts: &'a TreeOptions,
    engine_opts: RestoreOptions,
    /// Adds finished bytes and files to the progress and reports it.
    tell: &'a (dyn Fn(u64, u64, Phase) + Sync),
    folders: Folders,
    /// Dedup stubs staged for the engine's next batch.
    batch: Vec<(WinPath, Stub)>,
    /// The source times (and attributes) of the files in the batch and the times of every
    /// folder, set once each is complete (folders last, after their contents).
    batch_times: Vec<(Times, u32)>,
    dir_times: Vec<(WinPath, Times)>,
    report: TreeReport,
}

impl Run<'_> {
    /// Places every item in walk order, rebuilds the staged dedup files, sets the folders'
    /// times and syncs the destination.
    fn place_all(mut self, items: Vec<Item>) -> Result<TreeReport, TreeError> {
        let dest = self.dest;
        self.report
            .leftovers_removed
            .extend(crate::resume::sweep(dest, &WinPath::root()));
        // Files are staged (dedup) or copied (plain) in parallel, a run of consecutive files at
        // a time: per file that is a lookup of its slot, its reparse point or its bytes, and for
        // a copy the placement and times (many small files were bound by doing these one by
        // one). Folders, links and the engine's batches keep the walk's order.
        let mut items = items.into_iter().peekable();
        while let Some(item) = items.next() {
            let path = item.path.to_string();
            match &item.entry.kind {
                EntryKind::Dir => self.place_dir(&item),
                EntryKind::Symlink { target } => self.place_symlink(&item, target),
                EntryKind::File => self.place_files(item, &mut items),
                EntryKind::Unsupported(why) => self.report.entries.push(EntryResult::failed(
                    path,
                    FileError::Unsupported(why.clone()),
                )),
            }
        }
        self.flush();
        // Deepest folders first: setting a folder's times after its last child is placed.
        for (path, times) in std::mem::take(&mut self.dir_times).into_iter().rev() {
            set_times(dest, &path, times);
        }
        (self.tell)(0, 0, Phase::Syncing);
        dest.sync_all().map_err(TreeError::Sync)?;
        Ok(self.report)
    }

    fn place_dir(&mut self, item: &Item) {
        match self.folders.make(self.dest, &item.path) {
            Ok(()) => {
                self.report
                    .leftovers_removed
                    .extend(crate::resume::sweep(self.dest, &item.path));
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

    /// Places file `item` and the files right after it, up to what the current batch can
    /// still take, in parallel; a full batch is rebuilt at once.
    fn place_files(&mut self, item: Item, items: &mut Peekable<std::vec::IntoIter<Item>>) {
        let room = MAX_FILES - self.batch.len();
        let mut run = vec![item];
        while run.len() < room
            && items
                .peek()
                .is_some_and(|i| matches!(i.entry.kind, EntryKind::File))
        {
            run.extend(items.next());
        }
        let (source, dest, policy, tell) = (self.source, self.dest, self.opts.overwrite, self.tell);
        let folders = &self.folders;
        let placed: Vec<FilePlaced> = run
            .par_iter()
            .map(|item| place_file(source, dest, folders, item, policy, tell))
            .collect();
        for (item, p) in run.into_iter().zip(placed) {
            match p {
                FilePlaced::Staged(stub) => {
                    self.batch_times
                        .push((times_of(&item.entry), item.entry.attributes));
                    self.batch.push((item.path, stub));
                }
                FilePlaced::Done(e) => self.report.entries.push(e),
            }
        }
        if self.batch.len() == MAX_FILES {
            self.flush();
        }
    }

    /// Rebuilds the staged batch with the engine, finishes each rebuilt file (attributes,
    /// times) and reports every file of the batch.
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let (dest, report) = (self.dest, &mut self.report);
        let t = Instant::now();
        let logical: u64 = self.batch.iter().map(|(_, s)| s.logical).sum();
        let staged = std::mem::take(&mut self.batch);
        let times = std::mem::take(&mut self.batch_times);
        let paths: Vec<WinPath> = staged.iter().map(|(p, _)| p.clone()).collect();
        let volume = StagedVolume::new(dest, staged, self.opts.overwrite);
        let r = restore_in_place(&volume, &paths, self.store, &self.engine_opts);
        report.engine_time += t.elapsed();
        crate::batch::add(&mut report.stats, &r.stats);
        let met = volume.met();
        // Most rebuilt files got their times through their handle as the engine finished them
        // (`met.timed`); the others, and the read-only ones, are finished here, in parallel.
        r.files
            .par_iter()
            .zip(&times)
            .for_each(|(f, &(times, attributes))| {
                let key = f.path.folded();
                let finished = met.timed.contains(&key) && attributes & attr::READONLY == 0;
                if f.result == Hresult::S_OK
                    && !finished
                    && !met.skipped.contains(&key)
                    && !met.conflicts.contains(&key)
                {
                    finish_restored(dest, &f.path, times, attributes);
                }
            });
        report.entries.extend(r.files.into_iter().map(|f| {
            let key = f.path.folded();
            let kept = met.skipped.contains(&key);
            if met.conflicts.contains(&key) {
                return EntryResult::placed(&f.path, EntryStatus::Restored, Placed::Conflict);
            }
            let mut e = engine_outcome(f);
            if kept && e.status == EntryStatus::Restored {
                e.status = EntryStatus::Skipped;
                e.bytes = 0;
            }
            e.replaced = e.status == EntryStatus::Restored && met.replaced.contains(&key);
            e
        }));
        (self.tell)(logical, times.len() as u64, Phase::Copying);
    }
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

/// Gives a placed file or folder its source times. Best effort: a destination that cannot
/// hold times (or refuses) keeps the restore time; the file's bytes are what is vouched for.
fn set_times(dest: &dyn Volume, path: &WinPath, (modified, accessed): Times) {
    if modified.is_some() || accessed.is_some() {
        let _ = dest.set_times(path, modified, accessed);
    }
}

/// What a rebuilt or copied file gets once it is in place: `FILE_ATTRIBUTE_READONLY` when the
/// source file has it (kept off while the file is written: the engine refuses read-only stubs,
/// and a read-only temporary file could not be removed on failure), then its source times.
/// Best effort, like [`set_times`].
fn finish_restored(dest: &dyn Volume, path: &WinPath, times: Times, attributes: u32) {
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
