//! The fault matrix at the library level, on the simulator's fault injection: read errors and
//! short reads in the source (chunk store and plain files), disk full and write errors in the
//! destination — each restored through `restore_tree`, then restored again with the faults
//! cleared (the re-run after a failure). The command-level matrix (damaged structures, links,
//! `kill -9`) is `crates/cli/tests/fault_matrix.rs`.
//!
//! Every case asserts: the run completes with a per-file report; every file reported restored,
//! copied or skipped is byte-identical to its original; a failed file has nothing at its path;
//! the destination holds nothing but the originals' paths (no temporary or half-written file);
//! the re-run restores everything.

mod common;

use common::*;
use dedup_reparse::LayoutVersion;
use dedup_restore::{EntryStatus, SourceStore, TreeOptions, TreeReport, restore_tree};
use platform::{Volume, VolumeSource, WinPath};
use winsim::{Fault, SimVolume};

/// The source: four dedup files and two plain ones (one empty), with the originals.
fn source() -> (SimVolume, Vec<(WinPath, Vec<u8>)>) {
    let mut originals = seeded_files(7, 4, 256 * 1024);
    let vol = optimized_volume(7, &originals, LayoutVersion::V3);
    for (p, bytes) in [
        ("\\plain\\notes.txt", vec![b'n'; 70_000]),
        ("\\plain\\empty.dat", Vec::new()),
    ] {
        let p = wp(p);
        vol.write_file(&p, &bytes).unwrap();
        originals.push((p, bytes));
    }
    (vol, originals)
}

fn run(src: &SimVolume, dest: &SimVolume) -> TreeReport {
    let source = VolumeSource::new(src.clone(), "source");
    let store = SourceStore::over_volume(src.clone(), "source");
    restore_tree(&source, &store, dest, &TreeOptions::default()).unwrap()
}

/// The checks every case makes; returns the number of failed files.
fn check(
    case: &str,
    report: &TreeReport,
    dest: &SimVolume,
    originals: &[(WinPath, Vec<u8>)],
) -> usize {
    let mut failed = 0;
    for (path, bytes) in originals {
        let shown = path.to_string();
        let e = report
            .entries
            .iter()
            .find(|e| e.path == shown)
            .unwrap_or_else(|| panic!("{case}: {path} not in the report: {:#?}", report.entries));
        match e.status {
            EntryStatus::Restored | EntryStatus::Copied | EntryStatus::Skipped => {
                assert_eq!(
                    dest.read_file(path).unwrap_or_default(),
                    *bytes,
                    "{case}: {path} reported {:?} but differs",
                    e.status
                );
                assert!(
                    !dest.metadata(path).unwrap().is_reparse_point(),
                    "{case}: {path}"
                );
            }
            EntryStatus::Conflict => {
                panic!("{case}: {path} in conflict in a fresh destination: {e:?}")
            }
            EntryStatus::Failed => {
                failed += 1;
                assert!(e.error.is_some(), "{case}: {path} failed without a reason");
                assert!(
                    !dest.exists(path).unwrap(),
                    "{case}: {path} failed but something is at its path"
                );
            }
        }
    }
    let expected: Vec<String> = originals.iter().map(|(p, _)| p.folded()).collect();
    for f in dest.all_files() {
        assert!(
            expected.contains(&f.folded()),
            "{case}: {f} in the destination is not an original (a temporary or half-written file)"
        );
    }
    failed
}

type Arm = fn(&SimVolume, &SimVolume);

/// Faults limited to the chunk store.
fn store() -> WinPath {
    wp("\\System Volume Information")
}

/// `\System Volume Information\Dedup\ChunkStore\{GUID}.ddp` of `vol`.
fn store_dir(vol: &SimVolume) -> String {
    let root = wp("\\System Volume Information\\Dedup\\ChunkStore");
    let guid = vol.read_dir(&root).unwrap().remove(0).name;
    format!("{root}\\{guid}")
}

/// What a case must end with: no failure, at least one, or either (a failed read the engine
/// recovers from by another route — the `Rrtl` or a scan after a failed hint read — is fine:
/// the bytes are verified by their hash either way).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Clean,
    Fails,
    Either,
}

fn cases() -> Vec<(&'static str, Arm, Expect)> {
    vec![
        ("no fault", |_, _| {}, Expect::Clean),
        (
            "source: the first chunk-store read fails",
            |s, _| {
                s.inject(Fault::FailRead {
                    nth: 1,
                    under: Some(store()),
                });
            },
            Expect::Fails,
        ),
        // A restore of this source reads the chunk store four times (coalesced reads); each
        // of them fails in one case (`every_read_fault_fires` checks that they all happen).
        (
            "source: the second chunk-store read fails",
            |s, _| {
                s.inject(Fault::FailRead {
                    nth: 2,
                    under: Some(store()),
                });
            },
            Expect::Either,
        ),
        (
            "source: the third chunk-store read fails",
            |s, _| {
                s.inject(Fault::FailRead {
                    nth: 3,
                    under: Some(store()),
                });
            },
            Expect::Fails,
        ),
        (
            "source: the fourth chunk-store read fails",
            |s, _| {
                s.inject(Fault::FailRead {
                    nth: 4,
                    under: Some(store()),
                });
            },
            Expect::Either,
        ),
        (
            "source: reading a plain file fails",
            |s, _| {
                s.inject(Fault::FailRead {
                    nth: 1,
                    under: Some(wp("\\plain\\notes.txt")),
                });
            },
            Expect::Fails,
        ),
        (
            "source: chunk-store reads return at most 7 bytes",
            |s, _| {
                s.inject(Fault::ShortReads {
                    max: 7,
                    under: Some(store()),
                });
            },
            Expect::Clean,
        ),
        (
            "source: every read returns at most 4000 bytes",
            |s, _| {
                s.inject(Fault::ShortReads {
                    max: 4000,
                    under: None,
                });
            },
            Expect::Clean,
        ),
        (
            "source: the chunk store's stream containers are denied",
            |s, _| {
                s.inject(Fault::DenyAccess {
                    under: wp(&format!("{}\\Stream", store_dir(s))),
                });
            },
            Expect::Fails,
        ),
        (
            "source: one data container is denied",
            |s, _| {
                s.inject(Fault::DenyAccess {
                    under: wp(&format!("{}\\Data\\00000001.00000001.ccc", store_dir(s))),
                });
            },
            Expect::Fails,
        ),
        (
            "source: a plain file is denied",
            |s, _| {
                s.inject(Fault::DenyAccess {
                    under: wp("\\plain\\notes.txt"),
                });
            },
            Expect::Fails,
        ),
        (
            "destination: a folder cannot be created",
            |_, d| {
                d.inject(Fault::DenyAccess {
                    under: wp("\\plain"),
                });
            },
            Expect::Fails,
        ),
        (
            "destination: disk full from the start",
            |_, d| d.inject(Fault::DiskFull { capacity: 0 }),
            Expect::Fails,
        ),
        (
            "destination: disk full after 300 KiB",
            |_, d| {
                d.inject(Fault::DiskFull {
                    capacity: 300 << 10,
                });
            },
            Expect::Fails,
        ),
        (
            "destination: disk full after 700 KiB",
            |_, d| {
                d.inject(Fault::DiskFull {
                    capacity: 700 << 10,
                });
            },
            Expect::Fails,
        ),
        (
            "destination: the first write fails",
            |_, d| {
                d.inject(Fault::FailWrite {
                    nth: 1,
                    under: None,
                });
            },
            Expect::Fails,
        ),
        (
            "destination: the twentieth write fails",
            |_, d| {
                d.inject(Fault::FailWrite {
                    nth: 20,
                    under: None,
                });
            },
            Expect::Fails,
        ),
    ]
}

#[test]
fn every_fault_then_a_rerun() {
    let (src, originals) = source();
    let cases = cases();
    for (case, arm, expect) in &cases {
        let dest = SimVolume::new(99);
        arm(&src, &dest);
        let first = run(&src, &dest);
        src.clear_faults();
        dest.clear_faults();
        let failed = check(case, &first, &dest, &originals);
        eprintln!("{case:<50} failed {failed} of {}", originals.len());
        match expect {
            Expect::Fails => assert!(failed > 0, "{case}: the fault went unnoticed"),
            Expect::Clean => assert_eq!(failed, 0, "{case}: {:#?}", first.entries),
            Expect::Either => {}
        }
        if case.contains("denied") || case.contains("cannot be created") {
            let access_denied = dedup_restore::Hresult::from_win32(5);
            assert!(
                first
                    .entries
                    .iter()
                    .any(|e| e.status == EntryStatus::Failed && e.hresult() == access_denied),
                "{case}: no failure says access denied: {:#?}",
                first.entries
            );
        }
        let rerun = run(&src, &dest);
        let rerun_case = format!("{case}, re-run");
        assert_eq!(
            check(&rerun_case, &rerun, &dest, &originals),
            0,
            "{rerun_case}"
        );
        assert_eq!(
            rerun.count(EntryStatus::Skipped),
            originals.len() - failed,
            "{rerun_case}: what the first run finished is kept"
        );
    }
    eprintln!(
        "library fault matrix: {} cases x 2 runs (faulted, re-run)",
        cases.len()
    );
}

/// The read-fault cases above are not vacuous: a restore of the same dedup files (without the
/// plain ones, so that every read is a chunk-store read) reads the source at least four times.
#[test]
fn every_read_fault_fires() {
    let originals = seeded_files(7, 4, 256 * 1024);
    let src = optimized_volume(7, &originals, LayoutVersion::V3);
    let before = src.io_counts().reads;
    let report = run(&src, &SimVolume::new(6));
    assert_eq!(report.count(EntryStatus::Restored), 4);
    let reads = src.io_counts().reads - before;
    assert!(reads >= 4, "{reads} chunk-store reads");
}
