//! Replays every committed fuzz input in `fuzz/regressions/<target>/` through the same checks
//! as the cargo-fuzz targets in `fuzz/fuzz_targets/`.

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn decompress_regressions() {
    let mut decoded = 0;
    for (name, data) in inputs("decompress") {
        let mut big = vec![0u8; 128 * 1024];
        let big_result = xpress::decompress(&data, &mut big);
        if let Ok(n) = big_result {
            assert!(n <= big.len(), "{name}");
            if n > 0 {
                decoded += 1;
            }
        }
        let mut small = [0u8; 61];
        match xpress::decompress(&data, &mut small) {
            Ok(n) => {
                assert_eq!(big_result, Ok(n), "{name}");
                assert_eq!(&big[..n], &small[..n], "{name}");
            }
            Err(e) => {
                assert!(e.input_pos() <= data.len(), "{name}: {e}");
                assert!(e.output_pos() <= small.len(), "{name}: {e}");
            }
        }
    }
    assert!(decoded >= 1, "at least one committed sample must decode");
}

#[test]
fn decompress_seed_outcomes() {
    // The hand-made seeds have known outcomes.
    let mut out = [0u8; 16];
    assert_eq!(
        xpress::decompress(b"\x00\x00\x00\x40a\x07", &mut out),
        Err(xpress::DecompressError::Underrun {
            input_pos: 5,
            output_pos: 1,
            field: xpress::Field::MatchToken,
            needed: 2,
            available: 1
        })
    );
    assert_eq!(xpress::decompress(b"\x00\x00\x00\x00\x00", &mut out), Ok(1));
}

#[test]
fn roundtrip_regressions() {
    let files = inputs("roundtrip");
    assert!(!files.is_empty());
    for (name, data) in files {
        let mut stream = Vec::new();
        xpress::compress(&data, &mut stream);
        assert!(
            stream.len() <= xpress::max_compressed_len(data.len()),
            "{name}"
        );
        let mut out = vec![0u8; data.len()];
        assert_eq!(
            xpress::decompress(&stream, &mut out),
            Ok(data.len()),
            "{name}"
        );
        assert!(out == data, "{name}");
    }
}
