//! Peak memory of `ls`, `verify`, `inspect store` and `restore --source IMAGE` on NTFS images of
//! 10,000 and 100,000 files (issue 17): the MFT is read a record at a time as the walk reaches
//! it, never held whole, so the peak resident set (`VmHWM` of the child) stays under 256 MiB.
//! The commands that only walk (`ls`, `verify`, `inspect store`) stay flat; `restore` grows by
//! what the library's tree restore keeps per file (its plan and its per-file results, the same
//! from a host folder), under 1 KiB a file, less than one MFT record (1 KiB) each.
//!
//! The images are made by ntfs-3g (see `crates/ntfs-source/tests/common`): the seeded dedup
//! volume plus small plain files in folders of 1,000; the 100,000-file one takes about 10 s to
//! build and 20 s to restore (the whole test about 45 s).
#![cfg(unix)]
#![allow(clippy::cast_precision_loss)] // MiB and KiB-per-file figures

mod common;
#[path = "../../ntfs-source/tests/common/mod.rs"]
mod ntfs;

use std::path::Path;
use std::time::Instant;

use common::{run_measuring_peak_rss, s};

const LIMIT_KIB: u64 = 256 << 10;

/// Peak RSS of each command on one image, in KiB.
#[derive(Debug, Clone, Copy)]
struct Peaks {
    ls: u64,
    verify: u64,
    inspect: u64,
    restore: u64,
}

fn run(what: &str, args: &[&str]) -> u64 {
    let t = Instant::now();
    let (o, peak_kib) = run_measuring_peak_rss(args);
    assert!(
        o.status.success(),
        "{what}: {:?}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    eprintln!(
        "{what}: peak RSS {:.1} MiB in {:.1} s",
        peak_kib as f64 / 1024.0,
        t.elapsed().as_secs_f64()
    );
    assert!(
        peak_kib < LIMIT_KIB,
        "{what}: peak RSS {peak_kib} KiB (limit {LIMIT_KIB} KiB)"
    );
    peak_kib
}

/// A folder to restore into: on tmpfs when it takes user extended attributes (removing
/// 100,000 files from a disk mounted with `discard` takes minutes), else the temporary folder.
fn output_dir() -> tempfile::TempDir {
    if let Ok(d) = tempfile::tempdir_in("/dev/shm") {
        let probe = d.path().join("p");
        if std::fs::write(&probe, b"").is_ok() && xattr::set(&probe, "user.p", b"1").is_ok() {
            return d;
        }
    }
    tempfile::tempdir().unwrap()
}

/// Counts the files under `dir` (no links are followed).
fn count_files(dir: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                n += 1;
            }
        }
    }
    n
}

/// Lists, verifies and restores an image of `bulk` extra files; checks the restore.
fn measure(bulk: usize) -> Option<Peaks> {
    let t = Instant::now();
    let img = ntfs::many_files_image(bulk)?;
    eprintln!(
        "{bulk} files: image built in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let path = s(&img.path);
    let last_dir = format!("bulk\\d{:04}", (bulk - 1) / ntfs::BULK_PER_DIR);
    let ls = run(
        &format!("{bulk} files: ls"),
        &["ls", "--source", path, "--json", &last_dir],
    );
    let verify = run(
        &format!("{bulk} files: verify"),
        &["verify", "--source", path],
    );
    let inspect = run(
        &format!("{bulk} files: inspect store"),
        &["inspect", "store", "--source", path],
    );
    let out = output_dir();
    let to = out.path().join("restored");
    let restore = run(
        &format!("{bulk} files: restore"),
        &["restore", "--quiet", "--source", path, "--to", s(&to)],
    );
    assert_eq!(count_files(&to.join("bulk")), bulk);
    for i in [0, bulk / 2, bulk - 1] {
        let mut h = to.clone();
        h.extend(ntfs::bulk_path(i).components());
        assert_eq!(std::fs::read(&h).unwrap(), ntfs::bulk_data(i), "{i}");
    }
    for p in img
        .files
        .iter()
        .filter(|p| !p.system && p.reparse.is_some())
    {
        let mut h = to.clone();
        h.extend(p.path.components());
        assert!(std::fs::read(&h).unwrap() == p.data, "{}", p.path);
    }
    Some(Peaks {
        ls,
        verify,
        inspect,
        restore,
    })
}

#[test]
fn peak_memory_of_image_commands_does_not_follow_the_file_count() {
    let Some(small) = measure(10_000) else { return };
    let Some(large) = measure(100_000) else {
        return;
    };
    eprintln!("peak RSS KiB, 10,000 files: {small:?}; 100,000 files: {large:?}");
    // Ten times the files: a walk holds one folder's listing at a time.
    for (what, a, b) in [
        ("ls", small.ls, large.ls),
        ("verify", small.verify, large.verify),
        ("inspect store", small.inspect, large.inspect),
    ] {
        assert!(
            b < a + (8 << 10),
            "{what}: {a} KiB for 10,000 files, {b} KiB for 100,000"
        );
    }
    // The restore's own per-file state: bounded per file, and below an MFT record each, so a
    // reader that kept the records it walked would fail here.
    let per_file = large.restore.saturating_sub(small.restore) as f64 / 90_000.0;
    eprintln!("restore: {per_file:.2} KiB more per file");
    assert!(per_file < 1.0, "restore: {per_file:.2} KiB per file");
}
