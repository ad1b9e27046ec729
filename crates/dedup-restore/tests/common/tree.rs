//! Out-of-place restore fixtures: a `sim optimize`-style volume folder, reading a restored
//! file back, and a restore of a folder into a destination.

use std::path::Path;

use dedup_reparse::LayoutVersion;
use dedup_restore::{SourceStore, TreeOptions, TreeReport, restore_tree};
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
