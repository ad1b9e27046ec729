//! A tree restore whose engine batches run two at a time: the progress adds each batch's
//! reports to what is done without counting a batch twice or going back, and one name in two
//! spellings (from a case-sensitive source) is never rebuilt by two batches at once, nor by one
//! batch from one of its stubs.
#![cfg(unix)]

mod common;

use std::sync::{Arc, Mutex};

use common::tree::{assert_all_back, copy_with_xattrs, restore_into, volume_folder};
use dedup_restore::{EntryStatus, Overwrite, Phase, Progress, TreeOptions};
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
    let upper = "data/sub/FILE01.BIN";
    copy_with_xattrs(src.path(), "data/sub/file01.bin", upper);
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

/// Two spellings of one dedup file with different bytes (`FILE01.BIN` a copy of
/// `file02.bin`'s stub), in what would be one batch: the second closes the batch and starts
/// the next, so the engine rebuilds each from its own stub and the second meets the first's
/// file. Under `Never` it is kept out as a conflict and the first keeps its own bytes; under
/// `Always` it replaces them. Before, the batch held one stub for both names: both were
/// reported restored, under the first spelling with the second's bytes, and the first's bytes
/// were lost.
#[test]
fn two_spellings_of_one_name_in_one_batch_are_rebuilt_in_turn() {
    let src = tempfile::tempdir().unwrap();
    let originals = volume_folder(src.path(), 77);
    copy_with_xattrs(src.path(), "data/sub/file02.bin", "data/sub/FILE01.BIN");
    let bytes_of = |name: &str| {
        let (_, b) = originals
            .iter()
            .find(|(p, _)| p.to_string().ends_with(name))
            .unwrap();
        b.clone()
    };
    let (lower_bytes, upper_bytes) = (bytes_of("file01.bin"), bytes_of("file02.bin"));
    for (overwrite, kept, status) in [
        (
            Overwrite::Never,
            ("FILE01.BIN", &upper_bytes),
            EntryStatus::Conflict,
        ),
        (
            Overwrite::Always,
            ("file01.bin", &lower_bytes),
            EntryStatus::Restored,
        ),
    ] {
        let out = tempfile::tempdir().unwrap();
        let dest = HostVolume::new(out.path()).unwrap();
        let opts = TreeOptions {
            overwrite,
            ..TreeOptions::default()
        };
        let report = restore_into(src.path(), &dest, &opts);
        let what = format!("{overwrite:?}: {:#?}", report.entries);
        let entry = |p: &str| {
            report
                .entries
                .iter()
                .find(|e| e.path == p)
                .unwrap_or_else(|| panic!("{p} not reported: {what}"))
        };
        assert_eq!(
            entry("\\data\\sub\\FILE01.BIN").status,
            EntryStatus::Restored,
            "{what}"
        );
        assert_eq!(entry("\\data\\sub\\file01.bin").status, status, "{what}");
        let there: Vec<String> = std::fs::read_dir(out.path().join("data/sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.eq_ignore_ascii_case("file01.bin"))
            .collect();
        assert_eq!(there, [kept.0], "{what}");
        let got = std::fs::read(out.path().join("data/sub").join(kept.0)).unwrap();
        assert!(&got == kept.1, "{what}: {} holds other bytes", kept.0);
    }
}
