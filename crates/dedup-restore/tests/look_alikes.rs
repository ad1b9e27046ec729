//! An entry of the source that could meet a dedup file's temporary sibling never meets it
//! while it is written: a file named like the temporary sibling (`file01.bin.rehydrate~0`
//! beside `file01.bin`), under any overwrite policy, is placed once that file is in place; the
//! file's folder in another spelling is not swept of leftover temporary files again. Every
//! file comes back whole, each with its own bytes, and nothing this restore placed is taken
//! for a leftover.
#![cfg(unix)]

mod common;

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use common::tree::{copy_with_xattrs, read_host, restore_into, volume_folder};
use common::wp;
use dedup_restore::{EntryStatus, Overwrite, TreeOptions};
use platform::{
    DirEntry, Disposition, Error, FileHandle, HostVolume, Metadata, OpenOptions, PendingRename,
    Volume, WinPath,
};

/// A destination that watches a dedup file, `earlier`, and an entry after it in walk order,
/// `later`, that could meet it while it is rebuilt: `later` must not be looked at until
/// `earlier` is in place. It notes when it is, and then makes the two meet (each wait is up to
/// 10 s); in turn, nothing waits.
struct Meeting<'a> {
    inner: &'a dyn Volume,
    /// The two paths (`earlier` folded, `later` as spelt: a folder in another spelling is
    /// another entry of the walk).
    earlier: String,
    later: String,
    kind: Later,
    state: Mutex<State>,
    signal: Condvar,
}

/// What `later` is.
#[derive(PartialEq)]
enum Later {
    /// A file named like `earlier`'s temporary sibling. Looked at (its slot checked) out of
    /// turn, it waits until `earlier`'s temporary sibling of that name is created, and
    /// `earlier`'s rename into place then waits until `later` has been renamed into its slot.
    LookAlike,
    /// `earlier`'s folder in another spelling. Listed out of turn (a sweep of leftover
    /// temporary files as the folder is placed again), the listing waits until `earlier`'s
    /// rename into place begins (its temporary file written and closed), and the rename then
    /// waits until the sweep has deleted a file.
    Folder,
}

/// What has happened so far.
#[derive(Default)]
struct State(Vec<Event>);

#[derive(PartialEq)]
enum Event {
    /// A file named like `later` was created (`earlier`'s temporary sibling).
    TempCreated,
    /// `earlier`'s rename into place began.
    Renaming,
    /// `earlier` was renamed into place.
    EarlierInPlace,
    /// `later` was looked at before that.
    OutOfTurn,
    /// `later` was renamed into its slot.
    LaterInPlace,
    /// A file of folder `later` was deleted (or its deletion refused).
    Swept,
}

impl State {
    fn has(&self, e: &Event) -> bool {
        self.0.contains(e)
    }
}

const WAIT: Duration = Duration::from_secs(10);

impl<'a> Meeting<'a> {
    fn new(inner: &'a dyn Volume, (earlier, later): (&str, &str), kind: Later) -> Self {
        Self {
            inner,
            earlier: wp(earlier).folded(),
            later: wp(later).to_string(),
            kind,
            state: Mutex::default(),
            signal: Condvar::new(),
        }
    }

    fn wait_for(&self, event: &Event) {
        let state = self.state.lock().unwrap();
        drop(
            self.signal
                .wait_timeout_while(state, WAIT, |s| !s.has(event))
                .unwrap(),
        );
    }

    fn note(&self, event: Event) {
        self.state.lock().unwrap().0.push(event);
        self.signal.notify_all();
    }

    fn has(&self, event: &Event) -> bool {
        self.state.lock().unwrap().has(event)
    }

    /// Notes `later` looked at as `kind` if out of turn, and then waits for `event`.
    fn looking_at(&self, path: &WinPath, kind: &Later, event: &Event) {
        if self.kind == *kind && path.to_string() == self.later && !self.has(&Event::EarlierInPlace)
        {
            self.note(Event::OutOfTurn);
            self.wait_for(event);
        }
    }
}

impl Volume for Meeting<'_> {
    fn open(&self, path: &WinPath, options: OpenOptions) -> Result<Box<dyn FileHandle>, Error> {
        let handle = self.inner.open(path, options)?;
        if *path == wp(&self.later) && options.disposition == Disposition::CreateNew {
            self.note(Event::TempCreated);
        }
        Ok(handle)
    }
    fn metadata(&self, path: &WinPath) -> Result<Metadata, Error> {
        self.looking_at(path, &Later::LookAlike, &Event::TempCreated);
        self.inner.metadata(path)
    }
    fn read_dir(&self, path: &WinPath) -> Result<Vec<DirEntry>, Error> {
        self.looking_at(path, &Later::Folder, &Event::Renaming);
        self.inner.read_dir(path)
    }
    fn create_dir(&self, path: &WinPath) -> Result<(), Error> {
        self.inner.create_dir(path)
    }
    fn remove_dir(&self, path: &WinPath) -> Result<(), Error> {
        self.inner.remove_dir(path)
    }
    fn delete_file(&self, path: &WinPath) -> Result<(), Error> {
        let deleted = self.inner.delete_file(path);
        if path.parent().is_some_and(|p| p == wp(&self.later)) {
            self.note(Event::Swept);
        }
        deleted
    }
    fn rename(&self, from: &WinPath, to: &WinPath, replace: bool) -> Result<(), Error> {
        let to_folded = to.folded();
        if to_folded == self.earlier && self.has(&Event::OutOfTurn) {
            if self.kind == Later::Folder {
                self.note(Event::Renaming);
                self.wait_for(&Event::Swept);
            } else {
                self.wait_for(&Event::LaterInPlace);
            }
        }
        self.inner.rename(from, to, replace)?;
        if to_folded == self.earlier {
            self.note(Event::EarlierInPlace);
        }
        if *to == wp(&self.later) {
            self.note(Event::LaterInPlace);
        }
        Ok(())
    }
    fn add_pending_rename(&self, op: &PendingRename) -> Result<(), Error> {
        self.inner.add_pending_rename(op)
    }
    fn pending_renames(&self) -> Result<Vec<PendingRename>, Error> {
        self.inner.pending_renames()
    }
    fn set_times(
        &self,
        path: &WinPath,
        modified: Option<std::time::SystemTime>,
        accessed: Option<std::time::SystemTime>,
    ) -> Result<(), Error> {
        self.inner.set_times(path, modified, accessed)
    }
}

/// A plain file named like a dedup file's temporary sibling comes right after it in walk
/// order, so that, in batches of one file, it would be placed while that file's batch runs.
/// Under each overwrite policy, on two workers, it waits for the batch, and both files come
/// back with their own bytes. Before, under `Always` and `IfChanged` it was refused ("the file
/// to replace is open": the engine's temporary file) and missing from the destination; under
/// `Never` it was kept out as a conflict, and missing too.
#[test]
fn a_plain_file_named_like_a_temporary_sibling_waits_for_its_batch() {
    let src = tempfile::tempdir().unwrap();
    let originals = volume_folder(src.path(), 73);
    let look_alike = "\\data\\sub\\file01.bin.rehydrate~0";
    let bytes = b"a plain file, named like the temporary sibling of file01.bin";
    std::fs::write(src.path().join("data/sub/file01.bin.rehydrate~0"), bytes).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    for overwrite in [Overwrite::Always, Overwrite::IfChanged, Overwrite::Never] {
        let out = tempfile::tempdir().unwrap();
        let host = HostVolume::new(out.path()).unwrap();
        let pair = ("\\data\\sub\\file01.bin", look_alike);
        let dest = Meeting::new(&host, pair, Later::LookAlike);
        let opts = TreeOptions {
            batch_files: 1,
            overwrite,
            ..TreeOptions::default()
        };
        let report = pool.install(|| restore_into(src.path(), &dest, &opts));
        let what = format!("{overwrite:?}: {:#?}", report.entries);
        assert_eq!(report.count(EntryStatus::Restored), 4, "{what}");
        // The two plain originals and the look-alike.
        assert_eq!(report.count(EntryStatus::Copied), 3, "{what}");
        assert_eq!(read_host(out.path(), &wp(look_alike)), bytes, "{what}");
        for (p, bytes) in &originals {
            assert_eq!(&read_host(out.path(), p), bytes, "{what}: {p}");
        }
        assert!(!dest.has(&Event::OutOfTurn), "{what}");
    }
}

/// A dedup file in a folder of the source whose path is also spelt another way (a
/// case-sensitive source can hold both; the destination, like Windows, makes them one
/// folder): `\DATA\SUB\copy.bin` and `\data\sub`, a folder the walk lists after the
/// whole of `\DATA`. In batches of one file, the second spelling is placed while the file's
/// batch may run, and its folder is not swept of leftover temporary files again (see
/// `a_folder_spelt_another_way_is_not_swept_again`). Before, the sweep could delete the
/// engine's temporary file between its close and its rename into place, and the file failed.
#[test]
fn a_folder_spelt_another_way_is_not_swept_while_its_files_are_rebuilt() {
    let src = tempfile::tempdir().unwrap();
    let mut originals = volume_folder(src.path(), 75);
    std::fs::create_dir_all(src.path().join("DATA/SUB")).unwrap();
    copy_with_xattrs(src.path(), "data/sub/file01.bin", "DATA/SUB/copy.bin");
    let bytes = originals
        .iter()
        .find(|(p, _)| p.to_string().ends_with("file01.bin"))
        .unwrap()
        .1
        .clone();
    originals.push((wp("\\DATA\\SUB\\copy.bin"), bytes));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let host = HostVolume::new(out.path()).unwrap();
    let pair = ("\\DATA\\SUB\\copy.bin", "\\data\\sub");
    let dest = Meeting::new(&host, pair, Later::Folder);
    let opts = TreeOptions {
        batch_files: 1,
        ..TreeOptions::default()
    };
    let report = pool.install(|| restore_into(src.path(), &dest, &opts));
    let what = format!("{:#?}", report.entries);
    assert_eq!(report.count(EntryStatus::Restored), 5, "{what}");
    for (p, bytes) in &originals {
        assert_eq!(&read_dest(&host, p), bytes, "{what}: {p}");
    }
    assert!(!dest.has(&Event::OutOfTurn), "{what}");
    assert!(report.leftovers_removed.is_empty(), "{what}");
}

/// The bytes of file `p` of `dest`, found case-insensitively.
fn read_dest(dest: &dyn Volume, p: &WinPath) -> Vec<u8> {
    let file = dest.open(p, OpenOptions::READ_EXISTING).unwrap();
    let mut bytes = vec![0u8; usize::try_from(file.len().unwrap()).unwrap()];
    let mut at = 0;
    while at < bytes.len() {
        let n = file.read_at(at as u64, &mut bytes[at..]).unwrap();
        assert!(n > 0, "{p}: short read at {at}");
        at += n;
    }
    bytes
}

/// A plain file with a temporary name in a folder whose path the source also spells another
/// way, the other spelling listed after it: the folder is swept of leftovers once, as it is
/// first placed, and the file this restore copied into it stays. Before, the second spelling's
/// sweep deleted it and reported it as a leftover of an earlier run.
#[test]
fn a_folder_spelt_another_way_is_not_swept_again() {
    let src = tempfile::tempdir().unwrap();
    let mut originals = volume_folder(src.path(), 76);
    std::fs::create_dir_all(src.path().join("DATA/SUB")).unwrap();
    let bytes = b"a plain file with a temporary name".to_vec();
    std::fs::write(src.path().join("DATA/SUB/notes.txt.rehydrate~1"), &bytes).unwrap();
    originals.push((wp("\\DATA\\SUB\\notes.txt.rehydrate~1"), bytes));
    let out = tempfile::tempdir().unwrap();
    let host = HostVolume::new(out.path()).unwrap();
    let report = restore_into(src.path(), &host, &TreeOptions::default());
    let what = format!("{:#?}", report.entries);
    assert_eq!(report.count(EntryStatus::Restored), 4, "{what}");
    for (p, bytes) in &originals {
        assert_eq!(&read_dest(&host, p), bytes, "{what}: {p}");
    }
    assert!(
        report.leftovers_removed.is_empty(),
        "{:?}",
        report.leftovers_removed
    );
}
