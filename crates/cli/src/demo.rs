//! `rehydrate demo`: the whole story on the simulator, end to end.
//!
//! 1. Generate a seeded data set on a [`SimVolume`]: compressible text, incompressible media,
//!    mostly-empty disk images, exact copies, edited copies (partial dedup) and small files
//!    (below the optimizer's 32 KiB minimum, so they stay ordinary files).
//! 2. Optimize it with the simulated Windows Data Deduplication (real-format chunk store and
//!    dedup reparse points).
//! 3. Back it up to a temporary host folder (`winsim::host::export_volume`: stubs with their
//!    reparse points, ordinary files, the chunk store).
//! 4. Restore it out of place onto a fresh simulated volume with
//!    [`dedup_restore::restore_tree`]: the backup folder is both the source of the stubs and
//!    ordinary files and the chunk store.
//! 5. Compare every byte of every file against the originals (regenerated from the seed).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use dedup_restore::{EntryStatus, RestoreOptions, SourceStore, TreeOptions, restore_tree};
use platform::{HostSource, Volume, WinPath};
use seeded::SplitMix64;
use winsim::SimVolume;
use winsim::dedup::churn::edited_copy;
use winsim::dedup::{OptimizeOptions, optimize};

use crate::Failure;
use crate::outln;
use crate::progress::Bar;
use crate::units::size as human;

/// `rehydrate demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Logical size of the generated data set, in MiB (it is held in memory twice at most).
    #[arg(long, default_value_t = 256, value_name = "MIB")]
    size_mib: u64,
    /// Seed of the data set.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Worker threads of the restore (default: all cores; at most 8 per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Keep the backup in this (new or empty) folder instead of a temporary one.
    #[arg(long, value_name = "DIR", alias = "backup-dir")]
    to: Option<PathBuf>,
}

/// How a file's bytes are made.
#[derive(Debug, Clone, Copy)]
enum Content {
    /// Compressible text.
    Text,
    /// Incompressible bytes.
    Random,
    /// A disk image: mostly zeros, some random and some text blocks.
    Disk,
    /// The same bytes as an earlier file.
    Copy(usize),
    /// An earlier file with a few edits, an insertion and a deletion.
    Edit(usize),
}

#[derive(Debug, Clone)]
struct Planned {
    path: WinPath,
    content: Content,
    size: usize,
    seed: u64,
}

fn plan(total: u64, seed: u64) -> Vec<Planned> {
    let mut rng = SplitMix64(seed);
    let mut out: Vec<Planned> = Vec::new();
    let mut bytes = 0u64;
    let mut n = 0usize;
    let path = |s: String| WinPath::new(&s).expect("generated names are valid");
    while bytes < total {
        let left = total - bytes;
        let pick = rng.below(100);
        let (p, content, size) = match pick {
            0..=9 => (
                format!("\\Users\\alice\\notes\\note-{n:04}.txt"),
                Content::Text,
                1024 + rng.below(30 * 1024) as usize,
            ),
            10..=39 => (
                format!("\\Shares\\reports\\report-{n:04}.txt"),
                Content::Text,
                (256 << 10) + rng.below(3 << 20) as usize,
            ),
            40..=57 => (
                format!("\\Shares\\media\\clip-{n:04}.mp4"),
                Content::Random,
                (1 << 20) + rng.below(6 << 20) as usize,
            ),
            58..=67 => (
                format!("\\VMs\\disk-{n:04}.vhdx"),
                Content::Disk,
                (4 << 20) + rng.below(12 << 20) as usize,
            ),
            _ if out.is_empty() => continue,
            68..=83 => {
                let base = rng.below(out.len() as u64) as usize;
                (
                    format!("\\Backups\\copy-{n:04}-of-{base:04}.bak"),
                    Content::Copy(base),
                    out[base].size,
                )
            }
            _ => {
                let base = rng.below(out.len() as u64) as usize;
                (
                    format!("\\Users\\bob\\drafts\\edit-{n:04}-of-{base:04}.doc"),
                    Content::Edit(base),
                    out[base].size,
                )
            }
        };
        let size = size.min(usize::try_from(left).unwrap_or(usize::MAX).max(1));
        out.push(Planned {
            path: path(p),
            content,
            size,
            seed: rng.next_u64(),
        });
        bytes += size as u64;
        n += 1;
    }
    out
}

/// The bytes of file `i` of `plan` (recursively for copies and edits).
fn generate(plan: &[Planned], i: usize) -> Vec<u8> {
    let f = &plan[i];
    let mut rng = SplitMix64(f.seed);
    match f.content {
        Content::Text => rng.text(f.size),
        Content::Random => {
            let mut v = vec![0u8; f.size];
            rng.fill(&mut v);
            v
        }
        Content::Disk => {
            let mut v = vec![0u8; f.size];
            for block in v.chunks_mut(64 << 10) {
                match rng.below(10) {
                    0 => rng.fill(block),
                    1 => {
                        let t = rng.text(block.len());
                        block.copy_from_slice(&t);
                    }
                    _ => {}
                }
            }
            v
        }
        Content::Copy(base) => {
            let mut v = generate(plan, base);
            v.truncate(f.size);
            v
        }
        Content::Edit(base) => {
            let mut v = generate(plan, base);
            v.truncate(f.size);
            edited_copy(&v, &mut rng)
        }
    }
}

fn step(name: &str, what: &str, t: Duration) {
    outln!("  {name:<10} {what}  ({:.2} s)", t.as_secs_f64());
}

fn vol_err(e: &impl std::fmt::Display) -> Failure {
    Failure::check(format!("demo: {e}"))
}

/// `rehydrate demo`.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn run(args: &DemoArgs) -> Result<(), Failure> {
    if args.size_mib == 0 || args.size_mib > 4096 {
        return Err(Failure::usage("--size-mib must be between 1 and 4096"));
    }
    let started = Instant::now();
    let total = args.size_mib << 20;
    outln!(
        "rehydrate demo: seed {}, {} of generated data",
        args.seed,
        human(total)
    );

    // 1. Generate.
    let t = Instant::now();
    let files = plan(total, args.seed);
    let original = SimVolume::new(args.seed);
    let mut logical = 0u64;
    for (i, f) in files.iter().enumerate() {
        let bytes = generate(&files, i);
        logical += bytes.len() as u64;
        original
            .write_file(&f.path, &bytes)
            .map_err(|e| vol_err(&e))?;
    }
    step(
        "generated",
        &format!(
            "{} files, {} (text, media, disk images, copies, edited copies, small notes)",
            files.len(),
            human(logical)
        ),
        t.elapsed(),
    );

    // 2. Optimize.
    let t = Instant::now();
    let rep = optimize(&original, args.seed, &OptimizeOptions::default())
        .map_err(|e| Failure::check(format!("demo: optimize: {e}")))?;
    step(
        "optimized",
        &format!(
            "{} files ({}) into {} unique chunks, {} stored; dedup {:.2}x, compression {:.2}x, {} containers; {} small files left as they are",
            rep.files_optimized,
            human(rep.logical_bytes),
            rep.new_chunks,
            human(rep.stored_bytes),
            rep.dedup_ratio().unwrap_or(1.0),
            rep.compression_ratio().unwrap_or(1.0),
            rep.containers_written.len(),
            rep.files_skipped
        ),
        t.elapsed(),
    );

    // 3. Back up.
    let t = Instant::now();
    let temp;
    #[allow(clippy::single_match_else)]
    let backup: PathBuf = match &args.to {
        Some(d) => {
            std::fs::create_dir_all(d)
                .map_err(|e| Failure::usage(format!("{}: {e}", d.display())))?;
            if std::fs::read_dir(d).map_or(true, |mut r| r.next().is_some()) {
                return Err(Failure::usage(format!(
                    "{}: --to must be a new or empty folder",
                    d.display()
                )));
            }
            d.clone()
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("rehydrate-demo-")
                .tempdir()
                .map_err(|e| Failure::usage(format!("temporary folder: {e}")))?;
            temp.path().to_owned()
        }
    };
    let exp = winsim::host::export_volume(&original, &backup)
        .map_err(|e| Failure::usage(format!("demo: backup to {}: {e}", backup.display())))?;
    drop(original);
    step(
        "backed up",
        &format!(
            "to {}: {} stubs, {} ordinary and chunk-store files",
            backup.display(),
            exp.stubs,
            exp.files
        ),
        t.elapsed(),
    );

    // 4. Restore onto a fresh volume.
    let target = SimVolume::new(args.seed ^ 0xFEED);
    let source = HostSource::new(&backup)
        .map_err(|e| Failure::usage(format!("{}: {e}", backup.display())))?;
    let store = SourceStore::new(&source);
    let pool = crate::restore::thread_pool(args.threads)?;
    let threads = pool.current_num_threads();
    let bar = Bar::new("restore");
    let opts = TreeOptions {
        restore: RestoreOptions {
            progress: Some(bar.callback()),
            ..RestoreOptions::default()
        },
        ..TreeOptions::default()
    };
    let t = Instant::now();
    let report = pool.install(|| restore_tree(&source, &store, &target, &opts));
    bar.finish();
    let report = report.map_err(|e| Failure::check(format!("demo: restore: {e}")))?;
    let restore_time = t.elapsed();
    let stub_bytes = report.bytes(EntryStatus::Restored);
    let engine = report.engine_time.as_secs_f64().max(1e-9);
    let rate = crate::units::rate(stub_bytes, engine);
    step(
        "restored",
        &format!(
            "{} dedup files ({}) rebuilt on {threads} threads in {engine:.2} s ({rate}), {} read from the backup; {} small files copied",
            report.count(EntryStatus::Restored),
            human(stub_bytes),
            human(report.stats.bytes_read),
            report.count(EntryStatus::Copied),
        ),
        restore_time,
    );
    let failed: Vec<_> = report
        .entries
        .iter()
        .filter(|e| e.status == EntryStatus::Failed)
        .collect();
    if !failed.is_empty() {
        for f in &failed {
            let why = f
                .error
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            outln!("    failed: {} {}: {why}", f.path, f.hresult());
        }
        return Err(Failure::check(format!(
            "demo: {} files failed to restore",
            failed.len()
        )));
    }

    // 5. Verify every byte.
    let t = Instant::now();
    let mut bad = Vec::new();
    let mut checked = 0u64;
    for (i, f) in files.iter().enumerate() {
        let want = generate(&files, i);
        let md = target.metadata(&f.path).map_err(|e| vol_err(&e))?;
        let got = target.read_file(&f.path).map_err(|e| vol_err(&e))?;
        if md.is_reparse_point() || got != want {
            bad.push(f.path.to_string());
        }
        checked += want.len() as u64;
    }
    if !bad.is_empty() {
        return Err(Failure::check(format!(
            "demo: {} files differ from the originals, first {}",
            bad.len(),
            bad[0]
        )));
    }
    step(
        "verified",
        &format!(
            "every byte of {} files ({}) matches the originals",
            files.len(),
            human(checked)
        ),
        t.elapsed(),
    );
    outln!(
        "demo OK in {:.2} s: restored {} of logical data at {rate}",
        started.elapsed().as_secs_f64(),
        human(stub_bytes)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_is_seeded_and_sized() {
        let a = plan(8 << 20, 7);
        let b = plan(8 << 20, 7);
        assert_eq!(a.len(), b.len());
        let total: usize = a.iter().map(|f| f.size).sum();
        assert!(total >= 8 << 20);
        assert_eq!(generate(&a, a.len() - 1), generate(&b, b.len() - 1));
    }
}
