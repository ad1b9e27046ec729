//! What a tree restore selects: volume paths as people type them ([`parse_user_path`]) and
//! rsync/restic-style `--include` / `--exclude` globs ([`TreeOptions::include`],
//! [`TreeOptions::exclude`]).
//!
//! Globs are matched case-insensitively, as Windows compares names, on the path relative to the
//! source root with `/` separators (`docs/sub/notes.txt`):
//!
//! * a pattern without `/` is matched against each name (`*.tmp` matches every file so named,
//!   `cache` every file or folder named `cache`);
//! * a pattern with `/` is matched against the whole relative path (a leading `/` is dropped:
//!   patterns are always anchored at the source root); `*` and `?` stay within a name, `**`
//!   crosses folders;
//! * `\` in a pattern is a separator, like `/` (use `[*]` for a literal `*`); a trailing `/` is
//!   dropped;
//! * a folder that matches selects (include) or drops (exclude) everything below it; an exclude
//!   wins over an include.
//!
//! [`TreeOptions::include`]: crate::TreeOptions::include
//! [`TreeOptions::exclude`]: crate::TreeOptions::exclude

use std::path::Path;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use platform::WinPath;

/// Why a path typed by a user is not a volume path ([`parse_user_path`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UserPathError {
    /// It climbs out of where it starts (`..`).
    #[error("path {text:?}: `..` is not allowed in a volume path")]
    ParentComponent {
        /// The text as typed.
        text: String,
    },
    /// A component is not a valid Windows name.
    #[error("path {text:?}: {error}")]
    Invalid {
        /// The text as typed.
        text: String,
        /// Why.
        #[source]
        error: platform::Error,
    },
}

/// A glob that does not compile.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{option} {pattern:?}: {message}")]
pub struct GlobError {
    /// `--include` or `--exclude`.
    pub option: &'static str,
    /// The pattern as given.
    pub pattern: String,
    /// The matcher's message.
    pub message: String,
}

/// Parses a volume path the way people type it: `\docs\a.pdf`, `docs/a.pdf`, `/docs/`,
/// `./docs`, `DOCS` (matched case-insensitively later, as Windows would), or an absolute host
/// path under one of `source_roots` (the source folder as given and as resolved), taken
/// relative to it. `.` components and repeated or trailing separators are dropped; `..` is
/// refused. A leading `/` that does not start a path under a source root means the volume
/// root (`/srv/other/x` outside the source is the volume path `\\srv\\other\\x`).
pub fn parse_user_path(text: &str, source_roots: &[&Path]) -> Result<WinPath, UserPathError> {
    let host = Path::new(text);
    if host.is_absolute() {
        for root in source_roots {
            if let Ok(r) = host.strip_prefix(root) {
                return build(text, r.to_str().unwrap_or(text));
            }
        }
    }
    build(text, text)
}

fn build(text: &str, rel: &str) -> Result<WinPath, UserPathError> {
    let mut parts = Vec::new();
    for c in rel.split(['/', '\\']) {
        match c {
            "" | "." => {}
            ".." => {
                return Err(UserPathError::ParentComponent {
                    text: text.to_owned(),
                });
            }
            c => parts.push(c),
        }
    }
    WinPath::new(&parts.join("\\")).map_err(|error| UserPathError::Invalid {
        text: text.to_owned(),
        error,
    })
}

/// Compiled include or exclude globs.
#[derive(Debug, Clone)]
pub(crate) struct Globs {
    /// Patterns without `/`: matched against a name.
    by_name: GlobSet,
    name_index: Vec<usize>,
    /// Patterns with `/`: matched against the relative path.
    by_path: GlobSet,
    path_index: Vec<usize>,
    len: usize,
}

impl Globs {
    pub(crate) fn new(option: &'static str, patterns: &[String]) -> Result<Self, GlobError> {
        let mut by_name = GlobSetBuilder::new();
        let mut by_path = GlobSetBuilder::new();
        let (mut name_index, mut path_index) = (Vec::new(), Vec::new());
        let err = |pattern: &str, message: String| GlobError {
            option,
            pattern: pattern.to_owned(),
            message,
        };
        for (i, p) in patterns.iter().enumerate() {
            let norm = p.replace('\\', "/");
            let mut norm = norm.as_str();
            while let Some(rest) = norm.strip_prefix("./") {
                norm = rest;
            }
            let norm = norm.trim_start_matches('/').trim_end_matches('/');
            if norm.is_empty() {
                return Err(err(p, "an empty pattern matches nothing".into()));
            }
            let glob: Glob = GlobBuilder::new(norm)
                .case_insensitive(true)
                .literal_separator(true)
                .backslash_escape(false)
                .build()
                .map_err(|e| err(p, e.kind().to_string()))?;
            if norm.contains('/') {
                by_path.add(glob);
                path_index.push(i);
            } else {
                by_name.add(glob);
                name_index.push(i);
            }
        }
        Ok(Self {
            by_name: by_name.build().map_err(|e| err("", e.to_string()))?,
            name_index,
            by_path: by_path.build().map_err(|e| err("", e.to_string()))?,
            path_index,
            len: patterns.len(),
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether `path` itself (not its folders) matches a pattern; marks the patterns that do.
    pub(crate) fn matches(&self, path: &WinPath, hit: &mut [bool]) -> bool {
        if self.is_empty() || path.is_root() {
            return false;
        }
        let mut any = false;
        if let Some(name) = path.file_name() {
            for i in self.by_name.matches(name) {
                hit[self.name_index[i]] = true;
                any = true;
            }
        }
        if !self.path_index.is_empty() {
            let rel = path.components().collect::<Vec<_>>().join("/");
            for i in self.by_path.matches(rel.as_str()) {
                hit[self.path_index[i]] = true;
                any = true;
            }
        }
        any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> String {
        parse_user_path(text, &[Path::new("/srv/vol")])
            .unwrap()
            .to_string()
    }

    #[test]
    fn user_paths() {
        for t in [
            "docs",
            "docs/",
            "./docs",
            "/docs",
            "\\docs\\",
            ".\\docs",
            "/srv/vol/docs",
            "/srv/vol/docs/",
            "docs//",
        ] {
            assert_eq!(p(t), "\\docs", "{t}");
        }
        assert_eq!(p("docs\\sub/a.txt"), "\\docs\\sub\\a.txt");
        assert_eq!(p("/srv/vol"), "\\");
        assert!(matches!(
            parse_user_path("docs/../x", &[]),
            Err(UserPathError::ParentComponent { .. })
        ));
        // Not under the source: a volume path (which then matches nothing).
        assert_eq!(p("/srv/other/docs"), "\\srv\\other\\docs");
        assert!(matches!(
            parse_user_path("a<b", &[]),
            Err(UserPathError::Invalid { .. })
        ));
    }

    #[test]
    fn globs_match_names_and_paths_case_insensitively() {
        let g = Globs::new(
            "--include",
            &["*.TXT".into(), "docs/sub/*".into(), "media\\**".into()],
        )
        .unwrap();
        let mut hit = vec![false; 3];
        let w = |s: &str| WinPath::new(s).unwrap();
        assert!(g.matches(&w("\\docs\\report.txt"), &mut hit));
        assert_eq!(hit, [true, false, false]);
        assert!(g.matches(&w("\\DOCS\\Sub\\x.bin"), &mut hit));
        assert!(g.matches(&w("\\media\\a\\b.mp4"), &mut hit));
        assert_eq!(hit, [true, true, true]);
        assert!(!g.matches(&w("\\docs\\sub\\deeper\\x.bin"), &mut hit));
        assert!(!g.matches(&w("\\docs\\report.pdf"), &mut hit));
        assert!(Globs::new("--exclude", &["a[".into()]).is_err());
    }
}
