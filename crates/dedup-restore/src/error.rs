//! [`FileError`]: why one file was not restored, typed from end to end. The HRESULT
//! ([`FileError::hresult`]), the human line (`Display`) and the fields a script wants
//! ([`FileError::container`], [`FileError::offset`], [`FileError::local_id`]) are all derived
//! from it; nothing is parsed back out of text.

use std::sync::Arc;

use dedup_reparse::ParseError;
use dedup_store::ContainerError;
use platform::{Unsupported, WinPath};

use crate::hresult::{Hresult, from_platform};
use crate::store::StoreError;

/// What was being done when a platform call failed ([`FileError::Platform`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// Reading the file's metadata or reparse point.
    ReadingStub,
    /// Creating the output (temporary) file or its folder.
    Creating,
    /// Writing decoded data.
    Writing {
        /// Offset in the file.
        offset: u64,
        /// Bytes being written.
        len: u64,
    },
    /// Finishing the file (sparse flag, attributes, rename into place).
    Finishing,
    /// Reading the source entry (a plain file being copied, a directory being listed).
    ReadingSource,
    /// Copying a file that is not a dedup file.
    Copying,
    /// Placing the output at its final path.
    Placing,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ReadingStub => f.write_str("reading the stub"),
            Self::Creating => f.write_str("cannot create the restore file"),
            Self::Writing { offset, len } => write!(f, "writing {len} bytes at {offset:#x}"),
            Self::Finishing => f.write_str("finishing the restored file"),
            Self::ReadingSource => f.write_str("reading the source"),
            Self::Copying => f.write_str("copying"),
            Self::Placing => f.write_str("output"),
        }
    }
}

/// Which kind of record a [`FileError::WrongRecord`] was looking for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// A stream-map record.
    StreamMap,
    /// A data-chunk record.
    Chunk,
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::StreamMap => "stream map",
            Self::Chunk => "chunk",
        })
    }
}

/// Why one file was not restored (or not copied). Its text does not repeat the file's path:
/// [`crate::FileResult::detail`] puts the two together.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// A platform call on the destination (or the staged stub) failed.
    #[error("{stage}: {source}")]
    Platform {
        /// What was being done.
        stage: Stage,
        /// The platform's error.
        #[source]
        source: Arc<platform::Error>,
    },
    /// The dedup reparse point does not parse.
    #[error("dedup reparse point: {0}")]
    Reparse(#[source] ParseError),
    /// The reparse point carries the dedup tag but the file has reparse data a restore cannot
    /// use as content (another filter's tag, or a buffer too short to hold a tag).
    #[error("reparse point with tag {tag}: not a dedup reparse point")]
    ForeignReparse {
        /// The tag, as read (`None`: the buffer is shorter than a tag).
        tag: ReparseTag,
    },
    /// The file is read-only, so the stub cannot be replaced.
    #[error(
        "the file is read-only (FILE_ATTRIBUTE_READONLY); clear the attribute and restore it again"
    )]
    ReadOnly,
    /// The reparse point's entries do not tile the file.
    #[error(
        "reparse entry {entry} covers {begin:#x}..{end:#x}, expected to start at {expected:#x}"
    )]
    EntryGap {
        /// Entry index.
        entry: usize,
        /// Its start.
        begin: u64,
        /// Its end.
        end: u64,
        /// Where it should start.
        expected: u64,
    },
    /// The reparse point's entries cover a different size than the file's.
    #[error("reparse entries cover {covered:#x} bytes, the file is {logical:#x}")]
    EntriesShort {
        /// Bytes covered.
        covered: u64,
        /// Logical size.
        logical: u64,
    },
    /// A stream map entry does not move forward.
    #[error("stream map entry {entry} ends at {end:#x}, not after {prev:#x}")]
    MapNotIncreasing {
        /// Entry index.
        entry: usize,
        /// Its end.
        end: u64,
        /// The previous end.
        prev: u64,
    },
    /// A stream map covers a different range than its reference entry.
    #[error(
        "stream map covers {begin:#x}..{end:#x}, the reparse point says {begin:#x}..{expected:#x}"
    )]
    MapCoverage {
        /// Start of the range.
        begin: u64,
        /// Where the map ends.
        end: u64,
        /// Where the reparse point says it ends.
        expected: u64,
    },
    /// The backup store failed (its own error names the container path).
    #[error("{0}")]
    Store(#[source] StoreError),
    /// A container structure or record failed a check (container, offset, local id,
    /// expected vs actual).
    #[error("{0}")]
    Container(#[source] ContainerError),
    /// No container with this id is in the store's folder.
    #[error("{dir}: no container {id:08x}.*.ccc in the backup store")]
    ContainerMissing {
        /// The store folder.
        dir: WinPath,
        /// The container id.
        id: u32,
    },
    /// The record at the expected place has another hash than the reference wants.
    #[error(
        "{container}: at {offset:#x}: {kind} {local_id} has hash {found}, the {by} expects {expected}"
    )]
    HashMismatch {
        /// Container path.
        container: Arc<str>,
        /// Record offset.
        offset: u64,
        /// Local id.
        local_id: u32,
        /// Record kind.
        kind: RecordKind,
        /// Hash found (hex).
        found: String,
        /// Hash expected (hex).
        expected: String,
        /// What holds the expected hash ("reparse point" or "stream map").
        by: &'static str,
    },
    /// The record at the expected place is not the one wanted (other id or type, or size).
    #[error("{container}: at {offset:#x}: {problem}")]
    WrongRecord {
        /// Container path.
        container: Arc<str>,
        /// Offset looked at.
        offset: u64,
        /// Local id wanted.
        local_id: u32,
        /// What is wrong.
        problem: RecordProblem,
    },
    /// The container's header names another container id than its file name.
    #[error(
        "{container}: header names container id {header_id:#x}, the file name says {name_id:#x}"
    )]
    ContainerIdMismatch {
        /// Container path.
        container: Arc<str>,
        /// Id in the header.
        header_id: u32,
        /// Id in the file name.
        name_id: u32,
    },
    /// A reference claims a record longer than any record can be.
    #[error(
        "{container}: local id {local_id} is said to be {len} bytes long, more than any record can be"
    )]
    RecordTooLong {
        /// Container path.
        container: Arc<str>,
        /// Local id.
        local_id: u32,
        /// Claimed length.
        len: u64,
    },
    /// The place a record is expected at is outside the container's records.
    #[error(
        "{container}: local id {local_id} expected at {offset:#x} ({len} bytes), outside the records area 0x5000..{vdl:#x}"
    )]
    OutsideRecords {
        /// Container path.
        container: Arc<str>,
        /// Local id.
        local_id: u32,
        /// Expected offset.
        offset: u64,
        /// Record length.
        len: u64,
        /// Valid data length.
        vdl: u64,
    },
    /// The record is neither at its hint, nor where the redirection table says, nor anywhere
    /// in a walk of the container.
    #[error(
        "{container}: local id {local_id} not found (hint {hint:#x}, redirection table, scan of all records)"
    )]
    NotInContainer {
        /// Container path.
        container: Arc<str>,
        /// Local id.
        local_id: u32,
        /// The offset hint.
        hint: u32,
    },
    /// One chunk is named by stream maps with two different sizes.
    #[error(
        "stream maps name chunk {local_id} of {container} with one hash and two different sizes"
    )]
    ConflictingSizes {
        /// Container path.
        container: Arc<str>,
        /// Local id.
        local_id: u32,
    },
    /// The container the metadata names is missing and the swapped id/generation reading
    /// did not find the record either.
    #[error("{missing} (nor as {tried} with id and generation swapped: {source})")]
    Swapped {
        /// The missing container.
        missing: Box<FileError>,
        /// The container tried instead.
        tried: Arc<str>,
        /// Why that failed.
        source: Box<FileError>,
    },
    /// A failure while reading the file's stream map.
    #[error("stream map: {0}")]
    StreamMap(#[source] Box<FileError>),
    /// Not every byte was written.
    #[error("{written} of {expected} bytes were written")]
    Incomplete {
        /// Bytes written.
        written: u64,
        /// Logical size.
        expected: u64,
    },
    /// An internal inconsistency (a bug): what went wrong.
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// The source entry cannot be restored (special file, invalid name, unreadable).
    #[error("{0}")]
    Unsupported(#[source] Unsupported),
    /// A path the caller asked for is not in the source.
    #[error("not found in the source")]
    NotInSource,
    /// The whole `RestoreFiles` call was refused (more than `MAX_FILES` paths, bad flags).
    #[error("{0}")]
    Call(#[source] crate::RestoreError),
    /// Microsoft's RestoreFiles (or another implementation that only gives HRESULTs) reported
    /// this file failed.
    #[error("{by} reported {hresult} for this file")]
    Reported {
        /// Who reported it.
        by: &'static str,
        /// The HRESULT.
        hresult: Hresult,
    },
}

/// A reparse tag as read, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReparseTag(pub Option<u32>);

impl std::fmt::Display for ReparseTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(t) => write!(f, "{t:#010x}"),
            None => f.write_str("(buffer shorter than a tag)"),
        }
    }
}

/// What is wrong with the record found ([`FileError::WrongRecord`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordProblem {
    /// Another record is there.
    #[error("found {found_type} record with local id {found_id}, wanted {wanted_type} {wanted_id}")]
    Other {
        /// Type found.
        found_type: &'static str,
        /// Id found.
        found_id: u32,
        /// Type wanted.
        wanted_type: &'static str,
        /// Id wanted.
        wanted_id: u32,
    },
    /// The record's stored size differs from the reference's.
    #[error("local id {local_id} has {found} stored bytes, the reference says {expected}")]
    StoredSize {
        /// Local id.
        local_id: u32,
        /// Stored size found.
        found: u32,
        /// Stored size the reference gives.
        expected: u64,
    },
    /// The record is longer than the bytes read for it.
    #[error("local id {local_id} is {total} bytes, {available} expected")]
    Longer {
        /// Local id.
        local_id: u32,
        /// Record length.
        total: u64,
        /// Bytes available.
        available: u64,
    },
}

impl FileError {
    /// A platform failure at `stage`.
    #[must_use]
    pub fn platform(stage: Stage, e: platform::Error) -> Self {
        Self::Platform {
            stage,
            source: Arc::new(e),
        }
    }

    /// The HRESULT `RestoreFiles` gives a file that failed this way.
    #[must_use]
    // Arm order matters (a reparse CRC mismatch is corruption, other reparse errors invalid
    // data), so two arms share a body.
    #[allow(clippy::match_same_arms)]
    pub fn hresult(&self) -> Hresult {
        match self {
            Self::Platform { source, .. } => from_platform(source),
            Self::Container(ContainerError::ChunkNotFound { .. })
            | Self::OutsideRecords { .. }
            | Self::NotInContainer { .. }
            | Self::HashMismatch { .. }
            | Self::WrongRecord { .. } => Hresult::DDP_E_NOT_FOUND,
            Self::ForeignReparse { .. }
            | Self::EntryGap { .. }
            | Self::EntriesShort { .. }
            | Self::MapNotIncreasing { .. }
            | Self::MapCoverage { .. }
            | Self::RecordTooLong { .. }
            | Self::ConflictingSizes { .. }
            | Self::Container(ContainerError::BadStreamMap { .. }) => Hresult::DDP_E_INVALID_DATA,
            // A bad reparse CRC and damaged container bytes: the file is corrupt.
            Self::Reparse(ParseError::CrcMismatch { .. })
            | Self::ContainerIdMismatch { .. }
            | Self::Container(_) => Hresult::DDP_E_FILE_CORRUPT,
            // Any other reparse error (after the CRC arm above): a malformed reparse point.
            Self::Reparse(_) => Hresult::DDP_E_INVALID_DATA,
            Self::ReadOnly => Hresult::from_win32(5),
            Self::Store(e) => e.hresult,
            Self::ContainerMissing { .. } | Self::Swapped { .. } => Hresult::DDP_E_PATH_NOT_FOUND,
            Self::StreamMap(inner) => inner.hresult(),
            Self::Incomplete { .. } | Self::Internal(_) => Hresult::DDP_E_UNEXPECTED,
            Self::Unsupported(_) => Hresult::E_FAIL,
            Self::NotInSource => Hresult::from_win32(2),
            Self::Call(e) => e.hresult(),
            Self::Reported { hresult, .. } => *hresult,
        }
    }

    /// The container at fault, when the failure is about one.
    #[must_use]
    pub fn container(&self) -> Option<&str> {
        match self {
            Self::Store(e) => Some(&e.path),
            Self::Container(e) => Some(e.container()),
            Self::HashMismatch { container, .. }
            | Self::WrongRecord { container, .. }
            | Self::ContainerIdMismatch { container, .. }
            | Self::RecordTooLong { container, .. }
            | Self::OutsideRecords { container, .. }
            | Self::NotInContainer { container, .. }
            | Self::ConflictingSizes { container, .. } => Some(container),
            Self::Swapped { missing, .. } => missing.container(),
            Self::StreamMap(inner) => inner.container(),
            _ => None,
        }
    }

    /// The byte offset in [`FileError::container`] the failure is about, when there is one.
    #[must_use]
    pub fn offset(&self) -> Option<u64> {
        match self {
            Self::Container(e) => e.offset(),
            Self::HashMismatch { offset, .. }
            | Self::WrongRecord { offset, .. }
            | Self::OutsideRecords { offset, .. } => Some(*offset),
            Self::StreamMap(inner) => inner.offset(),
            Self::Swapped { source, .. } => source.offset(),
            _ => None,
        }
    }

    /// The local id of the record at fault, when there is one.
    #[must_use]
    pub fn local_id(&self) -> Option<u32> {
        match self {
            Self::Container(e) => e.local_id(),
            Self::HashMismatch { local_id, .. }
            | Self::WrongRecord { local_id, .. }
            | Self::RecordTooLong { local_id, .. }
            | Self::OutsideRecords { local_id, .. }
            | Self::NotInContainer { local_id, .. }
            | Self::ConflictingSizes { local_id, .. } => Some(*local_id),
            Self::StreamMap(inner) => inner.local_id(),
            Self::Swapped { source, .. } => source.local_id(),
            _ => None,
        }
    }
}
