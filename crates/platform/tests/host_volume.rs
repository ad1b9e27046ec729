//! What is particular to `HostVolume` (the behaviour every volume shares is the conformance
//! suite, `tests/conformance.rs`): where it keeps reparse points and the pending list on the
//! host, its hidden state folder, its name index meeting changes made behind its back, and
//! holes without the sparse flag.

use std::sync::Arc;

use platform::{
    Access, Disposition, Error, FileHandle, HostVolume, OpenOptions, PendingRename, ShareMode,
    Volume, WinPath,
};

fn p(s: &str) -> WinPath {
    WinPath::new(s).unwrap()
}

fn vol() -> (tempfile::TempDir, HostVolume) {
    let dir = tempfile::tempdir().unwrap();
    let v = HostVolume::new(dir.path()).unwrap();
    (dir, v)
}

fn create(v: &dyn Volume, path: &str, data: &[u8]) {
    let f = v
        .open(
            &p(path),
            OpenOptions::new(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew),
        )
        .unwrap();
    f.write_all_at(0, data).unwrap();
}

fn read_all(v: &dyn Volume, path: &str) -> Vec<u8> {
    let f = v.open(&p(path), OpenOptions::READ_EXISTING).unwrap();
    let mut buf = vec![0; usize::try_from(f.len().unwrap()).unwrap()];
    f.read_exact_at(0, &mut buf).unwrap();
    buf
}

/// Needs `user.*` xattrs: skipped with a message outside CI, a failure under CI.
fn xattrs_or_skip(v: &HostVolume, test: &str) -> bool {
    if v.user_xattrs_supported().unwrap() {
        return true;
    }
    let why = format!(
        "{test}: the file system under {} refuses user extended attributes (user.*)",
        v.root().display()
    );
    assert!(std::env::var_os("CI").is_none(), "{why}");
    eprintln!("skipped: {why}");
    false
}

#[test]
fn traits_are_object_safe_and_thread_safe() {
    fn assert_send_sync<T: Send + Sync + ?Sized>() {}
    assert_send_sync::<dyn Volume>();
    assert_send_sync::<dyn FileHandle>();
    assert_send_sync::<HostVolume>();
    let (_d, v) = vol();
    let shared: Arc<dyn Volume> = Arc::new(v);
    create(&*shared, "\\x", b"1");
    assert!(shared.exists(&p("\\X")).unwrap());
}

/// Reparse points live where ntfs-3g keeps them: the `user.ntfs_reparse_data` xattr holds the
/// whole `REPARSE_DATA_BUFFER`.
#[test]
fn reparse_point_is_the_ntfs_3g_xattr() {
    let (_d, v) = vol();
    create(&v, "\\stub", b"");
    if !xattrs_or_skip(&v, "reparse_point_is_the_ntfs_3g_xattr") {
        return;
    }
    let mut buf = vec![0x13, 0x00, 0x00, 0x80, 0x10, 0x00, 0x00, 0x00];
    buf.extend_from_slice(&[0xAA; 16]);
    let f = v
        .open(
            &p("\\stub"),
            OpenOptions::new(
                Access::READ_WRITE,
                ShareMode::READ,
                Disposition::OpenExisting,
            ),
        )
        .unwrap();
    f.set_reparse_point(&buf).unwrap();
    let host = v.host_path(&p("\\STUB")).unwrap().unwrap();
    assert_eq!(
        xattr::get(&host, platform::REPARSE_XATTR_USER).unwrap(),
        Some(buf)
    );
    f.remove_reparse_point().unwrap();
    assert_eq!(
        xattr::get(&host, platform::REPARSE_XATTR_USER).unwrap(),
        None
    );
}

/// `set_len` leaves a hole even without the sparse flag (the host file system's own sparse
/// files), so a 64 MiB stub costs next to nothing.
#[test]
fn set_len_leaves_a_hole_without_the_sparse_flag() {
    let (_d, v) = vol();
    let f = v
        .open(
            &p("\\stub"),
            OpenOptions::new(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew),
        )
        .unwrap();
    let len = 64 * 1024 * 1024;
    f.set_len(len).unwrap();
    let md = v.metadata(&p("\\stub")).unwrap();
    assert!(!md.is_sparse());
    assert_eq!(md.len, len);
    assert!(md.allocated < 1024 * 1024, "allocated {}", md.allocated);
}

/// Extending a new file for piecewise writing is one `ftruncate`: no attribute is stored until
/// the file is written and given its attributes (the restore then writes them once a file, not
/// three times).
#[test]
fn extending_for_piecewise_writes_stores_no_attribute() {
    let (d, v) = vol();
    if !xattrs_or_skip(&v, "extending_for_piecewise_writes_stores_no_attribute") {
        return;
    }
    let f = v
        .open(
            &p("\\temp~0"),
            OpenOptions::new(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew),
        )
        .unwrap();
    f.extend_unallocated(1 << 20).unwrap();
    let host = d.path().join("temp~0");
    assert_eq!(
        xattr::get(&host, "user.rehydrate.attributes").unwrap(),
        None
    );
    assert_eq!(v.metadata(&p("\\temp~0")).unwrap().len, 1 << 20);
    assert!(v.metadata(&p("\\temp~0")).unwrap().allocated < 1 << 20);
    f.set_sparse_and_attributes(true, platform::attr::ARCHIVE)
        .unwrap();
    assert_eq!(
        xattr::get(&host, "user.rehydrate.attributes").unwrap(),
        Some(
            (platform::attr::ARCHIVE | platform::attr::SPARSE_FILE)
                .to_le_bytes()
                .to_vec()
        )
    );
}

/// The `.rehydrate` state folder is not part of the volume: hidden from listings, refused to
/// opens.
#[test]
fn state_folder_is_hidden_and_refused() {
    let (_d, v) = vol();
    create(&v, "\\a.txt", b"a");
    v.add_pending_rename(&PendingRename {
        source: p("\\a.txt"),
        destination: None,
        replace_existing: false,
    })
    .unwrap();
    let names: Vec<String> = v
        .read_dir(&WinPath::root())
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["a.txt"]);
    assert!(matches!(
        v.open(
            &p("\\.rehydrate\\PendingFileRenameOperations"),
            OpenOptions::READ_EXISTING
        ),
        Err(Error::AccessDenied { .. })
    ));
}

/// The pending list on disk: `.rehydrate/PendingFileRenameOperations`, one source and one
/// destination line per operation (`!` for replace, an empty line for delete), the layout of
/// the registry value.
#[test]
fn pending_list_file_layout() {
    let (d, v) = vol();
    let op = |source: &str, destination: Option<&str>, replace_existing| PendingRename {
        source: p(source),
        destination: destination.map(p),
        replace_existing,
    };
    for o in [
        op("\\staged.new", Some("\\live.dll"), true),
        op("\\junk.tmp", None, false),
        op("\\blocked", Some("\\exists"), false),
    ] {
        v.add_pending_rename(&o).unwrap();
    }
    let text =
        std::fs::read_to_string(d.path().join(".rehydrate/PendingFileRenameOperations")).unwrap();
    assert_eq!(
        text,
        "\\staged.new\n!\\live.dll\n\\junk.tmp\n\n\\blocked\n\\exists\n"
    );
    let after = HostVolume::new(d.path()).unwrap();
    assert_eq!(after.apply_pending_renames().unwrap().len(), 3);
    assert!(
        !d.path()
            .join(".rehydrate/PendingFileRenameOperations")
            .exists()
    );
}

/// The case-insensitive name index drops a name removed by another process, and then sees
/// the name created again through the volume.
#[test]
fn name_index_meets_changes_behind_its_back() {
    let (dir, v) = vol();
    v.create_dir(&p("Docs")).unwrap();
    create(&v, "docs\\FINAL.txt", b"two");
    assert_eq!(read_all(&v, "DOCS\\final.TXT"), b"two");
    assert!(
        dir.path().join("Docs/FINAL.txt").is_file(),
        "stored in its case"
    );
    std::fs::remove_file(dir.path().join("Docs/FINAL.txt")).unwrap();
    assert!(!v.exists(&p("docs\\final.txt")).unwrap());
    create(&v, "docs\\final.txt", b"three");
    assert_eq!(read_all(&v, "DOCS\\FINAL.TXT"), b"three");
}

/// `set_times` sets the two times given and leaves one that is `None`, before 1970 as after,
/// with nanoseconds, on a file in a folder and on a folder; a link is refused, not followed.
#[test]
fn set_times_sets_what_is_given_and_never_follows_a_link() {
    use std::time::{Duration, UNIX_EPOCH};
    let (dir, v) = vol();
    v.create_dir(&p("docs")).unwrap();
    create(&v, "docs\\a.txt", b"a");
    let host = dir.path().join("docs/a.txt");
    let times = |h: &std::path::Path| {
        let md = std::fs::symlink_metadata(h).unwrap();
        (md.modified().unwrap(), md.accessed().unwrap())
    };
    let before_1970 = UNIX_EPOCH - Duration::new(86_400 * 365, 250_000_000);
    let in_2020 = UNIX_EPOCH + Duration::new(1_600_000_000, 123_456_789);
    v.set_times(&p("DOCS\\A.TXT"), Some(before_1970), Some(in_2020))
        .unwrap();
    assert_eq!(times(&host), (before_1970, in_2020));
    v.set_times(&p("docs\\a.txt"), Some(in_2020), None).unwrap();
    assert_eq!(times(&host), (in_2020, in_2020), "accessed left as it was");
    v.set_times(&p("docs"), Some(before_1970), None).unwrap();
    assert_eq!(times(&dir.path().join("docs")).0, before_1970);

    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("t.txt");
    std::fs::write(&target, b"t").unwrap();
    let untouched = times(&target);
    std::os::unix::fs::symlink(&target, dir.path().join("docs/link")).unwrap();
    let r = v.set_times(&p("docs\\link"), Some(UNIX_EPOCH), Some(UNIX_EPOCH));
    assert!(
        matches!(&r, Err(Error::AccessDenied { .. })),
        "a link is refused: {r:?}"
    );
    assert_eq!(times(&target), untouched, "nothing set through the link");
}

/// A handle's `set_times` sets the file's times (before 1970 as after, one left as it is), and
/// they follow the file through a rename; a handle without write access is refused.
#[test]
fn set_times_through_a_handle_sets_the_file_itself() {
    use std::time::{Duration, UNIX_EPOCH};
    let (dir, v) = vol();
    let times = |h: &std::path::Path| {
        let md = std::fs::symlink_metadata(h).unwrap();
        (md.modified().unwrap(), md.accessed().unwrap())
    };
    let before_1970 = UNIX_EPOCH - Duration::new(86_400 * 365, 250_000_000);
    let in_2020 = UNIX_EPOCH + Duration::new(1_600_000_000, 123_456_789);
    let f = v
        .open(
            &p("a.tmp"),
            OpenOptions::new(Access::READ_WRITE, ShareMode::ALL, Disposition::CreateNew),
        )
        .unwrap();
    f.write_all_at(0, b"a").unwrap();
    f.set_times(Some(before_1970), Some(in_2020)).unwrap();
    f.set_times(None, Some(before_1970)).unwrap();
    drop(f);
    v.rename(&p("a.tmp"), &p("A.txt"), false).unwrap();
    assert_eq!(times(&dir.path().join("A.txt")), (before_1970, before_1970));
    let read_only = v.open(&p("a.txt"), OpenOptions::READ_EXISTING).unwrap();
    let r = read_only.set_times(Some(in_2020), None);
    assert!(matches!(&r, Err(Error::AccessDenied { .. })), "{r:?}");
    assert_eq!(times(&dir.path().join("A.txt")).0, before_1970);
}

/// A file this volume created keeps its owner's write bit until a handle makes it read-only;
/// attributes without `READONLY` then give the bit back through any handle, also one that
/// created the file (and so may skip looking at its mode while no file was made read-only).
#[test]
fn clearing_read_only_gives_the_owner_write_bit_back_through_the_creating_handle() {
    use std::os::unix::fs::PermissionsExt as _;
    let (dir, v) = vol();
    if !xattrs_or_skip(&v, "clearing_read_only_gives_the_owner_write_bit_back") {
        return;
    }
    let mode = |name: &str| {
        std::fs::symlink_metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode()
    };
    let rw = OpenOptions::new(
        Access::READ_WRITE,
        ShareMode::READ_WRITE,
        Disposition::CreateNew,
    );
    let fresh = v.open(&p("fresh.txt"), rw).unwrap();
    fresh
        .set_sparse_and_attributes(false, platform::attr::ARCHIVE)
        .unwrap();
    assert_ne!(mode("fresh.txt") & 0o200, 0);
    let created = v.open(&p("a.txt"), rw).unwrap();
    let other = v
        .open(
            &p("A.TXT"),
            OpenOptions::new(
                Access::READ_WRITE,
                ShareMode::READ_WRITE,
                Disposition::OpenExisting,
            ),
        )
        .unwrap();
    other.set_attributes(platform::attr::READONLY).unwrap();
    assert_eq!(mode("a.txt") & 0o222, 0, "read-only: no write bits");
    created
        .set_sparse_and_attributes(false, platform::attr::ARCHIVE)
        .unwrap();
    assert_ne!(mode("a.txt") & 0o200, 0, "the owner's write bit is back");
    assert_eq!(
        created.attributes().unwrap() & platform::attr::READONLY,
        0,
        "{:#x}",
        created.attributes().unwrap()
    );
}
