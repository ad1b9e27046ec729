//! Our record parser on real Windows Server 2019 bytes (`fixtures/dedup`, see its
//! README): the first 256 `$MFT` records of a dedup volume and one `INDX` block of its
//! `$Extend\$Reparse:$R` index.

use std::collections::BTreeSet;
use std::path::PathBuf;

use ntfs_source::record::{
    FileName, FileRecord, IndexBlock, NAMESPACE_DOS, ReparseKey, StandardInformation, Value,
    attr_flags, attr_type, record_number,
};

const RECORD: usize = 1024;
use dedup_reparse::IO_REPARSE_TAG_DEDUP;

fn sample() -> PathBuf {
    test_support::fixture("dedup/ws2019-windedup-extracter")
}

/// Records 51, 52, 77–96, 103, 105–121 (the sample's README).
fn expected_records() -> BTreeSet<u64> {
    let mut s: BTreeSet<u64> = [51, 52, 103].into_iter().collect();
    s.extend(77..=96);
    s.extend(105..=121);
    s
}

#[test]
fn the_41_dedup_files_of_the_real_mft() {
    let dir = sample();
    let mft = std::fs::read(dir.join("MFT.bin")).unwrap();
    assert_eq!(mft.len(), 256 * RECORD);
    let mut found = BTreeSet::new();
    for (n, raw) in mft.chunks_exact(RECORD).enumerate() {
        let n = n as u64;
        let Ok(rec) = FileRecord::parse(raw, n) else {
            continue;
        };
        let attrs = rec.all_attributes().unwrap_or_else(|e| panic!("{e}"));
        let Some(reparse) = attrs.iter().find(|a| a.ty == attr_type::REPARSE_POINT) else {
            continue;
        };
        assert!(rec.in_use(), "record {n}");
        found.insert(n);
        // The name (Win32 namespace) and the logical size go together.
        let name = attrs
            .iter()
            .filter(|a| a.ty == attr_type::FILE_NAME)
            .filter_map(|a| match a.value {
                Value::Resident(v) => FileName::parse(v),
                Value::NonResident(_) => None,
            })
            .find(|f| f.namespace != NAMESPACE_DOS)
            .unwrap_or_else(|| panic!("record {n}: no name"));
        assert_eq!(record_number(name.parent), 5, "record {n}: in the root");
        let name = name.name_lossy();
        let data = attrs
            .iter()
            .find(|a| a.ty == attr_type::DATA && a.name.is_empty())
            .unwrap_or_else(|| panic!("record {n}: no $DATA"));
        let want = if name.starts_with("DEDUPTEST") {
            2_870_571
        } else {
            assert!(name.starts_with("OtherFile"), "record {n}: {name}");
            1_147_609
        };
        assert!(
            std::path::Path::new(&name)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("pdf")),
            "{name}"
        );
        assert_eq!(data.value_len(), want, "record {n} ({name}): logical size");
        // Sparse, with no cluster at all.
        assert_ne!(
            data.flags & attr_flags::SPARSE,
            0,
            "record {n}: sparse flag"
        );
        let Value::NonResident(d) = &data.value else {
            panic!("record {n}: resident $DATA")
        };
        assert!(d.runs.iter().all(|r| r.lcn.is_none()), "{:?}", d.runs);
        assert_eq!(
            d.allocated_size,
            d.runs.iter().map(|r| r.clusters).sum::<u64>() * 4096
        );
        assert_eq!(d.initialized_size, want);
        // $STANDARD_INFORMATION: ARCHIVE | SPARSE_FILE | REPARSE_POINT.
        let si = attrs
            .iter()
            .find(|a| a.ty == attr_type::STANDARD_INFORMATION)
            .and_then(|a| match a.value {
                Value::Resident(v) => StandardInformation::parse(v),
                Value::NonResident(_) => None,
            })
            .unwrap();
        assert_eq!(si.attributes, 0x620, "record {n}");
        // A non-resident 392-byte $REPARSE_POINT in one cluster of its own.
        let Value::NonResident(r) = &reparse.value else {
            panic!("record {n}: resident $REPARSE_POINT")
        };
        assert_eq!(r.data_size, 392, "record {n}");
        assert_eq!(r.initialized_size, 392);
        assert_eq!(r.allocated_size, 4096);
        assert_eq!(r.runs.len(), 1, "{:?}", r.runs);
        assert_eq!(r.runs[0].clusters, 1);
        assert!(r.runs[0].lcn.is_some_and(|l| l > 0), "{:?}", r.runs);
    }
    assert_eq!(found, expected_records());
    // Record 51's reparse point, decoded by hand from the bytes: run header 0x21, one cluster
    // at LCN 0x795f.
    let rec = FileRecord::parse(&mft[51 * RECORD..52 * RECORD], 51).unwrap();
    let a = rec.find(attr_type::REPARSE_POINT, &[]).unwrap().unwrap();
    let Value::NonResident(r) = a.value else {
        panic!()
    };
    assert_eq!(r.runs[0].lcn, Some(0x795f));
}

#[test]
fn the_reparse_index_lists_exactly_the_dedup_files() {
    let dir = sample();
    let raw = std::fs::read(dir.join("Reparse_R.indx")).unwrap();
    let block = IndexBlock::parse(&raw).unwrap();
    assert_eq!(block.vcn, 0);
    assert!(!block.has_subnodes);
    let keys: Vec<ReparseKey> = block
        .entries()
        .unwrap()
        .iter()
        .map(|e| ReparseKey::parse(e.key).expect("a 12-byte $R key"))
        .collect();
    assert!(
        keys.iter().all(|k| k.tag == IO_REPARSE_TAG_DEDUP),
        "{keys:x?}"
    );
    let files: BTreeSet<u64> = keys.iter().map(|k| record_number(k.file)).collect();
    assert_eq!(keys.len(), files.len(), "one key per file");
    assert_eq!(files, expected_records());
    // Each key's sequence number matches its record's.
    let mft = std::fs::read(dir.join("MFT.bin")).unwrap();
    for k in &keys {
        let n = record_number(k.file);
        let off = n as usize * RECORD;
        let rec = FileRecord::parse(&mft[off..off + RECORD], n).unwrap();
        assert_eq!((k.file >> 48) as u16, rec.sequence, "record {n}");
    }
}

#[test]
fn every_record_of_the_real_mft_parses_or_fails_with_its_number() {
    let dir = sample();
    let mft = std::fs::read(dir.join("MFT.bin")).unwrap();
    let mut parsed = 0;
    for (n, raw) in mft.chunks_exact(RECORD).enumerate() {
        match FileRecord::parse(raw, n as u64) {
            Ok(r) => {
                r.all_attributes().unwrap();
                parsed += 1;
            }
            Err(e) => {
                // Only never-used slots (no "FILE" signature) fail, naming their record.
                assert_ne!(&raw[..4], b"FILE", "{e}");
                assert!(
                    e.to_string()
                        .starts_with(&format!("MFT record {n}, offset 0x0:")),
                    "{e}"
                );
            }
        }
    }
    assert_eq!(parsed, 116, "records parsed");
}
