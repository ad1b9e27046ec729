//! A raw NTFS volume read as a rehydrate restore source ([`NtfsSource`], a
//! [`platform::Source`]): restore Data Deduplication files straight from a volume image, with
//! `dedup_restore::SourceStore::new(NtfsSource)` as the store (the chunk store is read through
//! the same reader, under `System Volume Information\Dedup`).
//!
//! # What it reads
//! * Directories (`$I30`: the `$INDEX_ROOT` and every in-use `$INDEX_ALLOCATION` block), listed
//!   in name order without the metadata files (records below 16: `$MFT`, `$Extend`, the root's
//!   own `.` entry) and without DOS (8.3) names; a file with several hard links is listed once,
//!   under the non-DOS name that sorts first (by parent record, then name).
//! * Files' unnamed `$DATA`: resident, non-resident and sparse (holes read as zeros), bytes past
//!   the initialized size (valid data length) as zeros. NTFS-compressed and EFS-encrypted data
//!   are refused with an error, never returned as stored.
//! * The `$REPARSE_POINT` value (resident or not, at most 16 KiB), which is the full
//!   `REPARSE_DATA_BUFFER` (tag, length, reserved, data) that `FSCTL_GET_REPARSE_POINT` and
//!   ntfs-3g's `system.ntfs_reparse_data` return, as `dedup_reparse` expects it.
//! * `$STANDARD_INFORMATION`: attributes, modification and access times.
//!
//! A record that does not parse, or whose entry is stale, is listed as
//! [`platform::EntryKind::Unsupported`] with an error naming the MFT record and the byte offset;
//! the walk goes on.
//!
//! # What is the `ntfs` crate's and what is ours
//! The [`ntfs`] crate (Colin Finck, 0.4.0, MIT/Apache-2.0; a no_std reader with unit tests on a
//! real mkntfs image, no fuzzing, last release June 2023) does: the boot sector, finding MFT
//! record *n* through `$MFT`'s own data runs, iterating a record's attributes with
//! `$ATTRIBUTE_LIST` followed, and reading attribute values (resident, non-resident, sparse,
//! spanning extension records) by seek and read.
//!
//! Ours, and why:
//! * [`ReadAt`] and a per-call cursor: the crate wants `&mut (Read + Seek)`; a positioned
//!   reader lets the restore's threads read without a lock.
//! * [`record`]: a parser of detached `FILE` records and `INDX` blocks. The crate parses records
//!   only inside an opened volume, while the real Windows sample is bare `$MFT` records and one
//!   `$Reparse:$R` block, whose keys the crate has no type for. Every record the source uses is
//!   parsed by it as well, as a gate before the crate's lazy accessors (ours is fuzzed, see
//!   `fuzz/`), and for the initialized size the crate neither exposes nor honours.
//! * Directory indexes: the crate allocates an index block of the size `$INDEX_ROOT` claims (up
//!   to 4 GiB) and follows subnode pointers with no depth bound (a cycle never ends). We check
//!   the size (512 B to 64 KiB), list a directory by reading its in-use blocks one after another
//!   (no recursion), and look a name up by a descent of at most 32 levels, comparing names
//!   through the volume's own `$UpCase` table.
//! * Bounds: the file record size (the crate accepts up to 127 clusters), the reparse buffer,
//!   the entries of one directory ([`Limits`]).
//!
//! Partition tables (MBR/GPT) and the VHD/VHDX/E01 containers are the `disk-image` crate's: it
//! turns an image file into the [`ReadAt`] of the volume inside.
//!
//! # Not yet
//! LZNT1-compressed files, named streams, an `$MFT` with its own attribute list (the crate's
//! limit).

mod read_at;
pub mod record;
mod source;

pub use read_at::ReadAt;
pub use source::{EntryError, Limits, MAX_REPARSE_BUFFER, NtfsSource, OpenError};
