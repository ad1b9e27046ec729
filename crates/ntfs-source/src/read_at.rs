//! Positioned reads of a volume ([`ReadAt`]) and the `Read + Seek` cursor the `ntfs` crate needs.
//!
//! Why our own: the `ntfs` crate takes `&mut (Read + Seek)` for every call, so a shared reader
//! would need a lock around every read of every thread. A [`ReadAt`] is read through `&self`
//! (`pread` on a file), and each call makes its own [`Cursor`], so the restore's threads read
//! the image in parallel with no lock.

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

/// A volume read by position: an image file, a device, bytes in memory.
pub trait ReadAt: Send + Sync {
    /// Reads up to `buf.len()` bytes at `offset`; returns the count (0 at or past the end).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// The size in bytes.
    fn size(&self) -> io::Result<u64>;
}

#[cfg(unix)]
impl ReadAt for std::fs::File {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match std::os::unix::fs::FileExt::read_at(self, buf, offset) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }

    fn size(&self) -> io::Result<u64> {
        self.metadata().map(|m| m.len())
    }
}

#[cfg(windows)]
impl ReadAt for std::fs::File {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        // seek_read moves the file pointer, which nothing else of ours uses.
        std::os::windows::fs::FileExt::seek_read(self, buf, offset)
    }

    fn size(&self) -> io::Result<u64> {
        self.metadata().map(|m| m.len())
    }
}

impl ReadAt for [u8] {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        let Some(src) = self.get(start..) else {
            return Ok(0);
        };
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        Ok(n)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }
}

impl ReadAt for Vec<u8> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }
}

impl<R: ReadAt + ?Sized> ReadAt for Arc<R> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(offset, buf)
    }

    fn size(&self) -> io::Result<u64> {
        (**self).size()
    }
}

impl<R: ReadAt + ?Sized> ReadAt for &R {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(offset, buf)
    }

    fn size(&self) -> io::Result<u64> {
        (**self).size()
    }
}

/// Reads exactly `buf.len()` bytes at `offset`, or fails with `UnexpectedEof`.
pub(crate) fn read_exact_at<R: ReadAt + ?Sized>(
    r: &R,
    mut offset: u64,
    mut buf: &mut [u8],
) -> io::Result<()> {
    while !buf.is_empty() {
        let n = r.read_at(offset, buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the volume ends before byte {offset:#x}"),
            ));
        }
        offset += n as u64;
        buf = &mut buf[n..];
    }
    Ok(())
}

/// A `Read + Seek` view of a [`ReadAt`], one per call into the `ntfs` crate.
pub(crate) struct Cursor<'r, R: ?Sized> {
    inner: &'r R,
    pos: u64,
    size: u64,
}

impl<'r, R: ReadAt + ?Sized> Cursor<'r, R> {
    pub(crate) fn new(inner: &'r R, size: u64) -> Self {
        Self {
            inner,
            pos: 0,
            size,
        }
    }
}

impl<R: ReadAt + ?Sized> Read for Cursor<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read_at(self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: ReadAt + ?Sized> Seek for Cursor<'_, R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let Some(new) = new else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the volume",
            ));
        };
        self.pos = new;
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_reads_and_seeks_over_bytes() {
        let bytes: Vec<u8> = (0..=255).collect();
        let mut c = Cursor::new(&bytes, 256);
        let mut b = [0u8; 4];
        c.seek(SeekFrom::Start(10)).unwrap();
        c.read_exact(&mut b).unwrap();
        assert_eq!(b, [10, 11, 12, 13]);
        c.seek(SeekFrom::End(-2)).unwrap();
        assert_eq!(c.read(&mut b).unwrap(), 2);
        assert_eq!(c.read(&mut b).unwrap(), 0);
        assert!(c.seek(SeekFrom::Current(-1000)).is_err());
        assert!(read_exact_at(&bytes, 250, &mut [0u8; 10]).is_err());
    }
}
