//! `restore_files`: the engine behind `IDedupBackupSupport::RestoreFiles` (spec §6, data flow in
//! ARCHITECTURE.md).
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
//! 4. Each file is rebuilt in a temporary sibling file; only when every byte is written and
//!    verified does it replace the stub (which carries the reparse point). On any failure the
//!    stub is left exactly as it was and the file gets its error code.
//!
//! Where Windows' exact behaviour is unknown (spec §9: read sizes and order, fall-backs), the
//! choices are ours and documented on [`RestoreOptions`] and in the crate docs.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use dedup_reparse::{DedupReparse, IO_REPARSE_TAG_DEDUP, ReferenceEntry};
use dedup_store::{
    Compression, ContainerError, FIXED_AREA_LEN, FixedArea, PayloadCrc, ReadOptions, RecordHeader,
    RecordType, StreamMapRef, container_file_name, decode_payload, parse_container_file_name,
    parse_record_header,
};
use platform::{Access, Disposition, FileHandle, OpenOptions, ShareMode, Volume, WinPath, attr};
use rayon::prelude::*;

mod lanes;

use lanes::ChunkSink;

use crate::error::{FileError, RecordKind, RecordProblem, Stage};
use crate::hresult::Hresult;
use crate::plan::{Piece, Read, coalesce_avoiding, normalise_plan};
use crate::store::{BackupStore, ContainerExtent, FileExtent, StoreError};

/// `DEDUP_RECONSTRUCT_UNOPTIMIZED`: the only flag `RestoreFiles` accepts.
pub const DEDUP_RECONSTRUCT_UNOPTIMIZED: u32 = 1;
/// `RestoreFiles` refuses more paths than this with E_INVALIDARG.
pub const MAX_FILES: usize = 10_000;

/// Progress of a restore, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Logical bytes written (or verified as holes) so far.
    pub bytes_done: u64,
    /// Logical bytes of all files being restored.
    pub bytes_total: u64,
    /// Files whose bytes are all written (or, for a tree, placed in any way) so far.
    pub files_done: u64,
    /// Files being restored.
    pub files_total: u64,
    /// What the restore is doing.
    pub phase: Phase,
}

/// The phases of a restore, as a progress bar names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Copying ordinary files (and staging dedup files) of a tree.
    Copying,
    /// Rebuilding dedup files from the chunk store.
    Rebuilding,
    /// Flushing the destination to disk.
    Syncing,
}

impl Phase {
    /// The phase's name in lower case (`copying`, `rebuilding`, `syncing`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Copying => "copying",
            Self::Rebuilding => "rebuilding",
            Self::Syncing => "syncing",
        }
    }
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Tuning and checks.
#[derive(Clone)]
pub struct RestoreOptions {
    /// Check every data chunk's SHA-512 hash.
    pub verify_hash: bool,
    /// When each chunk's payload CRC-64 is computed. Default [`PayloadCrc::OnFailure`]: with
    /// the hash checked, only when a chunk fails to decode or to match its hash, so that the
    /// failure is reported as a CRC mismatch when the stored bytes are damaged (the same result
    /// as checking it first); without the hash, before every decode. [`PayloadCrc::Always`]
    /// checks it first on every chunk (what `rehydrate verify` does: a store health check).
    pub payload_crc: PayloadCrc,
    /// Largest single read, in bytes (a single record larger than this is read alone): the
    /// engine's memory stays within about three times this (the read being decoded, the next
    /// read made meanwhile, and records split across plan extents being put together) plus one
    /// decode buffer per thread, whatever the size of the store or the files. Default 32 MiB;
    /// any value from 1 up works.
    pub window: usize,
    /// Reads of one container extent closer than this are merged into one read.
    pub coalesce_gap: u64,
    /// Leave all-zero chunks as sparse holes instead of writing zeros.
    pub sparse_zeros: bool,
    /// Called after each chunk use is written or left as a hole, from the worker threads.
    pub progress: Option<ProgressFn>,
}

impl std::fmt::Debug for RestoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestoreOptions")
            .field("verify_hash", &self.verify_hash)
            .field("payload_crc", &self.payload_crc)
            .field("window", &self.window)
            .field("coalesce_gap", &self.coalesce_gap)
            .field("sparse_zeros", &self.sparse_zeros)
            .finish_non_exhaustive()
    }
}

impl Default for RestoreOptions {
    fn default() -> Self {
        Self {
            verify_hash: true,
            payload_crc: PayloadCrc::OnFailure,
            window: 32 << 20,
            coalesce_gap: 256 << 10,
            sparse_zeros: true,
            progress: None,
        }
    }
}

/// The outcome for one requested path.
#[derive(Debug, Clone)]
pub struct FileResult {
    /// The path as given.
    pub path: WinPath,
    /// S_OK restored, S_FALSE not a dedup file, or the error's HRESULT
    /// ([`FileError::hresult`]).
    pub result: Hresult,
    /// Why it failed (container, offset, local id, expected vs actual), when it did.
    pub error: Option<FileError>,
    /// Logical size from the reparse point (0 when not a dedup file).
    pub logical_size: u64,
}

impl FileResult {
    /// The human line for a failure: the path and the error (`None` when the file did not fail).
    #[must_use]
    pub fn detail(&self) -> Option<String> {
        self.error.as_ref().map(|e| format!("{}: {e}", self.path))
    }
}

/// Counters of one restore.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestoreStats {
    /// `read_backup_file` calls.
    pub reads: u64,
    /// Bytes read from the store.
    pub bytes_read: u64,
    /// Data chunks decoded and verified (each once, however often it is used).
    pub chunks_decoded: u64,
    /// Chunk uses written (or left as holes).
    pub chunk_writes: u64,
    /// Logical bytes of the files restored (each file once, however often it was named).
    pub bytes_restored: u64,
    /// Records (stream maps and chunks) read at the offset a redirection table gave instead
    /// of their stale hint.
    pub redirected: u64,
    /// Records found only by walking their container (hint and redirection table were wrong).
    pub found_by_scan: u64,
    /// Elapsed wall time in microseconds.
    pub elapsed_us: u64,
}

/// The report of [`restore_files`].
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// The overall HRESULT: S_OK when every dedup file was restored (files that are not dedup
    /// files do not count against it), S_FALSE when none was a dedup file,
    /// DDP_E_JOB_COMPLETED_PARTIAL_SUCCESS when some were restored and some failed, else the
    /// first file's error.
    pub result: Hresult,
    /// One entry per requested path, in order.
    pub files: Vec<FileResult>,
    /// Counters.
    pub stats: RestoreStats,
}

/// Errors that stop `restore_files` before any work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// E_INVALIDARG: more paths than one call takes.
    #[error("invalid argument: {given} paths given; RestoreFiles takes at most {max}")]
    TooManyPaths {
        /// Paths given.
        given: usize,
        /// [`MAX_FILES`].
        max: usize,
    },
    /// E_INVALIDARG: flags other than `DEDUP_RECONSTRUCT_UNOPTIMIZED`.
    #[error(
        "invalid argument: flags {flags:#x}: only DEDUP_RECONSTRUCT_UNOPTIMIZED (1) is supported"
    )]
    UnsupportedFlags {
        /// The flags given.
        flags: u32,
    },
}

impl RestoreError {
    /// The HRESULT `RestoreFiles` returns for this error.
    #[must_use]
    pub fn hresult(&self) -> Hresult {
        match self {
            Self::TooManyPaths { .. } | Self::UnsupportedFlags { .. } => Hresult::E_INVALIDARG,
        }
    }
}

/// See [`Engine::max_record_len`]: the decoder's own cap on a logical payload (64 MiB) plus a
/// record header.
const MAX_RECORD_LEN: u64 = (64 << 20) + 0x68;

/// Creates a new temporary sibling of `path` (`NAME.rehydrate~N`) open for reading and writing.
pub(crate) fn create_temp(
    volume: &dyn Volume,
    path: &WinPath,
) -> Result<(WinPath, Box<dyn FileHandle>), platform::Error> {
    let parent = path.parent().unwrap_or_else(WinPath::root);
    let name = path.file_name().unwrap_or("file");
    for n in 0..1000 {
        let temp = parent.join(&format!("{name}.rehydrate~{n}"))?;
        match volume.open(
            &temp,
            OpenOptions::new(
                Access::READ_WRITE,
                ShareMode::READ_WRITE,
                Disposition::CreateNew,
            ),
        ) {
            Ok(h) => return Ok((temp, h)),
            Err(platform::Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Err(platform::Error::AlreadyExists { path: parent })
}

/// A failure attached to a need or a file.
#[derive(Debug, Clone)]
struct Fail {
    error: FileError,
    /// The record at the expected place did not match; a scan of the container may find it.
    retry_scan: bool,
    /// Keep this error if a scan does not find the record either (the store's copy of the
    /// container ends before the record: the copy is damaged, the record is not just elsewhere).
    sticky: bool,
}

impl Fail {
    fn new(error: FileError) -> Self {
        Self {
            error,
            retry_scan: false,
            sticky: false,
        }
    }

    /// The record at the expected place is not the one wanted: a scan may still find it.
    fn mismatch(error: FileError) -> Self {
        Self {
            error,
            retry_scan: true,
            sticky: false,
        }
    }

    fn from_store(e: &StoreError) -> Self {
        Self::new(FileError::Store(e.clone()))
    }

    fn from_container(e: &ContainerError) -> Self {
        Self::new(FileError::Container(e.clone()))
    }

    fn platform(stage: Stage, e: platform::Error) -> Self {
        Self::new(FileError::platform(stage, e))
    }
}

struct FileJob {
    path: WinPath,
    reparse: Option<DedupReparse>,
    logical_size: u64,
    attributes: u32,
    failure: Mutex<Option<Fail>>,
    failed: AtomicBool,
    not_dedup: bool,
    written: AtomicU64,
    holes: AtomicBool,
}

impl FileJob {
    fn fail(&self, f: Fail) {
        let mut g = self
            .failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if g.is_none() {
            *g = Some(f);
        }
        self.failed.store(true, Ordering::Release);
    }

    fn is_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }
}

/// A container of one phase.
struct ContainerRef {
    path: WinPath,
    name: Arc<str>,
    expected_id: u32,
    fixed: Option<FixedArea>,
    failure: Option<Fail>,
}

/// What a need is for.
enum NeedKind {
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
struct Need {
    container: usize,
    local_id: u32,
    hint: u32,
    offset: u64,
    len: u64,
    kind: NeedKind,
    /// Set when the container the metadata names is not in the store and `container` is the
    /// fall-back (the swapped id/generation reading, spec §3.5): what was missing. A need that
    /// fails there is reported as the missing container (`DDP_E_PATH_NOT_FOUND`).
    missing_primary: Option<FileError>,
}

/// Per-need state shared with worker threads.
#[derive(Default)]
struct NeedState {
    done: AtomicBool,
    failure: Mutex<Option<Fail>>,
}

impl NeedState {
    fn set_fail(&self, f: Fail) {
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

    fn take_fail(&self) -> Option<Fail> {
        self.failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Open handles of the temporary files, bounded (a restore may hold up to 10,000 files).
struct HandleCache<'v> {
    volume: &'v dyn Volume,
    open: Mutex<HashMap<usize, Arc<dyn FileHandle>>>,
    cap: usize,
}

impl HandleCache<'_> {
    fn get(&self, file: usize, path: &WinPath) -> Result<Arc<dyn FileHandle>, platform::Error> {
        let mut g = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(h) = g.get(&file) {
            return Ok(h.clone());
        }
        if g.len() >= self.cap
            && let Some(k) = g.keys().next().copied()
        {
            g.remove(&k);
        }
        let h: Arc<dyn FileHandle> = Arc::from(self.volume.open(
            path,
            OpenOptions::new(
                Access::READ_WRITE,
                ShareMode::READ_WRITE,
                Disposition::OpenExisting,
            ),
        )?);
        g.insert(file, h.clone());
        Ok(h)
    }

    fn close(&self, file: usize) {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&file);
    }
}

/// The bookkeeping of one [`Engine::fetch`]: where it is in the plan and what each need has
/// been given so far.
struct FetchState {
    /// The plan extents not yet started.
    extents: std::vec::IntoIter<ContainerExtent>,
    /// The extent being read: its container and the reads of it still to make.
    current: Option<(usize, VecDeque<Read>)>,
    /// The needs of each container (after its preparation, only those with a place to read).
    by_container: BTreeMap<usize, Vec<usize>>,
    /// Containers whose fixed area has been read (or tried).
    prepared: Vec<bool>,
    /// Needs only a scan of their container can find.
    scan: Vec<usize>,
    /// Needs given to `process` or failed: a later extent does not read them again.
    served: Vec<bool>,
    /// Records being assembled from pieces of several extents: bytes so far, bytes filled.
    assembly: HashMap<usize, (Vec<u8>, u64)>,
    /// Bytes reserved for records being assembled. A plan that cuts many records at once would
    /// otherwise hold them all: past the window (and with at least one such record in
    /// progress) a cut record is left for the final whole-container pass instead.
    assembling: u64,
    /// Needs whose bytes count in `assembling`.
    reserved: Vec<bool>,
    /// Per container, the ranges read so far (start → end), so that no byte is read twice.
    done_ranges: Vec<BTreeMap<u64, u64>>,
    /// How much of each need has been covered (so later extents skip what earlier ones read).
    covered: Vec<Vec<(u64, u64)>>,
}

impl FetchState {
    /// Need `ni` (of `len` bytes) failed: it is served, and any partial assembly dropped.
    fn give_up(&mut self, ni: usize, len: u64) {
        self.served[ni] = true;
        self.assembly.remove(&ni);
        if std::mem::take(&mut self.reserved[ni]) {
            self.assembling = self.assembling.saturating_sub(len);
        }
    }
}

/// Largest decode buffer a worker keeps between chunks (chunks are at most 128 KiB on every
/// observed volume; a buffer grown past this for one chunk is given back).
const SCRATCH_KEEP: usize = 1 << 20;

/// Decode buffers, a small pool per worker thread of the pool a [`Engine::fetch`] runs in, kept
/// for the whole fetch (a fresh one per parallel job would be allocated and zeroed again and
/// again: `decode_payload` grows its buffer with zeros). A worker decoding a group of chunks
/// before hashing them together needs one per chunk of the group.
struct Scratch(Vec<Mutex<Vec<Vec<u8>>>>);

impl Scratch {
    fn new() -> Self {
        Self(
            (0..rayon::current_num_threads())
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
        )
    }

    /// Runs `f` with this thread's buffer.
    fn with<R>(&self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        self.with_many(1, |bufs| f(&mut bufs[0]))
    }

    /// Runs `f` with `n` of this thread's buffers (fresh ones outside the pool, or when the
    /// thread's buffers are in use further up its stack: a job stolen while a record is
    /// processed).
    fn with_many<R>(&self, n: usize, f: impl FnOnce(&mut [Vec<u8>]) -> R) -> R {
        if let Some(slot) = rayon::current_thread_index().and_then(|i| self.0.get(i))
            && let Ok(mut bufs) = slot.try_lock()
        {
            if bufs.len() < n {
                bufs.resize_with(n, Vec::new);
            }
            let r = f(&mut bufs[..n]);
            // A rare large chunk does not keep its room: memory stays with the typical size.
            for buf in bufs.iter_mut() {
                if buf.capacity() > SCRATCH_KEEP {
                    *buf = Vec::new();
                }
            }
            return r;
        }
        let mut fresh: Vec<Vec<u8>> = (0..n).map(|_| Vec::new()).collect();
        f(&mut fresh)
    }
}

/// How a fetch hands over the records it reads.
enum Process<'a> {
    /// Each record as stored, one at a time (the stream-map phase decodes them itself).
    Record(&'a RecordFn<'a>),
    /// Data chunks, decoded and hash-checked by the fetch in groups (see [`lanes`]).
    Chunks(&'a ChunkSink<'a>),
}

/// Called for each verified record a need asked for: `(need index, need, container, record
/// header, payload, scratch buffer)`.
type RecordFn<'a> = dyn Fn(usize, &Need, &ContainerRef, &RecordHeader, &[u8], &mut Vec<u8>) -> Result<(), Fail>
    + Sync
    + 'a;

/// A data container a stream map names, resolved: its index in the phase's container list and,
/// when it is the fall-back for a missing one, what was missing.
type Resolved = Result<(usize, Option<FileError>), Fail>;

/// The container files of one store folder: `(first, second, file name)`, or `None` when the
/// store cannot list folders.
type Listing = Option<Vec<(u32, u32, String)>>;

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
    let mut first_of: HashMap<String, usize> = HashMap::new();
    let mut job_of_path = Vec::with_capacity(paths.len());
    for p in paths {
        let idx = *first_of.entry(p.folded()).or_insert_with(|| {
            engine.files.push(engine.load_file(p));
            engine.files.len() - 1
        });
        job_of_path.push(idx);
    }
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
    fn load_file(&self, path: &WinPath) -> FileJob {
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
                if let Err(e) = check_entries(r.entries(), job.logical_size) {
                    job.fail(Fail::new(e));
                }
                job.reparse = Some(r);
            }
            Err(e) => job.fail(Fail::new(FileError::Reparse(e))),
        }
        job
    }

    fn store_dir(guid: &dedup_reparse::Guid, kind: dedup_store::ContainerKind) -> WinPath {
        WinPath::new(&dedup_store::container_dir(guid, kind)).expect("store paths are valid")
    }

    /// The container files of a store folder as `(first, second, name)`, cached.
    fn listing(&self, dir: &WinPath) -> Result<Listing, StoreError> {
        let key = dir.folded();
        if let Some(v) = self
            .listings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            return Ok(v.clone());
        }
        let v = self.store.list_dir(dir)?.map(|names| {
            names
                .into_iter()
                .filter_map(|n| parse_container_file_name(&n).map(|(a, b)| (a, b, n)))
                .collect::<Vec<_>>()
        });
        self.listings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, v.clone());
        Ok(v)
    }

    /// The container file for `id` in `dir`: the highest generation whose first name component
    /// is `id`; failing that (the order of the two smap fields is unproven, spec §3.5) the
    /// highest whose first component is `alt`. Without a listing: `id.gen_hint`.
    fn resolve_container(
        &self,
        dir: &WinPath,
        id: u32,
        alt: Option<u32>,
        gen_hint: u32,
    ) -> Result<(WinPath, u32, Option<FileError>), Fail> {
        let listing = self.listing(dir).map_err(|e| Fail::from_store(&e))?;
        let pick = |names: &[(u32, u32, String)], first: u32| {
            names
                .iter()
                .filter(|(a, _, _)| *a == first)
                .max_by_key(|(_, b, _)| *b)
                .cloned()
        };
        let missing = || FileError::ContainerMissing {
            dir: dir.clone(),
            id,
        };
        let found = match &listing {
            Some(names) => match pick(names, id) {
                Some(f) => Some((f, None)),
                None => alt
                    .filter(|&a| a != id)
                    .and_then(|a| pick(names, a))
                    .map(|f| (f, Some(missing()))),
            },
            None => Some(((id, gen_hint, container_file_name(id, gen_hint)), None)),
        };
        match found {
            Some(((a, _, name), swapped)) => Ok((
                dir.join(&name).expect("container names are valid"),
                a,
                swapped,
            )),
            None => Err(Fail::new(missing())),
        }
    }

    fn stream_map_phase(&self) -> Vec<Vec<Option<Vec<dedup_store::SmapEntry>>>> {
        let mut containers: Vec<ContainerRef> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut needs = Vec::new();
        let mut maps: Vec<Vec<Option<Vec<dedup_store::SmapEntry>>>> = self
            .files
            .iter()
            .map(|f| vec![None; f.reparse.as_ref().map_or(0, |r| r.entries().len())])
            .collect();
        for (fi, f) in self.files.iter().enumerate() {
            let Some(r) = &f.reparse else { continue };
            if f.is_failed() {
                continue;
            }
            let dir = Self::store_dir(&r.guid(), dedup_store::ContainerKind::Stream);
            for (ei, e) in r.entries().iter().enumerate() {
                let (path, id, _) = match self.resolve_container(&dir, e.container_id, None, 1) {
                    Ok(v) => v,
                    Err(fail) => {
                        f.fail(Fail::new(FileError::StreamMap(Box::new(fail.error))));
                        continue;
                    }
                };
                let ci = *index.entry(path.folded()).or_insert_with(|| {
                    containers.push(ContainerRef {
                        name: Arc::from(path.to_string()),
                        path,
                        expected_id: id,
                        fixed: None,
                        failure: None,
                    });
                    containers.len() - 1
                });
                needs.push(Need {
                    container: ci,
                    local_id: e.local_id,
                    hint: e.offset_hint,
                    offset: u64::from(e.offset_hint),
                    len: RecordType::StreamMap.header_len() as u64 + u64::from(e.stream_map_size),
                    kind: NeedKind::StreamMap {
                        file: fi,
                        entry: ei,
                        hash: e.hash.as_bytes().to_vec(),
                        size: e.stream_map_size,
                    },
                    missing_primary: None,
                });
            }
        }
        let results: Vec<Mutex<Option<Vec<dedup_store::SmapEntry>>>> =
            needs.iter().map(|_| Mutex::new(None)).collect();
        let read_map: &RecordFn<'_> = &|ni, need, c, rec, stored, scratch| {
            let NeedKind::StreamMap { hash, size, .. } = &need.kind else {
                return Err(Fail::new(FileError::Internal("need kind")));
            };
            if rec.hash[..hash.len()] != hash[..] {
                return Err(Fail::mismatch(FileError::HashMismatch {
                    container: c.name.clone(),
                    offset: u64::from(rec.offset),
                    local_id: rec.local_id,
                    kind: RecordKind::StreamMap,
                    found: dedup_store::hex(&rec.hash[..hash.len()]),
                    expected: dedup_store::hex(hash),
                    by: "reparse point",
                }));
            }
            let payload = decode_payload(
                &c.name,
                rec,
                stored,
                Some(u64::from(*size)),
                &ReadOptions::default(),
                scratch,
            )
            .map_err(|e| Fail::from_container(&e))?;
            let map = StreamMapRef::parse(payload).map_err(|e| {
                Fail::from_container(&ContainerError::BadStreamMap {
                    container: c.name.clone(),
                    offset: u64::from(rec.offset),
                    local_id: rec.local_id,
                    source: e,
                })
            })?;
            *results[ni]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(map.entries().collect());
            Ok(())
        };
        let states = self.fetch(&mut containers, &mut needs, &Process::Record(read_map));
        for (ni, need) in needs.iter().enumerate() {
            let NeedKind::StreamMap { file, entry, .. } = need.kind else {
                continue;
            };
            match states[ni].take_fail() {
                Some(f) if !states[ni].done.load(Ordering::Acquire) => {
                    self.files[file].fail(Fail::new(FileError::StreamMap(Box::new(f.error))));
                }
                _ => {
                    maps[file][entry] = results[ni]
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .take();
                }
            }
        }
        maps
    }

    fn data_phase(&self, maps: &[Vec<Option<Vec<dedup_store::SmapEntry>>>]) {
        let mut containers: Vec<ContainerRef> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut needs: Vec<Need> = Vec::new();
        let mut need_of: HashMap<(usize, u32, [u8; 32]), usize> = HashMap::new();
        // Which needs each file depends on, to fail it when one fails.
        let mut file_needs: Vec<Vec<usize>> = vec![Vec::new(); self.files.len()];
        // Each container a stream map names, resolved once (store, id, generation → index into
        // `containers` and the fall-back note), not once per chunk.
        let mut resolved: HashMap<(dedup_reparse::Guid, u32, u32), Resolved> = HashMap::new();
        for (fi, f) in self.files.iter().enumerate() {
            let Some(r) = &f.reparse else { continue };
            if f.is_failed() {
                continue;
            }
            let dir = Self::store_dir(&r.guid(), dedup_store::ContainerKind::Data);
            let mut pending = Vec::new();
            let result = (|| -> Result<(), Fail> {
                for (ei, e) in r.entries().iter().enumerate() {
                    let map = maps[fi][ei]
                        .as_ref()
                        .ok_or_else(|| Fail::new(FileError::Internal("stream map missing")))?;
                    check_map(e, map).map_err(Fail::new)?;
                    let mut start = e.range_begin;
                    for s in map {
                        let len = s.end - start;
                        let key = (r.guid(), s.container_id, s.generation);
                        let (ci, swapped) = if let Some(v) = resolved.get(&key) {
                            v.clone()?
                        } else {
                            let v = self
                                .resolve_container(
                                    &dir,
                                    s.container_id,
                                    Some(s.generation),
                                    s.generation,
                                )
                                .map(|(path, id, swapped)| {
                                    let ci = *index.entry(path.folded()).or_insert_with(|| {
                                        containers.push(ContainerRef {
                                            name: Arc::from(path.to_string()),
                                            path,
                                            expected_id: id,
                                            fixed: None,
                                            failure: None,
                                        });
                                        containers.len() - 1
                                    });
                                    (ci, swapped)
                                });
                            resolved.insert(key, v.clone());
                            v?
                        };
                        pending.push((ci, *s, start, len, swapped));
                        start = s.end;
                    }
                }
                Ok(())
            })();
            if let Err(fail) = result {
                f.fail(fail);
                continue;
            }
            for (ci, s, start, len, swapped) in pending {
                let record_len = RecordType::Data.header_len() as u64 + u64::from(s.stored_size);
                let ni = *need_of.entry((ci, s.local_id, s.hash)).or_insert_with(|| {
                    needs.push(Need {
                        container: ci,
                        local_id: s.local_id,
                        hint: s.offset_hint,
                        offset: u64::from(s.offset_hint),
                        len: record_len,
                        kind: NeedKind::Data {
                            hash: s.hash,
                            logical_len: len,
                            dests: Vec::new(),
                        },
                        missing_primary: swapped,
                    });
                    needs.len() - 1
                });
                let need_len = needs[ni].len;
                if let NeedKind::Data {
                    logical_len, dests, ..
                } = &mut needs[ni].kind
                {
                    if *logical_len != len || need_len != record_len {
                        f.fail(Fail::new(FileError::ConflictingSizes {
                            container: containers[ci].name.clone(),
                            local_id: s.local_id,
                        }));
                        break;
                    }
                    dests.push((fi, start));
                }
                file_needs[fi].push(ni);
            }
        }
        // The temporary files that receive the data, created in parallel: per file this is a
        // create, the sparse flag and the length (several system calls each), which dominated
        // restores of many small files when done one after another.
        let files_temp: Vec<Option<WinPath>> = self
            .files
            .par_iter()
            .map(|f| {
                if f.reparse.is_none() || f.is_failed() {
                    return None;
                }
                self.create_temp(f)
                    .map_err(|e| f.fail(Fail::platform(Stage::Creating, e)))
                    .ok()
            })
            .collect();
        let handles = HandleCache {
            volume: self.volume,
            open: Mutex::new(HashMap::new()),
            cap: 256,
        };
        let verify = ReadOptions {
            verify_hash: self.opts.verify_hash,
            payload_crc: self.opts.payload_crc,
            ..ReadOptions::default()
        };
        let check = |need: &Need, c: &ContainerRef, rec: &RecordHeader| {
            let NeedKind::Data { hash, dests, .. } = &need.kind else {
                return Err(Fail::new(FileError::Internal("need kind")));
            };
            if rec.hash != *hash {
                return Err(Fail::mismatch(FileError::HashMismatch {
                    container: c.name.clone(),
                    offset: u64::from(rec.offset),
                    local_id: rec.local_id,
                    kind: RecordKind::Chunk,
                    found: dedup_store::hex(&rec.hash),
                    expected: dedup_store::hex(hash),
                    by: "stream map",
                }));
            }
            // Nobody wants it any more: not decoded.
            Ok(!dests.iter().all(|(f, _)| self.files[*f].is_failed()))
        };
        let expected_len = |need: &Need| match &need.kind {
            NeedKind::Data { logical_len, .. } => Some(*logical_len),
            NeedKind::StreamMap { .. } => None,
        };
        let consume = |need: &Need, data: &[u8]| {
            let NeedKind::Data { dests, .. } = &need.kind else {
                return Err(Fail::new(FileError::Internal("need kind")));
            };
            self.chunks_decoded.fetch_add(1, Ordering::Relaxed);
            self.place_chunk(dests, data, &files_temp, &handles);
            Ok(())
        };
        let sink = ChunkSink {
            opts: verify,
            check: &check,
            expected_len: &expected_len,
            consume: &consume,
        };
        let states = self.fetch(&mut containers, &mut needs, &Process::Chunks(&sink));
        // Failed needs fail their files.
        for (fi, ns) in file_needs.iter().enumerate() {
            let f = &self.files[fi];
            for &ni in ns {
                if !states[ni].done.load(Ordering::Acquire) {
                    let mut fail = states[ni]
                        .take_fail()
                        .unwrap_or_else(|| Fail::new(FileError::Internal("chunk was never read")));
                    if let Some(missing) = &needs[ni].missing_primary {
                        fail = Fail::new(FileError::Swapped {
                            missing: Box::new(missing.clone()),
                            tried: containers[needs[ni].container].name.clone(),
                            source: Box::new(fail.error),
                        });
                    }
                    f.fail(fail);
                    break;
                }
            }
        }
        // Commit or roll back each file, in parallel (attributes, flush, rename: per file).
        files_temp
            .into_par_iter()
            .enumerate()
            .for_each(|(fi, temp)| {
                let Some(temp) = temp else {
                    return;
                };
                let f = &self.files[fi];
                let commit = if f.is_failed() {
                    Err(None)
                } else {
                    handles
                        .get(fi, &temp)
                        .and_then(|h| Self::finish_file(f, h.as_ref()))
                        .map_err(Some)
                };
                handles.close(fi);
                match commit.and_then(|()| self.volume.rename(&temp, &f.path, true).map_err(Some)) {
                    Ok(()) => {}
                    Err(e) => {
                        if let Some(e) = e {
                            f.fail(Fail::platform(Stage::Finishing, e));
                        }
                        let _ = self.volume.delete_file(&temp);
                    }
                }
            });
    }

    /// Writes a verified chunk to each file that wants it (at its offset in the temporary
    /// file), or notes a hole where it is all zeros; counts and reports progress.
    fn place_chunk(
        &self,
        dests: &[(usize, u64)],
        data: &[u8],
        files_temp: &[Option<WinPath>],
        handles: &HandleCache<'_>,
    ) {
        let zero = self.opts.sparse_zeros && all_zero(data);
        for &(fi, off) in dests {
            let f = &self.files[fi];
            if f.is_failed() {
                continue;
            }
            let Some(temp) = &files_temp[fi] else {
                continue;
            };
            if zero {
                f.holes.store(true, Ordering::Relaxed);
            } else if let Err(e) = handles
                .get(fi, temp)
                .and_then(|h| h.write_all_at(off, data))
            {
                f.fail(Fail::platform(
                    Stage::Writing {
                        offset: off,
                        len: data.len() as u64,
                    },
                    e,
                ));
                continue;
            }
            let written =
                f.written.fetch_add(data.len() as u64, Ordering::Relaxed) + data.len() as u64;
            let files_done = if written == f.logical_size {
                self.files_done.fetch_add(1, Ordering::Relaxed) + 1
            } else {
                self.files_done.load(Ordering::Relaxed)
            };
            self.chunk_writes.fetch_add(1, Ordering::Relaxed);
            let done = self
                .bytes_done
                .fetch_add(data.len() as u64, Ordering::Relaxed)
                + data.len() as u64;
            if let Some(p) = &self.opts.progress {
                p(Progress {
                    bytes_done: done,
                    bytes_total: self.bytes_total,
                    files_done,
                    files_total: self.files.len() as u64,
                    phase: Phase::Rebuilding,
                });
            }
        }
    }

    fn create_temp(&self, f: &FileJob) -> Result<WinPath, platform::Error> {
        let (temp, h) = create_temp(self.volume, &f.path)?;
        h.set_sparse(true)?;
        h.set_len(f.logical_size)?;
        Ok(temp)
    }

    fn finish_file(f: &FileJob, h: &dyn FileHandle) -> Result<(), platform::Error> {
        let written = f.written.load(Ordering::Acquire);
        if written != f.logical_size {
            f.fail(Fail::new(FileError::Incomplete {
                written,
                expected: f.logical_size,
            }));
            return Err(platform::Error::Unsupported {
                path: f.path.clone(),
                what: "incomplete restore".into(),
            });
        }
        if !f.holes.load(Ordering::Relaxed) {
            h.set_sparse(false)?;
        }
        // Never READONLY before the rename: a read-only temporary file could not be deleted if
        // the rename failed (read-only stubs are refused up front).
        let keep = f.attributes & attr::SETTABLE & !attr::NORMAL & !attr::READONLY;
        h.set_attributes(if keep == 0 { attr::NORMAL } else { keep })?;
        h.flush()
    }

    /// Reads the records `needs` ask for from `containers` through the store, following the
    /// protocol, and calls `process` for each record found (in parallel). Returns each need's
    /// state (done, or why not).
    fn fetch(
        &self,
        containers: &mut [ContainerRef],
        needs: &mut [Need],
        process: &Process<'_>,
    ) -> Vec<NeedState> {
        let states: Vec<NeedState> = needs.iter().map(|_| NeedState::default()).collect();
        if containers.is_empty() {
            return states;
        }
        let paths: Vec<WinPath> = containers.iter().map(|c| c.path.clone()).collect();
        let plan = match self.store.order_containers_restore(&paths) {
            Ok(p) => normalise_plan(p, containers.len()),
            Err(e) => {
                for s in &states {
                    s.set_fail(Fail::from_store(&e));
                }
                return states;
            }
        };
        // The records, extent by extent in plan order; then anything the plan missed (one
        // whole-container extent per container, of which only the parts not yet read are read).
        // A container's fixed area (header slots, redirection tables) is read just before the
        // first extent that visits it, so the redirection table is known before any record of
        // it is read and a plan is followed in one pass.
        let mut extents = plan;
        extents.extend((0..containers.len()).map(|ci| ContainerExtent {
            container_index: ci as u32,
            start: 0,
            length: u64::MAX,
        }));
        let mut by_container: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (ni, n) in needs.iter().enumerate() {
            by_container.entry(n.container).or_default().push(ni);
        }
        let mut st = FetchState {
            extents: extents.into_iter(),
            current: None,
            by_container,
            prepared: vec![false; containers.len()],
            scan: Vec::new(),
            served: vec![false; needs.len()],
            assembly: HashMap::new(),
            assembling: 0,
            reserved: vec![false; needs.len()],
            done_ranges: vec![BTreeMap::new(); containers.len()],
            covered: vec![Vec::new(); needs.len()],
        };
        // Read buffers, reused across reads (a fresh one would page-fault on every read).
        let mut buf: Vec<u8> = Vec::new();
        let scratch = Scratch::new();
        let mut next_buf: Vec<u8> = Vec::new();
        // The next read (of the same extent or, once that one's reads are all made, the first of
        // the next extent that has any), done into `next_buf` while the current one's records
        // are processed, with its container and result. Planning the next extent (its fixed
        // area, its preview) before the current records are processed changes nothing the
        // store sees: its calls come in the same order, only the decoding overlaps them.
        let mut prefetched: Option<(usize, Read, Result<(), StoreError>)> = None;
        loop {
            let (ci, r, result) = if let Some(p) = prefetched.take() {
                std::mem::swap(&mut buf, &mut next_buf);
                p
            } else {
                let Some((ci, r)) = self.next_read(&mut st, containers, needs, &states) else {
                    break;
                };
                let len = (r.end - r.start) as usize;
                let result = self.read(&containers[ci].path, r.start, read_buf(&mut buf, len));
                (ci, r, result)
            };
            if let Err(e) = result {
                // A coalesced read that failed is retried record by record (announced by a
                // new preview together with the reads still pending), so that a damaged or
                // missing range fails only the records in it. (The extent being read is still
                // the current one: the next is only planned after a read succeeds.)
                if r.pieces.len() > 1
                    && let Some((cur, queue)) = st.current.as_mut()
                    && *cur == ci
                {
                    let singles: Vec<Read> = r
                        .pieces
                        .iter()
                        .map(|p| Read {
                            start: p.start,
                            end: p.end,
                            pieces: vec![*p],
                        })
                        .collect();
                    let announce: Vec<FileExtent> = singles
                        .iter()
                        .chain(queue.iter())
                        .map(|r| FileExtent {
                            offset: r.start,
                            length: r.end - r.start,
                        })
                        .collect();
                    if self.preview(&containers[ci].path, &announce).is_ok() {
                        for one in singles.into_iter().rev() {
                            queue.push_front(one);
                        }
                        continue;
                    }
                }
                for p in &r.pieces {
                    let mut f = Fail::from_store(&e);
                    f.retry_scan = e.past_end;
                    f.sticky = e.past_end;
                    states[p.need].set_fail(f);
                    st.give_up(p.need, needs[p.need].len);
                }
                continue;
            }
            st.done_ranges[ci].insert(r.start, r.end);
            let mut ready: Vec<(usize, &[u8])> = Vec::new();
            let mut assembled: Vec<(usize, Vec<u8>)> = Vec::new();
            for p in &r.pieces {
                st.covered[p.need].push((p.start, p.end));
                let n = &needs[p.need];
                let slice = &buf[(p.start - r.start) as usize..(p.end - r.start) as usize];
                if p.start == n.offset && p.end == n.offset + n.len {
                    ready.push((p.need, slice));
                } else {
                    let entry = st
                        .assembly
                        .entry(p.need)
                        .or_insert_with(|| (vec![0u8; n.len as usize], 0));
                    entry.0[(p.start - n.offset) as usize..(p.end - n.offset) as usize]
                        .copy_from_slice(slice);
                    entry.1 += p.end - p.start;
                    if entry.1 == n.len {
                        let (bytes, _) = st.assembly.remove(&p.need).expect("present");
                        if std::mem::take(&mut st.reserved[p.need]) {
                            st.assembling = st.assembling.saturating_sub(n.len);
                        }
                        assembled.push((p.need, bytes));
                    }
                }
            }
            let work: Vec<(usize, &[u8])> = ready
                .into_iter()
                .chain(assembled.iter().map(|(ni, b)| (*ni, &b[..])))
                .collect();
            for (ni, _) in &work {
                st.served[*ni] = true;
            }
            if let Some((next_ci, next)) = self.next_read(&mut st, containers, needs, &states) {
                let len = (next.end - next.start) as usize;
                let into = read_buf(&mut next_buf, len);
                let (containers, needs) = (&*containers, &*needs);
                let ((), result) = rayon::join(
                    || Self::run_batch(containers, needs, &states, &work, &scratch, process),
                    || self.read(&containers[next_ci].path, next.start, into),
                );
                prefetched = Some((next_ci, next, result));
            } else {
                Self::run_batch(containers, needs, &states, &work, &scratch, process);
            }
        }
        let mut scan = st.scan;
        // Needs that did not match where expected (or could not be read there): scan.
        for (ni, s) in states.iter().enumerate() {
            if !s.done.load(Ordering::Acquire)
                && s.take_fail().is_some_and(|f| f.retry_scan)
                && containers[needs[ni].container].fixed.is_some()
                && !scan.contains(&ni)
            {
                scan.push(ni);
            }
        }
        if !scan.is_empty() {
            self.scan(containers, needs, &states, &scan, &scratch, process);
        }
        states
    }

    /// The next read of a [`fetch`](Self::fetch): the current extent's next one, or else the
    /// first of the next extent in plan order that has any (preparing its container on the
    /// first visit: fixed area and record offsets; announcing the extent's reads by a preview).
    /// `None` when every extent is done.
    fn next_read(
        &self,
        st: &mut FetchState,
        containers: &mut [ContainerRef],
        needs: &mut [Need],
        states: &[NeedState],
    ) -> Option<(usize, Read)> {
        loop {
            if let Some((ci, queue)) = st.current.as_mut()
                && let Some(r) = queue.pop_front()
            {
                return Some((*ci, r));
            }
            let e = st.extents.next()?;
            let ci = e.container_index as usize;
            if !st.prepared[ci] {
                st.prepared[ci] = true;
                if let Some(list) = st.by_container.get_mut(&ci) {
                    self.load_fixed(&mut containers[ci]);
                    list.retain(|&ni| {
                        self.resolve_offset(&containers[ci], &mut needs[ni], &states[ni]) || {
                            if containers[ci].fixed.is_some() {
                                st.scan.push(ni);
                            }
                            false
                        }
                    });
                }
            }
            let Some(list) = st.by_container.get(&ci) else {
                continue;
            };
            let mut pieces = Vec::new();
            for &ni in list {
                // Done, or failed: a failed read is not repeated by a later extent.
                if st.served[ni] {
                    continue;
                }
                let n = &needs[ni];
                let (s, t) = (n.offset.max(e.start), (n.offset + n.len).min(e.end()));
                if s >= t {
                    continue;
                }
                let cut = s > n.offset || t < n.offset + n.len;
                if cut && st.covered[ni].is_empty() {
                    if st.assembling > 0 && st.assembling + n.len > self.opts.window as u64 {
                        continue;
                    }
                    st.assembling += n.len;
                    st.reserved[ni] = true;
                }
                // Subtract what earlier extents already covered.
                for (a, b) in uncovered(&st.covered[ni], s, t) {
                    pieces.push(Piece {
                        need: ni,
                        start: a,
                        end: b,
                    });
                }
            }
            if pieces.is_empty() {
                continue;
            }
            let reads = coalesce_avoiding(
                pieces,
                self.opts.coalesce_gap,
                self.opts.window as u64,
                &st.done_ranges[ci],
            );
            let extents_list: Vec<FileExtent> = reads
                .iter()
                .map(|r| FileExtent {
                    offset: r.start,
                    length: r.end - r.start,
                })
                .collect();
            if let Err(e) = self.preview(&containers[ci].path, &extents_list) {
                for r in &reads {
                    for p in &r.pieces {
                        states[p.need].set_fail(Fail::from_store(&e));
                        st.give_up(p.need, needs[p.need].len);
                    }
                }
                continue;
            }
            st.current = Some((ci, reads.into()));
        }
    }

    /// Reads and validates a container's fixed area (announced by its own preview), and checks
    /// that its header names the container the file name says.
    fn load_fixed(&self, c: &mut ContainerRef) {
        let mut buf = vec![0u8; FIXED_AREA_LEN];
        let r = self
            .preview(
                &c.path,
                &[FileExtent {
                    offset: 0,
                    length: FIXED_AREA_LEN as u64,
                }],
            )
            .and_then(|()| self.read(&c.path, 0, &mut buf));
        match r {
            Err(e) => c.failure = Some(Fail::from_store(&e)),
            Ok(()) => match FixedArea::parse(&c.name, &buf) {
                Err(e) => c.failure = Some(Fail::from_container(&e)),
                Ok(fa) if fa.header.container_id != c.expected_id => {
                    c.failure = Some(Fail::new(FileError::ContainerIdMismatch {
                        container: c.name.clone(),
                        header_id: fa.header.container_id,
                        name_id: c.expected_id,
                    }));
                }
                Ok(fa) => c.fixed = Some(fa),
            },
        }
    }

    /// Where `n` is to be read: the redirection table wins over the hint. False (with the
    /// need's failure set) when the container could not be used or the place is outside the
    /// records area (then only a scan can find the record).
    fn resolve_offset(&self, c: &ContainerRef, n: &mut Need, state: &NeedState) -> bool {
        match (&c.fixed, &c.failure) {
            (_, Some(f)) => {
                state.set_fail(f.clone());
                false
            }
            (None, None) => {
                state.set_fail(Fail::new(FileError::Internal("container not read")));
                false
            }
            (Some(_), None) if n.len > self.max_record_len() => {
                state.set_fail(Fail::new(FileError::RecordTooLong {
                    container: c.name.clone(),
                    local_id: n.local_id,
                    len: n.len,
                }));
                false
            }
            (Some(fa), None) => {
                if let Some(off) = fa.redirection.lookup(n.local_id)
                    && u64::from(off) != n.offset
                {
                    n.offset = u64::from(off);
                    self.redirected.fetch_add(1, Ordering::Relaxed);
                }
                if n.offset < FIXED_AREA_LEN as u64
                    || n.offset.saturating_add(n.len) > fa.header.valid_data_length
                {
                    state.set_fail(Fail::mismatch(FileError::OutsideRecords {
                        container: c.name.clone(),
                        local_id: n.local_id,
                        offset: n.offset,
                        len: n.len,
                        vdl: fa.header.valid_data_length,
                    }));
                    false
                } else {
                    true
                }
            }
        }
    }

    /// Validates and processes complete records in parallel.
    fn run_batch(
        containers: &[ContainerRef],
        needs: &[Need],
        states: &[NeedState],
        work: &[(usize, &[u8])],
        scratch: &Scratch,
        process: &Process<'_>,
    ) {
        let process = match process {
            Process::Record(f) => *f,
            Process::Chunks(sink) => return sink.run(containers, needs, states, work, scratch),
        };
        work.par_iter().for_each(|(ni, bytes)| {
            scratch.with(|scratch| {
                let n = &needs[*ni];
                let c = &containers[n.container];
                let vdl = c.fixed.as_ref().map_or(0, |f| f.header.valid_data_length);
                let r = match check_record(c, n, bytes, n.offset, vdl) {
                    Ok(rec) => {
                        let stored =
                            &bytes[rec.header_len()..rec.header_len() + rec.stored_size as usize];
                        process(*ni, n, c, &rec, stored, scratch)
                    }
                    Err(f) => Err(f),
                };
                match r {
                    Ok(()) => states[*ni].done.store(true, Ordering::Release),
                    Err(f) => states[*ni].set_fail(f),
                }
            });
        });
    }

    /// Last resort: walk every record of the containers holding `scan` needs.
    fn scan(
        &self,
        containers: &[ContainerRef],
        needs: &[Need],
        states: &[NeedState],
        scan: &[usize],
        scratch: &Scratch,
        process: &Process<'_>,
    ) {
        let mut by_container: BTreeMap<usize, HashMap<u32, Vec<usize>>> = BTreeMap::new();
        for &ni in scan {
            by_container
                .entry(needs[ni].container)
                .or_default()
                .entry(needs[ni].local_id)
                .or_default()
                .push(ni);
        }
        for (ci, wanted) in by_container {
            let c = &containers[ci];
            let Some(fa) = &c.fixed else { continue };
            let vdl = fa.header.valid_data_length;
            let window = (self.opts.window as u64).max(1 << 20);
            let mut pos = FIXED_AREA_LEN as u64;
            let mut buf = Vec::new();
            'outer: while pos < vdl {
                let end = vdl.min(pos + window);
                if self
                    .preview(
                        &c.path,
                        &[FileExtent {
                            offset: pos,
                            length: end - pos,
                        }],
                    )
                    .is_err()
                {
                    break;
                }
                buf.resize((end - pos) as usize, 0);
                if self.read(&c.path, pos, &mut buf).is_err() {
                    break;
                }
                let mut p = pos;
                let mut work: Vec<(usize, Vec<u8>, u64)> = Vec::new();
                loop {
                    if p >= end {
                        break;
                    }
                    let rec = match parse_record_header(&c.name, &buf, pos, p, vdl) {
                        Ok(r) => r,
                        Err(_) if p + 0x68 > end && end < vdl => break,
                        Err(_) => {
                            p += 8;
                            continue;
                        }
                    };
                    let rec_end = rec.payload_end();
                    if rec_end > end {
                        if p == pos {
                            // One record larger than the window: read it alone (announced).
                            if let Some(list) = wanted.get(&rec.local_id)
                                && rec_end - p <= self.max_record_len()
                            {
                                let mut one = vec![0u8; (rec_end - p) as usize];
                                let ext = [FileExtent {
                                    offset: p,
                                    length: rec_end - p,
                                }];
                                if self.preview(&c.path, &ext).is_ok()
                                    && self.read(&c.path, p, &mut one).is_ok()
                                {
                                    for &ni in list {
                                        work.push((ni, one.clone(), p));
                                    }
                                }
                            }
                            p = rec.next_record_offset();
                        }
                        break;
                    }
                    if rec.record_type != RecordType::Padding
                        && let Some(list) = wanted.get(&rec.local_id)
                    {
                        for &ni in list {
                            work.push((
                                ni,
                                buf[(p - pos) as usize..(rec_end - pos) as usize].to_vec(),
                                p,
                            ));
                        }
                    }
                    p = rec.next_record_offset();
                }
                work.par_iter().for_each(|(ni, bytes, at)| {
                    scratch.with(|scratch| {
                        let n = &needs[*ni];
                        if states[*ni].done.load(Ordering::Acquire) {
                            return;
                        }
                        let r = check_record(c, n, bytes, *at, vdl).and_then(|rec| {
                            let stored = &bytes[rec.header_len()..];
                            match process {
                                Process::Record(f) => f(*ni, n, c, &rec, stored, scratch),
                                Process::Chunks(sink) => sink.one(n, c, &rec, stored, scratch),
                            }
                        });
                        match r {
                            Ok(()) => {
                                states[*ni].done.store(true, Ordering::Release);
                                self.found_by_scan.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(f) => states[*ni].set_fail(f),
                        }
                    });
                });
                if p <= pos {
                    break 'outer;
                }
                pos = p;
            }
        }
        for &ni in scan {
            if !states[ni].done.load(Ordering::Acquire) {
                let n = &needs[ni];
                let c = &containers[n.container];
                let prior = states[ni].take_fail();
                match prior {
                    Some(f) if !f.retry_scan || f.sticky => {}
                    _ => states[ni].set_fail(Fail::new(FileError::NotInContainer {
                        container: c.name.clone(),
                        local_id: n.local_id,
                        hint: n.hint,
                    })),
                }
            }
        }
    }

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

/// The first `len` bytes of `buf`, grown (never shrunk, so not zeroed again) as needed; what
/// it held is not kept.
fn read_buf(buf: &mut Vec<u8>, len: usize) -> &mut [u8] {
    if buf.len() < len {
        // A fresh zeroed allocation rather than `resize`: the old bytes need not be kept (no
        // copy), and a large one comes straight from the kernel already zeroed (no memset).
        *buf = vec![0u8; len];
    }
    &mut buf[..len]
}

/// Whether every byte of `data` is zero, 64 bytes at a time (a byte-wise `all` with its early
/// exit is not vectorised; a block's OR is).
pub(crate) fn all_zero(data: &[u8]) -> bool {
    let mut blocks = data.chunks_exact(64);
    blocks.all(|b| b.iter().fold(0, |acc, &x| acc | x) == 0)
        && blocks.remainder().iter().all(|&x| x == 0)
}

/// The parts of `[s, t)` not in `covered`.
fn uncovered(covered: &[(u64, u64)], s: u64, t: u64) -> Vec<(u64, u64)> {
    let mut out = vec![(s, t)];
    for &(a, b) in covered {
        out = out
            .into_iter()
            .flat_map(|(x, y)| {
                let mut v = Vec::new();
                if a >= y || b <= x {
                    v.push((x, y));
                } else {
                    if x < a {
                        v.push((x, a));
                    }
                    if b < y {
                        v.push((b, y));
                    }
                }
                v
            })
            .collect();
    }
    out
}

/// Parses the record at the start of `bytes` and checks it is the one `n` wants: its local id,
/// its type, and (for a full record) that its size matches.
fn check_record(
    c: &ContainerRef,
    n: &Need,
    bytes: &[u8],
    at: u64,
    vdl: u64,
) -> Result<RecordHeader, Fail> {
    let rec = parse_record_header(&c.name, bytes, at, at, vdl).map_err(|e| {
        let mut f = Fail::from_container(&e);
        f.retry_scan = true;
        f
    })?;
    let want_type = match n.kind {
        NeedKind::StreamMap { .. } => RecordType::StreamMap,
        NeedKind::Data { .. } => RecordType::Data,
    };
    let wrong = |problem| {
        Fail::mismatch(FileError::WrongRecord {
            container: c.name.clone(),
            offset: at,
            local_id: n.local_id,
            problem,
        })
    };
    if rec.local_id != n.local_id || rec.record_type != want_type {
        return Err(wrong(RecordProblem::Other {
            found_type: rec.record_type.name(),
            found_id: rec.local_id,
            wanted_type: want_type.name(),
            wanted_id: n.local_id,
        }));
    }
    let total = rec.header_len() as u64 + u64::from(rec.stored_size);
    // A data record must have exactly the stored size its stream-map entry gives (spec §3.5);
    // a stream map may be stored in fewer bytes than its payload size if it is compressed.
    let size_ok = match n.kind {
        NeedKind::Data { .. } => total == n.len,
        NeedKind::StreamMap { .. } => {
            total == n.len || (total < n.len && rec.compression != Compression::Stored)
        }
    };
    if !size_ok {
        return Err(wrong(RecordProblem::StoredSize {
            local_id: n.local_id,
            found: rec.stored_size,
            expected: n.len.saturating_sub(rec.header_len() as u64),
        }));
    }
    if total > bytes.len() as u64 {
        return Err(wrong(RecordProblem::Longer {
            local_id: n.local_id,
            total,
            available: bytes.len() as u64,
        }));
    }
    Ok(rec)
}

/// Reference entries must tile `[0, logical_size)` in order.
fn check_entries(entries: &[ReferenceEntry], logical_size: u64) -> Result<(), FileError> {
    let mut at = 0;
    for (i, e) in entries.iter().enumerate() {
        if e.range_begin != at || e.range_end < e.range_begin {
            return Err(FileError::EntryGap {
                entry: i,
                begin: e.range_begin,
                end: e.range_end,
                expected: at,
            });
        }
        at = e.range_end;
    }
    if at != logical_size {
        return Err(FileError::EntriesShort {
            covered: at,
            logical: logical_size,
        });
    }
    Ok(())
}

/// A stream map must cover exactly its reference entry's range, with no empty chunk. (The
/// caller names the file in the error.)
fn check_map(e: &ReferenceEntry, map: &[dedup_store::SmapEntry]) -> Result<(), FileError> {
    let mut prev = e.range_begin;
    for (i, s) in map.iter().enumerate() {
        if s.end <= prev {
            return Err(FileError::MapNotIncreasing {
                entry: i,
                end: s.end,
                prev,
            });
        }
        prev = s.end;
    }
    if prev != e.range_end {
        return Err(FileError::MapCoverage {
            begin: e.range_begin,
            end: prev,
            expected: e.range_end,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_check() {
        assert!(all_zero(&[]));
        assert!(all_zero(&[0; 200]));
        for len in [1, 63, 64, 65, 200] {
            for at in [0, len / 2, len - 1] {
                let mut v = vec![0u8; len];
                v[at] = 1;
                assert!(!all_zero(&v), "{len} {at}");
            }
        }
    }

    #[test]
    fn uncovered_ranges() {
        assert_eq!(uncovered(&[], 0, 10), vec![(0, 10)]);
        assert_eq!(uncovered(&[(2, 4)], 0, 10), vec![(0, 2), (4, 10)]);
        assert_eq!(uncovered(&[(0, 10)], 0, 10), Vec::<(u64, u64)>::new());
        assert_eq!(uncovered(&[(5, 20), (0, 1)], 0, 10), vec![(1, 5)]);
    }
}
