//! rehydrate on real Windows.
//!
//! * [`WinVolume`] / [`WinFile`] (Windows only): [`platform::Volume`] and
//!   [`platform::FileHandle`] on Win32 — `CreateFileW` with share modes, the five creation
//!   dispositions and `FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS`, positioned
//!   `ReadFile`/`WriteFile` with `OVERLAPPED` offsets, `FSCTL_GET/SET/DELETE_REPARSE_POINT`,
//!   `FSCTL_SET_SPARSE`, `\\?\` long paths, `MoveFileExW(MOVEFILE_DELAY_UNTIL_REBOOT)` for reboot
//!   staging and the `PendingFileRenameOperations` registry value for the pending list.
//! * [`WinServices`] (Windows only): [`platform::Services`] on the Service Control Manager.
//! * [`ReadFileCallback`] and [`restore_files_native`] (Windows only): the COM bridge — an
//!   `IDedupReadFileCallback` over any [`dedup_restore::BackupStore`], and a call of Microsoft's
//!   own `IDedupBackupSupport::RestoreFiles` reporting in [`dedup_restore::RestoreReport`].
//!
//! On every target (so `cargo test -p win` runs them on Linux): the Win32 error mapping
//! ([`errors`]), the `CreateFileW`/path/reparse/pending-rename helpers ([`paths`]), the COM
//! bridge's buffer/offset/plan adapter and the `ddpbackup.h` layouts ([`bridge`]), the service
//! wait loop ([`svcwait`]). The backup store over a volume is
//! `dedup_restore::SourceStore::over_volume` (pure Rust, every OS). **On non-Windows targets the Win32 types above
//! do not exist**; only these pure-Rust parts are compiled.
//!
//! Privileges: restoring over protected files wants `SeBackupPrivilege`/`SeRestorePrivilege`
//! (an elevated process; `FILE_FLAG_BACKUP_SEMANTICS` uses them when enabled), stopping and
//! starting services and staging renames for the next boot need an administrator.
//!
//! `unsafe` is allowed in this crate only (the workspace denies it): Win32 and COM are reached
//! through FFI and there is no safe way around that. Every `unsafe` block carries a `SAFETY`
//! note; all of them are in the Windows-only modules.
// SAFETY (crate-level allowance): the Windows-only modules call Win32/COM through FFI; each
// unsafe block states why its pointers and handles are valid.
#![cfg_attr(windows, allow(unsafe_code))]

pub mod bridge;
pub mod errors;
pub mod paths;
pub mod svcwait;

#[cfg(windows)]
mod com;
#[cfg(windows)]
mod services;
#[cfg(windows)]
mod volume;

#[cfg(windows)]
pub use com::{NativeRestoreError, ReadFileCallback, restore_files_native};
#[cfg(windows)]
pub use services::WinServices;
#[cfg(windows)]
pub use volume::{WinFile, WinVolume};
