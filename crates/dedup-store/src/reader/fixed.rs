//! A container's fixed area: the three `Cthr` header slots and the two `Rrtl` redirection
//! tables (docs/dedup-format.md §3.1–§3.3), validated up front.

use std::sync::Arc;

use super::{SlotReport, TableReport};
use crate::crc64::crc64;
use crate::error::ContainerError;
use crate::hash::hex;
use crate::layout::{
    BACKUP_REDIRECTION_OFFSET, CTHR_MAGIC, CTHR_VERSION, ContainerHeader, FIRST_RECORD_OFFSET,
    HEADER_SLOT_OFFSETS, PRIMARY_REDIRECTION_OFFSET, RECORD_ALIGN, RRTL_MAGIC, RRTL_VERSION,
    RedirectionTable, SLOT_SIZE, arr4, le_u32, le_u64,
};

/// The validated fixed area of a container (its first 0x5000 bytes: three header slots and two
/// redirection tables), for callers that read containers piecewise (a restore engine reading
/// through a backup callback) instead of holding all the bytes.
#[derive(Debug, Clone)]
pub struct FixedArea {
    /// The chosen header (valid CRC, highest USN).
    pub header: ContainerHeader,
    /// Index (0–2) of the chosen slot.
    pub chosen_slot: usize,
    /// What was found in each header slot.
    pub slots: [SlotReport; 3],
    /// What was found in the primary and backup redirection tables.
    pub tables: [TableReport; 2],
    /// The redirection table in use (primary, or backup when the primary is damaged).
    pub redirection: RedirectionTable,
}

impl FixedArea {
    /// Validates the first 0x5000 bytes of a container (`bytes` may be longer; nothing past
    /// 0x5000 is read, and the valid data length is not compared with any file size).
    pub fn parse(name: &Arc<str>, bytes: &[u8]) -> Result<Self, ContainerError> {
        let len = bytes.len() as u64;
        if len < u64::from(FIRST_RECORD_OFFSET) {
            return Err(ContainerError::TooSmall {
                container: name.clone(),
                len,
                needed: u64::from(FIRST_RECORD_OFFSET),
            });
        }
        let slots = HEADER_SLOT_OFFSETS.map(|offset| SlotReport {
            offset,
            status: check_header_slot(name, bytes, offset),
        });
        let Some((chosen_slot, header)) = slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.status.as_ref().ok().map(|h| (i, *h)))
            // Highest USN wins; on a tie the lowest slot.
            .max_by_key(|(i, h)| (h.usn, std::cmp::Reverse(*i)))
        else {
            return Err(ContainerError::NoValidHeader {
                container: name.clone(),
                problems: slots
                    .iter()
                    .filter_map(|s| s.status.as_ref().err().map(ToString::to_string))
                    .collect(),
            });
        };
        let vdl = header.valid_data_length;
        let tables = [PRIMARY_REDIRECTION_OFFSET, header.backup_redirection_offset].map(|offset| {
            TableReport {
                offset,
                status: check_redirection_table(name, bytes, offset, vdl),
            }
        });
        let redirection = match (&tables[0].status, &tables[1].status) {
            (Ok(t), _) | (Err(_), Ok(t)) => t.clone(),
            (Err(e), Err(_)) => return Err(e.clone()),
        };
        Ok(Self {
            header,
            chosen_slot,
            slots,
            tables,
            redirection,
        })
    }
}

pub(super) fn check_header_slot(
    name: &Arc<str>,
    bytes: &[u8],
    offset: u32,
) -> Result<ContainerHeader, ContainerError> {
    let at = offset as usize;
    let raw: &[u8; ContainerHeader::SIZE] = bytes[at..at + ContainerHeader::SIZE]
        .try_into()
        .expect("slot is inside the fixed area, checked by the caller");
    if raw[..4] != CTHR_MAGIC {
        return Err(bad_magic(name, offset.into(), CTHR_MAGIC, &raw[..4]));
    }
    let stored = le_u64(raw, 0x38);
    let actual = crc64(&raw[..0x38]);
    if stored != actual {
        return Err(ContainerError::CrcMismatch {
            container: name.clone(),
            offset: offset.into(),
            local_id: None,
            what: "Cthr header",
            expected: stored,
            actual,
        });
    }
    if arr4(raw, 4) != CTHR_VERSION {
        return Err(bad_version(
            name,
            offset.into(),
            "Cthr",
            CTHR_VERSION,
            arr4(raw, 4),
        ));
    }
    let h = ContainerHeader::decode(raw);
    let field_err = |field, expected: &str, actual| ContainerError::BadHeaderField {
        container: name.clone(),
        offset: offset.into(),
        field,
        expected: expected.to_owned(),
        actual,
    };
    if h.valid_data_length < u64::from(FIRST_RECORD_OFFSET)
        || !h.valid_data_length.is_multiple_of(u64::from(RECORD_ALIGN))
    {
        return Err(field_err(
            "valid data length",
            "a multiple of 8 not below 0x5000",
            h.valid_data_length,
        ));
    }
    if h.valid_data_length > u64::from(u32::MAX) + 1 {
        return Err(field_err(
            "valid data length",
            "at most 4 GiB (offsets are u32)",
            h.valid_data_length,
        ));
    }
    if h.backup_redirection_offset != BACKUP_REDIRECTION_OFFSET {
        return Err(field_err(
            "backup redirection-table offset",
            "0x4000",
            h.backup_redirection_offset.into(),
        ));
    }
    if h.next_local_id == 0 {
        return Err(field_err("next local id", "at least 1", 0));
    }
    Ok(h)
}

pub(super) fn check_redirection_table(
    name: &Arc<str>,
    bytes: &[u8],
    offset: u32,
    vdl: u64,
) -> Result<RedirectionTable, ContainerError> {
    let at = offset as usize;
    let slot = &bytes[at..at + SLOT_SIZE as usize];
    if slot[..4] != RRTL_MAGIC {
        return Err(bad_magic(name, offset.into(), RRTL_MAGIC, &slot[..4]));
    }
    let stored = le_u64(slot, 0x18);
    let actual = crc64(&slot[..0x18]);
    if stored != actual {
        return Err(ContainerError::CrcMismatch {
            container: name.clone(),
            offset: offset.into(),
            local_id: None,
            what: "Rrtl header",
            expected: stored,
            actual,
        });
    }
    if arr4(slot, 4) != RRTL_VERSION {
        return Err(bad_version(
            name,
            offset.into(),
            "Rrtl",
            RRTL_VERSION,
            arr4(slot, 4),
        ));
    }
    let problem = |p: String| ContainerError::BadRedirectionTable {
        container: name.clone(),
        offset: offset.into(),
        problem: p,
    };
    let count = le_u32(slot, 8) as usize;
    let entry_size = le_u32(slot, 0x0C);
    if entry_size != 8 {
        return Err(problem(format!("entry size is {entry_size}, expected 8")));
    }
    if count > RedirectionTable::CAPACITY {
        return Err(problem(format!(
            "entry count {count} exceeds the {} that fit in one 4 KiB slot",
            RedirectionTable::CAPACITY
        )));
    }
    let mut entries = Vec::with_capacity(count);
    for i in 0..count {
        let e = RedirectionTable::HEADER_SIZE + 8 * i;
        let (id, off) = (le_u32(slot, e), le_u32(slot, e + 4));
        if let Some(&(prev, _)) = entries.last()
            && id <= prev
        {
            return Err(problem(format!(
                "entry {i} at +{e:#x}: local id {id} is not above the previous {prev} (entries must be sorted)"
            )));
        }
        if u64::from(off) < u64::from(FIRST_RECORD_OFFSET)
            || u64::from(off) >= vdl
            || off % RECORD_ALIGN != 0
        {
            return Err(problem(format!(
                "entry {i} at +{e:#x}: offset {off:#x} of local id {id} is outside the records area 0x5000..{vdl:#x} or unaligned"
            )));
        }
        entries.push((id, off));
    }
    Ok(RedirectionTable {
        version: RRTL_VERSION,
        entry_size,
        unknown_10: le_u64(slot, 0x10),
        entries,
    })
}

pub(super) fn bad_magic(
    name: &Arc<str>,
    offset: u64,
    expected: [u8; 4],
    actual: &[u8],
) -> ContainerError {
    ContainerError::BadMagic {
        container: name.clone(),
        offset,
        expected: String::from_utf8_lossy(&expected).into_owned(),
        actual: String::from_utf8_lossy(actual).into_owned(),
    }
}

pub(super) fn bad_version(
    name: &Arc<str>,
    offset: u64,
    what: &'static str,
    expected: [u8; 4],
    actual: [u8; 4],
) -> ContainerError {
    ContainerError::BadVersion {
        container: name.clone(),
        offset,
        what,
        expected: hex(&expected),
        actual: hex(&actual),
    }
}
