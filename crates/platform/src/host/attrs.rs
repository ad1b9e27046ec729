//! Windows attributes kept on a POSIX file system: the stored `FILE_ATTRIBUTE_*` bits and the
//! reparse point in extended attributes, and a file's [`Metadata`] composed from them.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::{ATTRIBUTES_XATTR, HostVolume, REPARSE_XATTR_SYSTEM, REPARSE_XATTR_USER};
use crate::{Error, Metadata, WinPath, attr};

/// Bits kept in [`ATTRIBUTES_XATTR`].
pub(super) const STORED_BITS: u32 = (attr::SETTABLE & !attr::NORMAL) | attr::SPARSE_FILE;

pub(super) fn is_unsupported(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported
        || e.raw_os_error() == Some(95)
        || e.raw_os_error() == Some(45)
}

/// An extended attribute of `host` (not a link: lookups refuse those), in one system call for
/// the small values this volume keeps.
#[cfg(any(target_os = "linux", target_os = "macos"))]
pub(super) fn get_xattr(host: &Path, name: &str) -> io::Result<Option<Vec<u8>>> {
    crate::host_source::read_xattr(host, name)
}

/// An extended attribute of `host`.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub(super) fn get_xattr(host: &Path, name: &str) -> io::Result<Option<Vec<u8>>> {
    xattr::get(host, name)
}

pub(super) fn stored_attrs_of(get: impl Fn(&str) -> io::Result<Option<Vec<u8>>>) -> Option<u32> {
    match get(ATTRIBUTES_XATTR) {
        Ok(Some(v)) if v.len() == 4 => {
            Some(u32::from_le_bytes([v[0], v[1], v[2], v[3]]) & STORED_BITS)
        }
        _ => None,
    }
}

pub(super) fn reparse_of(
    get: impl Fn(&str) -> io::Result<Option<Vec<u8>>>,
) -> Option<(Vec<u8>, bool)> {
    for (name, user) in [(REPARSE_XATTR_USER, true), (REPARSE_XATTR_SYSTEM, false)] {
        if let Ok(Some(v)) = get(name) {
            return Some((v, user));
        }
    }
    None
}

pub(super) fn compose_attrs(is_dir: bool, stored: Option<u32>, has_reparse: bool) -> u32 {
    let mut a = match (is_dir, stored) {
        (true, s) => attr::DIRECTORY | s.unwrap_or(0),
        (false, Some(s)) => s,
        (false, None) => attr::ARCHIVE,
    };
    if has_reparse {
        a |= attr::REPARSE_POINT;
    }
    if a == 0 { attr::NORMAL } else { a }
}

impl HostVolume {
    pub(super) fn host_metadata(path: &WinPath, host: &Path) -> Result<Metadata, Error> {
        let md = fs::metadata(host).map_err(|e| Error::from_io(path, e))?;
        Ok(Self::host_metadata_with(host, &md))
    }

    /// [`Metadata`] of `host`, whose `stat` is `md`.
    pub(super) fn host_metadata_with(host: &Path, md: &fs::Metadata) -> Metadata {
        let get = |name: &str| get_xattr(host, name);
        let attributes = compose_attrs(
            md.is_dir(),
            stored_attrs_of(get),
            !md.is_dir() && reparse_of(get).is_some(),
        );
        let len = if md.is_dir() { 0 } else { md.len() };
        Metadata {
            attributes,
            len,
            allocated: if md.is_dir() { 0 } else { md.blocks() * 512 },
        }
    }

    pub(super) fn stored_attrs_path(host: &Path) -> Option<u32> {
        stored_attrs_of(|n| get_xattr(host, n))
    }
}
