//! Shared by the tests and the bench: the `sha2` reference, seeded data, and the list of
//! implementations to compare (every kernel this machine runs, plus the portable emulation of
//! the AVX-512 kernel, each with its own and with extreme `sha2` hand-over thresholds).
#![allow(dead_code, unreachable_pub)]

use sha2::Digest as _;
use sha512_mb::{Kernel, emulation, tuning};

/// SHA-512 of each message with the `sha2` crate.
pub fn reference(messages: &[&[u8]]) -> Vec<[u8; 64]> {
    messages
        .iter()
        .map(|m| sha2::Sha512::digest(m).into())
        .collect()
}

/// `len` seeded pseudo-random bytes (xorshift64*).
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A digest function: messages in, one digest per message out.
pub type DigestFn = Box<dyn Fn(&[&[u8]], &mut [[u8; 64]])>;

/// One way of computing digests.
pub struct Engine {
    pub name: String,
    pub run: DigestFn,
}

/// Every implementation to test on this machine: each available kernel through its public
/// entry point and, for the vector kernels, with the `sha2` hand-over disabled (0: lanes run
/// every message to its end) and as early as possible (`lanes()`); the same three for the
/// portable emulation of the AVX-512 kernel.
pub fn engines() -> Vec<Engine> {
    let mut v = Vec::new();
    for k in Kernel::available() {
        v.push(Engine {
            name: k.name().to_owned(),
            run: Box::new(move |m, o| k.digests(m, o)),
        });
        if k != Kernel::Sha2 {
            for t in [0, k.lanes()] {
                v.push(Engine {
                    name: format!("{k}/sha2_below={t}"),
                    run: Box::new(move |m, o| tuning::digests(k, m, o, t)),
                });
            }
        }
    }
    v.push(Engine {
        name: "avx512-emulated".to_owned(),
        run: Box::new(emulation::digests),
    });
    for t in [0, 8] {
        v.push(Engine {
            name: format!("avx512-emulated/sha2_below={t}"),
            run: Box::new(move |m, o| tuning::emulated_digests(m, o, t)),
        });
    }
    v
}

/// Asserts that every engine gives `sha2`'s digests for `messages`.
pub fn check_all(messages: &[&[u8]], what: &str) {
    let want = reference(messages);
    for e in engines() {
        let mut got = vec![[0u8; 64]; messages.len()];
        (e.run)(messages, &mut got);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                g == w,
                "{}: {what}: message {i} of {} (len {}) differs from sha2",
                e.name,
                messages.len(),
                messages[i].len()
            );
        }
    }
}
