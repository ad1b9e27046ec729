//! Fuzz target: the dedup reparse parser never panics, and whatever it accepts it writes back
//! byte for byte. The input is tried as given, and again with its version bytes, length fields
//! and trailing CRC-32 made consistent, so that mutations reach the structural checks behind
//! the CRC. The same checks run over `regressions/parse/` in `tests/fuzz_regressions.rs`.
#![no_main]

use dedup_reparse::{DedupReparse, inspect_v3_prefix};
use libfuzzer_sys::fuzz_target;

fn check(bytes: &[u8]) {
    let _ = inspect_v3_prefix(bytes);
    if let Ok(p) = DedupReparse::parse(bytes) {
        let out = p.to_bytes().expect("an accepted point re-encodes");
        assert_eq!(out, bytes, "round trip differs");
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    // First byte selects the layout; the rest is the body with consistent lengths and CRC.
    if data.len() >= 9 {
        let magic = [[1u8, 2], [2, 1], [3, 1]][usize::from(data[0]) % 3];
        let mut d = data[1..].to_vec();
        d.truncate(0xFFFF);
        let n = d.len();
        d[0..2].copy_from_slice(&magic);
        d[2..4].copy_from_slice(&(n as u16).to_le_bytes());
        if magic == [3, 1] && n >= 0x18 && data[0] & 0x80 != 0 {
            d[4..8].copy_from_slice(b"FeRp");
            d[0x0C..0x10].copy_from_slice(&((n - 8) as u32).to_le_bytes());
        }
        let c = crc32fast::hash(&d[..n - 4]);
        d[n - 4..].copy_from_slice(&c.to_le_bytes());
        check(&d);
    }
});
