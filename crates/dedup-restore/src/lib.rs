//! Rebuild Windows Server Data Deduplication files from a backed-up chunk store: the Rust
//! equivalent of `IDedupBackupSupport::RestoreFiles` driven by an `IDedupReadFileCallback`-like
//! [`BackupStore`] (docs/dedup-format.md §6).
//!
//! [`restore_files`] reads each file's dedup reparse point from a [`platform::Volume`], asks the
//! store for the stream-map containers and then the data containers (two
//! `order_containers_restore` calls), reads them in the order the store prefers with one
//! `preview_container_read` before each extent's coalesced reads, verifies every chunk (CRC-64,
//! Xpress decode, SHA-512 hash) in parallel, decodes each chunk once however often it is used,
//! and replaces each stub by its rebuilt file only when every byte is written. Each file gets an
//! HRESULT (S_OK, S_FALSE for a file that is not a dedup file, or a DDP_E_* code) and the call an
//! overall one.
//!
//! Our choices where Windows' behaviour is not public (docs/dedup-format.md §9): a container's
//! fixed area (header slots and redirection table, 0..0x5000) is read, with its own preview, just
//! before the first plan extent of that container, so stale offsets are redirected before any of
//! its records is read and a plan is followed in one pass; a record cut by plan extents is put
//! together from its pieces while that fits in the window (past it, it is read whole in the
//! final pass over each container), and no byte is read twice; a record that is not where the hint
//! and the `Rrtl` say is looked for by walking the container; a coalesced read that fails is
//! retried record by record; when a data container id is not in the store the swapped id/generation
//! reading of the stream-map entry is tried; the highest generation is found with
//! [`BackupStore::list_dir`] (a store that cannot list gets the generation the metadata names,
//! which is stale after a garbage collection); a read-only stub is refused with E_ACCESSDENIED;
//! the rebuilt file is written to a sibling temporary file and renamed over the stub (on
//! Windows the stub would be rewritten in place).

//!
//! # Out-of-place restore
//!
//! [`restore_tree`] restores a whole tree (or chosen paths) from a [`platform::Source`] — a
//! host folder or ntfs-3g mount ([`platform::HostSource`]), any volume
//! ([`platform::VolumeSource`]) — into any destination [`platform::Volume`], reading the
//! chunks through a [`SourceStore`] over the same source; [`restore_in_place`] is the
//! `RestoreFiles` contract over any number of files. Per-file failures are typed
//! ([`FileError`]: container, offset and local id where there are some).
//!
//! ```
//! # #[cfg(unix)]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use dedup_restore::{EntryStatus, SourceStore, TreeOptions, restore_tree};
//! use platform::{HostSource, HostVolume};
//! # let (volume_dir, output_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
//! # let sim = winsim::SimVolume::new(1);
//! # let text = "a line of text that repeats, ".repeat(4000);
//! # sim.write_file(&platform::WinPath::new("\\docs\\a.txt")?, text.as_bytes())?;
//! # winsim::dedup::optimize(&sim, 1, &winsim::dedup::OptimizeOptions::default())?;
//! # winsim::host::export_volume(&sim, volume_dir.path())?;
//!
//! // A copy of a dedup volume (or an ntfs-3g mount of it) and its own chunk store.
//! let source = HostSource::new(volume_dir.path())?;
//! let store = SourceStore::new(&source);
//! let dest = HostVolume::new(output_dir.path())?;
//! let report = restore_tree(&source, &store, &dest, &TreeOptions::default())?;
//! for e in &report.entries {
//!     if let Some(err) = &e.error {
//!         eprintln!("{}: {} {err} (container {:?})", e.path, err.hresult(), err.container());
//!     }
//! }
//! assert_eq!(report.count(EntryStatus::Restored), 1);
//! # assert_eq!(std::fs::read(output_dir.path().join("docs/a.txt"))?, text.as_bytes());
//! # Ok(())
//! # }
//! # #[cfg(not(unix))]
//! # fn main() {}
//! ```

mod batch;
mod compare;
mod dry_run;
mod engine;
mod error;
mod hresult;
mod place;
mod plan;
mod preflight;
mod resume;
mod select;
mod source_store;
mod staged;
mod store;
mod tree;
mod walk;

pub use batch::{in_batches, overall, restore_in_place};
/// The payload CRC-64 policy of [`RestoreOptions::payload_crc`].
pub use dedup_store::PayloadCrc;
pub use engine::{
    DEDUP_RECONSTRUCT_UNOPTIMIZED, FileResult, MAX_FILES, Phase, Progress, ProgressFn,
    RestoreError, RestoreOptions, RestoreReport, RestoreStats, restore_files,
};
pub use error::{FileError, RecordKind, RecordProblem, ReparseTag, Stage};
pub use hresult::{Hresult, from_platform};
pub use preflight::{CHUNK_STORE_DIR, SourceError, SourceSurvey, SourceWarning, store_path};
pub use resume::is_temporary_name;
pub use select::{GlobError, UserPathError, parse_user_path};
pub use source_store::SourceStore;
pub use store::{
    BackupStore, ContainerExtent, FileExtent, MemoryStore, RecordingStore, StoreCall, StoreError,
};
pub use tree::{
    EntryResult, EntryStatus, FilterKind, Overwrite, SYSTEM_DIR, TreeError, TreeOptions, TreePlan,
    TreeReport, dedup_files, plan_tree, restore_planned, restore_tree,
};
