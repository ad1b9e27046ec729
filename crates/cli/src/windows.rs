//! Windows only: `rehydrate restore --in-place` and `rehydrate compare --with-windows`, on a
//! real NTFS volume through `win::WinVolume`.
//!
//! * `restore --in-place`: the engine (`dedup_restore::restore_files`) rebuilds the dedup files
//!   of a volume where they are, reading their reparse points from the volume and the chunks
//!   from a [`win::VolumeStore`] — over a backed-up copy of the chunk store
//!   (`--source-store`), or the volume's own `System Volume Information\Dedup` when none is
//!   given.
//! * `compare --with-windows`: the stubs of a backup copy are copied (reparse point, size,
//!   attributes; no data) into two scratch folders on one volume; our engine rebuilds one copy
//!   and Microsoft's `IDedupBackupSupport::RestoreFiles` ([`win::restore_files_native`]) the
//!   other, both reading the same store; then the per-file HRESULTs and the SHA-256 of the
//!   rebuilt bytes are compared.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use dedup_reparse::IO_REPARSE_TAG_DEDUP;
use dedup_restore::{
    BackupStore, DEDUP_RECONSTRUCT_UNOPTIMIZED, FileResult, Hresult, MAX_FILES, RestoreOptions,
    RestoreReport, RestoreStats, restore_files,
};
use platform::{Access, Disposition, OpenOptions, ShareMode, Volume, WinPath, attr};
use serde_json::json;
use sha2::{Digest, Sha256};
use win::{VolumeStore, WinVolume};

use crate::Failure;

/// The chunk-store folder of a volume (skipped when walking it for dedup files).
const SYSTEM_VOLUME_INFORMATION: &str = "System Volume Information";

/// What `rehydrate restore --help` adds on Windows.
const IN_PLACE_HELP: &str = "\
Rebuilds dedup files where they are, on a real NTFS volume: each stub (a file carrying an
IO_REPARSE_TAG_DEDUP reparse point, e.g. put back by restoring a backup onto a machine without
the Data Deduplication feature) is replaced by its full contents, read from the chunk store and
verified (CRC-64 and, unless --no-verify-hash, SHA-512 of every chunk). Each rebuilt file is
written beside its stub and renamed over it, so a file that fails keeps its stub. Exits 1 when
any file fails.

The chunk store is read from --source-store (a backup copy holding
System Volume Information\\Dedup\\ChunkStore\\{GUID}.ddp\\...), or from the volume itself.

Privileges: run elevated, with SeBackupPrivilege and SeRestorePrivilege enabled in the token
(rehydrate does not enable them itself), to rebuild files whatever their ACLs and to read
System Volume Information (only SYSTEM may open it otherwise).

Example: rehydrate restore --in-place --volume D:\\ --source-store E:\\backup\\D \\docs";

/// `rehydrate restore --in-place` (Windows); help in [`IN_PLACE_HELP`].
#[derive(Debug, Args)]
#[command(after_help = IN_PLACE_HELP)]
pub(crate) struct InPlaceArgs {
    /// Rebuild the dedup files where they are, on the volume (the only restore on Windows).
    #[arg(long, required = true)]
    in_place: bool,
    /// Root of the volume holding the stubs: a drive (`D:\`), a folder it is mounted on, or
    /// `\\?\Volume{GUID}\` [default: the root of the current directory's drive].
    #[arg(long, value_name = "ROOT")]
    volume: Option<PathBuf>,
    /// Folder holding the backed-up chunk store, i.e. the backup's `System Volume
    /// Information\Dedup\ChunkStore\{GUID}.ddp\…` below it (a mounted backup image, a copied
    /// backup folder). Only read. [default: the volume's own chunk store, which is only right
    /// when it has not been garbage-collected since the stubs were backed up]
    #[arg(long, value_name = "DIR")]
    source_store: Option<PathBuf>,
    /// Volume paths to restore (files or folders, e.g. `\docs\a.pdf` or `docs/a.pdf`); every
    /// dedup file of the volume (outside `System Volume Information`) when none is given.
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

/// What `rehydrate compare --help` says.
const COMPARE_HELP: &str = "\
Runs both engines on copies and diffs the results: the dedup stubs of --source (reparse point,
logical size and attributes; no data) are copied into two scratch folders on one volume,
ours\\ and windows\\. rehydrate's engine rebuilds ours\\ and Microsoft's
IDedupBackupSupport::RestoreFiles rebuilds windows\\, both reading the chunk store of --source.
Prints one line per file (both HRESULTs, both SHA-256 of the rebuilt bytes) and exits 1 when any
HRESULT or any byte differs. The source is never written.

Needs Windows Server 2012 or later with the Data Deduplication feature (RestoreFiles is part of
it), run elevated with SeBackupPrivilege and SeRestorePrivilege enabled in the token
(rehydrate does not enable them itself) for setting the stubs' reparse points and reading
System Volume Information.

Example: rehydrate compare --with-windows --source E:\\backup\\D --scratch D:\\cmp \\docs";

/// `rehydrate compare --with-windows` (Windows); help in [`COMPARE_HELP`].
#[derive(Debug, Args)]
#[command(after_help = COMPARE_HELP)]
pub(crate) struct CompareArgs {
    /// Compare with Microsoft's own RestoreFiles (the only comparison there is).
    #[arg(long, required = true)]
    with_windows: bool,
    /// Root of the backup copy: the stubs and its `System Volume Information\Dedup` (a mounted
    /// backup image, a restored or copied volume folder). Only read.
    #[arg(long, value_name = "DIR")]
    source: PathBuf,
    /// Volume paths to compare (files or folders); every dedup file of the source when none is
    /// given.
    #[arg(value_name = "PATH")]
    paths: Vec<String>,
    /// Scratch folder for the two copies (created; must not exist yet), on an NTFS volume
    /// [default: `rehydrate-compare-<pid>` in the temporary folder].
    #[arg(long, value_name = "DIR")]
    scratch: Option<PathBuf>,
    /// Leave the scratch folder in place (it is deleted otherwise).
    #[arg(long)]
    keep: bool,
    /// Print the result as a JSON document.
    #[arg(long)]
    json: bool,
}

fn volume_at(root: &Path) -> Result<WinVolume, Failure> {
    WinVolume::new(root).map_err(|e| Failure::io(format!("{}: {e}", root.display())))
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

fn parse_paths(paths: &[String]) -> Result<Vec<WinPath>, Failure> {
    paths
        .iter()
        .map(|p| WinPath::new(p).map_err(|e| Failure::usage(format!("path {p:?}: {e}"))))
        .collect()
}

/// True when `path` carries a dedup reparse point.
fn is_dedup_stub(volume: &dyn Volume, path: &WinPath) -> bool {
    volume.reparse_point(path).is_ok_and(|b| {
        b.len() >= 4 && u32::from_le_bytes([b[0], b[1], b[2], b[3]]) == IO_REPARSE_TAG_DEDUP
    })
}

/// The files to restore: each named file as it is (the engine answers S_FALSE for one that is
/// not a dedup file), and the dedup stubs below each named folder (or below the root when none
/// is named), not following directory reparse points and skipping `System Volume Information`.
/// Paths that cannot be read come back as failures.
fn select(
    volume: &dyn Volume,
    named: &[WinPath],
) -> (Vec<WinPath>, Vec<(WinPath, platform::Error)>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let mut dirs = Vec::new();
    if named.is_empty() {
        dirs.push(WinPath::root());
    }
    for p in named {
        match volume.metadata(p) {
            Ok(m) if m.is_dir() => dirs.push(p.clone()),
            Ok(_) => files.push(p.clone()),
            Err(e) => problems.push((p.clone(), e)),
        }
    }
    while let Some(dir) = dirs.pop() {
        let entries = match volume.read_dir(&dir) {
            Ok(v) => v,
            Err(e) => {
                problems.push((dir, e));
                continue;
            }
        };
        let mut subdirs = Vec::new();
        for e in entries {
            if dir.is_root() && platform::eq_name(&e.name, SYSTEM_VOLUME_INFORMATION) {
                continue;
            }
            let Ok(p) = dir.join(&e.name) else { continue };
            if e.metadata.is_dir() {
                if !e.metadata.is_reparse_point() {
                    subdirs.push(p);
                }
            } else if e.metadata.is_reparse_point() && is_dedup_stub(volume, &p) {
                files.push(p);
            }
        }
        // Depth first, in directory order.
        dirs.extend(subdirs.into_iter().rev());
    }
    (files, problems)
}

/// The result of a path that could not even be handed to an engine.
fn failed(path: WinPath, e: &platform::Error) -> FileResult {
    FileResult {
        path,
        result: dedup_restore::from_platform(e),
        detail: Some(e.to_string()),
        logical_size: 0,
    }
}

/// Runs `run` over `paths` in batches of at most [`MAX_FILES`], merging the reports.
fn in_batches(
    paths: &[WinPath],
    mut run: impl FnMut(&[WinPath]) -> Result<RestoreReport, Failure>,
) -> Result<(Vec<FileResult>, RestoreStats), Failure> {
    let mut files = Vec::with_capacity(paths.len());
    let mut stats = RestoreStats::default();
    for batch in paths.chunks(MAX_FILES) {
        let r = run(batch)?;
        files.extend(r.files);
        let s = r.stats;
        stats.reads += s.reads;
        stats.bytes_read += s.bytes_read;
        stats.chunks_decoded += s.chunks_decoded;
        stats.chunk_writes += s.chunk_writes;
        stats.bytes_restored += s.bytes_restored;
        stats.redirected += s.redirected;
        stats.found_by_scan += s.found_by_scan;
        stats.elapsed_us += s.elapsed_us;
    }
    Ok((files, stats))
}

fn ours(
    volume: &WinVolume,
    store: &dyn BackupStore,
    opts: &RestoreOptions,
    pool: &rayon::ThreadPool,
    batch: &[WinPath],
) -> Result<RestoreReport, Failure> {
    pool.install(|| restore_files(volume, batch, store, DEDUP_RECONSTRUCT_UNOPTIMIZED, opts))
        .map_err(|e| Failure::usage(e.to_string()))
}

fn hresult_json(h: Hresult) -> serde_json::Value {
    json!({ "hresult": format!("{:#010x}", h.0), "code": h.name() })
}

/// `rehydrate restore --in-place`.
pub(crate) fn run_restore(args: &InPlaceArgs) -> Result<(), Failure> {
    debug_assert!(args.in_place);
    let started = Instant::now();
    let named = parse_paths(&args.paths)?;
    let root = if let Some(r) = &args.volume {
        r.clone()
    } else {
        let cwd = std::env::current_dir()
            .map_err(|e| Failure::io(format!("the current directory: {e}")))?;
        cwd.ancestors().last().unwrap_or(&cwd).to_path_buf()
    };
    let volume = volume_at(&root)?;
    let store_root = args.source_store.clone().unwrap_or_else(|| root.clone());
    let store = VolumeStore::new(volume_at(&store_root)?);
    let pool = thread_pool(args.threads)?;
    let opts = RestoreOptions {
        verify_hash: !args.no_verify_hash,
        ..RestoreOptions::default()
    };

    let (paths, problems) = select(&volume, &named);
    let (mut files, stats) = in_batches(&paths, |b| ours(&volume, &store, &opts, &pool, b))?;
    files.extend(problems.into_iter().map(|(p, e)| failed(p, &e)));

    let restored = files.iter().filter(|f| f.result == Hresult::S_OK).count();
    let not_dedup = files
        .iter()
        .filter(|f| f.result == Hresult::S_FALSE)
        .count();
    let failures = files.iter().filter(|f| !f.result.is_success()).count();
    let secs = started.elapsed().as_secs_f64();
    if args.json {
        let list: Vec<serde_json::Value> = files
            .iter()
            .map(|f| {
                let mut v = hresult_json(f.result);
                v["path"] = json!(f.path.to_string());
                v["bytes"] = json!(f.logical_size);
                v["detail"] = json!(f.detail);
                v
            })
            .collect();
        let doc = json!({
            "command": "restore --in-place",
            "volume": volume.long_root(),
            "store": store.volume().long_root(),
            "restored": restored,
            "not_dedup": not_dedup,
            "failed": failures,
            "bytes_restored": stats.bytes_restored,
            "bytes_read": stats.bytes_read,
            "elapsed_seconds": secs,
            "files": list,
        });
        println!("{doc:#}");
    } else {
        for f in &files {
            println!(
                "{:<44} {:>14} {}{}",
                f.result.to_string(),
                f.logical_size,
                f.path,
                f.detail
                    .as_deref()
                    .filter(|_| !f.result.is_success())
                    .map(|d| format!("  ({d})"))
                    .unwrap_or_default()
            );
        }
        println!(
            "restored {restored} dedup files in place ({} bytes; {} bytes read from {}), {not_dedup} not dedup files, {failures} failed, in {secs:.1} s",
            stats.bytes_restored,
            stats.bytes_read,
            store.volume().long_root()
        );
    }
    if failures > 0 {
        return Err(Failure::check(format!(
            "{failures} of {} files were not restored",
            files.len()
        )));
    }
    Ok(())
}

/// Copies the stub at `path` (reparse point, logical size, attributes; no data) from `src` to
/// `dst`, creating its parent folders.
fn copy_stub(src: &dyn Volume, dst: &dyn Volume, path: &WinPath) -> Result<(), platform::Error> {
    let from = src.open(
        path,
        OpenOptions::new(Access::READ, ShareMode::ALL, Disposition::OpenExisting),
    )?;
    let reparse = from.reparse_point()?;
    let len = from.len()?;
    let attributes = from.attributes()?;
    if let Some(parent) = path.parent() {
        dst.create_dir_all(&parent)?;
    }
    let to = dst.open(
        path,
        OpenOptions::new(Access::ALL, ShareMode::NONE, Disposition::CreateNew),
    )?;
    to.set_sparse(true)?;
    to.set_len(len)?;
    to.set_reparse_point(&reparse)?;
    // Read-only last: a read-only stub must stay one (both engines should refuse it alike).
    to.set_attributes(attributes & attr::SETTABLE)?;
    to.flush()
}

/// SHA-256 of a file's bytes, in hex.
fn sha256(volume: &dyn Volume, path: &WinPath) -> Result<String, platform::Error> {
    let f = volume.open(
        path,
        OpenOptions::new(Access::READ, ShareMode::READ, Disposition::OpenExisting),
    )?;
    let len = f.len()?;
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    while off < len {
        let n = usize::try_from((len - off).min(buf.len() as u64)).unwrap_or(buf.len());
        f.read_exact_at(off, &mut buf[..n])?;
        sha.update(&buf[..n]);
        off += n as u64;
    }
    Ok(dedup_store::hex(&sha.finalize()))
}

/// One engine's outcome for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Side {
    result: Hresult,
    /// SHA-256 of the rebuilt bytes, when the engine reported success (S_OK or S_FALSE); a
    /// read error is kept as the text.
    sha256: Option<Result<String, String>>,
    detail: Option<String>,
}

impl Side {
    fn json(&self) -> serde_json::Value {
        let mut v = hresult_json(self.result);
        v["sha256"] = match &self.sha256 {
            Some(Ok(h)) => json!(h),
            _ => serde_json::Value::Null,
        };
        v["read_error"] = json!(self.sha256.as_ref().and_then(|r| r.as_ref().err()));
        v["detail"] = json!(self.detail);
        v
    }

    fn hash_cell(&self) -> String {
        match &self.sha256 {
            Some(Ok(h)) => h.chars().take(16).collect(),
            Some(Err(_)) => "(unreadable)".into(),
            None => "-".into(),
        }
    }
}

/// Whether two outcomes agree: the same HRESULT and, when the engines succeeded, the same
/// bytes (both readable, same SHA-256). When both failed alike the files' contents are not
/// compared (neither engine promises anything about a failed file's bytes).
fn same(a: &Side, b: &Side) -> bool {
    a.result == b.result
        && match (&a.sha256, &b.sha256) {
            (None, None) => true,
            (Some(Ok(x)), Some(Ok(y))) => x == y,
            _ => false,
        }
}

fn side(volume: &dyn Volume, f: Option<&FileResult>, path: &WinPath) -> Side {
    let Some(f) = f else {
        return Side {
            result: Hresult::E_FAIL,
            sha256: None,
            detail: Some("the engine reported nothing for this path".into()),
        };
    };
    Side {
        result: f.result,
        sha256: f
            .result
            .is_success()
            .then(|| sha256(volume, path).map_err(|e| e.to_string())),
        detail: f.detail.clone(),
    }
}

/// Deletes the scratch folder when dropped, unless asked to keep it.
struct Scratch {
    path: PathBuf,
    keep: bool,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.keep {
            // Rebuilt copies may be read-only; clear that first so the removal succeeds.
            clear_readonly(&self.path);
            if let Err(e) = std::fs::remove_dir_all(&self.path) {
                eprintln!(
                    "rehydrate: could not delete the scratch folder {}: {e}",
                    self.path.display()
                );
            }
        }
    }
}

fn clear_readonly(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(m) = e.metadata() else { continue };
        if m.is_dir() {
            clear_readonly(&e.path());
        } else if m.permissions().readonly() {
            let mut p = m.permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            p.set_readonly(false);
            let _ = std::fs::set_permissions(e.path(), p);
        }
    }
}

/// True when `path` is `dir` or below it (absolute forms, ignoring case as NTFS does).
fn inside(path: &Path, dir: &Path) -> Result<bool, Failure> {
    let abs = |p: &Path| {
        std::path::absolute(p)
            .map(|a| PathBuf::from(a.to_string_lossy().to_lowercase()))
            .map_err(|e| Failure::io(format!("{}: {e}", p.display())))
    };
    Ok(abs(path)?.starts_with(abs(dir)?))
}

/// `rehydrate compare --with-windows`.
pub(crate) fn run_compare(args: &CompareArgs) -> Result<(), Failure> {
    debug_assert!(args.with_windows);
    let named = parse_paths(&args.paths)?;
    let source = volume_at(&args.source)?;
    let store = Arc::new(VolumeStore::new(source.clone()));
    let scratch_path = args.scratch.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("rehydrate-compare-{}", std::process::id()))
    });
    if scratch_path.exists() {
        return Err(Failure::usage(format!(
            "the scratch folder {} already exists",
            scratch_path.display()
        )));
    }
    if inside(&scratch_path, &args.source)? {
        return Err(Failure::usage(format!(
            "the scratch folder {} is inside the source {}, which is never written",
            scratch_path.display(),
            args.source.display()
        )));
    }
    std::fs::create_dir_all(&scratch_path)
        .map_err(|e| Failure::io(format!("{}: {e}", scratch_path.display())))?;
    let scratch = Scratch {
        path: scratch_path,
        keep: args.keep,
    };
    let mut copies = Vec::new();
    for name in ["ours", "windows"] {
        let dir = scratch.path.join(name);
        std::fs::create_dir(&dir).map_err(|e| Failure::io(format!("{}: {e}", dir.display())))?;
        copies.push(volume_at(&dir)?);
    }
    let (ours_volume, windows_volume) = (&copies[0], &copies[1]);

    let (selected, problems) = select(&source, &named);
    let mut paths = Vec::with_capacity(selected.len());
    let mut copy_failures = Vec::new();
    for p in selected {
        if !is_dedup_stub(&source, &p) {
            return Err(Failure::usage(format!(
                "{p}: not a dedup file (no IO_REPARSE_TAG_DEDUP reparse point) in {}",
                args.source.display()
            )));
        }
        let r = copy_stub(&source, ours_volume, &p)
            .and_then(|()| copy_stub(&source, windows_volume, &p));
        match r {
            Ok(()) => paths.push(p),
            Err(e) => copy_failures.push((p, e)),
        }
    }
    if let Some((p, e)) = problems.iter().chain(&copy_failures).next() {
        return Err(Failure::io(format!(
            "{p}: cannot copy the stub to the scratch folder: {e} ({} such paths)",
            problems.len() + copy_failures.len()
        )));
    }
    if paths.is_empty() {
        return Err(Failure::usage(format!(
            "no dedup file to compare in {}",
            args.source.display()
        )));
    }

    let pool = thread_pool(None)?;
    let opts = RestoreOptions::default();
    let t = Instant::now();
    let (ours_files, ours_stats) =
        in_batches(&paths, |b| ours(ours_volume, &*store, &opts, &pool, b))?;
    let ours_time = t.elapsed();
    let t = Instant::now();
    let dyn_store: Arc<dyn BackupStore> = store.clone();
    let (windows_files, windows_stats) = in_batches(&paths, |b| {
        win::restore_files_native(windows_volume, b, dyn_store.clone())
            .map_err(|e| Failure::io(format!("Microsoft's RestoreFiles: {e}")))
    })?;
    let windows_time = t.elapsed();

    let rows: Vec<(WinPath, Side, Side)> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                p.clone(),
                side(ours_volume, ours_files.get(i), p),
                side(windows_volume, windows_files.get(i), p),
            )
        })
        .collect();
    let differences = rows.iter().filter(|(_, a, b)| !same(a, b)).count();
    print_comparison(
        args,
        &scratch.path,
        &rows,
        differences,
        [(ours_stats, ours_time), (windows_stats, windows_time)],
    );
    if differences > 0 {
        return Err(Failure::check(format!(
            "{differences} of {} files differ between rehydrate and Windows",
            rows.len()
        )));
    }
    Ok(())
}

fn print_comparison(
    args: &CompareArgs,
    scratch: &Path,
    rows: &[(WinPath, Side, Side)],
    differences: usize,
    runs: [(RestoreStats, Duration); 2],
) {
    let [(ours_stats, ours_time), (windows_stats, windows_time)] = runs;
    if args.json {
        let files: Vec<serde_json::Value> = rows
            .iter()
            .map(|(p, a, b)| {
                json!({
                    "path": p.to_string(),
                    "same": same(a, b),
                    "rehydrate": a.json(),
                    "windows": b.json(),
                })
            })
            .collect();
        let doc = json!({
            "command": "compare --with-windows",
            "source": args.source.display().to_string(),
            "scratch": scratch.display().to_string(),
            "kept": args.keep,
            "files": files,
            "differences": differences,
            "rehydrate": {
                "seconds": ours_time.as_secs_f64(),
                "reads": ours_stats.reads,
                "bytes_read": ours_stats.bytes_read,
            },
            "windows": {
                "seconds": windows_time.as_secs_f64(),
                "reads": windows_stats.reads,
                "bytes_read": windows_stats.bytes_read,
            },
        });
        println!("{doc:#}");
        return;
    }
    println!(
        "{:<9} {:<44} {:<44} {:<16} {:<16} path",
        "", "rehydrate", "windows", "sha256 (ours)", "sha256 (windows)"
    );
    for (p, a, b) in rows {
        println!(
            "{:<9} {:<44} {:<44} {:<16} {:<16} {p}",
            if same(a, b) { "same" } else { "DIFFERENT" },
            a.result.to_string(),
            b.result.to_string(),
            a.hash_cell(),
            b.hash_cell(),
        );
    }
    println!(
        "{} files: {differences} differ; rehydrate {:.2} s ({} reads, {} bytes), Windows {:.2} s ({} reads, {} bytes){}",
        rows.len(),
        ours_time.as_secs_f64(),
        ours_stats.reads,
        ours_stats.bytes_read,
        windows_time.as_secs_f64(),
        windows_stats.reads,
        windows_stats.bytes_read,
        if args.keep {
            format!("; copies kept in {}", scratch.display())
        } else {
            String::new()
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[test]
    fn command_lines() {
        crate::Cli::command().debug_assert();
        let parse = |args: &[&str]| crate::Cli::try_parse_from(args);
        // The switches are required: a bare `restore` or `compare` does nothing by surprise.
        assert!(parse(&["rehydrate", "restore", r"\docs"]).is_err());
        assert!(parse(&["rehydrate", "compare", "--source", r"E:\b"]).is_err());
        let Ok(crate::Cli {
            command: crate::Command::Restore(a),
        }) = parse(&[
            "rehydrate",
            "restore",
            "--in-place",
            "--volume",
            r"D:\",
            "--source-store",
            r"E:\backup\D",
            r"\docs",
            "a/b.txt",
        ])
        else {
            panic!("restore --in-place did not parse");
        };
        assert!(a.in_place);
        assert_eq!(a.volume, Some(PathBuf::from(r"D:\")));
        assert_eq!(
            parse_paths(&a.paths).unwrap(),
            [
                WinPath::new("docs").unwrap(),
                WinPath::new(r"a\b.txt").unwrap()
            ]
        );
        let Ok(crate::Cli {
            command: crate::Command::Compare(c),
        }) = parse(&[
            "rehydrate",
            "compare",
            "--with-windows",
            "--source",
            r"E:\b",
            "--keep",
        ])
        else {
            panic!("compare --with-windows did not parse");
        };
        assert!(c.with_windows && c.keep && c.paths.is_empty());
        let help = crate::Cli::command()
            .find_subcommand_mut("restore")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("SeRestorePrivilege"), "{help}");
    }

    fn ok(hash: &str) -> Side {
        Side {
            result: Hresult::S_OK,
            sha256: Some(Ok(hash.into())),
            detail: None,
        }
    }

    #[test]
    fn same_needs_equal_results_and_bytes() {
        assert!(same(&ok("aa"), &ok("aa")));
        assert!(!same(&ok("aa"), &ok("bb")));
        let corrupt = Side {
            result: Hresult::DDP_E_FILE_CORRUPT,
            sha256: None,
            detail: Some("chunk 3".into()),
        };
        assert!(same(&corrupt, &corrupt.clone()));
        assert!(!same(&ok("aa"), &corrupt));
        let unreadable = Side {
            sha256: Some(Err("access denied".into())),
            ..ok("")
        };
        assert!(!same(&unreadable, &unreadable.clone()));
    }

    #[test]
    fn batches_merge_reports_in_order() {
        let paths: Vec<WinPath> = (0..MAX_FILES + 3)
            .map(|i| WinPath::new(&format!("f{i}")).unwrap())
            .collect();
        let mut calls = 0;
        let (files, stats) = in_batches(&paths, |b| {
            calls += 1;
            Ok(RestoreReport {
                result: Hresult::S_OK,
                files: b
                    .iter()
                    .map(|p| FileResult {
                        path: p.clone(),
                        result: Hresult::S_OK,
                        detail: None,
                        logical_size: 1,
                    })
                    .collect(),
                stats: RestoreStats {
                    reads: 1,
                    bytes_restored: b.len() as u64,
                    ..RestoreStats::default()
                },
            })
        })
        .unwrap();
        assert_eq!(calls, 2);
        assert_eq!(files.len(), paths.len());
        assert_eq!(files[MAX_FILES].path, paths[MAX_FILES]);
        assert_eq!(stats.reads, 2);
        assert_eq!(stats.bytes_restored, paths.len() as u64);
    }
}
