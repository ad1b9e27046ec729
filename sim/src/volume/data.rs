//! A file's data: the unnamed stream in 4 KiB clusters (only written clusters of a sparse
//! file are allocated), its attributes and its reparse point.
//!
//! Which clusters are allocated ([`ClusterSet`]) is kept apart from where the bytes are
//! ([`Contents`]): in memory, one buffer per written cluster, or on the host (see
//! [`super::backing`]). Either way a cluster that is not allocated reads as zeros.

use std::collections::BTreeMap;
use std::io;
#[cfg(unix)]
use std::sync::Arc;

use platform::attr;

#[cfg(unix)]
use super::backing::{HostContents, HostFolder};
use super::clusters::ClusterSet;
use super::{CLUSTER_SIZE, STORED_BITS};

/// Where a file's bytes are.
#[derive(Debug)]
pub(super) enum Contents {
    /// In memory: the written clusters by index (an allocated cluster without an entry holds
    /// zeros).
    Memory(BTreeMap<u64, Box<[u8]>>),
    /// On the host.
    #[cfg(unix)]
    Host(HostContents),
}

/// The data and metadata of one file (shared by its names and handles through a `FileNode`).
#[derive(Debug)]
pub(super) struct FileData {
    /// Length of the unnamed stream.
    pub(super) len: u64,
    /// Allocated clusters.
    alloc: ClusterSet,
    /// The bytes.
    contents: Contents,
    /// The sparse flag: only written clusters are allocated.
    pub(super) sparse: bool,
    /// The stored `FILE_ATTRIBUTE_*` bits (the derived ones are added by [`Self::attributes`]).
    pub(super) attributes: u32,
    /// The whole `REPARSE_DATA_BUFFER`, if any.
    pub(super) reparse: Option<Vec<u8>>,
}

/// Where a volume keeps the bytes of its files.
#[derive(Debug, Clone)]
pub(super) enum Storage {
    /// In memory.
    Memory,
    /// In host files under this backing folder.
    #[cfg(unix)]
    Host(Arc<HostFolder>),
}

impl Storage {
    fn empty(&self) -> Contents {
        match self {
            Self::Memory => Contents::Memory(BTreeMap::new()),
            #[cfg(unix)]
            Self::Host(folder) => Contents::Host(HostContents::empty(Arc::clone(folder))),
        }
    }
}

impl FileData {
    /// An empty, non-sparse file with the ARCHIVE attribute, its bytes kept in `storage`.
    pub(super) fn new(storage: &Storage) -> Self {
        Self {
            len: 0,
            alloc: ClusterSet::default(),
            contents: storage.empty(),
            sparse: false,
            attributes: attr::ARCHIVE,
            reparse: None,
        }
    }

    /// A non-sparse file of `len` bytes, every cluster allocated, whose bytes are `contents`.
    #[cfg(unix)]
    pub(super) fn with_contents(len: u64, contents: HostContents) -> Self {
        let mut d = Self {
            len,
            alloc: ClusterSet::default(),
            contents: Contents::Host(contents),
            sparse: false,
            attributes: attr::ARCHIVE,
            reparse: None,
        };
        d.alloc.insert(0, len.div_ceil(CLUSTER_SIZE));
        d
    }

    /// The attribute word as Windows reports it (derived bits added; NORMAL when none).
    pub(super) fn attributes(&self) -> u32 {
        let mut a = self.attributes & STORED_BITS;
        if self.sparse {
            a |= attr::SPARSE_FILE;
        }
        if self.reparse.is_some() {
            a |= attr::REPARSE_POINT;
        }
        if a == 0 { attr::NORMAL } else { a }
    }

    /// Bytes of allocated clusters.
    pub(super) fn allocated(&self) -> u64 {
        self.alloc.len() * CLUSTER_SIZE
    }

    /// The allocated clusters, as runs of cluster indices.
    pub(super) fn allocated_runs(&self) -> impl Iterator<Item = std::ops::Range<u64>> + '_ {
        self.alloc.runs()
    }

    /// Reads at `offset` (holes as zeros); returns the count read (0 at or past the end).
    // Fallible only where contents are kept on the host (Unix).
    #[cfg_attr(not(unix), allow(clippy::unnecessary_wraps))]
    pub(super) fn read(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let n = usize::try_from((self.len - offset).min(buf.len() as u64)).unwrap_or(buf.len());
        match &self.contents {
            Contents::Memory(clusters) => {
                let mut done = 0usize;
                while done < n {
                    let pos = offset + done as u64;
                    let ci = pos / CLUSTER_SIZE;
                    let within = (pos % CLUSTER_SIZE) as usize;
                    let take = (CLUSTER_SIZE as usize - within).min(n - done);
                    match clusters.get(&ci) {
                        Some(c) => {
                            buf[done..done + take].copy_from_slice(&c[within..within + take]);
                        }
                        None => buf[done..done + take].fill(0),
                    }
                    done += take;
                }
            }
            #[cfg(unix)]
            Contents::Host(h) => h.read(offset, &mut buf[..n])?,
        }
        Ok(n)
    }

    /// Writes `buf` at `offset`, allocating the clusters it touches, and extends the length.
    /// The caller has reserved the space. On an error nothing is allocated.
    // Fallible only where contents are kept on the host (Unix).
    #[cfg_attr(not(unix), allow(clippy::unnecessary_wraps))]
    pub(super) fn write(&mut self, offset: u64, buf: &[u8]) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let end = offset + buf.len() as u64;
        match &mut self.contents {
            Contents::Memory(clusters) => {
                let mut done = 0usize;
                while done < buf.len() {
                    let pos = offset + done as u64;
                    let ci = pos / CLUSTER_SIZE;
                    let within = (pos % CLUSTER_SIZE) as usize;
                    let take = (CLUSTER_SIZE as usize - within).min(buf.len() - done);
                    let c = clusters
                        .entry(ci)
                        .or_insert_with(|| vec![0u8; CLUSTER_SIZE as usize].into_boxed_slice());
                    c[within..within + take].copy_from_slice(&buf[done..done + take]);
                    done += take;
                }
            }
            #[cfg(unix)]
            Contents::Host(h) => h.write(offset, buf)?,
        }
        self.alloc
            .insert(offset / CLUSTER_SIZE, end.div_ceil(CLUSTER_SIZE));
        self.len = self.len.max(end);
        Ok(())
    }

    /// Allocates the clusters `first..end` that are not yet allocated, as zeros.
    pub(super) fn allocate_zeroed(&mut self, first: u64, end: u64) {
        self.alloc.insert(first, end);
    }

    /// Sets the length to `len`, dropping the clusters past it (and zeroing the tail of the
    /// last one); returns the bytes of clusters freed. Growing only changes the length.
    // Fallible only where contents are kept on the host (Unix).
    #[cfg_attr(not(unix), allow(clippy::unnecessary_wraps))]
    pub(super) fn truncate(&mut self, len: u64) -> io::Result<u64> {
        if len < self.len {
            let keep = len.div_ceil(CLUSTER_SIZE);
            match &mut self.contents {
                Contents::Memory(clusters) => {
                    drop(clusters.split_off(&keep));
                    if !len.is_multiple_of(CLUSTER_SIZE)
                        && let Some(c) = clusters.get_mut(&(len / CLUSTER_SIZE))
                    {
                        c[(len % CLUSTER_SIZE) as usize..].fill(0);
                    }
                }
                #[cfg(unix)]
                Contents::Host(h) => h.truncate(len)?,
            }
            let freed = self.alloc.truncate(keep) * CLUSTER_SIZE;
            self.len = len;
            return Ok(freed);
        }
        self.len = len;
        Ok(0)
    }

    /// Clusters in `first..end` (cluster indices) that are not yet allocated.
    pub(super) fn missing_clusters(&self, first: u64, end: u64) -> u64 {
        if end <= first {
            return 0;
        }
        (end - first) - self.alloc.count_in(first, end)
    }
}
