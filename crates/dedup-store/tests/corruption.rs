//! Damage walked over a copy of the real container: single-byte flips in every class of
//! structure and truncations at every record boundary give typed errors, never panics.

use dedup_store::{
    Compression, Container, ContainerError, PayloadCrc, ReadOptions, RecordHeader, RecordType,
};

fn real() -> Vec<u8> {
    std::fs::read(test_support::ws2019_container()).unwrap()
}

/// Reads everything a restore would: every record, every chunk payload verified.
fn read_all(bytes: &[u8]) -> Result<usize, ContainerError> {
    let c = Container::open("copy.ccc", bytes)?;
    let mut scratch = Vec::new();
    let mut n = 0;
    for r in c.records() {
        let r = r?;
        if r.record_type != RecordType::Padding {
            c.logical_payload(&r, None, &ReadOptions::default(), &mut scratch)?;
        }
        n += 1;
    }
    Ok(n)
}

fn records(bytes: &[u8]) -> Vec<RecordHeader> {
    Container::open("copy.ccc", bytes)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn header_slot_flips() {
    let mut b = real();
    for slot in [0usize, 0x1000, 0x2000] {
        for i in 0..0x40 {
            b[slot + i] ^= 0x01;
            // One damaged slot: another valid one is used, and the damage is reported.
            let c = Container::open("copy.ccc", &b[..]).expect("a single bad slot is tolerated");
            let report = &c.slot_reports()[slot / 0x1000];
            assert!(
                report.status.is_err(),
                "flip at {:#x} not detected",
                slot + i
            );
            assert_eq!(c.header().usn, 2);
            b[slot + i] ^= 0x01;
        }
    }
    // The same byte damaged in all three slots: no header at all.
    for i in 0..0x40 {
        for slot in [0usize, 0x1000, 0x2000] {
            b[slot + i] ^= 0x80;
        }
        let err = Container::open("copy.ccc", &b[..]).unwrap_err();
        assert!(matches!(err, ContainerError::NoValidHeader { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("copy.ccc: no valid Cthr header slot")
        );
        for slot in [0usize, 0x1000, 0x2000] {
            b[slot + i] ^= 0x80;
        }
    }
}

#[test]
fn redirection_table_flips() {
    let mut b = real();
    for i in 0..0x20 {
        b[0x3000 + i] ^= 0x04;
        let c = Container::open("copy.ccc", &b[..]).expect("the backup table is used");
        assert!(
            c.table_reports()[0].status.is_err(),
            "flip at {:#x}",
            0x3000 + i
        );
        assert!(c.table_reports()[1].status.is_ok());
        b[0x4000 + i] ^= 0x04;
        let err = Container::open("copy.ccc", &b[..]).unwrap_err();
        assert_eq!(err.offset(), Some(0x3000), "{err}");
        b[0x3000 + i] ^= 0x04;
        b[0x4000 + i] ^= 0x04;
    }
}

#[test]
fn record_header_and_payload_flips() {
    let mut b = real();
    let recs = records(&b);
    for r in &recs {
        let start = r.offset as usize;
        for i in start..start + r.header_len() {
            b[i] ^= 0x10;
            let c = Container::open("copy.ccc", &b[..]).unwrap();
            let err = c.records().find_map(Result::err).unwrap_or_else(|| {
                panic!("flip at {i:#x} in the header of the record at {start:#x} not detected")
            });
            assert_eq!(err.offset(), Some(u64::from(r.offset)), "{err}");
            b[i] ^= 0x10;
        }
        if r.record_type == RecordType::Padding {
            continue;
        }
        let c_payload = r.payload_offset() as usize;
        let end = r.payload_end() as usize;
        for i in [
            c_payload,
            c_payload + 1,
            usize::midpoint(c_payload, end),
            end - 1,
        ] {
            b[i] ^= 0x20;
            let c = Container::open("copy.ccc", &b[..]).unwrap();
            let rec = c.record_at(u64::from(r.offset)).unwrap();
            let err = c
                .logical_payload(&rec, None, &ReadOptions::default(), &mut Vec::new())
                .unwrap_err();
            assert!(
                matches!(err, ContainerError::CrcMismatch { what: "payload", local_id: Some(id), .. } if id == r.local_id),
                "{err}"
            );
            b[i] ^= 0x20;
        }
    }
    assert_eq!(read_all(&b).unwrap(), 55, "all flips were undone");
}

#[test]
fn hash_checked_even_when_crc_is_recomputed() {
    let mut b = real();
    // Damage a stored payload and fix up its CRC-64 (as a buggy tool might): the chunk hash
    // still catches it, naming the local id.
    let r = records(&b)[0];
    b[r.payload_offset() as usize + 100] ^= 0xFF;
    let crc = dedup_store::crc64(&b[r.payload_offset() as usize..r.payload_end() as usize]);
    b[r.offset as usize + 0x48..r.offset as usize + 0x50].copy_from_slice(&crc.to_le_bytes());
    let hcrc = dedup_store::crc64(&b[r.offset as usize..r.offset as usize + 0x50]);
    b[r.offset as usize + 0x50..r.offset as usize + 0x58].copy_from_slice(&hcrc.to_le_bytes());
    let err = read_all(&b).unwrap_err();
    assert!(
        matches!(
            err,
            ContainerError::HashMismatch {
                local_id: 1,
                offset: 0x5000,
                ..
            }
        ),
        "{err}"
    );
    // …unless the caller switched hash checks off.
    let c = Container::open("copy.ccc", &b[..]).unwrap();
    let opts = ReadOptions {
        verify_hash: false,
        ..ReadOptions::default()
    };
    assert!(c.read_chunk(1, None, None, &opts, &mut Vec::new()).is_ok());
}

#[test]
fn truncations_at_record_boundaries() {
    let b = real();
    let recs = records(&b);
    let mut cuts: Vec<usize> = recs.iter().map(|r| r.offset as usize).collect();
    cuts.extend(recs.iter().map(|r| r.payload_offset() as usize));
    cuts.push(b.len() - 1);
    for cut in cuts {
        let err = Container::open("copy.ccc", &b[..cut]).unwrap_err();
        assert!(
            matches!(err, ContainerError::Truncated { vdl: 0x3C_9000, len, .. } if len == cut as u64),
            "cut at {cut:#x}: {err}"
        );
    }
    for cut in [0, 1, 0x40, 0x1000, 0x3000, 0x4FFF] {
        let err = Container::open("copy.ccc", &b[..cut]).unwrap_err();
        assert!(
            matches!(err, ContainerError::TooSmall { .. }),
            "cut at {cut:#x}: {err}"
        );
    }
}

#[test]
fn compressed_payload_damage_with_fixed_crc_is_a_decode_or_hash_error() {
    let mut b = real();
    let r = *records(&b).iter().find(|r| r.local_id == 40).unwrap();
    let (p, e) = (r.payload_offset() as usize, r.payload_end() as usize);
    for (k, i) in (p..e).step_by(997).enumerate() {
        let saved = b[i];
        b[i] = b[i].wrapping_add(1 + k as u8);
        let crc = dedup_store::crc64(&b[p..e]);
        let o = r.offset as usize;
        b[o + 0x48..o + 0x50].copy_from_slice(&crc.to_le_bytes());
        let hcrc = dedup_store::crc64(&b[o..o + 0x50]);
        b[o + 0x50..o + 0x58].copy_from_slice(&hcrc.to_le_bytes());
        let c = Container::open("copy.ccc", &b[..]).unwrap();
        let err = c
            .read_chunk(40, None, None, &ReadOptions::default(), &mut Vec::new())
            .unwrap_err();
        assert!(
            matches!(
                err,
                ContainerError::Decompress { .. } | ContainerError::HashMismatch { .. }
            ),
            "{err}"
        );
        b[i] = saved;
    }
}

/// `PayloadCrc::OnFailure` computes the CRC only after a decode, size or hash failure, so every
/// payload flip of the real chunks gives the same error as `Always` (a CRC mismatch); the one
/// damage it lets through is an unused flag bit after the last token of a compressed chunk,
/// where the logical payload is still exact.
#[test]
fn payload_crc_after_a_failure_reports_the_same_errors() {
    let b = real();
    let always = ReadOptions::default();
    let on_failure = ReadOptions {
        payload_crc: PayloadCrc::OnFailure,
        ..ReadOptions::default()
    };
    let unhashed = ReadOptions {
        verify_hash: false,
        ..on_failure
    };
    let read = |bytes: &[u8], id: u32, opts: &ReadOptions| {
        let c = Container::open("copy.ccc", bytes).unwrap();
        c.read_chunk(id, None, None, opts, &mut Vec::new())
            .map(|(_, _, d)| d.to_vec())
    };
    let mut flips = 0;
    let mut compressed = 0;
    for r in records(&b) {
        if r.record_type != RecordType::Data {
            continue;
        }
        let original = read(&b, r.local_id, &always).unwrap();
        let (p, e) = (r.payload_offset() as usize, r.payload_end() as usize);
        let mut copy = b.clone();
        for i in (p..e).step_by(4099) {
            copy[i] ^= 0x10;
            let want = read(&copy, r.local_id, &always).unwrap_err();
            assert!(matches!(want, ContainerError::CrcMismatch { .. }), "{want}");
            assert_eq!(
                read(&copy, r.local_id, &on_failure),
                Err(want),
                "flip at {i:#x}"
            );
            copy[i] ^= 0x10;
            flips += 1;
        }
        if r.compression == Compression::Xpress {
            compressed += 1;
            let (word_at, used) = test_support::xpress_last_flag_word(&b[p..e]);
            assert!(
                used < 32,
                "chunk {}: its last flag word has unused flags",
                r.local_id
            );
            // Bit 0 of the little-endian word is its 32nd flag, never used here.
            copy[p + word_at] ^= 1;
            assert!(matches!(
                read(&copy, r.local_id, &always),
                Err(ContainerError::CrcMismatch { .. })
            ));
            assert!(matches!(
                read(&copy, r.local_id, &unhashed),
                Err(ContainerError::CrcMismatch { .. })
            ));
            assert_eq!(read(&copy, r.local_id, &on_failure), Ok(original));
        }
    }
    assert_eq!(compressed, 8, "the sample's compressed chunks");
    assert!(flips > 100, "{flips} flips");
}
