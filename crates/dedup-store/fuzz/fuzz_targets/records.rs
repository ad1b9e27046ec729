//! Arbitrary bytes as the records area behind a valid fixed area, CRCs fixed up
//! (see `dedup_store::fuzzing::exercise_records`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = dedup_store::fuzzing::exercise_records(data);
});
