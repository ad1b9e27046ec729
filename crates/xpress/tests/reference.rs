//! Differential test of the decoder against a plain reference decoder written here straight
//! from the MS-XCA §2.4 pseudo-code (one flag, one byte at a time, every read checked), on
//! streams long enough to run the decoder's fast group loop, with mutated bytes, truncations
//! and every output size around the exact one. The results must be equal: the same bytes on
//! success, the same error (variant and every position) on failure. This is what catches a
//! fast path that leaves its flag group in the wrong state (for example after a long match
//! ends close to the end of the output, in the middle of a group).

mod common;

use proptest::prelude::*;
use xpress::{DecompressError, Field, compress, decompress};

/// The reference: MS-XCA §2.4 as written, with the error conventions of [`decompress`].
fn reference(input: &[u8], cap: usize) -> Result<Vec<u8>, DecompressError> {
    let mut out: Vec<u8> = Vec::new();
    let mut ip = 0usize;
    let mut flags = 0u32;
    let mut left = 0u32;
    let mut nibble: Option<usize> = None;
    let underrun = |ip: usize, op: usize, field: Field, needed: usize| DecompressError::Underrun {
        input_pos: ip,
        output_pos: op,
        field,
        needed,
        available: input.len() - ip,
    };
    loop {
        if left == 0 {
            if ip == input.len() {
                return Ok(out);
            }
            let Some(w) = input.get(ip..ip + 4) else {
                return Err(underrun(ip, out.len(), Field::FlagWord, 4));
            };
            flags = u32::from_le_bytes(w.try_into().unwrap());
            ip += 4;
            left = 32;
        }
        if ip == input.len() {
            return Ok(out);
        }
        let is_match = flags & (1 << 31) != 0;
        flags <<= 1;
        left -= 1;
        if !is_match {
            if out.len() == cap {
                return Err(DecompressError::Overrun {
                    input_pos: ip,
                    output_pos: out.len(),
                    needed: 1,
                    available: 0,
                });
            }
            out.push(input[ip]);
            ip += 1;
            continue;
        }
        let tok_pos = ip;
        let op = out.len();
        let Some(t) = input.get(ip..ip + 2) else {
            return Err(underrun(ip, op, Field::MatchToken, 2));
        };
        let token = u16::from_le_bytes(t.try_into().unwrap());
        ip += 2;
        let offset = usize::from(token >> 3) + 1;
        let mut len = u64::from(token & 7);
        if len == 7 {
            let half = if let Some(pos) = nibble.take() {
                input[pos] >> 4
            } else {
                let Some(&b) = input.get(ip) else {
                    return Err(underrun(ip, op, Field::LengthNibble, 1));
                };
                nibble = Some(ip);
                ip += 1;
                b & 0x0f
            };
            len = 7 + u64::from(half);
            if half == 15 {
                let Some(&b) = input.get(ip) else {
                    return Err(underrun(ip, op, Field::LengthByte, 1));
                };
                ip += 1;
                len = 7 + 15 + u64::from(b);
                if b == 255 {
                    let Some(v) = input.get(ip..ip + 2) else {
                        return Err(underrun(ip, op, Field::LengthU16, 2));
                    };
                    let mut ext_pos = ip;
                    let mut value = u32::from(u16::from_le_bytes(v.try_into().unwrap()));
                    ip += 2;
                    if value == 0 {
                        let Some(v) = input.get(ip..ip + 4) else {
                            return Err(underrun(ip, op, Field::LengthU32, 4));
                        };
                        ext_pos = ip;
                        value = u32::from_le_bytes(v.try_into().unwrap());
                        ip += 4;
                    }
                    if value < 15 + 7 {
                        return Err(DecompressError::InvalidLength {
                            input_pos: ext_pos,
                            output_pos: op,
                            value,
                        });
                    }
                    len = u64::from(value);
                }
            }
        }
        let len = len + 3;
        if offset > op {
            return Err(DecompressError::OffsetBeforeStart {
                input_pos: tok_pos,
                output_pos: op,
                offset,
            });
        }
        if len > (cap - op) as u64 {
            return Err(DecompressError::Overrun {
                input_pos: tok_pos,
                output_pos: op,
                needed: len,
                available: cap - op,
            });
        }
        for _ in 0..len {
            out.push(out[out.len() - offset]);
        }
    }
}

/// Runs both decoders with an output buffer of `cap` bytes and asserts equal results.
fn same(stream: &[u8], cap: usize) -> Result<(), TestCaseError> {
    // Garbage in the output buffer: a decoder must not depend on it being zeroed.
    let mut out = vec![0x5a; cap];
    let got = decompress(stream, &mut out).map(|n| out[..n].to_vec());
    let want = reference(stream, cap);
    prop_assert_eq!(got, want, "stream of {} bytes, cap {}", stream.len(), cap);
    Ok(())
}

#[test]
fn reference_agrees_on_every_generated_set() {
    for name in ["text", "random", "mixed", "zeros"] {
        let data = common::generate(name, 77, 300_000);
        let mut s = Vec::new();
        compress(&data, &mut s);
        assert_eq!(reference(&s, data.len()).unwrap(), data, "{name}");
        same(&s, data.len()).unwrap();
        same(&s, data.len() - 1).unwrap();
        same(&s, data.len() + 5000).unwrap();
    }
}

/// Short periods (offsets 1..=20) with every length class, past the first 8 KiB and before it:
/// the fast loop copies these in 8-byte chunks or from a multiple of the period back.
#[test]
fn short_periods_of_every_offset_and_length() {
    let mut rng = common::Rng::new(11);
    for lead in [40usize, 9000] {
        let mut data: Vec<u8> = (0..lead).map(|_| rng.next_u64() as u8).collect();
        for period in 1..=20usize {
            for len in [
                3usize, 5, 8, 9, 15, 16, 17, 23, 24, 25, 31, 33, 40, 64, 100, 279, 281, 700,
            ] {
                let pattern: Vec<u8> = (0..period).map(|_| rng.next_u64() as u8).collect();
                data.extend(pattern.iter().cycle().take(period + len));
                data.extend((0..3).map(|_| rng.next_u64() as u8));
            }
        }
        let mut s = Vec::new();
        compress(&data, &mut s);
        assert_eq!(reference(&s, data.len()).unwrap(), data);
        same(&s, data.len()).unwrap();
        same(&s, data.len() + 100).unwrap();
    }
}

/// A long match (past the fast loop's short-copy limit) that ends just inside the fast loop's
/// output margin, in the middle of a flag group, followed by more tokens of the same group:
/// the decoder must leave the fast loop mid-group and go on with the right flags.
#[test]
fn long_match_near_the_end_mid_group() {
    let data = common::generate("text", 5, 5000);
    let mut s = Vec::new();
    compress(&data, &mut s);
    // A tail: a second stream's tokens cannot simply be appended, so build one input whose end
    // holds a long match followed by literals and short matches, by compressing data that ends
    // that way.
    let mut tail = data.clone();
    let start = tail.len() - 2000;
    let rep: Vec<u8> = tail[start..start + 700].to_vec();
    tail.extend_from_slice(&rep);
    tail.extend_from_slice(b"xyz-0123456789-abc-the-end");
    tail.extend_from_slice(&data[100..140]);
    let mut s2 = Vec::new();
    compress(&tail, &mut s2);
    for cap in tail.len() - 40..tail.len() + 2100 {
        same(&s2, cap).unwrap();
    }
}

/// A match whose offset reaches before the start, in each length form (3-bit, half-byte,
/// length byte, 16-bit and 32-bit value, valid or below 22), as the first token of a stream
/// long enough for the fast loop: the error is the one the reference gives (the length is
/// decoded, and checked, before the offset).
#[test]
fn bad_offset_in_every_length_form_in_the_fast_loop() {
    let token = |len_field: u16| ((99u16 << 3) | len_field).to_le_bytes();
    let forms: [Vec<u8>; 7] = [
        token(2).to_vec(),
        [&token(7)[..], &[0x03]].concat(),
        [&token(7)[..], &[0x0f, 40]].concat(),
        [&token(7)[..], &[0x0f, 255], &600u16.to_le_bytes()[..]].concat(),
        [&token(7)[..], &[0x0f, 255], &5u16.to_le_bytes()[..]].concat(),
        [
            &token(7)[..],
            &[0x0f, 255, 0, 0],
            &70_000u32.to_le_bytes()[..],
        ]
        .concat(),
        [&token(7)[..], &[0x0f, 255, 0, 0], &9u32.to_le_bytes()[..]].concat(),
    ];
    for (i, form) in forms.iter().enumerate() {
        for lead in [0usize, 5] {
            // `lead` literals, the match, then literals to the end of the group, then 40
            // groups of literals.
            let mut s = (1u32 << (31 - lead)).to_le_bytes().to_vec();
            s.extend((0..lead).map(|k| b'a' + k as u8));
            s.extend_from_slice(form);
            s.extend(std::iter::repeat_n(b'x', 31 - lead));
            for _ in 0..40 {
                s.extend_from_slice(&[0; 4]);
                s.extend(std::iter::repeat_n(b'y', 32));
            }
            let want = reference(&s, 100_000);
            assert!(want.is_err(), "form {i}: {want:?}");
            same(&s, 100_000).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Valid streams of every generated kind, cut or flipped here and there, decoded into
    /// buffers of every size class: equal results.
    #[test]
    fn reference_agrees_on_damaged_streams(
        kind in 0usize..4,
        seed in any::<u64>(),
        len in 1usize..40_000,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cut in any::<usize>(),
        slack in -1100i64..1100,
    ) {
        let name = ["text", "random", "mixed", "zeros"][kind];
        let data = common::generate(name, seed, len);
        let mut s = Vec::new();
        compress(&data, &mut s);
        for (at, x) in flips {
            let i = at % s.len();
            s[i] ^= x;
        }
        if cut % 3 == 0 {
            s.truncate(cut % (s.len() + 1));
        }
        let cap = len.saturating_add_signed(isize::try_from(slack).unwrap());
        same(&s, cap)?;
    }

    /// Arbitrary bytes (mostly invalid streams) long enough for the fast loop.
    #[test]
    fn reference_agrees_on_arbitrary_bytes(
        data in proptest::collection::vec(any::<u8>(), 300..3000),
        cap in 0usize..12_000,
    ) {
        same(&data, cap)?;
    }
}
