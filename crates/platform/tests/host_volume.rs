//! `HostVolume` on a temporary folder: dispositions, share modes, positioned I/O from threads,
//! attributes, sparse files, reparse points in xattrs, directories, renames, reboot renames.

use std::sync::Arc;

use platform::{
    Access, Disposition, Error, FileHandle, HostVolume, OpenOptions, PendingRename, ShareMode,
    Volume, WinPath, attr,
};

fn p(s: &str) -> WinPath {
    WinPath::new(s).unwrap()
}

fn vol() -> (tempfile::TempDir, HostVolume) {
    let dir = tempfile::tempdir().unwrap();
    let v = HostVolume::new(dir.path()).unwrap();
    (dir, v)
}

fn opts(access: Access, share: ShareMode, disposition: Disposition) -> OpenOptions {
    OpenOptions::new(access, share, disposition)
}

fn create(v: &dyn Volume, path: &str, data: &[u8]) {
    let f = v
        .open(
            &p(path),
            opts(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew),
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

/// Skips (with a clear message) when the temp folder's file system refuses `user.*` xattrs.
fn xattrs_or_skip(v: &HostVolume, test: &str) -> bool {
    if v.user_xattrs_supported().unwrap() {
        true
    } else {
        eprintln!(
            "SKIPPED {test}: the file system under {} refuses user extended attributes (user.*), \
             which HostVolume needs for reparse points and attributes",
            v.root().display()
        );
        false
    }
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

#[test]
fn dispositions() {
    let (_d, v) = vol();
    let rw = Access::READ_WRITE;
    let s = ShareMode::READ;
    // CreateNew, then again: AlreadyExists (case-insensitively).
    create(&v, "\\File.txt", b"hello world");
    let err = v
        .open(&p("\\FILE.TXT"), opts(rw, s, Disposition::CreateNew))
        .unwrap_err();
    assert!(
        matches!(&err, Error::AlreadyExists { path } if *path == p("\\file.txt")),
        "{err}"
    );
    assert!(
        err.to_string().contains("FILE.TXT"),
        "error names the path: {err}"
    );
    // OpenExisting on a missing file / in a missing directory.
    assert!(matches!(
        v.open(&p("\\nope"), opts(rw, s, Disposition::OpenExisting)),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        v.open(&p("\\nodir\\x"), opts(rw, s, Disposition::OpenAlways)),
        Err(Error::NotFound { .. })
    ));
    // A file used as a directory.
    assert!(matches!(
        v.open(&p("\\file.txt\\x"), opts(rw, s, Disposition::OpenAlways)),
        Err(Error::NotADirectory { .. })
    ));
    // OpenExisting keeps the data; OpenAlways opens or creates.
    assert_eq!(read_all(&v, "\\file.TXT"), b"hello world");
    drop(
        v.open(&p("\\new"), opts(rw, s, Disposition::OpenAlways))
            .unwrap(),
    );
    assert!(v.exists(&p("\\new")).unwrap());
    let f = v
        .open(&p("\\file.txt"), opts(rw, s, Disposition::OpenAlways))
        .unwrap();
    assert_eq!(f.len().unwrap(), 11);
    drop(f);
    // TruncateExisting needs write access and an existing file.
    assert!(matches!(
        v.open(
            &p("\\file.txt"),
            opts(Access::READ, s, Disposition::TruncateExisting)
        ),
        Err(Error::AccessDenied { .. })
    ));
    assert!(matches!(
        v.open(&p("\\missing"), opts(rw, s, Disposition::TruncateExisting)),
        Err(Error::NotFound { .. })
    ));
    let f = v
        .open(&p("\\file.txt"), opts(rw, s, Disposition::TruncateExisting))
        .unwrap();
    assert_eq!(f.len().unwrap(), 0);
    f.write_all_at(0, b"abc").unwrap();
    drop(f);
    // CreateAlways truncates an existing file or creates.
    let f = v
        .open(&p("\\file.txt"), opts(rw, s, Disposition::CreateAlways))
        .unwrap();
    assert_eq!(f.len().unwrap(), 0);
    drop(f);
    drop(
        v.open(&p("\\other"), opts(rw, s, Disposition::CreateAlways))
            .unwrap(),
    );
    // Directories cannot be opened as files.
    v.create_dir(&p("\\dir")).unwrap();
    assert!(matches!(
        v.open(&p("\\DIR"), OpenOptions::READ_EXISTING),
        Err(Error::IsADirectory { .. })
    ));
    assert!(matches!(
        v.open(&WinPath::root(), OpenOptions::READ_EXISTING),
        Err(Error::IsADirectory { .. })
    ));
    // The created file keeps the case it was given.
    let names: Vec<String> = v
        .read_dir(&WinPath::root())
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["dir", "File.txt", "new", "other"]);
}

#[test]
fn share_mode_conflicts() {
    let (_d, v) = vol();
    create(&v, "\\f", b"data");
    let path = p("\\F");
    // Exclusive handle: nothing else may open it.
    let excl = v
        .open(
            &path,
            opts(
                Access::READ_WRITE,
                ShareMode::NONE,
                Disposition::OpenExisting,
            ),
        )
        .unwrap();
    let err = v.open(&p("\\f"), OpenOptions::READ_EXISTING).unwrap_err();
    assert!(
        matches!(&err, Error::SharingViolation { path, .. } if *path == p("\\f")),
        "{err}"
    );
    assert!(matches!(
        v.delete_file(&path),
        Err(Error::SharingViolation { .. })
    ));
    assert!(matches!(
        v.rename(&path, &p("\\g"), false),
        Err(Error::SharingViolation { .. })
    ));
    drop(excl);
    // Readers sharing read: more readers fine, a writer refused.
    let r1 = v
        .open(
            &path,
            opts(Access::READ, ShareMode::READ, Disposition::OpenExisting),
        )
        .unwrap();
    let r2 = v
        .open(
            &path,
            opts(Access::READ, ShareMode::READ, Disposition::OpenExisting),
        )
        .unwrap();
    assert!(matches!(
        v.open(
            &path,
            opts(
                Access::READ_WRITE,
                ShareMode::ALL,
                Disposition::OpenExisting
            )
        ),
        Err(Error::SharingViolation { .. })
    ));
    // A new handle that does not share read conflicts with the open readers.
    assert!(matches!(
        v.open(
            &path,
            opts(Access::READ, ShareMode::NONE, Disposition::OpenExisting)
        ),
        Err(Error::SharingViolation { .. })
    ));
    drop((r1, r2));
    // A writer sharing read+write lets another writer in.
    let w1 = v
        .open(
            &path,
            opts(
                Access::READ_WRITE,
                ShareMode::READ_WRITE,
                Disposition::OpenExisting,
            ),
        )
        .unwrap();
    let w2 = v
        .open(
            &path,
            opts(
                Access::READ_WRITE,
                ShareMode::READ_WRITE,
                Disposition::OpenExisting,
            ),
        )
        .unwrap();
    // Truncation is refused while the sharing rules refuse the open.
    assert!(matches!(
        v.open(
            &path,
            opts(
                Access::READ_WRITE,
                ShareMode::NONE,
                Disposition::TruncateExisting
            )
        ),
        Err(Error::SharingViolation { .. })
    ));
    assert_eq!(
        w1.len().unwrap(),
        4,
        "a refused truncation did not truncate"
    );
    drop((w1, w2));
    // Sharing delete allows delete and rename while open; the handle follows the rename.
    let h = v
        .open(
            &path,
            opts(Access::READ, ShareMode::ALL, Disposition::OpenExisting),
        )
        .unwrap();
    v.rename(&path, &p("\\g"), false).unwrap();
    assert_eq!(h.path(), p("\\g"));
    let mut b = [0; 4];
    h.read_exact_at(0, &mut b).unwrap();
    assert_eq!(&b, b"data");
    v.delete_file(&p("\\g")).unwrap();
    assert!(!v.exists(&p("\\g")).unwrap());
    // After close everything is free again.
    drop(h);
    create(&v, "\\g", b"new");
}

const PIECE: usize = 64 * 1024;

#[test]
fn positioned_io_from_many_threads() {
    let (_d, v) = vol();
    let f = v
        .open(
            &p("\\big.bin"),
            opts(Access::READ_WRITE, ShareMode::READ, Disposition::CreateNew),
        )
        .unwrap();
    let f: &dyn FileHandle = &*f;
    std::thread::scope(|s| {
        for t in 0..8u8 {
            s.spawn(move || {
                // Out of order: thread t writes pieces t, t+8, t+16 backwards.
                for k in (0..3).rev() {
                    let i = usize::from(t) + 8 * k;
                    let data = vec![i as u8; PIECE];
                    f.write_all_at((i * PIECE) as u64, &data).unwrap();
                }
            });
        }
    });
    assert_eq!(f.len().unwrap(), (24 * PIECE) as u64);
    std::thread::scope(|s| {
        for i in 0..24usize {
            s.spawn(move || {
                let mut buf = vec![0; PIECE];
                f.read_exact_at((i * PIECE) as u64, &mut buf).unwrap();
                assert!(buf.iter().all(|&b| b == i as u8), "piece {i}");
            });
        }
    });
    // Reading past the end returns 0 / UnexpectedEof.
    let mut b = [0u8; 4];
    assert_eq!(f.read_at(24 * PIECE as u64, &mut b).unwrap(), 0);
    assert!(matches!(
        f.read_exact_at(24 * PIECE as u64 - 2, &mut b),
        Err(Error::Io { .. })
    ));
    // A read-only handle cannot write; set_len needs write access too.
    let r = v
        .open(
            &p("\\big.bin"),
            opts(Access::READ, ShareMode::ALL, Disposition::OpenExisting),
        )
        .unwrap();
    assert!(matches!(
        r.write_at(0, b"x"),
        Err(Error::AccessDenied { .. })
    ));
    assert!(matches!(r.set_len(0), Err(Error::AccessDenied { .. })));
}

#[test]
fn set_len_makes_a_sparse_file() {
    let (_d, v) = vol();
    let f = v
        .open(
            &p("\\stub"),
            opts(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew),
        )
        .unwrap();
    let len = 64 * 1024 * 1024;
    f.set_len(len).unwrap();
    let md = v.metadata(&p("\\stub")).unwrap();
    assert_eq!(md.len, len);
    assert!(
        md.allocated < 1024 * 1024,
        "a 64 MiB set_len allocated {} bytes",
        md.allocated
    );
    let mut b = [1u8; 16];
    f.read_exact_at(len / 2, &mut b).unwrap();
    assert_eq!(b, [0; 16]);
    f.set_len(10).unwrap();
    assert_eq!(f.len().unwrap(), 10);
}

#[test]
fn attributes_sparse_flag_and_read_only() {
    let (_d, v) = vol();
    create(&v, "\\a", b"x");
    v.create_dir(&p("\\d")).unwrap();
    assert_eq!(v.metadata(&p("\\a")).unwrap().attributes, attr::ARCHIVE);
    assert!(v.metadata(&p("\\d")).unwrap().is_dir());
    if !xattrs_or_skip(&v, "attributes_sparse_flag_and_read_only") {
        return;
    }
    let f = v
        .open(
            &p("\\a"),
            opts(
                Access::READ_WRITE,
                ShareMode::NONE,
                Disposition::OpenExisting,
            ),
        )
        .unwrap();
    f.set_sparse(true).unwrap();
    assert_eq!(f.attributes().unwrap(), attr::ARCHIVE | attr::SPARSE_FILE);
    f.set_attributes(attr::HIDDEN | attr::SYSTEM | attr::DIRECTORY | attr::REPARSE_POINT)
        .unwrap();
    assert_eq!(
        f.attributes().unwrap(),
        attr::HIDDEN | attr::SYSTEM | attr::SPARSE_FILE,
        "derived bits ignored"
    );
    f.set_sparse(false).unwrap();
    f.set_attributes(attr::NORMAL).unwrap();
    assert_eq!(f.attributes().unwrap(), attr::NORMAL);
    f.set_attributes(attr::READONLY).unwrap();
    drop(f);
    assert!(v.metadata(&p("\\a")).unwrap().attributes & attr::READONLY != 0);
    assert!(matches!(
        v.open(
            &p("\\a"),
            opts(
                Access::READ_WRITE,
                ShareMode::ALL,
                Disposition::OpenExisting
            )
        ),
        Err(Error::AccessDenied { .. })
    ));
    assert!(matches!(
        v.delete_file(&p("\\a")),
        Err(Error::AccessDenied { .. })
    ));
    assert_eq!(
        read_all(&v, "\\a"),
        b"x",
        "reading a read-only file is fine"
    );
}

fn dedup_buffer(fill: u8) -> Vec<u8> {
    let mut b = vec![0x13, 0x00, 0x00, 0x80, 0x10, 0x00, 0x00, 0x00];
    b.extend_from_slice(&[fill; 16]);
    b
}

#[test]
fn reparse_points_in_user_xattr() {
    let (_d, v) = vol();
    create(&v, "\\stub", b"");
    let f = v
        .open(
            &p("\\stub"),
            opts(
                Access::READ_WRITE,
                ShareMode::READ,
                Disposition::OpenExisting,
            ),
        )
        .unwrap();
    assert!(matches!(
        f.reparse_point(),
        Err(Error::NotAReparsePoint { .. })
    ));
    assert!(matches!(
        f.remove_reparse_point(),
        Err(Error::NotAReparsePoint { .. })
    ));
    if !xattrs_or_skip(&v, "reparse_points_in_user_xattr") {
        return;
    }
    let buf = dedup_buffer(0xAA);
    f.set_reparse_point(&buf).unwrap();
    f.set_len(1 << 20).unwrap();
    f.set_sparse(true).unwrap();
    assert_eq!(f.reparse_point().unwrap(), buf);
    assert_eq!(v.reparse_point(&p("\\STUB")).unwrap(), buf);
    let md = v.metadata(&p("\\stub")).unwrap();
    assert_eq!(
        md.attributes,
        attr::ARCHIVE | attr::SPARSE_FILE | attr::REPARSE_POINT,
        "0x620 like Windows"
    );
    assert!(md.is_reparse_point() && md.is_sparse());
    // Stored where ntfs-3g-style tools expect it.
    let host = v.host_path(&p("\\stub")).unwrap().unwrap();
    assert_eq!(
        xattr::get(&host, "user.ntfs_reparse_data")
            .unwrap()
            .unwrap(),
        buf
    );
    // Same tag replaces; another tag is refused; malformed buffers are refused.
    f.set_reparse_point(&dedup_buffer(0xBB)).unwrap();
    assert_eq!(f.reparse_point().unwrap(), dedup_buffer(0xBB));
    let mut other = dedup_buffer(0);
    other[..4].copy_from_slice(&0xA000_000Cu32.to_le_bytes());
    assert!(matches!(
        f.set_reparse_point(&other),
        Err(Error::ReparseTagMismatch {
            existing: 0x8000_0013,
            given: 0xA000_000C,
            ..
        })
    ));
    let mut bad_len = dedup_buffer(0);
    bad_len[4] = 0x11;
    assert!(matches!(
        f.set_reparse_point(&bad_len),
        Err(Error::InvalidReparseData { .. })
    ));
    assert!(matches!(
        f.set_reparse_point(&[0x13, 0, 0]),
        Err(Error::InvalidReparseData { .. })
    ));
    // A read-only handle may read but not change it.
    let r = v
        .open(
            &p("\\stub"),
            opts(Access::READ, ShareMode::ALL, Disposition::OpenExisting),
        )
        .unwrap();
    assert_eq!(r.reparse_point().unwrap(), dedup_buffer(0xBB));
    assert!(matches!(
        r.remove_reparse_point(),
        Err(Error::AccessDenied { .. })
    ));
    drop(r);
    // Removal leaves the data stream.
    f.remove_reparse_point().unwrap();
    assert!(matches!(
        f.reparse_point(),
        Err(Error::NotAReparsePoint { .. })
    ));
    let md = v.metadata(&p("\\stub")).unwrap();
    assert!(!md.is_reparse_point());
    assert_eq!(md.len, 1 << 20);
}

#[test]
fn directories_listing_and_removal() {
    let (_d, v) = vol();
    v.create_dir_all(&p("\\System Volume Information\\Dedup\\ChunkStore"))
        .unwrap();
    v.create_dir_all(&p("\\system volume information\\DEDUP\\ChunkStore\\Data"))
        .unwrap();
    assert!(matches!(
        v.create_dir(&p("\\SYSTEM VOLUME INFORMATION")),
        Err(Error::AlreadyExists { .. })
    ));
    assert!(matches!(
        v.create_dir(&p("\\a\\b")),
        Err(Error::NotFound { .. })
    ));
    create(
        &v,
        "\\System Volume Information\\Dedup\\ChunkStore\\Data\\00000001.00000001.ccc",
        b"Cthr",
    );
    create(&v, "\\b.txt", b"");
    create(&v, "\\A.txt", b"12");
    v.add_pending_rename(&PendingRename {
        source: p("\\b.txt"),
        destination: None,
        replace_existing: false,
    })
    .unwrap();
    let root: Vec<(String, bool, u64)> = v
        .read_dir(&WinPath::root())
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.metadata.is_dir(), e.metadata.len))
        .collect();
    assert_eq!(
        root,
        [
            ("A.txt".into(), false, 2),
            ("b.txt".into(), false, 0),
            ("System Volume Information".into(), true, 0)
        ],
        "sorted case-insensitively; the .rehydrate state folder is hidden"
    );
    assert!(matches!(
        v.open(
            &p("\\.rehydrate\\PendingFileRenameOperations"),
            OpenOptions::READ_EXISTING
        ),
        Err(Error::AccessDenied { .. })
    ));
    let data = v
        .read_dir(&p("\\system volume information\\dedup\\chunkstore\\data"))
        .unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0].name, "00000001.00000001.ccc");
    assert!(matches!(
        v.read_dir(&p("\\A.txt")),
        Err(Error::NotADirectory { .. })
    ));
    assert!(matches!(
        v.remove_dir(&p("\\System Volume Information")),
        Err(Error::DirectoryNotEmpty { .. })
    ));
    assert!(matches!(
        v.remove_dir(&p("\\A.txt")),
        Err(Error::NotADirectory { .. })
    ));
    assert!(matches!(
        v.delete_file(&p("\\System Volume Information")),
        Err(Error::IsADirectory { .. })
    ));
    assert!(matches!(
        v.delete_file(&p("\\missing")),
        Err(Error::NotFound { .. })
    ));
    v.delete_file(&p(
        "\\system volume information\\dedup\\chunkstore\\data\\00000001.00000001.CCC",
    ))
    .unwrap();
    v.remove_dir(&p("\\System Volume Information\\Dedup\\ChunkStore\\Data"))
        .unwrap();
    assert!(
        !v.exists(&p("\\System Volume Information\\Dedup\\ChunkStore\\Data"))
            .unwrap()
    );
}

#[test]
fn renames() {
    let (_d, v) = vol();
    create(&v, "\\a", b"A");
    create(&v, "\\b", b"B");
    assert!(matches!(
        v.rename(&p("\\a"), &p("\\B"), false),
        Err(Error::AlreadyExists { .. })
    ));
    v.rename(&p("\\a"), &p("\\B"), true).unwrap();
    assert!(!v.exists(&p("\\a")).unwrap());
    assert_eq!(read_all(&v, "\\b"), b"A");
    let names: Vec<String> = v
        .read_dir(&WinPath::root())
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["B"], "the replacing name's case is kept");
    // Case-only rename.
    v.rename(&p("\\b"), &p("\\bee"), false).unwrap();
    v.rename(&p("\\bee"), &p("\\BEE"), false).unwrap();
    let names: Vec<String> = v
        .read_dir(&WinPath::root())
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["BEE"]);
    // Directories: renamed with contents; never replaced; not into themselves.
    v.create_dir_all(&p("\\d1\\sub")).unwrap();
    create(&v, "\\d1\\sub\\f", b"F");
    v.create_dir(&p("\\d2")).unwrap();
    assert!(matches!(
        v.rename(&p("\\bee"), &p("\\d2"), true),
        Err(Error::AccessDenied { .. })
    ));
    assert!(matches!(
        v.rename(&p("\\d1"), &p("\\d1\\sub\\x"), false),
        Err(Error::AccessDenied { .. })
    ));
    // An open handle inside a directory blocks renaming the directory.
    let h = v
        .open(
            &p("\\d1\\sub\\f"),
            opts(Access::READ, ShareMode::ALL, Disposition::OpenExisting),
        )
        .unwrap();
    assert!(matches!(
        v.rename(&p("\\d1"), &p("\\d3"), false),
        Err(Error::SharingViolation { .. })
    ));
    drop(h);
    v.rename(&p("\\D1"), &p("\\d3"), false).unwrap();
    assert_eq!(read_all(&v, "\\d3\\SUB\\f"), b"F");
    assert!(matches!(
        v.rename(&p("\\missing"), &p("\\x"), false),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        v.rename(&p("\\d3"), &p("\\nodir\\x"), false),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn pending_renames_are_applied_like_a_reboot() {
    let (d, v) = vol();
    create(&v, "\\staged.new", b"new");
    create(&v, "\\live.dll", b"old");
    create(&v, "\\junk.tmp", b"junk");
    create(&v, "\\blocked", b"b");
    create(&v, "\\exists", b"e");
    assert!(v.pending_renames().unwrap().is_empty());
    let ops = [
        PendingRename {
            source: p("\\staged.new"),
            destination: Some(p("\\live.dll")),
            replace_existing: true,
        },
        PendingRename {
            source: p("\\junk.tmp"),
            destination: None,
            replace_existing: false,
        },
        PendingRename {
            source: p("\\blocked"),
            destination: Some(p("\\exists")),
            replace_existing: false,
        },
        PendingRename {
            source: p("\\gone"),
            destination: None,
            replace_existing: false,
        },
    ];
    for op in &ops {
        v.add_pending_rename(op).unwrap();
    }
    assert_eq!(v.pending_renames().unwrap(), ops);
    // The documented on-disk form.
    let text =
        std::fs::read_to_string(d.path().join(".rehydrate/PendingFileRenameOperations")).unwrap();
    assert_eq!(
        text,
        "\\staged.new\n!\\live.dll\n\\junk.tmp\n\n\\blocked\n\\exists\n\\gone\n\n"
    );
    // A second HostVolume on the same folder (a "reboot") sees the list and applies it.
    let after = HostVolume::new(d.path()).unwrap();
    let outcomes = after.apply_pending_renames().unwrap();
    assert_eq!(outcomes.len(), 4);
    assert!(outcomes[0].error.is_none());
    assert!(outcomes[1].error.is_none());
    assert!(
        matches!(outcomes[2].error, Some(Error::AlreadyExists { .. })),
        "no replace flag: refused"
    );
    assert!(matches!(outcomes[3].error, Some(Error::NotFound { .. })));
    assert_eq!(read_all(&after, "\\live.dll"), b"new");
    assert!(!after.exists(&p("\\staged.new")).unwrap());
    assert!(!after.exists(&p("\\junk.tmp")).unwrap());
    assert_eq!(read_all(&after, "\\exists"), b"e");
    assert!(
        after.pending_renames().unwrap().is_empty(),
        "the list is cleared"
    );
}

/// Names are found case-insensitively through each folder's name index, which follows the
/// volume's own creations, renames and deletions and drops names removed behind its back.
#[test]
fn case_insensitive_names_through_the_index() {
    let (dir, v) = vol();
    v.create_dir(&p("Docs")).unwrap();
    // A miss builds the folder's index; later creations must be seen in any case.
    assert!(!v.exists(&p("docs\\nothing.txt")).unwrap());
    create(&v, "DOCS\\Report.TXT", b"one");
    assert_eq!(read_all(&v, "docs\\report.txt"), b"one");
    assert!(matches!(
        v.open(
            &p("docs\\REPORT.txt"),
            opts(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew)
        ),
        Err(Error::AlreadyExists { .. })
    ));
    // The file keeps the case it was created in.
    assert!(dir.path().join("Docs/Report.TXT").is_file());
    // Renamed: the old name is gone in every case, the new one found in any case.
    v.rename(&p("docs\\report.txt"), &p("docs\\Final.txt"), false)
        .unwrap();
    assert!(!v.exists(&p("DOCS\\REPORT.TXT")).unwrap());
    assert_eq!(read_all(&v, "docs\\FINAL.TXT"), b"one");
    // Deleted, then created again in another case.
    v.delete_file(&p("docs\\final.TXT")).unwrap();
    assert!(!v.exists(&p("docs\\Final.txt")).unwrap());
    create(&v, "docs\\FINAL.txt", b"two");
    assert_eq!(read_all(&v, "Docs\\final.txt"), b"two");
    // Removed by another process: not found, and a new file of that name can be created.
    std::fs::remove_file(dir.path().join("Docs/FINAL.txt")).unwrap();
    assert!(!v.exists(&p("docs\\final.txt")).unwrap());
    create(&v, "docs\\final.txt", b"three");
    assert_eq!(read_all(&v, "DOCS\\FINAL.TXT"), b"three");
    // A renamed folder: what is below it is found under the new name in any case.
    v.rename(&p("docs"), &p("Papers"), false).unwrap();
    assert_eq!(read_all(&v, "PAPERS\\FINAL.TXT"), b"three");
    assert!(!v.exists(&p("docs")).unwrap());
    // Many new names in one folder: each is created once, all are found in another case.
    for i in 0..300 {
        create(&v, &format!("papers\\File-{i:03}.dat"), &[1]);
    }
    for i in 0..300 {
        assert!(v.exists(&p(&format!("PAPERS\\file-{i:03}.DAT"))).unwrap());
    }
    assert_eq!(v.read_dir(&p("papers")).unwrap().len(), 301);
}
