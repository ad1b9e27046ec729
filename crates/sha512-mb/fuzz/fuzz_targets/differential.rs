//! Arbitrary bytes split into messages; every kernel this CPU runs (with its own `sha2`
//! hand-over threshold and with one from the input, 0..=15), its chunk hashes, and the
//! portable emulation of the AVX-512 kernel (both thresholds) must give the `sha2` crate's
//! digests.
//!
//! Input format: the first byte gives the threshold (low 4 bits) and whether pieces repeat
//! (top bit); the rest is cut into messages at each `0xff` byte. When pieces repeat, a piece's
//! first byte is a count (1..=64) for the rest of it, so that multi-block messages and lane
//! refills are reached from short inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sha2::Digest as _;
use sha512_mb::{Kernel, emulation, tuning};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    // Messages: pieces between separators; a piece's first byte scales it (repeat count) when
    // `mode` says so, reaching lengths of many blocks from a small input.
    let repeat = mode & 0x80 != 0;
    let mut messages: Vec<Vec<u8>> = Vec::new();
    for piece in rest.split(|&b| b == 0xff).take(80) {
        match piece.split_first() {
            Some((&n, body)) if repeat && !body.is_empty() => {
                let times = usize::from(n % 64) + 1;
                messages.push(
                    body.iter()
                        .copied()
                        .cycle()
                        .take(body.len() * times)
                        .collect(),
                );
            }
            _ => messages.push(piece.to_vec()),
        }
    }
    let m: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let want: Vec<[u8; 64]> = m.iter().map(|x| sha2::Sha512::digest(x).into()).collect();

    let below = usize::from(mode & 0x0f);
    let mut got = vec![[0u8; 64]; m.len()];
    for k in Kernel::available() {
        got.fill([0; 64]);
        k.digests(&m, &mut got);
        assert!(got == want, "{k}");
        got.fill([0; 64]);
        tuning::digests(k, &m, &mut got, below);
        assert!(got == want, "{k} sha2_below={below}");
        let mut hashes = vec![[0u8; 32]; m.len()];
        k.chunk_hashes(&m, &mut hashes);
        assert!(
            hashes.iter().zip(&want).all(|(h, w)| h[..] == w[..32]),
            "{k} chunk_hashes"
        );
    }
    got.fill([0; 64]);
    emulation::digests(&m, &mut got);
    assert!(got == want, "emulated avx512");
    got.fill([0; 64]);
    tuning::emulated_digests(&m, &mut got, below);
    assert!(got == want, "emulated avx512 sha2_below={below}");
});
