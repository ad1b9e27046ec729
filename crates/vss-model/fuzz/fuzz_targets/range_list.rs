//! The range-string parser on arbitrary text: never panics; what it accepts has no
//! overflowing range and survives format → parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vss_model::ranges::{classify_ranges, format_range_list, parse_range_list};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = classify_ranges(text);
    if let Ok(list) = parse_range_list(text) {
        assert!(!list.is_empty());
        assert!(list.iter().all(|r| r.offset.checked_add(r.length).is_some()));
        assert_eq!(parse_range_list(&format_range_list(&list)), Ok(list));
    }
});
