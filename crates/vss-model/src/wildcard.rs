//! `FindFirstFile` wildcard matching for file specs (docs/vss-restore.md §3.6) [D-FFF].
//!
//! Win32 rewrites a pattern before the file system matches it (the rules are described in
//! [MS-FSA] 2.1.4.4 and in the `FsRtlIsNameInExpression` documentation; .NET's
//! `FileSystemName.TranslateWin32Expression` documents the same rewrite). Our reading, which
//! this module implements:
//!
//! * empty, `*` and `*.*` match every name — so `*.*` also matches names **without** a dot;
//! * `?` becomes DOS_QM: one character, except that it never consumes a `.`, and at a `.` or
//!   at the end of the name the rest of a run of `?` matches nothing (`Perfc???.dat` matches
//!   `Perfc009.dat` and also `Perfc1.dat`);
//! * a `.` followed by `?` or `*` becomes DOS_DOT: a `.`, or nothing at the end of the name
//!   (`edb.*` matches `edb`);
//! * a pattern ending in `*.` becomes DOS_STAR + DOS_DOT: names without a dot;
//! * `*` elsewhere is any run of characters, dots included;
//! * everything else compares case-insensitively (Unicode simple lower-casing, which is close
//!   to but not exactly NTFS's upcase table).
//!
//! **8.3 short names.** Windows also matches a pattern against a file's short name, so `*.dat`
//! can find `report.data` through `REPORT~1.DAT`. A catalog of original paths does not carry
//! short names; when the caller supplies one (see [`crate::restore_set::CatalogEntry`]) it is
//! tried as well, otherwise only the long name is matched and such files are not found.

/// One token of a translated pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    Star,
    DosStar,
    DosQm,
    DosDot,
}

/// A compiled file spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    toks: Vec<Tok>,
    literal: Option<String>,
}

impl Pattern {
    /// Compiles a `filespec` attribute.
    #[must_use]
    pub fn new(spec: &str) -> Self {
        let lower = spec.to_lowercase();
        if lower.is_empty() || lower == "*" || lower == "*.*" {
            return Self {
                toks: vec![Tok::Star],
                literal: None,
            };
        }
        let chars: Vec<char> = lower.chars().collect();
        let mut toks = Vec::with_capacity(chars.len());
        for (i, &c) in chars.iter().enumerate() {
            let next = chars.get(i + 1).copied();
            match c {
                '?' => toks.push(Tok::DosQm),
                '*' => toks.push(Tok::Star),
                '.' if next.is_none() && toks.last() == Some(&Tok::Star) => {
                    let last = toks.len() - 1;
                    toks[last] = Tok::DosStar;
                    toks.push(Tok::DosDot);
                }
                '.' if matches!(next, Some('?' | '*')) => toks.push(Tok::DosDot),
                c => toks.push(Tok::Lit(c)),
            }
        }
        let literal = toks
            .iter()
            .all(|t| matches!(t, Tok::Lit(_)))
            .then(|| lower.clone());
        Self { toks, literal }
    }

    /// The lower-cased name when the spec has no wildcard.
    #[must_use]
    pub fn literal(&self) -> Option<&str> {
        self.literal.as_deref()
    }

    /// Whether `name` (any case) matches.
    #[must_use]
    pub fn matches(&self, name: &str) -> bool {
        if name.chars().any(char::is_uppercase) {
            self.matches_lower(&name.to_lowercase())
        } else {
            self.matches_lower(name)
        }
    }

    /// Whether an already lower-cased `name` matches.
    #[must_use]
    pub fn matches_lower(&self, name: &str) -> bool {
        if name.is_empty() {
            return false;
        }
        if let Some(l) = &self.literal {
            return l == name;
        }
        if self.toks == [Tok::Star] {
            return true;
        }
        let n = self.toks.len();
        let last_dot = name.rfind('.');
        // State sets on the stack for the usual short pattern; on the heap otherwise.
        let (mut cur_a, mut nxt_a) = ([false; 32], [false; 32]);
        let (mut cur_v, mut nxt_v);
        let (mut cur, mut nxt): (&mut [bool], &mut [bool]) = if n < 32 {
            (&mut cur_a[..=n], &mut nxt_a[..=n])
        } else {
            cur_v = vec![false; n + 1];
            nxt_v = vec![false; n + 1];
            (&mut cur_v, &mut nxt_v)
        };
        cur[0] = true;
        let mut chars = name.char_indices().peekable();
        loop {
            let peek = chars.peek().map(|&(_, c)| c);
            self.closure(cur, peek);
            let Some((i, c)) = chars.next() else { break };
            nxt.fill(false);
            let mut any = false;
            for (p, tok) in self.toks.iter().enumerate() {
                if !cur[p] {
                    continue;
                }
                let to = match *tok {
                    Tok::Lit(l) if l == c => Some(p + 1),
                    Tok::Star => Some(p),
                    Tok::DosStar if c != '.' || Some(i) != last_dot => Some(p),
                    Tok::DosQm if c != '.' => Some(p + 1),
                    Tok::DosDot if c == '.' => Some(p + 1),
                    _ => None,
                };
                if let Some(t) = to {
                    nxt[t] = true;
                    any = true;
                }
            }
            if !any {
                return false;
            }
            std::mem::swap(&mut cur, &mut nxt);
        }
        cur[n]
    }

    /// Adds the states reachable without consuming a character; `next` is the next name
    /// character (`None` at the end of the name).
    fn closure(&self, states: &mut [bool], next: Option<char>) {
        for p in 0..self.toks.len() {
            if !states[p] {
                continue;
            }
            let skip = match self.toks[p] {
                Tok::Star | Tok::DosStar => true,
                Tok::DosQm => matches!(next, None | Some('.')),
                Tok::DosDot => next.is_none(),
                Tok::Lit(_) => false,
            };
            if skip {
                states[p + 1] = true;
            }
        }
    }
}
