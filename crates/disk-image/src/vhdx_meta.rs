//! The VHDX structures read at open: headers, region table, metadata table and its items,
//! parent locator. Every layout fact is from Microsoft's [MS-VHDX] "Virtual Hard Disk v2
//! (VHDX) File Format" (section numbers below); all fields are little-endian.

use ntfs_source::ReadAt;

use crate::ImageError;
use crate::guid::guid;
use crate::io::{le16, le32, le64, read_vec};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// The file type identifier's signature at offset 0 (MS-VHDX 2.2.1).
pub(crate) const FILE_SIGNATURE: &[u8; 8] = b"vhdxfile";
/// The two headers, 4 KiB each, at 64 KiB and 128 KiB (MS-VHDX 2.2.2).
const HEADER_AT: [u64; 2] = [64 * KIB, 128 * KIB];
/// The two region tables, 64 KiB each, at 192 KiB and 256 KiB (MS-VHDX 2.2.3).
const REGION_AT: [u64; 2] = [192 * KIB, 256 * KIB];
const REGION_LEN: usize = 64 * 1024;
/// Region GUIDs (MS-VHDX 2.2.3.2).
const BAT_REGION: [u8; 16] = guid(
    0x2DC2_7766,
    0xF623,
    0x4200,
    [0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08],
);
const METADATA_REGION: [u8; 16] = guid(
    0x8B7C_A206,
    0x4790,
    0x4B9A,
    [0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E],
);
/// Metadata item GUIDs (MS-VHDX 2.6.2).
const FILE_PARAMETERS: [u8; 16] = guid(
    0xCAA1_6737,
    0xFA36,
    0x4D43,
    [0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B],
);
const VIRTUAL_DISK_SIZE: [u8; 16] = guid(
    0x2FA5_4224,
    0xCD1B,
    0x4876,
    [0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8],
);
const LOGICAL_SECTOR_SIZE: [u8; 16] = guid(
    0x8141_BF1D,
    0xA96F,
    0x4709,
    [0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F],
);
const PARENT_LOCATOR: [u8; 16] = guid(
    0xA8D3_5F2B,
    0xB30B,
    0x454D,
    [0xAB, 0xD7, 0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C],
);
/// The VHDX parent locator type (MS-VHDX 2.6.2.6.1).
const VHDX_LOCATOR_TYPE: [u8; 16] = guid(
    0xB04A_EFB7,
    0xD19E,
    0x4A81,
    [0xB7, 0x89, 0x25, 0xB8, 0xE9, 0x44, 0x59, 0x13],
);
/// Largest metadata item read (the metadata region is at most a few MiB; items are small).
const MAX_ITEM: u32 = 64 * 1024;

/// What [`read_layout`] found.
#[derive(Debug)]
pub(crate) struct Layout {
    pub(crate) data_write_guid: [u8; 16],
    pub(crate) bat_offset: u64,
    pub(crate) bat_len: u64,
    pub(crate) block_size: u64,
    pub(crate) logical_sector: u64,
    pub(crate) virtual_size: u64,
    /// The parent's locator entries (key, value), for a differencing disk.
    pub(crate) parent: Option<Vec<(String, String)>>,
}

fn bad(structure: &str, offset: u64, problem: impl Into<String>) -> ImageError {
    ImageError::invalid("VHDX", structure, offset, problem)
}

/// CRC-32C of `b` with the 4-byte checksum field at `at` counted as zero (MS-VHDX 2.2.2).
fn crc_ok(b: &[u8], at: usize) -> bool {
    let want = le32(b, at);
    let mut copy = b.to_vec();
    copy[at..at + 4].fill(0);
    crc32c::crc32c(&copy) == want
}

/// Reads and checks everything needed to map the disk.
pub(crate) fn read_layout(file: &dyn ReadAt, name: &str) -> Result<Layout, ImageError> {
    let io = |e| ImageError::io(name, e);
    let sig = read_vec(file, 0, 8).map_err(io)?;
    if sig != FILE_SIGNATURE {
        return Err(bad("file type identifier", 0, "no \"vhdxfile\" signature"));
    }
    let header = current_header(file).map_err(|e| e.unwrap_or_else(io_err(name)))?;
    let regions = region_table(file).map_err(|e| e.unwrap_or_else(io_err(name)))?;
    let find = |id: &[u8; 16], what: &str| {
        regions
            .iter()
            .find(|r| &r.0 == id)
            .copied()
            .ok_or_else(|| bad("region table", REGION_AT[0], format!("no {what} region")))
    };
    let (_, bat_offset, bat_len) = find(&BAT_REGION, "BAT")?;
    let (_, meta_offset, meta_len) = find(&METADATA_REGION, "metadata")?;
    let file_len = file.size().map_err(io)?;
    for (what, at, len) in [
        ("BAT", bat_offset, bat_len),
        ("metadata", meta_offset, meta_len),
    ] {
        if at % MIB != 0 || at.checked_add(len).is_none_or(|e| e > file_len) {
            return Err(bad(
                &format!("{what} region"),
                at,
                format!(
                    "{len} bytes at {at:#x}: not 1 MiB aligned, or past the file's end ({file_len} bytes)"
                ),
            ));
        }
    }
    let mut layout =
        metadata(file, meta_offset, meta_len).map_err(|e| e.unwrap_or_else(io_err(name)))?;
    layout.data_write_guid = header.0;
    layout.bat_offset = bat_offset;
    layout.bat_len = bat_len;
    Ok(layout)
}

fn io_err(name: &str) -> impl Fn(std::io::Error) -> ImageError + '_ {
    move |e| ImageError::io(name, e)
}

/// An I/O error (`Err(Err)`) or a structure problem (`Err(Ok)`), so the caller names the file.
type Res<T> = Result<T, Result<ImageError, std::io::Error>>;

/// The valid header with the greater sequence number (MS-VHDX 2.2.2): `(DataWriteGuid,)`.
fn current_header(file: &dyn ReadAt) -> Res<([u8; 16],)> {
    let mut best: Option<(u64, Vec<u8>)> = None;
    let mut why = Vec::new();
    for at in HEADER_AT {
        let h = read_vec(file, at, 4096).map_err(Err)?;
        if &h[..4] != b"head" {
            why.push(format!("{at:#x}: no \"head\" signature"));
        } else if !crc_ok(&h, 4) {
            why.push(format!("{at:#x}: CRC-32C mismatch"));
        } else {
            let seq = le64(&h, 8);
            if best.as_ref().is_none_or(|(s, _)| seq > *s) {
                best = Some((seq, h));
            }
        }
    }
    let Some((_, h)) = best else {
        return Err(Ok(bad(
            "header",
            HEADER_AT[0],
            format!("neither header is valid ({})", why.join("; ")),
        )));
    };
    // LogGuid (48) non-zero: the log may hold updates the file's structures lack, which a
    // read-only reader cannot apply in place (MS-VHDX 2.3.3 "Log Replay").
    if h[48..64].iter().any(|&b| b != 0) {
        return Err(Ok(bad(
            "header",
            HEADER_AT[0],
            "the log is active (LogGuid is set): open the disk once in Windows or Hyper-V to replay it",
        )));
    }
    // Version (66) must be 1 (MS-VHDX 2.2.2.1).
    if le16(&h, 66) != 1 {
        return Err(Ok(bad(
            "header",
            HEADER_AT[0],
            format!("version {}, expected 1", le16(&h, 66)),
        )));
    }
    let mut g = [0u8; 16];
    g.copy_from_slice(&h[32..48]);
    Ok((g,))
}

/// The region table's entries `(guid, offset, length)` (MS-VHDX 2.2.3): the first copy whose
/// signature and CRC hold.
fn region_table(file: &dyn ReadAt) -> Res<Vec<([u8; 16], u64, u64)>> {
    let mut why = Vec::new();
    for at in REGION_AT {
        let t = read_vec(file, at, REGION_LEN).map_err(Err)?;
        if &t[..4] != b"regi" || !crc_ok(&t, 4) {
            why.push(format!("{at:#x}"));
            continue;
        }
        let count = le32(&t, 8) as usize;
        if count > 2047 {
            return Err(Ok(bad(
                "region table",
                at,
                format!("{count} entries, at most 2047"),
            )));
        }
        let mut out = Vec::with_capacity(count);
        for i in 0..count {
            let e = &t[16 + 32 * i..48 + 32 * i];
            let mut id = [0u8; 16];
            id.copy_from_slice(&e[..16]);
            let required = le32(e, 28) & 1 != 0;
            if required && id != BAT_REGION && id != METADATA_REGION {
                return Err(Ok(bad(
                    "region table",
                    at,
                    format!("entry {i}: an unknown required region"),
                )));
            }
            out.push((id, le64(e, 16), u64::from(le32(e, 24))));
        }
        return Ok(out);
    }
    Err(Ok(bad(
        "region table",
        REGION_AT[0],
        format!("no valid copy (bad signature or CRC at {})", why.join(", ")),
    )))
}

/// The metadata table and the items the reader needs (MS-VHDX 2.6).
fn metadata(file: &dyn ReadAt, at: u64, len: u64) -> Res<Layout> {
    let t = read_vec(file, at, REGION_LEN.min(len as usize)).map_err(Err)?;
    let b = |p: String| Err(Ok(bad("metadata table", at, p)));
    if t.len() < 32 || &t[..8] != b"metadata" {
        return b("no \"metadata\" signature".into());
    }
    let count = usize::from(le16(&t, 10));
    if count > 2047 || 32 + 32 * count > t.len() {
        return b(format!("{count} entries do not fit the table"));
    }
    let mut items: Vec<([u8; 16], u32, u32)> = Vec::new();
    for i in 0..count {
        let e = &t[32 + 32 * i..64 + 32 * i];
        let mut id = [0u8; 16];
        id.copy_from_slice(&e[..16]);
        let (off, l, flags) = (le32(e, 16), le32(e, 20), le32(e, 24));
        let known = [
            FILE_PARAMETERS,
            VIRTUAL_DISK_SIZE,
            LOGICAL_SECTOR_SIZE,
            PARENT_LOCATOR,
        ]
        .contains(&id);
        // IsRequired (bit 2): an item we do not know may change how the disk reads.
        if flags & 4 != 0 && !known && !is_harmless(&id) {
            return b(format!("entry {i}: an unknown required metadata item"));
        }
        if l > 0
            && (u64::from(off) < 64 * KIB || u64::from(off) + u64::from(l) > len || l > MAX_ITEM)
        {
            return b(format!(
                "entry {i}: item of {l} bytes at {off:#x} outside the region ({len} bytes)"
            ));
        }
        items.push((id, off, l));
    }
    let item = |id: &[u8; 16], what: &str, min: u32| -> Res<Vec<u8>> {
        let Some(&(_, off, l)) = items.iter().find(|(i, _, _)| i == id) else {
            return Err(Ok(bad("metadata table", at, format!("no {what} item"))));
        };
        if l < min {
            return Err(Ok(bad(
                what,
                at + u64::from(off),
                format!("{l} bytes, expected at least {min}"),
            )));
        }
        read_vec(file, at + u64::from(off), l as usize).map_err(Err)
    };
    let params = item(&FILE_PARAMETERS, "file parameters", 8)?;
    let block_size = u64::from(le32(&params, 0));
    let has_parent = le32(&params, 4) & 2 != 0;
    let virtual_size = le64(&item(&VIRTUAL_DISK_SIZE, "virtual disk size", 8)?, 0);
    let logical_sector = u64::from(le32(
        &item(&LOGICAL_SECTOR_SIZE, "logical sector size", 4)?,
        0,
    ));
    // MS-VHDX 2.6.2.1: block size a power of two from 1 MiB to 256 MiB; 2.6.2.4: sector
    // 512 or 4096; 2.6.2.2: size a sector multiple, at most 64 TiB.
    if !block_size.is_power_of_two() || !(MIB..=256 * MIB).contains(&block_size) {
        return b(format!(
            "block size {block_size}, expected a power of two from 1 MiB to 256 MiB"
        ));
    }
    if logical_sector != 512 && logical_sector != 4096 {
        return b(format!(
            "logical sector size {logical_sector}, expected 512 or 4096"
        ));
    }
    if virtual_size == 0 || !virtual_size.is_multiple_of(logical_sector) || virtual_size > 64 << 40
    {
        return b(format!(
            "virtual disk size {virtual_size}: not a sector multiple up to 64 TiB"
        ));
    }
    let parent = if has_parent {
        let Some(&(_, off, l)) = items.iter().find(|(i, _, _)| i == &PARENT_LOCATOR) else {
            return b("a differencing disk with no parent locator".into());
        };
        let bytes = read_vec(file, at + u64::from(off), l as usize).map_err(Err)?;
        Some(
            parent_locator(&bytes)
                .map_err(|p| Ok(bad("parent locator", at + u64::from(off), p)))?,
        )
    } else {
        None
    };
    Ok(Layout {
        data_write_guid: [0; 16],
        bat_offset: 0,
        bat_len: 0,
        block_size,
        logical_sector,
        virtual_size,
        parent,
    })
}

/// Required items that do not change how data is read: Virtual Disk ID (MS-VHDX 2.6.2.5) and
/// Physical Sector Size (2.6.2.4), Page 83 Data (2.6.2.5).
fn is_harmless(id: &[u8; 16]) -> bool {
    const DISK_ID: [u8; 16] = guid(
        0xBECA_12AB,
        0xB2E6,
        0x4523,
        [0x93, 0xEF, 0xC3, 0x09, 0xE0, 0x00, 0xC7, 0x46],
    );
    const PHYSICAL_SECTOR: [u8; 16] = guid(
        0xCDA3_48C7,
        0x445D,
        0x4471,
        [0x9C, 0xC9, 0xE9, 0x88, 0x52, 0x51, 0xC5, 0x56],
    );
    *id == DISK_ID || *id == PHYSICAL_SECTOR
}

/// The key/value pairs of a VHDX parent locator (MS-VHDX 2.6.2.6): LocatorType GUID,
/// reserved u16, KeyValueCount u16, then entries of KeyOffset u32, ValueOffset u32,
/// KeyLength u16, ValueLength u16; offsets from the locator's start, strings UTF-16LE.
pub(crate) fn parent_locator(b: &[u8]) -> Result<Vec<(String, String)>, String> {
    if b.len() < 20 || b[..16] != VHDX_LOCATOR_TYPE {
        return Err("not a VHDX parent locator (type GUID)".into());
    }
    let count = usize::from(le16(b, 18));
    if 20 + 12 * count > b.len() {
        return Err(format!("{count} entries do not fit its {} bytes", b.len()));
    }
    let text = |off: u32, len: u16| -> Result<String, String> {
        let (off, len) = (off as usize, usize::from(len));
        let s = b
            .get(off..off + len)
            .filter(|s| s.len() % 2 == 0)
            .ok_or_else(|| format!("a string of {len} bytes at {off:#x} outside the locator"))?;
        let units: Vec<u16> = s
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).map_err(|_| format!("the string at {off:#x} is not UTF-16"))
    };
    (0..count)
        .map(|i| {
            let e = &b[20 + 12 * i..32 + 12 * i];
            Ok((
                text(le32(e, 0), le16(e, 8))?,
                text(le32(e, 4), le16(e, 10))?,
            ))
        })
        .collect()
}
