//! What a restore costs its destination, counted: the opens of each path, the writes to one
//! file under way at once, how each rebuilt file gets its times; and the next batch staged
//! while the engine rebuilds the current one.
#![cfg(unix)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::tree::{assert_all_back, read_host, restore_into, volume_folder};
use common::{optimized_volume, wp};
use dedup_reparse::LayoutVersion;
use dedup_restore::{EntryStatus, TreeOptions};
use platform::{FileHandle, HostVolume, Volume, WinPath};

/// A destination that counts the opens of each path (folded), passing everything through;
/// its handles count the writes under way on each path and the most seen at once.
struct CountingOpens<'a> {
    inner: &'a dyn Volume,
    opens: Mutex<HashMap<String, usize>>,
    writes: Arc<WriteCounts>,
    gate: Option<Gate>,
}

/// Makes the rename of `first` into place wait (up to 10 s) until the slot of `second` has been
/// looked at (`metadata`), and notes whether it was.
#[derive(Default)]
struct Gate {
    first: String,
    second: String,
    looked_at: Mutex<bool>,
    signal: std::sync::Condvar,
    seen_while_waiting: std::sync::atomic::AtomicBool,
}

impl Gate {
    fn looking_at(&self, path: &WinPath) {
        if path.folded() == self.second {
            *self.looked_at.lock().unwrap() = true;
            self.signal.notify_all();
        }
    }

    fn renaming_into(&self, path: &WinPath) {
        if path.folded() == self.first {
            let (seen, _) = self
                .signal
                .wait_timeout_while(
                    self.looked_at.lock().unwrap(),
                    std::time::Duration::from_secs(10),
                    |seen| !*seen,
                )
                .unwrap();
            self.seen_while_waiting.store(*seen, Ordering::SeqCst);
        }
    }
}

#[derive(Default, Debug)]
struct WriteCounts {
    under_way: Mutex<HashMap<String, usize>>,
    most_at_once: AtomicUsize,
    total: AtomicUsize,
    /// Whether the handles pass `set_times` on (else they cannot set times, the default).
    handles_set_times: bool,
    /// `FileHandle::set_times` calls by the path the handle was opened with (folded).
    times_by_handle: Mutex<HashMap<String, usize>>,
    /// `Volume::set_times` calls by path (folded).
    times_by_path: Mutex<HashMap<String, usize>>,
}

impl<'a> CountingOpens<'a> {
    fn new(inner: &'a dyn Volume) -> Self {
        Self {
            inner,
            opens: Mutex::default(),
            writes: Arc::default(),
            gate: None,
        }
    }

    /// Like [`Self::new`], with handles that set times.
    fn setting_times(inner: &'a dyn Volume) -> Self {
        Self {
            inner,
            opens: Mutex::default(),
            writes: Arc::new(WriteCounts {
                handles_set_times: true,
                ..WriteCounts::default()
            }),
            gate: None,
        }
    }
}

fn count(map: &Mutex<HashMap<String, usize>>, key: &str) {
    *map.lock().unwrap().entry(key.to_owned()).or_default() += 1;
}

/// A handle of [`CountingOpens`]: each write is counted while under way, and takes a little
/// while (so that writes of two workers to one file would meet).
#[derive(Debug)]
struct CountingWrites {
    inner: Box<dyn FileHandle>,
    key: String,
    counts: Arc<WriteCounts>,
}

impl FileHandle for CountingWrites {
    fn path(&self) -> WinPath {
        self.inner.path()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, platform::Error> {
        self.inner.read_at(offset, buf)
    }
    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize, platform::Error> {
        let at_once = {
            let mut g = self.counts.under_way.lock().unwrap();
            let n = g.entry(self.key.clone()).or_default();
            *n += 1;
            *n
        };
        self.counts
            .most_at_once
            .fetch_max(at_once, Ordering::SeqCst);
        self.counts.total.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let r = self.inner.write_at(offset, buf);
        *self
            .counts
            .under_way
            .lock()
            .unwrap()
            .get_mut(&self.key)
            .unwrap() -= 1;
        r
    }
    fn len(&self) -> Result<u64, platform::Error> {
        self.inner.len()
    }
    fn set_len(&self, len: u64) -> Result<(), platform::Error> {
        self.inner.set_len(len)
    }
    fn attributes(&self) -> Result<u32, platform::Error> {
        self.inner.attributes()
    }
    fn set_attributes(&self, attributes: u32) -> Result<(), platform::Error> {
        self.inner.set_attributes(attributes)
    }
    fn set_sparse(&self, sparse: bool) -> Result<(), platform::Error> {
        self.inner.set_sparse(sparse)
    }
    fn reparse_point(&self) -> Result<Vec<u8>, platform::Error> {
        self.inner.reparse_point()
    }
    fn set_reparse_point(&self, buffer: &[u8]) -> Result<(), platform::Error> {
        self.inner.set_reparse_point(buffer)
    }
    fn remove_reparse_point(&self) -> Result<(), platform::Error> {
        self.inner.remove_reparse_point()
    }
    fn flush(&self) -> Result<(), platform::Error> {
        self.inner.flush()
    }
    fn set_times(
        &self,
        modified: Option<std::time::SystemTime>,
        accessed: Option<std::time::SystemTime>,
    ) -> Result<(), platform::Error> {
        if !self.counts.handles_set_times {
            return Err(platform::Error::Unsupported {
                path: self.path(),
                what: "file times through a handle".into(),
            });
        }
        count(&self.counts.times_by_handle, &self.key);
        self.inner.set_times(modified, accessed)
    }
}

impl Volume for CountingOpens<'_> {
    fn open(
        &self,
        path: &WinPath,
        options: platform::OpenOptions,
    ) -> Result<Box<dyn platform::FileHandle>, platform::Error> {
        *self.opens.lock().unwrap().entry(path.folded()).or_default() += 1;
        if let Some(g) = &self.gate {
            g.looking_at(path);
        }
        let inner = self.inner.open(path, options)?;
        Ok(Box::new(CountingWrites {
            inner,
            key: path.folded(),
            counts: self.writes.clone(),
        }))
    }
    fn metadata(&self, path: &WinPath) -> Result<platform::Metadata, platform::Error> {
        if let Some(g) = &self.gate {
            g.looking_at(path);
        }
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
        if let Some(g) = &self.gate {
            g.renaming_into(to);
        }
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
        count(&self.writes.times_by_path, &path.folded());
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
    let dest = CountingOpens::new(&host);
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

/// A rebuilt file gets its source times through the handle it was written with, as the engine
/// finishes it, not by a lookup of its path afterwards; a destination whose handles cannot set
/// times gets them on the path instead. Either way the times are the source's.
#[test]
fn rebuilt_files_get_their_times_through_their_handle() {
    let src = tempfile::tempdir().unwrap();
    let originals = volume_folder(src.path(), 68);
    let host_of = |root: &std::path::Path, p: &WinPath| {
        let mut h = root.to_owned();
        h.extend(p.components());
        h
    };
    let times = |h: &std::path::Path| {
        let md = std::fs::metadata(h).unwrap();
        (md.modified().unwrap(), md.accessed().unwrap())
    };
    for through_handles in [true, false] {
        let out = tempfile::tempdir().unwrap();
        let host = HostVolume::new(out.path()).unwrap();
        let dest = if through_handles {
            CountingOpens::setting_times(&host)
        } else {
            CountingOpens::new(&host)
        };
        let report = restore_into(src.path(), &dest, &TreeOptions::default());
        assert_eq!(
            report.count(EntryStatus::Restored),
            4,
            "{:#?}",
            report.entries
        );
        let by_handle = std::mem::take(&mut *dest.writes.times_by_handle.lock().unwrap());
        let by_path = std::mem::take(&mut *dest.writes.times_by_path.lock().unwrap());
        for (p, bytes) in &originals[..4] {
            let temp = format!("{}.REHYDRATE~0", p.folded());
            let (handle, path) = (by_handle.get(&temp), by_path.get(&p.folded()));
            if through_handles {
                assert_eq!((handle, path), (Some(&1), None), "{p}: times set how often");
            } else {
                assert_eq!((handle, path), (None, Some(&1)), "{p}: times set how often");
            }
            assert_eq!(
                times(&host_of(out.path(), p)),
                times(&host_of(src.path(), p)),
                "{p}: the source's times (handles: {through_handles})"
            );
            // Read after the times are compared: reading moves the access time.
            assert_eq!(&read_host(out.path(), p), bytes, "{p}");
        }
    }
}

/// Restores a volume folder in batches of one file on two workers, the first dedup file's
/// rename into place held (up to 10 s) until the destination is asked about the path
/// `awaited` names (from the dedup files' folded paths in walk order), by a slot check or an
/// open; every file must come back all the same. Whether it was asked while the rename
/// waited, and the two paths.
fn first_rename_waits_for(awaited: impl Fn(&[String]) -> String) -> (bool, String, String) {
    let src = tempfile::tempdir().unwrap();
    let originals = volume_folder(src.path(), 70);
    let out = tempfile::tempdir().unwrap();
    let host = HostVolume::new(out.path()).unwrap();
    // The dedup files in walk order (sorted, folders in place).
    let mut dedup: Vec<String> = originals[..4].iter().map(|(p, _)| p.folded()).collect();
    dedup.sort();
    let (first, second) = (dedup[0].clone(), awaited(&dedup));
    let dest = CountingOpens {
        gate: Some(Gate {
            first: first.clone(),
            second: second.clone(),
            ..Gate::default()
        }),
        ..CountingOpens::new(&host)
    };
    let opts = TreeOptions {
        batch_files: 1,
        ..TreeOptions::default()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let report = pool.install(|| restore_into(src.path(), &dest, &opts));
    assert_all_back(&report, 4, out.path(), &originals);
    let seen = dest
        .gate
        .as_ref()
        .unwrap()
        .seen_while_waiting
        .load(Ordering::SeqCst);
    (seen, first, second)
}

/// The next batch is staged while the engine rebuilds the current one: with batches of one
/// file, the second file's slot is looked at while the first file's rename into place waits
/// for exactly that (one batch after the other, it waited in vain and the files came back
/// all the same).
#[test]
fn the_next_batch_is_staged_while_the_engine_rebuilds_this_one() {
    let (seen, first, second) = first_rename_waits_for(|dedup| dedup[1].clone());
    assert!(
        seen,
        "{second} was not looked at while {first} waited to be renamed into place"
    );
}

/// Two batches are rebuilt at once: with batches of one file, the engine of the second
/// creates its file's temporary sibling while the first file's rename into place waits for
/// exactly that (the second batch's engine starting only after the first's end, it waited in
/// vain).
#[test]
fn two_engine_batches_are_rebuilt_at_once() {
    let (seen, first, second) = first_rename_waits_for(|dedup| format!("{}.REHYDRATE~0", dedup[1]));
    assert!(
        seen,
        "{second} was not created while {first} waited to be renamed into place"
    );
}

/// Two workers never write one file at once: a host file system makes the second wait for the
/// first's inode lock, spinning in the kernel (9 % of the CPU time of a restore of a few large
/// files). The one writing takes the other's chunk instead. Four workers rebuild one file of
/// many chunks, each write taking 2 ms: without the hand-over they meet on most writes.
/// A volume folder holding one dedup file of `mib` MiB of random bytes (many chunks); returns
/// its path and bytes.
fn one_big_file(src: &std::path::Path, mib: usize) -> (WinPath, Vec<u8>) {
    let mut data = Vec::new();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    while data.len() < mib << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    let path = wp("\\big.bin");
    let vol = optimized_volume(5, &[(path.clone(), data.clone())], LayoutVersion::V3);
    winsim::host::export_volume(&vol, src).unwrap();
    (path, data)
}

#[test]
fn a_file_is_written_by_one_worker_at_a_time() {
    let src = tempfile::tempdir().unwrap();
    let (path, data) = one_big_file(src.path(), 6);
    let out = tempfile::tempdir().unwrap();
    let host = HostVolume::new(out.path()).unwrap();
    let dest = CountingOpens::new(&host);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    let report = pool.install(|| restore_into(src.path(), &dest, &TreeOptions::default()));
    assert_eq!(
        report.count(EntryStatus::Restored),
        1,
        "{:#?}",
        report.entries
    );
    assert!(
        read_host(out.path(), &path) == data,
        "restored bytes differ"
    );
    let writes = dest.writes.total.load(Ordering::SeqCst);
    assert!(
        writes >= 40,
        "only {writes} writes: not a file of many chunks"
    );
    assert_eq!(dest.writes.most_at_once.load(Ordering::SeqCst), 1);
}

/// A progress callback that panics while workers hand chunks to one file's writer: the panic
/// reaches the caller, and no worker is left waiting for room in that file's queue (the
/// writer lets the file go as it unwinds). The callback first waits, so that the other workers
/// fill the queue and wait for room; without the letting go the restore never returns.
#[test]
fn a_panicking_progress_callback_reaches_the_caller() {
    let src = tempfile::tempdir().unwrap();
    // More than a read window of chunks, so that more than a queue's worth waits.
    one_big_file(src.path(), 12);
    let calls = Arc::new(AtomicUsize::new(0));
    let progress: dedup_restore::ProgressFn = {
        let calls = calls.clone();
        Arc::new(move |_| {
            if calls.fetch_add(1, Ordering::SeqCst) == 2 {
                std::thread::sleep(std::time::Duration::from_millis(500));
                panic!("the progress callback panics");
            }
        })
    };
    let mut opts = TreeOptions::default();
    opts.restore.progress = Some(progress);
    let (tx, rx) = std::sync::mpsc::channel();
    let src_path = src.path().to_owned();
    std::thread::spawn(move || {
        let out = tempfile::tempdir().unwrap();
        let host = HostVolume::new(out.path()).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.install(|| restore_into(&src_path, &host, &opts))
        }));
        tx.send(r.is_err()).unwrap();
    });
    let panicked = rx
        .recv_timeout(std::time::Duration::from_mins(2))
        .expect("the restore hung: a worker waits for a file whose writer panicked");
    assert!(panicked, "the restore did not panic");
    assert!(calls.load(Ordering::SeqCst) > 2);
}
