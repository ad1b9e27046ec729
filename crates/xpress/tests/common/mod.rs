//! Deterministic data generators shared by the tests, the `golden` example and the bench.
//! The golden streams in `tests/golden/` depend on these exact sequences: never change a
//! generator, add a new one instead.

#![allow(dead_code)]

/// SplitMix64: tiny, fixed forever (golden inputs depend on it).
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// Next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; slight modulo bias is irrelevant here).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "had",
    "they",
    "you",
    "were",
    "their",
    "one",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "volume",
    "chunk",
    "container",
    "restore",
    "backup",
    "server",
    "windows",
    "file",
    "stream",
    "data",
    "deduplication",
    "compression",
    "record",
    "header",
    "offset",
    "length",
    "system",
    "information",
    "reparse",
    "point",
    "storage",
    "cluster",
    "directory",
    "network",
    "policy",
    "between",
    "through",
    "however",
    "because",
    "without",
    "another",
    "important",
    "example",
    "different",
    "following",
    "government",
    "development",
    "experience",
    "available",
    "particular",
    "understanding",
    "relationship",
    "environment",
    "management",
    "performance",
    "significant",
    "organization",
    "international",
    "responsibility",
    "Microsoft",
    "Tuesday",
];

/// English-like text: words from a fixed vocabulary with a skewed choice, punctuation,
/// capitalised sentence starts, occasional numbers and line breaks. Compresses about 2.5-3.5x.
pub(crate) fn text_like(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(len + 32);
    let mut sentence_start = true;
    let mut line = 0usize;
    while out.len() < len {
        let r = rng.next_u64();
        if r.is_multiple_of(23) {
            // A number: digits are hard to compress, like in real documents.
            let v = rng.next_u64() % 100_000;
            out.extend_from_slice(v.to_string().as_bytes());
        } else {
            // Skewed towards the front of the list (min of two uniform picks).
            let i = rng.below(WORDS.len()).min(rng.below(WORDS.len()));
            let w = WORDS[i].as_bytes();
            if sentence_start {
                out.push(w[0].to_ascii_uppercase());
                out.extend_from_slice(&w[1..]);
            } else {
                out.extend_from_slice(w);
            }
        }
        sentence_start = false;
        line += 1;
        match rng.below(16) {
            0 => {
                out.extend_from_slice(b". ");
                sentence_start = true;
            }
            1 => out.extend_from_slice(b", "),
            _ => out.push(b' '),
        }
        if line > 12 && rng.below(8) == 0 {
            out.push(b'\n');
            line = 0;
        }
    }
    out.truncate(len);
    out
}

/// Uniformly random bytes (incompressible).
pub(crate) fn random(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Mixed content: segments of text, random bytes, zero runs, short-period patterns
/// (offsets 1..16) and copies of earlier data at various distances.
pub(crate) fn mixed(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(len + 4096);
    while out.len() < len {
        let seg = 16 + rng.below(3000);
        match rng.below(6) {
            0 => out.extend_from_slice(&text_like(rng.next_u64(), seg)),
            1 => out.extend_from_slice(&random(rng.next_u64(), seg)),
            2 => out.resize(out.len() + seg, 0),
            3 => {
                let period = 1 + rng.below(16);
                let pat = random(rng.next_u64(), period);
                out.extend(pat.iter().cycle().take(seg));
            }
            4 if !out.is_empty() => {
                let dist = 1 + rng.below(out.len().min(9000));
                let from = out.len() - dist;
                for i in 0..seg {
                    let b = out[from + i];
                    out.push(b);
                }
            }
            _ => {
                let b = rng.next_u64() as u8;
                out.resize(out.len() + seg, b);
            }
        }
    }
    out.truncate(len);
    out
}

/// The golden inputs: `(name, generator, seed, length)`; see `generate`.
pub(crate) const GOLDEN: &[(&str, &str, u64, usize)] = &[
    ("empty", "zeros", 0, 0),
    ("one", "text", 0x5eed_0000, 1),
    ("text", "text", 0x5eed_0001, 48 * 1024),
    ("zeros", "zeros", 0, 100 * 1024),
    ("random", "random", 0x5eed_0003, 16 * 1024),
    ("mixed", "mixed", 0x5eed_0004, 64 * 1024),
];

/// Runs the generator called `name` (`text`, `random`, `mixed`, `zeros`).
pub(crate) fn generate(name: &str, seed: u64, len: usize) -> Vec<u8> {
    match name {
        "text" => text_like(seed, len),
        "random" => random(seed, len),
        "mixed" => mixed(seed, len),
        "zeros" => vec![0; len],
        other => panic!("unknown generator {other:?}"),
    }
}
