//! Re-runs of an out-of-place restore into the same folder: files already there (skipped,
//! in conflict, replaced by policy) and the temporary files an interrupted run left (removed,
//! but never a source file that only looks like one).
#![cfg(unix)]

mod common;

use common::tree::{outcomes, read_host, restore_into, volume_folder};
use dedup_restore::{
    EntryStatus, Hresult, Overwrite, SourceStore, TreeOptions, TreeReport, restore_tree,
};
use platform::{HostSource, HostVolume};

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
