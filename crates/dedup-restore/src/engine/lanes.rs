//! Data chunks decoded and verified in groups: the records a read delivers are split among the
//! workers in groups, each group decoded first and then hashed together, several chunks at once
//! (one per SIMD lane of `sha512-mb`'s multi-buffer SHA-512: 4 with AVX2, 8 with AVX-512,
//! `sha2` one at a time elsewhere), before each chunk goes to its files. Errors
//! stay per chunk; what is reported for a chunk is exactly what `decode_payload` reports for it
//! alone (the fuzz harness of `dedup-store` checks the two paths agree).

use std::sync::atomic::Ordering;

use dedup_store::{ChunkHash, ReadOptions, RecordHeader, RecordType};
use rayon::prelude::*;

use super::fetch::Scratch;
use super::job::{ContainerRef, Fail, Need, NeedState};
use super::records::check_record;

/// Most chunks one worker decodes before hashing them together: enough to keep every lane of
/// the widest kernel (8) busy while messages of different lengths finish and are refilled,
/// little enough that the group's decode buffers (≤ 128 KiB each) stay small.
pub(super) const GROUP: usize = 16;

/// Before decoding: whether a record is still wanted (or why it is the wrong one).
type CheckFn<'a> = dyn Fn(&Need, &ContainerRef, &RecordHeader) -> Result<bool, Fail> + Sync + 'a;
/// A decoded and verified chunk's logical bytes, to its files.
type ConsumeFn<'a> = dyn Fn(&Need, &[u8]) -> Result<(), Fail> + Sync + 'a;

/// How the data phase consumes its chunks.
pub(super) struct ChunkSink<'a> {
    /// Decode options (`verify_hash`: hash every chunk; `payload_crc`: when the CRC-64 runs).
    pub(super) opts: ReadOptions,
    /// Before decoding, per chunk: `Ok(false)` when no file wants it any more (it is not
    /// decoded), an error when the record is not the one the stream map expects.
    pub(super) check: &'a CheckFn<'a>,
    /// The logical size the stream map gives the chunk.
    pub(super) expected_len: &'a (dyn Fn(&Need) -> Option<u64> + Sync),
    /// A decoded and verified chunk, to its files.
    pub(super) consume: &'a ConsumeFn<'a>,
}

/// A decoded chunk of a group waiting for its hash.
struct Decoded<'b> {
    need: usize,
    rec: RecordHeader,
    stored: &'b [u8],
    logical: &'b [u8],
}

impl ChunkSink<'_> {
    /// Processes `work` (need index, whole record bytes) in parallel, in groups.
    pub(super) fn run(
        &self,
        containers: &[ContainerRef],
        needs: &[Need],
        states: &[NeedState],
        work: &[(usize, &[u8])],
        scratch: &Scratch,
    ) {
        let per_worker = work.len().div_ceil(rayon::current_num_threads().max(1));
        let size = per_worker.clamp(1, GROUP);
        work.par_chunks(size).for_each(|group| {
            scratch.with_many(group.len(), |bufs| {
                self.group(containers, needs, states, group, bufs);
            });
        });
    }

    fn group(
        &self,
        containers: &[ContainerRef],
        needs: &[Need],
        states: &[NeedState],
        group: &[(usize, &[u8])],
        bufs: &mut [Vec<u8>],
    ) {
        let mut decoded = Vec::with_capacity(group.len());
        for (&(ni, bytes), buf) in group.iter().zip(bufs.iter_mut()) {
            match self.decode(containers, ni, &needs[ni], bytes, buf) {
                Ok(Some(d)) => decoded.push(d),
                Ok(None) => states[ni].done.store(true, Ordering::Release),
                Err(f) => states[ni].set_fail(f),
            }
        }
        let hashes = self.hashes(&decoded);
        for (i, d) in decoded.iter().enumerate() {
            let n = &needs[d.need];
            let c = &containers[n.container];
            let verified = match &hashes {
                Some(h) if d.rec.record_type == RecordType::Data => {
                    dedup_store::check_chunk_hash(&c.name, &d.rec, d.stored, &h[i])
                        .map_err(|e| Fail::from_container(&e))
                }
                _ => Ok(()),
            };
            match verified.and_then(|()| (self.consume)(n, d.logical)) {
                Ok(()) => states[d.need].done.store(true, Ordering::Release),
                Err(f) => states[d.need].set_fail(f),
            }
        }
    }

    /// Checks and decodes one record (without its hash); `None` when it is not wanted.
    fn decode<'b>(
        &self,
        containers: &[ContainerRef],
        ni: usize,
        n: &Need,
        bytes: &'b [u8],
        buf: &'b mut Vec<u8>,
    ) -> Result<Option<Decoded<'b>>, Fail> {
        let c = &containers[n.container];
        let vdl = c.fixed.as_ref().map_or(0, |f| f.header.valid_data_length);
        let rec = check_record(c, n, bytes, n.offset, vdl)?;
        if !(self.check)(n, c, &rec)? {
            return Ok(None);
        }
        let stored = &bytes[rec.header_len()..rec.header_len() + rec.stored_size as usize];
        let logical = dedup_store::decode_unhashed(
            &c.name,
            &rec,
            stored,
            (self.expected_len)(n),
            &self.opts,
            buf,
        )
        .map_err(|e| Fail::from_container(&e))?;
        Ok(Some(Decoded {
            need: ni,
            rec,
            stored,
            logical,
        }))
    }

    /// The chunk hashes of the group, computed together (`None` when hashes are not checked).
    fn hashes(&self, decoded: &[Decoded<'_>]) -> Option<Vec<ChunkHash>> {
        if !self.opts.verify_hash {
            return None;
        }
        let messages: Vec<&[u8]> = decoded.iter().map(|d| d.logical).collect();
        let mut out = vec![[0u8; 32]; messages.len()];
        sha512_mb::chunk_hashes(&messages, &mut out);
        Some(out)
    }

    /// One record found by a scan: checked, decoded and verified alone.
    pub(super) fn one(
        &self,
        n: &Need,
        c: &ContainerRef,
        rec: &RecordHeader,
        stored: &[u8],
        scratch: &mut Vec<u8>,
    ) -> Result<(), Fail> {
        if !(self.check)(n, c, rec)? {
            return Ok(());
        }
        let logical = dedup_store::decode_payload(
            &c.name,
            rec,
            stored,
            (self.expected_len)(n),
            &self.opts,
            scratch,
        )
        .map_err(|e| Fail::from_container(&e))?;
        (self.consume)(n, logical)
    }
}
