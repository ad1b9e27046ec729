//! Arbitrary bytes opened as a E01 and read: nothing may panic (see `disk_image::fuzzing`).
//!
//! The `ewf` crate (0.4.10) panics on some damaged chunk tables; `E01::read_at` contains that
//! panic (`catch_unwind`) and reports a read error. libfuzzer-sys's panic hook aborts on every
//! panic, contained or not, so this target could only find that one again. It runs with the
//! default hook instead: a contained panic is printed and the run goes on; one that leaves
//! `disk_image` still ends in libfuzzer-sys's abort (its `catch_unwind` around every input).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: {
        // Unregisters libfuzzer-sys's aborting hook; the default one takes its place.
        drop(std::panic::take_hook());
    },
    |data: &[u8]| disk_image::fuzzing::e01(data)
);
