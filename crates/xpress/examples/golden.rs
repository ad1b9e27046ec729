//! Regenerates the golden streams in `tests/golden/`: encodes a few seeded inputs and writes
//! `<name>.xpress` plus `MANIFEST.txt` (`name generator seed length input-SHA-256
//! stream-SHA-256`).
//!
//! Run once, review, commit: `cargo run -p xpress --example golden`. The `golden` test decodes
//! the committed streams and compares them with the regenerated inputs, and
//! `scripts/xpress_crosscheck.py` decodes them with an independent decoder (dissect.util).

#[path = "../tests/common/mod.rs"]
mod common;

use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    std::fs::create_dir_all(&dir).unwrap();
    let mut manifest = String::from("# name generator seed length input-sha256 stream-sha256\n");
    for (name, generator, seed, len) in common::GOLDEN {
        let input = common::generate(generator, *seed, *len);
        let mut stream = Vec::new();
        xpress::compress(&input, &mut stream);
        let mut check = vec![0u8; input.len()];
        assert_eq!(xpress::decompress(&stream, &mut check), Ok(input.len()));
        assert_eq!(check, input);
        std::fs::write(dir.join(format!("{name}.xpress")), &stream).unwrap();
        writeln!(
            manifest,
            "{name} {generator} {seed:#x} {len} {:x} {:x}",
            Sha256::digest(&input),
            Sha256::digest(&stream)
        )
        .unwrap();
        println!("{name}: {len} -> {} bytes", stream.len());
    }
    std::fs::write(dir.join("MANIFEST.txt"), manifest).unwrap();
}
