//! Pass 5 of generation: each catalog file's disposition. A path is split into reused
//! buffers, the spec trie is walked along its directory, and its name (and 8.3 short name) is
//! looked up in the buckets found; the earliest matching exclusion wins, then the earliest
//! file set of a component being restored, then any other file set.

use std::collections::HashMap;

use super::component::{needs_mapping, same_set};
use super::generate::{FileRanges, VolumeMap};
use super::index::{FastHash, Index, Owner};
use super::paths::{file_key, push_lower, split_ranges};
use super::plan::{
    CatalogEntry, Destination, DirectedDestination, Disposition, PlannedComponent, RestoreSetInput,
};
use crate::bcd::RestoreState;
use crate::enums::{RestoreMethod, RestoreTarget};

/// Classifies catalog files one by one, reusing its buffers (no allocation per path beyond
/// what a disposition carries).
pub(super) struct Classifier<'r, 'a, 'c> {
    input: &'r RestoreSetInput<'a>,
    index: &'r Index,
    volumes: &'r VolumeMap,
    /// The restore state each planned component obeys.
    states: &'r [Option<&'a RestoreState>],
    ranges: &'r FileRanges,
    /// The lower-cased short name of the current file (empty if none).
    short_buf: String,
    /// The current file's volume key.
    volume_buf: String,
    /// The path's segments as byte ranges of the path.
    seg_ranges: Vec<(usize, usize)>,
    /// The path lower-cased, and its segments as byte ranges of it.
    low: String,
    low_ranges: Vec<(usize, usize)>,
    /// Buckets relevant to the current file's directory.
    relevant: Vec<(u32, bool)>,
    /// The path's segments, for remapping.
    segs: Vec<&'c str>,
    /// The abs-trie node of the last volume seen (catalogs rarely change volume).
    last_volume: String,
    last_node: Option<u32>,
}

/// The earliest matching spec of each kind.
#[derive(Default)]
struct Best {
    excl: Option<u32>,
    sel: Option<u32>,
    any: Option<u32>,
}

impl Best {
    /// Counts spec `id` as a match.
    fn consider(&mut self, index: &Index, id: u32) {
        let spec = &index.specs[id as usize];
        let slot = match spec.owner {
            Owner::Exclusion(_) => &mut self.excl,
            Owner::FileSet { .. } if spec.planned.is_some() => &mut self.sel,
            Owner::FileSet { .. } => &mut self.any,
        };
        if slot.is_none_or(|b| id < b) {
            *slot = Some(id);
        }
    }
}

impl<'r, 'a, 'c> Classifier<'r, 'a, 'c> {
    /// A classifier over the index and tables of passes 1 to 4.
    pub(super) fn new(
        input: &'r RestoreSetInput<'a>,
        index: &'r Index,
        volumes: &'r VolumeMap,
        states: &'r [Option<&'a RestoreState>],
        ranges: &'r FileRanges,
    ) -> Self {
        let last_volume = String::new();
        let last_node = index.volume_node(&last_volume);
        Self {
            input,
            index,
            volumes,
            states,
            ranges,
            short_buf: String::new(),
            volume_buf: String::new(),
            seg_ranges: Vec::new(),
            low: String::new(),
            low_ranges: Vec::new(),
            relevant: Vec::new(),
            segs: Vec::new(),
            last_volume,
            last_node,
        }
    }

    /// The disposition of one catalog file; counts it in its planned component.
    pub(super) fn classify(
        &mut self,
        entry: &CatalogEntry<'c>,
        components: &mut [PlannedComponent],
    ) -> Disposition {
        let Some(best) = self.matches(entry) else {
            return Disposition::Traditional;
        };
        if let Some(x) = best.excl {
            match self.index.specs[x as usize].owner {
                Owner::Exclusion(e) => Disposition::Excluded { exclusion: e },
                Owner::FileSet { .. } => Disposition::Traditional,
            }
        } else if let Some(s) = best.sel {
            self.restore(entry, s, components)
        } else if let Some(a) = best.any {
            match self.index.specs[a as usize].owner {
                Owner::FileSet {
                    writer, component, ..
                } => Disposition::NotSelected {
                    writer: self.input.writers[writer].display_name(),
                    component: self.input.writers[writer].components[component].full_path(),
                },
                Owner::Exclusion(_) => Disposition::Traditional,
            }
        } else {
            Disposition::Traditional
        }
    }

    /// Splits and lower-cases the path, then finds the specs matching it (`None`: a path with
    /// no segment).
    fn matches(&mut self, entry: &CatalogEntry<'_>) -> Option<Best> {
        split_ranges(entry.path, &mut self.volume_buf, &mut self.seg_ranges);
        if self.seg_ranges.is_empty() {
            return None;
        }
        self.low.clear();
        self.low_ranges.clear();
        if entry.path.is_ascii() {
            // ASCII lower-casing keeps every byte in place: lower the whole path once.
            self.low.push_str(entry.path);
            self.low.make_ascii_lowercase();
            self.low_ranges.extend_from_slice(&self.seg_ranges);
        } else {
            for &(a, b) in &self.seg_ranges {
                let start = self.low.len();
                push_lower(&mut self.low, &entry.path[a..b]);
                self.low_ranges.push((start, self.low.len()));
            }
        }
        let (&(name_a, name_b), dir_ranges) = self.low_ranges.split_last()?;
        let name_lower = &self.low[name_a..name_b];
        let volume = self
            .volumes
            .get(self.volume_buf.as_str())
            .map_or(self.volume_buf.as_str(), String::as_str);
        if volume != self.last_volume {
            volume.clone_into(&mut self.last_volume);
            self.last_node = self.index.volume_node(volume);
        }
        let index = self.index;
        index.relevant(self.last_node, &self.low, dir_ranges, &mut self.relevant);
        self.short_buf.clear();
        if let Some(s) = entry.short_name {
            push_lower(&mut self.short_buf, s);
        }
        let short = self.short_buf.as_str();
        let mut best = Best::default();
        let mut scan = |lit: &HashMap<String, Vec<u32>, FastHash>, wild: &[u32]| {
            if let Some(ids) = lit.get(name_lower) {
                for &i in ids {
                    best.consider(index, i);
                }
            }
            if !short.is_empty()
                && let Some(ids) = lit.get(short)
            {
                for &i in ids {
                    best.consider(index, i);
                }
            }
            for &i in wild {
                let p = &index.specs[i as usize].pattern;
                if p.matches_lower(name_lower) || (!short.is_empty() && p.matches_lower(short)) {
                    best.consider(index, i);
                }
            }
        };
        for &(b, here) in &self.relevant {
            let bucket = &index.buckets[b as usize];
            if here {
                scan(&bucket.here_literal, &bucket.here_wild);
            }
            scan(&bucket.rec_literal, &bucket.rec_wild);
        }
        Some(best)
    }

    /// The disposition of a file whose best match is spec `s`, a file set of a planned
    /// component: restored (with its destination, fallback and ranges), or a writer error
    /// when the component has one.
    fn restore(
        &mut self,
        entry: &CatalogEntry<'c>,
        s: u32,
        components: &mut [PlannedComponent],
    ) -> Disposition {
        let index = self.index;
        let spec = &index.specs[s as usize];
        let (
            Owner::FileSet {
                writer,
                component,
                file_set,
            },
            Some(pi),
        ) = (spec.owner, spec.planned)
        else {
            return Disposition::WriterError {
                component: spec.planned.unwrap_or_default(),
            };
        };
        if !components[pi].problems.is_empty() {
            return Disposition::WriterError { component: pi };
        }
        components[pi].files += 1;
        let base = spec.expanded.as_deref().unwrap_or_default();
        let key = if self.ranges.is_empty() {
            String::new()
        } else {
            file_key(entry.path, self.volumes)
        };
        self.segs.clear();
        self.segs
            .extend(self.seg_ranges.iter().map(|&(a, b)| &entry.path[a..b]));
        let pos = Placement {
            input: self.input,
            writer,
            component,
            file_set,
            expanded_path: base,
            depth: spec.depth,
            segments: &self.segs,
        };
        let (destination, fallback) = destination(
            &pos,
            &components[pi],
            self.states[pi],
            self.ranges.directed.get(&(pi, key.clone())),
        );
        Disposition::Restore {
            component: pi,
            file_set,
            destination,
            fallback,
            partial: self.ranges.partial.get(&(pi, key)).cloned().map(Box::new),
        }
    }
}

/// Where a file sits relative to the file set that claims it.
struct Placement<'a> {
    input: &'a RestoreSetInput<'a>,
    writer: usize,
    component: usize,
    file_set: usize,
    expanded_path: &'a str,
    depth: usize,
    segments: &'a [&'a str],
}

/// `base` + the file's path below its file set's directory (docs/vss-restore.md §3.6: the mapping replaces
/// the path prefix, keeping subdirectories and the file name).
fn remap(base: &str, p: &Placement<'_>) -> String {
    let _ = p.expanded_path;
    let mut out = base.trim_end_matches('\\').to_owned();
    for s in p.segments.iter().skip(p.depth) {
        out.push('\\');
        out.push_str(s);
    }
    out
}

/// Where a claimed file goes, and the alternate location to fall back on (docs/vss-restore.md §3.2, §3.6):
/// a directed target, a new target, the alternate mapping when one is required, else the
/// original location, with the mapping as fallback for RESTORE_IF_NOT_THERE and
/// RESTORE_IF_CAN_REPLACE.
fn destination(
    p: &Placement<'_>,
    pc: &PlannedComponent,
    state: Option<&RestoreState>,
    directed: Option<&(String, String, String)>,
) -> (Destination, Option<String>) {
    let doc = &p.input.writers[p.writer];
    let f = &doc.components[p.component].file_sets[p.file_set];
    if matches!(pc.target, RestoreTarget::Directed)
        && let Some((path, s, d)) = directed
    {
        return (
            Destination::Directed(Box::new(DirectedDestination {
                path: path.clone(),
                source_ranges: s.clone(),
                destination_ranges: d.clone(),
            })),
            None,
        );
    }
    if let Some(t) = state.and_then(|s| {
        s.new_targets
            .iter()
            .find(|t| same_set(&t.path, &t.filespec, t.recursive.unwrap_or(false), f))
    }) {
        return (Destination::NewTarget(remap(&t.alternate_path, p)), None);
    }
    let mapping = doc
        .alternate_mappings
        .iter()
        .find(|m| same_set(&m.path, &m.filespec, m.recursive.unwrap_or(false), f))
        .map(|m| remap(&m.alternate_path, p));
    if matches!(pc.target, RestoreTarget::OriginalLocation) {
        return (Destination::Original, None);
    }
    if needs_mapping(&pc.method, &pc.target) {
        if let Some(m) = mapping {
            return (Destination::AlternateMapping(m), None);
        }
        return (Destination::Original, None);
    }
    let fallback = matches!(
        pc.method,
        RestoreMethod::RestoreIfNotThere | RestoreMethod::RestoreIfCanReplace
    )
    .then_some(mapping)
    .flatten();
    (Destination::Original, fallback)
}
