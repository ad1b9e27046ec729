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

/// Copies the host folder `src` (files and directories, recursively) into `volume` under the
/// root (each file through [`SimVolume::import_host_file`]: on a volume that keeps contents on
/// the host, the files are read in place and `src` must stay unchanged while it is used). Symbolic links, special files and names Windows cannot hold (or that collide
/// case-insensitively) are errors: the import is all or nothing in intent, though the volume
/// keeps what was copied before the error.
pub fn import_dir(volume: &SimVolume, src: &Path) -> Result<ImportReport, HostError> {
    let mut report = ImportReport::default();
    let mut stack = vec![(src.to_owned(), WinPath::root())];
    while let Some((host, win)) = stack.pop() {
        let mut entries: Vec<_> = fs::read_dir(&host)
            .map_err(host_err(&host))?
            .collect::<Result<_, _>>()
            .map_err(host_err(&host))?;
        entries.sort_by_key(fs::DirEntry::file_name);
        for e in entries {
            let hp = e.path();
            let name = e.file_name();
            let name = name.to_str().ok_or_else(|| HostError::Unrepresentable {
                path: hp.clone(),
                reason: "the name is not valid UTF-8".into(),
            })?;
            let wp = win.join(name).map_err(|e| HostError::Unrepresentable {
                path: hp.clone(),
                reason: e.to_string(),
            })?;
            let ft = e.file_type().map_err(host_err(&hp))?;
            if ft.is_dir() {
                volume.create_dir(&wp)?;
                report.dirs += 1;
                stack.push((hp, wp));
            } else if ft.is_file() {
                let len = e.metadata().map_err(host_err(&hp))?.len();
                volume.import_host_file(&wp, &hp, len)?;
                report.files += 1;
                report.bytes += len;
            } else {
                return Err(HostError::Unrepresentable {
                    path: hp,
                    reason: "symbolic links and special files are not imported".into(),
                });
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
