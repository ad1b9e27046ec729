//! Every restore method × every restore target × every disk state (absent, present and
//! replaceable, present and locked by the running service), against an oracle that states the
//! decision table of docs/vss-restore.md §3.2 case by case. Each case checks the files on disk, the pending
//! renames (and that reboot() applies them), the component's status and outcome, the writer
//! and service events in order, and the alternate mappings recorded in the BCD.

#![allow(clippy::needless_range_loop)]

mod common;

use common::*;
use platform::{DirectedTargetChange, PreRestoreChanges, ShareMode};
use vss_model::{FileRestoreStatus, RestoreMethod, WriterRestore};
use vss_restore::{Outcome, RestoreOptions};
use winsim::SimVolume;
use winsim::vss::{SimVss, VssEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Absent,
    Replaceable,
    Locked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Where {
    Nowhere,
    Original,
    Alternate,
    /// master.mdf to its directed target, mastlog.ldf (no directed target) in place.
    Directed,
    /// master.mdf to its directed target, mastlog.ldf (no directed target, present in place,
    /// RESTORE_IF_NOT_THERE) to its alternate location.
    DirectedAlt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Svc {
    None,
    /// Stopped after PreRestore, started after copying, before PostRestore.
    AroundCopy,
    /// Stopped and started after PostRestore.
    AfterPost,
}

#[derive(Debug)]
struct Expect {
    status: FileRestoreStatus,
    outcome: Outcome,
    at: Where,
    staged: bool,
    /// Alternate mappings recorded (one per file set written through one).
    mappings: usize,
    svc: Svc,
}

const METHODS: [RestoreMethod; 8] = [
    RestoreMethod::RestoreIfNotThere,
    RestoreMethod::RestoreIfCanReplace,
    RestoreMethod::StopRestoreStart,
    RestoreMethod::RestoreStopStart,
    RestoreMethod::RestoreToAlternateLocation,
    RestoreMethod::RestoreAtReboot,
    RestoreMethod::RestoreAtRebootIfCannotReplace,
    RestoreMethod::Custom,
];
const TARGETS: [&str; 5] = [
    "ORIGINAL",
    "ALTERNATE",
    "DIRECTED",
    "ORIGINAL_LOCATION",
    "UNDEFINED",
];
const STATES: [State; 3] = [State::Absent, State::Replaceable, State::Locked];

/// The decision table (docs/vss-restore.md §3.2, §3.3, §3.4), as this executor implements it.
fn oracle(m: &RestoreMethod, t: &str, s: State) -> Expect {
    use RestoreMethod as M;
    let ok = |at, mappings| Expect {
        status: FileRestoreStatus::All,
        outcome: Outcome::Restored,
        at,
        staged: false,
        mappings,
        svc: Svc::None,
    };
    let none = |outcome| Expect {
        status: FileRestoreStatus::None,
        outcome,
        at: Where::Nowhere,
        staged: false,
        mappings: 0,
        svc: Svc::None,
    };
    let staged = |at, mappings| Expect {
        status: FileRestoreStatus::All,
        outcome: Outcome::StagedForReboot,
        at,
        staged: true,
        mappings,
        svc: Svc::None,
    };
    // CUSTOM without a handler: the writer is left out (no PreRestore, so no target either).
    if *m == M::Custom {
        return none(Outcome::CustomRestoreRequired);
    }
    // UNDEFINED target: writer error, whatever the method.
    if t == "UNDEFINED" {
        return none(Outcome::WriterError);
    }
    // A running service keeps its files locked unless the method stops it first.
    let locked = s == State::Locked && *m != M::StopRestoreStart;
    let mut e = match (m, t) {
        // Staged through the mappings: recorded (AddAlternativeLocationMapping).
        (M::RestoreAtReboot, "ALTERNATE") => staged(Where::Alternate, 2),
        (M::RestoreAtReboot, "DIRECTED") => staged(Where::Directed, 0),
        (M::RestoreAtReboot, _) => staged(Where::Original, 0),
        (_, "ALTERNATE") | (M::RestoreToAlternateLocation, "ORIGINAL") => ok(Where::Alternate, 2),
        // DIRECTED: the file without a directed entry keeps the method; present in place
        // under IF_NOT_THERE, it goes to its mapping (never overwritten).
        (M::RestoreIfNotThere, "DIRECTED") if s != State::Absent => ok(Where::DirectedAlt, 1),
        (M::RestoreIfCanReplace, "DIRECTED") if locked => ok(Where::DirectedAlt, 1),
        (M::RestoreAtRebootIfCannotReplace, "DIRECTED") if locked => staged(Where::Directed, 0),
        (_, "DIRECTED") if locked => none(Outcome::NotRestored),
        (_, "DIRECTED") => ok(Where::Directed, 0),
        (M::RestoreIfNotThere, _) if s == State::Absent => ok(Where::Original, 0),
        (M::RestoreIfNotThere, "ORIGINAL") => ok(Where::Alternate, 2),
        (M::RestoreIfNotThere, _) => none(Outcome::NotRestored),
        (M::RestoreIfCanReplace, "ORIGINAL") if locked => ok(Where::Alternate, 2),
        (M::RestoreAtRebootIfCannotReplace, _) if locked => staged(Where::Original, 0),
        (_, _) if locked => none(Outcome::NotRestored),
        (_, _) => ok(Where::Original, 0),
    };
    e.svc = match m {
        M::StopRestoreStart => Svc::AroundCopy,
        M::RestoreStopStart if e.status == FileRestoreStatus::All => Svc::AfterPost,
        _ => Svc::None,
    };
    e
}

fn dest_paths(at: Where) -> [String; 2] {
    match at {
        Where::Alternate => [format!(r"{ALT}\master.mdf"), format!(r"{ALT}\mastlog.ldf")],
        Where::Directed => [
            r"E:\Directed\master.mdf".to_owned(),
            format!(r"{DATA}\mastlog.ldf"),
        ],
        Where::DirectedAlt => [
            r"E:\Directed\master.mdf".to_owned(),
            format!(r"{ALT}\mastlog.ldf"),
        ],
        _ => [
            format!(r"{DATA}\master.mdf"),
            format!(r"{DATA}\mastlog.ldf"),
        ],
    }
}

fn run_case(m: &RestoreMethod, t: &str, s: State) {
    let case = format!("{m} × {t} × {s:?}");
    let e = oracle(m, t, s);
    let vol = SimVolume::new(7);
    let orig = [
        format!(r"{DATA}\master.mdf"),
        format!(r"{DATA}\mastlog.ldf"),
    ];
    if s != State::Absent {
        vol.write_file(&vp(&orig[0]), &old_mdf()).unwrap();
        vol.write_file(&vp(&orig[1]), &old_ldf()).unwrap();
    }
    let wmd = sql_wmd(m.clone(), WriterRestore::Always, true);
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&wmd));
    if s == State::Locked {
        sim.lock_files(SERVICE, &[vp(&orig[0]), vp(&orig[1])], ShareMode::READ);
    }
    if t != "ORIGINAL" {
        let mut ch = PreRestoreChanges {
            restore_target: Some(t.to_owned()),
            ..PreRestoreChanges::default()
        };
        if t == "DIRECTED" {
            let n = new_mdf().len();
            ch.directed_targets.push(DirectedTargetChange {
                source_path: DATA.to_owned(),
                source_filename: "master.mdf".to_owned(),
                source_ranges: format!("0:{n}"),
                destination_path: r"E:\Directed".to_owned(),
                destination_filename: "master.mdf".to_owned(),
                destination_ranges: format!("0x0:{n:#x}"),
            });
        }
        sim.on_pre_restore(master(), ch);
    }
    let base_writes = vol.io_counts().writes;
    let report = run(
        &vol,
        &sim,
        std::slice::from_ref(&wmd),
        &sql_bcd(),
        &sql_backup(),
        &RestoreOptions::default(),
    );
    assert_eq!(report.components.len(), 1, "{case}");
    let c = &report.components[0];
    assert_eq!(c.status, e.status, "{case}: status; errors {:?}", c.errors);
    assert_eq!(
        c.outcome, e.outcome,
        "{case}: outcome; errors {:?}",
        c.errors
    );
    if e.status != FileRestoreStatus::All {
        assert!(!c.errors.is_empty(), "{case}: a failure says why");
        assert!(
            c.errors
                .iter()
                .map(ToString::to_string)
                .any(|x| x.contains("master")),
            "{case}: errors name the component: {:?}",
            c.errors
        );
    }
    if e.status == FileRestoreStatus::All {
        assert_eq!(
            c.status_history,
            [
                FileRestoreStatus::None,
                FileRestoreStatus::Failed,
                FileRestoreStatus::All
            ],
            "{case}"
        );
    } else {
        assert_eq!(c.status_history, [FileRestoreStatus::None], "{case}");
    }

    if *m == RestoreMethod::Custom {
        // Not involved: not selected, no status, no events, nothing written.
        let st = report.bcd.writers[0].components[0].restore.as_ref();
        assert!(
            st.is_none_or(|s| s.selected_for_restore.is_none()
                && s.file_restore_status.is_none()
                && s.alternate_mappings_used.is_empty()),
            "{case}: {st:?}"
        );
        assert!(sim.log().is_empty(), "{case}: {:?}", sim.log());
        assert!(pending(&vol).is_empty(), "{case}");
        assert_eq!(
            vol.all_files().len(),
            if s == State::Absent { 0 } else { 2 }
        );
        return;
    }
    // Status in the BCD; alternate mappings recorded.
    let st = report.bcd.writers[0].components[0]
        .restore
        .as_ref()
        .unwrap();
    assert_eq!(st.file_restore_status, Some(e.status.clone()), "{case}");
    assert_eq!(st.selected_for_restore, Some(true), "{case}");
    if e.mappings > 0 {
        assert_eq!(st.alternate_mappings_used.len(), e.mappings, "{case}");
        assert!(
            st.alternate_mappings_used
                .iter()
                .all(|m| m.destination == ALT && m.path == DATA),
            "{case}: {:?}",
            st.alternate_mappings_used
        );
        assert_eq!(c.alternate_mappings_used.len(), e.mappings, "{case}");
    } else {
        assert!(st.alternate_mappings_used.is_empty(), "{case}");
    }
    if t != "ORIGINAL" {
        assert_eq!(
            st.restore_target.as_ref().map(|x| x.as_xml().to_owned()),
            Some(t.to_owned()),
            "{case}: target re-read after PreRestore"
        );
    }

    // Events in order.
    let log = sim.log();
    let mut want = vec![VssEvent::PreRestore(master())];
    if e.svc == Svc::AroundCopy && t != "UNDEFINED" {
        want.push(VssEvent::ServiceStopped(SERVICE.to_owned()));
        want.push(VssEvent::ServiceStarted(SERVICE.to_owned()));
    }
    want.push(VssEvent::PostRestore(master(), to_platform(&e.status)));
    if e.svc == Svc::AfterPost {
        want.push(VssEvent::ServiceStopped(SERVICE.to_owned()));
        want.push(VssEvent::ServiceStarted(SERVICE.to_owned()));
    }
    let got: Vec<VssEvent> = log.iter().map(|l| l.event.clone()).collect();
    assert_eq!(got, want, "{case}: events");
    assert_eq!(
        log[0].writes_before, base_writes,
        "{case}: nothing written before PreRestore"
    );
    if e.svc == Svc::AroundCopy {
        assert_eq!(
            log[1].writes_before, base_writes,
            "{case}: stop before copying"
        );
        if e.status == FileRestoreStatus::All {
            assert!(
                log[2].writes_before > base_writes,
                "{case}: start after copying"
            );
        }
    }
    if e.status == FileRestoreStatus::All {
        let post = log
            .iter()
            .find(|l| matches!(l.event, VssEvent::PostRestore(..)))
            .unwrap();
        assert!(
            post.writes_before > base_writes,
            "{case}: PostRestore after copying"
        );
    }

    // Files on disk.
    let old = |i: usize| (s != State::Absent).then(|| if i == 0 { old_mdf() } else { old_ldf() });
    let new = |i: usize| Some(if i == 0 { new_mdf() } else { new_ldf() });
    let dests = dest_paths(e.at);
    let written = e.status == FileRestoreStatus::All && !e.staged;
    let mut expected_files: Vec<(String, Option<Vec<u8>>)> = Vec::new();
    for i in 0..2 {
        expected_files.push((orig[i].clone(), old(i)));
    }
    if written {
        for i in 0..2 {
            if let Some(x) = expected_files.iter_mut().find(|(p, _)| *p == dests[i]) {
                x.1 = new(i);
            } else {
                expected_files.push((dests[i].clone(), new(i)));
            }
        }
    }
    for (path, want) in &expected_files {
        assert_eq!(
            digest(read(&vol, path).as_deref()),
            digest(want.as_deref()),
            "{case}: {path}"
        );
    }
    let pend = pending(&vol);
    let mut temps = Vec::new();
    if e.staged {
        assert_eq!(pend.len(), 2, "{case}: one pending rename per file");
        for (i, op) in pend.iter().enumerate() {
            assert_eq!(op.destination, Some(vp(&dests[i])), "{case}");
            assert!(op.replace_existing, "{case}");
            assert_eq!(
                op.source.parent(),
                vp(&dests[i]).parent(),
                "{case}: temp beside it"
            );
            temps.push(op.source.to_string());
        }
    } else {
        assert!(pend.is_empty(), "{case}: no pending renames");
    }
    // Nothing else on the volume: no originals set aside, no temporary files left.
    let mut all: Vec<String> = vol.all_files().iter().map(ToString::to_string).collect();
    all.sort();
    let mut want_all: Vec<String> = expected_files
        .iter()
        .filter(|(_, b)| b.is_some())
        .map(|(p, _)| p[2..].to_owned())
        .chain(temps.iter().cloned())
        .collect();
    want_all.sort();
    want_all.dedup();
    assert_eq!(all, want_all, "{case}: files on the volume");

    if e.staged {
        let outcomes = vol.reboot();
        assert!(
            outcomes.iter().all(|o| o.error.is_none()),
            "{case}: {outcomes:?}"
        );
        for i in 0..2 {
            assert_eq!(
                digest(read(&vol, &dests[i]).as_deref()),
                digest(new(i).as_deref()),
                "{case}: after reboot"
            );
        }
        assert!(pending(&vol).is_empty(), "{case}");
        for t in &temps {
            assert!(!vol.exists(&p(t)).unwrap(), "{case}: temp {t} renamed away");
        }
    }
}

fn to_platform(s: &FileRestoreStatus) -> platform::FileRestoreStatus {
    match s {
        FileRestoreStatus::All => platform::FileRestoreStatus::All,
        FileRestoreStatus::Failed => platform::FileRestoreStatus::Failed,
        FileRestoreStatus::None => platform::FileRestoreStatus::None,
        _ => platform::FileRestoreStatus::Undefined,
    }
}

use platform::Volume as _;

#[test]
fn every_method_target_and_disk_state() {
    let mut n = 0;
    for m in &METHODS {
        for t in TARGETS {
            for s in STATES {
                run_case(m, t, s);
                n += 1;
            }
        }
    }
    assert_eq!(n, 8 * 5 * 3);
}
