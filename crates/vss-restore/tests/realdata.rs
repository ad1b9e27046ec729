//! The real documents of `shared/realdata/vss` (a Windows Server 2012-era host with SQL Server
//! 2017): all 11 saved WMDs and the real BCD; three of its system-state components restored
//! onto a simulated C: with their real methods — WMI (REPLACE_AT_REBOOT, rebootRequired),
//! Task Scheduler (REPLACE_AT_REBOOT_IF_CANNOT_REPLACE, files replaceable) and Performance
//! Counters (REPLACE_AT_REBOOT_IF_CANNOT_REPLACE, one file locked by its service: every file
//! of the component is staged). All three writers are `writerRestore="never"`: no events.

mod common;

use common::*;
use platform::ShareMode;
use vss_model::restore_set::Environment;
use vss_model::{BackupComponents, FileRestoreStatus, WriterMetadata};
use vss_restore::{FileAction, Host, MemoryBackup, Outcome, RestoreOptions, RestoreSpec};
use winsim::SimVolume;
use winsim::vss::SimVss;

#[test]
fn real_wmds_and_bcd_system_state_components() {
    let Some(root) = test_support::realdata(env!("CARGO_MANIFEST_DIR")) else {
        eprintln!("SKIPPED: shared/realdata not found");
        return;
    };
    let dir = root.join("vss/kevingoode-vssbackup/with_sql");
    let mut wmds = Vec::new();
    for i in 0..=10 {
        let bytes = std::fs::read(dir.join(format!("WM{i}.xml"))).unwrap();
        wmds.push(WriterMetadata::from_bytes(&bytes).unwrap());
    }
    let bcd =
        BackupComponents::from_bytes(&std::fs::read(dir.join("BCDocument.xml")).unwrap()).unwrap();

    let files = [
        (
            r"C:\Windows\system32\wbem\repository\OBJECTS.DATA",
            b"wmi objects".to_vec(),
        ),
        (
            r"C:\Windows\system32\wbem\repository\INDEX.BTR",
            b"wmi index".to_vec(),
        ),
        (
            r"C:\Windows\System32\Tasks\Microsoft\Backup\Nightly",
            b"<Task/>".to_vec(),
        ),
        (
            r"C:\Windows\System32\Perfc009.dat",
            b"perf counters 009".to_vec(),
        ),
        (
            r"C:\Windows\System32\Perfh009.dat",
            b"perf help 009".to_vec(),
        ),
    ];
    let mut backup = MemoryBackup::new();
    for (p, b) in &files {
        backup.insert(p, b.clone());
    }
    let vol = SimVolume::new(2);
    for (p, _) in &files {
        vol.write_file(&vp(p), b"on disk before").unwrap();
    }
    let sim = SimVss::from_wmds(&vol, &wmds);
    sim.lock_files("PerfHost", &[vp(files[3].0)], ShareMode::READ);

    let env = Environment::windows_defaults("C:");
    let selection = [
        "WMI".to_owned(),
        "TasksStore".to_owned(),
        "PerformanceCounters".to_owned(),
    ];
    let host = Host {
        volume: &vol,
        drive: "C:",
        backup: &backup,
        chunk_store: None,
        writers: &sim,
        services: &sim,
    };
    let spec = RestoreSpec {
        writers: &wmds,
        bcd: &bcd,
        selection: &selection,
        env: &env,
        volumes: &[],
        catalog: None,
    };
    let r = vss_restore::restore(&host, &spec, &RestoreOptions::default()).unwrap();
    assert_eq!(
        r.components.len(),
        3,
        "{:?}",
        r.components
            .iter()
            .map(|c| &c.component)
            .collect::<Vec<_>>()
    );
    assert!(sim.events().is_empty(), "never writers get no events");

    let wmi = r.component("WMI").unwrap();
    assert_eq!(wmi.outcome, Outcome::StagedForReboot, "{:?}", wmi.errors);
    assert_eq!(wmi.files.len(), 2);
    let tasks = r.component("TasksStore").unwrap();
    assert_eq!(tasks.outcome, Outcome::Restored, "{:?}", tasks.errors);
    let perf = r.component("PerformanceCounters").unwrap();
    assert_eq!(perf.outcome, Outcome::StagedForReboot, "{:?}", perf.errors);
    assert!(
        perf.files
            .iter()
            .all(|f| matches!(f.action, FileAction::StagedForReboot { .. })),
        "every file of the component is staged, also the unlocked one"
    );
    assert!(
        r.components
            .iter()
            .all(|c| c.status == FileRestoreStatus::All)
    );
    assert!(r.reboot_required);

    assert_eq!(
        read(&vol, files[2].0).as_deref(),
        Some(&files[2].1[..]),
        "tasks in place"
    );
    assert_eq!(
        read(&vol, files[0].0).as_deref(),
        Some(&b"on disk before"[..]),
        "WMI waits for the reboot"
    );
    let pend = pending(&vol);
    assert_eq!(pend.len(), 4);
    assert!(pend.iter().all(|p| p.replace_existing));
    assert!(vol.reboot().iter().all(|o| o.error.is_none()));
    for (p, b) in &files {
        assert_eq!(read(&vol, p).as_deref(), Some(&b[..]), "{p} after reboot");
    }
    assert_eq!(vol.all_files().len(), files.len(), "no temporary file left");
}
