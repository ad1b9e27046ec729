//! `HostVolume`: a host folder as a Windows volume (Unix hosts).
//!
//! How Windows state is kept on a POSIX file system:
//!
//! * **Names**: looked up case-insensitively (an exact host match first, else the folder's
//!   case-folded name index; a folder resolved once is remembered until this volume removes or
//!   renames a folder); created in the case given. Host names that are not valid
//!   Windows names are not listed. Symbolic links are never followed, at any depth (a path
//!   through one is refused with [`Error::AccessDenied`]); a listing, and `existing` asked
//!   about the link's own name, show one as a file with a reparse point. The folder
//!   `\.rehydrate` at the volume root is this implementation's own state and is hidden and
//!   refused ([`Error::AccessDenied`]).
//! * **Reparse points**: the full `REPARSE_DATA_BUFFER` in the extended attribute
//!   `user.ntfs_reparse_data` (read and written: portable copies, what `rehydrate sim optimize`
//!   exports). If that is absent, `system.ntfs_reparse_data` is read — what ntfs-3g exposes for a
//!   mounted NTFS volume; it is never written here, and removing it is refused.
//! * **Attributes and the sparse flag**: the `FILE_ATTRIBUTE_*` bits that cannot be derived are
//!   stored as a little-endian u32 in `user.rehydrate.attributes` (settable bits plus
//!   `SPARSE_FILE`). `DIRECTORY` and `REPARSE_POINT` are derived from the file itself. A file
//!   without the attribute reads as `ARCHIVE` (what Windows gives a new file). Extending a file
//!   with `set_len` leaves a hole (`ftruncate`), so a stub of logical size N allocates nothing
//!   on Linux file systems that support sparse files.
//! * **Share modes** are enforced among the handles of one `HostVolume` value (and its clones):
//!   an in-process table of open handles. Other processes, or a second `HostVolume` on the same
//!   folder, are not seen.
//! * **Rename at reboot**: the `PendingFileRenameOperations` list is the text file
//!   `.rehydrate/PendingFileRenameOperations` under the root, two lines per operation like the
//!   registry value's string pairs: the source path, then the destination path — empty for
//!   "delete", prefixed with `!` for "replace existing". [`HostVolume::apply_pending_renames`]
//!   does what the next boot would.

use foldhash::HashMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use xattr::FileExt as _;

use names::Lookup;

use crate::path::eq_name;

mod attrs;
mod beneath;
mod file;
#[cfg(test)]
mod handles;
mod names;
mod pending;
#[cfg(test)]
mod race;
mod rename;
mod share;

use crate::{
    Access, DirEntry, Disposition, Error, FileHandle, Metadata, OpenOptions, PendingRename, Volume,
    WinPath, attr,
};
pub use file::HostFile;
pub use pending::PendingOutcome;

use attrs::{STORED_BITS, compose_attrs, is_unsupported, reparse_of, stored_attrs_of};
use share::OpenRecord;

/// Extended attribute holding a reparse point written by us (read and write).
pub const REPARSE_XATTR_USER: &str = "user.ntfs_reparse_data";
/// Extended attribute ntfs-3g exposes for a reparse point (read only here).
pub const REPARSE_XATTR_SYSTEM: &str = "system.ntfs_reparse_data";
/// Extended attribute holding the stored `FILE_ATTRIBUTE_*` bits.
pub const ATTRIBUTES_XATTR: &str = "user.rehydrate.attributes";
/// Name of the state folder under the root.
pub const STATE_DIR: &str = ".rehydrate";
/// Name of the pending-rename list inside [`STATE_DIR`].
pub const PENDING_FILE: &str = "PendingFileRenameOperations";

/// Case-folded name → stored name of one host directory.
type NameIndex = HashMap<String, String>;

/// Most folders [`Shared::folders`] remembers; past it, it starts again empty.
const FOLDERS_KEPT: usize = 4096;

#[derive(Debug, Default)]
struct Shared {
    handles: Mutex<HashMap<u64, OpenRecord>>,
    pending: Mutex<()>,
    next_id: AtomicU64,
    /// Per host directory, its names case-folded, built on the first lookup that misses the
    /// exact spelling there and kept up to date by this volume's own creations, renames and
    /// deletions: a name that does not exist yet costs one hash lookup instead of a scan of
    /// the directory (restoring a folder of N files was O(N²)).
    names: Mutex<HashMap<PathBuf, NameIndex>>,
    /// Folders resolved before: the Windows path of a folder (compared case-insensitively) →
    /// its host path, so that a name in a folder already met costs one `lstat`, not one per
    /// component of its path (a restore looks up each of its files about five times). Only the
    /// lookups of operations that then act through [`beneath`] use it (every write walks from
    /// the root without following links, refusing a folder replaced by a link since);
    /// `metadata` and listings, which read the host path itself, resolve it afresh. Cleared
    /// when this volume removes or renames a folder; bounded by [`FOLDERS_KEPT`].
    folders: RwLock<HashMap<WinPath, PathBuf>>,
    /// Set (for good) before a handle of this volume first takes a file's write bits away: a
    /// file this volume created is then no longer known to keep its owner's write bit (see
    /// `HostFile::owner_writable`).
    made_read_only: AtomicBool,
}

impl Shared {
    fn handles(&self) -> MutexGuard<'_, HashMap<u64, OpenRecord>> {
        self.handles.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn names(&self) -> MutexGuard<'_, HashMap<PathBuf, NameIndex>> {
        self.names.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A host folder used as a Windows volume. Cloning shares the open-handle table.
#[derive(Debug, Clone)]
pub struct HostVolume {
    root: PathBuf,
    /// The root, open: every write reaches its folder from here without following a link
    /// (see [`beneath`]).
    beneath: Arc<beneath::Root>,
    shared: Arc<Shared>,
    /// Files this volume creates (mode `0o666` less the process's file mode creation mask,
    /// read when the volume was made) have their owner's write bit: clearing
    /// `FILE_ATTRIBUTE_READONLY` on them then needs no look at their mode. False where the
    /// mask could not be read. Not known here: a folder whose POSIX default ACL, which
    /// replaces the mask for files made in it, takes that bit away (its files would then keep
    /// no write bit though not read-only), and a mask changed after the volume was made.
    creates_owner_writable: bool,
}

/// The process's file mode creation mask, from `/proc/self/status` (Linux 4.7 and later):
/// reading it there changes nothing, where `umask(2)` can only read it by setting it, racing
/// every other thread that creates a file meanwhile. `None` where it cannot be read.
fn umask() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}

/// Why a path through a symbolic link is refused ([`Error::AccessDenied`]).
pub(super) const LINK_REFUSED: &str = "a symbolic link is never followed";

/// What a listing, and [`crate::Volume::existing`], say of a symbolic link: what Windows makes
/// of one, a file with a reparse point (any use of it is refused).
const LINK_METADATA: Metadata = Metadata {
    attributes: attr::REPARSE_POINT,
    len: 0,
    allocated: 0,
};

/// [`Error::from_io`], except that meeting a symbolic link (`ELOOP` from `O_NOFOLLOW`) is the
/// refusal the lookup gives for one.
fn host_err(path: &WinPath, e: io::Error) -> Error {
    if beneath::is_link_refusal(&e) {
        Error::AccessDenied {
            path: path.clone(),
            reason: LINK_REFUSED,
        }
    } else {
        Error::from_io(path, e)
    }
}

impl HostVolume {
    /// Uses the existing folder `root` as a volume.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, Error> {
        let root = root.into();
        let md = fs::metadata(&root).map_err(|e| Error::from_io(&WinPath::root(), e))?;
        if !md.is_dir() {
            return Err(Error::NotADirectory {
                path: WinPath::root(),
            });
        }
        let beneath =
            beneath::Root::open(&root).map_err(|e| Error::from_io(&WinPath::root(), e))?;
        Ok(Self {
            root,
            beneath: Arc::new(beneath),
            shared: Arc::default(),
            creates_owner_writable: umask().is_some_and(|m| m & 0o200 == 0),
        })
    }

    /// The folder holding `host` and its final name, reached without following links; an
    /// error names `path`.
    fn at<'a>(&self, path: &WinPath, host: &'a Path) -> Result<beneath::At<'a>, Error> {
        #[cfg(test)]
        race::between_lookup_and_use();
        self.beneath.at(host).map_err(|e| host_err(path, e))
    }

    /// The host folder.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The host path of an existing file or directory (`None` if it does not exist), resolved
    /// afresh (the caller uses the path itself).
    pub fn host_path(&self, path: &WinPath) -> Result<Option<PathBuf>, Error> {
        match self.lookup_walk(path) {
            Ok(Lookup::Found(p, _)) => Ok(Some(p)),
            Ok(Lookup::Missing { .. }) | Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the host file system accepts `user.*` extended attributes in this folder
    /// (needed to store reparse points and attributes). Tries on a scratch file under
    /// `.rehydrate`.
    pub fn user_xattrs_supported(&self) -> Result<bool, Error> {
        let state = WinPath::root().join(STATE_DIR)?;
        let dir = self.root.join(STATE_DIR);
        fs::create_dir_all(&dir).map_err(|e| Error::from_io(&state, e))?;
        let probe = dir.join("xattr-probe");
        let f = File::create(&probe).map_err(|e| Error::from_io(&state, e))?;
        let ok = f.set_xattr("user.rehydrate.probe", b"1").is_ok();
        drop(f);
        let _ = fs::remove_file(&probe);
        Ok(ok)
    }

    /// Opens the existing file `host` (of `path`) without following a link, refusing write
    /// or delete access to a read-only one.
    fn open_found(
        &self,
        path: &WinPath,
        host: &Path,
        access: Access,
        truncating: bool,
    ) -> Result<File, Error> {
        if (access.write || access.delete)
            && Self::stored_attrs_path(host).is_some_and(|a| a & attr::READONLY != 0)
        {
            return Err(Error::AccessDenied {
                path: path.clone(),
                reason: "the file is read-only",
            });
        }
        #[cfg(test)]
        race::between_lookup_and_use();
        self.beneath
            .open_file_below(host, access.write, truncating)
            .map_err(|e| host_err(path, e))
    }

    /// Creates the new file `host` (the host path of `path`) without following a link on
    /// the way.
    fn create_below(&self, path: &WinPath, host: &Path) -> Result<File, Error> {
        #[cfg(test)]
        race::between_lookup_and_use();
        self.beneath
            .create_file_below(host)
            .map_err(|e| host_err(path, e))
    }
}

impl Volume for HostVolume {
    fn open(&self, path: &WinPath, options: OpenOptions) -> Result<Box<dyn FileHandle>, Error> {
        if path.is_root() {
            return Err(Error::IsADirectory { path: path.clone() });
        }
        let OpenOptions {
            access,
            share,
            disposition,
        } = options;
        // The lookup and the system calls run outside the handle table's lock, so that
        // threads opening different files do not wait for each other: only the share check
        // and the record it guards are under the lock (`reserve`).
        let lookup = if disposition == Disposition::CreateNew {
            self.lookup_new(path)?
        } else {
            self.lookup(path)?
        };
        let truncating = matches!(
            disposition,
            Disposition::TruncateExisting | Disposition::CreateAlways
        );
        let (file, id, owner_writable) = match lookup {
            Lookup::Found(host, md) => {
                if md.is_dir() {
                    return Err(Error::IsADirectory { path: path.clone() });
                }
                if disposition == Disposition::CreateNew {
                    return Err(Error::AlreadyExists { path: path.clone() });
                }
                if truncating && !access.write {
                    return Err(Error::AccessDenied {
                        path: path.clone(),
                        reason: "truncating needs write access",
                    });
                }
                let id = self.reserve(path, access, share, true)?;
                let opened = self.open_found(path, &host, access, truncating);
                (self.unless_failed(id, opened)?, id, false)
            }
            Lookup::Missing { parent, name } => {
                if matches!(
                    disposition,
                    Disposition::OpenExisting | Disposition::TruncateExisting
                ) {
                    return Err(Error::NotFound { path: path.clone() });
                }
                if truncating && !access.write {
                    return Err(Error::AccessDenied {
                        path: path.clone(),
                        reason: "CREATE_ALWAYS needs write access",
                    });
                }
                let id = self.reserve(path, access, share, false)?;
                let host = parent.join(&name);
                let created = self.create_below(path, &host);
                let file = self.unless_failed(id, created)?;
                self.note_created(&parent, &name);
                (file, id, self.creates_owner_writable)
            }
        };
        Ok(Box::new(HostFile {
            file,
            id,
            access,
            shared: Arc::clone(&self.shared),
            owner_writable,
        }))
    }

    fn metadata(&self, path: &WinPath) -> Result<Metadata, Error> {
        // Resolved afresh, a component at a time, as a listing is: what it answers comes from
        // the host path itself, not through a descriptor reached without following links.
        let (host, md) = self.found_walk(path)?;
        Ok(Self::host_metadata_with(&host, &md))
    }

    /// `None` without a system call for a name that the index of its folder (resolved before)
    /// does not hold, as a create of a new file decides; otherwise [`Volume::metadata`]'s
    /// answer.
    fn existing(&self, path: &WinPath) -> Result<Option<Metadata>, Error> {
        if self.known_missing(path).is_some() {
            return Ok(None);
        }
        match self.metadata(path) {
            // A link at the name itself (not on the way to it) is what a listing shows: a
            // file with a reparse point, so that a restore keeps it as something never
            // replaced rather than failing on it. Nothing follows it.
            Err(Error::AccessDenied { path: at, reason })
                if reason == LINK_REFUSED && at == *path =>
            {
                Ok(Some(LINK_METADATA))
            }
            found => crate::volume::present(found),
        }
    }

    fn read_dir(&self, path: &WinPath) -> Result<Vec<DirEntry>, Error> {
        // Resolved afresh, a component at a time: the listing reads the folder by its host
        // path, so a folder replaced by a link since it was remembered must be seen here.
        let (host, md) = self.found_walk(path)?;
        if !md.is_dir() {
            return Err(Error::NotADirectory { path: path.clone() });
        }
        let rd = fs::read_dir(&host).map_err(|e| Error::from_io(path, e))?;
        let mut out = Vec::new();
        for ent in rd {
            let ent = ent.map_err(|e| Error::from_io(path, e))?;
            let Some(name) = ent.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if path.is_root() && eq_name(&name, STATE_DIR) {
                continue;
            }
            let Ok(child) = path.join(&name) else {
                continue;
            };
            // A symbolic link is never followed (see `lookup`): it is listed as what Windows
            // makes of one, a file with a reparse point, and any use of it is refused.
            let metadata = if ent.file_type().is_ok_and(|t| t.is_symlink()) {
                LINK_METADATA
            } else {
                Self::host_metadata(&child, &ent.path())?
            };
            out.push(DirEntry { name, metadata });
        }
        out.sort_by_cached_key(|e| {
            WinPath::new(&e.name)
                .map(|p| p.folded())
                .unwrap_or_default()
        });
        Ok(out)
    }

    fn create_dir(&self, path: &WinPath) -> Result<(), Error> {
        match self.lookup(path)? {
            Lookup::Found(..) => Err(Error::AlreadyExists { path: path.clone() }),
            Lookup::Missing { parent, name } => {
                let host = parent.join(&name);
                let at = self.at(path, &host)?;
                self.beneath
                    .create_dir(&at)
                    .map_err(|e| host_err(path, e))?;
                self.note_created(&parent, &name);
                Ok(())
            }
        }
    }

    fn create_symlink(&self, path: &WinPath, target: &str) -> Result<(), Error> {
        match self.lookup(path)? {
            Lookup::Found(..) => Err(Error::AlreadyExists { path: path.clone() }),
            Lookup::Missing { parent, name } => {
                let host = parent.join(&name);
                let at = self.at(path, &host)?;
                self.beneath
                    .create_symlink(&at, target)
                    .map_err(|e| host_err(path, e))?;
                self.note_created(&parent, &name);
                Ok(())
            }
        }
    }

    /// Without following a link: `utimensat(AT_SYMLINK_NOFOLLOW)` on the name in its folder
    /// (reached as every write is, see the `beneath` module), or `futimens` on the root itself.
    fn set_times(
        &self,
        path: &WinPath,
        modified: Option<std::time::SystemTime>,
        accessed: Option<std::time::SystemTime>,
    ) -> Result<(), Error> {
        let (host, _) = self.found(path)?;
        if path.is_root() {
            let f = File::from(
                self.beneath
                    .open_dir(&host)
                    .map_err(|e| host_err(path, e))?,
            );
            let mut t = fs::FileTimes::new();
            if let Some(m) = modified {
                t = t.set_modified(m);
            }
            if let Some(a) = accessed {
                t = t.set_accessed(a);
            }
            return f.set_times(t).map_err(|e| Error::from_io(path, e));
        }
        let at = self.at(path, &host)?;
        self.beneath
            .set_times(&at, modified, accessed)
            .map_err(|e| host_err(path, e))
    }

    /// `syncfs` of the file system holding the root (`sync` on other Unix hosts).
    fn sync_all(&self) -> Result<(), Error> {
        let root = WinPath::root();
        #[cfg(target_os = "linux")]
        {
            let f = File::open(&self.root).map_err(|e| Error::from_io(&root, e))?;
            rustix::fs::syncfs(&f).map_err(|e| Error::from_io(&root, e.into()))?;
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = root;
            rustix::fs::sync();
        }
        Ok(())
    }

    fn remove_dir(&self, path: &WinPath) -> Result<(), Error> {
        if path.is_root() {
            return Err(Error::AccessDenied {
                path: path.clone(),
                reason: "the root cannot be removed",
            });
        }
        let (host, md) = self.found(path)?;
        if !md.is_dir() {
            return Err(Error::NotADirectory { path: path.clone() });
        }
        let at = self.at(path, &host)?;
        self.beneath
            .remove_dir(&at)
            .map_err(|e| host_err(path, e))?;
        self.note_removed(&host);
        self.shared.names().remove(&host);
        self.forget_folders();
        Ok(())
    }

    fn delete_file(&self, path: &WinPath) -> Result<(), Error> {
        let mut handles = self.shared.handles();
        let (host, md) = self.found(path)?;
        if md.is_dir() {
            return Err(Error::IsADirectory { path: path.clone() });
        }
        if let Some(r) = handles.values().find(|r| r.is_on(path) && !r.share.delete) {
            return Err(Error::SharingViolation {
                path: path.clone(),
                detail: format!("an open handle shares {:?}, delete requested", r.share),
            });
        }
        if Self::stored_attrs_path(&host).is_some_and(|a| a & attr::READONLY != 0) {
            return Err(Error::AccessDenied {
                path: path.clone(),
                reason: "the file is read-only",
            });
        }
        let at = self.at(path, &host)?;
        self.beneath
            .remove_file(&at)
            .map_err(|e| host_err(path, e))?;
        self.note_removed(&host);
        // Handles that shared delete stay usable but no longer own the name.
        for r in handles.values_mut() {
            if r.is_on(path) {
                r.deleted = true;
            }
        }
        Ok(())
    }

    fn rename(&self, from: &WinPath, to: &WinPath, replace: bool) -> Result<(), Error> {
        self.rename_entry(from, to, replace)
    }

    fn add_pending_rename(&self, op: &PendingRename) -> Result<(), Error> {
        self.append_pending(op)
    }

    fn pending_renames(&self) -> Result<Vec<PendingRename>, Error> {
        self.list_pending()
    }
}
