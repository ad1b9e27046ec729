//! `rehydrate inspect reparse` (a dedup reparse point's fields, from a stub's extended
//! attribute or a raw buffer file) and `rehydrate inspect store` (a summary of the chunk store
//! of a host-directory volume or a disk image).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use dedup_reparse::{DedupReparse, Framing, Layout, LayoutVersion};
use dedup_store::hex;
use platform::{HostSource, Source};
use serde::Serialize;
use winsim::dedup::ContainerKind;
use winsim::dedup::store::{StoreSummary, summarize_source};

use crate::Failure;
#[allow(unused_imports)]
use crate::{out, outln};

/// Largest raw reparse buffer accepted from a file (`MAXIMUM_REPARSE_DATA_BUFFER_SIZE`).
const MAX_RAW: u64 = 16 * 1024;

#[derive(Debug, Serialize)]
struct EntryJson {
    local_id: u32,
    container_id: u32,
    offset_hint: u32,
    stream_map_size: u32,
    hash: String,
    range_begin: u64,
    range_end: u64,
    /// `Stream\XXXXXXXX.*.ccc`: the stream container holding the stream map.
    stream_container: String,
}

/// A chunk reference, labelled rather than a bare pair.
#[derive(Debug, Serialize)]
struct IdRefJson {
    local_id: u32,
    container_id: u32,
}

#[derive(Debug, Serialize)]
struct V3Json {
    version: Option<u32>,
    flags: Option<u32>,
    created_filetime: Option<u64>,
    created_unix: Option<i64>,
    id: Option<u32>,
    recall_bitmap_type: Option<u32>,
    ddrp_version: Option<u32>,
    id_ref: Option<IdRefJson>,
}

#[derive(Debug, Serialize)]
struct ReparseJson {
    /// The stub or raw buffer file read (`--source`).
    source: String,
    /// Where the bytes came from: `user.ntfs_reparse_data`, `system.ntfs_reparse_data` or
    /// `raw file`.
    read_from: &'static str,
    length: usize,
    framing: &'static str,
    version: &'static str,
    store_guid: String,
    logical_size: u64,
    /// Size of the file on the host when the point came from its extended attribute.
    file_size: Option<u64>,
    entries: Vec<EntryJson>,
    v3: Option<V3Json>,
}

fn version_name(v: LayoutVersion) -> &'static str {
    match v {
        LayoutVersion::V1 => "v1",
        LayoutVersion::V2 => "v2",
        LayoutVersion::V3 => "v3",
    }
}

/// The reparse bytes of `file`: its reparse extended attribute, or else its contents.
fn reparse_bytes(file: &Path) -> Result<(&'static str, Vec<u8>, Option<u64>), Failure> {
    let md = std::fs::metadata(file)
        .map_err(|e| Failure::usage(format!("{}: cannot open: {e}", file.display())))?;
    if !md.is_file() {
        return Err(Failure::usage(format!("{}: not a file", file.display())));
    }
    #[cfg(unix)]
    for name in [platform::REPARSE_XATTR_USER, platform::REPARSE_XATTR_SYSTEM] {
        match xattr::get(file, name) {
            Ok(Some(v)) => {
                let source = if name == platform::REPARSE_XATTR_USER {
                    "user.ntfs_reparse_data"
                } else {
                    "system.ntfs_reparse_data"
                };
                return Ok((source, v, Some(md.len())));
            }
            Ok(None) => {}
            // No xattr support on this file system: the file can only be a raw buffer.
            Err(e) if e.kind() == std::io::ErrorKind::Unsupported => break,
            Err(e) => {
                return Err(Failure::usage(format!(
                    "{}: cannot read the {name} extended attribute: {e}",
                    file.display()
                )));
            }
        }
    }
    if md.len() > MAX_RAW {
        return Err(Failure::check(format!(
            "{}: no reparse-point extended attribute, and at {} bytes the file is too large to be a raw reparse buffer (at most {MAX_RAW})",
            file.display(),
            md.len()
        )));
    }
    let bytes = std::fs::read(file)
        .map_err(|e| Failure::usage(format!("{}: cannot read: {e}", file.display())))?;
    Ok(("raw file", bytes, None))
}

fn reparse_json(file: &Path) -> Result<ReparseJson, Failure> {
    let (source, bytes, file_size) = reparse_bytes(file)?;
    let point = DedupReparse::parse(&bytes)
        .map_err(|e| Failure::check(format!("{} ({source}): {e}", file.display())))?;
    let entries = point
        .entries()
        .iter()
        .map(|e| EntryJson {
            local_id: e.local_id,
            container_id: e.container_id,
            offset_hint: e.offset_hint,
            stream_map_size: e.stream_map_size,
            hash: hex(e.hash.as_bytes()),
            range_begin: e.range_begin,
            range_end: e.range_end,
            stream_container: format!(
                "{}\\{:08x}.*.ccc",
                dedup_store::ContainerKind::Stream.dir_name(),
                e.container_id
            ),
        })
        .collect();
    let v3 = match &point.layout {
        Layout::V3(p) => Some(V3Json {
            version: p.version,
            flags: p.flags,
            created_filetime: p.created.map(|t| t.0),
            created_unix: p.created.map(dedup_reparse::FileTime::unix_seconds),
            id: p.id,
            recall_bitmap_type: p.recall_bitmap_type,
            ddrp_version: p.ddrp_version,
            id_ref: p.id_ref.map(|r| IdRefJson {
                local_id: r.local_id,
                container_id: r.container_id,
            }),
        }),
        Layout::V1(_) | Layout::V2(_) => None,
    };
    Ok(ReparseJson {
        source: file.display().to_string(),
        read_from: source,
        length: bytes.len(),
        framing: match point.framing {
            Framing::Bare => "bare reparse data",
            Framing::Buffer { .. } => "REPARSE_DATA_BUFFER",
        },
        version: version_name(point.version()),
        store_guid: point.guid().to_string(),
        logical_size: point.logical_size(),
        file_size,
        entries,
        v3,
    })
}

/// `rehydrate inspect reparse FILE [--json]`.
pub(crate) fn run_reparse(file: &Path, json: bool) -> Result<(), Failure> {
    let r = reparse_json(file)?;
    if json {
        let text = serde_json::to_string_pretty(&r)
            .map_err(|e| Failure::usage(format!("cannot encode JSON: {e}")))?;
        outln!("{text}");
    } else {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "reparse point of {} ({}, {} bytes)",
            r.source, r.read_from, r.length
        );
        let _ = writeln!(s, "  framing       {}", r.framing);
        let _ = writeln!(s, "  version       {}", r.version);
        let _ = writeln!(s, "  store guid    {}", r.store_guid);
        let _ = writeln!(s, "  logical size  {}", r.logical_size);
        if let Some(size) = r.file_size {
            let _ = writeln!(
                s,
                "  file size     {size}{}",
                if size == r.logical_size {
                    ""
                } else {
                    "  (differs from the logical size)"
                }
            );
        }
        if let Some(v3) = &r.v3 {
            let opt = |v: Option<u32>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
            let _ = writeln!(
                s,
                "  v3            version {}  flags {}  id {}  recall bitmap type {}  DdRp version {}",
                opt(v3.version),
                opt(v3.flags),
                opt(v3.id),
                opt(v3.recall_bitmap_type),
                opt(v3.ddrp_version)
            );
            if let Some(t) = v3.created_filetime {
                let _ = writeln!(s, "  created       FILETIME {t:#x}");
            }
        }
        for (i, e) in r.entries.iter().enumerate() {
            let _ = writeln!(
                s,
                "  entry {i}: stream map local id {} in {}  offset hint {:#x}  size {}  range {}..{}\n           hash {}",
                e.local_id,
                e.stream_container,
                e.offset_hint,
                e.stream_map_size,
                e.range_begin,
                e.range_end,
                e.hash
            );
        }
        out!("{s}");
    }
    Ok(())
}

/// One container in `inspect store --json`.
#[derive(Debug, Serialize)]
pub(crate) struct ContainerJson {
    kind: &'static str,
    file: String,
    container_id: u32,
    generation: u32,
    superseded: bool,
    file_size: u64,
    records: usize,
    padding_records: usize,
    compressed: usize,
    stored_bytes: u64,
    logical_bytes: u64,
    redirections: usize,
    error: Option<String>,
}

/// The store summary as JSON (shared by `inspect store` and `sim optimize`).
#[derive(Debug, Serialize)]
pub(crate) struct StoreJson {
    store_guid: String,
    data_containers: usize,
    stream_containers: usize,
    /// Container files per generation (superseded ones included).
    generations: std::collections::BTreeMap<u32, usize>,
    max_generation: u32,
    data_chunks: usize,
    compressed_chunks: usize,
    stream_maps: usize,
    redirections: usize,
    chunk_logical_bytes: u64,
    chunk_stored_bytes: u64,
    optimized_files: usize,
    optimized_logical_bytes: u64,
    chunk_references: u64,
    dedup_ratio: Option<f64>,
    compression_ratio: Option<f64>,
    savings_ratio: Option<f64>,
    containers: Vec<ContainerJson>,
    errors: Vec<String>,
}

fn kind_name(k: ContainerKind) -> &'static str {
    k.dir_name()
}

impl From<&StoreSummary> for StoreJson {
    fn from(s: &StoreSummary) -> Self {
        let mut generations = std::collections::BTreeMap::new();
        for c in &s.containers {
            *generations.entry(c.generation).or_insert(0) += 1;
        }
        Self {
            store_guid: s.guid.to_string(),
            data_containers: s.current(ContainerKind::Data),
            stream_containers: s.current(ContainerKind::Stream),
            generations,
            max_generation: s.max_generation(),
            data_chunks: s.data_chunks,
            compressed_chunks: s.compressed_chunks,
            stream_maps: s.stream_maps,
            redirections: s.redirections,
            chunk_logical_bytes: s.chunk_logical_bytes,
            chunk_stored_bytes: s.chunk_stored_bytes,
            optimized_files: s.optimized_files,
            optimized_logical_bytes: s.optimized_logical_bytes,
            chunk_references: s.chunk_references,
            dedup_ratio: s.dedup_ratio(),
            compression_ratio: s.compression_ratio(),
            savings_ratio: s.savings_ratio(),
            containers: s
                .containers
                .iter()
                .map(|c| ContainerJson {
                    kind: kind_name(c.kind),
                    file: format!(
                        "{}/{}",
                        c.kind.dir_name(),
                        dedup_store::container_file_name(c.container_id, c.generation)
                    ),
                    container_id: c.container_id,
                    generation: c.generation,
                    superseded: c.superseded,
                    file_size: c.file_size,
                    records: c.records,
                    padding_records: c.padding,
                    compressed: c.compressed,
                    stored_bytes: c.stored_bytes,
                    logical_bytes: c.logical_bytes,
                    redirections: c.redirections,
                    error: c.error.clone(),
                })
                .collect(),
            errors: s.errors.clone(),
        }
    }
}

/// Prints the store summary as text (shared by `inspect store` and `sim optimize`).
pub(crate) fn print_store_text(s: &StoreSummary) {
    let j = StoreJson::from(s);
    let mut out = String::new();
    let gens: Vec<String> = j
        .generations
        .iter()
        .map(|(g, n)| format!("generation {g}: {n}"))
        .collect();
    let _ = writeln!(
        out,
        "store {}: {} data containers, {} stream containers ({} files; {})",
        j.store_guid,
        j.data_containers,
        j.stream_containers,
        j.containers.len(),
        gens.join(", ")
    );
    for c in &j.containers {
        let _ = writeln!(
            out,
            "  {:<28} {:>10} bytes  {:>5} records ({} compressed)  stored {:>10}  logical {:>10}  Rrtl {}{}{}",
            c.file,
            c.file_size,
            c.records,
            c.compressed,
            c.stored_bytes,
            c.logical_bytes,
            c.redirections,
            if c.superseded { "  superseded" } else { "" },
            c.error
                .as_deref()
                .map(|e| format!("  FAIL {e}"))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(
        out,
        "chunks: {} stored ({} compressed), {} references from {} stream maps; {} Rrtl entries",
        j.data_chunks, j.compressed_chunks, j.chunk_references, j.stream_maps, j.redirections
    );
    let _ = writeln!(
        out,
        "bytes: {} logical in {} optimized files; {} logical / {} stored in chunks",
        j.optimized_logical_bytes, j.optimized_files, j.chunk_logical_bytes, j.chunk_stored_bytes
    );
    for e in &j.errors {
        let _ = writeln!(out, "problem: {e}");
    }
    out!("{out}");
}

/// `rehydrate inspect store`: the volume as a positional folder or as `--source` (a folder or
/// an image file, as `restore` takes it).
#[derive(Debug, clap::Args)]
pub(crate) struct StoreArgs {
    /// The volume folder (holding `System Volume Information/Dedup/ChunkStore`), or a disk
    /// image file (raw volume or disk, VHD, VHDX, E01). Read only
    #[arg(
        long,
        value_name = "VOLDIR|IMAGE",
        required_unless_present = "voldir",
        conflicts_with = "voldir"
    )]
    source: Option<PathBuf>,
    /// The volume folder, in the older positional spelling of `--source`.
    #[arg(hide = true)]
    voldir: Option<PathBuf>,
    /// With an image: the partition to read (its number, from 1) [default: the only NTFS one]
    #[arg(long, value_name = "N")]
    partition: Option<u32>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The volume to summarise: an image file through `disk_image`, a folder as a host source.
fn store_source(path: &Path, partition: Option<u32>) -> Result<Box<dyn Source>, Failure> {
    if let Some((src, _)) = crate::image::open(path, partition)? {
        return Ok(src);
    }
    let src = HostSource::new(path)
        .map_err(|e| Failure::usage(format!("{}: not a folder: {e}", path.display())))?;
    Ok(Box::new(src))
}

/// `rehydrate inspect store VOLDIR|--source VOLDIR|IMAGE [--partition N] [--json]`.
pub(crate) fn run_store(args: &StoreArgs) -> Result<(), Failure> {
    let path = crate::vocab::source(args.source.clone(), args.voldir.clone())?;
    let path = path.as_path();
    let source = store_source(path, args.partition)?;
    let summary = summarize_source(&*source)
        .map_err(|e| Failure::check(format!("{}: {e}", path.display())))?
        .ok_or_else(|| {
            Failure::check(format!(
                "{}: no chunk store ({})",
                path.display(),
                dedup_store::store_root(&"{GUID}")
            ))
        })?;
    if args.json {
        let text = serde_json::to_string_pretty(&StoreJson::from(&summary))
            .map_err(|e| Failure::usage(format!("cannot encode JSON: {e}")))?;
        outln!("{text}");
    } else {
        print_store_text(&summary);
        let ratio = |r: Option<f64>| r.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.2}"));
        outln!("dedup ratio {}", ratio(summary.dedup_ratio()));
        outln!("compression ratio {}", ratio(summary.compression_ratio()));
    }
    match summary.errors.first() {
        None => Ok(()),
        Some(first) => Err(Failure::check(format!(
            "{} problem(s); first: {first}",
            summary.errors.len()
        ))),
    }
}
