//! `rehydrate vss restore` over the whole decision table, from the command line: every restore
//! method × every restore target × every disk state (absent, present, partly present, held
//! open by the writer's service, held open by another process, read-only, a directory on a
//! file's path) × with and without alternate location mappings, each with and without
//! `--reboot`. Each run checks the files on the resulting volume (`--out`), the pending
//! renames, the mappings recorded in the report and the BCD, the statuses in both, the writer
//! and service events, what became of each rename at the reboot, and the exit code, against
//! an oracle that states the rules (crate docs of `vss-restore`, "Rules and their sources";
//! where Microsoft's documentation is silent, the oracle states the project's choice).
//! Also: issue 18 items 5 (`--reboot` never hides the report) and 7 (disk states from the
//! command line, refused when they name no file).
#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const WRITER: &str = "a65faa63-5ea8-4ebc-9dbd-a0c4db26912a";
const INSTANCE: &str = "dd8d6255-b3bb-4ec1-8249-73cd75c0ee21";
const SERVICE: &str = "MSSQLSERVER";
const MDF: &str = r"\DATA\master.mdf";
const LDF: &str = r"\DATA\mastlog.ldf";
const ALT_MDF: &str = r"\ALT\master.mdf";
const ALT_LDF: &str = r"\ALT\mastlog.ldf";
const DIR_MDF: &str = r"\Directed\master.mdf";
const NEW: [&[u8]; 2] = [b"backed-up master", b"backed-up log"];
const OLD: [&[u8]; 2] = [b"live master", b"live log"];

const INT: &str = "RESTORE_IF_NONE_THERE";
const ICR: &str = "RESTORE_IF_CAN_BE_REPLACED";
const SRS: &str = "STOP_RESTART_SERVICE";
const RSS: &str = "RESTORE_STOP_START";
const TAL: &str = "RESTORE_TO_ALTERNATE_LOCATION";
const ARB: &str = "REPLACE_AT_REBOOT";
const ARC: &str = "REPLACE_AT_REBOOT_IF_CANNOT_REPLACE";
const CUSTOM: &str = "CUSTOM";
const TARGETS: [&str; 5] = [
    "ORIGINAL",
    "ALTERNATE",
    "DIRECTED",
    "ORIGINAL_LOCATION",
    "UNDEFINED",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disk {
    Absent,
    Present,
    /// Only `master.mdf` on disk.
    Partial,
    /// Both files held open by the writer's service (`--service-lock`).
    ServiceLocked,
    /// Both files held open by another process until the reboot (`--lock`).
    Locked,
    /// Both files read-only (`--read-only`).
    ReadOnly,
    /// A directory where `master.mdf` belongs; `mastlog.ldf` absent.
    Directory,
}

const DISKS: [Disk; 7] = [
    Disk::Absent,
    Disk::Present,
    Disk::Partial,
    Disk::ServiceLocked,
    Disk::Locked,
    Disk::ReadOnly,
    Disk::Directory,
];

fn rehydrate(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rehydrate"))
        .args(args)
        .output()
        .unwrap()
}

/// What the oracle expects of one run.
#[derive(Debug, Default)]
struct Expect {
    status: &'static str,
    outcome: &'static str,
    /// (volume path, index into NEW) written in place by the restore.
    written: Vec<(&'static str, usize)>,
    /// (volume path, index into NEW) staged for reboot.
    staged: Vec<(&'static str, usize)>,
    /// Filespecs of the alternate mappings recorded.
    mappings: Vec<&'static str>,
    /// Writer and service events: `pre`, `stop`, `start`, `post:All|None`.
    events: Vec<String>,
    /// Whether the writer is involved at all (not a CUSTOM writer left out).
    involved: bool,
}

/// Whether the file `i` (0: master.mdf, 1: mastlog.ldf) exists in place before the restore.
fn present(d: Disk, i: usize) -> bool {
    match d {
        Disk::Absent => false,
        Disk::Partial | Disk::Directory => i == 0,
        _ => true,
    }
}

/// Whether the file `i` cannot be replaced in place (an exclusive open fails), with the
/// writer's service stopped or not. A read-only file, a file in use and a directory are
/// all "cannot be replaced" (the project's reading of docs/vss-restore.md §3.4; the documentation
/// names only files in use).
fn blocked(d: Disk, i: usize, service_stopped: bool) -> bool {
    match d {
        Disk::ServiceLocked => !service_stopped,
        Disk::Locked | Disk::ReadOnly => true,
        Disk::Directory => i == 0,
        _ => false,
    }
}

/// What the oracle says the restore does: write (destinations, mappings recorded), stage for
/// reboot (destinations, mappings recorded) or nothing.
enum Do {
    Write(Vec<(&'static str, usize)>, Vec<&'static str>),
    Stage(Vec<(&'static str, usize)>, Vec<&'static str>),
    Nothing,
}

/// The decision table (crate docs of `vss-restore`).
fn oracle(m: &str, t: &str, d: Disk, map: bool) -> Expect {
    let custom = m == CUSTOM;
    let needs_map = t == "ALTERNATE" || (m == TAL && t == "ORIGINAL");
    let mut e = Expect {
        status: "NONE",
        involved: !custom,
        ..Expect::default()
    };
    // A writer error: nothing written; the writer still gets PreRestore and PostRestore(NONE)
    // unless it is a CUSTOM writer left out.
    if t == "UNDEFINED" || (needs_map && !map) {
        e.outcome = "WriterError";
        if !custom {
            e.events = vec!["pre".into(), "post:None".into()];
        }
        return e;
    }
    if custom {
        e.outcome = "CustomRestoreRequired";
        return e;
    }
    let orig = [MDF, LDF];
    let alt = [ALT_MDF, ALT_LDF];
    let stopped = m == SRS;
    let any_blocked = (0..2).any(|i| blocked(d, i, stopped));
    let any_present = (0..2).any(|i| present(d, i));
    let at = |paths: [&'static str; 2]| vec![(paths[0], 0), (paths[1], 1)];
    let both = vec!["master.mdf", "mastlog.ldf"];
    let act = if needs_map {
        if m == ARB {
            Do::Stage(at(alt), both)
        } else {
            Do::Write(at(alt), both)
        }
    } else if t == "DIRECTED" {
        // master.mdf where the writer directs it; mastlog.ldf under the method.
        let directed = |ldf: &'static str| vec![(DIR_MDF, 0), (ldf, 1)];
        let ldf_blocked = blocked(d, 1, stopped);
        match m {
            INT if present(d, 1) && map => Do::Write(directed(ALT_LDF), vec!["mastlog.ldf"]),
            INT if present(d, 1) => Do::Nothing,
            ICR if ldf_blocked && map => Do::Write(directed(ALT_LDF), vec!["mastlog.ldf"]),
            ARB => Do::Stage(directed(LDF), vec![]),
            ARC if ldf_blocked => Do::Stage(directed(LDF), vec![]),
            _ if ldf_blocked => Do::Nothing,
            _ => Do::Write(directed(LDF), vec![]),
        }
    } else {
        // ORIGINAL (methods other than TO_ALTERNATE_LOCATION) and ORIGINAL_LOCATION: in
        // place; the mappings are a fallback of IF_NOT_THERE / IF_CAN_REPLACE under ORIGINAL.
        let fallback = t == "ORIGINAL" && map;
        match m {
            INT if any_present && fallback => Do::Write(at(alt), both),
            INT if any_present => Do::Nothing,
            ICR if any_blocked && fallback => Do::Write(at(alt), both),
            ARB => Do::Stage(at(orig), vec![]),
            ARC if any_blocked => Do::Stage(at(orig), vec![]),
            _ if any_blocked => Do::Nothing,
            _ => Do::Write(at(orig), vec![]),
        }
    };
    match act {
        Do::Write(w, maps) => {
            e.status = "ALL";
            e.outcome = "Restored";
            e.written = w;
            e.mappings = maps;
        }
        Do::Stage(s, maps) => {
            e.status = "ALL";
            e.outcome = "StagedForReboot";
            e.staged = s;
            e.mappings = maps;
        }
        Do::Nothing => e.outcome = "NotRestored",
    }
    let post = format!("post:{}", if e.status == "ALL" { "All" } else { "None" });
    e.events = match m {
        SRS => vec!["pre".into(), "stop".into(), "start".into(), post],
        RSS if e.status == "ALL" => vec!["pre".into(), post, "stop".into(), "start".into()],
        _ => vec!["pre".into(), post],
    };
    e
}

/// Whether a pending rename onto `dest` fails at the reboot: a read-only file or a directory
/// is never replaced by a rename (as on NTFS).
fn rename_fails(d: Disk, dest: &str) -> bool {
    (d == Disk::ReadOnly && (dest == MDF || dest == LDF)) || (d == Disk::Directory && dest == MDF)
}

fn wmd(method: &str, mappings: bool) -> String {
    let maps = if mappings {
        r#"<ALTERNATE_LOCATION_MAPPING path="E:\DATA" filespec="master.mdf" recursive="no" alternatePath="E:\ALT"/><ALTERNATE_LOCATION_MAPPING path="E:\DATA" filespec="mastlog.ldf" recursive="no" alternatePath="E:\ALT"/>"#
    } else {
        ""
    };
    format!(
        r#"<WRITER_METADATA xmlns="x-schema:#VssWriterMetadataInfo" version="1.2" backupSchema="881"><IDENTIFICATION writerId="{WRITER}" instanceId="{INSTANCE}" instanceName="Microsoft SQL Server 2017:SQLWriter" friendlyName="SqlServerWriter" usage="USER_DATA" dataSource="TRANSACTION_DB" majorVersion="0" minorVersion="0"/><RESTORE_METHOD method="{method}" writerRestore="always" rebootRequired="no" service="{SERVICE}"/><BACKUP_LOCATIONS><FILE_GROUP logicalPath="WIN2012-SQL17-2" componentName="master" restoreMetadata="no" notifyOnBackupComplete="yes" selectable="yes" selectableForRestore="yes" componentFlags="2"><FILE_LIST path="E:\DATA" filespec="master.mdf" filespecBackupType="3855"/><FILE_LIST path="E:\DATA" filespec="mastlog.ldf" filespecBackupType="3855"/></FILE_GROUP>{maps}</BACKUP_LOCATIONS></WRITER_METADATA>"#
    )
}

fn bcd(target: &str) -> String {
    let directed = if target == "DIRECTED" {
        let n = NEW[0].len();
        format!(
            r#"<DIRECTED_TARGET sourcePath="E:\DATA" sourceFilename="master.mdf" sourceRanges="0:{n}" destinationPath="E:\Directed" destinationFilename="master.mdf" destinationRanges="0:{n}"/>"#
        )
    } else {
        String::new()
    };
    format!(
        r#"<BACKUP_COMPONENTS xmlns="x-schema:#VssComponentMetadata" version="1.2" selectComponents="yes" backupType="full" partialFileSupport="no"><WRITER_COMPONENTS instanceId="{INSTANCE}" writerId="{WRITER}"><COMPONENT logicalPath="WIN2012-SQL17-2" componentName="master" componentType="filegroup"><REHYDRATE_RESTORE_STATE restoreTarget="{target}">{directed}</REHYDRATE_RESTORE_STATE></COMPONENT></WRITER_COMPONENTS></BACKUP_COMPONENTS>"#
    )
}

/// The state folder of a disk state, and the flags that put the rest of it on the volume.
fn disk(dir: &Path, d: Disk) -> Vec<String> {
    let data = dir.join("DATA");
    std::fs::create_dir_all(&data).unwrap();
    for (i, name) in ["master.mdf", "mastlog.ldf"].into_iter().enumerate() {
        if present(d, i) && d != Disk::Directory {
            std::fs::write(data.join(name), OLD[i]).unwrap();
        }
    }
    if d == Disk::Directory {
        std::fs::create_dir_all(data.join("master.mdf")).unwrap();
    }
    let both = [r"E:\DATA\master.mdf", r"E:\DATA\mastlog.ldf"];
    match d {
        Disk::ServiceLocked => both
            .iter()
            .flat_map(|p| ["--service-lock".to_owned(), format!("{SERVICE}={p}")])
            .collect(),
        Disk::Locked => both
            .iter()
            .flat_map(|p| ["--lock".to_owned(), (*p).to_owned()])
            .collect(),
        Disk::ReadOnly => both
            .iter()
            .flat_map(|p| ["--read-only".to_owned(), (*p).to_owned()])
            .collect(),
        _ => Vec::new(),
    }
}

/// Every file under `root` as (`\a\b`, bytes), and whether `\DATA\master.mdf` is a directory.
fn volume_files(root: &Path) -> (BTreeMap<String, Vec<u8>>, bool) {
    let mut out = BTreeMap::new();
    let mut stack = vec![(root.to_owned(), String::new())];
    while let Some((dir, win)) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let name = format!("{win}\\{}", e.file_name().to_str().unwrap());
            if e.file_type().unwrap().is_dir() {
                stack.push((e.path(), name));
            } else {
                out.insert(name, std::fs::read(e.path()).unwrap());
            }
        }
    }
    (out, root.join("DATA/master.mdf").is_dir())
}

/// `PreRestore(…)` → `pre`, `ServiceStopped("…")` → `stop`, `PostRestore(…, All)` →
/// `post:All`.
fn short_event(e: &str) -> String {
    if e.starts_with("PreRestore") {
        "pre".into()
    } else if e.starts_with("ServiceStopped") {
        "stop".into()
    } else if e.starts_with("ServiceStarted") {
        "start".into()
    } else if let Some(rest) = e.strip_prefix("PostRestore") {
        let status = rest.rsplit(", ").next().unwrap().trim_end_matches(')');
        format!("post:{status}")
    } else {
        e.to_owned()
    }
}

fn filespecs(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["destination"], r"E:\ALT", "{m}");
            assert_eq!(m["path"], r"E:\DATA", "{m}");
            m["filespec"].as_str().unwrap().to_owned()
        })
        .collect();
    out.sort();
    out
}

/// The files expected on the volume after the run, and the temporary files that hold staged
/// data (from the pending renames), without and with the reboot.
fn expected_files(
    d: Disk,
    e: &Expect,
    pending: &[(String, String)],
    reboot: bool,
) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for (i, p) in [MDF, LDF].into_iter().enumerate() {
        if present(d, i) && d != Disk::Directory {
            files.insert(p.to_owned(), OLD[i].to_vec());
        }
    }
    for &(p, i) in &e.written {
        files.insert(p.to_owned(), NEW[i].to_vec());
    }
    for &(dest, i) in &e.staged {
        let (temp, _) = pending.iter().find(|(_, d)| d == dest).unwrap();
        if reboot && !rename_fails(d, dest) {
            files.insert(dest.to_owned(), NEW[i].to_vec());
        } else {
            files.insert(temp.clone(), NEW[i].to_vec());
        }
    }
    files
}

fn run_case(base: &Path, m: &str, t: &str, d: Disk, map: bool, reboot: bool) {
    let case = format!("{m} × {t} × {d:?} × mappings {map} × reboot {reboot}");
    let e = oracle(m, t, d, map);
    let dir = base.join(format!("{t}-{d:?}-{map}-{reboot}"));
    std::fs::create_dir_all(dir.join("meta")).unwrap();
    std::fs::write(dir.join("meta/WM.xml"), wmd(m, map)).unwrap();
    std::fs::write(dir.join("BCD.xml"), bcd(t)).unwrap();
    let state = dir.join("state");
    let mut args: Vec<String> = [
        "vss",
        "restore",
        "--json",
        "--metadata",
        dir.join("meta").to_str().unwrap(),
        "--bcd",
        dir.join("BCD.xml").to_str().unwrap(),
        "--backup",
        base.join("backup").to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(disk(&state, d));
    if reboot {
        args.push("--reboot".to_owned());
    }
    let o = rehydrate(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|x| panic!("{case}: no JSON report ({x}); stderr {err}"));
    let c = &v["report"]["components"][0];
    assert_eq!(c["status"], e.status, "{case}: {c:#}");
    assert_eq!(c["outcome"], e.outcome, "{case}: {:#}", c["errors"]);
    if e.status != "ALL" {
        assert!(
            !c["errors"].as_array().unwrap().is_empty(),
            "{case}: says why"
        );
    }

    // The BCD: status and mappings recorded, or nothing for a writer left out.
    let st = &v["report"]["bcd"]["writers"][0]["components"][0]["restore"];
    if e.involved {
        assert_eq!(st["file_restore_status"], e.status, "{case}");
        assert_eq!(st["selected_for_restore"], true, "{case}");
    } else {
        assert!(st["file_restore_status"].is_null(), "{case}: {st:#}");
        assert!(st["selected_for_restore"].is_null(), "{case}: {st:#}");
    }
    let mut want_maps: Vec<String> = e.mappings.iter().map(|s| (*s).to_owned()).collect();
    want_maps.sort();
    assert_eq!(
        filespecs(&c["alternate_mappings_used"]),
        want_maps,
        "{case}"
    );
    assert_eq!(
        filespecs(&st["alternate_mappings_used"]),
        want_maps,
        "{case}"
    );

    // Writer and service events, in order.
    let events: Vec<String> = v["writer_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| short_event(x.as_str().unwrap()))
        .collect();
    assert_eq!(events, e.events, "{case}");

    // Pending renames: one per staged file, its temporary file beside the destination.
    let pending: Vec<(String, String)> = v["pending_renames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["replace_existing"], true, "{case}: replace existing");
            (
                // With the drive, as the human output prints them.
                p["from"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("E:")
                    .to_owned(),
                p["to"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("E:")
                    .to_owned(),
            )
        })
        .collect();
    let mut dests: Vec<&str> = pending.iter().map(|(_, d)| d.as_str()).collect();
    dests.sort_unstable();
    let mut want_dests: Vec<&str> = e.staged.iter().map(|(p, _)| *p).collect();
    want_dests.sort_unstable();
    assert_eq!(dests, want_dests, "{case}: pending renames");
    for (temp, dest) in &pending {
        assert!(temp.starts_with(&format!("{dest}.~rh")), "{case}: {temp}");
    }

    // The reboot: each rename's outcome in the report; the exit code.
    let mut failed = 0;
    if reboot {
        let r = v["reboot"].as_array().unwrap();
        assert_eq!(r.len(), pending.len(), "{case}");
        for x in r {
            let dest = x["to"].as_str().unwrap().trim_start_matches("E:");
            let fails = rename_fails(d, dest);
            assert_eq!(x["error"].is_string(), fails, "{case}: {x}");
            failed += usize::from(fails);
        }
    } else {
        assert!(v["reboot"].is_null(), "{case}");
    }
    let code = i32::from(e.status != "ALL" || failed > 0);
    assert_eq!(o.status.code(), Some(code), "{case}: {err}");

    // The files on the resulting volume.
    let (files, mdf_dir) = volume_files(&dir.join("out"));
    assert_eq!(
        files,
        expected_files(d, &e, &pending, reboot),
        "{case}: files on the volume"
    );
    let dir_kept = d == Disk::Directory
        && !(reboot && e.staged.iter().any(|(p, _)| *p == MDF) && !rename_fails(d, MDF));
    assert_eq!(mdf_dir, dir_kept, "{case}: the directory on the path");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every target, disk state, mapping and reboot choice for one method.
fn method_table(m: &str) {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("backup/E/DATA");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("master.mdf"), NEW[0]).unwrap();
    std::fs::write(data.join("mastlog.ldf"), NEW[1]).unwrap();
    let mut n = 0;
    for target in TARGETS {
        for d in DISKS {
            for map in [false, true] {
                for reboot in [false, true] {
                    run_case(t.path(), m, target, d, map, reboot);
                    n += 1;
                }
            }
        }
    }
    assert_eq!(n, TARGETS.len() * DISKS.len() * 4);
}

#[test]
fn table_restore_if_not_there() {
    method_table(INT);
}

#[test]
fn table_restore_if_can_replace() {
    method_table(ICR);
}

#[test]
fn table_stop_restore_start() {
    method_table(SRS);
}

#[test]
fn table_restore_stop_start() {
    method_table(RSS);
}

#[test]
fn table_restore_to_alternate_location() {
    method_table(TAL);
}

#[test]
fn table_restore_at_reboot() {
    method_table(ARB);
}

#[test]
fn table_restore_at_reboot_if_cannot_replace() {
    method_table(ARC);
}

#[test]
fn table_custom() {
    method_table(CUSTOM);
}

/// Sets up one case folder for the focused tests below.
fn one_case(dir: &Path, m: &str, d: Disk) -> Vec<String> {
    let data = dir.join("backup/E/DATA");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("master.mdf"), NEW[0]).unwrap();
    std::fs::write(data.join("mastlog.ldf"), NEW[1]).unwrap();
    std::fs::create_dir_all(dir.join("meta")).unwrap();
    std::fs::write(dir.join("meta/WM.xml"), wmd(m, false)).unwrap();
    std::fs::write(dir.join("BCD.xml"), bcd("ORIGINAL")).unwrap();
    let state = dir.join("state");
    let mut args: Vec<String> = [
        "vss",
        "restore",
        "--metadata",
        dir.join("meta").to_str().unwrap(),
        "--bcd",
        dir.join("BCD.xml").to_str().unwrap(),
        "--backup",
        dir.join("backup").to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(disk(&state, d));
    args
}

/// Item 5: a staged rename that fails at the simulated reboot does not hide the report: the
/// JSON report is printed with the reboot outcome of each rename, and so is the human one;
/// the exit code is 1 and says why. The volume state comes from `--state` alone (a directory
/// where `master.mdf` belongs), so this fails on the executor before issue 18 for the right
/// reason; a read-only file (`--read-only`) fails the same way.
#[test]
fn a_failed_rename_at_reboot_still_prints_the_report() {
    let t = tempfile::tempdir().unwrap();
    for (d, why, failed) in [
        (Disk::Directory, "a directory is never replaced", 1),
        (Disk::ReadOnly, "read-only", 2),
    ] {
        let mut args = one_case(&t.path().join(format!("{d:?}")), ARB, d);
        args.push("--reboot".to_owned());
        let o = rehydrate(&[args.clone(), vec!["--json".to_owned()]].concat());
        assert_eq!(o.status.code(), Some(1), "{d:?}");
        let v: Value = serde_json::from_slice(&o.stdout).expect("a JSON report");
        assert_eq!(v["report"]["components"][0]["status"], "ALL", "{d:?}");
        let r = v["reboot"].as_array().unwrap();
        assert_eq!(r.len(), 2, "{r:?}");
        let mdf = r.iter().find(|x| x["to"] == r"E:\DATA\master.mdf").unwrap();
        assert!(mdf["error"].as_str().unwrap().contains(why), "{mdf}");
        let errors = r.iter().filter(|x| x["error"].is_string()).count();
        assert_eq!(errors, failed, "{d:?}: {r:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!("{failed} pending rename(s) failed")),
            "{err}"
        );

        let o = rehydrate(&args);
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(out.contains("StagedForReboot, status ALL"), "{out}");
        assert!(
            out.contains(r"at reboot: E:\DATA\master.mdf.~rhnew0 -> E:\DATA\master.mdf: FAILED"),
            "{out}"
        );
    }
}

/// Item 7: a file in use by the writer's service is released by STOP_RESTORE_START and
/// replaced; the same file in use by another process is not, and the component is not
/// restored. Disk-state flags naming no file, or another drive, are refused (exit 2).
#[test]
fn disk_states_from_the_command_line() {
    let t = tempfile::tempdir().unwrap();
    let args = one_case(&t.path().join("a"), SRS, Disk::ServiceLocked);
    let o = rehydrate(&args);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("Restored, status ALL"), "{out}");

    let args = one_case(&t.path().join("b"), SRS, Disk::Locked);
    let o = rehydrate(&args);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("NotRestored, status NONE"), "{out}");
    assert!(out.contains("sharing violation"), "{out}");

    let base = one_case(&t.path().join("c"), ICR, Disk::Absent);
    for (flag, value, why) in [
        ("--lock", r"E:\DATA\master.mdf", "not found"),
        ("--read-only", r"E:\DATA\nothing", "not found"),
        ("--lock", r"F:\DATA\master.mdf", "not on the drive"),
        ("--read-only", "DATA", "absolute path"),
        ("--service-lock", r"E:\DATA\master.mdf", "SERVICE=PATH"),
        ("--lock", r"E:\DATA", "directory"),
    ] {
        let o = rehydrate(&[base.clone(), vec![flag.to_owned(), value.to_owned()]].concat());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(err.contains(why), "{flag} {value}: {err}");
    }
}
