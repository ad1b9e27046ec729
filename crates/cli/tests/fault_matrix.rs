//! The standing fault matrix: one seeded volume folder, damaged one way per case (every
//! structure of the chunk store, the reparse buffers, truncation, missing and swapped
//! containers, links in the source), then `restore`, `verify` and `inspect store` run on it.
//! Every case asserts, for every command:
//! * it ends with exit code 0 or 1 (never a panic, never 2 for damaged input), and 1 when the
//!   command saw the damage (`inspect store` always does; `verify` whenever `restore` fails a
//!   file, since it checks more);
//! * every file `restore` reports restored or copied is byte-identical to its original;
//! * a file reported failed has nothing at its final path, and no temporary name is left;
//! * nothing is written outside `--to` (a sentinel folder beside it stays empty) and the
//!   source is not changed.
//!
//! Disk full and permission denied are not in this matrix: the tests run as root (permissions
//! do not apply) on tmpfs; the engine's disk-full path is covered by the simulator's fault
//! injection in `crates/dedup-restore/tests/failures.rs`. A crash followed by a re-run is
//! `restore_cli.rs`'s `a_killed_restore_is_finished_by_a_rerun`; links in the output folder,
//! `links_in_the_output_folder_are_never_followed`.
#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;

/// The stream containers of a volume folder.
fn stream_containers(src: &Path) -> Vec<PathBuf> {
    let data = data_containers(src);
    let dir = data[0].parent().unwrap().parent().unwrap().join("Stream");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn flip(path: &Path, at: usize, len: usize) {
    let mut b = std::fs::read(path).unwrap();
    assert!(
        at + len <= b.len(),
        "{} is {} bytes",
        path.display(),
        b.len()
    );
    for x in &mut b[at..at + len] {
        *x ^= 0x5A;
    }
    std::fs::write(path, &b).unwrap();
}

fn truncate(path: &Path, keep: f64) {
    let b = std::fs::read(path).unwrap();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let n = (b.len() as f64 * keep) as usize;
    std::fs::write(path, &b[..n]).unwrap();
}

fn reparse(src: &Path, file: &str, f: impl Fn(&mut Vec<u8>)) {
    let p = src.join(file);
    let mut b = xattr::get(&p, "user.ntfs_reparse_data").unwrap().unwrap();
    f(&mut b);
    xattr::set(&p, "user.ntfs_reparse_data", &b).unwrap();
}

/// A fault: its name and how it damages a fresh volume folder.
type Fault = (&'static str, fn(&Path));

fn faults() -> Vec<Fault> {
    vec![
        ("header slot 0", |s| flip(&data_container(s), 0x10, 4)),
        ("header slot 1", |s| flip(&data_container(s), 0x1010, 4)),
        ("header slot 2", |s| flip(&data_container(s), 0x2010, 4)),
        ("every header slot", |s| {
            for at in [0x10, 0x1010, 0x2010] {
                flip(&data_container(s), at, 4);
            }
        }),
        ("primary Rrtl", |s| flip(&data_container(s), 0x3000, 8)),
        ("backup Rrtl", |s| flip(&data_container(s), 0x4000, 8)),
        ("first record header", |s| {
            flip(&data_container(s), 0x5000, 4);
        }),
        ("first record payload", |s| {
            flip(&data_container(s), 0x5000 + 0x300, 16);
        }),
        ("last bytes of the data", |s| {
            let c = data_container(s);
            let len = std::fs::metadata(&c).unwrap().len() as usize;
            flip(&c, len - 0x1000, 16);
        }),
        ("data container cut in half", |s| {
            truncate(&data_container(s), 0.5);
        }),
        ("data container cut to its fixed area", |s| {
            let c = data_container(s);
            let b = std::fs::read(&c).unwrap();
            std::fs::write(&c, &b[..0x5000]).unwrap();
        }),
        ("data container missing", |s| {
            std::fs::remove_file(data_container(s)).unwrap();
        }),
        ("data container swapped for another id", |s| {
            let c = data_container(s);
            let other = c.with_file_name("00000077.00000001.ccc");
            std::fs::rename(&c, other).unwrap();
        }),
        ("data container replaced by a folder", |s| {
            let c = data_container(s);
            std::fs::remove_file(&c).unwrap();
            std::fs::create_dir(&c).unwrap();
        }),
        ("stream container header", |s| {
            flip(&stream_containers(s)[0], 0x10, 4);
        }),
        ("stream map payload", |s| {
            flip(&stream_containers(s)[0], 0x5000 + 0x90, 8);
        }),
        ("stream container missing", |s| {
            std::fs::remove_file(&stream_containers(s)[0]).unwrap();
        }),
        ("reparse tag bit", |s| {
            reparse(s, "docs/report.txt", |b| b[0] ^= 1);
        }),
        ("reparse body byte", |s| {
            reparse(s, "docs/report.txt", |b| {
                let mid = b.len() / 2;
                b[mid] ^= 0xFF;
            });
        }),
        ("reparse buffer cut", |s| {
            reparse(s, "media/clip.mp4", |b| b.truncate(b.len() - 9));
        }),
        ("reparse buffer of one byte", |s| {
            reparse(s, "a/first.bin", |b| b.truncate(1));
        }),
        ("a link in the source to a file outside it", |s| {
            std::os::unix::fs::symlink("/etc/hostname", s.join("misc/escape")).unwrap();
        }),
        ("a link in the source to a folder outside it", |s| {
            std::os::unix::fs::symlink("/etc", s.join("docs/sub/etc")).unwrap();
        }),
    ]
}

/// Every regular file below `root` (host paths relative to it) with its bytes.
fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.insert(rel, std::fs::read(e.path()).unwrap());
            } else {
                out.insert(rel, b"<link>".to_vec());
            }
        }
    }
    out
}

fn check_restore(name: &str, src: &Path, files: &BTreeMap<String, Vec<u8>>) -> usize {
    let out = fast_tempdir();
    let to = out.path().join("to");
    let sentinel = out.path().join("sentinel");
    std::fs::create_dir(&sentinel).unwrap();
    let o = rehydrate(&["restore", "--source", s(src), "--to", s(&to), "--json"]);
    let code = o.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "{name}: restore exit {code:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    let mut failed = 0;
    for f in v["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        let host = host_path(&to, path);
        match f["status"].as_str().unwrap() {
            "restored" | "copied" => {
                let meta = std::fs::symlink_metadata(&host).unwrap();
                if meta.file_type().is_symlink() {
                    // A link in the source comes back as a link, never as what it points at.
                    continue;
                }
                let want = files
                    .get(path)
                    .unwrap_or_else(|| panic!("{name}: {path} restored but not an original"));
                assert_eq!(&std::fs::read(&host).unwrap(), want, "{name}: {path}");
            }
            "failed" => {
                failed += 1;
                assert!(
                    std::fs::symlink_metadata(&host).is_err(),
                    "{name}: {path} failed but something is at its path"
                );
            }
            other => panic!("{name}: {path}: status {other}"),
        }
    }
    assert_eq!(code == Some(1), failed > 0, "{name}: exit code vs failures");
    if to.exists() {
        assert!(
            list(&to).iter().all(|p| !p.contains(".rehydrate~")),
            "{name}: temporary files left"
        );
    }
    assert_eq!(std::fs::read_dir(&sentinel).unwrap().count(), 0, "{name}");
    failed
}

#[test]
fn every_fault_under_every_command() {
    let faults = faults();
    let mut runs = 0;
    for (name, damage) in &faults {
        let src = fast_tempdir();
        let files = make_volume(src.path());
        damage(src.path());
        let before = snapshot(src.path());

        let restore_failed = check_restore(name, src.path(), &files);
        let verify = rehydrate(&["verify", "--source", s(src.path()), "--json"]);
        let inspect = rehydrate(&["inspect", "store", s(src.path()), "--json"]);
        runs += 3;
        for (cmd, o) in [("verify", &verify), ("inspect store", &inspect)] {
            assert!(
                matches!(o.status.code(), Some(0 | 1)),
                "{name}: {cmd} exit {:?}: {}",
                o.status.code(),
                String::from_utf8_lossy(&o.stderr)
            );
            assert!(
                !String::from_utf8_lossy(&o.stderr).contains("panicked"),
                "{name}: {cmd}"
            );
        }
        eprintln!(
            "{name:<45} restore failed {restore_failed}, verify exit {:?}, inspect store exit {:?}",
            verify.status.code(),
            inspect.status.code()
        );
        let links_only = name.starts_with("a link");
        // Every real damage is seen by the store check; a link is not damage.
        assert_eq!(
            inspect.status.code(),
            Some(i32::from(!links_only)),
            "{name}: inspect store: {}{}",
            String::from_utf8_lossy(&inspect.stdout),
            String::from_utf8_lossy(&inspect.stderr)
        );
        if restore_failed > 0 {
            assert_eq!(
                verify.status.code(),
                Some(1),
                "{name}: verify passed what restore failed"
            );
            let v = json(&verify);
            assert!(v["failed"].as_u64().unwrap() >= 1, "{name}: {v:#}");
        }
        if links_only {
            assert_eq!(restore_failed, 0, "{name}");
        }
        assert_eq!(snapshot(src.path()), before, "{name}: the source changed");
    }
    eprintln!(
        "fault matrix: {} cases x 3 commands = {runs} runs",
        faults.len()
    );
    assert_eq!(runs, faults.len() * 3);
}
