//! A container written out as it grows (`held_records` written and released along the way,
//! `fixed_area` after each commit) has the same bytes as one built whole: the real WS2019
//! container rebuilt from its own records, and a generated one with a small size limit.

use dedup_store::{Container, ContainerWriter, RecordType, WriteError, WriterOptions};
use test_support::SplitMix64;

/// A file image the writer's output is written into, as a caller's volume would be.
#[derive(Default)]
struct Sink(Vec<u8>);

impl Sink {
    fn write_at(&mut self, at: u64, bytes: &[u8]) {
        let at = usize::try_from(at).unwrap();
        if self.0.len() < at + bytes.len() {
            self.0.resize(at + bytes.len(), 0);
        }
        self.0[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn flush(&mut self, w: &mut ContainerWriter) {
        let (at, held) = w.held_records();
        let held = held.to_vec();
        self.write_at(at, &held);
        w.release_held_records();
        assert!(w.held_records().1.is_empty());
        assert_eq!(w.held_records().0, w.end());
    }

    fn commit(&mut self, w: &mut ContainerWriter, filetime: u64) {
        w.commit(filetime);
        self.flush(w);
        let fixed = w.fixed_area().to_vec();
        self.write_at(0, &fixed);
    }
}

#[test]
fn the_real_container_rebuilt_with_releases_is_byte_identical() {
    let path = test_support::ws2019_container();
    let real = std::fs::read(path).unwrap();
    let c = Container::open("real.ccc", &real[..]).unwrap();
    let slot0 = *c.slot_reports()[0].status.as_ref().unwrap();
    let h = *c.header();
    let mut w = ContainerWriter::new(WriterOptions::new(1));
    let mut sink = Sink::default();
    for (i, r) in c.records().enumerate() {
        let r = r.unwrap();
        if r.record_type == RecordType::Padding {
            // The sample's first append run ends after local id 39.
            let t = if r.local_id == 0 && w.header().chunk_count == 39 {
                slot0.last_append_filetime
            } else {
                h.last_append_filetime
            };
            sink.commit(&mut w, t);
            continue;
        }
        let got = w
            .append_raw_chunk(c.stored_payload(&r), r.compression, r.hash, 0)
            .unwrap();
        assert_eq!((got.local_id, got.offset), (r.local_id, r.offset));
        // Release in the middle of append runs too, every third record.
        if i % 3 == 0 {
            sink.flush(&mut w);
        }
    }
    assert_eq!(sink.0.len(), real.len());
    assert_eq!(&sink.0[..0x5000], &real[..0x5000], "fixed area");
    let first_diff = sink.0.iter().zip(&real).position(|(a, b)| a != b);
    assert_eq!(first_diff, None, "first differing byte");
}

#[test]
fn a_generated_container_written_as_it_grows_matches_the_whole_one() {
    let opts = WriterOptions {
        size_limit: 2 << 20,
        ..WriterOptions::new(9)
    };
    let (mut whole, mut streamed) = (ContainerWriter::new(opts), ContainerWriter::new(opts));
    let mut sink = Sink::default();
    let mut rng = SplitMix64(21);
    let mut commits = 0;
    for i in 0..400u64 {
        let mut chunk = vec![0u8; 1 + rng.below(40_000) as usize];
        if i % 2 == 0 {
            rng.fill(&mut chunk);
        } else {
            chunk.fill(b'a' + (i % 7) as u8);
        }
        let a = whole.append_data_chunk(&chunk);
        let b = streamed.append_data_chunk(&chunk);
        match (a, b) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(WriteError::Full { .. }), Err(WriteError::Full { .. })) => break,
            (a, b) => panic!("chunk {i}: {a:?} vs {b:?}"),
        }
        if rng.below(4) == 0 {
            sink.flush(&mut streamed);
        }
        if rng.below(6) == 0 {
            whole.commit(1000 + i);
            sink.commit(&mut streamed, 1000 + i);
            commits += 1;
        }
    }
    assert!(commits > 10, "{commits} commits");
    let whole = whole.finish(7);
    if !streamed.is_committed() {
        sink.commit(&mut streamed, 7);
    }
    assert_eq!(sink.0.len(), whole.len());
    assert!(sink.0 == whole, "the streamed container differs");
    Container::open("streamed.ccc", &sink.0[..]).unwrap();
}
