//! Arbitrary bytes opened as a VHD and read: nothing may panic (see `disk_image::fuzzing`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| disk_image::fuzzing::vhd(data));
