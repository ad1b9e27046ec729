//! What is particular to the Win32 implementation, exercised for real: on Windows, or on Linux
//! under Wine through `.ci/wincheck`. The `Volume` behaviour every implementation shares is the
//! conformance suite (`tests/conformance.rs`). Tests of what Wine cannot do are `#[ignore]`d
//! with the reason (run them on Windows with `cargo test -p win -- --include-ignored`).
#![cfg(windows)]

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use dedup_restore::{BackupStore, ContainerExtent, Hresult, MemoryStore, StoreError};
use platform::{
    Access, Disposition, Error, OpenOptions, ServiceState, Services, ShareMode, Volume, WinPath,
};
use win::bridge::{DdpFileExtent, DedupContainerExtent};
use win::{NativeRestoreError, ReadFileCallback, WinServices, WinVolume};

fn wp(s: &str) -> WinPath {
    WinPath::new(s).unwrap()
}

fn volume() -> (tempfile::TempDir, WinVolume) {
    let dir = tempfile::tempdir().unwrap();
    let v = WinVolume::new(dir.path()).unwrap();
    (dir, v)
}

fn opts(access: Access, share: ShareMode, disposition: Disposition) -> OpenOptions {
    OpenOptions::new(access, share, disposition)
}

fn create(v: &WinVolume, p: &str, bytes: &[u8]) {
    let f = v
        .open(
            &wp(p),
            opts(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew),
        )
        .unwrap();
    f.write_all_at(0, bytes).unwrap();
}

/// A Win32 sharing violation reaches the engine as ERROR_SHARING_VIOLATION's HRESULT (the rule
/// itself is the conformance suite's `share_modes`).
#[test]
fn sharing_violation_is_hresult_32() {
    let (_d, v) = volume();
    create(&v, "s.bin", b"data");
    let p = wp("s.bin");
    let excl = v
        .open(
            &p,
            opts(
                Access::READ_WRITE,
                ShareMode::NONE,
                Disposition::OpenExisting,
            ),
        )
        .unwrap();
    let e = v.open(&p, OpenOptions::READ_EXISTING).unwrap_err();
    assert!(
        matches!(&e, Error::SharingViolation { path, .. } if *path == p),
        "{e}"
    );
    assert_eq!(dedup_restore::from_platform(&e), Hresult::from_win32(32));
    drop(excl);
}

#[test]
fn long_paths_beyond_max_path() {
    let (_d, v) = volume();
    let deep: Vec<String> = (0..30).map(|i| format!("directory-{i:02}")).collect();
    let dir = wp(&deep.join("\\"));
    v.create_dir_all(&dir).unwrap();
    let file = dir.join("file-at-the-bottom.bin").unwrap();
    assert!(v.long_path(&file).len() > 300);
    let f = v
        .open(
            &file,
            opts(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew),
        )
        .unwrap();
    f.write_all_at(0, b"deep").unwrap();
    drop(f);
    assert_eq!(v.metadata(&file).unwrap().len, 4);
}

#[test]
fn service_control_manager() {
    let s = WinServices::new(std::time::Duration::from_secs(30));
    assert!(matches!(
        s.query("rehydrate-no-such-service"),
        Err(platform::ServiceError::NotFound { .. })
    ));
    assert!(matches!(
        s.stop("rehydrate-no-such-service"),
        Err(platform::ServiceError::NotFound { .. })
    ));
}

/// Stop and start a real service and wait for the states. Disruptive, so opt-in: `.ci/wincheck`
/// runs it under Wine against Wine's own `Spooler` service (in its throwaway prefix).
#[test]
#[ignore = "stops and starts a real service (REHYDRATE_TEST_SERVICE, default Spooler) as administrator; .ci/wincheck runs it under Wine"]
fn stop_and_start_a_service() {
    let s = WinServices::new(std::time::Duration::from_mins(1));
    let name = std::env::var("REHYDRATE_TEST_SERVICE").unwrap_or_else(|_| "Spooler".into());
    s.stop(&name).unwrap();
    assert_eq!(s.query(&name).unwrap(), ServiceState::Stopped);
    s.stop(&name).unwrap();
    s.start(&name).unwrap();
    assert_eq!(s.query(&name).unwrap(), ServiceState::Running);
}

const DATA: &str = r"\System Volume Information\Dedup\ChunkStore\{11111111-2222-3333-4444-555555555555}.ddp\Data\00000001.00000001.ccc";

struct PlannedStore(MemoryStore);

impl BackupStore for PlannedStore {
    fn read_backup_file(&self, p: &WinPath, o: u64, b: &mut [u8]) -> Result<(), StoreError> {
        self.0.read_backup_file(p, o, b)
    }
    fn order_containers_restore(
        &self,
        containers: &[WinPath],
    ) -> Result<Option<Vec<ContainerExtent>>, StoreError> {
        Ok(Some(
            (0..containers.len() as u32)
                .rev()
                .map(|i| ContainerExtent {
                    container_index: i,
                    start: 0,
                    length: u64::MAX,
                })
                .collect(),
        ))
    }
}

fn memory_store() -> MemoryStore {
    let mut s = MemoryStore::new();
    s.insert(wp(DATA), (0..=255u8).collect());
    s
}

#[test]
fn callback_object_through_its_vtable() {
    let cb = ReadFileCallback::new(Arc::new(PlannedStore(memory_store())));
    assert_eq!(cb.ref_count(), 1);
    assert!(cb.call_query_interface(win::bridge::IID_IUNKNOWN));
    assert!(cb.call_query_interface(win::bridge::IID_IDEDUP_READ_FILE_CALLBACK));
    assert!(!cb.call_query_interface(win::bridge::IID_IDEDUP_BACKUP_SUPPORT));
    assert_eq!(
        cb.ref_count(),
        1,
        "QueryInterface's references were released"
    );

    let mut buf = [0u8; 8];
    assert_eq!(
        cb.call_read_backup_file(&format!("C:{DATA}"), 16, &mut buf),
        (Hresult::S_OK, 8)
    );
    assert_eq!(buf, [16, 17, 18, 19, 20, 21, 22, 23]);
    let mut tail = [0xAAu8; 8];
    assert_eq!(
        cb.call_read_backup_file(DATA, 252, &mut tail),
        (Hresult::S_OK, 4)
    );
    assert_eq!(&tail[..4], &[252, 253, 254, 255]);
    assert_eq!(
        cb.call_read_backup_file(r"\System Volume Information\nope", 0, &mut buf),
        (Hresult::DDP_E_PATH_NOT_FOUND, 0)
    );
    assert_eq!(
        cb.call_read_backup_file(DATA, -5, &mut buf),
        (Hresult::E_INVALIDARG, 0)
    );

    let other = DATA.replace("00000001.00000001", "00000002.00000001");
    let plan = cb.call_order_containers_restore(&[DATA, &other]).unwrap();
    assert_eq!(
        plan,
        vec![
            DedupContainerExtent {
                container_index: 1,
                start_offset: 0,
                length: i64::MAX
            },
            DedupContainerExtent {
                container_index: 0,
                start_offset: 0,
                length: i64::MAX
            },
        ]
    );
    assert_eq!(
        cb.call_preview_container_read(
            DATA,
            &[DdpFileExtent {
                length: 8,
                offset: 16
            }]
        ),
        Hresult::S_OK
    );
    let c = cb.counters();
    assert_eq!(c.reads.load(Relaxed), 4);
    assert_eq!(c.bytes_read.load(Relaxed), 12);
    assert_eq!(c.order_calls.load(Relaxed), 1);
    assert_eq!(c.previews.load(Relaxed), 1);
}

#[test]
fn no_plan_is_zero_entries_and_null() {
    let cb = ReadFileCallback::new(Arc::new(memory_store()));
    assert_eq!(cb.call_order_containers_restore(&[DATA]), Ok(vec![]));
}

#[test]
fn source_store_over_a_win_volume() {
    let (_d, v) = volume();
    v.create_dir_all(&wp(r"System Volume Information\Dedup"))
        .unwrap();
    create(&v, r"System Volume Information\Dedup\c.ccc", b"abcdefgh");
    let store = dedup_restore::SourceStore::over_volume(v, "test volume");
    let mut b = [0u8; 3];
    store
        .read_backup_file(&wp(r"System Volume Information\Dedup\C.CCC"), 2, &mut b)
        .unwrap();
    assert_eq!(&b, b"cde");
    let e = store
        .read_backup_file(&wp(r"System Volume Information\Dedup\c.ccc"), 7, &mut b)
        .unwrap_err();
    assert!(e.past_end);
}

/// Without the Data Deduplication feature (any client Windows, or Wine), `DedupBackupSupport`
/// is not registered: the call reports that instead of failing obscurely.
#[test]
fn native_restore_reports_a_missing_feature() {
    let (_d, v) = volume();
    match win::restore_files_native(&v, &[wp("x")], Arc::new(memory_store())) {
        Err(NativeRestoreError::NotInstalled(h)) => {
            assert_eq!(h, win::bridge::REGDB_E_CLASSNOTREG);
        }
        other => panic!("expected NotInstalled, got {other:?}"),
    }
    let many: Vec<WinPath> = (0..10_001).map(|i| wp(&format!("f{i}"))).collect();
    assert!(matches!(
        win::restore_files_native(&v, &many, Arc::new(memory_store())),
        Err(NativeRestoreError::InvalidArgument(_))
    ));
}

/// The real RestoreFiles on a dedup-enabled Windows Server.
#[test]
#[ignore = "needs Windows Server with Data Deduplication (not in Wine); set REHYDRATE_DEDUP_VOLUME"]
fn native_restore_on_windows_server() {
    let root = std::env::var("REHYDRATE_DEDUP_VOLUME").expect("REHYDRATE_DEDUP_VOLUME");
    let v = WinVolume::new(&root).unwrap();
    let store = Arc::new(dedup_restore::SourceStore::over_volume(
        WinVolume::new(&root).unwrap(),
        root.clone(),
    ));
    let r = win::restore_files_native(&v, &[wp("not-a-dedup-file.txt")], store).unwrap();
    assert_eq!(r.files[0].result, Hresult::S_FALSE);
}
