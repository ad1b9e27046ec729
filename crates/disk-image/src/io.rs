//! Positioned-read helpers shared by the container readers, and [`Slice`], a window of a
//! reader (a partition of a disk).

use std::io;
use std::sync::Arc;

use ntfs_source::ReadAt;

/// Reads exactly `buf.len()` bytes at `offset`; a short read is `UnexpectedEof`.
pub(crate) fn read_exact_at(r: &dyn ReadAt, mut offset: u64, mut buf: &mut [u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = r.read_at(offset, buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the file ends before byte {offset:#x}"),
            ));
        }
        offset += n as u64;
        buf = &mut buf[n..];
    }
    Ok(())
}

/// Reads `len` bytes at `offset` into a new buffer (callers bound `len`).
pub(crate) fn read_vec(r: &dyn ReadAt, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut v = vec![0u8; len];
    read_exact_at(r, offset, &mut v)?;
    Ok(v)
}

/// Little-endian `u16` at `at` of `b` (callers check the length first).
pub(crate) fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// Little-endian `u32` at `at` of `b`.
pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// Little-endian `u64` at `at` of `b`.
pub(crate) fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Big-endian `u32` at `at` of `b` (VHD is big-endian).
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// Big-endian `u64` at `at` of `b`.
pub(crate) fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// A window `[start, start + len)` of a reader, read as a whole (a partition of a disk).
#[derive(Clone)]
pub struct Slice {
    inner: Arc<dyn ReadAt>,
    start: u64,
    len: u64,
}

impl Slice {
    /// The bytes `[start, start + len)` of `inner`.
    pub fn new(inner: Arc<dyn ReadAt>, start: u64, len: u64) -> Self {
        Self { inner, start, len }
    }

    /// Where the window starts in the reader it is cut from.
    #[must_use]
    pub fn start(&self) -> u64 {
        self.start
    }
}

impl std::fmt::Debug for Slice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slice")
            .field("start", &self.start)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl ReadAt for Slice {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let n = (self.len - offset).min(buf.len() as u64) as usize;
        self.inner.read_at(self.start + offset, &mut buf[..n])
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.len)
    }
}
