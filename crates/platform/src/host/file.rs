//! [`HostFile`]: an open file of a [`HostVolume`](super::HostVolume); reparse points and
//! attributes live in its extended attributes (see the parent module).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use xattr::FileExt as _;

use super::beneath::timespec;
use super::{
    ATTRIBUTES_XATTR, REPARSE_XATTR_USER, STORED_BITS, Shared, compose_attrs, is_unsupported,
    reparse_of, stored_attrs_of,
};
use crate::{Access, Error, FileHandle, WinPath, attr};

/// An open file of a [`HostVolume`](super::HostVolume).
#[derive(Debug)]
pub struct HostFile {
    pub(super) file: File,
    pub(super) id: u64,
    pub(super) access: Access,
    pub(super) shared: Arc<Shared>,
    /// Created by this handle with its owner's write bit (see `HostVolume`'s
    /// `creates_owner_writable`). Its mode changes only through a handle of this volume, and
    /// only to read-only, which `Shared::made_read_only` records: while that is unset, the
    /// bit is still there.
    pub(super) owner_writable: bool,
}

impl Drop for HostFile {
    fn drop(&mut self) {
        self.shared.handles().remove(&self.id);
    }
}

impl HostFile {
    fn need(&self, write: bool) -> Result<(), Error> {
        let ok = if write {
            self.access.write
        } else {
            self.access.read
        };
        if ok {
            Ok(())
        } else {
            Err(Error::AccessDenied {
                path: self.path(),
                reason: if write {
                    "handle lacks write access"
                } else {
                    "handle lacks read access"
                },
            })
        }
    }

    fn io(&self, e: io::Error) -> Error {
        Error::from_io(&self.path(), e)
    }

    fn xattr_err(&self, e: io::Error) -> Error {
        if is_unsupported(&e) {
            Error::Unsupported {
                path: self.path(),
                what: format!("host file system refuses extended attributes ({e})"),
            }
        } else {
            self.io(e)
        }
    }

    fn stored_attrs(&self) -> Option<u32> {
        stored_attrs_of(|n| self.file.get_xattr(n))
    }

    /// `FILE_ATTRIBUTE_READONLY` shows in the file's mode too, so that every other tool sees
    /// it (the stored attributes are an extended attribute only this project reads): the write
    /// bits off when it is set, the owner's write bit back when it is cleared. Done before the
    /// attributes are stored, so it holds where extended attributes are not supported.
    fn mode_follows_read_only(&self, read_only: bool) -> Result<(), Error> {
        use std::os::unix::fs::PermissionsExt as _;
        let md = self
            .file
            .metadata()
            .map_err(|e| Error::from_io(&self.path(), e))?;
        if md.is_dir() {
            return Ok(());
        }
        let mode = md.permissions().mode() & 0o7777;
        if read_only {
            self.shared.made_read_only.store(true, Ordering::Release);
        }
        let want = if read_only {
            mode & !0o222
        } else {
            mode | 0o200
        };
        if want == mode {
            return Ok(());
        }
        self.file
            .set_permissions(std::fs::Permissions::from_mode(want))
            .map_err(|e| Error::from_io(&self.path(), e))
    }

    fn write_stored_attrs(&self, bits: u32) -> Result<(), Error> {
        self.file
            .set_xattr(ATTRIBUTES_XATTR, &(bits & STORED_BITS).to_le_bytes())
            .map_err(|e| self.xattr_err(e))
    }
}

impl FileHandle for HostFile {
    fn path(&self) -> WinPath {
        self.shared
            .handles()
            .get(&self.id)
            .map_or_else(WinPath::root, |r| r.path.clone())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Error> {
        self.need(false)?;
        self.file.read_at(buf, offset).map_err(|e| self.io(e))
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize, Error> {
        self.need(true)?;
        self.file.write_at(buf, offset).map_err(|e| self.io(e))
    }

    fn len(&self) -> Result<u64, Error> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| self.io(e))
    }

    fn set_len(&self, len: u64) -> Result<(), Error> {
        self.need(true)?;
        self.file.set_len(len).map_err(|e| self.io(e))
    }

    fn attributes(&self) -> Result<u32, Error> {
        let has_reparse = reparse_of(|n| self.file.get_xattr(n)).is_some();
        Ok(compose_attrs(false, self.stored_attrs(), has_reparse))
    }

    fn set_attributes(&self, attributes: u32) -> Result<(), Error> {
        self.need(true)?;
        self.mode_follows_read_only(attributes & attr::READONLY != 0)?;
        let keep = self.stored_attrs().unwrap_or(0) & attr::SPARSE_FILE;
        self.write_stored_attrs(keep | (attributes & attr::SETTABLE & !attr::NORMAL))
    }

    /// One write of the stored bits, without reading them first (both parts are given); the
    /// mode is not looked at when the file is not to be read-only and this handle created it
    /// with its owner's write bit (a restored file's temporary sibling: one `fstat` a file).
    fn set_sparse_and_attributes(&self, sparse: bool, attributes: u32) -> Result<(), Error> {
        self.need(true)?;
        let read_only = attributes & attr::READONLY != 0;
        let still_writable =
            self.owner_writable && !self.shared.made_read_only.load(Ordering::Acquire);
        if read_only || !still_writable {
            self.mode_follows_read_only(read_only)?;
        }
        let sparse = if sparse { attr::SPARSE_FILE } else { 0 };
        self.write_stored_attrs(sparse | (attributes & attr::SETTABLE & !attr::NORMAL))
    }

    fn set_sparse(&self, sparse: bool) -> Result<(), Error> {
        self.need(true)?;
        let cur = self.stored_attrs().unwrap_or(attr::ARCHIVE);
        self.write_stored_attrs(if sparse {
            cur | attr::SPARSE_FILE
        } else {
            cur & !attr::SPARSE_FILE
        })
    }

    /// `ftruncate` alone: an extended range is a hole on the host whatever the stored sparse
    /// bit says, and the bit is stored once the file is written (two extended-attribute calls
    /// a file fewer on a restore of many small files).
    fn extend_unallocated(&self, len: u64) -> Result<(), Error> {
        self.set_len(len)
    }

    fn reparse_point(&self) -> Result<Vec<u8>, Error> {
        reparse_of(|n| self.file.get_xattr(n))
            .map(|(v, _)| v)
            .ok_or_else(|| Error::NotAReparsePoint { path: self.path() })
    }

    fn set_reparse_point(&self, buffer: &[u8]) -> Result<(), Error> {
        self.need(true)?;
        let existing = reparse_of(|n| self.file.get_xattr(n)).map(|(v, _)| v);
        crate::reparse::check_set(|| self.path(), buffer, existing.as_deref())?;
        self.file
            .set_xattr(REPARSE_XATTR_USER, buffer)
            .map_err(|e| self.xattr_err(e))
    }

    fn remove_reparse_point(&self) -> Result<(), Error> {
        self.need(true)?;
        match reparse_of(|n| self.file.get_xattr(n)) {
            Some((_, true)) => self
                .file
                .remove_xattr(REPARSE_XATTR_USER)
                .map_err(|e| self.xattr_err(e)),
            Some((_, false)) => Err(Error::AccessDenied {
                path: self.path(),
                reason: "system.ntfs_reparse_data (ntfs-3g) is read-only here",
            }),
            None => Err(Error::NotAReparsePoint { path: self.path() }),
        }
    }

    fn flush(&self) -> Result<(), Error> {
        self.file.sync_data().map_err(|e| self.io(e))
    }

    /// `futimens` on the open file: it is the file itself, whatever its name became.
    fn set_times(
        &self,
        modified: Option<std::time::SystemTime>,
        accessed: Option<std::time::SystemTime>,
    ) -> Result<(), Error> {
        self.need(true)?;
        let times = rustix::fs::Timestamps {
            last_access: timespec(accessed),
            last_modification: timespec(modified),
        };
        rustix::fs::futimens(&self.file, &times).map_err(|e| self.io(e.into()))
    }
}
