//! `cargo xtask rerun-tests NAME=VALUE PACKAGE…`: the test executables of some packages run
//! again with one environment variable set, without building anything new.
//!
//! Why not `NAME=VALUE cargo test -p A -p B`: cargo resolves features for the packages it is
//! given, so `-p` alone selects other features of shared dependencies (syn, clap) than
//! `cargo test --workspace` does, and rebuilds every crate above them: a second full debug
//! build, which once filled a CI machine's disk (the linker died with SIGBUS). Here the
//! executables come from `cargo test --workspace --no-run`, the very build CI's test step made.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// One test executable of a workspace package.
struct TestBinary {
    package: String,
    dir: PathBuf,
    exe: PathBuf,
}

/// The package name in a cargo package id: `path+file:///x/crates/foo#0.1.0` (name = the
/// folder) or `path+file:///x/bar#foo@0.1.0`.
fn package_name(id: &str) -> Option<String> {
    let (url, fragment) = id.rsplit_once('#')?;
    if let Some((name, _version)) = fragment.split_once('@') {
        return Some(name.to_owned());
    }
    url.rsplit('/').next().map(str::to_owned)
}

fn test_binaries(root: &Path) -> Result<Vec<TestBinary>, String> {
    let out = Command::new("cargo")
        .args(["test", "--workspace", "--no-run", "--message-format=json"])
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo test --no-run failed: {}", out.status));
    }
    let mut found = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let (Some(exe), Some(id), Some(manifest)) = (
            msg["executable"].as_str(),
            msg["package_id"].as_str(),
            msg["manifest_path"].as_str(),
        ) else {
            continue;
        };
        if msg["profile"]["test"] != Value::Bool(true) {
            continue;
        }
        let package = package_name(id).ok_or_else(|| format!("unreadable package id {id}"))?;
        let dir = Path::new(manifest)
            .parent()
            .ok_or_else(|| format!("manifest path {manifest} has no folder"))?;
        found.push(TestBinary {
            package,
            dir: dir.to_path_buf(),
            exe: PathBuf::from(exe),
        });
    }
    Ok(found)
}

/// Runs the tests of `packages` with `assignment` (`NAME=VALUE`) in their environment.
pub(crate) fn rerun_tests(root: &Path, assignment: &str, packages: &[String]) -> bool {
    let Some((name, value)) = assignment.split_once('=') else {
        eprintln!("xtask: expected NAME=VALUE, got {assignment:?}");
        return false;
    };
    if packages.is_empty() {
        eprintln!("xtask: name at least one package");
        return false;
    }
    let binaries = match test_binaries(root) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("xtask: {e}");
            return false;
        }
    };
    let mut ok = true;
    for package in packages {
        let mine: Vec<&TestBinary> = binaries.iter().filter(|b| &b.package == package).collect();
        if mine.is_empty() {
            eprintln!("xtask: package {package} has no test executable in the workspace build");
            ok = false;
        }
        for bin in mine {
            ok &= crate::run(
                Command::new(&bin.exe)
                    .env(name, value)
                    .env("CARGO_MANIFEST_DIR", &bin.dir)
                    .current_dir(&bin.dir),
            );
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::package_name;

    #[test]
    fn package_names_in_both_id_forms() {
        assert_eq!(
            package_name("path+file:///w/crates/dedup-restore#0.1.0").as_deref(),
            Some("dedup-restore")
        );
        assert_eq!(
            package_name("path+file:///w/cli#rehydrate-cli@0.1.0").as_deref(),
            Some("rehydrate-cli")
        );
        assert_eq!(package_name("no fragment"), None);
    }
}
