//! What a restore costs its source: the listings of each folder and the reads of reparse
//! points, counted; the reads of a plain file, sized by its listing but carried on to its end.
#![cfg(unix)]

mod common;

use std::collections::HashMap;
use std::sync::Mutex;

use common::tree::{assert_all_back, read_host, volume_folder};
use dedup_restore::{SourceStore, TreeOptions, plan_tree, restore_planned};
use platform::{HostSource, HostVolume, Source, SourceEntry, SourceFile, WinPath};

/// A source that counts the listings of each folder (folded) and the reparse points read one
/// at a time, passing everything through.
struct CountingListings<'a> {
    inner: &'a dyn Source,
    listings: Mutex<HashMap<String, usize>>,
    reparse_reads: Mutex<usize>,
}

impl Source for CountingListings<'_> {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn read_dir(&self, dir: &WinPath) -> Result<Vec<SourceEntry>, platform::Error> {
        *self
            .listings
            .lock()
            .unwrap()
            .entry(dir.folded())
            .or_default() += 1;
        self.inner.read_dir(dir)
    }
    fn open_file(&self, path: &WinPath) -> Result<Box<dyn SourceFile>, platform::Error> {
        self.inner.open_file(path)
    }
    fn reparse_point(&self, path: &WinPath) -> Result<Option<Vec<u8>>, platform::Error> {
        *self.reparse_reads.lock().unwrap() += 1;
        self.inner.reparse_point(path)
    }
}

/// The root is listed once: the chunk store is looked for below the `System Volume
/// Information` folder the walk saw. (Looked for from a second listing of the root, a volume
/// of 20,000 files in its root had every one of them `stat`ed and its extended attributes read
/// twice.) The store is still found: the plan's check passes and the files restore. And a
/// stub's reparse point is read once, by the walk's listing: the staging uses the buffer the
/// walk kept (reading it again was an extended attribute by path and a parse a file).
#[test]
fn the_root_is_listed_once_the_stubs_read_once_and_the_store_is_still_found() {
    let src = tempfile::tempdir().unwrap();
    let originals = volume_folder(src.path(), 71);
    let host_source = HostSource::new(src.path()).unwrap();
    let source = CountingListings {
        inner: &host_source,
        listings: Mutex::default(),
        reparse_reads: Mutex::default(),
    };
    let opts = TreeOptions::default();
    let plan = plan_tree(&source, &opts).unwrap();
    assert_eq!(plan.check(), Ok(Vec::new()), "the store was not found");
    let listings = source.listings.lock().unwrap().clone();
    assert_eq!(listings.get("\\"), Some(&1), "{listings:?}");
    let out = tempfile::tempdir().unwrap();
    let dest = HostVolume::new(out.path()).unwrap();
    let store = SourceStore::new(&host_source);
    let report = restore_planned(plan, &source, &store, &dest, &opts).unwrap();
    assert_all_back(&report, 4, out.path(), &originals);
    assert_eq!(*source.reparse_reads.lock().unwrap(), 0, "stubs read again");
}

/// A plain file is copied with a buffer sized by its listed length (a zeroed 1 MiB buffer per
/// small file was a memset of 2.3 GB on a volume of 20,000 files), and still to its end: one
/// that grew to 3 MiB after the walk saw 41 bytes comes back whole.
#[test]
fn a_plain_file_is_copied_to_its_end_whatever_its_listed_size() {
    let src = tempfile::tempdir().unwrap();
    volume_folder(src.path(), 73);
    let source = HostSource::new(src.path()).unwrap();
    let opts = TreeOptions::default();
    let plan = plan_tree(&source, &opts).unwrap();
    let small = src.path().join("plain").join("small.txt");
    let mut grown = std::fs::read(&small).unwrap();
    assert!(grown.len() < 100);
    grown.extend((0..3u32 << 20).map(|i| (i % 251) as u8 + 1));
    std::fs::write(&small, &grown).unwrap();
    let out = tempfile::tempdir().unwrap();
    let dest = HostVolume::new(out.path()).unwrap();
    let store = SourceStore::new(&source);
    let report = restore_planned(plan, &source, &store, &dest, &opts).unwrap();
    assert!(
        report.entries.iter().all(|e| e.error.is_none()),
        "{:#?}",
        report.entries
    );
    let copied = read_host(out.path(), &WinPath::new("\\plain\\small.txt").unwrap());
    assert!(
        copied == grown,
        "{} bytes copied of {}",
        copied.len(),
        grown.len()
    );
}
