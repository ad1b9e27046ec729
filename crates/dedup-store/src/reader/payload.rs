//! Record payloads: the payload CRC-64, Xpress decoding with a bounded buffer, the logical
//! size and the chunk hash (docs/dedup-format.md §4).

use std::sync::Arc;

use super::{PayloadCrc, ReadOptions, TYPICAL_MAX_CHUNK};
use crate::crc64::crc64;
use crate::error::ContainerError;
use crate::hash::{ChunkHash, chunk_hash, hex};
use crate::layout::{Compression, RecordHeader, RecordType};

/// Checks the payload CRC-64 of a data or stream-map record given its stored payload.
pub fn verify_payload_crc(
    name: &Arc<str>,
    rec: &RecordHeader,
    stored: &[u8],
) -> Result<(), ContainerError> {
    if rec.record_type == RecordType::Padding {
        return Ok(());
    }
    let actual = crc64(stored);
    if actual == rec.payload_crc {
        Ok(())
    } else {
        Err(ContainerError::CrcMismatch {
            container: name.clone(),
            offset: rec.offset.into(),
            local_id: Some(rec.local_id),
            what: "payload",
            expected: rec.payload_crc,
            actual,
        })
    }
}

/// The logical payload of a record from its stored payload: payload CRC-64 checked (see
/// [`PayloadCrc`] for when), decompressed when needed (into `scratch`; a stored payload is
/// returned without copying), size checked against `expected_len` when given, and for data
/// chunks the hash checked when `opts.verify_hash` is set. The payload is the returned slice:
/// `scratch` may be left longer (it keeps its room, so that the next call into it need not zero
/// it again).
pub fn decode_payload<'s>(
    name: &Arc<str>,
    rec: &RecordHeader,
    stored: &'s [u8],
    expected_len: Option<u64>,
    opts: &ReadOptions,
    scratch: &'s mut Vec<u8>,
) -> Result<&'s [u8], ContainerError> {
    let hashed = opts.verify_hash && rec.record_type == RecordType::Data;
    let crc_first = !hashed || opts.payload_crc == PayloadCrc::Always;
    if crc_first {
        verify_payload_crc(name, rec, stored)?;
    }
    decode_checked(name, rec, stored, expected_len, opts, scratch).or_else(|e| {
        // A damaged stored payload is reported as such, as when the CRC comes first.
        if !crc_first {
            verify_payload_crc(name, rec, stored)?;
        }
        Err(e)
    })
}

/// [`decode_payload`] without the chunk-hash check, for a caller that hashes many chunks at
/// once and then calls [`check_chunk_hash`] with each computed hash. The payload CRC-64 is
/// checked first unless a data chunk's hash is to be checked with `PayloadCrc::OnFailure`
/// (then [`check_chunk_hash`] checks it on a mismatch, and a failed decode checks it here), so
/// the two calls together report exactly what [`decode_payload`] reports.
pub fn decode_unhashed<'s>(
    name: &Arc<str>,
    rec: &RecordHeader,
    stored: &'s [u8],
    expected_len: Option<u64>,
    opts: &ReadOptions,
    scratch: &'s mut Vec<u8>,
) -> Result<&'s [u8], ContainerError> {
    let hashed = opts.verify_hash && rec.record_type == RecordType::Data;
    let crc_first = !hashed || opts.payload_crc == PayloadCrc::Always;
    if crc_first {
        verify_payload_crc(name, rec, stored)?;
    }
    let unhashed = ReadOptions {
        verify_hash: false,
        ..*opts
    };
    decode_checked(name, rec, stored, expected_len, &unhashed, scratch).or_else(|e| {
        if !crc_first {
            verify_payload_crc(name, rec, stored)?;
        }
        Err(e)
    })
}

/// Compares a data chunk's `computed` hash (the first 32 bytes of SHA-512 of its logical
/// payload, however the caller computed it) with its record's. On a mismatch the stored payload
/// is checked against its CRC-64 first, so damaged stored bytes are reported as a CRC mismatch,
/// as [`decode_payload`] does.
pub fn check_chunk_hash(
    name: &Arc<str>,
    rec: &RecordHeader,
    stored: &[u8],
    computed: &ChunkHash,
) -> Result<(), ContainerError> {
    if *computed == rec.hash {
        return Ok(());
    }
    verify_payload_crc(name, rec, stored)?;
    Err(hash_mismatch(name, rec, computed))
}

/// [`decode_payload`] after (or without) the payload CRC-64.
fn decode_checked<'s>(
    name: &Arc<str>,
    rec: &RecordHeader,
    stored: &'s [u8],
    expected_len: Option<u64>,
    opts: &ReadOptions,
    scratch: &'s mut Vec<u8>,
) -> Result<&'s [u8], ContainerError> {
    let logical: &[u8] = match rec.compression {
        Compression::Stored => stored,
        Compression::Xpress => {
            let n = decompress(name, rec, stored, expected_len, opts, scratch)?;
            &scratch[..n]
        }
        Compression::Unsupported(code) => {
            return Err(ContainerError::UnsupportedCompression {
                container: name.clone(),
                offset: rec.offset.into(),
                local_id: rec.local_id,
                code,
            });
        }
    };
    if let Some(expected) = expected_len
        && logical.len() as u64 != expected
    {
        return Err(ContainerError::LogicalSizeMismatch {
            container: name.clone(),
            offset: rec.offset.into(),
            local_id: rec.local_id,
            expected,
            actual: logical.len() as u64,
        });
    }
    if opts.verify_hash && rec.record_type == RecordType::Data {
        verify_hash(name, rec, logical)?;
    }
    Ok(logical)
}

/// Checks a data chunk's hash against its logical payload.
pub fn verify_hash(
    name: &Arc<str>,
    rec: &RecordHeader,
    logical: &[u8],
) -> Result<(), ContainerError> {
    let actual = chunk_hash(logical);
    if actual == rec.hash {
        Ok(())
    } else {
        Err(hash_mismatch(name, rec, &actual))
    }
}

/// The error for a chunk of record `rec` whose hash came out as `actual`.
fn hash_mismatch(name: &Arc<str>, rec: &RecordHeader, actual: &ChunkHash) -> ContainerError {
    ContainerError::HashMismatch {
        container: name.clone(),
        offset: rec.offset.into(),
        local_id: rec.local_id,
        expected: hex(&rec.hash),
        actual: hex(actual),
    }
}

fn decompress(
    name: &Arc<str>,
    rec: &RecordHeader,
    stored: &[u8],
    expected_len: Option<u64>,
    opts: &ReadOptions,
    out: &mut Vec<u8>,
) -> Result<usize, ContainerError> {
    let err = |source| ContainerError::Decompress {
        container: name.clone(),
        offset: rec.offset.into(),
        local_id: rec.local_id,
        source,
    };
    // With a known size, decode into exactly that much room (one more byte so that a stream
    // that is too long is caught as a size mismatch rather than silently cut), but never start
    // above twice the typical chunk: the size comes from a stream map, and a map claiming
    // 64 MiB chunks must not make every worker allocate 64 MiB before a byte is decoded. Room
    // grows (doubling) only as far as the payload really decodes.
    let max = opts.max_logical_len.max(1);
    let mut cap = match expected_len {
        Some(n) => usize::try_from(n)
            .unwrap_or(usize::MAX)
            .saturating_add(1)
            .min(2 * TYPICAL_MAX_CHUNK)
            .min(max),
        None => TYPICAL_MAX_CHUNK.min(max),
    };
    let want = expected_len.map_or(max, |n| {
        usize::try_from(n)
            .unwrap_or(usize::MAX)
            .saturating_add(1)
            .min(max)
    });
    loop {
        // Grow only, and never truncated to the payload: re-zeroing room the decoder overwrites
        // anyway costs as much as a copy (the payload is `out[..n]`).
        if out.len() < cap {
            out.resize(cap, 0);
        }
        match xpress::decompress(stored, &mut out[..cap]) {
            Ok(n) => return Ok(n),
            // Up to the expected size first (exactly, so a chunk of that size decodes in one
            // more pass), then on as before to find out how long a too-long payload is.
            Err(xpress::DecompressError::Overrun { .. }) if cap < max => {
                let next = cap.saturating_mul(2);
                cap = if cap < want && next > want {
                    want
                } else {
                    next.min(max)
                };
            }
            Err(e) => return Err(err(e)),
        }
    }
}
