//! Restore-set generation: which backed-up file goes where (docs/vss-restore.md §3.2, §3.6, §3.7) [D-RSET].
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
//!   whose logical path lies under its full path (docs/vss-restore.md §3.7). A component below an explicitly
//!   included one can be chosen alone only when it is selectable for restore; otherwise that is
//!   reported, not guessed.
//! * Files no writer claims are restored "the traditional way" (plain copy). Files claimed only
//!   by components that are not selected are left out, with that reason.
//! * Restore method × target (docs/vss-restore.md §3.2): writer errors — no or an unrecognised method on a
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

mod classify;
mod component;
mod env;
mod generate;
mod index;
mod matching;
mod paths;
mod plan;
mod select;

pub use env::{Environment, UnknownVariable};
pub use generate::generate;
pub use matching::{MismatchKind, WriterMismatch, unmatched_writers};
pub use paths::{SplitPath, is_under, split_path};
pub use plan::{
    CatalogEntry, Destination, DirectedDestination, Disposition, ExclusionRef, PlannedComponent,
    RestorePlan, RestoreSetError, RestoreSetInput, WriterProblem, parse_catalog,
};
