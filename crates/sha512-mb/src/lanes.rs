//! The lane-vector abstraction, the SHA-512 compression function written once over it, and the
//! portable 8-lane emulation of the AVX-512 operations.
//!
//! A [`Lanes`] value holds one 64-bit word per lane. Its constructors are methods on an
//! existing value (`splat`, `load`), so holding a value is the proof that the CPU supports the
//! instructions its methods use: the SIMD kernels create their first value inside a
//! `#[target_feature]` function that is only entered after run-time detection, and the value
//! types have no other constructor. The generic code here is therefore entirely safe.

use crate::consts::K;

/// Number of lanes of the widest kernel (AVX-512: 8 × 64 bits); per-lane arrays use it.
pub(crate) const MAX_LANES: usize = 8;

/// One 128-byte SHA-512 message block.
pub(crate) type Block = [u8; 128];

/// `vpternlogq` immediate for Ch(e, f, g) = (e AND f) XOR (NOT e AND g): result bit is f where
/// e is 1, g where e is 0 (with a = e, b = f, c = g).
pub(crate) const TERNLOG_CH: i32 = 0xCA;
/// `vpternlogq` immediate for Maj(a, b, c) = (a AND b) XOR (a AND c) XOR (b AND c): result bit
/// is 1 where at least two inputs are 1.
pub(crate) const TERNLOG_MAJ: i32 = 0xE8;
/// `vpternlogq` immediate for a XOR b XOR c: result bit is 1 where an odd number of inputs are 1.
pub(crate) const TERNLOG_XOR3: i32 = 0x96;

/// A vector of 64-bit lanes with the operations SHA-512 needs.
///
/// Every method is `#[inline(always)]` in the SIMD implementations so that, once the generic
/// code is inlined into a `#[target_feature]` kernel, the intrinsics inline too.
pub(crate) trait Lanes: Copy {
    /// `[u64; LANES]`.
    type Array: Copy + Default + AsRef<[u64]> + AsMut<[u64]>;
    /// Number of lanes.
    const LANES: usize;

    /// Every lane set to `x` (`self` is only the proof of support).
    fn splat(self, x: u64) -> Self;
    /// Lane `i` set to `a[i]` (`self` is only the proof of support).
    fn load(self, a: &Self::Array) -> Self;
    /// The lanes as an array.
    fn store(self) -> Self::Array;
    /// Lane-wise wrapping addition.
    #[must_use]
    fn add(self, o: Self) -> Self;
    /// Lane-wise rotation right by `R` bits (0 < R < 64).
    #[must_use]
    fn ror<const R: i32>(self) -> Self;
    /// Lane-wise logical shift right by `S` bits (0 < S < 64).
    #[must_use]
    fn shr<const S: i32>(self) -> Self;
    /// SHA-512 Ch(e, f, g) with `self` = e.
    #[must_use]
    fn ch(self, f: Self, g: Self) -> Self;
    /// SHA-512 Maj(a, b, c) with `self` = a.
    #[must_use]
    fn maj(self, b: Self, c: Self) -> Self;
    /// `self` XOR b XOR c.
    #[must_use]
    fn xor3(self, b: Self, c: Self) -> Self;

    /// The 16 message words of one block per lane, big-endian, transposed so that word `t` of
    /// lane `l`'s block is lane `l` of the `t`-th vector. Only the first `LANES` blocks are read.
    #[allow(
        clippy::inline_always,
        reason = "must inline into the #[target_feature] kernels"
    )]
    #[inline(always)]
    #[must_use]
    fn load_message(self, blocks: &[&Block; MAX_LANES]) -> [Self; 16] {
        let mut w = [self; 16];
        for (t, wt) in w.iter_mut().enumerate() {
            let mut a = Self::Array::default();
            for (x, block) in a.as_mut().iter_mut().zip(blocks) {
                let mut word = [0u8; 8];
                word.copy_from_slice(&block[8 * t..8 * t + 8]);
                *x = u64::from_be_bytes(word);
            }
            *wt = self.load(&a);
        }
        w
    }
}

/// Σ0 (FIPS 180-4 §4.1.3, 4.10).
#[allow(
    clippy::inline_always,
    reason = "must inline into the #[target_feature] kernels"
)]
#[inline(always)]
fn big_sigma0<V: Lanes>(x: V) -> V {
    x.ror::<28>().xor3(x.ror::<34>(), x.ror::<39>())
}

/// Σ1 (FIPS 180-4 4.11).
#[allow(
    clippy::inline_always,
    reason = "must inline into the #[target_feature] kernels"
)]
#[inline(always)]
fn big_sigma1<V: Lanes>(x: V) -> V {
    x.ror::<14>().xor3(x.ror::<18>(), x.ror::<41>())
}

/// σ0 (FIPS 180-4 4.12).
#[allow(
    clippy::inline_always,
    reason = "must inline into the #[target_feature] kernels"
)]
#[inline(always)]
fn small_sigma0<V: Lanes>(x: V) -> V {
    x.ror::<1>().xor3(x.ror::<8>(), x.shr::<7>())
}

/// σ1 (FIPS 180-4 4.13).
#[allow(
    clippy::inline_always,
    reason = "must inline into the #[target_feature] kernels"
)]
#[inline(always)]
fn small_sigma1<V: Lanes>(x: V) -> V {
    x.ror::<19>().xor3(x.ror::<61>(), x.shr::<6>())
}

/// The SHA-512 compression function (FIPS 180-4 §6.4.2) on every lane at once: `state` is
/// updated with the message block whose words are `w` (as from [`Lanes::load_message`]).
#[allow(
    clippy::inline_always,
    reason = "must inline into the #[target_feature] kernels"
)]
#[inline(always)]
pub(crate) fn compress<V: Lanes>(state: &mut [V; 8], mut w: [V; 16]) {
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;

    // One round, written with the working variables renamed instead of moved: after it, the
    // caller passes the names shifted by one (h becomes the new a, d the new e).
    macro_rules! round {
        ($a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident,
         $wk:expr) => {
            let t1 = $h.add(big_sigma1($e)).add($e.ch($f, $g)).add($wk);
            let t2 = big_sigma0($a).add($a.maj($b, $c));
            $d = $d.add(t1);
            $h = t1.add(t2);
        };
    }

    // Sixteen rounds with the round constants `$k` (16 of them); `$sched` says whether the
    // words must first be extended by the message schedule (every group after the first).
    macro_rules! sixteen {
        ($k:expr, $sched:expr) => {
            sixteen!(@ $k, $sched; 0 a b c d e f g h);
            sixteen!(@ $k, $sched; 1 h a b c d e f g);
            sixteen!(@ $k, $sched; 2 g h a b c d e f);
            sixteen!(@ $k, $sched; 3 f g h a b c d e);
            sixteen!(@ $k, $sched; 4 e f g h a b c d);
            sixteen!(@ $k, $sched; 5 d e f g h a b c);
            sixteen!(@ $k, $sched; 6 c d e f g h a b);
            sixteen!(@ $k, $sched; 7 b c d e f g h a);
            sixteen!(@ $k, $sched; 8 a b c d e f g h);
            sixteen!(@ $k, $sched; 9 h a b c d e f g);
            sixteen!(@ $k, $sched; 10 g h a b c d e f);
            sixteen!(@ $k, $sched; 11 f g h a b c d e);
            sixteen!(@ $k, $sched; 12 e f g h a b c d);
            sixteen!(@ $k, $sched; 13 d e f g h a b c);
            sixteen!(@ $k, $sched; 14 c d e f g h a b);
            sixteen!(@ $k, $sched; 15 b c d e f g h a);
        };
        (@ $k:expr, $sched:expr; $j:literal $a:ident $b:ident $c:ident $d:ident $e:ident
         $f:ident $g:ident $h:ident) => {
            if $sched {
                // W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], in a ring of 16.
                w[$j] = w[$j]
                    .add(small_sigma1(w[($j + 14) % 16]))
                    .add(w[($j + 9) % 16])
                    .add(small_sigma0(w[($j + 1) % 16]));
            }
            let wk = w[$j].add(w[$j].splat($k[$j]));
            round!($a, $b, $c, $d, $e, $f, $g, $h, wk);
        };
    }

    let (first, rest) = K.split_first_chunk::<16>().expect("80 round constants");
    sixteen!(first, false);
    for k in rest.as_chunks::<16>().0 {
        sixteen!(k, true);
    }

    for (s, x) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *s = s.add(x);
    }
}

/// Intel's `vpternlogq` on one 64-bit word, from its documented definition: each result bit is
/// bit `(a << 2) | (b << 1) | c` of `imm`, where a, b, c are the inputs' bits at that position.
/// Computed here for all 64 positions at once: for each of the 8 input combinations whose
/// `imm` bit is set, OR in the positions where the inputs show exactly that combination.
#[must_use]
pub(crate) fn ternlog_word(imm: i32, a: u64, b: u64, c: u64) -> u64 {
    let mut r = 0;
    for idx in 0..8 {
        if (imm >> idx) & 1 == 1 {
            let pa = if idx & 4 != 0 { a } else { !a };
            let pb = if idx & 2 != 0 { b } else { !b };
            let pc = if idx & 1 != 0 { c } else { !c };
            r |= pa & pb & pc;
        }
    }
    r
}

/// Portable emulation of the AVX-512 lane operations: eight `u64` lanes, Ch/Maj/XOR3 through
/// [`ternlog_word`] with the same immediates the AVX-512 kernel passes to `vpternlogq`, and
/// rotation as `u64::rotate_right` (what `vprorq` does). It runs everywhere, so testing it
/// against `sha2` verifies the algorithm, the scheduler and the immediates of the AVX-512
/// kernel on machines without AVX-512.
#[derive(Clone, Copy)]
pub(crate) struct Emu8([u64; 8]);

impl Emu8 {
    /// A first value (portable: no CPU feature to prove).
    pub(crate) const fn new() -> Self {
        Self([0; 8])
    }

    fn map(self, f: impl Fn(u64) -> u64) -> Self {
        Self(self.0.map(f))
    }

    fn zip(self, o: Self, f: impl Fn(u64, u64) -> u64) -> Self {
        Self(std::array::from_fn(|i| f(self.0[i], o.0[i])))
    }

    fn ternlog<const IMM: i32>(self, b: Self, c: Self) -> Self {
        Self(std::array::from_fn(|i| {
            ternlog_word(IMM, self.0[i], b.0[i], c.0[i])
        }))
    }
}

impl Lanes for Emu8 {
    type Array = [u64; 8];
    const LANES: usize = 8;

    fn splat(self, x: u64) -> Self {
        Self([x; 8])
    }
    fn load(self, a: &[u64; 8]) -> Self {
        Self(*a)
    }
    fn store(self) -> [u64; 8] {
        self.0
    }
    fn add(self, o: Self) -> Self {
        self.zip(o, u64::wrapping_add)
    }
    fn ror<const R: i32>(self) -> Self {
        self.map(|x| x.rotate_right(R.cast_unsigned()))
    }
    fn shr<const S: i32>(self) -> Self {
        self.map(|x| x >> S)
    }
    fn ch(self, f: Self, g: Self) -> Self {
        self.ternlog::<TERNLOG_CH>(f, g)
    }
    fn maj(self, b: Self, c: Self) -> Self {
        self.ternlog::<TERNLOG_MAJ>(b, c)
    }
    fn xor3(self, b: Self, c: Self) -> Self {
        self.ternlog::<TERNLOG_XOR3>(b, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bit-at-a-time reading of Intel's definition, to check the word-parallel one.
    fn ternlog_bitwise(imm: i32, a: u64, b: u64, c: u64) -> u64 {
        (0..64).fold(0, |r, bit| {
            let idx = (((a >> bit) & 1) << 2) | (((b >> bit) & 1) << 1) | ((c >> bit) & 1);
            r | (u64::from((imm >> idx) & 1 == 1) << bit)
        })
    }

    #[test]
    fn ternlog_word_matches_the_bit_definition_and_the_boolean_functions() {
        let mut x = 0x0123_4567_89ab_cdef_u64;
        let mut next = || {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..200 {
            let (a, b, c) = (next(), next(), next());
            for imm in 0..256 {
                assert_eq!(ternlog_word(imm, a, b, c), ternlog_bitwise(imm, a, b, c));
            }
            assert_eq!(ternlog_word(TERNLOG_CH, a, b, c), (a & b) ^ (!a & c));
            assert_eq!(
                ternlog_word(TERNLOG_MAJ, a, b, c),
                (a & b) ^ (a & c) ^ (b & c)
            );
            assert_eq!(ternlog_word(TERNLOG_XOR3, a, b, c), a ^ b ^ c);
        }
    }
}
