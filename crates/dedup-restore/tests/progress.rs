//! The progress of a tree restore whose engine batches run two at a time: each batch reports
//! on its own, and what the tree reports adds them to what is done without counting a batch
//! twice or going back.
#![cfg(unix)]

mod common;

use std::sync::{Arc, Mutex};

use common::tree::{assert_all_back, restore_into, volume_folder};
use dedup_restore::{Phase, Progress, TreeOptions};
use platform::HostVolume;

/// Batches of one and of two files (four dedup files: two batches rebuilt at once, twice or
/// once), on two workers: no report passes the totals, none is below one shown before it on
/// the same thread, and the last (the sync) is the totals themselves.
#[test]
fn a_tree_in_batches_rebuilt_two_at_a_time_reports_each_byte_once() {
    let src = tempfile::tempdir().unwrap();
    let originals = volume_folder(src.path(), 71);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    for batch_files in [1, 2] {
        let out = tempfile::tempdir().unwrap();
        let dest = HostVolume::new(out.path()).unwrap();
        let seen: Arc<Mutex<Vec<(std::thread::ThreadId, Progress)>>> = Arc::default();
        let mut opts = TreeOptions {
            batch_files,
            ..TreeOptions::default()
        };
        let log = Arc::clone(&seen);
        opts.restore.progress = Some(Arc::new(move |p: Progress| {
            log.lock().unwrap().push((std::thread::current().id(), p));
        }));
        let report = pool.install(|| restore_into(src.path(), &dest, &opts));
        assert_all_back(&report, 4, out.path(), &originals);
        let seen = seen.lock().unwrap();
        let (_, last) = seen.last().expect("progress reported");
        let what = format!("batches of {batch_files}: last {last:?}");
        assert!(matches!(last.phase, Phase::Syncing), "{what}");
        let logical: u64 = originals.iter().map(|(_, b)| b.len() as u64).sum();
        assert_eq!(last.bytes_total, logical, "{what}");
        assert_eq!(
            (last.bytes_done, last.files_done),
            (last.bytes_total, last.files_total),
            "{what}"
        );
        assert_eq!(last.files_total, originals.len() as u64, "{what}");
        for (i, (thread, p)) in seen.iter().enumerate() {
            assert!(
                p.bytes_done <= p.bytes_total && p.files_done <= p.files_total,
                "{what}: report {i} past the totals: {p:?}"
            );
            let before = seen[..i].iter().rev().find(|(t, _)| t == thread);
            if let Some((_, b)) = before {
                assert!(
                    p.bytes_done >= b.bytes_done && p.files_done >= b.files_done,
                    "{what}: report {i} went back on one thread: {b:?} then {p:?}"
                );
            }
        }
    }
}
