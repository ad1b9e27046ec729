//! Windows Server Data Deduplication chunk-store containers (`.ccc`): reader and writer.
//!
//! A chunk store (`System Volume Information\Dedup\ChunkStore\{GUID}.ddp`) keeps data chunks in
//! `Data\XXXXXXXX.GGGGGGGG.ccc` containers and stream maps in `Stream\…` containers; both share
//! one container format: three `Cthr` header slots, two `Rrtl` redirection tables and a run of
//! `Ckhr` records (data chunk, stream map, padding). Layouts and checksums follow
//! `shared/spec/dedup-format.md` §3–§4 and were verified on a real Windows Server 2019
//! container.
//!
//! * [`Container`] validates a container's fixed area up front and then reads records, chunks
//!   and stream maps straight out of the borrowed bytes (`Vec<u8>`, `bytes::Bytes`, a
//!   `memmap2::Mmap` — anything that derefs to `[u8]`), checking every CRC-64 and chunk hash.
//! * [`ContainerWriter`] lays out new containers (and compacted generations) that the reader,
//!   the spec and the sample agree on.
//!
//! This crate does no I/O.

mod crc64;
mod error;
mod hash;
mod layout;
mod reader;
mod smap;
mod writer;

#[doc(hidden)]
pub mod fuzzing;

pub use crc64::{Crc64, POLY_REFLECTED, crc64};
pub use error::{ContainerError, SlotProblems, WriteError};
pub use hash::{ChunkHash, chunk_hash, hex, stream_map_hash};
pub use layout::{
    APPEND_ALIGN, BACKUP_REDIRECTION_OFFSET, CKHR_MAGIC, CKHR_VERSION, CTHR_MAGIC, CTHR_VERSION,
    Compression, ContainerHeader, FIRST_RECORD_OFFSET, FIXED_AREA_LEN, HEADER_SLOT_OFFSETS,
    PRIMARY_REDIRECTION_OFFSET, RECORD_ALIGN, RRTL_MAGIC, RRTL_VERSION, RecordHeader, RecordType,
    RedirectionTable, SLOT_SIZE, SMAP_MAGIC, align_up,
};
pub use reader::{
    Container, FixedArea, Located, PayloadCrc, ReadOptions, Records, SlotReport, TYPICAL_MAX_CHUNK,
    TableReport, check_chunk_hash, decode_payload, decode_unhashed, parse_record_header,
    verify_hash, verify_payload_crc,
};
pub use smap::{
    SMAP_ENTRY_SIZE, SMAP_HEADER_SIZE, SMAP_VERSION, SmapEntry, StreamMap, StreamMapError,
    StreamMapRef,
};
pub use writer::{
    AppendedChunk, CompressionPolicy, ContainerWriter, DEFAULT_SIZE_LIMIT, MovedChunk,
    WriterOptions,
};

/// The container file name for an id and generation: `XXXXXXXX.GGGGGGGG.ccc`, 8 lower-case hex
/// digits each (spec §2; NTFS lookups are case-insensitive).
#[must_use]
pub fn container_file_name(container_id: u32, generation: u32) -> String {
    format!("{container_id:08x}.{generation:08x}.ccc")
}

/// Parses `XXXXXXXX.GGGGGGGG.ccc` (any case) into `(first, second)` component.
#[must_use]
pub fn parse_container_file_name(name: &str) -> Option<(u32, u32)> {
    let stem = name
        .len()
        .checked_sub(4)
        .filter(|&i| name.is_char_boundary(i) && name[i..].eq_ignore_ascii_case(".ccc"))
        .map(|i| &name[..i])?;
    let (a, b) = stem.split_once('.')?;
    if a.len() != 8 || b.len() != 8 || !a.bytes().chain(b.bytes()).all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some((
        u32::from_str_radix(a, 16).ok()?,
        u32::from_str_radix(b, 16).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names() {
        assert_eq!(container_file_name(1, 0x10000), "00000001.00010000.ccc");
        assert_eq!(
            parse_container_file_name("00010000.00000003.CCC"),
            Some((0x10000, 3))
        );
        assert_eq!(parse_container_file_name("0001000.00000003.ccc"), None);
        assert_eq!(parse_container_file_name("0001000g.00000003.ccc"), None);
        assert_eq!(parse_container_file_name("ccc"), None);
        assert_eq!(parse_container_file_name("é.ccc"), None);
    }
}
