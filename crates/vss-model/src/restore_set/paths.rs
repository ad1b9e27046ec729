//! Path normalisation for matching: splitting a Windows path into a volume key and segments,
//! lower-casing, and the helpers generation keys files and drives by.

use std::collections::HashMap;

/// A path split for matching: a volume key (lower case: `c:`, `volume{guid}`,
/// `\\server\share`, or empty for volume-relative paths) and its segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitPath<'a> {
    /// The volume key, lower case; empty for a volume-relative path.
    pub volume: String,
    /// The segments after the volume, as written (case kept).
    pub segments: Vec<&'a str>,
}

/// Splits a Windows path (see the module docs for what is normalised).
#[must_use]
pub fn split_path(path: &str) -> SplitPath<'_> {
    let mut volume = String::new();
    let mut ranges = Vec::new();
    split_ranges(path, &mut volume, &mut ranges);
    SplitPath {
        volume,
        segments: ranges.iter().map(|&(a, b)| &path[a..b]).collect(),
    }
}

/// [`split_path`] into caller-owned buffers (cleared first): the volume key, and each segment
/// as a byte range of `path`. The catalog loop uses this so that it allocates nothing per path.
pub(super) fn split_ranges(path: &str, volume: &mut String, out: &mut Vec<(usize, usize)>) {
    volume.clear();
    out.clear();
    // `trim` only when an end is not plainly an ASCII graphic character (the common case).
    let plain = |b: Option<&u8>| b.is_some_and(u8::is_ascii_graphic);
    let (p, p_at) = if plain(path.as_bytes().first()) && plain(path.as_bytes().last()) {
        (path, 0)
    } else {
        let t = path.trim_start();
        (t.trim_end(), path.len() - t.len())
    };
    let mut rest = p;
    let mut rest_at = p_at;
    for prefix in [r"\\?\", r"\??\", r"\\.\", "//?/", "//./"] {
        if let Some(r) = rest.strip_prefix(prefix) {
            rest = r;
            rest_at += prefix.len();
            if r.get(..4)
                .is_some_and(|h| h.eq_ignore_ascii_case(r"unc\") || h.eq_ignore_ascii_case("unc/"))
            {
                unc_split(path, &r[4..], rest_at + 4, volume, out);
                return;
            }
            break;
        }
    }
    let is_sep = |c: char| c == '\\' || c == '/';
    if rest.len() == p.len() && (p.starts_with(r"\\") || p.starts_with("//")) {
        unc_split(path, &p[2..], p_at + 2, volume, out);
        return;
    }
    let bytes = rest.as_bytes();
    let (tail, tail_at) = if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic()
    {
        volume.push(char::from(bytes[0].to_ascii_lowercase()));
        volume.push(':');
        (&rest[2..], rest_at + 2)
    } else if rest
        .get(..7)
        .is_some_and(|h| h.eq_ignore_ascii_case("volume{"))
    {
        let end = rest.find(is_sep).unwrap_or(rest.len());
        push_lower(volume, &rest[..end]);
        (&rest[end..], rest_at + end)
    } else {
        (rest, rest_at)
    };
    segments(tail, tail_at, out);
}

fn unc_split(
    path: &str,
    after: &str,
    after_at: usize,
    volume: &mut String,
    out: &mut Vec<(usize, usize)>,
) {
    segments(after, after_at, out);
    volume.push_str(r"\\");
    let n = out.len().min(2);
    for (i, &(a, b)) in out[..n].iter().enumerate() {
        if i > 0 {
            volume.push('\\');
        }
        push_lower(volume, &path[a..b]);
    }
    out.drain(..n);
}

/// The segments of `tail` (which starts at byte `at` of the path), as byte ranges of the path:
/// empty and `.` segments dropped, `..` removing the one before.
fn segments(tail: &str, at: usize, out: &mut Vec<(usize, usize)>) {
    let bytes = tail.as_bytes();
    let mut start = 0;
    let mut segment = |start: usize, end: usize| match &bytes[start..end] {
        b"" | b"." => {}
        b".." => {
            out.pop();
        }
        _ => out.push((at + start, at + end)),
    };
    // Separators are ASCII (so every cut is a char boundary); find them eight bytes at a time.
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let mut seps = zero_bytes(w ^ (u64::from(b'\\') * LOW_BYTES))
            | zero_bytes(w ^ (u64::from(b'/') * LOW_BYTES));
        while seps != 0 {
            let j = i + (seps.trailing_zeros() / 8) as usize;
            segment(start, j);
            start = j + 1;
            seps &= seps - 1;
        }
        i += 8;
    }
    for (j, &b) in bytes.iter().enumerate().skip(i) {
        if b == b'\\' || b == b'/' {
            segment(start, j);
            start = j + 1;
        }
    }
    segment(start, bytes.len());
}

const LOW_BYTES: u64 = 0x0101_0101_0101_0101;

/// The high bit of each byte of `x` that is zero (exact: no carries between bytes).
fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    !(((x & LOW7) + LOW7) | x) & !LOW7
}

fn lower_join(segs: &[&str]) -> String {
    let mut s = String::new();
    for (i, seg) in segs.iter().enumerate() {
        if i > 0 {
            s.push('\\');
        }
        push_lower(&mut s, seg);
    }
    s
}

pub(super) fn push_lower(out: &mut String, s: &str) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
    } else {
        out.push_str(&s.to_lowercase());
    }
}

fn abs_key(volume: &str, rel: &str) -> String {
    if rel.is_empty() {
        volume.to_owned()
    } else {
        format!("{volume}\\{rel}")
    }
}

/// Whether logical path `path` is `ancestor` or lies below it, segment by segment and
/// case-insensitively (`a\bc` is not under `a\b`).
#[must_use]
pub fn is_under(path: &str, ancestor: &str) -> bool {
    let p = path.trim_matches('\\');
    let a = ancestor.trim_matches('\\');
    if a.is_empty() {
        return true;
    }
    if p.len() < a.len() || !p.is_char_boundary(a.len()) {
        return false;
    }
    let (head, tail) = p.split_at(a.len());
    head.eq_ignore_ascii_case(a) && (tail.is_empty() || tail.starts_with('\\'))
}

/// The drive letter of a path (`C:\x` → `C:`; a volume-GUID path through `volumes`), upper
/// case; `None` when the path names none.
pub(super) fn drive_of(path: &str, volumes: &HashMap<String, String>) -> Option<String> {
    let p = path.trim();
    let p = p
        .strip_prefix("\\\\?\\")
        .or_else(|| p.strip_prefix("\\??\\"))
        .unwrap_or(p);
    let b = p.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Some(p[..2].to_ascii_uppercase());
    }
    let head = p.split(['\\', '/']).next()?.to_ascii_lowercase();
    volumes.get(&head).map(|d| d.to_ascii_uppercase())
}

/// Whether a file set path can name files on a local volume: no `.` or `..` component (it
/// would climb out of the folder the writer names), and no UNC or device path other than a
/// volume-GUID path (`\\?\Volume{…}\`, matched through the volume map).
pub(super) fn is_sound_path(p: &str) -> bool {
    let unc = p.starts_with("\\\\") || p.starts_with("//");
    let volume_guid = p
        .get(..11)
        .is_some_and(|h| h.eq_ignore_ascii_case("\\\\?\\Volume{"));
    (!unc || volume_guid) && p.split(['\\', '/']).all(|c| c != "." && c != "..")
}

/// The volume key a volume-GUID key stands for in the volume map (its drive), or the key.
pub(super) fn canonical_volume(volume: String, volumes: &HashMap<String, String>) -> String {
    match volumes.get(&volume) {
        Some(drive) => drive.clone(),
        None => volume,
    }
}

/// A file's normalised key (canonical volume, lower-cased segments), for the partial-file and
/// directed-target tables.
pub(super) fn file_key(path: &str, volumes: &HashMap<String, String>) -> String {
    let s = split_path(path);
    let volume = canonical_volume(s.volume, volumes);
    abs_key(&volume, &lower_join(&s.segments))
}
