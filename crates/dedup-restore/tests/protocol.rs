//! The callback protocol, observed with a `RecordingStore`: two order calls (stream maps, then
//! data), a preview before each extent's reads announcing exactly those reads, reads in the
//! store's plan order (reverse tape order, split extents) or, without a plan, container then
//! offset order, coalesced, each container byte read once.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use dedup_restore::{ContainerExtent, Hresult, RecordingStore, RestoreOptions};
use platform::WinPath;

/// Five files spread over many containers (at most 3 records each).
fn spread() -> (Fixture, winsim::dedup::OptimizeReport) {
    fixture_of(41, seeded_files(41, 5, 300 * 1024), &many_containers(3))
}

fn assert_all_restored(fx: &Fixture, report: &dedup_restore::RestoreReport) {
    for f in &report.files {
        assert_eq!(f.result, Hresult::S_OK, "{}: {:?}", f.path, f.detail());
    }
    assert_eq!(report.result, Hresult::S_OK);
    for (p, d) in &fx.originals {
        assert_restored(&fx.vol, p, d);
    }
    assert_no_stray_files(&fx.vol, &fx.paths());
}

/// Sizes of the store's files, for planners that need them.
fn sizes(fx: &Fixture) -> Arc<HashMap<String, u64>> {
    Arc::new(
        fx.store
            .paths()
            .map(|p| (p.folded(), fx.store.get(p).expect("present").len() as u64))
            .collect(),
    )
}

#[test]
fn without_plan_reads_follow_container_then_offset_order() {
    let (fx, opt) = spread();
    let store = RecordingStore::new(&fx.store);
    let report = restore(&fx.vol, &fx.paths(), &store);
    assert_all_restored(&fx, &report);
    let [streams, data] = check_protocol(&store.calls());
    assert!(
        streams.order.len() >= 2,
        "stream containers {:?}",
        streams.order
    );
    assert!(data.order.len() >= 4, "data containers {:?}", data.order);
    for phase in [&streams, &data] {
        // Every container is read, in order-call order, each by ascending offsets.
        let reads = phase.reads();
        let mut last: Option<(usize, u64)> = None;
        for &(ci, o, _) in &reads {
            if let Some((lc, lo)) = last {
                assert!(
                    ci > lc || (ci == lc && o > lo),
                    "read ({ci}, {o:#x}) after ({lc}, {lo:#x})"
                );
            }
            last = Some((ci, o));
        }
        let touched: std::collections::BTreeSet<usize> = reads.iter().map(|r| r.0).collect();
        assert_eq!(touched.len(), phase.order.len());
        assert_read_once(phase);
    }
    // Coalesced: far fewer record reads than records.
    let record_reads = streams.record_reads().len() + data.record_reads().len();
    let records = opt.new_chunks + opt.stream_maps;
    assert!(
        (record_reads as u64) < records,
        "{record_reads} record reads for {records} records"
    );
    assert_eq!(
        report.stats.reads,
        (streams.reads().len() + data.reads().len()) as u64
    );
}

#[test]
fn reverse_tape_order_plan_is_obeyed() {
    let (fx, _) = spread();
    let store = RecordingStore::new(&fx.store).with_plan(|containers: &[WinPath]| {
        Some(
            (0..containers.len() as u32)
                .rev()
                .map(|i| ContainerExtent {
                    container_index: i,
                    start: 0,
                    length: u64::MAX,
                })
                .collect(),
        )
    });
    let report = restore(&fx.vol, &fx.paths(), &store);
    assert_all_restored(&fx, &report);
    let phases = check_protocol(&store.calls());
    for phase in &phases {
        let reads = phase.reads();
        let seq: Vec<usize> = reads.iter().map(|r| r.0).collect();
        // Containers visited last-first, each once, and within one by ascending offset.
        let mut visits = seq.clone();
        visits.dedup();
        let want: Vec<usize> = (0..phase.order.len()).rev().collect();
        assert_eq!(visits, want, "container visit order");
        for w in reads.windows(2) {
            if w[0].0 == w[1].0 {
                assert!(w[1].1 > w[0].1, "offsets within a container go up: {w:x?}");
            }
        }
        assert_read_once(phase);
    }
}

#[test]
fn split_extent_plan_is_obeyed() {
    let (fx, _) = spread();
    let sizes = sizes(&fx);
    let mids: Arc<std::sync::Mutex<HashMap<String, u64>>> = Arc::default();
    let mids2 = mids.clone();
    // Each container as two extents, the second half first (an incremental backup holding
    // the tail on an earlier medium). The split point is not record aligned.
    let store = RecordingStore::new(&fx.store).with_plan(move |containers: &[WinPath]| {
        let mut plan = Vec::new();
        for (i, p) in containers.iter().enumerate() {
            let len = sizes[&p.folded()];
            let mid = (0x5000 + (len - 0x5000) / 2) | 0x123;
            mids2.lock().unwrap().insert(p.folded(), mid);
            plan.push(ContainerExtent {
                container_index: i as u32,
                start: mid,
                length: i64::MAX as u64,
            });
            plan.push(ContainerExtent {
                container_index: i as u32,
                start: 0,
                length: mid,
            });
        }
        Some(plan)
    });
    let report = restore(&fx.vol, &fx.paths(), &store);
    assert_all_restored(&fx, &report);
    let phases = check_protocol(&store.calls());
    let mids = mids.lock().unwrap().clone();
    let mut split_records = 0;
    for phase in &phases {
        let reads = phase.record_reads();
        for ci in 0..phase.order.len() {
            let mid = mids[&phase.order[ci].folded()];
            let mine: Vec<(u64, u64)> = reads
                .iter()
                .filter(|r| r.0 == ci)
                .map(|r| (r.1, r.1 + r.2))
                .collect();
            // No read crosses the split; every tail read comes before every head read.
            assert!(mine.iter().all(|&(s, e)| e <= mid || s >= mid), "{mine:x?}");
            let first_head = mine.iter().position(|&(_, e)| e <= mid);
            let last_tail = mine.iter().rposition(|&(s, _)| s >= mid);
            if let (Some(h), Some(t)) = (first_head, last_tail) {
                assert!(
                    t < h,
                    "container {ci}: a tail read after a head read: {mine:x?}"
                );
            }
            // A record straddling the split is read in two pieces, one per extent.
            if mine.iter().any(|&(_, e)| e == mid) && mine.iter().any(|&(s, _)| s == mid) {
                split_records += 1;
            }
        }
        assert_read_once(phase);
    }
    assert!(split_records > 0, "no record straddled a split point");
}

#[test]
fn plan_missing_containers_and_bad_entries_still_restores() {
    let (fx, _) = spread();
    // Only the last container, plus entries the engine must ignore (index out of range,
    // empty extent).
    let store = RecordingStore::new(&fx.store).with_plan(|containers: &[WinPath]| {
        let n = containers.len() as u32;
        Some(vec![
            ContainerExtent {
                container_index: n + 5,
                start: 0,
                length: 100,
            },
            ContainerExtent {
                container_index: 0,
                start: 0x6000,
                length: 0,
            },
            ContainerExtent {
                container_index: n - 1,
                start: 0,
                length: u64::MAX,
            },
        ])
    });
    let report = restore(&fx.vol, &fx.paths(), &store);
    assert_all_restored(&fx, &report);
    let phases = check_protocol(&store.calls());
    for phase in &phases {
        let reads = phase.reads();
        // The planned container first, then the rest in container order.
        assert_eq!(reads[0].0, phase.order.len() - 1);
        assert_read_once(phase);
    }
}

#[test]
fn coalescing_gap_zero_and_tiny_window_read_more_but_restore_the_same() {
    let (fx, opt) = spread();
    let store = RecordingStore::new(&fx.store);
    let opts = RestoreOptions {
        coalesce_gap: 0,
        window: 64 * 1024,
        ..RestoreOptions::default()
    };
    let report = restore_with(&fx.vol, &fx.paths(), &store, &opts);
    assert_all_restored(&fx, &report);
    let phases = check_protocol(&store.calls());
    for phase in &phases {
        for (_, _, l) in phase.record_reads() {
            // A read is never larger than the window unless one record alone is.
            assert!(
                l <= 64 * 1024 || l <= 0x58 + 128 * 1024,
                "read of {l} bytes"
            );
        }
        assert_read_once(phase);
    }
    let record_reads = phases[0].record_reads().len() + phases[1].record_reads().len();
    assert!(record_reads as u64 >= opt.stream_maps, "{record_reads}");
}

#[test]
fn a_plan_of_many_small_extents_in_reverse_is_followed_and_restores() {
    for window in [32 << 20, 64 << 10] {
        let (fx, _) = spread();
        let sizes = sizes(&fx);
        // Every container as 16 KiB extents, last first: most records are cut, several times.
        let store = RecordingStore::new(&fx.store).with_plan(move |containers: &[WinPath]| {
            let mut plan = Vec::new();
            for (i, p) in containers.iter().enumerate() {
                let len = sizes[&p.folded()];
                let mut at = len.div_ceil(0x4000) * 0x4000;
                while at > 0 {
                    at -= 0x4000;
                    plan.push(ContainerExtent {
                        container_index: i as u32,
                        start: at,
                        length: 0x4000,
                    });
                }
            }
            Some(plan)
        });
        let opts = RestoreOptions {
            window,
            ..RestoreOptions::default()
        };
        let report = restore_with(&fx.vol, &fx.paths(), &store, &opts);
        assert_all_restored(&fx, &report);
        let phases = check_protocol(&store.calls());
        for phase in &phases {
            assert_read_once(phase);
            if window == 32 << 20 {
                // With room to assemble, every record read lies in one planned extent and the
                // extents are visited last-first within each container.
                for ci in 0..phase.order.len() {
                    let mine: Vec<(u64, u64)> = phase
                        .record_reads()
                        .iter()
                        .filter(|r| r.0 == ci)
                        .map(|r| (r.1, r.1 + r.2))
                        .collect();
                    for &(s, e) in &mine {
                        assert_eq!(s / 0x4000, (e - 1) / 0x4000, "read {s:#x}..{e:#x}");
                    }
                    for w in mine.windows(2) {
                        assert!(w[1].0 < w[0].0, "{mine:x?}");
                    }
                }
            }
        }
    }
}
