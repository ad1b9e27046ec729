//! Multi-buffer SHA-512: many independent messages hashed at once, one per SIMD lane.
//!
//! Data Deduplication verifies every chunk (an independent message of 32–128 KiB) by the first
//! 32 bytes of its SHA-512, the *chunk hash*; hashing is most of a verified restore's work.
//! SHA-512's rounds are a serial chain within one message, so a single stream cannot use wide
//! vectors well, but independent messages can share them: lane `l` of every 64-bit vector
//! belongs to message `l`. No maintained Rust crate offers multi-buffer SHA-512, hence this
//! one. The [`sha2`] crate stays the fallback where no vector kernel runs, the single-stream
//! path for batches too small to fill the lanes, and finishes the last messages of a batch
//! once too few remain to keep the lanes busy.
//!
//! ```
//! let chunks: [&[u8]; 3] = [b"abc", b"", &[7; 70_000]];
//! let mut hashes = [[0u8; 32]; 3];
//! sha512_mb::chunk_hashes(&chunks, &mut hashes);
//! assert_eq!(hashes[0][..4], [0xdd, 0xaf, 0x35, 0xa1]); // SHA-512("abc") begins ddaf35a1
//! ```
//!
//! # Kernels
//!
//! | [`Kernel`]  | lanes | needs      | rotations / Ch, Maj                       |
//! |-------------|-------|------------|-------------------------------------------|
//! | `Avx512`    | 8     | AVX-512F   | `vprorq` / `vpternlogq` (0xCA, 0xE8, 0x96) |
//! | `Avx2`      | 4     | AVX2       | shift, shift, or (`vpshufb` for 8) / and, andnot, xor |
//! | `Sha2`      | 1     | —          | the `sha2` crate, one message at a time   |
//!
//! [`Kernel::detect`] picks the best one the CPU runs, once per process; the environment
//! variable [`KERNEL_ENV`] (`REHYDRATE_SHA512_KERNEL=avx512|avx2|sha2`) caps it, so a whole test
//! run can be forced down to a narrower kernel. A kernel the CPU lacks is never executed:
//! asking for it (through the variable or explicitly, as in [`Kernel::digests`]) runs the best
//! available kernel below it instead ([`Kernel::effective`]).
//!
//! The compression function (FIPS 180-4 §6.4.2) and the lane scheduler are written once,
//! generic over a small lane-vector trait with three implementations: AVX2, AVX-512, and a
//! portable `[u64; 8]` emulation of the AVX-512 operations whose `vpternlogq` follows Intel's
//! documented bit definition. Constants are from FIPS 180-4 (§4.2.3 K, §5.3.5 H(0)).
//!
//! # What is tested where
//!
//! The tests compare every kernel this machine runs, one after another, and the portable
//! emulation ([`emulation`]) with the `sha2` crate (NIST vectors, padding-edge lengths,
//! message counts around the lane widths, randomised batches, lanes finishing at different
//! times), and a cargo-fuzz target does the same with arbitrary inputs. The emulation runs
//! everywhere, so the algorithm, the scheduler and the ternlog immediates of the AVX-512
//! kernel are verified on every machine. **The AVX-512 kernel itself has only been compiled,
//! never executed, during development** (the development machine lacks AVX-512): the mapping
//! from each lane operation to its intrinsic is checked only by review until the tests run on
//! an AVX-512 machine, where `Kernel::Avx512` is available and therefore tested.
//!
//! # Unsafe code
//!
//! Confined to the kernel modules (`avx2`, `avx512`): the intrinsics and unaligned vector
//! loads. A kernel's vector type can only be created inside its `#[target_feature]` entry
//! point, which is entered only after run-time detection; see those modules.

#[cfg(target_arch = "x86_64")]
#[allow(
    unsafe_code,
    reason = "SIMD intrinsics; soundness argued in the module docs and at each block"
)]
mod avx2;
#[cfg(target_arch = "x86_64")]
#[allow(
    unsafe_code,
    reason = "SIMD intrinsics; soundness argued in the module docs and at each block"
)]
mod avx512;
mod consts;
mod lanes;
mod schedule;

use std::sync::OnceLock;

use schedule::Emit;

/// The environment variable that caps the kernel [`Kernel::detect`] picks: `avx512`, `avx2` or
/// `sha2` (ASCII case ignored). Read once per process; other values are ignored.
pub const KERNEL_ENV: &str = "REHYDRATE_SHA512_KERNEL";

/// An implementation of multi-buffer SHA-512.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Eight lanes of AVX-512F (`__m512i`). Not executed on the development machine; see the
    /// crate docs.
    Avx512,
    /// Four lanes of AVX2 (`__m256i`).
    Avx2,
    /// The `sha2` crate, one message at a time: runs everywhere.
    Sha2,
}

impl Kernel {
    /// Every kernel, widest first.
    pub const ALL: [Kernel; 3] = [Kernel::Avx512, Kernel::Avx2, Kernel::Sha2];

    /// The kernel the free functions ([`chunk_hashes`], [`digests`]) use: the widest one this
    /// CPU runs, capped by [`KERNEL_ENV`] if it is set. Decided once per process.
    #[must_use]
    pub fn detect() -> Kernel {
        static DETECTED: OnceLock<Kernel> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            let cap = std::env::var(KERNEL_ENV)
                .ok()
                .and_then(|v| Kernel::from_name(v.trim()));
            cap.unwrap_or(Kernel::Avx512).effective()
        })
    }

    /// The kernels this CPU runs, widest first (always ends with [`Kernel::Sha2`]).
    #[must_use]
    pub fn available() -> Vec<Kernel> {
        Kernel::ALL
            .into_iter()
            .filter(|k| k.is_available())
            .collect()
    }

    /// Whether this CPU runs the kernel (run-time detection).
    #[must_use]
    pub fn is_available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => avx512::available(),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => avx2::available(),
            #[cfg(not(target_arch = "x86_64"))]
            Kernel::Avx512 | Kernel::Avx2 => false,
            Kernel::Sha2 => true,
        }
    }

    /// The kernel that runs when this one is asked for: itself if the CPU runs it, else the
    /// widest available kernel narrower than it.
    #[must_use]
    pub fn effective(self) -> Kernel {
        Kernel::ALL
            .into_iter()
            .skip_while(|&k| k != self)
            .find(|k| k.is_available())
            .unwrap_or(Kernel::Sha2)
    }

    /// Number of messages hashed at once.
    #[must_use]
    pub const fn lanes(self) -> usize {
        match self {
            Kernel::Avx512 => 8,
            Kernel::Avx2 => 4,
            Kernel::Sha2 => 1,
        }
    }

    /// The kernel's name as [`KERNEL_ENV`] spells it: `avx512`, `avx2`, `sha2`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Kernel::Avx512 => "avx512",
            Kernel::Avx2 => "avx2",
            Kernel::Sha2 => "sha2",
        }
    }

    /// The kernel named `name` (as [`Kernel::name`] spells it, ASCII case ignored).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Kernel> {
        Kernel::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// Once no message waits for a lane, the kernel hands the messages still in its lanes to
    /// `sha2` when fewer than this many remain; a batch of fewer messages goes to `sha2`
    /// whole. The rule: hand over when `busy lanes × per-lane rate < sha2's rate`, i.e. below
    /// `lanes / (kernel rate / sha2 rate)`.
    ///
    /// AVX2, measured on an AMD EPYC (Zen 3) VM with `examples/throughput.rs` (best of 30 passes
    /// over 1 MiB messages): one busy lane 0.31 GB/s, two 0.61, three 0.94, against `sha2`'s
    /// 0.51 GB/s; so a lone lane goes to `sha2` (2). AVX-512, measured the same way on an Intel
    /// Xeon VM with AVX-512 (2026-12-06): one busy lane 0.447 GB/s, two 0.894, three 1.346,
    /// against `sha2`'s 0.810 GB/s; so again only a lone lane goes to `sha2` (2). (It was 3,
    /// from the issue's target of 3× `sha2` before such a machine was at hand; the mixed set of
    /// 64 messages hashes at the same 3.55 GB/s either way, and groups of two gain ~10 %.)
    const fn sha2_below(self) -> usize {
        match self {
            Kernel::Avx512 | Kernel::Avx2 => 2,
            Kernel::Sha2 => usize::MAX,
        }
    }

    /// [`chunk_hashes`] with this kernel (or, if the CPU lacks it, [`Kernel::effective`]).
    pub fn chunk_hashes(self, messages: &[&[u8]], out: &mut [[u8; 32]]) {
        let n = messages.len().min(out.len());
        self.run(&messages[..n], self.sha2_below(), &mut |i, d| {
            out[i].copy_from_slice(&d[..32]);
        });
    }

    /// [`digests`] with this kernel (or, if the CPU lacks it, [`Kernel::effective`]).
    pub fn digests(self, messages: &[&[u8]], out: &mut [[u8; 64]]) {
        let n = messages.len().min(out.len());
        self.run(&messages[..n], self.sha2_below(), &mut |i, d| out[i] = *d);
    }

    /// Hashes every message with the effective kernel, handing each digest to `emit` once.
    fn run(self, messages: &[&[u8]], sha2_below: usize, emit: Emit) {
        let kernel = self.effective();
        if kernel == Kernel::Sha2 || messages.len() < sha2_below {
            schedule::run_sha2(messages, 0..messages.len(), emit);
            return;
        }
        let order = schedule::longest_first(messages);
        #[cfg(target_arch = "x86_64")]
        let done = match kernel {
            Kernel::Avx512 => avx512::run(messages, &order, sha2_below, emit),
            Kernel::Avx2 => avx2::run(messages, &order, sha2_below, emit),
            Kernel::Sha2 => false,
        };
        #[cfg(not(target_arch = "x86_64"))]
        let done = false;
        if !done {
            schedule::run_sha2(messages, order, emit);
        }
    }
}

impl std::fmt::Display for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The chunk hash (the first 32 bytes of the SHA-512 digest) of each message, with
/// [`Kernel::detect`]'s kernel: `out[i]` receives the hash of `messages[i]`.
///
/// Never panics. If the slices differ in length, only the first `min(messages.len(),
/// out.len())` messages are hashed and the rest of `out` is left as it was.
pub fn chunk_hashes(messages: &[&[u8]], out: &mut [[u8; 32]]) {
    Kernel::detect().chunk_hashes(messages, out);
}

/// The SHA-512 digest of each message, with [`Kernel::detect`]'s kernel: `out[i]` receives the
/// digest of `messages[i]`.
///
/// Never panics. If the slices differ in length, only the first `min(messages.len(),
/// out.len())` messages are hashed and the rest of `out` is left as it was.
pub fn digests(messages: &[&[u8]], out: &mut [[u8; 64]]) {
    Kernel::detect().digests(messages, out);
}

/// The portable emulation of the AVX-512 kernel: the same generic rounds and scheduler, eight
/// lanes of plain `u64`, and Ch/Maj/XOR3 computed from Intel's bit definition of `vpternlogq`
/// with the kernel's immediates. Far slower than `sha2`; it exists so that tests on any machine
/// verify everything of the AVX-512 kernel but its intrinsics.
pub mod emulation {
    use crate::lanes::Emu8;
    use crate::{Kernel, schedule};

    /// [`crate::digests`] through the emulated AVX-512 kernel (same scheduling and `sha2`
    /// hand-over threshold as the real one). Same length rule as [`crate::digests`].
    pub fn digests(messages: &[&[u8]], out: &mut [[u8; 64]]) {
        crate::tuning::emulated_digests(messages, out, Kernel::Avx512.sha2_below());
    }

    /// [`crate::chunk_hashes`] through the emulated AVX-512 kernel. Same length rule as
    /// [`crate::chunk_hashes`].
    pub fn chunk_hashes(messages: &[&[u8]], out: &mut [[u8; 32]]) {
        let messages = &messages[..messages.len().min(out.len())];
        let order = schedule::longest_first(messages);
        schedule::run(
            Emu8::new(),
            messages,
            &order,
            Kernel::Avx512.sha2_below(),
            &mut |i, d| out[i].copy_from_slice(&d[..32]),
        );
    }
}

/// Entry points with an explicit `sha2` hand-over threshold, for tests, benches and the fuzz
/// target (not a stable API).
#[doc(hidden)]
pub mod tuning {
    use crate::lanes::Emu8;
    use crate::{Kernel, schedule};

    /// [`Kernel::digests`] with `sha2_below` in place of the kernel's own threshold (0 keeps
    /// every message in the lanes to its end).
    pub fn digests(kernel: Kernel, messages: &[&[u8]], out: &mut [[u8; 64]], sha2_below: usize) {
        let n = messages.len().min(out.len());
        kernel.run(&messages[..n], sha2_below, &mut |i, d| out[i] = *d);
    }

    /// [`crate::emulation::digests`] with `sha2_below` in place of the AVX-512 threshold.
    pub fn emulated_digests(messages: &[&[u8]], out: &mut [[u8; 64]], sha2_below: usize) {
        let messages = &messages[..messages.len().min(out.len())];
        let order = schedule::longest_first(messages);
        schedule::run(Emu8::new(), messages, &order, sha2_below, &mut |i, d| {
            out[i] = *d;
        });
    }
}
