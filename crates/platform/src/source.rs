//! The read-only side of a restore: a [`Source`] is what a restore reads from — a walk of
//! entries (path, kind, size, attributes, times, reparse buffer) and the data of its files.
//!
//! Implementations: [`crate::HostSource`] (a host folder: a copy that kept the reparse points in
//! `user.ntfs_reparse_data`, `rehydrate sim optimize` output, or an ntfs-3g mount with
//! `system.ntfs_reparse_data`), and [`VolumeSource`] (any [`Volume`] read as a source: the
//! simulator, a real Windows volume). A disk-image reader implements the same trait; the
//! engines never see which one they read.
//!
//! The source's own chunk store (`System Volume Information\Dedup`) is read through the same
//! trait by `dedup_restore::SourceStore`, so one reader serves the walk and the store.

use std::fmt;
use std::time::SystemTime;

use crate::{Error, OpenOptions, Volume, WinPath, attr};

/// What a source entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A file (with or without a reparse point).
    File,
    /// A symbolic link the source presents as a link (not as a file), with its target as the
    /// source stores it.
    Symlink {
        /// Where it points, as stored.
        target: String,
    },
    /// Something a restore cannot reproduce, and why; a restore reports it as a failed entry.
    Unsupported(Unsupported),
}

/// Why a source entry cannot be restored ([`EntryKind::Unsupported`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unsupported {
    /// A device, FIFO or socket.
    #[error("a special file (device, FIFO or socket) cannot be restored")]
    SpecialFile,
    /// The host name is not UTF-8 (the entry's name is shown lossily).
    #[error("the name is not valid UTF-8")]
    NameNotUtf8,
    /// The name is not a valid Windows name.
    #[error("not a valid Windows name: {reason}")]
    InvalidName {
        /// Why.
        reason: &'static str,
    },
    /// Its metadata or reparse point could not be read.
    #[error("{what}: {message}")]
    Unreadable {
        /// What was being read.
        what: &'static str,
        /// The host's error text.
        message: String,
    },
}

/// One entry of a [`Source`] directory.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceEntry {
    /// The name as stored (original case).
    pub name: String,
    /// What it is.
    pub kind: EntryKind,
    /// Length of the unnamed data stream as stored (a dedup stub's is its logical size, all a
    /// hole); 0 for directories and links.
    pub len: u64,
    /// `FILE_ATTRIBUTE_*` bits ([`attr`]) as far as the source knows them.
    pub attributes: u32,
    /// Last modification time, where the source has it.
    pub modified: Option<SystemTime>,
    /// Last access time, where the source has it.
    pub accessed: Option<SystemTime>,
    /// The full `REPARSE_DATA_BUFFER` when the entry carries a reparse point (of any tag).
    pub reparse: Option<Vec<u8>>,
}

impl SourceEntry {
    /// An entry listed with what it is but not restorable: `why`, nothing else known.
    #[must_use]
    pub fn unsupported(name: String, why: Unsupported) -> Self {
        Self {
            name,
            kind: EntryKind::Unsupported(why),
            len: 0,
            attributes: 0,
            modified: None,
            accessed: None,
            reparse: None,
        }
    }
}

impl fmt::Debug for SourceEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceEntry")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("len", &self.len)
            .field("attributes", &format_args!("{:#x}", self.attributes))
            .field("reparse_len", &self.reparse.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

impl SourceEntry {
    /// The reparse tag, when the entry carries a reparse buffer of at least four bytes.
    #[must_use]
    pub fn reparse_tag(&self) -> Option<u32> {
        self.reparse
            .as_deref()
            .and_then(|b| b.get(..4))
            .map(|t| u32::from_le_bytes([t[0], t[1], t[2], t[3]]))
    }
}

/// An open file of a [`Source`]: positioned reads of its unnamed data stream.
pub trait SourceFile: Send + Sync + fmt::Debug {
    /// Reads up to `buf.len()` bytes at `offset`; returns the count (0 at or past the end).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Error>;

    /// Length of the data stream.
    fn len(&self) -> Result<u64, Error>;

    /// True if the data stream is empty.
    fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.len()? == 0)
    }
}

/// A read-only tree to restore from (see the module docs). Paths are volume-root-relative.
pub trait Source: Send + Sync {
    /// What the source is, for messages (a folder path, an image file name).
    fn describe(&self) -> String;

    /// The entries of the directory `dir`, in name order, without `.` and `..`. Entries a
    /// restore cannot reproduce are listed as [`EntryKind::Unsupported`], never left out.
    fn read_dir(&self, dir: &WinPath) -> Result<Vec<SourceEntry>, Error>;

    /// Opens a file's unnamed data stream for reading.
    fn open_file(&self, path: &WinPath) -> Result<Box<dyn SourceFile>, Error>;

    /// The reparse buffer of the entry at `path` (`None` when it has none), read again: a walk
    /// need not keep every buffer it saw in memory.
    fn reparse_point(&self, path: &WinPath) -> Result<Option<Vec<u8>>, Error>;
}

impl<S: Source + ?Sized> Source for &S {
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn read_dir(&self, dir: &WinPath) -> Result<Vec<SourceEntry>, Error> {
        (**self).read_dir(dir)
    }
    fn open_file(&self, path: &WinPath) -> Result<Box<dyn SourceFile>, Error> {
        (**self).open_file(path)
    }
    fn reparse_point(&self, path: &WinPath) -> Result<Option<Vec<u8>>, Error> {
        (**self).reparse_point(path)
    }
}

/// Any [`Volume`] read as a [`Source`] (the simulator, a real Windows volume).
#[derive(Debug, Clone)]
pub struct VolumeSource<V> {
    volume: V,
    name: String,
}

impl<V: Volume> VolumeSource<V> {
    /// `volume` as a source, described as `name` in messages.
    pub fn new(volume: V, name: impl Into<String>) -> Self {
        Self {
            volume,
            name: name.into(),
        }
    }

    /// The volume.
    pub fn volume(&self) -> &V {
        &self.volume
    }
}

/// A volume's file handle read as a [`SourceFile`].
#[derive(Debug)]
struct HandleFile(Box<dyn crate::FileHandle>);

impl SourceFile for HandleFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Error> {
        self.0.read_at(offset, buf)
    }
    fn len(&self) -> Result<u64, Error> {
        self.0.len()
    }
}

impl<V: Volume> Source for VolumeSource<V> {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn read_dir(&self, dir: &WinPath) -> Result<Vec<SourceEntry>, Error> {
        let mut out = Vec::new();
        for e in self.volume.read_dir(dir)? {
            let path = dir.join(&e.name)?;
            let is_dir = e.metadata.is_dir();
            let (reparse, unreadable) = if e.metadata.is_reparse_point() && !is_dir {
                match self.volume.reparse_point(&path) {
                    Ok(b) => (Some(b), None),
                    Err(Error::NotAReparsePoint { .. }) => (None, None),
                    Err(err) => (None, Some(err.to_string())),
                }
            } else {
                (None, None)
            };
            let kind = match unreadable {
                Some(message) => EntryKind::Unsupported(Unsupported::Unreadable {
                    what: "reading the reparse point",
                    message,
                }),
                None if is_dir => EntryKind::Dir,
                None => EntryKind::File,
            };
            out.push(SourceEntry {
                name: e.name,
                kind,
                len: e.metadata.len,
                attributes: e.metadata.attributes & !attr::NORMAL,
                modified: None,
                accessed: None,
                reparse,
            });
        }
        Ok(out)
    }

    fn open_file(&self, path: &WinPath) -> Result<Box<dyn SourceFile>, Error> {
        let h = self.volume.open(
            path,
            OpenOptions::new(
                crate::Access::READ,
                crate::ShareMode::ALL,
                crate::Disposition::OpenExisting,
            ),
        )?;
        Ok(Box::new(HandleFile(h)))
    }

    fn reparse_point(&self, path: &WinPath) -> Result<Option<Vec<u8>>, Error> {
        match self.volume.reparse_point(path) {
            Ok(b) => Ok(Some(b)),
            Err(Error::NotAReparsePoint { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
