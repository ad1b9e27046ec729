//! One vocabulary across commands (issue 15, item 6): `--source` is what a command reads and
//! `--to` what it writes; the older spellings still work (hidden aliases) and give the same
//! result; the JSON of each command uses one word per meaning (`source`, `to`, `failed`,
//! `store_guid`, `container` only for the container at fault, sizes in bytes) and carries what
//! the human output shows.
#![cfg(unix)]

mod common;

use common::{corrupt_first_chunk, data_container, fast_tempdir, json, make_volume, rehydrate, s};
use serde_json::Value;

/// Words that must not be JSON keys anywhere: each has a chosen replacement.
const RETIRED: [(&str, &str); 7] = [
    ("guid", "store_guid"),
    ("damaged", "failed"),
    ("input", "source"),
    ("out", "to"),
    ("output", "to"),
    ("backup", "source"),
    ("gb_per_second", "gib_per_second"),
];

/// Every key of `v`, at any depth.
fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.push(k.clone());
                keys(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| keys(x, out)),
        _ => {}
    }
}

/// Checks that `v` has every key of `want` at the top level and no retired word anywhere.
fn check_vocabulary(what: &str, v: &Value, want: &[&str]) {
    for k in want {
        assert!(v.get(k).is_some(), "{what}: no `{k}` in {v:#}");
    }
    let mut all = Vec::new();
    keys(v, &mut all);
    for (old, new) in RETIRED {
        assert!(
            !all.iter().any(|k| k == old),
            "{what}: `{old}` is a JSON key; the vocabulary says `{new}`"
        );
    }
}

fn ok(args: &[&str]) -> std::process::Output {
    let o = rehydrate(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

#[test]
fn inspect_container_takes_source_or_the_old_positional_and_says_source() {
    let ccc = test_support::ws2019_container();
    let new = ok(&["inspect", "container", "--source", s(&ccc), "--json"]);
    let old = ok(&["inspect", "container", s(&ccc), "--json"]);
    assert_eq!(new.stdout, old.stdout);
    let v = json(&new);
    check_vocabulary("inspect container", &v, &["source", "file_size", "records"]);
    assert_eq!(v["source"], s(&ccc));
    assert!(v.get("container").is_none(), "{v:#}");
    // Both spellings at once are refused rather than one silently winning.
    let both = rehydrate(&["inspect", "container", "--source", s(&ccc), s(&ccc)]);
    assert_eq!(both.status.code(), Some(2));
}

#[test]
fn carve_takes_source_and_to_or_the_old_positional_and_dash_o() {
    let ccc = test_support::ws2019_container();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let new = ok(&[
        "carve",
        "--source",
        s(&ccc),
        "--ids",
        "1-3",
        "--to",
        s(&a),
        "--json",
    ]);
    ok(&["carve", s(&ccc), "--ids", "1-3", "-o", s(&b)]);
    ok(&["carve", s(&ccc), "--ids", "1-3", "--output", s(&c)]);
    let bytes = std::fs::read(&a).unwrap();
    assert!(!bytes.is_empty());
    assert_eq!(std::fs::read(&b).unwrap(), bytes);
    assert_eq!(std::fs::read(&c).unwrap(), bytes);
    let v = json(&new);
    check_vocabulary("carve", &v, &["source", "to", "chunks", "bytes", "sha256"]);
    assert_eq!(v["to"], s(&a));
    assert!(v.get("container").is_none(), "{v:#}");
    // The human summary prints its size in the binary units of every other command.
    let d = tmp.path().join("d");
    let human = ok(&["carve", "--source", s(&ccc), "--ids", "1-3", "--to", s(&d)]);
    let line = String::from_utf8_lossy(&human.stderr);
    assert!(
        line.contains("KiB -> ") || line.contains("MiB -> "),
        "{line}"
    );
}

#[test]
fn restore_and_verify_json_say_failed_and_name_the_container_at_fault() {
    let src = fast_tempdir();
    make_volume(src.path());
    let to = tempfile::tempdir().unwrap();
    let dst = to.path().join("r");
    let v = json(&ok(&[
        "restore",
        "--source",
        s(src.path()),
        "--to",
        s(&dst),
        "--json",
    ]));
    check_vocabulary(
        "restore",
        &v,
        &[
            "source",
            "to",
            "restored",
            "copied",
            "failed",
            "gib_per_second",
        ],
    );
    corrupt_first_chunk(src.path());
    let o = rehydrate(&["verify", "--source", s(src.path()), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    check_vocabulary(
        "verify",
        &v,
        &["source", "verified", "failed", "gib_per_second"],
    );
    assert_eq!(v["failed"], 1, "{v:#}");
    let bad = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["status"] == "failed")
        .expect("a failed file");
    let container = bad["container"].as_str().expect("the container at fault");
    let ccc = data_container(src.path());
    assert!(
        container.ends_with(ccc.file_name().unwrap().to_str().unwrap()),
        "{container}"
    );
    // The same word in the human summary and its one-line reason.
    let o = rehydrate(&["verify", "--source", s(src.path())]);
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(out.contains("failed files:"), "{out}");
    assert!(!out.contains("damaged"), "{out}");
    assert!(err.contains("1 failed"), "{err}");
}

#[test]
fn vss_plan_json_carries_the_summary_counts_of_the_human_output() {
    let docs = test_support::fixture("vss/kevingoode-vssbackup/with_sql");
    let tmp = tempfile::tempdir().unwrap();
    let catalog = tmp.path().join("catalog.txt");
    std::fs::write(
        &catalog,
        "C:\\Windows\\System32\\config\\SAM\r\nC:\\Users\\Administrator\\notes.txt\r\n",
    )
    .unwrap();
    let bcd = docs.join("BCDocument.xml");
    let args = [
        "vss",
        "plan",
        "--metadata",
        s(&docs),
        "--bcd",
        s(&bcd),
        "--catalog",
        s(&catalog),
        "--default-env",
        "C:",
    ];
    let human = String::from_utf8(ok(&args).stdout).unwrap();
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let v = json(&ok(&with_json));
    check_vocabulary(
        "vss plan",
        &v,
        &["components", "files", "summary", "skipped_documents"],
    );
    let n = &v["summary"];
    let line = format!(
        "{} files: {} restore for a component, {} plain restore, {} excluded, {} not selected, {} writer error",
        n["files"],
        n["restore"],
        n["plain_restore"],
        n["excluded"],
        n["not_selected"],
        n["writer_error"]
    );
    assert!(human.contains(&line), "{line}\n{human}");
    assert_eq!(n["files"], 2);
}

#[test]
fn vss_restore_takes_source_and_to_or_the_old_backup_and_out() {
    let t = tempfile::tempdir().unwrap();
    let [meta, bcd, backup] = common::vss::backup(t.path(), "RESTORE_IF_CAN_BE_REPLACED");
    let run = |src: &str, to: &str, dir: &str| {
        let o = rehydrate(&[
            "vss",
            "restore",
            "--metadata",
            &meta,
            "--bcd",
            &bcd,
            src,
            &backup,
            to,
            dir,
            "--json",
        ]);
        assert!(
            o.status.success(),
            "{src} {to}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o
    };
    let new_dir = t.path().join("new");
    let old_dir = t.path().join("old");
    let new = run("--source", "--to", s(&new_dir));
    let old = run("--backup", "--out", s(&old_dir));
    assert_eq!(new.status.code(), old.status.code());
    assert!(new_dir.is_dir() && old_dir.is_dir());
    let (v, w) = (json(&new), json(&old));
    assert_eq!(v["report"]["components"], w["report"]["components"]);
    check_vocabulary("vss restore", &v, &["report", "pending_renames"]);
    for p in v["pending_renames"].as_array().unwrap() {
        assert!(p.get("from").is_some() && p.get("to").is_some(), "{p}");
    }
}

#[test]
fn sim_optimize_takes_source_and_to_or_the_old_input_and_out() {
    let t = fast_tempdir();
    let input = t.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("a.bin"), vec![7u8; 100 << 10]).unwrap();
    let (x, y) = (t.path().join("x"), t.path().join("y"));
    let new = ok(&[
        "sim",
        "optimize",
        "--source",
        s(&input),
        "--to",
        s(&x),
        "--json",
    ]);
    let old = ok(&[
        "sim",
        "optimize",
        "--input",
        s(&input),
        "--out",
        s(&y),
        "--json",
    ]);
    let (v, w) = (json(&new), json(&old));
    check_vocabulary(
        "sim optimize",
        &v,
        &[
            "source",
            "to",
            "source_bytes",
            "unsupported_skipped",
            "store",
        ],
    );
    assert_eq!(v["store"]["store_guid"], w["store"]["store_guid"]);
    assert_eq!(v["files_optimized"], 1);
    assert_eq!(w["files_optimized"], 1);
    assert!(x.is_dir() && y.is_dir());
}
