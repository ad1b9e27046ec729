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
