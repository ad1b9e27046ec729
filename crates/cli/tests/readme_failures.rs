//! The README's "Failures, as they print" section is what the tool prints (issue 15, item 10):
//! each `    $ rehydrate …` line there is run in a folder set up as the README describes, and
//! every output line shown under it must be a line of the real output (stdout then stderr,
//! the temporary folder shown as `/tmp/demo`), with the exit code shown as `[exit code N]`.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::Command;

use common::fast_tempdir;

/// One example: the arguments, the lines shown, the exit code shown.
struct Example {
    args: Vec<String>,
    lines: Vec<String>,
    code: i32,
}

fn examples(readme: &str) -> Vec<Example> {
    let section = readme
        .split("### Failures, as they print")
        .nth(1)
        .expect("the README has the failures section");
    let section = section.split("\n### ").next().unwrap_or_default();
    let mut out: Vec<Example> = Vec::new();
    for line in section.lines() {
        if let Some(cmd) = line.strip_prefix("    $ rehydrate ") {
            out.push(Example {
                args: cmd.split_whitespace().map(str::to_owned).collect(),
                lines: Vec::new(),
                code: -1,
            });
        } else if let (Some(ex), Some(shown)) = (out.last_mut(), line.strip_prefix("    ")) {
            if let Some(code) = shown
                .strip_prefix("[exit code ")
                .and_then(|c| c.strip_suffix(']'))
            {
                ex.code = code.parse().expect("an exit code");
            } else if ex.code < 0 {
                ex.lines.push(shown.to_owned());
            }
        }
    }
    out
}

/// The pseudo-random bytes of `sub/big.bin` (an LCG: incompressible, the same on every run).
fn big() -> Vec<u8> {
    let mut x: u64 = 1;
    (0..200_000)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect()
}

fn rehydrate(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rehydrate"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// `folder/` and the damaged `vol/` of the README.
fn setup(dir: &Path) {
    let folder = dir.join("folder");
    std::fs::create_dir_all(folder.join("sub")).unwrap();
    std::fs::write(folder.join("A.txt"), b"HI").unwrap();
    std::fs::write(folder.join("a.txt"), b"hi").unwrap();
    std::os::unix::fs::symlink("a.txt", folder.join("link")).unwrap();
    std::fs::write(folder.join("sub/big.bin"), big()).unwrap();
    let o = rehydrate(
        dir,
        &[
            "sim",
            "optimize",
            "--source",
            "folder",
            "--to",
            "vol",
            "--skip-unsupported",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ccc = common::data_container(&dir.join("vol"));
    let mut bytes = std::fs::read(&ccc).unwrap();
    for b in &mut bytes[0x5400..0x5410] {
        *b ^= 0xA5;
    }
    std::fs::write(&ccc, bytes).unwrap();
}

#[test]
fn the_failures_the_readme_shows_are_what_the_tool_prints() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let list = examples(&readme);
    assert!(list.len() >= 5, "too few examples: {}", list.len());
    let tmp = fast_tempdir();
    setup(tmp.path());
    let real = tmp.path().canonicalize().unwrap();
    for ex in &list {
        assert!(
            !ex.lines.is_empty() && ex.code >= 0,
            "{:?}: no output or exit code shown",
            ex.args
        );
        let args: Vec<&str> = ex.args.iter().map(String::as_str).collect();
        let o = rehydrate(tmp.path(), &args);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
        .replace(real.to_str().unwrap(), "/tmp/demo");
        let got: Vec<&str> = all.lines().collect();
        for want in &ex.lines {
            assert!(
                got.contains(&want.as_str()),
                "rehydrate {args:?}: the README shows\n{want}\nbut it printed\n{all}"
            );
        }
        assert_eq!(o.status.code(), Some(ex.code), "rehydrate {args:?}: {all}");
    }
}
