//! `rehydrate carve`: concatenate the logical payloads of chosen local ids of a container (the
//! way back to a file's bytes when its stream map is lost).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use dedup_store::{Container, ReadOptions, hex};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::mapped::map_file;
use crate::outln;
use crate::{Failure, units, vocab};

/// Arguments of `rehydrate carve`.
#[derive(Debug, Args)]
pub(crate) struct CarveArgs {
    /// The container file (`XXXXXXXX.GGGGGGGG.ccc`).
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
    /// Local ids in output order: single ids and inclusive ranges, comma separated
    /// (e.g. `1-39` or `40-45,47,46`).
    #[arg(long)]
    ids: String,
    /// Output file (written atomically: nothing is left behind on failure); `-` for stdout.
    /// An existing file is never replaced without `--force`, and the container itself never.
    #[arg(long, value_name = "FILE", short_alias = 'o', alias = "output")]
    to: PathBuf,
    /// Replace an existing output file (never the container being read).
    #[arg(long)]
    force: bool,
    /// Skip the chunk-hash (SHA-512) check (the payload CRC-64 is always checked).
    #[arg(long)]
    no_verify_hash: bool,
    /// Print the summary as JSON on stdout (not allowed with `--to -`).
    #[arg(long)]
    json: bool,
}

/// One id or an inclusive range of ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdRange {
    first: u32,
    last: u32,
}

/// Parses `1-39,45,50-53`.
pub(crate) fn parse_ids(spec: &str) -> Result<Vec<IdRange>, String> {
    let mut out = Vec::new();
    for (i, part) in spec.split(',').enumerate() {
        let part = part.trim();
        if part.is_empty() {
            return Err(format!("--ids: item {} is empty in {spec:?}", i + 1));
        }
        let num = |s: &str| {
            s.trim().parse::<u32>().map_err(|_| {
                format!("--ids: {s:?} is not a local id (a number from 0 to 4294967295)")
            })
        };
        let range = if let Some((a, b)) = part.split_once('-') {
            IdRange {
                first: num(a)?,
                last: num(b)?,
            }
        } else {
            let v = num(part)?;
            IdRange { first: v, last: v }
        };
        if range.first > range.last {
            return Err(format!("--ids: range {part:?} runs backwards"));
        }
        out.push(range);
    }
    Ok(out)
}

#[derive(Debug, Serialize)]
struct Summary<'a> {
    /// The container read (`--source`).
    source: &'a str,
    /// The file written (`--to`).
    to: String,
    chunks: u64,
    bytes: u64,
    sha256: String,
}

/// Runs `rehydrate carve`.
pub(crate) fn run(args: &CarveArgs) -> Result<(), Failure> {
    let ranges = parse_ids(&args.ids).map_err(Failure::usage)?;
    let to_stdout = args.to.as_os_str() == "-";
    if to_stdout && args.json {
        return Err(Failure::usage(
            "--json cannot be combined with --to - (both use stdout)",
        ));
    }
    let source = vocab::source(args.source.clone(), args.file.clone())?;
    if !to_stdout {
        check_output(&source, &args.to, args.force)?;
    }
    let map = map_file(&source)?;
    let name = source.display().to_string();
    let container =
        Container::open(name.clone(), &map[..]).map_err(|e| Failure::check(e.to_string()))?;
    let opts = ReadOptions {
        verify_hash: !args.no_verify_hash,
        ..ReadOptions::default()
    };
    let (chunks, bytes, sha) = if to_stdout {
        let stdout = std::io::stdout();
        let mut w = BufWriter::new(stdout.lock());
        let r = write_chunks(&container, &ranges, &opts, &mut w)?;
        w.flush()
            .map_err(|e| Failure::usage(format!("stdout: {e}")))?;
        r
    } else {
        atomic_write(&args.to, args.force, |w| {
            write_chunks(&container, &ranges, &opts, w)
        })?
    };
    let summary = Summary {
        source: &name,
        to: args.to.display().to_string(),
        chunks,
        bytes,
        sha256: sha,
    };
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&summary)
                .map_err(|e| Failure::usage(format!("cannot encode JSON: {e}")))?
        );
    } else {
        eprintln!(
            "carved {} chunks, {} -> {} (sha256 {})",
            summary.chunks,
            units::size(summary.bytes),
            summary.to,
            summary.sha256
        );
    }
    Ok(())
}

fn write_chunks(
    c: &Container<&[u8]>,
    ranges: &[IdRange],
    opts: &ReadOptions,
    w: &mut dyn Write,
) -> Result<(u64, u64, String), Failure> {
    let mut scratch = Vec::new();
    let mut sha = Sha256::new();
    let (mut chunks, mut bytes) = (0u64, 0u64);
    for r in ranges {
        for id in r.first..=r.last {
            let (_, _, data) = c
                .read_chunk(id, None, None, opts, &mut scratch)
                .map_err(|e| Failure::check(e.to_string()))?;
            sha.update(data);
            w.write_all(data)
                .map_err(|e| Failure::usage(format!("write failed: {e}")))?;
            chunks += 1;
            bytes += data.len() as u64;
        }
    }
    Ok((chunks, bytes, hex(&sha.finalize())))
}

/// Whether `a` and `b` name the same file (same device and inode; on other hosts the same
/// canonical path).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// Refuses an output that is the input, and an existing output unless `force`.
fn check_output(input: &Path, output: &Path, force: bool) -> Result<(), Failure> {
    if same_file(input, output) {
        return Err(Failure::usage(format!(
            "{}: the output is the container being read; it is never written",
            output.display()
        )));
    }
    if !force && std::fs::symlink_metadata(output).is_ok() {
        return Err(Failure::usage(format!(
            "{}: already exists (--force replaces it)",
            output.display()
        )));
    }
    Ok(())
}

/// Writes through `f` into a temporary file beside `path` and puts it into place only when `f`
/// and the flush succeed: without `replace`, with a hard link that fails if `path` appeared
/// meanwhile (nothing is ever replaced), else with a rename. On any failure the temporary file
/// is removed.
pub(crate) fn atomic_write<T>(
    path: &Path,
    replace: bool,
    f: impl FnOnce(&mut dyn Write) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .ok_or_else(|| Failure::usage(format!("{}: not a file name", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.partial-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let file = File::create(&tmp)
            .map_err(|e| Failure::usage(format!("{}: cannot create: {e}", tmp.display())))?;
        let mut w = BufWriter::new(file);
        let value = f(&mut w)?;
        let file = w.into_inner().map_err(|e| {
            Failure::usage(format!("{}: write failed: {}", tmp.display(), e.error()))
        })?;
        file.sync_all()
            .map_err(|e| Failure::usage(format!("{}: sync failed: {e}", tmp.display())))?;
        let placed = if replace {
            std::fs::rename(&tmp, path)
        } else {
            std::fs::hard_link(&tmp, path)
        };
        placed.map_err(|e| {
            Failure::usage(format!("{}: cannot put into place: {e}", path.display()))
        })?;
        Ok(value)
    })();
    // After a hard link (or a failure) the temporary name is left: remove it.
    let _ = std::fs::remove_file(&tmp);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists() {
        assert_eq!(
            parse_ids("1-39, 45,50 - 53").unwrap(),
            vec![
                IdRange { first: 1, last: 39 },
                IdRange {
                    first: 45,
                    last: 45
                },
                IdRange {
                    first: 50,
                    last: 53
                }
            ]
        );
        assert!(parse_ids("").is_err());
        assert!(parse_ids("1,,2").is_err());
        assert!(parse_ids("5-3").unwrap_err().contains("backwards"));
        assert!(parse_ids("x").is_err());
        assert!(parse_ids("1-99999999999").is_err());
    }
}
