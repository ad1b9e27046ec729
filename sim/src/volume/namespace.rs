//! The [`Volume`] implementation of [`SimVolume`]: opens (dispositions, share modes, access
//! checks), metadata, directory listings, directories, deletes, renames and the pending-rename
//! list.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};

use platform::{
    DirEntry, Disposition, Error, FileHandle, Metadata, OpenOptions, PendingRename, Volume,
    WinPath, attr,
};

use super::{
    Entry, FileData, FileNode, Kind, OpenRecord, SimFile, SimVolume, children_prefix, lock,
    node_key, read_lock, write_lock,
};

impl Volume for SimVolume {
    fn open(&self, path: &WinPath, options: OpenOptions) -> Result<Box<dyn FileHandle>, Error> {
        if path.is_root() {
            return Err(Error::IsADirectory { path: path.clone() });
        }
        let OpenOptions {
            access,
            share,
            disposition,
        } = options;
        let truncating = matches!(
            disposition,
            Disposition::TruncateExisting | Disposition::CreateAlways
        );
        if truncating && !access.write {
            return Err(Error::AccessDenied {
                path: path.clone(),
                reason: "truncating needs write access",
            });
        }
        self.check_access(path)?;
        let mut st = lock(&self.shared.state);
        Self::check_parent(&st, path)?;
        let key = path.folded();
        let node = match st.entries.get(&key) {
            Some(Entry {
                kind: Kind::Dir, ..
            }) => {
                return Err(Error::IsADirectory { path: path.clone() });
            }
            Some(Entry {
                kind: Kind::File(node),
                ..
            }) => {
                if disposition == Disposition::CreateNew {
                    return Err(Error::AlreadyExists { path: path.clone() });
                }
                let node = Arc::clone(node);
                if let Some(detail) = Self::share_conflict(&st, node_key(&node), access, share) {
                    return Err(Error::SharingViolation {
                        path: path.clone(),
                        detail,
                    });
                }
                if (access.write || access.delete)
                    && read_lock(&node.data).attributes & attr::READONLY != 0
                {
                    return Err(Error::AccessDenied {
                        path: path.clone(),
                        reason: "the file is read-only",
                    });
                }
                if truncating {
                    let mut data = write_lock(&node.data);
                    let freed = data.truncate(0).map_err(|source| Error::Io {
                        path: path.clone(),
                        source,
                    })?;
                    drop(data);
                    self.release(freed);
                }
                node
            }
            None => {
                if matches!(
                    disposition,
                    Disposition::OpenExisting | Disposition::TruncateExisting
                ) {
                    return Err(Error::NotFound { path: path.clone() });
                }
                let node = Arc::new(FileNode {
                    path: Mutex::new(path.clone()),
                    data: RwLock::new(FileData::new(&self.shared.storage)),
                    allocated: Arc::clone(&self.shared.allocated),
                });
                st.entries.insert(
                    key,
                    Entry {
                        path: path.clone(),
                        kind: Kind::File(Arc::clone(&node)),
                    },
                );
                node
            }
        };
        let id = st.next_handle;
        st.next_handle += 1;
        st.handles.insert(
            id,
            OpenRecord {
                node: node_key(&node),
                access,
                share,
            },
        );
        Ok(Box::new(SimFile {
            id,
            node,
            access,
            volume: self.clone(),
            epoch: self.shared.epoch.load(Ordering::SeqCst),
        }))
    }

    fn metadata(&self, path: &WinPath) -> Result<Metadata, Error> {
        if path.is_root() {
            return Ok(Metadata {
                attributes: attr::DIRECTORY,
                len: 0,
                allocated: 0,
            });
        }
        let st = lock(&self.shared.state);
        match st.entries.get(&path.folded()) {
            Some(Entry {
                kind: Kind::Dir, ..
            }) => Ok(Metadata {
                attributes: attr::DIRECTORY,
                len: 0,
                allocated: 0,
            }),
            Some(Entry {
                kind: Kind::File(n),
                ..
            }) => {
                let d = read_lock(&n.data);
                Ok(Metadata {
                    attributes: d.attributes(),
                    len: d.len,
                    allocated: d.allocated(),
                })
            }
            None => {
                Self::check_parent(&st, path)?;
                Err(Error::NotFound { path: path.clone() })
            }
        }
    }

    fn read_dir(&self, path: &WinPath) -> Result<Vec<DirEntry>, Error> {
        self.check_access(path)?;
        let st = lock(&self.shared.state);
        let folded = path.folded();
        if !path.is_root() {
            match st.entries.get(&folded) {
                Some(Entry {
                    kind: Kind::Dir, ..
                }) => {}
                Some(_) => return Err(Error::NotADirectory { path: path.clone() }),
                None => return Err(Error::NotFound { path: path.clone() }),
            }
        }
        let prefix = children_prefix(&folded);
        let mut out = Vec::new();
        for (k, e) in st.entries.range(prefix.clone()..) {
            if !k.starts_with(&prefix) {
                break;
            }
            if k[prefix.len()..].contains('\\') {
                continue;
            }
            let metadata = match &e.kind {
                Kind::Dir => Metadata {
                    attributes: attr::DIRECTORY,
                    len: 0,
                    allocated: 0,
                },
                Kind::File(n) => {
                    let d = read_lock(&n.data);
                    Metadata {
                        attributes: d.attributes(),
                        len: d.len,
                        allocated: d.allocated(),
                    }
                }
            };
            out.push((
                k.clone(),
                DirEntry {
                    name: e.path.file_name().unwrap_or_default().to_owned(),
                    metadata,
                },
            ));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out.into_iter().map(|(_, e)| e).collect())
    }

    fn create_dir(&self, path: &WinPath) -> Result<(), Error> {
        if path.is_root() {
            return Err(Error::AlreadyExists { path: path.clone() });
        }
        self.check_access(path)?;
        let mut st = lock(&self.shared.state);
        Self::check_parent(&st, path)?;
        let key = path.folded();
        if st.entries.contains_key(&key) {
            return Err(Error::AlreadyExists { path: path.clone() });
        }
        st.entries.insert(
            key,
            Entry {
                path: path.clone(),
                kind: Kind::Dir,
            },
        );
        Ok(())
    }

    fn remove_dir(&self, path: &WinPath) -> Result<(), Error> {
        if path.is_root() {
            return Err(Error::AccessDenied {
                path: path.clone(),
                reason: "the root cannot be removed",
            });
        }
        let mut st = lock(&self.shared.state);
        let key = path.folded();
        match st.entries.get(&key) {
            Some(Entry {
                kind: Kind::Dir, ..
            }) => {}
            Some(_) => return Err(Error::NotADirectory { path: path.clone() }),
            None => return Err(Error::NotFound { path: path.clone() }),
        }
        let prefix = children_prefix(&key);
        if st
            .entries
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
        {
            return Err(Error::DirectoryNotEmpty { path: path.clone() });
        }
        st.entries.remove(&key);
        Ok(())
    }

    fn delete_file(&self, path: &WinPath) -> Result<(), Error> {
        let mut st = lock(&self.shared.state);
        let key = path.folded();
        let node = match st.entries.get(&key) {
            Some(Entry {
                kind: Kind::File(n),
                ..
            }) => Arc::clone(n),
            Some(_) => return Err(Error::IsADirectory { path: path.clone() }),
            None => {
                Self::check_parent(&st, path)?;
                return Err(Error::NotFound { path: path.clone() });
            }
        };
        if read_lock(&node.data).attributes & attr::READONLY != 0 {
            return Err(Error::AccessDenied {
                path: path.clone(),
                reason: "the file is read-only",
            });
        }
        Self::check_delete_shared(&st, node_key(&node), path)?;
        st.entries.remove(&key);
        Ok(())
    }

    fn rename(&self, from: &WinPath, to: &WinPath, replace: bool) -> Result<(), Error> {
        if from.is_root() || to.is_root() {
            return Err(Error::AccessDenied {
                path: from.clone(),
                reason: "the root cannot be renamed",
            });
        }
        let mut st = lock(&self.shared.state);
        let from_key = from.folded();
        let to_key = to.folded();
        let is_dir = match st.entries.get(&from_key) {
            Some(Entry {
                kind: Kind::Dir, ..
            }) => true,
            Some(Entry {
                kind: Kind::File(n),
                ..
            }) => {
                Self::check_delete_shared(&st, node_key(n), from)?;
                false
            }
            None => {
                Self::check_parent(&st, from)?;
                return Err(Error::NotFound { path: from.clone() });
            }
        };
        Self::check_parent(&st, to)?;
        if is_dir && to.starts_with(from) && from_key != to_key {
            return Err(Error::AccessDenied {
                path: to.clone(),
                reason: "a directory cannot move into itself",
            });
        }
        // Only a case change of the same entry: just re-case it.
        if from_key != to_key {
            match st.entries.get(&to_key) {
                Some(Entry {
                    kind: Kind::Dir, ..
                }) => {
                    return Err(Error::AccessDenied {
                        path: to.clone(),
                        reason: "a directory is never replaced",
                    });
                }
                Some(Entry {
                    kind: Kind::File(n),
                    ..
                }) => {
                    if !replace {
                        return Err(Error::AlreadyExists { path: to.clone() });
                    }
                    if is_dir {
                        return Err(Error::AccessDenied {
                            path: to.clone(),
                            reason: "a directory cannot replace a file",
                        });
                    }
                    if read_lock(&n.data).attributes & attr::READONLY != 0 {
                        return Err(Error::AccessDenied {
                            path: to.clone(),
                            reason: "the file to replace is read-only",
                        });
                    }
                    // MS-FSCC 2.4.42 FileRenameInformation: STATUS_ACCESS_DENIED when "the
                    // target file was open and ReplaceIfExists is nonzero".
                    if st.handles.values().any(|r| r.node == node_key(n)) {
                        return Err(Error::AccessDenied {
                            path: to.clone(),
                            reason: "the file to replace is open",
                        });
                    }
                }
                None => {}
            }
        }
        if is_dir {
            let prefix = children_prefix(&from_key);
            let moved: Vec<String> = st
                .entries
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(k, _)| k.clone())
                .collect();
            for k in &moved {
                if let Some(Entry {
                    kind: Kind::File(n),
                    ..
                }) = st.entries.get(k)
                    && st.handles.values().any(|r| r.node == node_key(n))
                {
                    return Err(Error::SharingViolation {
                        path: from.clone(),
                        detail: "a file inside the directory is open".to_owned(),
                    });
                }
            }
            for k in moved {
                let mut e = st.entries.remove(&k).expect("key listed above");
                let rest: Vec<String> = e
                    .path
                    .components()
                    .skip(from.components().len())
                    .map(str::to_owned)
                    .collect();
                let mut np = to.clone();
                for c in &rest {
                    np = np.join(c)?;
                }
                if let Kind::File(n) = &e.kind {
                    *lock(&n.path) = np.clone();
                }
                e.path = np;
                st.entries.insert(e.path.folded(), e);
            }
        }
        let mut e = st.entries.remove(&from_key).expect("checked above");
        if let Kind::File(n) = &e.kind {
            *lock(&n.path) = to.clone();
        }
        e.path = to.clone();
        st.entries.insert(to_key, e);
        Ok(())
    }

    fn add_pending_rename(&self, op: &PendingRename) -> Result<(), Error> {
        lock(&self.shared.state).pending.push(op.clone());
        Ok(())
    }

    fn pending_renames(&self) -> Result<Vec<PendingRename>, Error> {
        Ok(lock(&self.shared.state).pending.clone())
    }
}
