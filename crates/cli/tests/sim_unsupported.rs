//! `rehydrate sim optimize` on a folder holding what a Windows volume cannot (issue 15, item
//! 9): a symbolic link and two names that differ only by case. Without `--skip-unsupported`
//! each is named in one line and nothing is written; with it each is reported as skipped (in
//! the text and in `--json`) and the rest is optimized.
#![cfg(unix)]

mod common;

use std::path::Path;

use common::{fast_tempdir, json, rehydrate, s};

/// `in/`: `A.txt`, `a.txt` (same name to NTFS), `link` -> `A.txt`, `sub/big.bin` (optimized).
fn make_input(dir: &Path) {
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("A.txt"), b"upper").unwrap();
    std::fs::write(dir.join("a.txt"), b"lower").unwrap();
    std::os::unix::fs::symlink("A.txt", dir.join("link")).unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.join("sub/big.bin"), big).unwrap();
}

#[test]
fn unsupported_entries_are_named_one_per_line_and_nothing_is_written() {
    let t = fast_tempdir();
    let input = t.path().join("in");
    make_input(&input);
    let out = t.path().join("out");
    let o = rehydrate(&["sim", "optimize", "--source", s(&input), "--to", s(&out)]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    let link = input.join("link");
    let lower = input.join("a.txt");
    assert!(
        lines.contains(
            &format!(
                "rehydrate: cannot import {}: a symbolic link (links are not imported)",
                link.display()
            )
            .as_str()
        ),
        "{err}"
    );
    assert!(
        lines.contains(&format!("rehydrate: cannot import {}: the name differs only by case from \"A.txt\", which NTFS treats as the same name", lower.display()).as_str()),
        "{err}"
    );
    assert!(
        lines.last().unwrap().contains("2 entries of")
            && lines
                .last()
                .unwrap()
                .contains("nothing was written (--skip-unsupported leaves them out)"),
        "{err}"
    );
    assert_eq!(lines.len(), 3, "{err}");
    assert!(!out.exists(), "nothing is written");
    // Nor any temporary sibling.
    let left: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("in")], "{left:?}");
}

#[test]
fn skip_unsupported_reports_each_skipped_and_optimizes_the_rest() {
    let t = fast_tempdir();
    let input = t.path().join("in");
    make_input(&input);
    let out = t.path().join("out");
    let o = rehydrate(&[
        "sim",
        "optimize",
        "--source",
        s(&input),
        "--to",
        s(&out),
        "--skip-unsupported",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let skipped: Vec<&str> = text.lines().filter(|l| l.starts_with("skipped ")).collect();
    assert_eq!(skipped.len(), 2, "{text}");
    assert!(skipped[0].contains(s(&input.join("a.txt"))), "{text}");
    assert!(skipped[1].contains(s(&input.join("link"))), "{text}");
    assert!(text.contains("imported 2 files in 1 folders"), "{text}");
    assert_eq!(std::fs::read(out.join("A.txt")).unwrap(), b"upper");
    assert!(!out.join("a.txt").exists() && !out.join("link").exists());

    let out2 = t.path().join("out2");
    let o = rehydrate(&[
        "sim",
        "optimize",
        "--source",
        s(&input),
        "--to",
        s(&out2),
        "--skip-unsupported",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    let list = v["unsupported_skipped"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{v:#}");
    assert_eq!(list[0]["path"], s(&input.join("a.txt")));
    assert!(
        list[0]["reason"]
            .as_str()
            .unwrap()
            .contains("differs only by case")
    );
    assert_eq!(list[1]["path"], s(&input.join("link")));
    assert!(
        list[1]["reason"]
            .as_str()
            .unwrap()
            .contains("symbolic link")
    );
    assert_eq!(v["files"], 2);
    assert_eq!(v["files_optimized"], 1);
}
