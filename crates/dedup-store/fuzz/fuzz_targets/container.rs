//! Arbitrary bytes as a whole container (see `dedup_store::fuzzing::exercise_container`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = dedup_store::fuzzing::exercise_container(data);
});
