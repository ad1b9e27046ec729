//! A file's data: the unnamed stream in 4 KiB clusters (only written clusters of a sparse
//! file are allocated), its attributes and its reparse point.

use std::collections::BTreeMap;

use platform::attr;

use super::{CLUSTER_SIZE, STORED_BITS};

/// The data and metadata of one file (shared by its names and handles through a `FileNode`).
#[derive(Debug)]
pub(super) struct FileData {
    /// Length of the unnamed stream.
    pub(super) len: u64,
    /// Allocated clusters by index; a missing cluster reads as zeros.
    pub(super) clusters: BTreeMap<u64, Box<[u8]>>,
    /// The sparse flag: only written clusters are allocated.
    pub(super) sparse: bool,
    /// The stored `FILE_ATTRIBUTE_*` bits (the derived ones are added by [`Self::attributes`]).
    pub(super) attributes: u32,
    /// The whole `REPARSE_DATA_BUFFER`, if any.
    pub(super) reparse: Option<Vec<u8>>,
}

impl FileData {
    /// An empty, non-sparse file with the ARCHIVE attribute.
    pub(super) fn new() -> Self {
        Self {
            len: 0,
            clusters: BTreeMap::new(),
            sparse: false,
            attributes: attr::ARCHIVE,
            reparse: None,
        }
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
        self.clusters.len() as u64 * CLUSTER_SIZE
    }

    /// Reads at `offset` (holes as zeros); returns the count read (0 at or past the end).
    pub(super) fn read(&self, offset: u64, buf: &mut [u8]) -> usize {
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
    pub(super) fn missing_clusters(&self, first: u64, end: u64) -> u64 {
        if end <= first {
            return 0;
        }
        (end - first) - self.clusters.range(first..end).count() as u64
    }
}
