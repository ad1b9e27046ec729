//! Hand-built streams: every error variant with its positions, the shared half-byte rule,
//! every length-extension width, and the end-of-stream rules (MS-XCA §2.4).

use xpress::{DecompressError, Field, decompress};

/// Builds streams token by token, like the MS-XCA encoder: a flag word is reserved, tokens
/// follow, the word is written when it holds 32 flags. `finish` pads with 1 bits.
struct Builder {
    out: Vec<u8>,
    flag_pos: usize,
    flags: u32,
    n: u32,
}

impl Builder {
    fn new() -> Self {
        Builder {
            out: vec![0; 4],
            flag_pos: 0,
            flags: 0,
            n: 0,
        }
    }
    fn flag(&mut self, bit: u32) {
        self.flags = self.flags << 1 | bit;
        self.n += 1;
        if self.n == 32 {
            self.out[self.flag_pos..self.flag_pos + 4].copy_from_slice(&self.flags.to_le_bytes());
            self.flag_pos = self.out.len();
            self.out.extend_from_slice(&[0; 4]);
            self.n = 0;
            self.flags = 0;
        }
    }
    fn lit(&mut self, b: u8) -> &mut Self {
        self.out.push(b);
        self.flag(0);
        self
    }
    fn lits(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            self.lit(b);
        }
        self
    }
    /// A match token with a raw 3-bit length field, followed by raw extension bytes.
    fn raw_match(&mut self, offset: u16, len_field: u16, ext: &[u8]) -> &mut Self {
        self.out
            .extend_from_slice(&(((offset - 1) << 3) | len_field).to_le_bytes());
        self.out.extend_from_slice(ext);
        self.flag(1);
        self
    }
    /// Bytes as they stand, flag word not yet written unless full (for truncation tests the
    /// current flag word is written first with the given flags so far, padded with 1s).
    fn finish(&mut self) -> Vec<u8> {
        let unused = 32 - self.n;
        let f = ((u64::from(self.flags) << unused) | ((1u64 << unused) - 1)) as u32;
        self.out[self.flag_pos..self.flag_pos + 4].copy_from_slice(&f.to_le_bytes());
        self.out.clone()
    }
}

fn decode(input: &[u8], cap: usize) -> Result<Vec<u8>, DecompressError> {
    let mut out = vec![0u8; cap];
    let n = decompress(input, &mut out)?;
    out.truncate(n);
    Ok(out)
}

#[test]
fn end_of_stream_rules() {
    assert_eq!(decode(&[], 10), Ok(vec![]));
    // Ends right after a flag word, whatever its bits.
    assert_eq!(decode(&[0, 0, 0, 0], 10), Ok(vec![]));
    assert_eq!(decode(&[0xff; 4], 10), Ok(vec![]));
    // Ends inside a run of literal flags: a token boundary.
    assert_eq!(decode(&[0, 0, 0, 0, b'x', b'y'], 10), Ok(b"xy".to_vec()));
    // Exactly 32 literals, then the input ends before the next flag word.
    let mut s = vec![0, 0, 0, 0];
    s.extend_from_slice(&[b'q'; 32]);
    assert_eq!(decode(&s, 40), Ok(vec![b'q'; 32]));
}

#[test]
fn underrun_in_every_field() {
    let u = |input_pos, output_pos, field, needed, available| DecompressError::Underrun {
        input_pos,
        output_pos,
        field,
        needed,
        available,
    };
    assert_eq!(decode(&[1, 2], 10), Err(u(0, 0, Field::FlagWord, 4, 2)));

    // Second flag word cut short, after 32 literals.
    let mut s = vec![0, 0, 0, 0];
    s.extend_from_slice(&[b'q'; 32]);
    s.extend_from_slice(&[0, 0, 0]);
    assert_eq!(decode(&s, 64), Err(u(36, 32, Field::FlagWord, 4, 3)));

    let full = Builder::new()
        .lit(b'a')
        .raw_match(1, 7, &[0x0f, 255, 0, 0, 0x30, 0, 0, 0])
        .finish();
    // flag word (0..4), 'a' (4), token (5..7), half-byte (7), byte (8), u16 (9..11), u32 (11..15)
    assert_eq!(decode(&full, 100), Ok(vec![b'a'; 0x33 + 1]));
    assert_eq!(
        decode(&full[..6], 100),
        Err(u(5, 1, Field::MatchToken, 2, 1))
    );
    assert_eq!(
        decode(&full[..7], 100),
        Err(u(7, 1, Field::LengthNibble, 1, 0))
    );
    assert_eq!(
        decode(&full[..8], 100),
        Err(u(8, 1, Field::LengthByte, 1, 0))
    );
    assert_eq!(
        decode(&full[..10], 100),
        Err(u(9, 1, Field::LengthU16, 2, 1))
    );
    assert_eq!(
        decode(&full[..14], 100),
        Err(u(11, 1, Field::LengthU32, 4, 3))
    );
}

#[test]
fn overrun_of_literals_and_matches() {
    let s = Builder::new().lits(b"abc").finish();
    assert_eq!(
        decode(&s, 2),
        Err(DecompressError::Overrun {
            input_pos: 6,
            output_pos: 2,
            needed: 1,
            available: 0
        })
    );
    let s = Builder::new().lit(b'a').raw_match(1, 2, &[]).finish(); // length 5
    assert_eq!(decode(&s, 6), Ok(vec![b'a'; 6]));
    assert_eq!(
        decode(&s, 5),
        Err(DecompressError::Overrun {
            input_pos: 5,
            output_pos: 1,
            needed: 5,
            available: 4
        })
    );
    // A u32 length far beyond any buffer.
    let s = Builder::new()
        .lit(b'a')
        .raw_match(1, 7, &[0x0f, 255, 0, 0, 0xff, 0xff, 0xff, 0xff])
        .finish();
    assert_eq!(
        decode(&s, 1000),
        Err(DecompressError::Overrun {
            input_pos: 5,
            output_pos: 1,
            needed: u64::from(u32::MAX) + 3,
            available: 999
        })
    );
}

#[test]
fn offset_before_start() {
    let s = Builder::new().raw_match(1, 0, &[]).finish();
    assert_eq!(
        decode(&s, 10),
        Err(DecompressError::OffsetBeforeStart {
            input_pos: 4,
            output_pos: 0,
            offset: 1
        })
    );
    let s = Builder::new().lits(b"ab").raw_match(3, 0, &[]).finish();
    assert_eq!(
        decode(&s, 10),
        Err(DecompressError::OffsetBeforeStart {
            input_pos: 6,
            output_pos: 2,
            offset: 3
        })
    );
    // Deep in a long stream (the decoder's fast loop): 96 literals, then offset 200.
    let mut b = Builder::new();
    b.lits(&[b'z'; 96])
        .raw_match(200, 0, &[])
        .lits(&[b'y'; 600]);
    let s = b.finish();
    assert_eq!(
        decode(&s, 1000),
        Err(DecompressError::OffsetBeforeStart {
            input_pos: 3 * 36 + 4,
            output_pos: 96,
            offset: 200
        })
    );
    let e = decode(&s, 1000).unwrap_err();
    assert_eq!((e.input_pos(), e.output_pos()), (112, 96));
    assert!(e.to_string().contains("0x70"), "{e}");
}

#[test]
fn invalid_length_encoding() {
    let s = Builder::new()
        .lit(b'a')
        .raw_match(1, 7, &[0x0f, 255, 21, 0])
        .finish();
    assert_eq!(
        decode(&s, 100),
        Err(DecompressError::InvalidLength {
            input_pos: 9,
            output_pos: 1,
            value: 21
        })
    );
    let s = Builder::new()
        .lit(b'a')
        .raw_match(1, 7, &[0x0f, 255, 0, 0, 5, 0, 0, 0])
        .finish();
    assert_eq!(
        decode(&s, 100),
        Err(DecompressError::InvalidLength {
            input_pos: 11,
            output_pos: 1,
            value: 5
        })
    );
}

#[test]
fn every_length_width() {
    let cases: [(&[u8], usize); 7] = [
        (&[0x00], 10),                                           // half-byte 0
        (&[0x0e], 24),                                           // half-byte 14
        (&[0x0f, 0], 25),                                        // byte 0
        (&[0x0f, 254], 279),                                     // byte 254
        (&[0x0f, 255, 22, 0], 25),                               // u16, smallest allowed value
        (&[0x0f, 255, 0xff, 0xff], 65_538),                      // u16, largest
        (&[0x0f, 255, 0, 0, 0x70, 0x11, 1, 0], 0x0001_1170 + 3), // u32
    ];
    for (ext, len) in cases {
        let s = Builder::new().lit(7).raw_match(1, 7, ext).lit(9).finish();
        let mut want = vec![7u8; 1 + len];
        want.push(9);
        assert_eq!(decode(&s, 200_000), Ok(want), "extension {ext:?}");
    }
    // Short lengths 3..=9 need no extension.
    for field in 0..7u16 {
        let s = Builder::new().lits(b"xy").raw_match(2, field, &[]).finish();
        let want: Vec<u8> = b"xy"
            .iter()
            .copied()
            .cycle()
            .take(2 + 3 + usize::from(field))
            .collect();
        assert_eq!(decode(&s, 100), Ok(want));
    }
}

#[test]
fn shared_half_byte() {
    // Two long matches share one byte: low half for the first, high half for the second;
    // a third long match takes a fresh byte.
    let s = Builder::new()
        .lit(b'a')
        .raw_match(1, 7, &[0x52]) // low half 2: length 7 + 2 + 3 = 12
        .lit(b'b')
        .raw_match(1, 7, &[]) // high half 5: length 15, no byte of its own
        .lit(b'c')
        .raw_match(1, 7, &[0x0f, 1]) // fresh byte, low half 15, then byte 1: 1 + 15 + 10 = 26
        .raw_match(1, 7, &[]) // high half of that byte (0): 10
        .finish();
    let mut want = vec![b'a'; 13];
    want.extend_from_slice(&[b'b'; 16]);
    want.extend_from_slice(&[b'c'; 1 + 26 + 10]);
    assert_eq!(decode(&s, 1000), Ok(want));

    // The shared byte may sit in an earlier flag group than the match that uses its high half.
    let mut b = Builder::new();
    b.lit(b'x').raw_match(1, 7, &[0x31]); // 11 x's after the first
    b.lits(&[b'-'; 40]);
    b.raw_match(1, 7, &[]); // high half 3: 13 more '-'
    let s = b.finish();
    let mut want = vec![b'x'; 12];
    want.extend_from_slice(&[b'-'; 53]);
    assert_eq!(decode(&s, 1000), Ok(want));
}

#[test]
fn overlapping_short_offsets() {
    for offset in 1..=20u16 {
        let pattern: Vec<u8> = (1..=offset as u8).collect();
        let s = Builder::new()
            .lits(&pattern)
            .raw_match(offset, 7, &[0x0f, 100])
            .lits(&[0xee; 400])
            .finish();
        let len = 100 + 15 + 7 + 3;
        let mut want: Vec<u8> = pattern
            .iter()
            .copied()
            .cycle()
            .take(pattern.len() + len)
            .collect();
        want.extend_from_slice(&[0xee; 400]);
        assert_eq!(decode(&s, 2000), Ok(want.clone()), "offset {offset}");
        // Same with an exact-size buffer (no room for chunked copies).
        assert_eq!(decode(&s, want.len()), Ok(want), "offset {offset}, exact");
    }
}
