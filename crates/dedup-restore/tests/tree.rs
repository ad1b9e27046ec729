//! Out-of-place restore through the public API only: a `sim optimize`-style volume folder
//! (the simulator's optimizer, exported with the stubs' reparse points in extended attributes)
//! restored into a host folder and into a sink, with filters, damaged chunks, foreign reparse
//! points and existing files; and the one store over a source.
#![cfg(unix)]

mod common;

use std::path::Path;

use common::tree::{copy_with_xattrs, read_host, restore_into, volume_folder};
use common::*;
use dedup_restore::{
    BackupStore, EntryStatus, FileError, FilterKind, Hresult, Overwrite, SourceError, SourceStore,
    TreeError, TreeOptions, TreeReport, plan_tree, restore_planned, restore_tree,
};
use platform::{HostSource, HostVolume, NullVolume, Volume, WinPath};

/// Every file below `root`, relative, sorted.
fn files_below(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// Each entry's path, status, whether it replaced a file and its bytes, by path: what a dry
/// run must say as the real run does.
fn outcomes(r: &TreeReport) -> Vec<(String, EntryStatus, bool, u64)> {
    let mut v: Vec<_> = r
        .entries
        .iter()
        .map(|e| (e.path.clone(), e.status, e.replaced, e.bytes))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The options of a run under `overwrite`, and of its dry run.
fn run_and_dry_run(overwrite: Overwrite) -> (TreeOptions, TreeOptions) {
    let opts = TreeOptions {
        overwrite,
        ..TreeOptions::default()
    };
    let dry = TreeOptions {
        dry_run: true,
        ..opts.clone()
    };
    (opts, dry)
}

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

/// A re-run into the same folder keeps what is already there and identical (skipped), reports
/// a file whose bytes differ as a conflict (never replacing it), and removes the temporary files an
/// interrupted run left behind — only names of ours.
#[test]
fn a_rerun_skips_identical_files_and_removes_leftovers() {
    let src = tempfile::tempdir().unwrap();
    let originals = volume_folder(src.path(), 65);
    let out = tempfile::tempdir().unwrap();
    let dest = HostVolume::new(out.path()).unwrap();
    let first = restore_into(src.path(), &dest, &TreeOptions::default());
    assert_eq!(first.count(EntryStatus::Failed), 0);

    // What a killed run leaves: a temporary sibling of a dedup file and of a plain file.
    let leftovers = [
        "plain/small.txt.rehydrate~0",
        "plain/deep/er/x.dat.rehydrate~12",
    ];
    for l in leftovers {
        std::fs::write(out.path().join(l), b"partial").unwrap();
    }
    std::fs::write(out.path().join("plain/mine.rehydrate~x"), b"not ours").unwrap();
    // One dedup file and one plain file changed since.
    let (changed_dedup, _) = &originals[2];
    let mut host = out.path().to_owned();
    host.extend(changed_dedup.components());
    let mut bytes = std::fs::read(&host).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&host, &bytes).unwrap();
    std::fs::write(out.path().join("plain/small.txt"), b"edited").unwrap();

    let again = restore_into(src.path(), &dest, &TreeOptions::default());
    assert_eq!(again.count(EntryStatus::Failed), 0, "{:#?}", again.entries);
    let failed: Vec<&str> = again
        .entries
        .iter()
        .filter(|e| e.status == EntryStatus::Conflict)
        .map(|e| e.path.as_str())
        .collect();
    let mut want_failed = vec![changed_dedup.to_string(), "\\plain\\small.txt".to_owned()];
    want_failed.sort();
    let mut got = failed.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    got.sort();
    assert_eq!(got, want_failed, "{:#?}", again.entries);
    for e in again
        .entries
        .iter()
        .filter(|e| e.status == EntryStatus::Conflict)
    {
        assert_eq!(e.hresult(), Hresult::from_win32(183));
    }
    assert_eq!(again.count(EntryStatus::Skipped), originals.len() - 2);
    assert_eq!(again.count(EntryStatus::Restored), 0);
    // Nothing replaced.
    assert_eq!(std::fs::read(&host).unwrap(), bytes);
    assert_eq!(
        std::fs::read(out.path().join("plain/small.txt")).unwrap(),
        b"edited"
    );
    let mut removed: Vec<String> = again
        .leftovers_removed
        .iter()
        .map(ToString::to_string)
        .collect();
    removed.sort();
    assert_eq!(
        removed,
        [
            "\\plain\\deep\\er\\x.dat.rehydrate~12",
            "\\plain\\small.txt.rehydrate~0"
        ]
    );
    for l in leftovers {
        assert!(!out.path().join(l).exists(), "{l}");
    }
    assert!(out.path().join("plain/mine.rehydrate~x").exists());
    // If changed: the two that differ are replaced (and come back byte-identical), the others
    // are skipped and left untouched.
    let before = std::fs::metadata(out.path().join("plain/deep/er/empty.dat"))
        .unwrap()
        .modified()
        .unwrap();
    let changed = TreeOptions {
        overwrite: Overwrite::IfChanged,
        ..TreeOptions::default()
    };
    let r = restore_into(src.path(), &dest, &changed);
    assert_eq!(r.count(EntryStatus::Failed), 0, "{:#?}", r.entries);
    assert_eq!(r.count(EntryStatus::Conflict), 0, "{:#?}", r.entries);
    assert_eq!(r.count(EntryStatus::Skipped), originals.len() - 2);
    let replaced: Vec<&str> = r
        .entries
        .iter()
        .filter(|e| e.replaced)
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(replaced.len(), 2, "{:#?}", r.entries);
    for (p, bytes) in &originals {
        assert_eq!(&read_host(out.path(), p), bytes, "{p}");
    }
    assert_eq!(
        std::fs::metadata(out.path().join("plain/deep/er/empty.dat"))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
    // Always: every file replaced, none compared.
    let always = TreeOptions {
        overwrite: Overwrite::Always,
        ..TreeOptions::default()
    };
    let r = restore_into(src.path(), &dest, &always);
    assert_eq!(r.count(EntryStatus::Skipped), 0);
    assert!(r.entries.iter().all(|e| e.replaced), "{:#?}", r.entries);
    assert_eq!(r.entries.len(), originals.len());
    for (p, bytes) in &originals {
        assert_eq!(&read_host(out.path(), p), bytes, "{p}");
    }
}

/// A source file named like one of our temporary files is the source's, not a leftover: a
/// re-run whose filters leave it out keeps it in the destination (before, it was deleted and
/// reported as a leftover), and one that selects it finds it in place. So are a link, and a
/// file whose name the source holds in two spellings. A real leftover beside them is still
/// removed, and so is one by the file's name that does not hold its bytes.
#[test]
fn a_source_file_named_like_a_temporary_one_is_kept_by_a_rerun() {
    let src = tempfile::tempdir().unwrap();
    volume_folder(src.path(), 67);
    let (named, bytes) = ("plain/notes.txt.rehydrate~1", b"the source's own file");
    std::fs::write(src.path().join(named), bytes).unwrap();
    // One name in two spellings (the destination holds the first, the second is a conflict)
    // and a link.
    let twin = "plain/Twin.rehydrate~3";
    std::fs::write(src.path().join(twin), b"first spelling").unwrap();
    std::fs::write(src.path().join("plain/twin.rehydrate~3"), b"second, longer").unwrap();
    let link = "plain/link.rehydrate~2";
    std::os::unix::fs::symlink("small.txt", src.path().join(link)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let dest = HostVolume::new(out.path()).unwrap();
    let first = restore_into(src.path(), &dest, &TreeOptions::default());
    assert_eq!(first.count(EntryStatus::Failed), 0, "{:#?}", first.entries);
    assert_eq!(std::fs::read(out.path().join(named)).unwrap(), bytes);
    assert_eq!(
        std::fs::read(out.path().join(twin)).unwrap(),
        b"first spelling"
    );
    assert!(out.path().join(link).is_symlink());

    let leftover = "plain/small.txt.rehydrate~0";
    std::fs::write(out.path().join(leftover), b"partial").unwrap();
    let left_out = TreeOptions {
        exclude: vec!["*.rehydrate~*".to_owned()],
        ..TreeOptions::default()
    };
    let removed = |r: &TreeReport| -> Vec<String> {
        r.leftovers_removed
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    let again = restore_into(src.path(), &dest, &left_out);
    assert_eq!(again.count(EntryStatus::Failed), 0, "{:#?}", again.entries);
    assert_eq!(removed(&again), ["\\plain\\small.txt.rehydrate~0"]);
    assert!(!out.path().join(leftover).exists());
    assert_eq!(std::fs::read(out.path().join(named)).unwrap(), bytes);
    assert_eq!(
        std::fs::read(out.path().join(twin)).unwrap(),
        b"first spelling"
    );
    assert!(out.path().join(link).is_symlink());

    let third = restore_into(src.path(), &dest, &TreeOptions::default());
    assert!(
        third.leftovers_removed.is_empty(),
        "{:?}",
        third.leftovers_removed
    );
    let entry = third
        .entries
        .iter()
        .find(|e| e.path == "\\plain\\notes.txt.rehydrate~1")
        .expect("the file is selected");
    assert_eq!(entry.status, EntryStatus::Skipped, "{entry:?}");
    assert_eq!(std::fs::read(out.path().join(named)).unwrap(), bytes);
    // The link already there is kept as never replaced (before, the lookup's refusal of a
    // link made it a failure on every re-run).
    let link_entry = third
        .entries
        .iter()
        .find(|e| e.path == "\\plain\\link.rehydrate~2");
    assert!(
        link_entry.is_some_and(|e| e.status == EntryStatus::Conflict),
        "{link_entry:?}"
    );
    assert!(out.path().join(link).is_symlink());

    // A leftover that only shares the source file's name and length (a run killed while
    // building `notes.txt` would leave one, its bytes not all written) is removed.
    std::fs::write(out.path().join(named), vec![0u8; bytes.len()]).unwrap();
    let fourth = restore_into(src.path(), &dest, &left_out);
    assert_eq!(removed(&fourth), ["\\plain\\notes.txt.rehydrate~1"]);
    assert!(!out.path().join(named).exists());

    // The same with the file selected, and a dry run first: it names the leftovers the run
    // removes, and the file as copied into a free name, not as in conflict.
    std::fs::write(out.path().join(named), vec![0u8; bytes.len()]).unwrap();
    std::fs::write(out.path().join(leftover), b"partial").unwrap();
    // A new view of the folder: the one above keeps a name index of what it did itself.
    let dest = HostVolume::new(out.path()).unwrap();
    let source = HostSource::new(src.path()).unwrap();
    let store = SourceStore::new(&source);
    let dry = TreeOptions {
        dry_run: true,
        ..TreeOptions::default()
    };
    let d = restore_tree(&source, &store, &dest, &dry).unwrap();
    assert!(out.path().join(leftover).exists(), "the dry run removed it");
    let r = restore_tree(&source, &store, &dest, &TreeOptions::default()).unwrap();
    let mut want = vec![
        "\\plain\\notes.txt.rehydrate~1".to_owned(),
        "\\plain\\small.txt.rehydrate~0".to_owned(),
    ];
    want.sort();
    for report in [&d, &r] {
        let mut got = removed(report);
        got.sort();
        assert_eq!(got, want, "dry run {}", report.dry_run);
    }
    assert_eq!(outcomes(&d), outcomes(&r));
    let entry = r
        .entries
        .iter()
        .find(|e| e.path == "\\plain\\notes.txt.rehydrate~1");
    assert!(
        entry.is_some_and(|e| e.status == EntryStatus::Copied && !e.replaced),
        "{entry:?}"
    );
    assert_eq!(std::fs::read(out.path().join(named)).unwrap(), bytes);
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

/// A dry run writes nothing, and says what the real run then does: restored and copied into
/// an empty folder; on a re-run skipped, and a changed dedup file (same size, rebuilt and
/// compared) a conflict, or replaced under if-changed.
#[test]
fn a_dry_run_writes_nothing_and_tells_what_a_run_does() {
    let src = tempfile::tempdir().unwrap();
    let originals = volume_folder(src.path(), 69);
    let source = HostSource::new(src.path()).unwrap();
    let store = SourceStore::new(&source);
    let out = tempfile::tempdir().unwrap();
    let dest = HostVolume::new(out.path()).unwrap();
    let statuses = |r: &TreeReport| {
        let mut v: Vec<(String, EntryStatus, bool)> = r
            .entries
            .iter()
            .map(|e| (e.path.clone(), e.status, e.replaced))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let run = |opts: &TreeOptions| restore_tree(&source, &store, &dest, opts).unwrap();
    for policy in [Overwrite::Never, Overwrite::IfChanged] {
        let opts = TreeOptions {
            overwrite: policy,
            ..TreeOptions::default()
        };
        let dry = TreeOptions {
            dry_run: true,
            ..opts.clone()
        };
        let d = run(&dry);
        assert!(d.dry_run);
        assert_eq!(
            files_below(out.path()).len(),
            if policy == Overwrite::Never {
                0
            } else {
                originals.len()
            }
        );
        let r = run(&opts);
        assert_eq!(statuses(&d), statuses(&r), "{policy:?}");
    }
    // Change one dedup file without changing its size.
    let (changed, bytes) = &originals[1];
    let mut host = out.path().to_owned();
    host.extend(changed.components());
    let mut edited = bytes.clone();
    edited[bytes.len() - 1] ^= 0xFF;
    std::fs::write(&host, &edited).unwrap();
    for policy in [Overwrite::Never, Overwrite::IfChanged] {
        let dry = TreeOptions {
            overwrite: policy,
            dry_run: true,
            ..TreeOptions::default()
        };
        let d = run(&dry);
        assert_eq!(std::fs::read(&host).unwrap(), edited, "the dry run wrote");
        let e = d
            .entries
            .iter()
            .find(|e| e.path == changed.to_string())
            .unwrap();
        match policy {
            Overwrite::Never => assert_eq!(e.status, EntryStatus::Conflict),
            _ => assert!(e.status == EntryStatus::Restored && e.replaced, "{e:?}"),
        }
        assert_eq!(d.count(EntryStatus::Skipped), originals.len() - 1);
    }
    let r = run(&TreeOptions {
        overwrite: Overwrite::IfChanged,
        ..TreeOptions::default()
    });
    assert_eq!(r.count(EntryStatus::Restored), 1);
    assert_eq!(&std::fs::read(&host).unwrap(), bytes);
    // restore_planned with a plan made beforehand does the same.
    let plan = plan_tree(&source, &TreeOptions::default()).unwrap();
    let r = restore_planned(plan, &source, &store, &dest, &TreeOptions::default()).unwrap();
    assert_eq!(r.count(EntryStatus::Skipped), originals.len());
}

/// Entries that are one name in the destination (spellings a case-sensitive source holds
/// apart): the dry run says what the real run does, which places them in turn, the later
/// meeting what the earlier left. Two stubs alike, two copies alike and two that differ, a
/// file after a folder of its name and a folder after a file (which cannot be made, nor
/// anything below it), a folder where the destination has a file; under each policy, into a
/// destination holding only that file, and again over what the first run left. Before, the
/// dry run reported every entry as if its name were free or as the destination had it before
/// the run.
#[test]
fn a_dry_run_tells_what_a_run_does_with_one_name_in_several_spellings() {
    let src = tempfile::tempdir().unwrap();
    volume_folder(src.path(), 71);
    copy_with_xattrs(src.path(), "data/sub/file01.bin", "data/sub/FILE01.BIN");
    copy_with_xattrs(src.path(), "docs/file00.bin", "data/sub/FILE02.BIN");
    let small = std::fs::read(src.path().join("plain/small.txt")).unwrap();
    let mut other = small.clone();
    other[0] ^= 0x20;
    let write = |p: &str, bytes: &[u8]| {
        let p = src.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    write("plain/SMALL.TXT", &small);
    write("plain/Small.txt", &other);
    write("plain/A/x.txt", b"in a folder");
    write("plain/a", b"a file named like the folder before it");
    write("plain/B", b"a file named like the folder after it");
    write("plain/b/y.txt", b"in a folder the run cannot make");
    write("plain/b/c/z.txt", b"below it");
    let source = HostSource::new(src.path()).unwrap();
    let store = SourceStore::new(&source);
    // Every folder and file below a root, with the files' bytes.
    let tree = |root: &Path| -> Vec<(String, Option<Vec<u8>>)> {
        let mut all = Vec::new();
        let mut stack = vec![root.to_owned()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                if p.is_dir() {
                    stack.push(p);
                    all.push((rel, None));
                } else {
                    all.push((rel, Some(std::fs::read(&p).unwrap())));
                }
            }
        }
        all.sort();
        all
    };
    for overwrite in [Overwrite::Never, Overwrite::IfChanged, Overwrite::Always] {
        let out = tempfile::tempdir().unwrap();
        // A file where the source has a folder.
        std::fs::create_dir(out.path().join("plain")).unwrap();
        std::fs::write(out.path().join("plain/deep"), b"not a folder").unwrap();
        let dest = HostVolume::new(out.path()).unwrap();
        let (opts, dry) = run_and_dry_run(overwrite);
        for pass in ["first", "again"] {
            let before = tree(out.path());
            let d = restore_tree(&source, &store, &dest, &dry).unwrap();
            assert!(tree(out.path()) == before, "the dry run wrote");
            let r = restore_tree(&source, &store, &dest, &opts).unwrap();
            assert_eq!(outcomes(&d), outcomes(&r), "{overwrite:?}, {pass}");
            // The meetings happened: the folder that cannot be made and what is below it
            // failed, the file after a folder is in conflict; under `Never` the stub and the
            // copy alike are skipped.
            let what = format!("{overwrite:?}, {pass}: {:#?}", r.entries);
            let status = |p: &str| r.entries.iter().find(|e| e.path == p).map(|e| e.status);
            for p in [
                "\\plain\\b",
                "\\plain\\b\\c\\z.txt",
                "\\plain\\deep\\er\\empty.dat",
            ] {
                assert_eq!(status(p), Some(EntryStatus::Failed), "{p}: {what}");
            }
            assert_eq!(status("\\plain\\a"), Some(EntryStatus::Conflict), "{what}");
            if overwrite == Overwrite::Never && pass == "first" {
                assert_eq!(r.count(EntryStatus::Skipped), 2, "{what}");
            }
        }
    }
}

/// Two spellings of one dedup name whose stubs differ and whose files have one length, on a
/// re-run: the dry run compares each with what the run finds, in turn, as the real run does.
/// Before, both went into one comparison, which holds one stub a name: both were judged by
/// the second's bytes, and the first, identical to the file in place, was reported in
/// conflict.
#[test]
fn a_dry_run_compares_two_spellings_of_one_length_in_turn() {
    let mut rng = test_support::SplitMix64(73);
    let originals: Vec<(WinPath, Vec<u8>)> = ["\\data\\X.bin", "\\data\\y.bin"]
        .iter()
        .map(|p| {
            let mut bytes = vec![0u8; 200 * 1024];
            rng.fill(&mut bytes);
            (wp(p), bytes)
        })
        .collect();
    let vol = optimized_volume(73, &originals, dedup_reparse::LayoutVersion::V3);
    let src = tempfile::tempdir().unwrap();
    winsim::host::export_volume(&vol, src.path()).unwrap();
    copy_with_xattrs(src.path(), "data/y.bin", "data/x.bin");
    let source = HostSource::new(src.path()).unwrap();
    let store = SourceStore::new(&source);
    let out = tempfile::tempdir().unwrap();
    let dest = HostVolume::new(out.path()).unwrap();
    let first = restore_tree(&source, &store, &dest, &TreeOptions::default()).unwrap();
    let status = |r: &TreeReport, p: &str| r.entries.iter().find(|e| e.path == p).map(|e| e.status);
    assert_eq!(
        status(&first, "\\data\\x.bin"),
        Some(EntryStatus::Conflict),
        "{:#?}",
        first.entries
    );
    for overwrite in [Overwrite::Never, Overwrite::IfChanged] {
        let (opts, dry) = run_and_dry_run(overwrite);
        let d = restore_tree(&source, &store, &dest, &dry).unwrap();
        let r = restore_tree(&source, &store, &dest, &opts).unwrap();
        assert_eq!(outcomes(&d), outcomes(&r), "{overwrite:?}");
        assert_eq!(
            status(&r, "\\data\\X.bin"),
            Some(EntryStatus::Skipped),
            "{overwrite:?}"
        );
    }
}
