//! [`WinVolume`] / [`WinFile`]: the platform traits on Win32.

use std::ffi::c_void;
use std::ptr;
use std::sync::{Arc, Mutex, Weak};

use platform::{
    DirEntry, Disposition, Error, FileHandle, Metadata, OpenOptions, PendingRename, Volume,
    WinPath, attr,
};
use windows_sys::Win32::Foundation::{
    ERROR_FILE_NOT_FOUND, ERROR_MORE_DATA, ERROR_NO_MORE_FILES, GetLastError, HANDLE,
    INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateDirectoryW, CreateFileW, DeleteFileW, FindClose, FindFirstFileW, FindNextFileW,
    GetCompressedFileSizeW, GetFileAttributesExW, GetFileAttributesW, GetFileExInfoStandard,
    INVALID_FILE_ATTRIBUTES, INVALID_FILE_SIZE, MoveFileExW, RemoveDirectoryW,
    WIN32_FILE_ATTRIBUTE_DATA, WIN32_FIND_DATAW,
};
use windows_sys::Win32::System::Registry::{
    HKEY, HKEY_LOCAL_MACHINE, KEY_QUERY_VALUE, REG_MULTI_SZ, RegCloseKey, RegOpenKeyExW,
    RegQueryValueExW,
};

use crate::errors::{self, code};
use crate::paths::{self, wide};

mod file;

use file::Handle;
pub use file::WinFile;

/// Where Windows keeps the reboot operations (`MoveFileEx` documentation).
const SESSION_MANAGER: &str = r"SYSTEM\CurrentControlSet\Control\Session Manager";
/// The value holding them.
const PENDING_VALUE: &str = "PendingFileRenameOperations";

fn last_error() -> u32 {
    // SAFETY: GetLastError has no preconditions; it reads the calling thread's error slot.
    unsafe { GetLastError() }
}

/// A folder (or drive, share, `\\?\Volume{…}\`) of a real Windows file system as a
/// [`Volume`]. Every path is passed to Win32 in its `\\?\` long form, so paths longer than
/// `MAX_PATH` work and no name is reinterpreted.
///
/// Handles opened through a volume follow renames made through it (and its clones):
/// [`FileHandle::path`] reports the new path.
///
/// The reboot list (`PendingFileRenameOperations`) is machine-wide: [`Volume::pending_renames`]
/// reports the entries whose source (and destination, if any) lie under this volume's root.
#[derive(Debug, Clone)]
pub struct WinVolume {
    long_root: String,
    open: Arc<Mutex<Vec<Weak<Mutex<WinPath>>>>>,
}

impl WinVolume {
    /// A volume rooted at the existing directory `root` (absolute or relative to the current
    /// directory).
    pub fn new(root: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        let root = root.as_ref();
        let abs = std::path::absolute(root).map_err(|e| Error::Io {
            path: WinPath::root(),
            source: e,
        })?;
        let text = abs.to_str().ok_or_else(|| Error::InvalidPath {
            path: abs.to_string_lossy().into_owned(),
            reason: "not valid Unicode",
        })?;
        let long_root =
            paths::long_root(text).map_err(|paths::BadRoot(reason)| Error::InvalidPath {
                path: text.to_owned(),
                reason,
            })?;
        let v = Self {
            long_root,
            open: Arc::default(),
        };
        let m = v.metadata(&WinPath::root())?;
        if !m.is_dir() {
            return Err(Error::NotADirectory {
                path: WinPath::root(),
            });
        }
        Ok(v)
    }

    /// The root in its `\\?\` form.
    #[must_use]
    pub fn long_root(&self) -> &str {
        &self.long_root
    }

    /// The `\\?\` path of `path` on this volume.
    #[must_use]
    pub fn long_path(&self, path: &WinPath) -> String {
        paths::join_long(&self.long_root, path)
    }

    /// The ordinary full path (`C:\…`) of `path`, as `RestoreFiles` takes it.
    #[must_use]
    pub fn full_path(&self, path: &WinPath) -> String {
        paths::dos_path(&self.long_path(path))
    }

    fn w(&self, path: &WinPath) -> Vec<u16> {
        wide(&self.long_path(path))
    }

    fn attributes_of(&self, path: &WinPath) -> Option<u32> {
        let w = self.w(path);
        // SAFETY: `w` is a NUL-terminated UTF-16 string that outlives the call.
        let a = unsafe { GetFileAttributesW(w.as_ptr()) };
        (a != INVALID_FILE_ATTRIBUTES).then_some(a)
    }

    fn track(&self, path: &WinPath) -> Arc<Mutex<WinPath>> {
        let tracked = Arc::new(Mutex::new(path.clone()));
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        open.retain(|w| w.strong_count() > 0);
        open.push(Arc::downgrade(&tracked));
        tracked
    }

    /// After a rename: open handles on `from` (or below it) now live at `to`.
    fn renamed(&self, from: &WinPath, to: &WinPath) {
        let open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for t in open.iter().filter_map(Weak::upgrade) {
            let mut p = t.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if p.starts_with(from) {
                let rest: Vec<&str> = p.components().skip(from.components().len()).collect();
                let new = match WinPath::new(&rest.join("\\")) {
                    Ok(r) => to.join_path(&r),
                    Err(_) => continue,
                };
                *p = new;
            }
        }
    }

    fn is_dir(&self, path: &WinPath) -> bool {
        self.attributes_of(path)
            .is_some_and(|a| a & attr::DIRECTORY != 0)
    }

    /// Maps `code` for `path`, turning "access denied" on a directory into
    /// [`Error::IsADirectory`] (Win32 reports both the same way).
    fn file_error(&self, code: u32, path: &WinPath) -> Error {
        if code == code::ACCESS_DENIED && self.is_dir(path) {
            return Error::IsADirectory { path: path.clone() };
        }
        errors::from_win32(code, path)
    }
}

fn metadata_from(attributes: u32, high: u32, low: u32) -> Metadata {
    let len = if attributes & attr::DIRECTORY != 0 {
        0
    } else {
        (u64::from(high) << 32) | u64::from(low)
    };
    Metadata {
        attributes,
        len,
        allocated: len,
    }
}

/// A `FindFirstFileW` search handle, closed on drop.
struct Find(HANDLE);

impl Drop for Find {
    fn drop(&mut self) {
        // SAFETY: a search handle from FindFirstFileW, closed once.
        unsafe { FindClose(self.0) };
    }
}

/// An open registry key, closed on drop.
struct RegKey(HKEY);

impl Drop for RegKey {
    fn drop(&mut self) {
        // SAFETY: the key came from RegOpenKeyExW and is closed once.
        unsafe { RegCloseKey(self.0) };
    }
}

impl WinVolume {
    fn read_pending_value() -> Result<Vec<u16>, Error> {
        let root = WinPath::root();
        let sub = wide(SESSION_MANAGER);
        let mut key: HKEY = ptr::null_mut();
        // SAFETY: `sub` is NUL-terminated; `key` receives the opened key.
        let rc = unsafe {
            RegOpenKeyExW(
                HKEY_LOCAL_MACHINE,
                sub.as_ptr(),
                0,
                KEY_QUERY_VALUE,
                &raw mut key,
            )
        };
        if rc == ERROR_FILE_NOT_FOUND {
            return Ok(Vec::new());
        }
        if rc != 0 {
            return Err(errors::from_win32(rc, &root));
        }
        let key = RegKey(key);
        let name = wide(PENDING_VALUE);
        let mut size = 0u32;
        let mut kind = 0u32;
        loop {
            let mut buf = vec![0u16; (size as usize).div_ceil(2)];
            let data = if buf.is_empty() {
                ptr::null_mut()
            } else {
                buf.as_mut_ptr().cast::<u8>()
            };
            let mut got = (buf.len() * 2) as u32;
            // SAFETY: open key; `name` NUL-terminated; `data` is NULL (size query) or writable for
            // `got` bytes.
            let rc = unsafe {
                RegQueryValueExW(
                    key.0,
                    name.as_ptr(),
                    ptr::null(),
                    &raw mut kind,
                    data,
                    &raw mut got,
                )
            };
            match rc {
                0 if !data.is_null() => {
                    if kind != REG_MULTI_SZ {
                        return Ok(Vec::new());
                    }
                    buf.truncate(got as usize / 2);
                    return Ok(buf);
                }
                0 | ERROR_MORE_DATA => {
                    if got == 0 {
                        return Ok(Vec::new());
                    }
                    size = got;
                }
                ERROR_FILE_NOT_FOUND => return Ok(Vec::new()),
                e => return Err(errors::from_win32(e, &root)),
            }
        }
    }
}

impl Volume for WinVolume {
    fn open(&self, path: &WinPath, options: OpenOptions) -> Result<Box<dyn FileHandle>, Error> {
        // CreateFileW: TRUNCATE_EXISTING needs GENERIC_WRITE (the trait asks the same of
        // CREATE_ALWAYS); checked here because Wine does not.
        if matches!(
            options.disposition,
            Disposition::TruncateExisting | Disposition::CreateAlways
        ) && !options.access.write
        {
            return Err(Error::AccessDenied {
                path: path.clone(),
                reason: "truncating needs write access",
            });
        }
        let a = paths::create_file_args(options);
        let w = self.w(path);
        // SAFETY: `w` is NUL-terminated and outlives the call; no security attributes or
        // template handle.
        let h = unsafe {
            CreateFileW(
                w.as_ptr(),
                a.desired_access,
                a.share_mode,
                ptr::null(),
                a.creation_disposition,
                a.flags_and_attributes,
                ptr::null_mut(),
            )
        };
        if h == INVALID_HANDLE_VALUE {
            return Err(self.file_error(last_error(), path));
        }
        let file = WinFile {
            handle: Handle(h),
            path: path.clone(),
            current: self.track(path),
            access: options.access,
        };
        // FILE_FLAG_BACKUP_SEMANTICS also opens directories; the trait does not.
        if file.attributes()? & attr::DIRECTORY != 0 {
            return Err(Error::IsADirectory { path: path.clone() });
        }
        Ok(Box::new(file))
    }

    fn metadata(&self, path: &WinPath) -> Result<Metadata, Error> {
        let w = self.w(path);
        let mut data = WIN32_FILE_ATTRIBUTE_DATA::default();
        // SAFETY: `w` NUL-terminated; `data` is the struct GetFileExInfoStandard fills.
        let ok = unsafe {
            GetFileAttributesExW(
                w.as_ptr(),
                GetFileExInfoStandard,
                (&raw mut data).cast::<c_void>(),
            )
        };
        if ok == 0 {
            return Err(errors::from_win32(last_error(), path));
        }
        let mut m = metadata_from(data.dwFileAttributes, data.nFileSizeHigh, data.nFileSizeLow);
        if !m.is_dir() {
            let mut high = 0u32;
            // SAFETY: `w` NUL-terminated; `high` writable.
            let low = unsafe { GetCompressedFileSizeW(w.as_ptr(), &raw mut high) };
            if low != INVALID_FILE_SIZE || last_error() == 0 {
                m.allocated = (u64::from(high) << 32) | u64::from(low);
            }
        }
        Ok(m)
    }

    fn read_dir(&self, path: &WinPath) -> Result<Vec<DirEntry>, Error> {
        let pattern = wide(&format!(
            "{}\\*",
            self.long_path(path).trim_end_matches('\\')
        ));
        let mut data = WIN32_FIND_DATAW::default();
        // SAFETY: `pattern` NUL-terminated; `data` writable.
        let h = unsafe { FindFirstFileW(pattern.as_ptr(), &raw mut data) };
        if h == INVALID_HANDLE_VALUE {
            let e = last_error();
            // An empty drive root has no `.` entries and reports "file not found".
            if e == ERROR_FILE_NOT_FOUND && self.is_dir(path) {
                return Ok(Vec::new());
            }
            // A file where the directory should be: Windows says ERROR_DIRECTORY or
            // ERROR_PATH_NOT_FOUND, Wine ERROR_FILE_NOT_FOUND; the attributes settle it.
            if self
                .attributes_of(path)
                .is_some_and(|a| a & attr::DIRECTORY == 0)
            {
                return Err(Error::NotADirectory { path: path.clone() });
            }
            return Err(errors::from_win32(e, path));
        }
        let find = Find(h);
        let mut out = Vec::new();
        loop {
            let n = data.cFileName.iter().position(|&c| c == 0).unwrap_or(260);
            let name = String::from_utf16_lossy(&data.cFileName[..n]);
            if name != "." && name != ".." {
                out.push(DirEntry {
                    name,
                    metadata: metadata_from(
                        data.dwFileAttributes,
                        data.nFileSizeHigh,
                        data.nFileSizeLow,
                    ),
                });
            }
            // SAFETY: live search handle; `data` writable.
            if unsafe { FindNextFileW(find.0, &raw mut data) } == 0 {
                let e = last_error();
                if e == ERROR_NO_MORE_FILES {
                    break;
                }
                return Err(errors::from_win32(e, path));
            }
        }
        out.sort_by_cached_key(|e| {
            WinPath::new(&e.name).map_or_else(|_| e.name.clone(), |p| p.folded())
        });
        Ok(out)
    }

    fn create_dir(&self, path: &WinPath) -> Result<(), Error> {
        let w = self.w(path);
        // SAFETY: `w` NUL-terminated; default security.
        if unsafe { CreateDirectoryW(w.as_ptr(), ptr::null()) } == 0 {
            return Err(errors::from_win32(last_error(), path));
        }
        Ok(())
    }

    fn remove_dir(&self, path: &WinPath) -> Result<(), Error> {
        let w = self.w(path);
        // SAFETY: `w` NUL-terminated.
        if unsafe { RemoveDirectoryW(w.as_ptr()) } == 0 {
            return Err(errors::from_win32(last_error(), path));
        }
        Ok(())
    }

    fn delete_file(&self, path: &WinPath) -> Result<(), Error> {
        let w = self.w(path);
        // SAFETY: `w` NUL-terminated.
        if unsafe { DeleteFileW(w.as_ptr()) } == 0 {
            return Err(self.file_error(last_error(), path));
        }
        Ok(())
    }

    fn rename(&self, from: &WinPath, to: &WinPath, replace: bool) -> Result<(), Error> {
        // Windows answers a move below itself with an error code that varies (Wine:
        // ERROR_INVALID_PARAMETER); every volume refuses it the same way.
        if to.starts_with(from) && to != from {
            return Err(Error::AccessDenied {
                path: to.clone(),
                reason: "cannot move a directory into itself",
            });
        }
        let (f, t) = (self.w(from), self.w(to));
        let flags = if replace {
            paths::flag::MOVEFILE_REPLACE_EXISTING
        } else {
            0
        };
        // SAFETY: both strings NUL-terminated and alive for the call.
        if unsafe { MoveFileExW(f.as_ptr(), t.as_ptr(), flags) } == 0 {
            let e = last_error();
            let path = if matches!(e, code::ALREADY_EXISTS | code::FILE_EXISTS) || self.is_dir(to) {
                to
            } else {
                from
            };
            return Err(errors::from_win32(e, path));
        }
        self.renamed(from, to);
        Ok(())
    }

    fn add_pending_rename(&self, op: &PendingRename) -> Result<(), Error> {
        let src = self.w(&op.source);
        let dst = op.destination.as_ref().map(|d| self.w(d));
        let flags = paths::move_file_flags(op);
        // SAFETY: `src` NUL-terminated; `dst` NUL-terminated or NULL (delete at reboot).
        let ok = unsafe {
            MoveFileExW(
                src.as_ptr(),
                dst.as_ref().map_or(ptr::null(), Vec::as_ptr),
                flags,
            )
        };
        if ok == 0 {
            let e = last_error();
            if e == code::ACCESS_DENIED {
                return Err(Error::AccessDenied {
                    path: op.source.clone(),
                    reason: "staging a rename for the next boot needs an administrator",
                });
            }
            return Err(errors::from_win32(e, &op.source));
        }
        Ok(())
    }

    fn pending_renames(&self) -> Result<Vec<PendingRename>, Error> {
        let raw = paths::parse_pending_renames(&Self::read_pending_value()?);
        Ok(paths::pending_on_volume(&self.long_root, &raw))
    }
}
