//! VHDX fixed, dynamic and differencing disks: [`Vhdx`]. The structures read at open are in
//! `vhdx_meta`; this file maps virtual offsets through the BAT (MS-VHDX 2.5), one entry read
//! per block touched, so memory does not grow with the disk.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ntfs_source::ReadAt;

use crate::ImageError;
use crate::io::read_exact_at;
use crate::vhdx_meta::{Layout, read_layout};

const MIB: u64 = 1024 * 1024;
/// Deepest differencing chain followed (a cycle of parents ends here).
pub const MAX_CHAIN: usize = 16;
/// Payload BAT entry states (MS-VHDX 2.5.1.1).
const PAYLOAD_NOT_PRESENT: u64 = 0;
const PAYLOAD_UNDEFINED: u64 = 1;
const PAYLOAD_ZERO: u64 = 2;
const PAYLOAD_UNMAPPED: u64 = 3;
const PAYLOAD_FULLY_PRESENT: u64 = 6;
const PAYLOAD_PARTIALLY_PRESENT: u64 = 7;
/// Sector bitmap block state "present" (MS-VHDX 2.5.1.2).
const SB_PRESENT: u64 = 6;

/// A VHDX file (and, for a differencing disk, its parents) read as the disk it holds.
pub struct Vhdx {
    file: Arc<dyn ReadAt>,
    name: String,
    layout: Layout,
    /// Payload blocks per sector-bitmap block (MS-VHDX 2.5: 2^23 × sector size / block size).
    chunk_ratio: u64,
    parent: Option<Box<Vhdx>>,
}

impl std::fmt::Debug for Vhdx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vhdx")
            .field("name", &self.name)
            .field("virtual_size", &self.layout.virtual_size)
            .field("block_size", &self.layout.block_size)
            .field("parent", &self.parent)
            .finish_non_exhaustive()
    }
}

fn bad(structure: &str, offset: u64, problem: impl Into<String>) -> ImageError {
    ImageError::invalid("VHDX", structure, offset, problem)
}

fn invalid_data(e: ImageError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl Vhdx {
    /// Opens a VHDX that has no parent (fixed or dynamic). A differencing disk is refused:
    /// open it with [`Vhdx::open_path`], which finds the parent beside it.
    pub fn open(file: Arc<dyn ReadAt>, name: &str) -> Result<Self, ImageError> {
        let v = Self::parse(file, name)?;
        if v.layout.parent.is_some() {
            return Err(bad(
                "file parameters",
                0,
                "a differencing disk: open it by path so that its parent can be found",
            ));
        }
        Ok(v)
    }

    fn parse(file: Arc<dyn ReadAt>, name: &str) -> Result<Self, ImageError> {
        let layout = read_layout(&*file, name)?;
        let chunk_ratio = (1u64 << 23) * layout.logical_sector / layout.block_size;
        let blocks = layout.virtual_size.div_ceil(layout.block_size);
        // MS-VHDX 2.5: a sector bitmap entry after every chunk_ratio payload entries; a
        // differencing disk has every chunk's bitmap entry, the others only between chunks.
        let entries = if layout.parent.is_some() {
            blocks.div_ceil(chunk_ratio) * (chunk_ratio + 1)
        } else {
            blocks + (blocks - 1) / chunk_ratio
        };
        if entries * 8 > layout.bat_len {
            return Err(bad(
                "BAT region",
                layout.bat_offset,
                format!(
                    "{} bytes hold fewer than the {entries} entries of the disk",
                    layout.bat_len
                ),
            ));
        }
        Ok(Self {
            file,
            name: name.to_owned(),
            layout,
            chunk_ratio,
            parent: None,
        })
    }

    /// Opens the VHDX at `path`; a differencing disk's parent is looked for beside it (under
    /// the locator's `relative_path`, then under the file name of its other paths) and must
    /// carry the `DataWriteGuid` the child names (`parent_linkage`), up to [`MAX_CHAIN`] deep.
    pub fn open_path(path: &Path) -> Result<Self, ImageError> {
        Self::open_chain(path, 0)
    }

    fn open_chain(path: &Path, depth: usize) -> Result<Self, ImageError> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| ImageError::io(&name, e))?;
        let mut v = Self::parse(Arc::new(file), &name)?;
        let Some(locator) = v.layout.parent.take() else {
            return Ok(v);
        };
        if depth + 1 >= MAX_CHAIN {
            return Err(bad(
                "parent locator",
                0,
                format!("{name}: more than {MAX_CHAIN} disks in the differencing chain"),
            ));
        }
        let get = |k: &str| {
            locator
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let candidates: Vec<PathBuf> = ["relative_path", "absolute_win32_path", "volume_path"]
            .iter()
            .filter_map(|k| get(k))
            .flat_map(|p| {
                let rel: PathBuf = p
                    .trim_start_matches(".\\")
                    .split('\\')
                    .filter(|c| !c.is_empty() && *c != ".")
                    .collect();
                let base = p.rsplit('\\').next().map(|b| dir.join(b));
                [(!p.contains(':')).then(|| dir.join(rel)), base]
            })
            .flatten()
            .collect();
        let Some(found) = candidates.iter().find(|p| p.is_file()) else {
            return Err(bad(
                "parent locator",
                0,
                format!(
                    "{name}: the parent is not beside the child (looked for {})",
                    candidates
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        let parent = Self::open_chain(found, depth + 1)?;
        let linkage = get("parent_linkage").unwrap_or_default();
        let parent_guid = crate::guid::to_string(&parent.layout.data_write_guid);
        if !linkage.eq_ignore_ascii_case(&parent_guid) {
            return Err(bad(
                "parent locator",
                0,
                format!(
                    "{name}: parent_linkage {linkage}, but {} has DataWriteGuid {parent_guid}",
                    found.display()
                ),
            ));
        }
        if parent.layout.virtual_size != v.layout.virtual_size {
            return Err(bad(
                "virtual disk size",
                0,
                format!(
                    "{name}: {} bytes, its parent {} has {}",
                    v.layout.virtual_size,
                    found.display(),
                    parent.layout.virtual_size
                ),
            ));
        }
        v.parent = Some(Box::new(parent));
        Ok(v)
    }

    /// How many disks the chain holds (1 without a parent).
    #[must_use]
    pub fn chain_len(&self) -> usize {
        1 + self.parent.as_ref().map_or(0, |p| p.chain_len())
    }

    /// The virtual disk's size in bytes.
    #[must_use]
    pub fn virtual_size(&self) -> u64 {
        self.layout.virtual_size
    }

    /// BAT entry `index`, its state and its file offset.
    fn bat_entry(&self, index: u64) -> io::Result<(u64, u64, u64)> {
        let at = self.layout.bat_offset + index * 8;
        let mut e = [0u8; 8];
        read_exact_at(&*self.file, at, &mut e)?;
        let e = u64::from_le_bytes(e);
        // State in bits 0-2, FileOffsetMB in bits 20-63 (MS-VHDX 2.5.1).
        Ok((at, e & 7, e & !(MIB - 1)))
    }

    /// Reads `buf.len()` bytes at `file_offset` of this file, naming the BAT entry on failure.
    fn read_block(
        &self,
        entry_at: u64,
        block: u64,
        file_offset: u64,
        buf: &mut [u8],
    ) -> io::Result<()> {
        read_exact_at(&*self.file, file_offset, buf).map_err(|e| {
            io::Error::new(
                e.kind(),
                bad(
                    &format!("BAT entry of block {block}"),
                    entry_at,
                    format!("{}: data at {file_offset:#x}: {e}", self.name),
                ),
            )
        })
    }

    /// What is not in this file: the parent's bytes, or zeros.
    fn read_below(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if let Some(p) = &self.parent {
            read_exact_at(&**p, offset, buf)
        } else {
            buf.fill(0);
            Ok(())
        }
    }

    /// Sectors of a partially present block: each run of sectors the bitmap marks present is
    /// read here, the others from the parent (MS-VHDX 2.5.1.2: bit n of the bitmap block,
    /// least significant bit first, is sector n of the chunk).
    fn read_partial(
        &self,
        block: u64,
        within: u64,
        data_at: u64,
        entry_at: u64,
        buf: &mut [u8],
    ) -> io::Result<()> {
        let chunk = block / self.chunk_ratio;
        let (sb_at, state, sb_offset) =
            self.bat_entry(chunk * (self.chunk_ratio + 1) + self.chunk_ratio)?;
        if state != SB_PRESENT || sb_offset == 0 {
            return Err(invalid_data(bad(
                "sector bitmap BAT entry",
                sb_at,
                format!(
                    "state {state}, expected 6 (present) for a partially present block {block}"
                ),
            )));
        }
        let ss = self.layout.logical_sector;
        let first_sector = ((block % self.chunk_ratio) * self.layout.block_size + within) / ss;
        let sectors = (buf.len() as u64).div_ceil(ss);
        let mut bits = vec![0u8; usize::try_from(sectors.div_ceil(8) + 1).unwrap_or(usize::MAX)];
        read_exact_at(
            &*self.file,
            sb_offset.saturating_add(first_sector / 8),
            &mut bits,
        )?;
        let present = |s: u64| {
            let bit = (first_sector % 8) + s;
            bits[(bit / 8) as usize] >> (bit % 8) & 1 == 1
        };
        let base = block * self.layout.block_size + within;
        let mut s = 0;
        while s < sectors {
            let here = present(s);
            let mut e = s + 1;
            while e < sectors && present(e) == here {
                e += 1;
            }
            let (from, to) = ((s * ss) as usize, ((e * ss) as usize).min(buf.len()));
            if here {
                self.read_block(
                    entry_at,
                    block,
                    data_at.saturating_add(within + s * ss),
                    &mut buf[from..to],
                )?;
            } else {
                self.read_below(base + s * ss, &mut buf[from..to])?;
            }
            s = e;
        }
        Ok(())
    }
}

impl ReadAt for Vhdx {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let size = self.layout.virtual_size;
        if offset >= size {
            return Ok(0);
        }
        // One block at a time; the caller loops for more.
        let bs = self.layout.block_size;
        let (block, within) = (offset / bs, offset % bs);
        let n = (bs - within).min(size - offset).min(buf.len() as u64) as usize;
        let buf = &mut buf[..n];
        let (entry_at, state, data_at) = self.bat_entry(block + block / self.chunk_ratio)?;
        match state {
            PAYLOAD_FULLY_PRESENT if data_at != 0 => {
                self.read_block(entry_at, block, data_at.saturating_add(within), buf)?;
            }
            PAYLOAD_PARTIALLY_PRESENT if self.parent.is_some() && data_at != 0 => {
                self.read_partial(block, within, data_at, entry_at, buf)?;
            }
            PAYLOAD_ZERO => buf.fill(0),
            PAYLOAD_NOT_PRESENT | PAYLOAD_UNDEFINED | PAYLOAD_UNMAPPED => {
                self.read_below(offset, buf)?;
            }
            _ => {
                return Err(invalid_data(bad(
                    &format!("BAT entry of block {block}"),
                    entry_at,
                    format!("{}: state {state} with file offset {data_at:#x}", self.name),
                )));
            }
        }
        Ok(n)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.layout.virtual_size)
    }
}
