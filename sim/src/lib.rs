//! `winsim`: a simulated Windows for tests and demos.
//!
//! * [`SimVolume`]: a deterministic in-memory NTFS-like volume implementing
//!   [`platform::Volume`]: share modes, sparse files with allocation tracking, reparse points,
//!   pending reboot renames and [`SimVolume::reboot`], and fault injection ([`Fault`]). Its
//!   file contents can be kept on the host instead ([`SimVolume::with_host_contents`]), so that
//!   a volume made from a large folder does not need the folder's size in memory.
//! * [`SimServices`] / [`SimWriters`]: services with state and recording VSS writers.
//! * [`vss`]: VSS writers and services built from real Writer Metadata Documents, for the
//!   restore executor: one ordered event log, files locked by running services, restore
//!   targets changed and failures injected in PreRestore/PostRestore, on-disk checks.
//! * [`dedup`]: the Data Deduplication optimizer and garbage collector as Windows runs them,
//!   writing real-format chunk stores (`System Volume Information\Dedup\ChunkStore\{GUID}.ddp`)
//!   and dedup reparse points onto a volume.
//! * [`host`]: loading a host folder into a `SimVolume` and exporting a volume to a host folder
//!   (stubs as sparse files carrying the `user.ntfs_reparse_data` extended attribute).
//! * [`sample`]: seeded sample folders (shared content, an all-zero file, empty, tiny and big
//!   files) for tests and demos.
//!
//! This crate is a normal dependency of the `rehydrate` binary (its demo) and a dev-dependency
//! of libraries only.

pub mod dedup;
#[cfg(unix)]
pub mod host;
pub mod sample;
mod services;
mod volume;
pub mod vss;

pub use services::{ServiceEvent, SimServices, SimWriters, WriterEvent};
pub use volume::{
    CLUSTER_SIZE, Fault, IoCounts, MAX_REPARSE_BUFFER, RebootOutcome, SimFile, SimVolume,
};
