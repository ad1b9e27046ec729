//! Replays `fuzz/regressions/parse/`: inputs the `parse` fuzz target found or that we keep as
//! samples, under the fuzz target's own checks (no panic; whatever is accepted writes back
//! byte for byte). Files named `valid-*` must parse; files named `invalid-*` must be refused.

use std::path::Path;

use dedup_reparse::{DedupReparse, inspect_v3_prefix};

fn check(name: &str, bytes: &[u8]) -> bool {
    let _ = inspect_v3_prefix(bytes);
    match DedupReparse::parse(bytes) {
        Ok(p) => {
            assert_eq!(p.to_bytes().unwrap(), bytes, "{name}: round trip differs");
            true
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            false
        }
    }
}

#[test]
fn replay_parse_regressions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/parse");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    let (mut valid, mut invalid) = (0, 0);
    for path in &entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        let accepted = check(&name, &bytes);
        if name.starts_with("valid-") {
            assert!(accepted, "{name} must parse");
            valid += 1;
        } else if name.starts_with("invalid-") {
            assert!(!accepted, "{name} must be refused");
            invalid += 1;
        }
    }
    assert!(
        valid >= 1,
        "keep at least one valid sample in {}",
        dir.display()
    );
    assert!(invalid >= 1);
    assert_eq!(valid, 6, "v1/v2/v3, buffer and bare");
}

#[test]
fn valid_samples_decode_to_the_values_they_were_built_from() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/parse");
    for v in ["v1", "v2", "v3"] {
        for framing in ["buffer", "data"] {
            let bytes = std::fs::read(dir.join(format!("valid-{v}-{framing}.bin"))).unwrap();
            let p = DedupReparse::parse(&bytes).unwrap();
            assert_eq!(
                p.guid().to_string(),
                "{5D1B7BFA-B73E-42A0-95CB-91CE1921CFB2}"
            );
            assert_eq!(p.logical_size(), 100_000);
            assert_eq!(p.entries()[0].local_id, 3);
            assert_eq!(p.entries()[0].container_id, 0x10000);
        }
    }
}
