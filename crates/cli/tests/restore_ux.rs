//! `rehydrate restore` / `verify` as people use them (issue 15): the wrong source refused in
//! one line before anything is created, safe re-runs and `--overwrite`, `--dry-run`, `--help`,
//! `-q` / `-v` and the times kept (choosing what to restore: `restore_select.rs`). Each test
//! asserts the exit code, the output and the file system.
#![cfg(unix)]

use std::os::unix::fs::MetadataExt;
use std::path::Path;

mod common;

use common::ux::{one_line, stderr, stdout, tree};
use common::*;

fn store_dir(src: &Path) -> std::path::PathBuf {
    std::fs::read_dir(src.join("System Volume Information/Dedup/ChunkStore"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

#[test]
fn a_plain_folder_is_refused_in_one_line_and_nothing_is_created() {
    let src = fast_tempdir();
    std::fs::create_dir(src.path().join("docs")).unwrap();
    std::fs::write(src.path().join("docs/a.txt"), b"just a file").unwrap();
    let out = fast_tempdir();
    let to = out.path().join("restored");
    for args in [
        vec!["restore", "--source", s(src.path()), "--to", s(&to)],
        vec![
            "restore",
            "--source",
            s(src.path()),
            "--to",
            s(&to),
            "--dry-run",
        ],
        vec!["verify", "--source", s(src.path())],
        vec!["verify", "--source", s(src.path()), "--json"],
    ] {
        let o = rehydrate(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let line = one_line(&o);
        assert!(
            line.contains("is not a dedup volume") && line.contains("no chunk store"),
            "{line}"
        );
        assert!(!to.exists(), "{args:?} created --to");
    }
}

#[test]
fn stubs_without_their_chunk_store_are_refused_in_one_line_naming_store_and_guid() {
    let src = fast_tempdir();
    make_volume(src.path());
    let store = store_dir(src.path());
    let name = store.file_name().unwrap().to_str().unwrap().to_owned();
    let guid = name.trim_end_matches(".ddp").to_owned();
    let out = fast_tempdir();
    let to = out.path().join("restored");
    // Another store's GUID in its place, then no store at all.
    let other = "{11111111-2222-3333-4444-555555555555}";
    std::fs::rename(&store, store.with_file_name(format!("{other}.ddp"))).unwrap();
    for (case, also) in [("another GUID", Some(other)), ("missing", None)] {
        if also.is_none() {
            std::fs::remove_dir_all(store.with_file_name(format!("{other}.ddp"))).unwrap();
        }
        for args in [
            vec!["restore", "--source", s(src.path()), "--to", s(&to)],
            vec!["verify", "--source", s(src.path())],
        ] {
            let o = rehydrate(&args);
            assert_eq!(o.status.code(), Some(1), "{case} {args:?}");
            let line = one_line(&o);
            assert!(
                line.contains(&format!(
                    "\\System Volume Information\\Dedup\\ChunkStore\\{guid}.ddp"
                )) && line.contains(&format!("reference store {guid}")),
                "{case}: {line}"
            );
            assert!(!line.contains("DDP_E_PATH_NOT_FOUND"), "{line}");
            match also {
                Some(g) => assert!(line.contains(&format!("holds only {g}")), "{line}"),
                None => assert!(line.contains("holds no chunk store"), "{line}"),
            }
            assert!(!to.exists(), "{case}: created --to");
        }
    }
}

#[test]
fn a_store_without_selected_dedup_files_is_a_warning() {
    let src = fast_tempdir();
    let files = make_volume(src.path());
    let out = fast_tempdir();
    // docs/sub/notes.txt is below 32 KiB: a plain file.
    let o = rehydrate(&[
        "restore",
        "--source",
        s(src.path()),
        "--to",
        s(out.path()),
        "docs/sub",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: no dedup file found in the selection"),
        "{}",
        stderr(&o)
    );
    let v = json(&o);
    assert_eq!(v["warnings"].as_array().unwrap().len(), 1, "{v:#}");
    assert_eq!(v["copied"], 1);
    assert_eq!(tree(out.path()), ["\\docs\\sub\\notes.txt"]);
    assert_eq!(
        std::fs::read(out.path().join("docs/sub/notes.txt")).unwrap(),
        files["\\docs\\sub\\notes.txt"]
    );
}

#[test]
fn a_rerun_skips_everything_and_exits_0() {
    let src = fast_tempdir();
    let files = make_volume(src.path());
    let out = fast_tempdir();
    let to = out.path().join("r");
    let args = ["restore", "--source", s(src.path()), "--to", s(&to)];
    let o = rehydrate(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = rehydrate(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains(&format!(
            "{} skipped (identical), 0 conflicting",
            files.len()
        )),
        "{text}"
    );
    assert!(!text.contains("ALREADY_EXISTS"), "{text}");
    // The hidden rsync spelling does the same.
    let mut json_args = args.to_vec();
    json_args.extend(["--ignore-existing", "--json"]);
    let o = rehydrate(&json_args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["skipped"], files.len());
    assert_eq!(v["conflicts"], 0);
    assert_eq!(v["overwrite"], "never");
    for (p, bytes) in &files {
        assert_eq!(&std::fs::read(host_path(&to, p)).unwrap(), bytes, "{p}");
    }
}

/// Edits one dedup file (same size) and one plain file in a restored folder.
fn edit(to: &Path) -> (std::path::PathBuf, Vec<u8>, std::path::PathBuf) {
    let dedup = host_path(to, "\\docs\\report.txt");
    let mut bytes = std::fs::read(&dedup).unwrap();
    bytes[1000] ^= 0x20;
    std::fs::write(&dedup, &bytes).unwrap();
    let plain = host_path(to, "\\docs\\sub\\notes.txt");
    std::fs::write(&plain, b"my own notes").unwrap();
    (dedup, bytes, plain)
}

#[test]
fn overwrite_never_keeps_a_changed_file_as_a_conflict_and_if_changed_replaces_it() {
    let src = fast_tempdir();
    let files = make_volume(src.path());
    let out = fast_tempdir();
    let to = out.path().join("r");
    let base = ["restore", "--source", s(src.path()), "--to", s(&to)];
    assert_eq!(rehydrate(&base).status.code(), Some(0));
    let (dedup, edited, plain) = edit(&to);

    // never (the default): a conflict each, exit 1, old content kept.
    let o = rehydrate(&base);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(
        text.contains(&format!(
            "{} skipped (identical), 2 conflicting",
            files.len() - 2
        )),
        "{text}"
    );
    assert!(
        text.contains("conflicting files") && text.contains("  \\docs\\report.txt\n"),
        "{text}"
    );
    assert!(stderr(&o).contains("2 file(s) already there with other content"));
    assert_eq!(std::fs::read(&dedup).unwrap(), edited);
    assert_eq!(std::fs::read(&plain).unwrap(), b"my own notes");
    let mut j = base.to_vec();
    j.push("--json");
    let v = json(&rehydrate(&j));
    assert_eq!(v["conflicts"], 2);
    assert_eq!(
        v["conflicting"],
        serde_json::json!(["\\docs\\sub\\notes.txt", "\\docs\\report.txt"])
    );
    let f = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "\\docs\\report.txt")
        .unwrap();
    assert_eq!(f["status"], "conflict");
    assert_eq!(f["code"], "HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS)");

    // if-changed: both replaced, the identical ones left untouched (same inode, same mtime).
    let untouched = host_path(&to, "\\media\\clip.mp4");
    let before = std::fs::metadata(&untouched).unwrap();
    let mut args = base.to_vec();
    args.extend(["--overwrite", "if-changed", "--json"]);
    let o = rehydrate(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["replaced"], 2, "{v:#}");
    assert_eq!(v["skipped"], files.len() - 2);
    for (p, bytes) in &files {
        assert_eq!(&std::fs::read(host_path(&to, p)).unwrap(), bytes, "{p}");
    }
    let after = std::fs::metadata(&untouched).unwrap();
    assert_eq!(before.ino(), after.ino());
    assert_eq!(before.modified().unwrap(), after.modified().unwrap());
    assert!(tree(&to).iter().all(|f| !f.contains(".rehydrate~")));

    // always: everything replaced.
    let mut args = base.to_vec();
    args.extend(["--overwrite", "always", "--json"]);
    let v = json(&rehydrate(&args));
    assert_eq!(v["replaced"], files.len());
    assert_eq!(v["skipped"], 0);
}

#[test]
fn conflicts_are_listed_up_to_ten_then_counted() {
    let src = fast_tempdir();
    let vol = winsim::SimVolume::new(7);
    let mut rng = Rng(7);
    vol.write_file(
        &platform::WinPath::new("\\big.bin").unwrap(),
        &rng.bytes(200 << 10),
    )
    .unwrap();
    for i in 0..13 {
        vol.write_file(
            &platform::WinPath::new(&format!("\\many\\f{i:02}.txt")).unwrap(),
            format!("file {i}").as_bytes(),
        )
        .unwrap();
    }
    winsim::dedup::optimize(&vol, 7, &winsim::dedup::OptimizeOptions::default()).unwrap();
    winsim::host::export_volume(&vol, src.path()).unwrap();
    let out = fast_tempdir();
    for i in 0..13 {
        let p = out.path().join(format!("many/f{i:02}.txt"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"mine").unwrap();
    }
    let o = rehydrate(&["restore", "--source", s(src.path()), "--to", s(out.path())]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    let listed = text
        .lines()
        .filter(|l| l.starts_with("  \\many\\f"))
        .count();
    assert_eq!(listed, 10, "{text}");
    assert!(
        text.contains("  and 3 more (all of them in --json)"),
        "{text}"
    );
    let v = json(&rehydrate(&[
        "restore",
        "--source",
        s(src.path()),
        "--to",
        s(out.path()),
        "--json",
    ]));
    assert_eq!(v["conflicting"].as_array().unwrap().len(), 13);
    for i in 0..13 {
        assert_eq!(
            std::fs::read(out.path().join(format!("many/f{i:02}.txt"))).unwrap(),
            b"mine"
        );
    }
}

/// The plan's (path, status, replaced) triples, sorted.
fn plan_of(v: &serde_json::Value) -> Vec<(String, String, bool)> {
    let mut p: Vec<_> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["status"].as_str().unwrap().to_owned(),
                f["replaced"].as_bool().unwrap(),
            )
        })
        .collect();
    p.sort();
    p
}

#[test]
fn a_dry_run_writes_nothing_and_its_plan_is_what_the_run_does() {
    let src = fast_tempdir();
    let files = make_volume(src.path());
    let source_before = list(src.path());
    let out = fast_tempdir();
    let to = out.path().join("new");
    let base = ["restore", "--source", s(src.path()), "--to", s(&to)];
    let with = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend(extra);
        rehydrate(&a)
    };

    // Into a folder that does not exist: not even created.
    let o = with(&["--dry-run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("nothing is written"), "{text}");
    assert!(
        text.contains(&format!(
            "  restore   \\docs\\report.txt -> {}",
            to.join("docs/report.txt").display()
        )),
        "{text}"
    );
    assert!(
        text.contains("  copy      \\docs\\sub\\notes.txt -> "),
        "{text}"
    );
    assert!(!to.exists(), "the dry run created --to");
    let dry = json(&with(&["--dry-run", "--json"]));
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["restored"], 6);
    assert_eq!(dry["copied"], 2);
    assert_eq!(
        dry["files"][0]["destination"],
        to.join("a/first.bin").display().to_string()
    );
    assert!(!to.exists());
    let real = json(&with(&["--json"]));
    assert_eq!(real["dry_run"], false);
    assert_eq!(plan_of(&dry), plan_of(&real));

    // A re-run: all skipped, as the real re-run.
    let dry = json(&with(&["--dry-run", "--json"]));
    assert_eq!(dry["skipped"], files.len());
    let real = json(&with(&["--json"]));
    assert_eq!(plan_of(&dry), plan_of(&real));

    // Changed files: conflicts under never (exit 1), replacements under if-changed; the dry
    // run changes nothing, the real run then does what it said.
    let (dedup, edited, plain) = edit(&to);
    let snapshot = || {
        tree(&to)
            .iter()
            .map(|p| (p.clone(), std::fs::read(host_path(&to, p)).unwrap()))
            .collect::<Vec<_>>()
    };
    let before = snapshot();
    for policy in ["never", "if-changed"] {
        let o = with(&["--dry-run", "--json", "--overwrite", policy]);
        assert_eq!(
            o.status.code(),
            Some(i32::from(policy == "never")),
            "{policy}"
        );
        let dry = json(&o);
        assert_eq!(snapshot(), before, "{policy}: the dry run wrote");
        if policy == "never" {
            assert_eq!(dry["conflicts"], 2);
            let o = with(&["--dry-run"]);
            assert!(stdout(&o).contains("  conflict  \\docs\\report.txt -> "));
            let real = json(&with(&["--json"]));
            assert_eq!(plan_of(&dry), plan_of(&real));
            assert_eq!(std::fs::read(&dedup).unwrap(), edited);
        } else {
            assert_eq!(dry["replaced"], 2);
            let o = with(&["--dry-run", "--overwrite", policy]);
            assert!(stdout(&o).contains("  replace   \\docs\\report.txt -> "));
            let real = json(&with(&["--json", "--overwrite", policy]));
            assert_eq!(plan_of(&dry), plan_of(&real));
            assert_eq!(
                std::fs::read(&plain).unwrap(),
                files["\\docs\\sub\\notes.txt"]
            );
        }
    }
    assert_eq!(list(src.path()), source_before, "the source was changed");
}

/// `restore --help` says what is kept and what is not, shows examples and the exit codes.
#[test]
fn restore_help_tells_what_is_kept_with_examples_and_exit_codes() {
    let o = rehydrate(&["restore", "--help"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let help = stdout(&o);
    for want in [
        "Kept: file contents",
        "read-only, as a mode",
        "Not restored: ACLs, named streams.",
        "Examples:\n  rehydrate restore --source ",
        "Exit codes: 0 ",
        "2 the command line is wrong, or the source or the\noutput folder cannot be used",
    ] {
        assert!(help.contains(want), "{want:?} missing from:\n{help}");
    }
}

/// `-q` prints nothing but what failed; `-v` lists every file with what became of it.
#[test]
fn quiet_prints_only_failures_and_verbose_lists_every_file() {
    let src = fast_tempdir();
    let files = make_volume(src.path());
    let out = fast_tempdir();
    let to = out.path().join("r");
    let o = rehydrate(&["-q", "restore", "--source", s(src.path()), "--to", s(&to)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "quiet and nothing failed");

    // A re-run after one restored file was changed: a conflict, still printed when quiet.
    let (changed, _, _) = edit(&to);
    let o = rehydrate(&[
        "restore",
        "--quiet",
        "--source",
        s(src.path()),
        "--to",
        s(&to),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("conflicting files"), "{text}");
    assert!(!text.contains("skipped (identical)"), "{text}");

    let again = out.path().join("v");
    let o = rehydrate(&[
        "restore",
        "-v",
        "--source",
        s(src.path()),
        "--to",
        s(&again),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("files:\n"), "{text}");
    for p in files.keys() {
        assert!(
            text.lines().any(|l| l.trim_end().ends_with(p.as_str())
                && (l.contains("restored") || l.contains("copied"))),
            "{p} not listed:\n{text}"
        );
    }
    assert!(changed.exists());
    let both = rehydrate(&[
        "-q",
        "-v",
        "restore",
        "--source",
        s(src.path()),
        "--to",
        s(&again),
    ]);
    assert_eq!(
        both.status.code(),
        Some(2),
        "-q and -v together are refused"
    );
}

/// Issue 15 item 1 through the command: a dedup file (rebuilt from its stub), a plain file
/// (copied) and a folder, all dated 2020 in the source, come back dated 2020 — modification
/// and access times — instead of the restore's own time.
#[test]
fn restored_files_and_folders_keep_their_2020_times() {
    use std::fs::{File, FileTimes};
    use std::time::{Duration, SystemTime};
    let src = fast_tempdir();
    let files = make_volume(src.path());
    let modified = SystemTime::UNIX_EPOCH + Duration::from_hours(438_288); // 2020-01-01
    let accessed = SystemTime::UNIX_EPOCH + Duration::from_hours(441_936); // 2020-06-01
    let times = FileTimes::new()
        .set_modified(modified)
        .set_accessed(accessed);
    let (mut stubs, mut plain) = (0, 0);
    for p in files.keys() {
        let h = host_path(src.path(), p);
        let is_stub = xattr::get(&h, "user.ntfs_reparse_data").unwrap().is_some();
        if is_stub {
            stubs += 1;
        } else {
            plain += 1;
        }
        File::options()
            .write(true)
            .open(&h)
            .unwrap()
            .set_times(times)
            .unwrap();
    }
    assert!(stubs > 0 && plain > 0, "{stubs} stubs, {plain} plain files");
    // One folder of the source, dated after its files were (writing a file moves it).
    let folder = host_path(src.path(), files.keys().next().unwrap())
        .parent()
        .unwrap()
        .to_path_buf();
    File::open(&folder).unwrap().set_times(times).unwrap();

    let out = fast_tempdir();
    let to = out.path().join("r");
    let o = rehydrate(&["restore", "--source", s(src.path()), "--to", s(&to)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for (p, bytes) in &files {
        let h = host_path(&to, p);
        // Times first: reading the file moves its access time.
        let m = std::fs::metadata(&h).unwrap();
        assert_eq!(m.modified().unwrap(), modified, "{p}: modification time");
        assert_eq!(m.accessed().unwrap(), accessed, "{p}: access time");
        assert_eq!(&std::fs::read(&h).unwrap(), bytes, "{p}");
    }
    let rel = folder.strip_prefix(src.path()).unwrap();
    let m = std::fs::metadata(to.join(rel)).unwrap();
    assert_eq!(
        m.modified().unwrap(),
        modified,
        "{}: folder time",
        rel.display()
    );
}
