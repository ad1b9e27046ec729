//! `rehydrate restore` and `rehydrate verify`: [`dedup_restore::restore_tree`] from a host
//! folder (an ntfs-3g mount of a dedup volume, a copy that kept the reparse points, or
//! `sim optimize` output) into an output folder, or into a sink that keeps nothing (`verify`).
//! This module only parses, prints and sets the exit code.
//!
//! The arguments are in `args.rs`, the report (human and JSON) in `report.rs`.

mod args;
mod report;

use std::path::{Path, PathBuf};
use std::time::Instant;

use dedup_restore::{
    FilterKind, Overwrite, PayloadCrc, RestoreOptions, SourceStore, TreeError, TreeOptions,
    TreePlan, parse_user_path, plan_tree, restore_planned,
};
use platform::{NullVolume, Source, Volume, WinPath};

pub(crate) use args::{RESTORE_AFTER_HELP, RestoreArgs, VerifyArgs};
use report::{Command, Printed, print_report};

use crate::Failure;
use crate::progress::Bar;

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
        ..TreeOptions::default()
    };
    // The walk lists folders in parallel: on the pool, with the threads asked for.
    let (plan, warnings) = pool.install(|| plan(&*source, &opts, &args.paths))?;
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
    // The walk lists folders in parallel: on the pool, with the threads asked for.
    let (plan, warnings) = pool.install(|| plan(&*source, &opts, &args.paths))?;
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
