//! The restore sequence around the copy: which writers get PreRestore / PostRestore
//! (writerRestore never / ifReplaceFails / always), PreRestore and PostRestore failures, the
//! writer checking the disk in PostRestore, CUSTOM with and without a handler, new targets, and
//! whole-file restores that shrink a longer file.

mod common;

use std::sync::Arc;

use common::*;
use platform::{FileRestoreStatus as PStatus, ShareMode};
use vss_model::bcd::{NewTarget, RestoreState};
use vss_model::{FileRestoreStatus, Guid, RestoreMethod, WriterRestore};
use vss_restore::{CustomHandler, FileAction, Outcome, RequesterEvent, RestoreOptions};
use winsim::SimVolume;
use winsim::vss::{SimVss, VssEvent};

fn mdf() -> String {
    format!(r"{DATA}\master.mdf")
}
fn ldf() -> String {
    format!(r"{DATA}\mastlog.ldf")
}

#[test]
fn never_writers_get_no_events_but_their_files_are_restored() {
    let vol = SimVolume::new(1);
    let w = sql_wmd(
        RestoreMethod::RestoreIfCanReplace,
        WriterRestore::Never,
        false,
    );
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &sql_bcd(),
        &sql_backup(),
        &RestoreOptions::default(),
    );
    assert_eq!(r.components[0].status, FileRestoreStatus::All);
    assert!(sim.events().is_empty(), "{:?}", sim.events());
    assert!(!r.events.iter().any(|e| matches!(
        e,
        RequesterEvent::PreRestore { .. } | RequesterEvent::PostRestore { .. }
    )));
    assert_eq!(read(&vol, &mdf()), Some(new_mdf()));
}

#[test]
fn if_replace_fails_writers_get_post_restore_only_when_the_restore_failed() {
    // Succeeds: PreRestore only.
    let vol = SimVolume::new(1);
    let w = sql_wmd(
        RestoreMethod::RestoreIfCanReplace,
        WriterRestore::IfReplaceFails,
        false,
    );
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &sql_bcd(),
        &sql_backup(),
        &RestoreOptions::default(),
    );
    assert_eq!(r.components[0].status, FileRestoreStatus::All);
    assert_eq!(sim.events(), [VssEvent::PreRestore(master())]);

    // Cannot replace (locked, no mapping): PreRestore, then PostRestore(NONE).
    let vol = SimVolume::new(1);
    vol.write_file(&vp(&mdf()), &old_mdf()).unwrap();
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    sim.lock_files("sqlservr", &[vp(&mdf())], ShareMode::READ);
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &sql_bcd(),
        &sql_backup(),
        &RestoreOptions::default(),
    );
    let c = &r.components[0];
    assert_eq!(c.status, FileRestoreStatus::None);
    assert_eq!(c.outcome, Outcome::NotRestored);
    assert!(
        c.errors
            .iter()
            .map(ToString::to_string)
            .any(|e| e.contains("cannot be replaced") && e.contains("master.mdf")),
        "{:?}",
        c.errors
    );
    assert_eq!(
        sim.events(),
        [
            VssEvent::PreRestore(master()),
            VssEvent::PostRestore(master(), PStatus::None)
        ]
    );
    assert_eq!(read(&vol, &mdf()), Some(old_mdf()));
    assert_eq!(
        read(&vol, &ldf()),
        None,
        "restore none: not even the unlocked file"
    );
}

#[test]
fn pre_restore_failure_restores_nothing_and_is_recorded() {
    let vol = SimVolume::new(1);
    let w = sql_wmd(
        RestoreMethod::StopRestoreStart,
        WriterRestore::Always,
        false,
    );
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    sim.fail_pre_restore(master(), "database in use");
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &sql_bcd(),
        &sql_backup(),
        &RestoreOptions::default(),
    );
    let c = &r.components[0];
    assert_eq!(c.status, FileRestoreStatus::None);
    assert_eq!(c.outcome, Outcome::WriterError);
    assert_eq!(
        c.pre_restore_failure.as_ref().map(|e| e.reason.as_str()),
        Some("database in use")
    );
    let st = r.bcd.writers[0].components[0].restore.as_ref().unwrap();
    assert_eq!(st.pre_restore_failure.as_deref(), Some("database in use"));
    assert_eq!(st.file_restore_status, Some(FileRestoreStatus::None));
    // No service stop for a component whose writer vetoed; PostRestore(NONE) still goes out.
    assert_eq!(
        sim.events(),
        [
            VssEvent::PreRestore(master()),
            VssEvent::PostRestore(master(), PStatus::None)
        ]
    );
    assert!(vol.all_files().is_empty());
}

#[test]
fn post_restore_checks_the_disk_and_failures_are_recorded() {
    let vol = SimVolume::new(1);
    let w = sql_wmd(
        RestoreMethod::RestoreIfCanReplace,
        WriterRestore::Always,
        false,
    );
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    sim.expect_on_disk(master(), vp(&mdf()), Some(new_mdf()));
    sim.expect_on_disk(master(), vp(&ldf()), Some(new_ldf()));
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &sql_bcd(),
        &sql_backup(),
        &RestoreOptions::default(),
    );
    assert!(
        r.components[0].post_restore_failure.is_none(),
        "{:?}",
        r.components[0].errors
    );
    assert!(sim.events().contains(&VssEvent::CheckPassed(master())));

    // The writer expects something else on disk: PostRestore fails, the message is kept.
    let vol = SimVolume::new(1);
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    sim.expect_on_disk(
        master(),
        vp(&mdf()),
        Some(b"what the writer wanted".to_vec()),
    );
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &sql_bcd(),
        &sql_backup(),
        &RestoreOptions::default(),
    );
    let c = &r.components[0];
    assert_eq!(c.status, FileRestoreStatus::All, "the files were restored");
    let msg = c
        .post_restore_failure
        .as_ref()
        .map(|e| e.reason.as_str())
        .unwrap();
    assert!(
        msg.contains("master.mdf") && msg.contains("contents differ"),
        "{msg}"
    );
    let st = r.bcd.writers[0].components[0].restore.as_ref().unwrap();
    assert_eq!(st.post_restore_failure.as_deref(), Some(msg));
    assert!(matches!(
        r.events.last(),
        Some(RequesterEvent::PostRestore { ok: false, .. })
    ));
}

#[test]
fn custom_method_needs_a_handler() {
    let vol = SimVolume::new(1);
    let w = sql_wmd(RestoreMethod::Custom, WriterRestore::Always, false);
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &sql_bcd(),
        &sql_backup(),
        &RestoreOptions::default(),
    );
    let c = &r.components[0];
    assert_eq!(c.outcome, Outcome::CustomRestoreRequired);
    assert_eq!(c.status, FileRestoreStatus::None);
    assert!(
        c.errors
            .iter()
            .map(ToString::to_string)
            .any(|e| e.contains("custom restore required") && e.contains("master"))
    );
    assert!(vol.all_files().is_empty());

    // With a handler: it gets every file and its destination.
    let vol = SimVolume::new(1);
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    let handler: CustomHandler = Arc::new(|ctx| {
        for (src, dest) in ctx.files {
            let v = ctx.volume;
            v.create_dir_all(&dest.parent().unwrap())
                .map_err(|e| e.to_string())?;
            let h = v
                .open(
                    dest,
                    platform::OpenOptions::new(
                        platform::Access::READ_WRITE,
                        ShareMode::NONE,
                        platform::Disposition::CreateAlways,
                    ),
                )
                .map_err(|e| e.to_string())?;
            h.write_all_at(0, format!("custom:{src}").as_bytes())
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    });
    let opts = RestoreOptions {
        custom: vec![(WRITER_ID.parse::<Guid>().unwrap(), handler)],
        ..RestoreOptions::default()
    };
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &sql_bcd(),
        &sql_backup(),
        &opts,
    );
    let c = &r.components[0];
    assert_eq!(c.status, FileRestoreStatus::All, "{:?}", c.errors);
    assert_eq!(
        read(&vol, &mdf()),
        Some(format!("custom:{}", mdf()).into_bytes())
    );
}

#[test]
fn new_target_is_followed_and_recorded() {
    let vol = SimVolume::new(1);
    let w = sql_wmd(
        RestoreMethod::RestoreIfCanReplace,
        WriterRestore::Always,
        false,
    );
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    let mut bcd = sql_bcd();
    bcd.writers[0].components[0].restore = Some(RestoreState {
        new_targets: vec![NewTarget {
            path: DATA.to_owned(),
            filespec: "master.mdf".to_owned(),
            recursive: Some(false),
            alternate_path: r"E:\NewHome".to_owned(),
            other_attributes: Vec::new(),
            other_children: Vec::new(),
        }],
        ..RestoreState::default()
    });
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &bcd,
        &sql_backup(),
        &RestoreOptions::default(),
    );
    let c = &r.components[0];
    assert_eq!(c.status, FileRestoreStatus::All, "{:?}", c.errors);
    assert_eq!(read(&vol, r"E:\NewHome\master.mdf"), Some(new_mdf()));
    assert_eq!(read(&vol, &ldf()), Some(new_ldf()));
    assert_eq!(read(&vol, &mdf()), None);
    assert_eq!(c.new_targets, [r"E:\NewHome\master.mdf".to_owned()]);
}

#[test]
fn whole_files_take_the_backup_size() {
    let vol = SimVolume::new(1);
    vol.write_file(&vp(&mdf()), &vec![9u8; 200_000]).unwrap();
    let w = sql_wmd(
        RestoreMethod::RestoreIfCanReplace,
        WriterRestore::Always,
        false,
    );
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &sql_bcd(),
        &sql_backup(),
        &RestoreOptions::default(),
    );
    assert_eq!(r.components[0].status, FileRestoreStatus::All);
    assert_eq!(
        read(&vol, &mdf()),
        Some(new_mdf()),
        "shrunk to the backed-up size"
    );
    assert!(
        r.components[0]
            .files
            .iter()
            .all(|f| f.action == FileAction::Written)
    );
}

#[test]
fn service_that_will_not_stop_blocks_the_component() {
    let vol = SimVolume::new(1);
    vol.write_file(&vp(&mdf()), &old_mdf()).unwrap();
    let w = sql_wmd(
        RestoreMethod::StopRestoreStart,
        WriterRestore::Always,
        false,
    );
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    sim.set_service_failures(SERVICE, true, false);
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &sql_bcd(),
        &sql_backup(),
        &RestoreOptions::default(),
    );
    let c = &r.components[0];
    assert_eq!(c.status, FileRestoreStatus::None);
    assert!(
        c.errors
            .iter()
            .map(ToString::to_string)
            .any(|e| e.contains("could not stop the service")),
        "{:?}",
        c.errors
    );
    assert_eq!(read(&vol, &mdf()), Some(old_mdf()));
    assert_eq!(
        sim.events(),
        [
            VssEvent::PreRestore(master()),
            VssEvent::ServiceFailed {
                name: SERVICE.to_owned(),
                request: "stop"
            },
            VssEvent::PostRestore(master(), PStatus::None)
        ]
    );
}

#[test]
fn post_restore_failure_injected_by_the_writer_is_recorded() {
    let vol = SimVolume::new(1);
    let w = sql_wmd(
        RestoreMethod::RestoreIfCanReplace,
        WriterRestore::Always,
        false,
    );
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    sim.fail_post_restore(master(), "VSS_E_WRITERERROR_NONRETRYABLE: recovery failed");
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &sql_bcd(),
        &sql_backup(),
        &RestoreOptions::default(),
    );
    let c = &r.components[0];
    assert_eq!(c.status, FileRestoreStatus::All);
    assert_eq!(
        c.post_restore_failure.as_ref().map(|e| e.reason.as_str()),
        Some("VSS_E_WRITERERROR_NONRETRYABLE: recovery failed")
    );
    assert!(
        c.errors
            .iter()
            .map(ToString::to_string)
            .any(|e| e.contains("PostRestore failed") && e.contains("master"))
    );
    assert_eq!(
        sim.events(),
        [
            VssEvent::PreRestore(master()),
            VssEvent::PostRestore(master(), PStatus::All)
        ]
    );
}
