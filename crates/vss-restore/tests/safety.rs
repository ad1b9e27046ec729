//! No write outside the volume root, through `..`, or through a junction / symbolic link in an
//! alternate, new or directed target path: each attempt is a clear per-file error naming the
//! file and the component, and nothing of the component is written.

mod common;

use common::*;
use platform::{
    Access, DirectedTargetChange, Disposition, OpenOptions, PreRestoreChanges, ShareMode,
    Volume as _,
};
use vss_model::bcd::{NewTarget, RestoreState};
use vss_model::wmd::AlternateMapping;
use vss_model::{
    BackupComponents, FileRestoreStatus, RestoreMethod, WriterMetadata, WriterRestore,
};
use vss_restore::{FileAction, Outcome, RestoreOptions, RestoreReport};
use winsim::SimVolume;
use winsim::vss::SimVss;

const IO_REPARSE_TAG_MOUNT_POINT: u32 = 0xA000_0003;
const IO_REPARSE_TAG_SYMLINK: u32 = 0xA000_000C;

fn reparse_buffer(tag: u32) -> Vec<u8> {
    let data = [0u8; 12];
    let mut b = tag.to_le_bytes().to_vec();
    b.extend_from_slice(&(data.len() as u16).to_le_bytes());
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&data);
    b
}

/// A file at `path` carrying a reparse point with `tag` (a junction or symbolic link).
fn link(vol: &SimVolume, path: &str, tag: u32) {
    let p = vp(path);
    vol.create_dir_all(&p.parent().unwrap()).unwrap();
    let h = vol
        .open(
            &p,
            OpenOptions::new(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew),
        )
        .unwrap();
    h.set_reparse_point(&reparse_buffer(tag)).unwrap();
}

fn run_with(
    vol: &SimVolume,
    w: &WriterMetadata,
    bcd: &BackupComponents,
    sim: &SimVss,
) -> RestoreReport {
    run(
        vol,
        sim,
        std::slice::from_ref(w),
        bcd,
        &sql_backup(),
        &RestoreOptions::default(),
    )
}

fn assert_refused(
    report: &RestoreReport,
    vol: &SimVolume,
    before: &[(String, Vec<u8>)],
    what: &str,
) {
    let c = &report.components[0];
    assert_eq!(c.status, FileRestoreStatus::None, "{what}: {:?}", c.errors);
    assert_eq!(c.outcome, Outcome::Failed, "{what}");
    let refused: Vec<_> = c
        .files
        .iter()
        .filter(|f| f.action == FileAction::Refused)
        .collect();
    assert!(!refused.is_empty(), "{what}: {:?}", c.files);
    for f in &refused {
        let e = f.error.as_ref().unwrap().to_string();
        assert!(
            e.contains("master") && e.contains(&f.source),
            "{what}: error names component and file: {e}"
        );
        assert!(e.contains(what), "{what}: error says why: {e}");
    }
    assert_eq!(snapshot(vol), before, "{what}: nothing written");
}

#[test]
fn new_target_with_dot_dot_is_refused() {
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
            alternate_path: r"E:\Restored\..\..\..\Windows\System32".to_owned(),
            other_attributes: Vec::new(),
            other_children: Vec::new(),
        }],
        ..RestoreState::default()
    });
    let report = run_with(&vol, &w, &bcd, &sim);
    assert_refused(&report, &vol, &[], "`..`");
}

#[test]
fn alternate_mapping_to_another_drive_or_unc_is_refused() {
    for (alt, why) in [
        (r"C:\Windows\System32", "outside the volume"),
        (r"\\server\share\data", "UNC"),
        (r"Relative\Dir", "not an absolute path"),
    ] {
        let vol = SimVolume::new(1);
        let mut w = sql_wmd(
            RestoreMethod::RestoreToAlternateLocation,
            WriterRestore::Always,
            false,
        );
        for spec in ["master.mdf", "mastlog.ldf"] {
            w.alternate_mappings.push(AlternateMapping {
                path: DATA.to_owned(),
                filespec: spec.to_owned(),
                recursive: Some(false),
                alternate_path: alt.to_owned(),
                other_attributes: Vec::new(),
                other_children: Vec::new(),
            });
        }
        let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
        let report = run_with(&vol, &w, &sql_bcd(), &sim);
        assert_refused(&report, &vol, &[], why);
    }
}

#[test]
fn junction_in_a_directed_target_path_is_refused() {
    let vol = SimVolume::new(1);
    link(&vol, r"E:\Elsewhere\Junction", IO_REPARSE_TAG_MOUNT_POINT);
    let before = snapshot(&vol);
    let w = sql_wmd(
        RestoreMethod::RestoreIfCanReplace,
        WriterRestore::Always,
        false,
    );
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    let n = new_mdf().len();
    sim.on_pre_restore(
        master(),
        PreRestoreChanges {
            restore_target: Some("DIRECTED".to_owned()),
            directed_targets: vec![DirectedTargetChange {
                source_path: DATA.to_owned(),
                source_filename: "master.mdf".to_owned(),
                source_ranges: format!("0:{n}"),
                destination_path: r"E:\Elsewhere\Junction\Target".to_owned(),
                destination_filename: "master.mdf".to_owned(),
                destination_ranges: format!("0:{n}"),
            }],
        },
    );
    let report = run_with(&vol, &w, &sql_bcd(), &sim);
    assert_refused(&report, &vol, &before, "junction or symbolic link");
}

#[test]
fn symbolic_link_at_the_alternate_destination_is_refused() {
    let vol = SimVolume::new(1);
    link(&vol, &format!(r"{ALT}\master.mdf"), IO_REPARSE_TAG_SYMLINK);
    let before = snapshot(&vol);
    let w = sql_wmd(
        RestoreMethod::RestoreToAlternateLocation,
        WriterRestore::Always,
        true,
    );
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    let report = run_with(&vol, &w, &sql_bcd(), &sim);
    assert_refused(&report, &vol, &before, "junction or symbolic link");
}

#[test]
fn refused_fallback_location_is_reported_not_followed() {
    // IF_NOT_THERE with the files present falls back to the mapping; the mapping escapes.
    let vol = SimVolume::new(1);
    vol.write_file(&vp(&format!(r"{DATA}\master.mdf")), &old_mdf())
        .unwrap();
    let before = snapshot(&vol);
    let mut w = sql_wmd(
        RestoreMethod::RestoreIfNotThere,
        WriterRestore::Always,
        false,
    );
    for spec in ["master.mdf", "mastlog.ldf"] {
        w.alternate_mappings.push(AlternateMapping {
            path: DATA.to_owned(),
            filespec: spec.to_owned(),
            recursive: Some(false),
            alternate_path: r"E:\ok\..\..\escape".to_owned(),
            other_attributes: Vec::new(),
            other_children: Vec::new(),
        });
    }
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    let report = run_with(&vol, &w, &sql_bcd(), &sim);
    assert_refused(&report, &vol, &before, "`..`");
}
