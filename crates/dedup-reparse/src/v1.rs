//! v1 "short" fixed layout, version bytes `01 02` (docs/dedup-format.md §1.4; MEDIUM: JPA, STONKS).
//!
//! | data off | size | meaning |
//! |---|---|---|
//! | 00 | 2 | `01 02` |
//! | 02 | 2 | reparse-data length (0x7C) |
//! | 04 | 4 | unknown |
//! | 08 | 8 | logical file size |
//! | 10 | 8 | unknown |
//! | 18 | 16 | chunk-store GUID |
//! | 28 | 16 | unknown |
//! | 38 | 64 | reference entry, 32-byte hash at +20 (stream-map hash at data 0x58) |
//! | 78 | 4 | CRC-32 of data 00..78 |

use crate::entry::{ENTRY_LEN, ReferenceEntry};
use crate::read::{View, check_trailing_crc, push_trailing_crc};
use crate::{BuildError, Guid, ParseError};

/// Total reparse-data length of a v1 point.
pub const V1_LEN: usize = 0x7C;

/// Version bytes of v1.
pub const V1_MAGIC: [u8; 2] = [0x01, 0x02];

/// A v1 (`01 02`) dedup reparse point. Unknown fields are kept for an exact round trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReparseV1 {
    /// data+04: unknown.
    pub unknown_04: u32,
    /// data+08: logical file size (also the end of the entry's range).
    pub logical_size: u64,
    /// data+10: unknown.
    pub unknown_10: [u8; 8],
    /// data+18: chunk-store GUID.
    pub guid: Guid,
    /// data+28: unknown.
    pub unknown_28: [u8; 16],
    /// data+38: the stream-map reference (32-byte hash; range `0..logical_size`).
    pub entry: ReferenceEntry,
}

impl ReparseV1 {
    /// A fresh v1 point. The entry must carry a 32-byte hash (checked by [`Self::to_bytes`]);
    /// its range is set to `0..logical_size`. Unknown fields are zero (our choice).
    #[must_use]
    pub fn new(guid: Guid, logical_size: u64, mut entry: ReferenceEntry) -> Self {
        entry.range_begin = 0;
        entry.range_end = logical_size;
        Self {
            unknown_04: 0,
            logical_size,
            unknown_10: [0; 8],
            guid,
            unknown_28: [0; 16],
            entry,
        }
    }

    /// Parses v1 reparse data (the version bytes, length and CRC are checked here). `base` is
    /// the offset of `data` in the caller's input, used in error offsets.
    pub fn parse(data: &[u8], base: usize) -> Result<Self, ParseError> {
        let v = View::new(data, base);
        crate::check_version_and_length(v, V1_MAGIC)?;
        if data.len() != V1_LEN {
            return Err(ParseError::LengthMismatch {
                offset: base + 2,
                what: "v1 reparse-data length",
                expected: V1_LEN as u64,
                actual: data.len() as u64,
            });
        }
        check_trailing_crc(v)?;
        let logical_size = v.u64(0x08, "v1 logical size")?;
        let entry_bytes: [u8; ENTRY_LEN] = v.array(0x38, "v1 reference entry")?;
        Ok(Self {
            unknown_04: v.u32(0x04, "v1 unknown +04")?,
            logical_size,
            unknown_10: v.array(0x10, "v1 unknown +10")?,
            guid: Guid(v.array(0x18, "v1 chunk-store GUID")?),
            unknown_28: v.array(0x28, "v1 unknown +28")?,
            entry: ReferenceEntry::from_bytes_v1(&entry_bytes, logical_size),
        })
    }

    /// Encodes the reparse data (without the 8-byte buffer header), CRC included.
    pub fn to_bytes(&self) -> Result<Vec<u8>, BuildError> {
        let entry = self.entry.to_bytes_v1().ok_or(BuildError::HashWidth {
            layout: "v1",
            index: 0,
            expected: 32,
            actual: self.entry.hash.as_bytes().len(),
        })?;
        let mut out = Vec::with_capacity(V1_LEN);
        out.extend_from_slice(&V1_MAGIC);
        out.extend_from_slice(&(V1_LEN as u16).to_le_bytes());
        out.extend_from_slice(&self.unknown_04.to_le_bytes());
        out.extend_from_slice(&self.logical_size.to_le_bytes());
        out.extend_from_slice(&self.unknown_10);
        out.extend_from_slice(&self.guid.0);
        out.extend_from_slice(&self.unknown_28);
        out.extend_from_slice(&entry);
        push_trailing_crc(&mut out, 0);
        debug_assert_eq!(out.len(), V1_LEN);
        Ok(out)
    }
}
