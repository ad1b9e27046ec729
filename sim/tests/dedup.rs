//! The dedup optimizer and garbage collector on a `SimVolume`, checked with the format crates'
//! own readers: stubs, reparse points, containers, stream maps, generations, `Rrtl`.

use std::collections::{BTreeMap, HashMap};

use dedup_reparse::{DedupReparse, LayoutVersion, StreamMapHash};
use dedup_store::{Container, Located, ReadOptions, RecordType, parse_container_file_name};
use platform::{Access, Disposition, Error, OpenOptions, ShareMode, Volume, WinPath, attr};
use winsim::dedup::{
    self, ContainerKind, DedupError, OptimizeOptions, SkipReason, StoreLocation, churn, gc,
};
use winsim::sample::{self, SampleFile, SampleOptions};
use winsim::{Fault, SimVolume};

const MIN_SIZE: u64 = 32 * 1024;

fn sample_volume(seed: u64, big: u64) -> (SimVolume, Vec<SampleFile>) {
    let files = sample::sample_files(&SampleOptions {
        seed,
        big_file_size: big,
    });
    let v = SimVolume::new(seed);
    sample::write_to_volume(&v, &files).unwrap();
    (v, files)
}

/// How each chunk and stream map of a file was found while rebuilding it.
#[derive(Debug, Default)]
struct Rebuilt {
    data: Vec<u8>,
    stream_map_located: Option<Located>,
    chunk_located: Vec<Located>,
    chunk_ids: Vec<(u32, u32)>,
    stale_generations: usize,
}

/// Rebuilds a stub's contents from the store the way a restore does: reparse point → stream
/// map (hint, Rrtl, scan) → every chunk of the newest generation of its data container, CRC,
/// decompression and hash checked.
fn rebuild(v: &SimVolume, store: &StoreLocation, path: &WinPath) -> Rebuilt {
    let point = DedupReparse::parse(&v.reparse_point(path).unwrap()).unwrap();
    assert_eq!(point.guid(), store.guid);
    let entry = &point.entries()[0];
    let (map, located) = store.read_stream_map(v, entry).unwrap();
    let newest = store.newest(v, ContainerKind::Data).unwrap();
    let mut cache: HashMap<u32, Container<Vec<u8>>> = HashMap::new();
    let mut out = Rebuilt {
        stream_map_located: Some(located),
        ..Rebuilt::default()
    };
    let mut prev = 0u64;
    for e in &map.entries {
        let generation = newest[&e.container_id];
        if e.generation != generation {
            out.stale_generations += 1;
        }
        let c = cache.entry(e.container_id).or_insert_with(|| {
            store
                .load(v, ContainerKind::Data, e.container_id, generation)
                .unwrap()
        });
        let mut scratch = Vec::new();
        let (rec, loc, data) = c
            .read_chunk(
                e.local_id,
                Some(e.offset_hint),
                Some(e.end - prev),
                &ReadOptions::default(),
                &mut scratch,
            )
            .unwrap();
        assert_eq!(rec.hash, e.hash);
        out.data.extend_from_slice(data);
        out.chunk_located.push(loc);
        out.chunk_ids.push((e.container_id, e.local_id));
        prev = e.end;
    }
    assert_eq!(prev, point.logical_size());
    out
}

/// Every container file of the store: (kind, id, generation) → parsed and fully verified.
fn verify_all_containers(
    v: &SimVolume,
    store: &StoreLocation,
) -> BTreeMap<(ContainerKind, u32, u32), Container<Vec<u8>>> {
    let mut out = BTreeMap::new();
    for kind in [ContainerKind::Data, ContainerKind::Stream] {
        for e in v.read_dir(&store.dir(kind)).unwrap() {
            let (id, generation) = parse_container_file_name(&e.name)
                .unwrap_or_else(|| panic!("unexpected file {} in {}", e.name, kind.dir_name()));
            let c = store.load(v, kind, id, generation).unwrap();
            assert_eq!(c.header().container_id, id);
            assert_eq!(c.header().generation, generation);
            let mut scratch = Vec::new();
            for rec in c.records() {
                let rec = rec.unwrap();
                match (kind, rec.record_type) {
                    (_, RecordType::Padding) => continue,
                    (ContainerKind::Data, RecordType::Data)
                    | (ContainerKind::Stream, RecordType::StreamMap) => {}
                    other => panic!("{}: unexpected record {other:?}", c.name()),
                }
                c.logical_payload(&rec, None, &ReadOptions::default(), &mut scratch)
                    .unwrap_or_else(|e| panic!("{}: {e}", c.name()));
            }
            out.insert((kind, id, generation), c);
        }
    }
    out
}

#[test]
fn optimize_turns_eligible_files_into_sparse_stubs_and_leaves_small_ones() {
    let (v, files) = sample_volume(7, 3 << 20);
    let report = dedup::optimize(&v, 7, &OptimizeOptions::default()).unwrap();
    let store = StoreLocation::find(&v)
        .unwrap()
        .expect("a store was created");
    assert_eq!(store.guid, report.store_guid);
    assert_eq!(store.guid, dedup::store_guid_for_seed(7));

    let eligible: Vec<&SampleFile> = files
        .iter()
        .filter(|f| f.data.len() as u64 >= MIN_SIZE)
        .collect();
    assert_eq!(report.files_optimized, eligible.len());
    assert_eq!(report.files_skipped, files.len() - eligible.len());
    assert_eq!(
        report.logical_bytes,
        eligible.iter().map(|f| f.data.len() as u64).sum::<u64>()
    );
    for f in &files {
        let path = sample::volume_path(f).unwrap();
        let md = v.metadata(&path).unwrap();
        let outcome = report.files.iter().find(|o| o.path == path).unwrap();
        assert_eq!(md.len, f.data.len() as u64, "{path}: logical size kept");
        if (f.data.len() as u64) < MIN_SIZE {
            let want = if f.data.is_empty() {
                SkipReason::Empty
            } else {
                SkipReason::TooSmall
            };
            assert_eq!(outcome.skipped, Some(want), "{path}");
            assert!(
                !md.is_reparse_point() && !md.is_sparse(),
                "{path}: untouched"
            );
            assert_eq!(v.read_file(&path).unwrap(), f.data, "{path}: untouched");
            continue;
        }
        assert_eq!(outcome.skipped, None, "{path}");
        assert_eq!(
            md.attributes,
            attr::ARCHIVE | attr::SPARSE_FILE | attr::REPARSE_POINT,
            "{path}: 0x620 like Windows"
        );
        assert_eq!(md.allocated, 0, "{path}: no allocated data");
        assert!(v.allocated_ranges(&path).unwrap().is_empty(), "{path}");
        let point = DedupReparse::parse(&v.reparse_point(&path).unwrap()).unwrap();
        assert_eq!(point.version(), LayoutVersion::V3, "v3 by default");
        assert_eq!(point.logical_size(), f.data.len() as u64);
        assert_eq!(point.entries().len(), 1);
        let e = &point.entries()[0];
        assert_eq!((e.range_begin, e.range_end), (0, f.data.len() as u64));
        assert!(matches!(e.hash, StreamMapHash::Short(_)));
        let rebuilt = rebuild(&v, &store, &path);
        assert_eq!(rebuilt.data, f.data, "{path}: rebuilt from the store");
        assert_eq!(rebuilt.stream_map_located, Some(Located::Hint));
        assert!(rebuilt.chunk_located.iter().all(|l| *l == Located::Hint));
        assert_eq!(rebuilt.chunk_ids.len(), outcome.chunks);
    }

    // Shared content is stored once.
    let ids = |name: &str| rebuild(&v, &store, &WinPath::new(name).unwrap()).chunk_ids;
    assert_eq!(
        ids("\\documents\\report.txt"),
        ids("\\documents\\report (copy).txt")
    );
    let edited = ids("\\documents\\report-edited.txt");
    let original = ids("\\documents\\report.txt");
    let shared = edited.iter().filter(|c| original.contains(c)).count();
    assert!(shared >= 2, "edited copy shares {shared} chunks");
    let zeros = ids("\\zeros.bin");
    assert_eq!(zeros.len(), 4, "512 KiB of zeros in 128 KiB chunks");
    assert!(
        zeros.iter().all(|c| *c == zeros[0]),
        "one zero chunk, four times"
    );
    let dedup_ratio = report.dedup_ratio().unwrap();
    let compression_ratio = report.compression_ratio().unwrap();
    assert!(dedup_ratio > 1.5, "dedup ratio {dedup_ratio}");
    assert!(
        compression_ratio > 1.2,
        "compression ratio {compression_ratio}"
    );
    assert!(report.compressed_chunks > 0 && report.compressed_chunks < report.new_chunks);
    assert!(report.chunk_refs > report.new_chunks);

    // Real-format containers at the real paths, each one valid, every record verified.
    let all = verify_all_containers(&v, &store);
    let root = format!(
        "\\System Volume Information\\Dedup\\ChunkStore\\{}.ddp",
        store.guid
    );
    assert_eq!(
        store.container_path(ContainerKind::Data, 1, 1).to_string(),
        format!("{root}\\Data\\00000001.00000001.ccc")
    );
    assert!(all.contains_key(&(ContainerKind::Data, 1, 1)));
    assert!(all.contains_key(&(ContainerKind::Stream, 0x0001_0000, 1)));
    let chunks: usize = all
        .iter()
        .filter(|(k, _)| k.0 == ContainerKind::Data)
        .map(|(_, c)| c.header().chunk_count as usize)
        .sum();
    assert_eq!(chunks as u64, report.new_chunks);
    let maps: usize = all
        .iter()
        .filter(|(k, _)| k.0 == ContainerKind::Stream)
        .map(|(_, c)| c.header().chunk_count as usize)
        .sum();
    assert_eq!(maps, report.files_optimized);
    assert!(all.values().all(|c| c.redirection().entries.is_empty()));

    // The store summary agrees with the run's report.
    let sum = dedup::store::summarize(&v).unwrap().unwrap();
    assert!(sum.errors.is_empty(), "{:?}", sum.errors);
    assert_eq!(sum.guid, store.guid);
    assert_eq!(sum.data_chunks as u64, report.new_chunks);
    assert_eq!(sum.compressed_chunks as u64, report.compressed_chunks);
    assert_eq!(sum.chunk_logical_bytes, report.unique_bytes);
    assert_eq!(sum.chunk_stored_bytes, report.stored_bytes);
    assert_eq!(sum.optimized_files, report.files_optimized);
    assert_eq!(sum.optimized_logical_bytes, report.logical_bytes);
    assert_eq!(sum.chunk_references, report.chunk_refs);
    assert_eq!(sum.stream_maps, report.files_optimized);
    assert_eq!((sum.redirections, sum.max_generation()), (0, 1));
    assert_eq!(sum.dedup_ratio(), report.dedup_ratio());
    assert_eq!(sum.compression_ratio(), report.compression_ratio());

    // Optimizing again finds nothing to do: stubs are reparse points.
    let again = dedup::optimize(&v, 7, &OptimizeOptions::default()).unwrap();
    assert_eq!(again.files_optimized, 0);
    assert!(
        again
            .files
            .iter()
            .filter(|o| o.size >= MIN_SIZE)
            .all(|o| o.skipped == Some(SkipReason::ReparsePoint))
    );
}

#[test]
fn reparse_layout_is_selectable() {
    for version in [LayoutVersion::V1, LayoutVersion::V2, LayoutVersion::V3] {
        let (v, files) = sample_volume(11, 0);
        let opts = OptimizeOptions {
            reparse_version: version,
            ..OptimizeOptions::default()
        };
        dedup::optimize(&v, 11, &opts).unwrap();
        let store = StoreLocation::find(&v).unwrap().unwrap();
        let mut stubs = 0;
        for f in files.iter().filter(|f| f.data.len() as u64 >= MIN_SIZE) {
            let path = sample::volume_path(f).unwrap();
            let buf = v.reparse_point(&path).unwrap();
            let point = DedupReparse::parse(&buf).unwrap();
            assert_eq!(point.version(), version, "{path}");
            assert_eq!(point.logical_size(), f.data.len() as u64);
            let hash_len = point.entries()[0].hash.as_bytes().len();
            assert_eq!(hash_len, if version == LayoutVersion::V1 { 32 } else { 16 });
            assert_eq!(
                rebuild(&v, &store, &path).data,
                f.data,
                "{version:?} {path}"
            );
            stubs += 1;
        }
        assert_eq!(stubs, 8);
    }
}

#[test]
fn containers_are_sealed_at_the_configured_size_and_record_count() {
    let (v, files) = sample_volume(12, 2 << 20);
    let opts = OptimizeOptions {
        container_size: dedup::MIN_CONTAINER_SIZE,
        ..OptimizeOptions::default()
    };
    let report = dedup::optimize(&v, 12, &opts).unwrap();
    let store = StoreLocation::find(&v).unwrap().unwrap();
    let data = store.containers(&v, ContainerKind::Data).unwrap();
    assert!(data.len() >= 8, "{} data containers", data.len());
    assert_eq!(
        data.keys().copied().collect::<Vec<_>>(),
        (1..=data.len() as u32).collect::<Vec<_>>(),
        "data ids count from 1"
    );
    for (&id, generations) in &data {
        assert_eq!(generations, &[1]);
        let len = v
            .metadata(&store.container_path(ContainerKind::Data, id, 1))
            .unwrap()
            .len;
        assert!(len <= opts.container_size, "container {id}: {len} bytes");
    }
    verify_all_containers(&v, &store);
    for f in files.iter().filter(|f| f.data.len() as u64 >= MIN_SIZE) {
        let path = sample::volume_path(f).unwrap();
        assert_eq!(rebuild(&v, &store, &path).data, f.data, "{path}");
    }
    assert!(report.containers_written.len() > data.len());

    // At most three records per container: stream maps spread over stream ids 0x10000 apart.
    let (v, _) = sample_volume(12, 0);
    let opts = OptimizeOptions {
        max_records: 3,
        ..OptimizeOptions::default()
    };
    dedup::optimize(&v, 12, &opts).unwrap();
    let store = StoreLocation::find(&v).unwrap().unwrap();
    let all = verify_all_containers(&v, &store);
    assert!(all.values().all(|c| c.header().chunk_count <= 3));
    let streams: Vec<u32> = store
        .containers(&v, ContainerKind::Stream)
        .unwrap()
        .into_keys()
        .collect();
    assert_eq!(streams, [0x0001_0000, 0x0002_0000, 0x0003_0000]);
}

#[test]
fn invalid_options_are_refused_before_anything_is_written() {
    let (v, _) = sample_volume(13, 0);
    for opts in [
        OptimizeOptions {
            container_size: 4096,
            ..OptimizeOptions::default()
        },
        OptimizeOptions {
            max_records: 0,
            ..OptimizeOptions::default()
        },
    ] {
        assert!(matches!(
            dedup::optimize(&v, 13, &opts),
            Err(DedupError::Options(_))
        ));
    }
    assert!(StoreLocation::find(&v).unwrap().is_none());
}

#[test]
fn files_in_use_are_skipped() {
    let (v, files) = sample_volume(14, 0);
    let busy = WinPath::new("\\media\\photo.raw").unwrap();
    let h = v
        .open(
            &busy,
            OpenOptions::new(Access::READ, ShareMode::READ, Disposition::OpenExisting),
        )
        .unwrap();
    let report = dedup::optimize(&v, 14, &OptimizeOptions::default()).unwrap();
    let o = report.files.iter().find(|o| o.path == busy).unwrap();
    assert_eq!(o.skipped, Some(SkipReason::InUse));
    drop(h);
    assert!(!v.metadata(&busy).unwrap().is_reparse_point());
    let f = files.iter().find(|f| f.path == "media/photo.raw").unwrap();
    assert_eq!(v.read_file(&busy).unwrap(), f.data);
}

#[test]
fn a_failing_store_write_leaves_the_file_as_it_was() {
    let (v, files) = sample_volume(15, 0);
    let store_root = WinPath::new("\\System Volume Information").unwrap();
    // The very first write into the chunk store fails: no file may have become a stub.
    v.inject(Fault::FailWrite {
        nth: 1,
        under: Some(store_root.clone()),
    });
    let err = dedup::optimize(&v, 15, &OptimizeOptions::default()).unwrap_err();
    assert!(
        matches!(err, DedupError::Volume(Error::Io { .. })),
        "{err:?}"
    );
    for f in &files {
        let path = sample::volume_path(f).unwrap();
        assert!(!v.metadata(&path).unwrap().is_reparse_point(), "{path}");
        assert_eq!(v.read_file(&path).unwrap(), f.data, "{path}");
    }
    // Disk full when the store needs its first container (the 20 KiB fixed area does not
    // fit): the same.
    let (v, files) = sample_volume(15, 0);
    let allocated = v.allocated_bytes();
    v.inject(Fault::DiskFull {
        capacity: allocated + 8 * 1024,
    });
    let err = dedup::optimize(&v, 15, &OptimizeOptions::default()).unwrap_err();
    assert!(
        matches!(err, DedupError::Volume(Error::DiskFull { .. })),
        "{err:?}"
    );
    for f in &files {
        let path = sample::volume_path(f).unwrap();
        assert!(!v.metadata(&path).unwrap().is_reparse_point(), "{path}");
        assert_eq!(v.read_file(&path).unwrap(), f.data, "{path}");
    }
    assert_eq!(v.allocated_bytes(), allocated);
}

#[test]
fn gc_compacts_into_a_new_generation_with_rrtl_and_stale_hints() {
    let (v, files) = sample_volume(21, 2 << 20);
    let opts = OptimizeOptions::default();
    let before: Vec<WinPath> = dedup::volume_files(&v).unwrap();
    let churn = churn::optimize_with_churn(&v, 21, &opts, 133_500_000_000_000_000).unwrap();
    // The scratch set was optimized, then deleted.
    assert!(!churn.scratch_files.is_empty());
    assert_eq!(
        dedup::volume_files(&v).unwrap(),
        before,
        "exactly the input's files remain"
    );
    assert!(
        !v.exists(&WinPath::new(&format!("\\{}", churn::SCRATCH_DIR)).unwrap())
            .unwrap()
    );

    let report = &churn.gc;
    let eligible = files
        .iter()
        .filter(|f| f.data.len() as u64 >= MIN_SIZE)
        .count();
    assert_eq!(report.live_files, eligible);
    assert!(churn.optimize.files_optimized > eligible);
    assert!(report.chunks_deleted > 0, "{report:?}");
    assert!(report.stream_maps_deleted > 0, "{report:?}");
    assert!(report.left_uncompacted.is_empty(), "{report:?}");
    assert!(!report.compacted.is_empty());
    let store = StoreLocation::find(&v).unwrap().unwrap();
    let all = verify_all_containers(&v, &store);
    for c in &report.compacted {
        assert_eq!(c.new_generation, c.old_generation + 1);
        assert!(c.new_generation >= 2);
        assert!(all.contains_key(&(c.kind, c.container_id, c.new_generation)));
        assert!(
            !all.contains_key(&(c.kind, c.container_id, c.old_generation)),
            "the old generation is deleted"
        );
        assert!(c.bytes_after < c.bytes_before);
    }
    for kind in [ContainerKind::Data, ContainerKind::Stream] {
        assert!(
            report
                .compacted
                .iter()
                .any(|c| c.kind == kind && c.redirections > 0),
            "{kind:?}: {report:?}"
        );
    }
    // The new generations carry their Rrtl entries, sorted by local id.
    let rrtl: usize = all
        .iter()
        .filter(|((_, _, g), _)| *g >= 2)
        .map(|(_, c)| {
            let e = &c.redirection().entries;
            assert!(e.windows(2).all(|w| w[0].0 < w[1].0));
            e.len()
        })
        .sum();
    assert_eq!(
        rrtl,
        report
            .compacted
            .iter()
            .map(|c| c.redirections)
            .sum::<usize>()
    );
    assert!(rrtl > 0);

    // Reparse points and stream maps were not rewritten: their hints are stale, and a reader
    // still finds everything through the Rrtl.
    let (mut via_rrtl, mut stale_generations) = (0, 0);
    for f in files.iter().filter(|f| f.data.len() as u64 >= MIN_SIZE) {
        let path = sample::volume_path(f).unwrap();
        let r = rebuild(&v, &store, &path);
        assert_eq!(r.data, f.data, "{path}: still rebuilt after GC");
        via_rrtl += usize::from(r.stream_map_located == Some(Located::Redirection));
        via_rrtl += r
            .chunk_located
            .iter()
            .filter(|l| **l == Located::Redirection)
            .count();
        stale_generations += r.stale_generations;
        assert!(
            !r.chunk_located.contains(&Located::Scan),
            "{path}: never needs a scan"
        );
    }
    assert!(via_rrtl > 0, "some offset hints went stale");
    assert!(stale_generations > 0, "stream maps name old generations");

    let sum = dedup::store::summarize(&v).unwrap().unwrap();
    assert!(sum.errors.is_empty(), "{:?}", sum.errors);
    assert_eq!(sum.redirections, rrtl);
    assert!(sum.max_generation() >= 2);
    assert!(sum.containers.iter().all(|c| !c.superseded));
    assert_eq!(sum.optimized_files, eligible);

    // A second collection finds nothing more to delete.
    let second = gc::collect(&v, 133_500_000_000_000_001).unwrap();
    assert_eq!((second.chunks_deleted, second.stream_maps_deleted), (0, 0));
    assert!(second.compacted.is_empty());
}

#[test]
fn same_seed_gives_identical_bytes() {
    let run = |seed: u64, gc: bool| {
        let (v, _) = sample_volume(seed, 1 << 20);
        if gc {
            churn::optimize_with_churn(&v, seed, &OptimizeOptions::default(), 1).unwrap();
        } else {
            dedup::optimize(&v, seed, &OptimizeOptions::default()).unwrap();
        }
        v.all_files()
            .into_iter()
            .map(|p| {
                let rp = v.reparse_point(&p).ok();
                let data = v.read_file(&p).unwrap();
                (p.to_string(), data, rp)
            })
            .collect::<Vec<_>>()
    };
    for gc in [false, true] {
        let a = run(31, gc);
        let b = run(31, gc);
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert!(x == y, "{} differs between runs (gc {gc})", x.0);
        }
        let c = run(32, gc);
        assert_ne!(a, c, "another seed, another volume");
    }
}

#[test]
fn churn_never_touches_a_user_folder_named_like_its_scratch_folder() {
    let (v, _) = sample_volume(41, 0);
    let mut rng = test_support::SplitMix64(41);
    let mut mine = vec![0u8; 70_000];
    rng.fill(&mut mine);
    let user = WinPath::new(&format!("\\{}\\00000.bin", churn::SCRATCH_DIR)).unwrap();
    v.write_file(&user, &mine).unwrap();
    let before = dedup::volume_files(&v).unwrap();
    let c = churn::optimize_with_churn(&v, 41, &OptimizeOptions::default(), 1).unwrap();
    assert!(
        c.scratch_files
            .iter()
            .all(|p| !p.starts_with(&user.parent().unwrap())),
        "{:?}",
        c.scratch_files
    );
    assert_eq!(dedup::volume_files(&v).unwrap(), before);
    let store = StoreLocation::find(&v).unwrap().unwrap();
    assert_eq!(rebuild(&v, &store, &user).data, mine);
}
