//! The lane scheduler: which message's which block goes into which lane, written once over
//! [`Lanes`] and inlined into each kernel.
//!
//! Messages enter the lanes longest first (so the lanes run dry at about the same time).
//! A lane streams its message's full 128-byte blocks straight from the message, then the one
//! or two final padded blocks from a small buffer of its own. When a lane's message ends, its
//! digest is emitted and the next message takes the lane over. Once no message waits and fewer
//! than `sha2_below` lanes are still busy, the busy lanes' states are taken out and their
//! remaining blocks finished by the `sha2` crate's single-stream compression, which then beats
//! a mostly idle vector.

use sha2::Digest as _;
use sha2::digest::consts::U128;
use sha2::digest::generic_array::GenericArray;

use crate::consts::IV;
use crate::lanes::{Block, Lanes, MAX_LANES, compress};

/// Receives each message's digest: its index in the caller's slice and the 64 bytes.
pub(crate) type Emit<'e> = &'e mut dyn FnMut(usize, &[u8; 64]);

/// What an idle lane hashes (its result is thrown away).
static ZERO_BLOCK: Block = [0; 128];

/// Index of no message: the lane is idle.
const IDLE: usize = usize::MAX;

/// One lane's message and position.
#[derive(Clone, Copy)]
struct Lane<'m> {
    /// Index of the message in the caller's slice, or [`IDLE`].
    index: usize,
    /// The message's full blocks not yet hashed (a multiple of 128 bytes).
    full: &'m [u8],
    /// The final padded block or blocks (FIPS 180-4 §5.1.2) at `tail[..tail_end]`.
    tail: [u8; 256],
    /// Offset of the next tail block to hash.
    tail_pos: usize,
    /// 128 or 256.
    tail_end: usize,
}

impl<'m> Lane<'m> {
    const IDLE: Self = Self {
        index: IDLE,
        full: &[],
        tail: [0; 256],
        tail_pos: 0,
        tail_end: 0,
    };

    /// Puts message `index` into this lane.
    fn start(&mut self, index: usize, message: &'m [u8]) {
        let (full, rest) = message.split_at(message.len() & !127);
        self.index = index;
        self.full = full;
        self.tail_pos = 0;
        self.tail_end = padded_tail(message.len(), rest, &mut self.tail);
    }

    fn is_busy(&self) -> bool {
        self.index != IDLE
    }

    /// The block to hash next (some block, for an idle or finished lane).
    fn block(&self) -> &Block {
        if let Some(b) = self.full.first_chunk() {
            return b;
        }
        self.tail[self.tail_pos..]
            .first_chunk()
            .unwrap_or(&ZERO_BLOCK)
    }

    /// Moves past the block [`Self::block`] returned; true when the message is then done.
    fn advance(&mut self) -> bool {
        if self.full.is_empty() {
            self.tail_pos += 128;
        } else {
            self.full = &self.full[128..];
        }
        self.is_done()
    }

    /// Every block of the message has been hashed.
    fn is_done(&self) -> bool {
        self.full.is_empty() && self.tail_pos >= self.tail_end
    }

    /// The blocks still to hash: full ones from the message, then the padded tail.
    fn remaining(&self) -> (&'m [u8], &[u8]) {
        (self.full, &self.tail[self.tail_pos..self.tail_end])
    }
}

/// Writes the final padded block(s) of a message of `len` bytes whose last partial block is
/// `rest` (under 128 bytes) into `tail`: `rest`, the bit 1, zeros, and the length in bits as a
/// 128-bit big-endian number. Returns their size, 128 or 256.
fn padded_tail(len: usize, rest: &[u8], tail: &mut [u8; 256]) -> usize {
    let end = if rest.len() < 112 { 128 } else { 256 };
    tail[..rest.len()].copy_from_slice(rest);
    tail[rest.len()] = 0x80;
    tail[rest.len() + 1..end - 16].fill(0);
    let bits = (len as u128).wrapping_mul(8);
    tail[end - 16..end].copy_from_slice(&bits.to_be_bytes());
    end
}

/// The digest bytes of a final state.
fn digest_bytes(state: &[u64; 8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (o, s) in out.chunks_exact_mut(8).zip(state) {
        o.copy_from_slice(&s.to_be_bytes());
    }
    out
}

/// Hashes `full` then `tail` (both whole blocks) into `state` with `sha2`'s compression.
fn finish_with_sha2(state: &mut [u64; 8], full: &[u8], tail: &[u8]) {
    // compress512 takes GenericArray blocks: copy up to 16 at a time (2 KiB, a small cost
    // beside hashing them) rather than reinterpret the message's bytes.
    let mut buf = [GenericArray::<u8, U128>::default(); 16];
    for part in [full, tail] {
        for group in part.chunks(buf.len() * 128) {
            let n = group.len() / 128;
            for (b, src) in buf.iter_mut().zip(group.chunks_exact(128)) {
                b.copy_from_slice(src);
            }
            sha2::compress512(state, &buf[..n]);
        }
    }
}

/// Hashes `messages[i]` for every `i` of `order` with `sha2` alone.
pub(crate) fn run_sha2(messages: &[&[u8]], order: impl IntoIterator<Item = usize>, emit: Emit) {
    for i in order {
        let d = sha2::Sha512::digest(messages[i]);
        emit(i, &d.into());
    }
}

/// The message indices, longest message first (ties in index order).
pub(crate) fn longest_first(messages: &[&[u8]]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(messages[i].len()));
    order
}

/// Hashes `messages[i]` for every `i` in `order`, in the lanes of `V` (`v` is any value of it:
/// the proof that the CPU runs it), emitting each digest once.
#[allow(
    clippy::inline_always,
    reason = "must inline into the #[target_feature] kernels"
)]
#[inline(always)]
pub(crate) fn run<V: Lanes>(
    v: V,
    messages: &[&[u8]],
    order: &[usize],
    sha2_below: usize,
    emit: Emit,
) {
    let n = V::LANES.min(MAX_LANES);
    if order.len() < sha2_below.max(1) {
        run_sha2(messages, order.iter().copied(), emit);
        return;
    }
    let mut queue = order.iter().copied();
    let mut lanes = [Lane::IDLE; MAX_LANES];
    let mut busy = 0;
    for lane in &mut lanes[..n] {
        if let Some(i) = queue.next() {
            lane.start(i, messages[i]);
            busy += 1;
        }
    }
    // Every lane starts from H(0); idle lanes too (their results are never read).
    let mut state = IV.map(|h| v.splat(h));

    while busy > 0 {
        if busy < sha2_below && queue.len() == 0 {
            break;
        }
        let blocks: [&Block; MAX_LANES] = std::array::from_fn(|l| lanes[l].block());
        compress(&mut state, v.load_message(&blocks));

        let mut any_done = false;
        for lane in &mut lanes[..n] {
            if lane.is_busy() {
                any_done |= lane.advance();
            }
        }
        if !any_done {
            continue;
        }
        // Rare (once per message): take the state apart, emit and refill finished lanes.
        let mut cols = state.map(Lanes::store);
        for (l, lane) in lanes[..n].iter_mut().enumerate() {
            if !lane.is_busy() || !lane.is_done() {
                continue;
            }
            let s: [u64; 8] = std::array::from_fn(|j| cols[j].as_ref()[l]);
            emit(lane.index, &digest_bytes(&s));
            if let Some(i) = queue.next() {
                lane.start(i, messages[i]);
                for (c, h) in cols.iter_mut().zip(IV) {
                    c.as_mut()[l] = h;
                }
            } else {
                *lane = Lane::IDLE;
                busy -= 1;
            }
        }
        state = cols.map(|c| v.load(&c));
    }

    if busy > 0 {
        let cols = state.map(Lanes::store);
        for (l, lane) in lanes[..n].iter().enumerate() {
            if lane.is_busy() {
                let mut s: [u64; 8] = std::array::from_fn(|j| cols[j].as_ref()[l]);
                let (full, tail) = lane.remaining();
                finish_with_sha2(&mut s, full, tail);
                emit(lane.index, &digest_bytes(&s));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_takes_two_blocks_from_112_bytes_on() {
        let mut tail = [0xffu8; 256];
        for r in 0..128 {
            let end = padded_tail(1000 * 128 + r, &vec![7; r], &mut tail);
            assert_eq!(end, if r < 112 { 128 } else { 256 }, "r = {r}");
            assert!(tail[..r].iter().all(|&b| b == 7));
            assert_eq!(tail[r], 0x80);
            assert!(tail[r + 1..end - 16].iter().all(|&b| b == 0));
            let bits = u128::from_be_bytes(tail[end - 16..end].try_into().unwrap());
            assert_eq!(bits, (1000 * 128 + r as u128) * 8);
        }
    }
}
