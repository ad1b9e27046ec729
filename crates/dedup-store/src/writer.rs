//! Container writer: lays out containers the way the WS2019 sample shows Windows does.
//!
//! The writer builds the container in memory (format crates do no I/O); the caller persists
//! [`ContainerWriter::bytes`] after each [`ContainerWriter::commit`]. A caller that writes a
//! container as it grows keeps memory bounded instead: it writes
//! [`ContainerWriter::held_records`] where they belong whenever it likes (records past the
//! valid data length are ignored by readers), then [`ContainerWriter::release_held_records`]
//! lets the writer forget them, and after each commit it also writes
//! [`ContainerWriter::fixed_area`] at offset 0. The bytes are the same either way.
//!
//! What it reproduces (docs/dedup-format.md §3, CONFIRMED on the sample): three `Cthr` slots at
//! 0x0000/0x1000/0x2000, `Rrtl` tables at 0x3000 and 0x4000, records from 0x5000 each starting
//! 8-byte aligned with zero-filled gaps, each append run closed by a padding record that ends
//! on a 4 KiB boundary, the header's valid data length at that boundary.
//!
//! What is our choice where no source says (documented, not guessed silently):
//! * A new container has all three slots at USN 0, no chunks, next local id 1, VDL 0x5000.
//! * Each commit bumps the USN and writes slot 0 when it is odd and slots 1 and 2 when it is even:
//!   after two append runs this gives exactly the sample's state (slot 0 USN 1, slots 1–2 USN 2),
//!   and an older valid header always survives a torn write.
//! * Compression "when it pays": a chunk is stored Xpress-compressed when the compressed stream
//!   is strictly smaller than the logical bytes (the sample stores chunks compressed that save as
//!   little as 2 %).
//! * Stream-map records are stored uncompressed; their 16 unknown bytes are zero; their hash slot
//!   holds [`crate::hash::stream_map_hash`] unless the caller gives one.
//! * If an append run already ends on a 4 KiB boundary no padding record is written; if the gap
//!   to the boundary is smaller than a padding header, the padding runs to the next boundary.

use std::ops::Deref;

use crate::crc64::crc64;
use crate::error::WriteError;
use crate::hash::{ChunkHash, chunk_hash, stream_map_hash};
use crate::layout::{
    APPEND_ALIGN, BACKUP_REDIRECTION_OFFSET, CTHR_VERSION, Compression, ContainerHeader,
    FIRST_RECORD_OFFSET, HEADER_SLOT_OFFSETS, PRIMARY_REDIRECTION_OFFSET, RECORD_ALIGN,
    RecordHeader, RecordType, RedirectionTable, align_up,
};
use crate::reader::Container;

/// Containers are sealed at about 1 GB on Windows (docs/dedup-format.md §2, MS-ABOUT).
pub const DEFAULT_SIZE_LIMIT: u64 = 1 << 30;

/// When to compress data chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompressionPolicy {
    /// Compress, and keep the result when it is smaller (Windows' behaviour).
    #[default]
    WhenSmaller,
    /// Never compress.
    Never,
}

/// Parameters of a new container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterOptions {
    /// Container id (first file-name component).
    pub container_id: u32,
    /// Generation (second file-name component).
    pub generation: u32,
    /// Appends fail with [`WriteError::Full`] beyond this many bytes (records plus closing padding).
    pub size_limit: u64,
    /// Compression policy for data chunks.
    pub compression: CompressionPolicy,
}

impl WriterOptions {
    /// Options for container `container_id`, generation 1, default size limit, compression on.
    #[must_use]
    pub fn new(container_id: u32) -> Self {
        Self {
            container_id,
            generation: 1,
            size_limit: DEFAULT_SIZE_LIMIT,
            compression: CompressionPolicy::WhenSmaller,
        }
    }
}

/// Where an appended chunk landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendedChunk {
    /// Its local id.
    pub local_id: u32,
    /// Offset of its record.
    pub offset: u32,
    /// Stored payload size.
    pub stored_size: u32,
    /// Logical payload size.
    pub logical_size: u64,
    /// Whether it was stored compressed.
    pub compressed: bool,
    /// The hash in its record.
    pub hash: ChunkHash,
}

/// A chunk that compaction moved, for the caller's bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MovedChunk {
    /// Local id (unchanged by compaction).
    pub local_id: u32,
    /// Offset in the old generation.
    pub old_offset: u32,
    /// Offset in the new generation.
    pub new_offset: u32,
}

/// Builds one container in memory.
#[derive(Debug)]
pub struct ContainerWriter {
    /// The fixed area, then the records from offset `FIRST_RECORD_OFFSET + released` on.
    buf: Vec<u8>,
    /// Bytes of records forgotten by [`Self::release_held_records`].
    released: u64,
    header: ContainerHeader,
    redirection: RedirectionTable,
    size_limit: u64,
    policy: CompressionPolicy,
    compressor: xpress::Compressor,
    scratch: Vec<u8>,
}

impl ContainerWriter {
    /// A new, empty container (all three header slots written at USN 0).
    ///
    /// # Panics
    /// If `size_limit` leaves no room for a single record past the fixed area.
    #[must_use]
    pub fn new(opts: WriterOptions) -> Self {
        assert!(
            opts.size_limit >= u64::from(FIRST_RECORD_OFFSET + APPEND_ALIGN),
            "size limit {:#x} leaves no room for records",
            opts.size_limit
        );
        let header = ContainerHeader {
            version: CTHR_VERSION,
            usn: 0,
            container_id: opts.container_id,
            generation: opts.generation,
            chunk_count: 0,
            next_local_id: 1,
            valid_data_length: u64::from(FIRST_RECORD_OFFSET),
            last_append_filetime: 0,
            backup_redirection_offset: BACKUP_REDIRECTION_OFFSET,
            unknown_34: 0,
        };
        let mut w = Self {
            buf: vec![0u8; FIRST_RECORD_OFFSET as usize],
            released: 0,
            header,
            redirection: RedirectionTable::default(),
            size_limit: opts.size_limit,
            policy: opts.compression,
            compressor: xpress::Compressor::new(),
            scratch: Vec::new(),
        };
        for slot in 0..3 {
            w.write_slot(slot);
        }
        w.write_tables();
        w
    }

    /// The header as it will be written at the next commit.
    #[must_use]
    pub fn header(&self) -> &ContainerHeader {
        &self.header
    }

    /// The bytes so far. Records appended since the last [`commit`](Self::commit) are present
    /// but lie beyond the committed valid data length, so readers ignore them. Once records
    /// were released ([`Self::release_held_records`]) this is the fixed area followed by the
    /// records held since, not a container.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The fixed area (`0..0x5000`: header slots and redirection tables) as the last commit
    /// left it.
    #[must_use]
    pub fn fixed_area(&self) -> &[u8] {
        &self.buf[..FIRST_RECORD_OFFSET as usize]
    }

    /// The record bytes held in memory (appended since the last release) and the container
    /// offset where they start.
    #[must_use]
    pub fn held_records(&self) -> (u64, &[u8]) {
        (
            u64::from(FIRST_RECORD_OFFSET) + self.released,
            &self.buf[FIRST_RECORD_OFFSET as usize..],
        )
    }

    /// Forgets the held record bytes (the caller has written them out); appends and commits
    /// go on as before.
    pub fn release_held_records(&mut self) {
        self.released += (self.buf.len() - FIRST_RECORD_OFFSET as usize) as u64;
        self.buf.truncate(FIRST_RECORD_OFFSET as usize);
    }

    /// Where the next record would start.
    #[must_use]
    pub fn end(&self) -> u64 {
        self.buf.len() as u64 + self.released
    }

    /// Zero-fills the held bytes up to container offset `end`.
    fn grow_to(&mut self, end: u64) {
        // Records end below 4 GiB (`append_record` refuses more), so this always fits.
        let len = usize::try_from(end - self.released).expect("held bytes fit in memory");
        self.buf.resize(len, 0);
    }

    /// True when nothing was appended since the last commit.
    #[must_use]
    pub fn is_committed(&self) -> bool {
        self.end() == self.header.valid_data_length
    }

    /// Whether a record with `payload_len` bytes of payload still fits under the size limit
    /// (counting the padding that closes the run).
    #[must_use]
    pub fn fits(&self, record_type: RecordType, payload_len: usize) -> bool {
        self.needed(record_type, payload_len) <= self.size_limit
    }

    fn needed(&self, record_type: RecordType, payload_len: usize) -> u64 {
        let rec_end = align_up(
            self.end() + record_type.header_len() as u64 + payload_len as u64,
            u64::from(RECORD_ALIGN),
        );
        align_up(
            rec_end + RecordType::Padding.header_len() as u64,
            u64::from(APPEND_ALIGN),
        )
    }

    /// Appends a data chunk, compressing it when that pays. The hash is computed here.
    pub fn append_data_chunk(&mut self, logical: &[u8]) -> Result<AppendedChunk, WriteError> {
        let hash = chunk_hash(logical);
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let compressed = match self.policy {
            CompressionPolicy::WhenSmaller if !logical.is_empty() => {
                self.compressor.compress(logical, &mut scratch);
                scratch.len() < logical.len()
            }
            _ => false,
        };
        let (payload, compression) = if compressed {
            (&scratch[..], Compression::Xpress)
        } else {
            (logical, Compression::Stored)
        };
        let local_id = self.header.next_local_id;
        let r = self.append_record(RecordType::Data, local_id, payload, compression, hash, None);
        let r = r.map(|offset| AppendedChunk {
            local_id,
            offset,
            stored_size: payload.len() as u32,
            logical_size: logical.len() as u64,
            compressed,
            hash,
        });
        self.scratch = scratch;
        r
    }

    /// Appends a data chunk whose stored form is already known: `stored` is the payload as it is
    /// to be written (compressed with `compression` when that is not `Stored`), `hash` the hash
    /// of its logical bytes, `logical_size` their length. Used to copy chunks between stores
    /// and to rebuild containers byte for byte; nothing is checked here, the reader checks.
    pub fn append_raw_chunk(
        &mut self,
        stored: &[u8],
        compression: Compression,
        hash: ChunkHash,
        logical_size: u64,
    ) -> Result<AppendedChunk, WriteError> {
        let local_id = self.header.next_local_id;
        let offset =
            self.append_record(RecordType::Data, local_id, stored, compression, hash, None)?;
        Ok(AppendedChunk {
            local_id,
            offset,
            stored_size: stored.len() as u32,
            logical_size,
            compressed: compression != Compression::Stored,
            hash,
        })
    }

    /// Appends a stream-map record holding `smap_payload` (an encoded [`crate::StreamMap`]).
    /// `hash` defaults to [`stream_map_hash`] of the payload.
    pub fn append_stream_map(
        &mut self,
        smap_payload: &[u8],
        hash: Option<ChunkHash>,
    ) -> Result<AppendedChunk, WriteError> {
        let hash = hash.unwrap_or_else(|| stream_map_hash(smap_payload));
        let local_id = self.header.next_local_id;
        let offset = self.append_record(
            RecordType::StreamMap,
            local_id,
            smap_payload,
            Compression::Stored,
            hash,
            None,
        )?;
        Ok(AppendedChunk {
            local_id,
            offset,
            stored_size: smap_payload.len() as u32,
            logical_size: smap_payload.len() as u64,
            compressed: false,
            hash,
        })
    }

    fn append_record(
        &mut self,
        record_type: RecordType,
        local_id: u32,
        payload: &[u8],
        compression: Compression,
        hash: ChunkHash,
        payload_crc: Option<u64>,
    ) -> Result<u32, WriteError> {
        let stored_size = u32::try_from(payload.len())
            .map_err(|_| WriteError::PayloadTooLarge { len: payload.len() })?;
        let needed = self.needed(record_type, payload.len());
        if needed > self.size_limit || needed > u64::from(u32::MAX) {
            return Err(WriteError::Full {
                container_id: self.header.container_id,
                generation: self.header.generation,
                vdl: self.end(),
                needed: needed - self.end(),
                limit: self.size_limit,
            });
        }
        if local_id == u32::MAX {
            return Err(WriteError::LocalIdsExhausted {
                container_id: self.header.container_id,
            });
        }
        let offset = self.end() as u32;
        let rec = RecordHeader {
            offset,
            record_type,
            local_id,
            stored_size,
            unknown_14: [8, 8, 8],
            compression,
            compression_copy: compression.code(),
            stream_extra: [0; 16],
            hash,
            payload_crc: payload_crc.unwrap_or_else(|| crc64(payload)),
            header_crc: 0,
        };
        self.buf.extend_from_slice(&rec.encode());
        self.buf.extend_from_slice(payload);
        self.grow_to(align_up(self.end(), u64::from(RECORD_ALIGN)));
        self.header.chunk_count += 1;
        self.header.next_local_id = self.header.next_local_id.max(local_id + 1);
        Ok(offset)
    }

    /// Records that `local_id` now lives at `offset` (compaction). Entries stay sorted.
    pub fn add_redirection(&mut self, local_id: u32, offset: u32) -> Result<(), WriteError> {
        match self
            .redirection
            .entries
            .binary_search_by_key(&local_id, |e| e.0)
        {
            Ok(i) => self.redirection.entries[i].1 = offset,
            Err(i) => {
                if self.redirection.entries.len() >= RedirectionTable::CAPACITY {
                    return Err(WriteError::RedirectionTableFull {
                        needed: self.redirection.entries.len() + 1,
                        capacity: RedirectionTable::CAPACITY,
                    });
                }
                self.redirection.entries.insert(i, (local_id, offset));
            }
        }
        Ok(())
    }

    /// Closes the current append run: a padding record up to the next 4 KiB boundary, a new
    /// USN, the valid data length, the header slot(s) and both redirection tables.
    /// `filetime` (100 ns since 1601) is stored as the time of the last append. Nothing happens
    /// when nothing was appended and the tables did not change.
    pub fn commit(&mut self, filetime: u64) {
        let end = self.end();
        if !end.is_multiple_of(u64::from(APPEND_ALIGN)) {
            let mut gap = align_up(end, u64::from(APPEND_ALIGN)) - end;
            let pad_header = RecordType::Padding.header_len() as u64;
            if gap < pad_header {
                gap += u64::from(APPEND_ALIGN);
            }
            let size = (gap - pad_header) as u32;
            let rec = RecordHeader {
                offset: end as u32,
                record_type: RecordType::Padding,
                local_id: 0,
                stored_size: size,
                unknown_14: [8, 8, 8],
                compression: Compression::Stored,
                compression_copy: 0,
                stream_extra: [0; 16],
                hash: [0; 32],
                payload_crc: u64::MAX,
                header_crc: 0,
            };
            self.buf.extend_from_slice(&rec.encode());
            self.grow_to(end + gap);
        }
        self.header.valid_data_length = self.end();
        self.header.usn += 1;
        self.header.last_append_filetime = filetime;
        if self.header.usn % 2 == 1 {
            self.write_slot(0);
        } else {
            self.write_slot(1);
            self.write_slot(2);
        }
        self.write_tables();
    }

    /// Commits and returns the finished container bytes (once records were released, the
    /// fixed area and the records held since: see [`Self::bytes`]).
    #[must_use]
    pub fn finish(mut self, filetime: u64) -> Vec<u8> {
        if !self.is_committed() {
            self.commit(filetime);
        }
        self.buf
    }

    fn write_slot(&mut self, slot: usize) {
        let at = HEADER_SLOT_OFFSETS[slot] as usize;
        self.buf[at..at + ContainerHeader::SIZE].copy_from_slice(&self.header.encode());
    }

    fn write_tables(&mut self) {
        let table = self.redirection.encode();
        for at in [PRIMARY_REDIRECTION_OFFSET, BACKUP_REDIRECTION_OFFSET] {
            let at = at as usize;
            self.buf[at..at + table.len()].copy_from_slice(&table);
        }
    }

    /// Garbage-collection compaction: writes a new generation of `src` holding only the chunk
    /// records `keep` accepts, with their local ids, stored payloads and hashes unchanged, and a
    /// redirection table entry for every kept chunk whose offset changed or that was already
    /// redirected (so offset hints written before any compaction still resolve).
    pub fn compact<T: Deref<Target = [u8]>>(
        src: &Container<T>,
        new_generation: u32,
        filetime: u64,
        mut keep: impl FnMut(&RecordHeader) -> bool,
    ) -> Result<(Vec<u8>, Vec<MovedChunk>), WriteError> {
        let h = src.header();
        let mut w = Self::new(WriterOptions {
            container_id: h.container_id,
            generation: new_generation,
            size_limit: src
                .valid_data_length()
                .max(u64::from(FIRST_RECORD_OFFSET + APPEND_ALIGN)),
            compression: CompressionPolicy::Never,
        });
        let mut moved = Vec::new();
        for rec in src.records() {
            let rec = rec?;
            if rec.record_type == RecordType::Padding || !keep(&rec) {
                continue;
            }
            src.verify_payload_crc(&rec)?;
            let payload = src.stored_payload(&rec);
            let new_offset = w.append_record(
                rec.record_type,
                rec.local_id,
                payload,
                rec.compression,
                rec.hash,
                Some(rec.payload_crc),
            )?;
            let was_redirected = src.redirection().lookup(rec.local_id).is_some();
            if new_offset != rec.offset || was_redirected {
                w.add_redirection(rec.local_id, new_offset)?;
                moved.push(MovedChunk {
                    local_id: rec.local_id,
                    old_offset: rec.offset,
                    new_offset,
                });
            }
        }
        w.header.next_local_id = h.next_local_id.max(w.header.next_local_id);
        Ok((w.finish(filetime), moved))
    }
}
