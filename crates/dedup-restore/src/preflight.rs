//! The pre-flight check of a tree restore ([`crate::TreePlan::check`]): before anything is
//! created, is the source a dedup volume whose stubs can find their chunk store?
//!
//! Each dedup reparse point names the chunk store its chunks live in by GUID (docs/dedup-format.md
//! §1.7: the store GUID field of every layout), and that store is the folder
//! `\System Volume Information\Dedup\ChunkStore\{GUID}.ddp` (upper-case, with braces; §2: one
//! per volume). A source with neither stubs nor a store is not a dedup volume (a plain folder
//! would only be copied); stubs whose store folder is missing would each fail with
//! `DDP_E_PATH_NOT_FOUND`; a store with no stubs selected restores nothing from it.

use std::collections::BTreeSet;

use dedup_reparse::Guid;
use platform::{EntryKind, Source, WinPath, eq_name};

/// `\System Volume Information\Dedup\ChunkStore`, where the `{GUID}.ddp` store folders are
/// (defined with the rest of the store layout in `dedup-store`).
pub use dedup_store::CHUNK_STORE_DIR;

/// What the walk of a source found, for the pre-flight check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceSurvey {
    /// Selected files carrying a dedup reparse point.
    pub dedup_files: usize,
    /// Selected files and links without one.
    pub other_files: usize,
    /// The store GUIDs the selected stubs reference (stubs whose reparse point does not parse
    /// are left out: the restore reports each of them).
    pub referenced: BTreeSet<Guid>,
    /// The `{GUID}.ddp` folders found under [`CHUNK_STORE_DIR`].
    pub stores: BTreeSet<Guid>,
}

/// The source cannot be restored from at all ([`crate::TreePlan::check`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// No dedup reparse point among the selected files and no chunk store.
    #[error(
        "{source_name} is not a dedup volume: no file carries a dedup reparse point and there is \
         no chunk store ({CHUNK_STORE_DIR}\\{{GUID}}.ddp); expected an ntfs-3g mount or a copy \
         of a deduplicated volume that kept the reparse points"
    )]
    NotDedup {
        /// The source, as it describes itself.
        source_name: String,
    },
    /// Stubs reference a chunk store the source does not hold.
    #[error(
        "{source_name}: the chunk store {} is missing; the dedup files reference store {}{}",
        expected.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        referenced.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        if found.is_empty() {
            String::from(" and the source holds no chunk store")
        } else {
            format!(
                " but the source holds only {}",
                found.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            )
        }
    )]
    StoreMissing {
        /// The source, as it describes itself.
        source_name: String,
        /// The store folders looked for (`\System Volume Information\Dedup\ChunkStore\{GUID}.ddp`).
        expected: Vec<WinPath>,
        /// Every store GUID the stubs reference.
        referenced: Vec<Guid>,
        /// The stores the source holds.
        found: Vec<Guid>,
    },
}

/// Something worth saying before a restore that can still run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceWarning {
    /// A chunk store is there but no selected file is a dedup file: nothing will be rebuilt.
    #[error(
        "no dedup file found{} although the source holds chunk store {}: nothing will be rebuilt",
        if *filtered { " in the selection" } else { "" },
        stores.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )]
    NoDedupFiles {
        /// The stores found.
        stores: Vec<Guid>,
        /// Paths or globs narrowed the selection.
        filtered: bool,
    },
}

impl SourceSurvey {
    /// The pre-flight verdict: an error when the restore cannot be meaningful, else the
    /// warnings (possibly none).
    pub fn check(
        &self,
        source_name: &str,
        filtered: bool,
    ) -> Result<Vec<SourceWarning>, SourceError> {
        if self.dedup_files == 0 && self.stores.is_empty() {
            return Err(SourceError::NotDedup {
                source_name: source_name.to_owned(),
            });
        }
        let missing: Vec<Guid> = self.referenced.difference(&self.stores).copied().collect();
        if !missing.is_empty() {
            return Err(SourceError::StoreMissing {
                source_name: source_name.to_owned(),
                expected: missing.iter().map(store_path).collect(),
                referenced: self.referenced.iter().copied().collect(),
                found: self.stores.iter().copied().collect(),
            });
        }
        if self.dedup_files == 0 {
            return Ok(vec![SourceWarning::NoDedupFiles {
                stores: self.stores.iter().copied().collect(),
                filtered,
            }]);
        }
        Ok(Vec::new())
    }
}

/// `\System Volume Information\Dedup\ChunkStore\{GUID}.ddp`.
#[must_use]
pub fn store_path(guid: &Guid) -> WinPath {
    WinPath::new(&dedup_store::store_root(guid)).unwrap_or_else(|_| WinPath::root())
}

/// The `{GUID}.ddp` folders of the source's chunk store (names compared case-insensitively, as
/// Windows would), below `system_dir`, the root's `System Volume Information` folder as the
/// walk found it spelled: the root is not listed again (in a volume of 20,000 files in its root
/// that second listing, a `stat` and extended-attribute reads per entry, showed in profiles).
/// A source without the folders has none; one whose folders cannot be listed is treated the
/// same (the restore then reports each file's error).
pub(crate) fn stores_of(source: &dyn Source, system_dir: Option<&str>) -> BTreeSet<Guid> {
    let Some(mut dir) = system_dir.and_then(|name| WinPath::root().join(name).ok()) else {
        return BTreeSet::new();
    };
    for want in &dedup_store::CHUNK_STORE_COMPONENTS[1..] {
        let Ok(listing) = source.read_dir(&dir) else {
            return BTreeSet::new();
        };
        let Some(hit) = listing
            .iter()
            .find(|e| e.kind == EntryKind::Dir && eq_name(&e.name, want))
        else {
            return BTreeSet::new();
        };
        let Ok(next) = dir.join(&hit.name) else {
            return BTreeSet::new();
        };
        dir = next;
    }
    source
        .read_dir(&dir)
        .map(|listing| {
            listing
                .into_iter()
                .filter(|e| e.kind == EntryKind::Dir)
                .filter_map(|e| {
                    dedup_store::parse_store_dir_name(&e.name)?
                        .parse::<Guid>()
                        .ok()
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Guid {
        s.parse().unwrap()
    }

    #[test]
    fn verdicts() {
        let a = g("{5D1B7BFA-B73E-42A0-95CB-91CE1921CFB2}");
        let b = g("{11111111-2222-3333-4444-555555555555}");
        let none = SourceSurvey::default();
        assert!(matches!(
            none.check("src", false),
            Err(SourceError::NotDedup { .. })
        ));
        let stubs = SourceSurvey {
            dedup_files: 2,
            referenced: [a].into(),
            ..SourceSurvey::default()
        };
        let e = stubs.check("src", false).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains(
                "\\System Volume Information\\Dedup\\ChunkStore\\{5D1B7BFA-B73E-42A0-95CB-91CE1921CFB2}.ddp"
            ),
            "{text}"
        );
        let other = SourceSurvey {
            stores: [b].into(),
            ..stubs.clone()
        };
        let text = other.check("src", false).unwrap_err().to_string();
        assert!(
            text.contains(&b.to_string()) && text.contains(&a.to_string()),
            "{text}"
        );
        let fine = SourceSurvey {
            stores: [a].into(),
            ..stubs
        };
        assert_eq!(fine.check("src", false), Ok(Vec::new()));
        let empty = SourceSurvey {
            stores: [a].into(),
            ..SourceSurvey::default()
        };
        assert!(matches!(
            empty.check("src", true).unwrap().as_slice(),
            [SourceWarning::NoDedupFiles { filtered: true, .. }]
        ));
    }
}
