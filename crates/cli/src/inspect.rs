//! `rehydrate inspect container`: every header slot, table and record of a `.ccc` file with the
//! outcome of every check.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Subcommand;
use dedup_store::{
    Compression, Container, ContainerHeader, ReadOptions, RecordType, RedirectionTable, hex,
};
use serde::Serialize;

use crate::mapped::map_file;
use crate::{Failure, vocab};
#[allow(unused_imports)]
use crate::{out, outln};

/// `rehydrate inspect` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum InspectCommand {
    /// A chunk-store container (`XXXXXXXX.GGGGGGGG.ccc`): header slots, redirection tables and
    /// every record with its checks (header CRC-64, payload CRC-64, decompression, chunk hash).
    #[command(
        after_help = crate::help::INSPECT_CONTAINER,
        override_usage = "rehydrate inspect container [OPTIONS] --source <FILE>"
    )]
    Container {
        /// The container file.
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "file",
            conflicts_with = "file"
        )]
        source: Option<PathBuf>,
        /// The container file, in the older positional spelling of `--source`.
        #[arg(hide = true)]
        file: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Skip the chunk-hash (SHA-512) check of data chunks.
        #[arg(long)]
        no_verify_hash: bool,
    },
    /// A dedup reparse point: from a stub file's `user.ntfs_reparse_data` (or ntfs-3g's
    /// `system.ntfs_reparse_data`) extended attribute, or else from a file holding the raw
    /// buffer. Prints its layout, store GUID, logical size and stream-map reference.
    #[cfg(unix)]
    #[command(
        after_help = crate::help::INSPECT_REPARSE,
        override_usage = "rehydrate inspect reparse [OPTIONS] --source <FILE>"
    )]
    Reparse {
        /// The stub or raw buffer file.
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "file",
            conflicts_with = "file"
        )]
        source: Option<PathBuf>,
        /// The stub, in the older positional spelling of `--source`.
        #[arg(hide = true)]
        file: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The chunk store of a volume folder or disk image: containers, generations, chunk
    /// counts, logical and stored bytes, dedup and compression ratios (every record verified).
    #[cfg(unix)]
    #[command(
        after_help = crate::help::INSPECT_STORE,
        override_usage = "rehydrate inspect store [OPTIONS] --source <VOLDIR|IMAGE>"
    )]
    Store(crate::inspect_volume::StoreArgs),
}

#[derive(Debug, Serialize)]
struct HeaderJson {
    usn: u64,
    version: String,
    container_id: u32,
    generation: u32,
    chunk_count: u32,
    next_local_id: u32,
    valid_data_length: u64,
    last_append_filetime: u64,
    backup_redirection_offset: u32,
    unknown_34: u32,
}

impl From<&ContainerHeader> for HeaderJson {
    fn from(h: &ContainerHeader) -> Self {
        Self {
            usn: h.usn,
            version: hex(&h.version),
            container_id: h.container_id,
            generation: h.generation,
            chunk_count: h.chunk_count,
            next_local_id: h.next_local_id,
            valid_data_length: h.valid_data_length,
            last_append_filetime: h.last_append_filetime,
            backup_redirection_offset: h.backup_redirection_offset,
            unknown_34: h.unknown_34,
        }
    }
}

#[derive(Debug, Serialize)]
struct SlotJson {
    offset: u32,
    chosen: bool,
    header: Option<HeaderJson>,
    error: Option<String>,
}

/// One `Rrtl` entry, labelled rather than a bare pair.
#[derive(Debug, Serialize)]
struct RedirectionJson {
    local_id: u32,
    /// Where the record moved to.
    offset: u32,
}

#[derive(Debug, Serialize)]
struct TableJson {
    offset: u32,
    in_use: bool,
    entries: Option<Vec<RedirectionJson>>,
    unknown_10: Option<u64>,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct RecordJson {
    offset: u64,
    record_type: Option<&'static str>,
    local_id: Option<u32>,
    stored_size: Option<u32>,
    logical_size: Option<usize>,
    compression: Option<u32>,
    hash: Option<String>,
    /// "ok", "fail" or "n/a" for each check.
    header_crc: &'static str,
    payload_crc: &'static str,
    decode: &'static str,
    chunk_hash: &'static str,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Report {
    /// The container file read (`--source`; `container` means the container at fault in
    /// `restore`'s JSON).
    source: String,
    file_size: u64,
    chosen_slot: usize,
    slots: Vec<SlotJson>,
    redirection_tables: Vec<TableJson>,
    records: Vec<RecordJson>,
    data_chunks: usize,
    stream_maps: usize,
    padding_records: usize,
    compressed_chunks: usize,
    stored_bytes: u64,
    logical_bytes: u64,
    failed_checks: usize,
    first_failure: Option<String>,
}

/// Runs an `inspect` subcommand.
pub(crate) fn run(cmd: InspectCommand) -> Result<(), Failure> {
    match cmd {
        #[cfg(unix)]
        InspectCommand::Reparse { source, file, json } => {
            crate::inspect_volume::run_reparse(&vocab::source(source, file)?, json)
        }
        #[cfg(unix)]
        InspectCommand::Store(args) => crate::inspect_volume::run_store(&args),
        InspectCommand::Container {
            source,
            file,
            json,
            no_verify_hash,
        } => {
            let file = vocab::source(source, file)?;
            let map = map_file(&file)?;
            let name = file.display().to_string();
            let container = Container::open(name.clone(), &map[..])
                .map_err(|e| Failure::check(e.to_string()))?;
            let opts = ReadOptions {
                verify_hash: !no_verify_hash,
                ..ReadOptions::default()
            };
            let report = build_report(&container, map.len() as u64, &opts);
            if json {
                let text = serde_json::to_string_pretty(&report)
                    .map_err(|e| Failure::usage(format!("cannot encode JSON: {e}")))?;
                outln!("{text}");
            } else {
                out!("{}", render_text(&report));
            }
            match report.first_failure {
                None => Ok(()),
                Some(first) => Err(Failure::check(format!(
                    "{} check(s) failed; first: {first}",
                    report.failed_checks
                ))),
            }
        }
    }
}

fn table_json(
    offset: u32,
    in_use: bool,
    status: &Result<RedirectionTable, dedup_store::ContainerError>,
) -> TableJson {
    match status {
        Ok(t) => TableJson {
            offset,
            in_use,
            entries: Some(
                t.entries
                    .iter()
                    .map(|&(local_id, offset)| RedirectionJson { local_id, offset })
                    .collect(),
            ),
            unknown_10: Some(t.unknown_10),
            error: None,
        },
        Err(e) => TableJson {
            offset,
            in_use: false,
            entries: None,
            unknown_10: None,
            error: Some(e.to_string()),
        },
    }
}

fn build_report(c: &Container<&[u8]>, file_size: u64, opts: &ReadOptions) -> Report {
    let mut failures: Vec<String> = Vec::new();
    let slots = c
        .slot_reports()
        .iter()
        .enumerate()
        .map(|(i, s)| SlotJson {
            offset: s.offset,
            chosen: i == c.chosen_slot(),
            header: s.status.as_ref().ok().map(HeaderJson::from),
            error: s.status.as_ref().err().map(|e| {
                failures.push(e.to_string());
                e.to_string()
            }),
        })
        .collect();
    let primary_ok = c.table_reports()[0].status.is_ok();
    let redirection_tables = c
        .table_reports()
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if let Err(e) = &t.status {
                failures.push(e.to_string());
            }
            table_json(
                t.offset,
                if i == 0 { primary_ok } else { !primary_ok },
                &t.status,
            )
        })
        .collect();
    let mut records = Vec::new();
    let (mut data_chunks, mut stream_maps, mut padding_records, mut compressed_chunks) =
        (0, 0, 0, 0);
    let (mut stored_bytes, mut logical_bytes) = (0u64, 0u64);
    let mut scratch = Vec::new();
    let mut pos = u64::from(dedup_store::FIRST_RECORD_OFFSET);
    for item in c.records() {
        let rec = match item {
            Ok(r) => r,
            Err(e) => {
                failures.push(e.to_string());
                records.push(RecordJson {
                    offset: e.offset().unwrap_or(pos),
                    record_type: None,
                    local_id: None,
                    stored_size: None,
                    logical_size: None,
                    compression: None,
                    hash: None,
                    header_crc: "fail",
                    payload_crc: "n/a",
                    decode: "n/a",
                    chunk_hash: "n/a",
                    error: Some(e.to_string()),
                });
                continue;
            }
        };
        pos = rec.next_record_offset();
        let mut row = RecordJson {
            offset: rec.offset.into(),
            record_type: Some(rec.record_type.name()),
            local_id: Some(rec.local_id),
            stored_size: Some(rec.stored_size),
            logical_size: None,
            compression: Some(rec.compression.code()),
            hash: None,
            header_crc: "ok",
            payload_crc: "n/a",
            decode: "n/a",
            chunk_hash: "n/a",
            error: None,
        };
        match rec.record_type {
            RecordType::Padding => padding_records += 1,
            RecordType::Data | RecordType::StreamMap => {
                if rec.record_type == RecordType::Data {
                    data_chunks += 1;
                } else {
                    stream_maps += 1;
                }
                stored_bytes += u64::from(rec.stored_size);
                row.hash = Some(hex(&rec.hash));
                let compressed = rec.compression != Compression::Stored;
                if compressed {
                    compressed_chunks += 1;
                }
                match c.logical_payload(&rec, None, opts, &mut scratch) {
                    Ok(data) => {
                        row.payload_crc = "ok";
                        if compressed {
                            row.decode = "ok";
                        }
                        if rec.record_type == RecordType::Data && opts.verify_hash {
                            row.chunk_hash = "ok";
                        }
                        row.logical_size = Some(data.len());
                        logical_bytes += data.len() as u64;
                    }
                    Err(e) => {
                        use dedup_store::ContainerError as E;
                        match &e {
                            E::CrcMismatch { .. } => row.payload_crc = "fail",
                            E::Decompress { .. } | E::UnsupportedCompression { .. } => {
                                row.payload_crc = "ok";
                                row.decode = "fail";
                            }
                            E::HashMismatch { .. } => {
                                row.payload_crc = "ok";
                                if compressed {
                                    row.decode = "ok";
                                }
                                row.chunk_hash = "fail";
                            }
                            _ => {}
                        }
                        failures.push(e.to_string());
                        row.error = Some(e.to_string());
                    }
                }
            }
        }
        records.push(row);
    }
    Report {
        source: c.name().to_string(),
        file_size,
        chosen_slot: c.chosen_slot(),
        slots,
        redirection_tables,
        records,
        data_chunks,
        stream_maps,
        padding_records,
        compressed_chunks,
        stored_bytes,
        logical_bytes,
        failed_checks: failures.len(),
        first_failure: failures.into_iter().next(),
    }
}

fn render_text(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "container {}  ({} bytes)", r.source, r.file_size);
    let _ = writeln!(
        s,
        "\nheader slots (the valid one with the highest USN is used):"
    );
    for (i, slot) in r.slots.iter().enumerate() {
        let mark = if slot.chosen { "*" } else { " " };
        match (&slot.header, &slot.error) {
            (Some(h), _) => {
                let _ = writeln!(
                    s,
                    " {mark}{i} @{:#06x}  ok  usn {}  id {:08x} gen {:08x}  chunks {}  next id {}  vdl {:#x}  filetime {:#x}",
                    slot.offset,
                    h.usn,
                    h.container_id,
                    h.generation,
                    h.chunk_count,
                    h.next_local_id,
                    h.valid_data_length,
                    h.last_append_filetime
                );
            }
            (None, e) => {
                let _ = writeln!(
                    s,
                    " {mark}{i} @{:#06x}  FAIL  {}",
                    slot.offset,
                    e.as_deref().unwrap_or("")
                );
            }
        }
    }
    let _ = writeln!(s, "\nredirection tables:");
    for t in &r.redirection_tables {
        let use_mark = if t.in_use { "*" } else { " " };
        match (&t.entries, &t.error) {
            (Some(entries), _) => {
                let _ = write!(
                    s,
                    " {use_mark} @{:#06x}  ok  {} entries",
                    t.offset,
                    entries.len()
                );
                for RedirectionJson {
                    local_id: id,
                    offset: off,
                } in entries.iter().take(16)
                {
                    let _ = write!(s, "  {id}->{off:#x}");
                }
                if entries.len() > 16 {
                    let _ = write!(s, "  …");
                }
                let _ = writeln!(s);
            }
            (None, e) => {
                let _ = writeln!(
                    s,
                    " {use_mark} @{:#06x}  FAIL  {}",
                    t.offset,
                    e.as_deref().unwrap_or("")
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "\nrecords:\n {:>10}  {:<10} {:>8} {:>8} {:>8} {:>4}  {:<6} {:<6} {:<6} {:<6}  hash value or error",
        "offset",
        "type",
        "local id",
        "stored",
        "logical",
        "comp",
        "header",
        "crc",
        "decode",
        "hash"
    );
    for rec in &r.records {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            " {:>#10x}  {:<10} {:>8} {:>8} {:>8} {:>4}  {:<6} {:<6} {:<6} {:<6}  {}",
            rec.offset,
            rec.record_type.unwrap_or("?"),
            opt(rec.local_id.map(|v| v.to_string())),
            opt(rec.stored_size.map(|v| v.to_string())),
            opt(rec.logical_size.map(|v| v.to_string())),
            opt(rec.compression.map(|v| v.to_string())),
            rec.header_crc,
            rec.payload_crc,
            rec.decode,
            rec.chunk_hash,
            rec.error
                .clone()
                .or_else(|| rec.hash.clone())
                .unwrap_or_default()
        );
    }
    let _ = writeln!(
        s,
        "\n{} data chunks ({} compressed), {} stream maps, {} padding records; {} stored bytes, {} logical bytes; {} failed check(s)",
        r.data_chunks,
        r.compressed_chunks,
        r.stream_maps,
        r.padding_records,
        r.stored_bytes,
        r.logical_bytes,
        r.failed_checks
    );
    s
}
