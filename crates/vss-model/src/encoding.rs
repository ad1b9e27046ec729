//! Encoding sniffing for saved VSS documents (docs/vss-restore.md §1.4).
//!
//! `SaveAsXML` returns a BSTR (UTF-16). Tools store it differently: diskshadow wrote plain
//! ASCII without declaration, BETest writes the raw UTF-16LE string without BOM. We accept:
//! UTF-8 (with or without BOM, with or without declaration), UTF-16LE and UTF-16BE with a
//! BOM, and UTF-16LE/BE *without* BOM, recognised by the NUL byte pattern of the first
//! non-blank character (`<` is 0x3C: `3C 00` is LE, `00 3C` is BE).

use std::borrow::Cow;

use crate::error::ReadError;

/// The encoding [`decode_document`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum TextEncoding {
    /// UTF-8 (includes plain ASCII).
    Utf8,
    /// UTF-8 with a byte-order mark.
    Utf8Bom,
    /// UTF-16 little-endian with a BOM.
    Utf16LeBom,
    /// UTF-16 little-endian without a BOM (as `SaveAsXML` text is written raw).
    Utf16Le,
    /// UTF-16 big-endian with a BOM.
    Utf16BeBom,
    /// UTF-16 big-endian without a BOM.
    Utf16Be,
}

/// Decodes the bytes of a saved document into text, sniffing the encoding.
///
/// Never panics; invalid UTF-8 / unpaired surrogates / an odd UTF-16 length are errors.
pub fn decode_document(bytes: &[u8]) -> Result<(Cow<'_, str>, TextEncoding), ReadError> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest).map(|s| (Cow::Borrowed(s), TextEncoding::Utf8Bom));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, false).map(|s| (Cow::Owned(s), TextEncoding::Utf16LeBom));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, true).map(|s| (Cow::Owned(s), TextEncoding::Utf16BeBom));
    }
    // No BOM: look at the first two bytes that are not ASCII blanks in UTF-16 form.
    if bytes.len() >= 2 {
        let first = bytes.chunks_exact(2).find(|pair| match pair {
            [a, 0] | [0, a] => !matches!(a, b' ' | b'\t' | b'\r' | b'\n'),
            _ => true,
        });
        match first {
            Some([b'<', 0]) => {
                return utf16(bytes, false).map(|s| (Cow::Owned(s), TextEncoding::Utf16Le));
            }
            Some([0, b'<']) => {
                return utf16(bytes, true).map(|s| (Cow::Owned(s), TextEncoding::Utf16Be));
            }
            _ => {}
        }
    }
    utf8(bytes).map(|s| (Cow::Borrowed(s), TextEncoding::Utf8))
}

fn utf8(bytes: &[u8]) -> Result<&str, ReadError> {
    std::str::from_utf8(bytes).map_err(|e| ReadError::Encoding {
        reason: format!("invalid UTF-8 at byte {:#x}", e.valid_up_to()),
    })
}

fn utf16(bytes: &[u8], big_endian: bool) -> Result<String, ReadError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(ReadError::Encoding {
            reason: format!("UTF-16 text has an odd length ({} bytes)", bytes.len()),
        });
    }
    let units = bytes.chunks_exact(2).map(|p| {
        if big_endian {
            u16::from_be_bytes([p[0], p[1]])
        } else {
            u16::from_le_bytes([p[0], p[1]])
        }
    });
    let mut out = String::with_capacity(bytes.len() / 2);
    for (i, c) in char::decode_utf16(units).enumerate() {
        match c {
            Ok(c) => out.push(c),
            Err(_) => {
                return Err(ReadError::Encoding {
                    reason: format!("unpaired UTF-16 surrogate at character {i}"),
                });
            }
        }
    }
    Ok(out)
}

/// Encodes text as UTF-16LE without BOM, the form `SaveAsXML` text takes when written raw.
#[must_use]
pub fn encode_utf16le(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2);
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}
