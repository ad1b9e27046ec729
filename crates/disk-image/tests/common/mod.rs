//! Image fixtures made by independent tools from the ntfs-3g volume that `ntfs-source`'s tests
//! build (its `tests/common`, included here, not copied):
//!
//! * `sfdisk` (Debian `fdisk`) writes a GPT and an MBR on a disk file; the volume is copied in
//!   at 1 MiB;
//! * `qemu-img convert` (Debian `qemu-utils`) turns the GPT disk into VHD fixed and dynamic
//!   (`vpc`) and VHDX fixed and dynamic;
//! * `ewfacquire` (Debian `ewf-tools`) turns it into a multi-segment E01.
//! * A differencing VHDX: qemu-img cannot create one ("Backing file not supported for file
//!   format 'vhdx'") and no Debian tool can, so the chain is two qemu-made dynamic VHDXs
//!   (1 MiB blocks): the child holds the disk's odd blocks, the parent holds the even ones
//!   and garbage (0xA5) in place of the odd ones; then the child's metadata is patched by
//!   [`make_differencing`] (the HasParent bit and a parent locator naming the parent's
//!   DataWriteGuid). The chain reads as the disk only if every block present in the child
//!   wins over the parent and every other block comes from the parent.
//!
//! Missing packages are installed with apt-get as `.ci/wincheck` does; under `CI` anything
//! missing is a failure, elsewhere the tests print "skipped: …".

#![allow(dead_code, unreachable_pub)]

#[path = "../../../ntfs-source/tests/common/mod.rs"]
pub mod ntfs;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Offset of the volume on the disks (sector 2048, where sfdisk and Windows put it).
pub const VOLUME_AT: u64 = 1 << 20;
/// One MiB past the volume for the backup GPT.
const TAIL: u64 = 1 << 20;

/// The fixtures, one per format, and the volume they hold.
#[derive(Debug)]
pub struct Fixtures {
    _dir: tempfile::TempDir,
    /// The ntfs-3g volume and what is in it.
    pub volume: &'static ntfs::Image,
    /// (format name, image file).
    pub images: Vec<(&'static str, PathBuf)>,
    /// The raw GPT disk.
    pub gpt_disk: PathBuf,
}

impl Fixtures {
    /// The image of `format`.
    pub fn get(&self, format: &str) -> &Path {
        &self
            .images
            .iter()
            .find(|(f, _)| *f == format)
            .unwrap_or_else(|| panic!("no {format}"))
            .1
    }
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// The fixtures, built once per test binary; `None` after "skipped: …" outside CI when a tool
/// or facility cannot be had.
pub fn fixtures() -> Option<&'static Fixtures> {
    static F: OnceLock<Result<Fixtures, (bool, String)>> = OnceLock::new();
    match F.get_or_init(build) {
        Ok(f) => Some(f),
        Err((true, why)) => {
            assert!(
                !in_ci(),
                "image fixtures: {why} (under CI this is a failure)"
            );
            eprintln!("skipped: image fixtures: {why}");
            None
        }
        Err((false, why)) => panic!("building the image fixtures: {why}"),
    }
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

/// Installs the Debian packages that are missing (as `.ci/wincheck` does).
fn ensure_packages(packages: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let apt = |args: &[&str]| -> Result<(), String> {
        let s = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("apt-get: {e}"))?;
        if s.success() {
            Ok(())
        } else {
            Err(format!("apt-get {args:?}: {s}"))
        }
    };
    apt(&["update"])?;
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend(&missing);
    apt(&args)
}

pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A disk of the volume at [`VOLUME_AT`] with a table written by sfdisk from `script`.
fn disk(volume: &Path, path: &Path, script: &str) -> Result<(), String> {
    use std::io::Write;
    let vol = std::fs::read(volume).map_err(|e| e.to_string())?;
    let f = std::fs::File::create(path).map_err(|e| e.to_string())?;
    f.set_len(VOLUME_AT + vol.len() as u64 + TAIL)
        .map_err(|e| e.to_string())?;
    drop(f);
    let mut child = Command::new("sfdisk")
        .args(["--no-reread", "--no-tell-kernel", "-q"])
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("sfdisk: {e}"))?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(script.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("sfdisk: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| e.to_string())?;
    std::os::unix::fs::FileExt::write_all_at(&f, &vol, VOLUME_AT).map_err(|e| e.to_string())
}

fn qemu(from: &Path, to: &Path, format: &str, options: &str) -> Result<(), String> {
    run(Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", format, "-o", options])
        .arg(from)
        .arg(to))
    .map(drop)
}

/// The fixtures' folder name starts with this and the test process's id.
const FIXTURE_PREFIX: &str = "rehydrate-images-";

/// The fixtures live in a static, which Rust never drops, so each test process would leave its
/// ~300 MB behind: the folders of processes that are gone (no `/proc/PID`) are removed first.
fn remove_stale_fixtures() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(FIXTURE_PREFIX)
            .and_then(|r| r.split('-').next())
        else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn build() -> Result<Fixtures, (bool, String)> {
    let Some(volume) = ntfs::image() else {
        return Err((true, "no NTFS volume (see the skip above)".into()));
    };
    ensure_packages(&["fdisk", "qemu-utils", "ewf-tools"]).map_err(|e| (true, e))?;
    let failed = |e: String| (false, e);
    remove_stale_fixtures();
    let dir = tempfile::Builder::new()
        .prefix(&format!("{FIXTURE_PREFIX}{}-", std::process::id()))
        .tempdir()
        .map_err(|e| failed(e.to_string()))?;
    let d = |n: &str| dir.path().join(n);
    let sectors = std::fs::metadata(&volume.path)
        .map_err(|e| failed(e.to_string()))?
        .len()
        / 512;
    disk(&volume.path, &d("gpt.img"), &format!(
        "label: gpt\nstart=2048, size={sectors}, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name=\"dedup\"\n"
    ))
    .map_err(failed)?;
    disk(
        &volume.path,
        &d("mbr.img"),
        &format!("label: dos\nstart=2048, size={sectors}, type=7\n"),
    )
    .map_err(failed)?;
    let gpt = d("gpt.img");
    qemu(
        &gpt,
        &d("fixed.vhd"),
        "vpc",
        "subformat=fixed,force_size=on",
    )
    .map_err(failed)?;
    qemu(
        &gpt,
        &d("dynamic.vhd"),
        "vpc",
        "subformat=dynamic,force_size=on",
    )
    .map_err(failed)?;
    qemu(&gpt, &d("fixed.vhdx"), "vhdx", "subformat=fixed").map_err(failed)?;
    qemu(&gpt, &d("dynamic.vhdx"), "vhdx", "subformat=dynamic").map_err(failed)?;
    differencing(&gpt, dir.path()).map_err(failed)?;
    // Segments of 1 MiB, no compression for the volume to span several (E01, E02, …).
    run(Command::new("ewfacquire")
        .args([
            "-u",
            "-q",
            "-c",
            "deflate:best",
            "-S",
            "1MiB",
            "-f",
            "encase6",
            "-t",
        ])
        .arg(d("disk"))
        .arg(&gpt))
    .map_err(failed)?;
    let images = vec![
        ("raw volume", volume.path.clone()),
        ("GPT disk", gpt.clone()),
        ("MBR disk", d("mbr.img")),
        ("VHD fixed", d("fixed.vhd")),
        ("VHD dynamic", d("dynamic.vhd")),
        ("VHDX fixed", d("fixed.vhdx")),
        ("VHDX dynamic", d("dynamic.vhdx")),
        ("VHDX differencing", d("child.vhdx")),
        ("E01", d("disk.E01")),
    ];
    Ok(Fixtures {
        gpt_disk: gpt,
        _dir: dir,
        volume,
        images,
    })
}

/// The differencing chain `parent.vhdx` ← `child.vhdx` of `disk` in `dir` (see the module
/// docs).
fn differencing(disk: &Path, dir: &Path) -> Result<(), String> {
    const BLOCK: usize = 1 << 20;
    let bytes = std::fs::read(disk).map_err(|e| e.to_string())?;
    let mut parent = bytes.clone();
    let mut child = vec![0u8; bytes.len()];
    for (i, block) in bytes.chunks(BLOCK).enumerate() {
        let at = i * BLOCK;
        if i % 2 == 1 && block.iter().any(|&b| b != 0) {
            child[at..at + block.len()].copy_from_slice(block);
            parent[at..at + block.len()].fill(0xA5);
        }
    }
    std::fs::write(dir.join("parent.raw"), &parent).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("child.raw"), &child).map_err(|e| e.to_string())?;
    let opts = "subformat=dynamic,block_size=1M";
    qemu(
        &dir.join("parent.raw"),
        &dir.join("parent.vhdx"),
        "vhdx",
        opts,
    )?;
    qemu(
        &dir.join("child.raw"),
        &dir.join("child.vhdx"),
        "vhdx",
        opts,
    )?;
    for raw in ["parent.raw", "child.raw"] {
        std::fs::remove_file(dir.join(raw)).map_err(|e| e.to_string())?;
    }
    make_differencing(
        &dir.join("child.vhdx"),
        &dir.join("parent.vhdx"),
        ".\\parent.vhdx",
    )
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// On-disk bytes of a GUID given as text (MS-DTYP 2.3.4.2: Data1-3 little-endian).
pub fn guid_bytes(s: &str) -> [u8; 16] {
    let h: Vec<u8> = s
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect::<String>()
        .as_bytes()
        .chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
        .collect();
    let mut g = [0u8; 16];
    g[..4].copy_from_slice(&[h[3], h[2], h[1], h[0]]);
    g[4..6].copy_from_slice(&[h[5], h[4]]);
    g[6..8].copy_from_slice(&[h[7], h[6]]);
    g[8..].copy_from_slice(&h[8..16]);
    g
}

/// The text of on-disk GUID bytes.
pub fn guid_text(g: &[u8]) -> String {
    let hex = |b: &[u8]| {
        b.iter().fold(String::new(), |mut s, x| {
            use std::fmt::Write as _;
            let _ = write!(s, "{x:02X}");
            s
        })
    };
    format!(
        "{{{:08X}-{:04X}-{:04X}-{}-{}}}",
        le32(g, 0),
        u16::from_le_bytes([g[4], g[5]]),
        u16::from_le_bytes([g[6], g[7]]),
        hex(&g[8..10]),
        hex(&g[10..16])
    )
}

/// The current header's DataWriteGuid (MS-VHDX 2.2.2: the header at 64 or 128 KiB with the
/// greater SequenceNumber at 8; DataWriteGuid at 32).
fn data_write_guid(vhdx: &[u8]) -> [u8; 16] {
    let h = [64 << 10, 128 << 10]
        .into_iter()
        .filter(|&at| &vhdx[at..at + 4] == b"head")
        .max_by_key(|&at| u64::from_le_bytes(vhdx[at + 8..at + 16].try_into().unwrap()))
        .expect("a header");
    vhdx[h + 32..h + 48].try_into().unwrap()
}

/// Offset and length of a region (MS-VHDX 2.2.3: region table at 192 KiB, entries of 32
/// bytes from 16: GUID, FileOffset u64, Length u32).
pub fn region(vhdx: &[u8], guid: &str) -> (usize, usize) {
    let want = guid_bytes(guid);
    let t = 192 << 10;
    (0..le32(vhdx, t + 8) as usize)
        .map(|i| t + 16 + 32 * i)
        .find(|&e| vhdx[e..e + 16] == want)
        .map(|e| {
            let off = u64::from_le_bytes(vhdx[e + 16..e + 24].try_into().unwrap());
            (off as usize, le32(vhdx, e + 24) as usize)
        })
        .expect("the region")
}

/// Makes `child` a differencing disk of `parent`: sets HasParent in its file parameters and
/// adds a parent locator (MS-VHDX 2.6.2.6) with `parent_linkage` and `relative_path`; its
/// zero blocks become "not present".
pub fn make_differencing(child: &Path, parent: &Path, relative: &str) -> Result<(), String> {
    let mut c = std::fs::read(child).map_err(|e| e.to_string())?;
    let p = std::fs::read(parent).map_err(|e| e.to_string())?;
    let linkage = guid_text(&data_write_guid(&p));
    // qemu marks a new dynamic VHDX's unwritten blocks PAYLOAD_BLOCK_ZERO (state 2), which
    // in a child would hide the parent's bytes; a child made by Windows has them
    // PAYLOAD_BLOCK_NOT_PRESENT (0), "read the parent" (MS-VHDX 2.5.1.1).
    let (bat, bat_len) = region(&c, "2DC27766-F623-4200-9D64-115E9BFD4A08");
    for e in (bat..bat + bat_len).step_by(8) {
        if u64::from_le_bytes(c[e..e + 8].try_into().unwrap()) == 2 {
            c[e..e + 8].fill(0);
        }
    }
    let (m, _) = region(&c, "8B7CA206-4790-4B9A-B8FE-575F050F886E");
    let count = u16::from_le_bytes([c[m + 10], c[m + 11]]) as usize;
    let params = guid_bytes("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
    let mut end = 64 << 10;
    for i in 0..count {
        let e = m + 32 + 32 * i;
        let (off, len) = (le32(&c, e + 16) as usize, le32(&c, e + 20) as usize);
        end = end.max(off + len);
        if c[e..e + 16] == params {
            c[m + off + 4] |= 2; // HasParent
        }
    }
    let utf16 = |s: &str| {
        s.encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect::<Vec<u8>>()
    };
    let pairs = [
        ("parent_linkage", linkage.as_str()),
        ("relative_path", relative),
    ];
    let mut loc = guid_bytes("B04AEFB7-D19E-4A81-B789-25B8E9445913").to_vec();
    loc.extend_from_slice(&0u16.to_le_bytes());
    loc.extend_from_slice(&(pairs.len() as u16).to_le_bytes());
    let mut strings = Vec::new();
    let base = 20 + 12 * pairs.len();
    for (k, v) in pairs {
        let (k, v) = (utf16(k), utf16(v));
        let ko = base + strings.len();
        strings.extend_from_slice(&k);
        let vo = base + strings.len();
        strings.extend_from_slice(&v);
        loc.extend_from_slice(&(ko as u32).to_le_bytes());
        loc.extend_from_slice(&(vo as u32).to_le_bytes());
        loc.extend_from_slice(&(k.len() as u16).to_le_bytes());
        loc.extend_from_slice(&(v.len() as u16).to_le_bytes());
    }
    loc.extend_from_slice(&strings);
    let off = end.next_multiple_of(4096);
    c[m + off..m + off + loc.len()].copy_from_slice(&loc);
    let e = m + 32 + 32 * count;
    c[e..e + 16].copy_from_slice(&guid_bytes("A8D35F2B-B30B-454D-ABD7-D3D84834AB0C"));
    c[e + 16..e + 20].copy_from_slice(&(off as u32).to_le_bytes());
    c[e + 20..e + 24].copy_from_slice(&(loc.len() as u32).to_le_bytes());
    c[e + 24..e + 28].copy_from_slice(&4u32.to_le_bytes()); // IsRequired
    c[m + 10..m + 12].copy_from_slice(&(count as u16 + 1).to_le_bytes());
    std::fs::write(child, &c).map_err(|e| e.to_string())
}
