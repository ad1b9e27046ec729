//! MS-XCA plain LZ77 ("Xpress") codec. Placeholder API; implementation in progress.

/// Error of [`decompress`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecompressError {}

/// Decompresses `input` into `output`, returning the number of bytes written.
pub fn decompress(input: &[u8], output: &mut [u8]) -> Result<usize, DecompressError> {
    let _ = (input, output);
    unimplemented!("xpress decoder in progress")
}

/// Compresses `input`, appending the stream to `output`.
pub fn compress(input: &[u8], output: &mut Vec<u8>) {
    let _ = (input, output);
    unimplemented!("xpress encoder in progress")
}
