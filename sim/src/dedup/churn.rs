//! Churn: what a volume looks like after files came and went.
//!
//! [`optimize_with_churn`] makes a seeded scratch set of edited copies of the volume's
//! eligible files, optimizes originals and copies interleaved (so their chunks and stream maps
//! share containers, as files written over time do), deletes the copies and runs garbage
//! collection. Containers holding both then move to a new generation with `Rrtl` entries, and
//! the originals' reparse points and stream maps keep stale offset hints — the state a real
//! volume is in after its first GC.

use platform::{Volume, WinPath};

use super::gc::{self, GcReport};
use super::{DedupError, OptimizeOptions, OptimizeReport, optimize_files, volume_files};

/// Folder (at the volume root) holding the scratch copies while they exist (`-2`, `-3`, … is
/// appended when the volume already has an entry of that name).
pub const SCRATCH_DIR: &str = "WinsimScratch";

/// What [`optimize_with_churn`] did.
#[derive(Debug, Clone)]
pub struct ChurnReport {
    /// The scratch copies that were optimized and deleted.
    pub scratch_files: Vec<WinPath>,
    /// The optimization of originals and copies together.
    pub optimize: OptimizeReport,
    /// The garbage collection after the copies were deleted.
    pub gc: GcReport,
}

/// A seeded edit of `data`: a few overwritten runs, an insertion and a deletion, so the copy
/// shares most chunks with the original and has a few of its own.
#[must_use]
pub fn edited_copy(data: &[u8], rng: &mut seeded::SplitMix64) -> Vec<u8> {
    let mut out = data.to_vec();
    if out.is_empty() {
        return out;
    }
    for _ in 0..3 {
        let at = rng.below(out.len() as u64) as usize;
        let n = (1 + rng.below(512) as usize).min(out.len() - at);
        rng.fill(&mut out[at..at + n]);
    }
    let at = rng.below(out.len() as u64) as usize;
    let mut ins = vec![0u8; 1 + rng.below(4096) as usize];
    rng.fill(&mut ins);
    out.splice(at..at, ins);
    let at = rng.below(out.len() as u64) as usize;
    let n = (rng.below(2048) as usize).min(out.len() - at);
    out.drain(at..at + n);
    out
}

/// Optimizes the volume's files together with edited scratch copies, deletes the copies and
/// collects garbage (see the module docs). Files already optimized are skipped as usual.
pub fn optimize_with_churn(
    volume: &dyn Volume,
    seed: u64,
    opts: &OptimizeOptions,
    filetime: u64,
) -> Result<ChurnReport, DedupError> {
    let originals = volume_files(volume)?;
    // A volume may already hold a folder of that name: never mix the scratch set with it.
    let mut dir = WinPath::root().join(SCRATCH_DIR)?;
    let mut n = 1u32;
    while volume.exists(&dir)? {
        n += 1;
        dir = WinPath::root().join(&format!("{SCRATCH_DIR}-{n}"))?;
    }
    let mut rng = seeded::SplitMix64(seed ^ 0x4348_5552_4e00_0000);
    let mut order = Vec::with_capacity(originals.len() * 2);
    let mut scratch = Vec::new();
    for (i, path) in originals.iter().enumerate() {
        order.push(path.clone());
        let md = volume.metadata(path)?;
        if md.len < opts.min_file_size || md.is_reparse_point() {
            continue;
        }
        if scratch.is_empty() {
            volume.create_dir_all(&dir)?;
        }
        let data = super::store::read_all(volume, path)?;
        let copy = edited_copy(&data, &mut rng);
        let p = dir.join(&format!("{i:05}.bin"))?;
        let f = volume.open(
            &p,
            platform::OpenOptions::new(
                platform::Access::READ_WRITE,
                platform::ShareMode::NONE,
                platform::Disposition::CreateNew,
            ),
        )?;
        f.write_all_at(0, &copy)?;
        drop(f);
        order.push(p.clone());
        scratch.push(p);
    }
    let optimize = optimize_files(volume, seed, &order, opts)?;
    for p in &scratch {
        volume.delete_file(p)?;
    }
    if !scratch.is_empty() {
        volume.remove_dir(&dir)?;
    }
    let gc = gc::collect(volume, filetime)?;
    Ok(ChurnReport {
        scratch_files: scratch,
        optimize,
        gc,
    })
}
