//! Attributes, the read-only and sparse flags, and reparse points.

use super::{Subject, create, metadata_supported, open_existing, opts, p, read_all};
use crate::{Access, Disposition, Error, OpenOptions, ShareMode, attr};

/// `SetFileAttributes`
/// (<https://learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-setfileattributesw>)
/// changes only the settable bits; the directory, sparse, reparse, compressed and encrypted bits
/// follow from the file's state. `FILE_ATTRIBUTE_NORMAL` is reported alone when nothing else is
/// set. NTFS marks a new file `FILE_ATTRIBUTE_ARCHIVE`.
pub(super) fn attributes(s: &mut dyn Subject) {
    let v = s.volume();
    create(v, "\\a", b"x");
    v.create_dir(&p("\\d")).unwrap();
    assert_eq!(v.metadata(&p("\\a")).unwrap().attributes, attr::ARCHIVE);
    let dir = v.metadata(&p("\\d")).unwrap();
    assert!(dir.is_dir() && !dir.is_reparse_point(), "{dir:?}");
    if !metadata_supported(s, "attributes") {
        return;
    }
    let v = s.volume();
    let f = v
        .open(
            &p("\\a"),
            open_existing(Access::READ_WRITE, ShareMode::NONE),
        )
        .unwrap();
    f.set_attributes(attr::HIDDEN | attr::SYSTEM | attr::DIRECTORY | attr::REPARSE_POINT)
        .unwrap();
    assert_eq!(
        f.attributes().unwrap(),
        attr::HIDDEN | attr::SYSTEM,
        "derived bits are ignored"
    );
    drop(f);
    assert_eq!(
        v.metadata(&p("\\A")).unwrap().attributes,
        attr::HIDDEN | attr::SYSTEM
    );
    let f = v
        .open(
            &p("\\a"),
            open_existing(Access::READ_WRITE, ShareMode::NONE),
        )
        .unwrap();
    f.set_attributes(attr::NORMAL).unwrap();
    assert_eq!(f.attributes().unwrap(), attr::NORMAL);
    f.set_attributes(attr::ARCHIVE | attr::TEMPORARY).unwrap();
    assert_eq!(f.attributes().unwrap(), attr::ARCHIVE | attr::TEMPORARY);
}

/// Changing attributes, the sparse flag or the reparse point needs a handle with write access
/// (`FILE_WRITE_ATTRIBUTES` / `FILE_WRITE_DATA`; MS-FSA 2.1.5.10.37 FSCTL_SET_REPARSE_POINT,
/// <https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-fsa/4aeefef8-92c3-4abc-af7a-a610caf8a165>,
/// and 2.1.5.14.2 FileBasicInformation): STATUS_ACCESS_DENIED otherwise.
pub(super) fn read_handle_cannot_change_metadata(s: &mut dyn Subject) {
    let v = s.volume();
    create(v, "\\a.txt", b"x");
    let r = v
        .open(&p("\\a.txt"), open_existing(Access::READ, ShareMode::ALL))
        .unwrap();
    let e = r.set_attributes(attr::HIDDEN).unwrap_err();
    assert!(
        matches!(e, Error::AccessDenied { .. }),
        "set_attributes: {e}"
    );
    let e = r.set_sparse(true).unwrap_err();
    assert!(matches!(e, Error::AccessDenied { .. }), "set_sparse: {e}");
    let e = r.set_sparse_and_attributes(true, attr::HIDDEN).unwrap_err();
    assert!(
        matches!(e, Error::AccessDenied { .. }),
        "set_sparse_and_attributes: {e}"
    );
    let e = r.set_reparse_point(&dedup_buffer(1)).unwrap_err();
    assert!(
        matches!(e, Error::AccessDenied { .. }),
        "set_reparse_point: {e}"
    );
    assert_eq!(r.attributes().unwrap(), attr::ARCHIVE, "nothing changed");
}

/// A read-only file (`FILE_ATTRIBUTE_READONLY`) can be read but not deleted: `DeleteFile`
/// fails with ERROR_ACCESS_DENIED
/// (<https://learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-deletefilew>;
/// MS-FSA 2.1.5.15.3: STATUS_CANNOT_DELETE).
pub(super) fn read_only_files(s: &mut dyn Subject) {
    if !make_read_only(s) {
        return;
    }
    let v = s.volume();
    assert_ne!(
        v.metadata(&p("\\ro")).unwrap().attributes & attr::READONLY,
        0
    );
    let e = v.delete_file(&p("\\RO")).unwrap_err();
    assert!(matches!(e, Error::AccessDenied { .. }), "delete: {e}");
    assert_eq!(
        read_all(v, "\\ro"),
        b"x",
        "reading a read-only file is fine"
    );
    // Renaming is not writing: a read-only file may move.
    v.rename(&p("\\ro"), &p("\\ro2"), false).unwrap();
    assert_ne!(
        v.metadata(&p("\\ro2")).unwrap().attributes & attr::READONLY,
        0
    );
}

/// Opening a read-only file for writing fails with ERROR_ACCESS_DENIED (`CreateFileW`:
/// "If the file is read-only ... GENERIC_WRITE ... fails",
/// <https://learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-createfilew>),
/// `CREATE_ALWAYS` and `TRUNCATE_EXISTING` included; nor is it replaced by a rename.
pub(super) fn read_only_files_refuse_writes(s: &mut dyn Subject) {
    if !make_read_only(s) {
        return;
    }
    let v = s.volume();
    for d in [
        Disposition::OpenExisting,
        Disposition::OpenAlways,
        Disposition::TruncateExisting,
        Disposition::CreateAlways,
    ] {
        let r = v.open(&p("\\ro"), opts(Access::READ_WRITE, ShareMode::ALL, d));
        assert!(matches!(r, Err(Error::AccessDenied { .. })), "{d:?}: {r:?}");
    }
    // Nor is it replaced by a rename (MS-FSA 2.1.5.15.11 FileRenameInformation: a read-only
    // target is STATUS_ACCESS_DENIED).
    create(v, "\\new", b"new");
    let e = v.rename(&p("\\new"), &p("\\RO"), true).unwrap_err();
    assert!(
        matches!(e, Error::AccessDenied { .. }),
        "rename over it: {e}"
    );
    assert_eq!(read_all(v, "\\ro"), b"x");
}

fn make_read_only(s: &dyn Subject) -> bool {
    let v = s.volume();
    create(v, "\\ro", b"x");
    if !metadata_supported(s, "read-only files") {
        return false;
    }
    let f = v
        .open(
            &p("\\ro"),
            open_existing(Access::READ_WRITE, ShareMode::ALL),
        )
        .unwrap();
    f.set_attributes(attr::READONLY).unwrap();
    true
}

/// `FSCTL_SET_SPARSE`
/// (<https://learn.microsoft.com/en-us/windows/win32/api/winioctl/ni-winioctl-fsctl_set_sparse>)
/// sets and clears `FILE_ATTRIBUTE_SPARSE_FILE`, which handle and path both report.
pub(super) fn sparse_attribute(s: &mut dyn Subject) {
    let v = s.volume();
    create(v, "\\sp.bin", b"");
    if !metadata_supported(s, "sparse_attribute") {
        return;
    }
    let v = s.volume();
    let f = v
        .open(
            &p("\\sp.bin"),
            open_existing(Access::READ_WRITE, ShareMode::ALL),
        )
        .unwrap();
    f.set_sparse(true).unwrap();
    assert_eq!(
        f.attributes().unwrap(),
        attr::ARCHIVE | attr::SPARSE_FILE,
        "FILE_ATTRIBUTE_SPARSE_FILE after FSCTL_SET_SPARSE"
    );
    assert!(v.metadata(&p("\\SP.BIN")).unwrap().is_sparse());
    f.set_sparse(false).unwrap();
    assert_eq!(f.attributes().unwrap(), attr::ARCHIVE);
    assert!(!v.metadata(&p("\\sp.bin")).unwrap().is_sparse());
    // Both at once, as the two calls would set them.
    f.set_sparse_and_attributes(true, attr::HIDDEN | attr::DIRECTORY)
        .unwrap();
    assert_eq!(f.attributes().unwrap(), attr::HIDDEN | attr::SPARSE_FILE);
    f.set_sparse_and_attributes(false, attr::NORMAL).unwrap();
    assert_eq!(f.attributes().unwrap(), attr::NORMAL);
    assert!(!v.metadata(&p("\\sp.bin")).unwrap().is_sparse());
    // A new file extended for piecewise writing reads as zeros of its length; once written,
    // its sparse flag is the one it is given then, whatever the extension did.
    let g = v
        .open(
            &p("\\ext.bin"),
            OpenOptions::new(Access::READ_WRITE, ShareMode::ALL, Disposition::CreateNew),
        )
        .unwrap();
    g.extend_unallocated(3 * 4096).unwrap();
    assert_eq!(g.len().unwrap(), 3 * 4096);
    g.write_all_at(4096, b"middle").unwrap();
    let mut back = vec![1u8; 3 * 4096];
    assert_eq!(g.read_at(0, &mut back).unwrap(), back.len());
    assert!(back[..4096].iter().all(|&b| b == 0));
    assert_eq!(&back[4096..4102], b"middle");
    assert!(back[4102..].iter().all(|&b| b == 0));
    for sparse in [true, false] {
        g.set_sparse_and_attributes(sparse, attr::ARCHIVE).unwrap();
        assert_eq!(v.metadata(&p("\\EXT.bin")).unwrap().is_sparse(), sparse);
    }
}

/// A dedup reparse buffer: `IO_REPARSE_TAG_DEDUP` (0x80000013), 16 data bytes of `fill`.
fn dedup_buffer(fill: u8) -> Vec<u8> {
    let mut b = vec![0x13, 0x00, 0x00, 0x80, 0x10, 0x00, 0x00, 0x00];
    b.extend_from_slice(&[fill; 16]);
    b
}

/// What `FSCTL_SET_REPARSE_POINT` refuses with STATUS_IO_REPARSE_DATA_INVALID (MS-FSA
/// 2.1.5.10.37, linked at [`read_handle_cannot_change_metadata`]): fewer than 8 bytes, more
/// than 16 KiB, a length field that matches neither header form, reserved tags 0 and 1, a
/// non-Microsoft tag without its GUID. A file without one has no reparse point to read or
/// remove (ERROR_NOT_A_REPARSE_POINT).
pub(super) fn reparse_buffers_are_validated(s: &mut dyn Subject) {
    let v = s.volume();
    create(v, "\\plain.txt", b"x");
    assert!(matches!(
        v.reparse_point(&p("\\plain.txt")),
        Err(Error::NotAReparsePoint { .. })
    ));
    let f = v
        .open(
            &p("\\plain.txt"),
            open_existing(Access::READ_WRITE, ShareMode::ALL),
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
    let mut bad_len = dedup_buffer(0);
    bad_len[4] = 0x11;
    let mut too_long = vec![0x13, 0, 0, 0x80, 0xF9, 0x3F, 0, 0];
    too_long.resize(crate::MAX_REPARSE_BUFFER + 1, 0);
    let reserved_zero = [0, 0, 0, 0, 0, 0, 0, 0];
    let reserved_one = [1, 0, 0, 0, 0, 0, 0, 0];
    let third_party_without_guid = [0x34, 0x12, 0, 0, 2, 0, 0, 0, 0xAA, 0xBB];
    for (what, buf) in [
        ("too short", &[0x13, 0, 0][..]),
        ("length field", &bad_len[..]),
        ("too long", &too_long[..]),
        ("tag 0", &reserved_zero[..]),
        ("tag 1", &reserved_one[..]),
        ("no GUID", &third_party_without_guid[..]),
    ] {
        let e = f.set_reparse_point(buf).unwrap_err();
        assert!(matches!(e, Error::InvalidReparseData { .. }), "{what}: {e}");
    }
    assert!(matches!(
        f.reparse_point(),
        Err(Error::NotAReparsePoint { .. })
    ));
    assert_eq!(f.attributes().unwrap() & attr::REPARSE_POINT, 0);
}

/// `FSCTL_SET_REPARSE_POINT` / `FSCTL_GET_REPARSE_POINT` / `FSCTL_DELETE_REPARSE_POINT`
/// (<https://learn.microsoft.com/en-us/windows-hardware/drivers/ifs/fsctl-set-reparse-point>):
/// the buffer reads back byte for byte; the same tag replaces the data, another tag is
/// STATUS_IO_REPARSE_TAG_MISMATCH; removal leaves the data stream; a dedup stub reports
/// `0x620` (archive, sparse, reparse point) as on a deduplicated volume.
pub(super) fn reparse_point_round_trip(s: &mut dyn Subject) {
    let v = s.volume();
    create(v, "\\stub", b"");
    create(v, "\\guid", b"");
    if !metadata_supported(s, "reparse_point_round_trip") {
        return;
    }
    let v = s.volume();
    let f = v
        .open(
            &p("\\stub"),
            open_existing(Access::READ_WRITE, ShareMode::READ),
        )
        .unwrap();
    f.set_reparse_point(&dedup_buffer(0xAA)).unwrap();
    f.set_len(1 << 20).unwrap();
    f.set_sparse(true).unwrap();
    assert_eq!(f.reparse_point().unwrap(), dedup_buffer(0xAA));
    assert_eq!(v.reparse_point(&p("\\STUB")).unwrap(), dedup_buffer(0xAA));
    let md = v.metadata(&p("\\stub")).unwrap();
    assert_eq!(
        md.attributes,
        attr::ARCHIVE | attr::SPARSE_FILE | attr::REPARSE_POINT
    );
    f.set_reparse_point(&dedup_buffer(0xBB)).unwrap();
    assert_eq!(f.reparse_point().unwrap(), dedup_buffer(0xBB));
    let mut other = dedup_buffer(0);
    other[..4].copy_from_slice(&0xA000_000Cu32.to_le_bytes());
    let e = f.set_reparse_point(&other).unwrap_err();
    assert!(
        matches!(
            e,
            Error::ReparseTagMismatch {
                existing: 0x8000_0013,
                given: 0xA000_000C,
                ..
            }
        ),
        "{e}"
    );
    // A read handle reads it but cannot change it.
    let r = v
        .open(&p("\\stub"), open_existing(Access::READ, ShareMode::ALL))
        .unwrap();
    assert_eq!(r.reparse_point().unwrap(), dedup_buffer(0xBB));
    assert!(matches!(
        r.remove_reparse_point(),
        Err(Error::AccessDenied { .. })
    ));
    drop(r);
    f.remove_reparse_point().unwrap();
    assert!(matches!(
        f.reparse_point(),
        Err(Error::NotAReparsePoint { .. })
    ));
    let md = v.metadata(&p("\\stub")).unwrap();
    assert!(!md.is_reparse_point());
    assert_eq!(md.len, 1 << 20, "the data stream stays");
    // A third-party tag carries its GUID (REPARSE_GUID_DATA_BUFFER) and reads back whole.
    let mut guid = vec![0x34, 0x12, 0, 0, 2, 0, 0, 0];
    guid.extend(1..=16u8);
    guid.extend([0xAA, 0xBB]);
    let g = v
        .open(
            &p("\\guid"),
            open_existing(Access::READ_WRITE, ShareMode::NONE),
        )
        .unwrap();
    g.set_reparse_point(&guid).unwrap();
    assert_eq!(g.reparse_point().unwrap(), guid);
}
