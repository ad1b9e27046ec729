//! The stream-map phase: every file's stream maps, read from the stream containers, checked
//! against their reparse entries' hashes and decoded.

use foldhash::{HashMap, HashMapExt as _};
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use dedup_store::{
    ContainerError, ReadOptions, RecordType, SmapEntry, StreamMapRef, decode_payload,
};
use platform::WinPath;

use super::Engine;
use super::fetch::{Process, RecordFn};
use super::job::{ContainerRef, Fail, Need, NeedKind, container_index};
use crate::error::{FileError, RecordKind};

impl Engine<'_> {
    pub(super) fn stream_map_phase(&self) -> Vec<Vec<Option<Vec<SmapEntry>>>> {
        let mut containers: Vec<ContainerRef> = Vec::new();
        let mut index: HashMap<WinPath, usize> = HashMap::new();
        let mut needs = Vec::new();
        // Stream containers resolved so far, by store and container id (once, not per file; a
        // failure is tried again for the next file, as a store's listing may fail once).
        let mut resolved: HashMap<(dedup_reparse::Guid, u32), usize> = HashMap::new();
        let mut maps: Vec<Vec<Option<Vec<SmapEntry>>>> = self
            .files
            .iter()
            .map(|f| vec![None; f.reparse.as_ref().map_or(0, |r| r.entries().len())])
            .collect();
        for (fi, f) in self.files.iter().enumerate() {
            let Some(r) = &f.reparse else { continue };
            if f.is_failed() {
                continue;
            }
            for (ei, e) in r.entries().iter().enumerate() {
                let key = (r.guid(), e.container_id);
                let ci = match resolved.get(&key) {
                    Some(&ci) => ci,
                    None => match self.stream_container(
                        &r.guid(),
                        e.container_id,
                        &mut containers,
                        &mut index,
                    ) {
                        Ok(ci) => {
                            resolved.insert(key, ci);
                            ci
                        }
                        Err(fail) => {
                            f.fail(Fail::new(FileError::StreamMap(Box::new(fail.error))));
                            continue;
                        }
                    },
                };
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
        let results: Vec<Mutex<Option<Vec<SmapEntry>>>> =
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

    /// The index in `containers` of stream container `id` of store `guid` (added on first
    /// sight; `index` maps paths, compared case-insensitively, to indices).
    fn stream_container(
        &self,
        guid: &dedup_reparse::Guid,
        id: u32,
        containers: &mut Vec<ContainerRef>,
        index: &mut HashMap<WinPath, usize>,
    ) -> Result<usize, Fail> {
        let dir = Self::store_dir(guid, dedup_store::ContainerKind::Stream);
        let (path, id, _) = self.resolve_container(&dir, id, None, 1)?;
        Ok(container_index(containers, index, path, id))
    }
}
