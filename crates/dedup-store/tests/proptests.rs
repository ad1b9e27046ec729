//! Property tests: arbitrary chunk sequences round-trip through writer and reader; arbitrary
//! damage to a written container never panics the reader.

use dedup_store::fuzzing::{exercise_container, exercise_records};
use dedup_store::{Container, ContainerWriter, Located, ReadOptions, WriterOptions};
use proptest::prelude::*;

fn chunk() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..3000),
        (any::<u8>(), 1usize..70_000).prop_map(|(b, n)| vec![b; n]),
        proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b' ')], 1..5000),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn written_chunks_read_back(chunks in proptest::collection::vec(chunk(), 1..24), commit_every in 1usize..8) {
        let mut w = ContainerWriter::new(WriterOptions::new(5));
        let mut placed = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            placed.push(w.append_data_chunk(c).unwrap());
            if i % commit_every == 0 {
                w.commit(i as u64);
            }
        }
        let bytes = w.finish(99);
        let c = Container::open("p.ccc", &bytes[..]).unwrap();
        prop_assert_eq!(c.valid_data_length() as usize, bytes.len());
        let mut scratch = Vec::new();
        for (p, data) in placed.iter().zip(&chunks) {
            let (_, how, got) = c.read_chunk(p.local_id, Some(p.offset), Some(data.len() as u64), &ReadOptions::default(), &mut scratch).unwrap();
            prop_assert_eq!(how, Located::Hint);
            prop_assert_eq!(got, &data[..]);
        }
    }

    #[test]
    fn damaged_containers_never_panic(seed in any::<u64>(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16), cut in any::<prop::sample::Index>()) {
        let mut rng = test_support::SplitMix64(seed);
        let mut w = ContainerWriter::new(WriterOptions::new(1));
        for _ in 0..4 {
            let n = 2000 + rng.below(6000) as usize;
            let t = rng.text(n);
            w.append_data_chunk(&t).unwrap();
        }
        let mut bytes = w.finish(1);
        for (i, x) in &flips {
            let i = i.index(bytes.len());
            bytes[i] ^= x | 1;
        }
        let _ = exercise_container(&bytes);
        let _ = exercise_container(&bytes[..cut.index(bytes.len())]);
        let _ = exercise_records(&bytes[0x5000..]);
    }

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..0x6000)) {
        let _ = exercise_container(&data);
        let _ = exercise_records(&data);
    }
}
