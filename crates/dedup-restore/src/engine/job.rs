//! Per-file and per-record bookkeeping: what each file and each record to fetch is, and how a
//! failure is attached to them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dedup_reparse::{DedupReparse, IO_REPARSE_TAG_DEDUP, TilingError};
use dedup_store::{ContainerError, FixedArea};
use foldhash::HashMap;
use platform::{WinPath, attr};

use super::Engine;
use crate::error::{FileError, Stage};
use crate::store::StoreError;

/// A failure attached to a need or a file.
#[derive(Debug, Clone)]
pub(super) struct Fail {
    pub(super) error: FileError,
    /// The record at the expected place did not match; a scan of the container may find it.
    pub(super) retry_scan: bool,
    /// Keep this error if a scan does not find the record either (the store's copy of the
    /// container ends before the record: the copy is damaged, the record is not just elsewhere).
    pub(super) sticky: bool,
}

impl Fail {
    pub(super) fn new(error: FileError) -> Self {
        Self {
            error,
            retry_scan: false,
            sticky: false,
        }
    }

    /// The record at the expected place is not the one wanted: a scan may still find it.
    pub(super) fn mismatch(error: FileError) -> Self {
        Self {
            error,
            retry_scan: true,
            sticky: false,
        }
    }

    pub(super) fn from_store(e: &StoreError) -> Self {
        Self::new(FileError::Store(e.clone()))
    }

    pub(super) fn from_container(e: &ContainerError) -> Self {
        Self::new(FileError::Container(e.clone()))
    }

    pub(super) fn platform(stage: Stage, e: platform::Error) -> Self {
        Self::new(FileError::platform(stage, e))
    }
}

pub(super) struct FileJob {
    pub(super) path: WinPath,
    pub(super) reparse: Option<DedupReparse>,
    pub(super) logical_size: u64,
    pub(super) attributes: u32,
    pub(super) failure: Mutex<Option<Fail>>,
    pub(super) failed: AtomicBool,
    pub(super) not_dedup: bool,
    pub(super) written: AtomicU64,
    pub(super) holes: AtomicBool,
}

impl FileJob {
    pub(super) fn fail(&self, f: Fail) {
        let mut g = self
            .failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if g.is_none() {
            *g = Some(f);
        }
        self.failed.store(true, Ordering::Release);
    }

    pub(super) fn is_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }
}

/// A container of one phase.
pub(super) struct ContainerRef {
    pub(super) path: WinPath,
    pub(super) name: Arc<str>,
    pub(super) expected_id: u32,
    pub(super) fixed: Option<FixedArea>,
    pub(super) failure: Option<Fail>,
}

/// The index in `containers` of the container at `path` (header id `id`), added on first
/// sight; `index` maps the paths (compared case-insensitively) to indices.
pub(super) fn container_index(
    containers: &mut Vec<ContainerRef>,
    index: &mut HashMap<WinPath, usize>,
    path: WinPath,
    id: u32,
) -> usize {
    if let Some(&i) = index.get(&path) {
        return i;
    }
    index.insert(path.clone(), containers.len());
    containers.push(ContainerRef {
        name: Arc::from(path.to_string()),
        path,
        expected_id: id,
        fixed: None,
        failure: None,
    });
    containers.len() - 1
}

/// What a need is for.
pub(super) enum NeedKind {
    /// A stream map of `file`'s reference entry `entry`.
    StreamMap {
        file: usize,
        entry: usize,
        hash: Vec<u8>,
        size: u32,
    },
    /// A data chunk and every place it goes.
    Data {
        hash: [u8; 32],
        logical_len: u64,
        dests: Vec<(usize, u64)>,
    },
}

/// A record to fetch.
pub(super) struct Need {
    pub(super) container: usize,
    pub(super) local_id: u32,
    pub(super) hint: u32,
    pub(super) offset: u64,
    pub(super) len: u64,
    pub(super) kind: NeedKind,
    /// Set when the container the metadata names is not in the store and `container` is the
    /// fall-back (the swapped id/generation reading, docs/dedup-format.md §3.5): what was missing.
    /// A need that fails there is reported as the missing container (`DDP_E_PATH_NOT_FOUND`).
    pub(super) missing_primary: Option<FileError>,
}

/// Per-need state shared with worker threads.
#[derive(Default)]
pub(super) struct NeedState {
    pub(super) done: AtomicBool,
    pub(super) failure: Mutex<Option<Fail>>,
}

impl NeedState {
    pub(super) fn set_fail(&self, f: Fail) {
        let mut g = self
            .failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Keep the most specific failure: a hard error beats a "not found where expected".
        match &*g {
            Some(old) if !old.retry_scan && f.retry_scan => {}
            _ => *g = Some(f),
        }
    }

    pub(super) fn take_fail(&self) -> Option<Fail> {
        self.failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Engine<'_> {
    pub(super) fn load_file(&self, path: &WinPath) -> FileJob {
        let mut job = FileJob {
            path: path.clone(),
            reparse: None,
            logical_size: 0,
            attributes: 0,
            failure: Mutex::new(None),
            failed: AtomicBool::new(false),
            not_dedup: false,
            written: AtomicU64::new(0),
            holes: AtomicBool::new(false),
        };
        let meta = match self.volume.metadata(path) {
            Ok(m) => m,
            Err(e) => {
                job.fail(Fail::platform(Stage::ReadingStub, e));
                return job;
            }
        };
        job.attributes = meta.attributes;
        if meta.is_dir() || !meta.is_reparse_point() {
            job.not_dedup = true;
            return job;
        }
        let read_only = meta.attributes & attr::READONLY != 0;
        let buf = match self.volume.reparse_point(path) {
            Ok(b) => b,
            Err(platform::Error::NotAReparsePoint { .. }) => {
                job.not_dedup = true;
                return job;
            }
            Err(e) => {
                job.fail(Fail::platform(Stage::ReadingStub, e));
                return job;
            }
        };
        if buf.len() >= 4
            && u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) != IO_REPARSE_TAG_DEDUP
        {
            job.not_dedup = true;
            return job;
        }
        match DedupReparse::parse(&buf) {
            Ok(_) if read_only => {
                // A read-only file cannot be replaced (nor written in place); say so before any
                // work rather than after reading the store for it.
                job.fail(Fail::new(FileError::ReadOnly));
            }
            Ok(r) => {
                job.logical_size = r.logical_size();
                if let Err(e) = dedup_reparse::check_entries(r.entries(), job.logical_size) {
                    job.fail(Fail::new(tiling_error(e)));
                }
                job.reparse = Some(r);
            }
            Err(e) => job.fail(Fail::new(FileError::Reparse(e))),
        }
        job
    }
}

/// The engine's error for reference entries that do not tile their file (the statuses and
/// messages `restore_files` has always reported).
fn tiling_error(e: TilingError) -> FileError {
    match e {
        TilingError::Gap {
            entry,
            begin,
            end,
            expected,
        } => FileError::EntryGap {
            entry,
            begin,
            end,
            expected,
        },
        TilingError::Short { covered, logical } => FileError::EntriesShort { covered, logical },
    }
}
