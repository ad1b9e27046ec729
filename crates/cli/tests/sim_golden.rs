//! `rehydrate sim optimize` writes the same bytes for the same input, whatever way the
//! simulator stores file contents and however the optimizer reads them (issue 14 item 5): the
//! output folders of a seeded input (the sample set with a 20 MiB file, a 12 MiB file of
//! zeros with seeded regions and 5 MiB of random bytes) are listed (every path, size, SHA-256 of the contents and every
//! extended attribute) and compared with listings made by the whole-file, in-memory optimizer
//! that came before the streaming one (`tests/golden/sim_optimize_*.txt`).
//!
//! `REHYDRATE_BLESS=1 cargo test -p rehydrate-cli --test sim_golden` rewrites the listings from
//! the binary under test; do that only for an intended format change, and say so in the commit.
//! `REHYDRATE_GOLDEN_BIN=/path/to/rehydrate` runs that binary instead (how the listings were
//! made: with the release build of commit e188e6b, before the optimizer streamed).
#![cfg(unix)]

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use winsim::sample::{self, SampleOptions};

/// The seeded input folder.
fn make_input(dir: &Path) {
    let files = sample::sample_files(&SampleOptions {
        seed: 5,
        big_file_size: 20 << 20,
    });
    std::fs::create_dir(dir).unwrap();
    sample::write_to_dir(dir, &files).unwrap();
    // Mostly zeros (all-zero chunks, repeated), with three seeded regions, one across the
    // 8 MiB mark.
    let mut img = vec![0u8; 12 << 20];
    let mut rng = test_support::SplitMix64(0x676f_6c64);
    for at in [100 << 10, (8 << 20) - 150_000, 11 << 20] {
        rng.fill(&mut img[at..at + 300_000]);
    }
    std::fs::write(dir.join("sparse.img"), img).unwrap();
    // Incompressible and unique: several MiB of new records in one file.
    let mut noise = vec![0u8; 5 << 20];
    rng.fill(&mut noise);
    std::fs::write(dir.join("noise.bin"), noise).unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// One line per folder and file under `root`, in path order: `d PATH`, or `f PATH SIZE SHA256`
/// followed by every extended attribute as `NAME=HEX`.
fn listing(root: &Path) -> String {
    let mut paths = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            paths.push(p);
        }
    }
    paths.sort();
    let mut out = String::new();
    for p in paths {
        let rel = p.strip_prefix(root).unwrap().to_str().unwrap();
        if p.is_dir() {
            let _ = writeln!(out, "d {rel}");
            continue;
        }
        let data = std::fs::read(&p).unwrap();
        let _ = write!(
            out,
            "f {rel} {} {}",
            data.len(),
            hex(&Sha256::digest(&data))
        );
        let mut names: Vec<_> = xattr::list(&p).unwrap().collect();
        names.sort();
        for n in names {
            let v = xattr::get(&p, &n).unwrap().unwrap_or_default();
            let _ = write!(out, " {}={}", n.to_string_lossy(), hex(&v));
        }
        out.push('\n');
    }
    out
}

/// A temporary folder (tmpfs when it takes user xattrs), or `None` (after saying so) when its
/// file system has no user extended attributes; under CI that is a failure.
fn tempdir_with_xattrs() -> Option<tempfile::TempDir> {
    let dir = common::fast_tempdir();
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

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("sim_optimize_{name}.txt"))
}

fn check(name: &str, extra: &[&str]) {
    let Some(tmp) = tempdir_with_xattrs() else {
        return;
    };
    let input = tmp.path().join("in");
    let out = tmp.path().join("out");
    make_input(&input);
    let mut args = vec![
        "sim",
        "optimize",
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let bin = std::env::var_os("REHYDRATE_GOLDEN_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_rehydrate").into());
    let o = Command::new(bin).args(&args).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let got = listing(&out);
    let path = golden(name);
    if std::env::var_os("REHYDRATE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &got).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (REHYDRATE_BLESS=1 writes it)", path.display()));
    if got != want {
        let diff: Vec<String> = want
            .lines()
            .zip(got.lines())
            .filter(|(w, g)| w != g)
            .take(5)
            .map(|(w, g)| format!("- {w}\n+ {g}"))
            .collect();
        panic!(
            "{args:?}: the output differs from {} ({} vs {} lines); first differences:\n{}",
            path.display(),
            want.lines().count(),
            got.lines().count(),
            diff.join("\n")
        );
    }
}

#[test]
fn default_options_write_the_golden_bytes() {
    check("default", &[]);
}

#[test]
fn v1_stubs_and_small_containers_write_the_golden_bytes() {
    check(
        "v1_small",
        &["--reparse", "v1", "--container-size", "1M", "--seed", "9"],
    );
}

#[test]
fn gc_with_v2_stubs_writes_the_golden_bytes() {
    check(
        "gc_v2",
        &["--gc", "--reparse", "v2", "--container-size", "2M"],
    );
}
