//! `restore_files`: the engine behind `IDedupBackupSupport::RestoreFiles` (docs/dedup-format.md §6,
//! data flow in ARCHITECTURE.md).
//!
//! Outline:
//! 1. Read each file's reparse point from the volume (not dedup → S_FALSE).
//! 2. Stream maps: find each stream container (highest generation), call
//!    `order_containers_restore` (1 of 2), then extent by extent in plan order: a container's
//!    fixed area (header slots and `Rrtl`) just before its first extent, then the stream-map
//!    records of the extent, each batch of reads announced by `preview_container_read` and
//!    coalesced.
//! 3. Data: the same for every data container the stream maps name (2 of 2). Each chunk record
//!    is read once, decoded once (in parallel) and written to every place that uses it.
//! 4. Each file is rebuilt in a temporary sibling file, created at its first chunk; only when
//!    every byte is written and verified does it replace the stub (which carries the reparse
//!    point), committed right then by the worker that wrote the last byte (files with nothing to
//!    write, and failed ones, after the data phase). On any failure the stub is left exactly as
//!    it was and the file gets its error code.
//!
//! Where Windows' exact behaviour is unknown (docs/dedup-format.md §9: read sizes and order,
//! fall-backs), the choices are ours and documented on [`RestoreOptions`] and in the crate docs.
//!
//! Modules: [`api`] the public types; [`job`] per-file and per-record bookkeeping; [`resolve`]
//! container files in the store; [`stream_maps`] and [`data`] the two phases; [`fetch`] the read
//! scheduler; [`records`] fixed areas, record checks and the container walk; [`lanes`] grouped
//! chunk decoding; [`output`] temporary files and committing them.

use foldhash::{HashMap, HashMapExt as _};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use platform::{Volume, WinPath};
use rayon::prelude::*;

mod api;
mod data;
mod fetch;
mod job;
mod lanes;
mod output;
mod records;
mod resolve;
mod stream_maps;
mod writes;

pub use api::{
    DEDUP_RECONSTRUCT_UNOPTIMIZED, FileResult, MAX_FILES, Phase, Progress, ProgressFn,
    RestoreError, RestoreOptions, RestoreReport, RestoreStats,
};
pub(crate) use output::{all_zero, create_temp};

use job::FileJob;
use resolve::Listing;

use crate::hresult::Hresult;
use crate::store::{BackupStore, FileExtent, StoreError};

/// See [`Engine::max_record_len`]: the decoder's own cap on a logical payload (64 MiB) plus a
/// record header.
const MAX_RECORD_LEN: u64 = (64 << 20) + 0x68;

struct Engine<'a> {
    volume: &'a dyn Volume,
    store: &'a dyn BackupStore,
    opts: &'a RestoreOptions,
    files: Vec<FileJob>,
    reads: AtomicU64,
    bytes_read: AtomicU64,
    chunks_decoded: AtomicU64,
    chunk_writes: AtomicU64,
    redirected: AtomicU64,
    found_by_scan: AtomicU64,
    bytes_done: AtomicU64,
    bytes_total: u64,
    files_done: AtomicU64,
    listings: Mutex<HashMap<String, Listing>>,
}

/// Restores `paths` (volume-root-relative paths of files whose dedup reparse points were put
/// back beforehand) from `store`, the way `IDedupBackupSupport::RestoreFiles` does.
///
/// More than [`MAX_FILES`] paths or `flags != DEDUP_RECONSTRUCT_UNOPTIMIZED` fail with
/// [`RestoreError::TooManyPaths`] / [`RestoreError::UnsupportedFlags`] before any work.
/// Otherwise every file gets a result and the report an overall HRESULT (see
/// [`RestoreReport::result`]).
pub fn restore_files(
    volume: &dyn Volume,
    paths: &[WinPath],
    store: &dyn BackupStore,
    flags: u32,
    opts: &RestoreOptions,
) -> Result<RestoreReport, RestoreError> {
    if paths.len() > MAX_FILES {
        return Err(RestoreError::TooManyPaths {
            given: paths.len(),
            max: MAX_FILES,
        });
    }
    if flags != DEDUP_RECONSTRUCT_UNOPTIMIZED {
        return Err(RestoreError::UnsupportedFlags { flags });
    }
    let started = Instant::now();
    let mut engine = Engine {
        volume,
        store,
        opts,
        files: Vec::new(),
        reads: AtomicU64::new(0),
        bytes_read: AtomicU64::new(0),
        chunks_decoded: AtomicU64::new(0),
        chunk_writes: AtomicU64::new(0),
        redirected: AtomicU64::new(0),
        found_by_scan: AtomicU64::new(0),
        bytes_done: AtomicU64::new(0),
        bytes_total: 0,
        files_done: AtomicU64::new(0),
        listings: Mutex::new(HashMap::new()),
    };
    // The same file named twice is restored once; both entries get its result.
    // (`WinPath` compares and hashes case-insensitively, without a folded copy of each path.)
    let mut first_of: HashMap<&WinPath, usize> = HashMap::with_capacity(paths.len());
    let mut job_of_path = Vec::with_capacity(paths.len());
    let mut unique: Vec<&WinPath> = Vec::with_capacity(paths.len());
    for p in paths {
        let idx = *first_of.entry(p).or_insert_with(|| {
            unique.push(p);
            unique.len() - 1
        });
        job_of_path.push(idx);
    }
    // Each stub's metadata and reparse point, read in parallel (one after another, they were
    // the longest serial stretch of a batch of small files).
    engine.files = unique.par_iter().map(|p| engine.load_file(p)).collect();
    engine.bytes_total = engine
        .files
        .iter()
        .filter(|f| !f.is_failed() && !f.not_dedup)
        .map(|f| f.logical_size)
        .sum();
    if engine.files.iter().any(|f| !f.is_failed() && !f.not_dedup) {
        let maps = engine.stream_map_phase();
        engine.data_phase(&maps);
    }
    let results: Vec<FileResult> = job_of_path
        .iter()
        .zip(paths)
        .map(|(&i, p)| {
            let f = &engine.files[i];
            let (result, error) = if f.not_dedup {
                (Hresult::S_FALSE, None)
            } else {
                match f
                    .failure
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone()
                {
                    Some(fail) => (fail.error.hresult(), Some(fail.error)),
                    None => (Hresult::S_OK, None),
                }
            };
            FileResult {
                path: p.clone(),
                result,
                error,
                logical_size: f.logical_size,
            }
        })
        .collect();
    let result = crate::batch::overall(&results);
    // Each file once, however often it was named.
    let bytes_restored = engine
        .files
        .iter()
        .filter(|f| !f.not_dedup && !f.is_failed())
        .map(|f| f.logical_size)
        .sum();
    Ok(RestoreReport {
        result,
        files: results,
        stats: RestoreStats {
            reads: engine.reads.load(Ordering::Relaxed),
            bytes_read: engine.bytes_read.load(Ordering::Relaxed),
            chunks_decoded: engine.chunks_decoded.load(Ordering::Relaxed),
            chunk_writes: engine.chunk_writes.load(Ordering::Relaxed),
            bytes_restored,
            redirected: engine.redirected.load(Ordering::Relaxed),
            found_by_scan: engine.found_by_scan.load(Ordering::Relaxed),
            elapsed_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        },
    })
}

impl Engine<'_> {
    /// The largest record the engine will hold in memory: a stream map or chunk claiming more
    /// is treated as invalid data rather than allocated (no real chunk is near this size).
    fn max_record_len(&self) -> u64 {
        (self.opts.window as u64).max(MAX_RECORD_LEN)
    }

    fn preview(&self, path: &WinPath, reads: &[FileExtent]) -> Result<(), StoreError> {
        self.store.preview_container_read(path, reads)
    }

    fn read(&self, path: &WinPath, offset: u64, buf: &mut [u8]) -> Result<(), StoreError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.bytes_read
            .fetch_add(buf.len() as u64, Ordering::Relaxed);
        self.store.read_backup_file(path, offset, buf)
    }
}
