//! Bounds-checked little-endian reads that report offsets relative to the caller's input.

use crate::ParseError;

/// A view of part of the input: `bytes` starts at input offset `base`.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) base: usize,
}

impl<'a> View<'a> {
    pub(crate) fn new(bytes: &'a [u8], base: usize) -> Self {
        Self { bytes, base }
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// `len` bytes at `off`, or a `Truncated` error naming `what`.
    pub(crate) fn slice(
        &self,
        off: usize,
        len: usize,
        what: &'static str,
    ) -> Result<&'a [u8], ParseError> {
        off.checked_add(len)
            .and_then(|end| self.bytes.get(off..end))
            .ok_or(ParseError::Truncated {
                offset: self.base + off,
                what,
                needed: len,
                available: self.bytes.len().saturating_sub(off),
            })
    }

    pub(crate) fn array<const N: usize>(
        &self,
        off: usize,
        what: &'static str,
    ) -> Result<[u8; N], ParseError> {
        let s = self.slice(off, N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub(crate) fn u16(&self, off: usize, what: &'static str) -> Result<u16, ParseError> {
        self.array::<2>(off, what).map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&self, off: usize, what: &'static str) -> Result<u32, ParseError> {
        self.array::<4>(off, what).map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&self, off: usize, what: &'static str) -> Result<u64, ParseError> {
        self.array::<8>(off, what).map(u64::from_le_bytes)
    }
}

/// Little-endian u32 from a slice known to hold 4 bytes at `off` (caller checked bounds).
pub(crate) fn le_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Little-endian u64 from a slice known to hold 8 bytes at `off` (caller checked bounds).
pub(crate) fn le_u64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// CRC-32/IEEE (docs/dedup-format.md §1.2).
pub(crate) fn crc32(b: &[u8]) -> u32 {
    crc32fast::hash(b)
}

/// Checks the trailing CRC-32 of reparse data `data` (starting at input offset `base`).
pub(crate) fn check_trailing_crc(data: View<'_>) -> Result<(), ParseError> {
    let n = data.len();
    let stored = data.u32(n.saturating_sub(4), "trailing CRC-32")?;
    let computed = crc32(&data.bytes[..n - 4]);
    if stored == computed {
        Ok(())
    } else {
        Err(ParseError::CrcMismatch {
            offset: data.base + n - 4,
            span_start: data.base,
            span_end: data.base + n - 4,
            stored,
            computed,
        })
    }
}

/// Appends the trailing CRC-32 over everything in `out` from `start`.
pub(crate) fn push_trailing_crc(out: &mut Vec<u8>, start: usize) {
    let c = crc32(&out[start..]);
    out.extend_from_slice(&c.to_le_bytes());
}
