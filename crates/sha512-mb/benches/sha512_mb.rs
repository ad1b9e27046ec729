//! Criterion benches: per-core throughput (one thread) of each kernel this machine runs beside
//! the `sha2` crate hashing the same messages one at a time, on (a) 64 messages of 64 KiB and
//! (b) 64 messages of seeded sizes between 32 and 128 KiB (dedup chunk sizes), plus (c) the
//! mixed set with each `sha2` hand-over threshold, to choose `Kernel::sha2_below`.
//! Throughput is in decimal GB/s of message bytes.
//!
//! Run: `cargo bench -p sha512-mb -- --warm-up-time 1 --measurement-time 3`

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sha2::Digest as _;
use sha512_mb::{Kernel, tuning};
use std::hint::black_box;

const COUNT: usize = 64;

fn sets() -> [(&'static str, Vec<Vec<u8>>); 2] {
    let uniform = (0..COUNT)
        .map(|i| common::bytes(i as u64, 64 << 10))
        .collect();
    // Sizes from a seeded xorshift, uniform in 32..=128 KiB.
    let mut x = 0x5eed_0001_u64;
    let mixed = (0..COUNT)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (32 << 10) + (x % ((96 << 10) + 1)) as usize;
            common::bytes(1000 + i as u64, len)
        })
        .collect();
    [("64x64KiB", uniform), ("64xmixed32-128KiB", mixed)]
}

fn total(data: &[Vec<u8>]) -> u64 {
    data.iter().map(|d| d.len() as u64).sum()
}

fn kernels(c: &mut Criterion) {
    for (name, data) in sets() {
        let m: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
        let mut out = vec![[0u8; 32]; m.len()];
        let mut g = c.benchmark_group(format!("chunk_hashes/{name}"));
        g.throughput(Throughput::BytesDecimal(total(&data)));
        g.bench_function("sha2-single-stream", |b| {
            b.iter(|| {
                for (o, msg) in out.iter_mut().zip(&m) {
                    o.copy_from_slice(&sha2::Sha512::digest(black_box(msg))[..32]);
                }
            });
        });
        for k in Kernel::available() {
            if k != Kernel::Sha2 {
                g.bench_function(k.name(), |b| {
                    b.iter(|| k.chunk_hashes(black_box(&m), &mut out));
                });
            }
        }
        g.finish();
    }
}

fn thresholds(c: &mut Criterion) {
    let (_, data) = sets().into_iter().nth(1).unwrap();
    let m: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    let mut out = vec![[0u8; 64]; m.len()];
    for k in Kernel::available() {
        if k == Kernel::Sha2 {
            continue;
        }
        let mut g = c.benchmark_group(format!("sha2_below/{k}"));
        g.throughput(Throughput::BytesDecimal(total(&data)));
        for t in 0..=k.lanes() {
            g.bench_function(t.to_string(), |b| {
                b.iter(|| tuning::digests(k, black_box(&m), &mut out, t));
            });
        }
        g.finish();
    }
}

criterion_group!(benches, kernels, thresholds);
criterion_main!(benches);
