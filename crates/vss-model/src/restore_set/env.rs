//! `%VAR%` expansion of file-set and exclusion paths.

use std::collections::HashMap;

use thiserror::Error;

/// Environment variables for `%VAR%` expansion; names are case-insensitive.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: HashMap<String, String>,
}

/// A `%VAR%` that the environment does not define.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown environment variable %{name}% in {path:?}")]
pub struct UnknownVariable {
    /// The variable name as written.
    pub name: String,
    /// The path that uses it.
    pub path: String,
}

impl Environment {
    /// An empty environment.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Defines (or replaces) a variable.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.vars.insert(name.to_lowercase(), value.to_owned());
        self
    }

    /// The usual variables of a Windows installation on `system_drive` (e.g. `C:`):
    /// SystemDrive, SystemRoot, WinDir, ProgramData, ProgramFiles, ProgramFiles(x86),
    /// AllUsersProfile. These are defaults, not facts about the backed-up host.
    #[must_use]
    pub fn windows_defaults(system_drive: &str) -> Self {
        let d = system_drive.trim_end_matches('\\');
        let mut env = Self::new();
        env.set("SystemDrive", d)
            .set("SystemRoot", &format!("{d}\\Windows"))
            .set("WinDir", &format!("{d}\\Windows"))
            .set("ProgramData", &format!("{d}\\ProgramData"))
            .set("AllUsersProfile", &format!("{d}\\ProgramData"))
            .set("ProgramFiles", &format!("{d}\\Program Files"))
            .set("ProgramFiles(x86)", &format!("{d}\\Program Files (x86)"));
        env
    }

    /// Looks a variable up (case-insensitive).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(&name.to_lowercase()).map(String::as_str)
    }

    /// Expands every `%NAME%`. `%%` is a literal `%`; a `%` without a closing one is literal.
    pub fn expand(&self, path: &str) -> Result<String, UnknownVariable> {
        let mut out = String::with_capacity(path.len());
        let mut rest = path;
        while let Some(open) = rest.find('%') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('%') else {
                out.push_str(&rest[open..]);
                return Ok(out);
            };
            let name = &after[..close];
            if name.is_empty() {
                out.push('%');
            } else {
                match self.get(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        return Err(UnknownVariable {
                            name: name.to_owned(),
                            path: path.to_owned(),
                        });
                    }
                }
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}
