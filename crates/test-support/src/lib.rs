//! Helpers shared by the workspace's tests (a dev-dependency only).
//!
//! The real Windows samples the tests read are committed in the workspace's top-level
//! `fixtures/` folder (provenance in `fixtures/README.md`), so every clone runs every real-data
//! test: [`fixtures`] and [`fixture`] fail loudly when a sample is missing, never skip.

use std::path::PathBuf;

/// The workspace's `fixtures/` folder (found from this crate's own location, so the caller's
/// crate does not matter).
///
/// # Panics
/// When the folder is missing: the samples are part of the repository.
#[must_use]
pub fn fixtures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    assert!(
        dir.join("README.md").is_file(),
        "the committed samples folder {} is missing: the checkout is incomplete",
        dir.display()
    );
    dir
}

/// The sample at `rel` under `fixtures/` (e.g. `dedup/ws2019-windedup-extracter/MFT.bin`).
///
/// # Panics
/// When the file or folder does not exist.
#[must_use]
pub fn fixture(rel: &str) -> PathBuf {
    let p = fixtures().join(rel);
    assert!(
        p.exists(),
        "sample {} is missing from fixtures/",
        p.display()
    );
    p
}

/// The real WS2019 data container (`fixtures/dedup/ws2019-windedup-extracter/Data/…`).
#[must_use]
pub fn ws2019_container() -> PathBuf {
    fixture("dedup/ws2019-windedup-extracter/Data/00000001.00000001.ccc")
}

pub use seeded::SplitMix64;

/// Where the last flag word of the Xpress (MS-XCA plain LZ77) stream `s` starts, and how many
/// of its 32 flags the stream uses (MS-XCA §2.4: the stream ends where the input ends; the
/// encoder sets the unused flags to 1). `s` must be a well-formed stream.
///
/// # Panics
/// If `s` is cut inside a flag word, token or length extension.
#[must_use]
pub fn xpress_last_flag_word(s: &[u8]) -> (usize, u32) {
    let le16 = |at: usize| u16::from_le_bytes([s[at], s[at + 1]]);
    let (mut ip, mut nibble) = (0usize, None);
    loop {
        let word_at = ip;
        let flags = u32::from_le_bytes(s[ip..ip + 4].try_into().unwrap());
        ip += 4;
        for i in 0..32 {
            if ip == s.len() {
                return (word_at, i);
            }
            if (flags >> (31 - i)) & 1 == 0 {
                ip += 1;
                continue;
            }
            let token = le16(ip);
            ip += 2;
            if token & 7 == 7 {
                // The half-byte shared by two long matches, then a byte, a u16, a u32.
                let half = if let Some(q) = nibble.take() {
                    s[q] >> 4
                } else {
                    nibble = Some(ip);
                    ip += 1;
                    s[ip - 1] & 15
                };
                if half == 15 {
                    ip += 1;
                    if s[ip - 1] == 255 {
                        ip += 2;
                        if le16(ip - 2) == 0 {
                            ip += 4;
                        }
                    }
                }
            }
        }
        if ip == s.len() {
            return (word_at, 32);
        }
    }
}
