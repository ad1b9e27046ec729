//! Win32 error codes and their mapping to the platform's typed errors.
//!
//! Pure Rust (no FFI): compiled and tested on every target. The numeric values are from
//! Microsoft's `winerror.h` (as published in the Windows SDK and mirrored by `windows-sys`'s
//! `Win32::Foundation`); on Windows a unit test checks each one against `windows-sys`.

use platform::{Error, ServiceError, WinPath};

/// The `ERROR_*` codes this crate maps (values from `winerror.h`).
pub mod code {
    /// `ERROR_INVALID_FUNCTION`: e.g. an FSCTL the file system does not implement.
    pub const INVALID_FUNCTION: u32 = 1;
    /// `ERROR_FILE_NOT_FOUND`.
    pub const FILE_NOT_FOUND: u32 = 2;
    /// `ERROR_PATH_NOT_FOUND`: a parent directory is missing.
    pub const PATH_NOT_FOUND: u32 = 3;
    /// `ERROR_ACCESS_DENIED`.
    pub const ACCESS_DENIED: u32 = 5;
    /// `ERROR_WRITE_PROTECT`.
    pub const WRITE_PROTECT: u32 = 19;
    /// `ERROR_SHARING_VIOLATION`.
    pub const SHARING_VIOLATION: u32 = 32;
    /// `ERROR_LOCK_VIOLATION`.
    pub const LOCK_VIOLATION: u32 = 33;
    /// `ERROR_HANDLE_EOF`: a positioned read at or past the end of the file.
    pub const HANDLE_EOF: u32 = 38;
    /// `ERROR_HANDLE_DISK_FULL`.
    pub const HANDLE_DISK_FULL: u32 = 39;
    /// `ERROR_NOT_SUPPORTED`.
    pub const NOT_SUPPORTED: u32 = 50;
    /// `ERROR_FILE_EXISTS`.
    pub const FILE_EXISTS: u32 = 80;
    /// `ERROR_INVALID_PARAMETER`.
    pub const INVALID_PARAMETER: u32 = 87;
    /// `ERROR_DISK_FULL`.
    pub const DISK_FULL: u32 = 112;
    /// `ERROR_INVALID_NAME`.
    pub const INVALID_NAME: u32 = 123;
    /// `ERROR_DIR_NOT_EMPTY`.
    pub const DIR_NOT_EMPTY: u32 = 145;
    /// `ERROR_BAD_PATHNAME`.
    pub const BAD_PATHNAME: u32 = 161;
    /// `ERROR_ALREADY_EXISTS`.
    pub const ALREADY_EXISTS: u32 = 183;
    /// `ERROR_FILENAME_EXCED_RANGE`.
    pub const FILENAME_EXCED_RANGE: u32 = 206;
    /// `ERROR_MORE_DATA`.
    pub const MORE_DATA: u32 = 234;
    /// `ERROR_DIRECTORY`: "the directory name is invalid" (a file where a directory is needed).
    pub const DIRECTORY: u32 = 267;
    /// `ERROR_UNABLE_TO_REMOVE_REPLACED`.
    pub const UNABLE_TO_REMOVE_REPLACED: u32 = 1175;
    /// `ERROR_UNABLE_TO_MOVE_REPLACEMENT`.
    pub const UNABLE_TO_MOVE_REPLACEMENT: u32 = 1176;
    /// `ERROR_USER_MAPPED_FILE`: the file is mapped into a process and cannot be replaced.
    pub const USER_MAPPED_FILE: u32 = 1224;
    /// `ERROR_PRIVILEGE_NOT_HELD`.
    pub const PRIVILEGE_NOT_HELD: u32 = 1314;
    /// `ERROR_SERVICE_REQUEST_TIMEOUT`.
    pub const SERVICE_REQUEST_TIMEOUT: u32 = 1053;
    /// `ERROR_SERVICE_ALREADY_RUNNING`.
    pub const SERVICE_ALREADY_RUNNING: u32 = 1056;
    /// `ERROR_SERVICE_DISABLED`.
    pub const SERVICE_DISABLED: u32 = 1058;
    /// `ERROR_SERVICE_DOES_NOT_EXIST`.
    pub const SERVICE_DOES_NOT_EXIST: u32 = 1060;
    /// `ERROR_SERVICE_CANNOT_ACCEPT_CTRL`.
    pub const SERVICE_CANNOT_ACCEPT_CTRL: u32 = 1061;
    /// `ERROR_SERVICE_NOT_ACTIVE`.
    pub const SERVICE_NOT_ACTIVE: u32 = 1062;
    /// `ERROR_NOT_A_REPARSE_POINT`.
    pub const NOT_A_REPARSE_POINT: u32 = 4390;
    /// `ERROR_REPARSE_ATTRIBUTE_CONFLICT`.
    pub const REPARSE_ATTRIBUTE_CONFLICT: u32 = 4391;
    /// `ERROR_INVALID_REPARSE_DATA`.
    pub const INVALID_REPARSE_DATA: u32 = 4392;
    /// `ERROR_REPARSE_TAG_INVALID`.
    pub const REPARSE_TAG_INVALID: u32 = 4393;
    /// `ERROR_REPARSE_TAG_MISMATCH`.
    pub const REPARSE_TAG_MISMATCH: u32 = 4394;
}

/// The `std::io::Error` carried by [`Error::Io`] for an unmapped Win32 code: on Windows the OS
/// error itself (so its message is the system's), elsewhere a plain error naming the code.
#[must_use]
pub fn io_error(code: u32) -> std::io::Error {
    #[cfg(windows)]
    {
        std::io::Error::from_raw_os_error(code.cast_signed())
    }
    #[cfg(not(windows))]
    {
        std::io::Error::other(format!("Win32 error {code}"))
    }
}

/// Maps a Win32 error code (from `GetLastError` or a registry call) for `path` to the typed
/// platform error. Sharing and "in use, cannot replace" conditions become
/// [`Error::SharingViolation`]; privilege failures become [`Error::AccessDenied`] naming the
/// privilege; unknown codes keep the code in [`Error::Io`].
#[must_use]
pub fn from_win32(code: u32, path: &WinPath) -> Error {
    use crate::errors::code as c;
    let path = path.clone();
    match code {
        c::FILE_NOT_FOUND | c::PATH_NOT_FOUND => Error::NotFound { path },
        c::FILE_EXISTS | c::ALREADY_EXISTS => Error::AlreadyExists { path },
        c::SHARING_VIOLATION => Error::SharingViolation {
            path,
            detail: "ERROR_SHARING_VIOLATION: an open handle's share mode forbids this access"
                .into(),
        },
        c::LOCK_VIOLATION => Error::SharingViolation {
            path,
            detail: "ERROR_LOCK_VIOLATION: a byte range is locked by another handle".into(),
        },
        c::USER_MAPPED_FILE => Error::SharingViolation {
            path,
            detail: "ERROR_USER_MAPPED_FILE: the file is in use (mapped) and cannot be replaced"
                .into(),
        },
        c::UNABLE_TO_REMOVE_REPLACED | c::UNABLE_TO_MOVE_REPLACEMENT => Error::SharingViolation {
            path,
            detail: "the file is in use and cannot be replaced".into(),
        },
        c::ACCESS_DENIED => Error::AccessDenied {
            path,
            reason: "ERROR_ACCESS_DENIED",
        },
        c::WRITE_PROTECT => Error::AccessDenied {
            path,
            reason: "ERROR_WRITE_PROTECT: the medium is write-protected",
        },
        c::PRIVILEGE_NOT_HELD => Error::AccessDenied {
            path,
            reason: "ERROR_PRIVILEGE_NOT_HELD: needs SeBackupPrivilege/SeRestorePrivilege \
                     (run elevated)",
        },
        c::DIRECTORY => Error::NotADirectory { path },
        c::DIR_NOT_EMPTY => Error::DirectoryNotEmpty { path },
        c::NOT_A_REPARSE_POINT => Error::NotAReparsePoint { path },
        c::REPARSE_TAG_MISMATCH => Error::InvalidReparseData {
            path,
            reason: "ERROR_REPARSE_TAG_MISMATCH",
        },
        c::INVALID_REPARSE_DATA => Error::InvalidReparseData {
            path,
            reason: "ERROR_INVALID_REPARSE_DATA",
        },
        c::REPARSE_TAG_INVALID => Error::InvalidReparseData {
            path,
            reason: "ERROR_REPARSE_TAG_INVALID",
        },
        c::REPARSE_ATTRIBUTE_CONFLICT => Error::InvalidReparseData {
            path,
            reason: "ERROR_REPARSE_ATTRIBUTE_CONFLICT",
        },
        c::DISK_FULL | c::HANDLE_DISK_FULL => Error::DiskFull { path },
        c::INVALID_NAME | c::BAD_PATHNAME | c::FILENAME_EXCED_RANGE => Error::InvalidPath {
            path: path.to_string(),
            reason: "rejected by Win32 (ERROR_INVALID_NAME / ERROR_BAD_PATHNAME / too long)",
        },
        c::INVALID_FUNCTION | c::NOT_SUPPORTED => Error::Unsupported {
            path,
            what: format!("the file system does not support this operation (Win32 error {code})"),
        },
        _ => Error::Io {
            path,
            source: io_error(code),
        },
    }
}

/// Maps a Win32 error code of a Service Control Manager call on service `name`.
#[must_use]
pub fn service_from_win32(code: u32, name: &str, what: &str) -> ServiceError {
    let name = name.to_owned();
    match code {
        code::SERVICE_DOES_NOT_EXIST => ServiceError::NotFound { name },
        code::ACCESS_DENIED => ServiceError::AccessDenied { name },
        code::SERVICE_DISABLED => ServiceError::Failed {
            name,
            reason: format!("{what}: the service is disabled (ERROR_SERVICE_DISABLED)"),
        },
        code::SERVICE_REQUEST_TIMEOUT => ServiceError::Failed {
            name,
            reason: format!("{what}: the service did not respond (ERROR_SERVICE_REQUEST_TIMEOUT)"),
        },
        code::SERVICE_CANNOT_ACCEPT_CTRL => ServiceError::Failed {
            name,
            reason: format!(
                "{what}: the service cannot accept the control now \
                 (ERROR_SERVICE_CANNOT_ACCEPT_CTRL)"
            ),
        },
        _ => ServiceError::Failed {
            name,
            reason: format!("{what}: Win32 error {code}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> WinPath {
        WinPath::new(r"dir\file.txt").unwrap()
    }

    #[test]
    fn file_errors_map_to_typed_variants() {
        assert!(matches!(from_win32(2, &p()), Error::NotFound { path } if path == p()));
        assert!(matches!(from_win32(3, &p()), Error::NotFound { .. }));
        assert!(matches!(from_win32(80, &p()), Error::AlreadyExists { .. }));
        assert!(matches!(from_win32(183, &p()), Error::AlreadyExists { .. }));
        assert!(matches!(from_win32(5, &p()), Error::AccessDenied { .. }));
        assert!(matches!(from_win32(267, &p()), Error::NotADirectory { .. }));
        assert!(matches!(
            from_win32(145, &p()),
            Error::DirectoryNotEmpty { .. }
        ));
        assert!(matches!(
            from_win32(4390, &p()),
            Error::NotAReparsePoint { .. }
        ));
        assert!(matches!(
            from_win32(4392, &p()),
            Error::InvalidReparseData { .. }
        ));
        assert!(matches!(from_win32(112, &p()), Error::DiskFull { .. }));
        assert!(matches!(from_win32(39, &p()), Error::DiskFull { .. }));
        assert!(matches!(from_win32(1, &p()), Error::Unsupported { .. }));
        assert!(matches!(from_win32(50, &p()), Error::Unsupported { .. }));
        assert!(
            matches!(from_win32(123, &p()), Error::InvalidPath { path, .. } if path == r"\dir\file.txt")
        );
    }

    #[test]
    fn in_use_conditions_are_sharing_violations() {
        for code in [32, 33, 1224, 1175, 1176] {
            let e = from_win32(code, &p());
            assert!(
                matches!(&e, Error::SharingViolation { path, .. } if *path == p()),
                "{code}: {e}"
            );
        }
        let e = from_win32(32, &p());
        assert!(e.to_string().contains("ERROR_SHARING_VIOLATION"), "{e}");
        // The HRESULT dedup-restore reports for it is HRESULT_FROM_WIN32(ERROR_SHARING_VIOLATION).
        assert_eq!(dedup_restore::from_platform(&e).0, 0x8007_0020);
    }

    #[test]
    fn privilege_failure_names_the_privilege() {
        let e = from_win32(1314, &p());
        assert!(
            matches!(e, Error::AccessDenied { reason, .. } if reason.contains("SeRestorePrivilege"))
        );
    }

    #[test]
    fn unknown_codes_keep_the_code() {
        let e = from_win32(1450, &p());
        match e {
            Error::Io { path, source } => {
                assert_eq!(path, p());
                #[cfg(windows)]
                assert_eq!(source.raw_os_error(), Some(1450));
                #[cfg(not(windows))]
                assert_eq!(source.to_string(), "Win32 error 1450");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn service_errors() {
        assert!(matches!(
            service_from_win32(1060, "Spooler", "open"),
            ServiceError::NotFound { name } if name == "Spooler"
        ));
        assert!(matches!(
            service_from_win32(5, "Spooler", "open"),
            ServiceError::AccessDenied { .. }
        ));
        match service_from_win32(1058, "x", "start") {
            ServiceError::Failed { reason, .. } => {
                assert_eq!(
                    reason,
                    "start: the service is disabled (ERROR_SERVICE_DISABLED)"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    /// The hand-written values agree with `windows-sys` (the SDK metadata).
    #[cfg(windows)]
    #[test]
    fn codes_match_windows_sys() {
        use windows_sys::Win32::Foundation as F;
        let pairs = [
            (code::INVALID_FUNCTION, F::ERROR_INVALID_FUNCTION),
            (code::FILE_NOT_FOUND, F::ERROR_FILE_NOT_FOUND),
            (code::PATH_NOT_FOUND, F::ERROR_PATH_NOT_FOUND),
            (code::ACCESS_DENIED, F::ERROR_ACCESS_DENIED),
            (code::WRITE_PROTECT, F::ERROR_WRITE_PROTECT),
            (code::SHARING_VIOLATION, F::ERROR_SHARING_VIOLATION),
            (code::LOCK_VIOLATION, F::ERROR_LOCK_VIOLATION),
            (code::HANDLE_EOF, F::ERROR_HANDLE_EOF),
            (code::HANDLE_DISK_FULL, F::ERROR_HANDLE_DISK_FULL),
            (code::NOT_SUPPORTED, F::ERROR_NOT_SUPPORTED),
            (code::FILE_EXISTS, F::ERROR_FILE_EXISTS),
            (code::INVALID_PARAMETER, F::ERROR_INVALID_PARAMETER),
            (code::DISK_FULL, F::ERROR_DISK_FULL),
            (code::INVALID_NAME, F::ERROR_INVALID_NAME),
            (code::DIR_NOT_EMPTY, F::ERROR_DIR_NOT_EMPTY),
            (code::BAD_PATHNAME, F::ERROR_BAD_PATHNAME),
            (code::ALREADY_EXISTS, F::ERROR_ALREADY_EXISTS),
            (code::FILENAME_EXCED_RANGE, F::ERROR_FILENAME_EXCED_RANGE),
            (code::MORE_DATA, F::ERROR_MORE_DATA),
            (code::DIRECTORY, F::ERROR_DIRECTORY),
            (
                code::UNABLE_TO_REMOVE_REPLACED,
                F::ERROR_UNABLE_TO_REMOVE_REPLACED,
            ),
            (
                code::UNABLE_TO_MOVE_REPLACEMENT,
                F::ERROR_UNABLE_TO_MOVE_REPLACEMENT,
            ),
            (code::USER_MAPPED_FILE, F::ERROR_USER_MAPPED_FILE),
            (code::PRIVILEGE_NOT_HELD, F::ERROR_PRIVILEGE_NOT_HELD),
            (
                code::SERVICE_REQUEST_TIMEOUT,
                F::ERROR_SERVICE_REQUEST_TIMEOUT,
            ),
            (
                code::SERVICE_ALREADY_RUNNING,
                F::ERROR_SERVICE_ALREADY_RUNNING,
            ),
            (code::SERVICE_DISABLED, F::ERROR_SERVICE_DISABLED),
            (
                code::SERVICE_DOES_NOT_EXIST,
                F::ERROR_SERVICE_DOES_NOT_EXIST,
            ),
            (
                code::SERVICE_CANNOT_ACCEPT_CTRL,
                F::ERROR_SERVICE_CANNOT_ACCEPT_CTRL,
            ),
            (code::SERVICE_NOT_ACTIVE, F::ERROR_SERVICE_NOT_ACTIVE),
            (code::NOT_A_REPARSE_POINT, F::ERROR_NOT_A_REPARSE_POINT),
            (
                code::REPARSE_ATTRIBUTE_CONFLICT,
                F::ERROR_REPARSE_ATTRIBUTE_CONFLICT,
            ),
            (code::INVALID_REPARSE_DATA, F::ERROR_INVALID_REPARSE_DATA),
            (code::REPARSE_TAG_INVALID, F::ERROR_REPARSE_TAG_INVALID),
            (code::REPARSE_TAG_MISMATCH, F::ERROR_REPARSE_TAG_MISMATCH),
        ];
        for (ours, sdk) in pairs {
            assert_eq!(ours, sdk);
        }
    }
}
