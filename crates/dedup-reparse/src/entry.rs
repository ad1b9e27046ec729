//! The 64-byte stream-map reference ("reparse entry"), docs/dedup-format.md §1.3 (HIGH: JPA, SMX, WDE agree).
//!
//! | off | type | meaning |
//! |---|---|---|
//! | 00 | u32 | local id of the stream-map chunk in its container |
//! | 04 | u32 | stream-container id |
//! | 08 | u32 | offset hint of the stream-map `Ckhr` in that container |
//! | 0C | u32 | unknown |
//! | 10 | u32 | unknown (SMX "NumProperties") |
//! | 14 | u32 | unknown (SMX "Size") |
//! | 18 | u32 | stream-map payload size (8 + 64·n) |
//! | 1C | u32 | unknown (SMX "ItemSize", 64 expected) |
//! | 20 | 16 B | stream-map hash |
//! | 30 | u64 | end (exclusive) of the covered file range |
//! | 38 | u64 | begin of the covered file range |
//!
//! In v1 (docs/dedup-format.md §1.3 last bullet, §1.4; MEDIUM) the hash is 32 bytes at +20..+40 and there is no
//! begin/end: the range is `0..logical size` from the v1 header.

use crate::read::{le_u32, le_u64};

/// Size of one reference entry on disk.
pub const ENTRY_LEN: usize = 64;

/// The stream-map hash: 16 bytes in v2/v3, 32 bytes in v1. The algorithm is unknown (docs/dedup-format.md §4.2);
/// compare byte-wise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamMapHash {
    /// 16-byte hash (v2, v3).
    Short([u8; 16]),
    /// 32-byte hash (v1).
    Long([u8; 32]),
}

impl StreamMapHash {
    /// The hash bytes (16 or 32).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Short(h) => h,
            Self::Long(h) => h,
        }
    }
}

/// One stream-map reference entry (docs/dedup-format.md §1.3). Unknown fields are kept verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReferenceEntry {
    /// +00: local id (sequence number) of the stream-map chunk in its container.
    pub local_id: u32,
    /// +04: stream-container id (first component of `Stream\XXXXXXXX.GGGGGGGG.ccc`).
    pub container_id: u32,
    /// +08: byte offset of the stream-map `Ckhr` in the container; a hint, may be stale.
    pub offset_hint: u32,
    /// +0C: unknown.
    pub unknown_0c: u32,
    /// +10: unknown (SMX "NumProperties").
    pub unknown_10: u32,
    /// +14: unknown (SMX "Size").
    pub unknown_14: u32,
    /// +18: size of the stream-map payload (8 + 64·n).
    pub stream_map_size: u32,
    /// +1C: unknown (SMX "ItemSize"; 64 expected).
    pub unknown_1c: u32,
    /// +20: stream-map hash (16 bytes; 32 in v1).
    pub hash: StreamMapHash,
    /// +38: begin of the covered file range (v1: always 0, not stored).
    pub range_begin: u64,
    /// +30: end (exclusive) of the covered file range (v1: the header's logical size, not
    /// stored in the entry).
    pub range_end: u64,
}

impl ReferenceEntry {
    /// A fresh entry for a simulator. Unknown fields get the values we write for new points:
    /// `unknown_0c = unknown_10 = unknown_14 = 0`, `unknown_1c = 64` (SMX's "ItemSize", the
    /// size of one stream-map entry). These defaults are our choice, not observed values.
    #[must_use]
    pub fn new(
        local_id: u32,
        container_id: u32,
        offset_hint: u32,
        stream_map_size: u32,
        hash: StreamMapHash,
        range: std::ops::Range<u64>,
    ) -> Self {
        Self {
            local_id,
            container_id,
            offset_hint,
            unknown_0c: 0,
            unknown_10: 0,
            unknown_14: 0,
            stream_map_size,
            unknown_1c: 64,
            hash,
            range_begin: range.start,
            range_end: range.end,
        }
    }

    fn head_from(b: &[u8], hash: StreamMapHash, range_begin: u64, range_end: u64) -> Self {
        Self {
            local_id: le_u32(b, 0x00),
            container_id: le_u32(b, 0x04),
            offset_hint: le_u32(b, 0x08),
            unknown_0c: le_u32(b, 0x0C),
            unknown_10: le_u32(b, 0x10),
            unknown_14: le_u32(b, 0x14),
            stream_map_size: le_u32(b, 0x18),
            unknown_1c: le_u32(b, 0x1C),
            hash,
            range_begin,
            range_end,
        }
    }

    /// Decodes the v2/v3 form (16-byte hash, end at +30, begin at +38).
    #[must_use]
    pub fn from_bytes(b: &[u8; ENTRY_LEN]) -> Self {
        let mut h = [0u8; 16];
        h.copy_from_slice(&b[0x20..0x30]);
        Self::head_from(b, StreamMapHash::Short(h), le_u64(b, 0x38), le_u64(b, 0x30))
    }

    /// Decodes the v1 form (32-byte hash at +20); the range is `0..logical_size`.
    #[must_use]
    pub fn from_bytes_v1(b: &[u8; ENTRY_LEN], logical_size: u64) -> Self {
        let mut h = [0u8; 32];
        h.copy_from_slice(&b[0x20..0x40]);
        Self::head_from(b, StreamMapHash::Long(h), 0, logical_size)
    }

    fn head_bytes(&self) -> [u8; ENTRY_LEN] {
        let mut b = [0u8; ENTRY_LEN];
        for (i, v) in [
            self.local_id,
            self.container_id,
            self.offset_hint,
            self.unknown_0c,
            self.unknown_10,
            self.unknown_14,
            self.stream_map_size,
            self.unknown_1c,
        ]
        .into_iter()
        .enumerate()
        {
            b[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    /// Encodes the v2/v3 form; `None` if the hash is not 16 bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Option<[u8; ENTRY_LEN]> {
        let StreamMapHash::Short(h) = &self.hash else {
            return None;
        };
        let mut b = self.head_bytes();
        b[0x20..0x30].copy_from_slice(h);
        b[0x30..0x38].copy_from_slice(&self.range_end.to_le_bytes());
        b[0x38..0x40].copy_from_slice(&self.range_begin.to_le_bytes());
        Some(b)
    }

    /// Encodes the v1 form; `None` if the hash is not 32 bytes. The range is not stored.
    #[must_use]
    pub fn to_bytes_v1(&self) -> Option<[u8; ENTRY_LEN]> {
        let StreamMapHash::Long(h) = &self.hash else {
            return None;
        };
        let mut b = self.head_bytes();
        b[0x20..0x40].copy_from_slice(h);
        Some(b)
    }
}
/// Why a point's reference entries do not tile its file ([`check_entries`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TilingError {
    /// An entry does not start where the previous one ended (or ends before it starts).
    #[error(
        "reference entry {entry} covers {begin:#x}..{end:#x}, expected to start at {expected:#x}"
    )]
    Gap {
        /// Entry index.
        entry: usize,
        /// Its start.
        begin: u64,
        /// Its end.
        end: u64,
        /// Where it should start (the previous entry's end; 0 for the first).
        expected: u64,
    },
    /// The entries together cover a different size than the file's logical size.
    #[error("reference entries cover {covered:#x} bytes, the file is {logical:#x}")]
    Short {
        /// Bytes covered.
        covered: u64,
        /// The point's logical size.
        logical: u64,
    },
}

/// Checks that `entries` tile `[0, logical_size)` in order, each starting where the previous
/// one ended (docs/dedup-format.md §1.3: each entry covers a file range; §1.7: a file's data is
/// its entries' stream maps in order). Parsing does not check this, so that an inconsistent
/// point can still be inspected; a restore checks it before reading any stream map.
///
/// # Errors
/// [`TilingError::Gap`] for the first entry out of place, [`TilingError::Short`] when the
/// entries end before or after the logical size.
pub fn check_entries(entries: &[ReferenceEntry], logical_size: u64) -> Result<(), TilingError> {
    let mut at = 0;
    for (i, e) in entries.iter().enumerate() {
        if e.range_begin != at || e.range_end < e.range_begin {
            return Err(TilingError::Gap {
                entry: i,
                begin: e.range_begin,
                end: e.range_end,
                expected: at,
            });
        }
        at = e.range_end;
    }
    if at != logical_size {
        return Err(TilingError::Short {
            covered: at,
            logical: logical_size,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(range: std::ops::Range<u64>) -> ReferenceEntry {
        ReferenceEntry::new(1, 1, 0x3000, 8 + 64, StreamMapHash::Short([0; 16]), range)
    }

    #[test]
    fn entries_that_tile_pass() {
        assert_eq!(check_entries(&[entry(0..10), entry(10..25)], 25), Ok(()));
        assert_eq!(check_entries(&[], 0), Ok(()));
    }

    #[test]
    fn gaps_and_short_coverage_are_named() {
        assert_eq!(
            check_entries(&[entry(0..10), entry(12..25)], 25),
            Err(TilingError::Gap {
                entry: 1,
                begin: 12,
                end: 25,
                expected: 10
            })
        );
        assert_eq!(
            check_entries(&[entry(0..10)], 25),
            Err(TilingError::Short {
                covered: 10,
                logical: 25
            })
        );
    }
}
