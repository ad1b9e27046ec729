//! An MFT `FILE` record: its header, its attributes (resident or not) and run lists.

use super::{
    MAX_RECORD_SIZE, MAX_RUNS, RecordError, SECTOR, Structure, apply_fixups, attr_type, err,
    record_flags, u16_at, u32_at, u64_at,
};

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
    /// Flags ([`attr_flags`](crate::record::attr_flags)).
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
