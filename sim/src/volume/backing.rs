//! File contents kept on the host instead of in memory ([`SimVolume::with_host_contents`]):
//! each file's bytes live in a host file of its own in the volume's backing folder, or, for a
//! file imported from a host folder, in the input file itself, read in place until the
//! simulation first changes it (then copied, all-zero blocks left as holes).
//!
//! Host files are opened for each operation and closed after it, so the number of open file
//! descriptors stays at a few whatever the number of files on the volume. What a host file
//! holds where the simulated file has no allocated cluster is always zeros (a hole, or past its
//! end), which is what such a range must read as.
//!
//! [`SimVolume::with_host_contents`]: super::SimVolume::with_host_contents

use std::fs;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Bytes copied at a time when an imported file is first changed.
const COPY_PIECE: usize = 1 << 20;

/// The volume's backing folder: made inside its parent when the first file needs a host file
/// of its own (so that importing the parent itself does not meet it), removed with the volume.
#[derive(Debug)]
pub(super) struct HostFolder {
    parent: PathBuf,
    dir: Mutex<Option<tempfile::TempDir>>,
    next: AtomicU64,
}

impl HostFolder {
    /// A backing folder to be made inside the existing folder `parent`.
    pub(super) fn new(parent: &Path) -> io::Result<Self> {
        if !fs::metadata(parent)?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{}: not a folder", parent.display()),
            ));
        }
        Ok(Self {
            parent: parent.to_owned(),
            dir: Mutex::new(None),
            next: AtomicU64::new(0),
        })
    }

    /// The folder, if it was made yet.
    pub(super) fn path(&self) -> Option<PathBuf> {
        let dir = self.dir.lock().unwrap_or_else(PoisonError::into_inner);
        dir.as_ref().map(|d| d.path().to_owned())
    }

    /// A path for a new host file (the folder made first if needed).
    fn new_file_path(&self) -> io::Result<PathBuf> {
        let mut dir = self.dir.lock().unwrap_or_else(PoisonError::into_inner);
        let made = match dir.take() {
            Some(d) => d,
            None => tempfile::Builder::new()
                .prefix(".winsim-contents-")
                .tempdir_in(&self.parent)
                .map_err(|e| with_path(&self.parent, &e))?,
        };
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        Ok(dir.insert(made).path().join(format!("{n:016x}")))
    }
}

/// Where one file's bytes are.
#[derive(Debug)]
enum Source {
    /// Nothing written: every byte reads as zero.
    Empty,
    /// A host input file of `len` bytes, read in place and never written.
    Borrowed { path: PathBuf, len: u64 },
    /// The file's own host file in the backing folder (deleted with it).
    Own { path: PathBuf },
}

/// One file's bytes on the host.
#[derive(Debug)]
pub(super) struct HostContents {
    folder: Arc<HostFolder>,
    source: Source,
}

fn with_path(path: &Path, e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Reads at `offset` from `path` into `buf`: as much as the file holds, the rest zeros.
fn read_filling_zeros(path: &Path, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    let f = fs::File::open(path).map_err(|e| with_path(path, &e))?;
    let mut done = 0;
    while done < buf.len() {
        match f.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(with_path(path, &e)),
        }
    }
    Ok(done)
}

impl HostContents {
    /// Contents with nothing written yet.
    pub(super) fn empty(folder: Arc<HostFolder>) -> Self {
        Self {
            folder,
            source: Source::Empty,
        }
    }

    /// Contents read in place from the host file `path` of `len` bytes.
    pub(super) fn borrowed(folder: Arc<HostFolder>, path: PathBuf, len: u64) -> Self {
        Self {
            folder,
            source: Source::Borrowed { path, len },
        }
    }

    /// Reads `buf.len()` bytes at `offset`; bytes never written read as zeros.
    pub(super) fn read(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        match &self.source {
            Source::Empty => buf.fill(0),
            Source::Own { path } => {
                let n = read_filling_zeros(path, offset, buf)?;
                buf[n..].fill(0);
            }
            Source::Borrowed { path, len } => {
                let inside = usize::try_from(len.saturating_sub(offset))
                    .map_or(buf.len(), |n| n.min(buf.len()));
                let n = read_filling_zeros(path, offset, &mut buf[..inside])?;
                if n < inside {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "{}: the input file ended at {:#x}; it had {len:#x} bytes when it was imported (was it changed?)",
                            path.display(),
                            offset + n as u64
                        ),
                    ));
                }
                buf[inside..].fill(0);
            }
        }
        Ok(())
    }

    /// Writes `buf` at `offset`.
    pub(super) fn write(&mut self, offset: u64, buf: &[u8]) -> io::Result<()> {
        let path = self.own_file()?;
        let f = fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| with_path(&path, &e))?;
        f.write_all_at(buf, offset)
            .map_err(|e| with_path(&path, &e))
    }

    /// Drops every byte at or past `len`.
    pub(super) fn truncate(&mut self, len: u64) -> io::Result<()> {
        match &self.source {
            Source::Empty => Ok(()),
            Source::Borrowed { .. } if len == 0 => {
                self.source = Source::Empty;
                Ok(())
            }
            Source::Borrowed { len: had, .. } if len >= *had => Ok(()),
            Source::Borrowed { .. } | Source::Own { .. } => {
                let path = self.own_file()?;
                let f = fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| with_path(&path, &e))?;
                if f.metadata().map_err(|e| with_path(&path, &e))?.len() > len {
                    f.set_len(len).map_err(|e| with_path(&path, &e))?;
                }
                Ok(())
            }
        }
    }

    /// The file's own host file, made (and filled from the input file, if borrowed) first.
    fn own_file(&mut self) -> io::Result<PathBuf> {
        let own = match &self.source {
            Source::Own { path } => return Ok(path.clone()),
            Source::Empty => {
                let path = self.folder.new_file_path()?;
                fs::File::create_new(&path).map_err(|e| with_path(&path, &e))?;
                path
            }
            Source::Borrowed { path: from, len } => {
                let path = self.folder.new_file_path()?;
                copy_leaving_holes(from, *len, &path)?;
                path
            }
        };
        self.source = Source::Own { path: own.clone() };
        Ok(own)
    }
}

/// Copies the first `len` bytes of `from` into the new file `to`, leaving all-zero pieces as
/// holes.
fn copy_leaving_holes(from: &Path, len: u64, to: &Path) -> io::Result<()> {
    let src = fs::File::open(from).map_err(|e| with_path(from, &e))?;
    let dst = fs::File::create_new(to).map_err(|e| with_path(to, &e))?;
    let mut buf = vec![0u8; COPY_PIECE];
    let mut off = 0u64;
    while off < len {
        let n = usize::try_from(len - off).map_or(COPY_PIECE, |n| n.min(COPY_PIECE));
        src.read_exact_at(&mut buf[..n], off)
            .map_err(|e| with_path(from, &e))?;
        if buf[..n].iter().any(|&b| b != 0) {
            dst.write_all_at(&buf[..n], off)
                .map_err(|e| with_path(to, &e))?;
        }
        off += n as u64;
    }
    dst.set_len(len).map_err(|e| with_path(to, &e))
}

impl Drop for HostContents {
    fn drop(&mut self) {
        if let Source::Own { path } = &self.source {
            // The folder goes with the volume anyway; this frees a deleted file's space now.
            let _ = fs::remove_file(path);
        }
    }
}
