//! The report of `rehydrate restore` and `rehydrate verify`: the summary, the per-file lines,
//! the conflicts and failures, or one JSON document; and the exit code they decide.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dedup_restore::{EntryResult, EntryStatus, Overwrite, TreeReport};
use serde_json::json;

use crate::{Failure, units};
use crate::{outln, output};

/// Conflicting paths listed in the human output (all of them are in `--json`).
const CONFLICTS_SHOWN: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Command {
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
pub(super) struct Printed<'a> {
    pub(super) src: &'a Path,
    /// The output folder (`restore`).
    pub(super) dst: Option<&'a Path>,
    /// The overwrite policy (`restore`).
    pub(super) overwrite: Option<Overwrite>,
    /// The pre-flight warnings.
    pub(super) warnings: &'a [String],
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

pub(super) fn print_report(
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
            "  {} {} temporary file(s) an interrupted run left behind",
            if dry { "would remove" } else { "removed" },
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
