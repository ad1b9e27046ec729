//! What a restore did: per component, per file, and the requester's own event log.

use std::sync::Arc;

use platform::WriterError;
use serde::Serialize;
use vss_model::bcd::AlternateMappingUsed;
use vss_model::{
    BackupComponents, FileRestoreStatus, Guid, RestoreMethod, RestoreTarget, WriterRestore,
};

use crate::error::{ComponentError, serialize_writer_failure};

/// The result of [`crate::restore`].
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// One entry per explicitly selected component (the unit VSS reports status for).
    pub components: Vec<ComponentReport>,
    /// The Backup Components Document after the restore: restore targets and directed targets
    /// writers set in PreRestore, alternate mappings used, ranges-file paths, file restore
    /// status and failure messages, in its `REHYDRATE_RESTORE_STATE` elements.
    pub bcd: BackupComponents,
    /// What the executor did, in order.
    pub events: Vec<RequesterEvent>,
    /// A component was staged for reboot, or a restored writer says `rebootRequired`.
    pub reboot_required: bool,
    /// Catalog files no writer claims; they are not restored by this executor.
    pub unclaimed: Vec<String>,
}

impl RestoreReport {
    /// The report of the component whose full logical path is `path` (case-insensitive).
    #[must_use]
    pub fn component(&self, path: &str) -> Option<&ComponentReport> {
        self.components
            .iter()
            .find(|c| c.component.eq_ignore_ascii_case(path))
    }

    /// True when every component was restored (status ALL).
    #[must_use]
    pub fn all_restored(&self) -> bool {
        self.components
            .iter()
            .all(|c| c.status == FileRestoreStatus::All)
    }
}

/// How a component ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// Every file written to its destination.
    Restored,
    /// Every file staged in a temporary file with a pending rename; applied at reboot.
    StagedForReboot,
    /// Nothing written: the method forbids it in the state found on disk (files present for
    /// restore-if-not-there, files locked for restore-if-can-replace) and no alternate
    /// location could be used, or every file already had a copy at its alternate location.
    NotRestored,
    /// A writer error (PreRestore failed, target UNDEFINED, a required mapping missing, …);
    /// nothing written.
    WriterError,
    /// The writer's method is CUSTOM and no handler was registered; nothing written.
    CustomRestoreRequired,
    /// Copying failed; the component was rolled back (status NONE) or could not be (FAILED).
    Failed,
}

impl std::fmt::Display for Outcome {
    /// The variant's name, as in the JSON report (`Restored`, `NotRestored`, …).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Restored => "Restored",
            Self::StagedForReboot => "StagedForReboot",
            Self::NotRestored => "NotRestored",
            Self::WriterError => "WriterError",
            Self::CustomRestoreRequired => "CustomRestoreRequired",
            Self::Failed => "Failed",
        })
    }
}

/// The report of one explicitly selected component.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentReport {
    /// Writer friendly name.
    pub writer: String,
    /// Writer class id.
    pub writer_id: Option<Guid>,
    /// Full logical path of the selected component.
    pub component: String,
    /// The writer's restore method.
    pub method: RestoreMethod,
    /// The writer's writerRestore.
    pub writer_restore: WriterRestore,
    /// The restore target in force when copying (after PreRestore).
    pub target: RestoreTarget,
    /// Final file restore status (as set with SetFileRestoreStatus).
    pub status: FileRestoreStatus,
    /// Every status the component went through, in order (NONE → FAILED → ALL, or
    /// NONE → FAILED → NONE after a rollback).
    pub status_history: Vec<FileRestoreStatus>,
    /// How it ended.
    pub outcome: Outcome,
    /// Per file.
    pub files: Vec<FileReport>,
    /// Errors, each naming the component (and the file, for a file's error); in JSON, their
    /// messages.
    pub errors: Vec<ComponentError>,
    /// Alternate location mappings used (AddAlternativeLocationMapping).
    pub alternate_mappings_used: Vec<AlternateMappingUsed>,
    /// Ranges files restored somewhere other than their recorded path: (recorded, new) —
    /// what SetRangesFilePath reports.
    pub ranges_files: Vec<(String, String)>,
    /// Destinations that came from new targets (AddNewTarget).
    pub new_targets: Vec<String>,
    /// The writer's PreRestore failure (its `reason` is what the BCD records; in JSON, the
    /// reason alone). Also set when the saved BCD already records one.
    #[serde(serialize_with = "serialize_writer_failure")]
    pub pre_restore_failure: Option<Arc<WriterError>>,
    /// The writer's PostRestore failure (in JSON, its reason alone).
    #[serde(serialize_with = "serialize_writer_failure")]
    pub post_restore_failure: Option<Arc<WriterError>>,
    /// The writer says a reboot is needed, or files were staged for reboot.
    pub reboot_required: bool,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FileAction {
    /// Written at its destination.
    Written,
    /// Written to its alternate location mapping (fallback).
    WrittenToAlternate,
    /// Not written: restore-if-not-there found a copy at the alternate location too.
    SkippedExistsAtAlternate,
    /// Staged for reboot: `temp` is renamed over the destination at the next boot.
    StagedForReboot {
        /// The temporary file.
        temp: String,
    },
    /// Written and then rolled back, or never written.
    NotWritten,
    /// The destination was refused (path escape, junction, other volume).
    Refused,
}

/// One file of a component.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// Original (backed-up) path.
    pub source: String,
    /// Where it went (or would have gone), with the drive.
    pub destination: Option<String>,
    /// What happened.
    pub action: FileAction,
    /// Why it failed, naming the file and component (in JSON, the message).
    pub error: Option<ComponentError>,
    /// Restored as a dedup reparse point and rehydrated.
    pub dedup: bool,
}

/// One step the executor took (the requester's side of the event log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RequesterEvent {
    /// PreRestore sent to a component.
    PreRestore {
        /// Component full path.
        component: String,
        /// Whether the writer accepted.
        ok: bool,
    },
    /// A service stop request.
    StopService {
        /// Service name.
        name: String,
        /// Whether it worked.
        ok: bool,
    },
    /// A service start request.
    StartService {
        /// Service name.
        name: String,
        /// Whether it worked.
        ok: bool,
    },
    /// Copying of a component began.
    Copy {
        /// Component full path.
        component: String,
    },
    /// SetFileRestoreStatus.
    SetStatus {
        /// Component full path.
        component: String,
        /// The status.
        status: FileRestoreStatus,
    },
    /// PostRestore sent to a component.
    PostRestore {
        /// Component full path.
        component: String,
        /// The status reported.
        status: FileRestoreStatus,
        /// Whether the writer accepted.
        ok: bool,
    },
}

/// `accepted` / `failed` for a step that may fail.
fn ok_text(ok: bool) -> &'static str {
    if ok { "accepted" } else { "failed" }
}

impl std::fmt::Display for RequesterEvent {
    /// One line in words, e.g. `PreRestore to WIN2012-SQL17-2\master: accepted` or
    /// `SetFileRestoreStatus TasksStore: NONE`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PreRestore { component, ok } => {
                write!(f, "PreRestore to {component}: {}", ok_text(*ok))
            }
            Self::StopService { name, ok } => write!(
                f,
                "stop service {name}: {}",
                if *ok { "stopped" } else { "failed" }
            ),
            Self::StartService { name, ok } => write!(
                f,
                "start service {name}: {}",
                if *ok { "started" } else { "failed" }
            ),
            Self::Copy { component } => write!(f, "copy the files of {component}"),
            Self::SetStatus { component, status } => {
                write!(f, "SetFileRestoreStatus {component}: {status}")
            }
            Self::PostRestore {
                component,
                status,
                ok,
            } => write!(
                f,
                "PostRestore to {component} with status {status}: {}",
                ok_text(*ok)
            ),
        }
    }
}
