//! The reader on the real Windows Server 2019 data container (`fixtures`, see its README).

use std::path::Path;

use dedup_store::{Compression, Container, ContainerError, Located, ReadOptions, RecordType, hex};
use sha2::{Digest, Sha256};

struct Expected {
    offset: u32,
    local_id: u32,
    record_type: u16,
    stored_size: u32,
    logical_size: Option<u64>,
    compression: u32,
    hash: String,
}

fn load() -> (Vec<u8>, Vec<Expected>) {
    let path = test_support::ws2019_container();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let csv = std::fs::read_to_string(
        path.parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("expected_chunks.csv"),
    )
    .unwrap();
    let rows = csv
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.splitn(8, ',').collect();
            Expected {
                offset: u32::from_str_radix(f[0].trim_start_matches("0x"), 16).unwrap(),
                local_id: f[1].parse().unwrap(),
                record_type: f[2].parse().unwrap(),
                stored_size: f[3].parse().unwrap(),
                logical_size: f[4].parse().ok(),
                compression: f[5].parse().unwrap(),
                hash: f[6].to_owned(),
            }
        })
        .collect();
    (bytes, rows)
}

#[test]
fn header_slots_and_tables() {
    let (bytes, _) = load();
    let c = Container::open("real.ccc", &bytes[..]).unwrap();
    // Slots 1 and 2 both hold USN 2; the lowest of the two is chosen.
    assert_eq!(c.chosen_slot(), 1);
    let h = c.header();
    assert_eq!((h.usn, h.container_id, h.generation), (2, 1, 1));
    assert_eq!((h.chunk_count, h.next_local_id), (53, 54));
    assert_eq!(h.valid_data_length, 0x3C_9000);
    assert_eq!(h.backup_redirection_offset, 0x4000);
    let slot0 = c.slot_reports()[0].status.as_ref().unwrap();
    assert_eq!(
        (slot0.usn, slot0.chunk_count, slot0.next_local_id),
        (1, 39, 40)
    );
    assert_eq!(slot0.valid_data_length, 0x2C_3000);
    assert_eq!(c.slot_reports()[2].status.as_ref().unwrap(), h);
    for t in c.table_reports() {
        let t = t.status.as_ref().unwrap();
        assert!(t.entries.is_empty());
        assert_eq!(t.unknown_10, u64::MAX);
    }
}

#[test]
fn every_record_matches_the_expected_table_and_verifies() {
    let (bytes, expected) = load();
    let c = Container::open("real.ccc", &bytes[..]).unwrap();
    let records: Vec<_> = c.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), expected.len());
    assert_eq!(records.len(), 55);
    let mut scratch = Vec::new();
    let mut compressed = 0;
    for (r, e) in records.iter().zip(&expected) {
        assert_eq!(r.offset, e.offset);
        assert_eq!(r.local_id, e.local_id);
        assert_eq!(r.record_type.code(), e.record_type);
        assert_eq!(r.stored_size, e.stored_size);
        assert_eq!(
            r.compression.code(),
            if e.record_type == 4 { 0 } else { e.compression }
        );
        assert_eq!(r.unknown_14, [8, 8, 8]);
        if r.record_type == RecordType::Padding {
            assert_eq!(r.payload_crc, u64::MAX);
            assert_eq!((r.payload_end()) % 0x1000, 0, "padding ends on 4 KiB");
            continue;
        }
        assert_eq!(hex(&r.hash), e.hash);
        let logical = c
            .logical_payload(r, e.logical_size, &ReadOptions::default(), &mut scratch)
            .unwrap();
        assert_eq!(Some(logical.len() as u64), e.logical_size);
        if r.compression == Compression::Xpress {
            compressed += 1;
            assert_eq!(r.compression_copy, 2);
        }
    }
    assert_eq!(compressed, 8);
    assert_eq!(
        records
            .iter()
            .filter(|r| r.record_type == RecordType::Data)
            .count(),
        53
    );
}

fn carve(c: &Container<&[u8]>, ids: std::ops::RangeInclusive<u32>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut scratch = Vec::new();
    for id in ids {
        let (_, located, data) = c
            .read_chunk(id, None, None, &ReadOptions::default(), &mut scratch)
            .unwrap();
        assert_eq!(located, Located::Scan);
        out.extend_from_slice(data);
    }
    out
}

#[test]
fn carving_rebuilds_both_pdfs() {
    let (bytes, _) = load();
    let c = Container::open("real.ccc", &bytes[..]).unwrap();
    let first = carve(&c, 1..=39);
    assert_eq!(first.len(), 2_870_571);
    assert!(first.starts_with(b"%PDF-1.4"));
    assert_eq!(
        hex(&Sha256::digest(&first)),
        "3d1ce39c80b5801edc19f7f7b3f83cde0377173b8897ec3cd8a2e8b0c815755a"
    );
    let second = carve(&c, 40..=53);
    assert_eq!(second.len(), 1_147_609);
    assert!(second.starts_with(b"%PDF-1.7"));
    assert_eq!(
        hex(&Sha256::digest(&second)),
        "0c667c65a8c4e5525d8acfbe826168dfdb3b7708dfaef0b7fb596f73239cbe21"
    );
}

#[test]
fn find_by_hint_then_scan() {
    let (bytes, _) = load();
    let c = Container::open("real.ccc", &bytes[..]).unwrap();
    let (r, how) = c.find_record(40, Some(0x2C_3000)).unwrap();
    assert_eq!((r.offset, how), (0x2C_3000, Located::Hint));
    // A stale hint (another record's offset) falls back to the scan.
    let (r, how) = c.find_record(40, Some(0x5000)).unwrap();
    assert_eq!((r.offset, how), (0x2C_3000, Located::Scan));
    // A hint pointing into the middle of a payload.
    let (r, how) = c.find_record(2, Some(0x5008)).unwrap();
    assert_eq!((r.offset, how), (0xE5A8, Located::Scan));
    let err = c.find_record(54, Some(0x5000)).unwrap_err();
    assert!(
        matches!(err, ContainerError::ChunkNotFound { local_id: 54, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("real.ccc"));
}

#[test]
fn zero_copy_over_bytes_and_mmap() {
    let path = test_support::ws2019_container();
    let b = bytes::Bytes::from(std::fs::read(&path).unwrap());
    let c = Container::open(path.display().to_string(), b.clone()).unwrap();
    let (rec, _) = c.find_record(1, Some(0x5000)).unwrap();
    // A stored chunk comes straight out of the buffer, no copy.
    let mut scratch = Vec::new();
    let data = c
        .logical_payload(&rec, None, &ReadOptions::default(), &mut scratch)
        .unwrap();
    assert_eq!(data.as_ptr(), b[0x5058..].as_ptr());
    let file = std::fs::File::open(Path::new(&path)).unwrap();
    // SAFETY (test): the sample is read-only and nothing truncates it while mapped.
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(&file).unwrap() };
    let c = Container::open("mmap", map).unwrap();
    assert_eq!(c.records().count(), 55);
}

/// A stream map that claims a huge logical size for a chunk (64 MiB) makes the decoder report
/// the mismatch without first allocating what the map claims: room grows only as far as the
/// payload really decodes.
#[test]
fn a_claimed_size_is_not_allocated_before_it_is_decoded() {
    let (bytes, expected) = load();
    let c = Container::open("real.ccc", &bytes[..]).unwrap();
    let records: Vec<_> = c.records().collect::<Result<_, _>>().unwrap();
    let (r, e) = records
        .iter()
        .zip(&expected)
        .find(|(r, _)| r.compression == Compression::Xpress)
        .unwrap();
    let real = e.logical_size.unwrap();
    let mut scratch = Vec::new();
    let err = c
        .logical_payload(r, Some(64 << 20), &ReadOptions::default(), &mut scratch)
        .unwrap_err();
    assert!(
        matches!(
            err,
            dedup_store::ContainerError::LogicalSizeMismatch { expected, actual, .. }
                if expected == 64 << 20 && actual == real
        ),
        "{err}"
    );
    assert!(
        scratch.capacity() < 1 << 20,
        "{} bytes of room for a {real}-byte chunk",
        scratch.capacity()
    );
}
