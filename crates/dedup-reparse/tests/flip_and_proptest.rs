//! Every single-byte change of a built buffer is a typed error (or, for the one field no check
//! covers, the buffer header's Reserved u16, a successful parse that keeps the new value); and
//! arbitrary input never panics.

mod common;

use common::all_buffers;
use dedup_reparse::{DedupReparse, Framing, ParseError, inspect_v3_prefix};
use proptest::prelude::*;

#[test]
fn every_flipped_byte_is_caught() {
    for (version, buf) in all_buffers() {
        let mut errors = 0usize;
        for i in 0..buf.len() {
            for mask in [0x01u8, 0x80, 0xFF] {
                let mut b = buf.clone();
                b[i] ^= mask;
                match DedupReparse::parse(&b) {
                    Ok(p) => {
                        // Only the Reserved field of the buffer header is unchecked.
                        assert!(
                            (6..8).contains(&i),
                            "{version:?}: flip {mask:#04x} at {i:#x} was accepted"
                        );
                        let Framing::Buffer { reserved } = p.framing else {
                            panic!("framing")
                        };
                        assert_eq!(reserved.to_le_bytes()[i - 6], mask);
                        assert_eq!(p.to_bytes().unwrap(), b, "reserved kept on round trip");
                    }
                    Err(e) => {
                        errors += 1;
                        // Every error names a position inside the buffer.
                        let msg = e.to_string();
                        assert!(msg.contains("0x"), "{version:?} at {i:#x}: {msg}");
                        if i >= 8 && i < buf.len() - 4 && !(8..12).contains(&i) {
                            // Inside the data and not the version/length: the trailing CRC catches it.
                            assert!(
                                matches!(e, ParseError::CrcMismatch { .. }),
                                "{version:?} at {i:#x}: {e}"
                            );
                        }
                    }
                }
            }
        }
        assert_eq!(errors, (buf.len() - 2) * 3, "{version:?}");
    }
}

#[test]
fn every_truncation_is_a_typed_error() {
    for (version, buf) in all_buffers() {
        for n in 0..buf.len() {
            assert!(
                DedupReparse::parse(&buf[..n]).is_err(),
                "{version:?}: prefix of {n} bytes accepted"
            );
            assert!(DedupReparse::parse(&buf[8..n.max(8)]).is_err() || n == buf.len());
        }
    }
}

/// Sets the version bytes and both lengths and recomputes the trailing CRC, so that random bytes
/// reach the structural checks behind the CRC.
fn fix_up(mut data: Vec<u8>, magic: [u8; 2], ferp: bool) -> Vec<u8> {
    if data.len() < 8 {
        data.resize(8, 0);
    }
    let n = data.len();
    data[0..2].copy_from_slice(&magic);
    data[2..4].copy_from_slice(&(n as u16).to_le_bytes());
    if ferp && n >= 0x18 {
        data[4..8].copy_from_slice(b"FeRp");
        data[0x0C..0x10].copy_from_slice(&((n - 8) as u32).to_le_bytes());
    }
    let c = crc32fast::hash(&data[..n - 4]);
    data[n - 4..].copy_from_slice(&c.to_le_bytes());
    data
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = DedupReparse::parse(&bytes);
        let _ = DedupReparse::parse_buffer(&bytes);
        let _ = DedupReparse::parse_data(&bytes);
        let _ = inspect_v3_prefix(&bytes);
    }

    #[test]
    fn crc_valid_random_bodies_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 8..700),
        which in 0usize..3,
    ) {
        let magic = [[1u8, 2], [2, 1], [3, 1]][which];
        let data = fix_up(bytes, magic, which == 2);
        if let Ok(p) = DedupReparse::parse(&data) {
            // Anything accepted must write back identically.
            prop_assert_eq!(p.to_bytes().unwrap(), data);
        }
    }

    #[test]
    fn mutated_valid_buffers_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..6),
    ) {
        let (_, buf) = all_buffers().swap_remove(which);
        let mut data = buf[8..].to_vec();
        for (pos, val) in edits {
            let i = usize::from(pos) % data.len();
            data[i] = val;
        }
        let magic = [data[0], data[1]];
        let data = fix_up(data, magic, false);
        if let Ok(p) = DedupReparse::parse(&data) {
            prop_assert_eq!(p.to_bytes().unwrap(), data);
        }
    }
}
