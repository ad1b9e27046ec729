//! Out-of-place restore: a tree (or chosen paths) from a [`Source`] into a destination
//! [`Volume`], built on the in-place engine ([`crate::restore_files`]).
//!
//! * Directories are created, ordinary files copied and symbolic links recreated as links;
//!   `\System Volume Information` (the chunk store, shadow-copy state) is not restored.
//! * Dedup files are staged in memory over the destination (their stubs are never written)
//!   and rebuilt by the engine at most [`MAX_FILES`] per call.
//! * Every file is written to a temporary sibling and renamed into place only when complete:
//!   a file that fails leaves nothing at its path. An existing file at a path is never
//!   replaced (that entry fails with `ERROR_ALREADY_EXISTS`).
//! * A file whose reparse data is not a dedup reparse point (another filter's tag, a damaged
//!   tag, a buffer too short to hold one) is reported, never copied: its data stream is a
//!   placeholder, not the file's content.
//! * The destination is synced once at the end ([`Volume::sync_all`]), before anything is
//!   reported restored.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use dedup_reparse::{DedupReparse, IO_REPARSE_TAG_DEDUP};
use platform::{EntryKind, Source, SourceEntry, Volume, WinPath, eq_name};

use crate::batch::restore_in_place;
use crate::engine::{Progress, ProgressFn, RestoreOptions, RestoreStats};
use crate::error::{FileError, Stage};
use crate::hresult::Hresult;
use crate::place::{copy_file, prepare_slot, stage_stub};
use crate::staged::{StagedVolume, Stub};
use crate::store::BackupStore;
use crate::{FileResult, MAX_FILES};

/// `\System Volume Information`: the chunk store and other system state, never restored.
pub const SYSTEM_DIR: &str = "System Volume Information";

/// What [`restore_tree`] does with each entry.
#[derive(Clone, Debug)]
pub struct TreeOptions {
    /// Volume paths to restore (files or folders, matched case-insensitively); everything
    /// when empty.
    pub paths: Vec<WinPath>,
    /// Copy ordinary files and links. `false` for a verification run, which only rebuilds
    /// the dedup files (into a [`platform::NullVolume`]).
    pub copy_plain: bool,
    /// The engine's options. Its `progress` callback, if any, is called with the progress of
    /// the whole tree (bytes of dedup files rebuilt and ordinary files copied).
    pub restore: RestoreOptions,
    /// A file already at its path whose bytes are exactly what would be written is kept and
    /// reported [`EntryStatus::Skipped`] (a re-run after an interrupted restore); otherwise it
    /// fails with `ERROR_ALREADY_EXISTS`. Nothing is ever replaced either way.
    pub resume: bool,
}

impl Default for TreeOptions {
    fn default() -> Self {
        Self {
            paths: Vec::new(),
            copy_plain: true,
            restore: RestoreOptions::default(),
            resume: true,
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
    /// Why it failed.
    pub error: Option<FileError>,
}

impl EntryResult {
    fn failed(path: impl Into<String>, error: FileError) -> Self {
        Self {
            path: path.into(),
            status: EntryStatus::Failed,
            bytes: 0,
            error: Some(error),
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
}

/// A file of the walk.
pub(crate) struct Item {
    pub(crate) path: WinPath,
    pub(crate) entry: SourceEntry,
    /// The entry carries a dedup reparse point (its buffer is dropped after the walk and read
    /// again when the file is staged).
    pub(crate) dedup: bool,
}

/// Restores `opts.paths` (everything when empty) from `source` into `dest`, reading chunks
/// from `store` (normally a [`crate::SourceStore`] over the same source). Runs on the current
/// rayon pool (wrap the call in `pool.install` to choose the threads).
pub fn restore_tree(
    source: &dyn Source,
    store: &dyn BackupStore,
    dest: &dyn Volume,
    opts: &TreeOptions,
) -> Result<TreeReport, TreeError> {
    let mut report = TreeReport::default();
    let (items, total) = walk(source, &opts.paths, opts.copy_plain, &mut report.entries)?;
    let done = Arc::new(AtomicU64::new(0));
    let tell = |n: u64| {
        let d = done.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(p) = &opts.restore.progress {
            p(Progress {
                bytes_done: d,
                bytes_total: total,
            });
        }
    };
    let mut engine_opts = opts.restore.clone();
    if let Some(outer) = opts.restore.progress.clone() {
        let base = done.clone();
        let f: ProgressFn = Arc::new(move |p: Progress| {
            outer(Progress {
                bytes_done: base.load(Ordering::Relaxed) + p.bytes_done,
                bytes_total: total,
            });
        });
        engine_opts.progress = Some(f);
    }
    let mut batch: Vec<(WinPath, Stub)> = Vec::new();
    // The source times of the files in the batch and of every folder, set once each is
    // complete (folders last, after their contents).
    let mut batch_times: Vec<Times> = Vec::new();
    let mut dir_times: Vec<(WinPath, Times)> = Vec::new();
    let flush = |batch: &mut Vec<(WinPath, Stub)>,
                 batch_times: &mut Vec<Times>,
                 report: &mut TreeReport| {
        if batch.is_empty() {
            return;
        }
        let t = Instant::now();
        let logical: u64 = batch.iter().map(|(_, s)| s.logical).sum();
        let staged = std::mem::take(batch);
        let times = std::mem::take(batch_times);
        let paths: Vec<WinPath> = staged.iter().map(|(p, _)| p.clone()).collect();
        let volume = StagedVolume::new(dest, staged, opts.resume);
        let r = restore_in_place(&volume, &paths, store, &engine_opts);
        report.engine_time += t.elapsed();
        crate::batch::add(&mut report.stats, &r.stats);
        let skipped = volume.skipped();
        report
            .entries
            .extend(r.files.into_iter().zip(times).map(|(f, times)| {
                let kept = skipped.contains(&f.path.folded());
                if f.result == Hresult::S_OK && !kept {
                    set_times(dest, &f.path, times);
                }
                let mut e = engine_outcome(f);
                if kept && e.status == EntryStatus::Restored {
                    e.status = EntryStatus::Skipped;
                }
                e
            }));
        tell(logical);
    };
    report
        .leftovers_removed
        .extend(crate::resume::sweep(dest, &WinPath::root()));
    for item in items {
        let path = item.path.to_string();
        match &item.entry.kind {
            EntryKind::Dir => match dest.create_dir_all(&item.path) {
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
                let r = prepare_slot(dest, &item.path, false)
                    .and_then(|_| dest.create_symlink(&item.path, target))
                    .map_err(|e| FileError::platform(Stage::Placing, e));
                report.entries.push(match r {
                    Ok(()) => EntryResult {
                        path,
                        status: EntryStatus::Copied,
                        bytes: 0,
                        error: None,
                    },
                    Err(e) => EntryResult::failed(path, e),
                });
            }
            EntryKind::File if item.entry.reparse.is_some() => {
                match stage_stub(source, dest, &item, opts.resume) {
                    Ok(stub) => {
                        batch_times.push(times_of(&item.entry));
                        batch.push((item.path, stub));
                    }
                    Err(e) => report.entries.push(EntryResult::failed(path, e)),
                }
                if batch.len() == MAX_FILES {
                    flush(&mut batch, &mut batch_times, &mut report);
                }
            }
            EntryKind::File => {
                let r = copy_file(source, dest, &item, opts.resume);
                report.entries.push(match r {
                    Ok((status, n)) => {
                        if status == EntryStatus::Copied {
                            set_times(dest, &item.path, times_of(&item.entry));
                        }
                        tell(n);
                        EntryResult {
                            path,
                            status,
                            bytes: n,
                            error: None,
                        }
                    }
                    Err(e) => EntryResult::failed(path, e),
                });
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
    dest.sync_all().map_err(TreeError::Sync)?;
    Ok(report)
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

/// The dedup files under `paths` of `source` (everything when empty; `\System Volume
/// Information` left out), for an in-place restore: the files carrying a dedup reparse point,
/// and a failed entry for each folder that cannot be listed and each path not found.
pub fn dedup_files(
    source: &dyn Source,
    paths: &[WinPath],
) -> Result<(Vec<WinPath>, Vec<EntryResult>), TreeError> {
    let mut failed = Vec::new();
    let (items, _) = walk(source, paths, false, &mut failed)?;
    let files = items
        .into_iter()
        .filter(|i| i.entry.kind == EntryKind::File && i.dedup)
        .map(|i| i.path)
        .collect();
    Ok((files, failed))
}

/// One engine result as an entry result.
fn engine_outcome(f: FileResult) -> EntryResult {
    let path = f.path.to_string();
    match (f.result, f.error) {
        (Hresult::S_OK, _) => EntryResult {
            path,
            status: EntryStatus::Restored,
            bytes: f.logical_size,
            error: None,
        },
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

/// Walks the source depth first in name order, keeping what `filters` select. Returns the
/// items and the bytes to restore; entries that cannot even be looked at (an unlistable
/// folder, an unmatched filter) go straight to `failed`.
fn walk(
    source: &dyn Source,
    filters: &[WinPath],
    copy_plain: bool,
    failed: &mut Vec<EntryResult>,
) -> Result<(Vec<Item>, u64), TreeError> {
    let mut items = Vec::new();
    let mut total = 0u64;
    let mut matched = vec![false; filters.len()];
    let mut stack = vec![WinPath::root()];
    while let Some(dir) = stack.pop() {
        let listing = match source.read_dir(&dir) {
            Ok(l) => l,
            Err(error) if dir.is_root() => {
                return Err(TreeError::Source {
                    source_name: source.describe(),
                    error,
                });
            }
            Err(e) => {
                failed.push(EntryResult::failed(
                    dir.to_string(),
                    FileError::platform(Stage::ReadingSource, e),
                ));
                continue;
            }
        };
        let mut subdirs = Vec::new();
        for mut entry in listing {
            if dir.is_root() && eq_name(&entry.name, SYSTEM_DIR) {
                continue;
            }
            let Ok(path) = dir.join(&entry.name) else {
                // Only an unsupported entry can carry a name that is not a Windows name.
                if selected_name(&dir, filters) {
                    let shown =
                        format!("{}\\{}", dir.to_string().trim_end_matches('\\'), entry.name);
                    if let EntryKind::Unsupported(why) = entry.kind {
                        failed.push(EntryResult::failed(shown, FileError::Unsupported(why)));
                    }
                }
                continue;
            };
            let keep = selected(&path, filters);
            if entry.kind == EntryKind::Dir {
                if worth_descending(&path, filters) {
                    subdirs.push(path.clone());
                }
                if !keep {
                    continue;
                }
            } else if !keep {
                continue;
            }
            mark(&path, filters, &mut matched);
            let dedup = entry.reparse.as_deref().is_some_and(is_dedup);
            match &entry.kind {
                EntryKind::File if entry.reparse.is_some() => {
                    total += logical_size(&entry);
                    // The buffer is read again when the file's batch is staged.
                    entry.reparse = Some(Vec::new());
                }
                EntryKind::File if copy_plain => total += entry.len,
                EntryKind::File | EntryKind::Symlink { .. } if !copy_plain => continue,
                _ => {}
            }
            items.push(Item { path, entry, dedup });
        }
        stack.extend(subdirs.into_iter().rev());
    }
    for (f, m) in filters.iter().zip(&matched) {
        if !m {
            failed.push(EntryResult::failed(f.to_string(), FileError::NotInSource));
        }
    }
    Ok((items, total))
}

/// The logical size a dedup stub claims (0 when its reparse point does not parse: the engine
/// reports that file's error).
fn logical_size(e: &SourceEntry) -> u64 {
    e.reparse
        .as_deref()
        .filter(|b| is_dedup(b))
        .and_then(|b| DedupReparse::parse(b).ok())
        .map_or(0, |r| r.logical_size())
}

pub(crate) fn is_dedup(buf: &[u8]) -> bool {
    buf.get(..4)
        .is_some_and(|t| u32::from_le_bytes([t[0], t[1], t[2], t[3]]) == IO_REPARSE_TAG_DEDUP)
}

/// Whether `p` is selected by `filters` (empty: everything).
fn selected(p: &WinPath, filters: &[WinPath]) -> bool {
    filters.is_empty() || filters.iter().any(|f| p.starts_with(f))
}

/// Whether a child of `dir` can be selected (for names that are not Windows names).
fn selected_name(dir: &WinPath, filters: &[WinPath]) -> bool {
    filters.is_empty() || filters.iter().any(|f| dir.starts_with(f))
}

/// Whether the walk must descend into `dir` to reach a filtered path.
fn worth_descending(dir: &WinPath, filters: &[WinPath]) -> bool {
    filters.is_empty()
        || filters
            .iter()
            .any(|f| f.starts_with(dir) || dir.starts_with(f))
}

fn mark(p: &WinPath, filters: &[WinPath], matched: &mut [bool]) {
    for (f, m) in filters.iter().zip(matched.iter_mut()) {
        if p.starts_with(f) {
            *m = true;
        }
    }
}
