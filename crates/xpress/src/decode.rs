//! Decoder for MS-XCA plain LZ77.
//!
//! Follows [MS-XCA] §2.4 "Plain LZ77 Decompression Algorithm Details": 32-bit little-endian flag
//! words read most-significant bit first (0 = literal byte, 1 = match), 16-bit little-endian
//! match tokens (low 3 bits = length − 3, high 13 bits = offset − 1), and the length
//! extension chain: a half-byte shared by two consecutive long matches, then a byte, then a
//! 16-bit value, then a 32-bit value. The stream ends where the input ends.

use crate::error::{DecompressError, Field};

/// Extra output room needed for the chunked ("wild") copies of the fast paths.
const SLACK: usize = 32;

/// Reads a little-endian `u16` at `pos`; the caller has checked that 2 bytes are there.
#[inline]
fn le16(input: &[u8], pos: usize) -> u16 {
    u16::from_le_bytes([input[pos], input[pos + 1]])
}

/// Reads a little-endian `u32` at `pos`; the caller has checked that 4 bytes are there.
#[inline]
fn le32(input: &[u8], pos: usize) -> u32 {
    u32::from_le_bytes([input[pos], input[pos + 1], input[pos + 2], input[pos + 3]])
}

/// Copies the 16 bytes at `src` to `dst` within `buf` (ranges may overlap when `dst - src < 16`,
/// which callers avoid).
#[inline]
fn copy16(buf: &mut [u8], src: usize, dst: usize) {
    let chunk: [u8; 16] = buf[src..src + 16].try_into().unwrap();
    buf[dst..dst + 16].copy_from_slice(&chunk);
}

/// Copies the 8 bytes at `src` to `dst` within `buf`.
#[inline]
fn copy8(buf: &mut [u8], src: usize, dst: usize) {
    let chunk: [u8; 8] = buf[src..src + 8].try_into().unwrap();
    buf[dst..dst + 8].copy_from_slice(&chunk);
}

/// Writes the match `(offset, len)` at `op`. The caller has checked `1 <= offset <= op` and
/// `op + len <= out.len()`.
#[inline]
fn copy_match(out: &mut [u8], op: usize, offset: usize, len: usize) {
    let src = op - offset;
    if out.len() - op - len >= SLACK {
        // Room to write past the end of the match: copy whole chunks.
        if offset >= 16 {
            let mut i = 0;
            loop {
                copy16(out, src + i, op + i);
                i += 16;
                if i >= len {
                    return;
                }
            }
        }
        if offset >= 8 {
            let mut i = 0;
            loop {
                copy8(out, src + i, op + i);
                i += 8;
                if i >= len {
                    return;
                }
            }
        }
    }
    if offset >= len {
        out.copy_within(src..src + len, op);
    } else if offset == 1 {
        let b = out[src];
        out[op..op + len].fill(b);
    } else {
        // Overlapping copy with a short period: byte by byte, as the format defines it.
        for i in 0..len {
            out[op + i] = out[src + i];
        }
    }
}

/// Checks the match `(offset, len)` of the token at `tok_pos` against the output written so
/// far and the room left, then writes it at `op`.
#[inline]
fn checked_match(
    output: &mut [u8],
    tok_pos: usize,
    op: usize,
    offset: usize,
    len: usize,
) -> Result<(), DecompressError> {
    if offset > op {
        return Err(DecompressError::OffsetBeforeStart {
            input_pos: tok_pos,
            output_pos: op,
            offset,
        });
    }
    let available = output.len() - op;
    if len > available {
        return Err(DecompressError::Overrun {
            input_pos: tok_pos,
            output_pos: op,
            needed: len as u64,
            available,
        });
    }
    copy_match(output, op, offset, len);
    Ok(())
}

/// Input bytes a whole flag group can consume (4-byte flag word, then 32 tokens of at most
/// 2 + 1 + 1 + 2 + 4 bytes) plus the 32-byte wild literal copy: with this much input left, the
/// fast loop needs no end-of-input checks.
const FAST_INPUT_MARGIN: usize = 4 + 32 * 10 + SLACK;

/// Decompresses the MS-XCA plain LZ77 stream `input` into `output` and returns the number of
/// bytes written.
///
/// The stream ends where `input` ends: an empty input yields 0 bytes, and ending exactly between
/// two tokens (literals or matches, also right after a flag word) is success. Ending inside a
/// flag word, match token or length extension is [`DecompressError::Underrun`]. No allocation;
/// never panics and never reads or writes out of bounds, whatever the input.
///
/// # Errors
/// See [`DecompressError`]: underrun, output too small (overrun), match offset before the start
/// of the output, and 16/32-bit length extensions below 22.
pub fn decompress(input: &[u8], output: &mut [u8]) -> Result<usize, DecompressError> {
    let in_len = input.len();
    let mut ip = 0usize;
    let mut op = 0usize;
    // Current flag word in the top half of a u64, shifted so that the next flag is bit 63,
    // and the number of flags left in it.
    let mut flags = 0u64;
    let mut left = 0u32;
    // Input position of the byte whose high half-byte the next long match will use (MS-XCA's
    // "LastLengthHalfByte"); 0 means none. Position 0 is always inside the first flag word, so
    // it can never be such a byte.
    let mut nibble_pos = 0usize;

    // Fast loop: whole flag groups while the input has a group's worth of bytes left, and
    // chunked copies that may write up to SLACK bytes past the token while the output has room.
    // It leaves at a token boundary when the output gets tight; the careful loop below then
    // finishes the stream.
    'fast: while in_len - ip >= FAST_INPUT_MARGIN {
        if left == 0 {
            flags = u64::from(le32(input, ip)) << 32;
            ip += 4;
            left = 32;
        }
        loop {
            // Literal run (possibly empty): one fixed 32-byte copy, then advance by the run.
            if output.len() - op < SLACK {
                break 'fast;
            }
            let lits = flags.leading_zeros().min(left);
            if lits <= 8 {
                output[op..op + 8].copy_from_slice(&input[ip..ip + 8]);
            } else {
                output[op..op + SLACK].copy_from_slice(&input[ip..ip + SLACK]);
            }
            ip += lits as usize;
            op += lits as usize;
            left -= lits;
            flags <<= lits;
            if left == 0 {
                break;
            }

            // After a literal run the next flag is 1: a match.
            flags <<= 1;
            left -= 1;
            let tok_pos = ip;
            let token = le16(input, ip);
            ip += 2;
            let offset = usize::from(token >> 3) + 1;
            let mut len = usize::from(token & 7);
            if len == 7 {
                len = long_length(input, &mut ip, &mut nibble_pos, op)?;
            }
            let len = len.saturating_add(3);
            if offset >= 16 && offset <= op && len.saturating_add(SLACK) <= output.len() - op {
                // The common case: 16-byte chunks, usually just one.
                let src = op - offset;
                copy16(output, src, op);
                let mut i = 16;
                while i < len {
                    copy16(output, src + i, op + i);
                    i += 16;
                }
            } else {
                checked_match(output, tok_pos, op, offset, len)?;
            }
            op += len;
            if left == 0 {
                break;
            }
        }
    }

    // Careful loop: every read and write checked against the ends.
    loop {
        if left == 0 {
            if ip == in_len {
                return Ok(op);
            }
            if in_len - ip < 4 {
                return Err(DecompressError::Underrun {
                    input_pos: ip,
                    output_pos: op,
                    field: Field::FlagWord,
                    needed: 4,
                    available: in_len - ip,
                });
            }
            flags = u64::from(le32(input, ip)) << 32;
            ip += 4;
            left = 32;
        }
        if ip == in_len {
            return Ok(op);
        }
        if flags >> 63 == 0 {
            if op == output.len() {
                return Err(DecompressError::Overrun {
                    input_pos: ip,
                    output_pos: op,
                    needed: 1,
                    available: 0,
                });
            }
            output[op] = input[ip];
            ip += 1;
            op += 1;
            flags <<= 1;
            left -= 1;
            continue;
        }

        flags <<= 1;
        left -= 1;
        let tok_pos = ip;
        if in_len - ip < 2 {
            return Err(DecompressError::Underrun {
                input_pos: ip,
                output_pos: op,
                field: Field::MatchToken,
                needed: 2,
                available: in_len - ip,
            });
        }
        let token = le16(input, ip);
        ip += 2;
        let offset = usize::from(token >> 3) + 1;
        let mut len = usize::from(token & 7);
        if len == 7 {
            len = long_length(input, &mut ip, &mut nibble_pos, op)?;
        }
        // len <= u32::MAX here, so this only saturates where usize is 32 bits wide.
        let len = len.saturating_add(3);
        checked_match(output, tok_pos, op, offset, len)?;
        op += len;
    }
}

/// Decodes the length extension of a match whose 3-bit length field is 7 and returns the match
/// length minus 3 (MS-XCA §2.4).
#[inline]
fn long_length(
    input: &[u8],
    ip: &mut usize,
    nibble_pos: &mut usize,
    op: usize,
) -> Result<usize, DecompressError> {
    let in_len = input.len();
    let underrun = |pos: usize, field: Field, needed: usize| DecompressError::Underrun {
        input_pos: pos,
        output_pos: op,
        field,
        needed,
        available: in_len - pos,
    };

    // The shared half-byte: the first long match takes a fresh byte and uses its low half;
    // the next long match uses the high half of that same byte.
    let half = if *nibble_pos == 0 {
        if *ip >= in_len {
            return Err(underrun(*ip, Field::LengthNibble, 1));
        }
        *nibble_pos = *ip;
        *ip += 1;
        usize::from(input[*nibble_pos] & 0x0f)
    } else {
        let h = usize::from(input[*nibble_pos] >> 4);
        *nibble_pos = 0;
        h
    };
    if half < 15 {
        return Ok(7 + half);
    }

    if *ip >= in_len {
        return Err(underrun(*ip, Field::LengthByte, 1));
    }
    let byte = input[*ip];
    *ip += 1;
    if byte < 255 {
        return Ok(7 + 15 + usize::from(byte));
    }

    if in_len - *ip < 2 {
        return Err(underrun(*ip, Field::LengthU16, 2));
    }
    let mut ext_pos = *ip;
    let mut value = u32::from(le16(input, *ip));
    *ip += 2;
    if value == 0 {
        if in_len - *ip < 4 {
            return Err(underrun(*ip, Field::LengthU32, 4));
        }
        ext_pos = *ip;
        value = le32(input, *ip);
        *ip += 4;
    }
    // The 16/32-bit value is the whole length minus 3; MS-XCA rejects values below 15 + 7.
    if value < 15 + 7 {
        return Err(DecompressError::InvalidLength {
            input_pos: ext_pos,
            output_pos: op,
            value,
        });
    }
    Ok(value as usize)
}
