//! The VSS requester's restore executor (docs/vss-restore.md §3).
//!
//! [`restore`] takes the saved Writer Metadata Documents and Backup Components Document, a
//! [`BackupSource`] holding the backed-up files (and, for dedup files, a
//! [`dedup_restore::BackupStore`] holding the chunk store) and carries out the restore on a
//! [`platform::Volume`], talking to writers and services only through [`platform::Writers`] and
//! [`platform::Services`]:
//!
//! 1. select the components (restore-set generation, `vss_model::restore_set`) and mark them
//!    selected in the BCD;
//! 2. PreRestore to the components of writers whose `writerRestore` is `always` or
//!    `ifReplaceFails` (never to `never` writers, nor to CUSTOM writers without a handler); apply
//!    what the writers changed (restore target, directed targets; failure messages) to the BCD
//!    and generate the restore set again from it; set every component's status to NONE;
//! 3. stop the services of STOP_RESTORE_START writers;
//! 4. copy each component by its method and target (decision table §3.2): see [`rules`] for
//!    every rule with its Microsoft source and every choice made where the documentation is
//!    silent, and [`Outcome`];
//! 5. record alternate mappings used, ranges-file paths and the file restore status in the
//!    BCD; start the stopped services;
//! 6. PostRestore (always for `always` writers; for `ifReplaceFails` writers only when the
//!    component was not fully restored); then stop and start the services of
//!    RESTORE_STOP_START writers.
//!
//! Every change to the volume made for a component is undone if the component fails, so a
//! component ends either ALL or, with every original file back, NONE; FAILED only when the
//! rollback itself could not be completed.

mod backup;
mod error;
mod exec;
mod paths;
mod report;
pub mod rules;

pub use backup::{BackupFile, BackupSource, MemoryBackup, SourceError, VolumeBackup};
pub use error::{
    ComponentError, ComponentErrorKind, CustomError, FileError, LinkError, PathError, UndoError,
    WriteError,
};
pub use exec::{
    CustomHandler, CustomRestore, Host, RestoreError, RestoreOptions, RestoreSpec, restore,
};
pub use report::{ComponentReport, FileAction, FileReport, Outcome, RequesterEvent, RestoreReport};
