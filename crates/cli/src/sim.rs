//! `rehydrate sim optimize`: run the simulated Windows volume and its Data Deduplication
//! optimizer over an ordinary folder and write the result as a host-directory volume.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use dedup_reparse::LayoutVersion;
use serde::Serialize;
use winsim::SimVolume;
use winsim::dedup::{
    self, DedupError, OptimizeOptions, SkipReason, churn,
    store::{StoreSummary, summarize},
};
use winsim::host::{self, HostError};

use crate::inspect_volume::{StoreJson, print_store_text};
use crate::outln;
use crate::{Failure, units};

/// `rehydrate sim` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum SimCommand {
    /// Optimize a copy of an ordinary folder on a simulated volume, as Windows Data
    /// Deduplication would, and write the result as a host-directory volume: every file at its
    /// path (optimized files as sparse stubs of their logical size carrying
    /// `user.ntfs_reparse_data`) plus `System Volume Information/Dedup/ChunkStore/{GUID}.ddp`.
    #[command(after_help = crate::help::SIM_OPTIMIZE)]
    Optimize(OptimizeArgs),
}

/// Reparse-point layout of the stubs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReparseArg {
    /// `01 02` (Windows Server 2012).
    V1,
    /// `02 01` (Windows Server 2012 R2).
    V2,
    /// `03 01` FeRp (Windows Server 2016 and later).
    V3,
}

impl From<ReparseArg> for LayoutVersion {
    fn from(v: ReparseArg) -> Self {
        match v {
            ReparseArg::V1 => Self::V1,
            ReparseArg::V2 => Self::V2,
            ReparseArg::V3 => Self::V3,
        }
    }
}

/// Arguments of `rehydrate sim optimize`.
#[derive(Debug, Args)]
pub(crate) struct OptimizeArgs {
    /// The folder to optimize (read only; it is copied onto the simulated volume).
    #[arg(long, value_name = "DIR", alias = "input")]
    source: PathBuf,
    /// Where to write the volume; must not exist or be an empty folder. It must be on a file
    /// system with user extended attributes (tmpfs, ext4, xfs, btrfs).
    #[arg(long, value_name = "DIR", alias = "out")]
    to: PathBuf,
    /// Reparse-point layout of the stubs.
    #[arg(long, value_enum, default_value = "v3")]
    reparse: ReparseArg,
    /// Seal containers before they pass this many bytes (suffixes K, M, G; default 1G).
    #[arg(long, value_parser = parse_size)]
    container_size: Option<u64>,
    /// Also optimize a seeded scratch set of edited copies, delete it and collect garbage,
    /// so containers are compacted into new generations with `Rrtl` entries and the stubs'
    /// offset hints go stale. The output still holds exactly the input's files.
    #[arg(long)]
    gc: bool,
    /// Seed of the simulation (store GUID, scratch edits, timestamps).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Leave out what a Windows volume cannot hold (symbolic links, special files, names that
    /// differ only by case from a sibling, names Windows refuses), each reported in one line,
    /// instead of refusing the whole folder.
    #[arg(long)]
    skip_unsupported: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                _ => return Err(format!("unknown size suffix {c:?} (use K, M or G)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?} is not a size in bytes (e.g. 1048576, 256K, 64M)"))
}

#[derive(Debug, Serialize)]
struct GcJson {
    scratch_files: usize,
    compacted_containers: usize,
    deleted_containers: usize,
    chunks_deleted: usize,
    stream_maps_deleted: usize,
    redirections_written: usize,
    bytes_reclaimed: u64,
    left_uncompacted: usize,
}

/// An entry left out by `--skip-unsupported`.
#[derive(Debug, Serialize)]
struct SkippedJson {
    path: String,
    reason: String,
}

#[derive(Debug, Serialize)]
struct OptimizeJson {
    source: String,
    to: String,
    seed: u64,
    reparse: &'static str,
    container_size: u64,
    files: usize,
    dirs: usize,
    source_bytes: u64,
    files_optimized: usize,
    files_skipped: usize,
    skipped: BTreeMap<&'static str, usize>,
    stubs_written: usize,
    /// What `--skip-unsupported` left out (empty without it: such an input is refused).
    unsupported_skipped: Vec<SkippedJson>,
    gc: Option<GcJson>,
    store: StoreJson,
}

fn skip_name(r: SkipReason) -> &'static str {
    match r {
        SkipReason::Empty => "empty",
        SkipReason::TooSmall => "too_small",
        SkipReason::ReparsePoint => "reparse_point",
        SkipReason::InUse => "in_use",
    }
}

fn host_failure(e: &HostError) -> Failure {
    match e {
        HostError::Unrepresentable { .. } => Failure::check(e.to_string()),
        _ => Failure::usage(e.to_string()),
    }
}

fn dedup_failure(e: DedupError) -> Failure {
    match e {
        DedupError::Options(m) => Failure::usage(m),
        e @ DedupError::Volume(_) => Failure::usage(format!("simulated volume: {e}")),
        e => Failure::check(format!("optimizer: {e}")),
    }
}

/// Checks `--to` and picks the temporary sibling the volume is written to first.
fn prepare_out(out: &Path) -> Result<PathBuf, Failure> {
    match fs::symlink_metadata(out) {
        Ok(md) if md.is_dir() => {
            let mut entries =
                fs::read_dir(out).map_err(|e| Failure::usage(format!("{}: {e}", out.display())))?;
            if entries.next().is_some() {
                return Err(Failure::usage(format!(
                    "{}: --to exists and is not empty (give a new or empty folder)",
                    out.display()
                )));
            }
        }
        Ok(_) => {
            return Err(Failure::usage(format!(
                "{}: --to exists and is not a folder",
                out.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Failure::usage(format!("{}: {e}", out.display()))),
    }
    let name = out
        .file_name()
        .ok_or_else(|| Failure::usage(format!("{}: --to needs a folder name", out.display())))?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(Failure::usage(format!(
            "{}: the parent folder of --to does not exist",
            parent.display()
        )));
    }
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".rehydrate-partial-{}", std::process::id()));
    Ok(parent.join(tmp_name))
}

struct Done {
    files: usize,
    dirs: usize,
    source_bytes: u64,
    files_optimized: usize,
    files_skipped: usize,
    skipped: BTreeMap<&'static str, usize>,
    stubs_written: usize,
    gc: Option<GcJson>,
    summary: StoreSummary,
}

fn simulate(args: &OptimizeArgs, opts: &OptimizeOptions, tmp: &Path) -> Result<Done, Failure> {
    // File contents stay on the host (the input files read in place, the store in a backing
    // folder beside the output), so memory does not grow with the input.
    let beside = tmp.parent().unwrap_or_else(|| Path::new("."));
    let volume = SimVolume::with_host_contents(args.seed, beside).map_err(|e| {
        Failure::usage(format!(
            "{}: cannot make the simulator's backing folder: {e}",
            beside.display()
        ))
    })?;
    let import = if args.skip_unsupported {
        host::import_dir_skipping_unsupported(&volume, &args.source)
    } else {
        host::import_dir(&volume, &args.source)
    }
    .map_err(|e| host_failure(&e))?;
    let (report, gc) = if args.gc {
        let filetime = volume.now();
        let c = churn::optimize_with_churn(&volume, args.seed, opts, filetime)
            .map_err(dedup_failure)?;
        let scratch: std::collections::HashSet<_> = c.scratch_files.iter().cloned().collect();
        let mut r = c.optimize;
        // Report on the input's files only; the scratch copies are gone.
        r.files.retain(|f| !scratch.contains(&f.path));
        let gc = GcJson {
            scratch_files: c.scratch_files.len(),
            compacted_containers: c.gc.compacted.len(),
            deleted_containers: c.gc.deleted_containers.len(),
            chunks_deleted: c.gc.chunks_deleted,
            stream_maps_deleted: c.gc.stream_maps_deleted,
            redirections_written: c.gc.compacted.iter().map(|x| x.redirections).sum(),
            bytes_reclaimed: c.gc.bytes_reclaimed,
            left_uncompacted: c.gc.left_uncompacted.len(),
        };
        (r, Some(gc))
    } else {
        (
            dedup::optimize(&volume, args.seed, opts).map_err(dedup_failure)?,
            None,
        )
    };
    let mut skipped = BTreeMap::new();
    for f in &report.files {
        if let Some(r) = f.skipped {
            *skipped.entry(skip_name(r)).or_insert(0) += 1;
        }
    }
    let files_skipped = skipped.values().sum();
    let summary = summarize(&volume)
        .map_err(dedup_failure)?
        .ok_or_else(|| Failure::check("the optimizer left no chunk store"))?;
    if let Some(first) = summary.errors.first() {
        return Err(Failure::check(format!(
            "the simulated store does not verify ({} problem(s)); first: {first}",
            summary.errors.len()
        )));
    }
    fs::create_dir(tmp).map_err(|e| Failure::usage(format!("{}: {e}", tmp.display())))?;
    let export = host::export_volume(&volume, tmp).map_err(|e| host_failure(&e))?;
    Ok(Done {
        files: import.files,
        dirs: import.dirs,
        source_bytes: import.bytes,
        files_optimized: report.files.len() - files_skipped,
        files_skipped,
        skipped,
        stubs_written: export.stubs,
        gc,
        summary,
    })
}

fn ratio_text(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.2}"))
}

/// What the source holds that a Windows volume cannot: refused (each named on stderr, nothing
/// written) unless `--skip-unsupported`, which returns them to be reported as skipped.
fn check_supported(args: &OptimizeArgs) -> Result<Vec<host::Unsupported>, Failure> {
    let found = host::unsupported_entries(&args.source).map_err(|e| host_failure(&e))?;
    if found.is_empty() || args.skip_unsupported {
        return Ok(found);
    }
    for u in &found {
        eprintln!("rehydrate: cannot import {u}");
    }
    Err(Failure::check(format!(
        "{} entr{} of {} cannot be put on a Windows volume; nothing was written (--skip-unsupported leaves them out)",
        found.len(),
        if found.len() == 1 { "y" } else { "ies" },
        args.source.display()
    )))
}

/// Runs a `sim` subcommand.
pub(crate) fn run(cmd: SimCommand) -> Result<(), Failure> {
    match cmd {
        SimCommand::Optimize(args) => optimize(&args),
    }
}

fn optimize(args: &OptimizeArgs) -> Result<(), Failure> {
    if !args.source.is_dir() {
        return Err(Failure::usage(format!(
            "{}: --source is not a folder",
            args.source.display()
        )));
    }
    let opts = OptimizeOptions {
        reparse_version: args.reparse.into(),
        container_size: args
            .container_size
            .unwrap_or(OptimizeOptions::default().container_size),
        ..OptimizeOptions::default()
    };
    let unsupported = check_supported(args)?;
    let tmp = prepare_out(&args.to)?;
    let done = match simulate(args, &opts, &tmp) {
        Ok(d) => d,
        Err(f) => {
            let _ = fs::remove_dir_all(&tmp);
            return Err(f);
        }
    };
    // Publish: an empty --to folder is replaced, a missing one created by the rename.
    if args.to.is_dir() {
        fs::remove_dir(&args.to).map_err(|e| {
            let _ = fs::remove_dir_all(&tmp);
            Failure::usage(format!("{}: {e}", args.to.display()))
        })?;
    }
    fs::rename(&tmp, &args.to).map_err(|e| {
        let _ = fs::remove_dir_all(&tmp);
        Failure::usage(format!(
            "cannot move {} to {}: {e}",
            tmp.display(),
            args.to.display()
        ))
    })?;

    let reparse = match args.reparse {
        ReparseArg::V1 => "v1",
        ReparseArg::V2 => "v2",
        ReparseArg::V3 => "v3",
    };
    if args.json {
        let j = OptimizeJson {
            source: args.source.display().to_string(),
            to: args.to.display().to_string(),
            seed: args.seed,
            reparse,
            container_size: opts.container_size,
            files: done.files,
            dirs: done.dirs,
            source_bytes: done.source_bytes,
            files_optimized: done.files_optimized,
            files_skipped: done.files_skipped,
            skipped: done.skipped,
            stubs_written: done.stubs_written,
            unsupported_skipped: unsupported
                .iter()
                .map(|u| SkippedJson {
                    path: u.path.display().to_string(),
                    reason: u.reason.to_string(),
                })
                .collect(),
            gc: done.gc,
            store: StoreJson::from(&done.summary),
        };
        let text = serde_json::to_string_pretty(&j)
            .map_err(|e| Failure::usage(format!("cannot encode JSON: {e}")))?;
        outln!("{text}");
        return Ok(());
    }
    for u in &unsupported {
        outln!("skipped {u}");
    }
    // `-q`: what was skipped (above) and nothing else.
    if crate::output::quiet() {
        return Ok(());
    }
    outln!(
        "imported {} files in {} folders ({}) from {}",
        done.files,
        done.dirs,
        units::size(done.source_bytes),
        args.source.display()
    );
    let reasons: Vec<String> = done
        .skipped
        .iter()
        .map(|(k, v)| format!("{v} {}", k.replace('_', " ")))
        .collect();
    outln!(
        "optimized {} files ({} reparse points), skipped {}{}",
        done.files_optimized,
        reparse,
        done.files_skipped,
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        }
    );
    if let Some(g) = &done.gc {
        outln!(
            "gc: optimized and deleted {} scratch copies; compacted {} containers into new generations ({} Rrtl entries), deleted {} containers, {} chunks and {} stream maps, reclaimed {}",
            g.scratch_files,
            g.compacted_containers,
            g.redirections_written,
            g.deleted_containers,
            g.chunks_deleted,
            g.stream_maps_deleted,
            units::size(g.bytes_reclaimed)
        );
    }
    print_store_text(&done.summary);
    outln!("dedup ratio {}", ratio_text(done.summary.dedup_ratio()));
    outln!(
        "compression ratio {}",
        ratio_text(done.summary.compression_ratio())
    );
    outln!("wrote {} ({} stubs)", args.to.display(), done.stubs_written);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_suffixes_and_reject_junk() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("256K"), Ok(256 << 10));
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(parse_size("").is_err());
        assert!(parse_size("12X").is_err());
        assert!(parse_size("K").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }
}
