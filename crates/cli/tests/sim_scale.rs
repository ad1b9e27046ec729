//! `rehydrate sim optimize` at scale (issue 14 item 5): the simulator keeps file contents on
//! the host and the optimizer streams, so its peak memory does not grow with the input. Two
//! inputs, each optimized by the command while its peak RSS (`VmHWM`) is sampled, then
//! restored by `rehydrate restore` and compared with the input:
//!
//! * one big file, mostly zeros (made with `set_len`, so it takes no disk) with seeded regions
//!   of random and text data among them. 1 GiB by default, to keep the debug test run short;
//!   `REHYDRATE_SIM_BIG_BYTES=4294967296` runs the 4 GiB case (the figure is given in
//!   the issue note);
//! * 20,000 files of 32–64 KiB (about 940 MB) in 40 folders.
//!
//! Before this, a 4 GiB file of three quarters zeros peaked at 9.8 GB and 973 MB in 20,000
//! files at 1.16 GB; the bound asserted is the 1 GiB.
#![cfg(unix)]

mod common;

use std::os::unix::fs::FileExt;
use std::path::Path;

use common::*;

/// The bound on `sim optimize`'s peak RSS.
const LIMIT_KIB: u64 = 1 << 20;

/// A temporary folder that takes user extended attributes (tmpfs when it can), or `None`
/// (after saying so) when it does not; under CI that is a failure.
fn tempdir_with_xattrs() -> Option<tempfile::TempDir> {
    let dir = fast_tempdir();
    let probe = dir.path().join("probe");
    std::fs::write(&probe, b"").unwrap();
    if let Err(e) = xattr::set(&probe, "user.rehydrate.probe", b"1") {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} does not support user extended attributes ({e}); under CI this is a failure",
            dir.path().display()
        );
        eprintln!(
            "skipped: {} does not support user extended attributes ({e})",
            dir.path().display()
        );
        return None;
    }
    std::fs::remove_file(&probe).unwrap();
    Some(dir)
}

/// Runs `sim optimize --input input --out out`, asserts success and the memory bound, and
/// returns the peak RSS in KiB.
fn optimize_measured(what: &str, input: &Path, out: &Path) -> u64 {
    let (o, peak_kib) = run_measuring_peak_rss(&[
        "sim",
        "optimize",
        "--input",
        s(input),
        "--out",
        s(out),
        "--json",
    ]);
    assert!(
        o.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let j = json(&o);
    eprintln!(
        "{what}: sim optimize peak RSS {peak_kib} KiB; {} files, {} bytes, {} optimized",
        j["files"], j["source_bytes"], j["files_optimized"]
    );
    assert!(
        peak_kib < LIMIT_KIB,
        "{what}: sim optimize peak RSS {peak_kib} KiB (limit {LIMIT_KIB} KiB)"
    );
    // The backing folder went with the simulated volume.
    let parent = out.parent().unwrap();
    let left: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".winsim-contents-") || n.contains("rehydrate-partial"))
        .collect();
    assert!(left.is_empty(), "{what}: left behind {left:?}");
    peak_kib
}

fn restore(what: &str, src: &Path, to: &Path) {
    let o = rehydrate(&["restore", "--source", s(src), "--to", s(to), "--json"]);
    assert!(
        o.status.success(),
        "{what}: restore: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn big_file_size() -> u64 {
    std::env::var("REHYDRATE_SIM_BIG_BYTES")
        .ok()
        .map_or(1 << 30, |v| {
            v.parse().expect("REHYDRATE_SIM_BIG_BYTES is a byte count")
        })
}

/// `(offset, bytes)` of the seeded regions of a big file of `size` bytes: 16 regions of 1 MiB
/// spread over it, alternately random and text, the first one across the optimizer's 8 MiB
/// read-window mark.
fn big_file_regions(size: u64) -> Vec<(u64, Vec<u8>)> {
    let mut rng = Rng(0x5ca1e);
    let step = size / 16;
    (0..16u64)
        .map(|i| {
            let at = if i == 0 {
                (8 << 20) - 4321
            } else {
                i * step + 12_345
            };
            let data = if i % 2 == 0 {
                rng.bytes(1 << 20)
            } else {
                rng.text(1 << 20)
            };
            (at, data)
        })
        .collect()
}

#[test]
fn a_big_mostly_zero_file_is_optimized_in_bounded_memory_and_restores() {
    let Some(tmp) = tempdir_with_xattrs() else {
        return;
    };
    let size = big_file_size();
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let path = input.join("disk.img");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(size).unwrap();
    let regions = big_file_regions(size);
    for (at, data) in &regions {
        f.write_all_at(data, *at).unwrap();
    }
    drop(f);
    let out = tmp.path().join("out");
    optimize_measured(&format!("a {size}-byte file"), &input, &out);

    let restored = tmp.path().join("restored");
    restore("big file", &out, &restored);
    let back = std::fs::File::open(restored.join("disk.img")).unwrap();
    assert_eq!(back.metadata().unwrap().len(), size);
    let orig = std::fs::File::open(&path).unwrap();
    // Every seeded region with 64 KiB of zeros either side, and 64 seeded places elsewhere.
    let mut rng = Rng(0x00c0_ffee);
    let mut places: Vec<(u64, usize)> = regions
        .iter()
        .map(|(at, d)| (at - (64 << 10), d.len() + (128 << 10)))
        .collect();
    places.extend((0..64).map(|_| (rng.next() % (size - (64 << 10)), 64 << 10)));
    places.push((size - 4096, 4096));
    for (at, len) in places {
        let (mut a, mut b) = (vec![0u8; len], vec![1u8; len]);
        orig.read_exact_at(&mut a, at).unwrap();
        back.read_exact_at(&mut b, at).unwrap();
        assert!(a == b, "restored bytes at {at:#x}+{len:#x} differ");
    }
}

/// Relative path and seeded contents of file `i` of the many-files folder: 40 folders, 32–64
/// KiB each, mostly text, every fifth file random, every 50th a copy of an earlier file.
fn many_file(i: usize) -> (String, Vec<u8>) {
    let mut rng = Rng(0x4d41_4e59 ^ (i as u64).wrapping_mul(0x9E37_79B9));
    let source = if i % 50 == 49 { i - 25 } else { i };
    if source != i {
        let (_, data) = many_file(source);
        return (format!("d{:02}/f{i:05}.dat", i % 40), data);
    }
    let len = (32 << 10) + (rng.next() % (32 << 10)) as usize;
    let data = if i.is_multiple_of(5) {
        rng.bytes(len)
    } else {
        rng.text(len)
    };
    (format!("d{:02}/f{i:05}.dat", i % 40), data)
}

#[test]
fn twenty_thousand_files_are_optimized_in_bounded_memory_and_restore() {
    const FILES: usize = 20_000;
    let Some(tmp) = tempdir_with_xattrs() else {
        return;
    };
    let input = tmp.path().join("in");
    for d in 0..40 {
        std::fs::create_dir_all(input.join(format!("d{d:02}"))).unwrap();
    }
    for i in 0..FILES {
        let (rel, data) = many_file(i);
        std::fs::write(input.join(rel), data).unwrap();
    }
    let out = tmp.path().join("out");
    optimize_measured("20,000 files", &input, &out);

    let restored = tmp.path().join("restored");
    restore("20,000 files", &out, &restored);
    // Every 97th file, and the last, compared whole.
    for i in (0..FILES).step_by(97).chain([FILES - 1]) {
        let (rel, data) = many_file(i);
        let got = std::fs::read(restored.join(&rel)).unwrap();
        assert!(got == data, "{rel} differs after the restore");
    }
    assert_eq!(
        std::fs::read_dir(restored.join("d07")).unwrap().count(),
        FILES / 40
    );
}
