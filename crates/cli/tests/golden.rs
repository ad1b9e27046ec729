//! Golden outputs: `rehydrate inspect container`, `inspect store`, `vss show` and `vss plan` on
//! the real Windows samples in `fixtures/`, human and `--json`, compared with the files in
//! `tests/golden/`. A change of output is a reviewed change of these files:
//! `cargo xtask fixtures` (which sets `REHYDRATE_BLESS=1`) rewrites them from the current build.
//!
//! Paths that differ between machines are replaced before comparing: the temporary folder by
//! `<TMP>`, the fixtures folder by `<FIXTURES>`.

use std::path::{Path, PathBuf};
use std::process::Command;

use dedup_store::{ContainerKind, container_path};

/// The chunk-store GUID of the real v3 reparse buffer in `fixtures/dedup/tnf-v3-reparse-prefix`.
/// The WS2019 sample's own store GUID was not published (its reparse points are not in the
/// sample), so its container is placed under this real one.
const STORE_GUID: &str = "{5D1B7BFA-B73E-42A0-95CB-91CE1921CFB2}";

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Runs `rehydrate args`, expects success, and returns stdout with machine paths replaced.
fn run(args: &[&str], tmp: &Path) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_rehydrate"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "rehydrate {args:?}: {}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    normalize(&String::from_utf8(o.stdout).expect("UTF-8 output"), tmp)
}

fn normalize(text: &str, tmp: &Path) -> String {
    let fixtures = test_support::fixtures();
    let mut out = text.to_owned();
    for (path, name) in [(fixtures.as_path(), "<FIXTURES>"), (tmp, "<TMP>")] {
        for form in [path.to_path_buf(), path.canonicalize().unwrap()] {
            let s = form.to_str().expect("UTF-8 path");
            out = out.replace(s, name);
            // JSON escapes nothing in a Unix path; on Windows its backslashes are doubled.
            out = out.replace(&s.replace('\\', "\\\\"), name);
        }
    }
    out
}

/// Compares `actual` with `tests/golden/name`, or writes it when `REHYDRATE_BLESS` is set.
fn check(name: &str, actual: &str) {
    let file = golden_dir().join(name);
    if std::env::var_os("REHYDRATE_BLESS").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&file, actual).unwrap();
        eprintln!("blessed {}", file.display());
        return;
    }
    let want = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run `cargo xtask fixtures` to create it)",
            file.display()
        )
    });
    if want != actual {
        let line = want
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| want.lines().count().min(actual.lines().count()));
        panic!(
            "{name}: output differs from {} at line {} \
             (expected {:?}, got {:?}); review and run `cargo xtask fixtures` if intended\n\
             --- full output ---\n{actual}",
            file.display(),
            line + 1,
            want.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

/// A volume folder whose chunk store holds the real WS2019 data container.
fn store_volume(tmp: &Path) -> PathBuf {
    let vol = tmp.join("volume");
    let rel = container_path(&STORE_GUID, ContainerKind::Data, 1, 1).replace('\\', "/");
    let dest = vol.join(rel.trim_start_matches('/'));
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::copy(test_support::ws2019_container(), &dest).unwrap();
    vol
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

#[test]
fn inspect_container_on_the_real_container() {
    let tmp = tempfile::tempdir().unwrap();
    let ccc = test_support::ws2019_container();
    check(
        "inspect-container.txt",
        &run(&["inspect", "container", "--source", s(&ccc)], tmp.path()),
    );
    check(
        "inspect-container.json",
        &run(
            &["inspect", "container", "--source", s(&ccc), "--json"],
            tmp.path(),
        ),
    );
}

#[test]
fn inspect_store_on_the_real_container() {
    let tmp = tempfile::tempdir().unwrap();
    let vol = store_volume(tmp.path());
    check(
        "inspect-store.txt",
        &run(&["inspect", "store", "--source", s(&vol)], tmp.path()),
    );
    check(
        "inspect-store.json",
        &run(
            &["inspect", "store", "--source", s(&vol), "--json"],
            tmp.path(),
        ),
    );
}

#[test]
fn vss_show_on_the_real_documents() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = test_support::fixture("vss/kevingoode-vssbackup/with_sql");
    for (doc, stem) in [("BCDocument.xml", "bcd"), ("WM4.xml", "wmd-sql")] {
        let p = docs.join(doc);
        check(
            &format!("vss-show-{stem}.txt"),
            &run(&["vss", "show", "--source", s(&p)], tmp.path()),
        );
        check(
            &format!("vss-show-{stem}.json"),
            &run(&["vss", "show", "--source", s(&p), "--json"], tmp.path()),
        );
    }
}

#[test]
fn vss_plan_on_the_real_documents() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = test_support::fixture("vss/kevingoode-vssbackup/no_sql");
    let catalog = tmp.path().join("catalog.txt");
    std::fs::write(
        &catalog,
        "C:\\Windows\\System32\\config\\SAM\n\
         C:\\Windows\\System32\\config\\SOFTWARE\n\
         C:\\Windows\\Tasks\\SA.DAT\n\
         C:\\Windows\\System32\\wbem\\Repository\\OBJECTS.DATA\n\
         C:\\Users\\someone\\Documents\\report.docx\n",
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
    check("vss-plan.txt", &run(&args, tmp.path()));
    check(
        "vss-plan.json",
        &run(&[&args[..], &["--json"]].concat(), tmp.path()),
    );
}
