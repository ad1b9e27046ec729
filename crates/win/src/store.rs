//! [`VolumeStore`]: a [`BackupStore`] over any [`Volume`] — on Windows a
//! [`crate::WinVolume`] rooted at a folder or mounted image that holds the backed-up
//! `System Volume Information\Dedup` tree. Pure Rust over the platform traits.

use dedup_restore::{BackupStore, Hresult, StoreError};
use platform::{Access, Disposition, OpenOptions, ShareMode, Volume, WinPath};

/// A backup store read through a [`Volume`]: positioned reads of the store files, opened for
/// read with every share mode granted (so a running backup can still write them).
#[derive(Debug)]
pub struct VolumeStore<V> {
    volume: V,
}

impl<V: Volume> VolumeStore<V> {
    /// A store over `volume`.
    pub fn new(volume: V) -> Self {
        Self { volume }
    }

    /// The volume.
    pub fn volume(&self) -> &V {
        &self.volume
    }
}

fn store_error(path: &WinPath, e: &platform::Error) -> StoreError {
    match e {
        platform::Error::NotFound { .. } => StoreError::not_found(path),
        other => StoreError::other(path, other.to_string(), dedup_restore::from_platform(other)),
    }
}

impl<V: Volume> BackupStore for VolumeStore<V> {
    fn read_backup_file(
        &self,
        path: &WinPath,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<(), StoreError> {
        let f = self
            .volume
            .open(
                path,
                OpenOptions::new(Access::READ, ShareMode::ALL, Disposition::OpenExisting),
            )
            .map_err(|e| store_error(path, &e))?;
        let size = f.len().map_err(|e| store_error(path, &e))?;
        if offset.saturating_add(buf.len() as u64) > size {
            return Err(StoreError::past_end(path, offset, buf.len(), size));
        }
        f.read_exact_at(offset, buf)
            .map_err(|e| store_error(path, &e))
    }

    fn list_dir(&self, dir: &WinPath) -> Result<Option<Vec<String>>, StoreError> {
        match self.volume.read_dir(dir) {
            Ok(entries) => Ok(Some(
                entries
                    .into_iter()
                    .filter(|e| !e.metadata.is_dir())
                    .map(|e| e.name)
                    .collect(),
            )),
            Err(platform::Error::NotFound { .. }) => Ok(Some(Vec::new())),
            Err(e) => Err(StoreError::other(dir, e.to_string(), Hresult::E_FAIL)),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use platform::HostVolume;

    #[test]
    fn reads_lists_and_reports_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("Store/Data")).unwrap();
        std::fs::write(dir.path().join("Store/Data/a.ccc"), b"0123456789").unwrap();
        let store = VolumeStore::new(HostVolume::new(dir.path()).unwrap());
        let p = WinPath::new(r"store\data\A.ccc").unwrap();
        let mut buf = [0u8; 4];
        store.read_backup_file(&p, 3, &mut buf).unwrap();
        assert_eq!(&buf, b"3456");
        let e = store.read_backup_file(&p, 8, &mut buf).unwrap_err();
        assert!(e.past_end);
        let missing = WinPath::new(r"Store\Data\b.ccc").unwrap();
        let e = store.read_backup_file(&missing, 0, &mut buf).unwrap_err();
        assert_eq!(e.hresult, Hresult::DDP_E_PATH_NOT_FOUND);
        assert_eq!(
            store
                .list_dir(&WinPath::new(r"Store\Data").unwrap())
                .unwrap(),
            Some(vec!["a.ccc".to_owned()])
        );
        assert_eq!(
            store.list_dir(&WinPath::new("nowhere").unwrap()).unwrap(),
            Some(vec![])
        );
    }
}
