//! Tests of the race [`beneath`](super::beneath) closes: a folder on the way replaced by a
//! symbolic link after the lookup resolved the path and before the operation used it. A hook
//! run at exactly that moment makes the swap deterministic.

use std::cell::RefCell;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use super::HostVolume;
use crate::{Access, Disposition, Error, OpenOptions, ShareMode, Volume, WinPath};

type Hook = Box<dyn FnMut()>;

thread_local! {
    static HOOK: RefCell<Option<Hook>> = RefCell::new(None);
}

/// Called by the volume between resolving a path and using it.
pub(super) fn between_lookup_and_use() {
    let hook = HOOK.with(|h| h.borrow_mut().take());
    if let Some(mut f) = hook {
        f();
    }
}

/// A volume at `out` with the folder `out/docs` (holding `old.txt`), and a folder outside it.
fn setup() -> (tempfile::TempDir, HostVolume) {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    fs::create_dir_all(out.join("docs")).unwrap();
    fs::write(out.join("docs/old.txt"), b"old").unwrap();
    fs::create_dir(t.path().join("elsewhere")).unwrap();
    fs::write(t.path().join("elsewhere/old.txt"), b"outside").unwrap();
    let v = HostVolume::new(&out).unwrap();
    (t, v)
}

/// Arms the hook: at the next use, `out/docs` is moved away and a link to `elsewhere` put in
/// its place.
fn swap_docs_for_link(base: &Path) {
    let swap = swap_now(base);
    HOOK.with(|h| *h.borrow_mut() = Some(Box::new(swap)));
}

/// Moves `out/docs` away and puts a link to `elsewhere` in its place, when called.
fn swap_now(base: &Path) -> impl FnMut() + 'static {
    let (docs, moved, elsewhere) = (
        base.join("out/docs"),
        base.join("out/docs.moved"),
        base.join("elsewhere"),
    );
    move || {
        fs::rename(&docs, &moved).unwrap();
        symlink(&elsewhere, &docs).unwrap();
    }
}

fn wp(s: &str) -> WinPath {
    WinPath::new(s).unwrap()
}

/// What `elsewhere` holds afterwards: exactly what it held before.
fn assert_outside_untouched(base: &Path) {
    let mut names: Vec<_> = fs::read_dir(base.join("elsewhere"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["old.txt"],
        "nothing created or removed outside the root"
    );
    assert_eq!(
        fs::read(base.join("elsewhere/old.txt")).unwrap(),
        b"outside"
    );
}

fn assert_refused<T: std::fmt::Debug>(r: Result<T, Error>) {
    match r {
        Err(Error::AccessDenied { reason, .. }) => {
            assert_eq!(reason, "a symbolic link is never followed");
        }
        other => panic!("expected the link to be refused, got {other:?}"),
    }
}

/// An open through a folder swapped for a link, with the swap between the lookup and the use
/// or (once the volume has remembered the folder and indexed it) before both, through
/// `openat2` and through the walk it falls back to.
fn open_through_a_swapped_folder_is_refused(name: &str, disposition: Disposition) {
    let opts = OpenOptions {
        access: Access::READ_WRITE,
        share: ShareMode::NONE,
        disposition,
    };
    for walk in [false, true] {
        for remembered in [false, true] {
            super::beneath::FORCE_PORTABLE.with(|f| f.set(walk));
            let (t, v) = setup();
            if remembered {
                v.set_times(&wp("docs\\old.txt"), None, None).unwrap();
                assert!(v.metadata(&wp("docs\\absent")).is_err());
                swap_now(t.path())();
            } else {
                swap_docs_for_link(t.path());
            }
            assert_refused(v.open(&wp(name), opts));
            assert_outside_untouched(t.path());
            super::beneath::FORCE_PORTABLE.with(|f| f.set(false));
        }
    }
}

#[test]
fn creating_a_file_through_a_swapped_folder_is_refused() {
    open_through_a_swapped_folder_is_refused("docs\\new.txt", Disposition::CreateNew);
}

#[test]
fn truncating_an_existing_file_through_a_swapped_folder_is_refused() {
    open_through_a_swapped_folder_is_refused("docs\\old.txt", Disposition::TruncateExisting);
}

#[test]
fn folders_links_deletions_renames_and_times_through_a_swapped_folder_are_refused() {
    type Op = fn(&HostVolume) -> Result<(), Error>;
    let ops: [(&str, Op); 7] = [
        ("create_dir", |v| v.create_dir(&wp("docs\\sub"))),
        ("create_symlink", |v| {
            v.create_symlink(&wp("docs\\link"), "target")
        }),
        ("delete_file", |v| v.delete_file(&wp("docs\\old.txt"))),
        ("rename into", |v| {
            v.rename(&wp("top.txt"), &wp("docs\\top.txt"), false)
        }),
        ("rename within", |v| {
            v.rename(&wp("docs\\old.txt"), &wp("docs\\new.txt"), false)
        }),
        ("rename out of", |v| {
            v.rename(&wp("docs\\old.txt"), &wp("stolen.txt"), false)
        }),
        ("set_times", |v| {
            v.set_times(&wp("docs\\old.txt"), Some(std::time::UNIX_EPOCH), None)
        }),
    ];
    // The swap comes between the lookup and the use, or before both, once the volume has
    // remembered `docs` (its lookups then `lstat` only the final name, through the link).
    for (what, op) in ops {
        for remembered in [false, true] {
            let (t, v) = setup();
            fs::write(t.path().join("out/top.txt"), b"top").unwrap();
            if remembered {
                v.set_times(&wp("docs\\old.txt"), None, None).unwrap();
                swap_now(t.path())();
            } else {
                swap_docs_for_link(t.path());
            }
            let what = format!("{what} (docs remembered: {remembered})");
            let r = op(&v);
            assert!(
                matches!(&r, Err(Error::AccessDenied { reason, .. }) if *reason == "a symbolic link is never followed"),
                "{what}: {r:?}"
            );
            assert_outside_untouched(t.path());
            let mtime = fs::metadata(t.path().join("elsewhere/old.txt"))
                .unwrap()
                .modified()
                .unwrap();
            assert_ne!(mtime, std::time::UNIX_EPOCH, "{what}: times set outside");
        }
    }
}

#[test]
fn a_remembered_folder_replaced_by_a_link_is_not_listed_or_looked_into() {
    let (t, v) = setup();
    v.set_times(&wp("docs\\old.txt"), None, None).unwrap();
    swap_now(t.path())();
    assert_refused(v.read_dir(&wp("docs")));
    assert_refused(v.metadata(&wp("docs\\old.txt")));
    assert_refused(v.host_path(&wp("docs\\old.txt")));
    assert_refused(v.open(&wp("docs\\old.txt"), OpenOptions::READ_EXISTING));
}

#[test]
fn without_a_swap_the_same_operations_work() {
    let (t, v) = setup();
    fs::write(t.path().join("out/top.txt"), b"top").unwrap();
    v.create_dir(&wp("docs\\sub")).unwrap();
    v.create_symlink(&wp("docs\\link"), "target").unwrap();
    v.rename(&wp("top.txt"), &wp("docs\\top.txt"), false)
        .unwrap();
    v.set_times(&wp("docs\\top.txt"), Some(std::time::UNIX_EPOCH), None)
        .unwrap();
    v.delete_file(&wp("docs\\old.txt")).unwrap();
    v.remove_dir(&wp("docs\\sub")).unwrap();
    let docs = t.path().join("out/docs");
    assert_eq!(fs::read(docs.join("top.txt")).unwrap(), b"top");
    assert_eq!(
        fs::metadata(docs.join("top.txt"))
            .unwrap()
            .modified()
            .unwrap(),
        std::time::UNIX_EPOCH
    );
    assert!(!docs.join("old.txt").exists() && !docs.join("sub").exists());
    assert_eq!(
        fs::read_link(docs.join("link")).unwrap(),
        Path::new("target")
    );
    assert_outside_untouched(t.path());
}
