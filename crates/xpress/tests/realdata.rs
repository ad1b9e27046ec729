//! Decodes the 8 Xpress-compressed chunks of a real Windows Server 2019 data container
//! (`realdata/dedup/ws2019-windedup-extracter/Data/00000001.00000001.ccc`) and checks each
//! output's size and SHA-512 prefix against `expected_chunks.csv`.

use sha2::{Digest, Sha512};
use std::path::PathBuf;

/// Offset of the stored payload from the start of a data `Ckhr` record (docs/dedup-format.md §3).
const PAYLOAD_OFFSET: usize = 0x58;

/// The committed samples folder, `fixtures/`.
fn realdata_dir() -> PathBuf {
    test_support::fixtures()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        write!(s, "{b:02x}").unwrap();
        s
    })
}

#[test]
fn real_windows_chunks_decode() {
    let dir = realdata_dir();
    let sample = dir.join("dedup/ws2019-windedup-extracter");
    let container = std::fs::read(sample.join("Data/00000001.00000001.ccc")).unwrap();
    let csv = std::fs::read_to_string(sample.join("expected_chunks.csv")).unwrap();

    let mut decoded = 0;
    let mut out = vec![0u8; 0x20000];
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[5] != "2" {
            continue;
        }
        let offset = usize::from_str_radix(f[0].trim_start_matches("0x"), 16).unwrap();
        let stored: usize = f[3].parse().unwrap();
        let logical: usize = f[4].parse().unwrap();
        let payload = &container[offset + PAYLOAD_OFFSET..offset + PAYLOAD_OFFSET + stored];

        let n = xpress::decompress(payload, &mut out)
            .unwrap_or_else(|e| panic!("chunk {} at {offset:#x}: {e}", f[1]));
        assert_eq!(n, logical, "chunk {} logical size", f[1]);
        let hash = Sha512::digest(&out[..n]);
        assert_eq!(hex(&hash[..32]), f[6], "chunk {} SHA-512 prefix", f[1]);

        // The exact-size buffer works too, and one byte less is an overrun.
        let mut exact = vec![0u8; logical];
        assert_eq!(xpress::decompress(payload, &mut exact), Ok(logical));
        let mut short = vec![0u8; logical - 1];
        assert!(matches!(
            xpress::decompress(payload, &mut short),
            Err(xpress::DecompressError::Overrun { .. })
        ));
        decoded += 1;
    }
    assert_eq!(decoded, 8, "the sample holds 8 compressed chunks");
}
