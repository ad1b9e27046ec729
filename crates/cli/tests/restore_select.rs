//! `rehydrate restore` as people select what to restore (issue 15): paths as they type them,
//! `--include` / `--exclude`, and a filter that matches nothing. Each test asserts the exit
//! code, the output and the file system.
#![cfg(unix)]

mod common;

use common::ux::{one_line, stderr, tree};
use common::*;

#[test]
fn paths_as_people_type_them() {
    let src = fast_tempdir();
    let files = make_volume(src.path());
    let abs_docs = src.path().join("docs");
    let abs_slash = format!("{}/", abs_docs.display());
    let want_docs = [
        "\\docs\\copy of report.txt",
        "\\docs\\report.txt",
        "\\docs\\sub\\notes.txt",
    ];
    for form in [
        "docs",
        "docs/",
        "./docs",
        "/docs",
        "\\docs",
        "\\docs\\",
        "DOCS",
        "Docs/",
        abs_docs.to_str().unwrap(),
        abs_slash.as_str(),
    ] {
        let out = fast_tempdir();
        let o = rehydrate(&[
            "restore",
            "--source",
            s(src.path()),
            "--to",
            s(out.path()),
            form,
        ]);
        assert_eq!(o.status.code(), Some(0), "{form}: {}", stderr(&o));
        assert_eq!(tree(out.path()), want_docs, "{form}");
    }
    for form in [
        "docs\\sub\\notes.txt",
        "./DOCS/SUB/NOTES.TXT",
        "/docs/sub/notes.txt",
    ] {
        let out = fast_tempdir();
        let o = rehydrate(&[
            "restore",
            "--source",
            s(src.path()),
            "--to",
            s(out.path()),
            form,
        ]);
        assert_eq!(o.status.code(), Some(0), "{form}: {}", stderr(&o));
        assert_eq!(tree(out.path()), ["\\docs\\sub\\notes.txt"], "{form}");
        assert_eq!(
            std::fs::read(out.path().join("docs/sub/notes.txt")).unwrap(),
            files["\\docs\\sub\\notes.txt"]
        );
    }
    // verify takes them too.
    let o = rehydrate(&["verify", "--source", s(src.path()), "./Docs/", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["verified"], 2);
}

#[test]
fn include_and_exclude_globs() {
    let src = fast_tempdir();
    make_volume(src.path());
    let run = |extra: &[&str]| {
        let out = fast_tempdir();
        let mut args = vec!["restore", "--source", s(src.path()), "--to", s(out.path())];
        args.extend(extra);
        let o = rehydrate(&args);
        assert_eq!(o.status.code(), Some(0), "{extra:?}: {}", stderr(&o));
        tree(out.path())
    };
    assert_eq!(
        run(&["--include", "*.TXT"]),
        [
            "\\docs\\copy of report.txt",
            "\\docs\\report.txt",
            "\\docs\\sub\\notes.txt",
            "\\misc\\Top level.txt"
        ]
    );
    assert_eq!(
        run(&["--include", "docs/*.txt", "--include", "media"]),
        [
            "\\docs\\copy of report.txt",
            "\\docs\\report.txt",
            "\\media\\clip.mp4",
            "\\media\\empty.dat"
        ]
    );
    assert_eq!(
        run(&[
            "--include",
            "docs/**",
            "--exclude",
            "copy*",
            "--exclude",
            "SUB"
        ]),
        ["\\docs\\report.txt"]
    );
    assert_eq!(
        run(&["--exclude", "*.txt", "--exclude", "/vm/", "--exclude", "a"]),
        ["\\media\\clip.mp4", "\\media\\empty.dat"]
    );
    // With a path: the glob applies within it.
    assert_eq!(run(&["docs", "--exclude", "*.txt"]), Vec::<String>::new());
    // verify takes them too.
    let o = rehydrate(&[
        "verify",
        "--source",
        s(src.path()),
        "--include",
        "*.mp4",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["verified"], 1);
}

#[test]
fn a_filter_matching_nothing_is_one_line_and_exit_1() {
    let src = fast_tempdir();
    make_volume(src.path());
    let out = fast_tempdir();
    let to = out.path().join("r");
    for (extra, want) in [
        (
            vec!["docs/nope/"],
            "\"docs/nope/\" matches nothing in the source",
        ),
        (
            vec!["docs", "NOWHERE"],
            "\"NOWHERE\" matches nothing in the source",
        ),
        (
            vec!["--include", "*.pdf"],
            "\"*.pdf\" matches nothing in the source",
        ),
    ] {
        for cmd in ["restore", "verify"] {
            let mut args = vec![cmd, "--source", s(src.path())];
            if cmd == "restore" {
                args.extend(["--to", s(&to)]);
            }
            args.extend(&extra);
            let o = rehydrate(&args);
            assert_eq!(o.status.code(), Some(1), "{args:?}");
            assert_eq!(one_line(&o), format!("rehydrate: {want}"), "{args:?}");
            assert!(!to.exists(), "{args:?}");
        }
    }
    // A bad glob is a usage error.
    let o = rehydrate(&[
        "restore",
        "--source",
        s(src.path()),
        "--to",
        s(&to),
        "--exclude",
        "a[",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(one_line(&o).contains("--exclude \"a[\""));
    assert!(!to.exists());
}
