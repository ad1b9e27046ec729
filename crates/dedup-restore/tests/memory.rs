//! The memory window bounds the engine's heap, whatever the size of the store: measured with a
//! counting allocator while restoring a host volume from a host-folder store (so that neither
//! the volume nor the store lives on the heap). Its own test binary: the allocator counts every
//! thread of the process.

// SAFETY justification for the crate-level allowance: the only unsafe code is the
// `GlobalAlloc` impl below, which forwards every call unchanged to `System`.
#![cfg(unix)]
#![allow(unsafe_code)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use dedup_restore::{Hresult, RestoreOptions};
use platform::Volume;
use test_support::SplitMix64;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the same arguments; the counters are plain
// atomics and never affect the returned pointers.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let grow = new_size - layout.size();
                let now = CURRENT.fetch_add(grow, Ordering::Relaxed) + grow;
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Peak heap growth (bytes above the level at the start) while running `f`.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = CURRENT.load(Ordering::Relaxed);
    PEAK.store(start, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(start))
}

#[test]
fn heap_stays_within_the_window() {
    // 12 MiB of incompressible data in 6 files: a store of about the same size.
    let mut rng = SplitMix64(81);
    let originals: Vec<_> = (0..6)
        .map(|i| {
            let mut d = vec![0u8; 2 << 20];
            rng.fill(&mut d);
            (wp(&format!("\\big\\f{i}.bin")), d)
        })
        .collect();
    let vol = optimized_volume(81, &originals, dedup_reparse::LayoutVersion::V3);
    let paths: Vec<_> = originals.iter().map(|(p, _)| p.clone()).collect();
    let mut peaks = Vec::new();
    for window in [256 << 10, 32 << 20] {
        let dir = tempfile::tempdir().unwrap();
        winsim::host::export_volume(&vol, dir.path()).unwrap();
        let host = platform::HostVolume::new(dir.path()).unwrap();
        let store = dedup_restore::SourceStore::host(dir.path()).unwrap();
        let opts = RestoreOptions {
            window,
            ..RestoreOptions::default()
        };
        let (report, peak) = peak_during(|| {
            dedup_restore::restore_files(
                &host,
                &paths,
                &store,
                dedup_restore::DEDUP_RECONSTRUCT_UNOPTIMIZED,
                &opts,
            )
            .unwrap()
        });
        assert_eq!(report.result, Hresult::S_OK, "{:#?}", report.files);
        for (p, d) in &originals {
            assert!(!host.metadata(p).unwrap().is_reparse_point());
            assert!(std::fs::read(host.host_path(p).unwrap().unwrap()).unwrap() == *d);
        }
        peaks.push(peak);
    }
    let [small, large] = [peaks[0], peaks[1]];
    // With a 256 KiB window: two windows, a decode buffer per thread and bookkeeping.
    assert!(small < 3 << 20, "peak {small} bytes with a 256 KiB window");
    // The default window reads the store in large pieces, so the small one really bounded it.
    assert!(
        large > 2 * small,
        "peaks {small} (256 KiB) vs {large} (32 MiB)"
    );
}
