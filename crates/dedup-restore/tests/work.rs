//! The work the engine does: shared chunks decoded once, zero chunks left as holes, the memory
//! window honoured, fall-backs (scan when hint and `Rrtl` are both wrong, highest generation).

mod common;

use common::*;
use dedup_reparse::LayoutVersion;
use dedup_restore::{Hresult, RecordingStore, RestoreOptions, StoreCall};
use dedup_store::{FIXED_AREA_LEN, FixedArea, RedirectionTable};
use platform::WinPath;
use test_support::SplitMix64;

fn assert_ok(fx: &Fixture, report: &dedup_restore::RestoreReport) {
    for f in &report.files {
        assert_eq!(f.result, Hresult::S_OK, "{}: {:?}", f.path, f.detail());
    }
    assert_eq!(report.result, Hresult::S_OK);
    for (p, d) in &fx.originals {
        assert_restored(&fx.vol, p, d);
    }
    assert_no_stray_files(&fx.vol, &fx.paths());
}

#[test]
fn a_chunk_shared_by_many_files_is_decoded_once() {
    // 12 files that are one 256 KiB block plus a little of their own; the block also
    // appears twice within each file.
    let mut rng = SplitMix64(71);
    let mut block = vec![0u8; 256 * 1024];
    rng.fill(&mut block);
    let originals: Vec<(WinPath, Vec<u8>)> = (0..12)
        .map(|i| {
            let mut d = block.clone();
            d.extend_from_slice(&rng.text(40 * 1024 + i * 100));
            d.extend_from_slice(&block);
            (wp(&format!("\\shared\\f{i:02}.bin")), d)
        })
        .collect();
    let (fx, opt) = fixture_of(71, originals, &winsim::dedup::OptimizeOptions::default());
    assert!(
        opt.chunk_refs >= 3 * opt.new_chunks,
        "the data set dedups: {} refs, {} chunks",
        opt.chunk_refs,
        opt.new_chunks
    );
    let store = RecordingStore::new(&fx.store);
    let report = restore(&fx.vol, &fx.paths(), &store);
    assert_ok(&fx, &report);
    // Every stored chunk is needed; each is decoded exactly once and written at every use.
    assert_eq!(
        report.stats.chunks_decoded, opt.new_chunks,
        "{:?}",
        report.stats
    );
    assert_eq!(report.stats.chunk_writes, opt.chunk_refs);
    // And read once: no byte of a data container twice, and no more than the store holds.
    let [_, data] = check_protocol(&store.calls());
    assert_read_once(&data);
    let container_bytes: u64 = containers(&fx.store, "Data")
        .iter()
        .map(|p| fx.store.get(p).unwrap().len() as u64)
        .sum();
    let read: u64 = data.reads().iter().map(|r| r.2).sum();
    assert!(read <= container_bytes, "{read} > {container_bytes}");
    assert!(read >= opt.stored_bytes, "{read} < {}", opt.stored_bytes);
    assert!(
        read < opt.logical_bytes / 2,
        "{read} of {}",
        opt.logical_bytes
    );
}

/// A file whose middle megabyte is zeros.
fn zero_file() -> Vec<(WinPath, Vec<u8>)> {
    let mut rng = SplitMix64(72);
    let mut d = rng.text(200 * 1024);
    d.extend(std::iter::repeat_n(0u8, 1 << 20));
    d.extend_from_slice(&rng.text(200 * 1024));
    vec![
        (wp("\\z\\zeros-inside.bin"), d),
        (wp("\\z\\all-zero.bin"), vec![0u8; 700 * 1024]),
    ]
}

#[test]
fn zero_chunks_become_holes() {
    let (fx, _) = fixture_of(72, zero_file(), &winsim::dedup::OptimizeOptions::default());
    let report = restore(&fx.vol, &fx.paths(), &fx.store);
    assert_ok(&fx, &report);
    let [inside, all] = [&fx.originals[0].0, &fx.originals[1].0];
    // The all-zero file holds no data at all.
    assert_eq!(fx.vol.allocated_ranges(all).unwrap(), vec![]);
    assert!(state(&fx.vol, all).attributes & platform::attr::SPARSE_FILE != 0);
    // The other has a hole inside the zero megabyte and data around it.
    let ranges = fx.vol.allocated_ranges(inside).unwrap();
    let allocated: u64 = ranges.iter().map(|r| r.end - r.start).sum();
    let len = fx.originals[0].1.len() as u64;
    assert!(allocated <= len - (512 << 10), "{ranges:x?}");
    assert!(ranges.first().is_some_and(|r| r.start == 0), "{ranges:x?}");
    assert!(ranges.last().is_some_and(|r| r.end == len), "{ranges:x?}");
}

#[test]
fn zero_chunks_are_written_when_sparse_output_is_off() {
    let (fx, _) = fixture_of(73, zero_file(), &winsim::dedup::OptimizeOptions::default());
    let opts = RestoreOptions {
        sparse_zeros: false,
        ..RestoreOptions::default()
    };
    let report = restore_with(&fx.vol, &fx.paths(), &fx.store, &opts);
    assert_ok(&fx, &report);
    for (p, d) in &fx.originals {
        assert_eq!(
            fx.vol.allocated_ranges(p).unwrap(),
            vec![0..d.len() as u64],
            "{p}"
        );
        assert_eq!(
            state(&fx.vol, p).attributes & platform::attr::SPARSE_FILE,
            0
        );
    }
}

#[test]
fn a_tiny_memory_window_still_restores_everything() {
    for window in [1usize, 4096, 100 * 1024] {
        let fx = fixture_of(74, seeded_files(74, 4, 300 * 1024), &many_containers(4)).0;
        let store = RecordingStore::new(&fx.store);
        let opts = RestoreOptions {
            window,
            ..RestoreOptions::default()
        };
        let report = restore_with(&fx.vol, &fx.paths(), &store, &opts);
        assert_ok(&fx, &report);
        let phases = check_protocol(&store.calls());
        // No read is larger than the window, except a single record bigger than it.
        let largest_record = 0x68 + 128 * 1024 + 0x1000;
        for phase in &phases {
            for (_, _, l) in phase.record_reads() {
                assert!(
                    l <= window as u64 || l <= largest_record,
                    "window {window}: read of {l} bytes"
                );
            }
            assert_read_once(phase);
        }
    }
}

/// Empties both redirection tables of every container in the store (CRCs kept valid), so
/// stale hints can only be resolved by walking the container.
fn drop_redirection_tables(store: &mut dedup_restore::MemoryStore) -> usize {
    let mut dropped = 0;
    let paths: Vec<WinPath> = store.paths().filter(|p| is_container(p)).cloned().collect();
    for p in paths {
        let bytes = store.get_mut(&p).unwrap();
        let name: std::sync::Arc<str> = p.to_string().into();
        let fa = FixedArea::parse(&name, &bytes[..FIXED_AREA_LEN]).unwrap();
        dropped += fa.redirection.entries.len();
        let empty = RedirectionTable {
            entries: Vec::new(),
            ..fa.redirection.clone()
        }
        .encode();
        for at in [0x3000usize, fa.header.backup_redirection_offset as usize] {
            bytes[at..at + empty.len()].copy_from_slice(&empty);
        }
    }
    dropped
}

#[test]
fn stale_hints_without_redirection_entries_are_found_by_scanning() {
    let (mut fx, _) = churned_fixture(75, LayoutVersion::V3);
    let dropped = drop_redirection_tables(&mut fx.store);
    assert!(dropped > 0);
    let store = RecordingStore::new(&fx.store);
    let report = restore(&fx.vol, &fx.paths(), &store);
    assert_ok(&fx, &report);
    assert_eq!(report.stats.redirected, 0);
    assert!(report.stats.found_by_scan > 0, "{:?}", report.stats);
    // The scan keeps to the protocol too.
    check_protocol(&store.calls());
}

#[test]
fn the_highest_generation_is_used_and_older_ones_ignored() {
    let (mut fx, churn) = churned_fixture(76, LayoutVersion::V2);
    assert!(!churn.gc.compacted.is_empty());
    // Put garbage where the older generations were: using one would fail the restore.
    let mut planted = Vec::new();
    for c in &churn.gc.compacted {
        let kind = match c.kind {
            winsim::dedup::ContainerKind::Data => "Data",
            winsim::dedup::ContainerKind::Stream => "Stream",
        };
        let newest = container_path(&fx.store, kind, c.container_id);
        let old = newest
            .parent()
            .unwrap()
            .join(&dedup_store::container_file_name(
                c.container_id,
                c.old_generation,
            ))
            .unwrap();
        let len = fx.store.get(&newest).unwrap().len();
        fx.store.insert(old.clone(), vec![0xEE; len]);
        planted.push(old);
    }
    let store = RecordingStore::new(&fx.store);
    let report = restore(&fx.vol, &fx.paths(), &store);
    assert_ok(&fx, &report);
    for call in store.calls() {
        if let StoreCall::Read(p, ..) | StoreCall::Preview(p, _) = &call {
            assert!(!planted.contains(p), "read an old generation: {p}");
        }
    }
}

#[test]
fn progress_reports_reach_the_total() {
    let fx = fixture(77, 3, 200 * 1024, LayoutVersion::V3);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let opts = RestoreOptions {
        progress: Some(std::sync::Arc::new(move |p: dedup_restore::Progress| {
            s2.lock().unwrap().push(p);
        })),
        ..RestoreOptions::default()
    };
    let report = restore_with(&fx.vol, &fx.paths(), &fx.store, &opts);
    assert_ok(&fx, &report);
    let seen = seen.lock().unwrap();
    let total: u64 = fx.originals.iter().map(|(_, d)| d.len() as u64).sum();
    assert!(!seen.is_empty());
    assert!(
        seen.iter()
            .all(|p| p.bytes_total == total && p.bytes_done <= total)
    );
    assert_eq!(seen.iter().map(|p| p.bytes_done).max(), Some(total));
}

/// The order of the container-id and generation fields of a stream-map entry is unproven
/// (docs/dedup-format.md §3.5). A store whose data container is named the other way round
/// (`{generation}.{id}`, header to match) is still restored: the engine falls back to the
/// swapped reading and accepts the records because local id, size and hash all match.
#[test]
fn swapped_id_and_generation_names_are_tried() {
    let vol = winsim::SimVolume::new(78);
    let mut rng = SplitMix64(78);
    let mut a = vec![0u8; 200 * 1024];
    rng.fill(&mut a);
    let mut b = vec![0u8; 300 * 1024];
    rng.fill(&mut b);
    let (pa, pb) = (wp("\\a.bin"), wp("\\b.bin"));
    let opts = winsim::dedup::OptimizeOptions::default();
    vol.write_file(&pa, &a).unwrap();
    winsim::dedup::optimize_files(&vol, 78, std::slice::from_ref(&pa), &opts).unwrap();
    vol.write_file(&pb, &b).unwrap();
    winsim::dedup::optimize_files(&vol, 78, std::slice::from_ref(&pb), &opts).unwrap();
    let uses = uses_of(&vol, &pb);
    assert_eq!(
        uses.data_containers().into_iter().collect::<Vec<_>>(),
        vec![2]
    );
    let mut store = store_of(&vol);
    remove_store(&vol);
    // Container 2 generation 1 becomes "00000001.00000002.ccc" (id 1, generation 2).
    let c1 = container_path(&store, "Data", 1);
    let c2 = container_path(&store, "Data", 2);
    store.remove(&c1).unwrap();
    let mut bytes = store.remove(&c2).unwrap();
    for slot in [0usize, 0x1000, 0x2000] {
        let raw: [u8; 64] = bytes[slot..slot + 64].try_into().unwrap();
        if &raw[..4] != b"Cthr" {
            continue;
        }
        let mut h = dedup_store::ContainerHeader::decode(&raw);
        h.container_id = 1;
        h.generation = 2;
        bytes[slot..slot + 64].copy_from_slice(&h.encode());
    }
    let swapped = c2
        .parent()
        .unwrap()
        .join(&dedup_store::container_file_name(1, 2))
        .unwrap();
    store.insert(swapped.clone(), bytes);
    let rec = RecordingStore::new(&store);
    let report = restore(&vol, std::slice::from_ref(&pb), &rec);
    assert_eq!(
        report.files[0].result,
        Hresult::S_OK,
        "{:?}",
        report.files[0].detail()
    );
    assert_restored(&vol, &pb, &b);
    let [_, data] = check_protocol(&rec.calls());
    assert_eq!(data.order, vec![swapped]);
}

/// Chunks of reads that deliver too few to fill the hashing lanes are held for the next read's.
/// When every read after them fails (here, every record read of the last data container the
/// restore reads), the held chunks still reach their files: exactly the files that use a chunk
/// of that container fail, and every other one comes back whole. (Containers of two records make
/// every other read a held one, and the last before the failures is.)
#[test]
fn held_chunks_reach_their_files_when_the_reads_after_them_fail() {
    let fixture = || fixture_of(58, seeded_files(58, 5, 300 * 1024), &many_containers(2)).0;
    // One restore to see the order of the data reads; the same fixture again to fail the last.
    let probe = fixture();
    let recording = RecordingStore::new(&probe.store);
    let whole = restore(&probe.vol, &probe.paths(), &recording);
    let [_, data] = check_protocol(&recording.calls());
    let last = data.groups.last().expect("data reads").path.clone();
    let name = last.file_name().unwrap().to_owned();
    let id = u32::from_str_radix(&name[..8], 16).expect("container id");
    let fx = fixture();
    let failing = last.clone();
    // Its records only: its fixed area is read, so the records' reads are the restore's last.
    let store = RecordingStore::new(&fx.store)
        .failing_reads(move |p, off, _| *p == failing && off >= FIXED_AREA_LEN as u64);
    let report = restore(&fx.vol, &fx.paths(), &store);
    let users: Vec<usize> = (0..fx.uses.len())
        .filter(|&i| fx.uses[i].data_containers().contains(&id))
        .collect();
    assert!(
        !users.is_empty() && users.len() < fx.originals.len(),
        "{users:?}"
    );
    for (i, (p, d)) in fx.originals.iter().enumerate() {
        if users.contains(&i) {
            assert_ne!(report.files[i].result, Hresult::S_OK, "{p} uses {last}");
        } else {
            assert_eq!(
                report.files[i].result,
                Hresult::S_OK,
                "{p}: {:?}",
                report.files[i]
            );
            assert_restored(&fx.vol, p, d);
        }
    }
    // Every chunk but the failed container's was decoded (a held chunk left behind would be
    // missing here: its files may fail anyway when they use that container too), and no read
    // was made twice.
    let lost: std::collections::BTreeSet<(u32, u32)> = fx
        .uses
        .iter()
        .flat_map(|u| u.chunks.iter().copied())
        .filter(|c| c.0 == id)
        .collect();
    assert_eq!(
        report.stats.chunks_decoded,
        whole.stats.chunks_decoded - lost.len() as u64
    );
    let [_, data] = check_protocol(&store.calls());
    let mut seen = std::collections::BTreeSet::new();
    for r in data.reads() {
        if data.order[r.0] != last {
            assert!(seen.insert(r), "read {r:x?} repeated");
        }
    }
}
