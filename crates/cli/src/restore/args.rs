//! The arguments of `rehydrate restore` and `rehydrate verify`, and what `restore --help`
//! shows after them.

use std::path::PathBuf;

use clap::Args;
use dedup_restore::Overwrite;

/// `rehydrate restore --help`, after the options: what is kept, examples, exit codes.
pub(crate) const RESTORE_AFTER_HELP: &str = "\
Kept: file contents (every dedup chunk checked against its SHA-512 hash unless
--no-verify-hash); modification and access times of files and folders; read-only, as a mode
without write permission; the other Windows attribute bits in the extended attribute
user.rehydrate.attributes, where the output folder takes extended attributes.
Not restored: ACLs, named streams.

Examples:
  rehydrate restore --source /mnt/dedupvol --to /srv/restored
  rehydrate restore --source /mnt/dedupvol --to /srv/restored 'Users/ann/Documents/'
  rehydrate restore --source /mnt/dedupvol --to /srv/restored --include '*.docx' --dry-run

Exit codes: 0 everything restored, copied or already there; 1 a file failed or is in conflict,
or the source is not a dedup volume; 2 the command line is wrong, or the source or the
output folder cannot be used at all.";

/// `rehydrate restore`.
// Command-line switches are bools by nature.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
#[cfg_attr(windows, command(after_help = crate::windows::IN_PLACE_HELP))]
pub(crate) struct RestoreArgs {
    /// The volume folder: an ntfs-3g mount of a dedup volume or `sim optimize` output (on
    /// Windows: a drive, a mounted backup image or a folder). Read only, except with
    /// `--in-place`.
    /// A disk image file (raw volume or disk, VHD, VHDX, E01: recognised from its bytes) is
    /// read natively, with no mount.
    #[arg(long, value_name = "VOLDIR|IMAGE")]
    pub(crate) source: PathBuf,
    /// With an image: the partition to read (its number, from 1) [default: the only NTFS one].
    #[arg(long, value_name = "N")]
    pub(crate) partition: Option<u32>,
    /// Output folder (created if missing; must not be inside the source or contain it).
    #[cfg_attr(not(windows), arg(long, value_name = "OUTDIR", required = true))]
    #[cfg_attr(
        windows,
        arg(
            long,
            value_name = "OUTDIR",
            required_unless_present = "in_place",
            conflicts_with = "in_place"
        )
    )]
    pub(crate) to: Option<PathBuf>,
    /// Rebuild the dedup files where they are, on the `--source` volume (Windows only).
    #[cfg(windows)]
    #[arg(long)]
    pub(crate) in_place: bool,
    /// With `--in-place`: the folder holding the backed-up chunk store (its `System Volume
    /// Information\Dedup\ChunkStore\{GUID}.ddp\…`), read only [default: the volume's own].
    #[cfg(windows)]
    #[arg(
        long,
        alias = "source-store",
        value_name = "DIR",
        requires = "in_place"
    )]
    pub(crate) store: Option<PathBuf>,
    /// Volume paths to restore (files or folders, matched case-insensitively): `\docs\a.pdf`,
    /// `docs/a.pdf`, `/docs/`, `./docs`, or a host path under `--source`; all when none is
    /// given. Each must match something.
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<String>,
    #[command(flatten)]
    pub(crate) globs: GlobArgs,
    /// What to do with a file already in the output folder: `never` keeps it (identical:
    /// skipped; different: a conflict, exit code 1), `if-changed` replaces it when its bytes
    /// differ, `always` replaces it. Folders and links there are never replaced.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "never")]
    pub(crate) overwrite: OverwriteArg,
    /// rsync's spelling of `--overwrite never`.
    #[arg(long, hide = true, conflicts_with = "overwrite")]
    pub(crate) ignore_existing: bool,
    /// Show what would be restored, copied, skipped, replaced and in conflict, and where,
    /// writing nothing (the output folder is not even created).
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Print the result as a JSON document.
    #[arg(long)]
    pub(crate) json: bool,
    /// Skip the SHA-512 check of every chunk (the CRC-64 of every record is always checked).
    #[arg(long)]
    pub(crate) no_verify_hash: bool,
    /// Worker threads for decode and verify (default: all cores; at most 8 per core).
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
}

/// `rehydrate verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The volume folder: an ntfs-3g mount of a dedup volume or `sim optimize` output; or a
    /// disk image file (raw volume or disk, VHD, VHDX, E01). Read only.
    #[arg(long, value_name = "VOLDIR|IMAGE")]
    pub(super) source: PathBuf,
    /// With an image: the partition to read (its number, from 1) [default: the only NTFS one].
    #[arg(long, value_name = "N")]
    pub(super) partition: Option<u32>,
    /// Volume paths to check (files or folders, as for `restore`); all when none is given.
    #[arg(value_name = "PATH")]
    pub(super) paths: Vec<String>,
    #[command(flatten)]
    pub(super) globs: GlobArgs,
    /// Print the result as a JSON document.
    #[arg(long)]
    pub(super) json: bool,
    /// Worker threads (default: all cores; at most 8 per core).
    #[arg(long, value_name = "N")]
    pub(super) threads: Option<usize>,
}

/// `--include` / `--exclude`, shared by `restore` and `verify`.
#[derive(Debug, Args)]
pub(crate) struct GlobArgs {
    /// Only files matching GLOB (or under a folder matching it); repeatable. Matched
    /// case-insensitively on the path relative to the source with `/` separators: a pattern
    /// without `/` against each name (`*.pdf`), one with `/` against the whole path
    /// (`docs/**/*.pdf`). Each must match something.
    #[arg(long, value_name = "GLOB")]
    pub(crate) include: Vec<String>,
    /// Leave out files and folders matching GLOB (as for `--include`); repeatable; wins over
    /// `--include`.
    #[arg(long, value_name = "GLOB")]
    pub(crate) exclude: Vec<String>,
}

/// `--overwrite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OverwriteArg {
    /// Keep every existing file (identical: skipped; different: a conflict).
    Never,
    /// Replace existing files whose bytes differ.
    IfChanged,
    /// Replace every existing file.
    Always,
}

impl From<OverwriteArg> for Overwrite {
    fn from(a: OverwriteArg) -> Self {
        match a {
            OverwriteArg::Never => Self::Never,
            OverwriteArg::IfChanged => Self::IfChanged,
            OverwriteArg::Always => Self::Always,
        }
    }
}
