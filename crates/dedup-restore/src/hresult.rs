//! HRESULT values of `RestoreFiles` and their names.
//!
//! Values from `docs/dedup-format.md` §6.3 (DDP_E_* from Microsoft's RestoreFiles docs and
//! the ddputils.dll message table) and winerror.h (S_OK, S_FALSE, E_INVALIDARG, E_FAIL,
//! HRESULT_FROM_WIN32).

use std::fmt;

/// An HRESULT.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hresult(pub u32);

impl Hresult {
    /// Success: the file was restored.
    pub const S_OK: Self = Self(0);
    /// Success, but the file is not a dedup file (nothing done).
    pub const S_FALSE: Self = Self(1);
    /// Invalid argument (more than 10,000 paths, bad flags).
    pub const E_INVALIDARG: Self = Self(0x8007_0057);
    /// Unspecified failure.
    pub const E_FAIL: Self = Self(0x8000_4005);
    /// The requested object was not found (a chunk or stream map absent from its container).
    pub const DDP_E_NOT_FOUND: Self = Self(0x8056_5301);
    /// A container path was not found in the backup store.
    pub const DDP_E_PATH_NOT_FOUND: Self = Self(0x8056_5304);
    /// Unexpected internal condition.
    pub const DDP_E_UNEXPECTED: Self = Self(0x8056_530C);
    /// Invalid data (malformed reparse point or stream map).
    pub const DDP_E_INVALID_DATA: Self = Self(0x8056_531D);
    /// The file is corrupt (chunk CRC, hash or decompression failure, bad reparse CRC).
    pub const DDP_E_FILE_CORRUPT: Self = Self(0x8056_5355);
    /// Some files were restored and some failed.
    pub const DDP_E_JOB_COMPLETED_PARTIAL_SUCCESS: Self = Self(0x8056_5356);

    /// `HRESULT_FROM_WIN32(code)`.
    #[must_use]
    pub const fn from_win32(code: u32) -> Self {
        if code == 0 {
            Self(0)
        } else {
            Self((code & 0xFFFF) | 0x8007_0000)
        }
    }

    /// True for S_OK and S_FALSE (and any other non-negative value).
    #[must_use]
    pub const fn is_success(self) -> bool {
        self.0 & 0x8000_0000 == 0
    }

    /// The symbolic name, when known.
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::S_OK => "S_OK",
            Self::S_FALSE => "S_FALSE",
            Self::E_INVALIDARG => "E_INVALIDARG",
            Self::E_FAIL => "E_FAIL",
            Self::DDP_E_NOT_FOUND => "DDP_E_NOT_FOUND",
            Self::DDP_E_PATH_NOT_FOUND => "DDP_E_PATH_NOT_FOUND",
            Self::DDP_E_UNEXPECTED => "DDP_E_UNEXPECTED",
            Self::DDP_E_INVALID_DATA => "DDP_E_INVALID_DATA",
            Self::DDP_E_FILE_CORRUPT => "DDP_E_FILE_CORRUPT",
            Self::DDP_E_JOB_COMPLETED_PARTIAL_SUCCESS => "DDP_E_JOB_COMPLETED_PARTIAL_SUCCESS",
            h if h == Self::from_win32(2) => "HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)",
            h if h == Self::from_win32(5) => "HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED)",
            h if h == Self::from_win32(32) => "HRESULT_FROM_WIN32(ERROR_SHARING_VIOLATION)",
            h if h == Self::from_win32(112) => "HRESULT_FROM_WIN32(ERROR_DISK_FULL)",
            h if h == Self::from_win32(183) => "HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS)",
            _ => return None,
        })
    }
}

impl fmt::Display for Hresult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({:#010x})", self.0),
            None => write!(f, "{:#010x}", self.0),
        }
    }
}

impl fmt::Debug for Hresult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The HRESULT a platform error maps to (what Win32 would return for it).
#[must_use]
pub fn from_platform(e: &platform::Error) -> Hresult {
    use platform::Error as E;
    match e {
        E::NotFound { .. } => Hresult::from_win32(2),
        E::AccessDenied { .. } => Hresult::from_win32(5),
        E::SharingViolation { .. } => Hresult::from_win32(32),
        E::DiskFull { .. } => Hresult::from_win32(112),
        E::AlreadyExists { .. } => Hresult::from_win32(183),
        E::NotAReparsePoint { .. } => Hresult::from_win32(4390),
        _ => Hresult::E_FAIL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_names() {
        assert_eq!(Hresult::from_win32(2).0, 0x8007_0002);
        assert_eq!(Hresult::from_win32(0x57), Hresult::E_INVALIDARG);
        assert!(Hresult::S_FALSE.is_success());
        assert!(!Hresult::DDP_E_FILE_CORRUPT.is_success());
        assert_eq!(
            Hresult::DDP_E_PATH_NOT_FOUND.to_string(),
            "DDP_E_PATH_NOT_FOUND (0x80565304)"
        );
        assert_eq!(Hresult(0x8056_5354).to_string(), "0x80565354");
    }
}
