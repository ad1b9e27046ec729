//! The spec index: every file set and exclusion, by directory, in a trie over lower-cased path
//! components, so that a catalog path finds the specs that may match it by walking its own
//! directory segments.

use std::collections::HashMap;

use super::paths::{canonical_volume, push_lower, split_path};
use crate::wildcard::Pattern;

/// A small multiplicative hasher for the per-directory caches (keys are our own normalised
/// strings or catalog text; SipHash's flooding resistance is not worth its cost here).
#[derive(Default, Clone, Copy)]
pub(super) struct FastHash;

/// The state of a [`FastHash`] hasher.
pub(super) struct FastHasher(u64);

/// The multiplier (FxHash's 64-bit constant).
const FAST_K: u64 = 0x517c_c1b7_2722_0a95;

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

impl std::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(FAST_K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(FAST_K);
        }
    }
    fn write_u8(&mut self, b: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(FAST_K);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Who a spec belongs to.
#[derive(Debug, Clone, Copy)]
pub(super) enum Owner {
    /// An exclusion: index into the plan's exclusions.
    Exclusion(usize),
    /// A file set of a WMD component.
    FileSet {
        /// Index of the WMD.
        writer: usize,
        /// Index of the component in the WMD.
        component: usize,
        /// Index of the file set in the component.
        file_set: usize,
    },
}

/// A file set or exclusion in the index.
pub(super) struct Spec {
    /// Whose it is.
    pub(super) owner: Owner,
    /// Its filespec.
    pub(super) pattern: Pattern,
    /// Number of segments of the spec's directory (for remapping).
    pub(super) depth: usize,
    /// Planned component index, for file sets of components being restored.
    pub(super) planned: Option<usize>,
    /// The expanded directory, kept for file sets of components being restored.
    pub(super) expanded: Option<String>,
}

/// The specs of one directory, by how they match (spec ids, in order of addition).
#[derive(Default)]
pub(super) struct Bucket {
    /// Non-recursive specs with a literal filespec, by lower-cased name.
    pub(super) here_literal: HashMap<String, Vec<u32>, FastHash>,
    /// Non-recursive specs with a wildcard filespec.
    pub(super) here_wild: Vec<u32>,
    /// Recursive specs with a literal filespec, by lower-cased name.
    pub(super) rec_literal: HashMap<String, Vec<u32>, FastHash>,
    /// Recursive specs with a wildcard filespec.
    pub(super) rec_wild: Vec<u32>,
}

/// One directory of the spec index: a trie over lower-cased path components.
#[derive(Default)]
struct Node {
    children: HashMap<Box<str>, u32, FastHash>,
    bucket: Option<u32>,
}

/// Root of the trie of absolute directories: below it come the components of the volume key
/// (split at `\`), then the directory's segments. Splitting the volume too keeps keys that
/// are equal as `volume\rel` text equal here (a volume map may name `D:\Mount`).
const ABS_ROOT: u32 = 0;
/// Root of the trie of volume-relative directories (the root directory of every volume).
const REL_ROOT: u32 = 1;

/// Specs by directory. The trie holds only the specs' directories (a few thousand nodes), so a
/// catalog path costs one short walk over its own segments and no per-path cache.
pub(super) struct Index {
    /// Every spec; a spec's id is its index (earlier specs win ties).
    pub(super) specs: Vec<Spec>,
    /// The buckets the trie's nodes point to.
    pub(super) buckets: Vec<Bucket>,
    nodes: Vec<Node>,
}

impl Index {
    /// An empty index (the two roots).
    pub(super) fn new() -> Self {
        Self {
            specs: Vec::new(),
            buckets: Vec::new(),
            nodes: vec![Node::default(), Node::default()],
        }
    }

    /// The child of `node` named `component`, created if missing.
    fn child_or_insert(&mut self, node: u32, component: &str) -> u32 {
        if let Some(&c) = self.nodes[node as usize].children.get(component) {
            return c;
        }
        let c = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        self.nodes.push(Node::default());
        self.nodes[node as usize]
            .children
            .insert(component.into(), c);
        c
    }

    /// Adds a spec for the directory `path` (expanded), recursive or not.
    pub(super) fn add(
        &mut self,
        path: &str,
        spec: Spec,
        recursive: bool,
        volumes: &HashMap<String, String>,
    ) {
        let split = split_path(path);
        let volume = canonical_volume(split.volume, volumes);
        let id = u32::try_from(self.specs.len()).unwrap_or(u32::MAX);
        let literal = spec.pattern.literal().map(str::to_owned);
        self.specs.push(Spec {
            depth: split.segments.len(),
            ..spec
        });
        let mut node = if volume.is_empty() {
            REL_ROOT
        } else {
            let mut n = ABS_ROOT;
            for c in volume.split('\\') {
                n = self.child_or_insert(n, c);
            }
            n
        };
        let mut low = String::new();
        for seg in &split.segments {
            low.clear();
            push_lower(&mut low, seg);
            node = self.child_or_insert(node, &low);
        }
        let b = if let Some(b) = self.nodes[node as usize].bucket {
            b
        } else {
            let b = u32::try_from(self.buckets.len()).unwrap_or(u32::MAX);
            self.buckets.push(Bucket::default());
            self.nodes[node as usize].bucket = Some(b);
            b
        };
        let bucket = &mut self.buckets[b as usize];
        match (literal, recursive) {
            (Some(l), false) => bucket.here_literal.entry(l).or_default().push(id),
            (None, false) => bucket.here_wild.push(id),
            (Some(l), true) => bucket.rec_literal.entry(l).or_default().push(id),
            (None, true) => bucket.rec_wild.push(id),
        }
    }

    /// The abs-trie node of a volume key (`None` for no volume, or one no spec is on).
    pub(super) fn volume_node(&self, volume: &str) -> Option<u32> {
        if volume.is_empty() {
            return None;
        }
        let mut node = ABS_ROOT;
        for c in volume.split('\\') {
            node = *self.nodes[node as usize].children.get(c)?;
        }
        Some(node)
    }

    /// Buckets relevant to a directory, into `out`: (bucket, whether the directory *is* the
    /// bucket's). `abs` is the node of the directory's volume ([`Self::volume_node`]); the
    /// directory's segments, lower-cased, are `low` at `dirs`.
    pub(super) fn relevant(
        &self,
        abs: Option<u32>,
        low: &str,
        dirs: &[(usize, usize)],
        out: &mut Vec<(u32, bool)>,
    ) {
        out.clear();
        if let Some(n) = abs {
            self.walk(n, low, dirs, out);
        }
        self.walk(REL_ROOT, low, dirs, out);
    }

    /// [`Self::relevant`] below one root.
    fn walk(&self, mut node: u32, low: &str, dirs: &[(usize, usize)], out: &mut Vec<(u32, bool)>) {
        for depth in 0..=dirs.len() {
            let n = &self.nodes[node as usize];
            if let Some(b) = n.bucket {
                out.push((b, depth == dirs.len()));
            }
            let Some(&(a, b)) = dirs.get(depth) else {
                break;
            };
            match n.children.get(&low[a..b]) {
                Some(&c) => node = c,
                None => break,
            }
        }
    }
}
