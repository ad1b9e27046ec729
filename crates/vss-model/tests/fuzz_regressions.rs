//! Replays the committed fuzz inputs (`fuzz/regressions/<target>/`) with the same properties
//! the cargo-fuzz targets check, on stable Rust.

use std::path::PathBuf;

use vss_model::ranges::{
    format_range_list, parse_range_list, parse_ranges_file, write_ranges_file,
};
use vss_model::{Document, WriteOptions};

fn samples(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (p.display().to_string(), std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no samples in {}", dir.display());
    out
}

#[test]
fn document_samples() {
    let mut accepted = 0;
    for (name, data) in samples("document") {
        if let Ok(doc) = Document::from_bytes(&data) {
            accepted += 1;
            for options in [
                WriteOptions::default(),
                WriteOptions {
                    declaration: true,
                    indent: true,
                },
            ] {
                let again = Document::from_xml(&doc.to_xml(options))
                    .unwrap_or_else(|e| panic!("{name}: written text does not read back: {e}"));
                assert_eq!(again, doc, "{name}");
            }
        }
    }
    assert!(accepted >= 3, "the seed documents must parse");
}

#[test]
fn range_list_samples() {
    let mut accepted = 0;
    for (name, data) in samples("range_list") {
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        if let Ok(list) = parse_range_list(text) {
            accepted += 1;
            assert!(
                list.iter()
                    .all(|r| r.offset.checked_add(r.length).is_some()),
                "{name}"
            );
            assert_eq!(
                parse_range_list(&format_range_list(&list)),
                Ok(list),
                "{name}"
            );
        }
    }
    assert!(accepted >= 1);
}

#[test]
fn ranges_file_samples() {
    let mut accepted = 0;
    for (name, data) in samples("ranges_file") {
        if let Ok(list) = parse_ranges_file(&data) {
            accepted += 1;
            assert_eq!(write_ranges_file(&list), data, "{name}");
        }
    }
    assert!(accepted >= 1);
}
