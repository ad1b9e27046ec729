//! [`SourceStore`]: the one [`BackupStore`] over anything that can be read as a
//! [`platform::Source`] — a host folder or ntfs-3g mount ([`platform::HostSource`]), any
//! [`platform::Volume`] ([`platform::VolumeSource`]: the simulator, a real Windows volume), and
//! next a disk image. The store's files are found case-insensitively, as Windows would, and
//! kept open across reads (a restore reads each container many times).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use platform::{EntryKind, Source, SourceFile, Volume, VolumeSource, WinPath, eq_name};

use crate::hresult::from_platform;
use crate::store::{BackupStore, StoreError};

/// Open store files kept at most (a restore works through containers in plan order, so a
/// small set suffices; each is one file descriptor or handle).
const OPEN_FILES: usize = 64;

/// A [`BackupStore`] reading the `System Volume Information\Dedup` tree of a [`Source`].
pub struct SourceStore<S> {
    source: S,
    /// Open files by folded path.
    open: Mutex<HashMap<String, Arc<dyn SourceFile>>>,
    /// The stored spelling of each folder resolved case-insensitively (folded → stored).
    spelled: Mutex<HashMap<String, WinPath>>,
}

impl<S> std::fmt::Debug for SourceStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceStore").finish_non_exhaustive()
    }
}

impl<S: Source> SourceStore<S> {
    /// A store over `source`.
    pub fn new(source: S) -> Self {
        Self {
            source,
            open: Mutex::new(HashMap::new()),
            spelled: Mutex::new(HashMap::new()),
        }
    }

    /// The source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// `path` as the source spells it: tried as given first, else each component looked up
    /// case-insensitively in its parent's listing.
    fn spelled(&self, path: &WinPath) -> Result<WinPath, platform::Error> {
        let key = path.folded();
        if let Some(p) = self
            .spelled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(p.clone());
        }
        let mut cur = WinPath::root();
        for comp in path.components() {
            let listing = self.source.read_dir(&cur)?;
            let hit = listing
                .iter()
                .find(|e| e.name == comp)
                .or_else(|| listing.iter().find(|e| eq_name(&e.name, comp)))
                .ok_or_else(|| platform::Error::NotFound { path: path.clone() })?;
            cur = cur.join(&hit.name)?;
        }
        self.spelled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, cur.clone());
        Ok(cur)
    }

    fn open_file(&self, path: &WinPath) -> Result<Arc<dyn SourceFile>, StoreError> {
        let key = path.folded();
        if let Some(f) = self
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(f.clone());
        }
        let file = match self.source.open_file(path) {
            Ok(f) => f,
            Err(platform::Error::NotFound { .. }) => {
                let p = self.spelled(path).map_err(|e| store_error(path, &e))?;
                self.source
                    .open_file(&p)
                    .map_err(|e| store_error(path, &e))?
            }
            Err(e) => return Err(store_error(path, &e)),
        };
        let file: Arc<dyn SourceFile> = Arc::from(file);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.len() >= OPEN_FILES
            && let Some(k) = open.keys().next().cloned()
        {
            open.remove(&k);
        }
        open.insert(key, file.clone());
        Ok(file)
    }
}

impl<V: Volume> SourceStore<VolumeSource<V>> {
    /// A store over a [`Volume`] (read only; every share mode granted, so a running backup can
    /// still write the files).
    pub fn over_volume(volume: V, name: impl Into<String>) -> Self {
        Self::new(VolumeSource::new(volume, name))
    }
}

#[cfg(unix)]
impl SourceStore<platform::HostSource> {
    /// A store over the host folder `root` (an ntfs-3g mount, a copy of a volume, a
    /// `sim optimize` output).
    pub fn host(root: impl AsRef<std::path::Path>) -> Result<Self, platform::Error> {
        Ok(Self::new(platform::HostSource::new(root)?))
    }
}

fn store_error(path: &WinPath, e: &platform::Error) -> StoreError {
    match e {
        platform::Error::NotFound { .. } => StoreError::not_found(path),
        other => StoreError::other(path, other.to_string(), from_platform(other)),
    }
}

impl<S: Source> BackupStore for SourceStore<S> {
    fn read_backup_file(
        &self,
        path: &WinPath,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<(), StoreError> {
        let f = self.open_file(path)?;
        let size = f.len().map_err(|e| store_error(path, &e))?;
        if offset.saturating_add(buf.len() as u64) > size {
            return Err(StoreError::past_end(path, offset, buf.len(), size));
        }
        let (mut at, mut rest) = (offset, &mut buf[..]);
        while !rest.is_empty() {
            let n = f.read_at(at, rest).map_err(|e| store_error(path, &e))?;
            if n == 0 {
                return Err(StoreError::past_end(path, offset, buf.len(), at));
            }
            rest = &mut rest[n..];
            at += n as u64;
        }
        Ok(())
    }

    fn list_dir(&self, dir: &WinPath) -> Result<Option<Vec<String>>, StoreError> {
        let listing = match self.source.read_dir(dir) {
            Err(platform::Error::NotFound { .. } | platform::Error::NotADirectory { .. }) => {
                match self.spelled(dir) {
                    Ok(p) => self.source.read_dir(&p),
                    Err(platform::Error::NotFound { .. }) => return Ok(Some(Vec::new())),
                    Err(e) => Err(e),
                }
            }
            other => other,
        };
        match listing {
            Ok(entries) => Ok(Some(
                entries
                    .into_iter()
                    .filter(|e| e.kind == EntryKind::File)
                    .map(|e| e.name)
                    .collect(),
            )),
            Err(platform::Error::NotFound { .. }) => Ok(Some(Vec::new())),
            Err(e) => Err(store_error(dir, &e)),
        }
    }
}
