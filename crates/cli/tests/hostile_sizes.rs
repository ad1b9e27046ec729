//! Peak memory of the store commands against sizes a hostile or damaged store claims (issue
//! 13): a data container grown to 4 GiB (sparse), and one whose header claims a valid data
//! length of 4 GiB. `inspect store` used to read each container whole (4.19 GB of RSS); every
//! command must stay under 256 MiB, measured as the child's `VmHWM`.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use dedup_store::{FIXED_AREA_LEN, FixedArea, HEADER_SLOT_OFFSETS};

const FOUR_GIB: u64 = 4 << 30;
const LIMIT_KIB: u64 = 256 << 10;

/// Grows `container` to 4 GiB without writing (a hole).
fn grow_sparse(container: &Path) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(container)
        .unwrap();
    f.set_len(FOUR_GIB).unwrap();
}

/// Rewrites the header in use with a valid data length of 4 GiB (a newer USN, a valid CRC) and
/// grows the file to match, so the claim passes the size check and only the records past the
/// real data are wrong.
fn claim_four_gib(container: &Path) {
    let mut bytes = std::fs::read(container).unwrap();
    let fixed = FixedArea::parse(&Arc::from("c"), &bytes[..FIXED_AREA_LEN]).unwrap();
    let mut h = fixed.header;
    h.valid_data_length = FOUR_GIB;
    h.usn += 1;
    let at = HEADER_SLOT_OFFSETS[fixed.chosen_slot] as usize;
    bytes[at..at + h.encode().len()].copy_from_slice(&h.encode());
    std::fs::write(container, &bytes).unwrap();
    grow_sparse(container);
}

/// The most threads the command accepts here (8 per core): every worker allocates what a
/// claim makes it allocate, so the most workers show the worst case.
fn max_threads() -> String {
    (std::thread::available_parallelism().map_or(1, usize::from) * 8).to_string()
}

fn run(what: &str, args: &[&str]) -> std::process::Output {
    let (o, peak_kib) = run_measuring_peak_rss(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert!(
        peak_kib < LIMIT_KIB,
        "{what}: peak RSS {peak_kib} KiB (limit {LIMIT_KIB} KiB)"
    );
    eprintln!(
        "{what}: exit {:?}, peak RSS {peak_kib} KiB",
        o.status.code()
    );
    o
}

#[test]
fn a_container_grown_to_four_gib_is_inspected_verified_and_restored_in_bounded_memory() {
    let src = fast_tempdir();
    let files = make_volume(src.path());
    grow_sparse(&data_container(src.path()));
    let src_s = s(src.path());
    // Bytes past the valid data length are not the container's: nothing is wrong.
    let o = run("inspect store", &["inspect", "store", src_s, "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let threads = max_threads();
    let o = run(
        "verify, the most threads",
        &["verify", "--source", src_s, "--threads", &threads, "--json"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let out = tempfile::tempdir().unwrap();
    let o = run(
        "restore",
        &["restore", "--source", src_s, "--to", s(out.path())],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for (p, bytes) in &files {
        assert_eq!(
            &std::fs::read(host_path(out.path(), p)).unwrap(),
            bytes,
            "{p}"
        );
    }
}

#[test]
fn a_header_claiming_four_gib_is_reported_in_bounded_memory() {
    let src = fast_tempdir();
    make_volume(src.path());
    claim_four_gib(&data_container(src.path()));
    let src_s = s(src.path());
    // The records end where the real data ends; the zeros after them are a damaged record.
    let o = run("inspect store", &["inspect", "store", src_s, "--json"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let v = json(&o);
    assert!(
        v.to_string().contains("00000001.00000001.ccc"),
        "the damaged container is named: {v:#}"
    );
    let threads = max_threads();
    let o = run(
        "verify, the most threads",
        &["verify", "--source", src_s, "--threads", &threads, "--json"],
    );
    assert!(matches!(o.status.code(), Some(0 | 1)));
    let out = tempfile::tempdir().unwrap();
    let o = run(
        "restore",
        &["restore", "--source", src_s, "--to", s(out.path())],
    );
    assert!(matches!(o.status.code(), Some(0 | 1)));
}
