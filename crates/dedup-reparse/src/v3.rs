//! v3 "FeRp" property-bag layout, version bytes `03 01` (docs/dedup-format.md §1.6; HIGH: TNF, SMX, WDE, JPA126).
//!
//! | data off | meaning |
//! |---|---|
//! | 00 | `03 01` |
//! | 02 | u16 reparse-data length (0x184 in TNF) |
//! | 04 | `FeRp` property chunk (size = length − 8) |
//! | len-4 | CRC-32 of data 00..len-4 |
//!
//! FeRp property indices (docs/dedup-format.md §1.6): 0 version (u32, 1), 1 flags (u32), 2 chunk-store GUID,
//! 3 creation FILETIME, 4 logical file size (u64), 5 id (u32), 6 recall-bitmap type (u32),
//! 7 `RbRp` blob (recall bitmap; kept opaque), 8 `DdRp` blob. DdRp indices: 0 version (u32),
//! 1 id-ref `{local id, stream container id}`, 2 the 64-byte reference entry (§1.3).
//!
//! Fields are looked up by index and their type and size checked. Required: GUID (2), logical
//! size (4), DdRp (8) with its reference entry (DdRp 2). The others are optional (`None` if the
//! slot is absent or empty). The CRC of each property chunk is checked leniently (see
//! [`crate::CrcSpan`]); the trailing CRC-32 of the whole data strictly.

use crate::chunk::{CHUNK_HEADER_LEN, PropertyChunk, PropertyEntry, build_chunk, prop_type};
use crate::entry::{ENTRY_LEN, ReferenceEntry};
use crate::read::{View, check_trailing_crc, le_u32, le_u64, push_trailing_crc};
use crate::{BuildError, FileTime, Guid, ParseError};

/// Version bytes of v3.
pub const V3_MAGIC: [u8; 2] = [0x03, 0x01];
/// Magic of the outer file-reparse chunk.
pub const FERP: [u8; 4] = *b"FeRp";
/// Magic of the recall-bitmap chunk.
pub const RBRP: [u8; 4] = *b"RbRp";
/// Magic of the dedup-data chunk.
pub const DDRP: [u8; 4] = *b"DdRp";

/// FeRp property indices (docs/dedup-format.md §1.6).
pub mod fe_index {
    /// u32 version (1).
    pub const VERSION: usize = 0;
    /// u32 flags.
    pub const FLAGS: usize = 1;
    /// Chunk-store GUID.
    pub const GUID: usize = 2;
    /// Creation FILETIME.
    pub const CREATED: usize = 3;
    /// u64 logical file size.
    pub const SIZE: usize = 4;
    /// u32 id (meaning unknown).
    pub const ID: usize = 5;
    /// u32 recall-bitmap type (0 normal / 1 snapshot / 2 filesystem per SMX).
    pub const RECALL_BITMAP_TYPE: usize = 6;
    /// `RbRp` blob.
    pub const RBRP: usize = 7;
    /// `DdRp` blob.
    pub const DDRP: usize = 8;
}

/// DdRp property indices (docs/dedup-format.md §1.6).
pub mod dd_index {
    /// u32 version.
    pub const VERSION: usize = 0;
    /// Id-ref of the stream-map chunk.
    pub const ID_REF: usize = 1;
    /// The 64-byte reference entry.
    pub const ENTRY: usize = 2;
}

/// An id-ref property `{u32 local id, u32 container id}` (type 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IdRef {
    /// Local id of the stream-map chunk.
    pub local_id: u32,
    /// Stream-container id.
    pub container_id: u32,
}

/// A v3 (`03 01`) dedup reparse point.
///
/// The typed fields are decoded from the FeRp/DdRp slots; the three chunks are kept byte for
/// byte, and [`Self::to_bytes`] writes the typed fields back into their slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReparseV3 {
    /// FeRp\[0\]: version (SMX accepts only 1; we keep any value).
    pub version: Option<u32>,
    /// FeRp\[1\]: flags.
    pub flags: Option<u32>,
    /// FeRp\[2\]: chunk-store GUID.
    pub guid: Guid,
    /// FeRp\[3\]: creation time.
    pub created: Option<FileTime>,
    /// FeRp\[4\]: logical file size.
    pub logical_size: u64,
    /// FeRp\[5\]: id (unknown meaning).
    pub id: Option<u32>,
    /// FeRp\[6\]: recall-bitmap type.
    pub recall_bitmap_type: Option<u32>,
    /// DdRp\[0\]: version.
    pub ddrp_version: Option<u32>,
    /// DdRp\[1\]: id-ref of the stream-map chunk.
    pub id_ref: Option<IdRef>,
    /// DdRp\[2\]: the stream-map reference entry.
    pub entry: ReferenceEntry,
    fe: PropertyChunk,
    rb: Option<PropertyChunk>,
    dd: PropertyChunk,
}

/// Looks up entry `index` of `chunk`, checking its type and size. `Ok(None)` when the slot is
/// absent or empty.
fn slot<'c>(
    chunk: &'c PropertyChunk,
    chunk_base: usize,
    index: usize,
    ty: u16,
    size: Option<u16>,
    what: &'static str,
) -> Result<Option<(&'c [u8], PropertyEntry)>, ParseError> {
    let Some(e) = chunk.entries().get(index).copied() else {
        return Ok(None);
    };
    if e.is_empty_slot() {
        return Ok(None);
    }
    if e.ty != ty || size.is_some_and(|s| s != e.size) {
        return Err(ParseError::FieldShape {
            offset: chunk_base + CHUNK_HEADER_LEN + index * 8,
            what,
            expected_type: u32::from(ty),
            expected_size: u32::from(size.unwrap_or(e.size)),
            actual_type: u32::from(e.ty),
            actual_size: u32::from(e.size),
        });
    }
    Ok(chunk.value(index).map(|v| (v, e)))
}

fn required<T>(
    v: Option<T>,
    chunk_base: usize,
    what: &'static str,
    detail: &'static str,
) -> Result<T, ParseError> {
    v.ok_or(ParseError::MissingField {
        offset: chunk_base,
        what,
        detail,
    })
}

impl ReparseV3 {
    /// Parses v3 reparse data. `base` is the offset of `data` in the caller's input.
    //
    // One piece on purpose: it reads the FeRp slots, then the DdRp slots, in the order of the
    // slot indices (`fe_index`, `dd_index`), one `slot` call per field (rustfmt spreads each over
    // eight lines). Splitting it would only pass the half-read fields between functions.
    pub fn parse(data: &[u8], base: usize) -> Result<Self, ParseError> {
        let v = View::new(data, base);
        crate::check_version_and_length(v, V3_MAGIC)?;
        if data.len() < 8 + CHUNK_HEADER_LEN {
            return Err(ParseError::Truncated {
                offset: base,
                what: "v3 reparse data",
                needed: 8 + CHUNK_HEADER_LEN,
                available: data.len(),
            });
        }
        check_trailing_crc(v)?;
        let fe_base = base + 4;
        let fe = PropertyChunk::parse(v, 4, FERP, data.len() - 8)?;
        let u32_of = |b: &[u8]| le_u32(b, 0);

        let version = slot(
            &fe,
            fe_base,
            fe_index::VERSION,
            prop_type::VERSION,
            Some(4),
            "FeRp version",
        )?
        .map(|(b, _)| u32_of(b));
        let flags = slot(
            &fe,
            fe_base,
            fe_index::FLAGS,
            prop_type::VERSION,
            Some(4),
            "FeRp flags",
        )?
        .map(|(b, _)| u32_of(b));
        let guid = slot(
            &fe,
            fe_base,
            fe_index::GUID,
            prop_type::GUID,
            Some(16),
            "FeRp chunk-store GUID",
        )?;
        let guid = required(
            guid,
            fe_base,
            "FeRp chunk-store GUID",
            "property index 2 is absent",
        )?;
        let guid = {
            let mut g = [0u8; 16];
            g.copy_from_slice(guid.0);
            Guid(g)
        };
        let created = slot(
            &fe,
            fe_base,
            fe_index::CREATED,
            prop_type::FILETIME,
            Some(8),
            "FeRp creation time",
        )?
        .map(|(b, _)| FileTime(le_u64(b, 0)));
        let size = slot(
            &fe,
            fe_base,
            fe_index::SIZE,
            prop_type::U64,
            Some(8),
            "FeRp logical size",
        )?;
        let logical_size = le_u64(
            required(
                size,
                fe_base,
                "FeRp logical size",
                "property index 4 is absent",
            )?
            .0,
            0,
        );
        let id = slot(
            &fe,
            fe_base,
            fe_index::ID,
            prop_type::ID,
            Some(4),
            "FeRp id",
        )?
        .map(|(b, _)| u32_of(b));
        let recall_bitmap_type = slot(
            &fe,
            fe_base,
            fe_index::RECALL_BITMAP_TYPE,
            prop_type::FLAG,
            Some(4),
            "FeRp recall-bitmap type",
        )?
        .map(|(b, _)| u32_of(b));

        let fe_view = View::new(fe.as_bytes(), fe_base);
        let rb = match slot(
            &fe,
            fe_base,
            fe_index::RBRP,
            prop_type::BLOB,
            None,
            "FeRp RbRp blob",
        )? {
            Some((b, e)) => Some(PropertyChunk::parse(
                fe_view,
                e.offset as usize,
                RBRP,
                b.len(),
            )?),
            None => None,
        };
        let dd_slot = slot(
            &fe,
            fe_base,
            fe_index::DDRP,
            prop_type::BLOB,
            None,
            "FeRp DdRp blob",
        )?;
        let (dd_bytes, dd_e) = required(
            dd_slot,
            fe_base,
            "FeRp DdRp blob",
            "property index 8 is absent",
        )?;
        let dd = PropertyChunk::parse(fe_view, dd_e.offset as usize, DDRP, dd_bytes.len())?;
        let dd_base = fe_base + dd_e.offset as usize;

        let ddrp_version = slot(
            &dd,
            dd_base,
            dd_index::VERSION,
            prop_type::VERSION,
            Some(4),
            "DdRp version",
        )?
        .map(|(b, _)| u32_of(b));
        let id_ref = slot(
            &dd,
            dd_base,
            dd_index::ID_REF,
            prop_type::ID_REF,
            Some(8),
            "DdRp id-ref",
        )?
        .map(|(b, _)| IdRef {
            local_id: le_u32(b, 0),
            container_id: le_u32(b, 4),
        });
        let entry = slot(
            &dd,
            dd_base,
            dd_index::ENTRY,
            prop_type::BLOB,
            Some(ENTRY_LEN as u16),
            "DdRp reference entry",
        )?;
        let entry = required(
            entry,
            dd_base,
            "DdRp reference entry",
            "property index 2 is absent",
        )?
        .0;
        let mut eb = [0u8; ENTRY_LEN];
        eb.copy_from_slice(entry);
        let entry = ReferenceEntry::from_bytes(&eb);

        Ok(Self {
            version,
            flags,
            guid,
            created,
            logical_size,
            id,
            recall_bitmap_type,
            ddrp_version,
            id_ref,
            entry,
            fe,
            rb,
            dd,
        })
    }

    /// The outer `FeRp` chunk as read (or as built by [`Self::new`]).
    #[must_use]
    pub fn ferp(&self) -> &PropertyChunk {
        &self.fe
    }

    /// The nested `RbRp` chunk, if present.
    #[must_use]
    pub fn rbrp(&self) -> Option<&PropertyChunk> {
        self.rb.as_ref()
    }

    /// The nested `DdRp` chunk.
    #[must_use]
    pub fn ddrp(&self) -> &PropertyChunk {
        &self.dd
    }

    /// A fresh v3 point laid out exactly like the real TNF buffer (docs/dedup-format.md §1.6): reparse data
    /// 0x184 bytes; FeRp with 9 entries (flags at FeRp+0x58, version +0x5C, GUID +0x60,
    /// FILETIME +0x70, size +0x78, id +0x80, bitmap type +0x84, RbRp +0x88 size 0x80, DdRp +0x108
    /// size 0x74); DdRp with version at +0x28, id-ref at +0x2C, entry at +0x34.
    ///
    /// Values we had to choose (not observed): FeRp version 1 (SMX's only accepted value; TNF
    /// has 1), flags 0, id 0, bitmap type 0 (TNF has 0 for all three); DdRp version 1; id-ref =
    /// the entry's local id and container id. The RbRp chunk copies the TNF table (8 entries:
    /// types 10,9,9,6,6,12 at +0x50,+0x74,+0x70,+0x78,+0x54,+0x5C, then two empty slots — the TNF
    /// prefix ends in the 7th entry, whose first byte is 0) with revision 1 and all other values
    /// zero: the TNF dump does not show RbRp's values. Every chunk CRC covers bytes `08..size`.
    pub fn new(
        guid: Guid,
        logical_size: u64,
        created: FileTime,
        entry: ReferenceEntry,
    ) -> Result<Self, BuildError> {
        let entry_bytes = entry.to_bytes().ok_or(BuildError::HashWidth {
            layout: "v3",
            index: 0,
            expected: 16,
            actual: entry.hash.as_bytes().len(),
        })?;
        let pe = |ty: u16, size: u16, offset: u32| PropertyEntry { ty, size, offset };
        let one = 1u32.to_le_bytes();
        let zero4 = [0u8; 4];
        let zero8 = [0u8; 8];
        let zero16 = [0u8; 16];

        let rb = build_chunk(
            RBRP,
            0x80,
            &[
                pe(prop_type::VERSION, 4, 0x50),
                pe(prop_type::FLAG, 4, 0x74),
                pe(prop_type::FLAG, 4, 0x70),
                pe(prop_type::U64, 8, 0x78),
                pe(prop_type::U64, 8, 0x54),
                pe(prop_type::GUID, 16, 0x5C),
                pe(0, 0, 0),
                pe(0, 0, 0),
            ],
            &[
                (0x50, &one),
                (0x74, &zero4),
                (0x70, &zero4),
                (0x78, &zero8),
                (0x54, &zero8),
                (0x5C, &zero16),
            ],
        );
        let mut id_ref = [0u8; 8];
        id_ref[..4].copy_from_slice(&entry.local_id.to_le_bytes());
        id_ref[4..].copy_from_slice(&entry.container_id.to_le_bytes());
        let dd = build_chunk(
            DDRP,
            0x74,
            &[
                pe(prop_type::VERSION, 4, 0x28),
                pe(prop_type::ID_REF, 8, 0x2C),
                pe(prop_type::BLOB, ENTRY_LEN as u16, 0x34),
            ],
            &[(0x28, &one), (0x2C, &id_ref), (0x34, &entry_bytes)],
        );
        let fe = build_chunk(
            FERP,
            0x17C,
            &[
                pe(prop_type::VERSION, 4, 0x5C),
                pe(prop_type::VERSION, 4, 0x58),
                pe(prop_type::GUID, 16, 0x60),
                pe(prop_type::FILETIME, 8, 0x70),
                pe(prop_type::U64, 8, 0x78),
                pe(prop_type::ID, 4, 0x80),
                pe(prop_type::FLAG, 4, 0x84),
                pe(prop_type::BLOB, 0x80, 0x88),
                pe(prop_type::BLOB, 0x74, 0x108),
            ],
            &[
                (0x5C, &one),
                (0x58, &zero4),
                (0x60, &guid.0),
                (0x70, &created.0.to_le_bytes()),
                (0x78, &logical_size.to_le_bytes()),
                (0x80, &zero4),
                (0x84, &zero4),
                (0x88, &rb),
                (0x108, &dd),
            ],
        );
        let mut data = Vec::with_capacity(0x184);
        data.extend_from_slice(&V3_MAGIC);
        data.extend_from_slice(&0x184u16.to_le_bytes());
        data.extend_from_slice(&fe);
        push_trailing_crc(&mut data, 0);
        Ok(Self::parse(&data, 0).expect("a freshly built v3 point parses"))
    }

    /// Encodes the reparse data (without the 8-byte buffer header), CRC included. Typed fields
    /// are written into their slots; chunk CRCs are resealed per [`PropertyChunk`]'s rule (the
    /// span detected on read, else bytes `08..size` if anything changed).
    //
    // One piece on purpose, like `parse`: one `put` per typed field, in layout order, then the
    // reseals; the nested `put` is what makes it long.
    pub fn to_bytes(&self) -> Result<Vec<u8>, BuildError> {
        fn put(
            chunk: &PropertyChunk,
            buf: &mut [u8],
            index: usize,
            value: Option<&[u8]>,
            name: &str,
        ) -> Result<(), BuildError> {
            let Some(value) = value else { return Ok(()) };
            match chunk.entries().get(index).filter(|e| !e.is_empty_slot()) {
                Some(e) if usize::from(e.size) == value.len() => {
                    let o = e.offset as usize;
                    buf[o..o + value.len()].copy_from_slice(value);
                    Ok(())
                }
                e => Err(BuildError::FieldSize {
                    field: name.to_owned(),
                    slot: e.map_or(0, |e| usize::from(e.size)),
                    actual: value.len(),
                }),
            }
        }
        let entry = self.entry.to_bytes().ok_or(BuildError::HashWidth {
            layout: "v3",
            index: 0,
            expected: 16,
            actual: self.entry.hash.as_bytes().len(),
        })?;
        let mut dd = self.dd.as_bytes().to_vec();
        put(
            &self.dd,
            &mut dd,
            dd_index::VERSION,
            self.ddrp_version
                .map(u32::to_le_bytes)
                .as_ref()
                .map(|b| &b[..]),
            "DdRp version",
        )?;
        let id_ref = self.id_ref.map(|r| {
            let mut b = [0u8; 8];
            b[..4].copy_from_slice(&r.local_id.to_le_bytes());
            b[4..].copy_from_slice(&r.container_id.to_le_bytes());
            b
        });
        put(
            &self.dd,
            &mut dd,
            dd_index::ID_REF,
            id_ref.as_ref().map(|b| &b[..]),
            "DdRp id-ref",
        )?;
        put(
            &self.dd,
            &mut dd,
            dd_index::ENTRY,
            Some(&entry),
            "DdRp reference entry",
        )?;
        self.dd.reseal(&mut dd);

        let mut fe = self.fe.as_bytes().to_vec();
        let le4 = |v: Option<u32>| v.map(u32::to_le_bytes);
        put(
            &self.fe,
            &mut fe,
            fe_index::VERSION,
            le4(self.version).as_ref().map(|b| &b[..]),
            "FeRp version",
        )?;
        put(
            &self.fe,
            &mut fe,
            fe_index::FLAGS,
            le4(self.flags).as_ref().map(|b| &b[..]),
            "FeRp flags",
        )?;
        put(
            &self.fe,
            &mut fe,
            fe_index::GUID,
            Some(&self.guid.0),
            "FeRp GUID",
        )?;
        let created = self.created.map(|t| t.0.to_le_bytes());
        put(
            &self.fe,
            &mut fe,
            fe_index::CREATED,
            created.as_ref().map(|b| &b[..]),
            "FeRp creation time",
        )?;
        put(
            &self.fe,
            &mut fe,
            fe_index::SIZE,
            Some(&self.logical_size.to_le_bytes()),
            "FeRp logical size",
        )?;
        put(
            &self.fe,
            &mut fe,
            fe_index::ID,
            le4(self.id).as_ref().map(|b| &b[..]),
            "FeRp id",
        )?;
        put(
            &self.fe,
            &mut fe,
            fe_index::RECALL_BITMAP_TYPE,
            le4(self.recall_bitmap_type).as_ref().map(|b| &b[..]),
            "FeRp recall-bitmap type",
        )?;
        put(
            &self.fe,
            &mut fe,
            fe_index::DDRP,
            Some(&dd),
            "FeRp DdRp blob",
        )?;
        self.fe.reseal(&mut fe);

        let total = fe.len() + 8;
        if total > usize::from(u16::MAX) {
            return Err(BuildError::TooLong {
                length: total,
                max: usize::from(u16::MAX),
            });
        }
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&V3_MAGIC);
        out.extend_from_slice(&(total as u16).to_le_bytes());
        out.extend_from_slice(&fe);
        push_trailing_crc(&mut out, 0);
        Ok(out)
    }
}
