//! Partial-file ranges (docs/vss-restore.md §5): the `AddPartialFile` range string and the binary ranges
//! file.
//!
//! * Range string: `offset:length` pairs separated by commas; blanks (space, tab) are allowed
//!   around every number and separator; each number is decimal, or hexadecimal with a `0x` /
//!   `0X` prefix; 64-bit unsigned. A leading `0` does **not** mean octal (BETest's `wcstoul`
//!   base-0 reading would; docs/vss-restore.md §4). `offset + length` must not overflow. An empty list is an
//!   error; so is an empty item (`1:2,,3:4`, a trailing comma).
//! * Ranges file: a little-endian `u64` count, then `count` pairs of little-endian `u64`
//!   (offset, length). The file size must be exactly `8 + 16 * count`; the size is checked
//!   before anything is allocated, so a hostile count cannot cause a huge allocation.
//!
//! Zero-length ranges are accepted (a directed target renames an empty file as `0:0`).

use std::fmt;

use thiserror::Error;

/// One backed-up byte range of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Range {
    /// Offset of the first byte.
    pub offset: u64,
    /// Number of bytes.
    pub length: u64,
}

impl Range {
    /// The offset one past the last byte (never overflows for a parsed range).
    #[must_use]
    pub fn end(self) -> u64 {
        self.offset.saturating_add(self.length)
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.offset, self.length)
    }
}

/// Why a range string could not be read. Positions are byte offsets into the string.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RangeListError {
    /// Nothing but blanks.
    #[error("empty range list: expected at least one offset:length pair")]
    Empty,
    /// An item between commas is empty.
    #[error("empty range at byte {position}: expected offset:length")]
    EmptyItem {
        /// Where the item should start.
        position: usize,
    },
    /// An item has no `:`.
    #[error("range at byte {position} has no ':': expected offset:length")]
    MissingColon {
        /// Where the item starts.
        position: usize,
    },
    /// A number is malformed.
    #[error("bad number {text:?} at byte {position}: expected decimal or 0x-prefixed hex")]
    BadNumber {
        /// Where the number starts.
        position: usize,
        /// The offending text (clipped).
        text: String,
    },
    /// A number does not fit in 64 bits.
    #[error("number at byte {position} does not fit in 64 bits")]
    TooLarge {
        /// Where the number starts.
        position: usize,
    },
    /// `offset + length` overflows 64 bits.
    #[error("range at byte {position}: offset {offset} + length {length} overflows 64 bits")]
    Overflow {
        /// Where the item starts.
        position: usize,
        /// The offset.
        offset: u64,
        /// The length.
        length: u64,
    },
}

/// Why a binary ranges file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RangesFileError {
    /// Shorter than the 8-byte count.
    #[error("ranges file is {size} bytes: expected at least the 8-byte count")]
    TooShort {
        /// File size.
        size: usize,
    },
    /// The size does not match the count.
    #[error("ranges file declares {count} ranges (needs {expected} bytes) but is {size} bytes")]
    SizeMismatch {
        /// The declared count.
        count: u64,
        /// `8 + 16 * count`, saturated.
        expected: u128,
        /// The actual size.
        size: usize,
    },
    /// The count is zero.
    #[error("ranges file declares no ranges")]
    Empty,
    /// A range's `offset + length` overflows.
    #[error("range {index} (at byte {position:#x}): offset {offset} + length {length} overflows")]
    Overflow {
        /// Index of the range.
        index: usize,
        /// Byte offset of the pair.
        position: usize,
        /// The offset.
        offset: u64,
        /// The length.
        length: u64,
    },
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Parses a number token whose first byte is at `position` (blanks already trimmed).
fn number(token: &str, position: usize) -> Result<u64, RangeListError> {
    let bad = || RangeListError::BadNumber {
        position,
        text: crate::error::clip(token),
    };
    let (digits, radix) = match token
        .strip_prefix("0x")
        .or_else(|| token.strip_prefix("0X"))
    {
        Some(hex) => (hex, 16),
        None => (token, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(bad());
    }
    u64::from_str_radix(digits, radix).map_err(|_| RangeListError::TooLarge { position })
}

/// Parses an `AddPartialFile` range string such as `0x0:0x1000, 8192:4096`.
pub fn parse_range_list(text: &str) -> Result<Vec<Range>, RangeListError> {
    if text.chars().all(is_blank) {
        return Err(RangeListError::Empty);
    }
    let mut out = Vec::new();
    let mut start = 0usize;
    for item in text.split(',') {
        let lead = item.len() - item.trim_start_matches(is_blank).len();
        let body = item.trim_matches(is_blank);
        let item_pos = start + lead;
        if body.is_empty() {
            return Err(RangeListError::EmptyItem { position: item_pos });
        }
        let Some(colon) = body.find(':') else {
            return Err(RangeListError::MissingColon { position: item_pos });
        };
        let (off_raw, len_raw) = (&body[..colon], &body[colon + 1..]);
        let off_tok = off_raw.trim_end_matches(is_blank);
        let len_lead = len_raw.len() - len_raw.trim_start_matches(is_blank).len();
        let len_tok = len_raw.trim_matches(is_blank);
        let len_pos = item_pos + colon + 1 + len_lead;
        let offset = number(off_tok, item_pos)?;
        let length = number(len_tok, len_pos)?;
        if offset.checked_add(length).is_none() {
            return Err(RangeListError::Overflow {
                position: item_pos,
                offset,
                length,
            });
        }
        out.push(Range { offset, length });
        start += item.len() + 1;
    }
    Ok(out)
}

/// Writes a range string in the documented form (`offset:length, offset:length`, decimal).
#[must_use]
pub fn format_range_list(ranges: &[Range]) -> String {
    ranges
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a binary ranges file.
pub fn parse_ranges_file(bytes: &[u8]) -> Result<Vec<Range>, RangesFileError> {
    let Some((count_bytes, body)) = bytes.split_first_chunk::<8>() else {
        return Err(RangesFileError::TooShort { size: bytes.len() });
    };
    let count = u64::from_le_bytes(*count_bytes);
    let expected = 8u128 + 16u128 * u128::from(count);
    if u128::try_from(bytes.len()).ok() != Some(expected) {
        return Err(RangesFileError::SizeMismatch {
            count,
            expected,
            size: bytes.len(),
        });
    }
    if count == 0 {
        return Err(RangesFileError::Empty);
    }
    // The size check above bounds the allocation by the input length.
    let mut out = Vec::with_capacity(body.len() / 16);
    for (index, pair) in body.chunks_exact(16).enumerate() {
        let (o, l) = pair.split_at(8);
        let offset = u64::from_le_bytes(o.try_into().unwrap_or([0; 8]));
        let length = u64::from_le_bytes(l.try_into().unwrap_or([0; 8]));
        if offset.checked_add(length).is_none() {
            return Err(RangesFileError::Overflow {
                index,
                position: 8 + index * 16,
                offset,
                length,
            });
        }
        out.push(Range { offset, length });
    }
    Ok(out)
}

/// Writes a binary ranges file.
#[must_use]
pub fn write_ranges_file(ranges: &[Range]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 16 * ranges.len());
    out.extend_from_slice(&(ranges.len() as u64).to_le_bytes());
    for r in ranges {
        out.extend_from_slice(&r.offset.to_le_bytes());
        out.extend_from_slice(&r.length.to_le_bytes());
    }
    out
}

/// What an `AddPartialFile` ranges attribute holds: a list, or the path of a ranges file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum PartialRanges {
    /// An inline range list.
    List(Vec<Range>),
    /// The path of a binary ranges file (to be read by the caller and given to
    /// [`parse_ranges_file`]).
    File(String),
}

/// Tells a range list from a ranges-file path (docs/vss-restore.md §5, §6 item 3: the rule is not
/// documented). Ours: a `File=` prefix (BETest's convention) or text containing `\` or `/`
/// is a path; anything else must parse as a range list.
pub fn classify_ranges(text: &str) -> Result<PartialRanges, RangeListError> {
    if let Some(path) = text.strip_prefix("File=") {
        return Ok(PartialRanges::File(path.to_owned()));
    }
    if text.contains('\\') || text.contains('/') {
        return Ok(PartialRanges::File(text.to_owned()));
    }
    parse_range_list(text).map(PartialRanges::List)
}

/// The largest file NTFS holds: 256 TiB minus 64 KiB (Microsoft, "NTFS overview", maximum file
/// size, Windows Server 2019 / Windows 10 1709 and later; CONFIRMED). A directed target's
/// destination range past this cannot be written on Windows and is refused here.
pub const MAX_FILE_SIZE: u64 = (1 << 48) - (64 << 10);

/// Why a directed target's ranges cannot be applied (checked the same way by a dry run and by
/// the restore, before anything is written).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DirectedError {
    /// The two lists cover different numbers of bytes.
    #[error(
        "directed target: source ranges cover {source_bytes} bytes but destination ranges {destination_bytes}"
    )]
    Lengths {
        /// Bytes the source ranges cover.
        source_bytes: u64,
        /// Bytes the destination ranges cover.
        destination_bytes: u64,
    },
    /// A source range reads past the end of the backed-up file.
    #[error("directed target: source range {range} ends past the backed-up file ({size} bytes)")]
    SourcePastEnd {
        /// The range.
        range: Range,
        /// The backed-up file's size.
        size: u64,
    },
    /// A destination range ends past the largest file NTFS holds.
    #[error(
        "directed target: destination range {range} ends past {max} bytes, the largest file NTFS holds"
    )]
    DestinationTooLarge {
        /// The range.
        range: Range,
        /// [`MAX_FILE_SIZE`].
        max: u64,
    },
}

/// Checks a directed target's source and destination ranges and pairs them into
/// `(source offset, destination offset, length)` copies: the lists must cover the same number
/// of bytes, every source range must lie within the backed-up file (`source_len`, when known)
/// and every destination range within [`MAX_FILE_SIZE`]. Nothing is allocated per byte: a
/// destination far into a file is a hole for the writer to leave.
pub fn pair_directed(
    source: &[Range],
    destination: &[Range],
    source_len: Option<u64>,
) -> Result<Vec<(u64, u64, u64)>, DirectedError> {
    if let Some(size) = source_len
        && let Some(&range) = source.iter().find(|r| r.end() > size)
    {
        return Err(DirectedError::SourcePastEnd { range, size });
    }
    if let Some(&range) = destination.iter().find(|r| r.end() > MAX_FILE_SIZE) {
        return Err(DirectedError::DestinationTooLarge {
            range,
            max: MAX_FILE_SIZE,
        });
    }
    let total = |r: &[Range]| r.iter().fold(0u64, |a, x| a.saturating_add(x.length));
    if total(source) != total(destination) {
        return Err(DirectedError::Lengths {
            source_bytes: total(source),
            destination_bytes: total(destination),
        });
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    let (mut si, mut dj) = (0u64, 0u64);
    while i < source.len() && j < destination.len() {
        let (s, d) = (source[i], destination[j]);
        let n = (s.length - si).min(d.length - dj);
        if n > 0 {
            out.push((s.offset + si, d.offset + dj, n));
        }
        si += n;
        dj += n;
        if si == s.length {
            i += 1;
            si = 0;
        }
        if dj == d.length {
            j += 1;
            dj = 0;
        }
    }
    Ok(out)
}
