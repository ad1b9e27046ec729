//! Disk images opened as a positioned reader ([`ntfs_source::ReadAt`]) of the NTFS volume
//! inside, for [`ntfs_source::NtfsSource`]: one concern, from an image file to the volume.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use disk_image::Image;
//! let image = Image::open("server.vhdx".as_ref())?;
//! for p in image.partitions() {
//!     println!("{p}");
//! }
//! // The only NTFS partition (or `Some(n)` for partition n), as a restore source.
//! let source = disk_image::open_source("server.vhdx".as_ref(), None)?;
//! # let _ = source; Ok(()) }
//! ```
//!
//! # Containers (detected from their magic bytes, never from the file name)
//! * **Raw**: a bare NTFS volume (`dd` of a partition), or a whole disk with an MBR or a GPT
//!   ([`partition`]).
//! * **VHD** fixed and dynamic ([`Vhd`]); a differencing VHD is refused with an error.
//! * **VHDX** fixed, dynamic and differencing ([`Vhdx`]); a differencing disk's parent is
//!   found beside it through its parent locator and checked against its `parent_linkage`.
//! * **E01** (EWF v1 and v2, every segment found beside the first) ([`E01`]).
//!
//! # Which code is whose, and why
//! Evaluated on crates.io (December 2026):
//! * `ewf` 0.4 (SecurityRonin; Apache-2.0): used for E01. It reads through `&self` from many
//!   threads, pages its chunk table (`open_lazy`), bounds inflation (deflate-bomb guard) and
//!   its chunk cache, and has fuzz-regression, robustness and corpus tests against libewf.
//! * `vhd` 0.1 (same author): not used: it reads the whole file into memory at open (its
//!   `open_reader` calls `read_to_end`), and reads only through `&mut` (`Read + Seek`).
//! * `vhdx` 0.1 (calebfletcher): not used: a first release with no tests, `Vhdx::load` panics
//!   on a bad file instead of returning an error, and it reads no differencing disk.
//! * `mbrman` 0.6: not used: it depends on bincode, unmaintained since December 2025
//!   (RUSTSEC-2025-0141), which this workspace does not take (ARCHITECTURE.md).
//! * `gpt` 4.1 (Quyzi): not used: it opens only a read-write `DiskDevice`
//!   (`Read + Write + Seek`), and reading a table is a hundred lines with the CRCs checked.
//!
//! So VHD ([`vhd`]), VHDX ([`vhdx`]) and the partition tables ([`partition`]) are ours,
//! written from Microsoft's "Virtual Hard Disk Image Format Specification" (2006), [MS-VHDX]
//! and the UEFI specification; each module cites the sections its fields come from.
//!
//! # Bounds
//! No table is held whole: a VHD or VHDX block's BAT entry is read when the block is (4 or 8
//! bytes), the GPT entry array is at most 4,096 entries, the E01 chunk table is paged by the
//! `ewf` crate. Differencing chains stop at [`vhdx::MAX_CHAIN`]. Errors name the format, the
//! structure and its byte offset ([`ImageError::Invalid`]); no input makes a reader panic
//! (each has a cargo-fuzz target in `fuzz/`).

mod error;
pub mod ewf;
#[doc(hidden)]
pub mod fuzzing;
mod guid;
mod io;
pub mod partition;
// Staging a rebuilt file needs the host folder volume, which is Unix-only for now.
#[cfg(unix)]
mod rehydrate;
pub mod vhd;
pub mod vhdx;
mod vhdx_meta;

use std::path::Path;
use std::sync::Arc;

use ntfs_source::{Limits, NtfsSource, ReadAt};

pub use crate::ewf::E01;
pub use error::ImageError;
pub use io::Slice;
pub use partition::{Partition, TableKind};
#[cfg(unix)]
pub use rehydrate::{RehydrateError, rehydrate_file};
pub use vhd::Vhd;
pub use vhdx::Vhdx;

/// The container format of an image file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Container {
    /// Raw bytes (a volume or a whole disk).
    Raw,
    /// A VHD; `dynamic` when blocks are allocated on write.
    Vhd {
        /// Dynamic rather than fixed.
        dynamic: bool,
    },
    /// A VHDX; `chain` is 1 for a disk with no parent, more for a differencing chain.
    Vhdx {
        /// The disks in the chain, the child included.
        chain: usize,
    },
    /// An E01 (Expert Witness Format) image.
    E01,
}

impl std::fmt::Display for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Raw => f.write_str("raw"),
            Self::Vhd { dynamic: false } => f.write_str("VHD (fixed)"),
            Self::Vhd { dynamic: true } => f.write_str("VHD (dynamic)"),
            Self::Vhdx { chain: 1 } => f.write_str("VHDX"),
            Self::Vhdx { chain } => write!(f, "VHDX (differencing, {chain} disks)"),
            Self::E01 => f.write_str("E01"),
        }
    }
}

/// An opened image: its container read as a disk, and the disk's partitions.
pub struct Image {
    name: String,
    disk: Arc<dyn ReadAt>,
    container: Container,
    table: Option<(TableKind, Vec<Partition>)>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("name", &self.name)
            .field("container", &self.container)
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// Reads the first and last 8 bytes that the magic numbers live in.
fn magic(file: &dyn ReadAt, name: &str) -> Result<([u8; 8], [u8; 8]), ImageError> {
    let io = |e| ImageError::io(name, e);
    let size = file.size().map_err(io)?;
    let mut head = [0u8; 8];
    let mut tail = [0u8; 8];
    if size >= 8 {
        io::read_exact_at(file, 0, &mut head).map_err(io)?;
    }
    if size >= 512 {
        io::read_exact_at(file, size - 512, &mut tail).map_err(io)?;
    }
    Ok((head, tail))
}

impl Image {
    /// Opens the image at `path`: its container is recognised from its magic bytes.
    pub fn open(path: &Path) -> Result<Self, ImageError> {
        let name = path.display().to_string();
        let file: Arc<dyn ReadAt> =
            Arc::new(std::fs::File::open(path).map_err(|e| ImageError::io(&name, e))?);
        let (head, _) = magic(&*file, &name)?;
        if ewf::SIGNATURES.contains(&&head) {
            let e01 = E01::open(path)?;
            return Self::with_disk(name, Arc::new(e01), Container::E01);
        }
        if &head == vhdx_meta::FILE_SIGNATURE {
            let v = Vhdx::open_path(path)?;
            let chain = v.chain_len();
            return Self::with_disk(name, Arc::new(v), Container::Vhdx { chain });
        }
        Self::from_reader(file, &name)
    }

    /// An image already open as a reader (`name` in messages): raw, VHD, or a VHDX with no
    /// parent (a differencing VHDX or an E01 needs [`Image::open`], which finds the other
    /// files beside the first).
    pub fn from_reader(file: Arc<dyn ReadAt>, name: &str) -> Result<Self, ImageError> {
        let (head, tail) = magic(&*file, name)?;
        if &head == vhdx_meta::FILE_SIGNATURE {
            let v = Vhdx::open(file, name)?;
            return Self::with_disk(name.into(), Arc::new(v), Container::Vhdx { chain: 1 });
        }
        if &tail == vhd::COOKIE {
            let v = Vhd::open(file, name)?;
            let dynamic = v.is_dynamic();
            return Self::with_disk(name.into(), Arc::new(v), Container::Vhd { dynamic });
        }
        if ewf::SIGNATURES.contains(&&head) {
            return Err(ImageError::Ewf {
                path: name.into(),
                message: "an E01 segment: open it by path".into(),
            });
        }
        Self::with_disk(name.into(), file, Container::Raw)
    }

    fn with_disk(
        name: String,
        disk: Arc<dyn ReadAt>,
        container: Container,
    ) -> Result<Self, ImageError> {
        let table = partition::read_table(&*disk, &name)?;
        Ok(Self {
            name,
            disk,
            container,
            table,
        })
    }

    /// The container format.
    #[must_use]
    pub fn container(&self) -> Container {
        self.container
    }

    /// The partition table, if the disk has one (a bare volume has none).
    #[must_use]
    pub fn table(&self) -> Option<TableKind> {
        self.table.as_ref().map(|t| t.0)
    }

    /// The partitions (empty for a bare volume).
    #[must_use]
    pub fn partitions(&self) -> &[Partition] {
        self.table.as_ref().map_or(&[], |t| t.1.as_slice())
    }

    /// The whole disk (the container's content).
    #[must_use]
    pub fn disk(&self) -> Arc<dyn ReadAt> {
        Arc::clone(&self.disk)
    }

    /// The NTFS volume: partition `choice` (its number, from 1), else the only NTFS partition,
    /// else the whole disk when it is a bare NTFS volume.
    pub fn volume(&self, choice: Option<u32>) -> Result<Slice, ImageError> {
        let size = self
            .disk
            .size()
            .map_err(|e| ImageError::io(&self.name, e))?;
        match &self.table {
            Some((_, parts)) => {
                let p = partition::choose(parts, choice, &self.name)?;
                Ok(Slice::new(Arc::clone(&self.disk), p.start, p.len))
            }
            None if choice.is_some_and(|n| n != 1) => Err(ImageError::Partition(format!(
                "{}: no partition table, so no partition {}",
                self.name,
                choice.unwrap_or_default()
            ))),
            None if partition::is_ntfs(&*self.disk, 0) => {
                Ok(Slice::new(Arc::clone(&self.disk), 0, size))
            }
            None => Err(ImageError::Partition(format!(
                "{}: {} image with neither a partition table nor an NTFS boot sector",
                self.name, self.container
            ))),
        }
    }
}

/// Why [`open_source`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The image or its partition table.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The NTFS volume inside.
    #[error("{name}: {source}")]
    Ntfs {
        /// The image.
        name: String,
        /// Why the volume does not open.
        #[source]
        source: ntfs_source::OpenError,
    },
}

/// Opens the NTFS volume of the image at `path` (partition `partition`, else the only NTFS
/// one) as a restore source.
pub fn open_source(path: &Path, partition: Option<u32>) -> Result<NtfsSource<Slice>, SourceError> {
    let image = Image::open(path)?;
    let volume = image.volume(partition)?;
    let name = path.display().to_string();
    NtfsSource::new(volume, name.clone(), Limits::default())
        .map_err(|source| SourceError::Ntfs { name, source })
}
