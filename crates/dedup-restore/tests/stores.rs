//! The three stores: host directory, memory, recording wrapper.

mod common;

use common::*;
#[cfg(unix)]
use dedup_restore::SourceStore;
use dedup_restore::{
    BackupStore, ContainerExtent, FileExtent, Hresult, MemoryStore, RecordingStore, StoreCall,
};
#[cfg(unix)]
use platform::Volume;

#[cfg(unix)]
fn sample_store_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir
        .path()
        .join("System Volume Information/Dedup/ChunkStore/{X}.ddp/Data");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("00000001.00000001.ccc"),
        (0u8..=255).collect::<Vec<_>>(),
    )
    .unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    dir
}

#[cfg(unix)]
#[test]
fn host_dir_store_reads_lists_and_reports_errors() {
    let dir = sample_store_dir();
    let store = SourceStore::host(dir.path()).unwrap();
    // Paths are matched case-insensitively, as on NTFS.
    let p =
        wp("\\SYSTEM VOLUME INFORMATION\\dedup\\chunkstore\\{x}.DDP\\data\\00000001.00000001.CCC");
    let mut buf = [0u8; 4];
    store.read_backup_file(&p, 10, &mut buf).unwrap();
    assert_eq!(buf, [10, 11, 12, 13]);
    // Past the end: an error that says so, naming the file and the offset.
    let e = store.read_backup_file(&p, 254, &mut buf).unwrap_err();
    assert!(e.past_end);
    assert_eq!(e.hresult, Hresult::DDP_E_FILE_CORRUPT);
    assert!(e.to_string().contains("0xfe"), "{e}");
    // Missing: DDP_E_PATH_NOT_FOUND.
    let missing = p.parent().unwrap().join("00000002.00000001.ccc").unwrap();
    let e = store.read_backup_file(&missing, 0, &mut buf).unwrap_err();
    assert_eq!(e.hresult, Hresult::DDP_E_PATH_NOT_FOUND);
    assert!(!e.past_end);
    assert!(e.to_string().contains("00000002.00000001.ccc"));
    // Listing: files only; a missing folder lists as empty.
    assert_eq!(
        store.list_dir(&p.parent().unwrap()).unwrap(),
        Some(vec!["00000001.00000001.ccc".to_owned()])
    );
    let none = wp("\\System Volume Information\\Dedup\\ChunkStore\\{X}.ddp\\Stream");
    assert_eq!(store.list_dir(&none).unwrap(), Some(vec![]));
    // The defaults of the optional callbacks.
    assert_eq!(
        store
            .order_containers_restore(std::slice::from_ref(&p))
            .unwrap(),
        None
    );
    store
        .preview_container_read(
            &p,
            &[FileExtent {
                offset: 0,
                length: 4,
            }],
        )
        .unwrap();
}

#[test]
fn memory_store_behaves_like_the_host_store() {
    let mut store = MemoryStore::new();
    let p = wp("\\S\\Data\\00000001.00000001.ccc");
    store.insert(p.clone(), (0u8..100).collect());
    let mut buf = [0u8; 3];
    store
        .read_backup_file(&wp("\\s\\DATA\\00000001.00000001.CCC"), 97, &mut buf)
        .unwrap();
    assert_eq!(buf, [97, 98, 99]);
    let e = store.read_backup_file(&p, 98, &mut buf).unwrap_err();
    assert!(e.past_end);
    assert_eq!(e.hresult, Hresult::DDP_E_FILE_CORRUPT);
    assert_eq!(
        store.list_dir(&wp("\\S\\Data")).unwrap(),
        Some(vec!["00000001.00000001.ccc".to_owned()])
    );
    assert_eq!(store.get(&p).map(<[u8]>::len), Some(100));
    store.remove(&p).unwrap();
    let e = store.read_backup_file(&p, 0, &mut buf).unwrap_err();
    assert_eq!(e.hresult, Hresult::DDP_E_PATH_NOT_FOUND);
}

#[test]
fn recording_store_records_plans_and_fails_on_request() {
    let mut inner = MemoryStore::new();
    let p = wp("\\S\\Data\\00000001.00000001.ccc");
    inner.insert(p.clone(), vec![7; 64]);
    let store = RecordingStore::new(inner)
        .with_plan(|c| {
            Some(vec![ContainerExtent {
                container_index: c.len() as u32 - 1,
                start: 8,
                length: 8,
            }])
        })
        .failing_reads(|_, off, _| off == 32);
    let plan = store
        .order_containers_restore(std::slice::from_ref(&p))
        .unwrap();
    assert_eq!(plan.unwrap()[0].end(), 16);
    store
        .preview_container_read(
            &p,
            &[FileExtent {
                offset: 8,
                length: 8,
            }],
        )
        .unwrap();
    let mut buf = [0u8; 8];
    store.read_backup_file(&p, 8, &mut buf).unwrap();
    assert_eq!(buf, [7; 8]);
    let e = store.read_backup_file(&p, 32, &mut buf).unwrap_err();
    assert_eq!(e.hresult, Hresult::E_FAIL);
    store.list_dir(&wp("\\S\\Data")).unwrap();
    assert_eq!(
        store.calls(),
        vec![
            StoreCall::Order(vec![p.clone()]),
            StoreCall::Preview(
                p.clone(),
                vec![FileExtent {
                    offset: 8,
                    length: 8
                }]
            ),
            StoreCall::Read(p.clone(), 8, 8),
            StoreCall::Read(p.clone(), 32, 8),
            StoreCall::List(wp("\\S\\Data")),
        ]
    );
    assert_eq!(store.inner().get(&p).map(<[u8]>::len), Some(64));
    // "To the end" lengths.
    for length in [u64::MAX, i64::MAX as u64] {
        let e = ContainerExtent {
            container_index: 0,
            start: 5,
            length,
        };
        assert_eq!(e.end(), u64::MAX);
    }
}

#[cfg(unix)]
/// The realistic layout: the target volume holds only the stubs, the backup store is a
/// separate folder (a mounted backup).
#[test]
fn host_store_in_a_separate_folder_restores_a_host_volume() {
    let originals = seeded_files(91, 3, 250 * 1024);
    let vol = optimized_volume(91, &originals, dedup_reparse::LayoutVersion::V1);
    let target = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    winsim::host::export_volume(&vol, target.path()).unwrap();
    winsim::host::export_volume(&vol, backup.path()).unwrap();
    std::fs::remove_dir_all(target.path().join("System Volume Information")).unwrap();
    let host = platform::HostVolume::new(target.path()).unwrap();
    let store = RecordingStore::new(SourceStore::host(backup.path()).unwrap());
    let paths: Vec<_> = originals.iter().map(|(p, _)| p.clone()).collect();
    let report = dedup_restore::restore_files(
        &host,
        &paths,
        &store,
        dedup_restore::DEDUP_RECONSTRUCT_UNOPTIMIZED,
        &dedup_restore::RestoreOptions::default(),
    )
    .unwrap();
    assert_eq!(report.result, Hresult::S_OK, "{:#?}", report.files);
    for (p, d) in &originals {
        assert!(!host.metadata(p).unwrap().is_reparse_point());
        let bytes = std::fs::read(host.host_path(p).unwrap().unwrap()).unwrap();
        assert!(bytes == *d, "{p}");
    }
    check_protocol(&store.calls());
    // Nothing but the restored files in the target.
    let mut found = Vec::new();
    let mut stack = vec![target.path().to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                found.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    let mut want: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_owned())
        .collect();
    want.sort();
    assert_eq!(found, want);
}

#[cfg(unix)]
/// After a garbage collection (new generations, `Rrtl` entries, stale hints), through the host
/// folder: the highest generation is found by listing the folder.
#[test]
fn host_store_after_gc() {
    let originals = seeded_files(92, 4, 300 * 1024);
    let vol = winsim::SimVolume::new(92);
    for (p, d) in &originals {
        vol.write_file(p, d).unwrap();
    }
    let opts = winsim::dedup::OptimizeOptions {
        reparse_version: dedup_reparse::LayoutVersion::V2,
        ..winsim::dedup::OptimizeOptions::default()
    };
    let churn = winsim::dedup::churn::optimize_with_churn(&vol, 92, &opts, 133_500_000_000_000_000)
        .unwrap();
    assert!(churn.gc.compacted.iter().any(|c| c.new_generation > 1));
    let dir = tempfile::tempdir().unwrap();
    winsim::host::export_volume(&vol, dir.path()).unwrap();
    let host = platform::HostVolume::new(dir.path()).unwrap();
    let store = SourceStore::host(dir.path()).unwrap();
    let paths: Vec<_> = originals.iter().map(|(p, _)| p.clone()).collect();
    let report = dedup_restore::restore_files(
        &host,
        &paths,
        &store,
        dedup_restore::DEDUP_RECONSTRUCT_UNOPTIMIZED,
        &dedup_restore::RestoreOptions::default(),
    )
    .unwrap();
    assert_eq!(report.result, Hresult::S_OK, "{:#?}", report.files);
    assert!(report.stats.redirected > 0);
    for (p, d) in &originals {
        assert!(!host.metadata(p).unwrap().is_reparse_point());
        assert!(
            std::fs::read(host.host_path(p).unwrap().unwrap()).unwrap() == *d,
            "{p}"
        );
    }
}
