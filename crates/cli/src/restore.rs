//! `rehydrate restore` and `rehydrate verify`: [`dedup_restore::restore_tree`] from a host
//! folder (an ntfs-3g mount of a dedup volume, a copy that kept the reparse points, or
//! `sim optimize` output) into an output folder, or into a sink that keeps nothing (`verify`).
//! This module only parses, prints and sets the exit code.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use dedup_restore::{
    EntryResult, EntryStatus, FilterKind, Overwrite, PayloadCrc, RestoreOptions, SourceStore,
    TreeError, TreeOptions, TreePlan, TreeReport, parse_user_path, plan_tree, restore_planned,
};
use platform::{NullVolume, Source, Volume, WinPath};
use serde_json::json;

use crate::progress::Bar;
use crate::{Failure, units};
use crate::{outln, output};

/// `rehydrate restore --help`, after the options: what is kept, examples, exit codes.
pub(crate) const RESTORE_AFTER_HELP: &str = "\
Kept: file contents (every dedup chunk checked against its SHA-512 hash unless
--no-verify-hash); modification and access times of files and folders; read-only, as a mode
without write permission; the other Windows attribute bits in the extended attribute
user.rehydrate.attributes, where the output folder takes extended attributes.
Not restored: ACLs, named streams.

Examples:
  rehydrate restore --source /mnt/dedupvol --to /srv/restored
  rehydrate restore --source /mnt/dedupvol --to /srv/restored 'Users/ann/Documents/'
  rehydrate restore --source /mnt/dedupvol --to /srv/restored --include '*.docx' --dry-run

Exit codes: 0 everything restored, copied or already there; 1 a file failed or is in conflict,
or the source is not a dedup volume; 2 the command line is wrong, or the source or the
output folder cannot be used at all.";

/// `rehydrate restore`.
// Command-line switches are bools by nature.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
#[cfg_attr(windows, command(after_help = crate::windows::IN_PLACE_HELP))]
pub(crate) struct RestoreArgs {
    /// The volume folder: an ntfs-3g mount of a dedup volume or `sim optimize` output (on
    /// Windows: a drive, a mounted backup image or a folder). Read only, except with
    /// `--in-place`.
    /// A disk image file (raw volume or disk, VHD, VHDX, E01: recognised from its bytes) is
    /// read natively, with no mount.
    #[arg(long, value_name = "VOLDIR|IMAGE")]
    pub(crate) source: PathBuf,
    /// With an image: the partition to read (its number, from 1) [default: the only NTFS one].
    #[arg(long, value_name = "N")]
    pub(crate) partition: Option<u32>,
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
    /// Volume paths to restore (files or folders, matched case-insensitively): `\docs\a.pdf`,
    /// `docs/a.pdf`, `/docs/`, `./docs`, or a host path under `--source`; all when none is
    /// given. Each must match something.
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<String>,
    #[command(flatten)]
    pub(crate) globs: GlobArgs,
    /// What to do with a file already in the output folder: `never` keeps it (identical:
    /// skipped; different: a conflict, exit code 1), `if-changed` replaces it when its bytes
    /// differ, `always` replaces it. Folders and links there are never replaced.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "never")]
    pub(crate) overwrite: OverwriteArg,
    /// rsync's spelling of `--overwrite never`.
    #[arg(long, hide = true, conflicts_with = "overwrite")]
    pub(crate) ignore_existing: bool,
    /// Show what would be restored, copied, skipped, replaced and in conflict, and where,
    /// writing nothing (the output folder is not even created).
    #[arg(long)]
    pub(crate) dry_run: bool,
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
    /// The volume folder: an ntfs-3g mount of a dedup volume or `sim optimize` output; or a
    /// disk image file (raw volume or disk, VHD, VHDX, E01). Read only.
    #[arg(long, value_name = "VOLDIR|IMAGE")]
    source: PathBuf,
    /// With an image: the partition to read (its number, from 1) [default: the only NTFS one].
    #[arg(long, value_name = "N")]
    partition: Option<u32>,
    /// Volume paths to check (files or folders, as for `restore`); all when none is given.
    #[arg(value_name = "PATH")]
    paths: Vec<String>,
    #[command(flatten)]
    globs: GlobArgs,
    /// Print the result as a JSON document.
    #[arg(long)]
    json: bool,
    /// Worker threads (default: all cores; at most 8 per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

/// `--include` / `--exclude`, shared by `restore` and `verify`.
#[derive(Debug, Args)]
pub(crate) struct GlobArgs {
    /// Only files matching GLOB (or under a folder matching it); repeatable. Matched
    /// case-insensitively on the path relative to the source with `/` separators: a pattern
    /// without `/` against each name (`*.pdf`), one with `/` against the whole path
    /// (`docs/**/*.pdf`). Each must match something.
    #[arg(long, value_name = "GLOB")]
    pub(crate) include: Vec<String>,
    /// Leave out files and folders matching GLOB (as for `--include`); repeatable; wins over
    /// `--include`.
    #[arg(long, value_name = "GLOB")]
    pub(crate) exclude: Vec<String>,
}

/// `--overwrite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OverwriteArg {
    /// Keep every existing file (identical: skipped; different: a conflict).
    Never,
    /// Replace existing files whose bytes differ.
    IfChanged,
    /// Replace every existing file.
    Always,
}

impl From<OverwriteArg> for Overwrite {
    fn from(a: OverwriteArg) -> Self {
        match a {
            OverwriteArg::Never => Self::Never,
            OverwriteArg::IfChanged => Self::IfChanged,
            OverwriteArg::Always => Self::Always,
        }
    }
}

/// Conflicting paths listed in the human output (all of them are in `--json`).
const CONFLICTS_SHOWN: usize = 10;

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

/// Parses the command line's volume paths as people type them (`\docs\a.txt`, `docs/a.txt`,
/// `./docs/`, a host path under the source: `source` as given or `root`, its canonical form).
pub(crate) fn parse_filters(
    paths: &[String],
    source: &Path,
    root: &Path,
) -> Result<Vec<WinPath>, Failure> {
    let given = std::path::absolute(source).unwrap_or_else(|_| source.to_owned());
    paths
        .iter()
        .map(|p| parse_user_path(p, &[root, &given]).map_err(|e| Failure::usage(e.to_string())))
        .collect()
}

/// Parses volume paths as people type them, without a host folder to take them relative to
/// (`restore --in-place`, `compare`).
#[cfg(windows)]
pub(crate) fn parse_volume_paths(paths: &[String]) -> Result<Vec<WinPath>, Failure> {
    paths
        .iter()
        .map(|p| parse_user_path(p, &[]).map_err(|e| Failure::usage(e.to_string())))
        .collect()
}

/// Walks the source and runs the pre-flight check: a filter that matches nothing, a source
/// that is not a dedup volume or whose chunk store is missing fail in one line (exit 1)
/// before anything is created; warnings go to stderr and are returned for `--json`.
fn plan(
    source: &dyn Source,
    opts: &TreeOptions,
    typed: &[String],
) -> Result<(TreePlan, Vec<String>), Failure> {
    let plan = plan_tree(source, opts).map_err(|e| match e {
        TreeError::NoMatch {
            kind: FilterKind::Path,
            index,
            ..
        } => Failure::check(format!(
            "\"{}\" matches nothing in the source",
            typed.get(index).map_or("", String::as_str)
        )),
        TreeError::NoMatch { .. } => Failure::check(e.to_string()),
        TreeError::Glob(_) => Failure::usage(e.to_string()),
        other => Failure::usage(other.to_string()),
    })?;
    let warnings: Vec<String> = plan
        .check()
        .map_err(|e| Failure::check(e.to_string()))?
        .iter()
        .map(ToString::to_string)
        .collect();
    for w in &warnings {
        eprintln!("rehydrate: warning: {w}");
    }
    Ok((plan, warnings))
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
    let to = args
        .to
        .as_deref()
        .ok_or_else(|| Failure::usage("--to OUTDIR is required"))?;
    let (source, src_root) = match crate::image::open(&args.source, args.partition)? {
        Some(image) => image,
        None => open_source(&args.source)?,
    };
    let paths = parse_filters(&args.paths, &args.source, &src_root)?;
    let planned = resolve_new(to)?;
    if planned.starts_with(&src_root) || src_root.starts_with(&planned) {
        return Err(Failure::usage(format!(
            "the output folder {} and the source {} overlap; the source is never written",
            planned.display(),
            src_root.display()
        )));
    }
    let pool = thread_pool(args.threads)?;
    let overwrite = if args.ignore_existing {
        Overwrite::Never
    } else {
        args.overwrite.into()
    };
    let mut opts = TreeOptions {
        paths,
        include: args.globs.include.clone(),
        exclude: args.globs.exclude.clone(),
        copy_plain: true,
        overwrite,
        dry_run: args.dry_run,
        restore: RestoreOptions {
            verify_hash: !args.no_verify_hash,
            ..RestoreOptions::default()
        },
    };
    let (plan, warnings) = plan(&*source, &opts, &args.paths)?;
    // A dry run creates nothing: a missing output folder is an empty one.
    let dest: Box<dyn Volume> = if args.dry_run && !to.exists() {
        Box::new(NullVolume::default())
    } else {
        if !args.dry_run {
            std::fs::create_dir_all(to)
                .map_err(|e| Failure::usage(format!("{}: {e}", to.display())))?;
        }
        open_dest(to)?
    };
    let store = SourceStore::new(&*source);
    let bar = Bar::new(if args.dry_run { "dry run" } else { "restore" });
    opts.restore.progress = Some(bar.callback());
    let report = pool.install(|| restore_planned(plan, &*source, &store, &*dest, &opts));
    bar.finish();
    let report = report.map_err(|e| Failure::usage(e.to_string()))?;
    let dst = to.canonicalize().unwrap_or(planned);
    print_report(
        Command::Restore,
        &Printed {
            src: &src_root,
            dst: Some(&dst),
            overwrite: Some(overwrite),
            warnings: &warnings,
        },
        &report,
        started.elapsed(),
        args.json,
    )
}

/// `rehydrate verify`.
pub(crate) fn run_verify(args: &VerifyArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let (source, src_root) = match crate::image::open(&args.source, args.partition)? {
        Some(image) => image,
        None => open_source(&args.source)?,
    };
    let paths = parse_filters(&args.paths, &args.source, &src_root)?;
    let pool = thread_pool(args.threads)?;
    let store = SourceStore::new(&*source);
    // A health check of the store: every chunk's stored bytes against their CRC-64 too, even
    // where the chunk decodes to bytes with the right hash.
    let mut opts = TreeOptions {
        paths,
        include: args.globs.include.clone(),
        exclude: args.globs.exclude.clone(),
        copy_plain: false,
        restore: RestoreOptions {
            payload_crc: PayloadCrc::Always,
            ..RestoreOptions::default()
        },
        ..TreeOptions::default()
    };
    let (plan, warnings) = plan(&*source, &opts, &args.paths)?;
    let bar = Bar::new("verify");
    opts.restore.progress = Some(bar.callback());
    let sink = NullVolume::default();
    let report = pool.install(|| restore_planned(plan, &*source, &store, &sink, &opts));
    bar.finish();
    let report = report.map_err(|e| Failure::usage(e.to_string()))?;
    print_report(
        Command::Verify,
        &Printed {
            src: &src_root,
            dst: None,
            overwrite: None,
            warnings: &warnings,
        },
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

/// What the report is about, beside the report itself.
struct Printed<'a> {
    src: &'a Path,
    /// The output folder (`restore`).
    dst: Option<&'a Path>,
    /// The overwrite policy (`restore`).
    overwrite: Option<Overwrite>,
    /// The pre-flight warnings.
    warnings: &'a [String],
}

fn overwrite_name(o: Overwrite) -> &'static str {
    match o {
        Overwrite::Never => "never",
        Overwrite::IfChanged => "if-changed",
        Overwrite::Always => "always",
    }
}

/// Where an entry lands in the output folder.
fn destination(dst: &Path, volume_path: &str) -> PathBuf {
    let mut p = dst.to_owned();
    p.extend(volume_path.split('\\').filter(|c| !c.is_empty()));
    p
}

fn status_name(cmd: Command, s: EntryStatus) -> &'static str {
    match s {
        EntryStatus::Restored if cmd == Command::Verify => "ok",
        EntryStatus::Restored => "restored",
        EntryStatus::Copied => "copied",
        EntryStatus::Skipped => "skipped",
        EntryStatus::Conflict => "conflict",
        EntryStatus::Failed => "failed",
    }
}

/// One entry as JSON: `container`, `offset` and `local_id` come from the typed error.
fn entry_json(cmd: Command, dst: Option<&Path>, e: &EntryResult) -> serde_json::Value {
    let h = e.hresult();
    let mut v = json!({
        "path": e.path,
        "status": status_name(cmd, e.status),
        "hresult": format!("{:#010x}", h.0),
        "code": h.name(),
        "bytes": e.bytes,
        "detail": e.error.as_ref().map(|err| format!("{}: {err}", e.path)),
        "container": e.error.as_ref().and_then(|err| err.container()),
        "offset": e.error.as_ref().and_then(dedup_restore::FileError::offset),
        "local_id": e.error.as_ref().and_then(dedup_restore::FileError::local_id),
    });
    if let Some(d) = dst {
        v["replaced"] = json!(e.replaced);
        v["destination"] = json!(destination(d, &e.path).display().to_string());
    }
    v
}

fn print_report(
    cmd: Command,
    about: &Printed<'_>,
    report: &TreeReport,
    elapsed: Duration,
    as_json: bool,
) -> Result<(), Failure> {
    let what = cmd.name();
    let restored = report.count(EntryStatus::Restored);
    let copied = report.count(EntryStatus::Copied);
    let failed = report.count(EntryStatus::Failed);
    let conflicts = report.count(EntryStatus::Conflict);
    let restored_bytes = report.bytes(EntryStatus::Restored);
    let secs = elapsed.as_secs_f64();
    let engine_secs = report.engine_time.as_secs_f64();
    if as_json {
        let files: Vec<_> = report
            .entries
            .iter()
            .map(|e| entry_json(cmd, about.dst, e))
            .collect();
        let mut doc = json!({
            "command": what,
            "source": about.src.display().to_string(),
            "failed": failed,
            "elapsed_seconds": secs,
            "engine_seconds": engine_secs,
            "gib_per_second": units::gib_per_second(restored_bytes, engine_secs),
            "warnings": about.warnings,
            "files": files,
        });
        if cmd == Command::Verify {
            doc["verified"] = json!(restored);
            doc["verified_bytes"] = json!(restored_bytes);
        } else {
            doc["to"] = json!(about.dst.map(|d| d.display().to_string()));
            doc["dry_run"] = json!(report.dry_run);
            doc["overwrite"] = json!(about.overwrite.map(overwrite_name));
            doc["restored"] = json!(restored);
            doc["restored_bytes"] = json!(restored_bytes);
            doc["copied"] = json!(copied);
            doc["copied_bytes"] = json!(report.bytes(EntryStatus::Copied));
            doc["skipped"] = json!(report.count(EntryStatus::Skipped));
            doc["replaced"] = json!(report.entries.iter().filter(|e| e.replaced).count());
            doc["conflicts"] = json!(conflicts);
            doc["conflicting"] = json!(
                report
                    .entries
                    .iter()
                    .filter(|e| e.status == EntryStatus::Conflict)
                    .map(|e| e.path.as_str())
                    .collect::<Vec<_>>()
            );
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
        print_human(cmd, about, report, secs, engine_secs);
    }
    if failed > 0 || conflicts > 0 {
        let would = if report.dry_run { "would " } else { "" };
        let mut parts = Vec::new();
        if conflicts > 0 {
            parts.push(format!(
                "{conflicts} file(s) already there with other content {would}be kept (conflicts; see --overwrite)"
            ));
        }
        if failed > 0 {
            parts.push(format!(
                "{failed} {}",
                if report.dry_run {
                    "would fail"
                } else {
                    "failed"
                }
            ));
        }
        Err(Failure::check(format!(
            "{what}: of {} files, {}",
            report.entries.len(),
            parts.join(", ")
        )))
    } else {
        Ok(())
    }
}

/// The human report: the summary (left out by `--quiet`), every file with what became of it
/// (`--verbose`; a dry run always lists them), then conflicts and failures (always).
fn print_human(
    cmd: Command,
    about: &Printed<'_>,
    report: &TreeReport,
    secs: f64,
    engine_secs: f64,
) {
    if !output::quiet() {
        print_summary(cmd, about, report, secs, engine_secs);
    }
    if output::verbose() && !report.dry_run {
        outln!("files:");
        for e in &report.entries {
            outln!("  {:<9} {}", status_name(cmd, e.status), e.path);
        }
    }
    print_problems(report);
}

fn print_summary(
    cmd: Command,
    about: &Printed<'_>,
    report: &TreeReport,
    secs: f64,
    engine_secs: f64,
) {
    let what = cmd.name();
    let verify = cmd == Command::Verify;
    let dry = report.dry_run;
    let restored_bytes = report.bytes(EntryStatus::Restored);
    match about.dst {
        Some(d) if dry => outln!(
            "rehydrate {what} --dry-run: {} -> {} (nothing is written)",
            about.src.display(),
            d.display()
        ),
        Some(d) => outln!(
            "rehydrate {what}: {} -> {}",
            about.src.display(),
            d.display()
        ),
        None => outln!("rehydrate {what}: {}", about.src.display()),
    }
    let (rlabel, clabel) = match (verify, dry) {
        (true, _) => ("dedup files verified", ""),
        (false, true) => ("dedup files to restore", "not dedup (to copy)"),
        (false, false) => ("dedup files restored", "not dedup (copied)"),
    };
    outln!(
        "  {rlabel:<24} {:>8}   {:>12}",
        report.count(EntryStatus::Restored),
        units::size(restored_bytes)
    );
    if !verify {
        outln!(
            "  {clabel:<24} {:>8}   {:>12}",
            report.count(EntryStatus::Copied),
            units::size(report.bytes(EntryStatus::Copied))
        );
    }
    outln!(
        "  {:<24} {:>8}",
        if dry { "would fail" } else { "failed" },
        report.count(EntryStatus::Failed)
    );
    let skipped = report.count(EntryStatus::Skipped);
    let conflicts: Vec<&EntryResult> = report
        .entries
        .iter()
        .filter(|e| e.status == EntryStatus::Conflict)
        .collect();
    let replaced = report.entries.iter().filter(|e| e.replaced).count();
    if !verify && (skipped > 0 || !conflicts.is_empty() || replaced > 0) {
        let would = if dry { "would be " } else { "" };
        outln!(
            "  already there: {skipped} skipped (identical), {} conflicting ({would}kept{}), {replaced} {would}replaced",
            conflicts.len(),
            if conflicts.is_empty() {
                ""
            } else {
                "; --overwrite if-changed replaces them"
            }
        );
    }
    if !report.leftovers_removed.is_empty() {
        outln!(
            "  removed {} temporary file(s) an interrupted run left behind",
            report.leftovers_removed.len()
        );
    }
    if !dry {
        outln!(
            "  elapsed {secs:.2} s; engine {engine_secs:.2} s at {} of logical data",
            units::rate(restored_bytes, engine_secs)
        );
    }
    if dry && let Some(d) = about.dst {
        outln!("plan:");
        for e in &report.entries {
            let action = match e.status {
                EntryStatus::Restored | EntryStatus::Copied if e.replaced => "replace",
                EntryStatus::Restored => "restore",
                EntryStatus::Copied => "copy",
                EntryStatus::Skipped => "skip",
                EntryStatus::Conflict => "conflict",
                EntryStatus::Failed => "fail",
            };
            outln!(
                "  {action:<9} {} -> {}",
                e.path,
                destination(d, &e.path).display()
            );
        }
    }
}

/// Conflicts and failures, one line each (conflicts past the first ten counted).
fn print_problems(report: &TreeReport) {
    let conflicts: Vec<&EntryResult> = report
        .entries
        .iter()
        .filter(|e| e.status == EntryStatus::Conflict)
        .collect();
    if !conflicts.is_empty() {
        outln!(
            "{}",
            output::yellow("conflicting files (already there with other content, kept):")
        );
        for e in conflicts.iter().take(CONFLICTS_SHOWN) {
            outln!("  {}", e.path);
        }
        if conflicts.len() > CONFLICTS_SHOWN {
            outln!(
                "  and {} more (all of them in --json)",
                conflicts.len() - CONFLICTS_SHOWN
            );
        }
    }
    let failures: Vec<&EntryResult> = report
        .entries
        .iter()
        .filter(|e| e.status == EntryStatus::Failed)
        .collect();
    if !failures.is_empty() {
        outln!("{}", output::red("failed files:"));
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
