//! Project automation (matklad's cargo-xtask pattern): `cargo xtask <task>`.
//!
//! * `ci` — exactly what CI runs: `bash .ci/run` (fmt check, clippy, the README test command).
//! * `fuzz [SECONDS]` — every cargo-fuzz target of every crate for SECONDS each (default 60),
//!   starting from the committed inputs in `<crate>/fuzz/regressions/<target>/`; needs the
//!   nightly toolchain and `cargo install cargo-fuzz`. Prints libFuzzer's exec counts.
//! * `bench [ARGS…]` — every criterion bench (`cargo bench --workspace ARGS…`), among them the
//!   restore engine's `container_read` (1 GiB logical; `REHYDRATE_BENCH_GIB=0.25` for a quick
//!   run). ARGS go to cargo, e.g. `cargo xtask bench -p dedup-restore --bench container_read`.
//! * `fixtures` — regenerates every generated fixture from the current code, for review before
//!   commit: the CLI's golden outputs (`crates/cli/tests/golden/`, by running the `golden`
//!   test with `REHYDRATE_BLESS=1`), the Xpress golden streams (`crates/xpress/tests/golden/`)
//!   and the chunk-store fuzz seeds (`crates/dedup-store/fuzz/regressions/`). The real Windows
//!   samples in `fixtures/` are never regenerated.
//! * `wincheck` — the Windows target check and the Wine tests: `bash .ci/wincheck`.
//! * `rerun-tests NAME=VALUE PACKAGE…` — the test executables of the `cargo test --workspace`
//!   build run again for some packages with one variable set (CI: the SHA-512 kernels forced
//!   off); see `rerun.rs` for why not `cargo test -p`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod rerun;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn run(cmd: &mut Command) -> bool {
    eprintln!("xtask: running {cmd:?}");
    match cmd.status() {
        Ok(s) => s.success(),
        Err(e) => {
            eprintln!("xtask: cannot start {cmd:?}: {e}");
            false
        }
    }
}

/// `(crate fuzz dir, target name)` for every `[[bin]]` in every `crates/*/fuzz/Cargo.toml`.
fn fuzz_targets() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(crates) = std::fs::read_dir(root().join("crates")) else {
        return out;
    };
    let mut dirs: Vec<PathBuf> = crates
        .filter_map(Result::ok)
        .map(|e| e.path().join("fuzz"))
        .collect();
    dirs.sort();
    for dir in dirs {
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let mut in_bin = false;
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                in_bin = line == "[[bin]]";
            } else if in_bin
                && let Some(name) = line
                    .strip_prefix("name")
                    .and_then(|r| r.trim().strip_prefix('='))
            {
                out.push((dir.clone(), name.trim().trim_matches('"').to_owned()));
            }
        }
    }
    out
}

fn fuzz(seconds: u64) -> bool {
    let mut ok = true;
    for (dir, target) in fuzz_targets() {
        let corpus = dir.join("corpus").join(&target);
        let seeds = dir.join("regressions").join(&target);
        let _ = std::fs::create_dir_all(&corpus);
        let mut cmd = Command::new("cargo");
        cmd.current_dir(&dir)
            .args(["+nightly", "fuzz", "run", &target])
            .arg(&corpus)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-rss_limit_mb=2048");
        ok &= run(&mut cmd);
    }
    ok
}

/// The usage line: every task, in the order of the module docs.
const USAGE: &str = "usage: cargo xtask TASK\n\
    tasks:\n  \
    ci                            what CI runs (bash .ci/run)\n  \
    fuzz [SECONDS]                every fuzz target for SECONDS each (default 60; nightly)\n  \
    bench [CARGO BENCH ARGS]      every criterion bench\n  \
    fixtures                      regenerate golden outputs, golden streams and fuzz seeds\n  \
    wincheck                      Windows target check and Wine tests (bash .ci/wincheck)\n  \
    rerun-tests NAME=VALUE PKG... rerun the workspace test build's executables with NAME=VALUE";

/// `cargo xtask fixtures`: each generator in turn; all run even when one fails.
fn fixtures() -> bool {
    let root = root();
    let cargo = || {
        let mut c = Command::new("cargo");
        c.current_dir(&root);
        c
    };
    let mut ok = run(cargo()
        .args(["test", "-p", "rehydrate-cli", "--test", "golden"])
        .env("REHYDRATE_BLESS", "1"));
    ok &= run(cargo().args(["run", "-p", "xpress", "--example", "golden"]));
    ok &= run(cargo()
        .args(["run", "-p", "dedup-store", "--example", "fuzz_seeds", "--"])
        .arg(root.join("crates/dedup-store/fuzz/regressions")));
    if ok {
        eprintln!("xtask: fixtures regenerated; review `git diff` before committing");
    }
    ok
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ok = match args.first().map(String::as_str) {
        Some("ci") => run(Command::new("bash")
            .arg(root().join(".ci/run"))
            .current_dir(root())),
        Some("fuzz") => {
            let secs = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(60);
            fuzz(secs)
        }
        Some("bench") => {
            let mut cmd = Command::new("cargo");
            cmd.arg("bench");
            if !args[1..]
                .iter()
                .any(|a| a == "-p" || a.starts_with("--package"))
            {
                cmd.arg("--workspace");
            }
            run(cmd.args(&args[1..]).current_dir(root()))
        }
        Some("fixtures") => fixtures(),
        Some("wincheck") => run(Command::new("bash")
            .arg(root().join(".ci/wincheck"))
            .current_dir(root())),
        Some("rerun-tests") if args.len() >= 2 => rerun::rerun_tests(&root(), &args[1], &args[2..]),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            true
        }
        _ => {
            eprintln!("{USAGE}");
            false
        }
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
