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
use platform::{Access, Disposition, OpenOptions, ShareMode, Volume, WinPath};

use super::DedupError;
use super::piecewise::Piecewise;

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
        let mut found = Vec::new();
        for e in volume.read_dir(&dir)? {
            if !e.metadata.is_dir() {
                continue;
            }
            let Some(stem) = parse_store_dir_name(&e.name) else {
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
        let mut out: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        if !volume.exists(&dir)? {
            return Ok(out);
        }
        for e in volume.read_dir(&dir)? {
            if e.metadata.is_dir() {
                continue;
            }
            if let Some((id, generation)) = parse_container_file_name(&e.name) {
                out.entry(id).or_default().push(generation);
            }
        }
        for g in out.values_mut() {
            g.sort_unstable();
        }
        Ok(out)
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

/// One container file as [`summarize`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSummary {
    /// Data or stream container.
    pub kind: ContainerKind,
    /// Container id (from the header).
    pub container_id: u32,
    /// Generation (from the header).
    pub generation: u32,
    /// Whether a newer generation of the same id is present (this one is then stale).
    pub superseded: bool,
    /// File size.
    pub file_size: u64,
    /// Data chunks (data containers) or stream maps (stream containers).
    pub records: usize,
    /// Padding records.
    pub padding: usize,
    /// Stored payload bytes of its chunks or stream maps.
    pub stored_bytes: u64,
    /// Logical (decompressed) bytes of its chunks or stream maps.
    pub logical_bytes: u64,
    /// Records kept compressed.
    pub compressed: usize,
    /// Entries of its `Rrtl` redirection table.
    pub redirections: usize,
    /// The first failed check, if any (the container is then not counted in the totals).
    pub error: Option<String>,
}

/// What a chunk store holds and what refers to it (see [`summarize`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoreSummary {
    /// The store GUID.
    pub guid: Guid,
    /// Every container file, data first, by id and generation.
    pub containers: Vec<ContainerSummary>,
    /// Data chunks in the newest generation of every data container.
    pub data_chunks: usize,
    /// Data chunks kept compressed.
    pub compressed_chunks: usize,
    /// Stream maps in the newest generation of every stream container.
    pub stream_maps: usize,
    /// `Rrtl` entries over the newest generations.
    pub redirections: usize,
    /// Logical bytes of the stored data chunks.
    pub chunk_logical_bytes: u64,
    /// Stored (possibly compressed) bytes of the data chunks.
    pub chunk_stored_bytes: u64,
    /// Files outside `\System Volume Information` whose dedup reparse point names this store.
    pub optimized_files: usize,
    /// Their logical bytes.
    pub optimized_logical_bytes: u64,
    /// Data-chunk references in their stream maps.
    pub chunk_references: u64,
    /// Problems found (a container that does not verify, a stub whose stream map cannot be
    /// read), one line each.
    pub errors: Vec<String>,
}

impl StoreSummary {
    /// Newest-generation containers of `kind`.
    #[must_use]
    pub fn current(&self, kind: ContainerKind) -> usize {
        self.containers
            .iter()
            .filter(|c| c.kind == kind && !c.superseded)
            .count()
    }

    /// The highest generation of any container (0 without containers).
    #[must_use]
    pub fn max_generation(&self) -> u32 {
        self.containers
            .iter()
            .map(|c| c.generation)
            .max()
            .unwrap_or(0)
    }

    /// Logical bytes of the optimized files over the logical bytes of the chunks stored.
    #[must_use]
    pub fn dedup_ratio(&self) -> Option<f64> {
        super::ratio(self.optimized_logical_bytes, self.chunk_logical_bytes)
    }

    /// Logical over stored bytes of the data chunks.
    #[must_use]
    pub fn compression_ratio(&self) -> Option<f64> {
        super::ratio(self.chunk_logical_bytes, self.chunk_stored_bytes)
    }

    /// Logical bytes of the optimized files over the stored bytes of the data chunks.
    #[must_use]
    pub fn savings_ratio(&self) -> Option<f64> {
        super::ratio(self.optimized_logical_bytes, self.chunk_stored_bytes)
    }
}

/// A damaged header slot or redirection table beside valid ones (an all-zero one was never
/// written and is fine): the slot in use may be older than the container's records (the newest
/// header lost), or lookups fall back to the other table — which a restore finds out the hard
/// way, so an inspection reports it.
fn damaged_fixed_area(path: &WinPath, c: &Piecewise) -> Option<String> {
    let written = |at: u32| {
        let at = at as usize;
        c.fixed_bytes()
            .get(at..at + dedup_store::SLOT_SIZE as usize)
            .is_some_and(|b| b.iter().any(|&x| x != 0))
    };
    let fixed = c.fixed();
    for (i, r) in fixed.slots.iter().enumerate() {
        if let Err(e) = &r.status
            && written(r.offset)
        {
            return Some(format!(
                "{path}: header slot {i} at {:#x} is damaged ({e}); the slot in use (USN {}) may be older than the records",
                r.offset, fixed.header.usn
            ));
        }
    }
    fixed.tables.iter().find_map(|r| match &r.status {
        Err(e) if written(r.offset) => Some(format!(
            "{path}: redirection table at {:#x} is damaged ({e})",
            r.offset
        )),
        _ => None,
    })
}

fn summarize_container(
    volume: &dyn Volume,
    store: &StoreLocation,
    kind: ContainerKind,
    id: u32,
    generation: u32,
    superseded: bool,
) -> ContainerSummary {
    let mut s = ContainerSummary {
        kind,
        container_id: id,
        generation,
        superseded,
        file_size: 0,
        records: 0,
        padding: 0,
        stored_bytes: 0,
        logical_bytes: 0,
        compressed: 0,
        redirections: 0,
        error: None,
    };
    let path = store.container_path(kind, id, generation);
    let c = match Piecewise::open(volume, &path) {
        Ok(c) => c,
        Err(e) => {
            s.error = Some(e.to_string());
            return s;
        }
    };
    s.file_size = c.file_size();
    if let Some(e) = damaged_fixed_area(&path, &c) {
        s.error = Some(e);
        return s;
    }
    let h = c.fixed().header;
    if (h.container_id, h.generation) != (id, generation) {
        s.error = Some(format!(
            "{path}: the header says container {:#010x} generation {}",
            h.container_id, h.generation
        ));
        return s;
    }
    s.redirections = c.fixed().redirection.entries.len();
    let want = match kind {
        ContainerKind::Data => dedup_store::RecordType::Data,
        ContainerKind::Stream => dedup_store::RecordType::StreamMap,
    };
    let opts = dedup_store::ReadOptions::default();
    let (mut stored, mut scratch) = (Vec::new(), Vec::new());
    for rec in c.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                s.error = Some(e.to_string());
                return s;
            }
        };
        if rec.record_type == dedup_store::RecordType::Padding {
            s.padding += 1;
            continue;
        }
        if rec.record_type != want {
            s.error = Some(format!(
                "{path}: a {} record at {:#x} in a {} container",
                rec.record_type.name(),
                rec.offset,
                kind.dir_name()
            ));
            return s;
        }
        match c.logical_payload(&rec, None, &opts, &mut stored, &mut scratch) {
            Ok(data) => {
                s.records += 1;
                s.stored_bytes += u64::from(rec.stored_size);
                s.logical_bytes += data.len() as u64;
                if rec.compression != dedup_store::Compression::Stored {
                    s.compressed += 1;
                }
            }
            Err(e) => {
                s.error = Some(e.to_string());
                return s;
            }
        }
    }
    s
}

/// Summarises the chunk store on `volume` (`None` when it has none): every container file
/// opened and every record verified (header and payload CRC-64, decompression, chunk hash);
/// every file outside `\System Volume Information` with a dedup reparse point of this store
/// counted, its stream map read (hint, `Rrtl`, scan) and its chunk references counted.
/// Problems do not stop the walk; they are listed in [`StoreSummary::errors`].
///
/// Containers are read piecewise ([`Piecewise`]): one record at a time, so memory stays bounded
/// whatever size a container has or claims.
pub fn summarize(volume: &dyn Volume) -> Result<Option<StoreSummary>, DedupError> {
    let Some(store) = StoreLocation::find(volume)? else {
        return Ok(None);
    };
    let mut sum = StoreSummary {
        guid: store.guid,
        ..StoreSummary::default()
    };
    add_containers(volume, &store, &mut sum)?;
    let newest_streams = store.newest(volume, ContainerKind::Stream)?;
    // Data containers a stream map may name: present in their newest generation and verified.
    let data_ids: std::collections::HashSet<u32> = sum
        .containers
        .iter()
        .filter(|c| c.kind == ContainerKind::Data && !c.superseded && c.error.is_none())
        .map(|c| c.container_id)
        .collect();
    // Stream containers stay open (a handle and a lazily built id index each), never loaded.
    let mut cache: std::collections::HashMap<u32, Option<Piecewise>> =
        std::collections::HashMap::new();
    let (mut stored, mut scratch) = (Vec::new(), Vec::new());
    for path in super::volume_files(volume)? {
        match volume.metadata(&path) {
            Ok(m) if m.is_reparse_point() => {}
            // Not a stub; or a symbolic link of the host folder, never followed (access is
            // refused): not a file of the store either way.
            Ok(_) | Err(platform::Error::AccessDenied { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
        let buf = match volume.reparse_point(&path) {
            Ok(b) => b,
            Err(e) => {
                sum.errors
                    .push(format!("{path}: reading the reparse point: {e}"));
                continue;
            }
        };
        // Reparse data that is not a dedup reparse point (another filter's tag, a damaged tag,
        // a buffer too short for one): the file's data stream is a placeholder, not content.
        if buf.len() < 4
            || u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]])
                != dedup_reparse::IO_REPARSE_TAG_DEDUP
        {
            let tag = buf.get(..4).map_or_else(
                || "(too short for a tag)".to_owned(),
                |t| format!("{:#010x}", u32::from_le_bytes([t[0], t[1], t[2], t[3]])),
            );
            sum.errors.push(format!(
                "{path}: reparse point with tag {tag}: not a dedup reparse point, so the file's data is a placeholder"
            ));
            continue;
        }
        let point = match dedup_reparse::DedupReparse::parse(&buf) {
            Ok(p) => p,
            Err(e) => {
                sum.errors.push(format!("{path}: reparse point: {e}"));
                continue;
            }
        };
        if point.guid() != store.guid {
            continue;
        }
        sum.optimized_files += 1;
        sum.optimized_logical_bytes += point.logical_size();
        for entry in point.entries() {
            let cid = entry.container_id;
            let c = cache.entry(cid).or_insert_with(|| {
                newest_streams.get(&cid).and_then(|&g| {
                    let path = store.container_path(ContainerKind::Stream, cid, g);
                    Piecewise::open(volume, &path).ok()
                })
            });
            let Some(c) = c else {
                sum.errors.push(format!(
                    "{path}: stream container {cid:#010x} is missing or invalid"
                ));
                continue;
            };
            match c.read_stream_map(
                entry.local_id,
                Some(entry.offset_hint),
                Some(u64::from(entry.stream_map_size)),
                &mut stored,
                &mut scratch,
            ) {
                Ok((rec, map)) if rec.hash.starts_with(entry.hash.as_bytes()) => {
                    sum.chunk_references += map.len() as u64;
                    for e in map.entries() {
                        if !data_ids.contains(&e.container_id) {
                            sum.errors.push(format!(
                                "{path}: chunk {} is in data container {:#010x}, which is not in the store (or does not verify)",
                                e.local_id, e.container_id
                            ));
                            break;
                        }
                    }
                }
                Ok(_) => sum.errors.push(format!(
                    "{path}: stream map {} does not carry the reparse point's hash",
                    entry.local_id
                )),
                Err(e) => sum.errors.push(format!("{path}: {e}")),
            }
        }
    }
    Ok(Some(sum))
}

/// Verifies every generation of every container of `store` into `sum`; only the newest
/// generation of each container counts towards the totals.
fn add_containers(
    volume: &dyn Volume,
    store: &StoreLocation,
    sum: &mut StoreSummary,
) -> Result<(), DedupError> {
    for kind in [ContainerKind::Data, ContainerKind::Stream] {
        for (id, generations) in store.containers(volume, kind)? {
            let newest = generations.last().copied();
            for &generation in &generations {
                let superseded = Some(generation) != newest;
                let c = summarize_container(volume, store, kind, id, generation, superseded);
                if let Some(e) = &c.error {
                    sum.errors.push(e.clone());
                } else if !superseded {
                    sum.redirections += c.redirections;
                    match kind {
                        ContainerKind::Data => {
                            sum.data_chunks += c.records;
                            sum.compressed_chunks += c.compressed;
                            sum.chunk_logical_bytes += c.logical_bytes;
                            sum.chunk_stored_bytes += c.stored_bytes;
                        }
                        ContainerKind::Stream => sum.stream_maps += c.records,
                    }
                }
                sum.containers.push(c);
            }
        }
    }
    Ok(())
}
