//! compress, then decompress into an exact-size buffer: must give the input back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut stream = Vec::new();
    xpress::compress(data, &mut stream);
    assert!(stream.len() <= xpress::max_compressed_len(data.len()));
    let mut out = vec![0u8; data.len()];
    assert_eq!(xpress::decompress(&stream, &mut out), Ok(data.len()));
    assert_eq!(out, data);
});
