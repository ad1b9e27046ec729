//! Placing one entry in the destination: the slot checked (what is there, under which
//! overwrite policy), a dedup stub staged, an ordinary file copied through a temporary sibling.

use foldhash::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

use dedup_reparse::DedupReparse;
use platform::{Source, Volume, WinPath, attr};

use crate::error::{FileError, ReparseTag, Stage};
use crate::staged::Stub;
use crate::tree::{Item, Overwrite, is_dedup};

/// Bytes copied per read when copying an ordinary file.
const COPY_BUF: usize = 1 << 20;

/// What is at an entry's path in the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Nothing.
    Free,
    /// A plain file of this length: compared, kept or replaced as the policy says.
    File(u64),
    /// A folder, a link or another reparse point: never replaced.
    Other,
}

/// What is at `path` in `dest`, without creating anything.
pub(crate) fn slot(dest: &dyn Volume, path: &WinPath) -> Result<Slot, platform::Error> {
    Ok(match dest.existing(path)? {
        None => Slot::Free,
        Some(m) if !m.is_dir() && !m.is_reparse_point() => Slot::File(m.len),
        Some(_) => Slot::Other,
    })
}

/// The destination folders this restore has made (or found) already, so that a file's folder
/// is made once per folder and not checked again for each of its files (20,000 files cost
/// 20,000 lookups of their folder otherwise).
#[derive(Debug, Default)]
pub(crate) struct Folders(Mutex<HashSet<WinPath>>);

impl Folders {
    /// Makes `dir` and its ancestors in `dest` unless this restore did already; whether this
    /// restore meets `dir` (in any spelling) for the first time.
    pub(crate) fn make(&self, dest: &dyn Volume, dir: &WinPath) -> Result<bool, platform::Error> {
        if self.known().contains(dir) {
            return Ok(false);
        }
        dest.create_dir_all(dir)?;
        Ok(self.known().insert(dir.clone()))
    }

    fn known(&self) -> MutexGuard<'_, HashSet<WinPath>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Makes `path`'s folder in `dest` (once per folder, through `folders`) and says what is at
/// `path`.
pub(crate) fn prepare_slot(
    dest: &dyn Volume,
    folders: &Folders,
    path: &WinPath,
) -> Result<Slot, platform::Error> {
    folders.make(dest, &path.parent().unwrap_or_else(WinPath::root))?;
    slot(dest, path)
}

/// The error a conflict carries: the path is taken and was kept.
pub(crate) fn taken(path: &WinPath) -> FileError {
    FileError::platform(
        Stage::Placing,
        platform::Error::AlreadyExists { path: path.clone() },
    )
}

/// How an entry was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placed {
    /// Written (or, in a dry run, would be), over an existing file when `replaced`.
    Written {
        /// Bytes.
        bytes: u64,
        /// An existing file was (would be) replaced.
        replaced: bool,
    },
    /// An identical file is already there: kept.
    Skipped,
    /// A different file, or something that is never replaced, is there: kept.
    Conflict,
}

/// What to do with an existing plain file of `len` bytes at an entry's path, when a file of
/// `want` bytes would be written there: `None` to decide by comparing the bytes.
pub(crate) fn by_size(policy: Overwrite, len: u64, want: u64) -> Option<Placed> {
    match policy {
        Overwrite::Always => Some(Placed::Written {
            bytes: want,
            replaced: true,
        }),
        _ if len == want => None,
        Overwrite::Never => Some(Placed::Conflict),
        Overwrite::IfChanged => Some(Placed::Written {
            bytes: want,
            replaced: true,
        }),
    }
}

/// Reads a dedup stub's reparse point (again) and checks it is one: a buffer with another
/// tag, or too short for a tag, is refused rather than copied as the file's content.
pub(crate) fn stage_stub(
    source: &dyn Source,
    dest: &dyn Volume,
    folders: &Folders,
    item: &Item,
    policy: Overwrite,
) -> Result<Option<Stub>, FileError> {
    let reparse = read_stub(source, item)?;
    // The walk's parse of the buffer it kept, else this one's.
    let logical = item
        .logical
        .unwrap_or_else(|| DedupReparse::parse(&reparse).map_or(0, |r| r.logical_size()));
    match prepare_slot(dest, folders, &item.path)
        .map_err(|e| FileError::platform(Stage::Placing, e))?
    {
        Slot::Other => return Ok(None),
        // Known to differ: a conflict without rebuilding the file.
        Slot::File(len) if by_size(policy, len, logical) == Some(Placed::Conflict) => {
            return Ok(None);
        }
        _ => {}
    }
    Ok(Some(Stub {
        reparse,
        // Read-only is given back once the file is rebuilt (`tree::finish_restored`): the
        // engine, like RestoreFiles, refuses to replace a read-only stub.
        attributes: item.entry.attributes
            & !attr::REPARSE_POINT
            & !attr::DIRECTORY
            & !attr::READONLY,
        logical,
        times: (item.entry.modified, item.entry.accessed),
    }))
}

/// A source file's reparse point, checked to be a dedup reparse point: the buffer the walk kept,
/// or read again from the source when the walk did not keep it (past its budget, so that a
/// plan's size does not grow without bound with the stubs' reparse data).
pub(crate) fn read_stub(source: &dyn Source, item: &Item) -> Result<Vec<u8>, FileError> {
    let reparse = match &item.entry.reparse {
        Some(r) if !r.is_empty() => r.clone(),
        _ => source
            .reparse_point(&item.path)
            .map_err(|e| FileError::platform(Stage::ReadingSource, e))?
            .ok_or_else(|| {
                FileError::platform(
                    Stage::ReadingSource,
                    platform::Error::NotAReparsePoint {
                        path: item.path.clone(),
                    },
                )
            })?,
    };
    if !is_dedup(&reparse) {
        let tag = reparse
            .get(..4)
            .map(|t| u32::from_le_bytes([t[0], t[1], t[2], t[3]]));
        return Err(FileError::ForeignReparse {
            tag: ReparseTag(tag),
        });
    }
    Ok(reparse)
}

/// What copying `item` over the existing plain file of `len` bytes at its path would do
/// under `policy` (comparing the bytes with the source where the sizes do not decide).
pub(crate) fn existing_copy(
    src: &dyn platform::SourceFile,
    dest: &dyn Volume,
    item: &Item,
    len: u64,
    policy: Overwrite,
) -> Result<Placed, FileError> {
    let want = src
        .len()
        .map_err(|e| FileError::platform(Stage::ReadingSource, e))?;
    if let Some(p) = by_size(policy, len, want) {
        return Ok(p);
    }
    if crate::resume::same_as_source(src, dest, &item.path)? {
        Ok(Placed::Skipped)
    } else if policy == Overwrite::IfChanged {
        Ok(Placed::Written {
            bytes: want,
            replaced: true,
        })
    } else {
        Ok(Placed::Conflict)
    }
}

/// Copies an ordinary file through a temporary sibling, renamed into place only when
/// complete; all-zero blocks are left as holes. A file already at its path is kept when
/// identical ([`Placed::Skipped`]), otherwise kept as a conflict or replaced as `policy` says;
/// a folder or a link there is never replaced. Replacing is one rename over the old file, so a
/// failure leaves it in place.
pub(crate) fn copy_file(
    source: &dyn Source,
    dest: &dyn Volume,
    folders: &Folders,
    item: &Item,
    policy: Overwrite,
) -> Result<Placed, FileError> {
    let there = prepare_slot(dest, folders, &item.path)
        .map_err(|e| FileError::platform(Stage::Placing, e))?;
    let src = source
        .open_file(&item.path)
        .map_err(|e| FileError::platform(Stage::ReadingSource, e))?;
    let replace = match there {
        Slot::Free => false,
        Slot::Other => return Ok(Placed::Conflict),
        Slot::File(len) => match existing_copy(src.as_ref(), dest, item, len, policy)? {
            Placed::Written { .. } => true,
            other => return Ok(other),
        },
    };
    let (temp, out) = crate::engine::create_temp(dest, &item.path)
        .map_err(|e| FileError::platform(Stage::Creating, e))?;
    let result = (|| {
        // Sized to the file (one byte more, so that the read finding its end is the second):
        // most plain files of a dedup volume are the small ones the optimizer left, and a
        // zeroed 1 MiB buffer for each was a memset of 2.3 GB on a volume of 20,000 files.
        let size = usize::try_from(item.entry.len.saturating_add(1)).unwrap_or(COPY_BUF);
        let mut buf = vec![0u8; size.clamp(4096, COPY_BUF)];
        let mut at = 0u64;
        loop {
            let n = src
                .read_at(at, &mut buf)
                .map_err(|e| FileError::platform(Stage::ReadingSource, e))?;
            if n == 0 {
                break;
            }
            if !crate::engine::all_zero(&buf[..n]) {
                out.write_all_at(at, &buf[..n]).map_err(|e| {
                    FileError::platform(
                        Stage::Writing {
                            offset: at,
                            len: n as u64,
                        },
                        e,
                    )
                })?;
            }
            at += n as u64;
        }
        out.set_len(at)
            .map_err(|e| FileError::platform(Stage::Finishing, e))?;
        let attrs = item.entry.attributes & attr::SETTABLE & !attr::READONLY;
        match out.set_attributes(attrs) {
            Ok(()) | Err(platform::Error::Unsupported { .. }) => {}
            Err(e) => return Err(FileError::platform(Stage::Finishing, e)),
        }
        drop(out);
        if replace && !matches!(slot(dest, &item.path), Ok(Slot::File(_) | Slot::Free)) {
            // No longer a plain file (a link or a folder put there meanwhile): kept.
            return Ok(Placed::Conflict);
        }
        dest.rename(&temp, &item.path, replace)
            .map_err(|e| FileError::platform(Stage::Placing, e))?;
        Ok(Placed::Written {
            bytes: at,
            replaced: replace,
        })
    })();
    if !matches!(result, Ok(Placed::Written { .. })) {
        let _ = dest.delete_file(&temp);
    }
    result
}
