//! `SimVolume`: an in-memory NTFS-like volume implementing [`platform::Volume`].
//!
//! What it models, and how:
//!
//! * **Namespace**: directories and files keyed by their case-folded [`WinPath`], original case
//!   kept for listing. A file is a node shared by its open handles, so a handle keeps working
//!   after a rename (and reports the new path) or a delete (the data lives until the last
//!   handle is closed, as a delete-pending NTFS file does).
//! * **Data**: the unnamed stream is stored in 4 KiB clusters (the NTFS default cluster size).
//!   A non-sparse file has every cluster of `0..len` allocated; a sparse file only the clusters
//!   that were written, so a dedup stub (sparse, extended with `set_len`) allocates nothing and
//!   [`platform::Metadata::allocated`] reports 0. Unallocated ranges read as zeros.
//! * **Share modes**: an open succeeds only when, for every handle already open on the same
//!   file, the new access is within the old share mode and the old access within the new share
//!   mode ([`ShareMode::conflict`]); otherwise [`Error::SharingViolation`]. Deletes and renames
//!   need every open handle to share delete.
//! * **Reparse points**: the full `REPARSE_DATA_BUFFER`, validated by Windows' rules
//!   ([`platform::reparse::validate_buffer`]: header and GUID header, length field, at most
//!   16 KiB, no reserved tag); the `REPARSE_POINT` attribute is derived.
//! * **Rename at reboot**: [`Volume::add_pending_rename`] appends to an in-memory
//!   `PendingFileRenameOperations` list; [`SimVolume::reboot`] closes every handle (later use of
//!   an old handle fails) and carries the list out in order.
//! * **Fault injection** ([`Fault`]): fail the n-th read or write, short reads, disk full at a
//!   capacity in bytes (counted in allocated clusters).
//! * **Determinism**: nothing depends on the wall clock or the host; [`SimVolume::now`] is a
//!   seeded clock that advances one second per call.
//!
//! `SimVolume` is `Send + Sync` and cheap to clone (clones share the volume).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

#[cfg(unix)]
use platform::FileHandle;
use platform::{
    Access, Disposition, Error, OpenOptions, PendingRename, ShareMode, Volume, WinPath, attr,
};

/// Cluster size of the simulated volume (allocation unit of file data).
pub const CLUSTER_SIZE: u64 = 4096;
/// `MAXIMUM_REPARSE_DATA_BUFFER_SIZE` (16 KiB), defined once in [`platform::reparse`].
pub use platform::reparse::MAX_REPARSE_BUFFER;

/// FILETIME of 2024-01-01T00:00:00Z, the start of every simulated clock (plus a seeded offset).
const CLOCK_BASE: u64 = 133_485_408_000_000_000;
/// One second in FILETIME units.
const SECOND: u64 = 10_000_000;

/// Bits a file keeps in its attribute word (the rest are derived).
const STORED_BITS: u32 = attr::SETTABLE & !attr::NORMAL;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read_lock<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(PoisonError::into_inner)
}

fn write_lock<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(unix)]
mod backing;
mod clusters;
mod data;
mod fault;
mod handle;
mod namespace;

use data::{FileData, Storage};
pub use fault::{Fault, IoCounts};
use fault::{Faults, matches_under};
pub use handle::SimFile;

/// A file: shared by the namespace and the handles open on it.
struct FileNode {
    path: Mutex<WinPath>,
    data: RwLock<FileData>,
    allocated: Arc<AtomicU64>,
}

impl fmt::Debug for FileNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileNode")
            .field("path", &*lock(&self.path))
            .finish_non_exhaustive()
    }
}

impl Drop for FileNode {
    fn drop(&mut self) {
        let data = self.data.get_mut().unwrap_or_else(PoisonError::into_inner);
        self.allocated
            .fetch_sub(data.allocated(), Ordering::Relaxed);
    }
}

#[derive(Debug)]
enum Kind {
    Dir,
    File(Arc<FileNode>),
}

#[derive(Debug)]
struct Entry {
    path: WinPath,
    kind: Kind,
}

#[derive(Debug)]
struct OpenRecord {
    node: usize,
    access: Access,
    share: ShareMode,
}

#[derive(Debug, Default)]
struct State {
    entries: BTreeMap<String, Entry>,
    handles: HashMap<u64, OpenRecord>,
    pending: Vec<PendingRename>,
    next_handle: u64,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    faults: Mutex<Faults>,
    allocated: Arc<AtomicU64>,
    capacity: AtomicU64,
    epoch: AtomicU64,
    clock: AtomicU64,
    seed: u64,
    /// Where file contents are kept (declared last: a backing folder goes after the files).
    storage: Storage,
}

/// What happened to one pending operation at [`SimVolume::reboot`].
#[derive(Debug)]
pub struct RebootOutcome {
    /// The operation.
    pub op: PendingRename,
    /// `None` if it was carried out, else why not.
    pub error: Option<Error>,
}

/// An in-memory NTFS-like volume (see the module docs). Clones share the volume.
#[derive(Debug, Clone)]
pub struct SimVolume {
    shared: Arc<Shared>,
}

/// The allocated ranges of a file's data, merged.
fn node_ranges(node: &FileNode) -> Vec<std::ops::Range<u64>> {
    let data = read_lock(&node.data);
    let mut out: Vec<std::ops::Range<u64>> = data
        .allocated_runs()
        .map(|r| {
            let start = r.start * CLUSTER_SIZE;
            start..(r.end * CLUSTER_SIZE).min(data.len.max(start))
        })
        .collect();
    out.retain(|r| r.end > r.start);
    out
}

/// Copies the `len` bytes of the host file `host` into `f`.
#[cfg(unix)]
fn copy_host_file(f: &dyn FileHandle, host: &std::path::Path, len: u64) -> Result<(), Error> {
    use std::io::Read;
    let io_err = |source| Error::Io {
        path: f.path(),
        source: io::Error::other(format!("{}: {source}", host.display())),
    };
    let mut src = std::fs::File::open(host).map_err(io_err)?.take(len);
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    loop {
        let n = src.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        f.write_all_at(off, &buf[..n])?;
        off += n as u64;
    }
    if off < len {
        return Err(io_err(io::Error::from(io::ErrorKind::UnexpectedEof)));
    }
    Ok(())
}

fn node_key(node: &Arc<FileNode>) -> usize {
    Arc::as_ptr(node) as usize
}

fn children_prefix(folded_dir: &str) -> String {
    if folded_dir == "\\" {
        "\\".to_owned()
    } else {
        format!("{folded_dir}\\")
    }
}

impl SimVolume {
    /// An empty volume. `seed` fixes everything random about it (its clock, and the identities
    /// the dedup optimizer derives from [`SimVolume::seed`]).
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self::with_storage(seed, Storage::Memory)
    }

    /// An empty volume (as [`SimVolume::new`]) whose file contents are kept on the host
    /// instead of in memory, so that memory stays bounded whatever the files hold: each file's
    /// bytes in a host file of a backing folder made inside `parent` when the first one is
    /// needed (removed, with everything in it, when the last clone of the volume is dropped),
    /// and the files of
    /// [`SimVolume::import_host_file`] read in place from the host until first changed.
    /// Host files are opened per operation, so few descriptors are open at any time.
    /// Behaviour is the same as in memory, except that a host I/O failure is an
    /// [`Error::Io`].
    #[cfg(unix)]
    pub fn with_host_contents(seed: u64, parent: &std::path::Path) -> io::Result<Self> {
        let folder = backing::HostFolder::new(parent)?;
        Ok(Self::with_storage(seed, Storage::Host(Arc::new(folder))))
    }

    fn with_storage(seed: u64, storage: Storage) -> Self {
        let offset = seeded::SplitMix64(seed).below(365 * 24 * 3600) * SECOND;
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                faults: Mutex::new(Faults::default()),
                allocated: Arc::new(AtomicU64::new(0)),
                capacity: AtomicU64::new(u64::MAX),
                epoch: AtomicU64::new(0),
                clock: AtomicU64::new(CLOCK_BASE + offset),
                seed,
                storage,
            }),
        }
    }

    /// The backing folder of a volume made by [`SimVolume::with_host_contents`], once a file
    /// needed a host file of its own (it is made then).
    #[cfg(unix)]
    #[must_use]
    pub fn host_contents_folder(&self) -> Option<std::path::PathBuf> {
        match &self.shared.storage {
            Storage::Memory => None,
            Storage::Host(folder) => folder.path(),
        }
    }

    /// Creates the new file `path` (its parent must exist) holding the `len` bytes of the host
    /// file `host`: a non-sparse file with every cluster allocated, as if written in full.
    /// On a volume made by [`SimVolume::with_host_contents`] the bytes are read from `host`
    /// when the file is read, and copied only when the simulation first changes the file
    /// (`host` must then stay unchanged while the volume uses it; a read that finds it shorter
    /// fails); nothing is counted as a write or faulted, though the disk-full capacity applies.
    /// In memory the bytes are copied now, written through a handle as any write is.
    #[cfg(unix)]
    pub fn import_host_file(
        &self,
        path: &WinPath,
        host: &std::path::Path,
        len: u64,
    ) -> Result<(), Error> {
        let f = self.open(
            path,
            OpenOptions::new(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew),
        )?;
        let node = self.file_node(path)?;
        let folder = match &self.shared.storage {
            Storage::Host(folder) => Arc::clone(folder),
            Storage::Memory => return copy_host_file(f.as_ref(), host, len),
        };
        self.reserve(len.div_ceil(CLUSTER_SIZE) * CLUSTER_SIZE, path)?;
        let contents = backing::HostContents::borrowed(folder, host.to_owned(), len);
        *write_lock(&node.data) = FileData::with_contents(len, contents);
        Ok(())
    }

    /// The seed given to [`SimVolume::new`].
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.shared.seed
    }

    /// The simulated time as a FILETIME; each call advances the clock by one second.
    #[must_use]
    pub fn now(&self) -> u64 {
        self.shared.clock.fetch_add(SECOND, Ordering::Relaxed)
    }

    /// Bytes of allocated clusters on the whole volume.
    #[must_use]
    pub fn allocated_bytes(&self) -> u64 {
        self.shared.allocated.load(Ordering::Relaxed)
    }

    /// Simulates a reboot: every open handle is closed (using one afterwards fails with an
    /// [`Error::Io`]), then the `PendingFileRenameOperations` list is carried out in order
    /// (a failure is reported for that operation and does not stop the others) and cleared.
    #[must_use = "the outcomes say which pending operations failed"]
    pub fn reboot(&self) -> Vec<RebootOutcome> {
        let ops = {
            let mut st = lock(&self.shared.state);
            self.shared.epoch.fetch_add(1, Ordering::SeqCst);
            st.handles.clear();
            std::mem::take(&mut st.pending)
        };
        ops.into_iter()
            .map(|op| {
                let r = op.carry_out(self);
                RebootOutcome { op, error: r.err() }
            })
            .collect()
    }

    /// Number of handles currently open on the volume.
    #[must_use]
    pub fn open_handle_count(&self) -> usize {
        lock(&self.shared.state).handles.len()
    }

    /// Creates (or replaces) the file `path` with `contents`, creating missing parent
    /// directories. A convenience for setting up scenarios.
    pub fn write_file(&self, path: &WinPath, contents: &[u8]) -> Result<(), Error> {
        if let Some(parent) = path.parent() {
            self.create_dir_all(&parent)?;
        }
        let f = self.open(
            path,
            OpenOptions::new(
                Access::READ_WRITE,
                ShareMode::NONE,
                Disposition::CreateAlways,
            ),
        )?;
        f.write_all_at(0, contents)?;
        Ok(())
    }

    /// The whole unnamed data of `path` (holes read as zeros).
    pub fn read_file(&self, path: &WinPath) -> Result<Vec<u8>, Error> {
        let f = self.open(path, OpenOptions::READ_EXISTING)?;
        let len = usize::try_from(f.len()?).map_err(|_| Error::Io {
            path: path.clone(),
            source: io::Error::other("file too large for memory"),
        })?;
        let mut buf = vec![0u8; len];
        f.read_exact_at(0, &mut buf)?;
        Ok(buf)
    }

    /// The allocated byte ranges of a file's unnamed data, merged, in order
    /// (`FSCTL_QUERY_ALLOCATED_RANGES`). Empty for a stub that holds no data.
    pub fn allocated_ranges(&self, path: &WinPath) -> Result<Vec<std::ops::Range<u64>>, Error> {
        Ok(node_ranges(&*self.file_node(path)?))
    }

    /// Every file on the volume (not directories), in case-insensitive path order.
    #[must_use]
    pub fn all_files(&self) -> Vec<WinPath> {
        lock(&self.shared.state)
            .entries
            .values()
            .filter(|e| matches!(e.kind, Kind::File(_)))
            .map(|e| e.path.clone())
            .collect()
    }

    fn file_node(&self, path: &WinPath) -> Result<Arc<FileNode>, Error> {
        let st = lock(&self.shared.state);
        match st.entries.get(&path.folded()) {
            Some(Entry {
                kind: Kind::File(n),
                ..
            }) => Ok(Arc::clone(n)),
            Some(_) => Err(Error::IsADirectory { path: path.clone() }),
            None => Err(Error::NotFound { path: path.clone() }),
        }
    }

    /// Checks that the parent of `path` exists and is a directory.
    fn check_parent(st: &State, path: &WinPath) -> Result<(), Error> {
        let Some(parent) = path.parent() else {
            return Ok(());
        };
        if parent.is_root() {
            return Ok(());
        }
        // Walk the ancestors so that a file in the middle is reported as such.
        let mut cur = WinPath::root();
        for c in parent.components() {
            cur = cur.join(c)?;
            match st.entries.get(&cur.folded()) {
                Some(Entry {
                    kind: Kind::Dir, ..
                }) => {}
                Some(_) => return Err(Error::NotADirectory { path: cur }),
                None => return Err(Error::NotFound { path: path.clone() }),
            }
        }
        Ok(())
    }

    fn share_conflict(st: &State, node: usize, access: Access, share: ShareMode) -> Option<String> {
        st.handles
            .values()
            .filter(|r| r.node == node)
            .find_map(|r| ShareMode::conflict(r.access, r.share, access, share))
    }

    /// Fails unless every handle open on `node` shares delete.
    fn check_delete_shared(st: &State, node: usize, path: &WinPath) -> Result<(), Error> {
        if st
            .handles
            .values()
            .any(|r| r.node == node && !r.share.delete)
        {
            return Err(Error::SharingViolation {
                path: path.clone(),
                detail: "an open handle does not share delete".to_owned(),
            });
        }
        Ok(())
    }

    /// Reserves `bytes` of cluster space against the capacity.
    fn reserve(&self, bytes: u64, path: &WinPath) -> Result<(), Error> {
        if bytes == 0 {
            return Ok(());
        }
        let cap = self.shared.capacity.load(Ordering::Relaxed);
        self.shared
            .allocated
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |cur| {
                cur.checked_add(bytes).filter(|&n| n <= cap)
            })
            .map(|_| ())
            .map_err(|_| Error::DiskFull { path: path.clone() })
    }

    fn release(&self, bytes: u64) {
        self.shared.allocated.fetch_sub(bytes, Ordering::SeqCst);
    }
}
