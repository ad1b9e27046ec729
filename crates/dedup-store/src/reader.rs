//! Zero-copy container reader.
//!
//! [`Container::open`] validates the three `Cthr` slots and the `Rrtl` tables up front
//! (docs/dedup-format.md §3.1–§3.3); afterwards every accessor computes offsets into the borrowed
//! bytes. The bytes can be anything that derefs to `[u8]`: a `Vec<u8>`, a `bytes::Bytes`, a
//! `memmap2::Mmap`.

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use crate::crc64::crc64;
use crate::error::ContainerError;
use crate::hash::{ChunkHash, chunk_hash, hex};
use crate::layout::{
    BACKUP_REDIRECTION_OFFSET, CKHR_MAGIC, CKHR_VERSION, CTHR_MAGIC, CTHR_VERSION, Compression,
    ContainerHeader, FIRST_RECORD_OFFSET, HEADER_SLOT_OFFSETS, PRIMARY_REDIRECTION_OFFSET,
    RECORD_ALIGN, RRTL_MAGIC, RRTL_VERSION, RecordHeader, RecordType, RedirectionTable, SLOT_SIZE,
    arr4, le_u16, le_u32, le_u64,
};
use crate::smap::StreamMapRef;

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

/// The validated fixed area of a container (its first 0x5000 bytes: three header slots and two
/// redirection tables), for callers that read containers piecewise (a restore engine reading
/// through a backup callback) instead of holding all the bytes.
#[derive(Debug, Clone)]
pub struct FixedArea {
    /// The chosen header (valid CRC, highest USN).
    pub header: ContainerHeader,
    /// Index (0–2) of the chosen slot.
    pub chosen_slot: usize,
    /// What was found in each header slot.
    pub slots: [SlotReport; 3],
    /// What was found in the primary and backup redirection tables.
    pub tables: [TableReport; 2],
    /// The redirection table in use (primary, or backup when the primary is damaged).
    pub redirection: RedirectionTable,
}

impl FixedArea {
    /// Validates the first 0x5000 bytes of a container (`bytes` may be longer; nothing past
    /// 0x5000 is read, and the valid data length is not compared with any file size).
    pub fn parse(name: &Arc<str>, bytes: &[u8]) -> Result<Self, ContainerError> {
        let len = bytes.len() as u64;
        if len < u64::from(FIRST_RECORD_OFFSET) {
            return Err(ContainerError::TooSmall {
                container: name.clone(),
                len,
                needed: u64::from(FIRST_RECORD_OFFSET),
            });
        }
        let slots = HEADER_SLOT_OFFSETS.map(|offset| SlotReport {
            offset,
            status: check_header_slot(name, bytes, offset),
        });
        let Some((chosen_slot, header)) = slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.status.as_ref().ok().map(|h| (i, *h)))
            // Highest USN wins; on a tie the lowest slot.
            .max_by_key(|(i, h)| (h.usn, std::cmp::Reverse(*i)))
        else {
            return Err(ContainerError::NoValidHeader {
                container: name.clone(),
                problems: slots
                    .iter()
                    .filter_map(|s| s.status.as_ref().err().map(ToString::to_string))
                    .collect(),
            });
        };
        let vdl = header.valid_data_length;
        let tables = [PRIMARY_REDIRECTION_OFFSET, header.backup_redirection_offset].map(|offset| {
            TableReport {
                offset,
                status: check_redirection_table(name, bytes, offset, vdl),
            }
        });
        let redirection = match (&tables[0].status, &tables[1].status) {
            (Ok(t), _) | (Err(_), Ok(t)) => t.clone(),
            (Err(e), Err(_)) => return Err(e.clone()),
        };
        Ok(Self {
            header,
            chosen_slot,
            slots,
            tables,
            redirection,
        })
    }
}

/// Decodes and checks the record header at container offset `offset` from `window`, a slice of
/// the container that starts at container offset `window_offset` (magic, version, type, header
/// CRC-64, and that header and payload end within `vdl`). The payload itself need not be in the
/// window.
pub fn parse_record_header(
    name: &Arc<str>,
    window: &[u8],
    window_offset: u64,
    offset: u64,
    vdl: u64,
) -> Result<RecordHeader, ContainerError> {
    let b = offset
        .checked_sub(window_offset)
        .and_then(|r| usize::try_from(r).ok())
        .and_then(|r| window.get(r..))
        .unwrap_or(&[]);
    parse_record(name, b, offset, vdl)
}

/// Checks the payload CRC-64 of a data or stream-map record given its stored payload.
pub fn verify_payload_crc(
    name: &Arc<str>,
    rec: &RecordHeader,
    stored: &[u8],
) -> Result<(), ContainerError> {
    if rec.record_type == RecordType::Padding {
        return Ok(());
    }
    let actual = crc64(stored);
    if actual == rec.payload_crc {
        Ok(())
    } else {
        Err(ContainerError::CrcMismatch {
            container: name.clone(),
            offset: rec.offset.into(),
            local_id: Some(rec.local_id),
            what: "payload",
            expected: rec.payload_crc,
            actual,
        })
    }
}

/// The logical payload of a record from its stored payload: payload CRC-64 checked (see
/// [`PayloadCrc`] for when), decompressed when needed (into `scratch`; a stored payload is
/// returned without copying), size checked against `expected_len` when given, and for data
/// chunks the hash checked when `opts.verify_hash` is set. The payload is the returned slice:
/// `scratch` may be left longer (it keeps its room, so that the next call into it need not zero
/// it again).
pub fn decode_payload<'s>(
    name: &Arc<str>,
    rec: &RecordHeader,
    stored: &'s [u8],
    expected_len: Option<u64>,
    opts: &ReadOptions,
    scratch: &'s mut Vec<u8>,
) -> Result<&'s [u8], ContainerError> {
    let hashed = opts.verify_hash && rec.record_type == RecordType::Data;
    let crc_first = !hashed || opts.payload_crc == PayloadCrc::Always;
    if crc_first {
        verify_payload_crc(name, rec, stored)?;
    }
    decode_checked(name, rec, stored, expected_len, opts, scratch).or_else(|e| {
        // A damaged stored payload is reported as such, as when the CRC comes first.
        if !crc_first {
            verify_payload_crc(name, rec, stored)?;
        }
        Err(e)
    })
}

/// [`decode_payload`] without the chunk-hash check, for a caller that hashes many chunks at
/// once and then calls [`check_chunk_hash`] with each computed hash. The payload CRC-64 is
/// checked first unless a data chunk's hash is to be checked with `PayloadCrc::OnFailure`
/// (then [`check_chunk_hash`] checks it on a mismatch, and a failed decode checks it here), so
/// the two calls together report exactly what [`decode_payload`] reports.
pub fn decode_unhashed<'s>(
    name: &Arc<str>,
    rec: &RecordHeader,
    stored: &'s [u8],
    expected_len: Option<u64>,
    opts: &ReadOptions,
    scratch: &'s mut Vec<u8>,
) -> Result<&'s [u8], ContainerError> {
    let hashed = opts.verify_hash && rec.record_type == RecordType::Data;
    let crc_first = !hashed || opts.payload_crc == PayloadCrc::Always;
    if crc_first {
        verify_payload_crc(name, rec, stored)?;
    }
    let unhashed = ReadOptions {
        verify_hash: false,
        ..*opts
    };
    decode_checked(name, rec, stored, expected_len, &unhashed, scratch).or_else(|e| {
        if !crc_first {
            verify_payload_crc(name, rec, stored)?;
        }
        Err(e)
    })
}

/// Compares a data chunk's `computed` hash (the first 32 bytes of SHA-512 of its logical
/// payload, however the caller computed it) with its record's. On a mismatch the stored payload
/// is checked against its CRC-64 first, so damaged stored bytes are reported as a CRC mismatch,
/// as [`decode_payload`] does.
pub fn check_chunk_hash(
    name: &Arc<str>,
    rec: &RecordHeader,
    stored: &[u8],
    computed: &ChunkHash,
) -> Result<(), ContainerError> {
    if *computed == rec.hash {
        return Ok(());
    }
    verify_payload_crc(name, rec, stored)?;
    Err(ContainerError::HashMismatch {
        container: name.clone(),
        offset: rec.offset.into(),
        local_id: rec.local_id,
        expected: hex(&rec.hash),
        actual: hex(computed),
    })
}

/// [`decode_payload`] after (or without) the payload CRC-64.
fn decode_checked<'s>(
    name: &Arc<str>,
    rec: &RecordHeader,
    stored: &'s [u8],
    expected_len: Option<u64>,
    opts: &ReadOptions,
    scratch: &'s mut Vec<u8>,
) -> Result<&'s [u8], ContainerError> {
    let logical: &[u8] = match rec.compression {
        Compression::Stored => stored,
        Compression::Xpress => {
            let n = decompress(name, rec, stored, expected_len, opts, scratch)?;
            &scratch[..n]
        }
        Compression::Unsupported(code) => {
            return Err(ContainerError::UnsupportedCompression {
                container: name.clone(),
                offset: rec.offset.into(),
                local_id: rec.local_id,
                code,
            });
        }
    };
    if let Some(expected) = expected_len
        && logical.len() as u64 != expected
    {
        return Err(ContainerError::LogicalSizeMismatch {
            container: name.clone(),
            offset: rec.offset.into(),
            local_id: rec.local_id,
            expected,
            actual: logical.len() as u64,
        });
    }
    if opts.verify_hash && rec.record_type == RecordType::Data {
        verify_hash(name, rec, logical)?;
    }
    Ok(logical)
}

/// Checks a data chunk's hash against its logical payload.
pub fn verify_hash(
    name: &Arc<str>,
    rec: &RecordHeader,
    logical: &[u8],
) -> Result<(), ContainerError> {
    let actual = chunk_hash(logical);
    if actual == rec.hash {
        Ok(())
    } else {
        Err(ContainerError::HashMismatch {
            container: name.clone(),
            offset: rec.offset.into(),
            local_id: rec.local_id,
            expected: hex(&rec.hash),
            actual: hex(&actual),
        })
    }
}

fn decompress(
    name: &Arc<str>,
    rec: &RecordHeader,
    stored: &[u8],
    expected_len: Option<u64>,
    opts: &ReadOptions,
    out: &mut Vec<u8>,
) -> Result<usize, ContainerError> {
    let err = |source| ContainerError::Decompress {
        container: name.clone(),
        offset: rec.offset.into(),
        local_id: rec.local_id,
        source,
    };
    // With a known size, decode into exactly that much room (one more byte so that a stream
    // that is too long is caught as a size mismatch rather than silently cut), but never start
    // above twice the typical chunk: the size comes from a stream map, and a map claiming
    // 64 MiB chunks must not make every worker allocate 64 MiB before a byte is decoded. Room
    // grows (doubling) only as far as the payload really decodes.
    let max = opts.max_logical_len.max(1);
    let mut cap = match expected_len {
        Some(n) => usize::try_from(n)
            .unwrap_or(usize::MAX)
            .saturating_add(1)
            .min(2 * TYPICAL_MAX_CHUNK)
            .min(max),
        None => TYPICAL_MAX_CHUNK.min(max),
    };
    let want = expected_len.map_or(max, |n| {
        usize::try_from(n)
            .unwrap_or(usize::MAX)
            .saturating_add(1)
            .min(max)
    });
    loop {
        // Grow only, and never truncated to the payload: re-zeroing room the decoder overwrites
        // anyway costs as much as a copy (the payload is `out[..n]`).
        if out.len() < cap {
            out.resize(cap, 0);
        }
        match xpress::decompress(stored, &mut out[..cap]) {
            Ok(n) => return Ok(n),
            // Up to the expected size first (exactly, so a chunk of that size decodes in one
            // more pass), then on as before to find out how long a too-long payload is.
            Err(xpress::DecompressError::Overrun { .. }) if cap < max => {
                let next = cap.saturating_mul(2);
                cap = if cap < want && next > want {
                    want
                } else {
                    next.min(max)
                };
            }
            Err(e) => return Err(err(e)),
        }
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

fn check_header_slot(
    name: &Arc<str>,
    bytes: &[u8],
    offset: u32,
) -> Result<ContainerHeader, ContainerError> {
    let at = offset as usize;
    let raw: &[u8; ContainerHeader::SIZE] = bytes[at..at + ContainerHeader::SIZE]
        .try_into()
        .expect("slot is inside the fixed area, checked by the caller");
    if raw[..4] != CTHR_MAGIC {
        return Err(bad_magic(name, offset.into(), CTHR_MAGIC, &raw[..4]));
    }
    let stored = le_u64(raw, 0x38);
    let actual = crc64(&raw[..0x38]);
    if stored != actual {
        return Err(ContainerError::CrcMismatch {
            container: name.clone(),
            offset: offset.into(),
            local_id: None,
            what: "Cthr header",
            expected: stored,
            actual,
        });
    }
    if arr4(raw, 4) != CTHR_VERSION {
        return Err(bad_version(
            name,
            offset.into(),
            "Cthr",
            CTHR_VERSION,
            arr4(raw, 4),
        ));
    }
    let h = ContainerHeader::decode(raw);
    let field_err = |field, expected: &str, actual| ContainerError::BadHeaderField {
        container: name.clone(),
        offset: offset.into(),
        field,
        expected: expected.to_owned(),
        actual,
    };
    if h.valid_data_length < u64::from(FIRST_RECORD_OFFSET)
        || !h.valid_data_length.is_multiple_of(u64::from(RECORD_ALIGN))
    {
        return Err(field_err(
            "valid data length",
            "a multiple of 8 not below 0x5000",
            h.valid_data_length,
        ));
    }
    if h.valid_data_length > u64::from(u32::MAX) + 1 {
        return Err(field_err(
            "valid data length",
            "at most 4 GiB (offsets are u32)",
            h.valid_data_length,
        ));
    }
    if h.backup_redirection_offset != BACKUP_REDIRECTION_OFFSET {
        return Err(field_err(
            "backup redirection-table offset",
            "0x4000",
            h.backup_redirection_offset.into(),
        ));
    }
    if h.next_local_id == 0 {
        return Err(field_err("next local id", "at least 1", 0));
    }
    Ok(h)
}

fn check_redirection_table(
    name: &Arc<str>,
    bytes: &[u8],
    offset: u32,
    vdl: u64,
) -> Result<RedirectionTable, ContainerError> {
    let at = offset as usize;
    let slot = &bytes[at..at + SLOT_SIZE as usize];
    if slot[..4] != RRTL_MAGIC {
        return Err(bad_magic(name, offset.into(), RRTL_MAGIC, &slot[..4]));
    }
    let stored = le_u64(slot, 0x18);
    let actual = crc64(&slot[..0x18]);
    if stored != actual {
        return Err(ContainerError::CrcMismatch {
            container: name.clone(),
            offset: offset.into(),
            local_id: None,
            what: "Rrtl header",
            expected: stored,
            actual,
        });
    }
    if arr4(slot, 4) != RRTL_VERSION {
        return Err(bad_version(
            name,
            offset.into(),
            "Rrtl",
            RRTL_VERSION,
            arr4(slot, 4),
        ));
    }
    let problem = |p: String| ContainerError::BadRedirectionTable {
        container: name.clone(),
        offset: offset.into(),
        problem: p,
    };
    let count = le_u32(slot, 8) as usize;
    let entry_size = le_u32(slot, 0x0C);
    if entry_size != 8 {
        return Err(problem(format!("entry size is {entry_size}, expected 8")));
    }
    if count > RedirectionTable::CAPACITY {
        return Err(problem(format!(
            "entry count {count} exceeds the {} that fit in one 4 KiB slot",
            RedirectionTable::CAPACITY
        )));
    }
    let mut entries = Vec::with_capacity(count);
    for i in 0..count {
        let e = RedirectionTable::HEADER_SIZE + 8 * i;
        let (id, off) = (le_u32(slot, e), le_u32(slot, e + 4));
        if let Some(&(prev, _)) = entries.last()
            && id <= prev
        {
            return Err(problem(format!(
                "entry {i} at +{e:#x}: local id {id} is not above the previous {prev} (entries must be sorted)"
            )));
        }
        if u64::from(off) < u64::from(FIRST_RECORD_OFFSET)
            || u64::from(off) >= vdl
            || off % RECORD_ALIGN != 0
        {
            return Err(problem(format!(
                "entry {i} at +{e:#x}: offset {off:#x} of local id {id} is outside the records area 0x5000..{vdl:#x} or unaligned"
            )));
        }
        entries.push((id, off));
    }
    Ok(RedirectionTable {
        version: RRTL_VERSION,
        entry_size,
        unknown_10: le_u64(slot, 0x10),
        entries,
    })
}

fn parse_record(
    name: &Arc<str>,
    b: &[u8],
    offset: u64,
    vdl: u64,
) -> Result<RecordHeader, ContainerError> {
    let field = |field, expected: &str, actual: u64, local_id| ContainerError::BadRecordField {
        container: name.clone(),
        offset,
        local_id,
        field,
        expected: expected.to_owned(),
        actual,
    };
    if offset < u64::from(FIRST_RECORD_OFFSET) || !offset.is_multiple_of(u64::from(RECORD_ALIGN)) {
        return Err(field(
            "offset",
            "8-byte aligned and at least 0x5000",
            offset,
            None,
        ));
    }
    let oob = |end, local_id| ContainerError::RecordOutOfBounds {
        container: name.clone(),
        offset,
        local_id,
        end,
        vdl,
    };
    // `b` starts at the record; the caller's window may end before the valid data does.
    if offset + 0x20 > vdl || b.len() < 0x20 {
        return Err(oob(offset + 0x20, None));
    }
    if b[..4] != CKHR_MAGIC {
        return Err(bad_magic(name, offset, CKHR_MAGIC, &b[..4]));
    }
    let local_id = le_u32(b, 8);
    let stored_size = le_u32(b, 0x0C);
    let type_code = le_u16(b, 0x10);
    let Some(record_type) = RecordType::from_code(type_code) else {
        return Err(field(
            "record type",
            "1 (data), 2 (stream map) or 4 (padding)",
            type_code.into(),
            Some(local_id),
        ));
    };
    let header_len = record_type.header_len();
    if offset + header_len as u64 > vdl || b.len() < header_len {
        return Err(oob(offset + header_len as u64, Some(local_id)));
    }
    let h = &b[..header_len];
    let stored_crc = le_u64(h, header_len - 8);
    let actual_crc = crc64(&h[..header_len - 8]);
    if stored_crc != actual_crc {
        return Err(ContainerError::CrcMismatch {
            container: name.clone(),
            offset,
            local_id: Some(local_id),
            what: "record header",
            expected: stored_crc,
            actual: actual_crc,
        });
    }
    if arr4(h, 4) != CKHR_VERSION {
        return Err(bad_version(name, offset, "Ckhr", CKHR_VERSION, arr4(h, 4)));
    }
    let hash_offset = le_u16(h, 0x12);
    if hash_offset != record_type.hash_offset() {
        return Err(field(
            "hash offset",
            match record_type {
                RecordType::Data => "0x28 for a data record",
                RecordType::StreamMap => "0x38 for a stream-map record",
                RecordType::Padding => "0 for a padding record",
            },
            hash_offset.into(),
            Some(local_id),
        ));
    }
    let end = offset + header_len as u64 + u64::from(stored_size);
    if end > vdl {
        return Err(oob(end, Some(local_id)));
    }
    let unknown_14 = [le_u32(h, 0x14), le_u32(h, 0x18), le_u32(h, 0x1C)];
    let mut rec = RecordHeader {
        offset: offset as u32,
        record_type,
        local_id,
        stored_size,
        unknown_14,
        compression: Compression::Stored,
        compression_copy: 0,
        stream_extra: [0; 16],
        hash: [0; 32],
        payload_crc: le_u64(h, 0x20),
        header_crc: stored_crc,
    };
    if record_type != RecordType::Padding {
        rec.compression = Compression::from_code(le_u32(h, 0x20));
        rec.compression_copy = le_u32(h, 0x24);
        if record_type == RecordType::StreamMap {
            rec.stream_extra.copy_from_slice(&h[0x28..0x38]);
        }
        let ho = usize::from(hash_offset);
        rec.hash.copy_from_slice(&h[ho..ho + 32]);
        rec.payload_crc = le_u64(h, ho + 32);
    }
    Ok(rec)
}

fn bad_magic(name: &Arc<str>, offset: u64, expected: [u8; 4], actual: &[u8]) -> ContainerError {
    ContainerError::BadMagic {
        container: name.clone(),
        offset,
        expected: String::from_utf8_lossy(&expected).into_owned(),
        actual: String::from_utf8_lossy(actual).into_owned(),
    }
}

fn bad_version(
    name: &Arc<str>,
    offset: u64,
    what: &'static str,
    expected: [u8; 4],
    actual: [u8; 4],
) -> ContainerError {
    ContainerError::BadVersion {
        container: name.clone(),
        offset,
        what,
        expected: hex(&expected),
        actual: hex(&actual),
    }
}
