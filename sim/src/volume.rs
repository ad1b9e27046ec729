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
//!   [`Metadata::allocated`] reports 0. Unallocated ranges read as zeros.
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

use platform::{
    Access, DirEntry, Disposition, Error, FileHandle, Metadata, OpenOptions, PendingRename,
    ShareMode, Volume, WinPath, attr,
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

/// A fault to inject into a [`SimVolume`] (see [`SimVolume::inject`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The `nth` `read_at` call (1-based, counted from when the fault is armed) on a file at or
    /// under `under` (any file when `None`) fails with an [`Error::Io`]; the fault then disarms.
    FailRead {
        /// Which matching read fails (1 = the next one).
        nth: u64,
        /// Only files at or under this path count.
        under: Option<WinPath>,
    },
    /// The `nth` `write_at` call on a matching file fails with an [`Error::Io`] and writes
    /// nothing; the fault then disarms.
    FailWrite {
        /// Which matching write fails (1 = the next one).
        nth: u64,
        /// Only files at or under this path count.
        under: Option<WinPath>,
    },
    /// Every `read_at` on a matching file returns at most `max` bytes (at least 1), until
    /// [`SimVolume::clear_faults`].
    ShortReads {
        /// Largest count one read returns.
        max: usize,
        /// Only files at or under this path are affected.
        under: Option<WinPath>,
    },
    /// Opening, creating, listing or creating a folder at or under `under` fails with
    /// [`Error::AccessDenied`] (what an ACL denying the caller gives), until
    /// [`SimVolume::clear_faults`].
    DenyAccess {
        /// The file or folder denied (with everything below it).
        under: WinPath,
    },
    /// The volume holds at most `capacity` bytes of allocated clusters: a write or extension
    /// that needs more fails with [`Error::DiskFull`] and changes nothing.
    DiskFull {
        /// Capacity in bytes.
        capacity: u64,
    },
}

#[derive(Debug, Clone)]
struct Countdown {
    remaining: u64,
    under: Option<WinPath>,
}

#[derive(Debug, Default)]
struct Faults {
    fail_read: Vec<Countdown>,
    fail_write: Vec<Countdown>,
    short_reads: Vec<(usize, Option<WinPath>)>,
    denied: Vec<WinPath>,
    reads: u64,
    writes: u64,
}

fn matches_under(under: Option<&WinPath>, path: &WinPath) -> bool {
    under.is_none_or(|u| path.starts_with(u))
}

impl Faults {
    /// Counts one call against every armed countdown that matches `path`; true if one of them
    /// reaches zero now (each fault counts its own calls, so two armed faults each fire at
    /// their own call even when a call fires another).
    fn tick(list: &mut Vec<Countdown>, path: &WinPath) -> bool {
        let mut fired = false;
        list.retain_mut(|c| {
            if !matches_under(c.under.as_ref(), path) {
                return true;
            }
            c.remaining = c.remaining.saturating_sub(1);
            if c.remaining == 0 {
                fired = true;
                false
            } else {
                true
            }
        });
        fired
    }
}

/// Counts of I/O calls seen by a volume (for tests of fault plans).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IoCounts {
    /// `read_at` calls.
    pub reads: u64,
    /// `write_at` calls.
    pub writes: u64,
}

#[derive(Debug)]
struct FileData {
    len: u64,
    clusters: BTreeMap<u64, Box<[u8]>>,
    sparse: bool,
    attributes: u32,
    reparse: Option<Vec<u8>>,
}

impl FileData {
    fn new() -> Self {
        Self {
            len: 0,
            clusters: BTreeMap::new(),
            sparse: false,
            attributes: attr::ARCHIVE,
            reparse: None,
        }
    }

    fn attributes(&self) -> u32 {
        let mut a = self.attributes & STORED_BITS;
        if self.sparse {
            a |= attr::SPARSE_FILE;
        }
        if self.reparse.is_some() {
            a |= attr::REPARSE_POINT;
        }
        if a == 0 { attr::NORMAL } else { a }
    }

    fn allocated(&self) -> u64 {
        self.clusters.len() as u64 * CLUSTER_SIZE
    }

    fn read(&self, offset: u64, buf: &mut [u8]) -> usize {
        if offset >= self.len {
            return 0;
        }
        let n = usize::try_from((self.len - offset).min(buf.len() as u64)).unwrap_or(buf.len());
        let mut done = 0usize;
        while done < n {
            let pos = offset + done as u64;
            let ci = pos / CLUSTER_SIZE;
            let within = (pos % CLUSTER_SIZE) as usize;
            let take = (CLUSTER_SIZE as usize - within).min(n - done);
            match self.clusters.get(&ci) {
                Some(c) => buf[done..done + take].copy_from_slice(&c[within..within + take]),
                None => buf[done..done + take].fill(0),
            }
            done += take;
        }
        n
    }

    /// Clusters in `range` (cluster indices) that are not yet allocated.
    fn missing_clusters(&self, first: u64, end: u64) -> u64 {
        if end <= first {
            return 0;
        }
        (end - first) - self.clusters.range(first..end).count() as u64
    }
}

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
    let mut out: Vec<std::ops::Range<u64>> = Vec::new();
    for &ci in data.clusters.keys() {
        let start = ci * CLUSTER_SIZE;
        let end = (start + CLUSTER_SIZE).min(data.len.max(start));
        match out.last_mut() {
            Some(last) if last.end == start => last.end = end,
            _ => out.push(start..end),
        }
    }
    out.retain(|r| r.end > r.start);
    out
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
        let offset = test_support::SplitMix64(seed).below(365 * 24 * 3600) * SECOND;
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                faults: Mutex::new(Faults::default()),
                allocated: Arc::new(AtomicU64::new(0)),
                capacity: AtomicU64::new(u64::MAX),
                epoch: AtomicU64::new(0),
                clock: AtomicU64::new(CLOCK_BASE + offset),
                seed,
            }),
        }
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

    /// Arms a fault (see [`Fault`]). Several may be armed at once.
    ///
    /// # Panics
    /// If a countdown is 0 or a short-read maximum is 0.
    pub fn inject(&self, fault: Fault) {
        let mut f = lock(&self.shared.faults);
        match fault {
            Fault::FailRead { nth, under } => {
                assert!(nth > 0, "FailRead counts from 1");
                f.fail_read.push(Countdown {
                    remaining: nth,
                    under,
                });
            }
            Fault::FailWrite { nth, under } => {
                assert!(nth > 0, "FailWrite counts from 1");
                f.fail_write.push(Countdown {
                    remaining: nth,
                    under,
                });
            }
            Fault::ShortReads { max, under } => {
                assert!(max > 0, "a short read returns at least one byte");
                f.short_reads.push((max, under));
            }
            Fault::DenyAccess { under } => f.denied.push(under),
            Fault::DiskFull { capacity } => self.shared.capacity.store(capacity, Ordering::Relaxed),
        }
    }

    /// [`Fault::DenyAccess`]: refuses `path` when it is at or under a denied path.
    fn check_access(&self, path: &WinPath) -> Result<(), Error> {
        if lock(&self.shared.faults)
            .denied
            .iter()
            .any(|d| path.starts_with(d))
        {
            return Err(Error::AccessDenied {
                path: path.clone(),
                reason: "an injected fault denies it",
            });
        }
        Ok(())
    }

    /// Disarms every fault and removes the capacity limit.
    pub fn clear_faults(&self) {
        let mut f = lock(&self.shared.faults);
        f.fail_read.clear();
        f.fail_write.clear();
        f.short_reads.clear();
        f.denied.clear();
        self.shared.capacity.store(u64::MAX, Ordering::Relaxed);
    }

    /// How many reads and writes the volume has served (or refused) so far.
    #[must_use]
    pub fn io_counts(&self) -> IoCounts {
        let f = lock(&self.shared.faults);
        IoCounts {
            reads: f.reads,
            writes: f.writes,
        }
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
                let r = match &op.destination {
                    Some(dst) => self.rename(&op.source, dst, op.replace_existing),
                    None => match self.metadata(&op.source) {
                        Ok(md) if md.is_dir() => self.remove_dir(&op.source),
                        Ok(_) => self.delete_file(&op.source),
                        Err(e) => Err(e),
                    },
                };
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

impl Volume for SimVolume {
    fn open(&self, path: &WinPath, options: OpenOptions) -> Result<Box<dyn FileHandle>, Error> {
        if path.is_root() {
            return Err(Error::IsADirectory { path: path.clone() });
        }
        let OpenOptions {
            access,
            share,
            disposition,
        } = options;
        let truncating = matches!(
            disposition,
            Disposition::TruncateExisting | Disposition::CreateAlways
        );
        if truncating && !access.write {
            return Err(Error::AccessDenied {
                path: path.clone(),
                reason: "truncating needs write access",
            });
        }
        self.check_access(path)?;
        let mut st = lock(&self.shared.state);
        Self::check_parent(&st, path)?;
        let key = path.folded();
        let node = match st.entries.get(&key) {
            Some(Entry {
                kind: Kind::Dir, ..
            }) => {
                return Err(Error::IsADirectory { path: path.clone() });
            }
            Some(Entry {
                kind: Kind::File(node),
                ..
            }) => {
                if disposition == Disposition::CreateNew {
                    return Err(Error::AlreadyExists { path: path.clone() });
                }
                let node = Arc::clone(node);
                if let Some(detail) = Self::share_conflict(&st, node_key(&node), access, share) {
                    return Err(Error::SharingViolation {
                        path: path.clone(),
                        detail,
                    });
                }
                if (access.write || access.delete)
                    && read_lock(&node.data).attributes & attr::READONLY != 0
                {
                    return Err(Error::AccessDenied {
                        path: path.clone(),
                        reason: "the file is read-only",
                    });
                }
                if truncating {
                    let mut data = write_lock(&node.data);
                    let freed = data.allocated();
                    data.clusters.clear();
                    data.len = 0;
                    drop(data);
                    self.release(freed);
                }
                node
            }
            None => {
                if matches!(
                    disposition,
                    Disposition::OpenExisting | Disposition::TruncateExisting
                ) {
                    return Err(Error::NotFound { path: path.clone() });
                }
                let node = Arc::new(FileNode {
                    path: Mutex::new(path.clone()),
                    data: RwLock::new(FileData::new()),
                    allocated: Arc::clone(&self.shared.allocated),
                });
                st.entries.insert(
                    key,
                    Entry {
                        path: path.clone(),
                        kind: Kind::File(Arc::clone(&node)),
                    },
                );
                node
            }
        };
        let id = st.next_handle;
        st.next_handle += 1;
        st.handles.insert(
            id,
            OpenRecord {
                node: node_key(&node),
                access,
                share,
            },
        );
        Ok(Box::new(SimFile {
            id,
            node,
            access,
            volume: self.clone(),
            epoch: self.shared.epoch.load(Ordering::SeqCst),
        }))
    }

    fn metadata(&self, path: &WinPath) -> Result<Metadata, Error> {
        if path.is_root() {
            return Ok(Metadata {
                attributes: attr::DIRECTORY,
                len: 0,
                allocated: 0,
            });
        }
        let st = lock(&self.shared.state);
        match st.entries.get(&path.folded()) {
            Some(Entry {
                kind: Kind::Dir, ..
            }) => Ok(Metadata {
                attributes: attr::DIRECTORY,
                len: 0,
                allocated: 0,
            }),
            Some(Entry {
                kind: Kind::File(n),
                ..
            }) => {
                let d = read_lock(&n.data);
                Ok(Metadata {
                    attributes: d.attributes(),
                    len: d.len,
                    allocated: d.allocated(),
                })
            }
            None => {
                Self::check_parent(&st, path)?;
                Err(Error::NotFound { path: path.clone() })
            }
        }
    }

    fn read_dir(&self, path: &WinPath) -> Result<Vec<DirEntry>, Error> {
        self.check_access(path)?;
        let st = lock(&self.shared.state);
        let folded = path.folded();
        if !path.is_root() {
            match st.entries.get(&folded) {
                Some(Entry {
                    kind: Kind::Dir, ..
                }) => {}
                Some(_) => return Err(Error::NotADirectory { path: path.clone() }),
                None => return Err(Error::NotFound { path: path.clone() }),
            }
        }
        let prefix = children_prefix(&folded);
        let mut out = Vec::new();
        for (k, e) in st.entries.range(prefix.clone()..) {
            if !k.starts_with(&prefix) {
                break;
            }
            if k[prefix.len()..].contains('\\') {
                continue;
            }
            let metadata = match &e.kind {
                Kind::Dir => Metadata {
                    attributes: attr::DIRECTORY,
                    len: 0,
                    allocated: 0,
                },
                Kind::File(n) => {
                    let d = read_lock(&n.data);
                    Metadata {
                        attributes: d.attributes(),
                        len: d.len,
                        allocated: d.allocated(),
                    }
                }
            };
            out.push((
                k.clone(),
                DirEntry {
                    name: e.path.file_name().unwrap_or_default().to_owned(),
                    metadata,
                },
            ));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out.into_iter().map(|(_, e)| e).collect())
    }

    fn create_dir(&self, path: &WinPath) -> Result<(), Error> {
        if path.is_root() {
            return Err(Error::AlreadyExists { path: path.clone() });
        }
        self.check_access(path)?;
        let mut st = lock(&self.shared.state);
        Self::check_parent(&st, path)?;
        let key = path.folded();
        if st.entries.contains_key(&key) {
            return Err(Error::AlreadyExists { path: path.clone() });
        }
        st.entries.insert(
            key,
            Entry {
                path: path.clone(),
                kind: Kind::Dir,
            },
        );
        Ok(())
    }

    fn remove_dir(&self, path: &WinPath) -> Result<(), Error> {
        if path.is_root() {
            return Err(Error::AccessDenied {
                path: path.clone(),
                reason: "the root cannot be removed",
            });
        }
        let mut st = lock(&self.shared.state);
        let key = path.folded();
        match st.entries.get(&key) {
            Some(Entry {
                kind: Kind::Dir, ..
            }) => {}
            Some(_) => return Err(Error::NotADirectory { path: path.clone() }),
            None => return Err(Error::NotFound { path: path.clone() }),
        }
        let prefix = children_prefix(&key);
        if st
            .entries
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
        {
            return Err(Error::DirectoryNotEmpty { path: path.clone() });
        }
        st.entries.remove(&key);
        Ok(())
    }

    fn delete_file(&self, path: &WinPath) -> Result<(), Error> {
        let mut st = lock(&self.shared.state);
        let key = path.folded();
        let node = match st.entries.get(&key) {
            Some(Entry {
                kind: Kind::File(n),
                ..
            }) => Arc::clone(n),
            Some(_) => return Err(Error::IsADirectory { path: path.clone() }),
            None => {
                Self::check_parent(&st, path)?;
                return Err(Error::NotFound { path: path.clone() });
            }
        };
        if read_lock(&node.data).attributes & attr::READONLY != 0 {
            return Err(Error::AccessDenied {
                path: path.clone(),
                reason: "the file is read-only",
            });
        }
        Self::check_delete_shared(&st, node_key(&node), path)?;
        st.entries.remove(&key);
        Ok(())
    }

    fn rename(&self, from: &WinPath, to: &WinPath, replace: bool) -> Result<(), Error> {
        if from.is_root() || to.is_root() {
            return Err(Error::AccessDenied {
                path: from.clone(),
                reason: "the root cannot be renamed",
            });
        }
        let mut st = lock(&self.shared.state);
        let from_key = from.folded();
        let to_key = to.folded();
        let is_dir = match st.entries.get(&from_key) {
            Some(Entry {
                kind: Kind::Dir, ..
            }) => true,
            Some(Entry {
                kind: Kind::File(n),
                ..
            }) => {
                Self::check_delete_shared(&st, node_key(n), from)?;
                false
            }
            None => {
                Self::check_parent(&st, from)?;
                return Err(Error::NotFound { path: from.clone() });
            }
        };
        Self::check_parent(&st, to)?;
        if is_dir && to.starts_with(from) && from_key != to_key {
            return Err(Error::AccessDenied {
                path: to.clone(),
                reason: "a directory cannot move into itself",
            });
        }
        // Only a case change of the same entry: just re-case it.
        if from_key != to_key {
            match st.entries.get(&to_key) {
                Some(Entry {
                    kind: Kind::Dir, ..
                }) => {
                    return Err(Error::AccessDenied {
                        path: to.clone(),
                        reason: "a directory is never replaced",
                    });
                }
                Some(Entry {
                    kind: Kind::File(n),
                    ..
                }) => {
                    if !replace {
                        return Err(Error::AlreadyExists { path: to.clone() });
                    }
                    if is_dir {
                        return Err(Error::AccessDenied {
                            path: to.clone(),
                            reason: "a directory cannot replace a file",
                        });
                    }
                    if read_lock(&n.data).attributes & attr::READONLY != 0 {
                        return Err(Error::AccessDenied {
                            path: to.clone(),
                            reason: "the file to replace is read-only",
                        });
                    }
                    if st.handles.values().any(|r| r.node == node_key(n)) {
                        return Err(Error::SharingViolation {
                            path: to.clone(),
                            detail: "the file to replace is open".to_owned(),
                        });
                    }
                }
                None => {}
            }
        }
        if is_dir {
            let prefix = children_prefix(&from_key);
            let moved: Vec<String> = st
                .entries
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(k, _)| k.clone())
                .collect();
            for k in &moved {
                if let Some(Entry {
                    kind: Kind::File(n),
                    ..
                }) = st.entries.get(k)
                    && st.handles.values().any(|r| r.node == node_key(n))
                {
                    return Err(Error::SharingViolation {
                        path: from.clone(),
                        detail: "a file inside the directory is open".to_owned(),
                    });
                }
            }
            for k in moved {
                let mut e = st.entries.remove(&k).expect("key listed above");
                let rest: Vec<String> = e
                    .path
                    .components()
                    .skip(from.components().len())
                    .map(str::to_owned)
                    .collect();
                let mut np = to.clone();
                for c in &rest {
                    np = np.join(c)?;
                }
                if let Kind::File(n) = &e.kind {
                    *lock(&n.path) = np.clone();
                }
                e.path = np;
                st.entries.insert(e.path.folded(), e);
            }
        }
        let mut e = st.entries.remove(&from_key).expect("checked above");
        if let Kind::File(n) = &e.kind {
            *lock(&n.path) = to.clone();
        }
        e.path = to.clone();
        st.entries.insert(to_key, e);
        Ok(())
    }

    fn add_pending_rename(&self, op: &PendingRename) -> Result<(), Error> {
        lock(&self.shared.state).pending.push(op.clone());
        Ok(())
    }

    fn pending_renames(&self) -> Result<Vec<PendingRename>, Error> {
        Ok(lock(&self.shared.state).pending.clone())
    }
}

/// An open file of a [`SimVolume`].
pub struct SimFile {
    id: u64,
    node: Arc<FileNode>,
    access: Access,
    volume: SimVolume,
    epoch: u64,
}

impl fmt::Debug for SimFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimFile")
            .field("id", &self.id)
            .field("path", &self.path())
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

impl Drop for SimFile {
    fn drop(&mut self) {
        if self.volume.shared.epoch.load(Ordering::SeqCst) == self.epoch {
            lock(&self.volume.shared.state).handles.remove(&self.id);
        }
    }
}

impl SimFile {
    fn check(&self, write: bool) -> Result<(), Error> {
        if self.volume.shared.epoch.load(Ordering::SeqCst) != self.epoch {
            return Err(Error::Io {
                path: self.path(),
                source: io::Error::other("handle was closed by a reboot"),
            });
        }
        if write && !self.access.write {
            return Err(Error::AccessDenied {
                path: self.path(),
                reason: "the handle was opened without write access",
            });
        }
        if !write && !self.access.read {
            return Err(Error::AccessDenied {
                path: self.path(),
                reason: "the handle was opened without read access",
            });
        }
        Ok(())
    }

    fn injected(&self, what: &str, n: u64) -> Error {
        Error::Io {
            path: self.path(),
            source: io::Error::other(format!("winsim: injected failure of {what} call #{n}")),
        }
    }
}

impl FileHandle for SimFile {
    fn path(&self) -> WinPath {
        lock(&self.node.path).clone()
    }

    fn allocated_ranges(&self) -> Result<Option<Vec<std::ops::Range<u64>>>, Error> {
        self.check(false)?;
        Ok(Some(node_ranges(&self.node)))
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Error> {
        self.check(false)?;
        let path = self.path();
        let mut limit = buf.len();
        {
            let mut f = lock(&self.volume.shared.faults);
            f.reads += 1;
            let n = f.reads;
            if Faults::tick(&mut f.fail_read, &path) {
                return Err(self.injected("read", n));
            }
            for (max, under) in &f.short_reads {
                if matches_under(under.as_ref(), &path) {
                    limit = limit.min(*max);
                }
            }
        }
        let data = read_lock(&self.node.data);
        Ok(data.read(offset, &mut buf[..limit]))
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize, Error> {
        self.check(true)?;
        let path = self.path();
        {
            let mut f = lock(&self.volume.shared.faults);
            f.writes += 1;
            let n = f.writes;
            if Faults::tick(&mut f.fail_write, &path) {
                return Err(self.injected("write", n));
            }
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let end = offset
            .checked_add(buf.len() as u64)
            .ok_or_else(|| Error::Io {
                path: path.clone(),
                source: io::Error::other("write past the largest file size"),
            })?;
        let mut data = write_lock(&self.node.data);
        let first = offset / CLUSTER_SIZE;
        let last_end = end.div_ceil(CLUSTER_SIZE);
        let mut need = data.missing_clusters(first, last_end);
        // Extending a non-sparse file allocates the gap between the old end and the write too.
        let gap_first = data.len.div_ceil(CLUSTER_SIZE);
        if !data.sparse && gap_first < first {
            need += data.missing_clusters(gap_first, first);
        }
        self.volume.reserve(need * CLUSTER_SIZE, &path)?;
        if !data.sparse {
            for ci in gap_first..first {
                data.clusters
                    .entry(ci)
                    .or_insert_with(|| vec![0u8; CLUSTER_SIZE as usize].into_boxed_slice());
            }
        }
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset + done as u64;
            let ci = pos / CLUSTER_SIZE;
            let within = (pos % CLUSTER_SIZE) as usize;
            let take = (CLUSTER_SIZE as usize - within).min(buf.len() - done);
            let c = data
                .clusters
                .entry(ci)
                .or_insert_with(|| vec![0u8; CLUSTER_SIZE as usize].into_boxed_slice());
            c[within..within + take].copy_from_slice(&buf[done..done + take]);
            done += take;
        }
        data.len = data.len.max(end);
        Ok(buf.len())
    }

    fn len(&self) -> Result<u64, Error> {
        self.check(false)?;
        Ok(read_lock(&self.node.data).len)
    }

    fn set_len(&self, len: u64) -> Result<(), Error> {
        self.check(true)?;
        let mut data = write_lock(&self.node.data);
        if len < data.len {
            let keep = len.div_ceil(CLUSTER_SIZE);
            let dropped = data.clusters.split_off(&keep);
            self.volume.release(dropped.len() as u64 * CLUSTER_SIZE);
            if !len.is_multiple_of(CLUSTER_SIZE)
                && let Some(c) = data.clusters.get_mut(&(len / CLUSTER_SIZE))
            {
                c[(len % CLUSTER_SIZE) as usize..].fill(0);
            }
        } else if len > data.len && !data.sparse {
            let first = data.len.div_ceil(CLUSTER_SIZE);
            let end = len.div_ceil(CLUSTER_SIZE);
            let need = data.missing_clusters(first, end);
            self.volume.reserve(need * CLUSTER_SIZE, &self.path())?;
            for ci in first..end {
                data.clusters
                    .entry(ci)
                    .or_insert_with(|| vec![0u8; CLUSTER_SIZE as usize].into_boxed_slice());
            }
        }
        data.len = len;
        Ok(())
    }

    fn attributes(&self) -> Result<u32, Error> {
        self.check(false)?;
        Ok(read_lock(&self.node.data).attributes())
    }

    fn set_attributes(&self, attributes: u32) -> Result<(), Error> {
        self.check(true)?;
        let mut data = write_lock(&self.node.data);
        data.attributes = attributes & STORED_BITS;
        Ok(())
    }

    fn set_sparse(&self, sparse: bool) -> Result<(), Error> {
        self.check(true)?;
        let mut data = write_lock(&self.node.data);
        if data.sparse && !sparse {
            // Clearing the flag allocates the holes (Windows 8+ behaviour).
            let end = data.len.div_ceil(CLUSTER_SIZE);
            let need = data.missing_clusters(0, end);
            self.volume.reserve(need * CLUSTER_SIZE, &self.path())?;
            for ci in 0..end {
                data.clusters
                    .entry(ci)
                    .or_insert_with(|| vec![0u8; CLUSTER_SIZE as usize].into_boxed_slice());
            }
        }
        data.sparse = sparse;
        Ok(())
    }

    fn reparse_point(&self) -> Result<Vec<u8>, Error> {
        self.check(false)?;
        read_lock(&self.node.data)
            .reparse
            .clone()
            .ok_or_else(|| Error::NotAReparsePoint { path: self.path() })
    }

    fn set_reparse_point(&self, buffer: &[u8]) -> Result<(), Error> {
        self.check(true)?;
        let tag =
            platform::reparse::validate_buffer(buffer).map_err(|e| Error::InvalidReparseData {
                path: self.path(),
                reason: e.reason(),
            })?;
        let mut data = write_lock(&self.node.data);
        if let Some(old) = &data.reparse {
            let existing = u32::from_le_bytes([old[0], old[1], old[2], old[3]]);
            if existing != tag {
                return Err(Error::ReparseTagMismatch {
                    path: self.path(),
                    existing,
                    given: tag,
                });
            }
        }
        data.reparse = Some(buffer.to_vec());
        Ok(())
    }

    fn remove_reparse_point(&self) -> Result<(), Error> {
        self.check(true)?;
        let mut data = write_lock(&self.node.data);
        if data.reparse.take().is_none() {
            return Err(Error::NotAReparsePoint { path: self.path() });
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), Error> {
        self.check(true)
    }
}
