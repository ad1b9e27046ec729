//! v3 property chunks (`FeRp`, `RbRp`, `DdRp`), docs/dedup-format.md §1.6 (HIGH: TNF dump, SMX, WDE, JPA126).
//!
//! Generic header, offsets relative to the chunk's magic:
//!
//! | off | type | meaning |
//! |---|---|---|
//! | 00 | 4 B | magic |
//! | 04 | u32 | CRC-32 of the chunk (span uncertain, see [`CrcSpan`]) |
//! | 08 | u32 | chunk size counted from the magic |
//! | 0C | u16 | 0 in every known sample (kept) |
//! | 0E | u16 | number of property entries |
//! | 10 | 8·n | entries `{u16 type, u16 size, u32 offset from the magic}` |
//!
//! Entry types (SMX naming, values seen in TNF): 5 u32 id, 6 u64, 9 u32 flag, 10 u32 version,
//! 11 FILETIME, 12 GUID, 13 nested blob, 14 id-ref `{u32 local id, u32 container id}`; a type 0
//! size 0 entry is an empty slot.

use crate::ParseError;
use crate::read::{View, crc32};

/// Property-chunk header length.
pub const CHUNK_HEADER_LEN: usize = 0x10;
/// Length of one property entry.
pub const PROPERTY_ENTRY_LEN: usize = 8;

/// Property types (docs/dedup-format.md §1.6).
pub mod prop_type {
    /// u32 id.
    pub const ID: u16 = 5;
    /// u64 value.
    pub const U64: u16 = 6;
    /// u32 flag / bitmap type.
    pub const FLAG: u16 = 9;
    /// u32 version.
    pub const VERSION: u16 = 10;
    /// FILETIME.
    pub const FILETIME: u16 = 11;
    /// GUID.
    pub const GUID: u16 = 12;
    /// Nested blob (a nested property chunk, or DdRp's raw reference entry).
    pub const BLOB: u16 = 13;
    /// Id-ref `{u32 local id, u32 container id}`.
    pub const ID_REF: u16 = 14;
}

/// One property entry of a chunk's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PropertyEntry {
    /// Property type ([`prop_type`]); 0 with size 0 is an empty slot.
    pub ty: u16,
    /// Value size in bytes.
    pub size: u16,
    /// Value offset from the chunk's magic.
    pub offset: u32,
}

impl PropertyEntry {
    /// True for a type-0 size-0 entry (an empty slot; its offset is not checked).
    #[must_use]
    pub fn is_empty_slot(&self) -> bool {
        self.ty == 0 && self.size == 0
    }
}

/// Which bytes a property chunk's CRC-32 covered, as detected when reading.
///
/// The span is not settled by any real bytes we have (docs/dedup-format.md §1.6, §9 item 5): JPA126 searches for
/// the length that matches; the spec's expectation is bytes `08..size`. When reading we accept
/// any of these and report which matched; when writing a fresh or modified chunk we always use
/// [`CrcSpan::AfterCrc`] (bytes `08..size` of the chunk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrcSpan {
    /// Bytes `08..size` (after the CRC field): what we write.
    AfterCrc,
    /// Bytes `00..size` with the CRC field taken as zero.
    WholeCrcZeroed,
    /// Bytes `0C..size` (after the size field).
    AfterSize,
    /// Bytes `10+8n..size` (the values only).
    ValuesOnly,
    /// Bytes `08..08+len` for some other `len` (JPA126-style search).
    AfterCrcPrefix {
        /// Covered length from offset 8.
        len: u32,
    },
}

impl CrcSpan {
    /// Computes the CRC of `chunk` (whole chunk bytes) under this span. `header_end` is
    /// `0x10 + 8n`. Returns `None` if the span does not fit.
    #[must_use]
    pub fn compute(self, chunk: &[u8], header_end: usize) -> Option<u32> {
        match self {
            Self::AfterCrc => chunk.get(8..).map(crc32),
            Self::WholeCrcZeroed => {
                let mut h = crc32fast::Hasher::new();
                h.update(chunk.get(..4)?);
                h.update(&[0; 4]);
                h.update(chunk.get(8..)?);
                Some(h.finalize())
            }
            Self::AfterSize => chunk.get(0x0C..).map(crc32),
            Self::ValuesOnly => chunk.get(header_end..).map(crc32),
            Self::AfterCrcPrefix { len } => chunk.get(8..8 + len as usize).map(crc32),
        }
    }

    /// Finds the first span under which `stored` matches, trying the fixed spans first and then
    /// every prefix length from offset 8.
    #[must_use]
    pub fn detect(chunk: &[u8], header_end: usize, stored: u32) -> Option<Self> {
        for span in [
            Self::AfterCrc,
            Self::WholeCrcZeroed,
            Self::AfterSize,
            Self::ValuesOnly,
        ] {
            if span.compute(chunk, header_end) == Some(stored) {
                return Some(span);
            }
        }
        let body = chunk.get(8..)?;
        let mut h = crc32fast::Hasher::new();
        // len == body.len() is AfterCrc, already tried.
        for (len, b) in body.iter().enumerate().take(body.len().saturating_sub(1)) {
            if h.clone().finalize() == stored && len > 0 {
                return Some(Self::AfterCrcPrefix { len: len as u32 });
            }
            h.update(std::slice::from_ref(b));
        }
        None
    }
}

/// A parsed property chunk: header, entries, CRC detection, and its exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyChunk {
    bytes: Vec<u8>,
    entries: Vec<PropertyEntry>,
    crc_span: Option<CrcSpan>,
}

impl PropertyChunk {
    /// Parses the chunk at `off` of `parent` whose size the parent declares as `expected_size`
    /// (FeRp: the reparse data minus version, length and CRC; nested: the blob entry's size).
    pub(crate) fn parse(
        parent: View<'_>,
        off: usize,
        magic: [u8; 4],
        expected_size: usize,
    ) -> Result<Self, ParseError> {
        let what = match &magic {
            b"FeRp" => "FeRp chunk",
            b"RbRp" => "RbRp chunk",
            _ => "DdRp chunk",
        };
        let found: [u8; 4] = parent.array(off, what)?;
        if found != magic {
            return Err(ParseError::BadMagic {
                offset: parent.base + off,
                expected: magic,
                actual: found,
            });
        }
        let stored = parent.u32(off + 4, what)?;
        let size = parent.u32(off + 8, what)?;
        if size as usize != expected_size || expected_size < CHUNK_HEADER_LEN {
            return Err(ParseError::LengthMismatch {
                offset: parent.base + off + 8,
                what: "property chunk size",
                expected: expected_size as u64,
                actual: u64::from(size),
            });
        }
        let bytes = parent.slice(off, expected_size, what)?;
        let v = View::new(bytes, parent.base + off);
        let count = usize::from(v.u16(0x0E, "property entry count")?);
        let header_end = CHUNK_HEADER_LEN + count * PROPERTY_ENTRY_LEN;
        if header_end > expected_size {
            return Err(ParseError::OutOfBounds {
                offset: v.base + 0x0E,
                what: "property entry table",
                start: (v.base + CHUNK_HEADER_LEN) as u64,
                end: (v.base + header_end) as u64,
                min: (v.base + CHUNK_HEADER_LEN) as u64,
                max: (v.base + expected_size) as u64,
            });
        }
        let mut entries = Vec::with_capacity(count);
        for i in 0..count {
            let eo = CHUNK_HEADER_LEN + i * PROPERTY_ENTRY_LEN;
            let e = PropertyEntry {
                ty: v.u16(eo, "property type")?,
                size: v.u16(eo + 2, "property size")?,
                offset: v.u32(eo + 4, "property offset")?,
            };
            if !e.is_empty_slot() {
                let start = u64::from(e.offset);
                let end = start + u64::from(e.size);
                if start < header_end as u64 || end > expected_size as u64 {
                    return Err(ParseError::OutOfBounds {
                        offset: v.base + eo,
                        what: "property value",
                        start: v.base as u64 + start,
                        end: v.base as u64 + end,
                        min: (v.base + header_end) as u64,
                        max: (v.base + expected_size) as u64,
                    });
                }
            }
            entries.push(e);
        }
        let crc_span = CrcSpan::detect(bytes, header_end, stored);
        Ok(Self {
            bytes: bytes.to_vec(),
            entries,
            crc_span,
        })
    }

    /// The four magic bytes.
    #[must_use]
    pub fn magic(&self) -> [u8; 4] {
        [self.bytes[0], self.bytes[1], self.bytes[2], self.bytes[3]]
    }

    /// The CRC-32 stored at +04.
    #[must_use]
    pub fn stored_crc(&self) -> u32 {
        crate::read::le_u32(&self.bytes, 4)
    }

    /// The u16 at +0C (0 in every known sample; kept verbatim).
    #[must_use]
    pub fn reserved_0c(&self) -> u16 {
        u16::from_le_bytes([self.bytes[0x0C], self.bytes[0x0D]])
    }

    /// The property entries in table order.
    #[must_use]
    pub fn entries(&self) -> &[PropertyEntry] {
        &self.entries
    }

    /// Which span the stored CRC matched when read (`None`: no known span matched; the chunk is
    /// still accepted because the trailing CRC-32 of the whole reparse data, which is settled,
    /// covers it).
    #[must_use]
    pub fn crc_span(&self) -> Option<CrcSpan> {
        self.crc_span
    }

    /// The chunk's bytes as stored (magic to end).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The value bytes of entry `index`, if it exists and is not an empty slot.
    #[must_use]
    pub fn value(&self, index: usize) -> Option<&[u8]> {
        let e = self.entries.get(index).filter(|e| !e.is_empty_slot())?;
        self.bytes
            .get(e.offset as usize..e.offset as usize + usize::from(e.size))
    }

    pub(crate) fn header_end(&self) -> usize {
        CHUNK_HEADER_LEN + self.entries.len() * PROPERTY_ENTRY_LEN
    }

    /// Recomputes the CRC of `patched` (this chunk's bytes with values rewritten) and stores it at
    /// +04. Rule: the span detected on read if any; if none matched and nothing changed, the stored
    /// CRC is kept verbatim (exact round trip); otherwise [`CrcSpan::AfterCrc`].
    pub(crate) fn reseal(&self, patched: &mut [u8]) {
        let span = match self.crc_span {
            Some(s) => s,
            None if patched[8..] == self.bytes[8..] => return,
            None => CrcSpan::AfterCrc,
        };
        let crc = span.compute(patched, self.header_end()).unwrap_or(0);
        patched[4..8].copy_from_slice(&crc.to_le_bytes());
    }
}

/// Builds a chunk's bytes from a fixed table layout: `entries` and `(offset, value)` pairs; the
/// CRC is sealed with [`CrcSpan::AfterCrc`].
pub(crate) fn build_chunk(
    magic: [u8; 4],
    size: usize,
    entries: &[PropertyEntry],
    values: &[(usize, &[u8])],
) -> Vec<u8> {
    let mut b = vec![0u8; size];
    b[0..4].copy_from_slice(&magic);
    b[8..12].copy_from_slice(&(size as u32).to_le_bytes());
    b[0x0E..0x10].copy_from_slice(&(entries.len() as u16).to_le_bytes());
    for (i, e) in entries.iter().enumerate() {
        let eo = CHUNK_HEADER_LEN + i * PROPERTY_ENTRY_LEN;
        b[eo..eo + 2].copy_from_slice(&e.ty.to_le_bytes());
        b[eo + 2..eo + 4].copy_from_slice(&e.size.to_le_bytes());
        b[eo + 4..eo + 8].copy_from_slice(&e.offset.to_le_bytes());
    }
    for (off, v) in values {
        b[*off..*off + v.len()].copy_from_slice(v);
    }
    let crc = crc32(&b[8..]);
    b[4..8].copy_from_slice(&crc.to_le_bytes());
    b
}
