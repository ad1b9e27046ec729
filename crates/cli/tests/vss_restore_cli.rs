//! `rehydrate vss restore` on the simulator: a backup folder with the SQL writer's `master`
//! component (WMD trimmed from the real `with_sql/WM4.xml`), restored in place; a state folder
//! where the files already exist; `--dry-run`; `--json`; a locked-out case that exits 1.
#![cfg(unix)]

use std::path::Path;

use serde_json::Value;

mod common;

use common::rehydrate;
use common::vss::{BCD, WMD, backup as setup};

#[test]
fn restores_a_component_and_reports_it() {
    let t = tempfile::tempdir().unwrap();
    let [meta, bcd, backup] = setup(t.path(), "RESTORE_IF_CAN_BE_REPLACED");
    let o = rehydrate(&[
        "vss",
        "restore",
        "--metadata",
        &meta,
        "--bcd",
        &bcd,
        "--backup",
        &backup,
    ]);
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

    let o = rehydrate(&[
        "vss",
        "restore",
        "--metadata",
        &meta,
        "--bcd",
        &bcd,
        "--backup",
        &backup,
        "--json",
    ]);
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
    let o = rehydrate(&[
        "vss",
        "restore",
        "--metadata",
        &meta,
        "--bcd",
        &bcd,
        "--backup",
        &backup,
        "--dry-run",
    ]);
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
    let o = rehydrate(&[
        "vss",
        "restore",
        "--metadata",
        &meta,
        "--bcd",
        &bcd,
        "--backup",
        &backup,
        "--state",
        &state,
    ]);
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
    let o = rehydrate(&[
        "vss",
        "restore",
        "--metadata",
        &meta,
        "--bcd",
        &bcd,
        "--backup",
        &backup,
        "--out",
        &outs,
    ]);
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
    let base = [
        "vss",
        "restore",
        "--metadata",
        &meta,
        "--bcd",
        &bcd,
        "--backup",
        &backup,
    ];
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
    let base = [
        "vss",
        "restore",
        "--metadata",
        &meta,
        "--bcd",
        &bcd,
        "--backup",
        &backup,
        "--dry-run",
    ];
    let mut args = base.to_vec();
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
    let base = [
        "vss",
        "restore",
        "--metadata",
        &meta,
        "--bcd",
        &bcd,
        "--backup",
        &backup,
        "--dry-run",
    ];
    let mut args = base.to_vec();
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

/// `--out` inside `--backup` (or holding it) is refused before anything is read or written:
/// the backup is never written.
#[test]
fn an_output_folder_overlapping_the_backup_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let [meta, bcd, backup] = setup(t.path(), "RESTORE_IF_CAN_BE_REPLACED");
    let before = std::fs::read_dir(t.path().join("backup/E/DATA"))
        .unwrap()
        .count();
    for out in [
        t.path().join("backup/E/restored"),
        t.path().join("backup"),
        t.path().to_owned(),
    ] {
        let o = rehydrate(&[
            "vss",
            "restore",
            "--metadata",
            &meta,
            "--bcd",
            &bcd,
            "--backup",
            &backup,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", out.display());
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("overlap"),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert!(!t.path().join("backup/E/restored").exists());
    assert_eq!(
        std::fs::read_dir(t.path().join("backup/E/DATA"))
            .unwrap()
            .count(),
        before
    );
}

/// A symbolic link in the backup is never followed: what it points at is not read, and the
/// component that names it is not reported restored.
#[test]
fn links_in_the_backup_are_never_dereferenced() {
    let t = tempfile::tempdir().unwrap();
    let [meta, bcd, backup] = setup(t.path(), "RESTORE_IF_CAN_BE_REPLACED");
    let secret = t.path().join("secret.txt");
    std::fs::write(&secret, b"outside the backup").unwrap();
    let link = t.path().join("backup/E/DATA/master.mdf");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    // The volume starts from a state folder of its own (the backup's drive folder, with its
    // link, is only read through the backup).
    let state = t.path().join("state");
    std::fs::create_dir_all(state.join("DATA")).unwrap();
    let out = t.path().join("out");
    let o = rehydrate(&[
        "vss",
        "restore",
        "--metadata",
        &meta,
        "--bcd",
        &bcd,
        "--backup",
        &backup,
        "--state",
        state.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("symbolic link is never followed"), "{text}");
    let mut stack = vec![out.clone()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else if e.file_type().unwrap().is_file() {
                assert_ne!(
                    std::fs::read(e.path()).unwrap(),
                    b"outside the backup",
                    "{} holds what the link points at",
                    e.path().display()
                );
            }
        }
    }
}

/// A directed target whose destination lies at 2^60 (once an allocation until the process was
/// killed) is refused by the dry run (exit 1, the file's `problem` says why) and by the restore
/// (the component fails), and nothing is allocated for it.
#[test]
fn hostile_directed_ranges_are_refused_by_the_dry_run_and_the_restore() {
    let t = tempfile::tempdir().unwrap();
    let [meta, bcd, backup] = setup(t.path(), "RESTORE_IF_CAN_BE_REPLACED");
    let directed = BCD.replace(
        r#"componentType="filegroup"/>"#,
        &format!(
            r#"componentType="filegroup"><REHYDRATE_RESTORE_STATE restoreTarget="DIRECTED"><DIRECTED_TARGET sourcePath="E:\DATA" sourceFilename="master.mdf" sourceRanges="0:4" destinationPath="E:\DATA" destinationFilename="master.cmp" destinationRanges="{}:4"/></REHYDRATE_RESTORE_STATE></COMPONENT>"#,
            1u64 << 60
        ),
    );
    assert_ne!(directed, BCD);
    std::fs::write(&bcd, directed).unwrap();
    let base = [
        "vss",
        "restore",
        "--metadata",
        &meta,
        "--bcd",
        &bcd,
        "--backup",
        &backup,
    ];
    let o = rehydrate(&[&base[..], &["--dry-run", "--json"]].concat());
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mdf = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"] == r"E:\DATA\master.mdf")
        .unwrap();
    assert!(
        mdf["problem"]
            .as_str()
            .is_some_and(|p| p.contains("largest file NTFS holds")),
        "{mdf:#}"
    );
    let o = rehydrate(&[&base[..], &["--dry-run"]].concat());
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("REFUSED"));
    let (o, peak_kib) = common::run_measuring_peak_rss(&base);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("largest file NTFS holds"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(peak_kib < 256 << 10, "peak RSS {peak_kib} KiB");
    // 256 MiB into the destination, within NTFS's limit: written sparsely, memory bounded.
    let far = BCD.replace(
        r#"componentType="filegroup"/>"#,
        &format!(
            r#"componentType="filegroup"><REHYDRATE_RESTORE_STATE restoreTarget="DIRECTED"><DIRECTED_TARGET sourcePath="E:\DATA" sourceFilename="master.mdf" sourceRanges="0:4" destinationPath="E:\DATA" destinationFilename="master.cmp" destinationRanges="{}:4"/></REHYDRATE_RESTORE_STATE></COMPONENT>"#,
            256u64 << 20
        ),
    );
    std::fs::write(&bcd, far).unwrap();
    let out = t.path().join("out");
    let (o, peak_kib) =
        common::run_measuring_peak_rss(&[&base[..], &["--out", out.to_str().unwrap()]].concat());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(peak_kib < 256 << 10, "peak RSS {peak_kib} KiB");
    let cmp = std::fs::metadata(out.join("DATA/master.cmp")).unwrap();
    assert_eq!(cmp.len(), (256 << 20) + 4);
    let blocks = std::os::unix::fs::MetadataExt::blocks(&cmp);
    assert!(
        blocks * 512 < 1 << 20,
        "the gap was written: {blocks} blocks"
    );
}

/// A component whose file sets span two drives, restored from a backup of one of them: the
/// file set on the other drive cannot be restored, so the component fails with that reason
/// (in the dry run too) instead of "Restored, status ALL" with half its files.
#[test]
fn a_file_set_on_a_drive_the_restore_does_not_cover_fails_the_component() {
    let t = tempfile::tempdir().unwrap();
    let [meta, bcd, backup] = setup(t.path(), "RESTORE_IF_CAN_BE_REPLACED");
    let wmd = WMD.replace("@@M@@", "RESTORE_IF_CAN_BE_REPLACED").replace(
        r#"path="E:\DATA" filespec="mastlog.ldf""#,
        r#"path="F:\DATA" filespec="mastlog.ldf""#,
    );
    std::fs::write(Path::new(&meta).join("WM4.xml"), wmd).unwrap();
    let f = t.path().join("backup/F/DATA");
    std::fs::create_dir_all(&f).unwrap();
    std::fs::write(f.join("mastlog.ldf"), b"backed-up log").unwrap();
    let base = [
        "vss",
        "restore",
        "--metadata",
        &meta,
        "--bcd",
        &bcd,
        "--backup",
        &backup,
        "--drive",
        "E:",
    ];
    for extra in [&["--dry-run"][..], &[][..]] {
        let o = rehydrate(&[&base[..], extra].concat());
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {out}");
        assert!(
            out.contains(r#"file set "F:\\DATA" is on drive F:, of which the backup being restored holds no file"#),
            "{extra:?}: {out}"
        );
        assert!(!out.contains("status ALL"), "{extra:?}: {out}");
    }
}

/// Documents that do not belong together are refused before anything is written: the WMD is
/// of another instance of the writer the BCD names, or the BCD names a writer no WMD describes.
/// `--dry-run` and `vss plan` exit 1 too; `--force` restores what matches.
#[test]
fn a_bcd_and_wmds_of_different_backups_are_refused_unless_forced() {
    let other_instance = "0badc0de-0000-4000-8000-000000000001";
    let unknown_writer = r#"<WRITER_COMPONENTS instanceId="0badc0de-0000-4000-8000-000000000002" writerId="0badc0de-0000-4000-8000-000000000003"><COMPONENT logicalPath="X" componentName="y" componentType="filegroup"/></WRITER_COMPONENTS></BACKUP_COMPONENTS>"#;
    for (case, wmd_instance, extra_writer) in [
        ("another instance", Some(other_instance), false),
        ("a writer without its WMD", None, true),
    ] {
        let t = tempfile::tempdir().unwrap();
        let [meta, bcd, backup] = setup(t.path(), "RESTORE_IF_CAN_BE_REPLACED");
        if let Some(inst) = wmd_instance {
            let wmd = WMD
                .replace("@@M@@", "RESTORE_IF_CAN_BE_REPLACED")
                .replace("dd8d6255-b3bb-4ec1-8249-73cd75c0ee21", inst);
            std::fs::write(Path::new(&meta).join("WM4.xml"), wmd).unwrap();
        }
        if extra_writer {
            let doc = BCD.replace("</BACKUP_COMPONENTS>", unknown_writer);
            std::fs::write(&bcd, doc).unwrap();
        }
        let out_dir = t.path().join("out");
        let out = out_dir.display().to_string();
        let base = [
            "vss",
            "restore",
            "--metadata",
            &meta,
            "--bcd",
            &bcd,
            "--backup",
            &backup,
            "--out",
            &out,
        ];
        let o = rehydrate(&base);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{case}: {err}");
        assert!(err.contains("nothing was restored"), "{case}: {err}");
        assert!(
            err.contains("are these documents of the same backup?"),
            "{case}: {err}"
        );
        let named = if extra_writer {
            "0badc0de-0000-4000-8000-000000000003"
        } else {
            other_instance
        };
        assert!(err.contains(named), "{case}: {err}");
        assert!(!out_dir.exists(), "{case}: --out written");

        let dry = rehydrate(&[&base[..8], &["--dry-run"][..]].concat());
        assert_eq!(dry.status.code(), Some(1), "{case}: dry run");
        let catalog = t.path().join("catalog.txt");
        std::fs::write(&catalog, "E:\\DATA\\master.mdf\nE:\\DATA\\mastlog.ldf\n").unwrap();
        let catalog = catalog.display().to_string();
        let plan = rehydrate(&[
            "vss",
            "plan",
            "--metadata",
            &meta,
            "--bcd",
            &bcd,
            "--catalog",
            &catalog,
        ]);
        let plan_err = String::from_utf8_lossy(&plan.stderr);
        assert_eq!(plan.status.code(), Some(1), "{case}: plan: {plan_err}");
        assert!(
            plan_err.contains("are these documents of the same backup?"),
            "{case}: plan: {plan_err}"
        );

        let forced = rehydrate(&[&base[..], &["--force"][..]].concat());
        let text = String::from_utf8_lossy(&forced.stdout);
        if extra_writer {
            // The matching component is restored; the unknown writer's fails.
            assert!(text.contains("Restored, status ALL"), "{case}: {text}");
        } else {
            assert!(text.contains("Restored, status ALL"), "{case}: {text}");
            assert_eq!(forced.status.code(), Some(0), "{case}: {text}");
        }
        assert!(out_dir.exists(), "{case}: --force wrote nothing");
    }
}

/// A file set using a `%VAR%` nobody defined: the error says which option defines it, in the
/// dry run and the run alike.
#[test]
fn an_unknown_variable_names_the_option_that_defines_it() {
    let t = tempfile::tempdir().unwrap();
    let [meta, bcd, backup] = setup(t.path(), "RESTORE_IF_CAN_BE_REPLACED");
    let wmd = WMD.replace("@@M@@", "RESTORE_IF_CAN_BE_REPLACED").replace(
        r#"path="E:\DATA" filespec="master.mdf""#,
        r#"path="%SQLDATA%" filespec="master.mdf""#,
    );
    std::fs::write(Path::new(&meta).join("WM4.xml"), wmd).unwrap();
    let base = [
        "vss",
        "restore",
        "--metadata",
        &meta,
        "--bcd",
        &bcd,
        "--backup",
        &backup,
    ];
    for extra in [&["--dry-run"][..], &[][..]] {
        let o = rehydrate(&[&base[..], extra].concat());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {err}");
        assert!(err.contains("%SQLDATA%"), "{extra:?}: {err}");
        assert!(
            err.contains("define it with --env SQLDATA=VALUE"),
            "{extra:?}: {err}"
        );
    }
    let defined = rehydrate(&[&base[..], &["--env", r"SQLDATA=E:\DATA"][..]].concat());
    assert_eq!(
        defined.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&defined.stderr)
    );
}
