//! Every container format, made by real tools from the same ntfs-3g volume (see `common`),
//! read through the library: the listing, every file's bytes and reparse buffer, and a whole
//! restore byte-identical to the seeded originals with their times.
#![cfg(unix)]

mod common;

use std::path::Path;

use common::{fixtures, ntfs::Put};
use dedup_restore::{EntryStatus, SourceStore, TreeOptions, restore_tree};
use disk_image::{Container, Image, TableKind, open_source};
use platform::{HostVolume, Source, WinPath};

fn read_all(src: &dyn Source, p: &WinPath) -> Vec<u8> {
    let f = src.open_file(p).unwrap_or_else(|e| panic!("{p}: {e}"));
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
fn each_container_is_recognised_with_its_partition_table() {
    let Some(f) = fixtures() else { return };
    let expect = [
        ("raw volume", Container::Raw, None),
        ("GPT disk", Container::Raw, Some(TableKind::Gpt)),
        ("MBR disk", Container::Raw, Some(TableKind::Mbr)),
        (
            "VHD fixed",
            Container::Vhd { dynamic: false },
            Some(TableKind::Gpt),
        ),
        (
            "VHD dynamic",
            Container::Vhd { dynamic: true },
            Some(TableKind::Gpt),
        ),
        (
            "VHDX fixed",
            Container::Vhdx { chain: 1 },
            Some(TableKind::Gpt),
        ),
        (
            "VHDX dynamic",
            Container::Vhdx { chain: 1 },
            Some(TableKind::Gpt),
        ),
        (
            "VHDX differencing",
            Container::Vhdx { chain: 2 },
            Some(TableKind::Gpt),
        ),
        ("E01", Container::E01, Some(TableKind::Gpt)),
    ];
    let vol_len = std::fs::metadata(&f.volume.path).unwrap().len();
    for (name, container, table) in expect {
        let img = Image::open(f.get(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(img.container(), container, "{name}");
        assert_eq!(img.table(), table, "{name}");
        if table.is_some() {
            let parts = img.partitions();
            assert_eq!(parts.len(), 1, "{name}: {parts:?}");
            assert_eq!(
                (parts[0].number, parts[0].start, parts[0].len),
                (1, common::VOLUME_AT, vol_len),
                "{name}"
            );
            assert!(parts[0].ntfs, "{name}");
        }
        if table == Some(TableKind::Gpt) {
            assert_eq!(img.partitions()[0].name, "dedup", "{name}");
            assert_eq!(img.partitions()[0].kind, "basic data", "{name}");
        }
    }
    let e01s = std::fs::read_dir(f.get("E01").parent().unwrap())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("disk.E")
        })
        .count();
    assert!(e01s >= 2, "the E01 spans several segments ({e01s})");
}

#[test]
fn the_volume_inside_each_container_is_the_volume_byte_for_byte() {
    let Some(f) = fixtures() else { return };
    let want = std::fs::read(&f.volume.path).unwrap();
    for (name, path) in &f.images {
        let img = Image::open(path).unwrap();
        let vol = img.volume(None).unwrap();
        assert_eq!(
            ntfs_source::ReadAt::size(&vol).unwrap(),
            want.len() as u64,
            "{name}"
        );
        let mut got = vec![0u8; want.len()];
        let mut at = 0;
        // Odd-sized reads that straddle blocks and chunks.
        while at < got.len() {
            let end = (at + 777_777).min(got.len());
            let n = ntfs_source::ReadAt::read_at(&vol, at as u64, &mut got[at..end]).unwrap();
            assert!(n > 0, "{name}: short read at {at}");
            at += n;
        }
        assert!(got == want, "{name}: the volume differs");
    }
}

fn check_files(name: &str, src: &dyn Source, files: &[Put]) {
    for f in files {
        let reparse = src
            .reparse_point(&f.path)
            .unwrap_or_else(|e| panic!("{name}: {}: {e}", f.path));
        assert_eq!(reparse, f.reparse, "{name}: {}: reparse buffer", f.path);
        if f.reparse.is_none() {
            assert!(
                read_all(src, &f.path) == f.data,
                "{name}: {}: content",
                f.path
            );
        }
    }
}

#[test]
fn every_format_restores_every_file_byte_identical_with_its_times() {
    let Some(f) = fixtures() else { return };
    let user: Vec<&Put> = f.volume.files.iter().filter(|p| !p.system).collect();
    let dedup = user.iter().filter(|p| p.reparse.is_some()).count();
    assert_eq!(dedup, 5);
    for (name, path) in &f.images {
        let src = open_source(path, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_files(name, &src, &f.volume.files);
        let store = SourceStore::new(src.clone());
        let out = tempfile::tempdir().unwrap();
        let dest = HostVolume::new(out.path()).unwrap();
        let report = restore_tree(&src, &store, &dest, &TreeOptions::default()).unwrap();
        assert_eq!(
            report.count(EntryStatus::Failed),
            0,
            "{name}: {:#?}",
            report.entries
        );
        assert_eq!(report.count(EntryStatus::Restored), dedup, "{name}");
        assert_eq!(
            report.count(EntryStatus::Copied),
            user.len() - dedup,
            "{name}"
        );
        for p in &user {
            let h = host_path(out.path(), &p.path);
            let got = std::fs::read(&h).unwrap_or_else(|e| panic!("{name}: {}: {e}", h.display()));
            assert!(got == p.data, "{name}: {}: content differs", p.path);
            let md = std::fs::symlink_metadata(&h).unwrap();
            assert_eq!(
                md.modified().unwrap(),
                p.modified,
                "{name}: {}: time",
                p.path
            );
        }
    }
}

#[test]
fn rehydrate_file_writes_dedup_and_plain_files_from_every_format() {
    let Some(f) = fixtures() else { return };
    let dedup = f.volume.files.iter().find(|p| p.reparse.is_some()).unwrap();
    let plain = f.volume.file(&common::ntfs::wp("\\plain\\sparse.bin"));
    for (name, path) in &f.images {
        let src = open_source(path, None).unwrap();
        for p in [dedup, plain] {
            let mut out = Vec::new();
            let n = disk_image::rehydrate_file(&src, &p.path, &mut out)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(n, p.data.len() as u64, "{name}: {}", p.path);
            assert!(out == p.data, "{name}: {}: content", p.path);
        }
        let err = disk_image::rehydrate_file(
            &src,
            &common::ntfs::wp("\\plain\\nothing"),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("nothing"), "{name}: {err}");
    }
}
