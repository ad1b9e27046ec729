//! Placing one entry in the destination: the slot checked (nothing replaced), a dedup stub
//! staged, an ordinary file copied through a temporary sibling.

use dedup_reparse::DedupReparse;
use platform::{Source, Volume, WinPath, attr};

use crate::error::{FileError, ReparseTag, Stage};
use crate::staged::Stub;
use crate::tree::{EntryStatus, Item, is_dedup};

/// Bytes copied per read when copying an ordinary file.
const COPY_BUF: usize = 1 << 20;

/// Creates `path`'s parent in `dest` and checks nothing is at `path` yet (with `resume`, a
/// plain file may be: it is compared with what would be written). Returns whether one is.
pub(crate) fn prepare_slot(
    dest: &dyn Volume,
    path: &WinPath,
    resume: bool,
) -> Result<bool, platform::Error> {
    dest.create_dir_all(&path.parent().unwrap_or_else(WinPath::root))?;
    match dest.metadata(path) {
        Err(platform::Error::NotFound { .. }) => Ok(false),
        Ok(m) if resume && !m.is_dir() && !m.is_reparse_point() => Ok(true),
        Ok(_) => Err(platform::Error::AlreadyExists { path: path.clone() }),
        Err(e) => Err(e),
    }
}

/// Reads a dedup stub's reparse point (again) and checks it is one: a buffer with another
/// tag, or too short for a tag, is refused rather than copied as the file's content.
pub(crate) fn stage_stub(
    source: &dyn Source,
    dest: &dyn Volume,
    item: &Item,
    resume: bool,
) -> Result<Stub, FileError> {
    let reparse = source
        .reparse_point(&item.path)
        .map_err(|e| FileError::platform(Stage::ReadingSource, e))?
        .ok_or_else(|| {
            FileError::platform(
                Stage::ReadingSource,
                platform::Error::NotAReparsePoint {
                    path: item.path.clone(),
                },
            )
        })?;
    if !is_dedup(&reparse) {
        let tag = reparse
            .get(..4)
            .map(|t| u32::from_le_bytes([t[0], t[1], t[2], t[3]]));
        return Err(FileError::ForeignReparse {
            tag: ReparseTag(tag),
        });
    }
    prepare_slot(dest, &item.path, resume).map_err(|e| FileError::platform(Stage::Placing, e))?;
    let logical = DedupReparse::parse(&reparse).map_or(0, |r| r.logical_size());
    Ok(Stub {
        reparse,
        attributes: item.entry.attributes & !attr::REPARSE_POINT & !attr::DIRECTORY,
        logical,
    })
}

/// Copies an ordinary file through a temporary sibling, renamed into place (without
/// replacing anything) only when complete; all-zero blocks are left as holes. With `resume`, a
/// file already there with the same bytes is kept ([`EntryStatus::Skipped`]).
pub(crate) fn copy_file(
    source: &dyn Source,
    dest: &dyn Volume,
    item: &Item,
    resume: bool,
) -> Result<(EntryStatus, u64), FileError> {
    let there = prepare_slot(dest, &item.path, resume)
        .map_err(|e| FileError::platform(Stage::Placing, e))?;
    let src = source
        .open_file(&item.path)
        .map_err(|e| FileError::platform(Stage::ReadingSource, e))?;
    if there {
        return if crate::resume::same_as_source(src.as_ref(), dest, &item.path)? {
            Ok((EntryStatus::Skipped, 0))
        } else {
            Err(FileError::platform(
                Stage::Placing,
                platform::Error::AlreadyExists {
                    path: item.path.clone(),
                },
            ))
        };
    }
    let (temp, out) = crate::engine::create_temp(dest, &item.path)
        .map_err(|e| FileError::platform(Stage::Creating, e))?;
    let result = (|| {
        let mut buf = vec![0u8; COPY_BUF];
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
        dest.rename(&temp, &item.path, false)
            .map_err(|e| FileError::platform(Stage::Placing, e))?;
        Ok((EntryStatus::Copied, at))
    })();
    if result.is_err() {
        let _ = dest.delete_file(&temp);
    }
    result
}
