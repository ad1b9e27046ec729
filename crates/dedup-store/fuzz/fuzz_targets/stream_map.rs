//! Arbitrary bytes as a stream map's logical payload (`Smap`): parsed, every entry read, and
//! the entries' ends checked to move forward the way the restore engine checks them.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = dedup_store::fuzzing::exercise_stream_map(data);
});
