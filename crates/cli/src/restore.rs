//! `rehydrate restore` and `rehydrate verify`: the engine (`dedup_restore::restore_files`) over
//! a host-directory volume.
//!
//! The source folder (an ntfs-3g mount of a dedup volume, or `sim optimize` output) is both
//! where the dedup reparse points are read and the backup medium the chunk store is read from
//! (a [`HostDirStore`] over it). It is only read.
//!
//! `restore`: directories, ordinary files and symbolic links are copied into the output folder
//! (each file through a temporary name, renamed into place when complete); dedup files are
//! staged in memory over the output folder ([`crate::staged::StagedVolume`]) and rebuilt by the
//! engine, at most [`MAX_FILES`] per call. A file that fails leaves nothing at its path.
//!
//! `verify`: the same engine run with the stubs staged over a volume that keeps no data, so every
//! stream map and chunk a dedup file uses is read and checked (CRC-64, Xpress decode, SHA-512)
//! with memory bounded by the engine's read window, and nothing is written.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use dedup_restore::{
    DEDUP_RECONSTRUCT_UNOPTIMIZED, HostDirStore, Hresult, MAX_FILES, PayloadCrc, Progress,
    RestoreOptions, restore_files,
};
use platform::{HostVolume, Volume, WinPath, attr};
use serde_json::json;

use crate::Failure;
use crate::source::{self, Entry, Kind};
use crate::staged::{NullVolume, StagedVolume, Stub};

/// `rehydrate restore`.
#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// The volume folder: an ntfs-3g mount of a dedup volume or `sim optimize` output. Read only.
    #[arg(long, value_name = "VOLDIR")]
    source: PathBuf,
    /// Output folder (created if missing; must not be inside the source or contain it).
    #[arg(long, value_name = "OUTDIR")]
    to: PathBuf,
    /// Volume paths to restore (files or folders, e.g. `\docs\a.pdf` or `docs/a.pdf`); all
    /// when none is given.
    #[arg(value_name = "PATH")]
    paths: Vec<String>,
    /// Print the result as a JSON document.
    #[arg(long)]
    json: bool,
    /// Skip the SHA-512 check of every chunk (the CRC-64 of every record is always checked).
    #[arg(long)]
    no_verify_hash: bool,
    /// Worker threads for decode and verify (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
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
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

/// What happened to one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// A dedup file rebuilt (or, for verify, checked).
    Restored,
    /// Not a dedup file: copied as it is.
    Copied,
    /// Failed.
    Failed,
}

#[derive(Debug, Clone)]
struct Outcome {
    path: String,
    status: Status,
    hresult: Hresult,
    detail: Option<String>,
    bytes: u64,
}

impl Outcome {
    fn failed(path: impl Into<String>, hresult: Hresult, detail: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            status: Status::Failed,
            hresult,
            detail: Some(detail.into()),
            bytes: 0,
        }
    }
}

/// A progress line on stderr, redrawn at most ten times a second, only when stderr is a
/// terminal.
struct Bar {
    enabled: bool,
    label: &'static str,
    total: u64,
    done: AtomicU64,
    started: Instant,
    last: Mutex<Instant>,
}

impl Bar {
    fn new(label: &'static str, total: u64) -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Self {
            enabled: std::io::stderr().is_terminal(),
            label,
            total,
            done: AtomicU64::new(0),
            started: now,
            last: Mutex::new(now.checked_sub(Duration::from_secs(1)).unwrap_or(now)),
        })
    }

    fn set(&self, done: u64) {
        self.done.store(done, Ordering::Relaxed);
        self.draw(false);
    }

    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_sign_loss,
        clippy::cast_possible_truncation
    )]
    fn draw(&self, force: bool) {
        if !self.enabled {
            return;
        }
        let Ok(mut last) = self.last.try_lock() else {
            return;
        };
        if !force && last.elapsed() < Duration::from_millis(100) {
            return;
        }
        *last = Instant::now();
        let done = self.done.load(Ordering::Relaxed).min(self.total);
        let frac = if self.total == 0 {
            1.0
        } else {
            done as f64 / self.total as f64
        };
        let width = 30;
        let filled = ((frac * f64::from(width)) as u32).min(width);
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{} [{}{}] {:5.1}% {} / {} {:.2} GB/s ",
            self.label,
            "#".repeat(filled as usize),
            "-".repeat((width - filled) as usize),
            frac * 100.0,
            human(done),
            human(self.total),
            done as f64 / secs / 1e9
        );
        let _ = err.flush();
    }

    fn finish(&self) {
        if self.enabled {
            self.draw(true);
            eprintln!();
        }
    }
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

fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, Failure> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        if n == 0 {
            return Err(Failure::usage("--threads must be at least 1"));
        }
        b = b.num_threads(n);
    }
    b.build()
        .map_err(|e| Failure::io(format!("cannot start worker threads: {e}")))
}

/// Reads the stubs of `entries` (reparse buffer and attributes) from the source.
fn load_stub(e: &Entry, logical: u64) -> Result<Stub, Outcome> {
    match source::read_reparse(&e.host) {
        Ok(Some(reparse)) => Ok(Stub {
            reparse,
            attributes: source::read_attributes(&e.host).unwrap_or(attr::ARCHIVE)
                & !attr::REPARSE_POINT,
            logical,
        }),
        Ok(None) => Err(Outcome::failed(
            e.win.to_string(),
            Hresult::E_FAIL,
            format!("{}: the reparse point disappeared", e.host.display()),
        )),
        Err(err) => Err(Outcome::failed(
            e.win.to_string(),
            Hresult::E_FAIL,
            format!("{}: reading the reparse point: {err}", e.host.display()),
        )),
    }
}

/// Runs the engine over one batch of staged stubs (at most [`MAX_FILES`]).
fn run_batch(
    target: &dyn Volume,
    store: &HostDirStore,
    batch: Vec<(WinPath, Stub)>,
    opts: &RestoreOptions,
    pool: &rayon::ThreadPool,
    out: &mut Vec<Outcome>,
) {
    debug_assert!(batch.len() <= MAX_FILES);
    let paths: Vec<WinPath> = batch.iter().map(|(p, _)| p.clone()).collect();
    let staged = StagedVolume::new(target, batch);
    let report =
        pool.install(|| restore_files(&staged, &paths, store, DEDUP_RECONSTRUCT_UNOPTIMIZED, opts));
    match report {
        Ok(r) => {
            for f in r.files {
                out.push(match f.result {
                    Hresult::S_OK => Outcome {
                        path: f.path.to_string(),
                        status: Status::Restored,
                        hresult: f.result,
                        detail: None,
                        bytes: f.logical_size,
                    },
                    h if h.is_success() => Outcome::failed(
                        f.path.to_string(),
                        h,
                        "the engine did not see a dedup reparse point",
                    ),
                    h => Outcome::failed(
                        f.path.to_string(),
                        h,
                        f.detail.unwrap_or_else(|| "no detail".into()),
                    ),
                });
            }
        }
        Err(e) => {
            for p in paths {
                out.push(Outcome::failed(p.to_string(), e.hresult(), e.to_string()));
            }
        }
    }
}

fn canonical(p: &Path) -> Result<PathBuf, Failure> {
    p.canonicalize()
        .map_err(|e| Failure::io(format!("{}: {e}", p.display())))
}

/// The canonical form `p` will have once created: its longest existing ancestor canonicalized,
/// plus the rest.
fn resolve_new(p: &Path) -> Result<PathBuf, Failure> {
    let abs = std::path::absolute(p).map_err(|e| Failure::io(format!("{}: {e}", p.display())))?;
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

/// Copies an ordinary file to `dst` through a temporary sibling; nothing is left on failure.
fn copy_file(src: &Path, dst: &Path) -> std::io::Result<u64> {
    let name = dst
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    let tmp = dst.with_file_name(format!(".{name}.rehydrate-partial"));
    let r = std::fs::copy(src, &tmp).and_then(|n| {
        if std::fs::symlink_metadata(dst).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "the output file already exists",
            ));
        }
        std::fs::rename(&tmp, dst).map(|()| n)
    });
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// The host path of `win`'s parent in the output folder (created) and `win`'s name, or why not.
fn output_slot(out: &HostVolume, win: &WinPath) -> Result<PathBuf, Outcome> {
    let fail = |h: Hresult, d: String| Outcome::failed(win.to_string(), h, d);
    let parent = win.parent().unwrap_or_else(WinPath::root);
    out.create_dir_all(&parent).map_err(|e| {
        fail(
            dedup_restore::from_platform(&e),
            format!("output folder: {e}"),
        )
    })?;
    match out.exists(win) {
        Ok(false) => {}
        Ok(true) => {
            return Err(fail(
                Hresult::from_win32(183),
                format!("{win}: already exists in the output folder"),
            ));
        }
        Err(e) => return Err(fail(dedup_restore::from_platform(&e), e.to_string())),
    }
    let host_parent = match out.host_path(&parent) {
        Ok(Some(p)) => p,
        Ok(None) => {
            return Err(fail(
                Hresult::E_FAIL,
                format!("{parent}: missing in the output folder"),
            ));
        }
        Err(e) => return Err(fail(dedup_restore::from_platform(&e), e.to_string())),
    };
    Ok(host_parent.join(win.file_name().unwrap_or_default()))
}

/// `rehydrate restore`.
pub(crate) fn run_restore(args: &RestoreArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let filters = source::parse_filters(&args.paths).map_err(Failure::usage)?;
    let src = canonical(&args.source)?;
    let planned = resolve_new(&args.to)?;
    if planned.starts_with(&src) || src.starts_with(&planned) {
        return Err(Failure::usage(format!(
            "the output folder {} and the source {} overlap; the source is never written",
            planned.display(),
            src.display()
        )));
    }
    std::fs::create_dir_all(&args.to)
        .map_err(|e| Failure::io(format!("{}: {e}", args.to.display())))?;
    let dst = canonical(&args.to)?;
    let pool = thread_pool(args.threads)?;
    let scan = source::scan(&src, &filters).map_err(Failure::io)?;
    let store =
        HostDirStore::new(&src).map_err(|e| Failure::io(format!("{}: {e}", src.display())))?;
    let out = HostVolume::new(&dst).map_err(|e| Failure::io(format!("{}: {e}", dst.display())))?;

    let mut outcomes: Vec<Outcome> = Vec::new();
    for p in &scan.problems {
        outcomes.push(Outcome::failed(&p.path, Hresult::E_FAIL, &p.reason));
    }
    for f in &scan.unmatched {
        outcomes.push(Outcome::failed(
            f.to_string(),
            Hresult::from_win32(2),
            format!("{f}: not found on the source volume"),
        ));
    }
    let total: u64 = scan
        .entries
        .iter()
        .map(|e| match e.kind {
            Kind::File { len } => len,
            Kind::Stub { logical } => logical,
            _ => 0,
        })
        .sum();
    let bar = Bar::new("restore", total);
    let base = Arc::new(AtomicU64::new(0));
    let mut opts = RestoreOptions {
        verify_hash: !args.no_verify_hash,
        ..RestoreOptions::default()
    };
    {
        let (bar, base) = (bar.clone(), base.clone());
        opts.progress = Some(Arc::new(move |p: Progress| {
            bar.set(base.load(Ordering::Relaxed) + p.bytes_done);
        }));
    }
    let mut engine_time = Duration::ZERO;
    let mut batch: Vec<(WinPath, Stub)> = Vec::new();
    let mut flush = |batch: &mut Vec<(WinPath, Stub)>, outcomes: &mut Vec<Outcome>| {
        if batch.is_empty() {
            return;
        }
        let t = Instant::now();
        let logical: u64 = batch.iter().map(|(_, s)| s.logical).sum();
        run_batch(&out, &store, std::mem::take(batch), &opts, &pool, outcomes);
        engine_time += t.elapsed();
        let now = base.fetch_add(logical, Ordering::Relaxed) + logical;
        bar.set(now);
    };
    for e in &scan.entries {
        match &e.kind {
            Kind::Dir => {
                if let Err(err) = out.create_dir_all(&e.win) {
                    outcomes.push(Outcome::failed(
                        e.win.to_string(),
                        dedup_restore::from_platform(&err),
                        format!("output folder: {err}"),
                    ));
                }
            }
            Kind::File { len } => {
                let slot = match output_slot(&out, &e.win) {
                    Ok(s) => s,
                    Err(o) => {
                        outcomes.push(o);
                        continue;
                    }
                };
                match copy_file(&e.host, &slot) {
                    Ok(n) => {
                        bar.set(base.fetch_add(n, Ordering::Relaxed) + n);
                        outcomes.push(Outcome {
                            path: e.win.to_string(),
                            status: Status::Copied,
                            hresult: Hresult::S_FALSE,
                            detail: None,
                            bytes: n,
                        });
                    }
                    Err(err) => outcomes.push(Outcome::failed(
                        e.win.to_string(),
                        Hresult::E_FAIL,
                        format!("copying {} ({len} bytes): {err}", e.host.display()),
                    )),
                }
            }
            Kind::Symlink { target } => {
                let r = output_slot(&out, &e.win).and_then(|slot| {
                    symlink(target, &slot).map_err(|err| {
                        Outcome::failed(
                            e.win.to_string(),
                            Hresult::E_FAIL,
                            format!("{}: creating the symbolic link: {err}", slot.display()),
                        )
                    })
                });
                outcomes.push(match r {
                    Ok(()) => Outcome {
                        path: e.win.to_string(),
                        status: Status::Copied,
                        hresult: Hresult::S_FALSE,
                        detail: None,
                        bytes: 0,
                    },
                    Err(o) => o,
                });
            }
            Kind::Stub { logical } => {
                if let Err(o) = output_slot(&out, &e.win) {
                    outcomes.push(o);
                    continue;
                }
                match load_stub(e, *logical) {
                    Ok(stub) => batch.push((e.win.clone(), stub)),
                    Err(o) => outcomes.push(o),
                }
                if batch.len() == MAX_FILES {
                    flush(&mut batch, &mut outcomes);
                }
            }
        }
    }
    flush(&mut batch, &mut outcomes);
    bar.finish();
    // Nothing is reported restored before it is on disk.
    if let Err(e) = sync_output(&dst) {
        return Err(Failure::io(format!(
            "{}: flushing the restored files to disk: {e}",
            dst.display()
        )));
    }
    let elapsed = started.elapsed();
    report(
        "restore",
        &src,
        Some(&dst),
        &outcomes,
        elapsed,
        engine_time,
        args.json,
    )
}

/// Flushes everything written to the file system holding `dir` (`syncfs`; `sync` on macOS).
fn sync_output(dir: &std::path::Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let f = std::fs::File::open(dir)?;
        rustix::fs::syncfs(&f)?;
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        #[cfg(target_os = "macos")]
        rustix::fs::sync();
    }
    Ok(())
}

#[cfg(unix)]
fn symlink(target: &Path, at: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

/// `rehydrate verify`.
pub(crate) fn run_verify(args: &VerifyArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let filters = source::parse_filters(&args.paths).map_err(Failure::usage)?;
    let src = canonical(&args.source)?;
    let pool = thread_pool(args.threads)?;
    let scan = source::scan(&src, &filters).map_err(Failure::io)?;
    let store =
        HostDirStore::new(&src).map_err(|e| Failure::io(format!("{}: {e}", src.display())))?;
    let mut outcomes: Vec<Outcome> = Vec::new();
    // What could not be checked (an unreadable reparse point, a name Windows cannot hold)
    // counts against the volume.
    for p in &scan.problems {
        outcomes.push(Outcome::failed(&p.path, Hresult::E_FAIL, &p.reason));
    }
    for f in &scan.unmatched {
        outcomes.push(Outcome::failed(
            f.to_string(),
            Hresult::from_win32(2),
            format!("{f}: not found on the source volume"),
        ));
    }
    let total: u64 = scan
        .entries
        .iter()
        .map(|e| match e.kind {
            Kind::Stub { logical } => logical,
            _ => 0,
        })
        .sum();
    let bar = Bar::new("verify", total);
    let base = Arc::new(AtomicU64::new(0));
    // A health check of the store: every chunk's stored bytes against their CRC-64 too, even
    // where the chunk decodes to bytes with the right hash.
    let mut opts = RestoreOptions {
        payload_crc: PayloadCrc::Always,
        ..RestoreOptions::default()
    };
    {
        let (bar, base) = (bar.clone(), base.clone());
        opts.progress = Some(Arc::new(move |p: Progress| {
            bar.set(base.load(Ordering::Relaxed) + p.bytes_done);
        }));
    }
    let null = NullVolume::default();
    let mut engine_time = Duration::ZERO;
    let stubs: Vec<(&Entry, u64)> = scan
        .entries
        .iter()
        .filter_map(|e| match e.kind {
            Kind::Stub { logical } => Some((e, logical)),
            _ => None,
        })
        .collect();
    for chunk in stubs.chunks(MAX_FILES) {
        let mut batch = Vec::with_capacity(chunk.len());
        for (e, logical) in chunk {
            match load_stub(e, *logical) {
                Ok(s) => batch.push((e.win.clone(), s)),
                Err(o) => outcomes.push(o),
            }
        }
        let logical: u64 = batch.iter().map(|(_, s)| s.logical).sum();
        let t = Instant::now();
        run_batch(&null, &store, batch, &opts, &pool, &mut outcomes);
        engine_time += t.elapsed();
        bar.set(base.fetch_add(logical, Ordering::Relaxed) + logical);
    }
    bar.finish();
    let _ = null.bytes_written();
    report(
        "verify",
        &src,
        None,
        &outcomes,
        started.elapsed(),
        engine_time,
        args.json,
    )
}

/// The container a failure detail names (`\System Volume Information\…\*.ccc`), if any.
fn container_in(detail: &str) -> Option<&str> {
    let start = detail.find("\\System Volume Information\\")?;
    let rest = &detail[start..];
    let end = rest.find(".ccc")? + 4;
    Some(&rest[..end])
}

#[allow(clippy::too_many_arguments)]
fn report(
    what: &str,
    src: &Path,
    dst: Option<&Path>,
    outcomes: &[Outcome],
    elapsed: Duration,
    engine: Duration,
    as_json: bool,
) -> Result<(), Failure> {
    let count = |s: Status| outcomes.iter().filter(|o| o.status == s).count();
    let bytes = |s: Status| -> u64 {
        outcomes
            .iter()
            .filter(|o| o.status == s)
            .map(|o| o.bytes)
            .sum()
    };
    let (restored, copied, failed) = (
        count(Status::Restored),
        count(Status::Copied),
        count(Status::Failed),
    );
    let restored_bytes = bytes(Status::Restored);
    let secs = elapsed.as_secs_f64();
    let engine_secs = engine.as_secs_f64();
    let failures: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.status == Status::Failed)
        .collect();
    if as_json {
        let files: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|o| {
                json!({
                    "path": o.path,
                    "status": match o.status {
                        Status::Restored if what == "verify" => "ok",
                        Status::Restored => "restored",
                        Status::Copied => "copied",
                        Status::Failed => "failed",
                    },
                    "hresult": format!("{:#010x}", o.hresult.0),
                    "code": o.hresult.name(),
                    "bytes": o.bytes,
                    "detail": o.detail,
                    "container": o.detail.as_deref().and_then(container_in),
                })
            })
            .collect();
        let mut doc = json!({
            "command": what,
            "source": src.display().to_string(),
            "failed": failed,
            "elapsed_seconds": secs,
            "engine_seconds": engine_secs,
            "gb_per_second": gbps(restored_bytes, engine_secs),
            "files": files,
        });
        if what == "verify" {
            doc["verified"] = json!(restored);
            doc["verified_bytes"] = json!(restored_bytes);
            doc["damaged"] = json!(failed);
        } else {
            doc["to"] = json!(dst.map(|d| d.display().to_string()));
            doc["restored"] = json!(restored);
            doc["restored_bytes"] = json!(restored_bytes);
            doc["copied"] = json!(copied);
            doc["copied_bytes"] = json!(bytes(Status::Copied));
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into())
        );
    } else {
        match dst {
            Some(d) => println!("rehydrate {what}: {} -> {}", src.display(), d.display()),
            None => println!("rehydrate {what}: {}", src.display()),
        }
        let label = if what == "verify" {
            "dedup files verified"
        } else {
            "dedup files restored"
        };
        println!(
            "  {label:<24} {restored:>8}   {:>12}",
            human(restored_bytes)
        );
        if what != "verify" {
            println!(
                "  {:<24} {copied:>8}   {:>12}",
                "not dedup (copied)",
                human(bytes(Status::Copied))
            );
        }
        println!(
            "  {:<24} {failed:>8}",
            if what == "verify" {
                "damaged"
            } else {
                "failed"
            }
        );
        println!(
            "  elapsed {secs:.2} s; engine {engine_secs:.2} s at {:.2} GB/s of logical data",
            gbps(restored_bytes, engine_secs)
        );
        if !failures.is_empty() {
            println!(
                "{}:",
                if what == "verify" {
                    "damaged files"
                } else {
                    "failed files"
                }
            );
            for o in &failures {
                println!(
                    "  {}  {}\n      {}",
                    o.path,
                    o.hresult,
                    o.detail.as_deref().unwrap_or("")
                );
            }
        }
    }
    if failed > 0 {
        Err(Failure::check(format!(
            "{what}: {failed} of {} files {}",
            outcomes.len(),
            if what == "verify" {
                "are damaged"
            } else {
                "failed"
            }
        )))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_from_detail() {
        assert_eq!(
            container_in(
                "\\a: \\System Volume Information\\Dedup\\ChunkStore\\{X}.ddp\\Data\\00000001.00000001.ccc: at 0x5000: bad"
            ),
            Some(
                "\\System Volume Information\\Dedup\\ChunkStore\\{X}.ddp\\Data\\00000001.00000001.ccc"
            )
        );
        assert_eq!(container_in("nothing"), None);
        assert_eq!(human(1536), "1.50 KiB");
        assert_eq!(human(12), "12 B");
    }
}
