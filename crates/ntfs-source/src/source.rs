//! [`NtfsSource`]: a raw NTFS volume read as a [`platform::Source`].

use std::io::SeekFrom;
use std::sync::Arc;

use ntfs::{Ntfs, NtfsAttributeFlags, NtfsAttributeType, NtfsFile, NtfsReadSeek};
use platform::{EntryKind, Error, Source, SourceEntry, SourceFile, Unsupported, WinPath, attr};

use crate::read_at::{Cursor, ReadAt, read_exact_at};
use crate::record::{
    self, FileName, FileRecord, IndexBlock, NAMESPACE_DOS, StandardInformation, attr_type,
    record_number,
};

/// MFT record of the root directory (ntfs-3g `FILE_root`; Microsoft "Master File Table").
const ROOT_RECORD: u64 = 5;
/// MFT record of `$UpCase` (ntfs-3g `FILE_UpCase`).
const UPCASE_RECORD: u64 = 10;
/// Records below this are the volume's metadata files (`$MFT` … `$Extend`, ntfs-3g
/// `FILE_first_user`); they are never listed.
const FIRST_USER_RECORD: u64 = 16;
/// `$UpCase` maps every UTF-16 unit: 65,536 entries of 2 bytes.
const UPCASE_LEN: u64 = 2 * 65_536;
/// The largest `REPARSE_DATA_BUFFER` (Microsoft `MAXIMUM_REPARSE_DATA_BUFFER_SIZE`, 16 KiB).
pub const MAX_REPARSE_BUFFER: u64 = 16 * 1024;
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
    fn cursor(&self) -> Cursor<'_, R> {
        Cursor::new(&self.reader, self.size)
    }

    fn read_upcase(&self) -> Result<Vec<u16>, OpenError> {
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

    fn upcase(&self, u: u16) -> u16 {
        self.upcase.get(usize::from(u)).copied().unwrap_or(u)
    }

    /// NTFS file-name collation: upcased UTF-16 units compared in order, then length.
    fn collate(&self, a: &[u16], b: &[u16]) -> std::cmp::Ordering {
        a.iter()
            .map(|&u| self.upcase(u))
            .cmp(b.iter().map(|&u| self.upcase(u)))
    }

    /// Record `number` through the crate, then through our gate.
    fn load<'n>(&'n self, c: &mut Cursor<'_, R>, number: u64) -> Result<Loaded<'n>, EntryError> {
        let file = self.ntfs.file(c, number).map_err(crate_err(number))?;
        let pos = file.position().value().map(u64::from).ok_or_else(|| {
            EntryError::unsupported(number, "the record has no position on the volume")
        })?;
        let mut raw = vec![0u8; self.ntfs.file_record_size() as usize];
        read_exact_at(&self.reader, pos, &mut raw)
            .map_err(|e| EntryError::unsupported(number, format!("reading it at {pos:#x}: {e}")))?;
        let raw = FileRecord::parse(&raw, number)?;
        if !raw.in_use() {
            return Err(EntryError::unsupported(number, "the record is not in use"));
        }
        raw.all_attributes()?;
        Ok(Loaded { file, raw })
    }

    /// The resident value of the first attribute `ty` named `name` of `f`, through the crate
    /// (attribute lists followed), refused when longer than `max`.
    fn small_value(
        c: &mut Cursor<'_, R>,
        f: &NtfsFile<'_>,
        ty: NtfsAttributeType,
        name: &[u16],
        max: u64,
    ) -> Result<Option<Vec<u8>>, EntryError> {
        let rec = f.file_record_number();
        let mut it = f.attributes();
        while let Some(item) = it.next(c) {
            let item = item.map_err(crate_err(rec))?;
            let a = item.to_attribute().map_err(crate_err(rec))?;
            if a.ty().map_err(crate_err(rec))? != ty {
                continue;
            }
            let n = a.name().map_err(crate_err(rec))?;
            if !n.u16_iter().eq(name.iter().copied()) {
                continue;
            }
            let len = a.value_length();
            if len > max {
                return Err(EntryError::unsupported(
                    rec,
                    format!("attribute {ty:?} holds {len} bytes, more than the {max} accepted"),
                ));
            }
            check_plain(rec, a.flags(), ty)?;
            let mut v = a.value(c).map_err(crate_err(rec))?;
            let mut buf = vec![0u8; len as usize];
            v.read_exact(c, &mut buf).map_err(crate_err(rec))?;
            return Ok(Some(buf));
        }
        Ok(None)
    }

    /// The entries of the directory in record `dir` (every in-use index block read in turn:
    /// no recursion, no trust in subnode pointers), as `(file reference, $FILE_NAME key)`.
    fn index_entries(
        &self,
        c: &mut Cursor<'_, R>,
        dir: &Loaded<'_>,
    ) -> Result<Vec<(u64, FileName)>, EntryError> {
        let rec = dir.raw.number();
        let mut out = Vec::new();
        let mut push = |reference: u64, key: &[u8]| -> Result<(), EntryError> {
            let name = FileName::parse(key)
                .ok_or_else(|| EntryError::unsupported(rec, "an index key is not a $FILE_NAME"))?;
            if out.len() == self.limits.max_dir_entries {
                return Err(EntryError::unsupported(
                    rec,
                    format!(
                        "the directory has more than {} entries (Limits::max_dir_entries)",
                        self.limits.max_dir_entries
                    ),
                ));
            }
            out.push((reference, name));
            Ok(())
        };
        let (root, block_size) = Self::index_root(c, dir)?;
        for e in root.entries()? {
            push(e.reference, e.key)?;
        }
        let Some(alloc) = Self::allocation(c, dir, block_size)? else {
            return Ok(out);
        };
        let bitmap = Self::small_value(
            c,
            &dir.file,
            NtfsAttributeType::Bitmap,
            &I30,
            alloc.blocks.div_ceil(8) + 8,
        )?
        .unwrap_or_default();
        let mut buf = vec![0u8; block_size];
        for i in 0..alloc.blocks {
            let used = bitmap
                .get((i / 8) as usize)
                .is_some_and(|b| b & (1 << (i % 8)) != 0);
            if !used {
                continue;
            }
            alloc.read(c, &dir.file, i * block_size as u64, &mut buf)?;
            let block = IndexBlock::parse(&buf)?;
            for e in block.entries()? {
                push(e.reference, e.key)?;
            }
        }
        Ok(out)
    }

    /// The `$I30` index root of a directory as a block, and the index block size.
    fn index_root(
        c: &mut Cursor<'_, R>,
        dir: &Loaded<'_>,
    ) -> Result<(IndexBlock, usize), EntryError> {
        let rec = dir.raw.number();
        let v = Self::small_value(
            c,
            &dir.file,
            NtfsAttributeType::IndexRoot,
            &I30,
            record::MAX_RECORD_SIZE as u64,
        )?
        .ok_or_else(|| EntryError::unsupported(rec, "a directory without an $I30 index"))?;
        // INDEX_ROOT (ntfs-3g layout.h): attribute type 0x0, collation rule 0x4, index block
        // size 0x8, clusters per index block 0xC, then the INDEX_HEADER at 0x10.
        let block_size =
            v.get(8..12)
                .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])) as usize;
        if !(512..=record::MAX_RECORD_SIZE).contains(&block_size) || !block_size.is_power_of_two() {
            return Err(EntryError::unsupported(
                rec,
                format!("$I30 index block size {block_size} (expected 512 to 64 KiB)"),
            ));
        }
        let root = IndexBlock::from_root(&v, rec)?;
        Ok((root, block_size))
    }

    fn allocation(
        c: &mut Cursor<'_, R>,
        dir: &Loaded<'_>,
        block_size: usize,
    ) -> Result<Option<Allocation>, EntryError> {
        let rec = dir.raw.number();
        let mut it = dir.file.attributes();
        while let Some(item) = it.next(c) {
            let item = item.map_err(crate_err(rec))?;
            let a = item.to_attribute().map_err(crate_err(rec))?;
            if a.ty().map_err(crate_err(rec))? != NtfsAttributeType::IndexAllocation {
                continue;
            }
            if !a.name().map_err(crate_err(rec))?.u16_iter().eq(I30) {
                continue;
            }
            check_plain(rec, a.flags(), NtfsAttributeType::IndexAllocation)?;
            return Ok(Some(Allocation {
                rec,
                blocks: a.value_length() / block_size as u64,
            }));
        }
        Ok(None)
    }

    /// Looks `name` up in directory `dir` by descending its B-tree (at most
    /// [`MAX_INDEX_DEPTH`] levels).
    fn lookup(
        &self,
        c: &mut Cursor<'_, R>,
        dir: u64,
        name: &str,
    ) -> Result<Option<u64>, EntryError> {
        let want: Vec<u16> = name.encode_utf16().collect();
        let d = self.load(c, dir)?;
        if !d.raw.is_directory() {
            return Ok(None);
        }
        let (root, block_size) = Self::index_root(c, &d)?;
        let alloc = Self::allocation(c, &d, block_size)?;
        let mut node = root;
        let cluster = u64::from(self.ntfs.cluster_size());
        let mut buf = vec![0u8; block_size];
        for _ in 0..MAX_INDEX_DEPTH {
            let mut next = node.last_subnode()?;
            for e in node.entries()? {
                let key = FileName::parse(e.key)
                    .ok_or_else(|| EntryError::unsupported(dir, "an index key is not a name"))?;
                match self.collate(&want, &key.name) {
                    std::cmp::Ordering::Equal => return Ok(Some(e.reference)),
                    std::cmp::Ordering::Less => {
                        next = e.subnode;
                        break;
                    }
                    std::cmp::Ordering::Greater => {}
                }
            }
            let (Some(vcn), Some(alloc)) = (next, alloc.as_ref()) else {
                return Ok(None);
            };
            // Index VCNs count clusters, or 512-byte units when a block is smaller than a
            // cluster (ntfs-3g `index_vcn_size_bits`).
            let unit = if block_size as u64 >= cluster {
                cluster
            } else {
                512
            };
            let off = vcn.checked_mul(unit).ok_or_else(|| {
                EntryError::unsupported(dir, format!("index subnode VCN {vcn} out of range"))
            })?;
            alloc.read(c, &d.file, off, &mut buf)?;
            node = IndexBlock::parse(&buf)?;
            if node.vcn != vcn {
                return Err(EntryError::unsupported(
                    dir,
                    format!("index block read for VCN {vcn} holds VCN {}", node.vcn),
                ));
            }
        }
        Err(EntryError::unsupported(
            dir,
            format!("index deeper than {MAX_INDEX_DEPTH} levels (a cycle?)"),
        ))
    }

    /// The record of `path`, component by component from the root.
    fn resolve(&self, path: &WinPath) -> Result<Option<u64>, Error> {
        let mut c = self.cursor();
        let mut rec = ROOT_RECORD;
        for name in path.components() {
            match self.lookup(&mut c, rec, name) {
                Ok(Some(r)) if record_number(r) >= FIRST_USER_RECORD => rec = record_number(r),
                Ok(_) => return Ok(None),
                Err(e) => return Err(to_platform(path, e)),
            }
        }
        Ok(Some(rec))
    }

    fn resolve_existing(&self, path: &WinPath) -> Result<u64, Error> {
        self.resolve(path)?
            .ok_or_else(|| Error::NotFound { path: path.clone() })
    }

    /// The reparse buffer of a loaded record: the whole `$REPARSE_POINT` value, which is the
    /// `REPARSE_DATA_BUFFER` FSCTL_GET_REPARSE_POINT returns (tag, length, reserved, data;
    /// ntfs-3g `REPARSE_POINT` in layout.h, and the value of its `system.ntfs_reparse_data`).
    fn reparse_of(c: &mut Cursor<'_, R>, l: &Loaded<'_>) -> Result<Option<Vec<u8>>, EntryError> {
        Self::small_value(
            c,
            &l.file,
            NtfsAttributeType::ReparsePoint,
            &[],
            MAX_REPARSE_BUFFER,
        )
    }

    /// The listing entry of `reference` found under `name` in directory `dir_rec`, or `None`
    /// when the entry is a second name of a file listed under its first (hard links, once).
    fn entry(
        &self,
        c: &mut Cursor<'_, R>,
        dir: &WinPath,
        dir_rec: u64,
        reference: u64,
        key: &FileName,
    ) -> Option<SourceEntry> {
        let unsupported = |name: String, why| SourceEntry {
            name,
            kind: EntryKind::Unsupported(why),
            len: 0,
            attributes: 0,
            modified: None,
            accessed: None,
            reparse: None,
        };
        let Ok(name) = String::from_utf16(&key.name) else {
            return Some(unsupported(key.name_lossy(), Unsupported::NameNotUtf8));
        };
        let rec = record_number(reference);
        let unreadable = |name: String, e: EntryError| {
            unsupported(
                name,
                Unsupported::Unreadable {
                    what: "reading the MFT record",
                    message: e.to_string(),
                },
            )
        };
        let l = match self.load(c, rec) {
            Ok(l) => l,
            Err(e) => return Some(unreadable(name, e)),
        };
        let seq = (reference >> 48) as u16;
        if seq != 0 && seq != l.raw.sequence {
            let e = EntryError::unsupported(
                rec,
                format!(
                    "the directory entry names sequence {seq}, the record holds {} (a stale entry)",
                    l.raw.sequence
                ),
            );
            return Some(unreadable(name, e));
        }
        // Hard links: listed once, under the name that sorts first (parent record, then the
        // name's UTF-16 units) among the record's names that are not DOS names. NTFS keeps no
        // "original" name, and the order of $FILE_NAME attributes in a record is by value.
        let primary = l
            .raw
            .attributes()
            .filter_map(Result::ok)
            .filter_map(|a| match (a.ty, &a.value) {
                (attr_type::FILE_NAME, record::Value::Resident(v)) => {
                    FileName::parse(v).filter(|f| f.namespace != NAMESPACE_DOS)
                }
                _ => None,
            })
            .min_by(|a, b| {
                (record_number(a.parent), &a.name).cmp(&(record_number(b.parent), &b.name))
            });
        if let Some(p) = primary
            && (record_number(p.parent) != dir_rec || p.name != key.name)
        {
            return None;
        }
        if let Err(e) = dir.join(&name) {
            let reason = match e {
                Error::InvalidPath { reason, .. } => reason,
                _ => "rejected",
            };
            return Some(unsupported(name, Unsupported::InvalidName { reason }));
        }
        let si = match l.raw.find(attr_type::STANDARD_INFORMATION, &[]) {
            Ok(Some(a)) => match a.value {
                record::Value::Resident(v) => StandardInformation::parse(v),
                record::Value::NonResident(_) => None,
            },
            _ => None,
        };
        let Some(si) = si else {
            let e = EntryError::unsupported(rec, "no readable $STANDARD_INFORMATION");
            return Some(unreadable(name, e));
        };
        let is_dir = l.raw.is_directory();
        let (len, reparse) = if is_dir {
            (0, None)
        } else {
            let r = Self::reparse_of(c, &l).and_then(|reparse| {
                let len = Self::data_len(c, &l)?;
                Ok((len, reparse))
            });
            match r {
                Ok(v) => v,
                Err(e) => return Some(unreadable(name, e)),
            }
        };
        let mut attributes = si.attributes & !attr::NORMAL;
        if is_dir {
            attributes |= attr::DIRECTORY;
        }
        if reparse.is_some() {
            attributes |= attr::REPARSE_POINT;
        }
        Some(SourceEntry {
            name,
            kind: if is_dir {
                EntryKind::Dir
            } else {
                EntryKind::File
            },
            len,
            attributes,
            modified: record::nt_time(si.modified),
            accessed: record::nt_time(si.accessed),
            reparse,
        })
    }

    /// The length of the unnamed `$DATA` (0 when there is none); compressed or encrypted data
    /// is refused (the crate would return the stored bytes, not the file's).
    fn data_len(c: &mut Cursor<'_, R>, l: &Loaded<'_>) -> Result<u64, EntryError> {
        let rec = l.raw.number();
        match l.file.data(c, "") {
            None => Ok(0),
            Some(item) => {
                let item = item.map_err(crate_err(rec))?;
                let a = item.to_attribute().map_err(crate_err(rec))?;
                check_plain(rec, a.flags(), NtfsAttributeType::Data)?;
                Ok(a.value_length())
            }
        }
    }
}

/// Refuses compressed and encrypted values: the crate reads their stored bytes, which are not
/// the file's.
fn check_plain(
    rec: u64,
    flags: NtfsAttributeFlags,
    ty: NtfsAttributeType,
) -> Result<(), EntryError> {
    if flags.contains(NtfsAttributeFlags::COMPRESSED) {
        return Err(EntryError::unsupported(
            rec,
            format!("{ty:?} is NTFS-compressed (LZNT1), which this reader does not decode"),
        ));
    }
    if flags.contains(NtfsAttributeFlags::ENCRYPTED) {
        return Err(EntryError::unsupported(
            rec,
            format!("{ty:?} is EFS-encrypted"),
        ));
    }
    Ok(())
}

/// A directory's `$I30` `$INDEX_ALLOCATION`, read a block at a time through the crate.
struct Allocation {
    rec: u64,
    blocks: u64,
}

impl Allocation {
    fn read<R: ReadAt>(
        &self,
        c: &mut Cursor<'_, R>,
        file: &NtfsFile<'_>,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<(), EntryError> {
        let rec = self.rec;
        let mut it = file.attributes();
        while let Some(item) = it.next(c) {
            let item = item.map_err(crate_err(rec))?;
            let a = item.to_attribute().map_err(crate_err(rec))?;
            if a.ty().map_err(crate_err(rec))? != NtfsAttributeType::IndexAllocation
                || !a.name().map_err(crate_err(rec))?.u16_iter().eq(I30)
            {
                continue;
            }
            let mut v = a.value(c).map_err(crate_err(rec))?;
            v.seek(c, SeekFrom::Start(offset)).map_err(crate_err(rec))?;
            return v.read_exact(c, buf).map_err(crate_err(rec));
        }
        Err(EntryError::unsupported(rec, "no $I30 $INDEX_ALLOCATION"))
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
