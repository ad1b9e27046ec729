//! One writer per file at a time: a worker that finds another writing the same file queues its
//! chunk for that writer and goes on decoding, instead of waiting in the kernel.
//!
//! Why: a host file system takes a file's inode lock for the whole of a `pwrite` (tmpfs, ext4,
//! btrfs: the copy into the page cache happens under it), so two workers writing one file take
//! turns however many cores there are. The workers decode neighbouring chunks of a container,
//! which are neighbouring chunks of one file, so on a restore of a few large files they met
//! there all the time: 9 % of the CPU time of a 1 GB restore was the second worker spinning
//! on the lock (`rwsem_spin_on_owner`, `perf record`). Queued, a chunk costs a copy in memory
//! instead, and the worker holding the file writes it.
//!
//! Memory: each file's queue holds at most [`QUEUE_MAX`] bytes (a worker that finds it full
//! waits for the writer, as it did before), and only files being written have one, at most
//! one per worker.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// Most bytes queued for one file's writer.
pub(super) const QUEUE_MAX: usize = 4 << 20;

/// Chunks queued for a file's writer: (offset, bytes).
pub(super) type Queued = Vec<(u64, Vec<u8>)>;

/// The writing state of each file of a restore.
pub(super) struct FileWrites {
    files: Vec<Mutex<Slot>>,
    /// Signalled when a writer finishes, for workers waiting on a full queue.
    freed: Condvar,
}

#[derive(Default)]
struct Slot {
    /// A worker is writing the file (and will write what is queued).
    busy: bool,
    queue: Queued,
    queued_bytes: usize,
    /// Workers waiting for room in the queue (only then is the condition variable signalled:
    /// a signal is a system call, and most writes have nobody waiting).
    waiting: usize,
}

impl FileWrites {
    pub(super) fn new(files: usize) -> Self {
        Self {
            files: (0..files).map(|_| Mutex::default()).collect(),
            freed: Condvar::new(),
        }
    }

    fn slot(&self, fi: usize) -> MutexGuard<'_, Slot> {
        self.files[fi]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the caller is file `fi`'s writer now: `true`, and it writes `data` at `offset`
    /// itself and then what [`FileWrites::next`] gives it until `None`; `false` when another
    /// worker is writing the file and `data` was queued for it (a copy).
    pub(super) fn begin(&self, fi: usize, offset: u64, data: &[u8]) -> bool {
        let mut slot = self.slot(fi);
        loop {
            if !slot.busy {
                slot.busy = true;
                return true;
            }
            if slot.queued_bytes + data.len() <= QUEUE_MAX {
                slot.queue.push((offset, data.to_vec()));
                slot.queued_bytes += data.len();
                return false;
            }
            slot.waiting += 1;
            slot = self
                .freed
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
            slot.waiting -= 1;
        }
    }

    /// For file `fi`'s writer: the chunks queued since it last asked, or `None` when there are
    /// none, and then the file has no writer any more.
    pub(super) fn next(&self, fi: usize) -> Option<Queued> {
        let mut slot = self.slot(fi);
        let taken = if slot.queue.is_empty() {
            slot.busy = false;
            None
        } else {
            slot.queued_bytes = 0;
            Some(std::mem::take(&mut slot.queue))
        };
        let waiting = slot.waiting > 0;
        drop(slot);
        // Either way there is room now: a worker waiting on the full queue goes on.
        if waiting {
            self.freed.notify_all();
        }
        taken
    }

    /// Whether file `fi` has a writer (for tests: `begin` on a busy file with a full queue
    /// would wait).
    #[cfg(test)]
    fn busy(&self, fi: usize) -> bool {
        self.slot(fi).busy
    }

    /// To be held by file `fi`'s writer while it writes: should the writer unwind (a panicking
    /// progress callback or volume), the file is let go, its queue dropped, so that no worker
    /// waits for it forever and the panic reaches the caller instead of a hang.
    pub(super) fn held(&self, fi: usize) -> Held<'_> {
        Held { writes: self, fi }
    }
}

/// See [`FileWrites::held`].
pub(super) struct Held<'w> {
    writes: &'w FileWrites,
    fi: usize,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut slot = self.writes.slot(self.fi);
            slot.busy = false;
            slot.queue = Vec::new();
            slot.queued_bytes = 0;
            drop(slot);
            self.writes.freed.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_second_writer_queues_and_the_first_writes_its_chunk() {
        let w = FileWrites::new(2);
        assert!(w.begin(0, 0, b"first"));
        // File 0 is busy: its chunk is queued; file 1 is free.
        assert!(!w.begin(0, 5, b"second"));
        assert!(w.begin(1, 0, b"other"));
        assert_eq!(w.next(0), Some(vec![(5, b"second".to_vec())]));
        assert_eq!(w.next(0), None);
        // Free again: the next worker writes itself.
        assert!(w.begin(0, 11, b"third"));
        assert_eq!(w.next(0), None);
        assert_eq!(w.next(1), None);
    }

    #[test]
    fn a_writer_that_panics_lets_the_file_go() {
        let w = Arc::new(FileWrites::new(1));
        let panicked = {
            let w = w.clone();
            std::thread::spawn(move || {
                assert!(w.begin(0, 0, b"x"));
                let _held = w.held(0);
                assert!(!w.begin(0, 1, &vec![1u8; QUEUE_MAX]));
                panic!("a callback panics while the file is written");
            })
            .join()
        };
        assert!(panicked.is_err());
        // Not left busy with a full queue (where the next worker would wait forever): it
        // writes itself at once.
        assert!(!w.busy(0), "the file is still held");
        assert!(w.begin(0, 9, b"y"));
        assert_eq!(w.next(0), None);
    }

    #[test]
    fn a_full_queue_makes_the_worker_wait_for_the_writer() {
        let w = Arc::new(FileWrites::new(1));
        assert!(w.begin(0, 0, b"x"));
        let big = vec![7u8; QUEUE_MAX];
        assert!(!w.begin(0, 1, &big));
        // 0: still waiting; 1: queued its chunk; 2: became the writer.
        let outcome = Arc::new(AtomicUsize::new(0));
        let t = {
            let (w, outcome) = (w.clone(), outcome.clone());
            std::thread::spawn(move || {
                let mine = w.begin(0, 1 + QUEUE_MAX as u64, b"y");
                outcome.store(if mine { 2 } else { 1 }, Ordering::SeqCst);
                if mine {
                    assert_eq!(w.next(0), None);
                }
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(outcome.load(Ordering::SeqCst), 0, "did not wait");
        let mut written = Vec::new();
        while let Some(q) = w.next(0) {
            written.extend(q);
        }
        t.join().unwrap();
        assert_eq!(written[0].1.len(), QUEUE_MAX);
        // Its chunk was queued once there was room and written by the writer, or it became
        // the writer itself: written exactly once either way.
        let queued_y = written
            .iter()
            .any(|(o, d)| *o == 1 + QUEUE_MAX as u64 && d == b"y");
        assert_eq!(queued_y, outcome.load(Ordering::SeqCst) == 1);
        assert_ne!(outcome.load(Ordering::SeqCst), 0);
    }
}
