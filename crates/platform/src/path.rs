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
    components: Vec<String>,
}

pub(crate) fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_uppercase();
    }
    s.chars().map(fold_char).collect()
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

/// Checks one path component.
pub(crate) fn check_component(whole: &str, c: &str) -> Result<(), Error> {
    if c.is_empty() {
        return Err(invalid(whole, "empty component"));
    }
    if c == "." || c == ".." {
        return Err(invalid(whole, "`.` and `..` components are not allowed"));
    }
    if let Some(bad) = c.chars().find(|&ch| ch < ' ' || "<>:\"|?*\\/".contains(ch)) {
        return Err(if bad == ':' {
            invalid(whole, "`:` (drive letters and stream names) is not allowed")
        } else if bad < ' ' {
            invalid(whole, "control characters are not allowed")
        } else {
            invalid(whole, "one of < > \" | ? * is not allowed")
        });
    }
    if c.ends_with(' ') || c.ends_with('.') {
        return Err(invalid(
            whole,
            "a component may not end in a space or a dot",
        ));
    }
    if c.encode_utf16().count() > MAX_COMPONENT_LEN {
        return Err(invalid(whole, "component longer than 255 UTF-16 units"));
    }
    let stem = fold(c.split('.').next().unwrap_or(c));
    let stem = stem.trim_end();
    let reserved = matches!(stem, "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit()
            && stem.as_bytes()[3] != b'0');
    if reserved {
        return Err(invalid(whole, "reserved device name"));
    }
    Ok(())
}

impl WinPath {
    /// The volume root, `\`.
    #[must_use]
    pub fn root() -> Self {
        Self {
            components: Vec::new(),
        }
    }

    /// Parses a path (see the type docs for what is accepted).
    pub fn new(s: &str) -> Result<Self, Error> {
        let body = s.strip_prefix(['\\', '/']).unwrap_or(s);
        if body.is_empty() {
            return Ok(Self::root());
        }
        let mut components = Vec::new();
        for c in body.split(['\\', '/']) {
            check_component(s, c)?;
            components.push(c.to_owned());
        }
        Ok(Self { components })
    }

    /// This path with one more component.
    pub fn join(&self, name: &str) -> Result<Self, Error> {
        let mut shown = self.to_string();
        if !self.is_root() {
            shown.push('\\');
        }
        shown.push_str(name);
        check_component(&shown, name)?;
        let mut components = self.components.clone();
        components.push(name.to_owned());
        Ok(Self { components })
    }

    /// This path followed by every component of `rel`.
    #[must_use]
    pub fn join_path(&self, rel: &WinPath) -> Self {
        let mut components = self.components.clone();
        components.extend(rel.components.iter().cloned());
        Self { components }
    }

    /// True for the volume root.
    #[must_use]
    pub fn is_root(&self) -> bool {
        self.components.is_empty()
    }

    /// The parent directory (`None` for the root).
    #[must_use]
    pub fn parent(&self) -> Option<Self> {
        let (_, rest) = self.components.split_last()?;
        Some(Self {
            components: rest.to_vec(),
        })
    }

    /// The last component (`None` for the root).
    #[must_use]
    pub fn file_name(&self) -> Option<&str> {
        self.components.last().map(String::as_str)
    }

    /// The components, root first.
    pub fn components(&self) -> impl ExactSizeIterator<Item = &str> {
        self.components.iter().map(String::as_str)
    }

    /// Case-insensitive prefix test on whole components (`\a` is an ancestor of `\A\b` and of
    /// itself; not of `\ab`).
    #[must_use]
    pub fn starts_with(&self, prefix: &WinPath) -> bool {
        prefix.components.len() <= self.components.len()
            && prefix
                .components
                .iter()
                .zip(&self.components)
                .all(|(a, b)| eq_name(a, b))
    }

    /// The case-folded form used for comparison and hashing (`\A\B`).
    #[must_use]
    pub fn folded(&self) -> String {
        fold(&self.to_string())
    }
}

/// Case-insensitive comparison of two names, as [`WinPath`] compares components.
#[must_use]
pub fn eq_name(a: &str, b: &str) -> bool {
    // Without allocating: name comparisons run for every open handle on every rename.
    a == b
        || if a.is_ascii() && b.is_ascii() {
            a.eq_ignore_ascii_case(b)
        } else {
            a.chars().map(fold_char).eq(b.chars().map(fold_char))
        }
}

impl PartialEq for WinPath {
    fn eq(&self, other: &Self) -> bool {
        self.components.len() == other.components.len()
            && self
                .components
                .iter()
                .zip(&other.components)
                .all(|(a, b)| eq_name(a, b))
    }
}

impl Eq for WinPath {}

impl Hash for WinPath {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for c in &self.components {
            fold(c).hash(state);
        }
        self.components.len().hash(state);
    }
}

impl fmt::Display for WinPath {
    /// `\a\b`; the root is `\`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.components.is_empty() {
            return f.write_str("\\");
        }
        for c in &self.components {
            write!(f, "\\{c}")?;
        }
        Ok(())
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
