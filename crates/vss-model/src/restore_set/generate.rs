//! [`generate`]: the passes of restore-set generation, in order.
//!
//! 1. which WMD each BCD writer is, and the explicit components ([`explicit_components`]);
//! 2. the selection: units, each a component set to restore ([`select`]);
//! 3. the members of each unit's set, planned ([`plan_members`]);
//! 4. every exclusion and every file set into the spec index ([`index_exclusions`],
//!    [`index_file_sets`]), and each planned component's partial files and directed targets
//!    ([`FileRanges::collect`]);
//! 5. every catalog file's disposition ([`Classifier`]).

use std::collections::{HashMap, HashSet};

use super::classify::Classifier;
use super::component::plan_component;
use super::index::{Index, Owner, Spec};
use super::is_under;
use super::paths::{drive_of, file_key, is_sound_path};
use super::plan::{
    CatalogEntry, ExclusionRef, PlannedComponent, RestorePlan, RestoreSetError, RestoreSetInput,
    WriterProblem,
};
use super::select::{Unit, explicit_components, pc_state, restore_state, select};
use crate::bcd::RestoreState;
use crate::ranges::{PartialRanges, classify_ranges};
use crate::wildcard::Pattern;

/// Volume-GUID key (`volume{guid}`) → drive key (`c:`).
pub(super) type VolumeMap = HashMap<String, String>;

/// Generates the restore set for `catalog`.
pub fn generate(
    input: &RestoreSetInput<'_>,
    catalog: &[CatalogEntry<'_>],
) -> Result<RestorePlan, RestoreSetError> {
    let volumes: VolumeMap = input
        .volumes
        .iter()
        .map(|(g, d)| {
            (
                format!("volume{{{g}}}"),
                d.trim_end_matches('\\').to_ascii_lowercase(),
            )
        })
        .collect();
    let catalog_drives: HashSet<String> = catalog
        .iter()
        .filter_map(|e| drive_of(e.path, &volumes))
        .collect();

    let mut components: Vec<PlannedComponent> = Vec::new();
    // 1. Which WMD each BCD writer is; explicit (backed-up) components.
    let (explicit, problems) = explicit_components(input);
    // 2. The selection.
    let mut units = select(input, &explicit, problems, &mut components)?;
    // 3. Members of each unit's set; deeper units claim their own members.
    let member_of = plan_members(input, &mut units, &mut components);
    // 4. Index every exclusion and every file set.
    let mut index = Index::new();
    let exclusions = index_exclusions(input, &volumes, &mut index)?;
    let sets = FileSets {
        input,
        volumes: &volumes,
        catalog_drives: &catalog_drives,
        member_of: &member_of,
    };
    sets.index(&mut components, &mut index)?;
    // The restore state each planned component obeys (that of the component it was selected as).
    let states: Vec<Option<&RestoreState>> =
        components.iter().map(|pc| pc_state(input, pc)).collect();
    let ranges = FileRanges::collect(&mut components, &states, &volumes);

    // 5. Every catalog file.
    let mut classifier = Classifier::new(input, &index, &volumes, &states, &ranges);
    let files = catalog
        .iter()
        .map(|entry| classifier.classify(entry, &mut components))
        .collect();

    Ok(RestorePlan {
        components,
        files,
        exclusions,
    })
}

/// Pass 3: plans every member of each unit's set (the unit's root component and every
/// component of the same writer under it). Units are taken shallowest first, so a deeper unit
/// planned later takes its members over. Returns (WMD, component) → planned index.
fn plan_members(
    input: &RestoreSetInput<'_>,
    units: &mut [Unit],
    components: &mut Vec<PlannedComponent>,
) -> HashMap<(usize, usize), usize> {
    let mut member_of = HashMap::new();
    units.sort_by_key(|u| {
        input.writers[u.writer].components[u.root_component]
            .full_path()
            .matches('\\')
            .count()
    });
    for u in units.iter() {
        let doc = &input.writers[u.writer];
        let root = doc.components[u.root_component].full_path();
        let state = u.bcd.and_then(|(bw, bc)| restore_state(input.bcd, bw, bc));
        for (ci, c) in doc.components.iter().enumerate() {
            if !is_under(&c.full_path(), &root) {
                continue;
            }
            let planned = plan_component(input, u, ci, &root, state);
            let idx = components.len();
            components.push(planned);
            // A deeper set takes over; the shallower entry keeps no files.
            member_of.insert((u.writer, ci), idx);
        }
    }
    member_of
}

/// Pass 4a: every writer's exclusions (`EXCLUDE_FILES`, `EXCLUDE_FILES_FROM_SNAPSHOT`) into
/// the index. Returns them in id order, as the plan reports them.
fn index_exclusions(
    input: &RestoreSetInput<'_>,
    volumes: &VolumeMap,
    index: &mut Index,
) -> Result<Vec<ExclusionRef>, RestoreSetError> {
    let mut exclusions = Vec::new();
    for doc in input.writers {
        let name = doc.display_name();
        for (element, list) in [
            ("EXCLUDE_FILES", &doc.excludes),
            ("EXCLUDE_FILES_FROM_SNAPSHOT", &doc.excludes_from_snapshot),
        ] {
            for x in list {
                let path = input.env.expand(&x.path).map_err(|source| {
                    RestoreSetError::UnknownVariable {
                        writer: name.clone(),
                        source,
                    }
                })?;
                let id = exclusions.len();
                exclusions.push(ExclusionRef {
                    writer: name.clone(),
                    element,
                    path: x.path.clone(),
                    filespec: x.filespec.clone(),
                    recursive: x.is_recursive(),
                });
                index.add(
                    &path,
                    Spec {
                        owner: Owner::Exclusion(id),
                        pattern: Pattern::new(&x.filespec),
                        depth: 0,
                        planned: None,
                        expanded: None,
                    },
                    x.is_recursive(),
                    volumes,
                );
            }
        }
    }
    Ok(exclusions)
}

/// What pass 4b needs to index the file sets.
struct FileSets<'r, 'a> {
    input: &'r RestoreSetInput<'a>,
    volumes: &'r VolumeMap,
    /// Drives of which the catalog holds a file.
    catalog_drives: &'r HashSet<String>,
    /// (WMD, component) → planned index, for members of selected sets.
    member_of: &'r HashMap<(usize, usize), usize>,
}

impl FileSets<'_, '_> {
    /// Pass 4b: every file set of every WMD component into the index. A file set of a planned
    /// component on a drive the catalog lacks, or with an unsound path, is a writer error of
    /// that component instead.
    fn index(
        &self,
        components: &mut [PlannedComponent],
        index: &mut Index,
    ) -> Result<(), RestoreSetError> {
        for (wi, doc) in self.input.writers.iter().enumerate() {
            for (ci, c) in doc.components.iter().enumerate() {
                for (fi, f) in c.file_sets.iter().enumerate() {
                    let path = self.input.env.expand(&f.path).map_err(|source| {
                        RestoreSetError::UnknownVariable {
                            writer: doc.display_name(),
                            source,
                        }
                    })?;
                    let planned = self.member_of.get(&(wi, ci)).copied();
                    if let Some(pi) = planned
                        && let Some(problem) = self.problem(&f.path, &path)
                    {
                        if !components[pi].problems.contains(&problem) {
                            components[pi].problems.push(problem);
                        }
                        continue;
                    }
                    index.add(
                        &path,
                        Spec {
                            owner: Owner::FileSet {
                                writer: wi,
                                component: ci,
                                file_set: fi,
                            },
                            pattern: Pattern::new(&f.filespec),
                            depth: 0,
                            planned,
                            expanded: planned.map(|_| path.clone()),
                        },
                        f.is_recursive(),
                        self.volumes,
                    );
                }
            }
        }
        Ok(())
    }

    /// Why a planned component's file set (`raw` as the WMD gives it, `path` expanded) cannot
    /// be restored: on a drive of which the catalog holds no file, or not a sound path.
    fn problem(&self, raw: &str, path: &str) -> Option<WriterProblem> {
        // (A catalog with no file at all is a plan without a backup: nothing to compare.)
        if !self.catalog_drives.is_empty()
            && let Some(drive) = drive_of(path, self.volumes)
            && !self.catalog_drives.contains(&drive)
        {
            return Some(WriterProblem::FileSetOnAbsentDrive {
                expanded: path.to_owned(),
                drive,
            });
        }
        (!is_sound_path(path)).then(|| WriterProblem::InvalidFileSetPath {
            path: raw.to_owned(),
            expanded: path.to_owned(),
        })
    }
}

/// Partial files and directed targets per planned component, by normalised file key.
pub(super) struct FileRanges {
    /// (planned index, file key) → the ranges restored.
    pub(super) partial: HashMap<(usize, String), PartialRanges>,
    /// (planned index, file key) → (destination path, source ranges, destination ranges).
    pub(super) directed: HashMap<(usize, String), (String, String, String)>,
}

impl FileRanges {
    /// Pass 4c: the partial files and directed targets of each planned component's restore
    /// state. Ranges that do not parse are a writer error of the component.
    fn collect(
        components: &mut [PlannedComponent],
        states: &[Option<&RestoreState>],
        volumes: &VolumeMap,
    ) -> Self {
        let mut partial = HashMap::new();
        let mut directed = HashMap::new();
        for (pi, pc) in components.iter_mut().enumerate() {
            let Some(state) = states[pi] else {
                continue;
            };
            for p in &state.partial_files {
                let key = file_key(&format!("{}\\{}", p.path, p.filename), volumes);
                match classify_ranges(&p.ranges) {
                    Ok(r) => {
                        partial.insert((pi, key), r);
                    }
                    Err(e) => pc.problems.push(WriterProblem::BadPartialRanges {
                        file: format!("{}\\{}", p.path.trim_end_matches('\\'), p.filename),
                        error: e.to_string(),
                    }),
                }
            }
            for d in &state.directed_targets {
                let key = file_key(
                    &format!("{}\\{}", d.source_path, d.source_filename),
                    volumes,
                );
                let dest = format!(
                    "{}\\{}",
                    d.destination_path.trim_end_matches('\\'),
                    d.destination_filename
                );
                directed.insert(
                    (pi, key),
                    (dest, d.source_ranges.clone(), d.destination_ranges.clone()),
                );
            }
        }
        Self { partial, directed }
    }

    /// Whether no file has ranges (the common case: no file key is needed).
    pub(super) fn is_empty(&self) -> bool {
        self.partial.is_empty() && self.directed.is_empty()
    }
}
