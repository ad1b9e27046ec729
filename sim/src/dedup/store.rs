//! Where a chunk store lives on a volume, and reading it back: container listing (newest
//! generation per id), container loading, stream-map resolution from a reparse point's
//! reference entry (offset hint, then `Rrtl`, then scan).

use std::collections::BTreeMap;

use dedup_reparse::{Guid, ReferenceEntry};
pub use dedup_store::{CHUNK_STORE_DIR, ContainerKind};
use dedup_store::{
    Container, Located, StreamMap, container_dir, container_path, parse_container_file_name,
    parse_store_dir_name, store_root,
};
use platform::{Access, Disposition, EntryKind, OpenOptions, ShareMode, Source, Volume, WinPath};

use super::DedupError;
pub use super::summary::{ContainerSummary, StoreSummary, summarize, summarize_source};

/// The first data container id (docs/dedup-format.md §2).
pub const FIRST_DATA_CONTAINER: u32 = 1;
/// The first stream container id (docs/dedup-format.md §2: `Stream\00010000.00000001.ccc`).
pub const FIRST_STREAM_CONTAINER: u32 = 0x0001_0000;
/// Step between stream container ids. Observed ids are 0x00010000 and 0x00020000 (docs/dedup-format.md §2);
/// that Windows counts in this step is our inference.
pub const STREAM_CONTAINER_STEP: u32 = 0x0001_0000;

/// A chunk store on a volume: `\System Volume Information\Dedup\ChunkStore\{GUID}.ddp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLocation {
    /// The store GUID (in every reparse point that uses it).
    pub guid: Guid,
}

impl StoreLocation {
    /// `…\ChunkStore\{GUID}.ddp`.
    #[must_use]
    pub fn root(&self) -> WinPath {
        WinPath::new(&store_root(&self.guid)).expect("a GUID folder name is a valid path")
    }

    /// `…\{GUID}.ddp\Data` or `…\Stream`.
    #[must_use]
    pub fn dir(&self, kind: ContainerKind) -> WinPath {
        WinPath::new(&container_dir(&self.guid, kind)).expect("a fixed folder name is valid")
    }

    /// The path of container `id`, generation `generation`.
    #[must_use]
    pub fn container_path(&self, kind: ContainerKind, id: u32, generation: u32) -> WinPath {
        WinPath::new(&container_path(&self.guid, kind, id, generation))
            .expect("a container file name is valid")
    }

    /// Finds the store on `volume` (the one `*.ddp` folder under `ChunkStore`), if any.
    pub fn find(volume: &dyn Volume) -> Result<Option<Self>, DedupError> {
        let dir = WinPath::new(CHUNK_STORE_DIR).expect("fixed path");
        if !volume.exists(&dir)? {
            return Ok(None);
        }
        let listing = volume.read_dir(&dir)?;
        Self::pick(listing.into_iter().map(|e| (e.metadata.is_dir(), e.name)))
    }

    /// [`StoreLocation::find`] on a restore source (a host folder, a disk image).
    pub fn find_in_source(source: &dyn Source) -> Result<Option<Self>, DedupError> {
        let dir = WinPath::new(CHUNK_STORE_DIR).expect("fixed path");
        let Some(listing) = list_source(source, &dir)? else {
            return Ok(None);
        };
        Self::pick(
            listing
                .into_iter()
                .map(|e| (e.kind == EntryKind::Dir, e.name)),
        )
    }

    /// The store among the `ChunkStore` folder's entries `(is a folder, name)`.
    fn pick(entries: impl Iterator<Item = (bool, String)>) -> Result<Option<Self>, DedupError> {
        let mut found = Vec::new();
        for (is_dir, name) in entries {
            if !is_dir {
                continue;
            }
            let Some(stem) = parse_store_dir_name(&name) else {
                continue;
            };
            if let Ok(guid) = stem.parse::<Guid>() {
                found.push(Self { guid });
            }
        }
        match found.len() {
            0 => Ok(None),
            1 => Ok(Some(found[0])),
            n => Err(DedupError::Store(format!(
                "{n} chunk-store folders under {CHUNK_STORE_DIR} (Windows allows one)"
            ))),
        }
    }

    /// Every container of `kind`: id → generations present, ascending.
    pub fn containers(
        &self,
        volume: &dyn Volume,
        kind: ContainerKind,
    ) -> Result<BTreeMap<u32, Vec<u32>>, DedupError> {
        let dir = self.dir(kind);
        if !volume.exists(&dir)? {
            return Ok(BTreeMap::new());
        }
        let listing = volume.read_dir(&dir)?;
        Ok(by_id(
            listing.into_iter().map(|e| (e.metadata.is_dir(), e.name)),
        ))
    }

    /// [`StoreLocation::containers`] on a restore source.
    pub fn containers_in_source(
        &self,
        source: &dyn Source,
        kind: ContainerKind,
    ) -> Result<BTreeMap<u32, Vec<u32>>, DedupError> {
        let listing = list_source(source, &self.dir(kind))?.unwrap_or_default();
        Ok(by_id(
            listing
                .into_iter()
                .map(|e| (e.kind == EntryKind::Dir, e.name)),
        ))
    }

    /// The newest generation of every container of `kind`: id → generation.
    pub fn newest(
        &self,
        volume: &dyn Volume,
        kind: ContainerKind,
    ) -> Result<BTreeMap<u32, u32>, DedupError> {
        Ok(self
            .containers(volume, kind)?
            .into_iter()
            .filter_map(|(id, g)| g.last().map(|&g| (id, g)))
            .collect())
    }

    /// Loads and validates a container.
    pub fn load(
        &self,
        volume: &dyn Volume,
        kind: ContainerKind,
        id: u32,
        generation: u32,
    ) -> Result<Container<Vec<u8>>, DedupError> {
        let path = self.container_path(kind, id, generation);
        let bytes = read_all(volume, &path)?;
        Ok(Container::open(path.to_string(), bytes)?)
    }

    /// Resolves a reparse point's reference entry to its stream map: opens the newest
    /// generation of the stream container, finds the record (hint, `Rrtl`, scan), checks the
    /// payload CRC-64, that the record's hash starts with the entry's hash, and the payload size.
    pub fn read_stream_map(
        &self,
        volume: &dyn Volume,
        entry: &ReferenceEntry,
    ) -> Result<(StreamMap, Located), DedupError> {
        let newest = self.newest(volume, ContainerKind::Stream)?;
        let generation = *newest.get(&entry.container_id).ok_or_else(|| {
            DedupError::Store(format!(
                "stream container {:#010x} is missing",
                entry.container_id
            ))
        })?;
        let c = self.load(
            volume,
            ContainerKind::Stream,
            entry.container_id,
            generation,
        )?;
        let mut scratch = Vec::new();
        let (rec, located, map) = c.read_stream_map(
            entry.local_id,
            Some(entry.offset_hint),
            Some(u64::from(entry.stream_map_size)),
            &mut scratch,
        )?;
        let want = entry.hash.as_bytes();
        if rec.hash[..want.len()] != *want {
            return Err(DedupError::Store(format!(
                "{}: stream map {} hash does not match the reparse point",
                c.name(),
                entry.local_id
            )));
        }
        Ok((map.to_owned_map(), located))
    }
}

/// Container files among a folder's entries `(is a folder, name)`: id → generations, ascending.
fn by_id(entries: impl Iterator<Item = (bool, String)>) -> BTreeMap<u32, Vec<u32>> {
    let mut out: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (is_dir, name) in entries {
        if is_dir {
            continue;
        }
        if let Some((id, generation)) = parse_container_file_name(&name) {
            out.entry(id).or_default().push(generation);
        }
    }
    for g in out.values_mut() {
        g.sort_unstable();
    }
    out
}

/// The entries of `dir` of a source; `None` when it (or a folder above it) does not exist.
pub(crate) fn list_source(
    source: &dyn Source,
    dir: &WinPath,
) -> Result<Option<Vec<platform::SourceEntry>>, DedupError> {
    match source.read_dir(dir) {
        Ok(l) => Ok(Some(l)),
        Err(platform::Error::NotFound { .. } | platform::Error::NotADirectory { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Reads a whole file of a volume.
pub fn read_all(volume: &dyn Volume, path: &WinPath) -> Result<Vec<u8>, DedupError> {
    let f = volume.open(
        path,
        OpenOptions::new(Access::READ, ShareMode::READ, Disposition::OpenExisting),
    )?;
    let len = usize::try_from(f.len()?)
        .map_err(|_| DedupError::Store(format!("{path}: too large to load")))?;
    let mut buf = vec![0u8; len];
    f.read_exact_at(0, &mut buf)?;
    Ok(buf)
}
