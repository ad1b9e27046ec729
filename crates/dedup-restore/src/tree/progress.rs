//! The progress of a tree restore: the bytes and files of the finished engine batches and of
//! the files placed otherwise, plus what each engine batch in flight has reported so far (at
//! most two run at once, see `Run::place_and_rebuild`), each in a slot of its own.
//!
//! The sum can step back for a moment, when a batch's slot is cleared just before its figures
//! are added to the finished ones while the other batch reports; what is shown never does.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::engine::{Phase, Progress, ProgressFn, RestoreOptions};

/// Bytes and files, added up from several threads.
#[derive(Default)]
struct Counts {
    bytes: AtomicU64,
    files: AtomicU64,
}

impl Counts {
    fn set(&self, bytes: u64, files: u64) {
        self.bytes.store(bytes, Ordering::SeqCst);
        self.files.store(files, Ordering::SeqCst);
    }
}

/// See the module docs.
pub(super) struct TreeProgress {
    outer: Option<ProgressFn>,
    total: u64,
    files_total: u64,
    done: Counts,
    /// What the engine batch in each slot has reported.
    in_flight: [Counts; 2],
    /// The most shown so far.
    shown: Counts,
}

impl TreeProgress {
    /// Reports to `outer` (none: nothing is reported) against these totals.
    pub(super) fn new(outer: Option<ProgressFn>, total: u64, files_total: u64) -> Arc<Self> {
        Arc::new(Self {
            outer,
            total,
            files_total,
            done: Counts::default(),
            in_flight: Default::default(),
            shown: Counts::default(),
        })
    }

    /// Adds finished bytes and files, and reports.
    pub(super) fn add(&self, bytes: u64, files: u64, phase: Phase) {
        self.done.bytes.fetch_add(bytes, Ordering::SeqCst);
        self.done.files.fetch_add(files, Ordering::SeqCst);
        self.report(phase);
    }

    /// The engine batch in `slot` is finished: its bytes and files count as done, in place of
    /// what it reported.
    pub(super) fn batch_done(&self, slot: usize, bytes: u64, files: u64) {
        self.in_flight[slot].set(0, 0);
        self.add(bytes, files, Phase::Copying);
    }

    /// `restore` with a progress callback (where it has one) that keeps the engine's figures
    /// in `slot` and reports the whole tree's.
    pub(super) fn engine_options(
        self: &Arc<Self>,
        restore: &RestoreOptions,
        slot: usize,
    ) -> RestoreOptions {
        let mut opts = restore.clone();
        if self.outer.is_some() {
            let me = Arc::clone(self);
            let f: ProgressFn = Arc::new(move |p: Progress| {
                me.in_flight[slot].set(p.bytes_done, p.files_done);
                me.report(p.phase);
            });
            opts.progress = Some(f);
        }
        opts
    }

    /// The finished figures are read before the slots, and a slot is cleared before its batch
    /// is added to them (all sequentially consistent): a report that sees a batch finished
    /// sees its slot cleared, so no batch counts twice; the totals bound what is shown all the
    /// same.
    fn report(&self, phase: Phase) {
        let Some(outer) = &self.outer else {
            return;
        };
        let sum = |f: fn(&Counts) -> &AtomicU64, total: u64| {
            let now = f(&self.done).load(Ordering::SeqCst)
                + self
                    .in_flight
                    .iter()
                    .map(|c| f(c).load(Ordering::SeqCst))
                    .sum::<u64>();
            let now = now.min(total);
            f(&self.shown).fetch_max(now, Ordering::SeqCst).max(now)
        };
        outer(Progress {
            bytes_done: sum(|c| &c.bytes, self.total),
            bytes_total: self.total,
            files_done: sum(|c| &c.files, self.files_total),
            files_total: self.files_total,
            phase,
        });
    }
}
