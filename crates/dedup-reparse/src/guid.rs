//! Windows GUIDs as stored on disk.
//!
//! Layout (Microsoft `GUID` struct, CONFIRMED): `Data1` u32 little-endian, `Data2` u16 LE,
//! `Data3` u16 LE, `Data4` 8 bytes in order. The textual form prints `Data1..Data3` as numbers,
//! so the first 8 bytes appear byte-swapped relative to the disk ("mixed-endian"). Spec §1.6 and
//! the TNF dump: bytes `fa 7b 1b 5d 3e b7 a0 42 95 cb 91 ce 19 21 cf b2` are
//! `{5D1B7BFA-B73E-42A0-95CB-91CE1921CFB2}`.

use std::fmt;
use std::str::FromStr;

/// A GUID in its 16-byte on-disk form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// The all-zero GUID.
    pub const NIL: Self = Self([0; 16]);

    /// Builds a GUID from its numeric fields (as printed: `{d1-d2-d3-d4[0..2]-d4[2..8]}`).
    #[must_use]
    pub fn from_fields(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Self {
        let mut b = [0u8; 16];
        b[0..4].copy_from_slice(&d1.to_le_bytes());
        b[4..6].copy_from_slice(&d2.to_le_bytes());
        b[6..8].copy_from_slice(&d3.to_le_bytes());
        b[8..16].copy_from_slice(&d4);
        Self(b)
    }

    /// The numeric fields `(Data1, Data2, Data3, Data4)`.
    #[must_use]
    pub fn fields(&self) -> (u32, u16, u16, [u8; 8]) {
        let b = &self.0;
        let mut d4 = [0u8; 8];
        d4.copy_from_slice(&b[8..16]);
        (
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u16::from_le_bytes([b[4], b[5]]),
            u16::from_le_bytes([b[6], b[7]]),
            d4,
        )
    }

    /// The on-disk bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for Guid {
    /// Windows registry form, upper-case with braces: `{5D1B7BFA-B73E-42A0-95CB-91CE1921CFB2}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (d1, d2, d3, d4) = self.fields();
        write!(
            f,
            "{{{d1:08X}-{d2:04X}-{d3:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}}}",
            d4[0], d4[1], d4[2], d4[3], d4[4], d4[5], d4[6], d4[7]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

/// Error of [`Guid::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid GUID text {text:?}: expected XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX, optionally in braces"
)]
pub struct GuidParseError {
    /// The rejected text.
    pub text: String,
}

impl FromStr for Guid {
    type Err = GuidParseError;

    /// Accepts `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` or the same without braces, any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || GuidParseError { text: s.to_owned() };
        let inner = match (s.strip_prefix('{'), s.strip_suffix('}')) {
            (Some(_), Some(_)) if s.len() >= 2 => &s[1..s.len() - 1],
            (None, None) => s,
            _ => return Err(err()),
        };
        let groups: Vec<&str> = inner.split('-').collect();
        let lens = [8usize, 4, 4, 4, 12];
        if groups.len() != 5
            || groups
                .iter()
                .zip(lens)
                .any(|(g, l)| g.len() != l || !g.bytes().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(err());
        }
        let d1 = u32::from_str_radix(groups[0], 16).map_err(|_| err())?;
        let d2 = u16::from_str_radix(groups[1], 16).map_err(|_| err())?;
        let d3 = u16::from_str_radix(groups[2], 16).map_err(|_| err())?;
        let tail = format!("{}{}", groups[3], groups[4]);
        let mut d4 = [0u8; 8];
        for (i, byte) in d4.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&tail[2 * i..2 * i + 2], 16).map_err(|_| err())?;
        }
        Ok(Self::from_fields(d1, d2, d3, d4))
    }
}
