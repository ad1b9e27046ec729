//! Error type of [`crate::decompress`].

use std::fmt;

/// Which part of the stream was cut short (see [`DecompressError::Underrun`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// A 32-bit flag word.
    FlagWord,
    /// A 16-bit match token.
    MatchToken,
    /// The byte holding the shared length half-byte (nibble).
    LengthNibble,
    /// The one-byte length extension.
    LengthByte,
    /// The 16-bit length extension.
    LengthU16,
    /// The 32-bit length extension.
    LengthU32,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::FlagWord => "flag word",
            Field::MatchToken => "match token",
            Field::LengthNibble => "length half-byte",
            Field::LengthByte => "length byte",
            Field::LengthU16 => "16-bit length",
            Field::LengthU32 => "32-bit length",
        })
    }
}

/// Why [`crate::decompress`] rejected a stream.
///
/// Every variant carries `input_pos`, a byte offset into the compressed input, and `output_pos`,
/// the number of output bytes already written when the problem was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecompressError {
    /// The input ends inside a flag word, a match token or a length extension.
    /// `input_pos` is where the missing field starts; `needed` is its size in bytes and
    /// `available` how many of them the input still had.
    #[error(
        "xpress input truncated at {input_pos:#x}: {field} needs {needed} byte(s), {available} left (output at {output_pos:#x})"
    )]
    Underrun {
        /// Offset in the input where the truncated field starts.
        input_pos: usize,
        /// Bytes written to the output so far.
        output_pos: usize,
        /// The field that was cut short.
        field: Field,
        /// Size of that field in bytes.
        needed: usize,
        /// Bytes left in the input.
        available: usize,
    },
    /// The output buffer is too small for the next literal run or match.
    /// `input_pos` is where that literal run or match token starts.
    #[error(
        "xpress output buffer too small: token at input {input_pos:#x} needs {needed} byte(s) at output {output_pos:#x}, {available} left"
    )]
    Overrun {
        /// Offset in the input of the literal run or match token.
        input_pos: usize,
        /// Bytes written to the output so far.
        output_pos: usize,
        /// Bytes the token would write.
        needed: u64,
        /// Bytes left in the output buffer.
        available: usize,
    },
    /// A match refers to data before the start of the output.
    /// `input_pos` is where the match token starts.
    #[error(
        "xpress match at input {input_pos:#x} has offset {offset} but only {output_pos} byte(s) were written"
    )]
    OffsetBeforeStart {
        /// Offset in the input of the match token.
        input_pos: usize,
        /// Bytes written to the output so far (the largest valid offset).
        output_pos: usize,
        /// The match offset (distance back), 1..=8192.
        offset: usize,
    },
    /// A 16- or 32-bit length extension holds a value below 22, which MS-XCA forbids.
    /// `input_pos` is where that extension starts.
    #[error(
        "xpress invalid match length encoding at input {input_pos:#x}: extension value {value} < 22 (output at {output_pos:#x})"
    )]
    InvalidLength {
        /// Offset in the input of the 16- or 32-bit length field.
        input_pos: usize,
        /// Bytes written to the output so far.
        output_pos: usize,
        /// The value found.
        value: u32,
    },
}

impl DecompressError {
    /// Offset in the compressed input at which the error was detected.
    #[must_use]
    pub fn input_pos(&self) -> usize {
        match *self {
            DecompressError::Underrun { input_pos, .. }
            | DecompressError::Overrun { input_pos, .. }
            | DecompressError::OffsetBeforeStart { input_pos, .. }
            | DecompressError::InvalidLength { input_pos, .. } => input_pos,
        }
    }

    /// Number of output bytes written before the error was detected.
    #[must_use]
    pub fn output_pos(&self) -> usize {
        match *self {
            DecompressError::Underrun { output_pos, .. }
            | DecompressError::Overrun { output_pos, .. }
            | DecompressError::OffsetBeforeStart { output_pos, .. }
            | DecompressError::InvalidLength { output_pos, .. } => output_pos,
        }
    }
}
