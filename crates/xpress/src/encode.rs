//! Encoder for MS-XCA plain LZ77.
//!
//! The output layout follows [MS-XCA] §2.3 "Plain LZ77 Compression Algorithm Details": a flag
//! word is reserved, tokens are written after it, and once it holds 32 flags it is written
//! and the next one is reserved at the current output position; the last flag word is padded
//! with 1 bits. Long match lengths use the shared half-byte, byte, 16-bit and 32-bit
//! extensions in that order.
//!
//! The match finder is our own: hash chains over 3-byte prefixes within the 8192-byte window,
//! a bounded chain walk, and one-step lazy evaluation (as in deflate-style encoders).

use crate::{MAX_OFFSET, max_compressed_len};

/// Shortest match the format can express.
const MIN_MATCH: usize = 3;
/// Longest match we emit: the 32-bit extension stores `length - 3`.
const MAX_MATCH: usize = u32::MAX as usize;
/// Hash table size bounds (log2 of entries); the size used follows the input length.
const MIN_HASH_BITS: u32 = 8;
const MAX_HASH_BITS: u32 = 14;
/// Candidates examined per search (4: text 2.3x at about twice the speed of 16 for 2.5x).
const MAX_CHAIN: u32 = 4;
/// A match this long is taken at once, without looking further.
const NICE_LEN: usize = 32;
/// Lazy evaluation is only tried for matches shorter than this (longer limits cost speed
/// and gained almost nothing on text).
const MAX_LAZY: usize = 5;
/// After `2^SKIP_TRIGGER` searches without a match, probe every second position, and so on.
const SKIP_TRIGGER: u32 = 5;
/// Largest step between probed positions.
const MAX_SKIP: usize = 32;
const WINDOW_MASK: usize = MAX_OFFSET - 1;

/// Reusable encoder state (hash tables), so that repeated calls do not reallocate.
///
/// The output for a given input does not depend on what the compressor encoded before.
pub struct Compressor {
    /// `head[h]` = 1 + the latest position whose 3-byte prefix hashes to `h`, modulo 2^16
    /// (0 = none). 16-bit entries keep both tables in L1/L2 cache; a position that aliases
    /// (one more than 64 Ki back) only yields a candidate that fails the window check or the
    /// byte comparison, so correctness never depends on table contents.
    head: Vec<u16>,
    /// `prev[p % 8192]` = the `head` value before position `p` was inserted: the chain link.
    prev: Vec<u16>,
    chain: u32,
    lazy: usize,
    nice: usize,
}

impl Default for Compressor {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compressor").finish_non_exhaustive()
    }
}

/// Writes the token stream (MS-XCA §2.3).
struct Writer<'a> {
    out: &'a mut [u8],
    op: usize,
    /// Where the current flag word goes.
    flag_pos: usize,
    flags: u32,
    nflags: u32,
    /// The byte whose high half-byte is still free for the next long match.
    nibble_pos: Option<usize>,
}

impl Writer<'_> {
    #[inline]
    fn push_flag(&mut self, bit: u32) {
        self.flags = (self.flags << 1) | bit;
        self.nflags += 1;
        if self.nflags == 32 {
            self.out[self.flag_pos..self.flag_pos + 4].copy_from_slice(&self.flags.to_le_bytes());
            self.flag_pos = self.op;
            self.op += 4;
            self.flags = 0;
            self.nflags = 0;
        }
    }

    #[inline]
    fn literal(&mut self, b: u8) {
        self.out[self.op] = b;
        self.op += 1;
        self.push_flag(0);
    }

    #[inline]
    fn put16(&mut self, v: u16) {
        self.out[self.op..self.op + 2].copy_from_slice(&v.to_le_bytes());
        self.op += 2;
    }

    #[inline]
    fn put_match(&mut self, len: usize, dist: usize) {
        debug_assert!((MIN_MATCH..=MAX_MATCH).contains(&len));
        debug_assert!((1..=MAX_OFFSET).contains(&dist));
        let offset_bits = ((dist - 1) as u16) << 3;
        let l = len - MIN_MATCH;
        if l < 7 {
            self.put16(offset_bits | l as u16);
        } else {
            self.put16(offset_bits | 7);
            let l = l - 7;
            let half = l.min(15) as u8;
            if let Some(p) = self.nibble_pos.take() {
                self.out[p] |= half << 4;
            } else {
                self.out[self.op] = half;
                self.nibble_pos = Some(self.op);
                self.op += 1;
            }
            if l >= 15 {
                let l = l - 15;
                if l < 255 {
                    self.out[self.op] = l as u8;
                    self.op += 1;
                } else {
                    self.out[self.op] = 255;
                    self.op += 1;
                    // The wide forms hold the whole length minus 3.
                    let v = len - MIN_MATCH;
                    if let Ok(v16) = u16::try_from(v) {
                        self.put16(v16);
                    } else {
                        self.put16(0);
                        let v32 = v as u32; // v <= MAX_MATCH - 3 < 2^32
                        self.out[self.op..self.op + 4].copy_from_slice(&v32.to_le_bytes());
                        self.op += 4;
                    }
                }
            }
        }
        self.push_flag(1);
    }

    fn finish(mut self) -> usize {
        // Unused flag bits are 1s (MS-XCA §2.3), so a decoder that stops on a match flag at the
        // end of input stops there.
        let unused = 32 - self.nflags;
        let flags = ((u64::from(self.flags) << unused) | ((1u64 << unused) - 1)) as u32;
        self.out[self.flag_pos..self.flag_pos + 4].copy_from_slice(&flags.to_le_bytes());
        self.flags = 0;
        self.op
    }
}

#[inline]
fn read_u64(b: &[u8], pos: usize) -> u64 {
    u64::from_le_bytes(b[pos..pos + 8].try_into().unwrap())
}

/// Length of the common prefix of `input[a..]` and `input[b..]`, at most `max` (with
/// `b + max <= input.len()` and `a < b`).
#[inline]
fn match_len(input: &[u8], a: usize, b: usize, max: usize) -> usize {
    let mut i = 0;
    while i + 8 <= max {
        let x = read_u64(input, a + i) ^ read_u64(input, b + i);
        if x != 0 {
            return i + (x.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < max && input[a + i] == input[b + i] {
        i += 1;
    }
    i
}

impl Compressor {
    /// Creates a compressor (allocates its tables once, 48 KiB).
    #[must_use]
    pub fn new() -> Self {
        Self {
            head: vec![0; 1 << MAX_HASH_BITS],
            prev: vec![0; MAX_OFFSET],
            chain: MAX_CHAIN,
            lazy: MAX_LAZY,
            nice: NICE_LEN,
        }
    }

    /// Compresses `input`, appending a complete stream to `output` (at most
    /// [`max_compressed_len`]`(input.len())` bytes).
    pub fn compress(&mut self, input: &[u8], output: &mut Vec<u8>) {
        let start = output.len();
        output.resize(start + max_compressed_len(input.len()), 0);
        let written = self.encode(input, &mut output[start..]);
        output.truncate(start + written);
    }

    fn encode(&mut self, input: &[u8], out: &mut [u8]) -> usize {
        let n = input.len();
        let bits =
            (usize::BITS - n.saturating_sub(1).leading_zeros()).clamp(MIN_HASH_BITS, MAX_HASH_BITS);
        self.head[..1 << bits].fill(0);
        let mut m = Matcher {
            input,
            head: &mut self.head[..1 << bits],
            prev: &mut self.prev,
            shift: 32 - bits,
            inserted: 0,
            chain: self.chain,
            nice: self.nice,
        };
        let mut w = Writer {
            out,
            op: 4,
            flag_pos: 0,
            flags: 0,
            nflags: 0,
            nibble_pos: None,
        };

        let mut pos = 0;
        // Searches without a match since the last one: in incompressible data the encoder
        // probes ever fewer positions (emitting the bytes in between as literals, unindexed),
        // and it is back to every position at the next match.
        let mut misses = 0usize;
        while pos + MIN_MATCH <= n {
            let (mut len, mut dist) = m.find(pos, MIN_MATCH - 1);
            m.insert_until(pos + 1);
            if dist == 0 {
                misses += 1;
                let step = (1 + (misses >> SKIP_TRIGGER))
                    .min(MAX_SKIP)
                    .min(n - MIN_MATCH + 1 - pos);
                for &b in &input[pos..pos + step] {
                    w.literal(b);
                }
                pos += step;
                m.skip_to(pos);
                continue;
            }
            misses = 0;
            // Lazy evaluation: if the next position starts a longer match, emit a literal and
            // take that one instead.
            while len < self.lazy && pos + 1 + MIN_MATCH <= n {
                let (len2, dist2) = m.find(pos + 1, len);
                m.insert_until(pos + 2);
                if dist2 == 0 {
                    break;
                }
                w.literal(input[pos]);
                pos += 1;
                len = len2;
                dist = dist2;
            }
            w.put_match(len, dist);
            pos += len;
            m.insert_until(pos);
        }
        while pos < n {
            w.literal(input[pos]);
            pos += 1;
        }
        w.finish()
    }
}

/// Hash-chain match finder over one input.
struct Matcher<'a> {
    input: &'a [u8],
    head: &'a mut [u16],
    prev: &'a mut [u16],
    shift: u32,
    /// Positions below this are in the tables.
    inserted: usize,
    chain: u32,
    nice: usize,
}

impl Matcher<'_> {
    /// Hash of the 3 bytes at `pos` (`pos + 3 <= len`).
    #[inline]
    fn hash(&self, pos: usize) -> usize {
        let b = self.input;
        let v = if pos + 4 <= b.len() {
            u32::from_le_bytes(b[pos..pos + 4].try_into().unwrap()) & 0x00ff_ffff
        } else {
            u32::from(b[pos]) | u32::from(b[pos + 1]) << 8 | u32::from(b[pos + 2]) << 16
        };
        (v.wrapping_mul(0x9e37_79b1) >> self.shift) as usize
    }

    /// Inserts every position below `end` not inserted yet (that has 3 bytes after it).
    #[inline]
    fn insert_until(&mut self, end: usize) {
        let end = end.min(self.input.len().saturating_sub(MIN_MATCH - 1));
        while self.inserted < end {
            let p = self.inserted;
            let h = self.hash(p);
            self.prev[p & WINDOW_MASK] = self.head[h];
            self.head[h] = (p as u16).wrapping_add(1);
            self.inserted += 1;
        }
    }

    /// Leaves the positions below `pos` out of the tables.
    #[inline]
    fn skip_to(&mut self, pos: usize) {
        self.inserted = self.inserted.max(pos);
    }

    /// Best match at `pos` longer than `beat`: `(length, distance)`, distance 0 = none.
    /// `pos` must not be inserted yet and `pos + 3 <= len`.
    #[inline]
    fn find(&self, pos: usize, beat: usize) -> (usize, usize) {
        let input = self.input;
        let max = (input.len() - pos).min(MAX_MATCH);
        let mut best_len = beat;
        let mut best_dist = 0;
        if best_len >= max {
            return (best_len, 0);
        }
        let here = (pos as u16).wrapping_add(1);
        let mut cand = self.head[self.hash(pos)];
        let mut depth = self.chain;
        while cand != 0 && depth != 0 {
            let dist = usize::from(here.wrapping_sub(cand));
            if dist == 0 || dist > MAX_OFFSET || dist > pos {
                break;
            }
            let c = pos - dist;
            // Only a candidate that also matches at the current best length can beat it.
            if input[c + best_len] == input[pos + best_len] {
                let l = match_len(input, c, pos, max);
                if l > best_len {
                    best_len = l;
                    best_dist = dist;
                    if l >= self.nice || l == max {
                        break;
                    }
                }
            }
            cand = self.prev[c & WINDOW_MASK];
            depth -= 1;
        }
        (best_len, best_dist)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_len_stops_at_first_difference_and_max() {
        let mut v = vec![1u8; 40];
        v.extend_from_slice(&[1u8; 40]);
        assert_eq!(match_len(&v, 0, 40, 40), 40);
        v[40 + 19] = 2;
        assert_eq!(match_len(&v, 0, 40, 40), 19);
        assert_eq!(match_len(&v, 0, 40, 5), 5);
    }

    #[test]
    fn writer_shares_half_bytes_and_uses_wide_lengths() {
        let mut buf = vec![0u8; 64];
        let mut w = Writer {
            out: &mut buf,
            op: 4,
            flag_pos: 0,
            flags: 0,
            nflags: 0,
            nibble_pos: None,
        };
        w.literal(b'a');
        w.put_match(12, 1); // half-byte 2 in a fresh byte
        w.put_match(15, 1); // half-byte 5 in the same byte
        w.put_match(3 + 7 + 15 + 300, 1); // fresh byte (15), then 255, then u16 = 322
        let n = w.finish();
        assert_eq!(
            &buf[..n],
            &[
                0xff, 0xff, 0xff, 0x7f, // flags 0111 then 1s
                b'a', 0x07, 0x00, 0x52, 0x07, 0x00, // two long matches, shared byte 0x52
                0x07, 0x00, 0x0f, 0xff, 0x42, 0x01, // third: fresh byte, 255, u16 322
            ]
        );
    }

    #[test]
    fn same_output_from_fresh_and_reused_compressor() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut c = Compressor::new();
        let mut a = Vec::new();
        c.compress(&data[..30_000], &mut a);
        let mut b = Vec::new();
        c.compress(&data, &mut b);
        let mut fresh = Vec::new();
        Compressor::new().compress(&data, &mut fresh);
        assert_eq!(b, fresh);
    }
}
