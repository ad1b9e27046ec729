//! `rehydrate vss show` and `rehydrate vss plan`, run as the built binary.

use std::path::PathBuf;
use std::process::{Command, Output};

fn rehydrate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rehydrate"))
        .args(args)
        .output()
        .expect("run rehydrate")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `fixtures/vss/kevingoode-vssbackup` (see `fixtures/README.md`).
fn real() -> PathBuf {
    test_support::fixture("vss/kevingoode-vssbackup")
}

fn p(path: &std::path::Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

#[test]
fn show_sql_writer_tables() {
    let dir = real();
    let o = rehydrate(&["vss", "show", p(&dir.join("no_sql/WM5.xml"))]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for want in [
        "writer:        SqlServerWriter",
        "method:        RESTORE_IF_CAN_BE_REPLACED",
        "writerRestore: always",
        "881 (DIFFERENTIAL|COPY|TIMESTAMPED|LAST_MODIFY|WRITER_SUPPORTS_NEW_TARGET|WRITER_SUPPORTS_RESTORE_WITH_MOVE)",
        r"WIN2012-SQL17-2\master",
        r"E:\MSSQL14.MSSQLSERVER\MSSQL\DATA\mastlog.ldf",
        "Components (6):",
        "File sets (12):",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
}

#[test]
fn show_bcd_as_json() {
    let dir = real();
    let o = rehydrate(&[
        "vss",
        "show",
        "--json",
        p(&dir.join("with_sql/BCDocument.xml")),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let writers = v["Components"]["writers"].as_array().unwrap();
    assert_eq!(writers.len(), 8);
    let sql = writers
        .iter()
        .find(|w| w["backup_schema"]["value"] == 881)
        .unwrap();
    assert_eq!(sql["components"][0]["name"], "local1");
    assert_eq!(sql["components"][0]["backup_stamp"], "CAAAAMQv3+t4udUB");
}

#[test]
fn show_reports_bad_input_and_missing_files() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.xml");
    std::fs::write(
        &bad,
        r#"<WRITER_METADATA><IDENTIFICATION writerId="not-a-guid"/></WRITER_METADATA>"#,
    )
    .unwrap();
    let o = rehydrate(&["vss", "show", p(&bad)]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("IDENTIFICATION") && err.contains("writerId") && err.contains("GUID"),
        "{err}"
    );
    let o = rehydrate(&["vss", "show", p(&tmp.path().join("nope.xml"))]);
    assert_eq!(o.status.code(), Some(2));
}

fn write_catalog(dir: &std::path::Path, lines: &[&str]) -> PathBuf {
    let path = dir.join("catalog.txt");
    std::fs::write(&path, lines.join("\r\n")).unwrap();
    path
}

#[test]
fn plan_real_backup() {
    let dir = real();
    let tmp = tempfile::tempdir().unwrap();
    let catalog = write_catalog(
        tmp.path(),
        &[
            "# original paths",
            r"C:\Windows\System32\config\SAM",
            r"C:\Windows\System32\config\SECURITY.LOG",
            r"C:\SQL_LOCAL_DBS\MSSQL14.MSSQLSERVER\MSSQL\DATA\local1.mdf",
            r"E:\MSSQL14.MSSQLSERVER\MSSQL\DATA\master.mdf",
            r"C:\Users\Administrator\Documents\notes.txt",
        ],
    );
    let metadata = dir.join("with_sql");
    let bcd = dir.join("with_sql/BCDocument.xml");
    let base = [
        "vss",
        "plan",
        "--metadata",
        p(&metadata),
        "--bcd",
        p(&bcd),
        "--catalog",
        p(&catalog),
        "--default-env",
        "C:",
    ];
    let o = rehydrate(&base);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains(r"restore       C:\Windows\System32\config\SAM  [file set of Registry (Registry Writer), method REPLACE_AT_REBOOT_IF_CANNOT_REPLACE"), "{out}");
    assert!(
        out.contains(r"excluded      C:\Windows\System32\config\SECURITY.LOG"),
        "{out}"
    );
    assert!(
        out.contains(r"not-selected  E:\MSSQL14.MSSQLSERVER\MSSQL\DATA\master.mdf"),
        "{out}"
    );
    assert!(out.contains("5 files: 2 restore for a component, 1 plain restore, 1 excluded, 1 not selected, 0 writer error"), "{out}");
    // Manifest.xml and the BCD in the metadata folder are skipped, and said so.
    assert!(stderr(&o).contains("Manifest.xml"), "{}", stderr(&o));

    // JSON, with a selection.
    let mut args = base.to_vec();
    args.extend(["--json", "--select", r"WIN2012-SQL17-2\local1"]);
    let o = rehydrate(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let files = v["files"].as_array().unwrap();
    let actions: Vec<&str> = files
        .iter()
        .map(|f| f["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "not-selected",
            "excluded",
            "restore",
            "not-selected",
            "plain-restore"
        ]
    );
    assert_eq!(files[2]["writer"], "SqlServerWriter");
    assert_eq!(files[2]["method"], "RESTORE_IF_CAN_BE_REPLACED");
    assert_eq!(
        files[2]["destination"],
        r"C:\SQL_LOCAL_DBS\MSSQL14.MSSQLSERVER\MSSQL\DATA\local1.mdf"
    );

    // Without variables the unknown one is named; a bad selection is rejected.
    let o = rehydrate(&base[..8]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown environment variable %"),
        "{}",
        stderr(&o)
    );
    let mut args = base.to_vec();
    args.extend(["--select", "NoSuchComponent"]);
    let o = rehydrate(&args);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("NoSuchComponent"));
}

#[test]
fn plan_reports_writer_errors_per_component() {
    let tmp = tempfile::tempdir().unwrap();
    let meta = tmp.path().join("meta");
    std::fs::create_dir(&meta).unwrap();
    std::fs::write(
        meta.join("app.xml"),
        r#"<WRITER_METADATA><IDENTIFICATION writerId="11111111-1111-1111-1111-111111111111" friendlyName="Alt Writer"/><RESTORE_METHOD method="RESTORE_TO_ALTERNATE_LOCATION" writerRestore="always"/><BACKUP_LOCATIONS><FILE_GROUP componentName="Mapped"><FILE_LIST path="%DATA%\m" filespec="*" recursive="yes"/></FILE_GROUP><FILE_GROUP componentName="Unmapped"><FILE_LIST path="%DATA%\u" filespec="*"/></FILE_GROUP><ALTERNATE_LOCATION_MAPPING path="%DATA%\m" filespec="*" recursive="yes" alternatePath="R:\alt"/></BACKUP_LOCATIONS></WRITER_METADATA>"#,
    )
    .unwrap();
    let bcd = tmp.path().join("bcd.xml");
    std::fs::write(
        &bcd,
        r#"<BACKUP_COMPONENTS><WRITER_COMPONENTS writerId="11111111-1111-1111-1111-111111111111"><COMPONENT componentName="Mapped"/><COMPONENT componentName="Unmapped"/></WRITER_COMPONENTS></BACKUP_COMPONENTS>"#,
    )
    .unwrap();
    let catalog = write_catalog(tmp.path(), &[r"D:\data\m\sub\a.txt", r"D:\data\u\b.txt"]);
    let o = rehydrate(&[
        "vss",
        "plan",
        "--metadata",
        p(&meta),
        "--bcd",
        p(&bcd),
        "--catalog",
        p(&catalog),
        "--env",
        r"DATA=D:\data",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(r"restore       D:\data\m\sub\a.txt -> R:\alt\sub\a.txt"),
        "{out}"
    );
    assert!(
        out.contains(
            r"WRITER ERROR: alternate location required but file set %DATA%\u\* has no mapping"
        ),
        "{out}"
    );
    assert!(out.contains(r"writer-error  D:\data\u\b.txt"), "{out}");
    assert!(
        stderr(&o).contains("writer errors in 1 component(s): Unmapped (Alt Writer)"),
        "{}",
        stderr(&o)
    );
}
