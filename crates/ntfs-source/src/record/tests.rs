use super::*;

#[test]
fn runs_decode_holes_and_negative_deltas() {
    // 0x21: 1 length byte, 2 offset bytes; 0x01: a hole; 0x11 with a negative delta.
    let b = [0x21, 0x04, 0x00, 0x10, 0x01, 0x08, 0x11, 0x02, 0xF0, 0x00];
    let r = decode_runs(&b).unwrap();
    assert_eq!(
        r,
        vec![
            Run {
                clusters: 4,
                lcn: Some(0x1000)
            },
            Run {
                clusters: 8,
                lcn: None
            },
            Run {
                clusters: 2,
                lcn: Some(0x1000 - 0x10)
            },
        ]
    );
    assert!(decode_runs(&[0x21, 0x04]).is_err());
    assert!(
        decode_runs(&[0x11, 0x01, 0x80, 0x00]).is_err(),
        "negative LCN"
    );
    assert!(decode_runs(&[0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
}

#[test]
fn nt_times_convert_both_sides_of_1970() {
    use std::time::{Duration, UNIX_EPOCH};
    assert_eq!(nt_time(116_444_736_000_000_000), Some(UNIX_EPOCH));
    assert_eq!(
        nt_time(116_444_736_000_000_000 + 15),
        Some(UNIX_EPOCH + Duration::from_nanos(1500))
    );
    assert!(nt_time(1).is_some());
    assert_eq!(nt_time(0), None);
}

#[test]
fn garbage_never_panics() {
    let mut rng = 0x1234_5678_u64;
    for len in [0usize, 1, 511, 512, 1024, 4096] {
        for _ in 0..200 {
            let mut b: Vec<u8> = (0..len)
                .map(|_| {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    rng as u8
                })
                .collect();
            if len >= 4 {
                b[..4].copy_from_slice(b"FILE");
            }
            if let Ok(r) = FileRecord::parse(&b, 7) {
                let _ = r.all_attributes();
            }
            if len >= 4 {
                b[..4].copy_from_slice(b"INDX");
            }
            if let Ok(i) = IndexBlock::parse(&b) {
                let _ = i.entries();
            }
        }
    }
}
