//! [`HostSource`]: a host folder holding a Windows volume's files, read as a [`Source`] — an
//! ntfs-3g mount of a dedup volume, a copy that kept the reparse points, or
//! `rehydrate sim optimize` output.
//!
//! Why this is not [`crate::HostVolume`]: a source is only read, and two things of an ntfs-3g
//! mount need care that a read-write volume does not give them.
//! * ntfs-3g shows a file whose reparse tag it does not know (a dedup file among them) as a
//!   symbolic link. Entries are read with `lstat` and `lgetxattr`, never following a link, and a
//!   link that carries a reparse point is a file with that reparse point, not a link.
//! * A reparse point is the full `REPARSE_DATA_BUFFER` in `user.ntfs_reparse_data` (our copies)
//!   or `system.ntfs_reparse_data` (ntfs-3g). ntfs-3g answers a too-small buffer with EIO rather
//!   than ERANGE, so the usual "try 4 KiB, grow on ERANGE" loop fails on buffers over 4 KiB: the
//!   size is asked for first.
//!
//! `\System Volume Information` is listed like any folder (the chunk store is read through it);
//! the `\.rehydrate` state folder of a [`crate::HostVolume`] is not part of the volume and is
//! left out.

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::path::eq_name;
use crate::source::{EntryKind, Source, SourceEntry, SourceFile, Unsupported};
use crate::{Error, STATE_DIR, WinPath, attr};

use dedup_reparse::IO_REPARSE_TAG_DEDUP;
use rayon::prelude::*;

/// Largest extended attribute value accepted (a reparse buffer is at most 16 KiB; ntfs-3g's
/// own may carry a little more): larger values are refused, never allocated.
const MAX_XATTR: usize = 64 * 1024;

/// A host folder read as a [`Source`] (see the module docs).
#[derive(Debug, Clone)]
pub struct HostSource {
    root: PathBuf,
}

impl HostSource {
    /// The existing folder `root` (canonicalized) as a source.
    pub fn new(root: impl AsRef<Path>) -> Result<Self, Error> {
        let root = root.as_ref();
        let canon = root
            .canonicalize()
            .map_err(|e| Error::from_io(&WinPath::root(), e))?;
        if !canon.is_dir() {
            return Err(Error::NotADirectory {
                path: WinPath::root(),
            });
        }
        Ok(Self { root: canon })
    }

    /// The canonical host folder.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The host path of `path` (no lookup: source paths come from this source's own listing,
    /// so they are spelled as stored).
    #[must_use]
    pub fn host_path(&self, path: &WinPath) -> PathBuf {
        let mut p = self.root.clone();
        p.extend(path.components());
        p
    }

    fn entry(dir: &WinPath, host: &Path, name: &std::ffi::OsStr) -> SourceEntry {
        let unsupported = SourceEntry::unsupported;
        let Some(name) = name.to_str().map(str::to_owned) else {
            return unsupported(
                name.to_string_lossy().into_owned(),
                Unsupported::NameNotUtf8,
            );
        };
        if let Err(e) = dir.join(&name) {
            let reason = match e {
                Error::InvalidPath { reason, .. } => reason,
                _ => "rejected",
            };
            return unsupported(name, Unsupported::InvalidName { reason });
        }
        let host = host.join(&name);
        let md = match fs::symlink_metadata(&host) {
            Ok(m) => m,
            Err(e) => {
                return unsupported(
                    name,
                    Unsupported::Unreadable {
                        what: "metadata",
                        message: e.to_string(),
                    },
                );
            }
        };
        let ft = md.file_type();
        if !ft.is_dir() && !ft.is_file() && !ft.is_symlink() {
            return unsupported(name, Unsupported::SpecialFile);
        }
        let reparse = if ft.is_dir() {
            None
        } else {
            match read_reparse(&host) {
                Ok(r) => r,
                Err(e) => {
                    return unsupported(
                        name,
                        Unsupported::Unreadable {
                            what: "reading the reparse point",
                            message: e.to_string(),
                        },
                    );
                }
            }
        };
        // ntfs-3g shows a reparse point whose tag it does not know (a dedup file) as a link; a
        // link with no reparse data or another tag (a real symbolic link) is a link.
        let dedup_tag = reparse
            .as_deref()
            .and_then(crate::reparse::tag)
            .is_some_and(|t| t == IO_REPARSE_TAG_DEDUP);
        let kind = if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_symlink() && !dedup_tag {
            match fs::read_link(&host) {
                Ok(t) => EntryKind::Symlink {
                    target: t.to_string_lossy().into_owned(),
                },
                Err(e) => {
                    return unsupported(
                        name,
                        Unsupported::Unreadable {
                            what: "reading the link",
                            message: e.to_string(),
                        },
                    );
                }
            }
        } else {
            EntryKind::File
        };
        let mut attributes =
            read_attributes(&host).unwrap_or(if ft.is_dir() { 0 } else { attr::ARCHIVE });
        if ft.is_dir() {
            attributes |= attr::DIRECTORY;
        }
        if reparse.is_some() {
            attributes |= attr::REPARSE_POINT;
        }
        SourceEntry {
            name,
            len: if kind == EntryKind::File { md.len() } else { 0 },
            kind,
            attributes,
            modified: md.modified().ok(),
            accessed: md.accessed().ok(),
            reparse,
        }
    }
}

impl Source for HostSource {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn read_dir(&self, dir: &WinPath) -> Result<Vec<SourceEntry>, Error> {
        let host = self.host_path(dir);
        let md = fs::symlink_metadata(&host).map_err(|e| Error::from_io(dir, e))?;
        if !md.is_dir() {
            return Err(Error::NotADirectory { path: dir.clone() });
        }
        let rd = fs::read_dir(&host).map_err(|e| Error::from_io(dir, e))?;
        let mut names = Vec::new();
        for e in rd {
            names.push(e.map_err(|e| Error::from_io(dir, e))?.file_name());
        }
        names.sort();
        names.retain(|n| !(dir.is_root() && n.to_str().is_some_and(|n| eq_name(n, STATE_DIR))));
        // Each entry is an `lstat` and up to three extended-attribute reads: in parallel (on
        // the caller's rayon pool), in name order. One after another they were the longest
        // serial stretch of a restore of many small files.
        Ok(names
            .par_iter()
            .with_min_len(64)
            .map(|n| Self::entry(dir, &host, n))
            .collect())
    }

    fn open_file(&self, path: &WinPath) -> Result<Box<dyn SourceFile>, Error> {
        let host = self.host_path(path);
        // O_NOFOLLOW: a dedup file ntfs-3g shows as a link has no data to read here, and a link
        // in a source is never followed to read what it points at.
        let file = open_nofollow(&host).map_err(|e| Error::from_io(path, e))?;
        let md = file.metadata().map_err(|e| Error::from_io(path, e))?;
        if md.is_dir() {
            return Err(Error::IsADirectory { path: path.clone() });
        }
        Ok(Box::new(HostSourceFile {
            path: path.clone(),
            file,
        }))
    }

    fn reparse_point(&self, path: &WinPath) -> Result<Option<Vec<u8>>, Error> {
        read_reparse(&self.host_path(path)).map_err(|e| Error::from_io(path, e))
    }
}

fn open_nofollow(host: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits().cast_signed())
        .open(host)
}

/// An open file of a [`HostSource`].
#[derive(Debug)]
struct HostSourceFile {
    path: WinPath,
    file: fs::File,
}

impl SourceFile for HostSourceFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Error> {
        loop {
            match self.file.read_at(buf, offset) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::from_io(&self.path, e)),
            }
        }
    }

    fn len(&self) -> Result<u64, Error> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| Error::from_io(&self.path, e))
    }
}

/// The reparse buffer of `host` (not following a symbolic link), from
/// `user.ntfs_reparse_data`, else `system.ntfs_reparse_data`.
pub(crate) fn read_reparse(host: &Path) -> std::io::Result<Option<Vec<u8>>> {
    for name in [crate::REPARSE_XATTR_USER, crate::REPARSE_XATTR_SYSTEM] {
        if let Some(v) = read_xattr(host, name)? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// The Windows attributes stored with `host`: `user.rehydrate.attributes` (ours, little endian)
/// or `system.ntfs_attrib_be` (ntfs-3g, big endian). `None` when neither is there.
fn read_attributes(host: &Path) -> Option<u32> {
    if let Ok(Some(v)) = read_xattr(host, crate::ATTRIBUTES_XATTR)
        && v.len() == 4
    {
        return Some(u32::from_le_bytes([v[0], v[1], v[2], v[3]]));
    }
    if let Ok(Some(v)) = read_xattr(host, "system.ntfs_attrib_be")
        && v.len() == 4
    {
        return Some(u32::from_be_bytes([v[0], v[1], v[2], v[3]]) & !attr::DIRECTORY);
    }
    None
}

/// `lgetxattr(host, name)`: one call into a small buffer, which holds the values this reads
/// (a dedup reparse point is a few hundred bytes, attributes 4); a larger value is read by its
/// size first, then into a buffer of that size (retried once if the value grew in between).
/// `None` when the attribute (or xattr support) is absent.
#[cfg(any(target_os = "linux", target_os = "macos"))]
pub(crate) fn read_xattr(host: &Path, name: &str) -> std::io::Result<Option<Vec<u8>>> {
    use rustix::io::Errno;
    #[cfg(target_os = "linux")]
    let no_attr = Errno::NODATA;
    #[cfg(target_os = "macos")]
    let no_attr = Errno::NOATTR;
    let absent = move |e: Errno| e == no_attr || e == Errno::NOTSUP || e == Errno::OPNOTSUPP;
    let mut small = [0u8; 1024];
    match rustix::fs::lgetxattr(host, name, &mut small[..]) {
        Ok(n) => return Ok(Some(small[..n].to_vec())),
        Err(e) if absent(e) => return Ok(None),
        Err(e) if e == Errno::RANGE => {}
        Err(e) => return Err(e.into()),
    }
    for _ in 0..2 {
        let size = match rustix::fs::lgetxattr_query(host, name) {
            Ok(n) => n,
            Err(e) if absent(e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if size > MAX_XATTR {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("extended attribute {name} is {size} bytes, more than {MAX_XATTR}"),
            ));
        }
        let mut buf = vec![0u8; size];
        match rustix::fs::lgetxattr(host, name, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf));
            }
            Err(e) if e == Errno::RANGE => {}
            Err(e) if absent(e) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
    Err(std::io::Error::other(format!(
        "extended attribute {name} keeps changing size"
    )))
}

/// Other Unix hosts: no extended attributes are read (no file is seen as a dedup file).
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn read_xattr(_host: &Path, _name: &str) -> std::io::Result<Option<Vec<u8>>> {
    Ok(None)
}
