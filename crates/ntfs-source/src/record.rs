//! Our own parser of detached NTFS structures, from bytes (no I/O): an MFT `FILE` record
//! ([`FileRecord`]) with its attributes and run lists, and an `INDX` block ([`IndexBlock`]) with
//! its entries (the `$Extend\$Reparse:$R` keys among them).
//!
//! Why our own (the `ntfs` crate reads records only inside a volume it has opened, through its
//! boot sector and `$MFT`):
//! * the real Windows sample is 256 `$MFT` records and one `INDX` block with no volume around
//!   them, and the `$R` index has keys (reparse tag + MFT reference) the crate has no type for;
//! * [`crate::NtfsSource`] parses every record it uses with this parser first, as a gate (it is
//!   fuzzed, see `fuzz/`; the crate is not) and for the one field the crate does not expose and
//!   does not honour: a non-resident value's initialized size (Windows' valid data length),
//!   past which a file reads as zeros whatever the clusters hold.
//!
//! Sources of the layouts (each cited again beside its struct):
//! * Microsoft, "FILE_RECORD_SEGMENT_HEADER structure", "MULTI_SECTOR_HEADER structure",
//!   "ATTRIBUTE_RECORD_HEADER structure" (Win32 devnotes, learn.microsoft.com).
//! * ntfs-3g `include/ntfs-3g/layout.h` (`MFT_RECORD`, `ATTR_RECORD`, `STANDARD_INFORMATION`,
//!   `FILE_NAME_ATTR`, `INDEX_BLOCK`, `INDEX_HEADER`, `INDEX_ENTRY_HEADER`, `REPARSE_INDEX_KEY`)
//!   and `libntfs-3g/runlist.c` (`ntfs_mapping_pairs_decompress`).
//! * The Linux-NTFS project's documentation (flatcap.github.io/linux-ntfs/ntfs): "Data Runs",
//!   "$STANDARD_INFORMATION", "$FILE_NAME", "Index Record", "$Reparse".
//!
//! Every error names the structure (the MFT record number, or the `INDX` block's VCN) and the
//! byte offset within it. Nothing here allocates more than the input's own length: run lists
//! are decoded into at most [`MAX_RUNS`] runs.

use std::fmt;

/// Most runs decoded from one run list (each takes at least two bytes of a record of at most
/// 64 KiB, so a real record never reaches this).
pub const MAX_RUNS: usize = 32 * 1024;

/// Largest record or index block accepted (real volumes use 1 KiB / 4 KiB records and 4 KiB
/// index blocks).
pub const MAX_RECORD_SIZE: usize = 64 * 1024;

/// Bytes per update-sequence stride (MULTI_SECTOR_HEADER: every 512-byte sector of a
/// multi-sector record ends with the update sequence number).
const SECTOR: usize = 512;

/// Which structure an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Structure {
    /// The MFT record with this number.
    MftRecord(u64),
    /// The index block with this VCN.
    IndexBlock(u64),
}

impl fmt::Display for Structure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MftRecord(n) => write!(f, "MFT record {n}"),
            Self::IndexBlock(v) => write!(f, "index block at VCN {v}"),
        }
    }
}

/// Why a record or index block does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{structure}, offset {offset:#x}: {what}")]
pub struct RecordError {
    /// The structure.
    pub structure: Structure,
    /// Byte offset within it.
    pub offset: usize,
    /// What is wrong.
    pub what: String,
}

fn err(structure: Structure, offset: usize, what: impl Into<String>) -> RecordError {
    RecordError {
        structure,
        offset,
        what: what.into(),
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at.checked_add(2)?)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at.checked_add(4)?)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// Applies the update sequence (MULTI_SECTOR_HEADER, Microsoft; ntfs-3g `ntfs_mst_post_read_
/// fixup`): `usa_offset` (u16 at 4) and `usa_count` (u16 at 6, sectors + 1). The first entry is
/// the update sequence number every sector's last two bytes must hold; the others are those
/// bytes' true values, put back.
fn apply_fixups(b: &mut [u8], structure: Structure) -> Result<(), RecordError> {
    let usa_offset = usize::from(u16_at(b, 4).ok_or_else(|| err(structure, 4, "truncated"))?);
    let usa_count = usize::from(u16_at(b, 6).ok_or_else(|| err(structure, 6, "truncated"))?);
    let sectors = b.len() / SECTOR;
    if usa_count == 0 || usa_count - 1 != sectors {
        return Err(err(
            structure,
            6,
            format!(
                "update sequence count {usa_count}, expected {} for {} bytes",
                sectors + 1,
                b.len()
            ),
        ));
    }
    if !usa_offset.is_multiple_of(2) || usa_offset + 2 * usa_count > SECTOR - 2 {
        return Err(err(
            structure,
            4,
            format!("update sequence array at {usa_offset:#x} does not fit the first sector"),
        ));
    }
    let usn = [b[usa_offset], b[usa_offset + 1]];
    for i in 0..sectors {
        let end = (i + 1) * SECTOR - 2;
        if b[end..end + 2] != usn {
            return Err(err(
                structure,
                end,
                format!(
                    "torn write: sector {i} ends with {:02x}{:02x}, not the update sequence \
                     number {:02x}{:02x}",
                    b[end],
                    b[end + 1],
                    usn[0],
                    usn[1]
                ),
            ));
        }
        let src = usa_offset + 2 * (i + 1);
        b[end] = b[src];
        b[end + 1] = b[src + 1];
    }
    Ok(())
}

/// `FILE_RECORD_SEGMENT_HEADER` flags (Microsoft; ntfs-3g `MFT_RECORD_IN_USE`,
/// `MFT_RECORD_IS_DIRECTORY`).
pub mod record_flags {
    /// The record is in use.
    pub const IN_USE: u16 = 0x0001;
    /// The record has a file-name index (a directory).
    pub const DIRECTORY: u16 = 0x0002;
}

/// Attribute type codes (Microsoft "ATTRIBUTE_TYPE_CODE"; ntfs-3g `ATTR_TYPES`).
pub mod attr_type {
    /// `$STANDARD_INFORMATION`.
    pub const STANDARD_INFORMATION: u32 = 0x10;
    /// `$ATTRIBUTE_LIST`.
    pub const ATTRIBUTE_LIST: u32 = 0x20;
    /// `$FILE_NAME`.
    pub const FILE_NAME: u32 = 0x30;
    /// `$DATA`.
    pub const DATA: u32 = 0x80;
    /// `$INDEX_ROOT`.
    pub const INDEX_ROOT: u32 = 0x90;
    /// `$INDEX_ALLOCATION`.
    pub const INDEX_ALLOCATION: u32 = 0xA0;
    /// `$BITMAP`.
    pub const BITMAP: u32 = 0xB0;
    /// `$REPARSE_POINT`.
    pub const REPARSE_POINT: u32 = 0xC0;
    /// The end marker.
    pub const END: u32 = 0xFFFF_FFFF;
}

/// Attribute header flags (ATTRIBUTE_RECORD_HEADER `Flags`; ntfs-3g `ATTR_FLAGS`).
pub mod attr_flags {
    /// Compressed (any bit of the compression mask).
    pub const COMPRESSION_MASK: u16 = 0x00FF;
    /// Encrypted.
    pub const ENCRYPTED: u16 = 0x4000;
    /// Sparse.
    pub const SPARSE: u16 = 0x8000;
}

/// One run of a non-resident value: `clusters` long, at logical cluster `lcn`, or a hole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Length in clusters.
    pub clusters: u64,
    /// First logical cluster, `None` for a sparse run (a hole).
    pub lcn: Option<u64>,
}

/// The non-resident part of an attribute header (ATTRIBUTE_RECORD_HEADER `Form.Nonresident`;
/// ntfs-3g `ATTR_RECORD`: lowest_vcn 0x10, highest_vcn 0x18, mapping_pairs_offset 0x20,
/// compression_unit 0x22, allocated_size 0x28, data_size 0x30, initialized_size 0x38).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonResident {
    /// First VCN this extent maps.
    pub lowest_vcn: u64,
    /// Last VCN this extent maps.
    pub highest_vcn: u64,
    /// log2 of the compression unit in clusters (0: none).
    pub compression_unit: u8,
    /// Allocated bytes.
    pub allocated_size: u64,
    /// The value's length.
    pub data_size: u64,
    /// Bytes written (valid data length); the rest reads as zeros.
    pub initialized_size: u64,
    /// The decoded run list.
    pub runs: Vec<Run>,
}

/// An attribute's value: resident bytes, or where a non-resident one lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// The value, in the record.
    Resident(&'a [u8]),
    /// Stored in clusters.
    NonResident(NonResident),
}

/// One attribute of a record (ATTRIBUTE_RECORD_HEADER: type 0x0, length 0x4, non-resident 0x8,
/// name length 0x9 (UTF-16 units), name offset 0xA, flags 0xC, instance 0xE; resident: value
/// length 0x10, value offset 0x14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// Offset of its header in the record.
    pub offset: usize,
    /// Type code ([`attr_type`]).
    pub ty: u32,
    /// Name (UTF-16 units), empty for the unnamed stream.
    pub name: Vec<u16>,
    /// Flags ([`attr_flags`]).
    pub flags: u16,
    /// Instance number.
    pub instance: u16,
    /// The value.
    pub value: Value<'a>,
}

impl Attribute<'_> {
    /// The value's length in bytes.
    #[must_use]
    pub fn value_len(&self) -> u64 {
        match &self.value {
            Value::Resident(v) => v.len() as u64,
            Value::NonResident(n) => n.data_size,
        }
    }
}

/// A parsed MFT record (FILE_RECORD_SEGMENT_HEADER: "FILE" 0x0, update sequence 0x4/0x6, LSN
/// 0x8, sequence number 0x10, link count 0x12, first attribute 0x14, flags 0x16, bytes in use
/// 0x18, bytes allocated 0x1C, base record 0x20, next attribute id 0x28).
#[derive(Debug, Clone)]
pub struct FileRecord {
    number: u64,
    bytes: Vec<u8>,
    /// Sequence number.
    pub sequence: u16,
    /// Hard-link count.
    pub link_count: u16,
    /// Flags ([`record_flags`]).
    pub flags: u16,
    /// The base record's reference (0 for a base record).
    pub base_reference: u64,
    first_attribute: usize,
    used: usize,
}

impl FileRecord {
    /// Parses the record numbered `number` from its on-disk bytes (update sequence not yet
    /// applied; a copy is fixed up).
    pub fn parse(raw: &[u8], number: u64) -> Result<Self, RecordError> {
        let s = Structure::MftRecord(number);
        if raw.len() < SECTOR || !raw.len().is_multiple_of(SECTOR) || raw.len() > MAX_RECORD_SIZE {
            return Err(err(
                s,
                0,
                format!(
                    "record size {} is not a multiple of 512 up to 64 KiB",
                    raw.len()
                ),
            ));
        }
        if &raw[..4] != b"FILE" {
            return Err(err(
                s,
                0,
                format!("signature {:02x?}, expected \"FILE\"", &raw[..4]),
            ));
        }
        let mut bytes = raw.to_vec();
        apply_fixups(&mut bytes, s)?;
        let first_attribute = usize::from(u16_at(&bytes, 0x14).unwrap_or(0));
        let used = u32_at(&bytes, 0x18).unwrap_or(0) as usize;
        if used > bytes.len() || first_attribute < 0x2A || first_attribute + 4 > used {
            return Err(err(
                s,
                0x14,
                format!(
                    "first attribute at {first_attribute:#x}, bytes in use {used:#x}, record \
                     of {:#x}",
                    bytes.len()
                ),
            ));
        }
        Ok(Self {
            number,
            sequence: u16_at(&bytes, 0x10).unwrap_or(0),
            link_count: u16_at(&bytes, 0x12).unwrap_or(0),
            flags: u16_at(&bytes, 0x16).unwrap_or(0),
            base_reference: u64_at(&bytes, 0x20).unwrap_or(0),
            bytes,
            first_attribute,
            used,
        })
    }

    /// The record number.
    #[must_use]
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The record is in use.
    #[must_use]
    pub fn in_use(&self) -> bool {
        self.flags & record_flags::IN_USE != 0
    }

    /// The record is a directory.
    #[must_use]
    pub fn is_directory(&self) -> bool {
        self.flags & record_flags::DIRECTORY != 0
    }

    /// The attributes, in record order; the first malformed one ends the list with its error.
    #[must_use]
    pub fn attributes(&self) -> Attributes<'_> {
        Attributes {
            record: self,
            at: self.first_attribute,
            done: false,
        }
    }

    /// Every attribute, or the first error.
    pub fn all_attributes(&self) -> Result<Vec<Attribute<'_>>, RecordError> {
        self.attributes().collect()
    }

    /// The first attribute of type `ty` with the name `name` (UTF-16), if any.
    pub fn find(&self, ty: u32, name: &[u16]) -> Result<Option<Attribute<'_>>, RecordError> {
        for a in self.attributes() {
            let a = a?;
            if a.ty == ty && a.name == name {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }

    fn structure(&self) -> Structure {
        Structure::MftRecord(self.number)
    }

    fn attribute_at(&self, at: usize) -> Result<Option<(Attribute<'_>, usize)>, RecordError> {
        let s = self.structure();
        let b = &self.bytes[..self.used];
        let ty = u32_at(b, at).ok_or_else(|| err(s, at, "attribute header past bytes in use"))?;
        if ty == attr_type::END {
            return Ok(None);
        }
        let len = u32_at(b, at + 4)
            .ok_or_else(|| err(s, at + 4, "attribute header past bytes in use"))?
            as usize;
        if len < 0x18 || !len.is_multiple_of(8) || at + len > b.len() {
            return Err(err(
                s,
                at + 4,
                format!("attribute of type {ty:#x}: length {len:#x} does not fit the record"),
            ));
        }
        let a = &b[at..at + len];
        let non_resident = a[8];
        let name_len = usize::from(a[9]);
        let name_off = usize::from(u16_at(a, 0xA).unwrap_or(0));
        let flags = u16_at(a, 0xC).unwrap_or(0);
        let instance = u16_at(a, 0xE).unwrap_or(0);
        let name = if name_len == 0 {
            Vec::new()
        } else {
            let bytes = a.get(name_off..name_off + 2 * name_len).ok_or_else(|| {
                err(
                    s,
                    at + 0xA,
                    format!("attribute of type {ty:#x}: name at {name_off:#x} past its end"),
                )
            })?;
            bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect()
        };
        let value = match non_resident {
            0 => {
                let vlen = u32_at(a, 0x10).unwrap_or(0) as usize;
                let voff = usize::from(u16_at(a, 0x14).unwrap_or(0));
                let v = a
                    .get(voff..)
                    .and_then(|r| r.get(..vlen))
                    .filter(|_| voff >= 0x18)
                    .ok_or_else(|| {
                        err(
                            s,
                            at + 0x10,
                            format!(
                                "attribute of type {ty:#x}: resident value of {vlen:#x} bytes \
                                 at {voff:#x} past the attribute's {len:#x}"
                            ),
                        )
                    })?;
                Value::Resident(v)
            }
            1 => Value::NonResident(self.non_resident(a, at, ty)?),
            other => {
                return Err(err(
                    s,
                    at + 8,
                    format!("attribute of type {ty:#x}: non-resident flag {other}"),
                ));
            }
        };
        Ok(Some((
            Attribute {
                offset: at,
                ty,
                name,
                flags,
                instance,
                value,
            },
            at + len,
        )))
    }

    fn non_resident(&self, a: &[u8], at: usize, ty: u32) -> Result<NonResident, RecordError> {
        let s = self.structure();
        if a.len() < 0x40 {
            return Err(err(
                s,
                at + 4,
                format!("non-resident attribute of type {ty:#x} shorter than its 0x40-byte header"),
            ));
        }
        let field = |o| u64_at(a, o).unwrap_or(0);
        let map_off = usize::from(u16_at(a, 0x20).unwrap_or(0));
        if map_off < 0x40 || map_off >= a.len() {
            return Err(err(
                s,
                at + 0x20,
                format!("attribute of type {ty:#x}: run list at {map_off:#x} outside it"),
            ));
        }
        let runs = decode_runs(&a[map_off..]).map_err(|(o, what)| {
            err(
                s,
                at + map_off + o,
                format!("attribute of type {ty:#x}: {what}"),
            )
        })?;
        let nr = NonResident {
            lowest_vcn: field(0x10),
            highest_vcn: field(0x18),
            compression_unit: a[0x22],
            allocated_size: field(0x28),
            data_size: field(0x30),
            initialized_size: field(0x38),
            runs,
        };
        if nr.initialized_size > nr.data_size {
            return Err(err(
                s,
                at + 0x38,
                format!(
                    "attribute of type {ty:#x}: initialized size {:#x} past the data size {:#x}",
                    nr.initialized_size, nr.data_size
                ),
            ));
        }
        Ok(nr)
    }
}

/// Iterator over a record's attributes ([`FileRecord::attributes`]).
#[derive(Debug)]
pub struct Attributes<'r> {
    record: &'r FileRecord,
    at: usize,
    done: bool,
}

impl<'r> Iterator for Attributes<'r> {
    type Item = Result<Attribute<'r>, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.record.attribute_at(self.at) {
            Ok(Some((a, next))) => {
                self.at = next;
                Some(Ok(a))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Decodes a run list (mapping pairs: a header byte whose low nibble is the length's byte
/// count and high nibble the LCN delta's, then the length (unsigned) and the delta (signed,
/// relative to the previous run's LCN; absent for a hole), ended by a 0 byte; Linux-NTFS "Data
/// Runs", ntfs-3g `ntfs_mapping_pairs_decompress`). Errors are `(offset, what)`.
pub fn decode_runs(b: &[u8]) -> Result<Vec<Run>, (usize, String)> {
    let mut runs = Vec::new();
    let mut at = 0usize;
    let mut lcn: i64 = 0;
    loop {
        let Some(&h) = b.get(at) else {
            return Err((at, "run list without its end byte".into()));
        };
        if h == 0 {
            return Ok(runs);
        }
        if runs.len() == MAX_RUNS {
            return Err((at, format!("more than {MAX_RUNS} runs")));
        }
        let (nl, no) = (usize::from(h & 0x0F), usize::from(h >> 4));
        if nl == 0 || nl > 8 || no > 8 {
            return Err((at, format!("run header {h:#04x}")));
        }
        let Some(body) = b.get(at + 1..at + 1 + nl + no) else {
            return Err((at, "run past the end of the attribute".into()));
        };
        let mut len_bytes = [0u8; 8];
        len_bytes[..nl].copy_from_slice(&body[..nl]);
        let clusters = u64::from_le_bytes(len_bytes);
        if clusters == 0 || clusters > i64::MAX as u64 {
            return Err((at, format!("run length {clusters}")));
        }
        let run_lcn = if no == 0 {
            None
        } else {
            let sign = if body[nl + no - 1] & 0x80 != 0 {
                0xFF
            } else {
                0
            };
            let mut d = [sign; 8];
            d[..no].copy_from_slice(&body[nl..nl + no]);
            let delta = i64::from_le_bytes(d);
            lcn = lcn
                .checked_add(delta)
                .filter(|l| *l >= 0)
                .ok_or_else(|| (at, format!("run LCN {lcn} + {delta} out of range")))?;
            Some(lcn.cast_unsigned())
        };
        runs.push(Run {
            clusters,
            lcn: run_lcn,
        });
        at += 1 + nl + no;
    }
}

/// NT time (100 ns units since 1601-01-01 UTC) to `SystemTime`; `None` for 0 or a time the
/// host cannot represent.
#[must_use]
pub fn nt_time(t: u64) -> Option<std::time::SystemTime> {
    use std::time::{Duration, UNIX_EPOCH};
    /// 1601-01-01 to 1970-01-01 in 100 ns units.
    const EPOCH_DIFF: i128 = 116_444_736_000_000_000;
    if t == 0 {
        return None;
    }
    let since_unix = i128::from(t) - EPOCH_DIFF;
    let d = Duration::new(
        u64::try_from(since_unix.unsigned_abs() / 10_000_000).ok()?,
        (since_unix.unsigned_abs() % 10_000_000) as u32 * 100,
    );
    if since_unix >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
}

/// `$STANDARD_INFORMATION` (ntfs-3g `STANDARD_INFORMATION`; Linux-NTFS: creation 0x0,
/// modification 0x8, MFT change 0x10, access 0x18, file attributes 0x20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandardInformation {
    /// Creation time (NT time).
    pub created: u64,
    /// Last modification time (NT time).
    pub modified: u64,
    /// Last access time (NT time).
    pub accessed: u64,
    /// `FILE_ATTRIBUTE_*` bits.
    pub attributes: u32,
}

impl StandardInformation {
    /// Parses a resident `$STANDARD_INFORMATION` value.
    #[must_use]
    pub fn parse(v: &[u8]) -> Option<Self> {
        Some(Self {
            created: u64_at(v, 0)?,
            modified: u64_at(v, 8)?,
            accessed: u64_at(v, 0x18)?,
            attributes: u32_at(v, 0x20)?,
        })
    }
}

/// `$FILE_NAME` (ntfs-3g `FILE_NAME_ATTR`; Linux-NTFS: parent reference 0x0, times 0x8–0x27,
/// allocated size 0x28, data size 0x30, flags 0x38, name length 0x40, namespace 0x41, name
/// 0x42).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    /// The parent directory's MFT reference (record number in the low 48 bits).
    pub parent: u64,
    /// Namespace: 0 POSIX, 1 Win32, 2 DOS, 3 Win32 and DOS.
    pub namespace: u8,
    /// The name, UTF-16.
    pub name: Vec<u16>,
    /// The data size as last recorded in the name (may be stale).
    pub data_size: u64,
}

/// The DOS (8.3) namespace of a `$FILE_NAME`: a second name of a file that has a Win32 one.
pub const NAMESPACE_DOS: u8 = 2;

impl FileName {
    /// Parses a `$FILE_NAME` value (an attribute's or an index key).
    #[must_use]
    pub fn parse(v: &[u8]) -> Option<Self> {
        let len = usize::from(*v.get(0x40)?);
        let name = v
            .get(0x42..0x42 + 2 * len)?
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Some(Self {
            parent: u64_at(v, 0)?,
            namespace: *v.get(0x41)?,
            name,
            data_size: u64_at(v, 0x30)?,
        })
    }

    /// The name as a string (unpaired surrogates replaced).
    #[must_use]
    pub fn name_lossy(&self) -> String {
        String::from_utf16_lossy(&self.name)
    }
}

/// The record number of an MFT reference (low 48 bits; the high 16 are the sequence number).
#[must_use]
pub fn record_number(reference: u64) -> u64 {
    reference & 0x0000_FFFF_FFFF_FFFF
}

/// One entry of an index block (INDEX_ENTRY_HEADER, ntfs-3g `layout.h`: a file reference, or
/// for view indexes a data offset u16 at 0x0 and data length u16 at 0x2; entry length 0x8, key
/// length 0xA, flags 0xC (1 has a subnode, 2 last entry), key at 0x10, the subnode's VCN in the
/// entry's last 8 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry<'a> {
    /// The first 8 bytes: a file reference (file-name indexes) or data offset/length (view
    /// indexes such as `$R`).
    pub reference: u64,
    /// The key.
    pub key: &'a [u8],
    /// The child node's VCN, if any.
    pub subnode: Option<u64>,
}

/// `INDEX_ENTRY` flag: the entry points to a subnode.
const ENTRY_SUBNODE: u16 = 1;
/// `INDEX_ENTRY` flag: the last entry of the node (it has no key).
const ENTRY_LAST: u16 = 2;

/// A parsed `INDX` block (INDEX_ALLOCATION record: "INDX" 0x0, update sequence 0x4/0x6, LSN
/// 0x8, VCN 0x10, INDEX_HEADER at 0x18: entries offset 0x0, index length 0x4, allocated 0x8,
/// flags 0xC; offsets relative to the INDEX_HEADER).
#[derive(Debug, Clone)]
pub struct IndexBlock {
    bytes: Vec<u8>,
    structure: Structure,
    /// The block's VCN.
    pub vcn: u64,
    /// The node has children.
    pub has_subnodes: bool,
    entries: std::ops::Range<usize>,
}

impl IndexBlock {
    /// Parses an `INDX` block (update sequence not yet applied).
    pub fn parse(raw: &[u8]) -> Result<Self, RecordError> {
        let vcn = u64_at(raw, 0x10).unwrap_or(0);
        let s = Structure::IndexBlock(vcn);
        if raw.len() < SECTOR || !raw.len().is_multiple_of(SECTOR) || raw.len() > MAX_RECORD_SIZE {
            return Err(err(
                s,
                0,
                format!(
                    "block size {} is not a multiple of 512 up to 64 KiB",
                    raw.len()
                ),
            ));
        }
        if &raw[..4] != b"INDX" {
            return Err(err(
                s,
                0,
                format!("signature {:02x?}, expected \"INDX\"", &raw[..4]),
            ));
        }
        let mut bytes = raw.to_vec();
        apply_fixups(&mut bytes, s)?;
        let h = 0x18;
        let first = h + u32_at(&bytes, h).unwrap_or(0) as usize;
        let end = h + u32_at(&bytes, h + 4).unwrap_or(0) as usize;
        if first < h + 0x10 || first > end || end > bytes.len() {
            return Err(err(
                s,
                h,
                format!(
                    "entries {first:#x}..{end:#x} outside the block of {:#x}",
                    bytes.len()
                ),
            ));
        }
        Ok(Self {
            has_subnodes: bytes[h + 0xC] & 1 != 0,
            bytes,
            structure: s,
            vcn,
            entries: first..end,
        })
    }

    /// The root node of an index: the value of an `$INDEX_ROOT` attribute of MFT record
    /// `record` (INDEX_ROOT, ntfs-3g layout.h: attribute type 0x0, collation rule 0x4, index
    /// block size 0x8, clusters per block 0xC, INDEX_HEADER at 0x10). Offsets in errors are
    /// within the value.
    pub fn from_root(value: &[u8], record: u64) -> Result<Self, RecordError> {
        let s = Structure::MftRecord(record);
        let h = 0x10;
        let (Some(first), Some(end), Some(&flags)) =
            (u32_at(value, h), u32_at(value, h + 4), value.get(h + 0xC))
        else {
            return Err(err(s, 0, "$INDEX_ROOT value shorter than its headers"));
        };
        let (first, end) = (h + first as usize, h + end as usize);
        if first < h + 0x10 || first > end || end > value.len() {
            return Err(err(
                s,
                h,
                format!(
                    "$INDEX_ROOT entries {first:#x}..{end:#x} outside its value of {:#x}",
                    value.len()
                ),
            ));
        }
        Ok(Self {
            bytes: value.to_vec(),
            structure: s,
            vcn: 0,
            has_subnodes: flags & 1 != 0,
            entries: first..end,
        })
    }

    /// The entries with a key, in block order (the last, keyless entry's subnode is in
    /// [`IndexBlock::last_subnode`]).
    pub fn entries(&self) -> Result<Vec<IndexEntry<'_>>, RecordError> {
        Ok(self.walk()?.0)
    }

    /// The subnode of the last (keyless) entry.
    pub fn last_subnode(&self) -> Result<Option<u64>, RecordError> {
        Ok(self.walk()?.1)
    }

    fn walk(&self) -> Result<(Vec<IndexEntry<'_>>, Option<u64>), RecordError> {
        let s = self.structure;
        let b = &self.bytes[..self.entries.end];
        let mut at = self.entries.start;
        let mut out = Vec::new();
        loop {
            let (Some(reference), Some(len), Some(key_len), Some(flags)) = (
                u64_at(b, at),
                u16_at(b, at + 8),
                u16_at(b, at + 0xA),
                u16_at(b, at + 0xC),
            ) else {
                return Err(err(s, at, "index entry past the index's end"));
            };
            let (len, key_len) = (usize::from(len), usize::from(key_len));
            if len < 0x10 || !len.is_multiple_of(8) || at + len > b.len() || 0x10 + key_len > len {
                return Err(err(
                    s,
                    at + 8,
                    format!("index entry of {len:#x} bytes with a key of {key_len:#x}"),
                ));
            }
            let subnode = if flags & ENTRY_SUBNODE != 0 {
                if len < 0x18 || 0x10 + key_len > len - 8 {
                    return Err(err(s, at + 8, "index entry too short for its subnode VCN"));
                }
                u64_at(b, at + len - 8)
            } else {
                None
            };
            if flags & ENTRY_LAST != 0 {
                return Ok((out, subnode));
            }
            out.push(IndexEntry {
                reference,
                key: &b[at + 0x10..at + 0x10 + key_len],
                subnode,
            });
            at += len;
        }
    }
}

/// A key of `$Extend\$Reparse:$R` (ntfs-3g `REPARSE_INDEX_KEY`: reparse tag u32, then the file's
/// MFT reference u64; Linux-NTFS "$Reparse").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReparseKey {
    /// The reparse tag.
    pub tag: u32,
    /// The file's MFT reference.
    pub file: u64,
}

impl ReparseKey {
    /// Parses a 12-byte `$R` key.
    #[must_use]
    pub fn parse(key: &[u8]) -> Option<Self> {
        if key.len() != 12 {
            return None;
        }
        Some(Self {
            tag: u32_at(key, 0)?,
            file: u64_at(key, 4)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_decode_holes_and_negative_deltas() {
        // 0x21: 1 length byte, 2 offset bytes; 0x01: a hole; 0x11 with a negative delta.
        let b = [0x21, 0x04, 0x00, 0x10, 0x01, 0x08, 0x11, 0x02, 0xF0, 0x00];
        let r = decode_runs(&b).unwrap();
        assert_eq!(
            r,
            vec![
                Run {
                    clusters: 4,
                    lcn: Some(0x1000)
                },
                Run {
                    clusters: 8,
                    lcn: None
                },
                Run {
                    clusters: 2,
                    lcn: Some(0x1000 - 0x10)
                },
            ]
        );
        assert!(decode_runs(&[0x21, 0x04]).is_err());
        assert!(
            decode_runs(&[0x11, 0x01, 0x80, 0x00]).is_err(),
            "negative LCN"
        );
        assert!(decode_runs(&[0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn nt_times_convert_both_sides_of_1970() {
        use std::time::{Duration, UNIX_EPOCH};
        assert_eq!(nt_time(116_444_736_000_000_000), Some(UNIX_EPOCH));
        assert_eq!(
            nt_time(116_444_736_000_000_000 + 15),
            Some(UNIX_EPOCH + Duration::from_nanos(1500))
        );
        assert!(nt_time(1).is_some());
        assert_eq!(nt_time(0), None);
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = 0x1234_5678_u64;
        for len in [0usize, 1, 511, 512, 1024, 4096] {
            for _ in 0..200 {
                let mut b: Vec<u8> = (0..len)
                    .map(|_| {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        rng as u8
                    })
                    .collect();
                if len >= 4 {
                    b[..4].copy_from_slice(b"FILE");
                }
                if let Ok(r) = FileRecord::parse(&b, 7) {
                    let _ = r.all_attributes();
                }
                if len >= 4 {
                    b[..4].copy_from_slice(b"INDX");
                }
                if let Ok(i) = IndexBlock::parse(&b) {
                    let _ = i.entries();
                }
            }
        }
    }
}
