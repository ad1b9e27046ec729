//! Helpers shared by the workspace's tests (a dev-dependency only).
//!
//! Real Windows samples live outside the repository, in `shared/realdata` beside the checkout
//! (or wherever `$REHYDRATE_REALDATA` points). A user's clone may not have them: tests then say
//! clearly that they were skipped. Under CI (`CI` set) a missing folder is a failure.

use std::path::PathBuf;

/// The real-data folder, or `None` (after printing why) when it is absent outside CI.
///
/// `manifest_dir` is the calling crate's `env!("CARGO_MANIFEST_DIR")`; the default location is
/// `<workspace>/../shared/realdata`, found by walking up from it.
///
/// # Panics
/// When the folder is missing and the `CI` environment variable is set.
#[must_use]
pub fn realdata(manifest_dir: &str) -> Option<PathBuf> {
    let candidate = std::env::var_os("REHYDRATE_REALDATA").map_or_else(
        || {
            PathBuf::from(manifest_dir)
                .ancestors()
                .map(|p| p.join("shared").join("realdata"))
                .find(|p| p.is_dir())
                .unwrap_or_else(|| PathBuf::from(manifest_dir).join("../../../shared/realdata"))
        },
        PathBuf::from,
    );
    if candidate.is_dir() {
        return Some(candidate);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "real Windows samples not found at {} (set REHYDRATE_REALDATA); under CI this is a failure",
        candidate.display()
    );
    eprintln!(
        "skipped: real Windows samples not found at {} (set REHYDRATE_REALDATA to run this test)",
        candidate.display()
    );
    None
}

/// The real WS2019 data container, when present (see [`realdata`]).
#[must_use]
pub fn ws2019_container(manifest_dir: &str) -> Option<PathBuf> {
    realdata(manifest_dir)
        .map(|d| d.join("dedup/ws2019-windedup-extracter/Data/00000001.00000001.ccc"))
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
