//! Moving volumes between the host and the simulator: [`import_dir`] loads an ordinary host
//! folder into a [`SimVolume`]; [`export_volume`] writes a volume out as a host-directory volume
//! ([`platform::HostVolume`]'s conventions): every file at its path, stubs as sparse files of
//! their logical size carrying the full reparse buffer in `user.ntfs_reparse_data` and their
//! attributes in `user.rehydrate.attributes`, and the chunk store as ordinary files.

use std::fs;
use std::path::{Path, PathBuf};

use platform::{
    Access, Disposition, Error, HostVolume, OpenOptions, ShareMode, Volume, WinPath, attr,
};

use crate::SimVolume;

/// Error of [`import_dir`] and [`export_volume`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// A host file-system operation failed.
    #[error("{path}: {source}")]
    Host {
        /// The host path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A host entry cannot be represented on a Windows volume.
    #[error("{path}: {reason}")]
    Unrepresentable {
        /// The host path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A volume operation failed.
    #[error(transparent)]
    Volume(#[from] Error),
    /// The output folder cannot store reparse points.
    #[error(
        "{0}: the file system does not accept user.* extended attributes, so reparse points cannot be stored (use tmpfs or ext4/xfs/btrfs with user xattrs)"
    )]
    NoXattrs(PathBuf),
}

/// What [`import_dir`] loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportReport {
    /// Files created.
    pub files: usize,
    /// Directories created.
    pub dirs: usize,
    /// Bytes of file data.
    pub bytes: u64,
}

fn host_err(path: &Path) -> impl FnOnce(std::io::Error) -> HostError + '_ {
    move |source| HostError::Host {
        path: path.to_owned(),
        source,
    }
}

/// A host entry [`import_dir`] cannot put on a Windows volume, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The host path.
    pub path: PathBuf,
    /// Why it cannot be imported.
    pub reason: UnsupportedReason,
}

/// Why a host entry cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnsupportedReason {
    /// A symbolic link (NTFS links are reparse points the simulator does not make from host
    /// links).
    SymbolicLink,
    /// A socket, FIFO or device node.
    SpecialFile,
    /// The name is not valid UTF-8, so it has no UTF-16 form.
    NotUtf8,
    /// Windows cannot hold the name (reserved characters, `CON`, a trailing dot...).
    BadName(String),
    /// The name differs only by case from a sibling imported before it; NTFS treats both as
    /// one name.
    CaseCollision {
        /// The sibling's name, which is imported.
        kept: String,
    },
}

impl std::fmt::Display for UnsupportedReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SymbolicLink => f.write_str("a symbolic link (links are not imported)"),
            Self::SpecialFile => f.write_str("a special file (socket, FIFO or device)"),
            Self::NotUtf8 => f.write_str("the name is not valid UTF-8"),
            Self::BadName(why) => write!(f, "Windows cannot hold the name: {why}"),
            Self::CaseCollision { kept } => write!(
                f,
                "the name differs only by case from {kept:?}, which NTFS treats as the same name"
            ),
        }
    }
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// One entry of a host folder and what becomes of it.
enum Entry {
    Dir(PathBuf, WinPath),
    File(PathBuf, WinPath, u64),
    Unsupported(Unsupported),
}

/// The entries of one host folder in name order, each classified; names are checked against
/// the siblings already seen so a case collision is found in one pass (no rescan per file).
fn classify(host: &Path, win: &WinPath) -> Result<Vec<Entry>, HostError> {
    let mut entries: Vec<_> = fs::read_dir(host)
        .map_err(host_err(host))?
        .collect::<Result<_, _>>()
        .map_err(host_err(host))?;
    entries.sort_by_key(fs::DirEntry::file_name);
    let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let hp = e.path();
        let bad = |reason| {
            Entry::Unsupported(Unsupported {
                path: hp.clone(),
                reason,
            })
        };
        let Some(name) = e.file_name().to_str().map(str::to_owned) else {
            out.push(bad(UnsupportedReason::NotUtf8));
            continue;
        };
        let wp = match win.join(&name) {
            Ok(wp) => wp,
            Err(err) => {
                out.push(bad(UnsupportedReason::BadName(err.to_string())));
                continue;
            }
        };
        let ft = e.file_type().map_err(host_err(&hp))?;
        let entry = if ft.is_symlink() {
            bad(UnsupportedReason::SymbolicLink)
        } else if !ft.is_dir() && !ft.is_file() {
            bad(UnsupportedReason::SpecialFile)
        } else if let Some(kept) = seen.get(&wp.folded()) {
            bad(UnsupportedReason::CaseCollision { kept: kept.clone() })
        } else {
            seen.insert(wp.folded(), name);
            if ft.is_dir() {
                Entry::Dir(hp, wp)
            } else {
                let len = e.metadata().map_err(host_err(&hp))?.len();
                Entry::File(hp, wp, len)
            }
        };
        out.push(entry);
    }
    Ok(out)
}

/// Every entry under the host folder `src` that [`import_dir`] cannot import (symbolic links,
/// special files, names Windows cannot hold, names that differ only by case from a sibling),
/// in walk order. Reads the folder only; nothing under an unsupported folder is looked at.
pub fn unsupported_entries(src: &Path) -> Result<Vec<Unsupported>, HostError> {
    let mut found = Vec::new();
    let mut stack = vec![(src.to_owned(), WinPath::root())];
    while let Some((host, win)) = stack.pop() {
        for e in classify(&host, &win)? {
            match e {
                Entry::Dir(hp, wp) => stack.push((hp, wp)),
                Entry::File(..) => {}
                Entry::Unsupported(u) => found.push(u),
            }
        }
    }
    Ok(found)
}

/// Copies the host folder `src` (files and directories, recursively) into `volume` under the
/// root (each file through [`SimVolume::import_host_file`]: on a volume that keeps contents on
/// the host, the files are read in place and `src` must stay unchanged while it is used).
/// Symbolic links, special files and names Windows cannot hold (or that collide
/// case-insensitively) are errors ([`HostError::Unrepresentable`]): callers that want to
/// refuse before writing anything ask [`unsupported_entries`] first; the volume keeps what was
/// copied before an error.
pub fn import_dir(volume: &SimVolume, src: &Path) -> Result<ImportReport, HostError> {
    import(volume, src, false)
}

/// As [`import_dir`], but every entry [`unsupported_entries`] names is left out (with all
/// beneath it) instead of failing the import.
pub fn import_dir_skipping_unsupported(
    volume: &SimVolume,
    src: &Path,
) -> Result<ImportReport, HostError> {
    import(volume, src, true)
}

fn import(volume: &SimVolume, src: &Path, skip: bool) -> Result<ImportReport, HostError> {
    let mut report = ImportReport::default();
    let mut stack = vec![(src.to_owned(), WinPath::root())];
    while let Some((host, win)) = stack.pop() {
        for e in classify(&host, &win)? {
            match e {
                Entry::Dir(hp, wp) => {
                    volume.create_dir(&wp)?;
                    report.dirs += 1;
                    stack.push((hp, wp));
                }
                Entry::File(hp, wp, len) => {
                    volume.import_host_file(&wp, &hp, len)?;
                    report.files += 1;
                    report.bytes += len;
                }
                Entry::Unsupported(_) if skip => {}
                Entry::Unsupported(u) => {
                    return Err(HostError::Unrepresentable {
                        reason: u.reason.to_string(),
                        path: u.path,
                    });
                }
            }
        }
    }
    Ok(report)
}

/// What [`export_volume`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExportReport {
    /// Ordinary files written (chunk-store files included).
    pub files: usize,
    /// Stubs written (sparse, with a reparse point).
    pub stubs: usize,
    /// Directories created.
    pub dirs: usize,
}

/// Writes every directory and file of `volume` into the existing folder `out` (see the module
/// docs). Fails with [`HostError::NoXattrs`] before writing anything if the folder cannot hold
/// extended attributes.
pub fn export_volume(volume: &dyn Volume, out: &Path) -> Result<ExportReport, HostError> {
    let host = HostVolume::new(out)?;
    let supported = host.user_xattrs_supported()?;
    // The probe leaves the state folder behind; the export must hold only the volume's files.
    let _ = fs::remove_dir(out.join(platform::STATE_DIR));
    if !supported {
        return Err(HostError::NoXattrs(out.to_owned()));
    }
    let mut report = ExportReport::default();
    let mut stack = vec![WinPath::root()];
    let mut buf = vec![0u8; 1 << 20];
    while let Some(dir) = stack.pop() {
        for e in volume.read_dir(&dir)? {
            let p = dir.join(&e.name)?;
            if e.metadata.is_dir() {
                host.create_dir(&p)?;
                report.dirs += 1;
                stack.push(p);
                continue;
            }
            // Sharing everything: a file a simulated service or process still holds open for
            // writing (`rehydrate vss restore --lock`) is exported as it is.
            let src = volume.open(
                &p,
                OpenOptions::new(Access::READ, ShareMode::ALL, Disposition::OpenExisting),
            )?;
            let dst = host.open(
                &p,
                OpenOptions::new(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew),
            )?;
            let len = src.len()?;
            let attrs = src.attributes()?;
            if attrs & attr::SPARSE_FILE != 0 {
                dst.set_sparse(true)?;
            }
            if e.metadata.allocated == 0 && attrs & attr::SPARSE_FILE != 0 {
                dst.set_len(len)?;
            } else {
                // Only what is allocated is read, and all-zero blocks are left as holes: a
                // sparse file's gaps (zeros a directed restore put far into a file among them)
                // are never written out, nor read, in full.
                let whole = std::iter::once(0..len).collect();
                let ranges = src.allocated_ranges()?.unwrap_or(whole);
                for r in ranges {
                    let mut off = r.start;
                    while off < r.end.min(len) {
                        let n = usize::try_from((r.end.min(len) - off).min(buf.len() as u64))
                            .unwrap_or(0);
                        src.read_exact_at(off, &mut buf[..n])?;
                        if buf[..n].iter().any(|&b| b != 0) {
                            dst.write_all_at(off, &buf[..n])?;
                        }
                        off += n as u64;
                    }
                }
                dst.set_len(len)?;
            }
            match src.reparse_point() {
                Ok(rp) => {
                    dst.set_reparse_point(&rp)?;
                    report.stubs += 1;
                }
                Err(Error::NotAReparsePoint { .. }) => report.files += 1,
                Err(e) => return Err(e.into()),
            }
            dst.set_attributes(attrs)?;
        }
    }
    Ok(report)
}
