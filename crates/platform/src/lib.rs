//! The traits the rehydrate engines run on, and a host-directory implementation.
//!
//! * [`Volume`] / [`FileHandle`]: Windows file semantics over [`WinPath`]s — share modes,
//!   creation dispositions, positioned I/O from many threads, attributes, the sparse flag,
//!   reparse points, directories, renames and the "rename at reboot" list.
//! * [`Services`]: stop/start/query a service by name.
//! * [`Writers`]: the VSS PreRestore/PostRestore hooks.
//! * [`HostVolume`] (Unix): a host folder as a volume; reparse points in extended attributes.
//!
//! Errors are typed ([`Error`]) and name the path.

mod error;
#[cfg(unix)]
mod host;
mod path;
mod services;
mod volume;
mod writers;

pub use error::Error;
#[cfg(unix)]
pub use host::{
    ATTRIBUTES_XATTR, HostFile, HostVolume, MAX_REPARSE_BUFFER, PENDING_FILE, PendingOutcome,
    REPARSE_XATTR_SYSTEM, REPARSE_XATTR_USER, STATE_DIR,
};
pub use path::{MAX_COMPONENT_LEN, WinPath, eq_name};
pub use services::{ServiceError, ServiceState, Services};
pub use volume::{
    Access, DirEntry, Disposition, FileHandle, Metadata, OpenOptions, PendingRename, ShareMode,
    Volume, attr,
};
pub use writers::{
    ComponentRef, DirectedTargetChange, FileRestoreStatus, PreRestoreChanges, WriterError, Writers,
};
