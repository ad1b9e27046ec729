//! Writing a component's jobs: in one transaction (committed only when every file is written
//! and every dedup file rehydrated, rolled back otherwise), or staged for reboot
//! (docs/vss-restore.md §3.5).

use std::sync::Arc;

use dedup_restore::Hresult;
use platform::{FileHandle, PendingRename, WinPath, attr};
use vss_model::FileRestoreStatus;
use vss_model::bcd::AlternateMappingUsed;

use super::COPY_CHUNK;
use super::copy::Copier;
use super::prepare::{Content, Job};
use super::transaction::Tx;
use super::units::Who;
use crate::error::{ComponentError, ComponentErrorKind as Kind, FileError, WriteError};
use crate::report::{ComponentReport, FileAction, Outcome};

/// Which destination [`Copier::run_tx`] writes each job to.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target {
    /// The destination.
    Primary,
    /// The alternate location (the destination where a job has none).
    Fallback,
    /// The alternate location, only for jobs given a handle opened there; directed jobs to
    /// their directed destination.
    FallbackIfOpened,
}

impl Copier<'_, '_> {
    /// Writes every job (through `pre` handles where given), rehydrates dedup files, and
    /// commits, or rolls everything back.
    pub(super) fn run_tx(
        &self,
        who: Who<'_>,
        mut tx: Tx<'_>,
        jobs: &[Job],
        mut pre: Vec<Option<Box<dyn FileHandle>>>,
        target: Target,
        r: &mut ComponentReport,
    ) {
        let mut written: Vec<(usize, WinPath)> = Vec::new();
        let mut failure: Option<ComponentError> = None;
        for (i, j) in jobs.iter().enumerate() {
            let handle = pre.get_mut(i).and_then(Option::take);
            let dest = match target {
                Target::Primary => j.dest.clone(),
                Target::Fallback => match &j.fallback {
                    Some(Ok(p)) => p.clone(),
                    _ => j.dest.clone(),
                },
                Target::FallbackIfOpened => match (&handle, &j.fallback) {
                    (Some(_), Some(Ok(p))) => p.clone(),
                    // A directed file goes where the writer directs.
                    (None, _) if j.content.directed() => j.dest.clone(),
                    _ => continue,
                },
            };
            if !tx.touched {
                tx.touched = true;
                r.status_history.push(FileRestoreStatus::Failed);
            }
            let res = self
                .put_ranges_file(&mut tx, j, &dest, r)
                .and_then(|()| tx.put(self, j, &dest, handle));
            if let Err(e) = res {
                failure = Some(who.file(&j.source, FileError::Write(e)));
                r.files[j.report].error.clone_from(&failure);
                break;
            }
            written.push((i, dest));
        }
        drop(pre);
        if failure.is_none() {
            failure = self.rehydrate(who, jobs, &written, r);
        }
        match failure {
            None => {
                for e in tx.commit() {
                    r.errors.push(who.err(Kind::Cleanup(e)));
                }
                r.status_history.push(FileRestoreStatus::All);
                r.outcome = Outcome::Restored;
                for (i, dest) in &written {
                    let j = &jobs[*i];
                    let f = &mut r.files[j.report];
                    f.destination = Some(self.disp(dest));
                    let alt = *dest != j.dest;
                    f.action = if alt {
                        FileAction::WrittenToAlternate
                    } else {
                        FileAction::Written
                    };
                    let m = if alt { &j.fallback_mapping } else { &j.mapping };
                    if let Some(m) = m {
                        record_mapping(r, m);
                    }
                }
            }
            Some(e) => {
                r.errors.push(e);
                r.outcome = Outcome::Failed;
                r.ranges_files.clear();
                let undo_errors = tx.rollback();
                if tx.touched {
                    if undo_errors.is_empty() {
                        r.status_history.push(FileRestoreStatus::None);
                        r.errors.push(who.err(Kind::RolledBack));
                    } else {
                        for e in undo_errors {
                            r.errors.push(who.err(Kind::Rollback(e)));
                        }
                    }
                }
            }
        }
    }

    /// Restores a partial file's ranges file beside `dest` before its data (docs/vss-restore.md
    /// §5).
    fn put_ranges_file(
        &self,
        tx: &mut Tx<'_>,
        j: &Job,
        dest: &WinPath,
        r: &mut ComponentReport,
    ) -> Result<(), WriteError> {
        let Some((path, info)) = &j.ranges_file else {
            return Ok(());
        };
        let name = path.rsplit(['\\', '/']).next().unwrap_or(path);
        let target = dest.parent().unwrap_or_else(WinPath::root).join(name)?;
        let job = Job {
            source: path.clone(),
            info: info.clone(),
            content: Content::Whole,
            dest: target.clone(),
            fallback: None,
            mapping: None,
            fallback_mapping: None,
            ranges_file: None,
            report: j.report,
        };
        tx.put(self, &job, &target, None)?;
        let new = self.disp(&target);
        let old = path.strip_prefix("File=").unwrap_or(path);
        if !new.eq_ignore_ascii_case(old) {
            r.ranges_files.push((old.to_owned(), new));
        }
        Ok(())
    }

    /// Rehydrates the dedup files among `written` ([`dedup_restore::restore_in_place`]).
    fn rehydrate(
        &self,
        who: Who<'_>,
        jobs: &[Job],
        written: &[(usize, WinPath)],
        r: &mut ComponentReport,
    ) -> Option<ComponentError> {
        let dedup: Vec<&(usize, WinPath)> = written
            .iter()
            .filter(|(i, _)| matches!(jobs[*i].content, Content::Dedup(_)))
            .collect();
        if dedup.is_empty() {
            return None;
        }
        let Some(store) = self.host.chunk_store else {
            return Some(who.err(Kind::NoChunkStore));
        };
        let paths: Vec<WinPath> = dedup.iter().map(|(_, p)| p.clone()).collect();
        let report = dedup_restore::restore_in_place(self.v(), &paths, store, &self.opts.dedup);
        let mut first = None;
        for ((i, _), fr) in dedup.iter().zip(&report.files) {
            if fr.result != Hresult::S_OK {
                let j = &jobs[*i];
                let e = who.file(
                    &j.source,
                    FileError::Dedup {
                        result: fr.result,
                        error: fr.error.clone(),
                    },
                );
                r.files[j.report].error = Some(e.clone());
                first.get_or_insert(e);
            }
        }
        first
    }

    /// Stages every job for reboot: a temporary file in the destination's directory and a
    /// pending rename with replace (docs/vss-restore.md §3.5).
    pub(super) fn stage_all(&self, who: Who<'_>, jobs: &[Job], r: &mut ComponentReport) {
        let mut tx = Tx::new(self.v());
        let mut temps: Vec<(usize, WinPath)> = Vec::new();
        let mut failure = None;
        for (i, j) in jobs.iter().enumerate() {
            if !tx.touched {
                tx.touched = true;
                r.status_history.push(FileRestoreStatus::Failed);
            }
            match tx.stage(self, j) {
                Ok(t) => temps.push((i, t)),
                Err(e) => {
                    let e = who.file(&j.source, FileError::Staging(e));
                    r.files[j.report].error = Some(e.clone());
                    failure = Some(e);
                    break;
                }
            }
        }
        if failure.is_none() {
            failure = self.rehydrate(who, jobs, &temps, r);
        }
        if let Some(e) = failure {
            r.errors.push(e);
            r.outcome = Outcome::Failed;
            let undo = tx.rollback();
            if undo.is_empty() {
                r.status_history.push(FileRestoreStatus::None);
            } else {
                for e in undo {
                    r.errors.push(who.err(Kind::Rollback(e)));
                }
            }
            return;
        }
        // Every temporary file is complete: only now add the pending renames (they cannot be
        // taken back).
        for (n, (i, temp)) in temps.iter().enumerate() {
            let j = &jobs[*i];
            let op = PendingRename {
                source: temp.clone(),
                destination: Some(j.dest.clone()),
                replace_existing: true,
            };
            if let Err(e) = self.v().add_pending_rename(&op) {
                r.outcome = Outcome::Failed;
                r.errors
                    .push(who.file(&j.source, FileError::PendingRename(Arc::new(e))));
                if n == 0 {
                    let undo = tx.rollback();
                    if undo.is_empty() {
                        r.status_history.push(FileRestoreStatus::None);
                    }
                    for e in undo {
                        r.errors.push(who.err(Kind::Rollback(e)));
                    }
                } else {
                    r.errors
                        .push(who.err(Kind::PendingRenamesAdded { count: n }));
                }
                return;
            }
            let f = &mut r.files[j.report];
            f.action = FileAction::StagedForReboot {
                temp: self.disp(temp),
            };
            // Staged through a mapping: the writer finds the files there after the reboot
            // only if the mapping is recorded (AddAlternativeLocationMapping).
            if let Some(m) = &j.mapping {
                record_mapping(r, m);
            }
        }
        // Keep the temporary files; remove originals set aside (ranges files replaced beside
        // their data).
        for e in tx.commit() {
            r.errors.push(who.err(Kind::Cleanup(e)));
        }
        r.status_history.push(FileRestoreStatus::All);
        r.outcome = Outcome::StagedForReboot;
        r.reboot_required = true;
    }

    /// Writes `j`'s data into `h`.
    pub(super) fn write_content(&self, j: &Job, h: &dyn FileHandle) -> Result<(), WriteError> {
        match &j.content {
            Content::Whole => {
                self.copy_range(j, h, 0, 0, j.info.len)?;
                h.set_len(j.info.len)?;
            }
            Content::Partial(ranges) => {
                let mut pos = 0u64;
                for rg in ranges {
                    self.copy_range(j, h, pos, rg.offset, rg.length)?;
                    pos += rg.length;
                }
            }
            Content::Directed(pairs) => {
                // A range past the file's end leaves a hole before it: the file is made sparse
                // first, so the gap is never allocated (on NTFS, nor in the simulator).
                let len = h.len()?;
                if pairs.iter().any(|&(_, d, _)| d > len) {
                    match h.set_sparse(true) {
                        Ok(()) | Err(platform::Error::Unsupported { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                for &(s, d, n) in pairs {
                    self.copy_range(j, h, s, d, n)?;
                }
            }
            Content::Dedup(rp) | Content::Reparse(rp) => {
                if matches!(j.content, Content::Dedup(_)) {
                    h.set_sparse(true)?;
                    h.set_len(j.info.len)?;
                }
                h.set_reparse_point(rp)?;
            }
        }
        let keep = attr::HIDDEN | attr::SYSTEM | attr::ARCHIVE | attr::NOT_CONTENT_INDEXED;
        h.set_attributes(j.info.attributes & keep)?;
        Ok(())
    }

    fn copy_range(
        &self,
        j: &Job,
        h: &dyn FileHandle,
        src: u64,
        dst: u64,
        len: u64,
    ) -> Result<(), WriteError> {
        let mut buf = vec![0u8; usize::try_from(len.min(COPY_CHUNK as u64)).unwrap_or(COPY_CHUNK)];
        let mut done = 0u64;
        while done < len {
            let n = usize::try_from((len - done).min(buf.len() as u64)).unwrap_or(buf.len());
            self.host
                .backup
                .read(&j.source, src + done, &mut buf[..n])?;
            h.write_all_at(dst + done, &buf[..n])?;
            done += n as u64;
        }
        Ok(())
    }
}

/// Records that a file was written through the alternate location mapping `m` (once per file
/// set: AddAlternativeLocationMapping is per file set).
fn record_mapping(r: &mut ComponentReport, m: &AlternateMappingUsed) {
    if !r.alternate_mappings_used.contains(m) {
        r.alternate_mappings_used.push(m.clone());
    }
}
