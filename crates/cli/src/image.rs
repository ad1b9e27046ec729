//! Disk images as restore sources (`--source IMAGE` on `restore` and `verify`), and the
//! `ls` and `cat` commands. Parsing and printing only: reading images is `disk_image`'s.

#[cfg(unix)]
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use clap::Args;
use dedup_reparse::DedupReparse;
use platform::{EntryKind, Source, SourceEntry, WinPath};
use serde::Serialize;

use crate::{Failure, outln};

/// A source and its canonical path.
pub(crate) type Opened = (Box<dyn Source>, PathBuf);

/// The image at `path` as a source when `path` is a regular file (raw, MBR/GPT disk, VHD,
/// VHDX, E01, recognised from its bytes), with its canonical path; `None` for a folder.
pub(crate) fn open(path: &Path, partition: Option<u32>) -> Result<Option<Opened>, Failure> {
    if !path.is_file() {
        return match partition {
            Some(_) => Err(Failure::usage(format!(
                "{}: --partition needs an image file",
                path.display()
            ))),
            None => Ok(None),
        };
    }
    // A file that is no image at all is a usage error (as a file given for a folder was); a
    // damaged image is a failed check.
    let image = disk_image::Image::open(path).map_err(|e| Failure::check(e.to_string()))?;
    if image.container() == disk_image::Container::Raw
        && image.table().is_none()
        && image.volume(None).is_err()
    {
        return Err(Failure::usage(format!(
            "{}: neither a folder nor a disk image (NTFS volume, MBR/GPT disk, VHD, VHDX, E01)",
            path.display()
        )));
    }
    let src =
        disk_image::open_source(path, partition).map_err(|e| Failure::check(e.to_string()))?;
    let root = path
        .canonicalize()
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
    Ok(Some((Box::new(src), root)))
}

/// `rehydrate ls`.
#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// The image file (raw volume or disk, VHD, VHDX, E01).
    #[arg(long, value_name = "IMAGE")]
    source: PathBuf,
    /// The partition to read (its number, from 1) [default: the only NTFS one].
    #[arg(long, value_name = "N")]
    partition: Option<u32>,
    /// The folder to list (`\docs`, `docs/`) [default: the root].
    #[arg(value_name = "PATH")]
    path: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// `rehydrate cat` (Unix hosts: a rebuilt file is staged in a host folder volume).
#[cfg(unix)]
#[derive(Debug, Args)]
pub(crate) struct CatArgs {
    /// The image file (raw volume or disk, VHD, VHDX, E01).
    #[arg(long, value_name = "IMAGE")]
    source: PathBuf,
    /// The partition to read (its number, from 1) [default: the only NTFS one].
    #[arg(long, value_name = "N")]
    partition: Option<u32>,
    /// The file (`\docs\a.pdf`, `docs/a.pdf`): rebuilt if it is a dedup file, every chunk
    /// verified, written to stdout.
    #[arg(value_name = "PATH")]
    path: String,
}

fn image_source(path: &Path, partition: Option<u32>) -> Result<Box<dyn Source>, Failure> {
    match open(path, partition)? {
        Some((s, _)) => Ok(s),
        None => Err(Failure::usage(format!(
            "{}: not an image file",
            path.display()
        ))),
    }
}

fn volume_path(text: &str) -> Result<WinPath, Failure> {
    dedup_restore::parse_user_path(text, &[]).map_err(|e| Failure::usage(format!("{text}: {e}")))
}

#[derive(Debug, Serialize)]
struct LsJson {
    name: String,
    kind: &'static str,
    size: u64,
    attributes: u32,
    modified_unix: Option<u64>,
    /// For a dedup file: the stream map's container, local id and offset hint.
    stream_map: Option<String>,
}

/// `container.local_id+offset_hint` of a dedup reparse buffer, or why it does not parse.
fn stream_map(reparse: &[u8]) -> String {
    match DedupReparse::parse(reparse) {
        Ok(r) => r.entries().first().map_or_else(
            || "dedup (no stream map entry)".to_owned(),
            |e| {
                format!(
                    "smap {:08x}.{:08x}+{:#x}",
                    e.container_id, e.local_id, e.offset_hint
                )
            },
        ),
        Err(e) => format!("reparse point: {e}"),
    }
}

fn kind_name(k: &EntryKind) -> &'static str {
    match k {
        EntryKind::Dir => "dir",
        EntryKind::File => "file",
        EntryKind::Symlink { .. } => "link",
        EntryKind::Unsupported(_) => "unsupported",
    }
}

fn unix(t: Option<SystemTime>) -> Option<u64> {
    t.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
}

fn ls_json(e: &SourceEntry) -> LsJson {
    LsJson {
        name: e.name.clone(),
        kind: kind_name(&e.kind),
        size: e.len,
        attributes: e.attributes,
        modified_unix: unix(e.modified),
        stream_map: e.reparse.as_deref().map(stream_map),
    }
}

/// `rehydrate ls --source IMAGE [PATH]`.
pub(crate) fn run_ls(args: &LsArgs) -> Result<(), Failure> {
    let src = image_source(&args.source, args.partition)?;
    let dir = args
        .path
        .as_deref()
        .map_or_else(|| Ok(WinPath::root()), volume_path)?;
    let entries = src
        .read_dir(&dir)
        .map_err(|e| Failure::check(format!("{dir}: {e}")))?;
    let rows: Vec<LsJson> = entries.iter().map(ls_json).collect();
    if args.json {
        crate::output::json(&rows);
        return Ok(());
    }
    for r in &rows {
        let time = r
            .modified_unix
            .map_or_else(|| "-".to_owned(), |s| s.to_string());
        let extra = r
            .stream_map
            .as_deref()
            .map(|s| format!("  [{s}]"))
            .unwrap_or_default();
        outln!(
            "{:<11} {:>14} {:#010x} {time:>11}  {}{extra}",
            r.kind,
            r.size,
            r.attributes,
            r.name
        );
    }
    Ok(())
}

#[cfg(unix)]
/// `rehydrate cat --source IMAGE PATH`: ends quietly, with success, when stdout is closed.
pub(crate) fn run_cat(args: &CatArgs) -> Result<(), Failure> {
    let src = image_source(&args.source, args.partition)?;
    let path = volume_path(&args.path)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let result = disk_image::rehydrate_file(&*src, &path, &mut out)
        .map(drop)
        .and_then(|()| Ok(out.flush()?));
    match result {
        Ok(()) => Ok(()),
        Err(disk_image::RehydrateError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Ok(())
        }
        Err(e) => Err(Failure::check(e.to_string())),
    }
}
