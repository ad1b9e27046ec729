//! What a dry run knows of the names its earlier entries take: a case-sensitive source can
//! hold entries that are one name in the destination (`a.txt` and `A.TXT`, a folder `A` and a
//! file `a`). The real run places them in turn (see `tree::run`), the later meeting what the
//! earlier left: that file, compared or kept by the overwrite policy; a folder or a link,
//! never replaced; a file where a folder is to be made, which fails with everything below it.
//! Only names more than one entry has are followed, so that a plan without such entries
//! costs one hash set of its paths, once. The leftovers of an interrupted run that the run
//! would sweep from each folder are reported, and their names count as free.

use std::collections::{HashMap, HashSet};

use dedup_reparse::DedupReparse;
use platform::{EntryKind, WinPath};

use super::DryRun;
use crate::error::{FileError, Stage};
use crate::place::{Placed, by_size, read_stub};
use crate::tree::{EntryResult, EntryStatus, Item, Overwrite, TreeReport};

/// The names of the plan more than one entry has (paths compare case-insensitively), what
/// the earlier of them would leave there, and the folders the run cannot make.
pub(super) struct Taken {
    repeated: HashSet<WinPath>,
    earlier: HashMap<WinPath, Earlier>,
    blocked: HashSet<WinPath>,
    /// The folders met, in any spelling: the run sweeps each of leftovers the first time.
    met: HashSet<WinPath>,
    /// The leftovers those sweeps would remove: names free for the entries after.
    swept: HashSet<WinPath>,
}

impl Taken {
    /// Finds the names of `items` that more than one of them has.
    pub(super) fn new(items: &[Item]) -> Self {
        let mut seen = HashSet::with_capacity(items.len());
        let repeated = items
            .iter()
            .filter(|i| !seen.insert(&i.path))
            .map(|i| i.path.clone())
            .collect();
        Self {
            repeated,
            earlier: HashMap::new(),
            blocked: HashSet::new(),
            met: HashSet::new(),
            swept: HashSet::new(),
        }
    }

    /// Whether another entry of the plan has the name `path`.
    pub(super) fn follows(&self, path: &WinPath) -> bool {
        !self.repeated.is_empty() && self.repeated.contains(path)
    }

    /// Notes what name `path` holds after an entry of it, for the entries after.
    pub(super) fn put(&mut self, path: &WinPath, what: Earlier) {
        if self.follows(path) {
            self.earlier.insert(path.clone(), what);
        }
    }

    /// What an earlier entry of the plan left at `path`.
    pub(super) fn get(&self, path: &WinPath) -> Option<&Earlier> {
        if self.earlier.is_empty() {
            return None;
        }
        self.earlier.get(path)
    }

    /// Whether the run's sweep would have removed a leftover at `path` before its entry.
    pub(super) fn swept(&self, path: &WinPath) -> bool {
        !self.swept.is_empty() && self.swept.contains(path)
    }

    /// The folder above `path` the run cannot make, if any.
    pub(super) fn blocked_above(&self, path: &WinPath) -> Option<&WinPath> {
        if self.blocked.is_empty() {
            return None;
        }
        let mut dir = path.parent();
        while let Some(d) = dir {
            if let Some(b) = self.blocked.get(&d) {
                return Some(b);
            }
            dir = d.parent();
        }
        None
    }
}

/// What an earlier entry of the plan left at a name.
pub(super) enum Earlier {
    /// A folder (made, or found there).
    Folder,
    /// A link: never replaced, and no folder.
    Link,
    /// A file: a copy of the source's file at `path` (`len` bytes), or rebuilt from the stub
    /// there (`len` is then `None`: read from the stub when it is needed).
    File { path: WinPath, len: Option<u64> },
}

impl Earlier {
    pub(super) fn of(item: &Item) -> Self {
        match item.entry.kind {
            EntryKind::File => Self::File {
                path: item.path.clone(),
                len: item.entry.reparse.is_none().then_some(item.entry.len),
            },
            EntryKind::Dir => Self::Folder,
            _ => Self::Link,
        }
    }
}

/// The failure of entry `path`, at or below folder `dir` which the run cannot make (what
/// making it reports: a file or a link has its name).
pub(super) fn not_a_folder(path: &WinPath, dir: &WinPath) -> EntryResult {
    let e = platform::Error::NotADirectory { path: dir.clone() };
    EntryResult::failed(path.to_string(), FileError::platform(Stage::Placing, e))
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

impl DryRun<'_> {
    /// Folder `item`: nothing to report, unless the run cannot make it (an earlier entry, or
    /// the destination, has a file or a link by its name); then it fails, and so does
    /// everything below it. Met for the first time, it is swept of leftovers.
    pub(super) fn folder(&self, item: &Item, taken: &mut Taken, report: &mut TreeReport) {
        let blocked = match taken.get(&item.path) {
            Some(Earlier::Folder) => false,
            Some(_) => true,
            None if taken.swept(&item.path) => false,
            None => matches!(self.dest.existing(&item.path), Ok(Some(m)) if !m.is_dir()),
        };
        if blocked {
            report.entries.push(not_a_folder(&item.path, &item.path));
            taken.blocked.insert(item.path.clone());
            return;
        }
        taken.put(&item.path, Earlier::Folder);
        if taken.met.insert(item.path.clone()) {
            self.sweep(&item.path, taken, report);
        }
    }

    /// Reports the leftovers the run would remove from folder `dir` (the first time it meets
    /// it), and frees their names for the entries after.
    pub(super) fn sweep(&self, dir: &WinPath, taken: &mut Taken, report: &mut TreeReport) {
        let gone = crate::resume::leftovers(self.source, self.dest, dir);
        taken.swept.extend(gone.iter().cloned());
        report.leftovers_removed.extend(gone);
    }

    /// File or link `item`, whose name an earlier entry of the plan took: what the real run,
    /// placing the two in turn, makes of it. A link or a folder is never replaced, nor
    /// replaced by a link.
    pub(super) fn after(&self, item: &Item, earlier: &Earlier) -> EntryResult {
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
}
