//! What a restored or copied file keeps of its source, through the public API: its
//! modification and access times (folders too), and the read-only attribute.
#![cfg(unix)]

mod common;

use common::tree::{restore_into, volume_folder};
use dedup_restore::{EntryStatus, TreeOptions};
use platform::HostVolume;

/// The volume folder `src` restored into a new host folder, with no file failed.
fn restored_without_failures(src: &std::path::Path) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let dest = HostVolume::new(out.path()).unwrap();
    let report = restore_into(src, &dest, &TreeOptions::default());
    assert_eq!(
        report.count(EntryStatus::Failed),
        0,
        "{:#?}",
        report.entries
    );
    out
}

/// Restored and copied files, and folders, keep their source modification and access times
/// (a stub and a plain file dated 2020 come back dated 2020).
#[test]
fn files_and_folders_keep_their_times() {
    use std::time::{Duration, SystemTime};
    let src = tempfile::tempdir().unwrap();
    let originals = volume_folder(src.path(), 66);
    let when = SystemTime::UNIX_EPOCH + Duration::from_hours(438_300); // 2020-01-01 12:00 UTC
    let seen = SystemTime::UNIX_EPOCH + Duration::from_hours(438_900);
    let stamp = |rel: &str| {
        let f = std::fs::File::open(src.path().join(rel)).unwrap();
        f.set_times(
            std::fs::FileTimes::new()
                .set_modified(when)
                .set_accessed(seen),
        )
        .unwrap();
    };
    let stub: String = originals[0].0.components().collect::<Vec<_>>().join("/");
    stamp(&stub);
    stamp("plain/small.txt");
    stamp("plain/deep");
    let out = restored_without_failures(src.path());
    for rel in [stub.as_str(), "plain/small.txt", "plain/deep"] {
        let md = std::fs::metadata(out.path().join(rel)).unwrap();
        assert_eq!(md.modified().unwrap(), when, "{rel}");
        assert_eq!(md.accessed().unwrap(), seen, "{rel}");
    }
}

/// A read-only source file (a stub or a plain one) comes back read-only: the attribute, and
/// no write permission in its mode, so that tools other than this one see it too.
#[test]
fn read_only_files_come_back_without_write_permission() {
    use std::os::unix::fs::PermissionsExt as _;
    const ATTRS: &str = "user.rehydrate.attributes";
    let src = tempfile::tempdir().unwrap();
    let originals = volume_folder(src.path(), 68);
    let stub: String = originals[0].0.components().collect::<Vec<_>>().join("/");
    let mark = |rel: &str| {
        let host = src.path().join(rel);
        let old = xattr::get(&host, ATTRS)
            .unwrap()
            .map_or(platform::attr::ARCHIVE, |v| {
                u32::from_le_bytes(v[..4].try_into().unwrap())
            });
        xattr::set(
            &host,
            ATTRS,
            &(old | platform::attr::READONLY).to_le_bytes(),
        )
        .unwrap();
    };
    mark(&stub);
    mark("plain/small.txt");
    let out = restored_without_failures(src.path());
    for rel in [stub.as_str(), "plain/small.txt"] {
        let host = out.path().join(rel);
        let mode = std::fs::metadata(&host).unwrap().permissions().mode();
        assert_eq!(mode & 0o222, 0, "{rel}: mode {mode:o}");
        let stored = xattr::get(&host, ATTRS).unwrap().unwrap();
        let bits = u32::from_le_bytes(stored[..4].try_into().unwrap());
        assert_ne!(
            bits & platform::attr::READONLY,
            0,
            "{rel}: attributes {bits:#x}"
        );
    }
    // A file that is not read-only keeps its owner's write permission.
    let other = originals[1].0.components().collect::<Vec<_>>().join("/");
    let mode = std::fs::metadata(out.path().join(&other))
        .unwrap()
        .permissions()
        .mode();
    assert_ne!(mode & 0o200, 0, "{other}: mode {mode:o}");
}
