//! The output side: temporary sibling files, their open handles, placing verified chunks and
//! committing (or rolling back) each file.

use foldhash::{HashMap, HashMapExt as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use platform::{Access, Disposition, FileHandle, OpenOptions, ShareMode, Volume, WinPath, attr};
use rayon::prelude::*;

use super::Engine;
use super::api::{Phase, Progress};
use super::job::{Fail, FileJob};
use super::writes::FileWrites;
use crate::error::{FileError, Stage};

/// Creates a new temporary sibling of `path` (`NAME.rehydrate~N`) open for reading and writing.
pub(crate) fn create_temp(
    volume: &dyn Volume,
    path: &WinPath,
) -> Result<(WinPath, Box<dyn FileHandle>), platform::Error> {
    let parent = path.parent().unwrap_or_else(WinPath::root);
    let name = path.file_name().unwrap_or("file");
    for n in 0..1000 {
        let temp = parent.join(&format!("{name}.rehydrate~{n}"))?;
        match volume.open(
            &temp,
            OpenOptions::new(
                Access::READ_WRITE,
                ShareMode::READ_WRITE,
                Disposition::CreateNew,
            ),
        ) {
            Ok(h) => return Ok((temp, h)),
            Err(platform::Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Err(platform::Error::AlreadyExists { path: parent })
}

/// Each file's temporary sibling, created at the first chunk written to it, and the open
/// handles (bounded: a restore may hold up to 10,000 files). A file is committed by the worker
/// that writes its last byte, with the handle it wrote through, so that a small file costs one
/// open, not three (create, write, commit): on 20,000 files of 50 KiB the two extra opens, each
/// a case-insensitive lookup and a walk from the root, were a third of the restore's time.
pub(super) struct Temps<'v> {
    volume: &'v dyn Volume,
    /// Per file, once created: its temporary file (`None`: creating it failed the file).
    temp: Vec<OnceLock<Option<WinPath>>>,
    /// Per file: committed or rolled back already.
    settled: Vec<AtomicBool>,
    open: Mutex<HashMap<usize, Arc<dyn FileHandle>>>,
    cap: usize,
    /// Who is writing each file (one worker at a time; the others queue their chunks).
    writes: FileWrites,
}

impl<'v> Temps<'v> {
    pub(super) fn new(volume: &'v dyn Volume, files: usize, cap: usize) -> Self {
        Self {
            volume,
            temp: (0..files).map(|_| OnceLock::new()).collect(),
            settled: (0..files).map(|_| AtomicBool::new(false)).collect(),
            open: Mutex::new(HashMap::new()),
            cap,
            writes: FileWrites::new(files),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<usize, Arc<dyn FileHandle>>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps `h` open for file `fi` (evicting another when full); returns the handle to use
    /// (another thread's, if it got there first).
    fn keep(&self, fi: usize, h: Arc<dyn FileHandle>) -> Arc<dyn FileHandle> {
        let mut g = self.cache();
        if let Some(other) = g.get(&fi) {
            return other.clone();
        }
        if g.len() >= self.cap
            && let Some(k) = g.keys().next().copied()
        {
            // Closed under the lock: closed any later, the evicted file could be committed
            // meanwhile (reopened from the cache's miss), and its rename would meet this
            // handle still open, which does not share delete.
            g.remove(&k);
        }
        g.insert(fi, h.clone());
        h
    }

    /// An open handle of file `fi`'s temporary file `path`: the cached one, or opened again
    /// (outside the lock: an open takes a lookup and a walk, and other workers wait for none
    /// of it).
    fn handle(&self, fi: usize, path: &WinPath) -> Result<Arc<dyn FileHandle>, platform::Error> {
        if let Some(h) = self.cache().get(&fi) {
            return Ok(h.clone());
        }
        let h: Arc<dyn FileHandle> = Arc::from(self.volume.open(
            path,
            OpenOptions::new(
                Access::READ_WRITE,
                ShareMode::READ_WRITE,
                Disposition::OpenExisting,
            ),
        )?);
        Ok(self.keep(fi, h))
    }

    /// Closes file `fi`'s cached handle (outside the lock: only the committing thread closes
    /// its own file, just before renaming it).
    fn close(&self, fi: usize) {
        let h = self.cache().remove(&fi);
        drop(h);
    }
}

impl Engine<'_> {
    /// Writes a verified chunk to each file that wants it (at its offset in the temporary
    /// file), or notes a hole where it is all zeros; counts and reports progress, and commits
    /// each file whose last byte this was. A file another worker is writing gets the chunk
    /// queued for that worker ([`FileWrites`]).
    pub(super) fn place_chunk(&self, dests: &[(usize, u64)], data: &[u8], temps: &Temps<'_>) {
        let zero = self.opts.sparse_zeros && all_zero(data);
        for &(fi, off) in dests {
            if self.files[fi].is_failed() || temps.settled[fi].load(Ordering::Acquire) {
                continue;
            }
            if zero {
                self.files[fi].holes.store(true, Ordering::Relaxed);
                self.count_written(fi, data.len() as u64, temps);
            } else if temps.writes.begin(fi, off, data) {
                let _held = temps.writes.held(fi);
                self.write_chunk(fi, off, data, temps);
                while let Some(queued) = temps.writes.next(fi) {
                    for (off, data) in queued {
                        self.write_chunk(fi, off, &data, temps);
                    }
                }
            }
        }
    }

    /// Writes `data` at `off` of file `fi`'s temporary file and counts it (nothing when the
    /// file failed or was settled meanwhile); a failed write fails the file.
    fn write_chunk(&self, fi: usize, off: u64, data: &[u8], temps: &Temps<'_>) {
        let f = &self.files[fi];
        if f.is_failed() || temps.settled[fi].load(Ordering::Acquire) {
            return;
        }
        match self
            .temp_handle(fi, temps)
            .and_then(|h| h.write_all_at(off, data).map_err(Some))
        {
            Ok(()) => self.count_written(fi, data.len() as u64, temps),
            Err(Some(e)) => f.fail(Fail::platform(
                Stage::Writing {
                    offset: off,
                    len: data.len() as u64,
                },
                e,
            )),
            Err(None) => {}
        }
    }

    /// Counts `len` bytes of file `fi` written (or left as a hole), commits the file when
    /// that was its last byte, and reports progress. Counted after the write: the count
    /// reaches the size only once every write of the file is done.
    fn count_written(&self, fi: usize, len: u64, temps: &Temps<'_>) {
        let f = &self.files[fi];
        let written = f.written.fetch_add(len, Ordering::Relaxed) + len;
        let files_done = if written == f.logical_size {
            self.settle(fi, temps);
            self.files_done.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.files_done.load(Ordering::Relaxed)
        };
        self.chunk_writes.fetch_add(1, Ordering::Relaxed);
        let done = self.bytes_done.fetch_add(len, Ordering::Relaxed) + len;
        if let Some(p) = &self.opts.progress {
            p(Progress {
                bytes_done: done,
                bytes_total: self.bytes_total,
                files_done,
                files_total: self.files.len() as u64,
                phase: Phase::Rebuilding,
            });
        }
    }

    /// File `fi`'s temporary file, created on first use (`None`: creating it failed the file).
    fn temp_path<'t>(&self, fi: usize, temps: &'t Temps<'_>) -> Option<&'t WinPath> {
        temps.temp[fi]
            .get_or_init(|| {
                let f = &self.files[fi];
                match Self::create_temp(f, temps.volume) {
                    Ok((path, h)) => {
                        temps.keep(fi, Arc::from(h));
                        Some(path)
                    }
                    Err(e) => {
                        f.fail(Fail::platform(Stage::Creating, e));
                        None
                    }
                }
            })
            .as_ref()
    }

    /// An open handle of file `fi`'s temporary file (created on first use); `Err(None)` when
    /// creating it failed the file.
    fn temp_handle(
        &self,
        fi: usize,
        temps: &Temps<'_>,
    ) -> Result<Arc<dyn FileHandle>, Option<platform::Error>> {
        let path = self.temp_path(fi, temps).ok_or(None)?;
        temps.handle(fi, path).map_err(Some)
    }

    /// Commits or rolls back the files not committed while their data was written, in
    /// parallel: a file that did not fail (one with no data to write: empty or all holes)
    /// replaces its stub; otherwise its temporary file, if any, is deleted.
    pub(super) fn commit_files(&self, temps: &Temps<'_>) {
        (0..self.files.len()).into_par_iter().for_each(|fi| {
            if self.files[fi].reparse.is_some() {
                self.settle(fi, temps);
            }
        });
    }

    /// Commits file `fi` (attributes, flush, rename over its stub) or, when it failed, deletes
    /// its temporary file; once per file.
    fn settle(&self, fi: usize, temps: &Temps<'_>) {
        if temps.settled[fi].swap(true, Ordering::AcqRel) {
            return;
        }
        let f = &self.files[fi];
        if f.is_failed() {
            temps.close(fi);
            if let Some(Some(temp)) = temps.temp[fi].get() {
                let _ = self.volume.delete_file(temp);
            }
            return;
        }
        let commit = self
            .temp_handle(fi, temps)
            .and_then(|h| Self::finish_file(f, h.as_ref()).map_err(Some));
        temps.close(fi);
        let Some(temp) = temps.temp[fi].get().and_then(Option::as_ref) else {
            return;
        };
        if let Err(e) = commit.and_then(|()| self.volume.rename(temp, &f.path, true).map_err(Some))
        {
            if let Some(e) = e {
                f.fail(Fail::platform(Stage::Finishing, e));
            }
            let _ = self.volume.delete_file(temp);
        }
    }

    /// Creates file `f`'s temporary sibling, sparse and of its logical size.
    fn create_temp(
        f: &FileJob,
        volume: &dyn Volume,
    ) -> Result<(WinPath, Box<dyn FileHandle>), platform::Error> {
        let (temp, h) = create_temp(volume, &f.path)?;
        h.extend_unallocated(f.logical_size)?;
        Ok((temp, h))
    }

    pub(super) fn finish_file(f: &FileJob, h: &dyn FileHandle) -> Result<(), platform::Error> {
        let written = f.written.load(Ordering::Acquire);
        if written != f.logical_size {
            f.fail(Fail::new(FileError::Incomplete {
                written,
                expected: f.logical_size,
            }));
            return Err(platform::Error::Unsupported {
                path: f.path.clone(),
                what: "incomplete restore".into(),
            });
        }
        // Never READONLY before the rename: a read-only temporary file could not be deleted if
        // the rename failed (read-only stubs are refused up front). Sparse only with holes.
        let keep = f.attributes & attr::SETTABLE & !attr::NORMAL & !attr::READONLY;
        h.set_sparse_and_attributes(
            f.holes.load(Ordering::Relaxed),
            if keep == 0 { attr::NORMAL } else { keep },
        )?;
        h.flush()
    }
}

/// Whether every byte of `data` is zero, 64 bytes at a time (a byte-wise `all` with its early
/// exit is not vectorised; a block's OR is).
pub(crate) fn all_zero(data: &[u8]) -> bool {
    let mut blocks = data.chunks_exact(64);
    blocks.all(|b| b.iter().fold(0, |acc, &x| acc | x) == 0)
        && blocks.remainder().iter().all(|&x| x == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn zero_check() {
        assert!(all_zero(&[]));
        assert!(all_zero(&[0; 200]));
        for len in [1, 63, 64, 65, 200] {
            for at in [0, len / 2, len - 1] {
                let mut v = vec![0u8; len];
                v[at] = 1;
                assert!(!all_zero(&v), "{len} {at}");
            }
        }
    }
}
