//! The sequence (docs/vss-restore.md §3.1): [`restore`] and its steps, one function each, in the
//! order they run. Each step records what it did to the writers and services in the event log and
//! what it changed in the BCD, so the report tells the whole story in order.

use std::collections::HashMap;
use std::sync::Arc;

use vss_model::bcd::DirectedTarget;
use vss_model::restore_set::{CatalogEntry, RestoreSetInput, generate};
use vss_model::{BackupComponents, FileRestoreStatus, RestoreMethod, RestoreTarget, WriterRestore};

use super::copy::Copier;
use super::units::{Unit, build_units, state_mut, to_platform};
use super::{Host, RestoreError, RestoreOptions, RestoreSpec};
use crate::error::ComponentErrorKind as Kind;
use crate::report::{ComponentReport, Outcome, RequesterEvent, RestoreReport};

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
    let mut run = Run {
        host,
        spec,
        opts,
        bcd: spec.bcd.clone(),
        events: Vec::new(),
    };

    // 1. Select.
    let plan0 = generate(&input(spec, &run.bcd), &entries)?;
    let (units0, _) = build_units(spec, &run.bcd, &plan0, &catalog);
    run.mark_selected(&units0);
    // 2. PreRestore to the writers that take part; 3. apply what they changed.
    let pre_failed = run.pre_restore(&units0);
    run.reset_status(&units0);

    // Re-read: the restore set after the writers' changes.
    let plan = generate(&input(spec, &run.bcd), &entries)?;
    let (mut units, unclaimed) = build_units(spec, &run.bcd, &plan, &catalog);
    run.check_services(&mut units);

    let stops = run.stop_services(&units, &pre_failed);
    let mut reports = run.copy(&units, opts, &pre_failed, &stops);
    run.start_services(&stops.stopped, &units, &mut reports);
    run.post_restore(&units, &mut reports);
    run.restart_services(&units, &mut reports);

    let reboot_required = reports
        .iter()
        .any(|r| r.reboot_required && r.status == FileRestoreStatus::All);
    Ok(RestoreReport {
        components: reports,
        bcd: run.bcd,
        events: run.events,
        reboot_required,
        unclaimed,
    })
}

/// PreRestore failures by unit key.
type PreFailed = HashMap<String, Arc<platform::WriterError>>;

/// What stopping the STOP_RESTORE_START services did.
struct Stops {
    /// Services stopped, to start again after copying.
    stopped: Vec<String>,
    /// Services that would not stop, by upper-case name.
    failed: HashMap<String, Arc<platform::ServiceError>>,
}

/// One restore in progress: the BCD as it is being updated and the event log.
struct Run<'h, 'a> {
    host: &'h Host<'a>,
    spec: &'h RestoreSpec<'a>,
    opts: &'h RestoreOptions,
    bcd: BackupComponents,
    events: Vec<RequesterEvent>,
}

impl Run<'_, '_> {
    /// A CUSTOM writer's unit with no handler registered: the writer is not involved at all
    /// ("Restores without Writer Participation": a writer with a custom method is generally
    /// left out unless its documentation says otherwise; a registered handler is that
    /// documentation). It is not selected for restore, gets no PreRestore, no status, no
    /// PostRestore; the report says a custom restore is required.
    fn left_alone(&self, u: &Unit) -> bool {
        u.method == RestoreMethod::Custom
            && !self
                .opts
                .custom
                .iter()
                .any(|(g, _)| Some(*g) == u.writer_id)
    }

    /// Step 1: marks every selected component selected for restore in the BCD.
    fn mark_selected(&mut self, units: &[Unit]) {
        for u in units {
            if self.left_alone(u) {
                continue;
            }
            if let Some(pos) = u.bcd_pos {
                state_mut(&mut self.bcd, pos).selected_for_restore = Some(true);
            }
        }
    }

    /// Steps 2 and 3: PreRestore to the components of `always` and `ifReplaceFails` writers
    /// (never to `never` writers), applying the restore target and directed targets they set
    /// to the BCD. Returns the failures by unit key; each is also recorded in the BCD.
    fn pre_restore(&mut self, units: &[Unit]) -> PreFailed {
        let mut failed = PreFailed::new();
        for u in units {
            let (Some(cref), Some(pos)) = (&u.cref, u.bcd_pos) else {
                continue;
            };
            if !matches!(
                u.writer_restore,
                WriterRestore::Always | WriterRestore::IfReplaceFails
            ) || self.left_alone(u)
            {
                continue;
            }
            let res = self.host.writers.pre_restore_changes(cref);
            self.events.push(RequesterEvent::PreRestore {
                component: u.component.clone(),
                ok: res.is_ok(),
            });
            let st = state_mut(&mut self.bcd, pos);
            match res {
                Ok(ch) => {
                    if let Some(t) = ch.restore_target {
                        st.restore_target = Some(RestoreTarget::from_xml(&t));
                    }
                    st.directed_targets
                        .extend(ch.directed_targets.into_iter().map(directed_target));
                }
                Err(e) => {
                    st.pre_restore_failure = Some(e.reason.clone());
                    failed.insert(u.key.clone(), Arc::new(e));
                }
            }
        }
        failed
    }

    /// Sets every selected component's file restore status to NONE before anything is copied.
    fn reset_status(&mut self, units: &[Unit]) {
        for u in units {
            if self.left_alone(u) {
                continue;
            }
            if let Some(pos) = u.bcd_pos {
                state_mut(&mut self.bcd, pos).file_restore_status = Some(FileRestoreStatus::None);
                self.events.push(RequesterEvent::SetStatus {
                    component: u.component.clone(),
                    status: FileRestoreStatus::None,
                });
            }
        }
    }

    /// A STOP_RESTORE_START or RESTORE_STOP_START writer without a service is a writer error
    /// of its units (they are then not copied).
    fn check_services(&self, units: &mut [Unit]) {
        for u in units {
            if matches!(
                u.method,
                RestoreMethod::StopRestoreStart | RestoreMethod::RestoreStopStart
            ) && service_of(self.spec, u).is_none()
            {
                let e = u.who().err(Kind::NoService {
                    method: u.method.clone(),
                });
                u.problems.push(e);
            }
        }
    }

    /// Stops the services of STOP_RESTORE_START units that will be copied (after PreRestore,
    /// before copying), each service once.
    fn stop_services(&mut self, units: &[Unit], pre_failed: &PreFailed) -> Stops {
        let mut stops = Stops {
            stopped: Vec::new(),
            failed: HashMap::new(),
        };
        for u in units {
            if u.method != RestoreMethod::StopRestoreStart
                || !u.problems.is_empty()
                || pre_failed.contains_key(&u.key)
            {
                continue;
            }
            let Some(name) = service_of(self.spec, u) else {
                continue;
            };
            let k = name.to_uppercase();
            if stops.stopped.iter().any(|s| s.eq_ignore_ascii_case(&name))
                || stops.failed.contains_key(&k)
            {
                continue;
            }
            match self.host.services.stop(&name) {
                Ok(()) => {
                    self.events.push(RequesterEvent::StopService {
                        name: name.clone(),
                        ok: true,
                    });
                    stops.stopped.push(name);
                }
                Err(e) => {
                    self.events
                        .push(RequesterEvent::StopService { name, ok: false });
                    stops.failed.insert(k, Arc::new(e));
                }
            }
        }
        stops
    }

    /// Step 4: copies every unit that may be copied (no PreRestore failure, no writer error,
    /// its service stopped) and records its file restore status and alternate mappings used
    /// in the BCD.
    fn copy(
        &mut self,
        units: &[Unit],
        opts: &RestoreOptions,
        pre_failed: &PreFailed,
        stops: &Stops,
    ) -> Vec<ComponentReport> {
        let copier = Copier {
            host: self.host,
            opts,
            spec: self.spec,
        };
        let mut reports = Vec::with_capacity(units.len());
        for u in units {
            let mut r = self.new_report(u, pre_failed);
            if let Some(e) = pre_failed.get(&u.key) {
                r.errors.push(u.who().err(Kind::PreRestore(e.clone())));
            } else if !u.problems.is_empty() {
                r.errors.extend(u.problems.iter().cloned());
            } else if self.left_alone(u) {
                r.outcome = Outcome::CustomRestoreRequired;
                r.errors.push(u.who().err(Kind::CustomRestoreRequired));
            } else if let Some(e) = service_of(self.spec, u)
                .filter(|_| u.method == RestoreMethod::StopRestoreStart)
                .and_then(|n| stops.failed.get(&n.to_uppercase()))
            {
                r.outcome = Outcome::NotRestored;
                r.errors.push(u.who().err(Kind::StopService(e.clone())));
            } else {
                self.events.push(RequesterEvent::Copy {
                    component: u.component.clone(),
                });
                copier.copy_unit(u, &mut r, &mut self.bcd);
            }
            r.status = r
                .status_history
                .last()
                .cloned()
                .unwrap_or(FileRestoreStatus::None);
            self.record_status(u, &r);
            reports.push(r);
        }
        reports
    }

    /// A unit's report before copying: status NONE, outcome "writer error" until the copy says
    /// otherwise, and the PreRestore failure of this restore or one already in the BCD.
    fn new_report(&self, u: &Unit, pre_failed: &PreFailed) -> ComponentReport {
        let pre_restore_failure = pre_failed.get(&u.key).cloned().or_else(|| {
            u.bcd_pos
                .and_then(|p| self.bcd.writers[p.0].components[p.1].restore.as_ref())
                .and_then(|s| s.pre_restore_failure.clone())
                .map(|reason| Arc::new(writer_error(u, reason)))
        });
        ComponentReport {
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
            pre_restore_failure,
            post_restore_failure: None,
            reboot_required: u.reboot_required,
        }
    }

    /// Step 5: the file restore status and the alternate mappings used, into the BCD.
    fn record_status(&mut self, u: &Unit, r: &ComponentReport) {
        let Some(pos) = u.bcd_pos.filter(|_| !self.left_alone(u)) else {
            return;
        };
        let st = state_mut(&mut self.bcd, pos);
        st.file_restore_status = Some(r.status.clone());
        for m in &r.alternate_mappings_used {
            if !st.alternate_mappings_used.contains(m) {
                st.alternate_mappings_used.push(m.clone());
            }
        }
        self.events.push(RequesterEvent::SetStatus {
            component: u.component.clone(),
            status: r.status.clone(),
        });
    }

    /// Starts what was stopped (after copying, before PostRestore); a service that does not
    /// start is an error of every unit of its writer.
    fn start_services(
        &mut self,
        stopped: &[String],
        units: &[Unit],
        reports: &mut [ComponentReport],
    ) {
        for name in stopped {
            let res = self.host.services.start(name);
            self.events.push(RequesterEvent::StartService {
                name: name.clone(),
                ok: res.is_ok(),
            });
            let Err(e) = res else { continue };
            let e = Arc::new(e);
            for (u, r) in units.iter().zip(reports.iter_mut()) {
                if service_of(self.spec, u).is_some_and(|s| s.eq_ignore_ascii_case(name)) {
                    r.errors.push(u.who().err(Kind::StartService {
                        name: name.clone(),
                        source: e.clone(),
                    }));
                }
            }
        }
    }

    /// Step 6: PostRestore, always for `always` writers; for `ifReplaceFails` writers only when
    /// the component was not fully restored.
    fn post_restore(&mut self, units: &[Unit], reports: &mut [ComponentReport]) {
        for (u, r) in units.iter().zip(reports.iter_mut()) {
            let Some(cref) = u.cref.as_ref().filter(|_| !self.left_alone(u)) else {
                continue;
            };
            let send = match u.writer_restore {
                WriterRestore::Always => true,
                WriterRestore::IfReplaceFails => r.status != FileRestoreStatus::All,
                _ => false,
            };
            if !send {
                continue;
            }
            let res = self.host.writers.post_restore(cref, to_platform(&r.status));
            self.events.push(RequesterEvent::PostRestore {
                component: u.component.clone(),
                status: r.status.clone(),
                ok: res.is_ok(),
            });
            if let Err(e) = res {
                if let Some(pos) = u.bcd_pos {
                    state_mut(&mut self.bcd, pos).post_restore_failure = Some(e.reason.clone());
                }
                let e = Arc::new(e);
                r.post_restore_failure = Some(e.clone());
                r.errors.push(u.who().err(Kind::PostRestore(e)));
            }
        }
    }

    /// RESTORE_STOP_START: stops and starts the service of each fully restored unit after
    /// PostRestore, each service once.
    fn restart_services(&mut self, units: &[Unit], reports: &mut [ComponentReport]) {
        let mut restarted: Vec<String> = Vec::new();
        for (u, r) in units.iter().zip(reports.iter_mut()) {
            if u.method != RestoreMethod::RestoreStopStart || r.status != FileRestoreStatus::All {
                continue;
            }
            let Some(name) = service_of(self.spec, u) else {
                continue;
            };
            if restarted.iter().any(|s| s.eq_ignore_ascii_case(&name)) {
                continue;
            }
            restarted.push(name.clone());
            let stop = self.host.services.stop(&name);
            self.events.push(RequesterEvent::StopService {
                name: name.clone(),
                ok: stop.is_ok(),
            });
            let start = self.host.services.start(&name);
            self.events.push(RequesterEvent::StartService {
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
    }
}

/// The service a unit's writer names in its restore method.
fn service_of(spec: &RestoreSpec<'_>, u: &Unit) -> Option<String> {
    u.writer_index
        .and_then(|i| spec.writers[i].restore_method.as_ref())
        .and_then(|r| r.service.clone())
}

/// A directed target a writer set in PreRestore, as the BCD holds it.
fn directed_target(d: platform::DirectedTargetChange) -> DirectedTarget {
    DirectedTarget {
        source_path: d.source_path,
        source_filename: d.source_filename,
        source_ranges: d.source_ranges,
        destination_path: d.destination_path,
        destination_filename: d.destination_filename,
        destination_ranges: d.destination_ranges,
        other_attributes: Vec::new(),
        other_children: Vec::new(),
    }
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

/// The restore-set input: the saved documents with the BCD as updated so far.
fn input<'a>(spec: &RestoreSpec<'a>, bcd: &'a BackupComponents) -> RestoreSetInput<'a> {
    RestoreSetInput {
        writers: spec.writers,
        bcd,
        selection: spec.selection,
        env: spec.env,
        volumes: spec.volumes,
    }
}
