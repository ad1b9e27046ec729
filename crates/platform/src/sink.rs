//! [`NullVolume`]: a destination that keeps no data, for verification runs: every chunk is still
//! read, checked and "written", so a restore into it checks a whole store with memory bounded by
//! the engine's read window.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::{
    Access, DirEntry, Disposition, Error, FileHandle, Metadata, OpenOptions, PendingRename, Volume,
    WinPath, attr,
};

/// A volume that keeps no data: files exist with a length while open or being renamed, writes
/// are counted and dropped, reads return zeros; creating a directory always succeeds and none
/// is remembered. Memory: one small entry per open temporary file.
#[derive(Debug, Default)]
pub struct NullVolume {
    files: Mutex<HashMap<String, (WinPath, Arc<AtomicU64>)>>,
    written: Arc<AtomicU64>,
}

impl NullVolume {
    /// Bytes written through all handles so far.
    pub fn bytes_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    fn files(&self) -> std::sync::MutexGuard<'_, HashMap<String, (WinPath, Arc<AtomicU64>)>> {
        self.files.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Volume for NullVolume {
    fn open(&self, path: &WinPath, options: OpenOptions) -> Result<Box<dyn FileHandle>, Error> {
        let mut files = self.files();
        let key = path.folded();
        let len = match (files.get(&key), options.disposition) {
            (Some(_), Disposition::CreateNew) => {
                return Err(Error::AlreadyExists { path: path.clone() });
            }
            (Some((_, len)), Disposition::TruncateExisting | Disposition::CreateAlways) => {
                len.store(0, Ordering::Relaxed);
                len.clone()
            }
            (Some((_, len)), _) => len.clone(),
            (None, Disposition::OpenExisting | Disposition::TruncateExisting) => {
                return Err(Error::NotFound { path: path.clone() });
            }
            (None, _) => {
                let len = Arc::new(AtomicU64::new(0));
                files.insert(key, (path.clone(), len.clone()));
                len
            }
        };
        Ok(Box::new(NullHandle {
            path: path.clone(),
            len,
            access: options.access,
            written: self.written.clone(),
        }))
    }

    fn metadata(&self, path: &WinPath) -> Result<Metadata, Error> {
        match self.files().get(&path.folded()) {
            Some((_, len)) => Ok(Metadata {
                attributes: attr::ARCHIVE,
                len: len.load(Ordering::Relaxed),
                allocated: 0,
            }),
            // Directories are not tracked: only the root is known to exist, so that nothing
            // is ever seen as already there.
            None if path.is_root() => Ok(Metadata {
                attributes: attr::DIRECTORY,
                len: 0,
                allocated: 0,
            }),
            None => Err(Error::NotFound { path: path.clone() }),
        }
    }

    fn read_dir(&self, _path: &WinPath) -> Result<Vec<DirEntry>, Error> {
        Ok(Vec::new())
    }

    fn create_dir(&self, _path: &WinPath) -> Result<(), Error> {
        Ok(())
    }

    fn remove_dir(&self, _path: &WinPath) -> Result<(), Error> {
        Ok(())
    }

    fn delete_file(&self, path: &WinPath) -> Result<(), Error> {
        self.files()
            .remove(&path.folded())
            .map(|_| ())
            .ok_or_else(|| Error::NotFound { path: path.clone() })
    }

    fn rename(&self, from: &WinPath, to: &WinPath, replace: bool) -> Result<(), Error> {
        let mut files = self.files();
        if !replace && files.contains_key(&to.folded()) {
            return Err(Error::AlreadyExists { path: to.clone() });
        }
        let (_, len) = files
            .remove(&from.folded())
            .ok_or_else(|| Error::NotFound { path: from.clone() })?;
        // What the engine renamed into place is finished: forget it (memory stays bounded).
        drop(len);
        Ok(())
    }

    fn add_pending_rename(&self, op: &PendingRename) -> Result<(), Error> {
        Err(Error::Unsupported {
            path: op.source.clone(),
            what: "rename at reboot on a verification volume".into(),
        })
    }

    fn pending_renames(&self) -> Result<Vec<PendingRename>, Error> {
        Ok(Vec::new())
    }

    fn create_symlink(&self, _path: &WinPath, _target: &str) -> Result<(), Error> {
        Ok(())
    }

    fn set_times(
        &self,
        _path: &WinPath,
        _modified: Option<std::time::SystemTime>,
        _accessed: Option<std::time::SystemTime>,
    ) -> Result<(), Error> {
        Ok(())
    }
}

/// A handle of a [`NullVolume`].
#[derive(Debug)]
struct NullHandle {
    path: WinPath,
    len: Arc<AtomicU64>,
    access: Access,
    written: Arc<AtomicU64>,
}

impl NullHandle {
    fn need_write(&self) -> Result<(), Error> {
        if self.access.write {
            Ok(())
        } else {
            Err(Error::AccessDenied {
                path: self.path.clone(),
                reason: "handle lacks write access",
            })
        }
    }
}

impl FileHandle for NullHandle {
    fn path(&self) -> WinPath {
        self.path.clone()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Error> {
        let len = self.len.load(Ordering::Relaxed);
        let n = len.saturating_sub(offset).min(buf.len() as u64) as usize;
        buf[..n].fill(0);
        Ok(n)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize, Error> {
        self.need_write()?;
        self.len
            .fetch_max(offset.saturating_add(buf.len() as u64), Ordering::Relaxed);
        self.written.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }

    fn len(&self) -> Result<u64, Error> {
        Ok(self.len.load(Ordering::Relaxed))
    }

    fn set_len(&self, len: u64) -> Result<(), Error> {
        self.need_write()?;
        self.len.store(len, Ordering::Relaxed);
        Ok(())
    }

    fn attributes(&self) -> Result<u32, Error> {
        Ok(attr::ARCHIVE)
    }

    fn set_attributes(&self, _attributes: u32) -> Result<(), Error> {
        self.need_write()
    }

    fn set_sparse(&self, _sparse: bool) -> Result<(), Error> {
        self.need_write()
    }

    fn reparse_point(&self) -> Result<Vec<u8>, Error> {
        Err(Error::NotAReparsePoint {
            path: self.path.clone(),
        })
    }

    fn set_reparse_point(&self, _buffer: &[u8]) -> Result<(), Error> {
        self.need_write()
    }

    fn remove_reparse_point(&self) -> Result<(), Error> {
        Err(Error::NotAReparsePoint {
            path: self.path.clone(),
        })
    }

    fn flush(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Kept nowhere, like the data; refused without write access.
    fn set_times(
        &self,
        _modified: Option<std::time::SystemTime>,
        _accessed: Option<std::time::SystemTime>,
    ) -> Result<(), Error> {
        self.need_write()
    }
}
