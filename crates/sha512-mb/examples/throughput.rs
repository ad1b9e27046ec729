//! Per-core throughput of one implementation, as the best of many passes (robust on a shared
//! machine, where criterion's means include time spent descheduled), and a fixed amount of
//! work for `valgrind --tool=callgrind` instruction counts.
//!
//! `cargo run --release -p sha512-mb --example throughput -- <avx512|avx2|sha2|sha2-single|emulated> [uniform|mixed|n<count>] [passes] [sha2_below]`

use sha2::Digest as _;
use sha512_mb::{Kernel, tuning};
use std::time::{Duration, Instant};

fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map_or("avx2", String::as_str);
    let set = args.get(1).map_or("uniform", String::as_str);
    let passes: usize = args.get(2).map_or(20, |p| p.parse().expect("passes"));
    let mut x = 0x5eed_0001_u64;
    // `uniform`: 64 × 64 KiB; `mixed`: 64 of 32..=128 KiB; `n<k>`: k × 1 MiB (how fast k
    // busy lanes are beside sha2, for the hand-over threshold).
    let count = set
        .strip_prefix('n')
        .map_or(64, |k| k.parse().expect("n<count>"));
    let data: Vec<Vec<u8>> = (0..count)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = match set {
                "mixed" => (32 << 10) + (x % ((96 << 10) + 1)) as usize,
                "uniform" => 64 << 10,
                _ => 1 << 20,
            };
            bytes(i, len)
        })
        .collect();
    let m: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    let total: usize = data.iter().map(Vec::len).sum();
    let mut out = vec![[0u8; 64]; m.len()];
    let kernel = Kernel::from_name(which);
    let below = args.get(3).map(|t| t.parse::<usize>().expect("sha2_below"));
    let mut best = Duration::MAX;
    let mut times = Vec::with_capacity(passes);
    for _ in 0..passes {
        let t = Instant::now();
        match (which, kernel) {
            ("sha2-single", _) => {
                for (o, msg) in out.iter_mut().zip(&m) {
                    *o = sha2::Sha512::digest(msg).into();
                }
            }
            ("emulated", _) => tuning::emulated_digests(&m, &mut out, below.unwrap_or(3)),
            (_, Some(k)) => match below {
                Some(b) => tuning::digests(k, &m, &mut out, b),
                None => k.digests(&m, &mut out),
            },
            _ => panic!("unknown implementation {which}"),
        }
        best = best.min(t.elapsed());
        times.push(t.elapsed());
    }
    std::hint::black_box(&out);
    times.sort();
    let gbs =
        |d: Duration| f64::from(u32::try_from(total).expect("small sets")) / d.as_secs_f64() / 1e9;
    println!(
        "{which} {set}: {total} bytes, {passes} passes: best {:.3} GB/s, median {:.3} GB/s (effective kernel {})",
        gbs(best),
        gbs(times[times.len() / 2]),
        kernel.map_or("-", |k| k.effective().name()),
    );
}
