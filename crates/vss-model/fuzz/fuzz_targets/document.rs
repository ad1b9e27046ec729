//! The document reader on arbitrary bytes: never panics; whatever it accepts, it writes back
//! into text that reads back into an equal model (one-line and indented forms).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vss_model::{Document, WriteOptions};

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = Document::from_bytes(data) {
        for options in [
            WriteOptions::default(),
            WriteOptions {
                declaration: true,
                indent: true,
            },
        ] {
            let text = doc.to_xml(options);
            let again = Document::from_xml(&text).expect("written document reads back");
            assert_eq!(again, doc, "round trip changed the model");
        }
    }
});
