//! A dry run of a restore plan ([`crate::TreeOptions::dry_run`]): what would be restored,
//! copied, skipped or in conflict, with the destination only read (existing dedup files of the
//! same size rebuilt and compared through a read-only [`CompareVolume`]).
//!
//! Entries of the plan that are one name in the destination (two spellings in a
//! case-sensitive source, `a.txt` and `A.TXT`) are reported as the real run places them, one
//! after the other: the later entry meets what the earlier one would have put there
//! ([`Taken`]), not the destination as it is now.

use std::collections::HashMap;
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
    let mut taken = Taken::default();
    for item in items {
        run.entry(item, &mut taken, &mut batch, report);
    }
    run.compare(&mut batch, report);
}

/// The names the plan's entries would take in the destination that were free before the run
/// (by their folded paths), with what each would hold.
#[derive(Default)]
struct Taken(HashMap<String, Earlier>);

impl Taken {
    fn put(&mut self, path: &WinPath, what: Earlier) {
        self.0.insert(path.folded(), what);
    }

    fn get(&self, path: &WinPath) -> Option<&Earlier> {
        self.0.get(&path.folded())
    }
}

/// What an earlier entry of the plan would have put at a name.
enum Earlier {
    /// A folder or a link: never replaced.
    Other,
    /// A file: a copy of the source's file at `path` (`len` bytes), or rebuilt from the stub
    /// there (`len` is then `None`: read from the stub when it is needed).
    File { path: WinPath, len: Option<u64> },
}

impl Earlier {
    fn of(item: &Item) -> Self {
        match item.entry.kind {
            EntryKind::File => Self::File {
                path: item.path.clone(),
                len: item.entry.reparse.is_none().then_some(item.entry.len),
            },
            _ => Self::Other,
        }
    }
}

/// What the real run would write for a file: a copy of this many bytes, or a dedup file
/// rebuilt from this stub.
enum Content {
    Copy(u64),
    Rebuilt { logical: u64, reparse: Vec<u8> },
}

impl Content {
    fn len(&self) -> u64 {
        match self {
            Self::Copy(len) | Self::Rebuilt { logical: len, .. } => *len,
        }
    }
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
    /// added to `batch` instead), and notes in `taken` the name it would fill.
    fn entry(
        &self,
        item: Item,
        taken: &mut Taken,
        batch: &mut Vec<(WinPath, Stub)>,
        report: &mut TreeReport,
    ) {
        let earlier = match &item.entry.kind {
            EntryKind::Dir => return taken.put(&item.path, Earlier::Other),
            EntryKind::File | EntryKind::Symlink { .. } => taken.get(&item.path),
            EntryKind::Unsupported(why) => {
                let e = FileError::Unsupported(why.clone());
                return report
                    .entries
                    .push(EntryResult::failed(item.path.to_string(), e));
            }
        };
        if let Some(earlier) = earlier {
            let entry = self.after(&item, earlier);
            if entry.replaced {
                taken.put(&item.path, Earlier::of(&item));
            }
            return report.entries.push(entry);
        }
        let there = match crate::place::slot(self.dest, &item.path) {
            Ok(s) => s,
            Err(e) => {
                let e = FileError::platform(Stage::Placing, e);
                return report
                    .entries
                    .push(EntryResult::failed(item.path.to_string(), e));
            }
        };
        // A free name this entry would fill: what a later entry of that name meets.
        let written = (there == Slot::Free).then(|| (item.path.clone(), Earlier::of(&item)));
        let pushed = report.entries.len();
        match &item.entry.kind {
            EntryKind::Symlink { .. } => report.entries.push(match there {
                Slot::Free => EntryResult::done(item.path.to_string(), EntryStatus::Copied, 0),
                _ => EntryResult::placed(&item.path, EntryStatus::Copied, Placed::Conflict),
            }),
            _ if item.entry.reparse.is_some() => self.dedup_file(item, there, batch, report),
            _ => report.entries.push(self.plain_file(&item, there)),
        }
        let failed = report.entries[pushed..]
            .iter()
            .any(|e| e.status == EntryStatus::Failed);
        if let (Some((path, earlier)), false) = (written, failed) {
            taken.put(&path, earlier);
        }
    }

    /// An entry whose name an earlier entry of the plan takes: what the real run, placing the
    /// two in turn, makes of it. A link or a folder is never replaced, nor replaced by a link.
    fn after(&self, item: &Item, earlier: &Earlier) -> EntryResult {
        let what = if item.entry.reparse.is_some() {
            EntryStatus::Restored
        } else {
            EntryStatus::Copied
        };
        let placed = match (earlier, &item.entry.kind) {
            (Earlier::File { path, len }, EntryKind::File) => self.over(item, path, *len),
            _ => Ok(Placed::Conflict),
        };
        match placed {
            Ok(p) => EntryResult::placed(&item.path, what, p),
            Err(e) => EntryResult::failed(item.path.to_string(), e),
        }
    }

    /// File `item` over what the earlier entry at source path `path` wrote: kept out when the
    /// policy says so, skipped when the two are known to be identical (two copies of equal
    /// bytes, or two stubs alike), else replaced or in conflict. A copy and a rebuilt file, or
    /// two different stubs, of one length cannot be compared without rebuilding into the
    /// destination: they are reported as different (the real run may find them identical).
    fn over(&self, item: &Item, path: &WinPath, len: Option<u64>) -> Result<Placed, FileError> {
        let mine = self.content(item)?;
        let theirs = if let Some(len) = len {
            Content::Copy(len)
        } else {
            let reparse = self
                .source
                .reparse_point(path)
                .map_err(|e| FileError::platform(Stage::ReadingSource, e))?
                .unwrap_or_default();
            let logical = DedupReparse::parse(&reparse).map_or(0, |r| r.logical_size());
            Content::Rebuilt { logical, reparse }
        };
        if let Some(p) = by_size(self.policy, theirs.len(), mine.len()) {
            return Ok(p);
        }
        let same = match (&mine, &theirs) {
            (Content::Rebuilt { reparse: a, .. }, Content::Rebuilt { reparse: b, .. }) => a == b,
            (Content::Copy(_), Content::Copy(_)) => self.same_sources(&item.path, path)?,
            _ => false,
        };
        Ok(if same {
            Placed::Skipped
        } else if self.policy == Overwrite::IfChanged {
            Placed::Written {
                bytes: mine.len(),
                replaced: true,
            }
        } else {
            Placed::Conflict
        })
    }

    fn content(&self, item: &Item) -> Result<Content, FileError> {
        if item.entry.reparse.is_none() {
            return Ok(Content::Copy(item.entry.len));
        }
        let reparse = read_stub(self.source, item)?;
        let logical = item
            .logical
            .unwrap_or_else(|| DedupReparse::parse(&reparse).map_or(0, |r| r.logical_size()));
        Ok(Content::Rebuilt { logical, reparse })
    }

    /// Whether the source's files at `a` and `b` hold the same bytes.
    fn same_sources(&self, a: &WinPath, b: &WinPath) -> Result<bool, FileError> {
        let open = |p| {
            self.source
                .open_file(p)
                .map_err(|e| FileError::platform(Stage::ReadingSource, e))
        };
        crate::resume::same_source_files(open(a)?.as_ref(), open(b)?.as_ref())
            .map_err(|e| FileError::platform(Stage::ReadingSource, e))
    }

    /// A dedup file: what would become of it, or (an existing file of the same size under a
    /// policy that compares) a stub added to `batch`, compared once the batch is full.
    fn dedup_file(
        &self,
        item: Item,
        there: Slot,
        batch: &mut Vec<(WinPath, Stub)>,
        report: &mut TreeReport,
    ) {
        let reparse = match read_stub(self.source, &item) {
            Ok(r) => r,
            Err(e) => {
                report
                    .entries
                    .push(EntryResult::failed(item.path.to_string(), e));
                return;
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
                    return;
                }
            }
        };
        report.entries.push(EntryResult::placed(
            &item.path,
            EntryStatus::Restored,
            placed,
        ));
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
