//! `rehydrate vss …`: show VSS documents and plan restores (see `crates/vss-model`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde::Serialize;
use vss_model::restore_set::{
    CatalogEntry, Destination, Disposition, Environment, RestorePlan, RestoreSetInput, generate,
    parse_catalog,
};
use vss_model::{BackupComponents, Document, Guid, WriterMetadata};

use crate::Failure;

/// `rehydrate vss` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum VssCommand {
    /// Show a Writer Metadata Document or Backup Components Document.
    Show {
        /// The XML document (UTF-8 or UTF-16, with or without BOM).
        doc: PathBuf,
        /// Print the parsed model as JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Plan a restore: which backed-up file goes where, per writer and component.
    Plan {
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
    },
}

/// Runs a `vss` subcommand.
pub(crate) fn run(cmd: VssCommand) -> Result<(), Failure> {
    match cmd {
        VssCommand::Show { doc, json } => show(&doc, json),
        VssCommand::Plan {
            metadata,
            bcd,
            catalog,
            select,
            env,
            default_env,
            volume,
            json,
        } => plan(&PlanArgs {
            metadata: &metadata,
            bcd: &bcd,
            catalog: &catalog,
            select: &select,
            env: &env,
            default_env: default_env.as_deref(),
            volume: &volume,
            json,
        }),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::io(format!("{}: {e}", path.display())))
}

fn yn(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
}

fn one_line(s: &str) -> String {
    s.replace("\r\n", " ")
        .replace(['\r', '\n'], " ")
        .trim()
        .to_owned()
}

fn show(path: &Path, json: bool) -> Result<(), Failure> {
    let bytes = read(path)?;
    let doc = Document::from_bytes(&bytes)
        .map_err(|e| Failure::check(format!("{}: {e}", path.display())))?;
    if json {
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| Failure::io(format!("JSON output: {e}")))?;
        println!("{text}");
        return Ok(());
    }
    let out = match &doc {
        Document::Writer(w) => show_writer(w),
        Document::Components(b) => show_bcd(b),
    };
    print!("{out}");
    Ok(())
}

fn show_writer(w: &WriterMetadata) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Writer Metadata Document");
    if let Some(id) = &w.identification {
        let _ = writeln!(o, "  writer:        {}", w.display_name());
        let _ = writeln!(o, "  writerId:      {}", id.writer_id);
        if let Some(i) = id.instance_id {
            let _ = writeln!(o, "  instanceId:    {i}");
        }
        if let Some(n) = &id.instance_name {
            let _ = writeln!(o, "  instanceName:  {n}");
        }
        if let Some(u) = &id.usage {
            let _ = writeln!(o, "  usage:         {u}");
        }
        if let Some(d) = &id.data_source {
            let _ = writeln!(o, "  dataSource:    {d}");
        }
    } else {
        let _ = writeln!(o, "  (no IDENTIFICATION)");
    }
    if let Some(b) = w.backup_schema {
        let _ = writeln!(o, "  backupSchema:  {b}");
    }
    match &w.restore_method {
        Some(rm) => {
            let _ = writeln!(o, "  method:        {}", rm.method);
            let _ = writeln!(o, "  writerRestore: {}", rm.writer_restore);
            let _ = writeln!(o, "  reboot:        {}", yn(rm.reboot_required));
            if let Some(s) = &rm.service {
                let _ = writeln!(o, "  service:       {s}");
            }
        }
        None => {
            let _ = writeln!(o, "  method:        (no RESTORE_METHOD: undefined)");
        }
    }
    let _ = writeln!(o, "\nComponents ({}):", w.components.len());
    let _ = writeln!(
        o,
        "  {:<40} {:<10} {:<10} {:<11} {:<6} {:>9}",
        "logical path\\name", "kind", "selectable", "for restore", "flags", "file sets"
    );
    for c in &w.components {
        let _ = writeln!(
            o,
            "  {:<40} {:<10} {:<10} {:<11} {:<6} {:>9}",
            c.full_path(),
            c.kind.element(),
            yn(c.selectable),
            yn(c.selectable_for_restore),
            c.flags.map_or("-".to_owned(), |f| f.bits().to_string()),
            c.file_sets.len()
        );
        if let Some(cap) = &c.caption
            && !cap.is_empty()
            && cap != &c.name
        {
            let _ = writeln!(o, "      caption: {}", one_line(cap));
        }
    }
    let _ = writeln!(o, "\nFile sets ({}):", w.file_sets().count());
    for (c, f) in w.file_sets() {
        let _ = writeln!(
            o,
            "  {:<24} {:<17} {}\\{}{}",
            c.full_path(),
            f.kind.element(),
            f.path.trim_end_matches('\\'),
            f.filespec,
            if f.is_recursive() {
                "  (recursive)"
            } else {
                ""
            }
        );
    }
    for (name, list) in [
        ("EXCLUDE_FILES", &w.excludes),
        ("EXCLUDE_FILES_FROM_SNAPSHOT", &w.excludes_from_snapshot),
    ] {
        if !list.is_empty() {
            let _ = writeln!(o, "\n{name} ({}):", list.len());
            for x in list {
                let _ = writeln!(
                    o,
                    "  {}\\{}{}",
                    x.path.trim_end_matches('\\'),
                    x.filespec,
                    if x.is_recursive() {
                        "  (recursive)"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    if !w.alternate_mappings.is_empty() {
        let _ = writeln!(o, "\nAlternate location mappings:");
        for m in &w.alternate_mappings {
            let _ = writeln!(o, "  {}\\{} -> {}", m.path, m.filespec, m.alternate_path);
        }
    }
    o
}

fn show_bcd(b: &BackupComponents) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Backup Components Document");
    if let Some(t) = &b.backup_type {
        let _ = writeln!(o, "  backupType:                {t}");
    }
    let _ = writeln!(
        o,
        "  bootableSystemStateBackup: {}",
        yn(b.bootable_system_state_backup)
    );
    let _ = writeln!(
        o,
        "  selectComponents:          {}",
        yn(b.select_components)
    );
    let _ = writeln!(
        o,
        "  partialFileSupport:        {}",
        yn(b.partial_file_support)
    );
    if let Some(s) = b.snapshot_set_id {
        let _ = writeln!(o, "  snapshotSetId:             {s}");
    }
    for w in &b.writers {
        let _ = writeln!(
            o,
            "\nWriter {} (instance {}){}",
            w.writer_id,
            w.instance_id.map_or("-".to_owned(), |g| g.to_string()),
            w.instance_name
                .as_ref()
                .map_or(String::new(), |n| format!(" {n}"))
        );
        if let Some(s) = w.backup_schema {
            let _ = writeln!(o, "  backupSchema: {s}");
        }
        for c in &w.components {
            let _ = write!(
                o,
                "  {:<40} {}",
                c.full_path(),
                c.component_type.as_ref().map_or("-", |t| t.as_xml())
            );
            if c.backup_stamp.is_some() {
                let _ = write!(o, "  backupStamp");
            }
            if let Some(m) = c.backup_metadata.as_ref().and_then(|m| m.metadata.as_ref()) {
                let _ = write!(o, "  metadata: {} chars", m.len());
            }
            let _ = writeln!(o);
            if let Some(r) = &c.restore {
                let _ = writeln!(
                    o,
                    "      restore state (ours): selected {}, target {}, status {}",
                    yn(r.selected_for_restore),
                    r.restore_target.as_ref().map_or("-", |t| t.as_xml()),
                    r.file_restore_status.as_ref().map_or("-", |t| t.as_xml())
                );
            }
        }
    }
    o
}

struct PlanArgs<'a> {
    metadata: &'a Path,
    bcd: &'a Path,
    catalog: &'a Path,
    select: &'a [String],
    env: &'a [String],
    default_env: Option<&'a str>,
    volume: &'a [String],
    json: bool,
}

/// Loads every WMD of a folder (in file-name order); other XML documents are skipped.
fn load_writers(dir: &Path) -> Result<(Vec<WriterMetadata>, Vec<String>), Failure> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Failure::io(format!("{}: {e}", dir.display())))?;
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
    Ok((writers, skipped))
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

#[derive(Serialize)]
struct JsonPlan<'a> {
    components: &'a [vss_model::restore_set::PlannedComponent],
    exclusions: &'a [vss_model::restore_set::ExclusionRef],
    files: Vec<JsonFile<'a>>,
}

fn action(d: &Disposition) -> &'static str {
    match d {
        Disposition::Restore { .. } => "restore",
        Disposition::Traditional => "plain-restore",
        Disposition::Excluded { .. } => "excluded",
        Disposition::NotSelected { .. } => "not-selected",
        Disposition::WriterError { .. } => "writer-error",
    }
}

fn destination_text(path: &str, d: &Destination) -> String {
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

fn plan(args: &PlanArgs<'_>) -> Result<(), Failure> {
    let (writers, skipped) = load_writers(args.metadata)?;
    for s in &skipped {
        eprintln!("rehydrate: skipped {s}");
    }
    let bcd_bytes = read(args.bcd)?;
    let bcd = BackupComponents::from_bytes(&bcd_bytes)
        .map_err(|e| Failure::check(format!("{}: {e}", args.bcd.display())))?;
    let catalog_bytes = read(args.catalog)?;
    let (catalog_text, _) = vss_model::encoding::decode_document(&catalog_bytes)
        .map_err(|e| Failure::check(format!("{}: {e}", args.catalog.display())))?;
    let catalog = parse_catalog(&catalog_text);

    let mut env = args
        .default_env
        .map_or_else(Environment::new, Environment::windows_defaults);
    for kv in args.env {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| Failure::check(format!("--env {kv:?}: expected NAME=VALUE")))?;
        env.set(k, v);
    }
    let mut volumes = Vec::new();
    for kv in args.volume {
        let (g, d) = kv
            .split_once('=')
            .ok_or_else(|| Failure::check(format!("--volume {kv:?}: expected GUID=DRIVE")))?;
        let g = g.trim();
        let g = g
            .strip_prefix("Volume")
            .or_else(|| g.strip_prefix("volume"))
            .unwrap_or(g);
        let guid: Guid = g
            .parse()
            .map_err(|_| Failure::check(format!("--volume {kv:?}: {g:?} is not a GUID")))?;
        volumes.push((guid, d.to_owned()));
    }
    let input = RestoreSetInput {
        writers: &writers,
        bcd: &bcd,
        selection: args.select,
        env: &env,
        volumes: &volumes,
    };
    let plan = generate(&input, &catalog).map_err(|e| Failure::check(e.to_string()))?;

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
        };
        let text = serde_json::to_string_pretty(&out)
            .map_err(|e| Failure::io(format!("JSON output: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", human_plan(&plan, &catalog));
    }
    let broken: Vec<String> = plan
        .components
        .iter()
        .filter(|c| !c.problems.is_empty())
        .map(|c| format!("{} ({})", c.component, c.writer))
        .collect();
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
    let mut counts = [0usize; 5];
    let _ = writeln!(o, "\nFiles:");
    for (e, d) in catalog.iter().zip(&plan.files) {
        let i = match d {
            Disposition::Restore { .. } => 0,
            Disposition::Traditional => 1,
            Disposition::Excluded { .. } => 2,
            Disposition::NotSelected { .. } => 3,
            Disposition::WriterError { .. } => 4,
        };
        counts[i] += 1;
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
    let _ = writeln!(
        o,
        "\n{} files: {} restore for a component, {} plain restore, {} excluded, {} not selected, {} writer error",
        catalog.len(),
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        counts[4]
    );
    o
}
