//! Planning one component of a selected set: method × target rules and the writer errors
//! they give (docs/vss-restore.md §3.2).

use super::is_under;
use super::plan::{PlannedComponent, RestoreSetInput, WriterProblem};
use super::select::Unit;
use crate::bcd::RestoreState;
use crate::enums::{RestoreMethod, RestoreTarget, WriterRestore};
use crate::flags::BackupSchema;

/// Whether (path, filespec, recursive) names the file set `f` (paths without trailing
/// backslashes, both case-insensitive).
pub(super) fn same_set(a_path: &str, a_spec: &str, a_rec: bool, f: &crate::wmd::FileSet) -> bool {
    a_path
        .trim_end_matches('\\')
        .eq_ignore_ascii_case(f.path.trim_end_matches('\\'))
        && a_spec.eq_ignore_ascii_case(&f.filespec)
        && a_rec == f.is_recursive()
}

/// Plans component `ci` of unit `u`'s set (whose root component is at `root`): its method,
/// writer participation, target and the writer errors that stop its files from being planned
/// (docs/vss-restore.md §3.2).
pub(super) fn plan_component(
    input: &RestoreSetInput<'_>,
    u: &Unit,
    ci: usize,
    root: &str,
    state: Option<&RestoreState>,
) -> PlannedComponent {
    let doc = &input.writers[u.writer];
    let c = &doc.components[ci];
    let rm = doc.restore_method.as_ref();
    let method = doc.method();
    let writer_restore = rm.map_or(WriterRestore::Undefined, |r| r.writer_restore.clone());
    let target = state
        .and_then(|s| s.restore_target.clone())
        .unwrap_or(RestoreTarget::Original);
    let mut problems = Vec::new();
    match &method {
        RestoreMethod::Undefined => problems.push(WriterProblem::UndefinedMethod),
        RestoreMethod::Unrecognised(m) => {
            problems.push(WriterProblem::UnrecognisedMethod(m.clone()));
        }
        _ => {}
    }
    if rm.is_some()
        && !matches!(
            writer_restore,
            WriterRestore::Never | WriterRestore::IfReplaceFails | WriterRestore::Always
        )
    {
        problems.push(WriterProblem::BadWriterRestore(
            writer_restore.as_xml().to_owned(),
        ));
    }
    match &target {
        RestoreTarget::Undefined => problems.push(WriterProblem::UndefinedTarget),
        RestoreTarget::Unrecognised(t) => {
            problems.push(WriterProblem::UnrecognisedTarget(t.clone()));
        }
        RestoreTarget::Directed if state.is_none_or(|s| s.directed_targets.is_empty()) => {
            problems.push(WriterProblem::DirectedWithoutTargets);
        }
        _ => {}
    }
    if needs_mapping(&method, &target) {
        for f in &c.file_sets {
            let mapped = doc
                .alternate_mappings
                .iter()
                .any(|m| same_set(&m.path, &m.filespec, m.recursive.unwrap_or(false), f));
            if !mapped {
                problems.push(WriterProblem::NoAlternateMapping {
                    path: f.path.clone(),
                    filespec: f.filespec.clone(),
                });
            }
        }
    }
    if let Some(s) = state {
        let supports = doc
            .backup_schema
            .is_some_and(|b| b.contains(BackupSchema::WRITER_SUPPORTS_NEW_TARGET));
        // New targets of the set-defining component; each must name a file set of the set.
        let set_files: Vec<&crate::wmd::FileSet> = doc
            .components
            .iter()
            .filter(|x| is_under(&x.full_path(), root))
            .flat_map(|x| x.file_sets.iter())
            .collect();
        for t in &s.new_targets {
            if !supports && !problems.contains(&WriterProblem::NewTargetNotSupported) {
                problems.push(WriterProblem::NewTargetNotSupported);
            }
            let rec = t.recursive.unwrap_or(false);
            if !set_files
                .iter()
                .any(|f| same_set(&t.path, &t.filespec, rec, f))
            {
                problems.push(WriterProblem::NewTargetWithoutFileSet {
                    path: t.path.clone(),
                    filespec: t.filespec.clone(),
                });
            }
        }
    }
    PlannedComponent {
        writer: doc.display_name(),
        writer_id: doc.identification.as_ref().map(|i| i.writer_id),
        writer_index: Some(u.writer),
        component_index: Some(ci),
        component: c.full_path(),
        selected_as: if u.subcomponent {
            u.bcd.map_or_else(
                || root.to_owned(),
                |(bw, bc)| input.bcd.writers[bw].components[bc].full_path(),
            )
        } else {
            root.to_owned()
        },
        subcomponent: u.subcomponent,
        method,
        writer_restore,
        reboot_required: rm.and_then(|r| r.reboot_required).unwrap_or(false),
        target,
        problems,
        files: 0,
    }
}

/// Whether files must go to their alternate mapping: target ALTERNATE, or
/// RESTORE_TO_ALTERNATE_LOCATION with the original target.
pub(super) fn needs_mapping(method: &RestoreMethod, target: &RestoreTarget) -> bool {
    matches!(target, RestoreTarget::Alternate)
        || (matches!(method, RestoreMethod::RestoreToAlternateLocation)
            && matches!(target, RestoreTarget::Original))
}
