//! Re-runs of an out-of-place restore: what an interrupted run left behind, and files that are
//! already in place.
//!
//! * Every file is built under a temporary sibling name `NAME.rehydrate~N` and renamed into
//!   place when complete, so a run that was killed leaves only such names behind. A later run
//!   removes them from every folder it restores into and reports each one, but for a file
//!   the source's folder holds too, by that name and with those bytes: that one is the
//!   source's, restored by an earlier run.
//! * A file already at its path is never replaced. When its bytes are exactly what the restore
//!   would write (a copy: the source file's bytes; a dedup file: the rebuilt and verified
//!   bytes, compared as they are produced), it is reported skipped; otherwise it fails with
//!   `ERROR_ALREADY_EXISTS`.

use std::borrow::Cow;
use std::collections::HashMap;

use platform::{
    EntryKind, FileHandle, Metadata, OpenOptions, Source, SourceEntry, SourceFile, Volume, WinPath,
};

use crate::error::{FileError, Stage};

/// Bytes compared per read.
const COMPARE_BUF: usize = 1 << 20;

/// What a temporary name has between its stem and its number.
const TEMPORARY_MARK: &str = ".rehydrate~";

/// The stem of temporary name `name` (`STEM.rehydrate~N`, the mark as written or, with
/// `any_case`, in any ASCII case), or `None` when `name` is not one.
fn temporary_stem(name: &str, any_case: bool) -> Option<&str> {
    let at = if any_case {
        // Compared byte by byte: the mark is ASCII, and a byte of a longer UTF-8 character
        // never equals an ASCII one, so a match starts on a character boundary.
        name.as_bytes()
            .windows(TEMPORARY_MARK.len())
            .rposition(|w| w.eq_ignore_ascii_case(TEMPORARY_MARK.as_bytes()))?
    } else {
        name.rfind(TEMPORARY_MARK)?
    };
    let number = &name[at + TEMPORARY_MARK.len()..];
    (at > 0 && !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
        .then(|| &name[..at])
}

/// Whether `name` is a temporary name of ours (`NAME.rehydrate~N`).
#[must_use]
pub fn is_temporary_name(name: &str) -> bool {
    temporary_stem(name, false).is_some()
}

/// The path whose temporary sibling `path` is (`None` when its name is not a temporary one).
pub(crate) fn original_of(path: &WinPath) -> Option<WinPath> {
    let stem = temporary_stem(path.file_name()?, false)?;
    path.parent()?.join(stem).ok()
}

/// `path` with the temporary-name suffixes of its final name taken off (`.rehydrate~N`, in
/// any case, as often as they repeat): the file a temporary sibling of that name would be for,
/// on a volume that compares names case-insensitively.
/// Borrowed when the name is not a temporary one (most names: nothing is allocated).
pub(crate) fn untemporary(path: &WinPath) -> Cow<'_, WinPath> {
    let mut p = Cow::Borrowed(path);
    while let Some(original) = p
        .file_name()
        .and_then(|name| temporary_stem(name, true))
        .and_then(|stem| p.parent()?.join(stem).ok())
    {
        p = Cow::Owned(original);
    }
    p
}

/// Removes the [`leftovers`] in folder `dir` of `dest`; returns the paths of those removed.
pub(crate) fn sweep(source: &dyn Source, dest: &dyn Volume, dir: &WinPath) -> Vec<WinPath> {
    leftovers(source, dest, dir)
        .into_iter()
        .filter(|p| dest.delete_file(p).is_ok())
        .collect()
}

/// The files with temporary names in folder `dir` of `dest`, which a run removes before it
/// restores into the folder (a dry run reports them). A folder that cannot be listed yields
/// nothing (the restore into it reports its own error).
///
/// A name the source's folder `dir` holds too (in any case, in any of its spellings there) is
/// kept when the destination holds what an earlier run restored from that entry (see
/// [`restored_from`]): a re-run whose filters leave it out must not delete it, and one that
/// selects it finds it in place. A leftover that only shares its name (a run killed while
/// building `x` left `x.rehydrate~0` beside the source's own `x.rehydrate~0`) is removed.
/// When the source's folder cannot be listed, nothing is removed: only a name known not to be
/// the source's is.
pub(crate) fn leftovers(source: &dyn Source, dest: &dyn Volume, dir: &WinPath) -> Vec<WinPath> {
    let Ok(entries) = dest.read_dir(dir) else {
        return Vec::new();
    };
    let mut temporary = entries
        .into_iter()
        .filter(|e| !e.metadata.is_dir() && is_temporary_name(&e.name))
        .filter_map(|e| Some((dir.join(&e.name).ok()?, e.metadata)))
        .peekable();
    // Most folders hold none: the source's folder is then not listed.
    if temporary.peek().is_none() {
        return Vec::new();
    }
    let Some(sources) = source_temporary_entries(source, dir) else {
        return Vec::new();
    };
    temporary
        .filter(|(p, there)| {
            !sources.get(p).is_some_and(|spellings| {
                spellings
                    .iter()
                    .any(|e| restored_from(source, dest, dir, (p, there), e))
            })
        })
        .map(|(p, _)| p)
        .collect()
}

/// The entries of the source's folder `dir` whose names look temporary in any case, by path
/// compared case-insensitively, as the destination compares names (a case-sensitive source
/// can hold one name in several spellings); `None` when the folder cannot be listed. A folder
/// the source does not hold has none.
fn source_temporary_entries(
    source: &dyn Source,
    dir: &WinPath,
) -> Option<HashMap<WinPath, Vec<SourceEntry>>> {
    let entries = match source.read_dir(dir) {
        Ok(entries) => entries,
        Err(platform::Error::NotFound { .. }) => Vec::new(),
        Err(_) => return None,
    };
    let mut by_name: HashMap<WinPath, Vec<SourceEntry>> = HashMap::new();
    for e in entries {
        if temporary_stem(&e.name, true).is_some()
            && let Ok(p) = dir.join(&e.name)
        {
            by_name.entry(p).or_default().push(e);
        }
    }
    Some(by_name)
}

/// Whether what the destination holds at `path` (`there`) is what a run restored from the
/// source's `entry` of that name in folder `dir`: a link for a link (a restore never compares
/// a link's target); a file of its length, and for a copy of its bytes. (A dedup file's bytes
/// are not compared: that would mean rebuilding it. A leftover of its length is kept, and a
/// re-run that selects the entry reports it as a conflict, or replaces it, by policy.)
fn restored_from(
    source: &dyn Source,
    dest: &dyn Volume,
    dir: &WinPath,
    (path, there): (&WinPath, &Metadata),
    entry: &SourceEntry,
) -> bool {
    match entry.kind {
        EntryKind::Symlink { .. } => there.is_reparse_point(),
        EntryKind::File if !there.is_reparse_point() && there.len == entry.len => {
            entry.reparse.is_some()
                || dir
                    .join(&entry.name)
                    .and_then(|own| source.open_file(&own))
                    .is_ok_and(|src| same_as_source(src.as_ref(), dest, path).unwrap_or(false))
        }
        _ => false,
    }
}

/// Whether the two readers hold the same bytes.
fn same(
    len_a: u64,
    len_b: u64,
    mut read_a: impl FnMut(u64, &mut [u8]) -> Result<(), platform::Error>,
    mut read_b: impl FnMut(u64, &mut [u8]) -> Result<(), platform::Error>,
) -> Result<bool, platform::Error> {
    if len_a != len_b {
        return Ok(false);
    }
    let (mut a, mut b) = (vec![0u8; COMPARE_BUF], vec![0u8; COMPARE_BUF]);
    let mut at = 0u64;
    while at < len_a {
        let n = usize::try_from((len_a - at).min(COMPARE_BUF as u64)).unwrap_or(COMPARE_BUF);
        read_a(at, &mut a[..n])?;
        read_b(at, &mut b[..n])?;
        if a[..n] != b[..n] {
            return Ok(false);
        }
        at += n as u64;
    }
    Ok(true)
}

/// Whether the file at `path` in `dest` holds exactly the bytes of `src`.
pub(crate) fn same_as_source(
    src: &dyn SourceFile,
    dest: &dyn Volume,
    path: &WinPath,
) -> Result<bool, FileError> {
    let existing = dest
        .open(path, OpenOptions::READ_EXISTING)
        .map_err(|e| FileError::platform(Stage::Placing, e))?;
    let src_len = src
        .len()
        .map_err(|e| FileError::platform(Stage::ReadingSource, e))?;
    let dst_len = existing
        .len()
        .map_err(|e| FileError::platform(Stage::Placing, e))?;
    same(
        src_len,
        dst_len,
        |at, buf| read_exact(|o, b| src.read_at(o, b), at, buf),
        |at, buf| existing.read_exact_at(at, buf),
    )
    .map_err(|e| FileError::platform(Stage::Placing, e))
}

/// Whether two open files of a volume hold the same bytes.
pub(crate) fn same_files(a: &dyn FileHandle, b: &dyn FileHandle) -> Result<bool, platform::Error> {
    same(
        a.len()?,
        b.len()?,
        |at, buf| a.read_exact_at(at, buf),
        |at, buf| b.read_exact_at(at, buf),
    )
}

/// Whether two files of a source hold the same bytes.
pub(crate) fn same_source_files(
    a: &dyn SourceFile,
    b: &dyn SourceFile,
) -> Result<bool, platform::Error> {
    same(
        a.len()?,
        b.len()?,
        |at, buf| read_exact(|o, x| a.read_at(o, x), at, buf),
        |at, buf| read_exact(|o, x| b.read_at(o, x), at, buf),
    )
}

fn read_exact(
    mut read_at: impl FnMut(u64, &mut [u8]) -> Result<usize, platform::Error>,
    mut at: u64,
    mut buf: &mut [u8],
) -> Result<(), platform::Error> {
    while !buf.is_empty() {
        let n = read_at(at, buf)?;
        if n == 0 {
            return Err(platform::Error::Io {
                path: WinPath::root(),
                source: std::io::ErrorKind::UnexpectedEof.into(),
            });
        }
        buf = &mut buf[n..];
        at += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names() {
        assert!(is_temporary_name("report.pdf.rehydrate~0"));
        assert!(is_temporary_name("a.rehydrate~123"));
        assert!(!is_temporary_name(".rehydrate~1"));
        assert!(!is_temporary_name("report.pdf.rehydrate~"));
        assert!(!is_temporary_name("report.pdf.rehydrate~1x"));
        assert!(!is_temporary_name("report.pdf"));
    }

    /// Suffixes in any ASCII case come off, as often as they repeat, beside names of any
    /// script; a name that is not temporary comes back borrowed.
    #[test]
    fn untemporary_takes_suffixes_off_in_any_case() {
        let off = |p: &str| untemporary(&WinPath::new(p).unwrap()).to_string();
        assert_eq!(off("\\d\\Ünïcødé.bin.ReHydrate~7"), "\\d\\Ünïcødé.bin");
        assert_eq!(off("\\d\\ü.REHYDRATE~1.rehydrate~22"), "\\d\\ü");
        assert_eq!(off("\\d\\ü.rehydrate~ü"), "\\d\\ü.rehydrate~ü");
        assert_eq!(off("\\d\\.REHYDRATE~3"), "\\d\\.REHYDRATE~3");
        let plain = WinPath::new("\\d\\report.pdf").unwrap();
        assert!(matches!(untemporary(&plain), Cow::Borrowed(_)));
    }
}
