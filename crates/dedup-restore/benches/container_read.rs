//! Restore throughput of the library's out-of-place restore (`restore_tree`, which runs
//! `restore_files`) from a `SourceStore` over a host folder, in bytes of logical (restored)
//! data per second (decimal GB/s), beside the bounds measured in the same run: a `memcpy` of
//! the same number of bytes and SHA-512 of them on all cores (what verifying every chunk's hash
//! costs at best).
//!
//! The data set (default 1 GiB logical; `REHYDRATE_BENCH_GIB=0.25` for a quick run) is made once
//! per run by the simulator: text (compressible), random (incompressible), mostly-empty disk
//! images, exact and edited copies (dedup), optimized and exported to a temporary host folder
//! (never in git). Each restore reads that folder through `SourceStore` (positioned reads of
//! the real-format containers, files kept open) and writes into a volume that keeps no data:
//! the stubs are staged in memory over a `NullVolume` (what `rehydrate verify` does), so the
//! numbers are the engine's (read, CRC-64, Xpress decode, SHA-512, placement), not
//! the disk's.
//!
//! `REHYDRATE_BENCH_DIR=<folder>` makes the data set there and keeps it (a later run reuses it,
//! whatever `REHYDRATE_BENCH_GIB` says); `REHYDRATE_BENCH_RSS_PROBE=<folder> <bench binary>`
//! runs one verified restore of such a folder and nothing else (to profile it).
//!
//! Peak memory: the resident high-water mark (`VmHWM` of `/proc/self/status`) is reset (`5` into
//! `/proc/self/clear_refs`) after the data set is made, then printed after each group.
//!
//! Run: `cargo bench -p dedup-restore --bench container_read` (or `cargo xtask bench`).

#![allow(clippy::cast_precision_loss)] // GB/s and MiB figures for display

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};
use dedup_restore::{EntryStatus, RestoreOptions, SourceStore, TreeOptions, restore_tree};
use platform::{HostSource, HostVolume, NullVolume, Volume, WinPath};
use rayon::prelude::*;
use sha2::{Digest, Sha512};
use test_support::SplitMix64;
use winsim::SimVolume;
use winsim::dedup::{OptimizeOptions, churn::edited_copy, optimize_files};

/// The store of a data-set folder, read the way `rehydrate restore` and `verify` read it.
type Store = SourceStore<HostSource>;

/// The logical size asked for, in bytes.
fn target_bytes() -> u64 {
    let gib: f64 = std::env::var("REHYDRATE_BENCH_GIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v: &f64| *v > 0.0)
        .unwrap_or(1.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let b = (gib * f64::from(1u32 << 30)) as u64;
    b
}

/// File `i`'s bytes: a seeded mix (the copies regenerate their base).
fn file_bytes(i: u64) -> Vec<u8> {
    let mut rng = SplitMix64(0xBE4C_0000 + i);
    let size = (4 << 20) + rng.below(8 << 20) as usize;
    match i % 10 {
        4..=5 => {
            let mut v = vec![0u8; size];
            rng.fill(&mut v);
            v
        }
        6 => {
            let mut v = vec![0u8; size];
            for block in v.chunks_mut(64 << 10) {
                if rng.below(5) == 0 {
                    rng.fill(block);
                }
            }
            v
        }
        7 if i >= 10 => file_bytes(i - 7),
        8 if i >= 10 => edited_copy(&file_bytes(i - 8), &mut rng),
        // 0..=3, 9, and the first copies: text.
        _ => rng.text(size),
    }
}

/// Makes the data set in `dir` (in groups, so no more than ~128 MiB of raw data is in memory at
/// once), returns the stubs and the logical bytes.
fn make_data_set(dir: &Path, total: u64) -> (Vec<(WinPath, u64)>, u64) {
    let vol = SimVolume::new(7);
    let mut logical = 0u64;
    let mut i = 0u64;
    while logical < total {
        let mut group = Vec::new();
        let mut group_bytes = 0u64;
        while group_bytes < (128 << 20) && logical + group_bytes < total {
            let p = WinPath::new(&format!("\\set\\d{}\\file-{i:05}.bin", i % 8)).unwrap();
            let bytes = file_bytes(i);
            group_bytes += bytes.len() as u64;
            vol.write_file(&p, &bytes).unwrap();
            group.push(p);
            i += 1;
        }
        optimize_files(&vol, 7, &group, &OptimizeOptions::default()).unwrap();
        logical += group_bytes;
    }
    winsim::host::export_volume(&vol, dir).unwrap();
    drop(vol);
    (collect_stubs(dir), logical)
}

/// The stubs of an exported volume folder, with their logical sizes.
fn collect_stubs(dir: &Path) -> Vec<(WinPath, u64)> {
    let host = HostVolume::new(dir).unwrap();
    let mut stubs = Vec::new();
    let mut stack = vec![WinPath::root()];
    while let Some(d) = stack.pop() {
        for e in host.read_dir(&d).unwrap() {
            let p = d.join(&e.name).unwrap();
            if e.metadata.is_dir() {
                if !platform::eq_name(&e.name, "System Volume Information") {
                    stack.push(p);
                }
            } else if e.metadata.is_reparse_point() {
                stubs.push((p, e.metadata.len));
            }
        }
    }
    stubs
}

/// Rebuilds every dedup file of the data set into a sink, through the library's out-of-place
/// restore (what `rehydrate verify` runs: walk, stage, batch, engine); returns the bytes.
fn restore_all(store: &Store, opts: &RestoreOptions) -> u64 {
    let tree = TreeOptions {
        copy_plain: false,
        restore: opts.clone(),
        ..TreeOptions::default()
    };
    let r = restore_tree(store.source(), store, &NullVolume::default(), &tree).unwrap();
    assert_eq!(r.count(EntryStatus::Failed), 0, "{:?}", r.entries.first());
    r.bytes(EntryStatus::Restored)
}

/// A `/proc/self/status` field in KiB (`VmHWM:`, `VmRSS:`).
fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resets the high-water mark to the current RSS and prints that baseline: what the process
/// holds before the restores (binary, criterion, the stubs, and heap the allocator kept from
/// making the data set).
fn reset_hwm() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    if let Some(k) = status_kib("VmRSS:") {
        eprintln!(
            "RSS before the restores (baseline): {:.1} MiB",
            k as f64 / 1024.0
        );
    }
}

fn print_hwm(what: &str) {
    match status_kib("VmHWM:") {
        Some(k) => eprintln!(
            "peak RSS (VmHWM) during {what}: {:.1} MiB",
            k as f64 / 1024.0
        ),
        None => eprintln!("peak RSS: /proc/self/status not readable"),
    }
}

fn bench(c: &mut Criterion) {
    let total = target_bytes();
    let temp;
    let dir = if let Some(d) = std::env::var_os(DIR_ENV) {
        PathBuf::from(d)
    } else {
        temp = tempfile::Builder::new()
            .prefix("rehydrate-bench-")
            .tempdir()
            .unwrap();
        temp.path().to_owned()
    };
    let t = std::time::Instant::now();
    let (stubs, logical) = if dir.join("System Volume Information").exists() {
        let stubs = collect_stubs(&dir);
        let logical = stubs.iter().map(|(_, l)| l).sum();
        eprintln!("reusing the data set made before in {}", dir.display());
        (stubs, logical)
    } else {
        std::fs::create_dir_all(&dir).unwrap();
        make_data_set(&dir, total)
    };
    eprintln!(
        "data set: {} files, {:.3} GB logical, made in {:.1} s in {}",
        stubs.len(),
        logical as f64 / 1e9,
        t.elapsed().as_secs_f64(),
        dir.display()
    );
    rss_probe(&dir, logical);
    let store = SourceStore::host(&dir).unwrap();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let threads = rayon::current_num_threads();
    // 64 MiB of text+random, cycled to the logical size, for the bounds.
    let mut window = SplitMix64(3).text(32 << 20);
    let mut rnd = vec![0u8; 32 << 20];
    SplitMix64(4).fill(&mut rnd);
    window.extend_from_slice(&rnd);
    drop(rnd);
    let rounds = logical.div_ceil(window.len() as u64);

    let mut g = c.benchmark_group("container_read");
    g.throughput(Throughput::BytesDecimal(logical));
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    // About ten full restores per variant, at least 5 s.
    g.measurement_time(Duration::from_secs((logical >> 26).clamp(5, 30)));

    let mut dst = vec![0u8; window.len()];
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            for _ in 0..rounds {
                dst.copy_from_slice(black_box(&window));
            }
            black_box(&dst);
        });
    });
    drop(dst);
    g.bench_function(format!("sha512 {threads} threads (verify bound)"), |b| {
        b.iter(|| {
            for _ in 0..rounds {
                window.par_chunks(64 << 10).for_each(|c| {
                    black_box(Sha512::digest(c));
                });
            }
        });
    });
    g.bench_function("sha512 1 thread", |b| {
        b.iter(|| {
            for _ in 0..rounds {
                for c in window.chunks(64 << 10) {
                    black_box(Sha512::digest(c));
                }
            }
        });
    });

    let with_hash = RestoreOptions::default();
    let no_hash = RestoreOptions {
        verify_hash: false,
        ..RestoreOptions::default()
    };
    paired_ratio(&window, rounds, &store, &with_hash, logical);
    drop(window);
    reset_hwm();
    g.bench_function(format!("restore {threads} threads, verify hash"), |b| {
        b.iter(|| assert_eq!(restore_all(&store, &with_hash), logical));
    });
    print_hwm(&format!("restore, {threads} threads, verify hash"));
    g.bench_function(format!("restore {threads} threads, no hash"), |b| {
        b.iter(|| assert_eq!(restore_all(&store, &no_hash), logical));
    });
    g.bench_function("restore 1 thread, verify hash", |b| {
        b.iter(|| one.install(|| assert_eq!(restore_all(&store, &with_hash), logical)));
    });
    g.bench_function("restore 1 thread, no hash", |b| {
        b.iter(|| one.install(|| assert_eq!(restore_all(&store, &no_hash), logical)));
    });
    print_hwm("all restores");
    g.finish();
}

/// The target ratio (verified restore over the SHA-512 bound, both on all threads) from pairs
/// run back to back, so that other load on the machine hits both sides of a pair alike; prints
/// each pair and the median.
fn paired_ratio(window: &[u8], rounds: u64, store: &Store, opts: &RestoreOptions, logical: u64) {
    let mut ratios = Vec::new();
    let mut cpu_ratios = Vec::new();
    for _ in 0..5 {
        let (t, c) = (std::time::Instant::now(), cpu_seconds());
        for _ in 0..rounds {
            window.par_chunks(64 << 10).for_each(|c| {
                black_box(Sha512::digest(c));
            });
        }
        let (sha, sha_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
        let (t, c) = (std::time::Instant::now(), cpu_seconds());
        assert_eq!(restore_all(store, opts), logical);
        let (restore, restore_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
        let bytes = (rounds * window.len() as u64) as f64;
        // Per logical byte, CPU time of SHA-512 over that of the verified restore: what the
        // wall-clock ratio would be with every thread busy all the time, and much less moved by
        // other load on the machine than wall-clock figures.
        let cpu_ratio = (sha_cpu / bytes) / (restore_cpu / logical as f64);
        eprintln!(
            "pair: sha512 {:.3} GB/s, verified restore {:.3} GB/s, ratio {:.2}; CPU ns/B sha512 {:.3}, restore {:.3}, CPU ratio {:.2}",
            bytes / sha / 1e9,
            logical as f64 / restore / 1e9,
            (logical as f64 / restore) / (bytes / sha),
            sha_cpu / bytes * 1e9,
            restore_cpu / logical as f64 * 1e9,
            cpu_ratio
        );
        ratios.push((logical as f64 / restore) / (bytes / sha));
        cpu_ratios.push(cpu_ratio);
    }
    ratios.sort_by(f64::total_cmp);
    cpu_ratios.sort_by(f64::total_cmp);
    eprintln!(
        "verified restore / SHA-512 bound, {} threads, median of 5 back-to-back pairs: {:.2} (wall clock), {:.2} (CPU time per byte)",
        rayon::current_num_threads(),
        ratios[2],
        cpu_ratios[2]
    );
}

/// User + system CPU time of this process so far, in seconds (`/proc/self/stat`, 100 Hz ticks
/// on Linux; 0 where unreadable).
fn cpu_seconds() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum::<u64>() as f64 / 100.0
}

/// Set in the child process that measures peak memory: the data set folder.
const PROBE_ENV: &str = "REHYDRATE_BENCH_RSS_PROBE";

/// A folder to make the data set in and keep (instead of a temporary one), or to reuse when
/// it holds one already; `REHYDRATE_BENCH_RSS_PROBE=<folder> <bench binary>` then runs one
/// verified restore of it alone, e.g. under callgrind or perf.
const DIR_ENV: &str = "REHYDRATE_BENCH_DIR";

/// Peak memory of one verified restore of the whole data set on all threads, measured in a
/// fresh child process (this one holds what making the data set left in its heap).
fn rss_probe(dir: &Path, logical: u64) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env(PROBE_ENV, dir)
        .env("REHYDRATE_BENCH_LOGICAL", logical.to_string())
        .output();
    match out {
        Ok(o) if o.status.success() => eprint!("{}", String::from_utf8_lossy(&o.stderr)),
        Ok(o) => eprintln!(
            "peak RSS probe failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => eprintln!("peak RSS probe could not start: {e}"),
    }
}

/// The child side of [`rss_probe`].
fn probe_child(dir: &Path) {
    let before = status_kib("VmRSS:").unwrap_or(0);

    let store = SourceStore::host(dir).unwrap();
    let t = std::time::Instant::now();
    let bytes = restore_all(&store, &RestoreOptions::default());
    let secs = t.elapsed().as_secs_f64();
    let want: u64 = std::env::var("REHYDRATE_BENCH_LOGICAL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(bytes);
    assert_eq!(bytes, want);
    eprintln!(
        "fresh process, one verified restore on {} threads: {:.3} GB in {secs:.2} s ({:.2} GB/s); RSS at start {:.1} MiB, peak RSS (VmHWM) {:.1} MiB",
        rayon::current_num_threads(),
        bytes as f64 / 1e9,
        bytes as f64 / secs / 1e9,
        before as f64 / 1024.0,
        status_kib("VmHWM:").unwrap_or(0) as f64 / 1024.0
    );
}

criterion_group!(benches, bench);

fn main() {
    if let Some(dir) = std::env::var_os(PROBE_ENV) {
        probe_child(Path::new(&dir));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
