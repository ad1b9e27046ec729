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

mod file;
mod index;
#[cfg(test)]
mod tests;
mod values;

pub use file::{Attribute, Attributes, FileRecord, NonResident, Run, Value, decode_runs};
pub use index::{IndexBlock, IndexEntry, ReparseKey};
pub use values::{FileName, NAMESPACE_DOS, StandardInformation, nt_time, record_number};

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
