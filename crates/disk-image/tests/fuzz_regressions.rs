//! Replays `fuzz/regressions/*/*` through the calls of the fuzz targets (see that folder's
//! README): nothing may panic, and each real-tool seed opens.

use std::path::Path;
use std::sync::Arc;

use disk_image::{E01, Image, Vhd, Vhdx, fuzzing};
use ntfs_source::ReadAt;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no inputs in {}", dir.display());
    out
}

#[test]
fn every_committed_input_replays_without_panicking() {
    for (target, call) in [
        ("vhdx", fuzzing::vhdx as fn(&[u8])),
        ("vhd", fuzzing::vhd),
        ("e01", fuzzing::e01),
        ("partition", fuzzing::disk),
    ] {
        for (name, data) in inputs(target) {
            eprintln!("{target}/{name}");
            call(&data);
        }
    }
}

#[test]
fn the_real_tool_seeds_open_with_their_sizes() {
    let (_, vhd) = &inputs("vhd")[0];
    let v = Vhd::open(Arc::new(vhd.clone()), "seed.vhd").unwrap();
    assert!(v.is_dynamic());
    // qemu rounds 1 MiB up to its CHS geometry.
    assert!(v.size().unwrap() >= 1 << 20);
    let e01 = inputs("e01");
    let (_, e01) = e01
        .iter()
        .find(|(n, _)| n.starts_with("ewfacquire"))
        .unwrap();
    let e = E01::from_segments(vec![Arc::from(e01.as_slice())], "seed.E01").unwrap();
    assert_eq!(e.size().unwrap(), 256 << 10);
    let mut first = [0u8; 300];
    assert_eq!(e.read_at(0, &mut first).unwrap(), 300);
    assert!(first.iter().enumerate().all(|(i, &b)| b == (i % 256) as u8));
    let (_, mbr) = &inputs("partition")[0];
    let img = Image::from_reader(Arc::new(mbr.clone()), "seed.img").unwrap();
    assert_eq!(img.partitions().len(), 1);
    assert_eq!(
        (img.partitions()[0].start, img.partitions()[0].len),
        (512, 64 * 512)
    );
    assert!(!img.partitions()[0].ntfs);
    let (_, vhdx) = &inputs("vhdx")[0];
    // The seed's pages decoded back into a file of the size the target gives it.
    let mut file = vec![0u8; usize::try_from(fuzzing::SPARSE_LEN).unwrap()];
    let mut d = vhdx.as_slice();
    while d.len() >= 4 {
        let page = usize::from(u16::from_le_bytes([d[0], d[1]])) * 4096;
        let len = usize::from(u16::from_le_bytes([d[2], d[3]]));
        file.resize(file.len().max(page + len), 0);
        file[page..page + len].copy_from_slice(&d[4..4 + len]);
        d = &d[4 + len..];
    }
    let v = Vhdx::open(Arc::new(file), "seed.vhdx").unwrap();
    assert_eq!(v.virtual_size(), 3 << 20);
    let mut buf = vec![1u8; 4096];
    assert_eq!(v.read_at(0, &mut buf).unwrap(), 4096);
    assert!(buf.iter().all(|&b| b == 0), "an empty disk reads as zeros");
}
