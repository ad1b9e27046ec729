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
/// The flag word is bit-reversed once per group, so that the next flag is bit 0: the literal
/// run before a match is the number of trailing zeros, and the run and its match flag are
/// shifted out together. A sentinel bit above the last flag ends the group (the register is
/// then 0). The first run of a group is taken from the word's leading zeros instead, so that
/// the reversal's latency does not hold up the next group when a group is all literals
/// (incompressible data).
///
/// Each tier is its own function, and positions are pointers, so that the loop's state (input
/// and output position, flags) stays in registers: inlined into `decompress` together, the
/// three tiers spilled the flag register or the output position to the stack, a store and a
/// reload on every token's dependency chain. Matches with a 3-bit length (3-9 bytes; most of
/// them) take a short path of one 16-byte chunk, read whole before it is written, so that only
/// a match overlapping itself (offset below its length) goes out of line; longer matches take
/// two chunks and more, out of line for periods below 16 bytes. Mispredicted branches cost
/// more than anything else here: leaving matches with offsets of 9-15 bytes in the short path
/// (1 % of text's matches went out of line before) gained 6 %.
///
/// Tried and dropped, measured with `stats time` against this version on the same machine:
/// leading zeros of the unreversed word with the match bit cleared through a shifted mask (a
/// longer chain per token: −30 %); the half-byte selected without branches
/// (`select_unpredictable`: the next token's position then waits for this token's load, −30 %);
/// skipping the literal copy when the run is empty (a mispredicted branch on 27 % of matches,
/// −30 %); a BMI1/BMI2 build of the loop chosen at run time (no gain: the register allocation
/// got worse); rare matches handed back to the careful loop instead of called out of line (−10 %,
/// the same); the short match as two 8-byte chunks (two more memory operations per match, −8 %);
/// `cold_path` on long matches (−3 %: a third of the matches in real text are long). Reading the
/// short match's source from a fixed distance of 8 KiB instead (wrong output, an experiment)
/// was no faster: store-to-load forwarding from recent output is not what limits this loop;
/// its instruction count and the mispredicted long-match branch are.
#[allow(unsafe_code)]
#[inline(never)]
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
    let left = *c.left;
    if !CHECKED && left != 0 {
        // The unchecked loop starts at group boundaries only (its margins are per group).
        return Ok(());
    }
    // Positions are kept as pointers: with the two bases out of the way the loop's state (ip,
    // op, the flags and their count) stays in registers.
    let inp = input.as_ptr();
    let mut outp = output.as_mut_ptr();
    // SAFETY (the four `add`s): the cursor's positions are within the slices (at most their
    // lengths), and so are ip_end < in_len, op_end < out_len and in_len - TOKEN_INPUT_MARGIN.
    let (mut ip, mut op, ip_last, in_tok_last) = unsafe {
        (
            inp.add(*c.ip),
            outp.add(*c.op),
            inp.add(ip_end),
            inp.add(in_len - TOKEN_INPUT_MARGIN),
        )
    };
    let out_addr = outp.addr();
    let op_last = out_addr + op_end;
    // The byte whose high half-byte the next long match uses (null: none).
    let mut nib: *const u8 = if *c.nibble_pos == 0 {
        std::ptr::null()
    } else {
        // SAFETY: a position already read, within the input.
        unsafe { inp.add(*c.nibble_pos) }
    };
    // The unconsumed flags of the current group, the next one in bit 0, with a sentinel bit
    // above the last one (0: none left). The careful loop keeps them in the top half of its
    // register, the next one in bit 63.
    #[allow(clippy::cast_possible_truncation)] // the top half: the careful loop's flags
    let mut m = if left == 0 {
        0
    } else {
        u64::from(((*c.flags >> 32) as u32).reverse_bits()) & ((1 << left) - 1) | (1 << left)
    };
    // The literal run before the next match flag (or before the sentinel).
    let mut run = m.trailing_zeros();
    let result = 'fast: loop {
        if m == 0 {
            // Unchecked and NEAR: leave once every offset reaches back inside the output;
            // unchecked and not NEAR: never run before that (the match copy relies on it).
            if ip > ip_last
                || op.addr() > op_last
                || (!CHECKED && NEAR == (op.addr() - out_addr >= MAX_OFFSET))
            {
                break Ok(());
            }
            // Unchecked: from here to the end of this flag group the input reads stay below
            // `ip + FAST_INPUT_MARGIN <= in_len` (the flag word, at most 32 tokens of at most 10
            // bytes each, and a wild literal copy of SLACK bytes), and the output writes stay
            // below `op + GROUP_OUTPUT_MARGIN <= out_len` unless a long match has checked its
            // own room. Checked: each token checks its own room below.
            // SAFETY: 4 <= group_in <= in_len - ip.
            let word = u32::from_le_bytes(unsafe { ip.cast::<[u8; 4]>().read_unaligned() });
            // SAFETY: as above.
            ip = unsafe { ip.add(4) };
            m = u64::from(word.reverse_bits()) | (1 << 32);
            // The first flag run straight from the word: the reversal's latency then stays out
            // of the way of the next group on incompressible data (32 literals per group).
            run = word.leading_zeros();
        }
        loop {
            if CHECKED && (ip > in_tok_last || op.addr() > op_last) {
                break 'fast Ok(());
            }
            let lits = run as usize;
            // SAFETY: the input has SLACK readable bytes at ip and the output SLACK writable bytes
            // at op (group margins, or the token margins just checked; lits <= 32);
            // input and output are distinct slices, so the ranges do not overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(ip, op, 16);
                if lits > 16 {
                    std::ptr::copy_nonoverlapping(ip.add(16), op.add(16), 16);
                }
                ip = ip.add(lits);
                op = op.add(lits);
            }
            // The run and its match flag (or the sentinel: then the group is done).
            m = (m >> run) >> 1;
            if m == 0 {
                continue 'fast;
            }

            let tok = ip;
            // SAFETY: within the group's (or the token's) input margin.
            let token = u16::from_le_bytes(unsafe { ip.cast::<[u8; 2]>().read_unaligned() });
            // SAFETY: as above.
            ip = unsafe { ip.add(2) };
            let offset = usize::from(token >> 3) + 1;
            let field = usize::from(token & 7);
            // The offset is checked after the length is decoded (a bad length is reported
            // first, as by the careful loop).
            let offset_error = || DecompressError::OffsetBeforeStart {
                input_pos: tok.addr() - inp.addr(),
                output_pos: op.addr() - out_addr,
                offset,
            };
            if field < 7 {
                if NEAR && offset > op.addr() - out_addr {
                    break 'fast Err(offset_error());
                }
                // A match of 3-9 bytes: one 16-byte chunk where it does not overlap itself
                // (the chunk's bytes past the match are rewritten by the next tokens).
                // SAFETY: offset <= op (checked when NEAR, else op >= MAX_OFFSET >= offset
                // since the group start); the chunks stay below op + 16, within the group's
                // (or the token's) output margin.
                unsafe {
                    if offset >= field + 3 {
                        // The 16 bytes are read before any is written (`copy` allows the
                        // ranges to overlap): the match's own bytes all come from before it.
                        std::ptr::copy(op.sub(offset), op, 16);
                    } else {
                        short_period_match(op, offset, field + 3);
                    }
                    op = op.add(field + 3);
                }
            } else {
                // The shared half-byte (see `long_length`), without end checks: the byte after
                // the token is within the margin, and the one kept from the previous long match
                // was read already.
                // SAFETY: within the margin, or an input position already read.
                let half = unsafe {
                    if nib.is_null() {
                        nib = ip;
                        ip = ip.add(1);
                        usize::from(*nib & 0x0f)
                    } else {
                        let h = usize::from(*nib >> 4);
                        nib = std::ptr::null();
                        h
                    }
                };
                let mut len = 10 + half;
                if half == 15 {
                    // A length byte follows (within the margin: at most 4 bytes per token).
                    // SAFETY: within the group's (or the token's) input margin.
                    let byte = usize::from(unsafe { *ip });
                    len = 7 + 15 + 3 + byte;
                    // Room for the whole match plus a chunk's overrun, and (unchecked) for the
                    // rest of the group after it.
                    let room = if CHECKED {
                        len + SLACK <= out_len - (op.addr() - out_addr)
                    } else {
                        op.addr() + len <= op_last
                    };
                    if byte == 255 || !room || (NEAR && offset > op.addr() - out_addr) {
                        // A 16/32-bit length, too little room or a bad offset: decoded and
                        // copied out of line, with every check.
                        let (ipi, opi) = (ip.addr() - inp.addr(), op.addr() - out_addr);
                        match extended_match(
                            input,
                            output,
                            tok.addr() - inp.addr(),
                            ipi,
                            opi,
                            offset,
                        ) {
                            Ok((l, after)) => {
                                // The slice was used again: take fresh pointers from it.
                                outp = output.as_mut_ptr();
                                // SAFETY: extended_match checked opi + l <= out_len, and
                                // returned a position within the input.
                                unsafe {
                                    op = outp.add(opi + l);
                                    ip = inp.add(after);
                                }
                            }
                            Err(e) => break 'fast Err(e),
                        }
                        if !CHECKED && op.addr() > op_last {
                            // Too close to the end for the rest of the group: leave here.
                            break 'fast Ok(());
                        }
                        run = m.trailing_zeros();
                        continue;
                    }
                    // SAFETY: within the margin (the length byte was just read).
                    ip = unsafe { ip.add(1) };
                }
                if NEAR && offset > op.addr() - out_addr {
                    break 'fast Err(offset_error());
                }
                // SAFETY: offset <= op as above, and the room: a match of at most 24 bytes
                // writes below op + 32, within the group's (or the token's) output margin; a
                // longer one has checked its own room above (its chunks write below
                // op + len + 16).
                unsafe {
                    if offset >= 16 {
                        // Two 16-byte chunks (10-24 bytes), then more for a length byte's
                        // 25-279; the ranges of each are 16 or more bytes apart.
                        let src = op.sub(offset);
                        std::ptr::copy_nonoverlapping(src, op, 16);
                        std::ptr::copy_nonoverlapping(src.add(16), op.add(16), 16);
                        let mut i = 32;
                        while i < len {
                            std::ptr::copy_nonoverlapping(src.add(i), op.add(i), 16);
                            i += 16;
                        }
                    } else {
                        short_period_match(op, offset, len);
                    }
                    op = op.add(len);
                }
            }
            // SAFETY: m keeps its sentinel bit until the group ends, so it is never 0 here.
            unsafe { std::hint::assert_unchecked(m != 0) };
            run = m.trailing_zeros();
        }
    };
    // The careful loop's flag register: the unconsumed flags at the top, and their number.
    *c.ip = ip.addr() - inp.addr();
    *c.op = op.addr() - out_addr;
    *c.nibble_pos = if nib.is_null() {
        0
    } else {
        nib.addr() - inp.addr()
    };
    if m == 0 {
        *c.left = 0;
    } else {
        // The sentinel sits right above the last unconsumed flag.
        let left = m.ilog2();
        *c.left = left;
        #[allow(clippy::cast_possible_truncation)] // at most 32 flags below the sentinel
        let rest = ((m & !(1 << left)) as u32).reverse_bits();
        *c.flags = u64::from(rest) << 32;
    }
    result
}

/// For offsets below 8: the smallest multiple of the offset that is at least 8, the distance an
/// 8-byte chunk copy can read from once the first 8 bytes of the match are written.
const PERIOD: [usize; 8] = [8, 8, 8, 9, 8, 10, 12, 14];

/// Writes the match `(offset, len)` whose offset is below 16 at `dst`, in 8-byte chunks that
/// may write up to 7 bytes past its end: where `offset >= 8` each chunk reads only bytes
/// written before it; for shorter periods the first 8 bytes are copied one by one, then 8-byte
/// chunks from a multiple of the period back. Out of line, so that the hot loop keeps its
/// registers (2 % of the matches in text).
///
/// # Safety
/// `1 <= offset < 16`, `dst - offset` is within the same output buffer as `dst`, and `dst` is
/// valid for writes (and reads) of `len + 8` bytes.
#[allow(unsafe_code)]
#[cold]
#[inline(never)]
unsafe fn short_period_match(dst: *mut u8, offset: usize, len: usize) {
    // SAFETY (every access below): reads from dst - offset onwards, writes below
    // dst + len + 8, as the caller guarantees.
    unsafe {
        let src = dst.sub(offset);
        if offset >= 8 {
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
