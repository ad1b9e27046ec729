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

/// A small deterministic generator (SplitMix64) for seeded test data.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    /// `len` bytes of English-like text (words from a fixed vocabulary), compressible 2–4×.
    pub fn text(&mut self, len: usize) -> Vec<u8> {
        const WORDS: &[&str] = &[
            "the",
            "chunk",
            "store",
            "volume",
            "restore",
            "file",
            "data",
            "of",
            "and",
            "to",
            "backup",
            "container",
            "stream",
            "map",
            "windows",
            "server",
            "deduplication",
            "a",
            "is",
            "in",
            "that",
            "with",
            "for",
            "hash",
            "record",
            "offset",
            "header",
            "table",
            "reparse",
            "point",
            "writer",
            "component",
            "shadow",
            "copy",
            "optimized",
            "sparse",
        ];
        let mut out = Vec::with_capacity(len + 16);
        while out.len() < len {
            let w = WORDS[self.below(WORDS.len() as u64) as usize];
            out.extend_from_slice(w.as_bytes());
            out.push(match self.below(16) {
                0 => b'.',
                1 => b'\n',
                2 => b',',
                _ => b' ',
            });
        }
        out.truncate(len);
        out
    }
}

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
