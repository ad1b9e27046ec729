//! The AVX2 kernel: four messages at once, one per 64-bit lane of a `__m256i`.
//!
//! AVX2 has no 64-bit rotate, so a rotation is two shifts and an OR, except by 8 bits, which
//! is a byte shuffle. Ch and Maj are built from AND/ANDNOT/XOR. The message words come from
//! the generic scalar big-endian transpose ([`Lanes::load_message`]): a byte-shuffle and
//! unpack/permute transpose was measured to be no faster (the same instruction count under
//! callgrind, 38.2 M per 4 MiB, and the same best time), so it was dropped with its unsafe
//! loads.
//!
//! Unsafe code: calling the intrinsics (they are `#[target_feature(enable = "avx2")]`
//! functions) and the unaligned loads/stores. Soundness rests on one invariant: a value of
//! [`Avx2`] only ever comes to exist inside [`run_avx2`], which is only entered after
//! `is_x86_feature_detected!("avx2")`; the type's field is private to this module and every
//! method that makes a new value takes an existing one. So any code holding an `Avx2` runs on
//! a CPU with AVX2.

use core::arch::x86_64::{
    __m256i, _mm_cvtsi32_si128, _mm256_add_epi64, _mm256_and_si256, _mm256_andnot_si256,
    _mm256_loadu_si256, _mm256_or_si256, _mm256_set1_epi64x, _mm256_setr_epi8,
    _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_sll_epi64, _mm256_srli_epi64,
    _mm256_storeu_si256, _mm256_xor_si256,
};

use crate::lanes::Lanes;
use crate::schedule::{self, Emit};

/// Four 64-bit lanes; exists only where AVX2 is available (see the module docs).
#[derive(Clone, Copy)]
pub(crate) struct Avx2(__m256i);

/// Whether this CPU (and OS) runs the AVX2 kernel.
pub(crate) fn available() -> bool {
    std::is_x86_feature_detected!("avx2")
}

/// Hashes the messages in `order` with the AVX2 kernel; false (nothing done) when the CPU
/// lacks AVX2.
pub(crate) fn run(messages: &[&[u8]], order: &[usize], sha2_below: usize, emit: Emit) -> bool {
    if !available() {
        return false;
    }
    // SAFETY: AVX2 was detected just above.
    unsafe { run_avx2(messages, order, sha2_below, emit) };
    true
}

#[target_feature(enable = "avx2")]
fn run_avx2(messages: &[&[u8]], order: &[usize], sha2_below: usize, emit: Emit) {
    // The one place an `Avx2` is made from nothing: here AVX2 is enabled and detected.
    schedule::run(
        Avx2(_mm256_setzero_si256()),
        messages,
        order,
        sha2_below,
        emit,
    );
}

// Every `unsafe` block below calls AVX2 intrinsics on a value of `Avx2` it already holds, so
// by the module invariant the CPU has AVX2; pointer arguments are noted where they occur.
#[allow(
    clippy::inline_always,
    reason = "must inline into the #[target_feature] kernel"
)]
impl Lanes for Avx2 {
    type Array = [u64; 4];
    const LANES: usize = 4;

    #[inline(always)]
    fn splat(self, x: u64) -> Self {
        // SAFETY: `self` exists, so AVX2 is available (module invariant).
        Self(unsafe { _mm256_set1_epi64x(x.cast_signed()) })
    }

    #[inline(always)]
    fn load(self, a: &[u64; 4]) -> Self {
        // SAFETY: AVX2 as above; `a` is 32 readable bytes and the load is unaligned.
        Self(unsafe { _mm256_loadu_si256(a.as_ptr().cast()) })
    }

    #[inline(always)]
    fn store(self) -> [u64; 4] {
        let mut a = [0u64; 4];
        // SAFETY: AVX2 as above; `a` is 32 writable bytes and the store is unaligned.
        unsafe { _mm256_storeu_si256(a.as_mut_ptr().cast(), self.0) };
        a
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: `self` exists, so AVX2 is available (module invariant).
        Self(unsafe { _mm256_add_epi64(self.0, o.0) })
    }

    #[inline(always)]
    fn ror<const R: i32>(self) -> Self {
        // SAFETY: `self` exists, so AVX2 is available (module invariant).
        Self(unsafe {
            if R == 8 {
                // Each byte moves down one place within its 64-bit word.
                let m = _mm256_setr_epi8(
                    1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 8, //
                    1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 8,
                );
                _mm256_shuffle_epi8(self.0, m)
            } else {
                // The left shift takes its count from a register (a const generic cannot be
                // computed from R on stable Rust); LLVM folds the constant into an immediate.
                _mm256_or_si256(
                    _mm256_srli_epi64::<R>(self.0),
                    _mm256_sll_epi64(self.0, _mm_cvtsi32_si128(64 - R)),
                )
            }
        })
    }

    #[inline(always)]
    fn shr<const S: i32>(self) -> Self {
        // SAFETY: `self` exists, so AVX2 is available (module invariant).
        Self(unsafe { _mm256_srli_epi64::<S>(self.0) })
    }

    #[inline(always)]
    fn ch(self, f: Self, g: Self) -> Self {
        // (e AND f) XOR (NOT e AND g)
        // SAFETY: `self` exists, so AVX2 is available (module invariant).
        Self(unsafe {
            _mm256_xor_si256(
                _mm256_and_si256(self.0, f.0),
                _mm256_andnot_si256(self.0, g.0),
            )
        })
    }

    #[inline(always)]
    fn maj(self, b: Self, c: Self) -> Self {
        // (a AND b) OR (c AND (a XOR b)): equal to the majority, one operation fewer.
        // SAFETY: `self` exists, so AVX2 is available (module invariant).
        Self(unsafe {
            _mm256_or_si256(
                _mm256_and_si256(self.0, b.0),
                _mm256_and_si256(c.0, _mm256_xor_si256(self.0, b.0)),
            )
        })
    }

    #[inline(always)]
    fn xor3(self, b: Self, c: Self) -> Self {
        // SAFETY: `self` exists, so AVX2 is available (module invariant).
        Self(unsafe { _mm256_xor_si256(_mm256_xor_si256(self.0, b.0), c.0) })
    }
}
