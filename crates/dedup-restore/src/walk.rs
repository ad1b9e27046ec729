//! The walk of a source for [`crate::plan_tree`]: depth first in name order, keeping what the
//! volume paths and include/exclude globs select, and surveying what it meets (dedup files,
//! the stores they name) for the pre-flight check.

use dedup_reparse::{DedupReparse, IO_REPARSE_TAG_DEDUP};
use platform::{EntryKind, Source, WinPath, eq_name};

use crate::error::{FileError, Stage};
use crate::preflight::SourceSurvey;
use crate::select::Globs;
use crate::tree::{EntryResult, Item, SYSTEM_DIR, TreeError};

/// What [`walk`] selects: volume paths and include/exclude globs.
pub(crate) struct Selection<'a> {
    pub(crate) paths: &'a [WinPath],
    pub(crate) include: &'a Globs,
    pub(crate) exclude: &'a Globs,
}

/// Most bytes of dedup reparse buffers a restore's walk keeps for the staging (about 80,000
/// stubs): a kept buffer saves the staging a read of the stub (an extended attribute by path on
/// a host folder). Past it, buffers are dropped and read again when their batch is staged, so
/// that the walk of a volume of millions of files holds no more than this.
pub(crate) const KEPT_REPARSE_BYTES: usize = 32 << 20;

/// What [`walk`] found.
pub(crate) struct Walked {
    pub(crate) items: Vec<Item>,
    /// Bytes to restore.
    pub(crate) total: u64,
    pub(crate) survey: SourceSurvey,
    /// Indexes of the paths that match nothing.
    pub(crate) unmatched_paths: Vec<usize>,
    /// Indexes of the include globs that match nothing.
    pub(crate) unmatched_includes: Vec<usize>,
    /// The root's `System Volume Information` folder as the listing spells it (the first
    /// folder whose name matches), where the chunk store is looked for.
    pub(crate) system_dir: Option<String>,
}

/// Walks the source depth first in name order, keeping what `sel` selects, and the dedup
/// reparse buffers up to `keep_reparse` bytes (the others are left empty, to be read again).
/// Folders that cannot be listed (but the root) go straight to `failed`.
pub(crate) fn walk(
    source: &dyn Source,
    sel: &Selection<'_>,
    copy_plain: bool,
    keep_reparse: usize,
    failed: &mut Vec<EntryResult>,
) -> Result<Walked, TreeError> {
    let filters = sel.paths;
    let mut items = Vec::new();
    let mut total = 0u64;
    let mut survey = SourceSurvey::default();
    let mut matched = vec![false; filters.len()];
    let mut inc_hit = vec![false; sel.include.len()];
    let mut exc_hit = vec![false; sel.exclude.len()];
    // (folder, whether an include glob matched it or one of its folders)
    let mut stack = vec![(WinPath::root(), false)];
    let mut system_dir = None;
    let mut kept = 0usize;
    while let Some((dir, dir_included)) = stack.pop() {
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
                if entry.kind == EntryKind::Dir && system_dir.is_none() {
                    system_dir = Some(entry.name);
                }
                continue;
            }
            let Ok(path) = dir.join(&entry.name) else {
                // Only an unsupported entry can carry a name that is not a Windows name.
                if selected_name(&dir, filters) && sel.include.is_empty() {
                    let shown =
                        format!("{}\\{}", dir.to_string().trim_end_matches('\\'), entry.name);
                    if let EntryKind::Unsupported(why) = entry.kind {
                        failed.push(EntryResult::failed(shown, FileError::Unsupported(why)));
                    }
                }
                continue;
            };
            let keep = selected(&path, filters);
            let descend = entry.kind == EntryKind::Dir && worth_descending(&path, filters);
            if !keep && !descend {
                continue;
            }
            if keep {
                mark(&path, filters, &mut matched);
            }
            if sel.exclude.matches(&path, &mut exc_hit) {
                continue;
            }
            let included = dir_included || sel.include.matches(&path, &mut inc_hit);
            if descend {
                subdirs.push((path.clone(), included));
            }
            if !keep || !(sel.include.is_empty() || included) {
                continue;
            }
            let dedup = entry.reparse.as_deref().is_some_and(is_dedup);
            let mut logical = None;
            match &entry.kind {
                EntryKind::File if entry.reparse.is_some() => {
                    if let Some(r) = entry
                        .reparse
                        .as_deref()
                        .filter(|b| is_dedup(b))
                        .and_then(|b| DedupReparse::parse(b).ok())
                    {
                        total += r.logical_size();
                        survey.referenced.insert(r.guid());
                        logical = Some(r.logical_size());
                    }
                    if dedup {
                        survey.dedup_files += 1;
                    } else {
                        survey.other_files += 1;
                    }
                    let len = entry.reparse.as_ref().map_or(0, Vec::len);
                    if dedup && kept + len <= keep_reparse {
                        kept += len;
                    } else {
                        // Read again (and parsed again) when the file's batch is staged.
                        entry.reparse = Some(Vec::new());
                        logical = None;
                    }
                }
                EntryKind::File | EntryKind::Symlink { .. } => {
                    survey.other_files += 1;
                    if !copy_plain {
                        continue;
                    }
                    total += entry.len;
                }
                _ => {}
            }
            items.push(Item {
                path,
                entry,
                dedup,
                logical,
            });
        }
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(Walked {
        items,
        total,
        survey,
        unmatched_paths: (0..filters.len()).filter(|&i| !matched[i]).collect(),
        unmatched_includes: (0..inc_hit.len()).filter(|&i| !inc_hit[i]).collect(),
        system_dir,
    })
}

pub(crate) fn is_dedup(buf: &[u8]) -> bool {
    buf.get(..4)
        .is_some_and(|t| u32::from_le_bytes([t[0], t[1], t[2], t[3]]) == IO_REPARSE_TAG_DEDUP)
}

/// Whether `p` is selected by `filters` (empty: everything).
pub(crate) fn selected(p: &WinPath, filters: &[WinPath]) -> bool {
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use platform::{EntryKind, Error, Source, SourceEntry, SourceFile, WinPath};

    use super::*;
    use crate::place::read_stub;

    /// A root of three dedup stubs; counts the reparse points read one at a time.
    struct Stubs {
        reads: Mutex<usize>,
    }

    /// Stub `i`'s reparse buffer: `IO_REPARSE_TAG_DEDUP`, 16 data bytes of `i`.
    fn buffer(i: u8) -> Vec<u8> {
        let mut b = vec![0x13, 0x00, 0x00, 0x80, 0x10, 0x00, 0x00, 0x00];
        b.extend_from_slice(&[i; 16]);
        b
    }

    impl Source for Stubs {
        fn describe(&self) -> String {
            "three stubs".into()
        }
        fn read_dir(&self, _dir: &WinPath) -> Result<Vec<SourceEntry>, Error> {
            Ok((0..3u8)
                .map(|i| SourceEntry {
                    name: format!("f{i}"),
                    kind: EntryKind::File,
                    len: 100,
                    attributes: 0,
                    modified: None,
                    accessed: None,
                    reparse: Some(buffer(i)),
                })
                .collect())
        }
        fn open_file(&self, path: &WinPath) -> Result<Box<dyn SourceFile>, Error> {
            Err(Error::NotFound { path: path.clone() })
        }
        fn reparse_point(&self, path: &WinPath) -> Result<Option<Vec<u8>>, Error> {
            *self.reads.lock().unwrap() += 1;
            let i = path.file_name().and_then(|n| n[1..].parse().ok()).unwrap();
            Ok(Some(buffer(i)))
        }
    }

    /// The walk keeps reparse buffers up to its budget and leaves the rest empty; the staging
    /// reads those again, and gets every stub's own buffer either way.
    #[test]
    fn reparse_buffers_are_kept_up_to_the_budget_and_read_again_past_it() {
        let source = Stubs {
            reads: Mutex::new(0),
        };
        let none = Globs::new("--include", &[]).unwrap();
        let sel = Selection {
            paths: &[],
            include: &none,
            exclude: &none,
        };
        let budget = 2 * buffer(0).len();
        let walked = walk(&source, &sel, false, budget, &mut Vec::new()).unwrap();
        let kept: Vec<bool> = walked
            .items
            .iter()
            .map(|i| i.entry.reparse.as_ref().is_some_and(|r| !r.is_empty()))
            .collect();
        assert_eq!(kept, [true, true, false]);
        for (i, item) in walked.items.iter().enumerate() {
            assert_eq!(read_stub(&source, item).unwrap(), buffer(i as u8));
        }
        assert_eq!(
            *source.reads.lock().unwrap(),
            1,
            "only the stub past the budget"
        );
    }
}
