//! Race-free access below a [`HostVolume`](super::HostVolume)'s root.
//!
//! The case-insensitive lookup resolves a Windows path to a host path by name, and it already
//! refuses a symbolic link at any depth. But between that lookup and the operation, another
//! process can replace a folder on the way with a link to somewhere else; an operation that
//! then walks the host path again (`open`, `mkdir`, `rename` on a path string) would follow it
//! and write outside the root.
//!
//! So every operation that writes is carried out relative to a descriptor of the folder that
//! holds the final name, and that descriptor is reached from a descriptor of the root, one
//! component at a time, with `openat(O_DIRECTORY | O_NOFOLLOW)`: a link swapped in anywhere on
//! the way makes that step fail (`ELOOP` / `ENOTDIR`) instead of being followed. The final
//! name is then used with the `*at` calls, which never follow it (`O_NOFOLLOW`, `O_EXCL`,
//! `mkdirat`, `symlinkat`, `unlinkat`, `renameat` all act on the name itself).
//!
//! This is portable POSIX. Where Linux has `openat2` (5.6 and later), opening or creating a
//! file is one call instead: `RESOLVE_NO_SYMLINKS` refuses a link at any depth (`ELOOP`, as
//! the walk does) and `RESOLVE_BENEATH` never leaves the root, so the guarantee is the same and
//! a file costs two system calls fewer (the folder's open and close). Where `openat2` is
//! missing or refused (`ENOSYS`, `EPERM` under some seccomp filters) or asks for a retry
//! (`EAGAIN`, a rename raced the lookup), the walk does it.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rustix::fs::{AtFlags, Mode, OFlags, Timespec, Timestamps, UTIME_OMIT};

#[cfg(test)]
thread_local! {
    /// Tests: this thread's opens and renames take the portable paths, as where `openat2` and
    /// `RENAME_NOREPLACE` are missing (the walk; a look at the new name before the rename).
    pub(super) static FORCE_PORTABLE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
fn portable_forced() -> bool {
    FORCE_PORTABLE.with(std::cell::Cell::get)
}

#[cfg(all(not(test), any(target_os = "linux", target_os = "android")))]
fn portable_forced() -> bool {
    false
}

/// `openat2` was refused once (`ENOSYS`, `EPERM`): the walk does every open after.
#[cfg(any(target_os = "linux", target_os = "android"))]
static OPENAT2_REFUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The root folder, open, and its host path.
#[derive(Debug)]
pub(super) struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

/// A folder below the root reached without following links, and one name in it.
pub(super) struct At<'a> {
    dir: Dir,
    name: &'a OsStr,
}

enum Dir {
    Root,
    Opened(OwnedFd),
}

/// Whether an error from a walk step means a symbolic link was met (what `O_NOFOLLOW` gives).
pub(super) fn is_link_refusal(e: &io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
}

/// A new file: never one that exists, not even as a dangling link (`O_EXCL`).
const CREATE_FLAGS: OFlags = OFlags::RDWR
    .union(OFlags::CREATE)
    .union(OFlags::EXCL)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// An existing file, never a link, for reading and optionally writing and truncating.
fn open_flags(write: bool, truncate: bool) -> OFlags {
    let mut flags = OFlags::NOFOLLOW | OFlags::CLOEXEC;
    flags |= if write { OFlags::RDWR } else { OFlags::RDONLY };
    if truncate {
        flags |= OFlags::TRUNC;
    }
    flags
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

impl Root {
    /// Opens `path` (the volume root itself may be reached through a link: the user named it).
    pub(super) fn open(path: &Path) -> io::Result<Self> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Self {
            fd,
            path: path.to_owned(),
        })
    }

    /// The folder holding `host` (a path below the root) and its final name, every folder on
    /// the way opened without following a link.
    pub(super) fn at<'a>(&self, host: &'a Path) -> io::Result<At<'a>> {
        let names = self.names_below(host)?;
        let Some((name, folders)) = names.split_last() else {
            return Err(outside(host));
        };
        let mut dir = Dir::Root;
        for folder in folders {
            let next = self.open_folder(&dir, folder)?;
            dir = Dir::Opened(next);
        }
        Ok(At { dir, name })
    }

    /// The names of `host`'s components below the root (an error for a path outside it, or
    /// one with `.`, `..` or a root component below it).
    fn names_below<'a>(&self, host: &'a Path) -> io::Result<Vec<&'a OsStr>> {
        Ok(self
            .below(host)?
            .components()
            .map(Component::as_os_str)
            .collect())
    }

    /// `host` relative to the root: an error for a path outside it, or one with `.`, `..` or
    /// a root component below it.
    fn below<'a>(&self, host: &'a Path) -> io::Result<&'a Path> {
        let rel = host.strip_prefix(&self.path).map_err(|_| outside(host))?;
        if rel.components().all(|c| matches!(c, Component::Normal(_))) {
            Ok(rel)
        } else {
            Err(outside(host))
        }
    }

    /// Opens `host` (below the root) with `flags` in one `openat2` that follows no link and
    /// never leaves the root (see the module docs); `None` where the walk must do it.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn open_beneath(&self, host: &Path, flags: OFlags, mode: Mode) -> Option<io::Result<File>> {
        use rustix::fs::ResolveFlags;
        use rustix::io::Errno;
        use std::sync::atomic::Ordering;
        if OPENAT2_REFUSED.load(Ordering::Relaxed) || portable_forced() {
            return None;
        }
        let rel = match self.below(host) {
            Ok(rel) if rel.components().next().is_some() => rel,
            _ => return Some(Err(outside(host))),
        };
        let resolve = ResolveFlags::NO_SYMLINKS | ResolveFlags::BENEATH;
        match rustix::fs::openat2(&self.fd, rel, flags, mode, resolve) {
            Ok(fd) => Some(Ok(File::from(fd))),
            Err(Errno::NOSYS | Errno::PERM) => {
                OPENAT2_REFUSED.store(true, Ordering::Relaxed);
                None
            }
            Err(Errno::AGAIN) => None,
            Err(e) => Some(Err(e.into())),
        }
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn open_beneath(&self, _host: &Path, _flags: OFlags, _mode: Mode) -> Option<io::Result<File>> {
        None
    }

    /// Creates the file `host` (below the root), which must not exist: [`Self::create_file`]
    /// of its [`Self::at`], in one call where `openat2` does it.
    pub(super) fn create_file_below(&self, host: &Path) -> io::Result<File> {
        if let Some(r) = self.open_beneath(host, CREATE_FLAGS, Mode::from_raw_mode(0o666)) {
            return r;
        }
        self.create_file(&self.at(host)?)
    }

    /// Opens the existing file `host` (below the root, never a link): [`Self::open_file`] of
    /// its [`Self::at`], in one call where `openat2` does it.
    pub(super) fn open_file_below(
        &self,
        host: &Path,
        write: bool,
        truncate: bool,
    ) -> io::Result<File> {
        if let Some(r) = self.open_beneath(host, open_flags(write, truncate), Mode::empty()) {
            return r;
        }
        self.open_file(&self.at(host)?, write, truncate)
    }

    /// One step of the walk. Linux answers `O_DIRECTORY | O_NOFOLLOW` on a link with `ENOTDIR`
    /// (the link is not a folder) rather than `ELOOP`; a second look tells the two apart, so
    /// the caller can say that a link was refused.
    fn open_folder(&self, dir: &Dir, name: &OsStr) -> io::Result<OwnedFd> {
        let fd = self.dir_fd(dir);
        match rustix::fs::openat(fd, name, DIR_FLAGS, Mode::empty()) {
            Ok(next) => Ok(next),
            Err(rustix::io::Errno::NOTDIR)
                if rustix::fs::statat(fd, name, AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|st| {
                    rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink
                }) =>
            {
                Err(rustix::io::Errno::LOOP.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The folder `host` itself (the root or below it), opened without following links.
    pub(super) fn open_dir(&self, host: &Path) -> io::Result<OwnedFd> {
        if host == self.path {
            return Ok(rustix::fs::openat(&self.fd, ".", DIR_FLAGS, Mode::empty())?);
        }
        let at = self.at(host)?;
        self.open_folder(&at.dir, at.name)
    }

    fn dir_fd<'f>(&'f self, dir: &'f Dir) -> BorrowedFd<'f> {
        match dir {
            Dir::Root => self.fd.as_fd(),
            Dir::Opened(fd) => fd.as_fd(),
        }
    }

    /// Opens the existing file at `at` (never a link), for reading and optionally writing and
    /// truncating.
    pub(super) fn open_file(&self, at: &At<'_>, write: bool, truncate: bool) -> io::Result<File> {
        let flags = open_flags(write, truncate);
        let fd = rustix::fs::openat(self.dir_fd(&at.dir), at.name, flags, Mode::empty())?;
        Ok(File::from(fd))
    }

    /// Sets the times of `at` itself (never what a link there points at); `None` leaves one
    /// as it is. One call on the name, where opening it for `futimens` took three.
    pub(super) fn set_times(
        &self,
        at: &At<'_>,
        modified: Option<SystemTime>,
        accessed: Option<SystemTime>,
    ) -> io::Result<()> {
        let times = Timestamps {
            last_access: timespec(accessed),
            last_modification: timespec(modified),
        };
        Ok(rustix::fs::utimensat(
            self.dir_fd(&at.dir),
            at.name,
            &times,
            AtFlags::SYMLINK_NOFOLLOW,
        )?)
    }

    /// Creates the file `at`, which must not exist (`O_EXCL`: not even as a dangling link).
    pub(super) fn create_file(&self, at: &At<'_>) -> io::Result<File> {
        let fd = rustix::fs::openat(
            self.dir_fd(&at.dir),
            at.name,
            CREATE_FLAGS,
            Mode::from_raw_mode(0o666),
        )?;
        Ok(File::from(fd))
    }

    /// Creates the folder `at`.
    pub(super) fn create_dir(&self, at: &At<'_>) -> io::Result<()> {
        Ok(rustix::fs::mkdirat(
            self.dir_fd(&at.dir),
            at.name,
            Mode::from_raw_mode(0o777),
        )?)
    }

    /// Creates the symbolic link `at` pointing at `target` (which is stored, never followed).
    pub(super) fn create_symlink(&self, at: &At<'_>, target: &str) -> io::Result<()> {
        Ok(rustix::fs::symlinkat(
            target,
            self.dir_fd(&at.dir),
            at.name,
        )?)
    }

    /// Removes the file (or link) `at`.
    pub(super) fn remove_file(&self, at: &At<'_>) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(
            self.dir_fd(&at.dir),
            at.name,
            AtFlags::empty(),
        )?)
    }

    /// Removes the empty folder `at`.
    pub(super) fn remove_dir(&self, at: &At<'_>) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(
            self.dir_fd(&at.dir),
            at.name,
            AtFlags::REMOVEDIR,
        )?)
    }

    /// Renames `from` to `to` (replacing a file there, as `rename(2)` does).
    pub(super) fn rename(&self, from: &At<'_>, to: &At<'_>, fresh: bool) -> io::Result<()> {
        rename_at(
            self.dir_fd(&from.dir),
            from.name,
            self.dir_fd(&to.dir),
            to.name,
            fresh,
        )
    }

    /// Renames `from` to `to_name` in the same folder (see [`rename_at`] for `fresh`).
    pub(super) fn rename_within(
        &self,
        from: &At<'_>,
        to_name: &OsStr,
        fresh: bool,
    ) -> io::Result<()> {
        let dir = self.dir_fd(&from.dir);
        rename_at(dir, from.name, dir, to_name, fresh)
    }
}

/// `renameat`; when the name is `fresh` (nothing was there when it was looked up, or the name
/// index holds no spelling of it), one made there since is not replaced: `RENAME_NOREPLACE`
/// (`EEXIST`) where the file system supports it; elsewhere a look at the name just before a
/// plain rename.
fn rename_at(
    from_dir: BorrowedFd<'_>,
    from: &OsStr,
    to_dir: BorrowedFd<'_>,
    to: &OsStr,
    fresh: bool,
) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if fresh && !portable_forced() {
        match rustix::fs::renameat_with(
            from_dir,
            from,
            to_dir,
            to,
            rustix::fs::RenameFlags::NOREPLACE,
        ) {
            Err(rustix::io::Errno::INVAL) => {}
            other => return Ok(other?),
        }
    }
    if fresh && rustix::fs::statat(to_dir, to, AtFlags::SYMLINK_NOFOLLOW).is_ok() {
        return Err(rustix::io::Errno::EXIST.into());
    }
    Ok(rustix::fs::renameat(from_dir, from, to_dir, to)?)
}

/// `t` as `utimensat` takes it (`UTIME_OMIT` for `None`), times before 1970 included.
pub(super) fn timespec(t: Option<SystemTime>) -> Timespec {
    let Some(t) = t else {
        return Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_OMIT,
        };
    };
    let (sec, nsec) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        ),
        Err(before) => {
            let d = before.duration();
            let sec = i64::try_from(d.as_secs()).map_or(i64::MIN, |s| -s);
            match d.subsec_nanos() {
                0 => (sec, 0),
                n => (sec.saturating_sub(1), 1_000_000_000 - n),
            }
        }
    };
    Timespec {
        tv_sec: sec,
        tv_nsec: nsec.into(),
    }
}

fn outside(host: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{} is not a name below the volume root", host.display()),
    )
}
