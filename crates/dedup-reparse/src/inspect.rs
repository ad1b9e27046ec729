//! Lenient decoding of a possibly truncated v3 buffer, for "inspect" tools and for the real TNF
//! dump, which shows only the first 0xCD bytes of a 0x184-byte v3 buffer
//! (`fixtures/dedup/tnf-v3-reparse-prefix/`). Nothing here checks a CRC: the result says
//! what the bytes claim, not that they are intact. Use [`crate::DedupReparse::parse`] for that.

use crate::chunk::{CHUNK_HEADER_LEN, PROPERTY_ENTRY_LEN, PropertyEntry, prop_type};
use crate::read::{View, le_u32, le_u64};
use crate::v3::{FERP, V3_MAGIC, fe_index};
use crate::{FileTime, Guid, IO_REPARSE_TAG_DEDUP, ParseError};

/// Header of a property chunk as far as it is present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPrefix {
    /// Offset of the chunk's magic in the reparse data.
    pub data_offset: usize,
    /// The magic bytes.
    pub magic: [u8; 4],
    /// Stored CRC-32 (+04).
    pub stored_crc: u32,
    /// Declared size (+08).
    pub size: u32,
    /// Declared number of entries (+0E).
    pub entry_count: u16,
    /// The entries that are wholly present.
    pub entries: Vec<PropertyEntry>,
}

/// What a (possibly truncated) v3 buffer shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Prefix {
    /// Reparse-data length declared at data+02.
    pub declared_length: u16,
    /// Reparse-data bytes present.
    pub available: usize,
    /// The outer FeRp header.
    pub ferp: ChunkPrefix,
    /// FeRp\[0\] version, if present.
    pub version: Option<u32>,
    /// FeRp\[1\] flags, if present.
    pub flags: Option<u32>,
    /// FeRp\[2\] chunk-store GUID, if present.
    pub guid: Option<Guid>,
    /// FeRp\[3\] creation time, if present.
    pub created: Option<FileTime>,
    /// FeRp\[4\] logical size, if present.
    pub logical_size: Option<u64>,
    /// Headers of the nested chunks (FeRp\[7\], FeRp\[8\]) whose first 16 bytes are present.
    pub nested: Vec<ChunkPrefix>,
}

impl V3Prefix {
    /// True when the whole declared length is present.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.available >= usize::from(self.declared_length)
    }
}

fn chunk_prefix(data: &[u8], off: usize) -> Option<ChunkPrefix> {
    let h = data.get(off..off.checked_add(CHUNK_HEADER_LEN)?)?;
    let count = u16::from_le_bytes([h[0x0E], h[0x0F]]);
    let mut entries = Vec::new();
    for i in 0..usize::from(count) {
        let eo = off + CHUNK_HEADER_LEN + i * PROPERTY_ENTRY_LEN;
        let Some(e) = data.get(eo..eo + PROPERTY_ENTRY_LEN) else {
            break;
        };
        entries.push(PropertyEntry {
            ty: u16::from_le_bytes([e[0], e[1]]),
            size: u16::from_le_bytes([e[2], e[3]]),
            offset: le_u32(e, 4),
        });
    }
    Some(ChunkPrefix {
        data_offset: off,
        magic: [h[0], h[1], h[2], h[3]],
        stored_crc: le_u32(h, 4),
        size: le_u32(h, 8),
        entry_count: count,
        entries,
    })
}

/// Decodes what a truncated v3 buffer shows (bare reparse data or a full buffer with the dedup
/// tag). Fails only if the version bytes or the FeRp header are missing or wrong.
pub fn inspect_v3_prefix(input: &[u8]) -> Result<V3Prefix, ParseError> {
    let (data, base) = if input.len() >= 4 && le_u32(input, 0) == IO_REPARSE_TAG_DEDUP {
        (input.get(8..).unwrap_or(&[]), 8)
    } else {
        (input, 0)
    };
    let v = View::new(data, base);
    let version: [u8; 2] = v.array(0, "v3 version bytes")?;
    if version != V3_MAGIC {
        return Err(ParseError::UnknownVersion {
            offset: base,
            actual: version,
        });
    }
    let declared_length = v.u16(2, "v3 reparse-data length")?;
    let magic: [u8; 4] = v.array(4, "FeRp magic")?;
    if magic != FERP {
        return Err(ParseError::BadMagic {
            offset: base + 4,
            expected: FERP,
            actual: magic,
        });
    }
    v.slice(4, CHUNK_HEADER_LEN, "FeRp header")?;
    let ferp = chunk_prefix(data, 4).ok_or(ParseError::Truncated {
        offset: base + 4,
        what: "FeRp header",
        needed: CHUNK_HEADER_LEN,
        available: data.len().saturating_sub(4),
    })?;
    let value = |index: usize, ty: u16, size: u16| -> Option<&[u8]> {
        let e = ferp
            .entries
            .get(index)
            .filter(|e| e.ty == ty && e.size == size)?;
        let start = (e.offset as usize).checked_add(4)?;
        data.get(start..start.checked_add(usize::from(size))?)
    };
    let nested = [fe_index::RBRP, fe_index::DDRP]
        .iter()
        .filter_map(|&i| {
            let e = ferp.entries.get(i).filter(|e| e.ty == prop_type::BLOB)?;
            chunk_prefix(data, (e.offset as usize).checked_add(4)?)
        })
        .collect();
    Ok(V3Prefix {
        declared_length,
        available: data.len(),
        version: value(fe_index::VERSION, prop_type::VERSION, 4).map(|b| le_u32(b, 0)),
        flags: value(fe_index::FLAGS, prop_type::VERSION, 4).map(|b| le_u32(b, 0)),
        guid: value(fe_index::GUID, prop_type::GUID, 16).map(|b| {
            let mut g = [0u8; 16];
            g.copy_from_slice(b);
            Guid(g)
        }),
        created: value(fe_index::CREATED, prop_type::FILETIME, 8).map(|b| FileTime(le_u64(b, 0))),
        logical_size: value(fe_index::SIZE, prop_type::U64, 8).map(|b| le_u64(b, 0)),
        nested,
        ferp,
    })
}
