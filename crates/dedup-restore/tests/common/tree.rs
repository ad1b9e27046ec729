//! Out-of-place restore fixtures: a `sim optimize`-style volume folder, reading a restored
//! file back, and a restore of a folder into a destination.

use std::path::Path;

use dedup_reparse::LayoutVersion;
use dedup_restore::{EntryStatus, Overwrite, SourceStore, TreeOptions, TreeReport, restore_tree};
use platform::{HostSource, Volume, WinPath};

use super::{optimized_volume, seeded_files, wp};

/// A volume folder: dedup files (from `seeded_files`, optimized), small plain files and a
/// nested folder; returns the originals by path.
pub fn volume_folder(dir: &Path, seed: u64) -> Vec<(WinPath, Vec<u8>)> {
    let mut originals = seeded_files(seed, 4, 300 * 1024);
    let vol = optimized_volume(seed, &originals, LayoutVersion::V3);
    for (p, bytes) in [
        (
            "\\plain\\small.txt",
            b"a small file, left alone by the optimizer".to_vec(),
        ),
        ("\\plain\\deep\\er\\empty.dat", Vec::new()),
    ] {
        let p = wp(p);
        vol.write_file(&p, &bytes).unwrap();
        originals.push((p, bytes));
    }
    winsim::host::export_volume(&vol, dir).unwrap();
    originals
}

/// Copies file `from` of host folder `root` to `to` (paths relative to `root`) with its
/// extended attributes: a dedup stub's copy is a second stub of the same file.
pub fn copy_with_xattrs(root: &Path, from: &str, to: &str) {
    let (from, to) = (root.join(from), root.join(to));
    std::fs::copy(&from, &to).unwrap();
    for name in xattr::list(&from).unwrap() {
        xattr::set(&to, &name, &xattr::get(&from, &name).unwrap().unwrap()).unwrap();
    }
}

pub fn read_host(root: &Path, p: &WinPath) -> Vec<u8> {
    let mut h = root.to_owned();
    h.extend(p.components());
    std::fs::read(&h).unwrap_or_else(|e| panic!("{}: {e}", h.display()))
}

/// `report` restored `restored` dedup files, and every original is back under `out` byte for
/// byte.
pub fn assert_all_back(
    report: &TreeReport,
    restored: usize,
    out: &Path,
    originals: &[(WinPath, Vec<u8>)],
) {
    assert_eq!(
        report.count(dedup_restore::EntryStatus::Restored),
        restored,
        "{:#?}",
        report.entries
    );
    for (p, bytes) in originals {
        assert_eq!(&read_host(out, p), bytes, "{p}");
    }
}

pub fn restore_into(src: &Path, dest: &dyn Volume, opts: &TreeOptions) -> TreeReport {
    let source = HostSource::new(src).unwrap();
    let store = SourceStore::new(&source);
    restore_tree(&source, &store, dest, opts).unwrap()
}

/// Every file below `root`, relative, sorted.
pub fn files_below(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// Each entry's path, status, whether it replaced a file and its bytes, by path: what a dry
/// run must say as the real run does.
pub fn outcomes(r: &TreeReport) -> Vec<(String, EntryStatus, bool, u64)> {
    let mut v: Vec<_> = r
        .entries
        .iter()
        .map(|e| (e.path.clone(), e.status, e.replaced, e.bytes))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The options of a run under `overwrite`, and of its dry run.
pub fn run_and_dry_run(overwrite: Overwrite) -> (TreeOptions, TreeOptions) {
    let opts = TreeOptions {
        overwrite,
        ..TreeOptions::default()
    };
    let dry = TreeOptions {
        dry_run: true,
        ..opts.clone()
    };
    (opts, dry)
}
