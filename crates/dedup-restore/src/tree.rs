//! Out-of-place restore: a tree (or chosen paths) from a [`Source`] into a destination
//! [`Volume`], built on the in-place engine ([`crate::restore_files`]).
//!
//! * Directories are created, ordinary files copied and symbolic links recreated as links;
//!   `\System Volume Information` (the chunk store, shadow-copy state) is not restored.
//! * Dedup files are staged in memory over the destination (their stubs are never written)
//!   and rebuilt by the engine at most [`MAX_FILES`] per call.
//! * Every file is written to a temporary sibling and renamed into place only when complete:
//!   a file that fails leaves nothing at its path. A plain file already at a path is kept
//!   when identical ([`EntryStatus::Skipped`]) and otherwise kept as a conflict or replaced,
//!   as [`TreeOptions::overwrite`] says; a folder or a link there is never replaced. Replacing
//!   is one rename over the old file: a failure leaves the old file in place.
//! * [`plan_tree`] walks the source first (what is selected: paths, globs) without touching
//!   the destination; its [`TreePlan::check`] is the pre-flight check (is this a dedup volume
//!   whose stubs find their chunk store?); [`restore_planned`] carries the plan out, or with
//!   [`TreeOptions::dry_run`] only tells what it would do.
//! * A file whose reparse data is not a dedup reparse point (another filter's tag, a damaged
//!   tag, a buffer too short to hold one) is reported, never copied: its data stream is a
//!   placeholder, not the file's content.
//! * The destination is synced once at the end ([`Volume::sync_all`]), before anything is
//!   reported restored.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use platform::{
    Access, Disposition, EntryKind, OpenOptions, ShareMode, Source, SourceEntry, Volume, WinPath,
    attr,
};
use rayon::prelude::*;

use crate::batch::restore_in_place;
use crate::dry_run::dry_run;
use crate::engine::{Phase, Progress, ProgressFn, RestoreOptions, RestoreStats};
use crate::error::{FileError, Stage};
use crate::hresult::Hresult;
use crate::place::{Folders, Placed, Slot, copy_file, prepare_slot, stage_stub, taken};
use crate::preflight::{SourceError, SourceSurvey, SourceWarning};
use crate::select::{GlobError, Globs};
use crate::staged::{StagedVolume, Stub};
use crate::store::BackupStore;
pub(crate) use crate::walk::is_dedup;
use crate::walk::{Selection, walk};
use crate::{FileResult, MAX_FILES};

/// `\System Volume Information`: the chunk store and other system state, never restored.
pub const SYSTEM_DIR: &str = "System Volume Information";

/// What a restore does with a file already at an entry's path in the destination
/// (restic's `--overwrite` vocabulary). Whatever the policy, an identical file is never
/// rewritten by `Never` and `IfChanged`, and a folder or a link (anything with a reparse
/// point) is never replaced: it is reported [`EntryStatus::Conflict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overwrite {
    /// Never replace: identical files are [`EntryStatus::Skipped`], different ones are
    /// [`EntryStatus::Conflict`] and kept.
    #[default]
    Never,
    /// Replace files whose bytes differ from what the restore would write; identical ones
    /// are skipped and left untouched.
    IfChanged,
    /// Replace every file, without comparing.
    Always,
}

/// What [`restore_tree`] does with each entry.
#[derive(Clone, Debug)]
pub struct TreeOptions {
    /// Volume paths to restore (files or folders, matched case-insensitively); everything
    /// when empty. [`crate::parse_user_path`] reads them as people type them. Each must
    /// match something ([`TreeError::NoMatch`]).
    pub paths: Vec<WinPath>,
    /// Globs a file (or one of its folders) must match to be restored; everything when empty.
    /// Matched case-insensitively on the path relative to the source with `/` separators: a
    /// pattern without `/` against each name (`*.pdf`, `cache`), one with `/` against the
    /// whole path (`docs/*.pdf`, `media/**`; `*` stays within a name, `**` crosses folders,
    /// a leading `/` or `./` and a trailing `/` are dropped, `\` is a separator). Each must
    /// match something ([`TreeError::NoMatch`]).
    pub include: Vec<String>,
    /// Globs whose matching files and folders (with everything below them) are left out;
    /// they win over `include`.
    pub exclude: Vec<String>,
    /// Copy ordinary files and links. `false` for a verification run, which only rebuilds
    /// the dedup files (into a [`platform::NullVolume`]).
    pub copy_plain: bool,
    /// The engine's options. Its `progress` callback, if any, is called with the progress of
    /// the whole tree (bytes of dedup files rebuilt and ordinary files copied).
    pub restore: RestoreOptions,
    /// What to do with a file already at an entry's path.
    pub overwrite: Overwrite,
    /// Write nothing: report what would be restored, copied, skipped, replaced and in
    /// conflict. Existing files are compared read-only (a dedup file of the same size as the
    /// existing one is rebuilt in memory, chunk by chunk, and compared as it is produced);
    /// dedup files that are not there yet are not rebuilt, so a damaged store shows only in a
    /// real run (or `verify`).
    pub dry_run: bool,
}

impl Default for TreeOptions {
    fn default() -> Self {
        Self {
            paths: Vec::new(),
            include: Vec::new(),
            exclude: Vec::new(),
            copy_plain: true,
            restore: RestoreOptions::default(),
            overwrite: Overwrite::Never,
            dry_run: false,
        }
    }
}

/// What happened to one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryStatus {
    /// A dedup file rebuilt and verified.
    Restored,
    /// Not a dedup file: copied as it is (a symbolic link recreated as a link).
    Copied,
    /// Already at its path with exactly the bytes the restore would write (a re-run): kept.
    Skipped,
    /// Something else is already at its path (a file with other bytes under
    /// [`Overwrite::Never`], or a folder or link under any policy): kept as it is. The error is
    /// `ERROR_ALREADY_EXISTS`.
    Conflict,
    /// Failed: see [`EntryResult::error`]. Nothing was left at its path.
    Failed,
}

/// The outcome for one entry of the source (directories appear only when they failed).
#[derive(Debug, Clone)]
pub struct EntryResult {
    /// The volume path (`\docs\a.txt`); for a source name that is not a valid Windows name,
    /// its parent's path and the name as the source spells it.
    pub path: String,
    /// What happened.
    pub status: EntryStatus,
    /// Logical bytes restored or copied.
    pub bytes: u64,
    /// A file already at the path was replaced (restored or copied over it).
    pub replaced: bool,
    /// Why it failed (or, for a conflict, that the path is taken).
    pub error: Option<FileError>,
}

impl EntryResult {
    pub(crate) fn failed(path: impl Into<String>, error: FileError) -> Self {
        Self {
            path: path.into(),
            status: EntryStatus::Failed,
            bytes: 0,
            replaced: false,
            error: Some(error),
        }
    }

    pub(crate) fn done(path: impl Into<String>, status: EntryStatus, bytes: u64) -> Self {
        Self {
            path: path.into(),
            status,
            bytes,
            replaced: false,
            error: None,
        }
    }

    /// The entry result of a placement of `what` (restored or copied).
    pub(crate) fn placed(path: &WinPath, what: EntryStatus, placed: Placed) -> Self {
        match placed {
            Placed::Written { bytes, replaced } => Self {
                replaced,
                ..Self::done(path.to_string(), what, bytes)
            },
            Placed::Skipped => Self::done(path.to_string(), EntryStatus::Skipped, 0),
            Placed::Conflict => Self {
                status: EntryStatus::Conflict,
                ..Self::failed(path.to_string(), taken(path))
            },
        }
    }

    /// The HRESULT: S_OK restored, S_FALSE copied, or the error's.
    #[must_use]
    pub fn hresult(&self) -> Hresult {
        match (&self.error, self.status) {
            (Some(e), _) => e.hresult(),
            (None, EntryStatus::Restored) => Hresult::S_OK,
            (None, _) => Hresult::S_FALSE,
        }
    }
}

/// The report of [`restore_tree`].
#[derive(Debug, Clone, Default)]
pub struct TreeReport {
    /// One entry per file, link, failed directory and unmatched path, in walk order (dedup
    /// files in the order their batch finished).
    pub entries: Vec<EntryResult>,
    /// The engine's counters, summed over its calls.
    pub stats: RestoreStats,
    /// Temporary files (`NAME.rehydrate~N`) an interrupted run left in the folders restored
    /// into, removed.
    pub leftovers_removed: Vec<WinPath>,
    /// Time spent in the engine (rebuilding dedup files).
    pub engine_time: Duration,
    /// A dry run: nothing was written, the statuses say what a restore would do.
    pub dry_run: bool,
}

impl TreeReport {
    /// Entries with `status`.
    #[must_use]
    pub fn count(&self, status: EntryStatus) -> usize {
        self.entries.iter().filter(|e| e.status == status).count()
    }

    /// Bytes of the entries with `status`.
    #[must_use]
    pub fn bytes(&self, status: EntryStatus) -> u64 {
        self.entries
            .iter()
            .filter(|e| e.status == status)
            .map(|e| e.bytes)
            .sum()
    }
}

/// Why [`restore_tree`] could not run at all (per-entry failures are in the report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// The source's root cannot be listed.
    #[error("source {source_name}: {error}")]
    Source {
        /// The source, as it describes itself.
        source_name: String,
        /// Why.
        #[source]
        error: platform::Error,
    },
    /// The destination could not be synced: nothing can be reported as restored.
    #[error("flushing the destination to stable storage: {0}")]
    Sync(#[source] platform::Error),
    /// A path or an include glob selects nothing in the source.
    #[error("\"{filter}\" matches nothing in the source")]
    NoMatch {
        /// Which filter.
        kind: FilterKind,
        /// Its index in [`TreeOptions::paths`] or [`TreeOptions::include`].
        index: usize,
        /// The path or the pattern.
        filter: String,
    },
    /// An include or exclude glob does not compile.
    #[error(transparent)]
    Glob(#[from] GlobError),
}

/// Which kind of filter [`TreeError::NoMatch`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    /// One of [`TreeOptions::paths`].
    Path,
    /// One of [`TreeOptions::include`].
    Include,
}

/// A file of the walk.
pub(crate) struct Item {
    pub(crate) path: WinPath,
    pub(crate) entry: SourceEntry,
    /// The entry carries a dedup reparse point (its buffer is dropped after the walk and read
    /// again when the file is staged).
    pub(crate) dedup: bool,
}

/// The walk of a source: what a restore of it would do, before anything is written
/// ([`plan_tree`]). Carry it out with [`restore_planned`] on the same source.
pub struct TreePlan {
    items: Vec<Item>,
    total: u64,
    /// Folders that could not be listed.
    failed: Vec<EntryResult>,
    survey: SourceSurvey,
    source_name: String,
    filtered: bool,
}

impl std::fmt::Debug for TreePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreePlan")
            .field("entries", &self.items.len())
            .field("bytes", &self.total)
            .field("survey", &self.survey)
            .finish_non_exhaustive()
    }
}

impl TreePlan {
    /// What the walk found: dedup files, other files, the stores referenced and present.
    #[must_use]
    pub fn survey(&self) -> &SourceSurvey {
        &self.survey
    }

    /// Entries selected (files, links and folders).
    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is selected.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The pre-flight check: an error when the source is not a dedup volume or its stubs'
    /// chunk store is missing (see [`SourceError`]); otherwise the warnings, if any. Call it
    /// before creating the destination.
    pub fn check(&self) -> Result<Vec<SourceWarning>, SourceError> {
        self.survey.check(&self.source_name, self.filtered)
    }
}

/// Walks `source` and selects what `opts` asks for (paths, include and exclude globs),
/// touching no destination. Fails when a glob does not compile or a path or include glob
/// selects nothing ([`TreeError::NoMatch`]).
pub fn plan_tree(source: &dyn Source, opts: &TreeOptions) -> Result<TreePlan, TreeError> {
    let include = Globs::new("--include", &opts.include)?;
    let exclude = Globs::new("--exclude", &opts.exclude)?;
    let sel = Selection {
        paths: &opts.paths,
        include: &include,
        exclude: &exclude,
    };
    let mut failed = Vec::new();
    let walked = walk(source, &sel, opts.copy_plain, &mut failed)?;
    if let Some(&i) = walked.unmatched_paths.first() {
        return Err(TreeError::NoMatch {
            kind: FilterKind::Path,
            index: i,
            filter: opts.paths[i].to_string(),
        });
    }
    if let Some(&i) = walked.unmatched_includes.first() {
        return Err(TreeError::NoMatch {
            kind: FilterKind::Include,
            index: i,
            filter: opts.include[i].clone(),
        });
    }
    let mut survey = walked.survey;
    survey.stores = crate::preflight::stores_of(source);
    Ok(TreePlan {
        items: walked.items,
        total: walked.total,
        failed,
        survey,
        source_name: source.describe(),
        filtered: !opts.paths.is_empty() || !include.is_empty() || !exclude.is_empty(),
    })
}

/// Restores `opts.paths` (everything when empty) from `source` into `dest`, reading chunks
/// from `store` (normally a [`crate::SourceStore`] over the same source): [`plan_tree`] then
/// [`restore_planned`]. Runs on the current rayon pool (wrap the call in `pool.install` to
/// choose the threads). The pre-flight check ([`TreePlan::check`]) is the caller's to make.
pub fn restore_tree(
    source: &dyn Source,
    store: &dyn BackupStore,
    dest: &dyn Volume,
    opts: &TreeOptions,
) -> Result<TreeReport, TreeError> {
    let plan = plan_tree(source, opts)?;
    restore_planned(plan, source, store, dest, opts)
}

/// Carries out `plan` (from [`plan_tree`] over the same `source` and `opts`) into `dest`, or
/// with [`TreeOptions::dry_run`] only reports what it would do, writing nothing.
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
    let mut batch: Vec<(WinPath, Stub)> = Vec::new();
    // The source times of the files in the batch and of every folder, set once each is
    // complete (folders last, after their contents).
    let mut batch_times: Vec<(Times, u32)> = Vec::new();
    let mut dir_times: Vec<(WinPath, Times)> = Vec::new();
    let flush = |batch: &mut Vec<(WinPath, Stub)>,
                 batch_times: &mut Vec<(Times, u32)>,
                 report: &mut TreeReport| {
        if batch.is_empty() {
            return;
        }
        let t = Instant::now();
        let logical: u64 = batch.iter().map(|(_, s)| s.logical).sum();
        let staged = std::mem::take(batch);
        let times = std::mem::take(batch_times);
        let paths: Vec<WinPath> = staged.iter().map(|(p, _)| p.clone()).collect();
        let volume = StagedVolume::new(dest, staged, opts.overwrite);
        let r = restore_in_place(&volume, &paths, store, &engine_opts);
        report.engine_time += t.elapsed();
        crate::batch::add(&mut report.stats, &r.stats);
        let met = volume.met();
        // Per file (an open and a futimens each): in parallel.
        r.files
            .par_iter()
            .zip(&times)
            .for_each(|(f, &(times, attributes))| {
                let key = f.path.folded();
                if f.result == Hresult::S_OK
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
        tell(logical, times.len() as u64, Phase::Copying);
    };
    report
        .leftovers_removed
        .extend(crate::resume::sweep(dest, &WinPath::root()));
    // Files are staged (dedup) or copied (plain) in parallel, a run of consecutive files at a
    // time: per file that is a lookup of its slot, its reparse point or its bytes, and for a
    // copy the placement and times (many small files were bound by doing these one by one).
    // Folders, links and the engine's batches keep the walk's order.
    let folders = Folders::default();
    let mut items = items.into_iter().peekable();
    while let Some(item) = items.next() {
        let path = item.path.to_string();
        match &item.entry.kind {
            EntryKind::Dir => match folders.make(dest, &item.path) {
                Ok(()) => {
                    report
                        .leftovers_removed
                        .extend(crate::resume::sweep(dest, &item.path));
                    dir_times.push((item.path.clone(), times_of(&item.entry)));
                }
                Err(e) => report.entries.push(EntryResult::failed(
                    path,
                    FileError::platform(Stage::Placing, e),
                )),
            },
            EntryKind::Symlink { target } => {
                // A link already there is never replaced (its target cannot be compared
                // without following it).
                let r = prepare_slot(dest, &folders, &item.path).and_then(|slot| match slot {
                    Slot::Free => dest.create_symlink(&item.path, target).map(|()| true),
                    _ => Ok(false),
                });
                report.entries.push(match r {
                    Ok(true) => EntryResult::done(path, EntryStatus::Copied, 0),
                    Ok(false) => {
                        EntryResult::placed(&item.path, EntryStatus::Copied, Placed::Conflict)
                    }
                    Err(e) => EntryResult::failed(path, FileError::platform(Stage::Placing, e)),
                });
            }
            EntryKind::File => {
                // This file and the files right after it, up to what the current batch can
                // still take.
                let room = MAX_FILES - batch.len();
                let mut run = vec![item];
                while run.len() < room
                    && items
                        .peek()
                        .is_some_and(|i| matches!(i.entry.kind, EntryKind::File))
                {
                    run.extend(items.next());
                }
                let placed: Vec<FilePlaced> = run
                    .par_iter()
                    .map(|item| place_file(source, dest, &folders, item, opts.overwrite, &tell))
                    .collect();
                for (item, p) in run.into_iter().zip(placed) {
                    match p {
                        FilePlaced::Staged(stub) => {
                            batch_times.push((times_of(&item.entry), item.entry.attributes));
                            batch.push((item.path, stub));
                        }
                        FilePlaced::Done(e) => report.entries.push(e),
                    }
                }
                if batch.len() == MAX_FILES {
                    flush(&mut batch, &mut batch_times, &mut report);
                }
            }
            EntryKind::Unsupported(why) => report.entries.push(EntryResult::failed(
                path,
                FileError::Unsupported(why.clone()),
            )),
        }
    }
    flush(&mut batch, &mut batch_times, &mut report);
    // Deepest folders first: setting a folder's times after its last child is placed.
    for (path, times) in dir_times.into_iter().rev() {
        set_times(dest, &path, times);
    }
    tell(0, 0, Phase::Syncing);
    dest.sync_all().map_err(TreeError::Sync)?;
    Ok(report)
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

/// A source entry's modification and access times.
type Times = (Option<SystemTime>, Option<SystemTime>);

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

/// The dedup files under `paths` of `source` (everything when empty; `\System Volume
/// Information` left out), for an in-place restore: the files carrying a dedup reparse point,
/// and a failed entry for each folder that cannot be listed and each path not found.
pub fn dedup_files(
    source: &dyn Source,
    paths: &[WinPath],
) -> Result<(Vec<WinPath>, Vec<EntryResult>), TreeError> {
    let mut failed = Vec::new();
    let none = Globs::new("--include", &[])?;
    let sel = Selection {
        paths,
        include: &none,
        exclude: &none,
    };
    let walked = walk(source, &sel, false, &mut failed)?;
    for i in walked.unmatched_paths {
        failed.push(EntryResult::failed(
            paths[i].to_string(),
            FileError::NotInSource,
        ));
    }
    let files = walked
        .items
        .into_iter()
        .filter(|i| i.entry.kind == EntryKind::File && i.dedup)
        .map(|i| i.path)
        .collect();
    Ok((files, failed))
}

/// One engine result as an entry result.
pub(crate) fn engine_outcome(f: FileResult) -> EntryResult {
    let path = f.path.to_string();
    match (f.result, f.error) {
        (Hresult::S_OK, _) => EntryResult::done(path, EntryStatus::Restored, f.logical_size),
        (_, Some(e)) => EntryResult::failed(path, e),
        // S_FALSE: the engine saw no dedup reparse point on a file staged as one. Only a
        // staging bug can do that; never report it as restored.
        (h, None) => EntryResult::failed(
            path,
            FileError::Reported {
                by: "the engine",
                hresult: h,
            },
        ),
    }
}
