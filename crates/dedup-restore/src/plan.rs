//! Read planning: which byte ranges of which container to read, in what order, coalesced.

use std::collections::BTreeMap;

use crate::store::ContainerExtent;

/// A byte range of one container wanted by one need (a record to read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    /// Index of the need.
    pub need: usize,
    /// First byte (container offset).
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// One read: a contiguous range and the pieces it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Read {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// The pieces inside, by offset.
    pub pieces: Vec<Piece>,
}

/// Groups `pieces` (any order) into reads: sorted by offset, merged when the gap to the next
/// piece is at most `gap` and the merged read stays within `window` bytes. A piece larger than
/// the window gets a read of its own.
#[cfg(test)]
pub(crate) fn coalesce(pieces: Vec<Piece>, gap: u64, window: u64) -> Vec<Read> {
    coalesce_avoiding(pieces, gap, window, &BTreeMap::new())
}

/// [`coalesce`], but a gap between two pieces is only bridged when no byte of it is in `done`
/// (ranges already read, as start → end), so that nothing is read twice.
pub(crate) fn coalesce_avoiding(
    mut pieces: Vec<Piece>,
    gap: u64,
    window: u64,
    done: &BTreeMap<u64, u64>,
) -> Vec<Read> {
    pieces.sort_by_key(|p| (p.start, p.end, p.need));
    let fresh = |a: u64, b: u64| {
        // The last done range starting before `b` must end by `a`.
        a >= b || done.range(..b).next_back().is_none_or(|(_, &end)| end <= a)
    };
    let mut reads: Vec<Read> = Vec::new();
    for p in pieces {
        if let Some(r) = reads.last_mut() {
            let new_end = r.end.max(p.end);
            if p.start <= r.end.saturating_add(gap)
                && new_end - r.start <= window
                && fresh(r.end, p.start)
            {
                r.end = new_end;
                r.pieces.push(p);
                continue;
            }
        }
        reads.push(Read {
            start: p.start,
            end: p.end,
            pieces: vec![p],
        });
    }
    reads
}

/// The plan extents in order, validated: entries naming a container index out of range or an
/// empty range are dropped. `None` (the store lets us choose) gives one whole-file extent per
/// container in container order.
pub(crate) fn normalise_plan(
    plan: Option<Vec<ContainerExtent>>,
    containers: usize,
) -> Vec<ContainerExtent> {
    match plan {
        Some(extents) if !extents.is_empty() => extents
            .into_iter()
            .filter(|e| (e.container_index as usize) < containers && e.end() > e.start)
            .collect(),
        _ => (0..containers)
            .map(|i| ContainerExtent {
                container_index: i as u32,
                start: 0,
                length: u64::MAX,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(need: usize, start: u64, end: u64) -> Piece {
        Piece { need, start, end }
    }

    #[test]
    fn coalescing() {
        let reads = coalesce(
            vec![
                p(2, 300, 400),
                p(0, 0, 100),
                p(1, 150, 200),
                p(3, 10_000, 10_100),
            ],
            100,
            1000,
        );
        assert_eq!(reads.len(), 2);
        assert_eq!((reads[0].start, reads[0].end), (0, 400));
        assert_eq!(
            reads[0].pieces.iter().map(|p| p.need).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!((reads[1].start, reads[1].end), (10_000, 10_100));
        // The window caps a read.
        let reads = coalesce(vec![p(0, 0, 600), p(1, 600, 1200)], 0, 1000);
        assert_eq!(reads.len(), 2);
        // A piece bigger than the window stands alone.
        let reads = coalesce(vec![p(0, 0, 5000)], 0, 1000);
        assert_eq!(reads.len(), 1);
        // A gap holding bytes already read is not bridged; a fresh one is.
        let done: BTreeMap<u64, u64> = [(120, 130)].into_iter().collect();
        let reads = coalesce_avoiding(vec![p(0, 0, 100), p(1, 150, 200)], 100, 1000, &done);
        assert_eq!(reads.len(), 2);
        let reads = coalesce_avoiding(vec![p(0, 0, 100), p(1, 250, 300)], 200, 1000, &done);
        assert_eq!(reads.len(), 2);
        let done: BTreeMap<u64, u64> = [(0, 100), (200, 210)].into_iter().collect();
        let reads = coalesce_avoiding(vec![p(0, 100, 150), p(1, 180, 200)], 100, 1000, &done);
        assert_eq!(reads.len(), 1);
    }

    #[test]
    fn plans() {
        let d = normalise_plan(None, 2);
        assert_eq!(d.len(), 2);
        assert_eq!(d[1].container_index, 1);
        let e = |i, s, l| ContainerExtent {
            container_index: i,
            start: s,
            length: l,
        };
        let n = normalise_plan(
            Some(vec![
                e(1, 0, 10),
                e(5, 0, 10),
                e(0, 4, 0),
                e(0, 0, i64::MAX as u64),
            ]),
            2,
        );
        assert_eq!(n, vec![e(1, 0, 10), e(0, 0, i64::MAX as u64)]);
        assert_eq!(n[1].end(), u64::MAX);
    }
}
