//! Shared builders for the tests (included with `mod common;`).
#![allow(dead_code)]

use dedup_reparse::{DedupReparse, FileTime, Guid, LayoutVersion, ReferenceEntry, StreamMapHash};

/// The TNF chunk-store GUID.
pub(crate) const GUID: &str = "{5D1B7BFA-B73E-42A0-95CB-91CE1921CFB2}";

/// A reference entry with the hash width of `version` and non-zero unknown fields.
pub(crate) fn entry(version: LayoutVersion) -> ReferenceEntry {
    let hash = match version {
        LayoutVersion::V1 => StreamMapHash::Long(core::array::from_fn(|i| i as u8 + 1)),
        _ => StreamMapHash::Short(core::array::from_fn(|i| 0xF0 - i as u8)),
    };
    let mut e = ReferenceEntry::new(0x2A, 0x0001_0000, 0x5000, 8 + 64 * 3, hash, 0..0);
    e.unknown_0c = 0x1111_1111;
    e.unknown_10 = 0x2222_2222;
    e.unknown_14 = 0x3333_3333;
    e
}

/// A fresh point of `version`.
pub(crate) fn fresh(version: LayoutVersion) -> DedupReparse {
    DedupReparse::new(
        version,
        GUID.parse::<Guid>().unwrap(),
        1_234_567,
        entry(version),
        FileTime(0x01D3_6F66_7251_F859),
    )
    .unwrap()
}

/// A full buffer of each layout, as built.
pub(crate) fn all_buffers() -> Vec<(LayoutVersion, Vec<u8>)> {
    [LayoutVersion::V1, LayoutVersion::V2, LayoutVersion::V3]
        .into_iter()
        .map(|v| (v, fresh(v).to_buffer().unwrap()))
        .collect()
}
