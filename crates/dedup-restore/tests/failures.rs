//! Failures: every file gets its exact HRESULT, the call its overall one, and a file that is
//! not restored keeps its stub exactly as it was (reparse point, size, attributes, no data),
//! with no temporary file left behind.

mod common;

use std::collections::BTreeMap;

use common::*;
use dedup_restore::{
    BackupStore, ContainerExtent, DEDUP_RECONSTRUCT_UNOPTIMIZED, FileExtent, Hresult, MAX_FILES,
    MemoryStore, PayloadCrc, RecordingStore, RestoreOptions, RestoreReport, StoreError,
    restore_files,
};
use platform::{Access, Disposition, OpenOptions, ShareMode, Volume, WinPath};

/// Five files over many small containers.
fn spread(seed: u64) -> Fixture {
    fixture_of(seed, seeded_files(seed, 5, 300 * 1024), &many_containers(3)).0
}

/// A store that cannot list folders (as the Windows callback cannot).
struct NoListing<S>(S);

impl<S: BackupStore> BackupStore for NoListing<S> {
    fn read_backup_file(&self, p: &WinPath, o: u64, b: &mut [u8]) -> Result<(), StoreError> {
        self.0.read_backup_file(p, o, b)
    }
    fn order_containers_restore(
        &self,
        c: &[WinPath],
    ) -> Result<Option<Vec<ContainerExtent>>, StoreError> {
        self.0.order_containers_restore(c)
    }
    fn preview_container_read(&self, c: &WinPath, r: &[FileExtent]) -> Result<(), StoreError> {
        self.0.preview_container_read(c, r)
    }
}

/// Checks the report against `expected` (one HRESULT per file of the fixture, in order) and
/// the volume: restored files byte-identical and normal, the others exactly as `before`.
fn check(
    fx: &Fixture,
    before: &BTreeMap<String, FileState>,
    report: &RestoreReport,
    expected: &[Hresult],
    overall: Hresult,
) {
    let got: Vec<Hresult> = report.files.iter().map(|f| f.result).collect();
    assert_eq!(got, expected, "per-file results: {:#?}", report.files);
    assert_eq!(report.result, overall, "overall result");
    for (i, (p, d)) in fx.originals.iter().enumerate() {
        let f = &report.files[i];
        if expected[i] == Hresult::S_OK {
            assert!(f.error.is_none());
            assert_restored(&fx.vol, p, d);
        } else {
            assert!(
                f.detail().is_some_and(|d| d.contains(&p.to_string())),
                "{p}: detail names the file: {:?}",
                f.detail()
            );
            assert_untouched(&fx.vol, p, &before[&p.to_string()]);
        }
    }
    assert_no_stray_files(&fx.vol, &fx.paths());
}

fn expected_for(fx: &Fixture, failing: &[usize], code: Hresult) -> (Vec<Hresult>, Hresult) {
    assert!(!failing.is_empty() && failing.len() < fx.originals.len());
    let e = (0..fx.originals.len())
        .map(|i| {
            if failing.contains(&i) {
                code
            } else {
                Hresult::S_OK
            }
        })
        .collect();
    (e, Hresult::DDP_E_JOB_COMPLETED_PARTIAL_SUCCESS)
}

/// A data container used by some but not all files, and its users.
fn partly_used_data_container(fx: &Fixture) -> (u32, Vec<usize>) {
    let ids: std::collections::BTreeSet<u32> =
        fx.uses.iter().flat_map(Uses::data_containers).collect();
    ids.into_iter()
        .map(|id| {
            let users: Vec<usize> = (0..fx.uses.len())
                .filter(|&i| fx.uses[i].data_containers().contains(&id))
                .collect();
            (id, users)
        })
        .find(|(_, u)| !u.is_empty() && u.len() < fx.uses.len())
        .expect("a container used by some files only")
}

#[test]
fn missing_data_container_is_path_not_found() {
    for listing in [true, false] {
        let mut fx = spread(51);
        let (id, users) = partly_used_data_container(&fx);
        let path = container_path(&fx.store, "Data", id);
        fx.store.remove(&path).expect("present");
        let before = volume_state(&fx.vol);
        let report = if listing {
            restore(&fx.vol, &fx.paths(), &fx.store)
        } else {
            restore(&fx.vol, &fx.paths(), &NoListing(&fx.store))
        };
        let (exp, overall) = expected_for(&fx, &users, Hresult::DDP_E_PATH_NOT_FOUND);
        check(&fx, &before, &report, &exp, overall);
        let name = format!("{id:08x}.");
        for &i in &users {
            let d = report.files[i].detail().unwrap();
            assert!(d.to_ascii_lowercase().contains(&name), "{d}");
        }
    }
}

#[test]
fn missing_stream_container_is_path_not_found() {
    let mut fx = spread(52);
    let id = *fx.uses[0].stream.first().unwrap();
    let users: Vec<usize> = (0..fx.uses.len())
        .filter(|&i| fx.uses[i].stream.contains(&id))
        .collect();
    let path = container_path(&fx.store, "Stream", id);
    fx.store.remove(&path).expect("present");
    let before = volume_state(&fx.vol);
    let report = restore(&fx.vol, &fx.paths(), &fx.store);
    let (exp, overall) = expected_for(&fx, &users, Hresult::DDP_E_PATH_NOT_FOUND);
    check(&fx, &before, &report, &exp, overall);
}

/// Flips one payload byte of chunk `c` in the store; with `fix_crcs` the payload and header
/// CRC-64 are recomputed so that only the hash check can notice.
fn damage_chunk(store: &mut MemoryStore, c: (u32, u32), fix_crcs: bool) -> u32 {
    let path = container_path(store, "Data", c.0);
    let mut rec = record_of(store, &path, c.1);
    let bytes = store.get_mut(&path).unwrap();
    let at = rec.payload_offset() as usize + rec.stored_size as usize / 2;
    bytes[at] ^= 0x5A;
    if fix_crcs {
        let p = rec.payload_offset() as usize;
        rec.payload_crc = dedup_store::crc64(&bytes[p..p + rec.stored_size as usize]);
        let h = rec.encode();
        bytes[rec.offset as usize..rec.offset as usize + h.len()].copy_from_slice(&h);
    }
    rec.offset
}

#[test]
fn corrupt_chunk_crc_is_file_corrupt() {
    let mut fx = spread(53);
    let c = chunk_used_by(&fx, |u| u.len() == 1, None).expect("a chunk of one file");
    let users = users_of_chunk(&fx, c);
    let offset = damage_chunk(&mut fx.store, c, false);
    let before = volume_state(&fx.vol);
    let report = restore(&fx.vol, &fx.paths(), &fx.store);
    let (exp, overall) = expected_for(&fx, &users, Hresult::DDP_E_FILE_CORRUPT);
    check(&fx, &before, &report, &exp, overall);
    let d = report.files[users[0]].detail().unwrap();
    assert!(d.contains("CRC") || d.contains("crc"), "{d}");
    assert!(
        d.contains(&format!("{offset:#x}")),
        "detail names the offset: {d}"
    );
}

#[test]
fn corrupt_chunk_hash_with_valid_crc_is_file_corrupt() {
    for compressed in [false, true] {
        let mut fx = spread(54);
        let Some(c) = chunk_used_by(&fx, |u| u.len() == 2, Some(compressed))
            .or_else(|| chunk_used_by(&fx, |u| u.len() == 1, Some(compressed)))
        else {
            panic!("no chunk with compressed = {compressed}");
        };
        let users = users_of_chunk(&fx, c);
        damage_chunk(&mut fx.store, c, true);
        let before = volume_state(&fx.vol);
        let report = restore(&fx.vol, &fx.paths(), &fx.store);
        let (exp, overall) = expected_for(&fx, &users, Hresult::DDP_E_FILE_CORRUPT);
        check(&fx, &before, &report, &exp, overall);
        if !compressed {
            let d = report.files[users[0]].detail().unwrap();
            assert!(d.to_ascii_lowercase().contains("hash"), "{d}");
        }
    }
}

/// Damage the chunk hash cannot see (an unused flag bit after the last token of a compressed
/// chunk, the payload CRC-64 left as it was): `PayloadCrc::Always` (what `rehydrate verify`
/// uses) fails the file with the CRC mismatch; the default, which checks the CRC only after a
/// decode or hash failure, restores the exact bytes.
#[test]
fn unused_flag_bits_fail_the_crc_only_when_it_is_checked_first() {
    let mut fx = spread(55);
    let c = chunk_used_by(&fx, |u| u.len() == 1, Some(true)).expect("a compressed chunk");
    let users = users_of_chunk(&fx, c);
    let path = container_path(&fx.store, "Data", c.0);
    let rec = record_of(&fx.store, &path, c.1);
    let bytes = fx.store.get_mut(&path).unwrap();
    let p = rec.payload_offset() as usize;
    let (word_at, used) =
        test_support::xpress_last_flag_word(&bytes[p..p + rec.stored_size as usize]);
    assert!(used < 32, "the last flag word has unused flags");
    // Bit 0 of the little-endian word is its 32nd flag.
    bytes[p + word_at] ^= 1;

    let before = volume_state(&fx.vol);
    let strict = RestoreOptions {
        payload_crc: PayloadCrc::Always,
        ..RestoreOptions::default()
    };
    let report = restore_with(&fx.vol, &fx.paths(), &fx.store, &strict);
    let (exp, overall) = expected_for(&fx, &users, Hresult::DDP_E_FILE_CORRUPT);
    check(&fx, &before, &report, &exp, overall);
    let d = report.files[users[0]].detail().unwrap();
    assert!(d.contains("CRC"), "{d}");

    // The files the first call restored are no longer dedup files (S_FALSE).
    let report = restore(&fx.vol, &fx.paths(), &fx.store);
    for (i, (p, d)) in fx.originals.iter().enumerate() {
        let want = if users.contains(&i) {
            Hresult::S_OK
        } else {
            Hresult::S_FALSE
        };
        assert_eq!(report.files[i].result, want, "{p}: {:?}", report.files[i]);
        assert_restored(&fx.vol, p, d);
    }
    assert_no_stray_files(&fx.vol, &fx.paths());
}

#[test]
fn truncated_stream_container_is_file_corrupt() {
    // One stream container holding all stream maps; cut it inside the third one's record.
    let mut fx = fixture(55, 5, 200 * 1024, dedup_reparse::LayoutVersion::V3);
    let id = *fx.uses[2].stream.first().unwrap();
    assert!(fx.uses.iter().all(|u| u.stream.contains(&id)));
    let path = container_path(&fx.store, "Stream", id);
    let point =
        dedup_reparse::DedupReparse::parse(&fx.vol.reparse_point(&fx.originals[2].0).unwrap())
            .unwrap();
    let rec = record_of(&fx.store, &path, point.entries()[0].local_id);
    let cut = rec.payload_offset() as usize + 40;
    fx.store.get_mut(&path).unwrap().truncate(cut);
    // Files whose stream maps lie past the cut fail; the others are restored.
    let failing: Vec<usize> = (0..5)
        .filter(|&i| {
            let p = dedup_reparse::DedupReparse::parse(
                &fx.vol.reparse_point(&fx.originals[i].0).unwrap(),
            )
            .unwrap();
            record_of_len(&p) > cut as u64
        })
        .collect();
    assert_eq!(failing, vec![2, 3, 4]);
    let before = volume_state(&fx.vol);
    let report = restore(&fx.vol, &fx.paths(), &fx.store);
    let (exp, overall) = expected_for(&fx, &failing, Hresult::DDP_E_FILE_CORRUPT);
    check(&fx, &before, &report, &exp, overall);
}

/// Where a stream map record ends (hint + header + payload).
fn record_of_len(p: &dedup_reparse::DedupReparse) -> u64 {
    let e = &p.entries()[0];
    u64::from(e.offset_hint) + 0x68 + u64::from(e.stream_map_size)
}

#[test]
fn store_read_error_midway_fails_only_the_dependent_files() {
    let fx = spread(56);
    let (id, users) = partly_used_data_container(&fx);
    let name = format!("{id:08x}.");
    let store = RecordingStore::new(&fx.store).failing_reads(move |p, off, _| {
        off >= 0x5000
            && p.file_name()
                .is_some_and(|n| n.to_ascii_lowercase().starts_with(&name))
            && p.to_string().contains("\\Data\\")
    });
    let before = volume_state(&fx.vol);
    let report = restore(&fx.vol, &fx.paths(), &store);
    let (exp, overall) = expected_for(&fx, &users, Hresult::E_FAIL);
    check(&fx, &before, &report, &exp, overall);
    let d = report.files[users[0]].detail().unwrap();
    assert!(d.contains("injected read failure"), "{d}");
    // The failure did not stop the restore: later containers were still read. A failed
    // coalesced read was retried record by record, and no read was repeated.
    let [_, data] = check_protocol(&store.calls());
    let mut seen = std::collections::BTreeSet::new();
    for r in data.reads() {
        assert!(seen.insert(r), "read {r:x?} repeated");
    }
    assert_eq!(
        data.reads()
            .iter()
            .map(|r| r.0)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        data.order.len()
    );
}

#[test]
fn too_many_paths_is_invalid_argument_before_any_work() {
    let fx = fixture(57, 1, 100 * 1024, dedup_reparse::LayoutVersion::V3);
    let before = volume_state(&fx.vol);
    let store = RecordingStore::new(&fx.store);
    let paths = vec![fx.originals[0].0.clone(); MAX_FILES + 1];
    let err = restore_files(
        &fx.vol,
        &paths,
        &store,
        DEDUP_RECONSTRUCT_UNOPTIMIZED,
        &RestoreOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.hresult(), Hresult::E_INVALIDARG);
    assert!(err.to_string().contains("10001"), "{err}");
    assert!(store.calls().is_empty());
    assert_eq!(volume_state(&fx.vol), before);
    // Exactly the limit is accepted (the same file named 10,000 times is restored once).
    let paths = vec![fx.originals[0].0.clone(); MAX_FILES];
    let report = restore(&fx.vol, &paths, &store);
    assert_eq!(report.result, Hresult::S_OK);
    assert_eq!(report.files.len(), MAX_FILES);
    assert!(report.files.iter().all(|f| f.result == Hresult::S_OK));
    assert_restored(&fx.vol, &fx.originals[0].0, &fx.originals[0].1);
}

#[test]
fn flags_other_than_reconstruct_unoptimized_are_invalid() {
    let fx = fixture(58, 1, 100 * 1024, dedup_reparse::LayoutVersion::V3);
    let before = volume_state(&fx.vol);
    let store = RecordingStore::new(&fx.store);
    for flags in [0, 2, 3, 0x8000_0001] {
        let err = restore_files(
            &fx.vol,
            &fx.paths(),
            &store,
            flags,
            &RestoreOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err.hresult(), Hresult::E_INVALIDARG, "flags {flags:#x}");
    }
    assert!(store.calls().is_empty());
    assert_eq!(volume_state(&fx.vol), before);
}

/// A plain file, a directory and a non-dedup reparse point (a symbolic link's tag).
fn add_non_dedup(fx: &Fixture) -> Vec<WinPath> {
    let plain = wp("\\plain.txt");
    fx.vol.write_file(&plain, b"not optimized").unwrap();
    let dir = wp("\\a directory");
    fx.vol.create_dir(&dir).unwrap();
    let link = wp("\\link");
    fx.vol.write_file(&link, b"").unwrap();
    let h = fx
        .vol
        .open(
            &link,
            OpenOptions::new(
                Access::READ_WRITE,
                ShareMode::NONE,
                Disposition::OpenExisting,
            ),
        )
        .unwrap();
    let mut rp = 0xA000_000Cu32.to_le_bytes().to_vec();
    rp.extend_from_slice(&[4, 0, 0, 0, 1, 2, 3, 4]);
    h.set_reparse_point(&rp).unwrap();
    drop(h);
    vec![plain, dir, link]
}

#[test]
fn non_dedup_files_are_s_false_and_untouched() {
    let fx = fixture(59, 2, 100 * 1024, dedup_reparse::LayoutVersion::V3);
    let others = add_non_dedup(&fx);
    let before = volume_state(&fx.vol);
    let store = RecordingStore::new(&fx.store);
    let report = restore(&fx.vol, &others, &store);
    assert_eq!(
        report.files.iter().map(|f| f.result).collect::<Vec<_>>(),
        vec![Hresult::S_FALSE; 3]
    );
    assert_eq!(report.result, Hresult::S_FALSE);
    assert!(
        store.calls().is_empty(),
        "no store access without a dedup file"
    );
    assert_eq!(volume_state(&fx.vol), before);
    // Together with dedup files that are restored, the overall result is S_OK.
    let mut paths = others.clone();
    paths.extend(fx.paths());
    let report = restore(&fx.vol, &paths, &fx.store);
    assert_eq!(
        report.files.iter().map(|f| f.result).collect::<Vec<_>>(),
        vec![
            Hresult::S_FALSE,
            Hresult::S_FALSE,
            Hresult::S_FALSE,
            Hresult::S_OK,
            Hresult::S_OK
        ]
    );
    assert_eq!(report.result, Hresult::S_OK);
    for p in &others {
        if p.to_string() != "\\a directory" {
            assert_eq!(state(&fx.vol, p), before[&p.to_string()]);
        }
    }
}

#[test]
fn mixes_give_partial_success_or_the_first_error() {
    let mut fx = spread(60);
    let others = add_non_dedup(&fx);
    let c = chunk_used_by(&fx, |u| u.len() == 1, None).unwrap();
    let bad = users_of_chunk(&fx, c)[0];
    damage_chunk(&mut fx.store, c, false);
    // A data container the corrupt file does not use, used by some of the others.
    let ids: std::collections::BTreeSet<u32> =
        fx.uses.iter().flat_map(Uses::data_containers).collect();
    let (id, missing) = ids
        .into_iter()
        .filter(|id| !fx.uses[bad].data_containers().contains(id))
        .map(|id| {
            let u: Vec<usize> = (0..5)
                .filter(|&i| fx.uses[i].data_containers().contains(&id))
                .collect();
            (id, u)
        })
        .find(|(_, u)| !u.is_empty() && u.len() < 4)
        .expect("a suitable container");
    let good: Vec<usize> = (0..5)
        .filter(|i| *i != bad && !missing.contains(i))
        .collect();
    assert!(!good.is_empty(), "{bad} {missing:?}");
    fx.store
        .remove(&container_path(&fx.store, "Data", id))
        .unwrap();
    let p = |i: usize| fx.originals[i].0.clone();
    let before = volume_state(&fx.vol);

    // ok + not dedup + corrupt: partial success.
    let paths = vec![p(good[0]), others[0].clone(), p(bad)];
    let report = restore(&fx.vol, &paths, &fx.store);
    assert_eq!(
        report.files.iter().map(|f| f.result).collect::<Vec<_>>(),
        vec![Hresult::S_OK, Hresult::S_FALSE, Hresult::DDP_E_FILE_CORRUPT]
    );
    assert_eq!(report.result, Hresult::DDP_E_JOB_COMPLETED_PARTIAL_SUCCESS);
    assert_restored(&fx.vol, &p(good[0]), &fx.originals[good[0]].1);
    assert_untouched(&fx.vol, &p(bad), &before[&p(bad).to_string()]);

    // Nothing restored: the first file error, in the order given.
    let paths = vec![others[0].clone(), p(missing[0]), p(bad)];
    let report = restore(&fx.vol, &paths, &fx.store);
    assert_eq!(
        report.files.iter().map(|f| f.result).collect::<Vec<_>>(),
        vec![
            Hresult::S_FALSE,
            Hresult::DDP_E_PATH_NOT_FOUND,
            Hresult::DDP_E_FILE_CORRUPT
        ]
    );
    assert_eq!(report.result, Hresult::DDP_E_PATH_NOT_FOUND);
    let paths = vec![p(bad), p(missing[0])];
    let report = restore(&fx.vol, &paths, &fx.store);
    assert_eq!(report.result, Hresult::DDP_E_FILE_CORRUPT);
    for i in [bad, missing[0]] {
        assert_untouched(&fx.vol, &p(i), &before[&p(i).to_string()]);
    }
    // A path that does not exist: HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND).
    let report = restore(&fx.vol, &[wp("\\no such file")], &fx.store);
    assert_eq!(report.files[0].result, Hresult::from_win32(2));
    assert_eq!(report.result, Hresult::from_win32(2));
    let mut expected: Vec<WinPath> = fx.paths();
    expected.push(others[0].clone());
    expected.push(others[2].clone());
    assert_no_stray_files(&fx.vol, &expected);
}

/// Replaces the reparse buffer of `path` by `buf`.
fn set_reparse(fx: &Fixture, path: &WinPath, buf: &[u8]) {
    let h = fx
        .vol
        .open(
            path,
            OpenOptions::new(
                Access::READ_WRITE,
                ShareMode::NONE,
                Disposition::OpenExisting,
            ),
        )
        .unwrap();
    h.set_reparse_point(buf).unwrap();
}

#[test]
fn damaged_reparse_points() {
    let fx = fixture(61, 3, 100 * 1024, dedup_reparse::LayoutVersion::V3);
    let [a, b, _] = [0, 1, 2].map(|i| fx.originals[i].0.clone());
    // Bad CRC-32: DDP_E_FILE_CORRUPT.
    let mut rp = fx.vol.reparse_point(&a).unwrap();
    let n = rp.len();
    rp[n - 1] ^= 0xFF;
    set_reparse(&fx, &a, &rp);
    // Cut short (length fields disagree): DDP_E_INVALID_DATA.
    let rp = fx.vol.reparse_point(&b).unwrap();
    let mut short = rp[..40].to_vec();
    short[4..6].copy_from_slice(&32u16.to_le_bytes());
    set_reparse(&fx, &b, &short);
    let before = volume_state(&fx.vol);
    let report = restore(&fx.vol, &fx.paths(), &fx.store);
    assert_eq!(
        report.files.iter().map(|f| f.result).collect::<Vec<_>>(),
        vec![
            Hresult::DDP_E_FILE_CORRUPT,
            Hresult::DDP_E_INVALID_DATA,
            Hresult::S_OK
        ],
        "{:#?}",
        report.files
    );
    assert_eq!(report.result, Hresult::DDP_E_JOB_COMPLETED_PARTIAL_SUCCESS);
    assert_untouched(&fx.vol, &a, &before[&a.to_string()]);
    assert_untouched(&fx.vol, &b, &before[&b.to_string()]);
    assert_restored(&fx.vol, &fx.originals[2].0, &fx.originals[2].1);
    assert_no_stray_files(&fx.vol, &fx.paths());
}

#[test]
fn write_failure_on_the_volume_leaves_the_stub() {
    let fx = spread(62);
    // Fail the 3rd write into any file under \docs (file00, file03).
    fx.vol.inject(winsim::Fault::FailWrite {
        nth: 3,
        under: Some(wp("\\docs")),
    });
    let before = volume_state(&fx.vol);
    let report = restore(&fx.vol, &fx.paths(), &fx.store);
    let failed: Vec<usize> = (0..5)
        .filter(|&i| report.files[i].result != Hresult::S_OK)
        .collect();
    assert_eq!(failed.len(), 1, "{:#?}", report.files);
    let i = failed[0];
    assert!(fx.originals[i].0.to_string().starts_with("\\docs\\"));
    assert_eq!(report.files[i].result, Hresult::E_FAIL);
    assert_eq!(report.result, Hresult::DDP_E_JOB_COMPLETED_PARTIAL_SUCCESS);
    for (j, (p, d)) in fx.originals.iter().enumerate() {
        if j == i {
            assert_untouched(&fx.vol, p, &before[&p.to_string()]);
        } else {
            assert_restored(&fx.vol, p, d);
        }
    }
    assert_no_stray_files(&fx.vol, &fx.paths());
}

#[test]
fn disk_full_leaves_every_unfinished_stub() {
    let fx = spread(63);
    let used = fx.vol.allocated_bytes();
    // Room for about one file.
    fx.vol.inject(winsim::Fault::DiskFull {
        capacity: used + 400 * 1024,
    });
    let before = volume_state(&fx.vol);
    let report = restore(&fx.vol, &fx.paths(), &fx.store);
    let mut failed = 0;
    for (i, (p, d)) in fx.originals.iter().enumerate() {
        let r = report.files[i].result;
        if r == Hresult::S_OK {
            assert_restored(&fx.vol, p, d);
        } else {
            failed += 1;
            assert_eq!(
                r,
                Hresult::from_win32(112),
                "{:?}",
                report.files[i].detail()
            );
            assert_untouched(&fx.vol, p, &before[&p.to_string()]);
        }
    }
    assert!(failed >= 3, "{:#?}", report.files);
    assert_no_stray_files(&fx.vol, &fx.paths());
}

/// Seeded random damage to the store (bit flips, zeroed blocks, truncation, a file removed):
/// the engine never panics, a file reported S_OK is byte-identical to its original, every
/// other file keeps its stub exactly, and nothing is left behind.
#[test]
fn random_store_damage_never_panics_or_half_restores() {
    let base = spread(64);
    let files: Vec<(WinPath, Vec<u8>)> = base
        .store
        .paths()
        .map(|p| (p.clone(), base.store.get(p).unwrap().to_vec()))
        .collect();
    let containers: Vec<usize> = (0..files.len())
        .filter(|&i| is_container(&files[i].0))
        .collect();
    let mut outcomes = [0usize; 2];
    for round in 0..24u64 {
        let fx = spread(64);
        let mut rng = test_support::SplitMix64(0x00DA_3A6E ^ round);
        let mut store = MemoryStore::new();
        for (p, b) in &files {
            store.insert(p.clone(), b.clone());
        }
        for _ in 0..=rng.below(3) {
            let path = &files[containers[rng.below(containers.len() as u64) as usize]].0;
            let Some(b) = store.get_mut(path) else {
                continue;
            };
            let len = b.len().max(1) as u64;
            match rng.below(4) {
                0 => {
                    for _ in 0..=rng.below(8) {
                        let at = rng.below(len) as usize;
                        if let Some(x) = b.get_mut(at) {
                            *x ^= 1 << rng.below(8);
                        }
                    }
                }
                1 => {
                    let at = (rng.below(len) as usize & !0xFFF).min(b.len());
                    let end = (at + 4096).min(b.len());
                    b[at..end].fill(0);
                }
                2 => b.truncate(rng.below(len) as usize),
                _ => {
                    store.remove(path);
                }
            }
        }
        let before = volume_state(&fx.vol);
        let report = restore(&fx.vol, &fx.paths(), &store);
        for (i, (p, d)) in fx.originals.iter().enumerate() {
            let r = report.files[i].result;
            if r == Hresult::S_OK {
                assert_restored(&fx.vol, p, d);
                outcomes[0] += 1;
            } else {
                assert!(!r.is_success(), "round {round}: {p}: {r}");
                assert!(report.files[i].error.is_some());
                assert_untouched(&fx.vol, p, &before[&p.to_string()]);
                outcomes[1] += 1;
            }
        }
        assert_no_stray_files(&fx.vol, &fx.paths());
    }
    // The rounds exercised both outcomes.
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "{outcomes:?}");
}

#[test]
fn a_stub_held_open_exclusively_is_a_sharing_violation() {
    let fx = fixture(65, 3, 100 * 1024, dedup_reparse::LayoutVersion::V3);
    let held = &fx.originals[1].0;
    let before = volume_state(&fx.vol);
    let h = fx
        .vol
        .open(
            held,
            OpenOptions::new(Access::READ, ShareMode::NONE, Disposition::OpenExisting),
        )
        .unwrap();
    let report = restore(&fx.vol, &fx.paths(), &fx.store);
    drop(h);
    let (exp, overall) = expected_for(&fx, &[1], Hresult::from_win32(32));
    check(&fx, &before, &report, &exp, overall);
}

#[test]
fn a_read_only_stub_is_access_denied_and_untouched() {
    let fx = fixture(66, 3, 100 * 1024, dedup_reparse::LayoutVersion::V3);
    let ro = &fx.originals[2].0;
    let h = fx
        .vol
        .open(
            ro,
            OpenOptions::new(
                Access::READ_WRITE,
                ShareMode::NONE,
                Disposition::OpenExisting,
            ),
        )
        .unwrap();
    let a = h.attributes().unwrap();
    h.set_attributes(
        (a | platform::attr::READONLY | platform::attr::HIDDEN) & platform::attr::SETTABLE,
    )
    .unwrap();
    drop(h);
    let before = volume_state(&fx.vol);
    let report = restore(&fx.vol, &fx.paths(), &fx.store);
    let (exp, overall) = expected_for(&fx, &[2], Hresult::from_win32(5));
    check(&fx, &before, &report, &exp, overall);
}

#[test]
fn attributes_other_than_the_dedup_ones_are_kept() {
    let fx = fixture(67, 1, 100 * 1024, dedup_reparse::LayoutVersion::V3);
    let p = &fx.originals[0].0;
    let h = fx
        .vol
        .open(
            p,
            OpenOptions::new(
                Access::READ_WRITE,
                ShareMode::NONE,
                Disposition::OpenExisting,
            ),
        )
        .unwrap();
    let a = h.attributes().unwrap();
    h.set_attributes(
        (a | platform::attr::HIDDEN | platform::attr::NOT_CONTENT_INDEXED)
            & platform::attr::SETTABLE,
    )
    .unwrap();
    drop(h);
    let report = restore(&fx.vol, &fx.paths(), &fx.store);
    assert_eq!(report.result, Hresult::S_OK);
    assert_restored(&fx.vol, p, &fx.originals[0].1);
    // SPARSE_FILE stays because this file has zero chunks left as holes.
    let attrs = state(&fx.vol, p).attributes & !platform::attr::SPARSE_FILE;
    assert_eq!(
        attrs,
        platform::attr::ARCHIVE | platform::attr::HIDDEN | platform::attr::NOT_CONTENT_INDEXED,
        "{attrs:#x}"
    );
}

/// Reparse points with well-formed framing (valid CRC-32) but odd values: wrong local id,
/// stream container, offset hint, stream-map size or logical size. No panic; S_OK only with
/// the right contents (a wrong hint alone is recovered by scanning); otherwise the stub stays.
#[test]
fn odd_reparse_values_never_panic_or_half_restore() {
    let mut outcomes = [0usize; 2];
    for round in 0..30u64 {
        let fx = fixture(68, 2, 120 * 1024, dedup_reparse::LayoutVersion::V3);
        let target = &fx.originals[0].0;
        let point =
            dedup_reparse::DedupReparse::parse(&fx.vol.reparse_point(target).unwrap()).unwrap();
        let mut e = point.entries()[0];
        let mut size = point.logical_size();
        let mut rng = test_support::SplitMix64(0x0BAD_5EED ^ round);
        let small = |rng: &mut test_support::SplitMix64| rng.below(16) as u32;
        match round % 6 {
            0 => e.local_id = e.local_id.wrapping_add(1 + small(&mut rng)),
            1 => e.container_id = [0, 0x20000, u32::MAX][rng.below(3) as usize],
            2 => e.offset_hint = [0, 0x5000 + 8 * small(&mut rng), u32::MAX][rng.below(3) as usize],
            3 => {
                e.stream_map_size = [0, 8, e.stream_map_size + 64, u32::MAX][rng.below(4) as usize];
            }
            4 => size = [0, 1, size - 1, size + 1, u64::MAX / 2][rng.below(5) as usize],
            _ => e.offset_hint = e.offset_hint.wrapping_add(8),
        }
        let Ok(new) = dedup_reparse::DedupReparse::new(
            point.version(),
            point.guid(),
            size,
            e,
            dedup_reparse::FileTime(0),
        ) else {
            continue;
        };
        set_reparse(&fx, target, &new.to_buffer().unwrap());
        let before = volume_state(&fx.vol);
        let report = restore(&fx.vol, &fx.paths(), &fx.store);
        assert_eq!(report.files[1].result, Hresult::S_OK);
        let r = report.files[0].result;
        if r == Hresult::S_OK {
            assert_restored(&fx.vol, target, &fx.originals[0].1);
            outcomes[0] += 1;
        } else {
            assert!(!r.is_success(), "round {round}: {r}");
            assert_untouched(&fx.vol, target, &before[&target.to_string()]);
            assert_eq!(report.result, Hresult::DDP_E_JOB_COMPLETED_PARTIAL_SUCCESS);
            outcomes[1] += 1;
        }
        assert_no_stray_files(&fx.vol, &fx.paths());
    }
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "{outcomes:?}");
}

/// A store whose optional callbacks fail: the order call (every file fails with the store's
/// code) or the preview of one container (only the files that need it fail).
struct FailingCallbacks<'a> {
    inner: &'a MemoryStore,
    order: bool,
    preview_of: Option<String>,
}

impl BackupStore for FailingCallbacks<'_> {
    fn read_backup_file(&self, p: &WinPath, o: u64, b: &mut [u8]) -> Result<(), StoreError> {
        self.inner.read_backup_file(p, o, b)
    }
    fn order_containers_restore(
        &self,
        c: &[WinPath],
    ) -> Result<Option<Vec<ContainerExtent>>, StoreError> {
        if self.order {
            return Err(StoreError::other(
                &c[0],
                "tape library offline",
                Hresult(0x8007_0015),
            ));
        }
        Ok(None)
    }
    fn preview_container_read(&self, c: &WinPath, _: &[FileExtent]) -> Result<(), StoreError> {
        match &self.preview_of {
            Some(n) if c.folded().contains(&n.to_ascii_uppercase()) => Err(StoreError::other(
                c,
                "cannot stage this container",
                Hresult(0x8007_001E),
            )),
            _ => Ok(()),
        }
    }
    fn list_dir(&self, d: &WinPath) -> Result<Option<Vec<String>>, StoreError> {
        self.inner.list_dir(d)
    }
}

#[test]
fn failing_order_or_preview_callbacks_fail_the_dependent_files() {
    let fx = spread(69);
    let before = volume_state(&fx.vol);
    let store = FailingCallbacks {
        inner: &fx.store,
        order: true,
        preview_of: None,
    };
    let report = restore(&fx.vol, &fx.paths(), &store);
    let code = Hresult(0x8007_0015);
    assert!(
        report.files.iter().all(|f| f.result == code),
        "{:#?}",
        report.files
    );
    assert_eq!(report.result, code);
    assert_eq!(volume_state(&fx.vol), before);
    assert_no_stray_files(&fx.vol, &fx.paths());

    let (id, users) = partly_used_data_container(&fx);
    let store = FailingCallbacks {
        inner: &fx.store,
        order: false,
        preview_of: Some(format!("\\Data\\{id:08x}.")),
    };
    let report = restore(&fx.vol, &fx.paths(), &store);
    let (exp, overall) = expected_for(&fx, &users, Hresult(0x8007_001E));
    check(&fx, &before, &report, &exp, overall);
}
