//! [`WinFile`]: an open file of a [`super::WinVolume`], the `FileHandle` trait on a Win32 handle.

use std::ffi::c_void;
use std::ptr;
use std::sync::{Arc, Mutex};

use platform::{Access, Error, FileHandle, WinPath, attr};
use windows_sys::Win32::Foundation::{CloseHandle, ERROR_HANDLE_EOF, HANDLE};
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, FILE_BASIC_INFO, FILE_END_OF_FILE_INFO, FileBasicInfo,
    FileEndOfFileInfo, FlushFileBuffers, GetFileInformationByHandle, GetFileSizeEx,
    MAXIMUM_REPARSE_DATA_BUFFER_SIZE, ReadFile, SetFileInformationByHandle, WriteFile,
};
use windows_sys::Win32::System::IO::{DeviceIoControl, OVERLAPPED};
use windows_sys::Win32::System::Ioctl::{
    FILE_SET_SPARSE_BUFFER, FSCTL_DELETE_REPARSE_POINT, FSCTL_GET_REPARSE_POINT,
    FSCTL_SET_REPARSE_POINT, FSCTL_SET_SPARSE,
};

use super::last_error;
use crate::{errors, paths};

/// An owned Win32 handle, closed on drop.
#[derive(Debug)]
pub(super) struct Handle(pub(super) HANDLE);

// SAFETY: a kernel file handle is a process-wide value; Win32 file calls on it are thread-safe
// (positioned I/O passes its own OVERLAPPED per call), so it may be shared and sent.
unsafe impl Send for Handle {}
// SAFETY: as above.
unsafe impl Sync for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle came from CreateFileW, is valid and is closed exactly once here.
        unsafe { CloseHandle(self.0) };
    }
}

/// An open file of a [`WinVolume`](super::WinVolume).
#[derive(Debug)]
pub struct WinFile {
    pub(super) handle: Handle,
    pub(super) path: WinPath,
    pub(super) current: Arc<Mutex<WinPath>>,
    /// The access the handle was opened with: changes through a handle without write access
    /// are refused here, as Windows refuses them (MS-FSA: FILE_WRITE_DATA /
    /// FILE_WRITE_ATTRIBUTES), since Wine does not check every one of them.
    pub(super) access: Access,
}

fn overlapped_at(offset: u64) -> OVERLAPPED {
    let mut o = OVERLAPPED::default();
    o.Anonymous.Anonymous.Offset = offset as u32;
    o.Anonymous.Anonymous.OffsetHigh = (offset >> 32) as u32;
    o
}

impl WinFile {
    fn err(&self, code: u32) -> Error {
        errors::from_win32(code, &self.path)
    }

    /// [`Error::AccessDenied`] unless the handle has write access.
    fn need_write(&self, what: &'static str) -> Result<(), Error> {
        if self.access.write {
            Ok(())
        } else {
            Err(Error::AccessDenied {
                path: self.path(),
                reason: what,
            })
        }
    }

    fn info(&self) -> Result<BY_HANDLE_FILE_INFORMATION, Error> {
        let mut info = BY_HANDLE_FILE_INFORMATION::default();
        // SAFETY: valid handle; `info` is a properly sized, writable struct.
        if unsafe { GetFileInformationByHandle(self.handle.0, &raw mut info) } == 0 {
            return Err(self.err(last_error()));
        }
        Ok(info)
    }

    fn ioctl(&self, control: u32, input: &[u8], output: &mut [u8]) -> Result<usize, Error> {
        let mut returned = 0u32;
        // SAFETY: valid handle; the in/out pointers and lengths describe live slices (an empty
        // slice is passed as NULL/0); synchronous call, so no OVERLAPPED.
        let ok = unsafe {
            DeviceIoControl(
                self.handle.0,
                control,
                if input.is_empty() {
                    ptr::null()
                } else {
                    input.as_ptr().cast::<c_void>()
                },
                input.len() as u32,
                if output.is_empty() {
                    ptr::null_mut()
                } else {
                    output.as_mut_ptr().cast::<c_void>()
                },
                output.len() as u32,
                &raw mut returned,
                ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(self.err(last_error()));
        }
        Ok(returned as usize)
    }

    fn set_info<T>(&self, class: i32, value: &T) -> Result<(), Error> {
        // SAFETY: valid handle; `value` points to a live struct of the size passed, of the type
        // the information class expects (callers pair them).
        let ok = unsafe {
            SetFileInformationByHandle(
                self.handle.0,
                class,
                ptr::from_ref(value).cast::<c_void>(),
                size_of::<T>() as u32,
            )
        };
        if ok == 0 {
            return Err(self.err(last_error()));
        }
        Ok(())
    }
}

impl FileHandle for WinFile {
    fn path(&self) -> WinPath {
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Error> {
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let mut o = overlapped_at(offset);
        let mut read = 0u32;
        // SAFETY: valid handle opened without FILE_FLAG_OVERLAPPED, so the call is synchronous and
        // `o` (which only carries the offset) and `buf` outlive it; `len` ≤ `buf.len()`.
        let ok = unsafe {
            ReadFile(
                self.handle.0,
                buf.as_mut_ptr(),
                len,
                &raw mut read,
                &raw mut o,
            )
        };
        if ok == 0 {
            let e = last_error();
            if e == ERROR_HANDLE_EOF {
                return Ok(0);
            }
            return Err(self.err(e));
        }
        Ok(read as usize)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize, Error> {
        self.need_write("writing needs write access")?;
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let mut o = overlapped_at(offset);
        let mut written = 0u32;
        // SAFETY: as in read_at; `buf` is read-only for the call.
        let ok = unsafe {
            WriteFile(
                self.handle.0,
                buf.as_ptr(),
                len,
                &raw mut written,
                &raw mut o,
            )
        };
        if ok == 0 {
            return Err(self.err(last_error()));
        }
        Ok(written as usize)
    }

    fn len(&self) -> Result<u64, Error> {
        let mut size = 0i64;
        // SAFETY: valid handle; `size` is writable.
        if unsafe { GetFileSizeEx(self.handle.0, &raw mut size) } == 0 {
            return Err(self.err(last_error()));
        }
        Ok(size.cast_unsigned())
    }

    fn set_len(&self, len: u64) -> Result<(), Error> {
        self.need_write("setting the length needs write access")?;
        let info = FILE_END_OF_FILE_INFO {
            EndOfFile: i64::try_from(len).map_err(|_| Error::Io {
                path: self.path.clone(),
                source: std::io::ErrorKind::InvalidInput.into(),
            })?,
        };
        self.set_info(FileEndOfFileInfo, &info)
    }

    fn attributes(&self) -> Result<u32, Error> {
        Ok(self.info()?.dwFileAttributes)
    }

    fn set_attributes(&self, attributes: u32) -> Result<(), Error> {
        self.need_write("setting attributes needs write access")?;
        let mut bits = attributes & attr::SETTABLE;
        if bits & !attr::NORMAL != 0 {
            bits &= !attr::NORMAL;
        }
        if bits == 0 {
            // 0 would mean "leave unchanged" in FILE_BASIC_INFO.
            bits = attr::NORMAL;
        }
        let info = FILE_BASIC_INFO {
            CreationTime: 0,
            LastAccessTime: 0,
            LastWriteTime: 0,
            ChangeTime: 0,
            FileAttributes: bits,
        };
        self.set_info(FileBasicInfo, &info)
    }

    fn set_sparse(&self, sparse: bool) -> Result<(), Error> {
        self.need_write("setting the sparse flag needs write access")?;
        let input = FILE_SET_SPARSE_BUFFER { SetSparse: sparse };
        // SAFETY: FILE_SET_SPARSE_BUFFER is a 1-byte plain struct; viewing it as bytes is sound.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                ptr::from_ref(&input).cast::<u8>(),
                size_of::<FILE_SET_SPARSE_BUFFER>(),
            )
        };
        self.ioctl(FSCTL_SET_SPARSE, bytes, &mut []).map(|_| ())
    }

    fn reparse_point(&self) -> Result<Vec<u8>, Error> {
        let mut buf = vec![0u8; MAXIMUM_REPARSE_DATA_BUFFER_SIZE as usize];
        let n = self.ioctl(FSCTL_GET_REPARSE_POINT, &[], &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    fn set_reparse_point(&self, buffer: &[u8]) -> Result<(), Error> {
        self.need_write("setting a reparse point needs write access")?;
        let existing = match self.reparse_point() {
            Ok(existing) => Some(existing),
            Err(Error::NotAReparsePoint { .. }) => None,
            Err(e) => return Err(e),
        };
        platform::reparse::check_set(|| self.path.clone(), buffer, existing.as_deref())?;
        self.ioctl(FSCTL_SET_REPARSE_POINT, buffer, &mut [])
            .map(|_| ())
    }

    fn remove_reparse_point(&self) -> Result<(), Error> {
        let existing = self.reparse_point()?;
        self.need_write("removing a reparse point needs write access")?;
        let input =
            paths::delete_reparse_input(&existing).map_err(|reason| Error::InvalidReparseData {
                path: self.path.clone(),
                reason,
            })?;
        self.ioctl(FSCTL_DELETE_REPARSE_POINT, &input, &mut [])
            .map(|_| ())
    }

    fn flush(&self) -> Result<(), Error> {
        // SAFETY: valid handle.
        if unsafe { FlushFileBuffers(self.handle.0) } == 0 {
            return Err(self.err(last_error()));
        }
        Ok(())
    }
}
