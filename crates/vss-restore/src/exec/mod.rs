//! The executor: sequence (docs/vss-restore.md §3.1), method × target rules (§3.2), files that
//! exist or are locked (§3.4), reboot staging (§3.5), partial and directed files (§5), file restore
//! status (§3.9) and rollback.
//!
//! * `units`: the restore plan grouped into units, one per explicitly selected component;
//! * `sequence`: [`restore`], the steps in their order (select, PreRestore, stop services,
//!   copy, start services, PostRestore, restart services);
//! * `prepare`: what the backup holds for one planned file and where it goes (a job);
//! * `copy`: one component's jobs by its method and target (docs/vss-restore.md §3.2, §3.4);
//! * `write`: writing the jobs in a transaction, rehydrating dedup files, staging for reboot;
//! * `transaction`: every change to the volume with its undo.

use std::sync::Arc;

use dedup_restore::BackupStore;
use platform::{Services, Volume, WinPath, Writers};
use vss_model::restore_set::{Environment, RestoreSetError};
use vss_model::{BackupComponents, Guid, WriterMetadata};

use crate::backup::{BackupSource, SourceError};
use crate::error::CustomError;

mod copy;
mod prepare;
mod sequence;
mod transaction;
mod units;
mod write;

pub use sequence::restore;

/// Bytes copied per read/write.
const COPY_CHUNK: usize = 1 << 20;

/// The world the executor acts on.
#[derive(Clone, Copy)]
pub struct Host<'a> {
    /// The volume being restored to.
    pub volume: &'a dyn Volume,
    /// Its drive (`C:`): destinations on other drives are refused.
    pub drive: &'a str,
    /// The backed-up files.
    pub backup: &'a dyn BackupSource,
    /// The backed-up chunk store, for files that were dedup reparse points (`None`: such files
    /// fail with an error naming them).
    pub chunk_store: Option<&'a dyn BackupStore>,
    /// The writers (PreRestore / PostRestore).
    pub writers: &'a dyn Writers,
    /// Service control (STOP_RESTORE_START, RESTORE_STOP_START).
    pub services: &'a dyn Services,
}

/// What to restore.
#[derive(Debug, Clone, Copy)]
pub struct RestoreSpec<'a> {
    /// The saved Writer Metadata Documents (they define the file sets).
    pub writers: &'a [WriterMetadata],
    /// The saved Backup Components Document (with any restore state set before PreRestore:
    /// selection marks, new targets, partial files, subcomponents).
    pub bcd: &'a BackupComponents,
    /// Component full paths to restore; empty = every component the BCD selects.
    pub selection: &'a [String],
    /// `%VAR%` expansion for file-set paths.
    pub env: &'a Environment,
    /// Volume GUID → drive.
    pub volumes: &'a [(Guid, String)],
    /// Original paths of the backed-up files; `None`: the backup's own catalog.
    pub catalog: Option<&'a [String]>,
}

/// What a CUSTOM handler is given.
pub struct CustomRestore<'a> {
    /// The volume.
    pub volume: &'a dyn Volume,
    /// Its drive.
    pub drive: &'a str,
    /// The backup.
    pub backup: &'a dyn BackupSource,
    /// Component full path.
    pub component: &'a str,
    /// (original path, destination on the volume) of every file of the component.
    pub files: &'a [(String, WinPath)],
}

/// A handler for a writer whose restore method is CUSTOM (docs/vss-restore.md §3.2:
/// writer-specific, e.g. COM+ REGDB). `Err` says why it failed.
pub type CustomHandler = Arc<dyn Fn(&CustomRestore<'_>) -> Result<(), CustomError> + Send + Sync>;

/// Options.
#[derive(Clone, Default)]
pub struct RestoreOptions {
    /// Options for rehydrating dedup files.
    pub dedup: dedup_restore::RestoreOptions,
    /// CUSTOM handlers by writer class id.
    pub custom: Vec<(Guid, CustomHandler)>,
}

impl std::fmt::Debug for RestoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestoreOptions")
            .field("dedup", &self.dedup)
            .field(
                "custom",
                &self.custom.iter().map(|c| c.0).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Errors that stop the restore before any component is touched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// Restore-set generation failed (unknown variable, selection that matches nothing).
    #[error(transparent)]
    RestoreSet(#[from] RestoreSetError),
    /// The backup's catalog could not be read.
    #[error(transparent)]
    Backup(#[from] SourceError),
}
