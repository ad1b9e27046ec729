//! `NtfsSource` on a real NTFS image made by ntfs-3g (see `common`): the walk, a whole
//! restore through `dedup_restore::restore_tree`, and damaged MFT records.
#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use common::{Image, image, wp};
use dedup_restore::{EntryStatus, SourceStore, TreeOptions, restore_tree};
use ntfs_source::record::{attr_flags, attr_type};
use ntfs_source::{Limits, NtfsSource, ReadAt};
use platform::{EntryKind, HostVolume, Source, SourceEntry, WinPath, attr};

/// Every entry of the source, depth first, by path.
fn walk(src: &dyn Source) -> BTreeMap<String, SourceEntry> {
    let mut out = BTreeMap::new();
    let mut stack = vec![WinPath::root()];
    while let Some(d) = stack.pop() {
        for e in src.read_dir(&d).unwrap_or_else(|e| panic!("{d}: {e}")) {
            let p = d.join(&e.name).unwrap();
            if e.kind == EntryKind::Dir {
                stack.push(p.clone());
            }
            out.insert(p.to_string(), e);
        }
    }
    out
}

fn read_all(src: &dyn Source, p: &WinPath) -> Vec<u8> {
    let f = src.open_file(p).unwrap();
    let mut out = vec![0u8; usize::try_from(f.len().unwrap()).unwrap()];
    let mut at = 0;
    while at < out.len() {
        let n = f.read_at(at as u64, &mut out[at..]).unwrap();
        assert!(n > 0, "{p}: short file");
        at += n;
    }
    out
}

fn host_path(root: &Path, p: &WinPath) -> std::path::PathBuf {
    let mut h = root.to_owned();
    h.extend(p.components());
    h
}

#[test]
fn the_walk_lists_exactly_what_was_put_in() {
    let Some(img) = image() else { return };
    let src = NtfsSource::open(&img.path).unwrap();
    let all = walk(&src);
    let mut want: Vec<String> = img.files.iter().map(|f| f.path.to_string()).collect();
    want.extend(img.dirs.iter().map(ToString::to_string));
    want.sort();
    let have: Vec<String> = all.keys().cloned().collect();
    assert_eq!(
        have, want,
        "no metadata file, no DOS name, the hard link once"
    );
    assert!(!all.contains_key(&img.hard_link.to_string()));
    for d in &img.dirs {
        let e = &all[&d.to_string()];
        assert_eq!(e.kind, EntryKind::Dir, "{d}");
        assert_ne!(e.attributes & attr::DIRECTORY, 0, "{d}");
    }
    for f in &img.files {
        let e = &all[&f.path.to_string()];
        assert_eq!(e.kind, EntryKind::File, "{}", f.path);
        assert_eq!(e.len, f.data.len() as u64, "{}: length", f.path);
        assert_eq!(e.reparse, f.reparse, "{}: reparse buffer", f.path);
        assert_eq!(
            e.modified,
            Some(f.modified),
            "{}: modification time",
            f.path
        );
        if f.reparse.is_some() {
            assert_ne!(e.attributes & attr::REPARSE_POINT, 0, "{}", f.path);
            assert_eq!(src.reparse_point(&f.path).unwrap(), f.reparse, "{}", f.path);
            assert!(
                read_all(&src, &f.path).iter().all(|&b| b == 0),
                "a stub reads as a hole"
            );
        } else {
            assert_eq!(src.reparse_point(&f.path).unwrap(), None);
            assert!(read_all(&src, &f.path) == f.data, "{}: content", f.path);
        }
    }
    assert_eq!(src.read_dir(&wp("\\many")).unwrap().len(), 250);
    // The big folder's index has blocks; the sparse file has a hole.
    let many = src
        .record(src.record_of(&wp("\\many")).unwrap().unwrap())
        .unwrap();
    let i30: Vec<u16> = "$I30".encode_utf16().collect();
    assert!(
        many.find(attr_type::INDEX_ALLOCATION, &i30)
            .unwrap()
            .is_some()
    );
    let sparse = src.record(src.record_of(&wp("\\plain\\sparse.bin")).unwrap().unwrap());
    let sparse = sparse.unwrap();
    let data = sparse.find(attr_type::DATA, &[]).unwrap().unwrap();
    assert_ne!(data.flags & attr_flags::SPARSE, 0, "ntfs-3g made it sparse");
    // Lookups are case-insensitive through $UpCase.
    let upper = wp("\\UNICODE\\ÜNÏCÖDÉ – 日本語 ✓ 🦀.TXT");
    assert_eq!(read_all(&src, &upper), "grüße".as_bytes());
    assert!(matches!(
        src.open_file(&wp("\\plain\\nothing")),
        Err(platform::Error::NotFound { .. })
    ));
}

fn restore(img_path: &Path) -> (tempfile::TempDir, dedup_restore::TreeReport) {
    let src = NtfsSource::open(img_path).unwrap();
    let store = SourceStore::new(src.clone());
    let out = tempfile::tempdir().unwrap();
    let dest = HostVolume::new(out.path()).unwrap();
    let report = restore_tree(&src, &store, &dest, &TreeOptions::default()).unwrap();
    (out, report)
}

fn user_files(img: &Image) -> impl Iterator<Item = &common::Put> {
    img.files.iter().filter(|f| !f.system)
}

#[test]
fn the_whole_image_restores_byte_identical_with_its_times() {
    let Some(img) = image() else { return };
    let (out, report) = restore(&img.path);
    assert_eq!(
        report.count(EntryStatus::Failed),
        0,
        "{:#?}",
        report.entries
    );
    let dedup = img.files.iter().filter(|f| f.reparse.is_some()).count();
    assert_eq!(dedup, 5);
    assert_eq!(report.count(EntryStatus::Restored), dedup);
    assert_eq!(
        report.count(EntryStatus::Copied),
        user_files(img).count() - dedup
    );
    for f in user_files(img) {
        let h = host_path(out.path(), &f.path);
        let got = std::fs::read(&h).unwrap_or_else(|e| panic!("{}: {e}", h.display()));
        assert!(got == f.data, "{}: content differs", f.path);
        let md = std::fs::symlink_metadata(&h).unwrap();
        assert_eq!(md.modified().unwrap(), f.modified, "{}: time", f.path);
    }
    assert!(
        !out.path().join("System Volume Information").exists(),
        "the chunk store is not restored"
    );
}

/// Overwrites `bytes` at `offset` within MFT record `rec` of a copy of the image.
fn damage(img: &Image, dir: &Path, damages: &[(WinPath, usize, &[u8])]) -> std::path::PathBuf {
    let copy = dir.join("damaged.img");
    std::fs::copy(&img.path, &copy).unwrap();
    let src = NtfsSource::open(&img.path).unwrap();
    let mut bytes = std::fs::read(&copy).unwrap();
    for (p, offset, with) in damages {
        let rec = src.record_of(p).unwrap().unwrap();
        let at = usize::try_from(src.record_position(rec).unwrap()).unwrap() + offset;
        bytes[at..at + with.len()].copy_from_slice(with);
    }
    std::fs::write(&copy, &bytes).unwrap();
    copy
}

#[test]
fn a_damaged_mft_record_fails_its_entry_and_the_rest_restore() {
    let Some(img) = image() else { return };
    let dir = tempfile::tempdir().unwrap();
    let stub = wp("\\docs\\file00.bin");
    let plain = wp("\\many\\entry number 0007.txt");
    let deep_attr = wp("\\plain\\tiny.txt");
    let src = NtfsSource::open(&img.path).unwrap();
    let recs: Vec<u64> = [&stub, &plain, &deep_attr]
        .iter()
        .map(|p| src.record_of(p).unwrap().unwrap())
        .collect();
    // A torn write (the first sector's update sequence number overwritten), a broken
    // signature, and an attribute whose length runs past the record.
    let copy = damage(
        img,
        dir.path(),
        &[
            (stub.clone(), 0x1FE, &[0xDE, 0xAD]),
            (plain.clone(), 0, b"BAAD"),
            (deep_attr.clone(), 0x3C, &[0xF0, 0xFF, 0x00, 0x00]),
        ],
    );
    let (out, report) = restore(&copy);
    let failed: BTreeMap<&str, String> = report
        .entries
        .iter()
        .filter(|e| e.status == EntryStatus::Failed)
        .map(|e| (e.path.as_str(), e.error.as_ref().unwrap().to_string()))
        .collect();
    assert_eq!(failed.len(), 3, "{failed:#?}");
    for (p, rec) in [&stub, &plain, &deep_attr].iter().zip(&recs) {
        let msg = &failed[p.to_string().as_str()];
        assert!(msg.contains(&format!("MFT record {rec}")), "{p}: {msg}");
        assert!(!host_path(out.path(), p).exists(), "{p}");
    }
    // The crate names the absolute byte position (of the update sequence it checked); our
    // gate the offset in the record.
    let torn = &failed[stub.to_string().as_str()];
    assert!(
        torn.contains("Update Sequence Number") && torn.contains("byte position 0x"),
        "{torn}"
    );
    assert!(failed[deep_attr.to_string().as_str()].contains("offset 0x3c"));
    for f in user_files(img).filter(|f| ![&stub, &plain, &deep_attr].contains(&&f.path)) {
        let got = std::fs::read(host_path(out.path(), &f.path)).unwrap();
        assert!(got == f.data, "{}", f.path);
    }
}

#[test]
fn damage_anywhere_in_a_record_never_panics() {
    let Some(img) = image() else { return };
    let target = wp("\\docs\\file02.bin");
    let src = NtfsSource::open(&img.path).unwrap();
    let rec = src.record_of(&target).unwrap().unwrap();
    let base = usize::try_from(src.record_position(rec).unwrap()).unwrap();
    let pristine = Arc::new(std::fs::read(&img.path).unwrap());
    let size = src.ntfs().file_record_size() as usize;
    let mut rng = test_support::SplitMix64(5);
    for round in 0..300 {
        let mut patch = pristine[base..base + size].to_vec();
        // Flip a few bits in the record, keeping the update sequence intact, so the damage
        // reaches the attribute parsers.
        for _ in 0..=(round % 4) {
            let off = 0x38 + rng.below(size as u64 - 0x38) as usize;
            if off % 512 >= 510 {
                continue;
            }
            patch[off] ^= 1 << rng.below(8);
        }
        let overlay = Overlay {
            base: pristine.clone(),
            at: base,
            patch,
        };
        let s = NtfsSource::new(overlay, "fuzzed", Limits::default()).unwrap();
        if let Ok(entries) = s.read_dir(&wp("\\docs")) {
            for e in entries {
                let p = wp("\\docs").join(&e.name).unwrap();
                if let Ok(f) = s.open_file(&p) {
                    let mut b = vec![0u8; 4096];
                    let _ = f.read_at(0, &mut b);
                }
                let _ = s.reparse_point(&p);
            }
        }
    }
}

/// The image with one range replaced.
struct Overlay {
    base: Arc<Vec<u8>>,
    at: usize,
    patch: Vec<u8>,
}

impl ReadAt for Overlay {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.base.read_at(offset, buf)?;
        let start = usize::try_from(offset).unwrap();
        for (i, b) in buf[..n].iter_mut().enumerate() {
            if let Some(p) = (start + i)
                .checked_sub(self.at)
                .and_then(|k| self.patch.get(k))
            {
                *b = *p;
            }
        }
        Ok(n)
    }

    fn size(&self) -> std::io::Result<u64> {
        Ok(self.base.len() as u64)
    }
}
