//! VHD (Virtual PC / Hyper-V generation 1) fixed and dynamic disks: [`Vhd`].
//!
//! Every layout fact below is from Microsoft's "Virtual Hard Disk Image Format Specification"
//! (version 1.0, October 2006; "VHD spec" below). All fields are big-endian.

use std::io;
use std::sync::Arc;

use ntfs_source::ReadAt;

use crate::ImageError;
use crate::io::{be32, be64, read_exact_at, read_vec};

/// The footer cookie (VHD spec "Hard Disk Footer Format": Cookie).
pub(crate) const COOKIE: &[u8; 8] = b"conectix";
/// The dynamic disk header cookie (VHD spec "Dynamic Disk Header Format": Cookie).
const SPARSE_COOKIE: &[u8; 8] = b"cxsparse";
/// Footer size; some old writers left out its last byte (VHD spec: "511 bytes in versions
/// prior to Microsoft Virtual PC 2004"), which we do not accept.
const FOOTER_LEN: u64 = 512;
/// Disk types (VHD spec footer "Disk Type").
const DISK_FIXED: u32 = 2;
const DISK_DYNAMIC: u32 = 3;
const DISK_DIFFERENCING: u32 = 4;
/// A BAT entry of a block with no data (VHD spec "Block Allocation Table": 0xFFFFFFFF).
const UNUSED: u32 = 0xFFFF_FFFF;
/// Sector size of the format (VHD spec: "sector ... 512 bytes").
const SECTOR: u64 = 512;
/// Largest virtual size accepted (the spec's limit is 2040 GB; 2 TiB keeps arithmetic safe).
const MAX_SIZE: u64 = 2 << 40;
/// Largest block size accepted (the spec's default is 2 MiB; 256 MiB bounds the bitmap).
const MAX_BLOCK: u32 = 256 << 20;

/// A VHD file read as the disk it holds.
pub struct Vhd {
    file: Arc<dyn ReadAt>,
    size: u64,
    layout: Layout,
}

enum Layout {
    /// The disk is the file's first `size` bytes.
    Fixed,
    /// Blocks through the BAT, each entry read when needed (4 bytes a block).
    Dynamic {
        bat_offset: u64,
        entries: u32,
        block_size: u32,
        /// The sector bitmap in front of each block, rounded up to a sector.
        bitmap_len: u64,
    },
}

impl std::fmt::Debug for Vhd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vhd")
            .field("size", &self.size)
            .field("dynamic", &matches!(self.layout, Layout::Dynamic { .. }))
            .finish_non_exhaustive()
    }
}

fn bad(structure: &str, offset: u64, problem: impl Into<String>) -> ImageError {
    ImageError::invalid("VHD", structure, offset, problem)
}

/// The one's complement of the byte sum, the checksum field counted as zero (VHD spec
/// footer "Checksum"; the dynamic header's is the same over its 1,024 bytes).
fn checksum(b: &[u8], field: usize) -> u32 {
    let sum = b
        .iter()
        .enumerate()
        .filter(|(i, _)| !(field..field + 4).contains(i))
        .fold(0u32, |s, (_, &x)| s.wrapping_add(u32::from(x)));
    !sum
}

impl Vhd {
    /// Opens the VHD in `file` (`name` is used in messages).
    pub fn open(file: Arc<dyn ReadAt>, name: &str) -> Result<Self, ImageError> {
        let io = |e| ImageError::io(name, e);
        let file_len = file.size().map_err(io)?;
        if file_len < FOOTER_LEN {
            return Err(bad(
                "footer",
                0,
                format!("the file is {file_len} bytes, less than a footer"),
            ));
        }
        let at = file_len - FOOTER_LEN;
        let footer = read_vec(&*file, at, FOOTER_LEN as usize).map_err(io)?;
        if &footer[..8] != COOKIE {
            return Err(bad(
                "footer",
                at,
                "no \"conectix\" cookie in the last 512 bytes",
            ));
        }
        let (want, got) = (be32(&footer, 64), checksum(&footer, 64));
        if want != got {
            return Err(bad(
                "footer",
                at,
                format!("checksum {want:#010x}, computed {got:#010x}"),
            ));
        }
        // Current Size (offset 48): the size of the disk as the guest sees it.
        let size = be64(&footer, 48);
        if size == 0 || size > MAX_SIZE || !size.is_multiple_of(SECTOR) {
            return Err(bad(
                "footer",
                at,
                format!("current size {size} is not a sector multiple up to 2 TiB"),
            ));
        }
        let layout = match be32(&footer, 60) {
            DISK_FIXED => {
                if size > at {
                    return Err(bad(
                        "footer",
                        at,
                        format!("a fixed disk of {size} bytes in a file of {file_len}"),
                    ));
                }
                Layout::Fixed
            }
            DISK_DYNAMIC => {
                dynamic_layout(&*file, be64(&footer, 16), size).map_err(|e| match e {
                    DynError::Io(e) => io(e),
                    DynError::Bad(e) => e,
                })?
            }
            DISK_DIFFERENCING => {
                return Err(bad(
                    "footer",
                    at,
                    "a differencing VHD (parent disks are read for VHDX only)",
                ));
            }
            t => {
                return Err(bad(
                    "footer",
                    at,
                    format!("disk type {t}, expected 2 (fixed) or 3 (dynamic)"),
                ));
            }
        };
        Ok(Self { file, size, layout })
    }

    /// Whether the disk is dynamic (blocks allocated on write).
    #[must_use]
    pub fn is_dynamic(&self) -> bool {
        matches!(self.layout, Layout::Dynamic { .. })
    }
}

enum DynError {
    Io(io::Error),
    Bad(ImageError),
}

impl From<io::Error> for DynError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// The dynamic disk header (VHD spec "Dynamic Disk Header Format", 1,024 bytes at the
/// footer's Data Offset): Table Offset at 16, Max Table Entries at 28, Block Size at 32,
/// Checksum at 36.
fn dynamic_layout(file: &dyn ReadAt, at: u64, size: u64) -> Result<Layout, DynError> {
    let h = read_vec(file, at, 1024)?;
    let b = |p: String| DynError::Bad(bad("dynamic disk header", at, p));
    if &h[..8] != SPARSE_COOKIE {
        return Err(b("no \"cxsparse\" cookie".into()));
    }
    let (want, got) = (be32(&h, 36), checksum(&h, 36));
    if want != got {
        return Err(b(format!("checksum {want:#010x}, computed {got:#010x}")));
    }
    let bat_offset = be64(&h, 16);
    let entries = be32(&h, 28);
    let block_size = be32(&h, 32);
    if !block_size.is_power_of_two() || u64::from(block_size) < SECTOR || block_size > MAX_BLOCK {
        return Err(b(format!(
            "block size {block_size}, expected a power of two from 512 B to 256 MiB"
        )));
    }
    if u64::from(entries) * u64::from(block_size) < size {
        return Err(b(format!(
            "{entries} BAT entries of {block_size} bytes do not cover the disk's {size} bytes"
        )));
    }
    let file_len = file.size()?;
    if bat_offset
        .checked_add(u64::from(entries) * 4)
        .is_none_or(|end| end > file_len)
    {
        return Err(b(format!(
            "the BAT at {bat_offset:#x} ({entries} entries) ends past the file ({file_len} bytes)"
        )));
    }
    // One bit per sector of the block, rounded up to whole sectors (VHD spec "Block Bitmap").
    let bitmap_len = (u64::from(block_size) / SECTOR)
        .div_ceil(8)
        .next_multiple_of(SECTOR);
    Ok(Layout::Dynamic {
        bat_offset,
        entries,
        block_size,
        bitmap_len,
    })
}

impl ReadAt for Vhd {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.size {
            return Ok(0);
        }
        let want = (self.size - offset).min(buf.len() as u64) as usize;
        let buf = &mut buf[..want];
        match self.layout {
            Layout::Fixed => {
                read_exact_at(&*self.file, offset, buf)?;
                Ok(want)
            }
            Layout::Dynamic {
                bat_offset,
                entries,
                block_size,
                bitmap_len,
            } => {
                // One block at a time; the caller loops for more.
                let bs = u64::from(block_size);
                let block = offset / bs;
                let within = offset % bs;
                let n = (bs - within).min(want as u64) as usize;
                if block >= u64::from(entries) {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        bad("BAT", bat_offset, format!("no entry for block {block}")),
                    ));
                }
                let entry_at = bat_offset + block * 4;
                let mut e = [0u8; 4];
                read_exact_at(&*self.file, entry_at, &mut e)?;
                let sector = u32::from_be_bytes(e);
                if sector == UNUSED {
                    buf[..n].fill(0);
                    return Ok(n);
                }
                // The block's bitmap, then its data (VHD spec "Block Allocation Table"). The
                // bitmap is not consulted: in a dynamic (not differencing) disk a clear bit
                // only says the sector was never written, and its bytes are then zero.
                let data = u64::from(sector) * SECTOR + bitmap_len + within;
                read_exact_at(&*self.file, data, &mut buf[..n]).map_err(|err| {
                    io::Error::new(
                        err.kind(),
                        bad(
                            &format!("BAT entry {block}"),
                            entry_at,
                            format!("block at sector {sector}: {err}"),
                        ),
                    )
                })?;
                Ok(n)
            }
        }
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.size)
    }
}
