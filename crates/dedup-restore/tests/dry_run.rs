//! Dry runs of an out-of-place restore: nothing written, and what the real run then does
//! reported entry by entry, also where entries are one name in the destination.
#![cfg(unix)]

mod common;

use std::path::Path;

use common::tree::{copy_with_xattrs, files_below, outcomes, run_and_dry_run, volume_folder};
use common::*;
use dedup_restore::{
    EntryStatus, Overwrite, SourceStore, TreeOptions, TreeReport, plan_tree, restore_planned,
    restore_tree,
};
use platform::{HostSource, HostVolume, WinPath};

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
