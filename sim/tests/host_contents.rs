//! A `SimVolume` that keeps file contents on the host ([`SimVolume::with_host_contents`])
//! behaves exactly as one that keeps them in memory: seeded sequences of writes, extensions,
//! truncations, sparse-flag changes, overwrites, renames and deletes give the same results,
//! bytes, allocation and free space on both. Files imported from the host
//! ([`SimVolume::import_host_file`]) read as their input, are copied (never written through)
//! when changed, and the backing folder goes with the volume. The optimizer writes the same
//! store from both.
#![cfg(unix)]

use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use platform::{Access, Disposition, Error, OpenOptions, ShareMode, Volume, WinPath};
use test_support::SplitMix64;
use winsim::dedup::{OptimizeOptions, optimize};
use winsim::sample::{self, SampleOptions};
use winsim::{Fault, SimVolume};

fn p(s: &str) -> WinPath {
    WinPath::new(s).unwrap()
}

fn rw(d: Disposition) -> OpenOptions {
    OpenOptions::new(Access::READ_WRITE, ShareMode::ALL, d)
}

/// Everything observable about the volume's files: path, length, attributes, allocation,
/// allocated ranges and every byte; and the volume's allocated total.
fn snapshot(v: &SimVolume) -> String {
    let mut out = format!("allocated {}\n", v.allocated_bytes());
    for path in v.all_files() {
        let md = v.metadata(&path).unwrap();
        let data = v.read_file(&path).unwrap();
        let sum = data
            .iter()
            .fold(0u64, |h, &b| h.rotate_left(5) ^ u64::from(b));
        let _ = writeln!(
            out,
            "{path} len {} attrs {:#x} allocated {} ranges {:?} sum {sum:#x}",
            md.len,
            md.attributes,
            md.allocated,
            v.allocated_ranges(&path).unwrap()
        );
    }
    out
}

/// The outcome of an operation, with host I/O error text left out (the two volumes agree on
/// everything else).
fn outcome<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Ok(v) => format!("ok {v:?}"),
        Err(Error::Io { path, source }) => format!("io error on {path}: {source}"),
        Err(e) => format!("{e:?}"),
    }
}

/// One seeded random operation on `v` (both volumes get the same `rng` state).
fn step(v: &SimVolume, rng: &mut SplitMix64) -> String {
    const NAMES: [&str; 4] = ["\\a.bin", "\\b.bin", "\\dir\\c.bin", "\\dir\\d.bin"];
    let path = p(NAMES[rng.below(4) as usize]);
    let offset = rng.below(100_000);
    let len = rng.below(20_000) as usize;
    match rng.below(9) {
        0..=2 => {
            let mut data = vec![0u8; len];
            rng.fill(&mut data);
            if rng.below(3) == 0 {
                data.fill(0);
            }
            let r = v.open(&path, rw(Disposition::OpenAlways));
            outcome(r.and_then(|f| f.write_all_at(offset, &data)))
        }
        3 => outcome(
            v.open(&path, rw(Disposition::OpenExisting))
                .and_then(|f| f.set_len(offset)),
        ),
        4 => {
            let sparse = rng.below(2) == 0;
            outcome(
                v.open(&path, rw(Disposition::OpenExisting))
                    .and_then(|f| f.set_sparse(sparse)),
            )
        }
        5 => outcome(v.open(&path, rw(Disposition::TruncateExisting)).map(|_| ())),
        6 => {
            let mut buf = vec![0u8; len];
            let r = v
                .open(&path, rw(Disposition::OpenExisting))
                .and_then(|f| f.read_at(offset, &mut buf));
            let sum = buf.iter().map(|&b| u64::from(b)).sum::<u64>();
            format!("{} sum {sum}", outcome(r))
        }
        7 => {
            let to = p(NAMES[rng.below(4) as usize]);
            outcome(v.rename(&path, &to, rng.below(2) == 0))
        }
        _ => outcome(v.delete_file(&path)),
    }
}

#[test]
fn host_contents_behave_as_memory_contents() {
    // How often each kind of outcome came up, so that the comparison is known to cover
    // successes and refusals alike.
    let mut seen = std::collections::BTreeMap::new();
    for seed in 0..12u64 {
        let tmp = tempfile::tempdir().unwrap();
        let mem = SimVolume::new(seed);
        let host = SimVolume::with_host_contents(seed, tmp.path()).unwrap();
        for v in [&mem, &host] {
            v.create_dir(&p("\\dir")).unwrap();
            if seed % 3 == 0 {
                // Tight enough that some writes and extensions run out of space.
                v.inject(Fault::DiskFull { capacity: 160_000 });
            }
        }
        let (mut r1, mut r2) = (SplitMix64(seed), SplitMix64(seed));
        for i in 0..150 {
            let a = step(&mem, &mut r1);
            let b = step(&host, &mut r2);
            assert_eq!(a, b, "seed {seed}, step {i}");
            *seen
                .entry(a.split(' ').next().unwrap().to_owned())
                .or_insert(0) += 1;
            assert!(!a.starts_with("io error"), "seed {seed}, step {i}: {a}");
            assert_eq!(snapshot(&mem), snapshot(&host), "seed {seed}, step {i}");
        }
        drop(host);
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "the backing folder is removed with the volume"
        );
    }
    eprintln!("outcomes: {seen:?}");
    for kind in ["ok", "DiskFull", "NotFound"] {
        assert!(
            seen.keys().any(|k| k.starts_with(kind)),
            "no {kind} outcome in {seen:?}"
        );
    }
    assert!(seen["ok"] > 800, "{seen:?}");
}

fn import(v: &SimVolume, host: &Path, path: &str) {
    let len = std::fs::metadata(host).unwrap().len();
    v.import_host_file(&p(path), host, len).unwrap();
}

#[test]
fn imported_files_read_in_place_and_are_copied_on_change() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("input.bin");
    let mut original = vec![0u8; 3 << 20];
    SplitMix64(3).fill(&mut original[..1 << 20]);
    std::fs::write(&input, &original).unwrap();

    let mem = SimVolume::new(1);
    let host = SimVolume::with_host_contents(1, tmp.path()).unwrap();
    for v in [&mem, &host] {
        import(v, &input, "\\f.bin");
        assert_eq!(v.read_file(&p("\\f.bin")).unwrap(), original);
    }
    assert_eq!(snapshot(&mem), snapshot(&host));
    assert_eq!(mem.allocated_bytes(), 3 << 20);
    // Reading needs no host file of the volume's own.
    assert_eq!(host.host_contents_folder(), None);

    for v in [&mem, &host] {
        let f = v
            .open(&p("\\f.bin"), rw(Disposition::OpenExisting))
            .unwrap();
        f.write_all_at(10, b"changed").unwrap();
        f.set_len(2 << 20).unwrap();
    }
    assert_eq!(snapshot(&mem), snapshot(&host));
    assert_eq!(
        std::fs::read(&input).unwrap(),
        original,
        "the input is never written"
    );
    let folder = host.host_contents_folder().expect("a host file was made");
    let copy = std::fs::read_dir(&folder).unwrap().next().unwrap().unwrap();
    let md = std::fs::metadata(copy.path()).unwrap();
    assert_eq!(md.len(), 2 << 20);
    // The all-zero second MiB was left as a hole.
    assert!(md.blocks() * 512 < (3 << 20) / 2, "{} blocks", md.blocks());

    // A file truncated to nothing drops its input without copying it.
    import(&host, &input, "\\g.bin");
    let f = host
        .open(&p("\\g.bin"), rw(Disposition::OpenExisting))
        .unwrap();
    f.set_len(0).unwrap();
    drop(f);
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 1);

    drop(host);
    assert!(!folder.exists(), "the backing folder goes with the volume");
}

#[test]
fn an_input_changed_under_the_volume_is_an_io_error() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("input.bin");
    std::fs::write(&input, vec![7u8; 100_000]).unwrap();
    let host = SimVolume::with_host_contents(1, tmp.path()).unwrap();
    import(&host, &input, "\\f.bin");
    std::fs::write(&input, vec![7u8; 50_000]).unwrap();
    let err = host.read_file(&p("\\f.bin")).unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, source } if *path == p("\\f.bin")
            && source.to_string().contains("input.bin")
            && source.to_string().contains("imported")),
        "{err:?}"
    );
}

#[test]
fn the_optimizer_writes_the_same_store_from_either_volume() {
    let tmp = tempfile::tempdir().unwrap();
    let files = sample::sample_files(&SampleOptions {
        seed: 8,
        big_file_size: 9 << 20,
    });
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    sample::write_to_dir(&input, &files).unwrap();
    let mem = SimVolume::new(8);
    sample::write_to_volume(&mem, &files).unwrap();
    let host = SimVolume::with_host_contents(8, tmp.path()).unwrap();
    winsim::host::import_dir(&host, &input).unwrap();
    let opts = OptimizeOptions {
        container_size: 1 << 20,
        ..OptimizeOptions::default()
    };
    let a = optimize(&mem, 8, &opts).unwrap();
    let b = optimize(&host, 8, &opts).unwrap();
    assert_eq!(a, b);
    assert!(a.containers_written.len() > 4, "{:?}", a.containers_written);
    assert_eq!(snapshot(&mem), snapshot(&host));
    for f in mem.all_files() {
        assert_eq!(
            mem.read_file(&f).unwrap(),
            host.read_file(&f).unwrap(),
            "{f}"
        );
        assert_eq!(
            outcome(mem.reparse_point(&f)),
            outcome(host.reparse_point(&f)),
            "{f}"
        );
    }
}

/// `unsupported_entries` names what a Windows volume cannot hold, once each, in walk order,
/// and `import_dir_skipping_unsupported` imports the rest (issue 15, item 9).
#[test]
fn unsupported_entries_are_found_and_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("in");
    std::fs::create_dir_all(src.join("Docs/inner")).unwrap();
    std::fs::create_dir_all(src.join("docs")).unwrap();
    std::fs::write(src.join("docs/hidden.txt"), b"under a colliding folder").unwrap();
    std::fs::write(src.join("Docs/inner/ok.txt"), b"kept").unwrap();
    std::fs::write(src.join("Docs/inner/a:b"), b"no colon on Windows").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", src.join("Docs/link")).unwrap();
    let found = winsim::host::unsupported_entries(&src).unwrap();
    let named: Vec<(String, String)> = found
        .iter()
        .map(|u| {
            let rel = u.path.strip_prefix(&src).unwrap().display().to_string();
            (rel, u.reason.to_string())
        })
        .collect();
    assert_eq!(named.len(), 3, "{named:?}");
    assert!(
        named
            .iter()
            .any(|(p, r)| p == "docs" && r.contains("\"Docs\"")),
        "{named:?}"
    );
    assert!(
        named
            .iter()
            .any(|(p, r)| p == "Docs/link" && r.contains("symbolic link")),
        "{named:?}"
    );
    assert!(
        named
            .iter()
            .any(|(p, r)| p == "Docs/inner/a:b" && r.starts_with("Windows cannot hold")),
        "{named:?}"
    );
    let vol = winsim::SimVolume::new(1);
    let err = winsim::host::import_dir(&vol, &src).unwrap_err();
    assert!(err.to_string().contains("in/"), "{err}");
    let vol = winsim::SimVolume::new(1);
    let rep = winsim::host::import_dir_skipping_unsupported(&vol, &src).unwrap();
    assert_eq!((rep.files, rep.dirs), (1, 2), "{rep:?}");
}
