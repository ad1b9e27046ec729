//! The CRC-64 variant that Windows' chunk store uses ("CsCrc64").
//!
//! Parameters (docs/dedup-format.md §4.3, CONFIRMED on the WS2019 sample and matching
//! Stefano Moioli's ManagedDedup port): reflected polynomial `0x9A6C9329AC4BC9B5` (normal form
//! `0xAD93D23594C93659`), register initialised to 0, result complemented. Check value for
//! `"123456789"` is `0x87FF3F9B2B57C87B`. This is *not* CRC-64/NVME, which starts from all ones.
//!
//! Implementation: on x86-64 with PCLMULQDQ and SSE4.1 (detected at run time), carry-less
//! multiply folding of eight 16-byte lanes (the Intel "Fast CRC Computation for Generic
//! Polynomials Using PCLMULQDQ" scheme, here without Barrett reduction: the last folded 16 bytes
//! go through the table code); everywhere else, and for short inputs, slicing-by-8 over eight
//! 256-entry tables built at compile time. A test compares both on random lengths and
//! alignments.

/// The reflected generator polynomial.
pub const POLY_REFLECTED: u64 = 0x9A6C_9329_AC4B_C9B5;

const TABLES: [[u64; 256]; 8] = build_tables();

const fn build_tables() -> [[u64; 256]; 8] {
    let mut tables = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        tables[0][i] = crc;
        i += 1;
    }
    let mut t = 1;
    while t < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = tables[t - 1][i];
            tables[t][i] = (prev >> 8) ^ tables[0][(prev & 0xFF) as usize];
            i += 1;
        }
        t += 1;
    }
    tables
}

/// An incremental CRC-64 computation (for data that arrives in pieces).
#[derive(Debug, Clone, Copy, Default)]
pub struct Crc64 {
    /// The raw register (before the final complement).
    state: u64,
}

impl Crc64 {
    /// A fresh computation.
    #[must_use]
    pub const fn new() -> Self {
        Self { state: 0 }
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        #[cfg(target_arch = "x86_64")]
        if data.len() >= clmul::MIN_LEN && clmul::available() {
            self.state = clmul::update(self.state, data);
            return;
        }
        self.state = update_table(self.state, data);
    }

    /// The finished checksum.
    #[must_use]
    pub const fn finish(self) -> u64 {
        !self.state
    }
}

/// The portable slicing-by-8 update of the raw register.
fn update_table(state: u64, data: &[u8]) -> u64 {
    let mut crc = state;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) ^ crc;
        crc = TABLES[7][(word & 0xFF) as usize]
            ^ TABLES[6][((word >> 8) & 0xFF) as usize]
            ^ TABLES[5][((word >> 16) & 0xFF) as usize]
            ^ TABLES[4][((word >> 24) & 0xFF) as usize]
            ^ TABLES[3][((word >> 32) & 0xFF) as usize]
            ^ TABLES[2][((word >> 40) & 0xFF) as usize]
            ^ TABLES[1][((word >> 48) & 0xFF) as usize]
            ^ TABLES[0][(word >> 56) as usize];
    }
    for &b in chunks.remainder() {
        crc = TABLES[0][((crc ^ u64::from(b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc
}

/// `x^n mod P` in the reflected 64-bit form (bit `i` is the coefficient of `x^(63-i)`), `n >= 63`.
#[cfg(any(target_arch = "x86_64", test))]
const fn xpow_mod(n: u32) -> u64 {
    let mut r = 1u64; // x^63
    let mut i = 63;
    while i < n {
        r = if r & 1 == 1 {
            (r >> 1) ^ POLY_REFLECTED
        } else {
            r >> 1
        };
        i += 1;
    }
    r
}

/// Carry-less multiply folding (x86-64, PCLMULQDQ + SSE4.1).
///
/// Reflected form: a 16-byte block loaded little-endian holds, in its low quadword, the 64
/// message bits of higher degree `H` and in its high quadword the lower `L`, so the block is
/// `H·x^64 + L`. Moving it `d` bits later in the message multiplies it by `x^d`, and
/// `H·x^(64+d) + L·x^d ≡ H·(x^(64+d) mod P) + L·(x^d mod P)` (mod P), a 128-bit value that is
/// XORed into the block `d` bits on. A carry-less product of two reflected 64-bit values read as
/// a reflected 128-bit value carries one extra factor `x`, hence the constants `x^(63+d)` and
/// `x^(d-1)`. The register's incoming state is XORed into the first 8 bytes (what a non-zero
/// initial value of a reflected CRC amounts to); the last block, with everything before it
/// folded in, is worth the same CRC from a zero register, which the table code finishes.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod clmul {
    use std::arch::x86_64::{
        __m128i, _mm_clmulepi64_si128, _mm_extract_epi64, _mm_loadu_si128, _mm_set_epi64x,
        _mm_xor_si128,
    };

    use super::{update_table, xpow_mod};

    /// Below this the table code is as fast (and the eight lanes need 128 bytes).
    pub(super) const MIN_LEN: usize = 256;

    /// Fold constants `(x^(63+d) mod P, x^(d-1) mod P)` for a distance of `d` bits.
    const fn keys(d: u32) -> (u64, u64) {
        (xpow_mod(63 + d), xpow_mod(d - 1))
    }
    /// Eight lanes of 16 bytes: 1024 bits on.
    const K_1024: (u64, u64) = keys(1024);
    /// One block: 128 bits on.
    const K_128: (u64, u64) = keys(128);

    /// Whether the CPU has what [`update`] needs (cached by std after the first call).
    pub(super) fn available() -> bool {
        std::arch::is_x86_feature_detected!("pclmulqdq")
            && std::arch::is_x86_feature_detected!("sse4.1")
    }

    /// The raw register after `data` (`data.len() >= MIN_LEN`).
    ///
    /// Panics if [`available`] is false.
    pub(super) fn update(state: u64, data: &[u8]) -> u64 {
        assert!(available() && data.len() >= MIN_LEN);
        // SAFETY: the CPU features that `fold` enables were detected just above.
        unsafe { fold(state, data) }
    }

    #[inline]
    #[target_feature(enable = "pclmulqdq,sse2,sse4.1")]
    fn key(k: (u64, u64)) -> __m128i {
        _mm_set_epi64x(k.1.cast_signed(), k.0.cast_signed())
    }

    /// `x` moved on by the distance of `k`, XORed into `next`.
    #[inline]
    #[target_feature(enable = "pclmulqdq,sse2,sse4.1")]
    fn fold16(x: __m128i, k: __m128i, next: __m128i) -> __m128i {
        let h = _mm_clmulepi64_si128(x, k, 0x00); // H · (x^(63+d) mod P)
        let l = _mm_clmulepi64_si128(x, k, 0x11); // L · (x^(d-1) mod P)
        _mm_xor_si128(_mm_xor_si128(h, l), next)
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn load(b: &[u8]) -> __m128i {
        assert!(b.len() >= 16);
        // SAFETY: `b` has at least 16 readable bytes (checked above); `loadu` has no alignment
        // requirement.
        #[allow(clippy::cast_ptr_alignment)] // `loadu`: unaligned by design
        unsafe {
            _mm_loadu_si128(b.as_ptr().cast::<__m128i>())
        }
    }

    #[target_feature(enable = "pclmulqdq,sse2,sse4.1")]
    fn fold(state: u64, data: &[u8]) -> u64 {
        let k1024 = key(K_1024);
        let k128 = key(K_128);
        let mut x = [_mm_set_epi64x(0, 0); 8];
        for (i, lane) in x.iter_mut().enumerate() {
            *lane = load(&data[16 * i..]);
        }
        x[0] = _mm_xor_si128(x[0], _mm_set_epi64x(0, state.cast_signed()));
        let mut rest = &data[128..];
        while rest.len() >= 128 {
            for (i, lane) in x.iter_mut().enumerate() {
                *lane = fold16(*lane, k1024, load(&rest[16 * i..]));
            }
            rest = &rest[128..];
        }
        let mut acc = x[0];
        for lane in &x[1..] {
            acc = fold16(acc, k128, *lane);
        }
        while rest.len() >= 16 {
            acc = fold16(acc, k128, load(rest));
            rest = &rest[16..];
        }
        let lo = _mm_extract_epi64::<0>(acc).cast_unsigned();
        let hi = _mm_extract_epi64::<1>(acc).cast_unsigned();
        let mut last = [0u8; 16];
        last[..8].copy_from_slice(&lo.to_le_bytes());
        last[8..].copy_from_slice(&hi.to_le_bytes());
        update_table(update_table(0, &last), rest)
    }
}

/// CRC-64 of `data` in one call.
#[must_use]
pub fn crc64(data: &[u8]) -> u64 {
    let mut c = Crc64::new();
    c.update(data);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitwise(data: &[u8]) -> u64 {
        let mut crc = 0u64;
        for &b in data {
            crc ^= u64::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ POLY_REFLECTED
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn check_value() {
        assert_eq!(crc64(b"123456789"), 0x87FF_3F9B_2B57_C87B);
        assert_eq!(crc64(b""), !0);
    }

    #[test]
    fn fast_path_matches_table_on_random_lengths_and_alignments() {
        let mut rng = test_support::SplitMix64(0xC4C6_4000);
        let mut data = vec![0u8; 70_000];
        rng.fill(&mut data);
        let mut lens: Vec<usize> = (0..600).collect();
        lens.extend([1023, 1024, 1025, 4096, 65_535, 65_536, 65_537, 69_000]);
        for _ in 0..300 {
            lens.push(rng.below(69_000) as usize);
        }
        for &len in &lens {
            let start = rng.below(64) as usize;
            let slice = &data[start..start + len];
            let want = !update_table(0, slice);
            assert_eq!(crc64(slice), want, "len {len} at {start}");
            let seed = rng.next_u64();
            let mut c = Crc64 { state: seed };
            c.update(slice);
            assert_eq!(c.state, update_table(seed, slice), "len {len} seeded");
            if len < 2000 {
                assert_eq!(want, bitwise(slice), "len {len}");
            }
        }
        #[cfg(target_arch = "x86_64")]
        if clmul::available() {
            for len in [256, 257, 300, 383, 384, 1000, 4096 + 15] {
                assert_eq!(
                    clmul::update(7, &data[3..3 + len]),
                    update_table(7, &data[3..3 + len])
                );
            }
        }
    }

    #[test]
    fn xpow_mod_is_the_bit_step() {
        assert_eq!(xpow_mod(63), 1);
        assert_eq!(xpow_mod(64), POLY_REFLECTED);
    }

    #[test]
    fn slicing_matches_bitwise_and_incremental() {
        let data: Vec<u8> = (0..1000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for len in [0, 1, 7, 8, 9, 63, 64, 65, 999, 1000] {
            assert_eq!(crc64(&data[..len]), bitwise(&data[..len]), "len {len}");
            for split in [0, 1, 5, len / 2, len] {
                let mut c = Crc64::new();
                c.update(&data[..split.min(len)]);
                c.update(&data[split.min(len)..len]);
                assert_eq!(c.finish(), bitwise(&data[..len]));
            }
        }
    }
}
