//! Criterion benches: Xpress decode and encode on generated text-like data (seeded, words from
//! a fixed vocabulary, 4 MiB) and on incompressible data, each beside a `memcpy` of the same
//! number of output bytes in the same group. Throughput is in decimal GB/s of logical
//! (uncompressed) bytes.
//!
//! Run: `cargo bench -p xpress -- --warm-up-time 1 --measurement-time 3`

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const SIZE: usize = 4 << 20;
/// Encode works per dedup-sized chunk (64 KiB), as the chunk-store writer does.
const CHUNK: usize = 64 << 10;

fn data_sets() -> [(&'static str, Vec<u8>); 2] {
    [
        ("text", common::text_like(0xbe7c_0001, SIZE)),
        ("random", common::random(0xbe7c_0002, SIZE)),
    ]
}

fn decode(c: &mut Criterion) {
    for (name, data) in data_sets() {
        // Per-chunk streams, decoded into one output buffer, like a chunk restore.
        let mut comp = xpress::Compressor::new();
        let streams: Vec<Vec<u8>> = data
            .chunks(CHUNK)
            .map(|chunk| {
                let mut s = Vec::new();
                comp.compress(chunk, &mut s);
                s
            })
            .collect();
        let mut out = vec![0u8; SIZE];
        let mut g = c.benchmark_group(format!("decode/{name}"));
        g.throughput(Throughput::BytesDecimal(SIZE as u64));
        g.bench_function("xpress", |b| {
            b.iter(|| {
                for (s, o) in streams.iter().zip(out.chunks_mut(CHUNK)) {
                    xpress::decompress(black_box(s), o).unwrap();
                }
            });
        });
        g.bench_function("memcpy", |b| {
            b.iter(|| out.copy_from_slice(black_box(&data)));
        });
        g.finish();
        assert!(out == data);
    }
}

fn encode(c: &mut Criterion) {
    for (name, data) in data_sets() {
        let mut comp = xpress::Compressor::new();
        let mut stream = Vec::with_capacity(xpress::max_compressed_len(SIZE) + 64);
        let mut out = vec![0u8; SIZE];
        let mut g = c.benchmark_group(format!("encode/{name}"));
        g.throughput(Throughput::BytesDecimal(SIZE as u64));
        g.bench_function("xpress", |b| {
            b.iter(|| {
                stream.clear();
                for chunk in data.chunks(CHUNK) {
                    comp.compress(black_box(chunk), &mut stream);
                }
            });
        });
        g.bench_function("memcpy", |b| {
            b.iter(|| out.copy_from_slice(black_box(&data)));
        });
        g.finish();
    }
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
