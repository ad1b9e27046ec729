//! Partial files: ranges written in place at their offsets into the file on disk, never
//! truncating it, from a range string or from a ranges file (restored beside the data first,
//! its new path recorded with SetRangesFilePath when it moves); directed targets that compact
//! a partial file with source/destination range lists.

mod common;

use common::*;
use platform::{DirectedTargetChange, PreRestoreChanges};
use vss_model::bcd::{NewTarget, PartialFile, RestoreState};
use vss_model::ranges::{Range, write_ranges_file};
use vss_model::{FileRestoreStatus, RestoreMethod, WriterMetadata, WriterRestore};
use vss_restore::RestoreOptions;
use winsim::SimVolume;
use winsim::vss::SimVss;

fn wmd() -> WriterMetadata {
    let xml = SQL_WMD.replace(
        r#"filespec="mastlog.ldf" filespecBackupType="3855"/>"#,
        r#"filespec="mastlog.ldf" filespecBackupType="3855"/><FILE_LIST path="E:\MSSQL14.MSSQLSERVER\MSSQL\DATA" filespec="db.ndf" filespecBackupType="3855"/>"#,
    );
    let mut w = WriterMetadata::from_xml(&xml).unwrap();
    w.restore_method.as_mut().unwrap().writer_restore = WriterRestore::Always;
    w.restore_method.as_mut().unwrap().method = RestoreMethod::RestoreIfCanReplace;
    w
}

fn ndf() -> String {
    format!(r"{DATA}\db.ndf")
}

fn old_ndf() -> Vec<u8> {
    vec![b'.'; 20_000]
}

fn partial_state(ranges: &str) -> RestoreState {
    RestoreState {
        partial_files: vec![PartialFile {
            path: DATA.to_owned(),
            filename: "db.ndf".to_owned(),
            ranges: ranges.to_owned(),
            metadata: None,
            other_attributes: Vec::new(),
            other_children: Vec::new(),
        }],
        ..RestoreState::default()
    }
}

/// The backed-up ranges (10 bytes at 100, 5 bytes at 0x4000), laid end to end.
const RANGES_DATA: &[u8] = b"0123456789ABCDE";

fn expected_in_place(len: usize) -> Vec<u8> {
    let mut v = vec![b'.'; len];
    v[100..110].copy_from_slice(&RANGES_DATA[..10]);
    v[0x4000..0x4005].copy_from_slice(&RANGES_DATA[10..]);
    v
}

#[test]
fn range_string_is_written_in_place_without_truncating() {
    let vol = SimVolume::new(1);
    vol.write_file(&vp(&ndf()), &old_ndf()).unwrap();
    let w = wmd();
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    let mut bcd = sql_bcd();
    bcd.writers[0].components[0].restore = Some(partial_state("100:10, 0x4000:5"));
    let mut backup = sql_backup();
    backup.insert(&ndf(), RANGES_DATA.to_vec());
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &bcd,
        &backup,
        &RestoreOptions::default(),
    );
    assert_eq!(
        r.components[0].status,
        FileRestoreStatus::All,
        "{:?}",
        r.components[0].errors
    );
    let got = read(&vol, &ndf()).unwrap();
    assert_eq!(got.len(), 20_000, "not truncated");
    assert!(got == expected_in_place(20_000));
    assert_eq!(vol.all_files().len(), 3, "no copy set aside is left");
}

#[test]
fn ranges_file_is_read_restored_first_and_its_new_path_recorded() {
    let vol = SimVolume::new(1);
    vol.write_file(&vp(r"E:\NewHome\db.ndf"), &old_ndf())
        .unwrap();
    let w = wmd();
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    let rng_path = r"E:\Backup\Ranges\db.rng";
    let mut st = partial_state(&format!("File={rng_path}"));
    st.new_targets.push(NewTarget {
        path: DATA.to_owned(),
        filespec: "db.ndf".to_owned(),
        recursive: Some(false),
        alternate_path: r"E:\NewHome".to_owned(),
        other_attributes: Vec::new(),
        other_children: Vec::new(),
    });
    let mut bcd = sql_bcd();
    bcd.writers[0].components[0].restore = Some(st);
    let rng = write_ranges_file(&[
        Range {
            offset: 100,
            length: 10,
        },
        Range {
            offset: 0x4000,
            length: 5,
        },
    ]);
    let mut backup = sql_backup();
    backup.insert(&ndf(), RANGES_DATA.to_vec());
    backup.insert(rng_path, rng.clone());
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &bcd,
        &backup,
        &RestoreOptions::default(),
    );
    let c = &r.components[0];
    assert_eq!(c.status, FileRestoreStatus::All, "{:?}", c.errors);
    assert!(read(&vol, r"E:\NewHome\db.ndf").unwrap() == expected_in_place(20_000));
    assert_eq!(
        read(&vol, r"E:\NewHome\db.rng"),
        Some(rng),
        "ranges file beside the data"
    );
    assert_eq!(
        c.ranges_files,
        [(rng_path.to_owned(), r"E:\NewHome\db.rng".to_owned())]
    );
    let st = r.bcd.writers[0].components[0].restore.as_ref().unwrap();
    assert_eq!(
        st.partial_files[0].ranges, r"File=E:\NewHome\db.rng",
        "SetRangesFilePath"
    );
}

#[test]
fn partial_file_absent_on_disk_gets_its_ranges_at_their_offsets() {
    let vol = SimVolume::new(1);
    let w = wmd();
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    let mut bcd = sql_bcd();
    bcd.writers[0].components[0].restore = Some(partial_state("100:10,0x4000:5"));
    let mut backup = sql_backup();
    backup.insert(&ndf(), RANGES_DATA.to_vec());
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &bcd,
        &backup,
        &RestoreOptions::default(),
    );
    assert_eq!(r.components[0].status, FileRestoreStatus::All);
    let got = read(&vol, &ndf()).unwrap();
    assert_eq!(got.len(), 0x4005);
    assert_eq!(&got[100..110], &RANGES_DATA[..10]);
    assert_eq!(&got[0x4000..], &RANGES_DATA[10..]);
}

#[test]
fn bad_partial_ranges_are_a_writer_error() {
    let vol = SimVolume::new(1);
    let w = wmd();
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    let mut bcd = sql_bcd();
    bcd.writers[0].components[0].restore = Some(partial_state("100:10, nonsense"));
    let mut backup = sql_backup();
    backup.insert(&ndf(), RANGES_DATA.to_vec());
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &bcd,
        &backup,
        &RestoreOptions::default(),
    );
    let c = &r.components[0];
    assert_eq!(c.status, FileRestoreStatus::None);
    assert!(
        c.errors
            .iter()
            .map(ToString::to_string)
            .any(|e| e.contains("db.ndf") && e.contains("bad ranges")),
        "{:?}",
        c.errors
    );
    assert!(vol.all_files().is_empty());
}

#[test]
fn directed_target_compacts_with_range_lists() {
    // The writer directs master.mdf's bytes 0..16 and 4096..4128 to the start of a new file.
    let vol = SimVolume::new(1);
    let w = sql_wmd(
        RestoreMethod::RestoreIfCanReplace,
        WriterRestore::Always,
        false,
    );
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    sim.on_pre_restore(
        master(),
        PreRestoreChanges {
            restore_target: Some("DIRECTED".to_owned()),
            directed_targets: vec![DirectedTargetChange {
                source_path: DATA.to_owned(),
                source_filename: "master.mdf".to_owned(),
                source_ranges: "0:16, 4096:32".to_owned(),
                destination_path: r"E:\Compact".to_owned(),
                destination_filename: "master.cmp".to_owned(),
                destination_ranges: "0:48".to_owned(),
            }],
        },
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
    assert_eq!(c.status, FileRestoreStatus::All, "{:?}", c.errors);
    let src = new_mdf();
    let want = [&src[..16], &src[4096..4128]].concat();
    assert_eq!(read(&vol, r"E:\Compact\master.cmp"), Some(want));
    assert_eq!(read(&vol, &format!(r"{DATA}\mastlog.ldf")), Some(new_ldf()));
}

#[test]
fn directed_ranges_of_different_lengths_are_refused() {
    let vol = SimVolume::new(1);
    let w = sql_wmd(
        RestoreMethod::RestoreIfCanReplace,
        WriterRestore::Always,
        false,
    );
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    sim.on_pre_restore(
        master(),
        PreRestoreChanges {
            restore_target: Some("DIRECTED".to_owned()),
            directed_targets: vec![DirectedTargetChange {
                source_path: DATA.to_owned(),
                source_filename: "master.mdf".to_owned(),
                source_ranges: "0:16".to_owned(),
                destination_path: r"E:\Compact".to_owned(),
                destination_filename: "master.cmp".to_owned(),
                destination_ranges: "0:17".to_owned(),
            }],
        },
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
    assert_eq!(c.status, FileRestoreStatus::None);
    assert!(
        c.errors
            .iter()
            .map(ToString::to_string)
            .any(|e| e.contains("master.mdf") && e.contains("directed target")),
        "{:?}",
        c.errors
    );
    assert!(vol.all_files().is_empty());
}

/// Hostile directed ranges never allocate what they claim: a destination at 2^60 (once an
/// allocation until the process was killed) or a source range past the backed-up file is
/// refused before anything is written, and a destination far into the file (within NTFS's
/// limit) is written sparsely, allocating only the bytes written.
#[test]
fn directed_ranges_are_bounded_and_applied_sparsely() {
    let directed = |source_ranges: &str, destination_ranges: &str| {
        let vol = SimVolume::new(1);
        let w = sql_wmd(
            RestoreMethod::RestoreIfCanReplace,
            WriterRestore::Always,
            false,
        );
        let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
        sim.on_pre_restore(
            master(),
            PreRestoreChanges {
                restore_target: Some("DIRECTED".to_owned()),
                directed_targets: vec![DirectedTargetChange {
                    source_path: DATA.to_owned(),
                    source_filename: "master.mdf".to_owned(),
                    source_ranges: source_ranges.to_owned(),
                    destination_path: r"E:\Compact".to_owned(),
                    destination_filename: "master.cmp".to_owned(),
                    destination_ranges: destination_ranges.to_owned(),
                }],
            },
        );
        let r = run(
            &vol,
            &sim,
            std::slice::from_ref(&w),
            &sql_bcd(),
            &sql_backup(),
            &RestoreOptions::default(),
        );
        (vol, r)
    };
    let past = new_mdf().len() as u64;
    for (src, dst, what) in [
        (
            "0:16".to_owned(),
            format!("{}:16", 1u64 << 60),
            "largest file NTFS holds",
        ),
        (
            format!("{}:16", past - 8),
            "0:16".to_owned(),
            "past the backed-up file",
        ),
    ] {
        let (vol, r) = directed(&src, &dst);
        let c = &r.components[0];
        assert_eq!(c.status, FileRestoreStatus::None, "{src} -> {dst}");
        assert!(
            c.errors.iter().any(|e| e.to_string().contains(what)),
            "{src} -> {dst}: {:?}",
            c.errors
        );
        assert!(vol.all_files().is_empty(), "{src} -> {dst}");
        assert!(vol.allocated_bytes() < 1 << 20);
    }
    let far = 256u64 << 20;
    let (vol, r) = directed("0:16", &format!("{far}:16"));
    let c = &r.components[0];
    assert_eq!(c.status, FileRestoreStatus::All, "{:?}", c.errors);
    let cmp = vp(r"E:\Compact\master.cmp");
    assert!(
        vol.allocated_ranges(&cmp)
            .unwrap()
            .iter()
            .map(|r| r.end - r.start)
            .sum::<u64>()
            <= 8192,
        "the gap was allocated"
    );
    assert!(
        vol.allocated_bytes() < 16 << 20,
        "{}",
        vol.allocated_bytes()
    );
}

#[test]
fn staged_partial_file_with_ranges_file_leaves_nothing_behind() {
    // REPLACE_AT_REBOOT: the ranges file is put beside the data now (replacing an old one),
    // the data file is composed in a temporary file (current contents + ranges) and renamed at
    // reboot.
    let vol = SimVolume::new(1);
    vol.write_file(&vp(&ndf()), &old_ndf()).unwrap();
    vol.write_file(&vp(&format!(r"{DATA}\db.rng")), b"stale ranges")
        .unwrap();
    let mut w = wmd();
    w.restore_method.as_mut().unwrap().method = RestoreMethod::RestoreAtReboot;
    let sim = SimVss::from_wmds(&vol, std::slice::from_ref(&w));
    let rng_path = format!(r"{DATA}\db.rng");
    let mut bcd = sql_bcd();
    bcd.writers[0].components[0].restore = Some(partial_state(&format!("File={rng_path}")));
    let rng = write_ranges_file(&[
        Range {
            offset: 100,
            length: 10,
        },
        Range {
            offset: 0x4000,
            length: 5,
        },
    ]);
    let mut backup = sql_backup();
    backup.insert(&ndf(), RANGES_DATA.to_vec());
    backup.insert(&rng_path, rng.clone());
    let r = run(
        &vol,
        &sim,
        std::slice::from_ref(&w),
        &bcd,
        &backup,
        &RestoreOptions::default(),
    );
    let c = &r.components[0];
    assert_eq!(c.status, FileRestoreStatus::All, "{:?}", c.errors);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert!(c.ranges_files.is_empty(), "restored at its recorded path");
    assert_eq!(read(&vol, &rng_path), Some(rng));
    assert_eq!(
        read(&vol, &ndf()),
        Some(old_ndf()),
        "data waits for the reboot"
    );
    assert_eq!(pending(&vol).len(), 3);
    assert!(vol.reboot().iter().all(|o| o.error.is_none()));
    assert!(read(&vol, &ndf()).unwrap() == expected_in_place(20_000));
    // master.mdf, mastlog.ldf, db.ndf, db.rng: no temporary or set-aside file left.
    assert_eq!(vol.all_files().len(), 4, "{:?}", vol.all_files());
}
