//! Seeded sample folders for tests and demos: the kind of file set a dedup volume holds.
//!
//! [`sample_files`] returns, for a seed, a fixed list of files whose contents are fully
//! determined by the seed:
//!
//! * text documents and their exact and edited copies (chunks shared between files),
//! * random (incompressible) data and a copy with a text trailer,
//! * an all-zero file (one chunk, repeated; compresses to almost nothing),
//! * an empty file, a tiny file and one just under the 32 KiB optimization threshold (all left
//!   alone by the optimizer), and one of exactly 32 KiB (optimized),
//! * optionally one big file ([`SampleOptions::big_file_size`]) assembled from a small pool of
//!   256 KiB segments, so that it is cheap to generate and dedups well within itself.

use std::io;
use std::path::Path;

use platform::{Error, WinPath};
use seeded::SplitMix64;

use crate::SimVolume;

/// What [`sample_files`] generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleOptions {
    /// Fixes every byte of every file.
    pub seed: u64,
    /// Size of `big/disk.vhd`; 0 leaves it out.
    pub big_file_size: u64,
}

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleFile {
    /// Path relative to the folder, components separated by `/`.
    pub path: String,
    /// The contents.
    pub data: Vec<u8>,
}

/// Size of one segment of the big file's pool.
const SEGMENT: usize = 256 * 1024;
/// Segments in the big file's pool.
const POOL: usize = 8;

fn random(rng: &mut SplitMix64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng.fill(&mut v);
    v
}

/// The seeded file set (see the module docs), in a fixed order.
///
/// # Panics
/// If `big_file_size` does not fit in memory (`usize`).
#[must_use]
pub fn sample_files(opts: &SampleOptions) -> Vec<SampleFile> {
    let mut rng = SplitMix64(opts.seed ^ 0x5341_4d50_4c45_0000);
    let mut out = Vec::new();
    let mut add = |path: &str, data: Vec<u8>| {
        out.push(SampleFile {
            path: path.to_owned(),
            data,
        });
    };

    let report = rng.text(384 * 1024);
    let mut edited = report.clone();
    let insert = rng.text(2000);
    edited.splice(100 * 1024..100 * 1024, insert);
    let patch = rng.text(700);
    edited[300 * 1024..300 * 1024 + patch.len()].copy_from_slice(&patch);
    add("documents/report.txt", report.clone());
    add("documents/report (copy).txt", report);
    add("documents/report-edited.txt", edited);
    add("documents/notes.txt", rng.text(40 * 1024));

    let photo = random(&mut rng, 640 * 1024);
    let mut trailer = photo.clone();
    trailer.extend_from_slice(&rng.text(96 * 1024));
    add("media/photo.raw", photo);
    add("media/photo-with-trailer.raw", trailer);

    add("zeros.bin", vec![0u8; 512 * 1024]);
    add("empty.dat", Vec::new());
    add("tiny.txt", rng.text(23));
    add("small/just-below-32k.bin", random(&mut rng, 32 * 1024 - 1));
    add("small/exactly-32k.txt", rng.text(32 * 1024));

    if opts.big_file_size > 0 {
        let size = usize::try_from(opts.big_file_size).expect("big file size fits in memory");
        let pool: Vec<Vec<u8>> = (0..POOL)
            .map(|i| {
                if i % 2 == 0 {
                    rng.text(SEGMENT)
                } else {
                    random(&mut rng, SEGMENT)
                }
            })
            .collect();
        let mut big = Vec::with_capacity(size);
        while big.len() < size {
            let seg = &pool[rng.below(POOL as u64) as usize];
            let take = seg.len().min(size - big.len());
            big.extend_from_slice(&seg[..take]);
        }
        add("big/disk.vhd", big);
    }
    out
}

/// Writes `files` under the existing host folder `dir`, creating subfolders.
pub fn write_to_dir(dir: &Path, files: &[SampleFile]) -> io::Result<()> {
    for f in files {
        let p = f.path.split('/').fold(dir.to_owned(), |p, c| p.join(c));
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, &f.data)?;
    }
    Ok(())
}

/// The volume path of a sample file (`documents/report.txt` → `\documents\report.txt`).
pub fn volume_path(file: &SampleFile) -> Result<WinPath, Error> {
    WinPath::new(&format!("\\{}", file.path.replace('/', "\\")))
}

/// Writes `files` onto `volume` (see [`SimVolume::write_file`]).
pub fn write_to_volume(volume: &SimVolume, files: &[SampleFile]) -> Result<(), Error> {
    for f in files {
        volume.write_file(&volume_path(f)?, &f.data)?;
    }
    Ok(())
}
