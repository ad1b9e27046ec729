//! Restore throughput from a disk image against the same restore from the host folder the
//! image was made from (issue 17: target at least 0.9 times the folder's rate).
//!
//! Setup (outside every timing): the simulator writes seeded files (text and random, a few
//! large files), optimizes them and exports the volume to a host folder — what
//! `rehydrate sim optimize` writes. ntfs-3g (`mkntfs`, a FUSE mount) copies that folder onto
//! a raw NTFS volume image (dedup stubs as sparse files with their reparse point in
//! `system.ntfs_reparse_data`, the chunk store as plain files), and `qemu-img convert` turns
//! the raw image into a dynamic VHDX. All three stay in the page cache.
//!
//! Each restore is the library's out-of-place restore (`restore_tree` from a `SourceStore`,
//! every chunk verified) into a fresh folder on tmpfs (`/dev/shm` when it takes extended
//! attributes, else the temporary folder), which is removed outside the timing. First
//! `REHYDRATE_BENCH_ROUNDS` (default 3) interleaved rounds (folder, raw, VHDX, folder, …) give
//! medians and the ratios with any load of the machine hitting all three alike; then a
//! criterion group measures each on its own.
//!
//! `REHYDRATE_BENCH_GIB` (default 0.5) scales the data. Needs root, `/dev/fuse`, and the
//! `ntfs-3g` and `qemu-utils` packages (the bench says so and stops when they are missing).
//!
//! Run: `cargo bench -p disk-image --bench image_restore` (or `cargo xtask bench`).

#![allow(clippy::cast_precision_loss, clippy::cast_sign_loss)] // GB/s figures, env sizes
#![cfg_attr(not(unix), allow(unused))]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use dedup_restore::{EntryStatus, SourceStore, TreeOptions, restore_tree};
use platform::{HostVolume, Source, WinPath};
use test_support::SplitMix64;
use winsim::SimVolume;
use winsim::dedup::{OptimizeOptions, optimize_files};

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v: &f64| *v > 0.0)
        .unwrap_or(default)
}

fn run(cmd: &mut Command) {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `total` bytes of seeded files (a third random, the rest text) optimized into the host
/// folder `dir`, in groups of about 128 MiB.
fn make_folder(dir: &Path, total: u64) {
    let vol = SimVolume::new(17);
    let per_file = 24u64 << 20;
    let count = total.div_ceil(per_file);
    let mut group = Vec::new();
    let mut group_bytes = 0u64;
    for i in 0..count {
        let p = WinPath::new(&format!("\\data\\d{}\\file-{i:03}.bin", i % 4)).unwrap();
        let mut rng = SplitMix64(i % 16);
        let data = if i % 3 == 0 {
            let mut v = vec![0u8; per_file as usize];
            rng.fill(&mut v);
            v
        } else {
            rng.text(per_file as usize)
        };
        vol.write_file(&p, &data).unwrap();
        group.push(p);
        group_bytes += per_file;
        if group_bytes >= 128 << 20 || i + 1 == count {
            optimize_files(&vol, 17, &group, &OptimizeOptions::default()).unwrap();
            group.clear();
            group_bytes = 0;
        }
    }
    winsim::host::export_volume(&vol, dir).unwrap();
}

/// Bytes the folder's files take (stubs count nothing: they become sparse files).
fn stored_bytes(dir: &Path) -> u64 {
    let mut n = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else if xattr::get(e.path(), "user.ntfs_reparse_data")
                .unwrap()
                .is_none()
            {
                n += m.len();
            }
        }
    }
    n
}

/// Copies the folder `from` onto the mounted NTFS volume `to`, as the tests' fixture does.
fn copy_onto(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir(&dst).unwrap();
            copy_onto(&src, &dst);
        } else if let Some(buf) = xattr::get(&src, "user.ntfs_reparse_data").unwrap() {
            let f = std::fs::File::create(&dst).unwrap();
            f.set_len(e.metadata().unwrap().len()).unwrap();
            drop(f);
            xattr::set(&dst, "system.ntfs_reparse_data", &buf).unwrap();
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

fn mounted(mnt: &Path) -> bool {
    let m = mnt.to_string_lossy().into_owned();
    std::fs::read_to_string("/proc/mounts")
        .is_ok_and(|s| s.lines().any(|l| l.split(' ').nth(1) == Some(m.as_str())))
}

/// A raw NTFS volume image of the folder `from`, at `img`.
fn make_image(from: &Path, img: &Path, mnt: &Path) {
    let size = (stored_bytes(from) * 3 / 2 + (256 << 20)).next_multiple_of(1 << 20);
    run(Command::new("truncate").arg(format!("-s{size}")).arg(img));
    run(Command::new("mkntfs").args(["-F", "-Q", "-q"]).arg(img));
    std::fs::create_dir_all(mnt).unwrap();
    let mut child = Command::new("ntfs-3g")
        .args(["-o", "no_detach"])
        .arg(img)
        .arg(mnt)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !mounted(mnt) {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "ntfs-3g did not mount"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    copy_onto(from, mnt);
    run(Command::new("umount").arg(mnt));
    assert!(child.wait().unwrap().success());
}

fn tools_missing() -> Option<String> {
    let have = |t: &str| {
        ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
            .iter()
            .any(|d| Path::new(d).join(t).exists())
    };
    let missing: Vec<&str> = ["mkntfs", "ntfs-3g", "qemu-img"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "missing {missing:?} (apt-get install ntfs-3g qemu-utils)"
        ));
    }
    (!Path::new("/dev/fuse").exists()).then(|| "no /dev/fuse".to_owned())
}

/// A tmpfs folder when it takes user extended attributes, else the temporary folder.
fn output_base() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if let Ok(d) = tempfile::tempdir_in(shm) {
        let probe = d.path().join("p");
        if std::fs::write(&probe, b"").is_ok() && xattr::set(&probe, "user.p", b"1").is_ok() {
            return shm.to_owned();
        }
    }
    std::env::temp_dir()
}

/// Where a restore reads from.
#[derive(Clone, Copy)]
enum Input<'a> {
    Folder(&'a Path),
    Image(&'a Path),
}

/// One verified restore into a fresh folder under `out_base`: (logical bytes, wall time). The
/// source is opened inside the timing (an image's headers and `$UpCase` are part of the cost).
fn restore_once(from: Input<'_>, out_base: &Path) -> (u64, Duration) {
    let out = tempfile::tempdir_in(out_base).unwrap();
    let dest = HostVolume::new(out.path()).unwrap();
    let t0 = Instant::now();
    let source: Box<dyn Source> = match from {
        Input::Folder(p) => Box::new(platform::HostSource::new(p).unwrap()),
        Input::Image(p) => Box::new(disk_image::open_source(p, None).unwrap()),
    };
    let store = SourceStore::new(&*source);
    let r = restore_tree(&*source, &store, &dest, &TreeOptions::default()).unwrap();
    let wall = t0.elapsed();
    assert_eq!(r.count(EntryStatus::Failed), 0, "{:?}", r.entries.first());
    let logical = r.bytes(EntryStatus::Restored) + r.bytes(EntryStatus::Copied);
    drop(dest);
    drop(out);
    (logical, wall)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[cfg(not(unix))]
fn main() {}

#[cfg(unix)]
fn main() {
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"image_restore".contains(&a))
    {
        return;
    }
    if let Some(why) = tools_missing() {
        eprintln!("image_restore: skipped: {why}");
        return;
    }
    let total = (env_f64("REHYDRATE_BENCH_GIB", 0.5) * f64::from(1u32 << 30)) as u64;
    let rounds = env_f64("REHYDRATE_BENCH_ROUNDS", 3.0) as usize;
    let base = tempfile::Builder::new()
        .prefix("rehydrate-image-bench-")
        .tempdir()
        .unwrap();
    let folder = base.path().join("folder");
    let raw = base.path().join("volume.img");
    let vhdx = base.path().join("volume.vhdx");
    let t = Instant::now();
    std::fs::create_dir(&folder).unwrap();
    make_folder(&folder, total);
    make_image(&folder, &raw, &base.path().join("mnt"));
    run(Command::new("qemu-img")
        .args([
            "convert",
            "-f",
            "raw",
            "-O",
            "vhdx",
            "-o",
            "subformat=dynamic",
        ])
        .arg(&raw)
        .arg(&vhdx));
    eprintln!(
        "made the folder, the raw image and the VHDX in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let out_base = output_base();
    let sources = [
        ("host folder", Input::Folder(&folder)),
        ("raw image", Input::Image(&raw)),
        ("VHDX dynamic", Input::Image(&vhdx)),
    ];
    // Warm the page cache of all three once, untimed.
    for (_, from) in sources {
        restore_once(from, &out_base);
    }
    let mut rates = vec![Vec::new(); sources.len()];
    let mut logical = 0;
    for _ in 0..rounds {
        for (i, (_, from)) in sources.iter().enumerate() {
            let (bytes, wall) = restore_once(*from, &out_base);
            rates[i].push(bytes as f64 / wall.as_secs_f64() / 1e9);
            logical = bytes;
        }
    }
    println!(
        "restore_tree of {:.3} GB logical into {} ({rounds} interleaved rounds, medians):",
        logical as f64 / 1e9,
        out_base.display()
    );
    let med: Vec<f64> = rates.into_iter().map(median).collect();
    for ((name, _), g) in sources.iter().zip(&med) {
        println!(
            "  {name:<14} {g:.3} GB/s  ({:.2} x the host folder)",
            g / med[0]
        );
    }

    let mut c = Criterion::default().configure_from_args().sample_size(10);
    let mut group = c.benchmark_group("restore_from");
    group.throughput(Throughput::Bytes(logical));
    for (name, from) in sources {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| restore_once(from, &out_base).1)
                    .sum::<Duration>()
            });
        });
    }
    group.finish();
    c.final_summary();
}
