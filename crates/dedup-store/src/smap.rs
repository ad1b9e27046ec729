//! The `Smap` stream-map payload: the ordered list of data chunks that make up a file's range.
//!
//! Layout (docs/dedup-format.md §3.5, HIGH: JPA's ntfs-3g plugin, SMX, WDE and the STONKS write-up agree; not
//! verified on bytes here because no stream container is public): an 8-byte header, `Smap` plus
//! 4 version bytes (`01 04 04 01` seen on Server 2012 R2), then `n` entries of 64 bytes:
//!
//! | off | type | meaning |
//! |---|---|---|
//! | 00 | u32 | local id of the data chunk |
//! | 04 | u32 | data container id (caveat: order with +0C unproven, docs/dedup-format.md §3.5) |
//! | 08 | u32 | offset hint of the chunk's `Ckhr` |
//! | 0C | u32 | data container generation |
//! | 10 | u64 | cumulative logical end of this chunk (exclusive) within the covered range |
//! | 18 | 32 B | chunk hash |
//! | 38 | u32 | stored size |
//! | 3C | u32 | unknown (kept) |

use crate::layout::{SMAP_MAGIC, arr4, le_u32, le_u64, put_u32, put_u64};

/// `Smap` version bytes seen on Server 2012 R2 (STONKS) and written by us.
pub const SMAP_VERSION: [u8; 4] = [0x01, 0x04, 0x04, 0x01];

/// Size of the `Smap` header.
pub const SMAP_HEADER_SIZE: usize = 8;
/// Size of one `Smap` entry.
pub const SMAP_ENTRY_SIZE: usize = 64;

/// One data-chunk reference of a stream map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmapEntry {
    /// Local id of the data chunk in its container.
    pub local_id: u32,
    /// Data container id (+04).
    pub container_id: u32,
    /// Offset hint of the chunk's record (+08); stale after compaction.
    pub offset_hint: u32,
    /// Data container generation (+0C).
    pub generation: u32,
    /// Cumulative logical end offset (exclusive) of this chunk in the covered range.
    pub end: u64,
    /// Chunk hash (SHA-512 prefix of the logical payload).
    pub hash: [u8; 32],
    /// Stored (possibly compressed) size of the chunk.
    pub stored_size: u32,
    /// Unknown u32 at +3C, kept.
    pub unknown_3c: u32,
}

impl SmapEntry {
    fn decode(b: &[u8]) -> Self {
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&b[0x18..0x38]);
        Self {
            local_id: le_u32(b, 0),
            container_id: le_u32(b, 4),
            offset_hint: le_u32(b, 8),
            generation: le_u32(b, 0x0C),
            end: le_u64(b, 0x10),
            hash,
            stored_size: le_u32(b, 0x38),
            unknown_3c: le_u32(b, 0x3C),
        }
    }

    fn encode_into(&self, b: &mut [u8]) {
        put_u32(b, 0, self.local_id);
        put_u32(b, 4, self.container_id);
        put_u32(b, 8, self.offset_hint);
        put_u32(b, 0x0C, self.generation);
        put_u64(b, 0x10, self.end);
        b[0x18..0x38].copy_from_slice(&self.hash);
        put_u32(b, 0x38, self.stored_size);
        put_u32(b, 0x3C, self.unknown_3c);
    }
}

/// Why a `Smap` payload is malformed. Offsets are relative to the payload start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamMapError {
    /// Shorter than the 8-byte header.
    #[error("stream map of {len} bytes is shorter than its 8-byte header")]
    TooShort {
        /// Payload length.
        len: usize,
    },
    /// Wrong magic.
    #[error("stream map magic is {actual:?}, expected \"Smap\"")]
    BadMagic {
        /// Bytes found (lossy).
        actual: String,
    },
    /// Length is not 8 + 64·n.
    #[error("stream map length {len} is not 8 + 64·n")]
    BadLength {
        /// Payload length.
        len: usize,
    },
    /// Entry ends go backwards (a chunk of negative size).
    #[error(
        "stream map entry {index} at +{offset:#x}: end {end:#x} is before the previous end {previous:#x}"
    )]
    NonMonotonic {
        /// Entry index.
        index: usize,
        /// Offset of the entry within the payload.
        offset: usize,
        /// This entry's end.
        end: u64,
        /// The previous end.
        previous: u64,
    },
}

/// A borrowed view of a validated `Smap` payload.
#[derive(Debug, Clone, Copy)]
pub struct StreamMapRef<'a> {
    bytes: &'a [u8],
}

impl<'a> StreamMapRef<'a> {
    /// Validates the header, the length and that entry ends never go backwards.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, StreamMapError> {
        if bytes.len() < SMAP_HEADER_SIZE {
            return Err(StreamMapError::TooShort { len: bytes.len() });
        }
        if bytes[..4] != SMAP_MAGIC {
            return Err(StreamMapError::BadMagic {
                actual: String::from_utf8_lossy(&bytes[..4]).into_owned(),
            });
        }
        if !(bytes.len() - SMAP_HEADER_SIZE).is_multiple_of(SMAP_ENTRY_SIZE) {
            return Err(StreamMapError::BadLength { len: bytes.len() });
        }
        let this = Self { bytes };
        let mut previous = 0u64;
        for (index, e) in this.entries().enumerate() {
            if e.end < previous {
                return Err(StreamMapError::NonMonotonic {
                    index,
                    offset: SMAP_HEADER_SIZE + index * SMAP_ENTRY_SIZE,
                    end: e.end,
                    previous,
                });
            }
            previous = e.end;
        }
        Ok(this)
    }

    /// The 4 version bytes.
    #[must_use]
    pub fn version(&self) -> [u8; 4] {
        arr4(self.bytes, 4)
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        (self.bytes.len() - SMAP_HEADER_SIZE) / SMAP_ENTRY_SIZE
    }

    /// True when the map has no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entry `i`, if it exists.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<SmapEntry> {
        let at = SMAP_HEADER_SIZE.checked_add(i.checked_mul(SMAP_ENTRY_SIZE)?)?;
        self.bytes
            .get(at..at + SMAP_ENTRY_SIZE)
            .map(SmapEntry::decode)
    }

    /// All entries in order.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = SmapEntry> + 'a {
        self.bytes[SMAP_HEADER_SIZE..]
            .chunks_exact(SMAP_ENTRY_SIZE)
            .map(SmapEntry::decode)
    }

    /// The end of the last entry (the covered range's end relative to its begin), 0 if empty.
    #[must_use]
    pub fn logical_end(&self) -> u64 {
        self.len()
            .checked_sub(1)
            .and_then(|i| self.get(i))
            .map_or(0, |e| e.end)
    }

    /// An owned copy.
    #[must_use]
    pub fn to_owned_map(&self) -> StreamMap {
        StreamMap {
            version: self.version(),
            entries: self.entries().collect(),
        }
    }
}

/// An owned stream map, for building.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamMap {
    /// Version bytes.
    pub version: [u8; 4],
    /// Entries in file order.
    pub entries: Vec<SmapEntry>,
}

impl Default for StreamMap {
    fn default() -> Self {
        Self {
            version: SMAP_VERSION,
            entries: Vec::new(),
        }
    }
}

impl StreamMap {
    /// Serialises to the `Smap` payload.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; SMAP_HEADER_SIZE + SMAP_ENTRY_SIZE * self.entries.len()];
        b[..4].copy_from_slice(&SMAP_MAGIC);
        b[4..8].copy_from_slice(&self.version);
        for (i, e) in self.entries.iter().enumerate() {
            let at = SMAP_HEADER_SIZE + i * SMAP_ENTRY_SIZE;
            e.encode_into(&mut b[at..at + SMAP_ENTRY_SIZE]);
        }
        b
    }
}

/// Why a stream map does not cover its reference entry's range ([`check_map`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MapCoverageError {
    /// An entry does not end after the previous one (an empty or negative chunk).
    #[error("stream map entry {entry} ends at {end:#x}, not after {prev:#x}")]
    NotIncreasing {
        /// Entry index.
        entry: usize,
        /// Its end.
        end: u64,
        /// The previous end (the range's begin for the first entry).
        prev: u64,
    },
    /// The last entry ends elsewhere than the range.
    #[error("stream map covers {begin:#x}..{end:#x}, expected {begin:#x}..{expected:#x}")]
    Coverage {
        /// Start of the range.
        begin: u64,
        /// Where the map ends.
        end: u64,
        /// Where the range ends.
        expected: u64,
    },
}

/// Checks that `map` covers exactly `range` (the file range of the reference entry that names
/// it) with no empty chunk: the first chunk starts at the range's begin and every entry's end
/// is past the previous one (docs/dedup-format.md §3.5). [`StreamMapRef::parse`] only checks
/// that ends never go backwards, as it does not know the range.
///
/// # Errors
/// [`MapCoverageError::NotIncreasing`] for the first entry that does not move forward,
/// [`MapCoverageError::Coverage`] when the map ends before or after the range.
pub fn check_map(range: std::ops::Range<u64>, map: &[SmapEntry]) -> Result<(), MapCoverageError> {
    let mut prev = range.start;
    for (i, s) in map.iter().enumerate() {
        if s.end <= prev {
            return Err(MapCoverageError::NotIncreasing {
                entry: i,
                end: s.end,
                prev,
            });
        }
        prev = s.end;
    }
    if prev != range.end {
        return Err(MapCoverageError::Coverage {
            begin: range.start,
            end: prev,
            expected: range.end,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ends(ends: &[u64]) -> Vec<SmapEntry> {
        ends.iter()
            .map(|&end| SmapEntry {
                local_id: 1,
                container_id: 1,
                offset_hint: 0x5000,
                generation: 1,
                end,
                hash: [0; 32],
                stored_size: 1,
                unknown_3c: 0,
            })
            .collect()
    }

    #[test]
    fn map_must_cover_its_range() {
        assert_eq!(check_map(10..30, &ends(&[20, 30])), Ok(()));
        assert_eq!(
            check_map(10..30, &ends(&[20, 20, 30])),
            Err(MapCoverageError::NotIncreasing {
                entry: 1,
                end: 20,
                prev: 20
            })
        );
        assert_eq!(
            check_map(10..30, &ends(&[10])),
            Err(MapCoverageError::NotIncreasing {
                entry: 0,
                end: 10,
                prev: 10
            })
        );
        assert_eq!(
            check_map(10..30, &ends(&[20])),
            Err(MapCoverageError::Coverage {
                begin: 10,
                end: 20,
                expected: 30
            })
        );
    }

    #[test]
    fn round_trip_and_errors() {
        let map = StreamMap {
            version: SMAP_VERSION,
            entries: vec![
                SmapEntry {
                    local_id: 1,
                    container_id: 1,
                    offset_hint: 0x5000,
                    generation: 1,
                    end: 0xEEA7,
                    hash: [7; 32],
                    stored_size: 0xEEA7,
                    unknown_3c: 0,
                },
                SmapEntry {
                    local_id: 2,
                    container_id: 1,
                    offset_hint: 0x13000,
                    generation: 1,
                    end: 0x161E1,
                    hash: [9; 32],
                    stored_size: 0x7000,
                    unknown_3c: 5,
                },
            ],
        };
        let bytes = map.encode();
        assert_eq!(bytes.len(), 8 + 128);
        let r = StreamMapRef::parse(&bytes).unwrap();
        assert_eq!(r.to_owned_map(), map);
        assert_eq!(r.logical_end(), 0x161E1);
        assert!(matches!(
            StreamMapRef::parse(&bytes[..9]),
            Err(StreamMapError::BadLength { len: 9 })
        ));
        assert!(matches!(
            StreamMapRef::parse(&bytes[..4]),
            Err(StreamMapError::TooShort { .. })
        ));
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert!(matches!(
            StreamMapRef::parse(&bad),
            Err(StreamMapError::BadMagic { .. })
        ));
        let mut back = map.clone();
        back.entries[1].end = 3;
        assert!(matches!(
            StreamMapRef::parse(&back.encode()),
            Err(StreamMapError::NonMonotonic { index: 1, .. })
        ));
    }
}
