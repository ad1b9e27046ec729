//! `rehydrate vss restore` on the simulator: a backup folder with the SQL writer's `master`
//! component (WMD trimmed from the real `with_sql/WM4.xml`), restored in place; a state folder
//! where the files already exist; `--dry-run`; `--json`; a locked-out case that exits 1.
#![cfg(unix)]

use serde_json::Value;

mod common;

use common::rehydrate;
use common::vss::{BCD, backup as setup, restore_args};

#[test]
fn restores_a_component_and_reports_it() {
    let t = tempfile::tempdir().unwrap();
    let [meta, bcd, backup] = setup(t.path(), "RESTORE_IF_CAN_BE_REPLACED");
    let o = rehydrate(&restore_args(&meta, &bcd, &backup));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains(r"component WIN2012-SQL17-2\master (SqlServerWriter)"),
        "{out}"
    );
    assert!(out.contains("Restored, status ALL"), "{out}");
    assert!(
        out.contains(r"E:\DATA\master.mdf -> E:\DATA\master.mdf: written"),
        "{out}"
    );
    assert!(
        out.contains("PreRestore") && out.contains("PostRestore"),
        "{out}"
    );

    let o = rehydrate(&[&restore_args(&meta, &bcd, &backup)[..], &["--json"]].concat());
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = &v["report"]["components"][0];
    assert_eq!(c["status"], "ALL");
    assert_eq!(c["files"].as_array().unwrap().len(), 2);
    let ev = v["writer_events"].as_array().unwrap();
    assert!(ev[0].as_str().unwrap().starts_with("PreRestore"), "{ev:?}");
    assert!(
        ev.last().unwrap().as_str().unwrap().contains("All"),
        "{ev:?}"
    );
}

#[test]
fn dry_run_restores_nothing() {
    let t = tempfile::tempdir().unwrap();
    let [meta, bcd, backup] = setup(t.path(), "RESTORE_IF_CAN_BE_REPLACED");
    let o = rehydrate(&[&restore_args(&meta, &bcd, &backup)[..], &["--dry-run"]].concat());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(out.starts_with("dry run: nothing restored"), "{out}");
    assert!(
        out.contains("method RESTORE_IF_CAN_BE_REPLACED") && out.contains("2 file(s)"),
        "{out}"
    );
}

#[test]
fn if_not_there_with_files_present_in_the_state_folder_exits_1() {
    let t = tempfile::tempdir().unwrap();
    let [meta, bcd, backup] = setup(t.path(), "RESTORE_IF_NONE_THERE");
    // The simulated volume starts from a state folder where master.mdf already exists.
    let state = t.path().join("state/DATA");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("master.mdf"), b"live").unwrap();
    let state = t.path().join("state").display().to_string();
    let o = rehydrate(
        &[
            &restore_args(&meta, &bcd, &backup)[..],
            &["--state", &state],
        ]
        .concat(),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("NotRestored, status NONE"), "{out}");
    assert!(out.contains("already on disk"), "{out}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("not fully restored"));
}

#[test]
fn dedup_backup_from_sim_optimize_is_restored_byte_identical() {
    let t = tempfile::tempdir().unwrap();
    let [meta, bcd, _] = setup(t.path(), "RESTORE_IF_CAN_BE_REPLACED");
    // An optimized backup of drive E: made by `rehydrate sim optimize`.
    let input = t.path().join("input/DATA");
    std::fs::create_dir_all(&input).unwrap();
    let block: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 7) as u8).collect();
    let mdf = block.repeat(3);
    let ldf = [block.clone(), vec![0u8; 50_000]].concat();
    std::fs::write(input.join("master.mdf"), &mdf).unwrap();
    std::fs::write(input.join("mastlog.ldf"), &ldf).unwrap();
    let backup = t.path().join("optimized");
    std::fs::create_dir_all(&backup).unwrap();
    let drive = backup.join("E").display().to_string();
    let inp = t.path().join("input").display().to_string();
    let o = rehydrate(&["sim", "optimize", "--input", &inp, "--out", &drive]);
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        if err.contains("extended attributes") {
            eprintln!("SKIPPED: the temporary folder has no user xattrs: {err}");
            return;
        }
        panic!("sim optimize failed: {err}");
    }
    let out = t.path().join("restored");
    let backup = backup.display().to_string();
    let outs = out.display().to_string();
    let o = rehydrate(&[&restore_args(&meta, &bcd, &backup)[..], &["--out", &outs]].concat());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("written (dedup, rehydrated)"), "{text}");
    assert!(std::fs::read(out.join("DATA/master.mdf")).unwrap() == mdf);
    assert!(std::fs::read(out.join("DATA/mastlog.ldf")).unwrap() == ldf);
}

/// Rust `Debug` output (`SetStatus { component: "…", status: None }`) is not for people: the
/// human report names every step in words.
#[test]
fn human_output_has_no_debug_formatting() {
    let t = tempfile::tempdir().unwrap();
    let [meta, bcd, backup] = setup(t.path(), "RESTORE_IF_CAN_BE_REPLACED");
    let base = restore_args(&meta, &bcd, &backup);
    let mut dry = base.to_vec();
    dry.push("--dry-run");
    for args in [&base[..], &dry[..]] {
        let o = rehydrate(args);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{out}");
        for debug in [
            " { ",
            "SetStatus",
            "PreRestore {",
            "Some(",
            "None }",
            "component: \"",
        ] {
            assert!(!out.contains(debug), "{debug:?} in\n{out}");
        }
    }
    let o = rehydrate(&base);
    let out = String::from_utf8_lossy(&o.stdout);
    for want in [
        r"PreRestore to WIN2012-SQL17-2\master: accepted",
        r"SetFileRestoreStatus WIN2012-SQL17-2\master: NONE",
        r"copy the files of WIN2012-SQL17-2\master",
        r"SetFileRestoreStatus WIN2012-SQL17-2\master: ALL",
        r"PostRestore to WIN2012-SQL17-2\master with status ALL: accepted",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
}

/// `fixtures/vss/kevingoode-vssbackup` (see `fixtures/README.md`).
fn real() -> std::path::PathBuf {
    test_support::fixture("vss/kevingoode-vssbackup")
}

/// The real `no_sql` documents (diskshadow, Windows Server 2012) over a backup folder of drive
/// C: holding one file for each of their components, one excluded file and one no writer
/// claims: `--dry-run --json` names every file of the restore set with its source in the
/// backup, destination, component, method and target; the human dry run lists the same.
#[test]
fn dry_run_json_lists_every_file_of_the_real_no_sql_restore_set() {
    let real = real();
    let docs = real.join("no_sql");
    let t = tempfile::tempdir().unwrap();
    let claimed = [
        (
            r"Windows\System32\Tasks\Microsoft\Defrag\ScheduledDefrag",
            "TasksStore",
        ),
        (r"Windows\Tasks\SA.DAT", "TasksStore"),
        (
            r"Windows\Vss\Writers\Application\x.xml",
            "WriterMetadataStore",
        ),
        (r"Windows\System32\perfc009.dat", "PerformanceCounters"),
        (r"Windows\System32\config\SAM", "Registry"),
        (r"Windows\System32\wbem\Repository\OBJECTS.DATA", "WMI"),
        (r"Windows\Registration\R000000000001.clb", "COM+ REGDB"),
        (r"Windows\winsxs\x86_manifest.man", "System Files"),
    ];
    let others = [
        (r"Windows\System32\config\SECURITY.LOG", "excluded"),
        (r"Users\a\notes.txt", "plain-restore"),
    ];
    for (rel, _) in claimed.iter().chain(&others) {
        let host = t.path().join("backup/C").join(rel.replace('\\', "/"));
        std::fs::create_dir_all(host.parent().unwrap()).unwrap();
        std::fs::write(&host, rel.as_bytes()).unwrap();
    }
    let meta = docs.display().to_string();
    let bcd = docs.join("BCDocument.xml").display().to_string();
    let backup = t.path().join("backup").display().to_string();
    let base = [&restore_args(&meta, &bcd, &backup)[..], &["--dry-run"]].concat();
    let mut args = base.clone();
    args.push("--json");
    let o = rehydrate(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["drive"], "C:");
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), claimed.len(), "{files:#?}");
    for f in files {
        for key in ["source", "destination", "backup_file", "method", "target"] {
            let s = f[key].as_str().unwrap_or_default();
            assert!(!s.is_empty(), "{key} empty in {f:#}");
        }
        let c = &f["component"];
        for key in ["writer", "writer_id", "name", "path", "selected_as"] {
            let s = c[key].as_str().unwrap_or_default();
            assert!(!s.is_empty(), "component {key} empty in {f:#}");
        }
        assert!(
            std::path::Path::new(f["backup_file"].as_str().unwrap()).is_file(),
            "{f:#}"
        );
        assert!(f["partial"].is_null(), "{f:#}");
    }
    for (rel, component) in claimed {
        let src = format!(r"C:\{rel}");
        let f = files
            .iter()
            .find(|f| f["source"] == src.as_str())
            .unwrap_or_else(|| panic!("{src} missing from {files:#?}"));
        assert_eq!(f["destination"], src.as_str(), "{f:#}");
        assert_eq!(f["destination_kind"], "original", "{f:#}");
        assert_eq!(f["component"]["name"], component, "{f:#}");
    }
    let sam = files
        .iter()
        .find(|f| f["component"]["name"] == "Registry")
        .unwrap();
    assert_eq!(sam["component"]["writer"], "Registry Writer");
    assert_eq!(
        sam["component"]["writer_id"],
        "afbab4a2-367d-4d15-a586-71dbb18f8485"
    );
    assert_eq!(sam["method"], "REPLACE_AT_REBOOT_IF_CANNOT_REPLACE");
    assert_eq!(sam["target"], "ORIGINAL");
    let wmi = files
        .iter()
        .find(|f| f["component"]["name"] == "WMI")
        .unwrap();
    assert_eq!(wmi["method"], "REPLACE_AT_REBOOT");
    let other = v["other_files"].as_array().unwrap();
    for (rel, action) in others {
        let src = format!(r"C:\{rel}");
        assert!(
            other
                .iter()
                .any(|f| f["source"] == src.as_str() && f["action"] == action),
            "{src} {action} missing from {other:#?}"
        );
    }

    let o = rehydrate(&base);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("files (8):"), "{out}");
    for (rel, _) in claimed {
        let line = format!(r"  C:\{rel} -> C:\{rel}  [file set of ");
        assert!(out.contains(&line), "missing {line:?} in\n{out}");
    }
    assert!(
        out.contains(r"excluded      C:\Windows\System32\config\SECURITY.LOG"),
        "{out}"
    );
}

/// A partial file (only some ranges were backed up, `PARTIAL_FILE` in the BCD's restore
/// state): the dry run gives its ranges, in the JSON and in words.
#[test]
fn dry_run_shows_partial_file_ranges() {
    let t = tempfile::tempdir().unwrap();
    let [meta, bcd, backup] = setup(t.path(), "RESTORE_IF_CAN_BE_REPLACED");
    let partial = BCD.replace(
        r#"componentType="filegroup"/>"#,
        r#"componentType="filegroup"><REHYDRATE_RESTORE_STATE><PARTIAL_FILE path="E:\DATA" filename="master.mdf" ranges="0:6, 0x100:10"/></REHYDRATE_RESTORE_STATE></COMPONENT>"#,
    );
    assert_ne!(partial, BCD);
    std::fs::write(&bcd, partial).unwrap();
    let base = [&restore_args(&meta, &bcd, &backup)[..], &["--dry-run"]].concat();
    let mut args = base.clone();
    args.push("--json");
    let o = rehydrate(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{files:#?}");
    let mdf = files
        .iter()
        .find(|f| f["source"] == r"E:\DATA\master.mdf")
        .unwrap();
    let ranges = &mdf["partial"]["ranges"];
    assert_eq!(ranges[0]["offset"], 0, "{mdf:#}");
    assert_eq!(ranges[0]["length"], 6, "{mdf:#}");
    assert_eq!(ranges[1]["offset"], 0x100, "{mdf:#}");
    assert_eq!(ranges[1]["length"], 10, "{mdf:#}");
    assert_eq!(mdf["component"]["logical_path"], "WIN2012-SQL17-2");
    assert_eq!(mdf["component"]["name"], "master");
    let ldf = files
        .iter()
        .find(|f| f["source"] == r"E:\DATA\mastlog.ldf")
        .unwrap();
    assert!(ldf["partial"].is_null(), "{ldf:#}");

    let o = rehydrate(&base);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains(r"  E:\DATA\master.mdf -> E:\DATA\master.mdf (partial: ranges "),
        "{out}"
    );
}
