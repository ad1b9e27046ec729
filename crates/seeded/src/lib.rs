//! Deterministic seeded data for the simulator and the `rehydrate demo` data set.
//!
//! The simulator's volumes, its optimizer's churn and the demo's files must be the same bytes
//! on every machine and in every version, so that a demo run, a test and a golden file agree.
//! A general-purpose generator crate (`rand`) does not promise its streams stay the same across
//! major versions; SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
//! generators", OOPSLA 2014) is a dozen lines and fixed forever, so it is written here.
//!
//! This is product code (the shipped binary's demo uses it); test helpers live in
//! `test-support`, which is a dev-dependency only.

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

#[cfg(test)]
mod tests {
    use super::SplitMix64;

    /// The first outputs for seed 0, as published with the reference implementation
    /// (Vigna, `splitmix64.c`): the stream must never change, golden files depend on it.
    #[test]
    fn reference_stream() {
        let mut r = SplitMix64(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn text_is_deterministic_and_sized() {
        let a = SplitMix64(42).text(1000);
        assert_eq!(a.len(), 1000);
        assert_eq!(a, SplitMix64(42).text(1000));
        assert!(a.is_ascii());
    }
}
