//! The `Volume` conformance suite ([`platform::conformance`]) against `WinVolume`: on Windows,
//! or on Linux under Wine through `.ci/wincheck`.
//!
//! Under Wine, the checks of what Wine does not implement are listed as deviations: they still
//! run and must still fail (see [`platform::conformance::Deviation`]); on Windows every check
//! must pass except the restart, which a test cannot do.
#![cfg(windows)]

use platform::conformance::{Deviation, Subject};
use platform::{Error, PendingRename, Volume};
use win::WinVolume;

struct Win {
    _dir: tempfile::TempDir,
    volume: WinVolume,
}

impl Win {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let volume = WinVolume::new(dir.path()).unwrap();
        Self { _dir: dir, volume }
    }
}

impl Subject for Win {
    fn volume(&self) -> &dyn Volume {
        &self.volume
    }

    /// The list goes to the real `PendingFileRenameOperations` value; only Windows' session
    /// manager carries it out, at the next boot.
    fn reboot(&mut self) -> Option<Vec<(PendingRename, Option<Error>)>> {
        None
    }
}

/// Wine installs its own programs in `system32`; Windows has no `wineboot.exe`.
fn under_wine() -> bool {
    let root = std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\windows".into());
    std::path::Path::new(&root)
        .join("system32")
        .join("wineboot.exe")
        .is_file()
}

const EVERYWHERE: &[Deviation] = &[Deviation {
    check: "pending_renames_at_reboot",
    reason: "a test cannot restart Windows; pending_renames_are_listed checks the recorded list",
}];

const WINE: &[Deviation] = &[Deviation {
    check: "pending_renames_at_reboot",
    reason: "a test cannot restart Windows; pending_renames_are_listed checks the recorded list",
}];

fn deviations() -> &'static [Deviation] {
    if under_wine() { WINE } else { EVERYWHERE }
}

platform::volume_conformance_tests!(Win::new, deviations());
