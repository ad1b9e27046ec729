//! Helpers shared by the CLI tests that run `rehydrate` on volume folders the simulator
//! optimizes and exports.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod ux;
pub mod vss;

use platform::WinPath;
use winsim::SimVolume;
use winsim::dedup::{OptimizeOptions, optimize};

pub fn rehydrate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rehydrate"))
        .args(args)
        .output()
        .unwrap()
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// SplitMix64.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        for c in v.chunks_mut(8) {
            let x = self.next().to_le_bytes();
            c.copy_from_slice(&x[..c.len()]);
        }
        v
    }

    pub fn text(&mut self, n: usize) -> Vec<u8> {
        const W: [&str; 8] = [
            "alpha ", "beta ", "gamma\n", "store ", "chunk ", "map, ", "the ", "of ",
        ];
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(W[(self.next() % 8) as usize].as_bytes());
        }
        v.truncate(n);
        v
    }
}

/// A source volume: seeded files, optimized, exported to `dir`. Returns the original bytes by
/// volume path (`\a\first.bin` is the first file optimized: random, shared with no other file).
pub fn make_volume(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut rng = Rng(42);
    let vol = SimVolume::new(42);
    let mut files = BTreeMap::new();
    let text = rng.text(700 << 10);
    let list: Vec<(&str, Vec<u8>)> = vec![
        ("\\a\\first.bin", rng.bytes(300 << 10)),
        ("\\docs\\report.txt", text.clone()),
        ("\\docs\\copy of report.txt", text.clone()),
        ("\\docs\\sub\\notes.txt", rng.text(5000)),
        ("\\media\\clip.mp4", rng.bytes(1 << 20)),
        ("\\media\\empty.dat", Vec::new()),
        ("\\vm\\disk.vhdx", {
            let mut v = vec![0u8; 2 << 20];
            v[1 << 20..(1 << 20) + 4096].copy_from_slice(&rng.bytes(4096));
            v
        }),
        ("\\misc\\Top level.txt", rng.text(200 << 10)),
    ];
    for (p, bytes) in list {
        vol.write_file(&WinPath::new(p).unwrap(), &bytes).unwrap();
        files.insert(p.to_owned(), bytes);
    }
    let rep = optimize(&vol, 42, &OptimizeOptions::default()).unwrap();
    assert_eq!(rep.files_optimized, 6, "{rep:?}");
    winsim::host::export_volume(&vol, dir).unwrap();
    files
}

/// A temporary folder on tmpfs (`/dev/shm`) when it takes user extended attributes: creating
/// and removing 20,000 files with xattrs on a busy ext4 disk takes half a minute.
pub fn fast_tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(d) = tempfile::tempdir_in(shm)
    {
        let probe = d.path().join("probe");
        if std::fs::write(&probe, b"").is_ok() && xattr::set(&probe, "user.probe", b"1").is_ok() {
            let _ = std::fs::remove_file(&probe);
            return d;
        }
    }
    tempfile::tempdir().unwrap()
}

pub fn host_path(root: &Path, win: &str) -> PathBuf {
    let mut p = root.to_owned();
    for c in win.split('\\').filter(|c| !c.is_empty()) {
        p.push(c);
    }
    p
}

/// Every file under `root`, as volume paths.
pub fn list(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_owned(), String::new())];
    while let Some((dir, win)) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            let w = format!("{win}\\{name}");
            if e.file_type().unwrap().is_dir() {
                stack.push((e.path(), w));
            } else {
                out.push(w);
            }
        }
    }
    out.sort();
    out
}

/// The data containers of the volume folder `src`'s chunk store, in name order.
pub fn data_containers(src: &Path) -> Vec<PathBuf> {
    let store = src.join("System Volume Information/Dedup/ChunkStore");
    let guid = std::fs::read_dir(&store)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut data: Vec<PathBuf> = std::fs::read_dir(guid.join("Data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    data.sort();
    data
}

pub fn data_container(src: &Path) -> PathBuf {
    data_containers(src).remove(0)
}

/// Flips bytes inside the first data record's payload (the first chunk of `\a\first.bin`).
pub fn corrupt_first_chunk(src: &Path) -> PathBuf {
    let ccc = data_container(src);
    let mut bytes = std::fs::read(&ccc).unwrap();
    for b in &mut bytes[0x5000 + 0x400..0x5000 + 0x410] {
        *b ^= 0xA5;
    }
    std::fs::write(&ccc, &bytes).unwrap();
    ccc
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// Runs `rehydrate` with `args` and samples the child's peak resident memory (`VmHWM` of
/// `/proc/PID/status`, a high-water mark) every millisecond until it exits: the output and the
/// largest peak seen, in KiB. A run that reaches a large allocation is caught by the samples
/// taken while it holds it.
pub fn run_measuring_peak_rss(args: &[&str]) -> (Output, u64) {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rehydrate"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kib) = text
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        {
            peak = peak.max(kib);
        }
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    (
        Output {
            status,
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
        },
        peak,
    )
}
