//! `rehydrate vss show`: one Writer Metadata Document or Backup Components Document as
//! tables or JSON.

use std::fmt::Write as _;
use std::path::Path;

use vss_model::{BackupComponents, Document, WriterMetadata};

use super::input::read;
use crate::Failure;
use crate::out;
use crate::outln;

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

pub(crate) fn run(path: &Path, json: bool) -> Result<(), Failure> {
    let bytes = read(path)?;
    let doc = Document::from_bytes(&bytes)
        .map_err(|e| Failure::check(format!("{}: {e}", path.display())))?;
    if json {
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| Failure::usage(format!("JSON output: {e}")))?;
        outln!("{text}");
        return Ok(());
    }
    let out = match &doc {
        Document::Writer(w) => show_writer(w),
        Document::Components(b) => show_bcd(b),
    };
    out!("{out}");
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
