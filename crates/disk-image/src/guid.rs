//! GUIDs as Windows stores them: `Data1` (u32), `Data2`, `Data3` (u16) little-endian, then
//! `Data4` as 8 bytes (Microsoft "GUID structure"; MS-DTYP 2.3.4.2).

use std::fmt::Write as _;

/// The 16 on-disk bytes of the GUID `d1-d2-d3-d4`.
pub(crate) const fn guid(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> [u8; 16] {
    let a = d1.to_le_bytes();
    let b = d2.to_le_bytes();
    let c = d3.to_le_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4], d4[5],
        d4[6], d4[7],
    ]
}

/// `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` of on-disk bytes, upper case.
pub(crate) fn to_string(g: &[u8; 16]) -> String {
    let d1 = u32::from_le_bytes([g[0], g[1], g[2], g[3]]);
    let d2 = u16::from_le_bytes([g[4], g[5]]);
    let d3 = u16::from_le_bytes([g[6], g[7]]);
    let tail = g[10..].iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    });
    format!(
        "{{{d1:08X}-{d2:04X}-{d3:04X}-{:02X}{:02X}-{tail}}}",
        g[8], g[9]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_textual_form() {
        let g = guid(
            0x2DC2_7766,
            0xF623,
            0x4200,
            [0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08],
        );
        assert_eq!(g[..4], [0x66, 0x77, 0xC2, 0x2D]);
        assert_eq!(to_string(&g), "{2DC27766-F623-4200-9D64-115E9BFD4A08}");
    }
}
