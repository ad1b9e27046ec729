//! [`rehydrate_file`]: one file of a source, rebuilt if it is a dedup file, written to any
//! `Write`.

use std::io::{self, Write};

use dedup_restore::{EntryStatus, SourceStore, TreeError, TreeOptions, restore_tree};
use platform::{HostVolume, Source, WinPath};

/// Why [`rehydrate_file`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RehydrateError {
    /// The source could not be read at `path`.
    #[error("{0}")]
    Source(#[from] platform::Error),
    /// The restore could not start (the path matches nothing, the store is unreadable).
    #[error("{0}")]
    Tree(#[from] TreeError),
    /// The file did not rebuild: the engine's reason (a chunk whose hash or CRC does not
    /// match, a missing container, …), naming the file.
    #[error("{path}: {reason}")]
    Failed {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The path is not one file (a folder, a link, or nothing restorable).
    #[error("{0}: not a file")]
    NotAFile(WinPath),
    /// Writing the output, or staging the rebuilt file, failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Writes the file at `path` of `source` to `out` and returns its length. A dedup file is
/// rebuilt from the source's own chunk store (`System Volume Information\Dedup`) by the
/// engine, which checks every chunk's CRC-64 and SHA-512 before writing it; it is staged in a
/// temporary folder (the system's, as `tempfile` chooses it) and then streamed to `out`, so
/// nothing of a damaged file reaches `out`. An ordinary file is streamed straight from the
/// source in 1 MiB pieces.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use platform::WinPath;
/// let source = disk_image::open_source("backup.vhdx".as_ref(), None)?;
/// let mut out = std::fs::File::create("report.pdf")?;
/// let path = WinPath::new("\\shares\\finance\\report.pdf")?;
/// let len = disk_image::rehydrate_file(&source, &path, &mut out)?;
/// println!("{len} bytes");
/// # Ok(()) }
/// ```
pub fn rehydrate_file(
    source: &dyn Source,
    path: &WinPath,
    out: &mut dyn Write,
) -> Result<u64, RehydrateError> {
    if source.reparse_point(path)?.is_none() {
        return copy_plain(source, path, out);
    }
    let stage = tempfile::tempdir()?;
    let dest = HostVolume::new(stage.path()).map_err(io::Error::other)?;
    let opts = TreeOptions {
        paths: vec![path.clone()],
        ..TreeOptions::default()
    };
    let report = restore_tree(source, &SourceStore::new(source), &dest, &opts)?;
    let [entry] = report.entries.as_slice() else {
        return Err(RehydrateError::NotAFile(path.clone()));
    };
    match entry.status {
        EntryStatus::Restored | EntryStatus::Copied => {}
        _ => {
            return Err(RehydrateError::Failed {
                path: path.to_string(),
                reason: entry
                    .error
                    .as_ref()
                    .map_or_else(|| format!("{:?}", entry.status), ToString::to_string),
            });
        }
    }
    let mut staged = stage.path().to_owned();
    staged.extend(path.components());
    let mut file = std::fs::File::open(&staged)?;
    Ok(io::copy(&mut file, out)?)
}

fn copy_plain(
    source: &dyn Source,
    path: &WinPath,
    out: &mut dyn Write,
) -> Result<u64, RehydrateError> {
    let file = source.open_file(path)?;
    let len = file.len()?;
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0;
    while at < len {
        let want = (len - at).min(buf.len() as u64) as usize;
        let n = file.read_at(at, &mut buf[..want])?;
        if n == 0 {
            return Err(RehydrateError::Failed {
                path: path.to_string(),
                reason: format!("the source ends at byte {at} of {len}"),
            });
        }
        out.write_all(&buf[..n])?;
        at += n as u64;
    }
    Ok(len)
}
