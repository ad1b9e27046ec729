//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the ordinary test that replays
//! their committed inputs (`tests/fuzz_regressions.rs`). Not part of the supported API.

use crate::crc64::crc64;
use crate::error::ContainerError;
use crate::layout::{
    BACKUP_REDIRECTION_OFFSET, CKHR_MAGIC, CTHR_VERSION, ContainerHeader, FIRST_RECORD_OFFSET,
    PRIMARY_REDIRECTION_OFFSET, RECORD_ALIGN, RecordType, RedirectionTable, SLOT_SIZE, le_u16,
    le_u32,
};
use crate::reader::{Container, PayloadCrc, ReadOptions};

/// What an exercise run saw, so replay tests can assert on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Whether the container opened.
    pub opened: bool,
    /// Records that parsed.
    pub records: usize,
    /// Chunk payloads that passed every check.
    pub verified: usize,
}

/// Arbitrary bytes as a whole container: open, walk, read and verify everything, look ids up.
#[must_use]
pub fn exercise_container(data: &[u8]) -> Outcome {
    let mut out = Outcome::default();
    let Ok(c) = Container::open("fuzz.ccc", data) else {
        return out;
    };
    out.opened = true;
    let opts = ReadOptions {
        verify_hash: true,
        payload_crc: PayloadCrc::Always,
        // Twice the largest chunk seen on real volumes (docs/dedup-format.md §4.1: up to 128,192 bytes): room
        // for every real size, and a fuzz run is not spent expanding megabytes of matches.
        max_logical_len: 2 * crate::reader::TYPICAL_MAX_CHUNK,
    };
    let lazy = ReadOptions {
        payload_crc: PayloadCrc::OnFailure,
        ..opts
    };
    let mut scratch = Vec::new();
    let mut scratch_lazy = Vec::new();
    let mut ids = Vec::new();
    for r in c.records().take(10_000) {
        let Ok(r) = r else { continue };
        out.records += 1;
        ids.push((r.local_id, r.offset));
        if r.record_type == RecordType::Padding {
            continue;
        }
        let always = c.logical_payload(&r, None, &opts, &mut scratch);
        let on_failure = c.logical_payload(&r, None, &lazy, &mut scratch_lazy);
        // The CRC only after a failure: the same bytes, or the same error, unless the CRC alone
        // fails while the payload decodes to bytes with the right hash.
        match (&always, &on_failure) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "the same logical payload"),
            (Err(ContainerError::CrcMismatch { .. }), Ok(_)) => {}
            (a, b) => assert_eq!(a, b, "the same outcome with the CRC after a failure"),
        }
        // Decoding without the hash, then comparing a hash computed apart (what a caller
        // hashing many chunks at once does) reports exactly what one call reports.
        let mut scratch_split = Vec::new();
        let stored = c.stored_payload(&r);
        let split =
            crate::reader::decode_unhashed(c.name(), &r, stored, None, &lazy, &mut scratch_split)
                .and_then(|logical| {
                    if r.record_type == RecordType::Data {
                        let h = crate::hash::chunk_hash(logical);
                        crate::reader::check_chunk_hash(c.name(), &r, stored, &h)?;
                    }
                    Ok(logical)
                });
        assert_eq!(
            split, on_failure,
            "hashing apart reports what decode_payload does"
        );
        if always.is_ok() {
            out.verified += 1;
        }
    }
    for (id, off) in ids.into_iter().take(64) {
        let _ = c.read_chunk(id, Some(off.wrapping_add(8)), None, &opts, &mut scratch);
        let _ = c.read_stream_map(id, Some(off), None, &mut scratch);
    }
    let _ = c.find_record(u32::MAX, Some(u32::MAX));
    out
}

/// Arbitrary bytes as the records area of a container whose fixed area is valid. The CRC-64s
/// of every 8-aligned `Ckhr` found are recomputed first, so mutations reach the structure,
/// decompression and hash checks instead of stopping at a CRC.
///
/// # Panics
/// If the container it builds does not open (a bug in the reader or here).
#[must_use]
pub fn exercise_records(data: &[u8]) -> Outcome {
    let records_len = (data.len() + 7) & !7;
    let mut c = vec![0u8; FIRST_RECORD_OFFSET as usize];
    c.extend_from_slice(data);
    c.resize(FIRST_RECORD_OFFSET as usize + records_len, 0);
    let header = ContainerHeader {
        version: CTHR_VERSION,
        usn: 1,
        container_id: 1,
        generation: 1,
        chunk_count: 0,
        next_local_id: 1,
        valid_data_length: u64::from(FIRST_RECORD_OFFSET) + records_len as u64,
        last_append_filetime: 0,
        backup_redirection_offset: BACKUP_REDIRECTION_OFFSET,
        unknown_34: 0,
    };
    c[..ContainerHeader::SIZE].copy_from_slice(&header.encode());
    let table = RedirectionTable::default().encode();
    for at in [PRIMARY_REDIRECTION_OFFSET, BACKUP_REDIRECTION_OFFSET] {
        c[at as usize..(at + SLOT_SIZE) as usize].copy_from_slice(&table);
    }
    fix_crcs(&mut c);
    assert!(
        Container::open("fuzz.ccc", &c[..]).is_ok(),
        "the harness builds a valid fixed area"
    );
    exercise_container(&c)
}

fn fix_crcs(c: &mut [u8]) {
    let mut pos = FIRST_RECORD_OFFSET as usize;
    while pos + 0x20 <= c.len() {
        if c[pos..pos + 4] == CKHR_MAGIC
            && let Some(t) = RecordType::from_code(le_u16(c, pos + 0x10))
        {
            let hl = t.header_len();
            let size = le_u32(c, pos + 0x0C) as usize;
            if pos + hl <= c.len() {
                if t != RecordType::Padding && size <= c.len() - pos - hl {
                    let crc = crc64(&c[pos + hl..pos + hl + size]);
                    let at = pos + usize::from(t.hash_offset()) + 32;
                    c[at..at + 8].copy_from_slice(&crc.to_le_bytes());
                }
                let crc = crc64(&c[pos..pos + hl - 8]);
                c[pos + hl - 8..pos + hl].copy_from_slice(&crc.to_le_bytes());
            }
        }
        pos += RECORD_ALIGN as usize;
    }
}

/// Arbitrary bytes as a stream map's logical payload: parse, then read every entry three ways
/// (the iterator, by index, the owned copy) and check that they agree and that ends never go
/// backwards in a map that parsed. Returns the number of entries (`None`: it did not parse).
///
/// # Panics
/// If the views disagree or a parsed map's ends go backwards (a bug in the parser).
#[must_use]
pub fn exercise_stream_map(data: &[u8]) -> Option<usize> {
    let map = crate::smap::StreamMapRef::parse(data).ok()?;
    let owned = map.to_owned_map();
    let mut previous = 0u64;
    for (i, e) in map.entries().enumerate() {
        assert_eq!(map.get(i), Some(e), "entry {i} by index");
        assert_eq!(owned.entries[i], e, "entry {i} of the owned copy");
        assert!(
            e.end >= previous,
            "entry {i} goes backwards in a parsed map"
        );
        previous = e.end;
    }
    assert_eq!(map.get(map.len()), None);
    assert_eq!(map.logical_end(), previous);
    Some(map.len())
}
