//! Opening files, share modes, positioned I/O and sparse data.

use super::{Subject, create, names, open_existing, opts, p, read_all};
use crate::{Access, Disposition, Error, FileHandle, OpenOptions, ShareMode, WinPath};

/// Creation dispositions, after `CreateFileW`'s `dwCreationDisposition` table
/// (<https://learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-createfilew>):
/// `CREATE_NEW` fails on an existing file (ERROR_FILE_EXISTS), `OPEN_EXISTING` and
/// `TRUNCATE_EXISTING` on a missing one (ERROR_FILE_NOT_FOUND), a missing folder is
/// ERROR_PATH_NOT_FOUND, and `TRUNCATE_EXISTING` needs `GENERIC_WRITE`.
pub(super) fn dispositions(s: &mut dyn Subject) {
    let v = s.volume();
    let rw = Access::READ_WRITE;
    let sh = ShareMode::READ;
    create(v, "\\File.txt", b"hello world");
    // CREATE_NEW on an existing file, in another case: the error names the path asked for.
    let err = v
        .open(&p("\\FILE.TXT"), opts(rw, sh, Disposition::CreateNew))
        .unwrap_err();
    assert!(
        matches!(&err, Error::AlreadyExists { path } if *path == p("\\file.txt")),
        "{err}"
    );
    assert!(err.to_string().contains("FILE.TXT"), "{err}");
    for d in [Disposition::OpenExisting, Disposition::TruncateExisting] {
        assert!(
            matches!(
                v.open(&p("\\nope"), opts(rw, sh, d)),
                Err(Error::NotFound { .. })
            ),
            "{d:?} on a missing file"
        );
    }
    for d in [Disposition::OpenAlways, Disposition::CreateNew] {
        assert!(
            matches!(
                v.open(&p("\\nodir\\x"), opts(rw, sh, d)),
                Err(Error::NotFound { .. })
            ),
            "{d:?} in a missing folder"
        );
    }
    // OPEN_EXISTING keeps the data; OPEN_ALWAYS opens or creates.
    assert_eq!(read_all(v, "\\file.TXT"), b"hello world");
    let f = v
        .open(&p("\\file.txt"), opts(rw, sh, Disposition::OpenAlways))
        .unwrap();
    assert_eq!(f.len().unwrap(), 11);
    drop(f);
    let f = v
        .open(&p("\\new"), opts(rw, sh, Disposition::OpenAlways))
        .unwrap();
    assert_eq!(f.len().unwrap(), 0);
    drop(f);
    assert!(v.exists(&p("\\NEW")).unwrap());
    // TRUNCATE_EXISTING needs write access, then empties the file.
    assert!(matches!(
        v.open(
            &p("\\file.txt"),
            opts(Access::READ, sh, Disposition::TruncateExisting)
        ),
        Err(Error::AccessDenied { .. })
    ));
    assert_eq!(
        read_all(v, "\\file.txt"),
        b"hello world",
        "refused: not truncated"
    );
    let f = v
        .open(
            &p("\\file.txt"),
            opts(rw, sh, Disposition::TruncateExisting),
        )
        .unwrap();
    assert_eq!(f.len().unwrap(), 0);
    f.write_all_at(0, b"abc").unwrap();
    drop(f);
    // CREATE_ALWAYS empties an existing file or creates one.
    let f = v
        .open(&p("\\file.txt"), opts(rw, sh, Disposition::CreateAlways))
        .unwrap();
    assert_eq!(f.len().unwrap(), 0);
    drop(f);
    drop(
        v.open(&p("\\other"), opts(rw, sh, Disposition::CreateAlways))
            .unwrap(),
    );
    // Folders are not opened as files; a file is not a folder.
    v.create_dir(&p("\\dir")).unwrap();
    for dir in [p("\\DIR"), WinPath::root()] {
        assert!(matches!(
            v.open(&dir, OpenOptions::READ_EXISTING),
            Err(Error::IsADirectory { .. })
        ));
    }
    assert!(matches!(
        v.open(&p("\\file.txt\\x"), opts(rw, sh, Disposition::OpenAlways)),
        Err(Error::NotFound { .. } | Error::NotADirectory { .. })
    ));
    // A created file keeps the case it was given.
    assert_eq!(names(v, "\\"), ["dir", "File.txt", "new", "other"]);
}

/// The sharing rule of "Creating and Opening Files"
/// (<https://learn.microsoft.com/en-us/windows/win32/fileio/creating-and-opening-files>): an
/// open succeeds only if its access is within every open handle's share mode and every open
/// handle's access is within its share mode (ERROR_SHARING_VIOLATION). `DeleteFile` and
/// `MoveFileEx` open the file for `DELETE`, so they need every handle to share delete.
pub(super) fn share_modes(s: &mut dyn Subject) {
    let v = s.volume();
    create(v, "\\f", b"data");
    let path = p("\\F");
    // An exclusive handle: no second open of any kind, under any spelling.
    let excl = v
        .open(&path, open_existing(Access::READ_WRITE, ShareMode::NONE))
        .unwrap();
    for access in [Access::READ, Access::READ_WRITE, Access::ALL] {
        for share in [ShareMode::NONE, ShareMode::READ, ShareMode::ALL] {
            let err = v.open(&p("\\f"), open_existing(access, share)).unwrap_err();
            assert!(
                matches!(&err, Error::SharingViolation { path, .. } if *path == p("\\f")),
                "{access:?}/{share:?}: {err}"
            );
        }
    }
    assert!(matches!(
        v.delete_file(&path),
        Err(Error::SharingViolation { .. })
    ));
    assert!(matches!(
        v.rename(&path, &p("\\g"), false),
        Err(Error::SharingViolation { .. })
    ));
    drop(excl);
    // Readers sharing read: more readers, but no writer, no reader denying read, no delete.
    let r1 = v
        .open(&path, open_existing(Access::READ, ShareMode::READ))
        .unwrap();
    let r2 = v
        .open(&path, open_existing(Access::READ, ShareMode::READ))
        .unwrap();
    for (access, share) in [
        (Access::READ_WRITE, ShareMode::ALL),
        (Access::READ, ShareMode::NONE),
    ] {
        assert!(matches!(
            v.open(&path, open_existing(access, share)),
            Err(Error::SharingViolation { .. })
        ));
    }
    assert!(matches!(
        v.delete_file(&path),
        Err(Error::SharingViolation { .. })
    ));
    drop((r1, r2));
    // A reader sharing read and write lets in a writer that shares read; both see one file.
    let r = v
        .open(&path, open_existing(Access::READ, ShareMode::READ_WRITE))
        .unwrap();
    let w = v
        .open(&path, open_existing(Access::READ_WRITE, ShareMode::READ))
        .unwrap();
    w.write_all_at(0, b"xy").unwrap();
    let mut buf = [0; 4];
    r.read_exact_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"xyta");
    // The writer does not share write: a second writer, or a truncation, is refused.
    assert!(matches!(
        v.open(&path, open_existing(Access::READ_WRITE, ShareMode::ALL)),
        Err(Error::SharingViolation { .. })
    ));
    assert!(matches!(
        v.open(
            &path,
            opts(
                Access::READ_WRITE,
                ShareMode::ALL,
                Disposition::TruncateExisting
            )
        ),
        Err(Error::SharingViolation { .. })
    ));
    assert_eq!(w.len().unwrap(), 4, "a refused truncation did not truncate");
    drop((r, w));
    // Handles sharing delete allow a rename (the handle follows) and a delete.
    let h = v
        .open(&path, open_existing(Access::READ, ShareMode::ALL))
        .unwrap();
    v.rename(&path, &p("\\g"), false).unwrap();
    assert_eq!(h.path(), p("\\g"));
    assert!(!v.exists(&path).unwrap());
    let mut b = [0; 4];
    h.read_exact_at(0, &mut b).unwrap();
    assert_eq!(&b, b"xyta");
    v.delete_file(&p("\\g")).unwrap();
    drop(h);
    assert!(!v.exists(&p("\\g")).unwrap());
    // Everything closed: the name is free again.
    create(v, "\\g", b"new");
}

const PIECE: usize = 64 * 1024;

/// Positioned reads and writes (`ReadFile`/`WriteFile` with an `OVERLAPPED` offset,
/// <https://learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-readfile>): writing
/// past the end extends the file (the gap reads as zeros), reading at or past the end returns
/// 0 bytes, a read crossing the end is short; one handle serves many threads at once; a handle
/// without `GENERIC_WRITE` cannot write or set the length (ERROR_ACCESS_DENIED).
pub(super) fn positioned_io(s: &mut dyn Subject) {
    let v = s.volume();
    let f = v
        .open(
            &p("\\io.bin"),
            opts(Access::READ_WRITE, ShareMode::READ, Disposition::CreateNew),
        )
        .unwrap();
    assert_eq!(f.write_at(100, b"world").unwrap(), 5);
    assert_eq!(f.write_at(0, b"hello").unwrap(), 5);
    assert_eq!(f.len().unwrap(), 105);
    let mut buf = [0u8; 5];
    f.read_exact_at(100, &mut buf).unwrap();
    assert_eq!(&buf, b"world");
    f.read_exact_at(50, &mut buf).unwrap();
    assert_eq!(buf, [0; 5], "the gap reads as zeros");
    assert_eq!(f.read_at(105, &mut buf).unwrap(), 0, "at the end");
    assert_eq!(f.read_at(1 << 40, &mut buf).unwrap(), 0, "past the end");
    assert_eq!(f.read_at(103, &mut buf).unwrap(), 2, "crossing the end");
    assert!(matches!(
        f.read_exact_at(103, &mut buf),
        Err(Error::Io { .. })
    ));
    f.set_len(0).unwrap();
    let f: &dyn FileHandle = &*f;
    std::thread::scope(|scope| {
        for t in 0..8u8 {
            scope.spawn(move || {
                // Out of order: thread t writes pieces t + 16, t + 8, t.
                for k in (0..3).rev() {
                    let i = usize::from(t) + 8 * k;
                    f.write_all_at((i * PIECE) as u64, &vec![i as u8; PIECE])
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(f.len().unwrap(), (24 * PIECE) as u64);
    std::thread::scope(|scope| {
        for i in 0..24usize {
            scope.spawn(move || {
                let mut buf = vec![0; PIECE];
                f.read_exact_at((i * PIECE) as u64, &mut buf).unwrap();
                assert!(buf.iter().all(|&b| b == i as u8), "piece {i}");
            });
        }
    });
    f.flush().unwrap();
    let r = v
        .open(&p("\\io.bin"), open_existing(Access::READ, ShareMode::ALL))
        .unwrap();
    assert!(matches!(
        r.write_at(0, b"x"),
        Err(Error::AccessDenied { .. })
    ));
    assert!(matches!(r.set_len(0), Err(Error::AccessDenied { .. })));
    assert_eq!(r.len().unwrap(), (24 * PIECE) as u64);
}

/// Offsets are 64-bit (`OVERLAPPED.OffsetHigh`): data written past 4 GiB reads back and the
/// length follows; `SetEndOfFile` shrinks the file again.
pub(super) fn offsets_above_4_gib(s: &mut dyn Subject) {
    let v = s.volume();
    let f = v
        .open(
            &p("\\big.bin"),
            opts(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew),
        )
        .unwrap();
    f.set_sparse(true).unwrap();
    let off = (5u64 << 30) + 7;
    f.write_all_at(off, b"far").unwrap();
    assert_eq!(f.len().unwrap(), off + 3);
    let mut b = [0u8; 3];
    f.read_exact_at(off, &mut b).unwrap();
    assert_eq!(&b, b"far");
    f.set_len(10).unwrap();
    assert_eq!(f.len().unwrap(), 10);
}

/// A sparse file (`FSCTL_SET_SPARSE`,
/// <https://learn.microsoft.com/en-us/windows/win32/fileio/sparse-files>) extended by
/// `SetEndOfFile` holds a hole: it reads as zeros and allocates (next to) nothing; where the
/// implementation reports allocated ranges, the hole is not among them.
pub(super) fn sparse_files(s: &mut dyn Subject) {
    let v = s.volume();
    let f = v
        .open(
            &p("\\stub"),
            opts(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew),
        )
        .unwrap();
    f.set_sparse(true).unwrap();
    let len = 64 << 20;
    f.set_len(len).unwrap();
    let mut b = [1u8; 16];
    f.read_exact_at(len / 2, &mut b).unwrap();
    assert_eq!(b, [0; 16]);
    f.write_all_at(len - 4, b"tail").unwrap();
    if let Some(ranges) = f.allocated_ranges().unwrap() {
        assert!(
            ranges.iter().all(|r| r.end > len - (1 << 20)),
            "the hole is not allocated: {ranges:?}"
        );
        assert!(ranges.iter().any(|r| r.contains(&(len - 1))), "{ranges:?}");
    }
    drop(f);
    let md = v.metadata(&p("\\stub")).unwrap();
    assert_eq!(md.len, len);
    assert!(
        md.allocated < 1 << 20,
        "allocated {} of {len}",
        md.allocated
    );
    let f = v
        .open(
            &p("\\stub"),
            open_existing(Access::READ_WRITE, ShareMode::NONE),
        )
        .unwrap();
    f.set_len(10).unwrap();
    assert_eq!(f.len().unwrap(), 10);
}
