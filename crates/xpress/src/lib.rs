//! MS-XCA plain LZ77 ("Xpress") codec: the compression Windows Server Data Deduplication uses
//! for chunks (`COMPRESSION_FORMAT_XPRESS` = 3 in `RtlDecompressBuffer`).
//!
//! The format is specified in Microsoft's [MS-XCA] "Xpress Compression Algorithm", §2.3 (plain
//! LZ77 compression) and §2.4 (plain LZ77 decompression). In short:
//!
//! * the stream is a sequence of groups: a 32-bit little-endian flag word, then up to 32
//!   tokens; flag bits are consumed from the most significant end, 0 = one literal byte,
//!   1 = a match;
//! * a match is a 16-bit little-endian token: `length - 3` in the low 3 bits and
//!   `offset - 1` in the high 13 bits (offsets 1..=8192);
//! * a length field of 7 continues in a half-byte (the low half of a fresh byte for the first
//!   such match, the high half of that same byte for the next one), a 15 there continues in a
//!   byte, a 255 there in a 16-bit value (the length − 3), and a 0 there in a 32-bit value;
//! * the stream ends where the input ends (the encoder fills unused flag bits with 1s).
//!
//! [MS-XCA]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-xca/

mod decode;
mod encode;
mod error;

pub use decode::decompress;
pub use encode::Compressor;
pub use error::{DecompressError, Field};

/// Largest match offset (distance back) the format can express: 13 bits + 1.
pub const MAX_OFFSET: usize = 8192;

/// Upper bound on the size of the stream [`compress`] produces for `input_len` bytes.
///
/// The worst case is all literals: one byte each plus a 4-byte flag word per 32 of them,
/// plus the final flag word.
#[must_use]
pub const fn max_compressed_len(input_len: usize) -> usize {
    input_len
        .saturating_add(4 * (input_len / 32))
        .saturating_add(4)
}

/// Compresses `input`, appending a complete stream to `output`.
///
/// Allocates a fresh [`Compressor`]; keep one around to compress many buffers.
pub fn compress(input: &[u8], output: &mut Vec<u8>) {
    Compressor::new().compress(input, output);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_covers_all_literals() {
        assert_eq!(max_compressed_len(0), 4);
        assert_eq!(max_compressed_len(31), 35);
        assert_eq!(max_compressed_len(32), 40);
        assert_eq!(max_compressed_len(usize::MAX), usize::MAX);
        let mut s = Vec::new();
        let data: Vec<u8> = (0..=255u8).collect();
        compress(&data, &mut s);
        assert_eq!(s.len(), max_compressed_len(256));
    }
}
