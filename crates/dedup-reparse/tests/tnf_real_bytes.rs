//! Byte-level tests against the only real dedup reparse bytes we have: the first 0xCD bytes of
//! a v3 buffer printed in a public TechNet forum post (TNF; `fixtures/dedup/
//! tnf-v3-reparse-prefix/`). The bytes are embedded here so the test runs without `shared/`;
//! when the folder is present the embedded copy is checked against it.

use dedup_reparse::{
    CrcSpan, DedupReparse, FileTime, Guid, ParseError, PropertyEntry, ReferenceEntry, ReparseV3,
    StreamMapHash, inspect_v3_prefix, prop_type,
};

/// `reparse-data-prefix.bin`: reparse data (no 8-byte buffer header), 205 bytes.
const TNF: [u8; 0xCD] = [
    0x03, 0x01, 0x84, 0x01, 0x46, 0x65, 0x52, 0x70, 0xbc, 0xf4, 0xb6, 0xb5, 0x7c, 0x01, 0x00,
    0x00, //
    0x00, 0x00, 0x09, 0x00, 0x0a, 0x00, 0x04, 0x00, 0x5c, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x04,
    0x00, //
    0x58, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x10, 0x00, 0x60, 0x00, 0x00, 0x00, 0x0b, 0x00, 0x08,
    0x00, //
    0x70, 0x00, 0x00, 0x00, 0x06, 0x00, 0x08, 0x00, 0x78, 0x00, 0x00, 0x00, 0x05, 0x00, 0x04,
    0x00, //
    0x80, 0x00, 0x00, 0x00, 0x09, 0x00, 0x04, 0x00, 0x84, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x80,
    0x00, //
    0x88, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x74, 0x00, 0x08, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, //
    0x01, 0x00, 0x00, 0x00, 0xfa, 0x7b, 0x1b, 0x5d, 0x3e, 0xb7, 0xa0, 0x42, 0x95, 0xcb, 0x91,
    0xce, //
    0x19, 0x21, 0xcf, 0xb2, 0x59, 0xf8, 0x51, 0x72, 0x66, 0x6f, 0xd3, 0x01, 0x8c, 0x4d, 0x04,
    0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x52, 0x62, 0x52,
    0x70, //
    0x21, 0x61, 0x0d, 0x2b, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0a, 0x00, 0x04,
    0x00, //
    0x50, 0x00, 0x00, 0x00, 0x09, 0x00, 0x04, 0x00, 0x74, 0x00, 0x00, 0x00, 0x09, 0x00, 0x04,
    0x00, //
    0x70, 0x00, 0x00, 0x00, 0x06, 0x00, 0x08, 0x00, 0x78, 0x00, 0x00, 0x00, 0x06, 0x00, 0x08,
    0x00, //
    0x54, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x10, 0x00, 0x5c, 0x00, 0x00, 0x00, 0x00,
];

const TNF_GUID: &str = "{5D1B7BFA-B73E-42A0-95CB-91CE1921CFB2}";
const TNF_FILETIME: u64 = 0x01D3_6F66_7251_F859;
const TNF_SIZE: u64 = 281_996;

fn pe(ty: u16, size: u16, offset: u32) -> PropertyEntry {
    PropertyEntry { ty, size, offset }
}

#[test]
fn embedded_bytes_match_the_fixture_file() {
    let file = test_support::fixture("dedup/tnf-v3-reparse-prefix/reparse-data-prefix.bin");
    let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert_eq!(
        bytes,
        TNF,
        "embedded TNF bytes differ from {}",
        file.display()
    );
}

#[test]
fn guid_bytes_display_as_windows_does() {
    let mut b = [0u8; 16];
    b.copy_from_slice(&TNF[0x64..0x74]);
    let g = Guid(b);
    assert_eq!(g.to_string(), TNF_GUID);
    assert_eq!(TNF_GUID.parse::<Guid>().unwrap(), g);
    assert_eq!(
        TNF_GUID
            .to_lowercase()
            .trim_matches(['{', '}'])
            .parse::<Guid>()
            .unwrap(),
        g
    );
    assert_eq!(g.fields().0, 0x5D1B_7BFA);
    assert!(
        "{5D1B7BFA-B73E-42A0-95CB-91CE1921CFB}"
            .parse::<Guid>()
            .is_err()
    );
    assert!(
        "5D1B7BFA-B73E-42A0-95CB-91CE1921CFB2}"
            .parse::<Guid>()
            .is_err()
    );
}

#[test]
fn lenient_inspect_decodes_the_truncated_real_buffer() {
    let p = inspect_v3_prefix(&TNF).unwrap();
    assert_eq!(p.declared_length, 0x184);
    assert_eq!(p.available, 0xCD);
    assert!(!p.is_complete());
    assert_eq!(&p.ferp.magic, b"FeRp");
    assert_eq!(p.ferp.data_offset, 4);
    assert_eq!(p.ferp.stored_crc, 0xB5B6_F4BC);
    assert_eq!(p.ferp.size, 0x17C);
    // FeRp size + version/length + trailing CRC = reparse-data length.
    assert_eq!(p.ferp.size as usize + 8, usize::from(p.declared_length));
    assert_eq!(p.ferp.entry_count, 9);
    assert_eq!(
        p.ferp.entries,
        vec![
            pe(prop_type::VERSION, 4, 0x5C),
            pe(prop_type::VERSION, 4, 0x58),
            pe(prop_type::GUID, 16, 0x60),
            pe(prop_type::FILETIME, 8, 0x70),
            pe(prop_type::U64, 8, 0x78),
            pe(prop_type::ID, 4, 0x80),
            pe(prop_type::FLAG, 4, 0x84),
            pe(prop_type::BLOB, 0x80, 0x88),
            pe(prop_type::BLOB, 0x74, 0x108),
        ]
    );
    assert_eq!(p.version, Some(1));
    assert_eq!(p.flags, Some(0));
    assert_eq!(p.guid.unwrap().to_string(), TNF_GUID);
    let created = p.created.unwrap();
    assert_eq!(created, FileTime(TNF_FILETIME));
    // 2017-12-07 14:19:51 UTC.
    assert_eq!(created.unix_seconds(), 1_512_656_391);
    assert_eq!(p.logical_size, Some(TNF_SIZE));
    // RbRp header at data 0x8C (FeRp offset 0x88 + 4); DdRp at 0x10C is beyond the prefix.
    assert_eq!(p.nested.len(), 1);
    let rb = &p.nested[0];
    assert_eq!(rb.data_offset, 0x8C);
    assert_eq!(&rb.magic, b"RbRp");
    assert_eq!(rb.stored_crc, 0x2B0D_6121);
    assert_eq!(rb.size, 0x80);
    assert_eq!(rb.entry_count, 8);
    assert_eq!(
        rb.entries,
        vec![
            pe(prop_type::VERSION, 4, 0x50),
            pe(prop_type::FLAG, 4, 0x74),
            pe(prop_type::FLAG, 4, 0x70),
            pe(prop_type::U64, 8, 0x78),
            pe(prop_type::U64, 8, 0x54),
            pe(prop_type::GUID, 16, 0x5C),
        ]
    );
}

#[test]
fn lenient_inspect_accepts_a_buffer_header_too() {
    let mut buf = vec![0x13, 0x00, 0x00, 0x80, 0x84, 0x01, 0x00, 0x00];
    buf.extend_from_slice(&TNF);
    let p = inspect_v3_prefix(&buf).unwrap();
    assert_eq!(p.logical_size, Some(TNF_SIZE));
    assert_eq!(p.guid.unwrap().to_string(), TNF_GUID);
}

#[test]
fn strict_parse_refuses_the_truncated_real_buffer() {
    let err = DedupReparse::parse(&TNF).unwrap_err();
    assert_eq!(
        err,
        ParseError::LengthMismatch {
            offset: 2,
            what: "reparse-data length at data+2",
            expected: 0xCD,
            actual: 0x184
        }
    );
    // With a buffer header claiming the full length, the header check refuses it first.
    let mut buf = vec![0x13, 0x00, 0x00, 0x80, 0x84, 0x01, 0x00, 0x00];
    buf.extend_from_slice(&TNF);
    let err = DedupReparse::parse(&buf).unwrap_err();
    assert!(
        matches!(
            err,
            ParseError::LengthMismatch {
                offset: 4,
                expected: 0xCD,
                actual: 0x184,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn fresh_v3_reproduces_every_real_byte_except_the_chunk_crcs() {
    let entry = ReferenceEntry::new(
        1,
        0x10000,
        0x5000,
        8 + 64 * 5,
        StreamMapHash::Short([0xAB; 16]),
        0..TNF_SIZE,
    );
    let point = ReparseV3::new(
        TNF_GUID.parse().unwrap(),
        TNF_SIZE,
        FileTime(TNF_FILETIME),
        entry,
    )
    .unwrap();
    let ours = point.to_bytes().unwrap();
    assert_eq!(ours.len(), 0x184);
    for (i, (&a, &b)) in ours.iter().zip(TNF.iter()).enumerate() {
        // The FeRp CRC (data 0x08) and RbRp CRC (data 0x90) cover bytes the dump does not show.
        if (0x08..0x0C).contains(&i) || (0x90..0x94).contains(&i) {
            continue;
        }
        assert_eq!(a, b, "byte {i:#x}: ours {a:#04x}, real {b:#04x}");
    }
    // Our chunks are sealed with the documented span.
    assert_eq!(point.ferp().crc_span(), Some(CrcSpan::AfterCrc));
    assert_eq!(point.rbrp().unwrap().crc_span(), Some(CrcSpan::AfterCrc));
    assert_eq!(point.ddrp().crc_span(), Some(CrcSpan::AfterCrc));
}

#[test]
fn filetime_conversions() {
    assert_eq!(
        FileTime::from_unix_seconds(1_512_656_391).unix_seconds(),
        1_512_656_391
    );
    assert_eq!(FileTime::from_unix_seconds(0).0, 116_444_736_000_000_000);
    assert_eq!(FileTime::from_unix_seconds(i64::MIN), FileTime(0));
    assert_eq!(FileTime(0).unix_seconds(), -11_644_473_600);
}
