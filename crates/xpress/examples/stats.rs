//! Prints ratio and single-run speed of the codec on the generated data sets
//! (`cargo run --release -p xpress --example stats`). The criterion bench is the real measure.

#![allow(clippy::cast_precision_loss)] // ratios and speeds for display

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

/// CPU time of this thread (Linux: /proc/thread-self/schedstat), else wall time: the machine
/// may be shared, and wall time then mostly measures the neighbours.
struct Clock(Option<u64>, Instant);

fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

impl Clock {
    fn now() -> Self {
        Clock(cpu_ns(), Instant::now())
    }
    fn elapsed(&self) -> Duration {
        match (self.0, cpu_ns()) {
            (Some(a), Some(b)) => Duration::from_nanos(b - a),
            _ => self.1.elapsed(),
        }
    }
}

fn main() {
    let sets: [(&str, Vec<u8>); 4] = [
        ("text", common::text_like(1, 4 << 20)),
        ("random", common::random(2, 4 << 20)),
        ("mixed", common::mixed(3, 4 << 20)),
        ("zeros", vec![0; 4 << 20]),
    ];
    let mut c = xpress::Compressor::new();
    // `stats dec|enc NAME`: loop one operation (for perf); `stats time NAME`: 200 timed decodes;
    // NAME may also be `file:PATH` (its first 4 MiB).
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [op, name] = &args[..] {
        let from_file;
        let data = if let Some(path) = name.strip_prefix("file:") {
            let mut bytes = std::fs::read(path).expect("readable file");
            bytes.truncate(4 << 20);
            from_file = bytes;
            &from_file
        } else {
            &sets.iter().find(|s| s.0 == name).expect("set name").1
        };
        let mut out = vec![0u8; data.len()];
        let mut whole = Vec::new();
        c.compress(data, &mut whole);
        if op == "dump" {
            let safe: String = name
                .chars()
                .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' })
                .collect();
            std::fs::write(format!("/tmp/xpress-{safe}.bin"), &whole).unwrap();
            return;
        }
        if op == "time" {
            // Best of 200 decodes by wall clock (the per-thread CPU clock is too coarse for one
            // 4 MiB decode): the whole buffer, and 64 KiB chunks into exact-size outputs.
            let streams: Vec<Vec<u8>> = data
                .chunks(64 << 10)
                .map(|chunk| {
                    let mut s = Vec::new();
                    c.compress(chunk, &mut s);
                    s
                })
                .collect();
            let (mut whole_t, mut chunk_t) = (Vec::new(), Vec::new());
            for _ in 0..200 {
                let t = Instant::now();
                xpress::decompress(&whole, &mut out).unwrap();
                whole_t.push(t.elapsed());
                let t = Instant::now();
                for (s, o) in streams.iter().zip(out.chunks_mut(64 << 10)) {
                    xpress::decompress(s, o).unwrap();
                }
                chunk_t.push(t.elapsed());
            }
            assert!(out[..] == data[..]);
            whole_t.sort();
            chunk_t.sort();
            let gbs = |d: Duration| data.len() as f64 / d.as_secs_f64() / 1e9;
            println!(
                "{name} decode {:.3} GB/s chunks {:.3} GB/s (best of 200; medians {:.3} and {:.3})",
                gbs(whole_t[0]),
                gbs(chunk_t[0]),
                gbs(whole_t[100]),
                gbs(chunk_t[100])
            );
            return;
        }
        for _ in 0..100 {
            if op == "dec" {
                xpress::decompress(&whole, &mut out).unwrap();
            } else {
                let mut s = Vec::new();
                for chunk in data.chunks(64 << 10) {
                    c.compress(chunk, &mut s);
                }
            }
        }
        return;
    }
    let mut out = vec![0u8; 4 << 20];
    let t = Clock::now();
    for _ in 0..20 {
        out.copy_from_slice(std::hint::black_box(&sets[1].1));
    }
    let el = t.elapsed() / 20;
    println!(
        "memcpy  {:.2} GB/s",
        out.len() as f64 / el.as_secs_f64() / 1e9
    );
    for (name, data) in &sets {
        let mut s = Vec::new();
        let t = Clock::now();
        for chunk in data.chunks(64 << 10) {
            c.compress(chunk, &mut s);
        }
        let enc = t.elapsed();
        // Whole-buffer stream for decode timing.
        let mut whole = Vec::new();
        c.compress(data, &mut whole);
        // Best of 30 wall-clock runs: the machine may be shared.
        let mut dec = Duration::MAX;
        for _ in 0..30 {
            let t = Instant::now();
            xpress::decompress(&whole, &mut out).unwrap();
            dec = dec.min(t.elapsed());
        }
        assert_eq!(&out[..], &data[..]);
        // Per 64 KiB chunk, as a chunk restore does (and as the criterion bench measures).
        let streams: Vec<Vec<u8>> = data
            .chunks(64 << 10)
            .map(|chunk| {
                let mut s = Vec::new();
                c.compress(chunk, &mut s);
                s
            })
            .collect();
        let mut dec_chunks = Duration::MAX;
        for _ in 0..30 {
            let t = Instant::now();
            for (s, o) in streams.iter().zip(out.chunks_mut(64 << 10)) {
                xpress::decompress(s, o).unwrap();
            }
            dec_chunks = dec_chunks.min(t.elapsed());
        }
        assert_eq!(&out[..], &data[..]);
        println!(
            "{name:7} ratio {:.2}  encode {:.0} MB/s  decode {:.2} GB/s (64 KiB chunks {:.2} GB/s)",
            data.len() as f64 / s.len() as f64,
            data.len() as f64 / enc.as_secs_f64() / 1e6,
            data.len() as f64 / dec.as_secs_f64() / 1e9,
            data.len() as f64 / dec_chunks.as_secs_f64() / 1e9
        );
    }
}
