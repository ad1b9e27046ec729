//! `rehydrate restore` and `rehydrate verify`: [`dedup_restore::restore_tree`] from a host
//! folder (an ntfs-3g mount of a dedup volume, a copy that kept the reparse points, or
//! `sim optimize` output) into an output folder, or into a sink that keeps nothing (`verify`).
//! This module only parses, prints and sets the exit code.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use dedup_restore::{
    EntryResult, EntryStatus, PayloadCrc, RestoreOptions, SourceStore, TreeOptions, TreeReport,
    restore_tree,
};
use platform::{NullVolume, Source, Volume, WinPath};
use serde_json::json;

use crate::Failure;
use crate::progress::Bar;
use crate::{outln, output};

/// `rehydrate restore`.
#[derive(Debug, Args)]
#[cfg_attr(windows, command(after_help = crate::windows::IN_PLACE_HELP))]
pub(crate) struct RestoreArgs {
    /// The volume folder: an ntfs-3g mount of a dedup volume or `sim optimize` output (on
    /// Windows: a drive, a mounted backup image or a folder). Read only, except with
    /// `--in-place`.
    #[arg(long, value_name = "VOLDIR")]
    pub(crate) source: PathBuf,
    /// Output folder (created if missing; must not be inside the source or contain it).
    #[cfg_attr(not(windows), arg(long, value_name = "OUTDIR", required = true))]
    #[cfg_attr(
        windows,
        arg(
            long,
            value_name = "OUTDIR",
            required_unless_present = "in_place",
            conflicts_with = "in_place"
        )
    )]
    pub(crate) to: Option<PathBuf>,
    /// Rebuild the dedup files where they are, on the `--source` volume (Windows only).
    #[cfg(windows)]
    #[arg(long)]
    pub(crate) in_place: bool,
    /// With `--in-place`: the folder holding the backed-up chunk store (its `System Volume
    /// Information\Dedup\ChunkStore\{GUID}.ddp\…`), read only [default: the volume's own].
    #[cfg(windows)]
    #[arg(
        long,
        alias = "source-store",
        value_name = "DIR",
        requires = "in_place"
    )]
    pub(crate) store: Option<PathBuf>,
    /// Volume paths to restore (files or folders, e.g. `\docs\a.pdf` or `docs/a.pdf`); all
    /// when none is given.
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<String>,
    /// Print the result as a JSON document.
    #[arg(long)]
    pub(crate) json: bool,
    /// Skip the SHA-512 check of every chunk (the CRC-64 of every record is always checked).
    #[arg(long)]
    pub(crate) no_verify_hash: bool,
    /// Worker threads for decode and verify (default: all cores; at most 8 per core).
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
}

/// `rehydrate verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The volume folder: an ntfs-3g mount of a dedup volume or `sim optimize` output. Read only.
    #[arg(long, value_name = "VOLDIR")]
    source: PathBuf,
    /// Volume paths to check (files or folders); all when none is given.
    #[arg(value_name = "PATH")]
    paths: Vec<String>,
    /// Print the result as a JSON document.
    #[arg(long)]
    json: bool,
    /// Worker threads (default: all cores; at most 8 per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

/// `1.50 GiB`-style sizes.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.2} {}", UNITS[u])
    }
}

#[allow(clippy::cast_precision_loss)]
fn gbps(bytes: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        bytes as f64 / secs / 1e9
    } else {
        0.0
    }
}

/// Most worker threads per core `--threads` accepts: more only adds switching, and tens of
/// thousands of threads never finish starting.
pub(crate) const THREADS_PER_CORE: usize = 8;

/// A rayon pool of `threads` workers (all cores when `None`; from 1 to
/// [`THREADS_PER_CORE`] × the cores).
pub(crate) fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, Failure> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let max = cores * THREADS_PER_CORE;
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        if n == 0 || n > max {
            return Err(Failure::usage(format!(
                "--threads {n}: must be from 1 to {max} ({THREADS_PER_CORE} per core, {cores} cores)"
            )));
        }
        b = b.num_threads(n);
    }
    b.build()
        .map_err(|e| Failure::usage(format!("cannot start worker threads: {e}")))
}

/// Parses the command line's volume paths (`\docs\a.txt`, `docs/a.txt`).
pub(crate) fn parse_filters(paths: &[String]) -> Result<Vec<WinPath>, Failure> {
    paths
        .iter()
        .map(|p| WinPath::new(p).map_err(|e| Failure::usage(format!("path {p:?}: {e}"))))
        .collect()
}

/// The source folder as a [`Source`], and its canonical path.
#[cfg(unix)]
fn open_source(dir: &Path) -> Result<(Box<dyn Source>, PathBuf), Failure> {
    let s = platform::HostSource::new(dir)
        .map_err(|e| Failure::usage(format!("{}: {e}", dir.display())))?;
    let root = s.root().to_owned();
    Ok((Box::new(s), root))
}

/// The source folder as a [`Source`], and its canonical path.
#[cfg(windows)]
fn open_source(dir: &Path) -> Result<(Box<dyn Source>, PathBuf), Failure> {
    let v = crate::windows::volume_at(dir)?;
    let root = dir
        .canonicalize()
        .map_err(|e| Failure::usage(format!("{}: {e}", dir.display())))?;
    Ok((
        Box::new(platform::VolumeSource::new(v, dir.display().to_string())),
        root,
    ))
}

/// The output folder as a [`Volume`].
#[cfg(unix)]
fn open_dest(dir: &Path) -> Result<Box<dyn Volume>, Failure> {
    let v = platform::HostVolume::new(dir)
        .map_err(|e| Failure::usage(format!("{}: {e}", dir.display())))?;
    Ok(Box::new(v))
}

/// The output folder as a [`Volume`].
#[cfg(windows)]
fn open_dest(dir: &Path) -> Result<Box<dyn Volume>, Failure> {
    Ok(Box::new(crate::windows::volume_at(dir)?))
}

/// The canonical form `p` will have once created: its longest existing ancestor canonicalized,
/// plus the rest.
pub(crate) fn resolve_new(p: &Path) -> Result<PathBuf, Failure> {
    let abs =
        std::path::absolute(p).map_err(|e| Failure::usage(format!("{}: {e}", p.display())))?;
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    loop {
        if let Ok(c) = cur.canonicalize() {
            let mut out = c;
            out.extend(rest.iter().rev());
            return Ok(out);
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                cur = parent;
            }
            _ => return Ok(abs),
        }
    }
}

/// `rehydrate restore`.
pub(crate) fn run_restore(args: &RestoreArgs) -> Result<(), Failure> {
    #[cfg(windows)]
    if args.in_place {
        return crate::windows::run_in_place(args);
    }
    let started = Instant::now();
    let paths = parse_filters(&args.paths)?;
    let to = args
        .to
        .as_deref()
        .ok_or_else(|| Failure::usage("--to OUTDIR is required"))?;
    let (source, src_root) = open_source(&args.source)?;
    let planned = resolve_new(to)?;
    if planned.starts_with(&src_root) || src_root.starts_with(&planned) {
        return Err(Failure::usage(format!(
            "the output folder {} and the source {} overlap; the source is never written",
            planned.display(),
            src_root.display()
        )));
    }
    let pool = thread_pool(args.threads)?;
    std::fs::create_dir_all(to).map_err(|e| Failure::usage(format!("{}: {e}", to.display())))?;
    let dest = open_dest(to)?;
    let store = SourceStore::new(&*source);
    let bar = Bar::new("restore");
    let opts = TreeOptions {
        paths,
        copy_plain: true,
        restore: RestoreOptions {
            verify_hash: !args.no_verify_hash,
            progress: Some(bar.callback()),
            ..RestoreOptions::default()
        },
        ..TreeOptions::default()
    };
    let report = pool.install(|| restore_tree(&*source, &store, &*dest, &opts));
    bar.finish();
    let report = report.map_err(|e| Failure::usage(e.to_string()))?;
    let dst = to.canonicalize().unwrap_or_else(|_| to.to_owned());
    print_report(
        Command::Restore,
        &src_root,
        Some(&dst),
        &report,
        started.elapsed(),
        args.json,
    )
}

/// `rehydrate verify`.
pub(crate) fn run_verify(args: &VerifyArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let paths = parse_filters(&args.paths)?;
    let (source, src_root) = open_source(&args.source)?;
    let pool = thread_pool(args.threads)?;
    let store = SourceStore::new(&*source);
    let bar = Bar::new("verify");
    // A health check of the store: every chunk's stored bytes against their CRC-64 too, even
    // where the chunk decodes to bytes with the right hash.
    let opts = TreeOptions {
        paths,
        copy_plain: false,
        restore: RestoreOptions {
            payload_crc: PayloadCrc::Always,
            progress: Some(bar.callback()),
            ..RestoreOptions::default()
        },
        ..TreeOptions::default()
    };
    let sink = NullVolume::default();
    let report = pool.install(|| restore_tree(&*source, &store, &sink, &opts));
    bar.finish();
    let report = report.map_err(|e| Failure::usage(e.to_string()))?;
    print_report(
        Command::Verify,
        &src_root,
        None,
        &report,
        started.elapsed(),
        args.json,
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Restore,
    Verify,
}

impl Command {
    fn name(self) -> &'static str {
        match self {
            Self::Restore => "restore",
            Self::Verify => "verify",
        }
    }
}

/// One entry as JSON: `container`, `offset` and `local_id` come from the typed error.
fn entry_json(cmd: Command, e: &EntryResult) -> serde_json::Value {
    let h = e.hresult();
    json!({
        "path": e.path,
        "status": match e.status {
            EntryStatus::Restored if cmd == Command::Verify => "ok",
            EntryStatus::Restored => "restored",
            EntryStatus::Copied => "copied",
            EntryStatus::Skipped => "skipped",
            EntryStatus::Failed => "failed",
            EntryStatus::Conflict => "conflict",
        },
        "hresult": format!("{:#010x}", h.0),
        "code": h.name(),
        "bytes": e.bytes,
        "detail": e.error.as_ref().map(|err| format!("{}: {err}", e.path)),
        "container": e.error.as_ref().and_then(|err| err.container()),
        "offset": e.error.as_ref().and_then(dedup_restore::FileError::offset),
        "local_id": e.error.as_ref().and_then(dedup_restore::FileError::local_id),
    })
}

fn print_report(
    cmd: Command,
    src: &Path,
    dst: Option<&Path>,
    report: &TreeReport,
    elapsed: Duration,
    as_json: bool,
) -> Result<(), Failure> {
    let what = cmd.name();
    let restored = report.count(EntryStatus::Restored);
    let copied = report.count(EntryStatus::Copied);
    let failed = report.count(EntryStatus::Failed);
    let restored_bytes = report.bytes(EntryStatus::Restored);
    let secs = elapsed.as_secs_f64();
    let engine_secs = report.engine_time.as_secs_f64();
    if as_json {
        let files: Vec<_> = report.entries.iter().map(|e| entry_json(cmd, e)).collect();
        let mut doc = json!({
            "command": what,
            "source": src.display().to_string(),
            "failed": failed,
            "elapsed_seconds": secs,
            "engine_seconds": engine_secs,
            "gb_per_second": gbps(restored_bytes, engine_secs),
            "files": files,
        });
        if cmd == Command::Verify {
            doc["verified"] = json!(restored);
            doc["verified_bytes"] = json!(restored_bytes);
            doc["damaged"] = json!(failed);
        } else {
            doc["to"] = json!(dst.map(|d| d.display().to_string()));
            doc["restored"] = json!(restored);
            doc["restored_bytes"] = json!(restored_bytes);
            doc["copied"] = json!(copied);
            doc["copied_bytes"] = json!(report.bytes(EntryStatus::Copied));
            doc["skipped"] = json!(report.count(EntryStatus::Skipped));
            doc["leftovers_removed"] = json!(
                report
                    .leftovers_removed
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
            );
        }
        output::json(&doc);
    } else {
        print_human(cmd, src, dst, report, secs, engine_secs);
    }
    if failed > 0 {
        Err(Failure::check(format!(
            "{what}: {failed} of {} files {}",
            report.entries.len(),
            if cmd == Command::Verify {
                "are damaged"
            } else {
                "failed"
            }
        )))
    } else {
        Ok(())
    }
}

fn print_human(
    cmd: Command,
    src: &Path,
    dst: Option<&Path>,
    report: &TreeReport,
    secs: f64,
    engine_secs: f64,
) {
    let what = cmd.name();
    let verify = cmd == Command::Verify;
    let restored_bytes = report.bytes(EntryStatus::Restored);
    match dst {
        Some(d) => outln!("rehydrate {what}: {} -> {}", src.display(), d.display()),
        None => outln!("rehydrate {what}: {}", src.display()),
    }
    let label = if verify {
        "dedup files verified"
    } else {
        "dedup files restored"
    };
    outln!(
        "  {label:<24} {:>8}   {:>12}",
        report.count(EntryStatus::Restored),
        human(restored_bytes)
    );
    if !verify {
        outln!(
            "  {:<24} {:>8}   {:>12}",
            "not dedup (copied)",
            report.count(EntryStatus::Copied),
            human(report.bytes(EntryStatus::Copied))
        );
    }
    if !verify {
        outln!(
            "  {:<24} {:>8}",
            "skipped (already there)",
            report.count(EntryStatus::Skipped)
        );
    }
    outln!(
        "  {:<24} {:>8}",
        if verify { "damaged" } else { "failed" },
        report.count(EntryStatus::Failed)
    );
    if !report.leftovers_removed.is_empty() {
        outln!(
            "  removed {} temporary file(s) an interrupted run left behind",
            report.leftovers_removed.len()
        );
    }
    outln!(
        "  elapsed {secs:.2} s; engine {engine_secs:.2} s at {:.2} GB/s of logical data",
        gbps(restored_bytes, engine_secs)
    );
    let failures: Vec<&EntryResult> = report
        .entries
        .iter()
        .filter(|e| e.status == EntryStatus::Failed)
        .collect();
    if !failures.is_empty() {
        outln!(
            "{}:",
            if verify {
                "damaged files"
            } else {
                "failed files"
            }
        );
        for e in failures {
            let why = e
                .error
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            outln!("  {}  {}\n      {}: {why}", e.path, e.hresult(), e.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human(1536), "1.50 KiB");
        assert_eq!(human(12), "12 B");
    }
}
