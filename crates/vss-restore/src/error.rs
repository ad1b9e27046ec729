//! Typed errors of the executor: of one destination path ([`PathError`], [`LinkError`]), of
//! writing to the volume ([`WriteError`]), of undoing or keeping a component's changes
//! ([`UndoError`]), of one file ([`FileError`]), of a CUSTOM handler ([`CustomError`]), and
//! the error of a component as the report holds it ([`ComponentError`]).
//!
//! Errors that come from other crates and are not `Clone` (volume, service and writer errors)
//! are held in an [`Arc`], so reports stay `Clone`. Each error's `Display` is the sentence the
//! report has always printed; a [`ComponentError`] serializes as that sentence.

use std::sync::Arc;

use dedup_restore::Hresult;
use platform::{ServiceError, WinPath, WriterError};
use serde::{Serialize, Serializer};
use vss_model::RestoreMethod;
use vss_model::ranges::{RangeListError, RangesFileError};
use vss_model::restore_set::WriterProblem;

use crate::backup::SourceError;

/// Why a destination path taken from a restore set is refused (docs/vss-restore.md §3.6).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// `\\server\share\…`, `\\?\UNC\…` or another device path.
    #[error("{raw}: UNC and device paths are not restored to")]
    Unc {
        /// The path as given.
        raw: String,
    },
    /// A drive other than the one being restored.
    #[error("{raw}: outside the volume being restored ({drive})")]
    OtherVolume {
        /// The path as given.
        raw: String,
        /// The drive being restored.
        drive: String,
    },
    /// Neither `X:\…` nor `\…`.
    #[error("{raw}: not an absolute path")]
    NotAbsolute {
        /// The path as given.
        raw: String,
    },
    /// A `.` or `..` component.
    #[error("{raw}: `{component}` component refused (would leave the target directory)")]
    DotComponent {
        /// The path as given.
        raw: String,
        /// `.` or `..`.
        component: String,
    },
    /// The path names the root directory, not a file.
    #[error("{raw}: names the volume root, not a file")]
    VolumeRoot {
        /// The path as given.
        raw: String,
    },
    /// A name Windows forbids.
    #[error("{raw}: {source}")]
    BadName {
        /// The path as given.
        raw: String,
        /// Why [`WinPath::new`] refused it.
        source: Arc<platform::Error>,
    },
    /// An existing component of the path is a link or not a directory.
    #[error("{raw}: {source}")]
    NotWrittenThrough {
        /// The path as given.
        raw: String,
        /// What is in the way.
        source: LinkError,
    },
}

/// Why a path on the volume is not written through: an existing component of it is a junction,
/// symbolic link or other reparse point, or a file where a directory is needed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// Looking at a component failed.
    #[error(transparent)]
    Volume(Arc<platform::Error>),
    /// A file where a directory is needed.
    #[error("{path} is a file, not a directory")]
    NotADirectory {
        /// The file.
        path: WinPath,
    },
    /// A name surrogate (junction, symbolic link).
    #[error("{path} is a junction or symbolic link (reparse tag {tag:#010x}); not written through")]
    Link {
        /// The link.
        path: WinPath,
        /// Its reparse tag.
        tag: u32,
    },
    /// Another reparse point where a directory is needed.
    #[error("{path} is a reparse point on the way to the file; not written through")]
    ReparsePoint {
        /// The reparse point.
        path: WinPath,
    },
}

/// Why writing a file (or its directory, or a temporary file beside it) failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A volume operation failed.
    #[error(transparent)]
    Volume(Arc<platform::Error>),
    /// Reading the backed-up data failed.
    #[error(transparent)]
    Backup(#[from] SourceError),
    /// A file where a parent directory is needed.
    #[error("{path} is not a directory")]
    NotADirectory {
        /// The file.
        path: WinPath,
    },
    /// Every temporary name tried beside the destination exists.
    #[error("{path}: no free temporary name")]
    NoTemporaryName {
        /// The destination.
        path: WinPath,
    },
}

impl From<platform::Error> for WriteError {
    fn from(e: platform::Error) -> Self {
        Self::Volume(Arc::new(e))
    }
}

/// A change to the volume that could not be undone, or an original set aside that could not be
/// removed once the component was restored.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum UndoError {
    /// A file written for the component could not be removed.
    #[error("could not remove {path}: {source}")]
    Remove {
        /// The file.
        path: WinPath,
        /// Why.
        source: Arc<platform::Error>,
    },
    /// The original file could not be renamed back.
    #[error("could not put the original {dest} back from {aside}: {source}")]
    PutBack {
        /// Where the original belongs.
        dest: WinPath,
        /// Where it was set aside.
        aside: WinPath,
        /// Why.
        source: Arc<platform::Error>,
    },
    /// Restored, but the original set aside was left behind.
    #[error("restored, but the original set aside as {aside} could not be removed: {source}")]
    AsideNotRemoved {
        /// The original set aside.
        aside: WinPath,
        /// Why.
        source: Arc<platform::Error>,
    },
}

/// Why one file of a component could not be restored (the report prefixes the file's path).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// Asking the backup about the file failed.
    #[error(transparent)]
    Backup(SourceError),
    /// The backup does not hold the file.
    #[error("not in the backup")]
    NotInBackup,
    /// A directed target's range list does not parse.
    #[error("directed target ranges {ranges:?}: {source}")]
    DirectedRanges {
        /// The range list.
        ranges: String,
        /// Why.
        source: RangeListError,
    },
    /// A directed target's ranges cannot be applied (lengths differ, a source range past
    /// the backed-up file, a destination past the largest NTFS file).
    #[error("{0}")]
    Directed(vss_model::ranges::DirectedError),
    /// Reading a partial file's ranges file from the backup failed.
    #[error("ranges file: {0}")]
    RangesFileRead(SourceError),
    /// The backup does not hold the ranges file.
    #[error("ranges file {path} is not in the backup")]
    RangesFileMissing {
        /// The ranges file's original path.
        path: String,
    },
    /// The ranges file is larger than any real writer makes.
    #[error("ranges file {path} is {len} bytes (more than {max})")]
    RangesFileTooLarge {
        /// The ranges file's original path.
        path: String,
        /// Its length.
        len: u64,
        /// The largest read.
        max: u64,
    },
    /// The ranges file does not parse.
    #[error("ranges file {path}: {source}")]
    RangesFileBad {
        /// The ranges file's original path.
        path: String,
        /// Why.
        source: RangesFileError,
    },
    /// The backed-up data and the partial-file ranges differ in length.
    #[error(
        "partial file: the backup holds {backup_bytes} bytes but the ranges cover {ranges_bytes}"
    )]
    PartialLength {
        /// Bytes the backup holds.
        backup_bytes: u64,
        /// Bytes the ranges cover.
        ranges_bytes: u64,
    },
    /// A reparse point with partial or directed ranges.
    #[error("a reparse point cannot be restored by ranges")]
    ReparseByRanges,
    /// A dedup file and no chunk store.
    #[error("was a dedup file; no chunk store given to rehydrate it")]
    NoChunkStore,
    /// The destination is refused.
    #[error("destination refused: {0}")]
    DestinationRefused(PathError),
    /// The alternate location is refused.
    #[error("alternate location refused: {0}")]
    AlternateRefused(PathError),
    /// The destination exists and cannot be opened exclusively (docs/vss-restore.md §3.4).
    #[error("cannot be replaced: {0}")]
    CannotReplace(Arc<platform::Error>),
    /// Writing the file failed.
    #[error(transparent)]
    Write(WriteError),
    /// Writing the temporary file staged for reboot failed.
    #[error("staging for reboot: {0}")]
    Staging(WriteError),
    /// The pending rename of a staged file could not be added.
    #[error("adding the pending rename failed: {0}")]
    PendingRename(Arc<platform::Error>),
    /// Rehydrating the dedup file failed.
    #[error(
        "dedup rehydration failed: {result}{}",
        error.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()
    )]
    Dedup {
        /// The file's HRESULT.
        result: Hresult,
        /// The engine's typed error (container, offset, local id).
        error: Option<dedup_restore::FileError>,
    },
}

impl FileError {
    /// Whether the file was refused (its destination or alternate location), as opposed to
    /// failing.
    #[must_use]
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::DestinationRefused(_) | Self::AlternateRefused(_)
        )
    }
}

/// The failure a CUSTOM handler returns ([`crate::CustomHandler`]).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CustomError {
    /// A volume operation failed.
    #[error(transparent)]
    Volume(Arc<platform::Error>),
    /// Reading the backup failed.
    #[error(transparent)]
    Backup(#[from] SourceError),
    /// The handler's own reason.
    #[error("{0}")]
    Failed(String),
}

impl From<platform::Error> for CustomError {
    fn from(e: platform::Error) -> Self {
        Self::Volume(Arc::new(e))
    }
}

impl From<String> for CustomError {
    fn from(reason: String) -> Self {
        Self::Failed(reason)
    }
}

impl From<&str> for CustomError {
    fn from(reason: &str) -> Self {
        Self::Failed(reason.to_owned())
    }
}

/// What went wrong with a component (the part after `component … (writer): `).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ComponentErrorKind {
    /// A writer error found while generating the restore set.
    #[error("writer error: {0}")]
    Writer(WriterProblem),
    /// STOP_RESTORE_START or RESTORE_STOP_START without a service in the WMD.
    #[error("writer error: restore method {method} but the writer metadata names no service")]
    NoService {
        /// The method.
        method: RestoreMethod,
    },
    /// The writer failed PreRestore.
    #[error("PreRestore failed: {0}; nothing restored")]
    PreRestore(Arc<WriterError>),
    /// The writer's service could not be stopped.
    #[error("could not stop the service: {0}; nothing restored")]
    StopService(Arc<ServiceError>),
    /// The writer's service could not be started after copying.
    #[error("service {name} did not start again: {source}")]
    StartService {
        /// The service.
        name: String,
        /// Why.
        source: Arc<ServiceError>,
    },
    /// The writer failed PostRestore.
    #[error("PostRestore failed: {0}")]
    PostRestore(Arc<WriterError>),
    /// RESTORE_STOP_START: stopping or starting the service after PostRestore failed.
    #[error("restarting service {name}: {source}")]
    RestartService {
        /// The service.
        name: String,
        /// Why.
        source: Arc<ServiceError>,
    },
    /// One file.
    #[error("file {path}: {source}")]
    File {
        /// The file's original path.
        path: String,
        /// What went wrong.
        source: FileError,
    },
    /// Some file could not be prepared (each has its own error).
    #[error("not restored: files above could not be prepared; nothing written")]
    NotPrepared,
    /// Files cannot be replaced where they belong nor at their alternate locations.
    #[error("not restored: files cannot be replaced, at the original or the alternate location")]
    CannotReplaceAnywhere,
    /// Files cannot be replaced and not every file has an alternate location.
    #[error(
        "not restored: {count} file(s) cannot be replaced and there is no alternate location mapping for every file"
    )]
    CannotReplaceNoMapping {
        /// Files that cannot be replaced.
        count: usize,
    },
    /// CUSTOM and no handler registered.
    #[error(
        "restore method CUSTOM: custom restore required (a writer-specific procedure; no handler registered); nothing written"
    )]
    CustomRestoreRequired,
    /// The CUSTOM handler failed.
    #[error("custom restore handler failed: {0}")]
    Custom(CustomError),
    /// Restore-if-not-there found a file on disk and not every file has an alternate location.
    #[error(
        "not restored: file {path} is already on disk (restore-if-not-there) and there is no alternate location mapping for every file"
    )]
    AlreadyOnDisk {
        /// The file's original path.
        path: String,
    },
    /// Restore-if-not-there found a file on disk, and every file already has a copy at its
    /// alternate location: no file was restored (status NONE).
    #[error(
        "not restored: file {path} is already on disk (restore-if-not-there) and every file already has a copy at its alternate location"
    )]
    AlreadyAtAlternate {
        /// The original path of the file found on disk.
        path: String,
    },
    /// Undoing what the restore-if-not-there check created failed.
    #[error("undoing the restore-if-not-there check: {0}")]
    UndoCheck(UndoError),
    /// Rolling the component back failed.
    #[error("rollback: {0}")]
    Rollback(UndoError),
    /// The component failed and was rolled back completely.
    #[error("rolled back: every original file is as it was")]
    RolledBack,
    /// Restored, but cleaning up afterwards failed.
    #[error(transparent)]
    Cleanup(UndoError),
    /// Dedup files and no chunk store.
    #[error("dedup files but no chunk store")]
    NoChunkStore,
    /// Some pending renames were added before one failed.
    #[error("{count} pending rename(s) were already added and cannot be taken back; status FAILED")]
    PendingRenamesAdded {
        /// Renames already added.
        count: usize,
    },
}

/// An error of one component, naming it: `component {component} ({writer}): {kind}`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("component {component} ({writer}): {kind}")]
pub struct ComponentError {
    /// Full logical path of the component.
    pub component: String,
    /// Writer friendly name.
    pub writer: String,
    /// What went wrong (boxed: the error travels in `Result`s and reports).
    #[source]
    pub kind: Box<ComponentErrorKind>,
}

impl ComponentError {
    /// The file error this is, if it is about one file.
    #[must_use]
    pub fn file_error(&self) -> Option<&FileError> {
        match self.kind.as_ref() {
            ComponentErrorKind::File { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Serialize for ComponentError {
    /// As its message (the report's JSON has always held the sentence).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Serializes a writer failure as the writer's reason (as the BCD records it).
#[allow(clippy::ref_option)] // the signature `serialize_with` requires
pub(crate) fn serialize_writer_failure<S: Serializer>(
    e: &Option<Arc<WriterError>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match e {
        Some(e) => s.serialize_some(&e.reason),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(kind: ComponentErrorKind) -> ComponentError {
        ComponentError {
            component: r"WIN2012-SQL17-2\master".to_owned(),
            writer: "SqlServerWriter".to_owned(),
            kind: Box::new(kind),
        }
    }

    #[test]
    fn messages_name_the_component_and_file() {
        let e = who(ComponentErrorKind::File {
            path: r"E:\DATA\master.mdf".to_owned(),
            source: FileError::DestinationRefused(PathError::OtherVolume {
                raw: r"D:\x".to_owned(),
                drive: "E:".to_owned(),
            }),
        });
        assert_eq!(
            e.to_string(),
            r"component WIN2012-SQL17-2\master (SqlServerWriter): file E:\DATA\master.mdf: destination refused: D:\x: outside the volume being restored (E:)"
        );
        assert!(e.file_error().is_some_and(FileError::is_refusal));
        let e = who(ComponentErrorKind::File {
            path: r"E:\DATA\master.mdf".to_owned(),
            source: FileError::Dedup {
                result: Hresult::DDP_E_INVALID_DATA,
                error: Some(dedup_restore::FileError::Internal("stream map missing")),
            },
        });
        assert!(
            e.to_string()
                .ends_with(": dedup rehydration failed: DDP_E_INVALID_DATA (0x8056531d) (internal error: stream map missing)"),
            "{e}"
        );
        let e = who(ComponentErrorKind::CannotReplaceNoMapping { count: 2 });
        assert!(e.file_error().is_none());
        assert!(
            e.to_string()
                .contains("not restored: 2 file(s) cannot be replaced"),
            "{e}"
        );
        let l = LinkError::Link {
            path: WinPath::new(r"\a\j").unwrap(),
            tag: 0xA000_0003,
        };
        assert_eq!(
            l.to_string(),
            r"\a\j is a junction or symbolic link (reparse tag 0xa0000003); not written through"
        );
    }

    #[derive(Serialize)]
    struct W {
        #[serde(serialize_with = "serialize_writer_failure")]
        f: Option<Arc<WriterError>>,
    }

    #[test]
    fn errors_serialize_as_their_messages() {
        let e = who(ComponentErrorKind::RolledBack);
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::Value::String(e.to_string())
        );
        let w = W {
            f: Some(Arc::new(WriterError {
                writer_id: "w".to_owned(),
                logical_path: String::new(),
                name: "c".to_owned(),
                reason: "database in use".to_owned(),
            })),
        };
        assert_eq!(
            serde_json::to_string(&w).unwrap(),
            r#"{"f":"database in use"}"#
        );
        assert_eq!(
            serde_json::to_string(&W { f: None }).unwrap(),
            r#"{"f":null}"#
        );
    }
}
