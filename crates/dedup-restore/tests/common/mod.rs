//! Shared fixtures for the dedup-restore integration tests: seeded volumes optimized by the
//! simulator, the backup store taken from them, and checks of the volume after a restore.

#![allow(dead_code, unreachable_pub)]

pub mod tree;

use std::collections::{BTreeMap, BTreeSet};

use dedup_reparse::{DedupReparse, LayoutVersion};
use dedup_restore::{
    DEDUP_RECONSTRUCT_UNOPTIMIZED, MemoryStore, RestoreOptions, RestoreReport, StoreCall,
    restore_files,
};
use dedup_store::{Container, RecordType};
use platform::{Volume, WinPath, attr};
use test_support::SplitMix64;
use winsim::SimVolume;
use winsim::dedup::{OptimizeOptions, OptimizeReport, StoreLocation, optimize_files};

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
    /// What each file (same order as `originals`) uses of the store.
    pub uses: Vec<Uses>,
}

/// The store objects one file depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uses {
    /// Stream containers (ids) holding its stream maps.
    pub stream: BTreeSet<u32>,
    /// Data chunks as (container id, local id).
    pub chunks: BTreeSet<(u32, u32)>,
}

impl Uses {
    /// Data container ids.
    pub fn data_containers(&self) -> BTreeSet<u32> {
        self.chunks.iter().map(|c| c.0).collect()
    }
}

/// What `path` (a stub on `vol`, whose chunk store is still on `vol`) uses of the store.
pub fn uses_of(vol: &SimVolume, path: &WinPath) -> Uses {
    let loc = StoreLocation::find(vol).expect("store").expect("a store");
    let point = DedupReparse::parse(&vol.reparse_point(path).expect("stub")).expect("parse");
    let mut u = Uses::default();
    for e in point.entries() {
        u.stream.insert(e.container_id);
        let (map, _) = loc.read_stream_map(vol, e).expect("stream map");
        for s in &map.entries {
            u.chunks.insert((s.container_id, s.local_id));
        }
    }
    u
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
    let opts = OptimizeOptions {
        reparse_version: version,
        ..OptimizeOptions::default()
    };
    optimized_volume_with(seed, files, &opts).0
}

/// Writes `files` onto a new volume and optimizes them with `opts`.
pub fn optimized_volume_with(
    seed: u64,
    files: &[(WinPath, Vec<u8>)],
    opts: &OptimizeOptions,
) -> (SimVolume, OptimizeReport) {
    let vol = SimVolume::new(seed);
    for (p, d) in files {
        vol.write_file(p, d).expect("write original");
    }
    let paths: Vec<WinPath> = files.iter().map(|(p, _)| p.clone()).collect();
    let report = optimize_files(&vol, seed, &paths, opts).expect("optimize");
    assert_eq!(report.files_optimized, files.len(), "every file optimized");
    (vol, report)
}

/// A fixture of `originals` optimized with `opts`, and the optimizer's report.
pub fn fixture_of(
    seed: u64,
    originals: Vec<(WinPath, Vec<u8>)>,
    opts: &OptimizeOptions,
) -> (Fixture, OptimizeReport) {
    let (vol, report) = optimized_volume_with(seed, &originals, opts);
    (finish_fixture(vol, originals), report)
}

/// Options that spread a small data set over many containers (at most `records` records
/// each), so plans and ordering can be observed.
pub fn many_containers(records: u32) -> OptimizeOptions {
    OptimizeOptions {
        max_records: records,
        ..OptimizeOptions::default()
    }
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
    finish_fixture(vol, originals)
}

/// Takes the store off an optimized volume into a memory store, noting what each file uses.
pub fn finish_fixture(vol: SimVolume, originals: Vec<(WinPath, Vec<u8>)>) -> Fixture {
    let uses = originals.iter().map(|(p, _)| uses_of(&vol, p)).collect();
    let store = store_of(&vol);
    remove_store(&vol);
    Fixture {
        vol,
        originals,
        store,
        uses,
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
                && is_container(p)
        })
        .cloned()
        .collect();
    v.sort_by_key(WinPath::folded);
    v
}

/// One `preview_container_read` and the reads that followed it.
#[derive(Debug, Clone)]
pub struct ReadGroup {
    /// The container.
    pub path: WinPath,
    /// What the preview announced, as `(offset, length)`.
    pub announced: Vec<(u64, u64)>,
    /// The reads made, as `(offset, length)`.
    pub reads: Vec<(u64, u64)>,
}

/// One of the two phases: the containers of its order call and its read groups.
#[derive(Debug, Clone)]
pub struct Phase {
    /// Containers passed to `order_containers_restore`.
    pub order: Vec<WinPath>,
    /// Previews and their reads, in call order.
    pub groups: Vec<ReadGroup>,
}

impl Phase {
    /// Every read as `(container index in the order call, offset, length)`, in call order.
    pub fn reads(&self) -> Vec<(usize, u64, u64)> {
        self.groups
            .iter()
            .flat_map(|g| {
                let ci = self.index_of(&g.path);
                g.reads.iter().map(move |&(o, l)| (ci, o, l))
            })
            .collect()
    }

    /// Reads of chunk records (past the fixed area at 0..0x5000).
    pub fn record_reads(&self) -> Vec<(usize, u64, u64)> {
        self.reads()
            .into_iter()
            .filter(|&(_, o, _)| o >= 0x5000)
            .collect()
    }

    /// Index of `path` in the order call.
    pub fn index_of(&self, path: &WinPath) -> usize {
        self.order
            .iter()
            .position(|p| p == path)
            .unwrap_or_else(|| panic!("{path} was read but not in the order call"))
    }
}

/// Checks the call protocol of a restore and splits it into its two phases:
/// exactly two `order_containers_restore` calls (stream containers, then data containers),
/// no read before the first, every read preceded by a preview of the same container that
/// announced exactly the reads that follow it (same offsets and lengths, same order).
pub fn check_protocol(calls: &[StoreCall]) -> [Phase; 2] {
    let calls: Vec<&StoreCall> = calls
        .iter()
        .filter(|c| !matches!(c, StoreCall::List(_)))
        .collect();
    let orders: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c, StoreCall::Order(_)))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        orders.len(),
        2,
        "order_containers_restore calls: {calls:#?}"
    );
    assert_eq!(orders[0], 0, "calls before the first order call");
    let mut phases = Vec::new();
    for (k, &start) in orders.iter().enumerate() {
        let end = orders.get(k + 1).copied().unwrap_or(calls.len());
        let StoreCall::Order(order) = calls[start] else {
            unreachable!()
        };
        let kind = if k == 0 { "Stream" } else { "Data" };
        for p in order {
            assert_eq!(
                p.parent().and_then(|d| d.file_name().map(str::to_owned)),
                Some(kind.to_owned()),
                "order call {k} names {p}"
            );
        }
        let mut groups: Vec<ReadGroup> = Vec::new();
        for c in &calls[start + 1..end] {
            match c {
                StoreCall::Preview(path, ext) => groups.push(ReadGroup {
                    path: path.clone(),
                    announced: ext.iter().map(|e| (e.offset, e.length)).collect(),
                    reads: Vec::new(),
                }),
                StoreCall::Read(path, off, len) => {
                    let g = groups
                        .last_mut()
                        .unwrap_or_else(|| panic!("read of {path} at {off:#x} before any preview"));
                    assert_eq!(
                        &g.path, path,
                        "read of {path} after a preview of {}",
                        g.path
                    );
                    g.reads.push((*off, *len));
                }
                StoreCall::Order(_) | StoreCall::List(_) => unreachable!(),
            }
        }
        for g in &groups {
            assert_eq!(
                g.reads, g.announced,
                "{}: reads differ from what the preview announced",
                g.path
            );
            assert!(order.contains(&g.path), "{} read but not ordered", g.path);
        }
        phases.push(Phase {
            order: order.clone(),
            groups,
        });
    }
    let [a, b]: [Phase; 2] = phases.try_into().expect("two phases");
    [a, b]
}

/// Asserts no byte of any container was read twice.
pub fn assert_read_once(phase: &Phase) {
    let mut by: BTreeMap<usize, Vec<(u64, u64)>> = BTreeMap::new();
    for (ci, o, l) in phase.reads() {
        by.entry(ci).or_default().push((o, o + l));
    }
    for (ci, mut v) in by {
        v.sort_unstable();
        for w in v.windows(2) {
            assert!(
                w[0].1 <= w[1].0,
                "{}: ranges {:x?} and {:x?} overlap",
                phase.order[ci],
                w[0],
                w[1]
            );
        }
    }
}

/// The path in `store` of the newest generation of container `id` of `kind`.
pub fn container_path(store: &MemoryStore, kind: &str, id: u32) -> WinPath {
    let prefix = format!("{id:08x}.");
    containers(store, kind)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_ascii_lowercase().starts_with(&prefix))
        })
        .max_by_key(WinPath::folded)
        .unwrap_or_else(|| panic!("no {kind} container {id:#x}"))
}

/// The record of `local_id` in the store's container at `path` (offset, header).
pub fn record_of(store: &MemoryStore, path: &WinPath, local_id: u32) -> dedup_store::RecordHeader {
    let c = Container::open(
        path.to_string(),
        store.get(path).expect("container").to_vec(),
    )
    .expect("valid container");
    c.records()
        .map(|r| r.expect("record"))
        .find(|r| r.local_id == local_id && r.record_type != RecordType::Padding)
        .unwrap_or_else(|| panic!("{path}: no local id {local_id}"))
}

/// A chunk (container id, local id) used by exactly the files `pred` picks among the chunks of
/// the fixture, with the given compression state, if there is one.
pub fn chunk_used_by(
    fx: &Fixture,
    want_users: impl Fn(&[usize]) -> bool,
    compressed: Option<bool>,
) -> Option<(u32, u32)> {
    let all: BTreeSet<(u32, u32)> = fx
        .uses
        .iter()
        .flat_map(|u| u.chunks.iter().copied())
        .collect();
    all.into_iter().find(|c| {
        let users: Vec<usize> = (0..fx.uses.len())
            .filter(|&i| fx.uses[i].chunks.contains(c))
            .collect();
        if !want_users(&users) {
            return false;
        }
        match compressed {
            None => true,
            Some(z) => {
                let path = container_path(&fx.store, "Data", c.0);
                let rec = record_of(&fx.store, &path, c.1);
                (rec.compression != dedup_store::Compression::Stored) == z
            }
        }
    })
}

/// Indices of the files that use chunk `c`.
pub fn users_of_chunk(fx: &Fixture, c: (u32, u32)) -> Vec<usize> {
    (0..fx.uses.len())
        .filter(|&i| fx.uses[i].chunks.contains(&c))
        .collect()
}

/// Optimizes with churn (edited copies deleted, then GC), so containers move to generation 2
/// with `Rrtl` entries and the originals' hints go stale.
pub fn churned_fixture(
    seed: u64,
    version: LayoutVersion,
) -> (Fixture, winsim::dedup::churn::ChurnReport) {
    let originals = seeded_files(seed, 4, 400 * 1024);
    let vol = winsim::SimVolume::new(seed);
    for (p, d) in &originals {
        vol.write_file(p, d).expect("write");
    }
    let opts = winsim::dedup::OptimizeOptions {
        reparse_version: version,
        ..winsim::dedup::OptimizeOptions::default()
    };
    let churn =
        winsim::dedup::churn::optimize_with_churn(&vol, seed, &opts, 133_500_000_000_000_000)
            .expect("churn");
    (finish_fixture(vol, originals), churn)
}

/// True for a `.ccc` container file.
pub fn is_container(p: &WinPath) -> bool {
    p.file_name()
        .and_then(|n| n.rsplit_once('.'))
        .is_some_and(|(_, ext)| ext.eq_ignore_ascii_case("ccc"))
}
