//! Round trips through `compress` and `decompress`, plus "never panics" on arbitrary input.

mod common;

use proptest::prelude::*;
use xpress::{Compressor, DecompressError, compress, decompress, max_compressed_len};

/// Compresses, checks the size bound, decodes into an exact-size buffer and into a roomy
/// one, and checks that one byte less is an overrun. Returns the stream length.
fn roundtrip(input: &[u8]) -> usize {
    let mut stream = Vec::new();
    compress(input, &mut stream);
    assert!(stream.len() <= max_compressed_len(input.len()));

    let mut exact = vec![0u8; input.len()];
    assert_eq!(decompress(&stream, &mut exact), Ok(input.len()));
    assert!(exact == input, "exact-size output differs");

    let mut roomy = vec![0xa5u8; input.len() + 100];
    assert_eq!(decompress(&stream, &mut roomy), Ok(input.len()));
    assert!(roomy[..input.len()] == *input, "roomy output differs");

    if !input.is_empty() {
        let mut short = vec![0u8; input.len() - 1];
        assert!(matches!(
            decompress(&stream, &mut short),
            Err(DecompressError::Overrun { .. })
        ));
    }
    stream.len()
}

#[test]
fn empty_and_tiny() {
    let mut s = Vec::new();
    compress(&[], &mut s);
    assert_eq!(s, [0xff; 4], "empty input: one all-ones flag word");
    assert_eq!(decompress(&[], &mut []), Ok(0));
    assert_eq!(decompress(&s, &mut []), Ok(0));
    for n in 1..=70 {
        roundtrip(&common::random(n as u64, n));
        roundtrip(&vec![7u8; n]);
    }
}

#[test]
fn compress_appends() {
    let mut s = b"prefix".to_vec();
    compress(b"hello hello hello", &mut s);
    assert_eq!(&s[..6], b"prefix");
    let mut out = [0u8; 17];
    assert_eq!(decompress(&s[6..], &mut out), Ok(17));
    assert_eq!(&out, b"hello hello hello");
}

#[test]
fn zero_runs_need_every_length_width() {
    // Lengths around each extension boundary, and runs >= 64 KiB (u32 extension).
    for len in [
        9, 10, 11, 24, 25, 26, 278, 279, 280, 281, 65_537, 65_538, 65_539, 65_540, 100_000, 300_000,
    ] {
        let input = vec![0u8; len + 1];
        let n = roundtrip(&input);
        assert!(n < 64, "zero run of {len}: stream of {n} bytes");
    }
}

#[test]
#[allow(clippy::cast_precision_loss)] // a ratio for an assertion
fn text_ratio_is_2_to_4() {
    let text = common::text_like(1, 1 << 20);
    let n = roundtrip(&text);
    let ratio = text.len() as f64 / n as f64;
    assert!((2.0..=4.5).contains(&ratio), "text ratio {ratio:.2}");
}

#[test]
fn incompressible_stays_within_bound() {
    let data = common::random(2, 200_000);
    let n = roundtrip(&data);
    assert!(n <= max_compressed_len(data.len()));
    assert!(n > data.len(), "random data cannot shrink");
}

#[test]
fn mixed_and_reused_compressor_is_deterministic() {
    let mut c = Compressor::new();
    let a = common::mixed(3, 300_000);
    let b = common::text_like(4, 5_000);
    let mut s1 = Vec::new();
    c.compress(&a, &mut s1);
    let mut s2 = Vec::new();
    c.compress(&b, &mut s2);
    let mut s3 = Vec::new();
    c.compress(&a, &mut s3);
    assert_eq!(s1, s3, "output must not depend on earlier calls");
    let mut fresh = Vec::new();
    compress(&b, &mut fresh);
    assert_eq!(s2, fresh);
    roundtrip(&a);
}

fn text_strategy() -> impl Strategy<Value = Vec<u8>> {
    (any::<u64>(), 0usize..20_000).prop_map(|(seed, len)| common::text_like(seed, len))
}

fn zero_run_strategy() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(any::<u8>(), 0..64),
        65_536usize..140_000,
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(head, zeros, tail)| {
            let mut v = head;
            v.resize(v.len() + zeros, 0);
            v.extend_from_slice(&tail);
            v
        })
}

/// Arbitrary bytes from a small alphabet: many short, overlapping matches.
fn small_alphabet_strategy() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0u8..4, 0..5000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn roundtrip_arbitrary(data in proptest::collection::vec(any::<u8>(), 0..5000)) {
        roundtrip(&data);
    }

    #[test]
    fn roundtrip_small_alphabet(data in small_alphabet_strategy()) {
        roundtrip(&data);
    }

    #[test]
    fn roundtrip_text(data in text_strategy()) {
        roundtrip(&data);
    }

    #[test]
    fn roundtrip_mixed(seed in any::<u64>(), len in 0usize..50_000) {
        roundtrip(&common::mixed(seed, len));
    }

    #[test]
    fn roundtrip_incompressible(seed in any::<u64>(), len in 0usize..20_000) {
        roundtrip(&common::random(seed, len));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn roundtrip_long_zero_runs(data in zero_run_strategy()) {
        roundtrip(&data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Arbitrary input never panics; on success the reported size fits the buffer, and a
    /// bigger buffer gives the same bytes.
    #[test]
    fn decompress_arbitrary_never_panics(
        data in proptest::collection::vec(any::<u8>(), 0..400),
        cap in 0usize..3000,
    ) {
        let mut out = vec![0u8; cap];
        match decompress(&data, &mut out) {
            Ok(n) => {
                prop_assert!(n <= cap);
                let mut big = vec![0u8; cap + 70_000];
                prop_assert_eq!(decompress(&data, &mut big), Ok(n));
                prop_assert_eq!(&big[..n], &out[..n]);
            }
            Err(e) => {
                prop_assert!(e.input_pos() <= data.len());
                prop_assert!(e.output_pos() <= cap);
            }
        }
    }

    /// Streams that look valid at first (a real flag word) with corrupted tails.
    #[test]
    fn decompress_corrupted_stream_never_panics(
        seed in any::<u64>(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let input = common::mixed(seed, 3000);
        let mut s = Vec::new();
        compress(&input, &mut s);
        for (at, x) in flips {
            let i = at % s.len();
            s[i] ^= x;
        }
        s.truncate(cut % (s.len() + 1));
        let mut out = vec![0u8; 3000];
        if let Err(e) = decompress(&s, &mut out) {
            prop_assert!(e.input_pos() <= s.len());
        }
    }
}
