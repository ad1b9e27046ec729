//! The executor: sequence (spec §3.1), method × target rules (§3.2), files that exist or are
//! locked (§3.4), reboot staging (§3.5), partial and directed files (§5), file restore status
//! (§3.9) and rollback.

use std::collections::HashMap;
use std::sync::Arc;

use dedup_reparse::IO_REPARSE_TAG_DEDUP;
use dedup_restore::{BackupStore, Hresult};
use platform::{
    Access, ComponentRef, Disposition as Open, FileHandle, OpenOptions, PendingRename, Services,
    ShareMode, Volume, WinPath, Writers, attr,
};
use vss_model::bcd::{AlternateMappingUsed, DirectedTarget, RestoreState};
use vss_model::ranges::{PartialRanges, Range, parse_range_list, parse_ranges_file};
use vss_model::restore_set::{
    CatalogEntry, Destination, Disposition, Environment, RestorePlan, RestoreSetError,
    RestoreSetInput, generate,
};
use vss_model::{
    BackupComponents, FileRestoreStatus, Guid, RestoreMethod, RestoreTarget, WriterMetadata,
    WriterRestore,
};

use crate::backup::{BackupFile, BackupSource, SourceError};
use crate::error::{
    ComponentError, ComponentErrorKind as Kind, CustomError, FileError, UndoError, WriteError,
};
use crate::paths::{display, resolve};
use crate::report::{
    ComponentReport, FileAction, FileReport, Outcome, RequesterEvent, RestoreReport,
};

/// Bytes copied per read/write.
const COPY_CHUNK: usize = 1 << 20;
/// Largest ranges file read (8 + 16 × 2^20 bytes).
const MAX_RANGES_FILE: u64 = 8 + 16 * (1 << 20);

/// The world the executor acts on.
#[derive(Clone, Copy)]
pub struct Host<'a> {
    /// The volume being restored to.
    pub volume: &'a dyn Volume,
    /// Its drive (`C:`): destinations on other drives are refused.
    pub drive: &'a str,
    /// The backed-up files.
    pub backup: &'a dyn BackupSource,
    /// The backed-up chunk store, for files that were dedup reparse points (`None`: such files
    /// fail with an error naming them).
    pub chunk_store: Option<&'a dyn BackupStore>,
    /// The writers (PreRestore / PostRestore).
    pub writers: &'a dyn Writers,
    /// Service control (STOP_RESTORE_START, RESTORE_STOP_START).
    pub services: &'a dyn Services,
}

/// What to restore.
#[derive(Debug, Clone, Copy)]
pub struct RestoreSpec<'a> {
    /// The saved Writer Metadata Documents (they define the file sets).
    pub writers: &'a [WriterMetadata],
    /// The saved Backup Components Document (with any restore state set before PreRestore:
    /// selection marks, new targets, partial files, subcomponents).
    pub bcd: &'a BackupComponents,
    /// Component full paths to restore; empty = every component the BCD selects.
    pub selection: &'a [String],
    /// `%VAR%` expansion for file-set paths.
    pub env: &'a Environment,
    /// Volume GUID → drive.
    pub volumes: &'a [(Guid, String)],
    /// Original paths of the backed-up files; `None`: the backup's own catalog.
    pub catalog: Option<&'a [String]>,
}

/// What a CUSTOM handler is given.
pub struct CustomRestore<'a> {
    /// The volume.
    pub volume: &'a dyn Volume,
    /// Its drive.
    pub drive: &'a str,
    /// The backup.
    pub backup: &'a dyn BackupSource,
    /// Component full path.
    pub component: &'a str,
    /// (original path, destination on the volume) of every file of the component.
    pub files: &'a [(String, WinPath)],
}

/// A handler for a writer whose restore method is CUSTOM (spec §3.2: writer-specific, e.g.
/// COM+ REGDB). `Err` says why it failed.
pub type CustomHandler = Arc<dyn Fn(&CustomRestore<'_>) -> Result<(), CustomError> + Send + Sync>;

/// Options.
#[derive(Clone, Default)]
pub struct RestoreOptions {
    /// Options for rehydrating dedup files.
    pub dedup: dedup_restore::RestoreOptions,
    /// CUSTOM handlers by writer class id.
    pub custom: Vec<(Guid, CustomHandler)>,
}

impl std::fmt::Debug for RestoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestoreOptions")
            .field("dedup", &self.dedup)
            .field(
                "custom",
                &self.custom.iter().map(|c| c.0).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Errors that stop the restore before any component is touched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// Restore-set generation failed (unknown variable, selection that matches nothing).
    #[error(transparent)]
    RestoreSet(#[from] RestoreSetError),
    /// The backup's catalog could not be read.
    #[error(transparent)]
    Backup(#[from] SourceError),
}

// ---------------------------------------------------------------------------------------------
// Units: one per explicitly selected component.

#[derive(Debug, Clone)]
struct PlannedFile {
    source: String,
    wmd_component: Option<usize>,
    file_set: usize,
    destination: Destination,
    fallback: Option<String>,
    partial: Option<PartialRanges>,
}

#[derive(Debug, Clone)]
struct Unit {
    key: String,
    writer: String,
    writer_id: Option<Guid>,
    writer_index: Option<usize>,
    component: String,
    cref: Option<ComponentRef>,
    bcd_pos: Option<(usize, usize)>,
    method: RestoreMethod,
    writer_restore: WriterRestore,
    target: RestoreTarget,
    reboot_required: bool,
    problems: Vec<ComponentError>,
    files: Vec<PlannedFile>,
}

impl Unit {
    fn who(&self) -> Who<'_> {
        Who {
            component: &self.component,
            writer: &self.writer,
        }
    }
}

/// The component errors are about.
#[derive(Debug, Clone, Copy)]
struct Who<'a> {
    component: &'a str,
    writer: &'a str,
}

impl Who<'_> {
    fn err(self, kind: Kind) -> ComponentError {
        ComponentError {
            component: self.component.to_owned(),
            writer: self.writer.to_owned(),
            kind: Box::new(kind),
        }
    }

    fn file(self, path: &str, source: FileError) -> ComponentError {
        self.err(Kind::File {
            path: path.to_owned(),
            source,
        })
    }
}

fn find_bcd(
    bcd: &BackupComponents,
    wmd: Option<&WriterMetadata>,
    writer_id: Option<Guid>,
    path: &str,
) -> Option<(usize, usize)> {
    let instance = wmd
        .and_then(|w| w.identification.as_ref())
        .and_then(|i| i.instance_id);
    bcd.writers
        .iter()
        .enumerate()
        .find_map(|(wi, w)| {
            let same = match (w.instance_id, instance) {
                (Some(a), Some(b)) => a == b,
                _ => Some(w.writer_id) == writer_id,
            };
            if !same {
                return None;
            }
            w.components
                .iter()
                .position(|c| c.full_path().eq_ignore_ascii_case(path))
                .map(|ci| (wi, ci))
        })
        // The saved WMD may come from another capture of the same writer class (restore-set
        // generation then matched it by writer id): match the BCD by writer id too.
        .or_else(|| {
            bcd.writers.iter().enumerate().find_map(|(wi, w)| {
                (Some(w.writer_id) == writer_id)
                    .then(|| {
                        w.components
                            .iter()
                            .position(|c| c.full_path().eq_ignore_ascii_case(path))
                            .map(|ci| (wi, ci))
                    })
                    .flatten()
            })
        })
}

fn build_units(
    spec: &RestoreSpec<'_>,
    bcd: &BackupComponents,
    plan: &RestorePlan,
    catalog: &[String],
) -> (Vec<Unit>, Vec<String>) {
    let mut units: Vec<Unit> = Vec::new();
    let mut unit_of: Vec<usize> = Vec::with_capacity(plan.components.len());
    for pc in &plan.components {
        let key = format!(
            "{}|{}",
            pc.writer_id
                .map_or_else(|| pc.writer.to_lowercase(), |g| g.to_string()),
            pc.selected_as.to_lowercase()
        );
        let idx = if let Some(i) = units.iter().position(|u| u.key == key) {
            i
        } else {
            let wmd = pc.writer_index.map(|i| &spec.writers[i]);
            let bcd_pos = find_bcd(bcd, wmd, pc.writer_id, &pc.selected_as);
            let cref = match (pc.writer_id, bcd_pos) {
                (Some(id), Some((bw, bc))) => {
                    let c = &bcd.writers[bw].components[bc];
                    Some(ComponentRef::new(
                        id.to_string(),
                        c.logical_path.clone().unwrap_or_default(),
                        c.name.clone(),
                    ))
                }
                _ => None,
            };
            units.push(Unit {
                key,
                writer: pc.writer.clone(),
                writer_id: pc.writer_id,
                writer_index: pc.writer_index,
                component: pc.selected_as.clone(),
                cref,
                bcd_pos,
                method: pc.method.clone(),
                writer_restore: pc.writer_restore.clone(),
                target: pc.target.clone(),
                reboot_required: pc.reboot_required,
                problems: Vec::new(),
                files: Vec::new(),
            });
            units.len() - 1
        };
        let u = &mut units[idx];
        for p in &pc.problems {
            let who = Who {
                component: &pc.component,
                writer: &pc.writer,
            };
            let same = |e: &ComponentError| {
                e.component == pc.component
                    && e.writer == pc.writer
                    && matches!(e.kind.as_ref(), Kind::Writer(q) if q == p)
            };
            if !u.problems.iter().any(same) {
                u.problems.push(who.err(Kind::Writer(p.clone())));
            }
        }
        unit_of.push(idx);
    }
    let mut unclaimed = Vec::new();
    for (i, d) in plan.files.iter().enumerate() {
        match d {
            Disposition::Restore {
                component,
                file_set,
                destination,
                fallback,
                partial,
            } => {
                let u = &mut units[unit_of[*component]];
                u.files.push(PlannedFile {
                    source: catalog[i].clone(),
                    wmd_component: plan.components[*component].component_index,
                    file_set: *file_set,
                    destination: destination.clone(),
                    fallback: fallback.clone(),
                    partial: partial.as_deref().cloned(),
                });
            }
            Disposition::Traditional => unclaimed.push(catalog[i].clone()),
            _ => {}
        }
    }
    (units, unclaimed)
}

fn state_mut(bcd: &mut BackupComponents, pos: (usize, usize)) -> &mut RestoreState {
    bcd.writers[pos.0].components[pos.1]
        .restore
        .get_or_insert_with(RestoreState::default)
}

fn to_platform(s: &FileRestoreStatus) -> platform::FileRestoreStatus {
    match s {
        FileRestoreStatus::None => platform::FileRestoreStatus::None,
        FileRestoreStatus::All => platform::FileRestoreStatus::All,
        FileRestoreStatus::Failed => platform::FileRestoreStatus::Failed,
        _ => platform::FileRestoreStatus::Undefined,
    }
}

// ---------------------------------------------------------------------------------------------
// The sequence.

/// Restores the components `spec` selects onto `host.volume` (see the crate docs for the
/// sequence and the rules). Errors of single components or files do not stop the restore;
/// they are in the report.
pub fn restore(
    host: &Host<'_>,
    spec: &RestoreSpec<'_>,
    opts: &RestoreOptions,
) -> Result<RestoreReport, RestoreError> {
    let catalog: Vec<String> = match spec.catalog {
        Some(c) => c.to_vec(),
        None => host.backup.catalog()?,
    };
    let entries: Vec<CatalogEntry<'_>> = catalog
        .iter()
        .map(|p| CatalogEntry {
            path: p,
            short_name: None,
        })
        .collect();
    let mut bcd = spec.bcd.clone();
    let mut events = Vec::new();

    // 1. Select.
    let plan0 = generate(&input(spec, &bcd), &entries)?;
    let (units0, _) = build_units(spec, &bcd, &plan0, &catalog);
    for u in &units0 {
        if let Some(pos) = u.bcd_pos {
            state_mut(&mut bcd, pos).selected_for_restore = Some(true);
        }
    }

    // 2. PreRestore to the writers that take part; 3. apply what they changed.
    let mut pre_failed: HashMap<String, Arc<platform::WriterError>> = HashMap::new();
    for u in &units0 {
        let (Some(cref), Some(pos)) = (&u.cref, u.bcd_pos) else {
            continue;
        };
        if matches!(
            u.writer_restore,
            WriterRestore::Always | WriterRestore::IfReplaceFails
        ) {
            match host.writers.pre_restore_changes(cref) {
                Ok(ch) => {
                    events.push(RequesterEvent::PreRestore {
                        component: u.component.clone(),
                        ok: true,
                    });
                    let st = state_mut(&mut bcd, pos);
                    if let Some(t) = ch.restore_target {
                        st.restore_target = Some(RestoreTarget::from_xml(&t));
                    }
                    for d in ch.directed_targets {
                        st.directed_targets.push(DirectedTarget {
                            source_path: d.source_path,
                            source_filename: d.source_filename,
                            source_ranges: d.source_ranges,
                            destination_path: d.destination_path,
                            destination_filename: d.destination_filename,
                            destination_ranges: d.destination_ranges,
                            other_attributes: Vec::new(),
                            other_children: Vec::new(),
                        });
                    }
                }
                Err(e) => {
                    events.push(RequesterEvent::PreRestore {
                        component: u.component.clone(),
                        ok: false,
                    });
                    state_mut(&mut bcd, pos).pre_restore_failure = Some(e.reason.clone());
                    pre_failed.insert(u.key.clone(), Arc::new(e));
                }
            }
        }
    }
    for u in &units0 {
        if let Some(pos) = u.bcd_pos {
            state_mut(&mut bcd, pos).file_restore_status = Some(FileRestoreStatus::None);
            events.push(RequesterEvent::SetStatus {
                component: u.component.clone(),
                status: FileRestoreStatus::None,
            });
        }
    }

    // Re-read: the restore set after the writers' changes.
    let plan = generate(&input(spec, &bcd), &entries)?;
    let (mut units, unclaimed) = build_units(spec, &bcd, &plan, &catalog);
    let service_of = |u: &Unit| -> Option<String> {
        u.writer_index
            .and_then(|i| spec.writers[i].restore_method.as_ref())
            .and_then(|r| r.service.clone())
    };
    for u in &mut units {
        if matches!(
            u.method,
            RestoreMethod::StopRestoreStart | RestoreMethod::RestoreStopStart
        ) && service_of(u).is_none()
        {
            let e = u.who().err(Kind::NoService {
                method: u.method.clone(),
            });
            u.problems.push(e);
        }
    }

    // Stop services (STOP_RESTORE_START: after PreRestore, before copying).
    let mut stopped: Vec<String> = Vec::new();
    let mut stop_failed: HashMap<String, Arc<platform::ServiceError>> = HashMap::new();
    for u in &units {
        if u.method != RestoreMethod::StopRestoreStart
            || !u.problems.is_empty()
            || pre_failed.contains_key(&u.key)
        {
            continue;
        }
        let Some(name) = service_of(u) else { continue };
        let k = name.to_uppercase();
        if stopped.iter().any(|s| s.eq_ignore_ascii_case(&name)) || stop_failed.contains_key(&k) {
            continue;
        }
        match host.services.stop(&name) {
            Ok(()) => {
                events.push(RequesterEvent::StopService {
                    name: name.clone(),
                    ok: true,
                });
                stopped.push(name);
            }
            Err(e) => {
                events.push(RequesterEvent::StopService { name, ok: false });
                stop_failed.insert(k, Arc::new(e));
            }
        }
    }

    // Copy.
    let copier = Copier { host, opts, spec };
    let mut reports = Vec::new();
    for u in &units {
        let mut r = ComponentReport {
            writer: u.writer.clone(),
            writer_id: u.writer_id,
            component: u.component.clone(),
            method: u.method.clone(),
            writer_restore: u.writer_restore.clone(),
            target: u.target.clone(),
            status: FileRestoreStatus::None,
            status_history: vec![FileRestoreStatus::None],
            outcome: Outcome::WriterError,
            files: Vec::new(),
            errors: Vec::new(),
            alternate_mappings_used: Vec::new(),
            ranges_files: Vec::new(),
            new_targets: Vec::new(),
            pre_restore_failure: pre_failed.get(&u.key).cloned().or_else(|| {
                u.bcd_pos
                    .and_then(|p| bcd.writers[p.0].components[p.1].restore.as_ref())
                    .and_then(|s| s.pre_restore_failure.clone())
                    .map(|reason| Arc::new(writer_error(u, reason)))
            }),
            post_restore_failure: None,
            reboot_required: u.reboot_required,
        };
        if let Some(e) = pre_failed.get(&u.key) {
            r.errors.push(u.who().err(Kind::PreRestore(e.clone())));
        } else if !u.problems.is_empty() {
            r.errors.extend(u.problems.iter().cloned());
        } else if let Some(e) = service_of(u)
            .filter(|_| u.method == RestoreMethod::StopRestoreStart)
            .and_then(|n| stop_failed.get(&n.to_uppercase()))
        {
            r.outcome = Outcome::NotRestored;
            r.errors.push(u.who().err(Kind::StopService(e.clone())));
        } else {
            events.push(RequesterEvent::Copy {
                component: u.component.clone(),
            });
            copier.copy_unit(u, &mut r, &mut bcd);
        }
        r.status = r
            .status_history
            .last()
            .cloned()
            .unwrap_or(FileRestoreStatus::None);
        if let Some(pos) = u.bcd_pos {
            let st = state_mut(&mut bcd, pos);
            st.file_restore_status = Some(r.status.clone());
            for m in &r.alternate_mappings_used {
                if !st.alternate_mappings_used.contains(m) {
                    st.alternate_mappings_used.push(m.clone());
                }
            }
            events.push(RequesterEvent::SetStatus {
                component: u.component.clone(),
                status: r.status.clone(),
            });
        }
        reports.push(r);
    }

    // Start what was stopped (after copying, before PostRestore).
    for name in &stopped {
        let res = host.services.start(name);
        events.push(RequesterEvent::StartService {
            name: name.clone(),
            ok: res.is_ok(),
        });
        if let Err(e) = res {
            let e = Arc::new(e);
            for (u, r) in units.iter().zip(reports.iter_mut()) {
                if service_of(u).is_some_and(|s| s.eq_ignore_ascii_case(name)) {
                    r.errors.push(u.who().err(Kind::StartService {
                        name: name.clone(),
                        source: e.clone(),
                    }));
                }
            }
        }
    }

    // PostRestore.
    for (u, r) in units.iter().zip(reports.iter_mut()) {
        let Some(cref) = &u.cref else { continue };
        let send = match u.writer_restore {
            WriterRestore::Always => true,
            WriterRestore::IfReplaceFails => r.status != FileRestoreStatus::All,
            _ => false,
        };
        if !send {
            continue;
        }
        let res = host.writers.post_restore(cref, to_platform(&r.status));
        events.push(RequesterEvent::PostRestore {
            component: u.component.clone(),
            status: r.status.clone(),
            ok: res.is_ok(),
        });
        if let Err(e) = res {
            if let Some(pos) = u.bcd_pos {
                state_mut(&mut bcd, pos).post_restore_failure = Some(e.reason.clone());
            }
            let e = Arc::new(e);
            r.post_restore_failure = Some(e.clone());
            r.errors.push(u.who().err(Kind::PostRestore(e)));
        }
    }

    // RESTORE_STOP_START: stop and start after PostRestore.
    let mut restarted: Vec<String> = Vec::new();
    for (u, r) in units.iter().zip(reports.iter_mut()) {
        if u.method != RestoreMethod::RestoreStopStart || r.status != FileRestoreStatus::All {
            continue;
        }
        let Some(name) = service_of(u) else { continue };
        if restarted.iter().any(|s| s.eq_ignore_ascii_case(&name)) {
            continue;
        }
        restarted.push(name.clone());
        let stop = host.services.stop(&name);
        events.push(RequesterEvent::StopService {
            name: name.clone(),
            ok: stop.is_ok(),
        });
        let start = host.services.start(&name);
        events.push(RequesterEvent::StartService {
            name: name.clone(),
            ok: start.is_ok(),
        });
        for e in [stop.err(), start.err()].into_iter().flatten() {
            r.errors.push(u.who().err(Kind::RestartService {
                name: name.clone(),
                source: Arc::new(e),
            }));
        }
    }

    let reboot_required = reports
        .iter()
        .any(|r| r.reboot_required && r.status == FileRestoreStatus::All);
    Ok(RestoreReport {
        components: reports,
        bcd,
        events,
        reboot_required,
        unclaimed,
    })
}

/// A writer failure recorded in the BCD (not returned by a writer in this restore).
fn writer_error(u: &Unit, reason: String) -> platform::WriterError {
    platform::WriterError {
        writer_id: u
            .cref
            .as_ref()
            .map(|c| c.writer_id.clone())
            .or_else(|| u.writer_id.map(|g| g.to_string()))
            .unwrap_or_default(),
        logical_path: u
            .cref
            .as_ref()
            .map(|c| c.logical_path.clone())
            .unwrap_or_default(),
        name: u
            .cref
            .as_ref()
            .map_or_else(|| u.component.clone(), |c| c.name.clone()),
        reason,
    }
}

fn input<'a>(spec: &RestoreSpec<'a>, bcd: &'a BackupComponents) -> RestoreSetInput<'a> {
    RestoreSetInput {
        writers: spec.writers,
        bcd,
        selection: spec.selection,
        env: spec.env,
        volumes: spec.volumes,
    }
}

// ---------------------------------------------------------------------------------------------
// Copying one component.

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
        (_, RestoreTarget::Directed | RestoreTarget::Alternate) => {
            Mode::Replace { fallback: false }
        }
        (m, _) => by_method(m),
    }
}

#[derive(Debug, Clone)]
enum Content {
    Whole,
    Partial(Vec<Range>),
    Directed(Vec<(u64, u64, u64)>),
    Dedup(Vec<u8>),
    Reparse(Vec<u8>),
}

impl Content {
    fn in_place(&self) -> bool {
        matches!(self, Self::Partial(_) | Self::Directed(_))
    }
}

#[derive(Debug, Clone)]
struct Job {
    source: String,
    info: BackupFile,
    content: Content,
    dest: WinPath,
    fallback: Option<Result<WinPath, ComponentError>>,
    mapping: Option<AlternateMappingUsed>,
    fallback_mapping: Option<AlternateMappingUsed>,
    ranges_file: Option<(String, BackupFile)>,
    report: usize,
}

struct Copier<'a, 'b> {
    host: &'b Host<'a>,
    opts: &'b RestoreOptions,
    spec: &'b RestoreSpec<'a>,
}

impl Copier<'_, '_> {
    fn v(&self) -> &dyn Volume {
        self.host.volume
    }

    fn disp(&self, p: &WinPath) -> String {
        display(self.host.drive, p)
    }

    fn mapping_for(&self, u: &Unit, pf: &PlannedFile) -> Option<AlternateMappingUsed> {
        let wmd = &self.spec.writers[u.writer_index?];
        let fs = wmd
            .components
            .get(pf.wmd_component?)?
            .file_sets
            .get(pf.file_set)?;
        let m = wmd.alternate_mappings.iter().find(|m| {
            m.path
                .trim_end_matches('\\')
                .eq_ignore_ascii_case(fs.path.trim_end_matches('\\'))
                && m.filespec.eq_ignore_ascii_case(&fs.filespec)
                && m.recursive.unwrap_or(false) == fs.is_recursive()
        })?;
        Some(AlternateMappingUsed {
            path: fs.path.clone(),
            filespec: fs.filespec.clone(),
            recursive: fs.recursive,
            destination: m.alternate_path.clone(),
            other_attributes: Vec::new(),
            other_children: Vec::new(),
        })
    }

    /// Reads what the backup holds for a planned file and resolves its destinations.
    fn prepare(&self, u: &Unit, pf: &PlannedFile, report: usize) -> Result<Job, ComponentError> {
        let fail = |e: FileError| u.who().file(&pf.source, e);
        let info = self
            .host
            .backup
            .stat(&pf.source)
            .map_err(|e| fail(FileError::Backup(e)))?
            .ok_or_else(|| fail(FileError::NotInBackup))?;
        let (raw, mut content) = match &pf.destination {
            Destination::Original => (pf.source.clone(), Content::Whole),
            Destination::AlternateMapping(s) | Destination::NewTarget(s) => {
                (s.clone(), Content::Whole)
            }
            Destination::Directed(d) => {
                let parse = |s: &str| {
                    parse_range_list(s).map_err(|e| {
                        fail(FileError::DirectedRanges {
                            ranges: s.to_owned(),
                            source: e,
                        })
                    })
                };
                let src = parse(&d.source_ranges)?;
                let dst = parse(&d.destination_ranges)?;
                let pairs = vss_model::ranges::pair_directed(&src, &dst, Some(info.len))
                    .map_err(|e| fail(FileError::Directed(e)))?;
                (d.path.clone(), Content::Directed(pairs))
            }
        };
        let mut ranges_file = None;
        if let Some(p) = &pf.partial {
            let ranges = match p {
                PartialRanges::List(r) => r.clone(),
                PartialRanges::File(path) => {
                    let rf = self
                        .host
                        .backup
                        .stat(path)
                        .map_err(|e| fail(FileError::RangesFileRead(e)))?
                        .ok_or_else(|| fail(FileError::RangesFileMissing { path: path.clone() }))?;
                    // 8 + 16·count bytes; a million ranges is far beyond any real writer.
                    if rf.len > MAX_RANGES_FILE {
                        return Err(fail(FileError::RangesFileTooLarge {
                            path: path.clone(),
                            len: rf.len,
                            max: MAX_RANGES_FILE,
                        }));
                    }
                    let mut bytes = vec![0u8; usize::try_from(rf.len).unwrap_or(0)];
                    self.host
                        .backup
                        .read(path, 0, &mut bytes)
                        .map_err(|e| fail(FileError::RangesFileRead(e)))?;
                    let r = parse_ranges_file(&bytes).map_err(|e| {
                        fail(FileError::RangesFileBad {
                            path: path.clone(),
                            source: e,
                        })
                    })?;
                    ranges_file = Some((path.clone(), rf));
                    r
                }
            };
            let need: u64 = ranges.iter().map(|r| r.length).sum();
            if need != info.len {
                return Err(fail(FileError::PartialLength {
                    backup_bytes: info.len,
                    ranges_bytes: need,
                }));
            }
            if matches!(content, Content::Whole) {
                content = Content::Partial(ranges);
            }
        }
        if let Some(r) = &info.reparse {
            let tag = platform::reparse::tag(r);
            if !matches!(content, Content::Whole) {
                return Err(fail(FileError::ReparseByRanges));
            }
            content = if tag == Some(IO_REPARSE_TAG_DEDUP) {
                if self.host.chunk_store.is_none() {
                    return Err(fail(FileError::NoChunkStore));
                }
                Content::Dedup(r.clone())
            } else {
                Content::Reparse(r.clone())
            };
        }
        let dest = resolve(self.v(), self.host.drive, &raw)
            .map_err(|e| fail(FileError::DestinationRefused(e)))?;
        let fallback = pf.fallback.as_ref().map(|f| {
            resolve(self.v(), self.host.drive, f).map_err(|e| fail(FileError::AlternateRefused(e)))
        });
        let mapping = match &pf.destination {
            Destination::AlternateMapping(_) => self.mapping_for(u, pf),
            _ => None,
        };
        let fallback_mapping = pf.fallback.as_ref().and_then(|_| self.mapping_for(u, pf));
        Ok(Job {
            source: pf.source.clone(),
            info,
            content,
            dest,
            fallback,
            mapping,
            fallback_mapping,
            ranges_file,
            report,
        })
    }

    fn copy_unit(&self, u: &Unit, r: &mut ComponentReport, bcd: &mut BackupComponents) {
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
                } else if fallback && jobs.iter().all(|j| j.fallback.is_some()) {
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

    /// Destinations that exist and cannot be opened exclusively (spec §3.4).
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
        let mut handles: Vec<Box<dyn FileHandle>> = Vec::new();
        let mut present: Option<String> = None;
        let mut error: Option<ComponentError> = None;
        for j in jobs {
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
                    handles.push(h);
                }
                Err(platform::Error::AlreadyExists { .. }) => {
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
            let pre: Vec<Option<Box<dyn FileHandle>>> = handles.into_iter().map(Some).collect();
            self.run_tx(who, tx, jobs, pre, Target::Primary, r);
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
        if !jobs.iter().all(|j| j.fallback.is_some()) {
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
        // To the alternate location, only where no copy exists there either.
        let mut tx = Tx::new(self.v());
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
        for (j, h) in jobs.iter().zip(&pre) {
            if h.is_none() {
                let f = &mut r.files[j.report];
                f.action = FileAction::SkippedExistsAtAlternate;
                if let Some(Ok(alt)) = &j.fallback {
                    f.destination = Some(self.disp(alt));
                }
            }
        }
        self.run_tx(who, tx, jobs, pre, Target::FallbackIfOpened, r);
    }

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

    /// Writes every job (through `pre` handles where given), rehydrates dedup files, and
    /// commits, or rolls everything back.
    fn run_tx(
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
                Target::FallbackIfOpened => {
                    if handle.is_none() {
                        continue;
                    }
                    match &j.fallback {
                        Some(Ok(p)) => p.clone(),
                        _ => continue,
                    }
                }
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
                    let alt = !matches!(target, Target::Primary);
                    f.action = if alt {
                        FileAction::WrittenToAlternate
                    } else {
                        FileAction::Written
                    };
                    let m = if alt { &j.fallback_mapping } else { &j.mapping };
                    if let Some(m) = m
                        && !r.alternate_mappings_used.contains(m)
                    {
                        r.alternate_mappings_used.push(m.clone());
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

    /// Restores a partial file's ranges file beside `dest` before its data (spec §5).
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
    /// pending rename with replace (spec §3.5).
    fn stage_all(&self, who: Who<'_>, jobs: &[Job], r: &mut ComponentReport) {
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
    fn write_content(&self, j: &Job, h: &dyn FileHandle) -> Result<(), WriteError> {
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

#[derive(Debug, Clone, Copy)]
enum Target {
    Primary,
    Fallback,
    FallbackIfOpened,
}

// ---------------------------------------------------------------------------------------------
// Transactions: every change to the volume has an undo.

#[derive(Debug)]
enum Undo {
    Delete(WinPath),
    RestoreAside { aside: WinPath, dest: WinPath },
    RemoveDir(WinPath),
}

struct Tx<'v> {
    v: &'v dyn Volume,
    undo: Vec<Undo>,
    asides: Vec<WinPath>,
    touched: bool,
}

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
    fn new(v: &'v dyn Volume) -> Self {
        Self {
            v,
            undo: Vec::new(),
            asides: Vec::new(),
            touched: false,
        }
    }

    fn ensure_parent(&mut self, p: &WinPath) -> Result<(), WriteError> {
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

    fn create_new(&mut self, p: &WinPath) -> Result<Box<dyn FileHandle>, WriteError> {
        let h = self.v.open(
            p,
            OpenOptions::new(Access::ALL, ShareMode::NONE, Open::CreateNew),
        )?;
        self.undo.push(Undo::Delete(p.clone()));
        Ok(h)
    }

    /// Writes `j` at `dest`, keeping what is needed to undo it.
    fn put(
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
    fn stage(&mut self, c: &Copier<'_, '_>, j: &Job) -> Result<WinPath, WriteError> {
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
    fn rollback(&mut self) -> Vec<UndoError> {
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
    fn commit(&mut self) -> Vec<UndoError> {
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
