//! The traits the rehydrate engines run on, and a host-directory implementation.
//!
//! * [`Volume`] / [`FileHandle`]: Windows file semantics over [`WinPath`]s — share modes,
//!   creation dispositions, positioned I/O from many threads, attributes, the sparse flag,
//!   reparse points, directories, renames and the "rename at reboot" list.
//! * [`reparse`] and [`ShareMode::conflict`]: the one home of Windows' rules for reparse
//!   buffers and share modes, which every volume implementation applies.
//! * [`Services`]: stop/start/query a service by name.
//! * [`Writers`]: the VSS PreRestore/PostRestore hooks.
//! * [`HostVolume`] (Unix): a host folder as a volume; reparse points in extended attributes.
//! * [`Source`]: the read-only tree a restore reads from; [`HostSource`] (Unix: a host folder
//!   or an ntfs-3g mount) and [`VolumeSource`] (any volume).
//! * [`NullVolume`]: a destination that keeps no data (verification runs).
//!
//! * `conformance` (feature `conformance`, for tests): the one suite every `Volume`
//!   implementation runs.
//!
//! Errors are typed ([`Error`]) and name the path.

#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
#[cfg(unix)]
mod host;
#[cfg(unix)]
mod host_source;
mod path;
pub mod reparse;
mod services;
mod sink;
mod source;
mod volume;
mod writers;

pub use error::Error;
#[cfg(unix)]
pub use host::{
    ATTRIBUTES_XATTR, HostFile, HostVolume, PENDING_FILE, PendingOutcome, REPARSE_XATTR_SYSTEM,
    REPARSE_XATTR_USER, STATE_DIR,
};
#[cfg(unix)]
pub use host_source::HostSource;
pub use path::{MAX_COMPONENT_LEN, WinPath, eq_name};
pub use reparse::MAX_REPARSE_BUFFER;
pub use services::{ServiceError, ServiceState, Services};
pub use sink::NullVolume;
pub use source::{EntryKind, Source, SourceEntry, SourceFile, Unsupported, VolumeSource};
pub use volume::{
    Access, DirEntry, Disposition, FileHandle, Metadata, OpenOptions, PendingRename, ShareMode,
    Volume, attr,
};
pub use writers::{
    ComponentRef, DirectedTargetChange, FileRestoreStatus, PreRestoreChanges, WriterError, Writers,
};
