//! Records in a container: its fixed area, where a record is (redirection table), whether the
//! bytes read are the record wanted, and the last-resort walk of a whole container.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;

use dedup_store::{
    Compression, FIXED_AREA_LEN, FixedArea, RecordHeader, RecordType, parse_record_header,
};
use rayon::prelude::*;

use super::Engine;
use super::fetch::{Process, Scratch};
use super::job::{ContainerRef, Fail, Need, NeedKind, NeedState};
use crate::error::{FileError, RecordProblem};
use crate::store::FileExtent;

impl Engine<'_> {
    /// Reads and validates a container's fixed area (announced by its own preview), and checks
    /// that its header names the container the file name says.
    pub(super) fn load_fixed(&self, c: &mut ContainerRef) {
        let mut buf = vec![0u8; FIXED_AREA_LEN];
        let r = self
            .preview(
                &c.path,
                &[FileExtent {
                    offset: 0,
                    length: FIXED_AREA_LEN as u64,
                }],
            )
            .and_then(|()| self.read(&c.path, 0, &mut buf));
        match r {
            Err(e) => c.failure = Some(Fail::from_store(&e)),
            Ok(()) => match FixedArea::parse(&c.name, &buf) {
                Err(e) => c.failure = Some(Fail::from_container(&e)),
                Ok(fa) if fa.header.container_id != c.expected_id => {
                    c.failure = Some(Fail::new(FileError::ContainerIdMismatch {
                        container: c.name.clone(),
                        header_id: fa.header.container_id,
                        name_id: c.expected_id,
                    }));
                }
                Ok(fa) => c.fixed = Some(fa),
            },
        }
    }

    /// Where `n` is to be read: the redirection table wins over the hint. False (with the
    /// need's failure set) when the container could not be used or the place is outside the
    /// records area (then only a scan can find the record).
    pub(super) fn resolve_offset(&self, c: &ContainerRef, n: &mut Need, state: &NeedState) -> bool {
        match (&c.fixed, &c.failure) {
            (_, Some(f)) => {
                state.set_fail(f.clone());
                false
            }
            (None, None) => {
                state.set_fail(Fail::new(FileError::Internal("container not read")));
                false
            }
            (Some(_), None) if n.len > self.max_record_len() => {
                state.set_fail(Fail::new(FileError::RecordTooLong {
                    container: c.name.clone(),
                    local_id: n.local_id,
                    len: n.len,
                }));
                false
            }
            (Some(fa), None) => {
                if let Some(off) = fa.redirection.lookup(n.local_id)
                    && u64::from(off) != n.offset
                {
                    n.offset = u64::from(off);
                    self.redirected.fetch_add(1, Ordering::Relaxed);
                }
                if n.offset < FIXED_AREA_LEN as u64
                    || n.offset.saturating_add(n.len) > fa.header.valid_data_length
                {
                    state.set_fail(Fail::mismatch(FileError::OutsideRecords {
                        container: c.name.clone(),
                        local_id: n.local_id,
                        offset: n.offset,
                        len: n.len,
                        vdl: fa.header.valid_data_length,
                    }));
                    false
                } else {
                    true
                }
            }
        }
    }

    /// Validates and processes complete records in parallel.
    pub(super) fn run_batch(
        containers: &[ContainerRef],
        needs: &[Need],
        states: &[NeedState],
        work: &[(usize, &[u8])],
        scratch: &Scratch,
        process: &Process<'_>,
    ) {
        let process = match process {
            Process::Record(f) => *f,
            Process::Chunks(sink) => return sink.run(containers, needs, states, work, scratch),
        };
        work.par_iter().for_each(|(ni, bytes)| {
            scratch.with(|scratch| {
                let n = &needs[*ni];
                let c = &containers[n.container];
                let vdl = c.fixed.as_ref().map_or(0, |f| f.header.valid_data_length);
                let r = match check_record(c, n, bytes, n.offset, vdl) {
                    Ok(rec) => {
                        let stored =
                            &bytes[rec.header_len()..rec.header_len() + rec.stored_size as usize];
                        process(*ni, n, c, &rec, stored, scratch)
                    }
                    Err(f) => Err(f),
                };
                match r {
                    Ok(()) => states[*ni].done.store(true, Ordering::Release),
                    Err(f) => states[*ni].set_fail(f),
                }
            });
        });
    }

    /// Last resort: walk every record of the containers holding `scan` needs.
    pub(super) fn scan(
        &self,
        containers: &[ContainerRef],
        needs: &[Need],
        states: &[NeedState],
        scan: &[usize],
        scratch: &Scratch,
        process: &Process<'_>,
    ) {
        let mut by_container: BTreeMap<usize, Wanted> = BTreeMap::new();
        for &ni in scan {
            by_container
                .entry(needs[ni].container)
                .or_default()
                .entry(needs[ni].local_id)
                .or_default()
                .push(ni);
        }
        for (ci, wanted) in by_container {
            let c = &containers[ci];
            let Some(fa) = &c.fixed else { continue };
            let vdl = fa.header.valid_data_length;
            let window = (self.opts.window as u64).max(1 << 20);
            let mut pos = FIXED_AREA_LEN as u64;
            let mut buf = Vec::new();
            while pos < vdl {
                let end = vdl.min(pos + window);
                if self
                    .preview(
                        &c.path,
                        &[FileExtent {
                            offset: pos,
                            length: end - pos,
                        }],
                    )
                    .is_err()
                {
                    break;
                }
                buf.resize((end - pos) as usize, 0);
                if self.read(&c.path, pos, &mut buf).is_err() {
                    break;
                }
                let (found, p) = self.walk_window(c, &wanted, &buf, pos, end);
                self.process_found(c, needs, states, &found, scratch, process);
                if p <= pos {
                    break;
                }
                pos = p;
            }
        }
        Self::not_found(containers, needs, states, scan);
    }

    /// Walks the records in `buf` (container bytes `pos..end`, within the container's valid
    /// data), collecting those `wanted`. Returns them and where the walk stopped: the start of
    /// the first record that does not fit (the next window starts there).
    fn walk_window(
        &self,
        c: &ContainerRef,
        wanted: &Wanted,
        buf: &[u8],
        pos: u64,
        end: u64,
    ) -> (Found, u64) {
        let vdl = c.fixed.as_ref().map_or(0, |f| f.header.valid_data_length);
        let mut p = pos;
        let mut work: Found = Vec::new();
        loop {
            if p >= end {
                break;
            }
            let rec = match parse_record_header(&c.name, buf, pos, p, vdl) {
                Ok(r) => r,
                Err(_) if p + 0x68 > end && end < vdl => break,
                Err(_) => {
                    p += 8;
                    continue;
                }
            };
            let rec_end = rec.payload_end();
            if rec_end > end {
                if p == pos {
                    // One record larger than the window: read it alone (announced).
                    if let Some(list) = wanted.get(&rec.local_id)
                        && rec_end - p <= self.max_record_len()
                    {
                        let mut one = vec![0u8; (rec_end - p) as usize];
                        let ext = [FileExtent {
                            offset: p,
                            length: rec_end - p,
                        }];
                        if self.preview(&c.path, &ext).is_ok()
                            && self.read(&c.path, p, &mut one).is_ok()
                        {
                            for &ni in list {
                                work.push((ni, one.clone(), p));
                            }
                        }
                    }
                    p = rec.next_record_offset();
                }
                break;
            }
            if rec.record_type != RecordType::Padding
                && let Some(list) = wanted.get(&rec.local_id)
            {
                for &ni in list {
                    work.push((
                        ni,
                        buf[(p - pos) as usize..(rec_end - pos) as usize].to_vec(),
                        p,
                    ));
                }
            }
            p = rec.next_record_offset();
        }
        (work, p)
    }

    /// Checks and processes the records a scan found (in parallel), skipping needs already
    /// done.
    fn process_found(
        &self,
        c: &ContainerRef,
        needs: &[Need],
        states: &[NeedState],
        found: &Found,
        scratch: &Scratch,
        process: &Process<'_>,
    ) {
        let vdl = c.fixed.as_ref().map_or(0, |f| f.header.valid_data_length);
        found.par_iter().for_each(|(ni, bytes, at)| {
            scratch.with(|scratch| {
                let n = &needs[*ni];
                if states[*ni].done.load(Ordering::Acquire) {
                    return;
                }
                let r = check_record(c, n, bytes, *at, vdl).and_then(|rec| {
                    let stored = &bytes[rec.header_len()..];
                    match process {
                        Process::Record(f) => f(*ni, n, c, &rec, stored, scratch),
                        Process::Chunks(sink) => sink.one(n, c, &rec, stored, scratch),
                    }
                });
                match r {
                    Ok(()) => {
                        states[*ni].done.store(true, Ordering::Release);
                        self.found_by_scan.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(f) => states[*ni].set_fail(f),
                }
            });
        });
    }

    /// A need the scan did not find either is reported as not in its container, unless an
    /// earlier failure says more (a hard error, or a copy of the container that ends early).
    fn not_found(
        containers: &[ContainerRef],
        needs: &[Need],
        states: &[NeedState],
        scan: &[usize],
    ) {
        for &ni in scan {
            if !states[ni].done.load(Ordering::Acquire) {
                let n = &needs[ni];
                let c = &containers[n.container];
                let prior = states[ni].take_fail();
                match prior {
                    Some(f) if !f.retry_scan || f.sticky => {}
                    _ => states[ni].set_fail(Fail::new(FileError::NotInContainer {
                        container: c.name.clone(),
                        local_id: n.local_id,
                        hint: n.hint,
                    })),
                }
            }
        }
    }
}

/// The needs a scan looks for in one container, by local id.
type Wanted = HashMap<u32, Vec<usize>>;

/// Records a scan found for needs: `(need index, the record's bytes, its offset)`.
type Found = Vec<(usize, Vec<u8>, u64)>;

/// Parses the record at the start of `bytes` and checks it is the one `n` wants: its local id,
/// its type, and (for a full record) that its size matches.
pub(super) fn check_record(
    c: &ContainerRef,
    n: &Need,
    bytes: &[u8],
    at: u64,
    vdl: u64,
) -> Result<RecordHeader, Fail> {
    let rec = parse_record_header(&c.name, bytes, at, at, vdl).map_err(|e| {
        let mut f = Fail::from_container(&e);
        f.retry_scan = true;
        f
    })?;
    let want_type = match n.kind {
        NeedKind::StreamMap { .. } => RecordType::StreamMap,
        NeedKind::Data { .. } => RecordType::Data,
    };
    let wrong = |problem| {
        Fail::mismatch(FileError::WrongRecord {
            container: c.name.clone(),
            offset: at,
            local_id: n.local_id,
            problem,
        })
    };
    if rec.local_id != n.local_id || rec.record_type != want_type {
        return Err(wrong(RecordProblem::Other {
            found_type: rec.record_type.name(),
            found_id: rec.local_id,
            wanted_type: want_type.name(),
            wanted_id: n.local_id,
        }));
    }
    let total = rec.header_len() as u64 + u64::from(rec.stored_size);
    // A data record must have exactly the stored size its stream-map entry gives
    // (docs/dedup-format.md §3.5); a stream map may be stored in fewer bytes than its payload size
    // if it is compressed.
    let size_ok = match n.kind {
        NeedKind::Data { .. } => total == n.len,
        NeedKind::StreamMap { .. } => {
            total == n.len || (total < n.len && rec.compression != Compression::Stored)
        }
    };
    if !size_ok {
        return Err(wrong(RecordProblem::StoredSize {
            local_id: n.local_id,
            found: rec.stored_size,
            expected: n.len.saturating_sub(rec.header_len() as u64),
        }));
    }
    if total > bytes.len() as u64 {
        return Err(wrong(RecordProblem::Longer {
            local_id: n.local_id,
            total,
            available: bytes.len() as u64,
        }));
    }
    Ok(rec)
}
