//! `rehydrate vss plan`: the restore set of a backup (which backed-up file goes where, per
//! writer and component) from its saved documents and a file catalog.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;
use vss_model::restore_set::{
    CatalogEntry, Destination, Disposition, RestorePlan, RestoreSetInput, generate, parse_catalog,
};

use super::input::{environment, load_bcd, load_writers, read, volumes};
use crate::Failure;
use crate::out;
use crate::outln;

/// Arguments of `rehydrate vss plan`.
#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// Folder holding the saved Writer Metadata Documents (*.xml; other documents there,
    /// such as the BCD or a diskshadow manifest, are skipped).
    #[arg(long)]
    metadata: PathBuf,
    /// The saved Backup Components Document.
    #[arg(long)]
    bcd: PathBuf,
    /// The backup's file catalog: one original path per line (e.g.
    /// `C:\Windows\System32\config\SAM`); optionally a TAB and the file's 8.3 short name;
    /// blank lines and lines starting with `#` are ignored.
    #[arg(long)]
    catalog: PathBuf,
    /// Component logical path to restore (`logicalPath\componentName`); repeatable.
    /// Default: every component of the BCD.
    #[arg(long = "select", value_name = "LOGICALPATH")]
    select: Vec<String>,
    /// Environment variable for %VAR% expansion, `NAME=VALUE`; repeatable.
    #[arg(long = "env", value_name = "K=V")]
    env: Vec<String>,
    /// Start from the usual Windows variables for this system drive (e.g. `C:`):
    /// SystemRoot, WinDir, ProgramData, ProgramFiles…; `--env` overrides them.
    #[arg(long, value_name = "DRIVE")]
    default_env: Option<String>,
    /// Volume GUID to drive letter, `{GUID}=C:`; repeatable.
    #[arg(long = "volume", value_name = "GUID=DRIVE")]
    volume: Vec<String>,
    /// Print the plan as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonFile<'a> {
    path: &'a str,
    action: &'static str,
    writer: Option<&'a str>,
    component: Option<&'a str>,
    method: Option<&'a str>,
    target: Option<&'a str>,
    destination: Option<String>,
    fallback: Option<&'a str>,
    partial: Option<&'a vss_model::ranges::PartialRanges>,
    reason: String,
}

/// The counts of the human output's last line, per action.
#[derive(Serialize, Default)]
struct Summary {
    files: usize,
    restore: usize,
    plain_restore: usize,
    excluded: usize,
    not_selected: usize,
    writer_error: usize,
}

impl Summary {
    fn of(files: &[Disposition]) -> Self {
        let mut s = Self {
            files: files.len(),
            ..Self::default()
        };
        for d in files {
            *match d {
                Disposition::Restore { .. } => &mut s.restore,
                Disposition::Traditional => &mut s.plain_restore,
                Disposition::Excluded { .. } => &mut s.excluded,
                Disposition::NotSelected { .. } => &mut s.not_selected,
                Disposition::WriterError { .. } => &mut s.writer_error,
            } += 1;
        }
        s
    }
}

#[derive(Serialize)]
struct JsonPlan<'a> {
    components: &'a [vss_model::restore_set::PlannedComponent],
    exclusions: &'a [vss_model::restore_set::ExclusionRef],
    files: Vec<JsonFile<'a>>,
    summary: Summary,
    /// Documents in `--metadata` that are not Writer Metadata Documents (also on stderr).
    skipped_documents: &'a [String],
}

pub(super) fn action(d: &Disposition) -> &'static str {
    match d {
        Disposition::Restore { .. } => "restore",
        Disposition::Traditional => "plain-restore",
        Disposition::Excluded { .. } => "excluded",
        Disposition::NotSelected { .. } => "not-selected",
        Disposition::WriterError { .. } => "writer-error",
    }
}

pub(super) fn destination_text(path: &str, d: &Destination) -> String {
    match d {
        Destination::Original => path.to_owned(),
        Destination::AlternateMapping(p) | Destination::NewTarget(p) => p.clone(),
        Destination::Directed(d) => format!("{} [{}]", d.path, d.destination_ranges),
    }
}

fn json_file<'a>(
    plan: &'a RestorePlan,
    entry: &CatalogEntry<'a>,
    d: &'a Disposition,
) -> JsonFile<'a> {
    let comp = match d {
        Disposition::Restore { component, .. } | Disposition::WriterError { component } => {
            Some(&plan.components[*component])
        }
        _ => None,
    };
    let (destination, fallback, partial) = match d {
        Disposition::Restore {
            destination,
            fallback,
            partial,
            ..
        } => (
            Some(destination_text(entry.path, destination)),
            fallback.as_deref(),
            partial.as_deref(),
        ),
        _ => (None, None, None),
    };
    let (writer, component) = match d {
        Disposition::NotSelected { writer, component } => {
            (Some(writer.as_str()), Some(component.as_str()))
        }
        _ => (
            comp.map(|c| c.writer.as_str()),
            comp.map(|c| c.component.as_str()),
        ),
    };
    JsonFile {
        path: entry.path,
        action: action(d),
        writer,
        component,
        method: comp.map(|c| c.method.as_xml()),
        target: comp.map(|c| c.target.as_xml()),
        destination,
        fallback,
        partial,
        reason: plan.reason(d),
    }
}

/// Runs `rehydrate vss plan`: prints the plan; exit code 1 when a component has writer errors.
pub(crate) fn run(args: &PlanArgs) -> Result<(), Failure> {
    let loaded = load_writers(&args.metadata)?;
    for s in &loaded.skipped {
        eprintln!("rehydrate: skipped {s}");
    }
    let writers = &loaded.writers;
    let bcd = load_bcd(&args.bcd)?;
    let catalog_bytes = read(&args.catalog)?;
    let (catalog_text, _) = vss_model::encoding::decode_document(&catalog_bytes)
        .map_err(|e| Failure::check(format!("{}: {e}", args.catalog.display())))?;
    let catalog = parse_catalog(&catalog_text);
    let env = environment(args.default_env.as_deref(), &args.env)?;
    let volumes = volumes(&args.volume)?;
    let input = RestoreSetInput {
        writers,
        bcd: &bcd,
        selection: &args.select,
        env: &env,
        volumes: &volumes,
    };
    let plan = generate(&input, &catalog).map_err(|e| super::input::restore_set_failure(&e))?;

    if args.json {
        let files = catalog
            .iter()
            .zip(&plan.files)
            .map(|(e, d)| json_file(&plan, e, d))
            .collect();
        let out = JsonPlan {
            components: &plan.components,
            exclusions: &plan.exclusions,
            files,
            summary: Summary::of(&plan.files),
            skipped_documents: &loaded.skipped,
        };
        let text = serde_json::to_string_pretty(&out)
            .map_err(|e| Failure::usage(format!("JSON output: {e}")))?;
        outln!("{text}");
    } else {
        out!("{}", human_plan(&plan, &catalog));
    }
    let broken: Vec<String> = plan
        .components
        .iter()
        .filter(|c| !c.problems.is_empty())
        .map(|c| format!("{} ({})", c.component, c.writer))
        .collect();
    super::input::documents_match(&args.bcd, &args.metadata, &bcd, writers)?;
    if broken.is_empty() {
        Ok(())
    } else {
        Err(Failure::check(format!(
            "writer errors in {} component(s): {}",
            broken.len(),
            broken.join(", ")
        )))
    }
}

fn human_plan(plan: &RestorePlan, catalog: &[CatalogEntry<'_>]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Components:");
    let _ = writeln!(
        o,
        "  {:<32} {:<34} {:<36} {:<8} {:<9} {:>6}",
        "writer", "component", "method", "restore", "target", "files"
    );
    for c in &plan.components {
        let _ = writeln!(
            o,
            "  {:<32} {:<34} {:<36} {:<8} {:<9} {:>6}{}",
            c.writer,
            c.component,
            c.method.as_xml(),
            c.writer_restore.as_xml(),
            c.target.as_xml(),
            c.files,
            if c.reboot_required {
                "  reboot required"
            } else {
                ""
            }
        );
        for p in &c.problems {
            let _ = writeln!(o, "      WRITER ERROR: {p}");
        }
    }
    let _ = writeln!(o, "\nFiles:");
    for (e, d) in catalog.iter().zip(&plan.files) {
        match d {
            Disposition::Restore {
                destination,
                partial,
                ..
            } => {
                let dest = destination_text(e.path, destination);
                let arrow = if dest == e.path {
                    String::new()
                } else {
                    format!(" -> {dest}")
                };
                let _ = writeln!(
                    o,
                    "  {:<13} {}{arrow}{}  [{}]",
                    action(d),
                    e.path,
                    if partial.is_some() { " (partial)" } else { "" },
                    plan.reason(d)
                );
            }
            _ => {
                let _ = writeln!(o, "  {:<13} {}  [{}]", action(d), e.path, plan.reason(d));
            }
        }
    }
    let n = Summary::of(&plan.files);
    let _ = writeln!(
        o,
        "\n{} files: {} restore for a component, {} plain restore, {} excluded, {} not selected, {} writer error",
        n.files, n.restore, n.plain_restore, n.excluded, n.not_selected, n.writer_error
    );
    o
}
