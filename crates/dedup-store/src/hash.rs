//! Chunk hashes.
//!
//! A data chunk's hash is the first 32 bytes of SHA-512 of its *logical* (uncompressed) payload
//! (docs/dedup-format.md §4.2, CONFIRMED on all 53 chunks of the WS2019 sample; ddputils.dll's message 0x8056535E
//! names "the BCrypt SHA-512 provider").
//!
//! The stream-map hash (16 bytes in v2/v3 reparse points and compared with the stream record's
//! hash slot; 32 bytes in v1) has an **unknown** algorithm (docs/dedup-format.md §4.2, §9 item 5). Readers treat it
//! as opaque bytes. When *we* write a stream map we fill its hash slot with the same SHA-512 prefix
//! of the `Smap` payload; that is our choice, not a verified fact.

use sha2::{Digest, Sha512};

/// A 32-byte chunk hash.
pub type ChunkHash = [u8; 32];

/// First 32 bytes of SHA-512 of `logical`.
#[must_use]
pub fn chunk_hash(logical: &[u8]) -> ChunkHash {
    let digest = Sha512::digest(logical);
    let mut out = [0u8; 32];
    out.copy_from_slice(&digest[..32]);
    out
}

/// The hash we write for a stream-map payload (our convention: the same SHA-512 prefix as data
/// chunks; Windows' algorithm for this field is unknown).
#[must_use]
pub fn stream_map_hash(smap_payload: &[u8]) -> ChunkHash {
    chunk_hash(smap_payload)
}

/// Lower-case hex of `bytes` (for messages and reports).
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
