//! What a restore costs its destination, counted: the opens of each path.
#![cfg(unix)]

mod common;

use common::tree::{read_host, restore_into, volume_folder};
use dedup_restore::{EntryStatus, TreeOptions};
use platform::{HostVolume, Volume, WinPath};

/// A destination that counts the opens of each path (folded), passing everything through.
struct CountingOpens<'a> {
    inner: &'a dyn Volume,
    opens: std::sync::Mutex<std::collections::HashMap<String, usize>>,
}

impl Volume for CountingOpens<'_> {
    fn open(
        &self,
        path: &WinPath,
        options: platform::OpenOptions,
    ) -> Result<Box<dyn platform::FileHandle>, platform::Error> {
        *self.opens.lock().unwrap().entry(path.folded()).or_default() += 1;
        self.inner.open(path, options)
    }
    fn metadata(&self, path: &WinPath) -> Result<platform::Metadata, platform::Error> {
        self.inner.metadata(path)
    }
    fn read_dir(&self, path: &WinPath) -> Result<Vec<platform::DirEntry>, platform::Error> {
        self.inner.read_dir(path)
    }
    fn create_dir(&self, path: &WinPath) -> Result<(), platform::Error> {
        self.inner.create_dir(path)
    }
    fn remove_dir(&self, path: &WinPath) -> Result<(), platform::Error> {
        self.inner.remove_dir(path)
    }
    fn delete_file(&self, path: &WinPath) -> Result<(), platform::Error> {
        self.inner.delete_file(path)
    }
    fn rename(&self, from: &WinPath, to: &WinPath, replace: bool) -> Result<(), platform::Error> {
        self.inner.rename(from, to, replace)
    }
    fn add_pending_rename(&self, op: &platform::PendingRename) -> Result<(), platform::Error> {
        self.inner.add_pending_rename(op)
    }
    fn pending_renames(&self) -> Result<Vec<platform::PendingRename>, platform::Error> {
        self.inner.pending_renames()
    }
    fn set_times(
        &self,
        path: &WinPath,
        modified: Option<std::time::SystemTime>,
        accessed: Option<std::time::SystemTime>,
    ) -> Result<(), platform::Error> {
        self.inner.set_times(path, modified, accessed)
    }
}

/// What a small file costs the destination: its temporary sibling is opened once (created),
/// written and committed through that one handle, and the restored file is not opened again.
/// (Three opens a file, each a case-insensitive lookup and a walk from the root, were a third
/// of the time of a restore of 20,000 small files.)
#[test]
fn each_rebuilt_file_is_opened_once_by_the_restore() {
    let src = tempfile::tempdir().unwrap();
    let originals = volume_folder(src.path(), 67);
    let out = tempfile::tempdir().unwrap();
    let host = HostVolume::new(out.path()).unwrap();
    let dest = CountingOpens {
        inner: &host,
        opens: std::sync::Mutex::default(),
    };
    let report = restore_into(src.path(), &dest, &TreeOptions::default());
    assert_eq!(
        report.count(EntryStatus::Restored),
        4,
        "{:#?}",
        report.entries
    );
    let opens = dest.opens.into_inner().unwrap();
    for (p, bytes) in &originals[..4] {
        assert_eq!(&read_host(out.path(), p), bytes, "{p}");
        let temp = format!("{}.REHYDRATE~0", p.folded());
        assert_eq!(
            opens.get(&temp),
            Some(&1),
            "{p}: opens of its temporary file"
        );
        assert_eq!(
            opens.get(&p.folded()),
            None,
            "{p}: opened after the restore"
        );
    }
}
