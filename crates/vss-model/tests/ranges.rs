//! Range strings and ranges files (docs/vss-restore.md §5).

use proptest::prelude::*;
use vss_model::ranges::{
    PartialRanges, Range, RangeListError, RangesFileError, classify_ranges, format_range_list,
    parse_range_list, parse_ranges_file, write_ranges_file,
};

fn r(offset: u64, length: u64) -> Range {
    Range { offset, length }
}

#[test]
fn range_strings_table() {
    let ok: &[(&str, &[Range])] = &[
        ("0:10", &[r(0, 10)]),
        ("0x0:0x1000, 8192:4096", &[r(0, 0x1000), r(8192, 4096)]),
        ("  1 : 2 ,\t3:4  ", &[r(1, 2), r(3, 4)]),
        ("0X1F:0x0", &[r(31, 0)]),
        ("010:010", &[r(10, 10)]), // decimal, not octal
        ("18446744073709551614:1", &[r(u64::MAX - 1, 1)]),
        ("0xFFFFFFFFFFFFFFFF:0", &[r(u64::MAX, 0)]),
        // The documentation's own example tail range (docs/vss-restore.md §5 errata) still parses: the
        // string is a list of offset:length pairs, whatever the prose said about ends.
        ("0x1239E7577A:0x1000", &[r(0x12_39E7_577A, 0x1000)]),
    ];
    for (text, want) in ok {
        assert_eq!(parse_range_list(text).as_deref(), Ok(*want), "{text:?}");
    }
    let bad: &[(&str, RangeListError)] = &[
        ("", RangeListError::Empty),
        ("   ", RangeListError::Empty),
        ("1:2,", RangeListError::EmptyItem { position: 4 }),
        ("1:2,,3:4", RangeListError::EmptyItem { position: 4 }),
        ("12", RangeListError::MissingColon { position: 0 }),
        ("1:2, 77", RangeListError::MissingColon { position: 5 }),
        (
            "x:1",
            RangeListError::BadNumber {
                position: 0,
                text: "x".into(),
            },
        ),
        (
            "1:0x",
            RangeListError::BadNumber {
                position: 2,
                text: "0x".into(),
            },
        ),
        (
            "1: -2",
            RangeListError::BadNumber {
                position: 3,
                text: "-2".into(),
            },
        ),
        (
            "1:2:3",
            RangeListError::BadNumber {
                position: 2,
                text: "2:3".into(),
            },
        ),
        (
            "18446744073709551616:0",
            RangeListError::TooLarge { position: 0 },
        ),
        (
            "18446744073709551615:1",
            RangeListError::Overflow {
                position: 0,
                offset: u64::MAX,
                length: 1,
            },
        ),
        (
            "0:1, 0xFFFFFFFFFFFFFFFF:0x2",
            RangeListError::Overflow {
                position: 5,
                offset: u64::MAX,
                length: 2,
            },
        ),
    ];
    for (text, want) in bad {
        assert_eq!(parse_range_list(text).as_ref(), Err(want), "{text:?}");
        // The message names what was expected.
        let msg = want.to_string();
        assert!(
            msg.contains("expected") || msg.contains("overflow") || msg.contains("64 bits"),
            "{msg}"
        );
    }
}

#[test]
fn ranges_file_table() {
    let good = write_ranges_file(&[r(0, 512), r(4096, 8192)]);
    assert_eq!(good.len(), 8 + 32);
    assert_eq!(&good[..8], &2u64.to_le_bytes());
    assert_eq!(parse_ranges_file(&good), Ok(vec![r(0, 512), r(4096, 8192)]));

    assert_eq!(
        parse_ranges_file(&[1, 2, 3]),
        Err(RangesFileError::TooShort { size: 3 })
    );
    assert_eq!(
        parse_ranges_file(&0u64.to_le_bytes()),
        Err(RangesFileError::Empty)
    );
    // One byte short / one byte long.
    assert!(matches!(
        parse_ranges_file(&good[..good.len() - 1]),
        Err(RangesFileError::SizeMismatch {
            count: 2,
            expected: 40,
            size: 39
        })
    ));
    let mut long = good.clone();
    long.push(0);
    assert!(matches!(
        parse_ranges_file(&long),
        Err(RangesFileError::SizeMismatch { .. })
    ));
    // A hostile count: no allocation, just an error.
    let mut hostile = u64::MAX.to_le_bytes().to_vec();
    hostile.extend_from_slice(&[0; 16]);
    assert!(matches!(
        parse_ranges_file(&hostile),
        Err(RangesFileError::SizeMismatch {
            count: u64::MAX,
            ..
        })
    ));
    let overflow = write_ranges_file(&[r(1, 1), r(u64::MAX, 1)]);
    assert_eq!(
        parse_ranges_file(&overflow),
        Err(RangesFileError::Overflow {
            index: 1,
            position: 24,
            offset: u64::MAX,
            length: 1
        })
    );
}

#[test]
fn directed_ranges_pair_across_boundaries_and_stay_within_bounds() {
    use vss_model::ranges::{DirectedError, MAX_FILE_SIZE, pair_directed};
    let got = pair_directed(&[r(0, 16), r(4096, 32)], &[r(0, 48)], Some(8192)).unwrap();
    assert_eq!(got, [(0, 0, 16), (4096, 16, 32)]);
    let got = pair_directed(&[r(10, 10)], &[r(0, 4), r(100, 6)], None).unwrap();
    assert_eq!(got, [(10, 0, 4), (14, 100, 6)]);
    assert!(matches!(
        pair_directed(&[r(0, 1)], &[r(0, 2)], None),
        Err(DirectedError::Lengths { .. })
    ));
    assert_eq!(pair_directed(&[], &[], Some(0)).unwrap(), []);
    // A source range past the backed-up file, a destination past the largest NTFS file
    // (2^60 once made a restore allocate until it was killed).
    assert_eq!(
        pair_directed(&[r(100, 10)], &[r(0, 10)], Some(105)),
        Err(DirectedError::SourcePastEnd {
            range: r(100, 10),
            size: 105
        })
    );
    let far = r(1 << 60, 10);
    assert_eq!(
        pair_directed(&[r(0, 10)], &[far], Some(10)),
        Err(DirectedError::DestinationTooLarge {
            range: far,
            max: MAX_FILE_SIZE
        })
    );
    // Far into a file but within NTFS's limit: paired, nothing allocated for the gap.
    let got = pair_directed(&[r(0, 10)], &[r(MAX_FILE_SIZE - 10, 10)], Some(10)).unwrap();
    assert_eq!(got, [(0, MAX_FILE_SIZE - 10, 10)]);
}

#[test]
fn list_or_file() {
    assert_eq!(
        classify_ranges("0:1"),
        Ok(PartialRanges::List(vec![r(0, 1)]))
    );
    assert_eq!(
        classify_ranges(r"File=C:\ranges.bin"),
        Ok(PartialRanges::File(r"C:\ranges.bin".into()))
    );
    assert_eq!(
        classify_ranges(r"C:\backup\db.ranges"),
        Ok(PartialRanges::File(r"C:\backup\db.ranges".into()))
    );
    assert!(classify_ranges("nonsense").is_err());
}

fn ranges() -> impl Strategy<Value = Vec<Range>> {
    prop::collection::vec(
        (any::<u64>(), any::<u64>()).prop_map(|(o, l)| r(o, l.min(u64::MAX - o))),
        1..20,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, rng_seed: proptest::test_runner::RngSeed::Fixed(5), ..ProptestConfig::default() })]

    #[test]
    fn string_round_trip(list in ranges()) {
        prop_assert_eq!(parse_range_list(&format_range_list(&list)), Ok(list.clone()));
        let hex: Vec<String> = list.iter().map(|x| format!("{:#x} :\t{:#X}", x.offset, x.length).replace("0X", "0x")).collect();
        prop_assert_eq!(parse_range_list(&hex.join(" ,")), Ok(list));
    }

    #[test]
    fn file_round_trip(list in ranges()) {
        prop_assert_eq!(parse_ranges_file(&write_ranges_file(&list)), Ok(list));
    }

    #[test]
    fn parsers_never_panic(s in ".{0,64}", b in prop::collection::vec(any::<u8>(), 0..80)) {
        let _ = parse_range_list(&s);
        let _ = classify_ranges(&s);
        let _ = parse_ranges_file(&b);
    }
}
