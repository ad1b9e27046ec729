//! The data phase: every data chunk the stream maps name, each read and decoded once and written
//! to every place that uses it; each file committed as its last byte is written, and the rest
//! (nothing to write, or failed) committed or rolled back at the end.

use foldhash::HashMap;
use std::sync::atomic::Ordering;

use dedup_reparse::{DedupReparse, Guid};
use dedup_store::{
    ContainerKind, MapCoverageError, ReadOptions, RecordHeader, RecordType, SmapEntry,
};
use platform::WinPath;

use super::Engine;
use super::fetch::Process;
use super::job::{ContainerRef, Fail, FileJob, Need, NeedKind, NeedState, container_index};
use super::lanes::ChunkSink;
use super::output::Temps;
use super::resolve::Resolved;
use crate::error::{FileError, RecordKind};

/// The data phase's work: its containers, one need per distinct chunk record, and the needs
/// each file depends on (to fail it when one fails).
#[derive(Default)]
struct DataPlan {
    containers: Vec<ContainerRef>,
    /// Container path (compared case-insensitively) → index into `containers`.
    index: HashMap<WinPath, usize>,
    needs: Vec<Need>,
    /// (container, local id, hash) → index into `needs`: a chunk used many times is read once.
    need_of: HashMap<(usize, u32, [u8; 32]), usize>,
    file_needs: Vec<Vec<usize>>,
    /// Each container a stream map names, resolved once (store, id, generation → index into
    /// `containers` and the fall-back note), not once per chunk.
    resolved: HashMap<(Guid, u32, u32), Resolved>,
}

/// One chunk use of a file: container index, stream-map entry, logical start in the file,
/// logical length, and what was missing when the container is the fall-back.
type ChunkUse = (usize, SmapEntry, u64, u64, Option<FileError>);

impl DataPlan {
    /// The index of the container at `path` (header id `id`), added on first sight.
    fn container(&mut self, path: WinPath, id: u32) -> usize {
        container_index(&mut self.containers, &mut self.index, path, id)
    }

    /// Adds file `fi`'s chunk uses: a need per distinct record (shared with other uses), with
    /// this file's place in it. Two uses of one record that disagree on its sizes fail the file.
    fn add_uses(&mut self, fi: usize, f: &FileJob, uses: Vec<ChunkUse>) {
        for (ci, s, start, len, swapped) in uses {
            let record_len = RecordType::Data.header_len() as u64 + u64::from(s.stored_size);
            let needs = &mut self.needs;
            let ni = *self
                .need_of
                .entry((ci, s.local_id, s.hash))
                .or_insert_with(|| {
                    needs.push(Need {
                        container: ci,
                        local_id: s.local_id,
                        hint: s.offset_hint,
                        offset: u64::from(s.offset_hint),
                        len: record_len,
                        kind: NeedKind::Data {
                            hash: s.hash,
                            logical_len: len,
                            dests: Vec::new(),
                        },
                        missing_primary: swapped,
                    });
                    needs.len() - 1
                });
            let need_len = self.needs[ni].len;
            if let NeedKind::Data {
                logical_len, dests, ..
            } = &mut self.needs[ni].kind
            {
                if *logical_len != len || need_len != record_len {
                    f.fail(Fail::new(FileError::ConflictingSizes {
                        container: self.containers[ci].name.clone(),
                        local_id: s.local_id,
                    }));
                    break;
                }
                dests.push((fi, start));
            }
            self.file_needs[fi].push(ni);
        }
    }
}

impl Engine<'_> {
    pub(super) fn data_phase(&self, maps: &[Vec<Option<Vec<SmapEntry>>>]) {
        let mut plan = DataPlan {
            file_needs: vec![Vec::new(); self.files.len()],
            ..DataPlan::default()
        };
        for (fi, f) in self.files.iter().enumerate() {
            let Some(r) = &f.reparse else { continue };
            if f.is_failed() {
                continue;
            }
            match self.chunk_uses(r, &maps[fi], &mut plan) {
                Ok(uses) => plan.add_uses(fi, f, uses),
                Err(fail) => f.fail(fail),
            }
        }
        let temps = Temps::new(self.volume, self.files.len(), 256);
        let states = self.fetch_chunks(&mut plan, &temps);
        self.fail_files(&plan, &states);
        self.commit_files(&temps);
    }

    /// Every chunk use of one file, in file order, with its data container resolved: all or
    /// nothing (the first bad stream map or missing container fails the file).
    fn chunk_uses(
        &self,
        r: &DedupReparse,
        maps: &[Option<Vec<SmapEntry>>],
        plan: &mut DataPlan,
    ) -> Result<Vec<ChunkUse>, Fail> {
        let mut uses = Vec::new();
        for (ei, e) in r.entries().iter().enumerate() {
            let map = maps[ei]
                .as_ref()
                .ok_or_else(|| Fail::new(FileError::Internal("stream map missing")))?;
            dedup_store::check_map(e.range_begin..e.range_end, map)
                .map_err(|e| Fail::new(coverage_error(e)))?;
            let mut start = e.range_begin;
            for s in map {
                let len = s.end - start;
                let (ci, swapped) = self.data_container(r.guid(), s, plan)?;
                uses.push((ci, *s, start, len, swapped));
                start = s.end;
            }
        }
        Ok(uses)
    }

    /// The data container stream-map entry `s` names, resolved once per store, id and
    /// generation (the store's folder is only spelled out then: formatting and parsing it for
    /// every file showed in the profile of a 20,000-file restore, in the serial set-up).
    fn data_container(&self, guid: Guid, s: &SmapEntry, plan: &mut DataPlan) -> Resolved {
        let key = (guid, s.container_id, s.generation);
        if let Some(v) = plan.resolved.get(&key) {
            return v.clone();
        }
        let dir = Self::store_dir(&guid, ContainerKind::Data);
        let v = self
            .resolve_container(&dir, s.container_id, Some(s.generation), s.generation)
            .map(|(path, id, swapped)| (plan.container(path, id), swapped));
        plan.resolved.insert(key, v.clone());
        v
    }

    /// Reads, checks, decodes and places every chunk of the plan; returns each need's state.
    fn fetch_chunks(&self, plan: &mut DataPlan, temps: &Temps<'_>) -> Vec<NeedState> {
        let verify = ReadOptions {
            verify_hash: self.opts.verify_hash,
            payload_crc: self.opts.payload_crc,
            ..ReadOptions::default()
        };
        let check = |need: &Need, c: &ContainerRef, rec: &RecordHeader| {
            let NeedKind::Data { hash, dests, .. } = &need.kind else {
                return Err(Fail::new(FileError::Internal("need kind")));
            };
            if rec.hash != *hash {
                return Err(Fail::mismatch(FileError::HashMismatch {
                    container: c.name.clone(),
                    offset: u64::from(rec.offset),
                    local_id: rec.local_id,
                    kind: RecordKind::Chunk,
                    found: dedup_store::hex(&rec.hash),
                    expected: dedup_store::hex(hash),
                    by: "stream map",
                }));
            }
            // Nobody wants it any more: not decoded.
            Ok(!dests.iter().all(|(f, _)| self.files[*f].is_failed()))
        };
        let expected_len = |need: &Need| match &need.kind {
            NeedKind::Data { logical_len, .. } => Some(*logical_len),
            NeedKind::StreamMap { .. } => None,
        };
        let consume = |need: &Need, data: &[u8]| {
            let NeedKind::Data { dests, .. } = &need.kind else {
                return Err(Fail::new(FileError::Internal("need kind")));
            };
            self.chunks_decoded.fetch_add(1, Ordering::Relaxed);
            self.place_chunk(dests, data, temps);
            Ok(())
        };
        let sink = ChunkSink {
            opts: verify,
            check: &check,
            expected_len: &expected_len,
            consume: &consume,
        };
        self.fetch(
            &mut plan.containers,
            &mut plan.needs,
            &Process::Chunks(&sink),
        )
    }

    /// Failed needs fail their files (a need read from a fall-back container is reported as
    /// the missing container it stood in for).
    fn fail_files(&self, plan: &DataPlan, states: &[NeedState]) {
        for (fi, ns) in plan.file_needs.iter().enumerate() {
            let f = &self.files[fi];
            for &ni in ns {
                if !states[ni].done.load(Ordering::Acquire) {
                    let mut fail = states[ni]
                        .take_fail()
                        .unwrap_or_else(|| Fail::new(FileError::Internal("chunk was never read")));
                    if let Some(missing) = &plan.needs[ni].missing_primary {
                        fail = Fail::new(FileError::Swapped {
                            missing: Box::new(missing.clone()),
                            tried: plan.containers[plan.needs[ni].container].name.clone(),
                            source: Box::new(fail.error),
                        });
                    }
                    f.fail(fail);
                    break;
                }
            }
        }
    }
}

/// The engine's error for a stream map that does not cover its entry's range (the statuses and
/// messages `restore_files` has always reported; the caller names the file).
fn coverage_error(e: MapCoverageError) -> FileError {
    match e {
        MapCoverageError::NotIncreasing { entry, end, prev } => {
            FileError::MapNotIncreasing { entry, end, prev }
        }
        MapCoverageError::Coverage {
            begin,
            end,
            expected,
        } => FileError::MapCoverage {
            begin,
            end,
            expected,
        },
    }
}
