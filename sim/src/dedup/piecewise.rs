//! A container read piece by piece: the fixed area, then one record at a time (its header,
//! then its payload), so that memory is bounded by [`MAX_PAYLOAD`] whatever size the file has
//! or its header claims. What `inspect store` reads copied (possibly hostile) stores with, and
//! what garbage collection reads stream maps through; compaction and the optimizer's index of
//! an existing store still load the containers the simulator wrote whole, one at a time.

use std::cell::OnceCell;
use std::sync::Arc;

use dedup_store::{
    ContainerError, FIRST_RECORD_OFFSET, FIXED_AREA_LEN, FixedArea, Located, ReadOptions,
    RecordHeader, RecordType, StreamMapRef, decode_payload, parse_record_header,
};
use platform::{
    Access, Disposition, FileHandle, OpenOptions, ShareMode, Source, SourceFile, Volume, WinPath,
};

use super::DedupError;

/// Largest stored payload read into memory (the restore engine's default logical bound,
/// docs/dedup-format.md §4.1: real chunks are at most ~128 KiB; stream maps of large files are
/// larger). A record claiming more is reported, never allocated.
pub const MAX_PAYLOAD: u32 = 64 << 20;

/// The longest record header (a stream-map record's, docs/dedup-format.md §3.3).
const MAX_HEADER: usize = RecordType::StreamMap.header_len();

/// The open file: a volume's handle (garbage collection), or a restore source's file (the
/// store summary, which reads host folders and disk images alike).
enum File {
    Volume(Box<dyn FileHandle>),
    Source(Box<dyn SourceFile>),
}

impl File {
    fn len(&self) -> Result<u64, platform::Error> {
        match self {
            Self::Volume(f) => f.len(),
            Self::Source(f) => f.len(),
        }
    }

    fn read_exact_at(&self, mut offset: u64, mut buf: &mut [u8]) -> Result<(), DedupError> {
        let f = match self {
            Self::Volume(f) => return Ok(f.read_exact_at(offset, buf)?),
            Self::Source(f) => f,
        };
        while !buf.is_empty() {
            let n = f.read_at(offset, buf)?;
            if n == 0 {
                return Err(DedupError::Store(format!(
                    "the file ends before byte {offset:#x}"
                )));
            }
            offset += n as u64;
            buf = &mut buf[n..];
        }
        Ok(())
    }
}

/// One container file, open, with its validated fixed area.
pub struct Piecewise {
    file: File,
    name: Arc<str>,
    len: u64,
    fixed_bytes: Vec<u8>,
    fixed: FixedArea,
    /// `(local id, offset)` of every record, sorted by id: built by the first lookup that
    /// needs a scan.
    index: OnceCell<Vec<(u32, u32)>>,
}

impl Piecewise {
    /// Opens `path` and validates its fixed area and valid data length against the file size.
    pub fn open(volume: &dyn Volume, path: &WinPath) -> Result<Self, DedupError> {
        let file = volume.open(
            path,
            OpenOptions::new(Access::READ, ShareMode::READ, Disposition::OpenExisting),
        )?;
        Self::from_file(File::Volume(file), path)
    }

    /// Opens `path` of a restore source (a host folder, a disk image), as [`Piecewise::open`].
    pub fn open_source(source: &dyn Source, path: &WinPath) -> Result<Self, DedupError> {
        Self::from_file(File::Source(source.open_file(path)?), path)
    }

    fn from_file(file: File, path: &WinPath) -> Result<Self, DedupError> {
        let name: Arc<str> = path.to_string().into();
        let len = file.len()?;
        let mut fixed_bytes =
            vec![0u8; usize::try_from(len).map_or(FIXED_AREA_LEN, |l| l.min(FIXED_AREA_LEN))];
        file.read_exact_at(0, &mut fixed_bytes)?;
        let fixed = FixedArea::parse(&name, &fixed_bytes)?;
        let vdl = fixed.header.valid_data_length;
        if vdl > len {
            return Err(ContainerError::Truncated {
                container: name,
                vdl,
                len,
            }
            .into());
        }
        Ok(Self {
            file,
            name,
            len,
            fixed_bytes,
            fixed,
            index: OnceCell::new(),
        })
    }

    /// The container's path, as errors name it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's size.
    pub fn file_size(&self) -> u64 {
        self.len
    }

    /// The validated fixed area.
    pub fn fixed(&self) -> &FixedArea {
        &self.fixed
    }

    /// The raw bytes of the fixed area (`0..0x5000`).
    pub fn fixed_bytes(&self) -> &[u8] {
        &self.fixed_bytes
    }

    /// The record header at `offset`, checked (magic, version, type, CRC, within the valid
    /// data length).
    pub fn record_at(&self, offset: u64) -> Result<RecordHeader, DedupError> {
        let vdl = self.fixed.header.valid_data_length;
        let mut buf = [0u8; MAX_HEADER];
        let avail = usize::try_from(self.len.saturating_sub(offset)).unwrap_or(usize::MAX);
        let want = avail.min(MAX_HEADER);
        self.file.read_exact_at(offset, &mut buf[..want])?;
        Ok(parse_record_header(
            &self.name,
            &buf[..want],
            offset,
            offset,
            vdl,
        )?)
    }

    /// Every record from `0x5000` to the valid data length, in order; stops after the first
    /// damaged one (which it yields).
    pub fn records(&self) -> impl Iterator<Item = Result<RecordHeader, DedupError>> + '_ {
        let vdl = self.fixed.header.valid_data_length;
        let mut pos = Some(u64::from(FIRST_RECORD_OFFSET));
        std::iter::from_fn(move || {
            let at = pos.filter(|&p| p < vdl)?;
            let r = self.record_at(at);
            pos = r.as_ref().ok().map(RecordHeader::next_record_offset);
            Some(r)
        })
    }

    /// The stored payload of `rec`, read into `buf` (refused above [`MAX_PAYLOAD`]).
    pub fn stored_payload<'b>(
        &self,
        rec: &RecordHeader,
        buf: &'b mut Vec<u8>,
    ) -> Result<&'b [u8], DedupError> {
        if rec.stored_size > MAX_PAYLOAD {
            return Err(DedupError::Store(format!(
                "{}: record {} at {:#x} claims a payload of {} bytes, more than the {} read into memory",
                self.name, rec.local_id, rec.offset, rec.stored_size, MAX_PAYLOAD
            )));
        }
        buf.clear();
        buf.resize(rec.stored_size as usize, 0);
        self.file.read_exact_at(rec.payload_offset(), buf)?;
        Ok(buf)
    }

    /// The logical payload of `rec` (see [`dedup_store::decode_payload`]).
    pub fn logical_payload<'s>(
        &self,
        rec: &RecordHeader,
        expected_len: Option<u64>,
        opts: &ReadOptions,
        stored: &'s mut Vec<u8>,
        scratch: &'s mut Vec<u8>,
    ) -> Result<&'s [u8], DedupError> {
        let stored = self.stored_payload(rec, stored)?;
        Ok(decode_payload(
            &self.name,
            rec,
            stored,
            expected_len,
            opts,
            scratch,
        )?)
    }

    /// Finds the record with `local_id`: at `hint`, else through the redirection table, else
    /// by a scan of the record headers (done once, then indexed).
    pub fn find_record(
        &self,
        local_id: u32,
        hint: Option<u32>,
    ) -> Result<(RecordHeader, Located), DedupError> {
        let matches =
            |r: &RecordHeader| r.local_id == local_id && r.record_type != RecordType::Padding;
        if let Some(h) = hint
            && let Ok(r) = self.record_at(u64::from(h))
            && matches(&r)
        {
            return Ok((r, Located::Hint));
        }
        if let Some(off) = self.fixed.redirection.lookup(local_id)
            && let Ok(r) = self.record_at(u64::from(off))
            && matches(&r)
        {
            return Ok((r, Located::Redirection));
        }
        let index = self.index.get_or_init(|| {
            let mut v: Vec<(u32, u32)> = self
                .records()
                .filter_map(Result::ok)
                .filter(|r| r.record_type != RecordType::Padding)
                .map(|r| (r.local_id, r.offset))
                .collect();
            v.sort_unstable();
            v.dedup_by_key(|e| e.0);
            v
        });
        match index.binary_search_by_key(&local_id, |e| e.0) {
            Ok(i) => Ok((self.record_at(u64::from(index[i].1))?, Located::Scan)),
            Err(_) => Err(ContainerError::ChunkNotFound {
                container: self.name.clone(),
                local_id,
                tried: "hint, Rrtl, scan of all records".to_owned(),
            }
            .into()),
        }
    }

    /// Reads and parses the stream map with `local_id` (payload CRC-64 and size checked; the
    /// record's hash is returned for the caller to compare with the reparse point's).
    pub fn read_stream_map<'s>(
        &self,
        local_id: u32,
        hint: Option<u32>,
        expected_len: Option<u64>,
        stored: &'s mut Vec<u8>,
        scratch: &'s mut Vec<u8>,
    ) -> Result<(RecordHeader, StreamMapRef<'s>), DedupError> {
        let (rec, _) = self.find_record(local_id, hint)?;
        if rec.record_type != RecordType::StreamMap {
            return Err(ContainerError::WrongRecordType {
                container: self.name.clone(),
                offset: rec.offset.into(),
                local_id,
                expected: RecordType::StreamMap.name(),
                actual: rec.record_type.name(),
            }
            .into());
        }
        let opts = ReadOptions::default();
        let payload = self.logical_payload(&rec, expected_len, &opts, stored, scratch)?;
        let map = StreamMapRef::parse(payload).map_err(|source| ContainerError::BadStreamMap {
            container: self.name.clone(),
            offset: rec.offset.into(),
            local_id,
            source,
        })?;
        Ok((rec, map))
    }
}
