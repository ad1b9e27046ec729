//! Fault injection at every write of a multi-file component: afterwards the component is either
//! ALL with every file restored, or NONE with every original file byte-identical and nothing
//! left behind (no file set aside, no temporary file, no pending rename) — never a mix
//! reported as success, and never FAILED when the rollback could complete.

mod common;

use common::*;
use platform::{FileRestoreStatus as PStatus, Volume as _};
use vss_model::bcd::{PartialFile, RestoreState};
use vss_model::{
    BackupComponents, FileRestoreStatus, RestoreMethod, WriterMetadata, WriterRestore,
};
use vss_restore::{MemoryBackup, Outcome, RestoreOptions};
use winsim::vss::{SimVss, VssEvent};
use winsim::{Fault, SimVolume};

const PART1: &[u8] = b"sixteen bytes!!!";
const PART2: &[u8] = b"thirty-two bytes of new page....";

fn wmd(method: RestoreMethod) -> WriterMetadata {
    let xml = SQL_WMD.replace(
        r#"filespec="mastlog.ldf" filespecBackupType="3855"/>"#,
        r#"filespec="mastlog.ldf" filespecBackupType="3855"/><FILE_LIST path="E:\MSSQL14.MSSQLSERVER\MSSQL\DATA" filespec="partial.ndf" filespecBackupType="3855"/>"#,
    );
    let mut w = WriterMetadata::from_xml(&xml).unwrap();
    let rm = w.restore_method.as_mut().unwrap();
    rm.method = method;
    rm.writer_restore = WriterRestore::Always;
    rm.service = Some(SERVICE.to_owned());
    w
}

fn bcd() -> BackupComponents {
    let mut b = sql_bcd();
    b.writers[0].components[0].restore = Some(RestoreState {
        partial_files: vec![PartialFile {
            path: DATA.to_owned(),
            filename: "partial.ndf".to_owned(),
            ranges: "0:16, 0x1000:32".to_owned(),
            metadata: None,
            other_attributes: Vec::new(),
            other_children: Vec::new(),
        }],
        ..RestoreState::default()
    });
    b
}

fn backup() -> MemoryBackup {
    let mut b = sql_backup();
    b.insert(&format!(r"{DATA}\partial.ndf"), [PART1, PART2].concat());
    b
}

fn old_ndf() -> Vec<u8> {
    (0..8192u32).map(|i| (i % 13) as u8 + b'a').collect()
}

fn new_ndf(had_old: bool) -> Vec<u8> {
    let mut v = if had_old {
        old_ndf()
    } else {
        vec![0u8; 0x1020]
    };
    v[..16].copy_from_slice(PART1);
    v[0x1000..0x1020].copy_from_slice(PART2);
    v
}

fn setup(present: bool) -> SimVolume {
    let vol = SimVolume::new(11);
    if present {
        vol.write_file(&vp(&format!(r"{DATA}\master.mdf")), &old_mdf())
            .unwrap();
        vol.write_file(&vp(&format!(r"{DATA}\mastlog.ldf")), &old_ldf())
            .unwrap();
        vol.write_file(&vp(&format!(r"{DATA}\partial.ndf")), &old_ndf())
            .unwrap();
    }
    vol
}

/// Runs the scenario with a write failing at `fault` (`None`: no fault); checks the invariant;
/// returns (status, writes made).
fn scenario(method: &RestoreMethod, present: bool, fault: Option<u64>) -> (FileRestoreStatus, u64) {
    let vol = setup(present);
    let before = snapshot(&vol);
    let w = wmd(method.clone());
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    if let Some(nth) = fault {
        vol.inject(Fault::FailWrite { nth, under: None });
    }
    let w0 = vol.io_counts().writes;
    let report = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &bcd(),
        &backup(),
        &RestoreOptions::default(),
    );
    vol.clear_faults();
    let writes = vol.io_counts().writes - w0;
    let case = format!("{method} present={present} fault at write {fault:?}");
    let c = &report.components[0];
    let staged = *method == RestoreMethod::RestoreAtReboot;
    match c.status {
        FileRestoreStatus::All => {
            assert_eq!(
                c.outcome,
                if staged {
                    Outcome::StagedForReboot
                } else {
                    Outcome::Restored
                },
                "{case}"
            );
            if staged {
                assert_eq!(pending(&vol).len(), 3, "{case}");
                assert!(vol.reboot().iter().all(|o| o.error.is_none()), "{case}");
            }
            assert_eq!(
                digest(read(&vol, &format!(r"{DATA}\master.mdf")).as_deref()),
                digest(Some(&new_mdf())),
                "{case}"
            );
            assert_eq!(
                digest(read(&vol, &format!(r"{DATA}\mastlog.ldf")).as_deref()),
                digest(Some(&new_ldf())),
                "{case}"
            );
            assert_eq!(
                digest(read(&vol, &format!(r"{DATA}\partial.ndf")).as_deref()),
                digest(Some(&new_ndf(present))),
                "{case}"
            );
            assert_eq!(
                vol.all_files().len(),
                3,
                "{case}: nothing else left: {:?}",
                vol.all_files()
            );
        }
        FileRestoreStatus::None => {
            assert!(
                fault.is_some(),
                "{case}: fails only under a fault: {:?}",
                c.errors
            );
            assert_eq!(c.outcome, Outcome::Failed, "{case}");
            assert_eq!(
                c.status_history,
                [
                    FileRestoreStatus::None,
                    FileRestoreStatus::Failed,
                    FileRestoreStatus::None
                ],
                "{case}"
            );
            let after = snapshot(&vol);
            assert_eq!(after.len(), before.len(), "{case}: {:?}", vol.all_files());
            for ((p0, b0), (p1, b1)) in before.iter().zip(&after) {
                assert_eq!(p0, p1, "{case}");
                assert!(
                    b0 == b1,
                    "{case}: {p0} is not byte-identical after rollback"
                );
            }
            assert!(pending(&vol).is_empty(), "{case}: no pending rename left");
            assert!(
                c.errors
                    .iter()
                    .map(ToString::to_string)
                    .any(|e| e.contains("master") && e.contains(r"MSSQL\DATA\")),
                "{case}: the error names the component and the file: {:?}",
                c.errors
            );
        }
        ref s => panic!("{case}: status {s} (errors {:?})", c.errors),
    }
    let post: Vec<PStatus> = sim
        .events()
        .into_iter()
        .filter_map(|e| match e {
            VssEvent::PostRestore(_, s) => Some(s),
            _ => None,
        })
        .collect();
    let want = if c.status == FileRestoreStatus::All {
        PStatus::All
    } else {
        PStatus::None
    };
    assert_eq!(post, [want], "{case}: PostRestore carries the final status");
    (c.status.clone(), writes)
}

fn every_write(method: &RestoreMethod, present: bool) {
    let (status, n) = scenario(method, present, None);
    assert_eq!(status, FileRestoreStatus::All);
    assert!(n >= 3, "{method}: the component writes several times ({n})");
    let mut failed = 0;
    for k in 1..=n {
        if scenario(method, present, Some(k)).0 == FileRestoreStatus::None {
            failed += 1;
        }
    }
    // Every one of the component's writes was a point of failure.
    assert_eq!(failed, n, "{method} present={present}");
    // A fault armed past the last write changes nothing.
    assert_eq!(
        scenario(method, present, Some(n + 1)).0,
        FileRestoreStatus::All
    );
}

#[test]
fn replace_in_place_rolls_back_at_every_write() {
    every_write(&RestoreMethod::RestoreIfCanReplace, true);
}

#[test]
fn stop_restore_start_rolls_back_at_every_write() {
    every_write(&RestoreMethod::StopRestoreStart, true);
}

#[test]
fn if_not_there_rolls_back_at_every_write() {
    every_write(&RestoreMethod::RestoreIfNotThere, false);
}

#[test]
fn reboot_staging_rolls_back_at_every_write() {
    every_write(&RestoreMethod::RestoreAtReboot, true);
}

#[test]
fn at_reboot_if_cannot_replace_in_place_rolls_back_at_every_write() {
    every_write(&RestoreMethod::RestoreAtRebootIfCannotReplace, true);
}

/// A backup whose read of partial.ndf first runs a hook ("another process" acting).
struct Hooked<F: Fn() + Send + Sync>(MemoryBackup, F);
impl<F: Fn() + Send + Sync> vss_restore::BackupSource for Hooked<F> {
    fn catalog(&self) -> Result<Vec<String>, vss_restore::SourceError> {
        self.0.catalog()
    }
    fn stat(&self, o: &str) -> Result<Option<vss_restore::BackupFile>, vss_restore::SourceError> {
        self.0.stat(o)
    }
    fn read(&self, o: &str, off: u64, buf: &mut [u8]) -> Result<(), vss_restore::SourceError> {
        if o.ends_with("partial.ndf") {
            (self.1)();
        }
        self.0.read(o, off, buf)
    }
}

#[test]
fn rollback_that_cannot_complete_reports_failed() {
    // The last write of an IF_CAN_REPLACE restore fails, and by then another process holds
    // the already restored master.mdf open without delete sharing: the original set aside
    // cannot be put back, so the component is FAILED (not NONE, not ALL) and the error says so.
    let vol = setup(true);
    let w = wmd(RestoreMethod::RestoreIfCanReplace);
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    // Count the writes of an undisturbed run; fail the last one (a range of partial.ndf, the
    // third file). The backup read of partial.ndf opens master.mdf from "another process".
    let (_, n) = scenario(&RestoreMethod::RestoreIfCanReplace, true, None);
    let holder = std::sync::Arc::new(std::sync::Mutex::new(None));
    {
        let vol2 = vol.clone();
        let holder2 = holder.clone();
        let hook = move || {
            let h = vol2.open(
                &vp(&format!(r"{DATA}\master.mdf")),
                platform::OpenOptions::new(
                    platform::Access::READ,
                    platform::ShareMode::READ_WRITE,
                    platform::Disposition::OpenExisting,
                ),
            );
            *holder2.lock().unwrap() = h.ok();
        };
        let b = Hooked(backup(), hook);
        vol.inject(Fault::FailWrite {
            nth: n,
            under: None,
        });
        let env = vss_model::restore_set::Environment::new();
        let host = vss_restore::Host {
            volume: &vol,
            drive: "E:",
            backup: &b,
            chunk_store: None,
            writers: &sim,
            services: &sim,
        };
        let bcd = bcd();
        let spec = vss_restore::RestoreSpec {
            writers: std::slice::from_ref(&w),
            bcd: &bcd,
            selection: &[],
            env: &env,
            volumes: &[],
            catalog: None,
        };
        let report = vss_restore::restore(&host, &spec, &RestoreOptions::default()).unwrap();
        let c = &report.components[0];
        assert_eq!(c.status, FileRestoreStatus::Failed, "{:?}", c.errors);
        assert_eq!(c.outcome, Outcome::Failed);
        assert!(
            c.errors
                .iter()
                .map(ToString::to_string)
                .any(|e| e.contains("rollback") && e.contains("master.mdf")),
            "{:?}",
            c.errors
        );
        assert_eq!(
            sim.events().last(),
            Some(&VssEvent::PostRestore(master(), PStatus::Failed))
        );
    }
    drop(holder);
}
