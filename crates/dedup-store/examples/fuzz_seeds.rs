//! Writes small seed inputs for the container fuzz targets:
//! `cargo run -p dedup-store --example fuzz_seeds -- crates/dedup-store/fuzz/regressions`.
//! (Committed copies live in `fuzz/regressions/`; the replay test checks what they contain.)

use dedup_store::{ContainerWriter, SmapEntry, StreamMap, WriterOptions};
use test_support::SplitMix64;

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: fuzz_seeds DIR"));
    let mut rng = SplitMix64(42);
    let mut w = ContainerWriter::new(WriterOptions::new(1));
    let text = rng.text(3000);
    let mut random = vec![0u8; 700];
    rng.fill(&mut random);
    let a = w.append_data_chunk(&text).unwrap();
    let b = w.append_data_chunk(&random).unwrap();
    let map = StreamMap {
        entries: [a, b]
            .iter()
            .scan(0u64, |end, p| {
                *end += p.logical_size;
                Some(SmapEntry {
                    local_id: p.local_id,
                    container_id: 1,
                    offset_hint: p.offset,
                    generation: 1,
                    end: *end,
                    hash: p.hash,
                    stored_size: p.stored_size,
                    unknown_3c: 0,
                })
            })
            .collect(),
        ..StreamMap::default()
    };
    w.append_stream_map(&map.encode(), None).unwrap();
    let bytes = w.finish(0x01DC_0000_0000_0000);
    for sub in ["container", "records"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(dir.join("container/seed-small-container.ccc"), &bytes).unwrap();
    std::fs::write(dir.join("records/seed-small-records.bin"), &bytes[0x5000..]).unwrap();
}
