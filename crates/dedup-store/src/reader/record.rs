//! `Ckhr` record headers (docs/dedup-format.md §3.4): magic, version, type, header CRC-64 and
//! bounds.

use std::sync::Arc;

use super::fixed::{bad_magic, bad_version};
use crate::crc64::crc64;
use crate::error::ContainerError;
use crate::layout::{
    CKHR_MAGIC, CKHR_VERSION, Compression, FIRST_RECORD_OFFSET, RECORD_ALIGN, RecordHeader,
    RecordType, arr4, le_u16, le_u32, le_u64,
};

/// Decodes and checks the record header at container offset `offset` from `window`, a slice of
/// the container that starts at container offset `window_offset` (magic, version, type, header
/// CRC-64, and that header and payload end within `vdl`). The payload itself need not be in the
/// window.
pub fn parse_record_header(
    name: &Arc<str>,
    window: &[u8],
    window_offset: u64,
    offset: u64,
    vdl: u64,
) -> Result<RecordHeader, ContainerError> {
    let b = offset
        .checked_sub(window_offset)
        .and_then(|r| usize::try_from(r).ok())
        .and_then(|r| window.get(r..))
        .unwrap_or(&[]);
    parse_record(name, b, offset, vdl)
}

pub(super) fn parse_record(
    name: &Arc<str>,
    b: &[u8],
    offset: u64,
    vdl: u64,
) -> Result<RecordHeader, ContainerError> {
    let field = |field, expected: &str, actual: u64, local_id| ContainerError::BadRecordField {
        container: name.clone(),
        offset,
        local_id,
        field,
        expected: expected.to_owned(),
        actual,
    };
    if offset < u64::from(FIRST_RECORD_OFFSET) || !offset.is_multiple_of(u64::from(RECORD_ALIGN)) {
        return Err(field(
            "offset",
            "8-byte aligned and at least 0x5000",
            offset,
            None,
        ));
    }
    let oob = |end, local_id| ContainerError::RecordOutOfBounds {
        container: name.clone(),
        offset,
        local_id,
        end,
        vdl,
    };
    // `b` starts at the record; the caller's window may end before the valid data does.
    if offset + 0x20 > vdl || b.len() < 0x20 {
        return Err(oob(offset + 0x20, None));
    }
    if b[..4] != CKHR_MAGIC {
        return Err(bad_magic(name, offset, CKHR_MAGIC, &b[..4]));
    }
    let local_id = le_u32(b, 8);
    let stored_size = le_u32(b, 0x0C);
    let type_code = le_u16(b, 0x10);
    let Some(record_type) = RecordType::from_code(type_code) else {
        return Err(field(
            "record type",
            "1 (data), 2 (stream map) or 4 (padding)",
            type_code.into(),
            Some(local_id),
        ));
    };
    let header_len = record_type.header_len();
    if offset + header_len as u64 > vdl || b.len() < header_len {
        return Err(oob(offset + header_len as u64, Some(local_id)));
    }
    let h = &b[..header_len];
    let stored_crc = le_u64(h, header_len - 8);
    let actual_crc = crc64(&h[..header_len - 8]);
    if stored_crc != actual_crc {
        return Err(ContainerError::CrcMismatch {
            container: name.clone(),
            offset,
            local_id: Some(local_id),
            what: "record header",
            expected: stored_crc,
            actual: actual_crc,
        });
    }
    if arr4(h, 4) != CKHR_VERSION {
        return Err(bad_version(name, offset, "Ckhr", CKHR_VERSION, arr4(h, 4)));
    }
    let hash_offset = le_u16(h, 0x12);
    if hash_offset != record_type.hash_offset() {
        return Err(field(
            "hash offset",
            match record_type {
                RecordType::Data => "0x28 for a data record",
                RecordType::StreamMap => "0x38 for a stream-map record",
                RecordType::Padding => "0 for a padding record",
            },
            hash_offset.into(),
            Some(local_id),
        ));
    }
    let end = offset + header_len as u64 + u64::from(stored_size);
    if end > vdl {
        return Err(oob(end, Some(local_id)));
    }
    let unknown_14 = [le_u32(h, 0x14), le_u32(h, 0x18), le_u32(h, 0x1C)];
    let mut rec = RecordHeader {
        offset: offset as u32,
        record_type,
        local_id,
        stored_size,
        unknown_14,
        compression: Compression::Stored,
        compression_copy: 0,
        stream_extra: [0; 16],
        hash: [0; 32],
        payload_crc: le_u64(h, 0x20),
        header_crc: stored_crc,
    };
    if record_type != RecordType::Padding {
        rec.compression = Compression::from_code(le_u32(h, 0x20));
        rec.compression_copy = le_u32(h, 0x24);
        if record_type == RecordType::StreamMap {
            rec.stream_extra.copy_from_slice(&h[0x28..0x38]);
        }
        let ho = usize::from(hash_offset);
        rec.hash.copy_from_slice(&h[ho..ho + 32]);
        rec.payload_crc = le_u64(h, ho + 32);
    }
    Ok(rec)
}
