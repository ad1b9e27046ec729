//! Windows Server Data Deduplication reparse points (`IO_REPARSE_TAG_DEDUP`, 0x80000013): parse
//! and build the three known layouts.
//!
//! * v1 `01 02`: fixed 0x7C-byte layout ([`ReparseV1`], docs/dedup-format.md §1.4),
//! * v2 `02 01`: field table walked by id ([`ReparseV2`], docs/dedup-format.md §1.5),
//! * v3 `03 01`: nested `FeRp`/`RbRp`/`DdRp` property chunks ([`ReparseV3`], docs/dedup-format.md §1.6).
//!
//! "spec" is `docs/dedup-format.md`. The input is either a full `REPARSE_DATA_BUFFER`
//! (u32 tag, u16 data length, u16 reserved, data) or the bare reparse data; both are accepted by
//! [`DedupReparse::parse`]. Checked: the tag, every length field, the trailing CRC-32/IEEE of the
//! reparse data (strict), the bounds, types and sizes of every field we decode. The CRC of a v3
//! property chunk has an unsettled span: it is checked leniently and the matching span reported
//! ([`CrcSpan`]).
//!
//! Unknown fields are kept, and `parse → to_bytes` reproduces the input byte for byte. Builders
//! ([`DedupReparse::new`], [`ReparseV1::new`], [`ReparseV2::new`], [`ReparseV3::new`]) create
//! fresh points for a simulator.
//!
//! This is a format crate: no I/O. Parsing never panics, whatever the input.
//!
//! ```
//! use dedup_reparse::{DedupReparse, FileTime, Guid, LayoutVersion, ReferenceEntry, StreamMapHash};
//! let guid: Guid = "{5D1B7BFA-B73E-42A0-95CB-91CE1921CFB2}".parse().unwrap();
//! let entry = ReferenceEntry::new(7, 0x10000, 0x5000, 8 + 64, StreamMapHash::Short([1; 16]), 0..281_996);
//! let point = DedupReparse::new(LayoutVersion::V3, guid, 281_996, entry, FileTime(0)).unwrap();
//! let bytes = point.to_bytes().unwrap();
//! let back = DedupReparse::parse(&bytes).unwrap();
//! assert_eq!(back.guid(), guid);
//! assert_eq!(back.logical_size(), 281_996);
//! assert_eq!(back.entries()[0].local_id, 7);
//! ```

mod chunk;
mod entry;
mod error;
mod guid;
mod inspect;
mod read;
mod v1;
mod v2;
mod v3;

pub use chunk::{
    CHUNK_HEADER_LEN, CrcSpan, PROPERTY_ENTRY_LEN, PropertyChunk, PropertyEntry, prop_type,
};
pub use entry::{ENTRY_LEN, ReferenceEntry, StreamMapHash, TilingError, check_entries};
pub use error::{BuildError, ParseError};
pub use guid::{Guid, GuidParseError};
pub use inspect::{ChunkPrefix, V3Prefix, inspect_v3_prefix};
pub use v1::{ReparseV1, V1_LEN, V1_MAGIC};
pub use v2::{FIELD_ENTRIES, FIELD_GUID, FIELD_STREAM_KEY, ReparseV2, V2_MAGIC, V2Row};
pub use v3::{DDRP, FERP, IdRef, RBRP, ReparseV3, V3_MAGIC, dd_index, fe_index};

use read::View;

/// `IO_REPARSE_TAG_DEDUP` (docs/dedup-format.md §1.1, CONFIRMED).
pub const IO_REPARSE_TAG_DEDUP: u32 = 0x8000_0013;

/// Length of the `REPARSE_DATA_BUFFER` header (tag, data length, reserved).
pub const BUFFER_HEADER_LEN: usize = 8;

/// A Windows FILETIME: 100-ns intervals since 1601-01-01 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileTime(pub u64);

impl FileTime {
    /// Seconds between 1601-01-01 and 1970-01-01.
    pub const UNIX_EPOCH_OFFSET_SECS: i64 = 11_644_473_600;

    /// Whole seconds since the Unix epoch (negative before 1970).
    #[must_use]
    pub fn unix_seconds(self) -> i64 {
        // u64::MAX / 10^7 < i64::MAX, so the conversion cannot fail.
        i64::try_from(self.0 / 10_000_000).unwrap_or(i64::MAX) - Self::UNIX_EPOCH_OFFSET_SECS
    }

    /// The FILETIME of a Unix time in whole seconds (saturating at 0 before 1601).
    #[must_use]
    pub fn from_unix_seconds(secs: i64) -> Self {
        let s = u64::try_from(secs.saturating_add(Self::UNIX_EPOCH_OFFSET_SECS)).unwrap_or(0);
        Self(s.saturating_mul(10_000_000))
    }
}

/// The three layouts, by their version bytes (docs/dedup-format.md §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LayoutVersion {
    /// `01 02`.
    V1,
    /// `02 01`.
    V2,
    /// `03 01`.
    V3,
}

impl LayoutVersion {
    /// The two version bytes at data+0.
    #[must_use]
    pub fn magic(self) -> [u8; 2] {
        match self {
            Self::V1 => V1_MAGIC,
            Self::V2 => V2_MAGIC,
            Self::V3 => V3_MAGIC,
        }
    }

    /// The layout named by two version bytes.
    #[must_use]
    pub fn from_magic(b: [u8; 2]) -> Option<Self> {
        match b {
            V1_MAGIC => Some(Self::V1),
            V2_MAGIC => Some(Self::V2),
            V3_MAGIC => Some(Self::V3),
            _ => None,
        }
    }
}

/// How the input was framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framing {
    /// Bare reparse data.
    Bare,
    /// A full `REPARSE_DATA_BUFFER`; `reserved` is the u16 at +06 (0 on Windows; kept).
    Buffer {
        /// The reserved field.
        reserved: u16,
    },
}

/// One of the three layouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// `01 02`.
    V1(ReparseV1),
    /// `02 01`.
    V2(ReparseV2),
    /// `03 01` (boxed: it keeps its three property chunks).
    V3(Box<ReparseV3>),
}

/// A parsed (or freshly built) dedup reparse point with its framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupReparse {
    /// Whether it came as (and is written back as) a full buffer or bare data.
    pub framing: Framing,
    /// The layout and its fields.
    pub layout: Layout,
}

/// Checks the version bytes and that the u16 at data+2 equals the data length.
pub(crate) fn check_version_and_length(v: View<'_>, magic: [u8; 2]) -> Result<(), ParseError> {
    let found: [u8; 2] = v.array(0, "reparse data version")?;
    if found != magic {
        return Err(ParseError::UnknownVersion {
            offset: v.base,
            actual: found,
        });
    }
    let declared = v.u16(2, "reparse data length")?;
    if usize::from(declared) != v.len() {
        return Err(ParseError::LengthMismatch {
            offset: v.base + 2,
            what: "reparse-data length at data+2",
            expected: v.len() as u64,
            actual: u64::from(declared),
        });
    }
    if v.len() < 8 {
        return Err(ParseError::Truncated {
            offset: v.base,
            what: "reparse data",
            needed: 8,
            available: v.len(),
        });
    }
    Ok(())
}

impl DedupReparse {
    /// Parses a full `REPARSE_DATA_BUFFER` or bare reparse data. A buffer is recognised by the
    /// dedup tag in its first four bytes; bare data by known version bytes.
    pub fn parse(input: &[u8]) -> Result<Self, ParseError> {
        if input.len() >= 4 && read::le_u32(input, 0) == IO_REPARSE_TAG_DEDUP {
            return Self::parse_buffer(input);
        }
        if input.len() >= 2 && LayoutVersion::from_magic([input[0], input[1]]).is_some() {
            return Self::parse_data(input);
        }
        if input.len() >= 4 && read::le_u32(input, 0) & 0x8000_0000 != 0 {
            // Looks like a Microsoft reparse tag, but not ours.
            return Self::parse_buffer(input);
        }
        let v = View::new(input, 0);
        let actual: [u8; 2] = v.array(0, "reparse data version")?;
        Err(ParseError::UnknownVersion { offset: 0, actual })
    }

    /// Parses a full `REPARSE_DATA_BUFFER`: tag, data length (must equal the bytes that follow the
    /// 8-byte header), reserved, data.
    pub fn parse_buffer(input: &[u8]) -> Result<Self, ParseError> {
        let v = View::new(input, 0);
        let tag = v.u32(0, "reparse tag")?;
        if tag != IO_REPARSE_TAG_DEDUP {
            return Err(ParseError::WrongTag {
                offset: 0,
                expected: IO_REPARSE_TAG_DEDUP,
                actual: tag,
            });
        }
        let len = v.u16(4, "ReparseDataLength")?;
        let reserved = v.u16(6, "Reserved")?;
        let data = &input[BUFFER_HEADER_LEN..];
        if usize::from(len) != data.len() {
            return Err(ParseError::LengthMismatch {
                offset: 4,
                what: "ReparseDataLength",
                expected: data.len() as u64,
                actual: u64::from(len),
            });
        }
        Ok(Self {
            framing: Framing::Buffer { reserved },
            layout: Self::parse_layout(data, BUFFER_HEADER_LEN)?,
        })
    }

    /// Parses bare reparse data (starting with the version bytes).
    pub fn parse_data(data: &[u8]) -> Result<Self, ParseError> {
        Ok(Self {
            framing: Framing::Bare,
            layout: Self::parse_layout(data, 0)?,
        })
    }

    fn parse_layout(data: &[u8], base: usize) -> Result<Layout, ParseError> {
        let v = View::new(data, base);
        let magic: [u8; 2] = v.array(0, "reparse data version")?;
        match LayoutVersion::from_magic(magic) {
            Some(LayoutVersion::V1) => ReparseV1::parse(data, base).map(Layout::V1),
            Some(LayoutVersion::V2) => ReparseV2::parse(data, base).map(Layout::V2),
            Some(LayoutVersion::V3) => {
                ReparseV3::parse(data, base).map(|p| Layout::V3(Box::new(p)))
            }
            None => Err(ParseError::UnknownVersion {
                offset: base,
                actual: magic,
            }),
        }
    }

    /// A fresh point of the given layout, framed as a full buffer (reserved 0), covering one
    /// stream map. `entry`'s range is set to `0..logical_size`. v1 needs a 32-byte hash, v2/v3 a
    /// 16-byte one. `created` is used by v3 only (v1/v2 have no known time field).
    pub fn new(
        version: LayoutVersion,
        guid: Guid,
        logical_size: u64,
        mut entry: ReferenceEntry,
        created: FileTime,
    ) -> Result<Self, BuildError> {
        entry.range_begin = 0;
        entry.range_end = logical_size;
        let layout = match version {
            LayoutVersion::V1 => Layout::V1(ReparseV1::new(guid, logical_size, entry)),
            LayoutVersion::V2 => Layout::V2(ReparseV2::new(guid, vec![entry])?),
            LayoutVersion::V3 => Layout::V3(Box::new(ReparseV3::new(
                guid,
                logical_size,
                created,
                entry,
            )?)),
        };
        let point = Self {
            framing: Framing::Buffer { reserved: 0 },
            layout,
        };
        // Surface hash-width problems now rather than at to_bytes time.
        point.to_data()?;
        Ok(point)
    }

    /// The layout version.
    #[must_use]
    pub fn version(&self) -> LayoutVersion {
        match self.layout {
            Layout::V1(_) => LayoutVersion::V1,
            Layout::V2(_) => LayoutVersion::V2,
            Layout::V3(_) => LayoutVersion::V3,
        }
    }

    /// The chunk-store GUID (→ `ChunkStore\{GUID}.ddp`).
    #[must_use]
    pub fn guid(&self) -> Guid {
        match &self.layout {
            Layout::V1(p) => p.guid,
            Layout::V2(p) => p.guid,
            Layout::V3(p) => p.guid,
        }
    }

    /// The logical file size (v1/v3: header field; v2: the largest entry end).
    #[must_use]
    pub fn logical_size(&self) -> u64 {
        match &self.layout {
            Layout::V1(p) => p.logical_size,
            Layout::V2(p) => p.logical_size(),
            Layout::V3(p) => p.logical_size,
        }
    }

    /// Every stream-map reference entry (one for v1/v3; one or more for v2).
    #[must_use]
    pub fn entries(&self) -> &[ReferenceEntry] {
        match &self.layout {
            Layout::V1(p) => std::slice::from_ref(&p.entry),
            Layout::V2(p) => &p.entries,
            Layout::V3(p) => std::slice::from_ref(&p.entry),
        }
    }

    /// Encodes the reparse data only (no buffer header).
    pub fn to_data(&self) -> Result<Vec<u8>, BuildError> {
        match &self.layout {
            Layout::V1(p) => p.to_bytes(),
            Layout::V2(p) => p.to_bytes(),
            Layout::V3(p) => p.to_bytes(),
        }
    }

    /// Encodes a full `REPARSE_DATA_BUFFER` (the reserved field from [`Framing::Buffer`], else 0).
    pub fn to_buffer(&self) -> Result<Vec<u8>, BuildError> {
        let data = self.to_data()?;
        let reserved = match self.framing {
            Framing::Buffer { reserved } => reserved,
            Framing::Bare => 0,
        };
        let mut out = Vec::with_capacity(BUFFER_HEADER_LEN + data.len());
        out.extend_from_slice(&IO_REPARSE_TAG_DEDUP.to_le_bytes());
        out.extend_from_slice(&(data.len() as u16).to_le_bytes());
        out.extend_from_slice(&reserved.to_le_bytes());
        out.extend_from_slice(&data);
        Ok(out)
    }

    /// Encodes in the framing the point was parsed from (fresh points: a full buffer), so that
    /// `parse(x)?.to_bytes()? == x` for every accepted `x`.
    pub fn to_bytes(&self) -> Result<Vec<u8>, BuildError> {
        match self.framing {
            Framing::Bare => self.to_data(),
            Framing::Buffer { .. } => self.to_buffer(),
        }
    }
}
