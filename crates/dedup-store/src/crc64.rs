//! The CRC-64 variant that Windows' chunk store uses ("CsCrc64").
//!
//! Parameters (spec `dedup-format.md` §4.3, CONFIRMED on the WS2019 sample and matching
//! Stefano Moioli's ManagedDedup port): reflected polynomial `0x9A6C9329AC4BC9B5` (normal form
//! `0xAD93D23594C93659`), register initialised to 0, result complemented. Check value for
//! `"123456789"` is `0x87FF3F9B2B57C87B`. This is *not* CRC-64/NVME, which starts from all ones.
//!
//! Implementation: slicing-by-8 over eight 256-entry tables built at compile time.

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
        let mut crc = self.state;
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
        self.state = crc;
    }

    /// The finished checksum.
    #[must_use]
    pub const fn finish(self) -> u64 {
        !self.state
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
