//! What every `vss` subcommand reads: the saved documents (a folder of Writer Metadata
//! Documents, a Backup Components Document) and the `--env` / `--default-env` / `--volume`
//! arguments for `%VAR%` and volume-GUID expansion.

use std::path::{Path, PathBuf};

use vss_model::restore_set::Environment;
use vss_model::{BackupComponents, Document, Guid, WriterMetadata};

use crate::Failure;

/// Reads a whole file; a missing or unreadable file is an I/O failure (exit code 2).
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::usage(format!("{}: {e}", path.display())))
}

/// The Writer Metadata Documents of a folder, in file-name order.
pub(crate) struct Writers {
    /// The documents.
    pub(crate) writers: Vec<WriterMetadata>,
    /// XML files of the folder that are not WMDs, each with the reason (`… (a BCD)`).
    pub(crate) skipped: Vec<String>,
}

/// Loads every WMD of a folder (`*.xml`, in file-name order); other XML documents there (the
/// BCD, a diskshadow manifest) are skipped and named in [`Writers::skipped`]. A folder without
/// any WMD, or a WMD that does not parse, is a check failure (exit code 1).
pub(crate) fn load_writers(dir: &Path) -> Result<Writers, Failure> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Failure::usage(format!("{}: {e}", dir.display())))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("xml")))
        .collect();
    paths.sort();
    let mut writers = Vec::new();
    let mut skipped = Vec::new();
    for p in paths {
        let bytes = read(&p)?;
        match Document::from_bytes(&bytes) {
            Ok(Document::Writer(w)) => writers.push(*w),
            Ok(Document::Components(_)) => skipped.push(format!("{} (a BCD)", p.display())),
            Err(vss_model::ReadError::WrongRoot { found, .. }) => {
                skipped.push(format!("{} (root <{found}>)", p.display()));
            }
            Err(e) => return Err(Failure::check(format!("{}: {e}", p.display()))),
        }
    }
    if writers.is_empty() {
        return Err(Failure::check(format!(
            "{}: no Writer Metadata Document found",
            dir.display()
        )));
    }
    Ok(Writers { writers, skipped })
}

/// Loads a Backup Components Document; one that does not parse is a check failure.
pub(crate) fn load_bcd(path: &Path) -> Result<BackupComponents, Failure> {
    let bytes = read(path)?;
    BackupComponents::from_bytes(&bytes)
        .map_err(|e| Failure::check(format!("{}: {e}", path.display())))
}

/// The `%VAR%` environment: the usual Windows variables of `default_drive` (`C:`) when given,
/// then each `NAME=VALUE` of `--env` over them. A malformed `--env` is a usage failure.
pub(crate) fn environment(
    default_drive: Option<&str>,
    env: &[String],
) -> Result<Environment, Failure> {
    let mut out = default_drive.map_or_else(Environment::new, Environment::windows_defaults);
    for kv in env {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| Failure::usage(format!("--env {kv:?}: expected NAME=VALUE")))?;
        out.set(k, v);
    }
    Ok(out)
}

/// Parses `--volume` arguments, `{GUID}=C:` (also `Volume{GUID}=C:`), into (GUID, drive).
pub(crate) fn volumes(args: &[String]) -> Result<Vec<(Guid, String)>, Failure> {
    let mut out = Vec::new();
    for kv in args {
        let (g, d) = kv
            .split_once('=')
            .ok_or_else(|| Failure::usage(format!("--volume {kv:?}: expected GUID=DRIVE")))?;
        let g = g.trim();
        let g = g
            .strip_prefix("Volume")
            .or_else(|| g.strip_prefix("volume"))
            .unwrap_or(g);
        let guid: Guid = g
            .parse()
            .map_err(|_| Failure::usage(format!("--volume {kv:?}: {g:?} is not a GUID")))?;
        out.push((guid, d.to_owned()));
    }
    Ok(out)
}

/// Checks that the BCD at `bcd_path` and the WMDs in `metadata` belong together
/// ([`vss_model::restore_set::unmatched_writers`]): each writer without its document is one
/// line on stderr, and a failure (exit code 1) sums them up.
pub(crate) fn documents_match(
    bcd_path: &Path,
    metadata: &Path,
    bcd: &BackupComponents,
    writers: &[WriterMetadata],
) -> Result<(), Failure> {
    let unmatched = vss_model::restore_set::unmatched_writers(bcd, writers);
    if unmatched.is_empty() {
        return Ok(());
    }
    for m in &unmatched {
        eprintln!("rehydrate: {}: {m}", bcd_path.display());
    }
    Err(Failure::check(format!(
        "{} of the {} writers in {} have no Writer Metadata Document of their instance in {}: \
         are these documents of the same backup?",
        unmatched.len(),
        bcd.writers.len(),
        bcd_path.display(),
        metadata.display()
    )))
}

/// A restore set that could not be generated, as a failure (exit code 1); a `%VAR%` the
/// environment lacks says which option defines it.
pub(crate) fn restore_set_failure(e: &vss_model::restore_set::RestoreSetError) -> Failure {
    use vss_model::restore_set::RestoreSetError;
    match e {
        RestoreSetError::UnknownVariable { source, .. } => Failure::check(format!(
            "{e}; define it with --env {}=VALUE (repeatable)",
            source.name
        )),
        RestoreSetError::SelectionNotFound { .. } => Failure::check(e.to_string()),
    }
}
