//! Finding container files in the store: the folder of a store, its listing (cached) and the
//! highest generation of a container id.

use dedup_store::{container_file_name, parse_container_file_name};
use platform::WinPath;

use super::Engine;
use super::job::Fail;
use crate::error::FileError;
use crate::store::StoreError;

/// A data container a stream map names, resolved: its index in the phase's container list and,
/// when it is the fall-back for a missing one, what was missing.
pub(super) type Resolved = Result<(usize, Option<FileError>), Fail>;

/// The container files of one store folder: `(first, second, file name)`, or `None` when the
/// store cannot list folders.
pub(super) type Listing = Option<Vec<(u32, u32, String)>>;

impl Engine<'_> {
    pub(super) fn store_dir(
        guid: &dedup_reparse::Guid,
        kind: dedup_store::ContainerKind,
    ) -> WinPath {
        WinPath::new(&dedup_store::container_dir(guid, kind)).expect("store paths are valid")
    }

    /// The container files of a store folder as `(first, second, name)`, cached.
    pub(super) fn listing(&self, dir: &WinPath) -> Result<Listing, StoreError> {
        let key = dir.folded();
        if let Some(v) = self
            .listings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            return Ok(v.clone());
        }
        let v = self.store.list_dir(dir)?.map(|names| {
            names
                .into_iter()
                .filter_map(|n| parse_container_file_name(&n).map(|(a, b)| (a, b, n)))
                .collect::<Vec<_>>()
        });
        self.listings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, v.clone());
        Ok(v)
    }

    /// The container file for `id` in `dir`: the highest generation whose first name component
    /// is `id`; failing that (the order of the two smap fields is unproven, docs/dedup-format.md
    /// §3.5) the highest whose first component is `alt`. Without a listing: `id.gen_hint`.
    pub(super) fn resolve_container(
        &self,
        dir: &WinPath,
        id: u32,
        alt: Option<u32>,
        gen_hint: u32,
    ) -> Result<(WinPath, u32, Option<FileError>), Fail> {
        let listing = self.listing(dir).map_err(|e| Fail::from_store(&e))?;
        let pick = |names: &[(u32, u32, String)], first: u32| {
            names
                .iter()
                .filter(|(a, _, _)| *a == first)
                .max_by_key(|(_, b, _)| *b)
                .cloned()
        };
        let missing = || FileError::ContainerMissing {
            dir: dir.clone(),
            id,
        };
        let found = match &listing {
            Some(names) => match pick(names, id) {
                Some(f) => Some((f, None)),
                None => alt
                    .filter(|&a| a != id)
                    .and_then(|a| pick(names, a))
                    .map(|f| (f, Some(missing()))),
            },
            None => Some(((id, gen_hint, container_file_name(id, gen_hint)), None)),
        };
        match found {
            Some(((a, _, name), swapped)) => Ok((
                dir.join(&name).expect("container names are valid"),
                a,
                swapped,
            )),
            None => Err(Fail::new(missing())),
        }
    }
}
