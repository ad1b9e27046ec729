//! Directory lookup: `$I30` index roots and allocations walked with NTFS name collation.

use std::io::SeekFrom;

use ntfs::{NtfsAttributeType, NtfsFile, NtfsReadSeek};
use platform::{Error, WinPath};

use super::{
    EntryError, FIRST_USER_RECORD, I30, Inner, Loaded, MAX_INDEX_DEPTH, ROOT_RECORD, check_plain,
    crate_err, to_platform,
};
use crate::read_at::{Cursor, ReadAt};
use crate::record::{self, FileName, IndexBlock, record_number};

impl<R: ReadAt> Inner<R> {
    pub(super) fn upcase(&self, u: u16) -> u16 {
        self.upcase.get(usize::from(u)).copied().unwrap_or(u)
    }

    /// NTFS file-name collation: upcased UTF-16 units compared in order, then length.
    pub(super) fn collate(&self, a: &[u16], b: &[u16]) -> std::cmp::Ordering {
        a.iter()
            .map(|&u| self.upcase(u))
            .cmp(b.iter().map(|&u| self.upcase(u)))
    }

    /// The entries of the directory in record `dir` (every in-use index block read in turn:
    /// no recursion, no trust in subnode pointers), as `(file reference, $FILE_NAME key)`.
    pub(super) fn index_entries(
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
    pub(super) fn index_root(
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

    pub(super) fn allocation(
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
    pub(super) fn lookup(
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
    pub(super) fn resolve(&self, path: &WinPath) -> Result<Option<u64>, Error> {
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

    pub(super) fn resolve_existing(&self, path: &WinPath) -> Result<u64, Error> {
        self.resolve(path)?
            .ok_or_else(|| Error::NotFound { path: path.clone() })
    }
}

/// A directory's `$I30` `$INDEX_ALLOCATION`, read a block at a time through the crate.
pub(super) struct Allocation {
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
