//! The departures from Microsoft's documented rules found in issue 18, one test each: every
//! one failed on the executor before its fix. The rules and their sources are listed in the
//! crate docs ("Rules and their sources").

mod common;

use common::*;
use platform::{DirectedTargetChange, PreRestoreChanges, ShareMode, Volume as _};
use vss_model::{FileRestoreStatus, RestoreMethod, WriterRestore};
use vss_restore::{FileAction, Outcome, RestoreOptions, RestoreReport};
use winsim::SimVolume;
use winsim::vss::{SimVss, VssEvent};

fn mdf() -> String {
    format!(r"{DATA}\master.mdf")
}
fn ldf() -> String {
    format!(r"{DATA}\mastlog.ldf")
}
fn alt_mdf() -> String {
    format!(r"{ALT}\master.mdf")
}
fn alt_ldf() -> String {
    format!(r"{ALT}\mastlog.ldf")
}

/// Runs the `master` component restore with `method` (mappings to [`ALT`] when `mappings`),
/// after `setup` prepared the volume and the simulated writer.
fn restore_with(
    method: RestoreMethod,
    mappings: bool,
    setup: impl FnOnce(&SimVolume, &SimVss),
) -> (SimVolume, SimVss, RestoreReport) {
    let vol = SimVolume::new(18);
    let wmd = sql_wmd(method, WriterRestore::Always, mappings);
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&wmd));
    setup(&vol, &sim);
    let report = run(
        &vol,
        &sim,
        std::slice::from_ref(&wmd),
        &sql_bcd(),
        &sql_backup(),
        &RestoreOptions::default(),
    );
    (vol, sim, report)
}

/// The filespecs of the alternate mappings the BCD records for `master`.
fn bcd_mappings(r: &RestoreReport) -> Vec<String> {
    let st = r.bcd.writers[0].components[0].restore.as_ref().unwrap();
    let mut v: Vec<String> = st
        .alternate_mappings_used
        .iter()
        .map(|m| {
            assert_eq!(m.destination, ALT);
            assert_eq!(m.path, DATA);
            m.filespec.clone()
        })
        .collect();
    v.sort();
    v
}

fn bcd_status(r: &RestoreReport) -> Option<FileRestoreStatus> {
    r.bcd.writers[0].components[0]
        .restore
        .as_ref()
        .and_then(|s| s.file_restore_status.clone())
}

/// Item 1: RESTORE_IF_NOT_THERE with mappings, a directory squatting on `master.mdf`'s path: a
/// file of the component exists at the original location, so the component goes to the
/// alternate location (VSS_RESTOREMETHOD_ENUM), and the mappings are recorded.
#[test]
fn if_not_there_falls_back_to_the_mapping_whatever_occupies_the_path() {
    let (vol, _, r) = restore_with(RestoreMethod::RestoreIfNotThere, true, |vol, _| {
        vol.create_dir_all(&vp(&mdf())).unwrap();
    });
    let c = &r.components[0];
    assert_eq!(c.status, FileRestoreStatus::All, "{:?}", c.errors);
    assert_eq!(c.outcome, Outcome::Restored);
    assert_eq!(read(&vol, &alt_mdf()), Some(new_mdf()));
    assert_eq!(read(&vol, &alt_ldf()), Some(new_ldf()));
    assert!(vol.metadata(&vp(&mdf())).unwrap().is_dir(), "left alone");
    assert_eq!(read(&vol, &ldf()), None, "nothing written in place");
    assert_eq!(bcd_mappings(&r), ["master.mdf", "mastlog.ldf"]);
    assert_eq!(c.alternate_mappings_used.len(), 2);
    assert_eq!(bcd_status(&r), Some(FileRestoreStatus::All));
}

/// Item 2: RESTORE_AT_REBOOT with the ALTERNATE target stages the files through the mappings:
/// the mappings used are recorded (AddAlternativeLocationMapping), in the report and the BCD.
#[test]
fn files_staged_through_a_mapping_record_it() {
    for method in [
        RestoreMethod::RestoreAtReboot,
        RestoreMethod::RestoreAtRebootIfCannotReplace,
    ] {
        let (vol, _, r) = restore_with(method.clone(), true, |vol, sim| {
            // Copies at the alternate location held open: staging is the only way there.
            vol.write_file(&vp(&alt_mdf()), b"old alt").unwrap();
            vol.write_file(&vp(&alt_ldf()), b"old alt").unwrap();
            sim.lock_files(SERVICE, &[vp(&alt_mdf()), vp(&alt_ldf())], ShareMode::READ);
            sim.on_pre_restore(
                master(),
                PreRestoreChanges {
                    restore_target: Some("ALTERNATE".to_owned()),
                    ..PreRestoreChanges::default()
                },
            );
        });
        let c = &r.components[0];
        assert_eq!(
            c.outcome,
            Outcome::StagedForReboot,
            "{method}: {:?}",
            c.errors
        );
        let pend = pending(&vol);
        assert_eq!(pend.len(), 2, "{method}");
        for op in &pend {
            assert!(
                op.destination
                    .as_ref()
                    .is_some_and(|d| d.starts_with(&vp(ALT))),
                "{method}: {op:?}"
            );
        }
        assert_eq!(c.alternate_mappings_used.len(), 2, "{method}");
        assert_eq!(bcd_mappings(&r), ["master.mdf", "mastlog.ldf"], "{method}");
    }
}

/// Item 3: every file skipped because a copy already exists at the alternate location means
/// no file was restored: status NONE (VSS_FILE_RESTORE_STATUS), no mapping recorded, and the
/// writer is told NONE.
#[test]
fn nothing_restored_is_status_none_and_records_no_mapping() {
    let (vol, sim, r) = restore_with(RestoreMethod::RestoreIfNotThere, true, |vol, _| {
        for p in [mdf(), ldf(), alt_mdf(), alt_ldf()] {
            vol.write_file(&vp(&p), b"already there").unwrap();
        }
    });
    let c = &r.components[0];
    assert_eq!(c.status, FileRestoreStatus::None, "{:?}", c.files);
    assert_eq!(c.outcome, Outcome::NotRestored);
    assert!(!c.errors.is_empty(), "says why");
    assert_eq!(c.status_history, [FileRestoreStatus::None]);
    assert!(
        c.files
            .iter()
            .all(|f| f.action == FileAction::SkippedExistsAtAlternate),
        "{:?}",
        c.files
    );
    assert!(c.alternate_mappings_used.is_empty());
    assert!(bcd_mappings(&r).is_empty());
    assert_eq!(bcd_status(&r), Some(FileRestoreStatus::None));
    assert!(sim.events().contains(&VssEvent::PostRestore(
        master(),
        platform::FileRestoreStatus::None
    )));
    for p in [mdf(), ldf(), alt_mdf(), alt_ldf()] {
        assert_eq!(read(&vol, &p), Some(b"already there".to_vec()), "{p}");
    }
}

/// Item 3, the converse: a mapping is recorded only for the file sets written through it;
/// `master.mdf` (its copy at the alternate location kept) gets none.
#[test]
fn a_mapping_is_recorded_only_for_file_sets_written_through_it() {
    let (vol, _, r) = restore_with(RestoreMethod::RestoreIfNotThere, true, |vol, _| {
        for p in [mdf(), ldf(), alt_mdf()] {
            vol.write_file(&vp(&p), b"already there").unwrap();
        }
    });
    let c = &r.components[0];
    assert_eq!(c.status, FileRestoreStatus::All, "{:?}", c.errors);
    assert_eq!(read(&vol, &alt_mdf()), Some(b"already there".to_vec()));
    assert_eq!(read(&vol, &alt_ldf()), Some(new_ldf()));
    assert_eq!(bcd_mappings(&r), ["mastlog.ldf"]);
    assert_eq!(c.alternate_mappings_used.len(), 1);
}

/// Item 4: the DIRECTED target remaps the files the writer directs; the component's other
/// files keep its restore method. Under RESTORE_IF_NOT_THERE a present `mastlog.ldf` is never
/// overwritten: without mappings nothing of the component is restored; with mappings it goes
/// to its alternate location and the directed file to its directed target.
#[test]
fn directed_target_keeps_if_not_there_for_files_without_a_directed_entry() {
    let directed = |vol: &SimVolume, sim: &SimVss| {
        vol.write_file(&vp(&ldf()), &old_ldf()).unwrap();
        let n = new_mdf().len();
        sim.on_pre_restore(
            master(),
            PreRestoreChanges {
                restore_target: Some("DIRECTED".to_owned()),
                directed_targets: vec![DirectedTargetChange {
                    source_path: DATA.to_owned(),
                    source_filename: "master.mdf".to_owned(),
                    source_ranges: format!("0:{n}"),
                    destination_path: r"E:\Directed".to_owned(),
                    destination_filename: "master.mdf".to_owned(),
                    destination_ranges: format!("0:{n}"),
                }],
            },
        );
    };
    let (vol, _, r) = restore_with(RestoreMethod::RestoreIfNotThere, false, directed);
    let c = &r.components[0];
    assert_eq!(c.status, FileRestoreStatus::None, "{:?}", c.files);
    assert_eq!(c.outcome, Outcome::NotRestored);
    assert_eq!(read(&vol, &ldf()), Some(old_ldf()), "never overwritten");
    assert_eq!(read(&vol, r"E:\Directed\master.mdf"), None);
    assert_eq!(vol.all_files().len(), 1);

    let (vol, _, r) = restore_with(RestoreMethod::RestoreIfNotThere, true, directed);
    let c = &r.components[0];
    assert_eq!(c.status, FileRestoreStatus::All, "{:?}", c.errors);
    assert_eq!(read(&vol, &ldf()), Some(old_ldf()), "never overwritten");
    assert_eq!(read(&vol, &alt_ldf()), Some(new_ldf()));
    assert_eq!(read(&vol, r"E:\Directed\master.mdf"), Some(new_mdf()));
    assert_eq!(bcd_mappings(&r), ["mastlog.ldf"]);
}

/// Item 6: a CUSTOM writer with no handler registered is not involved ("Restores without
/// Writer Participation"): no PreRestore, no PostRestore, the component is not selected for
/// restore in the BCD and gets no status there; the report says a custom restore is needed.
#[test]
fn a_custom_writer_without_a_handler_gets_no_events() {
    let (vol, sim, r) = restore_with(RestoreMethod::Custom, true, |_, _| {});
    let c = &r.components[0];
    assert_eq!(c.outcome, Outcome::CustomRestoreRequired);
    assert_eq!(c.status, FileRestoreStatus::None);
    assert!(sim.events().is_empty(), "{:?}", sim.events());
    assert!(
        r.bcd.writers[0].components[0]
            .restore
            .as_ref()
            .is_none_or(|s| s.selected_for_restore != Some(true) && s.file_restore_status.is_none()),
        "{:?}",
        r.bcd.writers[0].components[0].restore
    );
    assert!(vol.all_files().is_empty());
}
