//! A component whose files were dedup-optimized at backup time, restored end to end: the
//! backup holds the dedup reparse points (a copy of the optimized volume) and the chunk store
//! is read through a `dedup_restore::MemoryStore`; every restored file is byte-identical and a
//! normal file again. Also: staged for reboot, and rolled back when rehydration fails.

mod common;

use common::*;
use dedup_restore::MemoryStore;
use platform::{Volume as _, WinPath};
use test_support::SplitMix64;
use vss_model::restore_set::Environment;
use vss_model::{FileRestoreStatus, RestoreMethod, WriterRestore};
use vss_restore::{Host, Outcome, RestoreOptions, RestoreReport, RestoreSpec, VolumeBackup};
use winsim::SimVolume;
use winsim::dedup::{OptimizeOptions, optimize};
use winsim::vss::SimVss;

struct Optimized {
    backup_vol: SimVolume,
    originals: Vec<(String, Vec<u8>)>,
    store: MemoryStore,
}

/// Two large files with shared content in the SQL data folder, optimized by the simulator.
fn optimized_backup() -> Optimized {
    let vol = SimVolume::new(3);
    let mut rng = SplitMix64(99);
    let mut block = vec![0u8; 96 * 1024];
    for b in &mut block {
        *b = (rng.next_u64() % 7) as u8; // compressible, varied
    }
    let mdf: Vec<u8> = [
        block.clone(),
        block.clone(),
        (0..50_000u32).map(|i| (i % 251) as u8).collect(),
    ]
    .concat();
    let ldf: Vec<u8> = [block.clone(), vec![0u8; 70_000], block[..10_000].to_vec()].concat();
    let originals = vec![
        (format!(r"{DATA}\master.mdf"), mdf),
        (format!(r"{DATA}\mastlog.ldf"), ldf),
    ];
    for (p, b) in &originals {
        vol.write_file(&vp(p), b).unwrap();
    }
    let report = optimize(&vol, 5, &OptimizeOptions::default()).unwrap();
    assert_eq!(report.files_optimized, 2, "both files are optimized");
    for (p, _) in &originals {
        assert!(
            vol.metadata(&vp(p)).unwrap().is_reparse_point(),
            "{p} is a stub"
        );
    }
    let mut store = MemoryStore::new();
    let svi = WinPath::new(r"\System Volume Information\Dedup").unwrap();
    for f in vol.all_files() {
        if f.starts_with(&svi) {
            let b = vol.read_file(&f).unwrap();
            store.insert(f, b);
        }
    }
    assert!(store.paths().count() > 0);
    Optimized {
        backup_vol: vol,
        originals,
        store,
    }
}

fn restore_onto(target: &SimVolume, o: &Optimized, method: RestoreMethod) -> RestoreReport {
    let w = sql_wmd(method, WriterRestore::Always, false);
    let sim = SimVss::from_wmds(target, std::slice::from_ref(&w));
    let backup = VolumeBackup::new(&o.backup_vol, "E:");
    let env = Environment::new();
    let bcd = sql_bcd();
    let host = Host {
        volume: target,
        drive: "E:",
        backup: &backup,
        chunk_store: Some(&o.store),
        writers: &sim,
        services: &sim,
    };
    let spec = RestoreSpec {
        writers: std::slice::from_ref(&w),
        bcd: &bcd,
        selection: &[],
        env: &env,
        volumes: &[],
        catalog: None,
    };
    vss_restore::restore(&host, &spec, &RestoreOptions::default()).unwrap()
}

fn assert_identical(target: &SimVolume, o: &Optimized) {
    for (p, b) in &o.originals {
        let md = target.metadata(&vp(p)).unwrap();
        assert!(!md.is_reparse_point(), "{p}: rehydrated, no longer a stub");
        assert_eq!(md.len, b.len() as u64, "{p}");
        assert!(
            read(target, p).as_deref() == Some(&b[..]),
            "{p}: byte-identical"
        );
    }
}

#[test]
fn dedup_component_restored_end_to_end() {
    let o = optimized_backup();
    let target = SimVolume::new(4);
    let report = restore_onto(&target, &o, RestoreMethod::RestoreIfCanReplace);
    let c = &report.components[0];
    assert_eq!(c.status, FileRestoreStatus::All, "{:?}", c.errors);
    assert_eq!(c.outcome, Outcome::Restored);
    assert!(
        c.files.iter().all(|f| f.dedup),
        "both files went the dedup way"
    );
    assert_identical(&target, &o);
    // The chunk store itself is not claimed by the writer, so it is not restored.
    assert!(
        report
            .unclaimed
            .iter()
            .any(|u| u.contains("System Volume Information")),
        "{:?}",
        report.unclaimed
    );
    assert_eq!(target.all_files().len(), 2, "{:?}", target.all_files());
}

#[test]
fn dedup_component_replaces_existing_files() {
    let o = optimized_backup();
    let target = SimVolume::new(4);
    target.write_file(&vp(&o.originals[0].0), b"old").unwrap();
    target.write_file(&vp(&o.originals[1].0), b"older").unwrap();
    let report = restore_onto(&target, &o, RestoreMethod::RestoreIfCanReplace);
    assert_eq!(
        report.components[0].status,
        FileRestoreStatus::All,
        "{:?}",
        report.components[0].errors
    );
    assert_identical(&target, &o);
    assert_eq!(target.all_files().len(), 2, "{:?}", target.all_files());
}

#[test]
fn dedup_component_staged_for_reboot() {
    let o = optimized_backup();
    let target = SimVolume::new(4);
    target.write_file(&vp(&o.originals[0].0), b"old").unwrap();
    let report = restore_onto(&target, &o, RestoreMethod::RestoreAtReboot);
    let c = &report.components[0];
    assert_eq!(c.outcome, Outcome::StagedForReboot, "{:?}", c.errors);
    assert!(report.reboot_required);
    assert_eq!(
        read(&target, &o.originals[0].0).as_deref(),
        Some(&b"old"[..])
    );
    let pend = pending(&target);
    assert_eq!(pend.len(), 2);
    for op in &pend {
        assert!(
            !target.metadata(&op.source).unwrap().is_reparse_point(),
            "temp is rehydrated"
        );
    }
    assert!(target.reboot().iter().all(|r| r.error.is_none()));
    assert_identical(&target, &o);
    assert_eq!(target.all_files().len(), 2, "{:?}", target.all_files());
}

#[test]
fn failed_rehydration_rolls_the_component_back() {
    let mut o = optimized_backup();
    let data: Vec<WinPath> = o
        .store
        .paths()
        .filter(|p| {
            p.to_string().contains(r"\Data\")
                && p.file_name()
                    .is_some_and(|n| n.len() > 4 && n[n.len() - 4..].eq_ignore_ascii_case(".ccc"))
        })
        .cloned()
        .collect();
    assert!(!data.is_empty());
    for d in &data {
        o.store.remove(d);
    }
    let target = SimVolume::new(4);
    target
        .write_file(&vp(&o.originals[0].0), b"old mdf")
        .unwrap();
    let before = snapshot(&target);
    let report = restore_onto(&target, &o, RestoreMethod::RestoreIfCanReplace);
    let c = &report.components[0];
    assert_eq!(c.status, FileRestoreStatus::None, "{:?}", c.errors);
    assert_eq!(c.outcome, Outcome::Failed);
    assert!(
        c.errors
            .iter()
            .map(ToString::to_string)
            .any(|e| e.contains("dedup rehydration failed") && e.contains("master")),
        "{:?}",
        c.errors
    );
    assert_eq!(snapshot(&target), before, "originals back, nothing left");
}

#[test]
fn dedup_component_restored_if_not_there() {
    let o = optimized_backup();
    let target = SimVolume::new(4);
    let report = restore_onto(&target, &o, RestoreMethod::RestoreIfNotThere);
    assert_eq!(
        report.components[0].status,
        FileRestoreStatus::All,
        "{:?}",
        report.components[0].errors
    );
    assert_identical(&target, &o);
    assert_eq!(target.all_files().len(), 2, "{:?}", target.all_files());
}

#[test]
fn dedup_component_rolls_back_at_every_write() {
    let o = optimized_backup();
    let fresh = || {
        let t = SimVolume::new(4);
        t.write_file(&vp(&o.originals[0].0), b"old mdf").unwrap();
        t
    };
    let t = fresh();
    let w0 = t.io_counts().writes;
    assert_eq!(
        restore_onto(&t, &o, RestoreMethod::RestoreIfCanReplace).components[0].status,
        FileRestoreStatus::All
    );
    let n = t.io_counts().writes - w0;
    assert!(n > 2, "{n}");
    for k in 1..=n {
        let t = fresh();
        let before = snapshot(&t);
        t.inject(winsim::Fault::FailWrite {
            nth: k,
            under: None,
        });
        let r = restore_onto(&t, &o, RestoreMethod::RestoreIfCanReplace);
        t.clear_faults();
        let c = &r.components[0];
        match c.status {
            FileRestoreStatus::All => assert_identical(&t, &o),
            FileRestoreStatus::None => {
                assert_eq!(
                    snapshot(&t),
                    before,
                    "write {k}: originals back, nothing left"
                );
            }
            ref s => panic!("write {k}: {s} {:?}", c.errors),
        }
    }
}
