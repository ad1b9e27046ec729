//! Restore throughput by the shape of a volume: the same ~1 GiB of seeded data (text and random
//! mixed) as a few large files, as 20,000 files over 40 folders, and as 20,000 files in one
//! folder — each optimized by the simulator, exported to a host folder, and restored through
//! the library's out-of-place restore (`restore_tree` from a `SourceStore` into a `HostVolume`,
//! verified, then `syncfs`) into a real output folder: tmpfs (`/dev/shm`) when it takes
//! extended attributes, and a folder on the disk the bench runs on. What `rehydrate restore`
//! does, without the argument parsing.
//!
//! The shapes are restored in interleaved rounds (large, forty, one, large, …) so a slow spell
//! of the machine hits them alike; each figure is the median of the rounds, with the process's
//! CPU utilisation (user + system time over wall time, in cores) beside it, and the two ratios
//! the many-files work is judged by: one folder / forty folders (time), and many files / large
//! files (GB/s).
//!
//! `REHYDRATE_BENCH_GIB` (default 1) scales the data; `REHYDRATE_BENCH_ROUNDS` (default 3);
//! `REHYDRATE_BENCH_DIR=<folder>` keeps the three volumes there for later runs.
//!
//! Run: `cargo bench -p dedup-restore --bench many_files` (or `cargo xtask bench`).

#![allow(clippy::cast_precision_loss, clippy::cast_sign_loss)] // GB/s figures, env sizes
#![cfg_attr(not(unix), allow(unused))]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dedup_restore::{EntryStatus, SourceStore, TreeOptions, restore_tree};
use platform::{HostVolume, WinPath};
use test_support::SplitMix64;
use winsim::SimVolume;
use winsim::dedup::{OptimizeOptions, optimize_files};

/// The path of file `i` of `n` in one shape.
type PathOf = fn(u64, u64) -> String;

/// The three shapes: name, and the path of file `i` of `n`.
const SHAPES: [(&str, PathOf); 3] = [
    ("a few large files", |i, _| {
        format!("\\large\\file-{i:03}.bin")
    }),
    ("20,000 files over 40 folders", |i, _| {
        format!("\\forty\\d{:02}\\file-{i:05}.bin", i % 40)
    }),
    ("20,000 files in one folder", |i, _| {
        format!("\\one\\file-{i:05}.bin")
    }),
];

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v: &f64| *v > 0.0)
        .unwrap_or(default)
}

/// `n` bytes of seeded data: text (compressible) or random, by the seed.
fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut rng = SplitMix64(seed);
    if seed.is_multiple_of(3) {
        let mut v = vec![0u8; n];
        rng.fill(&mut v);
        v
    } else {
        rng.text(n)
    }
}

/// Writes the same `total` bytes in the given shape (`count` files) and optimizes them into
/// `dir`, in groups of about 128 MiB so the simulator never holds more than that unoptimized.
fn make_volume(dir: &Path, total: u64, count: u64, path_of: PathOf) {
    let vol = SimVolume::new(11);
    let per_file = total / count;
    let mut group = Vec::new();
    let mut group_bytes = 0u64;
    for i in 0..count {
        let p = WinPath::new(&path_of(i, count)).unwrap();
        // Sizes vary ±50 % around the mean; the seeds repeat every 16 files so that the
        // shapes hold the same kinds of data.
        let n = (per_file / 2 + SplitMix64(i).below(per_file.max(1))) as usize;
        vol.write_file(&p, &bytes(i % 16, n)).unwrap();
        group.push(p);
        group_bytes += n as u64;
        if group_bytes >= 128 << 20 || i + 1 == count {
            optimize_files(&vol, 11, &group, &OptimizeOptions::default()).unwrap();
            group.clear();
            group_bytes = 0;
        }
    }
    winsim::host::export_volume(&vol, dir).unwrap();
}

/// User + system CPU time of this process so far (`/proc/self/stat` fields 14 and 15, in
/// clock ticks of `USER_HZ`, which is 100 on Linux).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// One verified restore of `src` into a fresh folder under `out_base`: (logical bytes, wall
/// time, CPU time). The folder is removed afterwards, outside the timing.
fn restore_once(src: &Path, out_base: &Path) -> (u64, Duration, Duration) {
    let out = tempfile::tempdir_in(out_base).unwrap();
    let store = SourceStore::host(src).unwrap();
    let dest = HostVolume::new(out.path()).unwrap();
    let (c0, t0) = (cpu_time(), Instant::now());
    let r = restore_tree(store.source(), &store, &dest, &TreeOptions::default()).unwrap();
    let (wall, cpu) = (t0.elapsed(), cpu_time().saturating_sub(c0));
    assert_eq!(r.count(EntryStatus::Failed), 0, "{:?}", r.entries.first());
    let logical = r.bytes(EntryStatus::Restored) + r.bytes(EntryStatus::Copied);
    drop(dest);
    drop(out);
    (logical, wall, cpu)
}

/// Output folders to restore into: tmpfs when it takes user xattrs, and the bench's own disk.
fn output_bases(keep: &Path) -> Vec<(String, PathBuf)> {
    let mut v = Vec::new();
    let shm = Path::new("/dev/shm");
    if let Ok(d) = tempfile::tempdir_in(shm) {
        let probe = d.path().join("p");
        if std::fs::write(&probe, b"").is_ok() && xattr::set(&probe, "user.p", b"1").is_ok() {
            v.push(("tmpfs".to_owned(), shm.to_owned()));
        }
    }
    v.push(("disk".to_owned(), keep.to_owned()));
    v
}

/// Per shape: wall seconds, GB/s and CPU cores of each round, and the logical bytes.
#[derive(Clone, Default)]
struct Rounds(Vec<f64>, Vec<f64>, Vec<f64>, u64);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[cfg(not(unix))]
fn main() {}

#[cfg(unix)]
fn main() {
    // `cargo bench` passes `--bench`; a filter that names another bench skips this one.
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"many_files".contains(&a))
    {
        return;
    }
    let total = (env_f64("REHYDRATE_BENCH_GIB", 1.0) * f64::from(1u32 << 30)) as u64;
    let rounds = env_f64("REHYDRATE_BENCH_ROUNDS", 3.0) as usize;
    let temp;
    let base = if let Some(d) = std::env::var_os("REHYDRATE_BENCH_DIR") {
        PathBuf::from(d)
    } else {
        temp = tempfile::Builder::new()
            .prefix("rehydrate-many-")
            .tempdir()
            .unwrap();
        temp.path().to_owned()
    };
    let counts = [(total / (48 << 20)).max(2), 20_000, 20_000];
    let mut volumes = Vec::new();
    for ((name, path_of), count) in SHAPES.iter().zip(counts) {
        let dir = base.join(format!("vol-{count}-{}", name.len()));
        if !dir.join("System Volume Information").exists() {
            let t = Instant::now();
            std::fs::create_dir_all(&dir).unwrap();
            make_volume(&dir, total, count, *path_of);
            eprintln!(
                "made {name}: {count} files in {:.1} s",
                t.elapsed().as_secs_f64()
            );
        }
        volumes.push((*name, dir));
    }
    for (out_name, out_base) in output_bases(&base) {
        let mut results = vec![Rounds::default(); volumes.len()];
        for _ in 0..rounds {
            for (i, (_, dir)) in volumes.iter().enumerate() {
                let (logical, wall, cpu) = restore_once(dir, &out_base);
                let r = &mut results[i];
                r.0.push(wall.as_secs_f64());
                r.1.push(logical as f64 / wall.as_secs_f64() / 1e9);
                r.2.push(cpu.as_secs_f64() / wall.as_secs_f64());
                r.3 = logical;
            }
        }
        println!("restore_tree into {out_name} ({rounds} interleaved rounds, medians):");
        let mut med = Vec::new();
        for ((name, _), Rounds(walls, rates, cores, logical)) in volumes.iter().zip(results) {
            let (w, g, c) = (median(walls), median(rates), median(cores));
            println!(
                "  {name:<30} {:.3} GB in {w:>6.2} s: {g:.3} GB/s, CPU {c:.2} cores",
                logical as f64 / 1e9
            );
            med.push((w, g));
        }
        println!(
            "  one folder / forty folders, time: {:.2}; many files / large files, GB/s: {:.2} (forty) {:.2} (one)",
            med[2].0 / med[1].0,
            med[1].1 / med[0].1,
            med[2].1 / med[0].1
        );
    }
}
