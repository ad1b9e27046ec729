//! [`NtfsSource`]: a raw NTFS volume read as a [`platform::Source`].

use std::io::SeekFrom;
use std::sync::Arc;

use ntfs::{Ntfs, NtfsAttributeType, NtfsFile, NtfsReadSeek};
use platform::{Error, Source, SourceEntry, SourceFile, WinPath};

use crate::read_at::{Cursor, ReadAt};
use crate::record::{self, FileRecord, NAMESPACE_DOS, attr_type, record_number};

mod entry;
mod index;

use entry::check_plain;

/// MFT record of the root directory (ntfs-3g `FILE_root`; Microsoft "Master File Table").
const ROOT_RECORD: u64 = 5;
/// MFT record of `$UpCase` (ntfs-3g `FILE_UpCase`).
const UPCASE_RECORD: u64 = 10;
/// Records below this are the volume's metadata files (`$MFT` … `$Extend`, ntfs-3g
/// `FILE_first_user`); they are never listed.
const FIRST_USER_RECORD: u64 = 16;
/// `$UpCase` maps every UTF-16 unit: 65,536 entries of 2 bytes.
const UPCASE_LEN: u64 = 2 * 65_536;
/// The largest `REPARSE_DATA_BUFFER` (Microsoft `MAXIMUM_REPARSE_DATA_BUFFER_SIZE`), as a
/// byte count of the `$REPARSE_POINT` value: the one definition is `platform`'s.
pub const MAX_REPARSE_BUFFER: u64 = platform::MAX_REPARSE_BUFFER as u64;
/// The index name of a directory's file-name index.
const I30: [u16; 4] = [b'$' as u16, b'I' as u16, b'3' as u16, b'0' as u16];
/// Deepest index B-tree followed in a lookup (real trees are a handful of levels deep; a cycle
/// of subnode pointers ends here).
const MAX_INDEX_DEPTH: usize = 32;

/// Limits of an [`NtfsSource`]: memory is bounded by these, never by what the volume claims.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most entries one directory may list (the listing is held in memory).
    pub max_dir_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_dir_entries: 1 << 20,
        }
    }
}

/// Why a volume could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The reader failed.
    #[error("reading the volume: {0}")]
    Io(#[from] std::io::Error),
    /// The `ntfs` crate refused the boot sector or `$MFT`.
    #[error("not a readable NTFS volume: {0}")]
    Ntfs(#[from] ntfs::NtfsError),
    /// A structure we check ourselves is out of bounds.
    #[error("{0}")]
    Invalid(String),
    /// `$UpCase` (record 10) does not parse.
    #[error("$UpCase: {0}")]
    Record(#[from] record::RecordError),
}

/// Why one entry of the volume cannot be read: names the MFT record and, where the `ntfs`
/// crate or our parser knows it, the byte position.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The record or an index block does not parse (names the structure and offset).
    #[error(transparent)]
    Record(#[from] record::RecordError),
    /// The `ntfs` crate refused the record or one of its attributes (its message names the
    /// absolute byte position in the volume).
    #[error("MFT record {record}: {source}")]
    Ntfs {
        /// The record.
        record: u64,
        /// The crate's error.
        #[source]
        source: ntfs::NtfsError,
    },
    /// Something the reader does not do, or a value out of its bounds.
    #[error("MFT record {record}: {what}")]
    Unsupported {
        /// The record.
        record: u64,
        /// What.
        what: String,
    },
}

impl EntryError {
    fn unsupported(record: u64, what: impl Into<String>) -> Self {
        Self::Unsupported {
            record,
            what: what.into(),
        }
    }
}

fn crate_err(record: u64) -> impl Fn(ntfs::NtfsError) -> EntryError {
    move |source| EntryError::Ntfs { record, source }
}

fn to_platform(path: &WinPath, e: EntryError) -> Error {
    Error::Io {
        path: path.clone(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    }
}

struct Inner<R> {
    reader: R,
    size: u64,
    ntfs: Ntfs,
    upcase: Vec<u16>,
    name: String,
    limits: Limits,
}

/// A raw NTFS volume (an image file, a device, bytes) read as a [`Source`].
///
/// Cheap to clone (the volume is shared); every call reads through its own cursor, so threads
/// read in parallel.
pub struct NtfsSource<R> {
    inner: Arc<Inner<R>>,
}

impl<R> Clone for NtfsSource<R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<R> std::fmt::Debug for NtfsSource<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NtfsSource")
            .field("name", &self.inner.name)
            .field("size", &self.inner.size)
            .finish_non_exhaustive()
    }
}

#[cfg(unix)]
impl NtfsSource<std::fs::File> {
    /// Opens the volume image at `path` read-only.
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self, OpenError> {
        let path = path.as_ref();
        let f = std::fs::File::open(path)?;
        Self::new(f, path.display().to_string(), Limits::default())
    }
}

/// A record loaded twice: by the `ntfs` crate (attributes, values) and by our parser (the gate,
/// `$STANDARD_INFORMATION`, `$FILE_NAME`, initialized sizes).
struct Loaded<'n> {
    file: NtfsFile<'n>,
    raw: FileRecord,
}

impl<R: ReadAt + 'static> NtfsSource<R> {
    /// The volume read through `reader`, described as `name` in messages.
    pub fn new(reader: R, name: impl Into<String>, limits: Limits) -> Result<Self, OpenError> {
        let size = reader.size()?;
        let mut c = Cursor::new(&reader, size);
        let ntfs = Ntfs::new(&mut c)?;
        let rs = ntfs.file_record_size();
        if !(512..=record::MAX_RECORD_SIZE as u32).contains(&rs) || !rs.is_power_of_two() {
            return Err(OpenError::Invalid(format!(
                "boot sector: file record size {rs} (expected a power of two, 512 to 64 KiB)"
            )));
        }
        let mut src = Inner {
            reader,
            size,
            ntfs,
            upcase: Vec::new(),
            name: name.into(),
            limits,
        };
        src.upcase = src.read_upcase()?;
        Ok(Self {
            inner: Arc::new(src),
        })
    }

    /// The `ntfs` crate's view of the volume (cluster size, record size, serial number).
    #[must_use]
    pub fn ntfs(&self) -> &Ntfs {
        &self.inner.ntfs
    }

    /// The raw MFT record `number`, parsed by our own parser (the record as the volume holds
    /// it, for inspection).
    pub fn record(&self, number: u64) -> Result<FileRecord, EntryError> {
        let mut c = self.inner.cursor();
        Ok(self.inner.load(&mut c, number)?.raw)
    }

    /// Where MFT record `number` starts in the volume, in bytes (found through `$MFT`'s own
    /// data runs).
    pub fn record_position(&self, number: u64) -> Result<u64, EntryError> {
        let mut c = self.inner.cursor();
        let f = self
            .inner
            .ntfs
            .file(&mut c, number)
            .map_err(crate_err(number))?;
        f.position().value().map(u64::from).ok_or_else(|| {
            EntryError::unsupported(number, "the record has no position on the volume")
        })
    }

    /// The MFT record number of `path` (`None` when it does not exist).
    pub fn record_of(&self, path: &WinPath) -> Result<Option<u64>, Error> {
        self.inner.resolve(path)
    }
}

impl<R: ReadAt> Inner<R> {
    pub(super) fn cursor(&self) -> Cursor<'_, R> {
        Cursor::new(&self.reader, self.size)
    }

    pub(super) fn read_upcase(&self) -> Result<Vec<u16>, OpenError> {
        let mut c = self.cursor();
        let file = self.ntfs.file(&mut c, UPCASE_RECORD)?;
        let item = file
            .data(&mut c, "")
            .ok_or_else(|| OpenError::Invalid("$UpCase has no data".into()))??;
        let a = item.to_attribute()?;
        if a.value_length() != UPCASE_LEN {
            return Err(OpenError::Invalid(format!(
                "$UpCase holds {} bytes, expected {UPCASE_LEN}",
                a.value_length()
            )));
        }
        let mut v = a.value(&mut c)?;
        let mut buf = vec![0u8; UPCASE_LEN as usize];
        v.read_exact(&mut c, &mut buf)?;
        Ok(buf
            .chunks_exact(2)
            .map(|p| u16::from_le_bytes([p[0], p[1]]))
            .collect())
    }
}

impl<R: ReadAt + 'static> Source for NtfsSource<R> {
    fn describe(&self) -> String {
        self.inner.name.clone()
    }

    fn read_dir(&self, dir: &WinPath) -> Result<Vec<SourceEntry>, Error> {
        let s = &*self.inner;
        let rec = s.resolve_existing(dir)?;
        let mut c = s.cursor();
        let d = s.load(&mut c, rec).map_err(|e| to_platform(dir, e))?;
        if !d.raw.is_directory() {
            return Err(Error::NotADirectory { path: dir.clone() });
        }
        let keys = s
            .index_entries(&mut c, &d)
            .map_err(|e| to_platform(dir, e))?;
        let mut out: Vec<SourceEntry> = keys
            .iter()
            .filter(|(r, k)| record_number(*r) >= FIRST_USER_RECORD && k.namespace != NAMESPACE_DOS)
            .filter_map(|(r, k)| s.entry(&mut c, dir, rec, *r, k))
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.dedup_by(|a, b| a.name == b.name);
        Ok(out)
    }

    fn open_file(&self, path: &WinPath) -> Result<Box<dyn SourceFile>, Error> {
        let s = &*self.inner;
        let rec = s.resolve_existing(path)?;
        let mut c = s.cursor();
        let l = s.load(&mut c, rec).map_err(|e| to_platform(path, e))?;
        if l.raw.is_directory() {
            return Err(Error::IsADirectory { path: path.clone() });
        }
        let len = Inner::<R>::data_len(&mut c, &l).map_err(|e| to_platform(path, e))?;
        // Windows' valid data length: past it, a file reads as zeros (the crate reads the
        // clusters). Known from the first extent in the base record; else the whole length.
        let initialized = match l.raw.find(attr_type::DATA, &[]) {
            Ok(Some(record::Attribute {
                value: record::Value::NonResident(n),
                ..
            })) if n.lowest_vcn == 0 => n.initialized_size.min(len),
            _ => len,
        };
        Ok(Box::new(NtfsSourceFile {
            inner: self.inner.clone(),
            path: path.clone(),
            record: rec,
            len,
            initialized,
        }))
    }

    fn reparse_point(&self, path: &WinPath) -> Result<Option<Vec<u8>>, Error> {
        let s = &*self.inner;
        let rec = s.resolve_existing(path)?;
        let mut c = s.cursor();
        let l = s.load(&mut c, rec).map_err(|e| to_platform(path, e))?;
        Inner::<R>::reparse_of(&mut c, &l).map_err(|e| to_platform(path, e))
    }
}

/// An open file of an [`NtfsSource`]: each read finds the record and its `$DATA` again (two
/// record reads), so a handle holds no borrowed state and threads share nothing but the volume.
struct NtfsSourceFile<R> {
    inner: Arc<Inner<R>>,
    path: WinPath,
    record: u64,
    len: u64,
    initialized: u64,
}

impl<R> std::fmt::Debug for NtfsSourceFile<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NtfsSourceFile")
            .field("path", &self.path)
            .field("record", &self.record)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl<R: ReadAt> NtfsSourceFile<R> {
    fn read_stored(&self, offset: u64, buf: &mut [u8]) -> Result<(), EntryError> {
        let s = &*self.inner;
        let rec = self.record;
        let mut c = s.cursor();
        let file = s.ntfs.file(&mut c, rec).map_err(crate_err(rec))?;
        let item = file
            .data(&mut c, "")
            .ok_or_else(|| EntryError::unsupported(rec, "the $DATA attribute is gone"))?
            .map_err(crate_err(rec))?;
        let a = item.to_attribute().map_err(crate_err(rec))?;
        check_plain(rec, a.flags(), NtfsAttributeType::Data)?;
        let mut v = a.value(&mut c).map_err(crate_err(rec))?;
        v.seek(&mut c, SeekFrom::Start(offset))
            .map_err(crate_err(rec))?;
        v.read_exact(&mut c, buf).map_err(crate_err(rec))
    }
}

impl<R: ReadAt> SourceFile for NtfsSourceFile<R> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Error> {
        if offset >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let n = usize::try_from(self.len - offset).map_or(buf.len(), |left| left.min(buf.len()));
        let buf = &mut buf[..n];
        let stored =
            usize::try_from(self.initialized.saturating_sub(offset)).map_or(n, |left| left.min(n));
        self.read_stored(offset, &mut buf[..stored])
            .map_err(|e| to_platform(&self.path, e))?;
        buf[stored..].fill(0);
        Ok(n)
    }

    fn len(&self) -> Result<u64, Error> {
        Ok(self.len)
    }
}
