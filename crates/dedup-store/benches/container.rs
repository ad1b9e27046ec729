//! Container read + verify throughput, in decimal bytes of logical (restored) data per second,
//! beside a `memcpy` of the same logical bytes measured in the same run.
//!
//! Run: `cargo bench -p dedup-store --bench container`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dedup_store::{Container, ContainerWriter, PayloadCrc, ReadOptions, RecordType, WriterOptions};
use test_support::SplitMix64;

/// ~32 MiB of logical data in 64 KiB chunks: three quarters text-like (compresses ~3×, stored
/// Xpress), one quarter random (stored raw).
fn generated() -> (Vec<u8>, u64) {
    let mut rng = SplitMix64(0xBE7C);
    let mut w = ContainerWriter::new(WriterOptions::new(1));
    let mut logical = 0u64;
    for i in 0..512 {
        let chunk = if i % 4 == 3 {
            let mut v = vec![0u8; 64 * 1024];
            rng.fill(&mut v);
            v
        } else {
            rng.text(64 * 1024)
        };
        logical += chunk.len() as u64;
        w.append_data_chunk(&chunk).unwrap();
        if i % 64 == 63 {
            w.commit(i);
        }
    }
    (w.finish(1), logical)
}

fn read_all(c: &Container<&[u8]>, opts: &ReadOptions, scratch: &mut Vec<u8>) -> u64 {
    let mut n = 0u64;
    for r in c.records() {
        let r = r.unwrap();
        if r.record_type == RecordType::Data {
            n += c.logical_payload(&r, None, opts, scratch).unwrap().len() as u64;
        }
    }
    n
}

fn bench(cr: &mut Criterion) {
    let (bytes, logical) = generated();
    let c = Container::open("bench.ccc", &bytes[..]).unwrap();
    let mut g = cr.benchmark_group("container_read");
    g.throughput(Throughput::BytesDecimal(logical));
    g.sample_size(10);
    let mut scratch = Vec::with_capacity(1 << 17);
    g.bench_function("read+crc+decode+hash", |b| {
        b.iter(|| black_box(read_all(&c, &ReadOptions::default(), &mut scratch)));
    });
    let crc_on_failure = ReadOptions {
        payload_crc: PayloadCrc::OnFailure,
        ..ReadOptions::default()
    };
    g.bench_function("read+decode+hash (CRC after a failure only)", |b| {
        b.iter(|| black_box(read_all(&c, &crc_on_failure, &mut scratch)));
    });
    let no_hash = ReadOptions {
        verify_hash: false,
        ..ReadOptions::default()
    };
    g.bench_function("read+crc+decode", |b| {
        b.iter(|| black_box(read_all(&c, &no_hash, &mut scratch)));
    });
    let src = vec![0x5Au8; usize::try_from(logical).unwrap()];
    let mut dst = vec![0u8; src.len()];
    g.bench_function("memcpy baseline", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(&dst);
        });
    });
    g.bench_function("crc64 only", |b| {
        b.iter(|| black_box(dedup_store::crc64(black_box(&src))));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
