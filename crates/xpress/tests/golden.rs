//! Decodes the committed golden streams (`tests/golden/*.xpress`, written once by
//! `cargo run -p xpress --example golden` and cross-checked with dissect.util, see
//! `CROSSCHECK.txt`) and compares them with the regenerated inputs: a decoder regression
//! fails here without Python.

mod common;

use sha2::{Digest, Sha256};
use std::path::PathBuf;

#[test]
fn committed_golden_streams_decode_to_their_inputs() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.txt")).unwrap();
    let mut count = 0;
    let mut total = 0;
    for line in manifest.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [name, generator, seed, len, input_sha, stream_sha] = f[..] else {
            panic!("bad manifest line {line:?}");
        };
        let seed = u64::from_str_radix(seed.trim_start_matches("0x"), 16).unwrap();
        let len: usize = len.parse().unwrap();
        let input = common::generate(generator, seed, len);
        assert_eq!(
            format!("{:x}", Sha256::digest(&input)),
            input_sha,
            "{name}: the generator changed (never change a generator; add one)"
        );
        let stream = std::fs::read(dir.join(format!("{name}.xpress"))).unwrap();
        assert_eq!(
            format!("{:x}", Sha256::digest(&stream)),
            stream_sha,
            "{name}: stream file"
        );
        total += stream.len();

        let mut out = vec![0u8; len];
        assert_eq!(xpress::decompress(&stream, &mut out), Ok(len), "{name}");
        assert!(out == input, "{name}: decoded bytes differ");
        count += 1;
    }
    assert!(count >= 6, "manifest lists {count} streams");
    assert!(total < 200_000, "golden streams total {total} bytes");
}
