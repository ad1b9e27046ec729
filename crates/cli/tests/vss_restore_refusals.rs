//! `rehydrate vss restore` refusing what it must not do, on the simulator: an output folder
//! overlapping the backup, links in the backup, hostile directed ranges, a file set on a drive
//! the restore does not cover, documents of different backups, an unknown variable. (What it
//! restores: `vss_restore_cli.rs`.)
#![cfg(unix)]

use std::path::Path;

use serde_json::Value;

mod common;

use common::rehydrate;
use common::vss::{BCD, WMD, backup as setup, restore_args};

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
        let o = rehydrate(
            &[
                &restore_args(&meta, &bcd, &backup)[..],
                &["--out", out.to_str().unwrap()],
            ]
            .concat(),
        );
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
    let o = rehydrate(
        &[
            &restore_args(&meta, &bcd, &backup)[..],
            &[
                "--state",
                state.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
        ]
        .concat(),
    );
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
    let base = restore_args(&meta, &bcd, &backup);
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
    let base = [&restore_args(&meta, &bcd, &backup)[..], &["--drive", "E:"]].concat();
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
        let base = [&restore_args(&meta, &bcd, &backup)[..], &["--out", &out]].concat();
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
    let base = restore_args(&meta, &bcd, &backup);
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
