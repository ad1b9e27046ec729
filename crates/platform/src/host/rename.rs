//! [`HostVolume`]'s rename: its lookups and system calls run outside the handle table's lock, as
//! an open's do, and only the share checks and the records they guard are under it.
//!
//! While the system calls run, each of the two names carries a record of the rename, as if it
//! were a handle asking for delete access and sharing everything (on Windows the rename's own
//! open of the file is such a handle): a handle that does not share delete cannot be opened on
//! either name meanwhile, and a second rename of the same file finds it gone. Holding the lock
//! across the five system calls of a rename instead made the restore's workers queue for it
//! (every open and every handle closed takes it).

use std::path::{Path, PathBuf};

use super::names::Lookup;
use super::{HostVolume, host_err};
use crate::{Access, Error, ShareMode, WinPath, attr};

/// What a rename in progress holds on a name.
const RENAMING: Access = Access {
    read: false,
    write: false,
    delete: true,
};

/// Where a rename puts the file, decided from the lookups before the handle table is asked.
enum Target {
    /// A new name in `parent` (nothing was there).
    New { parent: PathBuf, name: String },
    /// The file's own host path (a change of case only).
    Itself(PathBuf),
    /// Over the existing file `dst`.
    Replacing(PathBuf),
}

impl HostVolume {
    /// [`crate::Volume::rename`] on this volume.
    pub(super) fn rename_entry(
        &self,
        from: &WinPath,
        to: &WinPath,
        replace: bool,
    ) -> Result<(), Error> {
        if from.is_root() || to.is_root() {
            return Err(Error::AccessDenied {
                path: from.clone(),
                reason: "the root cannot be renamed",
            });
        }
        if to.starts_with(from) && to != from {
            return Err(Error::AccessDenied {
                path: to.clone(),
                reason: "cannot move a directory into itself",
            });
        }
        let (src, src_md) = self.found(from)?;
        let src_is_dir = src_md.is_dir();
        let target = self.rename_target(from, to, &src, replace)?;
        let claims = self.claim_names(from, to, src_is_dir, &target)?;
        let moved = self.move_host(from, to, &src, target);
        self.release_names(claims, from, to, moved.is_ok());
        let target = moved?;
        if src_is_dir {
            // Indexes of folders below the old path are keyed by host paths that no longer
            // exist: drop them all (renaming a folder is rare; they are rebuilt on demand).
            self.shared.names().clear();
            self.forget_folders();
        } else {
            self.note_removed(&src);
        }
        if let (Some(dir), Some(n)) = (target.parent(), target.file_name().and_then(|n| n.to_str()))
        {
            self.note_created(dir, n);
        }
        Ok(())
    }

    /// Where `from` (at host path `src`) goes as `to`, and the checks that need no handle:
    /// a file already at `to` is replaced only when `replace` says so, never when it is a
    /// folder or read-only.
    fn rename_target(
        &self,
        from: &WinPath,
        to: &WinPath,
        src: &Path,
        replace: bool,
    ) -> Result<Target, Error> {
        // A rename within one folder (a temporary file over its original, the common case)
        // looks up only the new name there, and not even that when the folder's name index
        // holds no spelling of it: the rename itself then refuses a name made since
        // (`RENAME_NOREPLACE`), as a create does (`lookup_new`).
        let lookup = match (src.parent(), to.file_name()) {
            (Some(dir), Some(name)) if from.same_parent(to) => {
                if self.index_lacks(dir, to) {
                    Lookup::Missing {
                        parent: dir.to_owned(),
                        name: name.to_owned(),
                    }
                } else {
                    self.lookup_in(dir, to)?
                }
            }
            _ => self.lookup(to)?,
        };
        Ok(match lookup {
            Lookup::Found(dst, _) if dst == src => Target::Itself(dst),
            Lookup::Found(dst, dst_md) => {
                if !replace {
                    return Err(Error::AlreadyExists { path: to.clone() });
                }
                if dst_md.is_dir() {
                    return Err(Error::AccessDenied {
                        path: to.clone(),
                        reason: "a directory cannot be replaced",
                    });
                }
                if Self::stored_attrs_path(&dst).is_some_and(|a| a & attr::READONLY != 0) {
                    return Err(Error::AccessDenied {
                        path: to.clone(),
                        reason: "the destination is read-only",
                    });
                }
                Target::Replacing(dst)
            }
            Lookup::Missing { parent, name } => Target::New { parent, name },
        })
    }

    /// Under the handle table's lock: refuses the rename when an open handle forbids it, else
    /// records it on both names (see the module docs); the records' ids.
    fn claim_names(
        &self,
        from: &WinPath,
        to: &WinPath,
        src_is_dir: bool,
        target: &Target,
    ) -> Result<[u64; 2], Error> {
        let mut handles = self.shared.handles();
        let blocking = handles.values().find(|r| {
            if src_is_dir {
                !r.deleted && r.path.starts_with(from)
            } else {
                r.is_on(from) && !r.share.delete
            }
        });
        if let Some(r) = blocking {
            return Err(Error::SharingViolation {
                path: from.clone(),
                detail: format!("an open handle on {} does not allow rename", r.path),
            });
        }
        // MS-FSCC 2.4.42 FileRenameInformation: STATUS_ACCESS_DENIED when "the target file was
        // open and ReplaceIfExists is nonzero", whatever it shares.
        if matches!(target, Target::Replacing(_)) && handles.values().any(|r| r.is_on(to)) {
            return Err(Error::AccessDenied {
                path: to.clone(),
                reason: "the file to replace is open",
            });
        }
        Ok([from, to].map(|path| self.insert_record(&mut handles, path, RENAMING, ShareMode::ALL)))
    }

    /// Drops the rename's records and, when it `moved` the file, renames the records of the
    /// handles open on it (or below it) to match.
    fn release_names(&self, claims: [u64; 2], from: &WinPath, to: &WinPath, moved: bool) {
        let mut handles = self.shared.handles();
        for id in claims {
            handles.remove(&id);
        }
        if !moved {
            return;
        }
        let depth = from.components().len();
        for r in handles.values_mut() {
            if r.path.starts_with(from) && !r.deleted {
                let moved_path = r
                    .path
                    .components()
                    .skip(depth)
                    .try_fold(to.clone(), |p, c| p.join(c));
                if let Ok(p) = moved_path {
                    r.path = p;
                }
            }
        }
    }

    /// The system calls of the rename: the file replaced, if any, removed first when its
    /// spelling differs from the new name's; then `from` moved; the file's new host path.
    fn move_host(
        &self,
        from: &WinPath,
        to: &WinPath,
        src: &Path,
        target: Target,
    ) -> Result<PathBuf, Error> {
        let name = to.file_name().unwrap_or_default();
        let (target, fresh) = match target {
            Target::Itself(dst) => (dst.with_file_name(name), false),
            Target::Replacing(dst) => {
                let target = dst.with_file_name(name);
                if target != dst {
                    let at = self.at(to, &dst)?;
                    self.beneath.remove_file(&at).map_err(|e| host_err(to, e))?;
                    self.note_removed(&dst);
                }
                (target, false)
            }
            Target::New { parent, name } => (parent.join(name), true),
        };
        let src_at = self.at(from, src)?;
        if src.parent() == target.parent() {
            // One folder: one walk to it.
            let to_name = target.file_name().unwrap_or_default();
            self.beneath.rename_within(&src_at, to_name, fresh)
        } else {
            let target_at = self.at(to, &target)?;
            self.beneath.rename(&src_at, &target_at, fresh)
        }
        .map_err(|e| {
            if fresh && e.kind() == std::io::ErrorKind::AlreadyExists {
                // Made at the new name since it was looked up: never replaced.
                Error::AlreadyExists { path: to.clone() }
            } else {
                host_err(from, e)
            }
        })?;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::sync::Arc;

    use super::*;
    use crate::{Disposition, OpenOptions, Volume};

    fn wp(s: &str) -> WinPath {
        WinPath::new(s).unwrap()
    }

    fn exclusive() -> OpenOptions {
        OpenOptions::new(Access::READ, ShareMode::NONE, Disposition::OpenExisting)
    }

    /// While a rename's system calls run, its records keep handles that do not share delete
    /// off both names; once released, they are gone.
    #[test]
    fn a_rename_in_progress_holds_both_names() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("a.txt"), b"a").unwrap();
        fs::write(t.path().join("b.txt"), b"b").unwrap();
        let v = HostVolume::new(t.path()).unwrap();
        let (from, to) = (wp("A.TXT"), wp("b.txt"));
        let target = Target::Replacing(t.path().join("b.txt"));
        let claims = v.claim_names(&from, &to, false, &target).unwrap();
        for path in [&from, &to] {
            let r = v.open(path, exclusive());
            assert!(
                matches!(r, Err(Error::SharingViolation { .. })),
                "{path}: {r:?}"
            );
        }
        let shared = OpenOptions::new(Access::READ, ShareMode::ALL, Disposition::OpenExisting);
        drop(v.open(&from, shared).unwrap());
        v.release_names(claims, &from, &to, false);
        drop(v.open(&from, exclusive()).unwrap());
        drop(v.open(&to, exclusive()).unwrap());
        assert!(v.shared.handles().is_empty());
    }

    /// A file made at the new name after it was looked up (by another process, here by hand)
    /// is not replaced, with `RENAME_NOREPLACE` or without: the rename fails with the new name,
    /// and both files are intact.
    #[test]
    fn a_name_taken_after_its_lookup_is_not_replaced() {
        for portable in [false, true] {
            super::super::beneath::FORCE_PORTABLE.with(|f| f.set(portable));
            a_name_taken_after_its_lookup_is_not_replaced_here();
            super::super::beneath::FORCE_PORTABLE.with(|f| f.set(false));
        }
    }

    fn a_name_taken_after_its_lookup_is_not_replaced_here() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("tmp~0"), b"rebuilt").unwrap();
        let v = HostVolume::new(t.path()).unwrap();
        let (from, to) = (wp("tmp~0"), wp("file.txt"));
        let target = v
            .rename_target(&from, &to, &t.path().join("tmp~0"), true)
            .unwrap();
        assert!(matches!(target, Target::New { .. }));
        fs::write(t.path().join("file.txt"), b"theirs").unwrap();
        let r = v.move_host(&from, &to, &t.path().join("tmp~0"), target);
        match r {
            Err(Error::AlreadyExists { path }) => assert_eq!(path, to),
            other => panic!("{other:?}"),
        }
        assert_eq!(fs::read(t.path().join("file.txt")).unwrap(), b"theirs");
        assert_eq!(fs::read(t.path().join("tmp~0")).unwrap(), b"rebuilt");
    }

    /// Threads renaming files of one folder over each other's siblings, with handles open and
    /// closed meanwhile: every rename lands, every handle follows its file, and no record is
    /// left behind.
    #[test]
    fn concurrent_renames_in_one_folder_all_land() {
        let t = tempfile::tempdir().unwrap();
        let v = Arc::new(HostVolume::new(t.path()).unwrap());
        let per_thread = 100;
        std::thread::scope(|s| {
            for k in 0..4 {
                let v = Arc::clone(&v);
                s.spawn(move || {
                    let create = OpenOptions::new(
                        Access::READ_WRITE,
                        ShareMode::ALL,
                        Disposition::CreateNew,
                    );
                    for i in 0..per_thread {
                        let temp = wp(&format!("f{k}_{i}.tmp"));
                        let h = v.open(&temp, create).unwrap();
                        h.write_all_at(0, format!("{k}/{i}").as_bytes()).unwrap();
                        let name = wp(&format!("F{k}_{i}.TXT"));
                        v.rename(&temp, &name, false).unwrap();
                        assert_eq!(h.path(), name);
                    }
                });
            }
        });
        assert!(v.shared.handles().is_empty());
        for k in 0..4 {
            for i in 0..per_thread {
                let got = fs::read(t.path().join(format!("F{k}_{i}.TXT"))).unwrap();
                assert_eq!(got, format!("{k}/{i}").as_bytes());
            }
        }
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 4 * per_thread);
    }
}
