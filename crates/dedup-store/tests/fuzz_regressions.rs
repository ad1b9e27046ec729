//! Replays every committed fuzz input (crash reproducers and seeds) through the same code the
//! cargo-fuzz targets run.

use std::path::Path;

use dedup_store::fuzzing::{Outcome, exercise_container, exercise_records};

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
