//! The inputs and outputs of restore-set generation: the catalog, the input documents, the
//! plan (components, one disposition per catalog file, exclusions) and its errors.

use std::fmt;

use serde::Serialize;
use thiserror::Error;

use super::env::{Environment, UnknownVariable};
use crate::bcd::BackupComponents;
use crate::enums::{RestoreMethod, RestoreTarget, WriterRestore};
use crate::guid::Guid;
use crate::ranges::PartialRanges;
use crate::wmd::WriterMetadata;

/// One line of the backup's file catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogEntry<'a> {
    /// The file's original path (`C:\Windows\System32\config\SAM`).
    pub path: &'a str,
    /// Its 8.3 short name, when the catalog knows it.
    pub short_name: Option<&'a str>,
}

/// Reads a catalog: one original path per line; an optional TAB then the 8.3 short name;
/// blank lines and lines starting with `#` are skipped; CR before LF is dropped.
#[must_use]
pub fn parse_catalog(text: &str) -> Vec<CatalogEntry<'_>> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once('\t') {
            Some((p, s)) if !s.trim().is_empty() => CatalogEntry {
                path: p,
                short_name: Some(s.trim()),
            },
            Some((p, _)) => CatalogEntry {
                path: p,
                short_name: None,
            },
            None => CatalogEntry {
                path: l,
                short_name: None,
            },
        })
        .collect()
}

/// Everything restore-set generation needs besides the catalog.
#[derive(Debug, Clone, Copy)]
pub struct RestoreSetInput<'a> {
    /// The saved Writer Metadata Documents.
    pub writers: &'a [WriterMetadata],
    /// The saved Backup Components Document (possibly with restore-time state).
    pub bcd: &'a BackupComponents,
    /// Component logical paths (`logicalPath\componentName`) to restore; empty = default.
    pub selection: &'a [String],
    /// Variables for `%VAR%` expansion.
    pub env: &'a Environment,
    /// Volume GUID → drive (`C:`), so that `\\?\Volume{…}\` paths meet drive-letter paths.
    pub volumes: &'a [(Guid, String)],
}

/// Why restore-set generation could not run at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RestoreSetError {
    /// A file set or exclusion uses a variable the environment lacks.
    #[error("writer {writer:?}: {source}")]
    UnknownVariable {
        /// The writer whose path uses it.
        writer: String,
        /// The variable and path.
        source: UnknownVariable,
    },
    /// A selection names nothing in the backup.
    #[error("selection {selection:?} matches no component in the backup")]
    SelectionNotFound {
        /// The selection as given.
        selection: String,
    },
}

/// A writer error of one component: reported, and the component's files are not planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum WriterProblem {
    /// The BCD names a writer instance for which no WMD was given.
    NoWriterMetadata,
    /// The BCD names a component that the writer's WMD does not have.
    ComponentNotInMetadata,
    /// The writer has components but no (or an UNDEFINED) restore method.
    UndefinedMethod,
    /// The restore method is a spelling this crate does not know.
    UnrecognisedMethod(String),
    /// `writerRestore` is undefined or unrecognised.
    BadWriterRestore(String),
    /// The restore target is UNDEFINED.
    UndefinedTarget,
    /// The restore target is a spelling this crate does not know.
    UnrecognisedTarget(String),
    /// Restoring to the alternate location is required, but the file set has no mapping.
    NoAlternateMapping {
        /// The file set's path.
        path: String,
        /// The file set's filespec.
        filespec: String,
    },
    /// A new target was requested but the writer lacks WRITER_SUPPORTS_NEW_TARGET.
    NewTargetNotSupported,
    /// A new target names no file set of the component.
    NewTargetWithoutFileSet {
        /// The new target's path.
        path: String,
        /// The new target's filespec.
        filespec: String,
    },
    /// The target is DIRECTED but no directed targets are given.
    DirectedWithoutTargets,
    /// A component below the selected one was chosen alone but is not selectable for restore.
    NotSelectableForRestore,
    /// A partial file's ranges do not parse.
    BadPartialRanges {
        /// The file.
        file: String,
        /// Why.
        error: String,
    },
    /// A file set's path, once expanded, climbs out of its folder (a `.` or `..` component) or
    /// is a UNC or device path: its files cannot be restored where the writer expects them.
    InvalidFileSetPath {
        /// The path as the WMD gives it.
        path: String,
        /// The path after `%VAR%` expansion.
        expanded: String,
    },
    /// A file set lives on a drive of which the catalog holds no file (the backup did not
    /// include that volume, or a restore of one drive was asked for): restoring the rest would
    /// leave the component incomplete while reporting it restored.
    FileSetOnAbsentDrive {
        /// The path after `%VAR%` expansion.
        expanded: String,
        /// Its drive (`F:`).
        drive: String,
    },
}

impl fmt::Display for WriterProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoWriterMetadata => {
                f.write_str("no saved writer metadata for this writer instance")
            }
            Self::ComponentNotInMetadata => {
                f.write_str("the writer metadata has no such component")
            }
            Self::UndefinedMethod => f.write_str("writer has components but no restore method"),
            Self::UnrecognisedMethod(m) => write!(f, "unrecognised restore method {m:?}"),
            Self::BadWriterRestore(w) => write!(f, "writerRestore is {w:?}"),
            Self::UndefinedTarget => f.write_str("restore target is UNDEFINED"),
            Self::UnrecognisedTarget(t) => write!(f, "unrecognised restore target {t:?}"),
            Self::NoAlternateMapping { path, filespec } => write!(
                f,
                "alternate location required but file set {path}\\{filespec} has no mapping"
            ),
            Self::NewTargetNotSupported => {
                f.write_str("new target requested but writer lacks WRITER_SUPPORTS_NEW_TARGET")
            }
            Self::NewTargetWithoutFileSet { path, filespec } => {
                write!(
                    f,
                    "new target {path}\\{filespec} names no file set of the component"
                )
            }
            Self::DirectedWithoutTargets => f.write_str("target DIRECTED but no directed targets"),
            Self::NotSelectableForRestore => {
                f.write_str("subcomponent is not selectable for restore")
            }
            Self::BadPartialRanges { file, error } => {
                write!(f, "partial file {file}: bad ranges: {error}")
            }
            Self::InvalidFileSetPath { path, expanded } => write!(
                f,
                "file set path {path:?} expands to {expanded:?}, which is not a path on a local volume"
            ),
            Self::FileSetOnAbsentDrive { expanded, drive } => write!(
                f,
                "file set {expanded:?} is on drive {drive}, of which the backup being restored holds no file"
            ),
        }
    }
}

/// One component taking part in the restore.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedComponent {
    /// The writer's friendly name.
    pub writer: String,
    /// The writer class.
    pub writer_id: Option<Guid>,
    /// Index of the WMD in [`RestoreSetInput::writers`] (`None` when missing).
    pub writer_index: Option<usize>,
    /// Index of the component in that WMD (`None` when missing).
    pub component_index: Option<usize>,
    /// The component's full logical path.
    pub component: String,
    /// The full path of the selected component whose set includes this one.
    pub selected_as: String,
    /// Chosen alone as a subcomponent (AddRestoreSubcomponent).
    pub subcomponent: bool,
    /// The writer's restore method.
    pub method: RestoreMethod,
    /// The writer's writerRestore.
    pub writer_restore: WriterRestore,
    /// `rebootRequired`.
    pub reboot_required: bool,
    /// The restore target (from the BCD restore state; ORIGINAL when none).
    pub target: RestoreTarget,
    /// Writer errors; when non-empty, no file of this component is planned.
    pub problems: Vec<WriterProblem>,
    /// Number of catalog files planned under this component.
    pub files: usize,
}

/// Where a planned file goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Destination {
    /// Its original path.
    Original,
    /// The writer's alternate location mapping.
    AlternateMapping(String),
    /// A new target chosen by the requester.
    NewTarget(String),
    /// A directed target set by the writer.
    Directed(Box<DirectedDestination>),
}

/// Where a directed target sends a file (boxed: rare, and keeps [`Disposition`] small).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectedDestination {
    /// Destination path and file name.
    pub path: String,
    /// Source ranges string.
    pub source_ranges: String,
    /// Destination ranges string.
    pub destination_ranges: String,
}

/// What happens to one catalog file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Disposition {
    /// Restored for a component.
    Restore {
        /// Index into [`RestorePlan::components`].
        component: usize,
        /// Index of the matching file set in the WMD component.
        file_set: usize,
        /// Where it goes.
        destination: Destination,
        /// An alternate location it may go to instead (IF_NOT_THERE / IF_CAN_REPLACE).
        fallback: Option<String>,
        /// Partial-file ranges, when only ranges were backed up.
        partial: Option<Box<PartialRanges>>,
    },
    /// No writer claims it: restored the traditional way.
    Traditional,
    /// A writer excludes it.
    Excluded {
        /// Index into [`RestorePlan::exclusions`].
        exclusion: usize,
    },
    /// Claimed by a component that is not being restored.
    NotSelected {
        /// Writer friendly name.
        writer: String,
        /// Component full path.
        component: String,
    },
    /// Claimed by a component with writer errors.
    WriterError {
        /// Index into [`RestorePlan::components`].
        component: usize,
    },
}

/// One exclusion, for reporting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExclusionRef {
    /// Writer friendly name.
    pub writer: String,
    /// `EXCLUDE_FILES` or `EXCLUDE_FILES_FROM_SNAPSHOT`.
    pub element: &'static str,
    /// Path as written.
    pub path: String,
    /// Filespec.
    pub filespec: String,
    /// Recursive.
    pub recursive: bool,
}

/// The restore set.
#[derive(Debug, Clone, Serialize)]
pub struct RestorePlan {
    /// Components taking part (including those with problems).
    pub components: Vec<PlannedComponent>,
    /// One entry per catalog line, in catalog order.
    pub files: Vec<Disposition>,
    /// The exclusions referred to by [`Disposition::Excluded`].
    pub exclusions: Vec<ExclusionRef>,
}

impl RestorePlan {
    /// A sentence saying why a file got its disposition.
    #[must_use]
    pub fn reason(&self, d: &Disposition) -> String {
        match d {
            Disposition::Restore {
                component,
                destination,
                fallback,
                ..
            } => {
                let c = &self.components[*component];
                let mut s = format!(
                    "file set of {} ({}), method {}, target {}",
                    c.component, c.writer, c.method, c.target
                );
                if c.subcomponent {
                    s.push_str(", restored as a subcomponent");
                } else if c.selected_as != c.component {
                    s.push_str(", in the set of ");
                    s.push_str(&c.selected_as);
                }
                match destination {
                    Destination::Original => {}
                    Destination::AlternateMapping(_) => s.push_str(", to its alternate mapping"),
                    Destination::NewTarget(_) => s.push_str(", to the new target"),
                    Destination::Directed { .. } => s.push_str(", directed by the writer"),
                }
                if fallback.is_some() {
                    s.push_str(", alternate mapping if the original cannot be used");
                }
                s
            }
            Disposition::Traditional => "no writer claims it: plain file restore".to_owned(),
            Disposition::Excluded { exclusion } => {
                let x = &self.exclusions[*exclusion];
                format!(
                    "excluded by {} ({} {}\\{}{})",
                    x.writer,
                    x.element,
                    x.path.trim_end_matches('\\'),
                    x.filespec,
                    if x.recursive { ", recursive" } else { "" }
                )
            }
            Disposition::NotSelected { writer, component } => {
                format!("belongs to {component} ({writer}), which is not being restored")
            }
            Disposition::WriterError { component } => {
                let c = &self.components[*component];
                let problems: Vec<String> = c.problems.iter().map(ToString::to_string).collect();
                format!(
                    "writer error in {} ({}): {}",
                    c.component,
                    c.writer,
                    problems.join("; ")
                )
            }
        }
    }
}
