//! Arbitrary bytes into the decoder, with a 128 KiB output buffer (a dedup chunk's maximum)
//! and a small one: it must never panic, and success must report a size within the buffer.
//! A stream that decodes into the big buffer must decode to the same bytes into a buffer of
//! exactly its size (the decoder's fast loops then run up against the end of the output), and
//! fail with one byte less.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut big = vec![0u8; 128 * 1024];
    let big_result = xpress::decompress(data, &mut big);
    if let Ok(n) = big_result {
        assert!(n <= big.len());
        let mut exact = vec![0u8; n];
        assert_eq!(xpress::decompress(data, &mut exact), Ok(n));
        assert_eq!(&exact[..], &big[..n]);
        if n > 0 {
            let mut short = vec![0u8; n - 1];
            assert!(xpress::decompress(data, &mut short).is_err());
        }
    }
    let mut small = [0u8; 61];
    match xpress::decompress(data, &mut small) {
        Ok(n) => {
            // Fits in 61 bytes, so the big buffer must give the same bytes.
            assert_eq!(big_result, Ok(n));
            assert_eq!(&big[..n], &small[..n]);
        }
        Err(e) => {
            assert!(e.input_pos() <= data.len());
            assert!(e.output_pos() <= small.len());
        }
    }
});
