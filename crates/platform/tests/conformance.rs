//! The `Volume` conformance suite ([`platform::conformance`]) against `HostVolume` on a
//! temporary folder. A restart is a second `HostVolume` on the same folder applying the
//! pending list, as the process that starts after a reboot would.
#![cfg(unix)]

use platform::conformance::{Deviation, Subject};
use platform::{Error, HostVolume, PendingRename, Volume};

struct Host {
    dir: tempfile::TempDir,
    volume: HostVolume,
}

impl Host {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let volume = HostVolume::new(dir.path()).unwrap();
        Self { dir, volume }
    }
}

impl Subject for Host {
    fn volume(&self) -> &dyn Volume {
        &self.volume
    }

    fn reboot(&mut self) -> Option<Vec<(PendingRename, Option<Error>)>> {
        self.volume = HostVolume::new(self.dir.path()).unwrap();
        let outcomes = self.volume.apply_pending_renames().unwrap();
        Some(outcomes.into_iter().map(|o| (o.op, o.error)).collect())
    }

    fn metadata_unsupported(&self) -> Option<String> {
        (!self.volume.user_xattrs_supported().unwrap()).then(|| {
            format!(
                "the file system under {} refuses user extended attributes (user.*), which \
                 HostVolume needs for attributes and reparse points",
                self.dir.path().display()
            )
        })
    }
}

const DEVIATIONS: &[Deviation] = &[];

platform::volume_conformance_tests!(Host::new, DEVIATIONS);

// The harness itself: a deviation must fail, and fail as it says.

/// The host folder without its restart.
struct NoRestart(Host);

impl Subject for NoRestart {
    fn volume(&self) -> &dyn Volume {
        self.0.volume()
    }

    fn reboot(&mut self) -> Option<Vec<(PendingRename, Option<Error>)>> {
        None
    }
}

fn no_restart() -> NoRestart {
    NoRestart(Host::new())
}

const NO_RESTART: Deviation = Deviation {
    check: "pending_renames_at_reboot",
    reason: "cannot restart",
    fails_with: "cannot restart in a test",
};

#[test]
fn a_deviation_that_fails_as_it_says_passes() {
    platform::conformance::run("pending_renames_at_reboot", no_restart, &[NO_RESTART]);
}

#[test]
#[should_panic(expected = "passes although it is listed as a known deviation")]
fn a_deviation_that_passes_is_reported() {
    platform::conformance::run("pending_renames_at_reboot", Host::new, &[NO_RESTART]);
}

#[test]
#[should_panic(expected = "fails, but not as its deviation says")]
fn a_deviation_failing_for_another_reason_is_reported() {
    let other = Deviation {
        fails_with: "some other failure",
        ..NO_RESTART
    };
    platform::conformance::run("pending_renames_at_reboot", no_restart, &[other]);
}

#[test]
#[should_panic(expected = "deviation for unknown check")]
fn a_deviation_naming_no_check_is_reported() {
    let typo = Deviation {
        check: "pending_rename_at_reboot",
        ..NO_RESTART
    };
    platform::conformance::run("dispositions", Host::new, &[typo]);
}
