//! Folders, renames, case-insensitive names and rename-at-reboot.

use super::{Subject, create, names, open_existing, p, read_all};
use crate::{Access, Error, PendingRename, ShareMode, WinPath};

/// `CreateDirectory` fails on an existing name (ERROR_ALREADY_EXISTS) or a missing parent
/// (ERROR_PATH_NOT_FOUND); `RemoveDirectory` needs an empty folder (ERROR_DIR_NOT_EMPTY,
/// <https://learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-removedirectoryw>);
/// `DeleteFile` removes files only
/// (<https://learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-deletefilew>).
/// Listings keep each name's case and come sorted case-insensitively.
pub(super) fn directories(s: &mut dyn Subject) {
    let v = s.volume();
    let store = "\\System Volume Information\\Dedup\\ChunkStore";
    v.create_dir_all(&p(store)).unwrap();
    v.create_dir_all(&p("\\system volume information\\DEDUP\\ChunkStore\\Data"))
        .unwrap();
    assert!(
        v.metadata(&p("\\SYSTEM VOLUME INFORMATION\\dedup"))
            .unwrap()
            .is_dir()
    );
    let e = v.create_dir(&p("\\SYSTEM VOLUME INFORMATION")).unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    let e = v.create_dir(&p("\\a\\b")).unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    let container = format!("{store}\\Data\\00000001.00000001.ccc");
    create(v, &container, b"Cthr");
    create(v, "\\b.txt", b"");
    create(v, "\\A.txt", b"12");
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
        ]
    );
    assert_eq!(
        names(v, "\\system volume information\\dedup\\chunkstore\\data"),
        ["00000001.00000001.ccc"]
    );
    for (what, e) in [
        ("read_dir of a file", v.read_dir(&p("\\A.txt")).unwrap_err()),
        (
            "remove_dir of a file",
            v.remove_dir(&p("\\A.txt")).unwrap_err(),
        ),
    ] {
        assert!(matches!(e, Error::NotADirectory { .. }), "{what}: {e}");
    }
    let e = v.read_dir(&p("\\missing")).unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    let e = v.remove_dir(&p("\\System Volume Information")).unwrap_err();
    assert!(matches!(e, Error::DirectoryNotEmpty { .. }), "{e}");
    let e = v
        .delete_file(&p("\\System Volume Information"))
        .unwrap_err();
    assert!(matches!(e, Error::IsADirectory { .. }), "{e}");
    let e = v.delete_file(&p("\\missing")).unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    v.delete_file(&p(&container.to_uppercase())).unwrap();
    v.remove_dir(&p(&format!("{store}\\DATA"))).unwrap();
    assert!(!v.exists(&p(&format!("{store}\\Data"))).unwrap());
    assert!(v.exists(&p(store)).unwrap());
}

/// `MoveFileEx` (<https://learn.microsoft.com/en-us/windows/win32/api/winbase/nf-winbase-movefileexw>):
/// an existing destination is replaced only with `MOVEFILE_REPLACE_EXISTING`
/// (ERROR_ALREADY_EXISTS otherwise), never when it is a folder, nor when it is open:
/// FileRenameInformation fails with STATUS_ACCESS_DENIED "if the target file was open and
/// ReplaceIfExists is nonzero" (MS-FSCC 2.4.42,
/// <https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-fscc/1d2673a8-8fb9-4868-920a-775ccaa30cf8>).
pub(super) fn renames(s: &mut dyn Subject) {
    let v = s.volume();
    create(v, "\\a", b"A");
    create(v, "\\b", b"B");
    let e = v.rename(&p("\\a"), &p("\\B"), false).unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    v.rename(&p("\\a"), &p("\\B"), true).unwrap();
    assert!(!v.exists(&p("\\a")).unwrap());
    assert_eq!(read_all(v, "\\b"), b"A");
    v.rename(&p("\\b"), &p("\\bee"), false).unwrap();
    // A file never replaces a folder.
    v.create_dir(&p("\\d")).unwrap();
    let e = v.rename(&p("\\bee"), &p("\\D"), true).unwrap_err();
    assert!(matches!(e, Error::AccessDenied { .. }), "{e}");
    // An open destination is not replaced, whatever it shares.
    create(v, "\\busy", b"busy");
    let h = v
        .open(&p("\\busy"), open_existing(Access::READ, ShareMode::ALL))
        .unwrap();
    let e = v.rename(&p("\\bee"), &p("\\BUSY"), true).unwrap_err();
    assert!(matches!(e, Error::AccessDenied { .. }), "{e}");
    drop(h);
    assert_eq!(read_all(v, "\\busy"), b"busy");
    assert_eq!(read_all(v, "\\bee"), b"A");
    // Missing source; missing destination folder.
    let e = v.rename(&p("\\missing"), &p("\\x"), false).unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    let e = v.rename(&p("\\bee"), &p("\\nodir\\x"), false).unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
}

/// A rename takes the name as it is spelled: a file that replaces another takes the new
/// spelling (the replaced file is gone, name and all: FileRenameInformation with
/// ReplaceIfExists, linked at [`renames`]), and a rename may change only the case of a name
/// (names are case-preserving,
/// <https://learn.microsoft.com/en-us/windows/win32/fileio/naming-a-file>).
pub(super) fn renames_take_the_new_spelling(s: &mut dyn Subject) {
    let v = s.volume();
    create(v, "\\a", b"A");
    create(v, "\\b", b"B");
    v.rename(&p("\\a"), &p("\\B"), true).unwrap();
    assert_eq!(
        names(v, "\\"),
        ["B"],
        "the replacing file takes the new spelling"
    );
    assert_eq!(read_all(v, "\\b"), b"A");
    v.rename(&p("\\b"), &p("\\bee"), false).unwrap();
    v.rename(&p("\\bee"), &p("\\BEE"), false).unwrap();
    assert_eq!(names(v, "\\"), ["BEE"], "a case-only rename");
    v.create_dir(&p("\\dir")).unwrap();
    v.rename(&p("\\DIR"), &p("\\Dir"), false).unwrap();
    assert_eq!(names(v, "\\"), ["BEE", "Dir"]);
}

/// A folder moves with everything below it; it cannot move below itself, nor replace a
/// folder (MoveFileEx, linked at [`renames`]).
pub(super) fn directory_renames(s: &mut dyn Subject) {
    let v = s.volume();
    v.create_dir_all(&p("\\d1\\sub")).unwrap();
    create(v, "\\d1\\sub\\f", b"F");
    let e = v.rename(&p("\\d1"), &p("\\d1\\sub\\x"), false).unwrap_err();
    assert!(matches!(e, Error::AccessDenied { .. }), "{e}");
    v.create_dir(&p("\\d2")).unwrap();
    let e = v.rename(&p("\\d1"), &p("\\D2"), true).unwrap_err();
    assert!(
        matches!(e, Error::AccessDenied { .. }),
        "a folder is never replaced: {e}"
    );
    v.rename(&p("\\D1"), &p("\\d3"), false).unwrap();
    assert_eq!(read_all(v, "\\d3\\SUB\\f"), b"F");
    assert!(!v.exists(&p("\\d1")).unwrap());
}

/// An open file below a folder stops the folder's move: NTFS refuses to rename a folder while
/// a file in it is open (Explorer's "the folder or a file in it is open in another program").
/// Windows documents no error code for it; the host and the simulator report a sharing
/// violation.
pub(super) fn open_file_blocks_folder_rename(s: &mut dyn Subject) {
    let v = s.volume();
    v.create_dir_all(&p("\\d3\\sub")).unwrap();
    create(v, "\\d3\\sub\\f", b"F");
    let h = v
        .open(
            &p("\\d3\\sub\\f"),
            open_existing(Access::READ, ShareMode::ALL),
        )
        .unwrap();
    let e = v
        .rename(&p("\\d3"), &p("\\d4"), false)
        .expect_err("a folder was renamed while a file in it is open");
    assert!(
        matches!(
            e,
            Error::SharingViolation { .. } | Error::AccessDenied { .. }
        ),
        "{e}"
    );
    drop(h);
    assert_eq!(read_all(v, "\\d3\\sub\\f"), b"F");
}

/// Names are case-insensitive and case-preserving
/// (<https://learn.microsoft.com/en-us/windows/win32/fileio/naming-a-file>): whatever the
/// spelling, one name is one file, through creations, renames and deletions.
pub(super) fn case_insensitive_names(s: &mut dyn Subject) {
    let v = s.volume();
    v.create_dir(&p("Docs")).unwrap();
    assert!(!v.exists(&p("docs\\nothing.txt")).unwrap());
    assert!(v.existing(&p("docs\\nothing.txt")).unwrap().is_none());
    create(v, "DOCS\\Report.TXT", b"one");
    assert_eq!(read_all(v, "docs\\report.txt"), b"one");
    let there = v
        .existing(&p("docs\\REPORT.txt"))
        .unwrap()
        .expect("Report.TXT");
    assert_eq!(there.len, 3);
    assert!(v.existing(&p("DOCS")).unwrap().expect("Docs").is_dir());
    let e = v
        .open(
            &p("docs\\REPORT.txt"),
            super::opts(
                Access::READ_WRITE,
                ShareMode::NONE,
                crate::Disposition::CreateNew,
            ),
        )
        .unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    assert_eq!(names(v, "\\docs"), ["Report.TXT"]);
    v.rename(&p("docs\\report.txt"), &p("docs\\Final.txt"), false)
        .unwrap();
    assert!(!v.exists(&p("DOCS\\REPORT.TXT")).unwrap());
    assert_eq!(read_all(v, "docs\\FINAL.TXT"), b"one");
    v.delete_file(&p("docs\\final.TXT")).unwrap();
    assert!(!v.exists(&p("docs\\Final.txt")).unwrap());
    assert!(v.existing(&p("docs\\Final.txt")).unwrap().is_none());
    create(v, "docs\\FINAL.txt", b"two");
    assert_eq!(read_all(v, "Docs\\final.txt"), b"two");
    assert_eq!(names(v, "\\DOCS"), ["FINAL.txt"]);
    v.rename(&p("docs"), &p("Papers"), false).unwrap();
    assert_eq!(read_all(v, "PAPERS\\FINAL.TXT"), b"two");
    assert!(!v.exists(&p("docs")).unwrap());
    for i in 0..300 {
        create(v, &format!("papers\\File-{i:03}.dat"), &[1]);
    }
    for i in 0..300 {
        assert!(v.exists(&p(&format!("PAPERS\\file-{i:03}.DAT"))).unwrap());
        let name = format!("papers\\FILE-{i:03}.dat");
        assert_eq!(
            v.existing(&p(&name)).unwrap().map(|m| m.len),
            Some(1),
            "{name}"
        );
    }
    assert!(v.existing(&p("papers\\file-300.dat")).unwrap().is_none());
    assert_eq!(v.read_dir(&p("papers")).unwrap().len(), 301);
}

fn staged_ops() -> Vec<PendingRename> {
    let op = |source: &str, destination: Option<&str>, replace_existing| PendingRename {
        source: p(source),
        destination: destination.map(p),
        replace_existing,
    };
    vec![
        op("\\staged\\new.dll", Some("\\app\\lib.dll"), true),
        op("\\tmp\\junk.tmp", None, false),
        op("\\staged\\second.dll", Some("\\app\\taken.dll"), false),
        op("\\staged\\gone", None, false),
        op("\\staged\\new.dll", Some("\\elsewhere.dll"), false),
        op("\\tmp", None, false),
    ]
}

fn stage(v: &dyn crate::Volume) -> Vec<PendingRename> {
    for dir in ["\\staged", "\\app", "\\tmp"] {
        v.create_dir(&p(dir)).unwrap();
    }
    for (path, data) in [
        ("\\staged\\new.dll", &b"new version"[..]),
        ("\\app\\lib.dll", b"old version"),
        ("\\staged\\second.dll", b"second"),
        ("\\app\\taken.dll", b"taken"),
        ("\\tmp\\junk.tmp", b"junk"),
    ] {
        create(v, path, data);
    }
    let ops = staged_ops();
    for op in &ops {
        v.add_pending_rename(op).unwrap();
    }
    ops
}

/// `MoveFileEx` with `MOVEFILE_DELAY_UNTIL_REBOOT` only records the operation in
/// `PendingFileRenameOperations` (linked at [`renames`]): the list reads back in order and
/// nothing moves before the restart.
pub(super) fn pending_renames_are_listed(s: &mut dyn Subject) {
    let v = s.volume();
    assert!(v.pending_renames().unwrap().is_empty());
    let ops = stage(v);
    assert_eq!(v.pending_renames().unwrap(), ops);
    assert_eq!(read_all(v, "\\staged\\new.dll"), b"new version");
    assert_eq!(read_all(v, "\\app\\lib.dll"), b"old version");
    assert!(v.exists(&p("\\tmp\\junk.tmp")).unwrap());
}

/// At the restart the operations run in order, each on its own: a failed one (destination
/// exists without the replace flag, source gone) does not stop the others; an empty folder is
/// deleted like a file; the list is cleared.
pub(super) fn pending_renames_at_reboot(s: &mut dyn Subject) {
    let ops = stage(s.volume());
    // The file to replace is in use, exclusively, until the restart.
    let busy = s
        .volume()
        .open(
            &p("\\app\\lib.dll"),
            open_existing(Access::READ, ShareMode::NONE),
        )
        .unwrap();
    let Some(outcomes) = s.reboot() else {
        panic!("this volume cannot restart in a test");
    };
    drop(busy);
    let got: Vec<&PendingRename> = outcomes.iter().map(|(op, _)| op).collect();
    assert_eq!(got, ops.iter().collect::<Vec<_>>());
    let errors: Vec<Option<&Error>> = outcomes.iter().map(|(_, e)| e.as_ref()).collect();
    assert!(errors[0].is_none(), "{:?}", errors[0]);
    assert!(errors[1].is_none(), "{:?}", errors[1]);
    assert!(
        matches!(errors[2], Some(Error::AlreadyExists { path }) if *path == p("\\app\\taken.dll")),
        "{:?}",
        errors[2]
    );
    assert!(
        matches!(errors[3], Some(Error::NotFound { .. })),
        "{:?}",
        errors[3]
    );
    assert!(
        matches!(errors[4], Some(Error::NotFound { .. })),
        "{:?}",
        errors[4]
    );
    assert!(errors[5].is_none(), "{:?}", errors[5]);
    let v = s.volume();
    assert_eq!(read_all(v, "\\app\\lib.dll"), b"new version");
    assert!(!v.exists(&p("\\staged\\new.dll")).unwrap());
    assert_eq!(read_all(v, "\\app\\taken.dll"), b"taken");
    assert_eq!(read_all(v, "\\staged\\second.dll"), b"second");
    assert!(!v.exists(&p("\\tmp")).unwrap());
    assert!(
        v.pending_renames().unwrap().is_empty(),
        "the list is cleared"
    );
}
