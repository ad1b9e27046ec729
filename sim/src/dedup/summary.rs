//! The chunk-store summary of `rehydrate inspect store` and `sim optimize`: every container
//! verified record by record, and every dedup file's stream map resolved. It reads through
//! [`platform::Source`], so a host folder, the simulator and a disk image give the same report.

use std::collections::{HashMap, HashSet};

use dedup_reparse::Guid;
use platform::{EntryKind, Source, Unsupported, Volume, VolumeSource, WinPath};

use super::DedupError;
use super::piecewise::Piecewise;
use super::store::{ContainerKind, StoreLocation, list_source};

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
    source: &dyn Source,
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
    let c = match Piecewise::open_source(source, &path) {
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

/// Summarises the chunk store on `volume` (see [`summarize_source`]).
pub fn summarize<V: Volume + Clone + 'static>(
    volume: &V,
) -> Result<Option<StoreSummary>, DedupError> {
    summarize_source(&VolumeSource::new(volume.clone(), "volume"))
}

/// Summarises the chunk store of `source` (`None` when it has none): every container file
/// opened and every record verified (header and payload CRC-64, decompression, chunk hash);
/// every file outside `\System Volume Information` with a dedup reparse point of this store
/// counted, its stream map read (hint, `Rrtl`, scan) and its chunk references counted.
/// Problems do not stop the walk; they are listed in [`StoreSummary::errors`].
///
/// Containers are read piecewise ([`Piecewise`]): one record at a time, so memory stays bounded
/// whatever size a container has or claims. The walk holds one folder's listing at a time.
pub fn summarize_source(source: &dyn Source) -> Result<Option<StoreSummary>, DedupError> {
    let Some(store) = StoreLocation::find_in_source(source)? else {
        return Ok(None);
    };
    let mut sum = StoreSummary {
        guid: store.guid,
        ..StoreSummary::default()
    };
    add_containers(source, &store, &mut sum)?;
    let newest_streams: HashMap<u32, u32> = store
        .containers_in_source(source, ContainerKind::Stream)?
        .into_iter()
        .filter_map(|(id, g)| g.last().map(|&g| (id, g)))
        .collect();
    let mut stubs = Stubs {
        source,
        store,
        newest_streams,
        // Data containers a stream map may name: present in their newest generation and
        // verified.
        data_ids: sum
            .containers
            .iter()
            .filter(|c| c.kind == ContainerKind::Data && !c.superseded && c.error.is_none())
            .map(|c| c.container_id)
            .collect(),
        cache: HashMap::new(),
        stored: Vec::new(),
        scratch: Vec::new(),
    };
    let mut stack = vec![WinPath::root()];
    while let Some(dir) = stack.pop() {
        let Some(listing) = list_source(source, &dir)? else {
            continue;
        };
        let mut subdirs = Vec::new();
        for e in listing {
            let path = dir.join(&e.name)?;
            if super::is_system_path(&path) {
                continue;
            }
            match (&e.kind, e.reparse) {
                (EntryKind::Dir, _) => subdirs.push(path),
                (EntryKind::File, Some(buf)) => stubs.add(&path, &buf, &mut sum),
                // Its reparse point could not be read: a stub the store cannot be checked for.
                (
                    EntryKind::Unsupported(Unsupported::Unreadable {
                        what: what @ "reading the reparse point",
                        message,
                    }),
                    _,
                ) => sum.errors.push(format!("{path}: {what}: {message}")),
                // A plain file, a link (never followed) or an entry no restore can read: not
                // a file of the store.
                _ => {}
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(Some(sum))
}

/// What [`summarize_source`] checks each dedup file against, and the stream containers it
/// has open (a handle and a lazily built id index each, never loaded).
struct Stubs<'s> {
    source: &'s dyn Source,
    store: StoreLocation,
    newest_streams: HashMap<u32, u32>,
    data_ids: HashSet<u32>,
    cache: HashMap<u32, Option<Piecewise>>,
    stored: Vec<u8>,
    scratch: Vec<u8>,
}

impl Stubs<'_> {
    /// Counts the file at `path` with the reparse buffer `buf` into `sum`.
    fn add(&mut self, path: &WinPath, buf: &[u8], sum: &mut StoreSummary) {
        // Reparse data that is not a dedup reparse point (another filter's tag, a damaged
        // tag, a buffer too short for one): the file's data stream is a placeholder.
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
            return;
        }
        let point = match dedup_reparse::DedupReparse::parse(buf) {
            Ok(p) => p,
            Err(e) => {
                sum.errors.push(format!("{path}: reparse point: {e}"));
                return;
            }
        };
        if point.guid() != self.store.guid {
            return;
        }
        sum.optimized_files += 1;
        sum.optimized_logical_bytes += point.logical_size();
        for entry in point.entries() {
            let cid = entry.container_id;
            let (source, store, newest) = (self.source, &self.store, &self.newest_streams);
            let c = self.cache.entry(cid).or_insert_with(|| {
                newest.get(&cid).and_then(|&g| {
                    let p = store.container_path(ContainerKind::Stream, cid, g);
                    Piecewise::open_source(source, &p).ok()
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
                &mut self.stored,
                &mut self.scratch,
            ) {
                Ok((rec, map)) if rec.hash.starts_with(entry.hash.as_bytes()) => {
                    sum.chunk_references += map.len() as u64;
                    if let Some(e) = map
                        .entries()
                        .find(|e| !self.data_ids.contains(&e.container_id))
                    {
                        sum.errors.push(format!(
                            "{path}: chunk {} is in data container {:#010x}, which is not in the store (or does not verify)",
                            e.local_id, e.container_id
                        ));
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
}

/// Verifies every generation of every container of `store` into `sum`; only the newest
/// generation of each container counts towards the totals.
fn add_containers(
    source: &dyn Source,
    store: &StoreLocation,
    sum: &mut StoreSummary,
) -> Result<(), DedupError> {
    for kind in [ContainerKind::Data, ContainerKind::Stream] {
        for (id, generations) in store.containers_in_source(source, kind)? {
            let newest = generations.last().copied();
            for &generation in &generations {
                let superseded = Some(generation) != newest;
                let c = summarize_container(source, store, kind, id, generation, superseded);
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
