//! What is particular to `SimVolume` (the behaviour every volume shares is the conformance
//! suite, `tests/conformance.rs`): its handle count, what a reboot does to open handles, fault
//! injection, cluster allocation; `SimServices` and `SimWriters` state.

use platform::{
    Access, ComponentRef, Disposition, Error, FileRestoreStatus, OpenOptions, PendingRename,
    ServiceError, ServiceState, Services, ShareMode, Volume, WinPath, Writers, attr,
};
use winsim::{CLUSTER_SIZE, Fault, IoCounts, ServiceEvent, SimServices, SimVolume, WriterEvent};

fn p(s: &str) -> WinPath {
    WinPath::new(s).unwrap()
}

fn opts(access: Access, share: ShareMode) -> OpenOptions {
    OpenOptions::new(access, share, Disposition::OpenExisting)
}

fn volume_with(files: &[(&str, &[u8])]) -> SimVolume {
    let v = SimVolume::new(1);
    for (path, data) in files {
        v.write_file(&p(path), data).unwrap();
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Share modes

#[test]
fn exclusive_open_blocks_every_second_open() {
    let v = volume_with(&[("\\a.txt", b"hello")]);
    let first = v
        .open(&p("\\a.txt"), opts(Access::READ, ShareMode::NONE))
        .unwrap();
    for access in [Access::READ, Access::READ_WRITE, Access::ALL] {
        for share in [ShareMode::NONE, ShareMode::READ, ShareMode::ALL] {
            let err = v.open(&p("\\a.txt"), opts(access, share)).unwrap_err();
            assert!(
                matches!(err, Error::SharingViolation { ref path, .. } if *path == p("\\a.txt")),
                "{access:?}/{share:?}: {err:?}"
            );
        }
    }
    // Case-insensitive: the same file under another spelling is the same file.
    assert!(matches!(
        v.open(&p("\\A.TXT"), opts(Access::READ, ShareMode::ALL)),
        Err(Error::SharingViolation { .. })
    ));
    // Deleting or renaming needs every handle to share delete.
    assert!(matches!(
        v.delete_file(&p("\\a.txt")),
        Err(Error::SharingViolation { .. })
    ));
    assert!(matches!(
        v.rename(&p("\\a.txt"), &p("\\b.txt"), false),
        Err(Error::SharingViolation { .. })
    ));
    assert_eq!(v.open_handle_count(), 1);
    drop(first);
    assert_eq!(v.open_handle_count(), 0);
    // Closed: the file can be opened again.
    let again = v
        .open(&p("\\a.txt"), opts(Access::READ, ShareMode::NONE))
        .unwrap();
    let mut buf = [0u8; 5];
    again.read_exact_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"hello");
}

// ---------------------------------------------------------------------------------------------
// Pending renames and reboot

#[test]
fn reboot_applies_pending_renames_in_order_with_outcomes() {
    let v = volume_with(&[
        ("\\staged\\new.dll", b"new version"),
        ("\\app\\lib.dll", b"old version"),
        ("\\staged\\second.dll", b"second"),
        ("\\app\\taken.dll", b"taken"),
        ("\\tmp\\junk.tmp", b"junk"),
    ]);
    let ops = vec![
        // Replace an in-use file at reboot.
        PendingRename {
            source: p("\\staged\\new.dll"),
            destination: Some(p("\\app\\lib.dll")),
            replace_existing: true,
        },
        // Without replace: the destination exists, so this one fails.
        PendingRename {
            source: p("\\staged\\second.dll"),
            destination: Some(p("\\app\\taken.dll")),
            replace_existing: false,
        },
        // A delete.
        PendingRename {
            source: p("\\tmp\\junk.tmp"),
            destination: None,
            replace_existing: false,
        },
        // The source is gone by now.
        PendingRename {
            source: p("\\staged\\new.dll"),
            destination: Some(p("\\elsewhere.dll")),
            replace_existing: false,
        },
        // An empty directory is removed by a delete operation.
        PendingRename {
            source: p("\\tmp"),
            destination: None,
            replace_existing: false,
        },
    ];
    // The file to replace is in use until the reboot, exclusively.
    let busy = v
        .open(&p("\\app\\lib.dll"), opts(Access::READ, ShareMode::NONE))
        .unwrap();
    for op in &ops {
        v.add_pending_rename(op).unwrap();
    }
    // Nothing happens before the reboot; the list is visible, in order.
    assert_eq!(v.pending_renames().unwrap(), ops);
    assert_eq!(
        v.read_file(&p("\\staged\\new.dll")).unwrap(),
        b"new version"
    );
    assert_eq!(v.open_handle_count(), 1);

    let outcomes = v.reboot();
    assert_eq!(outcomes.len(), ops.len());
    for (o, op) in outcomes.iter().zip(&ops) {
        assert_eq!(&o.op, op);
    }
    assert!(outcomes[0].error.is_none(), "{:?}", outcomes[0].error);
    assert!(
        matches!(outcomes[1].error, Some(Error::AlreadyExists { ref path }) if *path == p("\\app\\taken.dll")),
        "{:?}",
        outcomes[1].error
    );
    assert!(outcomes[2].error.is_none(), "{:?}", outcomes[2].error);
    assert!(
        matches!(outcomes[3].error, Some(Error::NotFound { .. })),
        "{:?}",
        outcomes[3].error
    );
    assert!(outcomes[4].error.is_none(), "{:?}", outcomes[4].error);

    assert_eq!(v.read_file(&p("\\app\\lib.dll")).unwrap(), b"new version");
    assert!(!v.exists(&p("\\staged\\new.dll")).unwrap());
    assert_eq!(v.read_file(&p("\\app\\taken.dll")).unwrap(), b"taken");
    assert_eq!(v.read_file(&p("\\staged\\second.dll")).unwrap(), b"second");
    assert!(!v.exists(&p("\\tmp")).unwrap());
    // The list is cleared, every handle was closed, and an old handle no longer works.
    assert!(v.pending_renames().unwrap().is_empty());
    assert_eq!(v.open_handle_count(), 0);
    let mut b = [0u8; 1];
    assert!(matches!(busy.read_at(0, &mut b), Err(Error::Io { .. })));
    drop(busy);
    // A second reboot has nothing to do.
    assert!(v.reboot().is_empty());
}

#[test]
fn reboot_replace_refuses_read_only_targets_and_keeps_going() {
    let v = volume_with(&[("\\src", b"s"), ("\\ro", b"r"), ("\\src2", b"t")]);
    let h = v
        .open(&p("\\ro"), opts(Access::READ_WRITE, ShareMode::NONE))
        .unwrap();
    h.set_attributes(attr::READONLY).unwrap();
    drop(h);
    v.add_pending_rename(&PendingRename {
        source: p("\\src"),
        destination: Some(p("\\ro")),
        replace_existing: true,
    })
    .unwrap();
    v.add_pending_rename(&PendingRename {
        source: p("\\src2"),
        destination: Some(p("\\moved")),
        replace_existing: false,
    })
    .unwrap();
    let out = v.reboot();
    assert!(matches!(out[0].error, Some(Error::AccessDenied { .. })));
    assert!(out[1].error.is_none());
    assert_eq!(v.read_file(&p("\\ro")).unwrap(), b"r");
    assert_eq!(v.read_file(&p("\\moved")).unwrap(), b"t");
}

// ---------------------------------------------------------------------------------------------
// Fault injection

#[test]
fn fail_nth_read_fails_exactly_that_read_then_disarms() {
    let v = volume_with(&[("\\a", &[1u8; 64]), ("\\b", &[2u8; 64])]);
    let before = v.io_counts();
    v.inject(Fault::FailRead {
        nth: 3,
        under: None,
    });
    let f = v.open(&p("\\a"), OpenOptions::READ_EXISTING).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(f.read_at(0, &mut buf).unwrap(), 8);
    assert_eq!(f.read_at(8, &mut buf).unwrap(), 8);
    let err = f.read_at(16, &mut buf).unwrap_err();
    match err {
        Error::Io { path, source } => {
            assert_eq!(path, p("\\a"));
            assert!(
                source.to_string().contains("injected failure of read"),
                "{source}"
            );
        }
        other => panic!("expected an injected I/O error, got {other:?}"),
    }
    // Disarmed: the 4th and later reads work.
    for off in [16, 24, 32] {
        assert_eq!(f.read_at(off, &mut buf).unwrap(), 8);
    }
    assert_eq!(
        v.io_counts(),
        IoCounts {
            reads: before.reads + 6,
            writes: before.writes
        }
    );
}

#[test]
fn fail_read_under_a_path_counts_only_matching_files() {
    let v = volume_with(&[("\\keep\\x", &[1u8; 16]), ("\\hit\\y", &[2u8; 16])]);
    v.inject(Fault::FailRead {
        nth: 2,
        under: Some(p("\\hit")),
    });
    let x = v.open(&p("\\keep\\x"), OpenOptions::READ_EXISTING).unwrap();
    let y = v.open(&p("\\hit\\y"), OpenOptions::READ_EXISTING).unwrap();
    let mut b = [0u8; 4];
    for _ in 0..5 {
        x.read_at(0, &mut b).unwrap();
    }
    y.read_at(0, &mut b).unwrap();
    x.read_at(0, &mut b).unwrap();
    assert!(matches!(y.read_at(0, &mut b), Err(Error::Io { .. })));
    y.read_at(0, &mut b).unwrap();
}

#[test]
fn two_armed_read_faults_each_fire_at_their_own_call() {
    let v = volume_with(&[("\\a", &[1u8; 16])]);
    v.inject(Fault::FailRead {
        nth: 1,
        under: None,
    });
    v.inject(Fault::FailRead {
        nth: 2,
        under: None,
    });
    let f = v.open(&p("\\a"), OpenOptions::READ_EXISTING).unwrap();
    let mut b = [0u8; 4];
    let results: Vec<bool> = (0..4).map(|_| f.read_at(0, &mut b).is_ok()).collect();
    assert_eq!(results, [false, false, true, true]);
}

#[test]
fn fail_nth_write_fails_that_write_and_writes_nothing() {
    let v = volume_with(&[]);
    v.inject(Fault::FailWrite {
        nth: 2,
        under: None,
    });
    let f = v
        .open(
            &p("\\out.bin"),
            OpenOptions::new(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew),
        )
        .unwrap();
    assert_eq!(f.write_at(0, b"first").unwrap(), 5);
    let err = f.write_at(5, b"second").unwrap_err();
    match err {
        Error::Io { path, source } => {
            assert_eq!(path, p("\\out.bin"));
            assert!(
                source.to_string().contains("injected failure of write"),
                "{source}"
            );
        }
        other => panic!("expected an injected I/O error, got {other:?}"),
    }
    assert_eq!(f.len().unwrap(), 5, "the failed write wrote nothing");
    assert_eq!(f.write_at(5, b"third").unwrap(), 5);
    drop(f);
    assert_eq!(v.read_file(&p("\\out.bin")).unwrap(), b"firstthird");
}

#[test]
fn short_reads_cap_every_read_until_cleared() {
    let data: Vec<u8> = (0..=255u8).collect();
    let v = volume_with(&[("\\d\\f", &data), ("\\other", &data)]);
    v.inject(Fault::ShortReads {
        max: 7,
        under: Some(p("\\d")),
    });
    let f = v.open(&p("\\d\\f"), OpenOptions::READ_EXISTING).unwrap();
    let mut buf = [0u8; 100];
    assert_eq!(f.read_at(0, &mut buf).unwrap(), 7);
    assert_eq!(&buf[..7], &data[..7]);
    assert_eq!(
        f.read_at(250, &mut buf).unwrap(),
        6,
        "end of file still wins"
    );
    // Files outside `under` are not affected.
    let o = v.open(&p("\\other"), OpenOptions::READ_EXISTING).unwrap();
    assert_eq!(o.read_at(0, &mut buf).unwrap(), 100);
    // read_exact_at copes by looping: 256 bytes in ceil(256 / 7) = 37 calls.
    let before = v.io_counts().reads;
    let mut all = vec![0u8; 256];
    f.read_exact_at(0, &mut all).unwrap();
    assert_eq!(all, data);
    assert_eq!(v.io_counts().reads - before, 37);
    v.clear_faults();
    assert_eq!(f.read_at(0, &mut buf).unwrap(), 100);
}

#[test]
fn disk_full_at_capacity_refuses_growth_and_changes_nothing() {
    let v = SimVolume::new(3);
    let capacity = 3 * CLUSTER_SIZE;
    v.inject(Fault::DiskFull { capacity });
    let f = v
        .open(
            &p("\\f"),
            OpenOptions::new(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew),
        )
        .unwrap();
    // Exactly the capacity fits.
    let full = vec![0xAB; 3 * CLUSTER_SIZE as usize];
    f.write_all_at(0, &full).unwrap();
    assert_eq!(v.allocated_bytes(), capacity);
    // One more byte needs a fourth cluster.
    assert!(matches!(
        f.write_at(capacity, b"x"),
        Err(Error::DiskFull { ref path }) if *path == p("\\f")
    ));
    assert_eq!(f.len().unwrap(), capacity);
    assert_eq!(v.allocated_bytes(), capacity);
    // Overwriting allocated clusters needs no space.
    f.write_all_at(10, b"overwrite").unwrap();
    // Extending a non-sparse file allocates too, so it fails as well.
    assert!(matches!(
        f.set_len(capacity + 1),
        Err(Error::DiskFull { .. })
    ));
    // A sparse file's hole costs nothing; only written clusters count.
    let s = v
        .open(
            &p("\\sparse"),
            OpenOptions::new(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew),
        )
        .unwrap();
    s.set_sparse(true).unwrap();
    s.set_len(1 << 30).unwrap();
    assert_eq!(v.allocated_bytes(), capacity);
    assert!(matches!(
        s.write_at(5 << 20, b"z"),
        Err(Error::DiskFull { .. })
    ));
    // Freeing space makes room again.
    f.set_len(CLUSTER_SIZE).unwrap();
    assert_eq!(v.allocated_bytes(), CLUSTER_SIZE);
    s.write_all_at(5 << 20, b"z").unwrap();
    assert_eq!(
        v.allocated_ranges(&p("\\sparse")).unwrap(),
        vec![(5 << 20)..(5 << 20) + CLUSTER_SIZE]
    );
    drop(s);
    v.clear_faults();
    f.write_all_at(0, &vec![1u8; 1 << 20]).unwrap();
}

#[test]
fn sparse_stub_allocates_nothing_and_reads_zeros() {
    let v = SimVolume::new(4);
    v.write_file(&p("\\stub"), &[]).unwrap();
    let f = v
        .open(&p("\\stub"), opts(Access::READ_WRITE, ShareMode::NONE))
        .unwrap();
    f.set_sparse(true).unwrap();
    f.set_len(10 << 20).unwrap();
    assert_eq!(
        f.attributes().unwrap() & attr::SPARSE_FILE,
        attr::SPARSE_FILE
    );
    let mut b = [1u8; 64];
    f.read_exact_at(5 << 20, &mut b).unwrap();
    assert_eq!(b, [0u8; 64]);
    drop(f);
    assert!(v.allocated_ranges(&p("\\stub")).unwrap().is_empty());
    let md = v.metadata(&p("\\stub")).unwrap();
    assert_eq!((md.len, md.allocated), (10 << 20, 0));
}

#[test]
fn same_seed_same_clock() {
    let a = SimVolume::new(99);
    let b = SimVolume::new(99);
    let c = SimVolume::new(100);
    let (ta, tb, tc) = (a.now(), b.now(), c.now());
    assert_eq!(ta, tb);
    assert_ne!(ta, tc);
    assert_eq!(a.now() - ta, 10_000_000, "one second per call");
}

// ---------------------------------------------------------------------------------------------
// Services and writers

#[test]
fn services_keep_state_and_record_effective_changes() {
    let s = SimServices::new();
    s.add("MSSQLSERVER", ServiceState::Running);
    s.add("Spooler", ServiceState::Stopped);
    assert_eq!(s.query("mssqlserver").unwrap(), ServiceState::Running);
    s.stop("MSSQLServer").unwrap();
    assert_eq!(s.query("MSSQLSERVER").unwrap(), ServiceState::Stopped);
    // Stopping a stopped service is not an event.
    s.stop("MSSQLSERVER").unwrap();
    s.start("MSSQLSERVER").unwrap();
    assert_eq!(s.query("MSSQLSERVER").unwrap(), ServiceState::Running);
    assert!(matches!(
        s.query("NoSuchService"),
        Err(ServiceError::NotFound { .. })
    ));
    assert!(matches!(
        s.start("NoSuchService"),
        Err(ServiceError::NotFound { .. })
    ));
    s.set_failures("Spooler", false, true);
    assert!(matches!(
        s.start("Spooler"),
        Err(ServiceError::Failed { .. })
    ));
    assert_eq!(s.query("Spooler").unwrap(), ServiceState::Stopped);
    s.set_failures("Spooler", false, false);
    s.start("Spooler").unwrap();
    assert_eq!(
        s.events(),
        vec![
            ServiceEvent::Stopped("MSSQLSERVER".into()),
            ServiceEvent::Started("MSSQLSERVER".into()),
            ServiceEvent::Failed {
                name: "NoSuchService".into(),
                request: "start"
            },
            ServiceEvent::Failed {
                name: "Spooler".into(),
                request: "start"
            },
            ServiceEvent::Started("Spooler".into()),
        ]
    );
}

#[test]
fn writers_record_events_and_veto_pre_restore_on_request() {
    let w = winsim::SimWriters::new();
    let c = ComponentRef::new("{A65FAA63-5EA8-4EBC-9DBD-A0C4DB26912A}", "", "master");
    let d = ComponentRef::new("{A65FAA63-5EA8-4EBC-9DBD-A0C4DB26912A}", "", "model");
    w.fail_pre_restore(d.clone());
    w.pre_restore(&c).unwrap();
    let err = w.pre_restore(&d).unwrap_err();
    assert_eq!(err.name, "model");
    w.post_restore(&c, FileRestoreStatus::All).unwrap();
    assert_eq!(
        w.events(),
        vec![
            WriterEvent::PreRestore(c.clone()),
            WriterEvent::PreRestore(d),
            WriterEvent::PostRestore(c, FileRestoreStatus::All),
        ]
    );
}
