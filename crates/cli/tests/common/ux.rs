//! Reading a `rehydrate` run's output in the tests of how people use it.

use std::path::Path;
use std::process::Output;

use super::list;

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The one line on stderr of a refused run (and nothing on stdout).
pub fn one_line(o: &Output) -> String {
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(o.stdout.is_empty(), "{}", stdout(o));
    err.trim_end().to_owned()
}

/// Every path of the output (relative, with `/`), for comparisons.
pub fn tree(root: &Path) -> Vec<String> {
    if !root.exists() {
        return Vec::new();
    }
    list(root)
}
