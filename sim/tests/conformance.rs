//! The `Volume` conformance suite ([`platform::conformance`]) against `SimVolume`; a restart is
//! [`SimVolume::reboot`].

use platform::conformance::{Deviation, Subject};
use platform::{Error, PendingRename, Volume};
use winsim::SimVolume;

struct Sim(SimVolume);

impl Subject for Sim {
    fn volume(&self) -> &dyn Volume {
        &self.0
    }

    fn reboot(&mut self) -> Option<Vec<(PendingRename, Option<Error>)>> {
        Some(
            self.0
                .reboot()
                .into_iter()
                .map(|o| (o.op, o.error))
                .collect(),
        )
    }
}

const DEVIATIONS: &[Deviation] = &[];

platform::volume_conformance_tests!(|| Sim(SimVolume::new(7)), DEVIATIONS);
