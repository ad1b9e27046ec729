//! v2 "table" layout, version bytes `02 01` (docs/dedup-format.md §1.5; MEDIUM: JPA, HYDR).
//!
//! | data off | size | meaning |
//! |---|---|---|
//! | 00 | 2 | `02 01` |
//! | 02 | 2 | reparse-data length (0x100 observed) |
//! | 04 | 4 | number of table rows (11 observed) |
//! | 08 | 8·n | rows `{u32 field id, u16 size, u16 offset from data start}`; an all-zero row is an empty slot (not a terminator: HYDR shows a real row after it) |
//! | … | | field values |
//! | len-4 | 4 | CRC-32 of data 00..len-4 |
//!
//! Field ids (docs/dedup-format.md §1.5): 9 = chunk-store GUID (16 B), 8 = array of 64-byte reference entries,
//! 10 = 32-byte "stream key" (unknown use), 3/4/5/6 = scalars of unknown meaning. The logical file
//! size is the `end` of the last reference entry. We walk the table by id (not JPA's fixed
//! positions) and keep the table and every value byte, so a parsed point is written back
//! byte-identical.

use crate::entry::{ENTRY_LEN, ReferenceEntry};
use crate::read::{View, check_trailing_crc, push_trailing_crc};
use crate::{BuildError, Guid, ParseError};

/// Version bytes of v2.
pub const V2_MAGIC: [u8; 2] = [0x02, 0x01];

/// Field id of the chunk-store GUID.
pub const FIELD_GUID: u32 = 9;
/// Field id of the reference-entry array.
pub const FIELD_ENTRIES: u32 = 8;
/// Field id of the 32-byte "stream key" (HYDR's name; unused by readers).
pub const FIELD_STREAM_KEY: u32 = 10;

const HEADER_LEN: usize = 8;
const ROW_LEN: usize = 8;

/// One row of the v2 field table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct V2Row {
    /// Field id (0 with size 0 and offset 0: an empty slot).
    pub id: u32,
    /// Size of the value in bytes.
    pub size: u16,
    /// Offset of the value from the start of the reparse data.
    pub offset: u16,
}

impl V2Row {
    /// True for an all-zero row (an empty slot).
    #[must_use]
    pub fn is_empty_slot(&self) -> bool {
        self.id == 0 && self.size == 0 && self.offset == 0
    }
}

/// A v2 (`02 01`) dedup reparse point.
///
/// `guid` and `entries` are decoded; the field table and every value byte are kept, and on
/// [`Self::to_bytes`] the typed fields are written into their slots (ids 9 and 8), everything
/// else verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReparseV2 {
    /// Chunk-store GUID (field id 9).
    pub guid: Guid,
    /// Reference entries (field id 8), in table order.
    pub entries: Vec<ReferenceEntry>,
    rows: Vec<V2Row>,
    /// Bytes from the end of the table to the CRC.
    values: Vec<u8>,
}

impl ReparseV2 {
    /// A fresh v2 point laid out like the one real example we know (HYDR, docs/dedup-format.md §1.5): 11 rows
    /// `4,3,3,6,9,5,6,10,8,<empty>,5`; GUID at data 0x74, entries at 0x94, the 32-byte stream key
    /// after the entries, the second id-5 value after that, then the CRC (0x100 bytes for one
    /// entry). The unknown scalars and the stream key are zero (our choice: their meaning is
    /// unknown). Every entry must carry a 16-byte hash (checked by [`Self::to_bytes`]).
    pub fn new(guid: Guid, entries: Vec<ReferenceEntry>) -> Result<Self, BuildError> {
        if entries.is_empty() {
            return Err(BuildError::NoEntries);
        }
        let entries_len = entries.len() * ENTRY_LEN;
        let total = 0xF4 - ENTRY_LEN + entries_len + 8 + 4;
        if total > usize::from(u16::MAX) {
            return Err(BuildError::TooLong {
                length: total,
                max: usize::from(u16::MAX),
            });
        }
        let extra = entries_len - ENTRY_LEN;
        let off = |o: usize| (o + extra) as u16;
        let rows = vec![
            V2Row {
                id: 4,
                size: 4,
                offset: 0x60,
            },
            V2Row {
                id: 3,
                size: 4,
                offset: 0x64,
            },
            V2Row {
                id: 3,
                size: 4,
                offset: 0x68,
            },
            V2Row {
                id: 6,
                size: 8,
                offset: 0x6C,
            },
            V2Row {
                id: FIELD_GUID,
                size: 16,
                offset: 0x74,
            },
            V2Row {
                id: 5,
                size: 8,
                offset: 0x84,
            },
            V2Row {
                id: 6,
                size: 8,
                offset: 0x8C,
            },
            V2Row {
                id: FIELD_STREAM_KEY,
                size: 32,
                offset: off(0xD4),
            },
            V2Row {
                id: FIELD_ENTRIES,
                size: entries_len as u16,
                offset: 0x94,
            },
            V2Row {
                id: 0,
                size: 0,
                offset: 0,
            },
            V2Row {
                id: 5,
                size: 8,
                offset: off(0xF4),
            },
        ];
        let table_end = HEADER_LEN + rows.len() * ROW_LEN;
        let draft = Self {
            guid,
            entries,
            rows,
            values: vec![0; total - 4 - table_end],
        };
        // Re-read our own encoding so that the kept value bytes hold the typed fields too (a
        // fresh point then equals its parsed copy).
        let bytes = draft.to_bytes()?;
        Ok(Self::parse(&bytes, 0).expect("a freshly built v2 point parses"))
    }

    /// The field table as stored.
    #[must_use]
    pub fn rows(&self) -> &[V2Row] {
        &self.rows
    }

    fn table_end(&self) -> usize {
        HEADER_LEN + self.rows.len() * ROW_LEN
    }

    /// Stored bytes of the first non-empty row with this id (for ids 8 and 9 these are the bytes
    /// as read, not the typed fields).
    #[must_use]
    pub fn field(&self, id: u32) -> Option<&[u8]> {
        let te = self.table_end();
        self.rows
            .iter()
            .find(|r| r.id == id && !r.is_empty_slot())
            .map(|r| {
                let s = usize::from(r.offset) - te;
                &self.values[s..s + usize::from(r.size)]
            })
    }

    /// The 32-byte "stream key" (field id 10), if present.
    #[must_use]
    pub fn stream_key(&self) -> Option<&[u8]> {
        self.field(FIELD_STREAM_KEY)
    }

    /// Replaces the value of table row `row` (same size required). For a simulator that wants
    /// to fill the unknown fields of a fresh point.
    pub fn set_row_value(&mut self, row: usize, value: &[u8]) -> Result<(), BuildError> {
        let te = self.table_end();
        let r = self
            .rows
            .get(row)
            .copied()
            .ok_or_else(|| BuildError::FieldSize {
                field: format!("row {row}"),
                slot: 0,
                actual: value.len(),
            })?;
        if usize::from(r.size) != value.len() || r.is_empty_slot() {
            return Err(BuildError::FieldSize {
                field: format!("row {row} (id {})", r.id),
                slot: usize::from(r.size),
                actual: value.len(),
            });
        }
        let s = usize::from(r.offset) - te;
        self.values[s..s + value.len()].copy_from_slice(value);
        Ok(())
    }

    /// Logical file size: the largest `range_end` of the entries.
    #[must_use]
    pub fn logical_size(&self) -> u64 {
        self.entries.iter().map(|e| e.range_end).max().unwrap_or(0)
    }

    /// Parses v2 reparse data. `base` is the offset of `data` in the caller's input.
    pub fn parse(data: &[u8], base: usize) -> Result<Self, ParseError> {
        let v = View::new(data, base);
        crate::check_version_and_length(v, V2_MAGIC)?;
        check_trailing_crc(v)?;
        let crc_at = data.len() - 4;
        let count = v.u32(4, "v2 row count")?;
        let table_end = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(ROW_LEN))
            .and_then(|t| t.checked_add(HEADER_LEN))
            .filter(|&t| t <= crc_at)
            .ok_or(ParseError::OutOfBounds {
                offset: base + 4,
                what: "v2 field table",
                start: (base + HEADER_LEN) as u64,
                end: (base as u64) + HEADER_LEN as u64 + u64::from(count) * ROW_LEN as u64,
                min: (base + HEADER_LEN) as u64,
                max: (base + crc_at) as u64,
            })?;
        let mut rows = Vec::with_capacity(table_end / ROW_LEN);
        for i in 0..count as usize {
            let ro = HEADER_LEN + i * ROW_LEN;
            let row = V2Row {
                id: v.u32(ro, "v2 row id")?,
                size: v.u16(ro + 4, "v2 row size")?,
                offset: v.u16(ro + 6, "v2 row offset")?,
            };
            if !row.is_empty_slot() {
                let start = usize::from(row.offset);
                let end = start + usize::from(row.size);
                if start < table_end || end > crc_at {
                    return Err(ParseError::OutOfBounds {
                        offset: base + ro,
                        what: "v2 field value",
                        start: (base + start) as u64,
                        end: (base + end) as u64,
                        min: (base + table_end) as u64,
                        max: (base + crc_at) as u64,
                    });
                }
            }
            rows.push(row);
        }
        let find = |id: u32, what: &'static str, detail: &'static str| {
            rows.iter()
                .enumerate()
                .find(|(_, r)| r.id == id && !r.is_empty_slot())
                .map(|(i, r)| (HEADER_LEN + i * ROW_LEN, *r))
                .ok_or(ParseError::MissingField {
                    offset: base + HEADER_LEN,
                    what,
                    detail,
                })
        };
        let (guid_row_at, guid_row) =
            find(FIELD_GUID, "v2 chunk-store GUID", "no row with field id 9")?;
        if guid_row.size != 16 {
            return Err(ParseError::FieldShape {
                offset: base + guid_row_at,
                what: "v2 chunk-store GUID",
                expected_type: FIELD_GUID,
                expected_size: 16,
                actual_type: guid_row.id,
                actual_size: u32::from(guid_row.size),
            });
        }
        let guid = Guid(v.array(usize::from(guid_row.offset), "v2 chunk-store GUID")?);
        let (ent_row_at, ent_row) = find(
            FIELD_ENTRIES,
            "v2 reference entries",
            "no row with field id 8",
        )?;
        let ent_size = usize::from(ent_row.size);
        if ent_size == 0 || ent_size % ENTRY_LEN != 0 {
            return Err(ParseError::FieldShape {
                offset: base + ent_row_at,
                what: "v2 reference-entry array (size must be a non-zero multiple of 64)",
                expected_type: FIELD_ENTRIES,
                expected_size: ENTRY_LEN as u32,
                actual_type: ent_row.id,
                actual_size: u32::from(ent_row.size),
            });
        }
        let raw = v.slice(
            usize::from(ent_row.offset),
            ent_size,
            "v2 reference entries",
        )?;
        let entries = raw
            .chunks_exact(ENTRY_LEN)
            .map(|c| {
                let mut a = [0u8; ENTRY_LEN];
                a.copy_from_slice(c);
                ReferenceEntry::from_bytes(&a)
            })
            .collect();
        Ok(Self {
            guid,
            entries,
            rows,
            values: data[table_end..crc_at].to_vec(),
        })
    }

    /// Encodes the reparse data (without the 8-byte buffer header), CRC included.
    pub fn to_bytes(&self) -> Result<Vec<u8>, BuildError> {
        let te = self.table_end();
        let total = te + self.values.len() + 4;
        if total > usize::from(u16::MAX) {
            return Err(BuildError::TooLong {
                length: total,
                max: usize::from(u16::MAX),
            });
        }
        let mut values = self.values.clone();
        let slot = |id: u32| {
            self.rows
                .iter()
                .find(|r| r.id == id && !r.is_empty_slot())
                .copied()
        };
        if let Some(r) = slot(FIELD_GUID) {
            let s = usize::from(r.offset) - te;
            values[s..s + 16].copy_from_slice(&self.guid.0);
        }
        if let Some(r) = slot(FIELD_ENTRIES) {
            let slots = usize::from(r.size) / ENTRY_LEN;
            if slots != self.entries.len() {
                return Err(BuildError::EntryCount {
                    slots,
                    actual: self.entries.len(),
                });
            }
            let mut s = usize::from(r.offset) - te;
            for (index, e) in self.entries.iter().enumerate() {
                let b = e.to_bytes().ok_or(BuildError::HashWidth {
                    layout: "v2",
                    index,
                    expected: 16,
                    actual: e.hash.as_bytes().len(),
                })?;
                values[s..s + ENTRY_LEN].copy_from_slice(&b);
                s += ENTRY_LEN;
            }
        }
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&V2_MAGIC);
        out.extend_from_slice(&(total as u16).to_le_bytes());
        out.extend_from_slice(&(self.rows.len() as u32).to_le_bytes());
        for r in &self.rows {
            out.extend_from_slice(&r.id.to_le_bytes());
            out.extend_from_slice(&r.size.to_le_bytes());
            out.extend_from_slice(&r.offset.to_le_bytes());
        }
        out.extend_from_slice(&values);
        push_trailing_crc(&mut out, 0);
        Ok(out)
    }
}
