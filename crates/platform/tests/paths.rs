//! `WinPath`: parsing, rejection, case-insensitive comparison.

use std::collections::HashSet;

use platform::{Error, WinPath};

fn p(s: &str) -> WinPath {
    WinPath::new(s).unwrap()
}

#[test]
fn parses_and_displays_root_relative_paths() {
    assert!(p("").is_root());
    assert!(p("\\").is_root());
    assert_eq!(p("\\").to_string(), "\\");
    assert_eq!(p("a\\b").to_string(), "\\a\\b");
    assert_eq!(p("\\a\\b"), p("a\\b"));
    assert_eq!(
        p("/a/b").to_string(),
        "\\a\\b",
        "forward slashes are separators too"
    );
    assert_eq!(
        p("\\System Volume Information\\Dedup")
            .components()
            .collect::<Vec<_>>(),
        ["System Volume Information", "Dedup"]
    );
    assert_eq!(p("\\a\\b").file_name(), Some("b"));
    assert_eq!(p("\\a\\b").parent(), Some(p("\\a")));
    assert_eq!(p("\\a").parent(), Some(WinPath::root()));
    assert_eq!(WinPath::root().parent(), None);
    assert_eq!(p("\\a").join("b.txt").unwrap(), p("\\a\\b.txt"));
    assert_eq!(WinPath::root().join_path(&p("x\\y")), p("\\x\\y"));
    assert_eq!("\\a\\b".parse::<WinPath>().unwrap(), p("a\\b"));
    assert_eq!(p(".hidden\\x.y.z").to_string(), "\\.hidden\\x.y.z");
}

#[test]
fn compares_case_insensitively_and_keeps_case() {
    assert_eq!(p("\\Dir\\File.TXT"), p("\\dir\\file.txt"));
    assert_eq!(p("\\ÄÖÜ"), p("\\äöü"));
    assert_ne!(p("\\a\\b"), p("\\a\\c"));
    assert_ne!(p("\\a"), p("\\a\\b"));
    assert_eq!(p("\\Dir\\File.TXT").to_string(), "\\Dir\\File.TXT");
    assert_eq!(p("\\Dir\\File.TXT").folded(), "\\DIR\\FILE.TXT");
    let set: HashSet<WinPath> = [p("\\A\\b"), p("\\a\\B"), p("\\a\\c")]
        .into_iter()
        .collect();
    assert_eq!(set.len(), 2);
    assert!(p("\\A\\b\\c").starts_with(&p("\\a")));
    assert!(p("\\a").starts_with(&p("\\A")));
    assert!(!p("\\ab").starts_with(&p("\\a")));
    assert!(p("\\x").starts_with(&WinPath::root()));
}

/// `eq_name` (allocation-free) agrees with comparing the `folded` forms, for ASCII names,
/// non-ASCII ones, and non-ASCII letters that fold to ASCII (`ı`, `ſ`) or to two letters (`ß`,
/// which then stays itself).
#[test]
fn name_comparison_agrees_with_the_folded_forms() {
    let names = [
        "file.txt",
        "FILE.TXT",
        "File.Txt",
        "file.tx",
        "fıle.txt",
        "FILE.TXT ",
        "ſ",
        "S",
        "s",
        "ß",
        "SS",
        "ss",
        "Äpfel",
        "äPFEL",
        "APFEL",
        "",
        "é",
        "É",
        "e",
    ];
    for a in names {
        for b in names {
            let by_fold = platform::WinPath::new(&format!("x\\{a}z"))
                .unwrap()
                .folded()
                == platform::WinPath::new(&format!("x\\{b}z"))
                    .unwrap()
                    .folded();
            assert_eq!(platform::eq_name(a, b), by_fold, "{a:?} vs {b:?}");
        }
    }
    assert!(platform::eq_name("fıle.txt", "FILE.TXT"));
    assert!(!platform::eq_name("ß", "SS"));
}

#[test]
fn rejects_invalid_paths() {
    for bad in [
        "..",
        "\\a\\..\\b",
        "\\a\\.\\b",
        "a\\\\b",
        "\\a\\",
        "C:\\x",
        "file.txt:stream",
        "a<b",
        "a>b",
        "a\"b",
        "a|b",
        "a?b",
        "a*b",
        "a\u{1}b",
        "a\nb",
        "trailing.",
        "trailing ",
        "CON",
        "con.txt",
        "\\dir\\NUL",
        "COM1",
        "lpt9.log",
        "aux",
    ] {
        match WinPath::new(bad) {
            Err(Error::InvalidPath { path, reason }) => {
                assert_eq!(path, bad);
                assert!(!reason.is_empty());
            }
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
    assert!(WinPath::new(&"x".repeat(255)).is_ok());
    assert!(WinPath::new(&"x".repeat(256)).is_err());
    // Not reserved: COM0, COM10, CONSOLE.
    for ok in ["COM0", "COM10", "CONSOLE", "nul_file", "a b", ".x"] {
        assert!(WinPath::new(ok).is_ok(), "{ok}");
    }
    assert!(matches!(
        p("\\a").join(".."),
        Err(Error::InvalidPath { .. })
    ));
    assert!(matches!(
        p("\\a").join("b\\c"),
        Err(Error::InvalidPath { .. })
    ));
}

/// Paths that compare equal hash alike, whatever their case and length (the hash folds its
/// text through a 64-byte buffer, so names cross that buffer's edge here, ASCII and not), and
/// a path's parts read back as they were joined.
#[test]
fn equal_paths_hash_alike_and_keep_their_parts() {
    use std::hash::BuildHasher;
    let state = std::collections::hash_map::RandomState::new();
    let long = "d".repeat(61);
    let pairs = [
        (
            format!("{long}\\ſ\\fıle.txt"),
            format!("{long}\\S\\FILE.TXT"),
        ),
        (format!("{long}x\\Äpfel"), format!("{long}X\\äPFEL")),
        (format!("é{long}\\b"), format!("É{long}\\B")),
        ("a".into(), "A".into()),
    ];
    for (a, b) in &pairs {
        let (a, b) = (p(a), p(b));
        assert_eq!(a, b);
        assert_eq!(a.folded(), b.folded());
        assert_eq!(state.hash_one(&a), state.hash_one(&b), "{a} vs {b}");
    }
    assert_ne!(p("a\\b"), p("a\\b\\c"));
    assert_ne!(p("ab"), p("a\\b"));
    assert_eq!(state.hash_one(WinPath::root()), state.hash_one(p("\\")));

    let deep = WinPath::root()
        .join("One")
        .unwrap()
        .join("twO")
        .unwrap()
        .join_path(&p("x\\Y.z"));
    assert_eq!(deep.to_string(), "\\One\\twO\\x\\Y.z");
    assert_eq!(deep.components().len(), 4);
    assert_eq!(
        deep.components().collect::<Vec<_>>(),
        ["One", "twO", "x", "Y.z"]
    );
    assert_eq!(deep.file_name(), Some("Y.z"));
    assert_eq!(deep.parent().unwrap().to_string(), "\\One\\twO\\x");
    assert_eq!(deep.parent().unwrap().components().len(), 3);
    assert_eq!(p("a").join_path(&WinPath::root()), p("a"));
    assert!(p("Dir\\x").same_parent(&p("dIR\\y.txt")));
    assert!(p("x").same_parent(&p("Y")));
    assert!(!p("a\\x").same_parent(&p("b\\x")));
    assert!(!p("a\\x").same_parent(&p("a\\b\\x")));
    assert!(!p("ab\\x").same_parent(&p("a\\bx")));
    assert!(!WinPath::root().same_parent(&WinPath::root()));
    assert!(WinPath::root().components().next().is_none());
    assert_eq!(WinPath::root().folded(), "\\");
    // A rejected name is reported with the whole path it would have made.
    match deep.join("nul.txt") {
        Err(Error::InvalidPath { path, reason }) => {
            assert_eq!(path, "\\One\\twO\\x\\Y.z\\nul.txt");
            assert_eq!(reason, "reserved device name");
        }
        other => panic!("{other:?}"),
    }
}

/// Device names are reserved whatever their case, extension or trailing spaces; near misses
/// are not.
#[test]
fn reserved_device_names_are_matched_as_windows_folds_them() {
    for bad in [
        "Com7",
        "lPt1.x.y",
        "CON .txt",
        "prn  .log",
        "Aux.log",
        "NUL.tar.gz",
    ] {
        match WinPath::new(bad) {
            Err(Error::InvalidPath { reason, .. }) => {
                assert_eq!(reason, "reserved device name", "{bad:?}");
            }
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
    for ok in [
        "COM", "LPT", "CO", "COMA", "LPT¹", "CONS.txt", "NULL", "PRNx", "ÀUX",
    ] {
        assert!(WinPath::new(ok).is_ok(), "{ok:?}");
    }
}
