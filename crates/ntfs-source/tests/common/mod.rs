//! The test fixture: a real NTFS image made by independent tools (ntfs-3g's `mkntfs` and its
//! FUSE driver), holding a `rehydrate sim optimize`-style volume.
//!
//! 1. The simulator writes seeded files and optimizes them (real-format chunk store, v3
//!    reparse points).
//! 2. `truncate -s 64M` + `mkntfs -F -Q` make the image; `ntfs-3g -o no_detach` mounts it.
//! 3. Plain files are copied in; each dedup stub is created as a sparse file of its logical
//!    size and gets its reparse point through `system.ntfs_reparse_data` (ntfs-3g's interface:
//!    the value is the whole REPARSE_DATA_BUFFER, see ntfs-3g's "Extended attributes" /
//!    `ntfs_set_ntfs_reparse_data`); the chunk store is copied under
//!    `System Volume Information\Dedup`. Then a folder of 250 files (its index needs
//!    `$INDEX_ALLOCATION`), a Unicode name, a deep tree, a sparse plain file and a hard link.
//! 4. `umount`, and the image is complete once the ntfs-3g process has exited.
//!
//! Needs root (mount), `/dev/fuse` and the `ntfs-3g` package. A missing tool is installed with
//! apt-get when that works (as `.ci/wincheck` does); under CI anything missing is a failure,
//! elsewhere the tests print "skipped: …".

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use platform::{Volume, WinPath};
use test_support::SplitMix64;
use winsim::SimVolume;
use winsim::dedup::{OptimizeOptions, optimize_files};

/// One file put in the image.
#[derive(Debug, Clone)]
pub struct Put {
    /// Its volume path.
    pub path: WinPath,
    /// Its original content (a dedup file's, rebuilt; a stub's data stream is a hole).
    pub data: Vec<u8>,
    /// The reparse buffer set on it (dedup stubs).
    pub reparse: Option<Vec<u8>>,
    /// The modification time set on it.
    pub modified: SystemTime,
    /// Under `\System Volume Information` (the chunk store).
    pub system: bool,
}

/// The image and what was put in it.
#[derive(Debug)]
pub struct Image {
    _dir: tempfile::TempDir,
    /// The image file.
    pub path: PathBuf,
    /// Every file put in, by path.
    pub files: Vec<Put>,
    /// Directories created (besides the root).
    pub dirs: Vec<WinPath>,
    /// The second name of the hard-linked file (not listed).
    pub hard_link: WinPath,
    /// How many bulk files [`bulk_path`] names (0 for the shared image).
    pub bulk: usize,
}

/// Bulk files per folder of a [`many_files_image`].
pub const BULK_PER_DIR: usize = 1000;

/// The volume path of bulk file `i` of a [`many_files_image`]: folders of [`BULK_PER_DIR`].
pub fn bulk_path(i: usize) -> WinPath {
    wp(&format!("\\bulk\\d{:04}\\f{i:06}.txt", i / BULK_PER_DIR))
}

/// The content of bulk file `i` (small: resident in its MFT record).
pub fn bulk_data(i: usize) -> Vec<u8> {
    format!("bulk file {i}\n").into_bytes()
}

impl Image {
    /// The file put at `path`.
    pub fn file(&self, path: &WinPath) -> &Put {
        self.files
            .iter()
            .find(|f| &f.path == path)
            .unwrap_or_else(|| panic!("{path} was not put in"))
    }
}

/// A path from a string.
pub fn wp(s: &str) -> WinPath {
    WinPath::new(s).expect("valid test path")
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Fails under CI, else prints the reason; returns `None` either way for the caller.
fn unavailable(why: &str) -> Option<&'static Image> {
    assert!(
        !in_ci(),
        "NTFS image fixture: {why} (under CI this is a failure)"
    );
    eprintln!("skipped: NTFS image fixture: {why}");
    None
}

/// Why there is no image.
#[derive(Debug)]
enum NoImage {
    /// A tool or permission is missing (a skip outside CI).
    Unavailable(String),
    /// The tools are there and something failed (always a failure).
    Failed(String),
}

impl From<String> for NoImage {
    fn from(s: String) -> Self {
        Self::Failed(s)
    }
}

/// The shared image, made once per test binary (`None`, after "skipped: …", when the tools
/// cannot be had outside CI).
pub fn image() -> Option<&'static Image> {
    static IMAGE: OnceLock<Result<Image, NoImage>> = OnceLock::new();
    match IMAGE.get_or_init(|| build("64M", 0)) {
        Ok(i) => Some(i),
        Err(NoImage::Unavailable(why)) => unavailable(why),
        Err(NoImage::Failed(why)) => panic!("building the NTFS image fixture: {why}"),
    }
}

fn have(tool: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(tool).exists())
}

/// Installs ntfs-3g with apt-get when `mkntfs` or `ntfs-3g` is missing.
fn ensure_tools() -> Result<(), String> {
    if have("mkntfs") && have("ntfs-3g") {
        return Ok(());
    }
    if !have("apt-get") {
        return Err("ntfs-3g is not installed and apt-get is not available".into());
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .status()
            .map_err(|e| format!("apt-get: {e}"))
            .and_then(|s| {
                if s.success() {
                    Ok(())
                } else {
                    Err(format!("apt-get {args:?} failed ({s})"))
                }
            })
    };
    apt(&["update"])?;
    apt(&["install", "-y", "--no-install-recommends", "ntfs-3g"])?;
    if have("mkntfs") && have("ntfs-3g") {
        Ok(())
    } else {
        Err("installing ntfs-3g gave no mkntfs/ntfs-3g".into())
    }
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn mounted(mnt: &Path) -> bool {
    let m = mnt.to_string_lossy().into_owned();
    std::fs::read_to_string("/proc/mounts")
        .is_ok_and(|s| s.lines().any(|l| l.split(' ').nth(1) == Some(m.as_str())))
}

/// Seeded dedup candidates: text, random bytes, a block shared by all, zeros.
fn seeded(seed: u64) -> Vec<(WinPath, Vec<u8>)> {
    let mut rng = SplitMix64(seed);
    let mut shared = vec![0u8; 160 * 1024];
    rng.fill(&mut shared);
    (0..5)
        .map(|i| {
            let mut d = rng.text(60 * 1024 + i * 977);
            d.extend_from_slice(&shared);
            let mut random = vec![0u8; 50 * 1024];
            rng.fill(&mut random);
            d.extend_from_slice(&random);
            if i % 2 == 0 {
                d.extend(std::iter::repeat_n(0u8, 200 * 1024));
            }
            d.extend_from_slice(&rng.text(30 * 1024));
            let dir = if i % 2 == 0 { "\\docs" } else { "\\data\\sub" };
            (wp(&format!("{dir}\\file{i:02}.bin")), d)
        })
        .collect()
}

fn host(mnt: &Path, p: &WinPath) -> PathBuf {
    let mut h = mnt.to_owned();
    h.extend(p.components());
    h
}

fn set_mtime(path: &Path, t: SystemTime) -> Result<(), String> {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|e| e.to_string())?;
    // touch -h: a dedup stub may show as a symbolic link on the mount; never follow it.
    run(Command::new("touch")
        .args([
            "-h",
            "-m",
            "-d",
            &format!("@{}.{:09}", secs.as_secs(), secs.subsec_nanos()),
        ])
        .arg(path))
}

/// An image of the same volume plus `bulk` small plain files ([`bulk_path`], [`bulk_data`]),
/// made anew by each call (`None`, after "skipped: …", when the tools cannot be had outside
/// CI). The image file is sparse: 1 GiB of address space, about 1.3 KiB on disk per file.
pub fn many_files_image(bulk: usize) -> Option<Image> {
    match build("1G", bulk) {
        Ok(i) => Some(i),
        Err(NoImage::Unavailable(why)) => {
            unavailable(&why);
            None
        }
        Err(NoImage::Failed(why)) => panic!("building the NTFS image of {bulk} files: {why}"),
    }
}

fn build(size: &str, bulk: usize) -> Result<Image, NoImage> {
    ensure_tools().map_err(NoImage::Unavailable)?;
    if !Path::new("/dev/fuse").exists() {
        return Err(NoImage::Unavailable("/dev/fuse is missing".into()));
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let img = dir.path().join("volume.img");
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).map_err(|e| e.to_string())?;
    run(Command::new("truncate").args(["-s", size]).arg(&img))?;
    run(Command::new("mkntfs")
        .args(["-F", "-Q", "-q", "-L", "rehydrate"])
        .arg(&img))?;

    // The simulator's optimized volume.
    let originals = seeded(0x17);
    let vol = SimVolume::new(0x17);
    for (p, d) in &originals {
        vol.write_file(p, d).map_err(|e| e.to_string())?;
    }
    let paths: Vec<WinPath> = originals.iter().map(|(p, _)| p.clone()).collect();
    let report = optimize_files(&vol, 0x17, &paths, &OptimizeOptions::default())
        .map_err(|e| e.to_string())?;
    assert_eq!(report.files_optimized, originals.len());

    let mut child = Command::new("ntfs-3g")
        .args(["-o", "no_detach"])
        .arg(&img)
        .arg(&mnt)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("ntfs-3g: {e}"))?;
    let start = std::time::Instant::now();
    while !mounted(&mnt) {
        if let Ok(Some(s)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            // No FUSE permission (not root, no fuse group) is a missing facility.
            return Err(NoImage::Unavailable(format!(
                "ntfs-3g could not mount the image ({s}): {}",
                err.trim()
            )));
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            return Err(NoImage::Failed(
                "ntfs-3g did not mount the image within 20 s".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let filled = fill(&mnt, &vol, &originals).and_then(|f| fill_bulk(&mnt, bulk).map(|()| f));
    let unmounted = run(Command::new("umount").arg(&mnt))
        .or_else(|_| run(Command::new("fusermount").arg("-u").arg(&mnt)));
    let status = child.wait().map_err(|e| e.to_string())?;
    let (files, dirs, hard_link) = filled?;
    unmounted?;
    if !status.success() {
        return Err(NoImage::Failed(format!("ntfs-3g exited with {status}")));
    }
    Ok(Image {
        _dir: dir,
        path: img,
        files,
        dirs,
        hard_link,
        bulk,
    })
}

/// Writes the bulk files through the mount: one process, one create and write each (about
/// 8,000 files a second through ntfs-3g).
fn fill_bulk(mnt: &Path, bulk: usize) -> Result<(), String> {
    for i in 0..bulk {
        let h = host(mnt, &bulk_path(i));
        if i % BULK_PER_DIR == 0 {
            std::fs::create_dir_all(h.parent().expect("a folder")).map_err(|e| e.to_string())?;
        }
        std::fs::write(&h, bulk_data(i)).map_err(|e| format!("{}: {e}", h.display()))?;
    }
    Ok(())
}

type Filled = (Vec<Put>, Vec<WinPath>, WinPath);

/// Puts the volume and the extra cases on the mounted image.
fn fill(mnt: &Path, vol: &SimVolume, originals: &[(WinPath, Vec<u8>)]) -> Result<Filled, String> {
    let e = |e: std::io::Error| e.to_string();
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    let t = std::cell::Cell::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000));
    let tick = || {
        t.set(t.get() + Duration::from_millis(1_234_567));
        t.get()
    };
    let mkdirs = |p: &WinPath, dirs: &mut Vec<WinPath>| -> Result<(), String> {
        let mut d = WinPath::root();
        for c in p.parent().expect("a file").components() {
            d = d.join(c).map_err(|e| e.to_string())?;
            if !dirs.contains(&d) {
                std::fs::create_dir_all(host(mnt, &d)).map_err(e)?;
                dirs.push(d.clone());
            }
        }
        Ok(())
    };
    let svi = wp("\\System Volume Information");
    for p in vol.all_files() {
        mkdirs(&p, &mut dirs)?;
        let h = host(mnt, &p);
        let reparse = vol.reparse_point(&p).ok();
        let modified = tick();
        let data = if let Some(buf) = &reparse {
            // A stub: sparse, of the logical size, then the reparse point.
            let logical = vol.metadata(&p).map_err(|e| e.to_string())?.len;
            let f = std::fs::File::create(&h).map_err(e)?;
            f.set_len(logical).map_err(e)?;
            drop(f);
            // Times first: once it carries a reparse point ntfs-3g does not know, the stub
            // shows as a link whose times ntfs-3g will not set (EIO).
            set_mtime(&h, modified)?;
            xattr::set(&h, "system.ntfs_reparse_data", buf)
                .map_err(|err| format!("{}: system.ntfs_reparse_data: {err}", h.display()))?;
            originals
                .iter()
                .find(|(o, _)| o == &p)
                .map(|(_, d)| d.clone())
                .ok_or_else(|| format!("{p}: a stub that was not seeded"))?
        } else {
            let d = vol.read_file(&p).map_err(|e| e.to_string())?;
            std::fs::write(&h, &d).map_err(e)?;
            set_mtime(&h, modified)?;
            d
        };
        files.push(Put {
            system: p.starts_with(&svi),
            path: p,
            data,
            reparse,
            modified,
        });
    }
    let mut rng = SplitMix64(99);
    let plain = |p: WinPath, data: Vec<u8>, files: &mut Vec<Put>, dirs: &mut Vec<WinPath>| {
        mkdirs(&p, dirs)?;
        let h = host(mnt, &p);
        std::fs::write(&h, &data).map_err(e)?;
        let modified = tick();
        set_mtime(&h, modified)?;
        files.push(Put {
            path: p,
            data,
            reparse: None,
            modified,
            system: false,
        });
        Ok::<(), String>(())
    };
    // 250 files in one folder: the index outgrows $INDEX_ROOT.
    for i in 0..250 {
        let data = rng.text(i * 13 % 2000);
        plain(
            wp(&format!("\\many\\entry number {i:04}.txt")),
            data,
            &mut files,
            &mut dirs,
        )?;
    }
    plain(
        wp("\\unicode\\Ünïcödé – 日本語 ✓ 🦀.txt"),
        "grüße".as_bytes().to_vec(),
        &mut files,
        &mut dirs,
    )?;
    let deep = (0..12).fold(String::new(), |s, i| format!("{s}\\level{i}"));
    plain(
        wp(&format!("{deep}\\bottom.dat")),
        rng.text(5000),
        &mut files,
        &mut dirs,
    )?;
    plain(wp("\\plain\\empty.dat"), Vec::new(), &mut files, &mut dirs)?;
    plain(
        wp("\\plain\\tiny.txt"),
        b"resident".to_vec(),
        &mut files,
        &mut dirs,
    )?;
    // A sparse plain file: 3 MiB of hole between two written pieces.
    {
        use std::io::{Seek, SeekFrom, Write};
        let p = wp("\\plain\\sparse.bin");
        mkdirs(&p, &mut dirs)?;
        let h = host(mnt, &p);
        let mut f = std::fs::File::create(&h).map_err(e)?;
        let head = rng.text(10_000);
        let tail = rng.text(7_000);
        f.write_all(&head).map_err(e)?;
        f.seek(SeekFrom::Start(3 << 20)).map_err(e)?;
        f.write_all(&tail).map_err(e)?;
        drop(f);
        let mut data = head;
        data.resize(3 << 20, 0);
        data.extend_from_slice(&tail);
        let modified = tick();
        set_mtime(&h, modified)?;
        files.push(Put {
            path: p,
            data,
            reparse: None,
            modified,
            system: false,
        });
    }
    // A hard link: listed once, under its first name.
    let linked = wp("\\plain\\linked.txt");
    plain(linked.clone(), rng.text(3000), &mut files, &mut dirs)?;
    let hard_link = wp("\\plain\\zz second name.txt");
    std::fs::hard_link(host(mnt, &linked), host(mnt, &hard_link)).map_err(e)?;
    Ok((files, dirs, hard_link))
}
