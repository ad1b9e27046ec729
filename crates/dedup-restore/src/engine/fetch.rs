//! The read scheduler: follows the store's plan extent by extent, coalesces and announces the
//! reads, puts cut records together and hands complete records to the workers.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use dedup_store::RecordHeader;
use platform::WinPath;

use super::Engine;
use super::job::{ContainerRef, Fail, Need, NeedState};
use super::lanes::ChunkSink;
use crate::plan::{Piece, Read, coalesce_avoiding, normalise_plan};
use crate::store::{ContainerExtent, FileExtent, StoreError};

/// The bookkeeping of one [`Engine::fetch`]: where it is in the plan and what each need has
/// been given so far.
pub(super) struct FetchState {
    /// The plan extents not yet started.
    pub(super) extents: std::vec::IntoIter<ContainerExtent>,
    /// The extent being read: its container and the reads of it still to make.
    pub(super) current: Option<(usize, VecDeque<Read>)>,
    /// The needs of each container (after its preparation, only those with a place to read).
    pub(super) by_container: BTreeMap<usize, Vec<usize>>,
    /// Containers whose fixed area has been read (or tried).
    pub(super) prepared: Vec<bool>,
    /// Needs only a scan of their container can find.
    pub(super) scan: Vec<usize>,
    /// Needs given to `process` or failed: a later extent does not read them again.
    pub(super) served: Vec<bool>,
    /// Records being assembled from pieces of several extents: bytes so far, bytes filled.
    pub(super) assembly: HashMap<usize, (Vec<u8>, u64)>,
    /// Bytes reserved for records being assembled. A plan that cuts many records at once would
    /// otherwise hold them all: past the window (and with at least one such record in
    /// progress) a cut record is left for the final whole-container pass instead.
    pub(super) assembling: u64,
    /// Needs whose bytes count in `assembling`.
    pub(super) reserved: Vec<bool>,
    /// Per container, the ranges read so far (start → end), so that no byte is read twice.
    pub(super) done_ranges: Vec<BTreeMap<u64, u64>>,
    /// How much of each need has been covered (so later extents skip what earlier ones read).
    pub(super) covered: Vec<Vec<(u64, u64)>>,
}

impl FetchState {
    /// Need `ni` (of `len` bytes) failed: it is served, and any partial assembly dropped.
    pub(super) fn give_up(&mut self, ni: usize, len: u64) {
        self.served[ni] = true;
        self.assembly.remove(&ni);
        if std::mem::take(&mut self.reserved[ni]) {
            self.assembling = self.assembling.saturating_sub(len);
        }
    }

    /// Files the pieces of read `r` (whose bytes are `buf`): a piece that is a whole record is
    /// ready as it lies in `buf`; a piece of a cut record is copied into its assembly, which is
    /// handed over once complete.
    fn assemble<'b>(&mut self, needs: &[Need], r: &Read, buf: &'b [u8]) -> Assembled<'b> {
        let mut out = Assembled {
            ready: Vec::new(),
            whole: Vec::new(),
        };
        for p in &r.pieces {
            self.covered[p.need].push((p.start, p.end));
            let n = &needs[p.need];
            let slice = &buf[(p.start - r.start) as usize..(p.end - r.start) as usize];
            if p.start == n.offset && p.end == n.offset + n.len {
                out.ready.push((p.need, slice));
            } else {
                let entry = self
                    .assembly
                    .entry(p.need)
                    .or_insert_with(|| (vec![0u8; n.len as usize], 0));
                entry.0[(p.start - n.offset) as usize..(p.end - n.offset) as usize]
                    .copy_from_slice(slice);
                entry.1 += p.end - p.start;
                if entry.1 == n.len {
                    let (bytes, _) = self.assembly.remove(&p.need).expect("present");
                    if std::mem::take(&mut self.reserved[p.need]) {
                        self.assembling = self.assembling.saturating_sub(n.len);
                    }
                    out.whole.push((p.need, bytes));
                }
            }
        }
        out
    }
}

/// The complete records one read yields ([`FetchState::assemble`]).
struct Assembled<'b> {
    /// Records read whole, as slices of the read buffer.
    ready: Vec<(usize, &'b [u8])>,
    /// Records completed from pieces of several reads.
    whole: Vec<(usize, Vec<u8>)>,
}

/// Largest decode buffer a worker keeps between chunks (chunks are at most 128 KiB on every
/// observed volume; a buffer grown past this for one chunk is given back).
pub(super) const SCRATCH_KEEP: usize = 1 << 20;

/// Decode buffers, a small pool per worker thread of the pool a [`Engine::fetch`] runs in, kept
/// for the whole fetch (a fresh one per parallel job would be allocated and zeroed again and
/// again: `decode_payload` grows its buffer with zeros). A worker decoding a group of chunks
/// before hashing them together needs one per chunk of the group.
pub(super) struct Scratch(Vec<Mutex<Vec<Vec<u8>>>>);

impl Scratch {
    pub(super) fn new() -> Self {
        Self(
            (0..rayon::current_num_threads())
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
        )
    }

    /// Runs `f` with this thread's buffer.
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        self.with_many(1, |bufs| f(&mut bufs[0]))
    }

    /// Runs `f` with `n` of this thread's buffers (fresh ones outside the pool, or when the
    /// thread's buffers are in use further up its stack: a job stolen while a record is
    /// processed).
    pub(super) fn with_many<R>(&self, n: usize, f: impl FnOnce(&mut [Vec<u8>]) -> R) -> R {
        if let Some(slot) = rayon::current_thread_index().and_then(|i| self.0.get(i))
            && let Ok(mut bufs) = slot.try_lock()
        {
            if bufs.len() < n {
                bufs.resize_with(n, Vec::new);
            }
            let r = f(&mut bufs[..n]);
            // A rare large chunk does not keep its room: memory stays with the typical size.
            for buf in bufs.iter_mut() {
                if buf.capacity() > SCRATCH_KEEP {
                    *buf = Vec::new();
                }
            }
            return r;
        }
        let mut fresh: Vec<Vec<u8>> = (0..n).map(|_| Vec::new()).collect();
        f(&mut fresh)
    }
}

/// How a fetch hands over the records it reads.
pub(super) enum Process<'a> {
    /// Each record as stored, one at a time (the stream-map phase decodes them itself).
    Record(&'a RecordFn<'a>),
    /// Data chunks, decoded and hash-checked by the fetch in groups (see [`lanes`]).
    Chunks(&'a ChunkSink<'a>),
}

/// Called for each verified record a need asked for: `(need index, need, container, record
/// header, payload, scratch buffer)`.
pub(super) type RecordFn<'a> = dyn Fn(usize, &Need, &ContainerRef, &RecordHeader, &[u8], &mut Vec<u8>) -> Result<(), Fail>
    + Sync
    + 'a;

/// Fewer chunks than this from a read are held for the next read's rather than hashed alone:
/// one or two chunks go to `sha2` one at a time (a busy SIMD lane is slower than `sha2`), and a
/// restore of many small files makes many such reads (179 of its 379 on 20,000 files).
const CARRY_BELOW: usize = 3;

/// Most bytes held that way (the window bounds the rest of a fetch's memory; this is small).
const CARRY_BYTES: usize = 1 << 20;

/// Whether `work` (a read's records, with any held before) is held for the next read's.
fn should_carry(work: &[(usize, &[u8])], process: &Process<'_>) -> bool {
    matches!(process, Process::Chunks(_))
        && !work.is_empty()
        && work.len() < CARRY_BELOW
        && work.iter().map(|(_, b)| b.len()).sum::<usize>() <= CARRY_BYTES
}

impl Engine<'_> {
    /// Reads the records `needs` ask for from `containers` through the store, following the
    /// protocol, and calls `process` for each record found (in parallel). Returns each need's
    /// state (done, or why not).
    pub(super) fn fetch(
        &self,
        containers: &mut [ContainerRef],
        needs: &mut [Need],
        process: &Process<'_>,
    ) -> Vec<NeedState> {
        let states: Vec<NeedState> = needs.iter().map(|_| NeedState::default()).collect();
        if containers.is_empty() {
            return states;
        }
        let Some(mut st) = self.plan_fetch(containers, needs, &states) else {
            return states;
        };
        // Read buffers, reused across reads (a fresh one would page-fault on every read).
        let mut buf: Vec<u8> = Vec::new();
        let scratch = Scratch::new();
        let mut next_buf: Vec<u8> = Vec::new();
        // The next read (of the same extent or, once that one's reads are all made, the first of
        // the next extent that has any), done into `next_buf` while the current one's records
        // are processed, with its container and result. Planning the next extent (its fixed
        // area, its preview) before the current records are processed changes nothing the
        // store sees: its calls come in the same order, only the decoding overlaps them.
        let mut prefetched: Option<(usize, Read, Result<(), StoreError>)> = None;
        // Records of reads that delivered too few to fill the hashing lanes, copied and held
        // for the next read's (see `CARRY_BELOW`).
        let mut carry: Vec<(usize, Vec<u8>)> = Vec::new();
        loop {
            let (ci, r, result) = if let Some(p) = prefetched.take() {
                std::mem::swap(&mut buf, &mut next_buf);
                p
            } else {
                let Some((ci, r)) = self.next_read(&mut st, containers, needs, &states) else {
                    break;
                };
                let len = (r.end - r.start) as usize;
                let result = self.read(
                    &containers[ci].path,
                    r.start,
                    read_buf(&mut buf, len, self.opts.window),
                );
                (ci, r, result)
            };
            if let Err(e) = result {
                self.read_failed(&mut st, containers, needs, &states, ci, &r, &e);
                continue;
            }
            st.done_ranges[ci].insert(r.start, r.end);
            let assembled = st.assemble(needs, &r, &buf);
            let carried = std::mem::take(&mut carry);
            let work: Vec<(usize, &[u8])> = carried
                .iter()
                .map(|(ni, b)| (*ni, &b[..]))
                .chain(assembled.ready)
                .chain(assembled.whole.iter().map(|(ni, b)| (*ni, &b[..])))
                .collect();
            for (ni, _) in &work {
                st.served[*ni] = true;
            }
            if let Some((next_ci, next)) = self.next_read(&mut st, containers, needs, &states) {
                let len = (next.end - next.start) as usize;
                let into = read_buf(&mut next_buf, len, self.opts.window);
                if should_carry(&work, process) {
                    carry = work.iter().map(|(ni, b)| (*ni, b.to_vec())).collect();
                    let result = self.read(&containers[next_ci].path, next.start, into);
                    prefetched = Some((next_ci, next, result));
                    continue;
                }
                let (containers, needs) = (&*containers, &*needs);
                let ((), result) = rayon::join(
                    || Self::run_batch(containers, needs, &states, &work, &scratch, process),
                    || self.read(&containers[next_ci].path, next.start, into),
                );
                prefetched = Some((next_ci, next, result));
            } else {
                Self::run_batch(containers, needs, &states, &work, &scratch, process);
            }
        }
        // Held records whose next read failed, with no read after it.
        if !carry.is_empty() {
            let work: Vec<(usize, &[u8])> = carry.iter().map(|(ni, b)| (*ni, &b[..])).collect();
            Self::run_batch(containers, needs, &states, &work, &scratch, process);
        }
        let scan = Self::scan_list(st.scan, containers, needs, &states);
        if !scan.is_empty() {
            self.scan(containers, needs, &states, &scan, &scratch, process);
        }
        states
    }

    /// Asks the store for its order and sets up the bookkeeping of a fetch; `None` (with every
    /// need failed) when the store gives no order.
    fn plan_fetch(
        &self,
        containers: &[ContainerRef],
        needs: &[Need],
        states: &[NeedState],
    ) -> Option<FetchState> {
        let paths: Vec<WinPath> = containers.iter().map(|c| c.path.clone()).collect();
        let plan = match self.store.order_containers_restore(&paths) {
            Ok(p) => normalise_plan(p, containers.len()),
            Err(e) => {
                for s in states {
                    s.set_fail(Fail::from_store(&e));
                }
                return None;
            }
        };
        // The records, extent by extent in plan order; then anything the plan missed (one
        // whole-container extent per container, of which only the parts not yet read are read).
        // A container's fixed area (header slots, redirection tables) is read just before the
        // first extent that visits it, so the redirection table is known before any record of
        // it is read and a plan is followed in one pass.
        let mut extents = plan;
        extents.extend((0..containers.len()).map(|ci| ContainerExtent {
            container_index: ci as u32,
            start: 0,
            length: u64::MAX,
        }));
        let mut by_container: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (ni, n) in needs.iter().enumerate() {
            by_container.entry(n.container).or_default().push(ni);
        }
        Some(FetchState {
            extents: extents.into_iter(),
            current: None,
            by_container,
            prepared: vec![false; containers.len()],
            scan: Vec::new(),
            served: vec![false; needs.len()],
            assembly: HashMap::new(),
            assembling: 0,
            reserved: vec![false; needs.len()],
            done_ranges: vec![BTreeMap::new(); containers.len()],
            covered: vec![Vec::new(); needs.len()],
        })
    }

    /// Read `r` of container `ci` failed with `e`. A coalesced read is retried record by
    /// record (announced by a new preview together with the reads still pending), so that a
    /// damaged or missing range fails only the records in it. (The extent being read is still
    /// the current one: the next is only planned after a read succeeds.) Otherwise every
    /// record of the read fails.
    #[allow(clippy::too_many_arguments)] // the fetch's whole state, passed apart to split borrows
    fn read_failed(
        &self,
        st: &mut FetchState,
        containers: &[ContainerRef],
        needs: &[Need],
        states: &[NeedState],
        ci: usize,
        r: &Read,
        e: &StoreError,
    ) {
        if r.pieces.len() > 1
            && let Some((cur, queue)) = st.current.as_mut()
            && *cur == ci
        {
            let singles: Vec<Read> = r
                .pieces
                .iter()
                .map(|p| Read {
                    start: p.start,
                    end: p.end,
                    pieces: vec![*p],
                })
                .collect();
            let announce: Vec<FileExtent> = singles
                .iter()
                .chain(queue.iter())
                .map(|r| FileExtent {
                    offset: r.start,
                    length: r.end - r.start,
                })
                .collect();
            if self.preview(&containers[ci].path, &announce).is_ok() {
                for one in singles.into_iter().rev() {
                    queue.push_front(one);
                }
                return;
            }
        }
        for p in &r.pieces {
            let mut f = Fail::from_store(e);
            f.retry_scan = e.past_end;
            f.sticky = e.past_end;
            states[p.need].set_fail(f);
            st.give_up(p.need, needs[p.need].len);
        }
    }

    /// The needs to look for by walking their containers: those the fetch could not place and
    /// those that did not match where expected (or could not be read there), when their
    /// container's fixed area was read.
    fn scan_list(
        mut scan: Vec<usize>,
        containers: &[ContainerRef],
        needs: &[Need],
        states: &[NeedState],
    ) -> Vec<usize> {
        for (ni, s) in states.iter().enumerate() {
            if !s.done.load(Ordering::Acquire)
                && s.take_fail().is_some_and(|f| f.retry_scan)
                && containers[needs[ni].container].fixed.is_some()
                && !scan.contains(&ni)
            {
                scan.push(ni);
            }
        }
        scan
    }

    /// The next read of a [`fetch`](Self::fetch): the current extent's next one, or else the
    /// first of the next extent in plan order that has any (preparing its container on the
    /// first visit: fixed area and record offsets; announcing the extent's reads by a preview).
    /// `None` when every extent is done.
    pub(super) fn next_read(
        &self,
        st: &mut FetchState,
        containers: &mut [ContainerRef],
        needs: &mut [Need],
        states: &[NeedState],
    ) -> Option<(usize, Read)> {
        loop {
            if let Some((ci, queue)) = st.current.as_mut()
                && let Some(r) = queue.pop_front()
            {
                return Some((*ci, r));
            }
            let e = st.extents.next()?;
            let ci = e.container_index as usize;
            if !st.prepared[ci] {
                st.prepared[ci] = true;
                if let Some(list) = st.by_container.get_mut(&ci) {
                    self.load_fixed(&mut containers[ci]);
                    list.retain(|&ni| {
                        self.resolve_offset(&containers[ci], &mut needs[ni], &states[ni]) || {
                            if containers[ci].fixed.is_some() {
                                st.scan.push(ni);
                            }
                            false
                        }
                    });
                }
            }
            let Some(list) = st.by_container.get(&ci) else {
                continue;
            };
            let mut pieces = Vec::new();
            for &ni in list {
                // Done, or failed: a failed read is not repeated by a later extent.
                if st.served[ni] {
                    continue;
                }
                let n = &needs[ni];
                let (s, t) = (n.offset.max(e.start), (n.offset + n.len).min(e.end()));
                if s >= t {
                    continue;
                }
                let cut = s > n.offset || t < n.offset + n.len;
                if cut && st.covered[ni].is_empty() {
                    if st.assembling > 0 && st.assembling + n.len > self.opts.window as u64 {
                        continue;
                    }
                    st.assembling += n.len;
                    st.reserved[ni] = true;
                }
                // Subtract what earlier extents already covered.
                for (a, b) in uncovered(&st.covered[ni], s, t) {
                    pieces.push(Piece {
                        need: ni,
                        start: a,
                        end: b,
                    });
                }
            }
            if pieces.is_empty() {
                continue;
            }
            let reads = coalesce_avoiding(
                pieces,
                self.opts.coalesce_gap,
                self.opts.window as u64,
                &st.done_ranges[ci],
            );
            let extents_list: Vec<FileExtent> = reads
                .iter()
                .map(|r| FileExtent {
                    offset: r.start,
                    length: r.end - r.start,
                })
                .collect();
            if let Err(e) = self.preview(&containers[ci].path, &extents_list) {
                for r in &reads {
                    for p in &r.pieces {
                        states[p.need].set_fail(Fail::from_store(&e));
                        st.give_up(p.need, needs[p.need].len);
                    }
                }
                continue;
            }
            st.current = Some((ci, reads.into()));
        }
    }
}

/// The first `len` bytes of `buf`, grown (never shrunk, so not zeroed again) as needed; what
/// it held is not kept. A buffer that must grow takes at least twice its size and, once reads
/// are large, the whole `window` at once, up to which coalesced reads grow: growing to each
/// slightly larger read (up to 8 times per buffer in a 1 GiB restore) faulted in ~240 MB of
/// fresh pages, 6 % of the restore's CPU time (`perf record -e page-faults`).
pub(super) fn read_buf(buf: &mut Vec<u8>, len: usize, window: usize) -> &mut [u8] {
    if buf.len() < len {
        let grown = (buf.len().saturating_mul(2))
            .max(if len >= window / 2 { window } else { 0 })
            .min(window)
            .max(len);
        // A fresh zeroed allocation rather than `resize`: the old bytes need not be kept (no
        // copy), and a large one comes straight from the kernel already zeroed (no memset).
        *buf = vec![0u8; grown];
    }
    &mut buf[..len]
}

/// The parts of `[s, t)` not in `covered`.
pub(super) fn uncovered(covered: &[(u64, u64)], s: u64, t: u64) -> Vec<(u64, u64)> {
    let mut out = vec![(s, t)];
    for &(a, b) in covered {
        out = out
            .into_iter()
            .flat_map(|(x, y)| {
                let mut v = Vec::new();
                if a >= y || b <= x {
                    v.push((x, y));
                } else {
                    if x < a {
                        v.push((x, a));
                    }
                    if b < y {
                        v.push((b, y));
                    }
                }
                v
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn uncovered_ranges() {
        assert_eq!(uncovered(&[], 0, 10), vec![(0, 10)]);
        assert_eq!(uncovered(&[(2, 4)], 0, 10), vec![(0, 2), (4, 10)]);
        assert_eq!(uncovered(&[(0, 10)], 0, 10), Vec::<(u64, u64)>::new());
        assert_eq!(uncovered(&[(5, 20), (0, 1)], 0, 10), vec![(1, 5)]);
    }
}
