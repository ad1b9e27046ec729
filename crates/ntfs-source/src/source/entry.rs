//! One record as a source entry: loading it through the crate and our gate, its small values,
//! reparse point and data length.

use ntfs::{NtfsAttributeFlags, NtfsAttributeType, NtfsFile, NtfsReadSeek};
use platform::{EntryKind, Error, SourceEntry, Unsupported, WinPath, attr};

use super::{EntryError, Inner, Loaded, MAX_REPARSE_BUFFER, crate_err};
use crate::read_at::{Cursor, ReadAt, read_exact_at};
use crate::record::{
    self, FileName, FileRecord, NAMESPACE_DOS, StandardInformation, attr_type, record_number,
};

impl<R: ReadAt> Inner<R> {
    /// Record `number` through the crate, then through our gate.
    pub(super) fn load<'n>(
        &'n self,
        c: &mut Cursor<'_, R>,
        number: u64,
    ) -> Result<Loaded<'n>, EntryError> {
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
    pub(super) fn small_value(
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

    /// The reparse buffer of a loaded record: the whole `$REPARSE_POINT` value, which is the
    /// `REPARSE_DATA_BUFFER` FSCTL_GET_REPARSE_POINT returns (tag, length, reserved, data;
    /// ntfs-3g `REPARSE_POINT` in layout.h, and the value of its `system.ntfs_reparse_data`).
    pub(super) fn reparse_of(
        c: &mut Cursor<'_, R>,
        l: &Loaded<'_>,
    ) -> Result<Option<Vec<u8>>, EntryError> {
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
    pub(super) fn entry(
        &self,
        c: &mut Cursor<'_, R>,
        dir: &WinPath,
        dir_rec: u64,
        reference: u64,
        key: &FileName,
    ) -> Option<SourceEntry> {
        let unsupported = SourceEntry::unsupported;
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
    pub(super) fn data_len(c: &mut Cursor<'_, R>, l: &Loaded<'_>) -> Result<u64, EntryError> {
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
pub(super) fn check_plain(
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
