//! Errors of the container reader. Every variant names the container (the caller-supplied name,
//! usually its path), the byte offset, the local id where one applies, and expected vs actual.

use std::sync::Arc;

/// Which header-slot or table check failed, for [`ContainerError::NoValidHeader`].
pub type SlotProblems = Vec<String>;

/// An error while opening a container or reading a record from it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContainerError {
    /// The bytes are shorter than the fixed area (three header slots, two tables).
    #[error(
        "{container}: {len:#x} bytes is too small for a container (the fixed area alone is {needed:#x})"
    )]
    TooSmall {
        /// Container name.
        container: Arc<str>,
        /// Actual length.
        len: u64,
        /// Minimum length.
        needed: u64,
    },
    /// No header slot has a valid magic and CRC-64.
    #[error("{container}: no valid Cthr header slot ({})", problems.join("; "))]
    NoValidHeader {
        /// Container name.
        container: Arc<str>,
        /// One line per slot saying what was wrong.
        problems: SlotProblems,
    },
    /// A header field has an impossible value.
    #[error("{container}: at {offset:#x}: Cthr {field} is {actual:#x}, expected {expected}")]
    BadHeaderField {
        /// Container name.
        container: Arc<str>,
        /// Offset of the header slot.
        offset: u64,
        /// Field name.
        field: &'static str,
        /// What the field must be.
        expected: String,
        /// The value found.
        actual: u64,
    },
    /// The valid data length points past the end of the bytes (a truncated copy).
    #[error(
        "{container}: truncated: the header's valid data length is {vdl:#x} but only {len:#x} bytes are present"
    )]
    Truncated {
        /// Container name.
        container: Arc<str>,
        /// Valid data length from the header.
        vdl: u64,
        /// Actual length.
        len: u64,
    },
    /// A structure's magic is wrong.
    #[error("{container}: at {offset:#x}: expected magic {expected:?}, found {actual:?}")]
    BadMagic {
        /// Container name.
        container: Arc<str>,
        /// Offset of the structure.
        offset: u64,
        /// Expected magic.
        expected: String,
        /// Bytes found (lossy).
        actual: String,
    },
    /// A structure's version bytes are not the ones this reader knows.
    #[error(
        "{container}: at {offset:#x}: unsupported {what} version {actual}, expected {expected}"
    )]
    BadVersion {
        /// Container name.
        container: Arc<str>,
        /// Offset of the structure.
        offset: u64,
        /// Which structure.
        what: &'static str,
        /// Expected version bytes (hex).
        expected: String,
        /// Found version bytes (hex).
        actual: String,
    },
    /// A CRC-64 did not match.
    #[error("{container}: at {offset:#x}{}: {what} CRC-64 mismatch: stored {expected:#018x}, computed {actual:#018x}", local_id_suffix(*local_id))]
    CrcMismatch {
        /// Container name.
        container: Arc<str>,
        /// Offset of the structure whose CRC failed.
        offset: u64,
        /// Local id, when the structure is a chunk record.
        local_id: Option<u32>,
        /// "Cthr header", "Rrtl header", "record header", "payload".
        what: &'static str,
        /// Stored value.
        expected: u64,
        /// Computed value.
        actual: u64,
    },
    /// The redirection table is malformed.
    #[error("{container}: at {offset:#x}: Rrtl {problem}")]
    BadRedirectionTable {
        /// Container name.
        container: Arc<str>,
        /// Offset of the table.
        offset: u64,
        /// What is wrong.
        problem: String,
    },
    /// A record header field has an impossible value.
    #[error("{container}: at {offset:#x}{}: Ckhr {field} is {actual:#x}, expected {expected}", local_id_suffix(*local_id))]
    BadRecordField {
        /// Container name.
        container: Arc<str>,
        /// Offset of the record.
        offset: u64,
        /// Local id as read, if the field is not the id itself.
        local_id: Option<u32>,
        /// Field name.
        field: &'static str,
        /// What was expected.
        expected: String,
        /// The value found.
        actual: u64,
    },
    /// A record does not fit inside the valid data.
    #[error("{container}: at {offset:#x}{}: record ends at {end:#x}, past the valid data length {vdl:#x}", local_id_suffix(*local_id))]
    RecordOutOfBounds {
        /// Container name.
        container: Arc<str>,
        /// Offset of the record.
        offset: u64,
        /// Local id, when the header was readable.
        local_id: Option<u32>,
        /// Where the record would end.
        end: u64,
        /// Valid data length.
        vdl: u64,
    },
    /// No record with this local id exists (hint, redirection table and scan all failed).
    #[error("{container}: chunk with local id {local_id} not found (tried {tried})")]
    ChunkNotFound {
        /// Container name.
        container: Arc<str>,
        /// The id looked for.
        local_id: u32,
        /// What was tried, for the message.
        tried: String,
    },
    /// The record found is not of the expected type.
    #[error(
        "{container}: at {offset:#x} (local id {local_id}): record is {actual}, expected {expected}"
    )]
    WrongRecordType {
        /// Container name.
        container: Arc<str>,
        /// Offset of the record.
        offset: u64,
        /// Local id.
        local_id: u32,
        /// Expected type name.
        expected: &'static str,
        /// Actual type name.
        actual: &'static str,
    },
    /// The payload uses a compression this reader does not decode.
    #[error(
        "{container}: at {offset:#x} (local id {local_id}): unsupported compression {code} (only 0 = stored and 2 = Xpress are known)"
    )]
    UnsupportedCompression {
        /// Container name.
        container: Arc<str>,
        /// Offset of the record.
        offset: u64,
        /// Local id.
        local_id: u32,
        /// The compression value.
        code: u32,
    },
    /// The Xpress payload does not decode.
    #[error(
        "{container}: at {offset:#x} (local id {local_id}): Xpress payload does not decode: {source}"
    )]
    Decompress {
        /// Container name.
        container: Arc<str>,
        /// Offset of the record.
        offset: u64,
        /// Local id.
        local_id: u32,
        /// The decoder's error (with its input position).
        source: xpress::DecompressError,
    },
    /// The logical payload size differs from the size the caller expected (from a stream map).
    #[error(
        "{container}: at {offset:#x} (local id {local_id}): logical size is {actual}, expected {expected}"
    )]
    LogicalSizeMismatch {
        /// Container name.
        container: Arc<str>,
        /// Offset of the record.
        offset: u64,
        /// Local id.
        local_id: u32,
        /// Expected logical size.
        expected: u64,
        /// Actual logical size.
        actual: u64,
    },
    /// A stream-map record's payload is not a valid `Smap`.
    #[error("{container}: at {offset:#x} (local id {local_id}): {source}")]
    BadStreamMap {
        /// Container name.
        container: Arc<str>,
        /// Offset of the record.
        offset: u64,
        /// Local id.
        local_id: u32,
        /// What is wrong with the payload.
        source: crate::smap::StreamMapError,
    },
    /// The chunk hash does not match the logical payload.
    #[error(
        "{container}: at {offset:#x} (local id {local_id}): chunk hash mismatch: stored {expected}, computed {actual}"
    )]
    HashMismatch {
        /// Container name.
        container: Arc<str>,
        /// Offset of the record.
        offset: u64,
        /// Local id.
        local_id: u32,
        /// Stored hash (hex).
        expected: String,
        /// Computed hash (hex).
        actual: String,
    },
}

fn local_id_suffix(id: Option<u32>) -> String {
    id.map_or_else(String::new, |id| format!(" (local id {id})"))
}

impl ContainerError {
    /// The container the error is about (the caller-supplied name, usually its path).
    #[must_use]
    pub fn container(&self) -> &str {
        match self {
            Self::TooSmall { container, .. }
            | Self::NoValidHeader { container, .. }
            | Self::BadHeaderField { container, .. }
            | Self::Truncated { container, .. }
            | Self::BadMagic { container, .. }
            | Self::BadVersion { container, .. }
            | Self::CrcMismatch { container, .. }
            | Self::BadRedirectionTable { container, .. }
            | Self::BadRecordField { container, .. }
            | Self::RecordOutOfBounds { container, .. }
            | Self::ChunkNotFound { container, .. }
            | Self::WrongRecordType { container, .. }
            | Self::UnsupportedCompression { container, .. }
            | Self::Decompress { container, .. }
            | Self::LogicalSizeMismatch { container, .. }
            | Self::BadStreamMap { container, .. }
            | Self::HashMismatch { container, .. } => container,
        }
    }

    /// The local id of the record the error is about, when known.
    #[must_use]
    pub fn local_id(&self) -> Option<u32> {
        match self {
            Self::CrcMismatch { local_id, .. }
            | Self::BadRecordField { local_id, .. }
            | Self::RecordOutOfBounds { local_id, .. } => *local_id,
            Self::ChunkNotFound { local_id, .. }
            | Self::WrongRecordType { local_id, .. }
            | Self::UnsupportedCompression { local_id, .. }
            | Self::Decompress { local_id, .. }
            | Self::LogicalSizeMismatch { local_id, .. }
            | Self::BadStreamMap { local_id, .. }
            | Self::HashMismatch { local_id, .. } => Some(*local_id),
            _ => None,
        }
    }

    /// The byte offset the error is about, when there is one.
    #[must_use]
    pub fn offset(&self) -> Option<u64> {
        match self {
            Self::TooSmall { .. }
            | Self::NoValidHeader { .. }
            | Self::Truncated { .. }
            | Self::ChunkNotFound { .. } => None,
            Self::BadHeaderField { offset, .. }
            | Self::BadMagic { offset, .. }
            | Self::BadVersion { offset, .. }
            | Self::CrcMismatch { offset, .. }
            | Self::BadRedirectionTable { offset, .. }
            | Self::BadRecordField { offset, .. }
            | Self::RecordOutOfBounds { offset, .. }
            | Self::WrongRecordType { offset, .. }
            | Self::UnsupportedCompression { offset, .. }
            | Self::Decompress { offset, .. }
            | Self::LogicalSizeMismatch { offset, .. }
            | Self::BadStreamMap { offset, .. }
            | Self::HashMismatch { offset, .. } => Some(*offset),
        }
    }
}

/// An error while building a container.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Appending would grow the container past its size limit: commit it and start a new one.
    #[error(
        "container {container_id:08x}.{generation:08x}: appending {needed:#x} bytes at {vdl:#x} would pass the size limit {limit:#x}"
    )]
    Full {
        /// Container id.
        container_id: u32,
        /// Generation.
        generation: u32,
        /// Current end of data.
        vdl: u64,
        /// Bytes the append needs (record plus closing padding).
        needed: u64,
        /// The size limit.
        limit: u64,
    },
    /// A payload is larger than a record can describe (u32 size).
    #[error("payload of {len} bytes is too large for one record")]
    PayloadTooLarge {
        /// Payload length.
        len: usize,
    },
    /// More moved chunks than one 4 KiB `Rrtl` slot holds (the layout beyond is unknown).
    #[error(
        "redirection table would need {needed} entries; one slot holds {capacity} and larger tables are an unknown layout"
    )]
    RedirectionTableFull {
        /// Entries needed.
        needed: usize,
        /// Capacity of the slot.
        capacity: usize,
    },
    /// Local ids are exhausted.
    #[error("local ids exhausted in container {container_id:08x}")]
    LocalIdsExhausted {
        /// Container id.
        container_id: u32,
    },
    /// A record copied from another container failed its checks.
    #[error("while copying: {0}")]
    Source(#[from] ContainerError),
}
