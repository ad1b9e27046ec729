//! VSS writer hooks around a restore (`IVssBackupComponents::PreRestore` / `PostRestore`).
//!
//! Deliberately minimal: the VSS restore executor (issue 3's later build points and
//! `vss-restore`) will decide what it passes. A component is identified the way VSS identifies
//! it — writer id, logical path, component name — and `post_restore` carries the restore status
//! the requester set with `SetFileRestoreStatus`. Implementations (the simulator's writers, the
//! real Windows bridge) do whatever the writer does on those events.

/// Identifies one component of one writer (the key VSS uses in the Backup Components Document).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ComponentRef {
    /// Writer class id, as text (`{GUID}`).
    pub writer_id: String,
    /// Component logical path (may be empty).
    pub logical_path: String,
    /// Component name.
    pub name: String,
}

impl ComponentRef {
    /// A component reference.
    #[must_use]
    pub fn new(
        writer_id: impl Into<String>,
        logical_path: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            writer_id: writer_id.into(),
            logical_path: logical_path.into(),
            name: name.into(),
        }
    }
}

/// `VSS_FILE_RESTORE_STATUS`: what the requester reports for a component after restoring it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileRestoreStatus {
    /// `VSS_RS_UNDEFINED`.
    Undefined,
    /// `VSS_RS_NONE`: no file was restored.
    None,
    /// `VSS_RS_ALL`: every file was restored.
    All,
    /// `VSS_RS_FAILED`: some files were restored, the restore failed.
    Failed,
}

/// Error of a writer hook; names the writer and component.
#[derive(Debug, thiserror::Error)]
#[error("writer {writer_id} component {logical_path}\\{name}: {reason}")]
pub struct WriterError {
    /// Writer class id.
    pub writer_id: String,
    /// Component logical path.
    pub logical_path: String,
    /// Component name.
    pub name: String,
    /// What the writer reported (e.g. `VSS_E_WRITERERROR_RETRYABLE`).
    pub reason: String,
}

/// A directed target a writer adds in PreRestore (`IVssComponent::AddDirectedTarget`): the
/// file `source_path\source_filename` of the backup is written, range by range, into
/// `destination_path\destination_filename`. Range lists use the `AddPartialFile` syntax
/// (`offset:length, ...`); a whole-file remap is `0:<size>` on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirectedTargetChange {
    /// Directory of the backed-up file (as in the file set).
    pub source_path: String,
    /// Name of the backed-up file.
    pub source_filename: String,
    /// Ranges of the backed-up file to read.
    pub source_ranges: String,
    /// Directory to write to.
    pub destination_path: String,
    /// File to write.
    pub destination_filename: String,
    /// Ranges of the destination to write (same total length as `source_ranges`).
    pub destination_ranges: String,
}

/// What a writer changed in its component's restore state during PreRestore. VSS writers
/// change the Backup Components Document (`SetRestoreTarget`, `AddDirectedTarget`); the
/// requester re-reads it after PreRestore. Values use the `VSS_RT_*` names without the prefix
/// (`ORIGINAL`, `ALTERNATE`, `DIRECTED`, `ORIGINAL_LOCATION`, `UNDEFINED`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PreRestoreChanges {
    /// The restore target the writer set, if it set one.
    pub restore_target: Option<String>,
    /// Directed targets the writer added.
    pub directed_targets: Vec<DirectedTargetChange>,
}

/// The writers involved in a restore.
pub trait Writers: Send + Sync {
    /// PreRestore event for `component` (before any of its files are written).
    fn pre_restore(&self, component: &ComponentRef) -> Result<(), WriterError>;

    /// PreRestore event for `component`, returning what the writer changed in the component's
    /// restore state. The default calls [`Writers::pre_restore`] and reports no change. A
    /// requester calls either this or `pre_restore` for a component, not both.
    fn pre_restore_changes(
        &self,
        component: &ComponentRef,
    ) -> Result<PreRestoreChanges, WriterError> {
        self.pre_restore(component)?;
        Ok(PreRestoreChanges::default())
    }
    /// PostRestore event for `component`, with the status the requester set.
    fn post_restore(
        &self,
        component: &ComponentRef,
        status: FileRestoreStatus,
    ) -> Result<(), WriterError>;
}
