//! Windows only: `rehydrate restore --in-place` (here) and `rehydrate compare --with-windows`
//! ([`compare`]), on a real NTFS volume through `win::WinVolume`.
//!
//! `restore --in-place`: the dedup files of the `--source` volume are found
//! ([`dedup_restore::dedup_files`]) and rebuilt where they are
//! ([`dedup_restore::restore_in_place`]), reading the chunks from the `--store` folder (a
//! backed-up copy of the chunk store) or the volume's own `System Volume Information\Dedup`.

pub(crate) mod compare;

use std::path::Path;
use std::time::Instant;

use dedup_restore::{Hresult, RestoreOptions, SourceStore, dedup_files, restore_in_place};
use platform::{VolumeSource, WinPath};
use serde_json::json;
use win::WinVolume;

use crate::restore::{RestoreArgs, parse_volume_paths, thread_pool};
use crate::{Failure, outln};

/// What `rehydrate restore --help` adds on Windows.
pub(crate) const IN_PLACE_HELP: &str = "\
With --in-place, rebuilds dedup files where they are, on a real NTFS volume (--source): each
stub (a file carrying an IO_REPARSE_TAG_DEDUP reparse point, e.g. put back by restoring a backup
onto a machine without the Data Deduplication feature) is replaced by its full contents, read
from the chunk store and verified (CRC-64 and, unless --no-verify-hash, SHA-512 of every chunk).
Each rebuilt file is written beside its stub and renamed over it, so a file that fails keeps its
stub. Exits 1 when any file fails.

The chunk store is read from --store (a backup copy holding
System Volume Information\\Dedup\\ChunkStore\\{GUID}.ddp\\...), or from the volume itself.

Privileges: run elevated, with SeBackupPrivilege and SeRestorePrivilege enabled in the token
(rehydrate does not enable them itself), to rebuild files whatever their ACLs and to read
System Volume Information (only SYSTEM may open it otherwise).

Example: rehydrate restore --in-place --source D:\\ --store E:\\backup\\D \\docs";

/// A `WinVolume` rooted at `root`.
pub(crate) fn volume_at(root: &Path) -> Result<WinVolume, Failure> {
    WinVolume::new(root).map_err(|e| Failure::usage(format!("{}: {e}", root.display())))
}

/// The volume paths of the command line.
pub(crate) fn parse_paths(paths: &[String]) -> Result<Vec<WinPath>, Failure> {
    parse_volume_paths(paths)
}

/// An HRESULT as JSON fields.
pub(crate) fn hresult_json(h: Hresult) -> serde_json::Value {
    json!({ "hresult": format!("{:#010x}", h.0), "code": h.name() })
}

/// `rehydrate restore --in-place`.
pub(crate) fn run_in_place(args: &RestoreArgs) -> Result<(), Failure> {
    let started = Instant::now();
    if args.dry_run
        || args.ignore_existing
        || !args.globs.include.is_empty()
        || !args.globs.exclude.is_empty()
    {
        return Err(Failure::usage(
            "--in-place takes no --dry-run, --overwrite, --include or --exclude",
        ));
    }
    let named = parse_paths(&args.paths)?;
    let volume = volume_at(&args.source)?;
    let store_root = args.store.clone().unwrap_or_else(|| args.source.clone());
    let store = SourceStore::over_volume(volume_at(&store_root)?, store_root.display().to_string());
    let pool = thread_pool(args.threads)?;
    let opts = RestoreOptions {
        verify_hash: !args.no_verify_hash,
        ..RestoreOptions::default()
    };
    let source = VolumeSource::new(volume.clone(), args.source.display().to_string());
    let (paths, problems) =
        dedup_files(&source, &named).map_err(|e| Failure::usage(e.to_string()))?;
    let report = pool.install(|| restore_in_place(&volume, &paths, &store, &opts));
    let files = &report.files;
    let restored = files.iter().filter(|f| f.result == Hresult::S_OK).count();
    let failures = files.iter().filter(|f| !f.result.is_success()).count() + problems.len();
    let secs = started.elapsed().as_secs_f64();
    if args.json {
        let mut list: Vec<serde_json::Value> = files
            .iter()
            .map(|f| {
                let mut v = hresult_json(f.result);
                v["path"] = json!(f.path.to_string());
                v["bytes"] = json!(f.logical_size);
                v["detail"] = json!(f.detail());
                v["container"] = json!(f.error.as_ref().and_then(|e| e.container()));
                v
            })
            .collect();
        list.extend(problems.iter().map(|p| {
            let mut v = hresult_json(p.hresult());
            v["path"] = json!(p.path);
            v["detail"] = json!(p.error.as_ref().map(ToString::to_string));
            v
        }));
        crate::output::json(&json!({
            "command": "restore --in-place",
            "volume": volume.long_root(),
            "store": store.source().volume().long_root(),
            "restored": restored,
            "failed": failures,
            "bytes_restored": report.stats.bytes_restored,
            "bytes_read": report.stats.bytes_read,
            "elapsed_seconds": secs,
            "files": list,
        }));
    } else {
        for f in files {
            outln!(
                "{:<44} {:>14} {}{}",
                f.result.to_string(),
                f.logical_size,
                f.path,
                f.detail().map(|d| format!("  ({d})")).unwrap_or_default()
            );
        }
        for p in &problems {
            let why = p
                .error
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            outln!(
                "{:<44} {:>14} {}  ({why})",
                p.hresult().to_string(),
                0,
                p.path
            );
        }
        outln!(
            "restored {restored} dedup files in place ({} bytes; {} bytes read from {}), {failures} failed, in {secs:.1} s",
            report.stats.bytes_restored,
            report.stats.bytes_read,
            store.source().volume().long_root()
        );
    }
    if failures > 0 {
        return Err(Failure::check(format!(
            "{failures} of {} files were not restored",
            files.len() + problems.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use clap::{CommandFactory, Parser};
    use platform::WinPath;

    use super::parse_paths;

    #[test]
    fn command_lines() {
        crate::Cli::command().debug_assert();
        let parse = |args: &[&str]| crate::Cli::try_parse_from(args);
        // The switches are required: a bare `restore` or `compare` does nothing by surprise.
        assert!(parse(&["rehydrate", "restore", r"\docs"]).is_err());
        assert!(parse(&["rehydrate", "restore", "--source", r"D:\", r"\docs"]).is_err());
        assert!(parse(&["rehydrate", "compare", "--source", r"E:\b"]).is_err());
        let Ok(crate::Cli {
            command: crate::Command::Restore(a),
            ..
        }) = parse(&[
            "rehydrate",
            "restore",
            "--in-place",
            "--source",
            r"D:\",
            "--store",
            r"E:\backup\D",
            r"\docs",
            "a/b.txt",
        ])
        else {
            panic!("restore --in-place did not parse");
        };
        assert!(a.in_place);
        assert_eq!(a.source, PathBuf::from(r"D:\"));
        assert_eq!(a.store, Some(PathBuf::from(r"E:\backup\D")));
        assert_eq!(
            parse_paths(&a.paths).unwrap(),
            [
                WinPath::new("docs").unwrap(),
                WinPath::new(r"a\b.txt").unwrap()
            ]
        );
        let Ok(crate::Cli {
            command: crate::Command::Compare(c),
            ..
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
}
