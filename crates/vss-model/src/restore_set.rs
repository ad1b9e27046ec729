//! Restore-set generation: which backed-up file goes where (spec §3.2, §3.6, §3.7) [D-RSET].
//!
//! Inputs: the backup's file catalog (original paths), the saved WMDs, the BCD, the user's
//! selection (component logical paths; default: every component the BCD holds, or those its
//! restore state marks selected), an [`Environment`] for `%VAR%` expansion, and optionally a
//! volume-GUID → drive map.
//!
//! Rules, as implemented:
//! * File sets match by directory + filespec ([`crate::wildcard`]) + recursive; paths are
//!   compared case-insensitively after expanding variables, turning `/` into `\`, dropping
//!   `\\?\` / `\??\` prefixes, empty segments and trailing backslashes.
//! * A volume-relative path (`\System Volume Information\Heat`) matches on every volume. A
//!   volume-GUID path (`\\?\Volume{…}\Boot`) matches catalog paths on that volume, written with
//!   the GUID or, when the volume map names its drive, with the drive letter.
//! * Exclusions (`EXCLUDE_FILES`, `EXCLUDE_FILES_FROM_SNAPSHOT`) of every writer override any
//!   file set and also apply to files no writer claims.
//! * Logical-path ancestry is segment-aware: `a\b` is under `a`, not under `a\bc`'s sibling
//!   `a\bc`... precisely, `x` is under `p` iff `x == p` or `x` starts with `p\`.
//! * A selected component restores its *set*: itself and every component of the same writer
//!   whose logical path lies under its full path (spec §3.7). A component below an explicitly
//!   included one can be chosen alone only when it is selectable for restore; otherwise that is
//!   reported, not guessed.
//! * Files no writer claims are restored "the traditional way" (plain copy). Files claimed only
//!   by components that are not selected are left out, with that reason.
//! * Restore method × target (spec §3.2): writer errors — no or an unrecognised method on a
//!   writer with components, UNDEFINED target, TO_ALTERNATE_LOCATION/ALTERNATE without a mapping
//!   for a file set, new targets the writer does not support or that name no file set, DIRECTED
//!   without directed targets, bad partial-file ranges — are reported per component and that
//!   component's files are not planned.
//!
//! Performance: specs are indexed by directory in a trie over lower-cased path components
//! (volume components, then segments; literal filespecs of a directory in a hash map, wildcard
//! ones in a list, recursive ones separately). The trie holds only the specs' directories, so
//! each catalog path costs one split into reused buffers, one lower-casing, and a walk over its
//! own directory segments that stops at the first one no spec lies under: about
//! `files × (directory depth + wildcards that apply)`, with no per-path cache and no
//! allocation per path beyond what a disposition carries.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use thiserror::Error;

use crate::bcd::{BackupComponents, BcdComponent, RestoreState};
use crate::enums::{RestoreMethod, RestoreTarget, WriterRestore};
use crate::flags::BackupSchema;
use crate::guid::Guid;
use crate::ranges::{PartialRanges, classify_ranges};
use crate::wildcard::Pattern;
use crate::wmd::WriterMetadata;

// ---------------------------------------------------------------------------------------------
// Environment

/// Environment variables for `%VAR%` expansion; names are case-insensitive.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: HashMap<String, String>,
}

/// A `%VAR%` that the environment does not define.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown environment variable %{name}% in {path:?}")]
pub struct UnknownVariable {
    /// The variable name as written.
    pub name: String,
    /// The path that uses it.
    pub path: String,
}

impl Environment {
    /// An empty environment.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Defines (or replaces) a variable.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.vars.insert(name.to_lowercase(), value.to_owned());
        self
    }

    /// The usual variables of a Windows installation on `system_drive` (e.g. `C:`):
    /// SystemDrive, SystemRoot, WinDir, ProgramData, ProgramFiles, ProgramFiles(x86),
    /// AllUsersProfile. These are defaults, not facts about the backed-up host.
    #[must_use]
    pub fn windows_defaults(system_drive: &str) -> Self {
        let d = system_drive.trim_end_matches('\\');
        let mut env = Self::new();
        env.set("SystemDrive", d)
            .set("SystemRoot", &format!("{d}\\Windows"))
            .set("WinDir", &format!("{d}\\Windows"))
            .set("ProgramData", &format!("{d}\\ProgramData"))
            .set("AllUsersProfile", &format!("{d}\\ProgramData"))
            .set("ProgramFiles", &format!("{d}\\Program Files"))
            .set("ProgramFiles(x86)", &format!("{d}\\Program Files (x86)"));
        env
    }

    /// Looks a variable up (case-insensitive).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(&name.to_lowercase()).map(String::as_str)
    }

    /// Expands every `%NAME%`. `%%` is a literal `%`; a `%` without a closing one is literal.
    pub fn expand(&self, path: &str) -> Result<String, UnknownVariable> {
        let mut out = String::with_capacity(path.len());
        let mut rest = path;
        while let Some(open) = rest.find('%') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('%') else {
                out.push_str(&rest[open..]);
                return Ok(out);
            };
            let name = &after[..close];
            if name.is_empty() {
                out.push('%');
            } else {
                match self.get(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        return Err(UnknownVariable {
                            name: name.to_owned(),
                            path: path.to_owned(),
                        });
                    }
                }
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------
// Paths

/// A path split for matching: a volume key (lower case: `c:`, `volume{guid}`,
/// `\\server\share`, or empty for volume-relative paths) and its segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitPath<'a> {
    /// The volume key, lower case; empty for a volume-relative path.
    pub volume: String,
    /// The segments after the volume, as written (case kept).
    pub segments: Vec<&'a str>,
}

/// Splits a Windows path (see the module docs for what is normalised).
#[must_use]
pub fn split_path(path: &str) -> SplitPath<'_> {
    let mut volume = String::new();
    let mut ranges = Vec::new();
    split_ranges(path, &mut volume, &mut ranges);
    SplitPath {
        volume,
        segments: ranges.iter().map(|&(a, b)| &path[a..b]).collect(),
    }
}

/// [`split_path`] into caller-owned buffers (cleared first): the volume key, and each segment
/// as a byte range of `path`. The catalog loop uses this so that it allocates nothing per path.
fn split_ranges(path: &str, volume: &mut String, out: &mut Vec<(usize, usize)>) {
    volume.clear();
    out.clear();
    // `trim` only when an end is not plainly an ASCII graphic character (the common case).
    let plain = |b: Option<&u8>| b.is_some_and(u8::is_ascii_graphic);
    let (p, p_at) = if plain(path.as_bytes().first()) && plain(path.as_bytes().last()) {
        (path, 0)
    } else {
        let t = path.trim_start();
        (t.trim_end(), path.len() - t.len())
    };
    let mut rest = p;
    let mut rest_at = p_at;
    for prefix in [r"\\?\", r"\??\", r"\\.\", "//?/", "//./"] {
        if let Some(r) = rest.strip_prefix(prefix) {
            rest = r;
            rest_at += prefix.len();
            if r.get(..4)
                .is_some_and(|h| h.eq_ignore_ascii_case(r"unc\") || h.eq_ignore_ascii_case("unc/"))
            {
                unc_split(path, &r[4..], rest_at + 4, volume, out);
                return;
            }
            break;
        }
    }
    let is_sep = |c: char| c == '\\' || c == '/';
    if rest.len() == p.len() && (p.starts_with(r"\\") || p.starts_with("//")) {
        unc_split(path, &p[2..], p_at + 2, volume, out);
        return;
    }
    let bytes = rest.as_bytes();
    let (tail, tail_at) = if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic()
    {
        volume.push(char::from(bytes[0].to_ascii_lowercase()));
        volume.push(':');
        (&rest[2..], rest_at + 2)
    } else if rest
        .get(..7)
        .is_some_and(|h| h.eq_ignore_ascii_case("volume{"))
    {
        let end = rest.find(is_sep).unwrap_or(rest.len());
        push_lower(volume, &rest[..end]);
        (&rest[end..], rest_at + end)
    } else {
        (rest, rest_at)
    };
    segments(tail, tail_at, out);
}

fn unc_split(
    path: &str,
    after: &str,
    after_at: usize,
    volume: &mut String,
    out: &mut Vec<(usize, usize)>,
) {
    segments(after, after_at, out);
    volume.push_str(r"\\");
    let n = out.len().min(2);
    for (i, &(a, b)) in out[..n].iter().enumerate() {
        if i > 0 {
            volume.push('\\');
        }
        push_lower(volume, &path[a..b]);
    }
    out.drain(..n);
}

/// The segments of `tail` (which starts at byte `at` of the path), as byte ranges of the path:
/// empty and `.` segments dropped, `..` removing the one before.
fn segments(tail: &str, at: usize, out: &mut Vec<(usize, usize)>) {
    let bytes = tail.as_bytes();
    let mut start = 0;
    let mut segment = |start: usize, end: usize| match &bytes[start..end] {
        b"" | b"." => {}
        b".." => {
            out.pop();
        }
        _ => out.push((at + start, at + end)),
    };
    // Separators are ASCII (so every cut is a char boundary); find them eight bytes at a time.
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let mut seps = zero_bytes(w ^ (u64::from(b'\\') * LOW_BYTES))
            | zero_bytes(w ^ (u64::from(b'/') * LOW_BYTES));
        while seps != 0 {
            let j = i + (seps.trailing_zeros() / 8) as usize;
            segment(start, j);
            start = j + 1;
            seps &= seps - 1;
        }
        i += 8;
    }
    for (j, &b) in bytes.iter().enumerate().skip(i) {
        if b == b'\\' || b == b'/' {
            segment(start, j);
            start = j + 1;
        }
    }
    segment(start, bytes.len());
}

const LOW_BYTES: u64 = 0x0101_0101_0101_0101;

/// The high bit of each byte of `x` that is zero (exact: no carries between bytes).
fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    !(((x & LOW7) + LOW7) | x) & !LOW7
}

fn lower_join(segs: &[&str]) -> String {
    let mut s = String::new();
    for (i, seg) in segs.iter().enumerate() {
        if i > 0 {
            s.push('\\');
        }
        push_lower(&mut s, seg);
    }
    s
}

fn push_lower(out: &mut String, s: &str) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
    } else {
        out.push_str(&s.to_lowercase());
    }
}

fn abs_key(volume: &str, rel: &str) -> String {
    if rel.is_empty() {
        volume.to_owned()
    } else {
        format!("{volume}\\{rel}")
    }
}

/// Whether logical path `path` is `ancestor` or lies below it, segment by segment and
/// case-insensitively (`a\bc` is not under `a\b`).
#[must_use]
pub fn is_under(path: &str, ancestor: &str) -> bool {
    let p = path.trim_matches('\\');
    let a = ancestor.trim_matches('\\');
    if a.is_empty() {
        return true;
    }
    if p.len() < a.len() || !p.is_char_boundary(a.len()) {
        return false;
    }
    let (head, tail) = p.split_at(a.len());
    head.eq_ignore_ascii_case(a) && (tail.is_empty() || tail.starts_with('\\'))
}

// ---------------------------------------------------------------------------------------------
// Inputs and outputs

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

/// The drive letter of a path (`C:\x` → `C:`; a volume-GUID path through `volumes`), upper
/// case; `None` when the path names none.
fn drive_of(path: &str, volumes: &HashMap<String, String>) -> Option<String> {
    let p = path.trim();
    let p = p
        .strip_prefix("\\\\?\\")
        .or_else(|| p.strip_prefix("\\??\\"))
        .unwrap_or(p);
    let b = p.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Some(p[..2].to_ascii_uppercase());
    }
    let head = p.split(['\\', '/']).next()?.to_ascii_lowercase();
    volumes.get(&head).map(|d| d.to_ascii_uppercase())
}

/// Whether a file set path can name files on a local volume: no `.` or `..` component (it
/// would climb out of the folder the writer names), and no UNC or device path other than a
/// volume-GUID path (`\\?\Volume{…}\`, matched through the volume map).
fn is_sound_path(p: &str) -> bool {
    let unc = p.starts_with("\\\\") || p.starts_with("//");
    let volume_guid = p
        .get(..11)
        .is_some_and(|h| h.eq_ignore_ascii_case("\\\\?\\Volume{"));
    (!unc || volume_guid) && p.split(['\\', '/']).all(|c| c != "." && c != "..")
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

// ---------------------------------------------------------------------------------------------
// Generation

/// A small multiplicative hasher for the per-directory caches (keys are our own normalised
/// strings or catalog text; SipHash's flooding resistance is not worth its cost here).
#[derive(Default, Clone, Copy)]
struct FastHash;

struct FastHasher(u64);

const FAST_K: u64 = 0x517c_c1b7_2722_0a95;

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

impl std::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(FAST_K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(FAST_K);
        }
    }
    fn write_u8(&mut self, b: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(FAST_K);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Who a spec belongs to.
#[derive(Debug, Clone, Copy)]
enum Owner {
    Exclusion(usize),
    FileSet {
        writer: usize,
        component: usize,
        file_set: usize,
    },
}

struct Spec {
    owner: Owner,
    pattern: Pattern,
    /// Number of segments of the spec's directory (for remapping).
    depth: usize,
    /// Planned component index, for file sets of components being restored.
    planned: Option<usize>,
    /// The expanded directory, kept for file sets of components being restored.
    expanded: Option<String>,
}

#[derive(Default)]
struct Bucket {
    here_literal: HashMap<String, Vec<u32>, FastHash>,
    here_wild: Vec<u32>,
    rec_literal: HashMap<String, Vec<u32>, FastHash>,
    rec_wild: Vec<u32>,
}

/// One directory of the spec index: a trie over lower-cased path components.
#[derive(Default)]
struct Node {
    children: HashMap<Box<str>, u32, FastHash>,
    bucket: Option<u32>,
}

/// Root of the trie of absolute directories: below it come the components of the volume key
/// (split at `\`), then the directory's segments. Splitting the volume too keeps keys that
/// are equal as `volume\rel` text equal here (a volume map may name `D:\Mount`).
const ABS_ROOT: u32 = 0;
/// Root of the trie of volume-relative directories (the root directory of every volume).
const REL_ROOT: u32 = 1;

/// Specs by directory. The trie holds only the specs' directories (a few thousand nodes), so a
/// catalog path costs one short walk over its own segments and no per-path cache.
struct Index {
    specs: Vec<Spec>,
    buckets: Vec<Bucket>,
    nodes: Vec<Node>,
}

impl Index {
    fn new() -> Self {
        Self {
            specs: Vec::new(),
            buckets: Vec::new(),
            nodes: vec![Node::default(), Node::default()],
        }
    }

    fn child_or_insert(&mut self, node: u32, component: &str) -> u32 {
        if let Some(&c) = self.nodes[node as usize].children.get(component) {
            return c;
        }
        let c = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        self.nodes.push(Node::default());
        self.nodes[node as usize]
            .children
            .insert(component.into(), c);
        c
    }

    fn add(&mut self, path: &str, spec: Spec, recursive: bool, volumes: &HashMap<String, String>) {
        let split = split_path(path);
        let volume = canonical_volume(split.volume, volumes);
        let id = u32::try_from(self.specs.len()).unwrap_or(u32::MAX);
        let literal = spec.pattern.literal().map(str::to_owned);
        self.specs.push(Spec {
            depth: split.segments.len(),
            ..spec
        });
        let mut node = if volume.is_empty() {
            REL_ROOT
        } else {
            let mut n = ABS_ROOT;
            for c in volume.split('\\') {
                n = self.child_or_insert(n, c);
            }
            n
        };
        let mut low = String::new();
        for seg in &split.segments {
            low.clear();
            push_lower(&mut low, seg);
            node = self.child_or_insert(node, &low);
        }
        let b = if let Some(b) = self.nodes[node as usize].bucket {
            b
        } else {
            let b = u32::try_from(self.buckets.len()).unwrap_or(u32::MAX);
            self.buckets.push(Bucket::default());
            self.nodes[node as usize].bucket = Some(b);
            b
        };
        let bucket = &mut self.buckets[b as usize];
        match (literal, recursive) {
            (Some(l), false) => bucket.here_literal.entry(l).or_default().push(id),
            (None, false) => bucket.here_wild.push(id),
            (Some(l), true) => bucket.rec_literal.entry(l).or_default().push(id),
            (None, true) => bucket.rec_wild.push(id),
        }
    }

    /// The abs-trie node of a volume key (`None` for no volume, or one no spec is on).
    fn volume_node(&self, volume: &str) -> Option<u32> {
        if volume.is_empty() {
            return None;
        }
        let mut node = ABS_ROOT;
        for c in volume.split('\\') {
            node = *self.nodes[node as usize].children.get(c)?;
        }
        Some(node)
    }

    /// Buckets relevant to a directory, into `out`: (bucket, whether the directory *is* the
    /// bucket's). `abs` is the node of the directory's volume ([`Self::volume_node`]); the
    /// directory's segments, lower-cased, are `low` at `dirs`.
    fn relevant(
        &self,
        abs: Option<u32>,
        low: &str,
        dirs: &[(usize, usize)],
        out: &mut Vec<(u32, bool)>,
    ) {
        out.clear();
        if let Some(n) = abs {
            self.walk(n, low, dirs, out);
        }
        self.walk(REL_ROOT, low, dirs, out);
    }

    fn walk(&self, mut node: u32, low: &str, dirs: &[(usize, usize)], out: &mut Vec<(u32, bool)>) {
        for depth in 0..=dirs.len() {
            let n = &self.nodes[node as usize];
            if let Some(b) = n.bucket {
                out.push((b, depth == dirs.len()));
            }
            let Some(&(a, b)) = dirs.get(depth) else {
                break;
            };
            match n.children.get(&low[a..b]) {
                Some(&c) => node = c,
                None => break,
            }
        }
    }
}

fn canonical_volume(volume: String, volumes: &HashMap<String, String>) -> String {
    match volumes.get(&volume) {
        Some(drive) => drive.clone(),
        None => volume,
    }
}

/// A selected unit: a component set to restore.
struct Unit {
    writer: usize,
    bcd: Option<(usize, usize)>,
    root_component: usize,
    subcomponent: bool,
}

/// Generates the restore set for `catalog`.
pub fn generate(
    input: &RestoreSetInput<'_>,
    catalog: &[CatalogEntry<'_>],
) -> Result<RestorePlan, RestoreSetError> {
    let volumes: HashMap<String, String> = input
        .volumes
        .iter()
        .map(|(g, d)| {
            (
                format!("volume{{{g}}}"),
                d.trim_end_matches('\\').to_ascii_lowercase(),
            )
        })
        .collect();
    let catalog_drives: std::collections::HashSet<String> = catalog
        .iter()
        .filter_map(|e| drive_of(e.path, &volumes))
        .collect();

    let mut components: Vec<PlannedComponent> = Vec::new();
    // (writer, component) → planned index, for members of selected sets.
    let mut member_of: HashMap<(usize, usize), usize> = HashMap::new();

    // 1. Which WMD each BCD writer is; explicit (backed-up) components.
    let mut explicit: Vec<(usize, usize, usize, usize)> = Vec::new(); // (bcd w, bcd c, wmd, comp)
    // BCD components that cannot be planned, with their paths: reported only when selected
    // (all of them when nothing is selected), never processed.
    let mut problems: Vec<(String, PlannedComponent)> = Vec::new();
    for (bw, w) in input.bcd.writers.iter().enumerate() {
        let wmd = find_wmd(input.writers, w.instance_id, w.writer_id);
        for (bc, c) in w.components.iter().enumerate() {
            let Some(wi) = wmd else {
                problems.push((
                    c.full_path(),
                    problem_component(
                        w.instance_name
                            .clone()
                            .unwrap_or_else(|| w.writer_id.to_string()),
                        Some(w.writer_id),
                        c,
                        WriterProblem::NoWriterMetadata,
                    ),
                ));
                continue;
            };
            let doc = &input.writers[wi];
            let found = doc
                .components
                .iter()
                .position(|x| x.full_path().eq_ignore_ascii_case(&c.full_path()));
            match found {
                Some(ci) => explicit.push((bw, bc, wi, ci)),
                None => problems.push((
                    c.full_path(),
                    problem_component(
                        doc.display_name(),
                        Some(w.writer_id),
                        c,
                        WriterProblem::ComponentNotInMetadata,
                    ),
                )),
            }
        }
    }

    // 2. The selection.
    let mut units: Vec<Unit> = Vec::new();
    let selected_problem = |path: &str| {
        input.selection.is_empty()
            || input
                .selection
                .iter()
                .any(|sel| is_under(path, sel.trim().trim_matches('\\')))
    };
    if input.selection.is_empty() {
        let marked: Vec<_> = explicit
            .iter()
            .filter(|(bw, bc, _, _)| {
                restore_state(input.bcd, *bw, *bc).is_some_and(|r| r.selected_for_restore.is_some())
            })
            .collect();
        let any_marked = !marked.is_empty();
        for &(bw, bc, wi, ci) in &explicit {
            let state = restore_state(input.bcd, bw, bc);
            if any_marked && state.and_then(|r| r.selected_for_restore) != Some(true) {
                continue;
            }
            let subs = state
                .map(|r| r.subcomponents.as_slice())
                .unwrap_or_default();
            if subs.is_empty() {
                units.push(Unit {
                    writer: wi,
                    bcd: Some((bw, bc)),
                    root_component: ci,
                    subcomponent: false,
                });
            }
            for s in subs {
                let path = crate::wmd::full_path(s.logical_path.as_deref(), &s.component_name);
                select_subcomponent(input, &mut units, &mut components, (bw, bc, wi, ci), &path);
            }
        }
    } else {
        for sel in input.selection {
            let sel_t = sel.trim().trim_matches('\\');
            let mut hit = false;
            for &(bw, bc, wi, ci) in &explicit {
                let path = input.writers[wi].components[ci].full_path();
                if is_under(&path, sel_t) {
                    hit = true;
                    units.push(Unit {
                        writer: wi,
                        bcd: Some((bw, bc)),
                        root_component: ci,
                        subcomponent: false,
                    });
                }
            }
            if hit {
                continue;
            }
            // A component inside the set of an explicitly included one.
            for &e in &explicit {
                let (_, _, wi, ci) = e;
                let root = input.writers[wi].components[ci].full_path();
                if is_under(sel_t, &root)
                    && input.writers[wi]
                        .components
                        .iter()
                        .any(|c| c.full_path().eq_ignore_ascii_case(sel_t))
                {
                    hit = true;
                    select_subcomponent(input, &mut units, &mut components, e, sel_t);
                    break;
                }
            }
            if !hit && !problems.iter().any(|(p, _)| is_under(p, sel_t)) {
                return Err(RestoreSetError::SelectionNotFound {
                    selection: sel.clone(),
                });
            }
        }
    }
    components.extend(
        problems
            .into_iter()
            .filter(|(p, _)| selected_problem(p))
            .map(|(_, c)| c),
    );

    // 3. Members of each unit's set; deeper units claim their own members.
    units.sort_by_key(|u| {
        input.writers[u.writer].components[u.root_component]
            .full_path()
            .matches('\\')
            .count()
    });
    for u in &units {
        let doc = &input.writers[u.writer];
        let root = doc.components[u.root_component].full_path();
        let state = u.bcd.and_then(|(bw, bc)| restore_state(input.bcd, bw, bc));
        for (ci, c) in doc.components.iter().enumerate() {
            if !is_under(&c.full_path(), &root) {
                continue;
            }
            let planned = plan_component(input, u, ci, &root, state);
            let idx = components.len();
            components.push(planned);
            if let Some(old) = member_of.insert((u.writer, ci), idx) {
                // A deeper set took over; the shallower entry keeps no files.
                let _ = old;
            }
        }
    }

    // 4. Index every exclusion and every file set.
    let mut index = Index::new();
    let mut exclusions = Vec::new();
    for (wi, doc) in input.writers.iter().enumerate() {
        let name = doc.display_name();
        for (element, list) in [
            ("EXCLUDE_FILES", &doc.excludes),
            ("EXCLUDE_FILES_FROM_SNAPSHOT", &doc.excludes_from_snapshot),
        ] {
            for x in list {
                let path = input.env.expand(&x.path).map_err(|source| {
                    RestoreSetError::UnknownVariable {
                        writer: name.clone(),
                        source,
                    }
                })?;
                let id = exclusions.len();
                exclusions.push(ExclusionRef {
                    writer: name.clone(),
                    element,
                    path: x.path.clone(),
                    filespec: x.filespec.clone(),
                    recursive: x.is_recursive(),
                });
                index.add(
                    &path,
                    Spec {
                        owner: Owner::Exclusion(id),
                        pattern: Pattern::new(&x.filespec),
                        depth: 0,
                        planned: None,
                        expanded: None,
                    },
                    x.is_recursive(),
                    &volumes,
                );
            }
        }
        let _ = wi;
    }
    for (wi, doc) in input.writers.iter().enumerate() {
        for (ci, c) in doc.components.iter().enumerate() {
            for (fi, f) in c.file_sets.iter().enumerate() {
                let path = input.env.expand(&f.path).map_err(|source| {
                    RestoreSetError::UnknownVariable {
                        writer: doc.display_name(),
                        source,
                    }
                })?;
                let planned = member_of.get(&(wi, ci)).copied();
                // (A catalog with no file at all is a plan without a backup: nothing to compare.)
                if let Some(pi) = planned
                    && !catalog_drives.is_empty()
                    && let Some(drive) = drive_of(&path, &volumes)
                    && !catalog_drives.contains(&drive)
                {
                    let problem = WriterProblem::FileSetOnAbsentDrive {
                        expanded: path.clone(),
                        drive,
                    };
                    if !components[pi].problems.contains(&problem) {
                        components[pi].problems.push(problem);
                    }
                    continue;
                }
                if let Some(pi) = planned
                    && !is_sound_path(&path)
                {
                    let problem = WriterProblem::InvalidFileSetPath {
                        path: f.path.clone(),
                        expanded: path.clone(),
                    };
                    if !components[pi].problems.contains(&problem) {
                        components[pi].problems.push(problem);
                    }
                    continue;
                }
                index.add(
                    &path,
                    Spec {
                        owner: Owner::FileSet {
                            writer: wi,
                            component: ci,
                            file_set: fi,
                        },
                        pattern: Pattern::new(&f.filespec),
                        depth: 0,
                        planned,
                        expanded: planned.map(|_| path.clone()),
                    },
                    f.is_recursive(),
                    &volumes,
                );
            }
        }
    }

    // The restore state each planned component obeys (that of the component it was selected as).
    let states: Vec<Option<&RestoreState>> =
        components.iter().map(|pc| pc_state(input, pc)).collect();

    // Partial files and directed targets per planned component (normalised keys).
    let mut partial: HashMap<(usize, String), PartialRanges> = HashMap::new();
    let mut directed: HashMap<(usize, String), (String, String, String)> = HashMap::new();
    for (pi, pc) in components.iter_mut().enumerate() {
        let Some(state) = states[pi] else {
            continue;
        };
        for p in &state.partial_files {
            let key = file_key(&format!("{}\\{}", p.path, p.filename), &volumes);
            match classify_ranges(&p.ranges) {
                Ok(r) => {
                    partial.insert((pi, key), r);
                }
                Err(e) => pc.problems.push(WriterProblem::BadPartialRanges {
                    file: format!("{}\\{}", p.path.trim_end_matches('\\'), p.filename),
                    error: e.to_string(),
                }),
            }
        }
        for d in &state.directed_targets {
            let key = file_key(
                &format!("{}\\{}", d.source_path, d.source_filename),
                &volumes,
            );
            let dest = format!(
                "{}\\{}",
                d.destination_path.trim_end_matches('\\'),
                d.destination_filename
            );
            directed.insert(
                (pi, key),
                (dest, d.source_ranges.clone(), d.destination_ranges.clone()),
            );
        }
    }

    // 5. Every catalog file: split it (into reused buffers), walk the spec trie along its
    // directory, then look its name up in the buckets found.
    let mut files = Vec::with_capacity(catalog.len());
    let mut short_buf = String::new();
    let mut volume_buf = String::new();
    // The path's segments as byte ranges of the path; lower-cased, as ranges of `low`.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut low = String::new();
    let mut low_ranges: Vec<(usize, usize)> = Vec::new();
    let mut relevant: Vec<(u32, bool)> = Vec::new();
    let mut segs: Vec<&str> = Vec::new();
    // The abs-trie node of the last volume seen (catalogs rarely change volume).
    let mut last_volume = String::new();
    let mut last_node = index.volume_node(&last_volume);
    for entry in catalog {
        split_ranges(entry.path, &mut volume_buf, &mut ranges);
        if ranges.is_empty() {
            files.push(Disposition::Traditional);
            continue;
        }
        low.clear();
        low_ranges.clear();
        if entry.path.is_ascii() {
            // ASCII lower-casing keeps every byte in place: lower the whole path once.
            low.push_str(entry.path);
            low.make_ascii_lowercase();
            low_ranges.extend_from_slice(&ranges);
        } else {
            for &(a, b) in &ranges {
                let start = low.len();
                push_lower(&mut low, &entry.path[a..b]);
                low_ranges.push((start, low.len()));
            }
        }
        let Some((&(name_a, name_b), dir_ranges)) = low_ranges.split_last() else {
            files.push(Disposition::Traditional);
            continue;
        };
        let name_lower = &low[name_a..name_b];
        let volume = volumes
            .get(volume_buf.as_str())
            .map_or(volume_buf.as_str(), String::as_str);
        if volume != last_volume {
            volume.clone_into(&mut last_volume);
            last_node = index.volume_node(volume);
        }
        index.relevant(last_node, &low, dir_ranges, &mut relevant);
        short_buf.clear();
        if let Some(s) = entry.short_name {
            push_lower(&mut short_buf, s);
        }
        let mut best_excl: Option<u32> = None;
        let mut best_sel: Option<u32> = None;
        let mut best_any: Option<u32> = None;
        let mut consider = |id: u32| {
            let spec = &index.specs[id as usize];
            let slot = match spec.owner {
                Owner::Exclusion(_) => &mut best_excl,
                Owner::FileSet { .. } if spec.planned.is_some() => &mut best_sel,
                Owner::FileSet { .. } => &mut best_any,
            };
            if slot.is_none_or(|b| id < b) {
                *slot = Some(id);
            }
        };
        for &(b, here) in &relevant {
            let bucket = &index.buckets[b as usize];
            let mut scan = |lit: &HashMap<String, Vec<u32>, FastHash>, wild: &[u32]| {
                if let Some(ids) = lit.get(name_lower) {
                    for &i in ids {
                        consider(i);
                    }
                }
                if !short_buf.is_empty()
                    && let Some(ids) = lit.get(short_buf.as_str())
                {
                    for &i in ids {
                        consider(i);
                    }
                }
                for &i in wild {
                    let p = &index.specs[i as usize].pattern;
                    if p.matches_lower(name_lower)
                        || (!short_buf.is_empty() && p.matches_lower(&short_buf))
                    {
                        consider(i);
                    }
                }
            };
            if here {
                scan(&bucket.here_literal, &bucket.here_wild);
            }
            scan(&bucket.rec_literal, &bucket.rec_wild);
        }
        let disposition = if let Some(x) = best_excl {
            match index.specs[x as usize].owner {
                Owner::Exclusion(e) => Disposition::Excluded { exclusion: e },
                Owner::FileSet { .. } => Disposition::Traditional,
            }
        } else if let Some(s) = best_sel {
            let spec = &index.specs[s as usize];
            if let (
                Owner::FileSet {
                    writer,
                    component,
                    file_set,
                },
                Some(pi),
            ) = (spec.owner, spec.planned)
                && components[pi].problems.is_empty()
            {
                components[pi].files += 1;
                let base = spec.expanded.as_deref().unwrap_or_default();
                let key = if partial.is_empty() && directed.is_empty() {
                    String::new()
                } else {
                    file_key(entry.path, &volumes)
                };
                segs.clear();
                segs.extend(ranges.iter().map(|&(a, b)| &entry.path[a..b]));
                let pos = Placement {
                    input,
                    writer,
                    component,
                    file_set,
                    expanded_path: base,
                    depth: spec.depth,
                    segments: &segs,
                };
                let (destination, fallback) = destination(
                    &pos,
                    &components[pi],
                    states[pi],
                    directed.get(&(pi, key.clone())),
                );
                Disposition::Restore {
                    component: pi,
                    file_set,
                    destination,
                    fallback,
                    partial: partial.get(&(pi, key)).cloned().map(Box::new),
                }
            } else {
                Disposition::WriterError {
                    component: spec.planned.unwrap_or_default(),
                }
            }
        } else if let Some(a) = best_any {
            match index.specs[a as usize].owner {
                Owner::FileSet {
                    writer, component, ..
                } => Disposition::NotSelected {
                    writer: input.writers[writer].display_name(),
                    component: input.writers[writer].components[component].full_path(),
                },
                Owner::Exclusion(_) => Disposition::Traditional,
            }
        } else {
            Disposition::Traditional
        };
        files.push(disposition);
    }

    Ok(RestorePlan {
        components,
        files,
        exclusions,
    })
}

fn file_key(path: &str, volumes: &HashMap<String, String>) -> String {
    let s = split_path(path);
    let volume = canonical_volume(s.volume, volumes);
    abs_key(&volume, &lower_join(&s.segments))
}

fn find_wmd(writers: &[WriterMetadata], instance: Option<Guid>, writer: Guid) -> Option<usize> {
    if let Some(inst) = instance
        && let Some(i) = writers.iter().position(|w| {
            w.identification
                .as_ref()
                .is_some_and(|id| id.instance_id == Some(inst))
        })
    {
        return Some(i);
    }
    let mut same = writers.iter().enumerate().filter(|(_, w)| {
        w.identification
            .as_ref()
            .is_some_and(|id| id.writer_id == writer)
    });
    match (same.next(), same.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

fn restore_state(bcd: &BackupComponents, bw: usize, bc: usize) -> Option<&RestoreState> {
    bcd.writers.get(bw)?.components.get(bc)?.restore.as_ref()
}

fn problem_component(
    writer: String,
    writer_id: Option<Guid>,
    c: &BcdComponent,
    problem: WriterProblem,
) -> PlannedComponent {
    PlannedComponent {
        writer,
        writer_id,
        writer_index: None,
        component_index: None,
        component: c.full_path(),
        selected_as: c.full_path(),
        subcomponent: false,
        method: RestoreMethod::Undefined,
        writer_restore: WriterRestore::Undefined,
        reboot_required: false,
        target: RestoreTarget::Original,
        problems: vec![problem],
        files: 0,
    }
}

fn select_subcomponent(
    input: &RestoreSetInput<'_>,
    units: &mut Vec<Unit>,
    components: &mut Vec<PlannedComponent>,
    (bw, bc, wi, _ci): (usize, usize, usize, usize),
    path: &str,
) {
    let doc = &input.writers[wi];
    let Some(sub) = doc
        .components
        .iter()
        .position(|c| c.full_path().eq_ignore_ascii_case(path))
    else {
        let bcd_c = &input.bcd.writers[bw].components[bc];
        let mut pc = problem_component(
            doc.display_name(),
            doc.identification.as_ref().map(|i| i.writer_id),
            bcd_c,
            WriterProblem::ComponentNotInMetadata,
        );
        path.clone_into(&mut pc.component);
        pc.subcomponent = true;
        components.push(pc);
        return;
    };
    if doc.components[sub].is_selectable_for_restore() {
        units.push(Unit {
            writer: wi,
            bcd: Some((bw, bc)),
            root_component: sub,
            subcomponent: true,
        });
    } else {
        let bcd_c = &input.bcd.writers[bw].components[bc];
        let mut pc = problem_component(
            doc.display_name(),
            doc.identification.as_ref().map(|i| i.writer_id),
            bcd_c,
            WriterProblem::NotSelectableForRestore,
        );
        pc.component = doc.components[sub].full_path();
        pc.subcomponent = true;
        pc.writer_index = Some(wi);
        pc.component_index = Some(sub);
        components.push(pc);
    }
}

fn pc_state<'a>(input: &RestoreSetInput<'a>, pc: &PlannedComponent) -> Option<&'a RestoreState> {
    let wi = pc.writer_index?;
    let doc = &input.writers[wi];
    let id = doc.identification.as_ref()?;
    // The state lives on the BCD component the set was selected as.
    input.bcd.writers.iter().find_map(|w| {
        let same = w
            .instance_id
            .map_or(w.writer_id == id.writer_id, |i| Some(i) == id.instance_id);
        if !same {
            return None;
        }
        w.components
            .iter()
            .find(|c| c.full_path().eq_ignore_ascii_case(&pc.selected_as))
            .and_then(|c| c.restore.as_ref())
    })
}

fn same_set(a_path: &str, a_spec: &str, a_rec: bool, f: &crate::wmd::FileSet) -> bool {
    a_path
        .trim_end_matches('\\')
        .eq_ignore_ascii_case(f.path.trim_end_matches('\\'))
        && a_spec.eq_ignore_ascii_case(&f.filespec)
        && a_rec == f.is_recursive()
}

fn plan_component(
    input: &RestoreSetInput<'_>,
    u: &Unit,
    ci: usize,
    root: &str,
    state: Option<&RestoreState>,
) -> PlannedComponent {
    let doc = &input.writers[u.writer];
    let c = &doc.components[ci];
    let rm = doc.restore_method.as_ref();
    let method = doc.method();
    let writer_restore = rm.map_or(WriterRestore::Undefined, |r| r.writer_restore.clone());
    let target = state
        .and_then(|s| s.restore_target.clone())
        .unwrap_or(RestoreTarget::Original);
    let mut problems = Vec::new();
    match &method {
        RestoreMethod::Undefined => problems.push(WriterProblem::UndefinedMethod),
        RestoreMethod::Unrecognised(m) => {
            problems.push(WriterProblem::UnrecognisedMethod(m.clone()));
        }
        _ => {}
    }
    if rm.is_some()
        && !matches!(
            writer_restore,
            WriterRestore::Never | WriterRestore::IfReplaceFails | WriterRestore::Always
        )
    {
        problems.push(WriterProblem::BadWriterRestore(
            writer_restore.as_xml().to_owned(),
        ));
    }
    match &target {
        RestoreTarget::Undefined => problems.push(WriterProblem::UndefinedTarget),
        RestoreTarget::Unrecognised(t) => {
            problems.push(WriterProblem::UnrecognisedTarget(t.clone()));
        }
        RestoreTarget::Directed if state.is_none_or(|s| s.directed_targets.is_empty()) => {
            problems.push(WriterProblem::DirectedWithoutTargets);
        }
        _ => {}
    }
    if needs_mapping(&method, &target) {
        for f in &c.file_sets {
            let mapped = doc
                .alternate_mappings
                .iter()
                .any(|m| same_set(&m.path, &m.filespec, m.recursive.unwrap_or(false), f));
            if !mapped {
                problems.push(WriterProblem::NoAlternateMapping {
                    path: f.path.clone(),
                    filespec: f.filespec.clone(),
                });
            }
        }
    }
    if let Some(s) = state {
        let supports = doc
            .backup_schema
            .is_some_and(|b| b.contains(BackupSchema::WRITER_SUPPORTS_NEW_TARGET));
        // New targets of the set-defining component; each must name a file set of the set.
        let set_files: Vec<&crate::wmd::FileSet> = doc
            .components
            .iter()
            .filter(|x| is_under(&x.full_path(), root))
            .flat_map(|x| x.file_sets.iter())
            .collect();
        for t in &s.new_targets {
            if !supports && !problems.contains(&WriterProblem::NewTargetNotSupported) {
                problems.push(WriterProblem::NewTargetNotSupported);
            }
            let rec = t.recursive.unwrap_or(false);
            if !set_files
                .iter()
                .any(|f| same_set(&t.path, &t.filespec, rec, f))
            {
                problems.push(WriterProblem::NewTargetWithoutFileSet {
                    path: t.path.clone(),
                    filespec: t.filespec.clone(),
                });
            }
        }
    }
    PlannedComponent {
        writer: doc.display_name(),
        writer_id: doc.identification.as_ref().map(|i| i.writer_id),
        writer_index: Some(u.writer),
        component_index: Some(ci),
        component: c.full_path(),
        selected_as: if u.subcomponent {
            u.bcd.map_or_else(
                || root.to_owned(),
                |(bw, bc)| input.bcd.writers[bw].components[bc].full_path(),
            )
        } else {
            root.to_owned()
        },
        subcomponent: u.subcomponent,
        method,
        writer_restore,
        reboot_required: rm.and_then(|r| r.reboot_required).unwrap_or(false),
        target,
        problems,
        files: 0,
    }
}

fn needs_mapping(method: &RestoreMethod, target: &RestoreTarget) -> bool {
    matches!(target, RestoreTarget::Alternate)
        || (matches!(method, RestoreMethod::RestoreToAlternateLocation)
            && matches!(target, RestoreTarget::Original))
}

struct Placement<'a> {
    input: &'a RestoreSetInput<'a>,
    writer: usize,
    component: usize,
    file_set: usize,
    expanded_path: &'a str,
    depth: usize,
    segments: &'a [&'a str],
}

/// `base` + the file's path below its file set's directory (spec §3.6: the mapping replaces
/// the path prefix, keeping subdirectories and the file name).
fn remap(base: &str, p: &Placement<'_>) -> String {
    let _ = p.expanded_path;
    let mut out = base.trim_end_matches('\\').to_owned();
    for s in p.segments.iter().skip(p.depth) {
        out.push('\\');
        out.push_str(s);
    }
    out
}

fn destination(
    p: &Placement<'_>,
    pc: &PlannedComponent,
    state: Option<&RestoreState>,
    directed: Option<&(String, String, String)>,
) -> (Destination, Option<String>) {
    let doc = &p.input.writers[p.writer];
    let f = &doc.components[p.component].file_sets[p.file_set];
    if matches!(pc.target, RestoreTarget::Directed)
        && let Some((path, s, d)) = directed
    {
        return (
            Destination::Directed(Box::new(DirectedDestination {
                path: path.clone(),
                source_ranges: s.clone(),
                destination_ranges: d.clone(),
            })),
            None,
        );
    }
    if let Some(t) = state.and_then(|s| {
        s.new_targets
            .iter()
            .find(|t| same_set(&t.path, &t.filespec, t.recursive.unwrap_or(false), f))
    }) {
        return (Destination::NewTarget(remap(&t.alternate_path, p)), None);
    }
    let mapping = doc
        .alternate_mappings
        .iter()
        .find(|m| same_set(&m.path, &m.filespec, m.recursive.unwrap_or(false), f))
        .map(|m| remap(&m.alternate_path, p));
    if matches!(pc.target, RestoreTarget::OriginalLocation) {
        return (Destination::Original, None);
    }
    if needs_mapping(&pc.method, &pc.target) {
        if let Some(m) = mapping {
            return (Destination::AlternateMapping(m), None);
        }
        return (Destination::Original, None);
    }
    let fallback = matches!(
        pc.method,
        RestoreMethod::RestoreIfNotThere | RestoreMethod::RestoreIfCanReplace
    )
    .then_some(mapping)
    .flatten();
    (Destination::Original, fallback)
}
