//! Content-defined chunking with a gear rolling hash.
//!
//! The hash is `h = (h << 1) + GEAR[byte]` over the bytes since the last cut, so it depends on
//! the last 64 bytes only and a boundary moves with the content when bytes are inserted or
//! removed before it. A cut is taken where the top bits of `h` are all zero, with "normalized"
//! chunking: a harder condition (more bits) between the minimum and the target size, an easier
//! one (fewer bits) between the target and the maximum, which pulls chunk sizes towards the
//! target. Windows' own chunker is not public; only its size range (32–128 KiB, docs/dedup-format.md §4.1) is
//! reproduced.

use std::sync::OnceLock;

/// Chunk size limits. The defaults are Windows': 32 KiB minimum, about 64 KiB on average,
/// 128 KiB maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkerParams {
    /// No chunk is shorter (except the last chunk of a file).
    pub min: usize,
    /// Target average size.
    pub avg: usize,
    /// No chunk is longer.
    pub max: usize,
}

impl Default for ChunkerParams {
    fn default() -> Self {
        Self {
            min: 32 * 1024,
            avg: 64 * 1024,
            max: 128 * 1024,
        }
    }
}

impl ChunkerParams {
    /// Checks `0 < min < avg < max`.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.min > 0 && self.min < self.avg && self.avg < self.max
    }

    /// Number of zero top bits required before the target size, and after it.
    fn bits(&self) -> (u32, u32) {
        let span = (self.avg - self.min).max(2);
        let b = usize::BITS - 1 - span.leading_zeros();
        (b + 2, b.saturating_sub(2).max(1))
    }
}

fn gear() -> &'static [u64; 256] {
    static GEAR: OnceLock<[u64; 256]> = OnceLock::new();
    GEAR.get_or_init(|| {
        let mut rng = seeded::SplitMix64(0x6765_6172_7461_626c);
        let mut t = [0u64; 256];
        for v in &mut t {
            *v = rng.next_u64();
        }
        t
    })
}

/// The end offsets (exclusive) of the chunks of `data`; the last one is `data.len()`. Empty
/// input has no chunks.
///
/// # Panics
/// If `params` is not valid ([`ChunkerParams::is_valid`]).
#[must_use]
pub fn chunk_ends(data: &[u8], params: &ChunkerParams) -> Vec<usize> {
    final_chunk_ends(data, params, true)
}

/// The end offsets (exclusive) of the chunks of `data` that no later byte can change, for
/// cutting a stream piece by piece: when `data` is the start of a longer stream
/// (`at_end == false`), the chunks [`chunk_ends`] would cut the whole stream into, up to the
/// last one that ends before `data` has fewer than [`ChunkerParams::max`] bytes left (a cut
/// looks at most that far ahead); when `data` runs to the end (`at_end`), all of them. Going
/// on from the last end returned with more of the stream gives exactly [`chunk_ends`]' cuts.
///
/// # Panics
/// If `params` is not valid ([`ChunkerParams::is_valid`]).
#[must_use]
pub fn final_chunk_ends(data: &[u8], params: &ChunkerParams, at_end: bool) -> Vec<usize> {
    assert!(params.is_valid(), "invalid chunker parameters {params:?}");
    let g = gear();
    let (hard, easy) = params.bits();
    let mut ends = Vec::with_capacity(data.len() / params.avg + 1);
    let mut start = 0usize;
    while start < data.len() {
        let rest = &data[start..];
        if !at_end && rest.len() < params.max {
            break;
        }
        if rest.len() <= params.min {
            ends.push(data.len());
            break;
        }
        let limit = rest.len().min(params.max);
        let normal = params.avg.min(limit);
        let mut h = 0u64;
        let mut cut = limit;
        // Bytes before the minimum only warm the hash up (64 bytes suffice).
        for &b in &rest[params.min - 64.min(params.min)..params.min] {
            h = (h << 1).wrapping_add(g[usize::from(b)]);
        }
        let mut i = params.min;
        while i < normal {
            h = (h << 1).wrapping_add(g[usize::from(rest[i])]);
            i += 1;
            if h >> (64 - hard) == 0 {
                cut = i;
                break;
            }
        }
        if cut == limit {
            while i < limit {
                h = (h << 1).wrapping_add(g[usize::from(rest[i])]);
                i += 1;
                if h >> (64 - easy) == 0 {
                    cut = i;
                    break;
                }
            }
        }
        start += cut;
        ends.push(start);
    }
    ends
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_stay_in_range_and_cover_the_input() {
        let mut rng = seeded::SplitMix64(7);
        let mut data = vec![0u8; 8 << 20];
        rng.fill(&mut data);
        let p = ChunkerParams::default();
        let ends = chunk_ends(&data, &p);
        assert_eq!(*ends.last().unwrap(), data.len());
        let mut prev = 0;
        for (i, &e) in ends.iter().enumerate() {
            let len = e - prev;
            assert!(len <= p.max, "chunk {i} is {len} bytes");
            if i + 1 < ends.len() {
                assert!(len >= p.min, "chunk {i} is {len} bytes");
            }
            prev = e;
        }
        let avg = data.len() / ends.len();
        assert!(
            (48 * 1024..=84 * 1024).contains(&avg),
            "average chunk {avg} bytes"
        );
    }

    #[test]
    fn boundaries_resynchronise_after_an_insertion() {
        let mut rng = seeded::SplitMix64(8);
        let mut data = vec![0u8; 2 << 20];
        rng.fill(&mut data);
        let p = ChunkerParams::default();
        let a = chunk_ends(&data, &p);
        let mut edited = data[..1000].to_vec();
        edited.extend_from_slice(b"inserted bytes");
        edited.extend_from_slice(&data[1000..]);
        let b: Vec<usize> = chunk_ends(&edited, &p).iter().map(|e| e - 14).collect();
        let common = a.iter().filter(|e| b.contains(e)).count();
        assert!(
            common + 3 >= a.len(),
            "{common} of {} boundaries kept",
            a.len()
        );
    }

    /// Cutting a stream window by window, carrying the unfinished tail into the next window,
    /// gives the whole input's cuts, for windows of many sizes (down to the largest chunk).
    #[test]
    fn windowed_cuts_equal_whole_cuts() {
        let mut rng = seeded::SplitMix64(9);
        let mut data = vec![0u8; 3 << 20];
        rng.fill(&mut data);
        // Zero runs (cut at the maximum) and text-like runs among the random bytes.
        data[300_000..900_000].fill(0);
        for (i, b) in data[1_500_000..2_000_000].iter_mut().enumerate() {
            *b = b"chunk of text "[i % 14];
        }
        let p = ChunkerParams::default();
        let whole = chunk_ends(&data, &p);
        for window in [p.max, p.max + 1, 200_000, 1 << 20, 5 << 20] {
            let mut got = Vec::new();
            let (mut base, mut read_to) = (0usize, 0usize);
            let mut buf: Vec<u8> = Vec::new();
            loop {
                let take = (window - buf.len()).min(data.len() - read_to);
                buf.extend_from_slice(&data[read_to..read_to + take]);
                read_to += take;
                let at_end = read_to == data.len();
                let ends = final_chunk_ends(&buf, &p, at_end);
                got.extend(ends.iter().map(|e| base + e));
                let used = ends.last().copied().unwrap_or(0);
                buf.drain(..used);
                base += used;
                if at_end {
                    assert!(buf.is_empty());
                    break;
                }
                assert!(!ends.is_empty(), "window {window} made no progress");
            }
            assert_eq!(got, whole, "window {window}");
        }
    }

    #[test]
    fn zeros_cut_at_the_maximum_and_small_inputs_are_one_chunk() {
        let p = ChunkerParams::default();
        let ends = chunk_ends(&vec![0u8; 300 * 1024], &p);
        assert_eq!(ends, vec![128 * 1024, 256 * 1024, 300 * 1024]);
        assert_eq!(chunk_ends(&[1, 2, 3], &p), vec![3]);
        assert!(chunk_ends(&[], &p).is_empty());
    }
}
