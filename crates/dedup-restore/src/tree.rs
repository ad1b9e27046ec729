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

use std::time::Duration;

use platform::{EntryKind, Source, SourceEntry, Volume, WinPath};

mod progress;
mod rebuild;
mod run;

pub use run::restore_planned;

use crate::FileResult;
use crate::engine::{RestoreOptions, RestoreStats};
use crate::error::FileError;
use crate::hresult::Hresult;
use crate::place::{Placed, taken};
use crate::preflight::{SourceError, SourceSurvey, SourceWarning};
use crate::select::{GlobError, Globs};
use crate::store::BackupStore;
pub(crate) use crate::walk::is_dedup;
use crate::walk::{Selection, walk};

/// `\System Volume Information`: the chunk store and other system state, never restored. The
/// first component of the chunk store's path: the walk notes this folder, and the store is
/// looked for below it.
pub const SYSTEM_DIR: &str = dedup_store::CHUNK_STORE_COMPONENTS[0];

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
    /// real run (or `verify`). Entries that are one name in the destination (spellings a
    /// case-sensitive source holds apart) are reported as the run places them: in turn.
    pub dry_run: bool,
    /// The most dedup files the engine rebuilds at once: at most, and by default,
    /// [`MAX_FILES`](crate::MAX_FILES), the `RestoreFiles` limit (0 counts as 1). Fewer bound
    /// a batch's memory more tightly. Each batch is rebuilt while the next one is staged,
    /// and that one, once staged, beside it: the memory of two batches at most.
    pub batch_files: usize,
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
            batch_files: crate::MAX_FILES,
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
    /// into, removed (by a dry run: that the run would remove).
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
    /// The entry carries a dedup reparse point (its buffer is kept by the walk, or, past what
    /// the walk keeps, left empty and read again when the file is staged).
    pub(crate) dedup: bool,
    /// The logical size the walk parsed from the reparse buffer it kept (`None`: not kept, or
    /// not parsed), so that the staging does not parse the same bytes again.
    pub(crate) logical: Option<u64>,
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
    let walked = walk(
        source,
        &sel,
        opts.copy_plain,
        crate::walk::KEPT_REPARSE_BYTES,
        &mut failed,
    )?;
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
    survey.stores = crate::preflight::stores_of(source, walked.system_dir.as_deref());
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
    let walked = walk(source, &sel, false, 0, &mut failed)?;
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
