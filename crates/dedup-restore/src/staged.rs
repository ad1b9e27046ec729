//! The staging of an out-of-place restore: the dedup stubs read from the source laid over the
//! destination, so that the in-place engine ([`crate::restore_files`]) can run on them.
//!
//! [`StagedVolume`] lays the dedup stubs read from the source over a target volume without
//! writing them anywhere: `metadata` and `reparse_point` of a stub's path answer from memory;
//! everything else goes to the target. The engine builds each file in a temporary sibling on the
//! target and renames it over the stub's path only when every byte is written and verified, so
//! a file that fails leaves nothing at its path (and never a stub that looks like a truncated
//! file), and the source is never touched.
//!
//! The destination is any [`Volume`]: a [`platform::HostVolume`] on an output folder, a
//! simulated volume, or a [`platform::NullVolume`] that keeps no data (verification: every chunk
//! is still read, CRC-checked, decoded and hash-checked before it is "written").

use foldhash::{HashMap, HashSet, HashSetExt as _};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::SystemTime;

use platform::{
    DirEntry, Disposition, Error, FileHandle, Metadata, OpenOptions, PendingRename, Volume,
    WinPath, attr,
};

use crate::tree::Overwrite;

/// A dedup stub from the source volume.
#[derive(Debug, Clone)]
pub(crate) struct Stub {
    /// The full `REPARSE_DATA_BUFFER`.
    pub(crate) reparse: Vec<u8>,
    /// `FILE_ATTRIBUTE_*` bits of the source file (without `REPARSE_POINT`).
    pub(crate) attributes: u32,
    /// Logical size (from the reparse point).
    pub(crate) logical: u64,
    /// The source file's times, given to the rebuilt file when the engine finishes it.
    pub(crate) times: Times,
}

/// A file's last modification and access times (`None`: left as they are).
pub(crate) type Times = (Option<SystemTime>, Option<SystemTime>);

/// Stubs in memory over a target volume (see the module docs).
pub(crate) struct StagedVolume<'a> {
    inner: &'a dyn Volume,
    /// Keyed by path, compared case-insensitively (a lookup folds nothing into a new string:
    /// every open, rename and metadata call of the restore's workers asks here first).
    stubs: RwLock<HashMap<WinPath, Stub>>,
    /// What to do when a file is already at a stub's path when the rebuilt one is renamed
    /// there (see [`Overwrite`]).
    overwrite: Overwrite,
    /// Paths (compared case-insensitively, as every set here): existing file identical to the
    /// rebuilt one, kept.
    skipped: Mutex<HashSet<WinPath>>,
    /// Existing file different, kept (a conflict).
    conflicts: Mutex<HashSet<WinPath>>,
    /// Existing file replaced by the rebuilt one.
    replaced: Mutex<HashSet<WinPath>>,
    /// Rebuilt files given their source times through their handle.
    timed: Arc<Mutex<HashSet<WinPath>>>,
}

/// Which of the [`StagedVolume`]'s paths met an existing file, and what became of it.
#[derive(Debug, Default)]
pub(crate) struct Met {
    pub(crate) skipped: HashSet<WinPath>,
    pub(crate) conflicts: HashSet<WinPath>,
    pub(crate) replaced: HashSet<WinPath>,
    /// Rebuilt files that have their source times already (the others get them by path).
    pub(crate) timed: HashSet<WinPath>,
}

fn take(set: &Mutex<HashSet<WinPath>>) -> HashSet<WinPath> {
    std::mem::take(&mut *set.lock().unwrap_or_else(PoisonError::into_inner))
}

fn record(set: &Mutex<HashSet<WinPath>>, path: &WinPath) {
    set.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(path.clone());
}

impl<'a> StagedVolume<'a> {
    /// `stubs` laid over `inner`.
    pub(crate) fn new(
        inner: &'a dyn Volume,
        stubs: Vec<(WinPath, Stub)>,
        overwrite: Overwrite,
    ) -> Self {
        Self {
            inner,
            stubs: RwLock::new(stubs.into_iter().collect()),
            overwrite,
            skipped: Mutex::new(HashSet::new()),
            conflicts: Mutex::new(HashSet::new()),
            replaced: Mutex::new(HashSet::new()),
            timed: Arc::default(),
        }
    }

    /// The (folded) paths that met an existing file, by what became of it.
    pub(crate) fn met(&self) -> Met {
        Met {
            skipped: take(&self.skipped),
            conflicts: take(&self.conflicts),
            replaced: take(&self.replaced),
            timed: take(&self.timed),
        }
    }

    /// `from` (a rebuilt file) and the file already at `to` hold the same bytes.
    fn same_as_existing(&self, from: &WinPath, to: &WinPath) -> bool {
        let (Ok(a), Ok(b)) = (
            self.inner.open(from, OpenOptions::READ_EXISTING),
            self.inner.open(to, OpenOptions::READ_EXISTING),
        ) else {
            return false;
        };
        crate::resume::same_files(a.as_ref(), b.as_ref()).unwrap_or(false)
    }

    /// The rebuilt `from` met a file already at its stub's path `to`: kept when identical,
    /// replaced when the overwrite policy says so, otherwise a conflict.
    fn onto_existing(&self, from: &WinPath, to: &WinPath) -> Result<(), Error> {
        // Comparing with the file there reads the rebuilt one, which may move its access
        // time: the tree sets the times again, on the path.
        self.timed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(to);
        match self.overwrite {
            Overwrite::Always => self.replace(from, to),
            policy => {
                if self.same_as_existing(from, to) {
                    self.inner.delete_file(from)?;
                    record(&self.skipped, to);
                    Ok(())
                } else if policy == Overwrite::IfChanged {
                    self.replace(from, to)
                } else {
                    record(&self.conflicts, to);
                    Err(Error::AlreadyExists { path: to.clone() })
                }
            }
        }
    }

    /// Puts the rebuilt `from` over the existing file at `to`, which must be a plain file (a
    /// folder or a link, or anything with a reparse point, is never replaced): one rename, so
    /// a failure leaves the old file in place.
    fn replace(&self, from: &WinPath, to: &WinPath) -> Result<(), Error> {
        match self.inner.metadata(to) {
            Ok(m) if !m.is_dir() && !m.is_reparse_point() => {
                self.inner.rename(from, to, true)?;
                record(&self.replaced, to);
                Ok(())
            }
            Ok(_) => {
                record(&self.conflicts, to);
                Err(Error::AlreadyExists { path: to.clone() })
            }
            Err(e) => Err(e),
        }
    }

    fn stub(&self, path: &WinPath) -> Option<Stub> {
        self.with_stub(path, Stub::clone)
    }

    /// `f` of the stub at `path`, without cloning it (a reparse buffer is ~400 bytes, and a
    /// restore asks about every stub several times).
    fn with_stub<R>(&self, path: &WinPath, f: impl FnOnce(&Stub) -> R) -> Option<R> {
        self.stubs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(path)
            .map(f)
    }

    fn has_stub(&self, path: &WinPath) -> bool {
        self.stubs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(path)
    }

    fn drop_stub(&self, path: &WinPath) -> bool {
        let removed = self
            .stubs
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(path);
        removed.is_some()
    }
}

fn stub_metadata(s: &Stub) -> Metadata {
    Metadata {
        attributes: (s.attributes & !attr::DIRECTORY & !attr::NORMAL)
            | attr::REPARSE_POINT
            | attr::SPARSE_FILE,
        len: s.logical,
        allocated: 0,
    }
}

impl Volume for StagedVolume<'_> {
    fn open(&self, path: &WinPath, options: OpenOptions) -> Result<Box<dyn FileHandle>, Error> {
        if let Some(stub) = self.stub(path) {
            if options.disposition == Disposition::CreateNew {
                return Err(Error::AlreadyExists { path: path.clone() });
            }
            return Ok(Box::new(StubHandle {
                path: path.clone(),
                stub,
            }));
        }
        let inner = self.inner.open(path, options)?;
        // The temporary sibling of a stub: it gets the stub's source times when the engine
        // finishes it, through this handle (no lookup of its path, as setting them on the
        // path after the rename would take).
        let finish = crate::resume::original_of(path).and_then(|original| {
            let times = self.with_stub(&original, |s| s.times)?;
            Some(Finish {
                times,
                key: original,
                timed: Arc::clone(&self.timed),
            })
        });
        Ok(Box::new(Tolerant { inner, finish }))
    }

    fn metadata(&self, path: &WinPath) -> Result<Metadata, Error> {
        match self.with_stub(path, stub_metadata) {
            Some(m) => Ok(m),
            None => self.inner.metadata(path),
        }
    }

    fn existing(&self, path: &WinPath) -> Result<Option<Metadata>, Error> {
        match self.with_stub(path, stub_metadata) {
            Some(m) => Ok(Some(m)),
            None => self.inner.existing(path),
        }
    }

    fn read_dir(&self, path: &WinPath) -> Result<Vec<DirEntry>, Error> {
        self.inner.read_dir(path)
    }

    fn create_dir(&self, path: &WinPath) -> Result<(), Error> {
        self.inner.create_dir(path)
    }

    fn remove_dir(&self, path: &WinPath) -> Result<(), Error> {
        self.inner.remove_dir(path)
    }

    fn delete_file(&self, path: &WinPath) -> Result<(), Error> {
        if self.drop_stub(path) {
            return Ok(());
        }
        self.inner.delete_file(path)
    }

    fn rename(&self, from: &WinPath, to: &WinPath, replace: bool) -> Result<(), Error> {
        if self.has_stub(from) {
            return Err(Error::Unsupported {
                path: from.clone(),
                what: "renaming a staged stub".into(),
            });
        }
        let onto_stub = self.has_stub(to);
        if onto_stub && !replace {
            return Err(Error::AlreadyExists { path: to.clone() });
        }
        // Replacing a stub: the target has nothing at that path, so the first rename never
        // replaces a real file there. One that is there (a re-run, or one that appeared
        // meanwhile) is dealt with by the overwrite policy: kept when identical, replaced only
        // when the policy says so, otherwise a conflict.
        match self.inner.rename(from, to, replace && !onto_stub) {
            Err(Error::AlreadyExists { .. }) if onto_stub => self.onto_existing(from, to)?,
            other => other?,
        }
        if onto_stub {
            self.drop_stub(to);
        }
        Ok(())
    }

    fn add_pending_rename(&self, op: &PendingRename) -> Result<(), Error> {
        self.inner.add_pending_rename(op)
    }

    fn pending_renames(&self) -> Result<Vec<PendingRename>, Error> {
        self.inner.pending_renames()
    }

    fn reparse_point(&self, path: &WinPath) -> Result<Vec<u8>, Error> {
        match self.stub(path) {
            Some(s) => Ok(s.reparse),
            None => self.inner.reparse_point(path),
        }
    }
}

/// A read-only handle on a staged stub.
#[derive(Debug)]
struct StubHandle {
    path: WinPath,
    stub: Stub,
}

impl StubHandle {
    fn refuse(&self) -> Error {
        Error::AccessDenied {
            path: self.path.clone(),
            reason: "a staged stub cannot be changed",
        }
    }
}

impl FileHandle for StubHandle {
    fn path(&self) -> WinPath {
        self.path.clone()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Error> {
        // A stub's data stream is a hole of its logical size.
        let n = self
            .stub
            .logical
            .saturating_sub(offset)
            .min(buf.len() as u64) as usize;
        buf[..n].fill(0);
        Ok(n)
    }

    fn write_at(&self, _offset: u64, _buf: &[u8]) -> Result<usize, Error> {
        Err(self.refuse())
    }

    fn len(&self) -> Result<u64, Error> {
        Ok(self.stub.logical)
    }

    fn set_len(&self, _len: u64) -> Result<(), Error> {
        Err(self.refuse())
    }

    fn attributes(&self) -> Result<u32, Error> {
        Ok(stub_metadata(&self.stub).attributes)
    }

    fn set_attributes(&self, _attributes: u32) -> Result<(), Error> {
        Err(self.refuse())
    }

    fn set_sparse(&self, _sparse: bool) -> Result<(), Error> {
        Err(self.refuse())
    }

    fn reparse_point(&self) -> Result<Vec<u8>, Error> {
        Ok(self.stub.reparse.clone())
    }

    fn set_reparse_point(&self, _buffer: &[u8]) -> Result<(), Error> {
        Err(self.refuse())
    }

    fn remove_reparse_point(&self) -> Result<(), Error> {
        Err(self.refuse())
    }

    fn flush(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// A target handle whose Windows-only metadata (sparse flag, attributes) is dropped when the host
/// file system cannot store it (no `user.*` extended attributes: exFAT, some NFS, old tmpfs):
/// the data is what matters on a host restore. On a stub's temporary sibling it also gives the
/// file its source times when the engine finishes it (see [`Tolerant::flush`]).
#[derive(Debug)]
struct Tolerant {
    inner: Box<dyn FileHandle>,
    finish: Option<Finish>,
}

/// The source times of the stub a temporary sibling rebuilds, and where to note them set.
#[derive(Debug)]
struct Finish {
    times: Times,
    /// The stub's path.
    key: WinPath,
    timed: Arc<Mutex<HashSet<WinPath>>>,
}

fn tolerate(r: Result<(), Error>) -> Result<(), Error> {
    match r {
        Err(Error::Unsupported { .. }) => Ok(()),
        other => other,
    }
}

impl FileHandle for Tolerant {
    fn path(&self) -> WinPath {
        self.inner.path()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Error> {
        self.inner.read_at(offset, buf)
    }
    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize, Error> {
        self.inner.write_at(offset, buf)
    }
    fn write_all_at(&self, offset: u64, buf: &[u8]) -> Result<(), Error> {
        self.inner.write_all_at(offset, buf)
    }
    fn len(&self) -> Result<u64, Error> {
        self.inner.len()
    }
    fn set_len(&self, len: u64) -> Result<(), Error> {
        self.inner.set_len(len)
    }
    fn attributes(&self) -> Result<u32, Error> {
        self.inner.attributes()
    }
    fn set_attributes(&self, attributes: u32) -> Result<(), Error> {
        tolerate(self.inner.set_attributes(attributes))
    }
    fn set_sparse(&self, sparse: bool) -> Result<(), Error> {
        tolerate(self.inner.set_sparse(sparse))
    }
    fn set_sparse_and_attributes(&self, sparse: bool, attributes: u32) -> Result<(), Error> {
        tolerate(self.inner.set_sparse_and_attributes(sparse, attributes))
    }
    fn extend_unallocated(&self, len: u64) -> Result<(), Error> {
        match self.inner.extend_unallocated(len) {
            // The sparse flag refused (as `set_sparse` is tolerated): the length still counts.
            Err(Error::Unsupported { .. }) => self.inner.set_len(len),
            other => other,
        }
    }
    fn reparse_point(&self) -> Result<Vec<u8>, Error> {
        self.inner.reparse_point()
    }
    fn set_reparse_point(&self, buffer: &[u8]) -> Result<(), Error> {
        self.inner.set_reparse_point(buffer)
    }
    fn remove_reparse_point(&self) -> Result<(), Error> {
        self.inner.remove_reparse_point()
    }
    /// The engine's last call on a file before renaming it into place, once every byte is
    /// written: a stub's temporary sibling gets the stub's source times here (where the handle
    /// cannot set them, the tree sets them on the path afterwards). The flush itself is
    /// deferred: the restore syncs the destination once at the end ([`Volume::sync_all`])
    /// instead of once per file (an fsync per file makes a restore of many small files take
    /// milliseconds per file).
    fn flush(&self) -> Result<(), Error> {
        if let Some(f) = &self.finish {
            let (modified, accessed) = f.times;
            let set = (modified.is_none() && accessed.is_none())
                || self.inner.set_times(modified, accessed).is_ok();
            if set {
                f.timed
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(f.key.clone());
            }
        }
        Ok(())
    }
    fn set_times(
        &self,
        modified: Option<SystemTime>,
        accessed: Option<SystemTime>,
    ) -> Result<(), Error> {
        self.inner.set_times(modified, accessed)
    }
}
