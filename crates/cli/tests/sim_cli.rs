//! `rehydrate sim optimize`, `inspect reparse` and `inspect store` on a seeded generated folder
//! (shared content, one file of 64 MiB and more, empty and tiny files, an all-zero file).
#![cfg(unix)]

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use winsim::sample::{self, SampleFile, SampleOptions};

const MIN_SIZE: usize = 32 * 1024;
const XATTR: &str = "user.ntfs_reparse_data";

fn rehydrate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rehydrate"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = rehydrate(args);
    assert!(
        o.status.success(),
        "rehydrate {args:?} failed ({:?}): {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The temp folder, or `None` (after saying so) if its file system has no user xattrs.
fn tempdir_with_xattrs() -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe");
    std::fs::write(&probe, b"").unwrap();
    if let Err(e) = xattr::set(&probe, "user.rehydrate.probe", b"1") {
        // Under CI a skip would count as a pass: the machine must support them.
        assert!(
            std::env::var_os("CI").is_none(),
            "{} does not support user extended attributes ({e}); under CI this is a failure",
            dir.path().display()
        );
        eprintln!(
            "skipped: {} does not support user extended attributes ({e}); set TMPDIR to tmpfs or ext4",
            dir.path().display()
        );
        return None;
    }
    std::fs::remove_file(&probe).unwrap();
    Some(dir)
}

fn generate(dir: &Path, big: u64) -> Vec<SampleFile> {
    let files = sample::sample_files(&SampleOptions {
        seed: 5,
        big_file_size: big,
    });
    std::fs::create_dir(dir).unwrap();
    sample::write_to_dir(dir, &files).unwrap();
    files
}

fn host(root: &Path, f: &SampleFile) -> PathBuf {
    f.path.split('/').fold(root.to_owned(), |p, c| p.join(c))
}

/// Every container file under the output's chunk store.
fn containers(out: &Path) -> Vec<PathBuf> {
    let cs = out.join("System Volume Information/Dedup/ChunkStore");
    let mut stores: Vec<_> = std::fs::read_dir(&cs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(stores.len(), 1, "one {{GUID}}.ddp folder");
    let store = stores.pop().unwrap();
    assert!(
        store.extension().is_some_and(|e| e == "ddp"),
        "{}",
        store.display()
    );
    let mut out = Vec::new();
    for kind in ["Data", "Stream"] {
        for e in std::fs::read_dir(store.join(kind)).unwrap() {
            let p = e.unwrap().path();
            assert!(
                dedup_store::parse_container_file_name(p.file_name().unwrap().to_str().unwrap())
                    .is_some(),
                "{}",
                p.display()
            );
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Files under `root` (relative, `/`-separated), outside `System Volume Information`.
fn user_files(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_owned();
            if rel == "System Volume Information" {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(rel);
            }
        }
    }
    out
}

/// Checks that `p` allocates no data blocks: its `st_blocks` equal those of an empty file
/// carrying the same extended attributes (ext4 counts an external xattr block in
/// `st_blocks`; tmpfs does not), and it reads as its logical size of zeros would from holes.
fn assert_no_data(scratch: &Path, p: &Path) {
    let reference = scratch.join(format!(
        "xattr-reference-{}",
        p.file_name().unwrap().to_str().unwrap()
    ));
    std::fs::write(&reference, b"").unwrap();
    for name in xattr::list(p).unwrap() {
        let v = xattr::get(p, &name).unwrap().unwrap();
        xattr::set(&reference, &name, &v).unwrap();
    }
    let stub = std::fs::metadata(p).unwrap().blocks();
    let empty = std::fs::metadata(&reference).unwrap().blocks();
    std::fs::remove_file(&reference).unwrap();
    assert_eq!(
        stub,
        empty,
        "{}: {stub} blocks, an empty file with the same xattrs has {empty}",
        p.display()
    );
}

fn ratio(stdout: &str, name: &str) -> f64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name:?} line in:\n{stdout}"));
    line[name.len()..].trim().parse().unwrap()
}

fn check_every_container(out: &Path) -> Vec<PathBuf> {
    let all = containers(out);
    assert!(all.len() >= 2);
    for c in &all {
        ok(&["inspect", "container", s(c)]);
    }
    all
}

#[test]
fn sim_optimize_writes_sparse_stubs_and_a_valid_store() {
    let Some(tmp) = tempdir_with_xattrs() else {
        return;
    };
    let input = tmp.path().join("in");
    let files = generate(&input, (64 << 20) + 4321);
    let big = files.iter().find(|f| f.path == "big/disk.vhd").unwrap();
    assert!(big.data.len() >= 64 << 20);
    let out = tmp.path().join("vol");

    let stdout = ok(&["sim", "optimize", "--input", s(&input), "--out", s(&out)]);
    let dedup_ratio = ratio(&stdout, "dedup ratio ");
    let compression_ratio = ratio(&stdout, "compression ratio ");
    eprintln!("{stdout}");
    eprintln!("measured: dedup ratio {dedup_ratio}, compression ratio {compression_ratio}");
    assert!(dedup_ratio > 2.0, "{dedup_ratio}");
    assert!(compression_ratio > 1.1, "{compression_ratio}");
    assert!(
        stdout.contains("skipped 3 (1 empty, 2 too small)"),
        "{stdout}"
    );

    // Exactly the input's files, no partial folder left beside the output.
    let want: BTreeSet<String> = files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(user_files(&out), want);
    let siblings: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(siblings.len(), 2, "{siblings:?}");
    assert!(!out.join(".rehydrate").exists());

    let mut guid = None;
    let mut logical = 0u64;
    for f in &files {
        let p = host(&out, f);
        let md = std::fs::metadata(&p).unwrap();
        assert_eq!(md.len(), f.data.len() as u64, "{}", f.path);
        let rp = xattr::get(&p, XATTR).unwrap();
        if f.data.len() < MIN_SIZE {
            assert!(rp.is_none(), "{}: small files stay ordinary", f.path);
            assert_eq!(std::fs::read(&p).unwrap(), f.data, "{}", f.path);
            continue;
        }
        assert_no_data(tmp.path(), &p);
        let rp = rp.unwrap_or_else(|| panic!("{}: no {XATTR}", f.path));
        let point = dedup_reparse::DedupReparse::parse(&rp).unwrap();
        assert_eq!(point.logical_size(), f.data.len() as u64);
        assert_eq!(point.version(), dedup_reparse::LayoutVersion::V3);
        logical += f.data.len() as u64;
        let j = json(&["inspect", "reparse", s(&p), "--json"]);
        assert_eq!(j["read_from"], "user.ntfs_reparse_data");
        assert_eq!(j["version"], "v3");
        assert_eq!(j["framing"], "REPARSE_DATA_BUFFER");
        assert_eq!(j["logical_size"], f.data.len() as u64);
        assert_eq!(j["file_size"], f.data.len() as u64);
        assert_eq!(j["length"], rp.len());
        let e = &j["entries"][0];
        assert_eq!(e["range_begin"], 0);
        assert_eq!(e["range_end"], f.data.len() as u64);
        assert_eq!(e["local_id"], point.entries()[0].local_id);
        assert_eq!(e["container_id"], point.entries()[0].container_id);
        assert_eq!(e["hash"].as_str().unwrap().len(), 32);
        let g = j["store_guid"].as_str().unwrap().to_owned();
        assert_eq!(*guid.get_or_insert_with(|| g.clone()), g);
    }
    let guid = guid.unwrap();
    assert!(
        out.join(format!(
            "System Volume Information/Dedup/ChunkStore/{guid}.ddp"
        ))
        .is_dir()
    );

    // The same point from a raw buffer file.
    let stub = out.join("documents/report.txt");
    let raw = tmp.path().join("report.reparse");
    std::fs::write(&raw, xattr::get(&stub, XATTR).unwrap().unwrap()).unwrap();
    let from_raw = json(&["inspect", "reparse", s(&raw), "--json"]);
    let from_stub = json(&["inspect", "reparse", s(&stub), "--json"]);
    assert_eq!(from_raw["read_from"], "raw file");
    assert_eq!(from_raw["entries"], from_stub["entries"]);
    assert_eq!(from_raw["store_guid"], from_stub["store_guid"]);
    let text = ok(&["inspect", "reparse", s(&stub)]);
    assert!(
        text.contains("version       v3") && text.contains(&guid),
        "{text}"
    );

    let all = check_every_container(&out);
    let j = json(&["inspect", "store", s(&out), "--json"]);
    assert_eq!(j["store_guid"], guid);
    assert_eq!(j["optimized_files"], 9);
    assert_eq!(j["optimized_logical_bytes"], logical);
    assert_eq!(j["max_generation"], 1);
    assert_eq!(j["redirections"], 0);
    assert_eq!(j["errors"].as_array().unwrap().len(), 0);
    assert_eq!(j["containers"].as_array().unwrap().len(), all.len());
    assert_eq!(
        j["data_containers"].as_u64().unwrap() + j["stream_containers"].as_u64().unwrap(),
        all.len() as u64
    );
    assert_eq!(j["stream_maps"], 9);
    let chunks = j["data_chunks"].as_u64().unwrap();
    let refs = j["chunk_references"].as_u64().unwrap();
    assert!(refs > 3 * chunks, "{refs} references to {chunks} chunks");
    let jd = j["dedup_ratio"].as_f64().unwrap();
    let jc = j["compression_ratio"].as_f64().unwrap();
    assert!((jd - dedup_ratio).abs() < 0.01, "{jd} vs {dedup_ratio}");
    assert!(
        (jc - compression_ratio).abs() < 0.01,
        "{jc} vs {compression_ratio}"
    );
    let chunk_logical = j["chunk_logical_bytes"].as_u64().unwrap();
    #[allow(clippy::cast_precision_loss)]
    let expect = logical as f64 / chunk_logical as f64;
    assert!((jd - expect).abs() < 1e-9);
    let text = ok(&["inspect", "store", s(&out)]);
    assert!(
        text.contains("dedup ratio ") && text.contains("compression ratio "),
        "{text}"
    );

    // A non-empty --out is refused and left alone.
    let o = rehydrate(&["sim", "optimize", "--input", s(&input), "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not empty") && err.lines().count() == 1,
        "{err}"
    );
    assert_eq!(user_files(&out), want);
}

#[test]
fn sim_optimize_v1_with_small_containers_into_an_empty_folder() {
    let Some(tmp) = tempdir_with_xattrs() else {
        return;
    };
    let input = tmp.path().join("in");
    let files = generate(&input, 0);
    let out = tmp.path().join("vol");
    std::fs::create_dir(&out).unwrap();
    let j = json(&[
        "sim",
        "optimize",
        "--input",
        s(&input),
        "--out",
        s(&out),
        "--reparse",
        "v1",
        "--container-size",
        "512K",
        "--json",
    ]);
    assert_eq!(j["reparse"], "v1");
    assert_eq!(j["container_size"], 512 * 1024);
    assert_eq!(j["files_optimized"], 8);
    assert_eq!(j["files_skipped"], 3);
    assert!(j["store"]["data_containers"].as_u64().unwrap() >= 2, "{j}");
    for c in check_every_container(&out) {
        assert!(std::fs::metadata(&c).unwrap().len() <= 512 * 1024);
    }
    for f in files.iter().filter(|f| f.data.len() >= MIN_SIZE) {
        let p = host(&out, f);
        let r = json(&["inspect", "reparse", s(&p), "--json"]);
        assert_eq!(r["version"], "v1", "{}", f.path);
        assert_eq!(r["entries"][0]["hash"].as_str().unwrap().len(), 64);
        assert_no_data(tmp.path(), &p);
    }
}

#[test]
fn sim_optimize_gc_moves_containers_to_new_generations_with_rrtl() {
    let Some(tmp) = tempdir_with_xattrs() else {
        return;
    };
    let input = tmp.path().join("in");
    let files = generate(&input, 3 << 20);
    let out = tmp.path().join("vol");
    let stdout = ok(&[
        "sim",
        "optimize",
        "--input",
        s(&input),
        "--out",
        s(&out),
        "--gc",
        "--seed",
        "9",
    ]);
    assert!(stdout.contains("gc: optimized and deleted"), "{stdout}");
    // Exactly the input's files: the scratch set is gone.
    let want: BTreeSet<String> = files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(user_files(&out), want);
    let all = check_every_container(&out);
    let newer: Vec<_> = all
        .iter()
        .filter(|p| {
            let (_, g) =
                dedup_store::parse_container_file_name(p.file_name().unwrap().to_str().unwrap())
                    .unwrap();
            g > 1
        })
        .collect();
    assert!(!newer.is_empty(), "no container of generation > 1: {all:?}");
    let j = json(&["inspect", "store", s(&out), "--json"]);
    assert!(j["max_generation"].as_u64().unwrap() >= 2);
    assert!(j["redirections"].as_u64().unwrap() > 0, "{j}");
    assert_eq!(j["errors"].as_array().unwrap().len(), 0);
    assert_eq!(j["optimized_files"], 9);
    // The Rrtl entries are in the new generations' container files.
    let with_rrtl = j["containers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["generation"].as_u64().unwrap() >= 2 && c["redirections"].as_u64().unwrap() > 0
        })
        .count();
    assert!(with_rrtl > 0);
    let mut labelled = 0;
    for c in &newer {
        let r = json(&["inspect", "container", s(c), "--json"]);
        assert_eq!(r["failed_checks"], 0);
        // Rrtl entries are labelled objects in the JSON, not bare pairs.
        for t in r["redirection_tables"].as_array().unwrap() {
            for e in t["entries"].as_array().into_iter().flatten() {
                assert!(e["local_id"].is_u64() && e["offset"].is_u64(), "{e}");
                labelled += 1;
            }
        }
    }
    assert!(labelled > 0, "no Rrtl entry in the inspect container JSON");
    // The stubs' reparse points were not rewritten: some offset hints now miss their stream
    // map in the newest generation (readers follow the Rrtl), none point past a valid record.
    let stream_records: Vec<(u64, u64)> = all
        .iter()
        .filter(|p| p.parent().unwrap().ends_with("Stream"))
        .flat_map(|p| {
            let r = json(&["inspect", "container", s(p), "--json"]);
            let id =
                r["slots"][r["chosen_slot"].as_u64().unwrap() as usize]["header"]["container_id"]
                    .as_u64()
                    .unwrap();
            r["records"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| x["record_type"] == "stream-map")
                .map(|x| (id, x["offset"].as_u64().unwrap()))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut stale = 0;
    for f in files.iter().filter(|f| f.data.len() >= MIN_SIZE) {
        let r = json(&["inspect", "reparse", s(&host(&out, f)), "--json"]);
        let e = &r["entries"][0];
        let at = (
            e["container_id"].as_u64().unwrap(),
            e["offset_hint"].as_u64().unwrap(),
        );
        stale += usize::from(!stream_records.contains(&at));
    }
    assert!(stale > 0, "no stale offset hint after GC");

    // The stubs are still sparse stubs of the right size.
    for f in files.iter().filter(|f| f.data.len() >= MIN_SIZE) {
        let p = host(&out, f);
        assert!(xattr::get(&p, XATTR).unwrap().is_some());
        assert_no_data(tmp.path(), &p);
    }
}

#[test]
fn bad_input_gives_one_line_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let garbage = tmp.path().join("garbage");
    std::fs::write(&garbage, b"\x13\x00\x00\x80\x05\x00\x00\x00abc").unwrap();
    let o = rehydrate(&["inspect", "reparse", s(&garbage)]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&o.stderr).lines().count(), 1);

    let o = rehydrate(&["inspect", "store", s(tmp.path())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no chunk store"));

    let o = rehydrate(&[
        "sim",
        "optimize",
        "--input",
        s(&tmp.path().join("missing")),
        "--out",
        s(&tmp.path().join("o")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = rehydrate(&[
        "sim",
        "optimize",
        "--input",
        s(tmp.path()),
        "--out",
        s(&tmp.path().join("o")),
        "--container-size",
        "4K",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!tmp.path().join("o").exists(), "nothing claimed as output");
}

/// `-q` prints nothing on success (the summary is for the default output), and still makes the
/// volume; without it the summary ends with the volume written.
#[test]
fn quiet_optimize_prints_nothing_and_still_writes_the_volume() {
    let Some(dir) = tempdir_with_xattrs() else {
        return;
    };
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(src.join("big.bin"), &body).unwrap();
    let (quiet, loud) = (dir.path().join("quiet"), dir.path().join("loud"));
    let printed = ok(&[
        "-q",
        "sim",
        "optimize",
        "--source",
        s(&src),
        "--to",
        s(&quiet),
    ]);
    assert_eq!(printed, "", "-q printed: {printed}");
    assert!(xattr::get(quiet.join("big.bin"), XATTR).unwrap().is_some());
    let printed = ok(&["sim", "optimize", "--source", s(&src), "--to", s(&loud)]);
    assert!(printed.contains("wrote "), "{printed}");
}
