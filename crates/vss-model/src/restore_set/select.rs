//! Passes 1 and 2 of generation: which WMD each BCD writer is, the explicit (backed-up)
//! components, and the selection (units: component sets to restore).

use super::is_under;
use super::plan::{PlannedComponent, RestoreSetError, RestoreSetInput, WriterProblem};
use crate::bcd::{BackupComponents, BcdComponent, RestoreState};
use crate::enums::{RestoreMethod, RestoreTarget, WriterRestore};
use crate::guid::Guid;
use crate::wmd::WriterMetadata;

/// A selected unit: a component set to restore.
pub(super) struct Unit {
    /// Index of the WMD.
    pub(super) writer: usize,
    /// (writer, component) in the BCD of the explicit component it was selected through.
    pub(super) bcd: Option<(usize, usize)>,
    /// Index in the WMD of the component whose set this is.
    pub(super) root_component: usize,
    /// Whether it was selected as a component inside an explicit one's set.
    pub(super) subcomponent: bool,
}

/// An explicit component: (BCD writer, BCD component, WMD, WMD component).
pub(super) type Explicit = (usize, usize, usize, usize);

/// BCD components that cannot be planned, with their full paths.
pub(super) type Problems = Vec<(String, PlannedComponent)>;

/// Pass 1: which WMD each BCD writer is, and the explicit (backed-up) components. BCD
/// components that cannot be planned (no WMD, or not in it) are returned with their paths, to
/// be reported only when selected (all of them when nothing is selected), never processed.
pub(super) fn explicit_components(input: &RestoreSetInput<'_>) -> (Vec<Explicit>, Problems) {
    let mut explicit: Vec<Explicit> = Vec::new();
    let mut problems: Problems = Vec::new();
    for (bw, w) in input.bcd.writers.iter().enumerate() {
        let wmd = find_wmd(input.writers, w.instance_id, w.writer_id);
        for (bc, c) in w.components.iter().enumerate() {
            let Some(wi) = wmd else {
                problems.push((
                    c.full_path(),
                    problem_component(
                        w.instance_name
                            .clone()
                            .unwrap_or_else(|| w.writer_id.to_string()),
                        Some(w.writer_id),
                        c,
                        WriterProblem::NoWriterMetadata,
                    ),
                ));
                continue;
            };
            let doc = &input.writers[wi];
            let found = doc
                .components
                .iter()
                .position(|x| x.full_path().eq_ignore_ascii_case(&c.full_path()));
            match found {
                Some(ci) => explicit.push((bw, bc, wi, ci)),
                None => problems.push((
                    c.full_path(),
                    problem_component(
                        doc.display_name(),
                        Some(w.writer_id),
                        c,
                        WriterProblem::ComponentNotInMetadata,
                    ),
                )),
            }
        }
    }
    (explicit, problems)
}

/// Pass 2: the units to restore, from the user's selection or, when it is empty, from the BCD
/// (every explicit component, or those its restore state marks selected, with the
/// subcomponents it names). Components that cannot be selected are pushed to `components`;
/// the problems of pass 1 that were selected follow them.
pub(super) fn select(
    input: &RestoreSetInput<'_>,
    explicit: &[Explicit],
    problems: Problems,
    components: &mut Vec<PlannedComponent>,
) -> Result<Vec<Unit>, RestoreSetError> {
    let mut units: Vec<Unit> = Vec::new();
    if input.selection.is_empty() {
        select_default(input, explicit, &mut units, components);
    } else {
        for sel in input.selection {
            if !select_one(input, explicit, sel, &mut units, components)
                && !problems
                    .iter()
                    .any(|(p, _)| is_under(p, sel.trim().trim_matches('\\')))
            {
                return Err(RestoreSetError::SelectionNotFound {
                    selection: sel.clone(),
                });
            }
        }
    }
    let selected_problem = |path: &str| {
        input.selection.is_empty()
            || input
                .selection
                .iter()
                .any(|sel| is_under(path, sel.trim().trim_matches('\\')))
    };
    components.extend(
        problems
            .into_iter()
            .filter(|(p, _)| selected_problem(p))
            .map(|(_, c)| c),
    );
    Ok(units)
}

/// The default selection: every explicit component, or only those the BCD's restore state
/// marks selected if any is marked; a component naming subcomponents selects those instead.
fn select_default(
    input: &RestoreSetInput<'_>,
    explicit: &[Explicit],
    units: &mut Vec<Unit>,
    components: &mut Vec<PlannedComponent>,
) {
    let any_marked = explicit.iter().any(|(bw, bc, _, _)| {
        restore_state(input.bcd, *bw, *bc).is_some_and(|r| r.selected_for_restore.is_some())
    });
    for &(bw, bc, wi, ci) in explicit {
        let state = restore_state(input.bcd, bw, bc);
        if any_marked && state.and_then(|r| r.selected_for_restore) != Some(true) {
            continue;
        }
        let subs = state
            .map(|r| r.subcomponents.as_slice())
            .unwrap_or_default();
        if subs.is_empty() {
            units.push(Unit {
                writer: wi,
                bcd: Some((bw, bc)),
                root_component: ci,
                subcomponent: false,
            });
        }
        for s in subs {
            let path = crate::wmd::full_path(s.logical_path.as_deref(), &s.component_name);
            select_subcomponent(input, units, components, (bw, bc, wi, ci), &path);
        }
    }
}

/// One selection (a component logical path): every explicit component under it, or else the
/// component it names inside an explicit one's set. Returns whether it matched.
fn select_one(
    input: &RestoreSetInput<'_>,
    explicit: &[Explicit],
    sel: &str,
    units: &mut Vec<Unit>,
    components: &mut Vec<PlannedComponent>,
) -> bool {
    let sel_t = sel.trim().trim_matches('\\');
    let mut hit = false;
    for &(bw, bc, wi, ci) in explicit {
        let path = input.writers[wi].components[ci].full_path();
        if is_under(&path, sel_t) {
            hit = true;
            units.push(Unit {
                writer: wi,
                bcd: Some((bw, bc)),
                root_component: ci,
                subcomponent: false,
            });
        }
    }
    if hit {
        return true;
    }
    // A component inside the set of an explicitly included one.
    for &e in explicit {
        let (_, _, wi, ci) = e;
        let root = input.writers[wi].components[ci].full_path();
        if is_under(sel_t, &root)
            && input.writers[wi]
                .components
                .iter()
                .any(|c| c.full_path().eq_ignore_ascii_case(sel_t))
        {
            select_subcomponent(input, units, components, e, sel_t);
            return true;
        }
    }
    false
}

/// The WMD of a BCD writer: by instance id, else the only WMD of its writer class.
fn find_wmd(writers: &[WriterMetadata], instance: Option<Guid>, writer: Guid) -> Option<usize> {
    if let Some(inst) = instance
        && let Some(i) = writers.iter().position(|w| {
            w.identification
                .as_ref()
                .is_some_and(|id| id.instance_id == Some(inst))
        })
    {
        return Some(i);
    }
    let mut same = writers.iter().enumerate().filter(|(_, w)| {
        w.identification
            .as_ref()
            .is_some_and(|id| id.writer_id == writer)
    });
    match (same.next(), same.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

/// The restore state of BCD component `bc` of writer `bw`.
pub(super) fn restore_state(bcd: &BackupComponents, bw: usize, bc: usize) -> Option<&RestoreState> {
    bcd.writers.get(bw)?.components.get(bc)?.restore.as_ref()
}

/// A planned component that only carries `problem` (its files are not planned).
fn problem_component(
    writer: String,
    writer_id: Option<Guid>,
    c: &BcdComponent,
    problem: WriterProblem,
) -> PlannedComponent {
    PlannedComponent {
        writer,
        writer_id,
        writer_index: None,
        component_index: None,
        component: c.full_path(),
        selected_as: c.full_path(),
        subcomponent: false,
        method: RestoreMethod::Undefined,
        writer_restore: WriterRestore::Undefined,
        reboot_required: false,
        target: RestoreTarget::Original,
        problems: vec![problem],
        files: 0,
    }
}

/// Selects the component at `path` inside the set of the explicit component `(bw, bc, wi, _)`:
/// a unit if it is selectable for restore, otherwise a component reporting why not.
fn select_subcomponent(
    input: &RestoreSetInput<'_>,
    units: &mut Vec<Unit>,
    components: &mut Vec<PlannedComponent>,
    (bw, bc, wi, _ci): Explicit,
    path: &str,
) {
    let doc = &input.writers[wi];
    let Some(sub) = doc
        .components
        .iter()
        .position(|c| c.full_path().eq_ignore_ascii_case(path))
    else {
        let bcd_c = &input.bcd.writers[bw].components[bc];
        let mut pc = problem_component(
            doc.display_name(),
            doc.identification.as_ref().map(|i| i.writer_id),
            bcd_c,
            WriterProblem::ComponentNotInMetadata,
        );
        path.clone_into(&mut pc.component);
        pc.subcomponent = true;
        components.push(pc);
        return;
    };
    if doc.components[sub].is_selectable_for_restore() {
        units.push(Unit {
            writer: wi,
            bcd: Some((bw, bc)),
            root_component: sub,
            subcomponent: true,
        });
    } else {
        let bcd_c = &input.bcd.writers[bw].components[bc];
        let mut pc = problem_component(
            doc.display_name(),
            doc.identification.as_ref().map(|i| i.writer_id),
            bcd_c,
            WriterProblem::NotSelectableForRestore,
        );
        pc.component = doc.components[sub].full_path();
        pc.subcomponent = true;
        pc.writer_index = Some(wi);
        pc.component_index = Some(sub);
        components.push(pc);
    }
}

/// The restore state a planned component obeys: that of the BCD component it was selected as.
pub(super) fn pc_state<'a>(
    input: &RestoreSetInput<'a>,
    pc: &PlannedComponent,
) -> Option<&'a RestoreState> {
    let wi = pc.writer_index?;
    let doc = &input.writers[wi];
    let id = doc.identification.as_ref()?;
    // The state lives on the BCD component the set was selected as.
    input.bcd.writers.iter().find_map(|w| {
        let same = w
            .instance_id
            .map_or(w.writer_id == id.writer_id, |i| Some(i) == id.instance_id);
        if !same {
            return None;
        }
        w.components
            .iter()
            .find(|c| c.full_path().eq_ignore_ascii_case(&pc.selected_as))
            .and_then(|c| c.restore.as_ref())
    })
}
