//! The two phases of a restore: the stream maps of every file, then the data chunks they name.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use dedup_store::{
    ContainerError, MapCoverageError, ReadOptions, RecordHeader, RecordType, StreamMapRef,
    decode_payload,
};
use platform::WinPath;
use rayon::prelude::*;

use super::Engine;
use super::fetch::{Process, RecordFn};
use super::job::{ContainerRef, Fail, Need, NeedKind};
use super::lanes::ChunkSink;
use super::output::HandleCache;
use super::resolve::Resolved;
use crate::error::{FileError, RecordKind, Stage};

impl Engine<'_> {
    pub(super) fn stream_map_phase(&self) -> Vec<Vec<Option<Vec<dedup_store::SmapEntry>>>> {
        let mut containers: Vec<ContainerRef> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut needs = Vec::new();
        let mut maps: Vec<Vec<Option<Vec<dedup_store::SmapEntry>>>> = self
            .files
            .iter()
            .map(|f| vec![None; f.reparse.as_ref().map_or(0, |r| r.entries().len())])
            .collect();
        for (fi, f) in self.files.iter().enumerate() {
            let Some(r) = &f.reparse else { continue };
            if f.is_failed() {
                continue;
            }
            let dir = Self::store_dir(&r.guid(), dedup_store::ContainerKind::Stream);
            for (ei, e) in r.entries().iter().enumerate() {
                let (path, id, _) = match self.resolve_container(&dir, e.container_id, None, 1) {
                    Ok(v) => v,
                    Err(fail) => {
                        f.fail(Fail::new(FileError::StreamMap(Box::new(fail.error))));
                        continue;
                    }
                };
                let ci = *index.entry(path.folded()).or_insert_with(|| {
                    containers.push(ContainerRef {
                        name: Arc::from(path.to_string()),
                        path,
                        expected_id: id,
                        fixed: None,
                        failure: None,
                    });
                    containers.len() - 1
                });
                needs.push(Need {
                    container: ci,
                    local_id: e.local_id,
                    hint: e.offset_hint,
                    offset: u64::from(e.offset_hint),
                    len: RecordType::StreamMap.header_len() as u64 + u64::from(e.stream_map_size),
                    kind: NeedKind::StreamMap {
                        file: fi,
                        entry: ei,
                        hash: e.hash.as_bytes().to_vec(),
                        size: e.stream_map_size,
                    },
                    missing_primary: None,
                });
            }
        }
        let results: Vec<Mutex<Option<Vec<dedup_store::SmapEntry>>>> =
            needs.iter().map(|_| Mutex::new(None)).collect();
        let read_map: &RecordFn<'_> = &|ni, need, c, rec, stored, scratch| {
            let NeedKind::StreamMap { hash, size, .. } = &need.kind else {
                return Err(Fail::new(FileError::Internal("need kind")));
            };
            if rec.hash[..hash.len()] != hash[..] {
                return Err(Fail::mismatch(FileError::HashMismatch {
                    container: c.name.clone(),
                    offset: u64::from(rec.offset),
                    local_id: rec.local_id,
                    kind: RecordKind::StreamMap,
                    found: dedup_store::hex(&rec.hash[..hash.len()]),
                    expected: dedup_store::hex(hash),
                    by: "reparse point",
                }));
            }
            let payload = decode_payload(
                &c.name,
                rec,
                stored,
                Some(u64::from(*size)),
                &ReadOptions::default(),
                scratch,
            )
            .map_err(|e| Fail::from_container(&e))?;
            let map = StreamMapRef::parse(payload).map_err(|e| {
                Fail::from_container(&ContainerError::BadStreamMap {
                    container: c.name.clone(),
                    offset: u64::from(rec.offset),
                    local_id: rec.local_id,
                    source: e,
                })
            })?;
            *results[ni]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(map.entries().collect());
            Ok(())
        };
        let states = self.fetch(&mut containers, &mut needs, &Process::Record(read_map));
        for (ni, need) in needs.iter().enumerate() {
            let NeedKind::StreamMap { file, entry, .. } = need.kind else {
                continue;
            };
            match states[ni].take_fail() {
                Some(f) if !states[ni].done.load(Ordering::Acquire) => {
                    self.files[file].fail(Fail::new(FileError::StreamMap(Box::new(f.error))));
                }
                _ => {
                    maps[file][entry] = results[ni]
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .take();
                }
            }
        }
        maps
    }

    pub(super) fn data_phase(&self, maps: &[Vec<Option<Vec<dedup_store::SmapEntry>>>]) {
        let mut containers: Vec<ContainerRef> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut needs: Vec<Need> = Vec::new();
        let mut need_of: HashMap<(usize, u32, [u8; 32]), usize> = HashMap::new();
        // Which needs each file depends on, to fail it when one fails.
        let mut file_needs: Vec<Vec<usize>> = vec![Vec::new(); self.files.len()];
        // Each container a stream map names, resolved once (store, id, generation → index into
        // `containers` and the fall-back note), not once per chunk.
        let mut resolved: HashMap<(dedup_reparse::Guid, u32, u32), Resolved> = HashMap::new();
        for (fi, f) in self.files.iter().enumerate() {
            let Some(r) = &f.reparse else { continue };
            if f.is_failed() {
                continue;
            }
            let dir = Self::store_dir(&r.guid(), dedup_store::ContainerKind::Data);
            let mut pending = Vec::new();
            let result = (|| -> Result<(), Fail> {
                for (ei, e) in r.entries().iter().enumerate() {
                    let map = maps[fi][ei]
                        .as_ref()
                        .ok_or_else(|| Fail::new(FileError::Internal("stream map missing")))?;
                    dedup_store::check_map(e.range_begin..e.range_end, map)
                        .map_err(|e| Fail::new(coverage_error(e)))?;
                    let mut start = e.range_begin;
                    for s in map {
                        let len = s.end - start;
                        let key = (r.guid(), s.container_id, s.generation);
                        let (ci, swapped) = if let Some(v) = resolved.get(&key) {
                            v.clone()?
                        } else {
                            let v = self
                                .resolve_container(
                                    &dir,
                                    s.container_id,
                                    Some(s.generation),
                                    s.generation,
                                )
                                .map(|(path, id, swapped)| {
                                    let ci = *index.entry(path.folded()).or_insert_with(|| {
                                        containers.push(ContainerRef {
                                            name: Arc::from(path.to_string()),
                                            path,
                                            expected_id: id,
                                            fixed: None,
                                            failure: None,
                                        });
                                        containers.len() - 1
                                    });
                                    (ci, swapped)
                                });
                            resolved.insert(key, v.clone());
                            v?
                        };
                        pending.push((ci, *s, start, len, swapped));
                        start = s.end;
                    }
                }
                Ok(())
            })();
            if let Err(fail) = result {
                f.fail(fail);
                continue;
            }
            for (ci, s, start, len, swapped) in pending {
                let record_len = RecordType::Data.header_len() as u64 + u64::from(s.stored_size);
                let ni = *need_of.entry((ci, s.local_id, s.hash)).or_insert_with(|| {
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
                let need_len = needs[ni].len;
                if let NeedKind::Data {
                    logical_len, dests, ..
                } = &mut needs[ni].kind
                {
                    if *logical_len != len || need_len != record_len {
                        f.fail(Fail::new(FileError::ConflictingSizes {
                            container: containers[ci].name.clone(),
                            local_id: s.local_id,
                        }));
                        break;
                    }
                    dests.push((fi, start));
                }
                file_needs[fi].push(ni);
            }
        }
        // The temporary files that receive the data, created in parallel: per file this is a
        // create, the sparse flag and the length (several system calls each), which dominated
        // restores of many small files when done one after another.
        let files_temp: Vec<Option<WinPath>> = self
            .files
            .par_iter()
            .map(|f| {
                if f.reparse.is_none() || f.is_failed() {
                    return None;
                }
                self.create_temp(f)
                    .map_err(|e| f.fail(Fail::platform(Stage::Creating, e)))
                    .ok()
            })
            .collect();
        let handles = HandleCache {
            volume: self.volume,
            open: Mutex::new(HashMap::new()),
            cap: 256,
        };
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
            self.place_chunk(dests, data, &files_temp, &handles);
            Ok(())
        };
        let sink = ChunkSink {
            opts: verify,
            check: &check,
            expected_len: &expected_len,
            consume: &consume,
        };
        let states = self.fetch(&mut containers, &mut needs, &Process::Chunks(&sink));
        // Failed needs fail their files.
        for (fi, ns) in file_needs.iter().enumerate() {
            let f = &self.files[fi];
            for &ni in ns {
                if !states[ni].done.load(Ordering::Acquire) {
                    let mut fail = states[ni]
                        .take_fail()
                        .unwrap_or_else(|| Fail::new(FileError::Internal("chunk was never read")));
                    if let Some(missing) = &needs[ni].missing_primary {
                        fail = Fail::new(FileError::Swapped {
                            missing: Box::new(missing.clone()),
                            tried: containers[needs[ni].container].name.clone(),
                            source: Box::new(fail.error),
                        });
                    }
                    f.fail(fail);
                    break;
                }
            }
        }
        // Commit or roll back each file, in parallel (attributes, flush, rename: per file).
        files_temp
            .into_par_iter()
            .enumerate()
            .for_each(|(fi, temp)| {
                let Some(temp) = temp else {
                    return;
                };
                let f = &self.files[fi];
                let commit = if f.is_failed() {
                    Err(None)
                } else {
                    handles
                        .get(fi, &temp)
                        .and_then(|h| Self::finish_file(f, h.as_ref()))
                        .map_err(Some)
                };
                handles.close(fi);
                match commit.and_then(|()| self.volume.rename(&temp, &f.path, true).map_err(Some)) {
                    Ok(()) => {}
                    Err(e) => {
                        if let Some(e) = e {
                            f.fail(Fail::platform(Stage::Finishing, e));
                        }
                        let _ = self.volume.delete_file(&temp);
                    }
                }
            });
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
