//! [`ClusterSet`]: which clusters of a file are allocated, kept as runs so that a fully
//! allocated file of any size costs one entry.

use std::collections::BTreeMap;

/// A set of cluster indices, stored as disjoint, non-adjacent runs `start..end`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct ClusterSet {
    /// Run start → run end (exclusive).
    runs: BTreeMap<u64, u64>,
    /// Clusters in the set.
    count: u64,
}

impl ClusterSet {
    /// Clusters in the set.
    pub(super) fn len(&self) -> u64 {
        self.count
    }

    /// Whether cluster `ci` is in the set.
    #[cfg(test)]
    pub(super) fn contains(&self, ci: u64) -> bool {
        self.runs
            .range(..=ci)
            .next_back()
            .is_some_and(|(_, &end)| ci < end)
    }

    /// Clusters of `first..end` in the set.
    pub(super) fn count_in(&self, first: u64, end: u64) -> u64 {
        if end <= first {
            return 0;
        }
        let from = self
            .runs
            .range(..=first)
            .next_back()
            .map_or(first, |(&s, _)| s);
        self.runs
            .range(from..end)
            .map(|(&s, &e)| e.min(end).saturating_sub(s.max(first)))
            .sum()
    }

    /// Adds `first..end`; returns how many clusters were not in the set before.
    pub(super) fn insert(&mut self, first: u64, end: u64) -> u64 {
        if end <= first {
            return 0;
        }
        let added = (end - first) - self.count_in(first, end);
        if added == 0 {
            return 0;
        }
        let (mut start, mut stop) = (first, end);
        if let Some((&s, &e)) = self.runs.range(..=first).next_back()
            && e >= first
        {
            start = s;
            stop = stop.max(e);
        }
        // Every run that starts inside the new one, or right after it, merges into it.
        let merged: Vec<u64> = self.runs.range(start..=stop).map(|(&s, _)| s).collect();
        for s in merged {
            if let Some(e) = self.runs.remove(&s) {
                stop = stop.max(e);
            }
        }
        self.runs.insert(start, stop);
        self.count += added;
        added
    }

    /// Removes every cluster at or past `keep`; returns how many were removed.
    pub(super) fn truncate(&mut self, keep: u64) -> u64 {
        let tail = self.runs.split_off(&keep);
        let mut removed: u64 = tail.iter().map(|(&s, &e)| e - s).sum();
        if let Some((_, e)) = self.runs.iter_mut().next_back()
            && *e > keep
        {
            removed += *e - keep;
            *e = keep;
        }
        self.count -= removed;
        removed
    }

    /// The runs, in order.
    pub(super) fn runs(&self) -> impl Iterator<Item = std::ops::Range<u64>> + '_ {
        self.runs.iter().map(|(&s, &e)| s..e)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Random inserts and truncations agree with a plain set of indices.
    #[test]
    fn agrees_with_a_plain_set() {
        let mut rng = seeded::SplitMix64(11);
        for _ in 0..200 {
            let (mut set, mut model) = (ClusterSet::default(), BTreeSet::new());
            for _ in 0..40 {
                if rng.below(5) == 0 {
                    let keep = rng.below(70);
                    let before = model.len();
                    model.retain(|&c| c < keep);
                    assert_eq!(set.truncate(keep), (before - model.len()) as u64);
                } else {
                    let first = rng.below(64);
                    let end = first + rng.below(8);
                    let before = model.len();
                    model.extend(first..end);
                    assert_eq!(set.insert(first, end), (model.len() - before) as u64);
                }
                assert_eq!(set.len(), model.len() as u64);
                let a = rng.below(70);
                let b = a + rng.below(20);
                assert_eq!(set.count_in(a, b), model.range(a..b).count() as u64);
                assert_eq!(set.contains(a), model.contains(&a));
                let flat: Vec<u64> = set.runs().flatten().collect();
                assert_eq!(flat, model.iter().copied().collect::<Vec<_>>());
                // Disjoint and non-adjacent: no run ends where the next starts.
                let runs: Vec<_> = set.runs().collect();
                assert!(runs.windows(2).all(|w| w[0].end < w[1].start), "{runs:?}");
                assert!(runs.iter().all(|r| r.start < r.end));
            }
        }
    }
}
