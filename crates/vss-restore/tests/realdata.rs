//! The real documents of `fixtures/vss` (a Windows Server 2012-era host with SQL Server
//! 2017): all 11 saved WMDs and the real BCD; three of its system-state components restored
//! onto a simulated C: with their real methods — WMI (REPLACE_AT_REBOOT, rebootRequired),
//! Task Scheduler (REPLACE_AT_REBOOT_IF_CANNOT_REPLACE, files replaceable) and Performance
//! Counters (REPLACE_AT_REBOOT_IF_CANNOT_REPLACE, one file locked by its service: every file
//! of the component is staged). All three writers are `writerRestore="never"`: no events.

mod common;

use std::fmt::Write as _;

use common::*;
use platform::FileRestoreStatus as S;
use platform::ShareMode;
use vss_model::restore_set::Environment;
use vss_model::{BackupComponents, FileRestoreStatus, WriterMetadata};
use vss_restore::{FileAction, Host, MemoryBackup, Outcome, RestoreOptions, RestoreSpec};
use winsim::SimVolume;
use winsim::vss::SimVss;
use winsim::vss::VssEvent as E;

#[test]
fn real_wmds_and_bcd_system_state_components() {
    let root = test_support::fixtures();
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

#[test]
fn real_sql_writer_three_databases_events_in_order() {
    let root = test_support::fixtures();
    let bytes = std::fs::read(root.join("vss/kevingoode-vssbackup/with_sql/WM4.xml")).unwrap();
    let wmd = WriterMetadata::from_bytes(&bytes).unwrap();
    let comps = ["master", "model", "msdb"];
    let mut xml = String::from(
        r#"<BACKUP_COMPONENTS xmlns="x-schema:#VssComponentMetadata" version="1.2" selectComponents="yes" backupType="full"><WRITER_COMPONENTS instanceId="dd8d6255-b3bb-4ec1-8249-73cd75c0ee21" writerId="a65faa63-5ea8-4ebc-9dbd-a0c4db26912a" backupSchema="881">"#,
    );
    for c in comps {
        let _ = write!(
            xml,
            r#"<COMPONENT logicalPath="WIN2012-SQL17-2" componentName="{c}" componentType="filegroup"/>"#
        );
    }
    xml.push_str("</WRITER_COMPONENTS></BACKUP_COMPONENTS>");
    let bcd = BackupComponents::from_xml(&xml).unwrap();
    let files = [
        "master.mdf",
        "mastlog.ldf",
        "model.mdf",
        "modellog.ldf",
        "MSDBData.mdf",
        "MSDBLog.ldf",
    ];
    let mut backup = MemoryBackup::new();
    let vol = SimVolume::new(5);
    for f in files {
        backup.insert(
            &format!(r"{DATA}\{f}"),
            format!("backup of {f}").into_bytes(),
        );
        vol.write_file(&vp(&format!(r"{DATA}\{f}")), b"live")
            .unwrap();
    }
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&wmd));
    // The running server holds model's files: model cannot be replaced; msdb's writer vetoes.
    sim.lock_files(
        "MSSQLSERVER",
        &[
            vp(&format!(r"{DATA}\model.mdf")),
            vp(&format!(r"{DATA}\modellog.ldf")),
        ],
        ShareMode::READ,
    );
    let msdb = platform::ComponentRef::new(WRITER_ID, "WIN2012-SQL17-2", "msdb");
    sim.fail_pre_restore(msdb.clone(), "msdb is in use");
    let base = vol.io_counts().writes;
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&wmd),
        &bcd,
        &backup,
        &RestoreOptions::default(),
    );
    let status: Vec<_> = r
        .components
        .iter()
        .map(|c| (c.component.clone(), c.status.clone()))
        .collect();
    assert_eq!(
        status,
        [
            (r"WIN2012-SQL17-2\master".to_owned(), FileRestoreStatus::All),
            (r"WIN2012-SQL17-2\model".to_owned(), FileRestoreStatus::None),
            (r"WIN2012-SQL17-2\msdb".to_owned(), FileRestoreStatus::None),
        ]
    );
    assert_eq!(r.components[1].outcome, Outcome::NotRestored);
    assert_eq!(r.components[2].outcome, Outcome::WriterError);
    let model = platform::ComponentRef::new(WRITER_ID, "WIN2012-SQL17-2", "model");
    let log = sim.log();
    let events: Vec<E> = log.iter().map(|l| l.event.clone()).collect();
    assert_eq!(
        events,
        [
            E::PreRestore(master()),
            E::PreRestore(model.clone()),
            E::PreRestore(msdb.clone()),
            E::PostRestore(master(), S::All),
            E::PostRestore(model, S::None),
            E::PostRestore(msdb, S::None),
        ]
    );
    assert!(
        log[..3].iter().all(|l| l.writes_before == base),
        "every PreRestore before any write"
    );
    assert!(
        log[3..].iter().all(|l| l.writes_before > base),
        "every PostRestore after the copy"
    );
    assert_eq!(
        read(&vol, &format!(r"{DATA}\master.mdf")).as_deref(),
        Some(&b"backup of master.mdf"[..])
    );
    assert_eq!(
        read(&vol, &format!(r"{DATA}\model.mdf")).as_deref(),
        Some(&b"live"[..])
    );
    assert_eq!(
        read(&vol, &format!(r"{DATA}\MSDBData.mdf")).as_deref(),
        Some(&b"live"[..])
    );
}
