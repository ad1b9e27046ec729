//! Shared fixtures for the dedup-restore integration tests: seeded volumes optimized by the
//! simulator, the backup store taken from them, and checks of the volume after a restore.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;

use dedup_reparse::LayoutVersion;
use dedup_restore::{
    DEDUP_RECONSTRUCT_UNOPTIMIZED, MemoryStore, RestoreOptions, RestoreReport, restore_files,
};
use platform::{Volume, WinPath, attr};
use test_support::SplitMix64;
use winsim::SimVolume;
use winsim::dedup::{OptimizeOptions, optimize_files};

/// `\System Volume Information`.
pub const SVI: &str = "\\System Volume Information";

/// A path from a string.
pub fn wp(s: &str) -> WinPath {
    WinPath::new(s).expect("valid test path")
}

/// A volume with optimized files, their original contents, and a backup store copied from
/// the volume's chunk store (which is then deleted from the volume, so the engine can only
/// read the store through the callback).
pub struct Fixture {
    /// The volume (stubs after optimization).
    pub vol: SimVolume,
    /// Original contents, by path, in creation order.
    pub originals: Vec<(WinPath, Vec<u8>)>,
    /// The backup store.
    pub store: MemoryStore,
}

impl Fixture {
    /// The paths of the original files.
    pub fn paths(&self) -> Vec<WinPath> {
        self.originals.iter().map(|(p, _)| p.clone()).collect()
    }

    /// The original content of `path`.
    pub fn original(&self, path: &WinPath) -> &[u8] {
        &self
            .originals
            .iter()
            .find(|(p, _)| p == path)
            .expect("known file")
            .1
    }
}

/// Seeded file contents: a mix of compressible text, random bytes, a zero run and a block
/// shared by every file (so chunks dedup across files).
pub fn seeded_files(seed: u64, count: usize, size: usize) -> Vec<(WinPath, Vec<u8>)> {
    let mut rng = SplitMix64(seed);
    let mut shared = vec![0u8; 200 * 1024];
    rng.fill(&mut shared);
    (0..count)
        .map(|i| {
            let mut data = Vec::with_capacity(size + shared.len());
            let part = size / 3;
            data.extend_from_slice(&rng.text(part));
            data.extend_from_slice(&shared);
            let mut random = vec![0u8; part];
            rng.fill(&mut random);
            data.extend_from_slice(&random);
            if i % 2 == 0 {
                data.extend(std::iter::repeat_n(0u8, 300 * 1024));
            }
            data.extend_from_slice(&rng.text(size - 2 * part + i * 977));
            let dir = if i % 3 == 0 { "\\docs" } else { "\\data\\sub" };
            (wp(&format!("{dir}\\file{i:02}.bin")), data)
        })
        .collect()
}

/// Writes `files` onto a new volume and optimizes them with `version`.
pub fn optimized_volume(
    seed: u64,
    files: &[(WinPath, Vec<u8>)],
    version: LayoutVersion,
) -> SimVolume {
    let vol = SimVolume::new(seed);
    for (p, d) in files {
        vol.write_file(p, d).expect("write original");
    }
    let opts = OptimizeOptions {
        reparse_version: version,
        ..OptimizeOptions::default()
    };
    let paths: Vec<WinPath> = files.iter().map(|(p, _)| p.clone()).collect();
    let report = optimize_files(&vol, seed, &paths, &opts).expect("optimize");
    assert_eq!(report.files_optimized, files.len(), "every file optimized");
    vol
}

/// Every file under `\System Volume Information` of `vol`, copied into a memory store.
pub fn store_of(vol: &SimVolume) -> MemoryStore {
    let svi = wp(SVI);
    let mut store = MemoryStore::new();
    for p in vol.all_files() {
        if p.starts_with(&svi) {
            store.insert(p.clone(), vol.read_file(&p).expect("read store file"));
        }
    }
    store
}

/// Deletes the chunk store from the volume (the backup holds it; the target volume does not).
pub fn remove_store(vol: &SimVolume) {
    let svi = wp(SVI);
    for p in vol.all_files() {
        if p.starts_with(&svi) {
            vol.delete_file(&p).expect("delete store file");
        }
    }
}

/// The standard fixture: `count` files of about `size` bytes, optimized with `version`.
pub fn fixture(seed: u64, count: usize, size: usize, version: LayoutVersion) -> Fixture {
    let originals = seeded_files(seed, count, size);
    let vol = optimized_volume(seed, &originals, version);
    let store = store_of(&vol);
    remove_store(&vol);
    Fixture {
        vol,
        originals,
        store,
    }
}

/// Restores with the default options and flags.
pub fn restore(
    vol: &SimVolume,
    paths: &[WinPath],
    store: &dyn dedup_restore::BackupStore,
) -> RestoreReport {
    restore_with(vol, paths, store, &RestoreOptions::default())
}

/// Restores with `opts`.
pub fn restore_with(
    vol: &SimVolume,
    paths: &[WinPath],
    store: &dyn dedup_restore::BackupStore,
    opts: &RestoreOptions,
) -> RestoreReport {
    restore_files(vol, paths, store, DEDUP_RECONSTRUCT_UNOPTIMIZED, opts).expect("valid call")
}

/// What a file looks like on the volume, for before/after comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    /// Attributes.
    pub attributes: u32,
    /// Logical length.
    pub len: u64,
    /// The reparse buffer, if any.
    pub reparse: Option<Vec<u8>>,
    /// Allocated ranges.
    pub allocated: Vec<std::ops::Range<u64>>,
    /// Contents (holes as zeros).
    pub data: Vec<u8>,
}

/// The state of `path`.
pub fn state(vol: &SimVolume, path: &WinPath) -> FileState {
    let md = vol.metadata(path).expect("metadata");
    FileState {
        attributes: md.attributes,
        len: md.len,
        reparse: vol.reparse_point(path).ok(),
        allocated: vol.allocated_ranges(path).expect("allocated ranges"),
        data: vol.read_file(path).expect("read"),
    }
}

/// The state of every file of the volume outside `\System Volume Information`.
pub fn volume_state(vol: &SimVolume) -> BTreeMap<String, FileState> {
    let svi = wp(SVI);
    vol.all_files()
        .into_iter()
        .filter(|p| !p.starts_with(&svi))
        .map(|p| (p.to_string(), state(vol, &p)))
        .collect()
}

/// Asserts `path` is a normal file again holding exactly `original`.
pub fn assert_restored(vol: &SimVolume, path: &WinPath, original: &[u8]) {
    let st = state(vol, path);
    assert!(st.reparse.is_none(), "{path}: reparse point still present");
    assert_eq!(
        st.attributes & attr::REPARSE_POINT,
        0,
        "{path}: REPARSE_POINT attribute still set"
    );
    assert_eq!(st.len, original.len() as u64, "{path}: size");
    assert!(
        st.data == original,
        "{path}: contents differ from the original"
    );
}

/// Asserts `path` is still an untouched dedup stub (reparse point, size, attributes, no
/// allocated data) as captured in `before`.
pub fn assert_untouched(vol: &SimVolume, path: &WinPath, before: &FileState) {
    let now = state(vol, path);
    assert!(
        now.reparse.is_some(),
        "{path}: the reparse point was removed"
    );
    assert_eq!(&now, before, "{path}: the stub changed");
}

/// Asserts the volume holds no file but `expected` (no stray temporary files).
pub fn assert_no_stray_files(vol: &SimVolume, expected: &[WinPath]) {
    let svi = wp(SVI);
    let mut have: Vec<String> = vol
        .all_files()
        .into_iter()
        .filter(|p| !p.starts_with(&svi))
        .map(|p| p.folded())
        .collect();
    let mut want: Vec<String> = expected.iter().map(WinPath::folded).collect();
    have.sort();
    want.sort();
    assert_eq!(have, want, "files on the volume");
    assert_eq!(vol.open_handle_count(), 0, "handles left open");
}

/// The container paths of `kind` ("Data" or "Stream") in a store.
pub fn containers(store: &MemoryStore, kind: &str) -> Vec<WinPath> {
    let mut v: Vec<WinPath> = store
        .paths()
        .filter(|p| {
            p.parent()
                .and_then(|d| d.file_name().map(|n| n.eq_ignore_ascii_case(kind)))
                .unwrap_or(false)
                && p.file_name().is_some_and(|n| n.ends_with(".ccc"))
        })
        .cloned()
        .collect();
    v.sort_by_key(WinPath::folded);
    v
}
