//! Where the backed-up files come from: the [`BackupSource`] callback, keyed by original path
//! (`C:\Windows\System32\config\SAM`), and two implementations.

use std::collections::BTreeMap;

use platform::{Access, Disposition, OpenOptions, ShareMode, Volume, WinPath, attr};

/// Error of a [`BackupSource`] call; names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("backup file {path}: {reason}")]
pub struct SourceError {
    /// The original path asked for.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

impl SourceError {
    /// An error for `path`.
    #[must_use]
    pub fn new(path: &str, reason: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }
}

/// What the backup holds for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFile {
    /// Length of the backed-up data stream. For a partial file this is the length of the
    /// backed-up ranges laid end to end (see the crate README); for a reparse point, the
    /// logical size of the file.
    pub len: u64,
    /// `FILE_ATTRIBUTE_*` bits at backup time.
    pub attributes: u32,
    /// The reparse point (`REPARSE_DATA_BUFFER`) when the file was one at backup time (a dedup
    /// file is backed up as its reparse point; its data lives in the chunk store).
    pub reparse: Option<Vec<u8>>,
}

/// The backup medium as the restore executor sees it. Paths are original paths with a drive
/// (`C:\dir\file`), compared case-insensitively. Implementations must be usable from several
/// threads.
pub trait BackupSource: Send + Sync {
    /// Original paths of every backed-up file (the catalog restore sets are generated from).
    fn catalog(&self) -> Result<Vec<String>, SourceError>;
    /// What the backup holds for `original`, or `None` if it does not hold it.
    fn stat(&self, original: &str) -> Result<Option<BackupFile>, SourceError>;
    /// Fills `buf` from the backed-up data of `original` at `offset` (exactly, or an error).
    fn read(&self, original: &str, offset: u64, buf: &mut [u8]) -> Result<(), SourceError>;
}

/// Splits `X:\rest` into the drive (upper case, `X:`) and the rest.
pub(crate) fn split_drive(path: &str) -> Option<(String, &str)> {
    let b = path.as_bytes();
    (b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic())
        .then(|| (path[..2].to_ascii_uppercase(), &path[2..]))
}

/// A backup that is a copy of a volume (a snapshot, an image mounted through a
/// [`platform::Volume`], a [`platform::HostVolume`] over a folder): the file `C:\a\b` is `\a\b`
/// on the volume. Reparse points are reported as such (a dedup stub stays a stub).
pub struct VolumeBackup<'a> {
    volume: &'a dyn Volume,
    drive: String,
}

impl std::fmt::Debug for VolumeBackup<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VolumeBackup")
            .field("drive", &self.drive)
            .finish_non_exhaustive()
    }
}

impl<'a> VolumeBackup<'a> {
    /// The backup of drive `drive` (`C:`) held by `volume`.
    #[must_use]
    pub fn new(volume: &'a dyn Volume, drive: &str) -> Self {
        Self {
            volume,
            drive: drive.trim_end_matches('\\').to_ascii_uppercase(),
        }
    }

    fn path(&self, original: &str) -> Result<WinPath, SourceError> {
        let (drive, rest) = split_drive(original)
            .ok_or_else(|| SourceError::new(original, "not a path with a drive letter"))?;
        if drive != self.drive {
            return Err(SourceError::new(
                original,
                format!("not on the backed-up drive {}", self.drive),
            ));
        }
        WinPath::new(rest).map_err(|e| SourceError::new(original, e.to_string()))
    }

    fn walk(&self, dir: &WinPath, out: &mut Vec<String>) -> Result<(), SourceError> {
        let entries = self
            .volume
            .read_dir(dir)
            .map_err(|e| SourceError::new(&format!("{}{dir}", self.drive), e.to_string()))?;
        for e in entries {
            let p = dir
                .join(&e.name)
                .map_err(|x| SourceError::new(&e.name, x.to_string()))?;
            if e.metadata.is_dir() {
                self.walk(&p, out)?;
            } else {
                out.push(format!("{}{p}", self.drive));
            }
        }
        Ok(())
    }
}

impl BackupSource for VolumeBackup<'_> {
    fn catalog(&self) -> Result<Vec<String>, SourceError> {
        let mut out = Vec::new();
        self.walk(&WinPath::root(), &mut out)?;
        Ok(out)
    }

    fn stat(&self, original: &str) -> Result<Option<BackupFile>, SourceError> {
        let p = self.path(original)?;
        let md = match self.volume.metadata(&p) {
            Ok(m) => m,
            Err(platform::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(SourceError::new(original, e.to_string())),
        };
        if md.is_dir() {
            return Ok(None);
        }
        let reparse = if md.is_reparse_point() {
            Some(
                self.volume
                    .reparse_point(&p)
                    .map_err(|e| SourceError::new(original, e.to_string()))?,
            )
        } else {
            None
        };
        Ok(Some(BackupFile {
            len: md.len,
            attributes: md.attributes,
            reparse,
        }))
    }

    fn read(&self, original: &str, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        let p = self.path(original)?;
        let f = self
            .volume
            .open(
                &p,
                OpenOptions::new(Access::READ, ShareMode::ALL, Disposition::OpenExisting),
            )
            .map_err(|e| SourceError::new(original, e.to_string()))?;
        f.read_exact_at(offset, buf)
            .map_err(|e| SourceError::new(original, e.to_string()))
    }
}

/// A backup held in memory (for tests and small tools).
#[derive(Debug, Default, Clone)]
pub struct MemoryBackup {
    files: BTreeMap<String, (String, BackupFile, Vec<u8>)>,
}

impl MemoryBackup {
    /// An empty backup.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) an ordinary file.
    pub fn insert(&mut self, original: &str, data: Vec<u8>) {
        self.files.insert(
            original.to_lowercase(),
            (
                original.to_owned(),
                BackupFile {
                    len: data.len() as u64,
                    attributes: attr::ARCHIVE,
                    reparse: None,
                },
                data,
            ),
        );
    }

    /// Adds (or replaces) a file backed up as a reparse point of logical size `len`.
    pub fn insert_reparse(&mut self, original: &str, len: u64, reparse: Vec<u8>) {
        self.files.insert(
            original.to_lowercase(),
            (
                original.to_owned(),
                BackupFile {
                    len,
                    attributes: attr::ARCHIVE | attr::SPARSE_FILE | attr::REPARSE_POINT,
                    reparse: Some(reparse),
                },
                Vec::new(),
            ),
        );
    }
}

impl BackupSource for MemoryBackup {
    fn catalog(&self) -> Result<Vec<String>, SourceError> {
        Ok(self.files.values().map(|(p, _, _)| p.clone()).collect())
    }

    fn stat(&self, original: &str) -> Result<Option<BackupFile>, SourceError> {
        Ok(self
            .files
            .get(&original.to_lowercase())
            .map(|(_, f, _)| f.clone()))
    }

    fn read(&self, original: &str, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        let (_, _, data) = self
            .files
            .get(&original.to_lowercase())
            .ok_or_else(|| SourceError::new(original, "not in the backup"))?;
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let end = start.checked_add(buf.len()).filter(|&e| e <= data.len());
        let Some(end) = end else {
            return Err(SourceError::new(
                original,
                format!(
                    "read of {} bytes at {offset} past the end ({} bytes)",
                    buf.len(),
                    data.len()
                ),
            ));
        };
        buf.copy_from_slice(&data[start..end]);
        Ok(())
    }
}
