//! Every command that prints ends quietly when its stdout is a pipe nobody reads any more
//! (`rehydrate … | head -c 1`): no panic, no "Broken pipe" message, and the exit code the work
//! decided (0 here: every input is sound).
#![cfg(unix)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use platform::WinPath;
use winsim::SimVolume;
use winsim::dedup::{OptimizeOptions, optimize};

/// Runs the command with stdout a pipe whose reading end is closed after `read` bytes, and
/// checks that it ended quietly with exit code 0.
fn run_with_closed_stdout<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S], read: usize) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rehydrate"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut b = vec![0u8; read];
    let _ = out.read_exact(&mut b);
    drop(out);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains("panicked") && !err.to_lowercase().contains("broken pipe"),
        "{args:?}: {err}"
    );
    assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
}

/// [`run_with_closed_stdout`] with the pipe closed at once and after one byte.
fn quiet_on_closed_pipe(args: &[&str]) {
    run_with_closed_stdout(args, 0);
    run_with_closed_stdout(args, 1);
}

/// A small optimized volume folder; returns one stub's host path.
fn volume(dir: &Path) -> PathBuf {
    let vol = SimVolume::new(5);
    let text = "text that the optimizer will chunk and compress, ".repeat(3000);
    for p in ["\\a\\one.txt", "\\b\\two.txt"] {
        vol.write_file(&WinPath::new(p).unwrap(), text.as_bytes())
            .unwrap();
    }
    optimize(&vol, 5, &OptimizeOptions::default()).unwrap();
    winsim::host::export_volume(&vol, dir).unwrap();
    dir.join("a/one.txt")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn commands_over_a_volume_folder() {
    let src = tempfile::tempdir().unwrap();
    let stub = volume(src.path());
    let out = tempfile::tempdir().unwrap();
    for json in [false, true] {
        let j = |mut v: Vec<String>| {
            if json {
                v.push("--json".into());
            }
            v
        };
        let to = out.path().join(format!("restored-{json}"));
        for args in [
            j(vec!["inspect".into(), "store".into(), s(src.path()).into()]),
            j(vec!["inspect".into(), "reparse".into(), s(&stub).into()]),
            j(vec![
                "verify".into(),
                "--source".into(),
                s(src.path()).into(),
            ]),
            vec!["demo".into(), "--size-mib".into(), "2".into()],
        ] {
            quiet_on_closed_pipe(&args.iter().map(String::as_str).collect::<Vec<_>>());
        }
        // Each run restores into a new folder (a second run into the same one would fail its
        // files as existing, which is not what this test is about).
        for n in 0..2 {
            let to = to.join(n.to_string());
            let args = j(vec![
                "restore".into(),
                "--source".into(),
                s(src.path()).into(),
                "--to".into(),
                s(&to).into(),
            ]);
            run_with_closed_stdout(&args, 0);
            assert!(to.join("a/one.txt").is_file(), "{args:?}: nothing restored");
        }
        let input = tempfile::tempdir().unwrap();
        std::fs::write(input.path().join("f.txt"), "x".repeat(100_000)).unwrap();
        let sim_out = out.path().join(format!("sim-{json}"));
        let args = j(vec![
            "sim".into(),
            "optimize".into(),
            "--input".into(),
            s(input.path()).into(),
            "--out".into(),
            s(&sim_out).into(),
        ]);
        run_with_closed_stdout(&args, 0);
    }
}

/// The committed samples folder, `fixtures/`.
fn realdata() -> PathBuf {
    test_support::fixtures()
}

#[test]
fn commands_over_the_real_samples() {
    let real = realdata();
    let ccc = real.join("dedup/ws2019-windedup-extracter/Data/00000001.00000001.ccc");
    let docs = real.join("vss/kevingoode-vssbackup/no_sql");
    let out = tempfile::tempdir().unwrap();
    let catalog = out.path().join("catalog.txt");
    std::fs::write(&catalog, "C:\\Windows\\System32\\config\\SAM\n").unwrap();
    let backup = out.path().join("backup");
    let sam = backup.join("C/Windows/System32/config/SAM");
    std::fs::create_dir_all(sam.parent().unwrap()).unwrap();
    std::fs::write(&sam, b"hive").unwrap();
    let bcd = docs.join("BCDocument.xml");
    let plan = [
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
    let dry_run = [
        "vss",
        "restore",
        "--metadata",
        s(&docs),
        "--bcd",
        s(&bcd),
        "--backup",
        s(&backup),
        "--dry-run",
    ];
    for args in [
        vec!["inspect", "container", s(&ccc)],
        vec!["inspect", "container", s(&ccc), "--json"],
        vec!["vss", "show", s(&bcd)],
        vec!["vss", "show", s(&docs.join("WM0.xml")), "--json"],
        plan.to_vec(),
        [&plan[..], &["--json"]].concat(),
        dry_run.to_vec(),
        [&dry_run[..], &["--json"]].concat(),
    ] {
        quiet_on_closed_pipe(&args);
    }
    // carve writes its output file once; each run gets a new name.
    for (i, json) in [false, true].into_iter().enumerate() {
        let o = out.path().join(format!("carved-{i}.bin"));
        let mut args = vec!["carve", s(&ccc), "--ids", "1-3", "-o", s(&o)];
        if json {
            args.push("--json");
        }
        run_with_closed_stdout(&args, 0);
    }
}
