//! The binary ranges-file parser on arbitrary bytes: never panics, never allocates more than
//! the input justifies; what it accepts is written back byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vss_model::ranges::{parse_ranges_file, write_ranges_file};

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = parse_ranges_file(data) {
        assert_eq!(list.len(), (data.len() - 8) / 16);
        assert_eq!(write_ranges_file(&list), data);
    }
});
