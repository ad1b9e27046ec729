//! [`SimFile`]: an open file of a [`SimVolume`] and its [`FileHandle`] implementation
//! (positioned reads and writes with fault injection and cluster accounting, length, attributes,
//! the sparse flag, reparse points).

use std::fmt;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use platform::{Access, Error, FileHandle, WinPath};

use super::{
    CLUSTER_SIZE, Faults, FileNode, STORED_BITS, SimVolume, lock, matches_under, node_ranges,
    read_lock, write_lock,
};

/// An open file of a [`SimVolume`].
pub struct SimFile {
    /// Its key in the volume's open-handle table.
    pub(super) id: u64,
    /// The file.
    pub(super) node: Arc<FileNode>,
    /// What it may do.
    pub(super) access: Access,
    /// The volume (for faults, capacity and the handle table).
    pub(super) volume: SimVolume,
    /// The volume's epoch at open: a reboot closes handles of earlier epochs.
    pub(super) epoch: u64,
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
        data.read(offset, &mut buf[..limit])
            .map_err(|source| Error::Io { path, source })
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
        if let Err(source) = data.write(offset, buf) {
            self.volume.release(need * CLUSTER_SIZE);
            return Err(Error::Io { path, source });
        }
        if !data.sparse {
            data.allocate_zeroed(gap_first, first);
        }
        Ok(buf.len())
    }

    fn len(&self) -> Result<u64, Error> {
        self.check(false)?;
        Ok(read_lock(&self.node.data).len)
    }

    fn set_len(&self, len: u64) -> Result<(), Error> {
        self.check(true)?;
        let mut data = write_lock(&self.node.data);
        if len > data.len && !data.sparse {
            let first = data.len.div_ceil(CLUSTER_SIZE);
            let end = len.div_ceil(CLUSTER_SIZE);
            let need = data.missing_clusters(first, end);
            self.volume.reserve(need * CLUSTER_SIZE, &self.path())?;
            data.allocate_zeroed(first, end);
        }
        let freed = data.truncate(len).map_err(|source| Error::Io {
            path: self.path(),
            source,
        })?;
        self.volume.release(freed);
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
            data.allocate_zeroed(0, end);
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
        let mut data = write_lock(&self.node.data);
        platform::reparse::check_set(|| self.path(), buffer, data.reparse.as_deref())?;
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
