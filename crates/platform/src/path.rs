//! `WinPath`: a volume-root-relative Windows path.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::Error;

/// Longest component NTFS accepts, in UTF-16 code units.
pub const MAX_COMPONENT_LEN: usize = 255;

/// A path relative to a volume's root, with Windows semantics:
///
/// * written with `\` separators; a leading `\` is optional (`\a\b` and `a\b` are the same
///   path) and `/` is accepted as a separator too (as Win32 does); the root is `\`;
/// * compared, hashed and looked up case-insensitively (each character upper-cased with Unicode
///   simple case mapping; NTFS uses its own upcase table, which agrees for ordinary names);
///   the original case is kept for display and for creating files;
/// * never escapes the volume: `.` and `..` components, empty components (`a\\b`), drive
///   letters and stream names (`:`), the characters `< > " | ? *`, control characters, names
///   ending in a space or a dot, reserved device names (`CON`, `PRN`, `AUX`, `NUL`, `COM1`–`COM9`,
///   `LPT1`–`LPT9`, with or without an extension) and components longer than 255 UTF-16 units
///   are rejected with [`Error::InvalidPath`].
#[derive(Clone)]
pub struct WinPath {
    /// The components joined by `\`, without a leading one (empty for the root). One string
    /// per path, where a vector of names took an allocation per component: a restore makes,
    /// joins and folds paths several times for every file.
    text: String,
    /// How many components `text` holds.
    count: usize,
}

/// `s` case-folded (see [`fold_into`]); the host volume's name index is keyed by it.
#[cfg(unix)]
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// Appends `s` case-folded to `out`: each character upper-cased with [`fold_char`].
fn fold_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_uppercase();
    } else {
        out.extend(s.chars().map(fold_char));
    }
}

/// One character as [`fold`] maps it: its uppercase form when that is a single character,
/// else itself. (A non-ASCII character may fold to an ASCII one: `ı` and `ſ` fold to `I`
/// and `S`.)
fn fold_char(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn invalid(path: &str, reason: &'static str) -> Error {
    Error::InvalidPath {
        path: path.to_owned(),
        reason,
    }
}

/// Checks one path component (`whole`: the path it is part of, for the error).
pub(crate) fn check_component(whole: &str, c: &str) -> Result<(), Error> {
    component_fault(c).map_or(Ok(()), |reason| Err(invalid(whole, reason)))
}

/// What is wrong with path component `c`, if anything.
fn component_fault(c: &str) -> Option<&'static str> {
    if c.is_empty() {
        return Some("empty component");
    }
    if c == "." || c == ".." {
        return Some("`.` and `..` components are not allowed");
    }
    if let Some(bad) = c.chars().find(|&ch| ch < ' ' || "<>:\"|?*\\/".contains(ch)) {
        return Some(if bad == ':' {
            "`:` (drive letters and stream names) is not allowed"
        } else if bad < ' ' {
            "control characters are not allowed"
        } else {
            "one of < > \" | ? * is not allowed"
        });
    }
    if c.ends_with(' ') || c.ends_with('.') {
        return Some("a component may not end in a space or a dot");
    }
    if c.encode_utf16().count() > MAX_COMPONENT_LEN {
        return Some("component longer than 255 UTF-16 units");
    }
    is_reserved_stem(c.split('.').next().unwrap_or(c)).then_some("reserved device name")
}

/// `CON`, `PRN`, `AUX`, `NUL`, `COM1`–`COM9`, `LPT1`–`LPT9`, compared as [`fold`] compares
/// (trailing spaces ignored), without building the folded string: every component of every
/// path made is checked.
fn is_reserved_stem(stem: &str) -> bool {
    let mut folded = ['\0'; 4];
    let mut n = 0;
    for c in stem.trim_end().chars().map(fold_char) {
        if n == folded.len() {
            return false;
        }
        folded[n] = c;
        n += 1;
    }
    match &folded[..n] {
        ['C', 'O', 'N'] | ['P', 'R', 'N'] | ['A', 'U', 'X'] | ['N', 'U', 'L'] => true,
        ['C', 'O', 'M', d] | ['L', 'P', 'T', d] => matches!(d, '1'..='9'),
        _ => false,
    }
}

impl WinPath {
    /// The volume root, `\`.
    #[must_use]
    pub fn root() -> Self {
        Self {
            text: String::new(),
            count: 0,
        }
    }

    /// Parses a path (see the type docs for what is accepted).
    pub fn new(s: &str) -> Result<Self, Error> {
        let body = s.strip_prefix(['\\', '/']).unwrap_or(s);
        if body.is_empty() {
            return Ok(Self::root());
        }
        let mut text = String::with_capacity(body.len());
        let mut count = 0;
        for c in body.split(['\\', '/']) {
            check_component(s, c)?;
            if count > 0 {
                text.push('\\');
            }
            text.push_str(c);
            count += 1;
        }
        Ok(Self { text, count })
    }

    /// This path with one more component.
    pub fn join(&self, name: &str) -> Result<Self, Error> {
        if let Some(reason) = component_fault(name) {
            let mut shown = self.to_string();
            if !self.is_root() {
                shown.push('\\');
            }
            shown.push_str(name);
            return Err(invalid(&shown, reason));
        }
        let mut text = String::with_capacity(self.text.len() + 1 + name.len());
        text.push_str(&self.text);
        if !self.is_root() {
            text.push('\\');
        }
        text.push_str(name);
        Ok(Self {
            text,
            count: self.count + 1,
        })
    }

    /// This path followed by every component of `rel`.
    #[must_use]
    pub fn join_path(&self, rel: &WinPath) -> Self {
        if self.is_root() {
            return rel.clone();
        }
        if rel.is_root() {
            return self.clone();
        }
        let mut text = String::with_capacity(self.text.len() + 1 + rel.text.len());
        text.push_str(&self.text);
        text.push('\\');
        text.push_str(&rel.text);
        Self {
            text,
            count: self.count + rel.count,
        }
    }

    /// True for the volume root.
    #[must_use]
    pub fn is_root(&self) -> bool {
        self.count == 0
    }

    /// The parent directory (`None` for the root).
    #[must_use]
    pub fn parent(&self) -> Option<Self> {
        if self.is_root() {
            return None;
        }
        Some(Self {
            text: self.folder_text().to_owned(),
            count: self.count - 1,
        })
    }

    /// Whether this path and `other` are in the same folder (compared case-insensitively; the
    /// root is in none), without making either parent.
    #[must_use]
    pub fn same_parent(&self, other: &WinPath) -> bool {
        !self.is_root()
            && !other.is_root()
            && self.count == other.count
            && eq_name(self.folder_text(), other.folder_text())
    }

    /// The text of the parent folder (empty for a name in the root).
    fn folder_text(&self) -> &str {
        self.text.rfind('\\').map_or("", |i| &self.text[..i])
    }

    /// The last component (`None` for the root).
    #[must_use]
    pub fn file_name(&self) -> Option<&str> {
        if self.is_root() {
            return None;
        }
        let start = self.text.rfind('\\').map_or(0, |i| i + 1);
        Some(&self.text[start..])
    }

    /// The components, root first.
    #[must_use]
    pub fn components(&self) -> impl ExactSizeIterator<Item = &str> {
        Components {
            rest: (!self.is_root()).then_some(self.text.as_str()),
            left: self.count,
        }
    }

    /// Case-insensitive prefix test on whole components (`\a` is an ancestor of `\A\b` and of
    /// itself; not of `\ab`).
    #[must_use]
    pub fn starts_with(&self, prefix: &WinPath) -> bool {
        prefix.count <= self.count
            && prefix
                .components()
                .zip(self.components())
                .all(|(a, b)| eq_name(a, b))
    }

    /// The case-folded form used for comparison and hashing (`\A\B`).
    #[must_use]
    pub fn folded(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 1);
        out.push('\\');
        fold_into(&self.text, &mut out);
        out
    }
}

/// The components of a [`WinPath`], split off its text as they are asked for.
struct Components<'a> {
    /// The components not yet given (`None` when none are left).
    rest: Option<&'a str>,
    left: usize,
}

impl<'a> Iterator for Components<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        self.left -= 1;
        if let Some((first, tail)) = rest.split_once('\\') {
            self.rest = Some(tail);
            Some(first)
        } else {
            self.rest = None;
            Some(rest)
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Components<'_> {}

/// Case-insensitive comparison of two names, as [`WinPath`] compares components.
#[must_use]
pub fn eq_name(a: &str, b: &str) -> bool {
    // Without allocating, and the common answers first: name comparisons run for every open
    // handle on every open and rename. Equal lengths and bytes equal but for ASCII case mean
    // equal folded forms; names of ASCII only are equal in no other way.
    if a.len() == b.len() && a.eq_ignore_ascii_case(b) {
        return true;
    }
    if a.is_ascii() && b.is_ascii() {
        return false;
    }
    a.chars().map(fold_char).eq(b.chars().map(fold_char))
}

impl PartialEq for WinPath {
    /// Component by component, case-insensitively; on the whole text at once, since `\`
    /// matches only itself when folded.
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count && eq_name(&self.text, &other.text)
    }
}

impl Eq for WinPath {}

impl Hash for WinPath {
    /// The bytes of the folded text, a stack buffer at a time: paths that compare equal fold
    /// to the same bytes, so they hash alike, and nothing is allocated.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut buf = [0u8; 64];
        let mut n = 0;
        for c in self.text.chars() {
            if n + 4 > buf.len() {
                state.write(&buf[..n]);
                n = 0;
            }
            n += if c.is_ascii() {
                buf[n] = c.to_ascii_uppercase() as u8;
                1
            } else {
                fold_char(c).encode_utf8(&mut buf[n..]).len()
            };
        }
        state.write(&buf[..n]);
        state.write_u8(0xff);
    }
}

impl fmt::Display for WinPath {
    /// `\a\b`; the root is `\`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\\")?;
        f.write_str(&self.text)
    }
}

impl fmt::Debug for WinPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WinPath({self})")
    }
}

impl FromStr for WinPath {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for WinPath {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}
