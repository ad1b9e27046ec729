//! Build → parse → equal for each layout, CRC checked; exact round trip of kept fields; typed
//! errors with offsets.

mod common;

use common::{GUID, all_buffers, entry, fresh};
use dedup_reparse::{
    BuildError, CrcSpan, DedupReparse, FileTime, Framing, Guid, IO_REPARSE_TAG_DEDUP, Layout,
    LayoutVersion, ParseError, ReferenceEntry, ReparseV1, ReparseV2, ReparseV3, StreamMapHash,
    V1_LEN,
};

fn trailing_crc_ok(data: &[u8]) -> bool {
    let n = data.len();
    crc32fast::hash(&data[..n - 4]).to_le_bytes() == data[n - 4..]
}

#[test]
fn each_layout_round_trips_with_crc() {
    for version in [LayoutVersion::V1, LayoutVersion::V2, LayoutVersion::V3] {
        let built = fresh(version);
        let buf = built.to_buffer().unwrap();
        let data = built.to_data().unwrap();
        assert_eq!(&buf[..4], &IO_REPARSE_TAG_DEDUP.to_le_bytes());
        assert_eq!(
            usize::from(u16::from_le_bytes([buf[4], buf[5]])),
            data.len()
        );
        assert_eq!(&buf[8..], &data[..]);
        assert_eq!(&data[..2], &version.magic());
        assert_eq!(
            usize::from(u16::from_le_bytes([data[2], data[3]])),
            data.len()
        );
        assert!(trailing_crc_ok(&data), "{version:?}: trailing CRC-32");

        let parsed = DedupReparse::parse(&buf).unwrap();
        assert_eq!(parsed, built, "{version:?}");
        assert_eq!(parsed.version(), version);
        assert_eq!(parsed.guid().to_string(), GUID);
        assert_eq!(parsed.logical_size(), 1_234_567);
        let e = parsed.entries();
        assert_eq!(e.len(), 1);
        let mut want = entry(version);
        want.range_begin = 0;
        want.range_end = 1_234_567;
        assert_eq!(e[0], want);
        assert_eq!(parsed.to_bytes().unwrap(), buf);

        let bare = DedupReparse::parse(&data).unwrap();
        assert_eq!(bare.framing, Framing::Bare);
        assert_eq!(bare.to_bytes().unwrap(), data);
        assert_eq!(DedupReparse::parse_data(&data).unwrap(), bare);
        assert_eq!(DedupReparse::parse_buffer(&buf).unwrap(), parsed);
    }
}

#[test]
fn layout_sizes_match_the_spec() {
    assert_eq!(fresh(LayoutVersion::V1).to_data().unwrap().len(), V1_LEN);
    assert_eq!(fresh(LayoutVersion::V2).to_data().unwrap().len(), 0x100);
    assert_eq!(fresh(LayoutVersion::V3).to_data().unwrap().len(), 0x184);
    // v1: stream-map hash at data 0x58 (docs/dedup-format.md §1.4, STONKS).
    let d = fresh(LayoutVersion::V1).to_data().unwrap();
    assert_eq!(&d[0x58..0x78], entry(LayoutVersion::V1).hash.as_bytes());
    assert_eq!(&d[0x08..0x10], &1_234_567u64.to_le_bytes());
    // v2: GUID at 0x74, entries at 0x94 (docs/dedup-format.md §1.5).
    let d = fresh(LayoutVersion::V2).to_data().unwrap();
    assert_eq!(&d[0x74..0x84], GUID.parse::<Guid>().unwrap().as_bytes());
    assert_eq!(&d[0x94 + 0x30..0x94 + 0x38], &1_234_567u64.to_le_bytes());
    // v3: GUID at 0x64, size at 0x7C, entry at DdRp+0x34 = 0x140 (docs/dedup-format.md §1.6).
    let d = fresh(LayoutVersion::V3).to_data().unwrap();
    assert_eq!(&d[0x64..0x74], GUID.parse::<Guid>().unwrap().as_bytes());
    assert_eq!(&d[0x7C..0x84], &1_234_567u64.to_le_bytes());
    assert_eq!(&d[0x10C..0x110], b"DdRp");
    assert_eq!(&d[0x140..0x144], &0x2Au32.to_le_bytes());
    assert_eq!(&d[0x140 + 0x30..0x140 + 0x38], &1_234_567u64.to_le_bytes());
}

#[test]
fn v1_unknown_fields_survive() {
    let mut p = ReparseV1::new(GUID.parse().unwrap(), 99, entry(LayoutVersion::V1));
    p.unknown_04 = 0xDEAD_BEEF;
    p.unknown_10 = [7; 8];
    p.unknown_28 = [9; 16];
    p.entry.unknown_1c = 0x55;
    let bytes = p.to_bytes().unwrap();
    let back = ReparseV1::parse(&bytes, 0).unwrap();
    assert_eq!(back, p);
    assert_eq!(back.to_bytes().unwrap(), bytes);
}

#[test]
fn v2_multiple_entries_and_unknown_rows() {
    let mut es = Vec::new();
    for i in 0..3u64 {
        let mut e = entry(LayoutVersion::V2);
        e.local_id = i as u32 + 1;
        e.range_begin = i * 1000;
        e.range_end = (i + 1) * 1000;
        es.push(e);
    }
    let mut p = ReparseV2::new(GUID.parse().unwrap(), es.clone()).unwrap();
    // Fill the unknown scalars and the stream key.
    p.set_row_value(0, &[1, 2, 3, 4]).unwrap();
    p.set_row_value(7, &[0x5A; 32]).unwrap();
    assert!(matches!(
        p.set_row_value(0, &[1, 2]),
        Err(BuildError::FieldSize {
            slot: 4,
            actual: 2,
            ..
        })
    ));
    assert!(p.set_row_value(9, &[]).is_err(), "row 9 is the empty slot");
    let bytes = p.to_bytes().unwrap();
    assert_eq!(bytes.len(), 0x100 + 2 * 64);
    let back = ReparseV2::parse(&bytes, 0).unwrap();
    assert_eq!(back.entries, es);
    assert_eq!(back.logical_size(), 3000);
    assert_eq!(back.field(4), Some(&[1u8, 2, 3, 4][..]));
    assert_eq!(back.stream_key(), Some(&[0x5A; 32][..]));
    assert_eq!(back.rows().len(), 11);
    assert!(back.rows()[9].is_empty_slot());
    assert_eq!(back.to_bytes().unwrap(), bytes);

    // The kept table cannot grow.
    let mut grown = back.clone();
    grown.entries.push(es[0]);
    assert_eq!(
        grown.to_bytes(),
        Err(BuildError::EntryCount {
            slots: 3,
            actual: 4
        })
    );
    assert_eq!(
        ReparseV2::new(Guid::NIL, Vec::new()),
        Err(BuildError::NoEntries)
    );
}

#[test]
fn v2_zero_row_is_an_empty_slot_not_a_terminator() {
    // The fresh layout has the zero row at index 9 and a real id-5 row after it (HYDR).
    let p = ReparseV2::new(GUID.parse().unwrap(), vec![entry(LayoutVersion::V2)]).unwrap();
    let rows = p.rows();
    assert!(rows[9].is_empty_slot());
    assert_eq!((rows[10].id, rows[10].size, rows[10].offset), (5, 8, 0xF4));
    // Move the GUID row after the empty slot: still found.
    let mut d = p.to_bytes().unwrap();
    let (guid_at, empty_at) = (8 + 4 * 8, 8 + 9 * 8);
    let guid_row: Vec<u8> = d[guid_at..guid_at + 8].to_vec();
    let empty: Vec<u8> = d[empty_at..empty_at + 8].to_vec();
    d[guid_at..guid_at + 8].copy_from_slice(&empty);
    d[empty_at..empty_at + 8].copy_from_slice(&guid_row);
    let n = d.len();
    let c = crc32fast::hash(&d[..n - 4]);
    d[n - 4..].copy_from_slice(&c.to_le_bytes());
    let back = ReparseV2::parse(&d, 0).unwrap();
    assert_eq!(back.guid.to_string(), GUID);
    assert!(back.rows()[4].is_empty_slot());
    assert_eq!(back.to_bytes().unwrap(), d);
}

/// Re-seals the FeRp CRC of built v3 data with `crc` and fixes the trailing CRC.
fn with_ferp_crc(mut d: Vec<u8>, crc: u32) -> Vec<u8> {
    d[8..12].copy_from_slice(&crc.to_le_bytes());
    let n = d.len();
    let c = crc32fast::hash(&d[..n - 4]);
    d[n - 4..].copy_from_slice(&c.to_le_bytes());
    d
}

#[test]
fn v3_chunk_crc_is_lenient_on_read_and_reports_the_span() {
    let d = fresh(LayoutVersion::V3).to_data().unwrap();
    let fe = &d[4..d.len() - 4];
    let p = ReparseV3::parse(&d, 0).unwrap();
    assert_eq!(p.ferp().crc_span(), Some(CrcSpan::AfterCrc));
    assert_eq!(p.ferp().stored_crc(), crc32fast::hash(&fe[8..]));

    // Whole chunk with the CRC field zeroed.
    let mut z = fe.to_vec();
    z[4..8].fill(0);
    let alt = with_ferp_crc(d.clone(), crc32fast::hash(&z));
    let p = ReparseV3::parse(&alt, 0).unwrap();
    assert_eq!(p.ferp().crc_span(), Some(CrcSpan::WholeCrcZeroed));
    assert_eq!(
        p.to_bytes().unwrap(),
        alt,
        "round trip keeps the detected span"
    );

    // From the size field.
    let alt = with_ferp_crc(d.clone(), crc32fast::hash(&fe[0x0C..]));
    assert_eq!(
        ReparseV3::parse(&alt, 0).unwrap().ferp().crc_span(),
        Some(CrcSpan::AfterSize)
    );

    // A JPA126-style shorter span from offset 8.
    let alt = with_ferp_crc(d.clone(), crc32fast::hash(&fe[8..0x100]));
    assert_eq!(
        ReparseV3::parse(&alt, 0).unwrap().ferp().crc_span(),
        Some(CrcSpan::AfterCrcPrefix { len: 0xF8 })
    );

    // No known span: accepted (the trailing CRC covers it), reported as None, kept verbatim.
    let alt = with_ferp_crc(d.clone(), 0x1234_5678);
    let mut p = ReparseV3::parse(&alt, 0).unwrap();
    assert_eq!(p.ferp().crc_span(), None);
    assert_eq!(p.to_bytes().unwrap(), alt);
    // Once modified, it is resealed with the documented span 08..size.
    p.logical_size = 42;
    let out = p.to_bytes().unwrap();
    let q = ReparseV3::parse(&out, 0).unwrap();
    assert_eq!(q.logical_size, 42);
    assert_eq!(q.ferp().crc_span(), Some(CrcSpan::AfterCrc));
}

#[test]
fn v3_modified_fields_are_written_and_resealed() {
    let Layout::V3(mut p) = fresh(LayoutVersion::V3).layout else {
        unreachable!()
    };
    p.entry.offset_hint = 0x7777;
    p.created = Some(FileTime(5));
    p.flags = Some(3);
    let out = p.to_bytes().unwrap();
    let q = ReparseV3::parse(&out, 0).unwrap();
    assert_eq!(q.entry.offset_hint, 0x7777);
    assert_eq!(q.created, Some(FileTime(5)));
    assert_eq!(q.flags, Some(3));
    assert_eq!(q.ddrp().crc_span(), Some(CrcSpan::AfterCrc));
    assert_eq!(q.id_ref.unwrap().local_id, 0x2A);
}

#[test]
fn build_errors_are_typed() {
    let g: Guid = GUID.parse().unwrap();
    let short = entry(LayoutVersion::V2);
    let long = entry(LayoutVersion::V1);
    assert!(matches!(
        DedupReparse::new(LayoutVersion::V1, g, 1, short, FileTime(0)),
        Err(BuildError::HashWidth {
            layout: "v1",
            expected: 32,
            actual: 16,
            ..
        })
    ));
    assert!(matches!(
        DedupReparse::new(LayoutVersion::V2, g, 1, long, FileTime(0)),
        Err(BuildError::HashWidth {
            layout: "v2",
            expected: 16,
            actual: 32,
            ..
        })
    ));
    assert!(matches!(
        DedupReparse::new(LayoutVersion::V3, g, 1, long, FileTime(0)),
        Err(BuildError::HashWidth {
            layout: "v3",
            expected: 16,
            actual: 32,
            ..
        })
    ));
    let many = vec![short; 1100];
    assert!(matches!(
        ReparseV2::new(g, many),
        Err(BuildError::TooLong { .. })
    ));
}

#[test]
fn parse_errors_name_offsets() {
    let bufs = all_buffers();
    let (_, v1) = &bufs[0];

    let mut wrong_tag = v1.clone();
    wrong_tag[..4].copy_from_slice(&0xA000_000Cu32.to_le_bytes());
    assert_eq!(
        DedupReparse::parse(&wrong_tag).unwrap_err(),
        ParseError::WrongTag {
            offset: 0,
            expected: IO_REPARSE_TAG_DEDUP,
            actual: 0xA000_000C
        }
    );

    let mut short_len = v1.clone();
    short_len[4] = 0x7B;
    assert!(matches!(
        DedupReparse::parse(&short_len).unwrap_err(),
        ParseError::LengthMismatch {
            offset: 4,
            expected: 0x7C,
            actual: 0x7B,
            ..
        }
    ));

    let mut bad_crc = v1.clone();
    let n = bad_crc.len();
    bad_crc[n - 1] ^= 0xFF;
    let err = DedupReparse::parse(&bad_crc).unwrap_err();
    assert!(
        matches!(
            err,
            ParseError::CrcMismatch {
                offset: 0x80,
                span_start: 8,
                span_end: 0x80,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("0x80"), "{err}");

    assert_eq!(
        DedupReparse::parse(&[0x04, 0x01, 0, 0]).unwrap_err(),
        ParseError::UnknownVersion {
            offset: 0,
            actual: [4, 1]
        }
    );
    assert!(matches!(
        DedupReparse::parse(&[]).unwrap_err(),
        ParseError::Truncated { offset: 0, .. }
    ));
    assert!(matches!(
        DedupReparse::parse(&[0x13, 0, 0, 0x80, 0]).unwrap_err(),
        ParseError::Truncated { offset: 4, .. }
    ));

    // A v3 whose DdRp magic is wrong (CRC fixed up so the structure check is reached).
    let (_, v3) = &bufs[2];
    let mut d = v3[8..].to_vec();
    d[0x10C] = b'X';
    let n = d.len();
    let c = crc32fast::hash(&d[..n - 4]);
    d[n - 4..].copy_from_slice(&c.to_le_bytes());
    assert_eq!(
        DedupReparse::parse(&d).unwrap_err(),
        ParseError::BadMagic {
            offset: 0x10C,
            expected: *b"DdRp",
            actual: *b"XdRp"
        }
    );
}

#[test]
fn reference_entry_encodings() {
    let e = ReferenceEntry::new(1, 2, 3, 72, StreamMapHash::Short([9; 16]), 10..20);
    let b = e.to_bytes().unwrap();
    assert_eq!(ReferenceEntry::from_bytes(&b), e);
    assert_eq!(&b[0x30..0x38], &20u64.to_le_bytes());
    assert_eq!(&b[0x38..0x40], &10u64.to_le_bytes());
    assert_eq!(&b[0x1C..0x20], &64u32.to_le_bytes());
    assert!(e.to_bytes_v1().is_none());
    let l = ReferenceEntry::new(1, 2, 3, 72, StreamMapHash::Long([8; 32]), 0..5);
    assert_eq!(
        ReferenceEntry::from_bytes_v1(&l.to_bytes_v1().unwrap(), 5),
        l
    );
    assert!(l.to_bytes().is_none());
}
