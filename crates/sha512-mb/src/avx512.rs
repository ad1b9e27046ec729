//! The AVX-512 kernel: eight messages at once, one per 64-bit lane of a `__m512i`.
//!
//! Uses AVX-512F only: `vprorq` for rotations and `vpternlogq` for Ch, Maj and the three-way
//! XORs of the Σ/σ functions, with the immediates from [`crate::lanes`] that the portable
//! emulation ([`crate::lanes::Emu8`]) also uses. The message words are loaded with the
//! scalar big-endian transpose of [`Lanes::load_message`]'s default (AVX-512F alone has no
//! byte shuffle).
//!
//! **Not executed on the development machine** (it has no AVX-512): the algorithm, the
//! scheduler and the ternlog immediates are verified through the emulation; the mapping of
//! each method to its intrinsic is verified only by reading (and by the tests, on any machine
//! that has AVX-512F, where `Kernel::Avx512` is then available and tested).
//!
//! Unsafe code: calling the intrinsics (`#[target_feature(enable = "avx512f")]` functions)
//! and the unaligned loads/stores. Soundness rests on one invariant: a value of [`Avx512`]
//! only ever comes to exist inside [`run_avx512`], which is only entered after
//! `is_x86_feature_detected!("avx512f")`; the type's field is private to this module and every
//! method that makes a new value takes an existing one.

use core::arch::x86_64::{
    __m512i, _mm_cvtsi32_si128, _mm512_add_epi64, _mm512_loadu_si512, _mm512_ror_epi64,
    _mm512_set1_epi64, _mm512_setzero_si512, _mm512_srl_epi64, _mm512_storeu_si512,
    _mm512_ternarylogic_epi64,
};

use crate::lanes::{Lanes, TERNLOG_CH, TERNLOG_MAJ, TERNLOG_XOR3};
use crate::schedule::{self, Emit};

/// Eight 64-bit lanes; exists only where AVX-512F is available (see the module docs).
#[derive(Clone, Copy)]
pub(crate) struct Avx512(__m512i);

/// Whether this CPU (and OS: std checks that the ZMM state is enabled) runs the AVX-512 kernel.
pub(crate) fn available() -> bool {
    std::is_x86_feature_detected!("avx512f")
}

/// Hashes the messages in `order` with the AVX-512 kernel; false (nothing done) when the CPU
/// lacks AVX-512F.
pub(crate) fn run(messages: &[&[u8]], order: &[usize], sha2_below: usize, emit: Emit) -> bool {
    if !available() {
        return false;
    }
    // SAFETY: AVX-512F was detected just above.
    unsafe { run_avx512(messages, order, sha2_below, emit) };
    true
}

#[target_feature(enable = "avx512f")]
fn run_avx512(messages: &[&[u8]], order: &[usize], sha2_below: usize, emit: Emit) {
    // The one place an `Avx512` is made from nothing: here AVX-512F is enabled and detected.
    schedule::run(
        Avx512(_mm512_setzero_si512()),
        messages,
        order,
        sha2_below,
        emit,
    );
}

// Every `unsafe` block below calls AVX-512F intrinsics on a value of `Avx512` it already
// holds, so by the module invariant the CPU has AVX-512F; pointer arguments are noted.
#[allow(
    clippy::inline_always,
    reason = "must inline into the #[target_feature] kernel"
)]
impl Lanes for Avx512 {
    type Array = [u64; 8];
    const LANES: usize = 8;

    #[inline(always)]
    fn splat(self, x: u64) -> Self {
        // SAFETY: `self` exists, so AVX-512F is available (module invariant).
        Self(unsafe { _mm512_set1_epi64(x.cast_signed()) })
    }

    #[inline(always)]
    fn load(self, a: &[u64; 8]) -> Self {
        // SAFETY: AVX-512F as above; `a` is 64 readable bytes and the load is unaligned.
        Self(unsafe { _mm512_loadu_si512(a.as_ptr().cast()) })
    }

    #[inline(always)]
    fn store(self) -> [u64; 8] {
        let mut a = [0u64; 8];
        // SAFETY: AVX-512F as above; `a` is 64 writable bytes and the store is unaligned.
        unsafe { _mm512_storeu_si512(a.as_mut_ptr().cast(), self.0) };
        a
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: `self` exists, so AVX-512F is available (module invariant).
        Self(unsafe { _mm512_add_epi64(self.0, o.0) })
    }

    #[inline(always)]
    fn ror<const R: i32>(self) -> Self {
        // SAFETY: `self` exists, so AVX-512F is available (module invariant).
        Self(unsafe { _mm512_ror_epi64::<R>(self.0) })
    }

    #[inline(always)]
    fn shr<const S: i32>(self) -> Self {
        // `_mm512_srli_epi64` takes its count as a `u32` const generic, which cannot be made
        // from `S` on stable Rust; the count from a register folds into the immediate form.
        // SAFETY: `self` exists, so AVX-512F is available (module invariant).
        Self(unsafe { _mm512_srl_epi64(self.0, _mm_cvtsi32_si128(S)) })
    }

    #[inline(always)]
    fn ch(self, f: Self, g: Self) -> Self {
        // SAFETY: `self` exists, so AVX-512F is available (module invariant).
        Self(unsafe { _mm512_ternarylogic_epi64::<TERNLOG_CH>(self.0, f.0, g.0) })
    }

    #[inline(always)]
    fn maj(self, b: Self, c: Self) -> Self {
        // SAFETY: `self` exists, so AVX-512F is available (module invariant).
        Self(unsafe { _mm512_ternarylogic_epi64::<TERNLOG_MAJ>(self.0, b.0, c.0) })
    }

    #[inline(always)]
    fn xor3(self, b: Self, c: Self) -> Self {
        // SAFETY: `self` exists, so AVX-512F is available (module invariant).
        Self(unsafe { _mm512_ternarylogic_epi64::<TERNLOG_XOR3>(self.0, b.0, c.0) })
    }
}
