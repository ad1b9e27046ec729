//! Churn: what a volume looks like after files came and went.
//!
//! [`optimize_with_churn`] makes a seeded scratch set of edited copies of the volume's
//! eligible files, optimizes originals and copies interleaved (so their chunks and stream maps
//! share containers, as files written over time do), deletes the copies and runs garbage
//! collection. Containers holding both then move to a new generation with `Rrtl` entries, and
//! the originals' reparse points and stream maps keep stale offset hints — the state a real
//! volume is in after its first GC.

use platform::{Access, Disposition, OpenOptions, ShareMode, Volume, WinPath};

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
    let plan = EditPlan::new(data.len() as u64, rng);
    let mut out = Vec::with_capacity(usize::try_from(plan.len()).unwrap_or(0));
    for piece in &plan.pieces {
        match piece {
            Piece::Original(r) => out.extend_from_slice(&data[r.start as usize..r.end as usize]),
            Piece::New(b) => out.extend_from_slice(b),
        }
    }
    out
}

/// A piece of an edited copy.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// These bytes of the original.
    Original(std::ops::Range<u64>),
    /// New bytes.
    New(Vec<u8>),
}

/// The edits of [`edited_copy`] for an original of a given length, as the pieces of the copy:
/// a copy can then be written from the original read piece by piece, whatever its size.
#[derive(Debug, Clone)]
struct EditPlan {
    pieces: Vec<Piece>,
}

impl EditPlan {
    /// Draws the edits for an original of `len` bytes (the same draws as on its bytes).
    fn new(len: u64, rng: &mut seeded::SplitMix64) -> Self {
        let mut plan = Self {
            pieces: vec![Piece::Original(0..len)],
        };
        if len == 0 {
            plan.pieces.clear();
            return plan;
        }
        for _ in 0..3 {
            let at = rng.below(len);
            let n = (1 + rng.below(512)).min(len - at);
            let mut b = vec![0u8; n as usize];
            rng.fill(&mut b);
            plan.splice(at, n, Some(b));
        }
        let at = rng.below(len);
        let mut ins = vec![0u8; 1 + rng.below(4096) as usize];
        rng.fill(&mut ins);
        plan.splice(at, 0, Some(ins));
        let len = plan.len();
        let at = rng.below(len);
        let n = rng.below(2048).min(len - at);
        plan.splice(at, n, None);
        plan
    }

    /// Length of the copy.
    fn len(&self) -> u64 {
        self.pieces.iter().map(Piece::len).sum()
    }

    /// Replaces `n` bytes at `at` (copy coordinates) by `with`.
    fn splice(&mut self, at: u64, n: u64, with: Option<Vec<u8>>) {
        let mut out = Vec::with_capacity(self.pieces.len() + 2);
        let mut pos = 0u64;
        let mut with = with;
        for piece in self.pieces.drain(..) {
            let len = piece.len();
            let (start, end) = (pos, pos + len);
            pos = end;
            // Before `at`, and after `at + n`, a piece's bytes stay.
            if start < at {
                out.push(piece.slice(0, (at - start).min(len)));
            }
            if (start..=end).contains(&at)
                && let Some(b) = with.take()
            {
                out.push(Piece::New(b));
            }
            if end > at + n {
                out.push(piece.slice((at + n).saturating_sub(start), len));
            }
        }
        if let Some(b) = with {
            out.push(Piece::New(b));
        }
        out.retain(|p| p.len() > 0);
        self.pieces = out;
    }
}

impl Piece {
    fn len(&self) -> u64 {
        match self {
            Self::Original(r) => r.end - r.start,
            Self::New(b) => b.len() as u64,
        }
    }

    /// Bytes `from..to` of this piece.
    fn slice(&self, from: u64, to: u64) -> Self {
        match self {
            Self::Original(r) => Self::Original(r.start + from..r.start + to),
            Self::New(b) => Self::New(b[from as usize..to as usize].to_vec()),
        }
    }
}

/// Writes the edited copy of the volume file `original` (see [`edited_copy`]) to the new file
/// `copy`, reading the original a piece at a time.
fn write_edited_copy(
    volume: &dyn Volume,
    original: &WinPath,
    copy: &WinPath,
    rng: &mut seeded::SplitMix64,
) -> Result<(), DedupError> {
    const PIECE: u64 = 1 << 20;
    let src = volume.open(original, OpenOptions::READ_EXISTING)?;
    let plan = EditPlan::new(src.len()?, rng);
    let dst = volume.open(
        copy,
        OpenOptions::new(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew),
    )?;
    let mut buf = Vec::new();
    let mut out = 0u64;
    for piece in &plan.pieces {
        match piece {
            Piece::New(b) => dst.write_all_at(out, b)?,
            Piece::Original(r) => {
                let mut at = r.start;
                while at < r.end {
                    let n = (r.end - at).min(PIECE);
                    buf.resize(n as usize, 0);
                    src.read_exact_at(at, &mut buf)?;
                    dst.write_all_at(out + (at - r.start), &buf)?;
                    at += n;
                }
            }
        }
        out += piece.len();
    }
    Ok(())
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
        let p = dir.join(&format!("{i:05}.bin"))?;
        write_edited_copy(volume, path, &p, &mut rng)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use seeded::SplitMix64;

    /// The edit as first written, on the whole bytes: the plan must give the same copy and
    /// leave the generator in the same state.
    fn reference(data: &[u8], rng: &mut SplitMix64) -> Vec<u8> {
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

    #[test]
    fn the_plan_edits_as_the_whole_bytes_edit() {
        let mut sizes = SplitMix64(4);
        for i in 0..400u64 {
            let len = match i % 4 {
                0 => sizes.below(8),
                1 => sizes.below(600),
                2 => sizes.below(5000),
                _ => sizes.below(200_000),
            } as usize;
            let mut data = vec![0u8; len];
            sizes.fill(&mut data);
            let (mut a, mut b) = (SplitMix64(i), SplitMix64(i));
            assert_eq!(
                edited_copy(&data, &mut a),
                reference(&data, &mut b),
                "len {len}"
            );
            assert_eq!(a.next_u64(), b.next_u64(), "len {len}: generator state");
        }
    }
}
