//! The writer: byte-for-byte reproduction of the real container from its own chunks, a
//! generated container with ≥ 1,000 mixed chunks read back, stream maps, size limits and
//! compaction with redirection.

use dedup_store::{
    Compression, Container, ContainerWriter, Located, ReadOptions, RecordType, SmapEntry,
    StreamMap, WriteError, WriterOptions,
};
use test_support::SplitMix64;

#[test]
fn rebuilds_the_real_container_byte_for_byte() {
    let path = test_support::ws2019_container();
    let real = std::fs::read(path).unwrap();
    let c = Container::open("real.ccc", &real[..]).unwrap();
    let slot0 = *c.slot_reports()[0].status.as_ref().unwrap();
    let h = *c.header();
    let mut w = ContainerWriter::new(WriterOptions::new(1));
    for r in c.records() {
        let r = r.unwrap();
        if r.record_type == RecordType::Padding {
            // The sample's first append run ends after local id 39.
            let t = if r.local_id == 0 && w.header().chunk_count == 39 {
                slot0.last_append_filetime
            } else {
                h.last_append_filetime
            };
            w.commit(t);
            continue;
        }
        let got = w
            .append_raw_chunk(c.stored_payload(&r), r.compression, r.hash, 0)
            .unwrap();
        assert_eq!((got.local_id, got.offset), (r.local_id, r.offset));
    }
    let built = w.bytes();
    assert_eq!(built.len(), real.len());
    // Field by field first (better messages), then every byte.
    for slot in [0usize, 0x1000, 0x2000] {
        assert_eq!(
            &built[slot..slot + 0x40],
            &real[slot..slot + 0x40],
            "Cthr slot at {slot:#x}"
        );
    }
    for t in [0x3000usize, 0x4000] {
        assert_eq!(
            &built[t..t + 0x1000],
            &real[t..t + 0x1000],
            "Rrtl at {t:#x}"
        );
    }
    assert_eq!(&built[..0x5000], &real[..0x5000]);
    let first_diff = built.iter().zip(&real).position(|(a, b)| a != b);
    assert_eq!(first_diff, None, "first differing byte");
}

fn mixed_chunks(n: usize) -> Vec<Vec<u8>> {
    let mut rng = SplitMix64(0x5EED_0001);
    (0..n)
        .map(|i| {
            let len = 1024 + rng.below(24 * 1024) as usize;
            match i % 4 {
                0 | 1 => rng.text(len),
                2 => {
                    let mut v = vec![0u8; len];
                    rng.fill(&mut v);
                    v
                }
                _ => {
                    // Half zeros, half random: compresses, but not by much.
                    let mut v = vec![0u8; len];
                    rng.fill(&mut v[len / 2..]);
                    v
                }
            }
        })
        .collect()
}

#[test]
fn thousand_mixed_chunks_read_back_identically() {
    let chunks = mixed_chunks(1200);
    let mut w = ContainerWriter::new(WriterOptions::new(7));
    let mut placed = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        placed.push(w.append_data_chunk(c).unwrap());
        if i % 100 == 99 {
            w.commit(0x01D7_0000_0000_0000 + i as u64);
        }
    }
    // A stream map over the first 40 chunks, as the optimizer would write it.
    let mut end = 0;
    let map = StreamMap {
        entries: placed[..40]
            .iter()
            .map(|p| {
                end += p.logical_size;
                SmapEntry {
                    local_id: p.local_id,
                    container_id: 7,
                    offset_hint: p.offset,
                    generation: 1,
                    end,
                    hash: p.hash,
                    stored_size: p.stored_size,
                    unknown_3c: 0,
                }
            })
            .collect(),
        ..StreamMap::default()
    };
    let smap = w.append_stream_map(&map.encode(), None).unwrap();
    let bytes = w.finish(0x01D8_0000_0000_0000);

    let c = Container::open("gen.ccc", &bytes[..]).unwrap();
    assert_eq!(c.header().chunk_count, 1201);
    assert_eq!(c.header().next_local_id, 1202);
    assert_eq!(c.valid_data_length() % 0x1000, 0);
    let compressed = placed.iter().filter(|p| p.compressed).count();
    assert!(
        compressed > 500 && compressed < 1200,
        "{compressed} compressed"
    );
    let mut scratch = Vec::new();
    for (p, data) in placed.iter().zip(&chunks) {
        let (rec, how, got) = c
            .read_chunk(
                p.local_id,
                Some(p.offset),
                Some(data.len() as u64),
                &ReadOptions::default(),
                &mut scratch,
            )
            .unwrap();
        assert_eq!(how, Located::Hint);
        assert_eq!(rec.compression == Compression::Xpress, p.compressed);
        assert_eq!(got, &data[..]);
    }
    let (_, _, read_map) = c
        .read_stream_map(smap.local_id, Some(smap.offset), None, &mut scratch)
        .unwrap();
    assert_eq!(read_map.to_owned_map(), map);
    // Every record in order, padding closing each of the 13 append runs on 4 KiB.
    let recs: Vec<_> = c.records().map(Result::unwrap).collect();
    let paddings: Vec<_> = recs
        .iter()
        .filter(|r| r.record_type == RecordType::Padding)
        .collect();
    assert_eq!(paddings.len(), 13);
    assert!(paddings.iter().all(|p| p.payload_end() % 0x1000 == 0));
}

#[test]
fn size_limit_seals_the_container() {
    let mut rng = SplitMix64(9);
    let mut w = ContainerWriter::new(WriterOptions {
        size_limit: 0x5000 + 0x10000,
        ..WriterOptions::new(2)
    });
    let mut n = 0;
    let err = loop {
        let mut c = vec![0u8; 8000];
        rng.fill(&mut c);
        match w.append_data_chunk(&c) {
            Ok(_) => n += 1,
            Err(e) => break e,
        }
    };
    assert!(
        matches!(err, WriteError::Full { limit: 0x15000, .. }),
        "{err}"
    );
    assert_eq!(n, 8);
    let bytes = w.finish(1);
    assert!(bytes.len() as u64 <= 0x15000);
    let c = Container::open("sealed.ccc", &bytes[..]).unwrap();
    assert_eq!(c.header().chunk_count, 8);
}

#[test]
fn compaction_moves_chunks_and_records_them_in_rrtl() {
    let chunks = mixed_chunks(60);
    let mut w = ContainerWriter::new(WriterOptions::new(3));
    let placed: Vec<_> = chunks
        .iter()
        .map(|c| w.append_data_chunk(c).unwrap())
        .collect();
    let gen1 = w.finish(5);
    let c1 = Container::open("00000003.00000001.ccc", &gen1[..]).unwrap();
    // Garbage-collect every third chunk.
    let (gen2, moved) = ContainerWriter::compact(&c1, 2, 6, |r| r.local_id % 3 != 0).unwrap();
    let c2 = Container::open("00000003.00000002.ccc", &gen2[..]).unwrap();
    assert_eq!(c2.header().generation, 2);
    assert_eq!(c2.header().chunk_count, 40);
    assert_eq!(c2.header().next_local_id, 61);
    assert_eq!(c2.redirection().entries.len(), moved.len());
    assert!(
        moved.len() >= 38,
        "chunks after the first deleted one all move"
    );
    let mut scratch = Vec::new();
    for (p, data) in placed.iter().zip(&chunks) {
        let r = c2.read_chunk(
            p.local_id,
            Some(p.offset),
            Some(data.len() as u64),
            &ReadOptions::default(),
            &mut scratch,
        );
        if p.local_id % 3 == 0 {
            assert!(r.is_err(), "deleted chunk {} still found", p.local_id);
            continue;
        }
        let (rec, how, got) = r.unwrap();
        assert_eq!(got, &data[..]);
        if rec.offset != p.offset {
            assert_eq!(
                how,
                Located::Redirection,
                "stale hint resolved through Rrtl"
            );
        }
    }
    // A second compaction keeps earlier redirections current.
    let (gen3, _) = ContainerWriter::compact(&c2, 3, 7, |r| r.local_id != 1).unwrap();
    let c3 = Container::open("00000003.00000003.ccc", &gen3[..]).unwrap();
    let p = placed[1];
    let (_, how, got) = c3
        .read_chunk(
            p.local_id,
            Some(p.offset),
            None,
            &ReadOptions::default(),
            &mut scratch,
        )
        .unwrap();
    assert_eq!(how, Located::Redirection);
    assert_eq!(got, &chunks[1][..]);
}

#[test]
fn redirection_table_capacity_is_enforced() {
    let mut w = ContainerWriter::new(WriterOptions::new(4));
    for id in 0..508u32 {
        w.add_redirection(id + 1, 0x5000).unwrap();
    }
    assert!(matches!(
        w.add_redirection(10_000, 0x5000),
        Err(WriteError::RedirectionTableFull { capacity: 508, .. })
    ));
}
