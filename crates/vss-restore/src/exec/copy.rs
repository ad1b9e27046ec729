//! Copying one component: its files prepared as jobs, then carried out by the unit's restore
//! method and target (docs/vss-restore.md §3.2), checking first which destinations exist or are
//! locked (§3.4) so a component that cannot be restored is left untouched.

use std::sync::Arc;

use platform::{Access, Disposition as Open, FileHandle, OpenOptions, ShareMode, Volume, WinPath};
use vss_model::restore_set::Destination;
use vss_model::{BackupComponents, FileRestoreStatus, RestoreMethod, RestoreTarget};

use super::prepare::{Content, Job};
use super::transaction::{Tx, Undo};
use super::units::{Unit, Who, state_mut};
use super::write::Target;
use super::{CustomRestore, Host, RestoreOptions, RestoreSpec};
use crate::error::{ComponentError, ComponentErrorKind as Kind, FileError};
use crate::paths::display;
use crate::report::{ComponentReport, FileAction, FileReport, Outcome};

/// How a unit's files are written, from its method and target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    IfNotThere,
    Replace { fallback: bool },
    AtReboot,
    AtRebootIfCannotReplace,
    Custom,
}

fn mode_of(u: &Unit) -> Mode {
    let by_method = |m: &RestoreMethod| match m {
        RestoreMethod::RestoreIfNotThere => Mode::IfNotThere,
        RestoreMethod::RestoreIfCanReplace => Mode::Replace { fallback: true },
        RestoreMethod::RestoreAtRebootIfCannotReplace => Mode::AtRebootIfCannotReplace,
        _ => Mode::Replace { fallback: false },
    };
    match (&u.method, &u.target) {
        (RestoreMethod::Custom, _) => Mode::Custom,
        (RestoreMethod::RestoreAtReboot, _) => Mode::AtReboot,
        (RestoreMethod::RestoreAtRebootIfCannotReplace, _) => Mode::AtRebootIfCannotReplace,
        (_, RestoreTarget::Alternate) => Mode::Replace { fallback: false },
        // DIRECTED included: the writer's directed targets remap the files it names, and the
        // component's other files keep its restore method ("Working with Directed Targets"
        // says nothing of them); directed files are written where directed (`if_not_there`).
        (m, _) => by_method(m),
    }
}

/// Copies components onto the host's volume.
pub(super) struct Copier<'a, 'b> {
    pub(super) host: &'b Host<'a>,
    pub(super) opts: &'b RestoreOptions,
    pub(super) spec: &'b RestoreSpec<'a>,
}

impl Copier<'_, '_> {
    /// The volume.
    pub(super) fn v(&self) -> &dyn Volume {
        self.host.volume
    }

    /// How a path on the volume is shown (with the drive).
    pub(super) fn disp(&self, p: &WinPath) -> String {
        display(self.host.drive, p)
    }

    /// Prepares and copies one unit, recording everything in its report and the ranges-file
    /// paths changed (SetRangesFilePath) in the BCD.
    pub(super) fn copy_unit(&self, u: &Unit, r: &mut ComponentReport, bcd: &mut BackupComponents) {
        let who = u.who();
        let mut jobs = Vec::new();
        let mut bad = false;
        for pf in &u.files {
            let report = r.files.len();
            r.files.push(FileReport {
                source: pf.source.clone(),
                destination: None,
                action: FileAction::NotWritten,
                error: None,
                dedup: false,
            });
            match self.prepare(u, pf, report) {
                Ok(j) => {
                    let f = &mut r.files[report];
                    f.destination = Some(self.disp(&j.dest));
                    f.dedup = matches!(j.content, Content::Dedup(_));
                    if let Destination::NewTarget(_) = pf.destination {
                        let d = self.disp(&j.dest);
                        if !r.new_targets.contains(&d) {
                            r.new_targets.push(d);
                        }
                    }
                    jobs.push(j);
                }
                Err(e) => {
                    let f = &mut r.files[report];
                    if e.file_error().is_some_and(FileError::is_refusal) {
                        f.action = FileAction::Refused;
                    }
                    f.error = Some(e.clone());
                    r.errors.push(e);
                    bad = true;
                }
            }
        }
        if bad {
            r.outcome = Outcome::Failed;
            r.errors.push(who.err(Kind::NotPrepared));
            return;
        }
        match mode_of(u) {
            Mode::Custom => self.custom(u, &jobs, r),
            Mode::AtReboot => self.stage_all(who, &jobs, r),
            Mode::IfNotThere => self.if_not_there(who, &jobs, r),
            Mode::Replace { fallback } => {
                let blocked = self.blocked(who, &jobs, |j| Some(j.dest.clone()));
                if blocked.is_empty() {
                    self.in_place(who, &jobs, false, r);
                } else if fallback
                    && jobs
                        .iter()
                        .all(|j| j.fallback.is_some() || j.content.directed())
                {
                    if let Some(e) = jobs.iter().find_map(|j| j.fallback.clone()?.err()) {
                        r.outcome = Outcome::Failed;
                        Self::refuse(r, &jobs, e);
                        return;
                    }
                    let blocked_alt =
                        self.blocked(who, &jobs, |j| j.fallback.clone().and_then(Result::ok));
                    if blocked_alt.is_empty() {
                        self.in_place(who, &jobs, true, r);
                    } else {
                        r.outcome = Outcome::NotRestored;
                        r.errors.extend(blocked.into_iter().chain(blocked_alt));
                        r.errors.push(who.err(Kind::CannotReplaceAnywhere));
                    }
                } else {
                    r.outcome = Outcome::NotRestored;
                    let count = blocked.len();
                    r.errors.extend(blocked);
                    r.errors
                        .push(who.err(Kind::CannotReplaceNoMapping { count }));
                }
            }
            Mode::AtRebootIfCannotReplace => {
                let blocked = self.blocked(who, &jobs, |j| Some(j.dest.clone()));
                if blocked.is_empty() {
                    self.in_place(who, &jobs, false, r);
                } else {
                    self.stage_all(who, &jobs, r);
                }
            }
        }
        // SetRangesFilePath for ranges files restored elsewhere.
        if let Some(pos) = u.bcd_pos {
            let st = state_mut(bcd, pos);
            for (old, new) in &r.ranges_files {
                for p in &mut st.partial_files {
                    let cur = p.ranges.strip_prefix("File=").unwrap_or(&p.ranges);
                    if cur.eq_ignore_ascii_case(old) {
                        p.ranges = format!("File={new}");
                    }
                }
            }
        }
    }

    /// Undoes the empty files and directories a check phase created. When that fails, files
    /// were left on disk: the component is FAILED and the errors say which. Returns whether it
    /// failed.
    fn undo_check(who: Who<'_>, tx: &mut Tx<'_>, r: &mut ComponentReport) -> bool {
        let errors = tx.rollback();
        if errors.is_empty() {
            return false;
        }
        r.outcome = Outcome::Failed;
        r.status_history.push(FileRestoreStatus::Failed);
        for e in errors {
            r.errors.push(who.err(Kind::UndoCheck(e)));
        }
        true
    }

    fn refuse(r: &mut ComponentReport, jobs: &[Job], e: ComponentError) {
        for j in jobs {
            if let Some(Err(x)) = &j.fallback {
                r.files[j.report].action = FileAction::Refused;
                r.files[j.report].error = Some(x.clone());
            }
        }
        r.errors.push(e);
    }

    /// Destinations that exist and cannot be opened exclusively (docs/vss-restore.md §3.4).
    fn blocked(
        &self,
        who: Who<'_>,
        jobs: &[Job],
        dest: impl Fn(&Job) -> Option<WinPath>,
    ) -> Vec<ComponentError> {
        let mut out = Vec::new();
        for j in jobs {
            let Some(d) = dest(j) else { continue };
            match self.v().open(
                &d,
                OpenOptions::new(Access::ALL, ShareMode::NONE, Open::OpenExisting),
            ) {
                Ok(_) | Err(platform::Error::NotFound { .. }) => {}
                Err(e) => out.push(who.file(&j.source, FileError::CannotReplace(Arc::new(e)))),
            }
        }
        out
    }

    fn custom(&self, u: &Unit, jobs: &[Job], r: &mut ComponentReport) {
        let handler = self
            .opts
            .custom
            .iter()
            .find(|(g, _)| Some(*g) == u.writer_id)
            .map(|(_, h)| h.clone());
        let Some(h) = handler else {
            r.outcome = Outcome::CustomRestoreRequired;
            r.errors.push(u.who().err(Kind::CustomRestoreRequired));
            return;
        };
        let files: Vec<(String, WinPath)> = jobs
            .iter()
            .map(|j| (j.source.clone(), j.dest.clone()))
            .collect();
        let ctx = CustomRestore {
            volume: self.v(),
            drive: self.host.drive,
            backup: self.host.backup,
            component: &u.component,
            files: &files,
        };
        r.status_history.push(FileRestoreStatus::Failed);
        match h(&ctx) {
            Ok(()) => {
                r.status_history.push(FileRestoreStatus::All);
                r.outcome = Outcome::Restored;
                for j in jobs {
                    r.files[j.report].action = FileAction::Written;
                }
            }
            Err(e) => {
                r.outcome = Outcome::Failed;
                r.errors.push(u.who().err(Kind::Custom(e)));
            }
        }
    }

    fn if_not_there(&self, who: Who<'_>, jobs: &[Job], r: &mut ComponentReport) {
        // Check with exclusive CREATE_NEW opens before writing anything.
        let mut tx = Tx::new(self.v());
        let mut handles: Vec<Option<Box<dyn FileHandle>>> = Vec::new();
        let mut present: Option<String> = None;
        let mut error: Option<ComponentError> = None;
        for j in jobs {
            if j.content.directed() {
                // Written where the writer directs, over what is there (see `mode_of`).
                handles.push(None);
                continue;
            }
            if let Err(e) = tx.ensure_parent(&j.dest) {
                error = Some(who.file(&j.source, FileError::Write(e)));
                break;
            }
            match self.v().open(
                &j.dest,
                OpenOptions::new(Access::ALL, ShareMode::NONE, Open::CreateNew),
            ) {
                Ok(h) => {
                    tx.undo.push(Undo::Delete(j.dest.clone()));
                    handles.push(Some(h));
                }
                // Whatever stands at the path (a file, a directory, a file held open) is "a
                // version of the file on disk" (VSS_RESTOREMETHOD_ENUM).
                Err(e)
                    if matches!(e, platform::Error::AlreadyExists { .. })
                        || self.v().exists(&j.dest).unwrap_or(false) =>
                {
                    present = Some(j.source.clone());
                    break;
                }
                Err(e) => {
                    error = Some(who.file(&j.source, FileError::Write(e.into())));
                    break;
                }
            }
        }
        if present.is_none() && error.is_none() {
            self.run_tx(who, tx, jobs, handles, Target::Primary, r);
            return;
        }
        drop(handles);
        if Self::undo_check(who, &mut tx, r) {
            return;
        }
        if let Some(e) = error {
            r.outcome = Outcome::Failed;
            r.errors.push(e);
            return;
        }
        let present = present.unwrap_or_default();
        if !jobs
            .iter()
            .all(|j| j.fallback.is_some() || j.content.directed())
        {
            r.outcome = Outcome::NotRestored;
            r.errors
                .push(who.err(Kind::AlreadyOnDisk { path: present }));
            return;
        }
        if let Some(e) = jobs.iter().find_map(|j| j.fallback.clone()?.err()) {
            r.outcome = Outcome::Failed;
            Self::refuse(r, jobs, e);
            return;
        }
        self.if_not_there_alternate(who, jobs, present, r);
    }

    /// RESTORE_IF_NOT_THERE when `present` (a file of the component) is on disk and every
    /// file has a mapping: each file to its alternate location only where no copy exists there
    /// either; directed files where directed.
    fn if_not_there_alternate(
        &self,
        who: Who<'_>,
        jobs: &[Job],
        present: String,
        r: &mut ComponentReport,
    ) {
        let mut tx = Tx::new(self.v());
        let mut error = None;
        let mut pre = Vec::new();
        for j in jobs {
            let Some(Ok(alt)) = &j.fallback else {
                pre.push(None);
                continue;
            };
            if let Err(e) = tx.ensure_parent(alt) {
                error = Some(who.file(&j.source, FileError::Write(e)));
                break;
            }
            match self.v().open(
                alt,
                OpenOptions::new(Access::ALL, ShareMode::NONE, Open::CreateNew),
            ) {
                Ok(h) => {
                    tx.undo.push(Undo::Delete(alt.clone()));
                    pre.push(Some(h));
                }
                Err(platform::Error::AlreadyExists { .. }) => pre.push(None),
                Err(e) => {
                    error = Some(who.file(&j.source, FileError::Write(e.into())));
                    break;
                }
            }
        }
        if let Some(e) = error {
            drop(pre);
            r.outcome = Outcome::Failed;
            r.errors.push(e);
            Self::undo_check(who, &mut tx, r);
            return;
        }
        let nothing_to_write = jobs
            .iter()
            .zip(&pre)
            .all(|(j, h)| h.is_none() && !j.content.directed());
        for (j, h) in jobs.iter().zip(&pre) {
            if h.is_none() && !j.content.directed() {
                let f = &mut r.files[j.report];
                f.action = FileAction::SkippedExistsAtAlternate;
                if let Some(Ok(alt)) = &j.fallback {
                    f.destination = Some(self.disp(alt));
                }
            }
        }
        if nothing_to_write {
            // VSS_RS_NONE is "no files were restored"; undo the directories the check made.
            if !Self::undo_check(who, &mut tx, r) {
                r.outcome = Outcome::NotRestored;
            }
            r.errors
                .push(who.err(Kind::AlreadyAtAlternate { path: present }));
            return;
        }
        self.run_tx(who, tx, jobs, pre, Target::FallbackIfOpened, r);
    }

    /// Writes every job over what is there (or to its alternate location when `fallback`).
    fn in_place(&self, who: Who<'_>, jobs: &[Job], fallback: bool, r: &mut ComponentReport) {
        let tx = Tx::new(self.v());
        let pre = jobs.iter().map(|_| None).collect();
        let target = if fallback {
            Target::Fallback
        } else {
            Target::Primary
        };
        self.run_tx(who, tx, jobs, pre, target, r);
    }
}
