//! [`CompareVolume`]: a dry run's view of the destination. The engine rebuilds a dedup file
//! as it would for a real restore, but its temporary sibling is virtual: every byte written is
//! compared with the file already at the final path instead of being stored, and the final
//! rename only records whether the two were identical. Nothing in the destination is ever
//! written, created, renamed or deleted.
//!
//! The engine must write every byte (`RestoreOptions::sparse_zeros` off), so that no range of
//! the existing file goes unchecked.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use platform::{
    DirEntry, Disposition, Error, FileHandle, Metadata, OpenOptions, PendingRename, Volume,
    WinPath, attr,
};

/// One virtual temporary file: the existing file it is compared with, and the verdict so far.
#[derive(Debug)]
struct Virtual {
    existing: Option<Box<dyn FileHandle>>,
    differs: AtomicBool,
    len: AtomicU64,
}

/// The destination, read only, with virtual temporary files (see the module docs).
pub(crate) struct CompareVolume<'a> {
    inner: &'a dyn Volume,
    files: Mutex<HashMap<String, (WinPath, Arc<Virtual>)>>,
    /// Folded final path → identical.
    verdicts: Mutex<HashMap<String, bool>>,
}

impl<'a> CompareVolume<'a> {
    pub(crate) fn new(inner: &'a dyn Volume) -> Self {
        Self {
            inner,
            files: Mutex::new(HashMap::new()),
            verdicts: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the rebuilt file at `path` was identical to the existing one (`None`: it was
    /// never completed).
    pub(crate) fn identical(&self, path: &WinPath) -> Option<bool> {
        self.verdicts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&path.folded())
            .copied()
    }

    fn files(&self) -> std::sync::MutexGuard<'_, HashMap<String, (WinPath, Arc<Virtual>)>> {
        self.files.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn refuse(path: &WinPath) -> Error {
        Error::AccessDenied {
            path: path.clone(),
            reason: "a dry run writes nothing",
        }
    }
}

/// The final path of a temporary sibling `NAME.rehydrate~N`.
fn final_path(temp: &WinPath) -> Option<WinPath> {
    let name = temp.file_name()?;
    if !crate::resume::is_temporary_name(name) {
        return None;
    }
    let (stem, _) = name.rsplit_once(".rehydrate~")?;
    temp.parent()?.join(stem).ok()
}

impl Volume for CompareVolume<'_> {
    fn open(&self, path: &WinPath, options: OpenOptions) -> Result<Box<dyn FileHandle>, Error> {
        let key = path.folded();
        if let Some((p, v)) = self.files().get(&key) {
            if options.disposition == Disposition::CreateNew {
                return Err(Error::AlreadyExists { path: path.clone() });
            }
            return Ok(Box::new(CompareHandle {
                path: p.clone(),
                file: v.clone(),
            }));
        }
        if options.disposition == Disposition::CreateNew {
            let target = final_path(path).ok_or_else(|| Self::refuse(path))?;
            let existing = self.inner.open(&target, OpenOptions::READ_EXISTING).ok();
            let file = Arc::new(Virtual {
                existing,
                differs: AtomicBool::new(false),
                len: AtomicU64::new(0),
            });
            self.files().insert(key, (path.clone(), file.clone()));
            return Ok(Box::new(CompareHandle {
                path: path.clone(),
                file,
            }));
        }
        if options.access.write || options.disposition != Disposition::OpenExisting {
            return Err(Self::refuse(path));
        }
        self.inner.open(path, options)
    }

    fn metadata(&self, path: &WinPath) -> Result<Metadata, Error> {
        if let Some((_, v)) = self.files().get(&path.folded()) {
            return Ok(Metadata {
                attributes: attr::ARCHIVE,
                len: v.len.load(Ordering::Relaxed),
                allocated: 0,
            });
        }
        self.inner.metadata(path)
    }

    fn read_dir(&self, path: &WinPath) -> Result<Vec<DirEntry>, Error> {
        self.inner.read_dir(path)
    }

    fn create_dir(&self, path: &WinPath) -> Result<(), Error> {
        Err(Self::refuse(path))
    }

    fn remove_dir(&self, path: &WinPath) -> Result<(), Error> {
        Err(Self::refuse(path))
    }

    fn delete_file(&self, path: &WinPath) -> Result<(), Error> {
        match self.files().remove(&path.folded()) {
            Some(_) => Ok(()),
            None => Err(Self::refuse(path)),
        }
    }

    fn rename(&self, from: &WinPath, to: &WinPath, _replace: bool) -> Result<(), Error> {
        let Some((_, v)) = self.files().remove(&from.folded()) else {
            return Err(Self::refuse(from));
        };
        let len = v.len.load(Ordering::Relaxed);
        let identical = !v.differs.load(Ordering::Relaxed)
            && v.existing
                .as_ref()
                .and_then(|e| e.len().ok())
                .is_some_and(|n| n == len);
        self.verdicts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(to.folded(), identical);
        Ok(())
    }

    fn add_pending_rename(&self, op: &PendingRename) -> Result<(), Error> {
        Err(Self::refuse(&op.source))
    }

    fn pending_renames(&self) -> Result<Vec<PendingRename>, Error> {
        Ok(Vec::new())
    }

    fn create_symlink(&self, path: &WinPath, _target: &str) -> Result<(), Error> {
        Err(Self::refuse(path))
    }

    fn set_times(
        &self,
        path: &WinPath,
        _modified: Option<std::time::SystemTime>,
        _accessed: Option<std::time::SystemTime>,
    ) -> Result<(), Error> {
        Err(Self::refuse(path))
    }

    fn sync_all(&self) -> Result<(), Error> {
        Ok(())
    }

    fn reparse_point(&self, path: &WinPath) -> Result<Vec<u8>, Error> {
        self.inner.reparse_point(path)
    }
}

/// A handle on a virtual temporary file.
#[derive(Debug)]
struct CompareHandle {
    path: WinPath,
    file: Arc<Virtual>,
}

impl FileHandle for CompareHandle {
    fn path(&self) -> WinPath {
        self.path.clone()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Error> {
        let n = self
            .file
            .len
            .load(Ordering::Relaxed)
            .saturating_sub(offset)
            .min(buf.len() as u64) as usize;
        buf[..n].fill(0);
        Ok(n)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize, Error> {
        if !self.file.differs.load(Ordering::Relaxed) {
            let same = self.file.existing.as_ref().is_some_and(|e| {
                let mut have = vec![0u8; buf.len()];
                e.read_exact_at(offset, &mut have).is_ok() && have == buf
            });
            if !same {
                self.file.differs.store(true, Ordering::Relaxed);
            }
        }
        Ok(buf.len())
    }

    fn len(&self) -> Result<u64, Error> {
        Ok(self.file.len.load(Ordering::Relaxed))
    }

    fn set_len(&self, len: u64) -> Result<(), Error> {
        self.file.len.store(len, Ordering::Relaxed);
        Ok(())
    }

    fn attributes(&self) -> Result<u32, Error> {
        Ok(attr::ARCHIVE)
    }

    fn set_attributes(&self, _attributes: u32) -> Result<(), Error> {
        Ok(())
    }

    fn set_sparse(&self, _sparse: bool) -> Result<(), Error> {
        Ok(())
    }

    fn reparse_point(&self) -> Result<Vec<u8>, Error> {
        Err(Error::NotAReparsePoint {
            path: self.path.clone(),
        })
    }

    fn set_reparse_point(&self, _buffer: &[u8]) -> Result<(), Error> {
        Err(CompareVolume::refuse(&self.path))
    }

    fn remove_reparse_point(&self) -> Result<(), Error> {
        Err(CompareVolume::refuse(&self.path))
    }

    fn flush(&self) -> Result<(), Error> {
        Ok(())
    }
}
