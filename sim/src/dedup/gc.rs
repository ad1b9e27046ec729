//! Garbage collection: delete unreferenced chunks by compacting containers into a new
//! generation (docs/dedup-format.md §2, MS-GC).
//!
//! 1. The live set: every file outside `\System Volume Information` whose dedup reparse point
//!    names this store; each of its stream maps (found through hint, `Rrtl` or scan, hash
//!    checked) is live, and so is every data chunk those stream maps reference. A dedup reparse
//!    point that does not parse, or a stream map that cannot be read, stops the collection
//!    before anything is deleted: nothing that might be referenced is ever removed.
//! 2. Each container (newest generation) holding unreferenced records is rewritten by
//!    [`ContainerWriter::compact`] as generation + 1 — same local ids, same stored payloads,
//!    an `Rrtl` entry for every chunk whose offset changed — and the old generation file is
//!    deleted after the new one is written. A container with no live record is deleted.
//! 3. Reparse points and stream maps are **not** rewritten: their offset hints (and the
//!    generation in stream-map entries) go stale, as on real volumes; readers open the newest
//!    generation and follow `Rrtl`.
//!
//! The `Rrtl` holds at most 508 entries in its one 4 KiB slot (how Windows lays out a bigger
//! table is unknown, docs/dedup-format.md §3.3). Compaction drops padding records as well as dead ones, so
//! every live record after the container's first append run moves; when that is more than
//! the table holds no deletion order can help, and the container is left as it is and
//! reported in [`GcReport::left_uncompacted`] — an invalid `Rrtl` is never written.

use std::collections::{HashMap, HashSet};

use dedup_reparse::{DedupReparse, IO_REPARSE_TAG_DEDUP};
use dedup_store::{Container, ContainerWriter, RecordType, RedirectionTable, WriteError};
use platform::{Access, Disposition, OpenOptions, ShareMode, Volume};

use super::piecewise::Piecewise;
use super::store::{ContainerKind, StoreLocation};
use super::{DedupError, volume_files};

/// One container rewritten into a new generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compaction {
    /// Data or stream container.
    pub kind: ContainerKind,
    /// Container id.
    pub container_id: u32,
    /// Generation before.
    pub old_generation: u32,
    /// Generation written.
    pub new_generation: u32,
    /// Records removed.
    pub removed_records: usize,
    /// Records kept.
    pub kept_records: usize,
    /// `Rrtl` entries of the new generation.
    pub redirections: usize,
    /// File size before and after.
    pub bytes_before: u64,
    /// File size after.
    pub bytes_after: u64,
}

/// What a collection did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GcReport {
    /// Files with a reparse point of this store.
    pub live_files: usize,
    /// Live stream maps.
    pub live_stream_maps: usize,
    /// Live data chunks.
    pub live_chunks: usize,
    /// Containers rewritten into a new generation.
    pub compacted: Vec<Compaction>,
    /// Containers deleted because nothing in them was referenced (`Data\name`, `Stream\name`).
    pub deleted_containers: Vec<String>,
    /// Containers with dead records left as they are, and why.
    pub left_uncompacted: Vec<(String, String)>,
    /// Data chunks deleted.
    pub chunks_deleted: usize,
    /// Stream maps deleted.
    pub stream_maps_deleted: usize,
    /// Container bytes freed.
    pub bytes_reclaimed: u64,
}

/// Live (container id, local id) pairs of stream maps and data chunks, and the number of
/// files that hold them.
struct LiveSet {
    files: usize,
    streams: HashSet<(u32, u32)>,
    data: HashSet<(u32, u32)>,
}

fn live_set(volume: &dyn Volume, store: &StoreLocation) -> Result<LiveSet, DedupError> {
    let newest_streams = store.newest(volume, ContainerKind::Stream)?;
    // Stream containers stay open (a handle and a lazily built id index each), never loaded:
    // memory does not grow with their number.
    let mut cache: HashMap<u32, Piecewise> = HashMap::new();
    let (mut stored, mut scratch) = (Vec::new(), Vec::new());
    let mut live = LiveSet {
        files: 0,
        streams: HashSet::new(),
        data: HashSet::new(),
    };
    for path in volume_files(volume)? {
        if !volume.metadata(&path)?.is_reparse_point() {
            continue;
        }
        let buf = volume.reparse_point(&path)?;
        if buf.len() < 4
            || u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) != IO_REPARSE_TAG_DEDUP
        {
            continue;
        }
        let point = DedupReparse::parse(&buf).map_err(|source| DedupError::ReparseParse {
            path: path.clone(),
            source,
        })?;
        if point.guid() != store.guid {
            continue;
        }
        live.files += 1;
        for entry in point.entries() {
            let cid = entry.container_id;
            let c = match cache.entry(cid) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let generation = *newest_streams.get(&cid).ok_or_else(|| {
                        DedupError::Store(format!(
                            "{path}: its stream container {cid:#010x} is missing"
                        ))
                    })?;
                    let path = store.container_path(ContainerKind::Stream, cid, generation);
                    v.insert(Piecewise::open(volume, &path)?)
                }
            };
            let (rec, map) = c.read_stream_map(
                entry.local_id,
                Some(entry.offset_hint),
                Some(u64::from(entry.stream_map_size)),
                &mut stored,
                &mut scratch,
            )?;
            let want = entry.hash.as_bytes();
            if rec.hash[..want.len()] != *want {
                return Err(DedupError::Store(format!(
                    "{path}: stream map {} in {} does not carry the reparse point's hash",
                    entry.local_id,
                    c.name()
                )));
            }
            live.streams.insert((cid, entry.local_id));
            for e in map.entries() {
                live.data.insert((e.container_id, e.local_id));
            }
        }
    }
    Ok(live)
}

/// How many `Rrtl` entries compacting `c` with `keep` would need: every kept record after
/// the first record that is dropped (padding included), plus every kept record that is
/// already redirected.
fn redirections_needed<T: std::ops::Deref<Target = [u8]>>(
    c: &Container<T>,
    keep: &impl Fn(u32) -> bool,
) -> Result<usize, DedupError> {
    let mut shifted = false;
    let mut n = 0;
    for rec in c.records() {
        let rec = rec?;
        if rec.record_type == RecordType::Padding || !keep(rec.local_id) {
            shifted = true;
            continue;
        }
        if shifted || c.redirection().lookup(rec.local_id).is_some() {
            n += 1;
        }
    }
    Ok(n)
}

/// Runs a garbage collection over the store on `volume` (see the module docs). `filetime` is
/// written into the new generations' headers. A volume without a store yields an empty report.
pub fn collect(volume: &dyn Volume, filetime: u64) -> Result<GcReport, DedupError> {
    let Some(store) = StoreLocation::find(volume)? else {
        return Ok(GcReport::default());
    };
    let live = live_set(volume, &store)?;
    let mut report = GcReport {
        live_files: live.files,
        live_stream_maps: live.streams.len(),
        live_chunks: live.data.len(),
        ..GcReport::default()
    };
    for kind in [ContainerKind::Stream, ContainerKind::Data] {
        let set = match kind {
            ContainerKind::Stream => &live.streams,
            ContainerKind::Data => &live.data,
        };
        for (id, generation) in store.newest(volume, kind)? {
            let c = store.load(volume, kind, id, generation)?;
            let keep = |local_id: u32| set.contains(&(id, local_id));
            let mut kept = 0usize;
            let mut dead = 0usize;
            for rec in c.records() {
                let rec = rec?;
                if rec.record_type == RecordType::Padding {
                    continue;
                }
                if keep(rec.local_id) {
                    kept += 1;
                } else {
                    dead += 1;
                }
            }
            if dead == 0 {
                continue;
            }
            let old_path = store.container_path(kind, id, generation);
            let name = format!(
                "{}\\{}",
                kind.dir_name(),
                dedup_store::container_file_name(id, generation)
            );
            let old_len = c.bytes().len() as u64;
            let count_deleted = |report: &mut GcReport| match kind {
                ContainerKind::Stream => report.stream_maps_deleted += dead,
                ContainerKind::Data => report.chunks_deleted += dead,
            };
            if kept == 0 {
                drop(c);
                volume.delete_file(&old_path)?;
                report.deleted_containers.push(name);
                report.bytes_reclaimed += old_len;
                count_deleted(&mut report);
                continue;
            }
            if generation == u32::MAX {
                report.left_uncompacted.push((
                    name,
                    "the generation cannot be bumped past 0xFFFFFFFF".into(),
                ));
                continue;
            }
            let needed = redirections_needed(&c, &keep)?;
            if needed > RedirectionTable::CAPACITY {
                report.left_uncompacted.push((
                    name,
                    format!(
                        "compaction would move {needed} chunks; the Rrtl holds {}",
                        RedirectionTable::CAPACITY
                    ),
                ));
                continue;
            }
            let (bytes, _moved) = match ContainerWriter::compact(
                &c,
                generation + 1,
                filetime,
                |r| keep(r.local_id),
            ) {
                Ok(x) => x,
                Err(WriteError::RedirectionTableFull { needed, capacity }) => {
                    report.left_uncompacted.push((
                        name,
                        format!("compaction needs {needed} Rrtl entries; {capacity} fit"),
                    ));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let new_path = store.container_path(kind, id, generation + 1);
            // Check what we are about to rely on before the old generation goes.
            let check = Container::open(new_path.to_string(), &bytes[..])?;
            let redirections = check.redirection().entries.len();
            drop(check);
            let f = volume.open(
                &new_path,
                OpenOptions::new(Access::READ_WRITE, ShareMode::READ, Disposition::CreateNew),
            )?;
            f.write_all_at(0, &bytes)?;
            f.flush()?;
            drop(f);
            drop(c);
            volume.delete_file(&old_path)?;
            report.bytes_reclaimed += old_len.saturating_sub(bytes.len() as u64);
            count_deleted(&mut report);
            report.compacted.push(Compaction {
                kind,
                container_id: id,
                old_generation: generation,
                new_generation: generation + 1,
                removed_records: dead,
                kept_records: kept,
                redirections,
                bytes_before: old_len,
                bytes_after: bytes.len() as u64,
            });
        }
    }
    Ok(report)
}
