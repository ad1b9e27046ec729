//! The backup-store callback (Rust form of `IDedupReadFileCallback`, docs/dedup-format.md §6.2), an in-memory
//! implementation, and a recording wrapper for tests. The store over a source (host folder,
//! volume, image) is [`crate::SourceStore`].

use std::collections::BTreeMap;
use std::sync::Mutex;

use platform::WinPath;

use crate::hresult::Hresult;

/// `DEDUP_CONTAINER_EXTENT`: a byte range of one container file, by index into the list given to
/// [`BackupStore::order_containers_restore`]. `length == u64::MAX` means "to the end of the
/// file" (the SDK sample uses `LONGLONG_MAX`; both are accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContainerExtent {
    /// Index into the container list of the order call.
    pub container_index: u32,
    /// First byte.
    pub start: u64,
    /// Length in bytes (`u64::MAX` or `i64::MAX as u64`: to the end).
    pub length: u64,
}

impl ContainerExtent {
    /// One past the last byte (saturating).
    #[must_use]
    pub fn end(&self) -> u64 {
        if self.length >= i64::MAX as u64 {
            u64::MAX
        } else {
            self.start.saturating_add(self.length)
        }
    }
}

/// `DDP_FILE_EXTENT`: a pending read announced by [`BackupStore::preview_container_read`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileExtent {
    /// Offset in the container file.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
}

/// Why a store call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct StoreError {
    /// The store file concerned.
    pub path: String,
    /// What went wrong.
    pub message: String,
    /// The HRESULT reported for files that depended on this read: `DDP_E_PATH_NOT_FOUND` for a
    /// file missing from the store, the store's own code otherwise.
    pub hresult: Hresult,
    /// True when the file exists but the read ran past its end (a truncated copy).
    pub past_end: bool,
}

impl StoreError {
    /// A file that is not in the backup store.
    #[must_use]
    pub fn not_found(path: &WinPath) -> Self {
        Self {
            path: path.to_string(),
            message: "not found in the backup store".into(),
            hresult: Hresult::DDP_E_PATH_NOT_FOUND,
            past_end: false,
        }
    }

    /// A read past the end of a file.
    #[must_use]
    pub fn past_end(path: &WinPath, offset: u64, len: usize, size: u64) -> Self {
        Self {
            path: path.to_string(),
            message: format!(
                "read of {len} bytes at {offset:#x} runs past the end of the file ({size:#x} bytes)"
            ),
            hresult: Hresult::DDP_E_FILE_CORRUPT,
            past_end: true,
        }
    }

    /// Any other failure.
    #[must_use]
    pub fn other(path: &WinPath, message: impl Into<String>, hresult: Hresult) -> Self {
        Self {
            path: path.to_string(),
            message: message.into(),
            hresult,
            past_end: false,
        }
    }
}

/// The backup media, as the restore engine sees it (`IDedupReadFileCallback`).
///
/// Paths are volume-root-relative (`\System Volume Information\Dedup\ChunkStore\{GUID}.ddp\…`).
/// Implementations must be usable from several threads.
pub trait BackupStore: Send + Sync {
    /// `ReadBackupFile`: fill `buf` from `path` at `offset` (exactly `buf.len()` bytes, or an
    /// error).
    fn read_backup_file(
        &self,
        path: &WinPath,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<(), StoreError>;

    /// `OrderContainersRestore`: the extents of `containers` in the order the medium prefers
    /// (e.g. tape order; a container may be split into several extents). `None` lets the engine
    /// choose (container order, then offset order).
    fn order_containers_restore(
        &self,
        containers: &[WinPath],
    ) -> Result<Option<Vec<ContainerExtent>>, StoreError> {
        let _ = containers;
        Ok(None)
    }

    /// `PreviewContainerRead`: the reads about to be made in one container extent, for
    /// read-ahead.
    fn preview_container_read(
        &self,
        container: &WinPath,
        reads: &[FileExtent],
    ) -> Result<(), StoreError> {
        let _ = (container, reads);
        Ok(())
    }

    /// Our extension (not in the Windows callback): the file names in a store folder, so the
    /// engine can find a container's highest generation. `None` when the store cannot list;
    /// the engine then uses the generation the metadata names.
    fn list_dir(&self, dir: &WinPath) -> Result<Option<Vec<String>>, StoreError> {
        let _ = dir;
        Ok(None)
    }
}

/// A shared reference to a store is a store (so a [`RecordingStore`] can wrap a borrowed one).
impl<S: BackupStore + ?Sized> BackupStore for &S {
    fn read_backup_file(
        &self,
        path: &WinPath,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<(), StoreError> {
        (**self).read_backup_file(path, offset, buf)
    }

    fn order_containers_restore(
        &self,
        containers: &[WinPath],
    ) -> Result<Option<Vec<ContainerExtent>>, StoreError> {
        (**self).order_containers_restore(containers)
    }

    fn preview_container_read(
        &self,
        container: &WinPath,
        reads: &[FileExtent],
    ) -> Result<(), StoreError> {
        (**self).preview_container_read(container, reads)
    }

    fn list_dir(&self, dir: &WinPath) -> Result<Option<Vec<String>>, StoreError> {
        (**self).list_dir(dir)
    }
}

/// A store held in memory: volume-root-relative path (case-insensitive) → bytes.
#[derive(Debug, Default)]
pub struct MemoryStore {
    files: BTreeMap<String, (WinPath, Vec<u8>)>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a file.
    pub fn insert(&mut self, path: WinPath, bytes: Vec<u8>) {
        self.files.insert(path.folded(), (path, bytes));
    }

    /// Removes a file (to simulate a missing container).
    pub fn remove(&mut self, path: &WinPath) -> Option<Vec<u8>> {
        self.files.remove(&path.folded()).map(|(_, b)| b)
    }

    /// A file's bytes.
    #[must_use]
    pub fn get(&self, path: &WinPath) -> Option<&[u8]> {
        self.files.get(&path.folded()).map(|(_, b)| &b[..])
    }

    /// A file's bytes, for tests that damage them.
    pub fn get_mut(&mut self, path: &WinPath) -> Option<&mut Vec<u8>> {
        self.files.get_mut(&path.folded()).map(|(_, b)| b)
    }

    /// All paths.
    pub fn paths(&self) -> impl Iterator<Item = &WinPath> {
        self.files.values().map(|(p, _)| p)
    }
}

impl BackupStore for MemoryStore {
    fn read_backup_file(
        &self,
        path: &WinPath,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<(), StoreError> {
        let (_, bytes) = self
            .files
            .get(&path.folded())
            .ok_or_else(|| StoreError::not_found(path))?;
        let size = bytes.len() as u64;
        let end = offset.saturating_add(buf.len() as u64);
        if end > size {
            return Err(StoreError::past_end(path, offset, buf.len(), size));
        }
        buf.copy_from_slice(&bytes[offset as usize..end as usize]);
        Ok(())
    }

    fn list_dir(&self, dir: &WinPath) -> Result<Option<Vec<String>>, StoreError> {
        Ok(Some(
            self.files
                .values()
                .filter(|(p, _)| p.parent().as_ref() == Some(dir))
                .filter_map(|(p, _)| p.file_name().map(str::to_owned))
                .collect(),
        ))
    }
}

/// One call seen by a [`RecordingStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreCall {
    /// `order_containers_restore` with these containers.
    Order(Vec<WinPath>),
    /// `preview_container_read`.
    Preview(WinPath, Vec<FileExtent>),
    /// `read_backup_file` (path, offset, length).
    Read(WinPath, u64, u64),
    /// `list_dir`.
    List(WinPath),
}

/// A test plan function: container paths to an optional read plan.
type Planner = Box<dyn Fn(&[WinPath]) -> Option<Vec<ContainerExtent>> + Send + Sync>;
/// A read-failure predicate: `(path, offset, len)` to "fail this read".
type ReadFault = Box<dyn Fn(&WinPath, u64, usize) -> bool + Send + Sync>;

/// Wraps a store, records every call, and can answer the order calls with a fixed plan
/// function and fail a chosen read (for protocol and failure tests).
pub struct RecordingStore<S> {
    inner: S,
    calls: Mutex<Vec<StoreCall>>,
    planner: Option<Planner>,
    fail_read: Option<ReadFault>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for RecordingStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingStore")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S: BackupStore> RecordingStore<S> {
    /// Records calls to `inner`, answering order calls with `None`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            calls: Mutex::new(Vec::new()),
            planner: None,
            fail_read: None,
        }
    }

    /// Answers order calls with `plan(containers)`.
    #[must_use]
    pub fn with_plan(
        mut self,
        plan: impl Fn(&[WinPath]) -> Option<Vec<ContainerExtent>> + Send + Sync + 'static,
    ) -> Self {
        self.planner = Some(Box::new(plan));
        self
    }

    /// Fails reads for which `pred(path, offset, len)` is true.
    #[must_use]
    pub fn failing_reads(
        mut self,
        pred: impl Fn(&WinPath, u64, usize) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.fail_read = Some(Box::new(pred));
        self
    }

    /// The calls so far.
    ///
    /// # Panics
    /// If a thread panicked while recording.
    #[must_use]
    pub fn calls(&self) -> Vec<StoreCall> {
        self.calls.lock().expect("recording lock").clone()
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn record(&self, call: StoreCall) {
        self.calls.lock().expect("recording lock").push(call);
    }
}

impl<S: BackupStore> BackupStore for RecordingStore<S> {
    fn read_backup_file(
        &self,
        path: &WinPath,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<(), StoreError> {
        self.record(StoreCall::Read(path.clone(), offset, buf.len() as u64));
        if self
            .fail_read
            .as_ref()
            .is_some_and(|f| f(path, offset, buf.len()))
        {
            return Err(StoreError::other(
                path,
                format!("injected read failure at {offset:#x}"),
                Hresult::E_FAIL,
            ));
        }
        self.inner.read_backup_file(path, offset, buf)
    }

    fn order_containers_restore(
        &self,
        containers: &[WinPath],
    ) -> Result<Option<Vec<ContainerExtent>>, StoreError> {
        self.record(StoreCall::Order(containers.to_vec()));
        match &self.planner {
            Some(p) => Ok(p(containers)),
            None => self.inner.order_containers_restore(containers),
        }
    }

    fn preview_container_read(
        &self,
        container: &WinPath,
        reads: &[FileExtent],
    ) -> Result<(), StoreError> {
        self.record(StoreCall::Preview(container.clone(), reads.to_vec()));
        self.inner.preview_container_read(container, reads)
    }

    fn list_dir(&self, dir: &WinPath) -> Result<Option<Vec<String>>, StoreError> {
        self.record(StoreCall::List(dir.clone()));
        self.inner.list_dir(dir)
    }
}
