//! The public face of the engine: options, progress, per-file results, the report and the
//! errors that stop a call before any work.

use std::sync::Arc;

use dedup_store::PayloadCrc;
use platform::WinPath;

use crate::error::FileError;
use crate::hresult::Hresult;

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
    /// read made meanwhile, and records split across plan extents being put together) plus,
    /// per thread, a decode buffer and up to 4 MiB of chunks queued for the worker writing
    /// their file, whatever the size of the store or the files. Default 8 MiB.
    /// (32 MiB before: on a 1 GB restore, 8 and 16 MiB were as fast, 4 MiB 5-10 % slower on a
    /// few large files, and each fetch's fresh read buffers were pages the kernel had to
    /// clear, most of a 20,000-file restore's serial stream-map phase; peak RSS fell from
    /// 85-98 MiB to 42-74 MiB.) Any value from 1 up works.
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
            window: 8 << 20,
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

/// The report of [`restore_files`](crate::restore_files).
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
