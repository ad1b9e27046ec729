//! Zero-copy container reader.
//!
//! [`Container::open`] validates the three `Cthr` slots and the `Rrtl` tables up front
//! (docs/dedup-format.md §3.1–§3.3); afterwards every accessor computes offsets into the borrowed
//! bytes. The bytes can be anything that derefs to `[u8]`: a `Vec<u8>`, a `bytes::Bytes`, a
//! `memmap2::Mmap`.

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use crate::error::ContainerError;
use crate::layout::{
    CKHR_MAGIC, ContainerHeader, FIRST_RECORD_OFFSET, RECORD_ALIGN, RecordHeader, RecordType,
    RedirectionTable,
};
use crate::smap::StreamMapRef;

mod fixed;
mod payload;
mod record;

pub use fixed::FixedArea;
pub use payload::{
    check_chunk_hash, decode_payload, decode_unhashed, verify_hash, verify_payload_crc,
};
use record::parse_record;
pub use record::parse_record_header;

/// Logical chunks are at most 128 KiB on every observed volume (docs/dedup-format.md §4.1); a
/// decoder without a known logical size starts with this much room and grows on overrun.
pub const TYPICAL_MAX_CHUNK: usize = 0x2_0000;

/// When the payload CRC-64 of a record (docs/dedup-format.md §4.2, `Ckhr` +0x48) is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayloadCrc {
    /// Before every decode: a damaged stored payload is reported as a CRC mismatch whatever it
    /// decodes to. What a health check of the store wants.
    #[default]
    Always,
    /// For data chunks whose hash is checked ([`ReadOptions::verify_hash`]): only when the
    /// decode, the size or the hash check fails, to report the fault as a damaged stored payload
    /// when it is one (the same error as with `Always`). A chunk that decodes to bytes with the
    /// right SHA-512 hash is then accepted without it, which saves a pass over every stored
    /// byte; the only damage it lets through is to stored bytes the decoder never uses (unused
    /// flag bits after an Xpress stream's last token), which leaves the restored bytes exact.
    /// Stream maps and unhashed reads are still checked first.
    OnFailure,
}

/// What the reader checks and how much it may allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Check the chunk hash (SHA-512 prefix) of data chunks.
    pub verify_hash: bool,
    /// When the payload CRC-64 is computed (it always is for stream maps and when the hash is
    /// not checked).
    pub payload_crc: PayloadCrc,
    /// Upper bound for a logical payload when its size is not known (decode buffer growth cap).
    pub max_logical_len: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            verify_hash: true,
            payload_crc: PayloadCrc::Always,
            max_logical_len: 64 << 20,
        }
    }
}

/// How a record was found by [`Container::find_record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Located {
    /// At the offset hint the caller gave.
    Hint,
    /// Through the container's `Rrtl` redirection table.
    Redirection,
    /// By walking every record.
    Scan,
}

/// The outcome of checking one header slot.
#[derive(Debug, Clone)]
pub struct SlotReport {
    /// Offset of the slot.
    pub offset: u32,
    /// The decoded header, or why the slot is not valid.
    pub status: Result<ContainerHeader, ContainerError>,
}

/// The outcome of checking one redirection table.
#[derive(Debug, Clone)]
pub struct TableReport {
    /// Offset of the table.
    pub offset: u32,
    /// The decoded table, or why it is not valid.
    pub status: Result<RedirectionTable, ContainerError>,
}

/// A validated container over borrowed bytes.
#[derive(Debug)]
pub struct Container<T: Deref<Target = [u8]>> {
    data: T,
    name: Arc<str>,
    header: ContainerHeader,
    slot: usize,
    slots: [SlotReport; 3],
    tables: [TableReport; 2],
    redirection: RedirectionTable,
    index: OnceLock<Vec<(u32, u32)>>,
}

impl<T: Deref<Target = [u8]>> Container<T> {
    /// Validates the fixed area and returns a reader. `name` (usually the file path) appears in
    /// every error.
    pub fn open(name: impl Into<Arc<str>>, data: T) -> Result<Self, ContainerError> {
        let name: Arc<str> = name.into();
        let bytes: &[u8] = &data;
        let len = bytes.len() as u64;
        let FixedArea {
            header,
            chosen_slot: slot,
            slots,
            tables,
            redirection,
        } = FixedArea::parse(&name, bytes)?;
        let vdl = header.valid_data_length;
        if vdl > len {
            return Err(ContainerError::Truncated {
                container: name,
                vdl,
                len,
            });
        }
        Ok(Self {
            data,
            name,
            header,
            slot,
            slots,
            tables,
            redirection,
            index: OnceLock::new(),
        })
    }

    /// The name given to [`Container::open`].
    #[must_use]
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// All the bytes.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// The chosen header (valid CRC, highest USN).
    #[must_use]
    pub fn header(&self) -> &ContainerHeader {
        &self.header
    }

    /// Index (0–2) of the chosen header slot.
    #[must_use]
    pub fn chosen_slot(&self) -> usize {
        self.slot
    }

    /// What was found in each header slot.
    #[must_use]
    pub fn slot_reports(&self) -> &[SlotReport; 3] {
        &self.slots
    }

    /// What was found in the primary and backup redirection tables.
    #[must_use]
    pub fn table_reports(&self) -> &[TableReport; 2] {
        &self.tables
    }

    /// The redirection table in use (primary, or backup when the primary is damaged).
    #[must_use]
    pub fn redirection(&self) -> &RedirectionTable {
        &self.redirection
    }

    /// The valid data length (records live in `0x5000..vdl`).
    #[must_use]
    pub fn valid_data_length(&self) -> u64 {
        self.header.valid_data_length
    }

    /// Decodes and checks the record header at `offset` (magic, version, type, header CRC-64,
    /// bounds). The payload is not touched.
    pub fn record_at(&self, offset: u64) -> Result<RecordHeader, ContainerError> {
        let vdl = self.header.valid_data_length;
        let at = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.data.len());
        parse_record(&self.name, &self.data[at..], offset, vdl)
    }

    /// Iterates the records from 0x5000 to the valid data length. After a damaged record the
    /// iterator yields its error and then resumes at the next 8-byte aligned offset that holds a
    /// valid record header (so a forensic caller sees everything that is still readable).
    pub fn records(&self) -> Records<'_, T> {
        Records {
            container: self,
            pos: u64::from(FIRST_RECORD_OFFSET),
            resync: false,
        }
    }

    fn index(&self) -> &[(u32, u32)] {
        self.index.get_or_init(|| {
            let mut v: Vec<(u32, u32)> = self
                .records()
                .filter_map(Result::ok)
                .filter(|r| r.record_type != RecordType::Padding)
                .map(|r| (r.local_id, r.offset))
                .collect();
            v.sort_by_key(|e| e.0);
            v.dedup_by_key(|e| e.0);
            v
        })
    }

    /// Finds the chunk record with `local_id`: at `hint` if the record there has that id, else
    /// through the redirection table, else by walking all records (the walk is done once and
    /// indexed).
    pub fn find_record(
        &self,
        local_id: u32,
        hint: Option<u32>,
    ) -> Result<(RecordHeader, Located), ContainerError> {
        let mut tried = Vec::new();
        let matches =
            |r: &RecordHeader| r.local_id == local_id && r.record_type != RecordType::Padding;
        if let Some(h) = hint {
            match self.record_at(u64::from(h)) {
                Ok(r) if matches(&r) => return Ok((r, Located::Hint)),
                Ok(r) => tried.push(format!("hint {h:#x} holds local id {}", r.local_id)),
                Err(_) => tried.push(format!("hint {h:#x} holds no valid record")),
            }
        }
        if let Some(off) = self.redirection.lookup(local_id) {
            match self.record_at(u64::from(off)) {
                Ok(r) if matches(&r) => return Ok((r, Located::Redirection)),
                _ => tried.push(format!("Rrtl offset {off:#x} does not hold it")),
            }
        } else {
            tried.push("no Rrtl entry".to_owned());
        }
        let index = self.index();
        if let Ok(i) = index.binary_search_by_key(&local_id, |e| e.0) {
            let r = self.record_at(u64::from(index[i].1))?;
            return Ok((r, Located::Scan));
        }
        tried.push("scan of all records".to_owned());
        Err(ContainerError::ChunkNotFound {
            container: self.name.clone(),
            local_id,
            tried: tried.join(", "),
        })
    }

    /// The stored (possibly compressed) payload of a record.
    #[must_use]
    pub fn stored_payload(&self, rec: &RecordHeader) -> &[u8] {
        // `record_at` checked payload_end <= vdl <= len.
        &self.data[rec.payload_offset() as usize..rec.payload_end() as usize]
    }

    /// Checks the payload CRC-64 of a data or stream-map record.
    pub fn verify_payload_crc(&self, rec: &RecordHeader) -> Result<(), ContainerError> {
        verify_payload_crc(&self.name, rec, self.stored_payload(rec))
    }

    /// The logical payload of a data or stream-map record, with its payload CRC-64 checked,
    /// decompressed when needed (into `scratch`; a stored payload is returned without copying),
    /// its size checked against `expected_len` when given, and for data chunks its hash checked
    /// when `opts.verify_hash` is set. (A stream map's hash is of unknown algorithm: compare it
    /// yourself with the reparse point's copy.) `scratch` may be left longer than the payload.
    pub fn logical_payload<'s>(
        &'s self,
        rec: &RecordHeader,
        expected_len: Option<u64>,
        opts: &ReadOptions,
        scratch: &'s mut Vec<u8>,
    ) -> Result<&'s [u8], ContainerError> {
        decode_payload(
            &self.name,
            rec,
            self.stored_payload(rec),
            expected_len,
            opts,
            scratch,
        )
    }

    /// Checks a data chunk's hash against its logical payload.
    pub fn verify_hash(&self, rec: &RecordHeader, logical: &[u8]) -> Result<(), ContainerError> {
        verify_hash(&self.name, rec, logical)
    }

    /// Finds a chunk and returns its verified logical payload (see [`Container::find_record`]
    /// and [`Container::logical_payload`]).
    pub fn read_chunk<'s>(
        &'s self,
        local_id: u32,
        hint: Option<u32>,
        expected_len: Option<u64>,
        opts: &ReadOptions,
        scratch: &'s mut Vec<u8>,
    ) -> Result<(RecordHeader, Located, &'s [u8]), ContainerError> {
        let (rec, located) = self.find_record(local_id, hint)?;
        let data = self.logical_payload(&rec, expected_len, opts, scratch)?;
        Ok((rec, located, data))
    }

    /// Reads and parses the stream map with `local_id` (payload CRC-64 checked; its hash is
    /// returned in the record header for the caller to compare).
    pub fn read_stream_map<'s>(
        &'s self,
        local_id: u32,
        hint: Option<u32>,
        expected_len: Option<u64>,
        scratch: &'s mut Vec<u8>,
    ) -> Result<(RecordHeader, Located, StreamMapRef<'s>), ContainerError> {
        let (rec, located) = self.find_record(local_id, hint)?;
        if rec.record_type != RecordType::StreamMap {
            return Err(ContainerError::WrongRecordType {
                container: self.name.clone(),
                offset: rec.offset.into(),
                local_id,
                expected: RecordType::StreamMap.name(),
                actual: rec.record_type.name(),
            });
        }
        let opts = ReadOptions::default();
        let payload = self.logical_payload(&rec, expected_len, &opts, scratch)?;
        let map = StreamMapRef::parse(payload).map_err(|source| ContainerError::BadStreamMap {
            container: self.name.clone(),
            offset: rec.offset.into(),
            local_id,
            source,
        })?;
        Ok((rec, located, map))
    }
}

/// Iterator over a container's records; see [`Container::records`].
#[derive(Debug)]
pub struct Records<'c, T: Deref<Target = [u8]>> {
    container: &'c Container<T>,
    pos: u64,
    resync: bool,
}

impl<T: Deref<Target = [u8]>> Iterator for Records<'_, T> {
    type Item = Result<RecordHeader, ContainerError>;

    fn next(&mut self) -> Option<Self::Item> {
        let vdl = self.container.header.valid_data_length;
        if self.resync {
            self.resync = false;
            let mut p = self.pos;
            loop {
                p += u64::from(RECORD_ALIGN);
                if p >= vdl {
                    self.pos = vdl;
                    return None;
                }
                if self.container.data.get(p as usize..p as usize + 4) == Some(&CKHR_MAGIC[..])
                    && self.container.record_at(p).is_ok()
                {
                    self.pos = p;
                    break;
                }
            }
        }
        if self.pos >= vdl {
            return None;
        }
        match self.container.record_at(self.pos) {
            Ok(r) => {
                self.pos = r.next_record_offset();
                Some(Ok(r))
            }
            Err(e) => {
                self.resync = true;
                Some(Err(e))
            }
        }
    }
}
