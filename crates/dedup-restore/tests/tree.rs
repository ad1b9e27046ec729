//! Out-of-place restore through the public API only: a `sim optimize`-style volume folder
//! (the simulator's optimizer, exported with the stubs' reparse points in extended attributes)
//! restored into a host folder and into a sink, with filters, damaged chunks, foreign reparse
//! points and existing files; and the one store over a source. Re-runs are in `rerun.rs`, dry
//! runs in `dry_run.rs`.
#![cfg(unix)]

mod common;

use std::path::Path;

use common::tree::{files_below, read_host, restore_into, volume_folder};
use common::*;
use dedup_restore::{
    BackupStore, EntryStatus, FileError, FilterKind, Hresult, SourceError, SourceStore, TreeError,
    TreeOptions, plan_tree, restore_tree,
};
use platform::{HostSource, HostVolume, NullVolume, Volume, WinPath};

#[test]
fn a_volume_folder_is_restored_out_of_place_into_a_host_folder() {
    let src = tempfile::tempdir().unwrap();
    let originals = volume_folder(src.path(), 61);
    let out = tempfile::tempdir().unwrap();
    let dest = HostVolume::new(out.path()).unwrap();
    let report = restore_into(src.path(), &dest, &TreeOptions::default());
    assert_eq!(
        report.count(EntryStatus::Failed),
        0,
        "{:#?}",
        report.entries
    );
    assert_eq!(report.count(EntryStatus::Restored), 4);
    assert_eq!(report.count(EntryStatus::Copied), 2);
    for (p, bytes) in &originals {
        assert_eq!(&read_host(out.path(), p), bytes, "{p}");
        assert!(!dest.metadata(p).unwrap().is_reparse_point(), "{p}");
    }
    // Only the files: no stub, no temporary file, no chunk store.
    let mut want: Vec<String> = originals
        .iter()
        .map(|(p, _)| p.components().collect::<Vec<_>>().join("/"))
        .collect();
    want.sort();
    assert_eq!(files_below(out.path()), want);
    let logical: u64 = originals[..4].iter().map(|(_, d)| d.len() as u64).sum();
    assert_eq!(report.bytes(EntryStatus::Restored), logical);
    assert_eq!(report.stats.bytes_restored, logical);
}

/// In batches smaller than the tree (each rebuilt while the next is staged, and sharing chunks
/// with the others): every file comes back once, whole, with its times, and nothing else is
/// left in the output.
#[test]
fn a_tree_restored_in_several_batches_comes_back_whole() {
    let src = tempfile::tempdir().unwrap();
    let originals = volume_folder(src.path(), 69);
    let times = |h: &Path| {
        let md = std::fs::metadata(h).unwrap();
        (md.modified().unwrap(), md.accessed().unwrap())
    };
    let rel = |p: &WinPath| p.components().collect::<Vec<_>>().join("/");
    for batch_files in [1, 3] {
        let out = tempfile::tempdir().unwrap();
        let dest = HostVolume::new(out.path()).unwrap();
        let opts = TreeOptions {
            batch_files,
            ..TreeOptions::default()
        };
        // The source's times as the walk sees them (copying a plain file reads it, which may
        // move its access time afterwards).
        let before: Vec<_> = originals
            .iter()
            .map(|(p, _)| times(&src.path().join(rel(p))))
            .collect();
        let report = restore_into(src.path(), &dest, &opts);
        let what = format!("batches of {batch_files}: {:#?}", report.entries);
        assert_eq!(report.count(EntryStatus::Failed), 0, "{what}");
        assert_eq!(report.count(EntryStatus::Restored), 4, "{what}");
        assert_eq!(report.count(EntryStatus::Copied), 2, "{what}");
        let mut reported: Vec<&str> = report.entries.iter().map(|e| e.path.as_str()).collect();
        reported.sort_unstable();
        reported.dedup();
        assert_eq!(
            (report.entries.len(), reported.len()),
            (originals.len(), originals.len()),
            "each file reported once: {what}"
        );
        for ((p, bytes), source_times) in originals.iter().zip(before) {
            let o = out.path().join(rel(p));
            assert_eq!(
                times(&o),
                source_times,
                "{p}: times (batches of {batch_files})"
            );
            assert_eq!(&read_host(out.path(), p), bytes, "{p}");
        }
        let mut want: Vec<String> = originals.iter().map(|(p, _)| rel(p)).collect();
        want.sort();
        assert_eq!(files_below(out.path()), want, "batches of {batch_files}");
        let logical: u64 = originals[..4].iter().map(|(_, d)| d.len() as u64).sum();
        assert_eq!(
            report.stats.bytes_restored, logical,
            "batches of {batch_files}"
        );
    }
}

#[test]
fn a_verify_run_into_a_sink_checks_every_dedup_file_and_names_the_damaged_record() {
    let src = tempfile::tempdir().unwrap();
    volume_folder(src.path(), 62);
    let verify = TreeOptions {
        copy_plain: false,
        ..TreeOptions::default()
    };
    let sink = NullVolume::default();
    let report = restore_into(src.path(), &sink, &verify);
    assert_eq!(
        report.count(EntryStatus::Restored),
        4,
        "{:#?}",
        report.entries
    );
    assert_eq!(report.entries.len(), 4, "plain files are not looked at");
    assert!(sink.bytes_written() > 0);

    // Damage the payload of the first record of the first data container.
    let data = std::fs::read_dir(
        src.path()
            .join("System Volume Information/Dedup/ChunkStore"),
    )
    .unwrap()
    .next()
    .unwrap()
    .unwrap()
    .path()
    .join("Data");
    let mut names: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let ccc = &names[0];
    let mut bytes = std::fs::read(ccc).unwrap();
    for b in &mut bytes[0x5000 + 0x200..0x5000 + 0x210] {
        *b ^= 0x5A;
    }
    std::fs::write(ccc, &bytes).unwrap();
    let report = restore_into(src.path(), &NullVolume::default(), &verify);
    let bad: Vec<_> = report
        .entries
        .iter()
        .filter(|e| e.status == EntryStatus::Failed)
        .collect();
    assert!(!bad.is_empty(), "{:#?}", report.entries);
    for e in bad {
        let err = e.error.as_ref().unwrap();
        assert_eq!(err.hresult(), Hresult::DDP_E_FILE_CORRUPT, "{err}");
        let name = ccc.file_name().unwrap().to_str().unwrap();
        assert!(
            err.container().is_some_and(|c| c.ends_with(name)),
            "{err}: {:?}",
            err.container()
        );
        assert_eq!(err.offset(), Some(0x5000), "{err}");
        assert!(err.local_id().is_some(), "{err}");
        assert!(matches!(err, FileError::Container(_)), "{err:?}");
    }
}

#[test]
fn paths_select_and_an_unmatched_path_is_refused_before_anything_is_written() {
    let src = tempfile::tempdir().unwrap();
    let originals = volume_folder(src.path(), 63);
    let out = tempfile::tempdir().unwrap();
    let dest = HostVolume::new(out.path()).unwrap();
    let first = originals[0].0.clone();
    let opts = TreeOptions {
        paths: vec![
            WinPath::new(&first.to_string().to_uppercase()).unwrap(),
            wp("\\PLAIN\\deep"),
        ],
        ..TreeOptions::default()
    };
    let source = HostSource::new(src.path()).unwrap();
    let store = SourceStore::new(&source);
    let mut nowhere = opts.clone();
    nowhere.paths.push(wp("\\nowhere"));
    match restore_tree(&source, &store, &dest, &nowhere) {
        Err(TreeError::NoMatch {
            kind: FilterKind::Path,
            index: 2,
            filter,
        }) => assert_eq!(filter, "\\nowhere"),
        other => panic!("{other:?}"),
    }
    assert!(files_below(out.path()).is_empty());
    let report = restore_into(src.path(), &dest, &opts);
    assert_eq!(
        report.count(EntryStatus::Failed),
        0,
        "{:#?}",
        report.entries
    );
    assert_eq!(report.count(EntryStatus::Restored), 1);
    assert_eq!(report.count(EntryStatus::Copied), 1);
    assert_eq!(read_host(out.path(), &first), originals[0].1);
    assert!(files_below(out.path()).iter().all(|f| !f.contains("small")));
}

#[test]
fn an_existing_file_is_never_replaced_and_a_foreign_reparse_point_is_never_copied() {
    let src = tempfile::tempdir().unwrap();
    let originals = volume_folder(src.path(), 64);
    // A file carrying another filter's reparse point (an HSM tag): its data stream is a
    // placeholder, not the file's content.
    let foreign = src.path().join("plain/offline.doc");
    std::fs::write(&foreign, vec![0u8; 4096]).unwrap();
    let mut buf = 0xC000_0004_u32.to_le_bytes().to_vec();
    buf.extend_from_slice(&[4, 0, 0, 0, 1, 2, 3, 4]);
    xattr::set(&foreign, platform::REPARSE_XATTR_USER, &buf).unwrap();

    let out = tempfile::tempdir().unwrap();
    let taken = &originals[1].0;
    let mut host = out.path().to_owned();
    host.extend(taken.components());
    std::fs::create_dir_all(host.parent().unwrap()).unwrap();
    std::fs::write(&host, b"mine").unwrap();
    let dest = HostVolume::new(out.path()).unwrap();
    let report = restore_into(src.path(), &dest, &TreeOptions::default());
    let with = |p: &str, status: EntryStatus| {
        report
            .entries
            .iter()
            .find(|e| e.path == p)
            .filter(|e| e.status == status)
            .unwrap_or_else(|| panic!("{p} is not {status:?}: {:#?}", report.entries))
    };
    let failed = |p: &str| with(p, EntryStatus::Failed);
    let exists = with(&taken.to_string(), EntryStatus::Conflict);
    assert_eq!(exists.hresult(), Hresult::from_win32(183));
    assert_eq!(std::fs::read(&host).unwrap(), b"mine");
    let off = failed("\\plain\\offline.doc");
    assert!(
        matches!(off.error, Some(FileError::ForeignReparse { .. })),
        "{:?}",
        off.error
    );
    assert_eq!(off.hresult(), Hresult::DDP_E_INVALID_DATA);
    assert!(!out.path().join("plain/offline.doc").exists());
    assert_eq!(report.count(EntryStatus::Restored), 3);
}

#[test]
fn the_source_store_finds_files_case_insensitively_and_keeps_errors_typed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("Store/Data")).unwrap();
    std::fs::write(dir.path().join("Store/Data/a.ccc"), b"0123456789").unwrap();
    std::fs::create_dir(dir.path().join("Store/Data/sub")).unwrap();
    let store = SourceStore::host(dir.path()).unwrap();
    let mut b = [0u8; 4];
    store
        .read_backup_file(&wp("\\store\\DATA\\A.CCC"), 3, &mut b)
        .unwrap();
    assert_eq!(&b, b"3456");
    // Kept open: a second read of the same file, spelled another way.
    store
        .read_backup_file(&wp("\\Store\\Data\\a.ccc"), 6, &mut b)
        .unwrap();
    assert_eq!(&b, b"6789");
    let e = store
        .read_backup_file(&wp("\\Store\\Data\\a.ccc"), 8, &mut b)
        .unwrap_err();
    assert!(e.past_end, "{e}");
    let e = store
        .read_backup_file(&wp("\\Store\\Data\\b.ccc"), 0, &mut b)
        .unwrap_err();
    assert_eq!(e.hresult, Hresult::DDP_E_PATH_NOT_FOUND);
    assert_eq!(
        store.list_dir(&wp("\\STORE\\data")).unwrap(),
        Some(vec!["a.ccc".to_owned()])
    );
    assert_eq!(store.list_dir(&wp("\\Store\\none")).unwrap(), Some(vec![]));
}

/// The pre-flight check: a plain folder is not a dedup volume; stubs whose store folder is
/// missing (or is another store) name the store expected and the GUID they reference; a store
/// with no dedup file selected is a warning.
#[test]
fn the_preflight_check_tells_a_wrong_source_in_one_error() {
    let plain = tempfile::tempdir().unwrap();
    std::fs::create_dir(plain.path().join("docs")).unwrap();
    std::fs::write(plain.path().join("docs/a.txt"), b"text").unwrap();
    let source = HostSource::new(plain.path()).unwrap();
    let plan = plan_tree(&source, &TreeOptions::default()).unwrap();
    assert!(
        matches!(plan.check(), Err(SourceError::NotDedup { .. })),
        "{:?}",
        plan.check()
    );

    let src = tempfile::tempdir().unwrap();
    volume_folder(src.path(), 67);
    let source = HostSource::new(src.path()).unwrap();
    let plan = plan_tree(&source, &TreeOptions::default()).unwrap();
    assert_eq!(plan.check(), Ok(Vec::new()));
    let guid = *plan.survey().referenced.iter().next().unwrap();
    assert_eq!(plan.survey().stores, plan.survey().referenced);
    assert_eq!(plan.survey().dedup_files, 4);
    // Only the plain folder: a warning.
    let only_plain = TreeOptions {
        paths: vec![wp("\\plain")],
        ..TreeOptions::default()
    };
    let warnings = plan_tree(&source, &only_plain).unwrap().check().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    // The store renamed to another GUID, then removed.
    let stores = src
        .path()
        .join("System Volume Information/Dedup/ChunkStore");
    let other = "{11111111-2222-3333-4444-555555555555}.ddp";
    std::fs::rename(stores.join(format!("{guid}.ddp")), stores.join(other)).unwrap();
    let e = plan_tree(&source, &TreeOptions::default())
        .unwrap()
        .check()
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains(&format!(
            "\\System Volume Information\\Dedup\\ChunkStore\\{guid}.ddp"
        )) && text.contains("{11111111-2222-3333-4444-555555555555}"),
        "{text}"
    );
    std::fs::remove_dir_all(stores.join(other)).unwrap();
    assert!(matches!(
        plan_tree(&source, &TreeOptions::default()).unwrap().check(),
        Err(SourceError::StoreMissing { found, .. }) if found.is_empty()
    ));
}

/// Include and exclude globs select files case-insensitively; a folder matched selects or
/// drops what is below it; an include that matches nothing is refused.
#[test]
fn globs_include_and_exclude() {
    let src = tempfile::tempdir().unwrap();
    let originals = volume_folder(src.path(), 68);
    let source = HostSource::new(src.path()).unwrap();
    let selected = |include: &[&str], exclude: &[&str]| -> Vec<String> {
        let opts = TreeOptions {
            include: include.iter().map(|s| (*s).to_owned()).collect(),
            exclude: exclude.iter().map(|s| (*s).to_owned()).collect(),
            ..TreeOptions::default()
        };
        let out = tempfile::tempdir().unwrap();
        let dest = HostVolume::new(out.path()).unwrap();
        let store = SourceStore::new(&source);
        let r = restore_tree(&source, &store, &dest, &opts).unwrap();
        assert_eq!(r.count(EntryStatus::Failed), 0, "{:#?}", r.entries);
        files_below(out.path())
    };
    assert_eq!(
        selected(&["*.TXT"], &[]),
        ["plain/small.txt"],
        "a name pattern, any case"
    );
    assert_eq!(
        selected(&["PLAIN"], &["*.txt"]),
        ["plain/deep/er/empty.dat"]
    );
    assert_eq!(
        selected(&["plain/**/*.dat"], &[]),
        ["plain/deep/er/empty.dat"]
    );
    let all = selected(&[], &["deep"]);
    assert_eq!(all.len(), originals.len() - 1, "{all:?}");
    assert!(all.iter().all(|f| !f.contains("deep")));
    let store = SourceStore::new(&source);
    let out = tempfile::tempdir().unwrap();
    let dest = HostVolume::new(out.path()).unwrap();
    let none = TreeOptions {
        include: vec!["*.nothing".into()],
        ..TreeOptions::default()
    };
    assert!(matches!(
        restore_tree(&source, &store, &dest, &none),
        Err(TreeError::NoMatch {
            kind: FilterKind::Include,
            ..
        })
    ));
    let bad = TreeOptions {
        exclude: vec!["a[".into()],
        ..TreeOptions::default()
    };
    assert!(matches!(
        restore_tree(&source, &store, &dest, &bad),
        Err(TreeError::Glob(_))
    ));
}
