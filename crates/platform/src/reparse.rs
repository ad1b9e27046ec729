//! The one home of Windows' rules for a `REPARSE_DATA_BUFFER` given to
//! `FSCTL_SET_REPARSE_POINT`: every [`crate::Volume`] implementation (the host folder, the
//! simulator, real Windows) checks a buffer with [`validate_buffer`] before setting it, so the
//! three refuse exactly the same inputs.
//!
//! Layouts (Microsoft `ntifs.h` / `winnt.h`, "REPARSE_DATA_BUFFER" and
//! "REPARSE_GUID_DATA_BUFFER" in the Windows driver documentation):
//!
//! ```text
//! Microsoft tag (bit 31 set)           other tag (bit 31 clear)
//! 0  u32 ReparseTag                    0  u32 ReparseTag
//! 4  u16 ReparseDataLength             4  u16 ReparseDataLength
//! 6  u16 Reserved                      6  u16 Reserved
//! 8  data (ReparseDataLength bytes)    8  GUID ReparseGuid (16 bytes)
//!                                      24 data (ReparseDataLength bytes)
//! ```
//!
//! The whole buffer is at most `MAXIMUM_REPARSE_DATA_BUFFER_SIZE` (16 KiB), and tags 0 and 1
//! (`IO_REPARSE_TAG_RESERVED_ZERO` / `_ONE`) are refused.

/// `MAXIMUM_REPARSE_DATA_BUFFER_SIZE` (16 KiB): the largest buffer, header included.
pub const MAX_REPARSE_BUFFER: usize = 16 * 1024;
/// Size of the `REPARSE_DATA_BUFFER` header (tag, length, reserved).
pub const HEADER_LEN: usize = 8;
/// Size of the `REPARSE_GUID_DATA_BUFFER` header (the 8-byte header, then a 16-byte GUID).
pub const GUID_HEADER_LEN: usize = 24;
/// Bit 31 of a reparse tag: set for tags Microsoft owns (`IsReparseTagMicrosoft`).
pub const MICROSOFT_TAG_BIT: u32 = 0x8000_0000;

/// Why a buffer is not a well-formed reparse buffer ([`validate_buffer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidReparse {
    /// Fewer bytes than the 8-byte header.
    TooShort,
    /// More than [`MAX_REPARSE_BUFFER`] bytes.
    TooLong,
    /// Tag 0 or 1 (`IO_REPARSE_TAG_RESERVED_ZERO` / `IO_REPARSE_TAG_RESERVED_ONE`).
    ReservedTag,
    /// A non-Microsoft tag without room for the GUID of `REPARSE_GUID_DATA_BUFFER`.
    NoGuid,
    /// `ReparseDataLength` plus the header is not the buffer's length.
    LengthMismatch,
}

impl InvalidReparse {
    /// The reason as a static string (what [`crate::Error::InvalidReparseData`] carries).
    #[must_use]
    pub fn reason(self) -> &'static str {
        match self {
            Self::TooShort => "shorter than the 8-byte REPARSE_DATA_BUFFER header",
            Self::TooLong => "longer than MAXIMUM_REPARSE_DATA_BUFFER_SIZE (16 KiB)",
            Self::ReservedTag => "reserved reparse tag",
            Self::NoGuid => "a non-Microsoft tag needs the 24-byte REPARSE_GUID_DATA_BUFFER header",
            Self::LengthMismatch => "ReparseDataLength does not match the buffer length",
        }
    }
}

impl std::fmt::Display for InvalidReparse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for InvalidReparse {}

/// The tag of a reparse buffer: its first four bytes, little-endian (`None` if shorter).
#[must_use]
pub fn tag(buffer: &[u8]) -> Option<u32> {
    buffer
        .get(..4)
        .map(|t| u32::from_le_bytes([t[0], t[1], t[2], t[3]]))
}

/// Whether `tag` is a Microsoft tag (bit 31 set), whose buffer has the 8-byte header only.
#[must_use]
pub fn is_microsoft_tag(tag: u32) -> bool {
    tag & MICROSOFT_TAG_BIT != 0
}

/// The header length of a buffer with `tag`: [`HEADER_LEN`] for a Microsoft tag,
/// [`GUID_HEADER_LEN`] for any other.
#[must_use]
pub fn header_len(tag: u32) -> usize {
    if is_microsoft_tag(tag) {
        HEADER_LEN
    } else {
        GUID_HEADER_LEN
    }
}

/// Checks a buffer given to `FSCTL_SET_REPARSE_POINT`: at least the 8-byte header, at most
/// [`MAX_REPARSE_BUFFER`], not a reserved tag (0 or 1), the 24-byte GUID header for a
/// non-Microsoft tag, and `ReparseDataLength` matching the bytes after the header. Returns the
/// tag.
///
/// Replacing an existing reparse point with another tag is a separate rule (the caller knows
/// the existing point): `ERROR_REPARSE_TAG_MISMATCH`, [`crate::Error::ReparseTagMismatch`].
pub fn validate_buffer(buffer: &[u8]) -> Result<u32, InvalidReparse> {
    let Some(tag) = tag(buffer).filter(|_| buffer.len() >= HEADER_LEN) else {
        return Err(InvalidReparse::TooShort);
    };
    if buffer.len() > MAX_REPARSE_BUFFER {
        return Err(InvalidReparse::TooLong);
    }
    if tag == 0 || tag == 1 {
        return Err(InvalidReparse::ReservedTag);
    }
    let header = header_len(tag);
    if buffer.len() < header {
        return Err(InvalidReparse::NoGuid);
    }
    let data_len = usize::from(u16::from_le_bytes([buffer[4], buffer[5]]));
    if header + data_len != buffer.len() {
        return Err(InvalidReparse::LengthMismatch);
    }
    Ok(tag)
}

/// Checks a `FSCTL_SET_REPARSE_POINT` of `buffer` on the file at `path`, whose reparse point
/// today is `existing` (`None`: it has none). The buffer must pass [`validate_buffer`]
/// ([`crate::Error::InvalidReparseData`]), and a file that already has a reparse point keeps
/// its tag: setting another one fails with `ERROR_REPARSE_TAG_MISMATCH`
/// ([`crate::Error::ReparseTagMismatch`]; "FSCTL_SET_REPARSE_POINT" in the Windows driver
/// documentation: "the reparse tag ... must match the tag of the existing reparse point").
/// Returns the buffer's tag. Every `Volume` implementation calls this and only this.
pub fn check_set(
    path: impl Fn() -> crate::WinPath,
    buffer: &[u8],
    existing: Option<&[u8]>,
) -> Result<u32, crate::Error> {
    let given = validate_buffer(buffer).map_err(|e| crate::Error::InvalidReparseData {
        path: path(),
        reason: e.reason(),
    })?;
    match existing.and_then(tag) {
        Some(existing) if existing != given => Err(crate::Error::ReparseTagMismatch {
            path: path(),
            existing,
            given,
        }),
        _ => Ok(given),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A buffer with `tag`, the GUID 1..=16 when the tag needs one, and `data`.
    fn buffer(tag: u32, data: &[u8]) -> Vec<u8> {
        let mut b = tag.to_le_bytes().to_vec();
        b.extend_from_slice(&u16::try_from(data.len()).unwrap().to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        if !is_microsoft_tag(tag) {
            b.extend(1..=16u8);
        }
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn microsoft_tag_with_data_is_valid() {
        assert_eq!(
            validate_buffer(&buffer(0x8000_0013, &[1, 2, 3, 4])),
            Ok(0x8000_0013)
        );
        // The header alone (no data) is a valid buffer too.
        assert_eq!(validate_buffer(&buffer(0xA000_000C, &[])), Ok(0xA000_000C));
    }

    #[test]
    fn shorter_than_header_is_refused() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                validate_buffer(&vec![0x13; len]),
                Err(InvalidReparse::TooShort)
            );
        }
    }

    #[test]
    fn longer_than_16_kib_is_refused() {
        let max = buffer(0x8000_0013, &vec![7; MAX_REPARSE_BUFFER - HEADER_LEN]);
        assert_eq!(max.len(), MAX_REPARSE_BUFFER);
        assert_eq!(validate_buffer(&max), Ok(0x8000_0013));
        let mut over = max;
        over.push(0);
        assert_eq!(validate_buffer(&over), Err(InvalidReparse::TooLong));
    }

    #[test]
    fn reserved_tags_are_refused() {
        for t in [0, 1] {
            let mut b = buffer(t, &[1, 2]);
            assert_eq!(validate_buffer(&b), Err(InvalidReparse::ReservedTag));
            b.truncate(HEADER_LEN);
            assert_eq!(validate_buffer(&b), Err(InvalidReparse::ReservedTag));
        }
        assert_eq!(validate_buffer(&buffer(2, &[])), Ok(2));
    }

    #[test]
    fn data_length_must_match() {
        let mut b = buffer(0x8000_0013, &[1, 2, 3, 4]);
        b[4] = 5;
        assert_eq!(validate_buffer(&b), Err(InvalidReparse::LengthMismatch));
        b[4] = 3;
        assert_eq!(validate_buffer(&b), Err(InvalidReparse::LengthMismatch));
        // The length is a u16 at offset 4; the reserved u16 at 6 is not part of it.
        let mut r = buffer(0x8000_0013, &[1]);
        r[6] = 0xFF;
        assert_eq!(validate_buffer(&r), Ok(0x8000_0013));
    }

    #[test]
    fn non_microsoft_tag_needs_guid_header() {
        // Bit 31 clear: ReparseDataLength counts the bytes after the 16-byte GUID.
        let g = buffer(0x0000_0007, &[9, 9]);
        assert_eq!(g.len(), GUID_HEADER_LEN + 2);
        assert_eq!(validate_buffer(&g), Ok(7));
        // The 8-byte form of the same tag is refused, whatever its length field says.
        assert_eq!(
            validate_buffer(&[0x07, 0, 0, 0, 0, 0, 0, 0]),
            Err(InvalidReparse::NoGuid)
        );
        assert_eq!(
            validate_buffer(&[0x07, 0, 0, 0, 2, 0, 0, 0, 9, 9]),
            Err(InvalidReparse::NoGuid)
        );
        // Counting the GUID in ReparseDataLength is a length mismatch.
        let mut counted = g;
        counted[4] = 18;
        assert_eq!(
            validate_buffer(&counted),
            Err(InvalidReparse::LengthMismatch)
        );
    }

    #[test]
    fn tag_and_header_helpers() {
        assert_eq!(tag(&[0x13, 0, 0, 0x80]), Some(0x8000_0013));
        assert_eq!(tag(&[0x13, 0, 0]), None);
        assert!(is_microsoft_tag(0x8000_0013) && !is_microsoft_tag(0x7FFF_FFFF));
        assert_eq!(header_len(0xA000_000C), HEADER_LEN);
        assert_eq!(header_len(7), GUID_HEADER_LEN);
    }

    #[test]
    fn replacing_keeps_the_tag() {
        let p = || crate::WinPath::new("\\f").unwrap();
        let dedup = buffer(0x8000_0013, &[1, 2, 3, 4]);
        let symlink = buffer(0xA000_000C, &[0; 12]);
        assert!(matches!(check_set(p, &dedup, None), Ok(0x8000_0013)));
        assert!(matches!(
            check_set(p, &dedup, Some(&dedup)),
            Ok(0x8000_0013)
        ));
        assert!(matches!(
            check_set(p, &symlink, Some(&dedup)),
            Err(crate::Error::ReparseTagMismatch {
                existing: 0x8000_0013,
                given: 0xA000_000C,
                ..
            })
        ));
        // An invalid buffer is refused before the tags are compared.
        assert!(matches!(
            check_set(p, &[0x13, 0, 0, 0x80], Some(&dedup)),
            Err(crate::Error::InvalidReparseData { .. })
        ));
    }
}
