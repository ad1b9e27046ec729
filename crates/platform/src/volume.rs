//! The `Volume` and `FileHandle` traits and their option types.

use crate::{Error, WinPath};

/// `FILE_ATTRIBUTE_*` values (Microsoft `winnt.h`, CONFIRMED).
pub mod attr {
    /// Read-only.
    pub const READONLY: u32 = 0x0000_0001;
    /// Hidden.
    pub const HIDDEN: u32 = 0x0000_0002;
    /// System.
    pub const SYSTEM: u32 = 0x0000_0004;
    /// Directory.
    pub const DIRECTORY: u32 = 0x0000_0010;
    /// Archive.
    pub const ARCHIVE: u32 = 0x0000_0020;
    /// Normal (only valid alone).
    pub const NORMAL: u32 = 0x0000_0080;
    /// Temporary.
    pub const TEMPORARY: u32 = 0x0000_0100;
    /// Sparse file.
    pub const SPARSE_FILE: u32 = 0x0000_0200;
    /// Has a reparse point.
    pub const REPARSE_POINT: u32 = 0x0000_0400;
    /// Compressed.
    pub const COMPRESSED: u32 = 0x0000_0800;
    /// Offline.
    pub const OFFLINE: u32 = 0x0000_1000;
    /// Not content indexed.
    pub const NOT_CONTENT_INDEXED: u32 = 0x0000_2000;
    /// Encrypted.
    pub const ENCRYPTED: u32 = 0x0000_4000;
    /// The bits `SetFileAttributes` can change; the others follow from the file's state
    /// (directory, sparse flag, reparse point, compression, encryption).
    pub const SETTABLE: u32 =
        READONLY | HIDDEN | SYSTEM | ARCHIVE | NORMAL | TEMPORARY | OFFLINE | NOT_CONTENT_INDEXED;
}

/// Access rights of a handle (the `GENERIC_READ`/`GENERIC_WRITE`/`DELETE` subset engines use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Access {
    /// Read data, attributes and the reparse point.
    pub read: bool,
    /// Write data, length, attributes, sparse flag and the reparse point.
    pub write: bool,
    /// Delete or rename the file through this handle's path.
    pub delete: bool,
}

impl Access {
    /// Read only.
    pub const READ: Self = Self {
        read: true,
        write: false,
        delete: false,
    };
    /// Read and write.
    pub const READ_WRITE: Self = Self {
        read: true,
        write: true,
        delete: false,
    };
    /// Read, write and delete.
    pub const ALL: Self = Self {
        read: true,
        write: true,
        delete: true,
    };
}

/// Share mode of a handle (`FILE_SHARE_READ`/`WRITE`/`DELETE`): what later opens may do while it
/// is open. An open succeeds only if, for every handle already open on the file, the new access
/// is within the old share mode and the old access is within the new share mode
/// (ERROR_SHARING_VIOLATION otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ShareMode {
    /// Others may read.
    pub read: bool,
    /// Others may write.
    pub write: bool,
    /// Others may delete or rename.
    pub delete: bool,
}

impl ShareMode {
    /// No sharing (exclusive).
    pub const NONE: Self = Self {
        read: false,
        write: false,
        delete: false,
    };
    /// Share read.
    pub const READ: Self = Self {
        read: true,
        write: false,
        delete: false,
    };
    /// Share read and write.
    pub const READ_WRITE: Self = Self {
        read: true,
        write: true,
        delete: false,
    };
    /// Share everything.
    pub const ALL: Self = Self {
        read: true,
        write: true,
        delete: true,
    };

    /// Whether `access` is allowed by this share mode.
    #[must_use]
    pub fn permits(self, access: Access) -> bool {
        (!access.read || self.read)
            && (!access.write || self.write)
            && (!access.delete || self.delete)
    }

    /// The sharing rule (`CreateFile`, ERROR_SHARING_VIOLATION): why an open asking for
    /// `access` with `share` conflicts with a handle already open on the same file with
    /// `existing_access` and `existing_share`, or `None` if both may be open together. The new
    /// access must be within the old share mode and the old access within the new share mode.
    #[must_use]
    pub fn conflict(
        existing_access: Access,
        existing_share: Self,
        access: Access,
        share: Self,
    ) -> Option<String> {
        if !existing_share.permits(access) {
            Some(format!(
                "an open handle shares {existing_share:?}, {access:?} requested"
            ))
        } else if !share.permits(existing_access) {
            Some(format!(
                "an open handle has {existing_access:?}, the new share mode {share:?} excludes it"
            ))
        } else {
            None
        }
    }
}

/// What to do depending on whether the file exists (`CreateFile`'s creation disposition).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// `CREATE_NEW`: create; fail with [`Error::AlreadyExists`] if it exists.
    CreateNew,
    /// `OPEN_EXISTING`: open; fail with [`Error::NotFound`] if missing.
    OpenExisting,
    /// `OPEN_ALWAYS`: open, creating it if missing.
    OpenAlways,
    /// `TRUNCATE_EXISTING`: open and truncate to 0; fail if missing. Needs write access.
    TruncateExisting,
    /// `CREATE_ALWAYS`: create, or truncate to 0 if it exists. Needs write access.
    CreateAlways,
}

/// Options of [`Volume::open`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpenOptions {
    /// Access rights requested.
    pub access: Access,
    /// Share mode granted to later opens.
    pub share: ShareMode,
    /// Creation disposition.
    pub disposition: Disposition,
}

impl OpenOptions {
    /// Read an existing file, sharing read (what a reader normally asks for).
    pub const READ_EXISTING: Self = Self {
        access: Access::READ,
        share: ShareMode::READ,
        disposition: Disposition::OpenExisting,
    };

    /// Options from parts.
    #[must_use]
    pub fn new(access: Access, share: ShareMode, disposition: Disposition) -> Self {
        Self {
            access,
            share,
            disposition,
        }
    }
}

/// What [`Volume::metadata`] and [`Volume::read_dir`] report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// `FILE_ATTRIBUTE_*` bits ([`attr`]).
    pub attributes: u32,
    /// Logical length of the unnamed data stream (0 for directories).
    pub len: u64,
    /// Bytes actually allocated (smaller than `len` for a sparse file with holes), where the
    /// implementation knows; else equal to `len`.
    pub allocated: u64,
}

impl Metadata {
    /// True for a directory.
    #[must_use]
    pub fn is_dir(&self) -> bool {
        self.attributes & attr::DIRECTORY != 0
    }

    /// True if the file has a reparse point.
    #[must_use]
    pub fn is_reparse_point(&self) -> bool {
        self.attributes & attr::REPARSE_POINT != 0
    }

    /// True if the file is marked sparse.
    #[must_use]
    pub fn is_sparse(&self) -> bool {
        self.attributes & attr::SPARSE_FILE != 0
    }
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The name as stored (original case).
    pub name: String,
    /// Its metadata.
    pub metadata: Metadata,
}

/// One entry of the `PendingFileRenameOperations` list (`MoveFileEx` with
/// `MOVEFILE_DELAY_UNTIL_REBOOT`): at the next boot, `source` is renamed to `destination`, or
/// deleted when `destination` is `None`. In the registry value the destination is prefixed with
/// `!` when `MOVEFILE_REPLACE_EXISTING` was given; here that is `replace_existing`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PendingRename {
    /// File to move or delete.
    pub source: WinPath,
    /// New name, or `None` to delete.
    pub destination: Option<WinPath>,
    /// Replace an existing destination.
    pub replace_existing: bool,
}

impl PendingRename {
    /// Does on `volume` what the next boot does with this operation: the rename, or the
    /// deletion of the file or (empty) folder.
    ///
    /// # Errors
    /// The rename's, the lookup's or the deletion's.
    pub fn carry_out(&self, volume: &(impl Volume + ?Sized)) -> Result<(), Error> {
        match &self.destination {
            Some(dst) => volume.rename(&self.source, dst, self.replace_existing),
            None => match volume.metadata(&self.source) {
                Ok(md) if md.is_dir() => volume.remove_dir(&self.source),
                Ok(_) => volume.delete_file(&self.source),
                Err(e) => Err(e),
            },
        }
    }
}

/// An open file on a [`Volume`]. All methods take `&self`, so one handle can serve positioned
/// reads and writes from many threads at once (engines write decoded chunks from rayon workers).
/// Dropping the handle closes it and releases its share-mode claim.
pub trait FileHandle: Send + Sync + std::fmt::Debug {
    /// The path the handle was opened with (after a rename through the volume: the new path).
    fn path(&self) -> WinPath;

    /// Reads up to `buf.len()` bytes at `offset` of the unnamed data; returns the count read
    /// (0 at or past the end). Needs read access.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Error>;

    /// Writes `buf` at `offset` of the unnamed data, extending the file if needed; returns the
    /// count written. Needs write access.
    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize, Error>;

    /// Reads exactly `buf.len()` bytes at `offset`, or fails with an `Io` error of kind
    /// `UnexpectedEof`.
    fn read_exact_at(&self, mut offset: u64, mut buf: &mut [u8]) -> Result<(), Error> {
        while !buf.is_empty() {
            let n = self.read_at(offset, buf)?;
            if n == 0 {
                return Err(Error::Io {
                    path: self.path(),
                    source: std::io::ErrorKind::UnexpectedEof.into(),
                });
            }
            buf = &mut buf[n..];
            offset += n as u64;
        }
        Ok(())
    }

    /// Writes all of `buf` at `offset`.
    fn write_all_at(&self, mut offset: u64, mut buf: &[u8]) -> Result<(), Error> {
        while !buf.is_empty() {
            let n = self.write_at(offset, buf)?;
            if n == 0 {
                return Err(Error::Io {
                    path: self.path(),
                    source: std::io::ErrorKind::WriteZero.into(),
                });
            }
            buf = &buf[n..];
            offset += n as u64;
        }
        Ok(())
    }

    /// Logical length of the unnamed data.
    fn len(&self) -> Result<u64, Error>;

    /// True if the unnamed data is empty.
    fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.len()? == 0)
    }

    /// Sets the logical length (extending leaves a hole on a sparse-capable implementation).
    /// Needs write access.
    fn set_len(&self, len: u64) -> Result<(), Error>;

    /// `FILE_ATTRIBUTE_*` bits, including the derived `SPARSE_FILE` and `REPARSE_POINT`.
    fn attributes(&self) -> Result<u32, Error>;

    /// Sets the [`attr::SETTABLE`] bits (others are ignored, as `SetFileAttributes` does).
    /// Needs write access.
    fn set_attributes(&self, attributes: u32) -> Result<(), Error>;

    /// Marks the file sparse or not (`FSCTL_SET_SPARSE`). Needs write access.
    fn set_sparse(&self, sparse: bool) -> Result<(), Error>;

    /// [`set_sparse`](Self::set_sparse) then [`set_attributes`](Self::set_attributes), what a
    /// file gets once it is written; an implementation that keeps both in one place may do it
    /// in one step. Needs write access.
    fn set_sparse_and_attributes(&self, sparse: bool, attributes: u32) -> Result<(), Error> {
        self.set_sparse(sparse)?;
        self.set_attributes(attributes)
    }

    /// Extends a new, empty file to `len` as a range that will be written in pieces and may keep
    /// holes (the restore's temporary files). The default marks the file sparse first
    /// (`FSCTL_SET_SPARSE`: otherwise Windows allocates and zeroes the whole range) and then
    /// sets the length. A volume on which an extended range is a hole whatever the flag says
    /// may only set the length: the file's sparse flag is then what the writer sets once the
    /// file is written ([`set_sparse_and_attributes`](Self::set_sparse_and_attributes)). Needs
    /// write access.
    fn extend_unallocated(&self, len: u64) -> Result<(), Error> {
        self.set_sparse(true)?;
        self.set_len(len)
    }

    /// The reparse point as a full `REPARSE_DATA_BUFFER` (tag, length, reserved, data), or
    /// [`Error::NotAReparsePoint`].
    fn reparse_point(&self) -> Result<Vec<u8>, Error>;

    /// Sets the reparse point (`FSCTL_SET_REPARSE_POINT`): `buffer` is a full
    /// `REPARSE_DATA_BUFFER` whose length field matches; a different tag already on the file is
    /// [`Error::ReparseTagMismatch`]. Needs write access.
    fn set_reparse_point(&self, buffer: &[u8]) -> Result<(), Error>;

    /// Removes the reparse point (`FSCTL_DELETE_REPARSE_POINT`), or [`Error::NotAReparsePoint`].
    /// The data stream is left as it is. Needs write access.
    fn remove_reparse_point(&self) -> Result<(), Error>;

    /// Flushes written data to stable storage.
    fn flush(&self) -> Result<(), Error>;

    /// Sets the file's last modification and access times (`None` leaves one as it is), as
    /// `SetFileTime` does on a handle: no lookup of the path. Needs write access. Default:
    /// [`Error::Unsupported`] (then [`Volume::set_times`] on the path may still work).
    fn set_times(
        &self,
        modified: Option<std::time::SystemTime>,
        accessed: Option<std::time::SystemTime>,
    ) -> Result<(), Error> {
        let _ = (modified, accessed);
        Err(Error::Unsupported {
            path: self.path(),
            what: "file times through a handle".into(),
        })
    }

    /// The byte ranges of the data that hold allocated clusters (`FSCTL_QUERY_ALLOCATED_RANGES`),
    /// merged and in order; everything else reads as zeros. `None` when the implementation
    /// cannot tell (then the whole file must be read).
    fn allocated_ranges(&self) -> Result<Option<Vec<std::ops::Range<u64>>>, Error> {
        Ok(None)
    }
}

/// A metadata lookup's answer with a missing name as `None`.
pub(crate) fn present(found: Result<Metadata, Error>) -> Result<Option<Metadata>, Error> {
    match found {
        Ok(m) => Ok(Some(m)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A volume with Windows file semantics. Paths are [`WinPath`]s relative to the volume root.
/// Implementations are shared between threads (`Send + Sync`) and used as `dyn Volume`.
pub trait Volume: Send + Sync {
    /// Opens (or creates) a file. Directories cannot be opened ([`Error::IsADirectory`]); a
    /// missing parent directory is [`Error::NotFound`]; share-mode conflicts are
    /// [`Error::SharingViolation`]; write access to a read-only file is [`Error::AccessDenied`].
    fn open(&self, path: &WinPath, options: OpenOptions) -> Result<Box<dyn FileHandle>, Error>;

    /// Metadata of a file or directory.
    fn metadata(&self, path: &WinPath) -> Result<Metadata, Error>;

    /// Whether a file or directory exists.
    fn exists(&self, path: &WinPath) -> Result<bool, Error> {
        present(self.metadata(path)).map(|found| found.is_some())
    }

    /// What is at `path` before something is made there: `None` when nothing is. Where
    /// [`Volume::metadata`] always asks the file system, a volume may answer `None` from what
    /// it knows of its own changes (a host volume: a folder's name index holds no spelling of
    /// the name), so a name made behind its back since may be missed, as
    /// [`Disposition::CreateNew`] misses it; whatever is then made there refuses such a name
    /// (a create that fails when the name exists, a rename that does not replace).
    fn existing(&self, path: &WinPath) -> Result<Option<Metadata>, Error> {
        present(self.metadata(path))
    }

    /// Lists a directory (names in stored case, sorted case-insensitively).
    fn read_dir(&self, path: &WinPath) -> Result<Vec<DirEntry>, Error>;

    /// Creates a directory; the parent must exist.
    fn create_dir(&self, path: &WinPath) -> Result<(), Error>;

    /// Creates a directory and its missing parents (existing directories are fine).
    fn create_dir_all(&self, path: &WinPath) -> Result<(), Error> {
        let mut cur = WinPath::root();
        for c in path.components() {
            cur = cur.join(c)?;
            match self.create_dir(&cur) {
                Ok(()) => {}
                Err(Error::AlreadyExists { .. }) if self.metadata(&cur)?.is_dir() => {}
                Err(Error::AlreadyExists { path }) => return Err(Error::NotADirectory { path }),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Removes an empty directory.
    fn remove_dir(&self, path: &WinPath) -> Result<(), Error>;

    /// Deletes a file. Fails with [`Error::SharingViolation`] while a handle that does not share
    /// delete is open, [`Error::AccessDenied`] for a read-only file.
    fn delete_file(&self, path: &WinPath) -> Result<(), Error>;

    /// Renames a file or directory. An existing destination is replaced only with `replace`
    /// (else [`Error::AlreadyExists`]); a directory is never replaced ([`Error::AccessDenied`]).
    /// Open handles on the source must share delete.
    fn rename(&self, from: &WinPath, to: &WinPath, replace: bool) -> Result<(), Error>;

    /// Appends to the `PendingFileRenameOperations` list ("rename at reboot").
    fn add_pending_rename(&self, op: &PendingRename) -> Result<(), Error>;

    /// The pending reboot operations, in the order they were added.
    fn pending_renames(&self) -> Result<Vec<PendingRename>, Error>;

    /// Creates a symbolic link at `path` pointing at `target` (stored as given, never followed).
    /// Default: [`Error::Unsupported`] (a volume that cannot hold links).
    fn create_symlink(&self, path: &WinPath, target: &str) -> Result<(), Error> {
        let _ = target;
        Err(Error::Unsupported {
            path: path.clone(),
            what: "symbolic links".into(),
        })
    }

    /// Sets a file's or folder's last modification and access times (`None` leaves one as
    /// it is). Default: [`Error::Unsupported`].
    fn set_times(
        &self,
        path: &WinPath,
        modified: Option<std::time::SystemTime>,
        accessed: Option<std::time::SystemTime>,
    ) -> Result<(), Error> {
        let _ = (modified, accessed);
        Err(Error::Unsupported {
            path: path.clone(),
            what: "file times".into(),
        })
    }

    /// Flushes everything written to the volume to stable storage (one call at the end of a
    /// restore instead of one flush per file). Default: nothing to do.
    fn sync_all(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Reads a file's reparse point by path (opens it for read, sharing everything).
    fn reparse_point(&self, path: &WinPath) -> Result<Vec<u8>, Error> {
        self.open(
            path,
            OpenOptions::new(Access::READ, ShareMode::ALL, Disposition::OpenExisting),
        )?
        .reparse_point()
    }
}

#[cfg(test)]
mod tests {
    use super::{Access, ShareMode};

    #[test]
    fn share_mode_conflict_rule() {
        let read_only = Access::READ;
        // Readers sharing read may be open together.
        assert_eq!(
            ShareMode::conflict(read_only, ShareMode::READ, read_only, ShareMode::READ),
            None
        );
        // The new access must be within the old share mode.
        assert_eq!(
            ShareMode::conflict(
                read_only,
                ShareMode::READ,
                Access::READ_WRITE,
                ShareMode::ALL
            )
            .as_deref(),
            Some(
                "an open handle shares ShareMode { read: true, write: false, delete: false }, \
                 Access { read: true, write: true, delete: false } requested"
            )
        );
        // The old access must be within the new share mode.
        assert_eq!(
            ShareMode::conflict(
                Access::READ_WRITE,
                ShareMode::ALL,
                read_only,
                ShareMode::READ
            )
            .as_deref(),
            Some(
                "an open handle has Access { read: true, write: true, delete: false }, \
                 the new share mode ShareMode { read: true, write: false, delete: false } \
                 excludes it"
            )
        );
        // An exclusive handle excludes every later open, and an exclusive open every earlier
        // handle; delete is a right of its own.
        assert!(
            ShareMode::conflict(Access::ALL, ShareMode::NONE, read_only, ShareMode::ALL).is_some()
        );
        assert!(
            ShareMode::conflict(read_only, ShareMode::ALL, Access::ALL, ShareMode::NONE).is_some()
        );
        let delete = Access {
            read: false,
            write: false,
            delete: true,
        };
        assert!(
            ShareMode::conflict(read_only, ShareMode::READ_WRITE, delete, ShareMode::ALL).is_some()
        );
        assert_eq!(
            ShareMode::conflict(read_only, ShareMode::ALL, delete, ShareMode::ALL),
            None
        );
    }
}
