//! GUIDs as they appear in VSS documents (docs/vss-restore.md §1.4: no braces, mixed case in WMDs, lower case
//! in BCDs; compare case-insensitively).

use std::fmt;
use std::str::FromStr;

/// A GUID, compared by value (so case and braces do not matter).
///
/// Displayed in the BCD's form: lower case, no braces.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(pub u128);

/// The text is not a GUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a GUID (expected 8-4-4-4-12 hex digits, braces optional)")]
pub struct GuidError;

impl FromStr for Guid {
    type Err = GuidError;

    fn from_str(s: &str) -> Result<Self, GuidError> {
        let s = s.trim();
        let s = match (s.strip_prefix('{'), s.ends_with('}')) {
            (Some(inner), true) => &inner[..inner.len() - 1],
            (None, false) => s,
            _ => return Err(GuidError),
        };
        let bytes = s.as_bytes();
        if bytes.len() != 36 {
            return Err(GuidError);
        }
        let mut value: u128 = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if b != b'-' {
                    return Err(GuidError);
                }
                continue;
            }
            let digit = char::from(b).to_digit(16).ok_or(GuidError)?;
            value = (value << 4) | u128::from(digit);
        }
        Ok(Self(value))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            (v >> 96) as u32,
            (v >> 80) as u16,
            (v >> 64) as u16,
            (v >> 48) as u16,
            v & 0xFFFF_FFFF_FFFF
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

impl serde::Serialize for Guid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
