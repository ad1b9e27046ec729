//! Damaged containers and tables (copies of the real-tool fixtures, see `common`): clear
//! errors naming the structure and its offset, no panic, and what is undamaged still reads.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};

use common::{fixtures, region};
use disk_image::{Image, ImageError, open_source};
use ntfs_source::ReadAt;

const BAT_REGION: &str = "2DC27766-F623-4200-9D64-115E9BFD4A08";

fn copy(from: &Path, dir: &Path, name: &str) -> (PathBuf, Vec<u8>) {
    let to = dir.join(name);
    std::fs::copy(from, &to).unwrap();
    let bytes = std::fs::read(&to).unwrap();
    (to, bytes)
}

/// Reads the whole disk in 1 MiB pieces; the first error.
fn read_disk(img: &Image) -> Result<(), std::io::Error> {
    let disk = img.disk();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0;
    while at < disk.size()? {
        let n = disk.read_at(at, &mut buf)?;
        assert!(n > 0);
        at += n as u64;
    }
    Ok(())
}

/// A whole restore of the image's volume: (entries failed, entries restored or copied).
fn restore_counts(path: &Path) -> (usize, usize) {
    use dedup_restore::{EntryStatus, SourceStore, TreeOptions, restore_tree};
    let src = open_source(path, None).unwrap();
    let out = tempfile::tempdir().unwrap();
    let dest = platform::HostVolume::new(out.path()).unwrap();
    let report = restore_tree(
        &src,
        &SourceStore::new(src.clone()),
        &dest,
        &TreeOptions::default(),
    )
    .unwrap();
    for e in report
        .entries
        .iter()
        .filter(|e| e.status == EntryStatus::Failed)
        .take(3)
    {
        eprintln!("{e:?}");
    }
    (
        report.count(EntryStatus::Failed),
        report.count(EntryStatus::Restored) + report.count(EntryStatus::Copied),
    )
}

#[test]
fn a_truncated_vhdx_names_the_block_and_the_rest_restores() {
    let Some(f) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = copy(f.get("VHDX dynamic"), dir.path(), "cut.vhdx");
    // Cut in the middle of the payload: headers, regions and BAT stay.
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(bytes.len() as u64 * 3 / 5).unwrap();
    let img = Image::open(&path).unwrap();
    let err = read_disk(&img).unwrap_err().to_string();
    assert!(
        err.contains("VHDX BAT entry of block") && err.contains("offset 0x"),
        "{err}"
    );
    assert!(err.contains("data at 0x"), "{err}");
    let (failed, done) = restore_counts(&path);
    assert!(
        failed > 0 && done > 0,
        "{failed} failed, {done} restored or copied"
    );
    // Cut before the second header: the file does not open, and says why.
    file.set_len(100 << 10).unwrap();
    let err = Image::open(&path).unwrap_err().to_string();
    assert!(err.contains("cut.vhdx"), "{err}");
    assert!(
        err.contains("ends before") || err.contains("VHDX header"),
        "{err}"
    );
}

#[test]
fn a_bat_entry_past_the_end_fails_its_block_only() {
    let Some(f) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (path, mut bytes) = copy(f.get("VHDX dynamic"), dir.path(), "bat.vhdx");
    let (bat, len) = region(&bytes, BAT_REGION);
    // The last fully present payload block is sent 1 TiB past the end of the file.
    let entries: Vec<usize> = (bat..bat + len)
        .step_by(8)
        .filter(|&e| bytes[e] & 7 == 6)
        .collect();
    assert!(entries.len() >= 2, "{entries:?}");
    let victim = *entries.last().unwrap();
    let far = (bytes.len() as u64 + (1 << 40)) & !((1 << 20) - 1);
    bytes[victim..victim + 8].copy_from_slice(&(far | 6).to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let img = Image::open(&path).unwrap();
    let err = read_disk(&img).unwrap_err().to_string();
    assert!(err.contains(&format!("at offset {victim:#x}")), "{err}");
    assert!(err.contains(&format!("data at {far:#x}")), "{err}");
    // The first block still reads: the partition table is there.
    assert_eq!(img.partitions().len(), 1);
}

#[test]
fn a_gpt_with_a_bad_primary_header_is_read_from_its_backup() {
    let Some(f) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (path, mut bytes) = copy(&f.gpt_disk, dir.path(), "primary.img");
    bytes[512 + 24] ^= 0xFF; // MyLBA, under the header CRC
    std::fs::write(&path, &bytes).unwrap();
    let img = Image::open(&path).unwrap();
    assert_eq!(img.partitions().len(), 1);
    assert!(open_source(&path, None).is_ok());
    // Both copies bad: the primary's problem is reported.
    let last = bytes.len() - 512;
    bytes[last + 24] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();
    let err = Image::open(&path).unwrap_err();
    assert!(
        matches!(err, ImageError::Invalid { offset: 0x200, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("GPT header at offset 0x200: CRC-32"),
        "{err}"
    );
}

#[test]
fn an_mbr_entry_past_the_disk_and_a_missing_partition_are_errors() {
    let Some(f) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (path, mut bytes) = copy(f.get("MBR disk"), dir.path(), "mbr.img");
    assert!(
        matches!(open_source(&path, Some(3)), Err(disk_image::SourceError::Image(ImageError::Partition(m))) if m.contains("no partition 3") && m.contains("1: "))
    );
    bytes[446 + 12..446 + 16].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let err = Image::open(&path).unwrap_err().to_string();
    assert!(
        err.contains("MBR partition entry 1 at offset 0x1be"),
        "{err}"
    );
    assert!(err.contains("do not fit the disk"), "{err}");
}

#[test]
fn a_differencing_vhdx_without_its_parent_says_where_it_looked() {
    let Some(f) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = copy(f.get("VHDX differencing"), dir.path(), "child.vhdx");
    let err = Image::open(&path).unwrap_err().to_string();
    assert!(
        err.contains("parent locator") && err.contains("parent.vhdx"),
        "{err}"
    );
    // Another disk in the parent's place: its DataWriteGuid is not the one the child names.
    std::fs::copy(f.get("VHDX dynamic"), dir.path().join("parent.vhdx")).unwrap();
    let err = Image::open(&path).unwrap_err().to_string();
    assert!(
        err.contains("parent_linkage") && err.contains("DataWriteGuid"),
        "{err}"
    );
}

/// Offsets of the data-chunk records (`Ckhr`, record type 1) in `bytes` whose stored payload
/// is at least `min` bytes: (record offset, stored size).
fn data_records(bytes: &[u8], min: u32) -> Vec<(usize, u32)> {
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
    bytes
        .windows(4)
        .enumerate()
        .filter(|(o, w)| *w == b"Ckhr" && o + 0x58 < bytes.len())
        .map(|(o, _)| (o, u32_at(o + 0x0C)))
        .filter(|&(o, size)| {
            u16::from_le_bytes([bytes[o + 0x10], bytes[o + 0x11]]) == 1
                && size >= min
                && o + 0x58 + size as usize <= bytes.len()
        })
        .collect()
}

#[test]
fn a_damaged_chunk_in_an_image_fails_its_files_naming_the_container_and_the_rest_restore() {
    use dedup_restore::{EntryStatus, SourceStore, TreeOptions, restore_tree};
    let Some(f) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (path, clean) = copy(f.get("raw volume"), dir.path(), "chunk.img");
    let restore = |path: &Path| {
        let src = open_source(path, None).unwrap();
        let out = tempfile::tempdir().unwrap();
        let dest = platform::HostVolume::new(out.path()).unwrap();
        restore_tree(
            &src,
            &SourceStore::new(src.clone()),
            &dest,
            &TreeOptions::default(),
        )
        .unwrap()
    };
    let before = restore(&path);
    assert_eq!(before.count(EntryStatus::Failed), 0);
    // One byte in the middle of the first large data chunk's stored payload (the chunk store's
    // containers are plain files on the image's NTFS volume, so their bytes are in it as is).
    let records = data_records(&clean, 4096);
    assert!(!records.is_empty(), "no data chunk found in the image");
    let (at, size) = records[0];
    let mut bytes = clean.clone();
    bytes[at + 0x58 + size as usize / 2] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();

    let after = restore(&path);
    let failed: Vec<_> = after
        .entries
        .iter()
        .filter(|e| e.status == EntryStatus::Failed)
        .collect();
    assert!(!failed.is_empty(), "a damaged chunk went unnoticed");
    for e in &failed {
        let err = e.error.as_ref().expect("a failed entry says why");
        let text = err.to_string();
        assert!(text.contains(".ccc"), "{}: {text}", e.path);
        assert!(err.offset().is_some(), "{}: no offset in {text}", e.path);
    }
    let done = |r: &dedup_restore::TreeReport| {
        r.count(EntryStatus::Restored) + r.count(EntryStatus::Copied)
    };
    assert_eq!(
        done(&after) + failed.len(),
        done(&before),
        "every undamaged file still restores"
    );
}
