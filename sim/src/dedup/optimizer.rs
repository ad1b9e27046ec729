//! The optimizer's run: the chunk index of the store, the open data and stream containers,
//! and one file at a time turned into a dedup stub (see the module docs of [`super`]).
//!
//! Memory is bounded whatever the files hold: a file is read [`READ_WINDOW`] bytes at a time
//! and cut into the same chunks as if whole ([`chunker::final_chunk_ends`]), and a container's
//! records are written to the volume and forgotten once [`FLUSH_AT`] bytes of them are held
//! (records past the committed valid data length are invisible to readers, so this changes no
//! byte of the result). What grows with the input is the chunk index (one entry per unique
//! chunk) and a file's stream map (one entry per chunk of the file), as on Windows.

use std::collections::HashMap;

use dedup_reparse::{DedupReparse, FileTime, LayoutVersion, ReferenceEntry, StreamMapHash};
use dedup_store::{
    ChunkHash, Compression, CompressionPolicy, ContainerWriter, RecordType, SmapEntry, StreamMap,
    WriteError, WriterOptions, chunk_hash, stream_map_hash,
};
use platform::{Access, Disposition, FileHandle, OpenOptions, ShareMode, Volume, WinPath, attr};
use rayon::prelude::*;

use super::{
    ContainerKind, DedupError, FileOutcome, MIN_CONTAINER_SIZE, OptimizeOptions, OptimizeReport,
    SkipReason, StoreLocation, chunker, store, store_guid_for_seed,
};

/// Bytes of a file read at a time (raised to twice the largest chunk when that is more).
const READ_WINDOW: usize = 8 << 20;

/// Record bytes a container writer holds before they are written out and forgotten.
const FLUSH_AT: usize = 1 << 20;

/// Where a stored chunk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ChunkLoc {
    container_id: u32,
    generation: u32,
    local_id: u32,
    offset: u32,
    stored_size: u32,
}

/// A container being appended to.
struct OpenContainer {
    kind: ContainerKind,
    writer: ContainerWriter,
    /// Whether it was committed to the volume (and listed in the report) yet.
    committed_once: bool,
    records: u32,
}

/// The optimizer's state for one run.
pub(super) struct Run<'v> {
    volume: &'v dyn Volume,
    store: StoreLocation,
    opts: OptimizeOptions,
    index: HashMap<ChunkHash, ChunkLoc>,
    data: Option<OpenContainer>,
    stream: Option<OpenContainer>,
    next_data_id: u32,
    next_stream_id: u32,
    /// What the run did so far.
    pub(super) report: OptimizeReport,
}

impl<'v> Run<'v> {
    /// Checks the options, opens the store of `volume` (creates one, its GUID from `seed`, when
    /// there is none) and indexes the chunks already in it.
    pub(super) fn open(
        volume: &'v dyn Volume,
        seed: u64,
        opts: &OptimizeOptions,
    ) -> Result<Self, DedupError> {
        if !opts.chunker.is_valid() {
            return Err(DedupError::Options(format!(
                "chunk sizes {:?} are not 0 < min < avg < max",
                opts.chunker
            )));
        }
        let biggest = dedup_store::FIRST_RECORD_OFFSET as usize
            + 2 * RecordType::Data.header_len()
            + opts.chunker.max
            + 2 * dedup_store::APPEND_ALIGN as usize;
        if opts.container_size < MIN_CONTAINER_SIZE.max(biggest as u64) {
            return Err(DedupError::Options(format!(
                "container size {} is below the minimum {}",
                opts.container_size,
                MIN_CONTAINER_SIZE.max(biggest as u64)
            )));
        }
        if opts.max_records == 0 {
            return Err(DedupError::Options("max_records must be at least 1".into()));
        }
        let store = if let Some(s) = StoreLocation::find(volume)? {
            s
        } else {
            let s = StoreLocation {
                guid: store_guid_for_seed(seed),
            };
            volume.create_dir_all(&s.dir(ContainerKind::Data))?;
            volume.create_dir_all(&s.dir(ContainerKind::Stream))?;
            s
        };
        // Index every chunk already stored (newest generation of each data container).
        let mut index = HashMap::new();
        let data = store.newest(volume, ContainerKind::Data)?;
        for (&id, &generation) in &data {
            let c = store.load(volume, ContainerKind::Data, id, generation)?;
            for rec in c.records() {
                let rec = rec?;
                if rec.record_type == RecordType::Data {
                    index.entry(rec.hash).or_insert(ChunkLoc {
                        container_id: id,
                        generation,
                        local_id: rec.local_id,
                        offset: rec.offset,
                        stored_size: rec.stored_size,
                    });
                }
            }
        }
        let streams = store.newest(volume, ContainerKind::Stream)?;
        let next_data_id = data
            .keys()
            .next_back()
            .map_or(store::FIRST_DATA_CONTAINER, |&id| id + 1);
        let next_stream_id = streams
            .keys()
            .next_back()
            .map_or(store::FIRST_STREAM_CONTAINER, |&id| {
                id + store::STREAM_CONTAINER_STEP
            });
        Ok(Self {
            volume,
            store,
            opts: opts.clone(),
            index,
            data: None,
            stream: None,
            next_data_id,
            next_stream_id,
            report: OptimizeReport {
                store_guid: store.guid,
                ..OptimizeReport::default()
            },
        })
    }

    fn new_container(&mut self, kind: ContainerKind) -> OpenContainer {
        let id = match kind {
            ContainerKind::Data => {
                let id = self.next_data_id;
                self.next_data_id += 1;
                id
            }
            ContainerKind::Stream => {
                let id = self.next_stream_id;
                self.next_stream_id += store::STREAM_CONTAINER_STEP;
                id
            }
        };
        OpenContainer {
            kind,
            writer: ContainerWriter::new(WriterOptions {
                container_id: id,
                generation: 1,
                size_limit: self.opts.container_size,
                compression: self.opts.compression,
            }),
            committed_once: false,
            records: 0,
        }
    }

    /// Writes the record bytes the writer holds to the volume and lets it forget them.
    fn write_held(&self, c: &mut OpenContainer) -> Result<(), DedupError> {
        let (at, held) = c.writer.held_records();
        if !held.is_empty() {
            let h = c.writer.header();
            let path = self
                .store
                .container_path(c.kind, h.container_id, h.generation);
            let f = self.volume.open(
                &path,
                OpenOptions::new(Access::READ_WRITE, ShareMode::READ, Disposition::OpenAlways),
            )?;
            f.write_all_at(at, held)?;
        }
        c.writer.release_held_records();
        Ok(())
    }

    /// Writes what the volume does not have yet of a committed container: the records
    /// appended since they were last written out, then the fixed area (header slots and tables
    /// change at every commit).
    fn persist(&mut self, c: &mut OpenContainer) -> Result<(), DedupError> {
        self.write_held(c)?;
        let h = c.writer.header();
        let path = self
            .store
            .container_path(c.kind, h.container_id, h.generation);
        let f = self.volume.open(
            &path,
            OpenOptions::new(Access::READ_WRITE, ShareMode::READ, Disposition::OpenAlways),
        )?;
        f.write_all_at(0, c.writer.fixed_area())?;
        if !c.committed_once {
            c.committed_once = true;
            let name = format!(
                "{}\\{}",
                c.kind.dir_name(),
                dedup_store::container_file_name(h.container_id, h.generation)
            );
            self.report.containers_written.push(name);
        }
        Ok(())
    }

    fn commit(&mut self, kind: ContainerKind) -> Result<(), DedupError> {
        let slot = match kind {
            ContainerKind::Data => self.data.take(),
            ContainerKind::Stream => self.stream.take(),
        };
        let Some(mut c) = slot else { return Ok(()) };
        if !c.writer.is_committed() {
            c.writer.commit(self.volume_now());
            self.persist(&mut c)?;
        }
        match kind {
            ContainerKind::Data => self.data = Some(c),
            ContainerKind::Stream => self.stream = Some(c),
        }
        Ok(())
    }

    fn volume_now(&self) -> u64 {
        // A fixed step per commit keeps runs deterministic without a clock on `dyn Volume`.
        let n = self.report.stream_maps + self.report.new_chunks;
        133_485_408_000_000_000 + n * 10_000_000
    }

    /// Appends a record, sealing the open container and starting the next one when it is full.
    fn append(
        &mut self,
        kind: ContainerKind,
        mut op: impl FnMut(&mut ContainerWriter) -> Result<dedup_store::AppendedChunk, WriteError>,
    ) -> Result<(u32, u32, dedup_store::AppendedChunk), DedupError> {
        let mut fresh = false;
        loop {
            let mut c = match kind {
                ContainerKind::Data => self.data.take(),
                ContainerKind::Stream => self.stream.take(),
            }
            .unwrap_or_else(|| {
                fresh = true;
                self.new_container(kind)
            });
            let result = if c.records >= self.opts.max_records {
                Err(None)
            } else {
                op(&mut c.writer).map_err(Some)
            };
            match result {
                Ok(a) => {
                    c.records += 1;
                    if c.writer.held_records().1.len() >= FLUSH_AT {
                        self.write_held(&mut c)?;
                    }
                    let (id, generation) = (c.writer.header().container_id, 1);
                    match kind {
                        ContainerKind::Data => self.data = Some(c),
                        ContainerKind::Stream => self.stream = Some(c),
                    }
                    return Ok((id, generation, a));
                }
                Err(None | Some(WriteError::Full { .. })) if !fresh || c.records > 0 => {
                    // Seal: commit what it holds and leave it.
                    if !c.writer.is_committed() {
                        c.writer.commit(self.volume_now());
                        self.persist(&mut c)?;
                    }
                    fresh = false;
                }
                Err(Some(e)) => return Err(e.into()),
                Err(None) => unreachable!("a fresh container has no records"),
            }
        }
    }

    /// Optimizes one file: reads it, stores the chunks the store lacks, writes its stream map
    /// and turns the file into a dedup stub. Files that are empty, too small, already reparse
    /// points or in use are skipped.
    pub(super) fn optimize_file(&mut self, path: &WinPath) -> Result<FileOutcome, DedupError> {
        let md = self.volume.metadata(path)?;
        let mut outcome = FileOutcome {
            path: path.clone(),
            size: md.len,
            skipped: None,
            chunks: 0,
        };
        let skip = if md.len == 0 {
            Some(SkipReason::Empty)
        } else if md.len < self.opts.min_file_size {
            Some(SkipReason::TooSmall)
        } else if md.is_reparse_point() {
            Some(SkipReason::ReparsePoint)
        } else {
            None
        };
        if skip.is_some() {
            outcome.skipped = skip;
            return Ok(outcome);
        }
        let file = match self.volume.open(
            path,
            OpenOptions::new(
                Access::READ_WRITE,
                ShareMode::NONE,
                Disposition::OpenExisting,
            ),
        ) {
            Ok(f) => f,
            Err(
                platform::Error::SharingViolation { .. } | platform::Error::AccessDenied { .. },
            ) => {
                outcome.skipped = Some(SkipReason::InUse);
                return Ok(outcome);
            }
            Err(e) => return Err(e.into()),
        };
        let size = file.len()?;
        let chunks = self.store_file_chunks(file.as_ref(), size)?;
        let entry = self.write_stream_map(&chunks, size)?;
        self.make_stub(file.as_ref(), size, entry)?;

        self.report.stream_maps += 1;
        self.report.chunk_refs += chunks.len() as u64;
        self.report.logical_bytes += size;
        outcome.chunks = chunks.len();
        Ok(outcome)
    }

    /// Reads `file` (`size` bytes) window by window, cuts it into the chunks
    /// [`chunker::chunk_ends`] would cut the whole of it into, and stores those the store lacks
    /// (in order of first occurrence, as for the whole file at once). Returns every chunk's end
    /// offset and hash.
    fn store_file_chunks(
        &mut self,
        file: &dyn FileHandle,
        size: u64,
    ) -> Result<Vec<(u64, ChunkHash)>, DedupError> {
        let window = READ_WINDOW.max(2 * self.opts.chunker.max);
        let mut buf: Vec<u8> = Vec::new();
        // File offsets of `buf[0]` and of the first byte not read yet.
        let (mut base, mut read_to) = (0u64, 0u64);
        let mut chunks = Vec::new();
        loop {
            let want = ((window - buf.len()) as u64).min(size - read_to);
            if want > 0 {
                let old = buf.len();
                buf.resize(old + want as usize, 0);
                file.read_exact_at(read_to, &mut buf[old..])?;
                read_to += want;
            }
            let at_end = read_to == size;
            let ends = chunker::final_chunk_ends(&buf, &self.opts.chunker, at_end);
            let ranges: Vec<(usize, usize)> = ends
                .iter()
                .scan(0usize, |start, &end| {
                    let r = (*start, end);
                    *start = end;
                    Some(r)
                })
                .collect();
            let hashes: Vec<ChunkHash> = ranges
                .par_iter()
                .map(|&(s, e)| chunk_hash(&buf[s..e]))
                .collect();
            self.store_new_chunks(&buf, &ranges, &hashes)?;
            chunks.extend(
                ranges
                    .iter()
                    .zip(&hashes)
                    .map(|(&(_, end), h)| (base + end as u64, *h)),
            );
            let used = ends.last().copied().unwrap_or(0);
            buf.drain(..used);
            base += used as u64;
            if at_end {
                return Ok(chunks);
            }
        }
    }

    /// Stores the chunks of `content` (at `ranges`, with `hashes`) that the store lacks, each
    /// once (its first occurrence), compressed in parallel where that makes it smaller.
    fn store_new_chunks(
        &mut self,
        content: &[u8],
        ranges: &[(usize, usize)],
        hashes: &[ChunkHash],
    ) -> Result<(), DedupError> {
        // New chunks (first occurrence in this file of a hash the store lacks).
        let mut first_new: HashMap<ChunkHash, usize> = HashMap::new();
        let mut new_idx = Vec::new();
        for (i, h) in hashes.iter().enumerate() {
            if !self.index.contains_key(h) && !first_new.contains_key(h) {
                first_new.insert(*h, i);
                new_idx.push(i);
            }
        }
        let policy = self.opts.compression;
        let compressed: Vec<Option<Vec<u8>>> = new_idx
            .par_iter()
            .map_init(xpress::Compressor::new, |comp, &i| {
                let (s, e) = ranges[i];
                let logical = &content[s..e];
                if policy == CompressionPolicy::Never {
                    return None;
                }
                let mut out = Vec::new();
                comp.compress(logical, &mut out);
                (out.len() < logical.len()).then_some(out)
            })
            .collect();
        for (&i, packed) in new_idx.iter().zip(&compressed) {
            let (s, e) = ranges[i];
            let logical = &content[s..e];
            let hash = hashes[i];
            let (stored, compression) = match packed {
                Some(p) => (&p[..], Compression::Xpress),
                None => (logical, Compression::Stored),
            };
            let (container_id, generation, a) = self.append(ContainerKind::Data, |w| {
                w.append_raw_chunk(stored, compression, hash, logical.len() as u64)
            })?;
            self.index.insert(
                hash,
                ChunkLoc {
                    container_id,
                    generation,
                    local_id: a.local_id,
                    offset: a.offset,
                    stored_size: a.stored_size,
                },
            );
            self.report.new_chunks += 1;
            self.report.unique_bytes += logical.len() as u64;
            self.report.stored_bytes += u64::from(a.stored_size);
            if a.compressed {
                self.report.compressed_chunks += 1;
            }
        }
        Ok(())
    }

    /// Writes the stream map of a file of `size` bytes (its chunks' end offsets and hashes,
    /// all in the store), commits both containers and returns the reference entry its
    /// reparse point carries.
    fn write_stream_map(
        &mut self,
        chunks: &[(u64, ChunkHash)],
        size: u64,
    ) -> Result<ReferenceEntry, DedupError> {
        let entries: Vec<SmapEntry> = chunks
            .iter()
            .map(|&(end, ref h)| {
                let loc = self.index[h];
                SmapEntry {
                    local_id: loc.local_id,
                    container_id: loc.container_id,
                    offset_hint: loc.offset,
                    generation: loc.generation,
                    end,
                    hash: *h,
                    stored_size: loc.stored_size,
                    unknown_3c: 0,
                }
            })
            .collect();
        let map = StreamMap {
            entries,
            ..StreamMap::default()
        };
        let payload = map.encode();
        let smap_hash = stream_map_hash(&payload);
        let (stream_id, _, smap) = self.append(ContainerKind::Stream, |w| {
            w.append_stream_map(&payload, Some(smap_hash))
        })?;
        self.commit(ContainerKind::Data)?;
        self.commit(ContainerKind::Stream)?;

        let hash = match self.opts.reparse_version {
            LayoutVersion::V1 => StreamMapHash::Long(smap_hash),
            LayoutVersion::V2 | LayoutVersion::V3 => {
                let mut h = [0u8; 16];
                h.copy_from_slice(&smap_hash[..16]);
                StreamMapHash::Short(h)
            }
        };
        Ok(ReferenceEntry::new(
            smap.local_id,
            stream_id,
            smap.offset,
            payload.len() as u32,
            hash,
            0..size,
        ))
    }

    /// Turns `file` into a dedup stub: the reparse point, then sparse and emptied to its
    /// length, keeping its settable attributes.
    fn make_stub(
        &self,
        file: &dyn FileHandle,
        size: u64,
        entry: ReferenceEntry,
    ) -> Result<(), DedupError> {
        let point = DedupReparse::new(
            self.opts.reparse_version,
            self.store.guid,
            size,
            entry,
            FileTime(self.volume_now()),
        )?;
        let buffer = point.to_buffer()?;
        let keep = file.attributes()? & attr::SETTABLE & !attr::NORMAL;
        file.set_reparse_point(&buffer)?;
        file.set_sparse(true)?;
        file.set_len(0)?;
        file.set_len(size)?;
        file.set_attributes(keep | attr::ARCHIVE)?;
        file.flush()?;
        Ok(())
    }

    /// Commits what is open and returns the report.
    pub(super) fn finish(mut self) -> Result<OptimizeReport, DedupError> {
        self.commit(ContainerKind::Data)?;
        self.commit(ContainerKind::Stream)?;
        Ok(self.report)
    }
}
