//! Attribute values this crate decodes: `$STANDARD_INFORMATION`, `$FILE_NAME`, NT times and
//! MFT references.

use super::{u32_at, u64_at};

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
