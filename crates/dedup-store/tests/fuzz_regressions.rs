//! Replays every committed fuzz input (crash reproducers and seeds) through the same code the
//! cargo-fuzz targets run.

use std::path::Path;

use dedup_store::fuzzing::{Outcome, exercise_container, exercise_records, exercise_stream_map};

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn container_inputs_replay() {
    let all = inputs("container");
    assert!(!all.is_empty());
    for (name, data) in all {
        let out = exercise_container(&data);
        if name.starts_with("seed-") {
            // The seed is a valid container: two data chunks and a stream map, padding.
            assert_eq!(
                out,
                Outcome {
                    opened: true,
                    records: 4,
                    verified: 3
                },
                "{name}"
            );
        }
    }
}

#[test]
fn records_inputs_replay() {
    let all = inputs("records");
    assert!(!all.is_empty());
    for (name, data) in all {
        let out = exercise_records(&data);
        assert!(out.opened, "{name}");
        if name.starts_with("seed-") {
            assert_eq!(out.verified, 3, "{name}");
        }
    }
}

#[test]
fn stream_map_inputs_replay() {
    let all = inputs("stream_map");
    assert!(!all.is_empty());
    for (name, data) in all {
        let entries = exercise_stream_map(&data);
        if name.starts_with("seed-") {
            assert_eq!(entries, Some(2), "{name}");
        }
    }
    // Entries that go backwards, a cut entry, a wrong magic: refused, never a panic.
    let seed = &inputs("stream_map")[0].1;
    let mut back = seed.clone();
    back[8 + 64 + 0x10..8 + 64 + 0x18].copy_from_slice(&1u64.to_le_bytes());
    assert_eq!(exercise_stream_map(&back), None);
    assert_eq!(exercise_stream_map(&seed[..seed.len() - 1]), None);
    assert_eq!(exercise_stream_map(b"Smbp\x01\x04\x04\x01"), None);
}
