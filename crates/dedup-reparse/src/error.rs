//! Typed errors of parsing and building. Every parse error names the byte offset (relative to the
//! start of the caller's input, so a full `REPARSE_DATA_BUFFER` reports buffer offsets) and the
//! expected and actual values.

/// Error of [`crate::DedupReparse::parse`] and the per-layout parsers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The input ends before a structure does.
    #[error("truncated at {offset:#x}: {what} needs {needed} bytes, only {available} present")]
    Truncated {
        /// Offset of the structure that does not fit.
        offset: usize,
        /// What was being read.
        what: &'static str,
        /// Bytes the structure needs from `offset`.
        needed: usize,
        /// Bytes present from `offset`.
        available: usize,
    },
    /// The reparse tag is not `IO_REPARSE_TAG_DEDUP`.
    #[error("reparse tag at {offset:#x}: expected {expected:#010x}, found {actual:#010x}")]
    WrongTag {
        /// Offset of the tag.
        offset: usize,
        /// `IO_REPARSE_TAG_DEDUP`.
        expected: u32,
        /// The tag found.
        actual: u32,
    },
    /// A length field disagrees with the bytes present or with another length field.
    #[error("{what} at {offset:#x}: expected {expected:#x}, found {actual:#x}")]
    LengthMismatch {
        /// Offset of the length field.
        offset: usize,
        /// Which length.
        what: &'static str,
        /// The value implied by the surrounding structure.
        expected: u64,
        /// The value found.
        actual: u64,
    },
    /// The two version bytes name no known layout.
    #[error("reparse data version at {offset:#x}: expected 01 02, 02 01 or 03 01, found {:02x} {:02x}", .actual[0], .actual[1])]
    UnknownVersion {
        /// Offset of the version bytes.
        offset: usize,
        /// The bytes found.
        actual: [u8; 2],
    },
    /// A stored CRC-32 does not match the bytes it covers.
    #[error(
        "CRC-32 at {offset:#x} over {span_start:#x}..{span_end:#x}: stored {stored:#010x}, computed {computed:#010x}"
    )]
    CrcMismatch {
        /// Offset of the stored CRC.
        offset: usize,
        /// Start of the covered span.
        span_start: usize,
        /// End (exclusive) of the covered span.
        span_end: usize,
        /// The stored value.
        stored: u32,
        /// The value computed over the span.
        computed: u32,
    },
    /// A property chunk does not start with the expected magic.
    #[error("property chunk at {offset:#x}: expected magic {:?}, found {:?}", .expected.escape_ascii().to_string(), .actual.escape_ascii().to_string())]
    BadMagic {
        /// Offset of the magic.
        offset: usize,
        /// `FeRp`, `RbRp` or `DdRp`.
        expected: [u8; 4],
        /// The four bytes found.
        actual: [u8; 4],
    },
    /// A field or table lies (partly) outside the region that must contain it.
    #[error(
        "{what} at {offset:#x}: range {start:#x}..{end:#x} is outside the allowed {min:#x}..{max:#x}"
    )]
    OutOfBounds {
        /// Offset of the row or entry that names the range.
        offset: usize,
        /// Which field.
        what: &'static str,
        /// Start of the named range (relative to the input).
        start: u64,
        /// End of the named range (relative to the input).
        end: u64,
        /// Start of the allowed region.
        min: u64,
        /// End of the allowed region.
        max: u64,
    },
    /// A required field is absent.
    #[error("{what} missing: {detail} (table at {offset:#x})")]
    MissingField {
        /// Offset of the table that should hold it.
        offset: usize,
        /// Which field.
        what: &'static str,
        /// How it was looked up.
        detail: &'static str,
    },
    /// A field has an unexpected type or size.
    #[error(
        "{what} at {offset:#x}: expected type {expected_type} size {expected_size:#x}, found type {actual_type} size {actual_size:#x}"
    )]
    FieldShape {
        /// Offset of the table row or property entry describing the field.
        offset: usize,
        /// Which field.
        what: &'static str,
        /// Expected type (property type for v3, field id for v2).
        expected_type: u32,
        /// Expected size (for arrays: the element size).
        expected_size: u32,
        /// Type found.
        actual_type: u32,
        /// Size found.
        actual_size: u32,
    },
}

/// Error of the `to_bytes`/`build` functions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The reparse data would not fit its u16 length field.
    #[error("reparse data of {length} bytes exceeds the maximum {max}")]
    TooLong {
        /// Length that would result.
        length: usize,
        /// Largest length the format can express.
        max: usize,
    },
    /// The stream-map hash has the wrong width for this layout (v1: 32 bytes; v2/v3: 16 bytes).
    #[error("{layout} needs a {expected}-byte stream-map hash, entry {index} has {actual} bytes")]
    HashWidth {
        /// Layout name.
        layout: &'static str,
        /// Index of the offending entry.
        index: usize,
        /// Required width.
        expected: usize,
        /// Width given.
        actual: usize,
    },
    /// A v2 point parsed from bytes was given a different number of reference entries than its
    /// field table has room for (the table layout is kept as read, so it cannot grow).
    #[error("v2 entry table has room for {slots} reference entries, {actual} given")]
    EntryCount {
        /// Entries the kept table holds.
        slots: usize,
        /// Entries given.
        actual: usize,
    },
    /// A v2 point needs at least one reference entry.
    #[error("a v2 reparse point needs at least one reference entry")]
    NoEntries,
    /// A field value given for a kept layout has a different size than its slot.
    #[error("field {field} has a {slot}-byte slot, {actual} bytes given")]
    FieldSize {
        /// Field id / name.
        field: String,
        /// Slot size.
        slot: usize,
        /// Bytes given.
        actual: usize,
    },
}
