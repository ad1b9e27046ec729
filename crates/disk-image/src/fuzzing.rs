//! The calls the cargo-fuzz targets in `fuzz/` make, shared with the test that replays their
//! committed inputs (`tests/fuzz_regressions.rs`): open a container from arbitrary bytes, list
//! its partitions and read the disk at a few offsets. Nothing may panic.

use std::sync::Arc;

use ntfs_source::ReadAt;

use crate::{E01, Image, Vhd, Vhdx, partition};

/// Reads a few spans of `disk` (start, middle, end, and past the end).
fn read_some(disk: &dyn ReadAt) {
    let Ok(size) = disk.size() else { return };
    let mut buf = vec![0u8; 70_000];
    for at in [
        0,
        size / 2,
        size.saturating_sub(1000),
        size,
        size.saturating_add(1),
    ] {
        let _ = disk.read_at(at, &mut buf);
    }
}

/// A file of [`SPARSE_LEN`] zero bytes with pieces written over it, decoded from fuzz input
/// as records of `page: u16` (4 KiB units), `len: u16`, then `len` bytes: a VHDX's structures
/// sit at MiB offsets, so a plain input would have to be megabytes of mostly zeros.
struct Sparse {
    pieces: Vec<(u64, Vec<u8>)>,
}

/// The size of a `Sparse` file.
pub const SPARSE_LEN: u64 = 16 << 20;

impl Sparse {
    fn decode(mut data: &[u8]) -> Self {
        let mut pieces = Vec::new();
        while data.len() >= 4 {
            let page = u64::from(u16::from_le_bytes([data[0], data[1]]));
            let len = usize::from(u16::from_le_bytes([data[2], data[3]])).min(data.len() - 4);
            pieces.push(((page * 4096) % SPARSE_LEN, data[4..4 + len].to_vec()));
            data = &data[4 + len..];
        }
        Self { pieces }
    }
}

impl ReadAt for Sparse {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        if offset >= SPARSE_LEN {
            return Ok(0);
        }
        let n = (SPARSE_LEN - offset).min(buf.len() as u64) as usize;
        let buf = &mut buf[..n];
        buf.fill(0);
        for (at, bytes) in &self.pieces {
            let (start, end) = (*at, *at + bytes.len() as u64);
            let (lo, hi) = (start.max(offset), end.min(offset + n as u64));
            if lo < hi {
                buf[(lo - offset) as usize..(hi - offset) as usize]
                    .copy_from_slice(&bytes[(lo - start) as usize..(hi - start) as usize]);
            }
        }
        Ok(n)
    }

    fn size(&self) -> std::io::Result<u64> {
        Ok(SPARSE_LEN)
    }
}

/// Encodes a file's non-zero 4 KiB pages (in its first [`SPARSE_LEN`] bytes) as a `Sparse`
/// input: how fuzz seeds are made from real VHDX files.
#[must_use]
pub fn sparse_encode(file: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, page) in file
        .chunks(4096)
        .enumerate()
        .take((SPARSE_LEN / 4096) as usize)
    {
        if page.iter().any(|&b| b != 0) {
            out.extend_from_slice(&(i as u16).to_le_bytes());
            out.extend_from_slice(&(page.len() as u16).to_le_bytes());
            out.extend_from_slice(page);
        }
    }
    out
}

/// `data` as a VHDX (a file with no parent), decoded as a `Sparse` file.
pub fn vhdx(data: &[u8]) {
    if let Ok(v) = Vhdx::open(Arc::new(Sparse::decode(data)), "fuzz.vhdx") {
        read_some(&v);
    }
}

/// `data` as a VHD.
pub fn vhd(data: &[u8]) {
    if let Ok(v) = Vhd::open(Arc::new(data.to_vec()), "fuzz.vhd") {
        read_some(&v);
    }
}

/// `data` as an E01 of one segment.
pub fn e01(data: &[u8]) {
    if let Ok(e) = E01::from_segments(vec![Arc::from(data)], "fuzz.E01") {
        read_some(&e);
    }
}

/// `data` as a disk: its partition table, then the volume the defaults would choose.
pub fn disk(data: &[u8]) {
    let file: Arc<dyn ReadAt> = Arc::new(data.to_vec());
    let _ = partition::read_table(&*file, "fuzz.img");
    if let Ok(img) = Image::from_reader(file, "fuzz.img") {
        for n in [None, Some(1), Some(2)] {
            if let Ok(v) = img.volume(n) {
                read_some(&v);
            }
        }
    }
}
