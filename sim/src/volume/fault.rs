//! Fault injection ([`Fault`]): failing the n-th read or write, short reads, denied paths and a
//! disk-full capacity, armed on a [`SimVolume`] and checked by its handles.

use std::sync::atomic::Ordering;

use platform::{Error, WinPath};

use super::{SimVolume, lock};

/// A fault to inject into a [`SimVolume`] (see [`SimVolume::inject`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The `nth` `read_at` call (1-based, counted from when the fault is armed) on a file at or
    /// under `under` (any file when `None`) fails with an [`Error::Io`]; the fault then disarms.
    FailRead {
        /// Which matching read fails (1 = the next one).
        nth: u64,
        /// Only files at or under this path count.
        under: Option<WinPath>,
    },
    /// The `nth` `write_at` call on a matching file fails with an [`Error::Io`] and writes
    /// nothing; the fault then disarms.
    FailWrite {
        /// Which matching write fails (1 = the next one).
        nth: u64,
        /// Only files at or under this path count.
        under: Option<WinPath>,
    },
    /// Every `read_at` on a matching file returns at most `max` bytes (at least 1), until
    /// [`SimVolume::clear_faults`].
    ShortReads {
        /// Largest count one read returns.
        max: usize,
        /// Only files at or under this path are affected.
        under: Option<WinPath>,
    },
    /// Opening, creating, listing or creating a folder at or under `under` fails with
    /// [`Error::AccessDenied`] (what an ACL denying the caller gives), until
    /// [`SimVolume::clear_faults`].
    DenyAccess {
        /// The file or folder denied (with everything below it).
        under: WinPath,
    },
    /// The volume holds at most `capacity` bytes of allocated clusters: a write or extension
    /// that needs more fails with [`Error::DiskFull`] and changes nothing.
    DiskFull {
        /// Capacity in bytes.
        capacity: u64,
    },
}

/// A fault that fires at the `remaining`-th matching call.
#[derive(Debug, Clone)]
pub(super) struct Countdown {
    remaining: u64,
    under: Option<WinPath>,
}

/// The faults armed on a volume, and its I/O counts.
#[derive(Debug, Default)]
pub(super) struct Faults {
    /// [`Fault::FailRead`] countdowns.
    pub(super) fail_read: Vec<Countdown>,
    /// [`Fault::FailWrite`] countdowns.
    pub(super) fail_write: Vec<Countdown>,
    /// [`Fault::ShortReads`]: (largest count, under).
    pub(super) short_reads: Vec<(usize, Option<WinPath>)>,
    /// [`Fault::DenyAccess`] paths.
    denied: Vec<WinPath>,
    /// `read_at` calls so far.
    pub(super) reads: u64,
    /// `write_at` calls so far.
    pub(super) writes: u64,
}

/// Whether `path` is at or under `under` (any path when `None`).
pub(super) fn matches_under(under: Option<&WinPath>, path: &WinPath) -> bool {
    under.is_none_or(|u| path.starts_with(u))
}

impl Faults {
    /// Counts one call against every armed countdown that matches `path`; true if one of them
    /// reaches zero now (each fault counts its own calls, so two armed faults each fire at
    /// their own call even when a call fires another).
    pub(super) fn tick(list: &mut Vec<Countdown>, path: &WinPath) -> bool {
        let mut fired = false;
        list.retain_mut(|c| {
            if !matches_under(c.under.as_ref(), path) {
                return true;
            }
            c.remaining = c.remaining.saturating_sub(1);
            if c.remaining == 0 {
                fired = true;
                false
            } else {
                true
            }
        });
        fired
    }
}

/// Counts of I/O calls seen by a volume (for tests of fault plans).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IoCounts {
    /// `read_at` calls.
    pub reads: u64,
    /// `write_at` calls.
    pub writes: u64,
}

impl SimVolume {
    /// Arms a fault (see [`Fault`]). Several may be armed at once.
    ///
    /// # Panics
    /// If a countdown is 0 or a short-read maximum is 0.
    pub fn inject(&self, fault: Fault) {
        let mut f = lock(&self.shared.faults);
        match fault {
            Fault::FailRead { nth, under } => {
                assert!(nth > 0, "FailRead counts from 1");
                f.fail_read.push(Countdown {
                    remaining: nth,
                    under,
                });
            }
            Fault::FailWrite { nth, under } => {
                assert!(nth > 0, "FailWrite counts from 1");
                f.fail_write.push(Countdown {
                    remaining: nth,
                    under,
                });
            }
            Fault::ShortReads { max, under } => {
                assert!(max > 0, "a short read returns at least one byte");
                f.short_reads.push((max, under));
            }
            Fault::DenyAccess { under } => f.denied.push(under),
            Fault::DiskFull { capacity } => self.shared.capacity.store(capacity, Ordering::Relaxed),
        }
    }

    /// [`Fault::DenyAccess`]: refuses `path` when it is at or under a denied path.
    pub(super) fn check_access(&self, path: &WinPath) -> Result<(), Error> {
        if lock(&self.shared.faults)
            .denied
            .iter()
            .any(|d| path.starts_with(d))
        {
            return Err(Error::AccessDenied {
                path: path.clone(),
                reason: "an injected fault denies it",
            });
        }
        Ok(())
    }

    /// Disarms every fault and removes the capacity limit.
    pub fn clear_faults(&self) {
        let mut f = lock(&self.shared.faults);
        f.fail_read.clear();
        f.fail_write.clear();
        f.short_reads.clear();
        f.denied.clear();
        self.shared.capacity.store(u64::MAX, Ordering::Relaxed);
    }

    /// How many reads and writes the volume has served (or refused) so far.
    #[must_use]
    pub fn io_counts(&self) -> IoCounts {
        let f = lock(&self.shared.faults);
        IoCounts {
            reads: f.reads,
            writes: f.writes,
        }
    }
}
