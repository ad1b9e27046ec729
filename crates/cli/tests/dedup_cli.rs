//! `rehydrate inspect container` and `rehydrate carve` on the real container and damaged copies.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

fn rehydrate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rehydrate"))
        .args(args)
        .output()
        .unwrap()
}

fn real() -> PathBuf {
    test_support::ws2019_container()
}

fn sha256_file(p: &Path) -> String {
    dedup_store::hex(&Sha256::digest(std::fs::read(p).unwrap()))
}

#[test]
fn carve_rebuilds_both_real_pdfs() {
    let ccc = real();
    let dir = tempfile::tempdir().unwrap();
    for (ids, sha) in [
        (
            "1-39",
            "3d1ce39c80b5801edc19f7f7b3f83cde0377173b8897ec3cd8a2e8b0c815755a",
        ),
        (
            "40-53",
            "0c667c65a8c4e5525d8acfbe826168dfdb3b7708dfaef0b7fb596f73239cbe21",
        ),
    ] {
        let out = dir.path().join(format!("{ids}.pdf"));
        let o = rehydrate(&[
            "carve",
            ccc.to_str().unwrap(),
            "--ids",
            ids,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(sha256_file(&out), sha);
        assert!(String::from_utf8_lossy(&o.stderr).contains(sha));
    }
    // JSON summary.
    let out = dir.path().join("j.bin");
    let o = rehydrate(&[
        "carve",
        ccc.to_str().unwrap(),
        "--ids",
        "40-41,53",
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["chunks"], 3);
    assert_eq!(v["bytes"], 56_704 + 41_139 + 66_483);
}

#[test]
fn carve_failure_leaves_nothing_behind() {
    let ccc = real();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.bin");
    let o = rehydrate(&[
        "carve",
        ccc.to_str().unwrap(),
        "--ids",
        "50-60",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("local id 54 not found"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no partial output"
    );
    let o = rehydrate(&[
        "carve",
        ccc.to_str().unwrap(),
        "--ids",
        "9-3",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

/// `carve -o` never replaces a file without `--force`, and never the container it reads, even
/// with `--force` (it once replaced a 4 MB container by a 71 KB chunk).
#[test]
fn carve_never_overwrites_its_input_or_an_existing_file_unasked() {
    let real = real();
    let dir = tempfile::tempdir().unwrap();
    let ccc = dir.path().join("00000001.00000001.ccc");
    std::fs::copy(&real, &ccc).unwrap();
    let before = sha256_file(&ccc);
    let c = ccc.to_str().unwrap();
    for extra in [&[][..], &["--force"][..]] {
        let mut args = vec!["carve", c, "--ids", "1", "-o", c];
        args.extend_from_slice(extra);
        let o = rehydrate(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("container being read"), "{err}");
        assert_eq!(sha256_file(&ccc), before);
    }
    // The same file by another name (a hard link) is the input too.
    let link = dir.path().join("other-name.bin");
    std::fs::hard_link(&ccc, &link).unwrap();
    let o = rehydrate(&[
        "carve",
        c,
        "--ids",
        "1",
        "-o",
        link.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(sha256_file(&ccc), before);

    let out = dir.path().join("mine.txt");
    std::fs::write(&out, b"keep me").unwrap();
    let o = rehydrate(&["carve", c, "--ids", "1", "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    let o = rehydrate(&[
        "carve",
        c,
        "--ids",
        "1",
        "-o",
        out.to_str().unwrap(),
        "--force",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_ne!(std::fs::read(&out).unwrap(), b"keep me");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "no temporary file left: {names:?}");
}

#[test]
fn inspect_real_container_text_and_json() {
    let ccc = real();
    let o = rehydrate(&["inspect", "container", ccc.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("53 data chunks (8 compressed), 0 stream maps, 2 padding records"),
        "{text}"
    );
    assert!(text.contains("0 failed check(s)"));
    let o = rehydrate(&["inspect", "container", ccc.to_str().unwrap(), "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["chosen_slot"], 1);
    assert_eq!(v["slots"][0]["header"]["usn"], 1);
    assert_eq!(v["slots"][1]["header"]["chunk_count"], 53);
    assert_eq!(v["records"].as_array().unwrap().len(), 55);
    assert_eq!(v["records"][0]["chunk_hash"], "ok");
    assert_eq!(v["records"][39]["record_type"], "padding");
    assert_eq!(v["records"][40]["decode"], "ok");
    assert_eq!(v["logical_bytes"], 2_870_571 + 1_147_609);
    assert_eq!(v["failed_checks"], 0);
}

#[test]
fn inspect_reports_damage_and_exits_non_zero() {
    let ccc = real();
    let mut bytes = std::fs::read(&ccc).unwrap();
    bytes[0x1010] ^= 1; // slot 1 (in use) damaged: slot 2 takes over
    bytes[0x2C_3058 + 5] ^= 1; // payload of local id 40
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("00000001.00000001.ccc");
    std::fs::write(&p, &bytes).unwrap();
    let o = rehydrate(&["inspect", "container", p.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["chosen_slot"], 2);
    assert!(
        v["slots"][1]["error"]
            .as_str()
            .unwrap()
            .contains("CRC-64 mismatch")
    );
    assert_eq!(v["records"][40]["payload_crc"], "fail");
    assert_eq!(v["failed_checks"], 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1);
    assert!(err.contains("2 check(s) failed"), "{err}");
    // Not a container at all.
    std::fs::write(&p, b"hello").unwrap();
    let o = rehydrate(&["inspect", "container", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("too small"));
    let o = rehydrate(&["inspect", "container", "/nonexistent/x.ccc"]);
    assert_eq!(o.status.code(), Some(2));
}
