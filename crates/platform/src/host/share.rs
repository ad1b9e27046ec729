//! Share modes among the handles of one volume: the in-process table of open handles, checked
//! before each open.

use foldhash::HashMap;
use std::fs::File;
use std::sync::atomic::Ordering;

use super::HostVolume;
use crate::{Access, Error, ShareMode, WinPath};

/// One open handle: its path, whether that was deleted since (a handle that shared delete
/// stays usable but no longer owns the name), its access and share mode.
#[derive(Debug)]
pub(super) struct OpenRecord {
    pub(super) path: WinPath,
    pub(super) deleted: bool,
    pub(super) access: Access,
    pub(super) share: ShareMode,
}

impl OpenRecord {
    /// Whether this handle holds the name `path` (compared case-insensitively, without
    /// allocating: every open, rename and delete asks it of every open handle).
    pub(super) fn is_on(&self, path: &WinPath) -> bool {
        !self.deleted && self.path == *path
    }
}

impl HostVolume {
    /// Records a handle on `path` in the table, after checking (`check_share`) that no open
    /// handle's share mode forbids this one; the record's id. A failed open gives it back
    /// through [`Self::unless_failed`].
    pub(super) fn reserve(
        &self,
        path: &WinPath,
        access: Access,
        share: ShareMode,
        check_share: bool,
    ) -> Result<u64, Error> {
        let mut handles = self.shared.handles();
        if check_share && let Some(detail) = Self::share_conflict(&handles, path, access, share) {
            return Err(Error::SharingViolation {
                path: path.clone(),
                detail,
            });
        }
        Ok(self.insert_record(&mut handles, path, access, share))
    }

    /// Records a handle on `path` in `handles` (the locked table); its new id.
    pub(super) fn insert_record(
        &self,
        handles: &mut HashMap<u64, OpenRecord>,
        path: &WinPath,
        access: Access,
        share: ShareMode,
    ) -> u64 {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        handles.insert(
            id,
            OpenRecord {
                path: path.clone(),
                deleted: false,
                access,
                share,
            },
        );
        id
    }

    /// `opened`, or its error after the reservation `id` is dropped.
    pub(super) fn unless_failed(
        &self,
        id: u64,
        opened: Result<File, Error>,
    ) -> Result<File, Error> {
        if opened.is_err() {
            self.shared.handles().remove(&id);
        }
        opened
    }

    /// Why an open of `path` with `access` and `share` conflicts with a handle already open on
    /// it (`None` when none does).
    pub(super) fn share_conflict(
        handles: &HashMap<u64, OpenRecord>,
        path: &WinPath,
        access: Access,
        share: ShareMode,
    ) -> Option<String> {
        handles
            .values()
            .filter(|r| r.is_on(path))
            .find_map(|r| ShareMode::conflict(r.access, r.share, access, share))
    }
}
