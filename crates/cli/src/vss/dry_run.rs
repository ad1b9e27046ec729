//! `rehydrate vss restore --dry-run`: the restore set the executor would carry out, file by
//! file (source in the backup, destination, component, method, target, partial ranges),
//! derived from the restore-set generation of `vss_model::restore_set` over the backup's
//! catalog. Nothing is written and no writer is called.

use std::fmt::Write as _;

use platform::{HostVolume, WinPath};
use serde::Serialize;
use vss_model::ranges::{PartialRanges, Range};
use vss_model::restore_set::{
    CatalogEntry, Destination, Disposition, Environment, ExclusionRef, PlannedComponent,
    RestorePlan, RestoreSetInput, generate,
};
use vss_model::{
    BackupComponents, Guid, RestoreMethod, RestoreTarget, WriterMetadata, WriterRestore,
};
use vss_restore::{BackupSource as _, VolumeBackup};

use super::plan::action;
use crate::Failure;
use crate::out;
use crate::outln;

/// What a dry run reads.
pub(crate) struct DryRunInput<'a> {
    /// The saved WMDs.
    pub(crate) writers: &'a [WriterMetadata],
    /// The saved BCD.
    pub(crate) bcd: &'a BackupComponents,
    /// `--select`.
    pub(crate) select: &'a [String],
    /// `%VAR%` expansion.
    pub(crate) env: &'a Environment,
    /// The drive restored (`C:`).
    pub(crate) drive: &'a str,
    /// The backup's drive folder, as a volume.
    pub(crate) backup_volume: &'a HostVolume,
    /// The same folder as the executor's backup source.
    pub(crate) backup: &'a VolumeBackup<'a>,
}

/// The component a planned file belongs to.
#[derive(Debug, Serialize)]
struct FileComponent<'a> {
    /// Writer friendly name.
    writer: &'a str,
    /// Writer class id.
    writer_id: Option<Guid>,
    /// The WMD component's logical path (`None`: none, or the WMD is missing).
    logical_path: Option<&'a str>,
    /// The WMD component's name (the last part of `path` when the WMD is missing).
    name: &'a str,
    /// Full logical path (`logicalPath\name`).
    path: &'a str,
    /// The explicitly selected component whose set holds this one.
    selected_as: &'a str,
}

/// Where a directed target puts a file's ranges.
#[derive(Debug, Serialize)]
struct Directed<'a> {
    /// Ranges of the backed-up data (`offset:length,…`).
    source_ranges: &'a str,
    /// Where they go in the destination file.
    destination_ranges: &'a str,
}

/// The partial-file ranges of a file.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
enum Partial<'a> {
    /// Inline ranges.
    Ranges(&'a [Range]),
    /// A ranges file in the backup.
    RangesFile(&'a str),
}

/// One file of the restore set.
#[derive(Debug, Serialize)]
struct DryRunFile<'a> {
    /// Original path of the backed-up file (`C:\Windows\...`), as in the backup's catalog.
    source: &'a str,
    /// The file in the backup folder on this machine.
    backup_file: Option<String>,
    /// Where it is restored to.
    destination: String,
    /// `original`, `alternate-mapping`, `new-target` or `directed`.
    destination_kind: &'static str,
    /// The alternate location used when the original cannot be.
    fallback: Option<&'a str>,
    /// The ranges of a directed target.
    directed: Option<Directed<'a>>,
    /// The component.
    component: FileComponent<'a>,
    /// The writer's restore method.
    method: &'a RestoreMethod,
    /// The writer's writerRestore.
    writer_restore: &'a WriterRestore,
    /// The restore target.
    target: &'a RestoreTarget,
    /// Partial-file ranges, when only ranges were backed up.
    partial: Option<Partial<'a>>,
    /// Why, in words.
    reason: String,
    /// Why the restore would fail this file, when it can be told before writing (a directed
    /// target's ranges that do not pair, read past the backed-up file or write past the
    /// largest NTFS file).
    problem: Option<String>,
}

/// A catalog file outside the restore set.
#[derive(Debug, Serialize)]
struct OtherFile<'a> {
    /// Original path.
    source: &'a str,
    /// `plain-restore`, `excluded`, `not-selected` or `writer-error`.
    action: &'static str,
    /// Why, in words.
    reason: String,
}

/// The dry run's JSON.
#[derive(Debug, Serialize)]
struct DryRunJson<'a> {
    /// Always true: nothing was restored.
    dry_run: bool,
    /// The drive restored.
    drive: &'a str,
    /// Components taking part.
    components: &'a [PlannedComponent],
    /// Writer exclusions met.
    exclusions: &'a [ExclusionRef],
    /// Every file of the restore set.
    files: Vec<DryRunFile<'a>>,
    /// Catalog files the executor does not restore, with the reason.
    other_files: Vec<OtherFile<'a>>,
}

fn destination_kind(d: &Destination) -> &'static str {
    match d {
        Destination::Original => "original",
        Destination::AlternateMapping(_) => "alternate-mapping",
        Destination::NewTarget(_) => "new-target",
        Destination::Directed(_) => "directed",
    }
}

/// The host file holding `original` in the backup folder, when the path is on `drive`.
fn backup_file(volume: &HostVolume, drive: &str, original: &str) -> Option<String> {
    let head = original.get(..2)?;
    if !head.eq_ignore_ascii_case(drive) {
        return None;
    }
    let p = WinPath::new(original.get(2..)?).ok()?;
    volume
        .host_path(&p)
        .ok()
        .flatten()
        .map(|h| h.display().to_string())
}

fn entry<'a>(
    input: &DryRunInput<'a>,
    plan: &'a RestorePlan,
    source: &'a str,
    d: &'a Disposition,
) -> Option<DryRunFile<'a>> {
    let Disposition::Restore {
        component,
        destination,
        fallback,
        partial,
        ..
    } = d
    else {
        return None;
    };
    let c = &plan.components[*component];
    let wmd_component = c
        .writer_index
        .and_then(|w| input.writers.get(w))
        .zip(c.component_index)
        .and_then(|(w, i)| w.components.get(i));
    let name = wmd_component.map_or_else(
        || c.component.rsplit('\\').next().unwrap_or(&c.component),
        |w| w.name.as_str(),
    );
    let (dest, directed) = match destination {
        Destination::Original => (source.to_owned(), None),
        Destination::AlternateMapping(p) | Destination::NewTarget(p) => (p.clone(), None),
        Destination::Directed(t) => (
            t.path.clone(),
            Some(Directed {
                source_ranges: &t.source_ranges,
                destination_ranges: &t.destination_ranges,
            }),
        ),
    };
    let backup_file = backup_file(input.backup_volume, input.drive, source);
    let problem = match destination {
        Destination::Directed(t) => directed_problem(t, backup_file.as_deref()),
        _ => None,
    };
    Some(DryRunFile {
        source,
        backup_file,
        problem,
        destination: dest,
        destination_kind: destination_kind(destination),
        fallback: fallback.as_deref(),
        directed,
        component: FileComponent {
            writer: &c.writer,
            writer_id: c.writer_id,
            logical_path: wmd_component
                .and_then(|w| w.logical_path.as_deref())
                .filter(|l| !l.is_empty()),
            name,
            path: &c.component,
            selected_as: &c.selected_as,
        },
        method: &c.method,
        writer_restore: &c.writer_restore,
        target: &c.target,
        partial: partial.as_deref().map(|p| match p {
            PartialRanges::List(r) => Partial::Ranges(r),
            PartialRanges::File(f) => Partial::RangesFile(f),
        }),
        reason: plan.reason(d),
    })
}

/// What the restore would refuse in a directed target's ranges (the same check it makes).
fn directed_problem(
    t: &vss_model::restore_set::DirectedDestination,
    backup_file: Option<&str>,
) -> Option<String> {
    let parse = |s: &str| {
        vss_model::ranges::parse_range_list(s)
            .map_err(|e| format!("directed target ranges {s:?}: {e}"))
    };
    let pairs = parse(&t.source_ranges).and_then(|src| {
        let dst = parse(&t.destination_ranges)?;
        let len = backup_file
            .and_then(|f| std::fs::symlink_metadata(f).ok())
            .map(|m| m.len());
        vss_model::ranges::pair_directed(&src, &dst, len).map_err(|e| e.to_string())
    });
    pairs.err()
}

/// Prints the restore set the executor would carry out (as JSON with `json`); exit code 1 when
/// the restore would refuse a file it can tell about now.
pub(crate) fn run(input: &DryRunInput<'_>, json: bool) -> Result<(), Failure> {
    let catalog = input
        .backup
        .catalog()
        .map_err(|e| Failure::usage(e.to_string()))?;
    let entries: Vec<CatalogEntry<'_>> = catalog
        .iter()
        .map(|p| CatalogEntry {
            path: p,
            short_name: None,
        })
        .collect();
    let plan = generate(
        &RestoreSetInput {
            writers: input.writers,
            bcd: input.bcd,
            selection: input.select,
            env: input.env,
            volumes: &[],
        },
        &entries,
    )
    .map_err(|e| super::input::restore_set_failure(&e))?;
    let mut files = Vec::new();
    let mut other_files = Vec::new();
    for (source, d) in catalog.iter().zip(&plan.files) {
        match entry(input, &plan, source, d) {
            Some(f) => files.push(f),
            None => other_files.push(OtherFile {
                source,
                action: action(d),
                reason: plan.reason(d),
            }),
        }
    }
    let problems = files.iter().filter(|f| f.problem.is_some()).count();
    if json {
        let out = DryRunJson {
            dry_run: true,
            drive: input.drive,
            components: &plan.components,
            exclusions: &plan.exclusions,
            files,
            other_files,
        };
        let text =
            serde_json::to_string_pretty(&out).map_err(|e| Failure::usage(format!("json: {e}")))?;
        outln!("{text}");
    } else {
        out!("{}", human(&plan, &files, &other_files));
    }
    let failing = plan
        .components
        .iter()
        .filter(|c| !c.problems.is_empty())
        .count();
    let mut why = Vec::new();
    if problems > 0 {
        why.push(format!(
            "{problems} file(s) would be refused (see \"problem\")"
        ));
    }
    if failing > 0 {
        why.push(format!(
            "{failing} component(s) would fail with writer errors"
        ));
    }
    if !why.is_empty() {
        return Err(Failure::check(format!("dry run: {}", why.join("; "))));
    }
    Ok(())
}

fn human(plan: &RestorePlan, files: &[DryRunFile<'_>], other: &[OtherFile<'_>]) -> String {
    let mut s = String::from("dry run: nothing restored\n");
    for c in &plan.components {
        let _ = writeln!(
            s,
            "component {} ({}): method {}, writerRestore {}, target {}, {} file(s){}",
            c.component,
            c.writer,
            c.method,
            c.writer_restore,
            c.target,
            c.files,
            if c.problems.is_empty() {
                String::new()
            } else {
                format!(
                    "; writer errors: {}",
                    c.problems
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
        );
    }
    let _ = writeln!(s, "files ({}):", files.len());
    for f in files {
        let _ = write!(s, "  {} -> {}", f.source, f.destination);
        if let Some(d) = &f.directed {
            let _ = write!(
                s,
                " (ranges {} to {})",
                d.source_ranges, d.destination_ranges
            );
        }
        match &f.partial {
            Some(Partial::Ranges(r)) => {
                let r: Vec<String> = r.iter().map(ToString::to_string).collect();
                let _ = write!(s, " (partial: ranges {})", r.join(","));
            }
            Some(Partial::RangesFile(p)) => {
                let _ = write!(s, " (partial: ranges file {p})");
            }
            None => {}
        }
        if let Some(fb) = f.fallback {
            let _ = write!(s, " (or {fb})");
        }
        let _ = writeln!(s, "  [{}]", f.reason);
        if let Some(p) = &f.problem {
            let _ = writeln!(s, "  REFUSED: {p}");
        }
    }
    if !other.is_empty() {
        let _ = writeln!(s, "not restored by the executor ({}):", other.len());
        for f in other {
            let _ = writeln!(s, "  {:<13} {}  [{}]", f.action, f.source, f.reason);
        }
    }
    s
}
