//! Decoder for MS-XCA plain LZ77.
//!
//! Follows [MS-XCA] §2.4 "Plain LZ77 Decompression Algorithm Details": 32-bit little-endian flag
//! words read most-significant bit first (0 = literal byte, 1 = match), 16-bit little-endian
//! match tokens (low 3 bits = length − 3, high 13 bits = offset − 1), and the length
//! extension chain: a half-byte shared by two consecutive long matches, then a byte, then a
//! 16-bit value, then a 32-bit value. The stream ends where the input ends.

use crate::MAX_OFFSET;
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

    // Fast loops with chunked copies that may write up to SLACK bytes past a token: first
    // whole flag groups while a group's worth of input and output room is left (checked once
    // per group), then token by token while a token's worth is left (checked per token). Each
    // leaves at a token boundary; the careful loop below then finishes the stream.
    let mut cursor = Cursor {
        ip: &mut ip,
        op: &mut op,
        flags: &mut flags,
        left: &mut left,
        nibble_pos: &mut nibble_pos,
    };
    group_loop::<false, true>(input, output, &mut cursor)?;
    group_loop::<false, false>(input, output, &mut cursor)?;
    group_loop::<true, true>(input, output, &mut cursor)?;

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

/// The decoder's position, shared by the fast and the careful loop.
struct Cursor<'a> {
    ip: &'a mut usize,
    op: &'a mut usize,
    flags: &'a mut u64,
    left: &'a mut u32,
    nibble_pos: &'a mut usize,
}

/// Room the group loop reserves per match: every match with a 3-bit or half-byte length (at
/// most 3 + 7 + 14 = 24 bytes) is written as one or two 16-byte chunks, so within 32 bytes of
/// its start. Longer matches check the room themselves.
const SHORT_MATCH: usize = 32;

/// Output room the group loop needs at the start of a group: each of the 32 tokens writes at
/// most [`SHORT_MATCH`] bytes (a literal writes one), and the last chunked copy may write
/// [`SLACK`] bytes past its end. Longer matches check the room themselves.
const GROUP_OUTPUT_MARGIN: usize = 32 * SHORT_MATCH + SLACK;

/// Input room the checked group loop needs before each token: a wild literal copy of [`SLACK`]
/// bytes, then (after at most that many literals) a match token, its half-byte and a length
/// byte.
const TOKEN_INPUT_MARGIN: usize = SLACK + 4;

/// Output room the checked group loop needs before each token: a wild literal copy of
/// [`SLACK`] bytes, then (after at most that many literals) a short match's chunks.
const TOKEN_OUTPUT_MARGIN: usize = SLACK + SHORT_MATCH;

/// The hot loops, one function for three tiers (`decompress` runs them in this order).
///
/// With `CHECKED = false`: whole flag groups while `input` has [`FAST_INPUT_MARGIN`] bytes and
/// `output` [`GROUP_OUTPUT_MARGIN`] bytes left at the start of a group; the bounds are checked
/// once per group. Starts at a group boundary. First with `NEAR`, then without (see below).
///
/// With `CHECKED = true` (and `NEAR`): the same work with the room checked before every token
/// ([`TOKEN_INPUT_MARGIN`], [`TOKEN_OUTPUT_MARGIN`]) instead, for the last kilobyte or so of a
/// buffer (a 64 KiB chunk would otherwise spend ~3 % of its bytes in the careful loop); may
/// start in the middle of a group.
///
/// `NEAR` checks every match offset against the output written so far; without it the
/// unchecked loop runs only once `MAX_OFFSET` bytes are written, where no offset can reach
/// before the start (one compare and branch less per match, for all but the first 8 KiB).
///
/// Either leaves at a token boundary with the cursor (flags included) set for the careful loop:
/// when the room runs short, or on an error. The bounds the `unsafe` blocks rely on are
/// explained at each.
///
/// The flag word is bit-reversed once per group, so that the next flag is the lowest set bit:
/// the literal run before a match is the distance to the next set bit (`trailing_zeros`), and a
/// match clears its bit (`m & (m - 1)`), which keeps the per-token dependency chain short. A
/// sentinel bit at position 32 ends the group. The first run of a group is taken from the
/// word's leading zeros instead, so that the reversal's latency does not hold up the next group
/// when a group is all literals (incompressible data).
///
/// Tried and dropped, measured with `stats time text` against this version on the same
/// machine: leading zeros of the unreversed word with the match bit cleared through a shifted
/// mask (a longer chain per token: −30 %); the half-byte selected without branches
/// (`select_unpredictable`: the next token's position then waits for this token's load, −30 %);
/// skipping the literal copy when the run is empty (a mispredicted branch on 27 % of matches,
/// −30 %); a BMI1/BMI2 build of the loop chosen at run time (no gain: the register allocation
/// got worse); rare matches handed back to the careful loop instead of called out of line (−10 %,
/// the same).
#[allow(unsafe_code)]
#[inline]
fn group_loop<const CHECKED: bool, const NEAR: bool>(
    input: &[u8],
    output: &mut [u8],
    c: &mut Cursor<'_>,
) -> Result<(), DecompressError> {
    let (in_len, out_len) = (input.len(), output.len());
    // A group may start at ip <= ip_end and op <= op_end (none may when the margins do not fit).
    let (group_in, group_out) = if CHECKED {
        (4 + TOKEN_INPUT_MARGIN, TOKEN_OUTPUT_MARGIN)
    } else {
        (FAST_INPUT_MARGIN, GROUP_OUTPUT_MARGIN)
    };
    let (Some(ip_end), Some(op_end)) =
        (in_len.checked_sub(group_in), out_len.checked_sub(group_out))
    else {
        return Ok(());
    };
    let inp = input.as_ptr();
    let mut outp = output.as_mut_ptr();
    let (mut ip, mut op, mut nibble_pos) = (*c.ip, *c.op, *c.nibble_pos);
    // Unconsumed match flags of the current group (bit i = flag i, sentinel at bit 32: bits
    // below `used` are all clear), and the number of flags consumed (32: none left).
    let mut used = 32 - *c.left;
    if !CHECKED && used != 32 {
        // The unchecked loop starts at group boundaries only (its margins are per group).
        return Ok(());
    }
    #[allow(clippy::cast_possible_truncation)] // the top half: the careful loop's flags
    let mut m = u64::from(
        ((*c.flags >> 32) as u32)
            .checked_shr(used)
            .unwrap_or(0)
            .reverse_bits(),
    ) | (1 << 32);
    // The next match flag's position (32: none left in this group).
    let mut next = m.trailing_zeros();
    let result = 'fast: loop {
        if used == 32 {
            // Unchecked and NEAR: leave once every offset reaches back inside the output;
            // unchecked and not NEAR: never run before that (the match copy relies on it).
            if ip > ip_end || op > op_end || (!CHECKED && NEAR == (op >= MAX_OFFSET)) {
                break Ok(());
            }
            // Unchecked: from here to the end of this flag group the input reads stay below
            // `ip + FAST_INPUT_MARGIN <= in_len` (the flag word, at most 32 tokens of at most 10
            // bytes each, and a wild literal copy of SLACK bytes), and the output writes stay
            // below `op + GROUP_OUTPUT_MARGIN <= out_len` unless a long match has checked its
            // own room. Checked: each token checks its own room below.
            // SAFETY: 4 <= group_in <= in_len - ip.
            let word =
                u32::from_le_bytes(unsafe { inp.add(ip).cast::<[u8; 4]>().read_unaligned() });
            ip += 4;
            m = u64::from(word.reverse_bits()) | (1 << 32);
            used = 0;
            // The first flag run straight from the word: the reversal's latency then stays out
            // of the way of the next group on incompressible data (32 literals per group).
            next = word.leading_zeros();
        }
        loop {
            if CHECKED && (in_len - ip < TOKEN_INPUT_MARGIN || out_len - op < TOKEN_OUTPUT_MARGIN) {
                break 'fast Ok(());
            }
            // The literal run before the next match (or before the end of the group).
            let lits = (next - used) as usize;
            // SAFETY: the input has SLACK readable bytes at ip and the output SLACK writable bytes
            // at op (group margins, or the token margins just checked; lits <= 32 - used);
            // input and output are distinct slices, so the ranges do not overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(inp.add(ip), outp.add(op), 16);
                if lits > 16 {
                    std::ptr::copy_nonoverlapping(inp.add(ip + 16), outp.add(op + 16), 16);
                }
            }
            ip += lits;
            op += lits;
            used = next + 1;
            if next == 32 {
                used = 32;
                continue 'fast;
            }
            m &= m - 1;

            let tok_pos = ip;
            // SAFETY: within the group's (or the token's) input margin.
            let token =
                u16::from_le_bytes(unsafe { inp.add(ip).cast::<[u8; 2]>().read_unaligned() });
            ip += 2;
            let offset = usize::from(token >> 3) + 1;
            let field = usize::from(token & 7);
            // The shared half-byte (see `long_length`), without end checks: the byte after the
            // token is within the margin, and the one kept from the previous long match was
            // read already. Written as selects; the compiler keeps branches where they pay.
            let is_long = field == 7;
            let have = nibble_pos != 0;
            let byte_pos = if have { nibble_pos } else { ip };
            // SAFETY: within the margin (or an input position already read).
            let byte = usize::from(unsafe { *inp.add(byte_pos) });
            let half = if have { byte >> 4 } else { byte & 0x0f };
            #[allow(clippy::needless_bitwise_bool)] // no branch wanted for this one
            let takes_byte = is_long & !have;
            nibble_pos = if is_long {
                if have { 0 } else { ip }
            } else {
                nibble_pos
            };
            ip += usize::from(takes_byte);
            let mut len = field + 3 + if is_long { half } else { 0 };
            if is_long && half == 15 {
                // A length byte follows (within the margin: at most 4 bytes per token).
                // SAFETY: within the group's (or the token's) input margin.
                let byte = usize::from(unsafe { *inp.add(ip) });
                let long = 7 + 15 + 3 + byte;
                // Room for the whole match plus a chunk's overrun, and (unchecked) for the rest
                // of the group after it.
                let room = if CHECKED {
                    long + SLACK <= out_len - op
                } else {
                    op + long <= op_end
                };
                if byte == 255 || !room || (NEAR && offset > op) {
                    // A 16/32-bit length, too little room or a bad offset: decoded and copied
                    // out of line, with every check.
                    match extended_match(input, output, tok_pos, ip, op, offset) {
                        Ok((l, after)) => (len, ip) = (l, after),
                        Err(e) => break 'fast Err(e),
                    }
                    // The slice was used again: take a fresh pointer from it.
                    outp = output.as_mut_ptr();
                    op += len;
                    if !CHECKED && op > op_end {
                        // Too close to the end for the rest of the group: leave at this token.
                        break 'fast Ok(());
                    }
                    next = m.trailing_zeros();
                    continue;
                }
                ip += 1;
                len = long;
            }
            if NEAR && offset > op {
                break 'fast Err(DecompressError::OffsetBeforeStart {
                    input_pos: tok_pos,
                    output_pos: op,
                    offset,
                });
            }
            // SAFETY: offset <= op (checked when NEAR, else op >= MAX_OFFSET >= offset since the
            // group start), and the room: a match of at most 24 bytes writes below op + 32,
            // within the group's (or the token's) output margin; a longer one has checked its
            // own room above (wild_match writes below op + len + 16).
            unsafe { wild_match(outp, op, offset, len) };
            op += len;
            // SAFETY: m keeps its sentinel bit until the group ends, so it is never 0 here.
            unsafe { std::hint::assert_unchecked(m != 0) };
            next = m.trailing_zeros();
        }
    };
    // The careful loop's flag register: the unconsumed flags at the top, and their number.
    (*c.ip, *c.op, *c.nibble_pos) = (ip, op, nibble_pos);
    *c.left = 32 - used;
    // The low 32 bits are the flags (the sentinel is bit 32).
    #[allow(clippy::cast_possible_truncation)]
    let rest = (m as u32).reverse_bits();
    *c.flags = (u64::from(rest) << 32) << used;
    result
}

/// For offsets below 8: the smallest multiple of the offset that is at least 8, the distance an
/// 8-byte chunk copy can read from once the first 8 bytes of the match are written.
const PERIOD: [usize; 8] = [8, 8, 8, 9, 8, 10, 12, 14];

/// Writes the match `(offset, len)` at `outp + op` in chunks that may write up to 15 bytes
/// past its end: 16-byte chunks where `offset >= 16`, 8-byte chunks where `offset >= 8` (each
/// reads only bytes written before it), and for shorter periods the first 8 bytes one by one,
/// then 8-byte chunks from a multiple of the period back.
///
/// # Safety
/// `1 <= offset <= op`, and `outp` is valid for writes (and reads) of `op + len + 16` bytes.
#[allow(unsafe_code)]
#[allow(clippy::inline_always)] // one call site, in the hot loop
#[inline(always)]
unsafe fn wild_match(outp: *mut u8, op: usize, offset: usize, len: usize) {
    // SAFETY (every access below): reads from op - offset onwards, writes below
    // op + len + 16, as the caller guarantees.
    unsafe {
        let dst = outp.add(op);
        let src = dst.sub(offset);
        if offset >= 16 {
            let v = src.cast::<[u8; 16]>().read_unaligned();
            dst.cast::<[u8; 16]>().write_unaligned(v);
            if len > 16 {
                let v = src.add(16).cast::<[u8; 16]>().read_unaligned();
                dst.add(16).cast::<[u8; 16]>().write_unaligned(v);
                let mut i = 32;
                while i < len {
                    let v = src.add(i).cast::<[u8; 16]>().read_unaligned();
                    dst.add(i).cast::<[u8; 16]>().write_unaligned(v);
                    i += 16;
                }
            }
        } else if offset >= 8 {
            let mut i = 0;
            while i < len {
                let v = src.add(i).cast::<[u8; 8]>().read_unaligned();
                dst.add(i).cast::<[u8; 8]>().write_unaligned(v);
                i += 8;
            }
        } else {
            for k in 0..8 {
                *dst.add(k) = *src.add(k);
            }
            let back = PERIOD[offset];
            let mut i = 8;
            while i < len {
                let v = dst.add(i).sub(back).cast::<[u8; 8]>().read_unaligned();
                dst.add(i).cast::<[u8; 8]>().write_unaligned(v);
                i += 8;
            }
        }
    }
}

/// The fast loop's matches whose half-byte is 15: decodes the rest of the length from `ip`
/// ([`extended_length`]), checks and writes the match of the token at `tok_pos` at `op`, and
/// returns its length and the input position after it.
#[cold]
#[inline(never)]
fn extended_match(
    input: &[u8],
    output: &mut [u8],
    tok_pos: usize,
    ip: usize,
    op: usize,
    offset: usize,
) -> Result<(usize, usize), DecompressError> {
    let (len, ip) = extended_length(input, ip, op)?;
    // At most u32::MAX, so this only saturates where usize is 32 bits wide.
    let len = len.saturating_add(3);
    checked_match(output, tok_pos, op, offset, len)?;
    Ok((len, ip))
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
    // The shared half-byte: the first long match takes a fresh byte and uses its low half;
    // the next long match uses the high half of that same byte.
    let half = if *nibble_pos == 0 {
        if *ip >= input.len() {
            return Err(DecompressError::Underrun {
                input_pos: *ip,
                output_pos: op,
                field: Field::LengthNibble,
                needed: 1,
                available: 0,
            });
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
    let (len, next) = extended_length(input, *ip, op)?;
    *ip = next;
    Ok(len)
}

/// Decodes what follows a half-byte of 15 (a byte, then a 16-bit, then a 32-bit value) and
/// returns the match length minus 3 and the input position after it (MS-XCA §2.4). Takes and
/// returns the position by value, so that the hot loop's `ip` can stay in a register.
#[cold]
fn extended_length(
    input: &[u8],
    mut ip: usize,
    op: usize,
) -> Result<(usize, usize), DecompressError> {
    let in_len = input.len();
    let underrun = |pos: usize, field: Field, needed: usize| DecompressError::Underrun {
        input_pos: pos,
        output_pos: op,
        field,
        needed,
        available: in_len - pos,
    };
    if ip >= in_len {
        return Err(underrun(ip, Field::LengthByte, 1));
    }
    let byte = input[ip];
    ip += 1;
    if byte < 255 {
        return Ok((7 + 15 + usize::from(byte), ip));
    }

    if in_len - ip < 2 {
        return Err(underrun(ip, Field::LengthU16, 2));
    }
    let mut ext_pos = ip;
    let mut value = u32::from(le16(input, ip));
    ip += 2;
    if value == 0 {
        if in_len - ip < 4 {
            return Err(underrun(ip, Field::LengthU32, 4));
        }
        ext_pos = ip;
        value = le32(input, ip);
        ip += 4;
    }
    // The 16/32-bit value is the whole length minus 3; MS-XCA rejects values below 15 + 7.
    if value < 15 + 7 {
        return Err(DecompressError::InvalidLength {
            input_pos: ext_pos,
            output_pos: op,
            value,
        });
    }
    Ok((value as usize, ip))
}
