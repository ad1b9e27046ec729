//! A file of the source named like another's temporary sibling (`file01.bin.rehydrate~0`
//! beside `file01.bin`) is placed only once the other is in place, never while the other is
//! written in a temporary file of that very name: under any overwrite policy, both files come
//! back whole, each with its own bytes.
#![cfg(unix)]

mod common;

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use common::tree::{read_host, restore_into, volume_folder};
use common::wp;
use dedup_restore::{EntryStatus, Overwrite, TreeOptions};
use platform::{
    DirEntry, Disposition, Error, FileHandle, HostVolume, Metadata, OpenOptions, PendingRename,
    Volume, WinPath,
};

/// A destination that watches two files next to each other in walk order, `earlier` and
/// `later`, one named like the other's temporary sibling: `later` must not be looked at (its
/// slot checked) until `earlier` is in place. It notes when it is.
///
/// `later` is named like `earlier`'s temporary sibling, and the destination makes the two meet
/// when `later` is looked at out of turn: `later`'s slot check waits (up to 10 s) until
/// `earlier`'s temporary sibling of that name is created, and `earlier`'s rename into place
/// then waits (up to 10 s) until `later` has been renamed into its slot. In turn, nothing
/// waits.
struct Meeting<'a> {
    inner: &'a dyn Volume,
    /// The two paths, folded.
    earlier: String,
    later: String,
    state: Mutex<State>,
    signal: Condvar,
}

/// What has happened so far.
#[derive(Default)]
struct State(Vec<Event>);

#[derive(PartialEq)]
enum Event {
    /// A file named like `later` was created (`earlier`'s temporary sibling).
    TempCreated,
    /// `earlier` was renamed into place.
    EarlierInPlace,
    /// `later`'s slot was looked at before that.
    OutOfTurn,
    /// `later` was renamed into its slot.
    LaterInPlace,
}

impl State {
    fn has(&self, e: &Event) -> bool {
        self.0.contains(e)
    }
}

const WAIT: Duration = Duration::from_secs(10);

impl<'a> Meeting<'a> {
    fn new(inner: &'a dyn Volume, (earlier, later): (&str, &str)) -> Self {
        Self {
            inner,
            earlier: wp(earlier).folded(),
            later: wp(later).folded(),
            state: Mutex::default(),
            signal: Condvar::new(),
        }
    }

    fn wait_for(&self, done: impl Fn(&State) -> bool) {
        let state = self.state.lock().unwrap();
        drop(
            self.signal
                .wait_timeout_while(state, WAIT, |s| !done(s))
                .unwrap(),
        );
    }

    fn note(&self, event: Event) {
        self.state.lock().unwrap().0.push(event);
        self.signal.notify_all();
    }

    fn out_of_turn(&self) -> bool {
        self.state.lock().unwrap().has(&Event::OutOfTurn)
    }
}

impl Volume for Meeting<'_> {
    fn open(&self, path: &WinPath, options: OpenOptions) -> Result<Box<dyn FileHandle>, Error> {
        let handle = self.inner.open(path, options)?;
        if path.folded() == self.later && options.disposition == Disposition::CreateNew {
            self.note(Event::TempCreated);
        }
        Ok(handle)
    }
    fn metadata(&self, path: &WinPath) -> Result<Metadata, Error> {
        if path.folded() == self.later && !self.state.lock().unwrap().has(&Event::EarlierInPlace) {
            self.note(Event::OutOfTurn);
            self.wait_for(|s| s.has(&Event::TempCreated));
        }
        self.inner.metadata(path)
    }
    fn read_dir(&self, path: &WinPath) -> Result<Vec<DirEntry>, Error> {
        self.inner.read_dir(path)
    }
    fn create_dir(&self, path: &WinPath) -> Result<(), Error> {
        self.inner.create_dir(path)
    }
    fn remove_dir(&self, path: &WinPath) -> Result<(), Error> {
        self.inner.remove_dir(path)
    }
    fn delete_file(&self, path: &WinPath) -> Result<(), Error> {
        self.inner.delete_file(path)
    }
    fn rename(&self, from: &WinPath, to: &WinPath, replace: bool) -> Result<(), Error> {
        let to_folded = to.folded();
        if to_folded == self.earlier && self.out_of_turn() {
            self.wait_for(|s| s.has(&Event::LaterInPlace));
        }
        self.inner.rename(from, to, replace)?;
        if to_folded == self.earlier {
            self.note(Event::EarlierInPlace);
        }
        if to_folded == self.later {
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
        let dest = Meeting::new(&host, ("\\data\\sub\\file01.bin", look_alike));
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
        assert!(!dest.out_of_turn(), "{what}");
    }
}
