//! Name resolution of [`HostVolume`]: Windows' case-insensitive lookups on a case-sensitive
//! host, through one `lstat` per path component and, where the exact spelling misses, a
//! per-folder index of the names case-folded (kept up to date by this volume's own changes),
//! so that a name that does not exist yet costs a hash lookup, not a scan of its folder.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::PoisonError;

use super::{FOLDERS_KEPT, HostVolume, NameIndex, STATE_DIR};
use crate::path::{eq_name, fold};
use crate::{Error, WinPath};

/// What a lookup found.
pub(super) enum Lookup {
    /// The host path and its `lstat` (never a link: lookup refuses those, so it is also what
    /// `stat` would say).
    Found(PathBuf, fs::Metadata),
    Missing {
        parent: PathBuf,
        name: String,
    },
}

impl HostVolume {
    /// Resolves `path` case-insensitively; its folder from [`Shared::folders`](super::Shared)
    /// when it was resolved before.
    pub(super) fn lookup(&self, path: &WinPath) -> Result<Lookup, Error> {
        if path.components().len() > 1
            && let Some(dir) = path.parent().and_then(|p| self.known_folder(&p))
        {
            return self.lookup_in(&dir, path);
        }
        self.lookup_walk(path)
    }

    /// Resolves `path` for a create that fails when the name exists (`CreateNew`): in a folder
    /// resolved before whose name index holds no spelling of the name, it is missing without an
    /// `lstat`. What the index cannot know, the same name made by another process since it was
    /// built, the create itself refuses (`O_EXCL`, which also never follows a link); a name
    /// another process made in another case is missed here as the `lstat` of the exact
    /// spelling would miss it.
    pub(super) fn lookup_new(&self, path: &WinPath) -> Result<Lookup, Error> {
        match self.known_missing(path) {
            Some((dir, name)) => Ok(Lookup::Missing {
                parent: dir,
                name: name.to_owned(),
            }),
            None => self.lookup(path),
        }
    }

    /// The host folder and name of `path` when its folder was resolved before and the
    /// folder's name index holds no spelling of the name (see [`Self::lookup_new`] for what
    /// this cannot know).
    pub(super) fn known_missing<'p>(&self, path: &'p WinPath) -> Option<(PathBuf, &'p str)> {
        let name = path.file_name()?;
        // The root's own folder is always known.
        let dir = match path.components().len() {
            1 => self.root.clone(),
            _ => path.parent().and_then(|p| self.known_folder(&p))?,
        };
        self.index_lacks(&dir, path).then_some((dir, name))
    }

    /// Whether host folder `dir`, the folder of `path`, has a name index and it holds no
    /// spelling of `path`'s name. Never for the name of this volume's state folder at the
    /// root, which is left to the lookup that refuses it.
    pub(super) fn index_lacks(&self, dir: &Path, path: &WinPath) -> bool {
        let Some(name) = path.file_name() else {
            return false;
        };
        if path.components().len() == 1 && eq_name(name, STATE_DIR) {
            return false;
        }
        self.shared
            .names()
            .get(dir)
            .is_some_and(|index| !index.contains_key(&fold(name)))
    }

    /// Resolves `path` case-insensitively, one `lstat` per component (refusing a symbolic link
    /// at any depth), and remembers its folder.
    pub(super) fn lookup_walk(&self, path: &WinPath) -> Result<Lookup, Error> {
        let n = path.components().len();
        let mut cur = self.root.clone();
        let mut so_far = WinPath::root();
        if n == 0 {
            let md = fs::symlink_metadata(&cur).map_err(|e| Error::from_io(path, e))?;
            return Ok(Lookup::Found(cur, md));
        }
        for (i, comp) in path.components().enumerate() {
            if i == 0 && eq_name(comp, STATE_DIR) {
                return Err(Error::AccessDenied {
                    path: path.clone(),
                    reason: "\\.rehydrate is reserved for volume state",
                });
            }
            so_far = so_far.join(comp)?;
            let found = self.child(&cur, comp, &so_far)?;
            match found {
                Some((p, md)) if i + 1 == n => return Ok(Lookup::Found(p, md)),
                Some((p, md)) => {
                    if !md.is_dir() {
                        return Err(Error::NotADirectory { path: so_far });
                    }
                    if i + 2 == n {
                        self.remember_folder(&so_far, &p);
                    }
                    cur = p;
                }
                None if i + 1 == n => {
                    return Ok(Lookup::Missing {
                        parent: cur,
                        name: comp.to_owned(),
                    });
                }
                None => return Err(Error::NotFound { path: path.clone() }),
            }
        }
        unreachable!("loop returns on the last component")
    }

    /// Resolves `path`, whose folder is known to be the host folder `dir` (found by a lookup
    /// of a sibling just before): only its final name is looked up.
    pub(super) fn lookup_in(&self, dir: &Path, path: &WinPath) -> Result<Lookup, Error> {
        let Some(name) = path.file_name() else {
            return self.lookup(path);
        };
        if path.components().len() == 1 && eq_name(name, STATE_DIR) {
            return self.lookup(path);
        }
        Ok(match self.child(dir, name, path)? {
            Some((p, md)) => Lookup::Found(p, md),
            None => Lookup::Missing {
                parent: dir.to_owned(),
                name: name.to_owned(),
            },
        })
    }

    /// The entry `comp` of host folder `cur` (`so_far`: the Windows path up to it), matched
    /// case-insensitively; a symbolic link is refused.
    fn child(
        &self,
        cur: &Path,
        comp: &str,
        so_far: &WinPath,
    ) -> Result<Option<(PathBuf, fs::Metadata)>, Error> {
        let exact = cur.join(comp);
        #[cfg(test)]
        tests::LSTATS.with(|n| n.set(n.get() + 1));
        // One `lstat` per component: its answer both proves the name exists and says what it
        // is.
        let found = match fs::symlink_metadata(&exact) {
            Ok(md) => Some((exact, md)),
            Err(_) => self.indexed(cur, comp, so_far)?,
        };
        // A symbolic link under the root is never followed, at any depth: what it points at
        // may be outside the volume (a link planted in an output folder would otherwise have
        // files written through it).
        if found
            .as_ref()
            .is_some_and(|(_, m)| m.file_type().is_symlink())
        {
            return Err(Error::AccessDenied {
                path: so_far.clone(),
                reason: super::LINK_REFUSED,
            });
        }
        Ok(found)
    }

    /// The entry of host directory `dir` whose name equals `name` case-insensitively, through
    /// the directory's name index (built on first use). Entries the index names that are gone
    /// (removed by another process) are dropped from it; names other processes created since
    /// the index was built are not seen.
    pub(super) fn indexed(
        &self,
        dir: &Path,
        name: &str,
        so_far: &WinPath,
    ) -> Result<Option<(PathBuf, fs::Metadata)>, Error> {
        let mut names = self.shared.names();
        if !names.contains_key(dir) {
            let mut index = NameIndex::default();
            for ent in fs::read_dir(dir).map_err(|e| Error::from_io(so_far, e))? {
                let ent = ent.map_err(|e| Error::from_io(so_far, e))?;
                if let Some(stored) = ent.file_name().to_str() {
                    index
                        .entry(fold(stored))
                        .or_insert_with(|| stored.to_owned());
                }
            }
            names.insert(dir.to_owned(), index);
        }
        let index = names.get_mut(dir).expect("inserted above");
        let key = fold(name);
        let Some(stored) = index.get(&key) else {
            return Ok(None);
        };
        let p = dir.join(stored);
        if let Ok(md) = fs::symlink_metadata(&p) {
            Ok(Some((p, md)))
        } else {
            index.remove(&key);
            Ok(None)
        }
    }

    /// Records in the name index that `name` now exists in host directory `dir`.
    pub(super) fn note_created(&self, dir: &Path, name: &str) {
        if let Some(index) = self.shared.names().get_mut(dir) {
            index.insert(fold(name), name.to_owned());
        }
    }

    /// Records in the name index that host path `host` is gone.
    pub(super) fn note_removed(&self, host: &Path) {
        let (Some(dir), Some(name)) = (host.parent(), host.file_name().and_then(|n| n.to_str()))
        else {
            return;
        };
        if let Some(index) = self.shared.names().get_mut(dir) {
            let key = fold(name);
            if index.get(&key).is_some_and(|s| s == name) {
                index.remove(&key);
            }
        }
    }

    /// The host path of folder `dir`, if a lookup resolved it before.
    fn known_folder(&self, dir: &WinPath) -> Option<PathBuf> {
        let folders = self
            .shared
            .folders
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        folders.get(dir).cloned()
    }

    /// Whether folder `dir` is remembered already, at `host` (a walk through a folder met
    /// before then takes no write lock).
    fn known_folder_is(&self, dir: &WinPath, host: &Path) -> bool {
        let folders = self
            .shared
            .folders
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        folders.get(dir).is_some_and(|known| known == host)
    }

    fn remember_folder(&self, dir: &WinPath, host: &Path) {
        if self.known_folder_is(dir, host) {
            return;
        }
        let mut folders = self
            .shared
            .folders
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if folders.len() >= FOLDERS_KEPT {
            folders.clear();
        }
        folders.insert(dir.clone(), host.to_owned());
    }

    /// Forgets every folder resolved so far (this volume removed or renamed one).
    pub(super) fn forget_folders(&self) {
        self.shared
            .folders
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// [`Self::found`] through [`Self::lookup_walk`]: never through a remembered folder.
    pub(super) fn found_walk(&self, path: &WinPath) -> Result<(PathBuf, fs::Metadata), Error> {
        match self.lookup_walk(path)? {
            Lookup::Found(p, md) => Ok((p, md)),
            Lookup::Missing { .. } => Err(Error::NotFound { path: path.clone() }),
        }
    }

    pub(super) fn found(&self, path: &WinPath) -> Result<(PathBuf, fs::Metadata), Error> {
        match self.lookup(path)? {
            Lookup::Found(p, md) => Ok((p, md)),
            Lookup::Missing { .. } => Err(Error::NotFound { path: path.clone() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::fs;

    use super::*;
    use crate::{Access, Disposition, OpenOptions, ShareMode, Volume};

    thread_local! {
        /// `lstat`s of names by this thread's lookups.
        pub(super) static LSTATS: Cell<usize> = const { Cell::new(0) };
    }

    fn lstats_of(f: impl FnOnce()) -> usize {
        LSTATS.with(|n| n.set(0));
        f();
        LSTATS.with(Cell::get)
    }

    fn wp(s: &str) -> WinPath {
        WinPath::new(s).unwrap()
    }

    /// A volume over a new temporary folder holding `files` (host paths relative to it, with
    /// their folders made).
    fn volume_with(files: &[(&str, &[u8])]) -> (tempfile::TempDir, HostVolume) {
        let t = tempfile::tempdir().unwrap();
        for (rel, bytes) in files {
            let host = t.path().join(rel);
            fs::create_dir_all(host.parent().unwrap()).unwrap();
            fs::write(host, bytes).unwrap();
        }
        let v = HostVolume::new(t.path()).unwrap();
        (t, v)
    }

    /// A create of a new file, for reading and writing, sharing both.
    fn create_new() -> OpenOptions {
        OpenOptions::new(
            Access::READ_WRITE,
            ShareMode::READ_WRITE,
            Disposition::CreateNew,
        )
    }

    #[test]
    fn a_name_in_a_folder_met_before_costs_one_lstat() {
        let (_t, v) = volume_with(&[("A/b/C/f.txt", b"f")]);
        let file = wp("a\\B\\c\\F.TXT");
        let found = |v: &HostVolume| match v.lookup(&file).unwrap() {
            Lookup::Found(host, _) => assert!(host.ends_with("A/b/C/f.txt"), "{host:?}"),
            Lookup::Missing { .. } => panic!("{file} not found"),
        };
        let first = lstats_of(|| found(&v));
        assert!(
            first >= 4,
            "every component looked up the first time: {first}"
        );
        let again = lstats_of(|| found(&v));
        assert_eq!(again, 1, "only the final name once its folder is known");
        let walked = lstats_of(|| assert_eq!(v.metadata(&file).unwrap().len, 1));
        assert_eq!(walked, 4, "metadata resolves every component afresh");
        let sibling = lstats_of(|| {
            assert!(matches!(
                v.lookup(&wp("A\\B\\C\\new.txt")).unwrap(),
                Lookup::Missing { .. }
            ));
        });
        assert_eq!(sibling, 1, "a new name in a known folder");
    }

    #[test]
    fn a_folder_removed_and_made_again_in_another_case_is_found_again() {
        let t = tempfile::tempdir().unwrap();
        let v = HostVolume::new(t.path()).unwrap();
        v.create_dir(&wp("Docs")).unwrap();
        let create = create_new();
        drop(v.open(&wp("docs\\x.txt"), create).unwrap());
        v.delete_file(&wp("DOCS\\x.txt")).unwrap();
        v.remove_dir(&wp("docs")).unwrap();
        v.create_dir(&wp("DOCS")).unwrap();
        drop(v.open(&wp("docs\\y.txt"), create).unwrap());
        assert!(t.path().join("DOCS/y.txt").is_file());
        // Renamed by this volume: the old spelling is forgotten too.
        v.rename(&wp("docs"), &wp("Papers"), false).unwrap();
        drop(v.open(&wp("papers\\z.txt"), create).unwrap());
        assert!(t.path().join("Papers/z.txt").is_file());
        assert!(matches!(
            v.open(&wp("docs\\w.txt"), create),
            Err(Error::NotFound { .. })
        ));
    }

    /// A file created new in an indexed folder met before costs no `lstat`; the names the
    /// index cannot know of (made by another process since) are still refused, in any form.
    #[test]
    fn a_new_name_in_an_indexed_folder_is_created_without_an_lstat() {
        let (t, v) = volume_with(&[("D/Old.txt", b"old")]);
        let create = create_new();
        // A miss in D builds its index; D is remembered.
        assert!(matches!(
            v.lookup(&wp("d\\absent")).unwrap(),
            Lookup::Missing { .. }
        ));
        let lstats = lstats_of(|| drop(v.open(&wp("d\\new.txt"), create).unwrap()));
        assert_eq!(lstats, 0, "the index says the name is free");
        assert!(t.path().join("D/new.txt").is_file());
        let refused = |name: &str| {
            let r = v.open(&wp(name), create);
            assert!(
                matches!(r, Err(Error::AlreadyExists { .. })),
                "{name}: {r:?}"
            );
        };
        refused("d\\OLD.TXT");
        refused("D\\NEW.txt");
        // Made behind the volume's back after the index was built: a file, and a link to a
        // file outside, which must not be written through.
        fs::write(t.path().join("D/later.txt"), b"later").unwrap();
        refused("d\\later.txt");
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("secret");
        fs::write(&target, b"secret").unwrap();
        std::os::unix::fs::symlink(&target, t.path().join("D/link")).unwrap();
        assert!(v.open(&wp("d\\link"), create).is_err());
        assert_eq!(fs::read(&target).unwrap(), b"secret");
        assert_eq!(fs::read(t.path().join("D/later.txt")).unwrap(), b"later");
    }

    /// The file mode creation mask read from `/proc/self/status` is the one the kernel
    /// applies (a file created with `0o666` gets `0o666` less it).
    #[test]
    #[cfg(target_os = "linux")]
    fn the_umask_read_is_the_one_applied() {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("f");
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o666)
            .open(&f)
            .unwrap();
        let mask = crate::host::umask().expect("Linux has /proc/self/status");
        let mode = fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !mask, "mask {mask:o}");
    }

    /// `existing`, a restore's question before it writes a file: a name the index of a folder
    /// met before does not hold is free without an `lstat`; any other is looked up as
    /// `metadata` does. A file made behind the volume's back since is missed, as by a create
    /// of a new file, and the create refuses it.
    #[test]
    fn existing_answers_a_new_name_in_an_indexed_folder_without_an_lstat() {
        let (t, v) = volume_with(&[("D/Old.txt", b"old")]);
        let before = lstats_of(|| assert!(v.existing(&wp("d\\new.txt")).unwrap().is_none()));
        assert!(
            before >= 2,
            "the first miss walks and builds the index: {before}"
        );
        let known = lstats_of(|| assert!(v.existing(&wp("d\\other.txt")).unwrap().is_none()));
        assert_eq!(known, 0, "the index says the name is free");
        let old = v
            .existing(&wp("D\\OLD.TXT"))
            .unwrap()
            .expect("Old.txt is there");
        assert_eq!(old.len, 3);
        assert!(v.existing(&wp("d")).unwrap().expect("D is there").is_dir());
        let r = v.existing(&wp("d\\old.txt\\x"));
        assert!(matches!(r, Err(Error::NotADirectory { .. })), "{r:?}");
        // At the root too, where the state folder's name stays refused.
        assert!(v.existing(&wp("absent")).unwrap().is_none());
        let root = lstats_of(|| assert!(v.existing(&wp("new.txt")).unwrap().is_none()));
        assert_eq!(root, 0, "the root's index says the name is free");
        let r = v.existing(&wp(".REHYDRATE"));
        assert!(matches!(r, Err(Error::AccessDenied { .. })), "{r:?}");
        fs::write(t.path().join("D/later.txt"), b"later").unwrap();
        assert!(v.existing(&wp("d\\later.txt")).unwrap().is_none());
        assert_eq!(v.metadata(&wp("d\\later.txt")).unwrap().len, 5);
        let create = create_new();
        let r = v.open(&wp("d\\later.txt"), create);
        assert!(matches!(r, Err(Error::AlreadyExists { .. })), "{r:?}");
        assert_eq!(fs::read(t.path().join("D/later.txt")).unwrap(), b"later");
    }

    /// `existing` on a symbolic link: at the name itself it is what a listing shows, a file
    /// with a reparse point (a restore keeps it as never replaced; before, it failed there);
    /// on the way to a name it is refused, as every lookup refuses it. Nothing follows it.
    #[test]
    fn existing_reports_a_link_at_the_name_and_refuses_one_on_the_way() {
        let (t, v) = volume_with(&[("D/Old.txt", b"old")]);
        std::os::unix::fs::symlink("Old.txt", t.path().join("D/link")).unwrap();
        std::os::unix::fs::symlink("D", t.path().join("dl")).unwrap();
        for name in ["d\\link", "D\\LINK", "dl"] {
            let m = v.existing(&wp(name)).unwrap().expect("the link is there");
            assert!(m.is_reparse_point() && !m.is_dir(), "{name}: {m:?}");
            assert_eq!(m.len, 0, "{name}: its target's length is never read");
            let r = v.metadata(&wp(name));
            assert!(
                matches!(r, Err(Error::AccessDenied { .. })),
                "{name}: {r:?}"
            );
        }
        for through in ["dl\\Old.txt", "dl\\absent", "d\\link\\x"] {
            let r = v.existing(&wp(through));
            assert!(
                matches!(r, Err(Error::AccessDenied { .. })),
                "{through}: {r:?}"
            );
        }
    }

    /// A rename at the root to the state folder's name, in any case, is refused also when
    /// the root's name index does not hold it (it never does: listings leave it out).
    #[test]
    fn a_rename_to_the_state_folder_name_is_refused_with_the_root_indexed() {
        let (t, v) = volume_with(&[("a.txt", b"a")]);
        assert!(v.existing(&wp("absent")).unwrap().is_none());
        for name in [".rehydrate", ".REHYDRATE"] {
            let r = v.rename(&wp("a.txt"), &wp(name), false);
            assert!(
                matches!(r, Err(Error::AccessDenied { .. })),
                "{name}: {r:?}"
            );
        }
        assert_eq!(fs::read(t.path().join("a.txt")).unwrap(), b"a");
    }

    /// A rename within an indexed folder to a name the index does not hold looks up only its
    /// source; a name taken in another case is still found and refused.
    #[test]
    fn a_rename_to_a_new_name_in_an_indexed_folder_looks_up_only_its_source() {
        let (t, v) = volume_with(&[("D/a.tmp", b"a"), ("D/Taken.txt", b"taken")]);
        assert!(matches!(
            v.lookup(&wp("d\\absent")).unwrap(),
            Lookup::Missing { .. }
        ));
        let lstats = lstats_of(|| v.rename(&wp("d\\a.tmp"), &wp("d\\A.txt"), false).unwrap());
        assert_eq!(lstats, 1, "the source only");
        assert_eq!(fs::read(t.path().join("D/A.txt")).unwrap(), b"a");
        fs::write(t.path().join("D/b.tmp"), b"b").unwrap();
        let r = v.rename(&wp("d\\b.tmp"), &wp("d\\TAKEN.TXT"), false);
        assert!(matches!(r, Err(Error::AlreadyExists { .. })), "{r:?}");
        assert_eq!(fs::read(t.path().join("D/Taken.txt")).unwrap(), b"taken");
    }
}
