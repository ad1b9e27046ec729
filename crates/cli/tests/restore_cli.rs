//! `rehydrate restore`, `verify` and `demo`, run as the built binary on volumes the simulator
//! optimizes and exports (`winsim::host::export_volume`) into temporary folders.
#![cfg(unix)]

use std::process::Command;

use platform::WinPath;
use winsim::SimVolume;
use winsim::dedup::{OptimizeOptions, optimize};

mod common;

use common::*;

#[test]
fn restore_all_is_byte_identical_and_leaves_the_source_alone() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let files = make_volume(src.path());
    let before = list(src.path());
    let o = rehydrate(&["restore", "--source", s(src.path()), "--to", s(out.path())]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("dedup files restored"), "{text}");
    // Exactly the user's files: no chunk store, no temporaries.
    let got = list(out.path());
    let want: Vec<String> = files.keys().cloned().collect();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(got, want_sorted);
    for (p, bytes) in &files {
        let restored = std::fs::read(host_path(out.path(), p)).unwrap();
        assert!(restored == *bytes, "{p} differs");
    }
    assert_eq!(list(src.path()), before, "the source was changed");
}

#[test]
fn restore_a_subset_of_paths() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let files = make_volume(src.path());
    let o = rehydrate(&[
        "restore",
        "--source",
        s(src.path()),
        "--to",
        s(out.path()),
        "DOCS",
        "media/clip.mp4",
        "--threads",
        "1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = list(out.path());
    assert_eq!(
        got,
        vec![
            "\\docs\\copy of report.txt",
            "\\docs\\report.txt",
            "\\docs\\sub\\notes.txt",
            "\\media\\clip.mp4"
        ]
    );
    for p in &got {
        assert!(std::fs::read(host_path(out.path(), p)).unwrap() == files[p]);
    }
    // A path that is not on the volume is refused in one line (and says which), creating
    // nothing.
    let out2 = tempfile::tempdir().unwrap();
    let o = rehydrate(&[
        "restore",
        "--source",
        s(src.path()),
        "--to",
        s(out2.path()),
        "\\nope.txt",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.trim_end(),
        "rehydrate: \"\\nope.txt\" matches nothing in the source"
    );
    assert!(list(out2.path()).is_empty());
}

#[test]
fn restore_json_counts() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    make_volume(src.path());
    let o = rehydrate(&[
        "restore",
        "--source",
        s(src.path()),
        "--to",
        s(out.path()),
        "--json",
        "--no-verify-hash",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    assert_eq!(v["restored"], 6);
    assert_eq!(v["copied"], 2, "notes.txt and empty.dat are below 32 KiB");
    assert_eq!(v["failed"], 0);
    assert_eq!(v["files"].as_array().unwrap().len(), 8);
    let logical: u64 = (300 << 10) + 2 * (700 << 10) + (1 << 20) + (2 << 20) + (200 << 10);
    assert_eq!(v["restored_bytes"], logical);
    assert_eq!(v["copied_bytes"], 5000);
}

#[test]
fn corrupted_container_fails_the_file_and_leaves_nothing_half_written() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let files = make_volume(src.path());
    corrupt_first_chunk(src.path());
    let o = rehydrate(&[
        "restore",
        "--source",
        s(src.path()),
        "--to",
        s(out.path()),
        "--json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    assert_eq!(v["failed"], 1, "{v:#}");
    let failed: Vec<&serde_json::Value> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "failed")
        .collect();
    assert_eq!(failed[0]["path"], "\\a\\first.bin");
    assert_eq!(failed[0]["code"], "DDP_E_FILE_CORRUPT", "{v:#}");
    assert_eq!(failed[0]["hresult"], "0x80565355");
    // Nothing at the failed file's path, no temporary left; every other file intact.
    let got = list(out.path());
    assert!(!got.iter().any(|p| p.starts_with("\\a\\")), "{got:?}");
    assert_eq!(got.len(), files.len() - 1, "{got:?}");
    for p in &got {
        assert!(
            std::fs::read(host_path(out.path(), p)).unwrap() == files[p],
            "{p}"
        );
    }
    // The text summary names the file and the code too.
    let out2 = tempfile::tempdir().unwrap();
    let o = rehydrate(&["restore", "--source", s(src.path()), "--to", s(out2.path())]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("\\a\\first.bin  DDP_E_FILE_CORRUPT (0x80565355)"),
        "{text}"
    );
}

#[test]
fn verify_passes_then_names_the_damaged_container() {
    let src = tempfile::tempdir().unwrap();
    make_volume(src.path());
    let o = rehydrate(&["verify", "--source", s(src.path()), "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    assert_eq!(v["verified"], 6);
    assert_eq!(v["failed"], 0);

    let ccc = corrupt_first_chunk(src.path());
    let before = list(src.path());
    let o = rehydrate(&["verify", "--source", s(src.path()), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["failed"], 1, "{v:#}");
    assert_eq!(v["verified"], 5);
    let bad = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["status"] == "failed")
        .unwrap();
    assert_eq!(bad["path"], "\\a\\first.bin");
    let name = ccc.file_name().unwrap().to_str().unwrap();
    let container = bad["container"].as_str().unwrap();
    assert!(
        container.ends_with(&format!("\\Data\\{name}")),
        "{container} vs {name}"
    );
    // The record at fault, from the engine's typed error: the first record of the container
    // (the damaged chunk), its local id, and the same figures in the human line.
    assert_eq!(bad["offset"], 0x5000, "{bad:#}");
    let local_id = bad["local_id"].as_u64().expect("local_id");
    let detail = bad["detail"].as_str().unwrap();
    assert!(
        detail.contains("at 0x5000") && detail.contains(&format!("local id {local_id}")),
        "{detail}"
    );
    assert_eq!(bad["code"], "DDP_E_FILE_CORRUPT");
    assert_eq!(list(src.path()), before, "verify wrote to the source");
    let o = rehydrate(&["verify", "--source", s(src.path())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains(name));
}

/// An unused flag bit after the last token of a compressed chunk flipped, the payload CRC-64
/// left as it was: the bytes still decode to the chunk's hash, so `restore` (CRC only after a
/// failure) rebuilds every file exactly, while `verify` (CRC of every chunk) reports it.
#[test]
fn restore_accepts_what_the_hash_proves_and_verify_reports_the_crc() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let files = make_volume(src.path());
    let mut damaged = None;
    for path in data_containers(src.path()) {
        let mut bytes = std::fs::read(&path).unwrap();
        let c = dedup_store::Container::open("c.ccc", &bytes[..]).unwrap();
        let found = c
            .records()
            .map(Result::unwrap)
            .filter(|r| {
                r.record_type == dedup_store::RecordType::Data
                    && r.compression == dedup_store::Compression::Xpress
            })
            .find_map(|r| {
                let (word_at, used) = test_support::xpress_last_flag_word(c.stored_payload(&r));
                (used < 32).then(|| r.payload_offset() as usize + word_at)
            });
        drop(c);
        if let Some(at) = found {
            // Bit 0 of the little-endian flag word is its 32nd flag.
            bytes[at] ^= 1;
            std::fs::write(&path, &bytes).unwrap();
            damaged = Some(path);
            break;
        }
    }
    let name = damaged
        .expect("a compressed chunk")
        .file_name()
        .unwrap()
        .to_owned();

    let o = rehydrate(&["verify", "--source", s(src.path())]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains(name.to_str().unwrap()) && text.contains("CRC"),
        "{text}"
    );

    let o = rehydrate(&["restore", "--source", s(src.path()), "--to", s(out.path())]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (p, bytes) in &files {
        let restored = std::fs::read(host_path(out.path(), p)).unwrap();
        assert!(restored == *bytes, "{p} differs");
    }
}

#[test]
fn more_than_ten_thousand_files_are_restored_in_batches() {
    let src = fast_tempdir();
    let out = fast_tempdir();
    let vol = SimVolume::new(7);
    let n = 10_050;
    let t = std::time::Instant::now();
    for i in 0..n {
        let body = format!("file {i} of the batch test, padded to be unique {i:08}\n");
        vol.write_file(
            &WinPath::new(&format!("\\many\\d{}\\f{i:05}.txt", i % 128)).unwrap(),
            body.as_bytes(),
        )
        .unwrap();
    }
    let opts = OptimizeOptions {
        min_file_size: 1,
        ..OptimizeOptions::default()
    };
    eprintln!("create {:?}", t.elapsed());
    let rep = optimize(&vol, 7, &opts).unwrap();
    assert_eq!(rep.files_optimized, n);
    eprintln!("optimize {:?}", t.elapsed());
    winsim::host::export_volume(&vol, src.path()).unwrap();
    eprintln!("export {:?}", t.elapsed());
    let o = rehydrate(&[
        "restore",
        "--source",
        s(src.path()),
        "--to",
        s(out.path()),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    eprintln!("restore {:?}", t.elapsed());
    let v = json(&o);
    assert_eq!(v["restored"], n);
    assert_eq!(list(out.path()).len(), n);
    eprintln!("checked {:?}", t.elapsed());
    for i in [0, 9_999, 10_000, 10_049] {
        let p = format!("\\many\\d{}\\f{i:05}.txt", i % 128);
        assert_eq!(
            std::fs::read_to_string(host_path(out.path(), &p)).unwrap(),
            format!("file {i} of the batch test, padded to be unique {i:08}\n")
        );
    }
    drop(vol);
    eprintln!("dropped volume {:?}", t.elapsed());
    drop(out);
    drop(src);
    eprintln!("removed folders {:?}", t.elapsed());
}

#[test]
fn demo_runs_and_succeeds() {
    let o = rehydrate(&["demo", "--size-mib", "8"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("matches the originals"), "{text}");
    assert!(text.contains("demo OK"), "{text}");
}

#[test]
fn overlapping_folders_are_refused() {
    let src = tempfile::tempdir().unwrap();
    make_volume(src.path());
    let inside = src.path().join("out");
    let o = rehydrate(&["restore", "--source", s(src.path()), "--to", s(&inside)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("overlap"));
}

/// Thread counts are bounded by the cores, not by what the command line asks: an absurd
/// `--threads` is refused before anything is created.
#[test]
fn absurd_thread_counts_are_refused_before_anything_is_created() {
    let src = fast_tempdir();
    make_volume(src.path());
    let out = tempfile::tempdir().unwrap();
    let to = out.path().join("new");
    for n in ["0", "100000"] {
        for cmd in ["restore", "verify"] {
            let mut args = vec![cmd, "--source", s(src.path()), "--threads", n];
            if cmd == "restore" {
                args.extend(["--to", s(&to)]);
            }
            let o = rehydrate(&args);
            assert_eq!(o.status.code(), Some(2), "{args:?}");
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                err.contains("--threads") && err.contains("per core"),
                "{err}"
            );
            assert!(!to.exists(), "{args:?} created the output folder");
        }
    }
}

/// A source that is not a folder is refused before the output folder is created.
#[test]
fn a_source_that_is_a_file_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("image.bin");
    std::fs::write(&file, b"not a folder").unwrap();
    let to = dir.path().join("out");
    let o = rehydrate(&["restore", "--source", s(&file), "--to", s(&to)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!to.exists(), "the output folder was created");
    let o = rehydrate(&["verify", "--source", s(&file)]);
    assert_eq!(o.status.code(), Some(2));
}

/// Symbolic links already in the output folder are never followed, at any depth: nothing is
/// written where they point. The files behind a link on the way are reported failed; a file
/// whose own name is a link is reported in conflict (a link is never replaced).
#[test]
fn links_in_the_output_folder_are_never_followed() {
    let src = fast_tempdir();
    let files = make_volume(src.path());
    for (depth, link) in [(1, "docs"), (2, "docs/sub"), (3, "docs/report.txt")] {
        let elsewhere = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let at = out.path().join(link);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        let target = if depth == 3 {
            elsewhere.path().join("victim.txt")
        } else {
            elsewhere.path().to_owned()
        };
        std::os::unix::fs::symlink(&target, &at).unwrap();
        let o = rehydrate(&[
            "restore",
            "--source",
            s(src.path()),
            "--to",
            s(out.path()),
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(1), "{link}");
        assert_eq!(
            std::fs::read_dir(elsewhere.path()).unwrap().count(),
            0,
            "{link}: something was written through the link"
        );
        assert!(at.is_symlink(), "{link}: the link was replaced");
        let v = json(&o);
        let with = |status: &str| -> Vec<&str> {
            v["files"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["status"] == status)
                .map(|f| f["path"].as_str().unwrap())
                .collect()
        };
        let behind = format!("\\{}", link.replace('/', "\\"));
        if depth == 3 {
            assert!(with("failed").is_empty(), "{link}: {v:#}");
            assert_eq!(with("conflict"), [behind.as_str()], "{link}: {v:#}");
        } else {
            let failed = with("failed");
            assert!(!failed.is_empty(), "{link}: {v:#}");
            assert!(
                failed
                    .iter()
                    .all(|p| p.starts_with(&behind) || behind.starts_with(p)),
                "{link}: {failed:?}"
            );
        }
        // Everything not behind the link was restored.
        for (p, bytes) in &files {
            if !p.to_lowercase().starts_with(&behind.to_lowercase())
                && !behind.starts_with(p.as_str())
            {
                assert_eq!(
                    &std::fs::read(host_path(out.path(), p)).unwrap(),
                    bytes,
                    "{p}"
                );
            }
        }
    }
}

/// `kill -9` of a restore at several points, then a re-run into the same folder: the re-run
/// removes what the killed run left (reported in `leftovers_removed`), keeps what it had
/// finished (skipped) and exits 0 with every file byte-identical and no temporary name left.
#[test]
fn a_killed_restore_is_finished_by_a_rerun() {
    let src = fast_tempdir();
    let files = make_volume(src.path());
    for delay_ms in [0u64, 15, 40, 90] {
        let out = fast_tempdir();
        let to = out.path().join("restored");
        let mut child = Command::new(env!("CARGO_BIN_EXE_rehydrate"))
            .args(["restore", "--source", s(src.path()), "--to", s(&to)])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let o = rehydrate(&[
            "restore",
            "--source",
            s(src.path()),
            "--to",
            s(&to),
            "--json",
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "after a kill at {delay_ms} ms: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v = json(&o);
        let done = v["restored"].as_u64().unwrap()
            + v["copied"].as_u64().unwrap()
            + v["skipped"].as_u64().unwrap();
        assert_eq!(done as usize, files.len(), "{v:#}");
        for (p, bytes) in &files {
            assert_eq!(&std::fs::read(host_path(&to, p)).unwrap(), bytes, "{p}");
        }
        assert!(
            list(&to).iter().all(|f| !f.contains(".rehydrate~")),
            "{:?}",
            list(&to)
        );
    }
}

/// How a test damages a reparse buffer.
type Damage = Box<dyn Fn(&[u8]) -> Vec<u8>>;

/// A stub whose reparse data is not a dedup reparse point (one bit of the tag flipped, another
/// filter's tag, a buffer of 0 or 1 byte) is reported by `restore`, `verify` and
/// `inspect store` (exit 1), and never written out as the file's content (a hole of zeros).
#[test]
fn damaged_or_foreign_reparse_points_are_never_restored_as_zeros() {
    let tag = |b: &[u8]| {
        let mut v = b.to_vec();
        v[0] ^= 0x01; // 0x80000013 -> 0x80000012
        v
    };
    let cases: Vec<(&str, Damage)> = vec![
        ("flipped tag", Box::new(tag)),
        (
            "HSM tag",
            Box::new(|b: &[u8]| {
                let mut v = b.to_vec();
                v[..4].copy_from_slice(&0xC000_0004_u32.to_le_bytes());
                v
            }),
        ),
        ("empty", Box::new(|_: &[u8]| Vec::new())),
        ("one byte", Box::new(|b: &[u8]| b[..1].to_vec())),
    ];
    for (what, damage) in cases {
        let src = fast_tempdir();
        make_volume(src.path());
        let stub = src.path().join("docs/report.txt");
        let buf = xattr::get(&stub, "user.ntfs_reparse_data")
            .unwrap()
            .unwrap();
        xattr::set(&stub, "user.ntfs_reparse_data", &damage(&buf)).unwrap();
        let out = fast_tempdir();
        let to = out.path().join("r");
        let o = rehydrate(&[
            "restore",
            "--source",
            s(src.path()),
            "--to",
            s(&to),
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(1), "{what}");
        let v = json(&o);
        let f = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == "\\docs\\report.txt")
            .unwrap();
        assert_eq!(f["status"], "failed", "{what}: {f:#}");
        assert!(!to.join("docs/report.txt").exists(), "{what}: written");
        let o = rehydrate(&["verify", "--source", s(src.path())]);
        assert_eq!(o.status.code(), Some(1), "{what}: verify");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("report.txt"),
            "{what}"
        );
        let o = rehydrate(&["inspect", "store", s(src.path())]);
        assert_eq!(o.status.code(), Some(1), "{what}: inspect store");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("not a dedup reparse point"),
            "{what}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}

/// `inspect store` does not call a store clean that a restore would fail on: a data container
/// the stream maps need missing, or a folder in its place, or a damaged header slot.
#[test]
fn inspect_store_reports_what_a_restore_would_fail_on() {
    for what in ["missing", "folder", "header slot"] {
        let src = fast_tempdir();
        make_volume(src.path());
        let o = rehydrate(&["inspect", "store", s(src.path())]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let ccc = data_container(src.path());
        match what {
            "missing" => std::fs::remove_file(&ccc).unwrap(),
            "folder" => {
                std::fs::remove_file(&ccc).unwrap();
                std::fs::create_dir(&ccc).unwrap();
            }
            _ => {
                let mut b = std::fs::read(&ccc).unwrap();
                // A byte inside the second header slot (0x1000..0x2000), which a valid one
                // beside it outlives.
                assert!(
                    b[0x1000..0x1100].iter().any(|&x| x != 0),
                    "slot 1 is written"
                );
                b[0x1010] ^= 0xFF;
                std::fs::write(&ccc, &b).unwrap();
            }
        }
        let o = rehydrate(&["inspect", "store", s(src.path()), "--json"]);
        assert_eq!(o.status.code(), Some(1), "{what}");
        let v = json(&o);
        assert!(!v["errors"].as_array().unwrap().is_empty(), "{what}: {v:#}");
        // A restore fails there too when the container is gone (with only a damaged slot
        // beside an intact one of the same contents, the intact one still serves it).
        if what != "header slot" {
            let o = rehydrate(&["verify", "--source", s(src.path())]);
            assert_eq!(o.status.code(), Some(1), "{what}: verify");
        }
    }
}
