//! Transactions: every change a component makes to the volume has an undo, so a component
//! that fails is put back as it was (newest change first), and one that succeeds removes the
//! originals it set aside.

use std::sync::Arc;

use platform::{Access, Disposition as Open, FileHandle, OpenOptions, ShareMode, Volume, WinPath};

use super::COPY_CHUNK;
use super::copy::Copier;
use super::prepare::{Content, Job};
use crate::error::{UndoError, WriteError};

/// How to undo one change.
#[derive(Debug)]
pub(super) enum Undo {
    /// Delete a file created.
    Delete(WinPath),
    /// Put back an original set aside.
    RestoreAside { aside: WinPath, dest: WinPath },
    /// Remove a directory created (if empty).
    RemoveDir(WinPath),
}

/// The changes of one component to the volume, with their undo.
pub(super) struct Tx<'v> {
    v: &'v dyn Volume,
    /// Undo steps, oldest first.
    pub(super) undo: Vec<Undo>,
    /// Originals set aside, removed on commit.
    asides: Vec<WinPath>,
    /// Whether a file was written (the status went to FAILED while writing).
    pub(super) touched: bool,
}

/// A free name beside `dest` (`name.~rh{tag}{n}`).
fn sibling(v: &dyn Volume, dest: &WinPath, tag: &str) -> Result<WinPath, WriteError> {
    let parent = dest.parent().unwrap_or_else(WinPath::root);
    let name = dest.file_name().unwrap_or("file");
    for n in 0..10_000u32 {
        let p = parent.join(&format!("{name}.~rh{tag}{n}"))?;
        if !v.exists(&p)? {
            return Ok(p);
        }
    }
    Err(WriteError::NoTemporaryName { path: dest.clone() })
}

/// Copies the file at `from` into `to`.
fn copy_file(v: &dyn Volume, from: &WinPath, to: &dyn FileHandle) -> Result<(), WriteError> {
    let src = v.open(
        from,
        OpenOptions::new(Access::READ, ShareMode::ALL, Open::OpenExisting),
    )?;
    let len = src.len()?;
    let mut buf = vec![0u8; usize::try_from(len.min(COPY_CHUNK as u64)).unwrap_or(COPY_CHUNK)];
    let mut done = 0u64;
    while done < len {
        let n = usize::try_from((len - done).min(buf.len() as u64)).unwrap_or(buf.len());
        src.read_exact_at(done, &mut buf[..n])?;
        to.write_all_at(done, &buf[..n])?;
        done += n as u64;
    }
    to.set_len(len)?;
    Ok(())
}

impl<'v> Tx<'v> {
    /// No changes yet.
    pub(super) fn new(v: &'v dyn Volume) -> Self {
        Self {
            v,
            undo: Vec::new(),
            asides: Vec::new(),
            touched: false,
        }
    }

    /// Creates the missing directories above `p`.
    pub(super) fn ensure_parent(&mut self, p: &WinPath) -> Result<(), WriteError> {
        let Some(parent) = p.parent() else {
            return Ok(());
        };
        let mut cur = WinPath::root();
        for c in parent.components() {
            cur = cur.join(c)?;
            match self.v.metadata(&cur) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(WriteError::NotADirectory { path: cur }),
                Err(platform::Error::NotFound { .. }) => {
                    self.v.create_dir(&cur)?;
                    self.undo.push(Undo::RemoveDir(cur.clone()));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Creates a new empty file.
    fn create_new(&mut self, p: &WinPath) -> Result<Box<dyn FileHandle>, WriteError> {
        let h = self.v.open(
            p,
            OpenOptions::new(Access::ALL, ShareMode::NONE, Open::CreateNew),
        )?;
        self.undo.push(Undo::Delete(p.clone()));
        Ok(h)
    }

    /// Writes `j` at `dest`, keeping what is needed to undo it.
    pub(super) fn put(
        &mut self,
        c: &Copier<'_, '_>,
        j: &Job,
        dest: &WinPath,
        pre: Option<Box<dyn FileHandle>>,
    ) -> Result<(), WriteError> {
        if let Some(h) = pre {
            return c.write_content(j, h.as_ref());
        }
        let exists = self.v.exists(dest)?;
        if !exists {
            self.ensure_parent(dest)?;
            let h = self.create_new(dest)?;
            return c.write_content(j, h.as_ref());
        }
        let aside = sibling(self.v, dest, "orig")?;
        if j.content.in_place() {
            // Partial and directed data go into the file on disk; keep a copy to roll back to.
            let copy = self.create_new(&aside)?;
            copy_file(self.v, dest, copy.as_ref())?;
            drop(copy);
            self.undo.pop();
            self.undo.push(Undo::RestoreAside {
                aside: aside.clone(),
                dest: dest.clone(),
            });
            self.asides.push(aside);
            let h = self.v.open(
                dest,
                OpenOptions::new(Access::READ_WRITE, ShareMode::NONE, Open::OpenExisting),
            )?;
            c.write_content(j, h.as_ref())
        } else {
            self.v.rename(dest, &aside, false)?;
            self.undo.push(Undo::RestoreAside {
                aside: aside.clone(),
                dest: dest.clone(),
            });
            self.asides.push(aside);
            let h = self.create_new(dest)?;
            c.write_content(j, h.as_ref())
        }
    }

    /// Writes `j` into a new temporary file beside its destination; returns its path.
    pub(super) fn stage(&mut self, c: &Copier<'_, '_>, j: &Job) -> Result<WinPath, WriteError> {
        self.ensure_parent(&j.dest)?;
        let temp = sibling(self.v, &j.dest, "new")?;
        let h = self.create_new(&temp)?;
        if j.content.in_place() && self.v.exists(&j.dest)? {
            copy_file(self.v, &j.dest, h.as_ref())?;
        }
        c.write_content(j, h.as_ref())?;
        drop(h);
        if let Some((path, info)) = &j.ranges_file {
            let name = path.rsplit(['\\', '/']).next().unwrap_or(path);
            let dest = j.dest.parent().unwrap_or_else(WinPath::root).join(name)?;
            let rj = Job {
                source: path.clone(),
                info: info.clone(),
                content: Content::Whole,
                dest: dest.clone(),
                fallback: None,
                mapping: None,
                fallback_mapping: None,
                ranges_file: None,
                report: j.report,
            };
            self.put(c, &rj, &dest, None)?;
        }
        Ok(temp)
    }

    /// Undoes everything, newest first; returns what could not be undone.
    pub(super) fn rollback(&mut self) -> Vec<UndoError> {
        let mut errors = Vec::new();
        while let Some(u) = self.undo.pop() {
            match u {
                Undo::Delete(p) => match self.v.delete_file(&p) {
                    Ok(()) | Err(platform::Error::NotFound { .. }) => {}
                    Err(e) => errors.push(UndoError::Remove {
                        path: p,
                        source: Arc::new(e),
                    }),
                },
                Undo::RestoreAside { aside, dest } => {
                    if let Err(e) = self.v.rename(&aside, &dest, true) {
                        errors.push(UndoError::PutBack {
                            dest,
                            aside,
                            source: Arc::new(e),
                        });
                    }
                }
                // A directory left behind changes no file; not an error.
                Undo::RemoveDir(d) => {
                    let _ = self.v.remove_dir(&d);
                }
            }
        }
        self.asides.clear();
        errors
    }

    /// Keeps the changes: removes the originals set aside. Returns failures to remove them.
    pub(super) fn commit(&mut self) -> Vec<UndoError> {
        self.undo.clear();
        let mut errors = Vec::new();
        for a in self.asides.drain(..) {
            if let Err(e) = self.v.delete_file(&a) {
                errors.push(UndoError::AsideNotRemoved {
                    aside: a,
                    source: Arc::new(e),
                });
            }
        }
        errors
    }
}
