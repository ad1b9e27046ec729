//! End to end: files optimized by the simulator (v1, v2, v3 reparse points, with and without
//! garbage collection) are restored byte for byte through the backup-store callback.

mod common;

use common::*;
use dedup_reparse::LayoutVersion;
use dedup_restore::Hresult;
#[cfg(unix)]
use platform::Volume;

fn restores_all(version: LayoutVersion, seed: u64) {
    let fx = fixture(seed, 5, 400 * 1024, version);
    let paths = fx.paths();
    let report = restore(&fx.vol, &paths, &fx.store);
    for f in &report.files {
        assert_eq!(f.result, Hresult::S_OK, "{}: {:?}", f.path, f.detail());
    }
    assert_eq!(report.result, Hresult::S_OK);
    for (p, d) in &fx.originals {
        assert_restored(&fx.vol, p, d);
    }
    assert_no_stray_files(&fx.vol, &paths);
    let total: u64 = fx.originals.iter().map(|(_, d)| d.len() as u64).sum();
    assert_eq!(report.stats.bytes_restored, total);
}

#[test]
fn v1_restores_byte_identical() {
    restores_all(LayoutVersion::V1, 11);
}

#[test]
fn v2_restores_byte_identical() {
    restores_all(LayoutVersion::V2, 12);
}

#[test]
fn v3_restores_byte_identical() {
    restores_all(LayoutVersion::V3, 13);
}

fn restores_after_gc(version: LayoutVersion, seed: u64) {
    let (fx, churn) = churned_fixture(seed, version);
    // The GC really moved records of both kinds and recorded them in the Rrtl.
    let kinds: Vec<_> = churn
        .gc
        .compacted
        .iter()
        .filter(|c| c.redirections > 0)
        .map(|c| c.kind)
        .collect();
    assert!(
        kinds.contains(&winsim::dedup::ContainerKind::Data)
            && kinds.contains(&winsim::dedup::ContainerKind::Stream),
        "GC compacted {:?}",
        churn.gc.compacted
    );
    // Only the new generations are in the store.
    assert!(
        containers(&fx.store, "Data")
            .iter()
            .any(|p| !p.to_string().ends_with(".00000001.ccc"))
    );
    let paths = fx.paths();
    let report = restore(&fx.vol, &paths, &fx.store);
    for f in &report.files {
        assert_eq!(f.result, Hresult::S_OK, "{}: {:?}", f.path, f.detail());
    }
    assert_eq!(report.result, Hresult::S_OK);
    for (p, d) in &fx.originals {
        assert_restored(&fx.vol, p, d);
    }
    assert_no_stray_files(&fx.vol, &paths);
    // Stale hints were followed through the redirection tables, never by scanning.
    assert!(report.stats.redirected > 0, "{:?}", report.stats);
    assert_eq!(report.stats.found_by_scan, 0);
}

#[test]
fn v1_restores_after_gc_via_rrtl() {
    restores_after_gc(LayoutVersion::V1, 21);
}

#[test]
fn v2_restores_after_gc_via_rrtl() {
    restores_after_gc(LayoutVersion::V2, 22);
}

#[test]
fn v3_restores_after_gc_via_rrtl() {
    restores_after_gc(LayoutVersion::V3, 23);
}

#[cfg(unix)]
/// The volume exported to a host folder (stubs as sparse files with the reparse buffer in an
/// extended attribute, the chunk store as plain files); restored in place with the host folder
/// as both the target volume and the backup store.
#[test]
fn host_volume_and_host_dir_store() {
    let originals = seeded_files(31, 4, 300 * 1024);
    let vol = optimized_volume(31, &originals, LayoutVersion::V3);
    let dir = tempfile::tempdir().expect("tempdir");
    let export = winsim::host::export_volume(&vol, dir.path()).expect("export");
    assert_eq!(export.stubs, originals.len());
    let host = platform::HostVolume::new(dir.path()).expect("host volume");
    let store = dedup_restore::SourceStore::host(dir.path()).expect("host store");
    assert_eq!(store.source().root(), dir.path().canonicalize().unwrap());
    let paths: Vec<_> = originals.iter().map(|(p, _)| p.clone()).collect();
    for p in &paths {
        assert!(host.metadata(p).expect("stub").is_reparse_point());
    }
    let report = dedup_restore::restore_files(
        &host,
        &paths,
        &store,
        dedup_restore::DEDUP_RECONSTRUCT_UNOPTIMIZED,
        &dedup_restore::RestoreOptions::default(),
    )
    .expect("valid call");
    for f in &report.files {
        assert_eq!(f.result, Hresult::S_OK, "{}: {:?}", f.path, f.detail());
    }
    assert_eq!(report.result, Hresult::S_OK);
    for (p, d) in &originals {
        let md = host.metadata(p).expect("metadata");
        assert!(!md.is_reparse_point(), "{p}: still a reparse point");
        assert!(matches!(
            host.reparse_point(p),
            Err(platform::Error::NotAReparsePoint { .. })
        ));
        let host_path = host.host_path(p).expect("lookup").expect("exists");
        let bytes = std::fs::read(&host_path).expect("read restored file");
        assert!(bytes == *d, "{p}: contents differ");
    }
    // Only the restored files and the store remain: no temporary files.
    let mut names: Vec<String> = Vec::new();
    let mut stack = vec![dir.path().to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            if e.file_type().expect("type").is_dir() {
                stack.push(e.path());
            } else {
                names.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    assert!(
        names.iter().all(|n| !n.contains("rehydrate~")),
        "stray files: {names:?}"
    );
}

/// The same file named twice (in another case) is restored once and both entries get its
/// result; an empty list is a successful no-op that touches no store.
#[test]
fn duplicate_paths_and_an_empty_list() {
    let fx = fixture(32, 2, 150 * 1024, LayoutVersion::V3);
    let a = fx.originals[0].0.clone();
    let upper = wp(&a.to_string().to_uppercase());
    let paths = vec![a.clone(), upper.clone(), fx.originals[1].0.clone()];
    let store = dedup_restore::RecordingStore::new(&fx.store);
    let report = restore(&fx.vol, &paths, &store);
    assert_eq!(report.result, Hresult::S_OK);
    assert_eq!(report.files.len(), 3);
    assert_eq!(report.files[1].path, upper);
    assert!(report.files.iter().all(|f| f.result == Hresult::S_OK));
    assert_restored(&fx.vol, &a, &fx.originals[0].1);
    assert_eq!(
        report.stats.bytes_restored,
        fx.originals
            .iter()
            .map(|(_, d)| d.len() as u64)
            .sum::<u64>(),
        "bytes_restored counts each file once"
    );
    assert_no_stray_files(&fx.vol, &fx.paths());

    let empty = dedup_restore::RecordingStore::new(&fx.store);
    let report = restore(&fx.vol, &[], &empty);
    assert_eq!(report.result, Hresult::S_OK);
    assert!(report.files.is_empty());
    assert!(empty.calls().is_empty());
}
