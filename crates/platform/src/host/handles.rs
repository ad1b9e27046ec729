//! Tests of the handle table now that opens run their lookups and system calls outside its
//! lock: the share check and the record it guards stay one step (concurrent opens of one
//! file see each other), and an open that fails after reserving its record gives it back.

use std::fs;
use std::sync::{Arc, Barrier};

use super::{ATTRIBUTES_XATTR, HostVolume};
use crate::{Access, Disposition, Error, OpenOptions, ShareMode, Volume, WinPath, attr};

fn exclusive(access: Access) -> OpenOptions {
    OpenOptions::new(access, ShareMode::NONE, Disposition::OpenExisting)
}

#[test]
fn of_concurrent_exclusive_opens_of_one_file_exactly_one_succeeds() {
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("f.txt"), b"x").unwrap();
    let v = HostVolume::new(t.path()).unwrap();
    let threads = 8;
    for round in 0..20 {
        let barrier = Arc::new(Barrier::new(threads));
        let outcomes: Vec<_> = (0..threads)
            .map(|_| {
                let (v, barrier) = (v.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    let r = v.open(&WinPath::new("F.TXT").unwrap(), exclusive(Access::READ));
                    // Every thread holds what it got until all have tried.
                    barrier.wait();
                    r.map(drop)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        let granted = outcomes.iter().filter(|r| r.is_ok()).count();
        assert_eq!(granted, 1, "round {round}: {outcomes:?}");
        assert!(
            outcomes
                .iter()
                .all(|r| matches!(r, Ok(()) | Err(Error::SharingViolation { .. }))),
            "round {round}: {outcomes:?}"
        );
    }
}

#[test]
fn an_open_refused_after_its_share_check_leaves_no_handle_behind() {
    let t = tempfile::tempdir().unwrap();
    let host = t.path().join("ro.txt");
    fs::write(&host, b"x").unwrap();
    if xattr::set(&host, ATTRIBUTES_XATTR, &attr::READONLY.to_le_bytes()).is_err() {
        // No user xattrs on this file system: the read-only bit cannot be stored here.
        assert!(
            std::env::var_os("CI").is_none(),
            "user xattrs unsupported under CI"
        );
        eprintln!(
            "skipped: no user extended attributes in {}",
            t.path().display()
        );
        return;
    }
    let v = HostVolume::new(t.path()).unwrap();
    let p = WinPath::new("ro.txt").unwrap();
    let denied = v.open(&p, exclusive(Access::READ_WRITE));
    assert!(
        matches!(denied, Err(Error::AccessDenied { .. })),
        "{denied:?}"
    );
    // Had the refused open kept its record, this exclusive open would be a sharing violation.
    let h = v.open(&p, exclusive(Access::READ)).unwrap();
    drop(h);
    v.rename(&p, &WinPath::new("moved.txt").unwrap(), false)
        .unwrap();
}
