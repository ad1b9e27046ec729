//! Reading a host-directory volume: an ntfs-3g mount of a dedup volume, a robocopy, or
//! `sim optimize` output (`winsim::host::export_volume`).
//!
//! The volume is walked with `lstat` (symbolic links are never followed: ntfs-3g shows a file
//! whose reparse tag it does not know, such as a dedup file, as a symbolic link). A file's
//! reparse point is its full `REPARSE_DATA_BUFFER` in the extended attribute
//! `user.ntfs_reparse_data` (our exports) or `system.ntfs_reparse_data` (ntfs-3g). It is read
//! with `lgetxattr`, asking for the size first: ntfs-3g answers a too-small buffer with EIO
//! rather than ERANGE, so the usual "try 4 KiB, grow on ERANGE" loop (the `xattr` crate's, which
//! `platform::HostVolume` uses) fails on reparse points larger than 4 KiB, and
//! `HostVolume::metadata` follows the symbolic link ntfs-3g shows. That is why the CLI reads the
//! source itself instead of through `HostVolume`.
//!
//! `\System Volume Information` (the chunk store, shadow-copy and indexing state) and the
//! `\.rehydrate` state folder are not part of the user's files and are skipped.

use std::path::{Path, PathBuf};

use dedup_reparse::{DedupReparse, IO_REPARSE_TAG_DEDUP};
use platform::{WinPath, attr, eq_name};

/// `\System Volume Information`, skipped by the walk.
pub(crate) const SYSTEM_DIR: &str = "System Volume Information";

/// Largest extended attribute value accepted (a reparse buffer is at most 16 KiB).
const MAX_XATTR: usize = 64 * 1024;

/// What a source entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A directory.
    Dir,
    /// An ordinary file (no reparse point, or a reparse point of another kind on a regular
    /// file), copied as it is.
    File {
        /// Its length.
        len: u64,
    },
    /// A dedup file: a dedup reparse point (tag 0x80000013) on a regular file or a symbolic link.
    Stub {
        /// Logical size from the reparse point (0 when it does not parse; the engine then reports
        /// the file's error).
        logical: u64,
    },
    /// A symbolic link without a dedup reparse point, copied as a link.
    Symlink {
        /// Where it points.
        target: PathBuf,
    },
}

/// One entry of the source volume.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The volume-root-relative path.
    pub(crate) win: WinPath,
    /// The host path.
    pub(crate) host: PathBuf,
    /// What it is.
    pub(crate) kind: Kind,
}

/// An entry that cannot be restored (special file, name Windows cannot hold, unreadable).
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    /// The path (volume-relative when it could be formed, else the host path).
    pub(crate) path: String,
    /// Why.
    pub(crate) reason: String,
}

/// The result of [`scan`].
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Entries in walk order (parents before children, names sorted).
    pub(crate) entries: Vec<Entry>,
    /// Entries that cannot be restored.
    pub(crate) problems: Vec<Problem>,
    /// Requested paths that matched nothing.
    pub(crate) unmatched: Vec<WinPath>,
}

/// Whether `p` is selected by `filters` (empty: everything).
fn selected(p: &WinPath, filters: &[WinPath]) -> bool {
    filters.is_empty() || filters.iter().any(|f| p.starts_with(f))
}

/// Whether the walk must descend into `dir` to reach a filtered path.
fn worth_descending(dir: &WinPath, filters: &[WinPath]) -> bool {
    filters.is_empty()
        || filters
            .iter()
            .any(|f| f.starts_with(dir) || dir.starts_with(f))
}

/// Walks the volume folder `root`, keeping the entries under any of `filters` (all when empty).
pub(crate) fn scan(root: &Path, filters: &[WinPath]) -> Result<Scan, String> {
    let md = std::fs::metadata(root).map_err(|e| format!("{}: {e}", root.display()))?;
    if !md.is_dir() {
        return Err(format!("{}: not a directory", root.display()));
    }
    let mut out = Scan::default();
    let mut matched = vec![false; filters.len()];
    let mut stack = vec![(root.to_owned(), WinPath::root())];
    while let Some((host_dir, win_dir)) = stack.pop() {
        let rd = match std::fs::read_dir(&host_dir) {
            Ok(rd) => rd,
            Err(e) => {
                out.problems.push(Problem {
                    path: win_dir.to_string(),
                    reason: format!("{}: cannot list: {e}", host_dir.display()),
                });
                continue;
            }
        };
        let mut names: Vec<_> = rd.filter_map(Result::ok).map(|e| e.file_name()).collect();
        names.sort();
        let mut subdirs = Vec::new();
        for name in names {
            let host = host_dir.join(&name);
            let Some(name) = name.to_str() else {
                out.problems.push(Problem {
                    path: host.display().to_string(),
                    reason: "the name is not valid UTF-8".into(),
                });
                continue;
            };
            if win_dir.is_root()
                && (eq_name(name, SYSTEM_DIR) || eq_name(name, platform::STATE_DIR))
            {
                continue;
            }
            let win = match win_dir.join(name) {
                Ok(w) => w,
                Err(e) => {
                    out.problems.push(Problem {
                        path: host.display().to_string(),
                        reason: format!("not a valid Windows name: {e}"),
                    });
                    continue;
                }
            };
            let keep = selected(&win, filters);
            let lmd = match std::fs::symlink_metadata(&host) {
                Ok(m) => m,
                Err(e) => {
                    if keep {
                        out.problems.push(Problem {
                            path: win.to_string(),
                            reason: format!("{}: {e}", host.display()),
                        });
                    }
                    continue;
                }
            };
            let ft = lmd.file_type();
            if ft.is_dir() {
                if keep {
                    mark(&win, filters, &mut matched);
                    out.entries.push(Entry {
                        win: win.clone(),
                        host: host.clone(),
                        kind: Kind::Dir,
                    });
                }
                if worth_descending(&win, filters) {
                    subdirs.push((host, win));
                }
                continue;
            }
            if !keep {
                continue;
            }
            mark(&win, filters, &mut matched);
            if !ft.is_file() && !ft.is_symlink() {
                out.problems.push(Problem {
                    path: win.to_string(),
                    reason: "a special file (device, FIFO or socket) cannot be restored".into(),
                });
                continue;
            }
            let reparse = match read_reparse(&host) {
                Ok(r) => r,
                Err(e) => {
                    out.problems.push(Problem {
                        path: win.to_string(),
                        reason: format!("{}: reading the reparse point: {e}", host.display()),
                    });
                    continue;
                }
            };
            let is_dedup = reparse.as_ref().is_some_and(|b| {
                b.len() >= 4 && u32::from_le_bytes([b[0], b[1], b[2], b[3]]) == IO_REPARSE_TAG_DEDUP
            });
            let kind = if is_dedup {
                let logical = reparse
                    .as_deref()
                    .and_then(|b| DedupReparse::parse(b).ok())
                    .map_or(0, |r| r.logical_size());
                Kind::Stub { logical }
            } else if ft.is_symlink() {
                match std::fs::read_link(&host) {
                    Ok(target) => Kind::Symlink { target },
                    Err(e) => {
                        out.problems.push(Problem {
                            path: win.to_string(),
                            reason: format!("{}: {e}", host.display()),
                        });
                        continue;
                    }
                }
            } else {
                Kind::File { len: lmd.len() }
            };
            out.entries.push(Entry { win, host, kind });
        }
        // Depth first, in name order.
        stack.extend(subdirs.into_iter().rev());
    }
    out.unmatched = filters
        .iter()
        .zip(&matched)
        .filter(|(_, m)| !**m)
        .map(|(f, _)| f.clone())
        .collect();
    Ok(out)
}

fn mark(p: &WinPath, filters: &[WinPath], matched: &mut [bool]) {
    for (f, m) in filters.iter().zip(matched.iter_mut()) {
        if p.starts_with(f) {
            *m = true;
        }
    }
}

/// The reparse buffer of `host` (not following a symbolic link), from
/// `user.ntfs_reparse_data`, else `system.ntfs_reparse_data`.
pub(crate) fn read_reparse(host: &Path) -> std::io::Result<Option<Vec<u8>>> {
    for name in [platform::REPARSE_XATTR_USER, platform::REPARSE_XATTR_SYSTEM] {
        if let Some(v) = read_xattr(host, name)? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// The Windows attributes stored with `host`: `user.rehydrate.attributes` (ours, little endian)
/// or `system.ntfs_attrib_be` (ntfs-3g, big endian). `None` when neither is there.
pub(crate) fn read_attributes(host: &Path) -> Option<u32> {
    if let Ok(Some(v)) = read_xattr(host, platform::ATTRIBUTES_XATTR)
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

/// `lgetxattr(host, name)`: the size first, then the value into a buffer of that size (retried
/// once if the value grew in between). `None` when the attribute (or xattr support) is absent.
#[cfg(any(target_os = "linux", target_os = "macos"))]
fn read_xattr(host: &Path, name: &str) -> std::io::Result<Option<Vec<u8>>> {
    use rustix::io::Errno;
    #[cfg(target_os = "linux")]
    let no_attr = Errno::NODATA;
    #[cfg(target_os = "macos")]
    let no_attr = Errno::NOATTR;
    let absent = move |e: Errno| e == no_attr || e == Errno::NOTSUP || e == Errno::OPNOTSUPP;
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

/// Parses the command line's volume paths (`\docs\a.txt`, `docs/a.txt`).
pub(crate) fn parse_filters(paths: &[String]) -> Result<Vec<WinPath>, String> {
    paths
        .iter()
        .map(|p| WinPath::new(p).map_err(|e| format!("path {p:?}: {e}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let f = vec![WinPath::new("\\A\\b").unwrap()];
        assert!(selected(&WinPath::new("\\a\\B\\c").unwrap(), &f));
        assert!(!selected(&WinPath::new("\\a").unwrap(), &f));
        assert!(worth_descending(&WinPath::new("\\a").unwrap(), &f));
        assert!(!worth_descending(&WinPath::new("\\c").unwrap(), &f));
    }
}
