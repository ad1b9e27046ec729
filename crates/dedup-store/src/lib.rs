//! Windows Server Data Deduplication chunk-store containers (`.ccc`): reader and writer.
//!
//! A chunk store (`System Volume Information\Dedup\ChunkStore\{GUID}.ddp`) keeps data chunks in
//! `Data\XXXXXXXX.GGGGGGGG.ccc` containers and stream maps in `Stream\…` containers; both share
//! one container format: three `Cthr` header slots, two `Rrtl` redirection tables and a run of
//! `Ckhr` records (data chunk, stream map, padding). Layouts and checksums follow
//! `docs/dedup-format.md` §3–§4 and were verified on a real Windows Server 2019
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
mod paths;
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
pub use paths::{
    CHUNK_STORE_COMPONENTS, CHUNK_STORE_DIR, ContainerKind, container_dir, container_file_name,
    container_path, parse_container_file_name, parse_store_dir_name, store_dir_name, store_root,
};
pub use reader::{
    Container, FixedArea, Located, PayloadCrc, ReadOptions, Records, SlotReport, TYPICAL_MAX_CHUNK,
    TableReport, check_chunk_hash, decode_payload, decode_unhashed, parse_record_header,
    verify_hash, verify_payload_crc,
};
pub use smap::{
    MapCoverageError, SMAP_ENTRY_SIZE, SMAP_HEADER_SIZE, SMAP_VERSION, SmapEntry, StreamMap,
    StreamMapError, StreamMapRef, check_map,
};
pub use writer::{
    AppendedChunk, CompressionPolicy, ContainerWriter, DEFAULT_SIZE_LIMIT, MovedChunk,
    WriterOptions,
};
