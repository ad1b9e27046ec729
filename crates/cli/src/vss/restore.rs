//! `rehydrate vss restore`: carry out a VSS component restore on the simulator (see
//! `crates/vss-restore`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use platform::{HostVolume, Volume as _};
use vss_restore::{FileAction, Host, RestoreOptions, RestoreReport, RestoreSpec, VolumeBackup};
use winsim::SimVolume;
use winsim::vss::SimVss;

use super::dry_run::DryRunInput;
use super::input::{environment, load_bcd, load_writers};
use crate::Failure;
use crate::out;
use crate::outln;

/// Arguments of `rehydrate vss restore`.
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
    #[arg(long)]
    backup: PathBuf,
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
    #[arg(long)]
    out: Option<PathBuf>,
    /// Apply the pending renames (simulate the reboot) before writing `--out`.
    #[arg(long)]
    reboot: bool,
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
    if let Some(out) = &a.out {
        // The backup is only read: an output folder inside it (or holding it) is refused
        // before anything is read or written.
        let backup = a
            .backup
            .canonicalize()
            .map_err(|e| Failure::usage(format!("{}: {e}", a.backup.display())))?;
        let planned = crate::restore::resolve_new(out)?;
        if planned.starts_with(&backup) || backup.starts_with(&planned) {
            return Err(Failure::usage(format!(
                "--out {} and --backup {} overlap; the backup is never written",
                planned.display(),
                backup.display()
            )));
        }
    }
    let writers = load_writers(&a.metadata)?.writers;
    let bcd = load_bcd(&a.bcd)?;
    let (drive, dir) = drive_folder(&a.backup, a.drive.as_deref())?;
    let env = environment(Some(&drive), &a.env)?;

    let backup_vol =
        HostVolume::new(&dir).map_err(|e| Failure::usage(format!("{}: {e}", dir.display())))?;
    let backup = VolumeBackup::new(&backup_vol, &drive);
    let store = dedup_restore::SourceStore::host(&dir)
        .map_err(|e| Failure::usage(format!("{}: {e}", dir.display())))?;

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
        return super::dry_run::run(&input, a.json);
    }

    let vol = SimVolume::new(1);
    let start = a.state.as_deref().unwrap_or(&dir);
    winsim::host::import_dir(&vol, start)
        .map_err(|e| Failure::usage(format!("{}: {e}", start.display())))?;
    let sim = SimVss::from_wmds(&vol, &writers);
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
    let report = report.map_err(|e| Failure::check(e.to_string()))?;
    let pending = vol.pending_renames().unwrap_or_default();
    if a.reboot {
        for o in vol.reboot() {
            if let Some(e) = o.error {
                return Err(Failure::check(format!("at reboot: {e}")));
            }
        }
    }
    if let Some(out) = &a.out {
        std::fs::create_dir_all(out)
            .map_err(|e| Failure::usage(format!("{}: {e}", out.display())))?;
        let empty = std::fs::read_dir(out)
            .map_err(|e| Failure::usage(format!("{}: {e}", out.display())))?
            .next()
            .is_none();
        if !empty {
            return Err(Failure::usage(format!(
                "--out {}: not empty",
                out.display()
            )));
        }
        winsim::host::export_volume(&vol, out)
            .map_err(|e| Failure::usage(format!("{}: {e}", out.display())))?;
    }
    if a.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            report: &'a RestoreReport,
            pending_renames: Vec<(String, Option<String>, bool)>,
            writer_events: Vec<String>,
        }
        let out = Out {
            report: &report,
            pending_renames: pending
                .iter()
                .map(|p| {
                    (
                        p.source.to_string(),
                        p.destination.as_ref().map(ToString::to_string),
                        p.replace_existing,
                    )
                })
                .collect(),
            writer_events: sim.events().iter().map(|e| format!("{e:?}")).collect(),
        };
        let text =
            serde_json::to_string_pretty(&out).map_err(|e| Failure::usage(format!("json: {e}")))?;
        outln!("{text}");
    } else {
        out!("{}", human(&report, &pending, &drive));
    }
    if report.all_restored() {
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
