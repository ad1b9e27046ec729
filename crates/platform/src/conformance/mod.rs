//! One conformance suite for every [`Volume`] implementation (feature `conformance`).
//!
//! The host folder ([`crate::HostVolume`]), the simulator (`winsim::SimVolume`) and real Windows
//! (`win::WinVolume`, under Wine in `.ci/wincheck`) run the same checks, so the three cannot
//! drift apart. Where they disagreed, Windows' documented behaviour decided: each check cites the
//! Microsoft page it follows.
//!
//! Use it from an implementation's integration tests:
//!
//! ```ignore
//! struct Mine { volume: MyVolume }
//! impl platform::conformance::Subject for Mine { /* ... */ }
//! platform::volume_conformance_tests!(|| Mine::new(), &[]);
//! ```
//!
//! The macro writes one `#[test]` per check, each on a fresh, empty volume. A check that an
//! implementation cannot pass for a reason outside the project's control (Wine does not
//! implement a Windows rule) is listed as a [`Deviation`] with the reason: it still runs, and
//! must still fail, so a deviation that disappears is noticed and its entry removed.
//!
//! The checks assert with `assert!`/`panic!` like any test; this module is test code that only
//! the implementations' test builds enable, never part of a shipped binary.

mod files;
mod metadata;
mod names;

use crate::{Access, Disposition, Error, OpenOptions, PendingRename, ShareMode, Volume, WinPath};

/// A volume under test, fresh and empty when the harness makes it.
pub trait Subject {
    /// The volume.
    fn volume(&self) -> &dyn Volume;

    /// Simulates a restart: carries out the `PendingFileRenameOperations` list in order and
    /// returns each operation with its error (`None`: done). After it, [`Subject::volume`] is
    /// the volume as it is after the restart. `None` when this implementation cannot restart
    /// in a test (real Windows).
    fn reboot(&mut self) -> Option<Vec<(PendingRename, Option<Error>)>>;

    /// Why this volume cannot keep attributes, the sparse flag and reparse points here (the
    /// host folder on a file system without `user.*` extended attributes), or `None`.
    fn metadata_unsupported(&self) -> Option<String> {
        None
    }
}

/// A check an implementation is known to fail, and why (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct Deviation {
    /// The check's name (a function of this module's list, e.g. `"read_only_files"`).
    pub check: &'static str,
    /// Why the implementation does not follow Windows here.
    pub reason: &'static str,
    /// Text the check's failure message must contain: the deviation must fail for the reason
    /// it states, not for another one.
    pub fails_with: &'static str,
}

/// One check of the suite: its name and body.
type Check = (&'static str, fn(&mut dyn Subject));

/// Every check, by name. [`volume_conformance_tests!`](crate::volume_conformance_tests) writes
/// one test per entry (its own list is compared with this one by
/// `every_check_has_a_test`).
pub const CHECKS: &[Check] = &[
    ("dispositions", files::dispositions),
    ("share_modes", files::share_modes),
    ("positioned_io", files::positioned_io),
    ("offsets_above_4_gib", files::offsets_above_4_gib),
    ("sparse_files", files::sparse_files),
    ("attributes", metadata::attributes),
    (
        "read_handle_cannot_change_metadata",
        metadata::read_handle_cannot_change_metadata,
    ),
    ("read_only_files", metadata::read_only_files),
    (
        "read_only_files_refuse_writes",
        metadata::read_only_files_refuse_writes,
    ),
    ("sparse_attribute", metadata::sparse_attribute),
    (
        "reparse_buffers_are_validated",
        metadata::reparse_buffers_are_validated,
    ),
    (
        "reparse_point_round_trip",
        metadata::reparse_point_round_trip,
    ),
    ("directories", names::directories),
    ("renames", names::renames),
    (
        "renames_take_the_new_spelling",
        names::renames_take_the_new_spelling,
    ),
    ("directory_renames", names::directory_renames),
    (
        "open_file_blocks_folder_rename",
        names::open_file_blocks_folder_rename,
    ),
    ("case_insensitive_names", names::case_insensitive_names),
    (
        "pending_renames_are_listed",
        names::pending_renames_are_listed,
    ),
    (
        "pending_renames_at_reboot",
        names::pending_renames_at_reboot,
    ),
];

/// Runs the check `name` on a fresh subject from `make`. A check listed in `deviations` must
/// fail (its panic is caught and reported); any other must pass.
pub fn run<S: Subject>(name: &str, make: impl Fn() -> S, deviations: &[Deviation]) {
    check_deviations(deviations);
    let Some(&(_, check)) = CHECKS.iter().find(|(n, _)| *n == name) else {
        panic!("no conformance check named {name:?}");
    };
    let mut subject = make();
    match deviations.iter().find(|d| d.check == name) {
        None => check(&mut subject),
        Some(d) => {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                check(&mut subject);
            }));
            let Err(payload) = outcome else {
                panic!(
                    "{name} passes although it is listed as a known deviation ({}): remove the \
                     entry",
                    d.reason
                );
            };
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("");
            assert!(
                message.contains(d.fails_with),
                "{name} fails, but not as its deviation says ({:?} expected in the failure): \
                 {message}",
                d.fails_with
            );
            eprintln!("{name}: fails as the known deviation says: {}", d.reason);
        }
    }
}

/// Panics if a deviation names no check (a typo would otherwise hide nothing and test nothing).
pub fn check_deviations(deviations: &[Deviation]) {
    for d in deviations {
        assert!(
            CHECKS.iter().any(|(n, _)| *n == d.check),
            "deviation for unknown check {:?}",
            d.check
        );
    }
}

/// Writes one `#[test]` per conformance check (see the [module docs](crate::conformance)).
/// `$make` makes a fresh [`Subject`]; `$deviations` is a `&[Deviation]`.
#[macro_export]
macro_rules! volume_conformance_tests {
    ($make:expr, $deviations:expr) => {
        $crate::__conformance_tests!(
            ($make, $deviations);
            dispositions,
            share_modes,
            positioned_io,
            offsets_above_4_gib,
            sparse_files,
            attributes,
            read_handle_cannot_change_metadata,
            read_only_files,
            read_only_files_refuse_writes,
            sparse_attribute,
            reparse_buffers_are_validated,
            reparse_point_round_trip,
            directories,
            renames,
            renames_take_the_new_spelling,
            directory_renames,
            open_file_blocks_folder_rename,
            case_insensitive_names,
            pending_renames_are_listed,
            pending_renames_at_reboot,
        );
    };
}

/// The body of [`volume_conformance_tests!`](crate::volume_conformance_tests).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    (($make:expr, $deviations:expr); $($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                $crate::conformance::run(stringify!($name), $make, $deviations);
            }
        )*

        #[test]
        fn every_check_has_a_test() {
            let listed = [$(stringify!($name)),*];
            let all: Vec<&str> =
                $crate::conformance::CHECKS.iter().map(|(n, _)| *n).collect();
            assert_eq!(listed.as_slice(), all.as_slice());
            $crate::conformance::check_deviations($deviations);
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Helpers of the checks.

/// Whether the subject keeps attributes, the sparse flag and reparse points. When it cannot,
/// the check is skipped with a message outside CI and fails under CI (`CI` set): a CI machine
/// must be able to run everything.
fn metadata_supported(s: &dyn Subject, check: &str) -> bool {
    match s.metadata_unsupported() {
        None => true,
        Some(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{check} cannot run under CI: {why}"
            );
            eprintln!("skipped: {check}: {why}");
            false
        }
    }
}

fn p(s: &str) -> WinPath {
    WinPath::new(s).unwrap()
}

fn opts(access: Access, share: ShareMode, disposition: Disposition) -> OpenOptions {
    OpenOptions::new(access, share, disposition)
}

fn open_existing(access: Access, share: ShareMode) -> OpenOptions {
    OpenOptions::new(access, share, Disposition::OpenExisting)
}

fn create(v: &dyn Volume, path: &str, data: &[u8]) {
    let f = v
        .open(
            &p(path),
            opts(Access::READ_WRITE, ShareMode::NONE, Disposition::CreateNew),
        )
        .unwrap_or_else(|e| panic!("create {path}: {e}"));
    f.write_all_at(0, data).unwrap();
}

fn read_all(v: &dyn Volume, path: &str) -> Vec<u8> {
    let f = v
        .open(&p(path), OpenOptions::READ_EXISTING)
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    let mut buf = vec![0; usize::try_from(f.len().unwrap()).unwrap()];
    f.read_exact_at(0, &mut buf).unwrap();
    buf
}

fn names(v: &dyn Volume, dir: &str) -> Vec<String> {
    v.read_dir(&p(dir))
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect()
}
