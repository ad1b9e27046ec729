//! Arbitrary bytes read as a disk: MBR/GPT, then the chosen volume; nothing may panic (see
//! `disk_image::fuzzing`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| disk_image::fuzzing::disk(data));
