//! MBR and GPT partition tables: [`read_table`] lists a disk's partitions.
//!
//! Layouts: the MBR from Microsoft's "Master Boot Record" (partition table at offset 446, four
//! 16-byte entries: type at +4, first LBA at +8, sector count at +12; signature 0x55 0xAA at
//! 510) and the UEFI Specification 2.10, section 5.2 (protective MBR, type 0xEE) and 5.3 (GPT
//! header: "EFI PART", HeaderSize at 12, HeaderCRC32 at 16, PartitionEntryLBA at 72,
//! NumberOfPartitionEntries at 80, SizeOfPartitionEntry at 84, PartitionEntryArrayCRC32 at
//! 88; entry: PartitionTypeGUID at 0, StartingLBA at 32, EndingLBA at 40, name at 56).

use ntfs_source::ReadAt;

use crate::ImageError;
use crate::guid::{guid, to_string};
use crate::io::{le16, le32, le64, read_vec};

/// Sector size of the tables (512-byte logical sectors; 4Kn disks are not handled).
const SECTOR: u64 = 512;
/// Most GPT entries read (the UEFI minimum array is 128; 4,096 bounds the read to 512 KiB+).
const MAX_GPT_ENTRIES: u32 = 4096;
/// Microsoft basic data partition (UEFI 2.10 / Microsoft "PARTITION_INFORMATION_GPT").
const BASIC_DATA: [u8; 16] = guid(
    0xEBD0_A0A2,
    0xB9E5,
    0x4433,
    [0x87, 0xC0, 0x68, 0xB6, 0xB7, 0x26, 0x99, 0xC7],
);

/// Which table a disk has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// A master boot record with primary partitions.
    Mbr,
    /// A GUID partition table (behind a protective MBR).
    Gpt,
}

/// One partition of a disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Its number, from 1, as `--partition` takes it (the MBR slot, or the GPT entry index).
    pub number: u32,
    /// First byte on the disk.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// The type: `0x07` for an MBR entry, the type GUID for a GPT one.
    pub kind: String,
    /// The GPT partition name (empty for MBR).
    pub name: String,
    /// Whether its first sector is an NTFS boot sector (OEM ID "NTFS    ").
    pub ntfs: bool,
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} bytes at {:#x}, type {}{}{}",
            self.number,
            self.len,
            self.start,
            self.kind,
            if self.name.is_empty() {
                String::new()
            } else {
                format!(" \"{}\"", self.name)
            },
            if self.ntfs { ", NTFS" } else { "" }
        )
    }
}

fn bad(
    format: &'static str,
    structure: &str,
    offset: u64,
    problem: impl Into<String>,
) -> ImageError {
    ImageError::invalid(format, structure, offset, problem)
}

/// Whether the sector at `at` is an NTFS boot sector (OEM ID at 3, Microsoft "NTFS Boot
/// Sector").
pub(crate) fn is_ntfs(disk: &dyn ReadAt, at: u64) -> bool {
    read_vec(disk, at, 11).is_ok_and(|b| &b[3..11] == b"NTFS    ")
}

/// The partition table of `disk` (`name` in messages): `None` when sector 0 is not an MBR
/// (a bare volume, or something else).
pub fn read_table(
    disk: &dyn ReadAt,
    name: &str,
) -> Result<Option<(TableKind, Vec<Partition>)>, ImageError> {
    let io = |e| ImageError::io(name, e);
    let size = disk.size().map_err(io)?;
    if size < SECTOR {
        return Ok(None);
    }
    let mbr = read_vec(disk, 0, SECTOR as usize).map_err(io)?;
    if mbr[510..512] != [0x55, 0xAA] || &mbr[3..11] == b"NTFS    " {
        return Ok(None);
    }
    let entries: Vec<&[u8]> = (0..4).map(|i| &mbr[446 + 16 * i..462 + 16 * i]).collect();
    if entries.iter().any(|e| e[4] == 0xEE) {
        return gpt(disk, name, size).map(|p| Some((TableKind::Gpt, p)));
    }
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let (kind, first, count) = (e[4], u64::from(le32(e, 8)), u64::from(le32(e, 12)));
        if kind == 0 || count == 0 {
            continue;
        }
        let (start, len) = (first * SECTOR, count * SECTOR);
        if first == 0 || start + len > size {
            return Err(bad(
                "MBR",
                &format!("partition entry {}", i + 1),
                446 + 16 * i as u64,
                format!("{len} bytes at {start:#x} do not fit the disk ({size} bytes)"),
            ));
        }
        out.push(Partition {
            number: i as u32 + 1,
            start,
            len,
            kind: format!("{kind:#04x}"),
            name: String::new(),
            ntfs: is_ntfs(disk, start),
        });
    }
    Ok(Some((TableKind::Mbr, out)))
}

/// The GPT's partitions: the primary header, or the backup in the last sector when the
/// primary does not check out.
fn gpt(disk: &dyn ReadAt, name: &str, size: u64) -> Result<Vec<Partition>, ImageError> {
    match gpt_at(disk, name, SECTOR, size) {
        Ok(p) => Ok(p),
        Err(primary) => {
            let last = (size / SECTOR - 1) * SECTOR;
            gpt_at(disk, name, last, size).map_err(|_| primary)
        }
    }
}

fn gpt_at(disk: &dyn ReadAt, name: &str, at: u64, size: u64) -> Result<Vec<Partition>, ImageError> {
    let io = |e| ImageError::io(name, e);
    let h = read_vec(disk, at, SECTOR as usize).map_err(io)?;
    let b = |p: String| bad("GPT", "header", at, p);
    if &h[..8] != b"EFI PART" {
        return Err(b("no \"EFI PART\" signature".into()));
    }
    let header_size = le32(&h, 12) as usize;
    if !(92..=SECTOR as usize).contains(&header_size) {
        return Err(b(format!("header size {header_size}, expected 92 to 512")));
    }
    let mut copy = h[..header_size].to_vec();
    copy[16..20].fill(0);
    let (want, got) = (le32(&h, 16), crc32fast::hash(&copy));
    if want != got {
        return Err(b(format!("CRC-32 {want:#010x}, computed {got:#010x}")));
    }
    let (array_lba, count, entry_size) = (le64(&h, 72), le32(&h, 80), le32(&h, 84));
    if count > MAX_GPT_ENTRIES || !(128..=1024).contains(&entry_size) || entry_size % 8 != 0 {
        return Err(b(format!(
            "{count} entries of {entry_size} bytes (at most {MAX_GPT_ENTRIES} of 128 to 1,024)"
        )));
    }
    let array_len = u64::from(count) * u64::from(entry_size);
    let array_at = array_lba
        .checked_mul(SECTOR)
        .filter(|a| a.checked_add(array_len).is_some_and(|e| e <= size));
    let Some(array_at) = array_at else {
        return Err(b(format!(
            "the entry array at LBA {array_lba} ends past the disk"
        )));
    };
    let array = read_vec(disk, array_at, array_len as usize).map_err(io)?;
    let (want, got) = (le32(&h, 88), crc32fast::hash(&array));
    if want != got {
        return Err(bad(
            "GPT",
            "partition entry array",
            array_at,
            format!("CRC-32 {want:#010x}, computed {got:#010x}"),
        ));
    }
    let mut out = Vec::new();
    for (i, e) in array.chunks_exact(entry_size as usize).enumerate() {
        let mut kind = [0u8; 16];
        kind.copy_from_slice(&e[..16]);
        if kind == [0; 16] {
            continue;
        }
        let (first, last) = (le64(e, 32), le64(e, 40));
        let entry_at = array_at + i as u64 * u64::from(entry_size);
        let span = last
            .checked_sub(first)
            .and_then(|n| n.checked_add(1))
            .and_then(|n| n.checked_mul(SECTOR))
            .zip(first.checked_mul(SECTOR))
            .filter(|(len, start)| start.checked_add(*len).is_some_and(|end| end <= size));
        let Some((len, start)) = span else {
            return Err(bad(
                "GPT",
                &format!("partition entry {}", i + 1),
                entry_at,
                format!("LBA {first} to {last} is not a range inside the disk ({size} bytes)"),
            ));
        };
        let units: Vec<u16> = (0..36)
            .map(|k| le16(e, 56 + 2 * k))
            .take_while(|&u| u != 0)
            .collect();
        out.push(Partition {
            number: i as u32 + 1,
            start,
            len,
            kind: if kind == BASIC_DATA {
                "basic data".into()
            } else {
                to_string(&kind)
            },
            name: String::from_utf16_lossy(&units),
            ntfs: is_ntfs(disk, start),
        });
    }
    Ok(out)
}

/// The partition to read: `choice` by number, else the only NTFS one.
pub(crate) fn choose(
    parts: &[Partition],
    choice: Option<u32>,
    name: &str,
) -> Result<Partition, ImageError> {
    let list = || {
        parts
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    };
    if let Some(n) = choice {
        return parts
            .iter()
            .find(|p| p.number == n)
            .cloned()
            .ok_or_else(|| {
                ImageError::Partition(format!("{name}: no partition {n} (partitions: {})", list()))
            });
    }
    let ntfs: Vec<&Partition> = parts.iter().filter(|p| p.ntfs).collect();
    match ntfs.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(ImageError::Partition(format!(
            "{name}: no NTFS partition (partitions: {})",
            if parts.is_empty() {
                "none".into()
            } else {
                list()
            }
        ))),
        _ => Err(ImageError::Partition(format!(
            "{name}: several NTFS partitions, choose one with --partition N ({})",
            list()
        ))),
    }
}
