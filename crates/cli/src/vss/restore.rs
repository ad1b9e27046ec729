//! `rehydrate vss restore`: carry out a VSS component restore on the simulator (see
//! `crates/vss-restore`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use platform::{HostVolume, Volume as _, WinPath};
use vss_restore::{FileAction, Host, RestoreOptions, RestoreReport, RestoreSpec, VolumeBackup};
use winsim::SimVolume;
use winsim::vss::SimVss;

use super::dry_run::DryRunInput;
use super::input::{environment, load_bcd, load_writers};
use crate::Failure;
use crate::out;
use crate::outln;

/// Arguments of `rehydrate vss restore`.
// Command-line switches are bools by nature.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// Folder holding the saved Writer Metadata Documents (*.xml; a BCD or manifest there is
    /// skipped).
    #[arg(long)]
    metadata: PathBuf,
    /// The saved Backup Components Document.
    #[arg(long)]
    bcd: PathBuf,
    /// The backup: one folder per drive letter holding the backed-up files under their
    /// original paths (`DIR/C/Windows/...`); dedup files as stubs with their reparse point in
    /// `user.ntfs_reparse_data`, the chunk store under `System Volume Information`.
    #[arg(long, value_name = "DIR", alias = "backup")]
    source: PathBuf,
    /// Folder the simulated volume starts from (default: a copy of the backup's drive folder).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Drive to restore (`C:`); default: the backup's only drive folder.
    #[arg(long)]
    drive: Option<String>,
    /// Component logical path to restore; repeatable. Default: every component of the BCD.
    #[arg(long = "select", value_name = "LOGICALPATH")]
    select: Vec<String>,
    /// Environment variable for %VAR% expansion, `NAME=VALUE`; repeatable (the usual Windows
    /// variables for the drive are set first).
    #[arg(long = "env", value_name = "K=V")]
    env: Vec<String>,
    /// Show the restore set only (components, methods, targets, files); restore nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write the simulated volume after the restore into this folder (created if missing; it
    /// must be empty), so the result can be inspected; pending renames are not applied.
    #[arg(long, value_name = "DIR", alias = "out")]
    to: Option<PathBuf>,
    /// Apply the pending renames (simulate the reboot) before writing `--to`; the report says
    /// what became of each (exit code 1 if one failed).
    #[arg(long)]
    reboot: bool,
    /// A file in use at restore time (`E:\DATA\x.mdf` or `\DATA\x.mdf`): held open, sharing
    /// reads only, by a process no restore method stops, until the simulated reboot;
    /// repeatable.
    #[arg(long = "lock", value_name = "PATH")]
    lock: Vec<String>,
    /// A file the service `SERVICE` holds open while it runs (`SERVICE=PATH`): released when
    /// the restore stops the service (STOP_RESTORE_START); repeatable.
    #[arg(long = "service-lock", value_name = "SERVICE=PATH")]
    service_lock: Vec<String>,
    /// A file made read-only before the restore; repeatable.
    #[arg(long = "read-only", value_name = "PATH")]
    read_only: Vec<String>,
    /// Restore even though the Backup Components Document names writers that have no Writer
    /// Metadata Document of their instance in `--metadata` (documents of another backup or
    /// system): the components of those writers fail, the others are restored.
    #[arg(long)]
    force: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// The drive folder of the backup: `--drive`, or the only one-letter folder.
fn drive_folder(backup: &Path, drive: Option<&str>) -> Result<(String, PathBuf), Failure> {
    if let Some(d) = drive {
        let letter = d.trim_end_matches(['\\', ':']);
        if letter.len() != 1 || !letter.as_bytes()[0].is_ascii_alphabetic() {
            return Err(Failure::usage(format!(
                "--drive {d}: expected a drive letter like C:"
            )));
        }
        let dir = backup.join(letter.to_ascii_uppercase());
        let dir = if dir.is_dir() {
            dir
        } else {
            backup.join(letter.to_ascii_lowercase())
        };
        if !dir.is_dir() {
            return Err(Failure::usage(format!(
                "{}: no such drive folder",
                dir.display()
            )));
        }
        return Ok((format!("{}:", letter.to_ascii_uppercase()), dir));
    }
    let entries = std::fs::read_dir(backup)
        .map_err(|e| Failure::usage(format!("{}: {e}", backup.display())))?;
    let mut drives: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            (n.len() == 1 && n.as_bytes()[0].is_ascii_alphabetic())
                .then(|| (format!("{}:", n.to_ascii_uppercase()), e.path()))
        })
        .collect();
    drives.sort();
    match drives.len() {
        1 => Ok(drives.remove(0)),
        0 => Err(Failure::check(format!(
            "{}: no drive folder (expected e.g. {}/C/Windows/...)",
            backup.display(),
            backup.display()
        ))),
        _ => Err(Failure::usage(format!(
            "{}: several drive folders; choose one with --drive",
            backup.display()
        ))),
    }
}

/// Runs `rehydrate vss restore`: exit code 1 when a component was not fully restored.
pub(crate) fn run(a: &RestoreArgs) -> Result<(), Failure> {
    if let Some(out) = &a.to {
        // The backup is only read: an output folder inside it (or holding it) is refused
        // before anything is read or written.
        let backup = a
            .source
            .canonicalize()
            .map_err(|e| Failure::usage(format!("{}: {e}", a.source.display())))?;
        let planned = crate::restore::resolve_new(out)?;
        if planned.starts_with(&backup) || backup.starts_with(&planned) {
            return Err(Failure::usage(format!(
                "--to {} and --source {} overlap; the backup is never written",
                planned.display(),
                backup.display()
            )));
        }
    }
    let writers = load_writers(&a.metadata)?.writers;
    let bcd = load_bcd(&a.bcd)?;
    let (drive, dir) = drive_folder(&a.source, a.drive.as_deref())?;
    let env = environment(Some(&drive), &a.env)?;

    let backup_vol =
        HostVolume::new(&dir).map_err(|e| Failure::usage(format!("{}: {e}", dir.display())))?;
    let backup = VolumeBackup::new(&backup_vol, &drive);
    let store = dedup_restore::SourceStore::host(&dir)
        .map_err(|e| Failure::usage(format!("{}: {e}", dir.display())))?;

    let matching = super::input::documents_match(&a.bcd, &a.metadata, &bcd, &writers);
    if let Err(refusal) = &matching
        && !a.force
        && !a.dry_run
    {
        return Err(Failure::check(format!(
            "{}; nothing was restored (--force restores the components that match)",
            refusal.message
        )));
    }
    if a.dry_run {
        let input = DryRunInput {
            writers: &writers,
            bcd: &bcd,
            select: &a.select,
            env: &env,
            drive: &drive,
            backup_volume: &backup_vol,
            backup: &backup,
        };
        super::dry_run::run(&input, a.json)?;
        // A dry run says what the run would do: refuse, unless forced.
        return if a.force { Ok(()) } else { matching };
    }

    let vol = SimVolume::new(1);
    let start = a.state.as_deref().unwrap_or(&dir);
    winsim::host::import_dir(&vol, start)
        .map_err(|e| Failure::usage(format!("{}: {e}", start.display())))?;
    let sim = SimVss::from_wmds(&vol, &writers);
    disk_state(a, &drive, &sim)?;
    let host = Host {
        volume: &vol,
        drive: &drive,
        backup: &backup,
        chunk_store: Some(&store),
        writers: &sim,
        services: &sim,
    };
    let spec = RestoreSpec {
        writers: &writers,
        bcd: &bcd,
        selection: &a.select,
        env: &env,
        volumes: &[],
        catalog: None,
    };
    // The progress of rehydrating dedup files (the long part of a restore).
    let bar = crate::progress::Bar::new("rehydrate");
    let opts = RestoreOptions {
        dedup: dedup_restore::RestoreOptions {
            progress: Some(bar.callback()),
            ..dedup_restore::RestoreOptions::default()
        },
        ..RestoreOptions::default()
    };
    let report = vss_restore::restore(&host, &spec, &opts);
    bar.finish();
    let report = report.map_err(|e| match e {
        vss_restore::RestoreError::RestoreSet(e) => super::input::restore_set_failure(&e),
        e => Failure::check(e.to_string()),
    })?;
    let pending = vol.pending_renames().unwrap_or_default();
    // Every pending rename at the simulated reboot, with its error if it failed.
    let reboot: Vec<RebootResult> = if a.reboot {
        vol.reboot()
            .into_iter()
            .map(|o| RebootResult {
                from: format!("{drive}{}", o.op.source),
                to: o.op.destination.as_ref().map(|d| format!("{drive}{d}")),
                error: o.error.map(|e| e.to_string()),
            })
            .collect()
    } else {
        Vec::new()
    };
    if let Some(out) = &a.to {
        std::fs::create_dir_all(out)
            .map_err(|e| Failure::usage(format!("{}: {e}", out.display())))?;
        let empty = std::fs::read_dir(out)
            .map_err(|e| Failure::usage(format!("{}: {e}", out.display())))?
            .next()
            .is_none();
        if !empty {
            return Err(Failure::usage(format!("--to {}: not empty", out.display())));
        }
        winsim::host::export_volume(&vol, out)
            .map_err(|e| Failure::usage(format!("{}: {e}", out.display())))?;
    }
    if a.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            report: &'a RestoreReport,
            /// Every pending rename: `{"from", "to", "replace_existing"}` (`to` is `null` for a
            /// delete), with the drive, as the human output prints them.
            pending_renames: Vec<PendingJson>,
            /// `--reboot`: what became of each pending rename (`null` without `--reboot`).
            reboot: Option<&'a [RebootResult]>,
            writer_events: Vec<String>,
        }
        let out = Out {
            report: &report,
            reboot: a.reboot.then_some(&reboot[..]),
            pending_renames: pending
                .iter()
                .map(|p| PendingJson {
                    from: format!("{drive}{}", p.source),
                    to: p.destination.as_ref().map(|d| format!("{drive}{d}")),
                    replace_existing: p.replace_existing,
                })
                .collect(),
            writer_events: sim.events().iter().map(|e| format!("{e:?}")).collect(),
        };
        let text =
            serde_json::to_string_pretty(&out).map_err(|e| Failure::usage(format!("json: {e}")))?;
        outln!("{text}");
    } else {
        out!("{}", human(&report, &pending, &drive));
        for r in &reboot {
            let what = r
                .error
                .as_deref()
                .map_or_else(|| "done".to_owned(), |e| format!("FAILED: {e}"));
            outln!(
                "at reboot: {} -> {}: {what}",
                r.from,
                r.to.as_deref().unwrap_or("(delete)")
            );
        }
    }
    let failed_at_reboot = reboot.iter().filter(|r| r.error.is_some()).count();
    if failed_at_reboot > 0 {
        Err(Failure::check(format!(
            "{failed_at_reboot} pending rename(s) failed at the simulated reboot"
        )))
    } else if report.all_restored() {
        Ok(())
    } else {
        Err(Failure::check(format!(
            "{} of {} component(s) not fully restored",
            report
                .components
                .iter()
                .filter(|c| c.status != vss_model::FileRestoreStatus::All)
                .count(),
            report.components.len()
        )))
    }
}

/// One pending rename as JSON (labelled, not a bare tuple).
#[derive(Debug, serde::Serialize)]
struct PendingJson {
    /// The staged file, with the drive.
    from: String,
    /// Where it is to be renamed (`None`: a delete).
    to: Option<String>,
    /// Whether it replaces a file already there.
    replace_existing: bool,
}

/// What one pending rename did at the simulated reboot (`--reboot`).
#[derive(Debug, serde::Serialize)]
struct RebootResult {
    /// The staged file, with the drive.
    from: String,
    /// Where it was renamed to (`None`: a delete).
    to: Option<String>,
    /// Why it failed, if it did.
    error: Option<String>,
}

/// A path on the restored drive: `E:\a\b` (the drive must be `drive`) or `\a\b`.
fn volume_path(arg: &str, raw: &str, drive: &str) -> Result<WinPath, Failure> {
    let bad = |why: String| Failure::usage(format!("{arg} {raw}: {why}"));
    let rest = match raw.get(..2) {
        Some(d) if d.ends_with(':') => {
            if !d.eq_ignore_ascii_case(drive) {
                return Err(bad(format!("not on the drive being restored ({drive})")));
            }
            &raw[2..]
        }
        _ => raw,
    };
    if !rest.starts_with('\\') {
        return Err(bad(
            "expected an absolute path like E:\\DATA\\file".to_owned()
        ));
    }
    WinPath::new(rest).map_err(|e| bad(e.to_string()))
}

/// Puts the volume in the disk state `--read-only`, `--lock` and `--service-lock` ask for
/// (read-only first: a file held open by another process cannot have its attributes set).
fn disk_state(a: &RestoreArgs, drive: &str, sim: &SimVss) -> Result<(), Failure> {
    for raw in &a.read_only {
        let p = volume_path("--read-only", raw, drive)?;
        sim.set_read_only(&p)
            .map_err(|e| Failure::usage(format!("--read-only {raw}: {e}")))?;
    }
    let locks = a
        .lock
        .iter()
        .map(|raw| volume_path("--lock", raw, drive))
        .collect::<Result<Vec<_>, _>>()?;
    if !locks.is_empty() {
        sim.hold_open(&locks)
            .map_err(|e| Failure::usage(format!("--lock: {e}")))?;
    }
    for kv in &a.service_lock {
        let (service, raw) = kv
            .split_once('=')
            .ok_or_else(|| Failure::usage(format!("--service-lock {kv}: expected SERVICE=PATH")))?;
        let p = volume_path("--service-lock", raw, drive)?;
        sim.service_holds_open(service, &[p])
            .map_err(|e| Failure::usage(format!("--service-lock {kv}: {e}")))?;
    }
    Ok(())
}

fn human(report: &RestoreReport, pending: &[platform::PendingRename], drive: &str) -> String {
    let mut s = String::new();
    for c in &report.components {
        let _ = writeln!(
            s,
            "component {} ({}): method {}, target {}: {}, status {}",
            c.component, c.writer, c.method, c.target, c.outcome, c.status
        );
        for f in &c.files {
            let action = match &f.action {
                FileAction::Written => "written".to_owned(),
                FileAction::WrittenToAlternate => "written to alternate location".to_owned(),
                FileAction::SkippedExistsAtAlternate => {
                    "skipped (a copy exists at the alternate location)".to_owned()
                }
                FileAction::StagedForReboot { temp } => format!("staged for reboot as {temp}"),
                FileAction::NotWritten => "not written".to_owned(),
                FileAction::Refused => "refused".to_owned(),
            };
            let _ = writeln!(
                s,
                "  {} -> {}: {action}{}",
                f.source,
                f.destination.as_deref().unwrap_or("-"),
                if f.dedup { " (dedup, rehydrated)" } else { "" }
            );
        }
        for e in &c.errors {
            let _ = writeln!(s, "  error: {e}");
        }
        for m in &c.alternate_mappings_used {
            let _ = writeln!(
                s,
                "  alternate mapping used: {}\\{} -> {}",
                m.path.trim_end_matches('\\'),
                m.filespec,
                m.destination
            );
        }
    }
    for p in pending {
        let _ = writeln!(
            s,
            "pending rename: {drive}{} -> {}",
            p.source,
            p.destination
                .as_ref()
                .map_or_else(|| "(delete)".to_owned(), |d| format!("{drive}{d}"))
        );
    }
    if report.reboot_required {
        s.push_str("a reboot is required to complete the restore\n");
    }
    let _ = writeln!(s, "steps:");
    for e in &report.events {
        let _ = writeln!(s, "  {e}");
    }
    s
}
