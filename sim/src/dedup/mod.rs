//! The Data Deduplication optimizer and garbage collector, as Windows runs them, over any
//! [`Volume`] (normally a [`crate::SimVolume`]).
//!
//! [`optimize`] walks the volume (skipping `\System Volume Information`), and for every file of
//! at least [`OptimizeOptions::min_file_size`] bytes (32 KiB, Windows' default) that is not
//! already a reparse point:
//!
//! 1. splits it into content-defined chunks ([`chunker`], 32–128 KiB);
//! 2. looks every chunk's hash (SHA-512 prefix, docs/dedup-format.md §4.2) up in the store's index (built from
//!    the data containers already on the volume) and appends only new chunks to the open data
//!    container, Xpress-compressed when that is smaller;
//! 3. appends one stream map (`Smap`, one entry per chunk) to the open stream container; its
//!    record carries [`dedup_store::stream_map_hash`] of the payload, whose first 16 bytes (all
//!    32 for v1) go into the reparse point;
//! 4. commits both containers and writes them to
//!    `\System Volume Information\Dedup\ChunkStore\{GUID}.ddp\{Data,Stream}\XXXXXXXX.GGGGGGGG.ccc`;
//! 5. replaces the file by a stub: dedup reparse point (v3 by default), sparse, logical size
//!    kept, no allocated data, attributes `ARCHIVE|SPARSE_FILE|REPARSE_POINT` (0x620).
//!
//! Containers are sealed when the next record would pass [`OptimizeOptions::container_size`]
//! or when they hold [`OptimizeOptions::max_records`] records (so that a later compaction can
//! always record every moved chunk in the one-slot `Rrtl`; see [`gc`]). Each run starts new
//! containers (ids after the highest present); Windows also appends to unsealed containers of
//! earlier runs, which the format allows but this simulator does not need.
//!
//! [`gc`] deletes unreferenced chunks by compacting containers into a new generation.

pub mod chunker;
pub mod churn;
pub mod gc;
mod optimizer;
pub mod piecewise;
pub mod store;
mod summary;

use dedup_reparse::{Guid, LayoutVersion};
use dedup_store::{CompressionPolicy, WriteError};
use platform::{Volume, WinPath};

pub use chunker::ChunkerParams;
use optimizer::Run;
pub use store::{ContainerKind, StoreLocation};

/// The most records a container gets by default: the number of `Rrtl` entries that fit in
/// its 4 KiB slot ([`dedup_store::RedirectionTable::CAPACITY`], 508).
pub const DEFAULT_MAX_RECORDS: u32 = dedup_store::RedirectionTable::CAPACITY as u32;

/// Smallest container size accepted: room for the fixed area and one largest chunk.
pub const MIN_CONTAINER_SIZE: u64 = 256 * 1024;

/// Error of the optimizer and the garbage collector.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DedupError {
    /// A volume operation failed.
    #[error(transparent)]
    Volume(#[from] platform::Error),
    /// A container on the volume is invalid.
    #[error(transparent)]
    Container(#[from] dedup_store::ContainerError),
    /// A container could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A reparse point could not be built.
    #[error("reparse point: {0}")]
    ReparseBuild(#[from] dedup_reparse::BuildError),
    /// A reparse point on the volume does not parse.
    #[error("{path}: reparse point: {source}")]
    ReparseParse {
        /// The file.
        path: WinPath,
        /// Why.
        source: dedup_reparse::ParseError,
    },
    /// Options that cannot work.
    #[error("invalid options: {0}")]
    Options(String),
    /// The chunk store on the volume is inconsistent.
    #[error("chunk store: {0}")]
    Store(String),
}

/// What the optimizer does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptimizeOptions {
    /// Reparse-point layout of the stubs (v3 by default, as Server 2019+).
    pub reparse_version: LayoutVersion,
    /// Containers are sealed before they pass this many bytes (Windows: about 1 GB).
    pub container_size: u64,
    /// Containers are sealed when they hold this many records.
    pub max_records: u32,
    /// Files smaller than this are left alone (Windows' default: 32 KiB).
    pub min_file_size: u64,
    /// Chunk size limits.
    pub chunker: ChunkerParams,
    /// Whether data chunks are compressed when that pays.
    pub compression: CompressionPolicy,
}

impl Default for OptimizeOptions {
    fn default() -> Self {
        Self {
            reparse_version: LayoutVersion::V3,
            container_size: dedup_store::DEFAULT_SIZE_LIMIT,
            max_records: DEFAULT_MAX_RECORDS,
            min_file_size: 32 * 1024,
            chunker: ChunkerParams::default(),
            compression: CompressionPolicy::WhenSmaller,
        }
    }
}

/// Why a file was not optimized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// Empty.
    Empty,
    /// Smaller than [`OptimizeOptions::min_file_size`].
    TooSmall,
    /// Already has a reparse point (optimized before, or another kind).
    ReparsePoint,
    /// Open by someone else in a conflicting share mode, or read-only.
    InUse,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOutcome {
    /// The file.
    pub path: WinPath,
    /// Logical size.
    pub size: u64,
    /// `None` if optimized, else why not.
    pub skipped: Option<SkipReason>,
    /// Chunks in its stream map (0 when skipped).
    pub chunks: usize,
}

/// What an optimization run did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OptimizeReport {
    /// The store GUID.
    pub store_guid: Guid,
    /// Per file, in processing order.
    pub files: Vec<FileOutcome>,
    /// Files optimized.
    pub files_optimized: usize,
    /// Files skipped.
    pub files_skipped: usize,
    /// Logical bytes of the optimized files.
    pub logical_bytes: u64,
    /// Chunk references written into stream maps.
    pub chunk_refs: u64,
    /// Chunks newly stored by this run.
    pub new_chunks: u64,
    /// Logical bytes of the newly stored chunks.
    pub unique_bytes: u64,
    /// Stored (possibly compressed) payload bytes of the newly stored chunks.
    pub stored_bytes: u64,
    /// Newly stored chunks kept compressed.
    pub compressed_chunks: u64,
    /// Stream maps written.
    pub stream_maps: u64,
    /// Containers written or extended, as `Data\name` / `Stream\name`.
    pub containers_written: Vec<String>,
}

impl OptimizeReport {
    /// Logical bytes of the optimized files over the logical bytes of the chunks this run had
    /// to store (`None` when nothing new was stored).
    #[must_use]
    pub fn dedup_ratio(&self) -> Option<f64> {
        ratio(self.logical_bytes, self.unique_bytes)
    }

    /// Logical over stored bytes of the newly stored chunks (`None` when none).
    #[must_use]
    pub fn compression_ratio(&self) -> Option<f64> {
        ratio(self.unique_bytes, self.stored_bytes)
    }

    /// Logical bytes of the optimized files over the stored bytes of the new chunks.
    #[must_use]
    pub fn savings_ratio(&self) -> Option<f64> {
        ratio(self.logical_bytes, self.stored_bytes)
    }
}

#[allow(clippy::cast_precision_loss)]
fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// `\System Volume Information`, never optimized.
pub(crate) fn is_system_path(p: &WinPath) -> bool {
    p.components()
        .next()
        .is_some_and(|c| platform::eq_name(c, "System Volume Information"))
}

/// Every file of the volume outside `\System Volume Information`, in listing order (depth
/// first, names sorted case-insensitively).
pub fn volume_files(volume: &dyn Volume) -> Result<Vec<WinPath>, DedupError> {
    let mut out = Vec::new();
    let mut stack = vec![WinPath::root()];
    while let Some(dir) = stack.pop() {
        let mut subdirs = Vec::new();
        for e in volume.read_dir(&dir)? {
            let p = dir.join(&e.name)?;
            if is_system_path(&p) {
                continue;
            }
            if e.metadata.is_dir() {
                subdirs.push(p);
            } else {
                out.push(p);
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(out)
}

/// A seeded store GUID (version-4 layout) for a volume without a store.
#[must_use]
pub fn store_guid_for_seed(seed: u64) -> Guid {
    let mut rng = seeded::SplitMix64(seed ^ 0x5354_4f52_4547_5549);
    let mut b = [0u8; 16];
    rng.fill(&mut b);
    b[7] = (b[7] & 0x0F) | 0x40;
    b[8] = (b[8] & 0x3F) | 0x80;
    Guid(b)
}

/// Optimizes every eligible file of the volume (see the module docs). `seed` fixes the store
/// GUID when the volume has no store yet.
pub fn optimize(
    volume: &dyn Volume,
    seed: u64,
    opts: &OptimizeOptions,
) -> Result<OptimizeReport, DedupError> {
    let files = volume_files(volume)?;
    optimize_files(volume, seed, &files, opts)
}

/// Optimizes the given files, in this order (order decides where chunks land in containers).
pub fn optimize_files(
    volume: &dyn Volume,
    seed: u64,
    files: &[WinPath],
    opts: &OptimizeOptions,
) -> Result<OptimizeReport, DedupError> {
    let mut run = Run::open(volume, seed, opts)?;
    for path in files {
        if is_system_path(path) {
            continue;
        }
        let outcome = run.optimize_file(path)?;
        if outcome.skipped.is_some() {
            run.report.files_skipped += 1;
        } else {
            run.report.files_optimized += 1;
        }
        run.report.files.push(outcome);
    }
    run.finish()
}
