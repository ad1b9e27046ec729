//! [`ImageError`]: why an image could not be opened or read.

/// Why an image, its partition table or its container could not be read. Every variant names
/// the structure and, where there is one, the byte offset in the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A structure of the container or of the partition table is not what the format says.
    #[error("{format} {structure} at offset {offset:#x}: {problem}")]
    Invalid {
        /// The format (`VHDX`, `VHD`, `GPT`, `MBR`).
        format: &'static str,
        /// The structure (`header`, `BAT entry 12`, …).
        structure: String,
        /// Its byte offset in the file (or disk).
        offset: u64,
        /// What was expected and what was found.
        problem: String,
    },
    /// The E01 reader refused the image.
    #[error("E01 {path}: {message}")]
    Ewf {
        /// The first segment.
        path: String,
        /// The reader's message.
        message: String,
    },
    /// The disk holds no NTFS partition, or several and none was chosen.
    #[error("{0}")]
    Partition(String),
}

impl ImageError {
    /// An [`ImageError::Invalid`].
    pub(crate) fn invalid(
        format: &'static str,
        structure: impl Into<String>,
        offset: u64,
        problem: impl Into<String>,
    ) -> Self {
        Self::Invalid {
            format,
            structure: structure.into(),
            offset,
            problem: problem.into(),
        }
    }

    /// An [`ImageError::Io`] about `path`.
    pub(crate) fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<ImageError> for std::io::Error {
    fn from(e: ImageError) -> Self {
        match e {
            ImageError::Io { ref source, .. } => std::io::Error::new(source.kind(), e),
            ImageError::Invalid { .. } => std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            other => std::io::Error::other(other),
        }
    }
}
