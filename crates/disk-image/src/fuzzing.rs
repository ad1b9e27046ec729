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

/// `data` as a VHDX (a file with no parent).
pub fn vhdx(data: &[u8]) {
    if let Ok(v) = Vhdx::open(Arc::new(data.to_vec()), "fuzz.vhdx") {
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
