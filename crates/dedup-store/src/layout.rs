//! On-disk structures of a chunk-store container (`.ccc`), parsed and built by hand.
//!
//! Every layout here is from `docs/dedup-format.md` §3 and was verified byte by byte on
//! the Windows Server 2019 data container in `fixtures/dedup/` (spec key SAMPLE), with
//! field names after Stefano Moioli's ManagedDedup notes (SMX) and the ETW-CHG event strings.
//! All integers are little-endian.

use crate::crc64::crc64;

/// Offsets of the three `Cthr` header slots (docs/dedup-format.md §3.1, CONFIRMED).
pub const HEADER_SLOT_OFFSETS: [u32; 3] = [0x0000, 0x1000, 0x2000];
/// Offset of the primary `Rrtl` redirection table (docs/dedup-format.md §3.1, CONFIRMED).
pub const PRIMARY_REDIRECTION_OFFSET: u32 = 0x3000;
/// Offset of the backup `Rrtl` redirection table; also stored in the header at +0x30.
pub const BACKUP_REDIRECTION_OFFSET: u32 = 0x4000;
/// Size of one header / table slot.
pub const SLOT_SIZE: u32 = 0x1000;
/// Offset of the first chunk record (docs/dedup-format.md §3.1, CONFIRMED).
pub const FIRST_RECORD_OFFSET: u32 = 0x5000;
/// Length of the fixed area (header slots and redirection tables) before the first record.
pub const FIXED_AREA_LEN: usize = FIRST_RECORD_OFFSET as usize;
/// Records start on this alignment; the gap before the next one is zero-filled.
pub const RECORD_ALIGN: u32 = 8;
/// Each append run ends on this boundary with a padding record.
pub const APPEND_ALIGN: u32 = 0x1000;

/// `Cthr` magic.
pub const CTHR_MAGIC: [u8; 4] = *b"Cthr";
/// `Cthr` version bytes seen on the sample.
pub const CTHR_VERSION: [u8; 4] = [0x01, 0x04, 0x04, 0x01];
/// `Rrtl` magic.
pub const RRTL_MAGIC: [u8; 4] = *b"Rrtl";
/// `Rrtl` version bytes seen on the sample.
pub const RRTL_VERSION: [u8; 4] = [0x01, 0x03, 0x03, 0x01];
/// `Ckhr` magic.
pub const CKHR_MAGIC: [u8; 4] = *b"Ckhr";
/// `Ckhr` version bytes seen on the sample.
pub const CKHR_VERSION: [u8; 4] = [0x01, 0x03, 0x03, 0x01];
/// `Smap` magic.
pub const SMAP_MAGIC: [u8; 4] = *b"Smap";

pub(crate) fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
pub(crate) fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
pub(crate) fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}
pub(crate) fn arr4(b: &[u8], at: usize) -> [u8; 4] {
    [b[at], b[at + 1], b[at + 2], b[at + 3]]
}
pub(crate) fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Rounds `v` up to a multiple of `align` (a power of two).
#[must_use]
pub const fn align_up(v: u64, align: u64) -> u64 {
    (v + align - 1) & !(align - 1)
}

/// The 64-byte `Cthr` container header (docs/dedup-format.md §3.2; layout CONFIRMED on SAMPLE + SMX; names from
/// the ETW-CHG event 16400 strings).
///
/// | off | field |
/// |---|---|
/// | 00 | `Cthr` |
/// | 04 | version `01 04 04 01` |
/// | 08 | u64 USN (header update sequence) |
/// | 10 | u32 container id |
/// | 14 | u32 generation |
/// | 18 | u32 chunk count |
/// | 1C | u32 next local id |
/// | 20 | u64 valid data length |
/// | 28 | u64 FILETIME of the last append |
/// | 30 | u32 backup redirection-table offset (0x4000) |
/// | 34 | u32 unknown (0 on the sample; kept) |
/// | 38 | u64 CRC-64 of bytes 00..38 |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerHeader {
    /// Version bytes at +04.
    pub version: [u8; 4],
    /// Header update sequence number; the valid slot with the highest wins.
    pub usn: u64,
    /// Container id (first component of the file name).
    pub container_id: u32,
    /// Generation (second component of the file name), bumped by each compaction.
    pub generation: u32,
    /// Number of chunk records (data and stream map; padding not counted).
    pub chunk_count: u32,
    /// The local id the next appended chunk gets.
    pub next_local_id: u32,
    /// Valid data length: the end of the last append run.
    pub valid_data_length: u64,
    /// FILETIME (100 ns since 1601) of the last append.
    pub last_append_filetime: u64,
    /// Offset of the backup redirection table.
    pub backup_redirection_offset: u32,
    /// Unknown field at +34 (0 on the sample), kept as read.
    pub unknown_34: u32,
}

impl ContainerHeader {
    /// Size in bytes.
    pub const SIZE: usize = 0x40;

    /// Parses a header from the 64 bytes of a slot without checking anything.
    #[must_use]
    pub fn decode(b: &[u8; Self::SIZE]) -> Self {
        Self {
            version: arr4(b, 4),
            usn: le_u64(b, 0x08),
            container_id: le_u32(b, 0x10),
            generation: le_u32(b, 0x14),
            chunk_count: le_u32(b, 0x18),
            next_local_id: le_u32(b, 0x1C),
            valid_data_length: le_u64(b, 0x20),
            last_append_filetime: le_u64(b, 0x28),
            backup_redirection_offset: le_u32(b, 0x30),
            unknown_34: le_u32(b, 0x34),
        }
    }

    /// Serialises the header with magic and CRC.
    #[must_use]
    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..4].copy_from_slice(&CTHR_MAGIC);
        b[4..8].copy_from_slice(&self.version);
        put_u64(&mut b, 0x08, self.usn);
        put_u32(&mut b, 0x10, self.container_id);
        put_u32(&mut b, 0x14, self.generation);
        put_u32(&mut b, 0x18, self.chunk_count);
        put_u32(&mut b, 0x1C, self.next_local_id);
        put_u64(&mut b, 0x20, self.valid_data_length);
        put_u64(&mut b, 0x28, self.last_append_filetime);
        put_u32(&mut b, 0x30, self.backup_redirection_offset);
        put_u32(&mut b, 0x34, self.unknown_34);
        let crc = crc64(&b[..0x38]);
        put_u64(&mut b, 0x38, crc);
        b
    }
}

/// Header of a `Rrtl` redirection table (docs/dedup-format.md §3.3: header CONFIRMED on SAMPLE, entries HIGH
/// from JPA's ntfs-3g plugin and SMX).
///
/// | off | field |
/// |---|---|
/// | 00 | `Rrtl` |
/// | 04 | version `01 03 03 01` |
/// | 08 | u32 entry count |
/// | 0C | u32 entry size (8) |
/// | 10 | u64 unknown (all ones on the sample; kept) |
/// | 18 | u64 CRC-64 of bytes 00..18 |
/// | 20 | entries `{u32 local id, u32 new offset}` sorted by local id |
///
/// The CRC covers only the header; how a table larger than its 4 KiB slot is laid out is
/// unknown, so at most [`RedirectionTable::CAPACITY`] entries exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectionTable {
    /// Version bytes at +04.
    pub version: [u8; 4],
    /// Entry size at +0C (8 on every sample).
    pub entry_size: u32,
    /// Unknown u64 at +10 (all ones on the sample).
    pub unknown_10: u64,
    /// `(local id, new record offset)`, sorted by local id.
    pub entries: Vec<(u32, u32)>,
}

impl Default for RedirectionTable {
    fn default() -> Self {
        Self {
            version: RRTL_VERSION,
            entry_size: 8,
            unknown_10: u64::MAX,
            entries: Vec::new(),
        }
    }
}

impl RedirectionTable {
    /// Size of the table header.
    pub const HEADER_SIZE: usize = 0x20;
    /// The most entries that fit in one 4 KiB slot.
    pub const CAPACITY: usize = (SLOT_SIZE as usize - Self::HEADER_SIZE) / 8;

    /// Serialises the table into a zero-filled 4 KiB slot image.
    ///
    /// # Panics
    /// If there are more than [`Self::CAPACITY`] entries (the writer checks first).
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        assert!(self.entries.len() <= Self::CAPACITY);
        let mut b = vec![0u8; SLOT_SIZE as usize];
        b[0..4].copy_from_slice(&RRTL_MAGIC);
        b[4..8].copy_from_slice(&self.version);
        put_u32(&mut b, 0x08, self.entries.len() as u32);
        put_u32(&mut b, 0x0C, self.entry_size);
        put_u64(&mut b, 0x10, self.unknown_10);
        let crc = crc64(&b[..0x18]);
        put_u64(&mut b, 0x18, crc);
        for (i, (id, off)) in self.entries.iter().enumerate() {
            let at = Self::HEADER_SIZE + 8 * i;
            put_u32(&mut b, at, *id);
            put_u32(&mut b, at + 4, *off);
        }
        b
    }

    /// The redirected offset of `local_id`, if the table has one.
    #[must_use]
    pub fn lookup(&self, local_id: u32) -> Option<u32> {
        self.entries
            .binary_search_by_key(&local_id, |e| e.0)
            .ok()
            .map(|i| self.entries[i].1)
    }
}

/// Record types of a `Ckhr` (docs/dedup-format.md §3.4, CONFIRMED for 1 and 4 on SAMPLE; 2 HIGH).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// A data chunk (type 1, 0x58-byte header).
    Data,
    /// A stream map (type 2, 0x68-byte header, `Smap` payload).
    StreamMap,
    /// Padding to a 4 KiB boundary (type 4, 0x30-byte header, zero payload).
    Padding,
}

impl RecordType {
    /// The on-disk value.
    #[must_use]
    pub const fn code(self) -> u16 {
        match self {
            Self::Data => 1,
            Self::StreamMap => 2,
            Self::Padding => 4,
        }
    }

    /// From the on-disk value.
    #[must_use]
    pub const fn from_code(code: u16) -> Option<Self> {
        match code {
            1 => Some(Self::Data),
            2 => Some(Self::StreamMap),
            4 => Some(Self::Padding),
            _ => None,
        }
    }

    /// The hash-field offset stored at +12 for this type (0x28 data, 0x38 stream map, 0 padding).
    #[must_use]
    pub const fn hash_offset(self) -> u16 {
        match self {
            Self::Data => 0x28,
            Self::StreamMap => 0x38,
            Self::Padding => 0,
        }
    }

    /// Header length: hash offset + 32 (hash) + 8 (payload CRC) + 8 (header CRC) for chunk
    /// records; 0x30 for padding.
    #[must_use]
    pub const fn header_len(self) -> usize {
        match self {
            Self::Data => 0x58,
            Self::StreamMap => 0x68,
            Self::Padding => 0x30,
        }
    }

    /// A short name for reports.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Data => "data",
            Self::StreamMap => "stream-map",
            Self::Padding => "padding",
        }
    }
}

/// Compression of a chunk payload (data `Ckhr` +0x20; docs/dedup-format.md §4.1).
///
/// Only 0 and 2 have been observed; SMX maps 1 and 3 to LZNT1 and Xpress-Huffman, which is a
/// guess (LOW), so this reader refuses them with a clear error instead of guessing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Stored as is (0).
    Stored,
    /// MS-XCA plain LZ77 (2).
    Xpress,
    /// Any other value: not decodable here.
    Unsupported(u32),
}

impl Compression {
    /// From the on-disk value.
    #[must_use]
    pub const fn from_code(code: u32) -> Self {
        match code {
            0 => Self::Stored,
            2 => Self::Xpress,
            other => Self::Unsupported(other),
        }
    }

    /// The on-disk value.
    #[must_use]
    pub const fn code(self) -> u32 {
        match self {
            Self::Stored => 0,
            Self::Xpress => 2,
            Self::Unsupported(c) => c,
        }
    }
}

/// A decoded `Ckhr` record header (docs/dedup-format.md §3.4).
///
/// Common part: `Ckhr`, version `01 03 03 01`, u32 local id, u32 stored payload size, u16 type,
/// u16 hash offset, 3×u32 unknown (8, 8, 8 on every sample record). Data and stream-map records
/// then have u32 compression, u32 (same value again on the sample), 16 more unknown bytes on
/// stream maps, the 32-byte hash, u64 payload CRC-64, u64 header CRC-64. Padding records have a
/// u64 (all ones) and the header CRC-64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Byte offset of the record in the container.
    pub offset: u32,
    /// Record type.
    pub record_type: RecordType,
    /// Local id (0 for padding).
    pub local_id: u32,
    /// Stored payload size.
    pub stored_size: u32,
    /// The three unknown u32 at +14 (8, 8, 8 on every sample record).
    pub unknown_14: [u32; 3],
    /// Compression (chunk records only; `Stored` for padding).
    pub compression: Compression,
    /// The u32 at +24 (equal to the compression value on the sample).
    pub compression_copy: u32,
    /// Stream-map records: the 16 unknown bytes between +28 and the hash.
    pub stream_extra: [u8; 16],
    /// The 32-byte hash slot (zero for padding).
    pub hash: [u8; 32],
    /// Stored payload CRC-64 (padding: the u64 at +20, all ones on the sample).
    pub payload_crc: u64,
    /// Header CRC-64 as stored.
    pub header_crc: u64,
}

impl RecordHeader {
    /// Header length of this record.
    #[must_use]
    pub const fn header_len(&self) -> usize {
        self.record_type.header_len()
    }

    /// Offset of the payload.
    #[must_use]
    pub const fn payload_offset(&self) -> u64 {
        self.offset as u64 + self.header_len() as u64
    }

    /// One past the last payload byte.
    #[must_use]
    pub const fn payload_end(&self) -> u64 {
        self.payload_offset() + self.stored_size as u64
    }

    /// Where the next record starts (8-byte aligned).
    #[must_use]
    pub const fn next_record_offset(&self) -> u64 {
        align_up(self.payload_end(), RECORD_ALIGN as u64)
    }

    /// Serialises the header, computing its CRC-64 (the stored `header_crc` is ignored).
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let len = self.header_len();
        let mut b = vec![0u8; len];
        b[0..4].copy_from_slice(&CKHR_MAGIC);
        b[4..8].copy_from_slice(&CKHR_VERSION);
        put_u32(&mut b, 0x08, self.local_id);
        put_u32(&mut b, 0x0C, self.stored_size);
        put_u16(&mut b, 0x10, self.record_type.code());
        put_u16(&mut b, 0x12, self.record_type.hash_offset());
        for (i, v) in self.unknown_14.iter().enumerate() {
            put_u32(&mut b, 0x14 + 4 * i, *v);
        }
        match self.record_type {
            RecordType::Padding => {
                put_u64(&mut b, 0x20, self.payload_crc);
            }
            RecordType::Data | RecordType::StreamMap => {
                put_u32(&mut b, 0x20, self.compression.code());
                put_u32(&mut b, 0x24, self.compression_copy);
                if self.record_type == RecordType::StreamMap {
                    b[0x28..0x38].copy_from_slice(&self.stream_extra);
                }
                let h = usize::from(self.record_type.hash_offset());
                b[h..h + 32].copy_from_slice(&self.hash);
                put_u64(&mut b, h + 32, self.payload_crc);
            }
        }
        let crc = crc64(&b[..len - 8]);
        put_u64(&mut b, len - 8, crc);
        b
    }
}
