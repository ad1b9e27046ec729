//! `rehydrate restore|verify --source IMAGE`, `ls` and `cat` on images made by real tools (the
//! fixtures of `crates/disk-image/tests/common`, included, not copied).
#![cfg(unix)]

#[path = "../../disk-image/tests/common/mod.rs"]
mod images;

use std::io::Read;
use std::process::{Command, Stdio};

use images::fixtures;

fn rehydrate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rehydrate"))
}

#[test]
fn restore_from_a_vhdx_and_an_e01_gives_every_file_with_its_time() {
    let Some(f) = fixtures() else { return };
    for name in ["VHDX dynamic", "E01", "MBR disk"] {
        let out = tempfile::tempdir().unwrap();
        let to = out.path().join("restored");
        let st = rehydrate()
            .args(["restore", "--json", "--source"])
            .arg(f.get(name))
            .arg("--to")
            .arg(&to)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        for p in f.volume.files.iter().filter(|p| !p.system) {
            let mut h = to.clone();
            h.extend(p.path.components());
            let got = std::fs::read(&h).unwrap_or_else(|e| panic!("{name}: {}: {e}", h.display()));
            assert!(got == p.data, "{name}: {}", p.path);
            assert_eq!(
                std::fs::metadata(&h).unwrap().modified().unwrap(),
                p.modified,
                "{name}: {}",
                p.path
            );
        }
        let st = rehydrate()
            .args(["verify", "--source"])
            .arg(f.get(name))
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
    }
}

#[test]
fn ls_lists_a_folder_with_the_stream_map_of_dedup_files() {
    let Some(f) = fixtures() else { return };
    let st = rehydrate()
        .args(["ls", "--source"])
        .arg(f.get("VHD dynamic"))
        .arg("docs")
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let text = String::from_utf8(st.stdout).unwrap();
    let dedup: Vec<_> = f
        .volume
        .files
        .iter()
        .filter(|p| p.reparse.is_some() && p.path.to_string().starts_with("\\docs\\"))
        .collect();
    assert!(!dedup.is_empty());
    for p in dedup {
        let name = p.path.components().last().unwrap().to_owned();
        let line = text
            .lines()
            .find(|l| l.ends_with(']') && l.contains(&name))
            .unwrap_or_else(|| panic!("{name} in {text}"));
        assert!(
            line.contains("[smap ") && line.contains(&p.data.len().to_string()),
            "{line}"
        );
    }
    let st = rehydrate()
        .args(["ls", "--partition", "2", "--source"])
        .arg(f.get("GPT disk"))
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&st.stderr).contains("no partition 2"));
}

#[test]
fn cat_writes_the_rebuilt_file_and_is_quiet_on_a_closed_pipe() {
    let Some(f) = fixtures() else { return };
    let p = f.volume.files.iter().find(|p| p.reparse.is_some()).unwrap();
    let path = p.path.to_string();
    let st = rehydrate()
        .args(["cat", "--source"])
        .arg(f.get("VHDX differencing"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    assert!(st.stdout == p.data, "{path}: content");
    // The reader takes 10 bytes and closes the pipe.
    let mut child = rehydrate()
        .args(["cat", "--source"])
        .arg(f.get("E01"))
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(first, p.data[..10]);
    assert!(out.status.success(), "{:?}", out.status);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The fixture's volume written as a host folder, as `sim optimize` exports one: stubs as
/// sparse files with their reparse point in `user.ntfs_reparse_data`, everything else as is.
fn volume_folder(f: &images::Fixtures, to: &std::path::Path) {
    for p in &f.volume.files {
        let mut h = to.to_owned();
        h.extend(p.path.components());
        std::fs::create_dir_all(h.parent().unwrap()).unwrap();
        if let Some(buf) = &p.reparse {
            let file = std::fs::File::create(&h).unwrap();
            file.set_len(p.data.len() as u64).unwrap();
            xattr::set(&h, "user.ntfs_reparse_data", buf).unwrap();
        } else {
            std::fs::write(&h, &p.data).unwrap();
        }
    }
}

#[test]
fn inspect_store_of_an_image_reports_what_it_reports_for_the_folder() {
    let Some(f) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    volume_folder(f, dir.path());
    let inspect = |args: &[&std::ffi::OsStr]| {
        let o = rehydrate()
            .args(["inspect", "store", "--json"])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let folder = inspect(&[dir.path().as_os_str()]);
    assert_eq!(folder["optimized_files"], 5, "{folder}");
    assert!(folder["data_chunks"].as_u64().unwrap() > 0, "{folder}");
    assert_eq!(folder["errors"].as_array().unwrap().len(), 0, "{folder}");
    let source = std::ffi::OsStr::new("--source");
    assert_eq!(inspect(&[source, dir.path().as_os_str()]), folder);
    for name in ["raw volume", "VHDX dynamic", "E01", "MBR disk"] {
        let image = inspect(&[source, f.get(name).as_os_str()]);
        assert_eq!(image, folder, "{name}");
    }
    let gpt = inspect(&[
        source,
        f.get("GPT disk").as_os_str(),
        std::ffi::OsStr::new("--partition"),
        std::ffi::OsStr::new("1"),
    ]);
    assert_eq!(gpt, folder);
    // The text report too, and a folder given both ways is refused.
    let text = |args: &[&std::ffi::OsStr]| {
        let o = rehydrate()
            .args(["inspect", "store"])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    assert_eq!(
        text(&[source, f.get("VHD dynamic").as_os_str()]),
        text(&[dir.path().as_os_str()])
    );
    let both = rehydrate()
        .args(["inspect", "store"])
        .arg(dir.path())
        .arg("--source")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(2));
}
