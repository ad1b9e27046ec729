//! Units: the restore plan grouped by explicitly selected component. A component selected
//! with its subcomponents is one unit: its files and those of every subcomponent are restored,
//! committed or rolled back together, and reported as one component.

use platform::ComponentRef;
use vss_model::bcd::RestoreState;
use vss_model::ranges::PartialRanges;
use vss_model::restore_set::{Destination, Disposition, RestorePlan};
use vss_model::{
    BackupComponents, FileRestoreStatus, Guid, RestoreMethod, RestoreTarget, WriterMetadata,
    WriterRestore,
};

use super::RestoreSpec;
use crate::error::{ComponentError, ComponentErrorKind as Kind, FileError};

/// One file of a unit, as the restore plan places it.
#[derive(Debug, Clone)]
pub(super) struct PlannedFile {
    /// Original path (as the backup's catalog names it).
    pub(super) source: String,
    /// Index of its component in the writer's WMD (`None`: not from a WMD component).
    pub(super) wmd_component: Option<usize>,
    /// Index of the file set within that component.
    pub(super) file_set: usize,
    /// Where it goes.
    pub(super) destination: Destination,
    /// The alternate location to use when the destination cannot be replaced.
    pub(super) fallback: Option<String>,
    /// The ranges to restore, for a partial file.
    pub(super) partial: Option<PartialRanges>,
}

/// An explicitly selected component with everything restored as part of it.
#[derive(Debug, Clone)]
pub(super) struct Unit {
    /// Writer (id or name) and selected path, lower case: units are merged by it.
    pub(super) key: String,
    /// Writer name.
    pub(super) writer: String,
    /// Writer class id.
    pub(super) writer_id: Option<Guid>,
    /// Index of the writer's WMD in [`RestoreSpec::writers`].
    pub(super) writer_index: Option<usize>,
    /// The selected component's full path.
    pub(super) component: String,
    /// The component as writers see it (PreRestore / PostRestore).
    pub(super) cref: Option<ComponentRef>,
    /// (writer, component) position in the BCD.
    pub(super) bcd_pos: Option<(usize, usize)>,
    /// Restore method.
    pub(super) method: RestoreMethod,
    /// When the writer takes part (PreRestore / PostRestore).
    pub(super) writer_restore: WriterRestore,
    /// Restore target.
    pub(super) target: RestoreTarget,
    /// Whether the writer asks for a reboot after the restore.
    pub(super) reboot_required: bool,
    /// Writer errors found before copying: the unit is not copied.
    pub(super) problems: Vec<ComponentError>,
    /// Its files.
    pub(super) files: Vec<PlannedFile>,
}

impl Unit {
    /// The component and writer its errors name.
    pub(super) fn who(&self) -> Who<'_> {
        Who {
            component: &self.component,
            writer: &self.writer,
        }
    }
}

/// The component errors are about.
#[derive(Debug, Clone, Copy)]
pub(super) struct Who<'a> {
    pub(super) component: &'a str,
    pub(super) writer: &'a str,
}

impl Who<'_> {
    /// A component error of this kind.
    pub(super) fn err(self, kind: Kind) -> ComponentError {
        ComponentError {
            component: self.component.to_owned(),
            writer: self.writer.to_owned(),
            kind: Box::new(kind),
        }
    }

    /// A component error about one file.
    pub(super) fn file(self, path: &str, source: FileError) -> ComponentError {
        self.err(Kind::File {
            path: path.to_owned(),
            source,
        })
    }
}

/// The (writer, component) position in the BCD of the component at `path` of a writer.
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

/// Groups a restore plan into units; also returns the catalog files no writer claims (this
/// executor does not restore them).
pub(super) fn build_units(
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

/// The restore state of the BCD component at `pos`, created if missing.
pub(super) fn state_mut(bcd: &mut BackupComponents, pos: (usize, usize)) -> &mut RestoreState {
    bcd.writers[pos.0].components[pos.1]
        .restore
        .get_or_insert_with(RestoreState::default)
}

/// A file restore status as writers are told it.
pub(super) fn to_platform(s: &FileRestoreStatus) -> platform::FileRestoreStatus {
    match s {
        FileRestoreStatus::None => platform::FileRestoreStatus::None,
        FileRestoreStatus::All => platform::FileRestoreStatus::All,
        FileRestoreStatus::Failed => platform::FileRestoreStatus::Failed,
        _ => platform::FileRestoreStatus::Undefined,
    }
}
