//! `INDX` blocks and their entries, among them the `$Extend\$Reparse:$R` keys.

use super::{
    MAX_RECORD_SIZE, RecordError, SECTOR, Structure, apply_fixups, err, u16_at, u32_at, u64_at,
};

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
