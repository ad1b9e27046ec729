//! A tree restore whose engine batches run two at a time: the progress adds each batch's
//! reports to what is done without counting a batch twice or going back, and one name in two
//! spellings (from a case-sensitive source) is never rebuilt by two batches at once.
#![cfg(unix)]

mod common;

use std::sync::{Arc, Mutex};

use common::tree::{assert_all_back, restore_into, volume_folder};
use dedup_restore::{EntryStatus, Phase, Progress, TreeOptions};
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

/// A dedup file of a host source also under its name in capitals (a case-sensitive source can
/// hold both; the destination, like Windows, cannot), restored in batches of one file on two
/// workers, so that the two spellings are in consecutive batches: the second is rebuilt after
/// the first, meets its file, and is kept out as identical. Never both spellings in the
/// destination, whatever the timing (rebuilt at once, their renames would race for the name).
#[test]
fn one_name_in_two_spellings_is_restored_once() {
    let src = tempfile::tempdir().unwrap();
    let originals = volume_folder(src.path(), 72);
    let (lower, upper) = ("data/sub/file01.bin", "data/sub/FILE01.BIN");
    std::fs::copy(src.path().join(lower), src.path().join(upper)).unwrap();
    for name in xattr::list(src.path().join(lower)).unwrap() {
        let value = xattr::get(src.path().join(lower), &name).unwrap().unwrap();
        xattr::set(src.path().join(upper), &name, &value).unwrap();
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let opts = TreeOptions {
        batch_files: 1,
        ..TreeOptions::default()
    };
    for round in 0..5 {
        let out = tempfile::tempdir().unwrap();
        let dest = HostVolume::new(out.path()).unwrap();
        let report = pool.install(|| restore_into(src.path(), &dest, &opts));
        let what = format!("round {round}: {:#?}", report.entries);
        let there: Vec<String> = std::fs::read_dir(out.path().join("data/sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.eq_ignore_ascii_case("file01.bin"))
            .collect();
        assert_eq!(there, ["FILE01.BIN"], "{what}");
        assert_eq!(report.count(EntryStatus::Restored), 4, "{what}");
        assert_eq!(report.count(EntryStatus::Skipped), 1, "{what}");
        let bytes = &originals
            .iter()
            .find(|(p, _)| p.to_string().ends_with("file01.bin"))
            .unwrap()
            .1;
        assert_eq!(
            &std::fs::read(out.path().join(upper)).unwrap(),
            bytes,
            "{what}"
        );
    }
}
