//! Typed errors of the platform traits. Every file-system error names the path.

use crate::WinPath;

/// Error of [`crate::Volume`] and [`crate::FileHandle`] operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file or directory (or a parent directory) does not exist.
    #[error("{path}: not found")]
    NotFound {
        /// The path.
        path: WinPath,
    },
    /// The file or directory already exists.
    #[error("{path}: already exists")]
    AlreadyExists {
        /// The path.
        path: WinPath,
    },
    /// An open handle's share mode forbids the requested access (ERROR_SHARING_VIOLATION).
    #[error("{path}: sharing violation ({detail})")]
    SharingViolation {
        /// The path.
        path: WinPath,
        /// Which access conflicted.
        detail: String,
    },
    /// Access denied: read-only file, handle without the needed access right, host permissions.
    #[error("{path}: access denied ({reason})")]
    AccessDenied {
        /// The path.
        path: WinPath,
        /// Why.
        reason: &'static str,
    },
    /// A path component that must be a directory is a file.
    #[error("{path}: not a directory")]
    NotADirectory {
        /// The path.
        path: WinPath,
    },
    /// A file operation was asked of a directory.
    #[error("{path}: is a directory")]
    IsADirectory {
        /// The path.
        path: WinPath,
    },
    /// A directory to remove is not empty.
    #[error("{path}: directory not empty")]
    DirectoryNotEmpty {
        /// The path.
        path: WinPath,
    },
    /// The file has no reparse point (ERROR_NOT_A_REPARSE_POINT).
    #[error("{path}: not a reparse point")]
    NotAReparsePoint {
        /// The path.
        path: WinPath,
    },
    /// A reparse point with a different tag is already set (ERROR_REPARSE_TAG_MISMATCH).
    #[error("{path}: reparse tag mismatch (file has {existing:#010x}, given {given:#010x})")]
    ReparseTagMismatch {
        /// The path.
        path: WinPath,
        /// Tag already on the file.
        existing: u32,
        /// Tag given.
        given: u32,
    },
    /// Reparse data that is not a well-formed `REPARSE_DATA_BUFFER`.
    #[error("{path}: invalid reparse data ({reason})")]
    InvalidReparseData {
        /// The path.
        path: WinPath,
        /// Why.
        reason: &'static str,
    },
    /// No space left on the volume (ERROR_DISK_FULL).
    #[error("{path}: disk full")]
    DiskFull {
        /// The path being written.
        path: WinPath,
    },
    /// A path string that is not a valid volume-relative Windows path.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The rejected text.
        path: String,
        /// Why.
        reason: &'static str,
    },
    /// The implementation cannot do this here (e.g. the host file system refuses extended
    /// attributes).
    #[error("{path}: unsupported: {what}")]
    Unsupported {
        /// The path.
        path: WinPath,
        /// What is unsupported.
        what: String,
    },
    /// Any other I/O error.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: WinPath,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The path the error is about (`None` for [`Error::InvalidPath`], whose text did not parse).
    #[must_use]
    pub fn path(&self) -> Option<&WinPath> {
        match self {
            Self::NotFound { path }
            | Self::AlreadyExists { path }
            | Self::SharingViolation { path, .. }
            | Self::AccessDenied { path, .. }
            | Self::NotADirectory { path }
            | Self::IsADirectory { path }
            | Self::DirectoryNotEmpty { path }
            | Self::NotAReparsePoint { path }
            | Self::ReparseTagMismatch { path, .. }
            | Self::InvalidReparseData { path, .. }
            | Self::DiskFull { path }
            | Self::Unsupported { path, .. }
            | Self::Io { path, .. } => Some(path),
            Self::InvalidPath { .. } => None,
        }
    }

    /// Maps a host I/O error to the typed variant for `path`.
    #[must_use]
    pub fn from_io(path: &WinPath, e: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        let path = path.clone();
        match e.kind() {
            K::NotFound => Self::NotFound { path },
            K::AlreadyExists => Self::AlreadyExists { path },
            K::PermissionDenied => Self::AccessDenied {
                path,
                reason: "host permission denied",
            },
            K::NotADirectory => Self::NotADirectory { path },
            K::IsADirectory => Self::IsADirectory { path },
            K::DirectoryNotEmpty => Self::DirectoryNotEmpty { path },
            K::StorageFull | K::QuotaExceeded => Self::DiskFull { path },
            _ => Self::Io { path, source: e },
        }
    }
}
