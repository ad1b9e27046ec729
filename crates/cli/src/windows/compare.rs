//! `rehydrate compare --with-windows` (Windows only): the stubs of a backup copy are copied (reparse point, size,
//!   attributes; no data) into two scratch folders on one volume; our engine rebuilds one copy
//!   and Microsoft's `IDedupBackupSupport::RestoreFiles` ([`win::restore_files_native`]) the
//!   other, both reading the same store; then the per-file HRESULTs and the SHA-256 of the
//!   rebuilt bytes are compared.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use dedup_restore::{
    BackupStore, FileResult, Hresult, RestoreOptions, RestoreStats, SourceStore, dedup_files,
    in_batches, restore_in_place,
};
use platform::{Access, Disposition, OpenOptions, ShareMode, Volume, WinPath, attr};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Failure;
use crate::outln;
use crate::windows::{hresult_json, parse_paths, volume_at};

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
    pub(crate) with_windows: bool,
    /// Root of the backup copy: the stubs and its `System Volume Information\Dedup` (a mounted
    /// backup image, a restored or copied volume folder). Only read.
    #[arg(long, value_name = "DIR")]
    pub(crate) source: PathBuf,
    /// Volume paths to compare (files or folders); every dedup file of the source when none is
    /// given.
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<String>,
    /// Scratch folder for the two copies (created; must not exist yet), on an NTFS volume
    /// [default: `rehydrate-compare-<pid>` in the temporary folder].
    #[arg(long, value_name = "DIR")]
    pub(crate) scratch: Option<PathBuf>,
    /// Leave the scratch folder in place (it is deleted otherwise).
    #[arg(long)]
    pub(crate) keep: bool,
    /// Print the result as a JSON document.
    #[arg(long)]
    pub(crate) json: bool,
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
        detail: f.detail(),
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
            .map_err(|e| Failure::usage(format!("{}: {e}", p.display())))
    };
    Ok(abs(path)?.starts_with(abs(dir)?))
}

/// `rehydrate compare --with-windows`.
pub(crate) fn run_compare(args: &CompareArgs) -> Result<(), Failure> {
    debug_assert!(args.with_windows);
    let named = parse_paths(&args.paths)?;
    let source = volume_at(&args.source)?;
    let store = Arc::new(SourceStore::over_volume(
        source.clone(),
        args.source.display().to_string(),
    ));
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
        .map_err(|e| Failure::usage(format!("{}: {e}", scratch_path.display())))?;
    let scratch = Scratch {
        path: scratch_path,
        keep: args.keep,
    };
    let mut copies = Vec::new();
    for name in ["ours", "windows"] {
        let dir = scratch.path.join(name);
        std::fs::create_dir(&dir).map_err(|e| Failure::usage(format!("{}: {e}", dir.display())))?;
        copies.push(volume_at(&dir)?);
    }
    let (ours_volume, windows_volume) = (&copies[0], &copies[1]);

    let (selected, problems) =
        dedup_files(store.source(), &named).map_err(|e| Failure::usage(e.to_string()))?;
    if let Some(p) = problems.first() {
        let why = p
            .error
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        return Err(Failure::usage(format!(
            "{}: {why} ({} such paths)",
            p.path,
            problems.len()
        )));
    }
    let mut paths = Vec::with_capacity(selected.len());
    for p in selected {
        copy_stub(&source, ours_volume, &p)
            .and_then(|()| copy_stub(&source, windows_volume, &p))
            .map_err(|e| {
                Failure::usage(format!(
                    "{p}: cannot copy the stub to the scratch folder: {e}"
                ))
            })?;
        paths.push(p);
    }
    if paths.is_empty() {
        return Err(Failure::usage(format!(
            "no dedup file to compare in {}",
            args.source.display()
        )));
    }

    let pool = crate::restore::thread_pool(None)?;
    let opts = RestoreOptions::default();
    let t = Instant::now();
    let ours = pool.install(|| restore_in_place(ours_volume, &paths, &*store, &opts));
    let ours_time = t.elapsed();
    let t = Instant::now();
    let dyn_store: Arc<dyn BackupStore> = store.clone();
    let windows = in_batches(&paths, |b| {
        win::restore_files_native(windows_volume, b, dyn_store.clone())
            .map_err(|e| Failure::usage(format!("Microsoft's RestoreFiles: {e}")))
    })?;
    let windows_time = t.elapsed();
    let (ours_files, ours_stats) = (ours.files, ours.stats);
    let (windows_files, windows_stats) = (windows.files, windows.stats);

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
        crate::output::json(&doc);
        return;
    }
    outln!(
        "{:<9} {:<44} {:<44} {:<16} {:<16} path",
        "",
        "rehydrate",
        "windows",
        "sha256 (ours)",
        "sha256 (windows)"
    );
    for (p, a, b) in rows {
        outln!(
            "{:<9} {:<44} {:<44} {:<16} {:<16} {p}",
            if same(a, b) { "same" } else { "DIFFERENT" },
            a.result.to_string(),
            b.result.to_string(),
            a.hash_cell(),
            b.hash_cell(),
        );
    }
    outln!(
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
}
