//! The output side: temporary sibling files, their open handles, placing verified chunks and
//! committing (or rolling back) each file.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use platform::{Access, Disposition, FileHandle, OpenOptions, ShareMode, Volume, WinPath, attr};
use rayon::prelude::*;

use super::Engine;
use super::api::{Phase, Progress};
use super::job::{Fail, FileJob};
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

/// Open handles of the temporary files, bounded (a restore may hold up to 10,000 files).
pub(super) struct HandleCache<'v> {
    pub(super) volume: &'v dyn Volume,
    pub(super) open: Mutex<HashMap<usize, Arc<dyn FileHandle>>>,
    pub(super) cap: usize,
}

impl HandleCache<'_> {
    pub(super) fn get(
        &self,
        file: usize,
        path: &WinPath,
    ) -> Result<Arc<dyn FileHandle>, platform::Error> {
        let mut g = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(h) = g.get(&file) {
            return Ok(h.clone());
        }
        if g.len() >= self.cap
            && let Some(k) = g.keys().next().copied()
        {
            g.remove(&k);
        }
        let h: Arc<dyn FileHandle> = Arc::from(self.volume.open(
            path,
            OpenOptions::new(
                Access::READ_WRITE,
                ShareMode::READ_WRITE,
                Disposition::OpenExisting,
            ),
        )?);
        g.insert(file, h.clone());
        Ok(h)
    }

    pub(super) fn close(&self, file: usize) {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&file);
    }
}

impl Engine<'_> {
    /// Writes a verified chunk to each file that wants it (at its offset in the temporary
    /// file), or notes a hole where it is all zeros; counts and reports progress.
    pub(super) fn place_chunk(
        &self,
        dests: &[(usize, u64)],
        data: &[u8],
        files_temp: &[Option<WinPath>],
        handles: &HandleCache<'_>,
    ) {
        let zero = self.opts.sparse_zeros && all_zero(data);
        for &(fi, off) in dests {
            let f = &self.files[fi];
            if f.is_failed() {
                continue;
            }
            let Some(temp) = &files_temp[fi] else {
                continue;
            };
            if zero {
                f.holes.store(true, Ordering::Relaxed);
            } else if let Err(e) = handles
                .get(fi, temp)
                .and_then(|h| h.write_all_at(off, data))
            {
                f.fail(Fail::platform(
                    Stage::Writing {
                        offset: off,
                        len: data.len() as u64,
                    },
                    e,
                ));
                continue;
            }
            let written =
                f.written.fetch_add(data.len() as u64, Ordering::Relaxed) + data.len() as u64;
            let files_done = if written == f.logical_size {
                self.files_done.fetch_add(1, Ordering::Relaxed) + 1
            } else {
                self.files_done.load(Ordering::Relaxed)
            };
            self.chunk_writes.fetch_add(1, Ordering::Relaxed);
            let done = self
                .bytes_done
                .fetch_add(data.len() as u64, Ordering::Relaxed)
                + data.len() as u64;
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
    }

    /// The temporary files that receive the data, created in parallel: per file this is a
    /// create, the sparse flag and the length (several system calls each), which dominated
    /// restores of many small files when done one after another. `None` for a file that is
    /// not restored (or whose temporary file could not be created: it is failed).
    pub(super) fn create_temps(&self) -> Vec<Option<WinPath>> {
        self.files
            .par_iter()
            .map(|f| {
                if f.reparse.is_none() || f.is_failed() {
                    return None;
                }
                self.create_temp(f)
                    .map_err(|e| f.fail(Fail::platform(Stage::Creating, e)))
                    .ok()
            })
            .collect()
    }

    /// Commits or rolls back each file, in parallel (attributes, flush, rename: per file): a
    /// file that did not fail replaces its stub; otherwise its temporary file is deleted.
    pub(super) fn commit_files(&self, files_temp: Vec<Option<WinPath>>, handles: &HandleCache<'_>) {
        files_temp
            .into_par_iter()
            .enumerate()
            .for_each(|(fi, temp)| {
                let Some(temp) = temp else {
                    return;
                };
                let f = &self.files[fi];
                let commit = if f.is_failed() {
                    Err(None)
                } else {
                    handles
                        .get(fi, &temp)
                        .and_then(|h| Self::finish_file(f, h.as_ref()))
                        .map_err(Some)
                };
                handles.close(fi);
                match commit.and_then(|()| self.volume.rename(&temp, &f.path, true).map_err(Some)) {
                    Ok(()) => {}
                    Err(e) => {
                        if let Some(e) = e {
                            f.fail(Fail::platform(Stage::Finishing, e));
                        }
                        let _ = self.volume.delete_file(&temp);
                    }
                }
            });
    }

    pub(super) fn create_temp(&self, f: &FileJob) -> Result<WinPath, platform::Error> {
        let (temp, h) = create_temp(self.volume, &f.path)?;
        h.set_sparse(true)?;
        h.set_len(f.logical_size)?;
        Ok(temp)
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
        if !f.holes.load(Ordering::Relaxed) {
            h.set_sparse(false)?;
        }
        // Never READONLY before the rename: a read-only temporary file could not be deleted if
        // the rename failed (read-only stubs are refused up front).
        let keep = f.attributes & attr::SETTABLE & !attr::NORMAL & !attr::READONLY;
        h.set_attributes(if keep == 0 { attr::NORMAL } else { keep })?;
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
